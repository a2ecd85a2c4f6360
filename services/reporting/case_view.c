/*
 * A case page by reference: GET /cases/<reference> (HTML, no script) and
 * GET /v1/cases/<reference> (JSON). reference -> (organisation, case id)
 * through the reference index, then the page record and the case's state
 * (store.h); an unknown reference is a 404 page or JSON error.
 *
 * The clocks are the deadline engine's: ch_case_timers on the case's state
 * under the organisation's policy gives every timer the case has now (the
 * ones fired included, so a case past its breach still shows it), and each
 * is explained by the policy line that set it, the way `charterctl deadline`
 * explains a clock ("respond: 10 working days, line 31").
 */
#include <event2/http.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casepage.h"
#include "charter/errors.h"
#include "charter/names.h"
#include "charter/report_agg.h"
#include "charter/report_html.h"
#include "charter/timeutil.h"
#include "reporting.h"
#include "store.h"

#define CASE_MAX_TIMERS 64

typedef struct {
    reporting *r;
    struct evhttp_request *req;
    int html;
    char reference[64];
    char org[REPORT_ORG_MAX];
    char case_id[REPORT_CASE_MAX];
} case_req;

static const char *
jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* Where the policy sets clock c (key): "respond: 10 working days, line 31". */
static void
clock_src(const ch_policy_clock *c, const char *key, char *buf, size_t bufsz)
{
    if (c->line)
        snprintf(buf, bufsz, "%s: %s, line %d", key, c->text, c->line);
    else
        snprintf(buf, bufsz, "%s: %s preset", key, c->clock.preset);
}

/* One timer of the case in words, with the policy line that set it. */
static void
explain(const ch_org_clocks *oc, const ch_policy_promise *pr, const ch_case_state *st,
        const ch_case_timer *t, char *label, size_t lsz, char *rule, size_t rsz)
{
    const ch_policy *p = &oc->policy;
    const char *role = t->role >= 0 && (size_t)t->role < p->nroles ? p->roles[t->role].title : "";
    char src[300], words[256];
    snprintf(label, lsz, "%s", ch_timer_kind_name(t->kind));
    snprintf(rule, rsz, "%s", "set by the case's promise");
    switch (t->kind) {
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_ACKNOWLEDGEMENT_DUE:
        snprintf(label, lsz, "acknowledgement due");
        if (pr->ack == CH_POLICY_ACK_AUTOMATIC) {
            snprintf(rule, rsz,
                     "sent automatically on receipt (acknowledge: automatic); staff alerted if "
                     "none is recorded within %lld minutes",
                     (long long)(CH_CASE_AUTO_ACK_GRACE_MS / 60000));
        } else if (pr->acknowledge.set) {
            ch_policy_describe_clock(&pr->acknowledge.clock, words, sizeof(words));
            clock_src(&pr->acknowledge, "acknowledge", src, sizeof(src));
            snprintf(rule, rsz, "acknowledge %s (%s)", words, src);
        }
        break;
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_WARNING:
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_WARNING:
        if (t->tier >= 1 && t->tier <= pr->nwarnings) {
            const ch_policy_warning *w = &pr->warnings[t->tier - 1];
            snprintf(label, lsz, "warning %u: %s", t->tier, p->roles[w->role].key);
            snprintf(rule, rsz, "%s of the time, to the %s (at: %s, line %d)", w->at,
                     p->roles[w->role].title, w->at, w->line);
        }
        break;
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH:
        snprintf(label, lsz, "response due");
        if (pr->respond.set) {
            ch_policy_describe_clock(&pr->respond.clock, words, sizeof(words));
            clock_src(&pr->respond, "respond", src, sizeof(src));
            int n = snprintf(rule, rsz, "reply %s (%s)", words, src);
            if (st->extended_to_ms && n > 0 && (size_t)n < rsz)
                snprintf(rule + n, rsz - (size_t)n,
                         "; moved by a holding reply the promise allows (holding_reply)");
            for (size_t i = 0; i < pr->nwarnings; i++)
                if (pr->warnings[i].at_breach) {
                    n = (int)strlen(rule);
                    snprintf(rule + n, rsz - (size_t)n,
                             "; then the %s is alerted (at: breach, line %d)",
                             p->roles[pr->warnings[i].role].title, pr->warnings[i].line);
                }
        } else if (pr->answer.set) {
            clock_src(&pr->answer, "answer", src, sizeof(src));
            snprintf(rule, rsz, "answer (%s)", src);
        }
        break;
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_WAIT_EXCEEDED:
        snprintf(label, lsz, "visitor seen by");
        if (pr->see.set) {
            clock_src(&pr->see, "see.within", src, sizeof(src));
            snprintf(rule, rsz, "seen within %s of arrival (%s)", pr->see.text, src);
        }
        break;
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_DUE:
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_OVERDUE:
        snprintf(label, lsz, "review %u due", t->review);
        if (pr->review_first.set) {
            clock_src(t->review > 1 && pr->review_every.set ? &pr->review_every : &pr->review_first,
                      t->review > 1 ? "review.then_every" : "review.first", src, sizeof(src));
            snprintf(rule, rsz, "review by the %s (%s)", p->roles[pr->review_role].title, src);
        }
        break;
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_CALLBACK_DUE:
        snprintf(label, lsz, "call-back due");
        snprintf(rule, rsz, "at the time agreed with the customer (callback: at_agreed_time)");
        break;
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_EXTENSION_REFUSED:
        snprintf(label, lsz, "extension refused");
        snprintf(rule, rsz, "%s", st->extension_refused_reason);
        break;
    default:
        break;
    }
    if (role[0] && t->kind != CHARTER__V1__TIMER_KIND__TIMER_KIND_WARNING &&
        t->kind != CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH) {
        size_t n = strlen(rule);
        snprintf(rule + n, rsz - n, "; alerts the %s", role);
    }
}

