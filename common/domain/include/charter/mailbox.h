/*
 * E-mail addresses Charter sends to, checked before anything is done with
 * them: at ingest's front door (a customer's address is refused with 422)
 * and again by the SMTP transport just before RCPT TO (defence in depth).
 * An address reaches libcurl's MAIL RCPT as "<address>", so a carriage
 * return, line feed or angle bracket in it would let the sender add SMTP
 * commands of their own through the council's relay.
 *
 * What is accepted is RFC 5321's Mailbox in its everyday form: a dot-string
 * local part (letters, digits and !#$%&'*+/=?^_`{|}~- separated by single
 * dots; at most 64 octets) and a domain of at least two labels (letters,
 * digits and hyphens, 1-63 octets, no hyphen at either end), at most 254
 * octets in all. Quoted local parts, address literals and non-ASCII
 * (SMTPUTF8) addresses are refused: no gateway we serve sends them, and a
 * refusal names why.
 *
 * Pure.
 */
#ifndef CHARTER_MAILBOX_H
#define CHARTER_MAILBOX_H

#include <stddef.h>

#define CH_MAILBOX_MAX 254

/* 1 if s is a mailbox as above; 0 if not, with *why (when why is not NULL)
 * set to a static phrase such as "it has no '@'" or "it contains a control
 * character". */
int ch_mailbox_valid(const char *s, const char **why);

#endif
