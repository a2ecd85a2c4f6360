/*
 * reporting's Redis store (store.h lists the keys and says why its scripts).
 * This is the only file of the service that sees hiredis: each call turns a
 * reply into values (a count, a state, tables, the open index) before it
 * reaches the caller. The scripts are the runtime's (ch_redis_script), so a
 * call sends their SHA-1 rather than their text.
 */
#include "store.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/log.h"
#include "charter/timeutil.h"
#include "periods.h"

/* KEYS: seen, counts. ARGV: ttl, name1, name2, ... Returns 1 if counted. */
static const char count_lua[] =
    "if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then\n"
    "  for i = 2, #ARGV do redis.call('HINCRBY', KEYS[2], ARGV[i], 1) end\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

/* KEYS: case, open, periods index, then one figures hash per period.
 * ARGV: old state ("" for none), new state, ttl, open op ("add", "rem" or
 * ""), open member, score; then per figures hash: its index member, its
 * expiry (unix seconds, "0" for none), n, and n field/delta pairs.
 * Returns 1, or -1 when the case changed since it was read. */
static const char case_lua[] =
    "local cur = redis.call('GET', KEYS[1])\n"
    "if (cur or '') ~= ARGV[1] then return -1 end\n"
    "redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])\n"
    "local a = 7\n"
    "for k = 4, #KEYS do\n"
    "  local n = tonumber(ARGV[a + 2])\n"
    "  for i = a + 3, a + 1 + 2 * n, 2 do redis.call('HINCRBY', KEYS[k], ARGV[i], ARGV[i + 1]) "
    "end\n"
    "  if ARGV[a + 1] ~= '0' then redis.call('EXPIREAT', KEYS[k], ARGV[a + 1]) end\n"
    "  redis.call('ZADD', KEYS[3], 0, ARGV[a])\n"
    "  a = a + 3 + 2 * n\n"
    "end\n"
    "if ARGV[4] == 'add' then redis.call('ZADD', KEYS[2], ARGV[6], ARGV[5])\n"
    "elseif ARGV[4] == 'rem' then redis.call('ZREM', KEYS[2], ARGV[5]) end\n"
    "return 1\n";

/* KEYS: periods index, open. ARGV: the oldest day, month and year kept
 * ("d:2023-12-04", "m:2023-12", "y:2023"), the open set's horizon (ms).
 * Takes the older periods out of the index (up to 1,000 of each
 * granularity a call) and returns them, so that their hashes, if a longer
 * retention left them, are deleted too; takes the open members scored
 * before the horizon out. */
static const char prune_lua[] =
    "local gone = {}\n"
    "for i = 1, 3 do\n"
    "  local g = string.sub(ARGV[i], 1, 2)\n"
    "  local m = redis.call('ZRANGEBYLEX', KEYS[1], '[' .. g, '(' .. ARGV[i], 'LIMIT', 0, 1000)\n"
    "  if #m > 0 then redis.call('ZREM', KEYS[1], unpack(m)) end\n"
    "  for _, v in ipairs(m) do gone[#gone + 1] = v end\n"
    "end\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4])\n"
    "return gone\n";

/* KEYS: the old figures hash, the periods index, then one figures hash per
 * period. ARGV: d, then d fields only deleted (periods expired, or no period);
 * then per figures hash: its index member, its expiry ("0" none), n, and n
 * fields. A field still in the old hash is added to its period's hash and
 * deleted from the old one, in one script: moved once whoever runs it.
 * Returns how many fields were moved. */
static const char migrate_lua[] =
    "local d = tonumber(ARGV[1])\n"
    "for i = 2, d + 1 do redis.call('HDEL', KEYS[1], ARGV[i]) end\n"
    "local a, moved = d + 2, 0\n"
    "for k = 3, #KEYS do\n"
    "  local n = tonumber(ARGV[a + 2])\n"
    "  for i = a + 3, a + 2 + n do\n"
    "    local v = redis.call('HGET', KEYS[1], ARGV[i])\n"
    "    if v then\n"
    "      redis.call('HINCRBY', KEYS[k], ARGV[i], v)\n"
    "      redis.call('HDEL', KEYS[1], ARGV[i])\n"
    "      moved = moved + 1\n"
    "    end\n"
    "  end\n"
    "  if ARGV[a + 1] ~= '0' then redis.call('EXPIREAT', KEYS[k], ARGV[a + 1]) end\n"
    "  redis.call('ZADD', KEYS[2], 0, ARGV[a])\n"
    "  a = a + 3 + n\n"
    "end\n"
    "return moved\n";

/* ---- keys ---- */

#define KEY_MAX 320

/* "charter:report:{<org>}:<what>", or with ":<id>" after it when id is given. */
static void
key_of(char buf[KEY_MAX], const char *org, const char *what, const char *id)
{
    snprintf(buf, KEY_MAX, "charter:report:{%s}:%s%s%s", org, what, id ? ":" : "", id ? id : "");
}

/* "charter:report:{<org>}:figures:<period>" */
static void
figures_key(char buf[KEY_MAX], const char *org, const char *period)
{
    snprintf(buf, KEY_MAX, "charter:report:{%s}:figures:%s", org, period);
}

