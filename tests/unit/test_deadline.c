/*
 * The deadline engine, clause by clause. Each expected instant was worked out
 * by hand from the calendar (the working is in the comment) and is compared
 * as the text staff would read: the local time with its offset.
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
#include "charter/timeutil.h"
#include "charter/tz.h"
#include "support/instant.h"

typedef struct {
    ch_tz *tz;
    ch_calendar *ew, *scot, *ni, *uk_any;
} fixture;

static fixture fx;

static int
setup(void **state)
{
    (void)state;
    char err[256];
    fx.tz = ch_tz_load("Europe/London", NULL, err, sizeof(err));
    fx.ew = ch_calendar_new(CH_NATION_ENGLAND_AND_WALES);
    fx.scot = ch_calendar_new(CH_NATION_SCOTLAND);
    fx.ni = ch_calendar_new(CH_NATION_NORTHERN_IRELAND);
    fx.uk_any = ch_calendar_new(CH_NATION_UK_ANY);
    return fx.tz && fx.ew && fx.scot && fx.ni && fx.uk_any ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    ch_tz_free(fx.tz);
    ch_calendar_free(fx.ew);
    ch_calendar_free(fx.scot);
    ch_calendar_free(fx.ni);
    ch_calendar_free(fx.uk_any);
    return 0;
}

static ch_deadline_ctx
ctx_for(const ch_calendar *cal)
{
    ch_deadline_ctx c = {.tz = fx.tz, .calendar = cal, .uk_any = fx.uk_any, .scotland = fx.scot};
    return c;
}

/* Asserts that `rule` started at `received` on `cal` is due at `want`. */
static void
check_due_ctx(const ch_deadline_ctx *ctx, const char *rule, const char *received, const ch_pause *p,
              size_t np, const char *want)
{
    ch_clock c;
    char err[512];
    if (ch_clock_parse(rule, &c, err, sizeof(err)) != 0)
        fail_msg("rule '%s' did not parse: %s", rule, err);
    int64_t due;
    assert_int_equal(ch_deadline_due(ctx, &c, fx_at(received), p, np, &due), 0);
    char got[64];
    ch_deadline_format(fx.tz, due, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fail_msg("'%s' received %s: due %s, expected %s", rule, received, got, want);
}

static void
check_due(const ch_calendar *cal, const char *rule, const char *received, const char *want)
{
    ch_deadline_ctx ctx = ctx_for(cal);
    check_due_ctx(&ctx, rule, received, NULL, 0, want);
}

/* ---- the five seeds ---- */

/* Seed 000 (Nottingham City Homes): "reply to emails within 5 working days".
 * Mon 23 Nov 2026: Tue 24 (1), Wed 25 (2), Thu 26 (3), Fri 27 (4), Mon 30 (5). */
static void
test_seed000_email_five_working_days(void **state)
{
    (void)state;
    check_due(fx.ew, "5 working days", "2026-11-23T09:15:00Z", "2026-11-30T23:59:59+00:00");
}

/* Seed 000: letters within 7 working days, across Christmas 2026 (Fri 25 Dec,
 * Boxing Day substitute Mon 28 Dec, New Year Fri 1 Jan 2027).
 * Wed 23 Dec: Thu 24 (1), Tue 29 (2), Wed 30 (3), Thu 31 (4), Mon 4 Jan (5),
 * Tue 5 (6), Wed 6 (7). */
static void
test_seed000_letter_seven_working_days_over_christmas(void **state)
{
    (void)state;
    check_due(fx.ew, "7 working days", "2026-12-23T11:00:00Z", "2027-01-06T23:59:59+00:00");
}

/* Seed 000: social media direct messages answered within 1 working day; a
 * message on Friday evening is due at the end of Monday. */
static void
test_seed000_social_one_working_day(void **state)
{
    (void)state;
    check_due(fx.ew, "1 working day", "2026-11-27T19:40:00Z", "2026-11-30T23:59:59+00:00");
}

/* Seed 001 (Derby Homes): voicemail answered by the end of the next working
 * day (17:00). Friday after hours -> Monday 17:00; across the spring clock
 * change the time stays 17:00 local (BST). */
static void
test_seed001_voicemail_end_of_next_working_day(void **state)
{
    (void)state;
    check_due(fx.ew, "end of next working day", "2026-11-27T18:00:00Z",
              "2026-11-30T17:00:00+00:00");
    check_due(fx.ew, "next working day 17:00", "2026-03-27T16:00:00Z", "2026-03-30T17:00:00+01:00");
}

/* Seed 001: emails and online forms answered in 10 working days; online
 * service requests acknowledged in 1 working day; online enquiries in 2.
 * Thu 2 Apr 2026: Good Friday 3 Apr and Easter Monday 6 Apr are holidays. */
static void
test_seed001_online_clocks_over_easter(void **state)
{
    (void)state;
    check_due(fx.ew, "1 working day", "2026-04-02T10:00:00Z", "2026-04-07T23:59:59+01:00");
    check_due(fx.ew, "2 working days", "2026-04-02T10:00:00Z", "2026-04-08T23:59:59+01:00");
    /* Tue 7 (1) .. Fri 10 (4), Mon 13 (5) .. Fri 17 (9), Mon 20 (10) */
    check_due(fx.ew, "10 working days", "2026-04-02T10:00:00Z", "2026-04-20T23:59:59+01:00");
}

/* Seed 002 (NIHE): calls answered within 20 seconds; visitors seen within 15
 * minutes: elapsed clocks, unaffected by calendars. */
static void
test_seed002_calls_and_visitors_elapsed(void **state)
{
    (void)state;
    check_due(fx.ni, "20 seconds", "2026-11-23T09:15:00Z", "2026-11-23T09:15:20+00:00");
    check_due(fx.ni, "15 minutes", "2026-07-13T09:15:00Z", "2026-07-13T10:30:00+01:00");
}

/* Seed 002: FOI in 20 working days on the uk-any calendar. Received Wed 23
 * Dec 2026: Thu 24 (1), Tue 29 (2), Wed 30 (3), Thu 31 (4); Mon 4 Jan 2027 is
 * Scotland's 2 January substitute, so not a working day anywhere in the UK;
 * Tue 5 (5) ... Tue 26 Jan (20). */
static void
test_seed002_foi_uk_any_over_new_year(void **state)
{
    (void)state;
    check_due(fx.ni, "foi", "2026-12-23T12:00:00Z", "2027-01-26T23:59:59+00:00");
    /* The same count on the organisation's NI calendar would end a day
     * earlier: Mon 4 Jan is a working day in Northern Ireland. */
    check_due(fx.ni, "20 working days", "2026-12-23T12:00:00Z", "2027-01-25T23:59:59+00:00");
}

/* Seed 002: subject access within one calendar month. 31 Jan 2026 -> 28 Feb
 * (Saturday) -> rolled to Monday 2 March. 2028 is a leap year: 29 Feb. */
static void
test_seed002_sar_month_ends_and_leap_years(void **state)
{
    (void)state;
    check_due(fx.ni, "sar", "2026-01-31T10:00:00Z", "2026-03-02T23:59:59+00:00");
    check_due(fx.ni, "sar", "2028-01-31T10:00:00Z", "2028-02-29T23:59:59+00:00");
    check_due(fx.ni, "sar", "2026-03-31T10:00:00Z", "2026-04-30T23:59:59+01:00");
    /* 25 Nov -> Fri 25 Dec (Christmas) -> Mon 28 (Boxing substitute) -> Tue 29 */
    check_due(fx.ni, "sar", "2026-11-25T10:00:00Z", "2026-12-29T23:59:59+00:00");
    /* three months from 30 Nov: 30 Feb does not exist -> Sun 28 Feb -> Mon 1 Mar */
    check_due(fx.ni, "sar-extended", "2026-11-30T10:00:00Z", "2027-03-01T23:59:59+00:00");
}

/* Seed 002, Northern Ireland calendar: St Patrick's Day (Tue 17 Mar 2026)
 * and the Twelfth (Sun 12 Jul 2026, substitute Mon 13 Jul). */
static void
test_seed002_st_patrick_and_the_twelfth(void **state)
{
    (void)state;
    check_due(fx.ni, "1 working day", "2026-03-16T10:00:00Z", "2026-03-18T23:59:59+00:00");
    check_due(fx.ew, "1 working day", "2026-03-16T10:00:00Z", "2026-03-17T23:59:59+00:00");
    check_due(fx.ni, "1 working day", "2026-07-10T10:00:00Z", "2026-07-14T23:59:59+01:00");
    check_due(fx.ew, "1 working day", "2026-07-10T10:00:00Z", "2026-07-13T23:59:59+01:00");
}

/* Seed 002: complaints at stage 1 and stage 2, each 15 working days. */
static void
test_seed002_complaints_fifteen_working_days(void **state)
{
    (void)state;
    /* Mon 2 Nov 2026: 3..6 (4), 9..13 (9), 16..20 (14), Mon 23 (15) */
    check_due(fx.ni, "15 working days", "2026-11-02T10:00:00Z", "2026-11-23T23:59:59+00:00");
}

/* Seed 003 (digital-first council): social media answered by the end of the
 * following working day; complaints stage 2 in 17 working days. */
static void
test_seed003_social_and_stage_two(void **state)
{
    (void)state;
    check_due(fx.ew, "end of the following working day", "2026-12-24T15:00:00Z",
              "2026-12-29T17:00:00+00:00");
    /* Mon 2 Nov: (4) Fri 6, (9) Fri 13, (14) Fri 20, Mon 23 (15), Tue 24 (16), Wed 25 (17) */
    check_due(fx.ew, "17 working days", "2026-11-02T10:00:00Z", "2026-11-25T23:59:59+00:00");
}

/* Seed 003: visitors with an appointment not kept waiting more than 10
 * minutes: elapsed from the appointment time. */
static void
test_seed003_appointment_wait(void **state)
{
    (void)state;
    check_due(fx.ew, "10 minutes", "2026-10-25T00:55:00Z", "2026-10-25T01:05:00+00:00");
}

/* Seed 004 (customer-care council): letters and emails within 14 days:
 * calendar days, no roll unless the policy asks. 20 Dec + 14 = Sun 3 Jan. */
static void
test_seed004_fourteen_calendar_days(void **state)
{
    (void)state;
    check_due(fx.ew, "14 days", "2026-12-20T10:00:00Z", "2027-01-03T23:59:59+00:00");
    ch_clock c;
    char err[256];
    assert_int_equal(ch_clock_parse("14 calendar days", &c, err, sizeof(err)), 0);
    c.roll_forward = 1;
    ch_deadline_ctx ctx = ctx_for(fx.ew);
    int64_t due;
    assert_int_equal(ch_deadline_due(&ctx, &c, fx_at("2026-12-20T10:00:00Z"), NULL, 0, &due), 0);
    char got[64];
    ch_deadline_format(fx.tz, due, got, sizeof(got));
    assert_string_equal(got, "2027-01-04T23:59:59+00:00");
}

/* Seed 004: contact-group emails acknowledged within 24 hours: 24 real hours
 * across both clock changes. */
static void
test_seed004_24_hours_across_clock_changes(void **state)
{
    (void)state;
    check_due(fx.ew, "24 hours", "2026-03-28T12:00:00Z", "2026-03-29T13:00:00+01:00");
    check_due(fx.ew, "24 hours", "2026-10-24T12:00:00Z", "2026-10-25T12:00:00+00:00");
}

/* Seed 004: home-visit restrictions reviewed after 11 months, then 12. */
static void
test_seed004_restriction_reviews(void **state)
{
    (void)state;
    check_due(fx.ew, "11 calendar months", "2026-01-31T10:00:00Z", "2026-12-31T23:59:59+00:00");
    check_due(fx.ew, "12 calendar months", "2026-12-31T10:00:00Z", "2027-12-31T23:59:59+00:00");
    check_due(fx.ew, "12 calendar months", "2028-02-29T10:00:00Z", "2029-02-28T23:59:59+00:00");
}

/* ---- calendars and zones ---- */

/* Scotland: 2 January (Sat 2 Jan 2027 -> Mon 4) and the first Monday of
 * August (3 Aug 2026), where England's summer holiday is the last Monday. */
static void
test_scotland_january_and_august(void **state)
{
    (void)state;
    check_due(fx.scot, "5 working days", "2026-12-23T10:00:00Z", "2027-01-05T23:59:59+00:00");
    check_due(fx.ew, "5 working days", "2026-12-23T10:00:00Z", "2027-01-04T23:59:59+00:00");
    check_due(fx.scot, "1 working day", "2026-07-31T10:00:00Z", "2026-08-04T23:59:59+01:00");
    check_due(fx.ew, "1 working day", "2026-07-31T10:00:00Z", "2026-08-03T23:59:59+01:00");
    check_due(fx.ew, "1 working day", "2026-08-28T10:00:00Z", "2026-09-01T23:59:59+01:00");
}

/* FOISA counts Scottish bank holidays whatever the organisation's nation. */
static void
test_foisa_counts_scottish_holidays(void **state)
{
    (void)state;
    /* 23 Dec 2026 on Scotland: Thu 24 (1), Tue 29 (2), Wed 30 (3), Thu 31 (4),
     * Mon 4 Jan holiday, Tue 5 (5) .. Tue 26 (20) */
    check_due(fx.ew, "foisa", "2026-12-23T12:00:00Z", "2027-01-26T23:59:59+00:00");
}

/* The receipt day is the local day: 23:30 UTC on 30 June is 00:30 BST on
 * 1 July, so day 0 is Wednesday 1 July. */
static void
test_receipt_day_is_local(void **state)
{
    (void)state;
    check_due(fx.ew, "1 working day", "2026-06-30T23:30:00Z", "2026-07-02T23:59:59+01:00");
    check_due(fx.ew, "1 working day", "2026-06-30T22:59:59Z", "2026-07-01T23:59:59+01:00");
}

/* A receipt in the repeated hour (01:30 local on 25 Oct 2026 happens twice)
 * is one day either way; the due instant is right in GMT. */
static void
test_repeated_hour_in_october(void **state)
{
    (void)state;
    check_due(fx.ew, "1 working day", "2026-10-25T00:30:00Z", "2026-10-26T23:59:59+00:00");
    check_due(fx.ew, "1 working day", "2026-10-25T01:30:00Z", "2026-10-26T23:59:59+00:00");
}

/* Receipt on a non-working day still makes that day day 0. */
static void
test_receipt_on_holiday_is_day_zero(void **state)
{
    (void)state;
    /* Sat 26 Dec 2026: Mon 28 is a holiday, Tue 29 (1), Wed 30 (2) */
    check_due(fx.ew, "2 working days", "2026-12-26T10:00:00Z", "2026-12-30T23:59:59+00:00");
}

/* The policy option: receipt after closing (17:00) or on a non-working day
 * counts as receipt on the next working day. */
static void
test_defer_out_of_hours(void **state)
{
    (void)state;
    ch_deadline_ctx ctx = ctx_for(fx.ew);
    ctx.defer_out_of_hours = 1;
    /* Fri 27 Nov 18:00 -> received Mon 30: Tue 1 .. Mon 7 Dec (5) */
    check_due_ctx(&ctx, "5 working days", "2026-11-27T18:00:00Z", NULL, 0,
                  "2026-12-07T23:59:59+00:00");
    /* before closing it is the same day */
    check_due_ctx(&ctx, "5 working days", "2026-11-27T16:00:00Z", NULL, 0,
                  "2026-12-04T23:59:59+00:00");
    /* elapsed clocks ignore the option */
    check_due_ctx(&ctx, "20 seconds", "2026-11-27T18:00:00Z", NULL, 0, "2026-11-27T18:00:20+00:00");
}

/* Organisation closures are non-working days on the organisation's
 * calendar, but not for statutory clocks. */
static void
test_closures(void **state)
{
    (void)state;
    ch_calendar *cal = ch_calendar_new(CH_NATION_ENGLAND_AND_WALES);
    assert_non_null(cal);
    for (int d = 29; d <= 31; d++)
        assert_int_equal(ch_calendar_add_closure(cal, ch_day_from_civil(2026, 12, d)), 0);
    ch_deadline_ctx ctx = ctx_for(cal);
    /* Wed 23 Dec: Thu 24 (1), closed 29-31, Mon 4 Jan (2) */
    check_due_ctx(&ctx, "2 working days", "2026-12-23T10:00:00Z", NULL, 0,
                  "2027-01-04T23:59:59+00:00");
    /* FOI on uk-any ignores the closure: Thu 24 (1), Tue 29 (2) */
    ch_clock c;
    char err[256];
    assert_int_equal(ch_clock_parse("foi", &c, err, sizeof(err)), 0);
    c.n = 2;
    int64_t due;
    assert_int_equal(ch_deadline_due(&ctx, &c, fx_at("2026-12-23T10:00:00Z"), NULL, 0, &due), 0);
    char got[64];
    ch_deadline_format(fx.tz, due, got, sizeof(got));
    assert_string_equal(got, "2026-12-29T23:59:59+00:00");
    ch_calendar_free(cal);
}

/* Pauses: FOI fees notice to payment (Tue 10 to Thu 12 Nov 2026, inclusive)
 * is disregarded. Without it, 20 working days from Mon 2 Nov: Fri 27 Nov is
 * the 19th, Mon 30 Nov is St Andrew's Day (a bank holiday in Scotland, so
 * not a working day on uk-any), Tue 1 Dec is the 20th. With the pause, three
 * working days later: Fri 4 Dec. */
static void
test_pause_working_days(void **state)
{
    (void)state;
    ch_deadline_ctx ctx = ctx_for(fx.ew);
    check_due_ctx(&ctx, "foi", "2026-11-02T10:00:00Z", NULL, 0, "2026-12-01T23:59:59+00:00");
    ch_pause p = {fx_at("2026-11-10T09:00:00Z"), fx_at("2026-11-12T15:00:00Z")};
    check_due_ctx(&ctx, "foi", "2026-11-02T10:00:00Z", &p, 1, "2026-12-04T23:59:59+00:00");
    /* the same count on England's calendar ends on Mon 30 Nov */
    check_due_ctx(&ctx, "20 working days", "2026-11-02T10:00:00Z", NULL, 0,
                  "2026-11-30T23:59:59+00:00");
}

/* Pauses on elapsed and calendar-day clocks. */
static void
test_pause_elapsed_and_days(void **state)
{
    (void)state;
    ch_deadline_ctx ctx = ctx_for(fx.ew);
    ch_pause p = {fx_at("2026-11-23T10:00:00Z"), fx_at("2026-11-23T12:00:00Z")};
    check_due_ctx(&ctx, "24 hours", "2026-11-23T09:00:00Z", &p, 1, "2026-11-24T11:00:00+00:00");
    ch_pause d = {fx_at("2026-11-25T10:00:00Z"), fx_at("2026-11-26T10:00:00Z")};
    /* 14 days from Mon 23 Nov is Mon 7 Dec; two paused days -> Wed 9 Dec */
    check_due_ctx(&ctx, "14 days", "2026-11-23T09:00:00Z", &d, 1, "2026-12-09T23:59:59+00:00");
    /* a pause before receipt changes nothing */
    ch_pause old = {fx_at("2026-11-01T10:00:00Z"), fx_at("2026-11-02T10:00:00Z")};
    check_due_ctx(&ctx, "24 hours", "2026-11-23T09:00:00Z", &old, 1, "2026-11-24T09:00:00+00:00");
}

/* Warnings: a share of the allowed time, or a lead in working days or hours. */
static void
test_warnings(void **state)
{
    (void)state;
    ch_deadline_ctx ctx = ctx_for(fx.ew);
    char err[256], got[64];
    ch_warning_rule w;
    int64_t start = fx_at("2026-11-23T00:00:00Z"), due = fx_at("2026-11-27T00:00:00Z"), warn;
    assert_int_equal(ch_warning_parse("75%", &w, err, sizeof(err)), 0);
    assert_int_equal(ch_warning_at(&ctx, &w, start, due, &warn), 0);
    assert_int_equal(warn, fx_at("2026-11-26T00:00:00Z"));
    assert_int_equal(ch_warning_parse("1 working day before", &w, err, sizeof(err)), 0);
    /* due end of Mon 30 Nov -> end of Fri 27 Nov */
    assert_int_equal(ch_warning_at(&ctx, &w, start, fx_at("2026-11-30T23:59:59Z"), &warn), 0);
    ch_deadline_format(fx.tz, warn, got, sizeof(got));
    assert_string_equal(got, "2026-11-27T23:59:59+00:00");
    assert_int_equal(ch_warning_parse("2 hours before", &w, err, sizeof(err)), 0);
    assert_int_equal(ch_warning_at(&ctx, &w, start, due, &warn), 0);
    assert_int_equal(warn, fx_at("2026-11-26T22:00:00Z"));
    /* never before the start */
    assert_int_equal(ch_warning_at(&ctx, &w, start, start + 1000, &warn), 0);
    assert_int_equal(warn, start);
    assert_int_equal(ch_warning_parse("110%", &w, err, sizeof(err)), CH_EINVAL);
    assert_int_equal(ch_warning_parse("soon", &w, err, sizeof(err)), CH_EINVAL);
    assert_non_null(strstr(err, "'soon'"));
}

static void
check_in_hours(const ch_deadline_ctx *ctx, const char *raw, const char *start, const char *due,
               const char *want)
{
    int64_t got_ms;
    char got[64];
    assert_int_equal(ch_warning_in_hours(ctx, fx_at(raw), fx_at(start), fx_at(due), &got_ms), 0);
    ch_deadline_format(fx.tz, got_ms, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fail_msg("warning raw %s: got %s, expected %s", raw, got, want);
}

/* Warnings land in opening hours (09:00-17:00 Monday to Friday, England and
 * Wales): out of hours they move back to the last closing time, never
 * before the start (then forward to the next opening, never after the due
 * instant; with no opening time between the two, they stay). */
static void
test_warning_in_hours(void **state)
{
    (void)state;
    ch_deadline_ctx ctx = ctx_for(fx.ew);
    /* NCH e-mail received Mon 2 Mar 2026 10:00, due Mon 9 Mar 23:59:59 */
    const char *s = "2026-03-02T10:00:00Z", *d = "2026-03-09T23:59:59Z";
    check_in_hours(&ctx, "2026-03-06T17:00:00Z", s, d, "2026-03-06T17:00:00+00:00"); /* stays */
    check_in_hours(&ctx, "2026-03-06T11:30:00Z", s, d, "2026-03-06T11:30:00+00:00"); /* stays */
    check_in_hours(&ctx, "2026-03-06T23:59:59Z", s, d, "2026-03-06T17:00:00+00:00"); /* Fri night */
    check_in_hours(&ctx, "2026-03-08T02:29:59.250Z", s, d, "2026-03-06T17:00:00+00:00"); /* Sun */
    check_in_hours(&ctx, "2026-03-05T08:59:00Z", s, d, "2026-03-04T17:00:00+00:00");     /* early */
    /* Easter 2026 (Good Friday 3 Apr, Easter Monday 6 Apr): Monday 14:29 BST
     * is a bank holiday, so back over the weekend and Good Friday to
     * Thursday 2 April 17:00 BST */
    check_in_hours(&ctx, "2026-04-06T13:29:59.250Z", "2026-03-30T09:00:00Z", "2026-04-08T22:59:59Z",
                   "2026-04-02T17:00:00+01:00");
    /* received Friday 20:00: Saturday's warning cannot go back before the
     * receipt, so it goes forward to Monday 09:00 (due Monday 23:59:59) */
    check_in_hours(&ctx, "2026-03-07T12:00:00Z", "2026-03-06T20:00:00Z", "2026-03-09T23:59:59Z",
                   "2026-03-09T09:00:00+00:00");
    /* a short clock at night with no opening time before it is due: kept */
    check_in_hours(&ctx, "2026-03-06T20:00:10Z", "2026-03-06T20:00:00Z", "2026-03-06T20:00:20Z",
                   "2026-03-06T20:00:10+00:00");
}

/* ---- parsing ---- */

static void
test_clock_parse_forms(void **state)
{
    (void)state;
    char err[512];
    ch_clock c;
    assert_int_equal(ch_clock_parse("20 seconds", &c, err, sizeof(err)), 0);
    assert_int_equal(c.kind, CH_CLOCK_ELAPSED);
    assert_int_equal(c.n, 20);
    assert_int_equal(ch_clock_parse("Within 24 hours", &c, err, sizeof(err)), 0);
    assert_int_equal(c.n, 86400);
    assert_int_equal(ch_clock_parse("five working days", &c, err, sizeof(err)), 0);
    assert_int_equal(c.kind, CH_CLOCK_WORKING_DAYS);
    assert_int_equal(c.n, 5);
    assert_int_equal(ch_clock_parse("2 working days at 17:00", &c, err, sizeof(err)), 0);
    assert_int_equal(c.at_minute, 17 * 60);
    assert_int_equal(ch_clock_parse("10 working days at closing", &c, err, sizeof(err)), 0);
    assert_int_equal(c.at_minute, CH_AT_CLOSING);
    assert_int_equal(ch_clock_parse("one calendar month", &c, err, sizeof(err)), 0);
    assert_int_equal(c.kind, CH_CLOCK_MONTHS);
    assert_int_equal(ch_clock_parse("next working day 09:30", &c, err, sizeof(err)), 0);
    assert_int_equal(c.kind, CH_CLOCK_NEXT_WORKING_DAY);
    assert_int_equal(c.at_minute, 9 * 60 + 30);
    assert_int_equal(ch_clock_parse("foi", &c, err, sizeof(err)), 0);
    assert_int_equal(c.calendar, CH_CLOCK_CAL_UK_ANY);
    assert_string_equal(c.preset, "foi");
    assert_int_equal(ch_clock_parse("foisa", &c, err, sizeof(err)), 0);
    assert_int_equal(c.calendar, CH_CLOCK_CAL_SCOTLAND);
    assert_int_equal(ch_clock_parse("sar", &c, err, sizeof(err)), 0);
    assert_true(c.roll_forward);
    assert_int_equal(ch_clock_parse("2 weeks", &c, err, sizeof(err)), 0);
    assert_int_equal(c.n, 14);
}

static void
test_clock_parse_errors(void **state)
{
    (void)state;
    char err[512];
    ch_clock c;
    const char *bad[] = {"",
                         "5",
                         "5 workin days",
                         "working days",
                         "5 working days at 25:00",
                         "end of 5 days",
                         "soon",
                         "24 hours at 17:00",
                         "next working day 7pm"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ch_clock_parse(bad[i], &c, err, sizeof(err)), CH_EINVAL);
        char want[64];
        snprintf(want, sizeof(want), "'%s'", bad[i]);
        if (!strstr(err, want))
            fail_msg("error for '%s' does not quote it: %s", bad[i], err);
        assert_non_null(strstr(err, "working days"));
    }
}

static void
test_clock_describe(void **state)
{
    (void)state;
    char err[256], buf[256];
    ch_clock c;
    assert_int_equal(ch_clock_parse("5 working days", &c, err, sizeof(err)), 0);
    ch_clock_describe(&c, buf, sizeof(buf));
    assert_string_equal(buf, "5 working days");
    assert_int_equal(ch_clock_parse("foi", &c, err, sizeof(err)), 0);
    ch_clock_describe(&c, buf, sizeof(buf));
    assert_string_equal(buf, "20 working days, bank holidays anywhere in the UK");
    assert_int_equal(ch_clock_parse("20 seconds", &c, err, sizeof(err)), 0);
    ch_clock_describe(&c, buf, sizeof(buf));
    assert_string_equal(buf, "20 seconds");
    assert_int_equal(ch_clock_parse("end of next working day", &c, err, sizeof(err)), 0);
    ch_clock_describe(&c, buf, sizeof(buf));
    assert_string_equal(buf, "the end of the next working day (closing time)");
}

static void
test_out_of_range(void **state)
{
    (void)state;
    ch_deadline_ctx ctx = ctx_for(fx.ew);
    ch_clock c;
    char err[256];
    int64_t due;
    assert_int_equal(ch_clock_parse("5 working days", &c, err, sizeof(err)), 0);
    assert_int_equal(ch_deadline_due(&ctx, &c, fx_at("2100-12-30T10:00:00Z"), NULL, 0, &due),
                     CH_EINVAL);
    ctx.uk_any = NULL;
    assert_int_equal(ch_clock_parse("foi", &c, err, sizeof(err)), 0);
    assert_int_equal(ch_deadline_due(&ctx, &c, fx_at("2026-12-30T10:00:00Z"), NULL, 0, &due),
                     CH_EINVAL);
}

/* ---- properties over many instants ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void
test_properties(void **state)
{
    (void)state;
    static const char *rules[] = {"5 working days",
                                  "20 working days",
                                  "1 working day",
                                  "14 days",
                                  "24 hours",
                                  "20 seconds",
                                  "end of next working day",
                                  "foi",
                                  "sar",
                                  "1 calendar month",
                                  "17 working days at 17:00"};
    const ch_calendar *cals[] = {fx.ew, fx.scot, fx.ni};
    int64_t lo = fx_at("2000-01-01T00:00:00Z"), hi = fx_at("2090-01-01T00:00:00Z");
    char err[256];
    for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]); r++) {
        ch_clock c;
        assert_int_equal(ch_clock_parse(rules[r], &c, err, sizeof(err)), 0);
        for (int k = 0; k < 3; k++) {
            ch_deadline_ctx ctx = ctx_for(cals[k]);
            for (int i = 0; i < 600; i++) {
                int64_t t1 = lo + (int64_t)(next_rand() % (uint64_t)(hi - lo));
                int64_t t2 = t1 + (int64_t)(next_rand() % (40LL * 86400 * 1000));
                int64_t d1, d2;
                assert_int_equal(ch_deadline_due(&ctx, &c, t1, NULL, 0, &d1), 0);
                assert_int_equal(ch_deadline_due(&ctx, &c, t2, NULL, 0, &d2), 0);
                if (d1 < t1)
                    fail_msg("'%s': due before receipt at %lld", rules[r], (long long)t1);
                if (d2 < d1)
                    fail_msg("'%s': receipt moved later but due moved earlier (%lld -> %lld)",
                             rules[r], (long long)t1, (long long)t2);
                if (c.kind == CH_CLOCK_WORKING_DAYS || c.kind == CH_CLOCK_NEXT_WORKING_DAY ||
                    c.roll_forward) {
                    int64_t s = d1 / 1000;
                    int32_t day = (int32_t)((s + ch_tz_offset_at(fx.tz, s)) / 86400);
                    const ch_calendar *cal =
                        c.calendar == CH_CLOCK_CAL_UK_ANY ? fx.uk_any : cals[k];
                    if (!ch_calendar_is_working_day(cal, day))
                        fail_msg("'%s': due on a non-working day (receipt %lld)", rules[r],
                                 (long long)t1);
                }
            }
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed000_email_five_working_days),
        cmocka_unit_test(test_seed000_letter_seven_working_days_over_christmas),
        cmocka_unit_test(test_seed000_social_one_working_day),
        cmocka_unit_test(test_seed001_voicemail_end_of_next_working_day),
        cmocka_unit_test(test_seed001_online_clocks_over_easter),
        cmocka_unit_test(test_seed002_calls_and_visitors_elapsed),
        cmocka_unit_test(test_seed002_foi_uk_any_over_new_year),
        cmocka_unit_test(test_seed002_sar_month_ends_and_leap_years),
        cmocka_unit_test(test_seed002_st_patrick_and_the_twelfth),
        cmocka_unit_test(test_seed002_complaints_fifteen_working_days),
        cmocka_unit_test(test_seed003_social_and_stage_two),
        cmocka_unit_test(test_seed003_appointment_wait),
        cmocka_unit_test(test_seed004_fourteen_calendar_days),
        cmocka_unit_test(test_seed004_24_hours_across_clock_changes),
        cmocka_unit_test(test_seed004_restriction_reviews),
        cmocka_unit_test(test_scotland_january_and_august),
        cmocka_unit_test(test_foisa_counts_scottish_holidays),
        cmocka_unit_test(test_receipt_day_is_local),
        cmocka_unit_test(test_repeated_hour_in_october),
        cmocka_unit_test(test_receipt_on_holiday_is_day_zero),
        cmocka_unit_test(test_defer_out_of_hours),
        cmocka_unit_test(test_closures),
        cmocka_unit_test(test_pause_working_days),
        cmocka_unit_test(test_pause_elapsed_and_days),
        cmocka_unit_test(test_warnings),
        cmocka_unit_test(test_warning_in_hours),
        cmocka_unit_test(test_clock_parse_forms),
        cmocka_unit_test(test_clock_parse_errors),
        cmocka_unit_test(test_clock_describe),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_properties),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
