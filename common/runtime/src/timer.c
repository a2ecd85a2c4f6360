/*
 * ch_timer: a function and a delay over a libevent event, so the code that
 * schedules work (a service's due times and retries, the runtime's own
 * reconnects, ticks and end-of-turn flushes) writes neither libevent's
 * callback shape (descriptor, event flags, void *) nor timevals. One
 * callback here adapts libevent's shape to the timer's function.
 */
#include <event2/event.h>
#include <stdlib.h>

#include "charter/errors.h"
#include "runtime_int.h"

struct ch_timer {
    struct event *ev;
    ch_timer_fn fn;
    void *arg;
};

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ch_timer *t = arg;
    t->fn(t->arg);
}

static ch_timer *
timer_new(ch_runtime *rt, short flags, ch_timer_fn fn, void *arg)
{
    ch_timer *t = malloc(sizeof(*t));
    if (!t)
        return NULL;
    t->fn = fn;
    t->arg = arg;
    t->ev = event_new(rt->base, -1, flags, timer_cb, t);
    if (!t->ev) {
        free(t);
        return NULL;
    }
    return t;
}

ch_timer *
ch_timer_new(ch_runtime *rt, ch_timer_fn fn, void *arg)
{
    return timer_new(rt, 0, fn, arg);
}

ch_timer *
ch__timer_new_periodic(ch_runtime *rt, ch_timer_fn fn, void *arg)
{
    return timer_new(rt, EV_PERSIST, fn, arg);
}

int
ch_timer_start(ch_timer *t, int64_t delay_us)
{
    if (delay_us < 0)
        delay_us = 0;
    struct timeval tv = {(time_t)(delay_us / 1000000), (suseconds_t)(delay_us % 1000000)};
    return event_add(t->ev, &tv) == 0 ? 0 : CH_EIO;
}

void
ch_timer_soon(ch_timer *t)
{
    event_active(t->ev, EV_TIMEOUT, 0);
}

void
ch_timer_stop(ch_timer *t)
{
    event_del(t->ev);
}

void
ch_timer_free(ch_timer *t)
{
    if (!t)
        return;
    event_free(t->ev);
    free(t);
}
