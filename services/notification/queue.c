/*
 * The queue's two halves on Redis (queue.h has the state machine). Both
 * scripts are ch_redis_script: sent by their SHA-1, reloaded by the runtime
 * when Redis has lost them.
 *
 * Putting: one Lua script sets the record to "queued", writes the message
 * hash and adds the member, unless a record exists, so a redelivered timer
 * queues nothing twice.
 *
 * Claiming: one Lua script moves due members' scores to now +
 * notify.lease_ms, so an instance that dies mid-send leaves its claims to
 * expire and be claimed again; the lease is longer than any transport's
 * timeout, so a live instance finishes (and removes or reschedules) first.
 * A claimed member's record and message are read in one MULTI, the record
 * decides (notify_claim_step_of), the transport's token bucket may hold it
 * back, and the transport named in the message sends it. The transport
 * answers once (notify_sent_fn); notify_after_attempt says what the answer
 * does to the record.
 *
 * An unknown outcome queues a staff note through the staff transport
 * (render.c writes it), so the case owner can check with the customer.
 */
#include "queue.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "charter/errors.h"
#include "charter/timeutil.h"
#include "charter/v1/notification.pb-c.h"
#include "list.h"
#include "mime.h"
#include "outcome.h"
#include "recipient_limit.h"
#include "render.h"
#include "retry_rules.h"

#define S_QUEUED CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_QUEUED
#define S_SENT CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_SENT
#define S_FAILED CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_FAILED

static const char put_lua[] = "local st = redis.call('GET', KEYS[1])\n"
                              "if st then return st end\n"
                              "redis.call('SET', KEYS[1], 'queued', 'EX', ARGV[1])\n"
                              "redis.call('DEL', KEYS[2])\n"
                              "redis.call('HSET', KEYS[2], unpack(ARGV, 5))\n"
                              "redis.call('EXPIRE', KEYS[2], ARGV[4])\n"
                              "redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])\n"
                              "return 'new'\n";

/* The lease runs on Redis's clock (TIME), not the claiming instance's, so
 * instances whose clocks disagree still lease for notify.lease_ms (the
 * review's L7). Returns {now_ms, member...}. */
static const char claim_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, "
    "tonumber(ARGV[2]))\n"
    "for _, m in ipairs(due) do redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), m) end\n"
    "table.insert(due, 1, now)\n"
    "return due\n";

/* Parks a notification: its record becomes "parked", its member moves from
 * the queue to the parked set (score = when, ms), its message is kept for
 * notify_job_ttl and its attempts written. KEYS: record, job, queue, parked;
 * ARGV: member, record ttl, job ttl, attempts. */
static const char park_lua[] = "local t = redis.call('TIME')\n"
                               "redis.call('SET', KEYS[1], 'parked', 'EX', ARGV[2])\n"
                               "redis.call('HSET', KEYS[2], 'attempts', ARGV[4])\n"
                               "redis.call('EXPIRE', KEYS[2], ARGV[3])\n"
                               "redis.call('ZREM', KEYS[3], ARGV[1])\n"
                               "redis.call('ZADD', KEYS[4], tonumber(t[1]) * 1000, ARGV[1])\n"
                               "return 'parked'\n";

/* Counts a customer notice against its recipient's day
 * (recipient_limit.h), once per notice: the count is kept in the message
 * hash, so a retry or a second claim finds it instead of counting again.
 * KEYS: counter, job; ARGV: counter ttl. Returns the count (0: no message). */
static const char count_lua[] = "if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end\n"
                                "local c = redis.call('HGET', KEYS[2], 'recipient_count')\n"
                                "if c then return tonumber(c) end\n"
                                "local n = redis.call('INCR', KEYS[1])\n"
                                "if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end\n"
                                "redis.call('HSET', KEYS[2], 'recipient_count', n)\n"
                                "return n\n";

/* The message hash's fields, written by put and read back by a claim. */
enum {
    F_CASE_ID,
    F_ORGANISATION,
    F_REFERENCE,
    F_KIND,
    F_KIND_NAME,
    F_CHANNEL,
    F_TO,
    F_SUBJECT,
    F_BODY,
    F_META,
    F_TRANSPORT,
    F_LANGUAGE,
    F_ATTEMPTS,
    F_CUSTOMER,
    F_ABOUT,
    F_SENT_AT, /* ms, written when the transport took it (a customer's acknowledgement) */
    F_NOTE,    /* notify_message.note */
    F_TRIED,   /* notify_message.tried */
    NFIELDS
};
static const char *const field_name[NFIELDS] = {
    "case_id",  "organisation", "reference", "kind",    "kind_name", "channel",
    "to",       "subject",      "body",      "meta",    "transport", "language",
    "attempts", "customer",     "about",     "sent_at", "note",      "tried",
};

