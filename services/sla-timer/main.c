/*
 * charter-sla-timer: keeps each case's timers in Redis and fires them to
 * charter.sla.timers.v1 when they fall due.
 *
 * Why it is built this way (DESIGN.md §3):
 * - Timers live in one Redis sorted set per partition of the contact-events
 *   topic ("charter:{t<P>}:due", hash-tagged so a Redis Cluster keeps a
 *   partition's keys together). The instance that owns partition P in the
 *   consumer group owns P's timers, so it knows the next due time and sets a
 *   libevent timer for exactly then: nothing polls.
 * - A Lua script claims due timers using Redis TIME (one clock for every
 *   instance), moving them to an in-flight set with a lease. A timer is
 *   deleted only after Kafka acknowledged its fired event; a lease that
 *   expires (the instance died mid-fire) makes it fire again. Fired events
 *   carry a stable timer id ("<case>/<kind>") so consumers drop repeats.
 * - Deadlines are computed from event time (the case's received_at), so a
 *   replay schedules the same due instants, and a timer already past due
 *   fires at once carrying its original due time.
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

#define MAX_PARTITIONS 1024
#define CLAIM_BATCH 500

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

/* KEYS: due, inflight, timers. ARGV: lease_ms, limit.
 * Returns {now_ms, next_ms (-1 none), more (0/1), id1, payload1, id2, ...}. */
static const char claim_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local lease, limit = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "local out = {}\n"
    "local n = 0\n"
    "for _, k in ipairs({KEYS[1], KEYS[2]}) do\n"
    "  local ids = redis.call('ZRANGEBYSCORE', k, '-inf', now, 'LIMIT', 0, limit - n)\n"
    "  for _, id in ipairs(ids) do\n"
    "    local p = redis.call('HGET', KEYS[3], id)\n"
    "    if k == KEYS[1] then redis.call('ZREM', KEYS[1], id) end\n"
    "    if p then\n"
    "      redis.call('ZADD', KEYS[2], now + lease, id)\n"
    "      out[#out + 1] = id\n"
    "      out[#out + 1] = p\n"
    "    else\n"
    "      redis.call('ZREM', KEYS[2], id)\n"
    "    end\n"
    "    n = n + 1\n"
    "  end\n"
    "  if n >= limit then break end\n"
    "end\n"
    "local next = -1\n"
    "for _, k in ipairs({KEYS[1], KEYS[2]}) do\n"
    "  local f = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')\n"
    "  if f[2] and (next < 0 or tonumber(f[2]) < next) then next = tonumber(f[2]) end\n"
    "end\n"
    "local head = {tostring(now), tostring(next), n >= limit and '1' or '0'}\n"
    "for i = 1, #out do head[#head + 1] = out[i] end\n"
    "return head\n";

/* KEYS: due, timers, inflight. ARGV: id1, due1, payload1, ...
 * Returns {now_ms, earliest due or lease expiry in ms, or -1} so the caller
 * can re-arm without a claim. */
static const char schedule_lua[] =
    "for i = 1, #ARGV, 3 do\n"
    "  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 2])\n"
    "  redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i])\n"
    "end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local next = -1\n"
    "for _, k in ipairs({KEYS[1], KEYS[3]}) do\n"
    "  local f = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')\n"
    "  if f[2] and (next < 0 or tonumber(f[2]) < next) then next = tonumber(f[2]) end\n"
    "end\n"
    "return {tostring(now), tostring(next)}\n";

/* KEYS: due, inflight, timers. ARGV: ids. */
static const char cancel_lua[] = "for i = 1, #ARGV do\n"
                                 "  redis.call('ZREM', KEYS[1], ARGV[i])\n"
                                 "  redis.call('ZREM', KEYS[2], ARGV[i])\n"
                                 "  redis.call('HDEL', KEYS[3], ARGV[i])\n"
                                 "end\n"
                                 "return #ARGV\n";

typedef struct sla sla;

/* One owned partition's timer set. */
typedef struct {
    sla *s;
    int32_t partition;
    int owned;
    int claiming;
    int rescan; /* a timer was added while a claim was in flight */
    int armed;
    int64_t armed_for; /* Redis time the timer is set for, when armed */
    struct event *ev;
    char due_key[48], inflight_key[48], timers_key[48];
} part;

struct sla {
    ch_runtime *rt;
    const sla_config *cfg;
    part *parts[MAX_PARTITIONS];
    ch_metric *m_scheduled, *m_fired, *m_cancelled, *m_late_ms;
};

typedef struct {
    part *p;
    char *id;
} fire_ctx;

static void claim(part *p);

