/* The timer store (see timer_store.h for why it is built this way). */
#include "timer_store.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"

#define MAX_PARTITIONS 1024
/* Timers claimed per script call, and at most in flight per partition: a
 * crash re-fires at most this many per partition (duplicates consumers drop),
 * instead of everything claimed ahead of Kafka's acknowledgements. */
#define CLAIM_BATCH 200

enum { SCRIPT_CLAIM, SCRIPT_SCHEDULE, SCRIPT_CANCEL, SCRIPT_ACK, NSCRIPTS };

/* KEYS: due, inflight, timers. ARGV: lease_ms, limit.
 * Returns {now_ms, next_ms (-1 none), more (0/1), id1, payload1, id2, ...}. */
static const char claim_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local lease, limit = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "local out = {}\n"
    "local n = 0\n"
    "for _, k in ipairs({KEYS[1], KEYS[2]}) do\n"
    "  local ids = redis.call('ZRANGEBYSCORE', k, '-inf', now, 'LIMIT', 0, limit - n)\n"
    "  for _, id in ipairs(ids) do\n"
    "    local p = redis.call('HGET', KEYS[3], id)\n"
    "    if k == KEYS[1] then redis.call('ZREM', KEYS[1], id) end\n"
    "    if p then\n"
    "      redis.call('ZADD', KEYS[2], now + lease, id)\n"
    "      out[#out + 1] = id\n"
    "      out[#out + 1] = p\n"
    "    else\n"
    "      redis.call('ZREM', KEYS[2], id)\n"
    "    end\n"
    "    n = n + 1\n"
    "  end\n"
    "  if n >= limit then break end\n"
    "end\n"
    "local next = -1\n"
    "for _, k in ipairs({KEYS[1], KEYS[2]}) do\n"
    "  local f = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')\n"
    "  if f[2] and (next < 0 or tonumber(f[2]) < next) then next = tonumber(f[2]) end\n"
    "end\n"
    "local head = {tostring(now), tostring(next), n >= limit and '1' or '0'}\n"
    "for i = 1, #out do head[#head + 1] = out[i] end\n"
    "return head\n";

/* KEYS: due, timers, inflight. ARGV: id1, due1, payload1, ...
 * A rescheduled timer leaves the in-flight set: its new due time rules.
 * Returns {now_ms, earliest due or lease expiry (-1 none)}. */
static const char schedule_lua[] =
    "for i = 1, #ARGV, 3 do\n"
    "  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 2])\n"
    "  redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i])\n"
    "  redis.call('ZREM', KEYS[3], ARGV[i])\n"
    "end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local next = -1\n"
    "for _, k in ipairs({KEYS[1], KEYS[3]}) do\n"
    "  local f = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')\n"
    "  if f[2] and (next < 0 or tonumber(f[2]) < next) then next = tonumber(f[2]) end\n"
    "end\n"
    "return {tostring(now), tostring(next)}\n";

/* KEYS: due, inflight, timers. ARGV: ids. */
static const char cancel_lua[] = "for i = 1, #ARGV do\n"
                                 "  redis.call('ZREM', KEYS[1], ARGV[i])\n"
                                 "  redis.call('ZREM', KEYS[2], ARGV[i])\n"
                                 "  redis.call('HDEL', KEYS[3], ARGV[i])\n"
                                 "end\n"
                                 "return #ARGV\n";

/* KEYS: due, inflight, timers. ARGV: id. Deletes a fired timer only if it is
 * still in flight: one rescheduled meanwhile (back in the due set) stays. */
static const char ack_lua[] = "if redis.call('ZREM', KEYS[2], ARGV[1]) == 1 then\n"
                              "  redis.call('HDEL', KEYS[3], ARGV[1])\n"
                              "  return 1\n"
                              "end\n"
                              "return 0\n";

static const char *const scripts[NSCRIPTS] = {claim_lua, schedule_lua, cancel_lua, ack_lua};

typedef struct part {
    ch_timer_store *st;
    int32_t partition;
    int owned;
    int claiming;
    int rescan; /* timers were added while a claim was in flight */
    int armed;
    int64_t armed_for; /* Redis time the timer is set for, when armed */
    int outstanding;   /* fired, not yet done */
    int more_waiting;  /* more are due: claim when the outstanding ones finish */
    struct event *ev;
    char due_key[64], inflight_key[64], timers_key[64];
} part;

struct ch_timer_store {
    ch_runtime *rt;
    char prefix[32];
    int64_t lease_ms;
    ch_timer_fire_fn fire;
    void *opaque;
    char sha[NSCRIPTS][41];
    part *parts[MAX_PARTITIONS];
};

