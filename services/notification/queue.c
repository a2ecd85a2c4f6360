/*
 * The send queue: every notification waits in one Redis sorted set
 * ("charter:notify:queue", score = when it may go, member = notification id)
 * beside its idempotency record ("charter:notify:{<case>}:<what>") and the
 * rendered message ("...:job", a hash). Nothing waits in memory, so a restart
 * loses no retry and no held text message.
 *
 * Claiming moves due members' scores to now + notify.lease_ms in one Lua
 * script: an instance that dies mid-send leaves its claims to expire and be
 * claimed again; the lease is longer than any transport's timeout, so a live
 * instance finishes (and removes or reschedules) first.
 *
 * The idempotency record says what a reclaimed notification may do:
 * "queued" (nothing reached the customer: send), "committed" (SMTP only: the
 * end of the message may have reached the mail server; sending again could
 * send twice, so the outcome is reported as unknown to staff, not retried),
 * "sent", "failed", "unknown" (done: remove). HTTP, Kafka and file sends
 * never leave "queued": each carries the notification id as its idempotency
 * reference, so a repeat after a crash is dropped by the receiver.
 */
#include <event2/event.h>
#include <jansson.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "charter/errors.h"
#include "charter/names.h"
#include "charter/timeutil.h"
#include "charter/v1/dead_letter.pb-c.h"
#include "charter/v1/notification.pb-c.h"
#include "notify.h"

#define S_QUEUED CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_QUEUED
#define S_SENT CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_SENT
#define S_FAILED CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_FAILED

static const char claim_lua[] =
    "local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, "
    "tonumber(ARGV[3]))\n"
    "for _, m in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], m) end\n"
    "return due\n";

int
notify_outcome(notify *n, const char *id, const char *case_id, const char *organisation, int kind,
               int status, const char *channel, const char *transport, const char *reason,
               const char *reference, int attempt, ch_produce_cb cb, void *opaque)
{
    Charter__V1__NotificationOutcome o = CHARTER__V1__NOTIFICATION_OUTCOME__INIT;
    Charter__V1__Timestamp at = CHARTER__V1__TIMESTAMP__INIT;
    ch_time_split_ms(ch_time_now_ms(), &at.seconds, &at.nanos);
    static const char *const names[] = {"", "queued", "sent", "delivered", "failed", "suppressed"};
    char event_id[300];
    /* One outcome per notification and status (and retry): a repeat
     * carries the same id, so consumers drop it. */
    if (attempt > 0)
        snprintf(event_id, sizeof(event_id), "%s/%s/%d", id, names[status], attempt);
    else
        snprintf(event_id, sizeof(event_id), "%s/%s", id, names[status]);
    o.event_id = event_id;
    o.notification_id = (char *)id;
    o.case_id = (char *)case_id;
    o.organisation = (char *)organisation;
    o.kind = (Charter__V1__NotificationKind)kind;
    o.status = (Charter__V1__NotificationOutcome__Status)status;
    o.channel = ch_channel_from_name(channel);
    o.transport = (char *)transport;
    o.reason = (char *)(reason ? reason : "");
    o.occurred_at = &at;
    o.reference = (char *)reference;
    return ch_produce(n->rt, n->cfg->outcomes_topic, case_id, &o.base, cb, opaque);
}

void
notify_job_request(notify_job *j, Charter__V1__NotificationRequest *rq)
{
    charter__v1__notification_request__init(rq);
    rq->notification_id = j->id;
    rq->case_id = j->case_id;
    rq->organisation = j->organisation;
    rq->kind = (Charter__V1__NotificationKind)j->kind;
    rq->channel = ch_channel_from_name(j->channel);
    rq->language = j->language;
    rq->template_id = j->kind_name;
    rq->reference = j->reference;
    rq->recipient_role = j->customer ? "customer" : "staff";
}

void
notify_job_free(notify_job *j)
{
    if (!j)
        return;
    char **fields[] = {&j->case_id, &j->organisation, &j->reference, &j->kind_name,
                       &j->channel, &j->to,           &j->subject,   &j->body,
                       &j->meta,    &j->transport,    &j->language};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        free(*fields[i]);
    if (j->easy)
        curl_easy_cleanup(j->easy);
    curl_slist_free_all(j->list);
    free(j->payload);
    free(j);
}

static void claim_more(notify *n);

void
notify_queue_kick(notify *n)
{
    if (n->kick)
        event_active(n->kick, EV_TIMEOUT, 0);
}