static const char *
status_of(const ch_report_case *rc, const json_t *page)
{
    if (rc->clock.closed || rc->clock.escalated ||
        json_integer_value(json_object_get(page, "closed")))
        return "closed";
    if (rc->responded_ms)
        return "answered";
    if (rc->clock.paused_since_ms)
        return "paused";
    return "open";
}

static json_t *
case_json(const case_req *q, const ch_org_clocks *oc, json_t *page, const ch_report_case *rc,
          int64_t now)
{
    const ch_tz *tz = oc->tz;
    char a[48], b[48], c[64];
    const ch_policy_promise *pr = ch_policy_find_promise_for(
        &oc->policy, jstr(page, "channel"), jstr(page, "type"), rc->clock.appointment_ms != 0);
    int64_t received = json_integer_value(json_object_get(page, "received"));
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "reference", q->reference, "case_id",
                  q->case_id, "organisation", q->org, "name", oc->policy.name, "channel",
                  jstr(page, "channel"), "case_type", jstr(page, "type"), "status",
                  status_of(rc, page), "owner", jstr(page, "owner"), "team", jstr(page, "team"));
    if (!o)
        return NULL;
    json_object_set_new(o, "timezone", json_string(ch_tz_name(tz)));
    if (pr) {
        json_t *pj = json_pack("{s:s,s:s}", "id", pr->id, "says", pr->says ? pr->says : "");
        if (pj && pr->line)
            json_object_set_new(pj, "line", json_integer(pr->line));
        json_object_set_new(o, "promise", pj);
    }
    if (received) {
        report_utc_iso(received, a, sizeof(a));
        report_local_iso(tz, received, b, sizeof(b));
        json_object_set_new(o, "received_at", json_string(a));
        json_object_set_new(o, "received_local", json_string(b));
        report_local_when(tz, received, c, sizeof(c));
        json_object_set_new(o, "received_words", json_string(c));
    }
    int64_t due = json_integer_value(json_object_get(page, "due"));
    if (due) {
        report_local_iso(tz, due, b, sizeof(b));
        report_time_left(due, now, c, sizeof(c));
        json_object_set_new(o, "due_local", json_string(b));
        json_object_set_new(o, "time_left", json_string(c));
        report_local_when(tz, due, c, sizeof(c));
        json_object_set_new(o, "due_words", json_string(c));
    }
    /* events, in order */
    json_t *events = json_array(), *v;
    size_t i;
    json_array_foreach(json_object_get(page, "events"), i, v)
    {
        int64_t at = json_integer_value(json_object_get(v, "at"));
        report_local_iso(tz, at, b, sizeof(b));
        report_local_when(tz, at, c, sizeof(c));
        json_array_append_new(events, json_pack("{s:s,s:s,s:s,s:s}", "type", jstr(v, "type"),
                                                "at_local", b, "at_words", c, "by", jstr(v, "by")));
    }
    json_object_set_new(o, "events", events);
    /* clocks */
    json_t *clocks = json_array();
    ch_case_timer *timers = calloc(CASE_MAX_TIMERS, sizeof(*timers));
    int64_t target = 0;
    int n = timers && pr
                ? ch_case_timers(oc, q->case_id, &rc->clock, timers, CASE_MAX_TIMERS, &target)
                : 0;
    if (received) {
        report_local_iso(tz, received, b, sizeof(b));
        report_local_when(tz, received, c, sizeof(c));
        json_array_append_new(clocks, json_pack("{s:s,s:s,s:s,s:s,s:b}", "label", "received",
                                                "due_local", b, "due_words", c, "rule",
                                                "the case's received event starts every clock",
                                                "passed", 1));
    }
    for (int k = 0; k < n; k++) {
        char label[128], rule[1024];
        explain(oc, pr, &rc->clock, &timers[k], label, sizeof(label), rule, sizeof(rule));
        report_local_iso(tz, timers[k].due_ms, b, sizeof(b));
        report_local_when(tz, timers[k].due_ms, c, sizeof(c));
        json_array_append_new(clocks, json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "label", label, "kind",
                                                ch_timer_kind_name(timers[k].kind), "due_local", b,
                                                "due_words", c, "rule", rule, "passed",
                                                timers[k].due_ms <= now));
    }
    free(timers);
    json_object_set_new(o, "clocks", clocks);
    json_t *notices = json_array();
    json_array_foreach(json_object_get(page, "notices"), i, v)
    {
        report_local_iso(tz, json_integer_value(json_object_get(v, "at")), b, sizeof(b));
        json_array_append_new(notices,
                              json_pack("{s:s,s:s,s:s,s:s,s:s}", "kind", jstr(v, "kind"), "channel",
                                        jstr(v, "channel"), "status", jstr(v, "status"),
                                        "transport", jstr(v, "transport"), "at_local", b));
    }
    json_object_set_new(o, "notices", notices);
    json_t *messages = json_array();
    json_array_foreach(json_object_get(page, "messages"), i, v)
    {
        int64_t at = json_integer_value(json_object_get(v, "at"));
        report_local_iso(tz, at, b, sizeof(b));
        report_local_when(tz, at, c, sizeof(c));
        json_array_append_new(messages,
                              json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "at_local", b, "at_words", c,
                                        "channel", jstr(v, "channel"), "subject",
                                        jstr(v, "subject"), "text", jstr(v, "text"), "attachments",
                                        json_integer_value(json_object_get(v, "attachments"))));
    }
    json_object_set_new(o, "messages", messages);
    return o;
}

