/*
 * A case state as JSON (see case_state_json.h): one field list, written once
 * for packing and once for unpacking, in the same order, so a field added to
 * ch_case_state is added to both formats side by side. The text form is the
 * jansson value dumped compact, which is what sla-timer stores in Redis.
 */
#include "case_state_json.h"

#include <stdio.h>
#include <string.h>

#include "charter/errors.h"

#define STATE_FORMAT "{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:o,s:I,s:I,s:I,s:b,s:b,s:b,s:b}"

json_t *
ch__case_state_pack(const ch_case_state *st)
{
    json_t *pauses = json_array();
    for (size_t i = 0; i < st->npauses; i++)
        json_array_append_new(pauses, json_pack("[I,I]", (json_int_t)st->pauses[i].from_ms,
                                                (json_int_t)st->pauses[i].to_ms));
    return json_pack(STATE_FORMAT, "organisation", st->organisation, "channel", st->channel,
                     "case_type", st->case_type, "reference", st->reference, "received_ms",
                     (json_int_t)st->received_ms, "acknowledged_ms",
                     (json_int_t)st->acknowledged_ms, "paused_since_ms",
                     (json_int_t)st->paused_since_ms, "pauses", pauses, "extended_to_ms",
                     (json_int_t)st->extended_to_ms, "arrived_ms", (json_int_t)st->arrived_ms,
                     "appointment_ms", (json_int_t)st->appointment_ms, "responded", st->responded,
                     "closed", st->closed, "seen", st->seen, "escalated", st->escalated);
}

int
ch__case_state_unpack(const json_t *o, ch_case_state *st)
{
    memset(st, 0, sizeof(*st));
    const char *org = "", *ch = "", *type = "", *ref = "";
    json_int_t rec = 0, ack = 0, ps = 0, ext = 0, arr = 0, appt = 0;
    int resp = 0, clo = 0, seen = 0, esc = 0;
    json_t *pauses = NULL;
    json_error_t je;
    /* json_unpack takes a non-const value but only reads it here (no "O"). */
    if (!json_is_object(o) ||
        json_unpack_ex((json_t *)o, &je, 0, STATE_FORMAT, "organisation", &org, "channel", &ch,
                       "case_type", &type, "reference", &ref, "received_ms", &rec,
                       "acknowledged_ms", &ack, "paused_since_ms", &ps, "pauses", &pauses,
                       "extended_to_ms", &ext, "arrived_ms", &arr, "appointment_ms", &appt,
                       "responded", &resp, "closed", &clo, "seen", &seen, "escalated", &esc) != 0 ||
        !json_is_array(pauses))
        return CH_EINVAL;
    snprintf(st->organisation, sizeof(st->organisation), "%s", org);
    snprintf(st->channel, sizeof(st->channel), "%s", ch);
    snprintf(st->case_type, sizeof(st->case_type), "%s", type);
    snprintf(st->reference, sizeof(st->reference), "%s", ref);
    st->received_ms = rec;
    st->acknowledged_ms = ack;
    st->paused_since_ms = ps;
    st->extended_to_ms = ext;
    st->arrived_ms = arr;
    st->appointment_ms = appt;
    st->responded = resp;
    st->closed = clo;
    st->seen = seen;
    st->escalated = esc;
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
    return 0;
}

char *
ch_case_state_to_json(const ch_case_state *st)
{
    json_t *o = ch__case_state_pack(st);
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

int
ch_case_state_from_json(const char *text, size_t len, ch_case_state *st)
{
    json_error_t je;
    json_t *o = json_loadb(text, len, 0, &je);
    if (!o) {
        memset(st, 0, sizeof(*st));
        return CH_EINVAL;
    }
    int rc = ch__case_state_unpack(o, st);
    json_decref(o);
    return rc;
}
