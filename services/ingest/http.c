/*
 * ingest's HTTP API (docs/api.md): single events and NDJSON batches, each
 * request authenticated by its gateway's HMAC signature.
 *
 * The order of the checks is part of the contract: who is calling (401) is
 * settled from the headers before anything else, then the size (413), then
 * the signature over the method, the request target as received (path and
 * query) and the body (401), then the media type (415); only a request that
 * passed all four is parsed. Whether the gateway may write for the event's
 * organisation (403) is the pipeline's (item_start), per event, so a batch
 * line and a gateway-topic record are judged alike. A batch answers once every line
 * has its own outcome; lines are produced to Kafka in their order in the
 * body, so events on one case keep the order the gateway gave them.
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "charter/errors.h"
#include "charter/timeutil.h"
#include "ingest.h"
#include "token.h"

typedef struct {
    ingest *in;
    struct evhttp_request *req;
    char gateway[CH_GATEWAY_ID_MAX + 1];
    char source[CH_GATEWAY_ID_MAX + 8];
} caller;

static void
reply_error(struct evhttp_request *req, ch_metric *metric, int status, const char *code,
            const char *field, const char *message)
{
    ch_metric_add(metric, 1);
    ch_http_reply_error_field(req, status, code, field, message);
}

static void
reply_unavailable(ingest *in, struct evhttp_request *req, const char *message)
{
    ch_metric_add(in->m_unavailable, 1);
    ch_http_reply_unavailable(req, 5, message);
}

/* Requests (a single event or a batch) past their checks and not yet
 * answered: each holds its items, and Kafka's queue its writes. */
static void
inflight_add(ingest *in, int d)
{
    in->http_inflight = (size_t)((int64_t)in->http_inflight + d);
    ch_metric_set(in->m_http_inflight, (double)in->http_inflight);
}

static int
media_type_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    return ct && strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* The method as a v2 signature names it; ingest's routes are all POST. */
static const char *
method_name(struct evhttp_request *req)
{
    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    default:
        return NULL; /* nothing signed with v2 matches */
    }
}

/*
 * Authenticates the request and copies its body. Returns the NUL-terminated
 * body (caller frees) with *ndjson set when it is a batch, or NULL after
 * answering the request.
 */
static char *
read_signed_body(caller *c, int allow_ndjson, size_t *len, int *ndjson)
{
    ingest *in = c->in;
    struct evhttp_request *req = c->req;
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *gw = evhttp_find_header(h, CH_SIG_HEADER_GATEWAY);
    const char *sig = evhttp_find_header(h, CH_SIG_HEADER_SIGNATURE);
    int64_t now_s = ch_time_now_ms() / 1000;
    ch_sig_result r = ch_sig_check_header(in->gateways, gw, sig, now_s, CH_SIG_TOLERANCE_S);
    struct evbuffer *b = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(b);
    char *body = NULL;
    if (r == CH_SIG_OK && (int64_t)n > in->cfg->max_body_bytes) {
        reply_error(req, in->m_rejected, 413, "body_too_large", NULL,
                    "the body is larger than the limit (ingest.max_body_bytes)");
        return NULL;
    }
    if (r == CH_SIG_OK) {
        if (!(body = malloc(n + 1))) {
            reply_unavailable(in, req, "out of memory");
            return NULL;
        }
        evbuffer_copyout(b, body, n);
        body[n] = '\0';
        ch_sig_request rq = {method_name(req), evhttp_request_get_uri(req), body, n};
        r = ch_sig_verify(in->gateways, gw, sig, &rq, now_s, CH_SIG_TOLERANCE_S);
    }
    if (r != CH_SIG_OK) {
        free(body);
        /* the gateway id is logged only when it is one we know: the header is
         * the caller's text. At debug: anyone can send these, and
         * charter_ingest_unauthorized_total counts them (ingest's tick logs a
         * summary at most once a minute). */
        CH_LOG_DEBUG(ch_runtime_log(in->rt), "request not authenticated",
                     CH_STR("reason", ch_sig_code(r)),
                     CH_STR("gateway", ch_gateways_has(in->gateways, gw) ? gw : "(unknown)"));
        reply_error(req, in->m_unauthorized, 401, ch_sig_code(r), NULL, ch_sig_message(r));
        return NULL;
    }
    const char *ct = evhttp_find_header(h, "Content-Type");
    *ndjson = allow_ndjson && (media_type_is(ct, "application/x-ndjson") ||
                               media_type_is(ct, "application/ndjson"));
    if (!*ndjson && !media_type_is(ct, "application/json")) {
        free(body);
        reply_error(req, in->m_rejected, 415, "unsupported_media_type", NULL,
                    allow_ndjson ? "send one event as Content-Type: application/json, or a "
                                   "batch as application/x-ndjson"
                                 : "send the body as Content-Type: application/json");
        return NULL;
    }
    snprintf(c->gateway, sizeof(c->gateway), "%s", gw);
    snprintf(c->source, sizeof(c->source), "http:%s", gw);
    *len = n;
    return body;
}

