/*
 * A case's clocks under its policy (see case_clock.h). Applying an event
 * may need the policy too: a holding reply is judged here, once, against
 * the target in force when it arrives (charter/extension.h), and only its
 * verdict is kept, so sla-timer and reporting, which both apply events
 * through here, agree on every case's target without judging it again.
 */
#include "charter/case_clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/extension.h"
#include "charter/names.h"
#include "charter/org_set.h"

static int64_t
ms_of(const Charter__V1__Timestamp *ts)
{
    return ts ? ts->seconds * 1000 + ts->nanos / 1000000 : 0;
}

/* ---- applying events ---- */

static int
set_ms(int64_t *field, int64_t v)
{
    if (*field == v)
        return 0;
    *field = v;
    return 1;
}

static int
set_flag(int *field)
{
    if (*field)
        return 0;
    *field = 1;
    return 1;
}

static int
has_pause_from(const ch_case_state *st, int64_t from)
{
    for (size_t i = 0; i < st->npauses; i++)
        if (st->pauses[i].from_ms == from)
            return 1;
    return 0;
}

static int
clock_due(const ch_org_clocks *oc, const ch_policy_clock *pc, int64_t start,
          const ch_case_state *st, int64_t *due)
{
    ch_clock c = pc->clock;
    if (oc->policy.roll_calendar_days && (c.kind == CH_CLOCK_DAYS || c.kind == CH_CLOCK_MONTHS))
        c.roll_forward = 1;
    return ch_deadline_due(&oc->ctx, &c, start, st->pauses, st->npauses, due);
}

/* The promise the case is judged under. */
static const ch_policy_promise *
promise_of(const ch_org_clocks *oc, const ch_case_state *st)
{
    return ch_policy_find_promise_for(&oc->policy, st->channel, st->case_type,
                                      st->appointment_ms != 0);
}

/* The acknowledgement deadline (receipt when automatic), and the response
 * clock's start and own due instant (no extension); *due is 0 when the
 * promise has no response clock. */
static int
response_clock(const ch_org_clocks *oc, const ch_policy_promise *p, const ch_case_state *st,
               int64_t *ack_due, int64_t *start, int64_t *due)
{
    *ack_due = st->received_ms;
    *start = st->received_ms;
    *due = 0;
    if (p->ack == CH_POLICY_ACK_WITHIN && p->acknowledge.set &&
        clock_due(oc, &p->acknowledge, st->received_ms, st, ack_due) != 0)
        return CH_EINVAL;
    if (!p->respond.set || p->respond_measured_only)
        return 0;
    if (p->respond.clock.anchor == CH_CLOCK_FROM_ACKNOWLEDGEMENT)
        *start = st->acknowledged_ms ? st->acknowledged_ms : *ack_due;
    return clock_due(oc, &p->respond, *start, st, due);
}

/* The review cycle under way: its number, and its due instant (0 when no
 * further review is due: none promised, lifted, or no then_every). *from is
 * when the cycle started. */
static int
review_cycle(const ch_org_clocks *oc, const ch_policy_promise *p, const ch_case_state *st,
             uint32_t *cycle, int64_t *from, int64_t *due)
{
    *cycle = st->reviews + 1;
    *due = 0;
    *from = st->reviews ? st->reviewed_ms : st->received_ms;
    if (!p->review_first.set || st->review_lifted || !st->received_ms)
        return 0;
    const ch_policy_clock *c = st->reviews ? &p->review_every : &p->review_first;
    if (!c->set)
        return 0;
    return clock_due(oc, c, *from, st, due);
}

static int
refuse(ch_case_state *st, int64_t at, int64_t asked, const char *why)
{
    st->extensions_refused++;
    st->extension_refused_at_ms = at;
    st->extension_refused_target_ms = asked;
    memset(st->extension_refused_reason, 0, sizeof(st->extension_refused_reason));
    snprintf(st->extension_refused_reason, sizeof(st->extension_refused_reason), "%s", why);
    return 1;
}

