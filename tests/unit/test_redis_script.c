/*
 * ch_redis_script against a real redis-server (skipped when there is none):
 * a call by digest returns the script's answer, binary arguments arrive
 * whole; a fresh server knows the script, which the runtime loads on
 * connecting; a server that does not know it (after SCRIPT FLUSH) still
 * answers, through one EVAL the runtime sends for it, with the callback run
 * once; once loaded, the digest alone goes. Also: ch_redis_command_argv with argvlen
 * NULL, and a call made before Redis is connected refused with CH_EAGAIN, its callback never run.
 *
 * The checks run inside a small service on the real runtime; results are
 * recorded and asserted after ch_runtime_main() returns.
 */
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "charter/errors.h"
#include "charter/runtime.h"

static const char script_lua[] = "return {KEYS[1], ARGV[1], #ARGV}";

typedef struct {
    ch_runtime *rt;
    ch_redis_script *script;
    int64_t started_ms;
    int early_rc, early_calls;
    int first_ok, second_ok, third_ok, replies, set_ok, get_ok;
    int evals, evalshas, evalsha_failed;
    int done;
} results;

static results res;

static void
finish(void)
{
    res.done = 1;
    raise(SIGTERM);
}

/* The script's answer is {"case-1", "a\0b", 2}. */
static int
answer_ok(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
           r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "case-1") == 0 &&
           r->element[1]->type == REDIS_REPLY_STRING && r->element[1]->len == 3 &&
           memcmp(r->element[1]->str, "a\0b", 3) == 0 &&
           r->element[2]->type == REDIS_REPLY_INTEGER && r->element[2]->integer == 2;
}

static int
call(ch_redis_cb cb)
{
    const char *argv[] = {"case-1", "a\0b", "x"};
    const size_t argvlen[] = {6, 3, 1};
    return ch_redis_script_call(res.script, cb, NULL, 1, 3, argv, argvlen);
}

static void
stats(void *opaque, redisReply *r)
{
    (void)opaque;
    const char *eval = r && r->type == REDIS_REPLY_STRING ? strstr(r->str, "cmdstat_eval:") : NULL;
    const char *sha =
        r && r->type == REDIS_REPLY_STRING ? strstr(r->str, "cmdstat_evalsha:") : NULL;
    if (eval)
        sscanf(eval, "cmdstat_eval:calls=%d", &res.evals);
    if (sha)
        sscanf(sha, "cmdstat_evalsha:calls=%d,%*[^,],%*[^,],%*[^,],failed_calls=%d", &res.evalshas,
               &res.evalsha_failed);
    finish();
}

/* After SCRIPT FLUSH: NOSCRIPT again, and the text once more. */
static void
third(void *opaque, redisReply *r)
{
    (void)opaque;
    res.replies++;
    res.third_ok = answer_ok(r);
    if (ch_redis_command(res.rt, stats, NULL, "INFO commandstats") != 0)
        finish();
}

static void
flushed(void *opaque, redisReply *r)
{
    (void)opaque;
    (void)r;
    if (call(third) != 0)
        finish();
}

/* The script is loaded now: by digest alone. */
static void
second(void *opaque, redisReply *r)
{
    (void)opaque;
    res.replies++;
    res.second_ok = answer_ok(r);
    if (ch_redis_command(res.rt, flushed, NULL, "SCRIPT FLUSH") != 0)
        finish();
}

/* A fresh server: the script was loaded on connecting, so the digest goes. */
static void
first(void *opaque, redisReply *r)
{
    (void)opaque;
    res.replies++;
    res.first_ok = answer_ok(r);
    if (call(second) != 0)
        finish();
}

static void
got(void *opaque, redisReply *r)
{
    (void)opaque;
    res.get_ok = r && r->type == REDIS_REPLY_STRING && strcmp(r->str, "value one") == 0;
    if (call(first) != 0)
        finish();
}

