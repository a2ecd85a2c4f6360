/*
 * Kafka for the runtime: one producer and (when the service subscribes to
 * anything) one consumer, both serviced on the libevent loop.
 *
 * librdkafka's queues can write a byte to a file descriptor when they go from
 * empty to non-empty (rd_kafka_queue_io_event_enable). Each queue gets a pipe
 * whose read end is a libevent event, so the loop sleeps until Kafka has
 * something: no polling thread, no busy loop. Because the byte is written
 * only on the empty -> non-empty edge, every wake-up drains its queue, or
 * re-activates itself when it stops early (batch cap).
 *
 * consumer.max_inflight bounds the records in flight: at the bound the
 * consumer stops polling until half have finished (what it has fetched stays
 * queued in librdkafka). A record may wait for a later record of another
 * topic (a notification's timer for its case's contact): if the bound is
 * held for STALL_MS with no record finishing, the waiting records filled it,
 * and the consumer goes per topic: polling resumes, and each topic is
 * bounded on its own (a topic at the bound has its partitions paused, and
 * resumed at half), until half of all records have finished. Pausing is not
 * the usual way because librdkafka drops a paused partition's fetched
 * records and fetches them again on resuming: under a steady full load that
 * cost reporting seven eighths of its rate.
 *
 * Offsets are stored by hand (enable.auto.offset.store=false) once a message
 * and all earlier messages of its partition are done (each assigned
 * partition has a tracker, offsets.h); librdkafka's auto-commit then commits
 * what was stored. What happens to one message is in kafka_msg.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "charter/errors.h"
#include "charter/timeutil.h"
#include "runtime_int.h"

#define DRAIN_BATCH 500
#define STALL_MS 1000

typedef struct {
    ch_produce_cb cb;
    void *opaque;
} produce_ctx;

/* ---- topics' records in flight ---- */

static ch_tflow *
flow_get(ch_runtime *rt, const char *topic)
{
    for (ch_tflow *f = rt->flows; f; f = f->next)
        if (strcmp(f->topic, topic) == 0)
            return f;
    ch_tflow *f = calloc(1, sizeof(*f));
    if (!f || !(f->topic = strdup(topic))) {
        free(f);
        return NULL;
    }
    f->next = rt->flows;
    rt->flows = f;
    return f;
}

/* Pauses or resumes the assigned partitions of flow's topic. */
static void
flow_pause(ch_runtime *rt, ch_tflow *f, int pause)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    if (!l)
        return; /* out of memory: stays as it is; the next record tries again */
    for (ch_ptrack *t = rt->tracks; t; t = t->next)
        if (t->flow == f)
            rd_kafka_topic_partition_list_add(l, t->topic, t->partition);
    rd_kafka_resp_err_t err = pause ? rd_kafka_pause_partitions(rt->consumer, l)
                                    : rd_kafka_resume_partitions(rt->consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (err) {
        CH_LOG_WARN(&rt->log, pause ? "cannot pause a topic" : "cannot resume a topic",
                    CH_STR("topic", f->topic), CH_STR("error", rd_kafka_err2str(err)));
        return;
    }
    f->paused = pause;
    CH_LOG_DEBUG(&rt->log,
                 pause ? "topic paused: consumer.max_inflight records in flight" : "topic resumed",
                 CH_STR("topic", f->topic), CH_INT("in_flight", f->inflight));
    if (!pause && rt->cev)
        event_active(rt->cev, EV_READ, 0);
}

void
ch__flow_count(ch_runtime *rt, ch_tflow *f, int delta)
{
    size_t max = (size_t)rt->cfg.max_inflight;
    if (delta > 0) {
        f->inflight++;
        if (rt->per_topic && !f->paused && f->inflight >= max && rt->consumer)
            flow_pause(rt, f, 1);
        return;
    }
    f->inflight--;
    rt->released++;
    if (!rt->consumer || rt->stopping)
        return; /* once stopping, every partition stays paused (ch__kafka_stop_intake) */
    if (f->paused && f->inflight <= max / 2)
        flow_pause(rt, f, 0);
    if (rt->inflight > max / 2)
        return;
    if (rt->per_topic) {
        rt->per_topic = 0;
        for (ch_tflow *g = rt->flows; g; g = g->next)
            if (g->paused)
                flow_pause(rt, g, 0);
        CH_LOG_INFO(&rt->log, "consumer back to one bound for all topics",
                    CH_INT("in_flight", rt->inflight));
    }
    if (rt->consume_blocked) {
        rt->consume_blocked = 0;
        ch_timer_stop(rt->stall_check);
        if (rt->cev)
            event_active(rt->cev, EV_READ, 0);
    }
}