static int
apply_holding_reply(const ch_org_clocks *oc, ch_case_state *st, const Charter__V1__HoldingReply *h,
                    int64_t at)
{
    int64_t asked = ms_of(h->new_target_at);
    if (!st->received_ms)
        return 0;
    if (asked && asked == st->extended_to_ms)
        return 0; /* this target is already in force */
    if (st->extensions_refused && st->extension_refused_at_ms == at &&
        st->extension_refused_target_ms == asked)
        return 0; /* this one was already refused */
    if ((st->extended_to_ms && at < st->extended_at_ms) ||
        (st->extensions_refused && at < st->extension_refused_at_ms))
        return 0; /* older than the latest applied: a redelivery */
    if (!oc)
        return refuse(st, at, asked, "the organisation has no policy to judge the extension by");
    const ch_policy_promise *p = promise_of(oc, st);
    if (!p)
        return refuse(st, at, asked, "no promise covers this case, so it has no target to move");
    int64_t ack_due, start, due;
    if (response_clock(oc, p, st, &ack_due, &start, &due) != 0)
        return refuse(st, at, asked, "the case's target cannot be computed");
    ch_extension_request r = {
        .recorded_ms = at,
        .new_target_ms = asked,
        .includes =
            ch_extension_includes(h->reason, h->next_steps, h->apology, h->named_contact, asked),
    };
    r.basis_unknown = ch_extension_basis_parse(h->statutory_basis, &r.basis) != 0;
    ch_extension_clock c = {
        .start_ms = start,
        .original_due_ms = due,
        .target_ms = st->extended_to_ms ? st->extended_to_ms : due,
        .pauses = st->pauses,
        .npauses = st->npauses,
    };
    char why[CH_CASE_REASON_MAX];
    if (ch_extension_check(&oc->ctx, p, &c, &r, NULL, why, sizeof(why)) != CH_EXTENSION_ALLOWED)
        return refuse(st, at, asked, why);
    st->extended_to_ms = asked;
    st->extended_at_ms = at;
    return 1;
}

static int
apply_reviewed(const ch_org_clocks *oc, ch_case_state *st, const Charter__V1__Reviewed *rv,
               int64_t at)
{
    if (st->review_lifted || (st->reviews && at <= st->reviewed_ms))
        return 0; /* already recorded, or older than the latest */
    const ch_policy_promise *p = oc && st->received_ms ? promise_of(oc, st) : NULL;
    uint32_t cycle;
    int64_t from, due = 0;
    if (p && review_cycle(oc, p, st, &cycle, &from, &due) != 0)
        due = 0;
    st->reviews++;
    if (due && at > due)
        st->reviews_late++;
    st->reviewed_ms = at;
    st->review_last_due_ms = due;
    if (rv->outcome == CHARTER__V1__REVIEWED__OUTCOME__OUTCOME_LIFTED)
        st->review_lifted = 1;
    return 1;
}

/* The latest promise wins; a call-back made counts from the promise it
 * follows (see case_clock.h). */
static int
apply_callback(ch_case_state *st, const Charter__V1__Callback *c, int64_t at)
{
    if (c->status == CHARTER__V1__CALLBACK__STATUS__STATUS_PROMISED) {
        int64_t agreed = ms_of(c->agreed_at);
        if (at < st->callback_promised_ms ||
            (at == st->callback_promised_ms && agreed == st->callback_at_ms))
            return 0;
        st->callback_promised_ms = at;
        st->callback_at_ms = agreed;
        if (st->callback_made_ms && st->callback_made_ms < at)
            st->callback_made_ms = 0; /* that call-back answered an earlier promise */
        return 1;
    }
    if (c->status == CHARTER__V1__CALLBACK__STATUS__STATUS_MADE) {
        if (at < st->callback_promised_ms || (st->callback_made_ms && st->callback_made_ms <= at))
            return 0;
        st->callback_made_ms = at;
        return 1;
    }
    return 0;
}

