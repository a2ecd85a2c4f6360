/*
 * The case event types of the JSON API, one test each: a valid body becomes
 * the event consumers see after a protobuf pack and unpack (how it travels),
 * and a bad field is refused with the status, code and field a client can
 * act on. Contacts, the envelope and records are test_event_json.c's.
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

#include "charter/errors.h"
#include "charter/names.h"
#include "event_json.h"
#include "support/instant.h"

static Charter__V1__CaseEvent *
case_event_ok(const char *body)
{
    Charter__V1__CaseEvent *ev = NULL;
    ch_json_error err;
    memset(&err, 0, sizeof(err));
    int rc = ch_event_json_parse_case_event(body, strlen(body), &ev, &err);
    if (rc != 0)
        fail_msg("case event refused (%d %s field '%s'): %s\nbody: %s", err.status, err.code,
                 err.field, err.message, body);
    assert_non_null(ev);
    return ev;
}

typedef int (*parse_fn)(const char *, size_t, Charter__V1__CaseEvent **, ch_json_error *);

/*
 * Asserts that body is refused with status and code, and (when field is not
 * NULL) that err.field is exactly field and the message mentions it. Returns
 * the error for further checks.
 */
static ch_json_error
refused(parse_fn parse, const char *body, int status, const char *code, const char *field)
{
    Charter__V1__CaseEvent *ev = NULL;
    ch_json_error err;
    memset(&err, 0, sizeof(err));
    int rc = parse(body, strlen(body), &ev, &err);
    if (rc != CH_EINVAL) {
        ch_event_json_free(ev);
        fail_msg("expected CH_EINVAL, got %d for body: %s", rc, body);
    }
    if (ev != NULL)
        fail_msg("*out was set on failure for body: %s", body);
    if (err.status != status)
        fail_msg("expected status %d, got %d (%s: %s) for body: %s", status, err.status, err.code,
                 err.message, body);
    if (code && strcmp(err.code, code) != 0)
        fail_msg("expected code '%s', got '%s' (%s) for body: %s", code, err.code, err.message,
                 body);
    if (field) {
        if (strcmp(err.field, field) != 0)
            fail_msg("expected field '%s', got '%s' (%s) for body: %s", field, err.field,
                     err.message, body);
        if (!strstr(err.message, field))
            fail_msg("message '%s' does not name field '%s'", err.message, field);
    }
    if (err.message[0] == '\0')
        fail_msg("empty error message for body: %s", body);
    return err;
}

/* ---- every case event type of DESIGN.md section 2 ---- */

#define ENV "\"organisation\":\"nch\",\"occurred_at\":\"2026-11-24T10:00:00Z\""

/* Parses, packs and unpacks: the wire is how consumers will see it. */
static Charter__V1__CaseEvent *
wire(const char *body)
{
    Charter__V1__CaseEvent *ev = case_event_ok(body);
    size_t len = charter__v1__case_event__get_packed_size(ev);
    uint8_t *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    assert_int_equal(charter__v1__case_event__pack(ev, buf), len);
    ch_event_json_free(ev);
    Charter__V1__CaseEvent *back = charter__v1__case_event__unpack(NULL, len, buf);
    free(buf);
    assert_non_null(back);
    assert_string_equal(back->organisation, "nch");
    assert_int_equal(back->occurred_at->seconds, fx_utc(2026, 11, 24, 10, 0, 0));
    return back;
}

static void
test_holding_reply(void **state)
{
    (void)state;
    Charter__V1__CaseEvent *ev =
        wire("{\"type\":\"holding_reply\"," ENV ",\"new_target_at\":\"2026-12-10T17:00:00Z\","
             "\"reason\":\"awaiting_contractor_report\"}");
    assert_int_equal(ev->event_case, CHARTER__V1__CASE_EVENT__EVENT_HOLDING_REPLY);
    assert_int_equal(ev->holding_reply->new_target_at->seconds, fx_utc(2026, 12, 10, 17, 0, 0));
    assert_string_equal(ev->holding_reply->reason, "awaiting_contractor_report");
    ch_event_json_free(ev);
    refused(ch_event_json_parse_case_event, "{\"type\":\"holding_reply\"," ENV ",\"reason\":\"x\"}",
            422, "missing_field", "new_target_at");
    refused(ch_event_json_parse_case_event,
            "{\"type\":\"holding_reply\"," ENV ",\"new_target_at\":\"2026-12-10T17:00:00Z\"}", 422,
            "missing_field", "reason");
    refused(ch_event_json_parse_case_event,
            "{\"type\":\"holding_reply\"," ENV
            ",\"new_target_at\":\"10/12/2026\",\"reason\":\"x\"}",
            422, "wrong_type", "new_target_at");
}

