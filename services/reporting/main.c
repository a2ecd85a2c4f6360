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
 *
 * The charter's figures (report_agg.h) are kept beside those counts: each
 * record moves its case's small state ("...:case:<case>", JSON) and the
 * figures hash ("...:figures", "<period>|<channel>|<type>|<figure>") by the
 * deltas ch_report_on_*() compute, in one compare-and-set script, so a
 * redelivered record changes nothing and a replay rebuilds the same figures.
 * Open cases with a running clock are in "...:open" (score: the target in
 * force) to count those overdue at the moment of the request. Policies come
 * from report.policy_dir; without one nothing is judged "in time".
 */
#include <dirent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/event_json.h"
#include "charter/report_agg.h"
#include "charter/runtime.h"
#include "charter/timeutil.h"
#include "charter/v1/case_event.pb-c.h"
#include "charter/v1/notification.pb-c.h"
#include "charter/v1/timer.pb-c.h"

typedef struct {
    int64_t dedupe_ttl_s;
    char *policy_dir;
    int64_t case_ttl_s;
} report_config;

static const ch_config_entry report_keys[] = {
    {"report.dedupe_ttl_s", CH_CFG_INT, "2764800", offsetof(report_config, dedupe_ttl_s),
     "how long an event id is remembered so a redelivered event is not counted twice", 3600,
     315360000, NULL},
    {"report.policy_dir", CH_CFG_STRING, "", offsetof(report_config, policy_dir),
     "directory of policy files (<organisation>.yaml) that say what is in time; empty: none", 0, 0,
     NULL},
    {"report.case_ttl_s", CH_CFG_INT, "34560000", offsetof(report_config, case_ttl_s),
     "how long a case's reporting state is kept after its last record", 86400, 315360000, NULL},
};

/* KEYS: case, figures, open. ARGV: old state ("" for none), new state, ttl,
 * open op ("add", "rem" or ""), open member, score, then field/delta pairs.
 * Returns 1, or -1 when the case changed since it was read. */
static const char figures_lua[] =
    "local cur = redis.call('GET', KEYS[1])\n"
    "if (cur or '') ~= ARGV[1] then return -1 end\n"
    "redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])\n"
    "for i = 7, #ARGV, 2 do redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1]) end\n"
    "if ARGV[4] == 'add' then redis.call('ZADD', KEYS[3], ARGV[6], ARGV[5])\n"
    "elseif ARGV[4] == 'rem' then redis.call('ZREM', KEYS[3], ARGV[5]) end\n"
    "return 1\n";

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
    ch_org_set orgs; /* empty without report.policy_dir */
    ch_metric *m_counted, *m_repeats, *m_conflicts;
} reporting;

typedef struct {
    reporting *r;
    ch_msg *m;
    const ProtobufCMessage *msg;
    char org[128];
    char case_id[96];
    char *old_state;
} count_ctx;

/* ---- policies ---- */

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
ctx_done(count_ctx *c, int rc, const char *why)
{
    ch_msg_done(c->m, rc, why);
    free(c->old_state);
    free(c);
}

static void
figures_written(void *opaque, redisReply *reply)
{
    count_ctx *c = opaque;
    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        ctx_done(c, CH_EAGAIN, reply && reply->str ? reply->str : "redis unavailable");
        return;
    }
    if (reply->integer < 0) {
        ch_metric_add(c->r->m_conflicts, 1);
        ctx_done(c, CH_EAGAIN, "the case changed meanwhile; retrying");
        return;
    }
    ctx_done(c, 0, NULL);
}

