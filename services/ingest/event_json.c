/*
 * JSON -> CaseEvent. Every string placed in the event is a fresh heap copy,
 * so protobuf_c_message_free_unpacked() frees what we built exactly as it
 * frees what it unpacked: one free path for both.
 *
 * Each event type is one row of a table: its name, the fields it accepts and
 * a function that builds its part of the oneof. The envelope fields (type,
 * organisation, occurred_at, gateway_message_id and, in records, case_id) are
 * read once for all of them, so every type refuses unknown fields, names the
 * offending field and treats a missing organisation the same way.
 */
#include "event_json.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/names.h"
#include "charter/timeutil.h"
#include "token.h"

int
ch_event_json_valid_case_id(const char *s, size_t n)
{
    return ingest_token_valid(s, n, CH_CASE_ID_MAX, 0);
}

int
ch_event_json_next_line(const char *buf, size_t len, size_t *pos, const char **line,
                        size_t *line_len)
{
    if (*pos >= len)
        return 0;
    const char *start = buf + *pos;
    const char *nl = memchr(start, '\n', len - *pos);
    size_t n = nl ? (size_t)(nl - start) : len - *pos;
    *pos += n + (nl ? 1 : 0);
    if (n > 0 && start[n - 1] == '\r')
        n--;
    *line = start;
    *line_len = n;
    return 1;
}

static int failf(ch_json_error *err, int status, const char *code, const char *field,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
failf(ch_json_error *err, int status, const char *code, const char *field, const char *fmt, ...)
{
    err->status = status;
    snprintf(err->code, sizeof(err->code), "%s", code);
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return CH_EINVAL;
}

static int
oom(ch_json_error *err)
{
    return failf(err, 500, "internal", "", "out of memory");
}

/* Field reading: each helper names the field in its error. */
typedef struct {
    json_t *obj;
    const char *prefix; /* "" or "customer." */
    ch_json_error *err;
} reader;

static void
field_name(const reader *r, const char *key, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s%s", r->prefix, key);
}

/* Reads an optional or required string; absent or null leaves *out alone. */
static int
get_string(reader *r, const char *key, int required, char **out)
{
    char field[64];
    field_name(r, key, field, sizeof(field));
    json_t *v = json_object_get(r->obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            return failf(r->err, 422, "missing_field", field, "field '%s' is required", field);
        return 0;
    }
    if (!json_is_string(v))
        return failf(r->err, 422, "wrong_type", field, "field '%s' must be a string", field);
    char *copy = strdup(json_string_value(v));
    if (!copy)
        return oom(r->err);
    if (required && copy[0] == '\0') {
        free(copy);
        return failf(r->err, 422, "missing_field", field, "field '%s' must not be empty", field);
    }
    *out = copy;
    return 0;
}

static int
get_time(reader *r, const char *key, int required, Charter__V1__Timestamp **out)
{
    char field[64];
    field_name(r, key, field, sizeof(field));
    char *text = NULL;
    if (get_string(r, key, required, &text))
        return CH_EINVAL;
    if (!text)
        return 0;
    int64_t ms;
    int rc = ch_time_parse_rfc3339(text, &ms);
    free(text);
    if (rc)
        return failf(r->err, 422, "wrong_type", field,
                     "field '%s' must be an RFC 3339 date-time with an offset, e.g. "
                     "2026-11-23T09:15:00Z",
                     field);
    Charter__V1__Timestamp *ts = malloc(sizeof(*ts));
    if (!ts)
        return oom(r->err);
    charter__v1__timestamp__init(ts);
    ch_time_split_ms(ms, &ts->seconds, &ts->nanos);
    *out = ts;
    return 0;
}

static int
get_bool(reader *r, const char *key, protobuf_c_boolean *out)
{
    json_t *v = json_object_get(r->obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v)) {
        char field[64];
        field_name(r, key, field, sizeof(field));
        return failf(r->err, 422, "wrong_type", field, "field '%s' must be true or false", field);
    }
    *out = json_is_true(v);
    return 0;
}

