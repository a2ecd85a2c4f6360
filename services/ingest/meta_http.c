/*
 * Meta's webhooks on ingest's HTTP API: /v1/gateways/meta/<organisation>.
 *
 * GET is Meta's subscription handshake: hub.mode=subscribe and the
 * organisation's verify token get hub.challenge back as text/plain, anything
 * else 403. POST carries messages, authenticated by X-Hub-Signature-256 over
 * the raw body with the organisation's app secret (401 without the header,
 * 403 when it does not match; nothing is parsed before that).
 *
 * Each customer message becomes an item of the pipeline, one after the
 * other in the body's order (a webhook holds a handful; the order keeps a
 * follow-up after the message that opened its case): a message from a
 * sender with an open case of the organisation (the directory,
 * ingest_dir_by_sender) is a CustomerMessage on that case, any other a new
 * social-media contact. The mid is the gateway message id, so Meta's
 * redelivery of a webhook writes nothing twice. Meta retries any answer but
 * 200 and disables a webhook that keeps failing, so: 200 once every message
 * is on Kafka, a duplicate, or refused for good (a bad field, an unknown
 * case type: logged with the field, counted, never retried); 503 with
 * Retry-After as soon as one message could not be written for now (Kafka or
 * Redis down, its first attempt still being written), which makes Meta send
 * the whole webhook again, the messages already written then being
 * duplicates.
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/timeutil.h"
#include "directory.h"
#include "ingest.h"
#include "meta.h"

/* One webhook being worked through. */
typedef struct {
    ingest *in;
    struct evhttp_request *req;
    char org[64], case_type[64];
    ingest_meta_batch b;
    size_t next; /* the message to start next */
    size_t accepted, duplicates, refused, joined;
    int unavailable, retry_after_s;
} webhook;

static void
reply_text(struct evhttp_request *req, int status, const char *text)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Cache-Control", "no-store");
    struct evbuffer *b = evbuffer_new();
    if (b)
        evbuffer_add(b, text, strlen(text));
    evhttp_send_reply(req, status, status == 200 ? "OK" : "Forbidden", b);
    if (b)
        evbuffer_free(b);
}

static void
handshake(ingest *in, struct evhttp_request *req, const ingest_meta_org *o)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyvalq q = {0};
    if (query)
        evhttp_parse_query_str(query, &q);
    const char *mode = evhttp_find_header(&q, "hub.mode");
    const char *token = evhttp_find_header(&q, "hub.verify_token");
    const char *challenge = evhttp_find_header(&q, "hub.challenge");
    if (ingest_meta_handshake_ok(o, mode, token, challenge)) {
        CH_LOG_INFO(ch_runtime_log(in->rt), "Meta webhook subscription verified",
                    CH_STR("organisation", o->organisation));
        reply_text(req, 200, challenge);
    } else {
        ch_metric_add(in->m_unauthorized, 1);
        CH_LOG_DEBUG(ch_runtime_log(in->rt), "Meta handshake refused",
                     CH_STR("organisation", o->organisation));
        reply_text(req, 403,
                   "verification failed: hub.mode must be subscribe and "
                   "hub.verify_token the organisation's verify token\n");
    }
    evhttp_clear_headers(&q);
}

static void webhook_next(webhook *w);

static void
webhook_finish(webhook *w)
{
    ingest *in = w->in;
    if (w->unavailable) {
        ch_http_retry_after(w->req, w->retry_after_s ? w->retry_after_s : 5);
        ch_http_reply_error(w->req, 503, "unavailable",
                            "not every message could be written now; send the webhook again "
                            "(messages already written are recognised by their mid)");
    } else {
        char buf[200];
        snprintf(buf, sizeof(buf),
                 "{\"accepted\":%zu,\"joined\":%zu,\"duplicates\":%zu,\"refused\":%zu,"
                 "\"skipped\":%zu}",
                 w->accepted, w->joined, w->duplicates, w->refused, w->b.skipped);
        ch_http_reply_json(w->req, 200, buf);
    }
    in->http_inflight--;
    ch_metric_set(in->m_http_inflight, (double)in->http_inflight);
    ingest_meta_batch_free(&w->b);
    free(w);
}

