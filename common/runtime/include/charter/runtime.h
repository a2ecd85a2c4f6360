/*
 * One runtime, four descriptors.
 *
 * A Charter service is a ch_service table: its name, its config keys, the
 * topics it consumes with their protobuf types, callbacks for decoded
 * messages, partition assignment, HTTP routes and a periodic tick. The
 * runtime owns everything else: the single libevent loop, configuration,
 * logs, the Kafka consumer (woken through rd_kafka_queue_io_event_enable, so
 * there is no polling thread), the producer and its delivery reports, Redis
 * (hiredis async on the same loop, reconnecting with backoff), the HTTP
 * server with /healthz, /readyz and /metrics, signals, offsets, Lua scripts
 * (ch_redis_script) and, for a service that names a policy directory, the
 * organisations' policies with their SIGHUP reload (charter/policy_store.h).
 *
 * Offsets: a consumed message's offset is stored (and later auto-committed)
 * only when the service has called ch_msg_done() for it and for every earlier
 * message of the same partition, so a crash redelivers anything unfinished:
 * at-least-once, never lost. Services make their effects idempotent.
 *
 * Everything here runs on the loop's thread; nothing is thread-safe.
 */
#ifndef CHARTER_RUNTIME_H
#define CHARTER_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "charter/config.h"
#include "charter/log.h"

struct evhttp_request;
struct event_base;
struct redisReply;
struct ProtobufCMessage;
struct ProtobufCMessageDescriptor;
struct json_t;

typedef struct ch_runtime ch_runtime;
typedef struct ch_msg ch_msg;
typedef struct ch_metric ch_metric;
typedef struct ch_redis_script ch_redis_script;
typedef struct ch_timer ch_timer;

/* The number of elements of an array (not a pointer): a table's size for
 * the descriptor (.nconfig = CH_COUNTOF(keys)) or ch_metrics_register(). */
#define CH_COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

/*
 * One consumed topic and the protobuf message its records hold.
 *
 * A topic starting with '^' is a regular expression (POSIX extended, matched
 * against whole topic names; librdkafka subscribes to every matching topic,
 * including ones created later). type NULL means raw records: on_message gets
 * msg NULL and reads the bytes with ch_msg_value(); only ingest reads foreign
 * formats this way.
 */
typedef struct {
    const char *topic;
    const struct ProtobufCMessageDescriptor *type;
} ch_subscription;

/* One metric of a service's table, registered by ch_metrics_register(). */
typedef enum { CH_METRIC_COUNTER = 0, CH_METRIC_GAUGE, CH_METRIC_HISTOGRAM } ch_metric_kind;
typedef struct {
    ch_metric_kind kind;
    const char *name;
    const char *help;
    size_t offset; /* offsetof(the service's struct, its ch_metric * field) */
} ch_metric_def;

/* Table entries: `st` is the struct holding the ch_metric * `field`. */
#define CH_COUNTER(st, field, name_, help_)                                                        \
    {                                                                                              \
        .kind = CH_METRIC_COUNTER, .name = (name_), .help = (help_), .offset = offsetof(st, field) \
    }
#define CH_GAUGE(st, field, name_, help_)                                                          \
    {                                                                                              \
        .kind = CH_METRIC_GAUGE, .name = (name_), .help = (help_), .offset = offsetof(st, field)   \
    }
/* A histogram in seconds (ch_metric_seconds_buckets). */
#define CH_HISTOGRAM(st, field, name_, help_)                                                      \
    {                                                                                              \
        .kind = CH_METRIC_HISTOGRAM, .name = (name_), .help = (help_),                             \
        .offset = offsetof(st, field)                                                              \
    }

/* HTTP methods for routes (bit mask). */
enum { CH_HTTP_GET = 1, CH_HTTP_POST = 2, CH_HTTP_PUT = 4, CH_HTTP_DELETE = 8 };

/*
 * An HTTP handler. `rest` is the part of the path after the route's path
 * (for prefix routes) without the query string. The handler must answer the
 * request, now or later (for example after a Kafka delivery report).
 */
typedef void (*ch_http_fn)(void *svc, struct evhttp_request *req, const char *rest);

