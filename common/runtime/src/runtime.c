/*
 * ch_runtime_main(): start-up, the loop, and shutdown.
 *
 * Shutdown is driven by the loop rather than by blocking calls, because
 * work in flight (an HTTP answer waiting for a Kafka delivery report, a Redis
 * reply a handler needs) can only finish while the loop runs. On SIGTERM the
 * runtime stops intake (HTTP routes answer 503, partitions are paused), then
 * checks every 20 ms until nothing is in flight or the deadline is near,
 * and only then flushes the producer, commits offsets and closes the
 * consumer. Redis closes last, and gracefully: delivery reports served
 * during the flush write their outcomes there (ingest's idempotency record,
 * sla-timer's acknowledgement, notification's "sent"), so the connection
 * stays open until Redis has answered every command sent, and the loop runs
 * until then. shutdown.timeout_ms bounds the whole sequence.
 */
#include <event2/event.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/timeutil.h"
#include "charter/version.h"
#include "charter/topics.h"
#include "runtime_int.h"

static const ch_config_entry runtime_keys[] = {
    CH_CFG_STR_CHECKED(ch_runtime_config, log_level, "log.level", "info",
                       "least important log level written: debug, info, warn or error",
                       ch_config_validate_log_level),
    CH_CFG_STR_CHECKED(ch_runtime_config, http_listen, "http.listen", NULL,
                       "HOST:PORT for the HTTP server (/healthz, /readyz, /metrics and the "
                       "service's API); the default depends on the service",
                       ch_config_validate_hostport),
    CH_CFG_STR(ch_runtime_config, redis_url, "redis.url", "redis://127.0.0.1:6379/0",
               "Redis to use: redis://[[user]:password@]host[:port][/db] or "
               "unix:///path[?db=N]"),
    CH_CFG_INT(ch_runtime_config, shutdown_timeout_ms, "shutdown.timeout_ms", "4500",
               "longest a SIGTERM shutdown may take before work still in flight is abandoned "
               "(it is redelivered on restart)",
               500, 600000),
    CH_CFG_INT(ch_runtime_config, max_inflight, "consumer.max_inflight", "1000",
               "consumed records handled at once; at the limit no more are taken until half "
               "have finished (held there 1 s with none finishing: per topic)",
               1, 1000000),
    CH_CFG_STR(ch_runtime_config, dlq_topic, "dlq.topic", CH_TOPIC_DLQ,
               "topic for records that can never be processed (kept with the reason)"),
    CH_CFG_INT(ch_runtime_config, http_max_connections, "http.max_connections", "1024",
               "HTTP connections open at once; at the cap the service stops accepting until one "
               "closes (keep it below the descriptor limit, LimitNOFILE, less about 100)",
               1, 1000000),
    CH_CFG_INT(ch_runtime_config, http_max_header_bytes, "http.max_header_bytes", "16384",
               "largest request line and headers of an HTTP request; more is answered 431", 1024,
               1048576),
    CH_CFG_INT(ch_runtime_config, http_max_headers, "http.max_headers", "64",
               "most header lines in an HTTP request; more is answered 431", 8, 10000),
    CH_CFG_INT(ch_runtime_config, http_header_timeout_ms, "http.header_timeout_ms", "10000",
               "time a client has to send a request's line and headers, counted from the "
               "connection's start or the previous answer (idle keep-alive included); then "
               "the connection is closed (408 when part of a request came)",
               100, 600000),
    CH_CFG_INT(ch_runtime_config, http_body_timeout_ms, "http.body_timeout_ms", "30000",
               "time a client has to send a whole request, headers and body, from its start; "
               "then 408 and the connection is closed",
               100, 600000),
    CH_CFG_STR(ch_runtime_config, holidays_override_file, "holidays.override_file", "",
               "GOV.UK bank-holidays.json (same format) whose years replace the built-in bank "
               "holidays, read with the policies at start and on SIGHUP; check it first with "
               "`charterctl holidays --override FILE`; empty: the built-in rules only"),
};

