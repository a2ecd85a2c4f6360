/*
 * The store's side of counting records (store.h): two scripts per record,
 * each run for every record of an organisation gathered over one loop turn.
 *
 * A record needs its case read before its change can be planned, so it
 * takes two steps: the read script marks it seen, adds to the counts and
 * reads the case's state and page record; the write script writes the
 * case's state, its figure deltas, its place in the open set and its page
 * record with one compare-and-set over both texts: all of it or, when
 * either text changed since it was read, nothing (the record is retried).
 * Before, a record was five commands and five round trips (count, read,
 * write the case, write the page, write the reference), and Redis's time
 * per command, not the work inside, was most of its cost per record
 * (docs/benchmarks.md, issue 16).
 *
 * Batched: each call queues its record and the first of a loop turn asks
 * for a flush at the turn's end (ch_timer_soon); the flush sends one script
 * per organisation (every key under its hash tag, as a Redis Cluster wants)
 * and per BATCH_MAX records, so Redis runs one command for many records
 * and the service parses one reply. A script holds Redis's thread for its
 * records only: BATCH_MAX keeps that to about a millisecond. The records of
 * one case never meet in a batch (the runtime hands a case's records over
 * one at a time), and each record's compare-and-set is its own, so one
 * record's conflict leaves the others written. The reference index is
 * outside the organisation's hash tag (store.h), so it stays one command
 * per record, sent right behind its batch. The states are binary
 * (report_agg.h: ch_report_case_pack), so every word goes with its length.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "periods.h"
#include "store.h"
#include "store_int.h"

/* Records per script at most. */
enum { BATCH_MAX = 64 };

/* KEYS: counts, then per record: seen, case, page. ARGV per record: ttl,
 * "1" to read the case, n, and n count names. Returns per record: 1 if
 * counted now else 0, the case's state and its page (nil when missing or
 * not read). */
const char report__read_lua[] =
    "local out, a = {}, 1\n"
    "for k = 2, #KEYS, 3 do\n"
    "  local n, first = tonumber(ARGV[a + 2]), 0\n"
    "  if redis.call('SET', KEYS[k], '1', 'NX', 'EX', ARGV[a]) then\n"
    "    for i = a + 3, a + 2 + n do redis.call('HINCRBY', KEYS[1], ARGV[i], 1) end\n"
    "    first = 1\n"
    "  end\n"
    "  out[#out + 1] = first\n"
    "  if ARGV[a + 1] == '1' then\n"
    "    out[#out + 1] = redis.call('GET', KEYS[k + 1])\n"
    "    out[#out + 1] = redis.call('GET', KEYS[k + 2])\n"
    "  else\n"
    "    out[#out + 1] = false\n"
    "    out[#out + 1] = false\n"
    "  end\n"
    "  a = a + 3 + n\n"
    "end\n"
    "return out\n";

/* KEYS: open, periods index, then per record: case, page, and one figures
 * hash per period. ARGV per record: 0 the number of figures hashes, 1 "1"
 * to write the case, 2 its old state ("" for none), 3 the new one, 4 its
 * ttl, 5 open op ("add", "rem" or ""), 6 open member, 7 score; 8 "1" to
 * write the page, 9 its old text ("" for none), 10 the new one, 11 its ttl;
 * then per figures hash: its index member, its expiry (unix seconds, "0"
 * for none), n, and n field/delta pairs. Returns per record 1; -1 when the
 * case changed since it was read, -2 when the page did (nothing of that
 * record written). */
