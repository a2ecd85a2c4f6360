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

#include "charter/errors.h"
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
    f->rt.log.level = CH_LOG_ERROR + 1; /* quiet */
    f->rt.log.service = "test";
    f->rt.log.out = stderr;
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

/* Review M2: a record that fails for a while (CH_EAGAIN: a Redis error)
 * keeps its lane. It is retried from its own timer while the key's later
 * records wait, and a record of the same key consumed meanwhile queues
 * behind them: nothing overtakes it. */
static void
test_failed_head_is_retried_in_place(void **state)
{
    fixture *f = *state;
    ch_ptrack pt = {.partition = 0, .refs = 1};
    ch_msg *a = msg(f, 0, "case-1"), *b = msg(f, 1, "case-1"), *c = msg(f, 2, "case-1");
    a->pt = b->pt = c->pt = &pt;
    assert_int_equal(ch__lane_enter(&f->rt, a), 1);
    assert_int_equal(ch__lane_enter(&f->rt, b), 0);
    ch_msg_done(a, CH_EAGAIN, "redis: OOM command not allowed");
    assert_non_null(a->retry); /* retried with backoff ... */
    assert_int_equal(a->attempts, 1);
    assert_ptr_equal(a->lane, b->lane); /* ... still the head of its lane */
    assert_null(b->retry);              /* b waits */
    assert_int_equal(ch__lane_enter(&f->rt, c), 0);
    ch_msg_done(a, CH_EAGAIN, "redis: LOADING");
    assert_int_equal(a->attempts, 2);
    assert_null(b->retry);
    ch__lane_leave(&f->rt, a); /* a finally done: b, then c */
    assert_non_null(b->retry);
    assert_null(c->retry);
    ch__lane_leave(&f->rt, b);
    assert_non_null(c->retry);
    ch__lane_leave(&f->rt, c);
}

/* Review M3: on revocation the records of the revoked partition still
 * waiting in lanes are taken out, in order, for release; heads stay (the
 * service holds them), and another partition's waiters keep their places. */
static void
test_revoke_takes_the_partitions_waiters(void **state)
{
    fixture *f = *state;
    ch_ptrack p0 = {.partition = 0, .refs = 1}, p1 = {.partition = 1, .refs = 1};
    ch_msg *a = msg(f, 0, "case-1"), *b = msg(f, 1, "case-1"), *c = msg(f, 2, "case-1");
    ch_msg *x = msg(f, 3, "case-2"), *y = msg(f, 4, "case-2"), *z = msg(f, 5, "case-9");
    a->pt = b->pt = c->pt = &p0;
    x->pt = &p1; /* another topic's partition in the same lane */
    y->pt = &p0;
    z->pt = &p1;
    ch__lane_enter(&f->rt, a);
    ch__lane_enter(&f->rt, b);
    ch__lane_enter(&f->rt, c);
    ch__lane_enter(&f->rt, x);
    ch__lane_enter(&f->rt, y);
    ch__lane_enter(&f->rt, z);
    ch_msg *taken = ch__lanes_take_waiting(&f->rt, &p0);
    int n = 0, saw_b = 0, saw_c = 0, saw_y = 0;
    for (ch_msg *m = taken; m; m = m->lane_next, n++) {
        assert_null(m->lane);
        saw_b |= m == b;
        saw_c |= m == c;
        saw_y |= m == y;
        if (m == b)
            assert_ptr_equal(m->lane_next, c); /* in their lane's order */
    }
    assert_int_equal(n, 3);
    assert_true(saw_b && saw_c && saw_y);
    assert_non_null(a->lane); /* heads stay */
    assert_non_null(x->lane);
    assert_null(ch__lanes_take_waiting(&f->rt, &p0));
    ch__lane_leave(&f->rt, a); /* the lane is empty behind a: gone */
    assert_int_equal(ch__lane_enter(&f->rt, msg(f, 6, "case-1")), 1);
    ch__lane_leave(&f->rt, x); /* case-2: nothing waits any more */
    assert_int_equal(ch__lane_enter(&f->rt, msg(f, 7, "case-2")), 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_key_waits_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_keys_and_no_key_do_not_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_released_waiter_leaves_the_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closing_hands_nothing_over, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_head_is_retried_in_place, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke_takes_the_partitions_waiters, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
