/*
 * GET /: the HTML dashboard, one section per organisation with a policy, by
 * name, each showing a month (?month=YYYY-MM, or the organisation's current
 * one in its own time zone) and a trend of the twelve months up to it;
 * ?organisation=ID shows that organisation alone. Links to the previous
 * and next month and to each organisation keep the other choice.
 *
 * The organisations are loaded one after the other (store.h: the twelve
 * months shown, and no other period), each into its per-promise view
 * (report_view.h); the page is rendered once all are in (report_html.h). An
 * organisation a reload removed meanwhile is left out.
 *
 * This is a page people read: every answer is HTML, errors included (a bad
 * month 400, an unknown organisation 404, Redis down 503), each with a way
 * back; the JSON is GET /v1/report's.
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
    char org[64];    /* ?organisation=, or empty: all */
    char (*all)[64]; /* every organisation, by name, for the filter's links */
    size_t nall;
    char (*ids)[64]; /* the sections' organisations; looked up again as each is read */
    size_t nids, next;
    ch_report_view *views;
    char (*generated)[80]; /* per view: when, in its local time */
    size_t nviews;
    int64_t now_ms;
} dash_req;

/*
 * SLOT for the work queue (issue 18, branch wt-queue fills it in): the one
 * line at the top of the dashboard, e.g. "3 overdue now, 7 due today" with
 * links to the queue, for `organisation` ("" for all). Trusted HTML: escape
 * what goes in. Empty for now: the page shows no summary line.
 */
const char *
dashboard_summary(reporting *r, const char *organisation)
{
    (void)r;
    (void)organisation;
    return "";
}

void
report_reply_html_error(struct evhttp_request *req, int status, const char *title,
                        const char *message)
{
    char *html = ch_report_html_error(status, title, message, "/", "Back to the dashboard");
    if (html)
        ch_http_reply_html(req, status, html);
    else
        ch_http_reply_error(req, 500, "internal", "out of memory");
    free(html);
}

static void
dash_free(dash_req *q)
{
    for (size_t i = 0; i < q->nviews; i++)
        ch_report_view_free(&q->views[i]);
    free(q->views);
    free(q->generated);
    free(q->ids);
    free(q->all);
    free(q);
}

static void dash_next(dash_req *q);

/* The organisation's current month in its own time zone. */
static void
current_month(const dash_req *q, const ch_org_clocks *oc, char month[CH_REPORT_PERIOD_MAX])
{
    ch_report_period(ch_tz_local_day(oc ? oc->tz : NULL, q->now_ms), CH_REPORT_MONTH, month,
                     CH_REPORT_PERIOD_MAX);
}

/* The month the organisation's section shows (the query's, or its current
 * one), and the trend's months ending with it: 0, or CH_EINVAL. */
static int
dash_months(const dash_req *q, const ch_org_clocks *oc, char month[CH_REPORT_PERIOD_MAX],
            char (*trend)[CH_REPORT_PERIOD_MAX])
{
    if (q->month[0])
        snprintf(month, CH_REPORT_PERIOD_MAX, "%s", q->month);
    else
        current_month(q, oc, month);
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
        ch_http_retry_after(q->req, REPORT_RETRY_AFTER_S);
        report_reply_html_error(q->req, 503, "The figures cannot be read just now",
                                "Redis is not answering. Try again in a few seconds.");
        dash_free(q);
        return;
    }
    /* a reload may have removed it meanwhile */
    const ch_org_clocks *oc =
        rc == 0 ? ch_org_set_find(ch_runtime_orgs(q->r->rt), q->ids[q->next]) : NULL;
    if (rc != 0 || (oc && dash_view(q, oc, d, &q->views[q->nviews]) != 0)) {
        report_reply_html_error(q->req, 500, "Something went wrong",
                                "The dashboard could not be built (out of memory).");
        dash_free(q);
        return;
    }
    if (oc) {
        ch_report_local_time(oc->tz, q->now_ms, q->generated[q->nviews],
                             sizeof(q->generated[q->nviews]));
        q->nviews++;
    }
    q->next++;
    dash_next(q);
}