struct ch_timer_fire {
    part *p;
    char *id;
};

void
ch_timer_store_keys(const char *prefix, int32_t partition, char *due, char *inflight, char *timers,
                    size_t keysz)
{
    snprintf(due, keysz, "%s:{t%d}:due", prefix, (int)partition);
    snprintf(inflight, keysz, "%s:{t%d}:inflight", prefix, (int)partition);
    snprintf(timers, keysz, "%s:{t%d}:timers", prefix, (int)partition);
}

/* ---- scripts by SHA ---- */

typedef struct {
    ch_timer_store *st;
    int script;
} load_ctx;

static void
script_loaded(void *opaque, redisReply *reply)
{
    load_ctx *lc = opaque;
    if (reply && reply->type == REDIS_REPLY_STRING && reply->len == 40)
        memcpy(lc->st->sha[lc->script], reply->str, 41);
    free(lc);
}

/* Sends EVALSHA when the script is loaded, else EVAL. rest = keys and args
 * after the key count. */
static int
script_call(ch_timer_store *st, int script, ch_redis_cb cb, void *opaque, int nkeys, int nrest,
            const char **rest, const size_t *restlen)
{
    int argc = 3 + nrest;
    const char **argv = malloc((size_t)argc * sizeof(*argv));
    size_t *argvlen = malloc((size_t)argc * sizeof(*argvlen));
    if (!argv || !argvlen) {
        free(argv);
        free(argvlen);
        return CH_ENOMEM;
    }
    char nk[8];
    snprintf(nk, sizeof(nk), "%d", nkeys);
    int by_sha = st->sha[script][0] != '\0';
    argv[0] = by_sha ? "EVALSHA" : "EVAL";
    argvlen[0] = strlen(argv[0]);
    argv[1] = by_sha ? st->sha[script] : scripts[script];
    argvlen[1] = strlen(argv[1]);
    argv[2] = nk;
    argvlen[2] = strlen(nk);
    for (int i = 0; i < nrest; i++) {
        argv[3 + i] = rest[i];
        argvlen[3 + i] = restlen[i];
    }
    int rc = ch_redis_command_argv(st->rt, cb, opaque, argc, argv, argvlen);
    free(argv);
    free(argvlen);
    return rc;
}

/* A NOSCRIPT answer means Redis lost its script cache: forget the SHA so the
 * next call sends the script itself. */
static void
check_noscript(ch_timer_store *st, int script, const redisReply *reply)
{
    if (reply && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOSCRIPT", 8) == 0)
        st->sha[script][0] = '\0';
}

/* ---- partitions and arming ---- */

static void claim(part *p);

/* Sets the partition's timer for Redis time `at`, given Redis time `now`. */
static void
arm_at(part *p, int64_t at, int64_t now)
{
    if (!p->owned)
        return;
    int64_t delay_ms = at - now;
    if (delay_ms < 0)
        delay_ms = 0;
    struct timeval tv = {(time_t)(delay_ms / 1000), (suseconds_t)((delay_ms % 1000) * 1000)};
    evtimer_add(p->ev, &tv); /* re-adding moves the timer */
    p->armed = 1;
    p->armed_for = at;
}

/* A retry or follow-up delay_ms from now, not tied to a due time. */
static void
arm_retry(part *p, int64_t delay_ms)
{
    arm_at(p, delay_ms, 0);
    p->armed = 0;
}

static void
part_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    part *p = arg;
    p->armed = 0;
    claim(p);
}

static part *
part_get(ch_timer_store *st, int32_t partition)
{
    if (partition < 0 || partition >= MAX_PARTITIONS)
        return NULL;
    part *p = st->parts[partition];
    if (p)
        return p;
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->st = st;
    p->partition = partition;
    p->ev = evtimer_new(ch_runtime_base(st->rt), part_timer_cb, p);
    if (!p->ev) {
        free(p);
        return NULL;
    }
    ch_timer_store_keys(st->prefix, partition, p->due_key, p->inflight_key, p->timers_key,
                        sizeof(p->due_key));
    st->parts[partition] = p;
    return p;
}

/* ---- firing ---- */

static void
deleted(void *opaque, redisReply *reply)
{
    ch_timer_fire *f = opaque;
    check_noscript(f->p->st, SCRIPT_ACK, reply);
    free(f->id);
    free(f);
}

