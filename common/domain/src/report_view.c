/*
 * The per-promise view (report_view.h says why). Counters are read with the
 * key codec (report_keys.h); the promise a channel and case type belong to
 * is looked up once per pair, since a table has few pairs and many
 * counters.
 */
#include "charter/report_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/calendar.h"
#include "charter/errors.h"

/* ---- measures ---- */

static const char *const measure_names[] = {"measured", "answered", "calls", "visitors",
                                            "acknowledged"};

const char *
ch_report_measure_name(ch_report_measure m)
{
    return (size_t)m < sizeof(measure_names) / sizeof(measure_names[0]) ? measure_names[m]
                                                                        : "unknown";
}

int
ch_report_measure_parse(const char *name, ch_report_measure *out)
{
    for (size_t i = 0; i < sizeof(measure_names) / sizeof(measure_names[0]); i++)
        if (strcmp(name, measure_names[i]) == 0) {
            *out = (ch_report_measure)i;
            return 0;
        }
    return CH_EINVAL;
}

ch_report_measure
ch_report_promise_measure(const ch_policy_promise *pr)
{
    if (pr->respond.set)
        return CH_REPORT_MEASURE_ANSWERED;
    if (pr->answer.set || pr->answer_rings)
        return CH_REPORT_MEASURE_CALLS;
    if (pr->see.set || pr->see_after_appointment.set)
        return CH_REPORT_MEASURE_VISITORS;
    if (pr->ack == CH_POLICY_ACK_AUTOMATIC || pr->ack == CH_POLICY_ACK_WITHIN)
        return CH_REPORT_MEASURE_ACKNOWLEDGED;
    return CH_REPORT_MEASURE_NONE;
}

unsigned
ch_report_promise_lines(const ch_policy_promise *pr)
{
    unsigned lines = 0;
    ch_report_measure m = ch_report_promise_measure(pr);
    if (m == CH_REPORT_MEASURE_ANSWERED && !pr->respond_measured_only)
        lines |= CH_REPORT_LINE_ORIGINAL;
    if (pr->ack != CH_POLICY_ACK_NONE && m != CH_REPORT_MEASURE_ACKNOWLEDGED)
        lines |= CH_REPORT_LINE_ACK;
    if (pr->respond.set || pr->respond_measured_only)
        lines |= CH_REPORT_LINE_TTR;
    if (pr->measures & CH_POLICY_MEASURE_FIRST_CONTACT_RESOLUTION)
        lines |= CH_REPORT_LINE_FCR;
    if (pr->measures & CH_POLICY_MEASURE_APPOINTMENTS_KEPT)
        lines |= CH_REPORT_LINE_APPOINTMENTS;
    if (pr->measures & CH_POLICY_MEASURE_COMMUNICATION_SUPPORT)
        lines |= CH_REPORT_LINE_SUPPORT;
    if (pr->measures & CH_POLICY_MEASURE_SATISFACTION)
        lines |= CH_REPORT_LINE_SATISFACTION;
    if (pr->review_first.set)
        lines |= CH_REPORT_LINE_REVIEWS;
    if (pr->callback != CH_POLICY_CALLBACK_NONE)
        lines |= CH_REPORT_LINE_CALLBACKS;
    if (pr->callback == CH_POLICY_CALLBACK_AT_AGREED_TIME)
        lines |= CH_REPORT_LINE_CALLBACKS_AGREED;
    return lines;
}

ch_report_support
ch_report_support_of_policy(unsigned policy_bit)
{
    switch (policy_bit) {
    case CH_POLICY_SUPPORT_PHONE_INTERPRETING:
        return CH_REPORT_SUPPORT_PHONE_INTERPRETING;
    case CH_POLICY_SUPPORT_FACE_TO_FACE_INTERPRETING:
        return CH_REPORT_SUPPORT_FACE_TO_FACE_INTERPRETING;
    case CH_POLICY_SUPPORT_BSL:
        return CH_REPORT_SUPPORT_BSL;
    case CH_POLICY_SUPPORT_AUDIO:
        return CH_REPORT_SUPPORT_AUDIO;
    case CH_POLICY_SUPPORT_LARGE_PRINT:
        return CH_REPORT_SUPPORT_LARGE_PRINT;
    case CH_POLICY_SUPPORT_BRAILLE:
        return CH_REPORT_SUPPORT_BRAILLE;
    default:
        return CH_REPORT_SUPPORT_OTHER;
    }
}

