/* ch_array_grow: growth keeps the elements, doubles from 16, does nothing
 * when there is room, and refuses a size that overflows without touching
 * the array. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "charter/array.h"
#include "charter/errors.h"

typedef struct {
    int *items;
    size_t n, cap;
} ints;

static void
test_grows_and_keeps(void **state)
{
    (void)state;
    ints a = {0};
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(ch_array_grow(&a.items, &a.cap, a.n + 1, sizeof(*a.items)), 0);
        assert_true(a.cap >= a.n + 1);
        a.items[a.n++] = i;
    }
    assert_int_equal(a.cap, 1024);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(a.items[i], i);
    free(a.items);
}

static void
test_capacity_rule(void **state)
{
    (void)state;
    /* From empty: each call's need and the capacity after it. A need that
     * fits moves nothing; one that does not doubles until it fits. */
    static const struct {
        size_t need, cap;
    } steps[] = {{1, 16}, {16, 16}, {17, 32}, {100, 128}};
    ints a = {0};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        int *before = a.items;
        size_t cap_before = a.cap;
        assert_int_equal(ch_array_grow(&a.items, &a.cap, steps[i].need, sizeof(*a.items)), 0);
        assert_int_equal(a.cap, steps[i].cap);
        if (steps[i].need <= cap_before)
            assert_ptr_equal(a.items, before);
    }
    free(a.items);
}

static void
test_overflow_refused(void **state)
{
    (void)state;
    ints a = {0};
    assert_int_equal(ch_array_grow(&a.items, &a.cap, 4, sizeof(*a.items)), 0);
    a.items[0] = 7;
    int *before = a.items;
    assert_int_equal(ch_array_grow(&a.items, &a.cap, SIZE_MAX / 2, sizeof(*a.items)), CH_ENOMEM);
    assert_int_equal(ch_array_grow(&a.items, &a.cap, SIZE_MAX, 1), CH_ENOMEM);
    assert_ptr_equal(a.items, before);
    assert_int_equal(a.cap, 16);
    assert_int_equal(a.items[0], 7);
    free(a.items);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grows_and_keeps),
        cmocka_unit_test(test_capacity_rule),
        cmocka_unit_test(test_overflow_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
