/*
 * notification's rendering as a pure function (render.h): the reply
 * channel and recipient from the contact and the policy, the placeholders a
 * template gets, the built-in line without templates, a template's error
 * passed on, the role a staff alert goes to (by the policy, by role key or
 * by address), and the note about an unknown delivery.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "charter/civil.h"
#include "charter/errors.h"
#include "charter/org_set.h"
#include "charter/timeutil.h"
#include "charter/tz.h"
#include "render.h"
#include "support/shipped.h"

static ch_tz *london;
static ch_org_clocks nch, derby, ccc;

static int
setup(void **state)
{
    (void)state;
    char err[512];
    london = ch_tz_load("Europe/London", NULL, err, sizeof(err));
    return london && fx_org_clocks_load("nottingham-city-homes", &nch) == 0 &&
                   fx_org_clocks_load("derby-homes", &derby) == 0 &&
                   fx_org_clocks_load("customer-care-council", &ccc) == 0
               ? 0
               : -1;
}

static int
teardown(void **state)
{
    (void)state;
    ch_org_clocks_free(&nch);
    ch_org_clocks_free(&derby);
    ch_org_clocks_free(&ccc);
    ch_tz_free(london);
    return 0;
}

/* A template lookup over one template parsed from text (NULL: none). */
typedef struct {
    ch_template t;
    int have, calls, fail;
    char channel[32];
} lookup;

static int
template_from(void *opaque, const char *org, const char *kind, const char *channel,
              const char *lang, const ch_template **out, char *why, size_t whysz)
{
    (void)org;
    (void)kind;
    (void)lang;
    lookup *l = opaque;
    l->calls++;
    snprintf(l->channel, sizeof(l->channel), "%s", channel);
    *out = NULL;
    if (l->fail) {
        snprintf(why, whysz, "no template for %s", channel);
        return CH_EINVAL;
    }
    if (l->have)
        *out = &l->t;
    return 0;
}

static void
parse(lookup *l, const char *text, int want_subject)
{
    char err[256];
    assert_int_equal(
        ch_template_parse(text, strlen(text), "test", want_subject, &l->t, err, sizeof(err)), 0);
    l->have = 1;
}

static Charter__V1__Timestamp target = CHARTER__V1__TIMESTAMP__INIT;

static Charter__V1__TimerFired
ack_timer(void)
{
    Charter__V1__TimerFired t = CHARTER__V1__TIMER_FIRED__INIT;
    t.case_id = "case-1";
    t.organisation = "nottingham-city-homes";
    t.reference = "NCH-2026-000001";
    t.case_type = "";
    t.channel = CHARTER__V1__CHANNEL__CHANNEL_EMAIL;
    t.kind = CHARTER__V1__TIMER_KIND__TIMER_KIND_ACKNOWLEDGEMENT_DUE;
    target.seconds = ch_day_from_civil(2026, 1, 9) * 86400 + 17 * 3600; /* Fri 9 Jan */
    t.target_at = &target;
    return t;
}

static notify_contact
ann(void)
{
    notify_contact c = {.loaded = 1};
    snprintf(c.name, sizeof(c.name), "Ann Example");
    snprintf(c.email, sizeof(c.email), "ann@example.org");
    snprintf(c.phone, sizeof(c.phone), "07700900123");
    snprintf(c.inbound, sizeof(c.inbound), "email");
    snprintf(c.lang, sizeof(c.lang), "en");
    return c;
}

static const char *
meta_get(const notify_rendered *r, const char *key, char *buf, size_t bufsz)
{
    json_t *o = json_loads(r->meta, 0, NULL);
    assert_non_null(o);
    json_t *v = json_object_get(o, key);
    if (json_is_string(v))
        snprintf(buf, bufsz, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, bufsz, "%lld", (long long)json_integer_value(v));
    else
        buf[0] = '\0';
    json_decref(o);
    return buf;
}

