/*
 * charter-sla-timer: keeps every case's timers in step with its
 * organisation's policy and fires them to charter.sla.timers.v1.
 *
 * For each case event: read the case's small state from Redis, apply the
 * event (ch_case_apply), recompute the whole set of timers the case should
 * have (ch_case_timers, from event time only), then replace the case's
 * timers in the timer store (timer_store.h explains its design) and save the
 * state. Every step is idempotent, so a redelivered or replayed event gives
 * the same timers with the same ids; a timer already past due fires at once
 * carrying its original due time.
 *
 * Policies are read from sla.policy_dir at start and again on SIGHUP; a
 * directory with any bad policy is refused as a whole and the running set
 * is kept.
 */
#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/case_clock.h"
#include "charter/errors.h"
#include "charter/names.h"
#include "charter/runtime.h"
#include "charter/timeutil.h"
#include "charter/v1/case_event.pb-c.h"
#include "charter/v1/timer.pb-c.h"
#include "charter/topics.h"
#include "timer_store.h"

#define MAX_TIMERS 32
#define STATE_TTL_OPEN_S (3 * 366 * 86400) /* a case left open still expires */
#define STATE_TTL_CLOSED_S (30 * 86400)    /* kept a while for late events */
#define LANE_BUCKETS 4096                  /* a power of two */

typedef struct {
    char *topic_in;
    char *topic_out;
    char *policy_dir;
    int64_t lease_ms;
} sla_config;

static const ch_config_entry sla_keys[] = {
    {"sla.contacts_topic", CH_CFG_STRING, CH_TOPIC_CONTACT_EVENTS, offsetof(sla_config, topic_in),
     "topic of case events to keep timers for", 0, 0, NULL},
    {"sla.timers_topic", CH_CFG_STRING, CH_TOPIC_SLA_TIMERS, offsetof(sla_config, topic_out),
     "topic fired timers are written to", 0, 0, NULL},
    {"sla.policy_dir", CH_CFG_STRING, "policies", offsetof(sla_config, policy_dir),
     "directory of policy files (<organisation>.yaml), re-read on SIGHUP", 0, 0, NULL},
    {"sla.lease_ms", CH_CFG_INT, "30000", offsetof(sla_config, lease_ms),
     "how long a claimed timer may wait for Kafka before it is fired again", 1000, 3600000, NULL},
};

typedef struct case_lane case_lane;

typedef struct {
    ch_runtime *rt;
    const sla_config *cfg;
    ch_timer_store *store;
    case_lane *lanes[LANE_BUCKETS]; /* cases with an event in flight */
    ch_org_set orgs;
    ch_metric *m_scheduled, *m_fired, *m_events, *m_late_ms, *m_reloads;
} sla;

/* ---- policies ---- */

/* ---- firing ---- */

typedef struct {
    sla *s;
    ch_timer_fire *f;
    char *id;
} fire_ctx;

static void
fired(void *opaque, int rc, int32_t partition, int64_t offset, const char *errstr)
{
    (void)partition;
    (void)offset;
    fire_ctx *fc = opaque;
    if (rc != 0)
        CH_LOG_WARN(ch_runtime_log(fc->s->rt),
                    "fired timer not written; it fires again when its lease expires",
                    CH_STR("timer_id", fc->id), CH_STR("error", errstr));
    else
        ch_metric_add(fc->s->m_fired, 1);
    ch_timer_fire_done(fc->f, rc == 0);
    free(fc->id);
    free(fc);
}

/* The length of the case id in timer id "<case>/<kind>[/<n>]" (kinds are
 * letters and '_'; a case id might hold a '/' of its own). */
static size_t
case_id_len(const char *id)
{
    size_t n = strlen(id);
    for (int part = 0; part < 2; part++) {
        size_t slash = n;
        while (slash > 0 && id[slash - 1] != '/')
            slash--;
        if (slash == 0)
            break;
        n = slash - 1;
        if (id[slash] < '0' || id[slash] > '9')
            break; /* the kind: the case id ends before it */
    }
    return n;
}

