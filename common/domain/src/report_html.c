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
#include "report_html_int.h"

/* text, HTML-escaped: runs of plain text as they are, the five specials as
 * entities */
void
ch__report_put_html(ch_strbuf *s, const char *text)
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
    ch__report_put_html(&b, s);
    return ch_strbuf_take(&b, NULL);
}

void
ch__report_fmt_pct(double pct, char *buf, size_t bufsz)
{
    if (pct < 0)
        snprintf(buf, bufsz, "-");
    else
        snprintf(buf, bufsz, "%.1f%%", pct);
}

void
ch__report_fmt_target(double target, char *buf, size_t bufsz)
{
    if (target <= 0)
        snprintf(buf, bufsz, "-");
    else if (target == (double)(int)target)
        snprintf(buf, bufsz, "%d%%", (int)target);
    else
        snprintf(buf, bufsz, "%.1f%%", target);
}

/* "replies", "calls answered", ... : what `number` counts */
const char *
ch__report_number_noun(ch_report_measure m)
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

/* ---- the lines beside a promise's main one (report_view.h) ---- */

/* "British Sign Language interpreters", ...: what each support count is */
static const char *
support_title(ch_report_support k)
{
    switch (k) {
    case CH_REPORT_SUPPORT_PHONE_INTERPRETING:
        return "phone interpreting calls";
    case CH_REPORT_SUPPORT_FACE_TO_FACE_INTERPRETING:
        return "face-to-face interpreting sessions";
    case CH_REPORT_SUPPORT_BSL:
        return "British Sign Language interpreting";
    case CH_REPORT_SUPPORT_AUDIO:
        return "audio conversions";
    case CH_REPORT_SUPPORT_LARGE_PRINT:
        return "large print translations";
    case CH_REPORT_SUPPORT_BRAILLE:
        return "braille translations";
    default:
        return "other support";
    }
}

/* "working days", "days", ... for a time to respond */
static const char *
unit_words(ch_report_unit u)
{
    static const char *const words[] = {"working days", "days", "hours", "minutes", "seconds"};
    return (size_t)u < sizeof(words) / sizeof(words[0]) ? words[u] : "";
}

static const char *
met_class(int met)
{
    return met == 1 ? "met" : met == 0 ? "notmet" : "none";
}

static const char *
met_words(int met)
{
    return met == 1 ? "met" : met == 0 ? "not met" : "no cases";
}

#define MAX_LINES 24

/* One published line: what it is, its target, number, within, % and result,
 * as the publication's columns and the dashboard's words use them. */
typedef struct {
    const char *line; /* CSV `line` and HTML data-line */
    char words[256];  /* the line in plain English */
    int judged;       /* 1: in time / late against the target; 0: a share or a count */
    int share;        /* with within and pct */
    int64_t number, within;
    double pct;      /* -1: none */
    int met;         /* judged lines */
    char result[32]; /* CSV result for lines not judged */
    char shown[32];  /* the same in words, for the HTML publication */
} pub_line;

