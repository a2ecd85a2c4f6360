/*
 * charter-notification: sends what the charter promises the customer and
 * alerts staff: the acknowledgement when sla-timer fires the
 * acknowledgement timer, the appointment reminder on its reminder timer, a
 * holding reply notice, an appointment confirmation (with the policy's
 * visit_requirements) and "we can't keep this appointment" on those case
 * events, and staff alerts for warning, breach,
 * wait_exceeded and review_due timers, each by the transport configured for
 * its channel (SMTP, an HTTP JSON gateway, a Kafka hand-off topic, or the
 * development file sink), with outcome events on charter.notify.outcomes.v1.
 *
 * The words come from the templates in notify.template_dir (template.h,
 * templates/README.md), every file checked at start; dates are written in
 * the policy's time zone. The policies in notify.policy_dir say which role
 * each alert goes to, the reply channel rule, what the acknowledgement says
 * and the quiet hours for text messages. Without a template directory the
 * acknowledgement is a built-in plain line (development only); an
 * organisation without a loaded policy gets notify.timezone and alerts to
 * the role "owner".
 *
 * Contact details arrive with the case's `received` event and are kept in
 * Redis ("charter:case:{<case>}:contact", expiring) because the fired timer
 * carries no personal data; they are deleted when the case closes. A timer
 * read before its case's details (another topic) is retried until they
 * arrive, for up to ten minutes, then reported as failed.
 *
 * A consumed timer is turned into a rendered message and queued in Redis in
 * one Lua script together with its idempotency record
 * ("charter:notify:{<case>}:<what>", per case and notification kind), and
 * only then is the Kafka record done: the send itself happens from the
 * queue (queue.c), which survives restarts and carries retries, backoff and
 * quiet-hours holds. A redelivered timer finds the record and queues
 * nothing; one already sent is only re-announced (consumers dedupe outcomes
 * by event id). Sends never block the loop: SMTP and HTTP run on libcurl's
 * multi interface driven by the same libevent loop (curl_loop.c).
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

#include "charter/errors.h"
#include "charter/names.h"
#include "charter/ids.h"
#include "charter/policy.h"
#include "charter/sms.h"
#include "charter/template.h"
#include "charter/timeutil.h"
#include "charter/tz.h"
#include "charter/v1/case_event.pb-c.h"
#include "charter/v1/notification.pb-c.h"
#include "charter/v1/timer.pb-c.h"
#include "charter/topics.h"
#include "curl_loop.h"
#include "notify.h"
#include "template_cache.h"

#define CONTACT_TTL_S (400 * 86400)
/* How long after a timer fired its case's contact details may still be on
 * their way (the received event is read from another topic). */
#define CONTACT_WAIT_MS (10 * 60 * 1000)
/* sla-timer's reminder falls due this long before the appointment
 * (case_clock.c). */
#define REMINDER_LEAD_S (24 * 3600)

static int
validate_transport(const char *text, char *errstr, size_t errstr_size)
{
    static const char *const ok[] = {"file", "smtp", "http", "kafka"};
    for (size_t i = 0; i < 4; i++)
        if (strcmp(text, ok[i]) == 0)
            return 0;
    snprintf(errstr, errstr_size, "'%s' is not a transport (expected file, smtp, http or kafka)",
             text);
    return CH_EINVAL;
}

static int
validate_http_auth(const char *text, char *errstr, size_t errstr_size)
{
    if (strcmp(text, "bearer") == 0 || strcmp(text, "notify-jwt") == 0)
        return 0;
    snprintf(errstr, errstr_size, "'%s' is not an HTTP auth mode (expected bearer or notify-jwt)",
             text);
    return CH_EINVAL;
}

#define NOTIFY_STR(key, def, field, help)                                                          \
    {                                                                                              \
        key, CH_CFG_STRING, def, offsetof(notify_config, field), help, 0, 0, NULL                  \
    }
#define NOTIFY_TRANSPORT(key, def, field, help)                                                    \
    {                                                                                              \
        key, CH_CFG_STRING, def, offsetof(notify_config, field), help, 0, 0, validate_transport    \
    }
#define NOTIFY_INT(key, def, field, help, lo, hi)                                                  \
    {                                                                                              \
        key, CH_CFG_INT, def, offsetof(notify_config, field), help, lo, hi, NULL                   \
    }

