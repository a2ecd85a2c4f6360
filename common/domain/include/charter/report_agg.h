/*
 * The charter's figures from the event stream: a pure aggregation.
 *
 * WHY IT IS A DIFFERENCE OF CONTRIBUTIONS
 *
 * Every figure is a sum over cases of what each case contributes given its
 * state. A case's state (ch_report_case) is the deadline engine's own state
 * (ch_case_state, moved by ch_case_apply exactly as in sla-timer) plus the few
 * facts reporting adds: when it was answered, when an acknowledgement went
 * out, the call, the visit, support given, satisfaction, timers fired.
 *
 * An incoming record is applied to the case; the case's contribution before
 * and after is computed (ch_report_contrib) and the difference is returned as
 * counter deltas. So:
 *   - a record applied twice in a row changes nothing the second time (the
 *     state does not change, the delta is empty), and a run of a case's
 *     records redelivered in order (Kafka redelivers from the last committed
 *     offset) ends in the same state and figures as before: idempotent under
 *     redelivery, so the service applies repeats too rather than trusting a
 *     separate "seen" mark;
 *   - the figures depend only on the cases' final states, and each state is
 *     merged from its records by rules that do not depend on the order of the
 *     three topics (earliest / latest by event time, flags), so a replay from
 *     the start rebuilds exactly the same counters;
 *   - a figure that later changes (a case answered late after it was counted
 *     open) moves from one counter to the other with no recount.
 * The store keeps one small record per case and integer counters (a Redis
 * hash of "<period>|<channel>|<case type>|<figure>" -> count, updated by
 * HINCRBY with the deltas in the same script that writes the case).
 *
 * WHAT IS COUNTED WHERE
 *
 * A case belongs to the periods of the local date (in the policy's time
 * zone) of its `received` event: its day "2026-11-23", month "2026-11" and
 * year "2026". Every delta is emitted for all three, so a month or a year is
 * read directly. A case with no `received` event yet contributes nothing
 * (its other records are kept and count when it arrives).
 *
 * Targets come from ch_case_timers() on a view of the case as if still open:
 *   - acknowledgement due: the `acknowledgement_due` timer; an automatic
 *     acknowledgement is in time within CH_CASE_AUTO_ACK_GRACE_MS of receipt;
 *     the acknowledgement is the earliest `acknowledged` event (by anyone:
 *     staff, or "automatic" when notification sent it), or the response when
 *     that comes first. Notification outcomes are counted
 *     (notifications.sent / failed) but never judged: notification records
 *     what it sent as an `acknowledged` event. A case of a promise with an
 *     acknowledgement and none recorded yet is "not_acknowledged";
 *     each acknowledgement is judged on its own clock, whatever the reply's;
 *   - answered in time / late: against the target in force (an agreed
 *     extension, the holding reply's new target, when there is one) and,
 *     kept beside it, against the original target (the same case without
 *     the extension). Pauses move both, as they move the breach timer;
 *   - visitors seen in time: the `wait_exceeded` timer's instant;
 *   - calls answered in time: wait_seconds <= the promise's seconds, or
 *     rings <= its rings (either, when both are promised); a call sent
 *     without a ring count is judged on rings from its wait: in time when
 *     wait_seconds <= rings * ring_seconds (a ring every 3 s unless the
 *     policy says), so "four rings" is a wait of up to 12 s.
 * "answered" is the first `responded` event; a case closed or escalated
 * without one is no longer open but is not answered.
 *
 * THE MEASURES WITH NO CLOCK
 *
 *   - first-contact resolution: an answered call (the latest final call
 *     event) with resolved_first_time counts in calls_resolved_first_time
 *     beside calls_answered; a visitor seen with a `seen` visit event that
 *     has resolved_first_time counts in visitors_resolved_first_time beside
 *     visitors_seen;
 *   - call-backs (a `callback` event; the case clock keeps the latest
 *     promise and the call-back made after it, case_clock.h): one promised
 *     per case with a promise; made or not made (yet); under a promise with
 *     `callback: at_agreed_time` and a time agreed, a call-back made at or
 *     before that time is made in time, after it late, and one not made is
 *     overdue once its callback_due timer fired (for that agreed time);
 *     without a time (or `measured_only`) a call-back is only counted;
 *   - appointments, each by its appointment_id (CH_REPORT_MAX_APPOINTMENTS
 *     per case), counted once by its latest status (by event time; at equal
 *     times the later status in the enum): kept, missed, cancelled by the
 *     organisation (cancelled_by "organisation"), cancelled by the customer
 *     (any other cancellation), or still to come (booked or rebooked);
 *     "appointments" is every appointment and "appointments_rebooked" the
 *     ones ever rebooked;
 *   - reviews (a promise with `review:`): review n is due at the promise's
 *     `first` clock from receipt (n = 1) or its `then_every` clock from the
 *     actual review n - 1; the n-th `reviewed` event by time is review n,
 *     done in time when at or before that due instant, else late; a `lifted`
 *     review ends the cycle. The first review not recorded is overdue once
 *     its REVIEW_DUE or REVIEW_OVERDUE timer fired (sla-timer fires them at
 *     the due instant and the breach tier). Unlike every other figure, a
 *     review is counted in the periods of the day it falls due (a
 *     restriction decided in 2025 has its reviews in 2026, 2027, ...);
 *   - satisfaction: the latest answer per case; "satisfied" is a score of at
 *     least 80% of the maximum (4 or 5 out of 5);
 *   - communication support: one per `communication_support` event.
 *
 * TIME TO RESPOND, IN THE CLOCK'S OWN UNIT
 *
 * From the clock's start (receipt, or the acknowledgement for clocks anchored
 * on it, as the target) to the response:
 *   - working days (working-day and next-working-day clocks): the number of
 *     working days of the clock's calendar after the start's local date up
 *     to and including the response's local date; the day of receipt is day
 *     0, so "within 5 working days" is met exactly when the value is <= 5
 *     (and the response is in time that day);
 *   - days (calendar-day and month clocks): local dates after the start's;
 *   - hours / minutes / seconds (elapsed clocks; hours when the clock is a
 *     whole number of hours, minutes when of minutes, else seconds): the
 *     elapsed time rounded up, so "within 24 hours" is met when <= 24;
 *   - hours, as above, when the promise has no response clock.
 * Days touched by a pause are not counted (day units); paused time is
 * subtracted (elapsed units). Values above CH_REPORT_TTR_MAX count as that.
 * Each response adds one to the histogram counter "ttr.<unit>.<value>".
 *
 * Pure: no I/O, no clock reads; "now" is a parameter.
 */
