/*
 * The per-promise view as JSON and back (report_json.h says why one codec).
 * Each line is a table of (JSON name, field) pairs, so the writer and the
 * reader walk the same table and cannot disagree about a field.
 */
#include "charter/report_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"

typedef struct {
    const char *name;
    size_t offset; /* of an int64_t in ch_report_promise_row */
} int_field;

#define F(name, field)                                                                             \
    {                                                                                              \
        name, offsetof(ch_report_promise_row, field)                                               \
    }

static const int_field original_fields[] = {F("in_time", in_time_original),
                                            F("late", late_original),
                                            F("extended", extended),
                                            F("extensions_refused", extensions_refused),
                                            {NULL, 0}};
static const int_field ack_fields[] = {
    F("in_time", ack_in_time), F("late", ack_late), F("not_yet", ack_not_yet), {NULL, 0}};
static const int_field ttr_fields[] = {
    F("responses", ttr_responses), F("median", ttr_median), F("p90", ttr_p90), {NULL, 0}};
static const int_field fcr_fields[] = {F("calls_answered", calls_answered),
                                       F("visitors_seen", visitors_seen),
                                       F("resolved_first_time", resolved_first_time),
                                       {NULL, 0}};
static const int_field appt_fields[] = {F("appointments", appointments),
                                        F("kept", appts_kept),
                                        F("missed", appts_missed),
                                        F("cancelled_by_organisation", appts_cancelled_org),
                                        F("cancelled_by_customer", appts_cancelled_customer),
                                        F("rebooked", appts_rebooked),
                                        F("to_come", appts_to_come),
                                        {NULL, 0}};
static const int_field support_fields[] = {F("given", support), {NULL, 0}};
static const int_field sat_fields[] = {F("responses", satisfaction.responses),
                                       F("satisfied", satisfaction.satisfied),
                                       F("score_pct_sum", satisfaction.score_pct_sum),
                                       {NULL, 0}};
static const int_field review_fields[] = {F("in_time", reviews_in_time),
                                          F("late", reviews_late),
                                          F("overdue", reviews_overdue),
                                          {NULL, 0}};
static const int_field callback_fields[] = {F("promised", callbacks_promised),
                                            F("made", callbacks_made),
                                            F("not_made", callbacks_not_made),
                                            {NULL, 0}};
static const int_field callback_agreed_fields[] = {F("in_time", callbacks_in_time),
                                                   F("late", callbacks_late),
                                                   F("overdue", callbacks_overdue),
                                                   {NULL, 0}};
#undef F

/* The lines in the order they are written and shown. */
static const struct {
    unsigned bit;
    const char *name;
    const int_field *fields;
} lines[] = {
    {CH_REPORT_LINE_ORIGINAL, "original", original_fields},
    {CH_REPORT_LINE_ACK, "acknowledgement", ack_fields},
    {CH_REPORT_LINE_TTR, "time_to_respond", ttr_fields},
    {CH_REPORT_LINE_FCR, "first_contact_resolution", fcr_fields},
    {CH_REPORT_LINE_APPOINTMENTS, "appointments", appt_fields},
    {CH_REPORT_LINE_SUPPORT, "communication_support", support_fields},
    {CH_REPORT_LINE_SATISFACTION, "satisfaction", sat_fields},
    {CH_REPORT_LINE_REVIEWS, "reviews", review_fields},
    {CH_REPORT_LINE_CALLBACKS, "callbacks", callback_fields},
    {CH_REPORT_LINE_CALLBACKS_AGREED, "callbacks_at_agreed_time", callback_agreed_fields},
};
#define NLINES (sizeof(lines) / sizeof(lines[0]))

static int64_t *
field_of(ch_report_promise_row *r, const int_field *f)
{
    return (int64_t *)(void *)((char *)r + f->offset);
}

static json_t *
pct_json(double pct)
{
    return pct < 0 ? json_null() : json_real(pct);
}

static json_t *
met_json(int met)
{
    return met < 0 ? json_null() : json_boolean(met);
}

