/*
 * charter-ingest: Charter's front door. It turns JSON from the outside (HTTP
 * webhooks signed per gateway, and gateway topics on Kafka) into protobuf
 * CaseEvents on charter.contact.events.v1, keyed by case id.
 *
 * An HTTP answer of 202 is given only after Kafka acknowledged the write, so
 * a client that saw 202 knows the event is durable; anything else (Redis or
 * Kafka unavailable) answers 503 with Retry-After. A request whose write
 * Kafka has not confirmed within ingest.answer_timeout_ms (5 s) is answered
 * 503 while the write goes on (pipeline.c), so a broker outage turns into
 * quick 503s rather than requests held for minutes, and a write that did
 * reach the broker is never made twice by the gateway's retry.
 *
 * The organisations accepted, and the prefixes of their case references,
 * are those of the policies in ingest.policy_dir, which the runtime loads
 * and reloads on SIGHUP (one source of truth with the other services).
 *
 * This file is the service's descriptor and configuration; pipeline.c takes
 * an event to Kafka (claim.c decides what a repeat gets), http.c is the API,
 * inbound.c the gateway topics.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "charter/errors.h"
#include "charter/topics.h"
#include "ingest.h"
#include "meta.h"
#include "notify_callbacks.h"

static const ch_config_entry ingest_keys[] = {
    CH_CFG_STR(ingest_config, policy_dir, "ingest.policy_dir", "policies",
               "directory of the organisations' policy files (*.yaml, as sla.policy_dir): "
               "ingest accepts the organisations they name, and starts each one's case "
               "references with its reference_prefix; read again on SIGHUP, all or nothing"),
    CH_CFG_STR(ingest_config, topic, "ingest.topic", CH_TOPIC_CONTACT_EVENTS,
               "topic case events are written to"),
    CH_CFG_INT(ingest_config, max_body_bytes, "ingest.max_body_bytes", "65536",
               "largest request body accepted; larger bodies get 413", 256, 16 * 1024 * 1024),
    CH_CFG_STR(ingest_config, gateways_file, "ingest.gateways_file", NULL,
               "file of gateways, one \"ID [KEY [KEY2]] orgs=ORG,... [accept_v1=true]\" per "
               "line: the HTTP signing keys, the organisations each gateway may write for "
               "(orgs=* for all; none without orgs=) and whether it may still sign with v1; "
               "a gateway topic's gateway needs a line too, keys optional (required; keep "
               "it readable by the service only)"),
    CH_CFG_INT(ingest_config, idempotency_ttl_s, "ingest.idempotency_ttl_s", "604800",
               "how long a gateway_message_id is remembered: a repeat within it gets the "
               "original answer and produces nothing",
               60, 31536000),
    CH_CFG_INT(ingest_config, max_batch_lines, "ingest.max_batch_lines", "1000",
               "most events in one NDJSON batch; more gets 413", 1, 100000),
    CH_CFG_STR_CHECKED(ingest_config, gateway_topics, "ingest.gateway_topics", NULL,
                       "Kafka gateways publishing JSON records, as GATEWAY=TOPIC entries "
                       "separated by spaces; a topic starting with ^ is a regular expression "
                       "(e.g. email=^charter\\.gateway\\.email\\..*)",
                       inbound_validate),
    CH_CFG_INT(ingest_config, answer_timeout_ms, "ingest.answer_timeout_ms", "5000",
               "an HTTP request whose write Kafka has not confirmed within this is answered "
               "503; the write goes on, and a retry with the same gateway_message_id gets 409 "
               "until it is confirmed, then the original answer (checked once a second)",
               1000, 600000),
    CH_CFG_INT(ingest_config, claim_grace_ms, "ingest.claim_grace_ms", "60000",
               "a gateway_message_id's claim stays pending for kafka.message.timeout.ms plus "
               "this; a retry after that, finding no outcome (the process writing it died), "
               "writes the same event again with the same identifiers",
               1000, 3600000),
    CH_CFG_INT(ingest_config, reconcile_timeout_ms, "ingest.reconcile_timeout_ms", "60000",
               "at start, ingest reads every reference on ingest.topic to lift each reference "
               "counter above the highest issued (in case Redis lost data); start-up fails if "
               "that takes longer",
               1000, 3600000),
    CH_CFG_INT(ingest_config, max_future_skew_s, "ingest.max_future_skew_s", "300",
               "how far in the future an event's received_at or occurred_at may be (the "
               "sender's clock may run ahead); later is refused with 422",
               0, 3153600000),
    CH_CFG_INT(ingest_config, max_inflight_requests, "ingest.max_inflight_requests", "256",
               "HTTP requests (single events or batches) handled at once; more are answered "
               "503 overloaded with Retry-After: 1, which bounds memory while Kafka is slow",
               1, 100000),
    CH_CFG_STR(ingest_config, notify_file, "ingest.notify_file", NULL,
               "GOV.UK Notify callbacks: a file of \"ORG tokens=T1[,T2] | token_file=PATH "
               "[case_type=TYPE] [number=NUMBER]\" lines, the bearer token(s) each "
               "organisation entered in Notify's callback settings (two while rotating), the "
               "case type of a received text and the service's inbound number; unset: the "
               "/v1/gateways/notify/ routes answer 401 (keep it readable by the service only)"),
    CH_CFG_INT(ingest_config, directory_ttl_s, "ingest.directory_ttl_s", "34560000",
               "how long ingest's case directory remembers a case's reference and senders "
               "(so a customer's reply by e-mail, text or social media joins the case rather "
               "than opening a new one); 400 days",
               86400, 315360000),
    INGEST_MAIL_CONFIG_KEYS,
    CH_CFG_STR(
        ingest_config, meta_file, "ingest.meta_file", NULL,
        "Meta's webhooks (Facebook Messenger, Instagram) at /v1/gateways/meta/<organisation>: "
        "one \"ORGANISATION app_secret_file=PATH verify_token_file=PATH [accounts=ID,ID] "
        "[case_type=TYPE]\" per line (docs/gateways.md); unset: the route answers 404. "
        "Keep it, and the secret files, readable by the service only"),
};

static const ch_metric_def ingest_metrics[] = {
    CH_COUNTER(ingest, m_accepted, "charter_ingest_accepted_total",
               "case events accepted (202) after Kafka acknowledged them"),
    CH_COUNTER(ingest, m_rejected, "charter_ingest_rejected_total",
               "requests refused as bad input"),
    CH_COUNTER(ingest, m_unavailable, "charter_ingest_unavailable_total",
               "events answered 503 (Kafka or Redis unavailable)"),
    CH_COUNTER(ingest, m_duplicates, "charter_ingest_duplicates_total",
               "repeats of a gateway_message_id answered with the original (200)"),
    CH_COUNTER(ingest, m_unauthorized, "charter_ingest_unauthorized_total",
               "requests refused 401 (gateway or signature)"),
    CH_COUNTER(ingest, m_in_progress, "charter_ingest_in_progress_total",
               "repeats answered 409 while the first attempt was still being written"),
    CH_COUNTER(ingest, m_overloaded, "charter_ingest_overloaded_total",
               "requests answered 503 overloaded (ingest.max_inflight_requests reached)"),
    CH_GAUGE(ingest, m_http_inflight, "charter_ingest_http_inflight",
             "HTTP requests being handled (waiting for Redis or Kafka)"),
    CH_COUNTER(ingest, m_late, "charter_ingest_late_writes_total",
               "events Kafka confirmed after their request had been answered 503 (a retry with "
               "the same gateway_message_id gets the original answer)"),
    CH_COUNTER(ingest, m_notify_receipts, "charter_ingest_notify_receipts_total",
               "GOV.UK Notify delivery receipts written to ingest.receipts_topic"),
    CH_COUNTER(ingest, m_notify_unmatched, "charter_ingest_notify_unmatched_total",
               "GOV.UK Notify delivery receipts answered 200 and dropped: their reference is not "
               "a Charter notification id, or their status is not final"),
    CH_COUNTER(ingest, m_retaken, "charter_ingest_claims_retaken_total",
               "claims found pending past their lease without an outcome (their writer died) and "
               "written again with the same identifiers"),
};

/* A write is retried for 30 s (message.timeout.ms) across a broker outage
 * (requests are answered 503 after ingest.answer_timeout_ms, see the file's
 * top), and a broker that is back is reconnected to within a second, not
 * librdkafka's default backoff of up to 10 s. Every answer waits for its write to be
 * acknowledged, so the producer sends at once (linger.ms 0, where the other
 * services batch for 5 ms): under load, writes still travel together, as
 * those that arrive while a request is in flight go in the next one. */
