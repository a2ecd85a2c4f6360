/*
 * Civil dates (civil.h) and the local day of an instant (tz.h).
 *
 * Day numbers are checked against dates worked out by hand (the epoch, the
 * Gregorian leap rules, year 0 and the years before it), against each other
 * over every day of several thousand years (a day number and its date round
 * trip, and the next day number is the next date), and at the ends of the
 * int32 range. The local day of an instant is checked against the C
 * library's own zone code (localtime_r with TZ set), an independent reading
 * of the same tz database files, over two centuries and four zones with
 * clock changes at different hours, halves and offsets on both sides of UTC.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "charter/civil.h"
#include "support/instant.h"
#include "charter/tz.h"

/* ---- day numbers ---- */

static void
assert_date(int32_t dayno, int y, int m, int d)
{
    int yy = 0, mm = 0, dd = 0;
    ch_civil_from_day(dayno, &yy, &mm, &dd);
    if (yy != y || mm != m || dd != d)
        fail_msg("day %d is %04d-%02d-%02d, expected %04d-%02d-%02d", (int)dayno, yy, mm, dd, y, m,
                 d);
    if (ch_day_from_civil(y, m, d) != dayno)
        fail_msg("%04d-%02d-%02d is day %lld, expected %d", y, m, d,
                 (long long)ch_day_from_civil(y, m, d), (int)dayno);
}

static void
test_known_dates(void **state)
{
    (void)state;
    assert_date(0, 1970, 1, 1);
    assert_date(-1, 1969, 12, 31);
    assert_date(365, 1971, 1, 1);
    assert_date(10957, 2000, 1, 1);
    assert_date(11016, 2000, 2, 29); /* a century divisible by 400 is leap */
    assert_date(11017, 2000, 3, 1);
    assert_date(20455, 2026, 1, 2);
    assert_date(47847, 2101, 1, 1);
    assert_date(-25508, 1900, 3, 1); /* 1900 is not leap: 28 February is the day before */
    assert_date(-25509, 1900, 2, 28);
    assert_date(-141427, 1582, 10, 15); /* the first Gregorian day */
    assert_date(-719468, 0, 3, 1);      /* year 0 (1 BC), proleptic */
    assert_date(-719469, 0, 2, 29);     /* year 0 is leap (divisible by 400) */
    assert_date(-719528, 0, 1, 1);
    assert_date(-719529, -1, 12, 31);
    assert_date(-865566, -400, 2, 29);
    assert_date(-2933263, -6061, 1, 1); /* far back: still exact */
}

static void
test_round_trip_every_day_of_several_thousand_years(void **state)
{
    (void)state;
    /* About years -768 to 4707: every day, including each month end and
     * each 29 February, must round trip and be followed by the next date. */
    int py, pm, pd;
    ch_civil_from_day(-1000001, &py, &pm, &pd);
    for (int32_t day = -1000000; day <= 1000000; day++) {
        int y, m, d;
        ch_civil_from_day(day, &y, &m, &d);
        if (ch_day_from_civil(y, m, d) != day)
            fail_msg("day %d -> %d-%d-%d -> %lld", (int)day, y, m, d,
                     (long long)ch_day_from_civil(y, m, d));
        int next_ok = (d == pd + 1 && m == pm && y == py) ||
                      (d == 1 && pd == ch_days_in_month(py, pm) &&
                       ((m == pm + 1 && y == py) || (m == 1 && pm == 12 && y == py + 1)));
        if (!next_ok)
            fail_msg("day %d is %d-%d-%d after %d-%d-%d", (int)day, y, m, d, py, pm, pd);
        if (m < 1 || m > 12 || d < 1 || d > ch_days_in_month(y, m))
            fail_msg("day %d gives the impossible date %d-%d-%d", (int)day, y, m, d);
        py = y, pm = m, pd = d;
    }
}