/* Applies the record to the case read back and writes state and deltas. */
static void
case_loaded(void *opaque, redisReply *reply)
{
    count_ctx *c = opaque;
    if (!reply || (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_NIL)) {
        ctx_done(c, CH_EAGAIN, "redis unavailable");
        return;
    }
    ch_report_case rc;
    memset(&rc, 0, sizeof(rc));
    if (reply->type == REDIS_REPLY_STRING) {
        c->old_state = strndup(reply->str, reply->len);
        if (!c->old_state) {
            ctx_done(c, CH_EAGAIN, "out of memory");
            return;
        }
        if (ch_report_case_from_json(reply->str, reply->len, &rc) != 0)
            CH_LOG_WARN(ch_runtime_log(c->r->rt), "report case state unreadable; starting again",
                        CH_STR("case_id", c->case_id));
    }
    const ch_org_clocks *oc = ch_org_set_find(&c->r->orgs, c->org);
    ch_report_item *delta = malloc(CH_REPORT_MAX_ITEMS * sizeof(*delta));
    if (!delta) {
        ctx_done(c, CH_EAGAIN, "out of memory");
        return;
    }
    int n;
    const ProtobufCMessage *msg = c->msg;
    if (msg->descriptor == &charter__v1__case_event__descriptor)
        n = ch_report_on_case_event(oc, &rc, (const Charter__V1__CaseEvent *)msg, delta,
                                    CH_REPORT_MAX_ITEMS);
    else if (msg->descriptor == &charter__v1__timer_fired__descriptor)
        n = ch_report_on_timer(oc, &rc, (const Charter__V1__TimerFired *)msg, delta,
                               CH_REPORT_MAX_ITEMS);
    else
        n = ch_report_on_outcome(oc, &rc, (const Charter__V1__NotificationOutcome *)msg, delta,
                                 CH_REPORT_MAX_ITEMS);
    char *state = n >= 0 ? ch_report_case_to_json(&rc) : NULL;
    if (n < 0 || !state) {
        free(delta);
        free(state);
        ctx_done(c, n == CH_ENOMEM || n >= 0 ? CH_EAGAIN : CH_EBADMSG,
                 n >= 0 || n == CH_ENOMEM ? "out of memory"
                                          : "a record the case cannot take (no time, or a "
                                            "deadline outside 1995-2100)");
        return;
    }
    if (n == 0 && c->old_state && strcmp(state, c->old_state) == 0) {
        free(delta);
        free(state);
        ctx_done(c, 0, NULL);
        return;
    }
    char bucket[CH_REPORT_KEY_MAX], member[CH_REPORT_KEY_MAX + 100], score[24] = "0";
    const char *op = "";
    member[0] = '\0';
    if (ch_report_case_bucket(oc, &rc, bucket, sizeof(bucket)) == 0) {
        int64_t due = 0;
        snprintf(member, sizeof(member), "%s|%s", bucket, c->case_id);
        int open = !rc.responded_ms && !rc.clock.closed && !rc.clock.escalated;
        if (open && ch_report_overdue_at(oc, &rc, 0, &due) >= 0 && due > 0 &&
            !rc.clock.paused_since_ms) {
            op = "add";
            snprintf(score, sizeof(score), "%lld", (long long)due);
        } else {
            op = "rem";
        }
    }
    char kcase[320], kfig[160], kopen[160], ttl[24];
    snprintf(kcase, sizeof(kcase), "charter:report:{%s}:case:%s", c->org, c->case_id);
    snprintf(kfig, sizeof(kfig), "charter:report:{%s}:figures", c->org);
    snprintf(kopen, sizeof(kopen), "charter:report:{%s}:open", c->org);
    snprintf(ttl, sizeof(ttl), "%lld", (long long)c->r->cfg->case_ttl_s);
    int argc = 12 + 2 * n;
    const char **argv = malloc((size_t)argc * sizeof(*argv));
    size_t *argvlen = malloc((size_t)argc * sizeof(*argvlen));
    char(*values)[24] = malloc((size_t)(n ? n : 1) * sizeof(*values));
    if (!argv || !argvlen || !values) {
        free(argv);
        free(argvlen);
        free(values);
        free(delta);
        free(state);
        ctx_done(c, CH_EAGAIN, "out of memory");
        return;
    }
    int k = 0;
    argv[k++] = "EVAL";
    argv[k++] = figures_lua;
    argv[k++] = "3";
    argv[k++] = kcase;
    argv[k++] = kfig;
    argv[k++] = kopen;
    argv[k++] = c->old_state ? c->old_state : "";
    argv[k++] = state;
    argv[k++] = ttl;
    argv[k++] = op;
    argv[k++] = member;
    argv[k++] = score;
    for (int i = 0; i < n; i++) {
        snprintf(values[i], sizeof(values[i]), "%lld", (long long)delta[i].value);
        argv[k++] = delta[i].key;
        argv[k++] = values[i];
    }
    for (int i = 0; i < argc; i++)
        argvlen[i] = strlen(argv[i]);
    int rc_cmd = ch_redis_command_argv(c->r->rt, figures_written, c, argc, argv, argvlen);
    free(argv);
    free(argvlen);
    free(values);
    free(delta);
    free(state);
    if (rc_cmd != 0)
        ctx_done(c, CH_EAGAIN, "redis unavailable");
}

