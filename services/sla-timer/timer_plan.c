/* The change one case event makes to its timers (see timer_plan.h). */
#include "timer_plan.h"

#include <string.h>

#include "charter/errors.h"

int
sla_event_moves_timers(const Charter__V1__CaseEvent *ev)
{
    switch (ev->event_case) {
    case CHARTER__V1__CASE_EVENT__EVENT_CALL:
    case CHARTER__V1__CASE_EVENT__EVENT_COMMUNICATION_SUPPORT:
    case CHARTER__V1__CASE_EVENT__EVENT_SATISFACTION:
    case CHARTER__V1__CASE_EVENT__EVENT_CUSTOMER_MESSAGE: /* recorded; moves no clock */
        return 0;
    default:
        return 1;
    }
}

static const ch_case_timer *
find_timer(const ch_case_timer *set, int n, const char *id)
{
    for (int i = 0; i < n; i++)
        if (strcmp(set[i].id, id) == 0)
            return &set[i];
    return NULL;
}

static void
add_cancel(sla_timer_plan *out, const char *id)
{
    if (out->ncancel < SLA_MAX_CANCEL)
        memcpy(out->cancel[out->ncancel++], id, CH_CASE_TIMER_ID_MAX);
}

void
sla_timer_plan_diff(const char *case_id, const ch_case_timer *was, int nwas, int had_state,
                    sla_timer_plan *out)
{
    out->nschedule = out->ncancel = 0;
    for (int i = 0; i < out->ntimers; i++) {
        const ch_case_timer *old = find_timer(was, nwas, out->timers[i].id);
        if (!old || old->due_ms != out->timers[i].due_ms)
            out->schedule[out->nschedule++] = i;
    }
    if (had_state) {
        for (int i = 0; i < nwas; i++)
            if (!find_timer(out->timers, out->ntimers, was[i].id))
                add_cancel(out, was[i].id);
        return;
    }
    char all[SLA_MAX_CANCEL][CH_CASE_TIMER_ID_MAX];
    size_t nall = ch_case_all_timer_ids(case_id, &out->state, all, SLA_MAX_CANCEL);
    for (size_t a = 0; a < nall; a++)
        if (!find_timer(out->timers, out->ntimers, all[a]))
            add_cancel(out, all[a]);
}

int
sla_timer_plan_make(const ch_org_clocks *oc, const Charter__V1__CaseEvent *ev, const char *state,
                    size_t state_len, sla_timer_plan *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    if (state) {
        if (ch_case_state_unpack(state, state_len, &out->state) == 0)
            out->had_state = 1;
        else
            out->state_unreadable = 1; /* and out->state is empty again */
    }
    ch_case_state before = out->state;
    if (ch_case_apply(oc, &out->state, ev) < 0) {
        *why = "case event without occurred_at";
        return CH_EBADMSG;
    }
    if (!oc) {
        *why = "the organisation's policy was removed by a reload";
        return CH_EBADMSG;
    }
    ch_case_timer was[SLA_MAX_TIMERS];
    int64_t was_target = 0;
    int nwas = out->had_state
                   ? ch_case_timers(oc, ev->case_id, &before, was, SLA_MAX_TIMERS, &was_target)
                   : 0;
    out->ntimers =
        ch_case_timers(oc, ev->case_id, &out->state, out->timers, SLA_MAX_TIMERS, &out->target_ms);
    if (out->ntimers < 0 || nwas < 0) {
        *why = "a deadline of this case falls outside 1995-2100";
        return CH_EBADMSG;
    }
    sla_timer_plan_diff(ev->case_id, was, nwas, out->had_state, out);
    return 0;
}
