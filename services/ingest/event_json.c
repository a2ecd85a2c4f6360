/*
 * JSON -> CaseEvent. Every string placed in the event is a fresh heap copy,
 * so protobuf_c_message_free_unpacked() frees what we built exactly as it
 * frees what it unpacked: one free path for both.
 *
 * Each event type is one row of a table: its name (the oneof member's, so
 * CaseEvent's descriptor gives its message) and the table of that part's
 * fields (key, kind, required, offsetof), which one reader walks; a check
 * function adds rules across fields where a type has them (appointments, visits, call-backs). The
 * envelope fields (type, organisation, occurred_at, gateway_message_id and, in records, case_id)
 * are read once for all of them, so every type refuses unknown fields, names the offending field
 * and treats a missing organisation the same way. Every string read is held
 * to its field's rule (charter/contact_fields.h: names, free text, keys,
 * phone numbers, language tags, e-mail addresses) in the one reader
 * (get_string), and every time to the calendars' years in get_time; the
 * clock's own check (nothing far in the future) is ch_event_json_check_clock.
 */
#include "event_json.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/contact_fields.h"
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
    err->reason[0] = '\0';
    snprintf(err->code, sizeof(err->code), "%s", code);
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    /* a message may quote the client's text, or be cut inside a character */
    ch_contact_utf8_repair(err->message);
    ch_contact_utf8_repair(err->field);
    return CH_EINVAL;
}

/* The first characters of a client's string, for "%.*s" in a message: at
 * most 40 bytes, never cutting a UTF-8 character. */
#define QUOTED(s) (int)ch_contact_utf8_prefix((s), strlen(s), 40), (s)

static int
oom(ch_json_error *err)
{
    return failf(err, 500, "internal", "", "out of memory");
}

/* Field reading: each helper names the field in its error. */
#define FIELD_NAME_MAX 64
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

/* What a JSON value must be, in the words of the wrong_type error. */
typedef enum { WANT_STRING, WANT_INT, WANT_BOOL } want;
static const char *const want_words[] = {"a string", "a whole number", "true or false"};

/*
 * The value of key, its name in field[FIELD_NAME_MAX] for errors. Absent or
 * null: *v is NULL, which is an error (missing_field) only when the field is
 * required. Present: it must be what w says (wrong_type).
 */
static int
lookup(reader *r, const char *key, int required, want w, char *field, json_t **v)
{
    field_name(r, key, field, FIELD_NAME_MAX);
    *v = json_object_get(r->obj, key);
    if (!*v || json_is_null(*v)) {
        *v = NULL;
        if (required)
            return failf(r->err, 422, "missing_field", field, "field '%s' is required", field);
        return 0;
    }
    int ok = w == WANT_STRING ? json_is_string(*v)
             : w == WANT_INT  ? json_is_integer(*v)
                              : json_is_boolean(*v);
    if (!ok)
        return failf(r->err, 422, "wrong_type", field, "field '%s' must be %s", field,
                     want_words[w]);
    return 0;
}

/*
 * Holds *text to its field's rule (charter/contact_fields.h): refused with
 * 422 invalid_value naming the field and why (*text freed), or replaced by
 * its normalised form (a phone number, a language tag).
 */
static int
check_rule(reader *r, const char *field, char **text)
{
    static const char *const what[] = {
        [CH_FIELD_TEXT] = "cannot be used",
        [CH_FIELD_LINE] = "cannot be used",
        [CH_FIELD_IDENT] = "cannot be used",
        [CH_FIELD_PHONE] = "is not a telephone number",
        [CH_FIELD_LANGUAGE] = "is not a language tag",
        [CH_FIELD_MAILBOX] = "is not an e-mail address",
    };
    const ch_field_rule *rule = ch_contact_field_rule(field);
    char norm[64];
    const char *why = NULL;
    if (!ch_contact_field_check(rule, *text, norm, sizeof(norm), &why)) {
        free(*text);
        *text = NULL;
        failf(r->err, 422, "invalid_value", field, "field '%s' %s: %s", field, what[rule->cls],
              why);
        snprintf(r->err->reason, sizeof(r->err->reason), "%s", why);
        return CH_EINVAL;
    }
    if (rule->normalise && strcmp(norm, *text) != 0) {
        char *copy = strdup(norm);
        if (!copy) {
            free(*text);
            *text = NULL;
            return oom(r->err);
        }
        free(*text);
        *text = copy;
    }
    return 0;
}

