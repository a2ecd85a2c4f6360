/*
 * Charter's side of bench/timers: sla-timer's timer store (timer_store.c,
 * linked unchanged from charter_sla_core) run as a ch_service, so it has the
 * runtime, loop and hiredis connection the service has. bench/timers/bench.py runs it next to
 * BullMQ and Sidekiq.
 *
 * WHY IT IS BUILT THIS WAY
 * - One process schedules and fires, as sla-timer does: the instance that
 *   consumes a partition's case events is the one that owns the partition's
 *   timers, and the store learns new due times from its own schedule calls.
 * - The timers are cases' timers: a UUID-shaped case id, bench.per_case
 *   timers per case ("<case>/acknowledgement_due", ..., "<case>/breach"),
 *   and the case's partition a hash of its id over bench.partitions
 *   partitions. With bench.format = text each is stored as before issue 16:
 *   the id as text and, as the payload, the TimerFired protobuf sla-timer
 *   stores (without timer_id and case_id, which sla-timer rebuilds from the
 *   id). With compact (the default, as sla-timer now stores them) the id is
 *   packed and nothing else is stored with it; and the harness pays what
 *   sla-timer pays for that: it saves each case's state (what case_sync.c
 *   saves, packed: about 48 bytes, under the case's state key with
 *   case_sync's expiry) once the case's schedule call has answered, as
 *   case_sync does; the claim reads the states (one MGET per batch, in the
 *   store), and the fire callback rebuilds the event from the state and the
 *   organisation's policy (sla_timer_event_rebuild, as fire.c does; the
 *   policies of bench.policy_dir).
 * - Scheduling is realistic by default: one sla_timer_store_schedule() call
 *   per case (as sla-timer makes per case event), at most bench.window calls
 *   in flight (the runtime's consumer.max_inflight default is 1000).
 *   bench.batch > 0 instead sends up to that many timers per call per
 *   partition: the batched figure, labelled as such in the results.
 * - The fire callback is the no-op handler: it decodes the payload or
 *   rebuilds the event (as sla-timer does), reads the wall clock (CLOCK_REALTIME, the clock the
 *   BullMQ and Sidekiq handlers read too), and acknowledges at once with
 *   sla_timer_fire_done(f, 1).
 * - With bench.topic set it does what sla-timer's fire.c does instead: puts
 *   the timer and case ids and fired_at back into the TimerFired, writes it
 *   to that topic keyed by its case, and acknowledges the timer to the store
 *   only when Kafka confirms the write (so the next claim of that partition
 *   waits for Kafka, as in sla-timer). The time at the fire callback stays
 *   the figure compared with the peers; the time of Kafka's confirmation is
 *   recorded beside it, and a run ends when every timer is confirmed. This
 *   is how bench.py runs Charter on a real broker (--kafka).
 *
 * Modes (bench.mode):
 *   schedule  bench.timers timers due a day or more ahead; reports timers/s
 *   lateness  bench.timers timers due evenly over bench.spread_ms, the first
 *             bench.lead_ms after start; writes "due_ms fired_ms redis_ms
 *             confirmed_ms" lines (confirmed_ms: Kafka's confirmation with
 *             bench.topic, else 0)
 *   burst     bench.timers timers all due in one millisecond, lead_ms ahead
 *   fill      like schedule (for the memory figure: bench.py reads INFO)
 * Prints one JSON line on stdout ("ok": false and "error" on failure) and
 * stops itself. bench.time_limit_s bounds the whole run.
 */
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "charter/case_clock.h"
#include "charter/errors.h"
#include "charter/runtime.h"
#include "charter/timeutil.h"
#include "charter/v1/timer.pb-c.h"
#include "charter/policy_store.h"
#include "timer_event.h"
#include "timer_keys.h"
#include "timer_store.h"

#define ID_MAX 80
#define PAYLOAD_MAX 256
#define DAY_MS 86400000LL

enum { MODE_SCHEDULE, MODE_LATENESS, MODE_BURST, MODE_FILL };

