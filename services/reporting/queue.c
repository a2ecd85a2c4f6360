/*
 * The manager's work queue and the case pages, HTML (no script) and JSON:
 *
 *   GET /queue[?organisation=ORG]            the queue (no organisation: the list)
 *   GET /v1/cases?organisation=ORG[&status=overdue|due_today|due_this_week|open]
 *   GET /cases/<reference>                   a case page
 *   GET /v1/cases/<reference>
 *
 * The queue is one range of the organisation's open set (store.h: scored by
 * the instant each case falls due) up to the end of the window asked for,
 * with each row's page record (casepage.h) for its reference and owner; a
 * case page is the reference index, the page record and the case's state.
 * Every clock on a case page comes from the deadline engine itself
 * (ch_case_timers on the case's state under the organisation's policy, as
 * sla-timer computes them), each beside the policy line that set it, as
 * `charterctl deadline` shows them. Times are shown in the organisation's
 * time zone, to the second.
 */
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casepage.h"
#include "charter/errors.h"
#include "charter/names.h"
#include "charter/report_html.h"
#include "charter/strbuf.h"
#include "charter/timeutil.h"
#include "charter/tz.h"
#include "reporting.h"
#include "store.h"

#define QUEUE_LIMIT 500
#define QUEUE_NEVER_MS 4102444800000LL /* 2100-01-01: every open case */

typedef enum { Q_OVERDUE = 0, Q_TODAY, Q_WEEK, Q_LATER, Q_NSTATUS } q_status;
static const char *const status_names[] = {"overdue", "due_today", "due_this_week", "open"};
static const char *const status_titles[] = {"Overdue now", "Due today", "Due in the next 7 days",
                                            "Due later"};

/* ---- shared pieces ---- */

static const char page_style[] =
    "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1d1d1b;background:#fff;"
    "max-width:70rem}"
    "table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}"
    "th,td{border-bottom:1px solid #b1b4b6;padding:.4rem .6rem;text-align:left;"
    "vertical-align:top}"
    "thead th{background:#f3f2f1}a{color:#1d70b8}a:focus{outline:3px solid #fd0;color:#0b0c0c}"
    ".overdue{color:#b10e1e;font-weight:bold}.muted{color:#505a5f}"
    "nav a{margin-right:1rem}li{margin:.5rem 0}li a,nav a{display:inline-block;min-height:24px;"
    "padding:.2rem 0}caption{text-align:left;font-weight:bold;padding:.3rem 0}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1.5rem}dd{margin:0}";

void
report_page_head(ch_strbuf *b, const char *title_esc)
{
    ch_strbuf_printf(b,
                     "<!doctype html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
                     "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                     "<title>%s</title><style>%s</style></head><body>\n"
                     "<nav aria-label=\"Charter\"><a href=\"/\">Dashboard</a>"
                     "<a href=\"/queue\">Work queues</a></nav>\n<main>\n",
                     title_esc, page_style);
}

void
report_put_esc(ch_strbuf *b, const char *s)
{
    char *e = ch_report_html_escape(s ? s : "");
    if (e)
        ch_strbuf_puts(b, e);
    else
        b->failed = 1;
    free(e);
}

/* An HTML error page, or the JSON error, for status. */
void
report_reply_error(struct evhttp_request *req, int html, int status, const char *code,
                   const char *msg)
{
    if (!html) {
        ch_http_reply_error(req, status, code, msg);
        return;
    }
    ch_strbuf b = CH_STRBUF_INIT;
    report_page_head(&b, status == 404 ? "Not found" : "Error");
    ch_strbuf_puts(&b, "<h1>");
    ch_strbuf_puts(&b, status == 404 ? "Not found" : "Something went wrong");
    ch_strbuf_puts(&b, "</h1>\n<p>");
    report_put_esc(&b, msg);
    ch_strbuf_puts(&b, "</p>\n</main></body></html>\n");
    char *text = ch_strbuf_take(&b, NULL);
    if (text)
        ch_http_reply_html(req, status, text);
    else
        ch_http_reply_error(req, 500, "internal", "out of memory");
    free(text);
}

/* Local time with its offset, to the second: "2026-12-07T17:00:00+00:00". */
void
report_local_iso(const ch_tz *tz, int64_t ms, char *buf, size_t bufsz)
{
    ch_deadline_format(tz, ms - ((ms % 1000) + 1000) % 1000, buf, bufsz);
}

void
report_local_when(const ch_tz *tz, int64_t ms, char *buf, size_t bufsz)
{
    report_local_words(ch_tz_local_seconds(tz, ms / 1000), buf, bufsz);
}