/* The lines beside the main one, at most MAX_LINES, into out. */
static size_t
row_lines(const ch_report_promise_row *r, pub_line *out)
{
    size_t n = 0;
    pub_line *l;
#define NEXT() (l = &out[n++], memset(l, 0, sizeof(*l)), l->pct = -1)
    if (r->lines & CH_REPORT_LINE_ORIGINAL) {
        NEXT();
        l->line = "answered_original";
        if (r->extended || r->extensions_refused)
            snprintf(l->words, sizeof(l->words),
                     "Within the original promise, before any extension (%lld extended; %lld "
                     "extension%s refused, not moving the target)",
                     (long long)r->extended, (long long)r->extensions_refused,
                     r->extensions_refused == 1 ? "" : "s");
        else
            snprintf(l->words, sizeof(l->words),
                     "Within the original promise, before any extension");
        l->judged = 1;
        l->number = r->in_time_original + r->late_original;
        l->within = r->in_time_original;
        l->pct = ch_report_pct_within(r->in_time_original, r->late_original);
        l->met = ch_report_line_met(r, r->in_time_original, r->late_original);
    }
    if (r->lines & CH_REPORT_LINE_ACK) {
        NEXT();
        l->line = "acknowledged";
        snprintf(l->words, sizeof(l->words), "Acknowledgement (%s)", r->ack);
        l->judged = 1;
        l->number = r->ack_in_time + r->ack_late;
        l->within = r->ack_in_time;
        l->pct = ch_report_pct_within(r->ack_in_time, r->ack_late);
        l->met = ch_report_line_met(r, r->ack_in_time, r->ack_late);
        NEXT();
        l->line = "not_acknowledged";
        snprintf(l->words, sizeof(l->words), "Not acknowledged yet");
        l->number = r->ack_not_yet;
        snprintf(l->result, sizeof(l->result), "counted");
    }
    if ((r->lines & CH_REPORT_LINE_TTR) && r->ttr_responses) {
        NEXT();
        l->line = "time_to_respond_median";
        snprintf(l->words, sizeof(l->words), "Time to respond, median (%s)",
                 unit_words(r->ttr_unit));
        l->number = r->ttr_median;
        snprintf(l->result, sizeof(l->result), "%s", ch_report_unit_name(r->ttr_unit));
        snprintf(l->shown, sizeof(l->shown), "%s", unit_words(r->ttr_unit));
        NEXT();
        l->line = "time_to_respond_p90";
        snprintf(l->words, sizeof(l->words), "Time to respond, 90th percentile (%s)",
                 unit_words(r->ttr_unit));
        l->number = r->ttr_p90;
        snprintf(l->result, sizeof(l->result), "%s", ch_report_unit_name(r->ttr_unit));
        snprintf(l->shown, sizeof(l->shown), "%s", unit_words(r->ttr_unit));
    }
    if (r->lines & CH_REPORT_LINE_FCR) {
        NEXT();
        l->line = "first_contact_resolution";
        snprintf(l->words, sizeof(l->words), "Resolved at the first contact (of %s)",
                 !r->visitors_seen    ? "calls answered"
                 : !r->calls_answered ? "visitors seen"
                                      : "calls answered and visitors seen");
        l->share = 1;
        l->number = r->calls_answered + r->visitors_seen;
        l->within = r->resolved_first_time;
        l->pct = ch_report_fcr_pct(r);
        snprintf(l->result, sizeof(l->result), "measured");
    }
    if (r->lines & CH_REPORT_LINE_CALLBACKS_AGREED) {
        int64_t late = r->callbacks_late + r->callbacks_overdue;
        NEXT();
        l->line = "callbacks_at_agreed_time";
        snprintf(l->words, sizeof(l->words),
                 "Call-backs made by the time agreed with the customer (of those due)");
        l->judged = 1;
        l->number = r->callbacks_in_time + late;
        l->within = r->callbacks_in_time;
        l->pct = ch_report_pct_within(r->callbacks_in_time, late);
        l->met = ch_report_line_met(r, r->callbacks_in_time, late);
    }
    if (r->lines & CH_REPORT_LINE_CALLBACKS) {
        NEXT();
        l->line = "callbacks_made";
        snprintf(l->words, sizeof(l->words), "Call-backs made (of call-backs promised)");
        l->share = 1;
        l->number = r->callbacks_promised;
        l->within = r->callbacks_made;
        l->pct = ch_report_pct_within(r->callbacks_made, r->callbacks_not_made);
        snprintf(l->result, sizeof(l->result), "measured");
        NEXT();
        l->line = "callbacks_not_made";
        snprintf(l->words, sizeof(l->words), "Call-backs promised, not made yet");
        l->number = r->callbacks_not_made;
        snprintf(l->result, sizeof(l->result), "counted");
    }
    if (r->lines & CH_REPORT_LINE_APPOINTMENTS) {
        NEXT();
        l->line = "appointments_kept";
        snprintf(l->words, sizeof(l->words),
                 "Appointments kept (of those kept, missed or cancelled by us)");
        l->share = 1;
        l->number = r->appts_kept + r->appts_missed + r->appts_cancelled_org;
        l->within = r->appts_kept;
        l->pct = ch_report_appts_kept_pct(r);
        snprintf(l->result, sizeof(l->result), "measured");
        const struct {
            const char *line, *words;
            int64_t v;
        } counts[] = {
            {"appointments_missed", "Appointments missed", r->appts_missed},
            {"appointments_cancelled_by_organisation", "Appointments cancelled by us",
             r->appts_cancelled_org},
            {"appointments_cancelled_by_customer", "Appointments cancelled by the customer",
             r->appts_cancelled_customer},
            {"appointments_rebooked", "Appointments rebooked", r->appts_rebooked},
            {"appointments_to_come", "Appointments still to come", r->appts_to_come},
        };
        for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
            NEXT();
            l->line = counts[i].line;
            snprintf(l->words, sizeof(l->words), "%s", counts[i].words);
            l->number = counts[i].v;
            snprintf(l->result, sizeof(l->result), "counted");
        }
    }
    if (r->lines & CH_REPORT_LINE_SUPPORT) {
        NEXT();
        l->line = "communication_support";
        snprintf(l->words, sizeof(l->words), "Communication support given");
        l->number = r->support;
        snprintf(l->result, sizeof(l->result), "counted");
    }
    if (r->lines & CH_REPORT_LINE_SATISFACTION) {
        NEXT();
        l->line = "satisfaction";
        snprintf(l->words, sizeof(l->words), "Satisfied (a score of at least 80%% of the maximum)");
        l->share = 1;
        l->number = r->satisfaction.responses;
        l->within = r->satisfaction.satisfied;
        l->pct = ch_report_satisfied_pct(&r->satisfaction);
        snprintf(l->result, sizeof(l->result), "measured");
    }
    if (r->lines & CH_REPORT_LINE_REVIEWS) {
        int64_t late = r->reviews_late + r->reviews_overdue;
        NEXT();
        l->line = "reviews";
        snprintf(l->words, sizeof(l->words), "Reviews done by their due date (of reviews due)");
        l->judged = 1;
        l->number = r->reviews_in_time + late;
        l->within = r->reviews_in_time;
        l->pct = ch_report_pct_within(r->reviews_in_time, late);
        l->met = ch_report_line_met(r, r->reviews_in_time, late);
        NEXT();
        l->line = "reviews_overdue";
        snprintf(l->words, sizeof(l->words), "Reviews overdue, not yet done");
        l->number = r->reviews_overdue;
        snprintf(l->result, sizeof(l->result), "counted");
    }
