/*
 * The charter's publication ("we will publish the results each year"):
 * written by reporting for each completed period and served at
 * GET /v1/publication?organisation=ID[&period=P][&format=json|csv|html].
 *
 * WHY A WRITTEN PUBLICATION
 *
 * A policy's `reporting.publish` (monthly, quarterly, yearly) says how often
 * the organisation publishes its results. What a manager publishes for a
 * year must not move afterwards: a reply recorded in March to a December
 * case, or a policy edited in spring, must not rewrite last year's published
 * figures. So once a period has ended, and report.publish_delay_s more has
 * passed (so the replies and records of its last days are in), the period's
 * per-promise view is written once (HSETNX) as JSON and never changed; the
 * service checks on every refresh (report.snapshot_interval_s), so a service
 * started after a year's end writes that year at its first refresh. Every
 * completed period with figures gets one, oldest first, a few per refresh.
 *
 * GET /v1/publication answers the written publication when there is one
 * ("final": true, "published_at"); for a period not (yet) written, such as
 * the current year or a period of another length, it answers the same view
 * computed now ("final": false). With no period it answers the latest
 * period the organisation publishes (the last completed one, at the
 * policy's granularity; yearly when the policy sets none). charterctl report
 * reads this. A period is "2025" (year), "2026-Q1" (quarter) or "2026-11"
 * (month); the figures are those of the cases received in it, in the
 * organisation's time zone.
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/report_html.h"
#include "charter/report_json.h"
#include "charter/report_view.h"
#include "charter/timeutil.h"
#include "charter/tz.h"
#include "reporting.h"
#include "periods.h"
#include "store.h"

#define PUB_PER_ROUND 24 /* publications written per organisation per refresh, at most */

/* ---- periods ---- */

/* The granularity of a period text: YEARLY "2025", QUARTERLY "2026-Q1",
 * MONTHLY "2026-11"; CH_POLICY_PUBLISH_NONE when it is none of them. */
static ch_policy_publish
period_kind(const char *s)
{
    if (ch_report_period_shaped(s, CH_REPORT_YEAR))
        return CH_POLICY_PUBLISH_YEARLY;
    if (strlen(s) == 7 && s[4] == '-' && s[5] == 'Q' && s[6] >= '1' && s[6] <= '4') {
        char y[5];
        memcpy(y, s, 4);
        y[4] = '\0';
        return ch_report_period_shaped(y, CH_REPORT_YEAR) ? CH_POLICY_PUBLISH_QUARTERLY
                                                          : CH_POLICY_PUBLISH_NONE;
    }
    if (ch_report_period_shaped(s, CH_REPORT_MONTH) && atoi(s + 5) >= 1 && atoi(s + 5) <= 12)
        return CH_POLICY_PUBLISH_MONTHLY;
    return CH_POLICY_PUBLISH_NONE;
}

/* A month "2026-11" as the period of granularity g that holds it. */
static void
period_of_month(const char *month, ch_policy_publish g, char *buf, size_t bufsz)
{
    if (g == CH_POLICY_PUBLISH_YEARLY)
        snprintf(buf, bufsz, "%.4s", month);
    else if (g == CH_POLICY_PUBLISH_QUARTERLY)
        snprintf(buf, bufsz, "%.4s-Q%u", month, ((unsigned)atoi(month + 5) + 2u) / 3u % 10u);
    else
        snprintf(buf, bufsz, "%.7s", month);
}

