/*
 * Kafka for the runtime: one producer and (when the service subscribes to
 * anything) one consumer, both serviced on the libevent loop.
 *
 * librdkafka's queues can write a byte to a file descriptor when they go from
 * empty to non-empty (rd_kafka_queue_io_event_enable). Each queue gets a pipe
 * whose read end is a libevent event, so the loop sleeps until Kafka has
 * something: no polling thread, no busy loop. Because the byte is written
 * only on the empty -> non-empty edge, every wake-up drains its queue, or
 * re-activates itself when it stops early (batch cap, in-flight cap).
 *
 * Offsets are stored by hand (enable.auto.offset.store=false) once a message
 * and all earlier messages of its partition are done; librdkafka's
 * auto-commit then commits what was stored.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "charter/errors.h"
#include "charter/timeutil.h"
#include "charter/v1/dead_letter.pb-c.h"
#include "runtime_int.h"

#define DRAIN_BATCH 500

typedef struct {
    ch_produce_cb cb;
    void *opaque;
} produce_ctx;

/* ---- partition trackers ---- */

static ch_ptrack *
track_find(ch_runtime *rt, const char *topic, int32_t partition)
{
    for (ch_ptrack *t = rt->tracks; t; t = t->next)
        if (t->partition == partition && strcmp(t->topic, topic) == 0)
            return t;
    return NULL;
}

static ch_ptrack *
track_get(ch_runtime *rt, const char *topic, int32_t partition)
{
    ch_ptrack *t = track_find(rt, topic, partition);
    if (t)
        return t;
    t = calloc(1, sizeof(*t));
    if (!t || !(t->topic = strdup(topic))) {
        free(t);
        return NULL;
    }
    t->partition = partition;
    t->pending_store = -1;
    t->refs = 1;
    t->next = rt->tracks;
    rt->tracks = t;
    return t;
}

static void
track_unref(ch_ptrack *t)
{
    if (--t->refs > 0)
        return;
    free(t->offs);
    free(t->done);
    free(t->topic);
    free(t);
}

/* Detaches a tracker from the runtime (revocation): later acks are ignored. */
static void
track_revoke(ch_runtime *rt, ch_ptrack *t)
{
    for (ch_ptrack **p = &rt->tracks; *p; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            break;
        }
    }
    t->revoked = 1;
    track_unref(t);
}

static int
track_push(ch_ptrack *t, int64_t offset, uint64_t *seq)
{
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        int64_t *offs = malloc(cap * sizeof(*offs));
        uint8_t *done = malloc(cap);
        if (!offs || !done) {
            free(offs);
            free(done);
            return CH_ENOMEM;
        }
        for (size_t i = 0; i < t->count; i++) {
            offs[i] = t->offs[(t->head + i) % t->cap];
            done[i] = t->done[(t->head + i) % t->cap];
        }
        free(t->offs);
        free(t->done);
        t->offs = offs;
        t->done = done;
        t->head = 0;
        t->cap = cap;
    }
    size_t idx = (t->head + t->count) % t->cap;
    t->offs[idx] = offset;
    t->done[idx] = 0;
    t->count++;
    *seq = t->next_seq++;
    return 0;
}

/* Marks seq done; returns the offset to store (last done prefix + 1) or -1. */
static int64_t
track_ack(ch_ptrack *t, uint64_t seq)
{
    if (seq < t->head_seq || seq - t->head_seq >= t->count)
        return -1;
    t->done[(t->head + (seq - t->head_seq)) % t->cap] = 1;
    int64_t store = -1;
    while (t->count && t->done[t->head]) {
        store = t->offs[t->head] + 1;
        t->head = (t->head + 1) % t->cap;
        t->count--;
        t->head_seq++;
    }
    return store;
}

/* ---- messages ---- */

