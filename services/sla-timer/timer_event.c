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

/* The case's plan from its state: unpacked, the organisation's clocks
 * found, its timers recomputed. */
static void
plan_compute(sla_timer_plan_cache *c, const ch_org_set *orgs, const char *case_id,
             const char *state, size_t state_len)
{
    c->has_state = state && ch_case_state_unpack(state, state_len, &c->state) == 0;
    if (!c->has_state)
        memset(&c->state, 0, sizeof(c->state));
    c->oc = c->has_state && orgs ? ch_org_set_find(orgs, c->state.organisation) : NULL;
    c->target_ms = 0;
    c->ntimers =
        c->oc ? ch_case_timers(c->oc, case_id, &c->state, c->timers, 32, &c->target_ms) : 0;
}

sla_event_result
sla_timer_event_rebuild_in(sla_timer_plan_cache *cache, uint64_t batch, const ch_org_set *orgs,
                           const char *id, const char *state, size_t state_len, int64_t due_ms,
                           int64_t fallback_due_ms, sla_timer_event *out)
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

    sla_timer_plan_cache local, *c = cache;
    if (!c || batch == 0) {
        c = &local;
        plan_compute(c, orgs, out->case_id, state, state_len);
    } else if (c->batch != batch || strcmp(c->case_id, out->case_id) != 0) {
        plan_compute(c, orgs, out->case_id, state, state_len);
        c->batch = batch;
        snprintf(c->case_id, sizeof(c->case_id), "%s", out->case_id);
    }
    sla_event_result r = c->has_state ? SLA_EVENT_NOT_FOUND : SLA_EVENT_NO_STATE;
    out->state = c->state;
    const ch_case_state *st = &out->state;
    if (c->has_state) {
        ev->organisation = (char *)st->organisation;
        ev->reference = (char *)st->reference;
        ev->channel = ch_channel_from_name(st->channel);
        ev->case_type = (char *)st->case_type;
    }
    for (int i = 0; i < c->ntimers; i++) {
        const ch_case_timer *t = &c->timers[i];
        if (strcmp(t->id, id) != 0)
            continue;
        ev->kind = t->kind;
        ev->tier = t->tier;
        ev->review = t->review;
        ts_of(due_ms >= 0 ? due_ms : t->due_ms, &out->due_at);
        if (c->target_ms) {
            ts_of(c->target_ms, &out->target_at);
            ev->target_at = &out->target_at;
        }
        if (t->kind == CHARTER__V1__TIMER_KIND__TIMER_KIND_EXTENSION_REFUSED)
            ev->detail = (char *)st->extension_refused_reason;
        r = SLA_EVENT_FULL;
        break;
    }
    return r;
}

sla_event_result
sla_timer_event_rebuild(const ch_org_set *orgs, const char *id, const char *state, size_t state_len,
                        int64_t due_ms, int64_t fallback_due_ms, sla_timer_event *out)
{
    return sla_timer_event_rebuild_in(NULL, 0, orgs, id, state, state_len, due_ms, fallback_due_ms,
                                      out);
}