#undef NEXT
    for (size_t i = 0; i < n; i++)
        if (!out[i].shown[0])
            memcpy(out[i].shown, out[i].result, sizeof(out[i].shown));
    return n;
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
    /* after .totals b, and as specific: the overdue count stays red */
    ".totals b.overdue,.overdue{color:#b10e1e;font-weight:700}\n"
    "nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}\n"
    "nav p{margin:.25rem 0}a{color:#1d4e89}a[aria-current]{font-weight:700;color:#1d1d1b}\n"
    ".summary{font-size:1.1rem;font-weight:600}\n"
    ".result{font-size:1rem;font-weight:700;margin-left:.25rem}\n"
    "figure.trend{margin:0;grid-column:1/-1}figcaption{font-size:.85rem;color:#444}\n"
    "details{font-size:.85rem}table.trend-data{border-collapse:collapse}"
    "table.trend-data th,table.trend-data td{border:1px solid #ccc;padding:.1rem .4rem;"
    "text-align:left}caption{text-align:left;font-weight:600}\n"
    "ul.promises{list-style:none;margin:0;padding:0}\n"
    ".promise{display:grid;grid-template-columns:1fr auto;gap:.25rem 1rem;"
    "border-top:1px solid #eee;padding:.6rem 0}\n"
    ".words{grid-column:1/-1;font-size:.95rem}\n"
    ".pct{font-size:1.6rem;font-weight:700}.pct small{font-size:.8rem;font-weight:400;color:#555}\n"
    ".met{color:#00703c}.notmet{color:#b10e1e}.none{color:#666}\n"
    ".detail{color:#444;font-size:.85rem}\n"
    ".lines{grid-column:1/-1;font-size:.85rem;color:#444}.lines p{margin:.1rem 0}\n"
    ".measures{margin:0 0 .5rem;color:#444;font-size:.9rem}\n"
    "svg.chart{display:block;width:100%;max-width:22rem;height:auto}\n"
    "@media (min-width:48rem){.promise{grid-template-columns:3fr 1.3fr 1fr}"
    ".words{grid-column:auto}}\n"
    "</style>\n";

/* The promise's lines beside its main one, each with data-line,
 * data-number and data-within, its figure in a child data-figure named as
 * the line. */
static void
dashboard_lines(ch_strbuf *s, const ch_report_promise_row *r)
{
    pub_line lines[MAX_LINES];
    size_t n = row_lines(r, lines);
    if (!n)
        return;
    ch_strbuf_puts(s, "<div class=\"lines\">\n");
    for (size_t i = 0; i < n; i++) {
        const pub_line *l = &lines[i];
        ch_strbuf_printf(s, "<p data-line=\"%s\" data-number=\"%lld\"", l->line,
                         (long long)l->number);
        if (l->judged || l->share)
            ch_strbuf_printf(s, " data-within=\"%lld\"", (long long)l->within);
        ch_strbuf_puts(s, ">");
        ch__report_put_html(s, l->words);
        ch_strbuf_puts(s, ": ");
        if (l->judged || l->share) {
            char pct[16];
            ch__report_fmt_pct(l->pct, pct, sizeof(pct));
            ch_strbuf_printf(s, "<b class=\"%s\" data-figure=\"%s\">%s</b> (%lld of %lld)",
                             l->judged ? met_class(l->met) : "", l->line, pct, (long long)l->within,
                             (long long)l->number);
            if (l->judged && l->met >= 0)
                ch_strbuf_printf(s, " %s", met_words(l->met));
        } else {
            ch_strbuf_printf(s, "<b data-figure=\"%s\">%lld</b>", l->line, (long long)l->number);
        }
        ch_strbuf_puts(s, "</p>\n");
    }
    ch_strbuf_puts(s, "</div>\n");
}

/* The organisation's own measures: each communication-support count the
 * policy lists, and satisfaction when anyone answered. */