/* the figures (in time, late) each measure is judged by */
static const ch_report_fig judged_by[][2] = {
    [CH_REPORT_MEASURE_NONE] = {CH_REPORT_FIG_COUNT, CH_REPORT_FIG_COUNT},
    [CH_REPORT_MEASURE_ANSWERED] = {CH_REPORT_ANSWERED_IN_TIME, CH_REPORT_ANSWERED_LATE},
    [CH_REPORT_MEASURE_CALLS] = {CH_REPORT_CALLS_IN_TIME, CH_REPORT_CALLS_LATE},
    [CH_REPORT_MEASURE_VISITORS] = {CH_REPORT_VISITORS_IN_TIME, CH_REPORT_VISITORS_LATE},
    [CH_REPORT_MEASURE_ACKNOWLEDGED] = {CH_REPORT_ACK_IN_TIME, CH_REPORT_ACK_LATE},
};

/* ---- periods ---- */

static int
period_shape(const char *s, ch_report_granularity g, int *y, int *m, int *d)
{
    if (!ch_report_period_shaped(s, g))
        return CH_EINVAL;
    *y = atoi(s);
    *m = g == CH_REPORT_YEAR ? 1 : atoi(s + 5);
    *d = g == CH_REPORT_DAY ? atoi(s + 8) : 1;
    if (*m < 1 || *m > 12 || *d < 1 || *d > ch_days_in_month(*y, *m))
        return CH_EINVAL;
    return 0;
}

int
ch_report_periods_ending(const char *period, ch_report_granularity g, size_t n,
                         char (*out)[CH_REPORT_PERIOD_MAX])
{
    int y, m, d;
    if (n == 0 || n > CH_REPORT_TREND_MAX || period_shape(period, g, &y, &m, &d) != 0)
        return CH_EINVAL;
    int32_t day = ch_day_from_civil(y, m, d);
    for (size_t i = 0; i < n; i++) {
        size_t back = n - 1 - i;
        if (g == CH_REPORT_DAY) {
            ch_report_period(day - (int32_t)back, g, out[i], CH_REPORT_PERIOD_MAX);
        } else if (g == CH_REPORT_MONTH) {
            int months = y * 12 + (m - 1) - (int)back;
            if (months < 0)
                return CH_EINVAL;
            unsigned um = (unsigned)months;
            snprintf(out[i], CH_REPORT_PERIOD_MAX, "%04u-%02u", (um / 12) % 10000u, um % 12u + 1);
        } else {
            if (y < (int)back)
                return CH_EINVAL;
            snprintf(out[i], CH_REPORT_PERIOD_MAX, "%04d", y - (int)back);
        }
    }
    return 0;
}

/* ---- the view ---- */

/* The promise index for a channel and type, remembered per pair: a table
 * has few distinct pairs and many counters. -1: none. */
typedef struct {
    char channel[CH_REPORT_KEY_CHANNEL_MAX], type[CH_REPORT_KEY_TYPE_MAX];
    int promise;
} pair_memo;

typedef struct {
    pair_memo *m;
    size_t n, cap;
} memo;

static int
promise_of(const ch_policy *p, memo *mm, const char *channel, const char *type)
{
    for (size_t i = 0; i < mm->n; i++)
        if (strcmp(mm->m[i].channel, channel) == 0 && strcmp(mm->m[i].type, type) == 0)
            return mm->m[i].promise;
    const ch_policy_promise *pr = ch_policy_find_promise(p, channel, type);
    int idx = pr ? (int)(pr - p->promises) : -1;
    if (mm->n == mm->cap) {
        size_t cap = mm->cap ? mm->cap * 2 : 16;
        pair_memo *q = realloc(mm->m, cap * sizeof(*q));
        if (!q)
            return idx; /* not remembered: slower, still right */
        mm->m = q;
        mm->cap = cap;
    }
    pair_memo *e = &mm->m[mm->n++];
    snprintf(e->channel, sizeof(e->channel), "%s", channel);
    snprintf(e->type, sizeof(e->type), "%s", type);
    e->promise = idx;
    return idx;
}

static int
fig_of(const char *name)
{
    for (int k = 0; k < CH_REPORT_FIG_COUNT; k++)
        if (strcmp(name, ch_report_fig_name((ch_report_fig)k)) == 0)
            return k;
    return -1;
}

/* A figure for the organisation as a whole. */
static void
org_figure(ch_report_view *out, int fig, int64_t v)
{
    switch (fig) {
    case CH_REPORT_RECEIVED:
        out->received += v;
        break;
    case CH_REPORT_SATISFACTION_RESPONSES:
        out->satisfaction.responses += v;
        break;
    case CH_REPORT_SATISFIED:
        out->satisfaction.satisfied += v;
        break;
    case CH_REPORT_SATISFACTION_SCORE_PCT_SUM:
        out->satisfaction.score_pct_sum += v;
        break;
    default:
        break;
    }
}

