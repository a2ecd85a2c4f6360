/*
 * GET /: the HTML dashboard, one section per organisation with a policy, by
 * name, each showing a month (the query's, or the organisation's current
 * one in its own time zone) and a trend of the twelve months up to it.
 *
 * The organisations are loaded one after the other (store.h: the twelve
 * months shown, and no other period), each into its per-promise view
 * (report_view.h); the page is rendered once all are in (report_html.h). An
 * organisation a reload removed meanwhile is left out.
 */
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/report_html.h"
#include "charter/timeutil.h"
#include "charter/tz.h"
#include "reporting.h"
#include "store.h"

#define REPORT_TREND_MONTHS 12

typedef struct {
    reporting *r;
    struct evhttp_request *req;
    char month[8];   /* "2026-11", or empty: each organisation's current month */
    char (*ids)[64]; /* the organisations, by name; looked up again as each is read */
    size_t nids, next;
    ch_report_view *views;
    size_t nviews;
    int64_t now_ms;
} dash_req;

static void
dash_free(dash_req *q)
{
    for (size_t i = 0; i < q->nviews; i++)
        ch_report_view_free(&q->views[i]);
    free(q->views);
    free(q->ids);
    free(q);
}

static void dash_next(dash_req *q);

/* The month the organisation's section shows (the query's, or its current
 * one), and the trend's months ending with it: 0, or CH_EINVAL. */
static int
dash_months(const dash_req *q, const ch_org_clocks *oc, char month[CH_REPORT_PERIOD_MAX],
            char (*trend)[CH_REPORT_PERIOD_MAX])
{
    if (q->month[0])
        snprintf(month, CH_REPORT_PERIOD_MAX, "%s", q->month);
    else
        ch_report_period(ch_tz_local_day(oc ? oc->tz : NULL, q->now_ms), CH_REPORT_MONTH, month,
                         CH_REPORT_PERIOD_MAX);
    return ch_report_periods_ending(month, CH_REPORT_MONTH, REPORT_TREND_MONTHS, trend);
}

/* The organisation's view of its month, with the trend up to it. */
static int
dash_view(dash_req *q, const ch_org_clocks *oc, const report_data *d, ch_report_view *out)
{
    char month[CH_REPORT_PERIOD_MAX];
    char trend[REPORT_TREND_MONTHS][CH_REPORT_PERIOD_MAX];
    ch_report_filter f = {CH_REPORT_MONTH, month, month, NULL, NULL};
    int rc = dash_months(q, oc, month, trend);
    if (rc == 0)
        rc = ch_report_view_build(&oc->policy, &d->figures, &f, trend, REPORT_TREND_MONTHS,
                                  d->open.members, d->open.n, (double)q->r->cfg->target_pct, out);
    if (rc == 0)
        ch_report_delivery_sum(&d->counts, month, month, &out->delivery);
    return rc;
}

static void
dash_loaded(void *opaque, int rc, report_data *d)
{
    dash_req *q = opaque;
    if (rc == CH_EAGAIN) {
        ch_http_reply_unavailable(q->req, REPORT_RETRY_AFTER_S, "Redis is not answering; retry");
        dash_free(q);
        return;
    }
    /* a reload may have removed it meanwhile */
    const ch_org_clocks *oc =
        rc == 0 ? ch_org_set_find(ch_runtime_orgs(q->r->rt), q->ids[q->next]) : NULL;
    if (rc != 0 || (oc && dash_view(q, oc, d, &q->views[q->nviews]) != 0)) {
        ch_http_reply_error(q->req, 500, "internal", "out of memory");
        dash_free(q);
        return;
    }
    if (oc)
        q->nviews++;
    q->next++;
    dash_next(q);
}

static void
dash_next(dash_req *q)
{
    if (q->next < q->nids) {
        char month[CH_REPORT_PERIOD_MAX], trend[REPORT_TREND_MONTHS][CH_REPORT_PERIOD_MAX];
        const ch_org_clocks *oc = ch_org_set_find(ch_runtime_orgs(q->r->rt), q->ids[q->next]);
        int rc = dash_months(q, oc, month, trend);
        if (rc == 0) {
            char periods[REPORT_TREND_MONTHS][CH_REPORT_KEY_PERIOD_MAX];
            for (size_t i = 0; i < REPORT_TREND_MONTHS; i++)
                memcpy(periods[i], trend[i], sizeof(trend[i]));
            rc = report_store_load(q->r->store, q->ids[q->next], REPORT_LOAD_COUNTS,
                                   (const char(*)[CH_REPORT_KEY_PERIOD_MAX])periods,
                                   REPORT_TREND_MONTHS, q->now_ms, dash_loaded, q);
        }
        if (rc != 0)
            dash_loaded(q, rc == CH_EINVAL ? CH_ENOMEM : rc, NULL);
        return;
    }
    char generated[40];
    ch_time_format_utc(q->now_ms, generated, sizeof(generated));
    char *html = ch_report_html_dashboard(q->views, q->nviews, generated);
    if (html)
        ch_http_reply_html(q->req, 200, html);
    else
        ch_http_reply_error(q->req, 500, "internal", "out of memory");
    free(html);
    dash_free(q);
}

/* The month asked for into q->month: 0, or -1 when it is not a month. */
static int
read_month(dash_req *q, struct evhttp_request *req)
{
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    struct evkeyvalq params;
    if (!query || evhttp_parse_query_str(query, &params) != 0)
        return 0;
    const char *m = evhttp_find_header(&params, "month");
    int ok = !m ||
             (ch_report_period_shaped(m, CH_REPORT_MONTH) && atoi(m + 5) >= 1 && atoi(m + 5) <= 12);
    if (ok && m)
        snprintf(q->month, sizeof(q->month), "%s", m);
    evhttp_clear_headers(&params);
    return ok ? 0 : -1;
}

void
report_get_dashboard(void *svc, struct evhttp_request *req, const char *rest)
{
    (void)rest;
    reporting *r = svc;
    if (!report_readable(r, req))
        return;
    const ch_org_set *orgs = ch_runtime_orgs(r->rt);
    dash_req *q = calloc(1, sizeof(*q));
    if (q) {
        q->ids = malloc((orgs->n ? orgs->n : 1) * sizeof(*q->ids));
        q->views = calloc(orgs->n ? orgs->n : 1, sizeof(*q->views));
    }
    if (!q || !q->ids || !q->views) {
        if (q)
            dash_free(q);
        ch_http_reply_error(req, 500, "internal", "out of memory");
        return;
    }
    q->r = r;
    q->req = req;
    q->now_ms = ch_time_now_ms();
    if (read_month(q, req) != 0) {
        dash_free(q);
        ch_http_reply_error_field(req, 400, "invalid_parameter", "month",
                                  "month is a month such as 2026-11");
        return;
    }
    /* by name, as a reader looks for them */
    for (size_t i = 0; i < orgs->n; i++) {
        const ch_policy *p = &orgs->orgs[i]->policy;
        size_t k = q->nids++;
        for (; k > 0; k--) {
            const ch_org_clocks *prev = ch_org_set_find(orgs, q->ids[k - 1]);
            if (strcmp(prev->policy.name, p->name) <= 0)
                break;
            memcpy(q->ids[k], q->ids[k - 1], sizeof(q->ids[k]));
        }
        snprintf(q->ids[k], sizeof(q->ids[k]), "%s", p->id);
    }
    dash_next(q);
}
