/*
 * Redis for the runtime: one hiredis async connection on the loop (the
 * libevent adapter), reconnected with exponential backoff. hiredis 0.14 calls
 * every pending callback with a NULL reply when a connection drops, which
 * keeps ch_redis_command()'s promise: the callback runs exactly once.
 * Scripts (EVALSHA with the NOSCRIPT fallback) are in redis_script.c.
 */
#include <hiredis/adapters/libevent.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "runtime_int.h"

typedef struct {
    ch_redis_cb cb;
    void *opaque;
} redis_ctx;

static void redis_connect(ch_runtime *rt);

/* Commands issued during a loop turn are written together at its end rather
 * than when the next turn finds the socket writable: the answers are on
 * their way while the loop polls, a turn sooner. */
static void
flush(void *arg)
{
    ch_runtime *rt = arg;
    if (rt->redis && rt->redis_ready)
        redisAsyncHandleWrite(rt->redis);
}

static void
retry(void *arg)
{
    redis_connect(arg);
}

static void
schedule_reconnect(ch_runtime *rt)
{
    if (rt->finalizing)
        return;
    int64_t d = rt->redis_backoff_ms;
    rt->redis_backoff_ms = d * 2 > 5000 ? 5000 : d * 2;
    ch_timer_start(rt->redis_retry, d * 1000);
}

static void
trampoline(redisAsyncContext *ac, void *reply, void *priv)
{
    (void)ac;
    redis_ctx *rc = priv;
    if (rc->cb)
        rc->cb(rc->opaque, reply);
    free(rc);
}

static void
auth_cb(redisAsyncContext *ac, void *r, void *priv)
{
    ch_runtime *rt = priv;
    redisReply *reply = r;
    if (reply && reply->type == REDIS_REPLY_ERROR) {
        CH_LOG_ERROR(&rt->log, "redis refused AUTH or SELECT", CH_STR("error", reply->str));
        redisAsyncDisconnect(ac);
    }
}

void
ch__redis_login(ch_runtime *rt, redisAsyncContext *c)
{
    if (rt->rurl.password[0]) {
        if (rt->rurl.user[0])
            redisAsyncCommand(c, auth_cb, rt, "AUTH %s %s", rt->rurl.user, rt->rurl.password);
        else
            redisAsyncCommand(c, auth_cb, rt, "AUTH %s", rt->rurl.password);
    }
    if (rt->rurl.db)
        redisAsyncCommand(c, auth_cb, rt, "SELECT %d", rt->rurl.db);
}

redisAsyncContext *
ch__redis_dial(ch_runtime *rt, redisConnectCallback *on_up, redisDisconnectCallback *on_down)
{
    redisAsyncContext *ac = rt->rurl.unix_path[0] ? redisAsyncConnectUnix(rt->rurl.unix_path)
                                                  : redisAsyncConnect(rt->rurl.host, rt->rurl.port);
    if (!ac || ac->err) {
        CH_LOG_WARN(&rt->log, "redis connect failed; retrying",
                    CH_STR("error", ac ? ac->errstr : "out of memory"));
        if (ac)
            redisAsyncFree(ac);
        return NULL;
    }
    ac->data = rt;
    redisLibeventAttach(ac, rt->base);
    redisAsyncSetConnectCallback(ac, on_up);
    redisAsyncSetDisconnectCallback(ac, on_down);
    return ac;
}

static void
on_connect(const redisAsyncContext *ac, int status)
{
    ch_runtime *rt = ac->data;
    if (status != REDIS_OK) {
        CH_LOG_WARN(&rt->log, "redis connect failed; retrying", CH_STR("error", ac->errstr),
                    CH_INT("retry_ms", rt->redis_backoff_ms));
        rt->redis = NULL; /* hiredis frees the context after this callback */
        schedule_reconnect(rt);
        return;
    }
    redisAsyncContext *c = (redisAsyncContext *)ac;
    ch__redis_login(rt, c);
    ch__redis_scripts_load(rt, c);
    rt->redis_ready = 1;
    rt->redis_backoff_ms = 100;
    ch_metric_set(rt->m_redis_up, 1);
    CH_LOG_INFO(&rt->log, "redis connected");
    if (rt->svc->on_redis_ready)
        rt->svc->on_redis_ready(rt->svc_ctx);
}

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
    ch_runtime *rt = ac->data;
    rt->redis = NULL;
    rt->redis_ready = 0;
    ch_metric_set(rt->m_redis_up, 0);
    if (rt->finalizing)
        return;
    CH_LOG_WARN(&rt->log, "redis disconnected; reconnecting",
                CH_STR("error", status == REDIS_OK ? "closed" : ac->errstr));
    schedule_reconnect(rt);
}

static void
redis_connect(ch_runtime *rt)
{
    if (!(rt->redis = ch__redis_dial(rt, on_connect, on_disconnect)))
        schedule_reconnect(rt);
}

int
ch__redis_open(ch_runtime *rt, char *errstr, size_t errstr_size)
{
    if (ch_redis_url_parse(rt->cfg.redis_url, &rt->rurl, errstr, errstr_size) != 0)
        return CH_EINVAL;
    rt->redis_retry = ch_timer_new(rt, retry, rt);
    rt->redis_flush = ch_timer_new(rt, flush, rt);
    if (!rt->redis_retry || !rt->redis_flush) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    rt->redis_backoff_ms = 100;
    redis_connect(rt);
    return ch__redis_reader_open(rt, errstr, errstr_size);
}