static const char *const ingest_kafka_defaults[] = {
    "message.timeout.ms", "30000", "reconnect.backoff.max.ms", "1000", "linger.ms", "0", NULL};

/* Bodies up to ingest.max_body_bytes; the runtime refuses a larger one (413)
 * before reading it. */
static const ch_route routes[] = {
    {CH_HTTP_POST, "/v1/contacts", 0, ingest_post_contact, 0, "ingest.max_body_bytes"},
    {CH_HTTP_POST, "/v1/cases/", 1, ingest_post_case_event, 0, "ingest.max_body_bytes"},
    {CH_HTTP_POST, "/v1/events", 0, ingest_post_events, 0, "ingest.max_body_bytes"},
    {CH_HTTP_GET | CH_HTTP_POST, "/v1/gateways/meta/", 1, ingest_meta_route, 0,
     "ingest.max_body_bytes"},
    {CH_HTTP_POST, "/v1/gateways/notify/", 1, ingest_post_notify, 0, "ingest.max_body_bytes"},
};

static int
load_gateways(ingest *in, char *errstr, size_t errstr_size)
{
    in->gateways = NULL;
    const char *path = in->cfg->gateways_file;
    if (!path || !*path) {
        snprintf(errstr, errstr_size,
                 "ingest.gateways_file is not set: every request to ingest is signed by a "
                 "gateway, so list them (\"ID KEY [KEY2] orgs=ORG,...\" per line; see "
                 "docs/api.md)");
        return CH_EINVAL;
    }
    int rc = ch_gateways_load_file(path, &in->gateways, errstr, errstr_size);
    if (rc != 0)
        return rc;
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 0077))
        CH_LOG_WARN(ch_runtime_log(in->rt),
                    "the gateways file holds signing keys but other users may read it; "
                    "chmod 600 it",
                    CH_STR("file", path));
    for (size_t i = 0; i < ch_gateways_count(in->gateways); i++) {
        const char *id = ch_gateways_id_at(in->gateways, i);
        if (!ch_gateways_has_orgs(in->gateways, id))
            CH_LOG_WARN(ch_runtime_log(in->rt),
                        "this gateway has no orgs= in the gateways file, so every event it "
                        "sends is refused 403 organisation_not_allowed; list its "
                        "organisations (or orgs=* for all)",
                        CH_STR("gateway", id), CH_STR("file", path));
    }
    CH_LOG_INFO(ch_runtime_log(in->rt), "gateways loaded", CH_STR("file", path),
                CH_INT("gateways", ch_gateways_count(in->gateways)));
    return 0;
}

