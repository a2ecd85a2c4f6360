/*
 * charter-notification: sends what the charter promises the customer. In
 * this first version: the acknowledgement, when sla-timer fires the
 * acknowledgement timer, written to a development file sink
 * (notify.outbox_dir/<organisation>.jsonl), with an outcome event on
 * charter.notify.outcomes.v1.
 *
 * Contact details arrive with the case's `received` event and are kept in
 * Redis ("charter:case:{<case>}:contact", expiring) because the fired timer
 * carries no personal data; they are deleted when the case closes.
 *
 * Exactly once as the customer sees it: "charter:notify:{<case>}:<kind>" is
 * claimed with SET NX before sending and set to "sent" after. A redelivered
 * timer finds "sent" and only re-announces the outcome (consumers dedupe by
 * notification id). A claim left at "sending" by a crash is retried for the
 * file sink, where a repeat is harmless; real transports decide per
 * transport.
 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "charter/errors.h"
#include "charter/event_json.h"
#include "charter/ids.h"
#include "charter/runtime.h"
#include "charter/timeutil.h"
#include "charter/v1/case_event.pb-c.h"
#include "charter/v1/notification.pb-c.h"
#include "charter/v1/timer.pb-c.h"

#define CONTACT_TTL_S (400 * 86400)
#define CLAIM_TTL_S (400 * 86400)

typedef struct {
    char *outbox_dir;
    char *outcomes_topic;
    char *timezone;
} notify_config;

static const ch_config_entry notify_keys[] = {
    {"notify.outbox_dir", CH_CFG_STRING, "var/outbox", offsetof(notify_config, outbox_dir),
     "directory of the development file sink: one <organisation>.jsonl per organisation", 0, 0,
     NULL},
    {"notify.outcomes_topic", CH_CFG_STRING, "charter.notify.outcomes.v1",
     offsetof(notify_config, outcomes_topic), "topic notification outcomes are written to", 0, 0,
     NULL},
    {"notify.timezone", CH_CFG_STRING, "Europe/London", offsetof(notify_config, timezone),
     "time zone dates are written in for customers", 0, 0, NULL},
};

typedef struct {
    ch_runtime *rt;
    const notify_config *cfg;
    ch_metric *m_sent, *m_skipped;
} notify;

typedef struct {
    notify *n;
    ch_msg *m;
    const Charter__V1__TimerFired *t;
    char claim_key[160];
    char notification_id[160];
    Charter__V1__NotificationOutcome__Status status;
    const char *reason;
} ack_job;

static void
simple_done(void *opaque, redisReply *reply)
{
    ch_msg *m = opaque;
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        ch_msg_done(m, CH_EAGAIN, reply ? reply->str : "redis unavailable");
    else
        ch_msg_done(m, 0, NULL);
}

static void
on_case_event(notify *n, ch_msg *m, const Charter__V1__CaseEvent *ev)
{
    char key[160];
    snprintf(key, sizeof(key), "charter:case:{%s}:contact", ev->case_id);
    int rc = 0;
    if (ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_RECEIVED) {
        const Charter__V1__Received *r = ev->received;
        const Charter__V1__Customer *c = r->customer;
        const char *argv[] = {"HSET",
                              key,
                              "channel",
                              ch_channel_name(r->channel),
                              "name",
                              c ? c->name : "",
                              "email",
                              c ? c->email : "",
                              "phone",
                              c ? c->phone : "",
                              "preferred_channel",
                              c ? c->preferred_channel : "",
                              "language",
                              c && c->preferred_language[0] ? c->preferred_language : "en"};
        size_t argvlen[14];
        for (int i = 0; i < 14; i++)
            argvlen[i] = strlen(argv[i]);
        rc = ch_redis_command_argv(n->rt, NULL, NULL, 14, argv, argvlen);
        if (rc == 0)
            rc = ch_redis_command(n->rt, simple_done, m, "EXPIRE %s %d", key, CONTACT_TTL_S);
    } else if (ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_CLOSED) {
        rc = ch_redis_command(n->rt, simple_done, m, "DEL %s", key); /* personal data goes */
    } else {
        ch_msg_done(m, 0, NULL);
        return;
    }
    if (rc != 0)
        ch_msg_done(m, CH_EAGAIN, "redis unavailable");
}

/* "Monday 30 November 2026" in the configured zone. */
static void
date_in_words(int64_t seconds, char *buf, size_t bufsz)
{
    time_t t = (time_t)seconds;
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, bufsz, "%A %-d %B %Y", &tm);
}

static void
outcome_delivered(void *opaque, int rc, int32_t partition, int64_t offset, const char *errstr)
{
    (void)partition;
    (void)offset;
    ack_job *j = opaque;
    if (rc != 0)
        ch_msg_done(j->m, CH_EAGAIN, errstr);
    else
        ch_msg_done(j->m, 0, NULL);
    free(j);
}