static void
org_measures(ch_strbuf *s, const ch_report_view *v, int dashboard)
{
    if (v->support_listed) {
        ch_strbuf_puts(s, dashboard ? "<p class=\"measures\" data-measures=\"support\">"
                                    : "<h2>Communication support</h2>\n<p data-measures="
                                      "\"support\">");
        ch_strbuf_puts(s, "Communication support given: ");
        const char *sep = "";
        for (unsigned bit = 1; bit && bit <= v->support_listed; bit <<= 1) {
            if (!(v->support_listed & bit))
                continue;
            ch_report_support k = ch_report_support_of_policy(bit);
            ch_strbuf_printf(s, "%s<b data-support=\"%s\" data-figure=\"support.%s\">%lld</b> %s",
                             sep, ch_report_support_name(k), ch_report_support_name(k),
                             (long long)v->support[k], support_title(k));
            sep = "; ";
        }
        ch_strbuf_puts(s, "</p>\n");
    }
    const ch_report_satisfaction *sat = &v->satisfaction;
    if (sat->responses) {
        char pct[16];
        ch__report_fmt_pct(ch_report_satisfied_pct(sat), pct, sizeof(pct));
        ch_strbuf_printf(s,
                         "%s<p class=\"measures\" data-measures=\"satisfaction\" "
                         "data-responses=\"%lld\" data-satisfied=\"%lld\">Customer "
                         "satisfaction: <b data-figure=\"satisfied-pct\">%s</b> satisfied (%lld of "
                         "%lld answers scored at least 80%% of the maximum); mean score %.1f%% of "
                         "the maximum</p>\n",
                         dashboard ? "" : "<h2>Customer satisfaction</h2>\n",
                         (long long)sat->responses, (long long)sat->satisfied, pct,
                         (long long)sat->satisfied, (long long)sat->responses,
                         (double)sat->score_pct_sum / (double)sat->responses);
    }
}

/* Delivery of customer notices per channel (report_delivery.h): the rate
 * where receipts came, and "unknown" where none ever comes (file, print). */
static void
delivery_measures(ch_strbuf *s, const ch_report_view *v, int dashboard)
{
    if (!v->delivery.n)
        return;
    ch_strbuf_puts(s, dashboard ? "<div class=\"measures\" data-measures=\"delivery\">"
                                  "Delivery of notices to customers:<ul>\n"
                                : "<h2>Delivery of notices to customers</h2>\n"
                                  "<ul data-measures=\"delivery\">\n");
    for (size_t i = 0; i < v->delivery.n; i++) {
        const ch_report_delivery_row *r = &v->delivery.rows[i];
        double rate = ch_report_delivery_rate(r);
        ch_strbuf_puts(s, "<li data-channel=\"");
        ch__report_put_html(s, r->channel);
        ch_strbuf_printf(s,
                         "\" data-sent=\"%lld\" data-delivered=\"%lld\" data-failed=\"%lld\" "
                         "data-fell-back=\"%lld\">By ",
                         (long long)r->sent, (long long)r->delivered, (long long)r->failed,
                         (long long)r->fell_back);
        ch__report_put_html(s, ch_report_delivery_words(r->channel));
        if (rate < 0) {
            ch_strbuf_printf(s,
                             ": <b data-figure=\"delivery-rate\">unknown</b> (%lld sent; no "
                             "delivery reports come back for this channel, so whether they "
                             "arrived is not known)",
                             (long long)r->sent);
        } else {
            char pct[16];
            ch__report_fmt_pct(rate, pct, sizeof(pct));
            ch_strbuf_printf(s,
                             ": <b data-figure=\"delivery-rate\">%s</b> delivered (%lld of %lld "
                             "with a delivery report; %lld sent, %lld failed, %lld of them sent "
                             "again by another channel)",
                             pct, (long long)r->delivered, (long long)(r->delivered + r->failed),
                             (long long)r->sent, (long long)r->failed, (long long)r->fell_back);
        }
        ch_strbuf_puts(s, "</li>\n");
    }
    ch_strbuf_puts(s, dashboard ? "</ul></div>\n" : "</ul>\n");
}

