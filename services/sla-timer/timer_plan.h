/*
 * What one case event does to the case's timers, decided without I/O.
 *
 * case_sync.c reads the case's state from Redis, asks sla_timer_plan_make()
 * what to change, then applies the answer to the timer store and saves the
 * new state. Keeping the decision here, apart from the Redis round trips,
 * lets the unit tests (tests/unit/test_sla_timer_plan.c) replay event
 * sequences against real policies.
 *
 * The rules:
 * - The timers a case should have are recomputed whole from its state
 *   (ch_case_timers), before and after the event.
 * - A timer that is new, or whose due time moved, is scheduled; one that is
 *   unchanged is left alone, so a timer that already fired is not set again
 *   by a later event of the case.
 * - A timer the case had and no longer should is cancelled: a review cycle's
 *   timers once a review is recorded, whatever the cycle. With no earlier
 *   state (the first event, or the state lost), every timer id the case could
 *   have had (ch_case_all_timer_ids, up to the cycle the new state knows) is
 *   cancelled unless wanted.
 * - A refused extension's timer (due when it was recorded) stays in the set
 *   with the same id and due time, so after it fires no later event sets it
 *   again.
 *
 * Pure: values in, values out.
 */
#ifndef CHARTER_SLA_TIMER_PLAN_H
#define CHARTER_SLA_TIMER_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "charter/case_clock.h"
#include "charter/v1/case_event.pb-c.h"

/* The most timers one case has at once. */
#define SLA_MAX_TIMERS 32
/* The most ids one event cancels: with no earlier state, every id the case
 * could have had (ch_case_all_timer_ids: the review cycles known first). */
#define SLA_MAX_CANCEL 64

typedef struct {
    ch_case_state state;                  /* after the event: save it once the store changed */
    int had_state;                        /* 1: an earlier state was read and used */
    int state_unreadable;                 /* a stored state was there but did not parse */
    int64_t target_ms;                    /* the response target in force, or 0 */
    ch_case_timer timers[SLA_MAX_TIMERS]; /* what the case should have now */
    int ntimers;
    int schedule[SLA_MAX_TIMERS]; /* indexes into timers: new or moved */
    int nschedule;
    char cancel[SLA_MAX_CANCEL][CH_CASE_TIMER_ID_MAX]; /* no longer wanted */
    int ncancel;
} sla_timer_plan;

/* 1 when an event of this kind can move a case's timers; 0 for the ones only
 * reporting measures (a call, communication support, satisfaction). */
int sla_event_moves_timers(const Charter__V1__CaseEvent *ev);

/*
 * Decides what ev does to its case, whose stored state is state
 * (state_len bytes; NULL when there is none) under the organisation's
 * clocks oc (NULL: its policy is gone, removed by a reload). Returns 0 and
 * fills *out; or CH_EBADMSG with *why saying why the event can never be
 * applied (no occurred_at; no policy; a deadline outside 1995-2100). A
 * stored state that does not parse is rebuilt from this event
 * (out->state_unreadable says so).
 */
int sla_timer_plan_make(const ch_org_clocks *oc, const Charter__V1__CaseEvent *ev,
                        const char *state, size_t state_len, sla_timer_plan *out, const char **why);

/*
 * The diff step of sla_timer_plan_make on its own: from the timers the case
 * had (was; had_state 0 when unknown) to the ones it should have
 * (out->timers, out->ntimers and out->state, already filled), fills
 * out->schedule and out->cancel.
 */
void sla_timer_plan_diff(const char *case_id, const ch_case_timer *was, int nwas, int had_state,
                         sla_timer_plan *out);

#endif
