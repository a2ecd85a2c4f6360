/*
 * reporting's Redis store: every key it writes, its Lua scripts and
 * the loaders the readers share, in one place.
 *
 * Per organisation, all under one hash tag so each script is valid on a
 * Redis Cluster:
 *   charter:report:{<org>}:seen:<event id>  "1", SET NX with a retention TTL:
 *                                           the record was counted;
 *   charter:report:{<org>}:counts           hash: count name -> count
 *                                           (report_counts.h);
 *   charter:report:{<org>}:case:<case id>   the case's state (report_agg.h),
 *                                           packed (ch_report_case_pack;
 *                                           compact JSON before issue 16,
 *                                           still read), with a TTL;
 *   charter:report:{<org>}:figures:<period> hash: figure field -> counter
 *                                           (report_keys.h, report_agg.h),
 *                                           the fields of that one period
 *                                           ("2026-11-23", "2026-11",
 *                                           "2026"), expiring
 *                                           report.retention_months after
 *                                           the period ends;
 *   charter:report:{<org>}:periods          sorted set, every score 0: the
 *                                           periods that have figures, as
 *                                           "d:2026-11-23", "m:2026-11",
 *                                           "y:2026" (one lexical range per
 *                                           granularity);
 *   charter:report:{<org>}:open             sorted set: open member -> the
 *                                           instant the case falls overdue;
 *   charter:report:{<org>}:publications     hash: period ("2025", "2026-Q1",
 *                                           "2026-11") -> the publication of
 *                                           that completed period, JSON as
 *                                           GET /v1/publication answers it;
 *                                           written once (HSETNX), never
 *                                           changed;
 *   charter:report:{<org>}:page:<case id>   the case's page record
 *                                           (casepage.h), compact JSON,
 *                                           kept report.case_ttl_s after
 *                                           its last record, like the
 *                                           case's state.
 * And one key per case outside the organisation's hash tag (it is looked
 * up by reference alone; written by its own command, never in a script):
 *   charter:report:ref:<reference>          "<org> <case id>", with the
 *                                           page's TTL: the reference
 *                                           index the case page and
 *                                           charterctl resolve through.
 * The work queue is the open set read by score (the instant each case
 * falls due) up to a bound: a range read, never a scan of every case.
 *
 * Counting a record is two scripts (store_record.c): one marks it seen,
 * adds to the counts (atomically) and reads the case's state and page; the
 * other moves the case, a compare-and-set on the case's state and its page
 * that also applies the figure deltas and the open-set change, so a
 * redelivered record changes nothing and two records of one case racing
 * each other make one of them retry. Each script runs once per loop turn
 * and organisation for all the turn's records (up to a bound), not once
 * per record. The readers (the JSON API, the dashboard, the snapshot
 * rounds, the publications) load an organisation the same way, through
 * report_store_load, naming the periods they show: each is one HGETALL of
 * one period's hash, so what a request costs Redis depends on the periods
 * it shows, not on how much history there is.
 *
 * Before per-period hashes, all the figures were one hash,
 * charter:report:{<org>}:figures; report_store_migrate moves such a hash's
 * fields into the per-period hashes once, on start (a batch at a time, each
 * batch one script, so a crash or a second instance moves nothing twice).
 *
 * The scripts go by their SHA-1 through the runtime (ch_redis_script: EVALSHA,
 * and EVAL with the text when Redis answers NOSCRIPT), registered once when
 * the store is made.
 *
 * Every call taking a callback returns 0 and runs it exactly once, later; or
 * returns CH_EAGAIN (Redis not connected) and never runs it.
 */
#ifndef CHARTER_REPORTING_STORE_H
#define CHARTER_REPORTING_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "charter/report_agg.h"
#include "charter/report_counts.h"
#include "charter/report_keys.h"
#include "charter/report_table.h"
#include "charter/runtime.h"

typedef struct report_store report_store;

/* The store on the runtime's Redis, from init (it registers its scripts).
 * retention_months: how long after a period ends its figures are kept (0:
 * for ever). NULL on ENOMEM. Free with report_store_free. */
report_store *report_store_new(ch_runtime *rt, int retention_months);
void report_store_free(report_store *st);

/*
 * Counts a record once and reads its case, in one script (with the loop
 * turn's other records of org, at the turn's end): when the seen
 * mark for event_id is new (kept ttl_s seconds), adds one to each of the
 * names' counts; then, when case_id is not empty, reads the case's state
 * and its page record (casepage.h). done gets rc 0 with first 1 (counted
 * now) or 0 (seen before: a repeat) and the state and the page (each NULL
 * when missing, or when case_id is empty; borrowed for the call), or
 * CH_EAGAIN with why (Redis's error, or "redis unavailable").
 */
