/*
 * Reporting's running counts (report_counts.h says what they count). The
 * names come from the one names table (names.h), so a count is spelled as
 * the event, the timer kind or the outcome status is everywhere else.
 */
#include "charter/report_counts.h"

#include <stdio.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/names.h"
#include "charter/report_delivery.h"

int
ch_report_counts_of(const ProtobufCMessage *msg, ch_report_counted *out)
{
    const char *prefix, *name, *channel = NULL;
    const Charter__V1__NotificationOutcome *outcome = NULL;
    if (msg->descriptor == &charter__v1__case_event__descriptor) {
        const Charter__V1__CaseEvent *ev = (const Charter__V1__CaseEvent *)msg;
        *out = (ch_report_counted){
            .organisation = ev->organisation, .case_id = ev->case_id, .event_id = ev->event_id};
        prefix = "";
        name = ch_case_event_name(ev->event_case);
        if (ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_RECEIVED)
            channel = ch_channel_name(ev->received->channel);
    } else if (msg->descriptor == &charter__v1__timer_fired__descriptor) {
        const Charter__V1__TimerFired *t = (const Charter__V1__TimerFired *)msg;
        *out = (ch_report_counted){
            .organisation = t->organisation, .case_id = t->case_id, .event_id = t->timer_id};
        prefix = "timers.";
        name = ch_timer_kind_name(t->kind);
    } else if (msg->descriptor == &charter__v1__notification_outcome__descriptor) {
        const Charter__V1__NotificationOutcome *o = (const Charter__V1__NotificationOutcome *)msg;
        *out = (ch_report_counted){
            .organisation = o->organisation, .case_id = o->case_id, .event_id = o->event_id};
        prefix = "notifications.";
        name = ch_outcome_status_name(o->status);
        outcome = o;
    } else {
        memset(out, 0, sizeof(*out));
        return CH_EINVAL;
    }
    snprintf(out->names[out->nnames++], sizeof(out->names[0]), "%s%s", prefix, name);
    if (channel) /* a received event is counted by its channel too */
        snprintf(out->names[out->nnames++], sizeof(out->names[0]), "received.%s", channel);
    if (outcome) {
        _Static_assert(CH_REPORT_DELIVERY_NAME_MAX == CH_REPORT_COUNT_NAME_MAX, "one name size");
        char delivery[2][CH_REPORT_DELIVERY_NAME_MAX];
        size_t n = ch_report_delivery_names(outcome, delivery);
        for (size_t i = 0; i < n; i++)
            memcpy(out->names[out->nnames++], delivery[i], sizeof(out->names[0]));
    }
    return 0;
}

int
ch_report_count_is_event(const char *name)
{
    return !strchr(name, '.') || strncmp(name, "timers.", 7) == 0 ||
           strncmp(name, "notifications.", 14) == 0;
}
