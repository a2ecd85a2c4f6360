/*
 * A case's page record (services/reporting/casepage.h): the owner is the
 * latest `assigned` by time whatever the order of delivery, a record
 * applied twice changes nothing, a notice keeps its latest status, the
 * lists stay bounded, and times read as a manager says them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "casepage.h"
#include "charter/v1/case_event.pb-c.h"
#include "charter/v1/notification.pb-c.h"

static char *
apply(char *old, const ProtobufCMessage *m, int64_t due)
{
    char *out = NULL, ref[64], read[64];
    assert_int_equal(report_page_apply(old, old ? strlen(old) : 0, m, due, &out, ref, sizeof(ref)),
                     0);
    /* the reference handed back is the one the record holds */
    report_page_reference(out ? out : old,
                          out   ? strlen(out)
                          : old ? strlen(old)
                                : 0,
                          read, sizeof(read));
    assert_string_equal(ref, read);
    if (!out)
        return old;
    free(old);
    return out;
}

static char *
assign(char *rec, const char *id, int64_t at_s, char *name, char *team)
{
    Charter__V1__CaseEvent ev = CHARTER__V1__CASE_EVENT__INIT;
    Charter__V1__Assigned a = CHARTER__V1__ASSIGNED__INIT;
    Charter__V1__Timestamp t = CHARTER__V1__TIMESTAMP__INIT;
    t.seconds = at_s;
    a.name = name;
    a.team = team;
    ev.event_id = (char *)id;
    ev.case_id = "case-1";
    ev.organisation = "org";
    ev.occurred_at = &t;
    ev.event_case = CHARTER__V1__CASE_EVENT__EVENT_ASSIGNED;
    ev.assigned = &a;
    return apply(rec, &ev.base, -1);
}

static const char *
field(const char *rec, const char *k, char *buf, size_t bufsz)
{
    json_t *o = json_loads(rec, 0, NULL);
    snprintf(buf, bufsz, "%s", json_string_value(json_object_get(o, k)) ?: "");
    json_decref(o);
    return buf;
}

static void
test_owner_is_latest_assignment_by_time(void **state)
{
    (void)state;
    char b[64];
    char *rec = assign(NULL, "e2", 2000, "Jo Bloggs", "Repairs");
    rec = assign(rec, "e1", 1000, "Sam Jones", "Lettings"); /* delivered late, older */
    assert_string_equal(field(rec, "owner", b, sizeof(b)), "Jo Bloggs");
    assert_string_equal(field(rec, "team", b, sizeof(b)), "Repairs");
    char *before = strdup(rec);
    /* the same event again changes nothing */
    rec = assign(rec, "e2", 2000, "Jo Bloggs", "Repairs");
    assert_string_equal(rec, before);
    free(before);
    free(rec);
}

static void
test_events_bounded(void **state)
{
    (void)state;
    char *rec = NULL, id[16];
    for (int i = 0; i < REPORT_PAGE_EVENTS + 10; i++) {
        snprintf(id, sizeof(id), "e%d", i);
        rec = assign(rec, id, 1000 + i, "A", "T");
    }
    json_t *o = json_loads(rec, 0, NULL);
    json_t *events = json_object_get(o, "events");
    assert_int_equal(json_array_size(events), REPORT_PAGE_EVENTS);
    /* the oldest went first */
    assert_string_equal(json_string_value(json_object_get(json_array_get(events, 0), "id")), "e10");
    json_decref(o);
    free(rec);
}

static void
test_notice_keeps_latest_status(void **state)
{
    (void)state;
    Charter__V1__NotificationOutcome o = CHARTER__V1__NOTIFICATION_OUTCOME__INIT;
    Charter__V1__Timestamp t = CHARTER__V1__TIMESTAMP__INIT;
    o.event_id = "o1";
    o.notification_id = "case-1/acknowledgement";
    o.case_id = "case-1";
    o.organisation = "org";
    o.kind = CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_ACKNOWLEDGEMENT;
    o.channel = CHARTER__V1__CHANNEL__CHANNEL_EMAIL;
    o.status = CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_DELIVERED;
    o.occurred_at = &t;
    t.seconds = 200;
    char *rec = apply(NULL, &o.base, -1);
    o.status = CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_SENT; /* older, late */
    t.seconds = 100;
    rec = apply(rec, &o.base, -1);
    json_t *j = json_loads(rec, 0, NULL);
    json_t *n = json_array_get(json_object_get(j, "notices"), 0);
    assert_int_equal(json_array_size(json_object_get(j, "notices")), 1);
    assert_string_equal(json_string_value(json_object_get(n, "status")), "delivered");
    assert_string_equal(json_string_value(json_object_get(n, "kind")), "acknowledgement");
    json_decref(j);
    free(rec);
}

static void
test_time_left_words(void **state)
{
    (void)state;
    char b[64];
    int64_t now = 1800000000000LL;
    report_time_left(now - (2 * 86400 + 3 * 3600 + 59) * 1000LL, now, b, sizeof(b));
    assert_string_equal(b, "2 days 3 hours overdue");
    report_time_left(now + 45 * 60000LL, now, b, sizeof(b));
    assert_string_equal(b, "45 minutes left");
    report_time_left(now + 3600000LL + 60000LL, now, b, sizeof(b));
    assert_string_equal(b, "1 hour 1 minute left");
    report_time_left(now + 20000, now, b, sizeof(b));
    assert_string_equal(b, "due now");
    report_local_words(1796601600 + 17 * 3600, b, sizeof(b)); /* 2026-12-07 (a Monday) */
    assert_string_equal(b, "Monday 7 December 2026, 17:00");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_owner_is_latest_assignment_by_time),
        cmocka_unit_test(test_events_bounded),
        cmocka_unit_test(test_notice_keeps_latest_status),
        cmocka_unit_test(test_time_left_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