/* The period before the one that holds the local day of `ms`. */
static void
previous_period(const ch_org_clocks *oc, int64_t ms, ch_policy_publish g, char *buf, size_t bufsz)
{
    int y, m, d;
    ch_civil_from_day(ch_tz_local_day(oc->tz, ms), &y, &m, &d);
    if (g == CH_POLICY_PUBLISH_MONTHLY) {
        if (--m == 0) {
            m = 12;
            y--;
        }
        snprintf(buf, bufsz, "%04u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u);
    } else if (g == CH_POLICY_PUBLISH_QUARTERLY) {
        int q = (m - 1) / 3; /* the previous quarter, 0 meaning the last of last year */
        if (q == 0) {
            q = 4;
            y--;
        }
        snprintf(buf, bufsz, "%04u-Q%u", (unsigned)y % 10000u, (unsigned)q % 10u);
    } else {
        snprintf(buf, bufsz, "%04u", (unsigned)(y - 1) % 10000u);
    }
}

/* The filter of a period: a year at year granularity, a month or a
 * quarter's months at month granularity. */
static void
period_filter(const char *period, ch_report_filter *f, char from[8], char to[8])
{
    memset(f, 0, sizeof(*f));
    ch_policy_publish g = period_kind(period);
    if (g == CH_POLICY_PUBLISH_YEARLY) {
        f->granularity = CH_REPORT_YEAR;
        snprintf(from, 8, "%.4s", period);
        snprintf(to, 8, "%.4s", period);
    } else if (g == CH_POLICY_PUBLISH_QUARTERLY) {
        unsigned q = (unsigned)(period[6] - '0') % 5u;
        f->granularity = CH_REPORT_MONTH;
        snprintf(from, 8, "%.4s-%02u", period, (3u * q - 2u) % 13u);
        snprintf(to, 8, "%.4s-%02u", period, 3u * q % 13u);
    } else {
        f->granularity = CH_REPORT_MONTH;
        snprintf(from, 8, "%.7s", period);
        snprintf(to, 8, "%.7s", period);
    }
    f->from = from;
    f->to = to;
}

/* The granularity an organisation publishes at: its policy's, yearly if none. */
static ch_policy_publish
publishes(const ch_org_clocks *oc)
{
    return oc->policy.publish == CH_POLICY_PUBLISH_NONE ? CH_POLICY_PUBLISH_YEARLY
                                                        : oc->policy.publish;
}

/* ---- the publication's JSON ---- */

/* The publication of `period` from the organisation's figures, as JSON
 * (NULL on ENOMEM). final: written for good (with published_at now). */
static json_t *
publication_json(const reporting *r, const ch_org_clocks *oc, const report_data *d,
                 const char *period, int64_t now_ms, int final)
{
    ch_report_filter f;
    char from[8], to[8];
    period_filter(period, &f, from, to);
    size_t lo, hi, unused;
    report_open_range(&d->open, from, &lo, &unused);
    report_open_range(&d->open, to, &unused, &hi);
    if (hi < lo)
        hi = lo;
    ch_report_view v;
    if (ch_report_view_build(&oc->policy, &d->figures, &f, NULL, 0, d->open.members + lo, hi - lo,
                             (double)r->cfg->target_pct, &v) != 0)
        return NULL;
    ch_report_delivery_sum(&d->counts, from, to, &v.delivery);
    json_t *promises = json_array();
    for (size_t k = 0; promises && k < v.nrows; k++)
        json_array_append_new(promises, ch_report_promise_to_json(&v.rows[k]));
    char at[CH_TIME_BUFSZ];
    ch_time_format_utc(now_ms, at, sizeof(at));
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:b,s:b,s:s,s:{s:I,s:I},s:o,s:o}", "organisation", oc->policy.id,
                  "name", oc->policy.name, "period", period, "policy", 1, "final", final,
                  final ? "published_at" : "generated_at", at, "figures", "received",
                  (json_int_t)v.received, "open_overdue", (json_int_t)v.overdue_now, "promises",
                  promises, "measures", ch_report_measures_to_json(&v));
    ch_report_view_free(&v);
    return o;
}

/* Loads the figures publications of the periods[0..n) are made of (a
 * year's year, a quarter's or a month's months): report_store_load's
 * contract. */
static int
pub_load(reporting *r, const char *org, const char (*periods)[16], size_t n, report_loaded_fn done,
         void *opaque)
{
    char(*load)[CH_REPORT_KEY_PERIOD_MAX] = malloc((n ? 3 * n : 1) * sizeof(*load));
    if (!load)
        return CH_ENOMEM;
    size_t nload = 0;
    for (size_t i = 0; i < n; i++) {
        ch_report_filter f;
        char from[8], to[8];
        period_filter(periods[i], &f, from, to);
        int k = report_periods_between(f.granularity, from, to, load + nload, 3);
        if (k > 0)
            nload += (size_t)k;
    }
    int rc = report_store_load(r->store, org, REPORT_LOAD_COUNTS,
                               (const char(*)[CH_REPORT_KEY_PERIOD_MAX])load, nload,
                               ch_time_now_ms(), done, opaque);
    free(load);
    return rc;
}

