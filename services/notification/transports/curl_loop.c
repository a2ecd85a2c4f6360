/*
 * libcurl multi driven by libevent (see curl_loop.h). One struct event per
 * socket curl watches, kept as the socket's curl_multi_assign() pointer, and
 * one timer. Finished transfers are collected after every socket action.
 * Below the adapter, what the SMTP and HTTP transports share: their context
 * and life cycle, and the start and end of one send.
 */
#include "curl_loop.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>

#include "charter/errors.h"
#include "charter/runtime.h"
#include "list.h"

typedef struct {
    notify_link link; /* first: in notify_curl.transfers */
    notify_curl_done_fn done;
    notify_curl_drop_fn drop;
    void *opaque;
    CURL *easy;
} transfer;

struct notify_curl {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    int running;
    notify_link *transfers;
};

static void
collect(notify_curl *c)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(c->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode rc = msg->data.result;
        transfer *t = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
        curl_multi_remove_handle(c->multi, easy);
        if (t) {
            notify_list_remove(&c->transfers, &t->link);
            notify_curl_done_fn done = t->done;
            void *opaque = t->opaque;
            free(t);
            done(opaque, easy, rc);
        }
    }
}

static void
on_socket(evutil_socket_t fd, short what, void *arg)
{
    notify_curl *c = arg;
    int action =
        ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    curl_multi_socket_action(c->multi, fd, action, &c->running);
    collect(c);
    if (c->running <= 0)
        evtimer_del(c->timer);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    notify_curl *c = arg;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &c->running);
    collect(c);
}

static int
socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    notify_curl *c = userp;
    struct event *ev = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (ev) {
            event_free(ev);
            curl_multi_assign(c->multi, s, NULL);
        }
        return 0;
    }
    short kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
                         ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
    if (ev) {
        event_del(ev);
        event_assign(ev, c->base, s, kind, on_socket, c);
    } else {
        ev = event_new(c->base, s, kind, on_socket, c);
        if (!ev)
            return -1;
        curl_multi_assign(c->multi, s, ev);
    }
    event_add(ev, NULL);
    return 0;
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    notify_curl *c = userp;
    if (timeout_ms < 0) {
        evtimer_del(c->timer);
        return 0;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
    return 0;
}

notify_curl *
notify_curl_new(struct event_base *base)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return NULL;
    notify_curl *c = calloc(1, sizeof(*c));
    if (!c) {
        curl_global_cleanup();
        return NULL;
    }
    c->base = base;
    c->multi = curl_multi_init();
    c->timer = evtimer_new(base, on_timer, c);
    if (!c->multi || !c->timer)
        goto err;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    return c;
err:
    notify_curl_free(c);
    return NULL;
}

int
notify_curl_add(notify_curl *c, CURL *easy, notify_curl_done_fn done, notify_curl_drop_fn drop,
                void *opaque)
{
    transfer *t = malloc(sizeof(*t));
    if (!t)
        return CH_ENOMEM;
    *t = (transfer){.done = done, .drop = drop, .opaque = opaque, .easy = easy};
    curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
    if (curl_multi_add_handle(c->multi, easy) != CURLM_OK) {
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        free(t);
        return CH_ENOMEM;
    }
    notify_list_push(&c->transfers, &t->link);
    return 0;
}

void
notify_curl_run_now(notify_curl *c)
{
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &c->running);
    collect(c);
}

void
notify_curl_cancel_all(notify_curl *c)
{
    while (c && c->transfers) {
        transfer *t = (transfer *)c->transfers;
        notify_list_remove(&c->transfers, &t->link);
        curl_multi_remove_handle(c->multi, t->easy);
        t->drop(t->opaque);
        free(t);
    }
}

void
notify_curl_free(notify_curl *c)
{
    if (!c)
        return;
    if (c->multi) {
        notify_curl_cancel_all(c);
        curl_multi_cleanup(c->multi);
    }
    if (c->timer)
        event_free(c->timer);
    free(c);
    curl_global_cleanup();
}

int
notify_curl_transport_init(void **tctx, const void *cfg, ch_runtime *rt, char *errstr,
                           size_t errstr_size)
{
    void *ctx = NULL;
    int rc =
        notify_transport_ctx_new(&ctx, sizeof(notify_curl_transport), cfg, rt, errstr, errstr_size);
    notify_curl_transport *t = ctx;
    if (rc == 0 && !(t->curl = notify_curl_new(ch_runtime_base(rt)))) {
        free(t);
        snprintf(errstr, errstr_size, "libcurl could not be set up");
        return CH_EIO;
    }
    *tctx = t;
    return rc;
}

void
notify_curl_transport_cancel_all(void *tctx)
{
    notify_curl_cancel_all(((notify_curl_transport *)tctx)->curl);
}

void
notify_curl_transport_fini(void *tctx)
{
    notify_curl_transport *t = tctx;
    if (t)
        notify_curl_free(t->curl);
    free(t);
}

notify_curl_send *
notify_curl_send_new(size_t size, notify_sent_fn sent, void *opaque)
{
    notify_curl_send *s = calloc(1, size);
    if (s && !(s->easy = curl_easy_init())) {
        free(s);
        return NULL;
    }
    if (s) {
        s->sent = sent;
        s->opaque = opaque;
    }
    return s;
}

void
notify_curl_send_free(void *send)
{
    notify_curl_send *s = send;
    if (!s)
        return;
    curl_easy_cleanup(s->easy);
    curl_slist_free_all(s->list);
    free(s->payload);
    free(s);
}

int
notify_curl_send_start(notify_curl_transport *t, notify_curl_send *s, notify_curl_done_fn done)
{
    int rc = notify_curl_add(t->curl, s->easy, done, notify_curl_send_free, s);
    if (rc != 0)
        notify_curl_send_free(s);
    return rc;
}

void
notify_curl_send_end(notify_curl_send *s, notify_result r, int64_t retry_after_ms,
                     const char *reason)
{
    notify_sent_fn sent = s->sent;
    void *opaque = s->opaque;
    notify_curl_send_free(s);
    sent(opaque, r, retry_after_ms, reason);
}
