/*
 * charter-notification's context: the one struct every handler gets (no
 * globals), its core settings and the transports it was given. Each part of
 * the service has its own header (intake.h, contact.h, render.h, queue.h,
 * outcome.h, transport.h); this one holds only what they share.
 */
#ifndef CHARTER_NOTIFY_H
#define CHARTER_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "charter/org_set.h"
#include "charter/policy_store.h"
#include "charter/runtime.h"
#include "transport.h"

typedef struct notify_tcache notify_tcache;
typedef struct notify_queue notify_queue;

/* The service's own keys (config.c); each transport has its own struct. */
typedef struct {
    char *outcomes_topic;
    char *receipts_topic;
    char *timezone;
    char *template_dir;
    char *policy_dir;
    char *email_transport, *sms_transport, *social_transport, *staff_transport;
    char *letter_transport;
    char *staff_email;
    char *dlq_topic;
    int64_t max_in_flight, retry_base_ms, retry_max_ms, max_attempts, lease_ms;
    int64_t contact_wait_ms, contact_wait_max_ms, shutdown_grace_ms;
    int64_t recipient_max_per_day; /* customer notices per channel, recipient and UTC day; 0: any */
    int64_t contact_ttl_days, record_ttl_days, job_ttl_days; /* retention (security.md) */
} notify_config;

/* Where messages go: a transport slot per route (config.c). */
enum {
    NOTIFY_ROUTE_EMAIL,
    NOTIFY_ROUTE_SMS,
    NOTIFY_ROUTE_SOCIAL,
    NOTIFY_ROUTE_STAFF,
    NOTIFY_ROUTE_LETTER,
    NOTIFY_ROUTE_OTHER, /* the rest: the first transport that carries them */
    NOTIFY_NROUTES
};

/* One transport as the service runs it. */
typedef struct {
    const notify_transport *t;
    const void *cfg; /* its settings (config.c) */
    void *ctx;       /* from t->init */
} notify_slot;

typedef struct notify {
    ch_runtime *rt;
    const notify_config *cfg;
    ch_tz *default_tz;
    notify_tcache *templates;      /* parsed templates (template_cache.h) */
    notify_tcache *next_templates; /* a SIGHUP's, checked, until the reload takes them */
    notify_queue *queue;
    const notify_transport *const *table; /* main.c's, NULL-terminated */
    notify_slot slot[NOTIFY_MAX_TRANSPORTS];
    size_t nslots;
    int route[NOTIFY_NROUTES];
    char mail_domain[128]; /* for Message-IDs: the domain of a transport's sender */
    ch_metric *m_queued, *m_sent, *m_skipped, *m_failed, *m_retried, *m_unknown, *m_held,
        *m_rate_held, *m_template_reads, *m_parked, *m_auth_refused, *m_recipient_limited;
    ch_metric *m_delivered, *m_undelivered, *m_fallbacks, *m_receipts_unmatched,
        *m_receipts_repeated;                                   /* receipts.h */
    ch_redis_script *receipt_claim;                             /* receipts.c's claim */
    ch_metric *m_queue_depth, *m_queue_oldest, *m_parked_depth; /* queue_census.c */
    int census_running;
    int64_t census_ms;
} notify;

/* The organisation's policy in the runtime's policy store (notify.policy_dir;
 * none when it is empty), or NULL, and the zone its dates are in. Looked up
 * again in each callback: a SIGHUP may replace the set between two. */
static inline const ch_org_clocks *
notify_org(const notify *n, const char *organisation)
{
    return ch_org_set_find(ch_runtime_orgs(n->rt), organisation);
}

static inline const ch_tz *
notify_org_tz(const notify *n, const ch_org_clocks *oc)
{
    return oc && oc->tz ? oc->tz : n->default_tz;
}

#endif