/* In the order /metrics lists them. */
static const ch_metric_def runtime_metrics[] = {
    /* Kafka */
    CH_COUNTER(ch_runtime, m_consumed, "charter_kafka_consumed_total", "records consumed"),
    CH_COUNTER(ch_runtime, m_produced, "charter_kafka_produced_total",
               "records Kafka acknowledged"),
    CH_COUNTER(ch_runtime, m_produce_failed, "charter_kafka_produce_failed_total",
               "records Kafka refused"),
    CH_COUNTER(ch_runtime, m_dlq, "charter_dead_letters_total",
               "records sent to the dead-letter topic"),
    CH_COUNTER(ch_runtime, m_decode_failed, "charter_decode_failures_total",
               "records that did not decode as their type"),
    CH_COUNTER(ch_runtime, m_retries, "charter_handler_retries_total",
               "handler retries after a temporary failure"),
    /* HTTP */
    CH_COUNTER(ch_runtime, m_http, "charter_http_requests_total", "HTTP requests received"),
    CH_GAUGE(ch_runtime, m_http_conns, "charter_http_connections", "HTTP connections open"),
    CH_COUNTER(ch_runtime, m_http_paused, "charter_http_accept_paused_total",
               "times accepting HTTP connections was paused (http.max_connections reached, or "
               "no file descriptor left)"),
    CH_COUNTER(ch_runtime, m_http_evicted, "charter_http_connections_evicted_total",
               "idle HTTP connections (no request, or its headers still arriving) closed to "
               "make room at http.max_connections or when file descriptors ran out"),
    CH_COUNTER(ch_runtime, m_http_431, "charter_http_headers_refused_total",
               "HTTP requests refused 431 (headers over http.max_header_bytes or "
               "http.max_headers)"),
    CH_COUNTER(ch_runtime, m_http_413, "charter_http_body_refused_total",
               "HTTP requests refused 413 (a body over the route's limit, or on a route that "
               "takes none)"),
    CH_COUNTER(ch_runtime, m_http_timeouts, "charter_http_timeouts_total",
               "HTTP connections closed at the header or body deadline"),
    /* health */
    CH_GAUGE(ch_runtime, m_inflight, "charter_inflight_messages",
             "consumed messages being handled"),
    CH_GAUGE(ch_runtime, m_redis_up, "charter_redis_up", "1 when Redis is connected"),
    CH_GAUGE(ch_runtime, m_kafka_up, "charter_kafka_up", "1 when a Kafka broker is up"),
};

const char *
ch_runtime_kafka_setting(const ch_runtime *rt, const char *key)
{
    return ch_config_kafka_get(&rt->config, key);
}

int
ch_runtime_kafka_default(ch_runtime *rt, const char *key, const char *value)
{
    if (rt->kafka_started)
        return CH_EINVAL;
    if (ch_config_kafka_get(&rt->config, key))
        return 0;
    return ch_config_kafka_set(&rt->config, key, value) != 0 ? CH_ENOMEM : 0;
}

const ch_log *
ch_runtime_log(const ch_runtime *rt)
{
    return &rt->log;
}

struct event_base *
ch_runtime_base(ch_runtime *rt)
{
    return rt->base;
}

int
ch_runtime_stopping(const ch_runtime *rt)
{
    return rt->stopping;
}

void
ch_runtime_shutdown_grace(ch_runtime *rt, int64_t grace_ms)
{
    rt->svc_grace_ms = grace_ms;
}

int
ch_runtime_kafka_up(const ch_runtime *rt)
{
    return rt->kafka_up;
}

static void
finalize(ch_runtime *rt)
{
    if (rt->finalizing)
        return;
    rt->finalizing = 1;
    if (rt->inflight)
        CH_LOG_WARN(&rt->log,
                    "shutdown deadline reached with work in flight; it will be "
                    "redelivered",
                    CH_INT("in_flight", rt->inflight));
    int64_t left = rt->stop_deadline_ms - ch_time_now_ms();
    ch__kafka_close(rt, left > 400 ? (int)(left - 400) : 0);
    ch__redis_drain(rt);
}

