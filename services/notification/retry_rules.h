/*
 * When a notification may go and what to do when it did not: quiet hours
 * for text messages, backoff between retries, the rate limit per transport,
 * what a transport's answer means, and the receiver's Retry-After. No I/O
 * and no clock: time is a parameter everywhere, so
 * tests/unit/test_notify_retry_rules.c checks them directly.
 */
#ifndef CHARTER_NOTIFY_RETRY_RULES_H
#define CHARTER_NOTIFY_RETRY_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "charter/policy.h"
#include "transport.h"

typedef struct ch_tz ch_tz;

/*
 * The earliest instant at or after `utc_s` outside the quiet hours
 * [from_min, until_min) of the local day in `tz` (minutes since local
 * midnight; the window crosses midnight when from_min > until_min, e.g.
 * 21:00-08:00). Returns utc_s itself when it is not inside the window.
 */
int64_t notify_quiet_release(const ch_tz *tz, int64_t utc_s, int from_min, int until_min);

/*
 * When a message on `channel` due at now_ms may go under `policy`'s
 * sms_quiet_hours (NULL: no policy) in `tz`: the end of the window for a
 * text message inside it, else now_ms.
 */
int64_t notify_quiet_due(const ch_policy *policy, const ch_tz *tz, const char *channel,
                         int64_t now_ms);

/*
 * Delay before retry number `attempt` (1 = the first retry): base * 2^(attempt-1),
 * capped at max_ms, then "equal jitter": half fixed, half scaled by
 * rand01 in [0, 1). Never below 1 ms.
 */
int64_t notify_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms, double rand01);

/*
 * A rate limit per transport (notify.<transport>.rate_per_s): a token bucket
 * of `burst` tokens (full at the start) refilled at `rate` a second. A
 * message that finds no token is held in the queue, not dropped: take()
 * names when to try it again, one refill interval after the message held
 * before it, so held messages come back in turn instead of all at once.
 */
typedef struct {
    int64_t rate;  /* messages a second; 0: no limit */
    int64_t burst; /* bucket size, at least 1 */
    double tokens;
    int64_t last_ms;       /* when tokens was brought up to date */
    int64_t held_until_ms; /* the latest instant given to a held message */
} notify_bucket;

void notify_bucket_init(notify_bucket *b, int64_t rate, int64_t burst, int64_t now_ms);

/*
 * Takes a token at now_ms. Returns 0 when taken (send now), else the instant
 * (ms, > now_ms) to try again: when the next token is due, and no earlier
 * than one interval (1000 / rate ms) after the previous held message's
 * instant. A clock that steps back refills nothing. Always 0 without a
 * limit.
 */
int64_t notify_bucket_take(notify_bucket *b, int64_t now_ms);

/*
 * An HTTP gateway's answer. transport_ok 0 when no status came back
 * (connection refused, timeout): temporary, since every request carries an
 * idempotency reference the gateway deduplicates by. 401 and 403 are
 * NOTIFY_AUTH: our key was refused (rotated, revoked, clock skew), not the
 * message.
 */
notify_result notify_classify_http(int transport_ok, long status);

/*
 * An SMTP attempt: curl_ok 1 when the server answered 250 to the end of
 * data; smtp_code the last reply code seen (0 for none); data_done 1 once
 * the end-of-data mark may have reached the server. A 4xx is temporary, a
 * 5xx permanent, whenever it came; no answer before the end of data is
 * temporary (the server delivers nothing without it); no answer after it is
 * unknown. 530 and 535 (authentication required or refused) are NOTIFY_AUTH.
 */
notify_result notify_classify_smtp(int curl_ok, long smtp_code, int data_done);

/*
 * Retry-After: delta-seconds or an HTTP-date, as milliseconds from now_s
 * (never negative). -1 when absent or unreadable.
 */
int64_t notify_retry_after_ms(const char *value, int64_t now_s);

/*
 * One raw header line as curl hands it over (len bytes, not NUL-terminated,
 * ending in CRLF): when it is Retry-After (any case), *ms becomes its
 * notify_retry_after_ms and 1 is returned; otherwise *ms is left alone and
 * 0 is returned.
 */
int notify_retry_after_header(const char *line, size_t len, int64_t now_s, int64_t *ms);

#endif
