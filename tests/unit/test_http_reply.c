/*
 * The answers the runtime gives for every service (runtime.h, HTTP
 * helpers), read off the wire: status line with libevent's reason phrase,
 * headers, body. A 503 carries Retry-After; an HTML page may load nothing
 * from elsewhere; an error body is JSON even when its message is not UTF-8.
 * The server runs on this thread's loop, the client on a thread of its own.
 */
#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "charter/runtime.h"

static void
handler(struct evhttp_request *req, void *arg)
{
    (void)arg;
    const char *uri = evhttp_request_get_uri(req);
    if (strcmp(uri, "/unavailable") == 0)
        ch_http_reply_unavailable(req, 7, "Redis is not connected; retry");
    else if (strcmp(uri, "/html") == 0)
        ch_http_reply_html(req, 200, "<p>figures</p>");
    else if (strcmp(uri, "/error") == 0)
        ch_http_reply_error_field(req, 422, "invalid_value", "when",
                                  "line 2: \"x\"\tis \xff not a date");
    else if (strcmp(uri, "/value") == 0)
        ch_http_reply_json_value(req, 202, json_pack("{s:s}", "case_id", "c-1"));
    else
        ch_http_reply_json_value(req, 200, NULL);
}

typedef struct {
    int port;
    const char *path;
    char answer[4096];
    volatile int done;
} request;

static void *
client(void *arg)
{
    request *r = arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)r->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
        char q[128];
        int n = snprintf(q, sizeof(q), "GET %s HTTP/1.0\r\n\r\n", r->path);
        if (write(fd, q, (size_t)n) == n) {
            size_t got = 0;
            ssize_t k;
            while (got + 1 < sizeof(r->answer) &&
                   (k = read(fd, r->answer + got, sizeof(r->answer) - 1 - got)) > 0)
                got += (size_t)k;
            r->answer[got] = '\0';
        }
    }
    if (fd >= 0)
        close(fd);
    r->done = 1;
    return NULL;
}

/* The raw answer to GET path. */
static const char *
get(const char *path)
{
    static request r;
    struct event_base *base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    struct evhttp_bound_socket *s = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    assert_non_null(s);
    evhttp_set_gencb(http, handler, NULL);
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&a, &len), 0);
    memset(&r, 0, sizeof(r));
    r.port = ntohs(a.sin_port);
    r.path = path;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, client, &r), 0);
    while (!r.done) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        usleep(1000);
    }
    pthread_join(t, NULL);
    evhttp_free(http);
    event_base_free(base);
    return r.answer;
}

static const char *
body_of(const char *answer)
{
    const char *b = strstr(answer, "\r\n\r\n");
    assert_non_null(b);
    return b + 4;
}

static void
test_unavailable(void **state)
{
    (void)state;
    const char *a = get("/unavailable");
    assert_true(strncmp(a, "HTTP/1.0 503 Service Unavailable\r\n", 34) == 0 ||
                strncmp(a, "HTTP/1.1 503 Service Unavailable\r\n", 34) == 0);
    assert_non_null(strstr(a, "\r\nRetry-After: 7\r\n"));
    assert_non_null(strstr(a, "\r\nContent-Type: application/json\r\n"));
    assert_string_equal(body_of(a),
                        "{\"error\":{\"code\":\"unavailable\",\"message\":\"Redis is not "
                        "connected; retry\"}}\n");
}

static void
test_html(void **state)
{
    (void)state;
    const char *a = get("/html");
    assert_non_null(strstr(a, " 200 OK\r\n"));
    assert_non_null(strstr(a, "\r\nContent-Type: text/html; charset=utf-8\r\n"));
    assert_non_null(strstr(a, "\r\nContent-Security-Policy: default-src 'none'; style-src "
                              "'unsafe-inline'; img-src data:\r\n"));
    assert_non_null(strstr(a, "\r\nX-Content-Type-Options: nosniff\r\n"));
    assert_non_null(strstr(a, "\r\nCache-Control: no-cache\r\n"));
    assert_string_equal(body_of(a), "<p>figures</p>");
}

static void
test_error_body_is_json(void **state)
{
    (void)state;
    const char *a = get("/error");
    /* the phrase is libevent's ("Client Error" for a code it has no name for) */
    assert_true(strncmp(a + 8, " 422 ", 5) == 0);
    json_error_t je;
    json_t *o = json_loads(body_of(a), 0, &je);
    assert_non_null(o);
    json_t *e = json_object_get(o, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "invalid_value");
    assert_string_equal(json_string_value(json_object_get(e, "field")), "when");
    /* not UTF-8: that byte becomes '?', the rest is kept */
    assert_string_equal(json_string_value(json_object_get(e, "message")),
                        "line 2: \"x\"\tis ? not a date");
    json_decref(o);
    /* the keys in the documented order */
    assert_true(strstr(body_of(a), "\"code\"") < strstr(body_of(a), "\"field\"") &&
                strstr(body_of(a), "\"field\"") < strstr(body_of(a), "\"message\""));
}

static void
test_json_value(void **state)
{
    (void)state;
    const char *a = get("/value");
    assert_non_null(strstr(a, " 202 Accepted\r\n"));
    assert_string_equal(body_of(a), "{\"case_id\":\"c-1\"}\n");
    a = get("/null");
    assert_non_null(strstr(a, " 500 "));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unavailable),
        cmocka_unit_test(test_html),
        cmocka_unit_test(test_error_body_is_json),
        cmocka_unit_test(test_json_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
