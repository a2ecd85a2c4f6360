/*
 * What one delivered message becomes for one of its recipients
 * (mail_deliver.c): a contact, a customer's message on its case, a delivery
 * receipt, or nothing (ignored), and the SMTP answer that says so. The
 * listener (mail_listener.c) parses the message once and calls this per
 * accepted recipient; in LMTP each recipient gets its own answer.
 */
#ifndef INGEST_MAIL_DELIVER_H
#define INGEST_MAIL_DELIVER_H

#include <stddef.h>

#include "mail_message.h"
#include "smtp_session.h"

struct ingest;
struct ch_metric;

typedef struct {
    struct ch_metric *m_messages, *m_contacts, *m_replies, *m_ignored, *m_bounces, *m_invalid,
        *m_refused, *m_deferred, *m_connections;
} ingest_mail_metrics;

/* An accepted recipient: its mailbox. */
typedef struct {
    char address[SMTP_ADDR_MAX + 1];
    char org[64];
    char case_type[40];
} ingest_mail_rcpt;

/* The answer for one recipient: code (250, 451, 554, ...) and text starting
 * with the enhanced status code. */
typedef void (*ingest_mail_answer_fn)(void *arg, int code, const char *text);

/*
 * Delivers msg (parsed; borrowed until fn has run) from envelope sender
 * (""  for the null sender) to r. fn runs exactly once, perhaps before this
 * returns. source is the item's source ("smtp:mail" or "lmtp:mail").
 */
void ingest_mail_deliver(struct ingest *in, const ingest_mail_metrics *mm, const ingest_mail *msg,
                         const char *raw, size_t raw_len, const char *sender,
                         const ingest_mail_rcpt *r, const char *source, ingest_mail_answer_fn fn,
                         void *arg);

#endif