/* One claimed notification, from its claim until its record is written. */
typedef struct {
    notify_link link; /* first: in notify_queue.jobs */
    notify_queue *q;
    notify_ids ids;
    char *field[NFIELDS]; /* the message hash as read */
    notify_message msg;   /* views into field[] */
    char message_id[400]; /* id (200) + hash + domain (128): charter/notice_id.h */
    int slot, attempts, counted;
    int64_t send_ms;         /* when the transport was given it: send latency */
    notify_resume_fn resume; /* a commit on its way to Redis */
    void *resume_arg;
    char sent_reason[200]; /* what the transport said when it took it (a provider's id) */
} job;

struct notify_queue {
    notify *n;
    ch_redis_script *put, *claim, *park, *count; /* put_lua, ... by their SHA-1 */
    struct event *kick;
    struct event *wake; /* when the earliest message held for a rate limit may go */
    notify_bucket rate[NOTIFY_MAX_TRANSPORTS];
    int in_flight, stopping;
    int claiming;      /* a claim is on its way for this many (0: none) */
    notify_link *jobs; /* claimed, not yet settled on record */
};

static void claim_more(notify_queue *q);

void
notify_queue_kick(notify_queue *q)
{
    if (q && q->kick)
        event_active(q->kick, EV_TIMEOUT, 0);
}

void
notify_queue_stop(notify_queue *q)
{
    q->stopping = 1;
}

int
notify_queue_busy(const notify_queue *q)
{
    return q && (q->jobs != NULL || q->claiming);
}

static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    claim_more(arg);
}

/* Looks for due notifications at due_ms (or sooner, if already asked). */
static void
wake_at(notify_queue *q, int64_t due_ms)
{
    int64_t delay = due_ms - ch_time_now_ms();
    if (delay < 1)
        delay = 1;
    struct timeval tv = {(time_t)(delay / 1000), (suseconds_t)(delay % 1000 * 1000)}, when;
    if (evtimer_pending(q->wake, &when)) {
        struct timeval now, want;
        evutil_gettimeofday(&now, NULL);
        evutil_timeradd(&now, &tv, &want);
        if (evutil_timercmp(&when, &want, <=))
            return;
    }
    evtimer_add(q->wake, &tv);
}

/* ---- jobs ---- */

/* The job no longer takes a place among notify.max_in_flight; with kick,
 * another may be claimed. */
static void
release(job *j, int kick)
{
    if (j->counted) {
        j->counted = 0;
        j->q->in_flight--;
    }
    if (kick)
        notify_queue_kick(j->q);
}

static void
job_free(job *j)
{
    release(j, 0);
    notify_list_remove(&j->q->jobs, &j->link);
    for (int i = 0; i < NFIELDS; i++)
        free(j->field[i]);
    free(j);
}

/* Ends a job that was not sent: its place is free for another claim. */
static void
job_drop(job *j)
{
    release(j, 1);
    job_free(j);
}

static void
job_free_cb(void *opaque, redisReply *reply)
{
    (void)reply; /* not recorded: the claim expires and the next claim decides */
    job_free(opaque);
}

static void
cleanup_keys(job *j)
{
    ch_runtime *rt = j->q->n->rt;
    ch_redis_command(rt, NULL, NULL, "ZREM %s %s", NOTIFY_QUEUE_KEY, j->ids.id);
    ch_redis_command(rt, NULL, NULL, "DEL %s", j->ids.job_key);
}

/* A customer's acknowledgement: Charter acknowledged the case (by the
 * first one; a fallback or resend is the same acknowledgement again). */
static int
is_acknowledgement(const job *j)
{
    return j->msg.customer && !j->field[F_NOTE][0] &&
           j->msg.kind == CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_ACKNOWLEDGEMENT;
}

/* A customer notice the transport took: its delivery record (fallback.h,
 * receipts.h), which a provider's receipt finds it by once the message is
 * gone. No personal data: what it was, how it went, what was tried. */
