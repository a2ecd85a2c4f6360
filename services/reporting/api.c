/*
 * GET /v1/report: an organisation's counts and figures as JSON, with the
 * filters a reader gives (granularity, period range, channel, case type).
 *
 * The figures are sums over the counters (report_table.h) and the promise
 * lines are the per-promise view (report_view.h), the same values the
 * dashboard and the snapshots show, so charterctl's annual publication,
 * which reads this JSON, prints what the dashboard shows. This file only
 * reads the query, loads the organisation (store.h: the periods of the
 * request's granularity from `from` to `to`, every kept one when a bound is
 * left out) and writes JSON.
 */
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/report_json.h"
#include "charter/report_view.h"
#include "charter/timeutil.h"
#include "reporting.h"
#include "store.h"

typedef struct {
    reporting *r;
    struct evhttp_request *req;
    char org[REPORT_ORG_MAX];
    char channel[32], type[32], from[16], to[16];
    ch_report_granularity granularity;
} report_req;

static const char *const granularity_names[] = {"day", "month", "year"};

/* The counts that are always in the reply, 0 when nothing was counted. */
static const char *const always_counted[] = {
    "received",      "acknowledged",      "responded", "closed", "timers.acknowledgement_due",
    "timers.breach", "notifications.sent"};

/* Complaints by stage and statutory requests, each under figures.by_case_type. */
static const char *const by_type[] = {"complaint_stage_1", "complaint_stage_2", "foi", "eir",
                                      "sar"};

static void
filter_of(const report_req *q, ch_report_filter *f)
{
    f->granularity = q->granularity;
    f->from = q->from[0] ? q->from : NULL;
    f->to = q->to[0] ? q->to : NULL;
    f->channel = q->channel[0] ? q->channel : NULL;
    f->case_type = q->type[0] ? q->type : NULL;
}

/* A period (cut to the request's granularity) within from..to. */
static int
period_in_range(const report_req *q, const char *period)
{
    char p[CH_REPORT_KEY_PERIOD_MAX];
    snprintf(p, sizeof(p), "%.*s", (int)ch_report_period_len(q->granularity), period);
    return (!q->from[0] || strcmp(p, q->from) >= 0) && (!q->to[0] || strcmp(p, q->to) <= 0);
}

/* in_time / (in_time + late) as a percentage, or null when nothing was judged. */
static json_t *
share(int64_t in_time, int64_t late)
{
    double pct = ch_report_pct_within(in_time, late);
    return pct < 0 ? json_null() : json_real(pct);
}

static json_t *
figures_json(const ch_report_totals *t)
{
    json_t *o = json_object();
    for (int k = 0; k < CH_REPORT_FIG_COUNT; k++)
        json_object_set_new(o, ch_report_fig_name((ch_report_fig)k), json_integer(t->fig[k]));
    json_t *support = json_object();
    for (int k = 0; k < CH_REPORT_SUPPORT_COUNT; k++)
        json_object_set_new(support, ch_report_support_name((ch_report_support)k),
                            json_integer(t->support[k]));
    json_object_set_new(o, "support", support);
    json_t *ttr = json_object();
    for (int u = 0; u < CH_REPORT_UNIT_COUNT; u++) {
        ch_report_ttr s;
        if (ch_report_ttr_summary(t, (ch_report_unit)u, &s) == 0)
            json_object_set_new(ttr, ch_report_unit_name((ch_report_unit)u),
                                json_pack("{s:I,s:I,s:I}", "responses", (json_int_t)s.responses,
                                          "median", (json_int_t)s.median, "p90",
                                          (json_int_t)s.p90));
    }
    json_object_set_new(o, "time_to_respond", ttr);
    return o;
}

