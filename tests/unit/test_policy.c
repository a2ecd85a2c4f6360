/*
 * Policies: the five shipped charters, clause by clause, and the loader's
 * refusals.
 *
 * The seed tests load the real files in policies/ and check the clock each
 * charter sentence became (kind, count, calendar, anchor), then run a few
 * through the deadline engine with the policy's own calendar, so a change to
 * a policy file that alters a promise fails here by name. The broken copies
 * in tests/policies/broken/ must fail with file:line:column and the key, the
 * way staff will meet the error. The format's rules on small texts are in
 * test_policy_format.c, run from this file's main().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "charter/calendar.h"
#include "charter/deadline.h"
#include "charter/errors.h"
#include "charter/policy.h"
#include "charter/timeutil.h"
#include "charter/tz.h"
#include "support/shipped.h"
#include "test_policy.h"

#ifndef CHARTER_POLICY_DIR
#error "CHARTER_POLICY_DIR must name the policies/ directory"
#endif
#ifndef CHARTER_TEST_POLICY_DIR
#error "CHARTER_TEST_POLICY_DIR must name tests/policies/"
#endif

/* ---- helpers ---- */

void
load_ok(const char *id, ch_policy *p)
{
    char path[512], err[1024];
    snprintf(path, sizeof(path), "%s/%s.yaml", CHARTER_POLICY_DIR, id);
    int rc = ch_policy_load_file(path, p, err, sizeof(err));
    if (rc != 0)
        fail_msg("%s did not load: %s", path, err);
    assert_string_equal(p->id, id);
}

const ch_policy_promise *
find(const ch_policy *p, const char *channel, const char *type, const char *want_id)
{
    const ch_policy_promise *pr = ch_policy_find_promise(p, channel, type);
    if (!pr)
        fail_msg("%s: no promise for %s/%s", p->id, channel, type ? type : "(null)");
    if (want_id && strcmp(pr->id, want_id) != 0)
        fail_msg("%s: %s/%s found promise '%s', expected '%s'", p->id, channel,
                 type ? type : "(null)", pr->id, want_id);
    return pr;
}

static void
assert_clock(const ch_policy_clock *c, ch_clock_kind kind, int64_t n, ch_clock_calendar cal,
             ch_clock_anchor anchor)
{
    assert_true(c->set);
    assert_int_equal(c->clock.kind, kind);
    assert_int_equal(c->clock.n, n);
    assert_int_equal(c->clock.calendar, cal);
    assert_int_equal(c->clock.anchor, anchor);
}

void
assert_describe(const ch_policy *p, const ch_policy_promise *pr, const char *want)
{
    char buf[1024];
    ch_policy_describe_promise(p, pr, buf, sizeof(buf));
    assert_string_equal(buf, want);
}

/* The deadline engine run with a policy's own zone and calendar. */
typedef struct {
    ch_tz *tz;
    ch_calendar *cal, *uk_any, *scotland;
    ch_deadline_ctx ctx;
} engine;

static void
engine_init(engine *e, const ch_policy *p)
{
    char err[256];
    e->tz = ch_tz_load(p->timezone, NULL, err, sizeof(err));
    if (!e->tz)
        fail_msg("ch_tz_load(%s): %s", p->timezone, err);
    e->cal = ch_policy_calendar_new(p);
    e->uk_any = ch_calendar_new(CH_NATION_UK_ANY);
    e->scotland = ch_calendar_new(CH_NATION_SCOTLAND);
    assert_non_null(e->cal);
    assert_non_null(e->uk_any);
    assert_non_null(e->scotland);
    ch_deadline_ctx c = {.tz = e->tz,
                         .calendar = e->cal,
                         .uk_any = e->uk_any,
                         .scotland = e->scotland,
                         .hours = &p->hours,
                         .defer_out_of_hours = p->defer_out_of_hours};
    e->ctx = c;
}

static void
engine_free(engine *e)
{
    ch_calendar_free(e->cal);
    ch_calendar_free(e->uk_any);
    ch_calendar_free(e->scotland);
    ch_tz_free(e->tz);
}

/* Due instant of `c` started at `start` (RFC 3339), as local text. */
static void
assert_due(engine *e, const ch_policy_clock *c, const char *start, const char *want)
{
    int64_t s, due;
    assert_int_equal(ch_time_parse_rfc3339(start, &s), 0);
    assert_int_equal(ch_deadline_due(&e->ctx, &c->clock, s, NULL, 0, &due), 0);
    char buf[64];
    ch_deadline_format(e->tz, due, buf, sizeof(buf));
    assert_string_equal(buf, want);
}

/* ---- all five load ---- */

static void
test_all_five_shipped_policies_load(void **state)
{
    (void)state;
    for (size_t i = 0; i < FX_SHIPPED_N; i++) {
        ch_policy p;
        load_ok(fx_shipped_ids[i], &p);
        assert_true(p.npromises > 0);
        assert_string_equal(p.timezone, "Europe/London");
        for (size_t k = 0; k < p.npromises; k++) {
            char buf[1024];
            ch_policy_describe_promise(&p, &p.promises[k], buf, sizeof(buf));
            assert_true(strlen(buf) > 10);
            assert_non_null(p.promises[k].says);
            /* written in the file, or supplied by the loader after them */
            if (p.promises[k].origin == CH_POLICY_FROM_FILE)
                assert_true(p.promises[k].line > 0);
            else
                assert_int_equal(p.promises[k].line, 0);
        }
        ch_policy_free(&p);
        assert_null(p.promises);
        assert_int_equal(p.npromises, 0);
    }
}

