/*
 * Case events for tests (case_event.h): every kind of the oneof gets its own
 * message in the buffer, initialised only when it is the event's kind.
 */
#include <string.h>

#include "charter/timeutil.h"
#include "support/case_event.h"
#include "support/instant.h"

void
fx_set_ts(Charter__V1__Timestamp *ts, int64_t ms)
{
    charter__v1__timestamp__init(ts);
    ch_time_split_ms(ms, &ts->seconds, &ts->nanos);
}

Charter__V1__CaseEvent *
fx_case_event(fx_event_buf *b, Charter__V1__CaseEvent__EventCase kind, const char *case_id,
              const char *organisation, const char *when)
{
    memset(b, 0, sizeof(*b));
    charter__v1__case_event__init(&b->ev);
    fx_set_ts(&b->ts, fx_at(when));
    if (case_id)
        b->ev.case_id = (char *)case_id;
    if (organisation)
        b->ev.organisation = (char *)organisation;
    b->ev.occurred_at = &b->ts;
    b->ev.event_case = kind;
    switch (kind) {
    case CHARTER__V1__CASE_EVENT__EVENT_RECEIVED:
        charter__v1__received__init(&b->received);
        b->ev.received = &b->received;
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED:
        charter__v1__acknowledged__init(&b->acknowledged);
        b->ev.acknowledged = &b->acknowledged;
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_HOLDING_REPLY:
        charter__v1__holding_reply__init(&b->holding);
        b->ev.holding_reply = &b->holding;
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_PAUSED:
        charter__v1__paused__init(&b->paused);
        b->ev.paused = &b->paused;
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_RESUMED:
        charter__v1__resumed__init(&b->resumed);
        b->ev.resumed = &b->resumed;
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_RESPONDED:
        charter__v1__responded__init(&b->responded);
        b->ev.responded = &b->responded;
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_CLOSED:
        charter__v1__closed__init(&b->closed);
        b->ev.closed = &b->closed;
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_ESCALATED:
        charter__v1__escalated__init(&b->escalated);
        b->ev.escalated = &b->escalated;
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_APPOINTMENT:
        charter__v1__appointment__init(&b->appointment);
        b->ev.appointment = &b->appointment;
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_CALL:
        charter__v1__call__init(&b->call);
        b->ev.call = &b->call;
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_VISIT:
        charter__v1__visit__init(&b->visit);
        b->ev.visit = &b->visit;
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_COMMUNICATION_SUPPORT:
        charter__v1__communication_support__init(&b->support);
        b->ev.communication_support = &b->support;
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_CALLBACK:
        charter__v1__callback__init(&b->callback);
        b->ev.callback = &b->callback;
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_REVIEWED:
        charter__v1__reviewed__init(&b->reviewed);
        b->ev.reviewed = &b->reviewed;
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_SATISFACTION:
        charter__v1__satisfaction__init(&b->satisfaction);
        b->ev.satisfaction = &b->satisfaction;
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_CUSTOMER_MESSAGE:
        charter__v1__customer_message__init(&b->customer_message);
        b->ev.customer_message = &b->customer_message;
        break;
    default:
        break;
    }
    return &b->ev;
}