static void
test_paused_resumed(void **state)
{
    (void)state;
    Charter__V1__CaseEvent *ev =
        wire("{\"type\":\"paused\"," ENV ",\"reason\":\"awaiting_clarification\"}");
    assert_int_equal(ev->event_case, CHARTER__V1__CASE_EVENT__EVENT_PAUSED);
    assert_string_equal(ev->paused->reason, "awaiting_clarification");
    ch_event_json_free(ev);
    ev = wire("{\"type\":\"paused\"," ENV "}");
    assert_string_equal(ev->paused->reason, "");
    ch_event_json_free(ev);

    ev = wire("{\"type\":\"resumed\"," ENV ",\"restart_clock\":true}");
    assert_int_equal(ev->event_case, CHARTER__V1__CASE_EVENT__EVENT_RESUMED);
    assert_true(ev->resumed->restart_clock);
    ch_event_json_free(ev);
    ev = wire("{\"type\":\"resumed\"," ENV "}");
    assert_false(ev->resumed->restart_clock);
    ch_event_json_free(ev);
    refused(ch_event_json_parse_case_event, "{\"type\":\"resumed\"," ENV ",\"restart_clock\":1}",
            422, "wrong_type", "restart_clock");
    refused(ch_event_json_parse_case_event, "{\"type\":\"paused\"," ENV ",\"restart_clock\":true}",
            422, "unknown_field", "restart_clock");
}

static void
test_escalated(void **state)
{
    (void)state;
    Charter__V1__CaseEvent *ev =
        wire("{\"type\":\"escalated\"," ENV ",\"new_case_id\":\"case-stage-2\",\"to_stage\":2,"
             "\"reason\":\"customer_dissatisfied\"}");
    assert_int_equal(ev->event_case, CHARTER__V1__CASE_EVENT__EVENT_ESCALATED);
    assert_string_equal(ev->escalated->new_case_id, "case-stage-2");
    assert_int_equal(ev->escalated->to_stage, 2);
    assert_string_equal(ev->escalated->reason, "customer_dissatisfied");
    ch_event_json_free(ev);
    refused(ch_event_json_parse_case_event, "{\"type\":\"escalated\"," ENV ",\"to_stage\":2}", 422,
            "missing_field", "new_case_id");
    refused(ch_event_json_parse_case_event,
            "{\"type\":\"escalated\"," ENV ",\"new_case_id\":\"a b\",\"to_stage\":2}", 422,
            "invalid_value", "new_case_id");
    refused(ch_event_json_parse_case_event,
            "{\"type\":\"escalated\"," ENV ",\"new_case_id\":\"c2\",\"to_stage\":1}", 422,
            "invalid_value", "to_stage");
    refused(ch_event_json_parse_case_event,
            "{\"type\":\"escalated\"," ENV ",\"new_case_id\":\"c2\",\"to_stage\":2.0}", 422,
            "wrong_type", "to_stage");
    refused(ch_event_json_parse_case_event,
            "{\"type\":\"escalated\"," ENV ",\"new_case_id\":\"c2\"}", 422, "missing_field",
            "to_stage");
}