/* A claimed timer: stamp fired_at and write it to Kafka; the store deletes
 * it once Kafka has it. The stored event lacks timer_id and case_id (timers
 * stored before that have them): both come from the timer's id. */
static void
fire(void *opaque, ch_timer_fire *f, int32_t partition, const char *id, const uint8_t *payload,
     size_t len, int64_t now_ms)
{
    (void)partition;
    sla *s = opaque;
    Charter__V1__TimerFired *t = charter__v1__timer_fired__unpack(NULL, len, payload);
    if (!t) {
        CH_LOG_ERROR(ch_runtime_log(s->rt), "stored timer does not decode; dropping it",
                     CH_STR("timer_id", id));
        ch_timer_fire_done(f, 1);
        return;
    }
    char *stored_timer_id = t->timer_id, *stored_case_id = t->case_id;
    char case_id[CH_CASE_TIMER_ID_MAX];
    if (!t->timer_id[0])
        t->timer_id = (char *)id;
    if (!t->case_id[0]) {
        snprintf(case_id, sizeof(case_id), "%.*s", (int)case_id_len(t->timer_id), t->timer_id);
        t->case_id = case_id;
    }
    Charter__V1__Timestamp fired_at = CHARTER__V1__TIMESTAMP__INIT;
    ch_time_split_ms(now_ms, &fired_at.seconds, &fired_at.nanos);
    t->fired_at = &fired_at;
    int64_t due_ms = t->due_at ? t->due_at->seconds * 1000 + t->due_at->nanos / 1000000 : now_ms;
    ch_metric_set(s->m_late_ms, (double)(now_ms - due_ms));
    fire_ctx *fc = malloc(sizeof(*fc));
    if (fc && (fc->id = strdup(id))) {
        fc->s = s;
        fc->f = f;
        CH_LOG_INFO(ch_runtime_log(s->rt), "timer fired", CH_STR("timer_id", id),
                    CH_STR("case_id", t->case_id), CH_STR("organisation", t->organisation),
                    CH_INT("kind", t->kind), CH_INT("late_ms", now_ms - due_ms));
        if (ch_produce(s->rt, s->cfg->topic_out, t->case_id, &t->base, fired, fc) != 0) {
            free(fc->id);
            free(fc);
            ch_timer_fire_done(f, 0);
        }
    } else {
        free(fc);
        ch_timer_fire_done(f, 0);
    }
    t->fired_at = NULL;
    t->timer_id = stored_timer_id;
    t->case_id = stored_case_id;
    charter__v1__timer_fired__free_unpacked(t, NULL);
}

/* ---- case events ---- */

typedef struct event_job {
    sla *s;
    ch_msg *m;
    const Charter__V1__CaseEvent *ev; /* borrowed from m */
    char *state_json;                 /* saved once the timers are in place */
    int st_closed;
    int pending, failed;
    struct case_lane *lane;
    struct event_job *next; /* the case's next event, waiting for this one */
} event_job;

static void
job_free(event_job *j)
{
    free(j->state_json);
    free(j);
}

/* ---- one event of a case at a time ----
 *
 * Applying an event reads the case's state, changes the store and writes the
 * state back, over several Redis round trips. Two events of one case in
 * flight together (a backlog, a replay) would both read the old state and
 * the last write would lose the other's change: a closed case could keep its
 * timers. So each case with an event in flight has a lane, and its later
 * events wait in it, in partition order. */

struct case_lane {
    struct case_lane *next_in_bucket;
    event_job *head, *tail; /* head is the event being applied */
    char case_id[];
};

static uint32_t
lane_hash(const char *case_id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *)case_id; *c; c++)
        h = (h ^ *c) * 16777619u;
    return h & (LANE_BUCKETS - 1);
}

/* Puts j in its case's lane; returns 1 when j is the lane's head (to be
 * started now), 0 when it waits, CH_ENOMEM. */