/*
 * A route. Its body limit is enforced by the runtime before the body is
 * read: a request announcing a larger body (Content-Length) gets 413 at the
 * end of its headers, and one that sends more (chunked) is cut off at the
 * service's largest limit and answered 413 before the handler sees it.
 * max_body 0 and no max_body_key: the route takes no body at all (GET
 * routes). max_body_key names an int key of the service's config table
 * whose value is the limit ("ingest.max_body_bytes"); it wins over
 * max_body.
 */
typedef struct {
    int methods;
    const char *path;
    int prefix; /* 1: path is a prefix ("/v1/cases/") */
    ch_http_fn fn;
    int64_t max_body;         /* bytes; 0: no body */
    const char *max_body_key; /* or NULL */
} ch_route;

typedef struct {
    const char *name;                /* "ingest": logs, metrics, default group id */
    const char *env_prefix;          /* "CHARTER_INGEST_" */
    const char *default_http_listen; /* "127.0.0.1:8080" */

    /* Service config: the runtime allocates config_size zeroed bytes, fills
     * them from this table and hands them to init. */
    const ch_config_entry *config;
    size_t nconfig;
    size_t config_size;

    /* The service's context, the same way (optional): with svc_size set,
     * the runtime allocates svc_size zeroed bytes, registers the metrics
     * table into them (ch_metrics_register, offsets into the context) and
     * hands them to init as *svc; it frees them after fini. With svc_size
     * 0, init allocates the context and fini frees it. */
    size_t svc_size;
    const ch_metric_def *metrics;
    size_t nmetrics;

    const ch_subscription *subs;
    size_t nsubs;

    /* librdkafka properties this service needs by default, as key, value
     * pairs ending with NULL (may be NULL); kafka.* configuration overrides
     * them. E.g. ingest bounds message.timeout.ms so a broker outage gives a
     * quick 503 rather than a request held for minutes. */
    const char *const *kafka_defaults;

    const ch_route *routes;
    size_t nroutes;

    /* 1: libevent coalesces the epoll_ctl calls of a loop turn
     * (EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST): evhttp switches each
     * connection between reading and writing per request, so a service
     * answering many small requests saves several system calls per request.
     * Safe here because no descriptor is dup()ed. */
    int epoll_changelist;

    /* 1: the records of one key (a case id on every Charter topic) are
     * handed to on_message one at a time, in the order consumed across all
     * the service's subscriptions: the next waits until ch_msg_done has
     * finished the one before (committed or dead-lettered; a retry keeps
     * the failed record at the head of its lane, retried with backoff, and
     * the others waiting behind it, so a key's records are never
     * reordered). When a partition is revoked, its records still waiting in
     * a lane are dropped uncommitted (the next owner gets them); the one
     * being handled sees ch_msg_revoked(). For a service that reads and
     * rewrites a case's state per record (reporting, sla-timer). Not for
     * one that waits for a later record of the same case before finishing
     * an earlier one. */
    int order_by_key;

    /* Sets up the service context (*svc: the runtime's, with svc_size; else
     * init's to create). Returns 0, or fills errstr and returns a CH_E*
     * code (start-up stops), having undone its own work: fini is not
     * called after a failed init. */
    int (*init)(ch_runtime *rt, const void *config, void **svc, char *errstr, size_t errstr_size);

    /*
     * A decoded record. `msg` (of the subscription's type, or NULL for a raw
     * subscription) and `m` are borrowed until ch_msg_done(m, ...) is called,
     * which the service must do exactly once, now or later.
     */
    void (*on_message)(void *svc, ch_msg *m, const struct ProtobufCMessage *msg);

    /* Partition ownership (may be NULL). on_revoke is called before the
     * offsets are committed and the partition is handed over. */
    void (*on_assign)(void *svc, const char *topic, int32_t partition);
    void (*on_revoke)(void *svc, const char *topic, int32_t partition);

    /* Called when Redis (re)connects (may be NULL). */
    void (*on_redis_ready)(void *svc);

    /* 1: a second Redis connection for ch_redis_read, so a reader's
     * commands do not queue behind the writes sent on the main one. */
    int redis_reader;

    /*
     * The policy store (optional). policy_dir_key names a string key of the
     * service's config table ("sla.policy_dir") whose value is a directory
     * of organisation policies (*.yaml). The runtime loads it before init
     * (a bad policy, two for one organisation, or none at all stops
     * start-up with exit 2) and again on SIGHUP, all or nothing: a
     * directory with any bad policy is refused and logged ("policy reload
     * refused; keeping the running policies"), the running ones stay; a
     * good one replaces them, is counted in policy_reloads_metric (NULL:
     * "charter_policy_reloads_total") and logged ("policies reloaded").
     * ch_runtime_orgs() (charter/policy_store.h) gives the current set.
     * policy_dir_optional 1: an empty value means no policies (an empty
     * set) rather than an error.
     */
    const char *policy_dir_key;
    int policy_dir_optional;
    const char *policy_reloads_metric;

    /* Called on SIGHUP with the new policies loaded but not yet in place
     * (may be NULL): 0 lets them in; a CH_E* code with errstr refuses the
     * whole reload (logged; the running policies stay). For what must
     * change together with the policies (notification's templates). */
    int (*reload_check)(void *svc, char *errstr, size_t errstr_size);

    /* Called on SIGHUP (may be NULL), after the policy store took the new
     * policies (when the service has one; not when it refused them):
     * re-read the rest of what can change at run time. A service that
     * cannot use the new version keeps the old one and logs why. */
    void (*reload)(void *svc);

    /* Called once a second (may be NULL); throttle sub-tasks inside. */
    void (*tick)(void *svc, int64_t now_ms);

    /* Called once at shutdown before Kafka and Redis close (may be NULL):
     * stop starting new work. */
    void (*stop)(void *svc);

    /* Work of the service's own that shutdown waits for, as it waits for
     * consumed messages (may be NULL): 1 while some is under way
     * (notification's sends), 0 when none is. Checked every 20 ms after
     * stop, until 0 or the deadline (shutdown.timeout_ms, or the service's
     * ch_runtime_shutdown_grace if longer). */
    int (*busy)(void *svc);

    /* Frees what init set up, and the context unless svc_size is set (may
     * be NULL). */
    void (*fini)(void *svc);
} ch_service;

