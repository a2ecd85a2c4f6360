/*
 * Reporting's running counts: what each kind of record adds one to (a case
 * event its type, a received event its channel too; a fired timer its kind;
 * an outcome its status), which id it is counted once by, and which counts
 * are events (the per-channel breakdown is not).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "charter/errors.h"
#include "charter/report_counts.h"
#include "charter/v1/case_event.pb-c.h"
#include "charter/v1/notification.pb-c.h"
#include "charter/v1/report.pb-c.h"
#include "charter/v1/timer.pb-c.h"

static void
test_case_events(void **state)
{
    (void)state;
    Charter__V1__CaseEvent ev;
    Charter__V1__Received rec;
    charter__v1__case_event__init(&ev);
    charter__v1__received__init(&rec);
    ev.organisation = "derby-homes";
    ev.case_id = "c1";
    ev.event_id = "e1";
    ev.event_case = CHARTER__V1__CASE_EVENT__EVENT_RECEIVED;
    ev.received = &rec;
    rec.channel = CHARTER__V1__CHANNEL__CHANNEL_ONLINE_FORM;
    ch_report_counted c;
    assert_int_equal(ch_report_counts_of(&ev.base, &c), 0);
    assert_string_equal(c.organisation, "derby-homes");
    assert_string_equal(c.case_id, "c1");
    assert_string_equal(c.event_id, "e1");
    assert_int_equal(c.nnames, 2);
    assert_string_equal(c.names[0], "received");
    assert_string_equal(c.names[1], "received.online_form");

    Charter__V1__Responded resp;
    charter__v1__responded__init(&resp);
    ev.event_case = CHARTER__V1__CASE_EVENT__EVENT_RESPONDED;
    ev.received = NULL;
    ev.responded = &resp;
    assert_int_equal(ch_report_counts_of(&ev.base, &c), 0);
    assert_int_equal(c.nnames, 1);
    assert_string_equal(c.names[0], "responded");
}

static void
test_timers_and_outcomes(void **state)
{
    (void)state;
    Charter__V1__TimerFired t;
    charter__v1__timer_fired__init(&t);
    t.organisation = "nihe";
    t.case_id = "c2";
    t.timer_id = "c2:breach:1";
    t.kind = CHARTER__V1__TIMER_KIND__TIMER_KIND_ACKNOWLEDGEMENT_DUE;
    ch_report_counted c;
    assert_int_equal(ch_report_counts_of(&t.base, &c), 0);
    assert_string_equal(c.event_id, "c2:breach:1"); /* a timer fired twice counts once */
    assert_int_equal(c.nnames, 1);
    assert_string_equal(c.names[0], "timers.acknowledgement_due");

    Charter__V1__NotificationOutcome o;
    charter__v1__notification_outcome__init(&o);
    o.organisation = "nihe";
    o.event_id = "n1";
    o.status = CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_SENT;
    assert_int_equal(ch_report_counts_of(&o.base, &c), 0);
    assert_string_equal(c.case_id, "");
    assert_string_equal(c.event_id, "n1");
    assert_string_equal(c.names[0], "notifications.sent");

    Charter__V1__ReportSnapshot snap;
    charter__v1__report_snapshot__init(&snap);
    assert_int_equal(ch_report_counts_of(&snap.base, &c), CH_EINVAL);
}

static void
test_count_is_event(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int event;
    } want[] = {
        {"received", 1},
        {"responded", 1},
        {"communication_support", 1},
        {"timers.breach", 1},
        {"timers.warning", 1},
        {"notifications.sent", 1},
        {"received.email", 0},
        {"received.online_form", 0},
        {"timers", 1},
        {"notifications", 1},
        {"other.thing", 0},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_int_equal(ch_report_count_is_event(want[i].name), want[i].event);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_case_events),
        cmocka_unit_test(test_timers_and_outcomes),
        cmocka_unit_test(test_count_is_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
