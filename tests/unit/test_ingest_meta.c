/*
 * Meta's webhooks, the pure part (services/ingest/meta.h): the meta file,
 * the verification handshake, X-Hub-Signature-256, and the documented
 * webhook examples (Messenger Platform "messages" and "message_echoes",
 * message_deliveries, message_reads; Instagram messaging) read into
 * messages and case events. A slip here either lets an unsigned request in
 * or turns a customer's message into nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "charter/errors.h"
#include "meta.h"

#define SECRET "0123456789abcdef0123456789abcdef"

static void
test_conf_parse(void **state)
{
    (void)state;
    const char *text = "# organisation and its Meta settings\n"
                       "\n"
                       "nottingham-city-homes app_secret=" SECRET
                       " verify_token=meatyhamhock-token accounts=1234567890,17841400000000000 "
                       "case_type=complaint_stage_1\n"
                       "derby-homes app_secret_file=/etc/charter/meta.secret "
                       "verify_token_file=/etc/charter/meta.token\n";
    ingest_meta_conf c;
    char err[300];
    assert_int_equal(ingest_meta_conf_parse(text, strlen(text), &c, err, sizeof(err)), 0);
    assert_int_equal(c.n, 2);
    const ingest_meta_org *o = ingest_meta_find(&c, "nottingham-city-homes");
    assert_non_null(o);
    assert_string_equal(o->app_secret, SECRET);
    assert_string_equal(o->case_type, "complaint_stage_1");
    assert_int_equal(o->naccounts, 2);
    assert_true(ingest_meta_account_allowed(o, "17841400000000000"));
    assert_false(ingest_meta_account_allowed(o, "999"));
    o = ingest_meta_find(&c, "derby-homes");
    assert_string_equal(o->case_type, "enquiry");
    assert_string_equal(o->app_secret_file, "/etc/charter/meta.secret");
    assert_null(o->app_secret);
    assert_true(ingest_meta_account_allowed(o, "anything"));
    assert_null(ingest_meta_find(&c, "nobody"));
    ingest_meta_conf_free(&c);
}

static void
expect_conf_error(const char *text, const char *needle)
{
    ingest_meta_conf c;
    char err[300] = "";
    assert_int_equal(ingest_meta_conf_parse(text, strlen(text), &c, err, sizeof(err)), CH_EINVAL);
    if (!strstr(err, needle))
        fail_msg("error '%s' does not say '%s'", err, needle);
    assert_null(strstr(err, "shortsecret")); /* never a secret */
    assert_null(strstr(err, SECRET));
}

static void
test_conf_errors(void **state)
{
    (void)state;
    expect_conf_error("org verify_token=meatyhamhock-token\n", "line 1 (org): no app_secret_file");
    expect_conf_error("org app_secret=" SECRET "\n", "no verify_token_file");
    expect_conf_error("org app_secret=shortsecret verify_token=meatyhamhock-token\n",
                      "app_secret must be 16 to 256");
    expect_conf_error("\norg app_secret=" SECRET " verify_token=meatyhamhock-token colour=red\n",
                      "line 2 (org): unknown key 'colour'");
    expect_conf_error("a app_secret=" SECRET " verify_token=meatyhamhock-token\n"
                      "a app_secret=" SECRET " verify_token=meatyhamhock-token\n",
                      "line 2: organisation a is listed twice");
    expect_conf_error("org app_secret=" SECRET " app_secret_file=/x verify_token=meatyhamhock-t\n",
                      "app_secret_file is given twice");
    expect_conf_error("org app_secret=" SECRET " verify_token=meatyhamhock-token accounts=1,,2\n",
                      "accounts=");
}

