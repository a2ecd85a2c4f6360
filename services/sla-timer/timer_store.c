/* The timer store (see timer_store.h for why it is built this way). */
#include "timer_store.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/array.h"
#include "charter/errors.h"
#include "timer_keys.h"

/* Timers claimed per script call, and at most in flight per partition: a
 * crash re-fires at most this many per partition (duplicates consumers drop),
 * instead of everything claimed ahead of Kafka's acknowledgements. */
#define CLAIM_BATCH 200
/* Fired timers deleted per script call (Lua's unpack() takes under 8,000). */
#define ACK_BATCH 1000
/* Timers (schedule) or ids (cancel) that a partition's changes made in one
 * loop turn share one call up to; a single change above it goes alone. */
#define COALESCE_MAX 1000

enum { SCRIPT_CLAIM, SCRIPT_CANCEL, SCRIPT_ACK, NSCRIPTS };

/* KEYS: due, inflight, timers. ARGV: lease_ms, limit.
 * Set-at-a-time: one ZREM, one HMGET (of the text members only: a compact
 * one has no payload) and one ZADD for the whole batch. The leases share
 * one score and go to ZADD in descending id order: a small sorted set (a
 * listpack) then takes each at its head instead of scanning past every
 * earlier one, which made ZADD the script's dearest call. A text member
 * whose payload is gone is dropped.
 * Returns {now_s, now_us (Redis TIME), next_ms (-1 none), more (0/1),
 * member1, due1 ('' when claimed again from the in-flight set), payload1
 * ('' for a compact member), member2, ...}. */
static const char claim_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local lease, limit = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "local got = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, "
    "limit)\n"
    "local ids, dues, text = {}, {}, {}\n"
    "for i = 1, #got, 2 do ids[#ids + 1] = got[i]; dues[#dues + 1] = got[i + 1] end\n"
    "if #ids > 0 then redis.call('ZREM', KEYS[1], unpack(ids)) end\n"
    "if #ids < limit then\n"
    "  local exp = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit - #ids)\n"
    "  for i = 1, #exp do ids[#ids + 1] = exp[i]; dues[#dues + 1] = '' end\n"
    "end\n"
    "local out = {t[1], t[2], '-1', #ids >= limit and '1' or '0'}\n"
    "if #ids > 0 then\n"
    "  for i = 1, #ids do\n"
    "    if string.byte(ids[i], 1) ~= 0 then text[#text + 1] = ids[i] end\n"
    "  end\n"
    "  local ps = {}\n"
    "  if #text > 0 then\n"
    "    local r = redis.call('HMGET', KEYS[3], unpack(text))\n"
    "    for i = 1, #text do ps[text[i]] = r[i] end\n"
    "  end\n"
    "  local until_ms = tostring(now + lease)\n"
    "  local leased, gone = {}, {}\n"
    "  for i = #ids, 1, -1 do\n"
    "    local p = ''\n"
    "    if string.byte(ids[i], 1) ~= 0 then p = ps[ids[i]] end\n"
    "    if p then\n"
    "      leased[#leased + 1] = until_ms\n"
    "      leased[#leased + 1] = ids[i]\n"
    "      out[#out + 1] = ids[i]\n"
    "      out[#out + 1] = dues[i]\n"
    "      out[#out + 1] = p\n"
    "    else\n"
    "      gone[#gone + 1] = ids[i]\n"
    "    end\n"
    "  end\n"
    "  if #leased > 0 then redis.call('ZADD', KEYS[2], unpack(leased)) end\n"
    "  if #gone > 0 then redis.call('ZREM', KEYS[2], unpack(gone)) end\n"
    "end\n"
    "local next = -1\n"
    "for _, k in ipairs({KEYS[1], KEYS[2]}) do\n"
    "  local f = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')\n"
    "  if f[2] and (next < 0 or tonumber(f[2]) < next) then next = tonumber(f[2]) end\n"
    "end\n"
    "out[3] = tostring(next)\n"
    "return out\n";

/*
 * Scheduling is a transaction of plain commands, not a script (issue 16:
 * Lua's own cost was most of a schedule call's; see sched_send):
 *   MULTI
 *   HSET timers m p ...      the text members' payloads (none: left out)
 *   ZADD due d m ...         every member with its due time
 *   ZREM inflight m ...      a rescheduled timer leaves the in-flight set:
 *                            its new due time rules
 *   ZREM due o ...           `o`: each timer's member in the other form,
 *   ZREM inflight o ...      so one stored before an upgrade (or a change
 *   HDEL timers o ...        of sla.timer_format) and set again now is not
 *                            kept twice (HDEL: text ones only; none: left out)
 *   TIME
 *   ZRANGE due 0 0 WITHSCORES       the earliest due time and lease
 *   ZRANGE inflight 0 0 WITHSCORES  expiry, to arm the partition's timer
 *   EXEC
 */

/* KEYS: due, inflight, timers. ARGV: members (each id in both forms). */
static const char cancel_lua[] = "for i = 1, #ARGV do\n"
                                 "  redis.call('ZREM', KEYS[1], ARGV[i])\n"
                                 "  redis.call('ZREM', KEYS[2], ARGV[i])\n"
                                 "  redis.call('HDEL', KEYS[3], ARGV[i])\n"
                                 "end\n"
                                 "return #ARGV\n";

