/*
 * The intake chains (see intake.h), one callback per Redis answer:
 *
 *   timer:    name it -> record? -> [contact] -> render -> put -> announce
 *   notice:   [book] -> contact -> name it -> record? -> render -> put -> announce
 *   received: record contact -> (an acknowledgement is promised) name it ->
 *             record? -> contact -> render -> put -> announce
 *   acknowledgement_due: the customer's acknowledgement sent? -> (no) the
 *             owner's alert as a timer's -> then the acknowledgement as a
 *             timer's (its record keeps it to one per case)
 *
 * A customer's notice with no channel they can receive it on is not queued:
 * its record becomes "undeliverable", an undeliverable outcome says why and
 * the case owner gets a staff alert (queued first, so a redelivery finds it).
 *
 * A notice is named from the contact (it holds the reference and says which
 * appointment a cancellation is about), so its contact comes first. A timer
 * read before its case's details (another topic) is retried until they
 * arrive: for notify.contact_wait_ms (ten minutes) after the record's time,
 * and beyond that for as long as this instance's consumer is behind on the
 * contacts topic (ch_runtime_consumer_lag), up to notify.contact_wait_max_ms
 * (a day); only a record whose contact is still missing when the contacts
 * topic is caught up is reported as failed. So a notification that was down
 * or lagging for hours catches up without failing one acknowledgement (the
 * review's M1). A template that
 * cannot be used will not get better by retrying: that failure is
 * announced and the record moves on.
 */
#include "intake.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/names.h"
#include "charter/timeutil.h"
#include "charter/topics.h"
#include "charter/v1/notification.pb-c.h"
#include "contact.h"
#include "outcome.h"
#include "queue.h"
#include "render.h"
#include "retry_rules.h"
#include "template_cache.h"

/* How fresh the contacts consumer's lag must be, after the record's time,
 * to say the case's `received` event was read: it was produced before the
 * timer fired or the notice was ingested, so a lag of 0 measured this long
 * after that instant covers it. */
#define CONTACT_LAG_MARGIN_MS 5000
/* sla-timer's reminder falls due this long before the appointment
 * (case_clock.c). */
#define REMINDER_LEAD_S (24 * 3600)

#define S_QUEUED CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_QUEUED
#define S_SENT CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_SENT
#define S_FAILED CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_FAILED
#define S_UNDELIVERABLE CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_UNDELIVERABLE
#define K_ACK CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_ACKNOWLEDGEMENT

typedef struct intake intake;
/* What a chain's record goes on to once its notification is settled (0). */
typedef void (*intake_then_fn)(notify *n, ch_msg *m, const Charter__V1__TimerFired *t);

/* One consumed record on its way to the queue. */
struct intake {
    notify *n;
    ch_msg *m;
    /* What names the notification: the fired timer, or for a case event's
     * notice `tf`, filled from the event and the recorded contact. */
    const Charter__V1__TimerFired *t;
    const Charter__V1__CaseEvent *ev; /* the case event, or NULL */
    Charter__V1__TimerFired tf;
    notify_contact c;
    int64_t appt_s; /* the appointment a notice or reminder is about */
    int kind;       /* Charter__V1__NotificationKind */
    const char *kind_name;
    notify_ids ids;
    notify_rendered out;
    int slot;                      /* the transport, once rendered; -1 before */
    char note[160];                /* outcome reason for the queued event */
    Charter__V1__Timestamp target; /* an acknowledgement at receipt: its reply target */
    intake_then_fn then;           /* NULL: the record is finished with this notification */
    /* A notice made again after a receipt (notify_intake_resend): who is told
     * instead of the record, the channels not to use, those tried. */
    notify_resend_done_fn done;
    void *done_arg;
    char skip[96], tried[96];
};

/* Finishes the consumed record (or, settled, hands it to j->then) and frees
 * the intake. */
