#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "charter/hex.h"

static void
test_digits(void **state)
{
    (void)state;
    assert_int_equal(ch_hex_digit('0'), 0);
    assert_int_equal(ch_hex_digit('9'), 9);
    assert_int_equal(ch_hex_digit('a'), 10);
    assert_int_equal(ch_hex_digit('f'), 15);
    assert_int_equal(ch_hex_digit('A'), 10);
    assert_int_equal(ch_hex_digit('F'), 15);
    assert_int_equal(ch_hex_digit('g'), -1);
    assert_int_equal(ch_hex_digit('G'), -1);
    assert_int_equal(ch_hex_digit('/'), -1);
    assert_int_equal(ch_hex_digit(':'), -1);
    assert_int_equal(ch_hex_digit('\0'), -1);
    assert_int_equal(ch_hex_digit((char)0xc3), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_digits)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
