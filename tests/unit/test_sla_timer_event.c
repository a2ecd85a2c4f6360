/*
 * A compact timer's TimerFired rebuilt from its case's state
 * (services/sla-timer/timer_event.h): the same fields case_sync.c stored
 * with a text timer before issue 16, and what a timer whose state is
 * missing or no longer gives it fires with.
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
#include "charter/names.h"
#include "charter/org_set.h"
#include "charter/timeutil.h"
#include "support/case_event.h"
#include "support/instant.h"
#include "support/shipped.h"
#include "timer_event.h"
#include "timer_plan.h"

#define CASE "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b"

static ch_org_set orgs;

static int
setup(void **state)
{
    (void)state;
    char err[512];
    if (ch_org_set_load(fx_policies_dir(), "sla.policy_dir", &orgs, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    ch_org_set_free(&orgs);
    return 0;
}

/* A Derby Homes email enquiry received on Mon 23 Nov 2026: its plan (four
 * timers) and the state case_sync.c saves (malloc'd, packed: *len bytes). */
static char *
derby_case(sla_timer_plan *plan, size_t *len)
{
    fx_event_buf b;
    Charter__V1__CaseEvent *ev = fx_case_event(&b, CHARTER__V1__CASE_EVENT__EVENT_RECEIVED, CASE,
                                               "derby-homes", "2026-11-23T09:15:00Z");
    b.received.channel = CHARTER__V1__CHANNEL__CHANNEL_EMAIL;
    b.received.case_type = "enquiry";
    b.received.reference = "DH-2026-000056";
    const char *why = NULL;
    assert_int_equal(
        sla_timer_plan_make(ch_org_set_find(&orgs, "derby-homes"), ev, NULL, 0, plan, &why), 0);
    char *packed = ch_case_state_pack(&plan->state, len);
    assert_non_null(packed);
    return packed;
}

static void
ts(int64_t ms, Charter__V1__Timestamp *t)
{
    charter__v1__timestamp__init(t);
    ch_time_split_ms(ms, &t->seconds, &t->nanos);
}

/* Each of the case's timers rebuilds to exactly the event a text timer
 * carried (case_sync.c's stored fields, with timer_id and case_id as fire.c
 * put them back): compared as packed protobuf bytes. */
static void
test_rebuild_matches_stored_event(void **state)
{
    (void)state;
    sla_timer_plan plan;
    size_t len = 0;
    char *packed = derby_case(&plan, &len);
    /* and from the JSON form a state was stored in before the packed one */
    char *json = ch_case_state_to_json(&plan.state);
    assert_non_null(json);
    assert_int_equal(plan.ntimers, 4);
    for (int i = 0; i < 2 * plan.ntimers; i++) {
        const char *st = i % 2 ? json : packed;
        size_t st_len = i % 2 ? strlen(json) : len;
        const ch_case_timer *t = &plan.timers[i / 2];
        Charter__V1__TimerFired want = CHARTER__V1__TIMER_FIRED__INIT;
        Charter__V1__Timestamp due, target;
        ts(t->due_ms, &due);
        ts(plan.target_ms, &target);
        want.timer_id = (char *)t->id;
        char case_id[64];
        snprintf(case_id, sizeof(case_id), "%s", CASE);
        want.case_id = case_id;
        want.organisation = "derby-homes";
        want.kind = t->kind;
        want.due_at = &due;
        want.tier = t->tier;
        want.reference = "DH-2026-000056";
        want.target_at = &target;
        want.channel = CHARTER__V1__CHANNEL__CHANNEL_EMAIL;
        want.case_type = "enquiry";
        want.review = t->review;

        sla_timer_event e;
        assert_int_equal(sla_timer_event_rebuild(&orgs, t->id, st, st_len, t->due_ms, 1, &e),
                         SLA_EVENT_FULL);
        uint8_t a[512], b[512];
        size_t na = charter__v1__timer_fired__get_packed_size(&want);
        size_t nb = charter__v1__timer_fired__get_packed_size(&e.ev);
        assert_true(na < sizeof(a) && nb < sizeof(b));
        charter__v1__timer_fired__pack(&want, a);
        charter__v1__timer_fired__pack(&e.ev, b);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na);
    }
    free(json);
    free(packed);
}