void
ch_timer_fire_done(ch_timer_fire *f, int delivered)
{
    part *p = f->p;
    if (--p->outstanding == 0 && p->more_waiting) {
        p->more_waiting = 0;
        arm_retry(p, 0);
    }
    if (delivered) {
        /* Only now is the timer gone: its event is safely written. If this
         * fails the lease expires and it fires again under the same id. */
        const char *rest[] = {f->p->due_key, f->p->inflight_key, f->p->timers_key, f->id};
        size_t restlen[] = {strlen(rest[0]), strlen(rest[1]), strlen(rest[2]), strlen(rest[3])};
        if (script_call(f->p->st, SCRIPT_ACK, deleted, f, 3, 4, rest, restlen) == 0)
            return;
    }
    free(f->id);
    free(f);
}

static void
claimed(void *opaque, redisReply *reply)
{
    part *p = opaque;
    ch_timer_store *st = p->st;
    p->claiming = 0;
    check_noscript(st, SCRIPT_CLAIM, reply);
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) {
        CH_LOG_WARN(
            ch_runtime_log(st->rt), "timer claim failed; retrying", CH_STR("key", p->due_key),
            CH_STR("error", reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "no reply"));
        arm_retry(p, 1000);
        return;
    }
    int64_t now = strtoll(reply->element[0]->str, NULL, 10);
    int64_t next = strtoll(reply->element[1]->str, NULL, 10);
    int more = reply->element[2]->str[0] == '1' || p->rescan;
    p->rescan = 0;
    for (size_t i = 3; i + 1 < reply->elements; i += 2) {
        ch_timer_fire *f = malloc(sizeof(*f));
        if (!f || !(f->id = strdup(reply->element[i]->str))) {
            free(f); /* left leased: fires again when the lease expires */
            continue;
        }
        f->p = p;
        p->outstanding++;
        const redisReply *pl = reply->element[i + 1];
        st->fire(st->opaque, f, p->partition, f->id, (const uint8_t *)pl->str, pl->len, now);
    }
    if (more && p->outstanding > 0)
        p->more_waiting = 1; /* ch_timer_fire_done claims again */
    else if (more)
        arm_retry(p, 0);
    else if (next >= 0)
        arm_at(p, next, now);
}

static void
claim(part *p)
{
    if (!p->owned || p->claiming)
        return;
    ch_timer_store *st = p->st;
    char lease[24], limit[16];
    snprintf(lease, sizeof(lease), "%lld", (long long)st->lease_ms);
    snprintf(limit, sizeof(limit), "%d", CLAIM_BATCH);
    const char *rest[] = {p->due_key, p->inflight_key, p->timers_key, lease, limit};
    size_t restlen[5];
    for (int i = 0; i < 5; i++)
        restlen[i] = strlen(rest[i]);
    if (script_call(st, SCRIPT_CLAIM, claimed, p, 3, 5, rest, restlen) == 0)
        p->claiming = 1;
    else
        arm_retry(p, 1000); /* Redis is reconnecting */
}

/* ---- scheduling and cancelling ---- */

typedef struct {
    part *p;
    ch_timer_store_cb cb;
    void *opaque;
    int script;
} change_ctx;

static void
changed(void *opaque, redisReply *reply)
{
    change_ctx *cc = opaque;
    part *p = cc->p;
    check_noscript(p->st, cc->script, reply);
    int ok = reply && reply->type != REDIS_REPLY_ERROR;
    if (ok && cc->script == SCRIPT_SCHEDULE && p->owned && reply->type == REDIS_REPLY_ARRAY &&
        reply->elements == 2) {
        if (p->claiming) {
            p->rescan = 1; /* the claim in flight may not have seen these */
        } else {
            int64_t now = strtoll(reply->element[0]->str, NULL, 10);
            int64_t next = strtoll(reply->element[1]->str, NULL, 10);
            if (next >= 0 && (!p->armed || next < p->armed_for))
                arm_at(p, next, now);
        }
    }
    if (cc->cb)
        cc->cb(cc->opaque, ok ? 0 : CH_EAGAIN);
    free(cc);
}

static int
change(ch_timer_store *st, int script, int32_t partition, int nrest, const char **rest,
       const size_t *restlen, ch_timer_store_cb cb, void *opaque)
{
    change_ctx *cc = malloc(sizeof(*cc));
    if (!cc)
        return CH_ENOMEM;
    cc->p = part_get(st, partition);
    cc->cb = cb;
    cc->opaque = opaque;
    cc->script = script;
    if (!cc->p) {
        free(cc);
        return CH_ENOMEM;
    }
    int rc = script_call(st, script, changed, cc, 3, nrest, rest, restlen);
    if (rc != 0)
        free(cc);
    return rc;
}

