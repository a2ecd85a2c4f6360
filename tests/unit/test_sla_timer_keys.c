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
        /* issue 16: an extended warning's tail is taken off whole (it once
         * gave "case-1/warning/2" as the case) */
        {"case-1/warning/2/extended/1700000000", 6},
        {"a/extended/5", 1},
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

/* Every kind ch_case_timers makes packs, and gives back the same text;
 * the member is 0x00, the UUID's 16 bytes, the kind, the numbers. */
static void
test_pack_round_trip(void **state)
{
    (void)state;
    static const char *const ids[] = {
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/acknowledgement_due",
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/breach",
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/wait_exceeded",
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/reminder",
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/callback_due",
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/warning/1",
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/warning/8/extended/1767225600",
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/review_due/1",
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/review_overdue/300",
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/review_warning_2/12",
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/extension_refused/0",
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/extension_refused/18446744073709551615",
        "00000000-0000-0000-0000-000000000000/breach",
        "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF/breach",
        "0F8E2B1C-9D3A-4E5F-8A7B-6C5D4E3F2A1B/warning/2",
    };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        uint8_t m[SLA_TIMER_MEMBER_MAX];
        size_t len = sla_timer_id_pack(ids[i], m, sizeof(m));
        assert_true(len >= 18 && len < 40);
        assert_true(sla_timer_member_compact(m, len));
        char back[SLA_TIMER_ID_MAX];
        assert_int_equal(sla_timer_id_unpack(m, len, back, sizeof(back)), 1);
        assert_string_equal(back, ids[i]);
    }
    uint8_t m[SLA_TIMER_MEMBER_MAX];
    size_t len = sla_timer_id_pack("0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/breach", m, sizeof(m));
    static const uint8_t want[] = {0,    0x0f, 0x8e, 0x2b, 0x1c, 0x9d, 0x3a, 0x4e, 0x5f,
                                   0x8a, 0x7b, 0x6c, 0x5d, 0x4e, 0x3f, 0x2a, 0x1b, SLA_KIND_BREACH};
    assert_int_equal(len, sizeof(want));
    assert_memory_equal(m, want, sizeof(want));
    len = sla_timer_id_pack("0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/review_warning_2/300", m,
                            sizeof(m));
    assert_int_equal(len, 21); /* 300 takes two varint bytes */
    assert_int_equal(m[17], SLA_KIND_REVIEW_WARNING);
    len = sla_timer_id_pack("0F8E2B1C-9D3A-4E5F-8A7B-6C5D4E3F2A1B/breach", m, sizeof(m));
    assert_int_equal(m[17], SLA_KIND_BREACH | 0x80);
    assert_int_equal(sla_timer_id_pack("0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/breach", m, 17), 0);
}

/* What cannot be rebuilt byte for byte keeps its text form. */
static void
test_pack_keeps_text(void **state)
{
    (void)state;
    static const char *const ids[] = {
        "case-1/breach",                                   /* not a UUID */
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1/breach",      /* 35 characters */
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1bb/breach",    /* 37 */
        "0f8e2b1c+9d3a-4e5f-8a7b-6c5d4e3f2a1b/breach",     /* no hyphen */
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1g/breach",     /* not hex */
        "0f8e2b1c-9D3A-4e5f-8a7b-6c5d4e3f2a1b/breach",     /* mixed case */
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/snooze",     /* unknown kind */
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/breach/2",   /* breach has no number */
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/warning",    /* warning needs one */
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/warning/",   /* empty number */
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/warning/01", /* leading zero */
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/warning/+1", /* sign */
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/warning/1x", /* trailing text */
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/review_due/99999999999999999999", /* > 2^64 */
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/Breach",   /* case of the kind */
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b",          /* no kind */
        "0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/",         /* empty kind */
        "{0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b}/breach", /* braces */
        "",
    };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        uint8_t m[SLA_TIMER_MEMBER_MAX] = {0x55};
        assert_int_equal(sla_timer_id_pack(ids[i], m, sizeof(m)), 0);
        assert_int_equal(m[0], 0x55); /* untouched */
        /* and the text form reads back as itself */
        char back[SLA_TIMER_ID_MAX];
        assert_int_equal(
            sla_timer_id_unpack((const uint8_t *)ids[i], strlen(ids[i]), back, sizeof(back)), 0);
        assert_string_equal(back, ids[i]);
        assert_false(sla_timer_member_compact(ids[i], strlen(ids[i])));
    }
}

/* A member that is neither form is refused, never misread. */
static void
test_unpack_refuses(void **state)
{
    (void)state;
    char out[SLA_TIMER_ID_MAX];
    uint8_t m[SLA_TIMER_MEMBER_MAX];
    size_t len =
        sla_timer_id_pack("0f8e2b1c-9d3a-4e5f-8a7b-6c5d4e3f2a1b/review_due/300", m, sizeof(m));
    assert_int_equal(len, 20);
    assert_int_equal(sla_timer_id_unpack(m, len - 1, out, sizeof(out)), -1); /* varint cut */
    uint8_t extra[SLA_TIMER_MEMBER_MAX];
    memcpy(extra, m, len);
    extra[len] = 1;
    assert_int_equal(sla_timer_id_unpack(extra, len + 1, out, sizeof(out)), -1); /* trailing */
    assert_int_equal(sla_timer_id_unpack(m, 17, out, sizeof(out)), -1);          /* no kind byte */
    m[17] = 0x7f;
    assert_int_equal(sla_timer_id_unpack(m, 18, out, sizeof(out)), -1); /* unknown kind */
    m[17] = 0;
    assert_int_equal(sla_timer_id_unpack(m, 18, out, sizeof(out)), -1); /* kind 0 */
    m[17] = SLA_KIND_BREACH;
    assert_int_equal(sla_timer_id_unpack(m, 18, out, 30), -1); /* does not fit */
    assert_int_equal(sla_timer_id_unpack(m, 18, out, sizeof(out)), 1);
    assert_int_equal(strlen(out), 43);
    static const uint8_t nul_text[] = {'a', 0, 'b'};
    assert_int_equal(sla_timer_id_unpack(nul_text, sizeof(nul_text), out, sizeof(out)), -1);
    assert_int_equal(sla_timer_id_unpack((const uint8_t *)"abc", 3, out, 3), -1);
    assert_int_equal(sla_timer_id_unpack((const uint8_t *)"", 0, out, sizeof(out)), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partition_keys),  cmocka_unit_test(test_keys_from_due),
        cmocka_unit_test(test_case_state_key),  cmocka_unit_test(test_case_id_of_timer_id),
        cmocka_unit_test(test_pack_round_trip), cmocka_unit_test(test_pack_keeps_text),
        cmocka_unit_test(test_unpack_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