static void
test_round_trip_across_the_int32_range(void **state)
{
    (void)state;
    /* A walk with a prime stride from one end of the int32 day numbers to
     * the other (about 5.9 million years each way). */
    for (int64_t day = INT32_MIN; day <= INT32_MAX; day += 104729) {
        int y, m, d;
        ch_civil_from_day((int32_t)day, &y, &m, &d);
        if (ch_day_from_civil(y, m, d) != day)
            fail_msg("day %lld -> %d-%d-%d -> %lld", (long long)day, y, m, d,
                     (long long)ch_day_from_civil(y, m, d));
    }
    int y, m, d;
    ch_civil_from_day(INT32_MAX, &y, &m, &d);
    assert_int_equal(ch_day_from_civil(y, m, d), INT32_MAX);
    ch_civil_from_day(INT32_MIN, &y, &m, &d);
    assert_int_equal(ch_day_from_civil(y, m, d), INT32_MIN);
    /* Outputs may be left out. */
    ch_civil_from_day(0, NULL, &m, NULL);
    assert_int_equal(m, 1);
    /* The forward direction takes years beyond int32 day numbers too. */
    assert_true(ch_day_from_civil(100000000, 1, 1) > INT32_MAX);
    assert_int_equal(ch_day_from_civil(100000000, 1, 1) - ch_day_from_civil(99999600, 1, 1),
                     146097);
}

static void
test_days_past_the_month_end_count_on(void **state)
{
    (void)state;
    assert_int_equal(ch_day_from_civil(2026, 1, 32), ch_day_from_civil(2026, 2, 1));
    assert_int_equal(ch_day_from_civil(2026, 2, 29), ch_day_from_civil(2026, 3, 1));
    assert_int_equal(ch_day_from_civil(2024, 2, 30), ch_day_from_civil(2024, 3, 1));
    assert_int_equal(ch_day_from_civil(2024, 3, 0), ch_day_from_civil(2024, 2, 29));
    assert_int_equal(ch_day_from_civil(2026, 12, 32), ch_day_from_civil(2027, 1, 1));
}

static void
test_leap_years_and_month_lengths(void **state)
{
    (void)state;
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (int m = 1; m <= 12; m++) {
        assert_int_equal(ch_days_in_month(2026, m), len[m - 1]);
        assert_int_equal(ch_days_in_month(2024, m), m == 2 ? 29 : len[m - 1]);
    }
    assert_int_equal(ch_days_in_month(2026, 0), 0);
    assert_int_equal(ch_days_in_month(2026, 13), 0);
    assert_true(ch_civil_is_leap(2024));
    assert_true(ch_civil_is_leap(2000));
    assert_true(ch_civil_is_leap(1600));
    assert_true(ch_civil_is_leap(0));
    assert_true(ch_civil_is_leap(-4));
    assert_true(ch_civil_is_leap(-400));
    assert_false(ch_civil_is_leap(2026));
    assert_false(ch_civil_is_leap(1900));
    assert_false(ch_civil_is_leap(2100));
    assert_false(ch_civil_is_leap(-1));
    assert_false(ch_civil_is_leap(-100));
    /* The day numbers agree: a leap year has 366 of them. */
    for (int y = -1000; y <= 3000; y++)
        assert_int_equal(ch_day_from_civil(y + 1, 1, 1) - ch_day_from_civil(y, 1, 1),
                         ch_civil_is_leap(y) ? 366 : 365);
}