static void
produce_outcome(ack_job *j)
{
    const Charter__V1__TimerFired *t = j->t;
    Charter__V1__NotificationOutcome o = CHARTER__V1__NOTIFICATION_OUTCOME__INIT;
    Charter__V1__Timestamp at = CHARTER__V1__TIMESTAMP__INIT;
    int64_t now = ch_time_now_ms();
    ch_time_split_ms(now, &at.seconds, &at.nanos);
    char event_id[200];
    /* One outcome per notification and status: a repeat carries the same id. */
    snprintf(event_id, sizeof(event_id), "%s/%d", j->notification_id, (int)j->status);
    o.event_id = event_id;
    o.notification_id = j->notification_id;
    o.case_id = t->case_id;
    o.organisation = t->organisation;
    o.kind = CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_ACKNOWLEDGEMENT;
    o.status = j->status;
    o.channel = t->channel;
    o.transport = "file";
    o.reason = (char *)(j->reason ? j->reason : "");
    o.occurred_at = &at;
    o.reference = t->reference;
    if (ch_produce(j->n->rt, j->n->cfg->outcomes_topic, t->case_id, &o.base, outcome_delivered,
                   j) != 0) {
        ch_msg_done(j->m, CH_EAGAIN, "kafka not accepting writes");
        free(j);
    }
}

static void
marked_sent(void *opaque, redisReply *reply)
{
    ack_job *j = opaque;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        /* Sent but not recorded: a retry would find "sending" and resend to
         * the file sink, which is harmless. */
        ch_msg_done(j->m, CH_EAGAIN, "could not record the send");
        free(j);
        return;
    }
    produce_outcome(j);
}

/* Appends the acknowledgement to the organisation's outbox file. */
static int
write_outbox(notify *n, const Charter__V1__TimerFired *t, redisReply *contact,
             const char *notification_id)
{
    json_t *line = json_object();
    char target[64] = "", target_iso[CH_TIME_BUFSZ] = "";
    if (t->target_at) {
        date_in_words(t->target_at->seconds, target, sizeof(target));
        ch_time_format_utc(t->target_at->seconds * 1000, target_iso, sizeof(target_iso));
    }
    const char *channel = ch_channel_name(t->channel), *name = "", *email = "", *phone = "";
    for (size_t i = 0; contact && i + 1 < contact->elements; i += 2) {
        const char *k = contact->element[i]->str, *v = contact->element[i + 1]->str;
        if (strcmp(k, "name") == 0)
            name = v;
        else if (strcmp(k, "email") == 0)
            email = v;
        else if (strcmp(k, "phone") == 0)
            phone = v;
        else if (strcmp(k, "preferred_channel") == 0 && v[0])
            channel = v;
    }
    char text[1024];
    snprintf(text, sizeof(text),
             "Dear %s, thank you for contacting us. Your reference is %s. We will reply by %s. "
             "Please quote your reference if you contact us about this.",
             name[0] ? name : "customer", t->reference, target[0] ? target : "our target date");
    char now[CH_TIME_BUFSZ];
    ch_time_format_utc(ch_time_now_ms(), now, sizeof(now));
    json_object_set_new(line, "notification_id", json_string(notification_id));
    json_object_set_new(line, "kind", json_string("acknowledgement"));
    json_object_set_new(line, "case_id", json_string(t->case_id));
    json_object_set_new(line, "organisation", json_string(t->organisation));
    json_object_set_new(line, "reference", json_string(t->reference));
    json_object_set_new(line, "channel", json_string(channel));
    json_object_set_new(line, "to",
                        json_string(strcmp(channel, "sms") == 0 || strcmp(channel, "phone") == 0 ||
                                            strcmp(channel, "voicemail") == 0
                                        ? phone
                                        : email));
    json_object_set_new(line, "target_date", json_string(target));
    json_object_set_new(line, "target_at", json_string(target_iso));
    json_object_set_new(line, "text", json_string(text));
    json_object_set_new(line, "written_at", json_string(now));
    char *s = json_dumps(line, JSON_COMPACT);
    json_decref(line);
    if (!s)
        return CH_ENOMEM;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s.jsonl", n->cfg->outbox_dir, t->organisation);
    FILE *f = fopen(path, "a");
    int rc = 0;
    if (!f || fprintf(f, "%s\n", s) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        CH_LOG_ERROR(ch_runtime_log(n->rt), "outbox write failed", CH_STR("path", path),
                     CH_ERRNO(errno));
        rc = CH_EIO;
    }
    if (f)
        fclose(f);
    free(s);
    return rc;
}

static void
contact_loaded(void *opaque, redisReply *reply)
{
    ack_job *j = opaque;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        ch_msg_done(j->m, CH_EAGAIN, "could not read the contact details");
        free(j);
        return;
    }
    if (write_outbox(j->n, j->t, reply, j->notification_id) != 0) {
        ch_msg_done(j->m, CH_EAGAIN, "outbox write failed");
        free(j);
        return;
    }
    ch_metric_add(j->n->m_sent, 1);
    CH_LOG_INFO(ch_runtime_log(j->n->rt), "acknowledgement sent", CH_STR("case_id", j->t->case_id),
                CH_STR("reference", j->t->reference), CH_STR("transport", "file"));
    if (ch_redis_command(j->n->rt, marked_sent, j, "SET %s sent EX %d", j->claim_key,
                         CLAIM_TTL_S) != 0) {
        ch_msg_done(j->m, CH_EAGAIN, "redis unavailable");
        free(j);
    }
}

