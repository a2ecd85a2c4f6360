/*
 * ch_tz turns deadlines into local wall-clock times, so the tests check it
 * against sources that share none of its code: dates worked out here with
 * timegm()/gmtime_r() (last Sundays, second Sundays), what `zdump` reports
 * for the installed files (1971, 1996), and glibc's own reading of the same
 * files and of POSIX TZ strings (localtime_r with TZ set: allowed in tests
 * only). Zone files are outside data, so every prefix and many corruptions
 * of a real file are parsed too; under ASan an over-read fails the run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "charter/tz.h"
#include "support/instant.h"

#define HOUR 3600
#define DAY 86400

/* ---- independent calendar (the C library's) ---- */

/* Weekday (0 = Sunday) of y-mo-d. */
static int
weekday(int y, int mo, int d)
{
    time_t t = (time_t)fx_utc(y, mo, d, 12, 0, 0);
    struct tm tm;
    gmtime_r(&t, &tm);
    return tm.tm_wday;
}

static int
month_days(int y, int mo)
{
    time_t t = (time_t)fx_utc(y, mo + 1, 0, 12, 0, 0); /* day 0 of next month */
    struct tm tm;
    gmtime_r(&t, &tm);
    return tm.tm_mday;
}

static int
last_sunday(int y, int mo)
{
    int last = month_days(y, mo);
    return last - weekday(y, mo, last);
}

/* Day of month of the n-th (1-based) `wday` in y-mo. */
static int
nth_weekday(int y, int mo, int n, int wday)
{
    return 1 + (wday - weekday(y, mo, 1) + 7) % 7 + (n - 1) * 7;
}

/* ---- glibc as an oracle ---- */

static void
glibc_zone(const char *tz)
{
    if (tz != NULL)
        setenv("TZ", tz, 1);
    else
        unsetenv("TZ");
    tzset();
}

static long
glibc_offset(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (localtime_r(&tt, &tm) == NULL)
        fail_msg("localtime_r failed at %lld", (long long)t);
    return tm.tm_gmtoff;
}

/* ---- fixtures ---- */

static ch_tz *
load(const char *name)
{
    char err[256] = "";
    ch_tz *tz = ch_tz_load(name, NULL, err, sizeof err);
    if (tz == NULL)
        fail_msg("ch_tz_load(\"%s\") failed: %s", name, err);
    return tz;
}

static uint8_t *
read_zone_bytes(const char *name, size_t *len)
{
    char path[256];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    uint8_t *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    assert_true(*len > 44);
    return buf;
}

/* A TZif file built here: types all designated "ZZZ", times fit 32 bits. */
struct spec {
    char version; /* 0, '2', '3' */
    int ntrans;
    const int64_t *trans;
    const uint8_t *idx;
    int ntypes;
    const int32_t *utoff;
    const uint8_t *isdst;
    const char *footer;
};

