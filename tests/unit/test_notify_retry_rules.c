/*
 * notification's retry rules: quiet hours (including the 23:00 text message
 * and both clock changes) and the release of a text message under a
 * policy's quiet hours, backoff with jitter, what each transport answer
 * means, Retry-After, and the rate limit's token bucket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "charter/policy.h"
#include "charter/timeutil.h"
#include "charter/tz.h"
#include "retry_rules.h"
#include "support/instant.h"

static ch_tz *london;

static int
setup(void **state)
{
    (void)state;
    char err[256];
    london = ch_tz_load("Europe/London", NULL, err, sizeof(err));
    return london ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    ch_tz_free(london);
    return 0;
}

#define Q(t) notify_quiet_release(london, (t), 21 * 60, 8 * 60)

static void
sms_due_at_23_goes_at_eight(void **state)
{
    (void)state;
    /* Winter: 23:00 GMT on Wednesday 14 January 2026 -> 08:00 GMT Thursday. */
    assert_int_equal(Q(fx_utc(2026, 1, 14, 23, 0, 0)), fx_utc(2026, 1, 15, 8, 0, 0));
    /* Summer: 23:00 BST (22:00 UTC) -> 08:00 BST (07:00 UTC) next day. */
    assert_int_equal(Q(fx_utc(2026, 7, 14, 22, 0, 0)), fx_utc(2026, 7, 15, 7, 0, 0));
    /* Just after midnight and just before eight: the same morning. */
    assert_int_equal(Q(fx_utc(2026, 1, 15, 0, 30, 0)), fx_utc(2026, 1, 15, 8, 0, 0));
    assert_int_equal(Q(fx_utc(2026, 1, 15, 7, 59, 0)), fx_utc(2026, 1, 15, 8, 0, 0));
    /* The window's ends: 21:00 is quiet, 08:00 is not. */
    assert_int_equal(Q(fx_utc(2026, 1, 14, 21, 0, 0)), fx_utc(2026, 1, 15, 8, 0, 0));
    assert_int_equal(Q(fx_utc(2026, 1, 15, 8, 0, 0)), fx_utc(2026, 1, 15, 8, 0, 0));
    /* Daytime and 20:59: sent at once. */
    assert_int_equal(Q(fx_utc(2026, 1, 15, 12, 0, 0) + 17), fx_utc(2026, 1, 15, 12, 0, 0) + 17);
    assert_int_equal(Q(fx_utc(2026, 1, 15, 20, 59, 0)), fx_utc(2026, 1, 15, 20, 59, 0));
}

static void
quiet_hours_across_clock_changes(void **state)
{
    (void)state;
    /* Clocks go forward at 01:00 UTC on 29 March 2026: 08:00 BST is 07:00 UTC. */
    assert_int_equal(Q(fx_utc(2026, 3, 28, 23, 0, 0)), fx_utc(2026, 3, 29, 7, 0, 0));
    /* Clocks go back at 01:00 UTC on 25 October 2026: 08:00 GMT is 08:00 UTC. */
    assert_int_equal(Q(fx_utc(2026, 10, 24, 22, 0, 0)), fx_utc(2026, 10, 25, 8, 0, 0));
    /* A window that does not cross midnight. */
    assert_int_equal(notify_quiet_release(london, fx_utc(2026, 1, 15, 12, 30, 0), 12 * 60, 13 * 60),
                     fx_utc(2026, 1, 15, 13, 0, 0));
    assert_int_equal(notify_quiet_release(london, fx_utc(2026, 1, 15, 13, 30, 0), 12 * 60, 13 * 60),
                     fx_utc(2026, 1, 15, 13, 30, 0));
}

/* Only a text message under a policy with quiet hours is held, to the
 * millisecond the window ends; anything else goes when it is due. */