static void
claimed(void *opaque, redisReply *reply)
{
    ack_job *j = opaque;
    if (!reply || reply->type == REDIS_REPLY_ERROR || reply->type != REDIS_REPLY_ARRAY ||
        reply->elements != 2) {
        ch_msg_done(j->m, CH_EAGAIN, "could not claim the notification");
        free(j);
        return;
    }
    const char *state = reply->element[0]->type == REDIS_REPLY_STRING ? reply->element[0]->str : "";
    if (strcmp(state, "sent") == 0) {
        ch_metric_add(j->n->m_skipped, 1);
        j->status = CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_SENT;
        produce_outcome(j); /* already sent: say so again, send nothing */
        return;
    }
    char key[160];
    snprintf(key, sizeof(key), "charter:case:{%s}:contact", j->t->case_id);
    if (ch_redis_command(j->n->rt, contact_loaded, j, "HGETALL %s", key) != 0) {
        ch_msg_done(j->m, CH_EAGAIN, "redis unavailable");
        free(j);
    }
}

static void
on_timer(notify *n, ch_msg *m, const Charter__V1__TimerFired *t)
{
    if (t->kind != CHARTER__V1__TIMER_KIND__TIMER_KIND_ACKNOWLEDGEMENT_DUE) {
        ch_msg_done(m, 0, NULL); /* staff alerts come with the notification issue */
        return;
    }
    ack_job *j = calloc(1, sizeof(*j));
    if (!j) {
        ch_msg_done(m, CH_EAGAIN, "out of memory");
        return;
    }
    j->n = n;
    j->m = m;
    j->t = t;
    j->status = CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_SENT;
    snprintf(j->notification_id, sizeof(j->notification_id), "%s/acknowledgement", t->case_id);
    snprintf(j->claim_key, sizeof(j->claim_key), "charter:notify:{%s}:acknowledgement", t->case_id);
    /* Claim and read the previous state in one round trip. */
    if (ch_redis_command(n->rt, NULL, NULL, "MULTI") != 0 ||
        ch_redis_command(n->rt, NULL, NULL, "GET %s", j->claim_key) != 0 ||
        ch_redis_command(n->rt, NULL, NULL, "SET %s sending NX EX %d", j->claim_key, CLAIM_TTL_S) !=
            0 ||
        ch_redis_command(n->rt, claimed, j, "EXEC") != 0) {
        ch_msg_done(m, CH_EAGAIN, "redis unavailable");
        free(j);
    }
}

static void
notify_on_message(void *svc, ch_msg *m, const ProtobufCMessage *msg)
{
    notify *n = svc;
    if (msg->descriptor == &charter__v1__case_event__descriptor)
        on_case_event(n, m, (const Charter__V1__CaseEvent *)msg);
    else
        on_timer(n, m, (const Charter__V1__TimerFired *)msg);
}

static const ch_subscription subs[] = {
    {"charter.contact.events.v1", &charter__v1__case_event__descriptor},
    {"charter.sla.timers.v1", &charter__v1__timer_fired__descriptor},
};

static int
notify_init(ch_runtime *rt, const void *config, void **svc, char *errstr, size_t errstr_size)
{
    const notify_config *cfg = config;
    if (mkdir(cfg->outbox_dir, 0750) != 0 && errno != EEXIST) {
        snprintf(errstr, errstr_size, "notify.outbox_dir %s cannot be created: %s", cfg->outbox_dir,
                 strerror(errno));
        return CH_EIO;
    }
    setenv("TZ", cfg->timezone, 1);
    tzset();
    notify *n = calloc(1, sizeof(*n));
    if (!n) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    n->rt = rt;
    n->cfg = cfg;
    n->m_sent = ch_metric_counter(rt, "charter_notify_sent_total", "notifications sent");
    n->m_skipped = ch_metric_counter(rt, "charter_notify_already_sent_total",
                                     "redelivered requests found already sent (not resent)");
    *svc = n;
    return 0;
}

static void
notify_fini(void *svc)
{
    free(svc);
}

static const ch_service notify_service = {
    .name = "notification",
    .env_prefix = "CHARTER_NOTIFY_",
    .default_http_listen = "127.0.0.1:8083",
    .config = notify_keys,
    .nconfig = sizeof(notify_keys) / sizeof(notify_keys[0]),
    .config_size = sizeof(notify_config),
    .subs = subs,
    .nsubs = sizeof(subs) / sizeof(subs[0]),
    .init = notify_init,
    .on_message = notify_on_message,
    .fini = notify_fini,
};

int
main(int argc, char **argv, char **envp)
{
    return ch_runtime_main(&notify_service, argc, argv, envp);
}