static void
end(intake *j, int rc, const char *reason)
{
    notify *n = j->n;
    ch_msg *m = j->m;
    const Charter__V1__TimerFired *t = j->t;
    intake_then_fn then = rc == 0 ? j->then : NULL;
    notify_resend_done_fn done = j->done;
    void *done_arg = j->done_arg;
    notify_rendered_free(&j->out);
    free(j);
    if (done)
        done(done_arg, rc, reason);
    else if (then)
        then(n, m, t);
    else
        ch_msg_done(m, rc, reason);
}

/* An intake for notification `kind` of a case, or NULL when the record is
 * finished already: a case id that cannot name a notification is refused
 * here, for every chain. */
static intake *
intake_new(notify *n, ch_msg *m, const char *case_id, int kind, const char *kind_name)
{
    if (!notify_case_id_ok(case_id)) {
        ch_msg_done(m, CH_EBADMSG, "case id cannot name a notification");
        return NULL;
    }
    intake *j = calloc(1, sizeof(*j));
    if (j)
        *j = (intake){.n = n, .m = m, .kind = kind, .kind_name = kind_name, .slot = -1};
    else
        ch_msg_done(m, CH_EAGAIN, "out of memory");
    return j;
}

/* The notification as rendered so far (borrowing j's strings). */
static notify_message
message_of(const intake *j)
{
    const Charter__V1__TimerFired *t = j->t;
    const notify_rendered *o = &j->out;
    return (notify_message){
        .id = j->ids.id,
        .case_id = t->case_id,
        .organisation = t->organisation,
        .reference = t->reference,
        .kind = j->kind,
        .kind_name = j->kind_name,
        .channel = o->channel ? o->channel : ch_channel_name(t->channel),
        .language = o->lang,
        .to = o->to,
        .subject = o->subject ? o->subject : "",
        .body = o->body ? o->body : "",
        .message_id = "",
        .meta = o->meta ? o->meta : "",
        .customer = o->customer,
        .note = j->done ? j->note : "",
        .tried = j->tried,
    };
}

static void
outcome_delivered(void *opaque, int rc, int32_t partition, int64_t offset, const char *errstr)
{
    (void)partition;
    (void)offset;
    end(opaque, rc != 0 ? CH_EAGAIN : 0, rc != 0 ? errstr : NULL);
}

/* Announces status for the notification and finishes the record when Kafka
 * has the outcome. */
static void
announce(intake *j, int status, const char *reason)
{
    notify_message m = message_of(j);
    const char *transport = j->slot >= 0 ? j->n->slot[j->slot].t->name : "";
    if (notify_outcome(j->n, &m, transport, status, reason, 0, outcome_delivered, j) != 0)
        end(j, CH_EAGAIN, "kafka not accepting writes");
}

static void
send_failed(intake *j, const char *why)
{
    CH_LOG_ERROR(ch_runtime_log(j->n->rt), "notification not made",
                 CH_STR("case_id", j->t->case_id), CH_STR("kind", j->kind_name),
                 CH_STR("reason", why));
    ch_metric_add(j->n->m_failed, 1);
    announce(j, S_FAILED, why);
}

/* 1 while this instance may not yet have read every contact record
 * produced before seen_ms: its lag on the contacts topic is not 0, not
 * known, or not measured since. */
static int
contacts_behind(const notify *n, int64_t seen_ms, int64_t *lag)
{
    int64_t at_ms = 0;
    *lag = ch_runtime_consumer_lag(n->rt, CH_TOPIC_CONTACT_EVENTS, &at_ms);
    return *lag != 0 || at_ms < seen_ms + CONTACT_LAG_MARGIN_MS;
}

/* The case's details are not recorded: wait for them while the record is
 * young (seen_s) or the contacts topic is behind, else give up on the
 * notification. */