static void
keep_delivery(job *j)
{
    char key[sizeof(j->ids.job_key) + 16], kind[16];
    snprintf(key, sizeof(key), "%s" NOTIFY_DELIVERY_SUFFIX, j->ids.idem_key);
    snprintf(kind, sizeof(kind), "%d", j->msg.kind);
    const char *tried = j->field[F_TRIED][0] ? j->field[F_TRIED] : j->msg.channel;
    const char *argv[] = {"HSET",         key,
                          "case_id",      j->msg.case_id,
                          "organisation", j->msg.organisation,
                          "reference",    j->msg.reference,
                          "kind",         kind,
                          "kind_name",    j->msg.kind_name,
                          "channel",      j->msg.channel,
                          "transport",    j->field[F_TRANSPORT],
                          "language",     j->msg.language,
                          "meta",         j->msg.meta,
                          "tried",        tried,
                          "note",         j->field[F_NOTE]};
    ch_runtime *rt = j->q->n->rt;
    ch_redis_command_argv(rt, NULL, NULL, (int)CH_COUNTOF(argv), argv, NULL);
    ch_redis_command(rt, NULL, NULL, "EXPIRE %s %d", key, NOTIFY_DELIVERY_TTL_S);
}

/* An outcome event for the job, unless it is a staff note; a sent
 * acknowledgement is also announced as the case's `acknowledged` event, at
 * the time it was sent (now, when that was not recorded). */
static void
announce(job *j, int status, const char *reason, int attempt)
{
    if (!j->field[F_ABOUT][0])
        notify_outcome(j->q->n, &j->msg, j->field[F_TRANSPORT], status,
                       reason && reason[0] ? reason : j->field[F_NOTE], attempt, NULL, NULL);
    if (status == S_SENT && is_acknowledgement(j)) {
        int64_t sent_ms = strtoll(j->field[F_SENT_AT], NULL, 10);
        notify_acknowledged(j->q->n, &j->msg, sent_ms > 0 ? sent_ms : ch_time_now_ms());
    }
}

static void
sent_recorded(void *opaque, redisReply *reply)
{
    job *j = opaque;
    if (reply && reply->type != REDIS_REPLY_ERROR) {
        announce(j, S_SENT, j->sent_reason, 0);
        cleanup_keys(j);
    }
    /* Not recorded: the claim expires and the next claim finds the state
     * the transport left ("queued": resent with the same reference, which
     * the receiver drops; "committed": the transport decides). */
    job_free(j);
}

/* Queues the note to the case owner that j's outcome is unknown. */
static void
note_unknown(job *j, const char *reason)
{
    notify *n = j->q->n;
    const notify_slot *staff = &n->slot[n->route[NOTIFY_ROUTE_STAFF]];
    notify_render_env env = {.staff_email = n->cfg->staff_email,
                             .staff_by_role = staff->t->staff_by_role};
    notify_rendered r = {0};
    notify_ids ids;
    char what[sizeof(ids.id)];
    snprintf(what, sizeof(what), "delivery_unknown/%s", strchr(j->ids.id, '/') + 1);
    int rc = notify_ids_make(&ids, j->msg.case_id, what);
    if (rc == 0)
        rc = notify_render_unknown(&env, j->ids.id, j->msg.reference, reason, &r);
    notify_message m = {
        .id = ids.id,
        .case_id = j->msg.case_id,
        .organisation = j->msg.organisation,
        .reference = j->msg.reference,
        .kind_name = "delivery_unknown",
        .channel = r.channel ? r.channel : "email",
        .language = r.lang,
        .to = r.to,
        .subject = r.subject,
        .body = r.body,
        .message_id = "",
        .meta = r.meta,
    };
    if (rc == 0)
        rc = notify_queue_put(j->q, &ids, &m, staff->t->name, ch_time_now_ms(), j->ids.id, NULL,
                              NULL);
    if (rc != 0)
        CH_LOG_ERROR(ch_runtime_log(n->rt), "staff note about an unknown outcome not queued",
                     CH_STR("notification_id", j->ids.id), CH_STR("error", ch_strerror(rc)));
    notify_rendered_free(&r);
}

