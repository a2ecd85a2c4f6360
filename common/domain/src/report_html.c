/*
 * The dashboard and the annual publication (report_html.h says what they
 * promise). Output grows in one ch_strbuf; a failed allocation poisons it,
 * so the renderers append freely and check once at the end.
 */
#include "charter/report_html.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/strbuf.h"

/* text, HTML-escaped: runs of plain text as they are, the five specials as
 * entities */
static void
put_html(ch_strbuf *s, const char *text)
{
    static const char specials[] = "&<>\"'";
    static const char *const entities[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
    for (;;) {
        size_t run = strcspn(text, specials);
        ch_strbuf_put(s, text, run);
        if (!text[run])
            return;
        ch_strbuf_puts(s, entities[strchr(specials, text[run]) - specials]);
        text += run + 1;
    }
}

/* a CSV field, quoted when it has to be (RFC 4180): quotes doubled */
static void
put_csv(ch_strbuf *s, const char *text)
{
    if (!strpbrk(text, ",\"\r\n")) {
        ch_strbuf_puts(s, text);
        return;
    }
    ch_strbuf_putc(s, '"');
    for (;;) {
        size_t run = strcspn(text, "\"");
        ch_strbuf_put(s, text, run);
        if (!text[run])
            break;
        ch_strbuf_puts(s, "\"\"");
        text += run + 1;
    }
    ch_strbuf_putc(s, '"');
}

char *
ch_report_html_escape(const char *s)
{
    ch_strbuf b = CH_STRBUF_INIT;
    put_html(&b, s);
    return ch_strbuf_take(&b, NULL);
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
trend_svg(ch_strbuf *s, const ch_report_promise_row *r)
{
    if (!r->ntrend)
        return;
    const int w = 10, gap = 2, h = 40;
    int width = (int)r->ntrend * (w + gap);
    ch_strbuf_printf(s,
                     "<svg viewBox=\"0 0 %d %d\" role=\"img\" preserveAspectRatio=\"none\" "
                     "data-trend=\"%zu\" aria-label=\"",
                     width, h + 2, r->ntrend);
    ch_strbuf_puts(s, "% within target, ");
    put_html(s, r->trend[0].period);
    ch_strbuf_puts(s, " to ");
    put_html(s, r->trend[r->ntrend - 1].period);
    ch_strbuf_puts(s, "\">");
    for (size_t i = 0; i < r->ntrend; i++) {
        const ch_report_point *pt = &r->trend[i];
        int64_t n = pt->in_time + pt->late;
        int x = (int)i * (w + gap);
        if (!n) {
            ch_strbuf_printf(s, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"1\" fill=\"#ccc\"/>",
                             x, h - 1, w);
            continue;
        }
        double pct = 100.0 * (double)pt->in_time / (double)n;
        int bh = (int)(pct * h / 100.0 + 0.5);
        if (bh < 1)
            bh = 1;
        ch_strbuf_printf(s,
                         "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\">"
                         "<title>",
                         x, h - bh, w, bh, pct + 1e-9 >= r->target_pct ? "#00703c" : "#d4351c");
        put_html(s, pt->period);
        ch_strbuf_printf(s, ": %.1f%% (%lld of %lld)</title></rect>", pct, (long long)pt->in_time,
                         (long long)n);
    }
    if (r->target_pct > 0) {
        int y = h - (int)(r->target_pct * h / 100.0 + 0.5);
        ch_strbuf_printf(s,
                         "<line x1=\"0\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#1d1d1b\" "
                         "stroke-width=\"1\" stroke-dasharray=\"3 2\"/>",
                         width, y < 1 ? 1 : y, y < 1 ? 1 : y);
    }
    ch_strbuf_puts(s, "</svg>");
}

static void
dashboard_row(ch_strbuf *s, const ch_report_promise_row *r)
{
    char pct[16], target[16];
    fmt_pct(ch_report_row_pct(r), pct, sizeof(pct));
    fmt_target(r->target_pct, target, sizeof(target));
    int met = ch_report_row_met(r);
    ch_strbuf_puts(s, "<li class=\"promise\" data-promise=\"");
    put_html(s, r->id);
    ch_strbuf_printf(s,
                     "\" data-measure=\"%s\" data-received=\"%lld\" data-in-time=\"%lld\" "
                     "data-late=\"%lld\" data-overdue-now=\"%lld\" data-target=\"%s\">\n",
                     ch_report_measure_name(r->measure), (long long)r->received,
                     (long long)r->in_time, (long long)r->late, (long long)r->overdue_now, target);
    ch_strbuf_puts(s, "<div class=\"words\">");
    put_html(s, r->promise);
    ch_strbuf_puts(s, "</div>\n");
    if (r->measure == CH_REPORT_MEASURE_NONE) {
        ch_strbuf_printf(s,
                         "<div class=\"pct none\" data-figure=\"pct\">-</div>"
                         "<div class=\"detail\">measured only: <span data-figure=\"received\">%lld"
                         "</span> received</div>\n",
                         (long long)r->received);
    } else {
        ch_strbuf_printf(s,
                         "<div class=\"pct %s\"><span data-figure=\"pct\">%s</span> "
                         "<small>target %s</small></div>\n",
                         met == 1   ? "met"
                         : met == 0 ? "notmet"
                                    : "none",
                         pct, target);
        if (r->in_time + r->late)
            ch_strbuf_printf(s,
                             "<div class=\"detail\"><span data-figure=\"in-time\">%lld</span> of "
                             "<span data-figure=\"number\">%lld</span> %s in time",
                             (long long)r->in_time, (long long)(r->in_time + r->late),
                             number_noun(r->measure));
        else
            ch_strbuf_printf(s, "<div class=\"detail\">no %s yet", number_noun(r->measure));
        if (r->overdue_now)
            ch_strbuf_printf(s,
                             "; <span class=\"overdue\" data-figure=\"overdue-now\">%lld</span> "
                             "overdue now",
                             (long long)r->overdue_now);
        ch_strbuf_puts(s, "</div>\n");
    }
    trend_svg(s, r);
    ch_strbuf_puts(s, "</li>\n");
}

char *
ch_report_html_dashboard(const ch_report_view *views, size_t n, const char *generated)
{
    ch_strbuf s = CH_STRBUF_INIT;
    ch_strbuf_puts(&s, page_head);
    ch_strbuf_puts(&s, "<title>Charter performance</title>\n");
    ch_strbuf_puts(&s, page_style);
    ch_strbuf_puts(&s, "</head>\n<body>\n<header><h1>Charter performance</h1><p>Figures at ");
    put_html(&s, generated);
    ch_strbuf_puts(&s, ". Each line is one promise of a charter: the share of cases within the "
                       "promise in the period, against the target, with the trend (each bar a "
                       "period; the dashed line is the target).</p></header>\n<main>\n");
    if (!n)
        ch_strbuf_puts(&s, "<p>No organisations: start reporting with report.policy_dir.</p>\n");
    for (size_t i = 0; i < n; i++) {
        const ch_report_view *v = &views[i];
        ch_strbuf_puts(&s, "<section class=\"org\" data-org=\"");
        put_html(&s, v->id);
        ch_strbuf_puts(&s, "\" id=\"org-");
        put_html(&s, v->id);
        ch_strbuf_puts(&s, "\">\n<h2>");
        put_html(&s, v->name);
        ch_strbuf_puts(&s, "</h2>\n<p class=\"totals\"><span data-figure=\"period\">");
        put_html(&s, v->period);
        ch_strbuf_printf(&s,
                         "</span>: <b data-figure=\"received\">%lld</b> received; "
                         "<b class=\"%s\" data-figure=\"overdue-now\">%lld</b> open and overdue "
                         "now</p>\n<ul class=\"promises\">\n",
                         (long long)v->received, v->overdue_now ? "overdue" : "",
                         (long long)v->overdue_now);
        for (size_t k = 0; k < v->nrows; k++)
            dashboard_row(&s, &v->rows[k]);
        ch_strbuf_puts(&s, "</ul>\n</section>\n");
    }
    ch_strbuf_puts(&s, "</main>\n</body>\n</html>\n");
    return ch_strbuf_take(&s, NULL);
}

/* ---- the annual publication ---- */

char *
ch_report_html_publication(const ch_report_view *v, const char *year)
{
    ch_strbuf s = CH_STRBUF_INIT;
    ch_strbuf_puts(&s, page_head);
    ch_strbuf_puts(&s, "<title>");
    put_html(&s, v->name);
    ch_strbuf_puts(&s, ": customer charter performance ");
    put_html(&s, year);
    ch_strbuf_puts(&s,
                   "</title>\n<style>\nbody{font-family:system-ui,sans-serif;margin:1rem;"
                   "color:#1d1d1b;line-height:1.4}\ntable{border-collapse:collapse;width:100%}\n"
                   "th,td{border:1px solid #bbb;padding:.4rem;text-align:left;vertical-align:top}\n"
                   "td.n{text-align:right;white-space:nowrap}\n</style>\n</head>\n<body>\n<h1>");
    put_html(&s, v->name);
    ch_strbuf_puts(&s, ": how we kept our customer charter in ");
    put_html(&s, year);
    ch_strbuf_printf(
        &s,
        "</h1>\n<p>We received %lld cases in %s. For each promise in our charter the "
        "table shows how many cases it was judged on, how many of them were dealt with "
        "within the promise, and whether we met our target.</p>\n",
        (long long)v->received, year);
    ch_strbuf_puts(&s, "<table>\n<thead><tr><th scope=\"col\">Our promise</th><th scope=\"col\">"
                       "Target</th><th scope=\"col\">Number</th><th scope=\"col\">Within the "
                       "promise</th><th scope=\"col\">% within</th><th scope=\"col\">Result</th>"
                       "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < v->nrows; i++) {
        const ch_report_promise_row *r = &v->rows[i];
        char pct[16], target[16];
        fmt_pct(ch_report_row_pct(r), pct, sizeof(pct));
        fmt_target(r->target_pct, target, sizeof(target));
        ch_strbuf_puts(&s, "<tr data-promise=\"");
        put_html(&s, r->id);
        ch_strbuf_puts(&s, "\"><td>");
        put_html(&s, r->promise);
        ch_strbuf_printf(&s, "</td><td class=\"n\">%s</td><td class=\"n\">%lld %s</td>", target,
                         (long long)row_number(r), number_noun(r->measure));
        if (r->measure == CH_REPORT_MEASURE_NONE)
            ch_strbuf_puts(&s, "<td class=\"n\">-</td><td class=\"n\">-</td>");
        else
            ch_strbuf_printf(&s, "<td class=\"n\">%lld</td><td class=\"n\">%s</td>",
                             (long long)r->in_time, pct);
        ch_strbuf_printf(&s, "<td>%s</td></tr>\n", result_text(r));
    }
    ch_strbuf_puts(&s, "</tbody>\n</table>\n</body>\n</html>\n");
    return ch_strbuf_take(&s, NULL);
}

char *
ch_report_csv_publication(const ch_report_view *v)
{
    ch_strbuf s = CH_STRBUF_INIT;
    ch_strbuf_puts(&s, "promise_id,promise,target_pct,number,within_target,pct_within,result\r\n");
    for (size_t i = 0; i < v->nrows; i++) {
        const ch_report_promise_row *r = &v->rows[i];
        put_csv(&s, r->id);
        ch_strbuf_puts(&s, ",");
        put_csv(&s, r->promise);
        double pct = ch_report_row_pct(r);
        if (r->measure == CH_REPORT_MEASURE_NONE) {
            ch_strbuf_printf(&s, ",,%lld,,,", (long long)r->received);
        } else {
            char target[16];
            fmt_target(r->target_pct, target, sizeof(target));
            target[strlen(target) - 1] = '\0'; /* the figure without '%' */
            ch_strbuf_printf(&s, ",%s,%lld,%lld,", target, (long long)(r->in_time + r->late),
                             (long long)r->in_time);
            if (pct >= 0)
                ch_strbuf_printf(&s, "%.1f", pct);
            ch_strbuf_puts(&s, ",");
        }
        ch_strbuf_puts(&s, result_text(r));
        ch_strbuf_puts(&s, "\r\n");
    }
    return ch_strbuf_take(&s, NULL);
}