void
report_utc_iso(int64_t ms, char *buf, size_t bufsz)
{
    ch_time_format_utc(ms - ((ms % 1000) + 1000) % 1000, buf, bufsz);
    char *dot = strchr(buf, '.');
    if (dot)
        snprintf(dot, bufsz - (size_t)(dot - buf), "Z");
}

/* The instant local day `day` + days starts. */
static int64_t
local_day_start(const ch_tz *tz, int32_t day)
{
    return ch_tz_local_to_utc(tz, (int64_t)day * 86400, 0) * 1000;
}

/* params parsed from the query (an empty list when there is none). */
static const char *
query_param(struct evhttp_request *req, struct evkeyvalq *params, const char *name)
{
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    if (!query || evhttp_parse_query_str(query, params) != 0) {
        evhttp_parse_query_str("", params);
        return NULL;
    }
    return evhttp_find_header(params, name);
}

static const char *
json_str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* ---- the queue ---- */

typedef struct {
    reporting *r;
    struct evhttp_request *req;
    int html;
    char org[REPORT_ORG_MAX];
    q_status want; /* JSON: the status asked for (Q_LATER: every open case) */
    int64_t now_ms, ends[Q_NSTATUS];
} queue_req;

typedef struct {
    const char *case_id;
    int64_t due_ms;
    json_t *page; /* or NULL */
    q_status status;
} queue_row;

static q_status
status_of(const queue_req *q, int64_t due_ms)
{
    q_status s = Q_OVERDUE;
    while (s < Q_LATER && due_ms >= q->ends[s])
        s++;
    return s;
}

static json_t *
promise_json(const ch_policy_promise *pr)
{
    if (!pr)
        return json_null();
    json_t *o = json_pack("{s:s,s:s}", "id", pr->id, "says", pr->says ? pr->says : "");
    if (o && pr->line)
        json_object_set_new(o, "line", json_integer(pr->line));
    return o;
}

static json_t *
row_json(const queue_req *q, const ch_org_clocks *oc, const queue_row *w)
{
    char due_utc[40], due_local[40], words[64], left[64];
    report_utc_iso(w->due_ms, due_utc, sizeof(due_utc));
    report_local_iso(oc->tz, w->due_ms, due_local, sizeof(due_local));
    report_local_when(oc->tz, w->due_ms, words, sizeof(words));
    report_time_left(w->due_ms, q->now_ms, left, sizeof(left));
    const char *ref = json_str(w->page, "ref");
    const ch_policy_promise *pr = ch_policy_find_promise(&oc->policy, json_str(w->page, "channel"),
                                                         json_str(w->page, "type"));
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:s,s:I}", "reference", ref,
                          "case_id", w->case_id, "status", status_names[w->status], "owner",
                          json_str(w->page, "owner"), "team", json_str(w->page, "team"), "channel",
                          json_str(w->page, "channel"), "promise", promise_json(pr), "due_at",
                          due_utc, "due_local", due_local, "due_words", words, "time_left", left,
                          "seconds_left", (json_int_t)((w->due_ms - q->now_ms) / 1000));
    if (o) {
        json_object_set_new(o, "case_type", json_string(json_str(w->page, "type")));
        char url[128];
        snprintf(url, sizeof(url), "/cases/%s", ref);
        json_object_set_new(o, "url", ref[0] ? json_string(url) : json_null());
    }
    return o;
}

/* By team, then owner (the not assigned last), then due. */
static int
by_group(const void *a, const void *b)
{
    const queue_row *x = a, *y = b;
    if (x->status != y->status)
        return (int)x->status - (int)y->status;
    const char *tx = json_str(x->page, "team"), *ty = json_str(y->page, "team");
    if (!tx[0] != !ty[0])
        return tx[0] ? -1 : 1;
    int c = strcmp(tx, ty);
    if (c)
        return c;
    const char *ox = json_str(x->page, "owner"), *oy = json_str(y->page, "owner");
    if (!ox[0] != !oy[0])
        return ox[0] ? -1 : 1;
    if ((c = strcmp(ox, oy)))
        return c;
    return x->due_ms < y->due_ms ? -1 : x->due_ms > y->due_ms;
}

