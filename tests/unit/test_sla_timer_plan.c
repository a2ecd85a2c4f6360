/*
 * sla-timer's decisions for one case event (services/sla-timer/timer_plan.h),
 * replayed against the shipped policies: which timers a case's first event
 * schedules and which possible ids it clears, that a redelivered event
 * changes nothing, that an acknowledgement cancels only its own timer, that
 * a moved deadline is scheduled again, that a closed case keeps no timer,
 * and the events the plan refuses.
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
#include "timer_plan.h"

/* The shipped policies, loaded the way sla-timer loads sla.policy_dir. */
static ch_org_set orgs;
static const ch_org_clocks *derby, *nch, *ccc;

static int
setup(void **state)
{
    (void)state;
    char err[512];
    if (ch_org_set_load(fx_policies_dir(), "sla.policy_dir", &orgs, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    derby = ch_org_set_find(&orgs, "derby-homes");
    nch = ch_org_set_find(&orgs, "nottingham-city-homes");
    ccc = ch_org_set_find(&orgs, "customer-care-council");
    return derby && nch && ccc ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    ch_org_set_free(&orgs);
    return 0;
}

/* ---- one case's events, applied in turn ---- */

typedef struct {
    const ch_org_clocks *oc;
    const char *org;
    char *state_json; /* what Redis would hold: the last plan's state (packed) */
    size_t state_len;
    sla_timer_plan plan;
} case_run;

static Charter__V1__CaseEvent *
event(fx_event_buf *b, Charter__V1__CaseEvent__EventCase kind, const char *org, const char *when)
{
    return fx_case_event(b, kind, "case-1", org, when);
}

/* A `received` event of Derby Homes or Nottingham City Homes. */
static Charter__V1__CaseEvent *
received(fx_event_buf *b, const char *org, Charter__V1__Channel ch, const char *type,
         const char *when)
{
    event(b, CHARTER__V1__CASE_EVENT__EVENT_RECEIVED, org, when);
    b->received.channel = ch;
    b->received.case_type = (char *)type;
    b->received.reference = "REF-2026-000001";
    return &b->ev;
}

/* Plans ev against the run's stored state and, as case_sync.c does once the
 * store has changed, stores the new state. */
static void
step(case_run *r, const Charter__V1__CaseEvent *ev)
{
    const char *why = NULL;
    int rc = sla_timer_plan_make(r->oc, ev, r->state_json, r->state_len, &r->plan, &why);
    if (rc != 0)
        fail_msg("plan refused: %s", why ? why : "?");
    free(r->state_json);
    r->state_json = ch_case_state_pack(&r->plan.state, &r->state_len);
    assert_non_null(r->state_json);
}

static void
receive(case_run *r, const ch_org_clocks *oc, const char *org, Charter__V1__Channel ch,
        const char *type, const char *when)
{
    memset(r, 0, sizeof(*r));
    r->oc = oc;
    r->org = org;
    fx_event_buf b;
    step(r, received(&b, org, ch, type, when));
}

/* Derby Homes answers an email enquiry within 10 working days: received on
 * Mon 23 Nov 2026, it has an acknowledgement, two warnings and a breach on
 * Mon 7 Dec. */
static void
derby_email(case_run *r)
{
    receive(r, derby, "derby-homes", CHARTER__V1__CHANNEL__CHANNEL_EMAIL, "enquiry",
            "2026-11-23T09:15:00Z");
}

static void
apply(case_run *r, Charter__V1__CaseEvent__EventCase kind, const char *when)
{
    fx_event_buf b;
    step(r, event(&b, kind, r->org, when));
}

static void
run_free(case_run *r)
{
    free(r->state_json);
}

/* ---- reading a plan ---- */

static const ch_case_timer *
scheduled(const sla_timer_plan *p, const char *suffix)
{
    char id[CH_CASE_TIMER_ID_MAX];
    snprintf(id, sizeof(id), "case-1/%s", suffix);
    for (int i = 0; i < p->nschedule; i++)
        if (strcmp(p->timers[p->schedule[i]].id, id) == 0)
            return &p->timers[p->schedule[i]];
    return NULL;
}

static int
cancelled(const sla_timer_plan *p, const char *suffix)
{
    char id[CH_CASE_TIMER_ID_MAX];
    snprintf(id, sizeof(id), "case-1/%s", suffix);
    for (int i = 0; i < p->ncancel; i++)
        if (strcmp(p->cancel[i], id) == 0)
            return 1;
    return 0;
}

static int
wanted(const sla_timer_plan *p, const char *id)
{
    for (int i = 0; i < p->ntimers; i++)
        if (strcmp(p->timers[i].id, id) == 0)
            return 1;
    return 0;
}

/* ---- tests ---- */

/* The first event of a case: no earlier state, so every timer it should have
 * is scheduled, and every other id the case could ever have is cleared (a
 * state lost in Redis must not leave a stale timer behind). */
static void
test_first_event_schedules_all_and_clears_the_rest(void **state)
{
    (void)state;
    case_run r;
    derby_email(&r);
    const sla_timer_plan *p = &r.plan;
    assert_false(p->had_state);
    assert_int_equal(p->ntimers, 4);
    assert_int_equal(p->nschedule, 4);
    assert_non_null(scheduled(p, "acknowledgement_due"));
    assert_non_null(scheduled(p, "warning/1"));
    assert_non_null(scheduled(p, "warning/2"));
    assert_int_equal(scheduled(p, "breach")->due_ms, fx_at("2026-12-07T23:59:59Z"));
    assert_int_equal(p->target_ms, fx_at("2026-12-07T23:59:59Z"));

    char all[SLA_MAX_CANCEL][CH_CASE_TIMER_ID_MAX];
    size_t nall = ch_case_all_timer_ids("case-1", &p->state, all, SLA_MAX_CANCEL);
    assert_int_equal(p->ncancel, (int)nall - p->ntimers);
    for (int i = 0; i < p->ncancel; i++)
        assert_false(wanted(p, p->cancel[i]));
    assert_true(cancelled(p, "warning/3"));
    assert_true(cancelled(p, "review_due/1"));
    assert_true(cancelled(p, "reminder"));
    assert_false(cancelled(p, "breach"));
    run_free(&r);
}

/* A redelivered or replayed event leaves the store alone: the same state
 * gives the same timers with the same due times, so a timer that has
 * already fired is not set again. */
static void
test_redelivered_event_changes_nothing(void **state)
{
    (void)state;
    case_run r;
    derby_email(&r);
    fx_event_buf b;
    step(&r, received(&b, "derby-homes", CHARTER__V1__CHANNEL__CHANNEL_EMAIL, "enquiry",
                      "2026-11-23T09:15:00Z"));
    assert_true(r.plan.had_state);
    assert_int_equal(r.plan.ntimers, 4);
    assert_int_equal(r.plan.nschedule, 0);
    assert_int_equal(r.plan.ncancel, 0);

    apply(&r, CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED, "2026-11-23T10:00:00Z");
    apply(&r, CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED, "2026-11-23T10:00:00Z");
    assert_int_equal(r.plan.nschedule, 0);
    assert_int_equal(r.plan.ncancel, 0);
    run_free(&r);
}

/* An acknowledgement cancels the acknowledgement timer and nothing else;
 * the response clock of an email does not move with it. */
static void
test_acknowledged_cancels_only_its_timer(void **state)
{
    (void)state;
    case_run r;
    derby_email(&r);
    apply(&r, CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED, "2026-11-23T10:00:00Z");
    assert_true(r.plan.had_state);
    assert_int_equal(r.plan.nschedule, 0);
    assert_int_equal(r.plan.ncancel, 1);
    assert_true(cancelled(&r.plan, "acknowledgement_due"));
    assert_int_equal(r.plan.ntimers, 3);
    run_free(&r);
}

/* Nottingham City Homes' stage-1 complaint: the response is due 10 working
 * days after the acknowledgement, so acknowledging early moves the breach
 * and the warnings: they are scheduled again with their new due times, the
 * acknowledgement timer is cancelled. */
static void
test_moved_deadline_is_scheduled_again(void **state)
{
    (void)state;
    case_run r;
    receive(&r, nch, "nottingham-city-homes", CHARTER__V1__CHANNEL__CHANNEL_EMAIL,
            "complaint_stage_1", "2026-11-02T10:00:00Z");
    assert_int_equal(scheduled(&r.plan, "breach")->due_ms, fx_at("2026-11-23T23:59:59Z"));
    apply(&r, CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED, "2026-11-04T11:00:00Z");
    const ch_case_timer *breach = scheduled(&r.plan, "breach");
    assert_non_null(breach);
    assert_int_equal(breach->due_ms, fx_at("2026-11-18T23:59:59Z"));
    assert_int_equal(r.plan.target_ms, fx_at("2026-11-18T23:59:59Z"));
    assert_non_null(scheduled(&r.plan, "warning/1"));
    assert_true(cancelled(&r.plan, "acknowledgement_due"));
    assert_false(cancelled(&r.plan, "breach"));
    assert_null(scheduled(&r.plan, "acknowledgement_due"));
    run_free(&r);
}

/* Responded, then closed: every timer the case had is cancelled, none is
 * scheduled, and the state says closed (case_sync.c keeps it 30 days). */
static void
test_responded_and_closed_keep_no_timer(void **state)
{
    (void)state;
    case_run r;
    derby_email(&r);
    apply(&r, CHARTER__V1__CASE_EVENT__EVENT_RESPONDED, "2026-11-25T10:00:00Z");
    assert_int_equal(r.plan.ntimers, 0);
    assert_int_equal(r.plan.nschedule, 0);
    assert_int_equal(r.plan.ncancel, 4);
    assert_true(cancelled(&r.plan, "breach"));
    assert_true(cancelled(&r.plan, "acknowledgement_due"));
    apply(&r, CHARTER__V1__CASE_EVENT__EVENT_CLOSED, "2026-11-26T10:00:00Z");
    assert_int_equal(r.plan.ncancel, 0);
    assert_true(r.plan.state.closed);
    run_free(&r);
}

/* A stored state that does not parse is rebuilt from the event, as if it
 * were the first: all its timers scheduled, every other id cleared. */
static void
test_unreadable_state_is_rebuilt(void **state)
{
    (void)state;
    case_run r;
    memset(&r, 0, sizeof(r));
    r.oc = derby;
    r.org = "derby-homes";
    r.state_json = strdup("{\"organisation\":");
    fx_event_buf b;
    Charter__V1__CaseEvent *ev = event(&b, CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED,
                                       "derby-homes", "2026-11-23T10:00:00Z");
    const char *why = NULL;
    assert_int_equal(
        sla_timer_plan_make(derby, ev, r.state_json, strlen(r.state_json), &r.plan, &why), 0);
    assert_true(r.plan.state_unreadable);
    assert_false(r.plan.had_state);
    assert_int_equal(r.plan.nschedule, r.plan.ntimers);
    assert_true(cancelled(&r.plan, "breach")); /* no received_at: no clock runs */
    run_free(&r);
}

/* Events the plan refuses, with the reason the dead-letter record carries. */
static void
test_refused_events(void **state)
{
    (void)state;
    sla_timer_plan *p = malloc(sizeof(*p));
    assert_non_null(p);
    fx_event_buf b;
    const char *why = NULL;
    Charter__V1__CaseEvent *ev =
        event(&b, CHARTER__V1__CASE_EVENT__EVENT_RECEIVED, "derby-homes", "2026-11-23T09:15:00Z");
    assert_int_equal(sla_timer_plan_make(NULL, ev, NULL, 0, p, &why), CH_EBADMSG);
    assert_string_equal(why, "the organisation's policy was removed by a reload");

    ev->occurred_at = NULL;
    why = NULL;
    assert_int_equal(sla_timer_plan_make(derby, ev, NULL, 0, p, &why), CH_EBADMSG);
    assert_string_equal(why, "case event without occurred_at");

    ev = received(&b, "derby-homes", CHARTER__V1__CHANNEL__CHANNEL_EMAIL, "enquiry",
                  "2150-01-05T09:00:00Z");
    why = NULL;
    assert_int_equal(sla_timer_plan_make(derby, ev, NULL, 0, p, &why), CH_EBADMSG);
    assert_string_equal(why, "a deadline of this case falls outside 1995-2100");
    free(p);
}

/* Only events that can move a clock go through the plan; calls,
 * communication support and satisfaction are reporting's alone. */
static void
test_events_that_move_timers(void **state)
{
    (void)state;
    static const struct {
        Charter__V1__CaseEvent__EventCase kind;
        int moves;
    } cases[] = {
        {CHARTER__V1__CASE_EVENT__EVENT_CALL, 0},
        {CHARTER__V1__CASE_EVENT__EVENT_COMMUNICATION_SUPPORT, 0},
        {CHARTER__V1__CASE_EVENT__EVENT_SATISFACTION, 0},
        {CHARTER__V1__CASE_EVENT__EVENT_CUSTOMER_MESSAGE, 0},
        {CHARTER__V1__CASE_EVENT__EVENT_RECEIVED, 1},
        {CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED, 1},
        {CHARTER__V1__CASE_EVENT__EVENT_PAUSED, 1},
        {CHARTER__V1__CASE_EVENT__EVENT_RESPONDED, 1},
        {CHARTER__V1__CASE_EVENT__EVENT_CLOSED, 1},
        {CHARTER__V1__CASE_EVENT__EVENT_VISIT, 1},
    };
    fx_event_buf b;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(
            sla_event_moves_timers(event(&b, cases[i].kind, "derby-homes", "2026-11-23T09:15:00Z")),
            cases[i].moves);
}

/* The diff on its own: an unchanged timer stays, a moved one is scheduled,
 * one no longer wanted is cancelled, a new one is scheduled. */
static void
test_diff(void **state)
{
    (void)state;
    ch_case_timer was[3] = {
        {.id = "c/acknowledgement_due", .due_ms = 100},
        {.id = "c/warning/1", .due_ms = 200},
        {.id = "c/breach", .due_ms = 300},
    };
    sla_timer_plan p;
    memset(&p, 0, sizeof(p));
    p.ntimers = 3;
    p.timers[0] = (ch_case_timer){.id = "c/warning/1", .due_ms = 200};
    p.timers[1] = (ch_case_timer){.id = "c/breach", .due_ms = 350};
    p.timers[2] = (ch_case_timer){.id = "c/review_due/1", .due_ms = 400};
    sla_timer_plan_diff("c", was, 3, 1, &p);
    assert_int_equal(p.nschedule, 2);
    assert_int_equal(p.schedule[0], 1);
    assert_int_equal(p.schedule[1], 2);
    assert_int_equal(p.ncancel, 1);
    assert_string_equal(p.cancel[0], "c/acknowledgement_due");
}

/* Issue 17: a refused holding reply raises its timer once. Derby letter
 * received Mon 23 Nov 2026 (10 working days, a holding reply must give the
 * reason and the next steps): one without next steps is refused, its
 * extension_refused/1 timer is scheduled due when it was recorded; later
 * events leave it alone (it has fired: never set again), a second refusal
 * replaces it with extension_refused/2. */
static void
test_refused_extension_fires_once(void **state)
{
    (void)state;
    case_run r;
    receive(&r, derby, "derby-homes", CHARTER__V1__CHANNEL__CHANNEL_LETTER, "enquiry",
            "2026-11-23T09:00:00Z");
    fx_event_buf b;
    event(&b, CHARTER__V1__CASE_EVENT__EVENT_HOLDING_REPLY, "derby-homes", "2026-11-30T10:00:00Z");
    fx_set_ts(&b.ts2, fx_at("2026-12-18T17:00:00Z"));
    b.holding.new_target_at = &b.ts2;
    b.holding.reason = "awaiting a report";
    step(&r, &b.ev);
    const ch_case_timer *t = scheduled(&r.plan, "extension_refused/1");
    assert_non_null(t);
    assert_int_equal(t->kind, CHARTER__V1__TIMER_KIND__TIMER_KIND_EXTENSION_REFUSED);
    assert_int_equal(t->due_ms, fx_at("2026-11-30T10:00:00Z"));
    assert_int_equal(r.plan.nschedule, 1); /* the target did not move */
    assert_non_null(strstr(r.plan.state.extension_refused_reason, "the next steps"));

    apply(&r, CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED, "2026-11-30T11:00:00Z");
    assert_null(scheduled(&r.plan, "extension_refused/1"));
    assert_false(cancelled(&r.plan, "extension_refused/1"));
    step(&r, &b.ev); /* redelivered */
    assert_int_equal(r.plan.nschedule, 0);
    assert_int_equal(r.plan.ncancel, 0);

    event(&b, CHARTER__V1__CASE_EVENT__EVENT_HOLDING_REPLY, "derby-homes", "2026-12-01T10:00:00Z");
    fx_set_ts(&b.ts2, fx_at("2026-12-18T17:00:00Z"));
    b.holding.new_target_at = &b.ts2;
    b.holding.statutory_basis = "foi_public_interest";
    step(&r, &b.ev);
    assert_non_null(scheduled(&r.plan, "extension_refused/2"));
    assert_true(cancelled(&r.plan, "extension_refused/1"));
    apply(&r, CHARTER__V1__CASE_EVENT__EVENT_CLOSED, "2026-12-02T10:00:00Z");
    assert_false(cancelled(&r.plan, "extension_refused/2"));
    assert_true(cancelled(&r.plan, "breach"));
    run_free(&r);
}

/* Issue 17: a recorded review moves the case to the next cycle: the last
 * cycle's timers are cancelled and the new cycle's scheduled, however many
 * cycles have passed. */
static void
test_review_cycles_replace_each_other(void **state)
{
    (void)state;
    case_run r;
    receive(&r, ccc, "customer-care-council", CHARTER__V1__CHANNEL__CHANNEL_LETTER,
            "restriction_review", "2026-01-31T10:00:00Z");
    assert_non_null(scheduled(&r.plan, "review_warning_1/1"));
    assert_non_null(scheduled(&r.plan, "review_overdue/1"));
    char when[32], name[40];
    for (int k = 1; k <= 7; k++) {
        fx_event_buf b;
        snprintf(when, sizeof(when), "%d-12-20T10:00:00Z", 2025 + k);
        event(&b, CHARTER__V1__CASE_EVENT__EVENT_REVIEWED, "customer-care-council", when);
        b.reviewed.outcome = CHARTER__V1__REVIEWED__OUTCOME__OUTCOME_KEPT;
        step(&r, &b.ev);
        assert_int_equal(r.plan.ntimers, 3);
        assert_int_equal(r.plan.nschedule, 3);
        assert_int_equal(r.plan.ncancel, 3);
        snprintf(name, sizeof(name), "review_due/%d", k);
        assert_true(cancelled(&r.plan, name));
        snprintf(name, sizeof(name), "review_warning_1/%d", k);
        assert_true(cancelled(&r.plan, name));
        snprintf(name, sizeof(name), "review_due/%d", k + 1);
        const ch_case_timer *t = scheduled(&r.plan, name);
        assert_non_null(t);
        assert_int_equal(t->review, (uint32_t)k + 1);
    }
    fx_event_buf b;
    event(&b, CHARTER__V1__CASE_EVENT__EVENT_REVIEWED, "customer-care-council",
          "2033-06-01T10:00:00Z");
    b.reviewed.outcome = CHARTER__V1__REVIEWED__OUTCOME__OUTCOME_LIFTED;
    step(&r, &b.ev);
    assert_int_equal(r.plan.ntimers, 0);
    assert_int_equal(r.plan.ncancel, 3);
    assert_true(cancelled(&r.plan, "review_overdue/8"));
    run_free(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_extension_fires_once),
        cmocka_unit_test(test_review_cycles_replace_each_other),
        cmocka_unit_test(test_first_event_schedules_all_and_clears_the_rest),
        cmocka_unit_test(test_redelivered_event_changes_nothing),
        cmocka_unit_test(test_acknowledged_cancels_only_its_timer),
        cmocka_unit_test(test_moved_deadline_is_scheduled_again),
        cmocka_unit_test(test_responded_and_closed_keep_no_timer),
        cmocka_unit_test(test_unreadable_state_is_rebuilt),
        cmocka_unit_test(test_refused_events),
        cmocka_unit_test(test_events_that_move_timers),
        cmocka_unit_test(test_diff),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