int
ch_case_apply(const ch_org_clocks *oc, ch_case_state *st, const Charter__V1__CaseEvent *ev)
{
    if (!ev->occurred_at)
        return CH_EINVAL;
    int64_t at = ms_of(ev->occurred_at);
    switch (ev->event_case) {
    case CHARTER__V1__CASE_EVENT__EVENT_RECEIVED: {
        const Charter__V1__Received *r = ev->received;
        int changed = st->received_ms != at;
        st->received_ms = at;
        snprintf(st->organisation, sizeof(st->organisation), "%s", ev->organisation);
        snprintf(st->channel, sizeof(st->channel), "%s", ch_channel_name(r->channel));
        snprintf(st->case_type, sizeof(st->case_type), "%s",
                 r->case_type[0] ? r->case_type : "enquiry");
        snprintf(st->reference, sizeof(st->reference), "%s", r->reference);
        return changed;
    }
    case CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED:
        /* the first acknowledgement recorded, by its own time */
        return st->acknowledged_ms && st->acknowledged_ms <= at ? 0
                                                                : set_ms(&st->acknowledged_ms, at);
    case CHARTER__V1__CASE_EVENT__EVENT_PAUSED:
        /* replayed: this pause is in force or recorded, or it is older than
         * a clock restarted since (case_clock.h, replays) */
        if (st->paused_since_ms || has_pause_from(st, at) || at < st->received_ms)
            return 0;
        st->paused_since_ms = at;
        return 1;
    case CHARTER__V1__CASE_EVENT__EVENT_RESUMED:
        /* replayed: nothing is paused, or the pause in force began after it
         * (a resume cannot end a later pause: it ended an earlier one) */
        if (!st->paused_since_ms || at < st->paused_since_ms)
            return 0;
        if (ev->resumed->restart_clock) {
            /* e.g. an FOI clarification: the clock starts again from it */
            st->received_ms = at;
            st->npauses = 0;
        } else if (st->npauses < CH_CASE_MAX_PAUSES && at >= st->paused_since_ms) {
            st->pauses[st->npauses].from_ms = st->paused_since_ms;
            st->pauses[st->npauses].to_ms = at;
            st->npauses++;
        }
        st->paused_since_ms = 0;
        return 1;
    case CHARTER__V1__CASE_EVENT__EVENT_HOLDING_REPLY:
        return apply_holding_reply(oc, st, ev->holding_reply, at);
    case CHARTER__V1__CASE_EVENT__EVENT_REVIEWED:
        return apply_reviewed(oc, st, ev->reviewed, at);
    case CHARTER__V1__CASE_EVENT__EVENT_CALLBACK:
        return apply_callback(st, ev->callback, at);
    case CHARTER__V1__CASE_EVENT__EVENT_RESPONDED:
        return set_flag(&st->responded);
    case CHARTER__V1__CASE_EVENT__EVENT_CLOSED:
        return set_flag(&st->closed);
    case CHARTER__V1__CASE_EVENT__EVENT_ESCALATED:
        return set_flag(&st->escalated);
    case CHARTER__V1__CASE_EVENT__EVENT_APPOINTMENT: {
        const Charter__V1__Appointment *a = ev->appointment;
        if (a->status == CHARTER__V1__APPOINTMENT__STATUS__STATUS_BOOKED ||
            a->status == CHARTER__V1__APPOINTMENT__STATUS__STATUS_REBOOKED)
            return set_ms(&st->appointment_ms, ms_of(a->starts_at));
        return set_ms(&st->appointment_ms, 0); /* cancelled, kept or missed */
    }
    case CHARTER__V1__CASE_EVENT__EVENT_VISIT: {
        const Charter__V1__Visit *v = ev->visit;
        if (v->status == CHARTER__V1__VISIT__STATUS__STATUS_ARRIVED) {
            int changed = st->arrived_ms ? 0 : set_ms(&st->arrived_ms, at);
            if (v->appointment_at)
                changed |= set_ms(&st->appointment_ms, ms_of(v->appointment_at));
            return changed;
        }
        if (v->status == CHARTER__V1__VISIT__STATUS__STATUS_SEEN ||
            v->status == CHARTER__V1__VISIT__STATUS__STATUS_LEFT_UNSEEN)
            return set_flag(&st->seen);
        return 0;
    }
    default:
        return 0;
    }
}

