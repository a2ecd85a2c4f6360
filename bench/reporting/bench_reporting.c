/*
 * bench_reporting: the producer and the probe of `make bench-reporting`
 * (bench/reporting/README.md). run.sh starts the broker, redis-server and the
 * real charter-reporting; this program writes the case events and measures.
 *
 * WHY IT IS BUILT THIS WAY
 * - It talks to Kafka with librdkafka directly and to the service over HTTP
 *   (libcurl), as any other client would: nothing of the service is linked
 *   in, so what is measured is the shipped binary.
 * - The events are what ingest writes (CaseEvent, keyed by case id, event ids
 *   "<case>-<step>"), without the customer block reporting never reads. A
 *   case is planned from a hash of (seed, stream, index), so no plan is
 *   stored: received, then acknowledged (email, forms), responded and closed,
 *   or a call for phone cases, with event times over September-November 2026,
 *   some answered late. A case's later events come a few thousand records
 *   after its earlier ones, as they do in life (hours or days later), so the
 *   service does not see two records of one case in flight at once; the
 *   conflicts it did see are reported (charter_report_case_conflicts_total).
 * - Throughput ("load", then "drain"): the events are all on the topic before
 *   charter-reporting starts, so the service, not the producer, sets the
 *   pace. The clock runs from the first event counted to the moment the API
 *   shows every organisation's figures complete.
 * - Latency ("latency"): events are produced at a steady rate, and every
 *   marker_ms a marker (a received event of organisation bench-probe, a copy
 *   of a real charter that only markers use) goes out with its send time
 *   noted; the API's figures.received for bench-probe is read in a loop, and
 *   a marker's latency is the time from its produce call to the answer that
 *   first counted it (an upper bound: resolution one poll, about 1 ms). A
 *   thread of its own produces, so a slow answer does not hold the rate back;
 *   a marker still unseen WAIT_S after the producer stopped counts with the
 *   time waited so far (a lower bound), and "unseen" says how many.
 *
 * Usage:
 *   bench_reporting load BOOTSTRAP EVENTS SEED EXPECT_FILE
 *   bench_reporting drain SERVICE_URL EXPECT_FILE TIMEOUT_S
 *   bench_reporting latency BOOTSTRAP SERVICE_URL RATE SECONDS MARKER_MS WAIT_S SEED
 * Each prints one JSON line on stdout and exits 0, or 1 with a message.
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "charter/v1/case_event.pb-c.h"
#include "charter/topics.h"

#define TOPIC CH_TOPIC_CONTACT_EVENTS
#define PROBE_ORG "bench-probe"
#define NORGS 5
#define MAX_STEPS 4
#define GAP_KEYS 20000 /* a case's next event: about 12,000 records later (2,000 a partition) */
#define DAY_MS 86400000LL

static const char *const orgs[NORGS] = {"nottingham-city-homes", "derby-homes", "nihe",
                                        "digital-first-council", "customer-care-council"};
static const char *const prefixes[NORGS] = {"NCH", "DH", "NIHE", "DFC", "CCC"};
static const int org_weight[NORGS] = {25, 20, 25, 15, 15};

typedef struct {
    Charter__V1__Channel channel;
    int weight;
} channel_share;

static const channel_share channels[] = {
    {CHARTER__V1__CHANNEL__CHANNEL_EMAIL, 30},       {CHARTER__V1__CHANNEL__CHANNEL_PHONE, 25},
    {CHARTER__V1__CHANNEL__CHANNEL_ONLINE_FORM, 15}, {CHARTER__V1__CHANNEL__CHANNEL_LETTER, 10},
    {CHARTER__V1__CHANNEL__CHANNEL_SOCIAL, 7},       {CHARTER__V1__CHANNEL__CHANNEL_VISIT, 5},
    {CHARTER__V1__CHANNEL__CHANNEL_VOICEMAIL, 4},    {CHARTER__V1__CHANNEL__CHANNEL_SMS, 4},
};

typedef struct {
    const char *type;
    int weight;
} type_share;

static const type_share types[] = {
    {"enquiry", 72}, {"complaint_stage_1", 9}, {"service_request", 8},
    {"foi", 5},      {"complaint_stage_2", 3}, {"sar", 2},
    {"eir", 1},
};

enum step_kind { S_RECEIVED, S_ACKNOWLEDGED, S_RESPONDED, S_CLOSED, S_CALL };

