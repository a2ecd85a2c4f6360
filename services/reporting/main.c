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
 * from report.policy_dir (re-read on SIGHUP); without one nothing is judged
 * "in time".
 *
 * Published three ways: GET /v1/report (JSON, with one line per promise),
 * the HTML dashboard at / and report snapshots on charter.reports.v1. The
 * dashboard and the promise lines are report_html's pure view of the same
 * counters, so charterctl's annual publication, which reads the JSON,
 * prints what the dashboard shows.
 */
#include <dirent.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/names.h"
#include "charter/report_agg.h"
#include "charter/report_html.h"
#include "charter/runtime.h"
#include "charter/timeutil.h"
#include "charter/v1/case_event.pb-c.h"
#include "charter/v1/notification.pb-c.h"
#include "charter/v1/report.pb-c.h"
#include "charter/v1/timer.pb-c.h"
#include "charter/topics.h"

typedef struct {
    int64_t dedupe_ttl_s;
    char *policy_dir;
    int64_t case_ttl_s;
    int64_t snapshot_interval_s;
    int64_t target_pct;
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
    {"report.snapshot_interval_s", CH_CFG_INT, "60", offsetof(report_config, snapshot_interval_s),
     "every organisation's current day, month and year are republished to charter.reports.v1 at "
     "least this often (changed figures go out within a second)",
     1, 3600, NULL},
    {"report.target_pct", CH_CFG_INT, "100", offsetof(report_config, target_pct),
     "the share of cases (percent) each timed promise is held to on the dashboard and in the "
     "annual publication",
     1, 100, NULL},
};

#define REPORT_TOPIC CH_TOPIC_REPORTS
#define REPORT_TREND_MONTHS 12

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

/* An organisation's period whose snapshot is due. */
typedef struct {
    char org[128];
    char period[16];
} org_period;

typedef struct {
    org_period *v;
    size_t n, cap;
} org_periods;

typedef struct snapshot_round snapshot_round;

typedef struct {
    ch_runtime *rt;
    const report_config *cfg;
    ch_org_set orgs; /* empty without report.policy_dir */
    ch_metric *m_counted, *m_repeats, *m_conflicts, *m_reloads;
    ch_metric *m_snapshots, *m_snapshot_failures;
    org_periods dirty;               /* changed since their last snapshot */
    char known[CH_ORG_SET_MAX][128]; /* organisations with figures, for the refresh */
    size_t nknown;
    int64_t last_refresh_ms;
    snapshot_round *round; /* the snapshots being written, or NULL */
} reporting;

typedef struct {
    reporting *r;
    ch_msg *m;
    const ProtobufCMessage *msg;
    char org[128];
    char case_id[96];
    char *old_state;
    char periods[3][16]; /* the periods the record's deltas touch */
    int nperiods;
} count_ctx;

/* ---- snapshots due (charter.reports.v1) ---- */

/* Adds (org, period) once; beyond a bound it is left to the periodic
 * refresh (which covers the current periods). */