/* Set once every old figures hash is moved (report_store_migrate). */
#define LAYOUT_KEY "charter:report:layout"
#define LAYOUT_PER_PERIOD "per-period"

struct report_store {
    ch_runtime *rt;
    int retention_months;
    ch_redis_script *count_script; /* count_lua; the runtime owns the scripts */
    ch_redis_script *case_script;  /* case_lua */
    ch_redis_script *prune_script;
    ch_redis_script *migrate_script;
};

report_store *
report_store_new(ch_runtime *rt, int retention_months)
{
    report_store *st = malloc(sizeof(*st));
    if (!st)
        return NULL;
    *st = (report_store){rt,
                         retention_months,
                         ch_redis_script_new(rt, count_lua),
                         ch_redis_script_new(rt, case_lua),
                         ch_redis_script_new(rt, prune_lua),
                         ch_redis_script_new(rt, migrate_lua)};
    if (!st->count_script || !st->case_script || !st->prune_script || !st->migrate_script) {
        free(st);
        return NULL;
    }
    return st;
}

void
report_store_free(report_store *st)
{
    free(st);
}

/* ---- one command, one caller's callback ---- */

/* The caller's callback and opaque, kept across one Redis round trip. */
typedef struct {
    union {
        report_counted_fn counted;
        report_case_fn case_read;
        report_written_fn written;
        report_names_fn names;
    } done;
    void *opaque;
} store_call;

static store_call *
call_new(void *opaque)
{
    store_call *c = malloc(sizeof(*c));
    if (c)
        c->opaque = opaque;
    return c;
}

/* The call back from a reply's opaque (freed). */
static store_call
call_take(void *opaque)
{
    store_call c = *(store_call *)opaque;
    free(opaque);
    return c;
}

/* The command's return, with the call freed when it was not sent. */
static int
call_sent(int rc, store_call *c)
{
    if (rc != 0)
        free(c);
    return rc;
}

/* ---- counting a record ---- */

static void
counted(void *opaque, redisReply *reply)
{
    store_call c = call_take(opaque);
    if (!reply || reply->type != REDIS_REPLY_INTEGER)
        c.done.counted(c.opaque, CH_EAGAIN, 0,
                       reply && reply->str ? reply->str : "redis unavailable");
    else
        c.done.counted(c.opaque, 0, reply->integer != 0, NULL);
}

int
report_store_count(report_store *st, const char *org, const char *event_id, int64_t ttl_s,
                   const char (*names)[CH_REPORT_COUNT_NAME_MAX], size_t nnames,
                   report_counted_fn done, void *opaque)
{
    char seen[KEY_MAX], counts[KEY_MAX], ttl[24];
    key_of(seen, org, "seen", event_id);
    key_of(counts, org, "counts", NULL);
    snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_s);
    const char *args[16] = {seen, counts, ttl};
    int nargs = 3; /* 2 keys, then the ttl and the names */
    for (size_t i = 0; i < nnames && nargs < 13; i++)
        args[nargs++] = names[i];
    store_call *c = call_new(opaque);
    if (!c)
        return CH_ENOMEM;
    c->done.counted = done;
    return call_sent(ch_redis_script_call(st->count_script, counted, c, 2, nargs, args, NULL), c);
}

/* ---- a case's state ---- */

static void
case_read(void *opaque, redisReply *reply)
{
    store_call c = call_take(opaque);
    if (!reply || (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_NIL))
        c.done.case_read(c.opaque, CH_EAGAIN, NULL, 0);
    else if (reply->type == REDIS_REPLY_STRING)
        c.done.case_read(c.opaque, 0, reply->str, reply->len);
    else
        c.done.case_read(c.opaque, 0, NULL, 0);
}

int
report_store_case_read(report_store *st, const char *org, const char *case_id, report_case_fn done,
                       void *opaque)
{
    char key[KEY_MAX];
    key_of(key, org, "case", case_id);
    store_call *c = call_new(opaque);
    if (!c)
        return CH_ENOMEM;
    c->done.case_read = done;
    return call_sent(ch_redis_command(st->rt, case_read, c, "GET %s", key), c);
}

static void
case_written(void *opaque, redisReply *reply)
{
    store_call c = call_take(opaque);
    if (!reply || reply->type != REDIS_REPLY_INTEGER)
        c.done.written(c.opaque, CH_EAGAIN, reply && reply->str ? reply->str : "redis unavailable");
    else if (reply->integer < 0)
        c.done.written(c.opaque, CH_EEXIST, "the case changed meanwhile; retrying");
    else
        c.done.written(c.opaque, 0, NULL);
}

/* An argument list that grows (the words borrowed or kept in texts). */
typedef struct {
    const char **v;
    size_t n, cap;
    char (*texts)[24]; /* numbers written for the list */
    size_t ntexts, captexts;
    int failed;
} arg_list;

static void
arg_add(arg_list *a, const char *word)
{
    if (a->failed)
        return;
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        const char **v = realloc(a->v, cap * sizeof(*v));
        if (!v) {
            a->failed = 1;
            return;
        }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = word;
}

