/*
 * Case events in, timers in step: for each event, read the case's small
 * state from Redis, decide the change (timer_plan.c), replace the case's
 * timers in the store and only then save the new state. Every step is
 * idempotent, so a redelivered or replayed event gives the same timers with
 * the same ids; a timer already past due fires at once carrying its
 * original due time.
 *
 * ONE EVENT OF A CASE AT A TIME, IN ORDER
 * Applying an event reads the case's state, changes the store and writes the
 * state back, over several Redis round trips. Two events of one case in
 * flight together (a backlog, a replay) would both read the old state and
 * the last write would lose the other's change: a closed case could keep its
 * timers. And the events do not commute: a "resumed" applied before its
 * "paused" leaves the clock paused for ever. So the descriptor asks the
 * runtime for per-case lanes (order_by_key, key_lanes.c): a case's events
 * are handed over one at a time in partition order, and one that fails
 * (a Redis error, NOSCRIPT, OOM, -LOADING) stays at the head of its lane,
 * retried with backoff, while the case's later events wait behind it.
 *
 * A REVOKED PARTITION IS LEFT ALONE
 * When the partition is revoked, the runtime drops the case events still
 * waiting in lanes; the one being applied stops before its next Redis step
 * (ch_msg_revoked) and is released uncommitted. The new owner applies both
 * from the committed offset, and this instance does not race it on the
 * case's state and timers.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/names.h"
#include "charter/policy_store.h"
#include "charter/timeutil.h"
#include "charter/v1/case_event.pb-c.h"
#include "charter/v1/timer.pb-c.h"
#include "sla.h"
#include "timer_keys.h"
#include "timer_plan.h"

#define STATE_TTL_OPEN_S (3 * 366 * 86400) /* a case left open still expires */
#define STATE_TTL_CLOSED_S (30 * 86400)    /* kept a while for late events */
#define CASE_ID_MAX 64

typedef struct {
    sla *s;
    ch_msg *m;
    const Charter__V1__CaseEvent *ev; /* borrowed from m */
    char *
        state; /* packed (JSON under sla.timer_format = text); saved once the timers are in place */
    size_t state_len;
    int st_closed;
    int pending, failed;
} event_job;

static void
job_free(event_job *j)
{
    free(j->state);
    free(j);
}

/* ---- one event's steps ---- */

static void state_loaded(void *opaque, redisReply *reply);

/* Reads the case's state; the rest follows from state_loaded. */
static int
job_start(event_job *j)
{
    char key[SLA_CASE_KEY_MAX];
    sla_case_state_key(j->ev->case_id, key, sizeof(key));
    return ch_redis_command(j->s->rt, state_loaded, j, "GET %s", key);
}

/* The event is finished (rc as for ch_msg_done). A retried one (CH_EAGAIN)
 * stays at the head of its case's lane, so the case's next event waits. */
static void
job_end(event_job *j, int rc, const char *reason)
{
    ch_msg_done(j->m, rc, reason);
    job_free(j);
}

/* 1 (and j ended) when j's partition was revoked: the new owner applies it. */
static int
job_revoked(event_job *j)
{
    if (!ch_msg_revoked(j->m))
        return 0;
    job_end(j, CH_EAGAIN, "partition revoked");
    return 1;
}

/* Ends j for a retry when Redis did not answer, or answered an error: 1
 * then, 0 when reply is an answer. */
static int
redis_failed(event_job *j, const redisReply *reply)
{
    if (reply && reply->type != REDIS_REPLY_ERROR)
        return 0;
    char why[160];
    snprintf(why, sizeof(why), "redis: %.120s",
             reply ? reply->str : "no answer (connection lost or closing)");
    job_end(j, CH_EAGAIN, why);
    return 1;
}

static void
state_saved(void *opaque, redisReply *reply)
{
    event_job *j = opaque;
    if (!redis_failed(j, reply))
        job_end(j, 0, NULL);
}

/* The timers are in place: only now is the new state saved. A crash before
 * this leaves the old state, so a redelivery computes the same change again;
 * a crash after it leaves nothing to redo. */
static void
save_state(event_job *j)
{
    char key[SLA_CASE_KEY_MAX];
    sla_case_state_key(j->ev->case_id, key, sizeof(key));
    if (ch_redis_command(j->s->rt, state_saved, j, "SET %s %b EX %d", key, j->state, j->state_len,
                         j->st_closed ? STATE_TTL_CLOSED_S : STATE_TTL_OPEN_S) != 0) {
        job_end(j, CH_EAGAIN, "redis unavailable");
    }
}

static void
store_changed(void *opaque, int rc)
{
    event_job *j = opaque;
    if (rc != 0)
        j->failed = 1;
    if (--j->pending > 0)
        return;
    if (j->failed) {
        job_end(j, CH_EAGAIN, "redis unavailable");
        return;
    }
    if (!job_revoked(j))
        save_state(j);
}

static void
ts_of(int64_t ms, Charter__V1__Timestamp *ts)
{
    charter__v1__timestamp__init(ts);
    ch_time_split_ms(ms, &ts->seconds, &ts->nanos);
}

/* The TimerFired the store keeps for timer t of case state st when it
 * keeps t in text form (malloc'd, *len bytes), or NULL on ENOMEM; a compact
 * timer's event is rebuilt by timer_event.c with the same fields. A refused extension carries its
 * reason as the detail; review kinds their cycle. timer_id and case_id are left out: fire.c
 * rebuilds them from the timer's id, which the store keeps anyway (a third
 * less memory). */
