/*
 * The JSON -> CaseEvent path is what an API client talks to, so the tests
 * check both halves of its contract: a valid body becomes the event the rest
 * of the system consumes (including after a protobuf pack/unpack, which is
 * how it travels), and an unusable body produces the status, stable code and
 * field name a client can act on. Every event is freed with
 * ch_event_json_free() so the sanitizer build checks the one free path.
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

#define CONTACT_EXAMPLE                                                                            \
    "{\"organisation\":\"nottingham-city-homes\",\"channel\":\"email\","                           \
    "\"received_at\":\"2026-11-23T09:15:00Z\","                                                    \
    "\"customer\":{\"name\":\"Ada Lovelace\",\"email\":\"ada@example.org\","                       \
    "\"phone\":\"+44 115 496 0000\"},"                                                             \
    "\"summary\":\"Boiler not working since Friday\"}"

static Charter__V1__CaseEvent *
contact_ok(const char *body)
{
    Charter__V1__CaseEvent *ev = NULL;
    ch_json_error err;
    memset(&err, 0, sizeof(err));
    int rc = ch_event_json_parse_contact(body, strlen(body), &ev, &err);
    if (rc != 0)
        fail_msg("contact refused (%d %s field '%s'): %s\nbody: %s", err.status, err.code,
                 err.field, err.message, body);
    assert_non_null(ev);
    return ev;
}

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

static void
test_contact_documented_shape(void **state)
{
    (void)state;
    Charter__V1__CaseEvent *ev = contact_ok(CONTACT_EXAMPLE);
    assert_int_equal(ev->event_case, CHARTER__V1__CASE_EVENT__EVENT_RECEIVED);
    assert_string_equal(ev->organisation, "nottingham-city-homes");
    assert_non_null(ev->occurred_at);
    assert_int_equal(ev->occurred_at->seconds, fx_utc(2026, 11, 23, 9, 15, 0));
    assert_int_equal(ev->occurred_at->seconds, 1795425300);
    assert_int_equal(ev->occurred_at->nanos, 0);

    Charter__V1__Received *r = ev->received;
    assert_non_null(r);
    assert_int_equal(r->channel, CHARTER__V1__CHANNEL__CHANNEL_EMAIL);
    assert_string_equal(r->summary, "Boiler not working since Friday");
    assert_string_equal(r->case_type, "enquiry");
    assert_string_equal(r->gateway_message_id, "");
    assert_string_equal(r->parent_case_id, "");
    assert_non_null(r->customer);
    assert_string_equal(r->customer->name, "Ada Lovelace");
    assert_string_equal(r->customer->email, "ada@example.org");
    assert_string_equal(r->customer->phone, "+441154960000"); /* E.164 */
    assert_string_equal(r->customer->postal_address, "");

    /* what JSON does not carry is left for the caller */
    assert_string_equal(ev->event_id, "");
    assert_string_equal(ev->case_id, "");
    assert_string_equal(ev->source, "");
    assert_null(ev->ingested_at);
    ch_event_json_free(ev);
}

static void
test_contact_all_fields(void **state)
{
    (void)state;
    const char *body =
        "{\n"
        "  \"organisation\": \"nch\",\n"
        "  \"channel\": \"letter\",\n"
        "  \"received_at\": \"2026-11-23T10:15:00.250+01:00\",\n"
        "  \"customer\": {\n"
        "    \"name\": \"B\", \"email\": \"b@example.org\", \"phone\": \"0115 496 0001\",\n"
        "    \"postal_address\": \"1 High St\", \"preferred_channel\": \"sms\",\n"
        "    \"preferred_language\": \"cy\", \"preferred_format\": \"large_print\"\n"
        "  },\n"
        "  \"summary\": \"S\",\n"
        "  \"case_type\": \"complaint_stage_2\",\n"
        "  \"gateway_message_id\": \"msg-17\",\n"
        "  \"parent_case_id\": \"case-1\"\n"
        "}\n";
    Charter__V1__CaseEvent *ev = contact_ok(body);
    assert_int_equal(ev->occurred_at->seconds, fx_utc(2026, 11, 23, 9, 15, 0));
    assert_int_equal(ev->occurred_at->nanos, 250000000);
    Charter__V1__Received *r = ev->received;
    assert_int_equal(r->channel, CHARTER__V1__CHANNEL__CHANNEL_LETTER);
    assert_string_equal(r->case_type, "complaint_stage_2");
    assert_string_equal(r->gateway_message_id, "msg-17");
    assert_string_equal(r->parent_case_id, "case-1");
    assert_string_equal(r->customer->postal_address, "1 High St");
    assert_string_equal(r->customer->preferred_channel, "sms");
    assert_string_equal(r->customer->preferred_language, "cy");
    assert_string_equal(r->customer->preferred_format, "large_print");
    ch_event_json_free(ev);
}