static void
item_ready(item *it)
{
    item_produce(it);
}

static void
item_done(item *it)
{
    webhook *w = it->owner;
    const ingest_meta_msg *m = &w->b.msgs[w->next - 1];
    if (it->status == 202) {
        if (it->ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_CUSTOMER_MESSAGE)
            w->joined++;
        else
            w->accepted++;
    } else if (it->status == 200) {
        w->duplicates++;
    } else if (it->status == 503 || it->status == 409) {
        w->unavailable = 1;
        if (it->retry_after_s > w->retry_after_s)
            w->retry_after_s = it->retry_after_s;
    } else {
        w->refused++;
        CH_LOG_WARN(ch_runtime_log(w->in->rt), "Meta message refused",
                    CH_STR("organisation", w->org), CH_STR("account", m->account),
                    CH_STR("code", it->err.code), CH_STR("field", it->err.field),
                    CH_STR("reason", it->err.message));
    }
    item_free(it);
    webhook_next(w);
}

/* Starts the message's item: on case_id (a follow-up) or as a contact. */
static void
start_item(webhook *w, const ingest_meta_msg *m, const char *case_id)
{
    Charter__V1__CaseEvent *ev = NULL;
    ch_event_json_meta meta;
    char source[CH_GATEWAY_ID_MAX + 8];
    snprintf(source, sizeof(source), "meta:%s", m->object);
    item *it = NULL;
    if (ingest_meta_event(m, w->org, w->case_type, case_id, &ev, &meta) != 0 ||
        !(it = item_new(w->in, ev, &meta, "meta", source))) {
        ch_event_json_free(ev);
        w->unavailable = 1;
        webhook_finish(w);
        return;
    }
    it->org_authenticated = 1;
    item_own(it, w, item_ready, item_done, 1);
    ch_json_error err;
    if (ch_event_json_check_clock(ev, ch_time_now_ms(), w->in->cfg->max_future_skew_s * 1000,
                                  &err) != 0) {
        item_finish_error(it, err.status, err.code, "timestamp", err.message);
        return;
    }
    item_start(it, case_id);
}

static void
found_sender(void *arg, int rc, const ingest_dir_case *c)
{
    webhook *w = arg;
    const ingest_meta_msg *m = &w->b.msgs[w->next - 1];
    if (rc < 0) {
        w->unavailable = 1;
        webhook_finish(w);
        return;
    }
    start_item(w, m, c && c->case_id[0] ? c->case_id : NULL);
}

/* The next message, or the answer when there is none (or one was unavailable:
 * Meta sends the whole webhook again). */
static void
webhook_next(webhook *w)
{
    while (!w->unavailable && w->next < w->b.n) {
        const ingest_meta_msg *m = &w->b.msgs[w->next++];
        const ingest_meta_org *o = ingest_meta_find(w->in->meta, w->org);
        if (!m->bad && o && !ingest_meta_account_allowed(o, m->account))
            CH_LOG_WARN(ch_runtime_log(w->in->rt),
                        "Meta message refused: addressed to an account the meta file does not "
                        "list for the organisation (accounts=)",
                        CH_STR("organisation", w->org), CH_STR("account", m->account));
        else if (m->bad)
            CH_LOG_WARN(ch_runtime_log(w->in->rt), "Meta message refused",
                        CH_STR("organisation", w->org), CH_STR("field", m->field),
                        CH_STR("reason", m->why));
        else {
            ingest_dir_by_sender(w->in, w->org, "social", m->sender, found_sender, w);
            return;
        }
        w->refused++;
        ch_metric_add(w->in->m_rejected, 1);
    }
    webhook_finish(w);
}

