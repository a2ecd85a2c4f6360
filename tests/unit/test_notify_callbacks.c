/*
 * GOV.UK Notify's callbacks, the pure half (services/ingest/notify_callbacks.h):
 * the bodies as Notify's documentation gives them (docs.notifications.service
 * .gov.uk, "Callbacks"), what a receipt's reference and status mean, the
 * bearer token check, the settings file, and finding a reference in a text.
 * A wrong call here either drops a customer's text or a receipt, or lets
 * anyone who guesses the URL write events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "notify_callbacks.h"

/* Notify's documented delivery receipt, with a Charter notification id as
 * its reference. */
static const char receipt_body[] =
    "{\"id\":\"740e5834-3a29-46b4-9a6f-16142fde533a\","
    "\"reference\":\"8c1f0a2b-1111-4222-8333-944455556666/acknowledgement\","
    "\"to\":\"07700912345\",\"status\":\"permanent-failure\","
    "\"created_at\":\"2017-05-14T12:15:30.000000Z\","
    "\"completed_at\":\"2017-05-14T12:15:31.000000Z\","
    "\"sent_at\":\"2017-05-14T12:15:30.500000Z\",\"notification_type\":\"sms\","
    "\"template_id\":\"f33517ff-2a88-4f6e-b855-c550268ce08a\",\"template_version\":1}";

static void
test_receipt_documented_body(void **state)
{
    (void)state;
    notify_receipt r;
    ch_json_error err;
    assert_int_equal(notify_receipt_parse(receipt_body, strlen(receipt_body), &r, &err), 0);
    assert_string_equal(r.id, "740e5834-3a29-46b4-9a6f-16142fde533a");
    assert_string_equal(r.status, "permanent-failure");
    assert_string_equal(r.notification_type, "sms");
    /* completed_at wins over sent_at and created_at */
    assert_int_equal(r.occurred_ms, 1494764131000LL);
    char case_id[CH_CASE_ID_MAX + 1];
    assert_int_equal(notify_reference_split(r.reference, case_id, sizeof(case_id)), 1);
    assert_string_equal(case_id, "8c1f0a2b-1111-4222-8333-944455556666");
    assert_int_equal(notify_status_map(r.status),
                     CHARTER__V1__DELIVERY_RECEIPT__STATUS__STATUS_PERMANENT_FAILURE);
}

static void
test_receipt_times_fall_back(void **state)
{
    (void)state;
    notify_receipt r;
    ch_json_error err;
    const char *b = "{\"id\":\"a\",\"status\":\"delivered\",\"reference\":null,"
                    "\"completed_at\":null,\"sent_at\":\"2017-05-14T12:15:30.000000Z\"}";
    assert_int_equal(notify_receipt_parse(b, strlen(b), &r, &err), 0);
    assert_int_equal(r.occurred_ms, 1494764130000LL);
    assert_string_equal(r.reference, "");
    /* no offset: Notify's times are UTC */
    b = "{\"id\":\"a\",\"status\":\"delivered\",\"created_at\":\"2017-05-14T12:15:30.000000\"}";
    assert_int_equal(notify_receipt_parse(b, strlen(b), &r, &err), 0);
    assert_int_equal(r.occurred_ms, 1494764130000LL);
}

static void
test_receipt_refusals_name_the_field(void **state)
{
    (void)state;
    notify_receipt r;
    ch_json_error err;
    const char *b = "{\"reference\":\"x/y\",\"status\":\"delivered\"}";
    assert_int_not_equal(notify_receipt_parse(b, strlen(b), &r, &err), 0);
    assert_int_equal(err.status, 422);
    assert_string_equal(err.field, "id");
    b = "{\"id\":\"a\",\"status\":7}";
    assert_int_not_equal(notify_receipt_parse(b, strlen(b), &r, &err), 0);
    assert_string_equal(err.code, "wrong_type");
    assert_string_equal(err.field, "status");
    b = "{\"id\":\"a\",\"status\":\"delivered\",\"sent_at\":\"yesterday\"}";
    assert_int_not_equal(notify_receipt_parse(b, strlen(b), &r, &err), 0);
    assert_string_equal(err.field, "sent_at");
    b = "[1]";
    assert_int_not_equal(notify_receipt_parse(b, strlen(b), &r, &err), 0);
    assert_int_equal(err.status, 422);
    b = "{\"id\":";
    assert_int_not_equal(notify_receipt_parse(b, strlen(b), &r, &err), 0);
    assert_int_equal(err.status, 400);
}