#ifndef CHARTER_REPORT_AGG_H
#define CHARTER_REPORT_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "charter/case_clock.h"
#include "charter/report_keys.h"
#include "charter/v1/case_event.pb-c.h"
#include "charter/v1/notification.pb-c.h"
#include "charter/v1/timer.pb-c.h"

#define CH_REPORT_TTR_MAX 1000
#define CH_REPORT_KEY_MAX 96
#define CH_REPORT_MAX_COUNTED 32     /* support events remembered per case */
#define CH_REPORT_MAX_ITEMS 256      /* deltas one record can cause, at most */
#define CH_REPORT_MAX_APPOINTMENTS 8 /* appointments remembered per case */
#define CH_REPORT_MAX_REVIEWS 16     /* reviews remembered per case */

/* Fixed figures, named in counter keys and the API as below. */
typedef enum {
    CH_REPORT_RECEIVED = 0,                    /* "received" */
    CH_REPORT_ACK_IN_TIME,                     /* "acknowledged_in_time" */
    CH_REPORT_ACK_LATE,                        /* "acknowledged_late" */
    CH_REPORT_ANSWERED,                        /* "answered" (with or without a target) */
    CH_REPORT_ANSWERED_IN_TIME,                /* "answered_in_time" (target in force) */
    CH_REPORT_ANSWERED_LATE,                   /* "answered_late" */
    CH_REPORT_ANSWERED_IN_TIME_ORIGINAL,       /* "answered_in_time_original" */
    CH_REPORT_ANSWERED_LATE_ORIGINAL,          /* "answered_late_original" */
    CH_REPORT_EXTENDED,                        /* "extended": an extension was agreed */
    CH_REPORT_OPEN,                            /* "open": not answered, closed or escalated */
    CH_REPORT_ESCALATED,                       /* "escalated" */
    CH_REPORT_CALLS_ANSWERED,                  /* "calls_answered" */
    CH_REPORT_CALLS_IN_TIME,                   /* "calls_answered_in_time" */
    CH_REPORT_CALLS_LATE,                      /* "calls_answered_late" */
    CH_REPORT_CALLS_ABANDONED,                 /* "calls_abandoned" */
    CH_REPORT_VISITORS_SEEN,                   /* "visitors_seen" */
    CH_REPORT_VISITORS_IN_TIME,                /* "visitors_seen_in_time" */
    CH_REPORT_VISITORS_LATE,                   /* "visitors_seen_late" */
    CH_REPORT_VISITORS_LEFT_UNSEEN,            /* "visitors_left_unseen" */
    CH_REPORT_SATISFACTION_RESPONSES,          /* "satisfaction_responses" */
    CH_REPORT_SATISFACTION_SCORE_PCT_SUM,      /* "satisfaction_score_pct_sum" */
    CH_REPORT_SATISFIED,                       /* "satisfied": score >= 80% of the maximum */
    CH_REPORT_TIMERS_ACK_DUE,                  /* "timers.acknowledgement_due" fired */
    CH_REPORT_TIMERS_BREACH,                   /* "timers.breach" fired */
    CH_REPORT_TIMERS_WAIT_EXCEEDED,            /* "timers.wait_exceeded" fired */
    CH_REPORT_NOTIFICATIONS_SENT,              /* "notifications.sent": acknowledgement sent */
    CH_REPORT_NOTIFICATIONS_FAILED,            /* "notifications.failed" */
    CH_REPORT_NOT_ACKNOWLEDGED,                /* "not_acknowledged": promised, none recorded */
    CH_REPORT_CALLS_RESOLVED_FIRST_TIME,       /* "calls_resolved_first_time" */
    CH_REPORT_APPOINTMENTS,                    /* "appointments": every appointment */
    CH_REPORT_APPOINTMENTS_KEPT,               /* "appointments_kept" */
    CH_REPORT_APPOINTMENTS_MISSED,             /* "appointments_missed" */
    CH_REPORT_APPOINTMENTS_CANCELLED_ORG,      /* "appointments_cancelled_by_organisation" */
    CH_REPORT_APPOINTMENTS_CANCELLED_CUSTOMER, /* "appointments_cancelled_by_customer" */
    CH_REPORT_APPOINTMENTS_REBOOKED,           /* "appointments_rebooked": ever rebooked */
    CH_REPORT_APPOINTMENTS_TO_COME,            /* "appointments_to_come": booked, not yet held */
    CH_REPORT_REVIEWS_IN_TIME,                 /* "reviews_in_time" */
    CH_REPORT_REVIEWS_LATE,                    /* "reviews_late" */
    CH_REPORT_REVIEWS_OVERDUE,                 /* "reviews_overdue": due, not recorded */
    CH_REPORT_CALLBACKS_PROMISED,              /* "callbacks_promised" */
    CH_REPORT_CALLBACKS_MADE,                  /* "callbacks_made": with or without a time */
    CH_REPORT_CALLBACKS_IN_TIME,               /* "callbacks_made_in_time": by the agreed time */
    CH_REPORT_CALLBACKS_LATE,                  /* "callbacks_made_late" */
    CH_REPORT_CALLBACKS_NOT_MADE,              /* "callbacks_not_made": none recorded yet */
    CH_REPORT_CALLBACKS_OVERDUE,            /* "callbacks_overdue": not made, callback_due fired */
    CH_REPORT_VISITORS_RESOLVED_FIRST_TIME, /* "visitors_resolved_first_time" */
    CH_REPORT_EXTENSIONS_REFUSED,           /* "extensions_refused": holding replies that did not
                                               move the target (charter/extension.h) */
    CH_REPORT_FIG_COUNT
} ch_report_fig;