static void
retry(job *j, int64_t retry_after_ms, const char *why)
{
    notify *n = j->q->n;
    int attempt = ++j->attempts;
    int64_t now = ch_time_now_ms();
    int64_t delay = notify_backoff_ms(attempt, n->cfg->retry_base_ms, n->cfg->retry_max_ms,
                                      (double)random() / ((double)RAND_MAX + 1.0));
    if (retry_after_ms > delay)
        delay = retry_after_ms;
    int64_t due = now + delay;
    if (j->msg.customer) {
        const ch_org_clocks *oc = notify_org(n, j->msg.organisation);
        due = notify_quiet_due(oc ? &oc->policy : NULL, notify_org_tz(n, oc), j->msg.channel, due);
    }
    ch_metric_add(n->m_retried, 1);
    CH_LOG_WARN(ch_runtime_log(n->rt), "notification will be retried",
                CH_STR("case_id", j->msg.case_id), CH_STR("kind", j->msg.kind_name),
                CH_STR("transport", j->field[F_TRANSPORT]), CH_INT("attempt", attempt),
                CH_INT("retry_in_ms", due - now), CH_STR("reason", why));
    char at[CH_TIME_BUFSZ], note[700];
    ch_time_format_utc(due, at, sizeof(at));
    snprintf(note, sizeof(note), "retry %d at %s: %s", attempt, at, why);
    announce(j, S_QUEUED, note, attempt);
    if (ch_redis_command(n->rt, NULL, NULL, "MULTI") != 0 ||
        ch_redis_command(n->rt, NULL, NULL, "HSET %s attempts %d", j->ids.job_key, attempt) != 0 ||
        ch_redis_command(n->rt, NULL, NULL, "SET %s queued EX %d", j->ids.idem_key,
                         notify_record_ttl_s(n)) != 0 ||
        ch_redis_command(n->rt, NULL, NULL, "ZADD %s XX %lld %s", NOTIFY_QUEUE_KEY, (long long)due,
                         j->ids.id) != 0 ||
        ch_redis_command(n->rt, job_free_cb, j, "EXEC") != 0)
        job_free(j);
}

/* Parks j (queue.h): the retry budget is spent or (r NOTIFY_AUTH) the
 * receiver refused our credentials. Never failed: an operator replays it
 * (charterctl notify replay) once the receiver is back or the key fixed. */
static void
park(job *j, notify_result r, const char *why)
{
    notify *n = j->q->n;
    const ch_log *lg = ch_runtime_log(n->rt);
    ch_metric_add(n->m_parked, 1);
    if (r == NOTIFY_AUTH) {
        ch_metric_add(n->m_auth_refused, 1);
        CH_LOG_ERROR(lg, "ALARM transport refused our credentials: notification parked",
                     CH_STR("alarm", "credentials_refused"),
                     CH_STR("transport", j->field[F_TRANSPORT]), CH_STR("case_id", j->msg.case_id),
                     CH_STR("kind", j->msg.kind_name), CH_STR("reason", why),
                     CH_STR("action", "fix the key, then charterctl notify replay"));
    } else {
        CH_LOG_ERROR(lg, "ALARM retry budget spent: notification parked",
                     CH_STR("alarm", "notification_parked"),
                     CH_STR("transport", j->field[F_TRANSPORT]), CH_STR("case_id", j->msg.case_id),
                     CH_STR("kind", j->msg.kind_name), CH_INT("attempts", j->attempts + 1),
                     CH_STR("reason", why),
                     CH_STR("action", "when the receiver is back, charterctl notify replay"));
    }
    char note[700], sttl[16], jttl[16], attempts[16];
    snprintf(note, sizeof(note), "parked: %s", why);
    announce(j, S_QUEUED, note, j->attempts + 1);
    snprintf(sttl, sizeof(sttl), "%d", notify_record_ttl_s(n));
    snprintf(jttl, sizeof(jttl), "%d", notify_job_ttl_s(n));
    snprintf(attempts, sizeof(attempts), "%d", j->attempts + 1);
    const char *argv[] = {
        j->ids.idem_key, j->ids.job_key, NOTIFY_QUEUE_KEY, NOTIFY_PARKED_KEY, j->ids.id, sttl, jttl,
        attempts};
    /* Not recorded: the claim expires and the next claim parks it again. */
    if (ch_redis_script_call(j->q->park, job_free_cb, j, 4, (int)CH_COUNTOF(argv), argv, NULL) != 0)
        job_free(j);
}

/* Per transport and result: charter_notify_sends_total and the send's
 * duration (bounded labels: the transport table and five results). */
static void
count_send(notify *n, const job *j, const char *result)
{
    static const char *const keys[] = {"transport", "result"};
    const char *transport = j->field[F_TRANSPORT] ? j->field[F_TRANSPORT] : "";
    const char *values[] = {transport, result};
    ch_metric_add(ch_metric_series(n->rt, CH_METRIC_COUNTER, "charter_notify_sends_total",
                                   "send attempts by transport and result (sent, failed, "
                                   "unknown, retry, parked)",
                                   2, keys, values),
                  1);
    if (j->send_ms > 0)
        ch_metric_observe(ch_metric_series(n->rt, CH_METRIC_HISTOGRAM,
                                           "charter_notify_send_duration_seconds",
                                           "time a transport took to accept or refuse a message", 1,
                                           keys, values),
                          (double)(ch_time_now_ms() - j->send_ms) / 1000.0);
}