static void
msg_release(ch_msg *m)
{
    ch_runtime *rt = m->rt;
    if (m->prev)
        m->prev->next = m->next;
    else
        rt->msgs = m->next;
    if (m->next)
        m->next->prev = m->prev;
    rt->inflight--;
    if (m->retry_ev)
        event_free(m->retry_ev);
    if (m->decoded)
        protobuf_c_message_free_unpacked(m->decoded, NULL);
    rd_kafka_message_destroy(m->rkm);
    track_unref(m->pt);
    free(m->dlq_reason);
    free(m);
    if (rt->consume_blocked && rt->inflight <= (size_t)rt->cfg.max_inflight / 2) {
        rt->consume_blocked = 0;
        if (rt->cev)
            event_active(rt->cev, EV_READ, 0);
    }
}

/* Stores every tracker's pending offset in one call (one list per loop turn
 * rather than one per message). */
static void
flush_stores(ch_runtime *rt)
{
    rt->store_scheduled = 0;
    rd_kafka_topic_partition_list_t *l = NULL;
    for (ch_ptrack *t = rt->tracks; t; t = t->next) {
        if (t->pending_store < 0)
            continue;
        if (!l)
            l = rd_kafka_topic_partition_list_new(8);
        rd_kafka_topic_partition_list_add(l, t->topic, t->partition)->offset = t->pending_store;
        t->pending_store = -1;
    }
    if (!l)
        return;
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(rt->consumer, l);
    if (err)
        CH_LOG_WARN(&rt->log, "offset store failed", CH_STR("error", rd_kafka_err2str(err)));
    rd_kafka_topic_partition_list_destroy(l);
}

static void
store_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flush_stores(arg);
}

static void
msg_commit(ch_msg *m)
{
    ch_runtime *rt = m->rt;
    if (!m->pt->revoked) {
        int64_t store = track_ack(m->pt, m->seq);
        if (store >= 0) {
            m->pt->pending_store = store;
            if (!rt->store_scheduled && rt->store_ev) {
                rt->store_scheduled = 1;
                event_active(rt->store_ev, EV_TIMEOUT, 0);
            }
        }
    }
    msg_release(m);
}

static void msg_dispatch(ch_msg *m);
static void msg_send_dlq(ch_msg *m);

static void
msg_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ch_msg *m = arg;
    if (m->pt->revoked || m->rt->finalizing) {
        msg_release(m); /* the partition's next owner gets it again */
        return;
    }
    if (m->dlq_reason)
        msg_send_dlq(m);
    else
        msg_dispatch(m);
}

static void
msg_schedule_retry(ch_msg *m)
{
    ch_runtime *rt = m->rt;
    if (rt->finalizing || m->pt->revoked) {
        msg_release(m);
        return;
    }
    int64_t delay = 100;
    for (int i = 0; i < m->attempts && delay < 30000; i++)
        delay *= 2;
    if (delay > 30000)
        delay = 30000;
    m->attempts++;
    ch_metric_add(rt->m_retries, 1);
    if (!m->retry_ev)
        m->retry_ev = evtimer_new(rt->base, msg_retry_cb, m);
    struct timeval tv = {(time_t)(delay / 1000), (suseconds_t)((delay % 1000) * 1000)};
    if (!m->retry_ev || evtimer_add(m->retry_ev, &tv) != 0) {
        CH_LOG_ERROR(&rt->log, "cannot schedule a retry; the message will be redelivered",
                     CH_STR("topic", m->pt->topic), CH_INT("offset", m->rkm->offset));
        msg_release(m);
    }
}

static void
dlq_delivered(void *opaque, int rc, int32_t partition, int64_t offset, const char *errstr)
{
    (void)partition;
    (void)offset;
    ch_msg *m = opaque;
    if (rc) {
        CH_LOG_WARN(&m->rt->log, "dead-letter write failed; will retry", CH_STR("error", errstr));
        msg_schedule_retry(m);
        return;
    }
    ch_metric_add(m->rt->m_dlq, 1);
    msg_commit(m);
}

