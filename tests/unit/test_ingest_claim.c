/*
 * ingest's pipeline decision on a repeat (services/ingest/claim.h): what the
 * idempotency claim's answer means. Each answer the claim script can give,
 * and the records it must not trust: a wrong call here either writes an
 * event twice (a duplicate taken for new) or drops one (a new event taken
 * for a duplicate); a claim whose writer died must be written again with
 * the same identifiers, never new ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "claim.h"

static ingest_claim_action
decide(long long state, const char *record, ingest_claim_ids *ids)
{
    memset(ids, 0x5a, sizeof(*ids));
    return ingest_claim_decide(state, record, strlen(record), ids);
}

static void
test_new_claim_takes_the_records_ids(void **state)
{
    (void)state;
    ingest_claim_ids ids;
    assert_int_equal(decide(0, "P|e-1|c-1|NCH-2026-000123", &ids), INGEST_CLAIM_NEW);
    assert_string_equal(ids.event_id, "e-1");
    assert_string_equal(ids.case_id, "c-1");
    assert_string_equal(ids.reference, "NCH-2026-000123");
    /* a case event: no reference */
    assert_int_equal(decide(0, "P|e-2|c-2|", &ids), INGEST_CLAIM_NEW);
    assert_string_equal(ids.case_id, "c-2");
    assert_string_equal(ids.reference, "");
}

static void
test_failed_attempt_is_retried_with_its_ids(void **state)
{
    (void)state;
    ingest_claim_ids ids;
    /* the script turned F into P and gives back the first attempt's ids */
    assert_int_equal(decide(1, "P|e-old|c-old|DH-2026-000007", &ids), INGEST_CLAIM_RETRY);
    assert_string_equal(ids.event_id, "e-old");
    assert_string_equal(ids.case_id, "c-old");
    assert_string_equal(ids.reference, "DH-2026-000007");
}

static void
test_written_is_a_duplicate(void **state)
{
    (void)state;
    ingest_claim_ids ids;
    assert_int_equal(decide(2, "D|e-1|c-1|NCH-2026-000123", &ids), INGEST_CLAIM_DONE);
    assert_string_equal(ids.case_id, "c-1"); /* the original answer */
    assert_string_equal(ids.reference, "NCH-2026-000123");
}

static void
test_pending_is_being_written(void **state)
{
    (void)state;
    ingest_claim_ids ids;
    assert_int_equal(decide(2, "P|e-1|c-1|", &ids), INGEST_CLAIM_WRITING);
    /* anything but D under state 2 is an attempt not known to be written */
    assert_int_equal(decide(2, "F|e-1|c-1|", &ids), INGEST_CLAIM_WRITING);
}

static void
test_pending_record_carries_its_claim_time(void **state)
{
    (void)state;
    ingest_claim_ids ids;
    /* a pending claim younger than its lease: 409 */
    assert_int_equal(decide(2, "P|e-1|c-1|NCH-2026-000123|1764932400000", &ids),
                     INGEST_CLAIM_WRITING);
    assert_string_equal(ids.reference, "NCH-2026-000123");
    /* a new claim's record carries the time too */
    assert_int_equal(decide(0, "P|e-1|c-1||1764932400000", &ids), INGEST_CLAIM_NEW);
    assert_string_equal(ids.reference, "");
    /* the time is digits or the record is not ours */
    assert_int_equal(decide(2, "P|e-1|c-1|R|", &ids), INGEST_CLAIM_BAD);
    assert_int_equal(decide(2, "P|e-1|c-1|R|12x", &ids), INGEST_CLAIM_BAD);
    assert_int_equal(decide(2, "P|e-1|c-1|R|1|2", &ids), INGEST_CLAIM_BAD);
}