static int
lane_enter(sla *s, event_job *j)
{
    uint32_t b = lane_hash(j->ev->case_id);
    case_lane *l = s->lanes[b];
    while (l && strcmp(l->case_id, j->ev->case_id) != 0)
        l = l->next_in_bucket;
    if (l) {
        l->tail->next = j;
        l->tail = j;
        j->lane = l;
        return 0;
    }
    size_t len = strlen(j->ev->case_id);
    l = malloc(sizeof(*l) + len + 1);
    if (!l)
        return CH_ENOMEM;
    memcpy(l->case_id, j->ev->case_id, len + 1);
    l->head = l->tail = j;
    l->next_in_bucket = s->lanes[b];
    s->lanes[b] = l;
    j->lane = l;
    return 1;
}

static void
lane_remove(sla *s, case_lane *l)
{
    case_lane **pp = &s->lanes[lane_hash(l->case_id)];
    while (*pp != l)
        pp = &(*pp)->next_in_bucket;
    *pp = l->next_in_bucket;
    free(l);
}

static void state_loaded(void *opaque, redisReply *reply);

/* Reads the case's state; the rest follows from state_loaded. */
static int
job_start(event_job *j)
{
    return ch_redis_command(j->s->rt, state_loaded, j, "GET charter:case:{%s}:sla", j->ev->case_id);
}

/* The event is finished (rc as for ch_msg_done): the case's next event, if
 * any, starts. A retried event (CH_EAGAIN) comes back through on_message
 * and joins the end of the lane. */
static void
job_end(event_job *j, int rc, const char *reason)
{
    for (;;) {
        case_lane *l = j->lane;
        sla *s = j->s;
        event_job *next = j->next;
        ch_msg_done(j->m, rc, reason);
        job_free(j);
        if (!next) {
            lane_remove(s, l);
            return;
        }
        l->head = next;
        if (job_start(next) == 0)
            return;
        j = next;
        rc = CH_EAGAIN;
        reason = "redis unavailable";
    }
}

static void
state_saved(void *opaque, redisReply *reply)
{
    event_job *j = opaque;
    int ok = reply && reply->type != REDIS_REPLY_ERROR;
    job_end(j, ok ? 0 : CH_EAGAIN, ok ? NULL : "redis unavailable");
}

/* The timers are in place: only now is the new state saved. A crash before
 * this leaves the old state, so a redelivery computes the same change again;
 * a crash after it leaves nothing to redo. */
static void
save_state(event_job *j)
{
    char key[160];
    snprintf(key, sizeof(key), "charter:case:{%s}:sla", j->ev->case_id);
    if (ch_redis_command(j->s->rt, state_saved, j, "SET %s %s EX %d", key, j->state_json,
                         j->st_closed ? STATE_TTL_CLOSED_S : STATE_TTL_OPEN_S) != 0) {
        job_end(j, CH_EAGAIN, "redis unavailable");
    }
}

static void
store_changed(void *opaque, int rc)
{
    event_job *j = opaque;
    if (rc != 0)
        j->failed = 1;
    if (--j->pending > 0)
        return;
    if (j->failed) {
        job_end(j, CH_EAGAIN, "redis unavailable");
        return;
    }
    save_state(j);
}

static void
ts_of(int64_t ms, Charter__V1__Timestamp *ts)
{
    charter__v1__timestamp__init(ts);
    ch_time_split_ms(ms, &ts->seconds, &ts->nanos);
}

static const ch_case_timer *
same_timer(const ch_case_timer *set, int n, const ch_case_timer *t)
{
    for (int i = 0; i < n; i++)
        if (strcmp(set[i].id, t->id) == 0)
            return &set[i];
    return NULL;
}

/*
 * Moves the store from the timers the case had (`was`, from the state before
 * this event) to the timers it should have now: new or moved timers are
 * scheduled, the ones no longer wanted cancelled, and unchanged ones left
 * alone, so a timer that already fired is not set again by a later event.
 * With no earlier state (first event, or state lost), every timer id the
 * case could have is cancelled unless wanted.
 */