/* An integer in [min, max]; *present says whether it was given. */
static int
get_int(reader *r, const char *key, int required, json_int_t min, json_int_t max, json_int_t *out,
        int *present)
{
    char field[64];
    field_name(r, key, field, sizeof(field));
    json_t *v = json_object_get(r->obj, key);
    *present = 0;
    if (!v || json_is_null(v)) {
        if (required)
            return failf(r->err, 422, "missing_field", field, "field '%s' is required", field);
        return 0;
    }
    if (!json_is_integer(v))
        return failf(r->err, 422, "wrong_type", field, "field '%s' must be a whole number", field);
    json_int_t i = json_integer_value(v);
    if (i < min || i > max)
        return failf(r->err, 422, "invalid_value", field, "field '%s' must be from %lld to %lld",
                     field, (long long)min, (long long)max);
    *out = i;
    *present = 1;
    return 0;
}

/*
 * A string that must be one of names[] (NULL-terminated); *out is its index
 * + 1, or left alone when the field is absent and optional.
 */
static int
get_choice(reader *r, const char *key, int required, const char *const *names, int *out)
{
    char *s = NULL;
    if (get_string(r, key, required, &s))
        return CH_EINVAL;
    if (!s)
        return 0;
    for (int i = 0; names[i]; i++) {
        if (strcmp(names[i], s) == 0) {
            free(s);
            *out = i + 1;
            return 0;
        }
    }
    char field[64], list[192] = "";
    field_name(r, key, field, sizeof(field));
    for (int i = 0; names[i]; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", names[i]);
    }
    failf(r->err, 422, "invalid_value", field, "field '%s' must be one of: %s (got '%.40s')", field,
          list, s);
    free(s);
    return CH_EINVAL;
}

static int
get_channel(reader *r, const char *key, int required, Charter__V1__Channel *out)
{
    char *name = NULL;
    if (get_string(r, key, required, &name))
        return CH_EINVAL;
    if (!name)
        return 0;
    Charter__V1__Channel ch = ch_channel_from_name(name);
    if (ch == CHARTER__V1__CHANNEL__CHANNEL_UNSPECIFIED) {
        char field[64];
        field_name(r, key, field, sizeof(field));
        failf(r->err, 422, "unknown_channel", field,
              "unknown channel '%.40s' (phone, voicemail, email, letter, online_form, social, "
              "visit, sms)",
              name);
        free(name);
        return CH_EINVAL;
    }
    free(name);
    *out = ch;
    return 0;
}

static int
get_case_id(reader *r, const char *key, int required, char **out)
{
    char *s = NULL;
    if (get_string(r, key, required, &s))
        return CH_EINVAL;
    if (!s)
        return 0;
    if (s[0] != '\0' && !ch_event_json_valid_case_id(s, strlen(s))) {
        free(s);
        char field[64];
        field_name(r, key, field, sizeof(field));
        return failf(r->err, 422, "invalid_value", field,
                     "field '%s' must be 1 to %d letters, digits, '-' or '_'", field,
                     CH_CASE_ID_MAX);
    }
    if (*out && *out != protobuf_c_empty_string)
        free(*out);
    *out = s;
    return 0;
}

/* Refuses any key not in one of the NULL-terminated lists (b may be NULL). */
static int
check_known(reader *r, const char *const *a, const char *const *b)
{
    const char *key;
    json_t *v;
    json_object_foreach(r->obj, key, v)
    {
        int ok = 0;
        for (const char *const *k = a; *k && !ok; k++)
            ok = strcmp(*k, key) == 0;
        for (const char *const *k = b; k && *k && !ok; k++)
            ok = strcmp(*k, key) == 0;
        if (!ok) {
            char field[64];
            snprintf(field, sizeof(field), "%s%.40s", r->prefix, key);
            return failf(r->err, 422, "unknown_field", field, "field '%s' is not part of the API",
                         field);
        }
    }
    (void)v;
    return 0;
}

static json_t *
load(const char *body, size_t len, ch_json_error *err)
{
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        failf(err, 400, "invalid_json", "", "malformed JSON at line %d, column %d: %s", je.line,
              je.column, je.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        failf(err, 422, "wrong_type", "", "the body must be a JSON object");
        return NULL;
    }
    return root;
}

/* ---- the event types ---- */

#define NEW_PART(ev, member, type, init, tag)                                                      \
    do {                                                                                           \
        (ev)->member = malloc(sizeof(type));                                                       \
        if (!(ev)->member)                                                                         \
            return oom(r->err);                                                                    \
        init((ev)->member);                                                                        \
        (ev)->event_case = (tag);                                                                  \
    } while (0)