static void
test_abandoned_claim_is_written_again_with_its_ids(void **state)
{
    (void)state;
    ingest_claim_ids ids;
    /* the script took over a claim pending past its lease (its writer died
     * after Kafka took the write, or before): the same event again */
    assert_int_equal(decide(3, "P|e-old|c-old|NCH-2026-000123|1764932490000", &ids),
                     INGEST_CLAIM_RETAKE);
    assert_string_equal(ids.event_id, "e-old");
    assert_string_equal(ids.case_id, "c-old");
    assert_string_equal(ids.reference, "NCH-2026-000123");
    /* a case event's claim: no reference */
    assert_int_equal(decide(3, "P|e-2|c-2||1764932490000", &ids), INGEST_CLAIM_RETAKE);
    assert_string_equal(ids.case_id, "c-2");
    /* only a pending record can be taken over */
    assert_int_equal(decide(3, "D|e-1|c-1|R", &ids), INGEST_CLAIM_BAD);
    assert_int_equal(decide(3, "F|e-1|c-1|R", &ids), INGEST_CLAIM_BAD);
}

static void
test_lease_outlives_any_write(void **state)
{
    (void)state;
    assert_int_equal(ingest_claim_lease_ms(30000, 60000), 90000);
    assert_int_equal(ingest_claim_lease_ms(2000, 1000), 3000);
    /* message.timeout.ms 0: librdkafka never gives up; a day bounds the claim */
    assert_int_equal(ingest_claim_lease_ms(0, 60000), 24LL * 3600 * 1000 + 60000);
    assert_int_equal(ingest_claim_lease_ms(5000, -1), 5000);
}

static void
test_unreadable_records(void **state)
{
    (void)state;
    ingest_claim_ids ids;
    assert_int_equal(decide(0, "", &ids), INGEST_CLAIM_BAD);
    assert_int_equal(decide(0, "P", &ids), INGEST_CLAIM_BAD);
    assert_int_equal(decide(0, "P|e-1", &ids), INGEST_CLAIM_BAD);
    assert_int_equal(decide(2, "D|e-1|c-1", &ids), INGEST_CLAIM_BAD); /* no reference part */
    char longer[400];
    memset(longer, 'x', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    memcpy(longer, "D|", 2);
    assert_int_equal(decide(2, longer, &ids), INGEST_CLAIM_BAD);
    char long_case[200] = "D|e|";
    memset(long_case + 4, 'c', 150);
    strcpy(long_case + 154, "|R");
    assert_int_equal(decide(2, long_case, &ids), INGEST_CLAIM_BAD); /* case id over its limit */
    assert_int_equal(ingest_claim_decide(0, NULL, 0, &ids), INGEST_CLAIM_BAD);
}

static void
test_unknown_state_is_not_trusted(void **state)
{
    (void)state;
    ingest_claim_ids ids;
    assert_int_equal(decide(4, "P|e-1|c-1|", &ids), INGEST_CLAIM_BAD);
    assert_int_equal(decide(-1, "D|e-1|c-1|", &ids), INGEST_CLAIM_BAD);
}

static void
test_record_bytes_not_nul_terminated(void **state)
{
    (void)state;
    /* hiredis gives str and len; only len bytes belong to the record */
    ingest_claim_ids ids;
    const char buf[] = "D|e-9|c-9|NIHE-2026-000001trailing";
    assert_int_equal(ingest_claim_decide(2, buf, strlen("D|e-9|c-9|NIHE-2026-000001"), &ids),
                     INGEST_CLAIM_DONE);
    assert_string_equal(ids.reference, "NIHE-2026-000001");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_claim_takes_the_records_ids),
        cmocka_unit_test(test_failed_attempt_is_retried_with_its_ids),
        cmocka_unit_test(test_written_is_a_duplicate),
        cmocka_unit_test(test_pending_is_being_written),
        cmocka_unit_test(test_pending_record_carries_its_claim_time),
        cmocka_unit_test(test_abandoned_claim_is_written_again_with_its_ids),
        cmocka_unit_test(test_lease_outlives_any_write),
        cmocka_unit_test(test_unreadable_records),
        cmocka_unit_test(test_unknown_state_is_not_trusted),
        cmocka_unit_test(test_record_bytes_not_nul_terminated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
