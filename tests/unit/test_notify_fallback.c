/*
 * What a delivery receipt does to its notice (fallback.h), as a pure plan:
 * delivered; a permanent or temporary failure falls back in the charter's
 * order (preferred, then email, text message, inbound, letter), skipping
 * what failed; a technical failure is resent once by the same channel, a
 * second falls back; no channel left is the staff alert's; a notice whose
 * customer's details are gone only fails; the names and reasons.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "charter/errors.h"
#include "charter/v1/notification.pb-c.h"
#include "fallback.h"

#define R(x) CHARTER__V1__DELIVERY_RECEIPT__STATUS__STATUS_##x

static notify_contact
contact(const char *preferred, const char *email, const char *phone, const char *postal)
{
    notify_contact c;
    memset(&c, 0, sizeof(c));
    snprintf(c.inbound, sizeof(c.inbound), "email");
    snprintf(c.preferred, sizeof(c.preferred), "%s", preferred);
    snprintf(c.email, sizeof(c.email), "%s", email);
    snprintf(c.phone, sizeof(c.phone), "%s", phone);
    snprintf(c.postal, sizeof(c.postal), "%s", postal);
    c.loaded = 1;
    return c;
}

static void
test_delivered(void **state)
{
    (void)state;
    notify_receipt_plan p;
    notify_contact c = contact("sms", "a@example.org", "+447700900101", "");
    assert_int_equal(
        notify_receipt_plan_make(R(DELIVERED), "acknowledgement", "sms", "", "", NULL, &c, &p), 0);
    assert_int_equal(p.step, NOTIFY_RECEIPT_DELIVERED);
    assert_string_equal(p.status, "delivered");
    assert_int_equal(
        notify_receipt_plan_make(R(UNSPECIFIED), "acknowledgement", "sms", "", "", NULL, &c, &p),
        CH_EINVAL);
}

static void
test_sms_then_email_then_letter(void **state)
{
    (void)state;
    notify_receipt_plan p;
    notify_contact c = contact("sms", "a@example.org", "+447700900101", "1 Test Street");
    assert_int_equal(notify_receipt_plan_make(R(PERMANENT_FAILURE), "acknowledgement", "sms", "",
                                              "notify: permanent-failure", NULL, &c, &p),
                     0);
    assert_int_equal(p.step, NOTIFY_RECEIPT_FALLBACK);
    assert_string_equal(p.channel, "email");
    assert_string_equal(p.what, "acknowledgement/fallback-email");
    assert_string_equal(p.skip, "sms");
    assert_string_equal(p.tried, "sms,email");
    assert_string_equal(p.reason, "permanent-failure on sms; fell back to email; provider: "
                                  "notify: permanent-failure");
    assert_string_equal(p.note, "fallback after permanent-failure on sms");

    /* the e-mail bounces: a letter, named from the first notice */
    assert_int_equal(notify_receipt_plan_make(R(PERMANENT_FAILURE),
                                              "acknowledgement/fallback-email", "email",
                                              "sms,email", "smtp: 550", NULL, &c, &p),
                     0);
    assert_string_equal(p.channel, "letter");
    assert_string_equal(p.what, "acknowledgement/fallback-letter");
    assert_string_equal(p.tried, "sms,email,letter");
    assert_string_equal(p.note, "fallback after permanent-failure on email");

    /* no channel left: the staff alert's name, reason says so */
    c = contact("sms", "a@example.org", "+447700900101", "");
    assert_int_equal(notify_receipt_plan_make(R(PERMANENT_FAILURE),
                                              "acknowledgement/fallback-email", "email",
                                              "sms,email", "", NULL, &c, &p),
                     0);
    assert_int_equal(p.step, NOTIFY_RECEIPT_FALLBACK);
    assert_null(p.channel);
    assert_string_equal(p.what, "acknowledgement/fallback");
    assert_string_equal(p.reason, "permanent-failure on email; no channel left: staff told; "
                                  "provider: none given");
}

static void
test_email_preferred_falls_back_to_sms(void **state)
{
    (void)state;
    notify_receipt_plan p;
    notify_contact c = contact("email", "a@example.org", "+447700900101", "1 Test Street");
    assert_int_equal(notify_receipt_plan_make(R(TEMPORARY_FAILURE), "holding_reply/1796486400",
                                              "email", "", "inbox full", NULL, &c, &p),
                     0);
    assert_int_equal(p.step, NOTIFY_RECEIPT_FALLBACK); /* Notify tried for 72 hours */
    assert_string_equal(p.channel, "sms");
    assert_string_equal(p.what, "holding_reply/1796486400/fallback-sms");
}

static void
test_technical_resent_once(void **state)
{
    (void)state;
    notify_receipt_plan p;
    notify_contact c = contact("sms", "a@example.org", "+447700900101", "");
    assert_int_equal(notify_receipt_plan_make(R(TECHNICAL_FAILURE), "acknowledgement", "sms", "",
                                              "", NULL, &c, &p),
                     0);
    assert_int_equal(p.step, NOTIFY_RECEIPT_RESEND);
    assert_string_equal(p.channel, "sms");
    assert_string_equal(p.what, "acknowledgement/resend-sms");
    assert_string_equal(p.skip, "");
    assert_string_equal(p.note, "resent after technical-failure on sms");
    assert_non_null(strstr(p.reason, "technical-failure on sms; sent again by sms"));
    /* the resend fails technically too: fall back */
    assert_int_equal(notify_receipt_plan_make(R(TECHNICAL_FAILURE), "acknowledgement/resend-sms",
                                              "sms", "sms", "", NULL, &c, &p),
                     0);
    assert_int_equal(p.step, NOTIFY_RECEIPT_FALLBACK);
    assert_string_equal(p.channel, "email");
    assert_string_equal(p.what, "acknowledgement/fallback-email");
    /* a fallback e-mail's technical failure is resent by e-mail, skipping the failed sms */
    assert_int_equal(notify_receipt_plan_make(R(TECHNICAL_FAILURE),
                                              "acknowledgement/fallback-email", "email",
                                              "sms,email", "", NULL, &c, &p),
                     0);
    assert_int_equal(p.step, NOTIFY_RECEIPT_RESEND);
    assert_string_equal(p.what, "acknowledgement/resend-email");
    assert_string_equal(p.skip, "sms");
}

static void
test_no_details(void **state)
{
    (void)state;
    notify_receipt_plan p;
    assert_int_equal(notify_receipt_plan_make(R(PERMANENT_FAILURE), "acknowledgement", "sms", "",
                                              "gone", NULL, NULL, &p),
                     0);
    assert_int_equal(p.step, NOTIFY_RECEIPT_FAILED);
    assert_non_null(strstr(p.reason, "permanent-failure on sms; no fallback:"));
    char root[64];
    notify_receipt_root("appointment_reminder/1796486400/resend-sms", root, sizeof(root));
    assert_string_equal(root, "appointment_reminder/1796486400");
    notify_receipt_root("acknowledgement", root, sizeof(root));
    assert_string_equal(root, "acknowledgement");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delivered),
        cmocka_unit_test(test_sms_then_email_then_letter),
        cmocka_unit_test(test_email_preferred_falls_back_to_sms),
        cmocka_unit_test(test_technical_resent_once),
        cmocka_unit_test(test_no_details),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