static void
no_contact(intake *j, int64_t seen_s)
{
    const notify_config *cfg = j->n->cfg;
    int64_t age = ch_time_now_ms() - seen_s * 1000, lag = 0;
    char why[160];
    if (age < cfg->contact_wait_ms) {
        end(j, CH_EAGAIN, "contact details not recorded yet");
    } else if (age < cfg->contact_wait_max_ms && contacts_behind(j->n, seen_s * 1000, &lag)) {
        snprintf(why, sizeof(why),
                 "contact details not recorded yet; the contacts topic is behind (lag %lld)",
                 (long long)lag);
        end(j, CH_EAGAIN, why);
    } else {
        send_failed(j, "no contact details for the case");
    }
}

/* ---- render and queue ---- */

/* notify_template_fn over notify.template_dir and the template cache. */
static int
template_for(void *opaque, const char *org, const char *kind, const char *channel, const char *lang,
             const ch_template **out, char *why, size_t whysz)
{
    intake *j = opaque;
    notify *n = j->n;
    *out = NULL;
    if (!n->cfg->template_dir[0])
        return 0;
    char path[1024];
    int rc = ch_template_find(n->cfg->template_dir, org, kind, channel, lang, path, sizeof(path),
                              why, whysz);
    if (rc != 0)
        return rc == CH_ENOTFOUND ? CH_EINVAL : rc;
    /* ".../<kind>.<channel>.<language>.txt": the language found */
    size_t plen = strlen(path);
    const char *end = path + plen - 4, *dot = end;
    while (dot > path && dot[-1] != '.')
        dot--;
    if (strncmp(kind, "staff_", 6) != 0) {
        if ((size_t)(end - dot) != strlen(lang) || strncmp(dot, lang, (size_t)(end - dot)) != 0)
            CH_LOG_INFO(ch_runtime_log(n->rt),
                        "no template in the customer's language: sent in the default one",
                        CH_STR("case_id", j->t->case_id), CH_STR("kind", kind),
                        CH_STR("channel", channel));
        snprintf(j->out.lang, sizeof(j->out.lang), "%.*s", (int)(end - dot), dot);
    }
    int reads = 0;
    rc = notify_tcache_get(n->templates, path, out, &reads, why, whysz);
    ch_metric_add(n->m_template_reads, reads);
    return rc;
}

static void
enqueued(void *opaque, const char *record, const char *error)
{
    intake *j = opaque;
    notify *n = j->n;
    if (!record) {
        end(j, CH_EAGAIN, error);
    } else if (strcmp(record, "new") == 0) {
        ch_metric_add(n->m_queued, 1);
        if (j->note[0])
            ch_metric_add(n->m_held, 1);
        announce(j, S_QUEUED, j->note);
    } else {
        ch_metric_add(n->m_skipped, 1);
        if (strcmp(record, "sent") == 0)
            announce(j, S_SENT, "");
        else
            end(j, 0, NULL);
    }
}

/* The route of a message: staff alerts by the staff transport, a
 * customer's by the transport of its channel. */
static int
route_of(int customer, const char *channel)
{
    if (!customer)
        return NOTIFY_ROUTE_STAFF;
    switch (notify_channel_bit(channel)) {
    case NOTIFY_CH_EMAIL:
        return NOTIFY_ROUTE_EMAIL;
    case NOTIFY_CH_SMS:
        return NOTIFY_ROUTE_SMS;
    case NOTIFY_CH_SOCIAL:
        return NOTIFY_ROUTE_SOCIAL;
    case NOTIFY_CH_LETTER:
        return NOTIFY_ROUTE_LETTER;
    default:
        return NOTIFY_ROUTE_OTHER;
    }
}

/* Routes the rendered message and queues it with its record, atomically;
 * a customer's text message inside quiet hours is due when they end. */