static int
build_acknowledged(reader *r, Charter__V1__CaseEvent *ev)
{
    NEW_PART(ev, acknowledged, Charter__V1__Acknowledged, charter__v1__acknowledged__init,
             CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED);
    return get_channel(r, "channel", 0, &ev->acknowledged->channel) ||
                   get_string(r, "by", 0, &ev->acknowledged->by)
               ? CH_EINVAL
               : 0;
}

static int
build_holding_reply(reader *r, Charter__V1__CaseEvent *ev)
{
    NEW_PART(ev, holding_reply, Charter__V1__HoldingReply, charter__v1__holding_reply__init,
             CHARTER__V1__CASE_EVENT__EVENT_HOLDING_REPLY);
    return get_time(r, "new_target_at", 1, &ev->holding_reply->new_target_at) ||
                   get_string(r, "reason", 1, &ev->holding_reply->reason)
               ? CH_EINVAL
               : 0;
}

static int
build_paused(reader *r, Charter__V1__CaseEvent *ev)
{
    NEW_PART(ev, paused, Charter__V1__Paused, charter__v1__paused__init,
             CHARTER__V1__CASE_EVENT__EVENT_PAUSED);
    return get_string(r, "reason", 0, &ev->paused->reason);
}

static int
build_resumed(reader *r, Charter__V1__CaseEvent *ev)
{
    NEW_PART(ev, resumed, Charter__V1__Resumed, charter__v1__resumed__init,
             CHARTER__V1__CASE_EVENT__EVENT_RESUMED);
    return get_bool(r, "restart_clock", &ev->resumed->restart_clock);
}

static int
build_responded(reader *r, Charter__V1__CaseEvent *ev)
{
    NEW_PART(ev, responded, Charter__V1__Responded, charter__v1__responded__init,
             CHARTER__V1__CASE_EVENT__EVENT_RESPONDED);
    ev->responded->full_response = 1;
    return get_channel(r, "channel", 0, &ev->responded->channel) ||
                   get_bool(r, "full_response", &ev->responded->full_response)
               ? CH_EINVAL
               : 0;
}

static int
build_closed(reader *r, Charter__V1__CaseEvent *ev)
{
    NEW_PART(ev, closed, Charter__V1__Closed, charter__v1__closed__init,
             CHARTER__V1__CASE_EVENT__EVENT_CLOSED);
    return get_string(r, "outcome", 0, &ev->closed->outcome);
}

static int
build_escalated(reader *r, Charter__V1__CaseEvent *ev)
{
    NEW_PART(ev, escalated, Charter__V1__Escalated, charter__v1__escalated__init,
             CHARTER__V1__CASE_EVENT__EVENT_ESCALATED);
    json_int_t stage;
    int present;
    if (get_case_id(r, "new_case_id", 1, &ev->escalated->new_case_id) ||
        get_int(r, "to_stage", 1, 2, 9, &stage, &present) ||
        get_string(r, "reason", 0, &ev->escalated->reason))
        return CH_EINVAL;
    ev->escalated->to_stage = (int32_t)stage;
    return 0;
}

static int
build_appointment(reader *r, Charter__V1__CaseEvent *ev)
{
    static const char *const statuses[] = {"booked", "cancelled", "kept",
                                           "missed", "rebooked",  NULL};
    static const char *const by[] = {"organisation", "customer", NULL};
    NEW_PART(ev, appointment, Charter__V1__Appointment, charter__v1__appointment__init,
             CHARTER__V1__CASE_EVENT__EVENT_APPOINTMENT);
    Charter__V1__Appointment *a = ev->appointment;
    int status = 0, who = 0;
    if (get_choice(r, "status", 1, statuses, &status) ||
        get_string(r, "appointment_id", 0, &a->appointment_id) ||
        get_time(r, "starts_at", 0, &a->starts_at) || get_string(r, "location", 0, &a->location) ||
        get_choice(r, "cancelled_by", 0, by, &who))
        return CH_EINVAL;
    /* the proto enum follows the list order: BOOKED = 1 ... REBOOKED = 5 */
    a->status = (Charter__V1__Appointment__Status)status;
    if (who)
        a->cancelled_by = strdup(by[who - 1]);
    if (!a->cancelled_by)
        return oom(r->err);
    if ((a->status == CHARTER__V1__APPOINTMENT__STATUS__STATUS_BOOKED ||
         a->status == CHARTER__V1__APPOINTMENT__STATUS__STATUS_REBOOKED) &&
        !a->starts_at)
        return failf(r->err, 422, "missing_field", "starts_at",
                     "field 'starts_at' is required when an appointment is booked or rebooked");
    if (who && a->status != CHARTER__V1__APPOINTMENT__STATUS__STATUS_CANCELLED)
        return failf(r->err, 422, "invalid_value", "cancelled_by",
                     "field 'cancelled_by' is only for a cancelled appointment");
    return 0;
}