/* 1 when the figures hold a counter of one of the period's months (or its
 * year). */
static int
has_figures(const report_data *d, const char *period)
{
    ch_report_filter f;
    char from[8], to[8], months[3][CH_REPORT_KEY_PERIOD_MAX];
    period_filter(period, &f, from, to);
    int k = report_periods_between(f.granularity, from, to, months, 3);
    for (int i = 0; i < k; i++)
        if (ch_report_table_period(&d->figures, months[i]).n)
            return 1;
    return 0;
}

/* ---- GET /v1/publication ---- */

typedef struct {
    reporting *r;
    struct evhttp_request *req;
    char org[REPORT_ORG_MAX];
    char period[16];
    char format[8];
} pub_req;

/* Answers text (a publication's JSON) in the format asked for. */
static void
pub_answer(pub_req *q, const char *text)
{
    if (strcmp(q->format, "json") == 0) {
        ch_http_reply_json(q->req, 200, text);
        return;
    }
    json_error_t je;
    json_t *root = json_loads(text, 0, &je);
    ch_report_view v;
    char err[160];
    if (!root || ch_report_view_from_json(root, q->period, &v, err, sizeof(err)) != 0) {
        json_decref(root);
        ch_http_reply_error(q->req, 500, "internal", "a stored publication cannot be read");
        return;
    }
    json_decref(root);
    char *out = strcmp(q->format, "csv") == 0 ? ch_report_csv_publication(&v)
                                              : ch_report_html_publication(&v, q->period);
    ch_report_view_free(&v);
    if (!out) {
        ch_http_reply_error(q->req, 500, "internal", "out of memory");
        return;
    }
    if (strcmp(q->format, "html") == 0) {
        ch_http_reply_html(q->req, 200, out);
    } else {
        struct evbuffer *b = evbuffer_new();
        if (b && evbuffer_add(b, out, strlen(out)) == 0) {
            struct evkeyvalq *h = evhttp_request_get_output_headers(q->req);
            evhttp_add_header(h, "Content-Type", "text/csv; charset=utf-8");
            evhttp_send_reply(q->req, 200, "OK", b);
        } else {
            ch_http_reply_error(q->req, 500, "internal", "out of memory");
        }
        if (b)
            evbuffer_free(b);
    }
    free(out);
}

static void
pub_live(void *opaque, int rc, report_data *d)
{
    pub_req *q = opaque;
    const ch_org_clocks *oc = rc == 0 ? ch_org_set_find(ch_runtime_orgs(q->r->rt), q->org) : NULL;
    json_t *o = oc ? publication_json(q->r, oc, d, q->period, ch_time_now_ms(), 0) : NULL;
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    if (rc == CH_EAGAIN)
        ch_http_reply_unavailable(q->req, REPORT_RETRY_AFTER_S, "Redis is not answering; retry");
    else if (rc == 0 && !oc)
        ch_http_reply_error_field(q->req, 404, "not_found", "organisation",
                                  "no policy for this organisation");
    else if (!text)
        ch_http_reply_error(q->req, 500, "internal", "out of memory");
    else
        pub_answer(q, text);
    free(text);
    free(q);
}

static void
pub_stored(void *opaque, int rc, const char *text, size_t len)
{
    pub_req *q = opaque;
    (void)len;
    if (rc == 0 && text) {
        pub_answer(q, text);
        free(q);
        return;
    }
    if (rc == 0)
        rc = pub_load(q->r, q->org, &q->period, 1, pub_live, q);
    if (rc != 0) {
        ch_http_reply_unavailable(q->req, REPORT_RETRY_AFTER_S, "Redis is not answering; retry");
        free(q);
    }
}

