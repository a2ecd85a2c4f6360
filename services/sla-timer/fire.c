/*
 * Due timers out: the store claims a due timer (timer_store.c) and hands its
 * stored TimerFired here; it gets fired_at (Redis's time at the claim) and
 * goes to sla.timers_topic keyed by its case. The store deletes it only once
 * Kafka has acknowledged the write; until then it stays leased, and fires
 * again under the same id if the write is lost: a timer reaches Kafka at
 * least once, always with the same timer_id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/case_clock.h"
#include "charter/timeutil.h"
#include "charter/v1/timer.pb-c.h"
#include "sla.h"
#include "timer_keys.h"

typedef struct {
    sla *s;
    sla_timer_fire *f;
    char *id;
} fire_ctx;

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

/* Writes t to Kafka; the store hears of the outcome through fired(). */
static void
produce(sla *s, sla_timer_fire *f, const char *id, Charter__V1__TimerFired *t, int64_t late_ms)
{
    fire_ctx *fc = malloc(sizeof(*fc));
    if (!fc || !(fc->id = strdup(id))) {
        free(fc);
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
}

/* The stored event lacks timer_id and case_id (timers stored before that
 * have them): both come from the timer's id. */
void
sla_fire(void *opaque, sla_timer_fire *f, int32_t partition, const char *id, const uint8_t *payload,
         size_t len, int64_t now_ms)
{
    (void)partition;
    sla *s = opaque;
    Charter__V1__TimerFired *t = charter__v1__timer_fired__unpack(NULL, len, payload);
    if (!t) {
        CH_LOG_ERROR(ch_runtime_log(s->rt), "stored timer does not decode; dropping it",
                     CH_STR("timer_id", id));
        sla_timer_fire_done(f, 1);
        return;
    }
    char *stored_timer_id = t->timer_id, *stored_case_id = t->case_id;
    char case_id[CH_CASE_TIMER_ID_MAX];
    if (!t->timer_id[0])
        t->timer_id = (char *)id;
    if (!t->case_id[0]) {
        snprintf(case_id, sizeof(case_id), "%.*s", (int)sla_timer_id_case_len(t->timer_id),
                 t->timer_id);
        t->case_id = case_id;
    }
    Charter__V1__Timestamp fired_at = CHARTER__V1__TIMESTAMP__INIT;
    ch_time_split_ms(now_ms, &fired_at.seconds, &fired_at.nanos);
    t->fired_at = &fired_at;
    int64_t due_ms = t->due_at ? t->due_at->seconds * 1000 + t->due_at->nanos / 1000000 : now_ms;
    ch_metric_set(s->m_late_ms, (double)(now_ms - due_ms));
    ch_metric_observe(s->m_lateness, (double)(now_ms - due_ms) / 1000.0);
    produce(s, f, id, t, now_ms - due_ms);
    t->fired_at = NULL;
    t->timer_id = stored_timer_id;
    t->case_id = stored_case_id;
    charter__v1__timer_fired__free_unpacked(t, NULL);
}
