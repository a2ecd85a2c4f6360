/*
 * The queue's size and age for /metrics, every 15 s: messages queued (due
 * now or later: retries, quiet hours, rate limits), the age of the oldest
 * message already due (how long the queue is behind: alert when it grows)
 * and messages parked for an operator. One MULTI-free round of three
 * commands; the gauges change when the last answer is in.
 */
#include <stdio.h>
#include <stdlib.h>

#include <hiredis/hiredis.h>

#include "queue.h"

#define CENSUS_INTERVAL_MS 15000

typedef struct {
    notify *n;
    int64_t now_ms;
    int waiting, failed;
    long long depth, parked;
    double oldest_s;
} census;

static void
answered(census *c)
{
    if (--c->waiting > 0)
        return;
    if (!c->failed) {
        ch_metric_set(c->n->m_queue_depth, (double)c->depth);
        ch_metric_set(c->n->m_queue_oldest, c->oldest_s);
        ch_metric_set(c->n->m_parked_depth, (double)c->parked);
    }
    c->n->census_running = 0;
    free(c);
}

static void
on_depth(void *opaque, redisReply *r)
{
    census *c = opaque;
    if (r && r->type == REDIS_REPLY_INTEGER)
        c->depth = r->integer;
    else
        c->failed = 1;
    answered(c);
}

static void
on_parked(void *opaque, redisReply *r)
{
    census *c = opaque;
    if (r && r->type == REDIS_REPLY_INTEGER)
        c->parked = r->integer;
    else
        c->failed = 1;
    answered(c);
}

/* ZRANGE queue 0 0 WITHSCORES: the earliest due time; older than now means
 * the queue is behind by that much. */
static void
on_oldest(void *opaque, redisReply *r)
{
    census *c = opaque;
    if (r && r->type == REDIS_REPLY_ARRAY) {
        if (r->elements == 2 && r->element[1]->type == REDIS_REPLY_STRING) {
            long long due = atoll(r->element[1]->str);
            c->oldest_s = due < c->now_ms ? (double)(c->now_ms - due) / 1000.0 : 0;
        }
    } else {
        c->failed = 1;
    }
    answered(c);
}

void
notify_queue_census(notify *n, int64_t now_ms)
{
    if (n->census_running || now_ms - n->census_ms < CENSUS_INTERVAL_MS || !ch_redis_ready(n->rt))
        return;
    census *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    n->census_ms = now_ms;
    n->census_running = 1;
    c->n = n;
    c->now_ms = now_ms;
    c->waiting = 4; /* three answers and this function */
    if (ch_redis_command(n->rt, on_depth, c, "ZCARD %s", NOTIFY_QUEUE_KEY) != 0) {
        c->failed = 1;
        c->waiting--;
    }
    if (ch_redis_command(n->rt, on_oldest, c, "ZRANGE %s 0 0 WITHSCORES", NOTIFY_QUEUE_KEY) != 0) {
        c->failed = 1;
        c->waiting--;
    }
    if (ch_redis_command(n->rt, on_parked, c, "ZCARD %s", NOTIFY_PARKED_KEY) != 0) {
        c->failed = 1;
        c->waiting--;
    }
    answered(c);
}