/* After finalize: once Redis has answered what the flush sent (or the
 * deadline has come), close it and leave the loop. */
static void
drain_check(ch_runtime *rt)
{
    if (rt->exiting || (ch__redis_draining(rt) && ch_time_now_ms() < rt->stop_deadline_ms))
        return;
    rt->exiting = 1;
    if (ch__redis_draining(rt))
        CH_LOG_WARN(&rt->log, "shutdown deadline reached with Redis commands unanswered");
    ch__redis_close(rt);
    struct timeval tv = {0, 100000}; /* let HTTP answers already written go out */
    event_base_loopexit(rt->base, &tv);
}

static void
shutdown_check(void *arg)
{
    ch_runtime *rt = arg;
    if (rt->finalizing) {
        drain_check(rt);
        return;
    }
    int idle = rt->inflight == 0 && ch__kafka_outq_len(rt) == 0 &&
               !(rt->svc->busy && rt->svc->busy(rt->svc_ctx));
    if (idle || ch_time_now_ms() >= rt->stop_deadline_ms - 1000)
        finalize(rt);
}

static void
begin_shutdown(ch_runtime *rt, const char *why)
{
    if (rt->stopping) {
        CH_LOG_INFO(&rt->log, "already shutting down", CH_STR("signal", why));
        return;
    }
    rt->stopping = 1;
    int64_t grace = rt->cfg.shutdown_timeout_ms;
    if (rt->svc_grace_ms > grace)
        grace = rt->svc_grace_ms;
    rt->stop_deadline_ms = ch_time_now_ms() + grace;
    CH_LOG_INFO(&rt->log, "shutting down", CH_STR("signal", why),
                CH_INT("in_flight", rt->inflight));
    if (rt->svc->stop)
        rt->svc->stop(rt->svc_ctx);
    ch__kafka_stop_intake(rt);
    ch_timer_start(rt->shutdown_check, 20000);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    begin_shutdown(arg, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void
reload_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    ch_runtime *rt = arg;
    CH_LOG_INFO(&rt->log, "SIGHUP: reloading");
    if (!rt->stopping)
        ch__policies_reload(rt);
}

static void
tick(void *arg)
{
    ch_runtime *rt = arg;
    ch_metric_set(rt->m_inflight, (double)rt->inflight);
    ch_metric_set(rt->m_kafka_up, rt->kafka_up);
    if (rt->svc->tick && !rt->finalizing)
        rt->svc->tick(rt->svc_ctx, ch_time_now_ms());
}

static void
usage(const ch_service *svc, ch_config *cfg, FILE *out)
{
    fprintf(out,
            "Usage: charter-%s [--config FILE] [--help] [--version]\n\n"
            "Charter's %s service. Configuration comes from defaults, then FILE (one\n"
            "`key = value` per line, '#' comments), then the environment; unknown keys\n"
            "stop start-up. Logs are JSON lines on stderr.\n\n",
            svc->name, svc->name);
    ch_config_print_help(cfg, out);
}

static void
log_flush(void *lg)
{
    ch_log_flush(lg);
}

/* ch_log_defer's schedule: the flush timer runs at the turn's end. */
static void
log_schedule(void *flush)
{
    ch_timer_soon(flush);
}

/* Lines logged on the loop's thread are written once per loop turn. */
static int
setup_log_defer(ch_runtime *rt)
{
    rt->log_defer = calloc(1, sizeof(*rt->log_defer));
    rt->log_flush = ch_timer_new(rt, log_flush, &rt->log);
    if (!rt->log_defer || !rt->log_flush)
        return CH_ENOMEM;
    ch__log_defer_attach(rt->log_defer, &rt->log, log_schedule, rt->log_flush);
    return 0;
}

static void
runtime_free(ch_runtime *rt)
{
    ch__kafka_destroy(rt);
    ch__redis_close(rt);
    if (rt->svc->fini && rt->svc_ready && rt->svc_ctx)
        rt->svc->fini(rt->svc_ctx);
    if (rt->svc->svc_size)
        free(rt->svc_ctx);
    ch__http_destroy(rt);
    ch__redis_scripts_free(rt);
    ch__policies_close(rt);
    ch__event_free(&rt->sigterm_ev);
    ch__event_free(&rt->sigint_ev);
    ch__event_free(&rt->sighup_ev);
    ch_timer_free(rt->tick);
    ch_timer_free(rt->shutdown_check);
    ch_log_flush(&rt->log);
    rt->log.defer = NULL;
    ch_timer_free(rt->log_flush);
    free(rt->log_defer);
    if (rt->base)
        event_base_free(rt->base);
    ch__metrics_destroy(rt);
    ch_config_free(&rt->config);
    free(rt->svc_config);
    free(rt);
}

/* The descriptor's context and its metrics, when it asks the runtime for them. */
static int
svc_context_new(ch_runtime *rt, char *errstr, size_t errstr_size)
{
    const ch_service *svc = rt->svc;
    if (!svc->svc_size)
        return 0;
    if (!(rt->svc_ctx = calloc(1, svc->svc_size)) ||
        ch_metrics_register(rt, svc->metrics, svc->nmetrics, rt->svc_ctx) != 0) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    return 0;
}

static int
kafka_defaults(ch_runtime *rt, char *errstr, size_t errstr_size)
{
    for (const char *const *kv = rt->svc->kafka_defaults; kv && kv[0] && kv[1]; kv += 2) {
        if (ch_config_kafka_set(&rt->config, kv[0], kv[1]) != 0) {
            snprintf(errstr, errstr_size, "out of memory");
            return CH_ENOMEM;
        }
    }
    return 0;
}

/* charter_build_info{service,version} 1: which release each process runs. */
static int
build_info(ch_runtime *rt)
{
    static const char *const keys[] = {"service", "version"};
    const char *values[] = {rt->svc->name, CHARTER_VERSION};
    ch_metric *m = ch_metric_series(rt, CH_METRIC_GAUGE, "charter_build_info",
                                    "always 1; the labels name the service and the version it runs",
                                    2, keys, values);
    ch_metric_set(m, 1);
    return m ? 0 : CH_ENOMEM;
}

int
ch_runtime_main(const ch_service *svc, int argc, char **argv, char **envp)
{
    char errstr[1024];
    int code = 2;
    ch_runtime *rt = calloc(1, sizeof(*rt));
    if (!rt || !(rt->svc_config = calloc(1, svc->config_size ? svc->config_size : 1))) {
        fprintf(stderr, "charter-%s: out of memory\n", svc->name);
        free(rt);
        return 1;
    }
    rt->svc = svc;
    rt->log.service = svc->name;
    rt->log.level = CH_LOG_INFO;
    rt->log.out = stderr;
    rt->sections[0] = (ch_config_section){runtime_keys, CH_COUNTOF(runtime_keys), &rt->cfg};
    rt->sections[1] = (ch_config_section){svc->config, svc->nconfig, rt->svc_config};
    rt->config.sections = rt->sections;
    rt->config.nsections = 2;
    rt->config.env_prefix = svc->env_prefix;

    const char *config_file = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            ch_config_defaults(&rt->config, errstr, sizeof(errstr));
            ch_config_set(&rt->config, "http.listen", svc->default_http_listen, errstr,
                          sizeof(errstr));
            usage(svc, &rt->config, stdout);
            code = 0;
            goto out;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("charter-%s %s\n", svc->name, CHARTER_VERSION_LINE);
            code = 0;
            goto out;
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config_file = argv[++i];
        } else {
            fprintf(stderr, "charter-%s: unknown argument '%s' (try --help)\n", svc->name, argv[i]);
            goto out;
        }
    }
    if (ch_config_defaults(&rt->config, errstr, sizeof(errstr)) ||
        ch_config_set(&rt->config, "http.listen", svc->default_http_listen, errstr,
                      sizeof(errstr)) ||
        ch_config_kafka_set(&rt->config, "bootstrap.servers", "127.0.0.1:9092") ||
        kafka_defaults(rt, errstr, sizeof(errstr)) ||
        (config_file && ch_config_load_file(&rt->config, config_file, errstr, sizeof(errstr))) ||
        ch_config_load_env(&rt->config, envp, errstr, sizeof(errstr))) {
        fprintf(stderr, "charter-%s: configuration error: %s\n", svc->name, errstr);
        goto out;
    }
    ch_log_level_parse(rt->cfg.log_level, &rt->log.level);

    code = 1;
    signal(SIGPIPE, SIG_IGN);
    /* Precise timers: epoll_wait's whole-millisecond time-outs, rounded up,
     * would make every timer up to 1 ms late (sla-timer fires on them). */
    struct event_config *ec = event_config_new();
    if (ec && event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER) == 0 &&
        (!svc->epoll_changelist ||
         event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) == 0))
        rt->base = event_base_new_with_config(ec);
    if (ec)
        event_config_free(ec);
    if (!rt->base ||
        ch_metrics_register(rt, runtime_metrics, CH_COUNTOF(runtime_metrics), rt) != 0 ||
        build_info(rt) != 0 || setup_log_defer(rt) != 0) {
        fprintf(stderr, "charter-%s: cannot create the event loop\n", svc->name);
        goto out;
    }
    rt->sigterm_ev = evsignal_new(rt->base, SIGTERM, signal_cb, rt);
    rt->sigint_ev = evsignal_new(rt->base, SIGINT, signal_cb, rt);
    rt->sighup_ev = evsignal_new(rt->base, SIGHUP, reload_cb, rt);
    rt->tick = ch__timer_new_periodic(rt, tick, rt);
    rt->shutdown_check = ch__timer_new_periodic(rt, shutdown_check, rt);
    if (!rt->sigterm_ev || !rt->sigint_ev || !rt->sighup_ev || !rt->tick || !rt->shutdown_check ||
        event_add(rt->sigterm_ev, NULL) || event_add(rt->sigint_ev, NULL) ||
        event_add(rt->sighup_ev, NULL) || ch_timer_start(rt->tick, 1000000)) {
        fprintf(stderr, "charter-%s: cannot set up signals and timers\n", svc->name);
        goto out;
    }
    int rc = ch__policies_open(rt, errstr, sizeof(errstr));
    if (rc == 0)
        rc = svc_context_new(rt, errstr, sizeof(errstr));
    if (rc == 0)
        rc = svc->init(rt, rt->svc_config, &rt->svc_ctx, errstr, sizeof(errstr));
    rt->svc_ready = rc == 0;
    if (rc == 0)
        rc = ch__http_open(rt, errstr, sizeof(errstr));
    if (rc == 0)
        rc = ch__redis_open(rt, errstr, sizeof(errstr));
    if (rc == 0)
        rc = ch__kafka_open(rt, errstr, sizeof(errstr));
    if (rc != 0) {
        CH_LOG_ERROR(&rt->log, "start-up failed", CH_STR("error", errstr));
        fprintf(stderr, "charter-%s: %s\n", svc->name, errstr);
        code = rc == CH_EINVAL ? 2 : 1;
        goto out;
    }
    CH_LOG_INFO(&rt->log, "started", CH_STR("http", rt->cfg.http_listen),
                CH_STR("kafka", ch_config_kafka_get(&rt->config, "bootstrap.servers")),
                CH_STR("version", CHARTER_VERSION));
    event_base_dispatch(rt->base);
    CH_LOG_INFO(&rt->log, "stopped");
    code = 0;
out:
    runtime_free(rt);
    return code;
}
