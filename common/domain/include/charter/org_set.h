/*
 * The organisations a service serves: every policy in one directory, each
 * loaded with the time zone and calendars its clocks need.
 *
 * This is the domain library's one I/O edge besides reading a single policy
 * or template: it lists a directory, reads each *.yaml in it and the zone
 * files they name. Everything that computes with the result (case_clock.h,
 * report_agg.h) takes a const ch_org_clocks * and stays pure; services load
 * a set at start-up and on reload, and swap it whole.
 */
#ifndef CHARTER_ORG_SET_H
#define CHARTER_ORG_SET_H

#include <stddef.h>

#include "charter/calendar.h"
#include "charter/deadline.h"
#include "charter/policy.h"
#include "charter/tz.h"

/* One organisation's policy with the zone and calendars its clocks need.
 * ctx points into the struct: move it only by pointer. */
typedef struct ch_org_clocks {
    ch_policy policy;
    ch_tz *tz;
    ch_calendar *calendar, *uk_any, *scotland;
    ch_deadline_ctx ctx;
} ch_org_clocks;

/* Loads a policy file and builds its zone and calendars. Returns 0, or a
 * CH_E* code with errstr naming the file (and line) or the zone. On failure
 * *out is empty. */
int ch_org_clocks_load(const char *path, ch_org_clocks *out, char *errstr, size_t errstr_size);
/* Frees what ch_org_clocks_load built and zeroes *oc. */
void ch_org_clocks_free(ch_org_clocks *oc);

/* Every organisation's policy from one directory, as the services load them. */
#define CH_ORG_SET_MAX 64
typedef struct {
    ch_org_clocks *orgs[CH_ORG_SET_MAX];
    size_t n;
} ch_org_set;

/*
 * Loads every *.yaml in dir (names starting with '.' are skipped), all or
 * nothing: any bad policy, two policies for one organisation id, more than
 * CH_ORG_SET_MAX, or none at all refuses the whole directory (errstr names
 * the file and line, or `key`, the config key that named dir). On failure
 * *out is empty. Free with ch_org_set_free.
 */
int ch_org_set_load(const char *dir, const char *key, ch_org_set *out, char *errstr,
                    size_t errstr_size);
void ch_org_set_free(ch_org_set *set);
/*
 * Applies a GOV.UK bank-holidays JSON document (ch_calendar_apply_govuk_json:
 * the years it covers become exactly its holidays) to every calendar of
 * every organisation in the set. The document is checked before anything
 * changes, so on failure (CH_EINVAL, errstr starting with `name`) the set is
 * unchanged; CH_ENOMEM is not expected. An empty set accepts any valid
 * document.
 */
int ch_org_set_apply_holidays(ch_org_set *set, const char *json, size_t len, const char *name,
                              char *errstr, size_t errstr_size);
/* The organisation's clocks, or NULL. The pointer lives as long as the set. */
const ch_org_clocks *ch_org_set_find(const ch_org_set *set, const char *id);

#endif