/* ---- computing timers ---- */

typedef struct {
    ch_case_timer *out;
    size_t cap, n;
    const char *case_id;
} timer_list;

/* Adds a timer whose id is "<case>/" and the rest as printf'd; NULL when
 * the list is full. */
static ch_case_timer *add(timer_list *l, Charter__V1__TimerKind kind, int64_t due, int role,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static ch_case_timer *
add(timer_list *l, Charter__V1__TimerKind kind, int64_t due, int role, const char *fmt, ...)
{
    if (l->n == l->cap)
        return NULL;
    ch_case_timer *t = &l->out[l->n++];
    memset(t, 0, sizeof(*t));
    int n = snprintf(t->id, sizeof(t->id), "%s/", l->case_id);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(t->id))
        vsnprintf(t->id + n, sizeof(t->id) - (size_t)n, fmt, ap);
    va_end(ap);
    t->kind = kind;
    t->due_ms = due;
    t->role = role;
    return t;
}

int
ch_promise_warning_times(const ch_deadline_ctx *ctx, const ch_policy_promise *p, int64_t start_ms,
                         int64_t target_ms, int64_t *at)
{
    for (size_t i = 0; i < p->nwarnings; i++) {
        const ch_policy_warning *w = &p->warnings[i];
        at[i] = target_ms;
        if (w->at_breach)
            continue;
        int64_t raw;
        if (ch_warning_at(ctx, &w->rule, start_ms, target_ms, &raw) != 0 ||
            ch_warning_in_hours(ctx, raw, start_ms, target_ms, &at[i]) != 0)
            return CH_EINVAL;
    }
    for (size_t i = p->nwarnings; i-- > 1;)
        if (at[i - 1] > at[i])
            at[i - 1] = at[i];
    return 0;
}

/* The promise's warning tiers for a clock running from start to target, at
 * most CH_CASE_MAX_WARNINGS, into at[] (ch_promise_warning_times). */
static int
warning_times(const ch_org_clocks *oc, const ch_policy_promise *p, int64_t start, int64_t target,
              int64_t *at, size_t *n)
{
    *n = p->nwarnings < CH_CASE_MAX_WARNINGS ? p->nwarnings : CH_CASE_MAX_WARNINGS;
    ch_policy_promise first = *p;
    first.nwarnings = *n;
    return ch_promise_warning_times(&oc->ctx, &first, start, target, at) != 0 ? CH_EINVAL : 0;
}

/* Adds the promise's warning tiers for a clock running from start to target;
 * *breach_role is the role of an `at: breach` tier, or -1. extended_to_ms:
 * the accepted extension's target the clock runs to, or 0; its warnings get
 * ids of their own ("warning/<tier>/extended/<target, s>"), so staff already
 * warned before the original target are warned again before the new one
 * (notification sends one alert per timer id). */
