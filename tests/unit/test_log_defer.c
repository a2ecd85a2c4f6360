/* The runtime's per-turn log buffer (common/runtime/src/log_defer.h): the
 * loop thread's debug and info lines wait for the end of the turn; warnings,
 * and lines from other threads, are written at once and in order. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "charter/log.h"
#include "log_defer.h"
#include "support/capture.h"

static int schedules;

static void
count_schedule(void *arg)
{
    (void)arg;
    schedules++;
}

typedef struct {
    FILE *out;
    ch_log lg;
    ch_log_defer *defer;
} fixture;

static int
setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    fx->out = tmpfile();
    fx->defer = calloc(1, sizeof(*fx->defer));
    fx->lg = (ch_log){.service = "test", .level = CH_LOG_DEBUG, .out = fx->out};
    ch__log_defer_attach(fx->defer, &fx->lg, count_schedule, NULL);
    schedules = 0;
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    fixture *fx = *state;
    fclose(fx->out);
    free(fx->defer);
    free(fx);
    return 0;
}

static void
test_deferred_until_flush(void **state)
{
    fixture *fx = *state;
    CH_LOG_INFO(&fx->lg, "first");
    CH_LOG_DEBUG(&fx->lg, "second");
    char *s = fx_stream_text(fx->out);
    assert_string_equal(s, "");
    free(s);
    assert_int_equal(schedules, 1); /* once per turn, not per line */
    ch_log_flush(&fx->lg);
    s = fx_stream_text(fx->out);
    assert_int_equal(fx_count_lines(s), 2);
    assert_true(strstr(s, "\"first\"") < strstr(s, "\"second\""));
    free(s);
    CH_LOG_INFO(&fx->lg, "next turn");
    assert_int_equal(schedules, 2);
    ch_log_flush(&fx->lg);
    ch_log_flush(&fx->lg); /* nothing waiting: writes nothing */
    s = fx_stream_text(fx->out);
    assert_int_equal(fx_count_lines(s), 3);
    free(s);
}

static void
test_warning_written_at_once_after_waiting_lines(void **state)
{
    fixture *fx = *state;
    CH_LOG_INFO(&fx->lg, "accepted");
    CH_LOG_WARN(&fx->lg, "redis disconnected");
    char *s = fx_stream_text(fx->out);
    assert_int_equal(fx_count_lines(s), 2);
    char *a = strstr(s, "\"accepted\""), *w = strstr(s, "\"redis disconnected\"");
    assert_non_null(a);
    assert_non_null(w);
    assert_true(a < w);
    free(s);
    ch_log_flush(&fx->lg);
    s = fx_stream_text(fx->out);
    assert_int_equal(fx_count_lines(s), 2); /* nothing written twice */
    free(s);
}

static void *
log_from_thread(void *arg)
{
    fixture *fx = arg;
    CH_LOG_INFO(&fx->lg, "from librdkafka's thread");
    return NULL;
}

static void
test_other_thread_written_at_once(void **state)
{
    fixture *fx = *state;
    CH_LOG_INFO(&fx->lg, "loop line");
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, log_from_thread, fx), 0);
    pthread_join(t, NULL);
    char *s = fx_stream_text(fx->out);
    assert_int_equal(fx_count_lines(s), 1);
    assert_non_null(strstr(s, "from librdkafka's thread"));
    free(s);
    ch_log_flush(&fx->lg);
    s = fx_stream_text(fx->out);
    assert_int_equal(fx_count_lines(s), 2);
    free(s);
}

static void
test_full_buffer_written_none_lost(void **state)
{
    fixture *fx = *state;
    char field[200];
    memset(field, 'x', sizeof(field) - 1);
    field[sizeof(field) - 1] = '\0';
    for (int i = 0; i < 2000; i++) /* about 600 kB: the 64 kB buffer fills many times */
        CH_LOG_INFO(&fx->lg, "line", CH_INT("n", i), CH_STR("pad", field));
    char *s = fx_stream_text(fx->out);
    size_t early = fx_count_lines(s);
    free(s);
    assert_true(early > 0 && early < 2000);
    ch_log_flush(&fx->lg);
    s = fx_stream_text(fx->out);
    assert_int_equal(fx_count_lines(s), 2000);
    char want[32];
    snprintf(want, sizeof(want), "\"n\":%d,", 1999);
    assert_non_null(strstr(s, want));
    /* Whole lines only: every line ends its JSON object. */
    for (char *p = strchr(s, '\n'); p; p = strchr(p + 1, '\n'))
        assert_int_equal(p[-1], '}');
    free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_deferred_until_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_warning_written_at_once_after_waiting_lines, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_other_thread_written_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_buffer_written_none_lost, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