static void
counted(void *opaque, redisReply *reply)
{
    count_ctx *c = opaque;
    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        ctx_done(c, CH_EAGAIN, reply && reply->str ? reply->str : "redis unavailable");
        return;
    }
    ch_metric_add(reply->integer ? c->r->m_counted : c->r->m_repeats, 1);
    /* The figures step runs for repeats too: it is idempotent by itself and
     * finishes a record whose first attempt stopped after counting. */
    if (!c->case_id[0]) {
        ctx_done(c, 0, NULL);
        return;
    }
    if (ch_redis_command(c->r->rt, case_loaded, c, "GET charter:report:{%s}:case:%s", c->org,
                         c->case_id) != 0)
        ctx_done(c, CH_EAGAIN, "redis unavailable");
}

static void
count(reporting *r, ch_msg *m, const ProtobufCMessage *msg, const char *org, const char *case_id,
      const char *event_id, const char **fields, int nfields)
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
    if (strlen(org) >= 128 || strpbrk(org, "{}") || strlen(case_id) >= 96) {
        ch_msg_done(m, CH_EBADMSG, "organisation or case id too long or with braces");
        return;
    }
    count_ctx *c = calloc(1, sizeof(*c));
    if (!c) {
        ch_msg_done(m, CH_EAGAIN, "out of memory");
        return;
    }
    c->r = r;
    c->m = m;
    c->msg = msg;
    snprintf(c->org, sizeof(c->org), "%s", org);
    snprintf(c->case_id, sizeof(c->case_id), "%s", case_id);
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
            count(r, m, msg, ev->organisation, ev->case_id, ev->event_id, fields, 2);
        } else {
            count(r, m, msg, ev->organisation, ev->case_id, ev->event_id, fields, 1);
        }
    } else if (msg->descriptor == &charter__v1__timer_fired__descriptor) {
        const Charter__V1__TimerFired *t = (const Charter__V1__TimerFired *)msg;
        snprintf(f1, sizeof(f1), "timers.%s", timer_kind_name(t->kind));
        count(r, m, msg, t->organisation, t->case_id, t->timer_id, fields, 1);
    } else {
        const Charter__V1__NotificationOutcome *o = (const Charter__V1__NotificationOutcome *)msg;
        snprintf(f1, sizeof(f1), "notifications.%s", outcome_status_name(o->status));
        count(r, m, msg, o->organisation, o->case_id, o->event_id, fields, 1);
    }
}

typedef struct {
    reporting *r;
    struct evhttp_request *req;
    char org[128];
    char channel[32], type[32], from[16], to[16];
    ch_report_granularity granularity;
    json_t *counts;
    ch_report_table table;
} report_req;

static const char *const granularity_names[] = {"day", "month", "year"};

static void
report_req_free(report_req *q)
{
    json_decref(q->counts);
    ch_report_table_free(&q->table);
    free(q);
}

static void
report_unavailable(report_req *q)
{
    evhttp_add_header(evhttp_request_get_output_headers(q->req), "Retry-After", "5");
    ch_http_reply_error(q->req, 503, "unavailable", "Redis is not answering; retry");
    report_req_free(q);
}

static void
filter_of(const report_req *q, ch_report_filter *f)
{
    f->granularity = q->granularity;
    f->from = q->from[0] ? q->from : NULL;
    f->to = q->to[0] ? q->to : NULL;
    f->channel = q->channel[0] ? q->channel : NULL;
    f->case_type = q->type[0] ? q->type : NULL;
}

