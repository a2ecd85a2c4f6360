/*
 * A case's timers under the shipped policies: the clocks each seed promises
 * become timers with the due instants the deadline engine computes, and
 * every event moves them the way the charter says.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "charter/case_clock.h"
#include "charter/errors.h"
#include "charter/org_set.h"
#include "charter/timeutil.h"
#include "support/case_event.h"
#include "support/instant.h"
#include "support/shipped.h"

/* ---- building events ---- */

static Charter__V1__CaseEvent *
event(fx_event_buf *b, Charter__V1__CaseEvent__EventCase kind, const char *org, const char *when)
{
    return fx_case_event(b, kind, "case-1", org, when);
}

static void
receive(ch_case_state *st, const char *org, Charter__V1__Channel ch, const char *type,
        const char *when)
{
    fx_event_buf b;
    Charter__V1__CaseEvent *ev = event(&b, CHARTER__V1__CASE_EVENT__EVENT_RECEIVED, org, when);
    b.received.channel = ch;
    b.received.case_type = (char *)type;
    b.received.reference = "REF-2026-000001";
    memset(st, 0, sizeof(*st));
    assert_int_equal(ch_case_apply(NULL, st, ev), 1);
}

static void
apply_simple(ch_case_state *st, Charter__V1__CaseEvent__EventCase kind, const char *when)
{
    fx_event_buf b;
    assert_true(ch_case_apply(NULL, st, event(&b, kind, st->organisation, when)) >= 0);
}

/* ---- checking timers ---- */

typedef struct {
    ch_case_timer t[32];
    int n;
    int64_t target;
} timers;

static void
compute(const ch_org_clocks *oc, const ch_case_state *st, timers *out)
{
    out->n = ch_case_timers(oc, "case-1", st, out->t, 32, &out->target);
    assert_true(out->n >= 0);
}

static const ch_case_timer *
find(const timers *ts, const char *suffix)
{
    char id[96];
    snprintf(id, sizeof(id), "case-1/%s", suffix);
    for (int i = 0; i < ts->n; i++)
        if (strcmp(ts->t[i].id, id) == 0)
            return &ts->t[i];
    return NULL;
}

static void
expect_due(const timers *ts, const char *suffix, const char *when)
{
    const ch_case_timer *t = find(ts, suffix);
    if (!t)
        fail_msg("no timer %s", suffix);
    if (t->due_ms != fx_at(when)) {
        char got[40];
        ch_time_format_utc(t->due_ms, got, sizeof(got));
        fail_msg("timer %s due %s, expected %s", suffix, got, when);
    }
}

/* Seed 001 (Derby Homes), "In writing": emails acknowledged automatically,
 * answered within 10 working days; warnings at 75% to the owner and one
 * working day before to the team lead; the breach goes to the manager.
 * Mon 23 Nov 2026: the 10th working day is Mon 7 Dec. */
static void
test_seed001_email_ack_warnings_breach(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    ch_case_state st;
    receive(&st, "derby-homes", CHARTER__V1__CHANNEL__CHANNEL_EMAIL, "enquiry",
            "2026-11-23T09:15:00Z");
    timers ts;
    compute(&shipped->derby, &st, &ts);
    /* issue 17: acknowledged automatically on receipt; the timer waits out
     * the hour's grace and fires only if none was recorded by then */
    expect_due(&ts, "acknowledgement_due", "2026-11-23T10:15:00Z");
    expect_due(&ts, "breach", "2026-12-07T23:59:59Z");
    /* one working day before is Fri 4 Dec 23:59:59, after closing: 17:00 */
    expect_due(&ts, "warning/2", "2026-12-04T17:00:00Z");
    /* 75% is Fri 4 Dec 08:18:44.250, before opening: Thursday's closing */
    expect_due(&ts, "warning/1", "2026-12-03T17:00:00Z");
    assert_int_equal(ts.target, fx_at("2026-12-07T23:59:59Z"));
    assert_int_equal(find(&ts, "warning/1")->tier, 1);
    assert_int_equal(find(&ts, "breach")->role,
                     ch_policy_role_find(&shipped->derby.policy, "manager"));
    assert_int_equal(find(&ts, "warning/1")->role,
                     ch_policy_role_find(&shipped->derby.policy, "owner"));
    assert_int_equal(find(&ts, "acknowledgement_due")->role, -1);

    /* acknowledged: the acknowledgement timer goes, the rest stay */
    apply_simple(&st, CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED, "2026-11-23T10:00:00Z");
    compute(&shipped->derby, &st, &ts);
    assert_null(find(&ts, "acknowledgement_due"));
    expect_due(&ts, "breach", "2026-12-07T23:59:59Z");

    /* responded: nothing left to fire */
    apply_simple(&st, CHARTER__V1__CASE_EVENT__EVENT_RESPONDED, "2026-11-25T10:00:00Z");
    compute(&shipped->derby, &st, &ts);
    assert_int_equal(ts.n, 0);
}

/* Issue 17 item 9: warning tiers in the policy's order and in opening hours
 * (NCH 09:00-17:00 Monday to Friday). An e-mail received Mon 2 Mar 2026
 * 10:00 is due Mon 9 Mar 23:59:59. The team lead's "1 working day before"
 * is Fri 6 Mar 23:59:59 and the owner's "75%" Sun 8 Mar 02:29:59.250: both
 * move back to Friday's closing time and fire together, owner first. */
