/*
 * What the dashboard's renderers share (report_html.c, report_dash.c): the
 * HTML escape and the figure formats, so a trend's table and the promise
 * line above it write a share, a target and a noun the same way.
 *
 * Domain-private.
 */
#ifndef CHARTER_REPORT_HTML_INT_H
#define CHARTER_REPORT_HTML_INT_H

#include <stddef.h>

#include "charter/report_view.h"
#include "charter/strbuf.h"

/* text with & < > " ' as entities */
void ch__report_put_html(ch_strbuf *s, const char *text);
/* "66.7%", or "-" for a negative share */
void ch__report_fmt_pct(double pct, char *buf, size_t bufsz);
/* "80%", "95.5%", or "-" for none */
void ch__report_fmt_target(double target, char *buf, size_t bufsz);
/* "replies", "calls answered", ...: what a row's number counts */
const char *ch__report_number_noun(ch_report_measure m);
/* A row's trend: a chart for the eye (aria-hidden: the same figures follow
 * as text), month labels under its bars, a caption that says what it shows
 * and how many months met the target, and a table of the months' figures. */
void ch__report_trend(ch_strbuf *s, const ch_report_promise_row *r);

#endif