/* A number as a word; the texts are allocated up front (captexts), so the
 * words already added stay valid. */
static void
arg_num(arg_list *a, long long v)
{
    if (a->failed || a->ntexts == a->captexts) {
        a->failed = 1;
        return;
    }
    snprintf(a->texts[a->ntexts], sizeof(a->texts[0]), "%lld", v);
    arg_add(a, a->texts[a->ntexts++]);
}

static void
arg_free(arg_list *a)
{
    free(a->v);
    free(a->texts);
}

int
report_store_case_write(report_store *st, const char *org, const char *case_id,
                        const report_case_change *ch, report_written_fn done, void *opaque)
{
    char kcase[KEY_MAX], kopen[KEY_MAX], kidx[KEY_MAX];
    key_of(kcase, org, "case", case_id);
    key_of(kopen, org, "open", NULL);
    key_of(kidx, org, "periods", NULL);
    size_t n = ch->ndelta, cap = n ? n : 1;
    report_bucket *buckets = malloc(cap * sizeof(*buckets));
    size_t *bucket_of = malloc(cap * sizeof(*bucket_of));
    char(*keys)[KEY_MAX] = malloc(cap * sizeof(*keys));
    arg_list a = {.captexts = 3 * cap + 3};
    a.texts = malloc(a.captexts * sizeof(*a.texts));
    store_call *c = call_new(opaque);
    int nb = buckets && bucket_of && keys && a.texts && c
                 ? report_group_by_period(ch->delta, n, st->retention_months, ch->now_s, buckets,
                                          cap, bucket_of)
                 : CH_ENOMEM;
    int rc = CH_ENOMEM;
    if (nb >= 0) {
        arg_add(&a, kcase);
        arg_add(&a, kopen);
        arg_add(&a, kidx);
        for (int b = 0; b < nb; b++) {
            figures_key(keys[b], org, buckets[b].period);
            arg_add(&a, keys[b]);
        }
        arg_add(&a, ch->old_state ? ch->old_state : "");
        arg_add(&a, ch->state);
        arg_num(&a, (long long)ch->ttl_s);
        arg_add(&a, ch->open_op);
        arg_add(&a, ch->member ? ch->member : "");
        arg_num(&a, strcmp(ch->open_op, "add") == 0 ? (long long)ch->due_ms : 0);
        for (int b = 0; b < nb; b++) {
            arg_add(&a, buckets[b].member);
            arg_num(&a, (long long)buckets[b].expire_at_s);
            arg_num(&a, (long long)buckets[b].n);
            for (size_t i = 0; i < n; i++)
                if (bucket_of[i] == (size_t)b) {
                    arg_add(&a, ch->delta[i].key);
                    arg_num(&a, (long long)ch->delta[i].value);
                }
        }
        if (!a.failed) {
            c->done.written = done;
            rc = call_sent(
                ch_redis_script_call(st->case_script, case_written, c, 3 + nb, (int)a.n, a.v, NULL),
                c);
            c = NULL;
        }
    }
    free(c);
    arg_free(&a);
    free(buckets);
    free(bucket_of);
    free(keys);
    return rc;
}

/* ---- loading an organisation ----
 *
 * One step after the other, each reply turned into values before the next
 * step: the periods index (for a range), counts (when asked), the figures
 * of each period (one HGETALL per period's hash, all sent at once, each
 * reply appended to the table, which is sorted once at the end), then the
 * open cases, whose members the caller borrows from the last reply. */

enum { LOAD_INDEX, LOAD_COUNTS, LOAD_FIGURES, LOAD_OPEN, LOAD_DONE };

typedef struct {
    report_store *st;
    char org[128];
    unsigned what;
    int64_t now_ms;
    int step; /* LOAD_*: the reply awaited */
    char (*periods)[CH_REPORT_KEY_PERIOD_MAX];
    size_t nperiods;
    size_t pending; /* HGETALL replies still to come */
    int failed;     /* one of them failed (CH_*) */
    /* the range, for LOAD_INDEX */
    ch_report_granularity g;
    char from[CH_REPORT_KEY_PERIOD_MAX], to[CH_REPORT_KEY_PERIOD_MAX];
    report_loaded_fn done;
    void *opaque;
    report_data d;
} load_call;

static void
load_finish(load_call *l, int rc)
{
    l->done(l->opaque, rc, rc == 0 ? &l->d : NULL);
    ch_report_table_free(&l->d.counts);
    ch_report_table_free(&l->d.figures);
    free(l->d.open.members);
    free(l->d.open.keys);
    free(l->periods);
    free(l);
}

/* A hash read back (HGETALL: field, value, ...) appended to t (unsorted:
 * ch_report_table_normalise follows). Fields too long for an item are
 * skipped, as ch_report_table_from_pairs skips them. */
