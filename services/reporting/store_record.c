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
 * Batched: each call queues its record in its organisation's group (one
 * per organisation and script: every key under its hash tag, as a Redis
 * Cluster wants); a group that reaches BATCH_MAX records is sent at once
 * and written to the socket (ch_redis_flush), so Redis runs it while the
 * loop turn prepares the next (before issue 16's second pass, a turn's
 * records all waited for its end, and the two processes took turns), and
 * the rest go at the turn's end (ch_timer_soon). Redis runs one command for
 * many records and the service parses one reply. A script holds Redis's thread for its
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
 * "1" to read the case, n, and n count names. Each record's seen mark is
 * set in turn; the counts of the records counted now are summed and added
 * once per name, and the cases read with one MGET. Returns per record: 1
 * if counted now else 0, the case's state and its page (nil when missing
 * or not read). */
const char report__read_lua[] =
    "local n = (#KEYS - 1) / 3\n"
    "local sums, keys, out, a = {}, {}, {}, 1\n"
    "for r = 1, n do\n"
    "  local k, m, first = 3 * r - 1, tonumber(ARGV[a + 2]), 0\n"
    "  if redis.call('SET', KEYS[k], '1', 'NX', 'EX', ARGV[a]) then\n"
    "    for i = a + 3, a + 2 + m do sums[ARGV[i]] = (sums[ARGV[i]] or 0) + 1 end\n"
    "    first = 1\n"
    "  end\n"
    "  out[3 * r - 2] = first\n"
    "  out[3 * r - 1] = false\n"
    "  out[3 * r] = false\n"
    "  if ARGV[a + 1] == '1' then\n"
    "    keys[#keys + 1] = KEYS[k + 1]\n"
    "    keys[#keys + 1] = KEYS[k + 2]\n"
    "  end\n"
    "  a = a + 3 + m\n"
    "end\n"
    "for name, v in pairs(sums) do redis.call('HINCRBY', KEYS[1], name, v) end\n"
    "if #keys > 0 then\n"
    "  local got, g = redis.call('MGET', unpack(keys)), 1\n"
    "  a = 1\n"
    "  for r = 1, n do\n"
    "    if ARGV[a + 1] == '1' then\n"
    "      out[3 * r - 1] = got[g]\n"
    "      out[3 * r] = got[g + 1]\n"
    "      g = g + 2\n"
    "    end\n"
    "    a = a + 3 + tonumber(ARGV[a + 2])\n"
    "  end\n"
    "end\n"
    "return out\n";

/* KEYS: open, periods index, then per record: case, page; then the batch's
 * F figures hashes. ARGV: n records, F, per figures hash its index member
 * and expiry (unix seconds, "0" for none); then per record: 0 "1" to write
 * the case, 1 its old state ("" for none), 2 the new one, 3 its ttl, 4
 * open op ("add", "rem" or ""), 5 open member, 6 score; 7 "1" to write the
 * page, 8 its old text ("" for none), 9 the new one, 10 its ttl; 11 the
 * number of its periods, and per period: its figures hash (1..F), m, and m
 * field/delta pairs. Returns per record 1; -1 when the case changed since
 * it was read, -2 when the page did (nothing of that record written).
 *
 * As if each record were written in turn: a record's texts are compared
 * with what the batch's MGET read or an earlier record of the batch wrote
 * (cur), and written at once; its deltas are summed per field and added
 * at the end (HINCRBY adds; nothing here reads the figures), each field
 * once, even when its sum is 0 (as a record's own HINCRBY would leave it),
 * each period written to indexed and given its expiry once, and the open
 * set changed once per member, by the batch's last change of it. */