static void
test_seed000_warnings_in_hours_and_order(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    ch_case_state st;
    receive(&st, "nottingham-city-homes", CHARTER__V1__CHANNEL__CHANNEL_EMAIL, "enquiry",
            "2026-03-02T10:00:00Z");
    timers ts;
    compute(&shipped->nch, &st, &ts);
    expect_due(&ts, "breach", "2026-03-09T23:59:59Z");
    expect_due(&ts, "warning/1", "2026-03-06T17:00:00Z");
    expect_due(&ts, "warning/2", "2026-03-06T17:00:00Z");
    assert_int_equal(find(&ts, "warning/1")->role,
                     ch_policy_role_find(&shipped->nch.policy, "owner"));
    assert_int_equal(find(&ts, "warning/2")->role,
                     ch_policy_role_find(&shipped->nch.policy, "team_lead"));

    /* Easter 2026: received Mon 30 Mar 10:00 BST; the 5th working day after
     * it, skipping Good Friday 3 and Easter Monday 6 April, is Wed 8 Apr
     * (due 23:59:59 BST). 75% is Easter Monday 14:29:59.250 BST, a bank
     * holiday: back to Thu 2 Apr 17:00 BST. One working day before is
     * Tue 7 Apr 23:59:59 BST: back to Tue 7 Apr 17:00 BST. */
    receive(&st, "nottingham-city-homes", CHARTER__V1__CHANNEL__CHANNEL_EMAIL, "enquiry",
            "2026-03-30T09:00:00Z");
    compute(&shipped->nch, &st, &ts);
    expect_due(&ts, "breach", "2026-04-08T22:59:59Z");
    expect_due(&ts, "warning/1", "2026-04-02T16:00:00Z");
    expect_due(&ts, "warning/2", "2026-04-07T16:00:00Z");

    /* Derby stage 1 complaint by letter received Mon 2 Mar (by email it is
     * acknowledged automatically, so counted from receipt): acknowledgement
     * due Mon 9 Mar, response Mon 23 Mar 23:59:59. "2 working days before"
     * is Thu 19 Mar 23:59:59 -> 17:00; "75%" is Fri 20 Mar 11:59:59, after
     * the team lead's tier: brought forward to fire with it (policy order
     * kept). */
    receive(&st, "derby-homes", CHARTER__V1__CHANNEL__CHANNEL_LETTER, "complaint_stage_1",
            "2026-03-02T10:00:00Z");
    compute(&shipped->derby, &st, &ts);
    expect_due(&ts, "breach", "2026-03-23T23:59:59Z");
    expect_due(&ts, "warning/1", "2026-03-19T17:00:00Z");
    expect_due(&ts, "warning/2", "2026-03-19T17:00:00Z");
}

/* Seed 001, "By phone": voicemail answered by the end of the next working
 * day (5pm): Friday's message is due 17:00 on Monday. */
static void
test_seed001_voicemail(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    ch_case_state st;
    receive(&st, "derby-homes", CHARTER__V1__CHANNEL__CHANNEL_VOICEMAIL, "enquiry",
            "2026-11-27T18:00:00Z");
    timers ts;
    compute(&shipped->derby, &st, &ts);
    assert_null(find(&ts, "acknowledgement_due"));
    expect_due(&ts, "breach", "2026-11-30T17:00:00Z");
    expect_due(&ts, "warning/1", "2026-11-30T13:00:00Z"); /* 4 hours before */
}

/* Seed 000 (Nottingham City Homes) complaints, stage 1 under the Housing
 * Ombudsman Code: acknowledge within 5 working days, respond within 10
 * working days of the acknowledgement. */
static void
test_seed000_complaint_anchored_on_acknowledgement(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    ch_case_state st;
    receive(&st, "nottingham-city-homes", CHARTER__V1__CHANNEL__CHANNEL_EMAIL, "complaint_stage_1",
            "2026-11-02T10:00:00Z");
    timers ts;
    compute(&shipped->nch, &st, &ts);
    /* ack due: 5th working day after Mon 2 Nov is Mon 9 Nov; the response is
     * provisionally 10 working days after that: Mon 23 Nov */
    expect_due(&ts, "acknowledgement_due", "2026-11-09T23:59:59Z");
    expect_due(&ts, "breach", "2026-11-23T23:59:59Z");
    /* acknowledged on Wed 4 Nov: 10 working days from then is Wed 18 Nov */
    apply_simple(&st, CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED, "2026-11-04T11:00:00Z");
    compute(&shipped->nch, &st, &ts);
    assert_null(find(&ts, "acknowledgement_due"));
    expect_due(&ts, "breach", "2026-11-18T23:59:59Z");
    /* a later acknowledgement changes nothing; an earlier one recorded late
     * (Tue 3 Nov) is the first: 10 working days from it is Tue 17 Nov */
    apply_simple(&st, CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED, "2026-11-05T11:00:00Z");
    compute(&shipped->nch, &st, &ts);
    expect_due(&ts, "breach", "2026-11-18T23:59:59Z");
    apply_simple(&st, CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED, "2026-11-03T09:00:00Z");
    compute(&shipped->nch, &st, &ts);
    expect_due(&ts, "breach", "2026-11-17T23:59:59Z");
}

/* Seed 000, letters within 7 working days; a paused clock does not run:
 * paused Tue 24 to Wed 25 Nov (two working days) moves the breach from
 * Wed 2 Dec to Fri 4 Dec; while paused there is no warning or breach. */
static void
test_seed000_letter_pause_and_resume(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    ch_case_state st;
    receive(&st, "nottingham-city-homes", CHARTER__V1__CHANNEL__CHANNEL_LETTER, "enquiry",
            "2026-11-23T09:00:00Z");
    timers ts;
    compute(&shipped->nch, &st, &ts);
    expect_due(&ts, "breach", "2026-12-02T23:59:59Z");
    apply_simple(&st, CHARTER__V1__CASE_EVENT__EVENT_PAUSED, "2026-11-24T09:00:00Z");
    compute(&shipped->nch, &st, &ts);
    assert_null(find(&ts, "breach"));
    assert_null(find(&ts, "warning/1"));
    apply_simple(&st, CHARTER__V1__CASE_EVENT__EVENT_RESUMED, "2026-11-25T16:00:00Z");
    compute(&shipped->nch, &st, &ts);
    expect_due(&ts, "breach", "2026-12-04T23:59:59Z");
}

