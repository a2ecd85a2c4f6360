/*
 * GOV.UK Notify's callbacks into ingest (docs/gateways.md): per organisation
 *
 *   POST /v1/gateways/notify/<organisation>/delivery-status
 *   POST /v1/gateways/notify/<organisation>/received-text
 *
 * each authenticated by the bearer token the organisation entered in
 * Notify's settings (ingest.notify_file; two during a rotation). Anything
 * else is 401 and writes nothing; the token is never logged.
 *
 * A delivery receipt becomes a DeliveryReceipt on ingest.receipts_topic,
 * keyed by the case id in its reference (the notification id Charter sent
 * as Notify's `reference`). It has its own short path, not the item
 * pipeline's (which writes CaseEvents), but the same idempotency claim:
 * the key is Notify's id and the status, so a repeated callback is answered
 * 200 and writes nothing, while a later status of the same message is a
 * receipt of its own. A reference that is not a Charter notification id is
 * answered 200 and counted as unmatched: Notify would otherwise retry it.
 *
 * A received text joins an open case when it quotes one of the
 * organisation's references, or when it comes from the number of the
 * organisation's case that is waiting for the customer (paused); it is then
 * a CustomerMessage on that case. Otherwise it is a new contact (channel
 * sms). Either way it runs the item pipeline (idempotency by Notify's id,
 * the answer after Kafka's acknowledgement).
 *
 * Notify retries a 5xx (every 5 minutes, 5 times) and never a 4xx, so
 * anything that may pass later (Kafka or Redis down, the first attempt still
 * being written) is answered 503, never 409.
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "charter/errors.h"
#include "charter/fileio.h"
#include "charter/policy.h"
#include "charter/policy_store.h"
#include "charter/timeutil.h"
#include "claim.h"
#include "directory.h"
#include "ingest.h"
#include "notify_callbacks.h"

#define NOTIFY_GATEWAY "notify"

static void
warn_if_readable(ingest *in, const char *path, const char *what)
{
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 0077))
        CH_LOG_WARN(ch_runtime_log(in->rt), what, CH_STR("file", path));
}

int
notify_setup(ingest *in, char *errstr, size_t errstr_size)
{
    const char *path = in->cfg->notify_file;
    if (!path || !*path)
        return 0;
    char *text = NULL;
    size_t len;
    int rc = ch_file_read_all(path, 1 << 20, &text, &len, errstr, errstr_size);
    if (rc)
        return rc;
    if (!(in->notify = calloc(1, sizeof(*in->notify)))) {
        free(text);
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    rc = notify_orgs_parse(text, path, in->notify, errstr, errstr_size);
    free(text);
    if (rc)
        return rc;
    warn_if_readable(in, path,
                     "the GOV.UK Notify file holds callback tokens but other users may read it; "
                     "chmod 600 it");
    for (size_t i = 0; i < in->notify->n; i++) {
        notify_org *o = &in->notify->orgs[i];
        if (!o->token_file[0])
            continue;
        if ((rc = ch_file_read_all(o->token_file, 4096, &text, &len, errstr, errstr_size)) != 0)
            return rc;
        rc = notify_org_set_tokens(o, text, errstr, errstr_size);
        memset(text, 0, len);
        free(text);
        if (rc)
            return rc;
        warn_if_readable(in, o->token_file,
                         "a GOV.UK Notify token file may be read by other users; chmod 600 it");
    }
    CH_LOG_INFO(ch_runtime_log(in->rt), "GOV.UK Notify callbacks set up", CH_STR("file", path),
                CH_INT("organisations", in->notify->n));
    return 0;
}

void
notify_fini(ingest *in)
{
    notify_orgs_free(in->notify);
    free(in->notify);
    in->notify = NULL;
}

/* ---- delivery receipts ---- */

typedef struct {
    ingest *in;
    struct evhttp_request *req;
    Charter__V1__DeliveryReceipt rec;
    Charter__V1__Timestamp at;
    char organisation[64], case_id[CH_CASE_ID_MAX + 1], key[320];
    char event_id[CH_UUID_BUFSZ];
    notify_receipt r;
} receipt_req;