/* A fixed figure for a promise's lines beside its main one. */
static void
row_figure(ch_report_promise_row *r, int fig, int64_t v)
{
    switch (fig) {
    case CH_REPORT_ANSWERED_IN_TIME_ORIGINAL:
        r->in_time_original += v;
        break;
    case CH_REPORT_ANSWERED_LATE_ORIGINAL:
        r->late_original += v;
        break;
    case CH_REPORT_EXTENDED:
        r->extended += v;
        break;
    case CH_REPORT_EXTENSIONS_REFUSED:
        r->extensions_refused += v;
        break;
    case CH_REPORT_ACK_IN_TIME:
        r->ack_in_time += v;
        break;
    case CH_REPORT_ACK_LATE:
        r->ack_late += v;
        break;
    case CH_REPORT_NOT_ACKNOWLEDGED:
        r->ack_not_yet += v;
        break;
    case CH_REPORT_CALLS_ANSWERED:
        r->calls_answered += v;
        break;
    case CH_REPORT_CALLS_RESOLVED_FIRST_TIME:
    case CH_REPORT_VISITORS_RESOLVED_FIRST_TIME:
        r->resolved_first_time += v;
        break;
    case CH_REPORT_VISITORS_SEEN:
        r->visitors_seen += v;
        break;
    case CH_REPORT_CALLBACKS_PROMISED:
        r->callbacks_promised += v;
        break;
    case CH_REPORT_CALLBACKS_MADE:
        r->callbacks_made += v;
        break;
    case CH_REPORT_CALLBACKS_NOT_MADE:
        r->callbacks_not_made += v;
        break;
    case CH_REPORT_CALLBACKS_IN_TIME:
        r->callbacks_in_time += v;
        break;
    case CH_REPORT_CALLBACKS_LATE:
        r->callbacks_late += v;
        break;
    case CH_REPORT_CALLBACKS_OVERDUE:
        r->callbacks_overdue += v;
        break;
    case CH_REPORT_APPOINTMENTS:
        r->appointments += v;
        break;
    case CH_REPORT_APPOINTMENTS_KEPT:
        r->appts_kept += v;
        break;
    case CH_REPORT_APPOINTMENTS_MISSED:
        r->appts_missed += v;
        break;
    case CH_REPORT_APPOINTMENTS_CANCELLED_ORG:
        r->appts_cancelled_org += v;
        break;
    case CH_REPORT_APPOINTMENTS_CANCELLED_CUSTOMER:
        r->appts_cancelled_customer += v;
        break;
    case CH_REPORT_APPOINTMENTS_REBOOKED:
        r->appts_rebooked += v;
        break;
    case CH_REPORT_APPOINTMENTS_TO_COME:
        r->appts_to_come += v;
        break;
    case CH_REPORT_SATISFACTION_RESPONSES:
        r->satisfaction.responses += v;
        break;
    case CH_REPORT_SATISFIED:
        r->satisfaction.satisfied += v;
        break;
    case CH_REPORT_SATISFACTION_SCORE_PCT_SUM:
        r->satisfaction.score_pct_sum += v;
        break;
    case CH_REPORT_REVIEWS_IN_TIME:
        r->reviews_in_time += v;
        break;
    case CH_REPORT_REVIEWS_LATE:
        r->reviews_late += v;
        break;
    case CH_REPORT_REVIEWS_OVERDUE:
        r->reviews_overdue += v;
        break;
    default:
        break;
    }
}

/* "support.<kind>" and "ttr.<unit>.<value>" counters of the period. */
static void
other_key(ch_report_view *out, const ch_policy *p, memo *mm, const ch_report_key *k, int64_t v,
          int64_t *hist)
{
    int pi = promise_of(p, mm, k->channel, k->type);
    if (strncmp(k->tail, "support.", 8) == 0) {
        for (int s = 0; s < CH_REPORT_SUPPORT_COUNT; s++)
            if (strcmp(k->tail + 8, ch_report_support_name((ch_report_support)s)) == 0)
                out->support[s] += v;
        if (pi >= 0)
            out->rows[pi].support += v;
        return;
    }
    if (strncmp(k->tail, "ttr.", 4) != 0 || pi < 0)
        return;
    const char *unit = k->tail + 4, *dot = strchr(unit, '.');
    if (!dot)
        return;
    for (int u = 0; u < CH_REPORT_UNIT_COUNT; u++) {
        const char *name = ch_report_unit_name((ch_report_unit)u);
        if (strlen(name) != (size_t)(dot - unit) || strncmp(unit, name, (size_t)(dot - unit)) != 0)
            continue;
        long long value = atoll(dot + 1);
        if (value < 0 || value > CH_REPORT_TTR_MAX)
            return;
        ch_report_promise_row *r = &out->rows[pi];
        int64_t *h = hist + (size_t)pi * (CH_REPORT_TTR_MAX + 1);
        int empty = 1;
        for (size_t i = 0; i <= CH_REPORT_TTR_MAX && empty; i++)
            empty = h[i] == 0;
        if (empty)
            r->ttr_unit = (ch_report_unit)u;
        if (r->ttr_unit == (ch_report_unit)u) /* one clock, one unit per promise */
            h[value] += v;
        return;
    }
}

