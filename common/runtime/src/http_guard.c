/*
 * What an HTTP client may cost before a handler sees its request.
 *
 * evhttp (libevent 2.1) limits the size of a head and of a body but answers
 * in HTML, times out per read (a client trickling one byte every few
 * seconds holds its connection for ever), has no connection cap, and at
 * descriptor exhaustion retries accept() in a tight loop, logging each
 * failure. So every connection gets a guard from evhttp's bufferevent
 * callback, counted against http.max_connections (at the cap the listener
 * is disabled until one closes), with a callback on its input buffer that
 * reads each request's head as the bytes arrive, before evhttp parses them:
 *
 * - more than http.max_header_bytes of request line and headers, or more
 *   than http.max_headers header lines: 431;
 * - a Content-Length over the route's body limit (charter/runtime.h
 *   ch_route), or any body on a route that takes none: 413, at the end of
 *   the head, before the body is read;
 * - a deadline per request: the head within http.header_timeout_ms of the
 *   request's start (the connection's accept, or the previous answer's
 *   last byte, so an idle keep-alive connection counts), the whole request
 *   within http.body_timeout_ms; then 408 (or, idle, nothing) and close.
 *
 * Refusals are JSON written straight to the socket, then the connection
 * lingers for a second reading and dropping what the client still sends,
 * so the answer is not lost to a reset, and is closed. While a handler
 * holds a request (evhttp stops reading then) no deadline runs; the next
 * request starts when the answer's last byte has left.
 *
 * At the cap, or when accept fails with EMFILE or ENFILE, the listener is
 * paused (not retried at once) and the oldest connection still waiting for
 * a request's head (idle keep-alive, or trickling) is closed to make room,
 * so idle connections cannot lock clients out; when every connection is
 * busy with a body or a handler, accepting resumes when one closes (or,
 * out of descriptors, after 250 ms). Pauses are counted, and logged at most
 * once every 10 s. The cap is lowered at start to fit the descriptor
 * limit.
 *
 * Two things libevent does not hand over: the evhttp_connection of a new
 * bufferevent (it is the bufferevent's callback argument once evhttp has
 * set it up, which link_fresh() reads at the end of the accepting
 * callback, holding a reference on the bufferevent until then), and any
 * argument of ours in the listener's error callback (accept_error() finds
 * the guard through its always-pending tick event).
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "charter/errors.h"
#include "charter/timeutil.h"
#include "runtime_int.h"

enum { PH_HEAD, PH_BODY, PH_BUSY, PH_LINGER };

#define LINGER_MS 1000
#define TICK_MS 250
#define PAUSE_LOG_INTERVAL_MS 10000
#define FD_RESERVE 100 /* descriptors kept for Kafka, Redis and files */
#define LINE_KEEP 512  /* bytes kept of a line: the request line's method and path */

typedef struct conn conn;
struct conn {
    ch_http_guard *g;
    struct bufferevent *bev;
    struct evhttp_connection *evcon; /* NULL until linked */
    struct evbuffer_cb_entry *in_cb, *out_cb;
    struct event *deadline;
    int phase;
    int64_t start_ms;
    size_t head_bytes, lines, line_len; /* line_len: the current line's, CR not counted */
    char line[LINE_KEEP];
    int64_t content_length; /* -1: none seen */
    int chunked;
    int64_t limit; /* the route's body limit; -1: no route known */
    conn *prev, *next;
};

typedef struct {
    conn *head, *tail; /* oldest first */
} conn_list;

struct ch_http_guard {
    ch_runtime *rt;
    struct evconnlistener *listener;
    struct event *tick; /* every TICK_MS: resumes accept after a descriptor pause */
    struct event *link; /* end of the accepting callback: link_fresh() */
    conn_list conns;    /* linked */
    conn_list fresh;    /* accepted, not linked yet */
    size_t nconns;      /* both */
    size_t max_conns;
    int paused; /* 0, or PAUSE_CAP / PAUSE_FDS */
    int64_t paused_ms, pause_logged_ms;
    int64_t pauses_unlogged;
};