/* Reads an optional or required string; absent or null leaves *out alone. */
static int
get_string(reader *r, const char *key, int required, char **out)
{
    char field[FIELD_NAME_MAX];
    json_t *v;
    int rc = lookup(r, key, required, WANT_STRING, field, &v);
    if (rc || !v)
        return rc;
    char *copy = strdup(json_string_value(v));
    if (!copy)
        return oom(r->err);
    if (required && copy[0] == '\0') {
        free(copy);
        return failf(r->err, 422, "missing_field", field, "field '%s' must not be empty", field);
    }
    if (copy[0] && check_rule(r, field, &copy))
        return CH_EINVAL;
    *out = copy;
    return 0;
}

static int
get_time(reader *r, const char *key, int required, Charter__V1__Timestamp **out)
{
    char field[FIELD_NAME_MAX];
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
    const char *why;
    if (!ch_contact_time_in_range(ms, &why)) {
        failf(r->err, 422, "invalid_value", field, "field '%s' cannot be used: %s", field, why);
        snprintf(r->err->reason, sizeof(r->err->reason), "%s", why);
        return CH_EINVAL;
    }
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
    char field[FIELD_NAME_MAX];
    json_t *v;
    int rc = lookup(r, key, 0, WANT_BOOL, field, &v);
    if (rc || !v)
        return rc;
    *out = json_is_true(v);
    return 0;
}

