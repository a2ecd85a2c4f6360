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
        r->target_pct = r->measure == CH_REPORT_MEASURE_NONE ? 0 : target_pct;
        r->ntrend = ntrend;
        for (size_t k = 0; k < ntrend; k++)
            snprintf(r->trend[k].period, sizeof(r->trend[k].period), "%s", trend[k]);
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
        int fig = fig_of(k.tail);
        if (fig < 0)
            continue;
        int64_t v = t->items[i].value;
        int in_range =
            !(f->from && strcmp(k.period, f->from) < 0) && !(f->to && strcmp(k.period, f->to) > 0);
        if (in_range && fig == CH_REPORT_RECEIVED)
            out->received += v;
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

int
ch_report_row_met(const ch_report_promise_row *r)
{
    double pct = ch_report_row_pct(r);
    if (r->measure == CH_REPORT_MEASURE_NONE || pct < 0)
        return -1;
    /* compare at the one decimal place published */
    return (int64_t)(pct * 10 + 0.5) >= (int64_t)(r->target_pct * 10 + 0.5);
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