/* The totals the filter selects, with the open cases overdue among them. */
static json_t *
totals_json(const report_req *q, const report_data *d, ch_report_totals *t)
{
    ch_report_filter f;
    filter_of(q, &f);
    int64_t overdue = 0;
    for (size_t i = 0; i < d->open.n; i++) {
        const ch_report_key *k = &d->open.keys[i];
        if (period_in_range(q, k->period) &&
            (!q->channel[0] || strcmp(q->channel, k->channel) == 0) &&
            (!q->type[0] || strcmp(q->type, k->type) == 0))
            overdue++;
    }
    ch_report_sum(&d->figures, &f, t);
    json_t *figures = figures_json(t);
    json_object_set_new(figures, "open_overdue", json_integer(overdue));
    json_object_set_new(figures, "acknowledged_in_time_pct",
                        share(t->fig[CH_REPORT_ACK_IN_TIME], t->fig[CH_REPORT_ACK_LATE]));
    json_object_set_new(figures, "answered_in_time_pct",
                        share(t->fig[CH_REPORT_ANSWERED_IN_TIME], t->fig[CH_REPORT_ANSWERED_LATE]));
    json_object_set_new(figures, "answered_in_time_original_pct",
                        share(t->fig[CH_REPORT_ANSWERED_IN_TIME_ORIGINAL],
                              t->fig[CH_REPORT_ANSWERED_LATE_ORIGINAL]));
    return figures;
}

/* The same filter, one case type at a time. */
static json_t *
by_type_json(const report_req *q, const report_data *d, const ch_org_clocks *oc,
             ch_report_totals *t)
{
    ch_report_filter f;
    filter_of(q, &f);
    json_t *by = json_object();
    for (size_t i = 0; i < CH_COUNTOF(by_type); i++) {
        if (q->type[0] && strcmp(q->type, by_type[i]) != 0)
            continue;
        f.case_type = by_type[i];
        ch_report_sum(&d->figures, &f, t);
        json_t *o = json_pack(
            "{s:I,s:I,s:I,s:I,s:I,s:o}", "received", (json_int_t)t->fig[CH_REPORT_RECEIVED],
            "answered", (json_int_t)t->fig[CH_REPORT_ANSWERED], "answered_in_time",
            (json_int_t)t->fig[CH_REPORT_ANSWERED_IN_TIME], "answered_late",
            (json_int_t)t->fig[CH_REPORT_ANSWERED_LATE], "open", (json_int_t)t->fig[CH_REPORT_OPEN],
            "answered_in_time_pct",
            share(t->fig[CH_REPORT_ANSWERED_IN_TIME], t->fig[CH_REPORT_ANSWERED_LATE]));
        double per;
        if (oc && ch_report_per_1000_homes(&oc->policy, by_type[i], t->fig[CH_REPORT_RECEIVED],
                                           &per) == 0)
            json_object_set_new(o, "per_1000_homes", json_real(per));
        json_object_set_new(by, by_type[i], o);
    }
    return by;
}

/* One line per promise of the charter, as the publication shows it, and
 * the organisation's own measures into *measures. */
static json_t *
promises_json(const report_req *q, const report_data *d, const ch_org_clocks *oc, json_t **measures)
{
    json_t *promises = json_array();
    *measures = NULL;
    if (!oc)
        return promises;
    const char **members = malloc((d->open.n ? d->open.n : 1) * sizeof(*members));
    size_t nm = 0;
    for (size_t i = 0; members && i < d->open.n; i++)
        if (period_in_range(q, d->open.keys[i].period))
            members[nm++] =
                d->open.members[i]; /* channel and type: the view applies the filter's */
    ch_report_filter f;
    filter_of(q, &f);
    ch_report_view v;
    if (members && ch_report_view_build(&oc->policy, &d->figures, &f, NULL, 0, members, nm,
                                        (double)q->r->cfg->target_pct, &v) == 0) {
        for (size_t k = 0; k < v.nrows; k++)
            json_array_append_new(promises, ch_report_promise_to_json(&v.rows[k]));
        ch_report_delivery_sum(&d->counts, q->from, q->to, &v.delivery);
        *measures = ch_report_measures_to_json(&v);
        ch_report_view_free(&v);
    }
    free(members);
    return promises;
}

