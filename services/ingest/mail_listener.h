/*
 * E-mail in: ingest's SMTP/LMTP listener (mail_listener.c) and what a
 * delivered message becomes (mail_deliver.c). See docs/gateways.md
 * "E-mail" and docs/architecture.md "E-mail in".
 *
 * The listener runs on ingest's loop, so a message goes through the same
 * pipeline as an HTTP contact (claim, reference, Kafka) and is answered 250
 * only once its event (or delivery receipt) is confirmed on Kafka; 451
 * otherwise, so the sending MTA keeps it and retries, and the retry finds
 * the claim of its Message-ID (gateway "mail") and produces nothing twice.
 */
#ifndef INGEST_MAIL_LISTENER_H
#define INGEST_MAIL_LISTENER_H

#include <stddef.h>
#include <stdint.h>

struct ingest;

typedef struct {
    char *listen;   /* "host:port", "" off */
    char *protocol; /* "smtp" or "lmtp" */
    char *mailboxes;
    char *own_domains;
    char *receipts_topic;
    int64_t max_bytes;
    int64_t max_recipients;
    int64_t rate_per_minute;
    int64_t max_connections;
    int64_t command_timeout_ms;
    int64_t data_timeout_ms;
} ingest_mail_config;

/* The gateway id of mail: its line in ingest.gateways_file says which
 * organisations mail may write for; the idempotency of a Message-ID is
 * charter:idem:{ORG}:mail:<Message-ID>. */
#define INGEST_MAIL_GATEWAY "mail"

int ingest_mail_listen_validate(const char *text, char *errstr, size_t errstr_size);
int ingest_mail_protocol_validate(const char *text, char *errstr, size_t errstr_size);

/* ingest's config table entries for e-mail (main.c). */
#define INGEST_MAIL_CONFIG_KEYS                                                                    \
    CH_CFG_STR_CHECKED(ingest_config, mail.listen, "ingest.mail_listen", "",                       \
                       "host:port of the SMTP/LMTP listener a mail server delivers to (e.g. "      \
                       "127.0.0.1:2525); empty: no e-mail in. No TLS, no AUTH: keep it on "        \
                       "loopback or a private network behind the council's MTA",                   \
                       ingest_mail_listen_validate),                                               \
        CH_CFG_STR_CHECKED(ingest_config, mail.protocol, "ingest.mail_protocol", "smtp",           \
                           "smtp or lmtp (RFC 2033: one answer per recipient; Postfix's "          \
                           "lmtp: transport)",                                                     \
                           ingest_mail_protocol_validate),                                         \
        CH_CFG_STR(ingest_config, mail.mailboxes, "ingest.mailboxes", "",                          \
                   "file of mailboxes, one \"ADDRESS ORGANISATION [CASE_TYPE]\" or \"*@DOMAIN "    \
                   "[ORGANISATION [CASE_TYPE]]\" per line (docs/gateways.md); required with "      \
                   "ingest.mail_listen; read again on SIGHUP"),                                    \
        CH_CFG_STR(ingest_config, mail.own_domains, "ingest.mail_own_domains", "",                 \
                   "the domains Charter's own notices are sent from, separated by spaces (the "    \
                   "domain of notify.smtp.from): mail From them is a loop and is ignored"),        \
        CH_CFG_STR(ingest_config, mail.receipts_topic, "ingest.receipts_topic",                    \
                   "charter.notify.receipts.v1",                                                   \
                   "topic delivery receipts (a bounce of a notice, GOV.UK Notify's "               \
                   "delivery-status callbacks) are written to"),                                   \
        CH_CFG_INT(ingest_config, mail.max_bytes, "ingest.mail_max_bytes", "10485760",             \
                   "largest message accepted (SIZE= at MAIL FROM, and the data): larger gets "     \
                   "552 5.3.4",                                                                    \
                   1024, 1073741824),                                                              \
        CH_CFG_INT(ingest_config, mail.max_recipients, "ingest.mail_max_recipients", "50",         \
                   "recipients per message; more get 452 4.5.3 (the MTA sends them again)", 1,     \
                   10000),                                                                         \
        CH_CFG_INT(ingest_config, mail.rate_per_minute, "ingest.mail_rate_per_minute", "600",      \
                   "messages (MAIL FROM) per client address per minute; more get 450 4.7.0 "       \
                   "(the MTA retries later)",                                                      \
                   1, 1000000),                                                                    \
        CH_CFG_INT(ingest_config, mail.max_connections, "ingest.mail_max_connections", "100",      \
                   "SMTP/LMTP connections at once; more get 421 4.7.0 and are closed", 1, 100000), \
        CH_CFG_INT(ingest_config, mail.command_timeout_ms, "ingest.mail_command_timeout_ms",       \
                   "300000",                                                                       \
                   "a connection silent this long while a command is due is closed (421 "          \
                   "4.4.2); RFC 5321 asks for at least 5 minutes",                                 \
                   1000, 3600000),                                                                 \
        CH_CFG_INT(ingest_config, mail.data_timeout_ms, "ingest.mail_data_timeout_ms", "600000",   \
                   "the whole of a message's data must arrive within this (421 4.4.2)", 1000,      \
                   3600000)

/* From ingest's init: opens the listener when ingest.mail_listen is set
 * (loads the mailboxes, checks the gateways file lists "mail"). 0, or an
 * error with errstr filled. */
int ingest_mail_start(struct ingest *in, char *errstr, size_t errstr_size);

/* On SIGHUP: reads ingest.mailboxes again; a bad file keeps the old map
 * (logged). */
void ingest_mail_reload(void *svc);

/* From ingest's fini: closes the listener and every connection. */
void ingest_mail_fini(struct ingest *in);

#endif