static void
receipt_end(receipt_req *q, int status, const char *json)
{
    ingest *in = q->in;
    if (status == 503) {
        ch_metric_add(in->m_unavailable, 1);
        ch_http_reply_unavailable(q->req, 5, json);
    } else {
        ch_http_reply_json(q->req, status, json);
    }
    free(q);
}

static void
receipt_outcome(receipt_req *q, char state)
{
    char value[320];
    snprintf(value, sizeof(value), "%c|%s|%s|", state, q->event_id, q->case_id);
    const char *argv[] = {q->key, value, q->in->ttl_s};
    if (ch_redis_script_call(q->in->outcome, NULL, NULL, 1, 3, argv, NULL) != 0)
        CH_LOG_WARN(ch_runtime_log(q->in->rt),
                    "could not record the outcome of a delivery receipt; a retry after the "
                    "claim's lease writes it again",
                    CH_STR("case_id", q->case_id), CH_STR("event_id", q->event_id));
}

static void
receipt_written(void *opaque, int rc, int32_t partition, int64_t offset, const char *errstr)
{
    receipt_req *q = opaque;
    ingest *in = q->in;
    receipt_outcome(q, rc == 0 ? 'D' : 'F');
    if (rc != 0) {
        CH_LOG_WARN(ch_runtime_log(in->rt), "delivery receipt not written to Kafka",
                    CH_STR("case_id", q->case_id), CH_STR("error", errstr));
        receipt_end(q, 503, "the receipt could not be written to Kafka; retry");
        return;
    }
    ch_metric_add(in->m_notify_receipts, 1);
    CH_LOG_INFO(ch_runtime_log(in->rt), "delivery receipt accepted",
                CH_STR("notification_id", q->rec.notification_id), CH_STR("case_id", q->case_id),
                CH_STR("status", q->r.status), CH_STR("provider_id", q->r.id),
                CH_INT("partition", partition), CH_INT("offset", offset));
    char body[160];
    snprintf(body, sizeof(body), "{\"event_id\":\"%s\"}", q->event_id);
    receipt_end(q, 200, body);
}

static void
receipt_claimed(void *opaque, redisReply *reply)
{
    receipt_req *q = opaque;
    ingest *in = q->in;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER ||
        reply->element[1]->type != REDIS_REPLY_STRING) {
        receipt_end(q, 503, "could not record the receipt's id in Redis; retry");
        return;
    }
    ingest_claim_ids ids;
    switch (ingest_claim_decide(reply->element[0]->integer, reply->element[1]->str,
                                reply->element[1]->len, &ids)) {
    case INGEST_CLAIM_DONE:
        ch_metric_add(in->m_duplicates, 1);
        receipt_end(q, 200, "{\"duplicate\":true}");
        return;
    case INGEST_CLAIM_WRITING:
        receipt_end(q, 503, "this receipt is being written now; retry");
        return;
    case INGEST_CLAIM_BAD:
        receipt_end(q, 503, "the receipt's idempotency record is unreadable; retry later");
        return;
    default:
        break;
    }
    memcpy(q->event_id, ids.event_id, sizeof(q->event_id));
    q->rec.event_id = q->event_id;
    if (ch_produce(in->rt, in->cfg->mail.receipts_topic /* ingest.receipts_topic */, q->case_id,
                   &q->rec.base, receipt_written, q) != 0) {
        receipt_outcome(q, 'F');
        receipt_end(q, 503, "Kafka is not accepting writes; retry");
    }
}

