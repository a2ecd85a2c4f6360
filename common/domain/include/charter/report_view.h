/*
 * The charter's figures as people read them: one line per promise, the
 * model behind the reporting service's JSON promises, its HTML dashboard,
 * its report snapshots and the annual publication charterctl writes
 * (report_html.h renders it).
 *
 * WHY A VIEW PER PROMISE
 *
 * report_agg counts per period x channel x case type, because that is what
 * an event knows. A charter is read per promise ("we will reply to letters
 * within 10 working days"), and one promise may cover several channels and
 * types. ch_report_view_build() maps every counter to the promise the policy
 * applies to its channel and case type (ch_policy_find_promise(), the same
 * choice sla-timer made when it set the case's clocks) and keeps, for that
 * promise, the one pair of figures it is judged by:
 *   - a response clock: answered in time / late (against the target in
 *     force, an agreed extension included);
 *   - otherwise a call-answering promise: calls answered in time / late;
 *   - otherwise a promise to see visitors: visitors seen in time / late;
 *   - otherwise an acknowledgement promise: acknowledged in time / late;
 *   - otherwise measured only: cases received, nothing judged.
 * "% within" is in_time / (in_time + late) (ch_report_pct_within); the
 * target is the promise's own (`target: 80%` in the policy), else a share
 * the caller gives (a charter's "we will" is a promise to everyone: 100
 * unless the organisation publishes against a lower one). A promise is met
 * when the share is at least the target.
 *
 * The same rows come back from GET /v1/report ("promises"), so charterctl
 * renders the publication from JSON without reading policies itself
 * (ch_report_view rows are plain values; report_json.h is the codec).
 *
 * LINES BESIDE THE ONE A PROMISE IS JUDGED BY
 *
 * Each is judged or counted on its own, never folded into the main figure
 * (row->lines says which a promise shows):
 *   - ORIGINAL (a response clock): answered within the original promise,
 *     as if no extension had been made, beside the target in force;
 *   - ACK (an acknowledgement promised, when the reply or a call or visit
 *     clock is the main line): acknowledged in time / late / not yet;
 *   - TTR (a response clock, timed or measured): median and 90th
 *     percentile time to respond in the clock's unit;
 *   - FCR (`measures: first_contact_resolution`): calls answered and
 *     visitors seen, and those resolved at the first contact (a phone
 *     promise's are its calls, a visit promise's its visitors);
 *   - CALLBACKS (`callback:`): call-backs promised, made, not made yet;
 *   - CALLBACKS_AGREED (`callback: at_agreed_time`): call-backs made by the
 *     time agreed with the customer, late, or overdue (not made, the time
 *     passed), judged against line_target_pct;
 *   - APPOINTMENTS (`measures: appointments_kept`): kept, missed, cancelled
 *     by the organisation or by the customer, rebooked, still to come;
 *     "% kept" is kept / (kept + missed + cancelled by the organisation);
 *   - SUPPORT (`measures: communication_support`): support given on the
 *     promise's cases;
 *   - SATISFACTION (`measures: satisfaction`): answers and % satisfied;
 *   - REVIEWS (a promise with `review:`): done in time, late, overdue.
 * For the organisation as a whole, the view keeps each communication-support
 * count the policy lists (reporting.communication_support), zeros included,
 * and satisfaction over every case.
 *
 * Beside the rows, the published measures that need the policy: complaints
 * per 1,000 homes for a housing landlord (ch_report_per_1000_homes).
 *
 * Pure: values in, values out; no I/O, no clock reads.
 */
#ifndef CHARTER_REPORT_VIEW_H
#define CHARTER_REPORT_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "charter/policy.h"
#include "charter/report_delivery.h"
#include "charter/report_keys.h"
#include "charter/report_table.h"

/* What a promise is judged by (see above). */
typedef enum {
    CH_REPORT_MEASURE_NONE = 0,     /* "measured": no time promised */
    CH_REPORT_MEASURE_ANSWERED,     /* "answered" */
    CH_REPORT_MEASURE_CALLS,        /* "calls" */
    CH_REPORT_MEASURE_VISITORS,     /* "visitors" */
    CH_REPORT_MEASURE_ACKNOWLEDGED, /* "acknowledged" */
} ch_report_measure;