static int
build_call(reader *r, Charter__V1__CaseEvent *ev)
{
    static const char *const statuses[] = {"offered", "answered", "abandoned", NULL};
    NEW_PART(ev, call, Charter__V1__Call, charter__v1__call__init,
             CHARTER__V1__CASE_EVENT__EVENT_CALL);
    Charter__V1__Call *c = ev->call;
    int status = 0, present;
    json_int_t wait = 0, rings = 0;
    if (get_choice(r, "status", 1, statuses, &status) ||
        get_int(r, "wait_seconds", 0, 0, 86400, &wait, &present) ||
        get_int(r, "rings", 0, 0, 1000, &rings, &present) ||
        get_bool(r, "resolved_first_time", &c->resolved_first_time))
        return CH_EINVAL;
    c->status = (Charter__V1__Call__Status)status;
    c->wait_seconds = (uint32_t)wait;
    c->rings = (uint32_t)rings;
    return 0;
}

static int
build_visit(reader *r, Charter__V1__CaseEvent *ev)
{
    static const char *const statuses[] = {"arrived", "seen", "left_unseen", NULL};
    NEW_PART(ev, visit, Charter__V1__Visit, charter__v1__visit__init,
             CHARTER__V1__CASE_EVENT__EVENT_VISIT);
    int status = 0;
    if (get_choice(r, "status", 1, statuses, &status) ||
        get_time(r, "appointment_at", 0, &ev->visit->appointment_at))
        return CH_EINVAL;
    ev->visit->status = (Charter__V1__Visit__Status)status;
    return 0;
}

static int
build_communication_support(reader *r, Charter__V1__CaseEvent *ev)
{
    static const char *const kinds[] = {"interpreting_call", "interpreting_session", "bsl",
                                        "braille",           "large_print",          "audio",
                                        "easy_read",         "translation",          NULL};
    NEW_PART(ev, communication_support, Charter__V1__CommunicationSupport,
             charter__v1__communication_support__init,
             CHARTER__V1__CASE_EVENT__EVENT_COMMUNICATION_SUPPORT);
    int kind = 0;
    if (get_choice(r, "kind", 1, kinds, &kind) ||
        get_string(r, "language", 0, &ev->communication_support->language))
        return CH_EINVAL;
    if (!(ev->communication_support->kind = strdup(kinds[kind - 1])))
        return oom(r->err);
    return 0;
}

static int
build_satisfaction(reader *r, Charter__V1__CaseEvent *ev)
{
    NEW_PART(ev, satisfaction, Charter__V1__Satisfaction, charter__v1__satisfaction__init,
             CHARTER__V1__CASE_EVENT__EVENT_SATISFACTION);
    json_int_t score = 0, max = 5;
    int present;
    if (get_int(r, "max_score", 0, 1, 100, &max, &present) ||
        get_int(r, "score", 1, 1, max, &score, &present) ||
        get_string(r, "comment", 0, &ev->satisfaction->comment))
        return CH_EINVAL;
    ev->satisfaction->score = (uint32_t)score;
    ev->satisfaction->max_score = (uint32_t)max;
    return 0;
}

typedef struct {
    const char *name;
    const char *const *keys; /* the type's own fields */
    int (*build)(reader *r, Charter__V1__CaseEvent *ev);
} event_type;

static const char *const ack_keys[] = {"channel", "by", NULL};
static const char *const holding_keys[] = {"new_target_at", "reason", NULL};
static const char *const paused_keys[] = {"reason", NULL};
static const char *const resumed_keys[] = {"restart_clock", NULL};
static const char *const resp_keys[] = {"channel", "full_response", NULL};
static const char *const closed_keys[] = {"outcome", NULL};
static const char *const escalated_keys[] = {"new_case_id", "to_stage", "reason", NULL};
static const char *const appointment_keys[] = {"status",   "appointment_id", "starts_at",
                                               "location", "cancelled_by",   NULL};
static const char *const call_keys[] = {"status", "wait_seconds", "rings", "resolved_first_time",
                                        NULL};
