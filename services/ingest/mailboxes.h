/*
 * Which organisation, and which case type, a mail sent to an address is for
 * (ingest.mailboxes). The MTA's envelope recipient (RCPT TO) decides, never
 * the To: header: the council's mail server has already resolved aliases
 * and lists, and a customer can write anything in To:.
 *
 * One line per mailbox, '#' starts a comment:
 *
 *   complaints@nottinghamcity.gov.uk  nottingham-city-homes  complaint_stage_1
 *   feedback@nottinghamcity.gov.uk    nottingham-city-homes
 *   *@charter.localhost
 *   *@nihe.example                    nihe  enquiry
 *
 * An address line names the organisation and, optionally, the case type
 * (default: enquiry, the type every policy takes; its e-mail promise is the
 * charter's own "if you email us" rule). A "*@DOMAIN" line catches the rest
 * of a domain: with an organisation, every address there is that
 * organisation's; without one, the local part is the organisation id
 * (<organisation-id>@charter.localhost under `make run`), each with
 * enquiry. An exact address wins over its domain's line; addresses and
 * domains match case-insensitively.
 *
 * Pure: whether the organisation exists and takes the case type is the
 * caller's to check against the policies of the moment.
 */
#ifndef INGEST_MAILBOXES_H
#define INGEST_MAILBOXES_H

#include <stddef.h>

#define INGEST_MAILBOX_DEFAULT_TYPE "enquiry"

typedef struct ingest_mailboxes ingest_mailboxes;

/* Parses the text of a mailbox file (name for errors: "FILE:LINE: ...").
 * 0 and *out (free with ingest_mailboxes_free), or CH_EINVAL/CH_ENOMEM with
 * errstr naming the line. */
int ingest_mailboxes_parse(const char *text, size_t len, const char *name, ingest_mailboxes **out,
                           char *errstr, size_t errstr_size);

/* Reads and parses a file (at most 1 MiB); CH_EIO when it cannot be read. */
int ingest_mailboxes_load(const char *path, ingest_mailboxes **out, char *errstr,
                          size_t errstr_size);

void ingest_mailboxes_free(ingest_mailboxes *m);

size_t ingest_mailboxes_count(const ingest_mailboxes *m);

/* The mailbox of address: 1 with org and case_type filled, 0 when no line
 * matches (or the organisation taken from the local part would not fit). */
int ingest_mailboxes_find(const ingest_mailboxes *m, const char *address, char *org, size_t orgsz,
                          char *case_type, size_t case_type_sz);

#endif