static void
msg_send_dlq(ch_msg *m)
{
    ch_runtime *rt = m->rt;
    Charter__V1__DeadLetter dl = CHARTER__V1__DEAD_LETTER__INIT;
    Charter__V1__Timestamp at = CHARTER__V1__TIMESTAMP__INIT;
    int64_t now = ch_time_now_ms();
    ch_time_split_ms(now, &at.seconds, &at.nanos);
    dl.service = (char *)rt->svc->name;
    dl.source_topic = (char *)rd_kafka_topic_name(m->rkm->rkt);
    dl.source_partition = m->rkm->partition;
    dl.source_offset = m->rkm->offset;
    dl.original_key.data = m->rkm->key;
    dl.original_key.len = m->rkm->key_len;
    dl.original_value.data = m->rkm->payload;
    dl.original_value.len = m->rkm->len;
    dl.reason = m->dlq_reason;
    dl.failed_at = &at;
    char key[64];
    snprintf(key, sizeof(key), "%s/%d/%lld", rt->svc->name, (int)m->rkm->partition,
             (long long)m->rkm->offset);
    CH_LOG_WARN(&rt->log, "record sent to the dead-letter topic", CH_STR("topic", dl.source_topic),
                CH_INT("partition", dl.source_partition), CH_INT("offset", dl.source_offset),
                CH_STR("reason", m->dlq_reason));
    if (ch_produce(rt, rt->cfg.dlq_topic, key, &dl.base, dlq_delivered, m) != 0)
        msg_schedule_retry(m);
}

void
ch_msg_done(ch_msg *m, int rc, const char *reason)
{
    if (rc == 0) {
        msg_commit(m);
        return;
    }
    if (rc == CH_EBADMSG || rc == CH_EINVAL) {
        if (!m->dlq_reason)
            m->dlq_reason = strdup(reason ? reason : ch_strerror(rc));
        if (!m->dlq_reason) {
            msg_schedule_retry(m);
            return;
        }
        msg_send_dlq(m);
        return;
    }
    CH_LOG_WARN(&m->rt->log, "handler failed; retrying", CH_STR("topic", m->pt->topic),
                CH_INT("partition", m->pt->partition), CH_INT("offset", m->rkm->offset),
                CH_STR("error", reason ? reason : ch_strerror(rc)), CH_INT("attempt", m->attempts));
    msg_schedule_retry(m);
}

const char *
ch_msg_topic(const ch_msg *m)
{
    return m->pt->topic;
}

int32_t
ch_msg_partition(const ch_msg *m)
{
    return m->rkm->partition;
}

int64_t
ch_msg_offset(const ch_msg *m)
{
    return m->rkm->offset;
}

int64_t
ch_msg_timestamp(const ch_msg *m)
{
    rd_kafka_timestamp_type_t tt;
    return rd_kafka_message_timestamp(m->rkm, &tt);
}

const void *
ch_msg_value(const ch_msg *m, size_t *len)
{
    *len = m->rkm->payload ? m->rkm->len : 0;
    return m->rkm->payload;
}

const void *
ch_msg_key(const ch_msg *m, size_t *len)
{
    *len = m->rkm->key ? m->rkm->key_len : 0;
    return m->rkm->key;
}

void *
ch_msg_opaque(const ch_msg *m)
{
    return m->sub->opaque;
}

/* ---- subscriptions ---- */

static int
sub_init(ch_sub *s, const char *topic, const ProtobufCMessageDescriptor *type, void *opaque,
         char *errstr, size_t errstr_size)
{
    memset(s, 0, sizeof(*s));
    if (!(s->topic = strdup(topic))) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    s->type = type;
    s->opaque = opaque;
    if (topic[0] == '^') {
        int rc = regcomp(&s->re, topic, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char why[128];
            regerror(rc, &s->re, why, sizeof(why));
            snprintf(errstr, errstr_size, "topic pattern '%s' does not compile: %s", topic, why);
            free(s->topic);
            s->topic = NULL;
            return CH_EINVAL;
        }
        s->is_regex = 1;
    }
    return 0;
}