void
report_get_publication(void *svc, struct evhttp_request *req, const char *rest)
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
    const char *period = evhttp_find_header(&params, "period");
    const char *format = evhttp_find_header(&params, "format");
    const ch_org_clocks *oc =
        org && strlen(org) < REPORT_ORG_MAX ? ch_org_set_find(ch_runtime_orgs(r->rt), org) : NULL;
    pub_req *q = NULL;
    if (!org || !org[0])
        ch_http_reply_error_field(
            req, 400, "missing_parameter", "organisation",
            "query parameter 'organisation' is required (an organisation id)");
    else if (!oc)
        ch_http_reply_error_field(req, 404, "not_found", "organisation",
                                  "no policy for this organisation (report.policy_dir)");
    else if (period && period_kind(period) == CH_POLICY_PUBLISH_NONE)
        ch_http_reply_error_field(req, 400, "invalid_parameter", "period",
                                  "period is a year (2025), a quarter (2026-Q1) or a month "
                                  "(2026-11)");
    else if (format && strcmp(format, "json") != 0 && strcmp(format, "csv") != 0 &&
             strcmp(format, "html") != 0)
        ch_http_reply_error_field(req, 400, "invalid_parameter", "format",
                                  "format is one of json, csv, html");
    else if (!(q = calloc(1, sizeof(*q))))
        ch_http_reply_error(req, 500, "internal", "out of memory");
    if (!q) {
        evhttp_clear_headers(&params);
        return;
    }
    q->r = r;
    q->req = req;
    snprintf(q->org, sizeof(q->org), "%s", org);
    snprintf(q->format, sizeof(q->format), "%s", format ? format : "json");
    if (period)
        snprintf(q->period, sizeof(q->period), "%s", period);
    else
        previous_period(oc, ch_time_now_ms() - r->cfg->publish_delay_s * 1000, publishes(oc),
                        q->period, sizeof(q->period));
    evhttp_clear_headers(&params);
    if (report_store_pub_get(r->store, q->org, q->period, pub_stored, q) != 0) {
        ch_http_reply_unavailable(req, REPORT_RETRY_AFTER_S, "Redis is not connected; retry");
        free(q);
    }
}

/* ---- writing the completed periods ---- */

struct report_pub_round {
    reporting *r;
    char (*orgs)[REPORT_ORG_MAX];
    size_t n, next;
    int64_t now_ms;
    char (*stored)[16]; /* the current organisation's written periods */
    size_t nstored;
    char due[PUB_PER_ROUND][16]; /* its completed periods not yet written */
    size_t ndue;
    size_t pending; /* writes not yet answered */
};

static void pub_round_next(report_pub_round *pr);

static void
pub_round_written(void *opaque, int rc, const char *why)
{
    report_pub_round *pr = opaque;
    (void)why;
    if (rc == 0)
        ch_metric_add(pr->r->m_publications, 1);
    if (--pr->pending == 0)
        pub_round_next(pr);
}

static int
stored(const report_pub_round *pr, const char *period)
{
    for (size_t i = 0; i < pr->nstored; i++)
        if (strcmp(pr->stored[i], period) == 0)
            return 1;
    return 0;
}

static void
pub_round_loaded(void *opaque, int rc, report_data *d)
{
    report_pub_round *pr = opaque;
    const ch_org_clocks *oc =
        rc == 0 ? ch_org_set_find(ch_runtime_orgs(pr->r->rt), pr->orgs[pr->next - 1]) : NULL;
    if (!oc) {
        pub_round_next(pr);
        return;
    }
    pr->pending = 1; /* held until every write is sent */
    for (size_t i = 0; i < pr->ndue; i++) {
        if (!has_figures(d, pr->due[i]))
            continue;
        json_t *o = publication_json(pr->r, oc, d, pr->due[i], pr->now_ms, 1);
        char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(o);
        if (text && report_store_pub_put(pr->r->store, oc->policy.id, pr->due[i], text,
                                         pub_round_written, pr) == 0)
            pr->pending++;
        free(text);
    }
    pub_round_written(pr, CH_EEXIST, NULL);
}

/* The organisation's periods with figures (months, or years when it
 * publishes yearly): the completed ones not yet written are due, oldest
 * first, and their figures are loaded. */