/* due_at is the due time the store had (the claimed score), not the
 * recomputed one; unknown (-1: claimed again after a lease) takes the
 * recomputed one. */
static void
test_due_from_the_score(void **state)
{
    (void)state;
    sla_timer_plan plan;
    size_t len = 0;
    char *packed = derby_case(&plan, &len);
    sla_timer_event e;
    assert_int_equal(
        sla_timer_event_rebuild(&orgs, CASE "/breach", packed, len, 1800000000123, 1, &e),
        SLA_EVENT_FULL);
    assert_int_equal(e.ev.due_at->seconds, 1800000000);
    assert_int_equal(e.ev.due_at->nanos, 123000000);
    assert_int_equal(sla_timer_event_rebuild(&orgs, CASE "/breach", packed, len, -1, 1, &e),
                     SLA_EVENT_FULL);
    assert_int_equal(e.ev.due_at->seconds * 1000 + e.ev.due_at->nanos / 1000000,
                     fx_at("2026-12-07T23:59:59Z"));
    free(packed);
}

/* No state: what the id gives (ids, kind, tier, review) and the due time. */
static void
test_no_state(void **state)
{
    (void)state;
    sla_timer_event e;
    assert_int_equal(sla_timer_event_rebuild(&orgs, CASE "/warning/2", NULL, 0, 5000, 1, &e),
                     SLA_EVENT_NO_STATE);
    assert_string_equal(e.ev.timer_id, CASE "/warning/2");
    assert_string_equal(e.ev.case_id, CASE);
    assert_int_equal(e.ev.kind, CHARTER__V1__TIMER_KIND__TIMER_KIND_WARNING);
    assert_int_equal(e.ev.tier, 2);
    assert_int_equal(e.ev.due_at->seconds, 5);
    assert_string_equal(e.ev.organisation, "");
    assert_null(e.ev.target_at);
    assert_int_equal(
        sla_timer_event_rebuild(&orgs, CASE "/review_warning_2/7", "{not json", 9, -1, 7000, &e),
        SLA_EVENT_NO_STATE);
    assert_int_equal(e.ev.kind, CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_WARNING);
    assert_int_equal(e.ev.tier, 2);
    assert_int_equal(e.ev.review, 7);
    assert_int_equal(e.ev.due_at->seconds, 7); /* the fallback: unknown due */
    static const struct {
        const char *kind;
        Charter__V1__TimerKind want;
        uint32_t tier, review;
    } kinds[] = {
        {"acknowledgement_due", CHARTER__V1__TIMER_KIND__TIMER_KIND_ACKNOWLEDGEMENT_DUE, 0, 0},
        {"breach", CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH, 0, 0},
        {"wait_exceeded", CHARTER__V1__TIMER_KIND__TIMER_KIND_WAIT_EXCEEDED, 0, 0},
        {"reminder", CHARTER__V1__TIMER_KIND__TIMER_KIND_REMINDER, 0, 0},
        {"callback_due", CHARTER__V1__TIMER_KIND__TIMER_KIND_CALLBACK_DUE, 0, 0},
        {"warning/1/extended/1767225600", CHARTER__V1__TIMER_KIND__TIMER_KIND_WARNING, 1, 0},
        {"review_due/3", CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_DUE, 3, 3},
        {"review_overdue/4", CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_OVERDUE, 0, 4},
        {"extension_refused/2", CHARTER__V1__TIMER_KIND__TIMER_KIND_EXTENSION_REFUSED, 0, 0},
    };
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        char id[SLA_TIMER_ID_MAX];
        snprintf(id, sizeof(id), "%s/%s", CASE, kinds[i].kind);
        assert_int_equal(sla_timer_event_rebuild(&orgs, id, NULL, 0, 1, 1, &e), SLA_EVENT_NO_STATE);
        assert_string_equal(e.ev.case_id, CASE);
        assert_int_equal(e.ev.kind, kinds[i].want);
        assert_int_equal(e.ev.tier, kinds[i].tier);
        assert_int_equal(e.ev.review, kinds[i].review);
    }
}

/* A state that no longer gives the timer (a refusal not yet saved, a policy
 * reload), or whose organisation has no policy: what the id and the state
 * give. */
