/*
 * Periods of the figures (periods.h says what for). The groupings are small
 * (a record's deltas touch three to a few periods; a migration batch a few
 * dozen), so a linear search over the buckets found so far is enough.
 */
#include "periods.h"

#include <stdio.h>
#include <string.h>

#include "charter/civil.h"
#include "charter/errors.h"

/* The bucket of the period text[..len] among b[0..nb), or nb. */
static size_t
find_bucket(const report_bucket *b, size_t nb, const char *text, size_t len)
{
    size_t i = 0;
    while (i < nb && !(strncmp(b[i].period, text, len) == 0 && !b[i].period[len]))
        i++;
    return i;
}

int
report_group_by_period(const ch_report_item *items, size_t nitems, int retention_months,
                       int64_t now_s, report_bucket *buckets, size_t cap, size_t *bucket_of)
{
    size_t nb = 0;
    for (size_t i = 0; i < nitems; i++) {
        ch_report_key_span k;
        bucket_of[i] = REPORT_NO_BUCKET;
        if (ch_report_key_split(items[i].key, &k) != 0 || k.period_len >= CH_REPORT_KEY_PERIOD_MAX)
            continue;
        size_t b = find_bucket(buckets, nb, k.period, k.period_len);
        if (b == nb) {
            report_bucket nbk = {0};
            memcpy(nbk.period, k.period, k.period_len);
            int64_t at = 0;
            /* a period whose date does not exist has no expiry: no hash for it */
            if (ch_report_period_expiry(nbk.period, retention_months > 0 ? retention_months : 1,
                                        &at) != 0 ||
                ch_report_period_member(nbk.member, sizeof(nbk.member), nbk.period) != 0)
                continue;
            if (retention_months > 0 && at <= now_s)
                continue;
            if (nb == cap)
                return CH_EINVAL;
            nbk.expire_at_s = retention_months > 0 ? at : 0;
            buckets[nb++] = nbk;
        }
        bucket_of[i] = b;
        buckets[b].n++;
    }
    return (int)nb;
}

/* The first day of the period after the one of g holding `day`. */
static int32_t
next_period_day(int32_t day, ch_report_granularity g)
{
    int y, m, d;
    ch_civil_from_day(day, &y, &m, &d);
    if (g == CH_REPORT_YEAR)
        return (int32_t)ch_day_from_civil(y + 1, 1, 1);
    if (g == CH_REPORT_MONTH)
        return (int32_t)ch_day_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1);
    return day + 1;
}

int
report_oldest_kept(int retention_months, int64_t now_s, ch_report_granularity g, char *buf,
                   size_t bufsz)
{
    if (retention_months < 1 || bufsz < CH_REPORT_KEY_PERIOD_MAX || (unsigned)g > CH_REPORT_YEAR)
        return CH_EINVAL;
    /* every period ending more than retention_months + 1 month before now has expired;
     * start a little earlier still and walk forward to the first one kept */
    int32_t day = ch_civil_day_of(now_s) - (int32_t)(retention_months + 2) * 31 - 400;
    for (;;) {
        int64_t at;
        ch_report_period(day, g, buf, bufsz);
        if (ch_report_period_expiry(buf, retention_months, &at) != 0)
            return CH_EINVAL;
        if (at > now_s)
            return 0;
        day = next_period_day(day, g);
    }
}

int
report_periods_between(ch_report_granularity g, const char *from, const char *to,
                       char (*out)[CH_REPORT_KEY_PERIOD_MAX], size_t cap)
{
    int64_t unused;
    if (!ch_report_period_shaped(from, g) || !ch_report_period_shaped(to, g) ||
        ch_report_period_expiry(from, 1, &unused) != 0 ||
        ch_report_period_expiry(to, 1, &unused) != 0 || strcmp(from, to) > 0)
        return CH_EINVAL;
    int y = (from[0] - '0') * 1000 + (from[1] - '0') * 100 + (from[2] - '0') * 10 + (from[3] - '0');
    int m = g == CH_REPORT_YEAR ? 1 : (from[5] - '0') * 10 + (from[6] - '0');
    int d = g == CH_REPORT_DAY ? (from[8] - '0') * 10 + (from[9] - '0') : 1;
    int32_t day = (int32_t)ch_day_from_civil(y, m, d);
    size_t n = 0;
    for (;;) {
        if (n == cap)
            return CH_EINVAL;
        ch_report_period(day, g, out[n], sizeof(out[n]));
        if (strcmp(out[n++], to) >= 0)
            return (int)n;
        day = next_period_day(day, g);
    }
}