static int
table_append(ch_report_table *t, const redisReply *reply)
{
    size_t npairs = reply->elements / 2;
    if (!npairs)
        return 0;
    size_t want = t->n + npairs;
    if (want > t->cap) {
        size_t cap = t->cap ? t->cap : 64;
        while (cap < want)
            cap *= 2;
        ch_report_item *items = realloc(t->items, cap * sizeof(*items));
        if (!items)
            return CH_ENOMEM;
        t->items = items;
        t->cap = cap;
    }
    for (size_t i = 0; i < npairs; i++) {
        const redisReply *f = reply->element[2 * i], *v = reply->element[2 * i + 1];
        ch_report_item *it = &t->items[t->n];
        if (!f->str || f->len >= sizeof(it->key))
            continue;
        memcpy(it->key, f->str, f->len + 1);
        it->value = v->str ? strtoll(v->str, NULL, 10) : 0;
        t->n++;
    }
    return 0;
}

/* A hash read back (HGETALL: field, value, ...) as a table. */
static int
table_of(ch_report_table *t, const redisReply *reply)
{
    int rc = table_append(t, reply);
    ch_report_table_normalise(t);
    return rc;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The open set read back (ZRANGEBYSCORE: members) as the sorted, parsed index. */
static int
open_of(report_open *o, const redisReply *reply)
{
    size_t cap = reply->elements ? reply->elements : 1;
    o->members = malloc(cap * sizeof(*o->members));
    o->keys = malloc(cap * sizeof(*o->keys));
    if (!o->members || !o->keys)
        return CH_ENOMEM;
    for (size_t i = 0; i < reply->elements; i++)
        if (reply->element[i]->str)
            o->members[o->n++] = reply->element[i]->str;
    qsort(o->members, o->n, sizeof(*o->members), cmp_str);
    size_t n = 0;
    for (size_t i = 0; i < o->n; i++)
        if (ch_report_key_parse(o->members[i], &o->keys[n]) == 0)
            o->members[n++] = o->members[i];
    o->n = n;
    return 0;
}

/* The index's members of granularity g from..to (empty: no bound) as
 * ZRANGEBYLEX bounds. */
static void
index_bounds(ch_report_granularity g, const char *from, const char *to, char min[32], char max[32])
{
    char c = ch_report_granularity_letter(g);
    if (from && from[0])
        snprintf(min, 32, "[%c:%s", c, from);
    else
        snprintf(min, 32, "[%c:", c);
    if (to && to[0])
        snprintf(max, 32, "[%c:%s", c, to);
    else
        snprintf(max, 32, "(%c;", c); /* ';' follows ':': every member of g */
}

/* The periods of the index's reply (members "m:2026-11" -> "2026-11"). */
static int
periods_of(load_call *l, const redisReply *reply)
{
    l->periods = malloc((reply->elements ? reply->elements : 1) * sizeof(*l->periods));
    if (!l->periods)
        return CH_ENOMEM;
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *m = reply->element[i];
        if (m->str && m->len > 2 && m->len - 2 < CH_REPORT_KEY_PERIOD_MAX)
            snprintf(l->periods[l->nperiods++], CH_REPORT_KEY_PERIOD_MAX, "%s", m->str + 2);
    }
    return 0;
}

static void load_step(void *opaque, redisReply *reply);
static void load_figures(void *opaque, redisReply *reply);

/* Sends the command(s) of l->step: 0, or the error (nothing more awaited
 * when nothing was sent). */
static int
load_send(load_call *l)
{
    char key[KEY_MAX];
    ch_runtime *rt = l->st->rt;
    switch (l->step) {
    case LOAD_INDEX: {
        char min[32], max[32];
        index_bounds(l->g, l->from, l->to, min, max);
        key_of(key, l->org, "periods", NULL);
        return ch_redis_command(rt, load_step, l, "ZRANGEBYLEX %s %s %s", key, min, max);
    }
    case LOAD_COUNTS:
        key_of(key, l->org, "counts", NULL);
        return ch_redis_command(rt, load_step, l, "HGETALL %s", key);
    case LOAD_FIGURES:
        for (size_t i = 0; i < l->nperiods; i++) {
            figures_key(key, l->org, l->periods[i]);
            if (ch_redis_command(rt, load_figures, l, "HGETALL %s", key) != 0) {
                if (l->pending) { /* the replies still to come finish it */
                    l->failed = CH_EAGAIN;
                    return 0;
                }
                return CH_EAGAIN;
            }
            l->pending++;
        }
        return 0;
    default:
        key_of(key, l->org, "open", NULL);
        return ch_redis_command(rt, load_step, l, "ZRANGEBYSCORE %s -inf (%lld", key,
                                (long long)l->now_ms);
    }
}

/* Moves to the next step that has something to send, and sends it; finishes
 * the load after the last one or on an error. */
static void
load_advance(load_call *l)
{
    for (;;) {
        l->step++;
        if (l->step == LOAD_COUNTS && !(l->what & REPORT_LOAD_COUNTS))
            continue;
        if (l->step == LOAD_FIGURES && !l->nperiods)
            continue;
        break;
    }
    if (l->step == LOAD_DONE) {
        load_finish(l, 0);
        return;
    }
    int rc = load_send(l);
    if (rc != 0)
        load_finish(l, rc);
}

