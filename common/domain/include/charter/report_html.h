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
 * the cases overdue now; under it the promise's further lines
 * (report_view.h: the original promise, the acknowledgement, time to
 * respond, the measures it declares, reviews); under each organisation's
 * totals its communication-support counts and satisfaction. `generated` is
 * shown as the time of the figures (e.g. "2026-11-23 10:15 UTC").
 * Malloc'd, NULL on ENOMEM.
 *
 * Hooks for tests and scrapers: each organisation is
 * <section data-org="ID">; its totals are elements with
 * data-figure="received" / "overdue-now"; each promise is an element with
 * data-promise="ID" and data-measure, data-in-time, data-late,
 * data-overdue-now, data-target attributes, its share in a child with
 * data-figure="pct" (text "66.7%" or "-"); each further line is
 * <p data-line="LINE" data-number="N" [data-within="W"]> with its figure in
 * data-figure="LINE" (LINE as the CSV's `line` below); support counts are
 * data-support="KIND", satisfaction data-measures="satisfaction".
 */
char *ch_report_html_dashboard(const ch_report_view *views, size_t n, const char *generated);

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
