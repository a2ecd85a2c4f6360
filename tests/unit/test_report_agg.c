/*
 * The charter's figures from hand-made event sequences under the five
 * shipped policies (seeds 000-004): in time, late, extended, paused and
 * still open; calls, visitors, statutory requests, support and
 * satisfaction; redelivery, replay in another order and the percentile maths;
 * the open set's member and score.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "charter/errors.h"
#include "charter/org_set.h"
#include "charter/report_agg.h"
#include "charter/report_table.h"
#include "charter/timeutil.h"
#include "support/case_event.h"
#include "support/instant.h"
#include "support/shipped.h"

/* ---- a small world: cases, their states and the counters ---- */

typedef struct {
    char id[32];
    ch_report_case rc;
} case_slot;

typedef struct {
    const ch_org_clocks *oc;
    case_slot cases[32];
    size_t n;
    ch_report_table t;
    int roundtrip; /* store every case as JSON between records, as Redis would */
} world;

static ch_report_case *
case_of(world *w, const char *id)
{
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->cases[i].id, id) == 0)
            return &w->cases[i].rc;
    assert_true(w->n < 32);
    case_slot *s = &w->cases[w->n++];
    memset(s, 0, sizeof(*s));
    snprintf(s->id, sizeof(s->id), "%s", id);
    return &s->rc;
}

static void
roundtrip(world *w, ch_report_case *rc)
{
    if (!w->roundtrip)
        return;
    char *json = ch_report_case_to_json(rc);
    assert_non_null(json);
    ch_report_case back;
    assert_int_equal(ch_report_case_from_json(json, strlen(json), &back), 0);
    assert_memory_equal(&back, rc, sizeof(back));
    /* the packed form the store keeps, and the JSON through the same reader */
    size_t len = 0;
    char *packed = ch_report_case_pack(rc, &len);
    assert_non_null(packed);
    assert_true(len > 0 && packed[0] != '{');
    assert_int_equal(ch_report_case_unpack(packed, len, &back), 0);
    assert_memory_equal(&back, rc, sizeof(back));
    assert_int_equal(ch_report_case_unpack(json, strlen(json), &back), 0);
    assert_memory_equal(&back, rc, sizeof(back));
    free(packed);
    free(json);
}

static int
commit(world *w, const ch_report_item *delta, int n)
{
    assert_true(n >= 0);
    assert_int_equal(ch_report_table_add(&w->t, delta, (size_t)n), 0);
    return n;
}

/* An event of the case, with an id of its own (case, kind and time). */
static Charter__V1__CaseEvent *
event(fx_event_buf *b, Charter__V1__CaseEvent__EventCase kind, const char *case_id,
      const char *when)
{
    Charter__V1__CaseEvent *ev = fx_case_event(b, kind, case_id, NULL, when);
    snprintf(b->event_id, sizeof(b->event_id), "%s/%d/%s", case_id, (int)kind, when);
    ev->event_id = b->event_id;
    return ev;
}

static int
feed(world *w, Charter__V1__CaseEvent *ev)
{
    ch_report_case *rc = case_of(w, ev->case_id);
    ch_report_item delta[CH_REPORT_MAX_ITEMS];
    int n = commit(w, delta, ch_report_on_case_event(w->oc, rc, ev, delta, CH_REPORT_MAX_ITEMS));
    roundtrip(w, rc);
    return n;
}

static int
receive(world *w, const char *case_id, Charter__V1__Channel ch, const char *type, const char *when)
{
    fx_event_buf b;
    Charter__V1__CaseEvent *ev = event(&b, CHARTER__V1__CASE_EVENT__EVENT_RECEIVED, case_id, when);
    b.received.channel = ch;
    b.received.case_type = (char *)type;
    b.received.reference = "REF-2026-000001";
    b.ev.organisation = w->oc ? (char *)w->oc->policy.id : "";
    return feed(w, ev);
}

static int
simple(world *w, const char *case_id, Charter__V1__CaseEvent__EventCase kind, const char *when)
{
    fx_event_buf b;
    return feed(w, event(&b, kind, case_id, when));
}

static int
holding(world *w, const char *case_id, const char *when, const char *new_target)
{
    fx_event_buf b;
    Charter__V1__CaseEvent *ev =
        event(&b, CHARTER__V1__CASE_EVENT__EVENT_HOLDING_REPLY, case_id, when);
    fx_set_ts(&b.ts2, fx_at(new_target));
    b.holding.new_target_at = &b.ts2;
    /* everything any shipped promise asks a holding reply to give */
    b.holding.reason = "waiting for a contractor's report";
    b.holding.next_steps = "we will inspect on Monday";
    b.holding.apology = 1;
    b.holding.named_contact = "Jo Smith";
    return feed(w, ev);
}

static int
call(world *w, const char *case_id, const char *when, Charter__V1__Call__Status status,
     uint32_t wait_s, uint32_t rings)
{
    fx_event_buf b;
    Charter__V1__CaseEvent *ev = event(&b, CHARTER__V1__CASE_EVENT__EVENT_CALL, case_id, when);
    b.call.status = status;
    b.call.wait_seconds = wait_s;
    b.call.rings = rings;
    return feed(w, ev);
}

static int
visit(world *w, const char *case_id, const char *when, Charter__V1__Visit__Status status,
      const char *appointment)
{
    fx_event_buf b;
    Charter__V1__CaseEvent *ev = event(&b, CHARTER__V1__CASE_EVENT__EVENT_VISIT, case_id, when);
    b.visit.status = status;
    if (appointment) {
        fx_set_ts(&b.ts2, fx_at(appointment));
        b.visit.appointment_at = &b.ts2;
    }
    return feed(w, ev);
}