/* The page around the views: navigation from the month shown. */
static void
dash_render(dash_req *q)
{
    const ch_org_set *orgs = ch_runtime_orgs(q->r->rt);
    char shown[CH_REPORT_PERIOD_MAX] = "", now_month[CH_REPORT_PERIOD_MAX] = "";
    char prev[CH_REPORT_PERIOD_MAX] = "", next[CH_REPORT_PERIOD_MAX] = "";
    /* the first organisation's clock says what "now" is for the links */
    const ch_org_clocks *first = q->nids ? ch_org_set_find(orgs, q->ids[0]) : NULL;
    current_month(q, first, now_month);
    snprintf(shown, sizeof(shown), "%s", q->month[0] ? q->month : now_month);
    if (ch_report_month_step(shown, -1, prev, sizeof(prev)) != 0)
        prev[0] = '\0';
    if (strcmp(shown, now_month) >= 0 || ch_report_month_step(shown, 1, next, sizeof(next)) != 0)
        next[0] = '\0';

    ch_report_org_link *links = calloc(orgs->n ? orgs->n : 1, sizeof(*links));
    const char **generated = calloc(q->nviews ? q->nviews : 1, sizeof(*generated));
    char *html = NULL;
    if (links && generated) {
        size_t nl = 0;
        /* every organisation, by name, as the sections are */
        for (size_t i = 0; i < q->nall; i++) {
            const ch_org_clocks *oc = ch_org_set_find(orgs, q->all[i]);
            if (oc)
                links[nl++] = (ch_report_org_link){oc->policy.id, oc->policy.name};
        }
        for (size_t i = 0; i < q->nviews; i++)
            generated[i] = q->generated[i];
        ch_report_dash_page pg = {
            .generated = generated,
            .month = q->month,
            .shown_month = shown,
            .prev_month = prev,
            .next_month = next,
            .organisation = q->org,
            .orgs = links,
            .norgs = nl,
            .summary_html = dashboard_summary(q->r, q->org),
        };
        html = ch_report_html_dashboard(q->views, q->nviews, &pg);
    }
    if (html)
        ch_http_reply_html(q->req, 200, html);
    else
        report_reply_html_error(q->req, 500, "Something went wrong",
                                "The dashboard could not be built (out of memory).");
    free(html);
    free(links);
    free(generated);
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
    dash_render(q);
    dash_free(q);
}

/* ?month= and ?organisation= into q: 0, else 400 or 404 with *why set. */
static int
read_query(dash_req *q, struct evhttp_request *req, const ch_org_set *orgs, const char **title,
           char *why, size_t whysz)
{
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    struct evkeyvalq params;
    if (!query || evhttp_parse_query_str(query, &params) != 0)
        return 0;
    int status = 0;
    const char *m = evhttp_find_header(&params, "month");
    const char *o = evhttp_find_header(&params, "organisation");
    char tmp[CH_REPORT_PERIOD_MAX];
    if (m &&
        !(ch_report_period_shaped(m, CH_REPORT_MONTH) && atoi(m + 5) >= 1 && atoi(m + 5) <= 12 &&
          ch_report_month_step(m, -(REPORT_TREND_MONTHS - 1), tmp, sizeof(tmp)) == 0)) {
        status = 400;
        *title = "That is not a month";
        snprintf(why, whysz, "'%.40s' is not a month: give one as YYYY-MM, such as 2026-11.", m);
    } else if (o && o[0] && !ch_org_set_find(orgs, o)) {
        status = 404;
        *title = "No such organisation";
        snprintf(why, whysz,
                 "There is no organisation '%.60s' here: pick one from the dashboard's list.", o);
    } else {
        if (m)
            snprintf(q->month, sizeof(q->month), "%s", m);
        if (o)
            snprintf(q->org, sizeof(q->org), "%s", o);
    }
    evhttp_clear_headers(&params);
    return status;
}

void
report_get_dashboard(void *svc, struct evhttp_request *req, const char *rest)
{
    (void)rest;
    reporting *r = svc;
    if (!r->migrated) {
        ch_http_retry_after(req, REPORT_RETRY_AFTER_S);
        report_reply_html_error(req, 503, "The figures are being upgraded",
                                "The figures are being moved to a new layout. Try again in a few "
                                "seconds.");
        return;
    }
    const ch_org_set *orgs = ch_runtime_orgs(r->rt);
    dash_req *q = calloc(1, sizeof(*q));
    size_t cap = orgs->n ? orgs->n : 1;
    if (q) {
        q->ids = malloc(cap * sizeof(*q->ids));
        q->all = malloc(cap * sizeof(*q->all));
        q->views = calloc(cap, sizeof(*q->views));
        q->generated = calloc(cap, sizeof(*q->generated));
    }
    if (!q || !q->ids || !q->all || !q->views || !q->generated) {
        if (q)
            dash_free(q);
        report_reply_html_error(req, 500, "Something went wrong",
                                "The dashboard could not be built (out of memory).");
        return;
    }
    q->r = r;
    q->req = req;
    q->now_ms = ch_time_now_ms();
    const char *title = NULL;
    char why[200];
    int status = read_query(q, req, orgs, &title, why, sizeof(why));
    if (status) {
        dash_free(q);
        report_reply_html_error(req, status, title, why);
        return;
    }
    /* by name, as a reader looks for them */
    for (size_t i = 0; i < orgs->n; i++) {
        const ch_policy *p = &orgs->orgs[i]->policy;
        size_t k = q->nall++;
        for (; k > 0; k--) {
            const ch_org_clocks *prev = ch_org_set_find(orgs, q->all[k - 1]);
            if (strcmp(prev->policy.name, p->name) <= 0)
                break;
            memcpy(q->all[k], q->all[k - 1], sizeof(q->all[k]));
        }
        snprintf(q->all[k], sizeof(q->all[k]), "%s", p->id);
    }
    /* the sections: all, or the one asked for */
    for (size_t i = 0; i < q->nall; i++)
        if (!q->org[0] || strcmp(q->org, q->all[i]) == 0)
            memcpy(q->ids[q->nids++], q->all[i], sizeof(q->ids[0]));
    dash_next(q);
}