static void
enqueue(intake *j)
{
    notify *n = j->n;
    const Charter__V1__TimerFired *t = j->t;
    j->slot = n->route[route_of(j->out.customer, j->out.channel)];
    int64_t now = ch_time_now_ms(), due = now;
    if (j->out.customer) {
        const ch_org_clocks *oc = notify_org(n, t->organisation);
        due = notify_quiet_due(oc ? &oc->policy : NULL, notify_org_tz(n, oc), j->out.channel, now);
    }
    if (due > now && !j->done) {
        char at[CH_TIME_BUFSZ];
        ch_time_format_utc(due, at, sizeof(at));
        snprintf(j->note, sizeof(j->note), "held for quiet hours until %s", at);
        CH_LOG_INFO(ch_runtime_log(n->rt), "text message held for quiet hours",
                    CH_STR("case_id", t->case_id), CH_STR("until", at));
    }
    notify_message m = message_of(j);
    if (notify_queue_put(n->queue, &j->ids, &m, n->slot[j->slot].t->name, due, "", enqueued, j) !=
        0)
        end(j, CH_EAGAIN, "redis unavailable");
}

static notify_render_env
render_env(intake *j)
{
    notify *n = j->n;
    return (notify_render_env){template_for, j, n->cfg->staff_email,
                               n->slot[n->route[NOTIFY_ROUTE_STAFF]].t->staff_by_role};
}

static void
undeliverable_recorded(void *opaque, redisReply *reply)
{
    intake *j = opaque;
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        end(j, CH_EAGAIN, "could not record the undeliverable notice");
    else
        announce(j, S_UNDELIVERABLE, j->out.why);
}

static void
undeliverable_alerted(void *opaque, const char *record, const char *error)
{
    intake *j = opaque;
    if (!record) {
        end(j, CH_EAGAIN, error);
        return;
    }
    if (ch_redis_command(j->n->rt, undeliverable_recorded, j, "SET %s undeliverable EX %d",
                         j->ids.idem_key, notify_record_ttl_s(j->n)) != 0)
        end(j, CH_EAGAIN, "redis unavailable");
}

/* The customer's notice cannot reach them (j->out.why): the case owner's
 * alert is queued, then the notice is recorded undeliverable and announced
 * so, never as sent. */
static void
undeliverable(intake *j)
{
    notify *n = j->n;
    const Charter__V1__TimerFired *t = j->t;
    CH_LOG_WARN(ch_runtime_log(n->rt), "customer notice undeliverable",
                CH_STR("case_id", t->case_id), CH_STR("kind", j->kind_name),
                CH_STR("reason", j->out.why));
    const ch_org_clocks *oc = notify_org(n, t->organisation);
    char detail[700], what[sizeof(j->ids.id)];
    snprintf(detail, sizeof(detail), "Our %s could not be sent: %s.", j->kind_name, j->out.why);
    for (char *u = strchr(detail, '_'); u; u = strchr(u, '_'))
        *u = ' ';
    snprintf(what, sizeof(what), "undeliverable/%s", strchr(j->ids.id, '/') + 1);
    notify_render_env env = render_env(j);
    notify_render_in in = {
        t, NULL, NULL, 0, "staff_undeliverable", oc, notify_org_tz(n, oc), "owner", detail, NULL};
    notify_rendered r = {0};
    notify_ids ids;
    int rc = notify_ids_make(&ids, t->case_id, what);
    if (rc == 0)
        rc = notify_render_alert(&env, &in, &r);
    if (rc == CH_EINVAL) {
        notify_rendered_free(&r);
        send_failed(j, r.why);
        return;
    }
    notify_message m = {
        .id = ids.id,
        .case_id = t->case_id,
        .organisation = t->organisation,
        .reference = t->reference,
        .kind = CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_STAFF_UNDELIVERABLE,
        .kind_name = "staff_undeliverable",
        .channel = r.channel ? r.channel : "email",
        .language = r.lang,
        .to = r.to,
        .subject = r.subject ? r.subject : "",
        .body = r.body ? r.body : "",
        .message_id = "",
        .meta = r.meta ? r.meta : "",
    };
    if (rc == 0)
        rc = notify_queue_put(n->queue, &ids, &m, n->slot[n->route[NOTIFY_ROUTE_STAFF]].t->name,
                              ch_time_now_ms(), "", undeliverable_alerted, j);
    notify_rendered_free(&r);
    if (rc != 0)
        end(j, CH_EAGAIN, ch_strerror(rc));
}

