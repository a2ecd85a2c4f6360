/*
 * Per-promise view, dashboard and annual publication (report_html.h says
 * why). Output grows in one buffer (sb); a failed allocation poisons it so
 * the renderers check once at the end.
 */
#include "charter/report_html.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/calendar.h"
#include "charter/errors.h"

/* ---- a growing string ---- */

typedef struct {
    char *p;
    size_t n, cap;
    int failed;
} sb;

static void
sb_grow(sb *s, size_t more)
{
    if (s->failed || s->n + more + 1 <= s->cap)
        return;
    size_t cap = s->cap ? s->cap : 4096;
    while (cap < s->n + more + 1)
        cap *= 2;
    char *p = realloc(s->p, cap);
    if (!p) {
        s->failed = 1;
        return;
    }
    s->p = p;
    s->cap = cap;
}

static void
sb_put(sb *s, const char *text, size_t len)
{
    sb_grow(s, len);
    if (s->failed)
        return;
    memcpy(s->p + s->n, text, len);
    s->n += len;
    s->p[s->n] = '\0';
}

static void
sb_puts(sb *s, const char *text)
{
    sb_put(s, text, strlen(text));
}

__attribute__((format(printf, 2, 3))) static void
sb_printf(sb *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0) {
        s->failed = 1;
        return;
    }
    sb_grow(s, (size_t)len);
    if (s->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(s->p + s->n, (size_t)len + 1, fmt, ap);
    va_end(ap);
    s->n += (size_t)len;
}

/* text, HTML-escaped */
static void
sb_html(sb *s, const char *text)
{
    for (const char *c = text; *c; c++) {
        switch (*c) {
        case '&':
            sb_puts(s, "&amp;");
            break;
        case '<':
            sb_puts(s, "&lt;");
            break;
        case '>':
            sb_puts(s, "&gt;");
            break;
        case '"':
            sb_puts(s, "&quot;");
            break;
        case '\'':
            sb_puts(s, "&#39;");
            break;
        default:
            sb_put(s, c, 1);
        }
    }
}

/* a CSV field, quoted when it has to be (RFC 4180) */
static void
sb_csv(sb *s, const char *text)
{
    if (!strpbrk(text, ",\"\r\n")) {
        sb_puts(s, text);
        return;
    }
    sb_puts(s, "\"");
    for (const char *c = text; *c; c++) {
        if (*c == '"')
            sb_puts(s, "\"\"");
        else
            sb_put(s, c, 1);
    }
    sb_puts(s, "\"");
}

static char *
sb_finish(sb *s)
{
    if (s->failed || !s->p) {
        free(s->p);
        return NULL;
    }
    return s->p;
}

char *
ch_report_html_escape(const char *s)
{
    sb b = {0};
    sb_puts(&b, "");
    sb_html(&b, s);
    return sb_finish(&b);
}

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
    static const char *const shapes[] = {"dddd-dd-dd", "dddd-dd", "dddd"};
    if ((unsigned)g > CH_REPORT_YEAR || strlen(s) != strlen(shapes[g]))
        return CH_EINVAL;
    for (const char *p = shapes[g], *c = s; *p; p++, c++)
        if (*p == 'd' ? !(*c >= '0' && *c <= '9') : *c != *p)
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

/* "<period>|<channel>|<type>|<figure>" split in place into a copy */
typedef struct {
    char period[16], channel[32], type[40];
    const char *fig;
} key_parts;

static int
split_key(const char *key, key_parts *k)
{
    const char *b1 = strchr(key, '|'), *b2 = b1 ? strchr(b1 + 1, '|') : NULL;
    const char *b3 = b2 ? strchr(b2 + 1, '|') : NULL;
    if (!b3 || (size_t)(b1 - key) >= sizeof(k->period) ||
        (size_t)(b2 - b1 - 1) >= sizeof(k->channel) || (size_t)(b3 - b2 - 1) >= sizeof(k->type))
        return -1;
    memcpy(k->period, key, (size_t)(b1 - key));
    k->period[b1 - key] = '\0';
    memcpy(k->channel, b1 + 1, (size_t)(b2 - b1 - 1));
    k->channel[b2 - b1 - 1] = '\0';
    memcpy(k->type, b2 + 1, (size_t)(b3 - b2 - 1));
    k->type[b3 - b2 - 1] = '\0';
    k->fig = b3 + 1;
    return 0;
}

/* The promise index for a channel and type, remembered per pair: a table
 * has few distinct pairs and many counters. -1: none. */