typedef struct {
    int org;
    Charter__V1__Channel channel;
    const char *type;
    int nsteps;
    enum step_kind kind[MAX_STEPS];
    int64_t at_ms[MAX_STEPS];
    int call_answered;
    uint32_t call_wait_s;
} case_plan;

/* One record of the stream: case index and step, ordered by key. */
typedef struct {
    uint64_t key;
    uint32_t idx;
    uint8_t step;
} slot;

static uint64_t
splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

typedef struct {
    uint64_t s;
} rng;

static uint64_t
rng_next(rng *r)
{
    r->s = splitmix(r->s);
    return r->s;
}

static uint64_t
rng_below(rng *r, uint64_t n)
{
    return rng_next(r) % n;
}

static int
pick(rng *r, const int *weights, size_t n, size_t stride)
{
    int total = 0;
    for (size_t i = 0; i < n; i++)
        total += *(const int *)((const char *)weights + i * stride);
    int v = (int)rng_below(r, (uint64_t)total);
    for (size_t i = 0; i < n; i++) {
        v -= *(const int *)((const char *)weights + i * stride);
        if (v < 0)
            return (int)i;
    }
    return (int)n - 1;
}

static int64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t
wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The plan of case idx of stream `stream` (0: load, 1: latency). */
static void
plan_case(uint64_t seed, int stream, uint32_t idx, case_plan *p)
{
    rng r = {splitmix(seed * 1000003ULL + (uint64_t)stream * 0x100000000ULL + idx)};
    memset(p, 0, sizeof(*p));
    p->org = pick(&r, org_weight, NORGS, sizeof(int));
    p->channel = channels[pick(&r, &channels[0].weight, sizeof(channels) / sizeof(channels[0]),
                               sizeof(channels[0]))]
                     .channel;
    p->type =
        types[pick(&r, &types[0].weight, sizeof(types) / sizeof(types[0]), sizeof(types[0]))].type;
    /* received on a weekday of 2026-09-01 .. 2026-11-20, 08:00-18:00 UTC */
    int64_t day0 = 1788220800000LL; /* 2026-09-01T00:00:00Z, a Tuesday */
    int64_t day;
    do
        day = (int64_t)rng_below(&r, 81);
    while (day % 7 == 4 || day % 7 == 5); /* day 0 is a Tuesday: 4 and 5 are the weekend */
    int64_t received = day0 + day * DAY_MS + 8 * 3600000LL + (int64_t)rng_below(&r, 36000000);
    p->kind[0] = S_RECEIVED;
    p->at_ms[0] = received;
    p->nsteps = 1;
    if (p->channel == CHARTER__V1__CHANNEL__CHANNEL_PHONE) {
        p->type = "enquiry";
        p->call_answered = rng_below(&r, 10) != 0;
        p->call_wait_s = (uint32_t)(3 + rng_below(&r, 10) * rng_below(&r, 9));
        p->kind[p->nsteps] = S_CALL;
        p->at_ms[p->nsteps++] = received + p->call_wait_s * 1000LL;
        if (rng_below(&r, 10) < 7) {
            p->kind[p->nsteps] = S_CLOSED;
            p->at_ms[p->nsteps++] = received + 300000;
        }
        return;
    }
    if ((p->channel == CHARTER__V1__CHANNEL__CHANNEL_EMAIL ||
         p->channel == CHARTER__V1__CHANNEL__CHANNEL_ONLINE_FORM) &&
        rng_below(&r, 10) < 6) {
        int late = rng_below(&r, 10) == 0;
        p->kind[p->nsteps] = S_ACKNOWLEDGED;
        p->at_ms[p->nsteps++] = received + (late ? 3 * DAY_MS : 30000);
    }
    if (rng_below(&r, 100) < 85) {
        /* four in five within 1-8 days, the rest 15-40 days: late for most charters */
        int64_t after = rng_below(&r, 5) ? (int64_t)(1 + rng_below(&r, 8)) * DAY_MS
                                         : (int64_t)(15 + rng_below(&r, 26)) * DAY_MS;
        if (p->channel == CHARTER__V1__CHANNEL__CHANNEL_VISIT)
            after = (int64_t)(5 + rng_below(&r, 30)) * 60000;
        int64_t responded = received + after + (int64_t)rng_below(&r, 3600000);
        p->kind[p->nsteps] = S_RESPONDED;
        p->at_ms[p->nsteps++] = responded;
        if (rng_below(&r, 10) < 7) {
            p->kind[p->nsteps] = S_CLOSED;
            p->at_ms[p->nsteps++] = responded + DAY_MS;
        }
    }
}