/* Review L13: after a crash the events since the last commit are applied
 * again to a state that holds them. Replaying paused, resumed, paused on
 * the state saved after the second pause must never unpause the clock, not
 * even between two replayed events (a past-due breach would fire), and
 * must end on the saved state. Also with a clock restarted by a resume
 * (FOI clarification): the old pause replayed is not applied again. */
static void
test_replayed_pauses_never_unpause(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    static const struct {
        Charter__V1__CaseEvent__EventCase kind;
        const char *at;
    } seq[] = {
        {CHARTER__V1__CASE_EVENT__EVENT_PAUSED, "2026-11-24T09:00:00Z"},
        {CHARTER__V1__CASE_EVENT__EVENT_RESUMED, "2026-11-25T16:00:00Z"},
        {CHARTER__V1__CASE_EVENT__EVENT_PAUSED, "2026-11-26T09:00:00Z"},
    };
    ch_case_state st;
    receive(&st, "nottingham-city-homes", CHARTER__V1__CHANNEL__CHANNEL_LETTER, "enquiry",
            "2026-11-23T09:00:00Z");
    for (size_t i = 0; i < 3; i++)
        apply_simple(&st, seq[i].kind, seq[i].at);
    assert_int_equal(st.paused_since_ms, fx_at("2026-11-26T09:00:00Z"));
    ch_case_state saved = st;
    timers ts;
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < 3; i++) {
            fx_event_buf b;
            assert_int_equal(ch_case_apply(&shipped->nch, &st,
                                           event(&b, seq[i].kind, st.organisation, seq[i].at)),
                             0);
            assert_int_equal(st.paused_since_ms, fx_at("2026-11-26T09:00:00Z"));
            compute(&shipped->nch, &st, &ts);
            assert_null(find(&ts, "breach"));
            assert_null(find(&ts, "warning/1"));
        }
        assert_memory_equal(&st, &saved, sizeof(st));
    }
    /* resumed for good: the replay of the whole run changes nothing more */
    apply_simple(&st, CHARTER__V1__CASE_EVENT__EVENT_RESUMED, "2026-11-27T09:00:00Z");
    saved = st;
    for (size_t i = 0; i < 3; i++)
        apply_simple(&st, seq[i].kind, seq[i].at);
    assert_memory_equal(&st, &saved, sizeof(st));

    /* a resume that restarts the clock: the earlier pause replayed stays out */
    receive(&st, "nottingham-city-homes", CHARTER__V1__CHANNEL__CHANNEL_LETTER, "enquiry",
            "2026-11-23T09:00:00Z");
    apply_simple(&st, CHARTER__V1__CASE_EVENT__EVENT_PAUSED, "2026-11-24T09:00:00Z");
    fx_event_buf b;
    Charter__V1__CaseEvent *r =
        event(&b, CHARTER__V1__CASE_EVENT__EVENT_RESUMED, st.organisation, "2026-11-25T16:00:00Z");
    b.resumed.restart_clock = 1;
    assert_int_equal(ch_case_apply(NULL, &st, r), 1);
    saved = st;
    apply_simple(&st, CHARTER__V1__CASE_EVENT__EVENT_PAUSED, "2026-11-24T09:00:00Z");
    assert_int_equal(st.paused_since_ms, 0);
    assert_int_equal(ch_case_apply(NULL, &st, r), 0);
    assert_memory_equal(&st, &saved, sizeof(st));
}

/* A holding reply of `org`'s case recorded at `when`, asking for `target`
 * (NULL: none), carrying `reason` and `named` (NULL: not given) and the
 * statutory basis (NULL: none). Returns what ch_case_apply returned. */
static int
hold(const ch_org_clocks *oc, ch_case_state *st, const char *when, const char *target,
     const char *reason, const char *named, const char *basis)
{
    fx_event_buf b;
    Charter__V1__CaseEvent *ev =
        event(&b, CHARTER__V1__CASE_EVENT__EVENT_HOLDING_REPLY, st->organisation, when);
    if (target) {
        fx_set_ts(&b.ts2, fx_at(target));
        b.holding.new_target_at = &b.ts2;
    }
    if (reason)
        b.holding.reason = (char *)reason;
    if (named)
        b.holding.named_contact = (char *)named;
    if (basis)
        b.holding.statutory_basis = (char *)basis;
    return ch_case_apply(oc, st, ev);
}

/* Seed 000 letters (7 working days; a holding reply must give a named
 * contact and a target date, no limit): one without the named contact is
 * refused and kept in the state, the target stays and the refusal's timer
 * fires at once; one with it moves the target and the breach follows. */
