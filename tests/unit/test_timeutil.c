/*
 * ch_time_parse_rfc3339() reads timestamps that outside clients send, so the
 * tests check the instants it yields against timegm() (an independent
 * calendar) and check that each malformed field is refused rather than
 * normalised into some other instant.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "charter/errors.h"
#include "charter/timeutil.h"
#include "support/instant.h"

static int64_t
parse_ok(const char *s)
{
    int64_t ms = -12345;
    int rc = ch_time_parse_rfc3339(s, &ms);
    if (rc != 0)
        fail_msg("ch_time_parse_rfc3339(\"%s\") returned %d, expected 0", s, rc);
    return ms;
}

static void
assert_rejected(const char *s)
{
    int64_t ms = -12345;
    int rc = ch_time_parse_rfc3339(s, &ms);
    if (rc != CH_EINVAL)
        fail_msg("ch_time_parse_rfc3339(\"%s\") returned %d, expected CH_EINVAL", s, rc);
    if (ms != -12345)
        fail_msg("ch_time_parse_rfc3339(\"%s\") wrote *ms on failure", s);
}

static void
test_parse_utc_z(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2026-11-23T09:15:00Z"), 1795425300LL * 1000);
    assert_int_equal(parse_ok("2026-11-23T09:15:00Z"), fx_utc_ms(2026, 11, 23, 9, 15, 0));
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse_ok("1999-12-31T23:59:59Z"), 946684799LL * 1000);
}

static void
test_parse_lowercase_t_z_and_space(void **state)
{
    (void)state;
    int64_t want = fx_utc_ms(2026, 11, 23, 9, 15, 0);
    assert_int_equal(parse_ok("2026-11-23t09:15:00z"), want);
    assert_int_equal(parse_ok("2026-11-23 09:15:00Z"), want);
}

static void
test_parse_positive_offset(void **state)
{
    (void)state;
    /* 10:15 at +01:00 is 09:15 UTC */
    assert_int_equal(parse_ok("2026-11-23T10:15:00+01:00"), fx_utc_ms(2026, 11, 23, 9, 15, 0));
    /* crossing midnight backwards into the previous day */
    assert_int_equal(parse_ok("2026-11-23T00:30:00+01:00"), fx_utc_ms(2026, 11, 22, 23, 30, 0));
}

static void
test_parse_negative_offset(void **state)
{
    (void)state;
    /* 03:45 at -05:30 is 09:15 UTC */
    assert_int_equal(parse_ok("2026-11-23T03:45:00-05:30"), fx_utc_ms(2026, 11, 23, 9, 15, 0));
    /* crossing midnight forwards, and the year with it */
    assert_int_equal(parse_ok("2026-12-31T20:00:00-05:30"), fx_utc_ms(2027, 1, 1, 1, 30, 0));
    assert_int_equal(parse_ok("2026-11-23T09:15:00-00:00"), fx_utc_ms(2026, 11, 23, 9, 15, 0));
}

static void
test_parse_fractional_seconds(void **state)
{
    (void)state;
    int64_t base = fx_utc_ms(2026, 11, 23, 9, 15, 0);
    assert_int_equal(parse_ok("2026-11-23T09:15:00.250Z"), base + 250);
    assert_int_equal(parse_ok("2026-11-23T09:15:00.5Z"), base + 500);
    assert_int_equal(parse_ok("2026-11-23T09:15:00.05Z"), base + 50);
    assert_int_equal(parse_ok("2026-11-23T09:15:00.123456Z"), base + 123);
    assert_int_equal(parse_ok("2026-11-23T09:15:00.999999999Z"), base + 999);
    assert_int_equal(parse_ok("2026-11-23T09:15:00.000Z"), base);
    /* fraction and offset together: 10:15:00.250+01:00 is 09:15:00.250Z */
    assert_int_equal(parse_ok("2026-11-23T10:15:00.250+01:00"), base + 250);
}