const char *ch_report_measure_name(ch_report_measure m);
/* The name above back to the value: 0, or CH_EINVAL. */
int ch_report_measure_parse(const char *name, ch_report_measure *out);
/* The measure of a promise as the policy states it. */
ch_report_measure ch_report_promise_measure(const ch_policy_promise *pr);

#define CH_REPORT_TREND_MAX 31
#define CH_REPORT_PERIOD_MAX 12 /* "2026-11-23" and its NUL, rounded */

typedef struct {
    char period[CH_REPORT_PERIOD_MAX];
    int64_t in_time, late;
} ch_report_point;

/* The lines a promise shows beside its main one (see above): bits of
 * ch_report_promise_row.lines. */
enum {
    CH_REPORT_LINE_ORIGINAL = 1 << 0,
    CH_REPORT_LINE_ACK = 1 << 1,
    CH_REPORT_LINE_TTR = 1 << 2,
    CH_REPORT_LINE_FCR = 1 << 3,
    CH_REPORT_LINE_APPOINTMENTS = 1 << 4,
    CH_REPORT_LINE_SUPPORT = 1 << 5,
    CH_REPORT_LINE_SATISFACTION = 1 << 6,
    CH_REPORT_LINE_REVIEWS = 1 << 7,
    CH_REPORT_LINE_CALLBACKS = 1 << 8,
    CH_REPORT_LINE_CALLBACKS_AGREED = 1 << 9,
};

/* The lines a promise shows, from the policy. */
unsigned ch_report_promise_lines(const ch_policy_promise *pr);

typedef struct {
    int64_t responses, satisfied, score_pct_sum;
} ch_report_satisfaction;

/* % satisfied (satisfied / responses) or -1 with no responses. */
double ch_report_satisfied_pct(const ch_report_satisfaction *s);

typedef struct {
    char id[64];
    char promise[512]; /* in plain English (ch_policy_describe_promise) */
    char ack[160];     /* the acknowledgement promise in words, "" when none */
    ch_report_measure measure;
    int64_t received; /* cases the promise covers, received in the period */
    int64_t in_time, late;
    int64_t overdue_now; /* among the open cases the caller gave */
    double target_pct;   /* 0 when the measure is NONE */
    int target_default;  /* 1: the policy gives no target: for it, the caller's default */
    size_t ntrend;
    ch_report_point trend[CH_REPORT_TREND_MAX]; /* oldest first */

    unsigned lines;         /* CH_REPORT_LINE_* */
    double line_target_pct; /* the target of the judged lines (ack, original, reviews) */
    int64_t in_time_original, late_original;    /* ORIGINAL */
    int64_t extended, extensions_refused;       /* ORIGINAL: valid extensions, refused ones */
    int64_t ack_in_time, ack_late, ack_not_yet; /* ACK */
    ch_report_unit ttr_unit;                    /* TTR: when ttr_responses */
    int64_t ttr_responses, ttr_median, ttr_p90;
    int64_t calls_answered, resolved_first_time; /* FCR */
    int64_t visitors_seen;                       /* FCR: visitors, beside calls */
    int64_t appointments, appts_kept, appts_missed, appts_cancelled_org, appts_cancelled_customer,
        appts_rebooked, appts_to_come;                              /* APPOINTMENTS */
    int64_t support;                                                /* SUPPORT: every kind */
    ch_report_satisfaction satisfaction;                            /* SATISFACTION */
    int64_t reviews_in_time, reviews_late, reviews_overdue;         /* REVIEWS */
    int64_t callbacks_promised, callbacks_made, callbacks_not_made; /* CALLBACKS */
    int64_t callbacks_in_time, callbacks_late, callbacks_overdue;   /* CALLBACKS_AGREED */
} ch_report_promise_row;

/* Whether a judged line of the row (original, acknowledgement, reviews) met
 * line_target_pct: 1, 0, or -1 when nothing was judged. */