static void
mark_dirty(reporting *r, const char *org, const char *period)
{
    for (size_t i = 0; i < r->dirty.n; i++)
        if (strcmp(r->dirty.v[i].period, period) == 0 && strcmp(r->dirty.v[i].org, org) == 0)
            return;
    if (r->dirty.n == r->dirty.cap) {
        size_t cap = r->dirty.cap ? r->dirty.cap * 2 : 32;
        if (cap > 65536)
            return;
        org_period *v = realloc(r->dirty.v, cap * sizeof(*v));
        if (!v)
            return;
        r->dirty.v = v;
        r->dirty.cap = cap;
    }
    org_period *e = &r->dirty.v[r->dirty.n++];
    snprintf(e->org, sizeof(e->org), "%s", org);
    snprintf(e->period, sizeof(e->period), "%s", period);
    for (size_t i = 0; i < r->nknown; i++)
        if (strcmp(r->known[i], org) == 0)
            return;
    if (r->nknown < CH_ORG_SET_MAX)
        snprintf(r->known[r->nknown++], sizeof(r->known[0]), "%s", org);
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
    for (int i = 0; i < c->nperiods; i++)
        mark_dirty(c->r, c->org, c->periods[i]);
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
        const char *bar = strchr(delta[i].key, '|');
        size_t plen = bar ? (size_t)(bar - delta[i].key) : 0;
        int known = plen == 0 || plen >= sizeof(c->periods[0]);
        for (int j = 0; j < c->nperiods && !known; j++)
            known = strncmp(c->periods[j], delta[i].key, plen) == 0 && !c->periods[j][plen];
        if (!known && c->nperiods < 3) {
            memcpy(c->periods[c->nperiods], delta[i].key, plen);
            c->periods[c->nperiods++][plen] = '\0';
        }
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
        const char *name = ch_case_event_name(ev->event_case);
        snprintf(f1, sizeof(f1), "%s", name);
        if (ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_RECEIVED) {
            snprintf(f2, sizeof(f2), "received.%s", ch_channel_name(ev->received->channel));
            count(r, m, msg, ev->organisation, ev->case_id, ev->event_id, fields, 2);
        } else {
            count(r, m, msg, ev->organisation, ev->case_id, ev->event_id, fields, 1);
        }
    } else if (msg->descriptor == &charter__v1__timer_fired__descriptor) {
        const Charter__V1__TimerFired *t = (const Charter__V1__TimerFired *)msg;
        snprintf(f1, sizeof(f1), "timers.%s", ch_timer_kind_name(t->kind));
        count(r, m, msg, t->organisation, t->case_id, t->timer_id, fields, 1);
    } else {
        const Charter__V1__NotificationOutcome *o = (const Charter__V1__NotificationOutcome *)msg;
        snprintf(f1, sizeof(f1), "notifications.%s", ch_outcome_status_name(o->status));
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

/* A promise's line (report_html.h), as charterctl reads it back. */
static json_t *
promise_json(const ch_report_promise_row *row)
{
    double pct = ch_report_row_pct(row);
    int met = ch_report_row_met(row);
    return json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o}", "id", row->id, "promise",
                     row->promise, "measure", ch_report_measure_name(row->measure), "received",
                     (json_int_t)row->received, "in_time", (json_int_t)row->in_time, "late",
                     (json_int_t)row->late, "number", (json_int_t)(row->in_time + row->late),
                     "open_overdue", (json_int_t)row->overdue_now, "target_pct",
                     row->measure == CH_REPORT_MEASURE_NONE ? json_null()
                                                            : json_real(row->target_pct),
                     "pct_within", pct < 0 ? json_null() : json_real(pct), "met",
                     met < 0 ? json_null() : json_boolean(met));
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

    /* one line per promise of the charter, as the publication shows it */
    json_t *promises = json_array();
    if (oc) {
        const char **members = malloc((reply->elements ? reply->elements : 1) * sizeof(*members));
        size_t nm = 0;
        for (size_t i = 0; members && i < reply->elements; i++) {
            const char *m = reply->element[i]->str;
            char period[16], channel[32], type[40];
            if (!m || sscanf(m, "%10[^|]|%31[^|]|%39[^|]|", period, channel, type) != 3)
                continue;
            period[len] = '\0';
            if (period_in_range(q, period))
                members[nm++] = m; /* channel and type: the view applies the filter's */
        }
        ch_report_filter vf;
        filter_of(q, &vf);
        ch_report_view v;
        if (members && ch_report_view_build(&oc->policy, &q->table, &vf, NULL, 0, members, nm,
                                            (double)q->r->cfg->target_pct, &v) == 0) {
            for (size_t k = 0; k < v.nrows; k++)
                json_array_append_new(promises, promise_json(&v.rows[k]));
            ch_report_view_free(&v);
        }
        free(members);
    }

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
    json_t *body = json_pack("{s:s, s:O, s:o, s:o, s:o, s:b, s:o}", "organisation", q->org,
                             "counts", q->counts, "filters", filters, "figures", figures, "periods",
                             periods, "policy", oc != NULL, "promises", promises);
    if (body && oc)
        json_object_set_new(body, "name", json_string(oc->policy.name));
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(body);
    if (text)
        ch_http_reply_json(q->req, 200, text);
    else
        ch_http_reply_error(q->req, 500, "internal", "out of memory");
    free(text);
    report_req_free(q);
}

static int
cmp_item(const void *a, const void *b)
{
    return strcmp(((const ch_report_item *)a)->key, ((const ch_report_item *)b)->key);
}

/* An organisation's figures (an HGETALL reply) as a table, replacing t's
 * contents: sorted once, as ch_report_table_add would keep it (equal keys
 * summed, zero counters dropped), rather than inserted one at a time. A
 * key too long for an item is skipped. */