static json_t *
figures_json(const ch_report_totals *t)
{
    json_t *o = json_object();
    for (int k = 0; k < CH_REPORT_FIG_COUNT; k++)
        json_object_set_new(o, ch_report_fig_name((ch_report_fig)k), json_integer(t->fig[k]));
    json_t *support = json_object();
    for (int k = 0; k < CH_REPORT_SUPPORT_COUNT; k++)
        json_object_set_new(support, ch_report_support_name((ch_report_support)k),
                            json_integer(t->support[k]));
    json_object_set_new(o, "support", support);
    json_t *ttr = json_object();
    for (int u = 0; u < CH_REPORT_UNIT_COUNT; u++) {
        int64_t n = 0, median, p90;
        for (int v = 0; v <= CH_REPORT_TTR_MAX; v++)
            n += t->ttr[u][v];
        if (!n || ch_report_percentile(t->ttr[u], CH_REPORT_TTR_MAX + 1, 50, &median) != 0 ||
            ch_report_percentile(t->ttr[u], CH_REPORT_TTR_MAX + 1, 90, &p90) != 0)
            continue;
        json_object_set_new(ttr, ch_report_unit_name((ch_report_unit)u),
                            json_pack("{s:I,s:I,s:I}", "responses", (json_int_t)n, "median",
                                      (json_int_t)median, "p90", (json_int_t)p90));
    }
    json_object_set_new(o, "time_to_respond", ttr);
    return o;
}

/* in_time / (in_time + late) as a percentage, or null when nothing was judged. */
static json_t *
share(int64_t in_time, int64_t late)
{
    return in_time + late ? json_real(100.0 * (double)in_time / (double)(in_time + late))
                          : json_null();
}

static int
period_in_range(const report_req *q, const char *period)
{
    return (!q->from[0] || strcmp(period, q->from) >= 0) &&
           (!q->to[0] || strcmp(period, q->to) <= 0);
}