const char report__write_lua[] =
    "local out, a, k = {}, 1, 3\n"
    "while a <= #ARGV do\n"
    "  local nfig, ok, f = tonumber(ARGV[a]), 1, a + 12\n"
    "  if ARGV[a + 1] == '1' and (redis.call('GET', KEYS[k]) or '') ~= ARGV[a + 2] then ok = -1\n"
    "  elseif ARGV[a + 8] == '1' and (redis.call('GET', KEYS[k + 1]) or '') ~= ARGV[a + 9] then\n"
    "    ok = -2\n"
    "  end\n"
    "  for j = 1, nfig do\n"
    "    local n = tonumber(ARGV[f + 2])\n"
    "    if ok == 1 then\n"
    "      local h = KEYS[k + 1 + j]\n"
    "      for i = f + 3, f + 1 + 2 * n, 2 do redis.call('HINCRBY', h, ARGV[i], ARGV[i + 1]) end\n"
    "      if ARGV[f + 1] ~= '0' then redis.call('EXPIREAT', h, ARGV[f + 1]) end\n"
    "      redis.call('ZADD', KEYS[2], 0, ARGV[f])\n"
    "    end\n"
    "    f = f + 3 + 2 * n\n"
    "  end\n"
    "  if ok == 1 and ARGV[a + 1] == '1' then\n"
    "    redis.call('SET', KEYS[k], ARGV[a + 3], 'EX', ARGV[a + 4])\n"
    "    if ARGV[a + 5] == 'add' then redis.call('ZADD', KEYS[1], ARGV[a + 7], ARGV[a + 6])\n"
    "    elseif ARGV[a + 5] == 'rem' then redis.call('ZREM', KEYS[1], ARGV[a + 6]) end\n"
    "  end\n"
    "  if ok == 1 and ARGV[a + 8] == '1' then\n"
    "    redis.call('SET', KEYS[k + 1], ARGV[a + 10], 'EX', ARGV[a + 11])\n"
    "  end\n"
    "  out[#out + 1] = ok\n"
    "  a, k = f, k + 2 + nfig\n"
    "end\n"
    "return out\n";

/* ---- words ---- */

/* A growing list of words (binary, each with its length) in one buffer. */
typedef struct {
    char *buf;
    size_t used, cap;
    size_t *end; /* word i is buf[end[i - 1] .. end[i]) */
    size_t n, capn;
    int failed;
} word_list;

static void
words_add(word_list *w, const char *s, size_t len)
{
    if (w->failed)
        return;
    if (w->used + len > w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 512;
        while (cap < w->used + len)
            cap *= 2;
        char *buf = realloc(w->buf, cap);
        if (!buf) {
            w->failed = 1;
            return;
        }
        w->buf = buf;
        w->cap = cap;
    }
    if (w->n == w->capn) {
        size_t capn = w->capn ? 2 * w->capn : 32;
        size_t *end = realloc(w->end, capn * sizeof(*end));
        if (!end) {
            w->failed = 1;
            return;
        }
        w->end = end;
        w->capn = capn;
    }
    memcpy(w->buf + w->used, s, len);
    w->used += len;
    w->end[w->n++] = w->used;
}

static void
words_str(word_list *w, const char *s)
{
    words_add(w, s, strlen(s));
}

static void
words_num(word_list *w, long long v)
{
    char t[24];
    int n = snprintf(t, sizeof(t), "%lld", v);
    words_add(w, t, (size_t)n);
}

static void
words_free(word_list *w)
{
    free(w->buf);
    free(w->end);
    memset(w, 0, sizeof(*w));
}

/* Appends w's words to argv/lens from *at. */
static void
words_put(const word_list *w, const char **argv, size_t *lens, size_t *at)
{
    for (size_t i = 0; i < w->n; i++) {
        size_t start = i ? w->end[i - 1] : 0;
        argv[*at] = w->buf + start;
        lens[(*at)++] = w->end[i] - start;
    }
}

/* ---- the queue ---- */

/* One record's call: its callback, kept until its replies are in. */
typedef struct {
    union {
        report_count_read_fn read;
        report_written_fn written;
    } done;
    void *opaque;
    int pending; /* the write's replies still to come: its batch's, and its reference's */
    int rc;      /* the write's answer so far */
    char why[200];
} record_call;

/* A record queued for the turn's flush. */
typedef struct {
    int write; /* the write script's, else the read script's */
    char org[KEY_MAX];
    word_list keys, args; /* its own keys and arguments in the script */
    record_call *c;
    int has_ref; /* a write naming the case's reference: its index entry follows */
    char ref_key[KEY_MAX], ref_val[KEY_MAX];
    long long ref_ttl_s;
} queued;

struct report_batch {
    report_store *st;
    ch_timer *flush;
    queued **q;
    size_t n, cap;
};

/* One script's records, until its reply. */
typedef struct {
    int write;
    size_t n;
    record_call *calls[BATCH_MAX];
} batch_call;

static void
queued_free(queued *e)
{
    words_free(&e->keys);
    words_free(&e->args);
    free(e);
}

static void
write_finish(record_call *c)
{
    if (--c->pending)
        return;
    c->done.written(c->opaque, c->rc, c->rc ? c->why : NULL);
    free(c);
}