static int
table_from_reply(ch_report_table *t, const redisReply *reply)
{
    ch_report_table_free(t);
    t->cap = reply->elements / 2 ? reply->elements / 2 : 1;
    t->items = malloc(t->cap * sizeof(*t->items));
    if (!t->items) {
        t->cap = 0;
        return CH_ENOMEM;
    }
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        ch_report_item *it = &t->items[t->n];
        if (reply->element[i]->len >= sizeof(it->key))
            continue;
        snprintf(it->key, sizeof(it->key), "%s", reply->element[i]->str);
        it->value = strtoll(reply->element[i + 1]->str, NULL, 10);
        t->n++;
    }
    qsort(t->items, t->n, sizeof(*t->items), cmp_item);
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (n && strcmp(t->items[n - 1].key, t->items[i].key) == 0)
            t->items[n - 1].value += t->items[i].value;
        else
            t->items[n++] = t->items[i];
        if (t->items[n - 1].value == 0 &&
            (i + 1 == t->n || strcmp(t->items[i + 1].key, t->items[n - 1].key) != 0))
            n--;
    }
    t->n = n;
    return 0;
}

static void
figures_loaded(void *opaque, redisReply *reply)
{
    report_req *q = opaque;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        report_unavailable(q);
        return;
    }
    if (table_from_reply(&q->table, reply) != 0) {
        ch_http_reply_error(q->req, 500, "internal", "out of memory");
        report_req_free(q);
        return;
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

/* ---- the dashboard: GET / ---- */

typedef struct {
    reporting *r;
    struct evhttp_request *req;
    char month[8];   /* "2026-11", or empty: each organisation's current month */
    char (*ids)[64]; /* the organisations, by name; looked up again as each is read */
    size_t nids, next;
    ch_report_view *views;
    size_t nviews;
    ch_report_table table;
    int64_t now_ms;
} dash_req;

static void
dash_free(dash_req *q)
{
    for (size_t i = 0; i < q->nviews; i++)
        ch_report_view_free(&q->views[i]);
    free(q->views);
    free(q->ids);
    ch_report_table_free(&q->table);
    free(q);
}

static void
reply_html(struct evhttp_request *req, const char *html)
{
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evbuffer_add(b, html, strlen(html));
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "text/html; charset=utf-8");
    /* nothing from elsewhere: no scripts, no remote styles, fonts or images */
    evhttp_add_header(h, "Content-Security-Policy",
                      "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

static void dash_next(dash_req *q);

static void
dash_open(void *opaque, redisReply *reply)
{
    dash_req *q = opaque;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        evhttp_add_header(evhttp_request_get_output_headers(q->req), "Retry-After", "5");
        ch_http_reply_error(q->req, 503, "unavailable", "Redis is not answering; retry");
        dash_free(q);
        return;
    }
    /* a reload may have removed it meanwhile */
    const ch_org_clocks *oc = ch_org_set_find(&q->r->orgs, q->ids[q->next]);
    if (!oc) {
        ch_report_table_free(&q->table);
        q->next++;
        dash_next(q);
        return;
    }
    char month[CH_REPORT_PERIOD_MAX];
    if (q->month[0])
        snprintf(month, sizeof(month), "%s", q->month);
    else
        ch_report_period(ch_report_local_day(oc, q->now_ms), CH_REPORT_MONTH, month, sizeof(month));
    char trend[REPORT_TREND_MONTHS][CH_REPORT_PERIOD_MAX];
    const char **members = malloc((reply->elements ? reply->elements : 1) * sizeof(*members));
    size_t nm = 0;
    for (size_t i = 0; members && i < reply->elements; i++)
        if (reply->element[i]->str)
            members[nm++] = reply->element[i]->str;
    ch_report_filter f = {CH_REPORT_MONTH, month, month, NULL, NULL};
    int rc = members ? ch_report_periods_ending(month, CH_REPORT_MONTH, REPORT_TREND_MONTHS, trend)
                     : CH_ENOMEM;
    if (rc == 0)
        rc = ch_report_view_build(&oc->policy, &q->table, &f, trend, REPORT_TREND_MONTHS, members,
                                  nm, (double)q->r->cfg->target_pct, &q->views[q->nviews]);
    free(members);
    if (rc != 0) {
        ch_http_reply_error(q->req, 500, "internal", "out of memory");
        dash_free(q);
        return;
    }
    q->nviews++;
    ch_report_table_free(&q->table);
    q->next++;
    dash_next(q);
}

static void
dash_figures(void *opaque, redisReply *reply)
{
    dash_req *q = opaque;
    const char *org = q->ids[q->next];
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        dash_open(q, NULL);
        return;
    }
    if (table_from_reply(&q->table, reply) != 0) {
        ch_http_reply_error(q->req, 500, "internal", "out of memory");
        dash_free(q);
        return;
    }
    if (ch_redis_command(q->r->rt, dash_open, q,
                         "ZRANGEBYSCORE charter:report:{%s}:open -inf (%lld", org,
                         (long long)q->now_ms) != 0)
        dash_open(q, NULL);
}