/*
 * Runs a service: parses argv (--config FILE, --help), loads config from
 * defaults, file and environment, connects, and runs the loop until SIGTERM
 * or SIGINT. Returns the process exit code (0 clean, 1 runtime failure,
 * 2 bad configuration).
 */
int ch_runtime_main(const ch_service *svc, int argc, char **argv, char **envp);

/* ---- for services ---- */

const ch_log *ch_runtime_log(const ch_runtime *rt);
struct event_base *ch_runtime_base(ch_runtime *rt);

/* A kafka.* setting as the producer and consumer get it (the service's
 * default, the file or the environment), or NULL when unset. */
const char *ch_runtime_kafka_setting(const ch_runtime *rt, const char *key);

/* From init only (before Kafka starts): sets a kafka.* property unless it
 * is set already (the descriptor's kafka_defaults, the file or the
 * environment), for a default derived from the service's
 * own configuration (sla-timer's message.timeout.ms from sla.lease_ms).
 * Returns 0 or CH_ENOMEM; CH_EINVAL once Kafka has started. */
int ch_runtime_kafka_default(ch_runtime *rt, const char *key, const char *value);
int ch_runtime_stopping(const ch_runtime *rt);

/*
 * The consumer's lag on `topic`: the records of its partitions assigned to
 * this instance not yet finished by the service (ch_msg_done) and stored,
 * or, before any is stored, not yet committed; summed. From librdkafka's
 * statistics, refreshed each second; *at_ms (may be NULL) says when they
 * came (0: never). -1 when not known: no statistics yet, none of the
 * topic's partitions assigned here, or a partition with no position yet.
 */
int64_t ch_runtime_consumer_lag(const ch_runtime *rt, const char *topic, int64_t *at_ms);

/* From init: a SIGTERM shutdown may take up to grace_ms (when longer than
 * shutdown.timeout_ms) for the service's busy work to finish. */
void ch_runtime_shutdown_grace(ch_runtime *rt, int64_t grace_ms);

/* 1 while the producer sees at least one Kafka broker up (updated each
 * second from librdkafka's statistics and at once when all brokers go down);
 * the same fact /readyz reports. */