static void
customer_by_template(void **state)
{
    (void)state;
    lookup l = {0};
    parse(&l, "Subject: Ref {reference}\n\nDear {customer_name}, we reply by {target_date}.\n", 1);
    notify_render_env env = {template_from, &l, "{role}@council.example", 0};
    Charter__V1__TimerFired t = ack_timer();
    notify_contact c = ann();
    notify_render_in in = {&t, NULL, &c, 0, "acknowledgement", NULL, london, NULL, NULL, NULL};
    notify_rendered r = {0};
    assert_int_equal(notify_render_customer(&env, &in, &r), 0);
    assert_true(r.customer);
    assert_string_equal(r.channel, "email");
    assert_string_equal(l.channel, "email");
    assert_string_equal(r.to, "ann@example.org");
    assert_string_equal(r.subject, "Ref NCH-2026-000001");
    assert_string_equal(r.body, "Dear Ann Example, we reply by Friday 9 January 2026.");
    char buf[64];
    assert_string_equal(meta_get(&r, "target_date", buf, sizeof(buf)), "Friday 9 January 2026");
    assert_string_equal(meta_get(&r, "target_at", buf, sizeof(buf)), "2026-01-09T17:00:00.000Z");
    notify_rendered_free(&r);
    ch_template_free(&l.t);
}

/* A phone contact is answered by text message, to the phone number; with
 * no template directory the built-in line says the reference and date. */
static void
phone_is_answered_by_text(void **state)
{
    (void)state;
    lookup l = {0};
    notify_render_env env = {template_from, &l, "{role}@council.example", 0};
    Charter__V1__TimerFired t = ack_timer();
    notify_contact c = ann();
    snprintf(c.inbound, sizeof(c.inbound), "phone");
    notify_render_in in = {&t, NULL, &c, 0, "acknowledgement", NULL, london, NULL, NULL, NULL};
    notify_rendered r = {0};
    assert_int_equal(notify_render_customer(&env, &in, &r), 0);
    assert_string_equal(r.channel, "sms");
    assert_string_equal(r.to, "07700900123");
    assert_non_null(strstr(r.body, "Your reference is NCH-2026-000001"));
    assert_non_null(strstr(r.body, "reply by Friday 9 January 2026"));
    assert_string_equal(r.subject, "Your reference NCH-2026-000001");
    notify_rendered_free(&r);
    /* The customer asked for email: the policy's rule decides. */
    snprintf(c.preferred, sizeof(c.preferred), "email");
    assert_int_equal(notify_render_customer(&env, &in, &r), 0);
    assert_string_equal(r.channel, "email");
    notify_rendered_free(&r);
}

static void
template_error_is_passed_on(void **state)
{
    (void)state;
    lookup l = {.fail = 1};
    notify_render_env env = {template_from, &l, "{role}@council.example", 0};
    Charter__V1__TimerFired t = ack_timer();
    notify_contact c = ann();
    notify_render_in in = {&t, NULL, &c, 0, "acknowledgement", NULL, london, NULL, NULL, NULL};
    notify_rendered r = {0};
    assert_int_equal(notify_render_customer(&env, &in, &r), CH_EINVAL);
    assert_string_equal(r.why, "no template for email");
    notify_rendered_free(&r);
    /* A placeholder without a value in this message. */
    lookup l2 = {0};
    parse(&l2, "Dear {customer_name}, on {appointment_date}.\n", 0);
    env.opaque = &l2;
    snprintf(c.inbound, sizeof(c.inbound), "letter");
    snprintf(c.postal, sizeof(c.postal), "1 Example Road, Nottingham NG1 1AA");
    assert_int_equal(notify_render_customer(&env, &in, &r), CH_EINVAL);
    assert_string_equal(r.channel, "letter");
    assert_non_null(strstr(r.why, "appointment_date"));
    notify_rendered_free(&r);
    ch_template_free(&l2.t);
}

/* The policy's roles: the breach goes to the manager its warnings name,
 * by address or by role key as the staff transport wants. */
static void
alert_goes_to_the_policy_role(void **state)
{
    (void)state;
    lookup l = {0};
    notify_render_env env = {template_from, &l, "{role}@council.example", 0};
    Charter__V1__TimerFired t = ack_timer();
    t.kind = CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH;
    notify_render_in in = {&t, NULL, NULL, 0, "staff_breach", &nch, london, NULL, NULL, NULL};
    notify_rendered r = {0};
    assert_int_equal(notify_render_alert(&env, &in, &r), 0);
    assert_false(r.customer);
    assert_string_equal(r.channel, "email");
    assert_string_equal(r.to, "manager@council.example");
    assert_string_equal(r.body, "staff_breach for case NCH-2026-000001 (Customer Service Manager)");
    char buf[64];
    assert_string_equal(meta_get(&r, "role", buf, sizeof(buf)), "Customer Service Manager");
    notify_rendered_free(&r);
    env.staff_by_role = 1;
    t.kind = CHARTER__V1__TIMER_KIND__TIMER_KIND_WARNING;
    t.tier = 2;
    assert_int_equal(notify_render_alert(&env, &in, &r), 0);
    assert_string_equal(r.to, "team_lead");
    assert_string_equal(meta_get(&r, "tier", buf, sizeof(buf)), "2");
    notify_rendered_free(&r);
    /* Without a policy: the case owner. */
    in.org = NULL;
    assert_int_equal(notify_render_alert(&env, &in, &r), 0);
    assert_string_equal(r.to, "owner");
    assert_string_equal(meta_get(&r, "role", buf, sizeof(buf)), "Case owner");
    notify_rendered_free(&r);
}