static void
sub_fini(ch_sub *s)
{
    if (s->is_regex)
        regfree(&s->re);
    free(s->topic);
}

int
ch_runtime_subscribe(ch_runtime *rt, const char *topic, const ProtobufCMessageDescriptor *type,
                     void *opaque, char *errstr, size_t errstr_size)
{
    if (rt->kafka_started || !topic || !*topic) {
        snprintf(errstr, errstr_size, "subscriptions are added from init, with a topic");
        return CH_EINVAL;
    }
    ch_sub *n = realloc(rt->subs, (rt->nsubs + 1) * sizeof(*n));
    if (!n) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    rt->subs = n;
    int rc = sub_init(&rt->subs[rt->nsubs], topic, type, opaque, errstr, errstr_size);
    if (rc == 0)
        rt->nsubs++;
    return rc;
}

/* The descriptor's subscriptions go first, then those added at init. */
static int
subs_build(ch_runtime *rt, char *errstr, size_t errstr_size)
{
    size_t total = rt->svc->nsubs + rt->nsubs;
    if (rt->svc->nsubs == 0)
        return 0;
    ch_sub *all = calloc(total, sizeof(*all));
    if (!all) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    for (size_t i = 0; i < rt->svc->nsubs; i++) {
        int rc = sub_init(&all[i], rt->svc->subs[i].topic, rt->svc->subs[i].type, NULL, errstr,
                          errstr_size);
        if (rc != 0) {
            while (i-- > 0)
                sub_fini(&all[i]);
            free(all);
            return rc;
        }
    }
    if (rt->nsubs)
        memcpy(all + rt->svc->nsubs, rt->subs, rt->nsubs * sizeof(*all));
    free(rt->subs);
    rt->subs = all;
    rt->nsubs = total;
    return 0;
}

/* An exact topic wins over a pattern; among patterns the first listed. */
static const ch_sub *
sub_match(ch_runtime *rt, const char *topic)
{
    const ch_sub *re = NULL;
    for (size_t i = 0; i < rt->nsubs; i++) {
        const ch_sub *s = &rt->subs[i];
        if (!s->is_regex && strcmp(s->topic, topic) == 0)
            return s;
        if (s->is_regex && !re && regexec(&s->re, topic, 0, NULL, 0) == 0)
            re = s;
    }
    return re;
}

static void
msg_dispatch(ch_msg *m)
{
    ch_runtime *rt = m->rt;
    if (!m->sub->type) {
        rt->svc->on_message(rt->svc_ctx, m, NULL);
        return;
    }
    if (!m->decoded) {
        if (!m->rkm->payload) {
            ch_msg_done(m, CH_EBADMSG, "empty record (no value)");
            return;
        }
        m->decoded = protobuf_c_message_unpack(m->sub->type, NULL, m->rkm->len, m->rkm->payload);
        if (!m->decoded) {
            char why[160];
            snprintf(why, sizeof(why), "value does not decode as %s", m->sub->type->name);
            ch_metric_add(rt->m_decode_failed, 1);
            ch_msg_done(m, CH_EBADMSG, why);
            return;
        }
    }
    rt->svc->on_message(rt->svc_ctx, m, m->decoded);
}

