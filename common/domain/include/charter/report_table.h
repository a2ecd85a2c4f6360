/*
 * Reading the charter's counters back: a sorted table of them, the sums a
 * filter selects, and the time-to-respond summary.
 *
 * report_agg writes counter deltas ("<period>|<channel>|<case type>|<figure>"
 * -> delta); whoever reads them (the reporting service from its Redis hash,
 * a replay in a test) holds them as a ch_report_table: sorted by key, one
 * item per key, no zero counters. That rule is kept here whether the
 * counters come one delta at a time (ch_report_table_add) or all at once
 * (ch_report_table_from_pairs, an HGETALL reply's field/value texts), so a
 * table read from the store equals the table the same deltas would build.
 *
 * PERCENTILES are nearest-rank over a histogram: the p-th percentile of N
 * values is the smallest value v such that at least ceil(p * N / 100) values
 * are <= v. The median is the 50th: for an even N, the lower middle value.
 * Always a value that occurred; never interpolated. The published summary
 * of a time to respond is the number of responses, the median and the 90th
 * percentile (ch_report_ttr_summary), wherever it is shown.
 *
 * Pure: values in, values out.
 */
#ifndef CHARTER_REPORT_TABLE_H
#define CHARTER_REPORT_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "charter/report_agg.h"
#include "charter/report_keys.h"

/* Counters in memory, sorted by key. Start from all zeros; free with
 * ch_report_table_free. */
typedef struct {
    ch_report_item *items;
    size_t n, cap;
} ch_report_table;

/* Adds each item's value to the counter of its key (counters that reach 0
 * are dropped). 0 or CH_ENOMEM. */
int ch_report_table_add(ch_report_table *t, const ch_report_item *items, size_t n);
/*
 * Replaces t's contents with npairs counters given as text, kv[2i] the key
 * and kv[2i + 1] its value in decimal (an HGETALL reply's order): the same
 * table as adding them one by one (sorted, equal keys summed, zeros
 * dropped), built with one sort. A key too long for an item
 * (CH_REPORT_KEY_MAX with its NUL) is skipped. 0, or CH_ENOMEM (t is then
 * empty).
 */
int ch_report_table_from_pairs(ch_report_table *t, const char *const *kv, size_t npairs);
/* Restores the table rule after items were appended to t->items in any
 * order (t->n of them, t->cap allocated): sorted, equal keys summed, zeros
 * dropped. (A reader of several hashes appends each reply, then calls
 * this once.) */
void ch_report_table_normalise(ch_report_table *t);
int64_t ch_report_table_get(const ch_report_table *t, const char *key);
/* The counters whose key starts with prefix, as a table borrowing t's items
 * (do not free or add to it): summing it equals summing those keys of t. */
ch_report_table ch_report_table_prefix(const ch_report_table *t, const char *prefix);
/* The counters of one period ("2026-11": the keys "2026-11|..."), as
 * ch_report_table_prefix gives them: summing it with a filter on that
 * period equals summing t with it. */
ch_report_table ch_report_table_period(const ch_report_table *t, const char *period);
void ch_report_table_free(ch_report_table *t);

/* Which counters to sum. from/to: periods, inclusive, compared as text, of
 * the granularity's length ("2026-11-01".."2026-11-30", "2026-01".."2026-06");
 * NULL for no bound. channel, case_type: exact names, NULL for all. */
typedef struct {
    ch_report_granularity granularity;
    const char *from, *to;
    const char *channel, *case_type;
} ch_report_filter;

typedef struct {
    int64_t fig[CH_REPORT_FIG_COUNT];
    int64_t support[CH_REPORT_SUPPORT_COUNT];
    int64_t ttr[CH_REPORT_UNIT_COUNT][CH_REPORT_TTR_MAX + 1]; /* histogram per unit */
} ch_report_totals;

/* Sums the counters the filter selects into *out (zeroed first). */
void ch_report_sum(const ch_report_table *t, const ch_report_filter *f, ch_report_totals *out);

/*
 * Nearest-rank percentile (see above) of a histogram hist[0..len-1] where
 * hist[v] is how many values equal v; pct in 1..100. Returns 0 with *value,
 * CH_ENOTFOUND when the histogram is empty, CH_EINVAL for pct out of range.
 */
int ch_report_percentile(const int64_t *hist, size_t len, int pct, int64_t *value);

/* How long responses took, in one unit: how many, the median, the 90th
 * percentile. */
typedef struct {
    int64_t responses, median, p90;
} ch_report_ttr;

/* The summary of the totals' responses in unit u: 0 and *out, or
 * CH_ENOTFOUND when there were none in that unit (or u is out of range). */
int ch_report_ttr_summary(const ch_report_totals *t, ch_report_unit u, ch_report_ttr *out);

#endif