static int
add_warnings(timer_list *l, const ch_org_clocks *oc, const ch_policy_promise *p, int64_t start,
             int64_t target, int64_t extended_to_ms, int *breach_role)
{
    *breach_role = -1;
    int64_t at[CH_CASE_MAX_WARNINGS];
    size_t n;
    if (warning_times(oc, p, start, target, at, &n) != 0)
        return CH_EINVAL;
    for (size_t i = 0; i < n; i++) {
        const ch_policy_warning *w = &p->warnings[i];
        if (w->at_breach) {
            *breach_role = (int)w->role;
            continue;
        }
        ch_case_timer *t = extended_to_ms ? add(l, CHARTER__V1__TIMER_KIND__TIMER_KIND_WARNING,
                                                at[i], (int)w->role, "warning/%zu/extended/%lld",
                                                i + 1, (long long)(extended_to_ms / 1000))
                                          : add(l, CHARTER__V1__TIMER_KIND__TIMER_KIND_WARNING,
                                                at[i], (int)w->role, "warning/%zu", i + 1);
        if (t)
            t->tier = (uint32_t)i + 1;
    }
    return 0;
}

/* The review cycle under way: its warning tiers (when the promise has no
 * response clock, the warnings are the review's, as the loader reads them),
 * its due date to review.to and its `at: breach` tier as the overdue alert. */
static int
add_review(timer_list *l, const ch_org_clocks *oc, const ch_policy_promise *p,
           const ch_case_state *st)
{
    uint32_t cycle;
    int64_t from, due;
    if (review_cycle(oc, p, st, &cycle, &from, &due) != 0)
        return CH_EINVAL;
    if (!due)
        return 0;
    ch_case_timer *t;
    if (!p->respond.set) {
        int64_t at[CH_CASE_MAX_WARNINGS];
        size_t n;
        if (warning_times(oc, p, from, due, at, &n) != 0)
            return CH_EINVAL;
        for (size_t i = 0; i < n; i++) {
            const ch_policy_warning *w = &p->warnings[i];
            if (w->at_breach)
                t = add(l, CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_OVERDUE, due, (int)w->role,
                        "review_overdue/%u", cycle);
            else
                t = add(l, CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_WARNING, at[i], (int)w->role,
                        "review_warning_%zu/%u", i + 1, cycle);
            if (t) {
                t->tier = (uint32_t)i + 1;
                t->review = cycle;
            }
        }
    }
    t = add(l, CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_DUE, due, (int)p->review_role,
            "review_due/%u", cycle);
    if (t)
        t->tier = t->review = cycle;
    return 0;
}

