/*
 * A consumed message's life in the runtime: matched to its subscription,
 * decoded, handed to the service, and finished with ch_msg_done(): its
 * offset marked done (kafka.c stores it once the partition's done prefix
 * passes it), retried with backoff after a temporary failure, or written to
 * the dead-letter topic with the reason when it can never be processed.
 *
 * A message holds a reference on its partition's tracker, so a revoked
 * partition's messages can still finish: their acks are then ignored and
 * the next owner of the partition gets them again.
 */
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/timeutil.h"
#include "charter/v1/dead_letter.pb-c.h"
#include "runtime_int.h"

#define RETRY_FIRST_MS 100
#define RETRY_MAX_MS 30000

void
ch__msg_release(ch_msg *m)
{
    ch_runtime *rt = m->rt;
    ch__lane_leave(rt, m);
    if (m->prev)
        m->prev->next = m->next;
    else
        rt->msgs = m->next;
    if (m->next)
        m->next->prev = m->prev;
    rt->inflight--;
    ch__flow_count(rt, m->pt->flow, -1);
    ch_timer_free(m->retry);
    if (m->decoded)
        protobuf_c_message_free_unpacked(m->decoded, NULL);
    rd_kafka_message_destroy(m->rkm);
    ch__track_unref(m->pt);
    free(m->dlq_reason);
    free(m);
}

static void
msg_commit(ch_msg *m)
{
    ch_runtime *rt = m->rt;
    if (!m->pt->revoked) {
        int64_t store = ch__offsets_ack(&m->pt->offsets, m->seq);
        if (store >= 0) {
            m->pt->pending_store = store;
            if (rt->store_flush)
                ch_timer_soon(rt->store_flush);
        }
    }
    ch__msg_release(m);
}

static void msg_dispatch(ch_msg *m);
static void msg_send_dlq(ch_msg *m);

void
ch__msg_retry(void *arg)
{
    ch_msg *m = arg;
    if (m->pt->revoked || m->rt->finalizing) {
        ch__msg_release(m); /* the partition's next owner gets it again */
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
        ch__msg_release(m);
        return;
    }
    int64_t delay = RETRY_FIRST_MS;
    for (int i = 0; i < m->attempts && delay < RETRY_MAX_MS; i++)
        delay *= 2;
    if (delay > RETRY_MAX_MS)
        delay = RETRY_MAX_MS;
    m->attempts++;
    ch_metric_add(rt->m_retries, 1);
    if (!m->retry)
        m->retry = ch_timer_new(rt, ch__msg_retry, m);
    if (!m->retry || ch_timer_start(m->retry, delay * 1000) != 0) {
        CH_LOG_ERROR(&rt->log, "cannot schedule a retry; the message will be redelivered",
                     CH_STR("topic", m->pt->topic), CH_INT("offset", m->rkm->offset));
        ch__msg_release(m);
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
    if (m->pt->revoked) {
        ch__msg_release(m); /* the partition's next owner gets it again */
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
    /* A first retry or two is routine (reporting's optimistic writes meet
     * each other; Redis blinked): counted in charter_handler_retries_total
     * and logged at debug. One that keeps failing is worth a warning. */
    CH_LOG(&m->rt->log, m->attempts < 3 ? CH_LOG_DEBUG : CH_LOG_WARN, "handler failed; retrying",
           CH_STR("topic", m->pt->topic), CH_INT("partition", m->pt->partition),
           CH_INT("offset", m->rkm->offset), CH_STR("error", reason ? reason : ch_strerror(rc)),
           CH_INT("attempt", m->attempts));
    msg_schedule_retry(m);
}

int
ch_msg_revoked(const ch_msg *m)
{
    return m->pt->revoked;
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

int
ch__subs_build(ch_runtime *rt, char *errstr, size_t errstr_size)
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

void
ch__subs_free(ch_runtime *rt)
{
    for (size_t i = 0; i < rt->nsubs; i++)
        sub_fini(&rt->subs[i]);
    free(rt->subs);
    rt->subs = NULL;
    rt->nsubs = 0;
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

/* ---- intake ---- */

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

int
ch__msg_consume(ch_runtime *rt, rd_kafka_message_t *rkm)
{
    const char *topic = rd_kafka_topic_name(rkm->rkt);
    const ch_sub *sub = sub_match(rt, topic);
    ch_ptrack *pt = ch__track_get(rt, topic, rkm->partition);
    ch_msg *m = calloc(1, sizeof(*m));
    uint64_t seq;
    if (!pt || !m || ch__offsets_push(&pt->offsets, rkm->offset, &seq) != 0) {
        free(m);
        return CH_ENOMEM;
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
    ch__flow_count(rt, pt->flow, 1);
    ch_metric_add(rt->m_consumed, 1);
    if (!sub) {
        /* librdkafka's regular expressions are not POSIX's: a topic it
         * subscribed to may match none of ours. Kept, not dropped. */
        char why[300];
        snprintf(why, sizeof(why), "no subscription of this service matches topic '%.200s'", topic);
        ch_msg_done(m, CH_EBADMSG, why);
        return 0;
    }
    if (rt->svc->order_by_key && !ch__lane_enter(rt, m))
        return 0; /* handed over when the earlier records of its key are done */
    msg_dispatch(m);
    return 0;
}
