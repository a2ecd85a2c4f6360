/*
 * Charter's Kafka topics, named once. Every topic carries protobuf (see
 * proto/charter/v1/); each is keyed by case id, so one case's events stay in
 * order on one partition. deploy/kafka/create-topics.sh and the embedded
 * broker create them with these names; services take them as config defaults.
 */
#ifndef CHARTER_TOPICS_H
#define CHARTER_TOPICS_H

/* CaseEvent: contacts and case events from ingest. */
#define CH_TOPIC_CONTACT_EVENTS "charter.contact.events.v1"
/* TimerFired: acknowledgement, warning, breach, review, reminder, wait timers
 * from sla-timer. */
#define CH_TOPIC_SLA_TIMERS "charter.sla.timers.v1"
/* NotificationOutcome: what notification did with each message. */
#define CH_TOPIC_NOTIFY_OUTCOMES "charter.notify.outcomes.v1"
/* DeliveryReceipt: providers' delivery reports and bounces, from ingest. */
#define CH_TOPIC_NOTIFY_RECEIPTS "charter.notify.receipts.v1"
/* ReportSnapshot: reporting's figures, compacted (key = org|period). */
#define CH_TOPIC_REPORTS "charter.reports.v1"
/* DeadLetter: records a service could not read or act on, with the reason. */
#define CH_TOPIC_DLQ "charter.dlq.v1"

#endif