static void
consume_one(ch_runtime *rt, rd_kafka_message_t *rkm)
{
    const char *topic = rd_kafka_topic_name(rkm->rkt);
    const ch_sub *sub = sub_match(rt, topic);
    ch_ptrack *pt = track_get(rt, topic, rkm->partition);
    ch_msg *m = calloc(1, sizeof(*m));
    uint64_t seq;
    if (!sub || !pt || !m || track_push(pt, rkm->offset, &seq) != 0) {
        CH_LOG_ERROR(&rt->log, "cannot take a consumed message; it will be redelivered",
                     CH_STR("topic", topic), CH_INT("offset", rkm->offset));
        free(m);
        rd_kafka_message_destroy(rkm);
        return;
    }
    pt->refs++;
    m->rt = rt;
    m->rkm = rkm;
    m->sub = sub;
    m->pt = pt;
    m->seq = seq;
    m->next = rt->msgs;
    if (rt->msgs)
        rt->msgs->prev = m;
    rt->msgs = m;
    rt->inflight++;
    ch_metric_add(rt->m_consumed, 1);
    msg_dispatch(m);
}

static void
consumer_drain(ch_runtime *rt)
{
    for (int n = 0; n < DRAIN_BATCH; n++) {
        if (rt->stopping)
            return;
        if (rt->inflight >= (size_t)rt->cfg.max_inflight) {
            rt->consume_blocked = 1;
            return;
        }
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rt->consumer, 0);
        if (!rkm)
            return;
        if (rkm->err) {
            if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                CH_LOG_WARN(&rt->log, "consumer error",
                            CH_STR("error", rd_kafka_message_errstr(rkm)));
            rd_kafka_message_destroy(rkm);
            continue;
        }
        consume_one(rt, rkm);
    }
    event_active(rt->cev, EV_READ, 0); /* more may be queued: continue next turn */
}

static void
drain_pipe(int fd)
{
    char buf[256];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

static void
consumer_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    drain_pipe(fd);
    consumer_drain(arg);
}

static void
producer_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    ch_runtime *rt = arg;
    drain_pipe(fd);
    while (rd_kafka_poll(rt->producer, 0) > 0)
        ;
}

/* ---- callbacks from librdkafka ---- */

static void
dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
    (void)rk;
    ch_runtime *rt = opaque;
    produce_ctx *pc = rkm->_private;
    if (rkm->err) {
        ch_metric_add(rt->m_produce_failed, 1);
        CH_LOG_WARN(&rt->log, "delivery failed", CH_STR("topic", rd_kafka_topic_name(rkm->rkt)),
                    CH_STR("error", rd_kafka_err2str(rkm->err)));
    } else {
        ch_metric_add(rt->m_produced, 1);
        rt->kafka_up = 1;
    }
    if (pc && pc->cb)
        pc->cb(pc->opaque, rkm->err ? CH_EIO : 0, rkm->partition, rkm->offset,
               rkm->err ? rd_kafka_err2str(rkm->err) : NULL);
    free(pc);
}

static void
log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    ch_runtime *rt = rd_kafka_opaque(rk);
    ch_log_level lvl = level <= 3   ? CH_LOG_ERROR
                       : level <= 4 ? CH_LOG_WARN
                       : level <= 6 ? CH_LOG_INFO
                                    : CH_LOG_DEBUG;
    CH_LOG(&rt->log, lvl, "librdkafka", CH_STR("facility", fac), CH_STR("detail", buf),
           CH_STR("client", rd_kafka_name(rk)));
}

static void
error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    ch_runtime *rt = opaque;
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        rt->kafka_up = 0;
    CH_LOG_WARN(&rt->log, "kafka error", CH_STR("error", rd_kafka_err2name(err)),
                CH_STR("reason", reason));
}

/* Readiness: the producer's statistics say whether any real broker is UP. */
static int
stats_cb(rd_kafka_t *rk, char *json, size_t json_len, void *opaque)
{
    (void)rk;
    ch_runtime *rt = opaque;
    json_t *root = json_loadb(json, json_len, 0, NULL);
    json_t *brokers = json_object_get(root, "brokers");
    const char *name;
    json_t *b;
    int up = 0;
    json_object_foreach(brokers, name, b)
    {
        json_t *nodeid = json_object_get(b, "nodeid");
        const char *state = json_string_value(json_object_get(b, "state"));
        if (json_integer_value(nodeid) >= 0 && state && strcmp(state, "UP") == 0)
            up = 1;
    }
    json_decref(root);
    rt->kafka_up = up;
    return 0;
}

