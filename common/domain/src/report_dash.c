/*
 * The dashboard's pieces beside the promise lines (report_html.h): each
 * trend as a chart with its figures as text, the month and organisation
 * navigation, the error page, and dates as people read them.
 *
 * WHY THE CHART IS HIDDEN FROM ASSISTIVE TECHNOLOGY
 *
 * The chart once carried its monthly values in <title>s inside an
 * <svg role="img">: hidden from screen readers, shown only on mouse hover,
 * and every one of the page's charts had the same text alternative. Now the
 * same figures are text for everyone: a caption saying what the chart
 * shows (the promise, the months, the target and how many months met it)
 * and a table of the months; the drawing is decoration beside them
 * (aria-hidden), with the months' initials under its bars.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/civil.h"
#include "charter/report_html.h"
#include "charter/strbuf.h"
#include "charter/tz.h"
#include "report_html_int.h"

static const char *const month_names[] = {"January",   "February", "March",    "April",
                                          "May",       "June",     "July",     "August",
                                          "September", "October",  "November", "December"};

/* 1..12 from "YYYY-MM", else 0 */
static int
month_of(const char *period, int *year)
{
    if (strlen(period) != 7 || period[4] != '-')
        return 0;
    for (int i = 0; i < 7; i++)
        if (i != 4 && (period[i] < '0' || period[i] > '9'))
            return 0;
    int m = atoi(period + 5);
    *year = atoi(period);
    return m >= 1 && m <= 12 ? m : 0;
}

void
ch_report_period_words(const char *period, char *buf, size_t bufsz)
{
    int y, m = month_of(period, &y);
    if (m)
        snprintf(buf, bufsz, "%s %04d", month_names[m - 1], y);
    else
        snprintf(buf, bufsz, "%s", period);
}

int
ch_report_month_step(const char *month, int delta, char *out, size_t outsz)
{
    int y, m = month_of(month, &y);
    if (!m)
        return -1;
    int months = y * 12 + (m - 1) + delta;
    if (months < 0 || months / 12 > 9999)
        return -1;
    snprintf(out, outsz, "%04d-%02d", months / 12, months % 12 + 1);
    return 0;
}

void
ch_report_local_time(const ch_tz *tz, int64_t ms, char *buf, size_t bufsz)
{
    int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t local = tz ? ch_tz_local_seconds(tz, s) : s;
    int64_t day = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    int64_t sod = local - day * 86400;
    int y, m, d;
    ch_civil_from_day((int32_t)day, &y, &m, &d);
    snprintf(buf, bufsz, "%d %s %04d, %02d:%02d (%s)", d, month_names[m - 1], y, (int)(sod / 3600),
             (int)(sod / 60 % 60), tz ? ch_tz_name(tz) : "UTC");
}

/* ---- the trend ---- */

#define BAR_W 22
#define BAR_GAP 4
#define BAR_H 40
#define LABEL_H 12

