/*
 * libcurl multi driven by libevent (see curl_loop.h). One struct event per
 * socket curl watches, kept as the socket's curl_multi_assign() pointer, and
 * one timer. Finished transfers are collected after every socket action.
 */
#include "curl_loop.h"

#include <event2/event.h>
#include <stdlib.h>

typedef struct transfer {
    notify_curl_done_fn done;
    void *opaque;
    CURL *easy;
    struct transfer *prev, *next;
} transfer;

struct notify_curl {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    int running;
    int added;
    transfer *head;
};

static void
unlink_transfer(notify_curl *c, transfer *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        c->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
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
        transfer *t = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
        curl_multi_remove_handle(c->multi, easy);
        c->added--;
        if (t) {
            unlink_transfer(c, t);
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
    notify_curl *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
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
    notify_curl_free(c, NULL);
    return NULL;
}

int
notify_curl_add(notify_curl *c, CURL *easy, notify_curl_done_fn done, void *opaque)
{
    transfer *t = malloc(sizeof(*t));
    if (!t)
        return -1;
    t->done = done;
    t->opaque = opaque;
    t->easy = easy;
    curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
    if (curl_multi_add_handle(c->multi, easy) != CURLM_OK) {
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        free(t);
        return -1;
    }
    t->prev = NULL;
    t->next = c->head;
    if (c->head)
        c->head->prev = t;
    c->head = t;
    c->added++;
    return 0;
}

void
notify_curl_run_now(notify_curl *c)
{
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &c->running);
    collect(c);
}

int
notify_curl_running(const notify_curl *c)
{
    return c->added;
}

void
notify_curl_free(notify_curl *c, void (*drop)(void *opaque, CURL *easy))
{
    if (!c)
        return;
    if (c->multi) {
        while (c->head) {
            transfer *t = c->head;
            unlink_transfer(c, t);
            curl_multi_remove_handle(c->multi, t->easy);
            if (drop)
                drop(t->opaque, t->easy);
            else
                curl_easy_cleanup(t->easy);
            free(t);
        }
        curl_multi_cleanup(c->multi);
    }
    if (c->timer)
        event_free(c->timer);
    free(c);
}