enum { PAUSE_CAP = 1, PAUSE_FDS = 2 };

static void
list_remove(conn_list *l, conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
}

static void
list_append(conn_list *l, conn *c)
{
    c->next = NULL;
    c->prev = l->tail;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
}

/* ---- accepting ---- */

static void
pause_accept(ch_http_guard *g, int why, int err)
{
    if (g->paused || !g->listener)
        return;
    evconnlistener_disable(g->listener);
    g->paused = why;
    g->paused_ms = ch_time_now_ms();
    ch_metric_add(g->rt->m_http_paused, 1);
    if (g->pause_logged_ms && g->paused_ms - g->pause_logged_ms < PAUSE_LOG_INTERVAL_MS) {
        g->pauses_unlogged++;
        return;
    }
    CH_LOG_WARN(&g->rt->log,
                why == PAUSE_CAP ? "HTTP connections at http.max_connections; accepting paused "
                                   "until one closes"
                                 : "no file descriptor left for an HTTP connection; accepting "
                                   "paused (raise LimitNOFILE or lower http.max_connections)",
                CH_INT("connections", g->nconns), CH_INT("max_connections", g->max_conns),
                CH_STR("error", err ? strerror(err) : ""),
                CH_INT("pauses_not_logged", g->pauses_unlogged));
    g->pause_logged_ms = g->paused_ms;
    g->pauses_unlogged = 0;
}

/* Closes the oldest connection waiting for a request's head. Returns 1, or
 * 0 when every connection is busy with a body or a handler. */
static int
evict_idle(ch_http_guard *g)
{
    for (conn *c = g->conns.head; c; c = c->next) {
        if (c->phase == PH_HEAD && (bufferevent_get_enabled(c->bev) & EV_READ)) {
            ch_metric_add(g->rt->m_http_evicted, 1);
            evhttp_connection_free(c->evcon); /* conn_closed frees c */
            return 1;
        }
    }
    return 0;
}

static void
resume_accept(ch_http_guard *g)
{
    if (!g->paused || !g->listener || g->nconns >= g->max_conns)
        return;
    g->paused = 0;
    evconnlistener_enable(g->listener);
}

static void
guard_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ch_http_guard *g = arg;
    if (g->paused == PAUSE_FDS && ch_time_now_ms() - g->paused_ms >= TICK_MS)
        resume_accept(g);
}

static int
find_guard(const struct event_base *base, const struct event *ev, void *arg)
{
    (void)base;
    if (event_get_callback(ev) != guard_tick)
        return 0;
    *(ch_http_guard **)arg = event_get_callback_arg(ev);
    return 1;
}

/* The listener's error callback: accept() failed for a reason retrying at
 * once does not cure (EMFILE, ENFILE, ENOBUFS, ENOMEM). */
static void
accept_error(struct evconnlistener *lev, void *http)
{
    (void)http;
    int err = errno;
    ch_http_guard *g = NULL;
    event_base_foreach_event(evconnlistener_get_base(lev), find_guard, &g);
    if (g) {
        pause_accept(g, PAUSE_FDS, err);
        evict_idle(g);
    } else
        evconnlistener_disable(lev);
}

static void
connections_changed(ch_http_guard *g)
{
    ch_metric_set(g->rt->m_http_conns, (double)g->nconns);
}

/* ---- one connection ---- */

static void
conn_free(conn *c)
{
    ch_http_guard *g = c->g;
    list_remove(c->evcon ? &g->conns : &g->fresh, c);
    if (c->in_cb)
        evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
    if (c->out_cb)
        evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
    if (c->evcon)
        evhttp_connection_set_closecb(c->evcon, NULL, NULL);
    event_free(c->deadline);
    free(c);
    g->nconns--;
    connections_changed(g);
    resume_accept(g);
}

/* evhttp is freeing the connection. */
static void
conn_closed(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    conn_free(arg);
}

