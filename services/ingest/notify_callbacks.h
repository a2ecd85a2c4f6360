/*
 * GOV.UK Notify's callbacks, the pure half (tests/unit/test_notify_callbacks.c):
 * the organisations' callback settings (ingest.notify_file), the two bodies
 * Notify posts (a delivery receipt, a received text message), what a receipt
 * means for Charter, and the bearer token check.
 *
 * Notify posts JSON to a URL and bearer token the service enters in its
 * settings ("API integration" > "Callbacks"), one pair for delivery receipts
 * and one for received text messages; it retries a failed POST (a 5xx or no
 * answer) every 5 minutes up to 5 times, and never retries a 4xx. So a body
 * Charter cannot use is answered 4xx only when a retry could not help, and a
 * receipt for a message Charter did not send is answered 200 (counted as
 * unmatched), never an error Notify would retry.
 *
 * Notify documents every value as a string and may add keys (template_id,
 * template_version): unknown keys are ignored, unlike Charter's own API.
 */
#ifndef CHARTER_INGEST_NOTIFY_CALLBACKS_H
#define CHARTER_INGEST_NOTIFY_CALLBACKS_H

#include <stddef.h>
#include <stdint.h>

#include "charter/contact_fields.h"
#include "charter/v1/notification.pb-c.h"
#include "event_json.h"

#define NOTIFY_TOKEN_MIN 10  /* Notify refuses a shorter bearer token */
#define NOTIFY_TOKEN_MAX 256 /* ours: longer is a mistake */
#define NOTIFY_ID_MAX 64     /* Notify's ids are UUIDs (36) */
#define NOTIFY_NOTIFICATION_ID_MAX 160

/* One organisation's line of ingest.notify_file. */
typedef struct {
    char organisation[64];
    char token[2][NOTIFY_TOKEN_MAX + 1]; /* token[1] "" unless two (rotation) */
    char token_file[256];                /* tokens= or token_file=, one of them */
    char case_type[32];                  /* a received text's case type ("enquiry") */
    char number[CH_PHONE_E164_BUFSZ];    /* the inbound number, E.164, or "" */
} notify_org;

typedef struct notify_orgs {
    notify_org *orgs;
    size_t n;
} notify_orgs;

/*
 * Parses the text of ingest.notify_file (path names it in errors): one line
 * per organisation,
 *     ORG (tokens=T1[,T2] | token_file=PATH) [case_type=TYPE] [number=NUMBER]
 * '#' starts a comment. Tokens are 10 to 256 printable characters without
 * spaces or commas; a token file is read by the caller (notify_org_set_tokens).
 * 0 with *out filled (free with notify_orgs_free), or CH_EINVAL with errstr
 * naming the file, line and key (never quoting a token).
 */
int notify_orgs_parse(const char *text, const char *path, notify_orgs *out, char *errstr,
                      size_t errstr_size);

/* Sets o's tokens from the text of its token file: one or two tokens, one a
 * line. 0, or CH_EINVAL with errstr naming the file. */
int notify_org_set_tokens(notify_org *o, const char *text, char *errstr, size_t errstr_size);

void notify_orgs_free(notify_orgs *orgs);

/* The organisation's settings, or NULL. */
const notify_org *notify_orgs_find(const notify_orgs *orgs, const char *organisation, size_t len);

/* 1 when the Authorization header value is "Bearer <one of o's tokens>"
 * (compared in constant time for a given length; the scheme's case is
 * ignored), else 0. header may be NULL. */
int notify_bearer_ok(const notify_org *o, const char *header);

/* A delivery receipt as Notify posts it (strings; "" when absent or null). */
typedef struct {
    char id[NOTIFY_ID_MAX + 1];
    char reference[NOTIFY_NOTIFICATION_ID_MAX + 1];
    char status[32];
    char notification_type[16];
    int64_t occurred_ms; /* completed_at, else sent_at, else created_at; 0 if none */
} notify_receipt;

/* A received text message. */
typedef struct {
    char id[NOTIFY_ID_MAX + 1];
    char source_number[48];
    char destination_number[48];
    char *message; /* owned; free with notify_text_clear */
    int64_t received_ms;
} notify_text;

/*
 * Parses a delivery-status body. 0, or CH_EINVAL with *err filled (400
 * invalid_json, 422 missing_field / wrong_type naming the field): id and
 * status are required.
 */
int notify_receipt_parse(const char *body, size_t len, notify_receipt *out, ch_json_error *err);

/* Parses a received-text body: id, source_number and date_received are
 * required (message may be empty). Same contract as notify_receipt_parse. */
int notify_text_parse(const char *body, size_t len, notify_text *out, ch_json_error *err);
void notify_text_clear(notify_text *t);

/* Notify's status as a DeliveryReceipt status; UNSPECIFIED for anything
 * but the four final ones (delivered, permanent-, temporary-,
 * technical-failure). */
Charter__V1__DeliveryReceipt__Status notify_status_map(const char *status);

/* The Charter notification id in a receipt's reference: 1 with case_id
 * filled when reference is "<case id>/<what>" (a usable case id, a
 * non-empty printable what), else 0 (null, "None", someone else's). */
int notify_reference_split(const char *reference, char *case_id, size_t casesz);

/* Notify's number ("447700912345", "07700987654", "+44 7700 ...") in E.164:
 * 1 and out filled, or 0 when it is not a telephone number (a sender name). */
int notify_number_e164(const char *number, char out[CH_PHONE_E164_BUFSZ]);

/*
 * The first case reference of the form PREFIX-YYYY-NNNNNN (prefix as given,
 * letters compared without case) in text, as a word of its own: 1 with ref
 * (refsz >= 64) filled in the canonical case, else 0.
 */
int notify_find_reference(const char *text, const char *prefix, char *ref, size_t refsz);

#endif