static int64_t
rate_of(const notify_config *cfg, int i)
{
    return i == NOTIFY_RATE_SMTP   ? cfg->smtp_rate
           : i == NOTIFY_RATE_HTTP ? cfg->http_rate
                                   : cfg->kafka_rate;
}

static notify_bucket *
bucket_for(notify *n, const char *transport)
{
    if (strcmp(transport, "smtp") == 0)
        return &n->rate[NOTIFY_RATE_SMTP];
    if (strcmp(transport, "http") == 0)
        return &n->rate[NOTIFY_RATE_HTTP];
    if (strcmp(transport, "kafka") == 0)
        return &n->rate[NOTIFY_RATE_KAFKA];
    return NULL;
}

/* Looks for due notifications at due_ms (or sooner, if already asked). */
static void
wake_at(notify *n, int64_t due_ms)
{
    int64_t delay = due_ms - ch_time_now_ms();
    if (delay < 1)
        delay = 1;
    struct timeval tv = {(time_t)(delay / 1000), (suseconds_t)(delay % 1000 * 1000)}, when;
    if (evtimer_pending(n->wake, &when)) {
        struct timeval now, want;
        evutil_gettimeofday(&now, NULL);
        evutil_timeradd(&now, &tv, &want);
        if (evutil_timercmp(&when, &want, <=))
            return;
    }
    evtimer_add(n->wake, &tv);
}

static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    claim_more(arg);
}

static void
attempt_over(notify *n)
{
    n->in_flight--;
    notify_queue_kick(n);
}

static void
cleanup_keys(notify_job *j)
{
    ch_redis_command(j->n->rt, NULL, NULL, "ZREM %s %s", NOTIFY_QUEUE_KEY, j->id);
    ch_redis_command(j->n->rt, NULL, NULL, "DEL %s", j->job_key);
}

static void
sent_recorded(void *opaque, redisReply *reply)
{
    notify_job *j = opaque;
    notify *n = j->n;
    if (reply && reply->type != REDIS_REPLY_ERROR) {
        notify_outcome(n, j->id, j->case_id, j->organisation, j->kind, S_SENT, j->channel,
                       j->transport, "", j->reference, 0, NULL, NULL);
        cleanup_keys(j);
    }
    /* Not recorded: the claim expires and the next claim finds the state
     * the transport left ("queued": resent with the same reference, which
     * the receiver drops; "committed": reported as unknown). */
    notify_job_free(j);
}

static void
produce_dead_letter(notify_job *j, const char *reason)
{
    Charter__V1__NotificationRequest rq;
    notify_job_request(j, &rq);
    size_t len = charter__v1__notification_request__get_packed_size(&rq);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return;
    charter__v1__notification_request__pack(&rq, buf);
    Charter__V1__DeadLetter dl = CHARTER__V1__DEAD_LETTER__INIT;
    Charter__V1__Timestamp at = CHARTER__V1__TIMESTAMP__INIT;
    ch_time_split_ms(ch_time_now_ms(), &at.seconds, &at.nanos);
    dl.service = "notification";
    dl.source_topic = "redis:" NOTIFY_QUEUE_KEY;
    dl.source_partition = -1;
    dl.source_offset = -1;
    dl.original_key.data = (uint8_t *)j->id;
    dl.original_key.len = strlen(j->id);
    dl.original_value.data = buf;
    dl.original_value.len = len;
    dl.reason = (char *)reason;
    dl.failed_at = &at;
    ch_produce(j->n->rt, j->n->cfg->dlq_topic, j->case_id, &dl.base, NULL, NULL);
    free(buf);
}

/* A staff-facing line in the outbox for a send nobody can vouch for. */
static void
note_unknown(notify_job *j, const char *reason)
{
    json_t *line = json_object();
    json_object_set_new(line, "notification_id", json_string(j->id));
    json_object_set_new(line, "kind", json_string("delivery_unknown"));
    json_object_set_new(line, "case_id", json_string(j->case_id));
    json_object_set_new(line, "organisation", json_string(j->organisation));
    json_object_set_new(line, "reference", json_string(j->reference));
    json_object_set_new(line, "channel", json_string(j->channel));
    json_object_set_new(line, "to", json_string("owner"));
    json_object_set_new(line, "text",
                        json_string("Check with the customer whether our message arrived: "
                                    "the mail server was not heard from after it was sent."));
    json_object_set_new(line, "reason", json_string(reason));
    notify_outbox_append(j->n, j->organisation, line);
}