static void
test_state_without_the_timer(void **state)
{
    (void)state;
    sla_timer_plan plan;
    size_t len = 0;
    char *packed = derby_case(&plan, &len);
    sla_timer_event e;
    assert_int_equal(
        sla_timer_event_rebuild(&orgs, CASE "/extension_refused/1", packed, len, 9000, 1, &e),
        SLA_EVENT_NOT_FOUND);
    assert_string_equal(e.ev.organisation, "derby-homes");
    assert_string_equal(e.ev.reference, "DH-2026-000056");
    assert_string_equal(e.ev.case_type, "enquiry");
    assert_int_equal(e.ev.channel, CHARTER__V1__CHANNEL__CHANNEL_EMAIL);
    assert_int_equal(e.ev.kind, CHARTER__V1__TIMER_KIND__TIMER_KIND_EXTENSION_REFUSED);
    assert_int_equal(e.ev.due_at->seconds, 9);
    assert_null(e.ev.target_at);
    ch_org_set none;
    memset(&none, 0, sizeof(none));
    assert_int_equal(sla_timer_event_rebuild(&none, CASE "/breach", packed, len, 9000, 1, &e),
                     SLA_EVENT_NOT_FOUND);
    assert_string_equal(e.ev.organisation, "derby-homes");
    assert_int_equal(sla_timer_event_rebuild(NULL, CASE "/breach", packed, len, 9000, 1, &e),
                     SLA_EVENT_NOT_FOUND);
    free(packed);
}

/* The plan kept per claimed batch (sla_timer_plan_cache): every timer of
 * a case in one batch rebuilds to the same bytes as without the cache; a
 * later batch reads its own state (here a new reference), and another case
 * in the same batch (no state) is not given the first case's. */
static void
test_plan_cached_per_batch(void **state)
{
    (void)state;
    sla_timer_plan plan;
    size_t len = 0;
    char *packed = derby_case(&plan, &len);
    sla_timer_plan_cache *cache = calloc(1, sizeof(*cache));
    assert_non_null(cache);
    sla_timer_event e, want;
    uint8_t a[512], b[512];
    for (int i = 0; i < plan.ntimers; i++) {
        const ch_case_timer *t = &plan.timers[i];
        assert_int_equal(sla_timer_event_rebuild(&orgs, t->id, packed, len, t->due_ms, 1, &want),
                         SLA_EVENT_FULL);
        assert_int_equal(
            sla_timer_event_rebuild_in(cache, 7, &orgs, t->id, packed, len, t->due_ms, 1, &e),
            SLA_EVENT_FULL);
        size_t na = charter__v1__timer_fired__pack(&want.ev, a);
        size_t nb = charter__v1__timer_fired__pack(&e.ev, b);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na);
    }
    snprintf(plan.state.reference, sizeof(plan.state.reference), "DH-2026-000057");
    size_t len2 = 0;
    char *packed2 = ch_case_state_pack(&plan.state, &len2);
    assert_non_null(packed2);
    assert_int_equal(sla_timer_event_rebuild_in(cache, 8, &orgs, plan.timers[0].id, packed2, len2,
                                                plan.timers[0].due_ms, 1, &e),
                     SLA_EVENT_FULL);
    assert_string_equal(e.ev.reference, "DH-2026-000057");
    const char *other = "1f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/breach";
    assert_int_equal(sla_timer_event_rebuild_in(cache, 8, &orgs, other, NULL, 0, 5, 1, &e),
                     SLA_EVENT_NO_STATE);
    assert_string_equal(e.ev.reference, "");
    assert_int_equal(sla_timer_event_rebuild_in(cache, 8, &orgs, plan.timers[1].id, packed2, len2,
                                                plan.timers[1].due_ms, 1, &e),
                     SLA_EVENT_FULL);
    assert_string_equal(e.ev.reference, "DH-2026-000057");
    free(packed2);
    free(packed);
    free(cache);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rebuild_matches_stored_event),
        cmocka_unit_test(test_due_from_the_score),
        cmocka_unit_test(test_no_state),
        cmocka_unit_test(test_state_without_the_timer),
        cmocka_unit_test(test_plan_cached_per_batch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