static void
arm(conn *c, int64_t at_ms)
{
    int64_t us = (at_ms - ch_time_now_ms()) * 1000;
    struct timeval tv = {0, 0};
    if (us > 0) {
        tv.tv_sec = (time_t)(us / 1000000);
        tv.tv_usec = (suseconds_t)(us % 1000000);
    }
    event_add(c->deadline, &tv);
}

/* Writes the refusal to the socket, ends the writing side, and drops what
 * the client still sends for LINGER_MS before closing. */
static void
refuse(conn *c, int status, const char *reason, const char *code, const char *message)
{
    char body[384], out[768];
    int blen = snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}\n",
                        code, message);
    int n = snprintf(out, sizeof(out),
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: "
                     "%d\r\nConnection: close\r\n\r\n%s",
                     status, reason, blen, body);
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    if (fd >= 0) {
        /* fails only when the client is gone: closing is all that is left */
        (void)send(fd, out, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
        shutdown(fd, SHUT_WR);
    }
    c->phase = PH_LINGER;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    evbuffer_drain(in, evbuffer_get_length(in));
    arm(c, ch_time_now_ms() + LINGER_MS);
}

static void
refuse_headers(conn *c, const char *message)
{
    ch_metric_add(c->g->rt->m_http_431, 1);
    refuse(c, 431, "Request Header Fields Too Large", "headers_too_large", message);
}

/* The request line: the route's body limit, from the path. */
static void
request_line(conn *c, const char *line, size_t len)
{
    const char *sp = memchr(line, ' ', len);
    if (!sp)
        return;
    const char *path = sp + 1, *end = line + len;
    if (path >= end || *path != '/')
        return; /* absolute or asterisk form: evhttp's limit applies */
    const char *p = path;
    while (p < end && *p != ' ' && *p != '?')
        p++;
    if (p == end)
        return; /* the line was longer than what is kept */
    c->limit = ch__http_body_limit(c->g->rt, path, (size_t)(p - path));
}

static int
header_is(const char *line, size_t len, const char *name, const char **value, size_t *vlen)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return 0;
    size_t i = n + 1;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    *value = line + i;
    *vlen = len - i;
    return 1;
}

static void
header_line(conn *c, const char *line, size_t len)
{
    const char *v;
    size_t vlen;
    if (header_is(line, len, "Content-Length", &v, &vlen)) {
        int64_t n = 0;
        size_t i;
        for (i = 0; i < vlen && v[i] >= '0' && v[i] <= '9' && n < INT64_MAX / 10 - 10; i++)
            n = n * 10 + (v[i] - '0');
        if (i > 0 && n > c->content_length)
            c->content_length = n;
    } else if (header_is(line, len, "Transfer-Encoding", &v, &vlen)) {
        c->chunked = 1;
    }
}

static void
end_of_head(conn *c)
{
    ch_runtime *rt = c->g->rt;
    int64_t limit = c->limit >= 0 ? c->limit : rt->http_max_body;
    if (c->content_length > limit || (c->chunked && limit == 0)) {
        char message[160];
        if (limit == 0)
            snprintf(message, sizeof(message), "this path takes no request body");
        else
            snprintf(message, sizeof(message),
                     "the request body is larger than this path accepts (%lld bytes)",
                     (long long)limit);
        ch_metric_add(rt->m_http_413, 1);
        refuse(c, 413, "Payload Too Large", "body_too_large", message);
        return;
    }
    c->phase = PH_BODY;
    arm(c, c->start_ms + rt->cfg.http_body_timeout_ms);
}

/* One byte of a request's head. Returns 1 when the head is over (ended,
 * or refused). */