static const char *const visit_keys[] = {"status", "appointment_at", NULL};
static const char *const support_keys[] = {"kind", "language", NULL};
static const char *const satisfaction_keys[] = {"score", "max_score", "comment", NULL};

static const event_type event_types[] = {
    {"acknowledged", ack_keys, build_acknowledged},
    {"holding_reply", holding_keys, build_holding_reply},
    {"paused", paused_keys, build_paused},
    {"resumed", resumed_keys, build_resumed},
    {"responded", resp_keys, build_responded},
    {"closed", closed_keys, build_closed},
    {"escalated", escalated_keys, build_escalated},
    {"appointment", appointment_keys, build_appointment},
    {"call", call_keys, build_call},
    {"visit", visit_keys, build_visit},
    {"communication_support", support_keys, build_communication_support},
    {"satisfaction", satisfaction_keys, build_satisfaction},
};

#define TYPE_LIST                                                                                  \
    "acknowledged, holding_reply, paused, resumed, responded, closed, escalated, appointment, "    \
    "call, visit, communication_support, satisfaction"

/* ---- envelopes ---- */

static int
get_gateway_message_id(reader *r, ch_event_json_meta *meta, char **copy)
{
    char *s = NULL;
    if (get_string(r, "gateway_message_id", 0, &s))
        return CH_EINVAL;
    if (!s)
        return 0;
    size_t n = strlen(s);
    int ok = n >= 1 && n <= CH_GATEWAY_MESSAGE_ID_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = s[i] > 0x20 && s[i] < 0x7f;
    if (!ok) {
        free(s);
        return failf(r->err, 422, "invalid_value", "gateway_message_id",
                     "field 'gateway_message_id' must be 1 to %d printable ASCII characters "
                     "without spaces",
                     CH_GATEWAY_MESSAGE_ID_MAX);
    }
    memcpy(meta->gateway_message_id, s, n + 1);
    if (copy)
        *copy = s;
    else
        free(s);
    return 0;
}

static int
parse_contact(json_t *root, ch_event_json_kind kind, Charter__V1__CaseEvent *ev,
              ch_event_json_meta *meta, ch_json_error *err)
{
    static const char *const top[] = {"organisation",       "channel",        "received_at",
                                      "customer",           "summary",        "case_type",
                                      "gateway_message_id", "parent_case_id", NULL};
    static const char *const record_extra[] = {"type", NULL};
    static const char *const cust[] = {"name",
                                       "email",
                                       "phone",
                                       "postal_address",
                                       "preferred_channel",
                                       "preferred_language",
                                       "preferred_format",
                                       NULL};
    Charter__V1__Received *rc = malloc(sizeof(*rc));
    if (!rc)
        return oom(err);
    charter__v1__received__init(rc);
    ev->event_case = CHARTER__V1__CASE_EVENT__EVENT_RECEIVED;
    ev->received = rc;

    reader r = {root, "", err};
    if (check_known(&r, top, kind == CH_EVENT_JSON_RECORD ? record_extra : NULL) ||
        get_string(&r, "organisation", 1, &ev->organisation) ||
        get_channel(&r, "channel", 1, &rc->channel) ||
        get_time(&r, "received_at", 1, &ev->occurred_at) ||
        get_string(&r, "summary", 0, &rc->summary) ||
        get_string(&r, "case_type", 0, &rc->case_type) ||
        get_gateway_message_id(&r, meta, &rc->gateway_message_id) ||
        get_case_id(&r, "parent_case_id", 0, &rc->parent_case_id))
        return CH_EINVAL;
    if (rc->case_type[0] == '\0') {
        if (rc->case_type != protobuf_c_empty_string)
            free(rc->case_type);
        if (!(rc->case_type = strdup("enquiry")))
            return oom(err);
    }

    json_t *c = json_object_get(root, "customer");
    if (!c || json_is_null(c))
        return 0;
    if (!json_is_object(c))
        return failf(err, 422, "wrong_type", "customer", "field 'customer' must be an object");
    Charter__V1__Customer *cu = malloc(sizeof(*cu));
    if (!cu)
        return oom(err);
    charter__v1__customer__init(cu);
    rc->customer = cu;
    reader cr = {c, "customer.", err};
    if (check_known(&cr, cust, NULL) || get_string(&cr, "name", 0, &cu->name) ||
        get_string(&cr, "email", 0, &cu->email) || get_string(&cr, "phone", 0, &cu->phone) ||
        get_string(&cr, "postal_address", 0, &cu->postal_address) ||
        get_string(&cr, "preferred_channel", 0, &cu->preferred_channel) ||
        get_string(&cr, "preferred_language", 0, &cu->preferred_language) ||
        get_string(&cr, "preferred_format", 0, &cu->preferred_format))
        return CH_EINVAL;
    if (cu->preferred_channel != protobuf_c_empty_string &&
        ch_channel_from_name(cu->preferred_channel) == CHARTER__V1__CHANNEL__CHANNEL_UNSPECIFIED)
        return failf(err, 422, "unknown_channel", "customer.preferred_channel",
                     "unknown channel '%.40s' in customer.preferred_channel",
                     cu->preferred_channel);
    return 0;
}