static void
post_receipt(ingest *in, struct evhttp_request *req, const char *org, const char *body, size_t len)
{
    receipt_req *q = calloc(1, sizeof(*q));
    if (!q) {
        ch_http_reply_unavailable(req, 5, "out of memory");
        return;
    }
    q->in = in;
    q->req = req;
    snprintf(q->organisation, sizeof(q->organisation), "%s", org);
    ch_json_error err;
    if (notify_receipt_parse(body, len, &q->r, &err) != 0) {
        ch_metric_add(in->m_rejected, 1);
        ch_http_reply_error_field(req, err.status, err.code, err.field, err.message);
        free(q);
        return;
    }
    Charter__V1__DeliveryReceipt__Status st = notify_status_map(q->r.status);
    if (st == CHARTER__V1__DELIVERY_RECEIPT__STATUS__STATUS_UNSPECIFIED ||
        !notify_reference_split(q->r.reference, q->case_id, sizeof(q->case_id))) {
        /* not ours, or not a final status: Notify must not retry it */
        ch_metric_add(in->m_notify_unmatched, 1);
        CH_LOG_INFO(ch_runtime_log(in->rt),
                    st ? "delivery receipt for a message Charter did not send (its reference is "
                         "not a notification id); ignored"
                       : "delivery receipt with a status that is not final; ignored",
                    CH_STR("organisation", org), CH_STR("provider_id", q->r.id),
                    CH_STR("status", st ? "" : q->r.status));
        receipt_end(q, 200, "{\"unmatched\":true}");
        return;
    }
    if (!ch_runtime_kafka_up(in->rt)) {
        receipt_end(q, 503, "Kafka is unavailable; nothing was accepted, retry");
        return;
    }
    Charter__V1__DeliveryReceipt *rec = &q->rec;
    charter__v1__delivery_receipt__init(rec);
    charter__v1__timestamp__init(&q->at);
    rec->notification_id = q->r.reference;
    rec->case_id = q->case_id;
    rec->organisation = q->organisation;
    rec->status = st;
    rec->channel = strcmp(q->r.notification_type, "email") == 0
                       ? CHARTER__V1__CHANNEL__CHANNEL_EMAIL
                       : CHARTER__V1__CHANNEL__CHANNEL_SMS;
    rec->provider = "notify";
    rec->provider_id = q->r.id;
    rec->reason = q->r.status;
    if (q->r.occurred_ms) {
        ch_time_split_ms(q->r.occurred_ms, &q->at.seconds, &q->at.nanos);
        rec->occurred_at = &q->at;
    }
    char ids[160];
    if (snprintf(q->key, sizeof(q->key), "charter:idem:{%s}:%s-status:%s:%s", org, NOTIFY_GATEWAY,
                 q->r.id, q->r.status) >= (int)sizeof(q->key) ||
        ch_uuid4(q->event_id) != 0) {
        receipt_end(q, 503, "could not allocate identifiers");
        return;
    }
    snprintf(ids, sizeof(ids), "%s|%s", q->event_id, q->case_id);
    const char *argv[] = {q->key, ids, in->lease_ms, in->ttl_s};
    if (ch_redis_script_call(in->claim, receipt_claimed, q, 1, 4, argv, NULL) != 0)
        receipt_end(q, 503, "Redis is not connected; retry");
}

/* ---- received text messages ---- */

typedef struct {
    ingest *in;
    struct evhttp_request *req;
    char organisation[64];
    char case_type[32];
    char phone[CH_PHONE_E164_BUFSZ]; /* the sender in E.164, or "" */
    char account[48];                /* the number it was sent to */
    char source[48];                 /* the sender as Notify gave it */
    char ref[64];
    notify_text t;
} text_req;

static void
text_free(text_req *q)
{
    notify_text_clear(&q->t);
    free(q);
}

static void
text_item_ready(item *it)
{
    item_produce(it);
}

static void
text_item_done(item *it)
{
    text_req *q = it->owner;
    struct evhttp_request *req = q->req;
    if (it->status == 200 || it->status == 202) {
        char body[320];
        snprintf(body, sizeof(body), "{\"case_id\":\"%s\",\"event_id\":\"%s\"%s}", it->case_id,
                 it->event_id, it->status == 200 ? ",\"duplicate\":true" : "");
        ch_http_reply_json(req, it->status, body);
    } else if (it->status == 409 || it->status == 503) {
        ch_http_reply_unavailable(req, 5, it->err.message);
    } else {
        CH_LOG_WARN(ch_runtime_log(q->in->rt), "received text refused",
                    CH_STR("organisation", q->organisation), CH_STR("code", it->err.code),
                    CH_STR("field", it->err.field));
        ch_http_reply_error_field(req, it->status, it->err.code, it->err.field, it->err.message);
    }
    item_free(it);
    text_free(q);
}

static char *
dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