typedef void (*report_count_read_fn)(void *opaque, int rc, int first, const char *why,
                                     const char *state, size_t state_len, const char *page,
                                     size_t page_len);
int report_store_count_read(report_store *st, const char *org, const char *event_id, int64_t ttl_s,
                            const char (*names)[CH_REPORT_COUNT_NAME_MAX], size_t nnames,
                            const char *case_id, report_count_read_fn done, void *opaque);

/*
 * Reads a case's state. done gets rc 0 with state and len (borrowed for the
 * call; state NULL when there is none), or CH_EAGAIN.
 */
typedef void (*report_case_fn)(void *opaque, int rc, const char *state, size_t len);
int report_store_case_read(report_store *st, const char *org, const char *case_id,
                           report_case_fn done, void *opaque);

/* What one record changes about its case (counting.h decides it). */
typedef struct {
    const char *old_state;       /* the state read back, or NULL for none */
    size_t old_len;              /* its bytes (a state is binary: ch_report_case_pack) */
    const char *state;           /* the new state */
    size_t state_len;            /* its bytes */
    int64_t ttl_s;               /* how long the state is kept */
    const char *open_op;         /* "add", "rem" or "" (leave the open set alone) */
    const char *member;          /* the case's open member (for "add" and "rem") */
    int64_t due_ms;              /* its score (for "add") */
    const ch_report_item *delta; /* figure deltas */
    size_t ndelta;
    int64_t now_s; /* deltas of periods expired by now_s are not written (periods.h) */
} report_case_change;

/* What one record changes about its case's page record (casepage.h). */
typedef struct {
    const char *old;       /* the page read back, or NULL for none */
    size_t old_len;        /* its bytes */
    const char *text;      /* the new page */
    size_t len;            /* its bytes */
    const char *reference; /* the case's reference ("": none): the index is written too */
    int64_t ttl_s;         /* how long the page and the index entry are kept */
} report_page_change;

/*
 * Writes a record's change to its case (c; NULL: the case is left as it
 * is) and to its page record (p; NULL: left as it is) if the case's state
 * is still c->old_state and the page still p->old: the new state, the
 * figure deltas (each into its period's hash, which gets its expiry, and
 * the period into the index), the open-set change and the page at once;
 * then, when p names a reference, the reference index with the page's TTL
 * (its own command, sent right behind the script). Sent, as the read, with
 * the loop turn's other writes of org at the turn's end. done gets rc 0
 * (written), CH_EEXIST (the case or its page changed since it was read;
 * nothing written: read it again), or CH_EAGAIN with why. CH_ENOMEM or
 * CH_EAGAIN from the call itself: done never runs.
 */
typedef void (*report_written_fn)(void *opaque, int rc, const char *why);
int report_store_record_write(report_store *st, const char *org, const char *case_id,
                              const report_case_change *c, const report_page_change *p,
                              report_written_fn done, void *opaque);

/* An organisation's open and overdue cases: members sorted (so a period's
 * cases are one run of them) and each parsed once. */
typedef struct {
    const char **members; /* borrowed from the store's reply: valid in done only */
    ch_report_key *keys;  /* keys[i] is members[i] parsed */
    size_t n;             /* members that parse; the others are left out */
} report_open;

/* The members of o whose day starts with period ("2026-11" takes the
 * month's days), as o->members[*lo .. *hi). */
void report_open_range(const report_open *o, const char *period, size_t *lo, size_t *hi);

/* What report_store_load read. */
typedef struct {
    ch_report_table counts;  /* with REPORT_LOAD_COUNTS; else empty */
    ch_report_table figures; /* the figures of the periods asked for, and only those */
    report_open open;        /* members scored before now_ms */
} report_data;

enum { REPORT_LOAD_COUNTS = 1 };

typedef void (*report_loaded_fn)(void *opaque, int rc, report_data *d);

/*
 * Reads an organisation: its counts (when what has REPORT_LOAD_COUNTS), the
 * figures of the nperiods periods named (one HGETALL of each period's hash,
 * sent together; none when nperiods is 0) and its open-and-overdue cases at
 * now_ms, in that order. done gets rc 0 with d, borrowed: the store frees d
 * when done returns, except what done moved out of it (a table taken and
 * zeroed); or CH_EAGAIN (Redis did not answer) or CH_ENOMEM with d NULL.
 */
int report_store_load(report_store *st, const char *org, unsigned what,
                      const char (*periods)[CH_REPORT_KEY_PERIOD_MAX], size_t nperiods,
                      int64_t now_ms, report_loaded_fn done, void *opaque);
/*
 * The same for the periods of granularity g from `from` to `to` (inclusive;
 * NULL: no bound) that have figures, found first in the periods index
 * (ZRANGEBYLEX): a reader that names no bounds reads every period of g that
 * is kept.
 */