/* An integer in [min, max]; absent or null leaves *out alone. */
static int
get_int(reader *r, const char *key, int required, json_int_t min, json_int_t max, json_int_t *out)
{
    char field[FIELD_NAME_MAX];
    json_t *v;
    int rc = lookup(r, key, required, WANT_INT, field, &v);
    if (rc || !v)
        return rc;
    json_int_t i = json_integer_value(v);
    if (i < min || i > max)
        return failf(r->err, 422, "invalid_value", field, "field '%s' must be from %lld to %lld",
                     field, (long long)min, (long long)max);
    *out = i;
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
    char field[FIELD_NAME_MAX], list[192] = "";
    field_name(r, key, field, sizeof(field));
    for (int i = 0; names[i]; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", names[i]);
    }
    failf(r->err, 422, "invalid_value", field, "field '%s' must be one of: %s (got '%.*s')", field,
          list, QUOTED(s));
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
        char field[FIELD_NAME_MAX];
        field_name(r, key, field, sizeof(field));
        failf(r->err, 422, "unknown_channel", field,
              "unknown channel '%.*s' (phone, voicemail, email, letter, online_form, social, "
              "visit, sms)",
              QUOTED(name));
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
        char field[FIELD_NAME_MAX];
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

/*
 * A type's own fields, read in table order into its part of the oneof. The
 * JSON key is the proto field's name; `at` is the member's offsetof.
 */
typedef enum {
    F_STRING,     /* char *, "" when absent */
    F_TIME,       /* Timestamp *, RFC 3339 */
    F_BOOL,       /* protobuf_c_boolean, `def` when absent */
    F_CHANNEL,    /* Charter__V1__Channel, by name */
    F_CASE_ID,    /* char *, a usable case id */
    F_INT,        /* a 32-bit count in [min, max], `def` when absent */
    F_ENUM,       /* an enum that follows names[]: the first name is 1 */
    F_NAME,       /* char *, a copy of one of names[] */
    F_ATTACHMENTS /* Attachment **, its count at count_at: [{name, content_type, size_bytes}] */
} field_kind;

typedef struct {
    const char *key;
    field_kind kind;
    int required;
    size_t at;
    const char *const *names; /* F_ENUM, F_NAME */
    json_int_t min, max;      /* F_INT */
    size_t max_at;            /* F_INT: an earlier member that is the upper bound, or 0 */
    int def;                  /* F_INT, F_BOOL */
    size_t count_at;          /* F_ATTACHMENTS: the member holding the count */
} field_spec;

/*
 * Refuses any key not in one of the NULL-terminated lists nor among the
 * fields (any of them may be NULL).
 */
static int
check_known(reader *r, const char *const *a, const char *const *b, const field_spec *fields)
{
    const char *key;
    json_t *v;
    json_object_foreach(r->obj, key, v)
    {
        int ok = 0;
        for (const char *const *k = a; k && *k && !ok; k++)
            ok = strcmp(*k, key) == 0;
        for (const char *const *k = b; k && *k && !ok; k++)
            ok = strcmp(*k, key) == 0;
        for (const field_spec *f = fields; f && f->key && !ok; f++)
            ok = strcmp(f->key, key) == 0;
        if (!ok) {
            char field[FIELD_NAME_MAX];
            snprintf(field, sizeof(field), "%s%.*s", r->prefix, QUOTED(key));
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

/* ---- attachments ---- */

#define ATTACHMENTS_MAX 100

/*
 * "attachments": [{"name", "content_type", "size_bytes"}], what came with a
 * message, never its contents. Each element's fields are named
 * "attachments.name" etc. in errors (and in the field rules), the message
 * saying which element.
 */
static int
get_attachments(reader *r, const char *key, size_t *n, Charter__V1__Attachment ***out)
{
    char field[FIELD_NAME_MAX];
    field_name(r, key, field, sizeof(field));
    json_t *a = json_object_get(r->obj, key);
    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a))
        return failf(r->err, 422, "wrong_type", field,
                     "field '%s' must be an array of {name, content_type, size_bytes}", field);
    if (json_array_size(a) > ATTACHMENTS_MAX)
        return failf(r->err, 422, "invalid_value", field, "field '%s' may list at most %d files",
                     field, ATTACHMENTS_MAX);
    if (json_array_size(a) == 0)
        return 0;
    if (!(*out = calloc(json_array_size(a), sizeof(**out))))
        return oom(r->err);
    char prefix[FIELD_NAME_MAX + 2];
    snprintf(prefix, sizeof(prefix), "%s.", field);
    static const char *const keys[] = {"name", "content_type", "size_bytes", NULL};
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *o = json_array_get(a, i);
        if (!json_is_object(o))
            return failf(r->err, 422, "wrong_type", field,
                         "field '%s': element %zu must be an object {name, content_type, "
                         "size_bytes}",
                         field, i + 1);
        Charter__V1__Attachment *at = malloc(sizeof(*at));
        if (!at)
            return oom(r->err);
        charter__v1__attachment__init(at);
        (*out)[(*n)++] = at;
        reader er = {o, prefix, r->err};
        json_int_t size = 0;
        if (check_known(&er, keys, NULL, NULL) || get_string(&er, "name", 0, &at->name) ||
            get_string(&er, "content_type", 0, &at->content_type) ||
            get_int(&er, "size_bytes", 0, 0, (json_int_t)1 << 50, &size)) {
            size_t used = strlen(r->err->message);
            snprintf(r->err->message + used, sizeof(r->err->message) - used, " (attachment %zu)",
                     i + 1);
            return CH_EINVAL;
        }
        at->size_bytes = (int64_t)size;
    }
    return 0;
}

/* ---- the event types ---- */

/* Reads one field into its member of part. */
static int
read_field(reader *r, const field_spec *f, void *part)
{
    void *at = (char *)part + f->at;
    json_int_t i = f->def;
    int choice = 0;
    switch (f->kind) {
    case F_STRING:
        return get_string(r, f->key, f->required, at);
    case F_TIME:
        return get_time(r, f->key, f->required, at);
    case F_BOOL:
        *(protobuf_c_boolean *)at = f->def;
        return get_bool(r, f->key, at);
    case F_CHANNEL:
        return get_channel(r, f->key, f->required, at);
    case F_CASE_ID:
        return get_case_id(r, f->key, f->required, at);
    case F_INT: /* every range is non-negative: int32 and uint32 store alike */
        if (get_int(r, f->key, f->required, f->min,
                    f->max_at ? *(uint32_t *)((char *)part + f->max_at) : f->max, &i))
            return CH_EINVAL;
        *(uint32_t *)at = (uint32_t)i;
        return 0;
    case F_ENUM:
        if (get_choice(r, f->key, f->required, f->names, &choice))
            return CH_EINVAL;
        *(int *)at = choice;
        return 0;
    case F_NAME:
        if (get_choice(r, f->key, f->required, f->names, &choice))
            return CH_EINVAL;
        if (choice && !(*(char **)at = strdup(f->names[choice - 1])))
            return oom(r->err);
        return 0;
    case F_ATTACHMENTS:
        return get_attachments(r, f->key, (size_t *)((char *)part + f->count_at), at);
    }
    return 0;
}

/* Reads a part's fields in table order (up to the {0} row); the first error stops. */
static int
read_fields(reader *r, const field_spec *f, void *part)
{
    for (; f->key; f++)
        if (read_field(r, f, part))
            return CH_EINVAL;
    return 0;
}

#define FIELD(T, member, kind_, required_, ...)                                                    \
    {                                                                                              \
        .key = #member, .kind = kind_, .required = required_, .at = offsetof(T, member),           \
        __VA_ARGS__                                                                                \
    }

static const field_spec ack_fields[] = {
    FIELD(Charter__V1__Acknowledged, channel, F_CHANNEL, 0),
    FIELD(Charter__V1__Acknowledged, by, F_STRING, 0),
    {0},
};

static const char *const statutory_bases[] = {"foi_public_interest", "eir_complex", "sar_complex",
                                              NULL};
static const field_spec holding_fields[] = {
    FIELD(Charter__V1__HoldingReply, new_target_at, F_TIME, 1),
    FIELD(Charter__V1__HoldingReply, reason, F_STRING, 1),
    FIELD(Charter__V1__HoldingReply, next_steps, F_STRING, 0),
    FIELD(Charter__V1__HoldingReply, apology, F_BOOL, 0),
    FIELD(Charter__V1__HoldingReply, named_contact, F_STRING, 0),
    FIELD(Charter__V1__HoldingReply, statutory_basis, F_NAME, 0, .names = statutory_bases),
    {0},
};

static const field_spec paused_fields[] = {FIELD(Charter__V1__Paused, reason, F_STRING, 0), {0}};

static const field_spec resumed_fields[] = {FIELD(Charter__V1__Resumed, restart_clock, F_BOOL, 0),
                                            {0}};

static const field_spec responded_fields[] = {
    FIELD(Charter__V1__Responded, channel, F_CHANNEL, 0),
    FIELD(Charter__V1__Responded, full_response, F_BOOL, 0, .def = 1),
    {0},
};

static const field_spec closed_fields[] = {FIELD(Charter__V1__Closed, outcome, F_STRING, 0), {0}};

static const field_spec escalated_fields[] = {
    FIELD(Charter__V1__Escalated, new_case_id, F_CASE_ID, 1),
    FIELD(Charter__V1__Escalated, to_stage, F_INT, 1, .min = 2, .max = 9),
    FIELD(Charter__V1__Escalated, reason, F_STRING, 0),
    {0},
};

/* the proto enum follows the list order: BOOKED = 1 ... REBOOKED = 5 */
static const char *const appointment_statuses[] = {"booked", "cancelled", "kept",
                                                   "missed", "rebooked",  NULL};
static const char *const appointment_by[] = {"organisation", "customer", NULL};
static const field_spec appointment_fields[] = {
    FIELD(Charter__V1__Appointment, status, F_ENUM, 1, .names = appointment_statuses),
    FIELD(Charter__V1__Appointment, appointment_id, F_STRING, 0),
    FIELD(Charter__V1__Appointment, starts_at, F_TIME, 0),
    FIELD(Charter__V1__Appointment, location, F_STRING, 0),
    FIELD(Charter__V1__Appointment, cancelled_by, F_NAME, 0, .names = appointment_by),
    {0},
};

static int
check_appointment(reader *r, const void *part)
{
    const Charter__V1__Appointment *a = part;
    if ((a->status == CHARTER__V1__APPOINTMENT__STATUS__STATUS_BOOKED ||
         a->status == CHARTER__V1__APPOINTMENT__STATUS__STATUS_REBOOKED) &&
        !a->starts_at)
        return failf(r->err, 422, "missing_field", "starts_at",
                     "field 'starts_at' is required when an appointment is booked or rebooked");
    if (a->cancelled_by[0] != '\0' &&
        a->status != CHARTER__V1__APPOINTMENT__STATUS__STATUS_CANCELLED)
        return failf(r->err, 422, "invalid_value", "cancelled_by",
                     "field 'cancelled_by' is only for a cancelled appointment");
    return 0;
}

/* the proto enums follow the list order, as for appointments */
static const char *const call_statuses[] = {"offered", "answered", "abandoned", NULL};
static const field_spec call_fields[] = {
    FIELD(Charter__V1__Call, status, F_ENUM, 1, .names = call_statuses),
    FIELD(Charter__V1__Call, wait_seconds, F_INT, 0, .min = 0, .max = 86400),
    FIELD(Charter__V1__Call, rings, F_INT, 0, .min = 0, .max = 1000),
    FIELD(Charter__V1__Call, resolved_first_time, F_BOOL, 0),
    {0},
};

static const char *const visit_statuses[] = {"arrived", "seen", "left_unseen", NULL};
static const field_spec visit_fields[] = {
    FIELD(Charter__V1__Visit, status, F_ENUM, 1, .names = visit_statuses),
    FIELD(Charter__V1__Visit, appointment_at, F_TIME, 0),
    FIELD(Charter__V1__Visit, resolved_first_time, F_BOOL, 0),
    {0},
};

static int
check_visit(reader *r, const void *part)
{
    const Charter__V1__Visit *v = part;
    if (v->resolved_first_time && v->status != CHARTER__V1__VISIT__STATUS__STATUS_SEEN)
        return failf(r->err, 422, "invalid_value", "resolved_first_time",
                     "field 'resolved_first_time' is only for a visitor who was seen");
    return 0;
}

static const char *const support_kinds[] = {"interpreting_call", "interpreting_session", "bsl",
                                            "braille",           "large_print",          "audio",
                                            "easy_read",         "translation",          NULL};
static const field_spec support_fields[] = {
    FIELD(Charter__V1__CommunicationSupport, kind, F_NAME, 1, .names = support_kinds),
    FIELD(Charter__V1__CommunicationSupport, language, F_STRING, 0),
    {0},
};

/* max_score first: it bounds score */
static const field_spec satisfaction_fields[] = {
    FIELD(Charter__V1__Satisfaction, max_score, F_INT, 0, .min = 1, .max = 100, .def = 5),
    FIELD(Charter__V1__Satisfaction, score, F_INT, 1, .min = 1,
          .max_at = offsetof(Charter__V1__Satisfaction, max_score)),
    FIELD(Charter__V1__Satisfaction, comment, F_STRING, 0),
    {0},
};

/* the proto enum follows the list order: KEPT = 1, LIFTED = 2 */
static const char *const review_outcomes[] = {"kept", "lifted", NULL};
static const field_spec reviewed_fields[] = {
    FIELD(Charter__V1__Reviewed, outcome, F_ENUM, 1, .names = review_outcomes),
    FIELD(Charter__V1__Reviewed, by, F_STRING, 0),
    FIELD(Charter__V1__Reviewed, notes, F_STRING, 0),
    {0},
};

/* the proto enum follows the list order: PROMISED = 1, MADE = 2 */
static const char *const callback_statuses[] = {"promised", "made", NULL};
static const field_spec callback_fields[] = {
    FIELD(Charter__V1__Callback, status, F_ENUM, 1, .names = callback_statuses),
    FIELD(Charter__V1__Callback, agreed_at, F_TIME, 0),
    FIELD(Charter__V1__Callback, by, F_STRING, 0),
    {0},
};

static int
check_callback(reader *r, const void *part)
{
    const Charter__V1__Callback *c = part;
    if (c->agreed_at && c->status != CHARTER__V1__CALLBACK__STATUS__STATUS_PROMISED)
        return failf(r->err, 422, "invalid_value", "agreed_at",
                     "field 'agreed_at' is only for a promised call-back (the time agreed with "
                     "the customer)");
    return 0;
}

static const field_spec assigned_fields[] = {
    FIELD(Charter__V1__Assigned, name, F_STRING, 1),
    FIELD(Charter__V1__Assigned, team, F_STRING, 0),
    FIELD(Charter__V1__Assigned, phone, F_STRING, 0),
    FIELD(Charter__V1__Assigned, email, F_STRING, 0),
    {0},
};

/* A customer's message on an existing case (a reply, a follow-up): recorded,
 * moves no clock. gateway_message_id comes from the envelope. */
static const field_spec customer_message_fields[] = {
    FIELD(Charter__V1__CustomerMessage, channel, F_CHANNEL, 1),
    FIELD(Charter__V1__CustomerMessage, summary, F_STRING, 0),
    FIELD(Charter__V1__CustomerMessage, subject, F_STRING, 0),
    FIELD(Charter__V1__CustomerMessage, attachments, F_ATTACHMENTS, 0,
          .count_at = offsetof(Charter__V1__CustomerMessage, n_attachments)),
    FIELD(Charter__V1__CustomerMessage, from, F_STRING, 0),
    FIELD(Charter__V1__CustomerMessage, in_reply_to, F_STRING, 0),
    {0},
};

typedef struct {
    const char *name; /* CaseEvent's oneof member, which the JSON "type" names */
    const field_spec *fields;
    int (*check)(reader *r, const void *part); /* rules across fields, or NULL */
} event_type;

static const event_type event_types[] = {
    {.name = "acknowledged", .fields = ack_fields},
    {.name = "holding_reply", .fields = holding_fields},
    {.name = "paused", .fields = paused_fields},
    {.name = "resumed", .fields = resumed_fields},
    {.name = "responded", .fields = responded_fields},
    {.name = "closed", .fields = closed_fields},
    {.name = "escalated", .fields = escalated_fields},
    {.name = "appointment", .fields = appointment_fields, .check = check_appointment},
    {.name = "call", .fields = call_fields},
    {.name = "visit", .fields = visit_fields, .check = check_visit},
    {.name = "communication_support", .fields = support_fields},
    {.name = "satisfaction", .fields = satisfaction_fields},
    {.name = "reviewed", .fields = reviewed_fields},
    {.name = "assigned", .fields = assigned_fields},
    {.name = "callback", .fields = callback_fields, .check = check_callback},
    {.name = "customer_message", .fields = customer_message_fields},
};

/*
 * Builds the type's part of the oneof from its fields. CaseEvent's
 * descriptor knows the rest: the member's message, where it sits and its
 * case number.
 */
static int
build_part(reader *r, const event_type *t, Charter__V1__CaseEvent *ev)
{
    const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field_by_name(
        &charter__v1__case_event__descriptor, t->name);
    const ProtobufCMessageDescriptor *desc = fd->descriptor;
    void *part = malloc(desc->sizeof_message);
    if (!part)
        return oom(r->err);
    protobuf_c_message_init(desc, part);
    memcpy((char *)ev + fd->offset, &part, sizeof(part));
    ev->event_case = (Charter__V1__CaseEvent__EventCase)fd->id;
    if (read_fields(r, t->fields, part))
        return CH_EINVAL;
    return t->check ? t->check(r, part) : 0;
}

#define TYPE_LIST                                                                                  \
    "acknowledged, holding_reply, paused, resumed, responded, closed, escalated, appointment, "    \
    "call, visit, communication_support, satisfaction, reviewed, assigned, callback, "             \
    "customer_message"

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

static const field_spec customer_fields[] = {
    FIELD(Charter__V1__Customer, name, F_STRING, 0),
    FIELD(Charter__V1__Customer, email, F_STRING, 0),
    FIELD(Charter__V1__Customer, phone, F_STRING, 0),
    FIELD(Charter__V1__Customer, postal_address, F_STRING, 0),
    FIELD(Charter__V1__Customer, preferred_channel, F_STRING, 0),
    FIELD(Charter__V1__Customer, preferred_language, F_STRING, 0),
    FIELD(Charter__V1__Customer, preferred_format, F_STRING, 0),
    FIELD(Charter__V1__Customer, social_id, F_STRING, 0),
    {0},
};

static int
parse_contact(json_t *root, ch_event_json_kind kind, Charter__V1__CaseEvent *ev,
              ch_event_json_meta *meta, ch_json_error *err)
{
    static const char *const top[] = {"organisation",       "channel",         "received_at",
                                      "customer",           "summary",         "case_type",
                                      "gateway_message_id", "parent_case_id",  "subject",
                                      "attachments",        "gateway_account", NULL};
    static const char *const record_extra[] = {"type", NULL};
    Charter__V1__Received *rc = malloc(sizeof(*rc));
    if (!rc)
        return oom(err);
    charter__v1__received__init(rc);
    ev->event_case = CHARTER__V1__CASE_EVENT__EVENT_RECEIVED;
    ev->received = rc;

    reader r = {root, "", err};
    if (check_known(&r, top, kind == CH_EVENT_JSON_RECORD ? record_extra : NULL, NULL) ||
        get_string(&r, "organisation", 1, &ev->organisation) ||
        get_channel(&r, "channel", 1, &rc->channel) ||
        get_time(&r, "received_at", 1, &ev->occurred_at) ||
        get_string(&r, "summary", 0, &rc->summary) ||
        get_string(&r, "case_type", 0, &rc->case_type) ||
        get_gateway_message_id(&r, meta, &rc->gateway_message_id) ||
        get_case_id(&r, "parent_case_id", 0, &rc->parent_case_id) ||
        get_string(&r, "subject", 0, &rc->subject) ||
        get_attachments(&r, "attachments", &rc->n_attachments, &rc->attachments) ||
        get_string(&r, "gateway_account", 0, &rc->gateway_account))
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
    if (check_known(&cr, NULL, NULL, customer_fields) || read_fields(&cr, customer_fields, cu))
        return CH_EINVAL;
    if (cu->preferred_channel != protobuf_c_empty_string &&
        ch_channel_from_name(cu->preferred_channel) == CHARTER__V1__CHANNEL__CHANNEL_UNSPECIFIED)
        return failf(err, 422, "unknown_channel", "customer.preferred_channel",
                     "unknown channel '%.*s' in customer.preferred_channel",
                     QUOTED(cu->preferred_channel));
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
        return failf(err, 422, "unknown_event_type", "type", "unknown event type '%.*s' (%s%s)",
                     QUOTED(type), kind == CH_EVENT_JSON_RECORD ? "received, " : "", TYPE_LIST);
    reader r = {root, "", err};
    if (check_known(&r, kind == CH_EVENT_JSON_RECORD ? record_envelope : envelope, NULL,
                    t->fields) ||
        build_part(&r, t, ev) || get_string(&r, "organisation", 1, &ev->organisation) ||
        get_time(&r, "occurred_at", 1, &ev->occurred_at) || get_gateway_message_id(&r, meta, NULL))
        return CH_EINVAL;
    if (ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_CUSTOMER_MESSAGE &&
        meta->gateway_message_id[0] &&
        !(ev->customer_message->gateway_message_id = strdup(meta->gateway_message_id)))
        return oom(err);
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

int
ch_event_json_check_clock(const Charter__V1__CaseEvent *ev, int64_t now_ms,
                          int64_t max_future_skew_ms, ch_json_error *err)
{
    const Charter__V1__Timestamp *t = ev->occurred_at;
    if (!t)
        return 0;
    const char *field =
        ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_RECEIVED ? "received_at" : "occurred_at";
    const char *why;
    int64_t ms = t->seconds * 1000 + t->nanos / 1000000;
    if (!ch_contact_time_not_future(ms, now_ms, max_future_skew_ms, &why)) {
        failf(err, 422, "invalid_value", field, "field '%s' cannot be used: %s", field, why);
        snprintf(err->reason, sizeof(err->reason), "%s", why);
        return CH_EINVAL;
    }
    return 0;
}

void
ch_event_json_free(Charter__V1__CaseEvent *ev)
{
    if (ev)
        protobuf_c_message_free_unpacked(&ev->base, NULL);
}