/* The consumer has held consumer.max_inflight records for STALL_MS: if none
 * finished meanwhile, they wait for records not yet read; go per topic. */
static void
stall_check(void *arg)
{
    ch_runtime *rt = arg;
    if (!rt->consume_blocked || rt->stopping)
        return;
    if (rt->released != rt->blocked_seen) {
        rt->blocked_seen = rt->released;
        ch_timer_start(rt->stall_check, STALL_MS * 1000);
        return;
    }
    rt->per_topic = 1;
    rt->consume_blocked = 0;
    for (ch_tflow *f = rt->flows; f; f = f->next)
        if (!f->paused && f->inflight >= (size_t)rt->cfg.max_inflight)
            flow_pause(rt, f, 1);
    CH_LOG_WARN(&rt->log,
                "consumer held at consumer.max_inflight with no record finishing; the records "
                "wait for later ones: reading each topic up to the bound on its own",
                CH_INT("in_flight", rt->inflight), CH_INT("stalled_ms", STALL_MS));
    if (rt->cev)
        event_active(rt->cev, EV_READ, 0);
}

static void
flows_free(ch_runtime *rt)
{
    while (rt->flows) {
        ch_tflow *f = rt->flows;
        rt->flows = f->next;
        free(f->topic);
        free(f);
    }
}

/* ---- partition trackers ---- */

static ch_ptrack *
track_find(ch_runtime *rt, const char *topic, int32_t partition)
{
    for (ch_ptrack *t = rt->tracks; t; t = t->next)
        if (t->partition == partition && strcmp(t->topic, topic) == 0)
            return t;
    return NULL;
}

ch_ptrack *
ch__track_get(ch_runtime *rt, const char *topic, int32_t partition)
{
    ch_ptrack *t = track_find(rt, topic, partition);
    if (t)
        return t;
    ch_tflow *flow = flow_get(rt, topic);
    if (!flow)
        return NULL;
    t = calloc(1, sizeof(*t));
    if (!t || !(t->topic = strdup(topic))) {
        free(t);
        return NULL;
    }
    t->flow = flow;
    ch__offsets_init(&t->offsets);
    t->partition = partition;
    t->pending_store = -1;
    t->refs = 1;
    t->next = rt->tracks;
    rt->tracks = t;
    return t;
}

void
ch__track_unref(ch_ptrack *t)
{
    if (--t->refs > 0)
        return;
    ch__offsets_free(&t->offsets);
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
    ch__offsets_reset(&t->offsets);
    ch__track_unref(t);
}

/* Stores every tracker's pending offset in one call (one list per loop turn
 * rather than one per message). */
