/*
 * charter-ingest's private interfaces: the service context, and the item, one
 * event on its way from outside to charter.contact.events.v1.
 *
 * Every way in (a request body, one NDJSON line, one record on a gateway
 * topic) becomes an item and runs the same pipeline (pipeline.c):
 *
 *   item_start():   Kafka up? organisation known (a policy names it)?
 *                   identifiers; then in Redis, one step: claim the gateway
 *                   message id (idempotency) and/or allocate the case
 *                   reference                                  -> ready()
 *   item_produce(): write to Kafka, wait for the delivery report  -> done()
 *
 * The owner decides when a ready item is produced (a batch keeps its lines in
 * order), and learns the outcome in done(), called exactly once per item.
 */
#ifndef CHARTER_INGEST_H
#define CHARTER_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "event_json.h"
#include "charter/ids.h"
#include "charter/errors.h"
#include "charter/runtime.h"
#include "charter/timeutil.h"
#include "signature.h"
#include "mail_listener.h"

typedef struct {
    char *policy_dir; /* the organisations, with their reference prefixes */
    char *topic;
    int64_t max_body_bytes;
    char *gateways_file;
    int64_t idempotency_ttl_s;
    int64_t max_batch_lines;
    char *gateway_topics; /* "GATEWAY=TOPIC_OR_^PATTERN ..." */
    int64_t answer_timeout_ms;
    int64_t claim_grace_ms;
    int64_t reconcile_timeout_ms;
    int64_t max_future_skew_s;
    int64_t max_inflight_requests;
    int64_t directory_ttl_s;
    char *notify_file;       /* GOV.UK Notify callbacks, per organisation */
    ingest_mail_config mail; /* ingest.mail_* (mail_listener.h) */
    char *meta_file;         /* Meta's webhooks, per organisation (meta.h); NULL: none */
} ingest_config;

/* A gateway publishing JSON to Kafka; the opaque of its subscription. */
typedef struct {
    char id[CH_GATEWAY_ID_MAX + 1];
    char source[CH_GATEWAY_ID_MAX + 8]; /* "kafka:<id>" */
} inbound_gateway;

typedef struct ingest {
    ch_runtime *rt;
    const ingest_config *cfg;
    ch_gateways *gateways;
    inbound_gateway *inbound;
    size_t ninbound;
    ch_metric *m_accepted, *m_rejected, *m_unavailable, *m_duplicates, *m_unauthorized,
        *m_in_progress;
    ch_metric *m_late, *m_retaken;
    ch_metric *m_overloaded, *m_http_inflight;
    ch_metric *m_notify_receipts, *m_notify_unmatched;
    struct notify_orgs *notify; /* ingest.notify_file (notify_callbacks.h), or NULL */
    size_t http_inflight;       /* HTTP requests being handled (http.c) */
    double unauthorized_logged; /* m_unauthorized's value at the last summary */
    int64_t unauthorized_log_ms;
    ch_redis_script *claim;                   /* the idempotency script (pipeline.c) */
    ch_redis_script *reference;               /* a reference without idempotency */
    ch_redis_script *outcome;                 /* D or F for a claim */
    ch_redis_script *dir_record, *dir_lookup; /* the case directory (directory.h) */
    struct ingest_ref_floors *floors;         /* the reference counters' floors (reference.h) */
    char lease_ms[24];                  /* how long a claim stays pending: outlives any write */
    char ttl_s[24];                     /* ingest.idempotency_ttl_s, as an argument */
    struct item *wait_head, *wait_tail; /* HTTP items Kafka holds, oldest first */
    struct {
        char org[64];
        int event;
        ch_metric *m;
    } accepted_by[64]; /* charter_ingest_events_total's series, found once (pipeline.c) */
    size_t naccepted_by;
    struct ingest_meta_conf_s *meta; /* ingest.meta_file, or NULL (meta_http.c) */
    struct retired *retired;         /* configuration replaced by reloads (main.c), freed at exit */
    uint8_t rnd[2048];               /* random bytes for ids; rnd_pos is the first unused */
    size_t rnd_pos;
    struct ingest_mail_srv *mail; /* the SMTP/LMTP listener, or NULL (mail_listener.c) */
} ingest;

enum { ITEM_NEW = 0, ITEM_PREPARING, ITEM_READY, ITEM_PRODUCING, ITEM_DONE };

typedef struct item item;

struct item {
    ingest *in;
    Charter__V1__CaseEvent *ev; /* owned; freed by item_free */
    ch_event_json_meta meta;
    char org_id[64];                     /* the policy's organisation id and reference */
    char ref_prefix[16];                 /* prefix, copied: a reload may replace the policy */
    char source[CH_GATEWAY_ID_MAX + 8];  /* "http:<gateway>" or "kafka:<gateway>" */
    char gateway[CH_GATEWAY_ID_MAX + 1]; /* copies: an item may outlive its request */
    int state;
    int org_authenticated; /* 1: the way in proved the organisation itself (a Meta webhook's
                              per-organisation app secret, GOV.UK Notify's per-organisation
                              token), so the gateways file's orgs= is not asked */

