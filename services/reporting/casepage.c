/*
 * A case's page record (casepage.h says what it holds and why it is apart
 * from the case's state): one record applied to it, read back, and the
 * words the queue and the page use for times.
 */
#include "casepage.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/civil.h"
#include "charter/errors.h"
#include "charter/names.h"
#include "charter/v1/case_event.pb-c.h"
#include "charter/v1/notification.pb-c.h"
#include "charter/v1/timer.pb-c.h"

static int64_t
ts_ms(const Charter__V1__Timestamp *t)
{
    return t ? t->seconds * 1000 + t->nanos / 1000000 : 0;
}

static const char *
str_of(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* Sets o[k] to s unless s is empty or already the value; 1 when it changed. */
static int
set_str(json_t *o, const char *k, const char *s)
{
    if (!s || !s[0] || strcmp(str_of(o, k), s) == 0)
        return 0;
    json_object_set_new(o, k, json_string(s));
    return 1;
}

static int
set_int(json_t *o, const char *k, int64_t v)
{
    if (json_integer_value(json_object_get(o, k)) == v && json_object_get(o, k))
        return 0;
    json_object_set_new(o, k, json_integer(v));
    return 1;
}

static json_t *
list_of(json_t *rec, const char *k)
{
    json_t *a = json_object_get(rec, k);
    if (!json_is_array(a)) {
        a = json_array();
        json_object_set_new(rec, k, a);
    }
    return a;
}

static json_t *
find_by_id(json_t *a, const char *id)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) if (strcmp(str_of(v, "id"), id) == 0) return v;
    return NULL;
}

/* Inserts item (taken) in a by "at", after items of the same time; drops
 * the oldest beyond max. Returns 1 (changed). */
static int
insert_by_time(json_t *a, json_t *item, size_t max)
{
    int64_t at = json_integer_value(json_object_get(item, "at"));
    size_t i = json_array_size(a);
    while (i > 0 && json_integer_value(json_object_get(json_array_get(a, i - 1), "at")) > at)
        i--;
    json_array_insert_new(a, i, item);
    while (json_array_size(a) > max)
        json_array_remove(a, 0);
    return 1;
}

/* At most max bytes of s, cut at a UTF-8 boundary, into a new string. */
static json_t *
cut_text(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    return json_stringn(s, n);
}

/* Who did it, where the event says; else where it came in. */
static void
who_of(const Charter__V1__CaseEvent *ev, char *buf, size_t bufsz)
{
    const char *by = NULL;
    switch (ev->event_case) {
    case CHARTER__V1__CASE_EVENT__EVENT_RECEIVED:
    case CHARTER__V1__CASE_EVENT__EVENT_CUSTOMER_MESSAGE:
        by = "customer";
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED:
        by = ev->acknowledged->by;
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_REVIEWED:
        by = ev->reviewed->by;
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_CALLBACK:
        by = ev->callback->by;
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_ASSIGNED:
        if (ev->assigned->team && ev->assigned->team[0])
            snprintf(buf, bufsz, "%s (%s)", ev->assigned->name, ev->assigned->team);
        else
            snprintf(buf, bufsz, "%s", ev->assigned->name);
        return;
    default:
        break;
    }
    if (by && by[0])
        snprintf(buf, bufsz, "%s", by);
    else
        snprintf(buf, bufsz, "via %s", ev->source && ev->source[0] ? ev->source : "unknown");
}