static void
render(intake *j)
{
    notify *n = j->n;
    const ch_org_clocks *oc = notify_org(n, j->t->organisation);
    notify_render_env env = render_env(j);
    notify_render_in in = {j->t, j->ev, &j->c,  j->appt_s, j->kind_name, oc, notify_org_tz(n, oc),
                           NULL, NULL,  j->skip};
    int customer = j->c.loaded;
    int rc = customer ? notify_render_customer(&env, &in, &j->out)
                      : notify_render_alert(&env, &in, &j->out);
    if (rc == CH_EINVAL)
        send_failed(j, j->out.why);
    else if (rc != 0)
        end(j, CH_EAGAIN, ch_strerror(rc));
    else if (j->out.undeliverable)
        undeliverable(j);
    else
        enqueue(j);
}

/* ---- the chains ---- */

static int
for_customer(int kind)
{
    return kind == CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_ACKNOWLEDGEMENT ||
           kind == CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_APPOINTMENT_REMINDER;
}

static void
contact_loaded(void *opaque, redisReply *reply)
{
    intake *j = opaque;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        end(j, CH_EAGAIN, "could not read the contact details");
        return;
    }
    notify_contact_from_reply(&j->c, reply);
    if (!j->c.inbound[0]) { /* no `received` recorded (an `assigned` alone is not one) */
        j->c.loaded = 0;
        const Charter__V1__Timestamp *seen = j->t->fired_at;
        if (!seen && j->ev)
            seen = j->ev->ingested_at ? j->ev->ingested_at : j->ev->occurred_at;
        no_contact(j, seen ? seen->seconds : 0);
        return;
    }
    render(j);
}

static void
record_read(void *opaque, redisReply *reply)
{
    intake *j = opaque;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        end(j, CH_EAGAIN, "could not read the notification record");
        return;
    }
    if (reply->type == REDIS_REPLY_STRING) {
        ch_metric_add(j->n->m_skipped, 1);
        if (strcmp(reply->str, "sent") == 0)
            announce(j, S_SENT, j->done ? j->note : "");
        else
            end(j, 0, NULL); /* queued, on its way, or already settled */
        return;
    }
    if (j->c.loaded || !for_customer(j->kind))
        render(j);
    else if (notify_contact_load(j->n->rt, j->t->case_id, contact_loaded, j) != 0)
        end(j, CH_EAGAIN, "redis unavailable");
}

/* Names the notification `what`; 0, or the record is finished. */
static int
name_it(intake *j, const char *what)
{
    if (notify_ids_make(&j->ids, j->t->case_id, what) == 0)
        return 0;
    end(j, CH_EBADMSG, "case id cannot name a notification");
    return CH_EINVAL;
}

static void
read_record(intake *j)
{
    if (ch_redis_command(j->n->rt, record_read, j, "GET %s", j->ids.idem_key) != 0)
        end(j, CH_EAGAIN, "redis unavailable");
}