typedef struct {
    char *mode;
    int64_t timers;
    int64_t per_case;
    int64_t batch;
    int64_t window;
    int64_t partitions;
    int64_t spread_ms;
    int64_t lead_ms;
    int64_t lease_ms;
    char *out;
    int64_t time_limit_s;
    char *topic;
    int64_t first_case;
    char *format;
    char *policy_dir;
} bench_config;

static int
validate_mode(const char *text, char *errstr, size_t errstr_size)
{
    static const char *const modes[] = {"schedule", "lateness", "burst", "fill"};
    for (size_t i = 0; i < CH_COUNTOF(modes); i++)
        if (strcmp(text, modes[i]) == 0)
            return 0;
    snprintf(errstr, errstr_size, "'%s' is not one of schedule, lateness, burst, fill", text);
    return CH_EINVAL;
}

static int
validate_format(const char *text, char *errstr, size_t errstr_size)
{
    if (strcmp(text, "compact") == 0 || strcmp(text, "text") == 0)
        return 0;
    snprintf(errstr, errstr_size, "'%s' is not compact or text", text);
    return CH_EINVAL;
}

#ifndef BENCH_POLICY_DIR
#define BENCH_POLICY_DIR "policies"
#endif

static const ch_config_entry bench_keys[] = {
    CH_CFG_STR_CHECKED(bench_config, mode, "bench.mode", "schedule",
                       "schedule, lateness, burst or fill", validate_mode),
    CH_CFG_INT(bench_config, timers, "bench.timers", "100000", "timers to schedule", 1, 10000000),
    CH_CFG_INT(bench_config, per_case, "bench.per_case", "2",
               "timers per case (2: acknowledgement and breach; up to 4 adds two warning tiers)", 1,
               4),
    CH_CFG_INT(bench_config, batch, "bench.batch", "0",
               "0: one schedule call per case; N: up to N timers per call per partition", 0, 10000),
    CH_CFG_INT(bench_config, window, "bench.window", "1000", "schedule calls in flight at once", 1,
               1000000),
    CH_CFG_INT(bench_config, partitions, "bench.partitions", "6",
               "partitions the timers are spread over (all owned by this process)", 1, 1024),
    CH_CFG_INT(bench_config, spread_ms, "bench.spread_ms", "10000",
               "lateness: due instants are spread evenly over this span", 0, 3600000),
    CH_CFG_INT(bench_config, lead_ms, "bench.lead_ms", "5000",
               "lateness and burst: the first due instant is this long after the start", 0, 600000),
    CH_CFG_INT(bench_config, lease_ms, "bench.lease_ms", "30000",
               "the store's lease (sla-timer's default)", 1000, 3600000),
    CH_CFG_STR(bench_config, out, "bench.out", NULL,
               "lateness and burst: file for one \"due_ms fired_ms redis_ms confirmed_ms\" line "
               "per timer"),
    CH_CFG_INT(bench_config, time_limit_s, "bench.time_limit_s", "300",
               "the run stops (ok: false) after this long", 1, 3600),
    CH_CFG_INT(bench_config, first_case, "bench.first_case", "0",
               "the first case's number (fill: timers of other cases than a later run's)", 0,
               1000000000000LL),
    CH_CFG_STR(bench_config, topic, "bench.topic", "",
               "empty: a fired timer is acknowledged at once; a topic: it is written there, keyed "
               "by its case, and acknowledged when Kafka confirms (as sla-timer does)"),
    CH_CFG_STR_CHECKED(bench_config, format, "bench.format", "compact",
                       "compact: packed ids, no stored event, each case's state saved at "
                       "schedule and read at fire (sla-timer since issue 16); text: as before",
                       validate_format),
    CH_CFG_STR(bench_config, policy_dir, "bench.policy_dir", BENCH_POLICY_DIR,
               "policies the fire callback rebuilds compact timers' events with"),
};

static const char *const kind_names[4][4] = {
    {"breach"},
    {"acknowledgement_due", "breach"},
    {"acknowledgement_due", "warning/1", "breach"},
    {"acknowledgement_due", "warning/1", "warning/2", "breach"},
};

/* Timers waiting to be sent for one partition (batched mode), or for the
 * current case. */
typedef struct {
    sla_timer_spec *specs;
    char (*ids)[ID_MAX];
    uint8_t (*payloads)[PAYLOAD_MAX];
    size_t n;
    int64_t *cases; /* the cases whose timers these are */
    size_t ncases;
} pending;