void
ch__redis_close(ch_runtime *rt)
{
    ch__redis_reader_close(rt);
    ch_timer_free(rt->redis_retry);
    ch_timer_free(rt->redis_flush);
    rt->redis_retry = rt->redis_flush = NULL;
    if (rt->redis) {
        redisAsyncContext *ac = rt->redis;
        rt->redis = NULL;
        redisAsyncFree(ac); /* pending callbacks run with a NULL reply */
    }
    rt->redis_ready = 0;
}

void
ch__redis_drain(ch_runtime *rt)
{
    ch__redis_reader_drain(rt);
    if (rt->redis_retry)
        ch_timer_stop(rt->redis_retry);
    if (rt->redis) {
        if (rt->redis_ready)
            redisAsyncHandleWrite(rt->redis); /* what the flush's reports queued */
        if (rt->redis)
            redisAsyncDisconnect(rt->redis); /* on_disconnect clears rt->redis */
    }
}

int
ch__redis_draining(const ch_runtime *rt)
{
    return rt->redis != NULL || rt->redis_rd != NULL;
}

int
ch_redis_ready(const ch_runtime *rt)
{
    return rt->redis_ready && rt->redis;
}

/* The context of one command with a caller's callback (NULL on ENOMEM). */
static redis_ctx *
ctx_new(ch_redis_cb cb, void *opaque)
{
    redis_ctx *rc = malloc(sizeof(*rc));
    if (rc) {
        rc->cb = cb;
        rc->opaque = opaque;
    }
    return rc;
}

int
ch_redis_command(ch_runtime *rt, ch_redis_cb cb, void *opaque, const char *fmt, ...)
{
    if (!ch_redis_ready(rt))
        return CH_EAGAIN;
    redis_ctx *rc = ctx_new(cb, opaque);
    if (!rc)
        return CH_ENOMEM;
    va_list ap;
    va_start(ap, fmt);
    int r = redisvAsyncCommand(rt->redis, trampoline, rc, fmt, ap);
    va_end(ap);
    if (r != REDIS_OK) {
        free(rc);
        return CH_EAGAIN;
    }
    ch_timer_soon(rt->redis_flush);
    return 0;
}

int
ch__redis_send_argv(ch_runtime *rt, redisCallbackFn *fn, void *priv, int argc, const char **argv,
                    const size_t *argvlen)
{
    if (!ch_redis_ready(rt) ||
        redisAsyncCommandArgv(rt->redis, fn, priv, argc, argv, argvlen) != REDIS_OK)
        return CH_EAGAIN;
    ch_timer_soon(rt->redis_flush);
    return 0;
}

void
ch_redis_flush(ch_runtime *rt)
{
    flush(rt);
}

int
ch_redis_multi(ch_runtime *rt, ch_redis_cb cb, void *opaque, size_t n, const ch_redis_cmd *cmds)
{
    if (!ch_redis_ready(rt))
        return CH_EAGAIN;
    redis_ctx *rc = ctx_new(cb, opaque);
    if (!rc)
        return CH_ENOMEM;
    /* MULTI's and each command's own answer (+OK, +QUEUED) are not needed:
     * EXEC answers with the commands' replies, or EXECABORT if one was
     * refused. */
    redisAsyncContext *ac = rt->redis;
    if (redisAsyncCommand(ac, NULL, NULL, "MULTI") != REDIS_OK) {
        free(rc);
        return CH_EAGAIN; /* nothing sent */
    }
    int ok = 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = redisAsyncCommandArgv(ac, NULL, NULL, cmds[i].argc, cmds[i].argv, cmds[i].argvlen) ==
             REDIS_OK;
    if (ok && redisAsyncCommand(ac, trampoline, rc, "EXEC") == REDIS_OK) {
        ch_timer_soon(rt->redis_flush);
        return 0;
    }
    free(rc);
    /* Half a transaction is queued (hiredis could not add a command: out
     * of memory). Left open, it would swallow the next commands: DISCARD
     * it, or drop the connection (the runtime reconnects) if even that
     * cannot be sent. */
    if (redisAsyncCommand(ac, NULL, NULL, "DISCARD") == REDIS_OK) {
        ch_timer_soon(rt->redis_flush);
    } else {
        CH_LOG_ERROR(&rt->log, "redis transaction left open; reconnecting");
        redisAsyncDisconnect(ac);
    }
    return CH_ENOMEM;
}

int
ch_redis_command_argv(ch_runtime *rt, ch_redis_cb cb, void *opaque, int argc, const char **argv,
                      const size_t *argvlen)
{
    if (!ch_redis_ready(rt))
        return CH_EAGAIN;
    redis_ctx *rc = ctx_new(cb, opaque);
    if (!rc)
        return CH_ENOMEM;
    int r = ch__redis_send_argv(rt, trampoline, rc, argc, argv, argvlen);
    if (r != 0)
        free(rc);
    return r;
}