static void
test_appointment(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        Charter__V1__Appointment__Status value;
    } st[] = {
        {"booked", CHARTER__V1__APPOINTMENT__STATUS__STATUS_BOOKED},
        {"cancelled", CHARTER__V1__APPOINTMENT__STATUS__STATUS_CANCELLED},
        {"kept", CHARTER__V1__APPOINTMENT__STATUS__STATUS_KEPT},
        {"missed", CHARTER__V1__APPOINTMENT__STATUS__STATUS_MISSED},
        {"rebooked", CHARTER__V1__APPOINTMENT__STATUS__STATUS_REBOOKED},
    };
    for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
        char body[320];
        snprintf(body, sizeof(body),
                 "{\"type\":\"appointment\"," ENV ",\"status\":\"%s\",\"appointment_id\":\"A-9\","
                 "\"starts_at\":\"2026-11-30T10:00:00Z\"}",
                 st[i].name);
        Charter__V1__CaseEvent *ev = wire(body);
        assert_int_equal(ev->event_case, CHARTER__V1__CASE_EVENT__EVENT_APPOINTMENT);
        assert_int_equal(ev->appointment->status, st[i].value);
        assert_string_equal(ev->appointment->appointment_id, "A-9");
        assert_int_equal(ev->appointment->starts_at->seconds, fx_utc(2026, 11, 30, 10, 0, 0));
        ch_event_json_free(ev);
    }
    Charter__V1__CaseEvent *ev =
        wire("{\"type\":\"appointment\"," ENV ",\"status\":\"cancelled\","
             "\"cancelled_by\":\"organisation\",\"location\":\"1 High St\"}");
    assert_string_equal(ev->appointment->cancelled_by, "organisation");
    assert_string_equal(ev->appointment->location, "1 High St");
    assert_null(ev->appointment->starts_at);
    ch_event_json_free(ev);

    refused(ch_event_json_parse_case_event,
            "{\"type\":\"appointment\"," ENV ",\"status\":\"booked\"}", 422, "missing_field",
            "starts_at");
    refused(ch_event_json_parse_case_event,
            "{\"type\":\"appointment\"," ENV ",\"status\":\"late\"}", 422, "invalid_value",
            "status");
    refused(ch_event_json_parse_case_event, "{\"type\":\"appointment\"," ENV "}", 422,
            "missing_field", "status");
    refused(ch_event_json_parse_case_event,
            "{\"type\":\"appointment\"," ENV ",\"status\":\"cancelled\",\"cancelled_by\":\"me\"}",
            422, "invalid_value", "cancelled_by");
    refused(ch_event_json_parse_case_event,
            "{\"type\":\"appointment\"," ENV ",\"status\":\"kept\",\"cancelled_by\":\"customer\"}",
            422, "invalid_value", "cancelled_by");
}

static void
test_call(void **state)
{
    (void)state;
    Charter__V1__CaseEvent *ev =
        wire("{\"type\":\"call\"," ENV ",\"status\":\"answered\",\"wait_seconds\":17,\"rings\":3,"
             "\"resolved_first_time\":true}");
    assert_int_equal(ev->event_case, CHARTER__V1__CASE_EVENT__EVENT_CALL);
    assert_int_equal(ev->call->status, CHARTER__V1__CALL__STATUS__STATUS_ANSWERED);
    assert_int_equal(ev->call->wait_seconds, 17);
    assert_int_equal(ev->call->rings, 3);
    assert_true(ev->call->resolved_first_time);
    ch_event_json_free(ev);
    ev = wire("{\"type\":\"call\"," ENV ",\"status\":\"offered\"}");
    assert_int_equal(ev->call->status, CHARTER__V1__CALL__STATUS__STATUS_OFFERED);
    ch_event_json_free(ev);
    ev = wire("{\"type\":\"call\"," ENV ",\"status\":\"abandoned\",\"wait_seconds\":95}");
    assert_int_equal(ev->call->status, CHARTER__V1__CALL__STATUS__STATUS_ABANDONED);
    assert_int_equal(ev->call->wait_seconds, 95);
    ch_event_json_free(ev);
    refused(ch_event_json_parse_case_event,
            "{\"type\":\"call\"," ENV ",\"status\":\"answered\",\"wait_seconds\":-1}", 422,
            "invalid_value", "wait_seconds");
    refused(ch_event_json_parse_case_event,
            "{\"type\":\"call\"," ENV ",\"status\":\"answered\",\"rings\":\"4\"}", 422,
            "wrong_type", "rings");
    refused(ch_event_json_parse_case_event,
            "{\"type\":\"call\"," ENV ",\"status\":\"answered\",\"wait_seconds\":1e3}", 422,
            "wrong_type", "wait_seconds");
}