static void
test_parse_leap_years(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2028-02-29T12:00:00Z"), 1835438400LL * 1000);
    assert_int_equal(parse_ok("2000-02-29T00:00:00Z"), fx_utc_ms(2000, 2, 29, 0, 0, 0));
    /* the day after 28 Feb 2026 is 1 Mar: no 29th in a common year */
    assert_rejected("2026-02-29T12:00:00Z");
    /* 2100 is divisible by 4 but not a leap year */
    assert_rejected("2100-02-29T00:00:00Z");
    assert_rejected("2028-02-30T12:00:00Z");
}

static void
test_parse_month_lengths(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2026-04-30T00:00:00Z"), fx_utc_ms(2026, 4, 30, 0, 0, 0));
    assert_rejected("2026-04-31T00:00:00Z");
    assert_int_equal(parse_ok("2026-12-31T23:59:59Z"), fx_utc_ms(2026, 12, 31, 23, 59, 59));
    assert_rejected("2026-12-32T00:00:00Z");
}

static void
test_parse_rejects_missing_offset(void **state)
{
    (void)state;
    assert_rejected("2026-11-23T09:15:00");
    assert_rejected("2026-11-23T09:15:00.250");
    assert_rejected("2026-11-23");
}

static void
test_parse_rejects_bad_fields(void **state)
{
    (void)state;
    assert_rejected("2026-00-23T09:15:00Z"); /* month 0 */
    assert_rejected("2026-13-23T09:15:00Z"); /* month 13 */
    assert_rejected("2026-11-00T09:15:00Z"); /* day 0 */
    assert_rejected("2026-11-23T24:00:00Z"); /* hour 24 */
    assert_rejected("2026-11-23T25:15:00Z");
    assert_rejected("2026-11-23T09:60:00Z"); /* minute 60 */
    assert_rejected("2026-11-23T09:15:61Z"); /* second 61 */
    assert_rejected("2026-11-23T09:15:00+24:00");
    assert_rejected("2026-11-23T09:15:00+01:60");
    assert_rejected("2026-11-23T09:15:00+0100"); /* offset needs a colon */
    assert_rejected("2026-11-23T09:15:00+1:00");
    assert_rejected("2026-11-23T09:15:00.Z"); /* '.' with no digits */
    assert_rejected("26-11-23T09:15:00Z");
    assert_rejected("2026-1-23T09:15:00Z");
    assert_rejected("2026/11/23T09:15:00Z");
    assert_rejected("2026-11-23X09:15:00Z");
    assert_rejected("2026-11-23T9:15:00Z");
    assert_rejected("2026-11-23T09:15Z");
    assert_rejected("");
    assert_rejected("yesterday");
}

static void
test_parse_rejects_trailing_garbage(void **state)
{
    (void)state;
    assert_rejected("2026-11-23T09:15:00Zjunk");
    assert_rejected("2026-11-23T09:15:00Z ");
    assert_rejected("2026-11-23T09:15:00+01:00:00");
    assert_rejected("2026-11-23T09:15:00.250Z0");
    assert_rejected(" 2026-11-23T09:15:00Z");
}

static void
test_parse_rejects_null(void **state)
{
    (void)state;
    assert_rejected(NULL);
}

static void
test_format_known_values(void **state)
{
    (void)state;
    char buf[CH_TIME_BUFSZ];
    assert_string_equal(ch_time_format_utc(1795425300LL * 1000, buf, sizeof(buf)),
                        "2026-11-23T09:15:00.000Z");
    assert_string_equal(ch_time_format_utc(1795425300LL * 1000 + 250, buf, sizeof(buf)),
                        "2026-11-23T09:15:00.250Z");
    assert_string_equal(ch_time_format_utc(0, buf, sizeof(buf)), "1970-01-01T00:00:00.000Z");
    assert_string_equal(ch_time_format_utc(946684799LL * 1000 + 999, buf, sizeof(buf)),
                        "1999-12-31T23:59:59.999Z");
    assert_string_equal(ch_time_format_utc(1835438400LL * 1000 + 7, buf, sizeof(buf)),
                        "2028-02-29T12:00:00.007Z");
}

static void
test_format_returns_buf(void **state)
{
    (void)state;
    char buf[CH_TIME_BUFSZ];
    assert_ptr_equal(ch_time_format_utc(0, buf, sizeof(buf)), buf);
}