static void
rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
             void *opaque)
{
    ch_runtime *rt = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; i < parts->cnt; i++) {
            track_get(rt, parts->elems[i].topic, parts->elems[i].partition);
            CH_LOG_INFO(&rt->log, "partition assigned", CH_STR("topic", parts->elems[i].topic),
                        CH_INT("partition", parts->elems[i].partition));
            if (rt->svc->on_assign)
                rt->svc->on_assign(rt->svc_ctx, parts->elems[i].topic, parts->elems[i].partition);
        }
        rd_kafka_assign(rk, parts);
        return;
    }
    for (int i = 0; i < parts->cnt; i++) {
        if (rt->svc->on_revoke)
            rt->svc->on_revoke(rt->svc_ctx, parts->elems[i].topic, parts->elems[i].partition);
        CH_LOG_INFO(&rt->log, "partition revoked", CH_STR("topic", parts->elems[i].topic),
                    CH_INT("partition", parts->elems[i].partition));
    }
    flush_stores(rt); /* what finished so far is committed for the next owner */
    /* Asynchronous: a blocking commit would stall the loop, and shutdown,
     * for as long as the coordinator is unreachable. The new owner starts
     * from the last committed offset, so at worst it redoes a little. */
    rd_kafka_commit(rk, NULL, 1);
    for (int i = 0; i < parts->cnt; i++) {
        ch_ptrack *t = track_find(rt, parts->elems[i].topic, parts->elems[i].partition);
        if (t)
            track_revoke(rt, t);
    }
    rd_kafka_assign(rk, NULL);
}

/* ---- setup ---- */

static int
conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, char *errstr,
         size_t errstr_size)
{
    char why[512];
    if (rd_kafka_conf_set(conf, key, value, why, sizeof(why)) != RD_KAFKA_CONF_OK) {
        snprintf(errstr, errstr_size, "kafka.%s: %s", key, why);
        return CH_EINVAL;
    }
    return 0;
}

static rd_kafka_conf_t *
make_conf(ch_runtime *rt, const char *const *defaults, size_t ndefaults, char *errstr,
          size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    for (size_t i = 0; i + 1 < ndefaults; i += 2)
        if (conf_set(conf, defaults[i], defaults[i + 1], errstr, errstr_size))
            goto err;
    for (size_t i = 0; i < rt->config.kafka.n; i++)
        if (conf_set(conf, rt->config.kafka.items[i].key, rt->config.kafka.items[i].value, errstr,
                     errstr_size))
            goto err;
    rd_kafka_conf_set_opaque(conf, rt);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    return conf;
err:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

static int
wake_pipe(ch_runtime *rt, rd_kafka_queue_t *q, int fds[2], struct event **ev, event_callback_fn fn)
{
    if (pipe(fds) != 0)
        return CH_EIO;
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    }
    *ev = event_new(rt->base, fds[0], EV_READ | EV_PERSIST, fn, rt);
    if (!*ev || event_add(*ev, NULL) != 0)
        return CH_EIO;
    rd_kafka_queue_io_event_enable(q, fds[1], "1", 1);
    return 0;
}