static void
flush_stores(void *arg)
{
    ch_runtime *rt = arg;
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

/* ---- the consumer's and the producer's queues ---- */

/* A record that could not even be tracked (out of memory) is read again:
 * the partition seeks back to the oldest record not yet passed by its done
 * prefix, and the records in flight are forgotten, so no later ack commits
 * past the refused one (they are read again too: at least once). */
static void
consume_refused(ch_runtime *rt, rd_kafka_message_t *rkm)
{
    const char *topic = rd_kafka_topic_name(rkm->rkt);
    ch_ptrack *t = track_find(rt, topic, rkm->partition);
    int64_t from = t ? ch__offsets_rewind(&t->offsets, rkm->offset) : rkm->offset;
    flush_stores(rt); /* what is done before it, before the seek (librdkafka asks) */
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_error_t *error = NULL;
    if (l) {
        rd_kafka_topic_partition_list_add(l, topic, rkm->partition)->offset = from;
        error = rd_kafka_seek_partitions(rt->consumer, l, 0);
        rd_kafka_topic_partition_list_destroy(l);
    }
    CH_LOG_ERROR(&rt->log,
                 "cannot take a consumed record (out of memory); reading the "
                 "partition again from the oldest record not done",
                 CH_STR("topic", topic), CH_INT("partition", rkm->partition),
                 CH_INT("offset", rkm->offset), CH_INT("from", from),
                 CH_STR("seek", !l      ? "out of memory"
                                : error ? rd_kafka_error_string(error)
                                        : "started"));
    if (error)
        rd_kafka_error_destroy(error);
    rd_kafka_message_destroy(rkm);
}

static void
consumer_drain(ch_runtime *rt)
{
    for (int n = 0; n < DRAIN_BATCH; n++) {
        if (rt->stopping)
            return;
        if (!rt->per_topic && rt->inflight >= (size_t)rt->cfg.max_inflight) {
            if (!rt->consume_blocked) {
                rt->consume_blocked = 1;
                rt->blocked_seen = rt->released;
                ch_timer_start(rt->stall_check, STALL_MS * 1000);
            }
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
        if (ch__msg_consume(rt, rkm) != 0)
            consume_refused(rt, rkm);
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

/* The consumer's statistics: its topics' partitions, kept for
 * ch_runtime_consumer_lag. */
static void
consumer_stats(ch_runtime *rt, json_t *root)
{
    json_t *topics = json_object_get(root, "topics");
    if (!json_is_object(topics))
        return;
    json_decref(rt->consumer_topics);
    rt->consumer_topics = json_incref(topics);
    rt->consumer_stats_ms = ch_time_now_ms();
    /* charter_kafka_consumer_lag{topic,partition}: records not yet done
     * (the stored offset's lag); -1 while unknown; 0 for a partition this
     * member no longer owns (its new owner reports it). */
    const char *tname, *pid;
    json_t *t, *p;
    json_object_foreach(topics, tname, t)
    {
        json_object_foreach(json_object_get(t, "partitions"), pid, p)
        {
            if (strcmp(pid, "-1") == 0)
                continue;
            json_t *js = json_object_get(p, "consumer_lag_stored"),
                   *jc = json_object_get(p, "consumer_lag");
            json_int_t lag = js && json_integer_value(js) >= 0 ? json_integer_value(js)
                             : jc                              ? json_integer_value(jc)
                                                               : -1;
            if (!json_is_true(json_object_get(p, "desired")))
                lag = 0;
            static const char *const keys[] = {"topic", "partition"};
            const char *values[] = {tname, pid};
            ch_metric_set(ch_metric_series(rt, CH_METRIC_GAUGE, "charter_kafka_consumer_lag",
                                           "records of a partition this service has not yet "
                                           "finished (-1: not known yet)",
                                           2, keys, values),
                          (double)lag);
        }
    }
}

int64_t
ch_runtime_consumer_lag(const ch_runtime *rt, const char *topic, int64_t *at_ms)
{
    if (at_ms)
        *at_ms = rt->consumer_stats_ms;
    json_t *parts = json_object_get(json_object_get(rt->consumer_topics, topic), "partitions");
    const char *id;
    json_t *p;
    int64_t lag = 0;
    int assigned = 0;
    json_object_foreach(parts, id, p)
    {
        if (strcmp(id, "-1") == 0 || !json_is_true(json_object_get(p, "desired")))
            continue;
        assigned = 1;
        json_t *js = json_object_get(p, "consumer_lag_stored"),
               *jc = json_object_get(p, "consumer_lag");
        json_int_t one = js && json_integer_value(js) >= 0 ? json_integer_value(js)
                         : jc                              ? json_integer_value(jc)
                                                           : -1;
        if (one < 0)
            return -1;
        lag += one;
    }
    return assigned ? lag : -1;
}

/* Readiness: the producer's statistics say whether any real broker is UP. */
static int
stats_cb(rd_kafka_t *rk, char *json, size_t json_len, void *opaque)
{
    ch_runtime *rt = opaque;
    json_t *root = json_loadb(json, json_len, 0, NULL);
    if (rd_kafka_type(rk) == RD_KAFKA_CONSUMER) {
        consumer_stats(rt, root);
        json_decref(root);
        return 0;
    }
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
            ch__track_get(rt, parts->elems[i].topic, parts->elems[i].partition);
            CH_LOG_INFO(&rt->log, "partition assigned", CH_STR("topic", parts->elems[i].topic),
                        CH_INT("partition", parts->elems[i].partition));
            if (rt->svc->on_assign)
                rt->svc->on_assign(rt->svc_ctx, parts->elems[i].topic, parts->elems[i].partition);
        }
        rd_kafka_assign(rk, parts);
        /* a topic at consumer.max_inflight: its new partitions wait too */
        for (ch_tflow *f = rt->flows; f; f = f->next)
            if (f->paused)
                flow_pause(rt, f, 1);
        return;
    }
    /* Lost rather than revoked: the group went on without this member (its
     * session timed out, e.g. while the coordinator's node was down), so a
     * commit would be refused (unknown member); the next owner redoes what
     * was not committed. */
    int lost = rd_kafka_assignment_lost(rk);
    for (int i = 0; i < parts->cnt; i++) {
        if (rt->svc->on_revoke)
            rt->svc->on_revoke(rt->svc_ctx, parts->elems[i].topic, parts->elems[i].partition);
        if (lost)
            CH_LOG_WARN(&rt->log, "partition revoked", CH_STR("topic", parts->elems[i].topic),
                        CH_INT("partition", parts->elems[i].partition), CH_INT("lost", 1));
        else
            CH_LOG_INFO(&rt->log, "partition revoked", CH_STR("topic", parts->elems[i].topic),
                        CH_INT("partition", parts->elems[i].partition));
    }
    if (!lost) {
        flush_stores(rt); /* what finished so far is committed for the next owner */
        /* Asynchronous: a blocking commit would stall the loop, and shutdown,
         * for as long as the coordinator is unreachable. The new owner starts
         * from the last committed offset, so at worst it redoes a little. */
        rd_kafka_commit(rk, NULL, 1);
    }
    for (int i = 0; i < parts->cnt; i++) {
        ch_ptrack *t = track_find(rt, parts->elems[i].topic, parts->elems[i].partition);
        if (!t)
            continue;
        /* records still waiting in a case's lane are the next owner's now:
         * dropped uncommitted, never handed to the service */
        ch_msg *drop = ch__lanes_take_waiting(rt, t);
        track_revoke(rt, t);
        int64_t dropped = 0;
        while (drop) {
            ch_msg *next = drop->lane_next;
            drop->lane_next = NULL;
            ch__msg_release(drop);
            drop = next;
            dropped++;
        }
        if (dropped)
            CH_LOG_INFO(&rt->log, "queued records of a revoked partition dropped",
                        CH_STR("topic", parts->elems[i].topic),
                        CH_INT("partition", parts->elems[i].partition), CH_INT("records", dropped));
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

/* The runtime's defaults per client; kafka.* configuration (and the
 * service's kafka_defaults, applied as configuration) overrides them. */
static const struct {
    rd_kafka_type_t client;
    const char *key, *value;
} client_defaults[] = {
    {RD_KAFKA_PRODUCER, "acks", "all"},
    {RD_KAFKA_PRODUCER, "enable.idempotence", "true"},
    {RD_KAFKA_PRODUCER, "linger.ms", "5"},
    {RD_KAFKA_PRODUCER, "statistics.interval.ms", "1000"},
    /* connect at start, so /readyz reflects the broker before the first write */
    {RD_KAFKA_PRODUCER, "enable.sparse.connections", "false"},
    {RD_KAFKA_CONSUMER, "enable.auto.commit", "true"},
    {RD_KAFKA_CONSUMER, "enable.auto.offset.store", "false"},
    {RD_KAFKA_CONSUMER, "auto.offset.reset", "earliest"},
    {RD_KAFKA_CONSUMER, "enable.partition.eof", "false"},
    {RD_KAFKA_CONSUMER, "auto.commit.interval.ms", "1000"},
    /* How long a fetch with nothing to return waits for records (500 by
     * default). Apache Kafka answers as soon as records arrive, so this
     * only sets how often an idle consumer asks; the embedded broker
     * (librdkafka's mock cluster) holds an empty fetch for the whole wait
     * even when records arrive meanwhile, which added up to 500 ms to every
     * hop (issue 16: reporting's figures 0.46 s behind at the p50, 0.14 s
     * with 100). */
    {RD_KAFKA_CONSUMER, "fetch.wait.max.ms", "100"},
    /* each partition's lag, for ch_runtime_consumer_lag */
    {RD_KAFKA_CONSUMER, "statistics.interval.ms", "1000"},
};

/*
 * A producer or consumer with the runtime's callbacks. kafka.* keys go to
 * both clients; librdkafka warns once about a key meant for the other kind
 * of client and ignores it. NULL with errstr filled on failure.
 */
static rd_kafka_t *
client_new(ch_runtime *rt, rd_kafka_type_t type, char *errstr, size_t errstr_size)
{
    int producer = type == RD_KAFKA_PRODUCER;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char group[128], why[512];
    snprintf(group, sizeof(group), "charter-%s", rt->svc->name);
    if (!producer && conf_set(conf, "group.id", group, errstr, errstr_size))
        goto err;
    for (size_t i = 0; i < CH_COUNTOF(client_defaults); i++)
        if (client_defaults[i].client == type &&
            conf_set(conf, client_defaults[i].key, client_defaults[i].value, errstr, errstr_size))
            goto err;
    for (size_t i = 0; i < rt->config.kafka.n; i++)
        if (conf_set(conf, rt->config.kafka.items[i].key, rt->config.kafka.items[i].value, errstr,
                     errstr_size))
            goto err;
    rd_kafka_conf_set_opaque(conf, rt);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    if (producer) {
        rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
        rd_kafka_conf_set_stats_cb(conf, stats_cb);
    } else {
        rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
        rd_kafka_conf_set_stats_cb(conf, stats_cb);
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, why, sizeof(why));
    if (rk)
        return rk; /* conf is now rk's */
    snprintf(errstr, errstr_size, "cannot create Kafka %s: %s", producer ? "producer" : "consumer",
             why);
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
    if (!(rt->producer = client_new(rt, RD_KAFKA_PRODUCER, errstr, errstr_size)))
        return CH_EINVAL;
    rt->pqueue = rd_kafka_queue_get_main(rt->producer);
    if (wake_pipe(rt, rt->pqueue, rt->ppipe, &rt->pev, producer_wake) != 0) {
        snprintf(errstr, errstr_size, "cannot create the producer's wake-up pipe");
        return CH_EIO;
    }
    rt->kafka_started = 1;
    if (ch__subs_build(rt, errstr, errstr_size) != 0)
        return CH_EINVAL;
    if (rt->nsubs == 0)
        return 0;
    if (!(rt->consumer = client_new(rt, RD_KAFKA_CONSUMER, errstr, errstr_size)))
        return CH_EINVAL;
    rt->store_flush = ch_timer_new(rt, flush_stores, rt);
    rt->stall_check = ch_timer_new(rt, stall_check, rt);
    if (!rt->store_flush || !rt->stall_check) {
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
    rt->stopping = 1; /* no topic is resumed as the records are released */
    while (rt->msgs)
        ch__msg_release(rt->msgs);
    ch__lanes_free(rt);
    while (rt->tracks)
        track_revoke(rt, rt->tracks);
    ch_timer_free(rt->store_flush);
    rt->store_flush = NULL;
    ch_timer_free(rt->stall_check);
    rt->stall_check = NULL;
    ch__event_free(&rt->cev);
    ch__event_free(&rt->pev);
    if (rt->cqueue)
        rd_kafka_queue_destroy(rt->cqueue);
    if (rt->pqueue)
        rd_kafka_queue_destroy(rt->pqueue);
    if (rt->consumer)
        rd_kafka_destroy_flags(rt->consumer,
                               rt->consumer_closed ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    if (rt->producer)
        rd_kafka_destroy(rt->producer);
    json_decref(rt->consumer_topics);
    rt->consumer_topics = NULL;
    for (int i = 0; i < 2; i++) {
        if (rt->cpipe[i] > 0)
            close(rt->cpipe[i]);
        if (rt->ppipe[i] > 0)
            close(rt->ppipe[i]);
    }
    ch__subs_free(rt);
    flows_free(rt);
}