static void
test_statuses(void **state)
{
    (void)state;
    assert_int_equal(notify_status_map("delivered"),
                     CHARTER__V1__DELIVERY_RECEIPT__STATUS__STATUS_DELIVERED);
    assert_int_equal(notify_status_map("temporary-failure"),
                     CHARTER__V1__DELIVERY_RECEIPT__STATUS__STATUS_TEMPORARY_FAILURE);
    assert_int_equal(notify_status_map("technical-failure"),
                     CHARTER__V1__DELIVERY_RECEIPT__STATUS__STATUS_TECHNICAL_FAILURE);
    assert_int_equal(notify_status_map("sending"),
                     CHARTER__V1__DELIVERY_RECEIPT__STATUS__STATUS_UNSPECIFIED);
    assert_int_equal(notify_status_map("Delivered"),
                     CHARTER__V1__DELIVERY_RECEIPT__STATUS__STATUS_UNSPECIFIED);
}

static void
test_references_not_ours(void **state)
{
    (void)state;
    char c[CH_CASE_ID_MAX + 1];
    assert_int_equal(notify_reference_split("None", c, sizeof(c)), 0); /* str(None) */
    assert_int_equal(notify_reference_split("12345678", c, sizeof(c)), 0);
    assert_int_equal(notify_reference_split("", c, sizeof(c)), 0);
    assert_int_equal(notify_reference_split("/ack", c, sizeof(c)), 0);
    assert_int_equal(notify_reference_split("abc/", c, sizeof(c)), 0);
    assert_int_equal(notify_reference_split("a b/ack", c, sizeof(c)), 0);
    assert_int_equal(notify_reference_split("abc/warning 1", c, sizeof(c)), 0);
    assert_int_equal(notify_reference_split("abc/warning/1", c, sizeof(c)), 1);
    assert_string_equal(c, "abc");
}

static const char text_body[] =
    "{\"id\":\"f3f6d6b2-5c4e-4d8b-9d3a-1b2c3d4e5f60\",\"source_number\":\"447700912345\","
    "\"destination_number\":\"07700987654\",\"message\":\"Hello Notify!\","
    "\"date_received\":\"2017-05-14T12:15:30.000000Z\"}";

static void
test_text_documented_body(void **state)
{
    (void)state;
    notify_text t;
    ch_json_error err;
    assert_int_equal(notify_text_parse(text_body, strlen(text_body), &t, &err), 0);
    assert_string_equal(t.id, "f3f6d6b2-5c4e-4d8b-9d3a-1b2c3d4e5f60");
    assert_string_equal(t.message, "Hello Notify!");
    assert_int_equal(t.received_ms, 1494764130000LL);
    char e164[CH_PHONE_E164_BUFSZ];
    assert_int_equal(notify_number_e164(t.source_number, e164), 1);
    assert_string_equal(e164, "+447700912345");
    assert_int_equal(notify_number_e164(t.destination_number, e164), 1);
    assert_string_equal(e164, "+447700987654");
    notify_text_clear(&t);

    const char *b = "{\"id\":\"x\",\"source_number\":\"447700912345\",\"message\":3,"
                    "\"date_received\":\"2017-05-14T12:15:30.000000Z\"}";
    assert_int_not_equal(notify_text_parse(b, strlen(b), &t, &err), 0);
    assert_string_equal(err.field, "message");
    assert_null(t.message);
    b = "{\"id\":\"x\",\"message\":\"hi\",\"date_received\":\"2017-05-14T12:15:30Z\"}";
    assert_int_not_equal(notify_text_parse(b, strlen(b), &t, &err), 0);
    assert_string_equal(err.field, "source_number");
}

static void
test_numbers(void **state)
{
    (void)state;
    char e[CH_PHONE_E164_BUFSZ];
    assert_int_equal(notify_number_e164("+44 7700 900123", e), 1);
    assert_string_equal(e, "+447700900123");
    assert_int_equal(notify_number_e164("07700900123", e), 1);
    assert_string_equal(e, "+447700900123");
    assert_int_equal(notify_number_e164("CouncilTax", e), 0);
    assert_int_equal(notify_number_e164("", e), 0);
    assert_int_equal(notify_number_e164(NULL, e), 0);
}

static notify_org
org_with(const char *t0, const char *t1)
{
    notify_org o;
    memset(&o, 0, sizeof(o));
    strcpy(o.organisation, "nch");
    strcpy(o.token[0], t0);
    strcpy(o.token[1], t1);
    return o;
}

static void
test_bearer(void **state)
{
    (void)state;
    notify_org o = org_with("first-token-123", "");
    assert_int_equal(notify_bearer_ok(&o, "Bearer first-token-123"), 1);
    assert_int_equal(notify_bearer_ok(&o, "bearer first-token-123"), 1);
    assert_int_equal(notify_bearer_ok(&o, "Bearer first-token-12"), 0);
    assert_int_equal(notify_bearer_ok(&o, "Bearer first-token-1234"), 0);
    assert_int_equal(notify_bearer_ok(&o, "Bearer "), 0);
    assert_int_equal(notify_bearer_ok(&o, "first-token-123"), 0);
    assert_int_equal(notify_bearer_ok(&o, "Basic first-token-123"), 0);
    assert_int_equal(notify_bearer_ok(&o, NULL), 0);
    assert_int_equal(notify_bearer_ok(NULL, "Bearer first-token-123"), 0);
    /* rotation: either token */
    o = org_with("first-token-123", "second-token-456");
    assert_int_equal(notify_bearer_ok(&o, "Bearer second-token-456"), 1);
    assert_int_equal(notify_bearer_ok(&o, "Bearer first-token-123"), 1);
    assert_int_equal(notify_bearer_ok(&o, "Bearer third-token-789"), 0);
}

