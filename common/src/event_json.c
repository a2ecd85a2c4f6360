/*
 * JSON -> CaseEvent. Every string placed in the event is a fresh heap copy,
 * so protobuf_c_message_free_unpacked() frees what we built exactly as it
 * frees what it unpacked: one free path for both.
 */
#include "charter/event_json.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/timeutil.h"

static const struct {
    const char *name;
    Charter__V1__Channel value;
} channels[] = {
    {"phone", CHARTER__V1__CHANNEL__CHANNEL_PHONE},
    {"voicemail", CHARTER__V1__CHANNEL__CHANNEL_VOICEMAIL},
    {"email", CHARTER__V1__CHANNEL__CHANNEL_EMAIL},
    {"letter", CHARTER__V1__CHANNEL__CHANNEL_LETTER},
    {"online_form", CHARTER__V1__CHANNEL__CHANNEL_ONLINE_FORM},
    {"social", CHARTER__V1__CHANNEL__CHANNEL_SOCIAL},
    {"visit", CHARTER__V1__CHANNEL__CHANNEL_VISIT},
    {"sms", CHARTER__V1__CHANNEL__CHANNEL_SMS},
};

Charter__V1__Channel
ch_channel_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof(channels) / sizeof(channels[0]); i++)
        if (strcmp(channels[i].name, name) == 0)
            return channels[i].value;
    return CHARTER__V1__CHANNEL__CHANNEL_UNSPECIFIED;
}

const char *
ch_channel_name(Charter__V1__Channel ch)
{
    for (size_t i = 0; i < sizeof(channels) / sizeof(channels[0]); i++)
        if (channels[i].value == ch)
            return channels[i].name;
    return "unspecified";
}

static int
fail(ch_json_error *err, int status, const char *code, const char *field, const char *fmt,
     const char *arg)
{
    err->status = status;
    snprintf(err->code, sizeof(err->code), "%s", code);
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    snprintf(err->message, sizeof(err->message), fmt, arg);
    return CH_EINVAL;
}

/* Field reading: each helper names the field in its error. */
typedef struct {
    json_t *obj;
    const char *prefix; /* "" or "customer." */
    ch_json_error *err;
} reader;

static int
get_string(reader *r, const char *key, int required, char **out)
{
    char field[64];
    snprintf(field, sizeof(field), "%s%s", r->prefix, key);
    json_t *v = json_object_get(r->obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            return fail(r->err, 422, "missing_field", field, "field '%s' is required", field);
        return 0;
    }
    if (!json_is_string(v))
        return fail(r->err, 422, "wrong_type", field, "field '%s' must be a string", field);
    char *copy = strdup(json_string_value(v));
    if (!copy)
        return fail(r->err, 500, "internal", field, "out of memory reading '%s'", field);
    *out = copy;
    return 0;
}

static int
get_time(reader *r, const char *key, int required, Charter__V1__Timestamp **out)
{
    char field[64];
    snprintf(field, sizeof(field), "%s%s", r->prefix, key);
    char *text = NULL;
    if (get_string(r, key, required, &text))
        return CH_EINVAL;
    if (!text)
        return 0;
    int64_t ms;
    int rc = ch_time_parse_rfc3339(text, &ms);
    free(text);
    if (rc)
        return fail(r->err, 422, "wrong_type", field,
                    "field '%s' must be an RFC 3339 date-time with an offset, e.g. "
                    "2026-11-23T09:15:00Z",
                    field);
    Charter__V1__Timestamp *ts = malloc(sizeof(*ts));
    if (!ts)
        return fail(r->err, 500, "internal", field, "out of memory reading '%s'", field);
    charter__v1__timestamp__init(ts);
    ch_time_split_ms(ms, &ts->seconds, &ts->nanos);
    *out = ts;
    return 0;
}

