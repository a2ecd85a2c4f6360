/* The runtime's private state, shared by the files of common/runtime/src.
 * Nothing outside that folder includes this. */
#ifndef CHARTER_RUNTIME_INT_H
#define CHARTER_RUNTIME_INT_H

#include <event2/event.h>
#include <event2/http.h>
#include <hiredis/async.h>
#include <librdkafka/rdkafka.h>
#include <protobuf-c/protobuf-c.h>
#include <regex.h>
#include <stdint.h>

#include "charter/org_set.h"
#include "charter/redis_url.h"
#include "charter/runtime.h"
#include "log_defer.h"
#include "offsets.h"

struct ch_metric {
    char *name; /* with its labels: base{k="v",...} */
    char *help;
    int gauge; /* CH_METRIC_GAUGE / COUNTER / HISTOGRAM (ch_metric_kind) */
    double value;
    /* a histogram: nbuckets upper bounds (ascending), a count per bucket
     * (not cumulative; +Inf is count minus their sum), the sum */
    double *bounds;
    uint64_t *buckets;
    size_t nbuckets;
    uint64_t count;
    struct ch_metric *next;
};

/* One consumed topic's records in flight, and whether its partitions are
 * paused (only while the consumer is per topic: see kafka.c). Kept until the
 * runtime is destroyed. */
typedef struct ch_tflow {
    char *topic;
    size_t inflight;
    int paused;
    struct ch_tflow *next;
} ch_tflow;

/* One assigned partition: its messages in flight (offsets.h) and the offset
 * waiting to be stored. The committed position only ever advances over a
 * done prefix. */
