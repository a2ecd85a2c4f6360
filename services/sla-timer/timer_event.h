/*
 * The TimerFired of a compact timer, rebuilt when it fires (issue 16).
 *
 * A timer stored in compact form (timer_keys.h, MEMBERS) has no stored
 * event: the store keeps only its id and due time. When it fires, fire.c
 * reads the case's state (the store's claim reads it with one MGET per
 * batch), and this recomputes the case's timers from that state and the
 * organisation's policy (ch_case_timers, the very function that scheduled
 * them) and builds the event of the timer whose id matches: the same fields
 * case_sync.c stored before (organisation, reference, channel, case type,
 * kind, tier, review, target, detail), with due_at the due time the store
 * had.
 *
 * The state can disagree with the store: a timer is claimed before
 * case_sync has saved the state that made it (the save goes out on the same
 * Redis connection before the claim's MGET, unless it failed and the event
 * is retried), or a policy reload changed what the case should have, or the state
 * expired. Then the id is not among the recomputed timers, and the result
 * says so (SLA_EVENT_NO_STATE, SLA_EVENT_NOT_FOUND) with the event filled
 * from what the id and the state still give: timer and case ids, kind, tier
 * and review from the id, due_at, and the organisation, reference, channel
 * and case type when the state has them. fire.c retries the read a few
 * times, then sends that (never drops a timer).
 *
 * Pure: values in, values out (tests/unit/test_sla_timer_event.c).
 */
#ifndef CHARTER_SLA_TIMER_EVENT_H
#define CHARTER_SLA_TIMER_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "charter/case_clock.h"
#include "charter/org_set.h"
#include "charter/v1/timer.pb-c.h"
#include "timer_keys.h"

typedef enum {
    SLA_EVENT_FULL = 0,  /* the id is one of the case's timers: every field */
    SLA_EVENT_NO_STATE,  /* no state (none stored, or it does not parse) */
    SLA_EVENT_NOT_FOUND, /* a state, but its timers lack the id (or no policy) */
} sla_event_result;

/* The event and everything its pointers point into; ev is ready to send. */
typedef struct {
    Charter__V1__TimerFired ev;
    Charter__V1__Timestamp due_at, target_at;
    char timer_id[SLA_TIMER_ID_MAX];
    char case_id[SLA_TIMER_ID_MAX];
    ch_case_state state;
} sla_timer_event;

/*
 * Rebuilds timer `id`'s event into *out from the case's state (state,
 * packed or the JSON stored before: ch_case_state_unpack;
 * state_len bytes; NULL when there is none) under the policies in orgs
 * (the state's organisation's clocks are looked up there; none found gives
 * SLA_EVENT_NOT_FOUND). due_ms is the due time the store had, or -1 when unknown (a
 * timer claimed again after its lease): then the recomputed timer's, else
 * fallback_due_ms. fired_at is left unset.
 */
sla_event_result sla_timer_event_rebuild(const ch_org_set *orgs, const char *id, const char *state,
                                         size_t state_len, int64_t due_ms, int64_t fallback_due_ms,
                                         sla_timer_event *out);

/*
 * One case's unpacked state and recomputed timers, kept for the next timer
 * of the same case in the same claimed batch. A batch's timers come from
 * one MGET answer handed over in one loop turn (timer_store.h,
 * sla_timer_fired.batch), so within it a case's state and the policies are
 * the same for every timer; a case's timers due together (a burst) lie
 * side by side in the batch. The plan is computed once per case per batch
 * instead of once per timer (the largest item of a fired timer's time).
 * Zero it before first use (calloc); about 8 KB: keep it on the heap.
 */
typedef struct {
    uint64_t batch; /* the batch it was computed in; 0: none */
    char case_id[SLA_TIMER_ID_MAX];
    int has_state; /* the state unpacked */
    const ch_org_clocks *oc;
    int ntimers; /* ch_case_timers' answer (< 0: a clock failed) */
    int64_t target_ms;
    ch_case_state state;
    ch_case_timer timers[32];
} sla_timer_plan_cache;

/*
 * sla_timer_event_rebuild for a timer of claimed batch `batch`
 * (sla_timer_fired.batch): the same event, the plan reused from *cache when
 * it holds this case's plan of this batch, else computed and kept there.
 * batch 0 (a state read outside a claim: fire.c's reread) or cache NULL
 * computes it afresh and leaves the cache alone.
 */
sla_event_result sla_timer_event_rebuild_in(sla_timer_plan_cache *cache, uint64_t batch,
                                            const ch_org_set *orgs, const char *id,
                                            const char *state, size_t state_len, int64_t due_ms,
                                            int64_t fallback_due_ms, sla_timer_event *out);

#endif