static void
quiet_due_follows_the_policy(void **state)
{
    (void)state;
    ch_policy p;
    memset(&p, 0, sizeof(p));
    int64_t late = fx_utc(2026, 1, 14, 23, 0, 0) * 1000 + 250,
            morning = fx_utc(2026, 1, 15, 8, 0, 0) * 1000;
    assert_int_equal(notify_quiet_due(&p, london, "sms", late), late); /* no window */
    p.sms_quiet.set = 1;
    p.sms_quiet.from = 21 * 60;
    p.sms_quiet.until = 8 * 60;
    assert_int_equal(notify_quiet_due(&p, london, "sms", late), morning);
    assert_int_equal(notify_quiet_due(&p, london, "email", late), late);
    assert_int_equal(notify_quiet_due(NULL, london, "sms", late), late);
    int64_t noon = fx_utc(2026, 1, 15, 12, 0, 0) * 1000 + 1;
    assert_int_equal(notify_quiet_due(&p, london, "sms", noon), noon);
}

static void
backoff_doubles_with_jitter_and_cap(void **state)
{
    (void)state;
    for (int a = 1; a <= 12; a++) {
        int64_t full = 1000LL << (a - 1);
        if (full > 60000)
            full = 60000;
        int64_t lo = notify_backoff_ms(a, 1000, 60000, 0.0);
        int64_t hi = notify_backoff_ms(a, 1000, 60000, 0.9999);
        assert_int_equal(lo, full / 2);
        assert_true(hi < full && hi >= full - 10);
    }
    /* Jitter spreads: 1,000 draws are not all equal. */
    int64_t first = notify_backoff_ms(3, 1000, 60000, 0.1), differ = 0;
    for (int i = 0; i < 1000; i++)
        differ +=
            notify_backoff_ms(3, 1000, 60000, (double)rand() / ((double)RAND_MAX + 1)) != first;
    assert_true(differ > 900);
    assert_true(notify_backoff_ms(0, 0, 0, 0.0) >= 1);
}

static void
transport_answers(void **state)
{
    (void)state;
    assert_int_equal(notify_classify_http(1, 201), NOTIFY_SENT);
    assert_int_equal(notify_classify_http(1, 200), NOTIFY_SENT);
    assert_int_equal(notify_classify_http(1, 429), NOTIFY_TEMP);
    assert_int_equal(notify_classify_http(1, 500), NOTIFY_TEMP);
    assert_int_equal(notify_classify_http(1, 503), NOTIFY_TEMP);
    assert_int_equal(notify_classify_http(1, 408), NOTIFY_TEMP);
    assert_int_equal(notify_classify_http(0, 0), NOTIFY_TEMP);
    assert_int_equal(notify_classify_http(1, 400), NOTIFY_PERM);
    assert_int_equal(notify_classify_http(1, 404), NOTIFY_PERM);
    assert_int_equal(notify_classify_http(1, 401), NOTIFY_AUTH); /* our key, not the message */
    assert_int_equal(notify_classify_http(1, 403), NOTIFY_AUTH);
    assert_int_equal(notify_classify_smtp(0, 535, 0), NOTIFY_AUTH);
    /* SMTP: the end of data is the point of no return. */
    assert_int_equal(notify_classify_smtp(1, 250, 1), NOTIFY_SENT);
    assert_int_equal(notify_classify_smtp(0, 451, 1), NOTIFY_TEMP);
    assert_int_equal(notify_classify_smtp(0, 421, 0), NOTIFY_TEMP);
    assert_int_equal(notify_classify_smtp(0, 550, 0), NOTIFY_PERM);
    assert_int_equal(notify_classify_smtp(0, 554, 1), NOTIFY_PERM);
    assert_int_equal(notify_classify_smtp(0, 0, 0), NOTIFY_TEMP);
    assert_int_equal(notify_classify_smtp(0, 0, 1), NOTIFY_UNKNOWN);
    assert_int_equal(notify_classify_smtp(0, 250, 1),
                     NOTIFY_UNKNOWN); /* 250 to RCPT, then silence */
}