const char *ch_report_fig_name(ch_report_fig f);

/* Communication support, counted as "support.<kind>". The event's kinds
 * "interpreting_call" and "interpreting_session" are the policy's
 * phone_interpreting and face_to_face_interpreting; an unknown kind is "other". */
typedef enum {
    CH_REPORT_SUPPORT_PHONE_INTERPRETING = 0,
    CH_REPORT_SUPPORT_FACE_TO_FACE_INTERPRETING,
    CH_REPORT_SUPPORT_BSL,
    CH_REPORT_SUPPORT_AUDIO,
    CH_REPORT_SUPPORT_LARGE_PRINT,
    CH_REPORT_SUPPORT_BRAILLE,
    CH_REPORT_SUPPORT_EASY_READ,
    CH_REPORT_SUPPORT_TRANSLATION,
    CH_REPORT_SUPPORT_OTHER,
    CH_REPORT_SUPPORT_COUNT
} ch_report_support;

const char *ch_report_support_name(ch_report_support s);

/* Units of time to respond, counted as "ttr.<unit>.<value>". */
typedef enum {
    CH_REPORT_UNIT_WORKING_DAYS = 0, /* "working_days" */
    CH_REPORT_UNIT_DAYS,             /* "days" */
    CH_REPORT_UNIT_HOURS,            /* "hours" */
    CH_REPORT_UNIT_MINUTES,          /* "minutes" */
    CH_REPORT_UNIT_SECONDS,          /* "seconds" */
    CH_REPORT_UNIT_COUNT
} ch_report_unit;

