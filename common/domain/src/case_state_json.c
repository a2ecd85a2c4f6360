/*
 * A case state as JSON (see case_state_json.h). One table lists the fields
 * in the order they are written, each with its name, its kind and where it
 * lives in ch_case_state; packing and unpacking both walk it, so a field
 * added to the state is added to the format in one place and the two
 * directions cannot drift apart. Unpacking wants every field with its own
 * JSON type (a string, an integer, true/false, a list of [from, to] pairs)
 * and ignores keys it does not know. Fields added after the first stored
 * states (refused extensions, reviews, call-backs) are optional: a state stored before
 * them loads with them zero. The text form is the object dumped compact,
 * which is what sla-timer stores in Redis.
 */
#include "case_state_json.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "charter/errors.h"

typedef enum {
    FIELD_TEXT,   /* char[size]: a string */
    FIELD_TIME,   /* int64_t ms: an integer */
    FIELD_FLAG,   /* int 0/1: true or false */
    FIELD_COUNT,  /* uint32_t: a non-negative integer */
    FIELD_PAUSES, /* pauses + npauses: [[from, to], ...] */
} field_kind;

/* A row leaves out what is zero: size for non-text fields, optional for the
 * original ones. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define SIZE_OF(f) sizeof(((ch_case_state *)0)->f)

static const struct {
    const char *name;
    field_kind kind;
    size_t offset, size;
    int optional; /* may be missing (a state stored before it existed) */
} fields[] = {
    {"organisation", FIELD_TEXT, offsetof(ch_case_state, organisation),
     sizeof(((ch_case_state *)0)->organisation)},
    {"channel", FIELD_TEXT, offsetof(ch_case_state, channel),
     sizeof(((ch_case_state *)0)->channel)},
    {"case_type", FIELD_TEXT, offsetof(ch_case_state, case_type),
     sizeof(((ch_case_state *)0)->case_type)},
    {"reference", FIELD_TEXT, offsetof(ch_case_state, reference),
     sizeof(((ch_case_state *)0)->reference)},
    {"received_ms", FIELD_TIME, offsetof(ch_case_state, received_ms), 0},
    {"acknowledged_ms", FIELD_TIME, offsetof(ch_case_state, acknowledged_ms), 0},
    {"paused_since_ms", FIELD_TIME, offsetof(ch_case_state, paused_since_ms), 0},
    {"pauses", FIELD_PAUSES, offsetof(ch_case_state, pauses), 0},
    {"extended_to_ms", FIELD_TIME, offsetof(ch_case_state, extended_to_ms), 0},
    {"arrived_ms", FIELD_TIME, offsetof(ch_case_state, arrived_ms), 0},
    {"appointment_ms", FIELD_TIME, offsetof(ch_case_state, appointment_ms), 0},
    {"responded", FIELD_FLAG, offsetof(ch_case_state, responded), 0},
    {"closed", FIELD_FLAG, offsetof(ch_case_state, closed), 0},
    {"seen", FIELD_FLAG, offsetof(ch_case_state, seen), 0},
    {"escalated", FIELD_FLAG, offsetof(ch_case_state, escalated), 0},
    {"extended_at_ms", FIELD_TIME, offsetof(ch_case_state, extended_at_ms), 0, 1},
    {"extensions_refused", FIELD_COUNT, offsetof(ch_case_state, extensions_refused), 0, 1},
    {"extension_refused_at_ms", FIELD_TIME, offsetof(ch_case_state, extension_refused_at_ms), 0, 1},
    {"extension_refused_target_ms", FIELD_TIME,
     offsetof(ch_case_state, extension_refused_target_ms), 0, 1},
    {"extension_refused_reason", FIELD_TEXT, offsetof(ch_case_state, extension_refused_reason),
     SIZE_OF(extension_refused_reason), 1},
    {"reviews", FIELD_COUNT, offsetof(ch_case_state, reviews), 0, 1},
    {"reviews_late", FIELD_COUNT, offsetof(ch_case_state, reviews_late), 0, 1},
    {"reviewed_ms", FIELD_TIME, offsetof(ch_case_state, reviewed_ms), 0, 1},
    {"review_last_due_ms", FIELD_TIME, offsetof(ch_case_state, review_last_due_ms), 0, 1},
    {"review_lifted", FIELD_FLAG, offsetof(ch_case_state, review_lifted), 0, 1},
    {"callback_promised_ms", FIELD_TIME, offsetof(ch_case_state, callback_promised_ms), 0, 1},
    {"callback_at_ms", FIELD_TIME, offsetof(ch_case_state, callback_at_ms), 0, 1},
    {"callback_made_ms", FIELD_TIME, offsetof(ch_case_state, callback_made_ms), 0, 1},
};