static void
queue_html_rows(ch_strbuf *b, const queue_req *q, const ch_org_clocks *oc, queue_row *rows,
                size_t n, size_t counts[Q_NSTATUS])
{
    qsort(rows, n, sizeof(*rows), by_group);
    for (q_status s = Q_OVERDUE; s < Q_LATER; s++) {
        ch_strbuf_printf(b, "<section aria-labelledby=\"h-%s\" data-status=\"%s\">\n",
                         status_names[s], status_names[s]);
        ch_strbuf_printf(b, "<h2 id=\"h-%s\">%s (%zu)</h2>\n", status_names[s], status_titles[s],
                         counts[s]);
        if (!counts[s])
            ch_strbuf_puts(b, "<p class=\"muted\">None.</p>\n");
        for (size_t i = 0; i < n;) {
            if (rows[i].status != s) {
                i++;
                continue;
            }
            const char *team = json_str(rows[i].page, "team"),
                       *owner = json_str(rows[i].page, "owner");
            size_t j = i;
            while (j < n && rows[j].status == s && !strcmp(json_str(rows[j].page, "team"), team) &&
                   !strcmp(json_str(rows[j].page, "owner"), owner))
                j++;
            ch_strbuf_puts(b, "<table data-team=\"");
            report_put_esc(b, team);
            ch_strbuf_puts(b, "\" data-owner=\"");
            report_put_esc(b, owner);
            ch_strbuf_puts(b, "\">\n<caption>");
            if (owner[0] || team[0]) {
                report_put_esc(b, team[0] ? team : "No team");
                ch_strbuf_puts(b, ": ");
                report_put_esc(b, owner[0] ? owner : "no owner");
            } else {
                ch_strbuf_puts(b, "Not assigned");
            }
            ch_strbuf_printf(b,
                             " (%zu)</caption>\n<thead><tr><th scope=\"col\">Reference</th>"
                             "<th scope=\"col\">Promise</th><th scope=\"col\">Due</th>"
                             "<th scope=\"col\">Time left</th></tr></thead>\n<tbody>\n",
                             j - i);
            for (; i < j; i++) {
                const queue_row *w = &rows[i];
                const char *ref = json_str(w->page, "ref");
                char words[64], left[64], iso[40];
                report_local_when(oc->tz, w->due_ms, words, sizeof(words));
                report_local_iso(oc->tz, w->due_ms, iso, sizeof(iso));
                report_time_left(w->due_ms, q->now_ms, left, sizeof(left));
                const ch_policy_promise *pr = ch_policy_find_promise(
                    &oc->policy, json_str(w->page, "channel"), json_str(w->page, "type"));
                ch_strbuf_puts(b, "<tr data-reference=\"");
                report_put_esc(b, ref);
                ch_strbuf_puts(b, "\"><th scope=\"row\"><a href=\"/cases/");
                report_put_esc(b, ref);
                ch_strbuf_puts(b, "\">");
                report_put_esc(b, ref[0] ? ref : w->case_id);
                ch_strbuf_puts(b, "</a></th><td>");
                report_put_esc(b, pr && pr->says ? pr->says : "");
                ch_strbuf_puts(b, "</td><td><time datetime=\"");
                report_put_esc(b, iso);
                ch_strbuf_puts(b, "\">");
                report_put_esc(b, words);
                ch_strbuf_printf(b, "</time></td><td%s>",
                                 s == Q_OVERDUE ? " class=\"overdue\"" : "");
                report_put_esc(b, left);
                ch_strbuf_puts(b, "</td></tr>\n");
            }
            ch_strbuf_puts(b, "</tbody></table>\n");
        }
        ch_strbuf_puts(b, "</section>\n");
    }
}

