/*
 * A delivered message's fate, for one recipient (mail_deliver.h).
 *
 *   IGNORED, or anything but a bounce from the null sender <>
 *                -> 250, no event; counted and logged at info with the why
 *   INVALID      -> 554 5.6.0 with the why (250 from <>: nobody to tell)
 *   BOUNCE       -> a DeliveryReceipt on ingest.receipts_topic, 250 once
 *                   Kafka confirmed it
 *   REPLY        -> a CustomerMessage on the case: a notice's id in
 *                   In-Reply-To/References carries the case id itself; a
 *                   reference in the subject is looked up in the case
 *                   directory, and one unknown, or of another organisation,
 *                   makes the message NEW
 *   NEW          -> a Received contact for the mailbox's organisation and
 *                   case type
 *
 * Events go through the pipeline (item_start/item_produce) as gateway
 * "mail" with the Message-ID as gateway_message_id, so a redelivery is
 * answered from the claim (250, nothing produced) and a write Kafka did not
 * confirm is answered 451: the MTA keeps the message and retries. A
 * Message-ID longer than the pipeline takes, or none at all, is replaced by
 * "sha256:" and the hash of the Message-ID (or of the whole message).
 *
 * A receipt is not claimed: its event id is derived from the bounce's
 * Message-ID and the notice, so a redelivered bounce is the same receipt,
 * which notification drops as a repeat.
 */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/policy_store.h"
#include "charter/timeutil.h"
#include "charter/v1/notification.pb-c.h"
#include "directory.h"
#include "ingest.h"
#include "mail_deliver.h"

typedef struct {
    ingest *in;
    const ingest_mail_metrics *mm;
    const ingest_mail *msg;
    ingest_mail_rcpt r;
    char gwid[CH_GATEWAY_MESSAGE_ID_MAX + 1];
    char source[CH_GATEWAY_ID_MAX + 8];
    ingest_mail_answer_fn fn;
    void *arg;
    int reply; /* the item is a CustomerMessage */
} job;

static void
finish(job *j, int code, const char *text)
{
    ingest_mail_answer_fn fn = j->fn;
    void *arg = j->arg;
    free(j);
    fn(arg, code, text);
}

