/*
 * The runtime's HTTP server: evhttp on the loop, the three operational
 * endpoints every service has, a dispatcher for the service's routes, and
 * the answers services share (JSON, errors, 503 with Retry-After, HTML).
 * Error bodies are built with jansson; reason phrases come from libevent.
 * What a client may send before its request reaches the dispatcher (sizes,
 * deadlines, connections) is http_guard.c's; the dispatcher checks the
 * body's size against the route once more, for bodies sent chunked.
 */
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/timeutil.h"
#include "runtime_int.h"

/* Sends body with status; libevent supplies the standard reason phrase. */
static void
send_text(struct evhttp_request *req, int status, const char *content_type, const char *text,
          int newline)
{
    struct evbuffer *b = evbuffer_new();
    if (!b || evbuffer_add(b, text, strlen(text)) != 0 || (newline && evbuffer_add(b, "\n", 1))) {
        if (b)
            evbuffer_free(b);
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", content_type);
    evhttp_send_reply(req, status, NULL, b);
    evbuffer_free(b);
}

void
ch_http_reply_json(struct evhttp_request *req, int status, const char *json)
{
    send_text(req, status, "application/json", json, 1);
}

void
ch_http_reply_json_value(struct evhttp_request *req, int status, json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    if (!text) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    ch_http_reply_json(req, status, text);
    free(text);
}

void
ch_http_reply_error(struct evhttp_request *req, int status, const char *code, const char *message)
{
    ch_http_reply_error_field(req, status, code, NULL, message);
}

/* A JSON string of s. A message may quote the caller's bytes, or be cut
 * inside a character; jansson takes only UTF-8, so then every byte outside
 * ASCII becomes '?' rather than the answer becoming a 500. */
static json_t *
json_text(const char *s)
{
    json_t *j = json_string(s);
    char *copy;
    if (j || !(copy = strdup(s)))
        return j;
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

void
ch_http_reply_error_field(struct evhttp_request *req, int status, const char *code,
                          const char *field, const char *message)
{
    json_t *e = json_object();
    json_object_set_new(e, "code", json_text(code));
    if (field && *field)
        json_object_set_new(e, "field", json_text(field));
    json_object_set_new(e, "message", json_text(message));
    ch_http_reply_json_value(req, status, json_pack("{s:o}", "error", e));
}

void
ch_http_retry_after(struct evhttp_request *req, int seconds)
{
    char value[16];
    snprintf(value, sizeof(value), "%d", seconds);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", value);
}

void
ch_http_reply_unavailable(struct evhttp_request *req, int retry_after_s, const char *message)
{
    ch_http_retry_after(req, retry_after_s);
    ch_http_reply_error(req, 503, "unavailable", message);
}

void
ch_http_reply_html(struct evhttp_request *req, int status, const char *html)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    /* nothing from elsewhere: no scripts, no remote styles, fonts or images */
    evhttp_add_header(h, "Content-Security-Policy",
                      "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Cache-Control", "no-cache");
    send_text(req, status, "text/html; charset=utf-8", html, 0);
}

static int
method_bit(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET:
    case EVHTTP_REQ_HEAD:
        return CH_HTTP_GET;
    case EVHTTP_REQ_POST:
        return CH_HTTP_POST;
    case EVHTTP_REQ_PUT:
        return CH_HTTP_PUT;
    case EVHTTP_REQ_DELETE:
        return CH_HTTP_DELETE;
    default:
        return 0;
    }
}

/* The index of the route taking path (len bytes), or nroutes. */
static size_t
route_find(const ch_runtime *rt, const char *path, size_t len)
{
    size_t i;
    for (i = 0; i < rt->svc->nroutes; i++) {
        const ch_route *r = &rt->svc->routes[i];
        size_t plen = strlen(r->path);
        if (r->prefix ? len >= plen && memcmp(path, r->path, plen) == 0
                      : len == plen && memcmp(path, r->path, plen) == 0)
            break;
    }
    return i;
}

static int
builtin_path(const char *path, size_t len)
{
    static const char *const paths[] = {"/healthz", "/readyz", "/metrics"};
    for (size_t i = 0; i < 3; i++)
        if (len == strlen(paths[i]) && memcmp(path, paths[i], len) == 0)
            return 1;
    return 0;
}

int64_t
ch__http_body_limit(const ch_runtime *rt, const char *path, size_t len)
{
    if (builtin_path(path, len))
        return 0;
    size_t i = route_find(rt, path, len);
    return i < rt->svc->nroutes ? rt->route_max_body[i] : -1;
}

/* Answers 413 when the body read is over limit (a chunked body, whose size
 * is not known before it is read). */
static int
body_too_large(ch_runtime *rt, struct evhttp_request *req, int64_t limit)
{
    size_t n = evbuffer_get_length(evhttp_request_get_input_buffer(req));
    if ((int64_t)n <= limit)
        return 0;
    ch_metric_add(rt->m_http_413, 1);
    ch_http_reply_error(req, 413, "body_too_large",
                        limit == 0 ? "this path takes no request body"
                                   : "the request body is larger than this path accepts");
    return 1;
}

