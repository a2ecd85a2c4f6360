/*
 * The email as it goes on the wire: an RFC 5322 message with an RFC 2047
 * subject and a Message-ID that is the same on every attempt, so a
 * receiver that drops repeated Message-IDs sees a resend as the repeat it
 * is. Built by hand rather than with curl_mime because the SMTP transport
 * must stop before the end-of-data mark (transports/smtp.c). Pure.
 */
#ifndef CHARTER_NOTIFY_MIME_H
#define CHARTER_NOTIFY_MIME_H

#include <stddef.h>
#include <stdint.h>

/*
 * Builds an RFC 5322 message with CRLF line ends: Date (UTC, from date_s),
 * From, To, Subject (RFC 2047 encoded when not ASCII), Message-ID, MIME 1.0,
 * text/plain; charset=UTF-8 (7bit when ASCII, else base64). CR and LF in a
 * header value become spaces. Returns a string to free, or NULL on ENOMEM.
 */
char *notify_mime_message(const char *from, const char *to, const char *subject, const char *body,
                          const char *message_id, int64_t date_s);

/*
 * Message-ID for a notification: "<" + a hex digest of the notification id
 * + "@" + domain (or charter.invalid) + ">", the same on every attempt.
 * Writes into buf.
 */
void notify_message_id(const char *notification_id, const char *domain, char *buf, size_t bufsz);

#endif