/* KEYS: due, inflight, timers. ARGV: members. Deletes fired timers, but
 * only the ones still in flight: one rescheduled meanwhile is back in the
 * due set and stays. Usually every one is still in flight, which ZREM's
 * count says. Only text members have a payload to delete. */
static const char ack_lua[] = "local function hdel(ms)\n"
                              "  local text = {}\n"
                              "  for i = 1, #ms do\n"
                              "    if string.byte(ms[i], 1) ~= 0 then text[#text + 1] = ms[i] end\n"
                              "  end\n"
                              "  if #text > 0 then redis.call('HDEL', KEYS[3], unpack(text)) end\n"
                              "end\n"
                              "if redis.call('ZREM', KEYS[2], unpack(ARGV)) == #ARGV then\n"
                              "  hdel(ARGV)\n"
                              "  return #ARGV\n"
                              "end\n"
                              "local due = redis.call('ZMSCORE', KEYS[1], unpack(ARGV))\n"
                              "local gone = {}\n"
                              "for i = 1, #ARGV do\n"
                              "  if not due[i] then gone[#gone + 1] = ARGV[i] end\n"
                              "end\n"
                              "hdel(gone)\n"
                              "return #gone\n";

static const char *const script_text[NSCRIPTS] = {claim_lua, cancel_lua, ack_lua};

/* One caller of a coalesced change, answered when its call is. */
typedef struct {
    sla_timer_store_cb cb;
    void *opaque;
} waiter;

/*
 * A partition's schedule (or cancel) calls made in this loop turn, sent as
 * one call at the turn's end (flush_cb): one schedule transaction, or one
 * cancel script. A call costs Redis a good part per call, not per timer
 * (a one-case schedule script spent about 16 of its 23 us in Lua itself),
 * and sla-timer applies many cases' events per turn. The words are copied
 * (offsets into buf, which moves as it grows); every caller is answered with
 * the call's outcome. A case's next event waits for its lane (case_sync.c),
 * so one call never holds two changes of one timer.
 */
typedef struct {
    char *buf;
    size_t len, cap;
    struct {
        size_t off, len; /* at buf + off */
    } * words;
    size_t nwords, words_cap;
    waiter *w;
    size_t nw, w_cap;
    size_t items; /* timers or ids so far */
} pending_call;

enum { PEND_SCHEDULE, PEND_CANCEL, NPEND };

typedef struct part {
    sla_timer_store *st;
    int32_t partition;
    int owned;
    int claiming;
    int rescan; /* timers were added while a claim was in flight */
    int armed;
    int64_t armed_for;     /* Redis time (ms) the timer is set for, when armed */
    int outstanding;       /* fired, not yet done */
    int more_waiting;      /* more are due: claim when the outstanding ones finish */
    ch_timer *timer;       /* the next claim: a due time, or a retry */
    sla_timer_fire **acks; /* delivered, to delete at the end of this loop turn */
    size_t nacks, acks_cap;
    pending_call pend[NPEND]; /* schedules and cancels, sent at the end of this loop turn */
    sla_timer_keys keys;
} part;

struct sla_timer_store {
    ch_runtime *rt;
    char prefix[SLA_KEY_PREFIX_MAX + 1];
    int64_t lease_ms;
    sla_timer_format format;
    sla_timer_fire_fn fire;
    void *opaque;
    ch_redis_script *scripts[NSCRIPTS]; /* registered with the runtime, which owns them */
    ch_timer *ack_timer;                /* runs at the turn's end when any partition has acks */
    ch_timer *flush_timer; /* runs at the turn's end when any partition has pending changes */
    part **parts;          /* by partition number, grown to the highest one seen; NULL: none yet */
    size_t nparts;
    uint64_t batches; /* compact batches handed over (sla_timer_fired.batch) */
};

struct sla_timer_fire {
    part *p;
    size_t mlen;    /* the member's length */
    char *id;       /* the timer id as text: in data, after the member */
    int64_t due_ms; /* the claimed score, -1 when claimed from the in-flight set */
    char data[];    /* the member (binary-safe), then the text id, NUL-terminated */
};

/* ---- scripts by SHA ---- */

/*
 * One script call under construction. Every script takes a partition's three
 * keys, in the order due, inflight, timers: args_new() puts them first, and
 * the caller adds the script's ARGV with args_add().
 */
typedef struct {
    const char **v;
    size_t *len;
    int n;
} script_args;

/* Adds one word (len bytes, binary-safe). */
static void
args_add(script_args *a, const char *s, size_t len)
{
    a->v[a->n] = s;
    a->len[a->n++] = len;
}

static int
args_new(script_args *a, const part *p, size_t nargs)
{
    size_t cap = 3 + nargs;
    a->v = malloc(cap * sizeof(*a->v));
    a->len = malloc(cap * sizeof(*a->len));
    if (!a->v || !a->len) {
        free(a->v);
        free(a->len);
        return CH_ENOMEM;
    }
    a->n = 0;
    args_add(a, p->keys.due, strlen(p->keys.due));
    args_add(a, p->keys.inflight, strlen(p->keys.inflight));
    args_add(a, p->keys.timers, strlen(p->keys.timers));
    return 0;
}

