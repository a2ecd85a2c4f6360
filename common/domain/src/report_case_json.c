/*
 * What reporting remembers about a case, as the compact JSON the store keeps
 * per case (report_agg.h: ch_report_case_to_json / _from_json). The fields
 * of the first stored cases are required; those added since (the measures
 * with no clock, call-backs and visits resolved at the first contact) are
 * written only when set, so a case without them stores as it always has and
 * a case stored before them loads with them zero. The deadline engine's own
 * state is packed by case_state_json.c.
 */
#include <jansson.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/report_agg.h"
#include "case_state_json.h"

/* The fields added for the measures with no clock (report_agg.h), written
 * only when set so a case without them stores as it always has. */
static int
pack_measures(json_t *o, const ch_report_case *rc)
{
    int rc_ = 0;
    if (rc->acked_ms)
        rc_ |= json_object_set_new(o, "acked_ms", json_integer((json_int_t)rc->acked_ms));
    if (rc->call_resolved)
        rc_ |= json_object_set_new(o, "call_resolved", json_true());
    if (rc->nappts) {
        json_t *a = json_array();
        for (size_t i = 0; i < rc->nappts; i++) {
            const ch_report_appointment *ap = &rc->appts[i];
            json_array_append_new(a, json_pack("[I,I,i,i,i]", (json_int_t)ap->id,
                                               (json_int_t)ap->at_ms, (int)ap->status,
                                               (int)ap->by_org, (int)ap->rebooked));
        }
        rc_ |= json_object_set_new(o, "appts", a);
    }
    if (rc->nreviews) {
        json_t *a = json_array();
        for (size_t i = 0; i < rc->nreviews; i++)
            json_array_append_new(a, json_pack("[I,i]", (json_int_t)rc->reviews[i].at_ms,
                                               (int)rc->reviews[i].lifted));
        rc_ |= json_object_set_new(o, "reviews", a);
    }
    if (rc->review_fired)
        rc_ |= json_object_set_new(o, "review_fired", json_integer((json_int_t)rc->review_fired));
    if (rc->visit_resolved)
        rc_ |= json_object_set_new(o, "visit_resolved", json_true());
    if (rc->callback_fired_ms)
        rc_ |= json_object_set_new(o, "callback_fired_ms",
                                   json_integer((json_int_t)rc->callback_fired_ms));
    return rc_ ? CH_ENOMEM : 0;
}

/* The fields pack_measures writes, each optional: 0 or CH_EINVAL. */
static int
unpack_measures(json_t *o, ch_report_case *rc)
{
    json_t *v = json_object_get(o, "acked_ms");
    if (v && !json_is_integer(v))
        return CH_EINVAL;
    rc->acked_ms = v ? json_integer_value(v) : 0;
    rc->call_resolved = json_is_true(json_object_get(o, "call_resolved"));
    json_t *a = json_object_get(o, "appts"), *e;
    size_t i;
    if (a && !json_is_array(a))
        return CH_EINVAL;
    json_array_foreach(a, i, e)
    {
        json_int_t id, at;
        int status, by_org, rebooked;
        if (rc->nappts == CH_REPORT_MAX_APPOINTMENTS ||
            json_unpack(e, "[I,I,i,i,i]", &id, &at, &status, &by_org, &rebooked) != 0)
            return CH_EINVAL;
        ch_report_appointment *ap = &rc->appts[rc->nappts++];
        ap->id = (uint64_t)id;
        ap->at_ms = at;
        ap->status = status;
        ap->by_org = by_org;
        ap->rebooked = rebooked;
    }
    a = json_object_get(o, "reviews");
    if (a && !json_is_array(a))
        return CH_EINVAL;
    json_array_foreach(a, i, e)
    {
        json_int_t at;
        int lifted;
        if (rc->nreviews == CH_REPORT_MAX_REVIEWS || json_unpack(e, "[I,i]", &at, &lifted) != 0)
            return CH_EINVAL;
        rc->reviews[rc->nreviews].at_ms = at;
        rc->reviews[rc->nreviews++].lifted = lifted;
    }
    v = json_object_get(o, "review_fired");
    if (v && !json_is_integer(v))
        return CH_EINVAL;
    rc->review_fired = v ? (uint64_t)json_integer_value(v) : 0;
    rc->visit_resolved = json_is_true(json_object_get(o, "visit_resolved"));
    v = json_object_get(o, "callback_fired_ms");
    if (v && !json_is_integer(v))
        return CH_EINVAL;
    rc->callback_fired_ms = v ? json_integer_value(v) : 0;
    return 0;
}