static void
test_contact_minimal_has_no_customer(void **state)
{
    (void)state;
    Charter__V1__CaseEvent *ev = contact_ok("{\"organisation\":\"nch\",\"channel\":\"phone\","
                                            "\"received_at\":\"2026-11-23T09:15:00Z\"}");
    assert_int_equal(ev->event_case, CHARTER__V1__CASE_EVENT__EVENT_RECEIVED);
    assert_int_equal(ev->received->channel, CHARTER__V1__CHANNEL__CHANNEL_PHONE);
    assert_null(ev->received->customer);
    assert_string_equal(ev->received->summary, "");
    assert_string_equal(ev->received->case_type, "enquiry");
    ch_event_json_free(ev);
}

static void
test_contact_uses_len_not_nul(void **state)
{
    (void)state;
    /* an HTTP body is not NUL-terminated: bytes after len must be ignored */
    const char *json = "{\"organisation\":\"nch\",\"channel\":\"sms\","
                       "\"received_at\":\"2026-11-23T09:15:00Z\"}";
    size_t len = strlen(json);
    char *buf = malloc(len + 16);
    assert_non_null(buf);
    memcpy(buf, json, len);
    memcpy(buf + len, "garbage}}}]]]", 14);
    Charter__V1__CaseEvent *ev = NULL;
    ch_json_error err;
    memset(&err, 0, sizeof(err));
    int rc = ch_event_json_parse_contact(buf, len, &ev, &err);
    free(buf);
    if (rc != 0)
        fail_msg("refused: %s", err.message);
    assert_int_equal(ev->received->channel, CHARTER__V1__CHANNEL__CHANNEL_SMS);
    ch_event_json_free(ev);
}

static void
test_every_channel_name(void **state)
{
    (void)state;
    /* Every channel the schema has (but UNSPECIFIED) is accepted by its name. */
    const ProtobufCEnumDescriptor *d = &charter__v1__channel__descriptor;
    for (unsigned i = 0; i < d->n_values; i++) {
        Charter__V1__Channel value = (Charter__V1__Channel)d->values[i].value;
        if (value == CHARTER__V1__CHANNEL__CHANNEL_UNSPECIFIED)
            continue;
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"organisation\":\"nch\",\"channel\":\"%s\","
                 "\"received_at\":\"2026-11-23T09:15:00Z\"}",
                 ch_channel_name(value));
        Charter__V1__CaseEvent *ev = contact_ok(body);
        assert_int_equal(ev->received->channel, value);
        ch_event_json_free(ev);
    }
}

static void
test_channel_unknown_names(void **state)
{
    (void)state;
    assert_int_equal(ch_channel_from_name("fax"), CHARTER__V1__CHANNEL__CHANNEL_UNSPECIFIED);
    assert_int_equal(ch_channel_from_name(""), CHARTER__V1__CHANNEL__CHANNEL_UNSPECIFIED);
    assert_int_equal(ch_channel_from_name("unspecified"),
                     CHARTER__V1__CHANNEL__CHANNEL_UNSPECIFIED);
    assert_string_equal(ch_channel_name(CHARTER__V1__CHANNEL__CHANNEL_UNSPECIFIED), "unspecified");
    assert_string_equal(ch_channel_name((Charter__V1__Channel)99), "unspecified");
}

static void
test_contact_malformed_json(void **state)
{
    (void)state;
    ch_json_error err =
        refused(ch_event_json_parse_contact, "{\n  \"organisation\": \"nch\",\n  \"channel\": ,\n}",
                400, "invalid_json", NULL);
    assert_string_equal(err.field, "");
    if (!strstr(err.message, "line 3"))
        fail_msg("message does not give line 3: %s", err.message);
    if (!strstr(err.message, "column"))
        fail_msg("message does not give a column: %s", err.message);

    refused(ch_event_json_parse_contact, "", 400, "invalid_json", NULL);
    refused(ch_event_json_parse_contact, "{\"organisation\":\"nch\"", 400, "invalid_json", NULL);
    refused(ch_event_json_parse_contact, "not json", 400, "invalid_json", NULL);
}

static void
test_contact_duplicate_keys(void **state)
{
    (void)state;
    refused(ch_event_json_parse_contact,
            "{\"organisation\":\"nch\",\"channel\":\"email\",\"channel\":\"phone\","
            "\"received_at\":\"2026-11-23T09:15:00Z\"}",
            400, "invalid_json", NULL);
}

static void
test_contact_body_not_object(void **state)
{
    (void)state;
    refused(ch_event_json_parse_contact, "[{\"organisation\":\"nch\"}]", 422, NULL, NULL);
    refused(ch_event_json_parse_contact, "[]", 422, NULL, NULL);
}