static void
dash_next(dash_req *q)
{
    if (q->next < q->nids) {
        if (ch_redis_command(q->r->rt, dash_figures, q, "HGETALL charter:report:{%s}:figures",
                             q->ids[q->next]) != 0)
            dash_open(q, NULL);
        return;
    }
    char generated[40];
    ch_time_format_utc(q->now_ms, generated, sizeof(generated));
    char *html = ch_report_html_dashboard(q->views, q->nviews, generated);
    if (html)
        reply_html(q->req, html);
    else
        ch_http_reply_error(q->req, 500, "internal", "out of memory");
    free(html);
    dash_free(q);
}

/* GET /[?month=YYYY-MM] */
static void
get_dashboard(void *svc, struct evhttp_request *req, const char *rest)
{
    (void)rest;
    reporting *r = svc;
    dash_req *q = calloc(1, sizeof(*q));
    if (q) {
        q->ids = malloc((r->orgs.n ? r->orgs.n : 1) * sizeof(*q->ids));
        q->views = calloc(r->orgs.n ? r->orgs.n : 1, sizeof(*q->views));
    }
    if (!q || !q->ids || !q->views) {
        if (q)
            dash_free(q);
        ch_http_reply_error(req, 500, "internal", "out of memory");
        return;
    }
    q->r = r;
    q->req = req;
    q->now_ms = ch_time_now_ms();
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    struct evkeyvalq params;
    if (query && evhttp_parse_query_str(query, &params) == 0) {
        const char *m = evhttp_find_header(&params, "month");
        int ok = !m || (valid_period(m, CH_REPORT_MONTH) && atoi(m + 5) >= 1 && atoi(m + 5) <= 12);
        if (ok && m)
            snprintf(q->month, sizeof(q->month), "%s", m);
        evhttp_clear_headers(&params);
        if (!ok) {
            dash_free(q);
            ch_http_reply_error_field(req, 400, "invalid_parameter", "month",
                                      "month is a month such as 2026-11");
            return;
        }
    }
    /* by name, as a reader looks for them */
    for (size_t i = 0; i < r->orgs.n; i++) {
        const ch_policy *p = &r->orgs.orgs[i]->policy;
        size_t k = q->nids++;
        for (; k > 0; k--) {
            const ch_org_clocks *prev = ch_org_set_find(&r->orgs, q->ids[k - 1]);
            if (strcmp(prev->policy.name, p->name) <= 0)
                break;
            memcpy(q->ids[k], q->ids[k - 1], sizeof(q->ids[k]));
        }
        snprintf(q->ids[k], sizeof(q->ids[k]), "%s", p->id);
    }
    dash_next(q);
}

/* ---- charter.reports.v1: snapshots of an organisation's period ----
 *
 * Coalesced: records only mark (organisation, period) dirty; once a second
 * the tick writes one snapshot per dirty pair, and every
 * report.snapshot_interval_s it also writes every known organisation's
 * current day, month and year (so "open and overdue now" moves with the
 * clock and a new consumer of the compacted topic finds today's figures).
 * One round at a time: the organisation's figures, counts and overdue cases
 * are read from Redis, then its snapshots are produced. The figures and the
 * overdue cases are sorted once per round, so each snapshot reads only its
 * period's run of them (a round covers up to about 60 periods per
 * organisation when a replay touches many days). */

/* The organisation's open and overdue cases, "<day>|<channel>|<type>|<case>",
 * read once per round: members sorted (a period's cases are one run of them),
 * each parsed once. */
typedef struct {
    int ok; /* channel and type parsed */
    char channel[32], type[40];
} open_fields;

typedef struct {
    const char **members; /* borrowed from the reply */
    open_fields *fields;  /* members[i]'s, parsed */
    size_t n;
} open_index;

struct snapshot_round {
    reporting *r;
    org_period *items; /* sorted by organisation */
    size_t n, next, end;
    ch_report_table table; /* sorted by key: a period's keys are one run */
    uint64_t events_counted;
    int64_t now_ms;
};

typedef struct {
    Charter__V1__ReportFigure f;
    char name[CH_REPORT_KEY_MAX + 32];
    char type[40];
} figure_slot;

