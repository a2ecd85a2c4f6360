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
 * text/plain; charset=UTF-8 (7bit when ASCII with no line over 998 octets,
 * else base64 wrapped at 76). Every line end of the body (CR LF, a bare CR,
 * a bare LF) becomes CRLF. CR, LF and other control characters in a header
 * value become spaces; a subject outside ASCII or over 900 octets is folded
 * into RFC 2047 encoded words of whole characters. Returns a string to free,
 * or NULL on ENOMEM.
 */
char *notify_mime_message(const char *from, const char *to, const char *subject, const char *body,
                          const char *message_id, int64_t date_s);

/*
 * Message-ID for a notification (charter/notice_id.h): it carries the
 * notification id, so ingest can tie a reply or a bounce to the notice;
 * the same on every attempt. Writes into buf (empty if it does not fit).
 */
void notify_message_id(const char *notification_id, const char *domain, char *buf, size_t bufsz);

#endif