static uint8_t *
pack_timer(const ch_case_state *st, const ch_case_timer *t, int64_t target_ms, size_t *len)
{
    Charter__V1__TimerFired f = CHARTER__V1__TIMER_FIRED__INIT;
    Charter__V1__Timestamp due_ts, target_ts;
    ts_of(t->due_ms, &due_ts);
    ts_of(target_ms, &target_ts);
    f.organisation = (char *)st->organisation;
    f.kind = t->kind;
    f.due_at = &due_ts;
    f.tier = t->tier;
    f.reference = (char *)st->reference;
    f.target_at = target_ms ? &target_ts : NULL;
    f.channel = ch_channel_from_name(st->channel);
    f.case_type = (char *)st->case_type;
    f.review = t->review;
    if (t->kind == CHARTER__V1__TIMER_KIND__TIMER_KIND_EXTENSION_REFUSED)
        f.detail = (char *)st->extension_refused_reason;
    *len = charter__v1__timer_fired__get_packed_size(&f);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (buf)
        charter__v1__timer_fired__pack(&f, buf);
    return buf;
}

/* Applies the plan to the store (schedule and cancel go out together), then
 * saves the state once both have answered. */
static void
apply_plan(event_job *j, const sla_timer_plan *plan)
{
    sla *s = j->s;
    int32_t partition = ch_msg_partition(j->m);
    sla_timer_spec specs[SLA_MAX_TIMERS];
    uint8_t *bufs[SLA_MAX_TIMERS] = {0};
    int nspecs = 0, ok = 1;
    for (; nspecs < plan->nschedule; nspecs++) {
        const ch_case_timer *t = &plan->timers[plan->schedule[nspecs]];
        size_t len = 0;
        /* A compact timer stores no event: fire.c rebuilds it from the state. */
        if (!sla_timer_store_packs(s->store, t->id) &&
            !(bufs[nspecs] = pack_timer(&plan->state, t, plan->target_ms, &len))) {
            ok = 0;
            break;
        }
        specs[nspecs] = (sla_timer_spec){t->id, t->due_ms, bufs[nspecs], len};
    }
    const char *gone[SLA_MAX_CANCEL];
    for (int i = 0; i < plan->ncancel; i++)
        gone[i] = plan->cancel[i];
    /* Packed (case_clock.h); JSON under sla.timer_format = text, the form an
     * older release reads (both forms are read here). */
    if (ok && s->state_json) {
        j->state = ch_case_state_to_json(&plan->state);
        j->state_len = j->state ? strlen(j->state) : 0;
    } else if (ok)
        j->state = ch_case_state_pack(&plan->state, &j->state_len);
    j->st_closed = plan->state.closed;
    if (!j->state) {
        for (int i = 0; i < nspecs; i++)
            free(bufs[i]);
        job_end(j, CH_EAGAIN, "out of memory");
        return;
    }
    j->pending = 1; /* held until every step is sent */
    if (nspecs > 0) {
        j->pending++;
        if (sla_timer_store_schedule(s->store, partition, specs, (size_t)nspecs, store_changed,
                                     j) != 0)
            store_changed(j, CH_EAGAIN);
        else
            ch_metric_add(s->m_scheduled, nspecs);
    }
    if (plan->ncancel > 0) {
        j->pending++;
        if (sla_timer_store_cancel(s->store, partition, gone, (size_t)plan->ncancel, store_changed,
                                   j) != 0)
            store_changed(j, CH_EAGAIN);
    }
    for (int i = 0; i < nspecs; i++)
        free(bufs[i]);
    store_changed(j, 0);
}

static void
state_loaded(void *opaque, redisReply *reply)
{
    event_job *j = opaque;
    if (redis_failed(j, reply) || job_revoked(j))
        return;
    /* Looked up now, not when the message arrived: a reload may have
     * replaced the policies meanwhile. */
    const ch_org_clocks *oc = ch_org_set_find(ch_runtime_orgs(j->s->rt), j->ev->organisation);
    int stored = reply->type == REDIS_REPLY_STRING;
    sla_timer_plan plan; /* about 12 KB: the timers before and after, by value */
    const char *why = NULL;
    int rc = sla_timer_plan_make(oc, j->ev, stored ? reply->str : NULL, stored ? reply->len : 0,
                                 &plan, &why);
    if (plan.state_unreadable)
        CH_LOG_WARN(ch_runtime_log(j->s->rt), "case state unreadable; rebuilding from this event",
                    CH_STR("case_id", j->ev->case_id));
    if (rc != 0)
        job_end(j, rc, why);
    else
        apply_plan(j, &plan);
}

/* ---- the descriptor's on_message ---- */

void
sla_case_event(void *svc, ch_msg *m, const ProtobufCMessage *msg)
{
    sla *s = svc;
    const Charter__V1__CaseEvent *ev = (const Charter__V1__CaseEvent *)msg;
    ch_metric_add(s->m_events, 1);
    if (!ev->case_id[0] || !ev->occurred_at || strlen(ev->case_id) > CASE_ID_MAX) {
        ch_msg_done(m, CH_EBADMSG,
                    "case event without a case_id (at most 64 characters) or "
                    "occurred_at");
        return;
    }
    if (!sla_event_moves_timers(ev)) {
        ch_msg_done(m, 0, NULL); /* measured by reporting; no timer moves */
        return;
    }
    if (!ch_org_set_find(ch_runtime_orgs(s->rt), ev->organisation)) {
        char why[200];
        snprintf(why, sizeof(why), "no policy for organisation '%.64s' in sla.policy_dir",
                 ev->organisation);
        ch_msg_done(m, CH_EBADMSG, why);
        return;
    }
    event_job *j = malloc(sizeof(*j));
    if (!j) {
        ch_msg_done(m, CH_EAGAIN, "out of memory");
        return;
    }
    *j = (event_job){.s = s, .m = m, .ev = ev};
    if (!job_revoked(j) && job_start(j) != 0)
        job_end(j, CH_EAGAIN, "redis unavailable");
}
