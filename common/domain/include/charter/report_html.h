/*
 * The per-promise view (report_view.h) rendered: the reporting service's
 * HTML dashboard and the annual publication (HTML or CSV) that charterctl
 * writes.
 *
 * Rendering escapes every text that came from outside (names, promise
 * words, ids) for HTML, or quotes it for CSV. The HTML has no external
 * assets: inline CSS, inline SVG charts, no scripts; figures carry data-*
 * attributes so a test (or a screen reader's user) finds them without
 * parsing prose.
 *
 * Pure: values in, malloc'd text out; no I/O, no clock reads.
 */
#ifndef CHARTER_REPORT_HTML_H
#define CHARTER_REPORT_HTML_H

#include <stddef.h>
#include <stdint.h>

#include "charter/report_view.h"
#include "charter/tz.h"

/* s with & < > " ' as entities; malloc'd, NULL on ENOMEM. */
char *ch_report_html_escape(const char *s);

/* An organisation the dashboard's filter links to. */
typedef struct {
    const char *id, *name;
} ch_report_org_link;

/* What the dashboard page shows besides the views. Strings may be "" (none);
 * none may be NULL but summary_html and generated. */
typedef struct {
    /* per view: when its figures were read, in its own local time
     * (ch_report_local_time) */
    const char *const *generated;
    const char *month;              /* the month asked for ("2026-11"), "" for each one's current */
    const char *shown_month;        /* the month the previous/next links count from */
    const char *prev_month;         /* "" for no link */
    const char *next_month;         /* "" for no link (the month shown is the current one) */
    const char *organisation;       /* the filter's organisation id, "" for all */
    const ch_report_org_link *orgs; /* every organisation, for the filter's links */
    size_t norgs;
    /* trusted HTML for the line at the top ("3 overdue now, 7 due today"),
     * from the work queue; NULL or "" for none */
    const char *summary_html;
} ch_report_dash_page;

/*
 * The dashboard: navigation (previous and next month, each organisation or
 * all, as plain links with ?month= and ?organisation=), then one section per
 * organisation, one line per promise with the period's % within against the
 * promise's target and the result in words ("met", "not met", "no cases"),
 * a trend where something is judged (report_dash.c: a chart hidden from assistive technology, a
 * caption saying what it shows, and a table of the months' figures) and the
 * cases overdue now; under it the promise's further lines (report_view.h:
 * the original promise, the acknowledgement, time to respond, the measures
 * it declares, reviews); under each organisation's totals its
 * communication-support counts and satisfaction. Malloc'd, NULL on ENOMEM.
 *
 * Hooks for tests and scrapers: each organisation is
 * <section data-org="ID">; its totals are elements with
 * data-figure="received" / "overdue-now" / "generated"; each promise is an
 * element with data-promise="ID" and data-measure, data-in-time, data-late,
 * data-overdue-now, data-target, data-target-source ("policy" or
 * "default") attributes, its share in a child with data-figure="pct" (text
 * "66.7%" or "-"), its result in data-figure="result"; each trend month a
 * <tr data-period="2026-11">; each further line is
 * <p data-line="LINE" data-number="N" [data-within="W"]> with its figure in
 * data-figure="LINE" (LINE as the CSV's `line` below); support counts are
 * data-support="KIND", satisfaction data-measures="satisfaction"; the
 * navigation's links data-link="prev" / "next" / "org".
 */
char *ch_report_html_dashboard(const ch_report_view *views, size_t n,
                               const ch_report_dash_page *page);

/* An HTML error page: title as its heading, message under it, and a link
 * back (back_href, back_text). Malloc'd, NULL on ENOMEM. */
char *ch_report_html_error(int status, const char *title, const char *message,
                           const char *back_href, const char *back_text);

/* "2026-11" as "November 2026"; any other period as it is. */
void ch_report_period_words(const char *period, char *buf, size_t bufsz);
/* The month delta months from month ("2026-01", -1 -> "2025-12"): 0, or -1
 * when month is not a month. */
int ch_report_month_step(const char *month, int delta, char *out, size_t outsz);
/* ms as local time in tz (UTC when NULL), to the minute:
 * "5 December 2026, 17:14 (Europe/London)". */
void ch_report_local_time(const ch_tz *tz, int64_t ms, char *buf, size_t bufsz);

/*
 * The publication of one organisation's charter performance for `period`
 * ("2025", "2026-Q1", "2026-11") as a complete HTML page (one table row per
 * promise line: the promise in words, target, number, number within,
 * % within, result), or as CSV with the header
 *   promise_id,promise,line,target_pct,number,within_target,pct_within,result
 * Each promise's first line is the one it is judged by (line: its measure
 * name; result "met", "not met", "no cases" or "measured only"); then its
 * further lines: answered_original, acknowledged, callbacks_at_agreed_time
 * and reviews (judged: met / not met / no cases), first_contact_resolution
 * (of calls answered and visitors seen), callbacks_made (of call-backs
 * promised), appointments_kept and satisfaction (shares: "measured"),
 * time_to_respond_median and _p90 (number = the value, result = its unit),
 * and counts (not_acknowledged, callbacks_not_made, appointments_missed,
 * ..._cancelled_by_organisation, ..._cancelled_by_customer, ..._rebooked,
 * ..._to_come, communication_support, reviews_overdue: "counted"). Then the
 * organisation's own, promise_id "organisation":
 * communication_support.<kind> per kind its policy lists, and satisfaction
 * when anyone answered. target_pct and pct_within are empty where there is
 * nothing to judge; pct_within to one decimal place. Lines end with CRLF as
 * RFC 4180 says. Malloc'd, NULL on ENOMEM.
 */
char *ch_report_html_publication(const ch_report_view *v, const char *period);
char *ch_report_csv_publication(const ch_report_view *v);

#endif