const char report__write_lua[] =
    "local n, nf = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "local cur = redis.call('MGET', unpack(KEYS, 3, 2 + 2 * n))\n"
    "local fk, sums, open, out, a = 2 + 2 * n, {}, {}, {}, 3 + 2 * nf\n"
    "for r = 1, n do\n"
    "  local ic, ip, ok = 2 * r - 1, 2 * r, 1\n"
    "  if ARGV[a] == '1' and (cur[ic] or '') ~= ARGV[a + 1] then ok = -1\n"
    "  elseif ARGV[a + 7] == '1' and (cur[ip] or '') ~= ARGV[a + 8] then ok = -2 end\n"
    "  local f = a + 12\n"
    "  for j = 1, tonumber(ARGV[a + 11]) do\n"
    "    local fi, m = tonumber(ARGV[f]), tonumber(ARGV[f + 1])\n"
    "    if ok == 1 then\n"
    "      local s = sums[fi] or {}\n"
    "      sums[fi] = s\n"
    "      for i = f + 2, f + 2 * m, 2 do s[ARGV[i]] = (s[ARGV[i]] or 0) + tonumber(ARGV[i + 1]) "
    "end\n"
    "    end\n"
    "    f = f + 2 + 2 * m\n"
    "  end\n"
    "  if ok == 1 and ARGV[a] == '1' then\n"
    "    redis.call('SET', KEYS[2 + ic], ARGV[a + 2], 'EX', ARGV[a + 3])\n"
    "    cur[ic] = ARGV[a + 2]\n"
    "    if ARGV[a + 4] ~= '' then open[ARGV[a + 5]] = {ARGV[a + 4], ARGV[a + 6]} end\n"
    "  end\n"
    "  if ok == 1 and ARGV[a + 7] == '1' then\n"
    "    redis.call('SET', KEYS[2 + ip], ARGV[a + 9], 'EX', ARGV[a + 10])\n"
    "    cur[ip] = ARGV[a + 9]\n"
    "  end\n"
    "  out[r] = ok\n"
    "  a = f\n"
    "end\n"
    "local idx = {}\n"
    "for fi, s in pairs(sums) do\n"
    "  local h = KEYS[fk + fi]\n"
    "  for field, v in pairs(s) do redis.call('HINCRBY', h, field, v) end\n"
    "  if ARGV[2 + 2 * fi] ~= '0' then redis.call('EXPIREAT', h, ARGV[2 + 2 * fi]) end\n"
    "  idx[#idx + 1] = 0\n"
    "  idx[#idx + 1] = ARGV[1 + 2 * fi]\n"
    "end\n"
    "if #idx > 0 then redis.call('ZADD', KEYS[2], unpack(idx)) end\n"
    "local adds, rems = {}, {}\n"
    "for m, o in pairs(open) do\n"
    "  if o[1] == 'add' then\n"
    "    adds[#adds + 1] = o[2]\n"
    "    adds[#adds + 1] = m\n"
    "  elseif o[1] == 'rem' then rems[#rems + 1] = m end\n"
    "end\n"
    "if #adds > 0 then redis.call('ZADD', KEYS[1], unpack(adds)) end\n"
    "if #rems > 0 then redis.call('ZREM', KEYS[1], unpack(rems)) end\n"
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
    words_add(w, t, report__num(t, v));
}

static void
words_free(word_list *w)
{
    free(w->buf);
    free(w->end);
    memset(w, 0, sizeof(*w));
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
    /* a write's periods: per period its figures hash, index member and
     * expiry (figs, three words each) and its deltas (deltas: m[i] pairs) */
    word_list figs, deltas;
    size_t *m, nperiods;
    record_call *c;
    int has_ref; /* a write naming the case's reference: its index entry follows */
    char ref_key[KEY_MAX], ref_val[KEY_MAX];
    long long ref_ttl_s;
} queued;

/* One organisation's records of one kind, waiting for their script. */
typedef struct {
    int write;
    char org[KEY_MAX];
    queued *q[BATCH_MAX];
    size_t n;
} queued_group;

