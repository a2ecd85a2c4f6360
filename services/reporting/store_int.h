/*
 * What store.c and store_upkeep.c share: the store's struct, its key names
 * and the argument lists its scripts are called with. Private to the two.
 */
#ifndef CHARTER_REPORTING_STORE_INT_H
#define CHARTER_REPORTING_STORE_INT_H

#include <stddef.h>

#include "charter/runtime.h"

#define KEY_MAX 320

/* Set once every old figures hash is moved (report_store_migrate). */
#define LAYOUT_KEY "charter:report:layout"
#define LAYOUT_PER_PERIOD "per-period"

struct report_store {
    ch_runtime *rt;
    int retention_months;
    ch_redis_script *count_script; /* the runtime owns the scripts */
    ch_redis_script *case_script;
    ch_redis_script *prune_script;   /* report__prune_lua */
    ch_redis_script *migrate_script; /* report__migrate_lua */
    ch_redis_script *page_script;    /* report__page_lua (store_pages.c) */
};

/* store_upkeep.c's scripts, registered by report_store_new. */
extern const char report__prune_lua[];
extern const char report__migrate_lua[];
extern const char report__page_lua[];

/* "charter:report:{<org>}:<what>", or with ":<id>" after it when id is given. */
void report__key_of(char buf[KEY_MAX], const char *org, const char *what, const char *id);
/* "charter:report:{<org>}:figures:<period>" */
void report__figures_key(char buf[KEY_MAX], const char *org, const char *period);

/* A script's argument list that grows; words are borrowed, numbers written
 * into texts (captexts of them, allocated up front by the caller so words
 * already added stay valid). failed: an allocation failed or texts ran out. */
typedef struct {
    const char **v;
    size_t n, cap;
    char (*texts)[24];
    size_t ntexts, captexts;
    int failed;
} report_arg_list;

void report__arg_add(report_arg_list *a, const char *word);
void report__arg_num(report_arg_list *a, long long v);
void report__arg_free(report_arg_list *a);

#endif