typedef struct ch_ptrack {
    char *topic;
    ch_tflow *flow; /* its topic's */
    int32_t partition;
    ch_offsets offsets;
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

/* A Lua script registered with ch_redis_script_new(); the runtime owns it. */
struct ch_redis_script {
    ch_runtime *rt;
    char *lua;
    char sha[41]; /* SHA-1 of lua, hex: what EVALSHA names it by */
    struct ch_redis_script *next;
};

typedef struct ch_lane ch_lane; /* key_lanes.c */

struct ch_msg {
    ch_runtime *rt;
    rd_kafka_message_t *rkm;
    ProtobufCMessage *decoded;
    const ch_sub *sub;
    ch_ptrack *pt;
    uint64_t seq;
    int attempts;
    char *dlq_reason; /* set once the message is headed for the DLQ */
    ch_timer *retry;
    struct ch_msg *prev, *next; /* runtime's in-flight list */
    ch_lane *lane;              /* its key's lane (order_by_key), or NULL */
    struct ch_msg *lane_next;   /* the next record waiting in that lane */
};

typedef struct {
    char *log_level;
    char *http_listen;
    char *redis_url;
    int64_t shutdown_timeout_ms;
    int64_t max_inflight;
    char *dlq_topic;
    int64_t http_max_connections;
    int64_t http_max_header_bytes;
    int64_t http_max_headers;
    int64_t http_header_timeout_ms;
    int64_t http_body_timeout_ms;
    char *holidays_override_file;
} ch_runtime_config;

typedef struct ch_http_guard ch_http_guard; /* http_guard.c */

/* An HTTP request handed to a route, until its answer has been sent
 * (http.c: the request latency histogram). */
typedef struct ch_http_timing {
    const void *req; /* the evhttp_request, only compared */
    int64_t start_ms;
    size_t route;
    struct ch_http_timing *next;
} ch_http_timing;

#define CH_HTTP_TIMING_BUCKETS 256

struct ch_runtime {
    const ch_service *svc;
    void *svc_ctx;
    int svc_ready; /* init succeeded: fini runs at exit */
    void *svc_config;
    ch_log log;
    ch_runtime_config cfg;
    ch_config_section sections[2];
    ch_config config;

    struct event_base *base;
    struct event *sigterm_ev, *sigint_ev, *sighup_ev;
    ch_timer *tick, *shutdown_check; /* every second; every 20 ms while shutting down */
    ch_log_defer *log_defer;
    ch_timer *log_flush; /* writes the turn's log lines at the end of the turn */

    ch_sub *subs; /* every subscription, descriptor's first */
    size_t nsubs;
    int kafka_started; /* ch_runtime_subscribe() is refused after this */

    rd_kafka_t *producer, *consumer;
    rd_kafka_queue_t *pqueue, *cqueue;
    int ppipe[2], cpipe[2];
    struct event *pev, *cev;
    volatile int kafka_up;
    struct json_t *consumer_topics; /* the consumer's last statistics' "topics" (owned) */
    int64_t consumer_stats_ms;      /* when they came, 0: never */
    ch_ptrack *tracks;
    ch_msg *msgs;          /* in flight */
    ch_lane **lanes;       /* order_by_key: in-flight records by key (key_lanes.c) */
    size_t inflight;       /* all topics' */
    int consume_blocked;   /* at consumer.max_inflight: polling stopped */
    uint64_t released;     /* records finished, ever */
    uint64_t blocked_seen; /* released when the stall timer was armed */
    ch_timer *stall_check; /* blocked with nothing finishing: per topic */
    int per_topic;         /* bounding each topic on its own (kafka.c) */
    ch_tflow *flows;
    ch_timer *store_flush; /* stores pending offsets once per loop turn */
    int consumer_closed;

    redisAsyncContext *redis;
    int redis_ready;
    ch_redis_url rurl;
    ch_timer *redis_retry;
    int64_t redis_backoff_ms;
    ch_timer *redis_flush; /* sends the turn's commands at the end of the turn */
    /* the readers' connection (ch_service.redis_reader; redis_reader.c) */
    redisAsyncContext *redis_rd;
    int redis_rd_ready;
    ch_timer *redis_rd_retry, *redis_rd_flush;
    int64_t redis_rd_backoff_ms;

    ch_redis_script *scripts;

    struct evhttp *http;
    ch_http_guard *http_guard;
    int64_t *route_max_body;      /* per descriptor route, resolved at start */
    ch_metric **route_latency;    /* per route and status class (1xx..5xx), found on first use */
    ch_http_timing **timings;     /* requests with a route, answer not yet sent, in
                                     CH_HTTP_TIMING_BUCKETS lists by the request's address */
    ch_http_timing *timing_spare; /* finished ones, for the next requests */
    size_t timing_nspare;
    int64_t timing_swept_ms; /* the last look for stale ones */
    int64_t http_max_body;   /* the largest of them: evhttp's own limit */

    ch_org_set orgs;        /* the policy store: empty without svc->policy_dir_key */
    const char *policy_dir; /* the key's value (the config owns it) */

    ch_metric *metrics;
    ch_metric *m_consumed, *m_produced, *m_produce_failed, *m_dlq, *m_retries, *m_http, *m_inflight,
        *m_redis_up, *m_kafka_up, *m_decode_failed, *m_policy_reloads, *m_policy_refused,
        *m_policy_ok;
    ch_metric *m_http_conns, *m_http_paused, *m_http_evicted, *m_http_431, *m_http_413,
        *m_http_timeouts;

    int stopping;   /* SIGTERM seen: no new intake */
    int finalizing; /* closing Kafka and Redis: no new work at all */
    int exiting;    /* Redis closed, the loop leaving */
    int64_t stop_deadline_ms;
    int64_t svc_grace_ms; /* ch_runtime_shutdown_grace: a longer deadline for svc->busy */
};

/* Frees *ev if set and clears it. */
static inline void
ch__event_free(struct event **ev)
{
    if (*ev)
        event_free(*ev);
    *ev = NULL;
}

/* timer.c: a ch_timer that, once started with a delay, runs every delay
 * until stopped. */
ch_timer *ch__timer_new_periodic(ch_runtime *rt, ch_timer_fn fn, void *arg);

/* kafka.c */
int ch__kafka_open(ch_runtime *rt, char *errstr, size_t errstr_size);
void ch__kafka_stop_intake(ch_runtime *rt);
size_t ch__kafka_outq_len(ch_runtime *rt);
void ch__kafka_close(ch_runtime *rt, int timeout_ms);
void ch__kafka_destroy(ch_runtime *rt);
/* The partition's tracker, created on first use (NULL on ENOMEM). */
ch_ptrack *ch__track_get(ch_runtime *rt, const char *topic, int32_t partition);
void ch__track_unref(ch_ptrack *t);
/* A record of flow's topic was taken (1) or finished (-1): the in-flight
 * bounds (kafka.c). */
void ch__flow_count(ch_runtime *rt, ch_tflow *flow, int delta);

/* kafka_msg.c */
/* Takes a consumed record: tracks it, decodes it and hands it to the
 * service (one no subscription matches goes to the dead-letter topic).
 * Returns 0, or CH_ENOMEM when it could not even be tracked: rkm is then
 * still the caller's, who must make sure it is read again (kafka.c seeks
 * back) and that no later offset is committed past it. */
int ch__msg_consume(ch_runtime *rt, rd_kafka_message_t *rkm);
/* Drops a message without committing it (it is redelivered). */
void ch__msg_release(ch_msg *m);
/* Hands a record (again) to the service, or drops it when its partition
 * was revoked or the runtime is closing (a ch_timer callback). */
void ch__msg_retry(void *arg);

/* Per-key order (key_lanes.c). enter: 1 when m may be handled now, 0 when it
 * waits behind an earlier record of its key; leave (from ch__msg_release):
 * the next waiting record is handed over on a later turn. */
int ch__lane_enter(ch_runtime *rt, ch_msg *m);
void ch__lane_leave(ch_runtime *rt, ch_msg *m);
/* Revocation: takes out of their lanes every record of partition tracker pt
 * that is waiting (not a lane's head), chained through lane_next, for the
 * caller to release. Heads stay: the service holds them, or their retry
 * timer drops them. */
ch_msg *ch__lanes_take_waiting(ch_runtime *rt, const ch_ptrack *pt);
void ch__lanes_free(ch_runtime *rt);
/* Compiles the descriptor's subscriptions ahead of those added at init. */
int ch__subs_build(ch_runtime *rt, char *errstr, size_t errstr_size);
void ch__subs_free(ch_runtime *rt);

/* redis.c */
int ch__redis_open(ch_runtime *rt, char *errstr, size_t errstr_size);
void ch__redis_close(ch_runtime *rt);
/* Shutdown: no new commands; the connection closes once every command sent
 * has its answer (hiredis's graceful disconnect). */
void ch__redis_drain(ch_runtime *rt);
/* 1 while a drained connection still waits for answers. */
int ch__redis_draining(const ch_runtime *rt);
/* Sends a command with hiredis's own callback. Returns 0 (fn runs exactly
 * once) or CH_EAGAIN when Redis is not connected (fn never runs). */
int ch__redis_send_argv(ch_runtime *rt, redisCallbackFn *fn, void *priv, int argc,
                        const char **argv, const size_t *argvlen);

/* redis_reader.c: the readers' connection, opened, drained and closed
 * with the main one (nothing without ch_service.redis_reader). */
/* A new async connection to rt->rurl on the loop with these callbacks (its
 * data is rt), or NULL (logged) to retry later; and its AUTH and SELECT,
 * sent once connected (a refusal is logged and disconnects). redis.c. */
redisAsyncContext *ch__redis_dial(ch_runtime *rt, redisConnectCallback *on_up,
                                  redisDisconnectCallback *on_down);
void ch__redis_login(ch_runtime *rt, redisAsyncContext *c);
int ch__redis_reader_open(ch_runtime *rt, char *errstr, size_t errstr_size);
void ch__redis_reader_close(ch_runtime *rt);
void ch__redis_reader_drain(ch_runtime *rt);

/* redis_script.c */
void ch__redis_scripts_free(ch_runtime *rt);
/* SCRIPT LOAD of every registered script on a new connection. */
void ch__redis_scripts_load(ch_runtime *rt, redisAsyncContext *ac);

/* http.c */
int ch__http_open(ch_runtime *rt, char *errstr, size_t errstr_size);
void ch__http_destroy(ch_runtime *rt);
/* The body limit in bytes for a request to path (len bytes, without the
 * query): its route's, 0 for /healthz, /readyz and /metrics, or -1 for a
 * path no route takes (evhttp's limit, the largest route's, applies). */
int64_t ch__http_body_limit(const ch_runtime *rt, const char *path, size_t len);

/* http_guard.c: what a client may cost before a handler sees its request
 * (header size and count, body limits before the body is read, deadlines
 * for the head and the body, the connection cap, accept paused when
 * descriptors run out). open: after the socket is bound. */
int ch__http_guard_open(ch_runtime *rt, struct evhttp_bound_socket *bound, char *errstr,
                        size_t errstr_size);
void ch__http_guard_close(ch_runtime *rt);

/* metrics.c */
void ch__metrics_render(ch_runtime *rt, struct evbuffer *out);
void ch__metrics_destroy(ch_runtime *rt);

/* policy_store.c */
/* Loads the descriptor's policy directory (before init). Returns 0, or
 * CH_EINVAL (errstr names the file, or the key) or CH_ENOMEM. */
int ch__policies_open(ch_runtime *rt, char *errstr, size_t errstr_size);
/* SIGHUP: the directory again, all or nothing, then the service's reload. */
void ch__policies_reload(ch_runtime *rt);
void ch__policies_close(ch_runtime *rt);

#endif