/* The figures worked out from a line's counts, for a reader's convenience
 * (never read back: they follow from the counts). */
static void
derived(json_t *o, const ch_report_promise_row *r, unsigned bit)
{
    switch (bit) {
    case CH_REPORT_LINE_ORIGINAL:
        json_object_set_new(o, "pct_within",
                            pct_json(ch_report_pct_within(r->in_time_original, r->late_original)));
        json_object_set_new(o, "met",
                            met_json(ch_report_line_met(r, r->in_time_original, r->late_original)));
        break;
    case CH_REPORT_LINE_ACK:
        json_object_set_new(o, "promise", json_string(r->ack));
        json_object_set_new(o, "pct_within",
                            pct_json(ch_report_pct_within(r->ack_in_time, r->ack_late)));
        json_object_set_new(o, "met", met_json(ch_report_line_met(r, r->ack_in_time, r->ack_late)));
        break;
    case CH_REPORT_LINE_TTR:
        json_object_set_new(o, "unit",
                            r->ttr_responses ? json_string(ch_report_unit_name(r->ttr_unit))
                                             : json_null());
        break;
    case CH_REPORT_LINE_FCR:
        json_object_set_new(o, "pct", pct_json(ch_report_fcr_pct(r)));
        break;
    case CH_REPORT_LINE_CALLBACKS:
        json_object_set_new(
            o, "made_pct",
            pct_json(ch_report_pct_within(r->callbacks_made, r->callbacks_not_made)));
        break;
    case CH_REPORT_LINE_CALLBACKS_AGREED: {
        int64_t late = r->callbacks_late + r->callbacks_overdue;
        json_object_set_new(o, "due", json_integer(r->callbacks_in_time + late));
        json_object_set_new(o, "pct_within",
                            pct_json(ch_report_pct_within(r->callbacks_in_time, late)));
        json_object_set_new(o, "met", met_json(ch_report_line_met(r, r->callbacks_in_time, late)));
        break;
    }
    case CH_REPORT_LINE_APPOINTMENTS:
        json_object_set_new(o, "kept_pct", pct_json(ch_report_appts_kept_pct(r)));
        break;
    case CH_REPORT_LINE_SATISFACTION:
        json_object_set_new(o, "satisfied_pct",
                            pct_json(ch_report_satisfied_pct(&r->satisfaction)));
        break;
    case CH_REPORT_LINE_REVIEWS:
        json_object_set_new(
            o, "due", json_integer(r->reviews_in_time + r->reviews_late + r->reviews_overdue));
        json_object_set_new(o, "pct_within",
                            pct_json(ch_report_pct_within(r->reviews_in_time,
                                                          r->reviews_late + r->reviews_overdue)));
        json_object_set_new(o, "met",
                            met_json(ch_report_line_met(r, r->reviews_in_time,
                                                        r->reviews_late + r->reviews_overdue)));
        break;
    default:
        break;
    }
}

json_t *
ch_report_promise_to_json(const ch_report_promise_row *r)
{
    double pct = ch_report_row_pct(r);
    int met = ch_report_row_met(r);
    json_t *o = json_pack(
        "{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:f}", "id", r->id, "promise", r->promise,
        "measure", ch_report_measure_name(r->measure), "received", (json_int_t)r->received,
        "in_time", (json_int_t)r->in_time, "late", (json_int_t)r->late, "number",
        (json_int_t)(r->in_time + r->late), "open_overdue", (json_int_t)r->overdue_now,
        "target_pct", r->measure == CH_REPORT_MEASURE_NONE ? json_null() : json_real(r->target_pct),
        "pct_within", pct_json(pct), "met", met_json(met), "line_target_pct", r->line_target_pct);
    json_t *names = json_array();
    if (o) {
        /* where the target comes from, and the result in words (as the
         * publication's `result` column) */
        json_object_set_new(o, "target_source",
                            r->measure == CH_REPORT_MEASURE_NONE
                                ? json_null()
                                : json_string(r->target_default ? "default" : "policy"));
        json_object_set_new(o, "result", json_string(ch_report_row_result(r)));
    }
    if (!o || !names) {
        json_decref(o);
        json_decref(names);
        return NULL;
    }
    ch_report_promise_row *w = (ch_report_promise_row *)r; /* field_of reads only here */
    for (size_t i = 0; i < NLINES; i++) {
        if (!(r->lines & lines[i].bit))
            continue;
        json_array_append_new(names, json_string(lines[i].name));
        json_t *line = json_object();
        for (const int_field *f = lines[i].fields; f->name; f++)
            json_object_set_new(line, f->name, json_integer((json_int_t)*field_of(w, f)));
        derived(line, r, lines[i].bit);
        json_object_set_new(o, lines[i].name, line);
    }
    json_object_set_new(o, "lines", names);
    return o;
}