int ch_runtime_kafka_up(const ch_runtime *rt);

/*
 * Timers on the runtime's loop, for work a service schedules itself (a due
 * time, a retry, work gathered over one loop turn): fn(arg) runs on the
 * loop's thread, once per start. A timer is created stopped and lives until
 * ch_timer_free (which stops it; NULL is ignored); the runtime frees none of
 * them, so free them in the service's fini at the latest.
 */
typedef void (*ch_timer_fn)(void *arg);

/* A stopped timer, or NULL on ENOMEM. */
ch_timer *ch_timer_new(ch_runtime *rt, ch_timer_fn fn, void *arg);

/* Runs fn once, delay_us from now (0 or less: at the next loop turn);
 * starting a started timer moves it. Returns 0, or CH_EIO (fn will not run
 * for this start). */
int ch_timer_start(ch_timer *t, int64_t delay_us);

/* Runs fn once at the end of this loop turn, after the callbacks already
 * due, so work gathered over the turn goes out together; replaces a pending
 * start. Calling it again before fn has run changes nothing. */
void ch_timer_soon(ch_timer *t);

/* Cancels the next run, if any. */
void ch_timer_stop(ch_timer *t);

void ch_timer_free(ch_timer *t);

/*
 * Adds a subscription decided at run time (from configuration), besides the
 * descriptor's table. Only from init, before Kafka starts; topic is copied, a
 * '^' pattern must compile. opaque comes back from ch_msg_opaque() for the
 * records this subscription delivers. Returns 0, or CH_EINVAL (errstr says
 * why) or CH_ENOMEM.
 */
int ch_runtime_subscribe(ch_runtime *rt, const char *topic,
                         const struct ProtobufCMessageDescriptor *type, void *opaque, char *errstr,
                         size_t errstr_size);

/*
 * Reads every record topic retains, at start-up (from init: it blocks):
 * fn gets each record's value (borrowed for the call; NULL and 0 for none),
 * partition by partition in offset order, up to the end each partition had
 * when the scan began. A topic that does not exist yet is empty. Returns 0,
 * or CH_EIO (Kafka unreachable, or not read within timeout_ms) or
 * CH_EINVAL with errstr filled.
 */
int ch_runtime_topic_scan(ch_runtime *rt, const char *topic, int64_t timeout_ms,
                          void (*fn)(void *arg, const void *value, size_t len), void *arg,
                          char *errstr, size_t errstr_size);

/*
 * Finishes a consumed message. rc 0: done, its offset may be committed.
 * CH_EAGAIN or CH_EIO: a temporary failure; the runtime retries the same
 * message with backoff (later messages of the partition still run, but no
 * offset past it is committed). CH_EBADMSG or CH_EINVAL: the record can never
 * be processed; it goes to the dead-letter topic with `reason` and is then
 * done. After this call `m` and the message are gone.
 */
void ch_msg_done(ch_msg *m, int rc, const char *reason);

/* 1 once the partition m came from was revoked (or lost): m will not be
 * committed and the partition's next owner handles it again, so a service
 * doing several steps per record stops at the next one and finishes m with
 * ch_msg_done(m, CH_EAGAIN, ...), which then drops it. */
int ch_msg_revoked(const ch_msg *m);

/* Where the message came from (valid until ch_msg_done). */
const char *ch_msg_topic(const ch_msg *m);
int32_t ch_msg_partition(const ch_msg *m);
int64_t ch_msg_offset(const ch_msg *m);
/* Kafka timestamp of the record, ms since the epoch, or -1. */
int64_t ch_msg_timestamp(const ch_msg *m);
/* The record's value and key bytes (NULL and 0 when absent), borrowed until
 * ch_msg_done. */
const void *ch_msg_value(const ch_msg *m, size_t *len);
const void *ch_msg_key(const ch_msg *m, size_t *len);
/* The opaque of the ch_runtime_subscribe() call that delivered m; NULL for
 * the descriptor's own subscriptions. */
void *ch_msg_opaque(const ch_msg *m);

/*
 * Delivery callback: rc 0 when Kafka acknowledged the write (offset set),
 * CH_EIO otherwise (errstr says why).
 */