static void
test_settings(void **state)
{
    (void)state;
    notify_orgs orgs;
    char err[256];
    const char *text = "# organisation settings\n"
                       "nch tokens=aaaaaaaaaaaa,bbbbbbbbbbbb case_type=enquiry number=07700900000\n"
                       "\n"
                       "camden token_file=/etc/charter/camden.token  # rotated by ops\n";
    assert_int_equal(notify_orgs_parse(text, "notify.conf", &orgs, err, sizeof(err)), 0);
    assert_int_equal(orgs.n, 2);
    const notify_org *o = notify_orgs_find(&orgs, "nch", 3);
    assert_non_null(o);
    assert_string_equal(o->token[0], "aaaaaaaaaaaa");
    assert_string_equal(o->token[1], "bbbbbbbbbbbb");
    assert_string_equal(o->number, "+447700900000");
    o = notify_orgs_find(&orgs, "camden", 6);
    assert_non_null(o);
    assert_string_equal(o->case_type, "enquiry");
    assert_string_equal(o->token_file, "/etc/charter/camden.token");
    assert_null(notify_orgs_find(&orgs, "cam", 3));
    notify_org copy = *o;
    assert_int_equal(
        notify_org_set_tokens(&copy, "cccccccccccc\r\n\ndddddddddddd\n", err, sizeof(err)), 0);
    assert_string_equal(copy.token[1], "dddddddddddd");
    assert_int_not_equal(notify_org_set_tokens(&copy, "short\n", err, sizeof(err)), 0);
    assert_int_not_equal(notify_org_set_tokens(&copy, "cccccccccccc\ndddddddddddd\neeeeeeeeeeee\n",
                                               err, sizeof(err)),
                         0);
    notify_orgs_free(&orgs);
}

static void
settings_refused(const char *text, const char *want)
{
    notify_orgs orgs;
    char err[256];
    assert_int_not_equal(notify_orgs_parse(text, "notify.conf", &orgs, err, sizeof(err)), 0);
    if (!strstr(err, want))
        fail_msg("'%s' lacks '%s'", err, want);
    assert_int_equal(orgs.n, 0);
    assert_null(strstr(err, "secret-token")); /* never quotes a token */
}

static void
test_settings_refused(void **state)
{
    (void)state;
    settings_refused("nch case_type=enquiry\n", "notify.conf line 1: organisation 'nch' needs");
    settings_refused("nch tokens=short\n", "line 1: key 'tokens'");
    settings_refused("nch tokens=secret-token-1 token_file=/x\n", "one of the two");
    settings_refused("nch tokens=secret-token-1\nnch tokens=secret-token-2\n",
                     "line 2: organisation 'nch' has a line already");
    settings_refused("nch tokens=secret-token-1 colour=blue\n", "unknown key 'colour'");
    settings_refused("nch tokens=secret-token-1 number=abc\n", "key 'number'");
    settings_refused("nch tokens=secret-token-1 case_type=a|b\n", "key 'case_type'");
    settings_refused("nch secret-token-1\n", "is not KEY=VALUE");
    settings_refused("n|ch tokens=secret-token-1\n", "organisation id");
}

static void
test_find_reference(void **state)
{
    (void)state;
    char ref[64];
    assert_int_equal(
        notify_find_reference("Hi, about NCH-2026-000123. Thanks", "NCH", ref, sizeof(ref)), 1);
    assert_string_equal(ref, "NCH-2026-000123");
    assert_int_equal(notify_find_reference("ref nch-2026-000042", "NCH", ref, sizeof(ref)), 1);
    assert_string_equal(ref, "NCH-2026-000042");
    assert_int_equal(notify_find_reference("XNCH-2026-000123", "NCH", ref, sizeof(ref)), 0);
    assert_int_equal(notify_find_reference("NCH-2026-000123X", "NCH", ref, sizeof(ref)), 0);
    assert_int_equal(notify_find_reference("NCH-26-000123", "NCH", ref, sizeof(ref)), 0);
    assert_int_equal(notify_find_reference("ABC-2026-000123", "NCH", ref, sizeof(ref)), 0);
    assert_int_equal(notify_find_reference("no ref, then NCH-2026-000007", "NCH", ref, sizeof(ref)),
                     1);
    assert_string_equal(ref, "NCH-2026-000007");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_receipt_documented_body),
        cmocka_unit_test(test_receipt_times_fall_back),
        cmocka_unit_test(test_receipt_refusals_name_the_field),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_references_not_ours),
        cmocka_unit_test(test_text_documented_body),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_settings_refused),
        cmocka_unit_test(test_find_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
