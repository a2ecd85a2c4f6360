/*
 * The report key codec: figure fields and open members written and read back
 * unchanged, the tail kept whole, every malformed key refused the same way
 * (too few parts, a part longer than its field), a key too long for its
 * buffer reported; periods' lengths, granularities and shapes; the periods
 * index's members and when a period's figures expire.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "charter/errors.h"
#include "charter/report_keys.h"

static void
test_round_trip(void **state)
{
    (void)state;
    static const char *const parts[][4] = {
        {"2026-11", "letter", "enquiry", "answered_in_time"},  /* a figure field */
        {"2026-11-03", "email", "complaint_stage_1", "DH-17"}, /* an open member */
        {"2026", "online_form", "service_request", "ttr.working_days.12"},
        {"2026-11-03", "unspecified", "enquiry", "case|with|bars"}, /* the tail is the rest */
        {"", "", "", ""},
    };
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        char buf[128];
        assert_int_equal(ch_report_key_format(buf, sizeof(buf), parts[i][0], parts[i][1],
                                              parts[i][2], parts[i][3]),
                         0);
        ch_report_key k;
        assert_int_equal(ch_report_key_parse(buf, &k), 0);
        assert_string_equal(k.period, parts[i][0]);
        assert_string_equal(k.channel, parts[i][1]);
        assert_string_equal(k.type, parts[i][2]);
        assert_string_equal(k.tail, parts[i][3]);
        assert_ptr_equal(k.tail, buf + strlen(buf) - strlen(parts[i][3]));
        ch_report_key_span s;
        assert_int_equal(ch_report_key_split(buf, &s), 0);
        assert_int_equal(s.period_len, strlen(parts[i][0]));
        assert_int_equal(s.channel_len, strlen(parts[i][1]));
        assert_int_equal(s.type_len, strlen(parts[i][2]));
        assert_memory_equal(s.channel, parts[i][1], s.channel_len);
        assert_ptr_equal(s.tail, k.tail);
    }
    char prefix[64];
    assert_int_equal(ch_report_key_prefix(prefix, sizeof(prefix), "2026-11", "sms", "enquiry"), 0);
    assert_string_equal(prefix, "2026-11|sms|enquiry|");
}