static void
retry_recorded(void *opaque, redisReply *reply)
{
    notify_job *j = opaque;
    (void)reply; /* not recorded: the claim expires and it is tried then */
    notify_job_free(j);
}

void
notify_job_finished(notify_job *j, notify_result r, int64_t retry_after_ms, const char *reason)
{
    notify *n = j->n;
    const ch_log *lg = ch_runtime_log(n->rt);
    char why[600];
    snprintf(why, sizeof(why), "%s", reason ? reason : "");
    attempt_over(n);
    if (r == NOTIFY_UNKNOWN && n->cfg->smtp_resend_unknown)
        r = NOTIFY_TEMP; /* the receiver drops a repeated Message-ID */
    if (r == NOTIFY_TEMP && j->attempts + 1 >= n->cfg->max_attempts) {
        snprintf(why, sizeof(why), "gave up after %d attempts: %s", j->attempts + 1,
                 reason ? reason : "");
        r = NOTIFY_PERM;
    }
    switch (r) {
    case NOTIFY_SENT:
        ch_metric_add(n->m_sent, 1);
        CH_LOG_INFO(lg, "notification sent", CH_STR("case_id", j->case_id),
                    CH_STR("kind", j->kind_name), CH_STR("reference", j->reference),
                    CH_STR("transport", j->transport), CH_INT("attempt", j->attempts + 1));
        if (ch_redis_command(n->rt, sent_recorded, j, "SET %s sent EX %d", j->idem_key,
                             NOTIFY_CLAIM_TTL_S) != 0)
            notify_job_free(j);
        return;
    case NOTIFY_TEMP: {
        int attempt = ++j->attempts;
        int64_t now = ch_time_now_ms();
        int64_t delay = notify_backoff_ms(attempt, n->cfg->retry_base_ms, n->cfg->retry_max_ms,
                                          (double)random() / ((double)RAND_MAX + 1.0));
        if (retry_after_ms > delay)
            delay = retry_after_ms;
        int64_t due = now + delay;
        if (j->customer)
            due = notify_quiet_due(n, j->organisation, j->channel, due);
        ch_metric_add(n->m_retried, 1);
        CH_LOG_WARN(lg, "notification will be retried", CH_STR("case_id", j->case_id),
                    CH_STR("kind", j->kind_name), CH_STR("transport", j->transport),
                    CH_INT("attempt", attempt), CH_INT("retry_in_ms", due - now),
                    CH_STR("reason", why));
        char at[CH_TIME_BUFSZ], note[700];
        ch_time_format_utc(due, at, sizeof(at));
        snprintf(note, sizeof(note), "retry %d at %s: %s", attempt, at, why);
        notify_outcome(n, j->id, j->case_id, j->organisation, j->kind, S_QUEUED, j->channel,
                       j->transport, note, j->reference, attempt, NULL, NULL);
        if (ch_redis_command(n->rt, NULL, NULL, "MULTI") != 0 ||
            ch_redis_command(n->rt, NULL, NULL, "HSET %s attempts %d", j->job_key, attempt) != 0 ||
            ch_redis_command(n->rt, NULL, NULL, "SET %s queued EX %d", j->idem_key,
                             NOTIFY_CLAIM_TTL_S) != 0 ||
            ch_redis_command(n->rt, NULL, NULL, "ZADD %s XX %lld %s", NOTIFY_QUEUE_KEY,
                             (long long)due, j->id) != 0 ||
            ch_redis_command(n->rt, retry_recorded, j, "EXEC") != 0)
            notify_job_free(j);
        return;
    }
    case NOTIFY_PERM:
        ch_metric_add(n->m_failed, 1);
        CH_LOG_ERROR(lg, "notification failed", CH_STR("case_id", j->case_id),
                     CH_STR("kind", j->kind_name), CH_STR("transport", j->transport),
                     CH_STR("reason", why));
        ch_redis_command(n->rt, NULL, NULL, "SET %s failed EX %d", j->idem_key, NOTIFY_CLAIM_TTL_S);
        produce_dead_letter(j, why);
        notify_outcome(n, j->id, j->case_id, j->organisation, j->kind, S_FAILED, j->channel,
                       j->transport, why, j->reference, 0, NULL, NULL);
        cleanup_keys(j);
        notify_job_free(j);
        return;
    case NOTIFY_UNKNOWN: {
        ch_metric_add(n->m_unknown, 1);
        char r2[700];
        snprintf(r2, sizeof(r2), "unknown: %s", why);
        CH_LOG_ERROR(lg, "notification outcome unknown: not resent, staff told",
                     CH_STR("case_id", j->case_id), CH_STR("kind", j->kind_name),
                     CH_STR("transport", j->transport), CH_STR("reason", why));
        ch_redis_command(n->rt, NULL, NULL, "SET %s unknown EX %d", j->idem_key,
                         NOTIFY_CLAIM_TTL_S);
        note_unknown(j, r2);
        notify_outcome(n, j->id, j->case_id, j->organisation, j->kind, S_FAILED, j->channel,
                       j->transport, r2, j->reference, 0, NULL, NULL);
        cleanup_keys(j);
        notify_job_free(j);
        return;
    }
    }
}