typedef struct {
    figure_slot *v;
    size_t n, cap;
    int failed;
} figure_list;

static void
fig_add(figure_list *l, const char *name, const char *channel, const char *type, int64_t value,
        double target)
{
    if (l->failed)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        figure_slot *v = realloc(l->v, cap * sizeof(*v));
        if (!v) {
            l->failed = 1;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    figure_slot *s = &l->v[l->n++];
    charter__v1__report_figure__init(&s->f);
    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(s->type, sizeof(s->type), "%s", type ? type : "");
    ch_policy_channel ch = CH_POLICY_CHANNEL_ANY;
    if (channel && ch_policy_channel_parse(channel, &ch) != 0)
        ch = CH_POLICY_CHANNEL_ANY;
    s->f.channel = (Charter__V1__Channel)ch;
    s->f.value = value;
    s->f.target = target;
}

static ch_report_granularity
granularity_of(const char *period)
{
    size_t n = strlen(period);
    return n == 4 ? CH_REPORT_YEAR : n == 7 ? CH_REPORT_MONTH : CH_REPORT_DAY;
}

/* The figures of one filter (a period, maybe one channel and type). */
static void
add_totals(figure_list *l, const ch_report_table *t, const ch_report_filter *f, int64_t overdue,
           int all)
{
    ch_report_totals *tot = malloc(sizeof(*tot));
    if (!tot) {
        l->failed = 1;
        return;
    }
    ch_report_sum(t, f, tot);
    for (int k = 0; k < CH_REPORT_FIG_COUNT; k++)
        if (all || tot->fig[k])
            fig_add(l, ch_report_fig_name((ch_report_fig)k), f->channel, f->case_type, tot->fig[k],
                    0);
    if (all || overdue)
        fig_add(l, "open_overdue", f->channel, f->case_type, overdue, 0);
    for (int k = 0; k < CH_REPORT_SUPPORT_COUNT; k++)
        if (tot->support[k]) {
            char name[64];
            snprintf(name, sizeof(name), "support.%s",
                     ch_report_support_name((ch_report_support)k));
            fig_add(l, name, f->channel, f->case_type, tot->support[k], 0);
        }
    for (int u = 0; u < CH_REPORT_UNIT_COUNT; u++) {
        int64_t n = 0, median, p90;
        for (int v = 0; v <= CH_REPORT_TTR_MAX; v++)
            n += tot->ttr[u][v];
        if (!n || ch_report_percentile(tot->ttr[u], CH_REPORT_TTR_MAX + 1, 50, &median) != 0 ||
            ch_report_percentile(tot->ttr[u], CH_REPORT_TTR_MAX + 1, 90, &p90) != 0)
            continue;
        char name[64];
        const char *unit = ch_report_unit_name((ch_report_unit)u);
        snprintf(name, sizeof(name), "time_to_respond.%s.responses", unit);
        fig_add(l, name, f->channel, f->case_type, n, 0);
        snprintf(name, sizeof(name), "time_to_respond.%s.median", unit);
        fig_add(l, name, f->channel, f->case_type, median, 0);
        snprintf(name, sizeof(name), "time_to_respond.%s.p90", unit);
        fig_add(l, name, f->channel, f->case_type, p90, 0);
    }
    free(tot);
}

typedef struct {
    reporting *r;
    org_period op;
} snapshot_sent;

static void
snapshot_delivered(void *opaque, int rc, int32_t partition, int64_t offset, const char *errstr)
{
    (void)partition;
    (void)offset;
    (void)errstr;
    snapshot_sent *ss = opaque;
    if (rc == 0) {
        ch_metric_add(ss->r->m_snapshots, 1);
    } else {
        ch_metric_add(ss->r->m_snapshot_failures, 1);
        mark_dirty(ss->r, ss->op.org, ss->op.period); /* again on a later tick */
    }
    free(ss);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of t that start with "<period>|": what a filter on that period
 * reads, so summing them equals summing t. Borrows t's items. */
static ch_report_table
period_slice(const ch_report_table *t, const char *period)
{
    char prefix[24];
    snprintf(prefix, sizeof(prefix), "%s|", period);
    return ch_report_table_prefix(t, prefix);
}

/* The open index's run of members starting with period, as [*lo, *hi). */
static void
open_range(const open_index *oi, const char *period, size_t *lo, size_t *hi)
{
    size_t plen = strlen(period), a = 0, b = oi->n;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (strncmp(oi->members[mid], period, plen) < 0)
            a = mid + 1;
        else
            b = mid;
    }
    *lo = a;
    while (b < oi->n && strncmp(oi->members[b], period, plen) == 0)
        b++;
    *hi = b;
}

/* Builds and produces the snapshot of (org, period) from the round's data. */
static void
produce_snapshot(snapshot_round *sr, const org_period *op, const open_index *oi)
{
    reporting *r = sr->r;
    ch_report_filter f = {granularity_of(op->period), op->period, op->period, NULL, NULL};
    ch_report_table pt = period_slice(&sr->table, op->period);
    size_t olo, ohi;
    open_range(oi, op->period, &olo, &ohi);
    figure_list l = {0};
    add_totals(&l, &pt, &f, (int64_t)(ohi - olo), 1);

    /* each channel and case type with figures in the period: a run of keys */
    char last[80] = "";
    for (size_t i = 0, run; i < pt.n && !l.failed; i = run) {
        const char *key = pt.items[i].key;
        const char *b1 = strchr(key, '|'), *b2 = b1 ? strchr(b1 + 1, '|') : NULL;
        const char *b3 = b2 ? strchr(b2 + 1, '|') : NULL;
        size_t plen = b3 ? (size_t)(b3 - key) + 1 : 0;
        for (run = i + 1; plen && run < pt.n && strncmp(pt.items[run].key, key, plen) == 0; run++)
            ;
        char period[16], channel[32], type[40];
        if (sscanf(key, "%15[^|]|%31[^|]|%39[^|]|", period, channel, type) != 3 ||
            strcmp(period, op->period) != 0)
            continue;
        char pair[80];
        snprintf(pair, sizeof(pair), "%s|%s", channel, type);
        if (strcmp(pair, last) == 0)
            continue;
        snprintf(last, sizeof(last), "%s", pair);
        /* a key the parse cut short: sum the whole period, as the filter does */
        ch_report_table rt = pt;
        if (b3 && strlen(channel) == (size_t)(b2 - b1 - 1) && strlen(type) == (size_t)(b3 - b2 - 1))
            rt = (ch_report_table){pt.items + i, run - i, 0};
        int64_t o = 0;
        for (size_t k = olo; k < ohi; k++)
            if (oi->fields[k].ok && strcmp(oi->fields[k].channel, channel) == 0 &&
                strcmp(oi->fields[k].type, type) == 0)
                o++;
        ch_report_filter pf = f;
        pf.channel = channel;
        pf.case_type = type;
        add_totals(&l, &rt, &pf, o, 0);
    }

    /* each promise of the charter, with its target as a share */
    const ch_org_clocks *oc = ch_org_set_find(&r->orgs, op->org);
    if (oc && !l.failed) {
        ch_report_view v;
        if (ch_report_view_build(&oc->policy, &pt, &f, NULL, 0, oi->members + olo, ohi - olo,
                                 (double)r->cfg->target_pct, &v) != 0) {
            l.failed = 1;
        } else {
            for (size_t k = 0; k < v.nrows; k++) {
                const ch_report_promise_row *row = &v.rows[k];
                char name[128];
                snprintf(name, sizeof(name), "promise.%s.received", row->id);
                fig_add(&l, name, NULL, NULL, row->received, 0);
                if (row->measure == CH_REPORT_MEASURE_NONE)
                    continue;
                snprintf(name, sizeof(name), "promise.%s.in_time", row->id);
                fig_add(&l, name, NULL, NULL, row->in_time, row->target_pct / 100.0);
                snprintf(name, sizeof(name), "promise.%s.late", row->id);
                fig_add(&l, name, NULL, NULL, row->late, 0);
                snprintf(name, sizeof(name), "promise.%s.open_overdue", row->id);
                fig_add(&l, name, NULL, NULL, row->overdue_now, 0);
            }
            ch_report_view_free(&v);
        }
    }

    Charter__V1__ReportFigure **figs = l.failed ? NULL : malloc((l.n ? l.n : 1) * sizeof(*figs));
    snapshot_sent *cb = malloc(sizeof(*cb));
    if (!figs || !cb) {
        free(figs);
        free(cb);
        free(l.v);
        mark_dirty(r, op->org, op->period);
        return;
    }
    for (size_t i = 0; i < l.n; i++) {
        l.v[i].f.name = l.v[i].name;
        l.v[i].f.case_type = l.v[i].type;
        figs[i] = &l.v[i].f;
    }
    Charter__V1__ReportSnapshot snap;
    charter__v1__report_snapshot__init(&snap);
    Charter__V1__Timestamp ts;
    charter__v1__timestamp__init(&ts);
    ch_time_split_ms(sr->now_ms, &ts.seconds, &ts.nanos);
    snap.organisation = (char *)op->org;
    snap.period = (char *)op->period;
    snap.generated_at = &ts;
    snap.n_figures = l.n;
    snap.figures = figs;
    snap.events_counted = sr->events_counted;
    char key[160];
    snprintf(key, sizeof(key), "%s/%s", op->org, op->period);
    cb->r = r;
    cb->op = *op;
    if (ch_produce(r->rt, REPORT_TOPIC, key, &snap.base, snapshot_delivered, cb) != 0) {
        ch_metric_add(r->m_snapshot_failures, 1);
        mark_dirty(r, op->org, op->period);
        free(cb);
    }
    free(figs);
    free(l.v);
}

static void round_next_org(snapshot_round *sr);

static void
round_abort(snapshot_round *sr)
{
    for (size_t i = sr->next; i < sr->n; i++)
        mark_dirty(sr->r, sr->items[i].org, sr->items[i].period);
    sr->next = sr->n;
    round_next_org(sr);
}

static void
round_open(void *opaque, redisReply *reply)
{
    snapshot_round *sr = opaque;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        round_abort(sr);
        return;
    }
    size_t cap = reply->elements ? reply->elements : 1;
    open_index oi = {malloc(cap * sizeof(*oi.members)), malloc(cap * sizeof(*oi.fields)), 0};
    if (!oi.members || !oi.fields) {
        free(oi.members);
        free(oi.fields);
        round_abort(sr);
        return;
    }
    for (size_t i = 0; i < reply->elements; i++)
        if (reply->element[i]->str)
            oi.members[oi.n++] = reply->element[i]->str;
    qsort(oi.members, oi.n, sizeof(*oi.members), cmp_str);
    for (size_t i = 0; i < oi.n; i++) {
        char d[16];
        oi.fields[i].ok = sscanf(oi.members[i], "%15[^|]|%31[^|]|%39[^|]|", d, oi.fields[i].channel,
                                 oi.fields[i].type) == 3;
    }
    for (size_t i = sr->next; i < sr->end; i++)
        produce_snapshot(sr, &sr->items[i], &oi);
    free(oi.members);
    free(oi.fields);
    sr->next = sr->end;
    round_next_org(sr);
}