static void
load_figures(void *opaque, redisReply *reply)
{
    load_call *l = opaque;
    if (!reply || reply->type != REDIS_REPLY_ARRAY)
        l->failed = CH_EAGAIN;
    else if (!l->failed)
        l->failed = table_append(&l->d.figures, reply);
    if (--l->pending)
        return;
    if (l->failed) {
        load_finish(l, l->failed);
        return;
    }
    ch_report_table_normalise(&l->d.figures);
    load_advance(l);
}

static void
load_step(void *opaque, redisReply *reply)
{
    load_call *l = opaque;
    int rc = !reply || reply->type != REDIS_REPLY_ARRAY ? CH_EAGAIN
             : l->step == LOAD_INDEX                    ? periods_of(l, reply)
             : l->step == LOAD_COUNTS                   ? table_of(&l->d.counts, reply)
                                                        : open_of(&l->d.open, reply);
    if (rc != 0 || l->step == LOAD_OPEN) {
        load_finish(l, rc);
        return;
    }
    load_advance(l);
}

static load_call *
load_new(report_store *st, const char *org, unsigned what, int64_t now_ms, report_loaded_fn done,
         void *opaque)
{
    load_call *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->st = st;
    l->what = what;
    l->now_ms = now_ms;
    l->done = done;
    l->opaque = opaque;
    snprintf(l->org, sizeof(l->org), "%s", org);
    return l;
}

/* Starts l at step (the first with something to send). */
static int
load_start(load_call *l, int step)
{
    l->step = step;
    int rc = load_send(l);
    if (rc != 0) {
        free(l->periods);
        free(l);
    }
    return rc;
}

int
report_store_load(report_store *st, const char *org, unsigned what,
                  const char (*periods)[CH_REPORT_KEY_PERIOD_MAX], size_t nperiods, int64_t now_ms,
                  report_loaded_fn done, void *opaque)
{
    load_call *l = load_new(st, org, what, now_ms, done, opaque);
    if (!l)
        return CH_ENOMEM;
    if (nperiods) {
        l->periods = malloc(nperiods * sizeof(*l->periods));
        if (!l->periods) {
            free(l);
            return CH_ENOMEM;
        }
        memcpy(l->periods, periods, nperiods * sizeof(*l->periods));
        l->nperiods = nperiods;
    }
    return load_start(l, what & REPORT_LOAD_COUNTS ? LOAD_COUNTS
                         : nperiods                ? LOAD_FIGURES
                                                   : LOAD_OPEN);
}

int
report_store_load_range(report_store *st, const char *org, unsigned what, ch_report_granularity g,
                        const char *from, const char *to, int64_t now_ms, report_loaded_fn done,
                        void *opaque)
{
    load_call *l = load_new(st, org, what, now_ms, done, opaque);
    if (!l)
        return CH_ENOMEM;
    l->g = g;
    snprintf(l->from, sizeof(l->from), "%s", from ? from : "");
    snprintf(l->to, sizeof(l->to), "%s", to ? to : "");
    return load_start(l, LOAD_INDEX);
}

void
report_open_range(const report_open *o, const char *period, size_t *lo, size_t *hi)
{
    size_t plen = strlen(period), a = 0, b = o->n;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (strncmp(o->members[mid], period, plen) < 0)
            a = mid + 1;
        else
            b = mid;
    }
    *lo = a;
    while (b < o->n && strncmp(o->members[b], period, plen) == 0)
        b++;
    *hi = b;
}

/* ---- the periods index ---- */

static void
index_read(void *opaque, redisReply *reply)
{
    store_call c = call_take(opaque);
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        c.done.names(c.opaque, CH_EAGAIN, NULL, 0);
        return;
    }
    const char **names = malloc((reply->elements ? reply->elements : 1) * sizeof(*names));
    if (!names) {
        c.done.names(c.opaque, CH_ENOMEM, NULL, 0);
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < reply->elements; i++)
        if (reply->element[i]->str && reply->element[i]->len > 2)
            names[n++] = reply->element[i]->str + 2; /* "m:2026-11" -> "2026-11" */
    c.done.names(c.opaque, 0, names, n);
    free(names);
}

int
report_store_periods(report_store *st, const char *org, ch_report_granularity g, const char *from,
                     const char *to, report_names_fn done, void *opaque)
{
    char key[KEY_MAX], min[32], max[32];
    key_of(key, org, "periods", NULL);
    index_bounds(g, from, to, min, max);
    store_call *c = call_new(opaque);
    if (!c)
        return CH_ENOMEM;
    c->done.names = done;
    return call_sent(ch_redis_command(st->rt, index_read, c, "ZRANGEBYLEX %s %s %s", key, min, max),
                     c);
}

/* ---- retention ---- */

typedef struct {
    report_store *st;
    char org[128];
} prune_call;