/* A table of the array's objects: one column per (key, heading). */
static void
html_table(ch_strbuf *b, const char *caption, const json_t *a, const char *const *keys,
           const char *const *heads, size_t ncols)
{
    ch_strbuf_printf(b, "<h2>%s</h2>\n", caption);
    if (!json_array_size(a)) {
        ch_strbuf_puts(b, "<p class=\"muted\">None.</p>\n");
        return;
    }
    ch_strbuf_printf(b, "<table data-table=\"%s\">\n<thead><tr>", keys[0]);
    for (size_t k = 0; k < ncols; k++)
        ch_strbuf_printf(b, "<th scope=\"col\">%s</th>", heads[k]);
    ch_strbuf_puts(b, "</tr></thead>\n<tbody>\n");
    size_t i;
    const json_t *v;
    json_array_foreach(a, i, v)
    {
        ch_strbuf_puts(b, "<tr>");
        for (size_t k = 0; k < ncols; k++) {
            const json_t *f = json_object_get(v, keys[k]);
            ch_strbuf_puts(b, k == 0 ? "<th scope=\"row\">" : "<td>");
            if (json_is_boolean(f))
                ch_strbuf_puts(b, json_is_true(f) ? "passed" : "to come");
            else if (json_is_integer(f))
                ch_strbuf_printf(b, "%lld", (long long)json_integer_value(f));
            else
                report_put_esc(b, json_string_value(f));
            ch_strbuf_puts(b, k == 0 ? "</th>" : "</td>");
        }
        ch_strbuf_puts(b, "</tr>\n");
    }
    ch_strbuf_puts(b, "</tbody></table>\n");
}

