/*
 * A case's page record: what the work queue and the case page show about a
 * case beyond its figures, kept by reporting per case (store.h:
 * charter:report:{<org>}:page:<case id>).
 *
 * WHY A SECOND RECORD BESIDE THE CASE'S STATE
 *
 * The case's state (report_agg.h) is the deadline engine's state plus the
 * facts the figures need, merged so that the figures do not depend on the
 * order of the three topics. A manager also needs what the figures never
 * need: the reference, who owns the case (its latest `assigned` event), the
 * events in order with who did them, the notices sent and their outcome, the
 * customer's messages. Keeping those apart keeps the state small and the
 * figures' rules untouched.
 *
 * Bounded: at most REPORT_PAGE_EVENTS events (timers fired among them),
 * REPORT_PAGE_NOTICES notices and REPORT_PAGE_MESSAGES customer messages,
 * the oldest dropped first; a message's text is cut to
 * REPORT_PAGE_TEXT_MAX bytes (at a UTF-8 boundary). Idempotent: a record
 * applied twice (by event id, timer id, or a notice's id and status)
 * changes nothing the second time.
 *
 * The record is compact JSON:
 *   {"case","org","ref","channel","type","received","owner","team",
 *    "closed","due",
 *    "events":[{"id","type","at","by"}],
 *    "notices":[{"id","kind","channel","status","at","role"}],
 *    "messages":[{"id","at","channel","subject","text","attachments"}]}
 * with times in ms since the epoch.
 *
 * Pure: values in, values out (jansson for the JSON).
 */
#ifndef CHARTER_REPORTING_CASEPAGE_H
#define CHARTER_REPORTING_CASEPAGE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#define REPORT_PAGE_EVENTS 64
#define REPORT_PAGE_NOTICES 32
#define REPORT_PAGE_MESSAGES 16
#define REPORT_PAGE_TEXT_MAX 1000

/*
 * Applies msg (a CaseEvent, TimerFired or NotificationOutcome) to the page
 * record old (len bytes, NULL for none). due_ms is the response target in
 * force the case's figures step worked out (0: none running, e.g. answered,
 * closed or paused; negative: unknown, keep the record's). Returns 0 with *out the new record
 * (malloc'd) or NULL when nothing changed, and the record's reference in ref
 * (refsz bytes; "" when none), as report_page_reference reads it; CH_ENOMEM.
 */
int report_page_apply(const char *old, size_t len, const ProtobufCMessage *msg, int64_t due_ms,
                      char **out, char *ref, size_t refsz);

/* The reference of a record (into buf, "" when none or unreadable). */
void report_page_reference(const char *text, size_t len, char *buf, size_t bufsz);

/* "2 days 3 hours overdue", "45 minutes left", "due now": the time from
 * now_ms to due_ms in the two largest units. */
void report_time_left(int64_t due_ms, int64_t now_ms, char *buf, size_t bufsz);

/* "Monday 7 December 2026, 17:00" for local seconds (tz.h). */
void report_local_words(int64_t local_s, char *buf, size_t bufsz);

#endif