int
ch_timer_store_schedule(ch_timer_store *st, int32_t partition, const ch_timer_spec *timers,
                        size_t n, ch_timer_store_cb cb, void *opaque)
{
    part *p = part_get(st, partition);
    if (!p || n == 0 || n > 10000)
        return p ? CH_EINVAL : CH_ENOMEM;
    int nrest = 3 + 3 * (int)n;
    const char **rest = malloc((size_t)nrest * sizeof(*rest));
    size_t *restlen = malloc((size_t)nrest * sizeof(*restlen));
    char(*dues)[24] = malloc(n * sizeof(*dues));
    int rc = CH_ENOMEM;
    if (rest && restlen && dues) {
        rest[0] = p->due_key;
        rest[1] = p->timers_key;
        rest[2] = p->inflight_key;
        for (int i = 0; i < 3; i++)
            restlen[i] = strlen(rest[i]);
        for (size_t i = 0; i < n; i++) {
            snprintf(dues[i], sizeof(dues[i]), "%lld", (long long)timers[i].due_ms);
            rest[3 + 3 * i] = timers[i].id;
            restlen[3 + 3 * i] = strlen(timers[i].id);
            rest[4 + 3 * i] = dues[i];
            restlen[4 + 3 * i] = strlen(dues[i]);
            rest[5 + 3 * i] = (const char *)timers[i].payload;
            restlen[5 + 3 * i] = timers[i].len;
        }
        rc = change(st, SCRIPT_SCHEDULE, partition, nrest, rest, restlen, cb, opaque);
    }
    free(rest);
    free(restlen);
    free(dues);
    return rc;
}

int
ch_timer_store_cancel(ch_timer_store *st, int32_t partition, const char *const *ids, size_t n,
                      ch_timer_store_cb cb, void *opaque)
{
    part *p = part_get(st, partition);
    if (!p || n == 0 || n > 10000)
        return p ? CH_EINVAL : CH_ENOMEM;
    int nrest = 3 + (int)n;
    const char **rest = malloc((size_t)nrest * sizeof(*rest));
    size_t *restlen = malloc((size_t)nrest * sizeof(*restlen));
    int rc = CH_ENOMEM;
    if (rest && restlen) {
        rest[0] = p->due_key;
        rest[1] = p->inflight_key;
        rest[2] = p->timers_key;
        for (size_t i = 0; i < n; i++)
            rest[3 + i] = ids[i];
        for (int i = 0; i < nrest; i++)
            restlen[i] = strlen(rest[i]);
        rc = change(st, SCRIPT_CANCEL, partition, nrest, rest, restlen, cb, opaque);
    }
    free(rest);
    free(restlen);
    return rc;
}

/* ---- ownership ---- */

int
ch_timer_store_own(ch_timer_store *st, int32_t partition)
{
    part *p = part_get(st, partition);
    if (!p)
        return CH_ENOMEM;
    p->owned = 1;
    claim(p); /* catch up on anything already due, and learn the next due time */
    return 0;
}

void
ch_timer_store_disown(ch_timer_store *st, int32_t partition)
{
    if (partition < 0 || partition >= MAX_PARTITIONS || !st->parts[partition])
        return;
    part *p = st->parts[partition];
    p->owned = 0;
    p->armed = 0;
    evtimer_del(p->ev);
}

void
ch_timer_store_stop(ch_timer_store *st)
{
    for (int i = 0; i < MAX_PARTITIONS; i++)
        ch_timer_store_disown(st, i);
}

void
ch_timer_store_redis_ready(ch_timer_store *st)
{
    for (int s = 0; s < NSCRIPTS; s++) {
        st->sha[s][0] = '\0';
        load_ctx *lc = malloc(sizeof(*lc));
        if (!lc)
            continue;
        lc->st = st;
        lc->script = s;
        if (ch_redis_command(st->rt, script_loaded, lc, "SCRIPT LOAD %s", scripts[s]) != 0)
            free(lc);
    }
    for (int i = 0; i < MAX_PARTITIONS; i++)
        if (st->parts[i] && st->parts[i]->owned)
            claim(st->parts[i]);
}

ch_timer_store *
ch_timer_store_new(ch_runtime *rt, const char *prefix, int64_t lease_ms, ch_timer_fire_fn fire,
                   void *opaque)
{
    ch_timer_store *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    st->rt = rt;
    snprintf(st->prefix, sizeof(st->prefix), "%s", prefix);
    st->lease_ms = lease_ms;
    st->fire = fire;
    st->opaque = opaque;
    return st;
}

void
ch_timer_store_free(ch_timer_store *st)
{
    if (!st)
        return;
    for (int i = 0; i < MAX_PARTITIONS; i++) {
        if (st->parts[i]) {
            event_free(st->parts[i]->ev);
            free(st->parts[i]);
        }
    }
    free(st);
}
