/*
 * The RFC 5322 Message-ID of a notice Charter e-mails, and the way back from
 * it. A customer's reply names the notice in In-Reply-To / References, and a
 * bounce quotes it in the returned headers; ingest, which receives both, must
 * find the notice (and so the case) from the Message-ID alone, without
 * asking notification (services talk only through Kafka). So the id is
 * carried in the Message-ID itself:
 *
 *     <n.CASE/WHAT.HASH@DOMAIN>
 *
 * CASE/WHAT is the notification id ("<case id>/<what>", e.g.
 * "8c1f.../acknowledgement" or ".../warning/1"), which is made of RFC 5322
 * atext characters and single dots; HASH is 16 hex digits of a hash of the
 * id, so a Message-ID someone made up by hand is not taken for ours. A
 * notification id with other characters cannot be carried and gets
 * "<h.HASH32@DOMAIN>" (the form used before): valid, unique, but no way back.
 *
 * Pure.
 */
#ifndef CHARTER_NOTICE_ID_H
#define CHARTER_NOTICE_ID_H

#include <stddef.h>

/* Writes the Message-ID (angle brackets included) of notice notification_id
 * sent from domain ("charter.invalid" when NULL or empty). 0, or -1 when it
 * does not fit in bufsz (buf then holds the hash-only form when that fits). */
int ch_notice_message_id(const char *notification_id, const char *domain, char *buf, size_t bufsz);

/* Finds the notification id in msgid (with or without angle brackets and
 * surrounding spaces): 1 and notification_id filled when msgid is one of
 * Charter's carrying form and its hash checks; 0 otherwise. case_id, when
 * not NULL, gets the part before the first '/'. */
int ch_notice_message_id_parse(const char *msgid, char *notification_id, size_t idsz, char *case_id,
                               size_t casesz);

#endif
