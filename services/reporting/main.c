/*
 * charter-reporting: counts what happened, per organisation, from the event
 * stream, and publishes the charter's figures three ways: GET /v1/report
 * (JSON, with one line per promise), the HTML dashboard at / and report
 * snapshots on charter.reports.v1.
 *
 * Each record is counted once and moves its case's figures by the deltas
 * report_agg computes (counting.c), all in Redis (store.c), so a
 * redelivered record changes nothing and a replay rebuilds the same
 * figures. The readers (api.c, dashboard.c, snapshots.c) sum those counters
 * through the pure domain (report_table, report_view, report_html).
 * Policies come from report.policy_dir (re-read on SIGHUP); without one
 * nothing is judged "in time".
 *
 * This file is the service's descriptor: its configuration, the policies'
 * load and reload, metrics, and the wiring of the handlers above.
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

static const ch_config_entry report_keys[] = {
    {"report.dedupe_ttl_s", CH_CFG_INT, "2764800", offsetof(report_config, dedupe_ttl_s),
     "how long an event id is remembered so a redelivered event is not counted twice", 3600,
     315360000, NULL},
    {"report.policy_dir", CH_CFG_STRING, "", offsetof(report_config, policy_dir),
     "directory of policy files (<organisation>.yaml) that say what is in time; empty: none", 0, 0,
     NULL},
    {"report.case_ttl_s", CH_CFG_INT, "34560000", offsetof(report_config, case_ttl_s),
     "how long a case's reporting state is kept after its last record", 86400, 315360000, NULL},
    {"report.snapshot_interval_s", CH_CFG_INT, "60", offsetof(report_config, snapshot_interval_s),
     "every organisation's current day, month and year are republished to charter.reports.v1 at "
     "least this often (changed figures go out within a second)",
     1, 3600, NULL},
    {"report.target_pct", CH_CFG_INT, "100", offsetof(report_config, target_pct),
     "the share of cases (percent) each timed promise is held to on the dashboard and in the "
     "annual publication",
     1, 100, NULL},
};

static const ch_route routes[] = {
    {CH_HTTP_GET, "/v1/report", 0, report_get_report},
    {CH_HTTP_GET, "/", 0, report_get_dashboard},
};

static const ch_subscription subs[] = {
    {CH_TOPIC_CONTACT_EVENTS, &charter__v1__case_event__descriptor},
    {CH_TOPIC_SLA_TIMERS, &charter__v1__timer_fired__descriptor},
    {CH_TOPIC_NOTIFY_OUTCOMES, &charter__v1__notification_outcome__descriptor},
};

static int
report_init(ch_runtime *rt, const void *config, void **svc, char *errstr, size_t errstr_size)
{
    reporting *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    r->rt = rt;
    r->cfg = config;
    int rc = r->cfg->policy_dir[0] ? ch_org_set_load(r->cfg->policy_dir, "report.policy_dir",
                                                     &r->orgs, errstr, errstr_size)
                                   : 0;
    if (rc != 0) {
        free(r);
        return rc;
    }
    if (r->orgs.n)
        CH_LOG_INFO(ch_runtime_log(rt), "policies loaded", CH_STR("dir", r->cfg->policy_dir),
                    CH_INT("organisations", r->orgs.n));
    const struct {
        ch_metric **m;
        const char *name, *help;
    } metrics[] = {
        {&r->m_conflicts, "charter_report_case_conflicts_total",
         "case updates retried because the case changed meanwhile"},
        {&r->m_counted, "charter_report_events_counted_total", "events counted"},
        {&r->m_repeats, "charter_report_events_repeated_total",
         "redelivered events recognised and not counted again"},
        {&r->m_reloads, "charter_report_policy_reloads_total",
         "successful policy reloads (SIGHUP)"},
        {&r->m_snapshots, "charter_report_snapshots_total",
         "report snapshots written to " CH_TOPIC_REPORTS},
        {&r->m_snapshot_failures, "charter_report_snapshot_failures_total",
         "report snapshots not written (retried on a later tick)"},
    };
    for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
        *metrics[i].m = ch_metric_counter(rt, metrics[i].name, metrics[i].help);
    *svc = r;
    return 0;
}

/* SIGHUP: the policy directory again, all or nothing (as at start-up). */
static void
report_reload(void *svc)
{
    reporting *r = svc;
    if (!r->cfg->policy_dir[0]) {
        CH_LOG_WARN(ch_runtime_log(r->rt), "reload: no report.policy_dir; nothing to reload");
        return;
    }
    char err[1024];
    ch_org_set fresh;
    if (ch_org_set_load(r->cfg->policy_dir, "report.policy_dir", &fresh, err, sizeof(err)) != 0) {
        CH_LOG_ERROR(ch_runtime_log(r->rt), "policy reload refused; keeping the running policies",
                     CH_STR("error", err));
        return;
    }
    /* Nothing keeps a pointer into the old set across a loop turn (reporting.h). */
    ch_org_set old = r->orgs;
    r->orgs = fresh;
    r->last_refresh_ms = 0; /* republish the current periods under the new targets */
    ch_metric_add(r->m_reloads, 1);
    CH_LOG_INFO(ch_runtime_log(r->rt), "policies reloaded", CH_INT("organisations", fresh.n));
    ch_org_set_free(&old);
}

static void
report_fini(void *svc)
{
    reporting *r = svc;
    report_snapshots_fini(r);
    ch_org_set_free(&r->orgs);
    free(r);
}

static const ch_service report_service = {
    .name = "reporting",
    .env_prefix = "CHARTER_REPORT_",
    .default_http_listen = "127.0.0.1:8081",
    .config = report_keys,
    .nconfig = sizeof(report_keys) / sizeof(report_keys[0]),
    .config_size = sizeof(report_config),
    .subs = subs,
    .nsubs = sizeof(subs) / sizeof(subs[0]),
    .routes = routes,
    .nroutes = sizeof(routes) / sizeof(routes[0]),
    .init = report_init,
    .on_message = report_on_message,
    .reload = report_reload,
    .tick = report_tick,
    .fini = report_fini,
};

int
main(int argc, char **argv, char **envp)
{
    return ch_runtime_main(&report_service, argc, argv, envp);
}