static int
support(world *w, const char *case_id, const char *event_id, const char *when, const char *kind)
{
    fx_event_buf b;
    Charter__V1__CaseEvent *ev =
        event(&b, CHARTER__V1__CASE_EVENT__EVENT_COMMUNICATION_SUPPORT, case_id, when);
    snprintf(b.event_id, sizeof(b.event_id), "%s", event_id);
    b.support.kind = (char *)kind;
    return feed(w, ev);
}

static int
satisfaction(world *w, const char *case_id, const char *when, uint32_t score, uint32_t max)
{
    fx_event_buf b;
    Charter__V1__CaseEvent *ev =
        event(&b, CHARTER__V1__CASE_EVENT__EVENT_SATISFACTION, case_id, when);
    b.satisfaction.score = score;
    b.satisfaction.max_score = max;
    return feed(w, ev);
}

static int
timer(world *w, const char *case_id, Charter__V1__TimerKind kind)
{
    Charter__V1__TimerFired t;
    charter__v1__timer_fired__init(&t);
    t.case_id = (char *)case_id;
    t.kind = kind;
    ch_report_case *rc = case_of(w, case_id);
    ch_report_item delta[CH_REPORT_MAX_ITEMS];
    int n = commit(w, delta, ch_report_on_timer(w->oc, rc, &t, delta, CH_REPORT_MAX_ITEMS));
    roundtrip(w, rc);
    return n;
}

static int
outcome(world *w, const char *case_id, const char *when,
        Charter__V1__NotificationOutcome__Status status)
{
    Charter__V1__NotificationOutcome o;
    Charter__V1__Timestamp ts;
    charter__v1__notification_outcome__init(&o);
    fx_set_ts(&ts, fx_at(when));
    o.case_id = (char *)case_id;
    o.kind = CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_ACKNOWLEDGEMENT;
    o.status = status;
    o.occurred_at = &ts;
    ch_report_case *rc = case_of(w, case_id);
    ch_report_item delta[CH_REPORT_MAX_ITEMS];
    int n = commit(w, delta, ch_report_on_outcome(w->oc, rc, &o, delta, CH_REPORT_MAX_ITEMS));
    roundtrip(w, rc);
    return n;
}

static void
expect(const world *w, const char *key, int64_t want)
{
    int64_t got = ch_report_table_get(&w->t, key);
    if (got != want)
        fail_msg("%s = %lld, expected %lld", key, (long long)got, (long long)want);
}

static ch_report_totals totals_buf;

static const ch_report_totals *
totals(const world *w, ch_report_granularity g, const char *from, const char *to,
       const char *channel, const char *type)
{
    ch_report_filter f = {g, from, to, channel, type};
    ch_report_sum(&w->t, &f, &totals_buf);
    return &totals_buf;
}

static void
world_free(world *w)
{
    ch_report_table_free(&w->t);
}

#define ACK CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED
#define RESPONDED CHARTER__V1__CASE_EVENT__EVENT_RESPONDED
#define PAUSED CHARTER__V1__CASE_EVENT__EVENT_PAUSED
#define RESUMED CHARTER__V1__CASE_EVENT__EVENT_RESUMED
#define CLOSED CHARTER__V1__CASE_EVENT__EVENT_CLOSED
#define ESCALATED CHARTER__V1__CASE_EVENT__EVENT_ESCALATED
#define EMAIL CHARTER__V1__CHANNEL__CHANNEL_EMAIL
#define LETTER CHARTER__V1__CHANNEL__CHANNEL_LETTER
#define PHONE CHARTER__V1__CHANNEL__CHANNEL_PHONE
#define VISIT CHARTER__V1__CHANNEL__CHANNEL_VISIT
#define SOCIAL CHARTER__V1__CHANNEL__CHANNEL_SOCIAL

/* Seed 001 (Derby Homes), "In writing" (written-enquiry): emails
 * acknowledged automatically, answered within 10 working days. Received Mon
 * 23 Nov 09:15, the acknowledgement sent 30 s later, answered Fri 4 Dec:
 * the 9th working day. Counted in the day, month and year of receipt;
 * redelivered records change nothing. */
static void
test_seed001_email_in_time(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    world w = {.oc = &shipped->derby, .roundtrip = 1};
    receive(&w, "c1", EMAIL, "enquiry", "2026-11-23T09:15:00Z");
    expect(&w, "2026-11-23|email|enquiry|received", 1);
    expect(&w, "2026-11|email|enquiry|received", 1);
    expect(&w, "2026|email|enquiry|open", 1);
    expect(&w, "2026-11|email|enquiry|acknowledged_in_time", 0);
    expect(&w, "2026-11|email|enquiry|not_acknowledged", 1);
    /* the notice sent is counted, not judged: notification records the
     * acknowledgement as an `acknowledged` event (by "automatic") */
    assert_true(outcome(&w, "c1", "2026-11-23T09:15:30Z",
                        CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_SENT) > 0);
    expect(&w, "2026-11|email|enquiry|notifications.sent", 1);
    expect(&w, "2026-11|email|enquiry|acknowledged_in_time", 0);
    assert_int_equal(outcome(&w, "c1", "2026-11-23T09:15:30Z",
                             CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_SENT),
                     0);
    assert_true(simple(&w, "c1", ACK, "2026-11-23T09:15:30Z") > 0);
    expect(&w, "2026-11|email|enquiry|acknowledged_in_time", 1);
    expect(&w, "2026-11|email|enquiry|not_acknowledged", 0);
    assert_true(simple(&w, "c1", RESPONDED, "2026-12-04T15:00:00Z") > 0);
    assert_int_equal(simple(&w, "c1", RESPONDED, "2026-12-04T15:00:00Z"), 0);
    expect(&w, "2026-11|email|enquiry|open", 0);
    expect(&w, "2026-11|email|enquiry|answered", 1);
    expect(&w, "2026-11|email|enquiry|answered_in_time", 1);
    expect(&w, "2026-11|email|enquiry|answered_in_time_original", 1);
    expect(&w, "2026-11|email|enquiry|answered_late", 0);
    expect(&w, "2026-11-23|email|enquiry|ttr.working_days.9", 1);
    /* the response is counted in the period of receipt, not of the reply */
    expect(&w, "2026-12|email|enquiry|answered", 0);
    world_free(&w);
}