static int
apply_event(json_t *rec, const Charter__V1__CaseEvent *ev)
{
    int changed = set_str(rec, "case", ev->case_id) | set_str(rec, "org", ev->organisation);
    int64_t at = ts_ms(ev->occurred_at);
    switch (ev->event_case) {
    case CHARTER__V1__CASE_EVENT__EVENT_RECEIVED:
        changed |= set_str(rec, "ref", ev->received->reference);
        changed |= set_str(rec, "channel", ch_channel_name(ev->received->channel));
        changed |= set_str(rec, "type", ev->received->case_type);
        changed |= set_int(rec, "received", at);
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_CLOSED:
    case CHARTER__V1__CASE_EVENT__EVENT_ESCALATED:
        changed |= set_int(rec, "closed", 1);
        break;
    default:
        break;
    }
    json_t *events = list_of(rec, "events");
    if (!ev->event_id || !ev->event_id[0] || find_by_id(events, ev->event_id))
        return changed;
    if (ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_ASSIGNED) {
        /* the latest assignment by time owns the case */
        int64_t owned_at = json_integer_value(json_object_get(rec, "owned_at"));
        if (at >= owned_at) {
            json_object_set_new(rec, "owner", json_string(ev->assigned->name));
            json_object_set_new(rec, "team", json_string(ev->assigned->team));
            json_object_set_new(rec, "owned_at", json_integer(at));
        }
    }
    if (ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_CUSTOMER_MESSAGE) {
        const Charter__V1__CustomerMessage *m = ev->customer_message;
        json_t *msg = json_pack("{s:s,s:I,s:s,s:o,s:o,s:I}", "id", ev->event_id, "at",
                                (json_int_t)at, "channel", ch_channel_name(m->channel), "subject",
                                cut_text(m->subject ? m->subject : "", 200), "text",
                                cut_text(m->summary ? m->summary : "", REPORT_PAGE_TEXT_MAX),
                                "attachments", (json_int_t)m->n_attachments);
        if (msg)
            insert_by_time(list_of(rec, "messages"), msg, REPORT_PAGE_MESSAGES);
    }
    char who[300];
    who_of(ev, who, sizeof(who));
    json_t *item = json_pack("{s:s,s:s,s:I,s:s}", "id", ev->event_id, "type",
                             ch_case_event_name(ev->event_case), "at", (json_int_t)at, "by", who);
    return item ? insert_by_time(events, item, REPORT_PAGE_EVENTS) : changed;
}

static int
apply_timer(json_t *rec, const Charter__V1__TimerFired *t)
{
    int changed = set_str(rec, "case", t->case_id) | set_str(rec, "org", t->organisation) |
                  set_str(rec, "ref", t->reference);
    json_t *events = list_of(rec, "events");
    if (!t->timer_id || !t->timer_id[0] || find_by_id(events, t->timer_id))
        return changed;
    char type[64];
    snprintf(type, sizeof(type), "timer: %s", ch_timer_kind_name(t->kind));
    json_t *item = json_pack("{s:s,s:s,s:I,s:s}", "id", t->timer_id, "type", type, "at",
                             (json_int_t)ts_ms(t->due_at), "by", "sla-timer");
    return item ? insert_by_time(events, item, REPORT_PAGE_EVENTS) : changed;
}

static const char *
notice_kind_name(Charter__V1__NotificationKind k)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&charter__v1__notification_kind__descriptor, (int)k);
    static const char prefix[] = "NOTIFICATION_KIND_";
    return v && strncmp(v->name, prefix, sizeof(prefix) - 1) == 0 ? v->name + sizeof(prefix) - 1
                                                                  : "UNSPECIFIED";
}

static int
apply_outcome(json_t *rec, const Charter__V1__NotificationOutcome *o)
{
    int changed = set_str(rec, "case", o->case_id) | set_str(rec, "org", o->organisation) |
                  set_str(rec, "ref", o->reference);
    const char *id = o->notification_id && o->notification_id[0] ? o->notification_id : o->event_id;
    if (!id || !id[0])
        return changed;
    int64_t at = ts_ms(o->occurred_at);
    char kind[64];
    snprintf(kind, sizeof(kind), "%s", notice_kind_name(o->kind));
    for (char *p = kind; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    const char *status = ch_outcome_status_name(o->status);
    json_t *notices = list_of(rec, "notices");
    json_t *n = find_by_id(notices, id);
    if (n) {
        /* the latest outcome by time is the notice's status */
        if (json_integer_value(json_object_get(n, "at")) > at ||
            strcmp(str_of(n, "status"), status) == 0)
            return changed;
        json_object_set_new(n, "status", json_string(status));
        json_object_set_new(n, "at", json_integer(at));
        return 1;
    }
    json_t *item = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "id", id, "kind", kind, "channel",
                             ch_channel_name(o->channel), "status", status, "at", (json_int_t)at,
                             "transport", o->transport ? o->transport : "");
    return item ? insert_by_time(notices, item, REPORT_PAGE_NOTICES) : changed;
}