static void
test_handshake(void **state)
{
    (void)state;
    const char *text = "org app_secret=" SECRET " verify_token=meatyhamhock-token\n";
    ingest_meta_conf c;
    char err[300];
    assert_int_equal(ingest_meta_conf_parse(text, strlen(text), &c, err, sizeof(err)), 0);
    const ingest_meta_org *o = &c.orgs[0];
    /* Graph API webhooks, "Getting started": the sample verification request */
    assert_true(ingest_meta_handshake_ok(o, "subscribe", "meatyhamhock-token", "1158201444"));
    assert_false(ingest_meta_handshake_ok(o, "subscribe", "meatyhamhock", "1158201444"));
    assert_false(ingest_meta_handshake_ok(o, "subscribe", "meatyhamhock-tokeN", "1158201444"));
    assert_false(ingest_meta_handshake_ok(o, "unsubscribe", "meatyhamhock-token", "1158201444"));
    assert_false(ingest_meta_handshake_ok(o, NULL, "meatyhamhock-token", "1158201444"));
    assert_false(ingest_meta_handshake_ok(o, "subscribe", NULL, "1158201444"));
    assert_false(ingest_meta_handshake_ok(o, "subscribe", "meatyhamhock-token", NULL));
    assert_false(ingest_meta_handshake_ok(o, "subscribe", "meatyhamhock-token",
                                          "<script>"
                                          " x"));
    ingest_meta_conf_free(&c);
}

