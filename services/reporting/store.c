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
#include "store_int.h"

/* ---- keys ---- */

/* Appends s to buf (at *n), cut at KEY_MAX - 1 bytes as snprintf would. */
static void
key_put(char buf[KEY_MAX], size_t *n, const char *s)
{
    size_t len = strlen(s);
    if (len > KEY_MAX - 1 - *n)
        len = KEY_MAX - 1 - *n;
    memcpy(buf + *n, s, len);
    *n += len;
    buf[*n] = '\0';
}

/* Copied rather than printed: a record names six to nine keys, and
 * snprintf's format parsing was a visible share of the service's CPU
 * (docs/benchmarks.md, issue 16). */
void
report__key_of(char buf[KEY_MAX], const char *org, const char *what, const char *id)
{
    size_t n = 0;
    buf[0] = '\0';
    key_put(buf, &n, "charter:report:{");
    key_put(buf, &n, org);
    key_put(buf, &n, "}:");
    key_put(buf, &n, what);
    if (id) {
        key_put(buf, &n, ":");
        key_put(buf, &n, id);
    }
}

void
report__figures_key(char buf[KEY_MAX], const char *org, const char *period)
{
    report__key_of(buf, org, "figures", period);
}

size_t
report__num(char t[24], long long v)
{
    char rev[24];
    size_t n = 0, len = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        rev[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        t[len++] = '-';
    while (n)
        t[len++] = rev[--n];
    t[len] = '\0';
    return len;
}

report_store *
report_store_new(ch_runtime *rt, int retention_months)
{
    report_store *st = malloc(sizeof(*st));
    if (!st)
        return NULL;
    *st = (report_store){rt,
                         retention_months,
                         ch_redis_script_new(rt, report__read_lua),
                         ch_redis_script_new(rt, report__write_lua),
                         ch_redis_script_new(rt, report__prune_lua),
                         ch_redis_script_new(rt, report__migrate_lua),
                         NULL};
    if (!st->read_script || !st->write_script || !st->prune_script || !st->migrate_script ||
        !(st->batch = report__batch_new(st))) {
        free(st);
        return NULL;
    }
    return st;
}

void
report_store_free(report_store *st)
{
    if (st)
        report__batch_free(st->batch);
    free(st);
}

/* ---- one command, one caller's callback ---- */

/* The caller's callback and opaque, kept across one Redis round trip. */
typedef struct {
    union {
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
    report__key_of(key, org, "case", case_id);
    store_call *c = call_new(opaque);
    if (!c)
        return CH_ENOMEM;
    c->done.case_read = done;
    return call_sent(ch_redis_command(st->rt, case_read, c, "GET %s", key), c);
}

void
report__arg_add(report_arg_list *a, const char *word)
{
    report__arg_bin(a, word, strlen(word));
}

void
report__arg_bin(report_arg_list *a, const char *word, size_t len)
{
    if (a->failed)
        return;
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        const char **v = realloc(a->v, cap * sizeof(*v));
        if (v)
            a->v = v;
        size_t *lens = v ? realloc(a->len, cap * sizeof(*lens)) : NULL;
        if (!lens) {
            a->failed = 1;
            return;
        }
        a->len = lens;
        a->cap = cap;
    }
    a->len[a->n] = len;
    a->v[a->n++] = word;
}

void
report__arg_num(report_arg_list *a, long long v)
{
    if (a->failed || a->ntexts == a->captexts) {
        a->failed = 1;
        return;
    }
    report__num(a->texts[a->ntexts], v);
    report__arg_add(a, a->texts[a->ntexts++]);
}

void
report__arg_free(report_arg_list *a)
{
    free(a->v);
    free(a->len);
    free(a->texts);
}

/* ---- loading an organisation ----
 *
 * The periods index first (for a range), then one batch sent at once:
 * counts (when asked), the figures of each period (one HGETALL per
 * period's hash, each reply appended to the table, which is sorted once at
 * the end) and the open cases. Every key is under the organisation's hash
 * tag, so on the one connection the replies come in the order sent and
 * the open cases' reply is the last: the load finishes in its callback,
 * and the caller borrows the members from it. */

enum { LOAD_INDEX, LOAD_COUNTS, LOAD_FIGURES, LOAD_OPEN };

typedef struct {
    report_store *st;
    char org[128];
    unsigned what;
    int64_t now_ms;
    int step; /* LOAD_INDEX, or LOAD_FIGURES once the batch is sent */
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

static void load_reply(void *opaque, redisReply *reply, int step);

static void
load_counts(void *opaque, redisReply *reply)
{
    load_reply(opaque, reply, LOAD_COUNTS);
}

static void
load_figures(void *opaque, redisReply *reply)
{
    load_reply(opaque, reply, LOAD_FIGURES);
}

static void
load_open(void *opaque, redisReply *reply)
{
    load_reply(opaque, reply, LOAD_OPEN);
}

/* Counts one read of the batch sent (rc its ch_redis_command's); on a
 * failure after others went out, the replies still to come finish the
 * load. 0 (sent, or left to them), or CH_EAGAIN (nothing sent at all). */
static int
load_sent_one(load_call *l, int rc)
{
    if (rc == 0) {
        l->pending++;
        return 0;
    }
    if (l->pending) {
        l->failed = CH_EAGAIN;
        return 0;
    }
    return CH_EAGAIN;
}

/* Sends the counts (when asked), each period's figures and the open cases
 * together: pipelined on the one connection, so a reader waits once behind
 * the commands queued ahead of it (a busy consumer's), not once per read.
 * 0, or CH_EAGAIN (nothing sent). */
static int
load_send(load_call *l)
{
    char key[KEY_MAX];
    ch_runtime *rt = l->st->rt;
    l->step = LOAD_FIGURES;
    if (l->what & REPORT_LOAD_COUNTS) {
        report__key_of(key, l->org, "counts", NULL);
        if (load_sent_one(l, ch_redis_read(rt, load_counts, l, "HGETALL %s", key)) != 0)
            return CH_EAGAIN;
    }
    for (size_t i = 0; i < l->nperiods && !l->failed; i++) {
        report__figures_key(key, l->org, l->periods[i]);
        if (load_sent_one(l, ch_redis_read(rt, load_figures, l, "HGETALL %s", key)) != 0)
            return CH_EAGAIN;
    }
    if (l->failed)
        return 0;
    report__key_of(key, l->org, "open", NULL);
    return load_sent_one(l, ch_redis_read(rt, load_open, l, "ZRANGEBYSCORE %s -inf (%lld", key,
                                          (long long)l->now_ms));
}

/* One reply of the batch; the last one finishes the load. */
static void
load_reply(void *opaque, redisReply *reply, int step)
{
    load_call *l = opaque;
    if (!reply || reply->type != REDIS_REPLY_ARRAY)
        l->failed = CH_EAGAIN;
    else if (!l->failed)
        l->failed = step == LOAD_COUNTS    ? table_of(&l->d.counts, reply)
                    : step == LOAD_FIGURES ? table_append(&l->d.figures, reply)
                                           : open_of(&l->d.open, reply);
    if (--l->pending)
        return;
    if (!l->failed)
        ch_report_table_normalise(&l->d.figures);
    load_finish(l, l->failed);
}

/* The periods index's reply: then the batch of reads. */
static void
load_index(void *opaque, redisReply *reply)
{
    load_call *l = opaque;
    int rc = !reply || reply->type != REDIS_REPLY_ARRAY ? CH_EAGAIN : periods_of(l, reply);
    if (rc == 0)
        rc = load_send(l);
    if (rc != 0)
        load_finish(l, rc);
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

/* Starts l: the periods index first when step is LOAD_INDEX, else the
 * batch of reads. */
static int
load_start(load_call *l, int step)
{
    int rc;
    if (step == LOAD_INDEX) {
        char key[KEY_MAX], min[32], max[32];
        index_bounds(l->g, l->from, l->to, min, max);
        report__key_of(key, l->org, "periods", NULL);
        l->step = LOAD_INDEX;
        rc = ch_redis_read(l->st->rt, load_index, l, "ZRANGEBYLEX %s %s %s", key, min, max);
    } else {
        rc = load_send(l);
    }
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
    return load_start(l, LOAD_FIGURES);
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

/* Hands the strings of an array reply, each past its first skip bytes, to
 * the call's names callback. */
static void
names_read(void *opaque, redisReply *reply, size_t skip)
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
        if (reply->element[i]->str && reply->element[i]->len > skip)
            names[n++] = reply->element[i]->str + skip;
    c.done.names(c.opaque, 0, names, n);
    free(names);
}

static void
index_read(void *opaque, redisReply *reply)
{
    names_read(opaque, reply, 2); /* "m:2026-11" -> "2026-11" */
}

int
report_store_periods(report_store *st, const char *org, ch_report_granularity g, const char *from,
                     const char *to, report_names_fn done, void *opaque)
{
    char key[KEY_MAX], min[32], max[32];
    report__key_of(key, org, "periods", NULL);
    index_bounds(g, from, to, min, max);
    store_call *c = call_new(opaque);
    if (!c)
        return CH_ENOMEM;
    c->done.names = done;
    return call_sent(ch_redis_read(st->rt, index_read, c, "ZRANGEBYLEX %s %s %s", key, min, max),
                     c);
}

/* ---- publications ---- */

static void
pub_names(void *opaque, redisReply *reply)
{
    names_read(opaque, reply, 0);
}

int
report_store_pub_periods(report_store *st, const char *org, report_names_fn done, void *opaque)
{
    char key[KEY_MAX];
    report__key_of(key, org, "publications", NULL);
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
    report__key_of(key, org, "publications", NULL);
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
    report__key_of(key, org, "publications", NULL);
    store_call *c = call_new(opaque);
    if (!c)
        return CH_ENOMEM;
    c->done.written = done;
    return call_sent(ch_redis_command(st->rt, pub_written, c, "HSETNX %s %s %s", key, period, text),
                     c);
}