static char *
dup_field(redisReply *h, const char *key)
{
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        if (h->element[i]->type == REDIS_REPLY_STRING && strcmp(h->element[i]->str, key) == 0)
            return strdup(h->element[i + 1]->str ? h->element[i + 1]->str : "");
    return strdup("");
}

static void
loaded(void *opaque, redisReply *reply)
{
    notify_job *j = opaque;
    notify *n = j->n;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[1]->type != REDIS_REPLY_ARRAY) {
        attempt_over(n); /* the claim expires and it is tried again */
        notify_job_free(j);
        return;
    }
    redisReply *st = reply->element[0], *h = reply->element[1];
    const char *state = st->type == REDIS_REPLY_STRING ? st->str : "";
    if (h->elements == 0) {
        CH_LOG_WARN(ch_runtime_log(n->rt), "queued notification has no record: dropped",
                    CH_STR("notification_id", j->id), CH_STR("state", state));
        ch_redis_command(n->rt, NULL, NULL, "ZREM %s %s", NOTIFY_QUEUE_KEY, j->id);
        attempt_over(n);
        notify_job_free(j);
        return;
    }
    j->case_id = dup_field(h, "case_id");
    j->organisation = dup_field(h, "organisation");
    j->reference = dup_field(h, "reference");
    j->kind_name = dup_field(h, "kind_name");
    j->channel = dup_field(h, "channel");
    j->to = dup_field(h, "to");
    j->subject = dup_field(h, "subject");
    j->body = dup_field(h, "body");
    j->meta = dup_field(h, "meta");
    j->transport = dup_field(h, "transport");
    j->language = dup_field(h, "language");
    char *s = dup_field(h, "kind");
    j->kind = s ? atoi(s) : 0;
    free(s);
    s = dup_field(h, "attempts");
    j->attempts = s ? atoi(s) : 0;
    free(s);
    s = dup_field(h, "customer");
    j->customer = s && s[0] == '1';
    free(s);
    if (!j->case_id || !j->organisation || !j->reference || !j->kind_name || !j->channel ||
        !j->to || !j->subject || !j->body || !j->meta || !j->transport || !j->language) {
        attempt_over(n);
        notify_job_free(j);
        return;
    }
    if (strcmp(state, "sent") == 0 || strcmp(state, "failed") == 0 ||
        strcmp(state, "unknown") == 0) {
        if (strcmp(state, "sent") == 0)
            notify_outcome(n, j->id, j->case_id, j->organisation, j->kind, S_SENT, j->channel,
                           j->transport, "", j->reference, 0, NULL, NULL);
        cleanup_keys(j);
        attempt_over(n);
        notify_job_free(j);
        return;
    }
    if (strcmp(state, "committed") == 0 && !n->cfg->smtp_resend_unknown) {
        notify_job_finished(j, NOTIFY_UNKNOWN, -1,
                            "the service stopped after handing the message to the mail server "
                            "and before its answer");
        return;
    }
    notify_bucket *bucket = bucket_for(n, j->transport);
    int64_t now = ch_time_now_ms(), due = bucket ? notify_bucket_take(bucket, now) : 0;
    if (due > 0) {
        /* Over the transport's rate: back in the queue, no attempt counted. */
        ch_metric_add(n->m_rate_held, 1);
        ch_redis_command(n->rt, NULL, NULL, "ZADD %s XX %lld %s", NOTIFY_QUEUE_KEY, (long long)due,
                         j->id);
        wake_at(n, due);
        n->in_flight--;
        notify_job_free(j);
        return;
    }
    if (strcmp(state, "committed") == 0)
        CH_LOG_WARN(ch_runtime_log(n->rt),
                    "resending after an unknown outcome (notify.smtp.resend_unknown)",
                    CH_STR("case_id", j->case_id), CH_STR("kind", j->kind_name));
    int rc;
    if (strcmp(j->transport, "smtp") == 0)
        rc = notify_send_smtp(j);
    else if (strcmp(j->transport, "http") == 0)
        rc = notify_send_http(j);
    else if (strcmp(j->transport, "kafka") == 0)
        rc = notify_send_kafka(j);
    else
        rc = notify_send_file(j);
    if (rc != 0)
        notify_job_finished(j, NOTIFY_TEMP, -1, ch_strerror(rc));
}

