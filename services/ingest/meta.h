/*
 * Meta's webhooks (Facebook Messenger and Instagram messaging), the pure
 * part: the per-organisation configuration (ingest.meta_file), the
 * X-Hub-Signature-256 check, the webhook body read into messages, and one
 * message turned into a CaseEvent. meta_http.c is the glue on ingest's HTTP
 * routes and pipeline.
 *
 * Meta signs every POST with "sha256=" + the lower-case hex HMAC-SHA256 of
 * the raw body, keyed with the app secret; Meta retries any answer that is
 * not 200. A body is {"object":"page"|"instagram","entry":[{"id":ACCOUNT,
 * "time":MS,"messaging":[{"sender":{"id":PSID},"recipient":{"id":ACCOUNT},
 * "timestamp":MS,"message":{"mid","text","attachments":[{"type",
 * "payload":{"url"}}]}}]}]} (the Messenger Platform's webhook events
 * reference). Only customers' messages are read; echoes of the page's own
 * messages (message.is_echo), deliveries, reads, reactions, postbacks and
 * the rest are counted as skipped. A message Charter cannot use (a missing
 * sender, a mid that is not printable ASCII) is refused on its own, naming
 * the field, and the rest of the batch goes on.
 *
 * Secrets (app secrets, verify tokens) are never printed: errors name the
 * organisation and the line. Pure except ingest_meta_load_file (reads the
 * configuration and the secret files it names).
 */
#ifndef CHARTER_INGEST_META_H
#define CHARTER_INGEST_META_H

#include <stddef.h>
#include <stdint.h>

#include "event_json.h"

#define INGEST_META_SIGNATURE_HEADER "X-Hub-Signature-256"
#define INGEST_META_MAX_ACCOUNTS 8
#define INGEST_META_ID_MAX 64 /* page, Instagram account and sender ids (digits, in practice) */
#define INGEST_META_SECRET_MIN 16
#define INGEST_META_SECRET_MAX 256
/* The longest challenge echoed back; Meta sends an integer. */
#define INGEST_META_CHALLENGE_MAX 128

/* One organisation's Meta settings: a line of ingest.meta_file. */
typedef struct {
    char organisation[64];
    char *app_secret;                                                /* owned; wiped when freed */
    char *verify_token;                                              /* owned; wiped when freed */
    char accounts[INGEST_META_MAX_ACCOUNTS][INGEST_META_ID_MAX + 1]; /* page / IG account ids */
    size_t naccounts;                                                /* 0: any account */
    char case_type[64];
    /* the files the secrets come from, "" when given inline (load resolves them) */
    char app_secret_file[256], verify_token_file[256];
} ingest_meta_org;

typedef struct ingest_meta_conf_s {
    ingest_meta_org *orgs;
    size_t n;
} ingest_meta_conf;

/*
 * Parses the configuration: one organisation per line,
 *   ORGANISATION key=value ...
 * with keys app_secret= or app_secret_file=, verify_token= or
 * verify_token_file=, accounts=ID,ID (optional: the page and Instagram
 * account ids messages may be addressed to; without it any) and case_type=
 * (default "enquiry"). '#' starts a comment line; blank lines are skipped.
 * Each organisation once. An inline secret must be INGEST_META_SECRET_MIN to
 * _MAX printable characters (a file's too, checked by load). Returns 0 with
 * *out filled (free with ingest_meta_conf_free), or CH_EINVAL with errstr
 * naming the line and the key (never a secret).
 */
int ingest_meta_conf_parse(const char *text, size_t len, ingest_meta_conf *out, char *errstr,
                           size_t errstr_size);

/* Reads path, parses it and reads the secret files it names (their content,
 * without a final line break). Same contract as ingest_meta_conf_parse.
 * *insecure is set to 1 when the file or a secret file may be read by other
 * users (the caller warns). */
int ingest_meta_load_file(const char *path, ingest_meta_conf *out, int *insecure, char *errstr,
                          size_t errstr_size);

void ingest_meta_conf_free(ingest_meta_conf *c);

/* The organisation's settings, or NULL. */
const ingest_meta_org *ingest_meta_find(const ingest_meta_conf *c, const char *organisation);

/* 1 when the organisation lists no accounts or lists this one. */
int ingest_meta_account_allowed(const ingest_meta_org *o, const char *account);

/* Constant-time equality of two NUL-terminated strings (length may leak). */
int ingest_meta_equal(const char *a, const char *b);

/*
 * The verification handshake: 1 when mode is "subscribe" and token equals
 * the organisation's verify token (constant time) and the challenge is 1 to
 * INGEST_META_CHALLENGE_MAX printable ASCII characters; else 0. Any argument
 * may be NULL (absent).
 */
int ingest_meta_handshake_ok(const ingest_meta_org *o, const char *mode, const char *token,
                             const char *challenge);

/* 1 when header is "sha256=" + the hex HMAC-SHA256 of body[0..len) keyed
 * with secret (either case of hex), compared in constant time; else 0
 * (NULL header included). */
int ingest_meta_signature_ok(const char *secret, const char *header, const void *body, size_t len);

/* One attachment: its type as Meta names it and the last segment of its
 * URL's path (the contents are never fetched). */
typedef struct {
    char type[16];
    char name[128];
} ingest_meta_attachment;

/* One message from a customer, or one that was refused (bad). */
typedef struct {
    char object[16];                      /* "page" or "instagram" */
    char account[INGEST_META_ID_MAX + 1]; /* the page or Instagram account (entry.id) */
    char sender[INGEST_META_ID_MAX + 1];  /* PSID / IGSID */
    char *mid;                            /* owned */
    char *text;                           /* owned: "" when the message has none */
    int64_t timestamp_ms;
    ingest_meta_attachment *att; /* owned */
    size_t natt;
    int bad;        /* 1: refused; field and why say so */
    char field[96]; /* "entry[0].messaging[1].sender.id" */
    char why[128];  /* a fixed phrase; never quotes the body */
} ingest_meta_msg;

typedef struct {
    ingest_meta_msg *msgs;
    size_t n;
    size_t skipped; /* echoes, deliveries, reads, reactions, ... */
} ingest_meta_batch;

/*
 * Reads a webhook body. A message without a timestamp takes now_ms. Returns
 * 0 with *out filled (free with ingest_meta_batch_free), even when every
 * message was refused or skipped; CH_EINVAL with errstr when the body is
 * not a webhook at all (not JSON, "object" neither page nor instagram, no
 * "entry" array); CH_ENOMEM.
 */
int ingest_meta_parse_webhook(const char *body, size_t len, int64_t now_ms, ingest_meta_batch *out,
                              char *errstr, size_t errstr_size);
void ingest_meta_batch_free(ingest_meta_batch *b);

/*
 * The case event of a usable message m for organisation: with case_id NULL,
 * a contact (Received: channel social, customer.social_id = sender,
 * gateway_account = account, gateway_message_id = mid, summary = text,
 * attachments, case_type); else a CustomerMessage on that case (from =
 * sender). The text is cut to CH_FIELD_TEXT_MAX characters and control
 * characters other than TAB, LF and CR become spaces. meta gets the
 * idempotency id: the mid, or "sha256:" + its hex digest when it is longer
 * than CH_GATEWAY_MESSAGE_ID_MAX. Returns 0 with *out (free with
 * ch_event_json_free), or CH_ENOMEM.
 */
int ingest_meta_event(const ingest_meta_msg *m, const char *organisation, const char *case_type,
                      const char *case_id, Charter__V1__CaseEvent **out, ch_event_json_meta *meta);

#endif