static void
queue_loaded(void *opaque, int rc, const report_queue_row *rr, size_t n, int truncated)
{
    queue_req *q = opaque;
    const ch_org_clocks *oc = ch_org_set_find(ch_runtime_orgs(q->r->rt), q->org);
    if (rc != 0 || !oc) {
        if (rc == CH_EAGAIN)
            ch_http_reply_unavailable(q->req, REPORT_RETRY_AFTER_S,
                                      "Redis is not answering; retry");
        else
            report_reply_error(q->req, q->html, rc ? 500 : 404,
                               rc ? "internal" : "unknown_organisation",
                               rc ? "out of memory" : "no such organisation");
        free(q);
        return;
    }
    queue_row *rows = calloc(n ? n : 1, sizeof(*rows));
    size_t counts[Q_NSTATUS] = {0};
    for (size_t i = 0; rows && i < n; i++) {
        const char *id = rr[i].member;
        for (int bars = 0; bars < 3 && id; bars++)
            if ((id = strchr(id, '|')))
                id++;
        rows[i].case_id = id ? id : rr[i].member;
        rows[i].due_ms = rr[i].due_ms;
        rows[i].page = rr[i].page ? json_loadb(rr[i].page, rr[i].page_len, 0, NULL) : NULL;
        rows[i].status = status_of(q, rr[i].due_ms);
        counts[rows[i].status]++;
    }
    char *text = NULL;
    if (rows && !q->html) {
        json_t *cases = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(cases, row_json(q, oc, &rows[i]));
        char gen[40];
        report_local_iso(oc->tz, q->now_ms, gen, sizeof(gen));
        json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:b,s:o}", "organisation", q->org,
                                 "name", oc->policy.name, "status", status_names[q->want],
                                 "timezone", ch_tz_name(oc->tz), "generated_at", gen, "count",
                                 (json_int_t)n, "truncated", truncated, "cases", cases);
        text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
    } else if (rows) {
        ch_strbuf b = CH_STRBUF_INIT;
        char *name = ch_report_html_escape(oc->policy.name), words[64];
        char title[300];
        snprintf(title, sizeof(title), "Work queue: %s", name ? name : "");
        report_page_head(&b, title);
        ch_strbuf_printf(&b, "<h1>%s</h1>\n", title);
        report_local_when(oc->tz, q->now_ms, words, sizeof(words));
        ch_strbuf_printf(&b,
                         "<p data-summary>%zu overdue now, %zu due today, %zu due in the next 7 "
                         "days. Times are local (%s); figures at %s.</p>\n",
                         counts[Q_OVERDUE], counts[Q_TODAY], counts[Q_WEEK], ch_tz_name(oc->tz),
                         words);
        if (truncated)
            ch_strbuf_printf(&b, "<p>Only the first %d cases are shown.</p>\n", QUEUE_LIMIT);
        free(name);
        queue_html_rows(&b, q, oc, rows, n, counts);
        ch_strbuf_puts(&b, "</main></body></html>\n");
        text = ch_strbuf_take(&b, NULL);
    }
    for (size_t i = 0; rows && i < n; i++)
        json_decref(rows[i].page);
    free(rows);
    if (!text)
        report_reply_error(q->req, q->html, 500, "internal", "out of memory");
    else if (q->html)
        ch_http_reply_html(q->req, 200, text);
    else
        ch_http_reply_json(q->req, 200, text);
    free(text);
    free(q);
}

/* /queue with no organisation: the organisations, each a link. */
static void
queue_index(reporting *r, struct evhttp_request *req)
{
    const ch_org_set *orgs = ch_runtime_orgs(r->rt);
    ch_strbuf b = CH_STRBUF_INIT;
    report_page_head(&b, "Work queues");
    ch_strbuf_puts(&b, "<h1>Work queues</h1>\n<ul>\n");
    for (size_t i = 0; i < orgs->n; i++) {
        ch_strbuf_puts(&b, "<li><a href=\"/queue?organisation=");
        report_put_esc(&b, orgs->orgs[i]->policy.id);
        ch_strbuf_puts(&b, "\">");
        report_put_esc(&b, orgs->orgs[i]->policy.name);
        ch_strbuf_puts(&b, "</a></li>\n");
    }
    if (!orgs->n)
        ch_strbuf_puts(&b, "<li>No organisations: start reporting with report.policy_dir.</li>\n");
    ch_strbuf_puts(&b, "</ul>\n</main></body></html>\n");
    char *text = ch_strbuf_take(&b, NULL);
    if (text)
        ch_http_reply_html(req, 200, text);
    else
        ch_http_reply_error(req, 500, "internal", "out of memory");
    free(text);
}

