/*
 * The timer store's arming rules (services/sla-timer/timer_store.h): what a
 * partition does after a claim and after a schedule. The claims themselves
 * run in Lua inside Redis and are covered by the timers_* integration tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "timer_store.h"

/* A full batch (or timers added while it ran) claims again at once, unless
 * fired timers are still out: then only when they are done, so a crash
 * re-fires at most one batch. Otherwise the partition sleeps until its next
 * due time, or until a schedule tells it one. */
static void
test_after_claim(void **state)
{
    (void)state;
    assert_int_equal(sla_timer_after_claim(1, 0, -1), SLA_TIMER_CLAIM);
    assert_int_equal(sla_timer_after_claim(1, 0, 5000), SLA_TIMER_CLAIM);
    assert_int_equal(sla_timer_after_claim(1, 200, 5000), SLA_TIMER_WAIT);
    assert_int_equal(sla_timer_after_claim(0, 200, 5000), SLA_TIMER_ARM);
    assert_int_equal(sla_timer_after_claim(0, 0, 0), SLA_TIMER_ARM);
    assert_int_equal(sla_timer_after_claim(0, 0, -1), SLA_TIMER_IDLE);
    assert_int_equal(sla_timer_after_claim(0, 3, -1), SLA_TIMER_IDLE);
}

/* A schedule answered while a claim is in flight: that claim may have read
 * the due set before these timers were in it, so the partition claims again
 * after it. Otherwise an earlier due time re-arms; a later or equal one
 * leaves the timer armed for the earlier time, which claims it anyway. */
static void
test_after_schedule(void **state)
{
    (void)state;
    assert_int_equal(sla_timer_after_schedule(1, 0, 0, 1000), SLA_TIMER_RESCAN);
    assert_int_equal(sla_timer_after_schedule(1, 1, 2000, 1000), SLA_TIMER_RESCAN);
    assert_int_equal(sla_timer_after_schedule(0, 0, 0, 1000), SLA_TIMER_ARM);
    assert_int_equal(sla_timer_after_schedule(0, 1, 2000, 1000), SLA_TIMER_ARM);
    assert_int_equal(sla_timer_after_schedule(0, 1, 2000, 2000), SLA_TIMER_IDLE);
    assert_int_equal(sla_timer_after_schedule(0, 1, 2000, 3000), SLA_TIMER_IDLE);
    assert_int_equal(sla_timer_after_schedule(0, 0, 0, -1), SLA_TIMER_IDLE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_after_claim),
        cmocka_unit_test(test_after_schedule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