static void
pruned(void *opaque, redisReply *reply)
{
    prune_call *p = opaque;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        CH_LOG_WARN(ch_runtime_log(p->st->rt), "report retention sweep failed",
                    CH_STR("error", reply->str));
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements) {
        /* DEL figures:<period> ...: the hashes a longer retention would keep longer */
        size_t n = reply->elements;
        const char **argv = malloc((n + 1) * sizeof(*argv));
        char(*keys)[KEY_MAX] = malloc(n * sizeof(*keys));
        size_t k = 0;
        if (argv && keys) {
            argv[k++] = "DEL";
            for (size_t i = 0; i < n; i++)
                if (reply->element[i]->str && reply->element[i]->len > 2) {
                    figures_key(keys[k - 1], p->org, reply->element[i]->str + 2);
                    argv[k] = keys[k - 1];
                    k++;
                }
            if (k > 1)
                ch_redis_command_argv(p->st->rt, NULL, NULL, (int)k, argv, NULL);
        }
        free(argv);
        free(keys);
    }
    free(p);
}

int
report_store_prune(report_store *st, const char *org, int64_t now_ms)
{
    if (st->retention_months < 1)
        return 0;
    char kidx[KEY_MAX], kopen[KEY_MAX], oldest[3][CH_REPORT_KEY_PERIOD_MAX + 2], horizon[24];
    key_of(kidx, org, "periods", NULL);
    key_of(kopen, org, "open", NULL);
    int64_t now_s = now_ms / 1000;
    for (int g = CH_REPORT_DAY; g <= CH_REPORT_YEAR; g++) {
        char period[CH_REPORT_KEY_PERIOD_MAX];
        if (report_oldest_kept(st->retention_months, now_s, (ch_report_granularity)g, period,
                               sizeof(period)) != 0 ||
            ch_report_period_member(oldest[g], sizeof(oldest[g]), period) != 0)
            return CH_EINVAL;
    }
    /* a case received on an expired day was due no later than that: overdue since before
     * the horizon (the retention in days of 31 months, and the two days' slack of expiry) */
    snprintf(horizon, sizeof(horizon), "%lld",
             (long long)(now_ms - ((int64_t)st->retention_months * 31 + 2) * 86400000));
    const char *args[] = {kidx, kopen, oldest[0], oldest[1], oldest[2], horizon};
    prune_call *p = malloc(sizeof(*p));
    if (!p)
        return CH_ENOMEM;
    p->st = st;
    snprintf(p->org, sizeof(p->org), "%s", org);
    int rc = ch_redis_script_call(st->prune_script, pruned, p, 2, 6, args, NULL);
    if (rc != 0)
        free(p);
    return rc;
}

/* ---- moving the figures of before per-period hashes ----
 *
 * SCAN for "charter:report:{*}:figures", then for each hash found HSCAN a
 * batch, move it with migrate_lua, and so on to the end of the hash, which
 * is then deleted; then SCAN on. Once SCAN has gone round, the layout key
 * says so, and later starts skip all of it. */

#define MIGRATE_BATCH 256

typedef struct {
    report_store *st;
    report_migrated_fn done;
    void *opaque;
    char scan[32];  /* SCAN's cursor */
    int scan_ended; /* SCAN has gone round */
    char (*keys)[KEY_MAX];
    size_t nkeys, next; /* the old hashes of the last SCAN page, keys[next] being moved */
    char hscan[32];     /* HSCAN's cursor on keys[next] */
    int hscanned;       /* HSCAN has begun on keys[next] ("0" then means it ended) */
    long long moved, dropped;
} migrate_call;

static void migrate_next(migrate_call *m);

static void
migrate_finish(migrate_call *m, int rc)
{
    m->done(m->opaque, rc);
    free(m->keys);
    free(m);
}

/* The organisation of an old figures hash's key, or 0 when key is not one
 * ("charter:report:{<org>}:figures", org without braces). */
static int
old_key_org(const char *key, char *org, size_t orgsz)
{
    static const char head[] = "charter:report:{", tail[] = "}:figures";
    size_t n = strlen(key), h = sizeof(head) - 1, t = sizeof(tail) - 1;
    if (n <= h + t || strncmp(key, head, h) != 0 || strcmp(key + n - t, tail) != 0)
        return 0;
    const char *o = key + h;
    size_t olen = n - h - t;
    if (memchr(o, '{', olen) || memchr(o, '}', olen) || olen >= orgsz)
        return 0;
    memcpy(org, o, olen);
    org[olen] = '\0';
    return 1;
}

static void
migrate_layout_set(void *opaque, redisReply *reply)
{
    migrate_call *m = opaque;
    migrate_finish(m, reply && reply->type != REDIS_REPLY_ERROR ? 0 : CH_EAGAIN);
}

static void
migrate_deleted(void *opaque, redisReply *reply)
{
    migrate_call *m = opaque;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        migrate_finish(m, CH_EAGAIN);
        return;
    }
    char org[128];
    old_key_org(m->keys[m->next], org, sizeof(org));
    CH_LOG_INFO(ch_runtime_log(m->st->rt), "report figures moved to per-period hashes",
                CH_STR("organisation", org), CH_INT("fields", m->moved),
                CH_INT("dropped", m->dropped));
    m->next++;
    m->moved = m->dropped = 0;
    m->hscanned = 0;
    snprintf(m->hscan, sizeof(m->hscan), "0");
    migrate_next(m);
}

