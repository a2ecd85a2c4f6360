/*
 * The done-prefix tracker decides what offset Kafka commits: a wrong answer
 * either loses a message on a crash (committed past one not done) or stalls
 * a partition. These tests finish messages out of order, over gaps in the
 * offsets, across a revocation, past the ring's growth and at offsets near
 * the top of int64_t.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "charter/errors.h"
#include "offsets.h"

static uint64_t
push(ch_offsets *o, int64_t offset)
{
    uint64_t seq;
    assert_int_equal(ch__offsets_push(o, offset, &seq), 0);
    return seq;
}

static void
test_in_order(void **state)
{
    (void)state;
    ch_offsets o;
    ch__offsets_init(&o);
    uint64_t a = push(&o, 10), b = push(&o, 11);
    assert_int_equal(ch__offsets_in_flight(&o), 2);
    assert_int_equal(ch__offsets_ack(&o, a), 11);
    assert_int_equal(ch__offsets_ack(&o, b), 12);
    assert_int_equal(ch__offsets_in_flight(&o), 0);
    ch__offsets_free(&o);
}

static void
test_out_of_order_waits_for_the_first(void **state)
{
    (void)state;
    ch_offsets o;
    ch__offsets_init(&o);
    uint64_t s[4];
    for (int i = 0; i < 4; i++)
        s[i] = push(&o, 100 + i);
    assert_int_equal(ch__offsets_ack(&o, s[2]), -1); /* 100 and 101 still running */
    assert_int_equal(ch__offsets_ack(&o, s[1]), -1);
    assert_int_equal(ch__offsets_ack(&o, s[0]), 103); /* the prefix jumps over 101 and 102 */
    assert_int_equal(ch__offsets_in_flight(&o), 1);
    assert_int_equal(ch__offsets_ack(&o, s[3]), 104);
    ch__offsets_free(&o);
}

static void
test_gaps_in_offsets(void **state)
{
    (void)state;
    /* a compacted topic: offsets 5, 9, 40 */
    ch_offsets o;
    ch__offsets_init(&o);
    uint64_t a = push(&o, 5), b = push(&o, 9), c = push(&o, 40);
    assert_int_equal(ch__offsets_ack(&o, b), -1);
    assert_int_equal(ch__offsets_ack(&o, a), 10); /* after 9, not after 5 */
    assert_int_equal(ch__offsets_ack(&o, c), 41);
    ch__offsets_free(&o);
}

static void
test_twice_and_unknown_ignored(void **state)
{
    (void)state;
    ch_offsets o;
    ch__offsets_init(&o);
    uint64_t a = push(&o, 1), b = push(&o, 2);
    assert_int_equal(ch__offsets_ack(&o, b), -1);
    assert_int_equal(ch__offsets_ack(&o, b), -1); /* twice: still waits for a */
    assert_int_equal(ch__offsets_ack(&o, a), 3);
    assert_int_equal(ch__offsets_ack(&o, a), -1);     /* already passed */
    assert_int_equal(ch__offsets_ack(&o, b + 7), -1); /* never pushed */
    assert_int_equal(ch__offsets_in_flight(&o), 0);
    ch__offsets_free(&o);
}

static void
test_reset_forgets_old_messages(void **state)
{
    (void)state;
    /* revoked, then assigned again: the old messages' acks must not move
     * the new position */
    ch_offsets o;
    ch__offsets_init(&o);
    uint64_t old1 = push(&o, 50), old2 = push(&o, 51);
    assert_int_equal(ch__offsets_ack(&o, old2), -1);
    ch__offsets_reset(&o);
    assert_int_equal(ch__offsets_in_flight(&o), 0);
    uint64_t n1 = push(&o, 48); /* redelivered from the last commit */
    assert_true(n1 > old2);
    assert_int_equal(ch__offsets_ack(&o, old1), -1);
    assert_int_equal(ch__offsets_in_flight(&o), 1);
    assert_int_equal(ch__offsets_ack(&o, n1), 49);
    ch__offsets_free(&o);
}

/* Review L6: a record that could not be tracked (out of memory) at 12,
 * with 10 and 11 in flight and 9 done: the partition is read again from
 * 10, and no ack of what was in flight stores an offset past 12. */