/* Sets the partition's timer for Redis time `at`, given Redis time `now`. */
static void
arm_at(part *p, int64_t at, int64_t now)
{
    if (!p->owned)
        return;
    int64_t delay_ms = at - now;
    if (delay_ms < 0)
        delay_ms = 0;
    struct timeval tv = {(time_t)(delay_ms / 1000), (suseconds_t)((delay_ms % 1000) * 1000)};
    evtimer_add(p->ev, &tv); /* re-adding moves the timer */
    p->armed = 1;
    p->armed_for = at;
}

/* Sets the partition's timer delay_ms from now (a retry or a follow-up). */
static void
arm(part *p, int64_t delay_ms)
{
    arm_at(p, delay_ms, 0);
    p->armed = 0; /* not tied to a due time: a new earlier timer re-arms */
}

static void
part_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    part *p = arg;
    p->armed = 0;
    claim(p);
}

static part *
part_get(sla *s, int32_t partition)
{
    if (partition < 0 || partition >= MAX_PARTITIONS)
        return NULL;
    part *p = s->parts[partition];
    if (p)
        return p;
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->s = s;
    p->partition = partition;
    p->ev = evtimer_new(ch_runtime_base(s->rt), part_timer_cb, p);
    if (!p->ev) {
        free(p);
        return NULL;
    }
    snprintf(p->due_key, sizeof(p->due_key), "charter:{t%d}:due", partition);
    snprintf(p->inflight_key, sizeof(p->inflight_key), "charter:{t%d}:inflight", partition);
    snprintf(p->timers_key, sizeof(p->timers_key), "charter:{t%d}:timers", partition);
    s->parts[partition] = p;
    return p;
}

static void
fire_acked(void *opaque, redisReply *reply)
{
    (void)reply; /* if this fails, the lease expires and the timer fires again */
    fire_ctx *fc = opaque;
    free(fc->id);
    free(fc);
}

static void
fired(void *opaque, int rc, int32_t partition, int64_t offset, const char *errstr)
{
    (void)partition;
    (void)offset;
    fire_ctx *fc = opaque;
    sla *s = fc->p->s;
    if (rc != 0) {
        CH_LOG_WARN(ch_runtime_log(s->rt),
                    "fired timer not written; it fires again when its "
                    "lease expires",
                    CH_STR("timer_id", fc->id), CH_STR("error", errstr));
        free(fc->id);
        free(fc);
        return;
    }
    ch_metric_add(s->m_fired, 1);
    /* Only now is the timer gone: Kafka has the fired event. */
    if (ch_redis_command(s->rt, fire_acked, fc, "EVAL %s 3 %s %s %s %s", cancel_lua, fc->p->due_key,
                         fc->p->inflight_key, fc->p->timers_key, fc->id) != 0) {
        free(fc->id);
        free(fc);
    }
}

static void
fire_one(part *p, const char *id, const redisReply *payload, int64_t now_ms)
{
    sla *s = p->s;
    Charter__V1__TimerFired *t =
        charter__v1__timer_fired__unpack(NULL, payload->len, (const uint8_t *)payload->str);
    if (!t) {
        CH_LOG_ERROR(ch_runtime_log(s->rt), "stored timer does not decode; dropping it",
                     CH_STR("timer_id", id), CH_STR("key", p->timers_key));
        ch_redis_command(s->rt, NULL, NULL, "EVAL %s 3 %s %s %s %s", cancel_lua, p->due_key,
                         p->inflight_key, p->timers_key, id);
        return;
    }
    Charter__V1__Timestamp fired_at = CHARTER__V1__TIMESTAMP__INIT;
    ch_time_split_ms(now_ms, &fired_at.seconds, &fired_at.nanos);
    t->fired_at = &fired_at;
    int64_t due_ms = t->due_at ? t->due_at->seconds * 1000 + t->due_at->nanos / 1000000 : now_ms;
    ch_metric_set(s->m_late_ms, (double)(now_ms - due_ms));
    fire_ctx *fc = malloc(sizeof(*fc));
    if (fc && (fc->id = strdup(id))) {
        fc->p = p;
        CH_LOG_INFO(ch_runtime_log(s->rt), "timer fired", CH_STR("timer_id", id),
                    CH_STR("case_id", t->case_id), CH_STR("organisation", t->organisation),
                    CH_INT("kind", t->kind), CH_INT("late_ms", now_ms - due_ms));
        if (ch_produce(s->rt, s->cfg->topic_out, t->case_id, &t->base, fired, fc) != 0) {
            free(fc->id);
            free(fc);
        }
    } else {
        free(fc);
    }
    t->fired_at = NULL;
    charter__v1__timer_fired__free_unpacked(t, NULL);
}