/* Runs the script by its SHA (the runtime falls back to EVAL after a
 * NOSCRIPT) and frees a's arrays: the runtime has copied the words. Returns
 * as ch_redis_script_call. */
static int
script_send(sla_timer_store *st, int script, script_args *a, ch_redis_cb cb, void *opaque)
{
    int rc = ch_redis_script_call(st->scripts[script], cb, opaque, 3, a->n, a->v, a->len);
    free(a->v);
    free(a->len);
    return rc;
}

/* Redis TIME as the scripts return it (seconds, microseconds), in us. */
static int64_t
redis_time_us(const redisReply *s, const redisReply *us)
{
    return strtoll(s->str, NULL, 10) * 1000000 + strtoll(us->str, NULL, 10);
}

/* ---- partitions and arming ---- */

sla_timer_step
sla_timer_after_claim(int more, int outstanding, int64_t next_ms)
{
    if (more)
        return outstanding > 0 ? SLA_TIMER_WAIT : SLA_TIMER_CLAIM;
    return next_ms >= 0 ? SLA_TIMER_ARM : SLA_TIMER_IDLE;
}

sla_timer_step
sla_timer_after_schedule(int claiming, int armed, int64_t armed_for, int64_t next_ms)
{
    if (claiming)
        return SLA_TIMER_RESCAN;
    return next_ms >= 0 && (!armed || next_ms < armed_for) ? SLA_TIMER_ARM : SLA_TIMER_IDLE;
}

static void claim(part *p);

/* Sets the partition's timer for Redis time `at_ms`, given Redis time
 * `now_us`; claims at once when that is already past. */
static void
arm_at(part *p, int64_t at_ms, int64_t now_us)
{
    if (!p->owned)
        return;
    int64_t delay_us = at_ms * 1000 - now_us;
    if (delay_us <= 0) {
        ch_timer_stop(p->timer);
        p->armed = 0;
        claim(p);
        return;
    }
    ch_timer_start(p->timer, delay_us); /* a started timer moves */
    p->armed = 1;
    p->armed_for = at_ms;
}

/* A retry delay_ms from now, not tied to a due time. */
static void
arm_retry(part *p, int64_t delay_ms)
{
    if (!p->owned)
        return;
    ch_timer_start(p->timer, delay_ms * 1000);
    p->armed = 0;
}

/* Does what sla_timer_after_claim or _after_schedule decided; next_ms and
 * now_us (Redis's time) come from the same answer. */
static void
take_step(part *p, sla_timer_step step, int64_t next_ms, int64_t now_us)
{
    switch (step) {
    case SLA_TIMER_WAIT:
        p->more_waiting = 1; /* sla_timer_fire_done claims again */
        break;
    case SLA_TIMER_RESCAN:
        p->rescan = 1; /* claimed() claims again */
        break;
    case SLA_TIMER_CLAIM:
        claim(p);
        break;
    case SLA_TIMER_ARM:
        arm_at(p, next_ms, now_us);
        break;
    case SLA_TIMER_IDLE:
        break;
    }
}

static void
part_timer_cb(void *arg)
{
    part *p = arg;
    p->armed = 0;
    claim(p);
}

static part *
part_get(sla_timer_store *st, int32_t partition)
{
    if (partition < 0)
        return NULL;
    /* No fixed limit on a topic's partitions: the array grows to the
     * highest partition assigned (it once stopped at 1,024, and the service
     * retried the rest for ever). */
    if ((size_t)partition >= st->nparts) {
        size_t cap = st->nparts;
        if (ch_array_grow(&st->parts, &cap, (size_t)partition + 1, sizeof(*st->parts)) != 0)
            return NULL;
        memset(st->parts + st->nparts, 0, (cap - st->nparts) * sizeof(*st->parts));
        st->nparts = cap;
    }
    part *p = st->parts[partition];
    if (p)
        return p;
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->st = st;
    p->partition = partition;
    p->timer = ch_timer_new(st->rt, part_timer_cb, p);
    if (!p->timer) {
        free(p);
        return NULL;
    }
    sla_timer_keys_of(st->prefix, partition, &p->keys);
    st->parts[partition] = p;
    return p;
}

/* ---- firing and deleting ---- */

/* One deletion call's timers. */
typedef struct {
    size_t n;
    sla_timer_fire *fires[];
} ack_ctx;

/* Redis answered the deletion, or it could not be sent (reply NULL): the
 * timers' memory goes. A deletion that failed leaves them leased in Redis:
 * they fire again. */
static void
deleted(void *opaque, redisReply *reply)
{
    (void)reply;
    ack_ctx *ac = opaque;
    for (size_t i = 0; i < ac->n; i++)
        free(ac->fires[i]);
    free(ac);
}