static const ch_config_entry notify_keys[] = {
    NOTIFY_STR("notify.outbox_dir", "var/outbox", outbox_dir,
               "directory of the development file sink: one <organisation>.jsonl per "
               "organisation"),
    NOTIFY_STR("notify.outcomes_topic", CH_TOPIC_NOTIFY_OUTCOMES, outcomes_topic,
               "topic notification outcomes are written to"),
    NOTIFY_STR("notify.timezone", "Europe/London", timezone,
               "time zone dates are written in for an organisation without a loaded policy"),
    NOTIFY_STR("notify.template_dir", "", template_dir,
               "directory of message templates (templates/README.md); empty: a built-in plain "
               "acknowledgement, for development"),
    NOTIFY_STR("notify.policy_dir", "", policy_dir,
               "directory of *.yaml policies (as sla.policy_dir): time zones, alert roles, reply "
               "channel rules, SMS quiet hours; empty: none"),
    NOTIFY_TRANSPORT("notify.email.transport", "file", email_transport,
                     "how customer email goes: smtp, http (Notify-style gateway), kafka "
                     "(hand-off topic) or file"),
    NOTIFY_TRANSPORT("notify.sms.transport", "file", sms_transport,
                     "how text messages go: http, kafka or file"),
    NOTIFY_TRANSPORT("notify.social.transport", "file", social_transport,
                     "how social media replies go: http, kafka or file"),
    NOTIFY_TRANSPORT("notify.staff.transport", "file", staff_transport,
                     "how staff alerts go: file, smtp, http or kafka"),
    NOTIFY_STR("notify.staff.email", "{role}@localhost", staff_email,
               "staff alert address; {role} becomes the policy role (owner, team_lead, ...)"),
    NOTIFY_STR("notify.smtp.url", "", smtp_url,
               "mail server, smtp://host:587 or smtps://host:465 (required when a channel uses "
               "smtp)"),
    {"notify.smtp.starttls", CH_CFG_BOOL, "false", offsetof(notify_config, smtp_starttls),
     "require STARTTLS on smtp:// (smtps:// is TLS from the start)", 0, 0, NULL},
    {"notify.smtp.resend_unknown", CH_CFG_BOOL, "false",
     offsetof(notify_config, smtp_resend_unknown),
     "resend an email whose outcome is unknown (the end of the message may have reached the "
     "server, no answer came); only when the receiving side drops repeats of a Message-ID. "
     "false: report it to staff and do not resend",
     0, 0, NULL},
    NOTIFY_STR("notify.smtp.username", "", smtp_username, "SMTP AUTH user; empty: no AUTH"),
    NOTIFY_STR("notify.smtp.password", "", smtp_password, "SMTP AUTH password"),
    NOTIFY_STR("notify.smtp.from", "", smtp_from,
               "envelope and From: address, e.g. noreply@council.example (required with smtp)"),
    NOTIFY_STR("notify.smtp.ca_file", "", smtp_ca_file,
               "CA bundle for the mail server's certificate; empty: the system's"),
    NOTIFY_INT("notify.smtp.timeout_ms", "30000", smtp_timeout_ms,
               "give up on one SMTP conversation after this long", 100, 600000),
    NOTIFY_STR("notify.http.url", "", http_url,
               "gateway base URL; requests go to <url>/v2/notifications/{sms,email,social} "
               "(required when a channel uses http)"),
    NOTIFY_STR("notify.http.token", "", http_token,
               "static bearer token for the gateway (notify.http.auth = bearer)"),
    {"notify.http.auth", CH_CFG_STRING, "bearer", offsetof(notify_config, http_auth),
     "how requests to the gateway authenticate: bearer (notify.http.token as it is) or "
     "notify-jwt (GOV.UK Notify: a fresh HS256 JWT per request from notify.http.api_key)",
     0, 0, validate_http_auth},
    NOTIFY_STR("notify.http.api_key", "", http_api_key,
               "GOV.UK Notify API key, {key_name}-{service_id}-{secret_key} (notify.http.auth = "
               "notify-jwt); a secret: set it from the environment, it is never logged"),
    NOTIFY_STR("notify.http.sms_template_id", "", http_sms_template,
               "template_id sent with text messages (a Notify template of ((body)))"),
    NOTIFY_STR("notify.http.email_template_id", "", http_email_template,
               "template_id sent with email (a Notify template of ((subject)) and ((body)))"),
    NOTIFY_STR("notify.http.social_template_id", "", http_social_template,
               "template_id sent with social media replies"),
    NOTIFY_INT("notify.http.timeout_ms", "15000", http_timeout_ms,
               "give up on one gateway request after this long", 100, 600000),
    NOTIFY_STR("notify.handoff_topic", "charter.notify.handoff.{channel}.v1", handoff_topic,
               "Kafka hand-off topic; {channel} becomes email, sms or social"),
    NOTIFY_STR("notify.dlq_topic", CH_TOPIC_DLQ, dlq_topic,
               "where notifications that failed for good are dead-lettered"),
    NOTIFY_INT("notify.max_in_flight", "32", max_in_flight, "sends running at once", 1, 10000),
    NOTIFY_INT("notify.retry_base_ms", "5000", retry_base_ms,
               "first retry delay; doubles each time, with jitter", 1, 86400000),
    NOTIFY_INT("notify.retry_max_ms", "1800000", retry_max_ms, "longest retry delay", 1, 86400000),
    NOTIFY_INT("notify.max_attempts", "10", max_attempts,
               "attempts before a temporary failure counts as permanent", 1, 1000),
    NOTIFY_INT("notify.smtp.rate_per_s", "0", smtp_rate,
               "at most this many emails a second through SMTP (a token bucket of one second's "
               "worth); more wait in the queue. 0: no limit",
               0, 100000),
    NOTIFY_INT("notify.http.rate_per_s", "0", http_rate,
               "at most this many gateway requests a second (GOV.UK Notify allows 3,000 a "
               "minute: 50); more wait in the queue. 0: no limit",
               0, 100000),
    NOTIFY_INT("notify.kafka.rate_per_s", "0", kafka_rate,
               "at most this many hand-off records a second; more wait in the queue. 0: no limit",
               0, 100000),
    NOTIFY_INT("notify.lease_ms", "120000", lease_ms,
               "how long a claimed send is reserved; must exceed the transport timeouts (a "
               "crashed instance's sends are taken over after this)",
               1000, 3600000),
};

/* What the case's `received` event recorded, copied from Redis. */
typedef struct {
    char name[256], email[320], phone[64], preferred[32], lang[16], inbound[32];
    char reference[128], case_type[64], location[256];
    int64_t appointment_s; /* the booked appointment, 0 when none is recorded */
    int loaded;
} msg_contact;

typedef struct {
    notify *n;
    ch_msg *m;
    /* What names the notification: the fired timer, or for a case event's
     * notice `tf`, filled from the event and the recorded contact. */
    const Charter__V1__TimerFired *t;
    const Charter__V1__CaseEvent *ev; /* the case event, or NULL */
    Charter__V1__TimerFired tf;
    msg_contact c;
    int64_t appt_s; /* the appointment a notice is about */
    Charter__V1__NotificationKind kind;
    const char *kind_name; /* template kind: "acknowledgement", "staff_warning", ... */
    char id[200];
    char idem_key[260], job_key[270];
    /* what is queued */
    int customer;
    const char *channel, *transport;
    char to[320];
    char lang[16];
    char *subject, *body, *meta;
    int64_t due_ms;
    char note[160]; /* outcome reason for the queued event */
    char why[512];
} msg_job;

static void
msg_job_free(msg_job *j)
{
    free(j->subject);
    free(j->body);
    free(j->meta);
    free(j);
}

static void
simple_done(void *opaque, redisReply *reply)
{
    ch_msg *m = opaque;
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        ch_msg_done(m, CH_EAGAIN, reply ? reply->str : "redis unavailable");
    else
        ch_msg_done(m, 0, NULL);
}

/*
 * The customer notice a case event asks for, 0 when none: a holding reply,
 * an appointment booked or rebooked (confirmation), or one the organisation
 * cancelled ("we can't keep this appointment"). Sets *name to the template
 * kind.
 */
