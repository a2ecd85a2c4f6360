/*
 * The Kafka hand-off: the rendered message as a NotificationHandoff on
 * notify.handoff_topic ("{channel}" replaced by the message's channel),
 * keyed by notification id, for gateways that prefer to read Kafka. Sent
 * means Kafka acknowledged the write; a repeat after a crash carries the
 * same notification id, which gateways drop.
 */
#include <stdio.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/names.h"
#include "charter/v1/notification.pb-c.h"
#include "notify.h"

static void
delivered(void *opaque, int rc, int32_t partition, int64_t offset, const char *errstr)
{
    (void)partition;
    (void)offset;
    notify_job *j = opaque;
    char why[300] = "";
    if (rc != 0)
        snprintf(why, sizeof(why), "Kafka: %s", errstr ? errstr : "not delivered");
    notify_job_finished(j, rc == 0 ? NOTIFY_SENT : NOTIFY_TEMP, -1, why);
}

int
notify_send_kafka(notify_job *j)
{
    char topic[256];
    const char *pat = j->n->cfg->handoff_topic, *p = strstr(pat, "{channel}");
    if (p)
        snprintf(topic, sizeof(topic), "%.*s%s%s", (int)(p - pat), pat, j->channel, p + 9);
    else
        snprintf(topic, sizeof(topic), "%s", pat);
    Charter__V1__NotificationRequest rq;
    notify_job_request(j, &rq);
    Charter__V1__NotificationHandoff h = CHARTER__V1__NOTIFICATION_HANDOFF__INIT;
    char mid[256] = "";
    if (strcmp(j->channel, "email") == 0)
        notify_message_id(j->id, j->n->mail_domain, mid, sizeof(mid));
    h.request = &rq;
    h.recipient = j->to;
    h.subject = j->subject;
    h.body = j->body;
    h.message_id = mid;
    return ch_produce(j->n->rt, topic, j->id, &h.base, delivered, j);
}
