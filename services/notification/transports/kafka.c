/*
 * The Kafka hand-off: the rendered message as a NotificationHandoff on
 * notify.handoff_topic ("{channel}" replaced by the message's channel),
 * keyed by notification id, for gateways that prefer to read Kafka. Sent
 * means Kafka acknowledged the write; a repeat after a crash carries the
 * same notification id (and, for email, the same Message-ID), which
 * gateways drop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/contact_fields.h"
#include "charter/errors.h"
#include "charter/runtime.h"
#include "charter/v1/notification.pb-c.h"
#include "list.h"
#include "transport.h"

typedef struct {
    char *topic;
    int64_t rate_per_s;
} kafka_config;

static const ch_config_entry kafka_keys[] = {
    CH_CFG_STR(kafka_config, topic, "notify.handoff_topic", "charter.notify.handoff.{channel}.v1",
               "Kafka hand-off topic; {channel} becomes email, sms or social"),
    NOTIFY_CFG_RATE(kafka_config, rate_per_s, "kafka", "hand-off records a second"),
};

/* A record whose delivery report has not come yet. */
typedef struct {
    notify_link link; /* first: in kafka.records */
    notify_link **records;
    notify_reply reply;
} record;

typedef struct {
    notify_transport_ctx base;
    notify_link *records;
} kafka;

static void
record_free(record *r)
{
    notify_list_remove(r->records, &r->link);
    free(r);
}

static void
delivered(void *opaque, int rc, int32_t partition, int64_t offset, const char *errstr)
{
    (void)partition;
    (void)offset;
    record *r = opaque;
    char why[300] = "";
    if (rc != 0)
        snprintf(why, sizeof(why), "Kafka: %s", errstr ? errstr : "not delivered");
    notify_reply reply = r->reply;
    record_free(r);
    notify_reply_sent(reply, rc == 0 ? NOTIFY_SENT : NOTIFY_TEMP, -1, why);
}

static int
kafka_send(void *tctx, const notify_message *m, notify_reply reply)
{
    kafka *k = tctx;
    const kafka_config *cfg = k->base.cfg;
    /* the gateway reading the hand-off texts this number: checked at ingest
     * too (charter/contact_fields.h), here again before it leaves, in E.164
     * even when it was recorded before ingest normalised numbers */
    const char *bad, *to = m->to;
    char number[CH_PHONE_E164_BUFSZ];
    if (strcmp(m->channel, "sms") == 0) {
        if (!ch_contact_phone_normalise(m->to, number, sizeof(number), &bad)) {
            char why[160];
            snprintf(why, sizeof(why), "the recipient is not a telephone number: %s", bad);
            notify_reply_sent(reply, NOTIFY_PERM, -1, why);
            return 0;
        }
        to = number;
    }
    char topic[256];
    const char *pat = cfg->topic, *p = strstr(pat, "{channel}");
    if (p)
        snprintf(topic, sizeof(topic), "%.*s%s%s", (int)(p - pat), pat, m->channel, p + 9);
    else
        snprintf(topic, sizeof(topic), "%s", pat);
    record *r = calloc(1, sizeof(*r));
    if (!r)
        return CH_ENOMEM;
    *r = (record){.records = &k->records, .reply = reply};
    notify_list_push(&k->records, &r->link);
    Charter__V1__NotificationRequest rq;
    notify_message_request(m, &rq);
    Charter__V1__NotificationHandoff h = CHARTER__V1__NOTIFICATION_HANDOFF__INIT;
    h.request = &rq;
    h.recipient = (char *)to;
    h.subject = (char *)m->subject;
    h.body = (char *)m->body;
    h.message_id = (char *)m->message_id;
    int rc = ch_produce(k->base.rt, topic, m->id, &h.base, delivered, r);
    if (rc != 0)
        record_free(r);
    return rc;
}

static int
kafka_init(void **tctx, const void *cfg, ch_runtime *rt, char *errstr, size_t errstr_size)
{
    return notify_transport_ctx_new(tctx, sizeof(kafka), cfg, rt, errstr, errstr_size);
}

static void
kafka_cancel_all(void *tctx)
{
    kafka *k = tctx;
    while (k->records)
        record_free((record *)k->records);
}

static void
kafka_fini(void *tctx)
{
    if (tctx)
        kafka_cancel_all(tctx);
    free(tctx);
}

const notify_transport notify_transport_kafka = {
    .name = "kafka",
    .channels = NOTIFY_CH_EMAIL | NOTIFY_CH_SMS | NOTIFY_CH_SOCIAL,
    .staff_by_role = 1,
    NOTIFY_TRANSPORT_CONFIG(kafka_keys, kafka_config),
    .check = notify_transport_no_check,
    .init = kafka_init,
    .send = kafka_send,
    .cancel_all = kafka_cancel_all,
    .fini = kafka_fini,
    .rate_key = "notify.kafka.rate_per_s",
};