/* Seed 001, letter-enquiry (10 working days, no acknowledgement promised):
 * answered Tue 8 Dec, the 11th working day: late on both targets; a breach
 * timer fired twice is one breach. */
static void
test_seed001_letter_late(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    world w = {.oc = &shipped->derby, .roundtrip = 1};
    receive(&w, "c1", LETTER, "enquiry", "2026-11-23T09:15:00Z");
    assert_true(timer(&w, "c1", CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH) > 0);
    assert_int_equal(timer(&w, "c1", CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH), 0);
    simple(&w, "c1", RESPONDED, "2026-12-08T10:00:00Z");
    expect(&w, "2026-11|letter|enquiry|answered_late", 1);
    expect(&w, "2026-11|letter|enquiry|answered_late_original", 1);
    expect(&w, "2026-11|letter|enquiry|answered_in_time", 0);
    expect(&w, "2026-11|letter|enquiry|acknowledged_in_time", 0);
    expect(&w, "2026-11|letter|enquiry|acknowledged_late", 0);
    expect(&w, "2026-11|letter|enquiry|timers.breach", 1);
    expect(&w, "2026|letter|enquiry|ttr.working_days.11", 1);
    world_free(&w);
}

/* Seed 000 (Nottingham City Homes), letter-reply (7 working days): due Wed 2
 * Dec; a holding reply agrees Fri 11 Dec 17:00; answered Wed 9 Dec: in time
 * against the extension, late against the original target. */
static void
test_seed000_extended(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    world w = {.oc = &shipped->nch, .roundtrip = 1};
    receive(&w, "c1", LETTER, "enquiry", "2026-11-23T09:00:00Z");
    holding(&w, "c1", "2026-11-30T10:00:00Z", "2026-12-11T17:00:00Z");
    expect(&w, "2026-11|letter|enquiry|extended", 1);
    int64_t due;
    assert_int_equal(
        ch_report_overdue_at(&shipped->nch, case_of(&w, "c1"), fx_at("2026-12-05T00:00:00Z"), &due),
        0);
    assert_int_equal(due, fx_at("2026-12-11T17:00:00Z"));
    simple(&w, "c1", RESPONDED, "2026-12-09T12:00:00Z");
    expect(&w, "2026-11|letter|enquiry|answered_in_time", 1);
    expect(&w, "2026-11|letter|enquiry|answered_late", 0);
    expect(&w, "2026-11|letter|enquiry|answered_in_time_original", 0);
    expect(&w, "2026-11|letter|enquiry|answered_late_original", 1);
    expect(&w, "2026-11|letter|enquiry|extensions_refused", 0);
    world_free(&w);
}

/* Seed 000 letters: a holding reply recorded after the target (Wed 2 Dec) is
 * refused: the target stays, the refusal is counted, the answer is late. */
static void
test_seed000_extension_refused(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    world w = {.oc = &shipped->nch, .roundtrip = 1};
    receive(&w, "c1", LETTER, "enquiry", "2026-11-23T09:00:00Z");
    holding(&w, "c1", "2026-12-04T10:00:00Z", "2026-12-11T17:00:00Z");
    expect(&w, "2026-11|letter|enquiry|extended", 0);
    expect(&w, "2026-11|letter|enquiry|extensions_refused", 1);
    simple(&w, "c1", RESPONDED, "2026-12-09T12:00:00Z");
    expect(&w, "2026-11|letter|enquiry|answered_in_time", 0);
    expect(&w, "2026-11|letter|enquiry|answered_late", 1);
    world_free(&w);
}

/* Seed 000 letters, paused Tue 24 09:00 to Wed 25 Nov 16:00: the target moves
 * from Wed 2 Dec to Fri 4 Dec; paused, the case is open but not overdue;
 * answered Thu 3 Dec: in time, and the paused days are not counted (6). */
static void
test_seed000_paused(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    world w = {.oc = &shipped->nch, .roundtrip = 1};
    receive(&w, "c1", LETTER, "enquiry", "2026-11-23T09:00:00Z");
    simple(&w, "c1", PAUSED, "2026-11-24T09:00:00Z");
    int64_t due;
    assert_int_equal(
        ch_report_overdue_at(&shipped->nch, case_of(&w, "c1"), fx_at("2026-12-03T00:00:00Z"), &due),
        0);
    simple(&w, "c1", RESUMED, "2026-11-25T16:00:00Z");
    assert_int_equal(
        ch_report_overdue_at(&shipped->nch, case_of(&w, "c1"), fx_at("2026-12-04T12:00:00Z"), &due),
        0);
    assert_int_equal(due, fx_at("2026-12-04T23:59:59Z"));
    assert_int_equal(
        ch_report_overdue_at(&shipped->nch, case_of(&w, "c1"), fx_at("2026-12-05T00:00:00Z"), &due),
        1);
    expect(&w, "2026-11|letter|enquiry|open", 1);
    simple(&w, "c1", RESPONDED, "2026-12-03T12:00:00Z");
    assert_int_equal(
        ch_report_overdue_at(&shipped->nch, case_of(&w, "c1"), fx_at("2026-12-05T00:00:00Z"), &due),
        0);
    expect(&w, "2026-11|letter|enquiry|answered_in_time", 1);
    expect(&w, "2026-11|letter|enquiry|ttr.working_days.6", 1);
    world_free(&w);
}