static void
test_weekdays(void **state)
{
    (void)state;
    assert_int_equal(ch_weekday(0), 3);                               /* Thursday */
    assert_int_equal(ch_weekday(-1), 2);                              /* Wednesday */
    assert_int_equal(ch_weekday(-4), 6);                              /* Sunday 1969-12-28 */
    assert_int_equal(ch_weekday(ch_day_from_civil(2026, 1, 2)), 4);   /* Friday */
    assert_int_equal(ch_weekday(ch_day_from_civil(2000, 2, 29)), 1);  /* Tuesday */
    assert_int_equal(ch_weekday(ch_day_from_civil(1582, 10, 15)), 4); /* Friday */
    assert_int_equal(ch_weekday(INT32_MIN), (int)(((int64_t)INT32_MIN % 7 + 7 + 3) % 7));
    for (int32_t d = -100000; d < 100000; d++)
        if (ch_weekday(d + 1) != (ch_weekday(d) + 1) % 7)
            fail_msg("weekday of %d is %d after %d", (int)d + 1, ch_weekday(d + 1), ch_weekday(d));
}

static void
test_floor_division_and_seconds_of_the_day(void **state)
{
    (void)state;
    assert_int_equal(ch_civil_floor_div(7, 2), 3);
    assert_int_equal(ch_civil_floor_div(-7, 2), -4);
    assert_int_equal(ch_civil_floor_div(7, -2), -4);
    assert_int_equal(ch_civil_floor_div(-7, -2), 3);
    assert_int_equal(ch_civil_floor_div(-8, 2), -4);
    assert_int_equal(ch_civil_floor_div(0, 5), 0);
    assert_int_equal(ch_civil_floor_div(-1, 1000), -1);
    assert_int_equal(ch_civil_day_of(0), 0);
    assert_int_equal(ch_civil_day_of(86399), 0);
    assert_int_equal(ch_civil_day_of(86400), 1);
    assert_int_equal(ch_civil_day_of(-1), -1);
    assert_int_equal(ch_civil_day_of(-86400), -1);
    assert_int_equal(ch_civil_day_of(-86401), -2);
    assert_int_equal(ch_civil_second_of_day(-1), 86399);
    assert_int_equal(ch_civil_second_of_day(-86400), 0);
    assert_int_equal(ch_civil_second_of_day(90061), 3661);
}

/* ---- the local day of an instant ---- */

static ch_tz *
load(const char *name)
{
    char err[256];
    ch_tz *tz = ch_tz_load(name, NULL, err, sizeof err);
    if (!tz)
        fail_msg("%s", err);
    return tz;
}

static int32_t
day(int y, int m, int d)
{
    return (int32_t)ch_day_from_civil(y, m, d);
}

static void
test_local_day_across_london_clock_changes(void **state)
{
    (void)state;
    ch_tz *tz = load("Europe/London");
    /* Spring forward, 2026-03-29 01:00 UTC: the local day never moves early. */
    assert_int_equal(ch_tz_local_day(tz, fx_utc_ms(2026, 3, 28, 23, 59, 0)), day(2026, 3, 28));
    assert_int_equal(ch_tz_local_day(tz, fx_utc_ms(2026, 3, 29, 0, 59, 0)), day(2026, 3, 29));
    assert_int_equal(ch_tz_local_day(tz, fx_utc_ms(2026, 3, 29, 22, 59, 0)), day(2026, 3, 29));
    /* In BST, 23:00 UTC is already tomorrow. */
    assert_int_equal(ch_tz_local_day(tz, fx_utc_ms(2026, 3, 29, 23, 0, 0)), day(2026, 3, 30));
    assert_int_equal(ch_tz_local_day(tz, fx_utc_ms(2026, 7, 1, 23, 30, 0)), day(2026, 7, 2));
    /* Fall back, 2026-10-25 01:00 UTC: 23:30 UTC on the 24th is 00:30 BST on
     * the 25th, and both 01:30s of the repeated hour are the 25th. */
    assert_int_equal(ch_tz_local_day(tz, fx_utc_ms(2026, 10, 24, 22, 59, 0)), day(2026, 10, 24));
    assert_int_equal(ch_tz_local_day(tz, fx_utc_ms(2026, 10, 24, 23, 30, 0)), day(2026, 10, 25));
    assert_int_equal(ch_tz_local_day(tz, fx_utc_ms(2026, 10, 25, 0, 30, 0)), day(2026, 10, 25));
    assert_int_equal(ch_tz_local_day(tz, fx_utc_ms(2026, 10, 25, 1, 30, 0)), day(2026, 10, 25));
    assert_int_equal(ch_tz_local_day(tz, fx_utc_ms(2026, 10, 25, 23, 30, 0)), day(2026, 10, 25));
    /* The last millisecond of a local day, and before 1970 (BST all year in
     * 1968-1971: 23:00 UTC on 31 December 1969 is 1970 locally). */
    assert_int_equal(ch_tz_local_day(tz, fx_utc_ms(2026, 7, 1, 23, 0, 0) - 1), day(2026, 7, 1));
    assert_int_equal(ch_tz_local_day(tz, fx_utc_ms(1969, 12, 31, 22, 59, 0)), day(1969, 12, 31));
    assert_int_equal(ch_tz_local_day(tz, fx_utc_ms(1969, 12, 31, 23, 0, 0)), day(1970, 1, 1));
    /* Local seconds are the same reading. */
    assert_int_equal(ch_tz_local_seconds(tz, fx_utc_ms(2026, 7, 1, 12, 0, 0) / 1000),
                     fx_utc_ms(2026, 7, 1, 13, 0, 0) / 1000);
    ch_tz_free(tz);
}

