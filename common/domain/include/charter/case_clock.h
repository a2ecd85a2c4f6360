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
#define CH_CASE_MAX_WARNINGS 8
#define CH_CASE_REASON_MAX 320

/* `acknowledge: automatic`: the acknowledgement is sent on receipt, and
 * counts as in time within this grace. The acknowledgement_due timer waits
 * it out, so it fires only when no acknowledgement was recorded, and
 * reporting judges the acknowledgement against that timer's instant. */
#define CH_CASE_AUTO_ACK_GRACE_MS (3600LL * 1000)

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
    int64_t extended_to_ms; /* a valid holding reply's new target (charter/extension.h) */
    int64_t arrived_ms;     /* visitor arrived */
    int64_t appointment_ms; /* the appointment's time (booked, not cancelled) */
    int responded, closed, seen, escalated;

    /* Holding replies that did not move the target (charter/extension.h):
     * how many, and the latest one's occurred_at, the target it asked for
     * (0: none) and why it was refused, in plain English. extended_to_ms
     * only ever holds a valid extension's target. */
    uint32_t extensions_refused;
    int64_t extended_at_ms; /* when the extension in force was recorded */
    int64_t extension_refused_at_ms;
    int64_t extension_refused_target_ms;
    char extension_refused_reason[CH_CASE_REASON_MAX];

    /* Reviews (a promise's review:): `reviewed` events recorded, how many
     * of them after the due date of the review they answered, the latest
     * one's time and that due date. A kept review starts the next cycle
     * from its own time; review_lifted (the restriction lifted) ends them.
     * The cycle under way is reviews + 1. */
    uint32_t reviews, reviews_late;
    int64_t reviewed_ms;
    int64_t review_last_due_ms;
    int review_lifted;

    /* A call-back promised on the phone (a `callback` event): the latest
     * promise's time, the time agreed with the customer (0: none agreed) and
     * the earliest call-back made at or after that promise (0: not yet). A
     * case has one call-back at a time: a later promise replaces the
     * earlier one (the customer rearranged it, or asked again after a
     * call-back), and a call-back made before it no longer counts. */
    int64_t callback_promised_ms;
    int64_t callback_at_ms;
    int64_t callback_made_ms;
} ch_case_state;

/*
 * Applies one event to the state under the organisation's clocks oc (NULL:
 * no policy; then a holding reply is refused, as nothing can judge it).
 * Idempotent: applying the same event twice leaves the state as applying it
 * once. Returns 1 if the state changed, 0 if not, or CH_EINVAL for an event
 * the state cannot take (e.g. a `received` with no occurred_at).
 *
 * A holding reply moves the target only when ch_extension_check allows it,
 * judged against the target in force when it is applied; otherwise it is
 * counted in extensions_refused with its reason. Holding replies apply in
 * the order they were recorded: one recorded before the latest one applied
 * (accepted or refused) is a redelivery and changes nothing, as is one for a
 * case not yet received. A `reviewed` event older than the latest
 * review is ignored, as is a `callback` promise older than the latest one
 * and a call-back made before it.
 *
 * Replays: after a crash or a rebalance the events since the last committed
 * offset are applied again to a state that already holds them, in order.
 * Pauses are replay-safe: a `paused` already in force or recorded, or older
 * than the clock's (re)start, and a `resumed` older than the pause in force
 * (it ended an earlier pause) change nothing, so replaying paused, resumed,
 * paused never unpauses the clock, even for a moment. (A `resumed` at the
 * very millisecond the pause in force began is taken as ending it.)
 */
int ch_case_apply(const ch_org_clocks *oc, ch_case_state *st, const Charter__V1__CaseEvent *ev);

typedef struct {
    char id[160]; /* "<case>/<kind>[/<n>]" */
    Charter__V1__TimerKind kind;
    uint32_t tier;   /* warning tier, 1-based (also of review warnings); review_due: the cycle */
    uint32_t review; /* review kinds: the review cycle, 1-based; else 0 */
    int64_t due_ms;
    int role; /* index into the policy's roles, or -1 (the customer; or no such role) */
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
 *
 * Ids ("<case>/<kind>[/<n>]"):
 *   acknowledgement_due       the acknowledgement deadline (automatic: receipt
 *                             + CH_CASE_AUTO_ACK_GRACE_MS); gone once any
 *                             acknowledgement is recorded
 *   warning/<tier>, breach    the response target in force; while an
 *                             accepted extension is in force its warnings are
 *                             warning/<tier>/extended/<new target, epoch s>,
 *                             new ids so staff warned before the original
 *                             target are warned again before the new one (the
 *                             breach keeps its id: an extension is accepted
 *                             only before the target in force, so no breach
 *                             has fired)
 *   wait_exceeded, reminder   visits and appointments
 *   review_warning_<tier>/<cycle>, review_due/<cycle>, review_overdue/<cycle>
 *                             the review cycle under way only: its warning
 *                             tiers, its due date (to review.to) and the
 *                             `at: breach` tier (to that tier's role)
 *   callback_due              a call-back promised at an agreed time under a
 *                             promise with `callback: at_agreed_time`, due at
 *                             that time (kind CALLBACK_DUE, to the owner);
 *                             gone once the call-back is recorded made
 *   extension_refused/<n>     the n-th refused holding reply, due when it was
 *                             recorded (so it fires at once); kept while the
 *                             state lives, even once the case is closed, so a
 *                             later event never sets it again
 */
int ch_case_timers(const ch_org_clocks *oc, const char *case_id, const ch_case_state *st,
                   ch_case_timer *out, size_t cap, int64_t *target_ms);

/*
 * Every timer id a case in state st can have had (so the ones no longer
 * wanted can be cancelled when the earlier state is unknown): the fixed ids,
 * the review timers of every cycle up to st's and the refused extensions up
 * to st's count (st NULL: cycle 1, none refused). Writes at most cap ids
 * into out (each CH_CASE_TIMER_ID_MAX bytes), the latest cycles first when
 * they do not all fit, and returns the count.
 */
#define CH_CASE_TIMER_ID_MAX 160
size_t ch_case_all_timer_ids(const char *case_id, const ch_case_state *st,
                             char (*out)[CH_CASE_TIMER_ID_MAX], size_t cap);

/* State <-> compact JSON text (case_state_json.c): how sla-timer stored it
 * before issue 16, still read by ch_case_state_unpack, and what `charterctl
 * timers --state` prints. to_json returns a malloc'd string (NULL on
 * ENOMEM); from_json returns 0 or CH_EINVAL. */
char *ch_case_state_to_json(const ch_case_state *st);
int ch_case_state_from_json(const char *text, size_t len, ch_case_state *st);

/* State <-> the form sla-timer stores in Redis (case_state_pb.c): the
 * internal protobuf message CaseClockState (proto/charter/v1/case_state.proto).
 * pack returns malloc'd bytes, *len of them with a NUL after (NULL on
 * ENOMEM). unpack reads either form: packed, or the JSON stored before
 * (text that starts with '{'); 0 bytes is a state with every field zero.
 * Returns 0, CH_EINVAL (with *st zeroed) or CH_ENOMEM. */
char *ch_case_state_pack(const ch_case_state *st, size_t *len);
int ch_case_state_unpack(const char *data, size_t len, ch_case_state *st);

#endif