static void
dashboard_row(ch_strbuf *s, const ch_report_promise_row *r)
{
    char pct[16], target[16];
    ch__report_fmt_pct(ch_report_row_pct(r), pct, sizeof(pct));
    ch__report_fmt_target(r->target_pct, target, sizeof(target));
    int met = ch_report_row_met(r);
    ch_strbuf_puts(s, "<li class=\"promise\" data-promise=\"");
    ch__report_put_html(s, r->id);
    ch_strbuf_printf(s,
                     "\" data-measure=\"%s\" data-received=\"%lld\" data-in-time=\"%lld\" "
                     "data-late=\"%lld\" data-overdue-now=\"%lld\" data-target=\"%s\" "
                     "data-target-source=\"%s\">\n",
                     ch_report_measure_name(r->measure), (long long)r->received,
                     (long long)r->in_time, (long long)r->late, (long long)r->overdue_now, target,
                     r->measure == CH_REPORT_MEASURE_NONE ? ""
                     : r->target_default                  ? "default"
                                                          : "policy");
    ch_strbuf_puts(s, "<div class=\"words\">");
    ch__report_put_html(s, r->promise);
    ch_strbuf_puts(s, "</div>\n");
    if (r->measure == CH_REPORT_MEASURE_NONE) {
        ch_strbuf_printf(s,
                         "<div class=\"pct none\" data-figure=\"pct\">-</div>"
                         "<div class=\"detail\">measured only: <span data-figure=\"received\">%lld"
                         "</span> received</div>\n",
                         (long long)r->received);
    } else {
        /* the result in words beside the colour, and where the target
         * comes from */
        ch_strbuf_printf(s,
                         "<div class=\"pct %s\"><span data-figure=\"pct\">%s</span> "
                         "<strong class=\"result\" data-figure=\"result\">%s</strong> "
                         "<small>target %s%s</small></div>\n",
                         met_class(met), pct, ch_report_row_result(r), target,
                         r->target_default ? " (the default: no target in the policy)" : "");
        if (r->in_time + r->late)
            ch_strbuf_printf(s,
                             "<div class=\"detail\"><span data-figure=\"in-time\">%lld</span> of "
                             "<span data-figure=\"number\">%lld</span> %s in time",
                             (long long)r->in_time, (long long)(r->in_time + r->late),
                             ch__report_number_noun(r->measure));
        else
            ch_strbuf_printf(s, "<div class=\"detail\">no %s yet",
                             ch__report_number_noun(r->measure));
        if (r->overdue_now)
            ch_strbuf_printf(s,
                             "; <span class=\"overdue\" data-figure=\"overdue-now\">%lld</span> "
                             "overdue now",
                             (long long)r->overdue_now);
        ch_strbuf_puts(s, "</div>\n");
    }
    dashboard_lines(s, r);
    ch__report_trend(s, r);
    ch_strbuf_puts(s, "</li>\n");
}

/* A link to the dashboard with month and organisation (either may be ""). */
static void
dash_href(ch_strbuf *s, const char *month, const char *org)
{
    ch_strbuf_puts(s, "/");
    const char *sep = "?";
    if (month && month[0]) {
        ch_strbuf_puts(s, "?month=");
        ch__report_put_html(s, month);
        sep = "&amp;";
    }
    if (org && org[0]) {
        ch_strbuf_printf(s, "%sorganisation=", sep);
        ch__report_put_html(s, org); /* ids are [a-z0-9_-]: nothing to encode */
    }
}

/* Previous and next month, and the organisation filter, as plain links. */
static void
dash_nav(ch_strbuf *s, const ch_report_dash_page *pg)
{
    char words[32];
    ch_strbuf_puts(s, "<nav aria-label=\"Months and organisations\">\n<p>");
    if (pg->shown_month[0]) {
        ch_report_period_words(pg->shown_month, words, sizeof(words));
        ch_strbuf_puts(s, "Showing <b data-figure=\"month\">");
        ch__report_put_html(s, words);
        ch_strbuf_puts(s, "</b>. ");
    }
    if (pg->prev_month[0]) {
        ch_report_period_words(pg->prev_month, words, sizeof(words));
        ch_strbuf_puts(s, "<a data-link=\"prev\" rel=\"prev\" href=\"");
        dash_href(s, pg->prev_month, pg->organisation);
        ch_strbuf_puts(s, "\">Previous month: ");
        ch__report_put_html(s, words);
        ch_strbuf_puts(s, "</a>");
    }
    if (pg->next_month[0]) {
        ch_report_period_words(pg->next_month, words, sizeof(words));
        ch_strbuf_puts(s, " | <a data-link=\"next\" rel=\"next\" href=\"");
        dash_href(s, pg->next_month, pg->organisation);
        ch_strbuf_puts(s, "\">Next month: ");
        ch__report_put_html(s, words);
        ch_strbuf_puts(s, "</a>");
    }
    if (pg->month[0]) {
        ch_strbuf_puts(s, " | <a data-link=\"current\" href=\"");
        dash_href(s, "", pg->organisation);
        ch_strbuf_puts(s, "\">This month</a>");
    }
    ch_strbuf_puts(s, "</p>\n");
    if (pg->norgs) {
        ch_strbuf_puts(s, "<p id=\"orgs-label\">Organisation:</p>\n<ul aria-labelledby=\"orgs-"
                          "label\">\n<li><a data-link=\"org\" data-org-link=\"\" href=\"");
        dash_href(s, pg->month, "");
        ch_strbuf_printf(s, "\"%s>All organisations</a></li>\n",
                         pg->organisation[0] ? "" : " aria-current=\"page\"");
        for (size_t i = 0; i < pg->norgs; i++) {
            int current = strcmp(pg->organisation, pg->orgs[i].id) == 0;
            ch_strbuf_puts(s, "<li><a data-link=\"org\" data-org-link=\"");
            ch__report_put_html(s, pg->orgs[i].id);
            ch_strbuf_puts(s, "\" href=\"");
            dash_href(s, pg->month, pg->orgs[i].id);
            ch_strbuf_printf(s, "\"%s>", current ? " aria-current=\"page\"" : "");
            ch__report_put_html(s, pg->orgs[i].name);
            ch_strbuf_puts(s, "</a></li>\n");
        }
        ch_strbuf_puts(s, "</ul>\n");
    }
    ch_strbuf_puts(s, "</nav>\n");
}