/* The transport's answer (notify_sent_fn): exactly once per send. */
static void
sent(void *opaque, notify_result r, int64_t retry_after_ms, const char *reason)
{
    job *j = opaque;
    notify *n = j->q->n;
    const ch_log *lg = ch_runtime_log(n->rt);
    release(j, 1);
    notify_after a = notify_after_attempt(r, j->attempts, n->cfg->max_attempts);
    count_send(n, j,
               a.park                  ? "parked"
               : a.r == NOTIFY_TEMP    ? "retry"
               : a.r == NOTIFY_SENT    ? "sent"
               : a.r == NOTIFY_UNKNOWN ? "unknown"
                                       : "failed");
    char why[600];
    if (a.gave_up)
        snprintf(why, sizeof(why), "retry budget spent after %d attempts: %s", j->attempts + 1,
                 reason ? reason : "");
    else
        snprintf(why, sizeof(why), "%s", reason ? reason : "");
    if (a.park) {
        park(j, r, why);
        return;
    }
    if (a.r == NOTIFY_TEMP) {
        retry(j, retry_after_ms, why);
        return;
    }
    if (a.r == NOTIFY_SENT) {
        snprintf(j->sent_reason, sizeof(j->sent_reason), "%.199s", why);
        ch_metric_add(n->m_sent, 1);
        CH_LOG_INFO(lg, "notification sent", CH_STR("case_id", j->msg.case_id),
                    CH_STR("kind", j->msg.kind_name), CH_STR("reference", j->msg.reference),
                    CH_STR("transport", j->field[F_TRANSPORT]), CH_INT("attempt", j->attempts + 1));
        if (is_acknowledgement(j)) {
            char at[24];
            snprintf(at, sizeof(at), "%lld", (long long)ch_time_now_ms());
            char *keep = strdup(at);
            if (keep) {
                free(j->field[F_SENT_AT]);
                j->field[F_SENT_AT] = keep;
            }
            ch_redis_command(n->rt, NULL, NULL, "HSET %s sent_at %s", j->ids.job_key, at);
        }
        if (j->msg.customer && !j->field[F_ABOUT][0])
            keep_delivery(j);
        if (ch_redis_command(n->rt, sent_recorded, j, "SET %s %s EX %d", j->ids.idem_key, a.record,
                             notify_record_ttl_s(n)) != 0)
            job_free(j);
        return;
    }
    char failed[700];
    if (a.r == NOTIFY_UNKNOWN) {
        ch_metric_add(n->m_unknown, 1);
        snprintf(failed, sizeof(failed), "unknown: %s", why);
        CH_LOG_ERROR(lg, "notification outcome unknown: not resent, staff told",
                     CH_STR("case_id", j->msg.case_id), CH_STR("kind", j->msg.kind_name),
                     CH_STR("transport", j->field[F_TRANSPORT]), CH_STR("reason", why));
    } else {
        ch_metric_add(n->m_failed, 1);
        snprintf(failed, sizeof(failed), "%s", why);
        CH_LOG_ERROR(lg, "notification failed", CH_STR("case_id", j->msg.case_id),
                     CH_STR("kind", j->msg.kind_name), CH_STR("transport", j->field[F_TRANSPORT]),
                     CH_STR("reason", why));
    }
    ch_redis_command(n->rt, NULL, NULL, "SET %s %s EX %d", j->ids.idem_key, a.record,
                     notify_record_ttl_s(n));
    if (a.r == NOTIFY_UNKNOWN && !j->field[F_ABOUT][0])
        note_unknown(j, failed);
    else if (a.r == NOTIFY_PERM)
        notify_dead_letter(n, &j->msg, "redis:" NOTIFY_QUEUE_KEY, why);
    announce(j, S_FAILED, failed, 0);
    cleanup_keys(j);
    job_free(j);
}

static void
commit_recorded(void *opaque, redisReply *reply)
{
    job *j = opaque;
    notify_resume_fn resume = j->resume;
    j->resume = NULL;
    resume(j->resume_arg, reply && reply->type != REDIS_REPLY_ERROR); /* j may be gone */
}

/* notify_commit_fn: the record becomes "committed" before the transport's
 * point of no return. */
static void
commit(void *opaque, notify_resume_fn resume, void *attempt)
{
    job *j = opaque;
    j->resume = resume;
    j->resume_arg = attempt;
    if (ch_redis_command(j->q->n->rt, commit_recorded, j, "SET %s committed EX %d", j->ids.idem_key,
                         notify_record_ttl_s(j->q->n)) != 0) {
        j->resume = NULL;
        resume(attempt, 0);
    }
}

