/*
 * Due timers out: the store claims a due timer (timer_store.c) and hands it
 * here; its TimerFired gets fired_at (Redis's time at the claim) and goes to
 * sla.timers_topic keyed by its case. The store deletes it only once Kafka
 * has acknowledged the write; until then it stays leased, and fires again
 * under the same id if the write is lost: a timer reaches Kafka at least
 * once, always with the same timer_id.
 *
 * TWO FORMS (timer_keys.h, MEMBERS)
 * - A text timer comes with its stored TimerFired, which lacks timer_id and
 *   case_id (timers stored before that have them): both come from the id.
 * - A compact timer comes with its case's state, read at the claim: the
 *   event is rebuilt from it (timer_event.c). When the state does not give
 *   this timer (not saved yet: case_sync saves it only after the store has
 *   the timers, and a save that failed is retried with the event; or a
 *   policy reload, or an expired state), the state is read again REREAD_TRIES
 *   times, a little later each time and never beyond half the lease; then
 *   the timer fires with what its id and the state give, with a warning
 *   and charter_sla_timers_fired_partial_total. Never dropped.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/case_clock.h"
#include "charter/policy_store.h"
#include "charter/timeutil.h"
#include "charter/v1/timer.pb-c.h"
#include "sla.h"
#include "timer_event.h"
#include "timer_keys.h"

#define REREAD_TRIES 4
static const int64_t reread_ms[REREAD_TRIES] = {50, 250, 1000, 4000};

typedef struct {
    sla *s;
    sla_timer_fire *f;
    char *id;
} fire_ctx;

/* A compact timer waiting to read its case's state again. */
struct sla_reread {
    sla *s;
    sla_timer_fire *f;
    ch_timer *timer;
    int64_t due_ms, claimed_ms, waited_ms;
    int tries;
    int reading; /* a GET is out */
    int linked;  /* in s->rereads (not after sla_fire_stop) */
    struct sla_reread *prev, *next;
    char id[SLA_TIMER_ID_MAX];
};

static void
fired(void *opaque, int rc, int32_t partition, int64_t offset, const char *errstr)
{
    (void)partition;
    (void)offset;
    fire_ctx *fc = opaque;
    if (rc != 0)
        CH_LOG_WARN(ch_runtime_log(fc->s->rt),
                    "fired timer not written; it fires again when its lease expires",
                    CH_STR("timer_id", fc->id), CH_STR("error", errstr));
    else
        ch_metric_add(fc->s->m_fired, 1);
    sla_timer_fire_done(fc->f, rc == 0);
    free(fc->id);
    free(fc);
}

/* Stamps fired_at, counts the lateness and writes t to Kafka; the store
 * hears of the outcome through fired(). */
static void
produce(sla *s, sla_timer_fire *f, const char *id, Charter__V1__TimerFired *t, int64_t now_ms)
{
    Charter__V1__Timestamp fired_at = CHARTER__V1__TIMESTAMP__INIT;
    ch_time_split_ms(now_ms, &fired_at.seconds, &fired_at.nanos);
    t->fired_at = &fired_at;
    int64_t due_ms = t->due_at ? t->due_at->seconds * 1000 + t->due_at->nanos / 1000000 : now_ms;
    int64_t late_ms = now_ms - due_ms;
    ch_metric_set(s->m_late_ms, (double)late_ms);
    ch_metric_observe(s->m_lateness, (double)late_ms / 1000.0);
    fire_ctx *fc = malloc(sizeof(*fc));
    if (!fc || !(fc->id = strdup(id))) {
        free(fc);
        t->fired_at = NULL;
        sla_timer_fire_done(f, 0);
        return;
    }
    fc->s = s;
    fc->f = f;
    CH_LOG_INFO(ch_runtime_log(s->rt), "timer fired", CH_STR("timer_id", id),
                CH_STR("case_id", t->case_id), CH_STR("organisation", t->organisation),
                CH_INT("kind", t->kind), CH_INT("late_ms", late_ms));
    if (ch_produce(s->rt, s->cfg->topic_out, t->case_id, &t->base, fired, fc) != 0) {
        free(fc->id);
        free(fc);
        sla_timer_fire_done(f, 0);
    }
    t->fired_at = NULL;
}

/* A text timer: its stored event, with timer_id and case_id put back. */
static void
fire_stored(sla *s, sla_timer_fire *f, const sla_timer_fired *tf, int64_t now_ms)
{
    Charter__V1__TimerFired *t = charter__v1__timer_fired__unpack(NULL, tf->len, tf->payload);
    if (!t) {
        CH_LOG_ERROR(ch_runtime_log(s->rt), "stored timer does not decode; dropping it",
                     CH_STR("timer_id", tf->id));
        sla_timer_fire_done(f, 1);
        return;
    }
    char *stored_timer_id = t->timer_id, *stored_case_id = t->case_id;
    char case_id[CH_CASE_TIMER_ID_MAX];
    if (!t->timer_id[0])
        t->timer_id = (char *)tf->id;
    if (!t->case_id[0]) {
        snprintf(case_id, sizeof(case_id), "%.*s", (int)sla_timer_id_case_len(t->timer_id),
                 t->timer_id);
        t->case_id = case_id;
    }
    produce(s, f, tf->id, t, now_ms);
    t->timer_id = stored_timer_id;
    t->case_id = stored_case_id;
    charter__v1__timer_fired__free_unpacked(t, NULL);
}

static void reread_start(sla *s, sla_timer_fire *f, const char *id, int64_t due_ms,
                         int64_t claimed_ms, int tries, int64_t waited_ms);

