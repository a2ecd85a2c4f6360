/*
 * The runtime's HTTP server: evhttp on the loop, the three operational
 * endpoints every service has, and a dispatcher for the service's routes.
 */
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "runtime_int.h"

#define HTTP_MAX_BODY (16 * 1024 * 1024)

void
ch_http_reply_json(struct evhttp_request *req, int status, const char *json)
{
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evbuffer_add(b, json, strlen(json));
    evbuffer_add(b, "\n", 1);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    const char *reason = status == 200   ? "OK"
                         : status == 202 ? "Accepted"
                         : status == 400 ? "Bad Request"
                         : status == 401 ? "Unauthorized"
                         : status == 404 ? "Not Found"
                         : status == 405 ? "Method Not Allowed"
                         : status == 413 ? "Payload Too Large"
                         : status == 415 ? "Unsupported Media Type"
                         : status == 422 ? "Unprocessable Entity"
                         : status == 503 ? "Service Unavailable"
                                         : NULL;
    evhttp_send_reply(req, status, reason, b);
    evbuffer_free(b);
}

static void
json_escape_into(struct evbuffer *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            evbuffer_add_printf(b, "\\%c", *p);
        else if (*p < 0x20)
            evbuffer_add_printf(b, "\\u%04x", *p);
        else
            evbuffer_add(b, p, 1);
    }
}

void
ch_http_reply_error(struct evhttp_request *req, int status, const char *code, const char *message)
{
    ch_http_reply_error_field(req, status, code, NULL, message);
}

void
ch_http_reply_error_field(struct evhttp_request *req, int status, const char *code,
                          const char *field, const char *message)
{
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evbuffer_add_printf(b, "{\"error\":{\"code\":\"");
    json_escape_into(b, code);
    if (field && *field) {
        evbuffer_add_printf(b, "\",\"field\":\"");
        json_escape_into(b, field);
    }
    evbuffer_add_printf(b, "\",\"message\":\"");
    json_escape_into(b, message);
    evbuffer_add_printf(b, "\"}}");
    size_t len = evbuffer_get_length(b);
    char *text = malloc(len + 1);
    if (!text) {
        evbuffer_free(b);
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evbuffer_remove(b, text, len);
    text[len] = '\0';
    evbuffer_free(b);
    ch_http_reply_json(req, status, text);
    free(text);
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
        evhttp_send_reply(req, 200, "OK", b);
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
            evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "5");
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
