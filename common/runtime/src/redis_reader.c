/*
 * The readers' Redis connection (ch_service.redis_reader): a second hiredis
 * async connection on the loop, for commands that only read (ch_redis_read).
 *
 * Redis answers one connection's commands in the order they came, so on the
 * one connection a reader's GET waits behind every write queued before it
 * (reporting keeps up to a thousand records' scripts queued: about 100 ms
 * at 10,000 events/s, docs/benchmarks.md). On a connection of its own it
 * waits only for the command Redis is running. It reconnects with backoff
 * as the main one does (redis.c); while it is down, reads go on the main
 * connection, so a reader never fails for want of it. It loads no scripts
 * and reports nothing to the service: readiness is the main connection's.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "runtime_int.h"

typedef struct {
    ch_redis_cb cb;
    void *opaque;
} read_ctx;

static void reader_connect(ch_runtime *rt);

static void
reader_flush(void *arg)
{
    ch_runtime *rt = arg;
    if (rt->redis_rd && rt->redis_rd_ready)
        redisAsyncHandleWrite(rt->redis_rd);
}

static void
reader_retry(void *arg)
{
    reader_connect(arg);
}

static void
reader_reconnect_later(ch_runtime *rt)
{
    if (rt->finalizing || !rt->redis_rd_retry)
        return;
    int64_t d = rt->redis_rd_backoff_ms;
    rt->redis_rd_backoff_ms = d * 2 > 5000 ? 5000 : d * 2;
    ch_timer_start(rt->redis_rd_retry, d * 1000);
}

static void
reader_on_connect(const redisAsyncContext *ac, int status)
{
    ch_runtime *rt = ac->data;
    if (status != REDIS_OK) {
        rt->redis_rd = NULL; /* hiredis frees the context after this callback */
        reader_reconnect_later(rt);
        return;
    }
    ch__redis_login(rt, (redisAsyncContext *)ac);
    rt->redis_rd_ready = 1;
    rt->redis_rd_backoff_ms = 100;
    CH_LOG_INFO(&rt->log, "redis readers' connection up");
}

static void
reader_on_disconnect(const redisAsyncContext *ac, int status)
{
    ch_runtime *rt = ac->data;
    rt->redis_rd = NULL;
    rt->redis_rd_ready = 0;
    if (rt->finalizing)
        return;
    CH_LOG_WARN(&rt->log, "redis readers' connection lost; reading on the main one meanwhile",
                CH_STR("error", status == REDIS_OK ? "closed" : ac->errstr));
    reader_reconnect_later(rt);
}

static void
reader_connect(ch_runtime *rt)
{
    if (!(rt->redis_rd = ch__redis_dial(rt, reader_on_connect, reader_on_disconnect)))
        reader_reconnect_later(rt);
}

int
ch__redis_reader_open(ch_runtime *rt, char *errstr, size_t errstr_size)
{
    if (!rt->svc->redis_reader)
        return 0;
    rt->redis_rd_retry = ch_timer_new(rt, reader_retry, rt);
    rt->redis_rd_flush = ch_timer_new(rt, reader_flush, rt);
    if (!rt->redis_rd_retry || !rt->redis_rd_flush) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    rt->redis_rd_backoff_ms = 100;
    reader_connect(rt);
    return 0;
}

void
ch__redis_reader_drain(ch_runtime *rt)
{
    if (rt->redis_rd_retry)
        ch_timer_stop(rt->redis_rd_retry);
    if (rt->redis_rd)
        redisAsyncDisconnect(rt->redis_rd); /* its answers first; on_disconnect clears it */
}

void
ch__redis_reader_close(ch_runtime *rt)
{
    ch_timer_free(rt->redis_rd_retry);
    ch_timer_free(rt->redis_rd_flush);
    rt->redis_rd_retry = rt->redis_rd_flush = NULL;
    if (rt->redis_rd) {
        redisAsyncContext *ac = rt->redis_rd;
        rt->redis_rd = NULL;
        redisAsyncFree(ac); /* pending callbacks run with a NULL reply */
    }
    rt->redis_rd_ready = 0;
}

static void
read_trampoline(redisAsyncContext *ac, void *reply, void *priv)
{
    (void)ac;
    read_ctx *rc = priv;
    if (rc->cb)
        rc->cb(rc->opaque, reply);
    free(rc);
}

/* 1 when reads go on the readers' connection. */
static int
reader_up(const ch_runtime *rt)
{
    return rt->redis_rd && rt->redis_rd_ready && !rt->finalizing;
}

int
ch_redis_read(ch_runtime *rt, ch_redis_cb cb, void *opaque, const char *fmt, ...)
{
    int rd = reader_up(rt);
    if (!rd && !ch_redis_ready(rt))
        return CH_EAGAIN;
    read_ctx *rc = malloc(sizeof(*rc));
    if (!rc)
        return CH_ENOMEM;
    *rc = (read_ctx){cb, opaque};
    va_list ap;
    va_start(ap, fmt);
    int r = redisvAsyncCommand(rd ? rt->redis_rd : rt->redis, read_trampoline, rc, fmt, ap);
    va_end(ap);
    if (r != REDIS_OK) {
        free(rc);
        return CH_EAGAIN;
    }
    ch_timer_soon(rd ? rt->redis_rd_flush : rt->redis_flush);
    return 0;
}

int
ch_redis_read_argv(ch_runtime *rt, ch_redis_cb cb, void *opaque, int argc, const char **argv,
                   const size_t *argvlen)
{
    if (!reader_up(rt))
        return ch_redis_command_argv(rt, cb, opaque, argc, argv, argvlen);
    read_ctx *rc = malloc(sizeof(*rc));
    if (!rc)
        return CH_ENOMEM;
    *rc = (read_ctx){cb, opaque};
    if (redisAsyncCommandArgv(rt->redis_rd, read_trampoline, rc, argc, argv, argvlen) != REDIS_OK) {
        free(rc);
        return CH_EAGAIN;
    }
    ch_timer_soon(rt->redis_rd_flush);
    return 0;
}