static void
test_malformed_refused(void **state)
{
    (void)state;
    ch_report_key k;
    ch_report_key_span s;
    static const char *const bad[] = {
        "",
        "2026-11",
        "2026-11|letter",
        "2026-11|letter|enquiry", /* no tail separator */
        /* a period of 16, a channel of 32, a type of 40 characters */
        "2026-11-03T09:00|letter|enquiry|c1",
        "2026-11|abcdefghijklmnopqrstuvwxyz012345|enquiry|c1",
        "2026-11|letter|abcdefghijklmnopqrstuvwxyz0123456789abcd|c1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ch_report_key_parse(bad[i], &k), CH_EINVAL);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(ch_report_key_split(bad[i], &s), CH_EINVAL);
    /* the longest parts that fit are read; split has no length limits */
    assert_int_equal(ch_report_key_parse("2026-11-03T09:0|abcdefghijklmnopqrstuvwxyz01234|"
                                         "abcdefghijklmnopqrstuvwxyz0123456789abc|c1",
                                         &k),
                     0);
    assert_int_equal(strlen(k.period), CH_REPORT_KEY_PERIOD_MAX - 1);
    assert_int_equal(strlen(k.channel), CH_REPORT_KEY_CHANNEL_MAX - 1);
    assert_int_equal(strlen(k.type), CH_REPORT_KEY_TYPE_MAX - 1);
    assert_int_equal(ch_report_key_split(bad[4], &s), 0);
    assert_int_equal(s.period_len, 16);
}

static void
test_format_too_long(void **state)
{
    (void)state;
    char buf[16];
    assert_int_equal(ch_report_key_format(buf, sizeof(buf), "2026-11", "letter", "enquiry", "x"),
                     CH_EINVAL);
    assert_int_equal(strlen(buf), sizeof(buf) - 1); /* cut, as snprintf leaves it */
    assert_int_equal(ch_report_key_format(buf, sizeof(buf), "2026", "sms", "foi", "x"), 0);
    assert_string_equal(buf, "2026|sms|foi|x");
}

static void
test_periods(void **state)
{
    (void)state;
    assert_int_equal(ch_report_period_len(CH_REPORT_DAY), 10);
    assert_int_equal(ch_report_period_len(CH_REPORT_MONTH), 7);
    assert_int_equal(ch_report_period_len(CH_REPORT_YEAR), 4);
    assert_int_equal(ch_report_period_len((ch_report_granularity)7), 0);
    assert_int_equal(ch_report_granularity_of("2026"), CH_REPORT_YEAR);
    assert_int_equal(ch_report_granularity_of("2026-11"), CH_REPORT_MONTH);
    assert_int_equal(ch_report_granularity_of("2026-11-23"), CH_REPORT_DAY);
    assert_true(ch_report_period_shaped("2026-11-23", CH_REPORT_DAY));
    assert_true(ch_report_period_shaped("2026-11", CH_REPORT_MONTH));
    assert_true(ch_report_period_shaped("2026-13", CH_REPORT_MONTH)); /* shape only */
    assert_true(ch_report_period_shaped("2026", CH_REPORT_YEAR));
    assert_false(ch_report_period_shaped("2026-11", CH_REPORT_DAY));
    assert_false(ch_report_period_shaped("2026-1x", CH_REPORT_MONTH));
    assert_false(ch_report_period_shaped("2026/11", CH_REPORT_MONTH));
    assert_false(ch_report_period_shaped("", CH_REPORT_YEAR));
    assert_false(ch_report_period_shaped("2026", (ch_report_granularity)3));
}

static void
test_period_members(void **state)
{
    (void)state;
    char buf[16];
    assert_int_equal(ch_report_period_member(buf, sizeof(buf), "2026-11-23"), 0);
    assert_string_equal(buf, "d:2026-11-23");
    assert_int_equal(ch_report_period_member(buf, sizeof(buf), "2026-11"), 0);
    assert_string_equal(buf, "m:2026-11");
    assert_int_equal(ch_report_period_member(buf, sizeof(buf), "2026"), 0);
    assert_string_equal(buf, "y:2026");
    assert_int_equal(ch_report_period_member(buf, sizeof(buf), "2026-1x"), CH_EINVAL);
    assert_int_equal(ch_report_period_member(buf, sizeof(buf), ""), CH_EINVAL);
    assert_int_equal(ch_report_period_member(buf, 8, "2026-11-23"), CH_EINVAL);
    /* one granularity is one lexical range: "m:" members sort between "d:" and "y:" */
    assert_true(strcmp("d:2026-12-31", "m:2000-01") < 0 && strcmp("m:2099-12", "y:1995") < 0);
    assert_int_equal(ch_report_granularity_letter(CH_REPORT_MONTH), 'm');
    assert_int_equal(ch_report_granularity_letter((ch_report_granularity)5), 0);
}

/* s since the epoch of midnight UTC starting y-m-d */
static int64_t
utc(int y, int m, int d)
{
    static const int before[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    int64_t days = 0;
    for (int yy = 1970; yy < y; yy++)
        days += 365 + ((yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0);
    days += before[m - 1] + (m > 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) + d - 1;
    return days * 86400;
}

static void
test_period_expiry(void **state)
{
    (void)state;
    int64_t at = 0;
    /* a month: the day after it ends, plus the months, plus a day of slack */
    assert_int_equal(ch_report_period_expiry("2026-11", 36, &at), 0);
    assert_int_equal(at, utc(2029, 12, 2));
    assert_int_equal(ch_report_period_expiry("2026-12", 1, &at), 0);
    assert_int_equal(at, utc(2027, 2, 2));
    /* a day: the next day, plus the months (clamped to a shorter month), plus a day */
    assert_int_equal(ch_report_period_expiry("2026-11-02", 36, &at), 0);
    assert_int_equal(at, utc(2029, 11, 4));
    assert_int_equal(ch_report_period_expiry("2026-12-30", 2, &at), 0);
    assert_int_equal(at, utc(2027, 3, 1)); /* 31 Dec + 2 months = 28 Feb, + 1 day */
    assert_int_equal(ch_report_period_expiry("2028-02-28", 12, &at), 0);
    assert_int_equal(at, utc(2029, 3, 1)); /* 29 Feb 2028 -> 28 Feb 2029, + 1 */
    assert_int_equal(ch_report_period_expiry("2026-12-31", 1, &at), 0);
    assert_int_equal(at, utc(2027, 2, 2));
    /* a year */
    assert_int_equal(ch_report_period_expiry("2026", 36, &at), 0);
    assert_int_equal(at, utc(2030, 1, 2));
    /* refused: impossible dates, other shapes, no retention */
    assert_int_equal(ch_report_period_expiry("2026-13", 36, &at), CH_EINVAL);
    assert_int_equal(ch_report_period_expiry("2026-02-29", 36, &at), CH_EINVAL);
    assert_int_equal(ch_report_period_expiry("2026-11-00", 36, &at), CH_EINVAL);
    assert_int_equal(ch_report_period_expiry("0000", 36, &at), CH_EINVAL);
    assert_int_equal(ch_report_period_expiry("2026-Q1", 36, &at), CH_EINVAL);
    assert_int_equal(ch_report_period_expiry("2026-11", 0, &at), CH_EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),      cmocka_unit_test(test_malformed_refused),
        cmocka_unit_test(test_format_too_long), cmocka_unit_test(test_periods),
        cmocka_unit_test(test_period_members),  cmocka_unit_test(test_period_expiry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
