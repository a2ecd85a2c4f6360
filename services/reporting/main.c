/*
 * charter-reporting: counts what happened, per organisation, from the event
 * stream, and publishes the charter's figures four ways: GET /v1/report
 * (JSON, with one line per promise), the HTML dashboard at /, report
 * snapshots on charter.reports.v1, and each completed period's publication
 * (GET /v1/publication, as the policy's reporting.publish says).
 *
 * Each record is counted once and moves its case's figures by the deltas
 * report_agg computes (counting.c), all in Redis (store.c), so a
 * redelivered record changes nothing and a replay rebuilds the same
 * figures. The readers (api.c, dashboard.c, snapshots.c) sum those counters
 * through the pure domain (report_table, report_view, report_html).
 * Policies come from report.policy_dir through the runtime's policy store
 * (loaded before init, re-read on SIGHUP all or nothing); the directory is
 * optional, and without one nothing is judged "in time".
 *
 * This file is the service's descriptor: its configuration, metrics, the
 * store, and the wiring of the handlers above.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "charter/errors.h"
#include "charter/topics.h"
#include "charter/v1/case_event.pb-c.h"
#include "charter/v1/notification.pb-c.h"
#include "charter/v1/timer.pb-c.h"
#include "reporting.h"
#include "store.h"

#define REPORT_RETENTION_MIN 6 /* months (report_init says why) */

static const ch_config_entry report_keys[] = {
    CH_CFG_INT(report_config, dedupe_ttl_s, "report.dedupe_ttl_s", "2764800",
               "how long an event id is remembered so a redelivered event is not counted twice",
               3600, 315360000),
    CH_CFG_STR(report_config, policy_dir, "report.policy_dir", "",
               "directory of policy files (<organisation>.yaml) that say what is in time; empty: "
               "none"),
    CH_CFG_INT(report_config, case_ttl_s, "report.case_ttl_s", "34560000",
               "how long a case's reporting state is kept after its last record", 86400, 315360000),
    CH_CFG_INT(report_config, snapshot_interval_s, "report.snapshot_interval_s", "60",
               "every organisation's current day, month and year are republished to "
               "charter.reports.v1 at least this often (changed figures go out within a second)",
               1, 3600),
    CH_CFG_INT(report_config, target_pct, "report.target_pct", "100",
               "the share of cases (percent) a timed promise is held to on the dashboard and "
               "in the annual publication when its policy gives no target:",
               1, 100),
    CH_CFG_INT(report_config, publish_delay_s, "report.publish_delay_s", "604800",
               "how long after a period ends its publication is written for good (the policy's "
               "reporting.publish), so replies and records of its last days are in",
               0, 7776000),
    CH_CFG_INT(report_config, retention_months, "report.retention_months", "36",
               "how many months after a period (day, month, year) ends its figures are kept in "
               "Redis for the dashboard, GET /v1/report and snapshots: 0 (for ever) or at least 6 "
               "(written publications are kept for ever either way)",
               0, 1200),
    CH_CFG_STR(report_config, publication_dir, "report.publication_dir", "",
               "folder where each written publication is also kept as <organisation>/<period>.json "
               "(the JSON of GET /v1/publication), so a lost Redis cannot lose what was "
               "published: a publication Redis no longer holds is restored from its file; "
               "empty: Redis only"),
};

static const ch_metric_def report_metrics[] = {
    CH_COUNTER(reporting, m_conflicts, "charter_report_case_conflicts_total",
               "case updates retried because the case changed meanwhile"),
    CH_COUNTER(reporting, m_counted, "charter_report_events_counted_total", "events counted"),
    CH_COUNTER(reporting, m_repeats, "charter_report_events_repeated_total",
               "redelivered events recognised and not counted again"),
    CH_COUNTER(reporting, m_snapshots, "charter_report_snapshots_total",
               "report snapshots written to " CH_TOPIC_REPORTS),
    CH_COUNTER(reporting, m_snapshot_failures, "charter_report_snapshot_failures_total",
               "report snapshots not written (retried on a later tick)"),
    CH_COUNTER(reporting, m_publications, "charter_report_publications_total",
               "publications of completed periods written (reporting.publish)"),
};

static const ch_route routes[] = {
    {CH_HTTP_GET, "/v1/report", 0, report_get_report, 0, NULL},
    {CH_HTTP_GET, "/v1/publication", 0, report_get_publication, 0, NULL},
    {CH_HTTP_GET, "/v1/cases", 0, report_get_cases, 0, NULL},
    {CH_HTTP_GET, "/v1/cases/", 1, report_get_case_json, 0, NULL},
    {CH_HTTP_GET, "/queue", 0, report_get_queue, 0, NULL},
    {CH_HTTP_GET, "/cases/", 1, report_get_case_html, 0, NULL},
    {CH_HTTP_GET, "/", 0, report_get_dashboard, 0, NULL},
};

static const ch_subscription subs[] = {
    {CH_TOPIC_CONTACT_EVENTS, &charter__v1__case_event__descriptor},
    {CH_TOPIC_SLA_TIMERS, &charter__v1__timer_fired__descriptor},
    {CH_TOPIC_NOTIFY_OUTCOMES, &charter__v1__notification_outcome__descriptor},
};

static int
report_init(ch_runtime *rt, const void *config, void **svc, char *errstr, size_t errstr_size)
{
    reporting *r = *svc; /* the runtime's, zeroed, with the metrics registered */
    const report_config *cfg = config;
    if (cfg->retention_months > 0 && cfg->retention_months < REPORT_RETENTION_MIN) {
        snprintf(errstr, errstr_size,
                 "report.retention_months is %lld: use 0 (keep every period) or at least %d, "
                 "since a quarter's publication, written up to report.publish_delay_s (at most "
                 "90 days) after the quarter ends, reads the quarter's first month",
                 (long long)cfg->retention_months, REPORT_RETENTION_MIN);
        return CH_EINVAL;
    }
    if (!(r->store = report_store_new(rt, (int)cfg->retention_months))) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    r->rt = rt;
    r->cfg = config;
    return 0;
}

/* SIGHUP, after the policy store took the new policies: republish the
 * current periods under the new targets. */
static void
report_reload(void *svc)
{
    reporting *r = svc;
    r->last_refresh_ms = 0;
}

static void
report_fini(void *svc)
{
    reporting *r = svc;
    report_snapshots_fini(r);
    report_publish_fini(r);
    report_store_free(r->store);
}

static const ch_service report_service = {
    .name = "reporting",
    .env_prefix = "CHARTER_REPORT_",
    .default_http_listen = "127.0.0.1:8081",
    .config = report_keys,
    .nconfig = CH_COUNTOF(report_keys),
    .config_size = sizeof(report_config),
    .svc_size = sizeof(reporting),
    .metrics = report_metrics,
    .nmetrics = CH_COUNTOF(report_metrics),
    .subs = subs,
    .nsubs = CH_COUNTOF(subs),
    .order_by_key = 1, /* a case's records change its state in order */
    .redis_reader = 1, /* the readers off the records' queue (store.c, store_pages.c) */
    .routes = routes,
    .nroutes = CH_COUNTOF(routes),
    .init = report_init,
    .on_message = report_on_message,
    .policy_dir_key = "report.policy_dir",
    .policy_dir_optional = 1,
    .policy_reloads_metric = "charter_report_policy_reloads_total",
    .reload = report_reload,
    .tick = report_tick,
    .fini = report_fini,
};

int
main(int argc, char **argv, char **envp)
{
    return ch_runtime_main(&report_service, argc, argv, envp);
}