/* The JSON answer for an item that ended 200 or 202. */
static json_t *
answer_json(const item *it)
{
    json_t *o = json_object();
    json_object_set_new(o, "case_id", json_string(it->case_id));
    if (it->reference[0])
        json_object_set_new(o, "reference", json_string(it->reference));
    json_object_set_new(o, "event_id", json_string(it->event_id));
    if (it->status == 200)
        json_object_set_new(o, "duplicate", json_true());
    return o;
}

/* Letters, digits, '-' and '_' only: nothing to escape in JSON. */
static int
plain_text(const char *s)
{
    return *s == '\0' || ingest_token_valid(s, strlen(s), SIZE_MAX, 0);
}

/* Answers an item that ended 200 or 202 with answer_json's text, formatted
 * directly when its identifiers need no escaping (always, in practice): this
 * is every accepted request's answer. */
static void
reply_answer(struct evhttp_request *req, const item *it)
{
    char buf[512];
    if (!plain_text(it->case_id) || !plain_text(it->reference) || !plain_text(it->event_id) ||
        snprintf(buf, sizeof(buf), "{\"case_id\":\"%s\"%s%s%s,\"event_id\":\"%s\"%s}", it->case_id,
                 it->reference[0] ? ",\"reference\":\"" : "", it->reference,
                 it->reference[0] ? "\"" : "", it->event_id,
                 it->status == 200 ? ",\"duplicate\":true" : "") >= (int)sizeof(buf)) {
        ch_http_reply_json_value(req, it->status, answer_json(it));
        return;
    }
    ch_http_reply_json(req, it->status, buf);
}

/* ---- one event per request ---- */

typedef struct {
    caller c;
    item *it;
} single;

static void
single_ready(item *it)
{
    item_produce(it);
}

static void
single_done(item *it)
{
    single *s = it->owner;
    ingest *it_in = it->in;
    struct evhttp_request *req = s->c.req;
    if (it->retry_after_s)
        ch_http_retry_after(req, it->retry_after_s);
    if (it->status == 200 || it->status == 202)
        reply_answer(req, it);
    else
        ch_http_reply_error_field(req, it->status, it->err.code, it->err.field, it->err.message);
    item_free(it);
    free(s);
    inflight_add(it_in, -1);
}

/* One event from an authenticated body (which the caller frees). */
static void
handle_single(const caller *c, const char *body, size_t len, ch_event_json_kind kind,
              const char *case_id)
{
    ingest *in = c->in;
    struct evhttp_request *req = c->req;
    single *s = calloc(1, sizeof(*s));
    if (!s) {
        reply_unavailable(in, req, "out of memory");
        return;
    }
    s->c = *c;
    Charter__V1__CaseEvent *ev = NULL;
    ch_event_json_meta meta;
    ch_json_error err;
    int rc = ingest_parse(in, body, len, kind, &ev, &meta, &err);
    if (rc) {
        reply_error(req, in->m_rejected, err.status, err.code, err.field, err.message);
        free(s);
        return;
    }
    item *it = item_new(in, ev, &meta, s->c.gateway, s->c.source);
    if (!it) {
        ch_event_json_free(ev);
        reply_unavailable(in, req, "out of memory");
        free(s);
        return;
    }
    s->it = it;
    inflight_add(in, 1);
    item_own(it, s, single_ready, single_done, 1);
    item_start(it, case_id ? case_id : (meta.case_id[0] ? meta.case_id : NULL));
}

