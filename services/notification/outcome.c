/*
 * Outcome events and dead letters (see outcome.h), from a notify_message so
 * the intake (before a send) and the queue (after one) say the same thing
 * the same way.
 */
#include "outcome.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/names.h"
#include "charter/topics.h"
#include "charter/v1/case_event.pb-c.h"
#include "charter/timeutil.h"
#include "charter/v1/dead_letter.pb-c.h"
#include "charter/v1/notification.pb-c.h"

int
notify_outcome(notify *n, const notify_message *m, const char *transport, int status,
               const char *reason, int attempt, ch_produce_cb cb, void *opaque)
{
    Charter__V1__NotificationOutcome o = CHARTER__V1__NOTIFICATION_OUTCOME__INIT;
    Charter__V1__Timestamp at = CHARTER__V1__TIMESTAMP__INIT;
    ch_time_split_ms(ch_time_now_ms(), &at.seconds, &at.nanos);
    const char *name = ch_outcome_status_name((Charter__V1__NotificationOutcome__Status)status);
    char event_id[300];
    if (attempt > 0)
        snprintf(event_id, sizeof(event_id), "%s/%s/%d", m->id, name, attempt);
    else
        snprintf(event_id, sizeof(event_id), "%s/%s", m->id, name);
    o.event_id = event_id;
    o.notification_id = (char *)m->id;
    o.case_id = (char *)m->case_id;
    o.organisation = (char *)m->organisation;
    o.kind = (Charter__V1__NotificationKind)m->kind;
    o.status = (Charter__V1__NotificationOutcome__Status)status;
    o.channel = ch_channel_from_name(m->channel);
    o.transport = (char *)transport;
    o.reason = (char *)(reason ? reason : "");
    o.occurred_at = &at;
    o.reference = (char *)m->reference;
    return ch_produce(n->rt, n->cfg->outcomes_topic, m->case_id, &o.base, cb, opaque);
}

void
notify_acknowledged(notify *n, const notify_message *m, int64_t sent_ms)
{
    Charter__V1__CaseEvent ev = CHARTER__V1__CASE_EVENT__INIT;
    Charter__V1__Acknowledged a = CHARTER__V1__ACKNOWLEDGED__INIT;
    Charter__V1__Timestamp at = CHARTER__V1__TIMESTAMP__INIT, now = CHARTER__V1__TIMESTAMP__INIT;
    ch_time_split_ms(sent_ms, &at.seconds, &at.nanos);
    ch_time_split_ms(ch_time_now_ms(), &now.seconds, &now.nanos);
    char event_id[300];
    snprintf(event_id, sizeof(event_id), "%s/acknowledged", m->id);
    a.channel = ch_channel_from_name(m->channel);
    a.by = "automatic";
    a.notification_id = (char *)m->id;
    ev.event_id = event_id;
    ev.case_id = (char *)m->case_id;
    ev.organisation = (char *)m->organisation;
    ev.occurred_at = &at;
    ev.source = "notification";
    ev.ingested_at = &now;
    ev.event_case = CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED;
    ev.acknowledged = &a;
    if (ch_produce(n->rt, CH_TOPIC_CONTACT_EVENTS, m->case_id, &ev.base, NULL, NULL) != 0)
        CH_LOG_ERROR(ch_runtime_log(n->rt), "acknowledged event not produced",
                     CH_STR("notification_id", m->id));
}

void
notify_dead_letter(notify *n, const notify_message *m, const char *source, const char *reason)
{
    Charter__V1__NotificationRequest rq;
    notify_message_request(m, &rq);
    size_t len = charter__v1__notification_request__get_packed_size(&rq);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return;
    charter__v1__notification_request__pack(&rq, buf);
    Charter__V1__DeadLetter dl = CHARTER__V1__DEAD_LETTER__INIT;
    Charter__V1__Timestamp at = CHARTER__V1__TIMESTAMP__INIT;
    ch_time_split_ms(ch_time_now_ms(), &at.seconds, &at.nanos);
    dl.service = "notification";
    dl.source_topic = (char *)source;
    dl.source_partition = -1;
    dl.source_offset = -1;
    dl.original_key.data = (uint8_t *)m->id;
    dl.original_key.len = strlen(m->id);
    dl.original_value.data = buf;
    dl.original_value.len = len;
    dl.reason = (char *)reason;
    dl.failed_at = &at;
    ch_produce(n->rt, n->cfg->dlq_topic, m->case_id, &dl.base, NULL, NULL);
    free(buf);
}