/* Seed 000 complaints, stage 1 (Housing Ombudsman Code): acknowledged Wed 4
 * Nov (due Mon 9 Nov), answered Wed 18 Nov, the 10th working day after the
 * acknowledgement: in time, measured from the acknowledgement. A stage 1
 * escalated without an answer is neither open nor answered. */
static void
test_seed000_complaint_stages(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    world w = {.oc = &shipped->nch, .roundtrip = 1};
    receive(&w, "c1", EMAIL, "complaint_stage_1", "2026-11-02T10:00:00Z");
    simple(&w, "c1", ACK, "2026-11-04T11:00:00Z");
    simple(&w, "c1", RESPONDED, "2026-11-18T12:00:00Z");
    expect(&w, "2026-11|email|complaint_stage_1|acknowledged_in_time", 1);
    expect(&w, "2026-11|email|complaint_stage_1|answered_in_time", 1);
    expect(&w, "2026-11|email|complaint_stage_1|ttr.working_days.10", 1);

    receive(&w, "c2", LETTER, "complaint_stage_1", "2026-11-02T10:00:00Z");
    simple(&w, "c2", ACK, "2026-11-10T09:00:00Z"); /* the 6th working day: late */
    simple(&w, "c2", ESCALATED, "2026-11-30T09:00:00Z");
    receive(&w, "c3", LETTER, "complaint_stage_2", "2026-11-30T09:00:00Z");
    expect(&w, "2026-11|letter|complaint_stage_1|acknowledged_late", 1);
    expect(&w, "2026-11|letter|complaint_stage_1|open", 0);
    expect(&w, "2026-11|letter|complaint_stage_1|escalated", 1);
    expect(&w, "2026-11|letter|complaint_stage_1|answered", 0);

    /* complaints by stage: received per case type */
    assert_int_equal(totals(&w, CH_REPORT_MONTH, "2026-11", "2026-11", NULL, "complaint_stage_1")
                         ->fig[CH_REPORT_RECEIVED],
                     2);
    assert_int_equal(totals(&w, CH_REPORT_MONTH, "2026-11", "2026-11", NULL, "complaint_stage_2")
                         ->fig[CH_REPORT_OPEN],
                     1);
    world_free(&w);
}

/* Seed 002 (NIHE), "On the phone": answer within 20 seconds. 15 s is in
 * time, 25 s late, an abandoned call is counted apart. */
static void
test_seed002_calls(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    world w = {.oc = &shipped->nihe, .roundtrip = 1};
    receive(&w, "c1", PHONE, "enquiry", "2026-11-23T10:00:00Z");
    call(&w, "c1", "2026-11-23T10:00:15Z", CHARTER__V1__CALL__STATUS__STATUS_ANSWERED, 15, 0);
    receive(&w, "c2", PHONE, "enquiry", "2026-11-23T10:01:00Z");
    call(&w, "c2", "2026-11-23T10:01:00Z", CHARTER__V1__CALL__STATUS__STATUS_OFFERED, 0, 0);
    call(&w, "c2", "2026-11-23T10:01:25Z", CHARTER__V1__CALL__STATUS__STATUS_ANSWERED, 25, 0);
    receive(&w, "c3", PHONE, "enquiry", "2026-11-23T10:02:00Z");
    call(&w, "c3", "2026-11-23T10:03:00Z", CHARTER__V1__CALL__STATUS__STATUS_ABANDONED, 60, 0);
    const ch_report_totals *t =
        totals(&w, CH_REPORT_DAY, "2026-11-23", "2026-11-23", "phone", NULL);
    assert_int_equal(t->fig[CH_REPORT_CALLS_ANSWERED], 2);
    assert_int_equal(t->fig[CH_REPORT_CALLS_IN_TIME], 1);
    assert_int_equal(t->fig[CH_REPORT_CALLS_LATE], 1);
    assert_int_equal(t->fig[CH_REPORT_CALLS_ABANDONED], 1);
    world_free(&w);
}

/* Seed 004 (customer-care council), "answer all calls within four rings". */
static void
test_seed004_calls_in_rings(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    world w = {.oc = &shipped->ccc, .roundtrip = 1};
    receive(&w, "c1", PHONE, "enquiry", "2026-11-23T10:00:00Z");
    call(&w, "c1", "2026-11-23T10:00:15Z", CHARTER__V1__CALL__STATUS__STATUS_ANSWERED, 15, 4);
    receive(&w, "c2", PHONE, "enquiry", "2026-11-23T10:01:00Z");
    call(&w, "c2", "2026-11-23T10:01:30Z", CHARTER__V1__CALL__STATUS__STATUS_ANSWERED, 30, 6);
    expect(&w, "2026-11|phone|enquiry|calls_answered_in_time", 1);
    expect(&w, "2026-11|phone|enquiry|calls_answered_late", 1);
    world_free(&w);
}

/* Seed 004 again, when the telephony sends only the wait: four rings at the
 * UK's ring every 3 s is a wait of up to 12 s; a ring count, when sent, still
 * decides. */
static void
test_seed004_calls_in_rings_from_the_wait(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    world w = {.oc = &shipped->ccc, .roundtrip = 1};
    receive(&w, "c1", PHONE, "enquiry", "2026-11-23T10:00:00Z");
    call(&w, "c1", "2026-11-23T10:00:12Z", CHARTER__V1__CALL__STATUS__STATUS_ANSWERED, 12, 0);
    receive(&w, "c2", PHONE, "enquiry", "2026-11-23T10:01:00Z");
    call(&w, "c2", "2026-11-23T10:01:13Z", CHARTER__V1__CALL__STATUS__STATUS_ANSWERED, 13, 0);
    receive(&w, "c3", PHONE, "enquiry", "2026-11-23T10:02:00Z");
    call(&w, "c3", "2026-11-23T10:02:03Z", CHARTER__V1__CALL__STATUS__STATUS_ANSWERED, 3, 0);
    receive(&w, "c4", PHONE, "enquiry", "2026-11-23T10:03:00Z");
    call(&w, "c4", "2026-11-23T10:03:20Z", CHARTER__V1__CALL__STATUS__STATUS_ANSWERED, 20, 3);
    expect(&w, "2026-11|phone|enquiry|calls_answered", 4);
    expect(&w, "2026-11|phone|enquiry|calls_answered_in_time", 3);
    expect(&w, "2026-11|phone|enquiry|calls_answered_late", 1);
    world_free(&w);
}