int
report_page_apply(const char *old, size_t len, const ProtobufCMessage *msg, int64_t due_ms,
                  char **out, char *ref, size_t refsz)
{
    *out = NULL;
    if (refsz)
        ref[0] = '\0';
    json_t *rec = old ? json_loadb(old, len, 0, NULL) : NULL;
    if (!json_is_object(rec)) {
        json_decref(rec);
        rec = json_object();
    }
    if (!rec)
        return CH_ENOMEM;
    int changed = !old;
    if (msg->descriptor == &charter__v1__case_event__descriptor)
        changed |= apply_event(rec, (const Charter__V1__CaseEvent *)msg);
    else if (msg->descriptor == &charter__v1__timer_fired__descriptor)
        changed |= apply_timer(rec, (const Charter__V1__TimerFired *)msg);
    else if (msg->descriptor == &charter__v1__notification_outcome__descriptor)
        changed |= apply_outcome(rec, (const Charter__V1__NotificationOutcome *)msg);
    if (due_ms >= 0)
        changed |= set_int(rec, "due", due_ms);
    int rc = 0;
    if (changed && !(*out = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS)))
        rc = CH_ENOMEM;
    if (refsz)
        snprintf(ref, refsz, "%s", str_of(rec, "ref"));
    json_decref(rec);
    return rc;
}

void
report_page_reference(const char *text, size_t len, char *buf, size_t bufsz)
{
    json_t *rec = text ? json_loadb(text, len, 0, NULL) : NULL;
    snprintf(buf, bufsz, "%s", json_is_object(rec) ? str_of(rec, "ref") : "");
    json_decref(rec);
}

static size_t
unit(char *buf, size_t bufsz, int64_t n, const char *name)
{
    int w = snprintf(buf, bufsz, "%lld %s%s", (long long)n, name, n == 1 ? "" : "s");
    return w < 0 ? 0 : (size_t)w < bufsz ? (size_t)w : bufsz - 1;
}

void
report_time_left(int64_t due_ms, int64_t now_ms, char *buf, size_t bufsz)
{
    int64_t s = (due_ms - now_ms) / 1000, a = s < 0 ? -s : s;
    if (a < 60) {
        snprintf(buf, bufsz, "due now");
        return;
    }
    static const struct {
        int64_t secs;
        const char *name;
    } units[] = {{86400, "day"}, {3600, "hour"}, {60, "minute"}};
    size_t k = 0;
    while (a < units[k].secs)
        k++;
    size_t w = unit(buf, bufsz, a / units[k].secs, units[k].name);
    int64_t rest = a % units[k].secs;
    if (k < 2 && rest >= units[k + 1].secs) {
        w += (size_t)snprintf(buf + w, bufsz - w, " ");
        w += unit(buf + w, bufsz - w, rest / units[k + 1].secs, units[k + 1].name);
    }
    snprintf(buf + w, bufsz - w, "%s", s < 0 ? " overdue" : " left");
}

void
report_local_words(int64_t local_s, char *buf, size_t bufsz)
{
    static const char *const days[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                       "Friday", "Saturday", "Sunday"};
    static const char *const months[] = {"January",   "February", "March",    "April",
                                         "May",       "June",     "July",     "August",
                                         "September", "October",  "November", "December"};
    int32_t day = ch_civil_day_of(local_s);
    int64_t sec = ch_civil_second_of_day(local_s);
    int y, m, d;
    ch_civil_from_day(day, &y, &m, &d);
    snprintf(buf, bufsz, "%s %d %s %d, %02d:%02d", days[ch_weekday(day)], d, months[m - 1], y,
             (int)(sec / 3600), (int)(sec / 60 % 60));
}