static void
test_seed000_holding_reply_moves_target(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    ch_case_state st;
    receive(&st, "nottingham-city-homes", CHARTER__V1__CHANNEL__CHANNEL_LETTER, "enquiry",
            "2026-11-23T09:00:00Z");
    assert_int_equal(hold(&shipped->nch, &st, "2026-11-30T10:00:00Z", "2026-12-11T17:00:00Z",
                          "a contractor's report", NULL, NULL),
                     1);
    assert_int_equal(st.extended_to_ms, 0);
    assert_int_equal(st.extensions_refused, 1);
    assert_int_equal(st.extension_refused_at_ms, fx_at("2026-11-30T10:00:00Z"));
    assert_int_equal(st.extension_refused_target_ms, fx_at("2026-12-11T17:00:00Z"));
    assert_non_null(strstr(st.extension_refused_reason, "a named contact"));
    timers ts;
    compute(&shipped->nch, &st, &ts);
    expect_due(&ts, "breach", "2026-12-02T23:59:59Z");
    expect_due(&ts, "extension_refused/1", "2026-11-30T10:00:00Z");
    assert_int_equal(find(&ts, "extension_refused/1")->kind,
                     CHARTER__V1__TIMER_KIND__TIMER_KIND_EXTENSION_REFUSED);
    /* the same event again changes nothing */
    assert_int_equal(hold(&shipped->nch, &st, "2026-11-30T10:00:00Z", "2026-12-11T17:00:00Z",
                          "a contractor's report", NULL, NULL),
                     0);
    assert_int_equal(st.extensions_refused, 1);

    assert_int_equal(hold(&shipped->nch, &st, "2026-11-30T11:00:00Z", "2026-12-11T17:00:00Z", NULL,
                          "Jo Smith", NULL),
                     1);
    compute(&shipped->nch, &st, &ts);
    expect_due(&ts, "breach", "2026-12-11T17:00:00Z");
    assert_int_equal(ts.target, fx_at("2026-12-11T17:00:00Z"));
    /* the refusal's timer stays, same id and due: never set again */
    expect_due(&ts, "extension_refused/1", "2026-11-30T10:00:00Z");
    /* an older holding reply delivered again is not applied over it */
    assert_int_equal(hold(&shipped->nch, &st, "2026-11-30T10:00:00Z", "2026-12-11T17:00:00Z",
                          "a contractor's report", NULL, NULL),
                     0);
    /* closed: the response timers go, the refusal's stays */
    apply_simple(&st, CHARTER__V1__CASE_EVENT__EVENT_CLOSED, "2026-12-03T09:00:00Z");
    compute(&shipped->nch, &st, &ts);
    assert_int_equal(ts.n, 1);
    expect_due(&ts, "extension_refused/1", "2026-11-30T10:00:00Z");
}

/* Review L8: the warnings of an accepted extension's target are new timers
 * (their own ids), so staff warned before the original target are warned
 * again before the new one; the breach keeps its id (it never fired: an
 * extension is accepted only before the target). ch_case_all_timer_ids
 * lists the new ids, for the cancels of a case whose state was lost. */
static void
test_extension_warnings_get_new_ids(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    ch_case_state st;
    receive(&st, "nottingham-city-homes", CHARTER__V1__CHANNEL__CHANNEL_LETTER, "enquiry",
            "2026-11-23T09:00:00Z");
    timers before, after;
    compute(&shipped->nch, &st, &before);
    const ch_case_timer *w1 = find(&before, "warning/1");
    assert_non_null(w1);
    assert_int_equal(hold(&shipped->nch, &st, "2026-11-30T11:00:00Z", "2026-12-11T17:00:00Z", NULL,
                          "Jo Smith", NULL),
                     1);
    compute(&shipped->nch, &st, &after);
    char id[64];
    snprintf(id, sizeof(id), "warning/1/extended/%lld",
             (long long)(fx_at("2026-12-11T17:00:00Z") / 1000));
    assert_null(find(&after, "warning/1"));
    const ch_case_timer *w1x = find(&after, id);
    assert_non_null(w1x);
    assert_true(w1x->due_ms > w1->due_ms);
    assert_true(w1x->due_ms <= fx_at("2026-12-11T17:00:00Z"));
    assert_int_equal(w1x->tier, 1);
    expect_due(&after, "breach", "2026-12-11T17:00:00Z");
    char ids[40][CH_CASE_TIMER_ID_MAX];
    size_t n = ch_case_all_timer_ids("case-1", &st, ids, 40);
    for (int i = 0; i < after.n; i++) {
        int found = 0;
        for (size_t k = 0; k < n; k++)
            found |= strcmp(ids[k], after.t[i].id) == 0;
        if (!found)
            fail_msg("timer %s missing from ch_case_all_timer_ids", after.t[i].id);
    }
}

/* Issue 17 defect 2, through ch_case_apply with the shipped policies: an
 * NIHE FOI received Mon 2 Mar 2026 is due Tue 31 Mar (20 working days on
 * uk-any). "Extended" to 30 June it is not moved (no statutory basis; then
 * with the basis, too far: FOIA s.10(3) allows 20 further working days, to
 * Thu 30 Apr); a holding reply after the breach is refused; one within the
 * law moves the target. Derby stage 1 complaint: the Code's cap. */
