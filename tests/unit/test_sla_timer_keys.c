/*
 * sla-timer's names in Redis and its timer ids (services/sla-timer/
 * timer_keys.h), which `charterctl timers` reads the store by: the keys of a
 * partition, the SCAN pattern that finds them, a due-set key read back, the
 * case state key, and the case id inside a timer id.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "timer_keys.h"

static void
test_partition_keys(void **state)
{
    (void)state;
    sla_timer_keys k;
    sla_timer_keys_of(SLA_KEY_PREFIX, 3, &k);
    assert_string_equal(k.due, "charter:{t3}:due");
    assert_string_equal(k.inflight, "charter:{t3}:inflight");
    assert_string_equal(k.timers, "charter:{t3}:timers");
    sla_timer_keys_of(SLA_KEY_PREFIX, 1023, &k);
    assert_string_equal(k.inflight, "charter:{t1023}:inflight");
    char pattern[SLA_TIMER_KEY_MAX];
    assert_string_equal(sla_timer_keys_due_pattern(SLA_KEY_PREFIX, pattern, sizeof(pattern)),
                        "charter:{t*}:due");
}

/* What SCAN finds reads back as the same partition's keys; anything else
 * the pattern could match is refused. */
static void
test_keys_from_due(void **state)
{
    (void)state;
    sla_timer_keys k, want;
    for (int32_t p = 0; p < 1024; p += 97) {
        sla_timer_keys_of("charter", p, &want);
        assert_int_equal(sla_timer_keys_from_due(want.due, &k), p);
        assert_string_equal(k.due, want.due);
        assert_string_equal(k.inflight, want.inflight);
        assert_string_equal(k.timers, want.timers);
    }
    assert_int_equal(sla_timer_keys_from_due("bench:x:{t12}:due", &k), 12);
    assert_string_equal(k.timers, "bench:x:{t12}:timers");
    static const char *const bad[] = {
        "charter:{t}:due",
        "charter:{tx}:due",
        "charter:{t3}:timers",
        "charter:{t3}:due:x",
        "charter:{t-1}:due",
        "due",
        "",
        "charter:{t1234567890}:due",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(sla_timer_keys_from_due(bad[i], &k), -1);
}

static void
test_case_state_key(void **state)
{
    (void)state;
    char key[SLA_CASE_KEY_MAX];
    assert_int_equal(sla_case_state_key("case-1", key, sizeof(key)), 0);
    assert_string_equal(key, "charter:case:{case-1}:sla");
    char small[8];
    assert_int_equal(sla_case_state_key("case-1", small, sizeof(small)), -1);
}

/* The case id is what is left once the kind (letters and '_') and its
 * optional number are taken from the end: fire.c rebuilds case_id from it. */
static void
test_case_id_of_timer_id(void **state)
{
    (void)state;
    static const struct {
        const char *id;
        size_t len;
    } cases[] = {
        {"case-1/breach", 6},
        {"case-1/warning/2", 6},
        {"case-1/review_due/5", 6},
        {"a/b/acknowledgement_due", 3},
        {"a/b/warning/1", 3},
        {"no-slash", 8},
        {"x/12", 1},
        {"", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(sla_timer_id_case_len(cases[i].id), cases[i].len);
    assert_true(sla_timer_id_of_case("case-1/breach", "case-1"));
    assert_true(sla_timer_id_of_case("case-1/warning/2", "case-1"));
    /* issue 17: a review warning's kind carries its tier, the number its cycle */
    assert_true(sla_timer_id_of_case("case-1/review_warning_1/12", "case-1"));
    assert_true(sla_timer_id_of_case("case-1/extension_refused/3", "case-1"));
    assert_false(sla_timer_id_of_case("case-10/breach", "case-1"));
    assert_false(sla_timer_id_of_case("case-1/breach", "case"));
    assert_false(sla_timer_id_of_case("case-1/breach", "case-1/breach"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partition_keys),
        cmocka_unit_test(test_keys_from_due),
        cmocka_unit_test(test_case_state_key),
        cmocka_unit_test(test_case_id_of_timer_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
