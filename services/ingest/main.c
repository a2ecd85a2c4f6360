/*
 * charter-ingest: Charter's front door. It turns JSON from the outside into
 * protobuf CaseEvents on charter.contact.events.v1, keyed by case id.
 *
 * An HTTP answer of 202 is given only after Kafka acknowledged the write, so
 * a client that saw 202 knows the event is durable; anything else (Redis or
 * Kafka unavailable) answers 503 with Retry-After and nothing half-done.
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "charter/errors.h"
#include "charter/event_json.h"
#include "charter/ids.h"
#include "charter/runtime.h"
#include "charter/timeutil.h"

typedef struct {
    char *organisations; /* "id:PREFIX,id:PREFIX" */
    char *topic;
    int64_t max_body_bytes;
} ingest_config;

typedef struct {
    char id[64];
    char prefix[16];
} organisation;

typedef struct {
    ch_runtime *rt;
    const ingest_config *cfg;
    organisation *orgs;
    size_t norgs;
    ch_metric *m_accepted, *m_rejected, *m_unavailable;
} ingest;

/* One request waiting for Redis and then Kafka. */
typedef struct {
    ingest *in;
    struct evhttp_request *req;
    Charter__V1__CaseEvent *ev;
    const organisation *org;
} pending;

static int
validate_orgs(const char *text, char *errstr, size_t errstr_size)
{
    const char *p = text;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *colon = memchr(p, ':', n);
        if (!colon || colon == p || (size_t)(colon - p) >= 64 || n - (size_t)(colon - p) - 1 == 0 ||
            n - (size_t)(colon - p) - 1 >= 16) {
            snprintf(errstr, errstr_size,
                     "'%.*s' is not ID:PREFIX (e.g. nottingham-city-homes:NCH)", (int)n, p);
            return CH_EINVAL;
        }
        p += n + (comma ? 1 : 0);
    }
    return 0;
}

static const ch_config_entry ingest_keys[] = {
    {"ingest.organisations", CH_CFG_STRING,
     "nottingham-city-homes:NCH,derby-homes:DH,nihe:NIHE,digital-first-council:DFC,"
     "customer-care-council:CCC",
     offsetof(ingest_config, organisations),
     "organisations accepted, as ID:REFERENCE-PREFIX pairs separated by commas", 0, 0,
     validate_orgs},
    {"ingest.topic", CH_CFG_STRING, "charter.contact.events.v1", offsetof(ingest_config, topic),
     "topic case events are written to", 0, 0, NULL},
    {"ingest.max_body_bytes", CH_CFG_INT, "65536", offsetof(ingest_config, max_body_bytes),
     "largest request body accepted; larger bodies get 413", 256, 16 * 1024 * 1024, NULL},
};

static const organisation *
find_org(const ingest *in, const char *id)
{
    for (size_t i = 0; i < in->norgs; i++)
        if (strcmp(in->orgs[i].id, id) == 0)
            return &in->orgs[i];
    return NULL;
}

static void
pending_free(pending *p)
{
    ch_event_json_free(p->ev);
    free(p);
}

static void
unavailable(ingest *in, struct evhttp_request *req, const char *why)
{
    ch_metric_add(in->m_unavailable, 1);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "5");
    ch_http_reply_error(req, 503, "unavailable", why);
}

/*
 * Reads the body, checking the content type and size first. Returns a
 * NUL-terminated copy (caller frees) or NULL after answering the request.
 */