static void
test_contact_missing_fields(void **state)
{
    (void)state;
    refused(ch_event_json_parse_contact,
            "{\"channel\":\"email\",\"received_at\":\"2026-11-23T09:15:00Z\"}", 422,
            "missing_field", "organisation");
    refused(ch_event_json_parse_contact,
            "{\"organisation\":\"nch\",\"received_at\":\"2026-11-23T09:15:00Z\"}", 422,
            "missing_field", "channel");
    refused(ch_event_json_parse_contact, "{\"organisation\":\"nch\",\"channel\":\"email\"}", 422,
            "missing_field", "received_at");
    refused(ch_event_json_parse_contact,
            "{\"organisation\":\"\",\"channel\":\"email\","
            "\"received_at\":\"2026-11-23T09:15:00Z\"}",
            422, "missing_field", "organisation");
    refused(ch_event_json_parse_contact, "{}", 422, "missing_field", NULL);
}

static void
test_contact_wrong_types(void **state)
{
    (void)state;
    refused(ch_event_json_parse_contact,
            "{\"organisation\":\"nch\",\"channel\":5,\"received_at\":\"2026-11-23T09:15:00Z\"}",
            422, "wrong_type", "channel");
    refused(ch_event_json_parse_contact,
            "{\"organisation\":[\"nch\"],\"channel\":\"email\","
            "\"received_at\":\"2026-11-23T09:15:00Z\"}",
            422, "wrong_type", "organisation");
    refused(ch_event_json_parse_contact,
            "{\"organisation\":\"nch\",\"channel\":\"email\",\"received_at\":1795425300}", 422,
            "wrong_type", "received_at");
    refused(ch_event_json_parse_contact,
            "{\"organisation\":\"nch\",\"channel\":\"email\","
            "\"received_at\":\"2026-11-23T09:15:00Z\",\"summary\":true}",
            422, "wrong_type", "summary");
    refused(ch_event_json_parse_contact,
            "{\"organisation\":\"nch\",\"channel\":\"email\","
            "\"received_at\":\"2026-11-23T09:15:00Z\",\"customer\":\"Ada\"}",
            422, "wrong_type", "customer");
    refused(ch_event_json_parse_contact,
            "{\"organisation\":\"nch\",\"channel\":\"email\","
            "\"received_at\":\"2026-11-23T09:15:00Z\",\"customer\":{\"email\":5}}",
            422, "wrong_type", "customer.email");
}

static void
test_contact_unknown_channel(void **state)
{
    (void)state;
    ch_json_error err = refused(ch_event_json_parse_contact,
                                "{\"organisation\":\"nch\",\"channel\":\"fax\","
                                "\"received_at\":\"2026-11-23T09:15:00Z\"}",
                                422, "unknown_channel", NULL);
    assert_string_equal(err.field, "channel");
    if (!strstr(err.message, "fax"))
        fail_msg("message does not name the channel given: %s", err.message);

    refused(ch_event_json_parse_contact,
            "{\"organisation\":\"nch\",\"channel\":\"email\","
            "\"received_at\":\"2026-11-23T09:15:00Z\","
            "\"customer\":{\"preferred_channel\":\"pigeon\"}}",
            422, "unknown_channel", "customer.preferred_channel");
}

/* Reliability review H1: an address carrying CR LF and a second RCPT TO is
 * refused at the door, naming the field and why. */
static void
test_contact_email_must_be_a_mailbox(void **state)
{
    (void)state;
    ch_json_error err = refused(ch_event_json_parse_contact,
                                "{\"organisation\":\"nch\",\"channel\":\"email\","
                                "\"received_at\":\"2026-11-23T09:15:00Z\","
                                "\"customer\":{\"email\":\"a@example.org>\\r\\nRCPT "
                                "TO:<x@evil.example\"}}",
                                422, "invalid_value", "customer.email");
    if (!strstr(err.message, "< > , ;"))
        fail_msg("message does not say why: %s", err.message);
    refused(ch_event_json_parse_contact,
            "{\"organisation\":\"nch\",\"channel\":\"email\","
            "\"received_at\":\"2026-11-23T09:15:00Z\",\"customer\":{\"email\":\"ann\"}}",
            422, "invalid_value", "customer.email");
}

static void
test_contact_unknown_fields(void **state)
{
    (void)state;
    refused(ch_event_json_parse_contact,
            "{\"organisation\":\"nch\",\"channel\":\"email\","
            "\"received_at\":\"2026-11-23T09:15:00Z\",\"priority\":\"high\"}",
            422, "unknown_field", "priority");
    /* a misspelt required field is reported as unknown, not silently dropped */
    refused(ch_event_json_parse_contact,
            "{\"organisation\":\"nch\",\"chanel\":\"email\","
            "\"received_at\":\"2026-11-23T09:15:00Z\"}",
            422, "unknown_field", "chanel");
    refused(ch_event_json_parse_contact,
            "{\"organisation\":\"nch\",\"channel\":\"email\","
            "\"received_at\":\"2026-11-23T09:15:00Z\","
            "\"customer\":{\"name\":\"Ada\",\"xyz\":1}}",
            422, "unknown_field", "customer.xyz");
}