static int
head_byte(conn *c, char ch)
{
    const ch_runtime_config *cfg = &c->g->rt->cfg;
    if (++c->head_bytes > (size_t)cfg->http_max_header_bytes) {
        refuse_headers(c, "the request line and headers are larger than this service accepts");
        return 1;
    }
    if (ch == '\r')
        return 0;
    if (ch != '\n') {
        if (c->line_len < sizeof(c->line))
            c->line[c->line_len] = ch;
        c->line_len++;
        return 0;
    }
    size_t kept = c->line_len < sizeof(c->line) ? c->line_len : sizeof(c->line);
    if (c->line_len == 0) {
        if (c->lines == 0)
            return 0; /* empty lines before a request line are ignored */
        end_of_head(c);
        return 1;
    }
    if (c->lines == 0)
        request_line(c, c->line, kept);
    else
        header_line(c, c->line, kept);
    c->line_len = 0;
    if (++c->lines > (size_t)cfg->http_max_headers + 1) {
        refuse_headers(c, "the request has more header lines than this service accepts");
        return 1;
    }
    return 0;
}

/* Reads the head's bytes from offset `from` of the input. */
static void
scan(conn *c, struct evbuffer *in, size_t from)
{
    struct evbuffer_ptr p;
    if (evbuffer_ptr_set(in, &p, from, EVBUFFER_PTR_SET) != 0)
        return;
    while (c->phase == PH_HEAD) {
        struct evbuffer_iovec v[8];
        int n = evbuffer_peek(in, -1, &p, v, 8);
        if (n <= 0)
            return;
        size_t done = 0;
        for (int i = 0; i < n && i < 8; i++) {
            const char *b = v[i].iov_base;
            for (size_t k = 0; k < v[i].iov_len; k++)
                if (head_byte(c, b[k]))
                    return;
            done += v[i].iov_len;
        }
        if (n <= 8 || evbuffer_ptr_set(in, &p, done, EVBUFFER_PTR_ADD) != 0)
            return;
    }
}

static void
request_start(conn *c)
{
    c->phase = PH_HEAD;
    c->start_ms = ch_time_now_ms();
    c->head_bytes = c->lines = c->line_len = 0;
    c->content_length = -1;
    c->chunked = 0;
    c->limit = -1;
    arm(c, c->start_ms + c->g->rt->cfg.http_header_timeout_ms);
    scan(c, bufferevent_get_input(c->bev), 0); /* a pipelined request */
}

static void
input_cb(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
    conn *c = arg;
    if (info->n_added == 0)
        return;
    if (c->phase == PH_LINGER)
        evbuffer_drain(in, evbuffer_get_length(in));
    else if (c->phase == PH_HEAD)
        scan(c, in, evbuffer_get_length(in) - info->n_added);
}

/* The answer's last byte left while evhttp was not reading: the handler is
 * done, and the connection's next request starts. */
static void
output_cb(struct evbuffer *out, const struct evbuffer_cb_info *info, void *arg)
{
    conn *c = arg;
    if (info->n_deleted == 0 || evbuffer_get_length(out) != 0 || c->phase == PH_LINGER ||
        (bufferevent_get_enabled(c->bev) & EV_READ))
        return;
    request_start(c);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn *c = arg;
    if (c->phase == PH_HEAD || c->phase == PH_BODY) {
        if (!(bufferevent_get_enabled(c->bev) & EV_READ)) {
            c->phase = PH_BUSY; /* a handler holds the request */
            return;
        }
        if (c->head_bytes > 0 || c->phase == PH_BODY) {
            ch_metric_add(c->g->rt->m_http_timeouts, 1);
            refuse(c, 408, "Request Timeout", "request_timeout",
                   c->phase == PH_HEAD ? "the request's headers did not arrive in time "
                                         "(http.header_timeout_ms)"
                                       : "the request did not arrive in time "
                                         "(http.body_timeout_ms)");
            return;
        }
    } else if (c->phase != PH_LINGER) {
        return;
    }
    evhttp_connection_free(c->evcon); /* conn_closed frees c */
}

/* evhttp's bufferevent callback: a connection was accepted. */
static struct bufferevent *
new_connection(struct event_base *base, void *arg)
{
    ch_http_guard *g = arg;
    struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    conn *c = bev ? calloc(1, sizeof(*c)) : NULL;
    if (c && !(c->deadline = event_new(base, -1, 0, deadline_cb, c))) {
        free(c);
        c = NULL;
    }
    if (!c)
        return bev; /* out of memory: evhttp serves it unguarded */
    c->g = g;
    c->bev = bev;
    bufferevent_incref(bev); /* until link_fresh */
    list_append(&g->fresh, c);
    g->nconns++;
    connections_changed(g);
    if (g->nconns >= g->max_conns)
        pause_accept(g, PAUSE_CAP, 0);
    event_active(g->link, EV_TIMEOUT, 0);
    return bev;
}