static void
post(ingest *in, struct evhttp_request *req, const ingest_meta_org *o)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *sig = evhttp_find_header(h, INGEST_META_SIGNATURE_HEADER);
    struct evbuffer *eb = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(eb);
    if (!sig) {
        ch_metric_add(in->m_unauthorized, 1);
        ch_http_reply_error(req, 401, "missing_signature",
                            "the request has no X-Hub-Signature-256 header");
        return;
    }
    const char *body = (const char *)evbuffer_pullup(eb, -1);
    if (!body && n) {
        ch_http_reply_unavailable(req, 5, "out of memory");
        return;
    }
    if (!ingest_meta_signature_ok(o->app_secret, sig, body ? body : "", n)) {
        ch_metric_add(in->m_unauthorized, 1);
        CH_LOG_DEBUG(ch_runtime_log(in->rt), "Meta webhook signature refused",
                     CH_STR("organisation", o->organisation));
        ch_http_reply_error(req, 403, "bad_signature",
                            "X-Hub-Signature-256 does not match the body and the organisation's "
                            "app secret");
        return;
    }
    if ((int64_t)in->http_inflight >= in->cfg->max_inflight_requests) {
        ch_metric_add(in->m_overloaded, 1);
        ch_http_retry_after(req, 1);
        ch_http_reply_error(req, 503, "overloaded",
                            "too many requests are being handled (ingest.max_inflight_requests); "
                            "retry after the time in Retry-After");
        return;
    }
    webhook *w = calloc(1, sizeof(*w));
    if (!w) {
        ch_http_reply_unavailable(req, 5, "out of memory");
        return;
    }
    char err[200];
    int rc =
        ingest_meta_parse_webhook(body ? body : "", n, ch_time_now_ms(), &w->b, err, sizeof(err));
    if (rc != 0) {
        free(w);
        if (rc == CH_ENOMEM) {
            ch_http_reply_unavailable(req, 5, "out of memory");
            return;
        }
        ch_metric_add(in->m_rejected, 1);
        ch_http_reply_error(req, 400, "invalid_webhook", err);
        return;
    }
    w->in = in;
    w->req = req;
    snprintf(w->org, sizeof(w->org), "%s", o->organisation);
    snprintf(w->case_type, sizeof(w->case_type), "%s", o->case_type);
    in->http_inflight++;
    ch_metric_set(in->m_http_inflight, (double)in->http_inflight);
    if (w->b.n && !ch_runtime_kafka_up(in->rt))
        w->unavailable = 1; /* nothing can be written: Meta tries again */
    webhook_next(w);
}

/* GET and POST /v1/gateways/meta/<organisation> */
void
ingest_meta_route(void *svc, struct evhttp_request *req, const char *rest)
{
    ingest *in = svc;
    const ingest_meta_org *o = ingest_meta_find(in->meta, rest);
    if (!o) {
        ch_http_reply_error(req, 404, "not_found",
                            "no organisation of that id in ingest.meta_file: expected "
                            "/v1/gateways/meta/<organisation>");
        return;
    }
    if (evhttp_request_get_command(req) == EVHTTP_REQ_POST)
        post(in, req, o);
    else
        handshake(in, req, o);
}

int
ingest_meta_setup(ingest *in, char *errstr, size_t errstr_size)
{
    const char *path = in->cfg->meta_file;
    if (!path || !*path)
        return 0;
    ingest_meta_conf *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    int insecure = 0;
    int rc = ingest_meta_load_file(path, c, &insecure, errstr, errstr_size);
    if (rc != 0) {
        free(c);
        return rc;
    }
    in->meta = c;
    if (insecure)
        CH_LOG_WARN(ch_runtime_log(in->rt),
                    "the meta file or a secret file it names may be read by other users; "
                    "chmod 600 them",
                    CH_STR("file", path));
    CH_LOG_INFO(ch_runtime_log(in->rt), "Meta webhooks configured", CH_STR("file", path),
                CH_INT("organisations", c->n));
    return 0;
}

void
ingest_meta_fini(ingest *in)
{
    ingest_meta_conf_free(in->meta);
    free(in->meta);
    in->meta = NULL;
}