char *
ch_report_case_to_json(const ch_report_case *rc)
{
    json_t *cj = ch__case_state_pack(&rc->clock);
    if (!cj)
        return NULL;
    json_t *support = json_array(), *counted = json_array();
    for (int k = 0; k < CH_REPORT_SUPPORT_COUNT; k++)
        json_array_append_new(support, json_integer(rc->support[k]));
    for (size_t i = 0; i < rc->ncounted; i++)
        json_array_append_new(counted, json_integer((json_int_t)rc->counted[i]));
    json_t *o = json_pack(
        "{s:o,s:I,s:I,s:I,s:I,s:b,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:I}", "clock", cj,
        "received_ms", (json_int_t)rc->received_ms, "responded_ms", (json_int_t)rc->responded_ms,
        "ack_sent_ms", (json_int_t)rc->ack_sent_ms, "seen_ms", (json_int_t)rc->seen_ms,
        "left_unseen", rc->left_unseen, "call_status", rc->call_status, "call_ms",
        (json_int_t)rc->call_ms, "call_wait_s", (json_int_t)rc->call_wait_s, "call_rings",
        (json_int_t)rc->call_rings, "sat_ms", (json_int_t)rc->satisfaction_ms, "sat_score",
        (json_int_t)rc->satisfaction_score, "sat_max", (json_int_t)rc->satisfaction_max, "support",
        support, "counted", counted, "flags", (json_int_t)rc->flags);
    if (o && pack_measures(o, rc) != 0) {
        json_decref(o);
        return NULL;
    }
    return ch__json_text(o);
}

int
ch_report_case_from_json(const char *text, size_t len, ch_report_case *rc)
{
    memset(rc, 0, sizeof(*rc));
    json_t *o = json_loadb(text, len, 0, NULL);
    json_t *cj = NULL, *support = NULL, *counted = NULL;
    json_int_t rec = 0, resp = 0, ack = 0, seen = 0, cms = 0, wait = 0, rings = 0, sms = 0,
               score = 0, max = 0, flags = 0;
    int unseen = 0, cstatus = 0;
    if (!json_is_object(o) ||
        json_unpack(o, "{s:o,s:I,s:I,s:I,s:I,s:b,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:I}", "clock",
                    &cj, "received_ms", &rec, "responded_ms", &resp, "ack_sent_ms", &ack, "seen_ms",
                    &seen, "left_unseen", &unseen, "call_status", &cstatus, "call_ms", &cms,
                    "call_wait_s", &wait, "call_rings", &rings, "sat_ms", &sms, "sat_score", &score,
                    "sat_max", &max, "support", &support, "counted", &counted, "flags",
                    &flags) != 0 ||
        !json_is_array(support) || !json_is_array(counted)) {
        json_decref(o);
        return CH_EINVAL;
    }
    if (ch__case_state_unpack(cj, &rc->clock) != 0) {
        json_decref(o);
        memset(rc, 0, sizeof(*rc));
        return CH_EINVAL;
    }
    rc->received_ms = rec;
    rc->responded_ms = resp;
    rc->ack_sent_ms = ack;
    rc->seen_ms = seen;
    rc->left_unseen = unseen;
    rc->call_status = cstatus;
    rc->call_ms = cms;
    rc->call_wait_s = (uint32_t)wait;
    rc->call_rings = (uint32_t)rings;
    rc->satisfaction_ms = sms;
    rc->satisfaction_score = (uint32_t)score;
    rc->satisfaction_max = (uint32_t)max;
    rc->flags = (unsigned)flags;
    size_t i;
    json_t *v;
    json_array_foreach(support, i, v)
    {
        if (i < CH_REPORT_SUPPORT_COUNT)
            rc->support[i] = (uint32_t)json_integer_value(v);
    }
    json_array_foreach(counted, i, v)
    {
        if (rc->ncounted < CH_REPORT_MAX_COUNTED)
            rc->counted[rc->ncounted++] = (uint64_t)json_integer_value(v);
    }
    if (unpack_measures(o, rc) != 0) {
        json_decref(o);
        memset(rc, 0, sizeof(*rc));
        return CH_EINVAL;
    }
    json_decref(o);
    return 0;
}