typedef struct {
    char channel[32], type[40];
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

static const size_t period_len[] = {10, 7, 4};

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
    size_t plen = period_len[f->granularity];
    for (size_t i = 0; i < t->n; i++) {
        key_parts k;
        if (split_key(t->items[i].key, &k) != 0 || strlen(k.period) != plen)
            continue;
        if ((f->channel && strcmp(f->channel, k.channel) != 0) ||
            (f->case_type && strcmp(f->case_type, k.type) != 0))
            continue;
        int fig = fig_of(k.fig);
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
        key_parts k;
        char key[256];
        snprintf(key, sizeof(key), "%s", overdue[i]);
        if (split_key(key, &k) != 0)
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
ch_report_row_pct(const ch_report_promise_row *r)
{
    int64_t n = r->in_time + r->late;
    return n > 0 ? 100.0 * (double)r->in_time / (double)n : -1;
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

static void
fmt_pct(double pct, char *buf, size_t bufsz)
{
    if (pct < 0)
        snprintf(buf, bufsz, "-");
    else
        snprintf(buf, bufsz, "%.1f%%", pct);
}

static void
fmt_target(double target, char *buf, size_t bufsz)
{
    if (target <= 0)
        snprintf(buf, bufsz, "-");
    else if (target == (double)(int)target)
        snprintf(buf, bufsz, "%d%%", (int)target);
    else
        snprintf(buf, bufsz, "%.1f%%", target);
}

static const char *
result_text(const ch_report_promise_row *r)
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

/* "replies", "calls answered", ... : what `number` counts */
static const char *
number_noun(ch_report_measure m)
{
    switch (m) {
    case CH_REPORT_MEASURE_ANSWERED:
        return "replies";
    case CH_REPORT_MEASURE_CALLS:
        return "calls answered";
    case CH_REPORT_MEASURE_VISITORS:
        return "visitors seen";
    case CH_REPORT_MEASURE_ACKNOWLEDGED:
        return "acknowledgements";
    default:
        return "received";
    }
}

static int64_t
row_number(const ch_report_promise_row *r)
{
    return r->measure == CH_REPORT_MEASURE_NONE ? r->received : r->in_time + r->late;
}

/* ---- the dashboard ---- */

static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";

static const char page_style[] =
    "<style>\n"
    "body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;margin:0;"
    "padding:0 1rem 2rem;color:#1d1d1b;background:#f6f6f4;line-height:1.4}\n"
    "header{padding:1rem 0}h1{font-size:1.5rem;margin:0}h2{font-size:1.25rem;margin:0 0 .25rem}\n"
    ".org{background:#fff;border:1px solid #ddd;border-radius:6px;padding:1rem;margin:1rem 0}\n"
    ".totals{margin:0 0 .75rem;color:#444}.totals b{color:#1d1d1b}\n"
    "ul.promises{list-style:none;margin:0;padding:0}\n"
    ".promise{display:grid;grid-template-columns:1fr auto;gap:.25rem 1rem;"
    "border-top:1px solid #eee;padding:.6rem 0}\n"
    ".words{grid-column:1/-1;font-size:.95rem}\n"
    ".pct{font-size:1.6rem;font-weight:700}.pct small{font-size:.8rem;font-weight:400;color:#555}\n"
    ".met{color:#00703c}.notmet{color:#b10e1e}.none{color:#666}\n"
    ".detail{color:#444;font-size:.85rem}.overdue{color:#b10e1e;font-weight:600}\n"
    "svg{display:block;width:100%;max-width:16rem;height:2.5rem}\n"
    "@media (min-width:48rem){.promise{grid-template-columns:3fr 1fr 1fr 16rem}"
    ".words{grid-column:auto}}\n"
    "</style>\n";

/* Bars of % within per period, the target as a line; an empty period a dot. */
static void
trend_svg(sb *s, const ch_report_promise_row *r)
{
    if (!r->ntrend)
        return;
    const int w = 10, gap = 2, h = 40;
    int width = (int)r->ntrend * (w + gap);
    sb_printf(s,
              "<svg viewBox=\"0 0 %d %d\" role=\"img\" preserveAspectRatio=\"none\" "
              "data-trend=\"%zu\" aria-label=\"",
              width, h + 2, r->ntrend);
    sb_puts(s, "% within target, ");
    sb_html(s, r->trend[0].period);
    sb_puts(s, " to ");
    sb_html(s, r->trend[r->ntrend - 1].period);
    sb_puts(s, "\">");
    for (size_t i = 0; i < r->ntrend; i++) {
        const ch_report_point *pt = &r->trend[i];
        int64_t n = pt->in_time + pt->late;
        int x = (int)i * (w + gap);
        if (!n) {
            sb_printf(s, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"1\" fill=\"#ccc\"/>", x,
                      h - 1, w);
            continue;
        }
        double pct = 100.0 * (double)pt->in_time / (double)n;
        int bh = (int)(pct * h / 100.0 + 0.5);
        if (bh < 1)
            bh = 1;
        sb_printf(s,
                  "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\">"
                  "<title>",
                  x, h - bh, w, bh, pct + 1e-9 >= r->target_pct ? "#00703c" : "#d4351c");
        sb_html(s, pt->period);
        sb_printf(s, ": %.1f%% (%lld of %lld)</title></rect>", pct, (long long)pt->in_time,
                  (long long)n);
    }
    if (r->target_pct > 0) {
        int y = h - (int)(r->target_pct * h / 100.0 + 0.5);
        sb_printf(s,
                  "<line x1=\"0\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#1d1d1b\" "
                  "stroke-width=\"1\" stroke-dasharray=\"3 2\"/>",
                  width, y < 1 ? 1 : y, y < 1 ? 1 : y);
    }
    sb_puts(s, "</svg>");
}

static void
dashboard_row(sb *s, const ch_report_promise_row *r)
{
    char pct[16], target[16];
    fmt_pct(ch_report_row_pct(r), pct, sizeof(pct));
    fmt_target(r->target_pct, target, sizeof(target));
    int met = ch_report_row_met(r);
    sb_puts(s, "<li class=\"promise\" data-promise=\"");
    sb_html(s, r->id);
    sb_printf(s,
              "\" data-measure=\"%s\" data-received=\"%lld\" data-in-time=\"%lld\" "
              "data-late=\"%lld\" data-overdue-now=\"%lld\" data-target=\"%s\">\n",
              ch_report_measure_name(r->measure), (long long)r->received, (long long)r->in_time,
              (long long)r->late, (long long)r->overdue_now, target);
    sb_puts(s, "<div class=\"words\">");
    sb_html(s, r->promise);
    sb_puts(s, "</div>\n");
    if (r->measure == CH_REPORT_MEASURE_NONE) {
        sb_printf(s,
                  "<div class=\"pct none\" data-figure=\"pct\">-</div>"
                  "<div class=\"detail\">measured only: <span data-figure=\"received\">%lld"
                  "</span> received</div>\n",
                  (long long)r->received);
    } else {
        sb_printf(s,
                  "<div class=\"pct %s\"><span data-figure=\"pct\">%s</span> "
                  "<small>target %s</small></div>\n",
                  met == 1   ? "met"
                  : met == 0 ? "notmet"
                             : "none",
                  pct, target);
        if (r->in_time + r->late)
            sb_printf(s,
                      "<div class=\"detail\"><span data-figure=\"in-time\">%lld</span> of "
                      "<span data-figure=\"number\">%lld</span> %s in time",
                      (long long)r->in_time, (long long)(r->in_time + r->late),
                      number_noun(r->measure));
        else
            sb_printf(s, "<div class=\"detail\">no %s yet", number_noun(r->measure));
        if (r->overdue_now)
            sb_printf(s,
                      "; <span class=\"overdue\" data-figure=\"overdue-now\">%lld</span> "
                      "overdue now",
                      (long long)r->overdue_now);
        sb_puts(s, "</div>\n");
    }
    trend_svg(s, r);
    sb_puts(s, "</li>\n");
}

char *
ch_report_html_dashboard(const ch_report_view *views, size_t n, const char *generated)
{
    sb s = {0};
    sb_puts(&s, page_head);
    sb_puts(&s, "<title>Charter performance</title>\n");
    sb_puts(&s, page_style);
    sb_puts(&s, "</head>\n<body>\n<header><h1>Charter performance</h1><p>Figures at ");
    sb_html(&s, generated);
    sb_puts(&s, ". Each line is one promise of a charter: the share of cases within the "
                "promise in the period, against the target, with the trend (each bar a "
                "period; the dashed line is the target).</p></header>\n<main>\n");
    if (!n)
        sb_puts(&s, "<p>No organisations: start reporting with report.policy_dir.</p>\n");
    for (size_t i = 0; i < n; i++) {
        const ch_report_view *v = &views[i];
        sb_puts(&s, "<section class=\"org\" data-org=\"");
        sb_html(&s, v->id);
        sb_puts(&s, "\" id=\"org-");
        sb_html(&s, v->id);
        sb_puts(&s, "\">\n<h2>");
        sb_html(&s, v->name);
        sb_puts(&s, "</h2>\n<p class=\"totals\"><span data-figure=\"period\">");
        sb_html(&s, v->period);
        sb_printf(&s,
                  "</span>: <b data-figure=\"received\">%lld</b> received; "
                  "<b class=\"%s\" data-figure=\"overdue-now\">%lld</b> open and overdue "
                  "now</p>\n<ul class=\"promises\">\n",
                  (long long)v->received, v->overdue_now ? "overdue" : "",
                  (long long)v->overdue_now);
        for (size_t k = 0; k < v->nrows; k++)
            dashboard_row(&s, &v->rows[k]);
        sb_puts(&s, "</ul>\n</section>\n");
    }
    sb_puts(&s, "</main>\n</body>\n</html>\n");
    return sb_finish(&s);
}

/* ---- the annual publication ---- */

char *
ch_report_html_publication(const ch_report_view *v, const char *year)
{
    sb s = {0};
    sb_puts(&s, page_head);
    sb_puts(&s, "<title>");
    sb_html(&s, v->name);
    sb_puts(&s, ": customer charter performance ");
    sb_html(&s, year);
    sb_puts(&s, "</title>\n<style>\nbody{font-family:system-ui,sans-serif;margin:1rem;"
                "color:#1d1d1b;line-height:1.4}\ntable{border-collapse:collapse;width:100%}\n"
                "th,td{border:1px solid #bbb;padding:.4rem;text-align:left;vertical-align:top}\n"
                "td.n{text-align:right;white-space:nowrap}\n</style>\n</head>\n<body>\n<h1>");
    sb_html(&s, v->name);
    sb_puts(&s, ": how we kept our customer charter in ");
    sb_html(&s, year);
    sb_printf(&s,
              "</h1>\n<p>We received %lld cases in %s. For each promise in our charter the "
              "table shows how many cases it was judged on, how many of them were dealt with "
              "within the promise, and whether we met our target.</p>\n",
              (long long)v->received, year);
    sb_puts(&s, "<table>\n<thead><tr><th scope=\"col\">Our promise</th><th scope=\"col\">"
                "Target</th><th scope=\"col\">Number</th><th scope=\"col\">Within the "
                "promise</th><th scope=\"col\">% within</th><th scope=\"col\">Result</th>"
                "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < v->nrows; i++) {
        const ch_report_promise_row *r = &v->rows[i];
        char pct[16], target[16];
        fmt_pct(ch_report_row_pct(r), pct, sizeof(pct));
        fmt_target(r->target_pct, target, sizeof(target));
        sb_puts(&s, "<tr data-promise=\"");
        sb_html(&s, r->id);
        sb_puts(&s, "\"><td>");
        sb_html(&s, r->promise);
        sb_printf(&s, "</td><td class=\"n\">%s</td><td class=\"n\">%lld %s</td>", target,
                  (long long)row_number(r), number_noun(r->measure));
        if (r->measure == CH_REPORT_MEASURE_NONE)
            sb_puts(&s, "<td class=\"n\">-</td><td class=\"n\">-</td>");
        else
            sb_printf(&s, "<td class=\"n\">%lld</td><td class=\"n\">%s</td>", (long long)r->in_time,
                      pct);
        sb_printf(&s, "<td>%s</td></tr>\n", result_text(r));
    }
    sb_puts(&s, "</tbody>\n</table>\n</body>\n</html>\n");
    return sb_finish(&s);
}

char *
ch_report_csv_publication(const ch_report_view *v)
{
    sb s = {0};
    sb_puts(&s, "promise_id,promise,target_pct,number,within_target,pct_within,result\r\n");
    for (size_t i = 0; i < v->nrows; i++) {
        const ch_report_promise_row *r = &v->rows[i];
        sb_csv(&s, r->id);
        sb_puts(&s, ",");
        sb_csv(&s, r->promise);
        double pct = ch_report_row_pct(r);
        if (r->measure == CH_REPORT_MEASURE_NONE) {
            sb_printf(&s, ",,%lld,,,", (long long)r->received);
        } else {
            char target[16];
            fmt_target(r->target_pct, target, sizeof(target));
            target[strlen(target) - 1] = '\0'; /* the figure without '%' */
            sb_printf(&s, ",%s,%lld,%lld,", target, (long long)(r->in_time + r->late),
                      (long long)r->in_time);
            if (pct >= 0)
                sb_printf(&s, "%.1f", pct);
            sb_puts(&s, ",");
        }
        sb_puts(&s, result_text(r));
        sb_puts(&s, "\r\n");
    }
    return sb_finish(&s);
}
