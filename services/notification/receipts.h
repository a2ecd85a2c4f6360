/*
 * The receipts consumer: a provider's word on a notice Charter sent
 * (DeliveryReceipt on notify.receipts_topic, written by ingest from GOV.UK
 * Notify's callbacks and e-mail bounces) becomes the notice's outcome,
 * DELIVERED or FAILED, and a failure of a customer notice sends it again by
 * the customer's next channel (fallback.h says which and when).
 *
 * The notice is found by its notification id through its delivery record
 * (queue.h: "<idem_key>:delivery", kept NOTIFY_DELIVERY_TTL_S after the
 * transport took it). A receipt whose notice has none (a staff alert, a
 * notice older than that, an id Charter never gave) is counted
 * (charter_notify_receipts_unmatched_total), logged and dropped; a receipt
 * that cannot be read (no notification id, an unknown status) goes to the
 * dead-letter topic.
 *
 * One receipt per notice counts: the first settles the delivery record and
 * a later one, repeated or contradicting, is counted
 * (charter_notify_receipts_repeated_total) and dropped. A receipt being
 * handled holds the record for RECEIPT_LEASE_MS, so a second one read
 * meanwhile waits; one whose handler died is taken up again after it. The
 * steps (outcome, fallback queued) are idempotent by their ids, so a crash
 * between them repeats, never doubles, them.
 */
#ifndef CHARTER_NOTIFY_RECEIPTS_H
#define CHARTER_NOTIFY_RECEIPTS_H

#include "charter/runtime.h"
#include "charter/v1/notification.pb-c.h"
#include "notify.h"

/* Handles one receipt; calls ch_msg_done(m) exactly once, now or later. */
void notify_receipt(notify *n, ch_msg *m, const Charter__V1__DeliveryReceipt *r);

/* Sets up the receipts' Lua script. Returns 0 or CH_ENOMEM with errstr. */
int notify_receipts_init(notify *n, char *errstr, size_t errstr_size);

#endif