int
ch__kafka_open(ch_runtime *rt, char *errstr, size_t errstr_size)
{
    char why[512];
    static const char *const pdefaults[] = {
        "acks",
        "all",
        "enable.idempotence",
        "true",
        "linger.ms",
        "5",
        "statistics.interval.ms",
        "1000",
        /* connect at start, so /readyz reflects the broker before the first write */
        "enable.sparse.connections",
        "false",
    };
    rd_kafka_conf_t *pconf =
        make_conf(rt, pdefaults, sizeof(pdefaults) / sizeof(pdefaults[0]), errstr, errstr_size);
    if (!pconf)
        return CH_EINVAL;
    rd_kafka_conf_set_dr_msg_cb(pconf, dr_msg_cb);
    rd_kafka_conf_set_stats_cb(pconf, stats_cb);
    /* kafka.* keys go to both clients; librdkafka warns once about a key
     * meant for the other kind of client and ignores it. */
    rt->producer = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, why, sizeof(why));
    if (!rt->producer) {
        rd_kafka_conf_destroy(pconf);
        snprintf(errstr, errstr_size, "cannot create Kafka producer: %s", why);
        return CH_EINVAL;
    }
    rt->pqueue = rd_kafka_queue_get_main(rt->producer);
    if (wake_pipe(rt, rt->pqueue, rt->ppipe, &rt->pev, producer_wake) != 0) {
        snprintf(errstr, errstr_size, "cannot create the producer's wake-up pipe");
        return CH_EIO;
    }
    rt->kafka_started = 1;
    if (subs_build(rt, errstr, errstr_size) != 0)
        return CH_EINVAL;
    if (rt->nsubs == 0)
        return 0;

    char group[128];
    snprintf(group, sizeof(group), "charter-%s", rt->svc->name);
    const char *const cdefaults[] = {
        "group.id",
        group,
        "enable.auto.commit",
        "true",
        "enable.auto.offset.store",
        "false",
        "auto.offset.reset",
        "earliest",
        "enable.partition.eof",
        "false",
        "auto.commit.interval.ms",
        "1000",
    };
    rd_kafka_conf_t *cconf =
        make_conf(rt, cdefaults, sizeof(cdefaults) / sizeof(cdefaults[0]), errstr, errstr_size);
    if (!cconf)
        return CH_EINVAL;
    rd_kafka_conf_set_rebalance_cb(cconf, rebalance_cb);
    rt->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, why, sizeof(why));
    if (!rt->consumer) {
        rd_kafka_conf_destroy(cconf);
        snprintf(errstr, errstr_size, "cannot create Kafka consumer: %s", why);
        return CH_EINVAL;
    }
    rt->store_ev = event_new(rt->base, -1, 0, store_cb, rt);
    if (!rt->store_ev) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    rd_kafka_poll_set_consumer(rt->consumer);
    rt->cqueue = rd_kafka_queue_get_consumer(rt->consumer);
    if (wake_pipe(rt, rt->cqueue, rt->cpipe, &rt->cev, consumer_wake) != 0) {
        snprintf(errstr, errstr_size, "cannot create the consumer's wake-up pipe");
        return CH_EIO;
    }
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new((int)rt->nsubs);
    for (size_t i = 0; i < rt->nsubs; i++)
        rd_kafka_topic_partition_list_add(topics, rt->subs[i].topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(rt->consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err) {
        snprintf(errstr, errstr_size, "cannot subscribe: %s", rd_kafka_err2str(err));
        return CH_EIO;
    }
    /* Anything queued before the io event was enabled would never wake us. */
    event_active(rt->cev, EV_READ, 0);
    return 0;
}

int
ch_produce(ch_runtime *rt, const char *topic, const char *key, const ProtobufCMessage *msg,
           ch_produce_cb cb, void *opaque)
{
    if (rt->finalizing)
        return CH_EAGAIN;
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(len ? len : 1);
    produce_ctx *pc = malloc(sizeof(*pc));
    if (!buf || !pc) {
        free(buf);
        free(pc);
        return CH_EAGAIN;
    }
    protobuf_c_message_pack(msg, buf);
    pc->cb = cb;
    pc->opaque = opaque;
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rt->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
        RD_KAFKA_V_VALUE(buf, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_OPAQUE(pc),
        RD_KAFKA_V_END);
    if (err) {
        free(buf);
        free(pc);
        CH_LOG_WARN(&rt->log, "produce refused", CH_STR("topic", topic),
                    CH_STR("error", rd_kafka_err2str(err)));
        return err == RD_KAFKA_RESP_ERR__QUEUE_FULL ? CH_EAGAIN : CH_EIO;
    }
    return 0;
}

