/*
 * What a provider's delivery receipt (DeliveryReceipt on
 * charter.notify.receipts.v1) does to the customer notice it is about,
 * decided from values: receipts.c reads the notice's delivery record and
 * the customer's details, asks notify_receipt_plan_make, and does what it
 * says. Pure (no Redis, no clock), so test_notify_fallback checks every
 * branch.
 *
 * WHAT EACH STATUS DOES
 *
 *   delivered          the notice's outcome becomes DELIVERED.
 *   permanent-failure  FAILED, and the notice goes again by the customer's
 *                      next channel (below): the address or number will
 *                      never work.
 *   temporary-failure  the same as permanent: GOV.UK Notify has already
 *                      retried for 72 hours (a phone off, an inbox full), so
 *                      trying that channel again tomorrow would leave the
 *                      customer without their acknowledgement for days; a
 *                      council wants them reached, so the next channel.
 *   technical-failure  FAILED, and the same notice by the same channel once
 *                      more (the provider's own fault: Notify says "try
 *                      again"); a second technical failure of that resend
 *                      falls back like a permanent one.
 *
 * THE FALLBACK ORDER
 *
 * The order a notice picks its channel in the first place (render.h): the
 * channel the promise's reply rule wants (the customer's preferred one,
 * where the rule allows), then email, text message, the inbound channel,
 * a letter (the letters queue: notify.letter.transport) — each only when
 * the customer gave an address for it — skipping every channel the notice
 * already failed by. So a text message that bounces goes by email (if they
 * gave an address), then by letter (if they gave a postal address); an
 * email that bounces goes by text message, then letter. With no channel
 * left, the case owner gets the "undeliverable" staff alert (the
 * NOTIFICATION_KIND_STAFF_UNDELIVERABLE path) and the notice is recorded
 * UNDELIVERABLE.
 *
 * NAMES AND REASONS
 *
 * A fallback is a new notice with its own notification id, so its record
 * keeps it to one however often the receipt comes:
 * "<case>/<what>/fallback-<channel>" ("/fallback" when no channel is left:
 * the staff alert's), a resend "<case>/<what>/resend-<channel>", where
 * <what> is the first notice's (a fallback of a fallback is named from the
 * first). The failed outcome's reason is
 * "<status> on <channel>; <what was done>; provider: <their words>", what
 * was done being "fell back to <channel>", "sent again by <channel>", "no
 * channel left: staff told" or "no fallback: ..."; reporting reads the
 * first two parts (report_delivery.h). The new notice's outcomes say
 * "fallback after <status> on <channel>" or "resent after <status> on
 * <channel>".
 */
#ifndef CHARTER_NOTIFY_FALLBACK_H
#define CHARTER_NOTIFY_FALLBACK_H

#include <stddef.h>

#include "charter/org_set.h"
#include "contact_details.h"

/* What the receipt does (see above). */
typedef enum {
    NOTIFY_RECEIPT_DELIVERED, /* DELIVERED outcome */
    NOTIFY_RECEIPT_FAILED,    /* FAILED outcome and nothing more */
    NOTIFY_RECEIPT_RESEND,    /* FAILED; the same channel once more */
    NOTIFY_RECEIPT_FALLBACK,  /* FAILED; the next channel (channel NULL: none left) */
} notify_receipt_step;

typedef struct {
    notify_receipt_step step;
    const char *status;  /* "delivered", "permanent-failure", ... (static) */
    char what[200];      /* RESEND, FALLBACK: the new notice's name under its case */
    const char *channel; /* RESEND, FALLBACK: its channel (static); NULL: none left */
    char skip[96];       /* RESEND, FALLBACK: the channels it must not use */
    char tried[96];      /* RESEND, FALLBACK: the channels tried, its own included */
    char reason[700];    /* the outcome's reason (FAILED...; "" for DELIVERED) */
    char note[160];      /* RESEND, FALLBACK: its outcomes' reason */
} notify_receipt_plan;

/* The name of a DeliveryReceipt status (Charter__V1__DeliveryReceipt__Status)
 * in GOV.UK Notify's words, or NULL for an unknown one. */
const char *notify_receipt_status_name(int status);

/* The first notice's name of `what` ("acknowledgement/fallback-email" ->
 * "acknowledgement"), into buf. */
void notify_receipt_root(const char *what, char *buf, size_t bufsz);

/*
 * The plan for a receipt of `status` about the notice named `what` (its id
 * after "<case>/") sent by `channel`, having tried `tried` (comma-separated;
 * "" for the channel alone). `provider_reason` is the provider's words
 * (may be ""). c is the customer's details, or NULL when the notice was not
 * a customer's or their details are gone (the case closed): then a failure
 * is only FAILED. oc is the organisation's policy (may be NULL).
 * Returns 0 and *out, or CH_EINVAL for an unknown status.
 */
int notify_receipt_plan_make(int status, const char *what, const char *channel, const char *tried,
                             const char *provider_reason, const ch_org_clocks *oc,
                             const notify_contact *c, notify_receipt_plan *out);

#endif