typedef void (*ch_produce_cb)(void *opaque, int rc, int32_t partition, int64_t offset,
                              const char *errstr);

/*
 * Serialises msg and produces it to topic with key. Returns 0 and later calls
 * cb exactly once (cb may be NULL); or returns CH_EAGAIN (local queue full,
 * or stopping) or CH_EIO and never calls cb.
 */
int ch_produce(ch_runtime *rt, const char *topic, const char *key,
               const struct ProtobufCMessage *msg, ch_produce_cb cb, void *opaque);

/*
 * Redis reply callback: reply is NULL when the command failed because the
 * connection dropped or the runtime is closing; it is borrowed.
 */
typedef void (*ch_redis_cb)(void *opaque, struct redisReply *reply);

/* 1 when the Redis connection is up (and authenticated). */
int ch_redis_ready(const ch_runtime *rt);

/*
 * Sends a command (hiredis format string). Returns 0 and calls cb exactly
 * once later (cb may be NULL); or CH_EAGAIN when Redis is not connected, or
 * CH_ENOMEM, and cb is never called.
 */
int ch_redis_command(ch_runtime *rt, ch_redis_cb cb, void *opaque, const char *fmt, ...);

/*
 * The same with the command as argc words. argvlen may be NULL: every word
 * is then a NUL-terminated string (hiredis takes strlen of each); give the
 * lengths only for binary words. argv is copied before this returns.
 */
int ch_redis_command_argv(ch_runtime *rt, ch_redis_cb cb, void *opaque, int argc, const char **argv,
                          const size_t *argvlen);

/* One command of a transaction (ch_redis_multi): argc words, as for
 * ch_redis_command_argv. */
typedef struct {
    int argc;
    const char **argv;
    const size_t *argvlen;
} ch_redis_cmd;

/*
 * Sends the n commands as one transaction (MULTI, the commands, EXEC) on
 * the main connection: Redis runs them together, nothing else between them.
 * cb gets EXEC's answer: an array with each command's reply in order (any
 * may be an error reply), or an error (EXECABORT: Redis refused one of them
 * when queued, e.g. OOM), or NULL when the connection dropped. Plain
 * commands cost Redis less than a script that makes the same calls (no Lua
 * interpreter, no conversion of every word to a Lua string and back). Same
 * contract as ch_redis_command; the words are copied before this returns.
 */
int ch_redis_multi(ch_runtime *rt, ch_redis_cb cb, void *opaque, size_t n,
                   const ch_redis_cmd *cmds);

/*
 * ch_redis_command and ch_redis_command_argv for commands that only read,
 * on the service's second connection (ch_service.redis_reader) when it is
 * up, so they wait for the command Redis is running, not for every write
 * queued before them; on the main connection otherwise. Nothing orders
 * them against writes sent earlier on the main one. Same contract.
 */
int ch_redis_read(ch_runtime *rt, ch_redis_cb cb, void *opaque, const char *fmt, ...);
int ch_redis_read_argv(ch_runtime *rt, ch_redis_cb cb, void *opaque, int argc, const char **argv,
                       const size_t *argvlen);

/*
 * Writes the commands sent so far to Redis now. Without it they are written
 * together at the end of the loop turn; a caller that has a large batch
 * ready mid-turn calls this so Redis runs it while the turn goes on.
 */
void ch_redis_flush(ch_runtime *rt);

/*
 * A Lua script the runtime runs by its SHA-1 (EVALSHA), so each call sends
 * 40 bytes rather than the script's text. Register once, at init; the
 * runtime owns the script (lua is copied) and frees it at exit. NULL on
 * ENOMEM.
 */
ch_redis_script *ch_redis_script_new(ch_runtime *rt, const char *lua);

/*
 * Runs the script: argv holds its nkeys keys, then its other arguments
 * (argc words in all; argvlen may be NULL, as for ch_redis_command_argv).
 * When Redis answers NOSCRIPT (it restarted or was flushed), the runtime
 * sends the same call once more as EVAL with the text, which loads the
 * script, and cb gets that answer. Same contract as ch_redis_command:
 * returns 0 and calls cb exactly once (reply NULL when the connection
 * dropped), or CH_EAGAIN (not connected) or CH_ENOMEM and never calls cb.
 * argv is copied before this returns.
 */
