/*
 * The upkeep of reporting's store (store.h): the retention sweep and the
 * one-time move of the figures of before per-period hashes. Apart from
 * store.c because neither is on a reader's or a record's path: the sweep
 * runs with each refresh, the move once, on the first start after an
 * upgrade (then a key, charter:report:layout, says it is done).
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/log.h"
#include "charter/timeutil.h"
#include "periods.h"
#include "store.h"
#include "store_int.h"

/* KEYS: periods index, open. ARGV: the oldest day, month and year kept
 * ("d:2023-12-04", "m:2023-12", "y:2023"), the open set's horizon (ms).
 * Takes the older periods out of the index (up to 1,000 of each
 * granularity a call) and returns them, so that their hashes, if a longer
 * retention left them, are deleted too; takes the open members scored
 * before the horizon out. */
const char report__prune_lua[] =
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
const char report__migrate_lua[] =
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
                    report__figures_key(keys[k - 1], p->org, reply->element[i]->str + 2);
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
    report__key_of(kidx, org, "periods", NULL);
    report__key_of(kopen, org, "open", NULL);
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
    report_arg_list a = {.captexts = 2 * cap + 1};
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
            report__key_of(kidx, org, "periods", NULL);
            report__arg_add(&a, kold);
            report__arg_add(&a, kidx);
            for (int b = 0; b < nb; b++) {
                report__figures_key(keys[b], org, buckets[b].period);
                report__arg_add(&a, keys[b]);
            }
            size_t ndrop = nskipped;
            for (size_t i = 0; i < nitems; i++)
                ndrop += bucket_of[i] == REPORT_NO_BUCKET;
            report__arg_num(&a, (long long)ndrop);
            for (size_t i = 0; i < nskipped; i++)
                report__arg_add(&a, skipped[i]);
            for (size_t i = 0; i < nitems; i++)
                if (bucket_of[i] == REPORT_NO_BUCKET)
                    report__arg_add(&a, items[i].key);
            for (int b = 0; b < nb; b++) {
                report__arg_add(&a, buckets[b].member);
                report__arg_num(&a, (long long)buckets[b].expire_at_s);
                report__arg_num(&a, (long long)buckets[b].n);
                for (size_t i = 0; i < nitems; i++)
                    if (bucket_of[i] == (size_t)b)
                        report__arg_add(&a, items[i].key);
            }
            m->dropped += (long long)ndrop;
            rc = a.failed ? CH_ENOMEM
                          : ch_redis_script_call(m->st->migrate_script, migrate_moved, m, 2 + nb,
                                                 (int)a.n, a.v, NULL);
        }
        free(skipped);
    }
    report__arg_free(&a);
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