static uint8_t *
put_be(uint8_t *p, uint64_t v, int size)
{
    for (int i = size - 1; i >= 0; i--) {
        p[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
    return p + size;
}

static uint8_t *
put_block(uint8_t *p, const struct spec *s, int tsize)
{
    memcpy(p, "TZif", 4);
    p[4] = (uint8_t)s->version;
    memset(p + 5, 0, 15);
    p += 20;
    p = put_be(p, 0, 4);                   /* isutcnt */
    p = put_be(p, 0, 4);                   /* isstdcnt */
    p = put_be(p, 0, 4);                   /* leapcnt */
    p = put_be(p, (uint32_t)s->ntrans, 4); /* timecnt */
    p = put_be(p, (uint32_t)s->ntypes, 4); /* typecnt */
    p = put_be(p, 4, 4);                   /* charcnt */
    for (int i = 0; i < s->ntrans; i++)
        p = put_be(p, (uint64_t)s->trans[i], tsize);
    for (int i = 0; i < s->ntrans; i++)
        *p++ = s->idx[i];
    for (int i = 0; i < s->ntypes; i++) {
        p = put_be(p, (uint32_t)s->utoff[i], 4);
        *p++ = s->isdst[i];
        *p++ = 0;
    }
    memcpy(p, "ZZZ", 4);
    return p + 4;
}

static ch_tz *
build(const struct spec *s)
{
    uint8_t buf[4096];
    uint8_t *p = put_block(buf, s, 4);
    if (s->version != 0) {
        p = put_block(p, s, 8);
        size_t n = strlen(s->footer);
        *p++ = '\n';
        memcpy(p, s->footer, n);
        p += n;
        *p++ = '\n';
    }
    char err[256] = "";
    ch_tz *tz = ch_tz_parse("Test/Built", buf, (size_t)(p - buf), err, sizeof err);
    if (tz == NULL)
        fail_msg("built TZif refused: %s", err);
    return tz;
}

/* A v2 zone with no transitions: everything comes from `footer`. */
static ch_tz *
footer_zone(const char *footer)
{
    static const int32_t off0[] = {0};
    static const uint8_t dst0[] = {0};
    struct spec s = {'2', 0, NULL, NULL, 1, off0, dst0, footer};
    return build(&s);
}

/* Asserts that the offset changes from `before` to `after` exactly at `t`. */
static void
assert_change(const ch_tz *tz, int64_t t, int32_t before, int32_t after)
{
    int32_t b = ch_tz_offset_at(tz, t - 1), a = ch_tz_offset_at(tz, t);
    if (b != before || a != after)
        fail_msg("%s at %lld: offsets %d -> %d, expected %d -> %d", ch_tz_name(tz), (long long)t, b,
                 a, before, after);
}

/* London's two changes in year y: last Sundays of March and October, 01:00 UTC. */
static void
assert_london_year(const ch_tz *tz, int y)
{
    assert_change(tz, fx_utc(y, 3, last_sunday(y, 3), 1, 0, 0), 0, HOUR);
    assert_change(tz, fx_utc(y, 10, last_sunday(y, 10), 1, 0, 0), HOUR, 0);
    assert_int_equal(ch_tz_offset_at(tz, fx_utc(y, 1, 15, 12, 0, 0)), 0);
    assert_int_equal(ch_tz_offset_at(tz, fx_utc(y, 7, 15, 12, 0, 0)), HOUR);
}

/* ---- Europe/London ---- */

static void
test_london_2026_changes(void **state)
{
    (void)state;
    ch_tz *tz = load("Europe/London");
    assert_string_equal(ch_tz_name(tz), "Europe/London");
    /* 2026-03-29 and 2026-10-25, worked out by hand */
    assert_change(tz, fx_utc(2026, 3, 29, 1, 0, 0), 0, HOUR);
    assert_change(tz, fx_utc(2026, 10, 25, 1, 0, 0), HOUR, 0);
    assert_int_equal(last_sunday(2026, 3), 29);
    assert_int_equal(last_sunday(2026, 10), 25);
    ch_tz_free(tz);
}

static void
test_london_footer_years(void **state)
{
    (void)state;
    ch_tz *tz = load("Europe/London");
    static const int years[] = {2037, 2038, 2050, 2100};
    for (size_t i = 0; i < sizeof years / sizeof years[0]; i++)
        assert_london_year(tz, years[i]);
    for (int y = 2026; y <= 2400; y++)
        assert_london_year(tz, y);
    /* 2038: March 28 and October 31 (zdump agrees) */
    assert_change(tz, fx_utc(2038, 3, 28, 1, 0, 0), 0, HOUR);
    assert_change(tz, fx_utc(2038, 10, 31, 1, 0, 0), HOUR, 0);
    ch_tz_free(tz);
}

/* The footer alone (no transitions) must give what the file's table gives. */
static void
test_footer_only_zone_matches_table(void **state)
{
    (void)state;
    ch_tz *file = load("Europe/London");
    ch_tz *rule = footer_zone("GMT0BST,M3.5.0/1,M10.5.0");
    for (int64_t t = fx_utc(1996, 1, 1, 0, 0, 0); t < fx_utc(2038, 1, 1, 0, 0, 0); t += 1800)
        assert_int_equal(ch_tz_offset_at(rule, t), ch_tz_offset_at(file, t));
    for (int y = 1996; y <= 2100; y++)
        assert_london_year(rule, y);
    ch_tz_free(rule);
    ch_tz_free(file);
}

static void
test_london_repeated_hour(void **state)
{
    (void)state;
    ch_tz *tz = load("Europe/London");
    int64_t local = fx_utc(2026, 10, 25, 1, 30, 0);
    assert_int_equal(ch_tz_local_to_utc(tz, local, 0), fx_utc(2026, 10, 25, 0, 30, 0));
    assert_int_equal(ch_tz_local_to_utc(tz, local, 1), fx_utc(2026, 10, 25, 1, 30, 0));
    /* edges of the fold: 01:00 is repeated, 00:59:59 and 02:00 are not */
    local = fx_utc(2026, 10, 25, 1, 0, 0);
    assert_int_equal(ch_tz_local_to_utc(tz, local, 0), fx_utc(2026, 10, 25, 0, 0, 0));
    assert_int_equal(ch_tz_local_to_utc(tz, local, 1), fx_utc(2026, 10, 25, 1, 0, 0));
    local = fx_utc(2026, 10, 25, 0, 59, 59);
    assert_int_equal(ch_tz_local_to_utc(tz, local, 1), fx_utc(2026, 10, 24, 23, 59, 59));
    local = fx_utc(2026, 10, 25, 2, 0, 0);
    assert_int_equal(ch_tz_local_to_utc(tz, local, 0), fx_utc(2026, 10, 25, 2, 0, 0));
    /* a footer year */
    int d = last_sunday(2050, 10);
    local = fx_utc(2050, 10, d, 1, 30, 0);
    assert_int_equal(ch_tz_local_to_utc(tz, local, 0), fx_utc(2050, 10, d, 0, 30, 0));
    assert_int_equal(ch_tz_local_to_utc(tz, local, 1), fx_utc(2050, 10, d, 1, 30, 0));
    ch_tz_free(tz);
}

static void
test_london_skipped_hour(void **state)
{
    (void)state;
    ch_tz *tz = load("Europe/London");
    /* 01:30 does not exist: moved forward to 02:30 BST = 01:30 UTC */
    int64_t local = fx_utc(2026, 3, 29, 1, 30, 0);
    assert_int_equal(ch_tz_local_to_utc(tz, local, 0), fx_utc(2026, 3, 29, 1, 30, 0));
    assert_int_equal(ch_tz_local_to_utc(tz, local, 1), fx_utc(2026, 3, 29, 1, 30, 0));
    assert_int_equal(ch_tz_local_to_utc(tz, fx_utc(2026, 3, 29, 1, 0, 0), 0),
                     fx_utc(2026, 3, 29, 1, 0, 0));
    assert_int_equal(ch_tz_local_to_utc(tz, fx_utc(2026, 3, 29, 0, 59, 59), 0),
                     fx_utc(2026, 3, 29, 0, 59, 59));
    assert_int_equal(ch_tz_local_to_utc(tz, fx_utc(2026, 3, 29, 2, 0, 0), 0),
                     fx_utc(2026, 3, 29, 1, 0, 0));
    /* a footer year */
    int d = last_sunday(2077, 3);
    assert_int_equal(ch_tz_local_to_utc(tz, fx_utc(2077, 3, d, 1, 15, 0), 0),
                     fx_utc(2077, 3, d, 1, 15, 0));
    assert_int_equal(ch_tz_local_to_utc(tz, fx_utc(2077, 3, d, 2, 15, 0), 1),
                     fx_utc(2077, 3, d, 1, 15, 0));
    ch_tz_free(tz);
}

static void
test_london_day_edges(void **state)
{
    (void)state;
    ch_tz *tz = load("Europe/London");
    /* summer: local = UTC + 1 */
    assert_int_equal(ch_tz_local_to_utc(tz, fx_utc(2026, 7, 1, 0, 0, 0), 0),
                     fx_utc(2026, 6, 30, 23, 0, 0));
    assert_int_equal(ch_tz_local_to_utc(tz, fx_utc(2026, 7, 1, 23, 59, 59), 1),
                     fx_utc(2026, 7, 1, 22, 59, 59));
    assert_int_equal(ch_tz_local_to_utc(tz, fx_utc(2090, 7, 1, 0, 0, 0), 0),
                     fx_utc(2090, 6, 30, 23, 0, 0));
    /* winter: local = UTC, including the new year */
    assert_int_equal(ch_tz_local_to_utc(tz, fx_utc(2026, 1, 15, 0, 0, 0), 0),
                     fx_utc(2026, 1, 15, 0, 0, 0));
    assert_int_equal(ch_tz_local_to_utc(tz, fx_utc(2026, 12, 31, 23, 59, 59), 1),
                     fx_utc(2026, 12, 31, 23, 59, 59));
    assert_int_equal(ch_tz_local_to_utc(tz, fx_utc(2100, 1, 1, 0, 0, 0), 0),
                     fx_utc(2100, 1, 1, 0, 0, 0));
    ch_tz_free(tz);
}

/* Every local time maps back to itself, or (in the gap) to itself + 1 h. */
static void
test_london_round_trip(void **state)
{
    (void)state;
    ch_tz *tz = load("Europe/London");
    static const int years[] = {1996, 2026, 2037, 2038, 2099};
    for (size_t i = 0; i < sizeof years / sizeof years[0]; i++) {
        int y = years[i];
        int64_t gap = fx_utc(y, 3, last_sunday(y, 3), 1, 0, 0);
        for (int64_t l = fx_utc(y, 1, 1, 0, 0, 0); l < fx_utc(y + 1, 1, 1, 0, 0, 0); l += 900) {
            for (int later = 0; later <= 1; later++) {
                int64_t u = ch_tz_local_to_utc(tz, l, later);
                int64_t back = u + ch_tz_offset_at(tz, u);
                int64_t want = (l >= gap && l < gap + HOUR) ? l + HOUR : l;
                if (back != want)
                    fail_msg("%d: local %lld later=%d -> %lld -> local %lld", y, (long long)l,
                             later, (long long)u, (long long)back);
            }
        }
    }
    ch_tz_free(tz);
}

static void
test_london_1996(void **state)
{
    (void)state;
    ch_tz *tz = load("Europe/London");
    /* zdump: 1996-03-31 01:00 UTC and 1996-10-27 01:00 UTC */
    assert_change(tz, fx_utc(1996, 3, 31, 1, 0, 0), 0, HOUR);
    assert_change(tz, fx_utc(1996, 10, 27, 1, 0, 0), HOUR, 0);
    ch_tz_free(tz);
}

/* British Standard Time: +1 all year from 1968-02-18 until 1971-10-31. */
static void
test_london_british_standard_time(void **state)
{
    (void)state;
    ch_tz *tz = load("Europe/London");
    assert_change(tz, fx_utc(1968, 2, 18, 2, 0, 0), 0, HOUR);
    assert_int_equal(ch_tz_offset_at(tz, fx_utc(1969, 1, 15, 12, 0, 0)), HOUR);
    assert_int_equal(ch_tz_offset_at(tz, fx_utc(1970, 1, 1, 0, 0, 0)), HOUR);
    assert_int_equal(ch_tz_offset_at(tz, fx_utc(1971, 1, 15, 12, 0, 0)), HOUR);
    assert_change(tz, fx_utc(1971, 10, 31, 2, 0, 0), HOUR, 0);
    /* no fold in 1968's October: the offset stayed +1, only isdst changed */
    int64_t local = fx_utc(1968, 10, 27, 0, 30, 0);
    assert_int_equal(ch_tz_local_to_utc(tz, local, 0), local - HOUR);
    assert_int_equal(ch_tz_local_to_utc(tz, local, 1), local - HOUR);
    /* 1971-10-31 02:00..02:59 local happened twice */
    local = fx_utc(1971, 10, 31, 2, 30, 0);
    assert_int_equal(ch_tz_local_to_utc(tz, local, 0), fx_utc(1971, 10, 31, 1, 30, 0));
    assert_int_equal(ch_tz_local_to_utc(tz, local, 1), fx_utc(1971, 10, 31, 2, 30, 0));
    /* before the first transition (1847): local mean time, -0:01:15 */
    assert_int_equal(ch_tz_offset_at(tz, fx_utc(1800, 1, 1, 0, 0, 0)), -75);
    ch_tz_free(tz);
}

/* ---- other zones ---- */

static void
test_utc_zone(void **state)
{
    (void)state;
    static const char *names[] = {"UTC", "Etc/UTC"};
    for (size_t i = 0; i < 2; i++) {
        ch_tz *tz = load(names[i]);
        assert_string_equal(ch_tz_name(tz), names[i]);
        static const int64_t ts[] = {INT64_MIN, -1, 0, 1782000000, 4102444800LL, INT64_MAX};
        for (size_t j = 0; j < sizeof ts / sizeof ts[0]; j++) {
            assert_int_equal(ch_tz_offset_at(tz, ts[j]), 0);
            assert_int_equal(ch_tz_local_to_utc(tz, ts[j], 0), ts[j]);
        }
        ch_tz_free(tz);
    }
}

static void
test_new_york(void **state)
{
    (void)state;
    ch_tz *tz = load("America/New_York");
    static const int years[] = {2026, 2037, 2038, 2050, 2100};
    for (size_t i = 0; i < sizeof years / sizeof years[0]; i++) {
        int y = years[i];
        /* second Sunday of March 02:00 EST; first Sunday of November 02:00 EDT */
        int64_t start = fx_utc(y, 3, nth_weekday(y, 3, 2, 0), 7, 0, 0);
        int64_t end = fx_utc(y, 11, nth_weekday(y, 11, 1, 0), 6, 0, 0);
        assert_change(tz, start, -5 * HOUR, -4 * HOUR);
        assert_change(tz, end, -4 * HOUR, -5 * HOUR);
    }
    assert_int_equal(nth_weekday(2026, 3, 2, 0), 8);
    assert_int_equal(nth_weekday(2026, 11, 1, 0), 1);
    /* 2026-11-01 01:30 local: 05:30 UTC in EDT, then 06:30 UTC in EST */
    int64_t local = fx_utc(2026, 11, 1, 1, 30, 0);
    assert_int_equal(ch_tz_local_to_utc(tz, local, 0), fx_utc(2026, 11, 1, 5, 30, 0));
    assert_int_equal(ch_tz_local_to_utc(tz, local, 1), fx_utc(2026, 11, 1, 6, 30, 0));
    /* 2026-03-08 02:30 local does not exist: 03:30 EDT = 07:30 UTC */
    assert_int_equal(ch_tz_local_to_utc(tz, fx_utc(2026, 3, 8, 2, 30, 0), 0),
                     fx_utc(2026, 3, 8, 7, 30, 0));
    ch_tz_free(tz);
}

/* Footer forms beyond London's, with dates worked out here. */
static void
test_footer_forms(void **state)
{
    (void)state;
    /* southern hemisphere: DST from October to April across the new year */
    ch_tz *tz = footer_zone("AEST-10AEDT,M10.1.0,M4.1.0/3");
    int y = 2061;
    assert_change(tz, fx_utc(y, 10, nth_weekday(y, 10, 1, 0), 2, 0, 0) - 10 * HOUR, 10 * HOUR,
                  11 * HOUR);
    assert_change(tz, fx_utc(y, 4, nth_weekday(y, 4, 1, 0), 3, 0, 0) - 11 * HOUR, 11 * HOUR,
                  10 * HOUR);
    assert_int_equal(ch_tz_offset_at(tz, fx_utc(y, 1, 1, 0, 0, 0)), 11 * HOUR);
    ch_tz_free(tz);

    /* negative rule time (RFC 8536 extension): 22:00 UTC Saturday before */
    tz = footer_zone("<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
    assert_change(tz, fx_utc(2050, 3, last_sunday(2050, 3), 1, 0, 0), -2 * HOUR, -HOUR);
    assert_change(tz, fx_utc(2050, 10, last_sunday(2050, 10), 1, 0, 0), -HOUR, -2 * HOUR);
    ch_tz_free(tz);

    /* rule time past 24 h: Friday 02:00 after the fourth Thursday */
    tz = footer_zone("IST-2IDT,M3.4.4/26,M10.5.0");
    assert_change(tz, fx_utc(2050, 3, nth_weekday(2050, 3, 4, 4) + 1, 0, 0, 0), 2 * HOUR, 3 * HOUR);
    assert_change(tz, fx_utc(2050, 10, last_sunday(2050, 10), 2, 0, 0) - 3 * HOUR, 3 * HOUR,
                  2 * HOUR);
    ch_tz_free(tz);

    /* Jn ignores February 29; n counts it */
    tz = footer_zone("AAA3BBB,J60,300");
    assert_change(tz, fx_utc(2048, 3, 1, 5, 0, 0), -3 * HOUR, -2 * HOUR);
    assert_change(tz, fx_utc(2049, 3, 1, 5, 0, 0), -3 * HOUR, -2 * HOUR);
    assert_change(tz, fx_utc(2048, 10, 27, 4, 0, 0), -2 * HOUR, -3 * HOUR); /* day 300, leap */
    assert_change(tz, fx_utc(2049, 10, 28, 4, 0, 0), -2 * HOUR, -3 * HOUR);
    ch_tz_free(tz);

    /* DST all year, explicit DST offset, minutes in offsets */
    tz = footer_zone("EST5EDT,0/0,J365/25");
    for (int64_t t = fx_utc(2040, 12, 30, 0, 0, 0); t < fx_utc(2041, 1, 3, 0, 0, 0); t += 600)
        assert_int_equal(ch_tz_offset_at(tz, t), -4 * HOUR);
    ch_tz_free(tz);
    tz = footer_zone("<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45");
    assert_int_equal(ch_tz_offset_at(tz, fx_utc(2060, 1, 10, 0, 0, 0)), 13 * HOUR + 45 * 60);
    assert_int_equal(ch_tz_offset_at(tz, fx_utc(2060, 6, 10, 0, 0, 0)), 12 * HOUR + 45 * 60);
    ch_tz_free(tz);
    tz = footer_zone("<+00>0<+02>-2,M3.5.0/1,M10.5.0/3");
    assert_int_equal(ch_tz_offset_at(tz, fx_utc(2060, 6, 10, 0, 0, 0)), 2 * HOUR);
    ch_tz_free(tz);
    /* negative DST (Europe/Dublin): "summer" is standard, winter is DST */
    tz = footer_zone("IST-1GMT0,M10.5.0,M3.5.0/1");
    assert_london_year(tz, 2066);
    ch_tz_free(tz);
}

/* A version 1 file (32-bit times, no footer) and a version 3 one. */
static void
test_versions(void **state)
{
    (void)state;
    static const int64_t trans[] = {-100000, 0, 1000000};
    static const uint8_t idx[] = {1, 2, 1};
    static const int32_t utoff[] = {-75, 3600, 7200};
    static const uint8_t isdst[] = {0, 0, 1};
    struct spec s = {0, 3, trans, idx, 3, utoff, isdst, ""};
    ch_tz *tz = build(&s);
    assert_int_equal(ch_tz_offset_at(tz, -100001), -75);
    assert_int_equal(ch_tz_offset_at(tz, -100000), 3600);
    assert_int_equal(ch_tz_offset_at(tz, 999999), 7200);
    assert_int_equal(ch_tz_offset_at(tz, 1000000), 3600);
    assert_int_equal(ch_tz_offset_at(tz, INT64_MAX), 3600); /* last type, no footer */
    assert_int_equal(ch_tz_offset_at(tz, INT64_MIN), -75);  /* type 0 before the first */
    ch_tz_free(tz);

    s.version = '3';
    s.footer = "<+01>-1<+02>,0/0,J365/25";
    tz = build(&s);
    assert_int_equal(ch_tz_offset_at(tz, 999999), 7200);
    assert_int_equal(ch_tz_offset_at(tz, fx_utc(2030, 6, 1, 0, 0, 0)), 7200);
    ch_tz_free(tz);
}

/* ---- glibc agreement ---- */

/*
 * Samples every 6 h from `from` to `to` and pins down each change glibc sees
 * to the second, comparing ch_tz's offset with glibc's each time. Returns the
 * number of instants compared.
 */
static long
compare_with_glibc(const ch_tz *tz, const char *tzenv, int64_t from, int64_t to)
{
    glibc_zone(tzenv);
    long n = 0;
    long prev = glibc_offset(from);
    for (int64_t t = from; t < to; t += 6 * HOUR) {
        long g = glibc_offset(t);
        if (ch_tz_offset_at(tz, t) != g)
            fail_msg("%s at %lld: ch_tz %d, glibc %ld", tzenv, (long long)t, ch_tz_offset_at(tz, t),
                     g);
        n++;
        if (g != prev) {
            int64_t lo = t - 6 * HOUR, hi = t; /* glibc: prev at lo, g at hi */
            while (hi - lo > 1) {
                int64_t mid = lo + (hi - lo) / 2;
                if (glibc_offset(mid) == prev)
                    lo = mid;
                else
                    hi = mid;
            }
            if (ch_tz_offset_at(tz, lo) != prev || ch_tz_offset_at(tz, hi) != glibc_offset(hi))
                fail_msg("%s change at %lld: ch_tz %d -> %d, glibc %ld -> %ld", tzenv,
                         (long long)hi, ch_tz_offset_at(tz, lo), ch_tz_offset_at(tz, hi), prev,
                         glibc_offset(hi));
            n += 2;
        }
        prev = g;
    }
    glibc_zone(NULL);
    return n;
}

static void
test_london_agrees_with_glibc(void **state)
{
    (void)state;
    ch_tz *tz = load("Europe/London");
    long n = compare_with_glibc(tz, "Europe/London", fx_utc(1970, 1, 1, 0, 0, 0),
                                fx_utc(2038, 1, 1, 0, 0, 0));
    assert_true(n > 4000);
    n = compare_with_glibc(tz, "Europe/London", fx_utc(2038, 1, 1, 0, 0, 0),
                           fx_utc(2101, 1, 1, 0, 0, 0));
    assert_true(n > 4000);
    ch_tz_free(tz);
}

static void
test_zones_agree_with_glibc(void **state)
{
    (void)state;
    static const char *zones[] = {"America/New_York", "Australia/Sydney", "Europe/Dublin",
                                  "America/Nuuk",     "Asia/Jerusalem",   "Africa/Casablanca",
                                  "Pacific/Chatham",  "America/St_Johns", "Asia/Kolkata",
                                  "Antarctica/Troll", "Europe/Moscow",    "America/Sao_Paulo"};
    for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
        ch_tz *tz = load(zones[i]);
        long n = compare_with_glibc(tz, zones[i], fx_utc(1970, 1, 1, 0, 0, 0),
                                    fx_utc(2101, 1, 1, 0, 0, 0));
        assert_true(n > 190000);
        ch_tz_free(tz);
    }
}

/* ---- errors and hostile input ---- */

static void
assert_load_fails(const char *name, const char *dir, const char *needle)
{
    char err[256] = "";
    ch_tz *tz = ch_tz_load(name, dir, err, sizeof err);
    if (tz != NULL)
        fail_msg("ch_tz_load(\"%s\") succeeded, expected an error", name ? name : "(null)");
    if (strstr(err, needle) == NULL)
        fail_msg("ch_tz_load(\"%s\") error \"%s\" lacks \"%s\"", name ? name : "(null)", err,
                 needle);
}

static void
test_load_errors(void **state)
{
    (void)state;
    assert_load_fails("Europe/Atlantis", NULL, "Europe/Atlantis: unknown time zone");
    assert_load_fails("../etc/passwd", NULL, "../etc/passwd: refusing");
    assert_load_fails("Europe/../../../etc/passwd", NULL, "refusing");
    assert_load_fails("/etc/passwd", NULL, "/etc/passwd: refusing");
    assert_load_fails("Europe/Lon don", NULL, "Europe/Lon don: time zone names hold only");
    assert_load_fails("Europe\n", NULL, "Europe?: time zone names hold only");
    assert_load_fails("", NULL, "empty");
    assert_load_fails(NULL, NULL, "empty");
    assert_load_fails("Europe", NULL, "Europe: /usr/share/zoneinfo/Europe is not a zone file");
    assert_load_fails("passwd", "/etc", "passwd: not TZif data");
    assert_load_fails("Europe/London", "/nonexistent", "Europe/London: unknown time zone");
    /* a NULL or empty errstr is allowed */
    assert_null(ch_tz_load("Europe/Atlantis", NULL, NULL, 0));
    /* another directory works */
    char err[256] = "";
    ch_tz *tz = ch_tz_load("London", "/usr/share/zoneinfo/Europe", err, sizeof err);
    assert_non_null(tz);
    assert_int_equal(ch_tz_offset_at(tz, fx_utc(2026, 7, 1, 0, 0, 0)), HOUR);
    ch_tz_free(tz);
}

static void
assert_parse_fails(const uint8_t *data, size_t len, const char *needle)
{
    char err[256] = "";
    ch_tz *tz = ch_tz_parse("Europe/London", data, len, err, sizeof err);
    if (tz != NULL)
        fail_msg("parse of %zu bytes succeeded, expected \"%s\"", len, needle);
    if (strncmp(err, "Europe/London: ", 15) != 0 || strstr(err, needle) == NULL)
        fail_msg("parse error \"%s\" lacks the zone or \"%s\"", err, needle);
}

static void
test_parse_garbage(void **state)
{
    (void)state;
    assert_parse_fails(NULL, 0, "truncated TZif data (header)");
    assert_parse_fails((const uint8_t *)"", 0, "truncated TZif data (header)");
    uint8_t junk[64];
    memset(junk, 'x', sizeof junk);
    assert_parse_fails(junk, sizeof junk, "not TZif data");

    size_t len;
    uint8_t *london = read_zone_bytes("Europe/London", &len);
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    /* huge counts in the first header */
    memcpy(copy, london, len);
    memset(copy + 32, 0xff, 4);
    assert_parse_fails(copy, len, "truncated TZif data (version 1 data block)");
    memcpy(copy, london, len);
    copy[4] = '9';
    assert_parse_fails(copy, len, "unsupported TZif version");
    /* the second header must be version 2 or later */
    uint32_t c[6];
    for (int i = 0; i < 6; i++)
        c[i] = (uint32_t)london[20 + 4 * i] << 24 | (uint32_t)london[21 + 4 * i] << 16 |
               (uint32_t)london[22 + 4 * i] << 8 | london[23 + 4 * i];
    size_t second = 44 + c[3] * 5 + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0];
    assert_memory_equal(london + second, "TZif2", 5);
    memcpy(copy, london, len);
    copy[second + 4] = 0;
    assert_parse_fails(copy, len, "second TZif header has version 1");
    /* footer not a TZ string */
    memcpy(copy, london, len);
    memcpy(copy + len - 25, "GMT0BST,M3.5.0/1,M13.5.0\n", 25);
    assert_parse_fails(copy, len, "footer \"GMT0BST,M3.5.0/1,M13.5.0\"");
    memcpy(copy, london, len);
    copy[len - 1] = 'x';
    assert_parse_fails(copy, len, "truncated TZif data (footer)");
    free(copy);
    free(london);

    /* a transition naming a type that does not exist */
    static const int64_t trans[] = {0};
    static const uint8_t bad_idx[] = {5};
    static const int32_t utoff[] = {0};
    static const uint8_t isdst[] = {0};
    uint8_t buf[256];
    struct spec s = {'2', 1, trans, bad_idx, 1, utoff, isdst, ""};
    uint8_t *p = put_block(buf, &s, 4);
    p = put_block(p, &s, 8);
    *p++ = '\n';
    *p++ = '\n';
    assert_parse_fails(buf, (size_t)(p - buf), "transition 0 uses local time type 5 of 1");
}

/* Every proper prefix of a real file fails cleanly and names the zone. */
static void
test_parse_truncated(void **state)
{
    (void)state;
    static const char *zones[] = {"Europe/London", "UTC", "America/New_York"};
    for (size_t z = 0; z < 3; z++) {
        size_t len;
        uint8_t *data = read_zone_bytes(zones[z], &len);
        for (size_t n = 0; n < len; n++) {
            uint8_t *prefix = malloc(n ? n : 1); /* exact size: ASan sees any over-read */
            assert_non_null(prefix);
            memcpy(prefix, data, n);
            char err[256] = "";
            ch_tz *tz = ch_tz_parse(zones[z], prefix, n, err, sizeof err);
            if (tz != NULL)
                fail_msg("%s: prefix of %zu/%zu bytes parsed", zones[z], n, len);
            if (strncmp(err, zones[z], strlen(zones[z])) != 0 || strstr(err, ": ") == NULL)
                fail_msg("%s: prefix %zu: error \"%s\" does not name the zone", zones[z], n, err);
            free(prefix);
        }
        char err[256] = "";
        ch_tz *tz = ch_tz_parse(zones[z], data, len, err, sizeof err);
        assert_non_null(tz);
        ch_tz_free(tz);
        free(data);
    }
}

/* Single-byte corruptions either fail with the zone named or give a usable zone. */
static void
test_parse_corrupted(void **state)
{
    (void)state;
    size_t len;
    uint8_t *data = read_zone_bytes("Europe/London", &len);
    static const uint8_t values[] = {0x00, 0x01, 0x7f, 0x80, 0xff, '\n', '-', '9'};
    int failed = 0, parsed = 0;
    for (size_t i = 0; i < len; i++) {
        for (size_t v = 0; v < sizeof values; v++) {
            uint8_t *copy = malloc(len);
            assert_non_null(copy);
            memcpy(copy, data, len);
            copy[i] = values[v];
            char err[256] = "";
            ch_tz *tz = ch_tz_parse("Europe/London", copy, len, err, sizeof err);
            if (tz == NULL) {
                if (strncmp(err, "Europe/London: ", 15) != 0)
                    fail_msg("byte %zu = 0x%02x: error \"%s\"", i, values[v], err);
                failed++;
            } else {
                for (int64_t t = -4000000000LL; t < 8000000000LL; t += 500000000)
                    (void)ch_tz_local_to_utc(tz, t + ch_tz_offset_at(tz, t), (int)(t & 1));
                ch_tz_free(tz);
                parsed++;
            }
            free(copy);
        }
    }
    assert_true(failed > 0);
    assert_true(parsed > 0);
    free(data);
}

/* Extreme instants neither overflow nor hang. */
static void
test_extreme_instants(void **state)
{
    (void)state;
    ch_tz *tz = load("Europe/London");
    static const int64_t ts[] = {INT64_MIN, INT64_MIN + 1, -1, INT64_MAX - 1, INT64_MAX};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        int32_t off = ch_tz_offset_at(tz, ts[i]);
        assert_true(off == -75 || off == 0 || off == HOUR);
        (void)ch_tz_local_to_utc(tz, ts[i], 0);
        (void)ch_tz_local_to_utc(tz, ts[i], 1);
    }
    /* the footer holds 400 years on */
    int64_t cycle = (int64_t)146097 * DAY;
    int64_t t = fx_utc(2026, 7, 1, 0, 0, 0) + cycle * 1000000;
    assert_int_equal(ch_tz_offset_at(tz, t), HOUR);
    assert_int_equal(ch_tz_offset_at(tz, t + 183 * DAY), 0);
    ch_tz_free(tz);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_london_2026_changes),
        cmocka_unit_test(test_london_footer_years),
        cmocka_unit_test(test_footer_only_zone_matches_table),
        cmocka_unit_test(test_london_repeated_hour),
        cmocka_unit_test(test_london_skipped_hour),
        cmocka_unit_test(test_london_day_edges),
        cmocka_unit_test(test_london_round_trip),
        cmocka_unit_test(test_london_1996),
        cmocka_unit_test(test_london_british_standard_time),
        cmocka_unit_test(test_utc_zone),
        cmocka_unit_test(test_new_york),
        cmocka_unit_test(test_footer_forms),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_london_agrees_with_glibc),
        cmocka_unit_test(test_zones_agree_with_glibc),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_parse_garbage),
        cmocka_unit_test(test_parse_truncated),
        cmocka_unit_test(test_parse_corrupted),
        cmocka_unit_test(test_extreme_instants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