int
ch_report_view_build(const ch_policy *p, const ch_report_table *t, const ch_report_filter *f,
                     const char (*trend)[CH_REPORT_PERIOD_MAX], size_t ntrend,
                     const char *const *overdue, size_t noverdue, double target_pct,
                     ch_report_view *out)
{
    memset(out, 0, sizeof(*out));
    if (ntrend > CH_REPORT_TREND_MAX || !(target_pct > 0 && target_pct <= 100) ||
        (unsigned)f->granularity > CH_REPORT_YEAR)
        return CH_EINVAL;
    snprintf(out->id, sizeof(out->id), "%s", p->id);
    snprintf(out->name, sizeof(out->name), "%s", p->name);
    if (f->from && f->to && strcmp(f->from, f->to) == 0)
        snprintf(out->period, sizeof(out->period), "%s", f->from);
    else
        snprintf(out->period, sizeof(out->period), "%s to %s", f->from ? f->from : "the start",
                 f->to ? f->to : "now");
    if (p->npromises) {
        out->rows = calloc(p->npromises, sizeof(*out->rows));
        if (!out->rows)
            return CH_ENOMEM;
    }
    out->nrows = p->npromises;
    for (size_t i = 0; i < p->npromises; i++) {
        ch_report_promise_row *r = &out->rows[i];
        snprintf(r->id, sizeof(r->id), "%s", p->promises[i].id);
        ch_policy_describe_promise(p, &p->promises[i], r->promise, sizeof(r->promise));
        r->measure = ch_report_promise_measure(&p->promises[i]);
        double own = p->promises[i].target_pct;
        r->target_default = !(own > 0 && own <= 100);
        r->target_pct = r->measure == CH_REPORT_MEASURE_NONE ? 0
                        : r->target_default                  ? target_pct
                                                             : own;
        r->ntrend = ntrend;
        for (size_t k = 0; k < ntrend; k++)
            snprintf(r->trend[k].period, sizeof(r->trend[k].period), "%s", trend[k]);
        const ch_policy_promise *pr = &p->promises[i];
        r->lines = ch_report_promise_lines(pr);
        r->line_target_pct = r->target_default ? target_pct : own;
        if (pr->ack == CH_POLICY_ACK_AUTOMATIC) {
            snprintf(r->ack, sizeof(r->ack), "acknowledged automatically on receipt");
        } else if (pr->ack == CH_POLICY_ACK_WITHIN) {
            char clock[128];
            ch_policy_describe_clock(&pr->acknowledge.clock, clock, sizeof(clock));
            snprintf(r->ack, sizeof(r->ack), "acknowledged %s", clock);
        }
    }
    out->support_listed = p->communication_support;
    /* each row's time-to-respond histogram, in the unit its keys carry */
    int64_t *hist =
        p->npromises ? calloc(p->npromises * (CH_REPORT_TTR_MAX + 1), sizeof(*hist)) : NULL;
    if (p->npromises && !hist) {
        ch_report_view_free(out);
        return CH_ENOMEM;
    }

    memo mm = {0};
    size_t plen = ch_report_period_len(f->granularity);
    for (size_t i = 0; i < t->n; i++) {
        ch_report_key k;
        if (ch_report_key_parse(t->items[i].key, &k) != 0 || strlen(k.period) != plen)
            continue;
        if ((f->channel && strcmp(f->channel, k.channel) != 0) ||
            (f->case_type && strcmp(f->case_type, k.type) != 0))
            continue;
        int64_t v = t->items[i].value;
        int in_range =
            !(f->from && strcmp(k.period, f->from) < 0) && !(f->to && strcmp(k.period, f->to) > 0);
        int fig = fig_of(k.tail);
        if (fig < 0) {
            if (in_range)
                other_key(out, p, &mm, &k, v, hist);
            continue;
        }
        if (in_range)
            org_figure(out, fig, v);
        int pi = promise_of(p, &mm, k.channel, k.type);
        if (pi < 0)
            continue;
        ch_report_promise_row *r = &out->rows[pi];
        const ch_report_fig *jb = judged_by[r->measure];
        if (in_range) {
            if (fig == CH_REPORT_RECEIVED)
                r->received += v;
            else if (fig == (int)jb[0])
                r->in_time += v;
            else if (fig == (int)jb[1])
                r->late += v;
            row_figure(r, fig, v);
        }
        if (fig != (int)jb[0] && fig != (int)jb[1])
            continue;
        for (size_t tk = 0; tk < ntrend; tk++)
            if (strcmp(r->trend[tk].period, k.period) == 0) {
                if (fig == (int)jb[0])
                    r->trend[tk].in_time += v;
                else
                    r->trend[tk].late += v;
            }
    }
    for (size_t i = 0; i < noverdue; i++) {
        ch_report_key k;
        if (ch_report_key_parse(overdue[i], &k) != 0)
            continue;
        out->overdue_now++;
        int pi = promise_of(p, &mm, k.channel, k.type);
        if (pi >= 0)
            out->rows[pi].overdue_now++;
    }
    free(mm.m);
    for (size_t i = 0; i < out->nrows; i++) {
        ch_report_promise_row *r = &out->rows[i];
        const int64_t *h = hist + i * (CH_REPORT_TTR_MAX + 1);
        if (ch_report_percentile(h, CH_REPORT_TTR_MAX + 1, 50, &r->ttr_median) == 0) {
            ch_report_percentile(h, CH_REPORT_TTR_MAX + 1, 90, &r->ttr_p90);
            for (size_t k = 0; k <= CH_REPORT_TTR_MAX; k++)
                r->ttr_responses += h[k];
        }
    }
    free(hist);
    return 0;
}