static void
test_format_parse_round_trip(void **state)
{
    (void)state;
    const int64_t values[] = {
        0,
        1,
        999,
        1000,
        86399999,                   /* 1970-01-01T23:59:59.999 */
        123456789012,               /* 1973 */
        946684799LL * 1000 + 999,   /* last ms of 1999 */
        946684800LL * 1000,         /* first ms of 2000 */
        951782400LL * 1000 + 1,     /* 2000-02-29 */
        1795425300LL * 1000 + 250,  /* the documented example */
        1835438400LL * 1000 + 999,  /* 2028-02-29 */
        4102444799LL * 1000 + 500,  /* 2099-12-31T23:59:59.500 */
        253402300799LL * 1000 + 42, /* 9999-12-31T23:59:59.042 */
    };
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char buf[CH_TIME_BUFSZ];
        ch_time_format_utc(values[i], buf, sizeof(buf));
        int64_t back = -1;
        if (ch_time_parse_rfc3339(buf, &back) != 0)
            fail_msg("formatted %lld as \"%s\", which does not parse", (long long)values[i], buf);
        if (back != values[i])
            fail_msg("%lld -> \"%s\" -> %lld", (long long)values[i], buf, (long long)back);
    }
}

static void
test_parse_format_round_trip_normalises_offset(void **state)
{
    (void)state;
    char buf[CH_TIME_BUFSZ];
    int64_t ms = parse_ok("2026-11-23T03:45:00.120-05:30");
    assert_string_equal(ch_time_format_utc(ms, buf, sizeof(buf)), "2026-11-23T09:15:00.120Z");
}

static void
test_now_is_plausible(void **state)
{
    (void)state;
    int64_t before = (int64_t)time(NULL) * 1000;
    int64_t now = ch_time_now_ms();
    int64_t after = (int64_t)time(NULL) * 1000 + 1000;
    assert_in_range(now, before, after);
}

/* A leap second is held at the last millisecond of :59, so it sorts after
 * every earlier instant of that second. */
static void
test_parse_leap_second(void **state)
{
    (void)state;
    int64_t leap = parse_ok("2016-12-31T23:59:60Z");
    assert_int_equal(leap, fx_utc_ms(2016, 12, 31, 23, 59, 59) + 999);
    assert_true(leap > parse_ok("2016-12-31T23:59:59.500Z"));
}

/* Splitting keeps nanos in 0..999,999,999 on both sides of the epoch. */
static void
test_split_ms(void **state)
{
    (void)state;
    int64_t s;
    int32_t n;
    ch_time_split_ms(1795425300250, &s, &n);
    assert_int_equal(s, 1795425300);
    assert_int_equal(n, 250000000);
    ch_time_split_ms(-3599750, &s, &n);
    assert_int_equal(s, -3600);
    assert_int_equal(n, 250000000);
    ch_time_split_ms(-1000, &s, &n);
    assert_int_equal(s, -1);
    assert_int_equal(n, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_leap_second),
        cmocka_unit_test(test_split_ms),
        cmocka_unit_test(test_parse_utc_z),
        cmocka_unit_test(test_parse_lowercase_t_z_and_space),
        cmocka_unit_test(test_parse_positive_offset),
        cmocka_unit_test(test_parse_negative_offset),
        cmocka_unit_test(test_parse_fractional_seconds),
        cmocka_unit_test(test_parse_leap_years),
        cmocka_unit_test(test_parse_month_lengths),
        cmocka_unit_test(test_parse_rejects_missing_offset),
        cmocka_unit_test(test_parse_rejects_bad_fields),
        cmocka_unit_test(test_parse_rejects_trailing_garbage),
        cmocka_unit_test(test_parse_rejects_null),
        cmocka_unit_test(test_format_known_values),
        cmocka_unit_test(test_format_returns_buf),
        cmocka_unit_test(test_format_parse_round_trip),
        cmocka_unit_test(test_parse_format_round_trip_normalises_offset),
        cmocka_unit_test(test_now_is_plausible),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