static void
round_counts(void *opaque, redisReply *reply)
{
    snapshot_round *sr = opaque;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        round_abort(sr);
        return;
    }
    /* one per event: its type ("received"), fired timers, outcomes; not the
     * per-channel "received.email" breakdown */
    sr->events_counted = 0;
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        const char *k = reply->element[i]->str;
        if (k && (!strchr(k, '.') || strncmp(k, "timers.", 7) == 0 ||
                  strncmp(k, "notifications.", 14) == 0))
            sr->events_counted += strtoull(reply->element[i + 1]->str, NULL, 10);
    }
    if (ch_redis_command(sr->r->rt, round_open, sr,
                         "ZRANGEBYSCORE charter:report:{%s}:open -inf (%lld",
                         sr->items[sr->next].org, (long long)sr->now_ms) != 0)
        round_abort(sr);
}

static void
round_figures(void *opaque, redisReply *reply)
{
    snapshot_round *sr = opaque;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        round_abort(sr);
        return;
    }
    if (table_from_reply(&sr->table, reply) != 0) {
        round_abort(sr);
        return;
    }
    if (ch_redis_command(sr->r->rt, round_counts, sr, "HGETALL charter:report:{%s}:counts",
                         sr->items[sr->next].org) != 0)
        round_abort(sr);
}