void
ch_report_view_free(ch_report_view *v)
{
    free(v->rows);
    memset(v, 0, sizeof(*v));
}

double
ch_report_pct_within(int64_t in_time, int64_t late)
{
    int64_t n = in_time + late;
    return n > 0 ? 100.0 * (double)in_time / (double)n : -1;
}

double
ch_report_row_pct(const ch_report_promise_row *r)
{
    return ch_report_pct_within(r->in_time, r->late);
}

/* 1 when pct (to the one decimal place published) reaches target, else 0;
 * -1 when nothing was judged */
static int
met_at(double pct, double target)
{
    if (pct < 0)
        return -1;
    return (int64_t)(pct * 10 + 0.5) >= (int64_t)(target * 10 + 0.5);
}

int
ch_report_line_met(const ch_report_promise_row *r, int64_t in_time, int64_t late)
{
    return met_at(ch_report_pct_within(in_time, late), r->line_target_pct);
}

int
ch_report_row_met(const ch_report_promise_row *r)
{
    if (r->measure == CH_REPORT_MEASURE_NONE)
        return -1;
    return met_at(ch_report_row_pct(r), r->target_pct);
}

const char *
ch_report_row_result(const ch_report_promise_row *r)
{
    if (r->measure == CH_REPORT_MEASURE_NONE)
        return "measured only";
    switch (ch_report_row_met(r)) {
    case 1:
        return "met";
    case 0:
        return "not met";
    default:
        return "no cases";
    }
}

double
ch_report_appts_kept_pct(const ch_report_promise_row *r)
{
    return ch_report_pct_within(r->appts_kept, r->appts_missed + r->appts_cancelled_org);
}

double
ch_report_fcr_pct(const ch_report_promise_row *r)
{
    return ch_report_pct_within(r->resolved_first_time,
                                r->calls_answered + r->visitors_seen - r->resolved_first_time);
}

double
ch_report_satisfied_pct(const ch_report_satisfaction *s)
{
    return s->responses > 0 ? 100.0 * (double)s->satisfied / (double)s->responses : -1;
}

/* ---- measures that need the policy ---- */

int
ch_report_per_1000_homes(const ch_policy *p, const char *case_type, int64_t received, double *out)
{
    if (!p || p->kind != CH_POLICY_KIND_HOUSING_LANDLORD || p->homes <= 0 ||
        (strcmp(case_type, "complaint_stage_1") != 0 &&
         strcmp(case_type, "complaint_stage_2") != 0))
        return CH_ENOTFOUND;
    *out = 1000.0 * (double)received / (double)p->homes;
    return 0;
}
