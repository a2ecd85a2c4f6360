/*
 * The receipts chain (receipts.h), one callback per answer:
 *
 *   receipt -> claim the delivery record (script) -> [contact] -> plan
 *     (fallback.c) -> outcome on Kafka -> [fallback or resend queued
 *     (intake.c)] -> settle the record -> done
 *
 * The claim is one Lua script, so two receipts of one notice read at once
 * cannot both act on it.
 */
#include "receipts.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/names.h"
#include "charter/timeutil.h"
#include "contact.h"
#include "fallback.h"
#include "intake.h"
#include "outcome.h"
#include "queue.h"

#define RECEIPT_LEASE_MS 60000
#define S_DELIVERED CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_DELIVERED
#define S_FAILED CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_FAILED

/* KEYS: the delivery record. ARGV: status, lease ms. Returns {"none"},
 * {"settled", status}, {"busy"} or {"go", field, value, ...}. */
static const char claim_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return {'none'} end\n"
    "local st = redis.call('HMGET', KEYS[1], 'receipt', 'receipt_at', 'settled')\n"
    "if st[3] then return {'settled', st[1] or ''} end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "if st[1] and st[2] and now - tonumber(st[2]) < tonumber(ARGV[2]) then return {'busy'} end\n"
    "redis.call('HSET', KEYS[1], 'receipt', ARGV[1], 'receipt_at', now)\n"
    "local all = redis.call('HGETALL', KEYS[1])\n"
    "table.insert(all, 1, 'go')\n"
    "return all\n";

enum {
    D_CASE_ID,
    D_ORGANISATION,
    D_REFERENCE,
    D_KIND,
    D_KIND_NAME,
    D_CHANNEL,
    D_TRANSPORT,
    D_LANGUAGE,
    D_META,
    D_TRIED,
    D_NOTE,
    D_NFIELDS
};
static const char *const d_name[D_NFIELDS] = {"case_id",   "organisation", "reference", "kind",
                                              "kind_name", "channel",      "transport", "language",
                                              "meta",      "tried",        "note"};

/* One receipt on its way. */
typedef struct {
    notify *n;
    ch_msg *m;
    notify_ids ids;
    char key[sizeof(((notify_ids *)0)->idem_key) + 16];
    char *d[D_NFIELDS];
    char provider_reason[400];
    int status; /* Charter__V1__DeliveryReceipt__Status */
    notify_receipt_plan plan;
    notify_contact c;
} rcpt;

static void
rcpt_end(rcpt *x, int rc, const char *reason)
{
    ch_msg *m = x->m;
    for (int i = 0; i < D_NFIELDS; i++)
        free(x->d[i]);
    free(x);
    ch_msg_done(m, rc, reason);
}

/* The notice as a message, for its outcome (borrowing x's strings). */
static notify_message
message_of(const rcpt *x)
{
    return (notify_message){
        .id = x->ids.id,
        .case_id = x->d[D_CASE_ID],
        .organisation = x->d[D_ORGANISATION],
        .reference = x->d[D_REFERENCE],
        .kind = atoi(x->d[D_KIND]),
        .kind_name = x->d[D_KIND_NAME],
        .channel = x->d[D_CHANNEL],
        .language = x->d[D_LANGUAGE],
        .to = "",
        .subject = "",
        .body = "",
        .message_id = "",
        .meta = x->d[D_META],
    };
}

static void
settled(void *opaque, redisReply *reply)
{
    rcpt *x = opaque;
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        rcpt_end(x, CH_EAGAIN, "could not settle the notice's delivery record");
    else
        rcpt_end(x, 0, NULL);
}

static void
settle(rcpt *x)
{
    if (ch_redis_command(x->n->rt, settled, x, "HSET %s settled 1", x->key) != 0)
        rcpt_end(x, CH_EAGAIN, "redis unavailable");
}

static void
resent(void *opaque, int rc, const char *reason)
{
    rcpt *x = opaque;
    if (rc != 0) {
        rcpt_end(x, rc, reason);
        return;
    }
    ch_metric_add(x->n->m_fallbacks, 1);
    settle(x);
}

/* An ISO time of the meta JSON (the notice's target_at, appointment_at), in
 * seconds, or 0. */