/* The text as a free-text field: valid UTF-8, no control characters but
 * line breaks and tabs, at most CH_FIELD_TEXT_MAX characters. */
static void
clean_text(char *s)
{
    ch_contact_utf8_repair(s);
    size_t chars = 0;
    for (char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 && c != '\n' && c != '\r' && c != '\t')
            *p = ' ';
        else if (c == 0x7f)
            *p = ' ';
        if ((c & 0xc0) != 0x80 && ++chars > CH_FIELD_TEXT_MAX) {
            *p = '\0';
            break;
        }
    }
}

/* The event: a new contact (case_id NULL) or a message on case_id. */
static void
text_write(text_req *q, const char *case_id)
{
    ingest *in = q->in;
    Charter__V1__CaseEvent *ev = calloc(1, sizeof(*ev));
    Charter__V1__Timestamp *ts = calloc(1, sizeof(*ts));
    int oom = !ev || !ts;
    if (ev)
        charter__v1__case_event__init(ev);
    if (ts) {
        charter__v1__timestamp__init(ts);
        ch_time_split_ms(q->t.received_ms, &ts->seconds, &ts->nanos);
    }
    if (!oom) {
        ev->occurred_at = ts;
        ts = NULL;
        oom = !(ev->organisation = strdup(q->organisation));
    }
    if (!oom && !case_id) {
        Charter__V1__Received *r = calloc(1, sizeof(*r));
        Charter__V1__Customer *c = calloc(1, sizeof(*c));
        if (r) {
            charter__v1__received__init(r);
            ev->received = r;
            ev->event_case = CHARTER__V1__CASE_EVENT__EVENT_RECEIVED;
        }
        if (c)
            charter__v1__customer__init(c);
        oom = !r || !c;
        if (!oom) {
            r->customer = c;
            c = NULL;
            r->channel = CHARTER__V1__CHANNEL__CHANNEL_SMS;
            oom = !(r->case_type = strdup(q->case_type)) ||
                  !(r->summary = dup_or_empty(q->t.message)) ||
                  !(r->gateway_message_id = strdup(q->t.id)) ||
                  !(r->gateway_account = strdup(q->account)) ||
                  (q->phone[0] && !(r->customer->phone = strdup(q->phone)));
        }
        free(c);
    } else if (!oom) {
        Charter__V1__CustomerMessage *m = calloc(1, sizeof(*m));
        if (m) {
            charter__v1__customer_message__init(m);
            ev->customer_message = m;
            ev->event_case = CHARTER__V1__CASE_EVENT__EVENT_CUSTOMER_MESSAGE;
            m->channel = CHARTER__V1__CHANNEL__CHANNEL_SMS;
        }
        oom = !m || !(m->summary = dup_or_empty(q->t.message)) ||
              !(m->gateway_message_id = strdup(q->t.id)) ||
              !(m->from = strdup(q->phone[0] ? q->phone : q->source));
    }
    free(ts);
    ch_event_json_meta meta = {0};
    snprintf(meta.gateway_message_id, sizeof(meta.gateway_message_id), "%s", q->t.id);
    item *it = oom ? NULL : item_new(in, ev, &meta, NOTIFY_GATEWAY, "http:" NOTIFY_GATEWAY);
    if (!it) {
        ch_event_json_free(ev);
        ch_http_reply_unavailable(q->req, 5, "out of memory");
        text_free(q);
        return;
    }
    it->org_authenticated = 1;
    item_own(it, q, text_item_ready, text_item_done, 1);
    item_start(it, case_id);
}

/* A directory lookup Redis could not answer: 503, the text not taken
 * (Notify calls back again). 1 when it answered so. */
static int
dir_failed(text_req *q, int rc)
{
    if (rc >= 0)
        return 0;
    ch_metric_add(q->in->m_unavailable, 1);
    ch_http_reply_unavailable(q->req, 5, "Redis is not connected; retry");
    text_free(q);
    return 1;
}

static void
by_sender(void *arg, int rc, const ingest_dir_case *c)
{
    text_req *q = arg;
    if (dir_failed(q, rc))
        return;
    text_write(q, c->case_id[0] && c->open && c->awaiting ? c->case_id : NULL);
}