static void
test_visit(void **state)
{
    (void)state;
    Charter__V1__CaseEvent *ev = wire("{\"type\":\"visit\"," ENV ",\"status\":\"arrived\","
                                      "\"appointment_at\":\"2026-11-24T09:50:00Z\"}");
    assert_int_equal(ev->event_case, CHARTER__V1__CASE_EVENT__EVENT_VISIT);
    assert_int_equal(ev->visit->status, CHARTER__V1__VISIT__STATUS__STATUS_ARRIVED);
    assert_int_equal(ev->visit->appointment_at->seconds, fx_utc(2026, 11, 24, 9, 50, 0));
    ch_event_json_free(ev);
    ev = wire("{\"type\":\"visit\"," ENV ",\"status\":\"seen\"}");
    assert_int_equal(ev->visit->status, CHARTER__V1__VISIT__STATUS__STATUS_SEEN);
    assert_null(ev->visit->appointment_at);
    ch_event_json_free(ev);
    ev = wire("{\"type\":\"visit\"," ENV ",\"status\":\"left_unseen\"}");
    assert_int_equal(ev->visit->status, CHARTER__V1__VISIT__STATUS__STATUS_LEFT_UNSEEN);
    ch_event_json_free(ev);
    refused(ch_event_json_parse_case_event, "{\"type\":\"visit\"," ENV ",\"status\":\"waiting\"}",
            422, "invalid_value", "status");
    /* a visitor seen and settled at the desk: first-contact resolution */
    ev = wire("{\"type\":\"visit\"," ENV ",\"status\":\"seen\",\"resolved_first_time\":true}");
    assert_true(ev->visit->resolved_first_time);
    ch_event_json_free(ev);
    refused(ch_event_json_parse_case_event,
            "{\"type\":\"visit\"," ENV ",\"status\":\"arrived\",\"resolved_first_time\":true}", 422,
            "invalid_value", "resolved_first_time");
    refused(ch_event_json_parse_case_event,
            "{\"type\":\"visit\"," ENV ",\"status\":\"seen\",\"resolved_first_time\":1}", 422,
            "wrong_type", "resolved_first_time");
}

static void
test_callback(void **state)
{
    (void)state;
    Charter__V1__CaseEvent *ev =
        wire("{\"type\":\"callback\"," ENV ",\"status\":\"promised\","
             "\"agreed_at\":\"2026-11-24T14:30:00Z\",\"by\":\"Housing Officer\"}");
    assert_int_equal(ev->event_case, CHARTER__V1__CASE_EVENT__EVENT_CALLBACK);
    assert_string_equal(ch_case_event_name(ev->event_case), "callback");
    assert_int_equal(ev->callback->status, CHARTER__V1__CALLBACK__STATUS__STATUS_PROMISED);
    assert_int_equal(ev->callback->agreed_at->seconds, fx_utc(2026, 11, 24, 14, 30, 0));
    assert_string_equal(ev->callback->by, "Housing Officer");
    ch_event_json_free(ev);
    /* Derby: a message taken, no time agreed */
    ev = wire("{\"type\":\"callback\"," ENV ",\"status\":\"promised\"}");
    assert_int_equal(ev->callback->status, CHARTER__V1__CALLBACK__STATUS__STATUS_PROMISED);
    assert_null(ev->callback->agreed_at);
    ch_event_json_free(ev);
    ev = wire("{\"type\":\"callback\"," ENV ",\"status\":\"made\",\"by\":\"Jo\"}");
    assert_int_equal(ev->callback->status, CHARTER__V1__CALLBACK__STATUS__STATUS_MADE);
    ch_event_json_free(ev);
    refused(ch_event_json_parse_case_event, "{\"type\":\"callback\"," ENV "}", 422, "missing_field",
            "status");
    ch_json_error e = refused(ch_event_json_parse_case_event,
                              "{\"type\":\"callback\"," ENV ",\"status\":\"rang\"}", 422,
                              "invalid_value", "status");
    if (!strstr(e.message, "promised, made"))
        fail_msg("message does not list the statuses: %s", e.message);
    refused(ch_event_json_parse_case_event,
            "{\"type\":\"callback\"," ENV ",\"status\":\"made\","
            "\"agreed_at\":\"2026-11-24T14:30:00Z\"}",
            422, "invalid_value", "agreed_at");
    refused(ch_event_json_parse_case_event,
            "{\"type\":\"callback\"," ENV ",\"status\":\"promised\",\"agreed_at\":\"2pm\"}", 422,
            "wrong_type", "agreed_at");
    refused(ch_event_json_parse_case_event,
            "{\"type\":\"callback\"," ENV ",\"status\":\"promised\",\"when\":\"soon\"}", 422,
            "unknown_field", "when");
}