static void
migrate_moved(void *opaque, redisReply *reply)
{
    migrate_call *m = opaque;
    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        if (reply && reply->type == REDIS_REPLY_ERROR)
            CH_LOG_WARN(ch_runtime_log(m->st->rt), "report figures not moved",
                        CH_STR("error", reply->str));
        migrate_finish(m, CH_EAGAIN);
        return;
    }
    m->moved += reply->integer;
    migrate_next(m);
}

/* Sends one batch of fields (HSCAN's) to migrate_lua: 0, or the error. */
static int
migrate_batch(migrate_call *m, const char *org, const redisReply *kv)
{
    size_t n = kv->elements / 2, cap = n ? n : 1;
    ch_report_item *items = malloc(cap * sizeof(*items));
    report_bucket *buckets = malloc(cap * sizeof(*buckets));
    size_t *bucket_of = malloc(cap * sizeof(*bucket_of));
    char(*keys)[KEY_MAX] = malloc(cap * sizeof(*keys));
    arg_list a = {.captexts = 2 * cap + 1};
    a.texts = malloc(a.captexts * sizeof(*a.texts));
    int rc = CH_ENOMEM;
    if (items && buckets && bucket_of && keys && a.texts) {
        /* a field too long for an item was never read: it is only deleted */
        const char **skipped = malloc(cap * sizeof(*skipped));
        size_t nitems = 0, nskipped = 0;
        for (size_t i = 0; skipped && i < n; i++) {
            const redisReply *f = kv->element[2 * i];
            if (!f->str)
                continue;
            if (f->len >= sizeof(items[0].key)) {
                skipped[nskipped++] = f->str;
                continue;
            }
            memcpy(items[nitems].key, f->str, f->len + 1);
            items[nitems++].value = 0;
        }
        int nb = skipped ? report_group_by_period(items, nitems, m->st->retention_months,
                                                  ch_time_now_ms() / 1000, buckets, cap, bucket_of)
                         : CH_ENOMEM;
        if (nb >= 0) {
            char kold[KEY_MAX], kidx[KEY_MAX];
            snprintf(kold, sizeof(kold), "%s", m->keys[m->next]);
            key_of(kidx, org, "periods", NULL);
            arg_add(&a, kold);
            arg_add(&a, kidx);
            for (int b = 0; b < nb; b++) {
                figures_key(keys[b], org, buckets[b].period);
                arg_add(&a, keys[b]);
            }
            size_t ndrop = nskipped;
            for (size_t i = 0; i < nitems; i++)
                ndrop += bucket_of[i] == REPORT_NO_BUCKET;
            arg_num(&a, (long long)ndrop);
            for (size_t i = 0; i < nskipped; i++)
                arg_add(&a, skipped[i]);
            for (size_t i = 0; i < nitems; i++)
                if (bucket_of[i] == REPORT_NO_BUCKET)
                    arg_add(&a, items[i].key);
            for (int b = 0; b < nb; b++) {
                arg_add(&a, buckets[b].member);
                arg_num(&a, (long long)buckets[b].expire_at_s);
                arg_num(&a, (long long)buckets[b].n);
                for (size_t i = 0; i < nitems; i++)
                    if (bucket_of[i] == (size_t)b)
                        arg_add(&a, items[i].key);
            }
            m->dropped += (long long)ndrop;
            rc = a.failed ? CH_ENOMEM
                          : ch_redis_script_call(m->st->migrate_script, migrate_moved, m, 2 + nb,
                                                 (int)a.n, a.v, NULL);
        }
        free(skipped);
    }
    arg_free(&a);
    free(items);
    free(buckets);
    free(bucket_of);
    free(keys);
    return rc;
}

static void
migrate_scanned(void *opaque, redisReply *reply)
{
    migrate_call *m = opaque;
    char org[128];
    if (reply && reply->type == REDIS_REPLY_ERROR) { /* not a hash: not ours */
        m->next++;
        m->hscanned = 0;
        snprintf(m->hscan, sizeof(m->hscan), "0");
        migrate_next(m);
        return;
    }
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        !reply->element[0]->str || reply->element[1]->type != REDIS_REPLY_ARRAY ||
        !old_key_org(m->keys[m->next], org, sizeof(org))) {
        migrate_finish(m, CH_EAGAIN);
        return;
    }
    snprintf(m->hscan, sizeof(m->hscan), "%s", reply->element[0]->str);
    int rc = reply->element[1]->elements ? migrate_batch(m, org, reply->element[1]) : 1;
    if (rc == 1)
        migrate_next(m);
    else if (rc != 0)
        migrate_finish(m, CH_EAGAIN);
}

