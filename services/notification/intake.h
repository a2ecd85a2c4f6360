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
#include "contact_details.h"
#include "notify.h"

/* A case event: contact details recorded on `received`, deleted on
 * `closed`; a notice for a holding reply or an appointment. Calls
 * ch_msg_done(m) exactly once, now or later. */
void notify_intake_case_event(notify *n, ch_msg *m, const Charter__V1__CaseEvent *ev);

/* A fired timer: the customer's acknowledgement or reminder, or a staff
 * alert. Calls ch_msg_done(m) exactly once, now or later. */
void notify_intake_timer(notify *n, ch_msg *m, const Charter__V1__TimerFired *t);

/* The answer to notify_intake_resend: rc 0 once the notice is queued (or
 * found queued or sent already, or recorded undeliverable with the case
 * owner's alert queued) and its outcome produced; CH_EAGAIN (try again
 * later) or another CH_E* with reason. */
typedef void (*notify_resend_done_fn)(void *opaque, int rc, const char *reason);

/* A customer notice made again after a provider's receipt (receipts.h,
 * fallback.h). Every pointer is borrowed until done runs. */
typedef struct {
    const char *case_id, *organisation, *reference;
    int kind;                /* Charter__V1__NotificationKind */
    const char *kind_name;   /* "acknowledgement", ... */
    const char *what;        /* its name: "acknowledgement/fallback-email" */
    const char *skip;        /* channels it must not go by: "sms" */
    const char *tried;       /* channels tried, its own included: "sms,email" */
    const char *note;        /* its outcomes' reason: "fallback after permanent-failure on sms" */
    int64_t target_s;        /* the reply target it gives (0: none) */
    int64_t appt_s;          /* the appointment it is about (0: none) */
    const notify_contact *c; /* the customer's details (copied) */
} notify_resend;

/* Renders r's notice for the first channel the customer can get that
 * r->skip does not list and queues it under its own name (its record keeps
 * it to one); with no channel left, the case owner's "undeliverable" alert
 * is queued and the notice recorded undeliverable, as for a first notice.
 * Calls done exactly once, now or later. */
void notify_intake_resend(notify *n, const notify_resend *r, notify_resend_done_fn done,
                          void *opaque);

#endif
