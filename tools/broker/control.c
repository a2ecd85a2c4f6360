/*
 * The control endpoint: a small HTTP API on a loopback address that fault
 * tests use to take mock brokers down and up and to read the broker's state.
 * It binds loopback only (options.c refuses anything else) because it can
 * take the cluster down. Every answer is a small JSON object built with
 * jansson, errors as {"error":"..."}.
 *
 * The mock control calls (broker up/down) are synchronous requests to
 * librdkafka's mock thread; they block the loop for well under a millisecond.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "broker.h"

/* Sends body (taken; NULL: out of memory, a bare 500) as the reply. */
static void
reply(struct evhttp_request *req, int code, const char *reason, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    struct evbuffer *out = text ? evbuffer_new() : NULL;
    if (!out) {
        free(text);
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    evbuffer_add_printf(out, "%s\n", text);
    free(text);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    /* libevent 2.1 would send the body even for HEAD. */
    evhttp_send_reply(req, code, reason,
                      evhttp_request_get_command(req) == EVHTTP_REQ_HEAD ? NULL : out);
    evbuffer_free(out);
}

static void reply_error(struct evhttp_request *req, int code, const char *reason, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));

static void
reply_error(struct evhttp_request *req, int code, const char *reason, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    reply(req, code, reason, json_pack("{s:s}", "error", msg));
}

/* The ids of the brokers that are down, as a JSON array. */
static json_t *
down_list(const broker *b)
{
    json_t *a = json_array();
    for (int id = 1; a && id <= b->conf->brokers; id++)
        if (b->down[id])
            json_array_append_new(a, json_integer(id));
    return a;
}

static void
status(broker *b, struct evhttp_request *req, const char *query)
{
    (void)query;
    reply(req, HTTP_OK, "OK",
          json_pack("{s:s,s:s,s:i,s:o}", "bootstrap", b->bootstrap, "mock_bootstraps",
                    rd_kafka_mock_cluster_bootstraps(b->mcluster), "brokers", b->conf->brokers,
                    "down", down_list(b)));
}

/* Reads "?id=N" (1..brokers) into *id; no query: -1, every broker. Returns 0,
 * or -1 after answering 400. */
static int
query_broker_id(broker *b, struct evhttp_request *req, const char *query, int32_t *id)
{
    struct evkeyvalq params;
    TAILQ_INIT(&params);
    int rc = 0;
    *id = -1;
    if (query && evhttp_parse_query_str(query, &params) != 0) {
        reply_error(req, HTTP_BADREQUEST, "Bad Request", "cannot parse the query string");
        rc = -1;
    }
    struct evkeyval *param;
    TAILQ_FOREACH(param, &params, next)
    {
        long n;
        if (rc != 0)
            break;
        if (strcmp(param->key, "id") != 0) {
            reply_error(req, HTTP_BADREQUEST, "Bad Request",
                        "unknown query parameter '%.64s'; only id is accepted", param->key);
            rc = -1;
        } else if (broker_parse_long(param->value, 1, b->conf->brokers, &n) != 0) {
            reply_error(req, HTTP_BADREQUEST, "Bad Request", "id must be a broker id from 1 to %d",
                        b->conf->brokers);
            rc = -1;
        } else {
            *id = (int32_t)n;
        }
    }
    evhttp_clear_headers(&params);
    return rc;
}

static void
brokers_set(broker *b, struct evhttp_request *req, const char *query, int up)
{
    int32_t id;
    if (query_broker_id(b, req, query, &id) != 0)
        return;
    rd_kafka_resp_err_t err = up ? rd_kafka_mock_broker_set_up(b->mcluster, id)
                                 : rd_kafka_mock_broker_set_down(b->mcluster, id);
    if (err) {
        reply_error(req, HTTP_INTERNAL, "Internal Server Error", "%s", rd_kafka_err2str(err));
        return;
    }
    for (int i = 1; i <= b->conf->brokers; i++)
        if (id == -1 || id == i)
            b->down[i] = !up;
    if (id == -1)
        CH_LOG_INFO(b->log, up ? "control: all brokers up" : "control: all brokers down");
    else
        CH_LOG_INFO(b->log, up ? "control: broker up" : "control: broker down",
                    CH_INT("broker", id));
    reply(req, HTTP_OK, "OK", json_pack("{s:b,s:o}", "ok", 1, "down", down_list(b)));
}

