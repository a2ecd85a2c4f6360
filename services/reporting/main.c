/*
 * charter-reporting: counts what happened, per organisation, from the event
 * stream, and serves the counts at GET /v1/report?organisation=ID.
 *
 * Counts live in Redis ("charter:report:{<org>}:counts", a hash) so they
 * survive restarts. Each event is counted at most once whatever Kafka
 * redelivers: one Lua script records the event id ("...:seen:<id>", SET NX
 * with a retention TTL) and increments the counters atomically. Fired timers
 * are counted by their stable timer id, so a timer fired twice counts once.
 * Both keys share the organisation's hash tag, so the script is valid on a
 * Redis Cluster.
 */
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/event_json.h"
#include "charter/runtime.h"
#include "charter/v1/case_event.pb-c.h"
#include "charter/v1/notification.pb-c.h"
#include "charter/v1/timer.pb-c.h"

typedef struct {
    int64_t dedupe_ttl_s;
} report_config;

static const ch_config_entry report_keys[] = {
    {"report.dedupe_ttl_s", CH_CFG_INT, "2764800", offsetof(report_config, dedupe_ttl_s),
     "how long an event id is remembered so a redelivered event is not counted twice", 3600,
     315360000, NULL},
};

/* KEYS: seen, counts. ARGV: ttl, field1, field2, ... Returns 1 if counted. */
static const char count_lua[] =
    "if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then\n"
    "  for i = 2, #ARGV do redis.call('HINCRBY', KEYS[2], ARGV[i], 1) end\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

typedef struct {
    ch_runtime *rt;
    const report_config *cfg;
    ch_metric *m_counted, *m_repeats;
} reporting;

typedef struct {
    reporting *r;
    ch_msg *m;
} count_ctx;

static const char *
timer_kind_name(Charter__V1__TimerKind k)
{
    switch (k) {
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_ACKNOWLEDGEMENT_DUE:
        return "acknowledgement_due";
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_WARNING:
        return "warning";
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH:
        return "breach";
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_DUE:
        return "review_due";
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_REMINDER:
        return "reminder";
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_WAIT_EXCEEDED:
        return "wait_exceeded";
    default:
        return "unknown";
    }
}

static const char *
case_event_name(Charter__V1__CaseEvent__EventCase c)
{
    switch (c) {
    case CHARTER__V1__CASE_EVENT__EVENT_RECEIVED:
        return "received";
    case CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED:
        return "acknowledged";
    case CHARTER__V1__CASE_EVENT__EVENT_HOLDING_REPLY:
        return "holding_reply";
    case CHARTER__V1__CASE_EVENT__EVENT_PAUSED:
        return "paused";
    case CHARTER__V1__CASE_EVENT__EVENT_RESUMED:
        return "resumed";
    case CHARTER__V1__CASE_EVENT__EVENT_RESPONDED:
        return "responded";
    case CHARTER__V1__CASE_EVENT__EVENT_CLOSED:
        return "closed";
    case CHARTER__V1__CASE_EVENT__EVENT_ESCALATED:
        return "escalated";
    case CHARTER__V1__CASE_EVENT__EVENT_APPOINTMENT:
        return "appointment";
    case CHARTER__V1__CASE_EVENT__EVENT_CALL:
        return "call";
    case CHARTER__V1__CASE_EVENT__EVENT_VISIT:
        return "visit";
    case CHARTER__V1__CASE_EVENT__EVENT_COMMUNICATION_SUPPORT:
        return "communication_support";
    case CHARTER__V1__CASE_EVENT__EVENT_SATISFACTION:
        return "satisfaction";
    default:
        return "unknown";
    }
}

static const char *
outcome_status_name(Charter__V1__NotificationOutcome__Status s)
{
    switch (s) {
    case CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_QUEUED:
        return "queued";
    case CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_SENT:
        return "sent";
    case CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_DELIVERED:
        return "delivered";
    case CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_FAILED:
        return "failed";
    case CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_SUPPRESSED:
        return "suppressed";
    default:
        return "unknown";
    }
}

static void
counted(void *opaque, redisReply *reply)
{
    count_ctx *c = opaque;
    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        ch_msg_done(c->m, CH_EAGAIN, reply && reply->str ? reply->str : "redis unavailable");
    } else {
        ch_metric_add(reply->integer ? c->r->m_counted : c->r->m_repeats, 1);
        ch_msg_done(c->m, 0, NULL);
    }
    free(c);
}

static void
count(reporting *r, ch_msg *m, const char *org, const char *event_id, const char **fields,
      int nfields)
{
    if (!org[0] || !event_id[0]) {
        ch_msg_done(m, CH_EBADMSG, "event without organisation or id");
        return;
    }
    char seen[320], counts[160], ttl[24];
    snprintf(seen, sizeof(seen), "charter:report:{%s}:seen:%s", org, event_id);
    snprintf(counts, sizeof(counts), "charter:report:{%s}:counts", org);
    snprintf(ttl, sizeof(ttl), "%lld", (long long)r->cfg->dedupe_ttl_s);
    const char *argv[16] = {"EVAL", count_lua, "2", seen, counts, ttl};
    int argc = 6;
    for (int i = 0; i < nfields && argc < 16; i++)
        argv[argc++] = fields[i];
    size_t argvlen[16];
    for (int i = 0; i < argc; i++)
        argvlen[i] = strlen(argv[i]);
    count_ctx *c = malloc(sizeof(*c));
    if (!c) {
        ch_msg_done(m, CH_EAGAIN, "out of memory");
        return;
    }
    c->r = r;
    c->m = m;
    if (ch_redis_command_argv(r->rt, counted, c, argc, argv, argvlen) != 0) {
        free(c);
        ch_msg_done(m, CH_EAGAIN, "redis unavailable");
    }
}

