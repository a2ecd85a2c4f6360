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

typedef struct report_batch report_batch;

struct report_store {
    ch_runtime *rt;
    int retention_months;
    ch_redis_script *read_script;    /* the runtime owns the scripts; report__read_lua */
    ch_redis_script *write_script;   /* report__write_lua */
    ch_redis_script *prune_script;   /* report__prune_lua */
    ch_redis_script *migrate_script; /* report__migrate_lua */
    report_batch *batch;             /* the records gathered for the turn's scripts */
};

/* store_record.c's queue of records for the turn's scripts: made and freed
 * with the store (NULL on ENOMEM). Freeing it answers what is still
 * queued CH_EAGAIN. */
report_batch *report__batch_new(report_store *st);
void report__batch_free(report_batch *bt);

/* store_record.c's and store_upkeep.c's scripts, registered by report_store_new. */
extern const char report__read_lua[];
extern const char report__write_lua[];
extern const char report__prune_lua[];
extern const char report__migrate_lua[];

/* "charter:report:{<org>}:<what>", or with ":<id>" after it when id is given. */
void report__key_of(char buf[KEY_MAX], const char *org, const char *what, const char *id);
/* "charter:report:{<org>}:figures:<period>" */
void report__figures_key(char buf[KEY_MAX], const char *org, const char *period);
/* v in decimal into t (NUL-terminated): its length. snprintf's "%lld"
 * without the format parsing, for the numbers of every record's scripts. */
size_t report__num(char t[24], long long v);

/* A script's argument list that grows; words are borrowed, numbers written
 * into texts (captexts of them, allocated up front by the caller so words
 * already added stay valid), len[i] the length of v[i]. failed: an
 * allocation failed or texts ran out. */
typedef struct {
    const char **v;
    size_t *len;
    size_t n, cap;
    char (*texts)[24];
    size_t ntexts, captexts;
    int failed;
} report_arg_list;

void report__arg_add(report_arg_list *a, const char *word);
/* A word of len bytes (binary: a packed state). */
void report__arg_bin(report_arg_list *a, const char *word, size_t len);
void report__arg_num(report_arg_list *a, long long v);
void report__arg_free(report_arg_list *a);

#endif
