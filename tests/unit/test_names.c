/*
 * names.c: every enum value of the schema has one name, the name maps back
 * to the value, and the policy's channel names are the same words as the
 * protobuf ones (policies and events must agree on "online_form").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "charter/names.h"
#include "charter/policy.h"

static void
test_channel_round_trip(void **state)
{
    (void)state;
    const ProtobufCEnumDescriptor *d = &charter__v1__channel__descriptor;
    assert_int_equal(d->n_values, 9);
    for (unsigned i = 0; i < d->n_values; i++) {
        Charter__V1__Channel v = (Charter__V1__Channel)d->values[i].value;
        const char *n = ch_channel_name(v);
        if (v == CHARTER__V1__CHANNEL__CHANNEL_UNSPECIFIED) {
            assert_string_equal(n, "unspecified");
            assert_int_equal(ch_channel_from_name(n), CHARTER__V1__CHANNEL__CHANNEL_UNSPECIFIED);
            continue;
        }
        assert_int_equal(ch_channel_from_name(n), v);
        /* the policy spells it the same way, with the same number */
        ch_policy_channel pc;
        assert_int_equal(ch_policy_channel_parse(n, &pc), 0);
        assert_int_equal((int)pc, (int)v);
        assert_string_equal(ch_policy_channel_name(pc), n);
    }
    assert_string_equal(ch_channel_name(CHARTER__V1__CHANNEL__CHANNEL_ONLINE_FORM), "online_form");
    assert_int_equal(ch_channel_from_name("Email"), CHARTER__V1__CHANNEL__CHANNEL_UNSPECIFIED);
    assert_int_equal(ch_channel_from_name(""), CHARTER__V1__CHANNEL__CHANNEL_UNSPECIFIED);
    assert_string_equal(ch_channel_name((Charter__V1__Channel)99), "unspecified");
}

static void
test_timer_kinds(void **state)
{
    (void)state;
    assert_string_equal(ch_timer_kind_name(CHARTER__V1__TIMER_KIND__TIMER_KIND_ACKNOWLEDGEMENT_DUE),
                        "acknowledgement_due");
    assert_string_equal(ch_timer_kind_name(CHARTER__V1__TIMER_KIND__TIMER_KIND_WARNING), "warning");
    assert_string_equal(ch_timer_kind_name(CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH), "breach");
    assert_string_equal(ch_timer_kind_name(CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_DUE),
                        "review_due");
    assert_string_equal(ch_timer_kind_name(CHARTER__V1__TIMER_KIND__TIMER_KIND_REMINDER),
                        "reminder");
    assert_string_equal(ch_timer_kind_name(CHARTER__V1__TIMER_KIND__TIMER_KIND_WAIT_EXCEEDED),
                        "wait_exceeded");
    assert_string_equal(ch_timer_kind_name(CHARTER__V1__TIMER_KIND__TIMER_KIND_UNSPECIFIED),
                        "unknown");
    assert_string_equal(ch_timer_kind_name((Charter__V1__TimerKind)77), "unknown");
}

static void
test_case_events(void **state)
{
    (void)state;
    assert_string_equal(ch_case_event_name(CHARTER__V1__CASE_EVENT__EVENT_RECEIVED), "received");
    assert_string_equal(ch_case_event_name(CHARTER__V1__CASE_EVENT__EVENT_HOLDING_REPLY),
                        "holding_reply");
    assert_string_equal(ch_case_event_name(CHARTER__V1__CASE_EVENT__EVENT_COMMUNICATION_SUPPORT),
                        "communication_support");
    assert_string_equal(ch_case_event_name(CHARTER__V1__CASE_EVENT__EVENT_SATISFACTION),
                        "satisfaction");
    assert_string_equal(ch_case_event_name(CHARTER__V1__CASE_EVENT__EVENT__NOT_SET), "unknown");
    /* a field number of the envelope, not of the oneof, is not an event */
    assert_string_equal(ch_case_event_name((Charter__V1__CaseEvent__EventCase)999), "unknown");
}

static void
test_outcome_statuses(void **state)
{
    (void)state;
    assert_string_equal(
        ch_outcome_status_name(CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_QUEUED), "queued");
    assert_string_equal(
        ch_outcome_status_name(CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_SENT), "sent");
    assert_string_equal(
        ch_outcome_status_name(CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_DELIVERED),
        "delivered");
    assert_string_equal(
        ch_outcome_status_name(CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_FAILED), "failed");
    assert_string_equal(
        ch_outcome_status_name(CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_SUPPRESSED),
        "suppressed");
    assert_string_equal(
        ch_outcome_status_name(CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_UNSPECIFIED),
        "unknown");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_channel_round_trip),
        cmocka_unit_test(test_timer_kinds),
        cmocka_unit_test(test_case_events),
        cmocka_unit_test(test_outcome_statuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