static void
report_on_message(void *svc, ch_msg *m, const ProtobufCMessage *msg)
{
    reporting *r = svc;
    char f1[96], f2[96];
    const char *fields[2] = {f1, f2};
    if (msg->descriptor == &charter__v1__case_event__descriptor) {
        const Charter__V1__CaseEvent *ev = (const Charter__V1__CaseEvent *)msg;
        const char *name = case_event_name(ev->event_case);
        snprintf(f1, sizeof(f1), "%s", name);
        if (ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_RECEIVED) {
            snprintf(f2, sizeof(f2), "received.%s", ch_channel_name(ev->received->channel));
            count(r, m, ev->organisation, ev->event_id, fields, 2);
        } else {
            count(r, m, ev->organisation, ev->event_id, fields, 1);
        }
    } else if (msg->descriptor == &charter__v1__timer_fired__descriptor) {
        const Charter__V1__TimerFired *t = (const Charter__V1__TimerFired *)msg;
        snprintf(f1, sizeof(f1), "timers.%s", timer_kind_name(t->kind));
        count(r, m, t->organisation, t->timer_id, fields, 1);
    } else {
        const Charter__V1__NotificationOutcome *o = (const Charter__V1__NotificationOutcome *)msg;
        snprintf(f1, sizeof(f1), "notifications.%s", outcome_status_name(o->status));
        count(r, m, o->organisation, o->event_id, fields, 1);
    }
}

typedef struct {
    reporting *r;
    struct evhttp_request *req;
    char org[128];
} report_req;

static void
report_loaded(void *opaque, redisReply *reply)
{
    report_req *q = opaque;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        evhttp_add_header(evhttp_request_get_output_headers(q->req), "Retry-After", "5");
        ch_http_reply_error(q->req, 503, "unavailable", "Redis is not answering; retry");
        free(q);
        return;
    }
    json_t *counts = json_object();
    for (size_t i = 0; i + 1 < reply->elements; i += 2)
        json_object_set_new(counts, reply->element[i]->str,
                            json_integer(strtoll(reply->element[i + 1]->str, NULL, 10)));
    static const char *always[] = {
        "received",      "acknowledged",      "responded", "closed", "timers.acknowledgement_due",
        "timers.breach", "notifications.sent"};
    for (size_t i = 0; i < sizeof(always) / sizeof(always[0]); i++)
        if (!json_object_get(counts, always[i]))
            json_object_set_new(counts, always[i], json_integer(0));
    json_t *body = json_pack("{s:s, s:o}", "organisation", q->org, "counts", counts);
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(body);
    if (text)
        ch_http_reply_json(q->req, 200, text);
    else
        ch_http_reply_error(q->req, 500, "internal", "out of memory");
    free(text);
    free(q);
}

/* GET /v1/report?organisation=ID */
static void
get_report(void *svc, struct evhttp_request *req, const char *rest)
{
    (void)rest;
    reporting *r = svc;
    struct evkeyvalq params;
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    if (!query || evhttp_parse_query_str(query, &params) != 0) {
        ch_http_reply_error_field(req, 400, "missing_parameter", "organisation",
                                  "query parameter 'organisation' is required");
        return;
    }
    const char *org = evhttp_find_header(&params, "organisation");
    if (!org || !org[0] || strlen(org) >= 128 || strpbrk(org, "{}:")) {
        ch_http_reply_error_field(
            req, 400, "missing_parameter", "organisation",
            "query parameter 'organisation' is required (an organisation id)");
        evhttp_clear_headers(&params);
        return;
    }
    report_req *q = calloc(1, sizeof(*q));
    if (!q) {
        evhttp_clear_headers(&params);
        ch_http_reply_error(req, 500, "internal", "out of memory");
        return;
    }
    q->r = r;
    q->req = req;
    snprintf(q->org, sizeof(q->org), "%s", org);
    evhttp_clear_headers(&params);
    if (ch_redis_command(r->rt, report_loaded, q, "HGETALL charter:report:{%s}:counts", q->org) !=
        0) {
        free(q);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "5");
        ch_http_reply_error(req, 503, "unavailable", "Redis is not connected; retry");
    }
}

static const ch_route routes[] = {
    {CH_HTTP_GET, "/v1/report", 0, get_report},
};

static const ch_subscription subs[] = {
    {"charter.contact.events.v1", &charter__v1__case_event__descriptor},
    {"charter.sla.timers.v1", &charter__v1__timer_fired__descriptor},
    {"charter.notify.outcomes.v1", &charter__v1__notification_outcome__descriptor},
};

static int
report_init(ch_runtime *rt, const void *config, void **svc, char *errstr, size_t errstr_size)
{
    reporting *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    r->rt = rt;
    r->cfg = config;
    r->m_counted = ch_metric_counter(rt, "charter_report_events_counted_total", "events counted");
    r->m_repeats = ch_metric_counter(rt, "charter_report_events_repeated_total",
                                     "redelivered events recognised and not counted again");
    *svc = r;
    return 0;
}

static void
report_fini(void *svc)
{
    free(svc);
}

static const ch_service report_service = {
    .name = "reporting",
    .env_prefix = "CHARTER_REPORT_",
    .default_http_listen = "127.0.0.1:8081",
    .config = report_keys,
    .nconfig = sizeof(report_keys) / sizeof(report_keys[0]),
    .config_size = sizeof(report_config),
    .subs = subs,
    .nsubs = sizeof(subs) / sizeof(subs[0]),
    .routes = routes,
    .nroutes = sizeof(routes) / sizeof(routes[0]),
    .init = report_init,
    .on_message = report_on_message,
    .fini = report_fini,
};

int
main(int argc, char **argv, char **envp)
{
    return ch_runtime_main(&report_service, argc, argv, envp);
}