static json_t *
satisfaction_json(const ch_report_satisfaction *s)
{
    return json_pack("{s:I,s:I,s:I,s:o,s:o}", "responses", (json_int_t)s->responses, "satisfied",
                     (json_int_t)s->satisfied, "score_pct_sum", (json_int_t)s->score_pct_sum,
                     "satisfied_pct", pct_json(ch_report_satisfied_pct(s)), "mean_score_pct",
                     s->responses ? json_real((double)s->score_pct_sum / (double)s->responses)
                                  : json_null());
}

json_t *
ch_report_measures_to_json(const ch_report_view *v)
{
    json_t *support = json_object();
    for (unsigned bit = 1; bit && bit <= v->support_listed; bit <<= 1)
        if (v->support_listed & bit) {
            ch_report_support k = ch_report_support_of_policy(bit);
            json_object_set_new(support, ch_report_support_name(k), json_integer(v->support[k]));
        }
    json_t *delivery = json_object();
    for (size_t i = 0; i < v->delivery.n; i++) {
        const ch_report_delivery_row *r = &v->delivery.rows[i];
        double rate = ch_report_delivery_rate(r);
        char words[16];
        snprintf(words, sizeof(words), rate < 0 ? "unknown" : "%.1f%%", rate);
        json_object_set_new(delivery, r->channel,
                            json_pack("{s:I,s:I,s:I,s:I,s:o,s:s}", "sent", (json_int_t)r->sent,
                                      "delivered", (json_int_t)r->delivered, "failed",
                                      (json_int_t)r->failed, "fell_back", (json_int_t)r->fell_back,
                                      "delivery_rate_pct", pct_json(rate), "delivery_rate", words));
    }
    return json_pack("{s:o,s:o,s:o}", "communication_support", support, "satisfaction",
                     satisfaction_json(&v->satisfaction), "delivery", delivery);
}

/* ---- reading back ---- */

static void
copy_str(char *dst, size_t dstsz, const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    snprintf(dst, dstsz, "%s", s ? s : "");
}

static int64_t
get_int(const json_t *o, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(o, key));
}

