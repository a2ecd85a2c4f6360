/* A case's clocks under its policy (see case_clock.h). */
#include "charter/case_clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
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

int
ch_case_apply(ch_case_state *st, const Charter__V1__CaseEvent *ev)
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
        return st->acknowledged_ms ? 0 : set_ms(&st->acknowledged_ms, at);
    case CHARTER__V1__CASE_EVENT__EVENT_PAUSED:
        if (st->paused_since_ms || has_pause_from(st, at))
            return 0;
        st->paused_since_ms = at;
        return 1;
    case CHARTER__V1__CASE_EVENT__EVENT_RESUMED:
        if (!st->paused_since_ms)
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
        return set_ms(&st->extended_to_ms, ms_of(ev->holding_reply->new_target_at));
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

static void
add(timer_list *l, Charter__V1__TimerKind kind, const char *name, uint32_t number, int64_t due,
    int role)
{
    if (l->n == l->cap)
        return;
    ch_case_timer *t = &l->out[l->n++];
    if (number)
        snprintf(t->id, sizeof(t->id), "%s/%s/%u", l->case_id, name, number);
    else
        snprintf(t->id, sizeof(t->id), "%s/%s", l->case_id, name);
    t->kind = kind;
    t->tier = kind == CHARTER__V1__TIMER_KIND__TIMER_KIND_WARNING ||
                      kind == CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_DUE
                  ? number
                  : 0;
    t->due_ms = due;
    t->role = role;
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

/* Adds the promise's warning tiers for a clock running from start to target;
 * *breach_role is the role of an `at: breach` tier, or -1. */
static int
add_warnings(timer_list *l, const ch_org_clocks *oc, const ch_policy_promise *p, int64_t start,
             int64_t target, int *breach_role)
{
    *breach_role = -1;
    int64_t at[CH_CASE_MAX_WARNINGS];
    size_t n = p->nwarnings < CH_CASE_MAX_WARNINGS ? p->nwarnings : CH_CASE_MAX_WARNINGS;
    ch_policy_promise first = *p;
    first.nwarnings = n;
    if (ch_promise_warning_times(&oc->ctx, &first, start, target, at) != 0)
        return CH_EINVAL;
    for (size_t i = 0; i < n; i++) {
        const ch_policy_warning *w = &p->warnings[i];
        if (w->at_breach) {
            *breach_role = (int)w->role;
            continue;
        }
        add(l, CHARTER__V1__TIMER_KIND__TIMER_KIND_WARNING, "warning", (uint32_t)i + 1, at[i],
            (int)w->role);
    }
    return 0;
}

int
ch_case_timers(const ch_org_clocks *oc, const char *case_id, const ch_case_state *st,
               ch_case_timer *out, size_t cap, int64_t *target_ms)
{
    *target_ms = 0;
    timer_list l = {out, cap, 0, case_id};
    if (!st->received_ms || st->closed || st->escalated)
        return 0;
    const ch_policy_promise *p = ch_policy_find_promise_for(&oc->policy, st->channel, st->case_type,
                                                            st->appointment_ms != 0);
    if (!p)
        return 0;
    int64_t ack_due = st->received_ms;
    if (p->ack == CH_POLICY_ACK_WITHIN && p->acknowledge.set &&
        clock_due(oc, &p->acknowledge, st->received_ms, st, &ack_due) != 0)
        return CH_EINVAL;
    if (!st->responded && !st->acknowledged_ms && p->ack != CH_POLICY_ACK_NONE)
        add(&l, CHARTER__V1__TIMER_KIND__TIMER_KIND_ACKNOWLEDGEMENT_DUE, "acknowledgement_due", 0,
            ack_due, -1);

    if (!st->responded && p->respond.set && !p->respond_measured_only) {
        int64_t start = st->received_ms;
        if (p->respond.clock.anchor == CH_CLOCK_FROM_ACKNOWLEDGEMENT)
            start = st->acknowledged_ms ? st->acknowledged_ms : ack_due;
        int64_t due;
        if (clock_due(oc, &p->respond, start, st, &due) != 0)
            return CH_EINVAL;
        int64_t target = st->extended_to_ms ? st->extended_to_ms : due;
        *target_ms = target;
        if (!st->paused_since_ms) { /* a paused clock does not run */
            int breach_role;
            if (add_warnings(&l, oc, p, start, target, &breach_role) != 0)
                return CH_EINVAL;
            add(&l, CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH, "breach", 0, target, breach_role);
        }
    }

    /* A visitor: waiting from arrival (a visit's receipt is the arrival when
     * no separate `arrived` event says otherwise). */
    int64_t arrived = st->arrived_ms;
    if (!arrived && strcmp(st->channel, "visit") == 0)
        arrived = st->received_ms;
    if (arrived && !st->seen && !st->responded && (p->see.set || p->see_after_appointment.set)) {
        int64_t due = 0, from = arrived;
        if (st->appointment_ms && p->see_after_appointment.set) {
            from = arrived > st->appointment_ms ? arrived : st->appointment_ms;
            if (clock_due(oc, &p->see_after_appointment, from, st, &due) != 0)
                return CH_EINVAL;
        } else if (p->see.set && clock_due(oc, &p->see, from, st, &due) != 0) {
            return CH_EINVAL;
        }
        if (due) {
            int role = ch_policy_role_find(&oc->policy, "duty_officer");
            /* the promise's warning tiers belong to the wait when there is no
             * response clock to carry them */
            if (!(p->respond.set && !p->respond_measured_only)) {
                int breach_role;
                if (add_warnings(&l, oc, p, from, due, &breach_role) != 0)
                    return CH_EINVAL;
                if (breach_role >= 0)
                    role = breach_role;
            }
            add(&l, CHARTER__V1__TIMER_KIND__TIMER_KIND_WAIT_EXCEEDED, "wait_exceeded", 0, due,
                role);
        }
    }

    if (p->review_first.set) {
        int64_t due;
        if (clock_due(oc, &p->review_first, st->received_ms, st, &due) != 0)
            return CH_EINVAL;
        for (uint32_t k = 1; k <= CH_CASE_MAX_REVIEWS; k++) {
            add(&l, CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_DUE, "review_due", k, due,
                (int)p->review_role);
            if (!p->review_every.set || clock_due(oc, &p->review_every, due, st, &due) != 0)
                break;
        }
    }

    if (st->appointment_ms && !st->arrived_ms && !st->responded)
        add(&l, CHARTER__V1__TIMER_KIND__TIMER_KIND_REMINDER, "reminder", 0,
            st->appointment_ms - 24LL * 3600 * 1000, -1);
    return (int)l.n;
}

size_t
ch_case_all_timer_ids(const char *case_id, char (*out)[CH_CASE_TIMER_ID_MAX], size_t cap)
{
    size_t n = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        if (n < cap)                                                                               \
            snprintf(out[n++], CH_CASE_TIMER_ID_MAX, __VA_ARGS__);                                 \
    } while (0)
    PUT("%s/acknowledgement_due", case_id);
    for (int i = 1; i <= CH_CASE_MAX_WARNINGS; i++)
        PUT("%s/warning/%d", case_id, i);
    PUT("%s/breach", case_id);
    PUT("%s/wait_exceeded", case_id);
    for (int i = 1; i <= CH_CASE_MAX_REVIEWS; i++)
        PUT("%s/review_due/%d", case_id, i);
    PUT("%s/reminder", case_id);
#undef PUT
    return n;
}