static Charter__V1__NotificationKind
notice_kind(const Charter__V1__CaseEvent *ev, const char **name)
{
    const char *dummy;
    if (!name)
        name = &dummy;
    if (ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_HOLDING_REPLY &&
        ev->holding_reply->new_target_at) {
        *name = "holding_reply";
        return CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_HOLDING_REPLY;
    }
    if (ev->event_case != CHARTER__V1__CASE_EVENT__EVENT_APPOINTMENT)
        return 0;
    const Charter__V1__Appointment *a = ev->appointment;
    if ((a->status == CHARTER__V1__APPOINTMENT__STATUS__STATUS_BOOKED ||
         a->status == CHARTER__V1__APPOINTMENT__STATUS__STATUS_REBOOKED) &&
        a->starts_at) {
        *name = "appointment_confirmation";
        return CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_APPOINTMENT_CONFIRMATION;
    }
    if (a->status == CHARTER__V1__APPOINTMENT__STATUS__STATUS_CANCELLED &&
        strcmp(a->cancelled_by, "organisation") == 0) {
        *name = "appointment_cancelled";
        return CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_APPOINTMENT_CANCELLED;
    }
    return 0;
}

static void on_notice_event(notify *n, ch_msg *m, const Charter__V1__CaseEvent *ev);

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
                              c && c->preferred_language[0] ? c->preferred_language : "en",
                              "reference",
                              r->reference,
                              "case_type",
                              r->case_type};
        enum { NARGV = sizeof(argv) / sizeof(argv[0]) };
        size_t argvlen[NARGV];
        for (size_t i = 0; i < NARGV; i++)
            argvlen[i] = strlen(argv[i]);
        rc = ch_redis_command_argv(n->rt, NULL, NULL, NARGV, argv, argvlen);
        if (rc == 0)
            rc = ch_redis_command(n->rt, simple_done, m, "EXPIRE %s %d", key, CONTACT_TTL_S);
    } else if (ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_CLOSED) {
        rc = ch_redis_command(n->rt, simple_done, m, "DEL %s", key); /* personal data goes */
    } else if (notice_kind(ev, NULL)) {
        on_notice_event(n, m, ev);
        return;
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

int64_t
notify_quiet_due(const notify *n, const char *organisation, const char *channel, int64_t now_ms)
{
    if (strcmp(channel, "sms") != 0)
        return now_ms;
    const ch_org_clocks *oc = ch_org_set_find(&n->orgs, organisation);
    if (!oc || !oc->policy.sms_quiet.set)
        return now_ms;
    int64_t s = (now_ms + 999) / 1000;
    int64_t r = notify_quiet_release(org_tz(n, oc), s, oc->policy.sms_quiet.from,
                                     oc->policy.sms_quiet.until);
    return r > s ? r * 1000 : now_ms;
}

static void
outcome_delivered(void *opaque, int rc, int32_t partition, int64_t offset, const char *errstr)
{
    (void)partition;
    (void)offset;
    msg_job *j = opaque;
    if (rc != 0)
        ch_msg_done(j->m, CH_EAGAIN, errstr);
    else
        ch_msg_done(j->m, 0, NULL);
    msg_job_free(j);
}

/* Announces status for the consumed record and finishes it when Kafka has
 * the outcome. */
static void
announce(msg_job *j, int status, const char *reason)
{
    const Charter__V1__TimerFired *t = j->t;
    if (notify_outcome(j->n, j->id, t->case_id, t->organisation, j->kind, status,
                       j->channel ? j->channel : ch_channel_name(t->channel),
                       j->transport ? j->transport : "", reason, t->reference, 0, outcome_delivered,
                       j) != 0) {
        ch_msg_done(j->m, CH_EAGAIN, "kafka not accepting writes");
        msg_job_free(j);
    }
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
    const ch_template *t;
    int reads = 0;
    rc = notify_tcache_get(n->templates, path, &t, &reads, why, whysz);
    ch_metric_add(n->m_template_reads, reads);
    if (rc != 0)
        return rc;
    return ch_template_render(t, vars, nvars, subject, body, why, whysz);
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

static const char *
customer_transport(const notify_config *cfg, const char *channel)
{
    if (strcmp(channel, "email") == 0)
        return cfg->email_transport;
    if (strcmp(channel, "sms") == 0)
        return cfg->sms_transport;
    if (strcmp(channel, "social") == 0)
        return cfg->social_transport;
    return "file"; /* letters and the rest: the outbox is the print queue */
}

/* Takes `line`: the file sink's record, kept as the job's "meta". */
static int
keep_meta(msg_job *j, json_t *line)
{
    json_object_set_new(line, "notification_id", json_string(j->id));
    j->meta = json_dumps(line, JSON_COMPACT);
    json_decref(line);
    return j->meta ? 0 : CH_ENOMEM;
}

/* Copies the contact hash (HGETALL reply) into j->c. */
static void
copy_contact(msg_job *j, const redisReply *contact)
{
    msg_contact *c = &j->c;
    snprintf(c->lang, sizeof(c->lang), "en");
    for (size_t i = 0; contact && i + 1 < contact->elements; i += 2) {
        const char *k = contact->element[i]->str, *v = contact->element[i + 1]->str;
        if (!k || !v)
            continue;
        if (strcmp(k, "name") == 0)
            snprintf(c->name, sizeof(c->name), "%s", v);
        else if (strcmp(k, "email") == 0)
            snprintf(c->email, sizeof(c->email), "%s", v);
        else if (strcmp(k, "phone") == 0)
            snprintf(c->phone, sizeof(c->phone), "%s", v);
        else if (strcmp(k, "preferred_channel") == 0)
            snprintf(c->preferred, sizeof(c->preferred), "%s", v);
        else if (strcmp(k, "language") == 0 && v[0])
            snprintf(c->lang, sizeof(c->lang), "%s", v);
        else if (strcmp(k, "channel") == 0)
            snprintf(c->inbound, sizeof(c->inbound), "%s", v);
        else if (strcmp(k, "reference") == 0)
            snprintf(c->reference, sizeof(c->reference), "%s", v);
        else if (strcmp(k, "case_type") == 0)
            snprintf(c->case_type, sizeof(c->case_type), "%s", v);
        else if (strcmp(k, "appointment_location") == 0)
            snprintf(c->location, sizeof(c->location), "%s", v);
        else if (strcmp(k, "appointment_at") == 0)
            c->appointment_s = strtoll(v, NULL, 10);
    }
    c->loaded = 1;
}

/* A plain line for a notice when no template directory is configured. */
static char *
builtin_text(const msg_job *j, const char *name, const char *target, const char *appt)
{
    const char *ref = j->t->reference;
    char text[1024];
    if (strcmp(j->kind_name, "acknowledgement") == 0)
        snprintf(text, sizeof(text),
                 "Dear %s, thank you for contacting us. Your reference is %s. We will reply by "
                 "%s. Please quote your reference if you contact us about this.",
                 name, ref, target);
    else if (strcmp(j->kind_name, "holding_reply") == 0)
        snprintf(text, sizeof(text),
                 "Dear %s, we need more time to reply about %s. We will "
                 "reply by %s.",
                 name, ref, target);
    else if (strcmp(j->kind_name, "appointment_cancelled") == 0)
        snprintf(text, sizeof(text),
                 "Dear %s, we cannot keep your appointment on %s (reference "
                 "%s). We will contact you to arrange a new one.",
                 name, appt, ref);
    else
        snprintf(text, sizeof(text), "Dear %s, your appointment is on %s (reference %s).", name,
                 appt, ref);
    return strdup(text);
}

/* Renders a customer's message (acknowledgement, holding reply,
 * appointment confirmation, reminder or cancellation) from j->c. Returns 0,
 * CH_ENOMEM, or CH_EINVAL with j->why when the template cannot be used. */
static int
render_customer(msg_job *j)
{
    notify *n = j->n;
    const Charter__V1__TimerFired *t = j->t;
    const msg_contact *c = &j->c;
    const ch_org_clocks *oc = ch_org_set_find(&n->orgs, t->organisation);
    const char *inbound = c->inbound[0] ? c->inbound : ch_channel_name(t->channel);
    const char *case_type = t->case_type && t->case_type[0] ? t->case_type : c->case_type;
    const ch_policy_promise *pr =
        oc ? ch_policy_find_promise(&oc->policy, inbound, case_type) : NULL;
    const ch_tz *tz = org_tz(n, oc);
    int64_t target_s = t->target_at ? t->target_at->seconds : 0;
    if (j->ev && j->ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_HOLDING_REPLY)
        target_s = j->ev->holding_reply->new_target_at->seconds;
    char target[CH_TEMPLATE_DATE_BUFSZ] = "", target_iso[CH_TIME_BUFSZ] = "";
    if (target_s) {
        ch_template_date_words(tz, target_s, target, sizeof(target));
        ch_time_format_utc(target_s * 1000, target_iso, sizeof(target_iso));
    }
    char appt_date[CH_TEMPLATE_DATE_BUFSZ] = "", appt_time[32] = "", appt_iso[CH_TIME_BUFSZ] = "";
    if (j->appt_s) {
        ch_template_date_words(tz, j->appt_s, appt_date, sizeof(appt_date));
        ch_template_time_words(tz, j->appt_s, appt_time, sizeof(appt_time));
        ch_time_format_utc(j->appt_s * 1000, appt_iso, sizeof(appt_iso));
    }
    const char *location = c->location;
    if (j->ev && j->ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_APPOINTMENT &&
        j->ev->appointment->location[0])
        location = j->ev->appointment->location;
    const char *reason = j->ev && j->ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_HOLDING_REPLY
                             ? j->ev->holding_reply->reason
                             : "";
    const char *channel = reply_channel(pr, inbound, c->preferred);
    /* A phone contact is answered by text message. */
    if (strcmp(channel, "phone") == 0 || strcmp(channel, "voicemail") == 0)
        channel = "sms";
    j->channel = strcmp(channel, "email") == 0    ? "email"
                 : strcmp(channel, "sms") == 0    ? "sms"
                 : strcmp(channel, "social") == 0 ? "social"
                                                  : ch_channel_name(ch_channel_from_name(channel));
    snprintf(j->to, sizeof(j->to), "%s",
             strcmp(j->channel, "sms") == 0     ? c->phone
             : strcmp(j->channel, "email") == 0 ? c->email
                                                : "");
    snprintf(j->lang, sizeof(j->lang), "%s", c->lang);
    char within[128] = "";
    if (pr && pr->respond.set)
        ch_policy_describe_clock(&pr->respond.clock, within, sizeof(within));
    /* Where the charter promises a named contact: the case owner, named by
     * the policy's role title (events carry no staff names yet). */
    int owner = pr && pr->named_contact ? ch_policy_role_find(&oc->policy, "owner") : -1;
    const char *named = owner >= 0 ? oc->policy.roles[owner].title : "";
    /* Text messages and social replies run the visit requirements on. */
    int inline_list = strcmp(j->channel, "sms") == 0 || strcmp(j->channel, "social") == 0;
    char *visit = oc ? ch_template_list((const char *const *)oc->policy.visit_requirements,
                                        oc->policy.nvisit_requirements, inline_list)
                     : NULL;
    const char *name = c->name[0] ? c->name : "customer";
    ch_template_var vars[] = {
        {"reference", t->reference},
        {"organisation", oc ? oc->policy.name : t->organisation},
        {"customer_name", name},
        {"target_date", target[0] ? target : "our target date"},
        {"respond_within", within},
        {"contact_name", named},
        {"reason", reason},
        {"new_target_date", target},
        {"appointment_date", appt_date},
        {"appointment_time", appt_time},
        {"appointment_location", location},
        {"visit_requirements", visit},
    };
    int rc = render(n, t->organisation, j->kind_name, j->channel, c->lang, vars,
                    sizeof(vars) / sizeof(vars[0]), &j->subject, &j->body, j->why, sizeof(j->why));
    free(visit);
    if (rc == CH_ENOTFOUND) {
        char when[96];
        snprintf(when, sizeof(when), "%s at %s", appt_date, appt_time);
        j->body = builtin_text(j, name, target[0] ? target : "our target date", when);
        rc = j->body ? 0 : CH_ENOMEM;
    }
    if (rc != 0)
        return rc;
    if (!j->subject) {
        char s[200];
        snprintf(s, sizeof(s), "Your reference %s", t->reference);
        if (!(j->subject = strdup(s)))
            return CH_ENOMEM;
    }
    json_t *line = json_object();
    json_object_set_new(line, "kind", json_string(j->kind_name));
    json_object_set_new(line, "case_id", json_string(t->case_id));
    json_object_set_new(line, "organisation", json_string(t->organisation));
    json_object_set_new(line, "reference", json_string(t->reference));
    json_object_set_new(line, "channel", json_string(j->channel));
    json_object_set_new(line, "language", json_string(c->lang));
    json_object_set_new(line, "to", json_string(j->to));
    json_object_set_new(line, "target_date", json_string(target));
    json_object_set_new(line, "target_at", json_string(target_iso));
    if (j->appt_s)
        json_object_set_new(line, "appointment_at", json_string(appt_iso));
    json_object_set_new(line, "subject", json_string(j->subject));
    json_object_set_new(line, "text", json_string(j->body));
    if (strcmp(j->channel, "sms") == 0)
        set_sms_fields(line, j->body);
    j->customer = 1;
    j->transport = customer_transport(n->cfg, j->channel);
    return keep_meta(j, line);
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

/* Renders a staff alert; same returns as render_ack. */
static int
render_alert(msg_job *j)
{
    notify *n = j->n;
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
    int rc = render(n, t->organisation, j->kind_name, "email", "en", vars,
                    sizeof(vars) / sizeof(vars[0]), &j->subject, &j->body, j->why, sizeof(j->why));
    if (rc == CH_ENOTFOUND) {
        char text[512];
        snprintf(text, sizeof(text), "%s for case %s (%s)", j->kind_name, t->reference, role_title);
        j->body = strdup(text);
        rc = j->body ? 0 : CH_ENOMEM;
    }
    if (rc != 0)
        return rc;
    if (!j->subject && !(j->subject = strdup(j->body)))
        return CH_ENOMEM;
    j->channel = "email";
    j->customer = 0;
    j->transport = n->cfg->staff_transport;
    snprintf(j->lang, sizeof(j->lang), "en");
    if (strcmp(j->transport, "file") == 0 || strcmp(j->transport, "kafka") == 0) {
        snprintf(j->to, sizeof(j->to), "%s", role_key);
    } else {
        const char *pat = n->cfg->staff_email, *p = strstr(pat, "{role}");
        if (p)
            snprintf(j->to, sizeof(j->to), "%.*s%s%s", (int)(p - pat), pat, role_key, p + 6);
        else
            snprintf(j->to, sizeof(j->to), "%s", pat);
    }
    json_t *line = json_object();
    json_object_set_new(line, "kind", json_string(j->kind_name));
    json_object_set_new(line, "case_id", json_string(t->case_id));
    json_object_set_new(line, "organisation", json_string(t->organisation));
    json_object_set_new(line, "reference", json_string(t->reference));
    json_object_set_new(line, "channel", json_string("email"));
    json_object_set_new(line, "to", json_string(role_key));
    json_object_set_new(line, "role", json_string(role_title));
    json_object_set_new(line, "tier", json_integer(t->tier));
    json_object_set_new(line, "subject", json_string(j->subject));
    json_object_set_new(line, "text", json_string(j->body));
    return keep_meta(j, line);
}

static void
send_failed(msg_job *j, const char *why)
{
    /* A template that cannot be used will not get better by retrying: the
     * failure is announced and the record moves on. */
    CH_LOG_ERROR(ch_runtime_log(j->n->rt), "notification not made",
                 CH_STR("case_id", j->t->case_id), CH_STR("kind", j->kind_name),
                 CH_STR("reason", why));
    ch_metric_add(j->n->m_failed, 1);
    announce(j, CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_FAILED, why);
}

static const char enqueue_lua[] = "local st = redis.call('GET', KEYS[1])\n"
                                  "if st then return st end\n"
                                  "redis.call('SET', KEYS[1], 'queued', 'EX', ARGV[1])\n"
                                  "redis.call('DEL', KEYS[2])\n"
                                  "redis.call('HSET', KEYS[2], unpack(ARGV, 5))\n"
                                  "redis.call('EXPIRE', KEYS[2], ARGV[4])\n"
                                  "redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])\n"
                                  "return 'new'\n";

static void
enqueued(void *opaque, redisReply *reply)
{
    msg_job *j = opaque;
    if (!reply || (reply->type != REDIS_REPLY_STATUS && reply->type != REDIS_REPLY_STRING)) {
        ch_msg_done(j->m, CH_EAGAIN, reply && reply->str ? reply->str : "could not queue");
        msg_job_free(j);
        return;
    }
    if (strcmp(reply->str, "new") == 0) {
        ch_metric_add(j->n->m_queued, 1);
        if (j->note[0])
            ch_metric_add(j->n->m_held, 1);
        notify_queue_kick(j->n);
        announce(j, CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_QUEUED, j->note);
    } else if (strcmp(reply->str, "sent") == 0) {
        ch_metric_add(j->n->m_skipped, 1);
        announce(j, CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_SENT, "");
    } else {
        ch_metric_add(j->n->m_skipped, 1);
        ch_msg_done(j->m, 0, NULL);
        msg_job_free(j);
    }
}

/* Queues the rendered message with its idempotency record, atomically. */
static void
enqueue(msg_job *j)
{
    notify *n = j->n;
    const Charter__V1__TimerFired *t = j->t;
    int64_t now = ch_time_now_ms();
    j->due_ms = j->customer ? notify_quiet_due(n, t->organisation, j->channel, now) : now;
    if (j->due_ms > now) {
        char at[CH_TIME_BUFSZ];
        ch_time_format_utc(j->due_ms, at, sizeof(at));
        snprintf(j->note, sizeof(j->note), "held for quiet hours until %s", at);
        CH_LOG_INFO(ch_runtime_log(n->rt), "text message held for quiet hours",
                    CH_STR("case_id", t->case_id), CH_STR("until", at));
    }
    char ttl[16], due[32], jttl[16], kind[8];
    snprintf(ttl, sizeof(ttl), "%d", NOTIFY_CLAIM_TTL_S);
    snprintf(due, sizeof(due), "%lld", (long long)j->due_ms);
    snprintf(jttl, sizeof(jttl), "%d", NOTIFY_JOB_TTL_S);
    snprintf(kind, sizeof(kind), "%d", (int)j->kind);
    const char *argv[] = {"EVAL",
                          enqueue_lua,
                          "3",
                          j->idem_key,
                          j->job_key,
                          NOTIFY_QUEUE_KEY,
                          ttl,
                          due,
                          j->id,
                          jttl,
                          "case_id",
                          t->case_id,
                          "organisation",
                          t->organisation,
                          "reference",
                          t->reference,
                          "kind",
                          kind,
                          "kind_name",
                          j->kind_name,
                          "channel",
                          j->channel,
                          "to",
                          j->to,
                          "subject",
                          j->subject,
                          "body",
                          j->body,
                          "meta",
                          j->meta,
                          "transport",
                          j->transport,
                          "language",
                          j->lang,
                          "attempts",
                          "0",
                          "customer",
                          j->customer ? "1" : "0"};
    enum { NARGV = sizeof(argv) / sizeof(argv[0]) };
    size_t argvlen[NARGV];
    for (size_t i = 0; i < NARGV; i++)
        argvlen[i] = strlen(argv[i]);
    if (ch_redis_command_argv(n->rt, enqueued, j, NARGV, argv, argvlen) != 0) {
        ch_msg_done(j->m, CH_EAGAIN, "redis unavailable");
        msg_job_free(j);
    }
}

static void
rendered(msg_job *j, int rc)
{
    if (rc == CH_EINVAL)
        send_failed(j, j->why);
    else if (rc != 0) {
        ch_msg_done(j->m, CH_EAGAIN, ch_strerror(rc));
        msg_job_free(j);
    } else
        enqueue(j);
}

static void
contact_loaded(void *opaque, redisReply *reply)
{
    msg_job *j = opaque;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        ch_msg_done(j->m, CH_EAGAIN, "could not read the contact details");
        msg_job_free(j);
        return;
    }
    if (reply->elements == 0) {
        /* The case's `received` event is on another topic and may not have
         * been read yet: wait for it rather than write to nobody. */
        const Charter__V1__TimerFired *t = j->t;
        int64_t fired_ms = t->fired_at ? t->fired_at->seconds * 1000 : 0;
        if (ch_time_now_ms() - fired_ms < CONTACT_WAIT_MS) {
            ch_msg_done(j->m, CH_EAGAIN, "contact details not recorded yet");
            msg_job_free(j);
        } else {
            send_failed(j, "no contact details for the case");
        }
        return;
    }
    copy_contact(j, reply);
    rendered(j, render_customer(j));
}

static void
state_read(void *opaque, redisReply *reply)
{
    msg_job *j = opaque;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        ch_msg_done(j->m, CH_EAGAIN, "could not read the notification record");
        msg_job_free(j);
        return;
    }
    if (reply->type == REDIS_REPLY_STRING) {
        ch_metric_add(j->n->m_skipped, 1);
        if (strcmp(reply->str, "sent") == 0) {
            announce(j, CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_SENT, "");
        } else {
            ch_msg_done(j->m, 0, NULL); /* queued, on its way, or already settled */
            msg_job_free(j);
        }
        return;
    }
    if (j->c.loaded) {
        rendered(j, render_customer(j));
        return;
    }
    if (j->kind != CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_ACKNOWLEDGEMENT &&
        j->kind != CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_APPOINTMENT_REMINDER) {
        rendered(j, render_alert(j));
        return;
    }
    char key[160];
    snprintf(key, sizeof(key), "charter:case:{%s}:contact", j->t->case_id);
    if (ch_redis_command(j->n->rt, contact_loaded, j, "HGETALL %s", key) != 0) {
        ch_msg_done(j->m, CH_EAGAIN, "redis unavailable");
        msg_job_free(j);
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
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_REMINDER:
        if (!t->due_at) {
            ch_msg_done(m, CH_EBADMSG, "reminder without its due time");
            return;
        }
        kind = CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_APPOINTMENT_REMINDER;
        kind_name = "appointment_reminder";
        break;
    default:
        ch_msg_done(m, 0, NULL);
        return;
    }
    if (strchr(t->case_id, '}') || strchr(t->case_id, '/') || strlen(t->case_id) > 100) {
        ch_msg_done(m, CH_EBADMSG, "case id cannot name a notification");
        return;
    }
    msg_job *j = calloc(1, sizeof(*j));
    if (!j) {
        ch_msg_done(m, CH_EAGAIN, "out of memory");
        return;
    }
    j->n = n;
    j->m = m;
    j->t = t;
    j->kind = kind;
    j->kind_name = kind_name;
    /* One acknowledgement per case; one alert per timer, named as the timer
     * id names it ("<case>/warning/2", "<case>/review_due/1"). */
    const char *what = kind_name;
    size_t cl = strlen(t->case_id);
    char reminder[64];
    if (kind == CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_APPOINTMENT_REMINDER) {
        /* sla-timer reminds a day before the appointment; one reminder per
         * appointment time, so a rebooked appointment is reminded again. */
        j->appt_s = t->due_at->seconds + REMINDER_LEAD_S;
        snprintf(reminder, sizeof(reminder), "%s/%lld", kind_name, (long long)j->appt_s);
        what = reminder;
    } else if (kind != CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_ACKNOWLEDGEMENT &&
               t->timer_id && strncmp(t->timer_id, t->case_id, cl) == 0 && t->timer_id[cl] == '/' &&
               t->timer_id[cl + 1])
        what = t->timer_id + cl + 1;
    snprintf(j->id, sizeof(j->id), "%s/%s", t->case_id, what);
    snprintf(j->idem_key, sizeof(j->idem_key), "charter:notify:{%s}:%s", t->case_id, what);
    snprintf(j->job_key, sizeof(j->job_key), "%s:job", j->idem_key);
    if (ch_redis_command(n->rt, state_read, j, "GET %s", j->idem_key) != 0) {
        ch_msg_done(m, CH_EAGAIN, "redis unavailable");
        msg_job_free(j);
    }
}

static void
notice_contact_loaded(void *opaque, redisReply *reply)
{
    msg_job *j = opaque;
    const Charter__V1__CaseEvent *ev = j->ev;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        ch_msg_done(j->m, CH_EAGAIN, "could not read the contact details");
        msg_job_free(j);
        return;
    }
    copy_contact(j, reply);
    j->tf.channel = ch_channel_from_name(j->c.inbound);
    char what[128];
    if (ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_HOLDING_REPLY) {
        /* Each holding reply names a new date: one notice per date. */
        snprintf(what, sizeof(what), "%s/%lld", j->kind_name,
                 (long long)ev->holding_reply->new_target_at->seconds);
    } else {
        const Charter__V1__Appointment *a = ev->appointment;
        j->appt_s = a->starts_at ? a->starts_at->seconds : j->c.appointment_s;
        if (j->appt_s || !a->appointment_id[0] || strlen(a->appointment_id) > 60 ||
            strchr(a->appointment_id, '}'))
            snprintf(what, sizeof(what), "%s/%lld", j->kind_name, (long long)j->appt_s);
        else
            snprintf(what, sizeof(what), "%s/%s", j->kind_name, a->appointment_id);
    }
    snprintf(j->id, sizeof(j->id), "%s/%s", ev->case_id, what);
    snprintf(j->idem_key, sizeof(j->idem_key), "charter:notify:{%s}:%s", ev->case_id, what);
    snprintf(j->job_key, sizeof(j->job_key), "%s:job", j->idem_key);
    if (!j->c.reference[0]) {
        const Charter__V1__Timestamp *seen = ev->ingested_at ? ev->ingested_at : ev->occurred_at;
        if (ch_time_now_ms() - (seen ? seen->seconds * 1000 : 0) < CONTACT_WAIT_MS) {
            ch_msg_done(j->m, CH_EAGAIN, "contact details not recorded yet");
            msg_job_free(j);
        } else {
            send_failed(j, "no contact details for the case");
        }
        return;
    }
    if (ch_redis_command(j->n->rt, state_read, j, "GET %s", j->idem_key) != 0) {
        ch_msg_done(j->m, CH_EAGAIN, "redis unavailable");
        msg_job_free(j);
    }
}