static void
apply_timers(event_job *j, const ch_case_state *st, const ch_case_timer *was, int nwas,
             int had_state, const ch_case_timer *timers, int n, int64_t target_ms)
{
    sla *s = j->s;
    const char *case_id = j->ev->case_id;
    int32_t partition = ch_msg_partition(j->m);
    Charter__V1__Timestamp due_ts[MAX_TIMERS], target_ts;
    ts_of(target_ms, &target_ts);
    ch_timer_spec specs[MAX_TIMERS];
    uint8_t *bufs[MAX_TIMERS] = {0};
    int nspecs = 0, ok = 1;
    for (int i = 0; i < n; i++) {
        const ch_case_timer *old = same_timer(was, nwas, &timers[i]);
        if (old && old->due_ms == timers[i].due_ms)
            continue; /* unchanged: pending in the store, or already fired */
        Charter__V1__TimerFired t = CHARTER__V1__TIMER_FIRED__INIT;
        ts_of(timers[i].due_ms, &due_ts[i]);
        /* timer_id and case_id are left out: fire() rebuilds them from the
         * timer's id, which the store keeps anyway (a third less memory). */
        t.organisation = (char *)st->organisation;
        t.kind = timers[i].kind;
        t.due_at = &due_ts[i];
        t.tier = timers[i].tier;
        t.reference = (char *)st->reference;
        t.target_at = target_ms ? &target_ts : NULL;
        t.channel = ch_channel_from_name(st->channel);
        t.case_type = (char *)st->case_type;
        size_t len = charter__v1__timer_fired__get_packed_size(&t);
        bufs[nspecs] = malloc(len ? len : 1);
        if (!bufs[nspecs]) {
            ok = 0;
            break;
        }
        charter__v1__timer_fired__pack(&t, bufs[nspecs]);
        specs[nspecs] = (ch_timer_spec){timers[i].id, timers[i].due_ms, bufs[nspecs], len};
        nspecs++;
    }
    char all[32][CH_CASE_TIMER_ID_MAX];
    const char *gone[32];
    size_t ngone = 0;
    if (had_state) {
        for (int i = 0; i < nwas; i++)
            if (!same_timer(timers, n, &was[i]))
                gone[ngone++] = was[i].id;
    } else {
        size_t nall = ch_case_all_timer_ids(case_id, all, 32);
        for (size_t a = 0; a < nall; a++) {
            int wanted = 0;
            for (int i = 0; i < n; i++)
                wanted |= strcmp(all[a], timers[i].id) == 0;
            if (!wanted)
                gone[ngone++] = all[a];
        }
    }
    j->state_json = ok ? ch_case_state_to_json(st) : NULL;
    j->st_closed = st->closed;
    if (!j->state_json) {
        for (int i = 0; i < nspecs; i++)
            free(bufs[i]);
        job_end(j, CH_EAGAIN, "out of memory");
        return;
    }
    j->pending = 1; /* held until every step is sent */
    if (nspecs > 0) {
        j->pending++;
        if (ch_timer_store_schedule(s->store, partition, specs, (size_t)nspecs, store_changed, j) !=
            0)
            store_changed(j, CH_EAGAIN);
        else
            ch_metric_add(s->m_scheduled, nspecs);
    }
    if (ngone > 0) {
        j->pending++;
        if (ch_timer_store_cancel(s->store, partition, gone, ngone, store_changed, j) != 0)
            store_changed(j, CH_EAGAIN);
    }
    for (int i = 0; i < nspecs; i++)
        free(bufs[i]);
    store_changed(j, 0);
}