/* Runs after the accepting callback, before any byte is read. */
static void
link_fresh(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ch_http_guard *g = arg;
    conn *c;
    while ((c = g->fresh.head)) {
        struct bufferevent *bev = c->bev;
        bufferevent_data_cb rd, wr;
        bufferevent_event_cb ev;
        void *evcon = NULL;
        bufferevent_getcb(bev, &rd, &wr, &ev, &evcon);
        if (!ev || !evcon) { /* evhttp gave it up already */
            conn_free(c);
        } else {
            list_remove(&g->fresh, c);
            /* Answers go out whole at once (evhttp writes a reply's header
             * and body together): Nagle's algorithm would only hold a
             * keep-alive connection's next answer back until the client's
             * delayed ACK of the last one, about 40 ms on Linux. */
            int one = 1;
            (void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            c->evcon = evcon;
            list_append(&g->conns, c);
            evhttp_connection_set_closecb(c->evcon, conn_closed, c);
            c->in_cb = evbuffer_add_cb(bufferevent_get_input(bev), input_cb, c);
            c->out_cb = evbuffer_add_cb(bufferevent_get_output(bev), output_cb, c);
            request_start(c);
        }
        bufferevent_decref(bev);
    }
    while (g->nconns >= g->max_conns && evict_idle(g))
        ;
}

/* ---- open and close ---- */

int
ch__http_guard_open(ch_runtime *rt, struct evhttp_bound_socket *bound, char *errstr,
                    size_t errstr_size)
{
    ch_http_guard *g = calloc(1, sizeof(*g));
    if (!g) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    rt->http_guard = g;
    g->rt = rt;
    g->listener = evhttp_bound_socket_get_listener(bound);
    g->max_conns = (size_t)rt->cfg.http_max_connections;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        g->max_conns + FD_RESERVE > rl.rlim_cur) {
        g->max_conns = rl.rlim_cur > 2 * FD_RESERVE ? rl.rlim_cur - FD_RESERVE : rl.rlim_cur / 2;
        CH_LOG_WARN(&rt->log,
                    "http.max_connections lowered to fit the file descriptor limit "
                    "(LimitNOFILE, less 100 for Kafka, Redis and files)",
                    CH_INT("configured", rt->cfg.http_max_connections),
                    CH_INT("used", g->max_conns), CH_INT("descriptor_limit", rl.rlim_cur));
    }
    struct timeval tv = {0, TICK_MS * 1000};
    g->tick = event_new(rt->base, -1, EV_PERSIST, guard_tick, g);
    g->link = event_new(rt->base, -1, 0, link_fresh, g);
    if (!g->tick || !g->link || event_add(g->tick, &tv) != 0 || !g->listener) {
        snprintf(errstr, errstr_size, "cannot set up the HTTP server's limits");
        return CH_ENOMEM;
    }
    evconnlistener_set_error_cb(g->listener, accept_error);
    evhttp_set_bevcb(rt->http, new_connection, g);
    return 0;
}

/* Before evhttp_free: evhttp then frees the connections without us. */
void
ch__http_guard_close(ch_runtime *rt)
{
    ch_http_guard *g = rt->http_guard;
    if (!g)
        return;
    g->listener = NULL;
    while (g->conns.head)
        conn_free(g->conns.head);
    while (g->fresh.head) {
        struct bufferevent *bev = g->fresh.head->bev;
        conn_free(g->fresh.head);
        bufferevent_decref(bev);
    }
    if (g->tick)
        event_free(g->tick);
    if (g->link)
        event_free(g->link);
    free(g);
    rt->http_guard = NULL;
}