static void
test_contact_bad_timestamps(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "2026-11-23T09:15:00",    /* no offset */
        "2026-02-30T09:15:00Z",   /* no 30 February */
        "2026-11-23",             /* date only */
        "23/11/2026 09:15",       /* not RFC 3339 */
        "2026-11-23T09:15:00Zzz", /* trailing text */
        "2026-11-23T25:15:00Z",   /* hour 25 */
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"organisation\":\"nch\",\"channel\":\"email\",\"received_at\":\"%s\"}", bad[i]);
        refused(ch_event_json_parse_contact, body, 422, NULL, "received_at");
    }
}

/*
 * common.proto documents Timestamp.nanos as 0..999,999,999; an instant before
 * the epoch (a 1970 date with a positive offset, which
 * ch_time_parse_rfc3339() accepts) must be split with floor semantics:
 * seconds = -3600, nanos = 250000000, not -3599 and -750000000.
 */
static void
test_contact_pre_epoch_nanos_in_range(void **state)
{
    (void)state;
    /* a time before the calendars' first year is refused naming the field
     * (sla-timer and reporting would dead-letter it after a 202) */
    ch_json_error e = refused(ch_event_json_parse_contact,
                              "{\"organisation\":\"nch\",\"channel\":\"email\","
                              "\"received_at\":\"1970-01-01T00:00:00.250+01:00\"}",
                              422, "invalid_value", "received_at");
    assert_non_null(strstr(e.message, "before 1995"));
    assert_string_equal(e.reason, "it is before 1995, the first year the calendars cover");
}

/* The event as JSON parsed it, and the caller's additions, survive the wire. */
static void
test_contact_protobuf_round_trip(void **state)
{
    (void)state;
    Charter__V1__CaseEvent *ev = contact_ok(CONTACT_EXAMPLE);
    ev->event_id = strdup("evt-1");
    ev->case_id = strdup("case-42");
    ev->source = strdup("http:dev");
    assert_non_null(ev->event_id);
    assert_non_null(ev->case_id);
    assert_non_null(ev->source);

    size_t len = charter__v1__case_event__get_packed_size(ev);
    assert_true(len > 0);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    assert_int_equal(charter__v1__case_event__pack(ev, buf), len);
    Charter__V1__CaseEvent *back = charter__v1__case_event__unpack(NULL, len, buf);
    free(buf);
    assert_non_null(back);

    assert_int_equal(back->event_case, CHARTER__V1__CASE_EVENT__EVENT_RECEIVED);
    assert_string_equal(back->event_id, "evt-1");
    assert_string_equal(back->case_id, "case-42");
    assert_string_equal(back->source, "http:dev");
    assert_string_equal(back->organisation, ev->organisation);
    assert_non_null(back->occurred_at);
    assert_int_equal(back->occurred_at->seconds, 1795425300);
    assert_int_equal(back->occurred_at->nanos, 0);
    assert_non_null(back->received);
    assert_int_equal(back->received->channel, CHARTER__V1__CHANNEL__CHANNEL_EMAIL);
    assert_string_equal(back->received->case_type, "enquiry");
    assert_string_equal(back->received->summary, ev->received->summary);
    assert_non_null(back->received->customer);
    assert_string_equal(back->received->customer->name, "Ada Lovelace");
    assert_string_equal(back->received->customer->email, "ada@example.org");
    assert_string_equal(back->received->customer->phone, "+441154960000");

    ch_event_json_free(back);
    ch_event_json_free(ev);
}

static void
test_case_event_round_trip(void **state)
{
    (void)state;
    Charter__V1__CaseEvent *ev =
        case_event_ok("{\"type\":\"responded\",\"organisation\":\"nch\","
                      "\"occurred_at\":\"2026-11-30T16:00:00.500Z\",\"channel\":\"letter\","
                      "\"full_response\":false}");
    size_t len = charter__v1__case_event__get_packed_size(ev);
    uint8_t *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    assert_int_equal(charter__v1__case_event__pack(ev, buf), len);
    Charter__V1__CaseEvent *back = charter__v1__case_event__unpack(NULL, len, buf);
    free(buf);
    assert_non_null(back);
    assert_int_equal(back->event_case, CHARTER__V1__CASE_EVENT__EVENT_RESPONDED);
    assert_string_equal(back->organisation, "nch");
    assert_int_equal(back->occurred_at->seconds, fx_utc(2026, 11, 30, 16, 0, 0));
    assert_int_equal(back->occurred_at->nanos, 500000000);
    assert_int_equal(back->responded->channel, CHARTER__V1__CHANNEL__CHANNEL_LETTER);
    assert_false(back->responded->full_response);
    ch_event_json_free(back);
    ch_event_json_free(ev);
}

