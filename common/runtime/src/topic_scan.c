/*
 * ch_runtime_topic_scan(): one synchronous read of everything a topic
 * retains, for a service's start-up (ingest lifts its reference counters
 * from the contact topic before it takes a request, reconcile.c).
 *
 * It is a plain consumer of its own, not the runtime's: it joins no group
 * (partitions are assigned, never subscribed) and commits nothing, every partition assigned from
 * its low watermark and read up to the high watermark seen when the scan began (records written
 * after that are not waited for). It runs before the loop, so it may block; it takes the service's
 * kafka.* settings (bootstrap, security), and its own deadline bounds it.
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/timeutil.h"
#include "runtime_int.h"

static rd_kafka_t *
scan_client(ch_runtime *rt, char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char why[512];
    for (size_t i = 0; i < rt->config.kafka.n; i++)
        rd_kafka_conf_set(conf, rt->config.kafka.items[i].key, rt->config.kafka.items[i].value, why,
                          sizeof(why)); /* producer-only keys are refused: ignored */
    if (rd_kafka_conf_set(conf, "group.id", "charter-topic-scan", why, sizeof(why)) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", why, sizeof(why)) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", why, sizeof(why)) ||
        rd_kafka_conf_set(conf, "log_level", "3", why, sizeof(why))) {
        snprintf(errstr, errstr_size, "topic scan: %s", why);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why));
    if (!rk) {
        snprintf(errstr, errstr_size, "cannot create the Kafka client of the topic scan: %s", why);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

/* Assigns every partition of topic that holds records, from its low
 * watermark; *pending is how many must be read to their high watermark. */
static int
assign_all(rd_kafka_t *rk, const char *topic, int64_t end_ms, int64_t **highs, int *npart,
           int *pending, char *errstr, size_t errstr_size)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int left = (int)(end_ms - ch_time_now_ms());
    rd_kafka_resp_err_t err =
        rkt ? rd_kafka_metadata(rk, 0, rkt, &md, left > 0 ? left : 1) : RD_KAFKA_RESP_ERR__FAIL;
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (err) {
        snprintf(errstr, errstr_size, "cannot read the metadata of %s: %s", topic,
                 rd_kafka_err2str(err));
        return CH_EIO;
    }
    int rc = 0;
    const struct rd_kafka_metadata_topic *t = md->topic_cnt == 1 ? &md->topics[0] : NULL;
    if (!t || t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || t->partition_cnt == 0)
        goto out; /* no such topic yet: nothing was written */
    if (t->err) {
        snprintf(errstr, errstr_size, "cannot read the metadata of %s: %s", topic,
                 rd_kafka_err2str(t->err));
        rc = CH_EIO;
        goto out;
    }
    *npart = t->partition_cnt;
    if (!(*highs = calloc((size_t)t->partition_cnt, sizeof(**highs)))) {
        rc = CH_ENOMEM;
        goto out;
    }
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(t->partition_cnt);
    for (int i = 0; i < t->partition_cnt; i++) {
        int32_t p = t->partitions[i].id;
        int64_t lo = 0, hi = 0;
        left = (int)(end_ms - ch_time_now_ms());
        err = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, left > 0 ? left : 1);
        if (err) {
            snprintf(errstr, errstr_size, "cannot read the offsets of %s [%d]: %s", topic, p,
                     rd_kafka_err2str(err));
            rc = CH_EIO;
            break;
        }
        if (p >= 0 && p < t->partition_cnt)
            (*highs)[p] = hi;
        if (hi > lo) {
            rd_kafka_topic_partition_list_add(parts, topic, p)->offset = lo;
            (*pending)++;
        }
    }
    if (rc == 0 && parts->cnt > 0 && (err = rd_kafka_assign(rk, parts))) {
        snprintf(errstr, errstr_size, "cannot read %s: %s", topic, rd_kafka_err2str(err));
        rc = CH_EIO;
    }
    rd_kafka_topic_partition_list_destroy(parts);
out:
    rd_kafka_metadata_destroy(md);
    return rc;
}

int
ch_runtime_topic_scan(ch_runtime *rt, const char *topic, int64_t timeout_ms,
                      void (*fn)(void *arg, const void *value, size_t len), void *arg, char *errstr,
                      size_t errstr_size)
{
    int64_t end_ms = ch_time_now_ms() + timeout_ms;
    rd_kafka_t *rk = scan_client(rt, errstr, errstr_size);
    if (!rk)
        return CH_EINVAL;
    int64_t *highs = NULL;
    int npart = 0, pending = 0;
    int rc = assign_all(rk, topic, end_ms, &highs, &npart, &pending, errstr, errstr_size);
    while (rc == 0 && pending > 0) {
        int left = (int)(end_ms - ch_time_now_ms());
        if (left <= 0) {
            snprintf(errstr, errstr_size,
                     "reading %s took longer than %lld ms (%d partitions still to read)", topic,
                     (long long)timeout_ms, pending);
            rc = CH_EIO;
            break;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, left < 200 ? left : 200);
        if (!m)
            continue;
        int32_t p = m->partition;
        int at_end = 0;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            at_end = 1;
        } else if (m->err) {
            snprintf(errstr, errstr_size, "cannot read %s: %s", topic, rd_kafka_message_errstr(m));
            rc = CH_EIO;
        } else {
            if (p >= 0 && p < npart && m->offset < highs[p])
                fn(arg, m->payload, m->len);
            at_end = p >= 0 && p < npart && m->offset + 1 >= highs[p];
        }
        if (at_end && p >= 0 && p < npart && highs[p] >= 0) {
            highs[p] = -1; /* counted once */
            pending--;
        }
        rd_kafka_message_destroy(m);
    }
    free(highs);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}
