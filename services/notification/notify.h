/*
 * charter-notification's private header: the service context, a queued
 * notification (job) and the transports. See main.c for why the service is
 * built the way it is.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "charter/case_clock.h"
#include "charter/runtime.h"
#include "charter/v1/notification.pb-c.h"
#include "notify_rules.h"

typedef struct notify_curl notify_curl;
typedef struct notify_tcache notify_tcache;
struct event;

typedef struct {
    char *outbox_dir;
    char *outcomes_topic;
    char *timezone;
    char *template_dir;
    char *policy_dir;
    char *email_transport, *sms_transport, *social_transport, *staff_transport;
    char *staff_email;
    char *smtp_url, *smtp_username, *smtp_password, *smtp_from, *smtp_ca_file;
    int smtp_starttls, smtp_resend_unknown;
    int64_t smtp_timeout_ms;
    char *http_url, *http_token, *http_auth, *http_api_key, *http_sms_template,
        *http_email_template, *http_social_template;
    int64_t http_timeout_ms;
    char *handoff_topic;
    char *dlq_topic;
    int64_t max_in_flight, retry_base_ms, retry_max_ms, max_attempts, lease_ms;
    int64_t smtp_rate, http_rate, kafka_rate; /* messages a second; 0: no limit */
} notify_config;

/* The transports a rate limit applies to, indexing notify.rate[]. */
enum { NOTIFY_RATE_SMTP, NOTIFY_RATE_HTTP, NOTIFY_RATE_KAFKA, NOTIFY_NRATES };

typedef struct {
    ch_runtime *rt;
    const notify_config *cfg;
    ch_tz *default_tz;
    ch_org_set orgs;          /* empty without notify.policy_dir */
    notify_tcache *templates; /* parsed templates (template_cache.h) */
    notify_curl *curl;
    struct event *kick;
    struct event *wake; /* when the earliest message held for a rate limit may go */
    notify_bucket rate[NOTIFY_NRATES];
    int in_flight;
    int claiming;
    int stopping;
    char mail_domain[128]; /* for Message-ID: the domain of notify.smtp.from */
    ch_metric *m_queued, *m_sent, *m_skipped, *m_failed, *m_retried, *m_unknown, *m_held,
        *m_rate_held, *m_template_reads, *m_reloads;
} notify;

/* One notification on its way, as read back from its Redis hash. */
typedef struct notify_job {
    notify *n;
    char id[200]; /* notification id "<case>/<what>", the queue member */
    char idem_key[260], job_key[270];
    char *case_id, *organisation, *reference, *kind_name, *channel, *to, *subject, *body, *meta,
        *transport, *language;
    int kind, attempts, customer;

    /* transport state */
    CURL *easy;
    struct curl_slist *list;
    char *payload;
    size_t len, off;
    int data_done;             /* SMTP: the end of data may have reached the server */
    int commit_state;          /* SMTP: 0, 1 recording "committed", 2 recorded, -1 could not */
    int deferred, deferred_rc; /* SMTP: ended while "committed" was being recorded */
    int64_t retry_after_ms;
    long status;
} notify_job;

/* Redis keys. */
#define NOTIFY_QUEUE_KEY "charter:notify:queue"
#define NOTIFY_CLAIM_TTL_S (400 * 86400)
#define NOTIFY_JOB_TTL_S (30 * 86400)

/* queue.c */
int notify_queue_init(notify *n, char *errstr, size_t errstr_size);
void notify_queue_fini(notify *n);
/* Looks for due notifications soon (on the next loop turn). */
void notify_queue_kick(notify *n);
/*
 * Ends a send attempt: exactly once per attempt, from the transport.
 * retry_after_ms >= 0 is the server's wish (HTTP 429 Retry-After). Frees j.
 */
void notify_job_finished(notify_job *j, notify_result r, int64_t retry_after_ms,
                         const char *reason);
void notify_job_free(notify_job *j);
/* The job as the NotificationRequest it came from (borrowing j's strings):
 * what the dead-letter topic and the Kafka hand-off carry. */
void notify_job_request(notify_job *j, Charter__V1__NotificationRequest *rq);

/* Outcome on notify.outcomes_topic; fire and forget when cb is NULL. */
int notify_outcome(notify *n, const char *id, const char *case_id, const char *organisation,
                   int kind, int status, const char *channel, const char *transport,
                   const char *reason, const char *reference, int attempt, ch_produce_cb cb,
                   void *opaque);

/* Transports: return 0 and call notify_job_finished later, or a CH_E*
 * code and never call it. */
int notify_send_smtp(notify_job *j);
int notify_send_http(notify_job *j);
int notify_send_kafka(notify_job *j);
int notify_send_file(notify_job *j);
/* Appends one JSON line (a json_t *, taken) to <outbox>/<organisation>.jsonl. */
int notify_outbox_append(notify *n, const char *organisation, void *line);

/* The quiet-hours release for a text message to organisation at now_ms
 * (ms), or now_ms when none apply. */
int64_t notify_quiet_due(const notify *n, const char *organisation, const char *channel,
                         int64_t now_ms);

#endif