char *
ch_report_html_dashboard(const ch_report_view *views, size_t n, const ch_report_dash_page *pg)
{
    ch_strbuf s = CH_STRBUF_INIT;
    ch_strbuf_puts(&s, page_head);
    ch_strbuf_puts(&s, "<title>Charter performance");
    if (pg->organisation[0] && n == 1) {
        ch_strbuf_puts(&s, ": ");
        ch__report_put_html(&s, views[0].name);
    }
    if (pg->shown_month[0]) {
        char words[32];
        ch_report_period_words(pg->shown_month, words, sizeof(words));
        ch_strbuf_puts(&s, ", ");
        ch__report_put_html(&s, words);
    }
    ch_strbuf_puts(&s, "</title>\n");
    ch_strbuf_puts(&s, page_style);
    ch_strbuf_puts(&s, "</head>\n<body>\n<header><h1>Charter performance</h1>\n");
    /* the work queue's one line ("3 overdue now, 7 due today") */
    if (pg->summary_html && pg->summary_html[0]) {
        ch_strbuf_puts(&s, "<p class=\"summary\" data-figure=\"summary\">");
        ch_strbuf_puts(&s, pg->summary_html);
        ch_strbuf_puts(&s, "</p>\n");
    }
    dash_nav(&s, pg);
    ch_strbuf_puts(&s, "<p>Each line is one promise of a charter: the share of cases within the "
                       "promise in the month, against the promise's target, and whether the "
                       "target was met; then the trend (each bar a month, the dashed line the "
                       "target; its figures are in the table under it). Under it, each further "
                       "line is judged or counted on its own: within the original promise "
                       "(before any extension), the acknowledgement, time to respond (median "
                       "and 90th percentile), and the measures the charter promises.</p>"
                       "</header>\n<main>\n");
    if (!n)
        ch_strbuf_puts(&s, "<p>No organisations: start reporting with report.policy_dir.</p>\n");
    for (size_t i = 0; i < n; i++) {
        const ch_report_view *v = &views[i];
        char period[32];
        ch_report_period_words(v->period, period, sizeof(period));
        ch_strbuf_puts(&s, "<section class=\"org\" data-org=\"");
        ch__report_put_html(&s, v->id);
        ch_strbuf_puts(&s, "\" id=\"org-");
        ch__report_put_html(&s, v->id);
        ch_strbuf_puts(&s, "\" aria-labelledby=\"h-");
        ch__report_put_html(&s, v->id);
        ch_strbuf_puts(&s, "\">\n<h2 id=\"h-");
        ch__report_put_html(&s, v->id);
        ch_strbuf_puts(&s, "\">");
        ch__report_put_html(&s, v->name);
        ch_strbuf_puts(&s,
                       "</h2>\n<p class=\"totals\"><span data-figure=\"period\" data-period=\"");
        ch__report_put_html(&s, v->period);
        ch_strbuf_puts(&s, "\">");
        ch__report_put_html(&s, period);
        ch_strbuf_printf(&s,
                         "</span>: <b data-figure=\"received\">%lld</b> received; "
                         "<b class=\"%s\" data-figure=\"overdue-now\">%lld</b> open and overdue "
                         "now",
                         (long long)v->received, v->overdue_now ? "overdue" : "",
                         (long long)v->overdue_now);
        if (pg->generated && pg->generated[i]) {
            ch_strbuf_puts(&s, ". Figures at <span data-figure=\"generated\">");
            ch__report_put_html(&s, pg->generated[i]);
            ch_strbuf_puts(&s, "</span>");
        }
        ch_strbuf_puts(&s, ".</p>\n");
        org_measures(&s, v, 1);
        delivery_measures(&s, v, 1);
        ch_strbuf_puts(&s, "<ul class=\"promises\">\n");
        for (size_t k = 0; k < v->nrows; k++)
            dashboard_row(&s, &v->rows[k]);
        ch_strbuf_puts(&s, "</ul>\n</section>\n");
    }
    ch_strbuf_puts(&s, "</main>\n</body>\n</html>\n");
    return ch_strbuf_take(&s, NULL);
}