static char *
read_body(ingest *in, struct evhttp_request *req, size_t *len)
{
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    if (!ct || strncasecmp(ct, "application/json", 16) != 0 ||
        (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ')) {
        ch_metric_add(in->m_rejected, 1);
        ch_http_reply_error(req, 415, "unsupported_media_type",
                            "send the body as Content-Type: application/json");
        return NULL;
    }
    struct evbuffer *b = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(b);
    if ((int64_t)n > in->cfg->max_body_bytes) {
        ch_metric_add(in->m_rejected, 1);
        ch_http_reply_error(req, 413, "body_too_large", "the body is larger than the limit");
        return NULL;
    }
    char *body = malloc(n + 1);
    if (!body) {
        unavailable(in, req, "out of memory");
        return NULL;
    }
    evbuffer_copyout(b, body, n);
    body[n] = '\0';
    *len = n;
    return body;
}

static void
reply_json_error(ingest *in, struct evhttp_request *req, const ch_json_error *err)
{
    ch_metric_add(in->m_rejected, 1);
    ch_http_reply_error_field(req, err->status, err->code, err->field, err->message);
}

static void
delivered(void *opaque, int rc, int32_t partition, int64_t offset, const char *errstr)
{
    (void)errstr;
    pending *p = opaque;
    ingest *in = p->in;
    if (rc != 0) {
        unavailable(in, p->req, "the event could not be written to Kafka; retry");
        pending_free(p);
        return;
    }
    ch_metric_add(in->m_accepted, 1);
    char body[512];
    if (p->ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_RECEIVED)
        snprintf(body, sizeof(body),
                 "{\"case_id\":\"%s\",\"reference\":\"%s\",\"event_id\":\"%s\"}", p->ev->case_id,
                 p->ev->received->reference, p->ev->event_id);
    else
        snprintf(body, sizeof(body), "{\"case_id\":\"%s\",\"event_id\":\"%s\"}", p->ev->case_id,
                 p->ev->event_id);
    CH_LOG_INFO(ch_runtime_log(in->rt), "case event accepted", CH_STR("case_id", p->ev->case_id),
                CH_STR("event_id", p->ev->event_id), CH_STR("organisation", p->ev->organisation),
                CH_INT("event", p->ev->event_case), CH_INT("partition", partition),
                CH_INT("offset", offset));
    ch_http_reply_json(p->req, 202, body);
    pending_free(p);
}

static void
produce_event(pending *p)
{
    ingest *in = p->in;
    Charter__V1__Timestamp *ts = malloc(sizeof(*ts));
    if (!ts) {
        unavailable(in, p->req, "out of memory");
        pending_free(p);
        return;
    }
    charter__v1__timestamp__init(ts);
    int64_t now = ch_time_now_ms();
    ch_time_split_ms(now, &ts->seconds, &ts->nanos);
    p->ev->ingested_at = ts;
    if (ch_produce(in->rt, in->cfg->topic, p->ev->case_id, &p->ev->base, delivered, p) != 0) {
        unavailable(in, p->req, "Kafka is not accepting writes; retry");
        pending_free(p);
    }
}

static void
reference_allocated(void *opaque, redisReply *reply)
{
    pending *p = opaque;
    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        unavailable(p->in, p->req, "could not allocate a case reference; retry");
        pending_free(p);
        return;
    }
    time_t secs = (time_t)p->ev->occurred_at->seconds;
    struct tm tm;
    gmtime_r(&secs, &tm);
    char ref[64];
    snprintf(ref, sizeof(ref), "%s-%04d-%06lld", p->org->prefix, tm.tm_year + 1900,
             (long long)reply->integer);
    char *copy = strdup(ref);
    if (!copy) {
        unavailable(p->in, p->req, "out of memory");
        pending_free(p);
        return;
    }
    p->ev->received->reference = copy;
    produce_event(p);
}

static int
set_ids(pending *p, const char *case_id, const char *source)
{
    char id[CH_UUID_BUFSZ];
    if (ch_uuid4(id) != 0 || !(p->ev->event_id = strdup(id)))
        return CH_EIO;
    if (!case_id) {
        if (ch_uuid4(id) != 0)
            return CH_EIO;
        case_id = id;
    }
    if (!(p->ev->case_id = strdup(case_id)) || !(p->ev->source = strdup(source)))
        return CH_ENOMEM;
    return 0;
}

/* POST /v1/contacts */
static void
post_contact(void *svc, struct evhttp_request *req, const char *rest)
{
    (void)rest;
    ingest *in = svc;
    size_t len;
    char *body = read_body(in, req, &len);
    if (!body)
        return;
    ch_json_error err;
    Charter__V1__CaseEvent *ev = NULL;
    int rc = ch_event_json_parse_contact(body, len, &ev, &err);
    free(body);
    if (rc) {
        reply_json_error(in, req, &err);
        return;
    }
    const organisation *org = find_org(in, ev->organisation);
    if (!org) {
        ch_metric_add(in->m_rejected, 1);
        ch_http_reply_error(req, 422, "unknown_organisation",
                            "field 'organisation' names no organisation Charter knows");
        ch_event_json_free(ev);
        return;
    }
    pending *p = calloc(1, sizeof(*p));
    if (!p) {
        ch_event_json_free(ev);
        unavailable(in, req, "out of memory");
        return;
    }
    p->in = in;
    p->req = req;
    p->ev = ev;
    p->org = org;
    if (set_ids(p, NULL, "http") != 0) {
        unavailable(in, req, "could not allocate identifiers");
        pending_free(p);
        return;
    }
    time_t secs = (time_t)ev->occurred_at->seconds;
    struct tm tm;
    gmtime_r(&secs, &tm);
    char key[160];
    snprintf(key, sizeof(key), "charter:ref:{%s}:%04d", org->id, tm.tm_year + 1900);
    if (ch_redis_command(in->rt, reference_allocated, p, "INCR %s", key) != 0) {
        unavailable(in, req, "Redis is not connected; retry");
        pending_free(p);
    }
}