static void
test_extensions_judged(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    ch_case_state st;
    timers ts;
    receive(&st, "nihe", CHARTER__V1__CHANNEL__CHANNEL_EMAIL, "foi", "2026-03-02T10:00:00Z");
    hold(&shipped->nihe, &st, "2026-03-20T10:00:00Z", "2026-06-30T16:00:00Z", "public interest",
         NULL, NULL);
    assert_int_equal(st.extended_to_ms, 0);
    assert_non_null(strstr(st.extension_refused_reason, "statutory_basis foi_public_interest"));
    hold(&shipped->nihe, &st, "2026-03-21T10:00:00Z", "2026-06-30T16:00:00Z", "public interest",
         NULL, "foi_public_interest");
    assert_int_equal(st.extensions_refused, 2);
    assert_non_null(strstr(st.extension_refused_reason, "2026-04-30T23:59:59+01:00 at the latest"));
    compute(&shipped->nihe, &st, &ts);
    expect_due(&ts, "breach", "2026-03-31T22:59:59Z");
    assert_null(find(&ts, "extension_refused/1")); /* only the latest refusal's */
    expect_due(&ts, "extension_refused/2", "2026-03-21T10:00:00Z");
    hold(&shipped->nihe, &st, "2026-03-25T10:00:00Z", "2026-04-30T16:00:00Z", "public interest",
         NULL, "foi_public_interest");
    compute(&shipped->nihe, &st, &ts);
    expect_due(&ts, "breach", "2026-04-30T16:00:00Z");
    assert_int_equal(st.extensions_refused, 2);

    /* after the breach: refused, the breach stands */
    receive(&st, "nihe", CHARTER__V1__CHANNEL__CHANNEL_EMAIL, "foi", "2026-03-02T10:00:00Z");
    hold(&shipped->nihe, &st, "2026-04-01T09:00:00Z", "2026-04-20T16:00:00Z", "public interest",
         NULL, "foi_public_interest");
    assert_int_equal(st.extended_to_ms, 0);
    assert_non_null(strstr(st.extension_refused_reason, "after the target in force"));

    /* Derby stage 1 complaint received Fri 6 Mar 17:30, acknowledged Mon 9
     * Mar 10:00: due Mon 23 Mar; the Code allows 10 working days more (to
     * Wed 8 Apr, over Easter). 30 June is refused; 7 Apr 18:00 moves it. */
    receive(&st, "derby-homes", CHARTER__V1__CHANNEL__CHANNEL_EMAIL, "complaint_stage_1",
            "2026-03-06T17:30:00Z");
    apply_simple(&st, CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED, "2026-03-09T10:00:00Z");
    compute(&shipped->derby, &st, &ts);
    expect_due(&ts, "breach", "2026-03-23T23:59:59Z");
    hold(&shipped->derby, &st, "2026-03-16T10:00:00Z", "2026-06-30T16:00:00Z", "more time", NULL,
         NULL);
    assert_int_equal(st.extended_to_ms, 0);
    assert_non_null(strstr(st.extension_refused_reason, "max_extension"));
    hold(&shipped->derby, &st, "2026-03-17T10:00:00Z", "2026-04-07T17:00:00Z", "more time", NULL,
         NULL);
    compute(&shipped->derby, &st, &ts);
    expect_due(&ts, "breach", "2026-04-07T17:00:00Z");
}

/* Seed 002 (NIHE): visitors seen within 15 minutes of arrival. */
static void
test_seed002_visitor_wait(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    ch_case_state st;
    receive(&st, "nihe", CHARTER__V1__CHANNEL__CHANNEL_VISIT, "enquiry", "2026-11-23T09:58:00Z");
    fx_event_buf b;
    Charter__V1__CaseEvent *ev =
        event(&b, CHARTER__V1__CASE_EVENT__EVENT_VISIT, "nihe", "2026-11-23T10:00:00Z");
    b.visit.status = CHARTER__V1__VISIT__STATUS__STATUS_ARRIVED;
    assert_int_equal(ch_case_apply(NULL, &st, ev), 1);
    timers ts;
    compute(&shipped->nihe, &st, &ts);
    expect_due(&ts, "wait_exceeded", "2026-11-23T10:15:00Z");
    ev = event(&b, CHARTER__V1__CASE_EVENT__EVENT_VISIT, "nihe", "2026-11-23T10:05:00Z");
    b.visit.status = CHARTER__V1__VISIT__STATUS__STATUS_SEEN;
    assert_int_equal(ch_case_apply(NULL, &st, ev), 1);
    compute(&shipped->nihe, &st, &ts);
    assert_null(find(&ts, "wait_exceeded"));
}

/* A call-back promised on the phone. */
static int
callback(ch_case_state *st, Charter__V1__Callback__Status status, const char *when,
         const char *agreed)
{
    fx_event_buf b;
    Charter__V1__CaseEvent *ev =
        event(&b, CHARTER__V1__CASE_EVENT__EVENT_CALLBACK, st->organisation, when);
    b.callback.status = status;
    if (agreed) {
        fx_set_ts(&b.ts2, fx_at(agreed));
        b.callback.agreed_at = &b.ts2;
    }
    int rc = ch_case_apply(NULL, st, ev);
    assert_true(rc >= 0);
    return rc;
}

/* Seed 002 (NIHE), "On the phone": "If we cannot give you an immediate
 * answer we will take details and call you back at an agreed time": the
 * owner is alerted at the agreed time unless the call-back was recorded;
 * seed 001 (Derby): "we'll take a message so that the right person can call
 * you back", no time, so no timer. */