static int64_t
meta_time(const char *meta, const char *field)
{
    json_t *o = json_loads(meta, 0, NULL);
    const char *v = json_string_value(json_object_get(o, field));
    int64_t ms = 0;
    if (!v || ch_time_parse_rfc3339(v, &ms) != 0)
        ms = 0;
    json_decref(o);
    return ms / 1000;
}

static void
outcome_produced(void *opaque, int rc, int32_t partition, int64_t offset, const char *errstr)
{
    (void)partition;
    (void)offset;
    rcpt *x = opaque;
    if (rc != 0) {
        rcpt_end(x, CH_EAGAIN, errstr);
        return;
    }
    const notify_receipt_plan *p = &x->plan;
    if (p->step == NOTIFY_RECEIPT_DELIVERED || p->step == NOTIFY_RECEIPT_FAILED) {
        settle(x);
        return;
    }
    CH_LOG_INFO(ch_runtime_log(x->n->rt),
                p->step == NOTIFY_RECEIPT_RESEND ? "notice sent again after a receipt"
                                                 : "notice falls back after a receipt",
                CH_STR("notification_id", x->ids.id), CH_STR("status", p->status),
                CH_STR("channel", p->channel ? p->channel : "(none: staff told)"),
                CH_STR("what", p->what));
    notify_resend r = {
        .case_id = x->d[D_CASE_ID],
        .organisation = x->d[D_ORGANISATION],
        .reference = x->d[D_REFERENCE],
        .kind = atoi(x->d[D_KIND]),
        .kind_name = x->d[D_KIND_NAME],
        .what = p->what,
        .skip = p->skip,
        .tried = p->tried,
        .note = p->note,
        .target_s = meta_time(x->d[D_META], "target_at"),
        .appt_s = meta_time(x->d[D_META], "appointment_at"),
        .c = &x->c,
    };
    notify_intake_resend(x->n, &r, resent, x);
}

/* The plan made (x->plan): its outcome for the notice. */
static void
act(rcpt *x)
{
    notify *n = x->n;
    const notify_receipt_plan *p = &x->plan;
    if (p->step == NOTIFY_RECEIPT_DELIVERED) {
        ch_metric_add(n->m_delivered, 1);
    } else {
        ch_metric_add(n->m_undelivered, 1);
        CH_LOG_WARN(ch_runtime_log(n->rt), "notice not delivered",
                    CH_STR("notification_id", x->ids.id), CH_STR("status", p->status),
                    CH_STR("channel", x->d[D_CHANNEL]), CH_STR("reason", p->reason));
    }
    notify_message msg = message_of(x);
    int status = p->step == NOTIFY_RECEIPT_DELIVERED ? S_DELIVERED : S_FAILED;
    const char *reason = p->step == NOTIFY_RECEIPT_DELIVERED ? x->provider_reason : p->reason;
    if (notify_outcome(n, &msg, x->d[D_TRANSPORT], status, reason, 0, outcome_produced, x) != 0)
        rcpt_end(x, CH_EAGAIN, "kafka not accepting writes");
}

static int
make_plan(rcpt *x, const notify_contact *c)
{
    const ch_org_clocks *oc = notify_org(x->n, x->d[D_ORGANISATION]);
    const char *what = strchr(x->ids.id, '/') + 1;
    return notify_receipt_plan_make(x->status, what, x->d[D_CHANNEL], x->d[D_TRIED],
                                    x->provider_reason, oc, c, &x->plan);
}

static void
contact_loaded(void *opaque, redisReply *reply)
{
    rcpt *x = opaque;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        rcpt_end(x, CH_EAGAIN, "could not read the contact details");
        return;
    }
    notify_contact_from_reply(&x->c, reply);
    /* no `received` recorded any more: the case closed and its details went */
    if (make_plan(x, x->c.inbound[0] ? &x->c : NULL) != 0) {
        rcpt_end(x, CH_EBADMSG, "unknown receipt status");
        return;
    }
    act(x);
}

