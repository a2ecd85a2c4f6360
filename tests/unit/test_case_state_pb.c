/*
 * sla-timer's case state in its stored form (case_clock.h:
 * ch_case_state_pack / ch_case_state_unpack, case_state_pb.c): every field
 * round-trips packed, the JSON stored before still reads, and bytes that
 * are neither give CH_EINVAL with the state zeroed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "charter/case_clock.h"
#include "charter/errors.h"

/* A state with every field set (and the pause list full). */
static void
full_state(ch_case_state *st)
{
    memset(st, 0, sizeof(*st));
    snprintf(st->organisation, sizeof(st->organisation), "derby-homes");
    snprintf(st->channel, sizeof(st->channel), "email");
    snprintf(st->case_type, sizeof(st->case_type), "complaint_stage_1");
    snprintf(st->reference, sizeof(st->reference), "DH-2026-000056");
    st->received_ms = 1795424400000LL;
    st->acknowledged_ms = 1795424460000LL;
    st->paused_since_ms = 1795600000000LL;
    for (size_t i = 0; i < CH_CASE_MAX_PAUSES; i++) {
        st->pauses[i].from_ms = 1795430000000LL + (int64_t)i * 1000;
        st->pauses[i].to_ms = 1795430000500LL + (int64_t)i * 1000;
    }
    st->npauses = CH_CASE_MAX_PAUSES;
    st->extended_to_ms = 1796000000000LL;
    st->arrived_ms = 1795424500000LL;
    st->appointment_ms = 1795424600000LL;
    st->responded = st->closed = st->seen = st->escalated = 1;
    st->extensions_refused = 3;
    st->extended_at_ms = 1795424700000LL;
    st->extension_refused_at_ms = 1795424800000LL;
    st->extension_refused_target_ms = 1799000000000LL;
    snprintf(st->extension_refused_reason, sizeof(st->extension_refused_reason),
             "asks for \"400 days\"; the policy allows 10 working days");
    st->reviews = 4;
    st->reviews_late = 1;
    st->reviewed_ms = 1795424900000LL;
    st->review_last_due_ms = 1795425000000LL;
    st->review_lifted = 1;
    st->callback_promised_ms = 1795425100000LL;
    st->callback_at_ms = 1795425200000LL;
    st->callback_made_ms = 1795425300000LL;
}

static void
test_packed_round_trip(void **state)
{
    (void)state;
    ch_case_state st, back;
    full_state(&st);
    size_t len = 0;
    char *p = ch_case_state_pack(&st, &len);
    assert_non_null(p);
    assert_true(len > 0);
    assert_int_not_equal(p[0], '{');
    assert_int_equal(p[len], '\0');
    memset(&back, 0x5a, sizeof(back));
    assert_int_equal(ch_case_state_unpack(p, len, &back), 0);
    assert_memory_equal(&back, &st, sizeof(st));
    free(p);

    /* smaller than the JSON form */
    char *json = ch_case_state_to_json(&st);
    assert_non_null(json);
    assert_true(len < strlen(json));
    free(json);

    /* a state with every field zero packs to nothing and reads back */
    memset(&st, 0, sizeof(st));
    p = ch_case_state_pack(&st, &len);
    assert_non_null(p);
    assert_int_equal(len, 0);
    memset(&back, 0x5a, sizeof(back));
    assert_int_equal(ch_case_state_unpack(p, len, &back), 0);
    assert_memory_equal(&back, &st, sizeof(st));
    free(p);

    /* a state without an organisation still never starts with '{' */
    full_state(&st);
    memset(st.organisation, 0, sizeof(st.organisation));
    memset(st.channel, 0, sizeof(st.channel));
    memset(st.case_type, 0, sizeof(st.case_type));
    memset(st.reference, 0, sizeof(st.reference));
    st.received_ms = st.acknowledged_ms = st.paused_since_ms = 0;
    st.npauses = 0;
    memset(st.pauses, 0, sizeof(st.pauses));
    st.extended_to_ms = st.arrived_ms = st.appointment_ms = 0;
    st.responded = st.closed = st.seen = 0;
    p = ch_case_state_pack(&st, &len);
    assert_non_null(p);
    assert_true(len > 0);
    assert_int_not_equal(p[0], '{');
    assert_int_equal(ch_case_state_unpack(p, len, &back), 0);
    assert_memory_equal(&back, &st, sizeof(st));
    free(p);
}

/* A state stored as JSON before the packed form reads as it did. */
static void
test_json_still_read(void **state)
{
    (void)state;
    ch_case_state st, back;
    full_state(&st);
    char *json = ch_case_state_to_json(&st);
    assert_non_null(json);
    memset(&back, 0x5a, sizeof(back));
    assert_int_equal(ch_case_state_unpack(json, strlen(json), &back), 0);
    assert_memory_equal(&back, &st, sizeof(st));
    free(json);

    static const char old[] =
        "{\"organisation\":\"derby-homes\",\"channel\":\"letter\",\"case_type\":\"enquiry\","
        "\"reference\":\"DH-2026-000001\",\"received_ms\":1795424400000,\"acknowledged_ms\":0,"
        "\"paused_since_ms\":0,\"pauses\":[],\"extended_to_ms\":1796000000000,"
        "\"arrived_ms\":0,\"appointment_ms\":0,\"responded\":false,\"closed\":false,"
        "\"seen\":false,\"escalated\":false}";
    assert_int_equal(ch_case_state_unpack(old, strlen(old), &back), 0);
    assert_string_equal(back.reference, "DH-2026-000001");
    assert_int_equal(back.extended_to_ms, 1796000000000LL);
    assert_int_equal(back.extensions_refused, 0);

    /* and written back packed reads the same */
    size_t len = 0;
    char *p = ch_case_state_pack(&back, &len);
    assert_non_null(p);
    ch_case_state again;
    assert_int_equal(ch_case_state_unpack(p, len, &again), 0);
    assert_memory_equal(&again, &back, sizeof(back));
    free(p);
}

static void
test_bad_bytes(void **state)
{
    (void)state;
    ch_case_state back, zero;
    memset(&zero, 0, sizeof(zero));
    static const char junk[] = "\x0a\x40short"; /* a string longer than the bytes */
    memset(&back, 0x5a, sizeof(back));
    assert_int_equal(ch_case_state_unpack(junk, sizeof(junk) - 1, &back), CH_EINVAL);
    assert_memory_equal(&back, &zero, sizeof(zero));
    static const char badjson[] = "{\"organisation\":1}";
    memset(&back, 0x5a, sizeof(back));
    assert_int_equal(ch_case_state_unpack(badjson, sizeof(badjson) - 1, &back), CH_EINVAL);
    assert_memory_equal(&back, &zero, sizeof(zero));
    /* a packed state cut short */
    ch_case_state st;
    full_state(&st);
    size_t len = 0;
    char *p = ch_case_state_pack(&st, &len);
    assert_non_null(p);
    assert_int_equal(ch_case_state_unpack(p, len - 3, &back), CH_EINVAL);
    free(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packed_round_trip),
        cmocka_unit_test(test_json_still_read),
        cmocka_unit_test(test_bad_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
