/*
 * The decisions notification makes that need no I/O and no clock: when a
 * text message may go (quiet hours), how long to wait before a retry, what a
 * transport's answer means for the customer, and the bytes each transport
 * sends (an RFC 5322 message, a GOV.UK Notify-shaped JSON body, the JWT
 * Notify authenticates by). Time is a parameter everywhere, so
 * tests/unit/test_notify_rules.c checks them directly.
 */
#ifndef NOTIFY_RULES_H
#define NOTIFY_RULES_H

#include <stddef.h>
#include <stdint.h>

typedef struct ch_tz ch_tz;

/* What became of one send attempt. */
typedef enum {
    NOTIFY_SENT = 0, /* the transport took it: the customer will get it */
    NOTIFY_TEMP,     /* not taken; safe to try again later */
    NOTIFY_PERM,     /* refused for good (bad address, bad request) */
    NOTIFY_UNKNOWN   /* may or may not have been taken; retrying could send twice */
} notify_result;

/*
 * The earliest instant at or after `utc_s` outside the quiet hours
 * [from_min, until_min) of the local day in `tz` (minutes since local
 * midnight; the window crosses midnight when from_min > until_min, e.g.
 * 21:00-08:00). Returns utc_s itself when it is not inside the window.
 */
int64_t notify_quiet_release(const ch_tz *tz, int64_t utc_s, int from_min, int until_min);

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
 * idempotency reference the gateway deduplicates by.
 */
notify_result notify_classify_http(int transport_ok, long status);

/*
 * An SMTP attempt: curl_ok 1 when the server answered 250 to the end of
 * data; smtp_code the last reply code seen (0 for none); data_done 1 once
 * the end-of-data mark may have reached the server. A 4xx is temporary, a
 * 5xx permanent, whenever it came; no answer before the end of data is
 * temporary (the server delivers nothing without it); no answer after it is
 * unknown.
 */
notify_result notify_classify_smtp(int curl_ok, long smtp_code, int data_done);

/*
 * Retry-After: delta-seconds or an HTTP-date, as milliseconds from now_s
 * (never negative). -1 when absent or unreadable.
 */
int64_t notify_retry_after_ms(const char *value, int64_t now_s);

/*
 * Builds an RFC 5322 message with CRLF line ends: Date (UTC, from date_s),
 * From, To, Subject (RFC 2047 encoded when not ASCII), Message-ID, MIME 1.0,
 * text/plain; charset=UTF-8 (7bit when ASCII, else base64). Returns a string
 * to free, or NULL on ENOMEM.
 */
char *notify_mime_message(const char *from, const char *to, const char *subject, const char *body,
                          const char *message_id, int64_t date_s);

/*
 * Message-ID for a notification: "<" + a hex digest of the notification id
 * + "@" + domain + ">", the same on every attempt. Writes into buf.
 */
void notify_message_id(const char *notification_id, const char *domain, char *buf, size_t bufsz);

/*
 * The JSON body for POST /v2/notifications/{sms,email,social}, the shape of
 * GOV.UK Notify's API: phone_number (sms) or email_address (email) or
 * recipient (social), template_id, personalisation {subject, body,
 * reference}, reference (the notification id: the idempotency key), plus
 * case_id. Returns a string to free, or NULL.
 */
char *notify_http_body(const char *channel, const char *to, const char *template_id,
                       const char *reference, const char *case_ref, const char *case_id,
                       const char *subject, const char *body);

/*
 * Splits a GOV.UK Notify API key, "{key_name}-{service_id}-{secret_key}"
 * where both ids are 36-character UUIDs (the key name may itself contain
 * dashes), into service_id and secret (each buffer at least 37 bytes).
 * Returns 0, or CH_EINVAL with a sentence naming `setting` in errstr; the
 * message never quotes the key.
 */
int notify_api_key_split(const char *api_key, const char *setting, char *service_id, char *secret,
                         char *errstr, size_t errstr_size);

/*
 * The JWT GOV.UK Notify takes as "Authorization: Bearer <jwt>": header
 * {"alg":"HS256","typ":"JWT"}, claims {"iss":service_id,"iat":iat}, each
 * base64url without padding, signed HMAC-SHA256 with `secret`. Returns a
 * string to free, or NULL on ENOMEM.
 */
char *notify_jwt(const char *service_id, const char *secret, int64_t iat);

#endif