static void
write_failed(record_call *c, int rc, const char *why)
{
    if (c->rc == 0) {
        c->rc = rc;
        snprintf(c->why, sizeof(c->why), "%s", why);
    }
    write_finish(c);
}

/* A record's call answered CH_EAGAIN: it was queued, so its callback runs. */
static void
call_unavailable(int write, record_call *c, const char *why)
{
    if (write) {
        c->pending = 1; /* nothing of it was sent */
        write_failed(c, CH_EAGAIN, why);
        return;
    }
    c->done.read(c->opaque, CH_EAGAIN, 0, why, NULL, 0, NULL, 0);
    free(c);
}

/* A string of an array reply: its text and length, or NULL for none. */
static const char *
reply_str(const redisReply *e, size_t *len)
{
    int is = e->type == REDIS_REPLY_STRING;
    *len = is ? e->len : 0;
    return is ? e->str : NULL;
}

static void
read_replied(batch_call *b, redisReply *reply)
{
    int ok = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3 * b->n;
    for (size_t i = 0; ok && i < b->n; i++)
        ok = reply->element[3 * i]->type == REDIS_REPLY_INTEGER;
    for (size_t i = 0; i < b->n; i++) {
        record_call *c = b->calls[i];
        if (!ok) {
            call_unavailable(0, c, reply && reply->str ? reply->str : "redis unavailable");
            continue;
        }
        size_t slen, plen;
        const char *state = reply_str(reply->element[3 * i + 1], &slen);
        const char *page = reply_str(reply->element[3 * i + 2], &plen);
        c->done.read(c->opaque, 0, reply->element[3 * i]->integer != 0, NULL, state, slen, page,
                     plen);
        free(c);
    }
}

static void
write_replied(batch_call *b, redisReply *reply)
{
    int ok = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == b->n;
    for (size_t i = 0; ok && i < b->n; i++)
        ok = reply->element[i]->type == REDIS_REPLY_INTEGER;
    for (size_t i = 0; i < b->n; i++) {
        record_call *c = b->calls[i];
        long long r = ok ? reply->element[i]->integer : 0;
        if (!ok)
            write_failed(c, CH_EAGAIN, reply && reply->str ? reply->str : "redis unavailable");
        else if (r < 0)
            write_failed(c, CH_EEXIST,
                         r == -1 ? "the case changed meanwhile; retrying"
                                 : "the case's page changed meanwhile; retrying");
        else
            write_finish(c);
    }
}

static void
batch_replied(void *opaque, redisReply *reply)
{
    batch_call *b = opaque;
    if (b->write)
        write_replied(b, reply);
    else
        read_replied(b, reply);
    free(b);
}

static void
ref_written(void *opaque, redisReply *reply)
{
    record_call *c = opaque;
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        write_failed(c, CH_EAGAIN, reply && reply->str ? reply->str : "redis unavailable");
    else
        write_finish(c);
}

/* Sends e[0..n) (one organisation's, all reads or all writes) as one
 * script, then the writes' reference entries; each record's callback runs
 * once, from the replies, or here when nothing could be sent. */
static void
send_batch(report_store *st, queued **e, size_t n)
{
    int write = e[0]->write;
    size_t words = 2;
    for (size_t i = 0; i < n; i++)
        words += e[i]->keys.n + e[i]->args.n;
    const char **argv = malloc(words * sizeof(*argv));
    size_t *lens = malloc(words * sizeof(*lens));
    batch_call *b = calloc(1, sizeof(*b));
    int rc = CH_ENOMEM;
    if (argv && lens && b) {
        char k1[KEY_MAX], k2[KEY_MAX];
        size_t at = 0;
        if (write) {
            report__key_of(k1, e[0]->org, "open", NULL);
            report__key_of(k2, e[0]->org, "periods", NULL);
            argv[at] = k1;
            lens[at++] = strlen(k1);
            argv[at] = k2;
            lens[at++] = strlen(k2);
        } else {
            report__key_of(k1, e[0]->org, "counts", NULL);
            argv[at] = k1;
            lens[at++] = strlen(k1);
        }
        for (size_t i = 0; i < n; i++)
            words_put(&e[i]->keys, argv, lens, &at);
        int nkeys = (int)at;
        for (size_t i = 0; i < n; i++)
            words_put(&e[i]->args, argv, lens, &at);
        b->write = write;
        b->n = n;
        for (size_t i = 0; i < n; i++)
            b->calls[i] = e[i]->c;
        rc = ch_redis_script_call(write ? st->write_script : st->read_script, batch_replied, b,
                                  nkeys, (int)at, argv, lens);
    }
    free(argv);
    free(lens);
    if (rc != 0) {
        free(b);
        for (size_t i = 0; i < n; i++)
            call_unavailable(write, e[i]->c,
                             rc == CH_ENOMEM ? "out of memory" : "redis unavailable");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!e[i]->has_ref)
            continue;
        if (ch_redis_command(st->rt, ref_written, e[i]->c, "SET %s %s EX %lld", e[i]->ref_key,
                             e[i]->ref_val, e[i]->ref_ttl_s) != 0)
            write_failed(e[i]->c, CH_EAGAIN, "redis unavailable");
    }
}