static void
case_id_of(uint64_t seed, int stream, uint32_t idx, char *out, size_t outsz)
{
    uint64_t a = splitmix(seed ^ ((uint64_t)stream << 40) ^ idx);
    uint64_t b = splitmix(a);
    snprintf(out, outsz, "%08" PRIx64 "-%04" PRIx64 "-4%03" PRIx64 "-8%03" PRIx64 "-%012" PRIx64,
             a >> 32, (a >> 16) & 0xffff, a & 0xfff, (b >> 52) & 0xfff,
             (uint64_t)(b & 0xffffffffffffULL));
}

/* ---- Kafka ---- */

typedef struct {
    long delivered, failed;
} dr_stats;

static void
dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    dr_stats *s = opaque;
    if (m->err)
        s->failed++;
    else
        s->delivered++;
}

static rd_kafka_t *
producer_new(const char *bootstrap, dr_stats *st, const char *linger)
{
    char err[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    const char *kv[][2] = {
        {"bootstrap.servers", bootstrap},
        {"acks", "all"},
        {"linger.ms", linger},
        {"compression.type", "lz4"},
        {"queue.buffering.max.messages", "2000000"},
        {"queue.buffering.max.kbytes", "1048576"},
        {"batch.num.messages", "10000"},
        {"message.timeout.ms", "60000"},
    };
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
        if (rd_kafka_conf_set(c, kv[i][0], kv[i][1], err, sizeof(err)) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "bench_reporting: %s\n", err);
            rd_kafka_conf_destroy(c);
            return NULL;
        }
    rd_kafka_conf_set_dr_msg_cb(c, dr_cb);
    rd_kafka_conf_set_opaque(c, st);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "bench_reporting: %s\n", err);
        rd_kafka_conf_destroy(c);
    }
    return rk;
}

/* Serialises and produces one event (copying the bytes); 0 or -1. */
static int
produce_event(rd_kafka_t *rk, const Charter__V1__CaseEvent *ev)
{
    uint8_t buf[1024];
    size_t n = charter__v1__case_event__get_packed_size(ev);
    if (n > sizeof(buf))
        return -1;
    charter__v1__case_event__pack(ev, buf);
    for (;;) {
        rd_kafka_resp_err_t e =
            rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_KEY(ev->case_id, strlen(ev->case_id)),
                              RD_KAFKA_V_VALUE(buf, n), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            return 0;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            fprintf(stderr, "bench_reporting: produce: %s\n", rd_kafka_err2str(e));
            return -1;
        }
        rd_kafka_poll(rk, 10);
    }
}

/* Builds step `step` of case idx and produces it. */
static int
produce_step(rd_kafka_t *rk, uint64_t seed, int stream, uint32_t idx, int step, const case_plan *p,
             int64_t ingested_ms)
{
    char case_id[40], event_id[48], ref[32], gw[48];
    case_id_of(seed, stream, idx, case_id, sizeof(case_id));
    snprintf(event_id, sizeof(event_id), "%s-%d", case_id, step);
    Charter__V1__CaseEvent ev = CHARTER__V1__CASE_EVENT__INIT;
    Charter__V1__Timestamp at = CHARTER__V1__TIMESTAMP__INIT, in = CHARTER__V1__TIMESTAMP__INIT;
    at.seconds = p->at_ms[step] / 1000;
    at.nanos = (int32_t)(p->at_ms[step] % 1000) * 1000000;
    in.seconds = ingested_ms / 1000;
    in.nanos = (int32_t)(ingested_ms % 1000) * 1000000;
    ev.event_id = event_id;
    ev.case_id = case_id;
    ev.organisation = (char *)(p->org < 0 ? PROBE_ORG : orgs[p->org]);
    ev.occurred_at = &at;
    ev.ingested_at = &in;
    ev.source = "http";
    Charter__V1__Received rec = CHARTER__V1__RECEIVED__INIT;
    Charter__V1__Acknowledged ack = CHARTER__V1__ACKNOWLEDGED__INIT;
    Charter__V1__Responded resp = CHARTER__V1__RESPONDED__INIT;
    Charter__V1__Closed cl = CHARTER__V1__CLOSED__INIT;
    Charter__V1__Call call = CHARTER__V1__CALL__INIT;
    switch (p->kind[step]) {
    case S_RECEIVED:
        rec.channel = p->channel;
        rec.case_type = (char *)p->type;
        snprintf(ref, sizeof(ref), "%s-2026-%06u", p->org < 0 ? "BP" : prefixes[p->org],
                 idx % 1000000);
        snprintf(gw, sizeof(gw), "gw-%s", case_id);
        rec.reference = ref;
        rec.gateway_message_id = gw;
        ev.event_case = CHARTER__V1__CASE_EVENT__EVENT_RECEIVED;
        ev.received = &rec;
        break;
    case S_ACKNOWLEDGED:
        ack.channel = p->channel;
        ack.by = "automatic";
        ev.event_case = CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED;
        ev.acknowledged = &ack;
        break;
    case S_RESPONDED:
        resp.channel = p->channel;
        resp.full_response = 1;
        ev.event_case = CHARTER__V1__CASE_EVENT__EVENT_RESPONDED;
        ev.responded = &resp;
        break;
    case S_CLOSED:
        cl.outcome = "resolved";
        ev.event_case = CHARTER__V1__CASE_EVENT__EVENT_CLOSED;
        ev.closed = &cl;
        break;
    case S_CALL:
        call.status = p->call_answered ? CHARTER__V1__CALL__STATUS__STATUS_ANSWERED
                                       : CHARTER__V1__CALL__STATUS__STATUS_ABANDONED;
        call.wait_seconds = p->call_wait_s;
        ev.event_case = CHARTER__V1__CASE_EVENT__EVENT_CALL;
        ev.call = &call;
        break;
    }
    return produce_event(rk, &ev);
}