static void
round_next_org(snapshot_round *sr)
{
    ch_report_table_free(&sr->table);
    if (sr->next >= sr->n || ch_runtime_stopping(sr->r->rt)) {
        sr->r->round = NULL;
        free(sr->items);
        free(sr);
        return;
    }
    sr->end = sr->next + 1;
    while (sr->end < sr->n && strcmp(sr->items[sr->end].org, sr->items[sr->next].org) == 0)
        sr->end++;
    if (ch_redis_command(sr->r->rt, round_figures, sr, "HGETALL charter:report:{%s}:figures",
                         sr->items[sr->next].org) != 0)
        round_abort(sr);
}

static int
org_period_cmp(const void *a, const void *b)
{
    const org_period *x = a, *y = b;
    int c = strcmp(x->org, y->org);
    return c ? c : strcmp(x->period, y->period);
}

static void
report_tick(void *svc, int64_t now_ms)
{
    reporting *r = svc;
    if (r->round || !ch_redis_ready(r->rt) || ch_runtime_stopping(r->rt))
        return;
    if (now_ms - r->last_refresh_ms >= r->cfg->snapshot_interval_s * 1000) {
        r->last_refresh_ms = now_ms;
        for (size_t i = 0; i < r->orgs.n; i++) {
            int seen = 0;
            for (size_t k = 0; k < r->nknown && !seen; k++)
                seen = strcmp(r->known[k], r->orgs.orgs[i]->policy.id) == 0;
            if (!seen && r->nknown < CH_ORG_SET_MAX)
                snprintf(r->known[r->nknown++], sizeof(r->known[0]), "%s",
                         r->orgs.orgs[i]->policy.id);
        }
        for (size_t k = 0; k < r->nknown; k++) {
            int32_t day = ch_report_local_day(ch_org_set_find(&r->orgs, r->known[k]), now_ms);
            for (int g = CH_REPORT_DAY; g <= CH_REPORT_YEAR; g++) {
                char period[16];
                ch_report_period(day, (ch_report_granularity)g, period, sizeof(period));
                mark_dirty(r, r->known[k], period);
            }
        }
    }
    if (!r->dirty.n)
        return;
    snapshot_round *sr = calloc(1, sizeof(*sr));
    if (!sr)
        return;
    sr->r = r;
    sr->items = r->dirty.v;
    sr->n = r->dirty.n;
    sr->now_ms = now_ms;
    memset(&r->dirty, 0, sizeof(r->dirty));
    qsort(sr->items, sr->n, sizeof(*sr->items), org_period_cmp);
    r->round = sr;
    round_next_org(sr);
}

