/*
 * Reporting's key codec (report_keys.h says why there is one). Splitting
 * finds the first three '|' with strchr and copies nothing, so the hot loops
 * (ch_report_sum over every counter) use it as they are; parsing copies the
 * parts into fixed fields for the callers that keep them.
 */
#include "charter/report_keys.h"

#include <stdio.h>
#include <string.h>

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