static json_t *
pack_pauses(const ch_case_state *st)
{
    json_t *pauses = json_array();
    for (size_t i = 0; pauses && i < st->npauses; i++)
        json_array_append_new(pauses, json_pack("[I,I]", (json_int_t)st->pauses[i].from_ms,
                                                (json_int_t)st->pauses[i].to_ms));
    return pauses;
}

/* Pairs that are not two integers, and pairs past CH_CASE_MAX_PAUSES, are
 * dropped. */
static void
unpack_pauses(const json_t *pauses, ch_case_state *st)
{
    size_t i;
    json_t *p;
    json_array_foreach(pauses, i, p)
    {
        if (st->npauses == CH_CASE_MAX_PAUSES)
            break;
        json_int_t from = 0, to = 0;
        if (json_unpack(p, "[I,I]", &from, &to) == 0) {
            st->pauses[st->npauses].from_ms = from;
            st->pauses[st->npauses].to_ms = to;
            st->npauses++;
        }
    }
}

json_t *
ch__case_state_pack(const ch_case_state *st)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < sizeof(fields) / sizeof(fields[0]); i++) {
        const char *at = (const char *)st + fields[i].offset;
        json_t *v = NULL;
        switch (fields[i].kind) {
        case FIELD_TEXT:
            v = json_string(at);
            break;
        case FIELD_TIME:
            v = json_integer((json_int_t) * (const int64_t *)at);
            break;
        case FIELD_FLAG:
            v = json_boolean(*(const int *)at);
            break;
        case FIELD_COUNT:
            v = json_integer((json_int_t) * (const uint32_t *)at);
            break;
        case FIELD_PAUSES:
            v = pack_pauses(st);
            break;
        }
        if (json_object_set_new(o, fields[i].name, v) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    return o;
}

/* Reads field i from v into st; CH_EINVAL when v is of the wrong JSON type,
 * or missing and not optional. */
static int
unpack_field(size_t i, const json_t *v, ch_case_state *st)
{
    char *at = (char *)st + fields[i].offset;
    if (!v && fields[i].optional)
        return 0;
    switch (fields[i].kind) {
    case FIELD_TEXT:
        if (!json_is_string(v))
            return CH_EINVAL;
        snprintf(at, fields[i].size, "%s", json_string_value(v));
        return 0;
    case FIELD_TIME:
        if (!json_is_integer(v))
            return CH_EINVAL;
        *(int64_t *)at = json_integer_value(v);
        return 0;
    case FIELD_FLAG:
        if (!json_is_boolean(v))
            return CH_EINVAL;
        *(int *)at = json_is_true(v);
        return 0;
    case FIELD_COUNT:
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > (json_int_t)UINT32_MAX)
            return CH_EINVAL;
        *(uint32_t *)at = (uint32_t)json_integer_value(v);
        return 0;
    case FIELD_PAUSES:
        if (!json_is_array(v))
            return CH_EINVAL;
        unpack_pauses(v, st);
        return 0;
    }
    return CH_EINVAL;
}

int
ch__case_state_unpack(const json_t *o, ch_case_state *st)
{
    memset(st, 0, sizeof(*st));
    if (!json_is_object(o))
        return CH_EINVAL;
    /* json_object_get takes a non-const object but only reads it. */
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (unpack_field(i, json_object_get(o, fields[i].name), st) != 0) {
            memset(st, 0, sizeof(*st));
            return CH_EINVAL;
        }
    return 0;
}

char *
ch__json_text(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

char *
ch_case_state_to_json(const ch_case_state *st)
{
    return ch__json_text(ch__case_state_pack(st));
}

int
ch_case_state_from_json(const char *text, size_t len, ch_case_state *st)
{
    json_t *o = json_loadb(text, len, 0, NULL);
    int rc = ch__case_state_unpack(o, st);
    json_decref(o);
    return rc;
}