/* A compact timer with its case's state (NULL: none) read by claimed batch
 * `batch` (0: by a reread): fires the rebuilt event (the case's plan
 * computed once per batch: s->plans), or reads the state again while tries
 * are left. */
static void
fire_rebuilt(sla *s, sla_timer_fire *f, const char *id, int64_t due_ms, const char *state,
             size_t state_len, uint64_t batch, int64_t claimed_ms, int tries, int64_t waited_ms)
{
    sla_timer_event *e = malloc(sizeof(*e));
    if (!s->plans)
        s->plans = calloc(1, sizeof(*s->plans)); /* none: each plan computed afresh */
    if (!e) {
        sla_timer_fire_done(f, 0);
        return;
    }
    sla_event_result r = sla_timer_event_rebuild_in(s->plans, batch, ch_runtime_orgs(s->rt), id,
                                                    state, state_len, due_ms, claimed_ms, e);
    if (r != SLA_EVENT_FULL && s->stopping) {
        free(e);
        sla_timer_fire_done(f, 0); /* left leased: the next owner fires it */
        return;
    }
    if (r != SLA_EVENT_FULL && tries < REREAD_TRIES &&
        waited_ms + reread_ms[tries] <= s->cfg->lease_ms / 2) {
        free(e);
        reread_start(s, f, id, due_ms, claimed_ms, tries, waited_ms);
        return;
    }
    if (r != SLA_EVENT_FULL) {
        CH_LOG_WARN(ch_runtime_log(s->rt),
                    r == SLA_EVENT_NO_STATE
                        ? "timer fired without its case's state: the event carries only what "
                          "its id gives"
                        : "timer fired, but its case's state and policy no longer give it: the "
                          "event carries what its id and the state give",
                    CH_STR("timer_id", id), CH_STR("organisation", e->ev.organisation),
                    CH_INT("rereads", tries));
        ch_metric_add(s->m_partial, 1);
    }
    produce(s, f, id, &e->ev, claimed_ms + waited_ms);
    free(e);
}

/* ---- reading a case's state again ---- */

static void
reread_unlink(struct sla_reread *rr)
{
    if (!rr->linked)
        return;
    rr->linked = 0;
    if (rr->prev)
        rr->prev->next = rr->next;
    else
        rr->s->rereads = rr->next;
    if (rr->next)
        rr->next->prev = rr->prev;
}

static void
reread_free(struct sla_reread *rr)
{
    reread_unlink(rr);
    ch_timer_free(rr->timer);
    free(rr);
}

static void
reread_answer(void *opaque, redisReply *reply)
{
    struct sla_reread *rr = opaque;
    rr->reading = 0;
    if (!rr->f) { /* stopped while the GET was out: s may be gone */
        reread_free(rr);
        return;
    }
    sla *s = rr->s;
    sla_timer_fire *f = rr->f;
    int has = reply && reply->type == REDIS_REPLY_STRING;
    char id[SLA_TIMER_ID_MAX];
    memcpy(id, rr->id, sizeof(id));
    int64_t due_ms = rr->due_ms, claimed_ms = rr->claimed_ms, waited_ms = rr->waited_ms;
    int tries = rr->tries;
    reread_free(rr);
    fire_rebuilt(s, f, id, due_ms, has ? reply->str : NULL, has ? reply->len : 0, 0, claimed_ms,
                 tries, waited_ms);
}

static void
reread_due(void *arg)
{
    struct sla_reread *rr = arg;
    char case_id[SLA_TIMER_ID_MAX], key[SLA_CASE_KEY_MAX];
    snprintf(case_id, sizeof(case_id), "%.*s", (int)sla_timer_id_case_len(rr->id), rr->id);
    sla_case_state_key(case_id, key, sizeof(key));
    if (ch_redis_command(rr->s->rt, reread_answer, rr, "GET %s", key) == 0) {
        rr->reading = 1;
        return;
    }
    reread_answer(rr, NULL); /* Redis is away: this try read nothing */
}

static void
reread_start(sla *s, sla_timer_fire *f, const char *id, int64_t due_ms, int64_t claimed_ms,
             int tries, int64_t waited_ms)
{
    struct sla_reread *rr = calloc(1, sizeof(*rr));
    if (!rr || !(rr->timer = ch_timer_new(s->rt, reread_due, rr))) {
        free(rr);
        sla_timer_fire_done(f, 0); /* left leased: fires again when the lease expires */
        return;
    }
    rr->s = s;
    rr->f = f;
    rr->due_ms = due_ms;
    rr->claimed_ms = claimed_ms;
    rr->waited_ms = waited_ms + reread_ms[tries];
    rr->tries = tries + 1;
    snprintf(rr->id, sizeof(rr->id), "%s", id);
    rr->linked = 1;
    rr->next = s->rereads;
    if (rr->next)
        rr->next->prev = rr;
    s->rereads = rr;
    ch_timer_start(rr->timer, reread_ms[tries] * 1000);
}

void
sla_fire_stop(sla *s)
{
    s->stopping = 1;
    while (s->rereads) {
        struct sla_reread *rr = s->rereads;
        reread_unlink(rr);
        sla_timer_fire_done(rr->f, 0); /* left leased: fires again when the lease expires */
        rr->f = NULL;
        ch_timer_stop(rr->timer);
        if (!rr->reading)
            reread_free(rr); /* else freed by reread_answer */
    }
}

void
sla_fire(void *opaque, sla_timer_fire *f, int32_t partition, const sla_timer_fired *t,
         int64_t now_ms)
{
    (void)partition;
    sla *s = opaque;
    if (!t->compact)
        fire_stored(s, f, t, now_ms);
    else
        fire_rebuilt(s, f, t->id, t->due_ms, t->state, t->state_len, t->batch, now_ms, 0, 0);
}