static void ingest_fini(void *svc);

/* Configuration a reload replaced. A request or message in flight may still
 * point into it, so it is kept until the service stops (one small block per
 * SIGHUP). */
typedef struct retired {
    void (*free_fn)(void *);
    void *p;
    struct retired *next;
} retired;

static void
retire(ingest *in, void (*free_fn)(void *), void *p)
{
    retired *r = malloc(sizeof(*r));
    if (!r)
        return; /* cannot keep it safely: leak it rather than free it under a reader */
    *r = (retired){free_fn, p, in->retired};
    in->retired = r;
}

static void
free_gateways(void *p)
{
    ch_gateways_free(p);
}

static void
free_meta(void *p)
{
    ingest_meta_conf_free(p);
    free(p);
}

static void
free_notify(void *p)
{
    notify_orgs_free(p);
    free(p);
}

/*
 * SIGHUP (the policies themselves are the runtime's): the gateways file,
 * the Meta and GOV.UK Notify files and the mailboxes are read again, each
 * all or nothing: a file with an error is refused and logged, and the
 * running one stays. So a new organisation's gateway line, Meta page or
 * Notify token takes a reload, not a restart.
 */
static void
ingest_reload(void *svc)
{
    ingest *in = svc;
    char err[512];
    ingest_mail_reload(svc);

    ch_gateways *old_gw = in->gateways;
    if (load_gateways(in, err, sizeof(err)) == 0) {
        retire(in, free_gateways, old_gw);
    } else {
        in->gateways = old_gw;
        CH_LOG_ERROR(ch_runtime_log(in->rt), "gateways reload refused; keeping the running ones",
                     CH_STR("error", err));
    }

    struct ingest_meta_conf_s *old_meta = in->meta;
    in->meta = NULL;
    if (ingest_meta_setup(in, err, sizeof(err)) == 0) {
        if (old_meta)
            retire(in, free_meta, old_meta);
    } else {
        in->meta = old_meta;
        CH_LOG_ERROR(ch_runtime_log(in->rt),
                     "Meta file reload refused; keeping the running settings",
                     CH_STR("error", err));
    }

    struct notify_orgs *old_notify = in->notify;
    in->notify = NULL;
    if (notify_setup(in, err, sizeof(err)) == 0) {
        if (old_notify)
            retire(in, free_notify, old_notify);
    } else {
        notify_fini(in); /* what the refused read left */
        in->notify = old_notify;
        CH_LOG_ERROR(ch_runtime_log(in->rt),
                     "GOV.UK Notify file reload refused; keeping the running settings",
                     CH_STR("error", err));
    }
}

