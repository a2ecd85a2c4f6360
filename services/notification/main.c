/*
 * charter-notification: sends what the charter promises the customer and
 * alerts staff. In this version: the acknowledgement when sla-timer fires
 * the acknowledgement timer, and staff alerts for warning, breach,
 * wait_exceeded and review_due timers, written to a development file sink
 * (notify.outbox_dir/<organisation>.jsonl), with an outcome event on
 * charter.notify.outcomes.v1.
 *
 * The words come from the templates in notify.template_dir (template.h,
 * templates/README.md), every file checked at start; dates are written in
 * the policy's time zone. The policies in notify.policy_dir say which role
 * each alert goes to, the reply channel rule and what the acknowledgement
 * says. Without a template directory the acknowledgement is a built-in
 * plain line (development only); an organisation without a loaded policy
 * gets notify.timezone and alerts to the role "owner".
 *
 * Contact details arrive with the case's `received` event and are kept in
 * Redis ("charter:case:{<case>}:contact", expiring) because the fired timer
 * carries no personal data; they are deleted when the case closes. A timer
 * read before its case's details (another topic) is retried until they
 * arrive, for up to ten minutes, then reported as failed.
 *
 * Exactly once as the customer sees it: "charter:notify:{<case>}:<kind>" is
 * claimed with SET NX before sending and set to "sent" after. A redelivered
 * timer finds "sent" and only re-announces the outcome (consumers dedupe by
 * notification id). A claim left at "sending" by a crash is retried for the
 * file sink, where a repeat is harmless; real transports decide per
 * transport.
 */
#include <dirent.h>
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

#include "charter/case_clock.h"
#include "charter/errors.h"
#include "charter/event_json.h"
#include "charter/ids.h"
#include "charter/policy.h"
#include "charter/runtime.h"
#include "charter/template.h"
#include "charter/timeutil.h"
#include "charter/tz.h"
#include "charter/v1/case_event.pb-c.h"
#include "charter/v1/notification.pb-c.h"
#include "charter/v1/timer.pb-c.h"

#define CONTACT_TTL_S (400 * 86400)
#define CLAIM_TTL_S (400 * 86400)
/* How long after a timer fired its case's contact details may still be on
 * their way (the received event is read from another topic). */
#define CONTACT_WAIT_MS (10 * 60 * 1000)

typedef struct {
    char *outbox_dir;
    char *outcomes_topic;
    char *timezone;
    char *template_dir;
    char *policy_dir;
} notify_config;

static const ch_config_entry notify_keys[] = {
    {"notify.outbox_dir", CH_CFG_STRING, "var/outbox", offsetof(notify_config, outbox_dir),
     "directory of the development file sink: one <organisation>.jsonl per organisation", 0, 0,
     NULL},
    {"notify.outcomes_topic", CH_CFG_STRING, "charter.notify.outcomes.v1",
     offsetof(notify_config, outcomes_topic), "topic notification outcomes are written to", 0, 0,
     NULL},
    {"notify.timezone", CH_CFG_STRING, "Europe/London", offsetof(notify_config, timezone),
     "time zone dates are written in for an organisation without a loaded policy", 0, 0, NULL},
    {"notify.template_dir", CH_CFG_STRING, "", offsetof(notify_config, template_dir),
     "directory of message templates (templates/README.md); empty: a built-in plain "
     "acknowledgement, for development",
     0, 0, NULL},
    {"notify.policy_dir", CH_CFG_STRING, "", offsetof(notify_config, policy_dir),
     "directory of *.yaml policies (as sla.policy_dir): time zones, alert roles, reply channel "
     "rules; empty: none",
     0, 0, NULL},
};

typedef struct {
    ch_runtime *rt;
    const notify_config *cfg;
    ch_tz *default_tz;
    ch_org_set orgs; /* empty without notify.policy_dir */
    ch_metric *m_sent, *m_skipped, *m_failed;
} notify;

