/*
 * What notification consumes, turned into queued notifications: fired
 * timers (acknowledgement, appointment reminder, staff alerts) and the case
 * events that record contact details or ask for a customer notice (holding
 * reply, appointment confirmed or cancelled by the organisation).
 *
 * Each record is finished (ch_msg_done) only once its notification is in
 * the queue with its idempotency record, or known to be there already: a
 * redelivered record queues nothing twice, and one already sent is only
 * announced again (consumers dedupe outcomes by event id).
 */
#ifndef CHARTER_NOTIFY_INTAKE_H
#define CHARTER_NOTIFY_INTAKE_H

#include "charter/runtime.h"
#include "charter/v1/case_event.pb-c.h"
#include "charter/v1/timer.pb-c.h"
#include "notify.h"

/* A case event: contact details recorded on `received`, deleted on
 * `closed`; a notice for a holding reply or an appointment. Calls
 * ch_msg_done(m) exactly once, now or later. */
void notify_intake_case_event(notify *n, ch_msg *m, const Charter__V1__CaseEvent *ev);

/* A fired timer: the customer's acknowledgement or reminder, or a staff
 * alert. Calls ch_msg_done(m) exactly once, now or later. */
void notify_intake_timer(notify *n, ch_msg *m, const Charter__V1__TimerFired *t);

#endif