struct report_batch {
    report_store *st;
    ch_timer *flush;
    queued_group *g; /* one per organisation and kind seen (kept, emptied when sent) */
    size_t ng, capg;
    size_t nqueued; /* records in the groups */
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
    words_free(&e->figs);
    words_free(&e->deltas);
    free(e->m);
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

/* Word i of w. */
static const char *
word_at(const word_list *w, size_t i, size_t *len)
{
    size_t start = i ? w->end[i - 1] : 0;
    *len = w->end[i] - start;
    return w->buf + start;
}

/* The words of one script call, growing. */
typedef struct {
    const char **v;
    size_t *len;
    size_t n, cap;
} argv_list;

static void
argv_add(argv_list *a, const char *w, size_t len)
{
    if (a->n < a->cap) {
        a->v[a->n] = w;
        a->len[a->n++] = len;
    }
}

static void
argv_word(argv_list *a, const word_list *w, size_t i)
{
    size_t len;
    const char *s = word_at(w, i, &len);
    argv_add(a, s, len);
}

/* The batch's distinct figures hashes: each record's periods refer to one
 * by its number (1-based), found through a small open-addressing table. */
typedef struct {
    const word_list **owner; /* figs of the record that named it first */
    size_t *word;            /* the index of its key in that list */
    size_t n;
    size_t *slot; /* nslot, a power of 2: index + 1, 0 empty */
    size_t nslot;
} fig_set;

static size_t
fig_hash(const char *s, size_t len)
{
    size_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/* The number of figs' key at word i in f, added when new. */
static size_t
fig_of(fig_set *f, const word_list *figs, size_t i)
{
    size_t len;
    const char *key = word_at(figs, i, &len);
    size_t mask = f->nslot - 1;
    for (size_t h = fig_hash(key, len) & mask;; h = (h + 1) & mask) {
        if (!f->slot[h]) {
            f->owner[f->n] = figs;
            f->word[f->n] = i;
            f->slot[h] = ++f->n;
            return f->n;
        }
        size_t k = f->slot[h] - 1, klen;
        const char *other = word_at(f->owner[k], f->word[k], &klen);
        if (klen == len && memcmp(other, key, len) == 0)
            return k + 1;
    }
}

/* The read script's words for e[0..n) into a. */
static void
read_words(queued **e, size_t n, const char *counts_key, argv_list *a, int *nkeys)
{
    argv_add(a, counts_key, strlen(counts_key));
    for (size_t i = 0; i < n; i++)
        for (size_t w = 0; w < e[i]->keys.n; w++)
            argv_word(a, &e[i]->keys, w);
    *nkeys = (int)a->n;
    for (size_t i = 0; i < n; i++)
        for (size_t w = 0; w < e[i]->args.n; w++)
            argv_word(a, &e[i]->args, w);
}

/* The write script's words for e[0..n) into a (fs: room for every period
 * of the batch). */
static void
write_words_of(queued **e, size_t n, const char *open_key, const char *index_key, fig_set *fs,
               size_t *fig_no, char (*nums)[24], argv_list *a, int *nkeys)
{
    size_t at = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t p = 0; p < e[i]->nperiods; p++)
            fig_no[at++] = fig_of(fs, &e[i]->figs, 3 * p);
    argv_add(a, open_key, strlen(open_key));
    argv_add(a, index_key, strlen(index_key));
    for (size_t i = 0; i < n; i++)
        for (size_t w = 0; w < e[i]->keys.n; w++)
            argv_word(a, &e[i]->keys, w);
    for (size_t f = 0; f < fs->n; f++)
        argv_word(a, fs->owner[f], fs->word[f]);
    *nkeys = (int)a->n;
    size_t nn = 0;
    argv_add(a, nums[nn], report__num(nums[nn], (long long)n));
    nn++;
    argv_add(a, nums[nn], report__num(nums[nn], (long long)fs->n));
    nn++;
    for (size_t f = 0; f < fs->n; f++) {
        argv_word(a, fs->owner[f], fs->word[f] + 1);
        argv_word(a, fs->owner[f], fs->word[f] + 2);
    }
    at = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t w = 0; w < e[i]->args.n; w++)
            argv_word(a, &e[i]->args, w);
        for (size_t p = 0, d = 0; p < e[i]->nperiods; p++) {
            argv_add(a, nums[nn], report__num(nums[nn], (long long)fig_no[at++]));
            nn++;
            for (size_t w = 0; w < 1 + 2 * e[i]->m[p]; w++)
                argv_word(a, &e[i]->deltas, d++);
        }
    }
}

/* Sends e[0..n) (one organisation's, all reads or all writes) as one
 * script, then the writes' reference entries; each record's callback runs
 * once, from the replies, or here when nothing could be sent. */