int report_store_load_range(report_store *st, const char *org, unsigned what,
                            ch_report_granularity g, const char *from, const char *to,
                            int64_t now_ms, report_loaded_fn done, void *opaque);

/* The periods of granularity g with figures, from..to as above, oldest
 * first. done gets rc 0 with the periods (borrowed for the call), or
 * CH_EAGAIN / CH_ENOMEM with none. */
typedef void (*report_names_fn)(void *opaque, int rc, const char **names, size_t n);
int report_store_periods(report_store *st, const char *org, ch_report_granularity g,
                         const char *from, const char *to, report_names_fn done, void *opaque);

/*
 * Retention: takes the expired periods out of the organisation's index and
 * the cases overdue since before the retention horizon out of its open set
 * (their periods have expired). Nothing to do with retention_months 0.
 * Fire and forget: 0 when sent (the reply is only logged on error), or
 * CH_EAGAIN.
 */
int report_store_prune(report_store *st, const char *org, int64_t now_ms);

/*
 * Moves every organisation's figures hash of before per-period hashes
 * (charter:report:{<org>}:figures) into the per-period hashes: found with
 * SCAN, read with HSCAN, a batch of fields moved by one script (added to
 * the period's hash, the period indexed, the field deleted from the old
 * hash; a field of an expired period only deleted), and the old hash
 * deleted once scanned. Each organisation moved is logged with its count of
 * fields. done runs once: rc 0 when no such hash is left, CH_EAGAIN when
 * Redis failed meanwhile (call again later: what was moved stays moved).
 * Returns 0, or CH_EAGAIN / CH_ENOMEM and done never runs.
 */
typedef void (*report_migrated_fn)(void *opaque, int rc);
int report_store_migrate(report_store *st, report_migrated_fn done, void *opaque);

/* ---- publications (publication.c) ---- */

/* The periods that have a publication. done gets rc 0 with the names
 * (borrowed for the call), or CH_EAGAIN / CH_ENOMEM with none. */
int report_store_pub_periods(report_store *st, const char *org, report_names_fn done, void *opaque);
/* One period's publication: done as report_store_case_read (NULL: none). */
int report_store_pub_get(report_store *st, const char *org, const char *period, report_case_fn done,
                         void *opaque);
/* Writes a period's publication unless it has one: done gets 0 (written),
 * CH_EEXIST (it had one: left as it was) or CH_EAGAIN. */
int report_store_pub_put(report_store *st, const char *org, const char *period, const char *text,
                         report_written_fn done, void *opaque);

/* ---- case pages and the work queue (store_pages.c) ---- */

/* "charter:report:ref:<reference>" into buf (bufsz >= 320). */
void report_store_ref_key(const char *reference, char *buf, size_t bufsz);

/* The reference index: done gets "<org> <case id>" (NULL: no such
 * reference), as report_store_case_read. */
int report_store_ref_get(report_store *st, const char *reference, report_case_fn done,
                         void *opaque);

/* One open case of the queue: its open member, the instant it falls due
 * and its page record (NULL when it has none), borrowed for the call. */
typedef struct {
    const char *member;
    int64_t due_ms;
    const char *page;
    size_t page_len;
} report_queue_row;
typedef void (*report_queue_fn)(void *opaque, int rc, const report_queue_row *rows, size_t n,
                                int truncated);
/*
 * The organisation's open cases due from from_ms (INT64_MIN: no bound, the
 * overdue ones included) to before until_ms, soonest first, at most limit (truncated 1 when there
 * were more), each with its page record: one ZRANGEBYSCORE and one MGET. done gets rc 0 with the
 * rows, or CH_EAGAIN / CH_ENOMEM with none.
 */
int report_store_queue(report_store *st, const char *org, int64_t from_ms, int64_t until_ms,
                       size_t limit, report_queue_fn done, void *opaque);

/* How many of the organisation's open cases are overdue at now_ms and how
 * many fall due from now_ms to before end_ms (two ZCOUNTs of the open
 * set). done gets rc 0 with both, or CH_EAGAIN. */
typedef void (*report_queue_count_fn)(void *opaque, int rc, int64_t overdue, int64_t due);
int report_store_queue_count(report_store *st, const char *org, int64_t now_ms, int64_t end_ms,
                             report_queue_count_fn done, void *opaque);

/* A case's page record and state together (done gets either NULL when
 * missing, borrowed for the call), or CH_EAGAIN with none. */
typedef void (*report_case_page_fn)(void *opaque, int rc, const char *page, size_t page_len,
                                    const char *state, size_t state_len);
int report_store_case_page(report_store *st, const char *org, const char *case_id,
                           report_case_page_fn done, void *opaque);

#endif
