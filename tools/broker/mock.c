/*
 * librdkafka's mock cluster (rdkafka_mock.h): real Kafka wire protocol over
 * TCP on loopback, logs kept in memory, served by librdkafka's own internal
 * thread. The handle that hosts it is a producer that never connects
 * anywhere. Its log callback is the only code of ours that runs on
 * librdkafka's threads; it touches nothing but the logger, which writes each
 * line whole.
 */
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "broker.h"

/* Runs on librdkafka's threads. */
static void
log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    const broker *b = rd_kafka_opaque(rk);
    ch_log_level lvl = level <= 3   ? CH_LOG_ERROR
                       : level == 4 ? CH_LOG_WARN
                       : level <= 6 ? CH_LOG_INFO
                                    : CH_LOG_DEBUG;
    /* This handle only hosts the mock cluster; it is never meant to connect anywhere. */
    if (!strcmp(fac, "CONFWARN") && strstr(buf, "bootstrap.servers"))
        lvl = CH_LOG_DEBUG;
    CH_LOG(b->log, lvl, "librdkafka", CH_STR("facility", fac), CH_STR("detail", buf));
}

/* The first of the mock cluster's bootstrap addresses: where forward.c
 * sends the bootstrap connections. */
static int
learn_upstream(broker *b, char *errstr, size_t errstr_size)
{
    const char *bootstraps = rd_kafka_mock_cluster_bootstraps(b->mcluster);
    char first[BROKER_ADDR_MAX], err[256];
    size_t first_len = strcspn(bootstraps, ",");
    if (first_len >= sizeof(first))
        first_len = sizeof(first) - 1;
    memcpy(first, bootstraps, first_len);
    first[first_len] = '\0';
    if (broker_addr_parse(first, &b->upstream_addr, &b->upstream_addr_len, err, sizeof(err)) != 0) {
        snprintf(errstr, errstr_size, "cannot use mock broker address '%s': %s", first, err);
        return -1;
    }
    return 0;
}

int
broker_mock_start(broker *b, char *errstr, size_t errstr_size)
{
    const broker_config *conf = b->conf;
    rd_kafka_conf_t *kconf = rd_kafka_conf_new();
    char kerr[256];
    rd_kafka_conf_set_opaque(kconf, b);
    rd_kafka_conf_set_log_cb(kconf, log_cb);
    if (rd_kafka_conf_set(kconf, "client.id", "charter-broker", kerr, sizeof(kerr)) ||
        (b->log->level == CH_LOG_DEBUG &&
         rd_kafka_conf_set(kconf, "debug", "mock", kerr, sizeof(kerr)))) {
        rd_kafka_conf_destroy(kconf);
        snprintf(errstr, errstr_size, "cannot configure librdkafka: %s", kerr);
        return -1;
    }
    b->rk = rd_kafka_new(RD_KAFKA_PRODUCER, kconf, kerr, sizeof(kerr));
    if (!b->rk) {
        rd_kafka_conf_destroy(kconf);
        snprintf(errstr, errstr_size, "cannot create the librdkafka handle: %s", kerr);
        return -1;
    }
    b->mcluster = rd_kafka_mock_cluster_new(b->rk, conf->brokers);
    if (!b->mcluster) {
        snprintf(errstr, errstr_size,
                 "cannot start librdkafka's mock cluster (see the librdkafka log lines above)");
        return -1;
    }
    for (int i = 0; i < conf->ntopics; i++) {
        const broker_topic *t = &conf->topics[i];
        rd_kafka_resp_err_t err =
            rd_kafka_mock_topic_create(b->mcluster, t->name, t->partitions, 1);
        if (err) {
            snprintf(errstr, errstr_size, "cannot create topic %s: %s", t->name,
                     rd_kafka_err2str(err));
            return -1;
        }
        CH_LOG_INFO(b->log, "created topic", CH_STR("topic", t->name),
                    CH_INT("partitions", t->partitions));
    }
    return learn_upstream(b, errstr, errstr_size);
}

void
broker_mock_stop(broker *b)
{
    if (b->mcluster)
        rd_kafka_mock_cluster_destroy(b->mcluster);
    if (b->rk) {
        rd_kafka_destroy(b->rk);
        rd_kafka_wait_destroyed(2000);
    }
}