static int
check_known(reader *r, const char *const *known)
{
    const char *key;
    json_t *v;
    json_object_foreach(r->obj, key, v)
    {
        int ok = 0;
        for (const char *const *k = known; *k; k++)
            if (strcmp(*k, key) == 0)
                ok = 1;
        if (!ok) {
            char field[64];
            snprintf(field, sizeof(field), "%s%s", r->prefix, key);
            return fail(r->err, 422, "unknown_field", field, "field '%s' is not part of the API",
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
        err->status = 400;
        snprintf(err->code, sizeof(err->code), "invalid_json");
        err->field[0] = '\0';
        snprintf(err->message, sizeof(err->message), "malformed JSON at line %d, column %d: %s",
                 je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        fail(err, 422, "wrong_type", "", "the body must be a JSON object%s", "");
        return NULL;
    }
    return root;
}

static Charter__V1__CaseEvent *
new_event(void)
{
    Charter__V1__CaseEvent *ev = malloc(sizeof(*ev));
    if (ev)
        charter__v1__case_event__init(ev);
    return ev;
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
        snprintf(field, sizeof(field), "%s%s", r->prefix, key);
        fail(r->err, 422, "unknown_channel", field,
             "unknown channel '%s' (phone, voicemail, email, letter, online_form, social, "
             "visit, sms)",
             name);
        free(name);
        return CH_EINVAL;
    }
    free(name);
    *out = ch;
    return 0;
}

int
ch_event_json_parse_contact(const char *body, size_t len, Charter__V1__CaseEvent **out,
                            ch_json_error *err)
{
    static const char *const top[] = {"organisation",       "channel",        "received_at",
                                      "customer",           "summary",        "case_type",
                                      "gateway_message_id", "parent_case_id", NULL};
    static const char *const cust[] = {"name",
                                       "email",
                                       "phone",
                                       "postal_address",
                                       "preferred_channel",
                                       "preferred_language",
                                       "preferred_format",
                                       NULL};
    json_t *root = load(body, len, err);
    if (!root)
        return CH_EINVAL;
    Charter__V1__CaseEvent *ev = new_event();
    Charter__V1__Received *rc = malloc(sizeof(*rc));
    if (!ev || !rc) {
        free(ev);
        free(rc);
        json_decref(root);
        return fail(err, 500, "internal", "", "out of memory%s", "");
    }
    charter__v1__received__init(rc);
    ev->event_case = CHARTER__V1__CASE_EVENT__EVENT_RECEIVED;
    ev->received = rc;

    reader r = {root, "", err};
    if (check_known(&r, top) || get_string(&r, "organisation", 1, &ev->organisation) ||
        get_channel(&r, "channel", 1, &rc->channel) ||
        get_time(&r, "received_at", 1, &ev->occurred_at) ||
        get_string(&r, "summary", 0, &rc->summary) ||
        get_string(&r, "case_type", 0, &rc->case_type) ||
        get_string(&r, "gateway_message_id", 0, &rc->gateway_message_id) ||
        get_string(&r, "parent_case_id", 0, &rc->parent_case_id))
        goto err;
    if (ev->organisation[0] == '\0') {
        fail(err, 422, "missing_field", "organisation", "field '%s' must not be empty",
             "organisation");
        goto err;
    }
    if (rc->case_type[0] == '\0') {
        if (rc->case_type != protobuf_c_empty_string)
            free(rc->case_type);
        if (!(rc->case_type = strdup("enquiry")))
            goto oom;
    }

    json_t *c = json_object_get(root, "customer");
    if (c && !json_is_null(c)) {
        if (!json_is_object(c)) {
            fail(err, 422, "wrong_type", "customer", "field '%s' must be an object", "customer");
            goto err;
        }
        Charter__V1__Customer *cu = malloc(sizeof(*cu));
        if (!cu)
            goto oom;
        charter__v1__customer__init(cu);
        rc->customer = cu;
        reader cr = {c, "customer.", err};
        if (check_known(&cr, cust) || get_string(&cr, "name", 0, &cu->name) ||
            get_string(&cr, "email", 0, &cu->email) || get_string(&cr, "phone", 0, &cu->phone) ||
            get_string(&cr, "postal_address", 0, &cu->postal_address) ||
            get_string(&cr, "preferred_channel", 0, &cu->preferred_channel) ||
            get_string(&cr, "preferred_language", 0, &cu->preferred_language) ||
            get_string(&cr, "preferred_format", 0, &cu->preferred_format))
            goto err;
        if (cu->preferred_channel != protobuf_c_empty_string &&
            ch_channel_from_name(cu->preferred_channel) ==
                CHARTER__V1__CHANNEL__CHANNEL_UNSPECIFIED) {
            fail(err, 422, "unknown_channel", "customer.preferred_channel",
                 "unknown channel '%s' in customer.preferred_channel", cu->preferred_channel);
            goto err;
        }
    }
    json_decref(root);
    *out = ev;
    return 0;
oom:
    fail(err, 500, "internal", "", "out of memory%s", "");
err:
    json_decref(root);
    ch_event_json_free(ev);
    return CH_EINVAL;
}

int
ch_event_json_parse_case_event(const char *body, size_t len, Charter__V1__CaseEvent **out,
                               ch_json_error *err)
{
    static const char *const ack_keys[] = {"type",    "organisation", "occurred_at",
                                           "channel", "by",           NULL};
    static const char *const resp_keys[] = {"type",    "organisation",  "occurred_at",
                                            "channel", "full_response", NULL};
    static const char *const close_keys[] = {"type", "organisation", "occurred_at", "outcome",
                                             NULL};
    json_t *root = load(body, len, err);
    if (!root)
        return CH_EINVAL;
    Charter__V1__CaseEvent *ev = new_event();
    if (!ev) {
        json_decref(root);
        return fail(err, 500, "internal", "", "out of memory%s", "");
    }
    reader r = {root, "", err};
    char *type = NULL;
    if (get_string(&r, "type", 1, &type))
        goto err;
    if (strcmp(type, "acknowledged") == 0) {
        Charter__V1__Acknowledged *a = malloc(sizeof(*a));
        if (!a)
            goto oom;
        charter__v1__acknowledged__init(a);
        ev->event_case = CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED;
        ev->acknowledged = a;
        if (check_known(&r, ack_keys) || get_channel(&r, "channel", 0, &a->channel) ||
            get_string(&r, "by", 0, &a->by))
            goto err;
    } else if (strcmp(type, "responded") == 0) {
        Charter__V1__Responded *a = malloc(sizeof(*a));
        if (!a)
            goto oom;
        charter__v1__responded__init(a);
        ev->event_case = CHARTER__V1__CASE_EVENT__EVENT_RESPONDED;
        ev->responded = a;
        a->full_response = 1;
        json_t *fr = json_object_get(root, "full_response");
        if (fr && !json_is_boolean(fr)) {
            fail(err, 422, "wrong_type", "full_response", "field '%s' must be true or false",
                 "full_response");
            goto err;
        }
        if (fr)
            a->full_response = json_is_true(fr);
        if (check_known(&r, resp_keys) || get_channel(&r, "channel", 0, &a->channel))
            goto err;
    } else if (strcmp(type, "closed") == 0) {
        Charter__V1__Closed *a = malloc(sizeof(*a));
        if (!a)
            goto oom;
        charter__v1__closed__init(a);
        ev->event_case = CHARTER__V1__CASE_EVENT__EVENT_CLOSED;
        ev->closed = a;
        if (check_known(&r, close_keys) || get_string(&r, "outcome", 0, &a->outcome))
            goto err;
    } else {
        fail(err, 422, "unknown_event_type", "type",
             "unknown event type '%s' (acknowledged, responded, closed)", type);
        goto err;
    }
    if (get_string(&r, "organisation", 1, &ev->organisation) ||
        get_time(&r, "occurred_at", 1, &ev->occurred_at))
        goto err;
    if (ev->organisation[0] == '\0') {
        fail(err, 422, "missing_field", "organisation", "field '%s' must not be empty",
             "organisation");
        goto err;
    }
    free(type);
    json_decref(root);
    *out = ev;
    return 0;
oom:
    fail(err, 500, "internal", "", "out of memory%s", "");
err:
    free(type);
    json_decref(root);
    ch_event_json_free(ev);
    return CH_EINVAL;
}

void
ch_event_json_free(Charter__V1__CaseEvent *ev)
{
    if (ev)
        protobuf_c_message_free_unpacked(&ev->base, NULL);
}
