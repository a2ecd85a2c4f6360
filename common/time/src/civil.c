/*
 * Civil-date arithmetic (civil.h) by Howard Hinnant's days_from_civil and
 * civil_from_days (public domain): closed-form, branch-light and exact for
 * every year, because the Gregorian calendar repeats every 400 years (an
 * "era" of 146097 days) and a year counted from March puts the leap day last.
 * No table, no loop, no libc: the tz footer evaluates rules with it on every
 * conversion and the calendar builds 106 years of bank holidays with it.
 */
#include "charter/civil.h"

int64_t
ch_day_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void
ch_civil_from_day(int32_t dayno, int *year, int *month, int *day)
{
    int64_t z = (int64_t)dayno + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (year)
        *year = (int)(yoe + era * 400 + (m <= 2));
    if (month)
        *month = (int)m;
    if (day)
        *day = (int)d;
}