typedef struct {
    ch_runtime *rt;
    const bench_config *cfg;
    sla_timer_store *store;
    int mode;
    int compact; /* bench.format */
    int started, finishing;
    int64_t states_failed; /* state saves Redis refused */
    int64_t ncases;
    int64_t t0_ms;     /* wall ms: first due instant (lateness, burst) */
    int64_t base_ms;   /* wall ms at the start */
    int64_t next_case; /* next case to schedule */
    int64_t inflight;  /* schedule calls in flight */
    int64_t scheduled; /* timers Redis accepted */
    int64_t failed;    /* schedule calls Redis refused */
    double start_s, sched_end_s;
    double sched_end_wall_ms;
    int64_t fired, dups, undecodable;
    int64_t acked, produce_failed; /* bench.topic: writes Kafka confirmed, and refused */
    double *fired_ms;              /* wall ms of each timer's first firing; 0 before */
    double *acked_ms;  /* bench.topic: wall ms Kafka confirmed its first write; 0 before */
    int64_t *due_ms;   /* each timer's due instant as stored in its payload */
    int64_t *redis_ms; /* Redis TIME at the claim that fired it */
    pending *parts;    /* one per partition */
    sla_timer_plan_cache *plans; /* the last case's plan per claimed batch, as fire.c keeps */
    struct event *limit_ev;
    const char *error;
} bench;

typedef struct {
    bench *b;
    size_t n;
    int64_t ncases;  /* compact: the cases whose states to save, then SETs out */
    int64_t cases[]; /* their numbers */
} call_ctx;

/* A fired timer's write to bench.topic, until Kafka answers. */
typedef struct {
    bench *b;
    sla_timer_fire *f;
    int64_t i; /* the timer's index, -1 if not known */
} write_ctx;

/* A clock in ms with sub-ms resolution: CLOCK_MONOTONIC for durations,
 * CLOCK_REALTIME for instants compared with due times. */
static double
clock_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint64_t
mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* A UUID-shaped case id whose last group is the case number, so the fire
 * callback can find the timer's index again. */
static void
case_id(int64_t c, char out[40])
{
    uint64_t h = mix64((uint64_t)c);
    snprintf(out, 40, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(h & 0xffffffffu),
             (unsigned)((h >> 32) & 0xffff), (unsigned)((h >> 48) & 0xfff),
             (unsigned)(0x8000 | ((h >> 20) & 0x3fff)), (unsigned long long)c);
}

/* FNV-1a of the case id: the case's partition, as Kafka's partitioner would
 * spread keys. */