/* ---- claiming ---- */

/* Reads the message hash h into j; 0 or CH_ENOMEM. */
static int
read_message(job *j, const redisReply *h)
{
    for (int f = 0; f < NFIELDS; f++) {
        const char *v = "";
        for (size_t i = 0; i + 1 < h->elements; i += 2)
            if (h->element[i]->type == REDIS_REPLY_STRING &&
                strcmp(h->element[i]->str, field_name[f]) == 0 && h->element[i + 1]->str)
                v = h->element[i + 1]->str;
        if (!(j->field[f] = strdup(v)))
            return CH_ENOMEM;
    }
    char **f = j->field;
    j->attempts = atoi(f[F_ATTEMPTS]);
    if (strcmp(f[F_CHANNEL], "email") == 0)
        notify_message_id(j->ids.id, j->q->n->mail_domain, j->message_id, sizeof(j->message_id));
    j->msg = (notify_message){
        .id = j->ids.id,
        .case_id = f[F_CASE_ID],
        .organisation = f[F_ORGANISATION],
        .reference = f[F_REFERENCE],
        .kind = atoi(f[F_KIND]),
        .kind_name = f[F_KIND_NAME],
        .channel = f[F_CHANNEL],
        .language = f[F_LANGUAGE],
        .to = f[F_TO],
        .subject = f[F_SUBJECT],
        .body = f[F_BODY],
        .message_id = j->message_id,
        .meta = f[F_META],
        .customer = f[F_CUSTOMER][0] == '1',
        .note = f[F_NOTE],
        .tried = f[F_TRIED],
    };
    return 0;
}

static void send_now(job *j);

/* A customer notice over notify.recipient_max_per_day: failed for good,
 * like a refusal, and never sent. The log names the case, not the
 * recipient. */
static void
recipient_limited(job *j)
{
    notify *n = j->q->n;
    char why[160];
    snprintf(why, sizeof(why),
             "recipient limit: %lld customer messages to this address/number today",
             (long long)n->cfg->recipient_max_per_day);
    ch_metric_add(n->m_recipient_limited, 1);
    ch_metric_add(n->m_failed, 1);
    CH_LOG_WARN(ch_runtime_log(n->rt), "notification not sent: recipient limit reached",
                CH_STR("case_id", j->msg.case_id), CH_STR("kind", j->msg.kind_name),
                CH_STR("channel", j->msg.channel),
                CH_INT("recipient_max_per_day", n->cfg->recipient_max_per_day));
    ch_redis_command(n->rt, NULL, NULL, "SET %s failed EX %d", j->ids.idem_key,
                     notify_record_ttl_s(n));
    notify_dead_letter(n, &j->msg, "redis:" NOTIFY_QUEUE_KEY, why);
    announce(j, S_FAILED, why, 0);
    cleanup_keys(j);
    job_drop(j);
}

static void
recipient_counted(void *opaque, redisReply *reply)
{
    job *j = opaque;
    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        job_drop(j); /* the claim expires and it is tried again */
        return;
    }
    if (notify_recipient_over(reply->integer, j->q->n->cfg->recipient_max_per_day))
        recipient_limited(j);
    else
        send_now(j);
}

/* Counts j against its recipient's day, then sends or refuses it. */
static void
count_recipient(job *j)
{
    char key[NOTIFY_RECIPIENT_KEY_MAX], ttl[16];
    if (notify_recipient_key(j->msg.channel, j->msg.to, ch_time_now_ms(), key, sizeof(key)) != 0) {
        send_now(j); /* a channel the limit cannot name: not one of ours */
        return;
    }
    snprintf(ttl, sizeof(ttl), "%d", NOTIFY_RECIPIENT_KEY_TTL_S);
    const char *argv[] = {key, j->ids.job_key, ttl};
    if (ch_redis_script_call(j->q->count, recipient_counted, j, 2, (int)CH_COUNTOF(argv), argv,
                             NULL) != 0)
        job_drop(j);
}