/* Sends one deletion for up to ACK_BATCH of p's delivered timers. If it
 * cannot be sent they stay leased and fire again when the lease expires,
 * under the same ids. Compact ones only (the usual case): a plain ZREM from
 * the in-flight set, which is all the acknowledgement script does for them
 * (a compact timer has no payload, and one rescheduled meanwhile has left
 * the in-flight set), without Lua's cost per member. */
static void
send_acks(part *p)
{
    size_t n = p->nacks < ACK_BATCH ? p->nacks : ACK_BATCH;
    ack_ctx *ac = malloc(sizeof(*ac) + n * sizeof(ac->fires[0]));
    script_args a;
    if (ac && args_new(&a, p, n) == 0) {
        ac->n = n;
        p->nacks -= n;
        memcpy(ac->fires, p->acks + p->nacks, n * sizeof(*ac->fires));
        int compact = 1;
        for (size_t i = 0; i < n; i++) {
            const sla_timer_fire *f = ac->fires[i];
            args_add(&a, f->data, f->mlen);
            compact = compact && sla_timer_member_compact(f->data, f->mlen);
        }
        int rc;
        if (compact) {
            /* "ZREM", the in-flight key, the members: the script's words
             * from its second key on, with the first two replaced. */
            a.v[1] = "ZREM";
            a.len[1] = 4;
            a.v[2] = p->keys.inflight;
            a.len[2] = strlen(p->keys.inflight);
            rc = ch_redis_command_argv(p->st->rt, deleted, ac, a.n - 1, a.v + 1, a.len + 1);
            free(a.v);
            free(a.len);
        } else {
            rc = script_send(p->st, SCRIPT_ACK, &a, deleted, ac);
        }
        if (rc != 0)
            deleted(ac, NULL);
        return;
    }
    for (size_t i = 0; i < n; i++)
        free(p->acks[--p->nacks]);
    free(ac);
}

static void
acks_cb(void *arg)
{
    sla_timer_store *st = arg;
    for (size_t i = 0; i < st->nparts; i++) {
        part *p = st->parts[i];
        while (p && p->nacks > 0)
            send_acks(p);
    }
}

void
sla_timer_fire_done(sla_timer_fire *f, int delivered)
{
    part *p = f->p;
    if (delivered && ch_array_grow(&p->acks, &p->acks_cap, p->nacks + 1, sizeof(*p->acks)) == 0) {
        /* Only now is the timer gone: its event is safely written. Deleted
         * with the others delivered in this loop turn, in one script call. */
        p->acks[p->nacks++] = f;
        ch_timer_soon(p->st->ack_timer);
    } else {
        free(f); /* left leased: fires again when the lease expires */
    }
    if (--p->outstanding == 0 && p->more_waiting) {
        p->more_waiting = 0;
        claim(p);
    }
}

/* A claimed batch's compact timers, waiting for their cases' states. */
typedef struct {
    part *p;
    int64_t now_ms;
    size_t n;
    size_t ncases; /* keys in the MGET: one per run of a case's timers */
    sla_timer_fire *fires[];
} state_read;

/* Whether fires a and b are timers of one case (their ids' case parts). */
static int
same_case(const sla_timer_fire *a, const sla_timer_fire *b)
{
    size_t la = sla_timer_id_case_len(a->id);
    return la == sla_timer_id_case_len(b->id) && memcmp(a->id, b->id, la) == 0;
}

/* The states are in (one MGET answer: one state per run of one case's
 * timers, in the fires' order), or the MGET failed (reply NULL or an
 * error): then the timers stay leased and fire again when the lease
 * expires. */
static void
states_read(void *opaque, redisReply *reply)
{
    state_read *sr = opaque;
    part *p = sr->p;
    sla_timer_store *st = p->st;
    int ok = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == sr->ncases;
    uint64_t batch = ++st->batches;
    if (!ok)
        CH_LOG_WARN(
            ch_runtime_log(st->rt),
            "case states of claimed timers not read; they fire when their lease expires",
            CH_STR("key", p->keys.due), CH_INT("timers", (int64_t)sr->n),
            CH_STR("error", reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "no reply"));
    size_t k = 0;
    for (size_t i = 0; i < sr->n; i++) {
        sla_timer_fire *f = sr->fires[i];
        if (!ok) {
            sla_timer_fire_done(f, 0);
            continue;
        }
        if (i > 0 && !same_case(sr->fires[i - 1], f))
            k++;
        const redisReply *s = reply->element[k];
        int has = s->type == REDIS_REPLY_STRING;
        sla_timer_fired t = {.id = f->id,
                             .compact = 1,
                             .due_ms = f->due_ms,
                             .state = has ? s->str : NULL,
                             .state_len = has ? s->len : 0,
                             .batch = batch};
        st->fire(st->opaque, f, p->partition, &t, sr->now_ms);
    }
    free(sr);
}

/* Reads the states of sr's cases with one MGET, each case's once (its
 * timers lie side by side when due together: the members sort by case);
 * fires them from the answer. */
