/*
 * charter-sla-timer: keeps each case's timers in Redis and fires them to
 * charter.sla.timers.v1 when they fall due.
 *
 * Timers live in the timer store (timer_store.h explains its design). This
 * file decides which timers a case has: deadlines are computed from event
 * time (the case's received_at), so a replay schedules the same due
 * instants, and a timer already past due fires at once carrying its original
 * due time. Fired events carry a stable timer id ("<case>/<kind>") so
 * consumers drop repeats.
 *
 * This is the walking skeleton's fixed rule (acknowledge within
 * sla.ack_after_s, respond within sla.respond_after_s); the policy-driven
 * deadline engine replaces it.
 */
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/runtime.h"
#include "charter/timeutil.h"
#include "charter/v1/case_event.pb-c.h"
#include "charter/v1/timer.pb-c.h"
#include "timer_store.h"

typedef struct {
    char *topic_in;
    char *topic_out;
    int64_t ack_after_s;
    int64_t respond_after_s;
    int64_t lease_ms;
} sla_config;

static const ch_config_entry sla_keys[] = {
    {"sla.contacts_topic", CH_CFG_STRING, "charter.contact.events.v1",
     offsetof(sla_config, topic_in), "topic of case events to keep timers for", 0, 0, NULL},
    {"sla.timers_topic", CH_CFG_STRING, "charter.sla.timers.v1", offsetof(sla_config, topic_out),
     "topic fired timers are written to", 0, 0, NULL},
    {"sla.ack_after_s", CH_CFG_INT, "86400", offsetof(sla_config, ack_after_s),
     "seconds after receipt at which the acknowledgement falls due (fixed rule until policies)", 0,
     315360000, NULL},
    {"sla.respond_after_s", CH_CFG_INT, "432000", offsetof(sla_config, respond_after_s),
     "seconds after receipt at which the response falls due (fixed rule until policies)", 0,
     315360000, NULL},
    {"sla.lease_ms", CH_CFG_INT, "30000", offsetof(sla_config, lease_ms),
     "how long a claimed timer may wait for Kafka before it is fired again", 1000, 3600000, NULL},
};

typedef struct {
    ch_runtime *rt;
    const sla_config *cfg;
    ch_timer_store *store;
    ch_metric *m_scheduled, *m_fired, *m_cancelled, *m_late_ms;
} sla;

typedef struct {
    sla *s;
    ch_timer_fire *f;
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
    ch_timer_fire_done(fc->f, rc == 0);
    free(fc->id);
    free(fc);
}

/* A claimed timer: stamp fired_at and write it to Kafka; the store deletes
 * it once Kafka has it. */
static void
fire(void *opaque, ch_timer_fire *f, int32_t partition, const char *id, const uint8_t *payload,
     size_t len, int64_t now_ms)
{
    (void)partition;
    sla *s = opaque;
    Charter__V1__TimerFired *t = charter__v1__timer_fired__unpack(NULL, len, payload);
    if (!t) {
        CH_LOG_ERROR(ch_runtime_log(s->rt), "stored timer does not decode; dropping it",
                     CH_STR("timer_id", id));
        ch_timer_fire_done(f, 1);
        return;
    }
    Charter__V1__Timestamp fired_at = CHARTER__V1__TIMESTAMP__INIT;
    ch_time_split_ms(now_ms, &fired_at.seconds, &fired_at.nanos);
    t->fired_at = &fired_at;
    int64_t due_ms = t->due_at ? t->due_at->seconds * 1000 + t->due_at->nanos / 1000000 : now_ms;
    ch_metric_set(s->m_late_ms, (double)(now_ms - due_ms));
    fire_ctx *fc = malloc(sizeof(*fc));
    if (fc && (fc->id = strdup(id))) {
        fc->s = s;
        fc->f = f;
        CH_LOG_INFO(ch_runtime_log(s->rt), "timer fired", CH_STR("timer_id", id),
                    CH_STR("case_id", t->case_id), CH_STR("organisation", t->organisation),
                    CH_INT("kind", t->kind), CH_INT("late_ms", now_ms - due_ms));
        if (ch_produce(s->rt, s->cfg->topic_out, t->case_id, &t->base, fired, fc) != 0) {
            free(fc->id);
            free(fc);
            ch_timer_fire_done(f, 0);
        }
    } else {
        free(fc);
        ch_timer_fire_done(f, 0);
    }
    t->fired_at = NULL;
    charter__v1__timer_fired__free_unpacked(t, NULL);
}

