/*
 * The one table of names for the protobuf enums Charter writes as text: in
 * JSON, in logs, in Redis keys, in reports and in charterctl's output. Every
 * service and tool takes its names from here, so a channel or a timer kind is
 * spelled one way everywhere.
 *
 * The names are the lower-case protobuf value names without their prefix
 * ("CHANNEL_ONLINE_FORM" -> "online_form"); an unknown value is "unknown"
 * ("unspecified" for a channel, which has a value of that name).
 */
#ifndef CHARTER_NAMES_H
#define CHARTER_NAMES_H

#include "charter/v1/case_event.pb-c.h"
#include "charter/v1/notification.pb-c.h"
#include "charter/v1/timer.pb-c.h"

/* "email", "online_form", ...; "unspecified" for anything else. */
const char *ch_channel_name(Charter__V1__Channel ch);
/* The channel of a name, or CHARTER__V1__CHANNEL__CHANNEL_UNSPECIFIED. */
Charter__V1__Channel ch_channel_from_name(const char *name);

/* "acknowledgement_due", "warning", "breach", "review_due", "reminder",
 * "wait_exceeded"; "unknown" for anything else. */
const char *ch_timer_kind_name(Charter__V1__TimerKind k);

/* The oneof's field name: "received", "holding_reply", ...; "unknown". */
const char *ch_case_event_name(Charter__V1__CaseEvent__EventCase c);

/* "queued", "sent", "delivered", "failed", "suppressed"; "unknown". */
const char *ch_outcome_status_name(Charter__V1__NotificationOutcome__Status s);

#endif