static void
read_states(state_read *sr)
{
    const char **argv = malloc((sr->n + 1) * sizeof(*argv));
    char(*keys)[SLA_CASE_KEY_MAX] = malloc(sr->n * sizeof(*keys));
    int rc = CH_ENOMEM;
    if (argv && keys) {
        argv[0] = "MGET";
        sr->ncases = 0;
        for (size_t i = 0; i < sr->n; i++) {
            if (i > 0 && same_case(sr->fires[i - 1], sr->fires[i]))
                continue;
            char case_id[SLA_TIMER_ID_MAX];
            const char *id = sr->fires[i]->id;
            snprintf(case_id, sizeof(case_id), "%.*s", (int)sla_timer_id_case_len(id), id);
            sla_case_state_key(case_id, keys[sr->ncases], sizeof(keys[sr->ncases]));
            argv[sr->ncases + 1] = keys[sr->ncases];
            sr->ncases++;
        }
        rc = ch_redis_command_argv(sr->p->st->rt, states_read, sr, (int)sr->ncases + 1, argv, NULL);
    }
    free(argv);
    free(keys);
    if (rc != 0)
        states_read(sr, NULL);
}

static void
claimed(void *opaque, redisReply *reply)
{
    part *p = opaque;
    sla_timer_store *st = p->st;
    p->claiming = 0;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 4) {
        CH_LOG_WARN(
            ch_runtime_log(st->rt), "timer claim failed; retrying", CH_STR("key", p->keys.due),
            CH_STR("error", reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "no reply"));
        arm_retry(p, 1000);
        return;
    }
    int64_t now_us = redis_time_us(reply->element[0], reply->element[1]);
    int64_t next = strtoll(reply->element[2]->str, NULL, 10);
    int more = reply->element[3]->str[0] == '1' || p->rescan;
    p->rescan = 0;
    size_t ntimers = (reply->elements - 4) / 3;
    state_read *sr = malloc(sizeof(*sr) + ntimers * sizeof(sr->fires[0]));
    if (sr) {
        sr->p = p;
        sr->now_ms = now_us / 1000;
        sr->n = 0;
        sr->ncases = 0;
    }
    for (size_t i = 4; i + 2 < reply->elements; i += 3) {
        const redisReply *m = reply->element[i], *due = reply->element[i + 1],
                         *pl = reply->element[i + 2];
        int compact = sla_timer_member_compact(m->str, m->len);
        if (compact && !sr)
            continue; /* out of memory: left leased, fires again when the lease expires */
        sla_timer_fire *f = malloc(sizeof(*f) + m->len + SLA_TIMER_ID_MAX + 1);
        if (!f)
            continue;
        f->p = p;
        f->mlen = m->len;
        memcpy(f->data, m->str, m->len);
        f->id = f->data + m->len;
        f->due_ms = due->len ? strtoll(due->str, NULL, 10) : -1;
        if (sla_timer_id_unpack((const uint8_t *)m->str, m->len, f->id, SLA_TIMER_ID_MAX + 1) < 0) {
            /* Neither form (written by something else): deleted, as a
             * stored event that does not decode is. */
            CH_LOG_ERROR(ch_runtime_log(st->rt),
                         "claimed timer member does not decode; dropping it",
                         CH_STR("key", p->keys.due), CH_INT("bytes", (int64_t)m->len));
            snprintf(f->id, SLA_TIMER_ID_MAX + 1, "?");
            p->outstanding++;
            sla_timer_fire_done(f, 1);
            continue;
        }
        p->outstanding++;
        if (compact) {
            sr->fires[sr->n++] = f;
            continue;
        }
        sla_timer_fired t = {
            .id = f->id, .due_ms = f->due_ms, .payload = (const uint8_t *)pl->str, .len = pl->len};
        st->fire(st->opaque, f, p->partition, &t, now_us / 1000);
    }
    if (sr && sr->n > 0)
        read_states(sr);
    else
        free(sr);
    take_step(p, sla_timer_after_claim(more, p->outstanding, next), next, now_us);
}

static void
claim(part *p)
{
    if (!p->owned || p->claiming)
        return;
    sla_timer_store *st = p->st;
    char lease[24], limit[16];
    snprintf(lease, sizeof(lease), "%lld", (long long)st->lease_ms);
    snprintf(limit, sizeof(limit), "%d", CLAIM_BATCH);
    script_args a;
    if (args_new(&a, p, 2) == 0) {
        args_add(&a, lease, strlen(lease));
        args_add(&a, limit, strlen(limit));
        if (script_send(st, SCRIPT_CLAIM, &a, claimed, p) == 0) {
            p->claiming = 1;
            return;
        }
    }
    arm_retry(p, 1000); /* Redis is reconnecting (or memory is short) */
}

/* ---- scheduling and cancelling ---- */

/* One sent change call: its partition and the callers it answers. */
typedef struct {
    part *p;
    int kind; /* PEND_SCHEDULE or PEND_CANCEL */
    size_t nw;
    waiter w[];
} change_ctx;

/* A schedule's EXEC answer: every command's reply, the last three TIME and
 * the two sets' first entries. 1 and Redis's time and the earliest due time
 * or lease expiry (-1 none), or 0 when any command failed. */
