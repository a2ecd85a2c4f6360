/*
 * Per-key order for services that ask for it (ch_service.order_by_key).
 *
 * Every Charter topic is keyed by case id, and a case's records must be
 * applied in order: reporting reads, changes and compare-and-sets a case's
 * state, so two records of one case handled at once collide and are
 * retried, and a later record can land first. A lane holds the records of
 * one key that are in flight: its head is being handled (or waiting for a
 * retry); the others wait, in the order they were consumed, across all the
 * service's topics. When the head is finished (ch__msg_release), the next
 * one is dispatched from its own timer, on a later loop turn, so a long
 * lane never recurses.
 *
 * A record that fails for a while (ch_msg_done with CH_EAGAIN) stays the
 * head of its lane while kafka_msg.c retries it with backoff: the records
 * behind it wait, so a key's records are applied in order even through a
 * Redis error (sla-timer: a "resumed" applied before its "paused" would
 * leave the clock paused for ever).
 *
 * On revocation the records of the partition still waiting are taken out
 * (ch__lanes_take_waiting) and released uncommitted: the new owner reads
 * them from the committed offset, and this instance never writes those
 * cases again. A head is either in the service's hands, which sees
 * ch_msg_revoked(), or waiting for its retry timer, which drops it.
 *
 * Records without a key are not ordered.
 */
#include <stdlib.h>
#include <string.h>

#include "runtime_int.h"

#define LANE_BUCKETS 4096

struct ch_lane {
    ch_lane *next_in_bucket;
    ch_msg *head;                   /* being handled */
    ch_msg *wait_first, *wait_last; /* consumed after it, not yet handed over */
    size_t keylen;
    char key[];
};

static uint32_t
key_hash(const void *key, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ ((const unsigned char *)key)[i]) * 16777619u;
    return h % LANE_BUCKETS;
}

int
ch__lane_enter(ch_runtime *rt, ch_msg *m)
{
    const void *key = m->rkm->key;
    size_t len = m->rkm->key_len;
    if (!key || !len)
        return 1;
    if (!rt->lanes && !(rt->lanes = calloc(LANE_BUCKETS, sizeof(*rt->lanes))))
        return 1; /* out of memory: handled unordered rather than not at all */
    uint32_t b = key_hash(key, len);
    for (ch_lane *l = rt->lanes[b]; l; l = l->next_in_bucket) {
        if (l->keylen == len && memcmp(l->key, key, len) == 0) {
            m->lane = l;
            if (l->wait_last)
                l->wait_last->lane_next = m;
            else
                l->wait_first = m;
            l->wait_last = m;
            return 0;
        }
    }
    ch_lane *l = calloc(1, sizeof(*l) + len);
    if (!l)
        return 1;
    memcpy(l->key, key, len);
    l->keylen = len;
    l->head = m;
    l->next_in_bucket = rt->lanes[b];
    rt->lanes[b] = l;
    m->lane = l;
    return 1;
}

static void
lane_free(ch_runtime *rt, ch_lane *l)
{
    ch_lane **pp = &rt->lanes[key_hash(l->key, l->keylen)];
    while (*pp != l)
        pp = &(*pp)->next_in_bucket;
    *pp = l->next_in_bucket;
    free(l);
}

void
ch__lane_leave(ch_runtime *rt, ch_msg *m)
{
    ch_lane *l = m->lane;
    if (!l)
        return;
    m->lane = NULL;
    if (l->head != m) { /* a waiter released unhandled (shutdown) */
        ch_msg **pp = &l->wait_first;
        ch_msg *prev = NULL;
        while (*pp && *pp != m) {
            prev = *pp;
            pp = &(*pp)->lane_next;
        }
        if (*pp)
            *pp = m->lane_next;
        if (l->wait_last == m)
            l->wait_last = prev;
        m->lane_next = NULL;
        return;
    }
    ch_msg *next = l->wait_first;
    if (!next) {
        lane_free(rt, l);
        return;
    }
    l->wait_first = next->lane_next;
    if (!l->wait_first)
        l->wait_last = NULL;
    next->lane_next = NULL;
    l->head = next;
    if (rt->finalizing)
        return; /* closing: released with the rest (ch__kafka_destroy) */
    /* handed over on a later turn, through the retry path, which also drops
     * a record whose partition was revoked meanwhile */
    if (!next->retry)
        next->retry = ch_timer_new(rt, ch__msg_retry, next);
    if (!next->retry || ch_timer_start(next->retry, 0) != 0) {
        CH_LOG_ERROR(&rt->log, "cannot hand a record to its case's lane; it will be redelivered",
                     CH_STR("topic", next->pt->topic), CH_INT("offset", next->rkm->offset));
        ch__msg_release(next);
    }
}

ch_msg *
ch__lanes_take_waiting(ch_runtime *rt, const ch_ptrack *pt)
{
    ch_msg *taken = NULL, **tail = &taken;
    if (!rt->lanes)
        return NULL;
    for (size_t b = 0; b < LANE_BUCKETS; b++) {
        for (ch_lane *l = rt->lanes[b]; l; l = l->next_in_bucket) {
            ch_msg **pp = &l->wait_first, *prev = NULL;
            while (*pp) {
                ch_msg *m = *pp;
                if (m->pt != pt) {
                    prev = m;
                    pp = &m->lane_next;
                    continue;
                }
                *pp = m->lane_next;
                if (l->wait_last == m)
                    l->wait_last = prev;
                m->lane = NULL;
                m->lane_next = NULL;
                *tail = m;
                tail = &m->lane_next;
            }
        }
    }
    return taken;
}

void
ch__lanes_free(ch_runtime *rt)
{
    if (!rt->lanes)
        return;
    for (size_t b = 0; b < LANE_BUCKETS; b++)
        while (rt->lanes[b]) {
            ch_lane *l = rt->lanes[b];
            rt->lanes[b] = l->next_in_bucket;
            free(l);
        }
    free(rt->lanes);
    rt->lanes = NULL;
}
