/*
 * notification's queue as a state machine (queue.h): what a claim does with
 * each idempotency record, what each send result leaves on record (a
 * temporary failure on the last attempt becomes permanent), a whole life
 * from queued to sent through retries, and the one place a notification's
 * names ("<case>/<what>", "charter:notify:{<case>}:<what>") are made.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "charter/errors.h"
#include "queue.h"

static void
names_are_made_in_one_shape(void **state)
{
    (void)state;
    notify_ids a, b;
    assert_int_equal(notify_ids_make(&a, "case-1", "warning/2"), 0);
    assert_string_equal(a.id, "case-1/warning/2");
    assert_string_equal(a.idem_key, "charter:notify:{case-1}:warning/2");
    assert_string_equal(a.job_key, "charter:notify:{case-1}:warning/2:job");
    /* A claimed member names the same keys. */
    assert_int_equal(notify_ids_parse(&b, a.id), 0);
    assert_string_equal(a.id, b.id);
    assert_string_equal(a.idem_key, b.idem_key);
    assert_string_equal(a.job_key, b.job_key);
    assert_int_not_equal(notify_ids_parse(&b, "no-slash"), 0);
    assert_int_not_equal(notify_ids_parse(&b, "case-1/"), 0);
}

static void
case_ids_that_cannot_name_a_notification(void **state)
{
    (void)state;
    notify_ids ids;
    char long_id[120];
    memset(long_id, 'c', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    assert_true(notify_case_id_ok("case-1"));
    assert_false(notify_case_id_ok("ca}se")); /* would end the hash tag */
    assert_false(notify_case_id_ok("ca/se")); /* would split the id */
    assert_false(notify_case_id_ok(long_id));
    assert_int_equal(notify_ids_make(&ids, "ca}se", "acknowledgement"), CH_EINVAL);
    char what[200];
    memset(what, 'w', sizeof(what) - 1);
    what[sizeof(what) - 1] = '\0';
    assert_int_equal(notify_ids_make(&ids, "case-1", what), CH_EINVAL); /* never cut short */
}

static void
a_claim_does_what_the_record_allows(void **state)
{
    (void)state;
    assert_int_equal(notify_claim_step_of(NULL), NOTIFY_CLAIM_SEND);
    assert_int_equal(notify_claim_step_of("queued"), NOTIFY_CLAIM_SEND);
    assert_int_equal(notify_claim_step_of("committed"), NOTIFY_CLAIM_RESEND);
    assert_int_equal(notify_claim_step_of("sent"), NOTIFY_CLAIM_ANNOUNCE);
    assert_int_equal(notify_claim_step_of("failed"), NOTIFY_CLAIM_REMOVE);
    assert_int_equal(notify_claim_step_of("unknown"), NOTIFY_CLAIM_REMOVE);
    assert_int_equal(notify_claim_step_of("parked"), NOTIFY_CLAIM_PARKED);
}

static void
results_settle_the_record(void **state)
{
    (void)state;
    notify_after a = notify_after_attempt(NOTIFY_SENT, 3, 10);
    assert_int_equal(a.r, NOTIFY_SENT);
    assert_string_equal(a.record, "sent");
    a = notify_after_attempt(NOTIFY_TEMP, 0, 10);
    assert_int_equal(a.r, NOTIFY_TEMP);
    assert_string_equal(a.record, "queued");
    assert_false(a.gave_up);
    a = notify_after_attempt(NOTIFY_TEMP, 9, 10); /* the tenth attempt: parked, not failed */
    assert_string_equal(a.record, "parked");
    assert_true(a.gave_up);
    assert_true(a.park);
    a = notify_after_attempt(NOTIFY_TEMP, 0, 1);
    assert_true(a.gave_up);
    a = notify_after_attempt(NOTIFY_PERM, 0, 10);
    assert_string_equal(a.record, "failed");
    assert_false(a.gave_up);
    assert_false(a.park);
    a = notify_after_attempt(NOTIFY_AUTH, 0, 10); /* 401/403: parked at once */
    assert_string_equal(a.record, "parked");
    assert_false(a.gave_up);
    assert_true(a.park);
    a = notify_after_attempt(NOTIFY_UNKNOWN, 9, 10); /* never retried, never "gave up" */
    assert_int_equal(a.r, NOTIFY_UNKNOWN);
    assert_string_equal(a.record, "unknown");
    assert_false(a.gave_up);
}

/* A life: queued, two temporary failures, then sent; a claim of what is
 * left finds it settled. And one that runs out of attempts: parked. */
static void
a_notification_lives_queued_to_sent(void **state)
{
    (void)state;
    const notify_result results[] = {NOTIFY_TEMP, NOTIFY_TEMP, NOTIFY_SENT};
    const char *record = "queued";
    int attempts = 0;
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(notify_claim_step_of(record), NOTIFY_CLAIM_SEND);
        notify_after a = notify_after_attempt(results[i], attempts, 10);
        record = a.record;
        if (a.r == NOTIFY_TEMP)
            attempts++;
    }
    assert_string_equal(record, "sent");
    assert_int_equal(attempts, 2);
    assert_int_equal(notify_claim_step_of(record), NOTIFY_CLAIM_ANNOUNCE);

    record = "queued";
    attempts = 0;
    while (notify_claim_step_of(record) == NOTIFY_CLAIM_SEND) {
        notify_after a = notify_after_attempt(NOTIFY_TEMP, attempts, 3);
        record = a.record;
        attempts++;
    }
    assert_string_equal(record, "parked"); /* out of the queue, kept for a replay */
    assert_int_equal(attempts, 3);
    assert_int_equal(notify_claim_step_of(record), NOTIFY_CLAIM_PARKED);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_are_made_in_one_shape),
        cmocka_unit_test(case_ids_that_cannot_name_a_notification),
        cmocka_unit_test(a_claim_does_what_the_record_allows),
        cmocka_unit_test(results_settle_the_record),
        cmocka_unit_test(a_notification_lives_queued_to_sent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