static int
sched_answer(const redisReply *r, int64_t *now_us, int64_t *next_ms)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3)
        return 0;
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_ERROR)
            return 0;
    const redisReply *t = r->element[r->elements - 3];
    if (t->type != REDIS_REPLY_ARRAY || t->elements != 2)
        return 0;
    *now_us = redis_time_us(t->element[0], t->element[1]);
    *next_ms = -1;
    for (size_t k = r->elements - 2; k < r->elements; k++) {
        const redisReply *f = r->element[k];
        if (f->type == REDIS_REPLY_ARRAY && f->elements == 2) {
            int64_t at = strtoll(f->element[1]->str, NULL, 10);
            if (*next_ms < 0 || at < *next_ms)
                *next_ms = at;
        }
    }
    return 1;
}

static void
answer_all(const waiter *w, size_t n, int rc)
{
    for (size_t i = 0; i < n; i++)
        if (w[i].cb)
            w[i].cb(w[i].opaque, rc);
}

static void
changed(void *opaque, redisReply *reply)
{
    change_ctx *cc = opaque;
    part *p = cc->p;
    int ok;
    if (cc->kind == PEND_SCHEDULE) {
        int64_t now_us, next;
        ok = sched_answer(reply, &now_us, &next);
        /* The new timers may be due sooner than the partition's timer. */
        if (ok && p->owned)
            take_step(p, sla_timer_after_schedule(p->claiming, p->armed, p->armed_for, next), next,
                      now_us);
    } else {
        ok = reply && reply->type != REDIS_REPLY_ERROR;
    }
    answer_all(cc->w, cc->nw, ok ? 0 : CH_EAGAIN);
    free(cc);
}

/* A transaction's commands under construction: words go into one pair of
 * arrays, each command a slice of them. */
typedef struct {
    const char **v;
    size_t *len;
    size_t used;
    ch_redis_cmd cmds[9];
    size_t ncmds;
} tx_build;

/* Starts a command: its name and key. */
static void
tx_start(tx_build *tx, const char *name, const char *key)
{
    tx->cmds[tx->ncmds] = (ch_redis_cmd){0, tx->v + tx->used, tx->len + tx->used};
    const char *w[2] = {name, key};
    for (int i = 0; i < (key ? 2 : 1); i++) {
        tx->v[tx->used] = w[i];
        tx->len[tx->used++] = strlen(w[i]);
        tx->cmds[tx->ncmds].argc++;
    }
}

static void
tx_add(tx_build *tx, const char *s, size_t len)
{
    tx->v[tx->used] = s;
    tx->len[tx->used++] = len;
    tx->cmds[tx->ncmds].argc++;
}

/* Ends the command: kept when it has more than min words, dropped
 * otherwise (an HSET with nothing to set). */
static void
tx_end(tx_build *tx, int min)
{
    if (tx->cmds[tx->ncmds].argc > min)
        tx->ncmds++;
    else
        tx->used -= (size_t)tx->cmds[tx->ncmds].argc;
}

/* Pending schedule timer i's four words: member, due, payload, other form. */
static void
timer_words(const pending_call *pc, size_t i, const char *w[4], size_t wl[4])
{
    for (int j = 0; j < 4; j++) {
        w[j] = pc->buf + pc->words[4 * i + (size_t)j].off;
        wl[j] = pc->words[4 * i + (size_t)j].len;
    }
}

/* Sends a pending schedule call's timers (four words each: member, due,
 * payload, the other form or '') as the transaction described at the top. */
static int
sched_send(part *p, const pending_call *pc, change_ctx *cc)
{
    size_t n = pc->nwords / 4;
    /* At most: HSET 2+2n, ZADD 2+2n, ZREM 2+n, three of 2+n, TIME, two ZRANGE of 5. */
    size_t cap = 9 * n + 24;
    tx_build tx = {.v = malloc(cap * sizeof(*tx.v)), .len = malloc(cap * sizeof(*tx.len))};
    int rc = CH_ENOMEM;
    if (tx.v && tx.len) {
        const char *w[4];
        size_t wl[4];
        tx_start(&tx, "HSET", p->keys.timers); /* text members only */
        for (size_t i = 0; i < n; i++) {
            timer_words(pc, i, w, wl);
            if (!sla_timer_member_compact(w[0], wl[0])) {
                tx_add(&tx, w[0], wl[0]);
                tx_add(&tx, w[2], wl[2]);
            }
        }
        tx_end(&tx, 2);
        tx_start(&tx, "ZADD", p->keys.due);
        for (size_t i = 0; i < n; i++) {
            timer_words(pc, i, w, wl);
            tx_add(&tx, w[1], wl[1]);
            tx_add(&tx, w[0], wl[0]);
        }
        tx_end(&tx, 2);
        tx_start(&tx, "ZREM", p->keys.inflight);
        for (size_t i = 0; i < n; i++) {
            timer_words(pc, i, w, wl);
            tx_add(&tx, w[0], wl[0]);
        }
        tx_end(&tx, 2);
        /* The other forms: from both sets, and (text ones) the payload hash. */
        const char *const other[3][2] = {
            {"ZREM", p->keys.due}, {"ZREM", p->keys.inflight}, {"HDEL", p->keys.timers}};
        for (int c = 0; c < 3; c++) {
            tx_start(&tx, other[c][0], other[c][1]);
            for (size_t i = 0; i < n; i++) {
                timer_words(pc, i, w, wl);
                if (wl[3] && (c < 2 || !sla_timer_member_compact(w[3], wl[3])))
                    tx_add(&tx, w[3], wl[3]);
            }
            tx_end(&tx, 2);
        }
        tx_start(&tx, "TIME", NULL);
        tx_end(&tx, 0);
        const char *const sets[2] = {p->keys.due, p->keys.inflight};
        for (int k = 0; k < 2; k++) {
            tx_start(&tx, "ZRANGE", sets[k]);
            tx_add(&tx, "0", 1);
            tx_add(&tx, "0", 1);
            tx_add(&tx, "WITHSCORES", 10);
            tx_end(&tx, 0);
        }
        rc = ch_redis_multi(p->st->rt, changed, cc, tx.ncmds, tx.cmds);
    }
    free(tx.v);
    free(tx.len);
    return rc;
}