static void
test_rewind_never_passes_the_untracked(void **state)
{
    (void)state;
    ch_offsets o;
    ch__offsets_init(&o);
    assert_int_equal(ch__offsets_ack(&o, push(&o, 9)), 10);
    uint64_t a = push(&o, 10), b = push(&o, 11);
    assert_int_equal(ch__offsets_ack(&o, b), -1);
    assert_int_equal(ch__offsets_rewind(&o, 12), 10);
    assert_int_equal(ch__offsets_in_flight(&o), 0);
    assert_int_equal(ch__offsets_ack(&o, a), -1); /* would have stored 12 */
    /* read again from 10: tracked afresh, committed in order */
    uint64_t r10 = push(&o, 10), r11 = push(&o, 11), r12 = push(&o, 12);
    assert_int_equal(ch__offsets_ack(&o, r11), -1);
    assert_int_equal(ch__offsets_ack(&o, r12), -1);
    assert_int_equal(ch__offsets_ack(&o, r10), 13);
    /* nothing in flight: read again from the untracked record itself */
    assert_int_equal(ch__offsets_rewind(&o, 13), 13);
    ch__offsets_free(&o);
}

static void
test_growth_keeps_order(void **state)
{
    (void)state;
    /* more than the first ring (64) in flight, with the head moved first so
     * the ring wraps before it grows */
    ch_offsets o;
    ch__offsets_init(&o);
    enum { N = 1000 };
    uint64_t *s = malloc(N * sizeof(*s));
    for (int i = 0; i < 40; i++)
        assert_int_equal(ch__offsets_ack(&o, push(&o, i)), i + 1);
    for (int i = 0; i < N; i++)
        s[i] = push(&o, 40 + i);
    assert_int_equal(ch__offsets_in_flight(&o), N);
    for (int i = N - 1; i > 0; i--) /* all but the first, newest first */
        assert_int_equal(ch__offsets_ack(&o, s[i]), -1);
    assert_int_equal(ch__offsets_ack(&o, s[0]), 40 + N);
    assert_int_equal(ch__offsets_in_flight(&o), 0);
    free(s);
    ch__offsets_free(&o);
}

static void
test_interleaved_wraparound(void **state)
{
    (void)state;
    /* a steady stream: the oldest finishes last in each pair, many laps of
     * the ring */
    ch_offsets o;
    ch__offsets_init(&o);
    int64_t committed = 0;
    for (int64_t off = 0; off < 10000; off += 2) {
        uint64_t a = push(&o, off), b = push(&o, off + 1);
        assert_int_equal(ch__offsets_ack(&o, b), -1);
        committed = ch__offsets_ack(&o, a);
        assert_int_equal(committed, off + 2);
    }
    assert_int_equal(committed, 10000);
    assert_true(o.cap <= 64); /* never more than two in flight: no growth */
    ch__offsets_free(&o);
}

static void
test_large_offsets(void **state)
{
    (void)state;
    ch_offsets o;
    ch__offsets_init(&o);
    int64_t big = INT64_MAX - 10;
    uint64_t a = push(&o, big), b = push(&o, big + 5);
    assert_int_equal(ch__offsets_ack(&o, b), -1);
    assert_true(ch__offsets_ack(&o, a) == big + 6);
    int64_t past_32_bits = (int64_t)1 << 40;
    uint64_t c = push(&o, past_32_bits);
    assert_true(ch__offsets_ack(&o, c) == past_32_bits + 1);
    ch__offsets_free(&o);
}

static void
test_free_then_reuse(void **state)
{
    (void)state;
    ch_offsets o;
    ch__offsets_init(&o);
    uint64_t a = push(&o, 7);
    ch__offsets_free(&o);
    assert_int_equal(ch__offsets_in_flight(&o), 0);
    assert_int_equal(ch__offsets_ack(&o, a), -1);
    uint64_t b = push(&o, 8);
    assert_int_equal(ch__offsets_ack(&o, b), 9);
    ch__offsets_free(&o);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_out_of_order_waits_for_the_first),
        cmocka_unit_test(test_gaps_in_offsets),
        cmocka_unit_test(test_twice_and_unknown_ignored),
        cmocka_unit_test(test_reset_forgets_old_messages),
        cmocka_unit_test(test_growth_keeps_order),
        cmocka_unit_test(test_rewind_never_passes_the_untracked),
        cmocka_unit_test(test_interleaved_wraparound),
        cmocka_unit_test(test_large_offsets),
        cmocka_unit_test(test_free_then_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