/* *svc is the runtime's zeroed context, its metrics registered. */
static int
ingest_init(ch_runtime *rt, const void *config, void **svc, char *errstr, size_t errstr_size)
{
    ingest *in = *svc;
    in->rt = rt;
    in->cfg = config;
    int rc = pipeline_init(in, errstr, errstr_size);
    if (rc == 0)
        rc = load_gateways(in, errstr, errstr_size);
    if (rc == 0)
        rc = reconcile_references(in, errstr, errstr_size);
    if (rc == 0)
        rc = notify_setup(in, errstr, errstr_size);
    if (rc == 0)
        rc = inbound_setup(in, errstr, errstr_size);
    if (rc == 0)
        rc = ingest_meta_setup(in, errstr, errstr_size);
    if (rc == 0)
        rc = ingest_mail_start(in, errstr, errstr_size);
    if (rc != 0)
        ingest_fini(in);
    return rc;
}

/* Refused signatures are logged one by one at debug only (anyone can send
 * them); this says how many there were, at most once a minute. */
static void
log_unauthorized(ingest *in, int64_t now_ms)
{
    if (now_ms - in->unauthorized_log_ms < 60000)
        return;
    double n = ch_metric_value(in->m_unauthorized);
    if (n > in->unauthorized_logged)
        CH_LOG_INFO(ch_runtime_log(in->rt),
                    "requests not authenticated (401) since the last report",
                    CH_INT("count", (long long)(n - in->unauthorized_logged)));
    in->unauthorized_logged = n;
    in->unauthorized_log_ms = now_ms;
}

static void
ingest_tick(void *svc, int64_t now_ms)
{
    pipeline_sweep(svc, now_ms);
    log_unauthorized(svc, now_ms);
}

static void
ingest_fini(void *svc)
{
    ingest *in = svc;
    ingest_mail_fini(in);
    pipeline_fini(in);
    ch_gateways_free(in->gateways);
    ingest_meta_fini(in);
    notify_fini(in);
    while (in->retired) {
        retired *r = in->retired;
        in->retired = r->next;
        r->free_fn(r->p);
        free(r);
    }
    free(in->inbound);
}

static const ch_service ingest_service = {
    .name = "ingest",
    .env_prefix = "CHARTER_INGEST_",
    .default_http_listen = "127.0.0.1:8080",
    .config = ingest_keys,
    .nconfig = CH_COUNTOF(ingest_keys),
    .config_size = sizeof(ingest_config),
    .svc_size = sizeof(ingest),
    .metrics = ingest_metrics,
    .nmetrics = CH_COUNTOF(ingest_metrics),
    .kafka_defaults = ingest_kafka_defaults,
    .routes = routes,
    .nroutes = CH_COUNTOF(routes),
    .policy_dir_key = "ingest.policy_dir",
    .policy_reloads_metric = "charter_ingest_policy_reloads_total",
    .epoll_changelist = 1,
    .init = ingest_init,
    .on_message = inbound_on_message,
    .tick = ingest_tick,
    .reload = ingest_reload,
    .fini = ingest_fini,
};

int
main(int argc, char **argv, char **envp)
{
    return ch_runtime_main(&ingest_service, argc, argv, envp);
}