/* Sends p's pending call k (a schedule transaction or a cancel script),
 * and empties it (keeping its memory for the next turn). Its callers are
 * answered CH_EAGAIN when it cannot be sent. */
static void
pend_send(part *p, int k)
{
    pending_call *pc = &p->pend[k];
    if (pc->nw == 0)
        return;
    change_ctx *cc = malloc(sizeof(*cc) + pc->nw * sizeof(cc->w[0]));
    int rc = CH_ENOMEM;
    if (cc) {
        cc->p = p;
        cc->kind = k;
        cc->nw = pc->nw;
        memcpy(cc->w, pc->w, pc->nw * sizeof(cc->w[0]));
        script_args a;
        if (k == PEND_SCHEDULE)
            rc = sched_send(p, pc, cc);
        else if (args_new(&a, p, pc->nwords) == 0) {
            for (size_t i = 0; i < pc->nwords; i++)
                args_add(&a, pc->buf + pc->words[i].off, pc->words[i].len);
            rc = script_send(p->st, SCRIPT_CANCEL, &a, changed, cc);
        }
    }
    waiter *w = pc->w;
    size_t nw = pc->nw;
    pc->len = pc->nwords = pc->nw = pc->items = 0;
    if (rc != 0) {
        free(cc);
        /* Answered once the call is emptied and its waiters taken out: an
         * answer may queue a new change on this partition. */
        pc->w = NULL;
        pc->w_cap = 0;
        answer_all(w, nw, CH_EAGAIN);
        free(w);
    }
}

static void
flush_cb(void *arg)
{
    sla_timer_store *st = arg;
    for (size_t i = 0; i < st->nparts; i++)
        for (int k = 0; st->parts[i] && k < NPEND; k++)
            pend_send(st->parts[i], k);
}

/* Adds one word (len bytes, binary-safe) to pc; CH_ENOMEM leaves pc for the
 * caller to roll back (pend_undo). */
static int
pend_word(pending_call *pc, const void *s, size_t len)
{
    if (ch_array_grow(&pc->buf, &pc->cap, pc->len + len + 1, 1) != 0 ||
        ch_array_grow(&pc->words, &pc->words_cap, pc->nwords + 1, sizeof(*pc->words)) != 0)
        return CH_ENOMEM;
    if (len)
        memcpy(pc->buf + pc->len, s, len);
    pc->words[pc->nwords].off = pc->len;
    pc->words[pc->nwords++].len = len;
    pc->len += len;
    return 0;
}

/* Where a change started in pc, to take it back out if it does not fit. */
typedef struct {
    size_t len, nwords;
} pend_mark;

/* Makes room for a change of n items in p's pending call k: a full call
 * goes out now. Returns the call and where the change starts. */
static pending_call *
pend_begin(part *p, int k, size_t n, pend_mark *mark)
{
    pending_call *pc = &p->pend[k];
    if (pc->items > 0 && pc->items + n > COALESCE_MAX)
        pend_send(p, k);
    *mark = (pend_mark){pc->len, pc->nwords};
    return pc;
}

/* Ends a change begun with pend_begin: rc 0 (its words added) queues cb
 * for the turn's end; otherwise the words go and rc is returned. */
static int
pend_end(part *p, pending_call *pc, const pend_mark *mark, size_t n, int rc, sla_timer_store_cb cb,
         void *opaque)
{
    if (rc == 0 && ch_array_grow(&pc->w, &pc->w_cap, pc->nw + 1, sizeof(*pc->w)) != 0)
        rc = CH_ENOMEM;
    if (rc != 0) {
        pc->len = mark->len;
        pc->nwords = mark->nwords;
        return rc;
    }
    pc->w[pc->nw++] = (waiter){cb, opaque};
    pc->items += n;
    ch_timer_soon(p->st->flush_timer);
    return 0;
}

int
sla_timer_store_packs(const sla_timer_store *st, const char *id)
{
    uint8_t m[SLA_TIMER_MEMBER_MAX];
    return st->format == SLA_TIMER_COMPACT && sla_timer_id_pack(id, m, sizeof(m)) > 0;
}

