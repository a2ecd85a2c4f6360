/*
 * charter-sla-timer: keeps every case's timers in step with its
 * organisation's policy and fires them to charter.sla.timers.v1.
 *
 * This file is the runtime descriptor and its wiring: the config table, the
 * timer store, the metrics. The work is in the core library: case_sync.c
 * (case events in), timer_plan.c (what an event changes), timer_store.c
 * (durable timers in Redis), fire.c (due timers out), and timer_keys.c (the
 * Redis names, shared with charterctl).
 *
 * The policies come from sla.policy_dir through the runtime's policy store:
 * loaded before init and again on SIGHUP, where a directory with any bad
 * policy is refused as a whole and the running set is kept.
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

static int
validate_format(const char *text, char *errstr, size_t errstr_size)
{
    if (strcmp(text, "compact") == 0 || strcmp(text, "text") == 0)
        return 0;
    snprintf(errstr, errstr_size, "'%s' is not compact or text", text);
    return CH_EINVAL;
}

static const ch_config_entry sla_keys[] = {
    CH_CFG_STR_CHECKED(sla_config, topic_in, "sla.contacts_topic", CH_TOPIC_CONTACT_EVENTS,
                       "topic of case events to keep timers for (where ingest.topic writes)",
                       validate_topic),
    CH_CFG_STR(sla_config, topic_out, "sla.timers_topic", CH_TOPIC_SLA_TIMERS,
               "topic fired timers are written to"),
    CH_CFG_STR(sla_config, policy_dir, "sla.policy_dir", "policies",
               "directory of policy files (<organisation>.yaml), re-read on SIGHUP"),
    CH_CFG_INT(sla_config, lease_ms, "sla.lease_ms", "30000",
               "how long a claimed timer may wait for Kafka before it is fired again", 1000,
               3600000),
    CH_CFG_STR_CHECKED(sla_config, timer_format, "sla.timer_format", "compact",
                       "how new timers are stored: compact (the id packed, no stored event: it "
                       "is rebuilt from the case's state when it fires) or text (as before "
                       "issue 16); both forms are read either way",
                       validate_format),
};

static const ch_metric_def sla_metrics[] = {
    CH_COUNTER(sla, m_scheduled, "charter_sla_timers_scheduled_total", "timers set or moved"),
    CH_COUNTER(sla, m_fired, "charter_sla_timers_fired_total",
               "timers fired and acknowledged by Kafka"),
    CH_COUNTER(sla, m_events, "charter_sla_case_events_total", "case events applied"),
    CH_GAUGE(sla, m_late_ms, "charter_sla_last_fire_lateness_ms",
             "fired minus due time of the last timer fired, ms"),
    CH_HISTOGRAM(sla, m_lateness, "charter_sla_fire_lateness_seconds",
                 "fired minus due time of each timer fired, seconds"),
    CH_GAUGE(sla, m_pending, "charter_sla_timers_pending",
             "timers set and not yet fired, on the partitions this instance owns (counted "
             "every 15 s)"),
    CH_GAUGE(sla, m_overdue, "charter_sla_timers_overdue",
             "timers due more than a minute ago and still not fired (should be 0: alert when "
             "it is not)"),
    CH_GAUGE(sla, m_inflight, "charter_sla_timers_inflight",
             "timers claimed and waiting for Kafka to take them"),
    CH_COUNTER(sla, m_partial, "charter_sla_timers_fired_partial_total",
               "compact timers fired with only what their id and case state give: the state "
               "was missing or no longer gives the timer (see the warning logged with each)"),
};

/* Kafka's consumer group decides which instance owns a partition of case
 * events; that instance owns the partition's timers too. */
static void
sla_on_assign(void *svc, const char *topic, int32_t partition)
{
    sla *s = svc;
    if (strcmp(topic, s->cfg->topic_in) == 0) {
        sla_timer_store_own(s->store, partition);
        sla_census_own(s, partition, 1);
    }
}

