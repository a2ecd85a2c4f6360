/* A compact timer's TimerFired, rebuilt from its case's state (see
 * timer_event.h). */
#include "timer_event.h"

#include <stdio.h>
#include <string.h>

#include "charter/names.h"
#include "charter/timeutil.h"

/* Kind, tier and review from the id's text after "<case>/" (what the id
 * alone says; ch_case_timers' naming, case_clock.h). */
static void
kind_of(const char *k, Charter__V1__TimerFired *ev)
{
    unsigned a = 0, b = 0;
    char tail;
    if (strcmp(k, "acknowledgement_due") == 0)
        ev->kind = CHARTER__V1__TIMER_KIND__TIMER_KIND_ACKNOWLEDGEMENT_DUE;
    else if (strcmp(k, "breach") == 0)
        ev->kind = CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH;
    else if (strcmp(k, "wait_exceeded") == 0)
        ev->kind = CHARTER__V1__TIMER_KIND__TIMER_KIND_WAIT_EXCEEDED;
    else if (strcmp(k, "reminder") == 0)
        ev->kind = CHARTER__V1__TIMER_KIND__TIMER_KIND_REMINDER;
    else if (strcmp(k, "callback_due") == 0)
        ev->kind = CHARTER__V1__TIMER_KIND__TIMER_KIND_CALLBACK_DUE;
    else if (sscanf(k, "warning/%u%c", &a, &tail) >= 1) {
        ev->kind = CHARTER__V1__TIMER_KIND__TIMER_KIND_WARNING;
        ev->tier = a;
    } else if (sscanf(k, "review_due/%u", &a) == 1) {
        ev->kind = CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_DUE;
        ev->tier = ev->review = a;
    } else if (sscanf(k, "review_overdue/%u", &a) == 1) {
        ev->kind = CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_OVERDUE;
        ev->review = a;
    } else if (sscanf(k, "review_warning_%u/%u", &a, &b) == 2) {
        ev->kind = CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_WARNING;
        ev->tier = a;
        ev->review = b;
    } else if (strncmp(k, "extension_refused/", 18) == 0)
        ev->kind = CHARTER__V1__TIMER_KIND__TIMER_KIND_EXTENSION_REFUSED;
}

static void
ts_of(int64_t ms, Charter__V1__Timestamp *ts)
{
    charter__v1__timestamp__init(ts);
    ch_time_split_ms(ms, &ts->seconds, &ts->nanos);
}

sla_event_result
sla_timer_event_rebuild(const ch_org_set *orgs, const char *id, const char *state, size_t state_len,
                        int64_t due_ms, int64_t fallback_due_ms, sla_timer_event *out)
{
    memset(out, 0, sizeof(*out));
    Charter__V1__TimerFired *ev = &out->ev;
    charter__v1__timer_fired__init(ev);
    snprintf(out->timer_id, sizeof(out->timer_id), "%s", id);
    size_t clen = sla_timer_id_case_len(id);
    snprintf(out->case_id, sizeof(out->case_id), "%.*s", (int)clen, id);
    ev->timer_id = out->timer_id;
    ev->case_id = out->case_id;
    if (id[clen] == '/')
        kind_of(id + clen + 1, ev);
    ts_of(due_ms >= 0 ? due_ms : fallback_due_ms, &out->due_at);
    ev->due_at = &out->due_at;

    if (!state || ch_case_state_unpack(state, state_len, &out->state) != 0) {
        memset(&out->state, 0, sizeof(out->state));
        return SLA_EVENT_NO_STATE;
    }
    const ch_case_state *st = &out->state;
    ev->organisation = (char *)st->organisation;
    ev->reference = (char *)st->reference;
    ev->channel = ch_channel_from_name(st->channel);
    ev->case_type = (char *)st->case_type;
    const ch_org_clocks *oc = orgs ? ch_org_set_find(orgs, st->organisation) : NULL;
    if (!oc)
        return SLA_EVENT_NOT_FOUND;

    ch_case_timer timers[32];
    int64_t target_ms = 0;
    int n = ch_case_timers(oc, out->case_id, st, timers, 32, &target_ms);
    for (int i = 0; i < n; i++) {
        const ch_case_timer *t = &timers[i];
        if (strcmp(t->id, id) != 0)
            continue;
        ev->kind = t->kind;
        ev->tier = t->tier;
        ev->review = t->review;
        ts_of(due_ms >= 0 ? due_ms : t->due_ms, &out->due_at);
        if (target_ms) {
            ts_of(target_ms, &out->target_at);
            ev->target_at = &out->target_at;
        }
        if (t->kind == CHARTER__V1__TIMER_KIND__TIMER_KIND_EXTENSION_REFUSED)
            ev->detail = (char *)st->extension_refused_reason;
        return SLA_EVENT_FULL;
    }
    return SLA_EVENT_NOT_FOUND;
}