void
ch__report_trend(ch_strbuf *s, const ch_report_promise_row *r)
{
    if (!r->ntrend || r->measure == CH_REPORT_MEASURE_NONE) /* nothing judged: no trend */
        return;
    int width = (int)r->ntrend * (BAR_W + BAR_GAP);
    const char *noun = ch__report_number_noun(r->measure);
    char first[32], last[32], target[16];
    ch_report_period_words(r->trend[0].period, first, sizeof(first));
    ch_report_period_words(r->trend[r->ntrend - 1].period, last, sizeof(last));
    ch__report_fmt_target(r->target_pct, target, sizeof(target));
    size_t judged = 0, met = 0;
    for (size_t i = 0; i < r->ntrend; i++) {
        int64_t n = r->trend[i].in_time + r->trend[i].late;
        if (!n)
            continue;
        judged++;
        double pct = 100.0 * (double)r->trend[i].in_time / (double)n;
        met += (int64_t)(pct * 10 + 0.5) >= (int64_t)(r->target_pct * 10 + 0.5);
    }

    ch_strbuf_puts(s, "<figure class=\"trend\" data-trend=\"");
    ch_strbuf_printf(s, "%zu\">\n", r->ntrend);
    /* the drawing: decoration beside the caption and table that carry it */
    ch_strbuf_printf(s,
                     "<svg viewBox=\"0 0 %d %d\" aria-hidden=\"true\" focusable=\"false\" "
                     "class=\"chart\">",
                     width, BAR_H + LABEL_H + 2);
    for (size_t i = 0; i < r->ntrend; i++) {
        const ch_report_point *pt = &r->trend[i];
        int64_t n = pt->in_time + pt->late;
        int x = (int)i * (BAR_W + BAR_GAP);
        int y, mo = month_of(pt->period, &y);
        if (n) {
            double pct = 100.0 * (double)pt->in_time / (double)n;
            int bh = (int)(pct * BAR_H / 100.0 + 0.5);
            if (bh < 1)
                bh = 1;
            int ok = (int64_t)(pct * 10 + 0.5) >= (int64_t)(r->target_pct * 10 + 0.5);
            ch_strbuf_printf(s, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>",
                             x, BAR_H - bh, BAR_W, bh, ok ? "#00703c" : "#b10e1e");
        } else {
            ch_strbuf_printf(s,
                             "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"1\" fill=\"#6f6f6f\"/>",
                             x, BAR_H - 1, BAR_W);
        }
        ch_strbuf_printf(s,
                         "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\" "
                         "fill=\"#1d1d1b\">%.3s</text>",
                         x + BAR_W / 2, BAR_H + LABEL_H, mo ? month_names[mo - 1] : pt->period);
    }
    if (r->target_pct > 0) {
        int y = BAR_H - (int)(r->target_pct * BAR_H / 100.0 + 0.5);
        ch_strbuf_printf(s,
                         "<line x1=\"0\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#1d1d1b\" "
                         "stroke-width=\"1\" stroke-dasharray=\"3 2\"/>",
                         width, y < 1 ? 1 : y, y < 1 ? 1 : y);
    }
    ch_strbuf_puts(s, "</svg>\n<figcaption data-figure=\"trend-caption\">Trend for &ldquo;");
    ch__report_put_html(s, r->id);
    ch_strbuf_printf(s, "&rdquo;: %% of %s in time each month, %s to %s, against a target of %s. ",
                     noun, first, last, target);
    if (judged)
        ch_strbuf_printf(s, "The target was met in %zu of the %zu months with %s", met, judged,
                         noun);
    else
        ch_strbuf_printf(s, "No %s in these months", noun);
    if (judged < r->ntrend)
        ch_strbuf_printf(s, "; %zu month%s had none", r->ntrend - judged,
                         r->ntrend - judged == 1 ? "" : "s");
    ch_strbuf_puts(s, ".</figcaption>\n<details><summary>The figures by month</summary>\n"
                      "<table class=\"trend-data\"><caption>");
    ch__report_put_html(s, r->id);
    ch_strbuf_printf(s,
                     ": %s in time by month</caption>\n<thead><tr><th scope=\"col\">Month</th>"
                     "<th scope=\"col\">%% in time</th><th scope=\"col\">In time</th>"
                     "<th scope=\"col\">Number</th><th scope=\"col\">Result</th></tr></thead>\n"
                     "<tbody>\n",
                     noun);
    for (size_t i = 0; i < r->ntrend; i++) {
        const ch_report_point *pt = &r->trend[i];
        int64_t n = pt->in_time + pt->late;
        char month[32], pct[16];
        ch_report_period_words(pt->period, month, sizeof(month));
        double p = n ? 100.0 * (double)pt->in_time / (double)n : -1;
        ch__report_fmt_pct(p, pct, sizeof(pct));
        const char *result = p < 0 ? "no cases"
                             : (int64_t)(p * 10 + 0.5) >= (int64_t)(r->target_pct * 10 + 0.5)
                                 ? "met"
                                 : "not met";
        ch_strbuf_printf(s,
                         "<tr data-period=\"%s\"><th scope=\"row\">%s</th><td>%s</td>"
                         "<td>%lld</td><td>%lld</td><td>%s</td></tr>\n",
                         pt->period, month, pct, (long long)pt->in_time, (long long)n, result);
    }
    ch_strbuf_puts(s, "</tbody></table></details>\n</figure>\n");
}

/* ---- the error page ---- */

char *
ch_report_html_error(int status, const char *title, const char *message, const char *back_href,
                     const char *back_text)
{
    ch_strbuf s = CH_STRBUF_INIT;
    ch_strbuf_puts(&s, "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                       "<title>");
    ch__report_put_html(&s, title);
    ch_strbuf_puts(&s, " - Charter performance</title>\n<style>\nbody{font-family:system-ui,"
                       "sans-serif;margin:0;padding:1rem;color:#1d1d1b;background:#f6f6f4;"
                       "line-height:1.4}\na{color:#1d4e89}\n</style>\n</head>\n<body>\n<main>\n");
    ch_strbuf_printf(&s, "<h1 data-status=\"%d\">", status);
    ch__report_put_html(&s, title);
    ch_strbuf_puts(&s, "</h1>\n<p data-figure=\"error\">");
    ch__report_put_html(&s, message);
    ch_strbuf_puts(&s, "</p>\n<p><a href=\"");
    ch__report_put_html(&s, back_href);
    ch_strbuf_puts(&s, "\" data-link=\"back\">");
    ch__report_put_html(&s, back_text);
    ch_strbuf_puts(&s, "</a></p>\n</main>\n</body>\n</html>\n");
    return ch_strbuf_take(&s, NULL);
}