/* A case event that asks for a customer notice: the contact first (it
 * holds the reference and says which appointment a cancellation is about),
 * then the idempotency record, then the message. */
static void
on_notice_event(notify *n, ch_msg *m, const Charter__V1__CaseEvent *ev)
{
    if (strchr(ev->case_id, '}') || strchr(ev->case_id, '/') || strlen(ev->case_id) > 100) {
        ch_msg_done(m, CH_EBADMSG, "case id cannot name a notification");
        return;
    }
    msg_job *j = calloc(1, sizeof(*j));
    if (!j) {
        ch_msg_done(m, CH_EAGAIN, "out of memory");
        return;
    }
    j->n = n;
    j->m = m;
    j->ev = ev;
    j->kind = notice_kind(ev, &j->kind_name);
    charter__v1__timer_fired__init(&j->tf);
    j->tf.case_id = ev->case_id;
    j->tf.organisation = ev->organisation;
    j->tf.reference = j->c.reference;
    j->tf.case_type = j->c.case_type;
    j->t = &j->tf;
    char key[160];
    snprintf(key, sizeof(key), "charter:case:{%s}:contact", ev->case_id);
    int rc = 0;
    if (j->kind == CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_APPOINTMENT_CONFIRMATION) {
        /* Kept for the reminder and for a cancellation that does not say
         * when; the same connection reads it back below, in order. */
        const Charter__V1__Appointment *a = ev->appointment;
        char at[24];
        snprintf(at, sizeof(at), "%lld", (long long)a->starts_at->seconds);
        const char *argv[] = {"HSET",     key, "appointment_at", at, "appointment_location",
                              a->location};
        size_t argvlen[6];
        for (size_t i = 0; i < 6; i++)
            argvlen[i] = strlen(argv[i]);
        rc = ch_redis_command_argv(n->rt, NULL, NULL, 6, argv, argvlen);
        if (rc == 0)
            rc = ch_redis_command(n->rt, NULL, NULL, "EXPIRE %s %d", key, CONTACT_TTL_S);
    }
    if (rc == 0)
        rc = ch_redis_command(n->rt, notice_contact_loaded, j, "HGETALL %s", key);
    if (rc != 0) {
        ch_msg_done(m, CH_EAGAIN, "redis unavailable");
        msg_job_free(j);
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
    {CH_TOPIC_CONTACT_EVENTS, &charter__v1__case_event__descriptor},
    {CH_TOPIC_SLA_TIMERS, &charter__v1__timer_fired__descriptor},
};

static int
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void
drop_transfer(void *opaque, CURL *easy)
{
    notify_job *j = opaque;
    if (j->easy == easy) {
        notify_job_free(j); /* the claim expires; the next instance sends */
        return;
    }
    curl_easy_cleanup(easy);
}

static void
notify_stop(void *svc)
{
    notify *n = svc;
    n->stopping = 1;
}

static void
notify_tick(void *svc, int64_t now_ms)
{
    (void)now_ms;
    notify_queue_kick(svc); /* retries and held messages come due */
}

static void
notify_redis_ready(void *svc)
{
    notify_queue_kick(svc);
}

static void
notify_fini(void *svc)
{
    notify *n = svc;
    if (!n)
        return;
    notify_curl_free(n->curl, drop_transfer);
    notify_queue_fini(n);
    notify_tcache_free(n->templates);
    ch_org_set_free(&n->orgs);
    ch_tz_free(n->default_tz);
    free(n);
    curl_global_cleanup();
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
uses(const notify_config *cfg, const char *transport)
{
    return strcmp(cfg->email_transport, transport) == 0 ||
           strcmp(cfg->sms_transport, transport) == 0 ||
           strcmp(cfg->social_transport, transport) == 0 ||
           strcmp(cfg->staff_transport, transport) == 0;
}

static int
check_transports(const notify_config *cfg, char *errstr, size_t errstr_size)
{
    if (strcmp(cfg->sms_transport, "smtp") == 0 || strcmp(cfg->social_transport, "smtp") == 0) {
        snprintf(errstr, errstr_size,
                 "notify.sms.transport and notify.social.transport cannot be smtp (http, kafka "
                 "or file)");
        return CH_EINVAL;
    }
    if (uses(cfg, "smtp") &&
        (strncmp(cfg->smtp_url, "smtp://", 7) != 0 && strncmp(cfg->smtp_url, "smtps://", 8) != 0)) {
        snprintf(errstr, errstr_size,
                 "notify.smtp.url must be smtp://host:port or smtps://host:port when a channel "
                 "uses smtp (is '%s')",
                 cfg->smtp_url);
        return CH_EINVAL;
    }
    if (uses(cfg, "smtp") && !strchr(cfg->smtp_from, '@')) {
        snprintf(errstr, errstr_size,
                 "notify.smtp.from must be an address such as noreply@council.example");
        return CH_EINVAL;
    }
    if (uses(cfg, "http") && strncmp(cfg->http_url, "http://", 7) != 0 &&
        strncmp(cfg->http_url, "https://", 8) != 0) {
        snprintf(errstr, errstr_size,
                 "notify.http.url must be an http:// or https:// URL when a channel uses http "
                 "(is '%s')",
                 cfg->http_url);
        return CH_EINVAL;
    }
    char service_id[37], secret[37];
    if (uses(cfg, "http") && strcmp(cfg->http_auth, "notify-jwt") == 0 &&
        notify_api_key_split(cfg->http_api_key, "notify.http.api_key", service_id, secret, errstr,
                             errstr_size) != 0)
        return CH_EINVAL;
    int64_t longest =
        cfg->smtp_timeout_ms > cfg->http_timeout_ms ? cfg->smtp_timeout_ms : cfg->http_timeout_ms;
    if (cfg->lease_ms < longest + 1000) {
        snprintf(errstr, errstr_size,
                 "notify.lease_ms (%lld) must exceed the longest transport timeout (%lld) by at "
                 "least 1000, or a slow send could be taken over and sent twice",
                 (long long)cfg->lease_ms, (long long)longest);
        return CH_EINVAL;
    }
    return 0;
}

static int
notify_init(ch_runtime *rt, const void *config, void **svc, char *errstr, size_t errstr_size)
{
    const notify_config *cfg = config;
    int rc = check_transports(cfg, errstr, errstr_size);
    if (rc != 0)
        return rc;
    if (mkdir(cfg->outbox_dir, 0750) != 0 && errno != EEXIST) {
        snprintf(errstr, errstr_size, "notify.outbox_dir %s cannot be created: %s", cfg->outbox_dir,
                 strerror(errno));
        return CH_EIO;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(errstr, errstr_size, "libcurl could not be initialised");
        return CH_EIO;
    }
    notify *n = calloc(1, sizeof(*n));
    if (!n) {
        curl_global_cleanup();
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    rc = CH_EINVAL;
    n->rt = rt;
    n->cfg = cfg;
    const char *at = strchr(cfg->smtp_from, '@');
    snprintf(n->mail_domain, sizeof(n->mail_domain), "%s", at ? at + 1 : "charter.invalid");
    srandom((unsigned)(ch_time_now_ms() ^ (int64_t)getpid()));
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
    rc = CH_ENOMEM;
    if (!(n->templates = notify_tcache_new())) {
        snprintf(errstr, errstr_size, "out of memory");
        goto err;
    }
    if (!(n->curl = notify_curl_new(ch_runtime_base(rt)))) {
        snprintf(errstr, errstr_size, "libcurl multi interface could not be set up");
        goto err;
    }
    if ((rc = notify_queue_init(n, errstr, errstr_size)) != 0)
        goto err;
    n->m_queued = ch_metric_counter(rt, "charter_notify_queued_total", "notifications queued");
    n->m_sent = ch_metric_counter(rt, "charter_notify_sent_total", "notifications sent");
    n->m_skipped = ch_metric_counter(rt, "charter_notify_already_sent_total",
                                     "redelivered requests found already queued or sent");
    n->m_failed = ch_metric_counter(rt, "charter_notify_failed_total",
                                    "notifications failed for good (template, refused, gave up)");
    n->m_retried =
        ch_metric_counter(rt, "charter_notify_retries_total", "temporary failures retried later");
    n->m_unknown = ch_metric_counter(rt, "charter_notify_unknown_total",
                                     "sends whose outcome is unknown, reported to staff");
    n->m_held = ch_metric_counter(rt, "charter_notify_quiet_held_total",
                                  "text messages held for quiet hours");
    n->m_template_reads =
        ch_metric_counter(rt, "charter_notify_template_reads_total",
                          "template files read and parsed (first use, or the file changed)");
    n->m_reloads = ch_metric_counter(rt, "charter_notify_reloads_total",
                                     "successful reloads of policies and templates (SIGHUP)");
    n->m_rate_held = ch_metric_counter(rt, "charter_notify_rate_held_total",
                                       "sends put back in the queue by a transport's rate limit");
    if (!cfg->template_dir[0])
        CH_LOG_WARN(ch_runtime_log(rt), "notify.template_dir is not set: built-in plain messages");
    CH_LOG_INFO(ch_runtime_log(rt), "notification ready", CH_STR("templates", cfg->template_dir),
                CH_STR("policies", cfg->policy_dir), CH_INT("organisations", n->orgs.n),
                CH_STR("email", cfg->email_transport), CH_STR("sms", cfg->sms_transport),
                CH_STR("social", cfg->social_transport), CH_STR("staff", cfg->staff_transport));
    *svc = n;
    return 0;
err:
    notify_fini(n);
    return rc;
}

/* SIGHUP: the policies and every template again, all or nothing, as at
 * start-up. Nothing holds a pointer into the policies across a loop turn:
 * each message looks its organisation up when Redis answers. */
static void
notify_reload(void *svc)
{
    notify *n = svc;
    const ch_log *lg = ch_runtime_log(n->rt);
    char err[1024];
    ch_org_set fresh = {0};
    if (n->cfg->policy_dir[0] &&
        ch_org_set_load(n->cfg->policy_dir, "notify.policy_dir", &fresh, err, sizeof(err)) != 0) {
        CH_LOG_ERROR(lg, "reload refused; keeping the running policies and templates",
                     CH_STR("error", err));
        return;
    }
    if (n->cfg->template_dir[0] && check_templates(n->cfg->template_dir, err, sizeof(err)) != 0) {
        CH_LOG_ERROR(lg, "reload refused; keeping the running policies and templates",
                     CH_STR("error", err));
        ch_org_set_free(&fresh);
        return;
    }
    ch_org_set old = n->orgs;
    n->orgs = fresh;
    ch_org_set_free(&old);
    notify_tcache_clear(n->templates);
    ch_metric_add(n->m_reloads, 1);
    CH_LOG_INFO(lg, "policies and templates reloaded", CH_INT("organisations", n->orgs.n));
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
    .on_redis_ready = notify_redis_ready,
    .reload = notify_reload,
    .tick = notify_tick,
    .stop = notify_stop,
    .fini = notify_fini,
};

int
main(int argc, char **argv, char **envp)
{
    return ch_runtime_main(&notify_service, argc, argv, envp);
}
