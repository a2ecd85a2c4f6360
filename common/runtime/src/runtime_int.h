/* The runtime's private state, shared by runtime.c, rt_kafka.c, rt_redis.c,
 * rt_http.c and metrics.c. Nothing outside common/runtime/src includes this. */
#ifndef CHARTER_RUNTIME_INT_H
#define CHARTER_RUNTIME_INT_H

#include <event2/event.h>
#include <event2/http.h>
#include <hiredis/async.h>
#include <librdkafka/rdkafka.h>
#include <protobuf-c/protobuf-c.h>
#include <regex.h>
#include <stdint.h>

#include "charter/redis_url.h"
#include "charter/runtime.h"

struct ch_metric {
    char *name;
    char *help;
    int gauge;
    double value;
    struct ch_metric *next;
};

/* Offsets in flight for one assigned partition, in consumption order. The
 * committed position only ever advances over a done prefix. */
typedef struct ch_ptrack {
    char *topic;
    int32_t partition;
    int64_t *offs;
    uint8_t *done;
    size_t head, count, cap;
    uint64_t head_seq; /* sequence number of the entry at head */
    uint64_t next_seq;
    int64_t pending_store; /* offset to store at the next flush, or -1 */
    int revoked;
    int refs; /* 1 while assigned + 1 per message in flight */
    struct ch_ptrack *next;
} ch_ptrack;

/* A subscription as the consumer matches it: the descriptor's and those
 * added by ch_runtime_subscribe(), a '^' topic compiled once. */
typedef struct {
    char *topic;
    const ProtobufCMessageDescriptor *type; /* NULL: raw bytes */
    void *opaque;
    int is_regex;
    regex_t re;
} ch_sub;

struct ch_msg {
    ch_runtime *rt;
    rd_kafka_message_t *rkm;
    ProtobufCMessage *decoded;
    const ch_sub *sub;
    ch_ptrack *pt;
    uint64_t seq;
    int attempts;
    char *dlq_reason; /* set once the message is headed for the DLQ */
    struct event *retry_ev;
    struct ch_msg *prev, *next; /* runtime's in-flight list */
};

typedef struct {
    char *log_level;
    char *http_listen;
    char *redis_url;
    int64_t shutdown_timeout_ms;
    int64_t max_inflight;
    char *dlq_topic;
} ch_runtime_config;

struct ch_runtime {
    const ch_service *svc;
    void *svc_ctx;
    void *svc_config;
    ch_log log;
    ch_runtime_config cfg;
    ch_config_section sections[2];
    ch_config config;

    struct event_base *base;
    struct event *sigterm_ev, *sigint_ev, *sighup_ev, *tick_ev, *shutdown_ev;
    ch_log_defer *log_defer;
    struct event *log_flush_ev; /* writes the turn's log lines at the end of the turn */

    ch_sub *subs; /* every subscription, descriptor's first */
    size_t nsubs;
    int kafka_started; /* ch_runtime_subscribe() is refused after this */

    rd_kafka_t *producer, *consumer;
    rd_kafka_queue_t *pqueue, *cqueue;
    int ppipe[2], cpipe[2];
    struct event *pev, *cev;
    volatile int kafka_up;
    ch_ptrack *tracks;
    ch_msg *msgs; /* in flight */
    size_t inflight;
    int consume_blocked;
    struct event *store_ev; /* flushes pending offset stores once per loop turn */
    int store_scheduled;
    int consumer_closed;

    redisAsyncContext *redis;
    int redis_ready;
    ch_redis_url rurl;
    struct event *redis_retry_ev;
    int64_t redis_backoff_ms;
    struct event *redis_flush_ev; /* sends the turn's commands at the end of the turn */
    int redis_flush_scheduled;

    struct evhttp *http;

    ch_metric *metrics;
    ch_metric *m_consumed, *m_produced, *m_produce_failed, *m_dlq, *m_retries, *m_http, *m_inflight,
        *m_redis_up, *m_kafka_up, *m_decode_failed;

    int stopping;   /* SIGTERM seen: no new intake */
    int finalizing; /* closing Kafka and Redis: no new work at all */
    int64_t stop_deadline_ms;
};

/* rt_kafka.c */
int ch__kafka_open(ch_runtime *rt, char *errstr, size_t errstr_size);
void ch__kafka_stop_intake(ch_runtime *rt);
size_t ch__kafka_outq_len(ch_runtime *rt);
void ch__kafka_close(ch_runtime *rt, int timeout_ms);
void ch__kafka_destroy(ch_runtime *rt);

/* rt_redis.c */
int ch__redis_open(ch_runtime *rt, char *errstr, size_t errstr_size);
void ch__redis_close(ch_runtime *rt);

/* rt_http.c */
int ch__http_open(ch_runtime *rt, char *errstr, size_t errstr_size);
void ch__http_destroy(ch_runtime *rt);

/* metrics.c */
void ch__metrics_render(ch_runtime *rt, struct evbuffer *out);
void ch__metrics_destroy(ch_runtime *rt);

#endif