static int32_t
partition_of(const char *id, int64_t nparts)
{
    uint32_t h = 2166136261u;
    for (const char *p = id; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return (int32_t)(h % (uint32_t)nparts);
}

static int64_t
due_of(const bench *b, int64_t i, int64_t ntimers)
{
    switch (b->mode) {
    case MODE_LATENESS:
        return b->t0_ms + (i * b->cfg->spread_ms) / ntimers;
    case MODE_BURST:
        return b->t0_ms;
    default: /* far enough ahead never to fire during the run */
        return b->base_ms + DAY_MS + i;
    }
}

/* Appends case c's timers to pd (ids and payloads copied into pd). */
static void
add_case(bench *b, pending *pd, int64_t c)
{
    char cid[40], ref[24];
    case_id(c + b->cfg->first_case, cid);
    snprintf(ref, sizeof(ref), "DH-%07lld", (long long)(c % 10000000));
    int64_t per = b->cfg->per_case;
    int64_t ntimers = b->cfg->timers;
    int64_t target_ms = b->base_ms + 10 * DAY_MS;
    pd->cases[pd->ncases++] = c;
    for (int64_t k = 0; k < per; k++) {
        int64_t i = c * per + k;
        if (i >= ntimers)
            break;
        size_t at = pd->n++;
        const char *kind = kind_names[per - 1][k];
        snprintf(pd->ids[at], ID_MAX, "%s/%s", cid, kind);
        int64_t due = due_of(b, i, ntimers);
        Charter__V1__Timestamp due_ts = CHARTER__V1__TIMESTAMP__INIT,
                               target_ts = CHARTER__V1__TIMESTAMP__INIT;
        ch_time_split_ms(due, &due_ts.seconds, &due_ts.nanos);
        ch_time_split_ms(target_ms, &target_ts.seconds, &target_ts.nanos);
        Charter__V1__TimerFired t = CHARTER__V1__TIMER_FIRED__INIT;
        t.organisation = "derby-homes";
        t.reference = ref;
        t.channel = CHARTER__V1__CHANNEL__CHANNEL_EMAIL;
        t.case_type = "enquiry";
        t.kind = strcmp(kind, "breach") == 0 ? CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH
                 : kind[0] == 'w'            ? CHARTER__V1__TIMER_KIND__TIMER_KIND_WARNING
                                  : CHARTER__V1__TIMER_KIND__TIMER_KIND_ACKNOWLEDGEMENT_DUE;
        t.tier = kind[0] == 'w' ? (uint32_t)(kind[8] - '0') : 0;
        if (b->compact) { /* no stored event: fire rebuilds it from the state */
            pd->specs[at] = (sla_timer_spec){pd->ids[at], due, NULL, 0};
            continue;
        }
        t.due_at = &due_ts;
        t.target_at = &target_ts;
        size_t len = charter__v1__timer_fired__get_packed_size(&t);
        if (len > PAYLOAD_MAX)
            len = 0; /* cannot happen with these fields; an empty payload is still a timer */
        else
            charter__v1__timer_fired__pack(&t, pd->payloads[at]);
        pd->specs[at] = (sla_timer_spec){pd->ids[at], due, pd->payloads[at], len};
    }
}

static void finish(bench *b, const char *error);
static void pump(bench *b);

/* Case c's state as case_sync.c saves it after a `received` (packed,
 * ch_case_state_pack of a received email enquiry: about 50 bytes; *len). */
static char *
case_state_packed(const bench *b, int64_t c, size_t *len)
{
    ch_case_state st;
    memset(&st, 0, sizeof(st));
    snprintf(st.organisation, sizeof(st.organisation), "derby-homes");
    snprintf(st.channel, sizeof(st.channel), "email");
    snprintf(st.case_type, sizeof(st.case_type), "enquiry");
    snprintf(st.reference, sizeof(st.reference), "DH-%07lld", (long long)(c % 10000000));
    st.received_ms = b->base_ms - 1000;
    return ch_case_state_pack(&st, len);
}

/* One of cc's SETs answered (or the hold on it is released). */
static void
call_release(call_ctx *cc)
{
    bench *b = cc->b;
    if (--cc->ncases > 0)
        return;
    b->inflight--;
    free(cc);
    if (!b->finishing)
        pump(b);
}

static void
state_saved(void *opaque, redisReply *reply)
{
    call_ctx *cc = opaque;
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        cc->b->states_failed++;
    call_release(cc);
}

/* As case_sync.c: once the store has a case's timers, its state is saved
 * (SET with case_sync's expiry for an open case), one command per case. */
static void
save_states(bench *b, call_ctx *cc)
{
    int64_t n = cc->ncases;
    cc->ncases = 1; /* held until every SET is sent */
    for (int64_t k = 0; k < n; k++) {
        char cid[40], key[SLA_CASE_KEY_MAX];
        case_id(cc->cases[k] + b->cfg->first_case, cid);
        sla_case_state_key(cid, key, sizeof(key));
        size_t len = 0;
        char *packed = case_state_packed(b, cc->cases[k], &len);
        cc->ncases++;
        if (!packed || ch_redis_command(b->rt, state_saved, cc, "SET %s %b EX %d", key, packed, len,
                                        3 * 366 * 86400) != 0) {
            cc->ncases--;
            b->states_failed++;
        }
        free(packed);
    }
    call_release(cc);
}

static void
scheduled_cb(void *opaque, int rc)
{
    call_ctx *cc = opaque;
    bench *b = cc->b;
    if (rc == 0)
        b->scheduled += (int64_t)cc->n;
    else
        b->failed++;
    if (rc == 0 && b->compact && cc->ncases > 0) {
        save_states(b, cc); /* the call stays in flight until the states are saved */
        return;
    }
    b->inflight--;
    free(cc);
    if (b->finishing)
        return;
    pump(b);
}

static int
send_pending(bench *b, int32_t partition, pending *pd)
{
    call_ctx *cc = malloc(sizeof(*cc) + pd->ncases * sizeof(cc->cases[0]));
    if (!cc)
        return CH_ENOMEM;
    cc->b = b;
    cc->n = pd->n;
    cc->ncases = (int64_t)pd->ncases;
    memcpy(cc->cases, pd->cases, pd->ncases * sizeof(cc->cases[0]));
    int rc = sla_timer_store_schedule(b->store, partition, pd->specs, pd->n, scheduled_cb, cc);
    if (rc != 0) {
        free(cc);
        return rc;
    }
    b->inflight++;
    pd->n = 0;
    pd->ncases = 0;
    return 0;
}

static void
write_results(bench *b)
{
    if (!b->cfg->out || !b->cfg->out[0])
        return;
    FILE *f = fopen(b->cfg->out, "w");
    if (!f) {
        b->error = "cannot write bench.out";
        return;
    }
    for (int64_t i = 0; i < b->cfg->timers; i++)
        if (b->fired_ms[i] > 0)
            fprintf(f, "%lld %.3f %lld %.3f\n", (long long)b->due_ms[i], b->fired_ms[i],
                    (long long)b->redis_ms[i], b->acked_ms[i]);
    fclose(f);
}

/* Every command sent before this PING has been answered when its reply
 * comes (one pipelined connection): the fired timers' deletions included. */
static void
drained(void *opaque, redisReply *reply)
{
    (void)opaque;
    (void)reply;
    raise(SIGTERM);
}

static void
finish(bench *b, const char *error)
{
    if (b->finishing)
        return;
    b->finishing = 1;
    if (error && !b->error)
        b->error = error;
    sla_timer_store_stop(b->store);
    if (b->fired_ms)
        write_results(b);
    double sched_s = b->sched_end_s > 0 ? b->sched_end_s - b->start_s : -1;
    printf("{\"peer\":\"charter\",\"mode\":\"%s\",\"ok\":%s,\"timers\":%lld,\"scheduled\":%lld,"
           "\"schedule_failures\":%lld,\"per_case\":%lld,\"batch\":%lld,\"window\":%lld,"
           "\"partitions\":%lld,\"schedule_seconds\":%.6f,\"timers_per_second\":%.1f,"
           "\"t0_ms\":%lld,\"schedule_end_minus_t0_ms\":%.3f,\"fired\":%lld,"
           "\"duplicates\":%lld,\"undecodable\":%lld,\"topic\":\"%s\",\"kafka_confirmed\":%lld,"
           "\"kafka_refused\":%lld,\"format\":\"%s\",\"state_saves_failed\":%lld,"
           "\"error\":\"%s\"}\n",
           b->cfg->mode, b->error ? "false" : "true", (long long)b->cfg->timers,
           (long long)b->scheduled, (long long)b->failed, (long long)b->cfg->per_case,
           (long long)b->cfg->batch, (long long)b->cfg->window, (long long)b->cfg->partitions,
           sched_s, sched_s > 0 ? (double)b->scheduled / sched_s : 0.0, (long long)b->t0_ms,
           b->t0_ms && b->sched_end_wall_ms > 0 ? b->sched_end_wall_ms - (double)b->t0_ms : 0.0,
           (long long)b->fired, (long long)b->dups, (long long)b->undecodable, b->cfg->topic,
           (long long)b->acked, (long long)b->produce_failed, b->cfg->format,
           (long long)b->states_failed, b->error ? b->error : "");
    fflush(stdout);
    if (ch_redis_command(b->rt, drained, b, "PING") != 0)
        raise(SIGTERM);
}

/* 1 once every timer has fired (and, with bench.topic, is confirmed by Kafka). */
static int
all_fired(const bench *b)
{
    return (b->cfg->topic[0] ? b->acked : b->fired) == b->cfg->timers;
}

static void
schedule_done(bench *b)
{
    b->sched_end_s = clock_ms(CLOCK_MONOTONIC) / 1e3;
    b->sched_end_wall_ms = clock_ms(CLOCK_REALTIME);
    if (b->failed)
        finish(b, "Redis refused schedule calls");
    else if (b->mode == MODE_SCHEDULE || b->mode == MODE_FILL)
        finish(b, NULL);
    else if (all_fired(b))
        finish(b, NULL);
}

/* Sends schedule calls until bench.window are in flight or every case is
 * sent. */
static void
pump(bench *b)
{
    int64_t batch = b->cfg->batch;
    while (b->inflight < b->cfg->window && b->next_case < b->ncases) {
        int64_t c = b->next_case++;
        if (batch == 0) {
            add_case(b, &b->parts[0], c);
            char cid[40];
            case_id(c + b->cfg->first_case, cid);
            if (send_pending(b, partition_of(cid, b->cfg->partitions), &b->parts[0]) != 0) {
                finish(b, "schedule call not sent (Redis not connected)");
                return;
            }
            continue;
        }
        char cid[40];
        case_id(c + b->cfg->first_case, cid);
        int32_t p = partition_of(cid, b->cfg->partitions);
        pending *pd = &b->parts[p];
        add_case(b, pd, c);
        if ((int64_t)pd->n + b->cfg->per_case > batch && send_pending(b, p, pd) != 0) {
            finish(b, "schedule call not sent (Redis not connected)");
            return;
        }
    }
    if (b->next_case == b->ncases && batch > 0) {
        for (int32_t p = 0; p < b->cfg->partitions; p++) {
            if (b->parts[p].n && send_pending(b, p, &b->parts[p]) != 0) {
                finish(b, "schedule call not sent (Redis not connected)");
                return;
            }
        }
    }
    if (b->next_case == b->ncases && b->inflight == 0 && b->sched_end_s == 0)
        schedule_done(b);
}

static void
written(void *opaque, int rc, int32_t partition, int64_t offset, const char *errstr)
{
    (void)partition;
    (void)offset;
    (void)errstr;
    write_ctx *w = opaque;
    bench *b = w->b;
    if (rc != 0) {
        b->produce_failed++;
    } else if (w->i >= 0 && b->acked_ms[w->i] == 0) {
        b->acked_ms[w->i] = clock_ms(CLOCK_REALTIME);
        b->acked++;
    }
    sla_timer_fire_done(w->f, rc == 0);
    free(w);
    if (all_fired(b) && b->sched_end_s > 0)
        finish(b, NULL);
}

/* What fire.c does with a fired timer: the ids and fired_at put back, the
 * event written keyed by its case; the store hears of the outcome in
 * written(). */
static void
write_fired(bench *b, sla_timer_fire *f, int64_t i, const char *id, Charter__V1__TimerFired *t,
            int64_t now_ms)
{
    write_ctx *w = malloc(sizeof(*w));
    if (!w) {
        b->produce_failed++;
        sla_timer_fire_done(f, 0);
        return;
    }
    *w = (write_ctx){b, f, i};
    char *stored_timer_id = t->timer_id, *stored_case_id = t->case_id;
    char cid[CH_CASE_TIMER_ID_MAX];
    snprintf(cid, sizeof(cid), "%.*s", (int)sla_timer_id_case_len(id), id);
    t->timer_id = (char *)id;
    t->case_id = cid;
    Charter__V1__Timestamp fired_at = CHARTER__V1__TIMESTAMP__INIT;
    ch_time_split_ms(now_ms, &fired_at.seconds, &fired_at.nanos);
    t->fired_at = &fired_at;
    if (ch_produce(b->rt, b->cfg->topic, cid, &t->base, written, w) != 0) {
        free(w);
        b->produce_failed++;
        sla_timer_fire_done(f, 0);
    }
    t->fired_at = NULL;
    t->timer_id = stored_timer_id;
    t->case_id = stored_case_id;
}

static void
on_fire(void *opaque, sla_timer_fire *f, int32_t partition, const sla_timer_fired *tf,
        int64_t now_ms)
{
    (void)partition;
    double fired = clock_ms(CLOCK_REALTIME);
    bench *b = opaque;
    const char *id = tf->id;
    Charter__V1__TimerFired *t = NULL, *unpacked = NULL;
    sla_timer_event *e = NULL;
    if (!tf->compact) {
        t = unpacked = charter__v1__timer_fired__unpack(NULL, tf->len, tf->payload);
    } else if ((e = malloc(sizeof(*e))) != NULL) {
        /* What fire.c does: the event rebuilt from the case's state. */
        if (!b->plans)
            b->plans = calloc(1, sizeof(*b->plans));
        if (sla_timer_event_rebuild_in(b->plans, tf->batch, ch_runtime_orgs(b->rt), id, tf->state,
                                       tf->state_len, tf->due_ms, now_ms, e) == SLA_EVENT_FULL)
            t = &e->ev;
    }
    const char *slash = strchr(id, '/');
    int64_t i = -1;
    if (t && t->due_at && slash && slash - id == 36) {
        int64_t c = (int64_t)strtoull(id + 24, NULL, 16);
        for (int64_t k = 0; k < b->cfg->per_case; k++)
            if (strcmp(slash + 1, kind_names[b->cfg->per_case - 1][k]) == 0)
                i = c * b->cfg->per_case + k;
    }
    if (i < 0 || i >= b->cfg->timers || !b->fired_ms) {
        b->undecodable++;
    } else if (b->fired_ms[i] > 0) {
        b->dups++;
    } else {
        b->fired_ms[i] = fired;
        b->due_ms[i] = t->due_at->seconds * 1000 + t->due_at->nanos / 1000000;
        b->redis_ms[i] = now_ms;
        b->fired++;
    }
    if (t && b->cfg->topic[0])
        write_fired(b, f, i < 0 || i >= b->cfg->timers || !b->acked_ms ? -1 : i, id, t, now_ms);
    else
        sla_timer_fire_done(f, 1);
    if (unpacked)
        charter__v1__timer_fired__free_unpacked(unpacked, NULL);
    free(e);
    if (all_fired(b) && b->sched_end_s > 0)
        finish(b, NULL);
}

static void
time_limit_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    finish(arg, "time limit reached");
}