/* ---- the annual publication ---- */

/* The promise's further lines as rows of the same table. */
static void
publication_lines(ch_strbuf *s, const ch_report_promise_row *r)
{
    pub_line lines[MAX_LINES];
    size_t n = row_lines(r, lines);
    for (size_t i = 0; i < n; i++) {
        const pub_line *l = &lines[i];
        char pct[16], target[16];
        ch__report_fmt_pct(l->pct, pct, sizeof(pct));
        ch__report_fmt_target(l->judged ? r->line_target_pct : 0, target, sizeof(target));
        ch_strbuf_puts(s, "<tr data-promise=\"");
        ch__report_put_html(s, r->id);
        ch_strbuf_printf(s, "\" data-line=\"%s\"><td class=\"sub\">", l->line);
        ch__report_put_html(s, l->words);
        ch_strbuf_printf(s, "</td><td class=\"n\">%s</td><td class=\"n\">%lld</td>", target,
                         (long long)l->number);
        if (l->judged || l->share)
            ch_strbuf_printf(s, "<td class=\"n\">%lld</td><td class=\"n\">%s</td>",
                             (long long)l->within, pct);
        else
            ch_strbuf_puts(s, "<td class=\"n\">-</td><td class=\"n\">-</td>");
        ch_strbuf_printf(s, "<td>%s</td></tr>\n", l->judged ? met_words(l->met) : l->shown);
    }
}

char *
ch_report_html_publication(const ch_report_view *v, const char *period)
{
    ch_strbuf s = CH_STRBUF_INIT;
    ch_strbuf_puts(&s, page_head);
    ch_strbuf_puts(&s, "<title>");
    ch__report_put_html(&s, v->name);
    ch_strbuf_puts(&s, ": customer charter performance ");
    ch__report_put_html(&s, period);
    ch_strbuf_puts(&s,
                   "</title>\n<style>\nbody{font-family:system-ui,sans-serif;margin:1rem;"
                   "color:#1d1d1b;line-height:1.4}\ntable{border-collapse:collapse;width:100%}\n"
                   "th,td{border:1px solid #bbb;padding:.4rem;text-align:left;vertical-align:top}\n"
                   "td.n{text-align:right;white-space:nowrap}\ntd.sub{padding-left:1.5rem;color:#"
                   "444}\n</style>\n</head>\n<body>\n<h1>");
    ch__report_put_html(&s, v->name);
    ch_strbuf_puts(&s, ": how we kept our customer charter in ");
    ch__report_put_html(&s, period);
    ch_strbuf_printf(
        &s,
        "</h1>\n<p>We received %lld cases in %s. For each promise in our charter the "
        "table shows how many cases it was judged on, how many of them were dealt with "
        "within the promise, and whether we met our target. Under each promise, its "
        "further lines are each judged or counted on their own: within the original promise "
        "(before any extension), the acknowledgement, how long replies took, and the "
        "measures the charter promises.</p>\n",
        (long long)v->received, period);
    ch_strbuf_puts(&s, "<table>\n<thead><tr><th scope=\"col\">Our promise</th><th scope=\"col\">"
                       "Target</th><th scope=\"col\">Number</th><th scope=\"col\">Within the "
                       "promise</th><th scope=\"col\">% within</th><th scope=\"col\">Result</th>"
                       "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < v->nrows; i++) {
        const ch_report_promise_row *r = &v->rows[i];
        char pct[16], target[16];
        ch__report_fmt_pct(ch_report_row_pct(r), pct, sizeof(pct));
        ch__report_fmt_target(r->target_pct, target, sizeof(target));
        ch_strbuf_puts(&s, "<tr data-promise=\"");
        ch__report_put_html(&s, r->id);
        ch_strbuf_puts(&s, "\"><td>");
        ch__report_put_html(&s, r->promise);
        ch_strbuf_printf(&s, "</td><td class=\"n\">%s</td><td class=\"n\">%lld %s</td>", target,
                         (long long)row_number(r), ch__report_number_noun(r->measure));
        if (r->measure == CH_REPORT_MEASURE_NONE)
            ch_strbuf_puts(&s, "<td class=\"n\">-</td><td class=\"n\">-</td>");
        else
            ch_strbuf_printf(&s, "<td class=\"n\">%lld</td><td class=\"n\">%s</td>",
                             (long long)r->in_time, pct);
        ch_strbuf_printf(&s, "<td>%s</td></tr>\n", ch_report_row_result(r));
        publication_lines(&s, r);
    }
    ch_strbuf_puts(&s, "</tbody>\n</table>\n");
    org_measures(&s, v, 0);
    delivery_measures(&s, v, 0);
    ch_strbuf_puts(&s, "</body>\n</html>\n");
    return ch_strbuf_take(&s, NULL);
}