static void
claimed(void *opaque, redisReply *reply)
{
    rcpt *x = opaque;
    notify *n = x->n;
    const ch_log *lg = ch_runtime_log(n->rt);
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
        reply->element[0]->type != REDIS_REPLY_STRING) {
        rcpt_end(x, CH_EAGAIN, reply && reply->str ? reply->str : "redis unavailable");
        return;
    }
    const char *what = reply->element[0]->str;
    if (strcmp(what, "none") == 0) {
        ch_metric_add(n->m_receipts_unmatched, 1);
        CH_LOG_WARN(lg, "receipt for no notice Charter keeps a delivery record of: dropped",
                    CH_STR("notification_id", x->ids.id),
                    CH_STR("reason", "not a customer notice, older than 30 days, or not ours"));
        rcpt_end(x, 0, NULL);
        return;
    }
    if (strcmp(what, "settled") == 0) {
        ch_metric_add(n->m_receipts_repeated, 1);
        CH_LOG_INFO(lg, "receipt for a notice already settled by one: dropped",
                    CH_STR("notification_id", x->ids.id),
                    CH_STR("settled_by", reply->elements > 1 && reply->element[1]->str
                                             ? reply->element[1]->str
                                             : ""));
        rcpt_end(x, 0, NULL);
        return;
    }
    if (strcmp(what, "busy") == 0) {
        rcpt_end(x, CH_EAGAIN, "another receipt of this notice is being handled");
        return;
    }
    for (int f = 0; f < D_NFIELDS; f++) {
        const char *v = "";
        for (size_t i = 1; i + 1 < reply->elements; i += 2)
            if (reply->element[i]->str && strcmp(reply->element[i]->str, d_name[f]) == 0 &&
                reply->element[i + 1]->str)
                v = reply->element[i + 1]->str;
        if (!(x->d[f] = strdup(v))) {
            rcpt_end(x, CH_EAGAIN, "out of memory");
            return;
        }
    }
    if (x->status == CHARTER__V1__DELIVERY_RECEIPT__STATUS__STATUS_DELIVERED) {
        make_plan(x, NULL);
        act(x);
    } else if (notify_contact_load(n->rt, x->d[D_CASE_ID], contact_loaded, x) != 0) {
        rcpt_end(x, CH_EAGAIN, "redis unavailable");
    }
}

void
notify_receipt(notify *n, ch_msg *m, const Charter__V1__DeliveryReceipt *r)
{
    const char *status = notify_receipt_status_name(r->status);
    if (!status) {
        ch_msg_done(m, CH_EBADMSG, "receipt status unspecified or unknown");
        return;
    }
    rcpt *x = calloc(1, sizeof(*x));
    if (!x) {
        ch_msg_done(m, CH_EAGAIN, "out of memory");
        return;
    }
    x->n = n;
    x->m = m;
    x->status = r->status;
    if (notify_ids_parse(&x->ids, r->notification_id) != 0) {
        rcpt_end(x, CH_EBADMSG, "receipt's notification_id is not \"<case id>/<what>\"");
        return;
    }
    size_t cl = strcspn(x->ids.id, "/");
    if (r->case_id[0] && (strlen(r->case_id) != cl || strncmp(r->case_id, x->ids.id, cl) != 0)) {
        rcpt_end(x, CH_EBADMSG, "receipt's case_id is not its notification_id's case");
        return;
    }
    if (r->provider[0])
        snprintf(x->provider_reason, sizeof(x->provider_reason), "%s: %s", r->provider,
                 r->reason[0] ? r->reason : status);
    else
        snprintf(x->provider_reason, sizeof(x->provider_reason), "%s", r->reason);
    snprintf(x->key, sizeof(x->key), "%s" NOTIFY_DELIVERY_SUFFIX, x->ids.idem_key);
    char lease[24];
    snprintf(lease, sizeof(lease), "%d", RECEIPT_LEASE_MS);
    const char *argv[] = {x->key, status, lease};
    if (ch_redis_script_call(n->receipt_claim, claimed, x, 1, (int)CH_COUNTOF(argv), argv, NULL) !=
        0)
        rcpt_end(x, CH_EAGAIN, "redis unavailable");
}

int
notify_receipts_init(notify *n, char *errstr, size_t errstr_size)
{
    if (!(n->receipt_claim = ch_redis_script_new(n->rt, claim_lua))) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    return 0;
}