static void
test_seed002_callback_at_agreed_time(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    const Charter__V1__Callback__Status PROMISED = CHARTER__V1__CALLBACK__STATUS__STATUS_PROMISED,
                                        MADE = CHARTER__V1__CALLBACK__STATUS__STATUS_MADE;
    ch_case_state st;
    timers ts;
    receive(&st, "nihe", CHARTER__V1__CHANNEL__CHANNEL_PHONE, "enquiry", "2026-11-24T10:00:00Z");
    compute(&shipped->nihe, &st, &ts);
    assert_null(find(&ts, "callback_due"));
    /* a call-back with no agreed time: nothing to watch */
    assert_int_equal(callback(&st, PROMISED, "2026-11-24T10:01:00Z", NULL), 1);
    compute(&shipped->nihe, &st, &ts);
    assert_null(find(&ts, "callback_due"));
    /* agreed for 14:30: due then, to the owner */
    assert_int_equal(callback(&st, PROMISED, "2026-11-24T10:02:00Z", "2026-11-24T14:30:00Z"), 1);
    assert_int_equal(callback(&st, PROMISED, "2026-11-24T10:02:00Z", "2026-11-24T14:30:00Z"), 0);
    compute(&shipped->nihe, &st, &ts);
    expect_due(&ts, "callback_due", "2026-11-24T14:30:00Z");
    const ch_case_timer *t = find(&ts, "callback_due");
    assert_int_equal(t->kind, CHARTER__V1__TIMER_KIND__TIMER_KIND_CALLBACK_DUE);
    assert_int_equal(t->role, ch_policy_role_find(&shipped->nihe.policy, "owner"));
    /* the customer rearranges it: the latest promise wins, an older one is a
     * redelivery */
    assert_int_equal(callback(&st, PROMISED, "2026-11-24T11:00:00Z", "2026-11-25T09:00:00Z"), 1);
    assert_int_equal(callback(&st, PROMISED, "2026-11-24T10:02:00Z", "2026-11-24T14:30:00Z"), 0);
    compute(&shipped->nihe, &st, &ts);
    expect_due(&ts, "callback_due", "2026-11-25T09:00:00Z");
    /* a call-back made before the latest promise does not discharge it */
    assert_int_equal(callback(&st, MADE, "2026-11-24T10:30:00Z", NULL), 0);
    compute(&shipped->nihe, &st, &ts);
    assert_non_null(find(&ts, "callback_due"));
    /* made: the timer goes; a repeat or a later one changes nothing */
    assert_int_equal(callback(&st, MADE, "2026-11-25T08:55:00Z", NULL), 1);
    assert_int_equal(callback(&st, MADE, "2026-11-25T09:10:00Z", NULL), 0);
    assert_int_equal(st.callback_made_ms, fx_at("2026-11-25T08:55:00Z"));
    compute(&shipped->nihe, &st, &ts);
    assert_null(find(&ts, "callback_due"));
    /* asked again after it was made: a new call-back, watched again */
    assert_int_equal(callback(&st, PROMISED, "2026-11-25T10:00:00Z", "2026-11-25T15:00:00Z"), 1);
    assert_int_equal(st.callback_made_ms, 0);
    compute(&shipped->nihe, &st, &ts);
    expect_due(&ts, "callback_due", "2026-11-25T15:00:00Z");
    /* closed: nothing more to watch */
    apply_simple(&st, CHARTER__V1__CASE_EVENT__EVENT_CLOSED, "2026-11-25T11:00:00Z");
    compute(&shipped->nihe, &st, &ts);
    assert_null(find(&ts, "callback_due"));
    /* the state keeps the call-back through JSON */
    char *json = ch_case_state_to_json(&st);
    ch_case_state back;
    assert_int_equal(ch_case_state_from_json(json, strlen(json), &back), 0);
    free(json);
    assert_int_equal(back.callback_promised_ms, fx_at("2026-11-25T10:00:00Z"));
    assert_int_equal(back.callback_at_ms, fx_at("2026-11-25T15:00:00Z"));

    /* Derby: measured only, so even an agreed time sets no timer */
    receive(&st, "derby-homes", CHARTER__V1__CHANNEL__CHANNEL_PHONE, "enquiry",
            "2026-11-24T10:00:00Z");
    assert_int_equal(callback(&st, PROMISED, "2026-11-24T10:01:00Z", "2026-11-24T14:30:00Z"), 1);
    compute(&shipped->derby, &st, &ts);
    assert_null(find(&ts, "callback_due"));
}

/* Seed 002: FOI in 20 working days on uk-any; subject access in a month. */
static void
test_seed002_statutory(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    ch_case_state st;
    receive(&st, "nihe", CHARTER__V1__CHANNEL__CHANNEL_EMAIL, "foi", "2026-12-23T12:00:00Z");
    timers ts;
    compute(&shipped->nihe, &st, &ts);
    expect_due(&ts, "breach", "2027-01-26T23:59:59Z");
    receive(&st, "nihe", CHARTER__V1__CHANNEL__CHANNEL_LETTER, "sar", "2026-01-31T10:00:00Z");
    compute(&shipped->nihe, &st, &ts);
    expect_due(&ts, "breach", "2026-03-02T23:59:59Z");
}

/* A `reviewed` event at when with the outcome. */
static void
review(const ch_org_clocks *oc, ch_case_state *st, const char *when,
       Charter__V1__Reviewed__Outcome outcome)
{
    fx_event_buf b;
    Charter__V1__CaseEvent *ev =
        event(&b, CHARTER__V1__CASE_EVENT__EVENT_REVIEWED, st->organisation, when);
    b.reviewed.outcome = outcome;
    assert_int_equal(ch_case_apply(oc, st, ev), 1);
}

/* Seed 004 (customer-care council): home-visit restrictions reviewed after
 * 11 months, then every 12 from the review recorded; the review goes to the
 * Resident Services Manager, warned 20 working days before; the `at:
 * breach` tier alerts the Head of Housing at the due date. As `charterctl
 * deadline` prints for a receipt on 31 Jan 2026: warning Tue 1 Dec 17:00
 * (20 working days before, moved to closing time), due and overdue Thu 31
 * Dec 23:59:59. Only the cycle under way has timers. */