static void
state_loaded(void *opaque, redisReply *reply)
{
    event_job *j = opaque;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        job_end(j, CH_EAGAIN, "redis unavailable");
        return;
    }
    ch_case_state st;
    memset(&st, 0, sizeof(st));
    int had_state = 0;
    if (reply->type == REDIS_REPLY_STRING) {
        if (ch_case_state_from_json(reply->str, reply->len, &st) == 0)
            had_state = 1;
        else
            CH_LOG_WARN(ch_runtime_log(j->s->rt),
                        "case state unreadable; rebuilding from this event",
                        CH_STR("case_id", j->ev->case_id));
    }
    ch_case_state before = st;
    if (ch_case_apply(&st, j->ev) < 0) {
        job_end(j, CH_EBADMSG, "case event without occurred_at");
        return;
    }
    /* Looked up now, not when the message arrived: a reload may have
     * replaced the policies meanwhile. */
    const ch_org_clocks *oc = ch_org_set_find(&j->s->orgs, j->ev->organisation);
    if (!oc) {
        job_end(j, CH_EBADMSG, "the organisation's policy was removed by a reload");
        return;
    }
    ch_case_timer was[MAX_TIMERS], timers[MAX_TIMERS];
    int64_t target_ms = 0, was_target = 0;
    int nwas =
        had_state ? ch_case_timers(oc, j->ev->case_id, &before, was, MAX_TIMERS, &was_target) : 0;
    int n = ch_case_timers(oc, j->ev->case_id, &st, timers, MAX_TIMERS, &target_ms);
    if (n < 0 || nwas < 0) {
        job_end(j, CH_EBADMSG, "a deadline of this case falls outside 1995-2100");
        return;
    }
    apply_timers(j, &st, was, nwas, had_state, timers, n, target_ms);
}

static void
sla_on_message(void *svc, ch_msg *m, const ProtobufCMessage *msg)
{
    sla *s = svc;
    const Charter__V1__CaseEvent *ev = (const Charter__V1__CaseEvent *)msg;
    ch_metric_add(s->m_events, 1);
    if (!ev->case_id[0] || !ev->occurred_at || strlen(ev->case_id) > 64) {
        ch_msg_done(m, CH_EBADMSG,
                    "case event without a case_id (at most 64 characters) or "
                    "occurred_at");
        return;
    }
    switch (ev->event_case) {
    case CHARTER__V1__CASE_EVENT__EVENT_CALL:
    case CHARTER__V1__CASE_EVENT__EVENT_COMMUNICATION_SUPPORT:
    case CHARTER__V1__CASE_EVENT__EVENT_SATISFACTION:
        ch_msg_done(m, 0, NULL); /* measured by reporting; no timer moves */
        return;
    default:
        break;
    }
    if (!ch_org_set_find(&s->orgs, ev->organisation)) {
        char why[200];
        snprintf(why, sizeof(why), "no policy for organisation '%.64s' in sla.policy_dir",
                 ev->organisation);
        ch_msg_done(m, CH_EBADMSG, why);
        return;
    }
    event_job *j = calloc(1, sizeof(*j));
    if (!j) {
        ch_msg_done(m, CH_EAGAIN, "out of memory");
        return;
    }
    j->s = s;
    j->m = m;
    j->ev = ev;
    int head = lane_enter(s, j);
    if (head < 0) {
        job_free(j);
        ch_msg_done(m, CH_EAGAIN, "out of memory");
    } else if (head && job_start(j) != 0) {
        job_end(j, CH_EAGAIN, "redis unavailable");
    }
}

/* ---- lifecycle ---- */

static void
sla_on_assign(void *svc, const char *topic, int32_t partition)
{
    sla *s = svc;
    if (strcmp(topic, s->cfg->topic_in) == 0)
        ch_timer_store_own(s->store, partition);
}

static void
sla_on_revoke(void *svc, const char *topic, int32_t partition)
{
    sla *s = svc;
    if (strcmp(topic, s->cfg->topic_in) == 0)
        ch_timer_store_disown(s->store, partition);
}

static void
sla_on_redis_ready(void *svc)
{
    sla *s = svc;
    ch_timer_store_redis_ready(s->store);
}

static void
sla_stop(void *svc)
{
    sla *s = svc;
    ch_timer_store_stop(s->store);
}