/* ---- request latency: from the handler's start to the answer's last byte,
 * per route and status class. evhttp calls the completion callback only
 * for an answer it sent: a request whose client went away before the
 * answer leaves its timing behind, found again by address (a new request
 * at the same address replaces it) or dropped after an hour. The timings
 * are kept in lists by the request's address, so finding one is a short
 * walk whatever the number of requests in flight, and finished ones are
 * reused rather than freed: this runs for every request. */

#define TIMING_STALE_MS (3600 * 1000)
#define TIMING_SWEEP_MS (60 * 1000)
#define TIMING_SPARE_MAX 1024

static ch_http_timing **
timing_bucket(ch_runtime *rt, const void *req)
{
    uintptr_t h = (uintptr_t)req;
    h ^= h >> 12;
    return &rt->timings[(h >> 4) % CH_HTTP_TIMING_BUCKETS];
}

static ch_http_timing *
timing_take(ch_runtime *rt, const void *req)
{
    for (ch_http_timing **p = timing_bucket(rt, req); *p; p = &(*p)->next)
        if ((*p)->req == req) {
            ch_http_timing *t = *p;
            *p = t->next;
            return t;
        }
    return NULL;
}

static void
timing_release(ch_runtime *rt, ch_http_timing *t)
{
    if (rt->timing_nspare >= TIMING_SPARE_MAX) {
        free(t);
        return;
    }
    t->next = rt->timing_spare;
    rt->timing_spare = t;
    rt->timing_nspare++;
}

static void
request_done(struct evhttp_request *req, void *arg)
{
    ch_runtime *rt = arg;
    ch_http_timing *t = timing_take(rt, req);
    if (!t)
        return;
    int code = evhttp_request_get_response_code(req);
    int cls = code >= 100 && code < 600 ? code / 100 : 5;
    ch_metric **slot = &rt->route_latency[t->route * 5 + (size_t)(cls - 1)];
    if (!*slot) { /* a registry walk once per route and class, not per request */
        char name[4] = {(char)('0' + cls), 'x', 'x', '\0'};
        static const char *const keys[] = {"route", "code"};
        const char *values[] = {rt->svc->routes[t->route].path, name};
        *slot = ch_metric_series(rt, CH_METRIC_HISTOGRAM, "charter_http_request_duration_seconds",
                                 "time from a request reaching its handler to its answer being "
                                 "sent, by route and status class",
                                 2, keys, values);
    }
    ch_metric_observe(*slot, (double)(ch_time_now_ms() - t->start_ms) / 1000.0);
    timing_release(rt, t);
}

/* Drops the timings of requests older than an hour (their clients went
 * away), looking at most once a minute. */
static void
timing_sweep(ch_runtime *rt, int64_t now)
{
    if (now - rt->timing_swept_ms < TIMING_SWEEP_MS)
        return;
    rt->timing_swept_ms = now;
    for (size_t i = 0; i < CH_HTTP_TIMING_BUCKETS; i++)
        for (ch_http_timing **p = &rt->timings[i]; *p;) {
            if (now - (*p)->start_ms > TIMING_STALE_MS) {
                ch_http_timing *old = *p;
                *p = old->next;
                free(old);
            } else {
                p = &(*p)->next;
            }
        }
}

static void
timing_start(ch_runtime *rt, struct evhttp_request *req, size_t route)
{
    int64_t now = ch_time_now_ms();
    ch_http_timing *t = timing_take(rt, req);
    timing_sweep(rt, now);
    if (!t && (t = rt->timing_spare)) {
        rt->timing_spare = t->next;
        rt->timing_nspare--;
    }
    if (!t && !(t = malloc(sizeof(*t))))
        return;
    t->req = req;
    t->start_ms = now;
    t->route = route;
    ch_http_timing **b = timing_bucket(rt, req);
    t->next = *b;
    *b = t;
    evhttp_request_set_on_complete_cb(req, request_done, rt);
}