static void handle_batch(ingest *in, struct evhttp_request *req, caller *c, const char *body,
                         size_t len);

/* Authenticates, then handles one event of the given kind, or (batches 1)
 * an NDJSON batch of records. */
static void
post(ingest *in, struct evhttp_request *req, int batches, ch_event_json_kind kind,
     const char *case_id)
{
    caller c = {in, req, "", ""};
    size_t len;
    int ndjson;
    if ((int64_t)in->http_inflight >= in->cfg->max_inflight_requests) {
        ch_metric_add(in->m_overloaded, 1);
        ch_http_retry_after(req, 1);
        ch_http_reply_error(req, 503, "overloaded",
                            "too many requests are being handled (ingest.max_inflight_requests); "
                            "retry after the time in Retry-After");
        return;
    }
    char *body = read_signed_body(&c, batches, &len, &ndjson);
    if (!body)
        return;
    if (ndjson)
        handle_batch(in, req, &c, body, len);
    else
        handle_single(&c, body, len, kind, case_id);
    free(body);
}

/* POST /v1/contacts */
void
ingest_post_contact(void *svc, struct evhttp_request *req, const char *rest)
{
    (void)rest;
    post(svc, req, 0, CH_EVENT_JSON_CONTACT, NULL);
}

/* POST /v1/cases/{case_id}/events */
void
ingest_post_case_event(void *svc, struct evhttp_request *req, const char *rest)
{
    ingest *in = svc;
    const char *slash = strchr(rest, '/');
    if (!slash || strcmp(slash, "/events") != 0 ||
        !ch_event_json_valid_case_id(rest, (size_t)(slash - rest))) {
        ch_http_reply_error(req, 404, "not_found",
                            "expected /v1/cases/{case_id}/events with a case id of letters, "
                            "digits, '-' or '_'");
        return;
    }
    char case_id[CH_CASE_ID_MAX + 1];
    memcpy(case_id, rest, (size_t)(slash - rest));
    case_id[slash - rest] = '\0';
    post(in, req, 0, CH_EVENT_JSON_CASE_EVENT, case_id);
}

/* ---- NDJSON batches ---- */

typedef struct {
    caller c;
    size_t n, next;
    size_t refs; /* items not done + 1 while the batch is being worked on */
    int pumping;
    item *items[]; /* one per non-blank line, n of them so far */
} batch;

static void
batch_reply(batch *b)
{
    json_t *results = json_array();
    size_t accepted = 0, duplicates = 0, refused = 0, unavailable = 0;
    int retry_after = 0;
    for (size_t i = 0; i < b->n; i++) {
        item *it = b->items[i];
        json_t *r;
        if (it->status == 200 || it->status == 202) {
            r = answer_json(it);
            accepted += it->status == 202;
            duplicates += it->status == 200;
        } else {
            char message[320];
            snprintf(message, sizeof(message), "line %zu: %s", it->line, it->err.message);
            r = json_object();
            /* the parser's messages are UTF-8 (a quote is cut on a character
             * boundary); should one not be, the line still gets its error */
            json_t *e = json_pack("{s:s,s:s}", "code", it->err.code, "message", message);
            if (!e)
                e = json_pack("{s:s,s:s}", "code", it->err.code, "message",
                              "the line was refused (its message could not be encoded)");
            if (e && it->err.field[0])
                json_object_set_new(e, "field", json_string(it->err.field));
            json_object_set_new(r, "error", e);
            if (it->status == 503 || it->status == 409)
                unavailable++;
            else
                refused++;
            if (it->retry_after_s > retry_after)
                retry_after = it->retry_after_s;
        }
        json_object_set_new(r, "line", json_integer((json_int_t)it->line));
        json_object_set_new(r, "status", json_integer(it->status));
        json_array_append_new(results, r);
    }
    json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:o}", "accepted", (json_int_t)accepted, "duplicates",
                          (json_int_t)duplicates, "refused", (json_int_t)refused, "unavailable",
                          (json_int_t)unavailable, "results", results);
    if (retry_after)
        ch_http_retry_after(b->c.req, retry_after);
    ch_http_reply_json_value(b->c.req, 200, o);
}