static void
loaded(void *opaque, redisReply *reply)
{
    job *j = opaque;
    notify_queue *q = j->q;
    notify *n = q->n;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[1]->type != REDIS_REPLY_ARRAY) {
        job_drop(j); /* the claim expires and it is tried again */
        return;
    }
    redisReply *st = reply->element[0], *h = reply->element[1];
    const char *record = st->type == REDIS_REPLY_STRING ? st->str : NULL;
    if (h->elements == 0) {
        CH_LOG_WARN(ch_runtime_log(n->rt), "queued notification has no record: dropped",
                    CH_STR("notification_id", j->ids.id), CH_STR("state", record ? record : ""));
        ch_redis_command(n->rt, NULL, NULL, "ZREM %s %s", NOTIFY_QUEUE_KEY, j->ids.id);
        job_drop(j);
        return;
    }
    if (read_message(j, h) != 0) {
        job_drop(j);
        return;
    }
    switch (notify_claim_step_of(record)) {
    case NOTIFY_CLAIM_ANNOUNCE:
        announce(j, S_SENT, j->sent_reason, 0);
        /* fall through */
    case NOTIFY_CLAIM_REMOVE:
        cleanup_keys(j);
        job_drop(j);
        return;
    case NOTIFY_CLAIM_PARKED: /* its message stays for a replay */
        ch_redis_command(n->rt, NULL, NULL, "ZREM %s %s", NOTIFY_QUEUE_KEY, j->ids.id);
        job_drop(j);
        return;
    case NOTIFY_CLAIM_RESEND:
        j->msg.committed = 1;
        break;
    case NOTIFY_CLAIM_SEND:
        break;
    }
    if (j->msg.customer && !j->field[F_ABOUT][0] && n->cfg->recipient_max_per_day > 0) {
        count_recipient(j);
        return;
    }
    send_now(j);
}

/* Sends j unless its transport's token bucket holds it back. */
static void
send_now(job *j)
{
    notify_queue *q = j->q;
    notify *n = q->n;
    /* A transport no longer in the table: the one that carries letters. */
    j->slot = notify_transport_find(n->table, j->field[F_TRANSPORT]);
    if (j->slot < 0)
        j->slot = n->route[NOTIFY_ROUTE_OTHER];
    int64_t now = ch_time_now_ms(), due = notify_bucket_take(&q->rate[j->slot], now);
    if (due > 0) {
        /* Over the transport's rate: back in the queue, no attempt counted. */
        ch_metric_add(n->m_rate_held, 1);
        ch_redis_command(n->rt, NULL, NULL, "ZADD %s XX %lld %s", NOTIFY_QUEUE_KEY, (long long)due,
                         j->ids.id);
        wake_at(q, due);
        job_free(j);
        return;
    }
    const notify_slot *s = &n->slot[j->slot];
    j->send_ms = ch_time_now_ms();
    int rc = s->t->send(s->ctx, &j->msg, (notify_reply){sent, commit, j});
    if (rc != 0)
        sent(j, NOTIFY_TEMP, -1, ch_strerror(rc));
}

static void
start_job(notify_queue *q, const char *member)
{
    notify *n = q->n;
    job *j = calloc(1, sizeof(*j));
    if (!j)
        return;
    if (notify_ids_parse(&j->ids, member) != 0) {
        ch_redis_command(n->rt, NULL, NULL, "ZREM %s %s", NOTIFY_QUEUE_KEY, member);
        free(j);
        return;
    }
    j->q = q;
    j->counted = 1;
    q->in_flight++;
    notify_list_push(&q->jobs, &j->link);
    if (ch_redis_command(n->rt, NULL, NULL, "MULTI") != 0 ||
        ch_redis_command(n->rt, NULL, NULL, "GET %s", j->ids.idem_key) != 0 ||
        ch_redis_command(n->rt, NULL, NULL, "HGETALL %s", j->ids.job_key) != 0 ||
        ch_redis_command(n->rt, loaded, j, "EXEC") != 0)
        job_free(j);
}

static void
claimed(void *opaque, redisReply *reply)
{
    notify_queue *q = opaque;
    int asked = q->claiming;
    q->claiming = 0;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        if (reply && reply->type == REDIS_REPLY_ERROR)
            CH_LOG_ERROR(ch_runtime_log(q->n->rt), "notification claim failed",
                         CH_STR("error", reply->str));
        return;
    }
    for (size_t i = 1; i < reply->elements; i++) /* element 0: Redis's now */
        if (reply->element[i]->type == REDIS_REPLY_STRING)
            start_job(q, reply->element[i]->str);
    if (reply->elements > 0 && (int)reply->elements - 1 == asked)
        notify_queue_kick(q);
}

static void
claim_more(notify_queue *q)
{
    notify *n = q->n;
    if (q->stopping || q->claiming || !ch_redis_ready(n->rt))
        return;
    int room = (int)n->cfg->max_in_flight - q->in_flight;
    if (room <= 0)
        return;
    char slease[32], sroom[16];
    snprintf(slease, sizeof(slease), "%lld", (long long)n->cfg->lease_ms);
    snprintf(sroom, sizeof(sroom), "%d", room);
    const char *argv[] = {NOTIFY_QUEUE_KEY, slease, sroom};
    q->claiming = room;
    if (ch_redis_script_call(q->claim, claimed, q, 1, (int)CH_COUNTOF(argv), argv, NULL) != 0)
        q->claiming = 0;
}