/* One entry per period of the granularity that has cases received, in order. */
static json_t *
periods_json(const report_req *q, const report_data *d, ch_report_totals *t)
{
    json_t *periods = json_array();
    size_t len = ch_report_period_len(q->granularity);
    char last[CH_REPORT_KEY_PERIOD_MAX] = "";
    for (size_t i = 0; i < d->figures.n; i++) {
        ch_report_key_span k;
        if (ch_report_key_split(d->figures.items[i].key, &k) != 0 || k.period_len != len)
            continue;
        char period[CH_REPORT_KEY_PERIOD_MAX];
        snprintf(period, sizeof(period), "%.*s", (int)len, k.period);
        if (strcmp(period, last) == 0 || !period_in_range(q, period))
            continue;
        snprintf(last, sizeof(last), "%s", period);
        ch_report_filter pf;
        filter_of(q, &pf);
        pf.from = pf.to = period;
        ch_report_table pt = ch_report_table_period(&d->figures, period);
        ch_report_sum(&pt, &pf, t);
        if (!t->fig[CH_REPORT_RECEIVED])
            continue;
        json_t *o = figures_json(t);
        json_object_set_new(o, "period", json_string(period));
        json_array_append_new(periods, o);
    }
    return periods;
}

static json_t *
counts_json(const ch_report_table *counts)
{
    json_t *o = json_object();
    for (size_t i = 0; i < counts->n; i++)
        json_object_set_new(o, counts->items[i].key, json_integer(counts->items[i].value));
    for (size_t i = 0; i < CH_COUNTOF(always_counted); i++)
        if (!json_object_get(o, always_counted[i]))
            json_object_set_new(o, always_counted[i], json_integer(0));
    return o;
}

static json_t *
filters_json(const report_req *q)
{
    json_t *filters = json_pack("{s:s}", "granularity", granularity_names[q->granularity]);
    if (q->channel[0])
        json_object_set_new(filters, "channel", json_string(q->channel));
    if (q->type[0])
        json_object_set_new(filters, "type", json_string(q->type));
    if (q->from[0])
        json_object_set_new(filters, "from", json_string(q->from));
    if (q->to[0])
        json_object_set_new(filters, "to", json_string(q->to));
    return filters;
}

/* The reply to q from what the store read: JSON text (malloc'd), or NULL
 * on ENOMEM. */
static char *
report_text(const report_req *q, const report_data *d)
{
    ch_report_totals *t = malloc(sizeof(*t));
    if (!t)
        return NULL;
    const ch_org_clocks *oc = ch_org_set_find(ch_runtime_orgs(q->r->rt), q->org);
    json_t *figures = totals_json(q, d, t);
    json_object_set_new(figures, "by_case_type", by_type_json(q, d, oc, t));
    json_t *measures = NULL;
    json_t *promises = promises_json(q, d, oc, &measures);
    json_t *periods = periods_json(q, d, t);
    json_t *body =
        json_pack("{s:s, s:o, s:o, s:o, s:o, s:b, s:o}", "organisation", q->org, "counts",
                  counts_json(&d->counts), "filters", filters_json(q), "figures", figures,
                  "periods", periods, "policy", oc != NULL, "promises", promises);
    if (body && oc)
        json_object_set_new(body, "name", json_string(oc->policy.name));
    if (body && measures)
        json_object_set_new(body, "measures", measures);
    else
        json_decref(measures);
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(body);
    free(t);
    return text;
}

static void
report_loaded(void *opaque, int rc, report_data *d)
{
    report_req *q = opaque;
    char *text = rc == 0 ? report_text(q, d) : NULL;
    if (rc == CH_EAGAIN)
        ch_http_reply_unavailable(q->req, REPORT_RETRY_AFTER_S, "Redis is not answering; retry");
    else if (!text)
        ch_http_reply_error(q->req, 500, "internal", "out of memory");
    else
        ch_http_reply_json(q->req, 200, text);
    free(text);
    free(q);
}

/* A name of lower-case letters, digits and '_', 1 to 31 characters. */
static int
valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 31)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

