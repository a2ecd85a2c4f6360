/* ch_strbuf: appends, growth across many pages, printf growth, the cap, and
 * taking the text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "charter/strbuf.h"

static void
test_appends(void **state)
{
    (void)state;
    ch_strbuf b = CH_STRBUF_INIT;
    assert_string_equal(ch_strbuf_str(&b), "");
    ch_strbuf_puts(&b, "<p>");
    ch_strbuf_printf(&b, "%d cases, %s", 12, "3 late");
    ch_strbuf_putc(&b, '!');
    ch_strbuf_put(&b, "</p>xyz", 4);
    assert_string_equal(ch_strbuf_str(&b), "<p>12 cases, 3 late!</p>");
    assert_int_equal(b.n, strlen("<p>12 cases, 3 late!</p>"));
    assert_false(ch_strbuf_failed(&b));
    size_t len;
    char *t = ch_strbuf_take(&b, &len);
    assert_string_equal(t, "<p>12 cases, 3 late!</p>");
    assert_int_equal(len, strlen(t));
    assert_null(b.p);
    assert_int_equal(b.n, 0);
    free(t);
    ch_strbuf_free(&b);
}

static void
test_growth(void **state)
{
    (void)state;
    ch_strbuf b = CH_STRBUF_INIT;
    for (int i = 0; i < 10000; i++)
        ch_strbuf_printf(&b, "%05d,", i);
    assert_int_equal(b.n, 60000);
    assert_memory_equal(b.p + 59994, "09999,", 6);
    assert_int_equal(b.p[b.n], '\0');
    /* one printf longer than all the room there is */
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ch_strbuf_printf(&b, "[%s]", big);
    assert_int_equal(b.n, 60000 + 5001);
    assert_int_equal(b.p[b.n - 1], ']');
    ch_strbuf_free(&b);
}

static void
test_cap(void **state)
{
    (void)state;
    ch_strbuf b;
    ch_strbuf_init_capped(&b, 10);
    ch_strbuf_puts(&b, "policy.yaml");
    assert_string_equal(ch_strbuf_str(&b), "policy.yam");
    ch_strbuf_printf(&b, ":%d", 12);
    assert_string_equal(ch_strbuf_str(&b), "policy.yam");
    assert_false(ch_strbuf_failed(&b));
    ch_strbuf_free(&b);
    ch_strbuf_printf(&b, "%s", "0123456789abc");
    assert_string_equal(ch_strbuf_str(&b), "0123456789");
    ch_strbuf_free(&b);
}

static void
test_take_empty(void **state)
{
    (void)state;
    ch_strbuf b = CH_STRBUF_INIT;
    size_t len = 99;
    char *t = ch_strbuf_take(&b, &len);
    assert_non_null(t);
    assert_string_equal(t, "");
    assert_int_equal(len, 0);
    free(t);
}

static void
test_failed_poisons(void **state)
{
    (void)state;
    ch_strbuf b = CH_STRBUF_INIT;
    ch_strbuf_puts(&b, "abc");
    b.failed = 1; /* as after a failed realloc */
    ch_strbuf_puts(&b, "def");
    ch_strbuf_printf(&b, "%d", 1);
    assert_string_equal(ch_strbuf_str(&b), "abc");
    assert_null(ch_strbuf_take(&b, NULL));
    assert_null(b.p);
    assert_false(ch_strbuf_failed(&b));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appends),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_take_empty),
        cmocka_unit_test(test_failed_poisons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