/* ---- putting ---- */

typedef struct {
    notify_queue *q;
    notify_put_fn cb;
    void *opaque;
} put_ctx;

static void
put_done(void *opaque, redisReply *reply)
{
    put_ctx c = *(put_ctx *)opaque;
    free(opaque);
    const char *record = NULL, *error = "could not queue";
    if (reply && (reply->type == REDIS_REPLY_STATUS || reply->type == REDIS_REPLY_STRING))
        record = reply->str;
    else if (reply && reply->str)
        error = reply->str;
    if (record && strcmp(record, "new") == 0)
        notify_queue_kick(c.q);
    if (c.cb)
        c.cb(c.opaque, record, record ? NULL : error);
}

int
notify_queue_put(notify_queue *q, const notify_ids *ids, const notify_message *m,
                 const char *transport, int64_t due_ms, const char *about, notify_put_fn cb,
                 void *opaque)
{
    char ttl[16], due[32], jttl[16], kind[16];
    snprintf(ttl, sizeof(ttl), "%d", notify_record_ttl_s(q->n));
    snprintf(due, sizeof(due), "%lld", (long long)due_ms);
    snprintf(jttl, sizeof(jttl), "%d", notify_job_ttl_s(q->n));
    snprintf(kind, sizeof(kind), "%d", m->kind);
    const char *value[NFIELDS] = {
        [F_CASE_ID] = m->case_id,
        [F_ORGANISATION] = m->organisation,
        [F_REFERENCE] = m->reference,
        [F_KIND] = kind,
        [F_KIND_NAME] = m->kind_name,
        [F_CHANNEL] = m->channel,
        [F_TO] = m->to,
        [F_SUBJECT] = m->subject,
        [F_BODY] = m->body,
        [F_META] = m->meta,
        [F_TRANSPORT] = transport,
        [F_LANGUAGE] = m->language,
        [F_ATTEMPTS] = "0",
        [F_CUSTOMER] = m->customer ? "1" : "0",
        [F_ABOUT] = about,
        [F_NOTE] = m->note,
        [F_TRIED] = m->tried,
    };
    enum { NHEAD = 7, NARGV = NHEAD + 2 * NFIELDS };
    const char *argv[NARGV] = {ids->idem_key, ids->job_key, NOTIFY_QUEUE_KEY, ttl, due,
                               ids->id,       jttl};
    for (int f = 0; f < NFIELDS; f++) {
        argv[NHEAD + 2 * f] = field_name[f];
        argv[NHEAD + 2 * f + 1] = value[f] ? value[f] : "";
    }
    put_ctx *c = malloc(sizeof(*c));
    if (!c)
        return CH_ENOMEM;
    *c = (put_ctx){q, cb, opaque};
    int rc = ch_redis_script_call(q->put, put_done, c, 3, NARGV, argv, NULL);
    if (rc != 0)
        free(c);
    return rc;
}

/* ---- life ---- */

int
notify_queue_new(notify *n, notify_queue **out, char *errstr, size_t errstr_size)
{
    notify_queue *q = calloc(1, sizeof(*q));
    if (!q) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    q->n = n;
    q->put = ch_redis_script_new(n->rt, put_lua);
    q->claim = ch_redis_script_new(n->rt, claim_lua);
    q->park = ch_redis_script_new(n->rt, park_lua);
    q->count = ch_redis_script_new(n->rt, count_lua);
    q->kick = event_new(ch_runtime_base(n->rt), -1, 0, on_kick, q);
    q->wake = evtimer_new(ch_runtime_base(n->rt), on_kick, q);
    int64_t now = ch_time_now_ms();
    for (size_t i = 0; i < n->nslots; i++) {
        const notify_slot *s = &n->slot[i];
        const int64_t *rate = notify_transport_setting(s->t, s->cfg, s->t->rate_key);
        notify_bucket_init(&q->rate[i], rate ? *rate : 0, rate ? *rate : 0, now);
    }
    if (!q->put || !q->claim || !q->park || !q->count || !q->kick || !q->wake) {
        notify_queue_free(q);
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    *out = q;
    return 0;
}

void
notify_queue_free(notify_queue *q)
{
    if (!q)
        return;
    while (q->jobs)
        job_free((job *)q->jobs);
    if (q->kick)
        event_free(q->kick);
    if (q->wake)
        event_free(q->wake);
    free(q);
}