int ch_report_line_met(const ch_report_promise_row *r, int64_t in_time, int64_t late);
/* Appointments kept / (kept + missed + cancelled by the organisation), or -1. */
double ch_report_appts_kept_pct(const ch_report_promise_row *r);
/* Resolved at the first contact / (calls answered + visitors seen), or -1. */
double ch_report_fcr_pct(const ch_report_promise_row *r);

typedef struct {
    char id[64];
    char name[128];
    char period[32]; /* what the figures cover: "2026-11", "2026", "2026-01 to 2026-06" */
    int64_t received, overdue_now;
    ch_report_promise_row *rows; /* one per promise, in the policy's order; owned */
    size_t nrows;
    unsigned support_listed; /* ch_policy_support bits: the counts the policy publishes */
    int64_t support[CH_REPORT_SUPPORT_COUNT];
    ch_report_satisfaction satisfaction; /* every case of the period */
    ch_report_delivery delivery;         /* customer notices per channel (report_delivery.h): the
                                            caller fills it from the counts; the view's builder does not */
} ch_report_view;

/* The ch_report_support kind of a ch_policy_support bit (they share names). */
ch_report_support ch_report_support_of_policy(unsigned policy_bit);

/*
 * Builds the per-promise view of one organisation.
 *   p        the organisation's policy (its promises, id and name);
 *   t        its counters (report_agg keys);
 *   f        which counters make the rows' figures (granularity, from, to,
 *            channel, type, as in ch_report_sum);
 *   trend    ntrend periods of f's granularity, oldest first, for each
 *            row's trend (at most CH_REPORT_TREND_MAX; ntrend 0: none);
 *   overdue  noverdue members of the open-and-overdue set,
 *            "<day>|<channel>|<type>|<case>", all counted (the caller picks
 *            them); each is counted for its promise and in the total;
 *   target_pct  the share a timed promise is held to when its policy gives
 *            no `target:` (0 < x <= 100); a promise's own target wins, and
 *            holds its judged lines (line_target_pct) as well.
 * Returns 0 and fills *out (free with ch_report_view_free), CH_EINVAL for
 * ntrend or target_pct out of range, or CH_ENOMEM; on failure *out is
 * empty. Counters whose channel and type no promise covers are in
 * out->received but in no row.
 */
int ch_report_view_build(const ch_policy *p, const ch_report_table *t, const ch_report_filter *f,
                         const char (*trend)[CH_REPORT_PERIOD_MAX], size_t ntrend,
                         const char *const *overdue, size_t noverdue, double target_pct,
                         ch_report_view *out);
void ch_report_view_free(ch_report_view *v);

/*
 * The n periods of granularity g that end with `period` (included), oldest
 * first: ("2026-11", MONTH, 3) -> 2026-09, 2026-10, 2026-11. 0, or
 * CH_EINVAL when period is not of g's shape or n is 0 or above
 * CH_REPORT_TREND_MAX.
 */
int ch_report_periods_ending(const char *period, ch_report_granularity g, size_t n,
                             char (*out)[CH_REPORT_PERIOD_MAX]);

/* The row's % within (ch_report_pct_within). */
double ch_report_row_pct(const ch_report_promise_row *r);
/* 1 met, 0 not met, -1 nothing to judge (measured only, or no cases). */
int ch_report_row_met(const ch_report_promise_row *r);
/* The same in words: "met", "not met", "no cases" or "measured only". */
const char *ch_report_row_result(const ch_report_promise_row *r);

/* in_time / (in_time + late) as a percentage, or -1 when nothing was judged. */
double ch_report_pct_within(int64_t in_time, int64_t late);

/*
 * Cases of case_type received per 1,000 homes the organisation manages:
 * 0 and *out, or CH_ENOTFOUND where the measure is not published (it is
 * for complaints, stage 1 and stage 2, of a housing landlord whose policy
 * gives its number of homes).
 */
int ch_report_per_1000_homes(const ch_policy *p, const char *case_type, int64_t received,
                             double *out);

#endif
