/*
 * RFC 3339 parsing by hand rather than strptime(): strptime has no portable
 * offset or fraction handling, and the input is outside data, so every field
 * is range-checked. The checked UTC date becomes seconds through timegm(),
 * as formatting goes through gmtime_r(): the C library does UTC both ways, so
 * base needs none of the civil-date arithmetic that lives in charter_time
 * (civil.h), a layer above it.
 */
#include "charter/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "charter/errors.h"

int64_t
ch_time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int
ch_time_parse_rfc3339(const char *s, int64_t *ms)
{
    if (!s)
        return CH_EINVAL;
    const char *p = s;
    int y, mo, d, h, mi, se, frac = 0;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
        return CH_EINVAL;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return CH_EINVAL;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &se))
        return CH_EINVAL;
    if (*p == '.') {
        p++;
        int n = 0;
        while (isdigit((unsigned char)*p)) {
            if (n < 3)
                frac = frac * 10 + (*p - '0');
            n++;
            p++;
        }
        if (n == 0)
            return CH_EINVAL;
        for (; n < 3; n++)
            frac *= 10;
    }
    int off_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
            return CH_EINVAL;
        off_min = sign * (oh * 60 + om);
    } else {
        return CH_EINVAL;
    }
    if (*p != '\0')
        return CH_EINVAL;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return CH_EINVAL;
    /* timegm() normalises a day past the month's end into the next month. */
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d};
    int64_t days = (int64_t)timegm(&tm) / 86400;
    if (tm.tm_mday != d)
        return CH_EINVAL;
    if (se == 60) { /* a leap second is held at :59.999 rather than refused */
        se = 59;
        frac = 999;
    }
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - off_min * 60;
    *ms = secs * 1000 + frac;
    return 0;
}

void
ch_time_split_ms(int64_t ms, int64_t *seconds, int32_t *nanos)
{
    int64_t s = ms / 1000, r = ms % 1000;
    if (r < 0) {
        s -= 1;
        r += 1000;
    }
    *seconds = s;
    *nanos = (int32_t)r * 1000000;
}

char *
ch_time_format_utc(int64_t ms, char *buf, size_t bufsz)
{
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int millis = (int)(ms - (int64_t)secs * 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, bufsz, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    return buf;
}