static void
pub_round_indexed(void *opaque, int rc, const char **names, size_t n)
{
    report_pub_round *pr = opaque;
    const ch_org_clocks *oc =
        rc == 0 ? ch_org_set_find(ch_runtime_orgs(pr->r->rt), pr->orgs[pr->next - 1]) : NULL;
    if (!oc) {
        pub_round_next(pr);
        return;
    }
    ch_policy_publish g = oc->policy.publish;
    char last[16];
    previous_period(oc, pr->now_ms - pr->r->cfg->publish_delay_s * 1000, g, last, sizeof(last));
    pr->ndue = 0;
    for (size_t i = 0; i < n && pr->ndue < PUB_PER_ROUND; i++) {
        char period[16];
        if (g == CH_POLICY_PUBLISH_YEARLY)
            snprintf(period, sizeof(period), "%.4s", names[i]);
        else
            period_of_month(names[i], g, period, sizeof(period));
        if (strcmp(period, last) > 0 || stored(pr, period) ||
            (pr->ndue && strcmp(pr->due[pr->ndue - 1], period) == 0))
            continue;
        snprintf(pr->due[pr->ndue++], sizeof(pr->due[0]), "%s", period);
    }
    if (!pr->ndue || pub_load(pr->r, oc->policy.id, (const char(*)[16])pr->due, pr->ndue,
                              pub_round_loaded, pr) != 0)
        pub_round_next(pr);
}

static void
pub_round_periods(void *opaque, int rc, const char **names, size_t n)
{
    report_pub_round *pr = opaque;
    free(pr->stored);
    pr->stored = rc == 0 && n ? malloc(n * sizeof(*pr->stored)) : NULL;
    pr->nstored = 0;
    for (size_t i = 0; pr->stored && i < n; i++)
        snprintf(pr->stored[pr->nstored++], sizeof(pr->stored[0]), "%s", names[i]);
    if (rc == 0 && (!n || pr->stored))
        report_pubfile_sync(pr->r, pr->orgs[pr->next - 1], (const char(*)[16])pr->stored,
                            pr->nstored);
    const ch_org_clocks *oc =
        rc == 0 ? ch_org_set_find(ch_runtime_orgs(pr->r->rt), pr->orgs[pr->next - 1]) : NULL;
    if (!oc || (n && !pr->stored) ||
        report_store_periods(pr->r->store, pr->orgs[pr->next - 1],
                             oc->policy.publish == CH_POLICY_PUBLISH_YEARLY ? CH_REPORT_YEAR
                                                                            : CH_REPORT_MONTH,
                             NULL, NULL, pub_round_indexed, pr) != 0)
        pub_round_next(pr);
}

static void
pub_round_next(report_pub_round *pr)
{
    while (pr->next < pr->n && !ch_runtime_stopping(pr->r->rt)) {
        const char *org = pr->orgs[pr->next++];
        if (report_store_pub_periods(pr->r->store, org, pub_round_periods, pr) == 0)
            return;
    }
    pr->r->pub_round = NULL;
    free(pr->stored);
    free(pr->orgs);
    free(pr);
}

void
report_publish_tick(reporting *r, int64_t now_ms)
{
    if (r->pub_round || !ch_redis_ready(r->rt))
        return;
    const ch_org_set *orgs = ch_runtime_orgs(r->rt);
    report_pub_round *pr = calloc(1, sizeof(*pr));
    if (pr)
        pr->orgs = malloc((orgs->n ? orgs->n : 1) * sizeof(*pr->orgs));
    if (!pr || !pr->orgs) {
        free(pr);
        return;
    }
    pr->r = r;
    pr->now_ms = now_ms;
    for (size_t i = 0; i < orgs->n; i++)
        if (orgs->orgs[i]->policy.publish != CH_POLICY_PUBLISH_NONE)
            snprintf(pr->orgs[pr->n++], sizeof(pr->orgs[0]), "%s", orgs->orgs[i]->policy.id);
    r->pub_round = pr;
    pub_round_next(pr);
}

void
report_publish_fini(reporting *r)
{
    report_pub_round *pr = r->pub_round;
    if (pr) {
        free(pr->stored);
        free(pr->orgs);
        free(pr);
        r->pub_round = NULL;
    }
}
