/*
 * The store's keys for the work queue and the case pages (store.h lists
 * them): the reference index, the queue read as one range of the open set
 * plus one MGET of the rows' page records, and a case page's reads (the
 * page record and the reference are written with the case's state, by
 * store_record.c).
 */
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "store.h"
#include "store_int.h"

void
report_store_ref_key(const char *reference, char *buf, size_t bufsz)
{
    snprintf(buf, bufsz, "charter:report:ref:%s", reference);
}

typedef struct {
    report_store *st;
    union {
        report_case_fn text;
        report_queue_fn queue;
        report_case_page_fn page;
        report_queue_count_fn count;
    } done;
    void *opaque;
    char org[KEY_MAX];
    size_t limit;
    redisReply *range; /* the queue's range, kept for the MGET's answer */
    char case_id[KEY_MAX];
    char *page; /* the case page's record, kept for the state's answer */
    size_t page_len;
    int page_found;
    int64_t overdue, now_ms, end_ms;
} pages_call;

static pages_call *
call_new(report_store *st, void *opaque)
{
    pages_call *c = calloc(1, sizeof(*c));
    if (c) {
        c->st = st;
        c->opaque = opaque;
    }
    return c;
}

static int
sent(int rc, pages_call *c)
{
    if (rc != 0)
        free(c);
    return rc;
}

static void
text_read(void *opaque, redisReply *reply)
{
    pages_call *c = opaque;
    if (!reply || (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_NIL))
        c->done.text(c->opaque, CH_EAGAIN, NULL, 0);
    else if (reply->type == REDIS_REPLY_STRING)
        c->done.text(c->opaque, 0, reply->str, reply->len);
    else
        c->done.text(c->opaque, 0, NULL, 0);
    free(c);
}

int
report_store_ref_get(report_store *st, const char *reference, report_case_fn done, void *opaque)
{
    char key[KEY_MAX];
    report_store_ref_key(reference, key, sizeof(key));
    pages_call *c = call_new(st, opaque);
    if (!c)
        return CH_ENOMEM;
    c->done.text = done;
    return sent(ch_redis_read(st->rt, text_read, c, "GET %s", key), c);
}

/* ---- the queue ---- */

static void
queue_pages(void *opaque, redisReply *reply)
{
    pages_call *c = opaque;
    redisReply *z = c->range;
    size_t n = z->elements / 2;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != n) {
        c->done.queue(c->opaque, CH_EAGAIN, NULL, 0, 0);
    } else {
        report_queue_row *rows = calloc(n ? n : 1, sizeof(*rows));
        size_t k = 0;
        for (size_t i = 0; rows && i < n && k < c->limit; i++) {
            rows[k].member = z->element[2 * i]->str;
            rows[k].due_ms = strtoll(z->element[2 * i + 1]->str, NULL, 10);
            if (reply->element[i]->type == REDIS_REPLY_STRING) {
                rows[k].page = reply->element[i]->str;
                rows[k].page_len = reply->element[i]->len;
            }
            k++;
        }
        if (rows)
            c->done.queue(c->opaque, 0, rows, k, n > c->limit);
        else
            c->done.queue(c->opaque, CH_ENOMEM, NULL, 0, 0);
        free(rows);
    }
    freeReplyObject(z);
    free(c);
}

static void
queue_range(void *opaque, redisReply *reply)
{
    pages_call *c = opaque;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements % 2) {
        c->done.queue(c->opaque, CH_EAGAIN, NULL, 0, 0);
        free(c);
        return;
    }
    size_t n = reply->elements / 2;
    if (n == 0) {
        c->done.queue(c->opaque, 0, NULL, 0, 0);
        free(c);
        return;
    }
    /* the reply is the runtime's, borrowed: keep a copy of what the MGET needs */
    redisReply *z = calloc(1, sizeof(*z));
    redisReply **els = calloc(reply->elements, sizeof(*els));
    const char **argv = calloc(n + 1, sizeof(*argv));
    char(*keys)[KEY_MAX] = calloc(n, sizeof(*keys));
    int ok = z && els && argv && keys;
    for (size_t i = 0; ok && i < reply->elements; i++) {
        els[i] = calloc(1, sizeof(redisReply));
        if (!els[i] ||
            !(els[i]->str = strdup(reply->element[i]->str ? reply->element[i]->str : ""))) {
            ok = 0;
            break;
        }
        els[i]->type = REDIS_REPLY_STRING;
        els[i]->len = strlen(els[i]->str);
    }
    if (z) {
        z->type = REDIS_REPLY_ARRAY;
        z->element = els;
        z->elements = els ? reply->elements : 0;
    } else if (els) {
        for (size_t i = 0; i < reply->elements; i++)
            if (els[i]) {
                free(els[i]->str);
                free(els[i]);
            }
        free(els);
    }
    if (ok) {
        argv[0] = "MGET";
        for (size_t i = 0; i < n; i++) {
            const char *member = els[2 * i]->str, *id = member;
            for (int bars = 0; bars < 3 && id; bars++)
                if ((id = strchr(id, '|')))
                    id++;
            report__key_of(keys[i], c->org, "page", id ? id : member);
            argv[i + 1] = keys[i];
        }
        c->range = z;
        ok = ch_redis_read_argv(c->st->rt, queue_pages, c, (int)n + 1, argv, NULL) == 0;
    }
    free(argv);
    free(keys);
    if (!ok) {
        if (z)
            freeReplyObject(z);
        c->done.queue(c->opaque, CH_EAGAIN, NULL, 0, 0);
        free(c);
    }
}