typedef struct {
    notify *n;
    ch_msg *m;
    const Charter__V1__TimerFired *t;
    Charter__V1__NotificationKind kind;
    const char *kind_name; /* template kind: "acknowledgement", "staff_warning", ... */
    char claim_key[160];
    char notification_id[160];
    Charter__V1__NotificationOutcome__Status status;
    const char *reason;
    char why[512];
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

static const ch_tz *
org_tz(const notify *n, const ch_org_clocks *oc)
{
    return oc && oc->tz ? oc->tz : n->default_tz;
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
    o.kind = j->kind;
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

/* Appends one JSON line to the organisation's outbox file. Takes `line`. */
static int
append_outbox(notify *n, const char *organisation, json_t *line)
{
    char now[CH_TIME_BUFSZ];
    ch_time_format_utc(ch_time_now_ms(), now, sizeof(now));
    json_object_set_new(line, "written_at", json_string(now));
    char *s = json_dumps(line, JSON_COMPACT);
    json_decref(line);
    if (!s)
        return CH_ENOMEM;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s.jsonl", n->cfg->outbox_dir, organisation);
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

/*
 * Renders template `kind` for the job's organisation, channel and language.
 * Returns 0 with *subject (may be NULL) and *body to free, CH_ENOTFOUND when
 * no template directory is configured, or CH_EINVAL/CH_EIO with why.
 */
static int
render(notify *n, const char *org, const char *kind, const char *channel, const char *lang,
       const ch_template_var *vars, size_t nvars, char **subject, char **body, char *why,
       size_t whysz)
{
    *subject = *body = NULL;
    if (!n->cfg->template_dir[0])
        return CH_ENOTFOUND;
    char path[1024];
    int rc = ch_template_find(n->cfg->template_dir, org, kind, channel, lang, path, sizeof(path),
                              why, whysz);
    if (rc != 0)
        return rc == CH_ENOTFOUND ? CH_EINVAL : rc;
    ch_template t;
    rc = ch_template_load_file(path, &t, why, whysz);
    if (rc != 0)
        return rc;
    rc = ch_template_render(&t, vars, nvars, subject, body, why, whysz);
    ch_template_free(&t);
    return rc;
}

static void
set_sms_fields(json_t *line, const char *text)
{
    ch_sms_measure m;
    if (ch_sms_measure_text(text, &m) != 0)
        return;
    json_object_set_new(line, "sms_encoding",
                        json_string(m.encoding == CH_SMS_GSM7 ? "gsm7" : "ucs2"));
    json_object_set_new(line, "sms_parts", json_integer((json_int_t)m.parts));
}

/* The channel the reply goes by: the policy's rule, the inbound channel and
 * what the customer asked for. */
static const char *
reply_channel(const ch_policy_promise *pr, const char *inbound, const char *preferred)
{
    if (!preferred || !preferred[0])
        return inbound;
    if (pr && pr->reply_channel == CH_POLICY_REPLY_SAME)
        return inbound;
    return preferred;
}

/* Writes the acknowledgement to the organisation's outbox file. Returns 0,
 * CH_EIO, or CH_EINVAL with `why` when the template cannot be used. */
static int
write_ack(notify *n, const Charter__V1__TimerFired *t, redisReply *contact,
          const char *notification_id, char *why, size_t whysz)
{
    const ch_org_clocks *oc = ch_org_set_find(&n->orgs, t->organisation);
    const ch_policy_promise *pr =
        oc ? ch_policy_find_promise(&oc->policy, ch_channel_name(t->channel), t->case_type) : NULL;
    char target[CH_TEMPLATE_DATE_BUFSZ] = "", target_iso[CH_TIME_BUFSZ] = "";
    if (t->target_at) {
        ch_template_date_words(org_tz(n, oc), t->target_at->seconds, target, sizeof(target));
        ch_time_format_utc(t->target_at->seconds * 1000, target_iso, sizeof(target_iso));
    }
    const char *name = "", *email = "", *phone = "", *preferred = "", *lang = "en";
    for (size_t i = 0; contact && i + 1 < contact->elements; i += 2) {
        const char *k = contact->element[i]->str, *v = contact->element[i + 1]->str;
        if (strcmp(k, "name") == 0)
            name = v;
        else if (strcmp(k, "email") == 0)
            email = v;
        else if (strcmp(k, "phone") == 0)
            phone = v;
        else if (strcmp(k, "preferred_channel") == 0)
            preferred = v;
        else if (strcmp(k, "language") == 0 && v[0])
            lang = v;
    }
    const char *channel = reply_channel(pr, ch_channel_name(t->channel), preferred);
    int by_phone = strcmp(channel, "sms") == 0 || strcmp(channel, "phone") == 0 ||
                   strcmp(channel, "voicemail") == 0;
    char within[128] = "";
    if (pr && pr->respond.set)
        ch_policy_describe_clock(&pr->respond.clock, within, sizeof(within));
    ch_template_var vars[] = {
        {"reference", t->reference},
        {"organisation", oc ? oc->policy.name : t->organisation},
        {"customer_name", name[0] ? name : "customer"},
        {"target_date", target[0] ? target : "our target date"},
        {"respond_within", within},
    };
    char *subject = NULL, *body = NULL;
    /* A phone contact is acknowledged by text message. */
    const char *tchannel =
        strcmp(channel, "phone") == 0 || strcmp(channel, "voicemail") == 0 ? "sms" : channel;
    int rc = render(n, t->organisation, "acknowledgement", tchannel, lang, vars,
                    sizeof(vars) / sizeof(vars[0]), &subject, &body, why, whysz);
    if (rc == CH_ENOTFOUND) {
        char text[1024];
        snprintf(text, sizeof(text),
                 "Dear %s, thank you for contacting us. Your reference is %s. We will reply by "
                 "%s. Please quote your reference if you contact us about this.",
                 name[0] ? name : "customer", t->reference, target[0] ? target : "our target date");
        body = strdup(text);
        rc = body ? 0 : CH_ENOMEM;
    }
    if (rc != 0)
        return rc;
    json_t *line = json_object();
    json_object_set_new(line, "notification_id", json_string(notification_id));
    json_object_set_new(line, "kind", json_string("acknowledgement"));
    json_object_set_new(line, "case_id", json_string(t->case_id));
    json_object_set_new(line, "organisation", json_string(t->organisation));
    json_object_set_new(line, "reference", json_string(t->reference));
    json_object_set_new(line, "channel", json_string(channel));
    json_object_set_new(line, "language", json_string(lang));
    json_object_set_new(line, "to", json_string(by_phone ? phone : email));
    json_object_set_new(line, "target_date", json_string(target));
    json_object_set_new(line, "target_at", json_string(target_iso));
    if (subject)
        json_object_set_new(line, "subject", json_string(subject));
    json_object_set_new(line, "text", json_string(body));
    if (strcmp(tchannel, "sms") == 0)
        set_sms_fields(line, body);
    free(subject);
    free(body);
    return append_outbox(n, t->organisation, line);
}

/* The role a staff alert goes to: index into the policy's roles, or -1. */
static int
alert_role(const ch_policy *p, const ch_policy_promise *pr, const Charter__V1__TimerFired *t)
{
    switch (t->kind) {
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_WARNING:
        if (pr && t->tier >= 1 && t->tier <= pr->nwarnings)
            return (int)pr->warnings[t->tier - 1].role;
        break;
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH:
        for (size_t i = 0; pr && i < pr->nwarnings; i++)
            if (pr->warnings[i].at_breach)
                return (int)pr->warnings[i].role;
        return ch_policy_role_find(p, "manager");
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_WAIT_EXCEEDED: {
        int r = ch_policy_role_find(p, "duty_officer");
        return r >= 0 ? r : ch_policy_role_find(p, "manager");
    }
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_DUE:
        if (pr && pr->review_first.set)
            return (int)pr->review_role;
        break;
    default:
        break;
    }
    return ch_policy_role_find(p, "owner");
}

/* Writes a staff alert to the organisation's outbox file. */
static int
write_alert(notify *n, const ack_job *j, char *why, size_t whysz)
{
    const Charter__V1__TimerFired *t = j->t;
    const ch_org_clocks *oc = ch_org_set_find(&n->orgs, t->organisation);
    const ch_policy_promise *pr =
        oc ? ch_policy_find_promise(&oc->policy, ch_channel_name(t->channel), t->case_type) : NULL;
    int role = oc ? alert_role(&oc->policy, pr, t) : -1;
    const char *role_key = role >= 0 ? oc->policy.roles[role].key : "owner";
    const char *role_title = role >= 0 ? oc->policy.roles[role].title : "Case owner";
    const ch_tz *tz = org_tz(n, oc);
    char target[CH_TEMPLATE_DATE_BUFSZ] = "", due[CH_TEMPLATE_DATE_BUFSZ] = "", due_time[32] = "";
    if (t->target_at)
        ch_template_date_words(tz, t->target_at->seconds, target, sizeof(target));
    if (t->due_at) {
        ch_template_date_words(tz, t->due_at->seconds, due, sizeof(due));
        ch_template_time_words(tz, t->due_at->seconds, due_time, sizeof(due_time));
    }
    char tier[16];
    snprintf(tier, sizeof(tier), "%u", t->tier);
    ch_policy_case_type ct = CH_POLICY_CASE_ANY;
    const char *case_type =
        t->case_type && t->case_type[0] && ch_policy_case_type_parse(t->case_type, &ct) == 0
            ? ch_policy_case_type_title(ct)
            : "case";
    ch_policy_channel pc = CH_POLICY_CHANNEL_ANY;
    const char *channel_title = ch_policy_channel_parse(ch_channel_name(t->channel), &pc) == 0 && pc
                                    ? ch_policy_channel_title(pc)
                                    : ch_channel_name(t->channel);
    ch_template_var vars[] = {
        {"reference", t->reference},
        {"organisation", oc ? oc->policy.name : t->organisation},
        {"target_date", target[0] ? target : "the target date"},
        {"due_date", due},
        {"due_time", due_time},
        {"tier", tier},
        {"role", role_title},
        {"case_type", case_type},
        {"channel", channel_title},
    };
    char *subject = NULL, *body = NULL;
    int rc = render(n, t->organisation, j->kind_name, "email", "en", vars,
                    sizeof(vars) / sizeof(vars[0]), &subject, &body, why, whysz);
    if (rc == CH_ENOTFOUND) {
        char text[512];
        snprintf(text, sizeof(text), "%s for case %s (%s)", j->kind_name, t->reference, role_title);
        body = strdup(text);
        rc = body ? 0 : CH_ENOMEM;
    }
    if (rc != 0)
        return rc;
    json_t *line = json_object();
    json_object_set_new(line, "notification_id", json_string(j->notification_id));
    json_object_set_new(line, "kind", json_string(j->kind_name));
    json_object_set_new(line, "case_id", json_string(t->case_id));
    json_object_set_new(line, "organisation", json_string(t->organisation));
    json_object_set_new(line, "reference", json_string(t->reference));
    json_object_set_new(line, "channel", json_string("email"));
    json_object_set_new(line, "to", json_string(role_key));
    json_object_set_new(line, "role", json_string(role_title));
    json_object_set_new(line, "tier", json_integer(t->tier));
    if (subject)
        json_object_set_new(line, "subject", json_string(subject));
    json_object_set_new(line, "text", json_string(body));
    free(subject);
    free(body);
    return append_outbox(n, t->organisation, line);
}

static void
send_failed(ack_job *j, const char *why)
{
    /* A template that cannot be used will not get better by retrying: the
     * failure is announced and the record moves on. */
    CH_LOG_ERROR(ch_runtime_log(j->n->rt), "notification not sent",
                 CH_STR("case_id", j->t->case_id), CH_STR("kind", j->kind_name),
                 CH_STR("reason", why));
    ch_metric_add(j->n->m_failed, 1);
    j->status = CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_FAILED;
    j->reason = why;
    produce_outcome(j);
}

static void
mark_sent(ack_job *j)
{
    ch_metric_add(j->n->m_sent, 1);
    CH_LOG_INFO(ch_runtime_log(j->n->rt), "notification sent", CH_STR("case_id", j->t->case_id),
                CH_STR("kind", j->kind_name), CH_STR("reference", j->t->reference),
                CH_STR("transport", "file"));
    if (ch_redis_command(j->n->rt, marked_sent, j, "SET %s sent EX %d", j->claim_key,
                         CLAIM_TTL_S) != 0) {
        ch_msg_done(j->m, CH_EAGAIN, "redis unavailable");
        free(j);
    }
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
    if (reply->elements == 0) {
        /* The case's `received` event is on another topic and may not have
         * been read yet: wait for it rather than write to nobody. */
        const Charter__V1__TimerFired *t = j->t;
        int64_t fired_ms = t->fired_at ? t->fired_at->seconds * 1000 : 0;
        if (ch_time_now_ms() - fired_ms < CONTACT_WAIT_MS) {
            ch_msg_done(j->m, CH_EAGAIN, "contact details not recorded yet");
            free(j);
        } else {
            send_failed(j, "no contact details for the case");
        }
        return;
    }
    int rc = write_ack(j->n, j->t, reply, j->notification_id, j->why, sizeof(j->why));
    if (rc == CH_EINVAL) {
        send_failed(j, j->why);
        return;
    }
    if (rc != 0) {
        ch_msg_done(j->m, CH_EAGAIN, "outbox write failed");
        free(j);
        return;
    }
    mark_sent(j);
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
    if (j->kind != CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_ACKNOWLEDGEMENT) {
        int rc = write_alert(j->n, j, j->why, sizeof(j->why));
        if (rc == CH_EINVAL) {
            send_failed(j, j->why);
        } else if (rc != 0) {
            ch_msg_done(j->m, CH_EAGAIN, "outbox write failed");
            free(j);
        } else {
            mark_sent(j);
        }
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
    Charter__V1__NotificationKind kind;
    const char *kind_name;
    switch (t->kind) {
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_ACKNOWLEDGEMENT_DUE:
        kind = CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_ACKNOWLEDGEMENT;
        kind_name = "acknowledgement";
        break;
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_WARNING:
        kind = CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_STAFF_WARNING;
        kind_name = "staff_warning";
        break;
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH:
        kind = CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_STAFF_BREACH;
        kind_name = "staff_breach";
        break;
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_WAIT_EXCEEDED:
        kind = CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_STAFF_WAIT_EXCEEDED;
        kind_name = "staff_wait_exceeded";
        break;
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_DUE:
        kind = CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_STAFF_REVIEW_DUE;
        kind_name = "staff_review_due";
        break;
    default:
        ch_msg_done(m, 0, NULL); /* reminders need the appointment: not yet */
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
    j->kind = kind;
    j->kind_name = kind_name;
    j->status = CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_SENT;
    /* One acknowledgement per case; one alert per timer, named as the timer
     * id names it ("<case>/warning/2", "<case>/review_due/1"). */
    const char *what = kind_name;
    size_t cl = strlen(t->case_id);
    if (kind != CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_ACKNOWLEDGEMENT && t->timer_id &&
        strncmp(t->timer_id, t->case_id, cl) == 0 && t->timer_id[cl] == '/' && t->timer_id[cl + 1])
        what = t->timer_id + cl + 1;
    snprintf(j->notification_id, sizeof(j->notification_id), "%s/%s", t->case_id, what);
    snprintf(j->claim_key, sizeof(j->claim_key), "charter:notify:{%s}:%s", t->case_id, what);
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
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void
notify_fini(void *svc)
{
    notify *n = svc;
    if (!n)
        return;
    ch_org_set_free(&n->orgs);
    ch_tz_free(n->default_tz);
    free(n);
}

/* Every *.txt under dir/<organisation>/ must load: a broken template stops
 * start-up with its file and line, not a customer's message later. */
static int
check_templates(const char *dir, char *errstr, size_t errstr_size)
{
    DIR *top = opendir(dir);
    if (!top) {
        snprintf(errstr, errstr_size, "notify.template_dir %s cannot be read: %s", dir,
                 strerror(errno));
        return CH_EIO;
    }
    int rc = 0, files = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(top))) {
        if (e->d_name[0] == '.')
            continue;
        char sub[1024];
        snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
        DIR *d = opendir(sub);
        if (!d)
            continue;
        struct dirent *f;
        while (rc == 0 && (f = readdir(d))) {
            if (f->d_name[0] == '.' || !ends_with(f->d_name, ".txt"))
                continue;
            char path[2048];
            snprintf(path, sizeof(path), "%s/%s", sub, f->d_name);
            ch_template t;
            rc = ch_template_load_file(path, &t, errstr, errstr_size);
            ch_template_free(&t);
            files++;
        }
        closedir(d);
    }
    closedir(top);
    if (rc == 0 && files == 0) {
        snprintf(errstr, errstr_size, "notify.template_dir %s holds no templates", dir);
        rc = CH_EINVAL;
    }
    return rc;
}

static int
notify_init(ch_runtime *rt, const void *config, void **svc, char *errstr, size_t errstr_size)
{
    const notify_config *cfg = config;
    if (mkdir(cfg->outbox_dir, 0750) != 0 && errno != EEXIST) {
        snprintf(errstr, errstr_size, "notify.outbox_dir %s cannot be created: %s", cfg->outbox_dir,
                 strerror(errno));
        return CH_EIO;
    }
    notify *n = calloc(1, sizeof(*n));
    if (!n) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    int rc = CH_EINVAL;
    n->rt = rt;
    n->cfg = cfg;
    char tzerr[256];
    n->default_tz = ch_tz_load(cfg->timezone, NULL, tzerr, sizeof(tzerr));
    if (!n->default_tz) {
        snprintf(errstr, errstr_size, "notify.timezone: %s", tzerr);
        goto err;
    }
    if (cfg->policy_dir[0] && (rc = ch_org_set_load(cfg->policy_dir, "notify.policy_dir", &n->orgs,
                                                    errstr, errstr_size)) != 0)
        goto err;
    if (cfg->template_dir[0] && (rc = check_templates(cfg->template_dir, errstr, errstr_size)) != 0)
        goto err;
    n->m_sent = ch_metric_counter(rt, "charter_notify_sent_total", "notifications sent");
    n->m_skipped = ch_metric_counter(rt, "charter_notify_already_sent_total",
                                     "redelivered requests found already sent (not resent)");
    n->m_failed = ch_metric_counter(rt, "charter_notify_failed_total",
                                    "notifications that could not be made (template errors)");
    if (!cfg->template_dir[0])
        CH_LOG_WARN(ch_runtime_log(rt), "notify.template_dir is not set: built-in plain messages");
    CH_LOG_INFO(ch_runtime_log(rt), "notification ready", CH_STR("templates", cfg->template_dir),
                CH_STR("policies", cfg->policy_dir), CH_INT("organisations", n->orgs.n));
    *svc = n;
    return 0;
err:
    notify_fini(n);
    return rc;
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