static void
test_signature(void **state)
{
    (void)state;
    /* HMAC-SHA256("0123456789abcdef0123456789abcdef", "{\"object\":\"page\",\"entry\":[]}"),
     * computed with Python's hmac module */
    const char *body = "{\"object\":\"page\",\"entry\":[]}";
    char header[80] = "sha256=7cbc46b042d7e131c845c3f08d7028636dc75bdd529a85bfd25451ef6fc04d04";
    assert_true(ingest_meta_signature_ok(SECRET, header, body, strlen(body)));
    /* upper-case hex is the same digest */
    for (char *c = header + 7; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    assert_true(ingest_meta_signature_ok(SECRET, header, body, strlen(body)));
    /* one byte of the body changed, another secret, no prefix, short, missing */
    assert_false(ingest_meta_signature_ok(SECRET, header, body, strlen(body) - 1));
    assert_false(
        ingest_meta_signature_ok("0123456789abcdef0123456789abcdeF", header, body, strlen(body)));
    assert_false(ingest_meta_signature_ok(SECRET, header + 7, body, strlen(body)));
    header[70] = '\0';
    assert_false(ingest_meta_signature_ok(SECRET, header, body, strlen(body)));
    assert_false(ingest_meta_signature_ok(SECRET, NULL, body, strlen(body)));
    assert_false(ingest_meta_signature_ok(SECRET, "sha1=abc", body, strlen(body)));
}

/* The Messenger Platform's "messages" example, a text and an image, plus an
 * echo, a delivery and a read in the same webhook. */
static const char messenger[] =
    "{\"object\":\"page\",\"entry\":[{\"id\":\"1234567890\",\"time\":1458692752478,"
    "\"messaging\":["
    "{\"sender\":{\"id\":\"6789012345\"},\"recipient\":{\"id\":\"1234567890\"},"
    "\"timestamp\":1458692752478,\"message\":{\"mid\":\"m_1457764197618:41d102a3e1ae206a38\","
    "\"text\":\"hello, world!\\u0007\",\"attachments\":[{\"type\":\"image\",\"payload\":"
    "{\"url\":\"https://scontent.xx.fbcdn.net/v/t1.15752-9/photo_of_damp.jpg?_nc_cat=1&oh=x\"}}]}},"
    "{\"sender\":{\"id\":\"1234567890\"},\"recipient\":{\"id\":\"6789012345\"},"
    "\"timestamp\":1457764197627,\"message\":{\"is_echo\":true,\"app_id\":1517776481860111,"
    "\"mid\":\"mid.1457764197618:41d102a3e1ae206a38\",\"text\":\"our reply\"}},"
    "{\"sender\":{\"id\":\"6789012345\"},\"recipient\":{\"id\":\"1234567890\"},"
    "\"delivery\":{\"mids\":[\"mid.1458668856218:ed81099e15d3f4f233\"],\"watermark\":1458668856253}"
    "},"
    "{\"sender\":{\"id\":\"6789012345\"},\"recipient\":{\"id\":\"1234567890\"},"
    "\"timestamp\":1458668856463,\"read\":{\"watermark\":1458668856253}},"
    "{\"recipient\":{\"id\":\"1234567890\"},\"timestamp\":1458692752478,"
    "\"message\":{\"mid\":\"m_nosender\",\"text\":\"who?\"}}"
    "]}]}";

static void
test_parse_messenger(void **state)
{
    (void)state;
    ingest_meta_batch b;
    char err[200];
    assert_int_equal(ingest_meta_parse_webhook(messenger, strlen(messenger), 1700000000000, &b, err,
                                               sizeof(err)),
                     0);
    assert_int_equal(b.n, 2);
    assert_int_equal(b.skipped, 3);
    const ingest_meta_msg *m = &b.msgs[0];
    assert_false(m->bad);
    assert_string_equal(m->object, "page");
    assert_string_equal(m->account, "1234567890");
    assert_string_equal(m->sender, "6789012345");
    assert_string_equal(m->mid, "m_1457764197618:41d102a3e1ae206a38");
    assert_int_equal(m->timestamp_ms, 1458692752478);
    assert_int_equal(m->natt, 1);
    assert_string_equal(m->att[0].type, "image");
    assert_string_equal(m->att[0].name, "photo_of_damp.jpg");
    assert_true(b.msgs[1].bad);
    assert_string_equal(b.msgs[1].field, "entry[0].messaging[4].sender.id");

    Charter__V1__CaseEvent *ev;
    ch_event_json_meta meta;
    assert_int_equal(ingest_meta_event(m, "nottingham-city-homes", "enquiry", NULL, &ev, &meta), 0);
    assert_int_equal(ev->event_case, CHARTER__V1__CASE_EVENT__EVENT_RECEIVED);
    assert_string_equal(ev->organisation, "nottingham-city-homes");
    assert_int_equal(ev->occurred_at->seconds, 1458692752);
    assert_int_equal(ev->occurred_at->nanos, 478000000);
    const Charter__V1__Received *r = ev->received;
    assert_int_equal(r->channel, CHARTER__V1__CHANNEL__CHANNEL_SOCIAL);
    assert_string_equal(r->customer->social_id, "6789012345");
    assert_string_equal(r->customer->preferred_channel, "social");
    assert_string_equal(r->gateway_account, "1234567890");
    assert_string_equal(r->gateway_message_id, "m_1457764197618:41d102a3e1ae206a38");
    assert_string_equal(r->summary, "hello, world! "); /* the BEL became a space */
    assert_string_equal(r->case_type, "enquiry");
    assert_int_equal(r->n_attachments, 1);
    assert_string_equal(r->attachments[0]->name, "photo_of_damp.jpg");
    assert_string_equal(r->attachments[0]->content_type, "image");
    assert_string_equal(meta.gateway_message_id, "m_1457764197618:41d102a3e1ae206a38");
    assert_string_equal(meta.case_id, "");
    ch_event_json_free(ev);

    /* the same sender with an open case: a message on it */
    assert_int_equal(ingest_meta_event(m, "nottingham-city-homes", "enquiry", "case-1", &ev, &meta),
                     0);
    assert_int_equal(ev->event_case, CHARTER__V1__CASE_EVENT__EVENT_CUSTOMER_MESSAGE);
    assert_string_equal(ev->case_id, "case-1");
    assert_string_equal(ev->customer_message->from, "6789012345");
    assert_string_equal(ev->customer_message->gateway_message_id,
                        "m_1457764197618:41d102a3e1ae206a38");
    assert_int_equal(ev->customer_message->channel, CHARTER__V1__CHANNEL__CHANNEL_SOCIAL);
    assert_string_equal(meta.case_id, "case-1");
    ch_event_json_free(ev);
    ingest_meta_batch_free(&b);
}

/* Instagram messaging's example: object instagram, IGID and IGSID; a long
 * mid is deduplicated by its digest. */
static void
test_parse_instagram(void **state)
{
    (void)state;
    char body[1200], mid[300];
    memset(mid, 'A', 200);
    memcpy(mid, "aWdfZAG1f", 9);
    mid[200] = '\0';
    snprintf(body, sizeof(body),
             "{\"object\":\"instagram\",\"entry\":[{\"id\":\"17841400000000000\",\"time\":"
             "1569262486134,\"messaging\":[{\"sender\":{\"id\":\"9876543210\"},\"recipient\":"
             "{\"id\":\"17841400000000000\"},\"timestamp\":1569262485349,\"message\":{\"mid\":"
             "\"%s\",\"text\":\"Is my repair booked?\"}}]}]}",
             mid);
    ingest_meta_batch b;
    char err[200];
    assert_int_equal(ingest_meta_parse_webhook(body, strlen(body), 0, &b, err, sizeof(err)), 0);
    assert_int_equal(b.n, 1);
    assert_string_equal(b.msgs[0].object, "instagram");
    assert_string_equal(b.msgs[0].account, "17841400000000000");
    Charter__V1__CaseEvent *ev;
    ch_event_json_meta meta;
    assert_int_equal(ingest_meta_event(&b.msgs[0], "o", "enquiry", NULL, &ev, &meta), 0);
    assert_string_equal(ev->received->gateway_message_id, mid); /* whole on the event */
    assert_int_equal(strlen(meta.gateway_message_id), 7 + 64);
    assert_memory_equal(meta.gateway_message_id, "sha256:", 7);
    ch_event_json_free(ev);
    ingest_meta_batch_free(&b);
}

static void
test_parse_refused(void **state)
{
    (void)state;
    ingest_meta_batch b;
    char err[200];
    const char *bad[] = {"not json", "{\"object\":\"user\",\"entry\":[]}",
                         "{\"object\":\"page\",\"entry\":{}}", "[]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ingest_meta_parse_webhook(bad[i], strlen(bad[i]), 0, &b, err, sizeof(err)),
                         CH_EINVAL);
    /* a long text is cut to 2,000 characters, on a character boundary */
    size_t n = 2100;
    char *body = malloc(n * 2 + 400);
    int o =
        sprintf(body, "{\"object\":\"page\",\"entry\":[{\"id\":\"1\",\"messaging\":[{\"sender\":"
                      "{\"id\":\"2\"},\"timestamp\":1700000000000,\"message\":{\"mid\":\"m\","
                      "\"text\":\"");
    for (size_t i = 0; i < n; i++)
        o += sprintf(body + o, "\xc3\xa9");
    sprintf(body + o, "\"}}]}]}");
    assert_int_equal(ingest_meta_parse_webhook(body, strlen(body), 0, &b, err, sizeof(err)), 0);
    Charter__V1__CaseEvent *ev;
    assert_int_equal(ingest_meta_event(&b.msgs[0], "o", "enquiry", NULL, &ev, NULL), 0);
    assert_int_equal(strlen(ev->received->summary), 4000);
    assert_string_equal(ev->received->gateway_account, "1"); /* the entry's id */
    ch_event_json_free(ev);
    ingest_meta_batch_free(&b);
    free(body);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf_parse),      cmocka_unit_test(test_conf_errors),
        cmocka_unit_test(test_handshake),       cmocka_unit_test(test_signature),
        cmocka_unit_test(test_parse_messenger), cmocka_unit_test(test_parse_instagram),
        cmocka_unit_test(test_parse_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