static void
queue_get(reporting *r, struct evhttp_request *req, int html)
{
    if (!report_readable(r, req))
        return;
    struct evkeyvalq params;
    const char *org_param = query_param(req, &params, "organisation");
    const char *status = evhttp_find_header(&params, "status");
    char org[REPORT_ORG_MAX] = "";
    if (org_param)
        snprintf(org, sizeof(org), "%s", org_param);
    q_status want = Q_LATER;
    int bad_status = 0;
    if (status && !html) {
        want = Q_OVERDUE;
        while (want < Q_NSTATUS && strcmp(status, status_names[want]) != 0)
            want++;
        bad_status = want == Q_NSTATUS;
    }
    evhttp_clear_headers(&params); /* org_param and status are gone from here */
    if (html && !org[0]) {
        queue_index(r, req);
        return;
    }
    const ch_org_clocks *oc = org[0] ? ch_org_set_find(ch_runtime_orgs(r->rt), org) : NULL;
    queue_req *q = (!oc || bad_status) ? NULL : calloc(1, sizeof(*q));
    if (q)
        snprintf(q->org, sizeof(q->org), "%s", org);
    if (!org[0]) {
        ch_http_reply_error_field(req, 400, "missing_parameter", "organisation",
                                  "query parameter 'organisation' is required (an organisation "
                                  "id)");
        return;
    }
    if (!oc) {
        report_reply_error(req, html, 404, "unknown_organisation",
                           "No organisation of that id has a policy here.");
        return;
    }
    if (bad_status) {
        ch_http_reply_error_field(req, 400, "invalid_parameter", "status",
                                  "status is one of overdue, due_today, due_this_week, open");
        return;
    }
    if (!q) {
        ch_http_reply_error(req, 500, "internal", "out of memory");
        return;
    }
    q->r = r;
    q->req = req;
    q->html = html;
    q->want = want;
    q->now_ms = ch_time_now_ms();
    int32_t today = ch_tz_local_day(oc->tz, q->now_ms);
    q->ends[Q_OVERDUE] = q->now_ms;
    q->ends[Q_TODAY] = local_day_start(oc->tz, today + 1);
    q->ends[Q_WEEK] = local_day_start(oc->tz, today + 8);
    q->ends[Q_LATER] = QUEUE_NEVER_MS;
    /* a status is its own window: due today leaves the overdue ones out */
    int64_t from = want == Q_LATER || want == Q_OVERDUE ? INT64_MIN : q->ends[want - 1];
    int rc =
        report_store_queue(r->store, q->org, from, q->ends[want], QUEUE_LIMIT, queue_loaded, q);
    if (rc != 0) {
        free(q);
        if (rc == CH_ENOMEM)
            ch_http_reply_error(req, 500, "internal", "out of memory");
        else
            ch_http_reply_unavailable(req, REPORT_RETRY_AFTER_S, "Redis is not connected; retry");
    }
}

void
report_get_queue(void *svc, struct evhttp_request *req, const char *rest)
{
    (void)rest;
    queue_get(svc, req, 1);
}

void
report_get_cases(void *svc, struct evhttp_request *req, const char *rest)
{
    (void)rest;
    queue_get(svc, req, 0);
}

/* ---- the dashboard's summary line per organisation ---- */

typedef struct {
    reporting *r;
    char (*ids)[64];
    size_t n, next;
    int64_t now_ms;
    ch_strbuf b;
    report_summary_fn done;
    void *opaque;
} summary_req;

static void summary_next(summary_req *s);

static void
summary_counted(void *opaque, int rc, int64_t overdue, int64_t today)
{
    summary_req *s = opaque;
    const ch_org_clocks *oc = ch_org_set_find(ch_runtime_orgs(s->r->rt), s->ids[s->next]);
    if (rc == 0 && oc) {
        ch_strbuf_puts(&s->b, s->b.n ? "; <a href=\"/queue?organisation="
                                     : "<a href=\"/queue?organisation=");
        report_put_esc(&s->b, oc->policy.id);
        ch_strbuf_printf(&s->b, "\" data-queue-summary=\"");
        report_put_esc(&s->b, oc->policy.id);
        ch_strbuf_puts(&s->b, "\">");
        report_put_esc(&s->b, oc->policy.name);
        ch_strbuf_printf(&s->b, ": %lld overdue now, %lld due today</a>", (long long)overdue,
                         (long long)today);
    }
    s->next++;
    summary_next(s);
}

static void
summary_next(summary_req *s)
{
    while (s->next < s->n) {
        const ch_org_clocks *oc = ch_org_set_find(ch_runtime_orgs(s->r->rt), s->ids[s->next]);
        if (oc) {
            int32_t today = ch_tz_local_day(oc->tz, s->now_ms);
            if (report_store_queue_count(s->r->store, oc->policy.id, s->now_ms,
                                         local_day_start(oc->tz, today + 1), summary_counted,
                                         s) == 0)
                return;
        }
        s->next++;
    }
    char *html = NULL;
    if (s->b.n) {
        ch_strbuf out = CH_STRBUF_INIT;
        ch_strbuf_printf(&out, "Work queues: %s.", ch_strbuf_str(&s->b));
        html = ch_strbuf_take(&out, NULL);
    }
    ch_strbuf_free(&s->b);
    s->done(s->opaque, html);
    free(s->ids);
    free(s);
}

void
report_queue_summary(reporting *r, const char (*ids)[64], size_t n, int64_t now_ms,
                     report_summary_fn done, void *opaque)
{
    summary_req *s = calloc(1, sizeof(*s));
    char(*copy)[64] = s ? malloc((n ? n : 1) * sizeof(*copy)) : NULL;
    if (!copy) {
        free(s);
        done(opaque, NULL);
        return;
    }
    memcpy(copy, ids, n * sizeof(*copy));
    *s = (summary_req){
        .r = r, .ids = copy, .n = n, .now_ms = now_ms, .done = done, .opaque = opaque};
    summary_next(s);
}
