/*
 * The timers this instance holds, counted for /metrics every
 * CENSUS_INTERVAL_MS: pending (every timer set and not yet fired), overdue
 * (due more than a minute ago and still not fired: the store is not
 * firing, which an operator must hear about) and in flight (claimed,
 * waiting for Kafka). One ZCARD / ZCOUNT / ZCARD per owned partition; the
 * gauges change when the last answer of a round is in, so they never show
 * half a round.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "sla.h"
#include "timer_keys.h"

#define CENSUS_INTERVAL_MS 15000
#define OVERDUE_AFTER_MS 60000

typedef struct {
    sla *s;
    int waiting; /* answers still to come */
    int failed;
    long long pending, overdue, inflight;
} census;

static void
answered(census *c)
{
    if (--c->waiting > 0)
        return;
    if (!c->failed) {
        ch_metric_set(c->s->m_pending, (double)c->pending);
        ch_metric_set(c->s->m_overdue, (double)c->overdue);
        ch_metric_set(c->s->m_inflight, (double)c->inflight);
    }
    c->s->census_running = 0;
    free(c);
}

static void
on_count(census *c, redisReply *r, long long *into)
{
    if (r && r->type == REDIS_REPLY_INTEGER)
        *into += r->integer;
    else
        c->failed = 1;
    answered(c);
}

static void
on_pending(void *opaque, redisReply *r)
{
    census *c = opaque;
    on_count(c, r, &c->pending);
}

static void
on_overdue(void *opaque, redisReply *r)
{
    census *c = opaque;
    on_count(c, r, &c->overdue);
}

static void
on_inflight(void *opaque, redisReply *r)
{
    census *c = opaque;
    on_count(c, r, &c->inflight);
}

void
sla_census_tick(void *svc, int64_t now_ms)
{
    sla *s = svc;
    if (s->census_running || now_ms - s->census_ms < CENSUS_INTERVAL_MS || !ch_redis_ready(s->rt))
        return;
    s->census_ms = now_ms;
    census *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    c->s = s;
    c->waiting = 1; /* this function's own, released at the end */
    s->census_running = 1;
    char max[32];
    snprintf(max, sizeof(max), "%lld", (long long)(now_ms - OVERDUE_AFTER_MS));
    for (int32_t p = 0; p < SLA_MAX_PARTITIONS; p++) {
        if (!(s->owned[p / 8] & (1u << (p % 8))))
            continue;
        sla_timer_keys k;
        sla_timer_keys_of(SLA_KEY_PREFIX, p, &k);
        c->waiting += 3;
        if (ch_redis_command(s->rt, on_pending, c, "ZCARD %s", k.due) != 0) {
            c->failed = 1;
            c->waiting--;
        }
        if (ch_redis_command(s->rt, on_overdue, c, "ZCOUNT %s -inf %s", k.due, max) != 0) {
            c->failed = 1;
            c->waiting--;
        }
        if (ch_redis_command(s->rt, on_inflight, c, "ZCARD %s", k.inflight) != 0) {
            c->failed = 1;
            c->waiting--;
        }
    }
    answered(c);
}

void
sla_census_own(sla *s, int32_t partition, int owned)
{
    if (partition < 0 || partition >= SLA_MAX_PARTITIONS)
        return;
    if (owned)
        s->owned[partition / 8] |= (uint8_t)(1u << (partition % 8));
    else
        s->owned[partition / 8] &= (uint8_t) ~(1u << (partition % 8));
    s->census_ms = 0; /* count again at the next tick */
}
