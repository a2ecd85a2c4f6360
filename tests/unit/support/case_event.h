/*
 * Case events built in place for tests of what consumes them (case clocks,
 * timer plans, reporting's counters), without JSON or Kafka: one buffer holds
 * the event, its instants and its message of every kind, so an event lives
 * as long as the caller's buffer and nothing is freed. A test fills in the
 * fields its case needs (b->received.channel, b->call.wait_seconds, ...)
 * after fx_case_event().
 */
#ifndef CHARTER_TEST_CASE_EVENT_H
#define CHARTER_TEST_CASE_EVENT_H

#include <stdint.h>

#include "charter/v1/case_event.pb-c.h"

typedef struct {
    Charter__V1__CaseEvent ev;
    Charter__V1__Timestamp ts;  /* occurred_at */
    Charter__V1__Timestamp ts2; /* a second instant: a new target, an appointment */
    Charter__V1__Received received;
    Charter__V1__Acknowledged acknowledged;
    Charter__V1__HoldingReply holding;
    Charter__V1__Paused paused;
    Charter__V1__Resumed resumed;
    Charter__V1__Responded responded;
    Charter__V1__Closed closed;
    Charter__V1__Escalated escalated;
    Charter__V1__Appointment appointment;
    Charter__V1__Call call;
    Charter__V1__Visit visit;
    Charter__V1__CommunicationSupport support;
    Charter__V1__Satisfaction satisfaction;
    Charter__V1__Reviewed reviewed;
    Charter__V1__Callback callback; /* agreed_at: point it at ts2 */
    Charter__V1__CustomerMessage customer_message;
    char event_id[96]; /* room for an id the test formats */
} fx_event_buf;

/* Fills b with an event of kind that occurred at when (RFC 3339; fails the
 * running test if it does not parse), with an empty message of that kind
 * attached. case_id and organisation are set when not NULL (else they stay
 * protobuf's empty string, as is event_id). Returns &b->ev. */
Charter__V1__CaseEvent *fx_case_event(fx_event_buf *b, Charter__V1__CaseEvent__EventCase kind,
                                      const char *case_id, const char *organisation,
                                      const char *when);

/* *ts = the instant ms (ms since the epoch). */
void fx_set_ts(Charter__V1__Timestamp *ts, int64_t ms);

#endif