/* ---- case events ---- */

static void
changed(void *opaque, int rc)
{
    ch_msg_done(opaque, rc, rc ? "redis unavailable" : NULL);
}

static int
pack_timer(Charter__V1__TimerFired *t, char **buf, size_t *len)
{
    *len = charter__v1__timer_fired__get_packed_size(t);
    *buf = malloc(*len ? *len : 1);
    if (!*buf)
        return CH_ENOMEM;
    charter__v1__timer_fired__pack(t, (uint8_t *)*buf);
    return 0;
}

static void
schedule_received(sla *s, ch_msg *m, const Charter__V1__CaseEvent *ev)
{
    int64_t received_ms = ev->occurred_at->seconds * 1000 + ev->occurred_at->nanos / 1000000;
    int64_t ack_ms = received_ms + s->cfg->ack_after_s * 1000;
    int64_t respond_ms = received_ms + s->cfg->respond_after_s * 1000;
    Charter__V1__Timestamp ack_ts = CHARTER__V1__TIMESTAMP__INIT,
                           resp_ts = CHARTER__V1__TIMESTAMP__INIT;
    ch_time_split_ms(ack_ms, &ack_ts.seconds, &ack_ts.nanos);
    ch_time_split_ms(respond_ms, &resp_ts.seconds, &resp_ts.nanos);

    char ack_id[128], resp_id[128];
    snprintf(ack_id, sizeof(ack_id), "%s/acknowledgement_due", ev->case_id);
    snprintf(resp_id, sizeof(resp_id), "%s/breach", ev->case_id);

    Charter__V1__TimerFired t = CHARTER__V1__TIMER_FIRED__INIT;
    t.case_id = ev->case_id;
    t.organisation = ev->organisation;
    t.reference = ev->received->reference;
    t.channel = ev->received->channel;
    t.case_type = ev->received->case_type;
    t.target_at = &resp_ts;

    char *ack_buf = NULL, *resp_buf = NULL;
    size_t ack_len = 0, resp_len = 0;
    t.timer_id = ack_id;
    t.kind = CHARTER__V1__TIMER_KIND__TIMER_KIND_ACKNOWLEDGEMENT_DUE;
    t.due_at = &ack_ts;
    int rc = pack_timer(&t, &ack_buf, &ack_len);
    t.timer_id = resp_id;
    t.kind = CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH;
    t.due_at = &resp_ts;
    if (rc == 0)
        rc = pack_timer(&t, &resp_buf, &resp_len);
    ch_timer_spec specs[2] = {
        {ack_id, ack_ms, (const uint8_t *)ack_buf, ack_len},
        {resp_id, respond_ms, (const uint8_t *)resp_buf, resp_len},
    };
    if (rc == 0)
        rc = ch_timer_store_schedule(s->store, ch_msg_partition(m), specs, 2, changed, m);
    free(ack_buf);
    free(resp_buf);
    if (rc != 0) {
        ch_msg_done(m, CH_EAGAIN, "could not schedule the case's timers");
        return;
    }
    ch_metric_add(s->m_scheduled, 2);
}

static void
cancel_timers(sla *s, ch_msg *m, const Charter__V1__CaseEvent *ev, int all)
{
    char ack_id[128], resp_id[128];
    snprintf(ack_id, sizeof(ack_id), "%s/acknowledgement_due", ev->case_id);
    snprintf(resp_id, sizeof(resp_id), "%s/breach", ev->case_id);
    const char *ids[] = {ack_id, resp_id};
    if (ch_timer_store_cancel(s->store, ch_msg_partition(m), ids, all ? 2 : 1, changed, m) != 0) {
        ch_msg_done(m, CH_EAGAIN, "redis unavailable");
        return;
    }
    ch_metric_add(s->m_cancelled, all ? 2 : 1);
    CH_LOG_INFO(ch_runtime_log(s->rt), "timers cancelled", CH_STR("case_id", ev->case_id),
                CH_STR("which", all ? "all" : "acknowledgement_due"));
}