static void
send_batch(report_store *st, queued **e, size_t n)
{
    int write = e[0]->write;
    size_t words = 4, periods = 0;
    for (size_t i = 0; i < n; i++) {
        words += e[i]->keys.n + e[i]->args.n + e[i]->figs.n + e[i]->deltas.n + e[i]->nperiods;
        periods += e[i]->nperiods;
    }
    size_t nslot = 16;
    while (nslot < 2 * periods)
        nslot *= 2;
    argv_list a = {malloc(words * sizeof(*a.v)), malloc(words * sizeof(*a.len)), 0, words};
    fig_set fs = {malloc((periods + 1) * sizeof(*fs.owner)),
                  malloc((periods + 1) * sizeof(*fs.word)), 0, calloc(nslot, sizeof(*fs.slot)),
                  nslot};
    size_t *fig_no = malloc((periods + 1) * sizeof(*fig_no));
    char(*nums)[24] = malloc((periods + 2) * sizeof(*nums));
    batch_call *b = calloc(1, sizeof(*b));
    int rc = CH_ENOMEM;
    if (a.v && a.len && fs.owner && fs.word && fs.slot && fig_no && nums && b) {
        char k1[KEY_MAX], k2[KEY_MAX];
        int nkeys = 0;
        if (write) {
            report__key_of(k1, e[0]->org, "open", NULL);
            report__key_of(k2, e[0]->org, "periods", NULL);
            write_words_of(e, n, k1, k2, &fs, fig_no, nums, &a, &nkeys);
        } else {
            report__key_of(k1, e[0]->org, "counts", NULL);
            read_words(e, n, k1, &a, &nkeys);
        }
        b->write = write;
        b->n = n;
        for (size_t i = 0; i < n; i++)
            b->calls[i] = e[i]->c;
        rc = ch_redis_script_call(write ? st->write_script : st->read_script, batch_replied, b,
                                  nkeys, (int)a.n, a.v, a.len);
    }
    free(a.v);
    free(a.len);
    free(fs.owner);
    free(fs.word);
    free(fs.slot);
    free(fig_no);
    free(nums);
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

/* Sends group gi's records as one script. The group is emptied first: a
 * callback run from send_batch may queue records (and grow bt->g). */
static void
send_group(report_batch *bt, size_t gi)
{
    queued *e[BATCH_MAX];
    size_t n = bt->g[gi].n;
    memcpy(e, bt->g[gi].q, n * sizeof(*e));
    bt->g[gi].n = 0;
    bt->nqueued -= n;
    send_batch(bt->st, e, n);
    for (size_t i = 0; i < n; i++)
        queued_free(e[i]);
}

/* The turn's records left: a script per organisation and kind. */
static void
flush(void *arg)
{
    report_batch *bt = arg;
    for (size_t gi = 0, ng = bt->ng; gi < ng; gi++)
        if (bt->g[gi].n)
            send_group(bt, gi);
}

/* The group of e's organisation and kind, added when new; NULL on ENOMEM. */
static queued_group *
group_of(report_batch *bt, const queued *e)
{
    for (size_t gi = 0; gi < bt->ng; gi++)
        if (bt->g[gi].write == e->write && strcmp(bt->g[gi].org, e->org) == 0)
            return &bt->g[gi];
    if (bt->ng == bt->capg) {
        size_t cap = bt->capg ? 2 * bt->capg : 8;
        queued_group *g = realloc(bt->g, cap * sizeof(*g));
        if (!g)
            return NULL;
        bt->g = g;
        bt->capg = cap;
    }
    queued_group *g = &bt->g[bt->ng++];
    g->write = e->write;
    memcpy(g->org, e->org, sizeof(g->org));
    g->n = 0;
    return g;
}

/* Queues e for its group's script: 0, or CH_ENOMEM (e freed, its call not).
 * A group sends its script as soon as it holds BATCH_MAX records, written
 * to Redis at once (ch_redis_flush), so Redis runs it while this turn
 * prepares the next; what is left goes at the turn's end (flush). */
static int
enqueue(report_store *st, queued *e)
{
    report_batch *bt = st->batch;
    queued_group *g;
    if (e->keys.failed || e->args.failed || e->figs.failed || e->deltas.failed ||
        !(g = group_of(bt, e))) {
        queued_free(e);
        return CH_ENOMEM;
    }
    g->q[g->n++] = e;
    if (++bt->nqueued == 1)
        ch_timer_soon(bt->flush);
    if (g->n == BATCH_MAX) {
        send_group(bt, (size_t)(g - bt->g));
        ch_redis_flush(st->rt);
    }
    return 0;
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
    for (size_t gi = 0; gi < bt->ng; gi++)
        for (size_t i = 0; i < bt->g[gi].n; i++) {
            queued *e = bt->g[gi].q[i];
            call_unavailable(e->write, e->c, "redis unavailable");
            queued_free(e);
        }
    free(bt->g);
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
    size_t len = strnlen(org, sizeof(e->org) - 1);
    memcpy(e->org, org, len);
    e->org[len] = '\0';
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

/* The write script's keys and arguments of one record into e: its own
 * keys and words, and its periods apart (send_batch numbers the batch's
 * figures hashes). */
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
    if (nb >= 0 && !(e->m = malloc((nb ? (size_t)nb : 1) * sizeof(*e->m))))
        nb = CH_ENOMEM;
    if (nb >= 0) {
        char key[KEY_MAX];
        report__key_of(key, org, "case", case_id);
        words_str(&e->keys, key);
        report__key_of(key, org, "page", case_id);
        words_str(&e->keys, key);
        word_list *a = &e->args;
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
        words_num(a, nb);
        e->nperiods = (size_t)nb;
        for (int b = 0; b < nb; b++) {
            report__figures_key(key, org, buckets[b].period);
            words_str(&e->figs, key);
            words_str(&e->figs, buckets[b].member);
            words_num(&e->figs, (long long)buckets[b].expire_at_s);
            e->m[b] = buckets[b].n;
            words_num(&e->deltas, (long long)buckets[b].n);
            for (size_t i = 0; i < n; i++)
                if (bucket_of[i] == (size_t)b) {
                    words_str(&e->deltas, ch->delta[i].key);
                    words_num(&e->deltas, (long long)ch->delta[i].value);
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