/* The notification kind of a timer, 0 for none. */
static int
timer_kind(const Charter__V1__TimerFired *t, const char **name)
{
    switch (t->kind) {
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_ACKNOWLEDGEMENT_DUE:
        *name = "acknowledgement";
        return CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_ACKNOWLEDGEMENT;
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_WARNING:
        *name = "staff_warning";
        return CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_STAFF_WARNING;
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH:
        *name = "staff_breach";
        return CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_STAFF_BREACH;
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_WAIT_EXCEEDED:
        *name = "staff_wait_exceeded";
        return CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_STAFF_WAIT_EXCEEDED;
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_DUE:
        *name = "staff_review_due";
        return CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_STAFF_REVIEW_DUE;
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_REMINDER:
        *name = "appointment_reminder";
        return CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_APPOINTMENT_REMINDER;
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_WARNING:
        *name = "staff_review_warning";
        return CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_STAFF_REVIEW_WARNING;
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_OVERDUE:
        *name = "staff_review_overdue";
        return CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_STAFF_REVIEW_OVERDUE;
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_EXTENSION_REFUSED:
        *name = "staff_extension_refused";
        return CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_STAFF_EXTENSION_REFUSED;
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_CALLBACK_DUE:
        *name = "staff_callback_overdue";
        return CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_STAFF_CALLBACK_OVERDUE;
    default:
        return 0;
    }
}

/* A timer's notification: the customer's (acknowledgement, reminder) or a
 * staff alert, one per timer id. */
static void
timer_notice(notify *n, ch_msg *m, const Charter__V1__TimerFired *t, int kind,
             const char *kind_name)
{
    int reminder = kind == CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_APPOINTMENT_REMINDER;
    if (reminder && !t->due_at) {
        ch_msg_done(m, CH_EBADMSG, "reminder without its due time");
        return;
    }
    intake *j = intake_new(n, m, t->case_id, kind, kind_name);
    if (!j)
        return;
    j->t = t;
    /* One acknowledgement per case; one alert per timer, named as the timer
     * id names it ("<case>/warning/2", "<case>/review_due/1"). */
    char what[sizeof(j->ids.id)];
    size_t cl = strlen(t->case_id);
    if (reminder) {
        /* sla-timer reminds a day before the appointment; one reminder per
         * appointment time, so a rebooked appointment is reminded again. */
        j->appt_s = t->due_at->seconds + REMINDER_LEAD_S;
        snprintf(what, sizeof(what), "%s/%lld", kind_name, (long long)j->appt_s);
    } else if (kind != CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_ACKNOWLEDGEMENT &&
               t->timer_id && strncmp(t->timer_id, t->case_id, cl) == 0 && t->timer_id[cl] == '/' &&
               t->timer_id[cl + 1]) {
        snprintf(what, sizeof(what), "%s", t->timer_id + cl + 1);
    } else {
        snprintf(what, sizeof(what), "%s", kind_name);
    }
    if (name_it(j, what) == 0)
        read_record(j);
}

/* After the owner's alert: the customer's acknowledgement, if none was
 * ever sent (its record, shared with the one sent at receipt, says). */
static void
customer_acknowledgement(notify *n, ch_msg *m, const Charter__V1__TimerFired *t)
{
    timer_notice(n, m, t, K_ACK, "acknowledgement");
}

static void
acknowledgement_record_read(void *opaque, redisReply *reply)
{
    intake *j = opaque;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        end(j, CH_EAGAIN, "could not read the acknowledgement's record");
        return;
    }
    /* Sent: the `acknowledged` event is on its way to sla-timer, which had
     * not seen it yet; nothing is overdue. */
    if (reply->type == REDIS_REPLY_STRING && strcmp(reply->str, "sent") == 0)
        end(j, 0, NULL);
    else if (name_it(j, "acknowledgement_overdue") == 0)
        read_record(j);
}

/* acknowledgement_due fired: no acknowledgement was recorded by the
 * deadline. The owner is alerted, then the customer's acknowledgement goes
 * if it never went. */
static void
acknowledgement_due(notify *n, ch_msg *m, const Charter__V1__TimerFired *t)
{
    intake *j =
        intake_new(n, m, t->case_id,
                   CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_STAFF_ACKNOWLEDGEMENT_OVERDUE,
                   "staff_acknowledgement_overdue");
    if (!j)
        return;
    j->t = t;
    j->then = customer_acknowledgement;
    notify_ids ack;
    if (notify_ids_make(&ack, t->case_id, "acknowledgement") != 0) {
        end(j, CH_EBADMSG, "case id cannot name a notification");
        return;
    }
    if (ch_redis_command(n->rt, acknowledgement_record_read, j, "GET %s", ack.idem_key) != 0)
        end(j, CH_EAGAIN, "redis unavailable");
}

