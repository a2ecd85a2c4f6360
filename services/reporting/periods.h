/*
 * Which of an organisation's per-period figure hashes a set of counters goes
 * to, and which periods a reader or the retention sweep needs: decided from
 * values, so the store only sends what these say.
 *
 * The figures are one hash per (organisation, period) (report_keys.h says
 * why); a record's deltas touch its case's day, month and year (and, for
 * reviews, the periods they fall due in), so the store writes each delta to
 * the hash of its own key's period. A period past its retention
 * (report.retention_months after it ended, ch_report_period_expiry) is not
 * written at all: a late record of an old case, or a replay of old records,
 * leaves no part of a period that is no longer kept.
 *
 * Pure: no I/O, no clock reads (now is a parameter); unit-tested.
 */
#ifndef CHARTER_REPORTING_PERIODS_H
#define CHARTER_REPORTING_PERIODS_H

#include <stddef.h>
#include <stdint.h>

#include "charter/report_agg.h"
#include "charter/report_keys.h"

/* One period's counters among a list of items. */
typedef struct {
    char period[CH_REPORT_KEY_PERIOD_MAX];
    char member[CH_REPORT_KEY_PERIOD_MAX + 2]; /* its member of the periods index */
    int64_t expire_at_s;                       /* ch_report_period_expiry; 0: kept for ever */
    size_t n;                                  /* items in it */
} report_bucket;

#define REPORT_NO_BUCKET ((size_t)-1)

/*
 * Groups items by the period of their key (the part before the first '|'),
 * buckets in order of the periods' first appearance: bucket_of[i] (room for
 * nitems) gets item i's bucket, or REPORT_NO_BUCKET when it is left out:
 * a key without a valid day, month or year, or, when retention_months > 0,
 * a period that expired at or before now_s (no bucket is made for it).
 * Returns the number of buckets, or CH_EINVAL when there are more than cap
 * periods.
 */
int report_group_by_period(const ch_report_item *items, size_t nitems, int retention_months,
                           int64_t now_s, report_bucket *buckets, size_t cap, size_t *bucket_of);

/*
 * The oldest period of granularity g still kept at now_s (the first whose
 * expiry is after now_s), into buf: every older period of g has expired.
 * 0, or CH_EINVAL (retention_months < 1, or buf too small).
 */
int report_oldest_kept(int retention_months, int64_t now_s, ch_report_granularity g, char *buf,
                       size_t bufsz);

/*
 * The periods of granularity g from `from` to `to` (both of g's shape,
 * inclusive), oldest first, at most cap of them, into out. Returns how many,
 * or CH_EINVAL (a bound of another shape, to before from, or more than cap).
 */
int report_periods_between(ch_report_granularity g, const char *from, const char *to,
                           char (*out)[CH_REPORT_KEY_PERIOD_MAX], size_t cap);

#endif