int
report_store_queue(report_store *st, const char *org, int64_t from_ms, int64_t until_ms,
                   size_t limit, report_queue_fn done, void *opaque)
{
    char key[KEY_MAX];
    report__key_of(key, org, "open", NULL);
    pages_call *c = call_new(st, opaque);
    if (!c)
        return CH_ENOMEM;
    c->done.queue = done;
    c->limit = limit;
    snprintf(c->org, sizeof(c->org), "%s", org);
    char from[24] = "-inf";
    if (from_ms != INT64_MIN)
        snprintf(from, sizeof(from), "%lld", (long long)from_ms);
    /* one more than asked: whether there were more */
    return sent(ch_redis_read(st->rt, queue_range, c,
                              "ZRANGEBYSCORE %s %s (%lld WITHSCORES LIMIT 0 %lld", key, from,
                              (long long)until_ms, (long long)limit + 1),
                c);
}

/* ---- the queue's counts (the dashboard's summary) ---- */

static void
counted_due(void *opaque, redisReply *reply)
{
    pages_call *c = opaque;
    if (!reply || reply->type != REDIS_REPLY_INTEGER)
        c->done.count(c->opaque, CH_EAGAIN, 0, 0);
    else
        c->done.count(c->opaque, 0, c->overdue, reply->integer);
    free(c);
}

static void
counted_overdue(void *opaque, redisReply *reply)
{
    pages_call *c = opaque;
    char key[KEY_MAX];
    report__key_of(key, c->org, "open", NULL);
    if (reply && reply->type == REDIS_REPLY_INTEGER) {
        c->overdue = reply->integer;
        if (ch_redis_read(c->st->rt, counted_due, c, "ZCOUNT %s %lld (%lld", key,
                          (long long)c->now_ms, (long long)c->end_ms) == 0)
            return;
    }
    c->done.count(c->opaque, CH_EAGAIN, 0, 0);
    free(c);
}

int
report_store_queue_count(report_store *st, const char *org, int64_t now_ms, int64_t end_ms,
                         report_queue_count_fn done, void *opaque)
{
    char key[KEY_MAX];
    report__key_of(key, org, "open", NULL);
    pages_call *c = call_new(st, opaque);
    if (!c)
        return CH_ENOMEM;
    c->done.count = done;
    snprintf(c->org, sizeof(c->org), "%s", org);
    c->now_ms = now_ms;
    c->end_ms = end_ms;
    return sent(
        ch_redis_read(st->rt, counted_overdue, c, "ZCOUNT %s -inf (%lld", key, (long long)now_ms),
        c);
}

/* ---- a case page: the page record, then the case's state ---- */

static void
page_state(void *opaque, redisReply *reply)
{
    pages_call *c = opaque;
    if (!reply || (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_NIL))
        c->done.page(c->opaque, CH_EAGAIN, NULL, 0, NULL, 0);
    else
        c->done.page(c->opaque, 0, c->page_found ? c->page : NULL, c->page_len,
                     reply->type == REDIS_REPLY_STRING ? reply->str : NULL,
                     reply->type == REDIS_REPLY_STRING ? reply->len : 0);
    free(c->page);
    free(c);
}

static void
page_record(void *opaque, redisReply *reply)
{
    pages_call *c = opaque;
    char key[KEY_MAX];
    if (!reply || (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_NIL))
        goto unavailable;
    if (reply->type == REDIS_REPLY_STRING) {
        if (!(c->page = malloc(reply->len + 1)))
            goto unavailable;
        memcpy(c->page, reply->str, reply->len);
        c->page[reply->len] = '\0';
        c->page_len = reply->len;
        c->page_found = 1;
    }
    report__key_of(key, c->org, "case", c->case_id);
    if (ch_redis_read(c->st->rt, page_state, c, "GET %s", key) == 0)
        return;
unavailable:
    c->done.page(c->opaque, CH_EAGAIN, NULL, 0, NULL, 0);
    free(c->page);
    free(c);
}

int
report_store_case_page(report_store *st, const char *org, const char *case_id,
                       report_case_page_fn done, void *opaque)
{
    char key[KEY_MAX];
    report__key_of(key, org, "page", case_id);
    pages_call *c = call_new(st, opaque);
    if (!c)
        return CH_ENOMEM;
    c->done.page = done;
    snprintf(c->org, sizeof(c->org), "%s", org);
    snprintf(c->case_id, sizeof(c->case_id), "%s", case_id);
    return sent(ch_redis_read(st->rt, page_record, c, "GET %s", key), c);
}
