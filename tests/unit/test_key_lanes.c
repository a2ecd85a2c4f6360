/*
 * Per-key lanes (order_by_key): a case's records are handed to the service
 * one at a time in consumed order. These tests check who may go now, who
 * waits, who is handed over when the one before finishes, and that a waiter
 * released unhandled (shutdown) leaves the lane intact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "runtime_int.h"

typedef struct {
    ch_runtime rt;
    rd_kafka_message_t rkm[8];
    ch_msg m[8];
} fixture;

static ch_msg *
msg(fixture *f, int i, const char *key)
{
    f->rkm[i].key = key ? (void *)key : NULL;
    f->rkm[i].key_len = key ? strlen(key) : 0;
    f->m[i].rt = &f->rt;
    f->m[i].rkm = &f->rkm[i];
    return &f->m[i];
}

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->rt.base = event_base_new();
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 8; i++)
        ch_timer_free(f->m[i].retry);
    ch__lanes_free(&f->rt);
    event_base_free(f->rt.base);
    free(f);
    return 0;
}

static void
test_one_key_waits_in_order(void **state)
{
    fixture *f = *state;
    ch_msg *a = msg(f, 0, "case-1"), *b = msg(f, 1, "case-1"), *c = msg(f, 2, "case-1");
    assert_int_equal(ch__lane_enter(&f->rt, a), 1);
    assert_int_equal(ch__lane_enter(&f->rt, b), 0);
    assert_int_equal(ch__lane_enter(&f->rt, c), 0);

    ch__lane_leave(&f->rt, a); /* a done: b is handed over, c still waits */
    assert_null(a->lane);
    assert_non_null(b->retry);
    assert_null(c->retry);
    assert_ptr_equal(b->lane, c->lane);

    ch__lane_leave(&f->rt, b);
    assert_non_null(c->retry);
    ch__lane_leave(&f->rt, c); /* the lane is gone: the next record goes at once */
    assert_int_equal(ch__lane_enter(&f->rt, msg(f, 3, "case-1")), 1);
}

static void
test_other_keys_and_no_key_do_not_wait(void **state)
{
    fixture *f = *state;
    assert_int_equal(ch__lane_enter(&f->rt, msg(f, 0, "case-1")), 1);
    assert_int_equal(ch__lane_enter(&f->rt, msg(f, 1, "case-2")), 1);
    assert_int_equal(ch__lane_enter(&f->rt, msg(f, 2, NULL)), 1);
    assert_null(f->m[2].lane);
    ch__lane_leave(&f->rt, &f->m[2]); /* no lane: nothing happens */
    assert_int_equal(ch__lane_enter(&f->rt, msg(f, 3, "case-2")), 0);
}

static void
test_released_waiter_leaves_the_rest(void **state)
{
    fixture *f = *state;
    ch_msg *a = msg(f, 0, "k"), *b = msg(f, 1, "k"), *c = msg(f, 2, "k"), *d = msg(f, 3, "k");
    ch__lane_enter(&f->rt, a);
    ch__lane_enter(&f->rt, b);
    ch__lane_enter(&f->rt, c);
    ch__lane_enter(&f->rt, d);
    ch__lane_leave(&f->rt, c); /* released while waiting */
    ch__lane_leave(&f->rt, d); /* the last waiter too */
    ch__lane_leave(&f->rt, a);
    assert_non_null(b->retry); /* b is next, and alone */
    ch__lane_leave(&f->rt, b);
    assert_null(c->retry);
    assert_null(d->retry);
    assert_int_equal(ch__lane_enter(&f->rt, msg(f, 4, "k")), 1);
}

static void
test_closing_hands_nothing_over(void **state)
{
    fixture *f = *state;
    ch_msg *a = msg(f, 0, "k"), *b = msg(f, 1, "k");
    ch__lane_enter(&f->rt, a);
    ch__lane_enter(&f->rt, b);
    f->rt.finalizing = 1;
    ch__lane_leave(&f->rt, a);
    assert_null(b->retry); /* released with the rest by ch__kafka_destroy */
    ch__lane_leave(&f->rt, b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_key_waits_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_keys_and_no_key_do_not_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_released_waiter_leaves_the_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closing_hands_nothing_over, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