const char *ch_report_unit_name(ch_report_unit u);

enum {
    CH_REPORT_FIRED_ACK_DUE = 1 << 0,
    CH_REPORT_FIRED_BREACH = 1 << 1,
    CH_REPORT_FIRED_WAIT_EXCEEDED = 1 << 2,
    CH_REPORT_NOTIFIED_ACK_SENT = 1 << 3,
    CH_REPORT_NOTIFIED_ACK_FAILED = 1 << 4,
};

/* One appointment of a case (see above). */
typedef struct {
    uint64_t id;      /* FNV-1a of the appointment_id */
    int64_t at_ms;    /* the latest event's time */
    int32_t status;   /* Charter__V1__Appointment__Status of the latest event */
    int32_t by_org;   /* cancelled by the organisation */
    int32_t rebooked; /* ever rebooked */
    int32_t reserved; /* 0 */
} ch_report_appointment;

/* One review recorded. */
typedef struct {
    int64_t at_ms;
    int32_t lifted;   /* 1: the restriction was lifted (the cycle ends) */
    int32_t reserved; /* 0 */
} ch_report_review;

/* What reporting remembers about a case. Times are ms since the epoch; 0 is
 * "not yet". Start from all zeros. */
typedef struct {
    ch_case_state clock;  /* moved by ch_case_apply, as in sla-timer */
    int64_t received_ms;  /* the received event's time: the case's periods */
    int64_t responded_ms; /* the earliest `responded` */
    int64_t ack_sent_ms;  /* the earliest acknowledgement sent or delivered */
    int64_t seen_ms;      /* the earliest `seen` (visitor) */
    int left_unseen;
    int call_status; /* Charter__V1__Call__Status of the latest answered/abandoned */
    int64_t call_ms;
    uint32_t call_wait_s, call_rings;
    int64_t satisfaction_ms; /* the latest satisfaction answer */
    uint32_t satisfaction_score, satisfaction_max;
    uint32_t support[CH_REPORT_SUPPORT_COUNT];
    uint64_t counted[CH_REPORT_MAX_COUNTED]; /* event-id hashes of support counted */
    size_t ncounted;
    unsigned flags;    /* CH_REPORT_FIRED_*, CH_REPORT_NOTIFIED_* */
    int64_t acked_ms;  /* the earliest `acknowledged` event */
    int call_resolved; /* the latest final call was resolved first time */
    ch_report_appointment appts[CH_REPORT_MAX_APPOINTMENTS];
    size_t nappts;
    ch_report_review reviews[CH_REPORT_MAX_REVIEWS]; /* sorted by time */
    size_t nreviews;
    uint64_t review_fired;     /* bit n-1: review n's REVIEW_DUE or REVIEW_OVERDUE fired */
    int visit_resolved;        /* seen, and resolved at the first contact */
    int64_t callback_fired_ms; /* the latest fired callback_due timer's due instant */
} ch_report_case;