static void
brokers_down(broker *b, struct evhttp_request *req, const char *query)
{
    brokers_set(b, req, query, 0);
}

static void
brokers_up(broker *b, struct evhttp_request *req, const char *query)
{
    brokers_set(b, req, query, 1);
}

/* "?ms=N": every broker answers each request N ms late (0 for at once);
 * requests are still handled when they arrive, so a produce is on the log
 * while its acknowledgement is on its way (tests crash a client then). */
static void
brokers_rtt(broker *b, struct evhttp_request *req, const char *query)
{
    struct evkeyvalq params;
    TAILQ_INIT(&params);
    const char *v = query && evhttp_parse_query_str(query, &params) == 0
                        ? evhttp_find_header(&params, "ms")
                        : NULL;
    long ms;
    if (!v || broker_parse_long(v, 0, 600000, &ms) != 0) {
        evhttp_clear_headers(&params);
        reply_error(req, HTTP_BADREQUEST, "Bad Request", "give ?ms=N, 0 to 600000");
        return;
    }
    evhttp_clear_headers(&params);
    for (int i = 1; i <= b->conf->brokers; i++) {
        rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_rtt(b->mcluster, i, (int)ms);
        if (err) {
            reply_error(req, HTTP_INTERNAL, "Internal Server Error", "%s", rd_kafka_err2str(err));
            return;
        }
    }
    CH_LOG_INFO(b->log, "control: answers delayed", CH_INT("rtt_ms", ms));
    reply(req, HTTP_OK, "OK", json_pack("{s:b,s:i}", "ok", 1, "rtt_ms", (json_int_t)ms));
}

typedef struct {
    const char *path;
    enum evhttp_cmd_type method;
    const char *method_name;
    void (*handle)(broker *b, struct evhttp_request *req, const char *query);
} control_route;

static const control_route routes[] = {
    {"/status", EVHTTP_REQ_GET, "GET", status},
    {"/brokers/down", EVHTTP_REQ_POST, "POST", brokers_down},
    {"/brokers/up", EVHTTP_REQ_POST, "POST", brokers_up},
    {"/brokers/rtt", EVHTTP_REQ_POST, "POST", brokers_rtt},
};

static void
request_cb(struct evhttp_request *req, void *arg)
{
    broker *b = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    for (size_t i = 0; path && i < sizeof(routes) / sizeof(routes[0]); i++) {
        const control_route *route = &routes[i];
        if (strcmp(path, route->path) != 0)
            continue;
        if (method != route->method &&
            !(route->method == EVHTTP_REQ_GET && method == EVHTTP_REQ_HEAD)) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", route->method_name);
            reply_error(req, 405, "Method Not Allowed", "method not allowed; use %s %s",
                        route->method_name, route->path);
            return;
        }
        route->handle(b, req, evhttp_uri_get_query(uri));
        return;
    }
    reply_error(req, HTTP_NOTFOUND, "Not Found",
                "not found; try GET /status, POST /brokers/down, /brokers/up or /brokers/rtt?ms=N");
}

int
broker_control_start(broker *b, char *errstr, size_t errstr_size)
{
    const broker_config *conf = b->conf;
    struct evconnlistener *listener =
        broker_listen(b, &conf->control_addr, conf->control_addr_len, "control endpoint",
                      "--control", NULL, b->control, sizeof(b->control), errstr, errstr_size);
    if (!listener)
        return -1;
    b->http = evhttp_new(b->base);
    if (!b->http || !evhttp_bind_listener(b->http, listener)) {
        evconnlistener_free(listener);
        snprintf(errstr, errstr_size, "cannot set up the control endpoint on %s", b->control);
        return -1;
    }
    evhttp_set_allowed_methods(b->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_max_body_size(b->http, 4096);
    evhttp_set_timeout(b->http, 10);
    evhttp_set_gencb(b->http, request_cb, b);
    return 0;
}

void
broker_control_stop(broker *b)
{
    if (b->http)
        evhttp_free(b->http);
}
