/*
 * Reporting's key codec (report_keys.h says why there is one). Splitting
 * finds the first three '|' with strchr and copies nothing, so the hot loops
 * (ch_report_sum over every counter) use it as they are; parsing copies the
 * parts into fixed fields for the callers that keep them.
 */
#include "charter/report_keys.h"

#include <stdio.h>
#include <string.h>

#include "charter/civil.h"
#include "charter/errors.h"

int
ch_report_key_format(char *buf, size_t bufsz, const char *period, const char *channel,
                     const char *type, const char *tail)
{
    int n = snprintf(buf, bufsz, "%s|%s|%s|%s", period, channel, type, tail);
    return n < 0 || (size_t)n >= bufsz ? CH_EINVAL : 0;
}

int
ch_report_key_prefix(char *buf, size_t bufsz, const char *period, const char *channel,
                     const char *type)
{
    return ch_report_key_format(buf, bufsz, period, channel, type, "");
}

int
ch_report_key_split(const char *text, ch_report_key_span *out)
{
    const char *b1 = strchr(text, '|'), *b2 = b1 ? strchr(b1 + 1, '|') : NULL;
    const char *b3 = b2 ? strchr(b2 + 1, '|') : NULL;
    if (!b3)
        return CH_EINVAL;
    out->period = text;
    out->period_len = (size_t)(b1 - text);
    out->channel = b1 + 1;
    out->channel_len = (size_t)(b2 - b1 - 1);
    out->type = b2 + 1;
    out->type_len = (size_t)(b3 - b2 - 1);
    out->tail = b3 + 1;
    return 0;
}

static int
copy_part(char *dst, size_t dstsz, const char *src, size_t len)
{
    if (len >= dstsz)
        return CH_EINVAL;
    memcpy(dst, src, len);
    dst[len] = '\0';
    return 0;
}

int
ch_report_key_parse(const char *text, ch_report_key *out)
{
    ch_report_key_span s;
    if (ch_report_key_split(text, &s) != 0 ||
        copy_part(out->period, sizeof(out->period), s.period, s.period_len) != 0 ||
        copy_part(out->channel, sizeof(out->channel), s.channel, s.channel_len) != 0 ||
        copy_part(out->type, sizeof(out->type), s.type, s.type_len) != 0)
        return CH_EINVAL;
    out->tail = s.tail;
    return 0;
}

static const char *const period_shapes[] = {"dddd-dd-dd", "dddd-dd", "dddd"};

size_t
ch_report_period_len(ch_report_granularity g)
{
    return (unsigned)g <= CH_REPORT_YEAR ? strlen(period_shapes[g]) : 0;
}

ch_report_granularity
ch_report_granularity_of(const char *period)
{
    size_t n = strlen(period);
    return n == 4 ? CH_REPORT_YEAR : n == 7 ? CH_REPORT_MONTH : CH_REPORT_DAY;
}

int
ch_report_period_shaped(const char *s, ch_report_granularity g)
{
    if ((unsigned)g > CH_REPORT_YEAR || strlen(s) != strlen(period_shapes[g]))
        return 0;
    for (const char *p = period_shapes[g]; *p; p++, s++)
        if (*p == 'd' ? !(*s >= '0' && *s <= '9') : *s != *p)
            return 0;
    return 1;
}

char
ch_report_granularity_letter(ch_report_granularity g)
{
    return g == CH_REPORT_DAY ? 'd' : g == CH_REPORT_MONTH ? 'm' : g == CH_REPORT_YEAR ? 'y' : 0;
}

int
ch_report_period_member(char *buf, size_t bufsz, const char *period)
{
    ch_report_granularity g = ch_report_granularity_of(period);
    if (!ch_report_period_shaped(period, g))
        return CH_EINVAL;
    int n = snprintf(buf, bufsz, "%c:%s", ch_report_granularity_letter(g), period);
    return n < 0 || (size_t)n >= bufsz ? CH_EINVAL : 0;
}

/* The number of the digits s[0..n) (all digits: the caller checked the shape). */
static int
digits(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int
ch_report_period_expiry(const char *period, int retention_months, int64_t *at_s)
{
    ch_report_granularity g = ch_report_granularity_of(period);
    if (retention_months < 1 || !ch_report_period_shaped(period, g))
        return CH_EINVAL;
    int y = digits(period, 4), m = g == CH_REPORT_YEAR ? 12 : digits(period + 5, 2);
    int d = g == CH_REPORT_DAY ? digits(period + 8, 2) : ch_days_in_month(y, m);
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > ch_days_in_month(y, m))
        return CH_EINVAL;
    /* the day after the period's last day */
    if (++d > ch_days_in_month(y, m)) {
        d = 1;
        if (++m > 12) {
            m = 1;
            y++;
        }
    }
    int64_t months = (int64_t)m - 1 + retention_months;
    int64_t ey = y + months / 12;
    int em = (int)(months % 12) + 1;
    int ed = d > ch_days_in_month(ey, em) ? ch_days_in_month(ey, em) : d;
    *at_s = (ch_day_from_civil(ey, em, ed) + 1) * CH_CIVIL_SECS_PER_DAY;
    return 0;
}