static const ch_route routes[] = {
    {CH_HTTP_GET, "/v1/report", 0, get_report},
    {CH_HTTP_GET, "/", 0, get_dashboard},
};

static const ch_subscription subs[] = {
    {CH_TOPIC_CONTACT_EVENTS, &charter__v1__case_event__descriptor},
    {CH_TOPIC_SLA_TIMERS, &charter__v1__timer_fired__descriptor},
    {CH_TOPIC_NOTIFY_OUTCOMES, &charter__v1__notification_outcome__descriptor},
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
    r->m_reloads = ch_metric_counter(rt, "charter_report_policy_reloads_total",
                                     "successful policy reloads (SIGHUP)");
    r->m_snapshots = ch_metric_counter(rt, "charter_report_snapshots_total",
                                       "report snapshots written to " REPORT_TOPIC);
    r->m_snapshot_failures =
        ch_metric_counter(rt, "charter_report_snapshot_failures_total",
                          "report snapshots not written (retried on a later tick)");
    *svc = r;
    return 0;
}

/* SIGHUP: the policy directory again, all or nothing (as at start-up). */
static void
report_reload(void *svc)
{
    reporting *r = svc;
    if (!r->cfg->policy_dir[0]) {
        CH_LOG_WARN(ch_runtime_log(r->rt), "reload: no report.policy_dir; nothing to reload");
        return;
    }
    char err[1024];
    ch_org_set fresh;
    if (ch_org_set_load(r->cfg->policy_dir, "report.policy_dir", &fresh, err, sizeof(err)) != 0) {
        CH_LOG_ERROR(ch_runtime_log(r->rt), "policy reload refused; keeping the running policies",
                     CH_STR("error", err));
        return;
    }
    /* Nothing keeps a pointer into the old set across a loop turn: records,
     * reports and the dashboard look an organisation up by id when Redis
     * answers. */
    ch_org_set old = r->orgs;
    r->orgs = fresh;
    r->last_refresh_ms = 0; /* republish the current periods under the new targets */
    ch_metric_add(r->m_reloads, 1);
    CH_LOG_INFO(ch_runtime_log(r->rt), "policies reloaded", CH_INT("organisations", fresh.n));
    ch_org_set_free(&old);
}

static void
report_fini(void *svc)
{
    reporting *r = svc;
    if (r->round) {
        free(r->round->items);
        ch_report_table_free(&r->round->table);
        free(r->round);
    }
    free(r->dirty.v);
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
    .reload = report_reload,
    .tick = report_tick,
    .fini = report_fini,
};

int
main(int argc, char **argv, char **envp)
{
    return ch_runtime_main(&report_service, argc, argv, envp);
}