static void
test_case_event_acknowledged(void **state)
{
    (void)state;
    Charter__V1__CaseEvent *ev =
        case_event_ok("{\"type\":\"acknowledged\",\"organisation\":\"nch\","
                      "\"occurred_at\":\"2026-11-24T10:00:00+00:00\",\"channel\":\"email\","
                      "\"by\":\"automatic\"}");
    assert_int_equal(ev->event_case, CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED);
    assert_string_equal(ev->organisation, "nch");
    assert_int_equal(ev->occurred_at->seconds, fx_utc(2026, 11, 24, 10, 0, 0));
    assert_non_null(ev->acknowledged);
    assert_int_equal(ev->acknowledged->channel, CHARTER__V1__CHANNEL__CHANNEL_EMAIL);
    assert_string_equal(ev->acknowledged->by, "automatic");
    assert_string_equal(ev->case_id, "");
    ch_event_json_free(ev);

    ev = case_event_ok("{\"type\":\"acknowledged\",\"organisation\":\"nch\","
                       "\"occurred_at\":\"2026-11-24T10:00:00Z\"}");
    assert_int_equal(ev->acknowledged->channel, CHARTER__V1__CHANNEL__CHANNEL_UNSPECIFIED);
    assert_string_equal(ev->acknowledged->by, "");
    ch_event_json_free(ev);
}

static void
test_case_event_responded_full_response(void **state)
{
    (void)state;
    Charter__V1__CaseEvent *ev =
        case_event_ok("{\"type\":\"responded\",\"organisation\":\"nch\","
                      "\"occurred_at\":\"2026-11-30T16:00:00Z\",\"channel\":\"phone\"}");
    assert_int_equal(ev->event_case, CHARTER__V1__CASE_EVENT__EVENT_RESPONDED);
    assert_non_null(ev->responded);
    assert_int_equal(ev->responded->channel, CHARTER__V1__CHANNEL__CHANNEL_PHONE);
    assert_true(ev->responded->full_response);
    ch_event_json_free(ev);

    ev = case_event_ok("{\"type\":\"responded\",\"organisation\":\"nch\","
                       "\"occurred_at\":\"2026-11-30T16:00:00Z\",\"full_response\":false}");
    assert_false(ev->responded->full_response);
    ch_event_json_free(ev);

    ev = case_event_ok("{\"type\":\"responded\",\"organisation\":\"nch\","
                       "\"occurred_at\":\"2026-11-30T16:00:00Z\",\"full_response\":true}");
    assert_true(ev->responded->full_response);
    ch_event_json_free(ev);

    refused(ch_event_json_parse_case_event,
            "{\"type\":\"responded\",\"organisation\":\"nch\","
            "\"occurred_at\":\"2026-11-30T16:00:00Z\",\"full_response\":\"no\"}",
            422, "wrong_type", "full_response");
}

static void
test_case_event_closed(void **state)
{
    (void)state;
    Charter__V1__CaseEvent *ev =
        case_event_ok("{\"type\":\"closed\",\"organisation\":\"nch\","
                      "\"occurred_at\":\"2026-12-01T09:00:00-05:30\",\"outcome\":\"resolved\"}");
    assert_int_equal(ev->event_case, CHARTER__V1__CASE_EVENT__EVENT_CLOSED);
    assert_non_null(ev->closed);
    assert_string_equal(ev->closed->outcome, "resolved");
    assert_int_equal(ev->occurred_at->seconds, fx_utc(2026, 12, 1, 14, 30, 0));
    ch_event_json_free(ev);
}

static void
test_case_event_errors(void **state)
{
    (void)state;
    ch_json_error err = refused(ch_event_json_parse_case_event,
                                "{\"type\":\"reopened\",\"organisation\":\"nch\","
                                "\"occurred_at\":\"2026-11-30T16:00:00Z\"}",
                                422, "unknown_event_type", NULL);
    if (!strstr(err.message, "reopened"))
        fail_msg("message does not name the type given: %s", err.message);

    refused(ch_event_json_parse_case_event, "{\"type\":\"closed\",\"organisation\":\"nch\"}", 422,
            "missing_field", "occurred_at");
    refused(ch_event_json_parse_case_event,
            "{\"type\":\"closed\",\"occurred_at\":\"2026-11-30T16:00:00Z\"}", 422, "missing_field",
            "organisation");
    refused(ch_event_json_parse_case_event,
            "{\"organisation\":\"nch\",\"occurred_at\":\"2026-11-30T16:00:00Z\"}", 422,
            "missing_field", "type");
    refused(ch_event_json_parse_case_event,
            "{\"type\":7,\"organisation\":\"nch\",\"occurred_at\":\"2026-11-30T16:00:00Z\"}", 422,
            "wrong_type", "type");
    refused(ch_event_json_parse_case_event,
            "{\"type\":\"closed\",\"organisation\":\"nch\","
            "\"occurred_at\":\"2026-11-30T16:00:00\"}",
            422, NULL, "occurred_at");
    /* a field of another event type is unknown here */
    refused(ch_event_json_parse_case_event,
            "{\"type\":\"acknowledged\",\"organisation\":\"nch\","
            "\"occurred_at\":\"2026-11-30T16:00:00Z\",\"outcome\":\"resolved\"}",
            422, "unknown_field", "outcome");
    refused(ch_event_json_parse_case_event,
            "{\"type\":\"responded\",\"organisation\":\"nch\","
            "\"occurred_at\":\"2026-11-30T16:00:00Z\",\"channel\":\"fax\"}",
            422, "unknown_channel", NULL);
    refused(ch_event_json_parse_case_event, "{\"type\":\"closed\",", 400, "invalid_json", NULL);
    refused(ch_event_json_parse_case_event, "[\"closed\"]", 422, NULL, NULL);
    refused(ch_event_json_parse_case_event,
            "{\"type\":\"closed\",\"type\":\"responded\",\"organisation\":\"nch\","
            "\"occurred_at\":\"2026-11-30T16:00:00Z\"}",
            400, "invalid_json", NULL);
}

