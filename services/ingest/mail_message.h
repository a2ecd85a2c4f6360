/*
 * One delivered e-mail, read into what Charter needs (pure of Kafka, Redis
 * and libevent: tests/unit/test_ingest_mail_message.c, fuzz_mail_message).
 *
 * The SMTP listener hands over the bytes of the DATA phase (RFC 5322 + MIME,
 * dot-unstuffed); GMime 3 does all of MIME (headers, encoded words,
 * transfer encodings, charsets converted to UTF-8, multipart), because a
 * hand-written MIME parser facing the whole Internet is the classic source
 * of bugs. This module only decides what the message is:
 *
 *   INVALID  no usable From, or not a message at all;
 *   IGNORED  a loop (From one of Charter's own domains, or a Charter
 *            Message-ID as its own Message-ID), an automatic reply (RFC 3834
 *            Auto-Submitted, Precedence bulk/junk/list/auto_reply,
 *            X-Autoreply, X-Autorespond), list mail (List-Id,
 *            List-Unsubscribe), or a delivery report not about a notice;
 *   BOUNCE   a delivery report (RFC 3464 multipart/report;
 *            report-type=delivery-status) whose returned headers carry a
 *            Charter notice's Message-ID (charter/notice_id.h);
 *   REPLY    names a case: a notice in In-Reply-To/References (that wins),
 *            or a case reference (PREFIX-YYYY-NNNNNN) in the subject;
 *   NEW      anything else: a new contact.
 *
 * The text is text/plain, or text made from text/html when there is no
 * plain part; it is capped at CH_FIELD_TEXT_MAX characters, names at
 * CH_FIELD_NAME_MAX, the subject and names are one line without controls.
 * Attachments are listed by name, type and decoded size (at most
 * INGEST_MAIL_MAX_ATTACHMENTS), never their contents; MIME nesting deeper
 * than INGEST_MAIL_MAX_DEPTH is not descended into.
 */
#ifndef CHARTER_INGEST_MAIL_MESSAGE_H
#define CHARTER_INGEST_MAIL_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#define INGEST_MAIL_MAX_ATTACHMENTS 100
#define INGEST_MAIL_MAX_DEPTH 8

typedef enum {
    INGEST_MAIL_NEW = 0, /* a new contact */
    INGEST_MAIL_REPLY,   /* names a case: a reference in the subject, or a Charter notice in
                            In-Reply-To/References */
    INGEST_MAIL_BOUNCE,  /* a delivery status notification about a Charter notice */
    INGEST_MAIL_IGNORED, /* auto-reply, DSN not about a Charter notice, list mail, a loop: no
                            case; why says which */
    INGEST_MAIL_INVALID, /* not a message we can read (no From, unparseable): why */
} ingest_mail_kind;

typedef struct {
    char *name;         /* UTF-8 file name, one line; "" when the part has none */
    char *content_type; /* "type/subtype", lower case */
    int64_t size_bytes; /* decoded size */
} ingest_mail_attachment;

typedef struct {
    ingest_mail_kind kind;
    const char *why;    /* static phrase for IGNORED / INVALID, e.g. "an automatic reply
                           (Auto-Submitted: auto-replied)"; NULL otherwise */
    char *message_id;   /* without angle brackets; NULL if none */
    char *from_address; /* the domain lower-cased, the local part as given; checked with
                           ch_mailbox_valid. Never NULL for NEW and REPLY; may be NULL for
                           BOUNCE and IGNORED delivery reports and for INVALID */
    char *from_name;    /* display name, UTF-8, may be NULL */
    char *subject;      /* UTF-8, may be NULL */
    char *text;         /* UTF-8 body: text/plain, or the text of text/html when that is all
                           there is; never NULL (may be "") unless INVALID */
    ingest_mail_attachment *attachments; /* names and sizes (decoded), never contents */
    size_t nattachments;
    char reference[64];        /* a case reference in the subject ("NCH-2026-004217": 2-10
                                  capitals, a year, six or more digits), or "" */
    char notification_id[200]; /* REPLY: the Charter notice named in In-Reply-To/References
                                  (charter/notice_id.h), or ""; BOUNCE: the bounced notice */
    int bounce_permanent;      /* BOUNCE: 1 for a 5.x.x failure, 0 for 4.x.x (delayed) */
    char bounce_reason[256];   /* BOUNCE: Status + Diagnostic-Code as given */
    int64_t date_ms;           /* the Date header (ms since the epoch), or 0 */
} ingest_mail;

/*
 * Reads the message data[0..len). own_domains[0..ndomains): the mail domains
 * Charter sends from (a message From one of them, or carrying a Charter
 * Message-ID as its own Message-ID, is a loop: IGNORED).
 * Returns 0 with *out filled (free with ingest_mail_free), INVALID included
 * (kind and why say what is wrong, and err gets the same sentence); -1 with
 * err naming what is wrong when nothing could be done (out of memory, bad
 * arguments); *out is then empty and needs no freeing (freeing is harmless).
 * ingest_mail_global_init must have been called.
 */
int ingest_mail_parse(const char *data, size_t len, const char *const *own_domains, size_t ndomains,
                      ingest_mail *out, char *err, size_t errsz);

/* Frees what ingest_mail_parse allocated and empties *m; NULL is fine. */
void ingest_mail_free(ingest_mail *m);

/* Once per process before any thread parses: g_mime_init; and its shutdown
 * after the last parse. */
void ingest_mail_global_init(void);
void ingest_mail_global_fini(void);

#endif
