/*
 * The runtime's HTTP server: evhttp on the loop, the three operational
 * endpoints every service has, a dispatcher for the service's routes, and
 * the answers services share (JSON, errors, 503 with Retry-After, HTML).
 * Error bodies are built with jansson; reason phrases come from libevent.
 */
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "runtime_int.h"

#define HTTP_MAX_BODY (16 * 1024 * 1024)

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

static void
dispatch(struct evhttp_request *req, void *arg)
{
    ch_runtime *rt = arg;
    ch_metric_add(rt->m_http, 1);
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (!path)
        path = "/";
    int method = method_bit(evhttp_request_get_command(req));

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
    for (size_t i = 0; i < rt->svc->nroutes; i++) {
        const ch_route *r = &rt->svc->routes[i];
        size_t plen = strlen(r->path);
        int match = r->prefix ? strncmp(path, r->path, plen) == 0 : strcmp(path, r->path) == 0;
        if (!match)
            continue;
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
        r->fn(rt->svc_ctx, req, r->prefix ? path + plen : "");
        return;
    }
    ch_http_reply_error(req, 404, "not_found", "no such path");
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
    rt->http = evhttp_new(rt->base);
    if (!rt->http) {
        snprintf(errstr, errstr_size, "cannot create the HTTP server");
        return CH_ENOMEM;
    }
    evhttp_set_allowed_methods(rt->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                             EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    evhttp_set_max_body_size(rt->http, HTTP_MAX_BODY);
    evhttp_set_timeout(rt->http, 30);
    evhttp_set_gencb(rt->http, dispatch, rt);
    if (!evhttp_bind_socket_with_handle(rt->http, host, (ev_uint16_t)port)) {
        snprintf(errstr, errstr_size,
                 "cannot listen on %s (http.listen): the address is in use or not local", listen);
        return CH_EIO;
    }
    return 0;
}

void
ch__http_destroy(ch_runtime *rt)
{
    if (rt->http)
        evhttp_free(rt->http);
    rt->http = NULL;
}