int ch_redis_script_call(ch_redis_script *s, ch_redis_cb cb, void *opaque, int nkeys, int argc,
                         const char **argv, const size_t *argvlen);

/* Metrics, exposed on /metrics in Prometheus text format. `name` may carry
 * labels: "charter_timers_fired_total{kind=\"breach\"}". The runtime owns
 * the metric; the pointer lives as long as the runtime. NULL on ENOMEM. */
ch_metric *ch_metric_counter(ch_runtime *rt, const char *name, const char *help);
ch_metric *ch_metric_gauge(ch_runtime *rt, const char *name, const char *help);
void ch_metric_add(ch_metric *m, double v);
void ch_metric_set(ch_metric *m, double v);
/* The metric's current value (0 for NULL; a histogram's number of
 * observations). */
double ch_metric_value(const ch_metric *m);

/*
 * A histogram in Prometheus' form (name_bucket{le=...}, name_sum,
 * name_count): bounds are the buckets' upper bounds, ascending, in the
 * metric's unit (seconds for durations), copied. NULL on ENOMEM or bad
 * bounds. ch_metric_observe adds one observation (ignored for NULL).
 */
ch_metric *ch_metric_histogram(ch_runtime *rt, const char *name, const char *help,
                               const double *bounds, size_t nbounds);
void ch_metric_observe(ch_metric *m, double v);
/* Buckets for durations in seconds: 1 ms to 60 s. */
extern const double ch_metric_seconds_buckets[];
extern const size_t ch_metric_seconds_nbuckets;

/*
 * One labelled series of a family, found or made on first use: name is the
 * family's base name, labels nlabels pairs (keys[i], values[i]); values are
 * escaped as Prometheus requires. Callers keep the label values bounded
 * (organisations, channels, transports, outcomes, routes, status classes),
 * never ids or addresses. A histogram series takes its buckets from
 * ch_metric_seconds_buckets. NULL on ENOMEM. Lookup is a walk of the
 * registry: callers on a hot path keep the pointer.
 */
ch_metric *ch_metric_series(ch_runtime *rt, ch_metric_kind kind, const char *name, const char *help,
                            size_t nlabels, const char *const *keys, const char *const *values);

/*
 * Registers every metric of defs, storing each pointer at (char *)base +
 * offset:
 *
 *   static const ch_metric_def metrics[] = {
 *       CH_COUNTER(my_svc, m_done, "charter_my_done_total", "things done"),
 *   };
 *   rc = ch_metrics_register(rt, metrics, CH_COUNTOF(metrics), svc);
 *
 * Returns 0, or CH_ENOMEM (the fields of the metrics not registered are
 * NULL, which ch_metric_add and ch_metric_set ignore).
 */
int ch_metrics_register(ch_runtime *rt, const ch_metric_def *defs, size_t n, void *base);

/* HTTP helpers. The body is JSON text; errors are {"error":{"code","message"}}. */
void ch_http_reply_json(struct evhttp_request *req, int status, const char *json);
/* The same from a jansson value, which this takes (and decrefs); NULL, or a
 * value that cannot be written, answers 500. */
void ch_http_reply_json_value(struct evhttp_request *req, int status, struct json_t *v);
void ch_http_reply_error(struct evhttp_request *req, int status, const char *code,
                         const char *message);
/* The same with the offending field named ({"error":{"code","field","message"}}). */
void ch_http_reply_error_field(struct evhttp_request *req, int status, const char *code,
                               const char *field, const char *message);
/* Adds "Retry-After: seconds" to the answer about to be sent. */
void ch_http_retry_after(struct evhttp_request *req, int seconds);
/* 503 with Retry-After and {"error":{"code":"unavailable","message":message}}:
 * something the request needs (Kafka, Redis, memory) is missing for now. */
void ch_http_reply_unavailable(struct evhttp_request *req, int retry_after_s, const char *message);
/* An HTML page (UTF-8) that may load nothing from elsewhere: a
 * Content-Security-Policy of default-src 'none' (inline styles and data:
 * images only), nosniff, and no-cache. */
void ch_http_reply_html(struct evhttp_request *req, int status, const char *html);

#endif