static void
open_loaded(void *opaque, redisReply *reply)
{
    report_req *q = opaque;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        report_unavailable(q);
        return;
    }
    static const size_t plen[] = {10, 7, 4};
    size_t len = plen[q->granularity];
    int64_t overdue = 0;
    for (size_t i = 0; i < reply->elements; i++) {
        /* "<day>|<channel>|<type>|<case>" */
        const char *m = reply->element[i]->str;
        char period[16], channel[32], type[40];
        if (!m || sscanf(m, "%10[^|]|%31[^|]|%39[^|]|", period, channel, type) != 3)
            continue;
        period[len] = '\0';
        if (period_in_range(q, period) && (!q->channel[0] || strcmp(q->channel, channel) == 0) &&
            (!q->type[0] || strcmp(q->type, type) == 0))
            overdue++;
    }

    ch_report_totals *t = malloc(sizeof(*t));
    if (!t) {
        ch_http_reply_error(q->req, 500, "internal", "out of memory");
        report_req_free(q);
        return;
    }
    ch_report_filter f;
    filter_of(q, &f);
    ch_report_sum(&q->table, &f, t);
    json_t *figures = figures_json(t);
    json_object_set_new(figures, "open_overdue", json_integer(overdue));
    json_object_set_new(figures, "acknowledged_in_time_pct",
                        share(t->fig[CH_REPORT_ACK_IN_TIME], t->fig[CH_REPORT_ACK_LATE]));
    json_object_set_new(figures, "answered_in_time_pct",
                        share(t->fig[CH_REPORT_ANSWERED_IN_TIME], t->fig[CH_REPORT_ANSWERED_LATE]));
    json_object_set_new(figures, "answered_in_time_original_pct",
                        share(t->fig[CH_REPORT_ANSWERED_IN_TIME_ORIGINAL],
                              t->fig[CH_REPORT_ANSWERED_LATE_ORIGINAL]));

    /* complaints by stage and statutory requests: the same filter, one type */
    static const char *const types[] = {"complaint_stage_1", "complaint_stage_2", "foi", "eir",
                                        "sar"};
    json_t *by_type = json_object();
    const ch_org_clocks *oc = ch_org_set_find(&q->r->orgs, q->org);
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (q->type[0] && strcmp(q->type, types[i]) != 0)
            continue;
        f.case_type = types[i];
        ch_report_sum(&q->table, &f, t);
        json_t *o = json_pack(
            "{s:I,s:I,s:I,s:I,s:I,s:o}", "received", (json_int_t)t->fig[CH_REPORT_RECEIVED],
            "answered", (json_int_t)t->fig[CH_REPORT_ANSWERED], "answered_in_time",
            (json_int_t)t->fig[CH_REPORT_ANSWERED_IN_TIME], "answered_late",
            (json_int_t)t->fig[CH_REPORT_ANSWERED_LATE], "open", (json_int_t)t->fig[CH_REPORT_OPEN],
            "answered_in_time_pct",
            share(t->fig[CH_REPORT_ANSWERED_IN_TIME], t->fig[CH_REPORT_ANSWERED_LATE]));
        if (i < 2 && oc && oc->policy.kind == CH_POLICY_KIND_HOUSING_LANDLORD &&
            oc->policy.homes > 0)
            json_object_set_new(
                o, "per_1000_homes",
                json_real(1000.0 * (double)t->fig[CH_REPORT_RECEIVED] / (double)oc->policy.homes));
        json_object_set_new(by_type, types[i], o);
    }
    json_object_set_new(figures, "by_case_type", by_type);

    /* one entry per period of the granularity that has figures, in order */
    json_t *periods = json_array();
    char last[16] = "";
    for (size_t i = 0; i < q->table.n; i++) {
        const char *key = q->table.items[i].key;
        const char *bar = strchr(key, '|');
        if (!bar || (size_t)(bar - key) != len)
            continue;
        char period[16];
        memcpy(period, key, len);
        period[len] = '\0';
        if (strcmp(period, last) == 0 || !period_in_range(q, period))
            continue;
        snprintf(last, sizeof(last), "%s", period);
        ch_report_filter pf;
        filter_of(q, &pf);
        pf.from = pf.to = period;
        ch_report_sum(&q->table, &pf, t);
        if (!t->fig[CH_REPORT_RECEIVED])
            continue;
        json_t *o = figures_json(t);
        json_object_set_new(o, "period", json_string(period));
        json_array_append_new(periods, o);
    }
    free(t);

    json_t *filters = json_pack("{s:s}", "granularity", granularity_names[q->granularity]);
    if (q->channel[0])
        json_object_set_new(filters, "channel", json_string(q->channel));
    if (q->type[0])
        json_object_set_new(filters, "type", json_string(q->type));
    if (q->from[0])
        json_object_set_new(filters, "from", json_string(q->from));
    if (q->to[0])
        json_object_set_new(filters, "to", json_string(q->to));
    json_t *body =
        json_pack("{s:s, s:O, s:o, s:o, s:o, s:b}", "organisation", q->org, "counts", q->counts,
                  "filters", filters, "figures", figures, "periods", periods, "policy", oc != NULL);
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(body);
    if (text)
        ch_http_reply_json(q->req, 200, text);
    else
        ch_http_reply_error(q->req, 500, "internal", "out of memory");
    free(text);
    report_req_free(q);
}

static void
figures_loaded(void *opaque, redisReply *reply)
{
    report_req *q = opaque;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        report_unavailable(q);
        return;
    }
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        ch_report_item it;
        if (reply->element[i]->len >= sizeof(it.key))
            continue;
        snprintf(it.key, sizeof(it.key), "%s", reply->element[i]->str);
        it.value = strtoll(reply->element[i + 1]->str, NULL, 10);
        if (ch_report_table_add(&q->table, &it, 1) != 0) {
            ch_http_reply_error(q->req, 500, "internal", "out of memory");
            report_req_free(q);
            return;
        }
    }
    if (ch_redis_command(q->r->rt, open_loaded, q,
                         "ZRANGEBYSCORE charter:report:{%s}:open -inf (%lld", q->org,
                         (long long)ch_time_now_ms()) != 0)
        report_unavailable(q);
}