static void
retry_after_forms(void **state)
{
    (void)state;
    assert_int_equal(notify_retry_after_ms(" 3\r\n", 0), 3000);
    assert_int_equal(notify_retry_after_ms("0", 0), 0);
    int64_t t = fx_utc(2015, 10, 21, 7, 28, 0);
    assert_int_equal(notify_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", t - 10), 10000);
    assert_int_equal(notify_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", t + 10), 0);
    assert_int_equal(notify_retry_after_ms("soon", 0), -1);
    assert_int_equal(notify_retry_after_ms("3 days", 0), -1);
    assert_int_equal(notify_retry_after_ms(NULL, 0), -1);
    /* As curl hands the header lines over: not NUL-terminated, any case. */
    static const char seven[] = "rEtRy-AfTeR: 7\r\nX", later[] = "Retry-After: later\r\n",
                      other[] = "Content-Type: text/plain\r\n", bare[] = "Retry-After:";
    int64_t ms = 42;
    assert_int_equal(notify_retry_after_header(seven, sizeof(seven) - 2, 0, &ms), 1);
    assert_int_equal(ms, 7000);
    assert_int_equal(notify_retry_after_header(later, sizeof(later) - 1, 0, &ms), 1);
    assert_int_equal(ms, -1);
    ms = 42;
    assert_int_equal(notify_retry_after_header(other, sizeof(other) - 1, 0, &ms), 0);
    assert_int_equal(notify_retry_after_header(bare, sizeof(bare) - 1, 0, &ms), 0);
    assert_int_equal(ms, 42);
}

/* The rate limit: a full bucket goes at once, then one a refill interval;
 * held messages are given instants one interval apart. */
static void
bucket_holds_then_releases_in_turn(void **state)
{
    (void)state;
    notify_bucket b;
    notify_bucket_init(&b, 10, 10, 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(notify_bucket_take(&b, 0), 0);
    assert_int_equal(notify_bucket_take(&b, 0), 100);
    assert_int_equal(notify_bucket_take(&b, 0), 200);
    assert_int_equal(notify_bucket_take(&b, 0), 300);
    assert_int_equal(notify_bucket_take(&b, 100), 0);   /* one token came */
    assert_int_equal(notify_bucket_take(&b, 150), 400); /* behind the held ones */
    /* A clock stepping back refills nothing. */
    assert_int_equal(notify_bucket_take(&b, 50), 500);
    /* An idle second fills the bucket to its size, not beyond. */
    int sent = 0;
    for (int i = 0; i < 30; i++)
        sent += notify_bucket_take(&b, 5000) == 0;
    assert_int_equal(sent, 10);
    /* No limit: everything goes. */
    notify_bucket_init(&b, 0, 1, 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(notify_bucket_take(&b, 0), 0);
}

/* 200 messages due at once through 20/s with a burst of 5, each held one
 * tried again at the instant given: every one is sent, never more than
 * burst + rate * t by time t, the last about (200 - 5) / 20 s in, and each
 * held message is held about once (they come back in turn). */
static void
bucket_simulated_queue_keeps_the_rate(void **state)
{
    (void)state;
    enum { N = 200 };
    int64_t due[N] = {0}, sent_at[N];
    int done[N] = {0}, holds = 0, sent = 0;
    notify_bucket b;
    notify_bucket_init(&b, 20, 5, 0);
    while (sent < N) {
        int k = -1;
        for (int i = 0; i < N; i++)
            if (!done[i] && (k < 0 || due[i] < due[k]))
                k = i;
        int64_t r = notify_bucket_take(&b, due[k]);
        if (r == 0) {
            done[k] = 1;
            sent_at[sent++] = due[k];
        } else {
            assert_true(r > due[k]);
            due[k] = r;
            holds++;
        }
    }
    for (int i = 0; i < N; i++)
        if ((double)(i + 1) > 5.0 + 20.0 * (double)sent_at[i] / 1000.0 + 1e-9)
            fail_msg("message %d sent at %lld ms: over the rate", i + 1, (long long)sent_at[i]);
    assert_in_range(sent_at[N - 1], 9700, 9800);
    assert_true(holds <= 2 * N);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sms_due_at_23_goes_at_eight),
        cmocka_unit_test(quiet_hours_across_clock_changes),
        cmocka_unit_test(quiet_due_follows_the_policy),
        cmocka_unit_test(backoff_doubles_with_jitter_and_cap),
        cmocka_unit_test(transport_answers),
        cmocka_unit_test(retry_after_forms),
        cmocka_unit_test(bucket_holds_then_releases_in_turn),
        cmocka_unit_test(bucket_simulated_queue_keeps_the_rate),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