static void
hex_sha256(const void *data, size_t len, char *out /* 65 */)
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256(data, len, d);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void
gateway_id(const ingest_mail *msg, const char *raw, size_t raw_len, char *out, size_t outsz)
{
    const char *mid = msg->message_id;
    int usable = mid && *mid && strlen(mid) < outsz;
    for (const char *p = mid; usable && *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
            usable = 0;
    if (usable) {
        snprintf(out, outsz, "%s", mid);
        return;
    }
    char h[65];
    if (mid && *mid)
        hex_sha256(mid, strlen(mid), h);
    else
        hex_sha256(raw, raw_len, h);
    snprintf(out, outsz, "sha256:%s", h);
}

static char *
dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

static Charter__V1__Timestamp *
now_ts(void)
{
    Charter__V1__Timestamp *ts = malloc(sizeof(*ts));
    if (ts) {
        charter__v1__timestamp__init(ts);
        ch_time_split_ms(ch_time_now_ms(), &ts->seconds, &ts->nanos);
    }
    return ts;
}

static int
attachments(const ingest_mail *msg, Charter__V1__Attachment ***out, size_t *n)
{
    *n = 0;
    *out = NULL;
    if (!msg->nattachments)
        return 0;
    if (!(*out = calloc(msg->nattachments, sizeof(**out))))
        return -1;
    for (size_t i = 0; i < msg->nattachments; i++) {
        Charter__V1__Attachment *a = malloc(sizeof(*a));
        if (!a)
            return -1;
        charter__v1__attachment__init(a);
        (*out)[(*n)++] = a;
        if (!(a->name = dup_or_empty(msg->attachments[i].name)) ||
            !(a->content_type = dup_or_empty(msg->attachments[i].content_type)))
            return -1;
        a->size_bytes = msg->attachments[i].size_bytes;
    }
    return 0;
}

static Charter__V1__CaseEvent *
event_new(const char *org)
{
    Charter__V1__CaseEvent *ev = malloc(sizeof(*ev));
    if (!ev)
        return NULL;
    charter__v1__case_event__init(ev);
    if (!(ev->organisation = strdup(org)) || !(ev->occurred_at = now_ts())) {
        ch_event_json_free(ev);
        return NULL;
    }
    return ev;
}

static Charter__V1__CaseEvent *
contact_event(const job *j)
{
    const ingest_mail *m = j->msg;
    Charter__V1__CaseEvent *ev = event_new(j->r.org);
    if (!ev)
        return NULL;
    Charter__V1__Received *rc = malloc(sizeof(*rc));
    Charter__V1__Customer *cu = malloc(sizeof(*cu));
    if (!rc || !cu) {
        free(rc);
        free(cu);
        ch_event_json_free(ev);
        return NULL;
    }
    charter__v1__received__init(rc);
    charter__v1__customer__init(cu);
    ev->event_case = CHARTER__V1__CASE_EVENT__EVENT_RECEIVED;
    ev->received = rc;
    rc->customer = cu;
    rc->channel = CHARTER__V1__CHANNEL__CHANNEL_EMAIL;
    if (!(rc->case_type = strdup(j->r.case_type)) || !(rc->summary = dup_or_empty(m->text)) ||
        !(rc->subject = dup_or_empty(m->subject)) || !(rc->gateway_message_id = strdup(j->gwid)) ||
        !(rc->gateway_account = strdup(j->r.address)) ||
        !(cu->email = dup_or_empty(m->from_address)) || !(cu->name = dup_or_empty(m->from_name)) ||
        attachments(m, &rc->attachments, &rc->n_attachments) != 0) {
        ch_event_json_free(ev);
        return NULL;
    }
    return ev;
}

static Charter__V1__CaseEvent *
reply_event(const job *j)
{
    const ingest_mail *m = j->msg;
    Charter__V1__CaseEvent *ev = event_new(j->r.org);
    if (!ev)
        return NULL;
    Charter__V1__CustomerMessage *cm = malloc(sizeof(*cm));
    if (!cm) {
        ch_event_json_free(ev);
        return NULL;
    }
    charter__v1__customer_message__init(cm);
    ev->event_case = CHARTER__V1__CASE_EVENT__EVENT_CUSTOMER_MESSAGE;
    ev->customer_message = cm;
    cm->channel = CHARTER__V1__CHANNEL__CHANNEL_EMAIL;
    if (!(cm->gateway_message_id = strdup(j->gwid)) || !(cm->summary = dup_or_empty(m->text)) ||
        !(cm->subject = dup_or_empty(m->subject)) || !(cm->from = dup_or_empty(m->from_address)) ||
        !(cm->in_reply_to = strdup(m->notification_id)) ||
        attachments(m, &cm->attachments, &cm->n_attachments) != 0) {
        ch_event_json_free(ev);
        return NULL;
    }
    return ev;
}

/* ---- through the pipeline ---- */

static void
item_done(item *it)
{
    job *j = it->owner;
    int status = it->status;
    char text[200];
    if (status == 202 || status == 200) {
        if (status == 202)
            ch_metric_add(j->reply ? j->mm->m_replies : j->mm->m_contacts, 1);
        if (j->reply)
            snprintf(text, sizeof(text), "2.0.0 Ok: added to case %s%s", it->case_id,
                     status == 200 ? " (already received)" : "");
        else
            snprintf(text, sizeof(text), "2.0.0 Ok: case %s id %s%s", it->reference, it->case_id,
                     status == 200 ? " (already received)" : "");
        item_free(it);
        finish(j, 250, text);
        return;
    }
    if (status == 503 || status == 409 || status == 403 ||
        !strcmp(it->err.code, "unknown_organisation") ||
        !strcmp(it->err.code, "unknown_case_type")) {
        /* unavailable, being written, or our configuration: the MTA keeps it */
        CH_LOG_INFO(ch_runtime_log(j->in->rt), "mail deferred", CH_STR("code", it->err.code),
                    CH_STR("mailbox", j->r.address));
        ch_metric_add(j->mm->m_deferred, 1);
        snprintf(text, sizeof(text), "4.3.0 Not accepted now (%s); try again later", it->err.code);
        item_free(it);
        finish(j, 451, text);
        return;
    }
    CH_LOG_INFO(ch_runtime_log(j->in->rt), "mail refused", CH_STR("code", it->err.code),
                CH_STR("field", it->err.field), CH_STR("mailbox", j->r.address));
    ch_metric_add(j->mm->m_invalid, 1);
    snprintf(text, sizeof(text), "5.6.0 Not accepted: %s%s%s%s", it->err.code,
             it->err.field[0] ? " (field '" : "", it->err.field, it->err.field[0] ? "')" : "");
    item_free(it);
    finish(j, 554, text);
}

static void
item_ready(item *it)
{
    item_produce(it);
}

static void
start_item(job *j, Charter__V1__CaseEvent *ev, const char *case_id)
{
    if (!ev) {
        finish(j, 451, "4.3.0 Out of memory; try again later");
        return;
    }
    ch_event_json_meta meta;
    memset(&meta, 0, sizeof(meta));
    snprintf(meta.gateway_message_id, sizeof(meta.gateway_message_id), "%s", j->gwid);
    if (case_id)
        snprintf(meta.case_id, sizeof(meta.case_id), "%s", case_id);
    item *it = item_new(j->in, ev, &meta, INGEST_MAIL_GATEWAY, j->source);
    if (!it) {
        ch_event_json_free(ev);
        finish(j, 451, "4.3.0 Out of memory; try again later");
        return;
    }
    j->reply = case_id != NULL;
    item_own(it, j, item_ready, item_done, 1);
    item_start(it, case_id);
}

static void
by_reference(void *arg, int rc, const ingest_dir_case *c)
{
    job *j = arg;
    if (rc < 0) {
        ch_metric_add(j->mm->m_deferred, 1);
        finish(j, 451, "4.3.0 The case directory is unavailable; try again later");
        return;
    }
    if (!c->case_id[0] || strcmp(c->organisation, j->r.org) != 0) {
        CH_LOG_INFO(ch_runtime_log(j->in->rt),
                    "mail quotes a reference Charter does not know for this organisation; a new "
                    "contact",
                    CH_STR("organisation", j->r.org));
        start_item(j, contact_event(j), NULL);
        return;
    }
    start_item(j, reply_event(j), c->case_id);
}

/* A reply naming a notice: the notice's case, if it is this mailbox's
 * organisation's (a notice id is not a secret: one naming another
 * organisation's case, or a case the directory does not know, is not
 * trusted), else the quoted reference, else a new contact. */
static void
by_notice(void *arg, int rc, const ingest_dir_case *c)
{
    job *j = arg;
    if (rc < 0) {
        ch_metric_add(j->mm->m_deferred, 1);
        finish(j, 451, "4.3.0 The case directory is unavailable; try again later");
        return;
    }
    if (c->case_id[0] && strcmp(c->organisation, j->r.org) == 0) {
        start_item(j, reply_event(j), c->case_id);
        return;
    }
    CH_LOG_INFO(ch_runtime_log(j->in->rt),
                "mail answers a notice of a case Charter does not know for this organisation",
                CH_STR("organisation", j->r.org));
    if (j->msg->reference[0]) {
        ingest_dir_by_reference(j->in, j->msg->reference, by_reference, j);
        return;
    }
    start_item(j, contact_event(j), NULL);
}

/* ---- a bounce ---- */

static void
receipt_delivered(void *opaque, int rc, int32_t partition, int64_t offset, const char *errstr)
{
    (void)partition;
    (void)offset;
    job *j = opaque;
    if (rc != 0) {
        CH_LOG_WARN(ch_runtime_log(j->in->rt), "delivery receipt not written to Kafka",
                    CH_STR("error", errstr));
        ch_metric_add(j->mm->m_deferred, 1);
        finish(j, 451, "4.3.0 Not accepted now (Kafka); try again later");
        return;
    }
    ch_metric_add(j->mm->m_bounces, 1);
    finish(j, 250, "2.0.0 Ok: delivery report recorded");
}

static void
bounce_write(job *j)
{
    const ingest_mail *m = j->msg;
    char case_id[CH_CASE_ID_MAX + 1];
    size_t n = strcspn(m->notification_id, "/");
    memcpy(case_id, m->notification_id, n);
    case_id[n] = '\0';
    if (!ch_runtime_kafka_up(j->in->rt)) {
        ch_metric_add(j->mm->m_deferred, 1);
        finish(j, 451, "4.3.0 Kafka is unavailable; try again later");
        return;
    }
    /* event id: a hash of the bounce and the notice, as a UUID's shape */
    char h[65], eid[CH_UUID_BUFSZ], key[CH_GATEWAY_MESSAGE_ID_MAX + 240];
    snprintf(key, sizeof(key), "%s|%s", j->gwid, m->notification_id);
    hex_sha256(key, strlen(key), h);
    snprintf(eid, sizeof(eid), "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
    Charter__V1__DeliveryReceipt dr = CHARTER__V1__DELIVERY_RECEIPT__INIT;
    Charter__V1__Timestamp ts = CHARTER__V1__TIMESTAMP__INIT;
    ch_time_split_ms(m->date_ms > 0 ? m->date_ms : ch_time_now_ms(), &ts.seconds, &ts.nanos);
    dr.event_id = eid;
    dr.notification_id = (char *)m->notification_id;
    dr.case_id = case_id;
    dr.organisation = j->r.org;
    dr.status = m->bounce_permanent
                    ? CHARTER__V1__DELIVERY_RECEIPT__STATUS__STATUS_PERMANENT_FAILURE
                    : CHARTER__V1__DELIVERY_RECEIPT__STATUS__STATUS_TEMPORARY_FAILURE;
    dr.channel = CHARTER__V1__CHANNEL__CHANNEL_EMAIL;
    dr.provider = "smtp";
    dr.provider_id = j->gwid;
    dr.reason = (char *)m->bounce_reason;
    dr.occurred_at = &ts;
    const ingest_mail_config *cfg = &j->in->cfg->mail;
    if (ch_produce(j->in->rt, cfg->receipts_topic, case_id, &dr.base, receipt_delivered, j) != 0) {
        ch_metric_add(j->mm->m_deferred, 1);
        finish(j, 451, "4.3.0 Kafka is not accepting writes; try again later");
        return;
    }
    CH_LOG_INFO(ch_runtime_log(j->in->rt), "a bounce of a notice",
                CH_STR("notification_id", m->notification_id),
                CH_STR("status", m->bounce_permanent ? "permanent_failure" : "temporary_failure"));
}

/* The bounced notice's case must be this mailbox's organisation's: a
 * notice id is not a secret, and a receipt makes notification try the
 * customer's next channel. */
static void
bounce_checked(void *arg, int rc, const ingest_dir_case *c)
{
    job *j = arg;
    if (rc < 0) {
        ch_metric_add(j->mm->m_deferred, 1);
        finish(j, 451, "4.3.0 The case directory is unavailable; try again later");
        return;
    }
    if (!c->case_id[0] || strcmp(c->organisation, j->r.org) != 0) {
        ch_metric_add(j->mm->m_ignored, 1);
        CH_LOG_INFO(ch_runtime_log(j->in->rt),
                    "mail ignored: a bounce of a notice Charter does not know for this "
                    "organisation",
                    CH_STR("mailbox", j->r.address), CH_STR("organisation", j->r.org));
        finish(j, 250, "2.0.0 Ok: no case (ignored)");
        return;
    }
    bounce_write(j);
}

static void
bounce(job *j)
{
    const ingest_mail *m = j->msg;
    char case_id[CH_CASE_ID_MAX + 1];
    size_t n = strcspn(m->notification_id, "/");
    if (n == 0 || n > CH_CASE_ID_MAX) {
        finish(j, 250, "2.0.0 Ok: ignored (no notice named)");
        return;
    }
    if (!m->bounce_permanent) {
        /* "Action: delayed": the sending server is still trying and will
         * report again if it gives up; a receipt now would make
         * notification fall back while the e-mail may yet arrive. */
        ch_metric_add(j->mm->m_ignored, 1);
        CH_LOG_INFO(ch_runtime_log(j->in->rt),
                    "mail ignored: a delay report about a notice (the sending server is still "
                    "trying)",
                    CH_STR("notification_id", m->notification_id));
        finish(j, 250, "2.0.0 Ok: no case (ignored)");
        return;
    }
    memcpy(case_id, m->notification_id, n);
    case_id[n] = '\0';
    ingest_dir_by_case(j->in, case_id, bounce_checked, j);
}

void
ingest_mail_deliver(ingest *in, const ingest_mail_metrics *mm, const ingest_mail *msg,
                    const char *raw, size_t raw_len, const char *sender, const ingest_mail_rcpt *r,
                    const char *source, ingest_mail_answer_fn fn, void *arg)
{
    job *j = calloc(1, sizeof(*j));
    if (!j) {
        fn(arg, 451, "4.3.0 Out of memory; try again later");
        return;
    }
    j->in = in;
    j->mm = mm;
    j->msg = msg;
    j->r = *r;
    j->fn = fn;
    j->arg = arg;
    snprintf(j->source, sizeof(j->source), "%s", source);
    gateway_id(msg, raw, raw_len, j->gwid, sizeof(j->gwid));
    ch_metric_add(mm->m_messages, 1);

    const char *why = NULL;
    if (msg->kind == INGEST_MAIL_IGNORED)
        why = msg->why ? msg->why : "ignored";
    else if (!sender[0] && msg->kind != INGEST_MAIL_BOUNCE)
        why = "from the null sender <> and not a delivery report about a notice";
    if (why) {
        ch_metric_add(mm->m_ignored, 1);
        CH_LOG_INFO(ch_runtime_log(in->rt), "mail ignored: no case", CH_STR("why", why),
                    CH_STR("mailbox", r->address), CH_STR("organisation", r->org));
        finish(j, 250, "2.0.0 Ok: no case (ignored)");
        return;
    }
    switch (msg->kind) {
    case INGEST_MAIL_INVALID: {
        ch_metric_add(mm->m_invalid, 1);
        char text[200];
        snprintf(text, sizeof(text), "5.6.0 The message cannot be read: %s",
                 msg->why ? msg->why : "unreadable");
        CH_LOG_INFO(ch_runtime_log(in->rt), "mail refused: unreadable",
                    CH_STR("why", msg->why ? msg->why : ""), CH_STR("mailbox", r->address));
        finish(j, 554, text);
        return;
    }
    case INGEST_MAIL_BOUNCE:
        bounce(j);
        return;
    case INGEST_MAIL_REPLY:
        if (msg->notification_id[0]) {
            char case_id[CH_CASE_ID_MAX + 1];
            size_t n = strcspn(msg->notification_id, "/");
            if (n > 0 && n <= CH_CASE_ID_MAX) {
                memcpy(case_id, msg->notification_id, n);
                case_id[n] = '\0';
                ingest_dir_by_case(in, case_id, by_notice, j);
                return;
            }
        }
        if (msg->reference[0]) {
            ingest_dir_by_reference(in, msg->reference, by_reference, j);
            return;
        }
        break;
    default:
        break;
    }
    start_item(j, contact_event(j), NULL);
}