static void
start_cb(void *opaque, redisReply *reply)
{
    bench *b = opaque;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        b->started = 0; /* try again when Redis is back */
        return;
    }
    b->start_s = clock_ms(CLOCK_MONOTONIC) / 1e3;
    b->base_ms = ch_time_now_ms();
    if (b->mode == MODE_LATENESS || b->mode == MODE_BURST)
        b->t0_ms = b->base_ms + b->cfg->lead_ms;
    pump(b);
}

static void
start(bench *b)
{
    for (int32_t p = 0; p < b->cfg->partitions; p++)
        sla_timer_store_own(b->store, p);
    /* Answered after the scripts are loaded and the first claims are done. */
    if (ch_redis_command(b->rt, start_cb, b, "PING") != 0)
        b->started = 0;
}

static void
warmed_cb(void *opaque, int rc, int32_t partition, int64_t offset, const char *errstr)
{
    (void)partition;
    (void)offset;
    (void)errstr;
    bench *b = opaque;
    if (rc != 0)
        finish(b, "Kafka refused the warm-up write to bench.topic");
    else
        start(b);
}

/* With bench.topic, one write (an empty TimerFired keyed "bench-warm-up")
 * is confirmed before the run starts: librdkafka takes about a second over
 * the first write to a topic it has no metadata for, which a running
 * sla-timer paid once when it started, not on every timer. */