static int
parse_case_event(json_t *root, const char *type, ch_event_json_kind kind,
                 Charter__V1__CaseEvent *ev, ch_event_json_meta *meta, ch_json_error *err)
{
    static const char *const envelope[] = {"type", "organisation", "occurred_at",
                                           "gateway_message_id", NULL};
    static const char *const record_envelope[] = {
        "type", "organisation", "occurred_at", "gateway_message_id", "case_id", NULL};
    const event_type *t = NULL;
    for (size_t i = 0; i < sizeof(event_types) / sizeof(event_types[0]); i++)
        if (strcmp(event_types[i].name, type) == 0)
            t = &event_types[i];
    if (!t)
        return failf(err, 422, "unknown_event_type", "type", "unknown event type '%.40s' (%s%s)",
                     type, kind == CH_EVENT_JSON_RECORD ? "received, " : "", TYPE_LIST);
    reader r = {root, "", err};
    if (check_known(&r, kind == CH_EVENT_JSON_RECORD ? record_envelope : envelope, t->keys) ||
        t->build(&r, ev) || get_string(&r, "organisation", 1, &ev->organisation) ||
        get_time(&r, "occurred_at", 1, &ev->occurred_at) || get_gateway_message_id(&r, meta, NULL))
        return CH_EINVAL;
    if (kind == CH_EVENT_JSON_RECORD) {
        char *id = NULL;
        if (get_case_id(&r, "case_id", 1, &id))
            return CH_EINVAL;
        memcpy(meta->case_id, id, strlen(id) + 1);
        free(id);
    }
    return 0;
}

int
ch_event_json_parse(const char *body, size_t len, ch_event_json_kind kind,
                    Charter__V1__CaseEvent **out, ch_event_json_meta *meta, ch_json_error *err)
{
    ch_event_json_meta local;
    if (!meta)
        meta = &local;
    memset(meta, 0, sizeof(*meta));
    *out = NULL;
    json_t *root = load(body, len, err);
    if (!root)
        return CH_EINVAL;
    Charter__V1__CaseEvent *ev = malloc(sizeof(*ev));
    if (!ev) {
        json_decref(root);
        return oom(err);
    }
    charter__v1__case_event__init(ev);
    int rc;
    if (kind == CH_EVENT_JSON_CONTACT) {
        rc = parse_contact(root, kind, ev, meta, err);
    } else {
        reader r = {root, "", err};
        char *type = NULL;
        rc = get_string(&r, "type", 1, &type);
        if (rc == 0 && kind == CH_EVENT_JSON_RECORD && strcmp(type, "received") == 0)
            rc = parse_contact(root, kind, ev, meta, err);
        else if (rc == 0)
            rc = parse_case_event(root, type, kind, ev, meta, err);
        free(type);
    }
    json_decref(root);
    if (rc) {
        ch_event_json_free(ev);
        memset(meta, 0, sizeof(*meta));
        return CH_EINVAL;
    }
    *out = ev;
    return 0;
}

int
ch_event_json_parse_contact(const char *body, size_t len, Charter__V1__CaseEvent **out,
                            ch_json_error *err)
{
    return ch_event_json_parse(body, len, CH_EVENT_JSON_CONTACT, out, NULL, err);
}

int
ch_event_json_parse_case_event(const char *body, size_t len, Charter__V1__CaseEvent **out,
                               ch_json_error *err)
{
    return ch_event_json_parse(body, len, CH_EVENT_JSON_CASE_EVENT, out, NULL, err);
}

void
ch_event_json_free(Charter__V1__CaseEvent *ev)
{
    if (ev)
        protobuf_c_message_free_unpacked(&ev->base, NULL);
}
