/*
 * charter-notification sends what the charter promises the customer
 * (acknowledgement, holding reply, appointment confirmation, reminder and
 * cancellation) and alerts staff (warning, breach, wait exceeded, review
 * due), each by the transport configured for its channel, with outcome
 * events on charter.notify.outcomes.v1.
 *
 * This file is the service as the runtime sees it: its descriptor, the
 * table of transports (the one place that names them), and start-up,
 * reload and shutdown. The work is elsewhere: intake.c turns consumed
 * records into queued notifications (contact.c keeps the customer's
 * details, render.c writes the words); queue.c sends them from Redis
 * through the transports/ and says how it went (outcome.c).
 *
 * The policies (notify.policy_dir, optional) are the runtime's policy
 * store's, with its all-or-nothing SIGHUP reload; the templates must change
 * with them, so the reload's check reads every template first
 * (notify_reload_check) and a broken one refuses the whole reload before
 * anything is swapped. Only when the new policies are in is the template
 * cache cleared (notify_reload).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "charter/errors.h"
#include "charter/timeutil.h"
#include "charter/topics.h"
#include "charter/tz.h"
#include "config.h"
#include "intake.h"
#include "notify.h"
#include "queue.h"
#include "template_cache.h"

extern const notify_transport notify_transport_smtp, notify_transport_http, notify_transport_kafka,
    notify_transport_file;

/* Every transport, as nginx lists its modules in ngx_modules[]: adding one
 * is its file under transports/ and a line here. */
static const notify_transport *const transports[] = {
    &notify_transport_file,
    &notify_transport_smtp,
    &notify_transport_http,
    &notify_transport_kafka,
    NULL,
};

/* A notify.<channel>.transport value names one of them (whether it may
 * carry that channel is checked at start-up). */
static int
validate_transport(const char *text, char *errstr, size_t errstr_size)
{
    int slot = notify_transport_pick(transports, NULL, text, ~0u, errstr, errstr_size);
    return slot < 0 ? slot : 0;
}

static const ch_metric_def metrics[] = {
    CH_COUNTER(notify, m_queued, "charter_notify_queued_total", "notifications queued"),
    CH_COUNTER(notify, m_sent, "charter_notify_sent_total", "notifications sent"),
    CH_COUNTER(notify, m_skipped, "charter_notify_already_sent_total",
               "redelivered requests found already queued or sent"),
    CH_COUNTER(notify, m_failed, "charter_notify_failed_total",
               "notifications failed for good (template, refused, gave up)"),
    CH_COUNTER(notify, m_retried, "charter_notify_retries_total",
               "temporary failures retried later"),
    CH_COUNTER(notify, m_unknown, "charter_notify_unknown_total",
               "sends whose outcome is unknown, reported to staff"),
    CH_COUNTER(notify, m_held, "charter_notify_quiet_held_total",
               "text messages held for quiet hours"),
    CH_COUNTER(notify, m_template_reads, "charter_notify_template_reads_total",
               "template files read and parsed (first use, or the file changed)"),
    CH_COUNTER(notify, m_rate_held, "charter_notify_rate_held_total",
               "sends put back in the queue by a transport's rate limit"),
};

static void
notify_on_message(void *svc, ch_msg *m, const ProtobufCMessage *msg)
{
    if (msg->descriptor == &charter__v1__case_event__descriptor)
        notify_intake_case_event(svc, m, (const Charter__V1__CaseEvent *)msg);
    else
        notify_intake_timer(svc, m, (const Charter__V1__TimerFired *)msg);
}

static const ch_subscription subs[] = {
    {CH_TOPIC_CONTACT_EVENTS, &charter__v1__case_event__descriptor},
    {CH_TOPIC_SLA_TIMERS, &charter__v1__timer_fired__descriptor},
};

static void
notify_stop(void *svc)
{
    notify_queue_stop(((notify *)svc)->queue);
}

static void
notify_kick(void *svc)
{
    notify_queue_kick(((notify *)svc)->queue); /* retries and held messages come due */
}

static void
notify_tick(void *svc, int64_t now_ms)
{
    (void)now_ms;
    notify_kick(svc);
}

static void
notify_fini(void *svc)
{
    notify *n = svc;
    if (!n)
        return;
    for (size_t i = 0; i < n->nslots; i++)
        if (n->slot[i].ctx && n->slot[i].t->cancel_all)
            n->slot[i].t->cancel_all(n->slot[i].ctx);
    notify_queue_free(n->queue); /* the claims expire; the next instance sends */
    for (size_t i = 0; i < n->nslots; i++)
        n->slot[i].t->fini(n->slot[i].ctx);
    notify_tcache_free(n->templates);
    ch_tz_free(n->default_tz);
    free(n);
}