void
notify_intake_timer(notify *n, ch_msg *m, const Charter__V1__TimerFired *t)
{
    const char *kind_name = NULL;
    int kind = timer_kind(t, &kind_name);
    if (!kind)
        ch_msg_done(m, 0, NULL);
    else if (t->kind == CHARTER__V1__TIMER_KIND__TIMER_KIND_ACKNOWLEDGEMENT_DUE)
        acknowledgement_due(n, m, t);
    else
        timer_notice(n, m, t, kind, kind_name);
}

/*
 * The customer notice a case event asks for, 0 when none: a holding reply,
 * an appointment booked or rebooked (confirmation), or one the organisation
 * cancelled ("we can't keep this appointment"). Sets *name to the template
 * kind.
 */
static int
notice_kind(const Charter__V1__CaseEvent *ev, const char **name)
{
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

static void
notice_contact_loaded(void *opaque, redisReply *reply)
{
    intake *j = opaque;
    const Charter__V1__CaseEvent *ev = j->ev;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        end(j, CH_EAGAIN, "could not read the contact details");
        return;
    }
    notify_contact_from_reply(&j->c, reply);
    j->tf.channel = ch_channel_from_name(j->c.inbound);
    char what[sizeof(j->ids.id)];
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
    if (name_it(j, what) != 0)
        return;
    if (!j->c.reference[0]) {
        const Charter__V1__Timestamp *seen = ev->ingested_at ? ev->ingested_at : ev->occurred_at;
        no_contact(j, seen ? seen->seconds : 0);
    } else {
        read_record(j);
    }
}

/* A case event that asks for a customer notice. */
static void
notice(notify *n, ch_msg *m, const Charter__V1__CaseEvent *ev, int kind, const char *kind_name)
{
    intake *j = intake_new(n, m, ev->case_id, kind, kind_name);
    if (!j)
        return;
    j->ev = ev;
    charter__v1__timer_fired__init(&j->tf);
    j->tf.case_id = ev->case_id;
    j->tf.organisation = ev->organisation;
    j->tf.reference = j->c.reference;
    j->tf.case_type = j->c.case_type;
    j->t = &j->tf;
    int rc = 0;
    if (kind == CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_APPOINTMENT_CONFIRMATION)
        rc =
            notify_contact_book(n->rt, ev->case_id, ev->appointment->starts_at->seconds,
                                ev->appointment->location, (int)(n->cfg->contact_ttl_days * 86400));
    if (rc == 0)
        rc = notify_contact_load(n->rt, ev->case_id, notice_contact_loaded, j);
    if (rc != 0)
        end(j, CH_EAGAIN, "redis unavailable");
}

static void
stored(void *opaque, redisReply *reply)
{
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        ch_msg_done(opaque, CH_EAGAIN, reply ? reply->str : "redis unavailable");
    else
        ch_msg_done(opaque, 0, NULL);
}

static void
received_stored(void *opaque, redisReply *reply)
{
    intake *j = opaque;
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        end(j, CH_EAGAIN, reply ? reply->str : "redis unavailable");
    else if (name_it(j, "acknowledgement") == 0)
        read_record(j);
}

/* A `received` event: its contact details are recorded and, where the
 * promise acknowledges (automatically or within a clock), the
 * acknowledgement goes now, under the record the acknowledgement_due timer
 * would use, so the customer gets one. */
