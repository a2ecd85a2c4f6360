/*
 * reporting's Redis store (store.h lists the keys and says why two scripts).
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

/* KEYS: seen, counts. ARGV: ttl, name1, name2, ... Returns 1 if counted. */
static const char count_lua[] =
    "if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then\n"
    "  for i = 2, #ARGV do redis.call('HINCRBY', KEYS[2], ARGV[i], 1) end\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

/* KEYS: case, figures, open. ARGV: old state ("" for none), new state, ttl,
 * open op ("add", "rem" or ""), open member, score, then field/delta pairs.
 * Returns 1, or -1 when the case changed since it was read. */
static const char case_lua[] =
    "local cur = redis.call('GET', KEYS[1])\n"
    "if (cur or '') ~= ARGV[1] then return -1 end\n"
    "redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])\n"
    "for i = 7, #ARGV, 2 do redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1]) end\n"
    "if ARGV[4] == 'add' then redis.call('ZADD', KEYS[3], ARGV[6], ARGV[5])\n"
    "elseif ARGV[4] == 'rem' then redis.call('ZREM', KEYS[3], ARGV[5]) end\n"
    "return 1\n";

/* ---- keys ---- */

#define KEY_MAX 320

/* "charter:report:{<org>}:<what>", or with ":<id>" after it when id is given. */
static void
key_of(char buf[KEY_MAX], const char *org, const char *what, const char *id)
{
    snprintf(buf, KEY_MAX, "charter:report:{%s}:%s%s%s", org, what, id ? ":" : "", id ? id : "");
}

struct report_store {
    ch_runtime *rt;
    ch_redis_script *count_script; /* count_lua; the runtime owns both */
    ch_redis_script *case_script;  /* case_lua */
};

report_store *
report_store_new(ch_runtime *rt)
{
    report_store *st = malloc(sizeof(*st));
    if (!st)
        return NULL;
    *st = (report_store){rt, ch_redis_script_new(rt, count_lua), ch_redis_script_new(rt, case_lua)};
    if (!st->count_script || !st->case_script) {
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

int
report_store_case_write(report_store *st, const char *org, const char *case_id,
                        const report_case_change *ch, report_written_fn done, void *opaque)
{
    char kcase[KEY_MAX], kfig[KEY_MAX], kopen[KEY_MAX], ttl[24], score[24] = "0";
    key_of(kcase, org, "case", case_id);
    key_of(kfig, org, "figures", NULL);
    key_of(kopen, org, "open", NULL);
    snprintf(ttl, sizeof(ttl), "%lld", (long long)ch->ttl_s);
    if (strcmp(ch->open_op, "add") == 0)
        snprintf(score, sizeof(score), "%lld", (long long)ch->due_ms);
    int nargs = 9 + 2 * (int)ch->ndelta;
    const char **args = malloc((size_t)nargs * sizeof(*args));
    char(*values)[24] = malloc((ch->ndelta ? ch->ndelta : 1) * sizeof(*values));
    store_call *c = call_new(opaque);
    if (!args || !values || !c) {
        free(args);
        free(values);
        free(c);
        return CH_ENOMEM;
    }
    c->done.written = done;
    int k = 0;
    args[k++] = kcase;
    args[k++] = kfig;
    args[k++] = kopen;
    args[k++] = ch->old_state ? ch->old_state : "";
    args[k++] = ch->state;
    args[k++] = ttl;
    args[k++] = ch->open_op;
    args[k++] = ch->member ? ch->member : "";
    args[k++] = score;
    for (size_t i = 0; i < ch->ndelta; i++) {
        snprintf(values[i], sizeof(values[i]), "%lld", (long long)ch->delta[i].value);
        args[k++] = ch->delta[i].key;
        args[k++] = values[i];
    }
    int rc =
        call_sent(ch_redis_script_call(st->case_script, case_written, c, 3, nargs, args, NULL), c);
    free(args);
    free(values);
    return rc;
}

/* ---- loading an organisation ----
 *
 * One read after the other, each reply turned into values before the next
 * command goes: counts (when asked), figures, then the open cases, whose
 * members the caller borrows from the last reply. */

enum { LOAD_COUNTS, LOAD_FIGURES, LOAD_OPEN, LOAD_DONE };

typedef struct {
    ch_runtime *rt;
    char org[128];
    int64_t now_ms;
    int step; /* LOAD_*: the reply awaited */
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
    free(l);
}

/* A hash read back (HGETALL: field, value, ...) as a table. */
static int
table_of(ch_report_table *t, const redisReply *reply)
{
    size_t npairs = reply->elements / 2;
    const char **kv = malloc((npairs ? 2 * npairs : 1) * sizeof(*kv));
    if (!kv)
        return CH_ENOMEM;
    for (size_t i = 0; i < 2 * npairs; i++)
        kv[i] = reply->element[i]->str ? reply->element[i]->str : "";
    int rc = ch_report_table_from_pairs(t, kv, npairs);
    free(kv);
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

static void load_step(void *opaque, redisReply *reply);

/* Sends the command of l->step. */
static int
load_send(load_call *l)
{
    char key[KEY_MAX];
    if (l->step == LOAD_OPEN) {
        key_of(key, l->org, "open", NULL);
        return ch_redis_command(l->rt, load_step, l, "ZRANGEBYSCORE %s -inf (%lld", key,
                                (long long)l->now_ms);
    }
    key_of(key, l->org, l->step == LOAD_COUNTS ? "counts" : "figures", NULL);
    return ch_redis_command(l->rt, load_step, l, "HGETALL %s", key);
}

static void
load_step(void *opaque, redisReply *reply)
{
    load_call *l = opaque;
    int rc = !reply || reply->type != REDIS_REPLY_ARRAY ? CH_EAGAIN
             : l->step == LOAD_COUNTS                   ? table_of(&l->d.counts, reply)
             : l->step == LOAD_FIGURES                  ? table_of(&l->d.figures, reply)
                                                        : open_of(&l->d.open, reply);
    if (rc == 0 && ++l->step < LOAD_DONE && load_send(l) != 0)
        rc = CH_EAGAIN;
    if (rc != 0 || l->step == LOAD_DONE)
        load_finish(l, rc);
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

int
report_store_load(report_store *st, const char *org, unsigned what, int64_t now_ms,
                  report_loaded_fn done, void *opaque)
{
    load_call *l = malloc(sizeof(*l));
    if (!l)
        return CH_ENOMEM;
    *l = (load_call){.rt = st->rt,
                     .now_ms = now_ms,
                     .step = what & REPORT_LOAD_COUNTS ? LOAD_COUNTS : LOAD_FIGURES,
                     .done = done,
                     .opaque = opaque};
    snprintf(l->org, sizeof(l->org), "%s", org);
    int rc = load_send(l);
    if (rc != 0)
        free(l);
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