/* Each transport checked against what is routed to it, then started. */
static int
start_transports(notify *n, const void *config, char *errstr, size_t errstr_size)
{
    int rc = notify_transport_table_check(transports, errstr, errstr_size);
    if (rc == 0)
        rc = notify_config_routes(n->cfg, transports, n->route, errstr, errstr_size);
    for (size_t i = 0; rc == 0 && transports[i]; i++) {
        notify_slot *s = &n->slot[i];
        notify_transport_use use = {0, n->cfg->lease_ms};
        for (int r = 0; r < NOTIFY_NROUTES; r++)
            if (r != NOTIFY_ROUTE_OTHER && n->route[r] == (int)i)
                use.channels |= r == NOTIFY_ROUTE_SMS      ? NOTIFY_CH_SMS
                                : r == NOTIFY_ROUTE_SOCIAL ? NOTIFY_CH_SOCIAL
                                                           : NOTIFY_CH_EMAIL;
        s->t = transports[i];
        s->cfg = notify_config_section(config, transports, i);
        rc = s->t->check(s->cfg, &use, errstr, errstr_size);
    }
    for (size_t i = 0; rc == 0 && transports[i]; i++, n->nslots++) {
        notify_slot *s = &n->slot[i];
        rc = s->t->init(&s->ctx, s->cfg, n->rt, errstr, errstr_size);
        char *const *from = notify_transport_setting(s->t, s->cfg, s->t->sender_key);
        const char *at = from && *from ? strchr(*from, '@') : NULL;
        if (at && !n->mail_domain[0])
            snprintf(n->mail_domain, sizeof(n->mail_domain), "%s", at + 1);
    }
    return rc;
}

static int
notify_init(ch_runtime *rt, const void *config, void **svc, char *errstr, size_t errstr_size)
{
    const notify_config *cfg = config;
    notify *n = calloc(1, sizeof(*n));
    int rc = CH_ENOMEM;
    if (!n || !(n->templates = notify_tcache_new()) ||
        ch_metrics_register(rt, metrics, CH_COUNTOF(metrics), n) != 0) {
        snprintf(errstr, errstr_size, "out of memory");
        goto err;
    }
    n->rt = rt;
    n->cfg = cfg;
    n->table = transports;
    srandom((unsigned)(ch_time_now_ms() ^ (int64_t)getpid()));
    char tzerr[256];
    if ((rc = start_transports(n, config, errstr, errstr_size)) != 0)
        goto err;
    if (!(n->default_tz = ch_tz_load(cfg->timezone, NULL, tzerr, sizeof(tzerr)))) {
        snprintf(errstr, errstr_size, "notify.timezone: %s", tzerr);
        rc = CH_EINVAL;
        goto err;
    }
    if ((cfg->template_dir[0] &&
         (rc = notify_tcache_check_dir(cfg->template_dir, errstr, errstr_size)) != 0) ||
        (rc = notify_queue_new(n, &n->queue, errstr, errstr_size)) != 0)
        goto err;
    if (!cfg->template_dir[0])
        CH_LOG_WARN(ch_runtime_log(rt), "notify.template_dir is not set: built-in plain messages");
    CH_LOG_INFO(ch_runtime_log(rt), "notification ready", CH_STR("templates", cfg->template_dir),
                CH_STR("policies", cfg->policy_dir),
                CH_INT("organisations", ch_runtime_orgs(rt)->n),
                CH_STR("email", cfg->email_transport), CH_STR("sms", cfg->sms_transport),
                CH_STR("social", cfg->social_transport), CH_STR("staff", cfg->staff_transport));
    *svc = n;
    return 0;
err:
    notify_fini(n);
    return rc;
}

/* SIGHUP, with the new policies loaded but not yet in place: every
 * template is read again, and a broken one refuses the reload (the runtime
 * logs why and keeps the running policies; the cache stays as it was). */
static int
notify_reload_check(void *svc, char *errstr, size_t errstr_size)
{
    const notify *n = svc;
    return n->cfg->template_dir[0]
               ? notify_tcache_check_dir(n->cfg->template_dir, errstr, errstr_size)
               : 0;
}

/* SIGHUP, the new policies in place: templates are parsed afresh as used. */
static void
notify_reload(void *svc)
{
    notify *n = svc;
    notify_tcache_clear(n->templates);
    CH_LOG_INFO(ch_runtime_log(n->rt), "templates reloaded", CH_STR("dir", n->cfg->template_dir));
}

int
main(int argc, char **argv, char **envp)
{
    notify_config_map map;
    if (notify_config_map_build(&map, transports, validate_transport) != 0) {
        fprintf(stderr, "charter-notification: out of memory\n");
        return 1;
    }
    const ch_service service = {
        .name = "notification",
        .env_prefix = "CHARTER_NOTIFY_",
        .default_http_listen = "127.0.0.1:8083",
        .config = map.entries,
        .nconfig = map.nentries,
        .config_size = map.size,
        .subs = subs,
        .nsubs = CH_COUNTOF(subs),
        .init = notify_init,
        .on_message = notify_on_message,
        .on_redis_ready = notify_kick,
        .policy_dir_key = "notify.policy_dir",
        .policy_dir_optional = 1,
        .policy_reloads_metric = "charter_notify_reloads_total",
        .reload_check = notify_reload_check,
        .reload = notify_reload,
        .tick = notify_tick,
        .stop = notify_stop,
        .fini = notify_fini,
    };
    int code = ch_runtime_main(&service, argc, argv, envp);
    notify_config_map_free(&map);
    return code;
}
