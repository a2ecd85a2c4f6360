/*
 * charter-sla-timer: keeps every case's timers in step with its
 * organisation's policy and fires them to charter.sla.timers.v1.
 *
 * This file is the runtime descriptor and its wiring: the config table, the
 * policies, the timer store, the metrics. The work is in the core library:
 * case_sync.c (case events in), timer_plan.c (what an event changes),
 * timer_store.c (durable timers in Redis), fire.c (due timers out), and
 * timer_keys.c (the Redis names, shared with charterctl).
 *
 * Policies are read from sla.policy_dir at start and again on SIGHUP; a
 * directory with any bad policy is refused as a whole and the running set
 * is kept.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/topics.h"
#include "charter/v1/case_event.pb-c.h"
#include "sla.h"
#include "timer_keys.h"

/* One topic: the store keeps one set of keys per partition number, so the
 * partitions of several topics (a '^' pattern) would share them. */
static int
validate_topic(const char *text, char *errstr, size_t errstr_size)
{
    if (text[0] && text[0] != '^')
        return 0;
    snprintf(errstr, errstr_size, "must name one topic (not empty, not a '^' pattern)");
    return CH_EINVAL;
}

static const ch_config_entry sla_keys[] = {
    {"sla.contacts_topic", CH_CFG_STRING, CH_TOPIC_CONTACT_EVENTS, offsetof(sla_config, topic_in),
     "topic of case events to keep timers for (where ingest.topic writes)", 0, 0, validate_topic},
    {"sla.timers_topic", CH_CFG_STRING, CH_TOPIC_SLA_TIMERS, offsetof(sla_config, topic_out),
     "topic fired timers are written to", 0, 0, NULL},
    {"sla.policy_dir", CH_CFG_STRING, "policies", offsetof(sla_config, policy_dir),
     "directory of policy files (<organisation>.yaml), re-read on SIGHUP", 0, 0, NULL},
    {"sla.lease_ms", CH_CFG_INT, "30000", offsetof(sla_config, lease_ms),
     "how long a claimed timer may wait for Kafka before it is fired again", 1000, 3600000, NULL},
};

/* Kafka's consumer group decides which instance owns a partition of case
 * events; that instance owns the partition's timers too. */
static void
sla_on_assign(void *svc, const char *topic, int32_t partition)
{
    sla *s = svc;
    if (strcmp(topic, s->cfg->topic_in) == 0)
        sla_timer_store_own(s->store, partition);
}

static void
sla_on_revoke(void *svc, const char *topic, int32_t partition)
{
    sla *s = svc;
    if (strcmp(topic, s->cfg->topic_in) == 0)
        sla_timer_store_disown(s->store, partition);
}

static void
sla_on_redis_ready(void *svc)
{
    sla *s = svc;
    sla_timer_store_redis_ready(s->store);
}

static void
sla_stop(void *svc)
{
    sla *s = svc;
    sla_timer_store_stop(s->store);
}

static void
sla_reload(void *svc)
{
    sla *s = svc;
    char err[1024];
    ch_org_set fresh;
    if (ch_org_set_load(s->cfg->policy_dir, "sla.policy_dir", &fresh, err, sizeof(err)) != 0) {
        CH_LOG_ERROR(ch_runtime_log(s->rt), "policy reload refused; keeping the running policies",
                     CH_STR("error", err));
        return;
    }
    /* Nothing keeps a pointer into the old set across a loop turn (jobs look
     * their policy up when Redis answers), so it can go at once. */
    ch_org_set old = s->orgs;
    s->orgs = fresh;
    ch_metric_add(s->m_reloads, 1);
    CH_LOG_INFO(ch_runtime_log(s->rt), "policies reloaded", CH_INT("organisations", fresh.n));
    ch_org_set_free(&old);
}

static void
sla_fini(void *svc)
{
    sla *s = svc;
    sla_case_lanes_free(s);
    sla_timer_store_free(s->store);
    ch_org_set_free(&s->orgs);
    free(s);
}

/* The metrics on /metrics: where each goes in the context, its kind, name and help. */
static const struct {
    size_t offset; /* of its ch_metric * in sla */
    int gauge;
    const char *name, *help;
} sla_metrics[] = {
    {offsetof(sla, m_scheduled), 0, "charter_sla_timers_scheduled_total", "timers set or moved"},
    {offsetof(sla, m_fired), 0, "charter_sla_timers_fired_total",
     "timers fired and acknowledged by Kafka"},
    {offsetof(sla, m_events), 0, "charter_sla_case_events_total", "case events applied"},
    {offsetof(sla, m_late_ms), 1, "charter_sla_last_fire_lateness_ms",
     "fired minus due time of the last timer fired, ms"},
    {offsetof(sla, m_reloads), 0, "charter_sla_policy_reloads_total",
     "successful policy reloads (SIGHUP)"},
};

static void
metrics_register(sla *s)
{
    for (size_t i = 0; i < sizeof(sla_metrics) / sizeof(sla_metrics[0]); i++) {
        ch_metric **m = (ch_metric **)((char *)s + sla_metrics[i].offset);
        *m = sla_metrics[i].gauge
                 ? ch_metric_gauge(s->rt, sla_metrics[i].name, sla_metrics[i].help)
                 : ch_metric_counter(s->rt, sla_metrics[i].name, sla_metrics[i].help);
    }
}

static int
sla_init(ch_runtime *rt, const void *config, void **svc, char *errstr, size_t errstr_size)
{
    sla *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    s->rt = rt;
    s->cfg = config;
    int rc = ch_runtime_subscribe(rt, s->cfg->topic_in, &charter__v1__case_event__descriptor, NULL,
                                  errstr, errstr_size);
    if (rc != 0)
        goto err;
    rc = ch_org_set_load(s->cfg->policy_dir, "sla.policy_dir", &s->orgs, errstr, errstr_size);
    if (rc != 0) {
        rc = rc == CH_EIO ? CH_EINVAL : rc; /* a policy directory to fix: exit 2 */
        goto err;
    }
    s->store = sla_timer_store_new(rt, SLA_KEY_PREFIX, s->cfg->lease_ms, sla_fire, s);
    if (!s->store) {
        snprintf(errstr, errstr_size, "out of memory");
        rc = CH_ENOMEM;
        goto err;
    }
    metrics_register(s);
    CH_LOG_INFO(ch_runtime_log(rt), "policies loaded", CH_STR("dir", s->cfg->policy_dir),
                CH_INT("organisations", s->orgs.n));
    *svc = s;
    return 0;
err:
    ch_org_set_free(&s->orgs);
    free(s);
    return rc;
}

static const ch_service sla_service = {
    .name = "sla-timer",
    .env_prefix = "CHARTER_SLA_",
    .default_http_listen = "127.0.0.1:8082",
    .config = sla_keys,
    .nconfig = sizeof(sla_keys) / sizeof(sla_keys[0]),
    .config_size = sizeof(sla_config),
    /* no .subs: sla.contacts_topic is subscribed in init */
    .init = sla_init,
    .on_message = sla_case_event,
    .on_assign = sla_on_assign,
    .on_revoke = sla_on_revoke,
    .on_redis_ready = sla_on_redis_ready,
    .reload = sla_reload,
    .stop = sla_stop,
    .fini = sla_fini,
};

int
main(int argc, char **argv, char **envp)
{
    return ch_runtime_main(&sla_service, argc, argv, envp);
}
