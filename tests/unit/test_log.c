/* The JSON-lines logger: one JSON object per line, written at once unless a
 * sink holds it (the runtime's per-turn buffer is tested in test_log_defer.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "charter/log.h"
#include "support/capture.h"

/* A sink that keeps info lines and lets warnings through, like the runtime's. */
typedef struct {
    char held[4096];
    size_t n;
    int flushes;
} test_sink;

static int
sink_hold(void *arg, ch_log_level lvl, const char *line, size_t len)
{
    test_sink *s = arg;
    if (lvl >= CH_LOG_WARN || s->n + len > sizeof(s->held))
        return 0;
    memcpy(s->held + s->n, line, len);
    s->n += len;
    return 1;
}

static void
sink_flush(void *arg)
{
    test_sink *s = arg;
    s->flushes++;
}

typedef struct {
    FILE *out;
    ch_log lg;
} fixture;

static int
setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    fx->out = tmpfile();
    fx->lg = (ch_log){.service = "test", .level = CH_LOG_DEBUG, .out = fx->out};
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    fixture *fx = *state;
    fclose(fx->out);
    free(fx);
    return 0;
}

static void
test_immediate_line(void **state)
{
    fixture *fx = *state;
    CH_LOG_INFO(&fx->lg, "case event accepted", CH_STR("case_id", "c-1"), CH_INT("offset", 42));
    char *s = fx_stream_text(fx->out);
    assert_non_null(strstr(s, "\"level\":\"info\",\"service\":\"test\",\"msg\":\"case event "
                              "accepted\",\"case_id\":\"c-1\",\"offset\":42}\n"));
    assert_int_equal(fx_count_lines(s), 1);
    free(s);
}

static void
test_level_filters_before_arguments(void **state)
{
    fixture *fx = *state;
    fx->lg.level = CH_LOG_WARN;
    int evaluated = 0;
    CH_LOG_INFO(&fx->lg, "hidden", CH_INT("n", ++evaluated));
    assert_int_equal(evaluated, 0);
    char *s = fx_stream_text(fx->out);
    assert_string_equal(s, "");
    free(s);
}

static void
test_escaping(void **state)
{
    fixture *fx = *state;
    CH_LOG_INFO(&fx->lg, "quote \" back\\slash\nnew\x01", CH_STR("k", "tab\t"));
    char *s = fx_stream_text(fx->out);
    assert_non_null(strstr(s, "\"msg\":\"quote \\\" back\\\\slash\\nnew\\u0001\""));
    assert_non_null(strstr(s, "\"k\":\"tab\\t\""));
    free(s);
}

static void
test_sink_holds_whole_lines(void **state)
{
    fixture *fx = *state;
    test_sink ts = {0};
    ch_log_sink sink = {sink_hold, sink_flush, &ts};
    fx->lg.defer = &sink;
    CH_LOG_INFO(&fx->lg, "held", CH_INT("n", 1));
    CH_LOG_WARN(&fx->lg, "written");
    char *s = fx_stream_text(fx->out);
    assert_int_equal(fx_count_lines(s), 1);
    assert_non_null(strstr(s, "\"written\""));
    free(s);
    assert_true(ts.n > 0 && ts.held[ts.n - 1] == '\n' && ts.held[ts.n - 2] == '}');
    assert_non_null(strstr(ts.held, "\"msg\":\"held\",\"n\":1}"));
    ch_log_flush(&fx->lg);
    assert_int_equal(ts.flushes, 1);
    fx->lg.defer = NULL;
    ch_log_flush(&fx->lg); /* no sink: nothing to do */
    assert_int_equal(ts.flushes, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_immediate_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_filters_before_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sink_holds_whole_lines, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