static int
valid_case_id(const char *s, size_t n)
{
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

/* POST /v1/cases/{case_id}/events */
static void
post_case_event(void *svc, struct evhttp_request *req, const char *rest)
{
    ingest *in = svc;
    const char *slash = strchr(rest, '/');
    if (!slash || strcmp(slash, "/events") != 0 || !valid_case_id(rest, (size_t)(slash - rest))) {
        ch_http_reply_error(req, 404, "not_found",
                            "expected /v1/cases/{case_id}/events with a case id of letters, "
                            "digits, '-' or '_'");
        return;
    }
    char case_id[65];
    memcpy(case_id, rest, (size_t)(slash - rest));
    case_id[slash - rest] = '\0';
    size_t len;
    char *body = read_body(in, req, &len);
    if (!body)
        return;
    ch_json_error err;
    Charter__V1__CaseEvent *ev = NULL;
    int rc = ch_event_json_parse_case_event(body, len, &ev, &err);
    free(body);
    if (rc) {
        reply_json_error(in, req, &err);
        return;
    }
    if (!find_org(in, ev->organisation)) {
        ch_metric_add(in->m_rejected, 1);
        ch_http_reply_error(req, 422, "unknown_organisation",
                            "field 'organisation' names no organisation Charter knows");
        ch_event_json_free(ev);
        return;
    }
    pending *p = calloc(1, sizeof(*p));
    if (!p) {
        ch_event_json_free(ev);
        unavailable(in, req, "out of memory");
        return;
    }
    p->in = in;
    p->req = req;
    p->ev = ev;
    if (set_ids(p, case_id, "http") != 0) {
        unavailable(in, req, "could not allocate identifiers");
        pending_free(p);
        return;
    }
    produce_event(p);
}

static const ch_route routes[] = {
    {CH_HTTP_POST, "/v1/contacts", 0, post_contact},
    {CH_HTTP_POST, "/v1/cases/", 1, post_case_event},
};

static int
ingest_init(ch_runtime *rt, const void *config, void **svc, char *errstr, size_t errstr_size)
{
    const ingest_config *cfg = config;
    ingest *in = calloc(1, sizeof(*in));
    if (!in)
        goto oom;
    in->rt = rt;
    in->cfg = cfg;
    size_t n = 1;
    for (const char *c = cfg->organisations; *c; c++)
        n += *c == ',';
    in->orgs = calloc(n, sizeof(*in->orgs));
    if (!in->orgs)
        goto oom;
    const char *p = cfg->organisations;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        organisation *o = &in->orgs[in->norgs++];
        snprintf(o->id, sizeof(o->id), "%.*s", (int)(colon - p), p);
        snprintf(o->prefix, sizeof(o->prefix), "%.*s", (int)(len - (size_t)(colon - p) - 1),
                 colon + 1);
        p += len + (comma ? 1 : 0);
    }
    in->m_accepted = ch_metric_counter(rt, "charter_ingest_accepted_total",
                                       "case events accepted (202) after Kafka acknowledged them");
    in->m_rejected =
        ch_metric_counter(rt, "charter_ingest_rejected_total", "requests refused as bad input");
    in->m_unavailable = ch_metric_counter(rt, "charter_ingest_unavailable_total",
                                          "requests answered 503 (Kafka or Redis unavailable)");
    *svc = in;
    return 0;
oom:
    if (in)
        free(in->orgs);
    free(in);
    snprintf(errstr, errstr_size, "out of memory");
    return CH_ENOMEM;
}

static void
ingest_fini(void *svc)
{
    ingest *in = svc;
    free(in->orgs);
    free(in);
}

static const ch_service ingest_service = {
    .name = "ingest",
    .env_prefix = "CHARTER_INGEST_",
    .default_http_listen = "127.0.0.1:8080",
    .config = ingest_keys,
    .nconfig = sizeof(ingest_keys) / sizeof(ingest_keys[0]),
    .config_size = sizeof(ingest_config),
    .routes = routes,
    .nroutes = sizeof(routes) / sizeof(routes[0]),
    .init = ingest_init,
    .fini = ingest_fini,
};

int
main(int argc, char **argv, char **envp)
{
    return ch_runtime_main(&ingest_service, argc, argv, envp);
}
