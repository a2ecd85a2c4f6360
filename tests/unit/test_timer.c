/*
 * ch_timer on the real runtime: timers run in the order of their delays, a
 * timer run "soon" runs at the end of the turn and only once however often
 * it is asked, a started timer that is started again moves, a stopped one
 * never runs. Also the descriptor's context: with svc_size the runtime hands
 * init a zeroed context with the metrics table registered into it, and frees
 * it after fini.
 *
 * The checks run inside a small service; results are recorded and asserted
 * after ch_runtime_main() returns.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "charter/errors.h"
#include "charter/runtime.h"

typedef struct {
    ch_runtime *rt;
    ch_metric *m_runs;
    ch_timer *first, *moved, *soon, *stopped, *last;
} svc;

static struct {
    char order[16];
    int n;
    int init_zeroed, metric_registered, fini_calls;
    void *ctx_at_init, *ctx_at_fini;
} res;

static void
ran(void *arg)
{
    const char *name = arg;
    if (res.n < (int)sizeof(res.order) - 1)
        res.order[res.n++] = name[0];
}

static void
last(void *arg)
{
    ran(arg);
    raise(SIGTERM);
}

static const ch_metric_def metrics[] = {
    CH_COUNTER(svc, m_runs, "charter_test_timer_runs_total", "timers run"),
};

static int
svc_init(ch_runtime *rt, const void *config, void **ctx, char *errstr, size_t errstr_size)
{
    (void)config;
    svc *s = *ctx;
    res.ctx_at_init = s;
    res.metric_registered = s->m_runs != NULL;
    res.init_zeroed = !s->rt && !s->first && !s->last;
    s->rt = rt;
    s->first = ch_timer_new(rt, ran, "f");
    s->moved = ch_timer_new(rt, ran, "m");
    s->soon = ch_timer_new(rt, ran, "s");
    s->stopped = ch_timer_new(rt, ran, "x");
    s->last = ch_timer_new(rt, last, "l");
    if (!s->first || !s->moved || !s->soon || !s->stopped || !s->last) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    if (ch_timer_start(s->first, 20000) || ch_timer_start(s->moved, 200000) ||
        ch_timer_start(s->stopped, 10000) || ch_timer_start(s->last, 60000) ||
        ch_timer_start(s->moved, 5000)) {
        snprintf(errstr, errstr_size, "cannot start a timer");
        return CH_EIO;
    }
    ch_timer_stop(s->stopped);
    ch_timer_soon(s->soon);
    ch_timer_soon(s->soon);
    return 0;
}

static void
svc_fini(void *ctx)
{
    svc *s = ctx;
    res.fini_calls++;
    res.ctx_at_fini = s;
    ch_timer_free(s->first);
    ch_timer_free(s->moved);
    ch_timer_free(s->soon);
    ch_timer_free(s->stopped);
    ch_timer_free(s->last);
}

static const ch_service test_service = {
    .name = "test-timer",
    .env_prefix = "CHARTER_TEST_",
    .default_http_listen = "127.0.0.1:0",
    .svc_size = sizeof(svc),
    .metrics = metrics,
    .nmetrics = CH_COUNTOF(metrics),
    .init = svc_init,
    .fini = svc_fini,
};

static void
test_timers_and_context(void **state)
{
    (void)state;
    char *envp[] = {"CHARTER_REDIS_URL=redis://127.0.0.1:1/0", "CHARTER_LOG_LEVEL=error",
                    "CHARTER_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1", NULL};
    char *argv[] = {"test_timer", NULL};
    int code = ch_runtime_main(&test_service, 1, argv, envp);
    assert_int_equal(code, 0);
    assert_string_equal(res.order, "smfl"); /* soon once, then by delay; stopped never */
    assert_true(res.init_zeroed);
    assert_true(res.metric_registered);
    assert_int_equal(res.fini_calls, 1);
    assert_ptr_equal(res.ctx_at_fini, res.ctx_at_init);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timers_and_context),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