static void
bench_on_redis_ready(void *svc)
{
    bench *b = svc;
    sla_timer_store_redis_ready(b->store);
    if (b->started)
        return;
    b->started = 1;
    if (!b->cfg->topic[0]) {
        start(b);
        return;
    }
    Charter__V1__TimerFired warm = CHARTER__V1__TIMER_FIRED__INIT;
    if (ch_produce(b->rt, b->cfg->topic, "bench-warm-up", &warm.base, warmed_cb, b) != 0)
        finish(b, "the warm-up write to bench.topic was not queued");
}

static void
bench_fini(void *svc)
{
    bench *b = svc;
    if (b->limit_ev)
        event_free(b->limit_ev);
    sla_timer_store_free(b->store);
    free(b->plans);
    if (b->parts) {
        for (int64_t p = 0; p < b->cfg->partitions; p++) {
            free(b->parts[p].specs);
            free(b->parts[p].ids);
            free(b->parts[p].payloads);
            free(b->parts[p].cases);
        }
        free(b->parts);
    }
    free(b->fired_ms);
    free(b->due_ms);
    free(b->redis_ms);
    free(b->acked_ms);
    free(b);
}

static int
bench_init(ch_runtime *rt, const void *config, void **svc, char *errstr, size_t errstr_size)
{
    const bench_config *cfg = config;
    bench *b = calloc(1, sizeof(*b));
    if (!b)
        goto nomem;
    b->rt = rt;
    b->cfg = cfg;
    b->mode = strcmp(cfg->mode, "lateness") == 0 ? MODE_LATENESS
              : strcmp(cfg->mode, "burst") == 0  ? MODE_BURST
              : strcmp(cfg->mode, "fill") == 0   ? MODE_FILL
                                                 : MODE_SCHEDULE;
    if (cfg->batch > 0 && cfg->batch < cfg->per_case) {
        snprintf(errstr, errstr_size, "bench.batch must be 0 or at least bench.per_case");
        free(b);
        return CH_EINVAL;
    }
    b->ncases = (cfg->timers + cfg->per_case - 1) / cfg->per_case;
    size_t cap = (size_t)(cfg->batch > 0 ? cfg->batch : cfg->per_case);
    b->parts = calloc((size_t)cfg->partitions, sizeof(*b->parts));
    if (!b->parts)
        goto nomem;
    for (int64_t p = 0; p < cfg->partitions; p++) {
        pending *pd = &b->parts[p];
        pd->specs = calloc(cap, sizeof(*pd->specs));
        pd->ids = calloc(cap, sizeof(*pd->ids));
        pd->payloads = calloc(cap, sizeof(*pd->payloads));
        pd->cases = calloc(cap, sizeof(*pd->cases));
        if (!pd->specs || !pd->ids || !pd->payloads || !pd->cases)
            goto nomem;
        if (cfg->batch == 0)
            break; /* one case at a time: parts[0] only */
    }
    if (b->mode == MODE_LATENESS || b->mode == MODE_BURST) {
        b->fired_ms = calloc((size_t)cfg->timers, sizeof(*b->fired_ms));
        b->due_ms = calloc((size_t)cfg->timers, sizeof(*b->due_ms));
        b->redis_ms = calloc((size_t)cfg->timers, sizeof(*b->redis_ms));
        b->acked_ms = calloc((size_t)cfg->timers, sizeof(*b->acked_ms));
        if (!b->fired_ms || !b->due_ms || !b->redis_ms || !b->acked_ms)
            goto nomem;
    }
    b->compact = strcmp(cfg->format, "compact") == 0;
    b->store = sla_timer_store_new(rt, SLA_KEY_PREFIX, cfg->lease_ms,
                                   b->compact ? SLA_TIMER_COMPACT : SLA_TIMER_TEXT, on_fire, b);
    b->limit_ev = evtimer_new(ch_runtime_base(rt), time_limit_cb, b);
    if (!b->store || !b->limit_ev)
        goto nomem;
    struct timeval tv = {(time_t)cfg->time_limit_s, 0};
    evtimer_add(b->limit_ev, &tv);
    *svc = b;
    return 0;
nomem:
    if (b) {
        b->cfg = cfg;
        bench_fini(b);
    }
    snprintf(errstr, errstr_size, "out of memory");
    return CH_ENOMEM;
}

static const ch_service bench_service = {
    .name = "bench-timers",
    .env_prefix = "CHARTER_BENCH_",
    .default_http_listen = "127.0.0.1:0",
    .config = bench_keys,
    .nconfig = CH_COUNTOF(bench_keys),
    .config_size = sizeof(bench_config),
    .init = bench_init,
    .policy_dir_key = "bench.policy_dir",
    .on_redis_ready = bench_on_redis_ready,
    .fini = bench_fini,
};

int
main(int argc, char **argv, char **envp)
{
    return ch_runtime_main(&bench_service, argc, argv, envp);
}
