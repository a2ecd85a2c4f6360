/*
 * charter-reporting's private interfaces: the one context every handler is
 * given, and what each file offers the others.
 *
 *   main.c       the descriptor: config, metrics, init, reload, fini, wiring
 *   counting.c   a record -> counts, its case and figures (store.h)
 *   api.c        GET /v1/report: JSON figures and one line per promise
 *   dashboard.c  GET /: the HTML dashboard
 *   queue.c      GET /queue and /v1/cases: the work queue; the dashboard's summary line
 *   case_view.c  GET /cases/<reference> and /v1/cases/<reference>: a case page
 *   casepage.c   a case's page record (casepage.h, pure)
 *   snapshots.c  changed periods -> ReportSnapshot on charter.reports.v1
 *   publication.c  GET /v1/publication; each completed period's publication
 *   store.c      every Redis key and script; the loaders the readers share
 *                (store_pages.c: the page records, reference index and queue reads;
 *                store_record.c: a record's two scripts)
 *   periods.c    which period's hash a counter goes to; retention (pure)
 *
 * The policies are the runtime's (policy_store.h): nothing keeps a pointer
 * into ch_runtime_orgs() across a loop turn, since a reload swaps the set,
 * so each handler looks its organisation up by id when Redis answers.
 */
#ifndef CHARTER_REPORTING_H
#define CHARTER_REPORTING_H

#include <stddef.h>
#include <stdint.h>

#include "charter/case_clock.h"
#include "charter/policy_store.h"
#include "charter/report_keys.h"
#include "charter/runtime.h"
#include "charter/strbuf.h"
#include "charter/tz.h"
#include "counting.h"

struct evhttp_request;

typedef struct {
    int64_t dedupe_ttl_s;
    char *policy_dir;
    int64_t case_ttl_s;
    int64_t snapshot_interval_s;
    int64_t target_pct;
    int64_t publish_delay_s;
    int64_t retention_months;
    char *publication_dir; /* "": publications in Redis only */
} report_config;

/* An organisation's period whose snapshot is due. */
typedef struct {
    char org[REPORT_ORG_MAX];
    char period[CH_REPORT_KEY_PERIOD_MAX];
} report_org_period;

typedef struct {
    report_org_period *v;
    size_t n, cap;
    size_t *slot; /* open addressing over v (index + 1; 0: empty), nslot a power of 2 */
    size_t nslot;
} report_org_periods;

typedef struct report_round report_round;
typedef struct report_pub_round report_pub_round;
typedef struct report_store report_store; /* store.h */

typedef struct reporting {
    ch_runtime *rt;
    const report_config *cfg;
    report_store *store; /* every Redis key and script (store.h) */
    ch_metric *m_counted, *m_repeats, *m_conflicts;
    ch_metric *m_snapshots, *m_snapshot_failures, *m_publications;
    report_org_periods dirty;                   /* changed since their last snapshot */
    char known[CH_ORG_SET_MAX][REPORT_ORG_MAX]; /* organisations with figures, for the refresh */
    size_t nknown;
    int64_t last_refresh_ms;
    report_round *round;         /* the snapshots being written, or NULL */
    ch_timer *round_timer;       /* the round's next slice, at the next loop turn */
    report_pub_round *pub_round; /* the publications being written, or NULL */
    int migrating;               /* report_store_migrate is running */
    int migrated; /* no figures hash of before per-period hashes is left: the readers may read */
} reporting;

/* counting.c: a record from any of the three topics (ch_service.on_message). */
void report_on_message(void *svc, ch_msg *m, const ProtobufCMessage *msg);

/* api.c: GET /v1/report?organisation=ID[&channel=&type=&from=&to=&granularity=] */
void report_get_report(void *svc, struct evhttp_request *req, const char *rest);
/* The Retry-After of a reader's 503 when Redis is not answering (api.c,
 * dashboard.c: ch_http_reply_unavailable). */
enum { REPORT_RETRY_AFTER_S = 5 };
/* 1 when the readers may read; else 0, having answered req 503: the figures
 * of before per-period hashes are still being moved (snapshots.c starts it). */
int report_readable(reporting *r, struct evhttp_request *req);

/* dashboard.c: GET /[?month=YYYY-MM] */
void report_get_dashboard(void *svc, struct evhttp_request *req, const char *rest);
/* An HTML route's error: a page (report_html.h) with the title, the message
 * and a link back to the dashboard, never JSON (dashboard.c). */
void report_reply_html_error(struct evhttp_request *req, int status, const char *title,
                             const char *message);

/* queue.c: GET /queue[?organisation=ID] (HTML) and GET
 * /v1/cases?organisation=ID[&status=] (JSON): the work queue. */
void report_get_queue(void *svc, struct evhttp_request *req, const char *rest);
void report_get_cases(void *svc, struct evhttp_request *req, const char *rest);
/* The pieces the queue and the case pages share (queue.c). */
void report_page_head(ch_strbuf *b, const char *title_esc);
void report_put_esc(ch_strbuf *b, const char *s);
/* An HTML error page (html 1) or the JSON error. */
void report_reply_error(struct evhttp_request *req, int html, int status, const char *code,
                        const char *msg);
/* An instant in the zone, to the second: "2026-12-07T17:00:00+00:00";
 * in words: "Monday 7 December 2026, 17:00"; in UTC: "...Z". */
void report_local_iso(const ch_tz *tz, int64_t ms, char *buf, size_t bufsz);
void report_local_when(const ch_tz *tz, int64_t ms, char *buf, size_t bufsz);
void report_utc_iso(int64_t ms, char *buf, size_t bufsz);

/* The work queues' line at the top of the dashboard (queue.c): per
 * organisation of ids (in that order), a link to its queue, "Derby Homes: 3
 * overdue now, 7 due today" (its local day), as trusted HTML phrasing
 * content (malloc'd; the caller frees) or NULL (none, or Redis did not
 * answer: the dashboard goes without). done runs exactly once. */
typedef void (*report_summary_fn)(void *opaque, char *html);
void report_queue_summary(reporting *r, const char (*ids)[64], size_t n, int64_t now_ms,
                          report_summary_fn done, void *opaque);

/* case_view.c: GET /cases/<reference> (HTML) and GET /v1/cases/<reference>. */
void report_get_case_html(void *svc, struct evhttp_request *req, const char *rest);
void report_get_case_json(void *svc, struct evhttp_request *req, const char *rest);

/* snapshots.c: (org, period) is due a snapshot (once; beyond a bound it is
 * left to the periodic refresh, which covers the current periods). */
void report_mark_dirty(reporting *r, const char *org, const char *period);
/* ch_service.tick: the periodic refresh and one snapshot round at a time. */
void report_tick(void *svc, int64_t now_ms);
/* Frees what the snapshots hold (at fini). */
void report_snapshots_fini(reporting *r);

/* publication.c: GET /v1/publication?organisation=ID[&period=P][&format=] */
void report_get_publication(void *svc, struct evhttp_request *req, const char *rest);
/* The completed periods' publications not yet written are written (one
 * round at a time; from report_tick's refresh). */
void report_publish_tick(reporting *r, int64_t now_ms);
/* publication_files.c, report.publication_dir: given org's written
 * publications in Redis (stored[0..n)), copies each one without a file to
 * its file, and puts back into Redis each file whose period Redis lacks (a
 * lost or older Redis). Fire and forget; the puts are sent before anything
 * the caller sends next, and errors are logged. Nothing without a folder. */
void report_pubfile_sync(reporting *r, const char *org, const char (*stored)[16], size_t n);
void report_publish_fini(reporting *r);

#endif