static void
migrate_found(void *opaque, redisReply *reply)
{
    migrate_call *m = opaque;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        !reply->element[0]->str || reply->element[1]->type != REDIS_REPLY_ARRAY) {
        migrate_finish(m, CH_EAGAIN);
        return;
    }
    snprintf(m->scan, sizeof(m->scan), "%s", reply->element[0]->str);
    m->scan_ended = strcmp(m->scan, "0") == 0;
    const redisReply *keys = reply->element[1];
    free(m->keys);
    m->keys = malloc((keys->elements ? keys->elements : 1) * sizeof(*m->keys));
    m->nkeys = m->next = 0;
    m->hscanned = 0;
    if (!m->keys) {
        migrate_finish(m, CH_ENOMEM);
        return;
    }
    char org[128];
    for (size_t i = 0; i < keys->elements; i++)
        if (keys->element[i]->str && strlen(keys->element[i]->str) < KEY_MAX &&
            old_key_org(keys->element[i]->str, org, sizeof(org)))
            snprintf(m->keys[m->nkeys++], KEY_MAX, "%s", keys->element[i]->str);
    migrate_next(m);
}

/* The next command: the current hash's next batch, its deletion once
 * scanned, the next SCAN page, or the layout mark at the end. */
static void
migrate_next(migrate_call *m)
{
    ch_runtime *rt = m->st->rt;
    int rc;
    if (m->next < m->nkeys && m->hscanned && strcmp(m->hscan, "0") == 0) {
        rc = ch_redis_command(rt, migrate_deleted, m, "DEL %s", m->keys[m->next]);
    } else if (m->next < m->nkeys) {
        m->hscanned = 1;
        rc = ch_redis_command(rt, migrate_scanned, m, "HSCAN %s %s COUNT %d", m->keys[m->next],
                              m->hscan, MIGRATE_BATCH);
    } else if (!m->scan_ended)
        rc = ch_redis_command(rt, migrate_found, m, "SCAN %s MATCH %s COUNT 1000", m->scan,
                              "charter:report:{*}:figures");
    else
        rc =
            ch_redis_command(rt, migrate_layout_set, m, "SET %s %s", LAYOUT_KEY, LAYOUT_PER_PERIOD);
    if (rc != 0)
        migrate_finish(m, CH_EAGAIN);
}

static void
migrate_layout(void *opaque, redisReply *reply)
{
    migrate_call *m = opaque;
    if (!reply || (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_NIL)) {
        migrate_finish(m, CH_EAGAIN);
        return;
    }
    if (reply->type == REDIS_REPLY_STRING && strcmp(reply->str, LAYOUT_PER_PERIOD) == 0) {
        migrate_finish(m, 0);
        return;
    }
    migrate_next(m);
}

int
report_store_migrate(report_store *st, report_migrated_fn done, void *opaque)
{
    migrate_call *m = calloc(1, sizeof(*m));
    if (!m)
        return CH_ENOMEM;
    *m = (migrate_call){.st = st, .done = done, .opaque = opaque};
    snprintf(m->scan, sizeof(m->scan), "0");
    snprintf(m->hscan, sizeof(m->hscan), "0");
    int rc = ch_redis_command(st->rt, migrate_layout, m, "GET %s", LAYOUT_KEY);
    if (rc != 0)
        free(m);
    return rc;
}

/* ---- publications ---- */

static void
pub_names(void *opaque, redisReply *reply)
{
    store_call c = call_take(opaque);
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        c.done.names(c.opaque, CH_EAGAIN, NULL, 0);
        return;
    }
    const char **names = malloc((reply->elements ? reply->elements : 1) * sizeof(*names));
    if (!names) {
        c.done.names(c.opaque, CH_ENOMEM, NULL, 0);
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < reply->elements; i++)
        if (reply->element[i]->str)
            names[n++] = reply->element[i]->str;
    c.done.names(c.opaque, 0, names, n);
    free(names);
}

int
report_store_pub_periods(report_store *st, const char *org, report_names_fn done, void *opaque)
{
    char key[KEY_MAX];
    key_of(key, org, "publications", NULL);
    store_call *c = call_new(opaque);
    if (!c)
        return CH_ENOMEM;
    c->done.names = done;
    return call_sent(ch_redis_command(st->rt, pub_names, c, "HKEYS %s", key), c);
}

int
report_store_pub_get(report_store *st, const char *org, const char *period, report_case_fn done,
                     void *opaque)
{
    char key[KEY_MAX];
    key_of(key, org, "publications", NULL);
    store_call *c = call_new(opaque);
    if (!c)
        return CH_ENOMEM;
    c->done.case_read = done;
    return call_sent(ch_redis_command(st->rt, case_read, c, "HGET %s %s", key, period), c);
}

static void
pub_written(void *opaque, redisReply *reply)
{
    store_call c = call_take(opaque);
    if (!reply || reply->type != REDIS_REPLY_INTEGER)
        c.done.written(c.opaque, CH_EAGAIN, reply && reply->str ? reply->str : "redis unavailable");
    else
        c.done.written(c.opaque, reply->integer ? 0 : CH_EEXIST, NULL);
}

int
report_store_pub_put(report_store *st, const char *org, const char *period, const char *text,
                     report_written_fn done, void *opaque)
{
    char key[KEY_MAX];
    key_of(key, org, "publications", NULL);
    store_call *c = call_new(opaque);
    if (!c)
        return CH_ENOMEM;
    c->done.written = done;
    return call_sent(ch_redis_command(st->rt, pub_written, c, "HSETNX %s %s %s", key, period, text),
                     c);
}