static void
sla_reload(void *svc)
{
    sla *s = svc;
    char err[1024];
    ch_org_set fresh;
    if (ch_org_set_load(s->cfg->policy_dir, "sla.policy_dir", &fresh, err, sizeof(err)) != 0) {
        CH_LOG_ERROR(ch_runtime_log(s->rt), "policy reload refused; keeping the running policies",
                     CH_STR("error", err));
        return;
    }
    /* Nothing keeps a pointer into the old set across a loop turn (jobs look
     * their policy up when Redis answers), so it can go at once. */
    ch_org_set old = s->orgs;
    s->orgs = fresh;
    ch_metric_add(s->m_reloads, 1);
    CH_LOG_INFO(ch_runtime_log(s->rt), "policies reloaded", CH_INT("organisations", fresh.n));
    ch_org_set_free(&old);
}

static const ch_subscription subs[1] = {
    {CH_TOPIC_CONTACT_EVENTS, &charter__v1__case_event__descriptor}};

static int
sla_init(ch_runtime *rt, const void *config, void **svc, char *errstr, size_t errstr_size)
{
    sla *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    s->rt = rt;
    s->cfg = config;
    if (strcmp(s->cfg->topic_in, subs[0].topic) != 0) {
        snprintf(errstr, errstr_size, "sla.contacts_topic other than %s is not supported yet",
                 subs[0].topic);
        free(s);
        return CH_EINVAL;
    }
    int rc = ch_org_set_load(s->cfg->policy_dir, "sla.policy_dir", &s->orgs, errstr, errstr_size);
    if (rc != 0) {
        free(s);
        return rc == CH_EIO ? CH_EINVAL : rc;
    }
    s->store = ch_timer_store_new(rt, "charter", s->cfg->lease_ms, fire, s);
    if (!s->store) {
        snprintf(errstr, errstr_size, "out of memory");
        ch_org_set_free(&s->orgs);
        free(s);
        return CH_ENOMEM;
    }
    s->m_scheduled =
        ch_metric_counter(rt, "charter_sla_timers_scheduled_total", "timers set or moved");
    s->m_fired = ch_metric_counter(rt, "charter_sla_timers_fired_total",
                                   "timers fired and acknowledged by Kafka");
    s->m_events = ch_metric_counter(rt, "charter_sla_case_events_total", "case events applied");
    s->m_late_ms = ch_metric_gauge(rt, "charter_sla_last_fire_lateness_ms",
                                   "fired minus due time of the last timer fired, ms");
    s->m_reloads = ch_metric_counter(rt, "charter_sla_policy_reloads_total",
                                     "successful policy reloads (SIGHUP)");
    CH_LOG_INFO(ch_runtime_log(rt), "policies loaded", CH_STR("dir", s->cfg->policy_dir),
                CH_INT("organisations", s->orgs.n));
    *svc = s;
    return 0;
}

static void
sla_fini(void *svc)
{
    sla *s = svc;
    /* Events still waiting in a lane were never finished: Kafka delivers
     * them again from the last committed offset. */
    for (int b = 0; b < LANE_BUCKETS; b++)
        while (s->lanes[b]) {
            case_lane *l = s->lanes[b];
            s->lanes[b] = l->next_in_bucket;
            for (event_job *j = l->head, *next; j; j = next) {
                next = j->next;
                job_free(j);
            }
            free(l);
        }
    ch_timer_store_free(s->store);
    ch_org_set_free(&s->orgs);
    free(s);
}

static const ch_service sla_service = {
    .name = "sla-timer",
    .env_prefix = "CHARTER_SLA_",
    .default_http_listen = "127.0.0.1:8082",
    .config = sla_keys,
    .nconfig = sizeof(sla_keys) / sizeof(sla_keys[0]),
    .config_size = sizeof(sla_config),
    .subs = subs,
    .nsubs = 1,
    .init = sla_init,
    .on_message = sla_on_message,
    .on_assign = sla_on_assign,
    .on_revoke = sla_on_revoke,
    .on_redis_ready = sla_on_redis_ready,
    .reload = sla_reload,
    .stop = sla_stop,
    .fini = sla_fini,
};

int
main(int argc, char **argv, char **envp)
{
    return ch_runtime_main(&sla_service, argc, argv, envp);
}