/* An explicitly empty case type means the default, not "no type". */
static void
test_contact_empty_case_type_defaults(void **state)
{
    (void)state;
    Charter__V1__CaseEvent *ev =
        contact_ok("{\"organisation\":\"nch\",\"channel\":\"email\",\"case_type\":\"\","
                   "\"received_at\":\"2026-11-23T09:15:00Z\"}");
    assert_string_equal(ev->received->case_type, "enquiry");
    ch_event_json_free(ev);
}

/* A case event for an empty organisation is refused like a contact is. */
static void
test_case_event_empty_organisation(void **state)
{
    (void)state;
    ch_json_error e = refused(
        ch_event_json_parse_case_event,
        "{\"type\":\"closed\",\"organisation\":\"\",\"occurred_at\":\"2026-11-23T09:15:00Z\"}", 422,
        "missing_field", "organisation");
    assert_string_equal(e.code, "missing_field");
}

#define ENV "\"organisation\":\"nch\",\"occurred_at\":\"2026-11-24T10:00:00Z\""

/* ---- records (POST /v1/events, NDJSON lines, gateway topics) ---- */

static int
parse_record(const char *body, Charter__V1__CaseEvent **ev, ch_event_json_meta *meta,
             ch_json_error *err)
{
    memset(err, 0, sizeof(*err));
    return ch_event_json_parse(body, strlen(body), CH_EVENT_JSON_RECORD, ev, meta, err);
}

static int
parse_record_nometa(const char *body, size_t len, Charter__V1__CaseEvent **ev, ch_json_error *err)
{
    ch_event_json_meta meta;
    return ch_event_json_parse(body, len, CH_EVENT_JSON_RECORD, ev, &meta, err);
}

static void
test_records(void **state)
{
    (void)state;
    Charter__V1__CaseEvent *ev = NULL;
    ch_event_json_meta meta;
    ch_json_error err;
    int rc =
        parse_record("{\"type\":\"received\",\"organisation\":\"nch\",\"channel\":\"sms\","
                     "\"received_at\":\"2026-11-23T09:15:00Z\",\"gateway_message_id\":\"sms-1\"}",
                     &ev, &meta, &err);
    if (rc)
        fail_msg("refused: %s", err.message);
    assert_int_equal(ev->event_case, CHARTER__V1__CASE_EVENT__EVENT_RECEIVED);
    assert_string_equal(ev->received->gateway_message_id, "sms-1");
    assert_string_equal(meta.gateway_message_id, "sms-1");
    assert_string_equal(meta.case_id, "");
    ch_event_json_free(ev);

    rc = parse_record("{\"type\":\"acknowledged\",\"case_id\":\"c-42\"," ENV
                      ",\"gateway_message_id\":\"m:7/x\"}",
                      &ev, &meta, &err);
    if (rc)
        fail_msg("refused: %s", err.message);
    assert_int_equal(ev->event_case, CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED);
    assert_string_equal(meta.case_id, "c-42");
    assert_string_equal(meta.gateway_message_id, "m:7/x");
    assert_string_equal(ev->case_id, ""); /* the caller sets it */
    ch_event_json_free(ev);

    refused(parse_record_nometa, "{\"type\":\"closed\"," ENV "}", 422, "missing_field", "case_id");
    refused(parse_record_nometa, "{\"type\":\"closed\",\"case_id\":\"../x\"," ENV "}", 422,
            "invalid_value", "case_id");
    refused(
        parse_record_nometa,
        "{\"organisation\":\"nch\",\"channel\":\"sms\",\"received_at\":\"2026-11-23T09:15:00Z\"}",
        422, "missing_field", "type");
    refused(
        parse_record_nometa,
        "{\"type\":\"received\",\"case_id\":\"c1\",\"organisation\":\"nch\",\"channel\":\"sms\","
        "\"received_at\":\"2026-11-23T09:15:00Z\"}",
        422, "unknown_field", "case_id");
    /* case_id belongs in the URL for POST /v1/cases/{id}/events */
    refused(ch_event_json_parse_case_event, "{\"type\":\"closed\",\"case_id\":\"c1\"," ENV "}", 422,
            "unknown_field", "case_id");
}

