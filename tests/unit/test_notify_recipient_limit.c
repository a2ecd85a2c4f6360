/*
 * The per-recipient daily limit (recipient_limit.h): the decision at and
 * around the limit, 0 meaning none, and the counter's key: one per channel,
 * recipient and UTC day, spellings of one number or address sharing it, and
 * the recipient never in clear (the SHA-256 of its normalised form).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "charter/errors.h"
#include "recipient_limit.h"

/* 2026-12-05T14:40:00Z and the same day's last and next day's first ms. */
#define NOON_MS 1796481600000LL
#define DAY_END_MS 1796515199999LL
#define NEXT_DAY_MS 1796515200000LL

static void
the_limit_lets_max_through_and_refuses_the_rest(void **state)
{
    (void)state;
    assert_int_equal(notify_recipient_over(1, 3), 0);
    assert_int_equal(notify_recipient_over(3, 3), 0);
    assert_int_equal(notify_recipient_over(4, 3), 1);
    assert_int_equal(notify_recipient_over(1000, 3), 1);
    assert_int_equal(notify_recipient_over(1, 1), 0);
    assert_int_equal(notify_recipient_over(2, 1), 1);
}

static void
zero_means_no_limit(void **state)
{
    (void)state;
    assert_int_equal(notify_recipient_over(1, 0), 0);
    assert_int_equal(notify_recipient_over(1000000, 0), 0);
}

static void
the_key_holds_a_hash_not_the_number(void **state)
{
    (void)state;
    char key[NOTIFY_RECIPIENT_KEY_MAX];
    assert_int_equal(notify_recipient_key("sms", "+44 7700 900123", NOON_MS, key, sizeof(key)), 0);
    assert_string_equal(key, "charter:notify:recipient:sms:20261205:"
                             "a8acc3a90a7b4e4dc65e93db9240ed26523050ef754d63b75b5161de76781436");
    assert_null(strstr(key, "7700"));
    assert_int_equal(notify_recipient_key("email", "A.B@Example.org", NOON_MS, key, sizeof(key)),
                     0);
    assert_string_equal(key, "charter:notify:recipient:email:20261205:"
                             "69b1e95a1baa94735a71655d451f4ba7329dafa66d2dfbe2e0b479c7dd159e54");
    assert_null(strstr(key, "xample"));
}

static void
spellings_of_one_recipient_share_a_counter(void **state)
{
    (void)state;
    char a[NOTIFY_RECIPIENT_KEY_MAX], b[NOTIFY_RECIPIENT_KEY_MAX];
    assert_int_equal(notify_recipient_key("sms", "+447700900123", NOON_MS, a, sizeof(a)), 0);
    assert_int_equal(notify_recipient_key("sms", "+44 (7700) 900-123", NOON_MS, b, sizeof(b)), 0);
    assert_string_equal(a, b);
    assert_int_equal(notify_recipient_key("email", "a.b@example.org", NOON_MS, a, sizeof(a)), 0);
    assert_int_equal(notify_recipient_key("email", " A.B@EXAMPLE.ORG", NOON_MS, b, sizeof(b)), 0);
    assert_string_equal(a, b);
}

static void
channels_recipients_and_days_count_apart(void **state)
{
    (void)state;
    char a[NOTIFY_RECIPIENT_KEY_MAX], b[NOTIFY_RECIPIENT_KEY_MAX];
    assert_int_equal(notify_recipient_key("sms", "+447700900123", NOON_MS, a, sizeof(a)), 0);
    assert_int_equal(notify_recipient_key("sms", "+447700900124", NOON_MS, b, sizeof(b)), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(notify_recipient_key("email", "+447700900123", NOON_MS, b, sizeof(b)), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(notify_recipient_key("sms", "+447700900123", DAY_END_MS, b, sizeof(b)), 0);
    assert_string_equal(a, b);
    assert_int_equal(notify_recipient_key("sms", "+447700900123", NEXT_DAY_MS, b, sizeof(b)), 0);
    assert_string_not_equal(a, b);
    assert_non_null(strstr(b, ":20261206:"));
}

static void
a_channel_that_cannot_name_a_key_is_refused(void **state)
{
    (void)state;
    char key[NOTIFY_RECIPIENT_KEY_MAX];
    assert_int_equal(notify_recipient_key("a:b", "x", NOON_MS, key, sizeof(key)), CH_EINVAL);
    assert_int_equal(
        notify_recipient_key("a-channel-name-too-long", "x", NOON_MS, key, sizeof(key)), CH_EINVAL);
    assert_int_equal(notify_recipient_key("sms", "x", NOON_MS, key, 10), CH_EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_limit_lets_max_through_and_refuses_the_rest),
        cmocka_unit_test(zero_means_no_limit),
        cmocka_unit_test(the_key_holds_a_hash_not_the_number),
        cmocka_unit_test(spellings_of_one_recipient_share_a_counter),
        cmocka_unit_test(channels_recipients_and_days_count_apart),
        cmocka_unit_test(a_channel_that_cannot_name_a_key_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