/* One counter: key "<period>|<channel>|<case type>|<figure>", value. */
typedef struct {
    char key[CH_REPORT_KEY_MAX];
    int64_t value;
} ch_report_item;

/*
 * What the case contributes to the counters now, at most cap items (every
 * key once). oc may be NULL (no policy: nothing is "in time"). Returns the
 * count, or CH_EINVAL when a clock cannot be computed (a date outside
 * 1995-2100) or cap is too small.
 */
int ch_report_contrib(const ch_org_clocks *oc, const ch_report_case *rc, ch_report_item *out,
                      size_t cap);

/*
 * Apply one record to the case and write the counter deltas it causes (only
 * non-zero ones) to delta, at most cap (CH_REPORT_MAX_ITEMS is always
 * enough). Return the number of deltas (0 for a repeat), or CH_EINVAL for a
 * record the state cannot take (then rc is unchanged). A record for another
 * organisation than the case's is the caller's mistake, not checked here.
 */
int ch_report_on_case_event(const ch_org_clocks *oc, ch_report_case *rc,
                            const Charter__V1__CaseEvent *ev, ch_report_item *delta, size_t cap);
int ch_report_on_timer(const ch_org_clocks *oc, ch_report_case *rc,
                       const Charter__V1__TimerFired *t, ch_report_item *delta, size_t cap);
int ch_report_on_outcome(const ch_org_clocks *oc, ch_report_case *rc,
                         const Charter__V1__NotificationOutcome *o, ch_report_item *delta,
                         size_t cap);

/*
 * Whether an open case's response clock is overdue at now_ms: 1 (and *due_ms
 * the target in force), 0 (not overdue, answered, paused, or no response
 * clock; *due_ms is the target or 0), or CH_EINVAL. A paused clock does not
 * run, so a paused case is never overdue. A visitor still waiting past the
 * promise counts as overdue too (its wait target in *due_ms).
 */
int ch_report_overdue_at(const ch_org_clocks *oc, const ch_report_case *rc, int64_t now_ms,
                         int64_t *due_ms);

/* The case's day, channel and type as "2026-11-23|email|enquiry" (the
 * start of its counter keys). 0, or CH_ENOTFOUND before its `received`. */
int ch_report_case_bucket(const ch_org_clocks *oc, const ch_report_case *rc, char *buf,
                          size_t bufsz);

/*
 * The case's member of the open-and-overdue set,
 * "<day>|<channel>|<type>|<case id>" (report_keys.h), into member, and
 * whether the set should hold it: 1, with *due_ms the instant it falls
 * overdue (its score: the set is read up to "now"); 0 when it should not
 * (answered, closed, escalated, paused, no clock running, or a clock that
 * cannot be computed); CH_ENOTFOUND before its `received` (no member: leave
 * the set alone); CH_EINVAL when the member does not fit membersz.
 */
int ch_report_open_entry(const ch_org_clocks *oc, const ch_report_case *rc, const char *case_id,
                         char *member, size_t membersz, int64_t *due_ms);

/* Case <-> compact JSON (stored per case). to_json returns a malloc'd string
 * (NULL on ENOMEM); from_json returns 0 or CH_EINVAL. */
char *ch_report_case_to_json(const ch_report_case *rc);
int ch_report_case_from_json(const char *text, size_t len, ch_report_case *rc);

/*
 * Case <-> the packed form the store keeps per case (report_state.proto's
 * ReportCaseState; report_case_pb.c says why not JSON). pack returns a
 * malloc'd buffer of *len bytes (NUL after them, not counted; never empty,
 * and never starting with '{'), or NULL on ENOMEM. unpack reads the packed
 * form, or the compact JSON stored before it (text starting with '{'):
 * 0, CH_EINVAL (unreadable; *rc zeroed) or CH_ENOMEM.
 */
char *ch_report_case_pack(const ch_report_case *rc, size_t *len);
int ch_report_case_unpack(const char *data, size_t len, ch_report_case *rc);

/* "2026-11-23", "2026-11" or "2026" for a local day number. */
void ch_report_period(int32_t dayno, ch_report_granularity g, char *buf, size_t bufsz);

#endif