    /* outcome, valid in done() */
    int status; /* 202 accepted, 200 duplicate, 409 in progress, 4xx refused, 503 */
    ch_json_error err;
    int retry_after_s; /* for 409 and 503 */
    char case_id[CH_CASE_ID_MAX + 1];
    char reference[64];
    char event_id[CH_UUID_BUFSZ];

    void (*ready)(item *it); /* may be called from inside item_start() */
    void (*done)(item *it);  /* exactly once; may be called from inside item_start/produce */
    void *owner;
    size_t line; /* batch line number */
    int64_t partition, offset;

    /* An HTTP item whose write Kafka has not confirmed within
     * ingest.answer_timeout_ms is answered 503 (answered) while the write
     * goes on; its outcome is recorded in Redis when the report comes, so
     * the gateway's retry gets 409 until then and the original answer after.
     * item_free() on an item Kafka still holds only marks it released. */
    int answer_deadline; /* set by the owner: answer by the timeout */
    int in_kafka;        /* produced, delivery report not yet in */
    int answered;        /* done() already called with 503 */
    int released;        /* the owner let go of it */
    int64_t produced_ms;
    struct item *wprev, *wnext; /* ingest's wait list while in_kafka */
};

/*
 * ch_event_json_parse, then ch_event_json_check_clock against this host's
 * clock and ingest.max_future_skew_s: every way in (a body, a batch line, a
 * gateway record) refuses the same events. Same contract as
 * ch_event_json_parse.
 */
static inline int
ingest_parse(const ingest *in, const char *body, size_t len, ch_event_json_kind kind,
             Charter__V1__CaseEvent **out, ch_event_json_meta *meta, ch_json_error *err)
{
    if (ch_event_json_parse(body, len, kind, out, meta, err) != 0)
        return CH_EINVAL;
    if (ch_event_json_check_clock(*out, ch_time_now_ms(), in->cfg->max_future_skew_s * 1000, err) !=
        0) {
        ch_event_json_free(*out);
        *out = NULL;
        return CH_EINVAL;
    }
    return 0;
}

/* Prepares the context for items (claim script, id pool, pending expiry). */
int pipeline_init(ingest *in, char *errstr, size_t errstr_size);

/* Answers 503 for HTTP items Kafka has held longer than the answer timeout
 * (ingest's tick, once a second). */
void pipeline_sweep(ingest *in, int64_t now_ms);

/* Frees the items Kafka still held at shutdown (their owners are gone),
 * and the reference floors. */
void pipeline_fini(ingest *in);

/* reconcile.c: raises the reference floors to the highest reference of each
 * organisation and year on ingest.topic (every record Kafka retains), within
 * ingest.reconcile_timeout_ms. 0, or an error with errstr filled. */
int reconcile_references(ingest *in, char *errstr, size_t errstr_size);

/* A new item owning ev (NULL on ENOMEM, ev then still the caller's). */
item *item_new(ingest *in, Charter__V1__CaseEvent *ev, const ch_event_json_meta *meta,
               const char *gateway, const char *source);
/* An item that failed before it started (bad JSON): done is the caller's to call. */
item *item_new_refused(ingest *in, const ch_json_error *err);
/* Gives the item to its owner, who learns of it through ready and done (see
 * struct item); answer_deadline 1: an HTTP request, answered 503 when Kafka
 * has not confirmed the write within ingest.answer_timeout_ms. */
void item_own(item *it, void *owner, void (*ready)(item *it), void (*done)(item *it),
              int answer_deadline);
/* Frees the item, or, while Kafka still holds it, marks it released: the
 * delivery report frees it. */
void item_free(item *it);

/*
 * Starts the pipeline. case_id is the existing case (from the URL or the
 * record), or NULL for a contact. Calls it->ready when the item may be
 * produced, or it->done with the outcome (refused, duplicate, unavailable).
 */
void item_start(item *it, const char *case_id);

/* Produces a ready item; it->done follows with 202 or 503. */
void item_produce(item *it);

/* Sets a refusal (or unavailability) outcome and calls done. */
void item_finish_error(item *it, int status, const char *code, const char *field,
                       const char *message);

/* http.c */
void ingest_post_contact(void *svc, struct evhttp_request *req, const char *rest);
void ingest_post_case_event(void *svc, struct evhttp_request *req, const char *rest);
void ingest_post_events(void *svc, struct evhttp_request *req, const char *rest);

/* meta_http.c: Meta's webhooks, /v1/gateways/meta/<organisation> */
int ingest_meta_setup(ingest *in, char *errstr, size_t errstr_size);
void ingest_meta_fini(ingest *in);
void ingest_meta_route(void *svc, struct evhttp_request *req, const char *rest);
/* notify_routes.c: GOV.UK Notify's callbacks (docs/gateways.md) */
int notify_setup(ingest *in, char *errstr, size_t errstr_size);
void notify_fini(ingest *in);
void ingest_post_notify(void *svc, struct evhttp_request *req, const char *rest);

/* inbound.c: gateway topics */
int inbound_setup(ingest *in, char *errstr, size_t errstr_size);
int inbound_validate(const char *text, char *errstr, size_t errstr_size);
void inbound_on_message(void *svc, ch_msg *m, const struct ProtobufCMessage *msg);

#endif