/* Seed 002, "In our local offices": seen within 15 minutes of arrival;
 * communication support counted by kind (seed 002's list), each event once. */
static void
test_seed002_visitors_and_support(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    world w = {.oc = &shipped->nihe, .roundtrip = 1};
    receive(&w, "v1", VISIT, "enquiry", "2026-11-23T10:00:00Z");
    visit(&w, "v1", "2026-11-23T10:00:00Z", CHARTER__V1__VISIT__STATUS__STATUS_ARRIVED, NULL);
    visit(&w, "v1", "2026-11-23T10:10:00Z", CHARTER__V1__VISIT__STATUS__STATUS_SEEN, NULL);
    receive(&w, "v2", VISIT, "enquiry", "2026-11-23T11:00:00Z");
    visit(&w, "v2", "2026-11-23T11:00:00Z", CHARTER__V1__VISIT__STATUS__STATUS_ARRIVED, NULL);
    int64_t due;
    assert_int_equal(ch_report_overdue_at(&shipped->nihe, case_of(&w, "v2"),
                                          fx_at("2026-11-23T11:16:00Z"), &due),
                     1);
    assert_int_equal(due, fx_at("2026-11-23T11:15:00Z"));
    visit(&w, "v2", "2026-11-23T11:20:00Z", CHARTER__V1__VISIT__STATUS__STATUS_SEEN, NULL);
    receive(&w, "v3", VISIT, "enquiry", "2026-11-23T12:00:00Z");
    visit(&w, "v3", "2026-11-23T12:30:00Z", CHARTER__V1__VISIT__STATUS__STATUS_LEFT_UNSEEN, NULL);
    expect(&w, "2026-11|visit|enquiry|visitors_seen", 2);
    expect(&w, "2026-11|visit|enquiry|visitors_seen_in_time", 1);
    expect(&w, "2026-11|visit|enquiry|visitors_seen_late", 1);
    expect(&w, "2026-11|visit|enquiry|visitors_left_unseen", 1);

    assert_true(support(&w, "v1", "e-1", "2026-11-23T10:05:00Z", "interpreting_call") > 0);
    assert_int_equal(support(&w, "v1", "e-1", "2026-11-23T10:05:00Z", "interpreting_call"), 0);
    support(&w, "v1", "e-2", "2026-11-23T10:06:00Z", "interpreting_call");
    support(&w, "v2", "e-3", "2026-11-23T11:05:00Z", "large_print");
    support(&w, "v2", "e-4", "2026-11-23T11:06:00Z", "interpreting_session");
    const ch_report_totals *t = totals(&w, CH_REPORT_YEAR, NULL, NULL, NULL, NULL);
    assert_int_equal(t->support[CH_REPORT_SUPPORT_PHONE_INTERPRETING], 2);
    assert_int_equal(t->support[CH_REPORT_SUPPORT_FACE_TO_FACE_INTERPRETING], 1);
    assert_int_equal(t->support[CH_REPORT_SUPPORT_LARGE_PRINT], 1);
    assert_int_equal(t->support[CH_REPORT_SUPPORT_BRAILLE], 0);
    world_free(&w);
}

/* Seed 002, statutory requests: an FOI received Wed 23 Dec is due Tue 26
 * Jan (20 working days, any UK holiday), answered 20 Jan: in time; a subject
 * access request of 31 Jan due 2 Mar answered 3 Mar: late; an EIR still open
 * is overdue only after its due instant. */
static void
test_seed002_statutory(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    world w = {.oc = &shipped->nihe, .roundtrip = 1};
    receive(&w, "f1", EMAIL, "foi", "2026-12-23T12:00:00Z");
    simple(&w, "f1", RESPONDED, "2027-01-20T12:00:00Z");
    expect(&w, "2026-12|email|foi|answered_in_time", 1);
    receive(&w, "s1", LETTER, "sar", "2026-01-31T10:00:00Z");
    simple(&w, "s1", RESPONDED, "2026-03-03T10:00:00Z");
    expect(&w, "2026-01|letter|sar|answered_late", 1);
    expect(&w, "2026-01|letter|sar|ttr.days.31", 1);
    receive(&w, "e1", EMAIL, "eir", "2026-11-02T10:00:00Z");
    int64_t due;
    assert_int_equal(ch_report_overdue_at(&shipped->nihe, case_of(&w, "e1"),
                                          fx_at("2026-11-20T00:00:00Z"), &due),
                     0);
    assert_int_equal(ch_report_overdue_at(&shipped->nihe, case_of(&w, "e1"), due + 1000, &due), 1);
    expect(&w, "2026|email|eir|open", 1);
    world_free(&w);
}

/* Seed 004, contact-group emails: acknowledge within 24 hours (acknowledged
 * after 24 h 30 min: late), respond within 14 days, measured in days. */
static void
test_seed004_contact_group(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    world w = {.oc = &shipped->ccc, .roundtrip = 1};
    receive(&w, "c1", EMAIL, "contact_group", "2026-10-24T12:00:00Z");
    simple(&w, "c1", ACK, "2026-10-25T12:30:00Z");
    simple(&w, "c1", RESPONDED, "2026-11-02T09:00:00Z");
    expect(&w, "2026-10|email|contact_group|acknowledged_late", 1);
    expect(&w, "2026-10|email|contact_group|answered_in_time", 1);
    expect(&w, "2026-10|email|contact_group|ttr.days.9", 1);
    world_free(&w);
}