int
ch_case_timers(const ch_org_clocks *oc, const char *case_id, const ch_case_state *st,
               ch_case_timer *out, size_t cap, int64_t *target_ms)
{
    *target_ms = 0;
    timer_list l = {out, cap, 0, case_id};
    if (!st->received_ms)
        return 0;
    /* A refused extension's alert fires once, whatever happens next. */
    if (st->extensions_refused)
        add(&l, CHARTER__V1__TIMER_KIND__TIMER_KIND_EXTENSION_REFUSED, st->extension_refused_at_ms,
            ch_policy_role_find(&oc->policy, "owner"), "extension_refused/%u",
            st->extensions_refused);
    if (st->closed || st->escalated)
        return (int)l.n;
    const ch_policy_promise *p = promise_of(oc, st);
    if (!p)
        return (int)l.n;
    int64_t ack_due, start, due;
    if (response_clock(oc, p, st, &ack_due, &start, &due) != 0)
        return CH_EINVAL;
    if (!st->responded && !st->acknowledged_ms && p->ack != CH_POLICY_ACK_NONE)
        add(&l, CHARTER__V1__TIMER_KIND__TIMER_KIND_ACKNOWLEDGEMENT_DUE,
            p->ack == CH_POLICY_ACK_AUTOMATIC ? ack_due + CH_CASE_AUTO_ACK_GRACE_MS : ack_due, -1,
            "acknowledgement_due");

    if (!st->responded && due) {
        int64_t target = st->extended_to_ms ? st->extended_to_ms : due;
        *target_ms = target;
        if (!st->paused_since_ms) { /* a paused clock does not run */
            int breach_role;
            if (add_warnings(&l, oc, p, start, target, st->extended_to_ms, &breach_role) != 0)
                return CH_EINVAL;
            add(&l, CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH, target, breach_role, "breach");
        }
    }

    /* A visitor: waiting from arrival (a visit's receipt is the arrival when
     * no separate `arrived` event says otherwise). */
    int64_t arrived = st->arrived_ms;
    if (!arrived && strcmp(st->channel, "visit") == 0)
        arrived = st->received_ms;
    if (arrived && !st->seen && !st->responded && (p->see.set || p->see_after_appointment.set)) {
        int64_t wait_due = 0, from = arrived;
        if (st->appointment_ms && p->see_after_appointment.set) {
            from = arrived > st->appointment_ms ? arrived : st->appointment_ms;
            if (clock_due(oc, &p->see_after_appointment, from, st, &wait_due) != 0)
                return CH_EINVAL;
        } else if (p->see.set && clock_due(oc, &p->see, from, st, &wait_due) != 0) {
            return CH_EINVAL;
        }
        if (wait_due) {
            int role = ch_policy_role_find(&oc->policy, "duty_officer");
            /* the promise's warning tiers belong to the wait when there is no
             * response clock or review to carry them */
            if (!p->respond.set && !p->review_first.set) {
                int breach_role;
                if (add_warnings(&l, oc, p, from, wait_due, 0, &breach_role) != 0)
                    return CH_EINVAL;
                if (breach_role >= 0)
                    role = breach_role;
            }
            add(&l, CHARTER__V1__TIMER_KIND__TIMER_KIND_WAIT_EXCEEDED, wait_due, role,
                "wait_exceeded");
        }
    }

    if (p->review_first.set && add_review(&l, oc, p, st) != 0)
        return CH_EINVAL;

    /* A call-back at an agreed time: due then, unless recorded made. */
    if (p->callback == CH_POLICY_CALLBACK_AT_AGREED_TIME && st->callback_at_ms &&
        !st->callback_made_ms)
        add(&l, CHARTER__V1__TIMER_KIND__TIMER_KIND_CALLBACK_DUE, st->callback_at_ms,
            ch_policy_role_find(&oc->policy, "owner"), "callback_due");

    if (st->appointment_ms && !st->arrived_ms && !st->responded)
        add(&l, CHARTER__V1__TIMER_KIND__TIMER_KIND_REMINDER,
            st->appointment_ms - 24LL * 3600 * 1000, -1, "reminder");
    return (int)l.n;
}

size_t
ch_case_all_timer_ids(const char *case_id, const ch_case_state *st,
                      char (*out)[CH_CASE_TIMER_ID_MAX], size_t cap)
{
    size_t n = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        if (n < cap)                                                                               \
            snprintf(out[n++], CH_CASE_TIMER_ID_MAX, __VA_ARGS__);                                 \
    } while (0)
    PUT("%s/acknowledgement_due", case_id);
    for (int i = 1; i <= CH_CASE_MAX_WARNINGS; i++) {
        PUT("%s/warning/%d", case_id, i);
        if (st && st->extended_to_ms)
            PUT("%s/warning/%d/extended/%lld", case_id, i, (long long)(st->extended_to_ms / 1000));
    }
    PUT("%s/breach", case_id);
    PUT("%s/wait_exceeded", case_id);
    PUT("%s/reminder", case_id);
    PUT("%s/callback_due", case_id);
    for (uint32_t c = st ? st->reviews + 1 : 1; c >= 1; c--) {
        PUT("%s/review_due/%u", case_id, c);
        PUT("%s/review_overdue/%u", case_id, c);
        for (int i = 1; i <= CH_CASE_MAX_WARNINGS; i++)
            PUT("%s/review_warning_%d/%u", case_id, i, c);
    }
    for (uint32_t k = st ? st->extensions_refused : 0; k >= 1; k--)
        PUT("%s/extension_refused/%u", case_id, k);
#undef PUT
    return n;
}
