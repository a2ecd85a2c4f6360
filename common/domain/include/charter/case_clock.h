/*
 * A case's clocks under its organisation's policy: which timers it should
 * have right now, and when each falls due.
 *
 * sla-timer keeps a small state per case (received, acknowledged, paused,
 * extended, ...). Every event is first applied to that state
 * (ch_case_apply), then the whole set of timers the case should have is
 * recomputed from it (ch_case_timers). Because the answer depends only on
 * the state, and the state only on the events' own times (event time), a
 * redelivered or replayed event gives the same timers with the same ids, and
 * the store can simply replace the case's timers with the new set.
 *
 * Pure: values in, values out.
 */
#ifndef CHARTER_CASE_CLOCK_H
#define CHARTER_CASE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "charter/deadline.h"
#include "charter/policy.h"
#include "charter/v1/case_event.pb-c.h"
#include "charter/v1/timer.pb-c.h"

#define CH_CASE_MAX_PAUSES 16
#define CH_CASE_MAX_REVIEWS 5
#define CH_CASE_MAX_WARNINGS 8

/* One organisation's policy, zone and calendars: charter/org_set.h, which
 * loads them. Everything here only reads one. */
typedef struct ch_org_clocks ch_org_clocks;

/* What sla-timer remembers about a case. Times are ms since the epoch;
 * 0 means "not yet". */
typedef struct {
    char organisation[64];
    char channel[24];
    char case_type[32];
    char reference[32];
    int64_t received_ms;
    int64_t acknowledged_ms;
    int64_t paused_since_ms;
    ch_pause pauses[CH_CASE_MAX_PAUSES];
    size_t npauses;
    int64_t extended_to_ms; /* holding reply / extension: the new target */
    int64_t arrived_ms;     /* visitor arrived */
    int64_t appointment_ms; /* the appointment's time (booked, not cancelled) */
    int responded, closed, seen, escalated;
} ch_case_state;

/*
 * Applies one event to the state. Idempotent: applying the same event twice
 * leaves the state as applying it once. Returns 1 if the state changed, 0
 * if not, or CH_EINVAL for an event the state cannot take (e.g. a `received`
 * with no occurred_at).
 */
int ch_case_apply(ch_case_state *st, const Charter__V1__CaseEvent *ev);

typedef struct {
    char id[160]; /* "<case>/<kind>[/<n>]" */
    Charter__V1__TimerKind kind;
    uint32_t tier; /* warning tier, 1-based; review number; else 0 */
    int64_t due_ms;
    int role; /* index into the policy's roles, or -1 (the customer) */
} ch_case_timer;

/*
 * When each of promise p's warning tiers fires for a clock running from
 * start_ms to target_ms, written to at[i] for tier i (p->nwarnings entries,
 * the policy's order). A tier's own rule (ch_warning_at) gives an instant
 * that is moved into opening hours (ch_warning_in_hours); then, from the
 * last tier back, a tier that would fire after a later one is brought
 * forward to fire with it, so tiers fire in the policy's order and none later
 * than its rule says. `at: breach` tiers get target_ms. Shared by sla-timer
 * (ch_case_timers) and `charterctl deadline`. Returns 0 or CH_EINVAL.
 */
int ch_promise_warning_times(const ch_deadline_ctx *ctx, const ch_policy_promise *p,
                             int64_t start_ms, int64_t target_ms, int64_t *at);

/*
 * The timers the case should have now, at most cap, written to out.
 * *target_ms is the response target in force (0 if none). Returns the count
 * (0 when the case is done or no promise applies), or CH_EINVAL when a clock
 * cannot be computed (a date outside 1995-2100).
 */
int ch_case_timers(const ch_org_clocks *oc, const char *case_id, const ch_case_state *st,
                   ch_case_timer *out, size_t cap, int64_t *target_ms);

/*
 * Every timer id a case can ever have (so the ones no longer wanted can be
 * cancelled). Writes at most cap ids into out (each CH_CASE_TIMER_ID_MAX bytes)
 * and returns the count.
 */
#define CH_CASE_TIMER_ID_MAX 160
size_t ch_case_all_timer_ids(const char *case_id, char (*out)[CH_CASE_TIMER_ID_MAX], size_t cap);

/* State <-> compact JSON text (stored in Redis; case_state_json.c). to_json
 * returns a malloc'd string (NULL on ENOMEM); from_json returns 0 or
 * CH_EINVAL. */
char *ch_case_state_to_json(const ch_case_state *st);
int ch_case_state_from_json(const char *text, size_t len, ch_case_state *st);

#endif