static void
test_seed004_restriction_reviews(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    const ch_org_clocks *ccc = &shipped->ccc;
    ch_case_state st;
    receive(&st, "customer-care-council", CHARTER__V1__CHANNEL__CHANNEL_LETTER,
            "restriction_review", "2026-01-31T10:00:00Z");
    timers ts;
    compute(ccc, &st, &ts);
    assert_int_equal(ts.n, 3);
    expect_due(&ts, "review_warning_1/1", "2026-12-01T17:00:00Z");
    expect_due(&ts, "review_due/1", "2026-12-31T23:59:59Z");
    expect_due(&ts, "review_overdue/1", "2026-12-31T23:59:59Z");
    assert_null(find(&ts, "review_due/2")); /* issue 17: the next counts from the review */
    const ch_case_timer *w = find(&ts, "review_warning_1/1"), *o = find(&ts, "review_overdue/1");
    assert_int_equal(w->kind, CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_WARNING);
    assert_int_equal(w->tier, 1);
    assert_int_equal(w->review, 1);
    assert_int_equal(w->role, ch_policy_role_find(&ccc->policy, "resident_services_manager"));
    assert_int_equal(o->kind, CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_OVERDUE);
    assert_int_equal(o->role, ch_policy_role_find(&ccc->policy, "head_of_housing"));
    assert_int_equal(o->review, 1);
    assert_int_equal(
        find(&ts, "review_due/1")->role,
        (int)ch_policy_find_promise(&ccc->policy, "letter", "restriction_review")->review_role);
    assert_int_equal(find(&ts, "review_due/1")->review, 1);

    /* a reply does not end the reviews: the restriction stays until lifted */
    apply_simple(&st, CHARTER__V1__CASE_EVENT__EVENT_RESPONDED, "2026-02-10T10:00:00Z");
    compute(ccc, &st, &ts);
    assert_int_equal(ts.n, 3);

    /* kept on Tue 15 Dec 2026: the next is due 12 months from the review,
     * Wed 15 Dec 2027, warned Wed 17 Nov 2027 17:00 */
    review(ccc, &st, "2026-12-15T11:00:00Z", CHARTER__V1__REVIEWED__OUTCOME__OUTCOME_KEPT);
    assert_int_equal(st.reviews, 1);
    assert_int_equal(st.reviews_late, 0);
    assert_int_equal(st.review_last_due_ms, fx_at("2026-12-31T23:59:59Z"));
    compute(ccc, &st, &ts);
    assert_int_equal(ts.n, 3);
    assert_null(find(&ts, "review_due/1"));
    expect_due(&ts, "review_due/2", "2027-12-15T23:59:59Z");
    expect_due(&ts, "review_overdue/2", "2027-12-15T23:59:59Z");
    expect_due(&ts, "review_warning_1/2", "2027-11-17T17:00:00Z");

    /* no cap: eight more years, each recorded on 20 Jan (late: due 15 Dec
     * and then every 20 Jan... the first late, the rest in time) */
    char when[32];
    for (int y = 2028; y <= 2035; y++) {
        snprintf(when, sizeof(when), "%d-01-20T10:00:00Z", y);
        review(ccc, &st, when, CHARTER__V1__REVIEWED__OUTCOME__OUTCOME_KEPT);
    }
    assert_int_equal(st.reviews, 9);
    assert_int_equal(st.reviews_late, 1);
    compute(ccc, &st, &ts);
    assert_int_equal(ts.n, 3);
    expect_due(&ts, "review_due/10", "2036-01-20T23:59:59Z");
    assert_non_null(find(&ts, "review_overdue/10"));
    /* the ids to cancel with no earlier state reach back over the cycles */
    char ids[64][CH_CASE_TIMER_ID_MAX];
    size_t n = ch_case_all_timer_ids("case-1", &st, ids, 64);
    int saw9 = 0, saw10 = 0;
    for (size_t k = 0; k < n; k++) {
        saw9 |= strcmp(ids[k], "case-1/review_overdue/9") == 0;
        saw10 |= strcmp(ids[k], "case-1/review_warning_1/10") == 0;
    }
    assert_true(saw9 && saw10);
    /* an older review delivered again changes nothing */
    fx_event_buf b;
    Charter__V1__CaseEvent *ev = event(&b, CHARTER__V1__CASE_EVENT__EVENT_REVIEWED,
                                       "customer-care-council", "2030-01-20T10:00:00Z");
    b.reviewed.outcome = CHARTER__V1__REVIEWED__OUTCOME__OUTCOME_KEPT;
    assert_int_equal(ch_case_apply(ccc, &st, ev), 0);

    /* lifted: no more reviews */
    review(ccc, &st, "2036-01-10T10:00:00Z", CHARTER__V1__REVIEWED__OUTCOME__OUTCOME_LIFTED);
    assert_true(st.review_lifted);
    compute(ccc, &st, &ts);
    assert_int_equal(ts.n, 0);

    /* closed ends them too */
    receive(&st, "customer-care-council", CHARTER__V1__CHANNEL__CHANNEL_LETTER,
            "restriction_review", "2026-01-31T10:00:00Z");
    apply_simple(&st, CHARTER__V1__CASE_EVENT__EVENT_CLOSED, "2026-03-01T10:00:00Z");
    compute(ccc, &st, &ts);
    assert_int_equal(ts.n, 0);
}

/* Seed 004: contact-group emails acknowledged within 24 hours. */
static void
test_seed004_contact_group_24_hours(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    ch_case_state st;
    receive(&st, "customer-care-council", CHARTER__V1__CHANNEL__CHANNEL_EMAIL, "contact_group",
            "2026-10-24T12:00:00Z");
    timers ts;
    compute(&shipped->ccc, &st, &ts);
    expect_due(&ts, "acknowledgement_due", "2026-10-25T12:00:00Z");
}

/* Seed 003 (digital-first council): social media by the end of the
 * following working day; a promise with no time (phone) sets no timer. */
static void
test_seed003_social_and_measured_only(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    ch_case_state st;
    receive(&st, "digital-first-council", CHARTER__V1__CHANNEL__CHANNEL_SOCIAL, "enquiry",
            "2026-12-24T15:00:00Z");
    timers ts;
    compute(&shipped->dfc, &st, &ts);
    expect_due(&ts, "breach", "2026-12-29T17:00:00Z");
    receive(&st, "digital-first-council", CHARTER__V1__CHANNEL__CHANNEL_PHONE, "enquiry",
            "2026-12-24T15:00:00Z");
    compute(&shipped->dfc, &st, &ts);
    assert_int_equal(ts.n, 0);
}

/* Replays: applying an event again changes nothing and gives the same
 * timers; the state survives its JSON form. */
