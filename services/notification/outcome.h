/*
 * What notification tells the rest of Charter: an outcome event per
 * notification and status on notify.outcomes_topic (reporting counts them,
 * and a customer's acknowledgement is "sent" from it), and the
 * NotificationRequest of one that failed for good on notify.dlq_topic.
 */
#ifndef CHARTER_NOTIFY_OUTCOME_H
#define CHARTER_NOTIFY_OUTCOME_H

#include "notify.h"
#include "transport.h"

/*
 * Produces a NotificationOutcome for m with `status`
 * (Charter__V1__NotificationOutcome__Status) by `transport` ("" before one
 * was chosen). Its event id is "<id>/<status>" or, for a retry,
 * "<id>/<status>/<attempt>" (attempt > 0): a repeat carries the same id, so
 * consumers drop it. The ch_produce contract: 0 and cb exactly once (cb may
 * be NULL: fire and forget), or CH_E* and never.
 */
int notify_outcome(notify *n, const notify_message *m, const char *transport, int status,
                   const char *reason, int attempt, ch_produce_cb cb, void *opaque);

/*
 * A customer's acknowledgement m went at sent_ms: the case event
 * `acknowledged {by: "automatic", channel, notification_id}` on
 * charter.contact.events.v1, keyed by the case, with event id
 * "<notification id>/acknowledged" (a repeat dedupes) and occurred_at the
 * time it was sent, so sla-timer stops its acknowledgement clock and
 * reporting judges it. Fire and forget (a repeat of the send announces it
 * again).
 */
void notify_acknowledged(notify *n, const notify_message *m, int64_t sent_ms);

/* Dead-letters m (a DeadLetter holding its NotificationRequest) from
 * `source`, fire and forget. */
void notify_dead_letter(notify *n, const notify_message *m, const char *source, const char *reason);

#endif