static void
test_local_day_without_a_zone_is_utc(void **state)
{
    (void)state;
    assert_int_equal(ch_tz_local_day(NULL, 0), 0);
    assert_int_equal(ch_tz_local_day(NULL, -1), -1);
    assert_int_equal(ch_tz_local_day(NULL, 86400000 - 1), 0);
    assert_int_equal(ch_tz_local_day(NULL, fx_utc_ms(2026, 3, 29, 23, 30, 0)), day(2026, 3, 29));
    assert_int_equal(ch_tz_local_seconds(NULL, 1234567), 1234567);
}

/* ch_tz_local_day against localtime_r for the same zone, every 97 minutes
 * (so each clock time comes round) over 1900-2100. */
static void
compare_with_libc(const char *zone)
{
    ch_tz *tz = load(zone);
    setenv("TZ", zone, 1);
    tzset();
    int64_t from = fx_utc_ms(1900, 1, 1, 0, 0, 0) / 1000,
            to = fx_utc_ms(2100, 1, 1, 0, 0, 0) / 1000;
    for (int64_t s = from; s < to; s += 97 * 60) {
        time_t t = (time_t)s;
        struct tm tm;
        if (!localtime_r(&t, &tm))
            fail_msg("localtime_r failed at %lld", (long long)s);
        int32_t want = day(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
        int32_t got = ch_tz_local_day(tz, s * 1000 + 999);
        if (got != want)
            fail_msg("%s at %lld: local day %d, the C library says %d", zone, (long long)s,
                     (int)got, (int)want);
    }
    ch_tz_free(tz);
}

static void
test_local_day_agrees_with_the_c_library(void **state)
{
    (void)state;
    compare_with_libc("Europe/London");
    compare_with_libc("America/New_York");    /* west of UTC: the day starts late */
    compare_with_libc("Pacific/Auckland");    /* southern: DST over new year */
    compare_with_libc("Australia/Lord_Howe"); /* a half-hour clock change */
    unsetenv("TZ");
    tzset();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_dates),
        cmocka_unit_test(test_round_trip_every_day_of_several_thousand_years),
        cmocka_unit_test(test_round_trip_across_the_int32_range),
        cmocka_unit_test(test_days_past_the_month_end_count_on),
        cmocka_unit_test(test_leap_years_and_month_lengths),
        cmocka_unit_test(test_weekdays),
        cmocka_unit_test(test_floor_division_and_seconds_of_the_day),
        cmocka_unit_test(test_local_day_across_london_clock_changes),
        cmocka_unit_test(test_local_day_without_a_zone_is_utc),
        cmocka_unit_test(test_local_day_agrees_with_the_c_library),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