static void
unknown_delivery_note(void **state)
{
    (void)state;
    notify_render_env env = {NULL, NULL, "{role}@council.example", 1};
    notify_rendered r = {0};
    assert_int_equal(notify_render_unknown(&env, "case-1/acknowledgement", "NCH-2026-000001",
                                           "unknown: SMTP: Timeout was reached", &r),
                     0);
    assert_string_equal(r.to, "owner");
    assert_string_equal(r.channel, "email");
    assert_non_null(strstr(r.body, "Check with the customer"));
    char buf[64];
    assert_string_equal(meta_get(&r, "notification_id", buf, sizeof(buf)),
                        "case-1/acknowledgement");
    assert_string_equal(meta_get(&r, "reason", buf, sizeof(buf)),
                        "unknown: SMTP: Timeout was reached");
    notify_rendered_free(&r);
}

/* Renders a customer notice for contact c of organisation oc (inbound
 * channel and case type as given) with the template text; *r is filled. */
static int
render_for(const ch_org_clocks *oc, const char *org, notify_contact *c, const char *inbound,
           const char *case_type, const char *text, int subject, notify_rendered *r)
{
    lookup l = {0};
    if (text)
        parse(&l, text, subject);
    notify_render_env env = {template_from, &l, "{role}@council.example", 0};
    Charter__V1__TimerFired t = ack_timer();
    t.organisation = (char *)org;
    t.case_type = (char *)case_type;
    snprintf(c->inbound, sizeof(c->inbound), "%s", inbound);
    notify_render_in in = {&t, NULL, c, 0, "acknowledgement", oc, london, NULL, NULL, NULL};
    int rc = notify_render_customer(&env, &in, r);
    if (l.have)
        ch_template_free(&l.t);
    return rc;
}

/* An online form has no address of its own: email, else text, else a
 * letter, else undeliverable (nothing rendered, why given). */
static void
online_form_goes_where_the_customer_can_receive_it(void **state)
{
    (void)state;
    notify_contact c = ann();
    notify_rendered r = {0};
    assert_int_equal(render_for(&derby, "derby-homes", &c, "online_form", "enquiry", NULL, 0, &r),
                     0);
    assert_string_equal(r.channel, "email");
    assert_string_equal(r.to, "ann@example.org");
    notify_rendered_free(&r);
    c.email[0] = '\0';
    assert_int_equal(render_for(&derby, "derby-homes", &c, "online_form", "enquiry", NULL, 0, &r),
                     0);
    assert_string_equal(r.channel, "sms");
    assert_string_equal(r.to, "07700900123");
    notify_rendered_free(&r);
    c.phone[0] = '\0';
    snprintf(c.postal, sizeof(c.postal), "1 Example Road, Derby DE1 1AA");
    assert_int_equal(render_for(&derby, "derby-homes", &c, "online_form", "enquiry", NULL, 0, &r),
                     0);
    assert_string_equal(r.channel, "letter");
    assert_string_equal(r.to, "1 Example Road, Derby DE1 1AA");
    notify_rendered_free(&r);
    c.postal[0] = '\0';
    assert_int_equal(render_for(&derby, "derby-homes", &c, "online_form", "enquiry", NULL, 0, &r),
                     0);
    assert_true(r.undeliverable);
    assert_null(r.body);
    assert_string_equal(r.to, "");
    assert_non_null(strstr(r.why, "no email address, phone number or postal address"));
    notify_rendered_free(&r);
}

/* Derby's email_or_sms: a letter is answered by email when an address was
 * given, by text without one; the customer's preference wins. NCH (same
 * unless asked) answers a letter by letter. */