static int
row_from_json(const json_t *o, ch_report_promise_row *r, char *errstr, size_t errstr_size)
{
    copy_str(r->id, sizeof(r->id), o, "id");
    copy_str(r->promise, sizeof(r->promise), o, "promise");
    const char *m = json_string_value(json_object_get(o, "measure"));
    if (!m || ch_report_measure_parse(m, &r->measure) != 0) {
        snprintf(errstr, errstr_size, "promise '%s' has an unknown measure '%s'", r->id,
                 m ? m : "");
        return CH_EINVAL;
    }
    r->received = get_int(o, "received");
    r->in_time = get_int(o, "in_time");
    r->late = get_int(o, "late");
    r->overdue_now = get_int(o, "open_overdue");
    r->target_pct = json_number_value(json_object_get(o, "target_pct"));
    r->line_target_pct = json_number_value(json_object_get(o, "line_target_pct"));
    const char *src = json_string_value(json_object_get(o, "target_source"));
    r->target_default = src && strcmp(src, "default") == 0;
    const json_t *names = json_object_get(o, "lines"), *name;
    size_t i;
    json_array_foreach(names, i, name)
    {
        size_t k = 0;
        while (k < NLINES &&
               (!json_is_string(name) || strcmp(json_string_value(name), lines[k].name) != 0))
            k++;
        const json_t *line = k < NLINES ? json_object_get(o, lines[k].name) : NULL;
        if (!json_is_object(line)) {
            snprintf(errstr, errstr_size, "promise '%s': line '%s' is unknown or missing", r->id,
                     json_is_string(name) ? json_string_value(name) : "?");
            return CH_EINVAL;
        }
        r->lines |= lines[k].bit;
        for (const int_field *f = lines[k].fields; f->name; f++)
            *field_of(r, f) = get_int(line, f->name);
        if (lines[k].bit == CH_REPORT_LINE_ACK)
            copy_str(r->ack, sizeof(r->ack), line, "promise");
        if (lines[k].bit == CH_REPORT_LINE_TTR) {
            const char *unit = json_string_value(json_object_get(line, "unit"));
            for (int u = 0; unit && u < CH_REPORT_UNIT_COUNT; u++)
                if (strcmp(unit, ch_report_unit_name((ch_report_unit)u)) == 0)
                    r->ttr_unit = (ch_report_unit)u;
        }
    }
    return 0;
}

int
ch_report_view_from_json(const json_t *root, const char *period, ch_report_view *v, char *errstr,
                         size_t errstr_size)
{
    memset(v, 0, sizeof(*v));
    const json_t *promises = json_object_get(root, "promises");
    if (!json_is_object(root) || !json_is_array(promises)) {
        snprintf(errstr, errstr_size, "not a report: no 'promises' list");
        return CH_EINVAL;
    }
    copy_str(v->id, sizeof(v->id), root, "organisation");
    copy_str(v->name, sizeof(v->name), root, "name");
    snprintf(v->period, sizeof(v->period), "%s", period);
    const json_t *figures = json_object_get(root, "figures");
    v->received = get_int(figures, "received");
    v->overdue_now = get_int(figures, "open_overdue");
    v->nrows = json_array_size(promises);
    v->rows = calloc(v->nrows ? v->nrows : 1, sizeof(*v->rows));
    if (!v->rows) {
        snprintf(errstr, errstr_size, "out of memory");
        v->nrows = 0;
        return CH_ENOMEM;
    }
    for (size_t i = 0; i < v->nrows; i++)
        if (row_from_json(json_array_get(promises, i), &v->rows[i], errstr, errstr_size) != 0) {
            ch_report_view_free(v);
            return CH_EINVAL;
        }
    const json_t *measures = json_object_get(root, "measures");
    const json_t *support = json_object_get(measures, "communication_support"), *n;
    const char *kind;
    json_object_foreach((json_t *)support, kind, n)
    {
        for (unsigned bit = 1; bit <= CH_POLICY_SUPPORT_BRAILLE; bit <<= 1) {
            ch_report_support k = ch_report_support_of_policy(bit);
            if (strcmp(kind, ch_report_support_name(k)) == 0) {
                v->support_listed |= bit;
                v->support[k] = (int64_t)json_integer_value(n);
            }
        }
    }
    const json_t *sat = json_object_get(measures, "satisfaction");
    v->satisfaction.responses = get_int(sat, "responses");
    v->satisfaction.satisfied = get_int(sat, "satisfied");
    v->satisfaction.score_pct_sum = get_int(sat, "score_pct_sum");
    const json_t *delivery = json_object_get(measures, "delivery"), *d;
    const char *channel;
    json_object_foreach((json_t *)delivery, channel, d)
    {
        if (v->delivery.n == CH_REPORT_DELIVERY_CHANNELS)
            break;
        ch_report_delivery_row *r = &v->delivery.rows[v->delivery.n++];
        snprintf(r->channel, sizeof(r->channel), "%s", channel);
        r->sent = get_int(d, "sent");
        r->delivered = get_int(d, "delivered");
        r->failed = get_int(d, "failed");
        r->fell_back = get_int(d, "fell_back");
    }
    return 0;
}