static void
set(void *opaque, redisReply *r)
{
    (void)opaque;
    res.set_ok = r && r->type == REDIS_REPLY_STATUS;
    const char *argv[] = {"GET", "test:argv"};
    if (ch_redis_command_argv(res.rt, got, NULL, 2, argv, NULL) != 0)
        finish();
}

static void
never(void *opaque, redisReply *r)
{
    (void)opaque;
    (void)r;
    res.early_calls++;
}

static int
svc_init(ch_runtime *rt, const void *config, void **svc, char *errstr, size_t errstr_size)
{
    (void)config;
    res.rt = rt;
    res.script = ch_redis_script_new(rt, script_lua);
    if (!res.script) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    res.early_rc = call(never); /* Redis is not connected before init returns */
    *svc = &res;
    return 0;
}

static void
svc_redis_ready(void *svc)
{
    (void)svc;
    const char *argv[] = {"SET", "test:argv", "value one"};
    if (ch_redis_command_argv(res.rt, set, NULL, 3, argv, NULL) != 0)
        finish();
}

static void
svc_tick(void *svc, int64_t now_ms)
{
    (void)svc;
    if (!res.started_ms)
        res.started_ms = now_ms;
    else if (now_ms - res.started_ms > 15000 && !res.done)
        finish(); /* give up: the assertions say what never happened */
}

static const ch_service test_service = {
    .name = "test-redis-script",
    .env_prefix = "CHARTER_TEST_",
    .default_http_listen = "127.0.0.1:0",
    .init = svc_init,
    .on_redis_ready = svc_redis_ready,
    .tick = svc_tick,
};

static int
free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    close(fd);
    return ntohs(a.sin_port);
}

static void
test_script_by_digest_and_after_flush(void **state)
{
    (void)state;
    int port = free_port();
    assert_true(port > 0);
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    pid_t redis = fork();
    assert_true(redis >= 0);
    if (redis == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, STDOUT_FILENO);
            dup2(devnull, STDERR_FILENO);
        }
        execlp("redis-server", "redis-server", "--port", portstr, "--bind", "127.0.0.1", "--save",
               "", "--appendonly", "no", "--loglevel", "warning", (char *)NULL);
        _exit(127);
    }
    int up = 0;
    for (int i = 0; i < 100 && !up; i++) {
        redisContext *c = redisConnect("127.0.0.1", port);
        up = c && !c->err;
        redisFree(c);
        if (!up) {
            int status;
            if (waitpid(redis, &status, WNOHANG) == redis) {
                skip(); /* no redis-server here */
                return;
            }
            usleep(50000);
        }
    }
    assert_true(up);

    char url[64];
    snprintf(url, sizeof(url), "CHARTER_REDIS_URL=redis://127.0.0.1:%d/0", port);
    char *envp[] = {url, "CHARTER_LOG_LEVEL=error", "CHARTER_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1",
                    NULL};
    char *argv[] = {"test_redis_script", NULL};
    int code = ch_runtime_main(&test_service, 1, argv, envp);
    kill(redis, SIGTERM);
    waitpid(redis, NULL, 0);

    assert_int_equal(code, 0);
    assert_int_equal(res.early_rc, CH_EAGAIN);
    assert_int_equal(res.early_calls, 0);
    assert_true(res.set_ok);
    assert_true(res.get_ok);
    assert_true(res.first_ok);
    assert_true(res.second_ok);
    assert_true(res.third_ok);
    assert_int_equal(res.replies, 3);  /* one callback per call, NOSCRIPT never seen */
    assert_int_equal(res.evalshas, 3); /* every call went by digest first */
    /* the runtime loads its scripts on connecting (SCRIPT LOAD), so a fresh
     * server knows the script: NOSCRIPT, and the text, only after the flush */
    assert_int_equal(res.evalsha_failed, 1);
    assert_int_equal(res.evals, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_script_by_digest_and_after_flush),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