/* The turn's records, a script per organisation and kind and BATCH_MAX. */
static void
flush(void *arg)
{
    report_batch *bt = arg;
    queued **q = bt->q;
    size_t n = bt->n;
    bt->q = NULL; /* a callback run from here may queue a record for the next flush */
    bt->n = bt->cap = 0;
    queued *group[BATCH_MAX];
    for (size_t i = 0; i < n; i++) {
        if (!q[i])
            continue;
        size_t ng = 0;
        for (size_t j = i; j < n && ng < BATCH_MAX; j++)
            if (q[j] && q[j]->write == q[i]->write && strcmp(q[j]->org, q[i]->org) == 0) {
                group[ng++] = q[j];
                if (j != i)
                    q[j] = NULL;
            }
        q[i] = NULL;
        send_batch(bt->st, group, ng);
        for (size_t g = 0; g < ng; g++)
            queued_free(group[g]);
    }
    free(q);
}

/* Queues e for the turn's flush: 0, or CH_ENOMEM (e freed, its call not). */
static int
enqueue(report_store *st, queued *e)
{
    report_batch *bt = st->batch;
    if (e->keys.failed || e->args.failed)
        goto nomem;
    if (bt->n == bt->cap) {
        size_t cap = bt->cap ? 2 * bt->cap : 256;
        queued **q = realloc(bt->q, cap * sizeof(*q));
        if (!q)
            goto nomem;
        bt->q = q;
        bt->cap = cap;
    }
    bt->q[bt->n++] = e;
    if (bt->n == 1)
        ch_timer_soon(bt->flush);
    return 0;
nomem:
    queued_free(e);
    return CH_ENOMEM;
}

report_batch *
report__batch_new(report_store *st)
{
    report_batch *bt = calloc(1, sizeof(*bt));
    if (!bt)
        return NULL;
    bt->st = st;
    if (!(bt->flush = ch_timer_new(st->rt, flush, bt))) {
        free(bt);
        return NULL;
    }
    return bt;
}

void
report__batch_free(report_batch *bt)
{
    if (!bt)
        return;
    ch_timer_free(bt->flush);
    /* the loop has stopped: what was queued is answered as Redis's commands
     * in flight were, unavailable */
    for (size_t i = 0; i < bt->n; i++) {
        call_unavailable(bt->q[i]->write, bt->q[i]->c, "redis unavailable");
        queued_free(bt->q[i]);
    }
    free(bt->q);
    free(bt);
}

static queued *
queued_new(int write, const char *org, void *opaque)
{
    queued *e = calloc(1, sizeof(*e));
    record_call *c = calloc(1, sizeof(*c));
    if (!e || !c) {
        free(e);
        free(c);
        return NULL;
    }
    e->write = write;
    snprintf(e->org, sizeof(e->org), "%s", org);
    c->opaque = opaque;
    e->c = c;
    return e;
}

/* ---- counting and reading ---- */