static void
claimed(void *opaque, redisReply *reply)
{
    part *p = opaque;
    sla *s = p->s;
    p->claiming = 0;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) {
        CH_LOG_WARN(
            ch_runtime_log(s->rt), "timer claim failed; retrying", CH_STR("key", p->due_key),
            CH_STR("error", reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "no reply"));
        arm(p, 1000);
        return;
    }
    int64_t now = strtoll(reply->element[0]->str, NULL, 10);
    int64_t next = strtoll(reply->element[1]->str, NULL, 10);
    int more = reply->element[2]->str[0] == '1' || p->rescan;
    p->rescan = 0;
    for (size_t i = 3; i + 1 < reply->elements; i += 2)
        fire_one(p, reply->element[i]->str, reply->element[i + 1], now);
    if (more)
        arm(p, 0);
    else if (next >= 0)
        arm_at(p, next, now);
}

static void
claim(part *p)
{
    if (!p->owned || p->claiming)
        return;
    sla *s = p->s;
    char lease[24], limit[16];
    snprintf(lease, sizeof(lease), "%lld", (long long)s->cfg->lease_ms);
    snprintf(limit, sizeof(limit), "%d", CLAIM_BATCH);
    if (ch_redis_command(s->rt, claimed, p, "EVAL %s 3 %s %s %s %s %s", claim_lua, p->due_key,
                         p->inflight_key, p->timers_key, lease, limit) == 0)
        p->claiming = 1;
    else
        arm(p, 1000); /* Redis is reconnecting */
}

/* ---- case events ---- */

typedef struct {
    sla *s;
    ch_msg *m;
    part *p;
} sched_ctx;

static void
scheduled(void *opaque, redisReply *reply)
{
    sched_ctx *sc = opaque;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        ch_msg_done(sc->m, CH_EAGAIN, reply ? reply->str : "redis unavailable");
        free(sc);
        return;
    }
    part *p = sc->p;
    if (p && p->owned && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2) {
        if (p->claiming) {
            p->rescan = 1; /* the claim in flight may not have seen the new timers */
        } else {
            int64_t now = strtoll(reply->element[0]->str, NULL, 10);
            int64_t next = strtoll(reply->element[1]->str, NULL, 10);
            if (next >= 0 && (!p->armed || next < p->armed_for))
                arm_at(p, next, now);
        }
    }
    ch_msg_done(sc->m, 0, NULL);
    free(sc);
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
schedule_received(sla *s, ch_msg *m, const Charter__V1__CaseEvent *ev, part *p)
{
    int64_t received_ms = ev->occurred_at->seconds * 1000 + ev->occurred_at->nanos / 1000000;
    int64_t ack_ms = received_ms + s->cfg->ack_after_s * 1000;
    int64_t respond_ms = received_ms + s->cfg->respond_after_s * 1000;
    Charter__V1__Timestamp ack_ts = CHARTER__V1__TIMESTAMP__INIT,
                           resp_ts = CHARTER__V1__TIMESTAMP__INIT;
    ch_time_split_ms(ack_ms, &ack_ts.seconds, &ack_ts.nanos);
    ch_time_split_ms(respond_ms, &resp_ts.seconds, &resp_ts.nanos);

    char ack_id[128], resp_id[128], ack_due[24], resp_due[24];
    snprintf(ack_id, sizeof(ack_id), "%s/acknowledgement_due", ev->case_id);
    snprintf(resp_id, sizeof(resp_id), "%s/breach", ev->case_id);
    snprintf(ack_due, sizeof(ack_due), "%lld", (long long)ack_ms);
    snprintf(resp_due, sizeof(resp_due), "%lld", (long long)respond_ms);

    Charter__V1__TimerFired t = CHARTER__V1__TIMER_FIRED__INIT;
    t.case_id = ev->case_id;
    t.organisation = ev->organisation;
    t.reference = ev->received->reference;
    t.channel = ev->received->channel;
    t.case_type = ev->received->case_type;
    t.target_at = &resp_ts;

    char *ack_buf = NULL, *resp_buf = NULL;
    size_t ack_len, resp_len;
    t.timer_id = ack_id;
    t.kind = CHARTER__V1__TIMER_KIND__TIMER_KIND_ACKNOWLEDGEMENT_DUE;
    t.due_at = &ack_ts;
    int rc = pack_timer(&t, &ack_buf, &ack_len);
    t.timer_id = resp_id;
    t.kind = CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH;
    t.due_at = &resp_ts;
    if (rc == 0)
        rc = pack_timer(&t, &resp_buf, &resp_len);
    sched_ctx *sc = rc == 0 ? malloc(sizeof(*sc)) : NULL;
    if (!sc) {
        free(ack_buf);
        free(resp_buf);
        ch_msg_done(m, CH_EAGAIN, "out of memory");
        return;
    }
    sc->s = s;
    sc->m = m;
    sc->p = p;
    const char *argv[] = {"EVAL", schedule_lua, "3",     p->due_key, p->timers_key, p->inflight_key,
                          ack_id, ack_due,      ack_buf, resp_id,    resp_due,      resp_buf};
    size_t argvlen[12];
    for (int i = 0; i < 12; i++) /* the packed timers are binary: their lengths are known */
        argvlen[i] = i == 8 ? ack_len : i == 11 ? resp_len : strlen(argv[i]);
    rc = ch_redis_command_argv(s->rt, scheduled, sc, 12, argv, argvlen);
    free(ack_buf);
    free(resp_buf);
    if (rc != 0) {
        free(sc);
        ch_msg_done(m, CH_EAGAIN, "redis unavailable");
        return;
    }
    ch_metric_add(s->m_scheduled, 2);
}

