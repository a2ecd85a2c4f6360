/*
 * reporting's counting decisions (counting.h), without Redis: which records
 * can be counted, the periods a record's deltas make due, and the plan for a
 * case: a first record adds the case to the open set from its target, the
 * same record again changes nothing, the answer takes it out, a record
 * before the case's `received` leaves the set alone, an unreadable state
 * starts again and a record without a time is refused for good.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "charter/errors.h"
#include "charter/org_set.h"
#include "charter/timeutil.h"
#include "counting.h"
#include "support/case_event.h"
#include "support/shipped.h"

static ch_org_clocks derby;

static int
setup(void **state)
{
    (void)state;
    return fx_org_clocks_load("derby-homes", &derby);
}

static int
teardown(void **state)
{
    (void)state;
    ch_org_clocks_free(&derby);
    return 0;
}

static void
test_refusal(void **state)
{
    (void)state;
    char long_org[REPORT_ORG_MAX + 1], long_case[REPORT_CASE_MAX + 1];
    memset(long_org, 'o', sizeof(long_org) - 1);
    long_org[sizeof(long_org) - 1] = '\0';
    memset(long_case, 'c', sizeof(long_case) - 1);
    long_case[sizeof(long_case) - 1] = '\0';
    static const struct {
        const char *org, *case_id, *event_id;
        int refused;
    } cases[] = {
        {"derby-homes", "c1", "e1", 0},
        {"derby-homes", "", "e1", 0}, /* no case: counts only */
        {"", "c1", "e1", 1},
        {"derby-homes", "c1", "", 1},
        {"derby{x}", "c1", "e1", 1},
        {NULL, "c1", "e1", 1},
        {"derby-homes", NULL, "e1", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ch_report_counted c;
        memset(&c, 0, sizeof(c));
        c.organisation = cases[i].org ? cases[i].org : long_org;
        c.case_id = cases[i].case_id ? cases[i].case_id : long_case;
        c.event_id = cases[i].event_id;
        assert_int_equal(report_count_refusal(&c) != NULL, cases[i].refused);
    }
}

static void
test_delta_periods(void **state)
{
    (void)state;
    ch_report_item d[] = {
        {"2026-11-02|letter|enquiry|received", 1},
        {"2026-11|letter|enquiry|received", 1},
        {"2026|letter|enquiry|received", 1},
        {"2026-11-02|letter|enquiry|open", 1},
        {"no bars", 1},
        {"2025|letter|enquiry|open", 1},
    };
    char p[3][CH_REPORT_KEY_PERIOD_MAX];
    assert_int_equal(report_delta_periods(d, 4, p), 3);
    assert_string_equal(p[0], "2026-11-02");
    assert_string_equal(p[1], "2026-11");
    assert_string_equal(p[2], "2026");
    assert_int_equal(report_delta_periods(d, 6, p), 3); /* at most three */
    assert_int_equal(report_delta_periods(d + 4, 2, p), 1);
    assert_string_equal(p[0], "2025");
    assert_int_equal(report_delta_periods(d, 0, p), 0);
}

/* Case c1 of Derby Homes: received by letter (an enquiry), or answered. */
static const ProtobufCMessage *
event(fx_event_buf *b, Charter__V1__CaseEvent__EventCase kind, const char *when)
{
    Charter__V1__CaseEvent *ev = fx_case_event(b, kind, "c1", "derby-homes", when);
    ev->event_id = "e1";
    if (kind == CHARTER__V1__CASE_EVENT__EVENT_RECEIVED) {
        b->received.channel = CHARTER__V1__CHANNEL__CHANNEL_LETTER;
        b->received.case_type = "enquiry";
    }
    return &ev->base;
}

static int
has_delta(const report_case_plan *p, const char *key, int64_t value)
{
    for (int i = 0; i < p->ndelta; i++)
        if (strcmp(p->delta[i].key, key) == 0)
            return p->delta[i].value == value;
    return 0;
}