/* One CSV line of the publication. */
static void
csv_line(ch_strbuf *s, const char *id, const char *words, const pub_line *l, double target)
{
    put_csv(s, id);
    ch_strbuf_puts(s, ",");
    put_csv(s, words);
    ch_strbuf_printf(s, ",%s,", l->line);
    if (l->judged) {
        char t[16];
        ch__report_fmt_target(target, t, sizeof(t));
        t[strlen(t) - 1] = '\0'; /* the figure without '%' */
        ch_strbuf_puts(s, t);
    }
    ch_strbuf_printf(s, ",%lld,", (long long)l->number);
    if (l->judged || l->share)
        ch_strbuf_printf(s, "%lld", (long long)l->within);
    ch_strbuf_puts(s, ",");
    if (l->pct >= 0)
        ch_strbuf_printf(s, "%.1f", l->pct);
    ch_strbuf_printf(s, ",%s\r\n", l->judged ? met_words(l->met) : l->result);
}

char *
ch_report_csv_publication(const ch_report_view *v)
{
    ch_strbuf s = CH_STRBUF_INIT;
    ch_strbuf_puts(&s, "promise_id,promise,line,target_pct,number,within_target,pct_within,"
                       "result\r\n");
    for (size_t i = 0; i < v->nrows; i++) {
        const ch_report_promise_row *r = &v->rows[i];
        put_csv(&s, r->id);
        ch_strbuf_puts(&s, ",");
        put_csv(&s, r->promise);
        ch_strbuf_printf(&s, ",%s", ch_report_measure_name(r->measure));
        double pct = ch_report_row_pct(r);
        if (r->measure == CH_REPORT_MEASURE_NONE) {
            ch_strbuf_printf(&s, ",,%lld,,,", (long long)r->received);
        } else {
            char target[16];
            ch__report_fmt_target(r->target_pct, target, sizeof(target));
            target[strlen(target) - 1] = '\0'; /* the figure without '%' */
            ch_strbuf_printf(&s, ",%s,%lld,%lld,", target, (long long)(r->in_time + r->late),
                             (long long)r->in_time);
            if (pct >= 0)
                ch_strbuf_printf(&s, "%.1f", pct);
            ch_strbuf_puts(&s, ",");
        }
        ch_strbuf_puts(&s, ch_report_row_result(r));
        ch_strbuf_puts(&s, "\r\n");
        pub_line lines[MAX_LINES];
        size_t n = row_lines(r, lines);
        for (size_t k = 0; k < n; k++)
            csv_line(&s, r->id, r->promise, &lines[k], r->line_target_pct);
    }
    /* the organisation's own measures */
    for (unsigned bit = 1; bit && bit <= v->support_listed; bit <<= 1) {
        if (!(v->support_listed & bit))
            continue;
        ch_report_support k = ch_report_support_of_policy(bit);
        pub_line l = {.pct = -1};
        char line[48], words[96];
        snprintf(line, sizeof(line), "communication_support.%s", ch_report_support_name(k));
        snprintf(words, sizeof(words), "Communication support: %s", support_title(k));
        l.line = line;
        l.number = v->support[k];
        snprintf(l.result, sizeof(l.result), "counted");
        csv_line(&s, "organisation", words, &l, 0);
    }
    if (v->satisfaction.responses) {
        pub_line l = {.line = "satisfaction", .share = 1};
        l.number = v->satisfaction.responses;
        l.within = v->satisfaction.satisfied;
        l.pct = ch_report_satisfied_pct(&v->satisfaction);
        snprintf(l.result, sizeof(l.result), "measured");
        csv_line(&s, "organisation",
                 "Customer satisfaction: satisfied (a score of at least 80% of the maximum)", &l,
                 0);
    }
    for (size_t i = 0; i < v->delivery.n; i++) {
        const ch_report_delivery_row *r = &v->delivery.rows[i];
        pub_line l = {.share = 1};
        char line[48], words[200];
        snprintf(line, sizeof(line), "delivery.%s", r->channel);
        snprintf(words, sizeof(words),
                 "Notices to customers by %s: delivered of those with a delivery report (%lld "
                 "sent, %lld failed, %lld sent again by another channel)",
                 ch_report_delivery_words(r->channel), (long long)r->sent, (long long)r->failed,
                 (long long)r->fell_back);
        l.line = line;
        l.number = r->delivered + r->failed;
        l.within = r->delivered;
        l.pct = ch_report_delivery_rate(r);
        snprintf(l.result, sizeof(l.result), "%s",
                 l.pct < 0 ? "unknown: no delivery reports" : "measured");
        csv_line(&s, "organisation", words, &l, 0);
    }
    return ch_strbuf_take(&s, NULL);
}
