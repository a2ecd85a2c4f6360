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

#include "charter/report_view.h"

/* s with & < > " ' as entities; malloc'd, NULL on ENOMEM. */
char *ch_report_html_escape(const char *s);

/*
 * The dashboard: one section per organisation, one line per promise with
 * the period's % within against the target, a trend chart (inline SVG) and
 * the cases overdue now. `generated` is shown as the time of the figures
 * (e.g. "2026-11-23 10:15 UTC"). Malloc'd, NULL on ENOMEM.
 *
 * Hooks for tests and scrapers: each organisation is
 * <section data-org="ID">; its totals are elements with
 * data-figure="received" / "overdue-now"; each promise is an element with
 * data-promise="ID" and data-measure, data-in-time, data-late,
 * data-overdue-now, data-target attributes, its share in a child with
 * data-figure="pct" (text "66.7%" or "-").
 */
char *ch_report_html_dashboard(const ch_report_view *views, size_t n, const char *generated);

/*
 * The annual publication of one organisation's charter performance for
 * `year` as a complete HTML page (one table row per promise: the promise in
 * words, target, number, number within, % within, met / not met), or as CSV
 * with the header
 *   promise_id,promise,target_pct,number,within_target,pct_within,result
 * (result: "met", "not met", "no cases" or "measured only"; target_pct and
 * pct_within empty where there is nothing to judge; pct_within to one
 * decimal place). Lines end with CRLF as RFC 4180 says. Malloc'd, NULL on
 * ENOMEM.
 */
char *ch_report_html_publication(const ch_report_view *v, const char *year);
char *ch_report_csv_publication(const ch_report_view *v);

#endif