static void
received(notify *n, ch_msg *m, const Charter__V1__CaseEvent *ev)
{
    const Charter__V1__Received *r = ev->received;
    const char *case_type = r->case_type[0] ? r->case_type : "enquiry";
    const ch_org_clocks *oc = notify_org(n, ev->organisation);
    const ch_policy_promise *pr =
        oc ? ch_policy_find_promise(&oc->policy, ch_channel_name(r->channel), case_type) : NULL;
    if (!pr || pr->ack == CH_POLICY_ACK_NONE || !notify_case_id_ok(ev->case_id) ||
        !ev->occurred_at) {
        if (notify_contact_record(n->rt, ev, (int)(n->cfg->contact_ttl_days * 86400), stored, m) !=
            0)
            ch_msg_done(m, CH_EAGAIN, "redis unavailable");
        return;
    }
    intake *j = intake_new(n, m, ev->case_id, K_ACK, "acknowledgement");
    if (!j)
        return;
    j->ev = ev;
    charter__v1__timer_fired__init(&j->tf);
    j->tf.case_id = ev->case_id;
    j->tf.organisation = ev->organisation;
    j->tf.reference = r->reference;
    j->tf.case_type = (char *)case_type;
    j->tf.channel = r->channel;
    j->tf.kind = CHARTER__V1__TIMER_KIND__TIMER_KIND_ACKNOWLEDGEMENT_DUE;
    int64_t target_s = 0;
    if (notify_receipt_target(oc, ev, ch_time_now_ms(), &target_s) == 0 && target_s) {
        charter__v1__timestamp__init(&j->target);
        j->target.seconds = target_s;
        j->tf.target_at = &j->target;
    }
    j->t = &j->tf;
    if (notify_contact_record(n->rt, ev, (int)(n->cfg->contact_ttl_days * 86400), received_stored,
                              j) != 0)
        end(j, CH_EAGAIN, "redis unavailable");
}

void
notify_intake_case_event(notify *n, ch_msg *m, const Charter__V1__CaseEvent *ev)
{
    const char *kind_name = NULL;
    int kind = notice_kind(ev, &kind_name), rc;
    if (ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_RECEIVED) {
        received(n, m, ev);
        return;
    } else if (ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_ASSIGNED)
        rc = notify_contact_assign(n->rt, ev, (int)(n->cfg->contact_ttl_days * 86400), stored, m);
    else if (ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_CLOSED)
        rc = notify_contact_forget(n->rt, ev->case_id, stored, m); /* personal data goes */
    else if (kind) {
        notice(n, m, ev, kind, kind_name);
        return;
    } else {
        ch_msg_done(m, 0, NULL);
        return;
    }
    if (rc != 0)
        ch_msg_done(m, CH_EAGAIN, "redis unavailable");
}

void
notify_intake_resend(notify *n, const notify_resend *r, notify_resend_done_fn done, void *opaque)
{
    intake *j = calloc(1, sizeof(*j));
    if (!j) {
        done(opaque, CH_EAGAIN, "out of memory");
        return;
    }
    *j = (intake){.n = n, .kind = r->kind, .kind_name = r->kind_name, .slot = -1};
    j->done = done;
    j->done_arg = opaque;
    j->c = *r->c;
    j->c.loaded = 1;
    if (r->appt_s)
        j->appt_s = r->appt_s;
    snprintf(j->skip, sizeof(j->skip), "%s", r->skip);
    snprintf(j->tried, sizeof(j->tried), "%s", r->tried);
    snprintf(j->note, sizeof(j->note), "%s", r->note);
    charter__v1__timer_fired__init(&j->tf);
    j->tf.case_id = (char *)r->case_id;
    j->tf.organisation = (char *)r->organisation;
    j->tf.reference = (char *)r->reference;
    j->tf.case_type = j->c.case_type;
    j->tf.channel = ch_channel_from_name(j->c.inbound);
    if (r->target_s) {
        charter__v1__timestamp__init(&j->target);
        j->target.seconds = r->target_s;
        j->tf.target_at = &j->target;
    }
    j->t = &j->tf;
    if (name_it(j, r->what) == 0)
        read_record(j);
}