/* Seed 003 (digital-first council): an appointment at 14:00, the visitor
 * arrived 13:50 and was seen 14:08, within 10 minutes of the appointment;
 * social media answered after the end of the following working day: late;
 * satisfaction: the latest answer per case counts. */
static void
test_seed003_appointment_social_satisfaction(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    world w = {.oc = &shipped->dfc, .roundtrip = 1};
    receive(&w, "a1", VISIT, "appointment", "2026-11-23T13:50:00Z");
    visit(&w, "a1", "2026-11-23T13:50:00Z", CHARTER__V1__VISIT__STATUS__STATUS_ARRIVED,
          "2026-11-23T14:00:00Z");
    visit(&w, "a1", "2026-11-23T14:08:00Z", CHARTER__V1__VISIT__STATUS__STATUS_SEEN, NULL);
    expect(&w, "2026-11|visit|appointment|visitors_seen_in_time", 1);

    receive(&w, "s1", SOCIAL, "enquiry", "2026-12-24T15:00:00Z");
    simple(&w, "s1", RESPONDED, "2026-12-29T17:30:00Z");
    expect(&w, "2026-12|social|enquiry|answered_late", 1);

    satisfaction(&w, "a1", "2026-11-24T09:00:00Z", 2, 5);
    satisfaction(&w, "a1", "2026-11-25T09:00:00Z", 4, 5); /* replaces the first */
    satisfaction(&w, "s1", "2026-12-30T09:00:00Z", 1, 5);
    const ch_report_totals *t = totals(&w, CH_REPORT_YEAR, "2026", "2026", NULL, NULL);
    assert_int_equal(t->fig[CH_REPORT_SATISFACTION_RESPONSES], 2);
    assert_int_equal(t->fig[CH_REPORT_SATISFACTION_SCORE_PCT_SUM], 80 + 20);
    assert_int_equal(t->fig[CH_REPORT_SATISFIED], 1);
    world_free(&w);
}

/* Periods are local dates: 23:30 UTC on 30 June is 00:30 on 1 July in
 * Europe/London (BST). */
static void
test_local_periods(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    world w = {.oc = &shipped->derby};
    receive(&w, "c1", EMAIL, "enquiry", "2026-06-30T23:30:00Z");
    expect(&w, "2026-07-01|email|enquiry|received", 1);
    expect(&w, "2026-07|email|enquiry|received", 1);
    expect(&w, "2026-06|email|enquiry|received", 0);
    receive(&w, "c2", EMAIL, "enquiry", "2026-12-31T23:30:00Z"); /* GMT: still 2026 */
    expect(&w, "2026|email|enquiry|received", 2);
    const ch_report_totals *t = totals(&w, CH_REPORT_DAY, "2026-07-01", "2026-12-30", NULL, NULL);
    assert_int_equal(t->fig[CH_REPORT_RECEIVED], 1);
    world_free(&w);
}

/* Nearest rank: the p-th percentile of N values is the smallest v with at
 * least ceil(p*N/100) values <= v. */