int
report_store_count_read(report_store *st, const char *org, const char *event_id, int64_t ttl_s,
                        const char (*names)[CH_REPORT_COUNT_NAME_MAX], size_t nnames,
                        const char *case_id, report_count_read_fn done, void *opaque)
{
    if (!ch_redis_ready(st->rt))
        return CH_EAGAIN;
    queued *e = queued_new(0, org, opaque);
    if (!e)
        return CH_ENOMEM;
    e->c->done.read = done;
    char key[KEY_MAX];
    int has_case = case_id && case_id[0];
    report__key_of(key, org, "seen", event_id);
    words_str(&e->keys, key);
    /* no case: the seen mark stands in for the keys not read (the same slot) */
    if (has_case)
        report__key_of(key, org, "case", case_id);
    words_str(&e->keys, key);
    if (has_case)
        report__key_of(key, org, "page", case_id);
    words_str(&e->keys, key);
    if (nnames > 10)
        nnames = 10;
    words_num(&e->args, (long long)ttl_s);
    words_str(&e->args, has_case ? "1" : "0");
    words_num(&e->args, (long long)nnames);
    for (size_t i = 0; i < nnames; i++)
        words_str(&e->args, names[i]);
    record_call *c = e->c;
    int rc = enqueue(st, e);
    if (rc != 0)
        free(c);
    return rc;
}

/* ---- writing ---- */

/* The write script's keys and arguments of one record into e. */
static int
write_words(report_store *st, const char *org, const char *case_id, const report_case_change *ch,
            const report_page_change *pg, queued *e)
{
    size_t n = ch ? ch->ndelta : 0, cap = n ? n : 1;
    report_bucket *buckets = malloc(cap * sizeof(*buckets));
    size_t *bucket_of = malloc(cap * sizeof(*bucket_of));
    int nb = !buckets || !bucket_of ? CH_ENOMEM
             : ch ? report_group_by_period(ch->delta, n, st->retention_months, ch->now_s, buckets,
                                           cap, bucket_of)
                  : 0;
    if (nb >= 0) {
        char key[KEY_MAX];
        report__key_of(key, org, "case", case_id);
        words_str(&e->keys, key);
        report__key_of(key, org, "page", case_id);
        words_str(&e->keys, key);
        for (int b = 0; b < nb; b++) {
            report__figures_key(key, org, buckets[b].period);
            words_str(&e->keys, key);
        }
        word_list *a = &e->args;
        words_num(a, nb);
        words_str(a, ch ? "1" : "0");
        words_add(a, ch && ch->old_state ? ch->old_state : "", ch ? ch->old_len : 0);
        words_add(a, ch ? ch->state : "", ch ? ch->state_len : 0);
        words_num(a, ch ? (long long)ch->ttl_s : 0);
        words_str(a, ch ? ch->open_op : "");
        words_str(a, ch && ch->member ? ch->member : "");
        words_num(a, ch && strcmp(ch->open_op, "add") == 0 ? (long long)ch->due_ms : 0);
        words_str(a, pg ? "1" : "0");
        words_add(a, pg && pg->old ? pg->old : "", pg && pg->old ? pg->old_len : 0);
        words_add(a, pg ? pg->text : "", pg ? pg->len : 0);
        words_num(a, pg ? (long long)pg->ttl_s : 0);
        for (int b = 0; b < nb; b++) {
            words_str(a, buckets[b].member);
            words_num(a, (long long)buckets[b].expire_at_s);
            words_num(a, (long long)buckets[b].n);
            for (size_t i = 0; i < n; i++)
                if (bucket_of[i] == (size_t)b) {
                    words_str(a, ch->delta[i].key);
                    words_num(a, (long long)ch->delta[i].value);
                }
        }
    }
    free(buckets);
    free(bucket_of);
    return nb < 0 ? nb : 0;
}

int
report_store_record_write(report_store *st, const char *org, const char *case_id,
                          const report_case_change *ch, const report_page_change *pg,
                          report_written_fn done, void *opaque)
{
    if (!ch_redis_ready(st->rt))
        return CH_EAGAIN;
    queued *e = queued_new(1, org, opaque);
    if (!e)
        return CH_ENOMEM;
    record_call *c = e->c;
    c->done.written = done;
    c->pending = 1;
    int rc = write_words(st, org, case_id, ch, pg, e);
    if (rc != 0) {
        queued_free(e);
        free(c);
        return rc;
    }
    if (pg && pg->reference && pg->reference[0]) {
        e->has_ref = 1;
        c->pending = 2;
        report_store_ref_key(pg->reference, e->ref_key, sizeof(e->ref_key));
        snprintf(e->ref_val, sizeof(e->ref_val), "%s %s", org, case_id);
        e->ref_ttl_s = (long long)pg->ttl_s;
    }
    rc = enqueue(st, e);
    if (rc != 0)
        free(c);
    return rc;
}
