/*
 * reporting's period logic (periods.h), without Redis: a record's deltas go
 * to the hashes of their own periods, expired periods and keys without a
 * valid period get no hash; the oldest period kept under a retention; the
 * periods between two bounds (a publication's months).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "charter/errors.h"
#include "periods.h"

#define DAY_S 86400

/* s since the epoch of midnight UTC starting y-m-d (y >= 2000) */
static int64_t
utc(int y, int m, int d)
{
    static const int before[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    int64_t days = 10957; /* 2000-01-01 */
    for (int yy = 2000; yy < y; yy++)
        days += 365 + (yy % 4 == 0);
    days += before[m - 1] + (m > 2 && y % 4 == 0) + d - 1;
    return days * DAY_S;
}

static void
test_group_by_period(void **state)
{
    (void)state;
    static const ch_report_item d[] = {
        {"2026-11-02|letter|enquiry|received", 1},
        {"2026-11|letter|enquiry|received", 1},
        {"2026|letter|enquiry|received", 1},
        {"2026-11-02|letter|enquiry|open", 1},
        {"2026-11|letter|enquiry|open", 1},
        {"2026|letter|enquiry|open", 1},
        {"2027-03-01|letter|enquiry|reviews_overdue", 1}, /* a review falls due later */
        {"no bars at all", 1},
        {"2026-13|letter|enquiry|received", 1}, /* no such month */
        {"2023-01|letter|enquiry|received", 1}, /* expired by 2026-12-05 under 36 months */
    };
    size_t n = sizeof(d) / sizeof(d[0]), of[sizeof(d) / sizeof(d[0])];
    report_bucket b[8];
    int64_t now = utc(2026, 12, 5);
    int nb = report_group_by_period(d, n, 36, now, b, 8, of);
    assert_int_equal(nb, 4);
    assert_string_equal(b[0].period, "2026-11-02");
    assert_string_equal(b[0].member, "d:2026-11-02");
    assert_int_equal(b[0].n, 2);
    assert_int_equal(b[0].expire_at_s, utc(2029, 11, 4));
    assert_string_equal(b[1].period, "2026-11");
    assert_string_equal(b[1].member, "m:2026-11");
    assert_int_equal(b[1].expire_at_s, utc(2029, 12, 2));
    assert_string_equal(b[2].member, "y:2026");
    assert_int_equal(b[2].expire_at_s, utc(2030, 1, 2));
    assert_string_equal(b[3].period, "2027-03-01");
    assert_int_equal(b[3].n, 1);
    const size_t want[] = {
        0, 1, 2, 0, 1, 2, 3, REPORT_NO_BUCKET, REPORT_NO_BUCKET, REPORT_NO_BUCKET};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(of[i], want[i]);

    /* retention 0: nothing expires, and the 2023 month gets a bucket with no expiry */
    nb = report_group_by_period(d, n, 0, now, b, 8, of);
    assert_int_equal(nb, 5);
    assert_string_equal(b[4].period, "2023-01");
    assert_int_equal(b[4].expire_at_s, 0);
    assert_int_equal(b[0].expire_at_s, 0);
    assert_int_equal(of[9], 4);

    /* expired exactly at its instant */
    ch_report_item one[] = {{"2026-11|letter|enquiry|received", 1}};
    assert_int_equal(report_group_by_period(one, 1, 36, utc(2029, 12, 2) - 1, b, 8, of), 1);
    assert_int_equal(report_group_by_period(one, 1, 36, utc(2029, 12, 2), b, 8, of), 0);
    assert_int_equal(of[0], REPORT_NO_BUCKET);

    /* more periods than room */
    assert_int_equal(report_group_by_period(d, n, 36, now, b, 3, of), CH_EINVAL);
    assert_int_equal(report_group_by_period(d, 0, 36, now, b, 8, of), 0);
}

static void
test_oldest_kept(void **state)
{
    (void)state;
    char p[CH_REPORT_KEY_PERIOD_MAX];
    int64_t now = utc(2026, 12, 5) + 3600;
    /* 2023-11 expires 2026-12-02 (gone); 2023-12 on 2027-01-02 (kept) */
    assert_int_equal(report_oldest_kept(36, now, CH_REPORT_MONTH, p, sizeof(p)), 0);
    assert_string_equal(p, "2023-12");
    /* 2023-12-03 expires 2026-12-05T00:00Z (gone); 2023-12-04 on the 6th */
    assert_int_equal(report_oldest_kept(36, now, CH_REPORT_DAY, p, sizeof(p)), 0);
    assert_string_equal(p, "2023-12-04");
    /* 2023 expires 2027-01-02 */
    assert_int_equal(report_oldest_kept(36, now, CH_REPORT_YEAR, p, sizeof(p)), 0);
    assert_string_equal(p, "2023");
    assert_int_equal(report_oldest_kept(12, now, CH_REPORT_YEAR, p, sizeof(p)), 0);
    assert_string_equal(p, "2025");
    assert_int_equal(report_oldest_kept(12, now, CH_REPORT_MONTH, p, sizeof(p)), 0);
    assert_string_equal(p, "2025-12"); /* 2025-11 expired on 2026-12-02 */
    assert_int_equal(report_oldest_kept(0, now, CH_REPORT_MONTH, p, sizeof(p)), CH_EINVAL);
    assert_int_equal(report_oldest_kept(36, now, CH_REPORT_MONTH, p, 4), CH_EINVAL);
}

static void
test_periods_between(void **state)
{
    (void)state;
    char out[13][CH_REPORT_KEY_PERIOD_MAX];
    assert_int_equal(report_periods_between(CH_REPORT_MONTH, "2026-01", "2026-03", out, 13), 3);
    assert_string_equal(out[0], "2026-01");
    assert_string_equal(out[2], "2026-03");
    assert_int_equal(report_periods_between(CH_REPORT_MONTH, "2025-11", "2026-02", out, 13), 4);
    assert_string_equal(out[1], "2025-12");
    assert_string_equal(out[2], "2026-01");
    assert_int_equal(report_periods_between(CH_REPORT_DAY, "2028-02-28", "2028-03-01", out, 13), 3);
    assert_string_equal(out[1], "2028-02-29");
    assert_int_equal(report_periods_between(CH_REPORT_YEAR, "2025", "2025", out, 13), 1);
    assert_string_equal(out[0], "2025");
    assert_int_equal(report_periods_between(CH_REPORT_MONTH, "2026-03", "2026-01", out, 13),
                     CH_EINVAL);
    assert_int_equal(report_periods_between(CH_REPORT_MONTH, "2026-01", "2027-06", out, 13),
                     CH_EINVAL);
    assert_int_equal(report_periods_between(CH_REPORT_MONTH, "2026", "2026-03", out, 13),
                     CH_EINVAL);
    assert_int_equal(report_periods_between(CH_REPORT_MONTH, "2026-00", "2026-03", out, 13),
                     CH_EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_by_period),
        cmocka_unit_test(test_oldest_kept),
        cmocka_unit_test(test_periods_between),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