static void
test_percentile_nearest_rank(void **state)
{
    (void)state;
    int64_t h[11] = {0}, v;
    assert_int_equal(ch_report_percentile(h, 11, 50, &v), CH_ENOTFOUND);
    h[7] = 1;
    assert_int_equal(ch_report_percentile(h, 11, 50, &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(ch_report_percentile(h, 11, 90, &v), 0);
    assert_int_equal(v, 7);
    /* 1, 2, 3, 4: median is the lower middle (rank 2), p90 rank ceil(3.6) = 4 */
    memset(h, 0, sizeof(h));
    h[1] = h[2] = h[3] = h[4] = 1;
    assert_int_equal(ch_report_percentile(h, 11, 50, &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(ch_report_percentile(h, 11, 90, &v), 0);
    assert_int_equal(v, 4);
    /* 1..10: p90 has rank 9 exactly */
    for (int i = 1; i <= 10; i++)
        h[i] = 1;
    assert_int_equal(ch_report_percentile(h, 11, 90, &v), 0);
    assert_int_equal(v, 9);
    assert_int_equal(ch_report_percentile(h, 11, 100, &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(ch_report_percentile(h, 11, 1, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(ch_report_percentile(h, 11, 0, &v), CH_EINVAL);
    assert_int_equal(ch_report_percentile(h, 11, 101, &v), CH_EINVAL);
    /* repeated values: 0,0,0,5,5,9 -> median rank 3 -> 0; p90 rank 6 -> 9 */
    memset(h, 0, sizeof(h));
    h[0] = 3;
    h[5] = 2;
    h[9] = 1;
    assert_int_equal(ch_report_percentile(h, 11, 50, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(ch_report_percentile(h, 11, 90, &v), 0);
    assert_int_equal(v, 9);
}

/* The median and 90th percentile of real responses, read from the counters:
 * Derby emails answered on working days 1, 2, 3, 9 and 12 after receipt. */
static void
test_percentile_from_counters(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    world w = {.oc = &shipped->derby};
    static const char *answered[] = {"2026-11-03T10:00:00Z", "2026-11-04T10:00:00Z",
                                     "2026-11-05T10:00:00Z", "2026-11-13T10:00:00Z",
                                     "2026-11-18T10:00:00Z"};
    for (int i = 0; i < 5; i++) {
        char id[8];
        snprintf(id, sizeof(id), "c%d", i);
        receive(&w, id, EMAIL, "enquiry", "2026-11-02T09:00:00Z");
        simple(&w, id, RESPONDED, answered[i]);
    }
    const ch_report_totals *t = totals(&w, CH_REPORT_MONTH, "2026-11", "2026-11", "email", NULL);
    int64_t v;
    assert_int_equal(
        ch_report_percentile(t->ttr[CH_REPORT_UNIT_WORKING_DAYS], CH_REPORT_TTR_MAX + 1, 50, &v),
        0);
    assert_int_equal(v, 3);
    assert_int_equal(
        ch_report_percentile(t->ttr[CH_REPORT_UNIT_WORKING_DAYS], CH_REPORT_TTR_MAX + 1, 90, &v),
        0);
    assert_int_equal(v, 12);
    assert_int_equal(t->fig[CH_REPORT_ANSWERED_IN_TIME], 4);
    assert_int_equal(t->fig[CH_REPORT_ANSWERED_LATE], 1);
    world_free(&w);
}

/* Replay: the same records with the three topics interleaved differently
 * (each case's own events still in order), redeliveries, timers and
 * outcomes arriving before the case, give exactly the same counters. */
static void
play(world *w, int variant)
{
    if (variant == 1) {
        timer(w, "c2", CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH);
        outcome(w, "c1", "2026-11-23T09:15:30Z",
                CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_SENT);
    }
    receive(w, "c1", EMAIL, "enquiry", "2026-11-23T09:15:00Z");
    receive(w, "c2", LETTER, "enquiry", "2026-11-23T09:20:00Z");
    if (variant == 1)
        receive(w, "c1", EMAIL, "enquiry", "2026-11-23T09:15:00Z");
    simple(w, "c2", PAUSED, "2026-11-24T09:00:00Z");
    simple(w, "c2", RESUMED, "2026-11-25T09:00:00Z");
    if (variant == 0)
        outcome(w, "c1", "2026-11-23T09:15:30Z",
                CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_SENT);
    simple(w, "c1", ACK, "2026-11-23T09:15:30Z");
    simple(w, "c1", RESPONDED, "2026-11-27T09:00:00Z");
    holding(w, "c2", "2026-12-01T09:00:00Z", "2026-12-18T17:00:00Z");
    if (variant == 0)
        timer(w, "c2", CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH);
    simple(w, "c2", RESPONDED, "2026-12-15T09:00:00Z");
    simple(w, "c2", CLOSED, "2026-12-15T09:05:00Z");
    if (variant == 1) {
        simple(w, "c1", RESPONDED, "2026-11-27T09:00:00Z");
        timer(w, "c2", CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH);
    }
}

static void
test_replay_same_figures(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    world a = {.oc = &shipped->derby}, b = {.oc = &shipped->derby, .roundtrip = 1};
    play(&a, 0);
    play(&b, 1);
    assert_int_equal(a.t.n, b.t.n);
    for (size_t i = 0; i < a.t.n; i++) {
        assert_string_equal(a.t.items[i].key, b.t.items[i].key);
        assert_int_equal(a.t.items[i].value, b.t.items[i].value);
    }
    expect(&a, "2026-11|letter|enquiry|answered_in_time", 1);
    expect(&a, "2026-11|letter|enquiry|answered_late_original", 1);
    expect(&a, "2026-11|letter|enquiry|timers.breach", 1);
    expect(&a, "2026-11|email|enquiry|acknowledged_in_time", 1);
    /* the counters are exactly the sum of the cases' contributions */
    ch_report_table sum = {0};
    for (size_t i = 0; i < a.n; i++) {
        ch_report_item items[CH_REPORT_MAX_ITEMS];
        int n = ch_report_contrib(&shipped->derby, &a.cases[i].rc, items, CH_REPORT_MAX_ITEMS);
        assert_true(n > 0);
        assert_int_equal(ch_report_table_add(&sum, items, (size_t)n), 0);
    }
    assert_int_equal(sum.n, a.t.n);
    for (size_t i = 0; i < a.t.n; i++)
        assert_int_equal(ch_report_table_get(&sum, a.t.items[i].key), a.t.items[i].value);
    ch_report_table_free(&sum);
    world_free(&a);
    world_free(&b);
}

/* Kafka redelivers a case's records from the last committed offset, in
 * order: a second holding reply replaced the first, and the run of records
 * from the first holding reply on is delivered again. The figures pass
 * through the older state and end where they were. */
static void
test_redelivered_run_converges(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    world a = {.oc = &shipped->nch}, b = {.oc = &shipped->nch, .roundtrip = 1};
    world *ws[] = {&a, &b};
    for (int k = 0; k < 2; k++) {
        receive(ws[k], "c1", LETTER, "enquiry", "2026-11-23T09:00:00Z");
        holding(ws[k], "c1", "2026-11-30T10:00:00Z", "2026-12-03T17:00:00Z");
        holding(ws[k], "c1", "2026-12-02T10:00:00Z", "2026-12-11T17:00:00Z");
        simple(ws[k], "c1", RESPONDED, "2026-12-09T12:00:00Z");
    }
    /* issue 17: an older holding reply delivered again is not applied over
     * the later one, so the figures no longer pass through "late" */
    holding(&b, "c1", "2026-11-30T10:00:00Z", "2026-12-03T17:00:00Z");
    expect(&b, "2026-11|letter|enquiry|answered_late", 0);
    holding(&b, "c1", "2026-12-02T10:00:00Z", "2026-12-11T17:00:00Z");
    simple(&b, "c1", RESPONDED, "2026-12-09T12:00:00Z");
    assert_int_equal(a.t.n, b.t.n);
    for (size_t i = 0; i < a.t.n; i++) {
        assert_string_equal(a.t.items[i].key, b.t.items[i].key);
        assert_int_equal(a.t.items[i].value, b.t.items[i].value);
    }
    expect(&b, "2026-11|letter|enquiry|answered_in_time", 1);
    expect(&b, "2026-11|letter|enquiry|answered_late", 0);
    char bucket[CH_REPORT_KEY_MAX];
    assert_int_equal(
        ch_report_case_bucket(&shipped->nch, case_of(&b, "c1"), bucket, sizeof(bucket)), 0);
    assert_string_equal(bucket, "2026-11-23|letter|enquiry");
    ch_report_case empty;
    memset(&empty, 0, sizeof(empty));
    assert_int_equal(ch_report_case_bucket(&shipped->nch, &empty, bucket, sizeof(bucket)),
                     CH_ENOTFOUND);
    world_free(&a);
    world_free(&b);
}

/* Bad input: a state that does not parse; an event without a time. */
static void
test_invalid(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    ch_report_case rc;
    assert_int_equal(ch_report_case_from_json("{}", 2, &rc), CH_EINVAL);
    assert_int_equal(ch_report_case_from_json("nope", 4, &rc), CH_EINVAL);
    assert_int_equal(ch_report_case_unpack("{}", 2, &rc), CH_EINVAL);
    assert_int_equal(ch_report_case_unpack("", 0, &rc), CH_EINVAL);
    assert_int_equal(ch_report_case_unpack("\x0a\x05"
                                           "ab",
                                           4, &rc),
                     CH_EINVAL);                                            /* cut short */
    assert_int_equal(ch_report_case_unpack("\x10\x01", 2, &rc), CH_EINVAL); /* no clock */
    fx_event_buf b;
    Charter__V1__CaseEvent *ev = event(&b, RESPONDED, "c1", "2026-11-23T09:00:00Z");
    ev->occurred_at = NULL;
    memset(&rc, 0, sizeof(rc));
    ch_report_item delta[CH_REPORT_MAX_ITEMS];
    assert_int_equal(ch_report_on_case_event(&shipped->derby, &rc, ev, delta, CH_REPORT_MAX_ITEMS),
                     CH_EINVAL);
    /* no policy: counted, nothing judged in time */
    world w = {.oc = NULL};
    receive(&w, "c1", EMAIL, "enquiry", "2026-11-23T09:00:00Z");
    simple(&w, "c1", RESPONDED, "2026-11-23T12:30:00Z");
    expect(&w, "2026-11-23|email|enquiry|answered", 1);
    expect(&w, "2026-11-23|email|enquiry|answered_in_time", 0);
    expect(&w, "2026-11-23|email|enquiry|ttr.hours.4", 1);
    world_free(&w);
}

/* The open set's member and score: a case with a running clock is in it
 * from its target; answered, paused or not yet received it is not. */
static void
test_open_entry(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    world w = {.oc = &shipped->nch};
    receive(&w, "c1", LETTER, "enquiry", "2026-11-23T09:00:00Z");
    char member[CH_REPORT_KEY_MAX + 32], bucket[CH_REPORT_KEY_MAX];
    int64_t due = -1, target = 0;
    ch_report_case *rc = case_of(&w, "c1");
    assert_int_equal(ch_report_open_entry(&shipped->nch, rc, "c1", member, sizeof(member), &due),
                     1);
    assert_int_equal(ch_report_case_bucket(&shipped->nch, rc, bucket, sizeof(bucket)), 0);
    assert_string_equal(member, "2026-11-23|letter|enquiry|c1");
    assert_true(strncmp(member, bucket, strlen(bucket)) == 0);
    assert_int_equal(ch_report_overdue_at(&shipped->nch, rc, 0, &target), 0);
    assert_true(due > fx_at("2026-11-23T09:00:00Z"));
    assert_int_equal(due, target);
    assert_int_equal(ch_report_open_entry(&shipped->nch, rc, "c1", member, 20, &due), CH_EINVAL);

    simple(&w, "c1", PAUSED, "2026-11-24T09:00:00Z");
    assert_int_equal(ch_report_open_entry(&shipped->nch, rc, "c1", member, sizeof(member), &due),
                     0);
    assert_int_equal(due, 0);
    simple(&w, "c1", RESUMED, "2026-11-25T09:00:00Z");
    assert_int_equal(ch_report_open_entry(&shipped->nch, rc, "c1", member, sizeof(member), &due),
                     1);
    assert_true(due > target); /* the pause moved the target */
    simple(&w, "c1", RESPONDED, "2026-11-26T09:00:00Z");
    assert_int_equal(ch_report_open_entry(&shipped->nch, rc, "c1", member, sizeof(member), &due),
                     0);
    assert_string_equal(member, "2026-11-23|letter|enquiry|c1");

    ch_report_case empty;
    memset(&empty, 0, sizeof(empty));
    assert_int_equal(
        ch_report_open_entry(&shipped->nch, &empty, "c2", member, sizeof(member), &due),
        CH_ENOTFOUND);
    world_free(&w);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed001_email_in_time),
        cmocka_unit_test(test_seed001_letter_late),
        cmocka_unit_test(test_seed000_extended),
        cmocka_unit_test(test_seed000_extension_refused),
        cmocka_unit_test(test_seed000_paused),
        cmocka_unit_test(test_seed000_complaint_stages),
        cmocka_unit_test(test_seed002_calls),
        cmocka_unit_test(test_seed004_calls_in_rings),
        cmocka_unit_test(test_seed004_calls_in_rings_from_the_wait),
        cmocka_unit_test(test_seed002_visitors_and_support),
        cmocka_unit_test(test_seed002_statutory),
        cmocka_unit_test(test_seed004_contact_group),
        cmocka_unit_test(test_seed003_appointment_social_satisfaction),
        cmocka_unit_test(test_local_periods),
        cmocka_unit_test(test_percentile_nearest_rank),
        cmocka_unit_test(test_percentile_from_counters),
        cmocka_unit_test(test_replay_same_figures),
        cmocka_unit_test(test_redelivered_run_converges),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_open_entry),
    };
    return cmocka_run_group_tests(tests, fx_shipped_setup, fx_shipped_teardown);
}
