/*
 * libcurl multi driven by libevent (see curl_loop.h). One struct event per
 * socket curl watches, kept as the socket's curl_multi_assign() pointer, and
 * one timer. Finished transfers are collected after every socket action.
 * A running send is its own list entry (CURLOPT_PRIVATE points at it), so
 * starting one allocates nothing beyond the send.
 */
#include "curl_loop.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/runtime.h"

struct notify_curl {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    int running;
    notify_link *sends; /* started, not yet done */
};

static void
send_free(notify_curl_send *s)
{
    curl_easy_cleanup(s->easy);
    curl_slist_free_all(s->list);
    free(s->payload);
    free(s);
}

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
        notify_curl_send *s = NULL;
        long code = 0;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&s);
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
        curl_multi_remove_handle(c->multi, easy);
        if (s) {
            notify_list_remove(&c->sends, &s->link);
            s->done(s, rc, code);
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

static void
cancel_all(notify_curl *c)
{
    while (c->sends) {
        notify_curl_send *s = (notify_curl_send *)c->sends;
        notify_list_remove(&c->sends, &s->link);
        curl_multi_remove_handle(c->multi, s->easy);
        send_free(s);
    }
}

static void
multi_free(notify_curl *c)
{
    if (c->multi) {
        cancel_all(c);
        curl_multi_cleanup(c->multi);
    }
    if (c->timer)
        event_free(c->timer);
    free(c);
    curl_global_cleanup();
}

/* NULL on ENOMEM or when curl cannot be set up. */
static notify_curl *
multi_new(struct event_base *base)
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
    if (!c->multi || !c->timer) {
        multi_free(c);
        return NULL;
    }
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    return c;
}

int
notify_curl_transport_init(void **tctx, const void *cfg, ch_runtime *rt, char *errstr,
                           size_t errstr_size)
{
    void *ctx = NULL;
    int rc =
        notify_transport_ctx_new(&ctx, sizeof(notify_curl_transport), cfg, rt, errstr, errstr_size);
    notify_curl_transport *t = ctx;
    if (rc == 0 && !(t->curl = multi_new(ch_runtime_base(rt)))) {
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
    cancel_all(((notify_curl_transport *)tctx)->curl);
}

void
notify_curl_transport_fini(void *tctx)
{
    notify_curl_transport *t = tctx;
    if (t)
        multi_free(t->curl);
    free(t);
}

void
notify_curl_run_now(notify_curl_transport *t)
{
    curl_multi_socket_action(t->curl->multi, CURL_SOCKET_TIMEOUT, 0, &t->curl->running);
    collect(t->curl);
}

notify_curl_send *
notify_curl_send_new(size_t size, const char *url, int64_t timeout_ms, notify_curl_done_fn done,
                     notify_reply reply)
{
    notify_curl_send *s = calloc(1, size);
    if (s && !(s->easy = curl_easy_init())) {
        free(s);
        return NULL;
    }
    if (!s)
        return NULL;
    s->done = done;
    s->reply = reply;
    curl_easy_setopt(s->easy, CURLOPT_URL, url);
    curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
    return s;
}

void
notify_curl_send_list_add(notify_curl_send *s, const char *line)
{
    struct curl_slist *l = curl_slist_append(s->list, line);
    if (l)
        s->list = l;
    else
        s->list_failed = 1;
}

int
notify_curl_send_start(notify_curl_transport *t, notify_curl_send *s)
{
    if (!s->payload || s->list_failed ||
        curl_multi_add_handle(t->curl->multi, s->easy) != CURLM_OK) {
        send_free(s);
        return CH_ENOMEM;
    }
    notify_list_push(&t->curl->sends, &s->link);
    return 0;
}

void
notify_curl_send_end(notify_curl_send *s, notify_result r, int64_t retry_after_ms,
                     const char *reason)
{
    notify_reply reply = s->reply;
    send_free(s);
    notify_reply_sent(reply, r, retry_after_ms, reason);
}

int
notify_curl_check(const notify_curl_config *c, const notify_transport_use *use, const char *name,
                  const char *shape, char *errstr, size_t errstr_size)
{
    char scheme[32], scheme_tls[32];
    snprintf(scheme, sizeof(scheme), "%s://", name);
    snprintf(scheme_tls, sizeof(scheme_tls), "%ss://", name);
    if (use->channels && strncmp(c->url, scheme, strlen(scheme)) != 0 &&
        strncmp(c->url, scheme_tls, strlen(scheme_tls)) != 0) {
        snprintf(errstr, errstr_size, "notify.%s.url must be %s when a channel uses %s (is '%s')",
                 name, shape, name, c->url);
        return CH_EINVAL;
    }
    if (use->lease_ms < c->timeout_ms + 1000) {
        snprintf(errstr, errstr_size,
                 "notify.lease_ms (%lld) must exceed notify.%s.timeout_ms (%lld) by at least "
                 "1000, or a slow send could be taken over and sent twice",
                 (long long)use->lease_ms, name, (long long)c->timeout_ms);
        return CH_EINVAL;
    }
    return 0;
}
