/*
 * The published measures beside the promise rows: % within (in time over
 * everything judged, nothing when nothing was judged) and complaints per
 * 1,000 homes (stage 1 and 2 complaints of a housing landlord that gives
 * its homes; no other case type, kind of organisation or policy).
 * test_report_html.c covers the rows themselves through the renderings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "charter/errors.h"
#include "charter/report_view.h"

static void
test_pct_within(void **state)
{
    (void)state;
    assert_true(ch_report_pct_within(0, 0) < 0);
    assert_true(ch_report_pct_within(2, 0) == 100.0);
    assert_true(ch_report_pct_within(0, 3) == 0.0);
    assert_true(ch_report_pct_within(1, 1) == 50.0);
    double third = ch_report_pct_within(1, 2);
    assert_true(third > 33.33 && third < 33.34);
    ch_report_promise_row r;
    memset(&r, 0, sizeof(r));
    r.in_time = 2;
    r.late = 1;
    assert_true(ch_report_row_pct(&r) == ch_report_pct_within(2, 1));
}

static void
test_per_1000_homes(void **state)
{
    (void)state;
    ch_policy p;
    memset(&p, 0, sizeof(p));
    p.kind = CH_POLICY_KIND_HOUSING_LANDLORD;
    p.homes = 12700;
    double v = -1;
    assert_int_equal(ch_report_per_1000_homes(&p, "complaint_stage_1", 2, &v), 0);
    assert_true(v > 0.15748 && v < 0.15749);
    assert_int_equal(ch_report_per_1000_homes(&p, "complaint_stage_2", 0, &v), 0);
    assert_true(v == 0.0);
    assert_int_equal(ch_report_per_1000_homes(&p, "enquiry", 2, &v), CH_ENOTFOUND);
    assert_int_equal(ch_report_per_1000_homes(&p, "foi", 2, &v), CH_ENOTFOUND);
    p.homes = 0; /* not given */
    assert_int_equal(ch_report_per_1000_homes(&p, "complaint_stage_1", 2, &v), CH_ENOTFOUND);
    p.homes = 12700;
    p.kind = CH_POLICY_KIND_COUNCIL;
    assert_int_equal(ch_report_per_1000_homes(&p, "complaint_stage_1", 2, &v), CH_ENOTFOUND);
    assert_int_equal(ch_report_per_1000_homes(NULL, "complaint_stage_1", 2, &v), CH_ENOTFOUND);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pct_within),
        cmocka_unit_test(test_per_1000_homes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