static void
batch_free(batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        item_free(b->items[i]);
    free(b);
}

static void
batch_unref(batch *b)
{
    if (--b->refs > 0)
        return;
    ingest *in = b->c.in;
    batch_reply(b);
    batch_free(b);
    inflight_add(in, -1);
}

/* Produces ready items strictly in line order. */
static void
batch_pump(batch *b)
{
    if (b->pumping)
        return;
    b->pumping = 1;
    b->refs++;
    while (b->next < b->n) {
        item *it = b->items[b->next];
        if (it->state == ITEM_READY) {
            b->next++;
            item_produce(it);
        } else if (it->state == ITEM_DONE || it->state == ITEM_PRODUCING) {
            b->next++;
        } else {
            break;
        }
    }
    b->pumping = 0;
    batch_unref(b);
}

static void
batch_ready(item *it)
{
    batch_pump(it->owner);
}

/* A finished line may unblock the lines after it; the line's own reference
 * keeps the batch alive through the pump. */
static void
batch_done(item *it)
{
    batch *b = it->owner;
    batch_pump(b);
    batch_unref(b);
}

static void
handle_batch(ingest *in, struct evhttp_request *req, caller *c, const char *body, size_t len)
{
    size_t lines = 0, pos = 0, ll;
    const char *line;
    while (ch_event_json_next_line(body, len, &pos, &line, &ll))
        lines++;
    batch *b = calloc(1, sizeof(*b) + lines * sizeof(b->items[0]));
    if (!b) {
        reply_unavailable(in, req, "out of memory");
        return;
    }
    b->c = *c;
    size_t lineno = 0;
    pos = 0;
    while (ch_event_json_next_line(body, len, &pos, &line, &ll)) {
        lineno++;
        size_t k = 0;
        while (k < ll && (line[k] == ' ' || line[k] == '\t'))
            k++;
        if (k == ll)
            continue; /* blank lines are allowed and keep the numbering */
        if ((int64_t)b->n == in->cfg->max_batch_lines) {
            batch_free(b);
            char msg[160];
            snprintf(msg, sizeof(msg),
                     "a batch may hold at most %lld events "
                     "(ingest.max_batch_lines)",
                     (long long)in->cfg->max_batch_lines);
            reply_error(req, in->m_rejected, 413, "batch_too_large", NULL, msg);
            return;
        }
        Charter__V1__CaseEvent *ev = NULL;
        ch_event_json_meta meta;
        ch_json_error err;
        item *it;
        if (ingest_parse(in, line, ll, CH_EVENT_JSON_RECORD, &ev, &meta, &err) != 0) {
            it = item_new_refused(in, &err);
        } else if (!(it = item_new(in, ev, &meta, b->c.gateway, b->c.source))) {
            ch_event_json_free(ev);
        }
        if (!it) {
            batch_free(b);
            reply_unavailable(in, req, "out of memory");
            return;
        }
        it->line = lineno;
        item_own(it, b, batch_ready, batch_done, 1);
        b->items[b->n++] = it;
    }
    if (b->n == 0) {
        batch_free(b);
        reply_error(req, in->m_rejected, 422, "empty_batch", NULL,
                    "the batch holds no events: one JSON object per line");
        return;
    }
    /* the pending refs: one per item still to finish, plus this function's */
    inflight_add(in, 1);
    b->refs = 1;
    for (size_t i = 0; i < b->n; i++)
        b->refs += b->items[i]->state != ITEM_DONE;
    for (size_t i = 0; i < b->n; i++) {
        item *it = b->items[i];
        if (it->state == ITEM_NEW)
            item_start(it, it->meta.case_id[0] ? it->meta.case_id : NULL);
    }
    batch_pump(b);
    batch_unref(b);
}

/* POST /v1/events: one record (application/json) or a batch (application/x-ndjson). */
void
ingest_post_events(void *svc, struct evhttp_request *req, const char *rest)
{
    (void)rest;
    post(svc, req, 1, CH_EVENT_JSON_RECORD, NULL);
}