static void
test_organisations_prefixes_kinds_and_calendars(void **state)
{
    (void)state;
    static const struct {
        const char *id, *prefix;
        ch_policy_org_kind kind;
        ch_nation nation;
    } want[] = {
        {"nottingham-city-homes", "NCH", CH_POLICY_KIND_HOUSING_LANDLORD,
         CH_NATION_ENGLAND_AND_WALES},
        {"derby-homes", "DH", CH_POLICY_KIND_HOUSING_LANDLORD, CH_NATION_ENGLAND_AND_WALES},
        {"nihe", "NIHE", CH_POLICY_KIND_HOUSING_LANDLORD, CH_NATION_NORTHERN_IRELAND},
        {"digital-first-council", "DFC", CH_POLICY_KIND_COUNCIL, CH_NATION_ENGLAND_AND_WALES},
        {"customer-care-council", "CCC", CH_POLICY_KIND_COUNCIL, CH_NATION_ENGLAND_AND_WALES},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        ch_policy p;
        load_ok(want[i].id, &p);
        assert_string_equal(p.reference_prefix, want[i].prefix);
        assert_int_equal(p.kind, want[i].kind);
        assert_int_equal(p.nation, want[i].nation);
        /* Landlords carry a homes count for "complaints per 1,000 homes". */
        if (p.kind == CH_POLICY_KIND_HOUSING_LANDLORD)
            assert_true(p.homes > 1000);
        /* Every shipped policy keeps both options at their documented default. */
        assert_int_equal(p.defer_out_of_hours, 0);
        assert_int_equal(p.roll_calendar_days, 0);
        ch_policy_free(&p);
    }
}

/* ---- seed 000: Nottingham City Homes ---- */