static void
sla_on_revoke(void *svc, const char *topic, int32_t partition)
{
    sla *s = svc;
    if (strcmp(topic, s->cfg->topic_in) == 0) {
        sla_timer_store_disown(s->store, partition);
        sla_census_own(s, partition, 0);
    }
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
    sla_fire_stop(s); /* after: giving a timer back must not start a claim */
}

static void
sla_fini(void *svc)
{
    sla *s = svc;
    sla_fire_stop(s); /* again: a stop may not have run (init failed after the store) */
    sla_timer_store_free(s->store);
    free(s->plans);
    s->plans = NULL;
}

/* A claimed timer is claimed again once its lease runs out, so Kafka must
 * have answered for it before then: the producer's message.timeout.ms is
 * three quarters of sla.lease_ms unless set (kafka.message.timeout.ms or
 * its alias delivery.timeout.ms), and a setting at or above the lease is
 * refused. Otherwise a slow broker would have each pending timer produced
 * again every lease, up to 300 s / lease copies of it. */
static int
delivery_timeout(ch_runtime *rt, int64_t lease_ms, char *errstr, size_t errstr_size)
{
    static const char *const keys[] = {"message.timeout.ms", "delivery.timeout.ms"};
    for (size_t i = 0; i < CH_COUNTOF(keys); i++) {
        const char *v = ch_runtime_kafka_setting(rt, keys[i]);
        if (!v)
            continue;
        char *end;
        long long ms = strtoll(v, &end, 10);
        if (*end || ms <= 0 || ms >= lease_ms) {
            snprintf(errstr, errstr_size,
                     "kafka.%s (%s) must be a number of ms below sla.lease_ms (%lld), or a "
                     "timer is fired again while Kafka still holds its first copy",
                     keys[i], v, (long long)lease_ms);
            return CH_EINVAL;
        }
        return 0;
    }
    char v[32];
    snprintf(v, sizeof(v), "%lld", (long long)(lease_ms - lease_ms / 4));
    if (ch_runtime_kafka_default(rt, "message.timeout.ms", v) != 0) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    return 0;
}

/* *svc is the runtime's zeroed context, its metrics registered. */
static int
sla_init(ch_runtime *rt, const void *config, void **svc, char *errstr, size_t errstr_size)
{
    sla *s = *svc;
    s->rt = rt;
    s->cfg = config;
    int rc = delivery_timeout(rt, s->cfg->lease_ms, errstr, errstr_size);
    if (rc != 0)
        return rc;
    rc = ch_runtime_subscribe(rt, s->cfg->topic_in, &charter__v1__case_event__descriptor, NULL,
                              errstr, errstr_size);
    if (rc != 0)
        return rc;
    sla_timer_format format =
        strcmp(s->cfg->timer_format, "text") == 0 ? SLA_TIMER_TEXT : SLA_TIMER_COMPACT;
    /* text keeps the whole layout an older release reads (states too) */
    s->state_json = format == SLA_TIMER_TEXT;
    if (!(s->store =
              sla_timer_store_new(rt, SLA_KEY_PREFIX, s->cfg->lease_ms, format, sla_fire, s))) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    return 0;
}

static const ch_service sla_service = {
    .name = "sla-timer",
    .env_prefix = "CHARTER_SLA_",
    .default_http_listen = "127.0.0.1:8082",
    .config = sla_keys,
    .nconfig = CH_COUNTOF(sla_keys),
    .config_size = sizeof(sla_config),
    .svc_size = sizeof(sla),
    .metrics = sla_metrics,
    .nmetrics = CH_COUNTOF(sla_metrics),
    /* no .subs: sla.contacts_topic is subscribed in init */
    .init = sla_init,
    .on_message = sla_case_event,
    .order_by_key = 1, /* a case's events apply in order, a failed one retried in place */
    .on_assign = sla_on_assign,
    .on_revoke = sla_on_revoke,
    .on_redis_ready = sla_on_redis_ready,
    .tick = sla_census_tick,
    .policy_dir_key = "sla.policy_dir",
    .policy_reloads_metric = "charter_sla_policy_reloads_total",
    .stop = sla_stop,
    .fini = sla_fini,
};

int
main(int argc, char **argv, char **envp)
{
    return ch_runtime_main(&sla_service, argc, argv, envp);
}