static char *
case_html(const json_t *o)
{
    ch_strbuf b = CH_STRBUF_INIT;
    char title[200];
    snprintf(title, sizeof(title), "Case %s", jstr(o, "reference"));
    char *t = ch_report_html_escape(title);
    report_page_head(&b, t ? t : "Case");
    free(t);
    ch_strbuf_puts(&b, "<h1>Case ");
    report_put_esc(&b, jstr(o, "reference"));
    ch_strbuf_puts(&b, "</h1>\n<p><a href=\"/queue?organisation=");
    report_put_esc(&b, jstr(o, "organisation"));
    ch_strbuf_puts(&b, "\">Back to the work queue of ");
    report_put_esc(&b, jstr(o, "name"));
    ch_strbuf_puts(&b, "</a></p>\n<dl>\n");
    static const char *const facts[][2] = {
        {"status", "Status"},   {"owner", "Owner"},         {"team", "Team"},
        {"channel", "Channel"}, {"case_type", "Case type"}, {"received_words", "Received"},
        {"due_words", "Due"},   {"time_left", "Time left"}};
    for (size_t k = 0; k < sizeof(facts) / sizeof(facts[0]); k++) {
        const char *v = jstr(o, facts[k][0]);
        ch_strbuf_printf(&b, "<dt>%s</dt><dd data-fact=\"%s\">", facts[k][1], facts[k][0]);
        report_put_esc(&b, v[0] ? v : "-");
        ch_strbuf_puts(&b, "</dd>\n");
    }
    const json_t *pr = json_object_get(o, "promise");
    if (pr) {
        ch_strbuf_puts(&b, "<dt>Promise</dt><dd data-fact=\"promise\">");
        report_put_esc(&b, jstr(pr, "says"));
        ch_strbuf_puts(&b, " (");
        report_put_esc(&b, jstr(pr, "id"));
        if (json_integer_value(json_object_get(pr, "line")))
            ch_strbuf_printf(&b, ", line %lld",
                             (long long)json_integer_value(json_object_get(pr, "line")));
        ch_strbuf_puts(&b, ")</dd>\n");
    }
    ch_strbuf_puts(&b, "</dl>\n");
    static const char *const ek[] = {"type", "at_words", "by"};
    static const char *const eh[] = {"Event", "When", "Who"};
    html_table(&b, "Events", json_object_get(o, "events"), ek, eh, 3);
    static const char *const ck[] = {"label", "due_words", "passed", "rule"};
    static const char *const chd[] = {"Clock", "Due", "Passed", "Why (the policy line)"};
    html_table(&b, "Clocks", json_object_get(o, "clocks"), ck, chd, 4);
    static const char *const nk[] = {"kind", "channel", "status", "transport", "at_words"};
    static const char *const nh[] = {"Notice", "Channel", "Status", "Transport", "When"};
    html_table(&b, "Notices", json_object_get(o, "notices"), nk, nh, 5);
    static const char *const mk[] = {"at_words", "channel", "subject", "text"};
    static const char *const mh[] = {"When", "Channel", "Subject", "Message"};
    html_table(&b, "Customer messages", json_object_get(o, "messages"), mk, mh, 4);
    ch_strbuf_puts(&b, "</main></body></html>\n");
    return ch_strbuf_take(&b, NULL);
}