static void
test_communication_support(void **state)
{
    (void)state;
    static const char *const kinds[] = {"interpreting_call", "interpreting_session", "bsl",
                                        "braille",           "large_print",          "audio",
                                        "easy_read",         "translation"};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"type\":\"communication_support\"," ENV ",\"kind\":\"%s\",\"language\":\"pl\"}",
                 kinds[i]);
        Charter__V1__CaseEvent *ev = wire(body);
        assert_int_equal(ev->event_case, CHARTER__V1__CASE_EVENT__EVENT_COMMUNICATION_SUPPORT);
        assert_string_equal(ev->communication_support->kind, kinds[i]);
        assert_string_equal(ev->communication_support->language, "pl");
        ch_event_json_free(ev);
    }
    ch_json_error e = refused(ch_event_json_parse_case_event,
                              "{\"type\":\"communication_support\"," ENV ",\"kind\":\"semaphore\"}",
                              422, "invalid_value", "kind");
    if (!strstr(e.message, "braille"))
        fail_msg("message does not list the kinds: %s", e.message);
}

static void
test_satisfaction(void **state)
{
    (void)state;
    Charter__V1__CaseEvent *ev =
        wire("{\"type\":\"satisfaction\"," ENV ",\"score\":4,\"comment\":\"Quick, thanks\"}");
    assert_int_equal(ev->event_case, CHARTER__V1__CASE_EVENT__EVENT_SATISFACTION);
    assert_int_equal(ev->satisfaction->score, 4);
    assert_int_equal(ev->satisfaction->max_score, 5);
    assert_string_equal(ev->satisfaction->comment, "Quick, thanks");
    ch_event_json_free(ev);
    ev = wire("{\"type\":\"satisfaction\"," ENV ",\"score\":9,\"max_score\":10}");
    assert_int_equal(ev->satisfaction->score, 9);
    assert_int_equal(ev->satisfaction->max_score, 10);
    ch_event_json_free(ev);
    refused(ch_event_json_parse_case_event, "{\"type\":\"satisfaction\"," ENV ",\"score\":6}", 422,
            "invalid_value", "score");
    refused(ch_event_json_parse_case_event, "{\"type\":\"satisfaction\"," ENV ",\"score\":0}", 422,
            "invalid_value", "score");
    refused(ch_event_json_parse_case_event, "{\"type\":\"satisfaction\"," ENV "}", 422,
            "missing_field", "score");
}

static void
test_unknown_type_lists_every_type(void **state)
{
    (void)state;
    ch_json_error e = refused(ch_event_json_parse_case_event, "{\"type\":\"reopened\"," ENV "}",
                              422, "unknown_event_type", "type");
    static const char *const names[] = {"acknowledged",
                                        "holding_reply",
                                        "paused",
                                        "resumed",
                                        "responded",
                                        "closed",
                                        "escalated",
                                        "appointment",
                                        "call",
                                        "visit",
                                        "communication_support",
                                        "satisfaction"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strstr(e.message, names[i]))
            fail_msg("message does not list '%s': %s", names[i], e.message);
    /* a contact is not an event on an existing case */
    refused(ch_event_json_parse_case_event, "{\"type\":\"received\"," ENV "}", 422,
            "unknown_event_type", "type");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_holding_reply), cmocka_unit_test(test_paused_resumed),
        cmocka_unit_test(test_escalated),     cmocka_unit_test(test_appointment),
        cmocka_unit_test(test_call),          cmocka_unit_test(test_visit),
        cmocka_unit_test(test_callback),      cmocka_unit_test(test_communication_support),
        cmocka_unit_test(test_satisfaction),  cmocka_unit_test(test_unknown_type_lists_every_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
