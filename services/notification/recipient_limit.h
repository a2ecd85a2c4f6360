/*
 * A limit on customer notices per recipient and per UTC day
 * (notify.recipient_max_per_day), against "SMS pumping": anyone who can
 * post contacts through a public form could otherwise choose the numbers
 * and make the council pay for the texts. Staff alerts are not limited.
 *
 * The count lives in Redis, one counter per channel, recipient and UTC day,
 * shared by every instance. Its key never holds the address or number: it
 * holds the SHA-256 of the normalised recipient, so Redis keeps no personal
 * data it did not hold before. The key and the decision are pure (no I/O,
 * no clock: the day is a parameter), tested in
 * tests/unit/test_notify_recipient_limit.c; queue.c does the counting.
 */
#ifndef CHARTER_NOTIFY_RECIPIENT_LIMIT_H
#define CHARTER_NOTIFY_RECIPIENT_LIMIT_H

#include <stddef.h>
#include <stdint.h>

/* "charter:notify:recipient:" + channel (<= 16) + ":" + yyyymmdd + ":" + 64 hex. */
#define NOTIFY_RECIPIENT_KEY_MAX 128
/* A day's counter outlives its day by one, then goes. */
#define NOTIFY_RECIPIENT_KEY_TTL_S (2 * 86400)

/*
 * Writes the counter's key for `to` on `channel` on the UTC day holding
 * now_ms into out (NOTIFY_RECIPIENT_KEY_MAX bytes). The recipient is
 * normalised first, so spellings of one number or address share a counter:
 * a text message's number keeps only its digits and a leading '+'; any
 * other address is lower-cased with spaces removed. Returns 0, or CH_EINVAL
 * for a channel that does not fit.
 */
int notify_recipient_key(const char *channel, const char *to, int64_t now_ms, char *out,
                         size_t out_size);

/*
 * Whether a notice that made the recipient's count for the day `count`
 * (this one included) is over `max_per_day` (0: no limit). 1: over, do not
 * send; 0: send.
 */
int notify_recipient_over(int64_t count, int64_t max_per_day);

#endif