static void
start_job(notify *n, const char *member)
{
    const char *slash = strchr(member, '/');
    if (!slash || strlen(member) >= sizeof(((notify_job *)0)->id)) {
        ch_redis_command(n->rt, NULL, NULL, "ZREM %s %s", NOTIFY_QUEUE_KEY, member);
        return;
    }
    notify_job *j = calloc(1, sizeof(*j));
    if (!j)
        return;
    j->n = n;
    snprintf(j->id, sizeof(j->id), "%s", member);
    snprintf(j->idem_key, sizeof(j->idem_key), "charter:notify:{%.*s}:%s", (int)(slash - member),
             member, slash + 1);
    snprintf(j->job_key, sizeof(j->job_key), "%s:job", j->idem_key);
    n->in_flight++;
    if (ch_redis_command(n->rt, NULL, NULL, "MULTI") != 0 ||
        ch_redis_command(n->rt, NULL, NULL, "GET %s", j->idem_key) != 0 ||
        ch_redis_command(n->rt, NULL, NULL, "HGETALL %s", j->job_key) != 0 ||
        ch_redis_command(n->rt, loaded, j, "EXEC") != 0) {
        n->in_flight--;
        free(j);
    }
}

typedef struct {
    notify *n;
    int asked;
} claim_ctx;

static void
claimed(void *opaque, redisReply *reply)
{
    claim_ctx *c = opaque;
    notify *n = c->n;
    int asked = c->asked;
    free(c);
    n->claiming = 0;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        if (reply && reply->type == REDIS_REPLY_ERROR)
            CH_LOG_ERROR(ch_runtime_log(n->rt), "notification claim failed",
                         CH_STR("error", reply->str));
        return;
    }
    for (size_t i = 0; i < reply->elements; i++)
        if (reply->element[i]->type == REDIS_REPLY_STRING)
            start_job(n, reply->element[i]->str);
    if ((int)reply->elements == asked)
        notify_queue_kick(n);
}

static void
claim_more(notify *n)
{
    if (n->stopping || n->claiming || !ch_redis_ready(n->rt))
        return;
    int room = (int)n->cfg->max_in_flight - n->in_flight;
    if (room <= 0)
        return;
    claim_ctx *c = malloc(sizeof(*c));
    if (!c)
        return;
    c->n = n;
    c->asked = room;
    int64_t now = ch_time_now_ms();
    char snow[32], slease[32], sroom[16];
    snprintf(snow, sizeof(snow), "%lld", (long long)now);
    snprintf(slease, sizeof(slease), "%lld", (long long)(now + n->cfg->lease_ms));
    snprintf(sroom, sizeof(sroom), "%d", room);
    const char *argv[] = {"EVAL", claim_lua, "1", NOTIFY_QUEUE_KEY, snow, slease, sroom};
    size_t argvlen[7];
    for (int i = 0; i < 7; i++)
        argvlen[i] = strlen(argv[i]);
    n->claiming = 1;
    if (ch_redis_command_argv(n->rt, claimed, c, 7, argv, argvlen) != 0) {
        n->claiming = 0;
        free(c);
    }
}

int
notify_queue_init(notify *n, char *errstr, size_t errstr_size)
{
    n->kick = event_new(ch_runtime_base(n->rt), -1, 0, on_kick, n);
    n->wake = evtimer_new(ch_runtime_base(n->rt), on_kick, n);
    int64_t now = ch_time_now_ms();
    for (int i = 0; i < NOTIFY_NRATES; i++)
        notify_bucket_init(&n->rate[i], rate_of(n->cfg, i), rate_of(n->cfg, i), now);
    if (!n->kick || !n->wake) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    return 0;
}

void
notify_queue_fini(notify *n)
{
    if (n->kick)
        event_free(n->kick);
    if (n->wake)
        event_free(n->wake);
    n->kick = n->wake = NULL;
}