/* The filters of the query into q: NULL, or the parameter at fault (and
 * *why, what it should be). */
static const char *
read_filters(report_req *q, const struct evkeyvalq *params, const char **why)
{
    const char *v = evhttp_find_header(params, "granularity");
    if (v) {
        size_t g = 0;
        while (g < 3 && strcmp(v, granularity_names[g]) != 0)
            g++;
        if (g == 3) {
            *why = "granularity is one of day, month, year";
            return "granularity";
        }
        q->granularity = (ch_report_granularity)g;
    }
    static const char *const period_help[] = {
        "from and to are dates (2026-11-23) at day granularity",
        "from and to are months (2026-11) at month granularity",
        "from and to are years (2026) at year granularity"};
    const struct {
        const char *param;
        char *value;
        size_t size;
        int period; /* 1: a period of the granularity; 0: a name */
        const char *help;
    } fields[] = {
        {"channel", q->channel, sizeof(q->channel), 0,
         "channel is a channel name such as email or phone"},
        {"type", q->type, sizeof(q->type), 0,
         "type is a case type such as enquiry or complaint_stage_1"},
        {"from", q->from, sizeof(q->from), 1, period_help[q->granularity]},
        {"to", q->to, sizeof(q->to), 1, period_help[q->granularity]},
    };
    for (size_t i = 0; i < CH_COUNTOF(fields); i++) {
        if (!(v = evhttp_find_header(params, fields[i].param)))
            continue;
        if (fields[i].period ? !ch_report_period_shaped(v, q->granularity) : !valid_name(v)) {
            *why = fields[i].help;
            return fields[i].param;
        }
        snprintf(fields[i].value, fields[i].size, "%s", v);
    }
    return NULL;
}

void
report_get_report(void *svc, struct evhttp_request *req, const char *rest)
{
    (void)rest;
    reporting *r = svc;
    struct evkeyvalq params;
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    if (!query || evhttp_parse_query_str(query, &params) != 0) {
        ch_http_reply_error_field(req, 400, "missing_parameter", "organisation",
                                  "query parameter 'organisation' is required");
        return;
    }
    if (!report_readable(r, req)) {
        evhttp_clear_headers(&params);
        return;
    }
    const char *org = evhttp_find_header(&params, "organisation");
    if (!org || !org[0] || strlen(org) >= REPORT_ORG_MAX || strpbrk(org, "{}:")) {
        ch_http_reply_error_field(
            req, 400, "missing_parameter", "organisation",
            "query parameter 'organisation' is required (an organisation id)");
        evhttp_clear_headers(&params);
        return;
    }
    report_req *q = calloc(1, sizeof(*q));
    if (!q) {
        evhttp_clear_headers(&params);
        ch_http_reply_error(req, 500, "internal", "out of memory");
        return;
    }
    q->r = r;
    q->req = req;
    q->granularity = CH_REPORT_MONTH;
    snprintf(q->org, sizeof(q->org), "%s", org);
    const char *why = NULL, *bad = read_filters(q, &params, &why);
    evhttp_clear_headers(&params);
    if (bad) {
        ch_http_reply_error_field(req, 400, "invalid_parameter", bad, why);
        free(q);
        return;
    }
    int rc = report_store_load_range(r->store, q->org, REPORT_LOAD_COUNTS, q->granularity, q->from,
                                     q->to, ch_time_now_ms(), report_loaded, q);
    if (rc != 0) {
        free(q);
        if (rc == CH_ENOMEM)
            ch_http_reply_error(req, 500, "internal", "out of memory");
        else
            ch_http_reply_unavailable(req, REPORT_RETRY_AFTER_S, "Redis is not connected; retry");
    }
}

int
report_readable(reporting *r, struct evhttp_request *req)
{
    if (r->migrated)
        return 1;
    ch_http_reply_unavailable(
        req, REPORT_RETRY_AFTER_S,
        "the figures are being moved to per-period hashes (an upgrade); retry");
    return 0;
}