static void
test_gateway_message_id(void **state)
{
    (void)state;
    Charter__V1__CaseEvent *ev = NULL;
    ch_event_json_meta meta;
    ch_json_error err;
    memset(&err, 0, sizeof(err));
    const char *b = "{\"type\":\"closed\"," ENV ",\"gateway_message_id\":\"crm-991\"}";
    assert_int_equal(ch_event_json_parse(b, strlen(b), CH_EVENT_JSON_CASE_EVENT, &ev, &meta, &err),
                     0);
    assert_string_equal(meta.gateway_message_id, "crm-991");
    ch_event_json_free(ev);

    refused(ch_event_json_parse_case_event,
            "{\"type\":\"closed\"," ENV ",\"gateway_message_id\":\"a b\"}", 422, "invalid_value",
            "gateway_message_id");
    refused(ch_event_json_parse_case_event,
            "{\"type\":\"closed\"," ENV ",\"gateway_message_id\":\"\"}", 422, NULL,
            "gateway_message_id");
    char body[512], id[CH_GATEWAY_MESSAGE_ID_MAX + 2];
    memset(id, 'x', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    snprintf(body, sizeof(body), "{\"type\":\"closed\"," ENV ",\"gateway_message_id\":\"%s\"}", id);
    refused(ch_event_json_parse_case_event, body, 422, "invalid_value", "gateway_message_id");
    id[CH_GATEWAY_MESSAGE_ID_MAX] = '\0'; /* exactly the maximum is fine */
    snprintf(body, sizeof(body), "{\"type\":\"closed\"," ENV ",\"gateway_message_id\":\"%s\"}", id);
    ch_event_json_free(case_event_ok(body));
}

/* The gateways' fields (issue 15): a message's subject, its attachments
 * (names and sizes, never contents), the account it was sent to, a social
 * sender's id; and a customer's message on an existing case. */
static void
test_gateway_fields(void **state)
{
    (void)state;
    Charter__V1__CaseEvent *ev = contact_ok(
        "{\"organisation\":\"nch\",\"channel\":\"email\",\"received_at\":\"2026-11-23T09:15:00Z\","
        "\"subject\":\"Damp in the bedroom\",\"gateway_account\":\"repairs@nch.example\","
        "\"attachments\":[{\"name\":\"wall.jpg\",\"content_type\":\"image/jpeg\","
        "\"size_bytes\":182044},{\"name\":\"letter.pdf\"}],"
        "\"customer\":{\"social_id\":\"6543210987654321\"}}");
    Charter__V1__Received *r = ev->received;
    assert_string_equal(r->subject, "Damp in the bedroom");
    assert_string_equal(r->gateway_account, "repairs@nch.example");
    assert_int_equal(r->n_attachments, 2);
    assert_string_equal(r->attachments[0]->name, "wall.jpg");
    assert_string_equal(r->attachments[0]->content_type, "image/jpeg");
    assert_int_equal(r->attachments[0]->size_bytes, 182044);
    assert_string_equal(r->attachments[1]->name, "letter.pdf");
    assert_int_equal(r->attachments[1]->size_bytes, 0);
    assert_string_equal(r->customer->social_id, "6543210987654321");
    ch_event_json_free(ev);

    refused(
        ch_event_json_parse_contact,
        "{\"organisation\":\"nch\",\"channel\":\"email\",\"received_at\":\"2026-11-23T09:15:00Z\","
        "\"subject\":\"two\\nlines\"}",
        422, "invalid_value", "subject");
    refused(
        ch_event_json_parse_contact,
        "{\"organisation\":\"nch\",\"channel\":\"email\",\"received_at\":\"2026-11-23T09:15:00Z\","
        "\"attachments\":{\"name\":\"a\"}}",
        422, "wrong_type", "attachments");
    ch_json_error e = refused(
        ch_event_json_parse_contact,
        "{\"organisation\":\"nch\",\"channel\":\"email\",\"received_at\":\"2026-11-23T09:15:00Z\","
        "\"attachments\":[{\"name\":\"a\"},{\"name\":\"b\",\"size_bytes\":-1}]}",
        422, "invalid_value", "attachments.size_bytes");
    assert_non_null(strstr(e.message, "attachment 2"));
    refused(
        ch_event_json_parse_contact,
        "{\"organisation\":\"nch\",\"channel\":\"email\",\"received_at\":\"2026-11-23T09:15:00Z\","
        "\"attachments\":[{\"name\":\"a\",\"data\":\"AAAA\"}]}",
        422, "unknown_field", "attachments.data");
    refused(
        ch_event_json_parse_contact,
        "{\"organisation\":\"nch\",\"channel\":\"email\",\"received_at\":\"2026-11-23T09:15:00Z\","
        "\"customer\":{\"social_id\":\"a b\"}}",
        422, "invalid_value", "customer.social_id");

    ch_event_json_meta meta;
    ch_json_error err;
    const char *b = "{\"type\":\"customer_message\"," ENV ",\"channel\":\"sms\","
                    "\"summary\":\"Photo sent\",\"from\":\"+447700900123\","
                    "\"in_reply_to\":\"case-1/acknowledgement\",\"gateway_message_id\":\"sms-9\","
                    "\"subject\":\"Re: your case\",\"attachments\":[{\"name\":\"p.png\"}]}";
    ev = NULL;
    assert_int_equal(ch_event_json_parse(b, strlen(b), CH_EVENT_JSON_CASE_EVENT, &ev, &meta, &err),
                     0);
    assert_int_equal(ev->event_case, CHARTER__V1__CASE_EVENT__EVENT_CUSTOMER_MESSAGE);
    Charter__V1__CustomerMessage *m = ev->customer_message;
    assert_int_equal(m->channel, CHARTER__V1__CHANNEL__CHANNEL_SMS);
    assert_string_equal(m->summary, "Photo sent");
    assert_string_equal(m->from, "+447700900123");
    assert_string_equal(m->in_reply_to, "case-1/acknowledgement");
    assert_string_equal(m->gateway_message_id, "sms-9"); /* the envelope's */
    assert_string_equal(meta.gateway_message_id, "sms-9");
    assert_string_equal(m->subject, "Re: your case");
    assert_int_equal(m->n_attachments, 1);
    ch_event_json_free(ev);
    refused(ch_event_json_parse_case_event, "{\"type\":\"customer_message\"," ENV "}", 422,
            "missing_field", "channel");
    refused(ch_event_json_parse_case_event,
            "{\"type\":\"customer_message\"," ENV ",\"channel\":\"sms\",\"from\":\"a|b\"}", 422,
            "invalid_value", "from");
}

static void
test_next_line(void **state)
{
    (void)state;
    const char *text = "a\r\n\nbc\n  \nlast";
    const char *want[] = {"a", "", "bc", "  ", "last"};
    size_t pos = 0, n, count = 0;
    const char *line;
    while (ch_event_json_next_line(text, strlen(text), &pos, &line, &n)) {
        assert_true(count < 5);
        assert_int_equal(n, strlen(want[count]));
        assert_memory_equal(line, want[count], n);
        count++;
    }
    assert_int_equal(count, 5);
    pos = 0;
    assert_int_equal(ch_event_json_next_line("", 0, &pos, &line, &n), 0);
    pos = 0;
    assert_int_equal(ch_event_json_next_line("x\n", 2, &pos, &line, &n), 1);
    assert_int_equal(n, 1);
    assert_int_equal(ch_event_json_next_line("x\n", 2, &pos, &line, &n), 0);
}

static void
test_valid_case_id(void **state)
{
    (void)state;
    assert_true(ch_event_json_valid_case_id("3f1c-AB_9", 9));
    assert_false(ch_event_json_valid_case_id("", 0));
    assert_false(ch_event_json_valid_case_id("a/b", 3));
    assert_false(ch_event_json_valid_case_id("a b", 3));
    char long_id[CH_CASE_ID_MAX + 1];
    memset(long_id, 'a', sizeof(long_id));
    assert_true(ch_event_json_valid_case_id(long_id, CH_CASE_ID_MAX));
    assert_false(ch_event_json_valid_case_id(long_id, CH_CASE_ID_MAX + 1));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contact_documented_shape),
        cmocka_unit_test(test_contact_all_fields),
        cmocka_unit_test(test_contact_minimal_has_no_customer),
        cmocka_unit_test(test_contact_uses_len_not_nul),
        cmocka_unit_test(test_every_channel_name),
        cmocka_unit_test(test_channel_unknown_names),
        cmocka_unit_test(test_contact_malformed_json),
        cmocka_unit_test(test_contact_duplicate_keys),
        cmocka_unit_test(test_contact_body_not_object),
        cmocka_unit_test(test_contact_missing_fields),
        cmocka_unit_test(test_contact_wrong_types),
        cmocka_unit_test(test_contact_unknown_channel),
        cmocka_unit_test(test_contact_email_must_be_a_mailbox),
        cmocka_unit_test(test_contact_unknown_fields),
        cmocka_unit_test(test_contact_bad_timestamps),
        cmocka_unit_test(test_contact_pre_epoch_nanos_in_range),
        cmocka_unit_test(test_contact_protobuf_round_trip),
        cmocka_unit_test(test_case_event_round_trip),
        cmocka_unit_test(test_case_event_acknowledged),
        cmocka_unit_test(test_case_event_responded_full_response),
        cmocka_unit_test(test_case_event_closed),
        cmocka_unit_test(test_case_event_errors),
        cmocka_unit_test(test_contact_empty_case_type_defaults),
        cmocka_unit_test(test_case_event_empty_organisation),
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_gateway_message_id),
        cmocka_unit_test(test_gateway_fields),
        cmocka_unit_test(test_next_line),
        cmocka_unit_test(test_valid_case_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
