/*
 * Instants for tests (instant.h): fx_at() through charter_base's parser,
 * fx_utc() through the C library alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "charter/timeutil.h"
#include "support/instant.h"

int64_t
fx_at(const char *iso)
{
    int64_t ms = 0;
    if (ch_time_parse_rfc3339(iso, &ms) != 0)
        fail_msg("bad instant in test: %s", iso);
    return ms;
}

int64_t
fx_utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (int64_t)timegm(&tm);
}

int64_t
fx_utc_ms(int y, int mo, int d, int h, int mi, int s)
{
    return fx_utc(y, mo, d, h, mi, s) * 1000;
}