void
ch__kafka_stop_intake(ch_runtime *rt)
{
    if (!rt->consumer)
        return;
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(rt->consumer, &parts) == 0 && parts) {
        rd_kafka_pause_partitions(rt->consumer, parts);
        rd_kafka_topic_partition_list_destroy(parts);
    }
}

size_t
ch__kafka_outq_len(ch_runtime *rt)
{
    return rt->producer ? (size_t)rd_kafka_outq_len(rt->producer) : 0;
}

/*
 * Closes within timeout_ms: the producer gets up to half of it to flush, the
 * consumer the rest to commit its stored offsets and leave the group. With
 * the broker unreachable either may run out of time; what was not committed
 * is redelivered after a restart (at least once, never lost).
 */
void
ch__kafka_close(ch_runtime *rt, int timeout_ms)
{
    int64_t end = ch_time_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    if (rt->producer) {
        int budget = rt->consumer ? timeout_ms / 2 : timeout_ms;
        if (rd_kafka_flush(rt->producer, budget > 0 ? budget : 0) != 0) {
            CH_LOG_WARN(&rt->log, "producer not flushed in time; purging",
                        CH_INT("queued", rd_kafka_outq_len(rt->producer)));
            rd_kafka_purge(rt->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            rd_kafka_flush(rt->producer, 100);
        }
    }
    if (!rt->consumer)
        return;
    flush_stores(rt);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rt->consumer);
    rd_kafka_error_t *error = rd_kafka_consumer_close_queue(rt->consumer, q);
    if (error) {
        CH_LOG_WARN(&rt->log, "consumer close failed",
                    CH_STR("error", rd_kafka_error_string(error)));
        rd_kafka_error_destroy(error);
    } else {
        while (!rd_kafka_consumer_closed(rt->consumer) && ch_time_now_ms() < end) {
            rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 50);
            if (ev && rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE)
                rebalance_cb(rt->consumer, rd_kafka_event_error(ev),
                             rd_kafka_event_topic_partition_list(ev), rt);
            if (ev)
                rd_kafka_event_destroy(ev);
        }
    }
    rd_kafka_queue_destroy(q);
    rt->consumer_closed = rd_kafka_consumer_closed(rt->consumer);
    if (rt->consumer_closed)
        CH_LOG_INFO(&rt->log, "consumer closed; offsets committed");
    else
        CH_LOG_WARN(&rt->log, "consumer did not close in time; uncommitted work will be "
                              "redelivered");
}

void
ch__kafka_destroy(ch_runtime *rt)
{
    while (rt->msgs)
        msg_release(rt->msgs);
    while (rt->tracks)
        track_revoke(rt, rt->tracks);
    if (rt->store_ev)
        event_free(rt->store_ev);
    if (rt->cev)
        event_free(rt->cev);
    if (rt->pev)
        event_free(rt->pev);
    if (rt->cqueue)
        rd_kafka_queue_destroy(rt->cqueue);
    if (rt->pqueue)
        rd_kafka_queue_destroy(rt->pqueue);
    if (rt->consumer)
        rd_kafka_destroy_flags(rt->consumer,
                               rt->consumer_closed ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    if (rt->producer)
        rd_kafka_destroy(rt->producer);
    for (int i = 0; i < 2; i++) {
        if (rt->cpipe[i] > 0)
            close(rt->cpipe[i]);
        if (rt->ppipe[i] > 0)
            close(rt->ppipe[i]);
    }
    for (size_t i = 0; i < rt->nsubs; i++)
        sub_fini(&rt->subs[i]);
    free(rt->subs);
    rt->subs = NULL;
    rt->nsubs = 0;
}
