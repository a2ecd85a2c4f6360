/*
 * What one record does, decided from values: whether it can be counted at
 * all, and what it changes about its case (state, figure deltas, the open
 * set, the periods whose snapshots it makes due). counting.c runs these
 * decisions between the store's reads and writes:
 *
 *   record -> count (seen mark + counts) -> read the case -> plan -> write
 *
 * Pure: no I/O; the plan is unit-tested.
 */
#ifndef CHARTER_REPORTING_COUNTING_H
#define CHARTER_REPORTING_COUNTING_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "charter/case_clock.h"
#include "charter/report_agg.h"
#include "charter/report_counts.h"
#include "charter/report_keys.h"

#define REPORT_ORG_MAX 128 /* an organisation id, with its NUL */
#define REPORT_CASE_MAX 96 /* a case id, with its NUL */

/* Why the record cannot be counted (its ids cannot make the store's keys),
 * or NULL when it can. */
const char *report_count_refusal(const ch_report_counted *c);

/* What a record changes about its case. */
typedef struct {
    char *old_state;       /* the state read (a copy), or NULL: the write's compare */
    size_t old_len;        /* its bytes (states are binary: ch_report_case_pack) */
    int state_unreadable;  /* old_state could not be read: the case started again */
    char *state;           /* the new state, packed */
    size_t state_len;      /* its bytes */
    ch_report_item *delta; /* figure deltas, ndelta of them */
    int ndelta;
    int unchanged;       /* 1: the record changes nothing; write nothing */
    const char *open_op; /* "add", "rem" or "": the case in the open set */
    char member[CH_REPORT_KEY_MAX + REPORT_CASE_MAX + 8];
    int64_t due_ms;                            /* the member's score for "add" */
    char periods[3][CH_REPORT_KEY_PERIOD_MAX]; /* the periods the deltas touch */
    int nperiods;
} report_case_plan;

/*
 * Applies msg (a CaseEvent, TimerFired or NotificationOutcome of case_id)
 * to the case's state as read (old_state, len bytes, packed or the JSON
 * stored before it: ch_report_case_unpack; NULL for none) under
 * the organisation's clocks (oc may be NULL: nothing is in time). Returns 0
 * and fills *out (free with report_case_plan_free, also after a failure);
 * CH_ENOMEM; or CH_EBADMSG for a record the case cannot take (no time, or a
 * deadline outside 1995-2100).
 */
int report_case_plan_make(const ch_org_clocks *oc, const char *case_id, const char *old_state,
                          size_t len, const ProtobufCMessage *msg, report_case_plan *out);
void report_case_plan_free(report_case_plan *p);

/* The distinct periods of the deltas' keys, in order of first appearance,
 * at most 3 (a record's deltas are for its case's day, month and year). */
int report_delta_periods(const ch_report_item *delta, size_t n,
                         char (*periods)[CH_REPORT_KEY_PERIOD_MAX]);

#endif