static void
find_sender(text_req *q)
{
    if (q->phone[0])
        ingest_dir_by_sender(q->in, q->organisation, "phone", q->phone, by_sender, q);
    else
        text_write(q, NULL);
}

static void
by_reference(void *arg, int rc, const ingest_dir_case *c)
{
    text_req *q = arg;
    if (dir_failed(q, rc))
        return;
    if (c->case_id[0] && c->open && strcmp(c->organisation, q->organisation) == 0)
        text_write(q, c->case_id);
    else
        find_sender(q);
}

static void
post_text(ingest *in, struct evhttp_request *req, const notify_org *o, const char *body, size_t len)
{
    text_req *q = calloc(1, sizeof(*q));
    if (!q) {
        ch_http_reply_unavailable(req, 5, "out of memory");
        return;
    }
    q->in = in;
    q->req = req;
    ch_json_error err;
    if (notify_text_parse(body, len, &q->t, &err) != 0) {
        ch_metric_add(in->m_rejected, 1);
        ch_http_reply_error_field(req, err.status, err.code, err.field, err.message);
        free(q);
        return;
    }
    const char *why;
    if (!ch_contact_time_not_future(q->t.received_ms, ch_time_now_ms(),
                                    in->cfg->max_future_skew_s * 1000, &why)) {
        ch_metric_add(in->m_rejected, 1);
        ch_http_reply_error_field(req, 422, "invalid_value", "date_received", why);
        text_free(q);
        return;
    }
    snprintf(q->organisation, sizeof(q->organisation), "%s", o->organisation);
    snprintf(q->case_type, sizeof(q->case_type), "%s", o->case_type);
    snprintf(q->source, sizeof(q->source), "%s", q->t.source_number);
    if (!notify_number_e164(q->t.source_number, q->phone))
        q->phone[0] = '\0';
    char dest[CH_PHONE_E164_BUFSZ];
    snprintf(q->account, sizeof(q->account), "%s",
             notify_number_e164(q->t.destination_number, dest) ? dest
             : q->t.destination_number[0]                      ? q->t.destination_number
                                                               : o->number);
    clean_text(q->t.message);
    const ch_org_clocks *oc = ch_org_set_find(ch_runtime_orgs(in->rt), q->organisation);
    if (oc &&
        notify_find_reference(q->t.message, oc->policy.reference_prefix, q->ref, sizeof(q->ref)))
        ingest_dir_by_reference(in, q->ref, by_reference, q);
    else
        find_sender(q);
}

/* ---- the routes ---- */

/* POST /v1/gateways/notify/{organisation}/{delivery-status|received-text} */
void
ingest_post_notify(void *svc, struct evhttp_request *req, const char *rest)
{
    ingest *in = svc;
    const char *slash = strchr(rest, '/');
    int receipt = slash && strcmp(slash, "/delivery-status") == 0;
    if (!slash || (!receipt && strcmp(slash, "/received-text") != 0)) {
        ch_http_reply_error(req, 404, "not_found",
                            "expected /v1/gateways/notify/{organisation}/delivery-status or "
                            "/received-text");
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const notify_org *o = notify_orgs_find(in->notify, rest, (size_t)(slash - rest));
    if (!notify_bearer_ok(o, evhttp_find_header(h, "Authorization"))) {
        /* at debug, like every refused request: anyone can send these */
        CH_LOG_DEBUG(ch_runtime_log(in->rt), "GOV.UK Notify callback not authenticated",
                     CH_STR("organisation", o ? o->organisation : "(unknown)"));
        ch_metric_add(in->m_unauthorized, 1);
        ch_http_reply_error(req, 401, "unauthorized",
                            "the Authorization header must be \"Bearer <token>\" with the "
                            "organisation's callback token (ingest.notify_file)");
        return;
    }
    struct evbuffer *b = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(b);
    char *body = malloc(n + 1);
    if (!body) {
        ch_http_reply_unavailable(req, 5, "out of memory");
        return;
    }
    evbuffer_copyout(b, body, n);
    body[n] = '\0';
    if (receipt)
        post_receipt(in, req, o->organisation, body, n);
    else
        post_text(in, req, o, body, n);
    free(body);
}