static void
dispatch(struct evhttp_request *req, void *arg)
{
    ch_runtime *rt = arg;
    ch_metric_add(rt->m_http, 1);
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (!path)
        path = "/";
    int method = method_bit(evhttp_request_get_command(req));
    if (builtin_path(path, strlen(path)) && body_too_large(rt, req, 0))
        return;

    if (strcmp(path, "/healthz") == 0) {
        ch_http_reply_json(req, 200, "{\"status\":\"ok\"}");
        return;
    }
    if (strcmp(path, "/readyz") == 0) {
        int kafka = rt->kafka_up, redis = ch_redis_ready(rt);
        char body[128];
        snprintf(body, sizeof(body), "{\"ready\":%s,\"kafka\":%s,\"redis\":%s,\"stopping\":%s}",
                 kafka && redis && !rt->stopping ? "true" : "false", kafka ? "true" : "false",
                 redis ? "true" : "false", rt->stopping ? "true" : "false");
        ch_http_reply_json(req, kafka && redis && !rt->stopping ? 200 : 503, body);
        return;
    }
    if (strcmp(path, "/metrics") == 0) {
        ch_metric_set(rt->m_inflight, (double)rt->inflight);
        ch_metric_set(rt->m_kafka_up, rt->kafka_up);
        struct evbuffer *b = evbuffer_new();
        if (!b) {
            evhttp_send_error(req, 500, NULL);
            return;
        }
        ch__metrics_render(rt, b);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "text/plain; version=0.0.4");
        evhttp_send_reply(req, 200, NULL, b);
        evbuffer_free(b);
        return;
    }
    size_t i = route_find(rt, path, strlen(path));
    if (i < rt->svc->nroutes) {
        const ch_route *r = &rt->svc->routes[i];
        if (!(r->methods & method)) {
            ch_http_reply_error(req, 405, "method_not_allowed",
                                "this path does not accept that method");
            return;
        }
        if (rt->stopping) {
            ch_http_retry_after(req, 5);
            ch_http_reply_error(req, 503, "shutting_down", "the service is shutting down");
            return;
        }
        if (body_too_large(rt, req, rt->route_max_body[i]))
            return;
        timing_start(rt, req, i);
        r->fn(rt->svc_ctx, req, r->prefix ? path + strlen(r->path) : "");
        return;
    }
    ch_http_reply_error(req, 404, "not_found", "no such path");
}

/* Each route's body limit, from its max_body_key or max_body. */
static int
resolve_body_limits(ch_runtime *rt, char *errstr, size_t errstr_size)
{
    size_t n = rt->svc->nroutes;
    rt->http_max_body = 0;
    if (!(rt->route_max_body = calloc(n ? n : 1, sizeof(*rt->route_max_body))) ||
        !(rt->route_latency = calloc(n ? n * 5 : 1, sizeof(*rt->route_latency))) ||
        !(rt->timings = calloc(CH_HTTP_TIMING_BUCKETS, sizeof(*rt->timings)))) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const ch_route *r = &rt->svc->routes[i];
        int64_t v = r->max_body;
        if (r->max_body_key && ch_config_int(&rt->config, r->max_body_key, &v) != 0) {
            snprintf(errstr, errstr_size,
                     "route %s names body limit key '%s', which is not an int key of the "
                     "service's config table",
                     r->path, r->max_body_key);
            return CH_EINVAL;
        }
        rt->route_max_body[i] = v < 0 ? 0 : v;
        if (rt->route_max_body[i] > rt->http_max_body)
            rt->http_max_body = rt->route_max_body[i];
    }
    return 0;
}

int
ch__http_open(ch_runtime *rt, char *errstr, size_t errstr_size)
{
    const char *listen = rt->cfg.http_listen;
    const char *colon = strrchr(listen, ':');
    char host[256];
    size_t hlen = (size_t)(colon - listen);
    if (hlen >= sizeof(host))
        hlen = sizeof(host) - 1;
    memcpy(host, listen, hlen);
    host[hlen] = '\0';
    int port = atoi(colon + 1);
    int rc = resolve_body_limits(rt, errstr, errstr_size);
    if (rc)
        return rc;
    rt->http = evhttp_new(rt->base);
    if (!rt->http) {
        snprintf(errstr, errstr_size, "cannot create the HTTP server");
        return CH_ENOMEM;
    }
    evhttp_set_allowed_methods(rt->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                             EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    /* backstops behind http_guard.c's checks: a whole head over the limit,
     * a chunked body over the largest route's */
    evhttp_set_max_headers_size(rt->http, (ev_ssize_t)rt->cfg.http_max_header_bytes);
    evhttp_set_max_body_size(rt->http, (ev_ssize_t)rt->http_max_body);
    /* per read: a client that stops reading its answer */
    evhttp_set_timeout(rt->http, 30);
    evhttp_set_gencb(rt->http, dispatch, rt);
    struct evhttp_bound_socket *bound =
        evhttp_bind_socket_with_handle(rt->http, host, (ev_uint16_t)port);
    if (!bound) {
        snprintf(errstr, errstr_size,
                 "cannot listen on %s (http.listen): the address is in use or not local", listen);
        return CH_EIO;
    }
    return ch__http_guard_open(rt, bound, errstr, errstr_size);
}

void
ch__http_destroy(ch_runtime *rt)
{
    ch__http_guard_close(rt); /* first: evhttp_free then closes the connections alone */
    if (rt->http)
        evhttp_free(rt->http);
    rt->http = NULL;
    free(rt->route_max_body);
    rt->route_max_body = NULL;
    free(rt->route_latency);
    rt->route_latency = NULL;
    for (size_t i = 0; rt->timings && i < CH_HTTP_TIMING_BUCKETS; i++)
        while (rt->timings[i]) {
            ch_http_timing *t = rt->timings[i];
            rt->timings[i] = t->next;
            free(t);
        }
    free(rt->timings);
    rt->timings = NULL;
    while (rt->timing_spare) {
        ch_http_timing *t = rt->timing_spare;
        rt->timing_spare = t->next;
        free(t);
    }
    rt->timing_nspare = 0;
}