int
sla_timer_store_schedule(sla_timer_store *st, int32_t partition, const sla_timer_spec *timers,
                         size_t n, sla_timer_store_cb cb, void *opaque)
{
    part *p = part_get(st, partition);
    if (!p || n == 0 || n > 10000)
        return p ? CH_EINVAL : CH_ENOMEM;
    pend_mark mark;
    pending_call *pc = pend_begin(p, PEND_SCHEDULE, n, &mark);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *id = timers[i].id;
        uint8_t packed[SLA_TIMER_MEMBER_MAX];
        size_t plen = sla_timer_id_pack(id, packed, sizeof(packed));
        char due[24];
        int duelen = snprintf(due, sizeof(due), "%lld", (long long)timers[i].due_ms);
        /* member, due, payload, the member's other form ('' none) */
        if (plen && st->format == SLA_TIMER_COMPACT) {
            rc = pend_word(pc, packed, plen) || pend_word(pc, due, (size_t)duelen) ||
                 pend_word(pc, "", 0) || pend_word(pc, id, strlen(id));
        } else {
            rc = pend_word(pc, id, strlen(id)) || pend_word(pc, due, (size_t)duelen) ||
                 pend_word(pc, timers[i].payload ? (const char *)timers[i].payload : "",
                           timers[i].payload ? timers[i].len : 0) ||
                 pend_word(pc, packed, plen);
        }
    }
    return pend_end(p, pc, &mark, n, rc ? CH_ENOMEM : 0, cb, opaque);
}

int
sla_timer_store_cancel(sla_timer_store *st, int32_t partition, const char *const *ids, size_t n,
                       sla_timer_store_cb cb, void *opaque)
{
    part *p = part_get(st, partition);
    if (!p || n == 0 || n > 10000)
        return p ? CH_EINVAL : CH_ENOMEM;
    pend_mark mark;
    pending_call *pc = pend_begin(p, PEND_CANCEL, n, &mark);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint8_t packed[SLA_TIMER_MEMBER_MAX];
        size_t plen = sla_timer_id_pack(ids[i], packed, sizeof(packed));
        rc = pend_word(pc, ids[i], strlen(ids[i]));
        if (rc == 0 && plen)
            rc = pend_word(pc, packed, plen);
    }
    return pend_end(p, pc, &mark, n, rc, cb, opaque);
}

/* ---- ownership ---- */

int
sla_timer_store_own(sla_timer_store *st, int32_t partition)
{
    part *p = part_get(st, partition);
    if (!p)
        return CH_ENOMEM;
    p->owned = 1;
    claim(p); /* catch up on anything already due, and learn the next due time */
    return 0;
}

void
sla_timer_store_disown(sla_timer_store *st, int32_t partition)
{
    if (partition < 0 || (size_t)partition >= st->nparts || !st->parts[partition])
        return;
    part *p = st->parts[partition];
    p->owned = 0;
    p->armed = 0;
    ch_timer_stop(p->timer);
}

void
sla_timer_store_stop(sla_timer_store *st)
{
    for (size_t i = 0; i < st->nparts; i++)
        sla_timer_store_disown(st, (int32_t)i);
    flush_cb(st); /* changes of this turn go out while Redis is there */
}

void
sla_timer_store_redis_ready(sla_timer_store *st)
{
    for (size_t i = 0; i < st->nparts; i++)
        if (st->parts[i] && st->parts[i]->owned)
            claim(st->parts[i]);
}

sla_timer_store *
sla_timer_store_new(ch_runtime *rt, const char *prefix, int64_t lease_ms, sla_timer_format format,
                    sla_timer_fire_fn fire, void *opaque)
{
    sla_timer_store *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    st->rt = rt;
    snprintf(st->prefix, sizeof(st->prefix), "%s", prefix);
    st->lease_ms = lease_ms;
    st->format = format;
    st->fire = fire;
    st->opaque = opaque;
    for (int s = 0; s < NSCRIPTS; s++)
        if (!(st->scripts[s] = ch_redis_script_new(rt, script_text[s])))
            goto err; /* the runtime frees the ones registered */
    if (!(st->ack_timer = ch_timer_new(rt, acks_cb, st)) ||
        !(st->flush_timer = ch_timer_new(rt, flush_cb, st)))
        goto err;
    return st;
err:
    ch_timer_free(st->ack_timer);
    free(st);
    return NULL;
}

void
sla_timer_store_free(sla_timer_store *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->nparts; i++) {
        part *p = st->parts[i];
        if (p) {
            ch_timer_free(p->timer);
            while (p->nacks > 0)
                free(p->acks[--p->nacks]);
            free(p->acks);
            for (int k = 0; k < NPEND; k++) {
                pending_call *pc = &p->pend[k];
                answer_all(pc->w, pc->nw, CH_EAGAIN); /* none after a stop */
                free(pc->buf);
                free(pc->words);
                free(pc->w);
            }
            free(p);
        }
    }
    free(st->parts);
    ch_timer_free(st->ack_timer);
    ch_timer_free(st->flush_timer);
    free(st);
}