static void
sla_on_message(void *svc, ch_msg *m, const ProtobufCMessage *msg)
{
    sla *s = svc;
    const Charter__V1__CaseEvent *ev = (const Charter__V1__CaseEvent *)msg;
    if (!ev->case_id[0] || !ev->occurred_at) {
        ch_msg_done(m, CH_EBADMSG, "case event without case_id or occurred_at");
        return;
    }
    switch (ev->event_case) {
    case CHARTER__V1__CASE_EVENT__EVENT_RECEIVED:
        schedule_received(s, m, ev);
        return;
    case CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED:
        cancel_timers(s, m, ev, 0);
        return;
    case CHARTER__V1__CASE_EVENT__EVENT_RESPONDED:
    case CHARTER__V1__CASE_EVENT__EVENT_CLOSED:
        cancel_timers(s, m, ev, 1);
        return;
    default:
        ch_msg_done(m, 0, NULL); /* no timer moves for it yet */
    }
}

static void
sla_on_assign(void *svc, const char *topic, int32_t partition)
{
    sla *s = svc;
    if (strcmp(topic, s->cfg->topic_in) == 0)
        ch_timer_store_own(s->store, partition);
}

static void
sla_on_revoke(void *svc, const char *topic, int32_t partition)
{
    sla *s = svc;
    if (strcmp(topic, s->cfg->topic_in) == 0)
        ch_timer_store_disown(s->store, partition);
}

static void
sla_on_redis_ready(void *svc)
{
    sla *s = svc;
    ch_timer_store_redis_ready(s->store);
}

static void
sla_stop(void *svc)
{
    sla *s = svc;
    ch_timer_store_stop(s->store);
}

static const ch_subscription subs[1] = {
    {"charter.contact.events.v1", &charter__v1__case_event__descriptor}};

static int
sla_init(ch_runtime *rt, const void *config, void **svc, char *errstr, size_t errstr_size)
{
    sla *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    s->rt = rt;
    s->cfg = config;
    if (strcmp(s->cfg->topic_in, subs[0].topic) != 0) {
        snprintf(errstr, errstr_size, "sla.contacts_topic other than %s is not supported yet",
                 subs[0].topic);
        free(s);
        return CH_EINVAL;
    }
    s->store = ch_timer_store_new(rt, "charter", s->cfg->lease_ms, fire, s);
    if (!s->store) {
        snprintf(errstr, errstr_size, "out of memory");
        free(s);
        return CH_ENOMEM;
    }
    s->m_scheduled = ch_metric_counter(rt, "charter_sla_timers_scheduled_total", "timers set");
    s->m_fired = ch_metric_counter(rt, "charter_sla_timers_fired_total",
                                   "timers fired and acknowledged by Kafka");
    s->m_cancelled =
        ch_metric_counter(rt, "charter_sla_timers_cancelled_total", "timers cancelled");
    s->m_late_ms = ch_metric_gauge(rt, "charter_sla_last_fire_lateness_ms",
                                   "fired minus due time of the last timer fired, ms");
    *svc = s;
    return 0;
}

static void
sla_fini(void *svc)
{
    sla *s = svc;
    ch_timer_store_free(s->store);
    free(s);
}

static const ch_service sla_service = {
    .name = "sla-timer",
    .env_prefix = "CHARTER_SLA_",
    .default_http_listen = "127.0.0.1:8082",
    .config = sla_keys,
    .nconfig = sizeof(sla_keys) / sizeof(sla_keys[0]),
    .config_size = sizeof(sla_config),
    .subs = subs,
    .nsubs = 1,
    .init = sla_init,
    .on_message = sla_on_message,
    .on_assign = sla_on_assign,
    .on_revoke = sla_on_revoke,
    .on_redis_ready = sla_on_redis_ready,
    .stop = sla_stop,
    .fini = sla_fini,
};

int
main(int argc, char **argv, char **envp)
{
    return ch_runtime_main(&sla_service, argc, argv, envp);
}