static void
email_or_sms_unless_the_customer_prefers(void **state)
{
    (void)state;
    notify_contact c = ann();
    snprintf(c.postal, sizeof(c.postal), "1 Example Road");
    notify_rendered r = {0};
    assert_int_equal(render_for(&derby, "derby-homes", &c, "letter", "enquiry", NULL, 0, &r), 0);
    assert_string_equal(r.channel, "email");
    notify_rendered_free(&r);
    c.email[0] = '\0';
    assert_int_equal(render_for(&derby, "derby-homes", &c, "letter", "enquiry", NULL, 0, &r), 0);
    assert_string_equal(r.channel, "sms");
    notify_rendered_free(&r);
    snprintf(c.preferred, sizeof(c.preferred), "letter");
    assert_int_equal(render_for(&derby, "derby-homes", &c, "letter", "enquiry", NULL, 0, &r), 0);
    assert_string_equal(r.channel, "letter");
    notify_rendered_free(&r);
    c = ann();
    snprintf(c.postal, sizeof(c.postal), "1 Example Road");
    assert_int_equal(
        render_for(&nch, "nottingham-city-homes", &c, "letter", "enquiry", NULL, 0, &r), 0);
    assert_string_equal(r.channel, "letter");
    notify_rendered_free(&r);
}

/* named_contact: the team and its number from the policy before anyone is
 * assigned, the assigned person and their line after; never a role title. */
static void
named_contact_is_the_team_then_the_person(void **state)
{
    (void)state;
    const char *text = "{?contact_name}Who: {contact_name}.\n{?contact_details}On: "
                       "{contact_details}.\nRef {reference}.\n";
    notify_contact c = ann();
    snprintf(c.postal, sizeof(c.postal), "1 Example Road");
    notify_rendered r = {0};
    assert_int_equal(
        render_for(&nch, "nottingham-city-homes", &c, "letter", "enquiry", text, 0, &r), 0);
    assert_string_equal(r.body, "Who: Customer Service Team.\nOn: 0115 915 2222 or "
                                "feedback@nottinghamcity.gov.uk.\nRef NCH-2026-000001.");
    notify_rendered_free(&r);
    snprintf(c.assigned_name, sizeof(c.assigned_name), "Jo Bloggs");
    snprintf(c.assigned_team, sizeof(c.assigned_team), "Lettings");
    snprintf(c.assigned_phone, sizeof(c.assigned_phone), "0115 876 5432");
    assert_int_equal(
        render_for(&nch, "nottingham-city-homes", &c, "letter", "enquiry", text, 0, &r), 0);
    assert_string_equal(r.body, "Who: Jo Bloggs (Lettings).\nOn: 0115 876 5432.\nRef "
                                "NCH-2026-000001.");
    notify_rendered_free(&r);
    /* CCC promises no named contact: both lines go. */
    assert_int_equal(
        render_for(&ccc, "customer-care-council", &c, "letter", "enquiry", text, 0, &r), 0);
    assert_string_equal(r.body, "Ref NCH-2026-000001.");
    notify_rendered_free(&r);
}

/* The new timer kinds: the review tiers' roles, the owner for a refused
 * extension (with its detail), an override role for undeliverable. */