static int
slot_cmp(const void *a, const void *b)
{
    const slot *x = a, *y = b;
    return x->key < y->key ? -1 : x->key > y->key;
}

/* The first `events` records of stream `stream`, in stream order (malloc'd). */
static slot *
stream_slots(uint64_t seed, int stream, long events)
{
    size_t cap = (size_t)events * MAX_STEPS, n = 0;
    slot *v = malloc(cap * sizeof(*v));
    if (!v)
        return NULL;
    for (uint32_t idx = 0; idx < (uint32_t)events; idx++) {
        case_plan p;
        plan_case(seed, stream, idx, &p);
        for (int s = 0; s < p.nsteps; s++)
            v[n++] = (slot){((uint64_t)idx * 4 + (uint64_t)s * GAP_KEYS) * MAX_STEPS + (uint64_t)s,
                            idx, (uint8_t)s};
    }
    qsort(v, n, sizeof(*v), slot_cmp);
    return v;
}

/* ---- HTTP ---- */

typedef struct {
    CURL *curl;
    char *buf;
    size_t len, cap;
} http;

static size_t
http_write(char *data, size_t size, size_t nmemb, void *opaque)
{
    http *h = opaque;
    size_t n = size * nmemb;
    if (h->len + n + 1 > h->cap) {
        size_t cap = (h->len + n + 1) * 2;
        char *b = realloc(h->buf, cap);
        if (!b)
            return 0;
        h->buf = b;
        h->cap = cap;
    }
    memcpy(h->buf + h->len, data, n);
    h->len += n;
    h->buf[h->len] = '\0';
    return n;
}

static int
http_init(http *h)
{
    memset(h, 0, sizeof(*h));
    h->curl = curl_easy_init();
    if (!h->curl)
        return -1;
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, http_write);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h->curl, CURLOPT_TCP_NODELAY, 1L);
    return 0;
}

/* GETs url; the body is in h->buf. 0 on a 200, -1 otherwise. */
static int
http_get(http *h, const char *url)
{
    h->len = 0;
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    if (curl_easy_perform(h->curl) != CURLE_OK || !h->buf)
        return -1;
    long code = 0;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
    return code == 200 ? 0 : -1;
}

static void
http_fini(http *h)
{
    curl_easy_cleanup(h->curl);
    free(h->buf);
}

