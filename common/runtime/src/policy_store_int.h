/*
 * The policy store's one decision, apart from the runtime so that
 * tests/unit/test_policy_store.c can drive it: load a directory of policies
 * and put it in place of the running set only if every step agreed.
 */
#ifndef CHARTER_RUNTIME_POLICY_STORE_INT_H
#define CHARTER_RUNTIME_POLICY_STORE_INT_H

#include <stddef.h>

#include "charter/org_set.h"

/*
 * Loads every policy in dir (ch_org_set_load; key names the config key in
 * errors), applies the GOV.UK-format bank holidays in holidays_file when it
 * is neither NULL nor empty (ch_org_set_apply_holidays; a file that cannot
 * be read or is not valid refuses the load, naming the file), and, when check is not NULL, asks
 * check(arg) too. All agreed: the new set replaces *cur (the old one is freed) and 0 is returned.
 * Otherwise *cur is untouched and the CH_E* code is returned with errstr saying why.
 */
int ch__org_set_replace(ch_org_set *cur, const char *dir, const char *key,
                        const char *holidays_file,
                        int (*check)(void *arg, char *errstr, size_t errstr_size), void *arg,
                        char *errstr, size_t errstr_size);

#endif