static void
review_and_extension_alerts_go_to_their_roles(void **state)
{
    (void)state;
    lookup l = {0};
    parse(&l, "Subject: {reference}\n\n{detail}\n", 1);
    notify_render_env env = {template_from, &l, "{role}@council.example", 1};
    Charter__V1__TimerFired t = ack_timer();
    t.organisation = "customer-care-council";
    t.case_type = "restriction_review";
    t.channel = CHARTER__V1__CHANNEL__CHANNEL_LETTER;
    t.kind = CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_WARNING;
    t.tier = 1;
    t.detail = "why";
    notify_render_in in = {&t,   NULL,   NULL, 0,    "staff_review_warning",
                           &ccc, london, NULL, NULL, NULL};
    notify_rendered r = {0};
    assert_int_equal(notify_render_alert(&env, &in, &r), 0);
    assert_string_equal(r.to, "resident_services_manager");
    notify_rendered_free(&r);
    t.kind = CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_OVERDUE;
    t.tier = 0;
    assert_int_equal(notify_render_alert(&env, &in, &r), 0);
    assert_string_equal(r.to, "head_of_housing");
    notify_rendered_free(&r);
    t.kind = CHARTER__V1__TIMER_KIND__TIMER_KIND_EXTENSION_REFUSED;
    t.case_type = "contact_group";
    t.channel = CHARTER__V1__CHANNEL__CHANNEL_EMAIL;
    t.detail = "the new target is past the longest extension";
    assert_int_equal(notify_render_alert(&env, &in, &r), 0);
    assert_string_equal(r.to, "owner");
    assert_string_equal(r.body, "the new target is past the longest extension");
    notify_rendered_free(&r);
    /* a call-back not made by the agreed time: the case owner (NIHE's
     * "call you back at an agreed time") */
    t.kind = CHARTER__V1__TIMER_KIND__TIMER_KIND_CALLBACK_DUE;
    t.channel = CHARTER__V1__CHANNEL__CHANNEL_PHONE;
    t.case_type = "enquiry";
    t.detail = "agreed for 2:30pm";
    in.kind_name = "staff_callback_overdue";
    assert_int_equal(notify_render_alert(&env, &in, &r), 0);
    assert_string_equal(r.to, "owner");
    notify_rendered_free(&r);
    in.role = "manager";
    in.detail = "Our acknowledgement could not be sent.";
    assert_int_equal(notify_render_alert(&env, &in, &r), 0);
    assert_string_equal(r.to, "manager");
    assert_string_equal(r.body, "Our acknowledgement could not be sent.");
    notify_rendered_free(&r);
    ch_template_free(&l.t);
}

/* The reply date an acknowledgement sent at receipt gives: CCC's contact
 * group, 14 days from receipt; a Code complaint, 10 working days from the
 * acknowledgement (now). */
static void
receipt_target_is_the_reply_clock(void **state)
{
    (void)state;
    Charter__V1__CaseEvent ev = CHARTER__V1__CASE_EVENT__INIT;
    Charter__V1__Received rcv = CHARTER__V1__RECEIVED__INIT;
    Charter__V1__Timestamp at = CHARTER__V1__TIMESTAMP__INIT;
    at.seconds = ch_day_from_civil(2026, 3, 6) * 86400 + 17 * 3600 + 1800; /* Fri 17:30 */
    ev.case_id = "case-1";
    ev.organisation = "customer-care-council";
    ev.occurred_at = &at;
    ev.event_case = CHARTER__V1__CASE_EVENT__EVENT_RECEIVED;
    ev.received = &rcv;
    rcv.channel = CHARTER__V1__CHANNEL__CHANNEL_EMAIL;
    rcv.case_type = "contact_group";
    int64_t target = 0;
    assert_int_equal(notify_receipt_target(&ccc, &ev, at.seconds * 1000, &target), 0);
    assert_int_equal(target, ch_day_from_civil(2026, 3, 20) * 86400 + 23 * 3600 + 59 * 60 + 59);
    /* Derby stage 1: acknowledged Monday 9 March 10:00, reply by 23 March. */
    ev.organisation = "derby-homes";
    rcv.case_type = "complaint_stage_1";
    int64_t ack = (ch_day_from_civil(2026, 3, 9) * 86400 + 10 * 3600) * (int64_t)1000;
    assert_int_equal(notify_receipt_target(&derby, &ev, ack, &target), 0);
    assert_int_equal(target / 86400, ch_day_from_civil(2026, 3, 23));
    /* A text message to CCC: measured, no reply date. */
    ev.organisation = "customer-care-council";
    rcv.channel = CHARTER__V1__CHANNEL__CHANNEL_SMS;
    rcv.case_type = "enquiry";
    assert_int_equal(notify_receipt_target(&ccc, &ev, ack, &target), 0);
    assert_int_equal(target, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(customer_by_template),
        cmocka_unit_test(phone_is_answered_by_text),
        cmocka_unit_test(template_error_is_passed_on),
        cmocka_unit_test(alert_goes_to_the_policy_role),
        cmocka_unit_test(unknown_delivery_note),
        cmocka_unit_test(online_form_goes_where_the_customer_can_receive_it),
        cmocka_unit_test(email_or_sms_unless_the_customer_prefers),
        cmocka_unit_test(named_contact_is_the_team_then_the_person),
        cmocka_unit_test(review_and_extension_alerts_go_to_their_roles),
        cmocka_unit_test(receipt_target_is_the_reply_clock),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