/* A Prometheus sample's value from /metrics text, or -1. */
static double
metric(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

/* GET /v1/report?organisation=org&granularity=year as JSON (caller decrefs), or NULL. */
static json_t *
report_get(http *h, const char *base, const char *org)
{
    char url[512];
    snprintf(url, sizeof(url), "%s/v1/report?organisation=%s&granularity=year", base, org);
    return http_get(h, url) == 0 ? json_loads(h->buf, 0, NULL) : NULL;
}

/* figures/<name> of a report, or -1. */
static long long
figure(const json_t *report, const char *name)
{
    json_t *v = json_object_get(json_object_get(report, "figures"), name);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* figures/<name> of org's report, or -1. */
static long long
report_figure(http *h, const char *base, const char *org, const char *name)
{
    json_t *j = report_get(h, base, org);
    long long r = figure(j, name);
    json_decref(j);
    return r;
}

/* ---- modes ---- */

typedef struct {
    long long received, acknowledged, answered, closed, calls, open;
} org_expect;

static int
cmd_load(const char *bootstrap, long events, uint64_t seed, const char *expect_path)
{
    slot *v = stream_slots(seed, 0, events);
    dr_stats st = {0, 0};
    rd_kafka_t *rk = v ? producer_new(bootstrap, &st, "20") : NULL;
    if (!rk) {
        free(v);
        return 1;
    }
    org_expect ex[NORGS];
    memset(ex, 0, sizeof(ex));
    unsigned char *flags = calloc((size_t)events, 1); /* 1 responded, 2 closed */
    long kinds[5] = {0};
    int64_t t0 = mono_ns(), now_ms = wall_ms();
    int rc = flags ? 0 : 1;
    for (long i = 0; i < events && rc == 0; i++) {
        case_plan p;
        plan_case(seed, 0, v[i].idx, &p);
        if (produce_step(rk, seed, 0, v[i].idx, v[i].step, &p, now_ms) != 0) {
            rc = 1;
            break;
        }
        org_expect *e = &ex[p.org];
        switch (p.kind[v[i].step]) {
        case S_RECEIVED:
            e->received++;
            break;
        case S_ACKNOWLEDGED:
            e->acknowledged++;
            break;
        case S_RESPONDED:
            e->answered++;
            flags[v[i].idx] |= 1;
            break;
        case S_CLOSED:
            e->closed++;
            flags[v[i].idx] |= 2;
            break;
        case S_CALL:
            e->calls++;
            break;
        }
        kinds[p.kind[v[i].step]]++;
        if ((i & 1023) == 0)
            rd_kafka_poll(rk, 0);
    }
    uint32_t max_idx = 0;
    for (long i = 0; i < events; i++)
        if (v[i].idx > max_idx)
            max_idx = v[i].idx;
    for (uint32_t idx = 0; rc == 0 && idx <= max_idx; idx++) {
        case_plan p;
        plan_case(seed, 0, idx, &p);
        if (!flags[idx]) /* received (its first record comes first) and neither answered nor closed
                          */
            ex[p.org].open++;
    }
    if (rc == 0 && rd_kafka_flush(rk, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        rc = 1;
    double secs = (double)(mono_ns() - t0) / 1e9;
    /* every record still on the broker (the mock cluster drops a partition's oldest
     * records past its size limit) */
    long long appended = 0, dropped = 0;
    for (int32_t part = 0; rc == 0 && part < 64; part++) {
        int64_t lo, hi;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, TOPIC, part, &lo, &hi, 10000);
        if (e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
            e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            break;
        if (e) {
            fprintf(stderr, "bench_reporting: watermarks: %s\n", rd_kafka_err2str(e));
            rc = 1;
            break;
        }
        appended += hi;
        dropped += lo;
    }
    if (rc == 0 && (st.failed || st.delivered != events || appended != events || dropped)) {
        fprintf(stderr,
                "bench_reporting: %ld delivered, %ld failed, %lld on the topic, %lld dropped by "
                "the broker (of %ld)\n",
                st.delivered, st.failed, appended, dropped, events);
        rc = 1;
    }
    rd_kafka_destroy(rk);
    FILE *f = rc == 0 ? fopen(expect_path, "w") : NULL;
    if (rc == 0 && !f) {
        perror(expect_path);
        rc = 1;
    }
    if (f) {
        fprintf(f, "%ld\n", events);
        for (int o = 0; o < NORGS; o++)
            fprintf(f, "%s %lld %lld %lld %lld %lld %lld\n", orgs[o], ex[o].received,
                    ex[o].acknowledged, ex[o].answered, ex[o].closed, ex[o].calls, ex[o].open);
        fclose(f);
        long long cases = 0;
        for (int o = 0; o < NORGS; o++)
            cases += ex[o].received;
        printf("{\"events\":%ld,\"cases\":%lld,\"received\":%ld,\"acknowledged\":%ld,"
               "\"responded\":%ld,\"closed\":%ld,\"call\":%ld,\"produce_s\":%.3f}\n",
               events, cases, kinds[S_RECEIVED], kinds[S_ACKNOWLEDGED], kinds[S_RESPONDED],
               kinds[S_CLOSED], kinds[S_CALL], secs);
    }
    free(flags);
    free(v);
    return rc;
}

static int
cmd_drain(const char *base, const char *expect_path, double timeout_s)
{
    FILE *f = fopen(expect_path, "r");
    if (!f) {
        perror(expect_path);
        return 1;
    }
    long events = 0;
    char names[NORGS][64];
    org_expect ex[NORGS];
    int ok = fscanf(f, "%ld", &events) == 1;
    for (int o = 0; ok && o < NORGS; o++)
        ok = fscanf(f, "%63s %lld %lld %lld %lld %lld %lld", names[o], &ex[o].received,
                    &ex[o].acknowledged, &ex[o].answered, &ex[o].closed, &ex[o].calls,
                    &ex[o].open) == 7;
    fclose(f);
    if (!ok) {
        fprintf(stderr, "bench_reporting: %s unreadable\n", expect_path);
        return 1;
    }
    http h;
    if (http_init(&h) != 0)
        return 1;
    char murl[512];
    snprintf(murl, sizeof(murl), "%s/metrics", base);
    int64_t start = mono_ns(), t_first = 0, t10 = 0, t90 = 0, t_counted = 0, t_done = 0;
    double counted = 0, conflicts = 0, retries = 0, dlq = 0, counted_at_start = -1;
    int rc = 1;
    while ((double)(mono_ns() - start) / 1e9 < timeout_s) {
        if (http_get(&h, murl) == 0) {
            int64_t now = mono_ns();
            counted = metric(h.buf, "charter_report_events_counted_total") +
                      metric(h.buf, "charter_report_events_repeated_total");
            conflicts = metric(h.buf, "charter_report_case_conflicts_total");
            retries = metric(h.buf, "charter_handler_retries_total");
            dlq = metric(h.buf, "charter_dead_letters_total");
            if (counted_at_start < 0)
                counted_at_start = counted;
            if (!t_first && counted > 0)
                t_first = now;
            if (!t10 && counted >= 0.1 * (double)events)
                t10 = now;
            if (!t90 && counted >= 0.9 * (double)events)
                t90 = now;
            if (!t_counted && counted >= (double)events)
                t_counted = now;
        }
        if (t_counted) {
            int complete = 1;
            for (int o = 0; o < NORGS && complete; o++) {
                json_t *j = report_get(&h, base, names[o]);
                complete =
                    figure(j, "received") == ex[o].received &&
                    figure(j, "answered") == ex[o].answered && figure(j, "open") == ex[o].open &&
                    figure(j, "calls_answered") + figure(j, "calls_abandoned") == ex[o].calls;
                json_decref(j);
            }
            if (complete) {
                t_done = mono_ns();
                rc = 0;
                break;
            }
        }
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    if (rc != 0) {
        fprintf(stderr, "bench_reporting: not complete after %.0f s (%.0f of %ld counted)\n",
                timeout_s, counted, events);
    } else {
        double secs = (double)(t_done - t_first) / 1e9;
        double steady = t90 > t10 ? 0.8 * (double)events / ((double)(t90 - t10) / 1e9) : 0;
        printf("{\"events\":%ld,\"seconds\":%.3f,\"events_per_s\":%.0f,\"steady_events_per_s\":"
               "%.0f,\"first_counted_after_s\":%.3f,\"figures_lag_s\":%.3f,\"conflicts\":%.0f,"
               "\"retries\":%.0f,\"dead_letters\":%.0f,\"counted_at_start\":%.0f}\n",
               events, secs, (double)events / secs, steady, (double)(t_first - start) / 1e9,
               (double)(t_done - t_counted) / 1e9, conflicts, retries, dlq, counted_at_start);
    }
    http_fini(&h);
    return rc;
}

static int
dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double
pct(const double *v, size_t n, double p)
{
    if (!n)
        return -1;
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

/* The latency run's producer thread: events at the rate, a marker every marker_ms. */
typedef struct {
    rd_kafka_t *rk;
    const slot *v;
    uint64_t seed;
    long events, produced;
    double rate, seconds, marker_ms;
    size_t nmarkers;
    int64_t *sent;        /* produce time of each marker */
    _Atomic size_t nsent; /* markers produced so far */
    _Atomic int done;     /* 1: all produced, 2: failed */
    int64_t t0, end_ns;
} pacer;

static void *
pacer_run(void *arg)
{
    pacer *pc = arg;
    case_plan probe;
    memset(&probe, 0, sizeof(probe));
    probe.org = -1;
    probe.channel = CHARTER__V1__CHANNEL__CHANNEL_EMAIL;
    probe.type = "enquiry";
    probe.nsteps = 1;
    probe.kind[0] = S_RECEIVED;
    int64_t end = pc->t0 + (int64_t)(pc->seconds * 1e9), next_marker = pc->t0;
    size_t nsent = 0;
    for (;;) {
        int64_t now = mono_ns();
        long due = now >= end ? pc->events : (long)((double)(now - pc->t0) / 1e9 * pc->rate);
        if (due > pc->events)
            due = pc->events;
        int64_t wall = wall_ms();
        for (; pc->produced < due; pc->produced++) {
            case_plan p;
            const slot *sl = &pc->v[pc->produced];
            plan_case(pc->seed, 1, sl->idx, &p);
            if (produce_step(pc->rk, pc->seed, 1, sl->idx, sl->step, &p, wall) != 0) {
                pc->done = 2;
                return NULL;
            }
        }
        if (now >= next_marker && now < end && nsent < pc->nmarkers) {
            probe.at_ms[0] = wall;
            pc->sent[nsent] = mono_ns();
            if (produce_step(pc->rk, pc->seed, 2, (uint32_t)nsent, 0, &probe, wall) != 0) {
                pc->done = 2;
                return NULL;
            }
            rd_kafka_poll(pc->rk, 0); /* hands it to librdkafka's threads now */
            pc->nsent = ++nsent;
            next_marker += (int64_t)(pc->marker_ms * 1e6);
        }
        rd_kafka_poll(pc->rk, 0);
        if (pc->produced == pc->events && now >= end) {
            pc->end_ns = mono_ns();
            pc->done = 1;
            return NULL;
        }
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
}

static int
cmd_latency(const char *bootstrap, const char *base, double rate, double seconds, double marker_ms,
            double wait_s, uint64_t seed)
{
    pacer pc;
    memset(&pc, 0, sizeof(pc));
    pc.events = (long)(rate * seconds);
    pc.nmarkers = (size_t)(seconds * 1000.0 / marker_ms) + 1;
    pc.rate = rate;
    pc.seconds = seconds;
    pc.marker_ms = marker_ms;
    pc.seed = seed;
    slot *v = stream_slots(seed, 1, pc.events);
    pc.v = v;
    pc.sent = calloc(pc.nmarkers, sizeof(*pc.sent));
    double *lat = calloc(pc.nmarkers, sizeof(*lat));
    dr_stats st = {0, 0};
    pc.rk = v && pc.sent && lat ? producer_new(bootstrap, &st, "5") : NULL;
    http h;
    if (!pc.rk || http_init(&h) != 0) {
        free(v);
        free(pc.sent);
        free(lat);
        if (pc.rk)
            rd_kafka_destroy(pc.rk);
        return 1;
    }
    /* The producer warmed up first: a fresh librdkafka producer holds its
     * first records until it has the topic's metadata and a connection to
     * each partition's leader, and every marker of the first second then
     * showed about 1 s late (the harness's start, not the service's path).
     * WARMUP received events of other cases (stream 3; their keys reach
     * every partition), each delivered, before the clock starts. */
    enum { WARMUP = 200 };
    for (uint32_t k = 0; k < WARMUP; k++) {
        case_plan wp;
        plan_case(seed, 3, k, &wp);
        if (produce_step(pc.rk, seed, 3, k, 0, &wp, wall_ms()) != 0) {
            fprintf(stderr, "bench_reporting: the warm-up could not be produced\n");
            return 1;
        }
    }
    if (rd_kafka_flush(pc.rk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR || st.failed) {
        fprintf(stderr, "bench_reporting: the warm-up was not delivered within 30 s\n");
        return 1;
    }
    st.delivered = 0; /* the run's own records from here */
    char murl[512];
    snprintf(murl, sizeof(murl), "%s/metrics", base);
    long long baseline = report_figure(&h, base, PROBE_ORG, "received");
    double counted0 =
        http_get(&h, murl) == 0 ? metric(h.buf, "charter_report_events_counted_total") : -1;
    if (baseline < 0) {
        fprintf(stderr, "bench_reporting: GET /v1/report for %s failed\n", PROBE_ORG);
        return 1;
    }
    pc.t0 = mono_ns();
    pthread_t th;
    if (pthread_create(&th, NULL, pacer_run, &pc) != 0) {
        fprintf(stderr, "bench_reporting: cannot start the producer thread\n");
        return 1;
    }
    int64_t give_up = 0, counted_end_ns = 0, last_poll = 0;
    double counted_end = -1;
    size_t nseen = 0;
    long polls = 0;
    int rc = 0;
    for (;;) {
        int done = pc.done;
        size_t nsent = pc.nsent;
        if (done == 2) {
            rc = 1;
            break;
        }
        if (done == 1 && !give_up) {
            give_up = pc.end_ns + (int64_t)(wait_s * 1e9);
            if (http_get(&h, murl) == 0) {
                counted_end = metric(h.buf, "charter_report_events_counted_total");
                counted_end_ns = mono_ns();
            }
        }
        if (done == 1 && nseen == nsent)
            break;
        if (give_up && mono_ns() > give_up)
            break;
        if (nseen == nsent) {
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
            continue;
        }
        int64_t now = mono_ns();
        if (now - last_poll < 1000000) {
            struct timespec ts = {0, 1000000 - (now - last_poll)};
            nanosleep(&ts, NULL);
        }
        last_poll = mono_ns();
        long long got = report_figure(&h, base, PROBE_ORG, "received");
        int64_t t = mono_ns();
        polls++;
        if (got < 0) {
            fprintf(stderr, "bench_reporting: GET /v1/report for %s failed\n", PROBE_ORG);
            rc = 1;
            break;
        }
        for (; nseen < nsent && (long long)nseen < got - baseline; nseen++)
            lat[nseen] = (double)(t - pc.sent[nseen]) / 1e6;
    }
    pthread_join(th, NULL);
    int64_t stop = mono_ns();
    size_t nsent = pc.nsent, unseen = nsent - nseen;
    /* a marker never seen counts as at least its wait so far: p99 and max are then lower
     * bounds, and "unseen" says so */
    for (size_t k = nseen; k < nsent; k++)
        lat[k] = (double)(stop - pc.sent[k]) / 1e6;
    rd_kafka_flush(pc.rk, 60000);
    /* Which markers were slow, in the order sent (bench.log): a slow start
     * and a slow stretch read differently. */
    for (size_t k = 0; k < nsent; k++)
        if (lat[k] >= 250)
            fprintf(stderr, "bench_reporting: marker %zu of %zu (sent %.3f s in): %.1f ms\n", k,
                    nsent, (double)(pc.sent[k] - pc.t0) / 1e9, lat[k]);
    if (rc == 0) {
        qsort(lat, nsent, sizeof(*lat), dcmp);
        double prod_s = (double)(pc.end_ns - pc.t0) / 1e9;
        double counted_rate =
            counted0 >= 0 && counted_end >= 0
                ? (counted_end - counted0) / ((double)(counted_end_ns - pc.t0) / 1e9)
                : -1;
        printf("{\"target_rate\":%.0f,\"seconds\":%.1f,\"events\":%ld,\"produced_rate\":%.0f,"
               "\"delivered\":%ld,\"delivery_failed\":%ld,\"markers\":%zu,\"unseen\":%zu,"
               "\"polls\":%ld,\"p50_ms\":%.2f,\"p90_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f,"
               "\"min_ms\":%.2f,\"counted_rate\":%.0f,\"tail_s\":%.3f}\n",
               rate, seconds, pc.produced, (double)pc.produced / prod_s, st.delivered, st.failed,
               nsent, unseen, polls, pct(lat, nsent, 50), pct(lat, nsent, 90), pct(lat, nsent, 99),
               nsent ? lat[nsent - 1] : -1, nsent ? lat[0] : -1, counted_rate,
               (double)(stop - pc.end_ns) / 1e9);
    }
    http_fini(&h);
    rd_kafka_destroy(pc.rk);
    free(v);
    free(pc.sent);
    free(lat);
    return rc;
}

int
main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = 2;
    if (argc == 6 && strcmp(argv[1], "load") == 0)
        rc = cmd_load(argv[2], atol(argv[3]), strtoull(argv[4], NULL, 10), argv[5]);
    else if (argc == 5 && strcmp(argv[1], "drain") == 0)
        rc = cmd_drain(argv[2], argv[3], atof(argv[4]));
    else if (argc == 9 && strcmp(argv[1], "latency") == 0)
        rc = cmd_latency(argv[2], argv[3], atof(argv[4]), atof(argv[5]), atof(argv[6]),
                         atof(argv[7]), strtoull(argv[8], NULL, 10));
    else
        fprintf(stderr, "usage: bench_reporting load BOOTSTRAP EVENTS SEED EXPECT_FILE\n"
                        "       bench_reporting drain SERVICE_URL EXPECT_FILE TIMEOUT_S\n"
                        "       bench_reporting latency BOOTSTRAP SERVICE_URL RATE SECONDS "
                        "MARKER_MS WAIT_S SEED\n");
    curl_global_cleanup();
    return rc;
}
