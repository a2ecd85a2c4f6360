/*
 * Reporting's running counts: what each record on the three topics adds
 * one to, and which counts are events.
 *
 * Beside the charter's figures (report_agg.h) the service keeps plain
 * counts per organisation, each record counted once by its stable id:
 *   - a case event: its type ("received", "responded", ...), and for a
 *     `received` event its channel too ("received.email");
 *   - a fired timer: "timers.<kind>" ("timers.breach"), counted by timer id,
 *     so a timer fired twice counts once;
 *   - a notification outcome: "notifications.<status>", and for a customer
 *     notice's its delivery counts, "delivery.<month>.<channel>.<what>"
 *     (report_delivery.h), which are not events of their own.
 * The per-channel "received.<channel>" counts break `received` down; they
 * are not events of their own. So the number of events counted (a report
 * snapshot's events_counted) is the sum of the counts that are events:
 * names without a '.', and those under "timers." and "notifications.".
 *
 * Pure: values in, values out.
 */
#ifndef CHARTER_REPORT_COUNTS_H
#define CHARTER_REPORT_COUNTS_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#define CH_REPORT_COUNT_NAME_MAX 96 /* a count's name, with its NUL */

/* One record as the counts see it. The ids are borrowed from the message. */
typedef struct {
    const char *organisation;
    const char *case_id;                     /* "" when the record names no case */
    const char *event_id;                    /* the id it is counted once by: event or timer id */
    char names[4][CH_REPORT_COUNT_NAME_MAX]; /* the counts it adds one to */
    size_t nnames;
} ch_report_counted;

/*
 * What a record on the reporting topics counts: msg is a CaseEvent, a
 * TimerFired or a NotificationOutcome. 0 and *out, or CH_EINVAL for a
 * message of another type.
 */
int ch_report_counts_of(const ProtobufCMessage *msg, ch_report_counted *out);

/* 1 when the count of this name is one per event (see above), else 0. */
int ch_report_count_is_event(const char *name);

#endif
