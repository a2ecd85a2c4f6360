/*
 * Delivery of customer notices, per channel and organisation, from the
 * notification outcomes: did the acknowledgements, holding replies and
 * appointment notices Charter sent arrive?
 *
 * WHAT IS COUNTED
 *
 * Reporting's running counts (report_counts.h) of an organisation get, for
 * each outcome of a customer notice (kinds acknowledgement to appointment
 * cancelled; staff alerts are not counted), one or two of
 *   "delivery.<month>.<channel>.sent"       the transport took it (SENT);
 *   "delivery.<month>.<channel>.delivered"  the provider's receipt said
 *                                           delivered (DELIVERED);
 *   "delivery.<month>.<channel>.failed"     its receipt said it failed
 *                                           (permanent, temporary or
 *                                           technical): a FAILED outcome whose
 *                                           reason starts
 *                                           "<status>-failure on <channel>"
 *                                           (notification's fallback.h); a
 *                                           refusal at sending is not a
 *                                           delivery failure and is not
 *                                           counted here;
 *   "delivery.<month>.<channel>.fell_back"  that failure sent the notice on
 *                                           by another channel ("...; fell
 *                                           back to <channel>").
 * <month> is the outcome's occurred_at month in UTC ("2026-12"), so a
 * period's figures are the sum of its months. Each outcome is counted once
 * by its event id, like every count.
 *
 * THE RATE
 *
 * Delivery rate = delivered / (delivered + failed): of the notices a
 * receipt was heard for, the share that arrived. A channel with no receipt
 * at all has an unknown rate, never 0%: the file and print transports (the
 * letters queue) and any gateway that sends no callbacks never get one, so
 * nothing is known about arrival, and the dashboard and publication say so.
 *
 * Pure: values in, values out.
 */
#ifndef CHARTER_REPORT_DELIVERY_H
#define CHARTER_REPORT_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include "charter/report_table.h"
#include "charter/v1/notification.pb-c.h"

#define CH_REPORT_DELIVERY_CHANNELS 8
#define CH_REPORT_DELIVERY_NAME_MAX 96 /* a count's name, with its NUL */

typedef struct {
    char channel[24]; /* "sms", "email", "letter", ... */
    int64_t sent, delivered, failed, fell_back;
} ch_report_delivery_row;

/* An organisation's delivery, one row per channel seen, in the order of
 * ch_report_delivery_order (then by name). */
typedef struct {
    ch_report_delivery_row rows[CH_REPORT_DELIVERY_CHANNELS];
    size_t n;
} ch_report_delivery;

/* The counts the outcome adds one to (see above) into names: 0, 1 or 2. */
size_t ch_report_delivery_names(const Charter__V1__NotificationOutcome *o,
                                char (*names)[CH_REPORT_DELIVERY_NAME_MAX]);

/* Sums the "delivery.<month>..." counts of t whose month is within
 * [from, to] into *out. A bound is a year ("2026": its months), a month or
 * a day (its whole month); NULL or "": none. */
void ch_report_delivery_sum(const ch_report_table *t, const char *from, const char *to,
                            ch_report_delivery *out);

/* delivered / (delivered + failed) as a percentage, or -1 when no receipt
 * came (unknown). */
double ch_report_delivery_rate(const ch_report_delivery_row *r);

/* "text message", "email", "letter", ...: the channel in words. */
const char *ch_report_delivery_words(const char *channel);

#endif