static void
test_seed000_email_reply_within_five_working_days(void **state)
{
    (void)state;
    ch_policy p;
    load_ok("nottingham-city-homes", &p);
    /* "We'll reply to your email within five working days from the date we receive it" */
    const ch_policy_promise *pr = find(&p, "email", "enquiry", "email-reply");
    assert_clock(&pr->respond, CH_CLOCK_WORKING_DAYS, 5, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
    assert_int_equal(pr->respond.clock.at_minute, CH_AT_END_OF_DAY);
    assert_int_equal(pr->ack, CH_POLICY_ACK_NONE);
    assert_describe(&p, pr,
                    "Email: reply within 5 working days (England and Wales holidays, closes "
                    "17:00)");
    /* Warning tiers: 75% to the owner, 1 working day before to the team lead,
     * breach to the manager. */
    assert_int_equal(pr->nwarnings, 3);
    assert_int_equal(pr->warnings[0].rule.percent, 75);
    assert_string_equal(p.roles[pr->warnings[0].role].key, "owner");
    assert_int_equal(pr->warnings[1].rule.lead.kind, CH_CLOCK_WORKING_DAYS);
    assert_int_equal(pr->warnings[1].rule.lead.n, 1);
    assert_string_equal(p.roles[pr->warnings[1].role].key, "team_lead");
    assert_true(pr->warnings[2].at_breach);
    assert_string_equal(p.roles[pr->warnings[2].role].key, "manager");

    /* Received Wed 23 Dec 2026 16:30: 24 Dec (1); 25, 28 Dec bank holidays
     * (Boxing Day substitute); 29 (2), 30 (3), 31 (4); 1 Jan holiday; Mon 4 Jan (5). */
    engine e;
    engine_init(&e, &p);
    assert_due(&e, &pr->respond, "2026-12-23T16:30:00Z", "2027-01-04T23:59:59+00:00");
    int64_t s, due, warn;
    assert_int_equal(ch_time_parse_rfc3339("2026-12-23T16:30:00Z", &s), 0);
    assert_int_equal(ch_deadline_due(&e.ctx, &pr->respond.clock, s, NULL, 0, &due), 0);
    assert_int_equal(ch_warning_at(&e.ctx, &pr->warnings[1].rule, s, due, &warn), 0);
    char buf[64];
    ch_deadline_format(e.tz, warn, buf, sizeof(buf));
    assert_string_equal(buf, "2026-12-31T23:59:59+00:00");
    engine_free(&e);
    ch_policy_free(&p);
}

static void
test_seed000_letter_seven_working_days_named_handler_and_expected_date(void **state)
{
    (void)state;
    ch_policy p;
    load_ok("nottingham-city-homes", &p);
    /* "We’ll reply within seven working days ... We’ll let you know who’s
     * dealing with your enquiry and when you can expect a full response." */
    const ch_policy_promise *pr = find(&p, "letter", NULL, "letter-reply");
    assert_clock(&pr->respond, CH_CLOCK_WORKING_DAYS, 7, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
    assert_true(pr->named_contact);
    assert_true(pr->holding_reply);
    assert_int_equal(pr->holding_must_include,
                     CH_POLICY_HOLD_NAMED_CONTACT | CH_POLICY_HOLD_TARGET_DATE);
    ch_policy_free(&p);
}

static void
test_seed000_social_dm_one_working_day_same_channel(void **state)
{
    (void)state;
    ch_policy p;
    load_ok("nottingham-city-homes", &p);
    /* "We’ll respond to you within one working day ... We’ll keep the
     * conversation on social media unless you tell us ..." */
    const ch_policy_promise *pr = find(&p, "social", "enquiry", "social-dm-reply");
    assert_clock(&pr->respond, CH_CLOCK_WORKING_DAYS, 1, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
    assert_int_equal(pr->reply_channel, CH_POLICY_REPLY_SAME_UNLESS_ASKED);
    assert_true(pr->reply_channel_explicit);
    assert_describe(&p, pr,
                    "Social media message: reply within 1 working day (England and Wales "
                    "holidays, closes 17:00); reply on the same channel unless the customer asks "
                    "otherwise");
    ch_policy_free(&p);
}

static void
test_seed000_phone_first_call_resolution_and_visits_measured(void **state)
{
    (void)state;
    ch_policy p;
    load_ok("nottingham-city-homes", &p);
    /* "We'll answer your call as quickly as we can" - no time: measured. */
    const ch_policy_promise *pr = find(&p, "phone", NULL, "phone-calls");
    assert_true(pr->answer_measured_only);
    assert_false(pr->answer.set);
    assert_int_equal(pr->measures, CH_POLICY_MEASURE_FIRST_CONTACT_RESOLUTION);
    assert_describe(&p, pr, "Phone: measured, no time promised; first-contact resolution measured");
    /* "We will make an appointment before visiting you." */
    pr = find(&p, "visit", "home_visit", "home-visit-appointments");
    assert_true(pr->see_measured_only);
    assert_int_equal(pr->measures, CH_POLICY_MEASURE_APPOINTMENTS_KEPT);
    ch_policy_free(&p);
}

/* The Housing Ombudsman Code presets, as every landlord silent on
 * complaint times gets them. */
static void
assert_ombudsman_code(const ch_policy *p)
{
    const ch_policy_promise *s1 = find(p, "letter", "complaint_stage_1", "complaint-stage-1");
    assert_int_equal(s1->ack, CH_POLICY_ACK_WITHIN);
    assert_clock(&s1->acknowledge, CH_CLOCK_WORKING_DAYS, 5, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
    assert_clock(&s1->respond, CH_CLOCK_WORKING_DAYS, 10, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_ACKNOWLEDGEMENT);
    assert_string_equal(s1->respond.clock.preset, "complaint-stage-1");
    assert_true(s1->holding_reply);
    assert_clock(&s1->max_extension, CH_CLOCK_WORKING_DAYS, 10, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);

    const ch_policy_promise *s2 = find(p, "letter", "complaint_stage_2", "complaint-stage-2");
    assert_clock(&s2->acknowledge, CH_CLOCK_WORKING_DAYS, 5, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
    assert_clock(&s2->respond, CH_CLOCK_WORKING_DAYS, 20, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_ACKNOWLEDGEMENT);
    assert_string_equal(s2->respond.clock.preset, "complaint-stage-2");
    assert_clock(&s2->max_extension, CH_CLOCK_WORKING_DAYS, 20, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
}

static void
test_seed000_complaints_silent_so_housing_ombudsman_code(void **state)
{
    (void)state;
    ch_policy p;
    load_ok("nottingham-city-homes", &p);
    assert_ombudsman_code(&p);
    /* Received Fri 27 Mar 2026: acknowledge by 5 working days (Good Friday
     * 3 Apr and Easter Monday 6 Apr skipped) = Tue 7 Apr; respond 10 working
     * days after that = Tue 21 Apr. */
    const ch_policy_promise *pr = find(&p, "phone", "complaint_stage_1", "complaint-stage-1");
    engine e;
    engine_init(&e, &p);
    assert_due(&e, &pr->acknowledge, "2026-03-27T10:00:00Z", "2026-04-07T23:59:59+01:00");
    assert_due(&e, &pr->respond, "2026-04-07T23:59:59+01:00", "2026-04-21T23:59:59+01:00");
    engine_free(&e);
    ch_policy_free(&p);
}

/* ---- seed 001: Derby Homes ---- */

static void
test_seed001_voicemail_by_5pm_next_working_day(void **state)
{
    (void)state;
    ch_policy p;
    load_ok("derby-homes", &p);
    /* "respond to your message by no later than the end of the next working day. (5pm)" */
    const ch_policy_promise *pr = find(&p, "voicemail", NULL, "voicemail-reply");
    assert_clock(&pr->respond, CH_CLOCK_NEXT_WORKING_DAY, 1, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
    assert_int_equal(pr->respond.clock.at_minute, 17 * 60);
    assert_describe(&p, pr,
                    "Voicemail: reply by 17:00 on the next working day (England and Wales "
                    "holidays, closes 17:00); reply by email, else text message, unless the "
                    "customer asks otherwise");
    /* Left on Christmas Eve 2026 after hours: 25 Dec and 28 Dec (Boxing Day
     * substitute) are holidays, so Tuesday 29 Dec at 17:00. */
    engine e;
    engine_init(&e, &p);
    assert_due(&e, &pr->respond, "2026-12-24T18:00:00Z", "2026-12-29T17:00:00+00:00");
    engine_free(&e);
    ch_policy_free(&p);
}

static void
test_seed001_email_and_online_forms_auto_ack_ten_days_or_holding_reply(void **state)
{
    (void)state;
    ch_policy p;
    load_ok("derby-homes", &p);
    /* "Respond to all written enquiries within 10 working days ... we'll tell
     * you why and what the next steps are ... automatically acknowledged" */
    const ch_policy_promise *pr = find(&p, "email", "enquiry", "written-enquiry");
    assert_int_equal(pr->ack, CH_POLICY_ACK_AUTOMATIC);
    assert_clock(&pr->respond, CH_CLOCK_WORKING_DAYS, 10, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
    assert_true(pr->holding_reply);
    assert_int_equal(pr->holding_must_include, CH_POLICY_HOLD_REASON | CH_POLICY_HOLD_NEXT_STEPS);
    assert_true(pr->named_contact);
    /* An online form that is neither an enquiry nor a service request. */
    assert_ptr_equal(find(&p, "online_form", NULL, NULL), pr);
    /* Letters: "all written enquiries", no automatic acknowledgement. */
    pr = find(&p, "letter", "enquiry", "letter-enquiry");
    assert_int_equal(pr->ack, CH_POLICY_ACK_NONE);
    assert_int_equal(pr->respond.clock.n, 10);
    ch_policy_free(&p);
}

static void
test_seed001_self_service_ack_one_day_and_online_enquiries_two_days(void **state)
{
    (void)state;
    ch_policy p;
    load_ok("derby-homes", &p);
    /* "Acknowledge on line service requests within 1 working day", and
     * "Your emails or online form requests to our teams are automatically
     * acknowledged": automatic, which keeps the 1 working day too. */
    const ch_policy_promise *pr =
        find(&p, "online_form", "service_request", "online-service-request");
    assert_int_equal(pr->ack, CH_POLICY_ACK_AUTOMATIC);
    assert_true(pr->respond_measured_only);
    assert_false(pr->respond.set);
    /* "Respond to on line enquiries within 2 working days" */
    pr = find(&p, "online_form", "enquiry", "online-enquiry");
    assert_clock(&pr->respond, CH_CLOCK_WORKING_DAYS, 2, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
    ch_policy_free(&p);
}

static void
test_seed001_exceptions_foi_complaints_mp_and_legal(void **state)
{
    (void)state;
    ch_policy p;
    load_ok("derby-homes", &p);
    /* "Freedom of Information requests": statutory, 20 working days, uk-any,
     * on every channel; by email or online form acknowledged automatically
     * ("Your emails or online form requests to our teams are automatically
     * acknowledged"). */
    const ch_policy_promise *pr = find(&p, "letter", "foi", "foi-request");
    assert_clock(&pr->respond, CH_CLOCK_WORKING_DAYS, 20, CH_CLOCK_CAL_UK_ANY,
                 CH_CLOCK_FROM_RECEIPT);
    assert_string_equal(pr->respond.clock.preset, "foi");
    assert_int_equal(pr->ack, CH_POLICY_ACK_NONE);
    pr = find(&p, "email", "foi", "foi-request-written");
    assert_string_equal(pr->respond.clock.preset, "foi");
    assert_int_equal(pr->ack, CH_POLICY_ACK_AUTOMATIC);
    assert_int_equal(find(&p, "online_form", "eir", "eir-request-written")->ack,
                     CH_POLICY_ACK_AUTOMATIC);
    /* Subject access requests: one calendar month by any channel (by phone
     * or in person too), not the 10 working days of written enquiries. */
    assert_string_equal(find(&p, "phone", "sar", "sar-request")->respond.clock.preset, "sar");
    assert_string_equal(find(&p, "visit", "sar", "sar-request")->respond.clock.preset, "sar");
    pr = find(&p, "email", "sar", "sar-request-written");
    assert_clock(&pr->respond, CH_CLOCK_MONTHS, 1, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
    assert_int_equal(pr->ack, CH_POLICY_ACK_AUTOMATIC);
    /* "Customer Feedback and Complaints": the Code; by email or online form
     * acknowledged automatically, so the response counts from receipt. */
    assert_ombudsman_code(&p);
    pr = find(&p, "email", "complaint_stage_1", "complaint-stage-1-written");
    assert_int_equal(pr->ack, CH_POLICY_ACK_AUTOMATIC);
    assert_string_equal(pr->respond.clock.preset, "complaint-stage-1");
    assert_int_equal(find(&p, "online_form", "complaint_stage_2", "complaint-stage-2-written")->ack,
                     CH_POLICY_ACK_AUTOMATIC);
    /* "MP and Councillor enquires", "Legal action": no time, and not the
     * 10 working day written clock; by email acknowledged automatically. */
    pr = find(&p, "letter", "mp_enquiry", "mp-councillor-and-legal");
    assert_true(pr->respond_measured_only);
    assert_int_equal(pr->ack, CH_POLICY_ACK_NONE);
    assert_ptr_equal(find(&p, "phone", "legal_action", NULL), pr);
    pr = find(&p, "email", "legal_action", "mp-councillor-and-legal-written");
    assert_true(pr->respond_measured_only);
    assert_int_equal(pr->ack, CH_POLICY_ACK_AUTOMATIC);
    /* Every email and online-form promise is acknowledged automatically. */
    for (size_t i = 0; i < p.npromises; i++) {
        const ch_policy_promise *q = &p.promises[i];
        if (q->channels & ((1u << CH_POLICY_CHANNEL_EMAIL) | (1u << CH_POLICY_CHANNEL_ONLINE_FORM)))
            if (q->ack != CH_POLICY_ACK_AUTOMATIC)
                fail_msg("derby-homes: %s covers email or online forms but is not acknowledged "
                         "automatically",
                         q->id);
    }
    ch_policy_free(&p);
}

static void
test_seed001_phone_text_social_and_visits_measured(void **state)
{
    (void)state;
    ch_policy p;
    load_ok("derby-homes", &p);
    const ch_policy_promise *pr = find(&p, "phone", NULL, "phone-calls");
    assert_true(pr->answer_measured_only);
    /* "we'll take a message so that the right person can call you back": no
     * time given, so call-backs are measured */
    assert_int_equal(pr->callback, CH_POLICY_CALLBACK_MEASURED_ONLY);
    assert_describe(&p, pr,
                    "Phone: measured, no time promised; call-backs measured, no time promised; "
                    "first-contact resolution measured");
    pr = find(&p, "sms", NULL, "text-messages");
    assert_true(pr->respond_measured_only);
    assert_describe(&p, pr,
                    "Text message: measured, no time promised; reply by email, else text "
                    "message, unless the customer asks otherwise");
    /* "Maximise the use of email and SMS Text in our written correspondence" */
    assert_int_equal(pr->reply_channel, CH_POLICY_REPLY_EMAIL_OR_SMS);
    assert_int_equal(find(&p, "letter", NULL, "letter-enquiry")->reply_channel,
                     CH_POLICY_REPLY_EMAIL_OR_SMS);
    /* "Include a named contact person": the team, before anyone is assigned. */
    assert_true(p.contact.set);
    assert_string_equal(p.contact.team, "Derby Homes Customer Services");
    assert_true(find(&p, "social", NULL, "social-media")->respond_measured_only);
    /* "Keep to agreed appointment times and if we have to cancel we will re-book" */
    pr = find(&p, "visit", "home_visit", "in-person");
    assert_true(pr->see_measured_only);
    assert_int_equal(pr->measures, CH_POLICY_MEASURE_APPOINTMENTS_KEPT);
    ch_policy_free(&p);
}

/* ---- seed 002: Northern Ireland Housing Executive ---- */

static void
test_seed002_calls_20_seconds_visitors_15_minutes(void **state)
{
    (void)state;
    ch_policy p;
    load_ok("nihe", &p);
    /* "Answer your call within 20 seconds" */
    const ch_policy_promise *pr = find(&p, "phone", NULL, "phone-calls");
    assert_clock(&pr->answer, CH_CLOCK_ELAPSED, 20, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
    assert_int_equal(pr->answer_rings, 0);
    /* "If we cannot give you an immediate answer we will take details and
     * call you back at an agreed time" */
    assert_int_equal(pr->callback, CH_POLICY_CALLBACK_AT_AGREED_TIME);
    assert_describe(&p, pr,
                    "Phone: answer within 20 seconds; call back at the time agreed with the "
                    "customer");
    /* "We will aim to see you within 15 minutes whenever you visit a local office." */
    pr = find(&p, "visit", NULL, "office-visits");
    assert_clock(&pr->see, CH_CLOCK_ELAPSED, 15 * 60, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
    assert_false(pr->see_after_appointment.set);
    engine e;
    engine_init(&e, &p);
    assert_due(&e, &pr->see, "2026-07-01T10:00:00+01:00", "2026-07-01T10:15:00+01:00");
    engine_free(&e);
    ch_policy_free(&p);
}

static void
test_seed002_foi_20_working_days_and_sar_one_calendar_month(void **state)
{
    (void)state;
    ch_policy p;
    load_ok("nihe", &p);
    assert_int_equal(p.nation, CH_NATION_NORTHERN_IRELAND);
    /* "We will answer Freedom of Information requests within the 20 working day deadline" */
    const ch_policy_promise *pr = find(&p, "letter", "foi", "foi-request");
    assert_clock(&pr->respond, CH_CLOCK_WORKING_DAYS, 20, CH_CLOCK_CAL_UK_ANY,
                 CH_CLOCK_FROM_RECEIPT);
    assert_string_equal(pr->respond.clock.preset, "foi");
    /* "We will respond to Data Subject Requests within one calendar month." */
    pr = find(&p, "email", "sar", "subject-access-request");
    assert_clock(&pr->respond, CH_CLOCK_MONTHS, 1, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
    assert_true(pr->respond.clock.roll_forward);
    assert_string_equal(pr->respond.clock.preset, "sar");
    /* Received 12 Jun 2026: one month is Sun 12 Jul; Mon 13 Jul is the
     * Twelfth's substitute in Northern Ireland, so Tue 14 Jul. */
    engine e;
    engine_init(&e, &p);
    assert_due(&e, &pr->respond, "2026-06-12T09:00:00+01:00", "2026-07-14T23:59:59+01:00");
    engine_free(&e);
    ch_policy_free(&p);
}

static void
test_seed002_complaints_15_working_days_each_stage_ni_calendar(void **state)
{
    (void)state;
    ch_policy p;
    load_ok("nihe", &p);
    /* "We will answer first stage complaints within 15 working days" */
    const ch_policy_promise *s1 = find(&p, "email", "complaint_stage_1", "complaint-stage-1");
    assert_clock(&s1->respond, CH_CLOCK_WORKING_DAYS, 15, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
    assert_string_equal(s1->respond.clock.preset, "");
    assert_int_equal(s1->ack, CH_POLICY_ACK_NONE);
    /* "We will answer second stage complaints within 15 working days." */
    const ch_policy_promise *s2 = find(&p, "email", "complaint_stage_2", "complaint-stage-2");
    assert_clock(&s2->respond, CH_CLOCK_WORKING_DAYS, 15, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
    /* Received Mon 16 Mar 2026: St Patrick's Day (17 Mar), Good Friday and
     * Easter Monday are skipped: 15th working day is Thu 9 Apr. */
    engine e;
    engine_init(&e, &p);
    assert_due(&e, &s1->respond, "2026-03-16T11:00:00Z", "2026-04-09T23:59:59+01:00");
    engine_free(&e);
    ch_policy_free(&p);
}

static void
test_seed002_communication_support_counts_published_yearly(void **state)
{
    (void)state;
    ch_policy p;
    load_ok("nihe", &p);
    assert_int_equal(p.publish, CH_POLICY_PUBLISH_YEARLY);
    assert_int_equal(p.communication_support,
                     CH_POLICY_SUPPORT_PHONE_INTERPRETING |
                         CH_POLICY_SUPPORT_FACE_TO_FACE_INTERPRETING | CH_POLICY_SUPPORT_AUDIO |
                         CH_POLICY_SUPPORT_LARGE_PRINT | CH_POLICY_SUPPORT_BRAILLE);
    /* No email promise in the charter: an email enquiry is measured, with no
     * time promised (the rule the loader supplies). */
    const ch_policy_promise *pr = find(&p, "email", "enquiry", "charter-measured");
    assert_int_equal(pr->origin, CH_POLICY_SUPPLIED_MEASURED);
    assert_true(pr->respond_measured_only);
    assert_false(pr->respond.set);
    ch_policy_free(&p);
}

/* ---- seed 003: digital-first council ---- */

static void
test_seed003_queries_auto_ack_ten_working_days_apology_and_new_date(void **state)
{
    (void)state;
    ch_policy p;
    load_ok("digital-first-council", &p);
    /* "Where possible, you will receive an automated acknowledgement" and
     * "respond within our publicised target timescale of 10 working days" */
    const ch_policy_promise *pr = find(&p, "online_form", "enquiry", "digital-query");
    assert_int_equal(pr->ack, CH_POLICY_ACK_AUTOMATIC);
    assert_clock(&pr->respond, CH_CLOCK_WORKING_DAYS, 10, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
    /* "apologise and let you know when you can expect a response" */
    assert_int_equal(pr->holding_must_include, CH_POLICY_HOLD_APOLOGY | CH_POLICY_HOLD_TARGET_DATE);
    pr = find(&p, "letter", NULL, "letter-query");
    assert_int_equal(pr->respond.clock.n, 10);
    ch_policy_free(&p);
}

static void
test_seed003_voicemail_and_social_by_end_of_next_working_day(void **state)
{
    (void)state;
    ch_policy p;
    load_ok("digital-first-council", &p);
    /* "listen to voicemail messages and respond by the end of the next working day" */
    const ch_policy_promise *vm = find(&p, "voicemail", NULL, "voicemail-reply");
    assert_clock(&vm->respond, CH_CLOCK_NEXT_WORKING_DAY, 1, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
    assert_int_equal(vm->respond.clock.at_minute, CH_AT_CLOSING);
    /* "aim to respond by the end of the following working day" */
    const ch_policy_promise *so = find(&p, "social", NULL, "social-media-reply");
    assert_clock(&so->respond, CH_CLOCK_NEXT_WORKING_DAY, 1, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
    assert_int_equal(so->respond.clock.at_minute, CH_AT_CLOSING);
    assert_describe(&p, so,
                    "Social media message: reply by the end of the next working day (England "
                    "and Wales holidays, closes 17:00)");
    /* Posted Fri 22 May 2026 at 20:00; Mon 25 May is the spring bank
     * holiday: due at closing time on Tue 26 May. */
    engine e;
    engine_init(&e, &p);
    assert_due(&e, &so->respond, "2026-05-22T20:00:00+01:00", "2026-05-26T17:00:00+01:00");
    engine_free(&e);
    ch_policy_free(&p);
}

static void
test_seed003_appointments_not_kept_waiting_over_ten_minutes_either_side(void **state)
{
    (void)state;
    ch_policy p;
    load_ok("digital-first-council", &p);
    /* "when you visit us, aim to not keep you waiting more than 10 minutes if
     * you have an agreed appointment" */
    const ch_policy_promise *pr = find(&p, "visit", "appointment", "office-appointments");
    assert_clock(&pr->see_after_appointment, CH_CLOCK_ELAPSED, 600, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
    assert_false(pr->see.set);
    /* "when we visit you, aim to not keep you waiting more than 10 minutes" */
    pr = find(&p, "visit", "home_visit", "home-visit-appointments");
    assert_clock(&pr->see_after_appointment, CH_CLOCK_ELAPSED, 600, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
    /* Walk-ins: no time. */
    assert_true(find(&p, "visit", "enquiry", "office-visits")->see_measured_only);
    assert_true(find(&p, "phone", NULL, "phone-calls")->answer_measured_only);
    ch_policy_free(&p);
}

static void
test_seed003_complaints_stage1_10_stage2_17_working_days(void **state)
{
    (void)state;
    ch_policy p;
    load_ok("digital-first-council", &p);
    /* "10 working days for stage one and 17 working days for stage two" */
    const ch_policy_promise *s1 = find(&p, "letter", "complaint_stage_1", "complaint-stage-1");
    assert_clock(&s1->respond, CH_CLOCK_WORKING_DAYS, 10, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
    const ch_policy_promise *s2 = find(&p, "letter", "complaint_stage_2", "complaint-stage-2");
    assert_clock(&s2->respond, CH_CLOCK_WORKING_DAYS, 17, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
    assert_string_equal(s2->respond.clock.preset, "");
    /* "Where possible, you will receive an automated acknowledgement": a
     * complaint by email or online form, never one by letter (a letter
     * cannot be acknowledged automatically, as letter-query says). */
    assert_int_equal(s1->ack, CH_POLICY_ACK_NONE);
    assert_int_equal(s2->ack, CH_POLICY_ACK_NONE);
    assert_int_equal(find(&p, "email", "complaint_stage_1", "complaint-stage-1-digital")->ack,
                     CH_POLICY_ACK_AUTOMATIC);
    assert_int_equal(
        find(&p, "online_form", "complaint_stage_2", "complaint-stage-2-digital")->respond.clock.n,
        17);
    for (size_t i = 0; i < p.npromises; i++)
        if (p.promises[i].channels & ((1u << CH_POLICY_CHANNEL_LETTER) | 1u))
            assert_int_not_equal(p.promises[i].ack, CH_POLICY_ACK_AUTOMATIC);
    ch_policy_free(&p);
}

/* ---- seed 004: customer care council ---- */

static void
test_seed004_calls_within_four_rings(void **state)
{
    (void)state;
    ch_policy p;
    load_ok("customer-care-council", &p);
    /* "We aim to answer all calls within four rings" */
    const ch_policy_promise *pr = find(&p, "phone", NULL, "phone-calls");
    assert_int_equal(pr->answer_rings, 4);
    assert_false(pr->answer.set);
    /* Judged from the wait when the telephony sends no ring count: UK ring
     * cadence, a ring every 3 seconds, unless the policy says otherwise. */
    assert_int_equal(pr->answer_ring_seconds, CH_POLICY_RING_SECONDS);
    assert_int_equal(pr->answer_ring_seconds, 3);
    assert_describe(&p, pr,
                    "Phone: answer within four rings (12 s at a ring every 3 s); first-contact "
                    "resolution measured");
    ch_policy_free(&p);
}

static void
test_seed004_letters_and_emails_14_days_else_ack_with_target_date(void **state)
{
    (void)state;
    ch_policy p;
    load_ok("customer-care-council", &p);
    /* "within a maximum of 14 days of their receipt" - calendar days. */
    const ch_policy_promise *pr = find(&p, "letter", "enquiry", "letters-and-emails");
    assert_clock(&pr->respond, CH_CLOCK_DAYS, 14, CH_CLOCK_CAL_ORGANISATION, CH_CLOCK_FROM_RECEIPT);
    assert_false(pr->respond.clock.roll_forward);
    /* "an e-mail, letter or card of acknowledgement will be sent specifying a target date" */
    assert_true(pr->holding_reply);
    assert_int_equal(pr->holding_must_include, CH_POLICY_HOLD_TARGET_DATE);
    /* "We will put a reference on your letters/e mails" */
    assert_true(pr->reference_on_reply);
    assert_ptr_equal(find(&p, "email", "enquiry", NULL), pr);
    /* Received Mon 7 Dec 2026: day 14 is Mon 21 Dec. */
    engine e;
    engine_init(&e, &p);
    assert_due(&e, &pr->respond, "2026-12-07T12:00:00Z", "2026-12-21T23:59:59+00:00");
    engine_free(&e);
    ch_policy_free(&p);
}

static void
test_seed004_contact_group_emails_acknowledged_within_24_hours(void **state)
{
    (void)state;
    ch_policy p;
    load_ok("customer-care-council", &p);
    /* "All contact group emails will be acknowledged within 24 hours of receipt." */
    const ch_policy_promise *pr = find(&p, "email", "contact_group", "contact-group-emails");
    assert_int_equal(pr->ack, CH_POLICY_ACK_WITHIN);
    assert_clock(&pr->acknowledge, CH_CLOCK_ELAPSED, 24 * 3600, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
    assert_clock(&pr->respond, CH_CLOCK_DAYS, 14, CH_CLOCK_CAL_ORGANISATION, CH_CLOCK_FROM_RECEIPT);
    assert_true(pr->reference_on_reply);
    /* 24 real hours across the October clock change are 25 on the wall. */
    engine e;
    engine_init(&e, &p);
    assert_due(&e, &pr->acknowledge, "2026-10-24T12:00:00+01:00", "2026-10-25T11:00:00+00:00");
    engine_free(&e);
    ch_policy_free(&p);
}

static void
test_seed004_restrictions_reviewed_after_11_months_then_every_12(void **state)
{
    (void)state;
    ch_policy p;
    load_ok("customer-care-council", &p);
    /* "review the decision after 11 months ... remain on the register for a
     * further 12 months, when a further review shall be carried out" */
    const ch_policy_promise *pr =
        find(&p, "letter", "restriction_review", "home-visit-restriction-review");
    assert_clock(&pr->review_first, CH_CLOCK_MONTHS, 11, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
    assert_clock(&pr->review_every, CH_CLOCK_MONTHS, 12, CH_CLOCK_CAL_ORGANISATION,
                 CH_CLOCK_FROM_RECEIPT);
    assert_string_equal(p.roles[pr->review_role].title, "Resident Services Manager");
    /* Decided 31 Jan 2026: 31 Dec 2026, then 31 Dec 2027. */
    engine e;
    engine_init(&e, &p);
    assert_due(&e, &pr->review_first, "2026-01-31T12:00:00Z", "2026-12-31T23:59:59+00:00");
    assert_due(&e, &pr->review_every, "2026-12-31T23:59:59Z", "2027-12-31T23:59:59+00:00");
    engine_free(&e);
    assert_ombudsman_code(&p);
    ch_policy_free(&p);
}

/* ---- broken copies ---- */

static void
test_broken_copies_name_file_line_and_key(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        const char *where; /* ":line:column: key:" */
        const char *says;
    } cases[] = {
        {"nottingham-city-homes.wrong-key", ":61:5: promises[1].respnd:", "unknown key"},
        {"nottingham-city-homes.bad-duration",
         ":80:14: promises[2].respond:", "'7 workin days' is not a clock"},
        {"nottingham-city-homes.missing-clock",
         ":94:5: promises[3].respond:", "missing: social promises need a respond clock"},
        {"derby-homes.wrong-key", ":90:5: promises[3].acknowledgement:", "unknown key"},
        {"derby-homes.bad-duration",
         ":69:14: promises[2].respond:", "'next workin day 17:00' is not a clock"},
        {"derby-homes.missing-clock",
         ":41:5: promises[0].answer:", "missing: phone promises need an answer clock"},
        {"nihe.wrong-key", ":13:3: organisation.refrence_prefix:", "unknown key"},
        {"nihe.bad-duration", ":49:13: promises[0].answer:", "'20 seconfs' is not a clock"},
        {"nihe.missing-clock",
         ":53:5: promises[1].see:", "missing: visit promises need a see clock"},
        {"digital-first-council.wrong-key", ":103:5: promises[3].warning:", "unknown key"},
        {"digital-first-council.bad-duration",
         ":197:14: promises[9].respond:", "'17 working dayz' is not a clock"},
        {"digital-first-council.missing-clock",
         ":42:5: promises[0].acknowledge:", "missing: say how receipt is acknowledged"},
        {"customer-care-council.wrong-key", ":126:7: promises[4].review.then_evry:",
         "unknown key (expected one of: first, then_every, to)"},
        {"customer-care-council.bad-duration",
         ":73:14: promises[2].respond:", "'14 dayss' is not a clock"},
        {"customer-care-council.missing-clock",
         ":64:5: promises[2].respond:", "missing: email promises need a respond clock"},
        {"customer-care-council.unknown-role", ":130:13: promises[4].warnings[0].to:",
         "'resident_service_manager' is not a role (roles defined: owner, team_lead"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[512], want[640], err[1024] = "";
        snprintf(path, sizeof(path), "%s/broken/%s.yaml", CHARTER_TEST_POLICY_DIR, cases[i].file);
        ch_policy p;
        memset(&p, 0x5a, sizeof(p));
        int rc = ch_policy_load_file(path, &p, err, sizeof(err));
        if (rc != CH_EINVAL)
            fail_msg("%s: returned %d, expected CH_EINVAL (err: %s)", path, rc, err);
        snprintf(want, sizeof(want), "%s%s ", path, cases[i].where);
        if (strncmp(err, want, strlen(want)) != 0)
            fail_msg("%s:\n  got  %s\n  want %s...", cases[i].file, err, want);
        if (!strstr(err, cases[i].says))
            fail_msg("%s:\n  got  %s\n  want it to say \"%s\"", cases[i].file, err, cases[i].says);
        /* A failed load leaves nothing to free and the struct zeroed. */
        assert_null(p.promises);
        assert_int_equal(p.npromises, 0);
        ch_policy_free(&p);
    }
}

/* "Our staff and contractors will be carrying photo ID ... We ask that you
 * don't smoke in your home while our colleagues are there, and that you keep
 * pets secure in another room": what appointment confirmations quote. */
static void
test_seed000_visit_requirements_photo_id_no_smoking_pets(void **state)
{
    (void)state;
    ch_policy p;
    load_ok("nottingham-city-homes", &p);
    assert_int_equal(p.nvisit_requirements, 3);
    assert_non_null(strstr(p.visit_requirements[0], "photo ID"));
    assert_non_null(strstr(p.visit_requirements[1], "smoke"));
    assert_non_null(strstr(p.visit_requirements[2], "pets secure"));
    ch_policy_free(&p);
    load_ok("nihe", &p);
    assert_int_equal(p.nvisit_requirements, 2);
    assert_non_null(strstr(p.visit_requirements[0], "photographic identification"));
    ch_policy_free(&p);
    load_ok("customer-care-council", &p);
    assert_int_equal(p.nvisit_requirements, 0);
    assert_null(p.visit_requirements);
    ch_policy_free(&p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_five_shipped_policies_load),
        cmocka_unit_test(test_organisations_prefixes_kinds_and_calendars),
        cmocka_unit_test(test_seed000_email_reply_within_five_working_days),
        cmocka_unit_test(test_seed000_letter_seven_working_days_named_handler_and_expected_date),
        cmocka_unit_test(test_seed000_social_dm_one_working_day_same_channel),
        cmocka_unit_test(test_seed000_phone_first_call_resolution_and_visits_measured),
        cmocka_unit_test(test_seed000_visit_requirements_photo_id_no_smoking_pets),
        cmocka_unit_test(test_visit_requirements_must_be_a_list_of_sentences),
        cmocka_unit_test(test_seed000_complaints_silent_so_housing_ombudsman_code),
        cmocka_unit_test(test_seed001_voicemail_by_5pm_next_working_day),
        cmocka_unit_test(test_seed001_email_and_online_forms_auto_ack_ten_days_or_holding_reply),
        cmocka_unit_test(test_seed001_self_service_ack_one_day_and_online_enquiries_two_days),
        cmocka_unit_test(test_seed001_exceptions_foi_complaints_mp_and_legal),
        cmocka_unit_test(test_seed001_phone_text_social_and_visits_measured),
        cmocka_unit_test(test_seed002_calls_20_seconds_visitors_15_minutes),
        cmocka_unit_test(test_seed002_foi_20_working_days_and_sar_one_calendar_month),
        cmocka_unit_test(test_seed002_complaints_15_working_days_each_stage_ni_calendar),
        cmocka_unit_test(test_seed002_communication_support_counts_published_yearly),
        cmocka_unit_test(test_seed003_queries_auto_ack_ten_working_days_apology_and_new_date),
        cmocka_unit_test(test_seed003_voicemail_and_social_by_end_of_next_working_day),
        cmocka_unit_test(test_seed003_appointments_not_kept_waiting_over_ten_minutes_either_side),
        cmocka_unit_test(test_seed003_complaints_stage1_10_stage2_17_working_days),
        cmocka_unit_test(test_seed004_calls_within_four_rings),
        cmocka_unit_test(test_seed004_letters_and_emails_14_days_else_ack_with_target_date),
        cmocka_unit_test(test_seed004_contact_group_emails_acknowledged_within_24_hours),
        cmocka_unit_test(test_seed004_restrictions_reviewed_after_11_months_then_every_12),
        cmocka_unit_test(test_broken_copies_name_file_line_and_key),
        cmocka_unit_test(test_minimal_policy_loads_with_defaults),
        cmocka_unit_test(test_refuses_unknown_and_duplicate_keys),
        cmocka_unit_test(test_promise_target),
        cmocka_unit_test(test_refuses_bad_values_with_what_was_expected),
        cmocka_unit_test(test_refuses_incomplete_promises),
        cmocka_unit_test(test_refuses_broken_yaml_empty_files_and_second_documents),
        cmocka_unit_test(test_options_closures_and_hours),
        cmocka_unit_test(test_find_promise_prefers_exact_type_then_any),
        cmocka_unit_test(test_describe_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