static void
cancel_timers(sla *s, ch_msg *m, const Charter__V1__CaseEvent *ev, part *p, int all)
{
    char ack_id[128], resp_id[128];
    snprintf(ack_id, sizeof(ack_id), "%s/acknowledgement_due", ev->case_id);
    snprintf(resp_id, sizeof(resp_id), "%s/breach", ev->case_id);
    sched_ctx *sc = malloc(sizeof(*sc));
    if (!sc) {
        ch_msg_done(m, CH_EAGAIN, "out of memory");
        return;
    }
    sc->s = s;
    sc->m = m;
    sc->p = NULL;
    int rc = all ? ch_redis_command(s->rt, scheduled, sc, "EVAL %s 3 %s %s %s %s %s", cancel_lua,
                                    p->due_key, p->inflight_key, p->timers_key, ack_id, resp_id)
                 : ch_redis_command(s->rt, scheduled, sc, "EVAL %s 3 %s %s %s %s", cancel_lua,
                                    p->due_key, p->inflight_key, p->timers_key, ack_id);
    if (rc != 0) {
        free(sc);
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
    part *p = part_get(s, ch_msg_partition(m));
    if (!p) {
        ch_msg_done(m, CH_EAGAIN, "out of memory or partition beyond 1024");
        return;
    }
    if (!ev->case_id[0] || !ev->occurred_at) {
        ch_msg_done(m, CH_EBADMSG, "case event without case_id or occurred_at");
        return;
    }
    switch (ev->event_case) {
    case CHARTER__V1__CASE_EVENT__EVENT_RECEIVED:
        schedule_received(s, m, ev, p);
        return;
    case CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED:
        cancel_timers(s, m, ev, p, 0);
        return;
    case CHARTER__V1__CASE_EVENT__EVENT_RESPONDED:
    case CHARTER__V1__CASE_EVENT__EVENT_CLOSED:
        cancel_timers(s, m, ev, p, 1);
        return;
    default:
        ch_msg_done(m, 0, NULL); /* no timer moves for it yet */
    }
}

static void
sla_on_assign(void *svc, const char *topic, int32_t partition)
{
    sla *s = svc;
    if (strcmp(topic, s->cfg->topic_in) != 0)
        return;
    part *p = part_get(s, partition);
    if (!p)
        return;
    p->owned = 1;
    claim(p); /* catch up on anything already due, and learn the next due time */
}

static void
sla_on_revoke(void *svc, const char *topic, int32_t partition)
{
    sla *s = svc;
    if (strcmp(topic, s->cfg->topic_in) != 0 || partition < 0 || partition >= MAX_PARTITIONS ||
        !s->parts[partition])
        return;
    part *p = s->parts[partition];
    p->owned = 0;
    p->armed = 0;
    evtimer_del(p->ev);
}

static void
sla_on_redis_ready(void *svc)
{
    sla *s = svc;
    for (int i = 0; i < MAX_PARTITIONS; i++)
        if (s->parts[i] && s->parts[i]->owned)
            claim(s->parts[i]);
}

static void
sla_stop(void *svc)
{
    sla *s = svc;
    for (int i = 0; i < MAX_PARTITIONS; i++) {
        if (s->parts[i]) {
            s->parts[i]->owned = 0;
            evtimer_del(s->parts[i]->ev);
        }
    }
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
    for (int i = 0; i < MAX_PARTITIONS; i++) {
        if (s->parts[i]) {
            event_free(s->parts[i]->ev);
            free(s->parts[i]);
        }
    }
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