static void
test_idempotent_and_json(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    ch_case_state st, again;
    receive(&st, "derby-homes", CHARTER__V1__CHANNEL__CHANNEL_LETTER, "enquiry",
            "2026-11-23T09:00:00Z");
    apply_simple(&st, CHARTER__V1__CASE_EVENT__EVENT_PAUSED, "2026-11-24T09:00:00Z");
    apply_simple(&st, CHARTER__V1__CASE_EVENT__EVENT_RESUMED, "2026-11-25T09:00:00Z");
    memcpy(&again, &st, sizeof(st));
    fx_event_buf b;
    assert_int_equal(ch_case_apply(NULL, &again,
                                   event(&b, CHARTER__V1__CASE_EVENT__EVENT_PAUSED, "derby-homes",
                                         "2026-11-24T09:00:00Z")),
                     0);
    assert_int_equal(ch_case_apply(NULL, &again,
                                   event(&b, CHARTER__V1__CASE_EVENT__EVENT_RESUMED, "derby-homes",
                                         "2026-11-25T09:00:00Z")),
                     0);
    assert_memory_equal(&again, &st, sizeof(st));
    char *json = ch_case_state_to_json(&st);
    assert_non_null(json);
    ch_case_state back;
    assert_int_equal(ch_case_state_from_json(json, strlen(json), &back), 0);
    free(json);
    timers a, c;
    compute(&shipped->derby, &st, &a);
    compute(&shipped->derby, &back, &c);
    assert_int_equal(a.n, c.n);
    for (int i = 0; i < a.n; i++) {
        assert_string_equal(a.t[i].id, c.t[i].id);
        assert_int_equal(a.t[i].due_ms, c.t[i].due_ms);
    }
    assert_int_equal(ch_case_state_from_json("{\"organisation\":1}", 18, &back), CH_EINVAL);

    /* a state stored before refused extensions and reviews were kept loads,
     * with them zero; one that carries them round-trips them */
    static const char old[] =
        "{\"organisation\":\"derby-homes\",\"channel\":\"letter\",\"case_type\":\"enquiry\","
        "\"reference\":\"DH-2026-000001\",\"received_ms\":1795424400000,\"acknowledged_ms\":0,"
        "\"paused_since_ms\":0,\"pauses\":[],\"extended_to_ms\":1796000000000,"
        "\"arrived_ms\":0,\"appointment_ms\":0,\"responded\":false,\"closed\":false,"
        "\"seen\":false,\"escalated\":false}";
    assert_int_equal(ch_case_state_from_json(old, strlen(old), &back), 0);
    assert_int_equal(back.extended_to_ms, 1796000000000LL);
    assert_int_equal(back.extensions_refused, 0);
    assert_int_equal(back.reviews, 0);
    st.extensions_refused = 2;
    st.extension_refused_at_ms = 1795500000000LL;
    snprintf(st.extension_refused_reason, sizeof(st.extension_refused_reason), "why \"not\"");
    st.reviews = 3;
    st.reviews_late = 1;
    st.reviewed_ms = 1795600000000LL;
    st.review_lifted = 1;
    json = ch_case_state_to_json(&st);
    assert_int_equal(ch_case_state_from_json(json, strlen(json), &back), 0);
    free(json);
    assert_memory_equal(&back, &st, sizeof(st));
    char bad[sizeof(old) + 16];
    snprintf(bad, sizeof(bad), "%.*s,\"reviews\":-1}", (int)strlen(old) - 1, old);
    assert_int_equal(ch_case_state_from_json(bad, strlen(bad), &back), CH_EINVAL);
}

/* Every timer a case can have is in the list used to cancel the unwanted. */
static void
test_all_timer_ids(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    char ids[32][CH_CASE_TIMER_ID_MAX];
    size_t n = ch_case_all_timer_ids("case-1", NULL, ids, 32);
    ch_case_state st;
    receive(&st, "derby-homes", CHARTER__V1__CHANNEL__CHANNEL_EMAIL, "enquiry",
            "2026-11-23T09:15:00Z");
    timers ts;
    compute(&shipped->derby, &st, &ts);
    int callback_listed = 0;
    for (size_t k = 0; k < n; k++)
        callback_listed |= strcmp(ids[k], "case-1/callback_due") == 0;
    assert_true(callback_listed);
    for (int i = 0; i < ts.n; i++) {
        int found = 0;
        for (size_t k = 0; k < n; k++)
            found |= strcmp(ids[k], ts.t[i].id) == 0;
        if (!found)
            fail_msg("timer %s missing from ch_case_all_timer_ids", ts.t[i].id);
    }
    assert_true(n >= 15);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed001_email_ack_warnings_breach),
        cmocka_unit_test(test_seed002_callback_at_agreed_time),
        cmocka_unit_test(test_seed001_voicemail),
        cmocka_unit_test(test_seed000_warnings_in_hours_and_order),
        cmocka_unit_test(test_seed000_complaint_anchored_on_acknowledgement),
        cmocka_unit_test(test_seed000_letter_pause_and_resume),
        cmocka_unit_test(test_seed000_holding_reply_moves_target),
        cmocka_unit_test(test_replayed_pauses_never_unpause),
        cmocka_unit_test(test_extension_warnings_get_new_ids),
        cmocka_unit_test(test_extensions_judged),
        cmocka_unit_test(test_seed002_visitor_wait),
        cmocka_unit_test(test_seed002_statutory),
        cmocka_unit_test(test_seed004_restriction_reviews),
        cmocka_unit_test(test_seed004_contact_group_24_hours),
        cmocka_unit_test(test_seed003_social_and_measured_only),
        cmocka_unit_test(test_idempotent_and_json),
        cmocka_unit_test(test_all_timer_ids),
    };
    return cmocka_run_group_tests(tests, fx_shipped_setup, fx_shipped_teardown);
}
