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

int
ch_report_counts_of(const ProtobufCMessage *msg, ch_report_counted *out)
{
    memset(out, 0, sizeof(*out));
    if (msg->descriptor == &charter__v1__case_event__descriptor) {
        const Charter__V1__CaseEvent *ev = (const Charter__V1__CaseEvent *)msg;
        out->organisation = ev->organisation;
        out->case_id = ev->case_id;
        out->event_id = ev->event_id;
        snprintf(out->names[out->nnames++], sizeof(out->names[0]), "%s",
                 ch_case_event_name(ev->event_case));
        if (ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_RECEIVED)
            snprintf(out->names[out->nnames++], sizeof(out->names[0]), "received.%s",
                     ch_channel_name(ev->received->channel));
        return 0;
    }
    if (msg->descriptor == &charter__v1__timer_fired__descriptor) {
        const Charter__V1__TimerFired *t = (const Charter__V1__TimerFired *)msg;
        out->organisation = t->organisation;
        out->case_id = t->case_id;
        out->event_id = t->timer_id;
        snprintf(out->names[out->nnames++], sizeof(out->names[0]), "timers.%s",
                 ch_timer_kind_name(t->kind));
        return 0;
    }
    if (msg->descriptor == &charter__v1__notification_outcome__descriptor) {
        const Charter__V1__NotificationOutcome *o = (const Charter__V1__NotificationOutcome *)msg;
        out->organisation = o->organisation;
        out->case_id = o->case_id;
        out->event_id = o->event_id;
        snprintf(out->names[out->nnames++], sizeof(out->names[0]), "notifications.%s",
                 ch_outcome_status_name(o->status));
        return 0;
    }
    return CH_EINVAL;
}

int
ch_report_count_is_event(const char *name)
{
    return !strchr(name, '.') || strncmp(name, "timers.", 7) == 0 ||
           strncmp(name, "notifications.", 14) == 0;
}