static void
report_loaded(void *opaque, redisReply *reply)
{
    report_req *q = opaque;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        report_unavailable(q);
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
    q->counts = counts;
    if (ch_redis_command(q->r->rt, figures_loaded, q, "HGETALL charter:report:{%s}:figures",
                         q->org) != 0)
        report_unavailable(q);
}

/* A name of lower-case letters, digits and '_', 1 to 31 characters. */
static int
valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 31)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

/* "2026-11-23", "2026-11" or "2026" as the granularity says. */
static int
valid_period(const char *s, ch_report_granularity g)
{
    static const char *const shapes[] = {"dddd-dd-dd", "dddd-dd", "dddd"};
    const char *p = shapes[g];
    if (strlen(s) != strlen(p))
        return 0;
    for (; *p; p++, s++)
        if (*p == 'd' ? !(*s >= '0' && *s <= '9') : *s != *p)
            return 0;
    return 1;
}

/* GET /v1/report?organisation=ID[&channel=&type=&from=&to=&granularity=] */
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
    q->granularity = CH_REPORT_MONTH;
    snprintf(q->org, sizeof(q->org), "%s", org);
    const char *bad = NULL, *why = NULL;
    const char *g = evhttp_find_header(&params, "granularity");
    if (g) {
        int found = 0;
        for (int i = 0; i < 3; i++)
            if (strcmp(g, granularity_names[i]) == 0) {
                q->granularity = (ch_report_granularity)i;
                found = 1;
            }
        if (!found) {
            bad = "granularity";
            why = "granularity is one of day, month, year";
        }
    }
    const char *v;
    if (!bad && (v = evhttp_find_header(&params, "channel"))) {
        if (valid_name(v))
            snprintf(q->channel, sizeof(q->channel), "%s", v);
        else
            bad = "channel", why = "channel is a channel name such as email or phone";
    }
    if (!bad && (v = evhttp_find_header(&params, "type"))) {
        if (valid_name(v))
            snprintf(q->type, sizeof(q->type), "%s", v);
        else
            bad = "type", why = "type is a case type such as enquiry or complaint_stage_1";
    }
    static const char *const period_help[] = {
        "from and to are dates (2026-11-23) at day granularity",
        "from and to are months (2026-11) at month granularity",
        "from and to are years (2026) at year granularity"};
    if (!bad && (v = evhttp_find_header(&params, "from"))) {
        if (valid_period(v, q->granularity))
            snprintf(q->from, sizeof(q->from), "%s", v);
        else
            bad = "from", why = period_help[q->granularity];
    }
    if (!bad && (v = evhttp_find_header(&params, "to"))) {
        if (valid_period(v, q->granularity))
            snprintf(q->to, sizeof(q->to), "%s", v);
        else
            bad = "to", why = period_help[q->granularity];
    }
    evhttp_clear_headers(&params);
    if (bad) {
        ch_http_reply_error_field(req, 400, "invalid_parameter", bad, why);
        report_req_free(q);
        return;
    }
    if (ch_redis_command(r->rt, report_loaded, q, "HGETALL charter:report:{%s}:counts", q->org) !=
        0) {
        report_req_free(q);
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
    int rc = r->cfg->policy_dir[0] ? ch_org_set_load(r->cfg->policy_dir, "report.policy_dir",
                                                     &r->orgs, errstr, errstr_size)
                                   : 0;
    if (rc != 0) {
        free(r);
        return rc;
    }
    if (r->orgs.n)
        CH_LOG_INFO(ch_runtime_log(rt), "policies loaded", CH_STR("dir", r->cfg->policy_dir),
                    CH_INT("organisations", r->orgs.n));
    r->m_conflicts = ch_metric_counter(rt, "charter_report_case_conflicts_total",
                                       "case updates retried because the case changed meanwhile");
    r->m_counted = ch_metric_counter(rt, "charter_report_events_counted_total", "events counted");
    r->m_repeats = ch_metric_counter(rt, "charter_report_events_repeated_total",
                                     "redelivered events recognised and not counted again");
    *svc = r;
    return 0;
}

static void
report_fini(void *svc)
{
    reporting *r = svc;
    ch_org_set_free(&r->orgs);
    free(r);
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