static void
test_plan(void **state)
{
    (void)state;
    fx_event_buf b;
    const ProtobufCMessage *received =
        event(&b, CHARTER__V1__CASE_EVENT__EVENT_RECEIVED, "2026-11-02T10:00:00Z");
    report_case_plan p1, p2, p3;
    assert_int_equal(report_case_plan_make(&derby, "c1", NULL, 0, received, &p1), 0);
    assert_false(p1.unchanged);
    assert_false(p1.state_unreadable);
    assert_null(p1.old_state);
    assert_non_null(p1.state);
    assert_true(has_delta(&p1, "2026-11|letter|enquiry|received", 1));
    assert_true(has_delta(&p1, "2026-11-02|letter|enquiry|open", 1));
    assert_string_equal(p1.open_op, "add");
    assert_string_equal(p1.member, "2026-11-02|letter|enquiry|c1");
    int64_t received_ms;
    assert_int_equal(ch_time_parse_rfc3339("2026-11-02T10:00:00Z", &received_ms), 0);
    assert_true(p1.due_ms > received_ms);
    assert_int_equal(p1.nperiods, 3);
    assert_string_equal(p1.periods[0], "2026-11-02");

    /* the same record again: nothing to write */
    assert_int_equal(report_case_plan_make(&derby, "c1", p1.state, p1.state_len, received, &p2), 0);
    assert_true(p2.unchanged);
    assert_int_equal(p2.ndelta, 0);
    assert_int_equal(p2.old_len, p1.state_len);
    assert_memory_equal(p2.old_state, p1.state, p1.state_len);
    report_case_plan_free(&p2);

    /* the answer: figures move, the case leaves the open set */
    const ProtobufCMessage *responded =
        event(&b, CHARTER__V1__CASE_EVENT__EVENT_RESPONDED, "2026-11-05T10:00:00Z");
    assert_int_equal(report_case_plan_make(&derby, "c1", p1.state, p1.state_len, responded, &p3),
                     0);
    assert_false(p3.unchanged);
    assert_true(has_delta(&p3, "2026-11|letter|enquiry|answered_in_time", 1));
    assert_true(has_delta(&p3, "2026-11|letter|enquiry|open", -1));
    assert_string_equal(p3.open_op, "rem");
    assert_string_equal(p3.member, "2026-11-02|letter|enquiry|c1");
    assert_int_equal(p3.nperiods, 3);
    report_case_plan_free(&p3);
    report_case_plan_free(&p1);

    /* a record before the case's `received`: kept, no figures, the open set left alone */
    assert_int_equal(report_case_plan_make(&derby, "c1", NULL, 0, responded, &p1), 0);
    assert_false(p1.unchanged);
    assert_int_equal(p1.ndelta, 0);
    assert_string_equal(p1.open_op, "");
    assert_int_equal(p1.nperiods, 0);
    report_case_plan_free(&p1);

    /* an unreadable state starts again; the write still compares against it */
    received = event(&b, CHARTER__V1__CASE_EVENT__EVENT_RECEIVED, "2026-11-02T10:00:00Z");
    assert_int_equal(report_case_plan_make(&derby, "c1", "nope", 4, received, &p1), 0);
    assert_true(p1.state_unreadable);
    assert_string_equal(p1.old_state, "nope");
    assert_string_equal(p1.open_op, "add");
    report_case_plan_free(&p1);

    /* no policy: counted, nothing in time, still in no open set */
    assert_int_equal(report_case_plan_make(NULL, "c1", NULL, 0, received, &p1), 0);
    assert_true(has_delta(&p1, "2026-11|letter|enquiry|received", 1));
    assert_string_equal(p1.open_op, "rem");
    report_case_plan_free(&p1);

    /* a record without a time can never be applied */
    b.ev.occurred_at = NULL;
    assert_int_equal(report_case_plan_make(&derby, "c1", NULL, 0, received, &p1), CH_EBADMSG);
    report_case_plan_free(&p1);
}

/* A state stored as JSON before the packed form (issue 16) still loads: the
 * same answer on it plans the same figures as on the packed state, and a
 * repeat on it moves nothing but writes the state back packed. */
static void
test_plan_json_state(void **state)
{
    (void)state;
    fx_event_buf b;
    const ProtobufCMessage *received =
        event(&b, CHARTER__V1__CASE_EVENT__EVENT_RECEIVED, "2026-11-02T10:00:00Z");
    report_case_plan p1, pj, pp, rep;
    assert_int_equal(report_case_plan_make(&derby, "c1", NULL, 0, received, &p1), 0);
    assert_true(p1.state_len > 0);
    assert_true(p1.state[0] != '{');
    ch_report_case rc;
    assert_int_equal(ch_report_case_unpack(p1.state, p1.state_len, &rc), 0);
    char *json = ch_report_case_to_json(&rc);
    assert_non_null(json);
    assert_int_equal(json[0], '{');

    const ProtobufCMessage *responded =
        event(&b, CHARTER__V1__CASE_EVENT__EVENT_RESPONDED, "2026-11-05T10:00:00Z");
    assert_int_equal(report_case_plan_make(&derby, "c1", json, strlen(json), responded, &pj), 0);
    assert_false(pj.state_unreadable);
    assert_int_equal(report_case_plan_make(&derby, "c1", p1.state, p1.state_len, responded, &pp),
                     0);
    assert_int_equal(pj.ndelta, pp.ndelta);
    assert_true(pj.ndelta > 0);
    for (int i = 0; i < pj.ndelta; i++)
        assert_true(has_delta(&pp, pj.delta[i].key, pj.delta[i].value));
    assert_string_equal(pj.open_op, "rem");
    assert_string_equal(pj.member, pp.member);
    assert_int_equal(pj.state_len, pp.state_len);
    assert_memory_equal(pj.state, pp.state, pp.state_len);
    /* the compare-and-set compares against the JSON as it was read */
    assert_int_equal(pj.old_len, strlen(json));
    assert_memory_equal(pj.old_state, json, strlen(json));

    received = event(&b, CHARTER__V1__CASE_EVENT__EVENT_RECEIVED, "2026-11-02T10:00:00Z");
    assert_int_equal(report_case_plan_make(&derby, "c1", json, strlen(json), received, &rep), 0);
    assert_false(rep.state_unreadable);
    assert_int_equal(rep.ndelta, 0);
    assert_false(rep.unchanged);
    assert_int_equal(rep.state_len, p1.state_len);
    assert_memory_equal(rep.state, p1.state, p1.state_len);
    free(json);
    report_case_plan_free(&rep);
    report_case_plan_free(&pp);
    report_case_plan_free(&pj);
    report_case_plan_free(&p1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusal),
        cmocka_unit_test(test_delta_periods),
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_plan_json_state),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