static void
case_loaded(void *opaque, int rc, const char *page, size_t plen, const char *state, size_t slen)
{
    case_req *q = opaque;
    const ch_org_clocks *oc = ch_org_set_find(ch_runtime_orgs(q->r->rt), q->org);
    json_t *pj = page ? json_loadb(page, plen, 0, NULL) : NULL;
    ch_report_case *rcase = calloc(1, sizeof(*rcase));
    if (rc != 0) {
        ch_http_reply_unavailable(q->req, REPORT_RETRY_AFTER_S, "Redis is not answering; retry");
    } else if (!oc || !pj) {
        report_reply_error(q->req, q->html, 404, "unknown_reference",
                           "No case with that reference is known here.");
    } else if (!rcase) {
        report_reply_error(q->req, q->html, 500, "internal", "out of memory");
    } else {
        if (state)
            ch_report_case_unpack(state, slen, rcase);
        json_t *o = case_json(q, oc, pj, rcase, ch_time_now_ms());
        char *text = !o ? NULL : q->html ? case_html(o) : json_dumps(o, JSON_COMPACT);
        if (!text)
            report_reply_error(q->req, q->html, 500, "internal", "out of memory");
        else if (q->html)
            ch_http_reply_html(q->req, 200, text);
        else
            ch_http_reply_json(q->req, 200, text);
        free(text);
        json_decref(o);
    }
    free(rcase);
    json_decref(pj);
    free(q);
}

static void
ref_found(void *opaque, int rc, const char *text, size_t len)
{
    case_req *q = opaque;
    const char *sp = text ? memchr(text, ' ', len) : NULL;
    if (rc != 0) {
        ch_http_reply_unavailable(q->req, REPORT_RETRY_AFTER_S, "Redis is not answering; retry");
    } else if (!sp || (size_t)(sp - text) >= sizeof(q->org) ||
               len - (size_t)(sp - text) - 1 >= sizeof(q->case_id)) {
        report_reply_error(q->req, q->html, 404, "unknown_reference",
                           "No case with that reference is known here.");
    } else {
        snprintf(q->org, sizeof(q->org), "%.*s", (int)(sp - text), text);
        snprintf(q->case_id, sizeof(q->case_id), "%.*s", (int)(len - (size_t)(sp - text) - 1),
                 sp + 1);
        rc = report_store_case_page(q->r->store, q->org, q->case_id, case_loaded, q);
        if (rc == 0)
            return;
        ch_http_reply_unavailable(q->req, REPORT_RETRY_AFTER_S, "Redis is not connected; retry");
    }
    free(q);
}

static void
case_get(reporting *r, struct evhttp_request *req, const char *rest, int html)
{
    if (!report_readable(r, req))
        return;
    size_t n = strlen(rest);
    int ok = n > 0 && n < 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = (rest[i] >= 'A' && rest[i] <= 'Z') || (rest[i] >= 'a' && rest[i] <= 'z') ||
             (rest[i] >= '0' && rest[i] <= '9') || rest[i] == '-' || rest[i] == '_';
    if (!ok) {
        report_reply_error(req, html, 404, "unknown_reference",
                           "A reference is letters, digits and '-', e.g. DH-2026-000056.");
        return;
    }
    case_req *q = calloc(1, sizeof(*q));
    if (!q) {
        ch_http_reply_error(req, 500, "internal", "out of memory");
        return;
    }
    *q = (case_req){.r = r, .req = req, .html = html};
    snprintf(q->reference, sizeof(q->reference), "%s", rest);
    int rc = report_store_ref_get(r->store, q->reference, ref_found, q);
    if (rc != 0) {
        free(q);
        ch_http_reply_unavailable(req, REPORT_RETRY_AFTER_S, "Redis is not connected; retry");
    }
}

void
report_get_case_html(void *svc, struct evhttp_request *req, const char *rest)
{
    case_get(svc, req, rest, 1);
}

void
report_get_case_json(void *svc, struct evhttp_request *req, const char *rest)
{
    case_get(svc, req, rest, 0);
}
