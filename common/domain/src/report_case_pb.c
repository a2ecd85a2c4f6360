/*
 * What reporting remembers about a case, packed as the store keeps it
 * (report_agg.h: ch_report_case_pack / _unpack): the internal protobuf
 * message ReportCaseState (proto/charter/v1/report_state.proto) rather than
 * JSON, because the state is read and written on every record the service
 * counts and jansson's tree of values (an allocation per value, a parse and
 * a print each way) was the largest cost per record (docs/benchmarks.md,
 * issue 16). Packing builds the message on the stack over the case's own
 * fields; unpacking uses an allocator over a stack arena, so neither
 * allocates for a usual case.
 *
 * A state stored before (compact JSON, report_case_json.c) starts with '{',
 * which no packed state does (its first byte is the clock's tag, 0x0a): it
 * is read through ch_report_case_from_json, and written back packed the
 * next time the case changes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "case_state_msg.h"
#include "charter/errors.h"
#include "charter/report_agg.h"
#include "charter/v1/report_state.pb-c.h"

/* ---- packing ---- */

typedef struct {
    Charter__V1__ReportCaseState m;
    ch__case_clock_msg clock;
    Charter__V1__ReportAppointment appt_v[CH_REPORT_MAX_APPOINTMENTS];
    Charter__V1__ReportAppointment *appt_p[CH_REPORT_MAX_APPOINTMENTS];
    Charter__V1__ReportReview review_v[CH_REPORT_MAX_REVIEWS];
    Charter__V1__ReportReview *review_p[CH_REPORT_MAX_REVIEWS];
    uint32_t support[CH_REPORT_SUPPORT_COUNT];
} pack_msg;

char *
ch_report_case_pack(const ch_report_case *rc, size_t *len)
{
    pack_msg p;
    Charter__V1__ReportCaseState *m = &p.m;
    charter__v1__report_case_state__init(m);
    ch__case_clock_msg_of(&p.clock, &rc->clock);
    m->clock = &p.clock.m;
    m->received_ms = rc->received_ms;
    m->responded_ms = rc->responded_ms;
    m->ack_sent_ms = rc->ack_sent_ms;
    m->seen_ms = rc->seen_ms;
    m->left_unseen = rc->left_unseen != 0;
    m->call_status = rc->call_status;
    m->call_ms = rc->call_ms;
    m->call_wait_s = rc->call_wait_s;
    m->call_rings = rc->call_rings;
    m->sat_ms = rc->satisfaction_ms;
    m->sat_score = rc->satisfaction_score;
    m->sat_max = rc->satisfaction_max;
    int any = 0;
    for (int k = 0; k < CH_REPORT_SUPPORT_COUNT; k++) {
        p.support[k] = rc->support[k];
        any |= rc->support[k] != 0;
    }
    m->n_support = any ? CH_REPORT_SUPPORT_COUNT : 0;
    m->support = p.support;
    m->n_counted = rc->ncounted < CH_REPORT_MAX_COUNTED ? rc->ncounted : CH_REPORT_MAX_COUNTED;
    m->counted = (uint64_t *)rc->counted;
    m->flags = rc->flags;
    m->acked_ms = rc->acked_ms;
    m->call_resolved = rc->call_resolved != 0;
    size_t na = rc->nappts < CH_REPORT_MAX_APPOINTMENTS ? rc->nappts : CH_REPORT_MAX_APPOINTMENTS;
    for (size_t i = 0; i < na; i++) {
        Charter__V1__ReportAppointment *a = &p.appt_v[i];
        charter__v1__report_appointment__init(a);
        a->id = rc->appts[i].id;
        a->at_ms = rc->appts[i].at_ms;
        a->status = rc->appts[i].status;
        a->by_org = rc->appts[i].by_org;
        a->rebooked = rc->appts[i].rebooked;
        p.appt_p[i] = a;
    }
    m->n_appts = na;
    m->appts = p.appt_p;
    size_t nr = rc->nreviews < CH_REPORT_MAX_REVIEWS ? rc->nreviews : CH_REPORT_MAX_REVIEWS;
    for (size_t i = 0; i < nr; i++) {
        Charter__V1__ReportReview *r = &p.review_v[i];
        charter__v1__report_review__init(r);
        r->at_ms = rc->reviews[i].at_ms;
        r->lifted = rc->reviews[i].lifted;
        p.review_p[i] = r;
    }
    m->n_reviews = nr;
    m->reviews = p.review_p;
    m->review_fired = rc->review_fired;
    m->visit_resolved = rc->visit_resolved != 0;
    m->callback_fired_ms = rc->callback_fired_ms;

    size_t n = charter__v1__report_case_state__get_packed_size(m);
    uint8_t *out = malloc(n + 1);
    if (!out)
        return NULL;
    charter__v1__report_case_state__pack(m, out);
    out[n] = '\0'; /* not part of the state: a reader of a C string stops at the end */
    *len = n;
    return (char *)out;
}

/* ---- unpacking ---- */

/* As the JSON form reads: too many appointments or reviews is CH_EINVAL;
 * support and counted entries past their arrays are dropped. */
static int
case_from(const Charter__V1__ReportCaseState *m, ch_report_case *rc)
{
    if (!m->clock || m->n_appts > CH_REPORT_MAX_APPOINTMENTS ||
        m->n_reviews > CH_REPORT_MAX_REVIEWS)
        return CH_EINVAL;
    ch__case_clock_from_msg(m->clock, &rc->clock);
    rc->received_ms = m->received_ms;
    rc->responded_ms = m->responded_ms;
    rc->ack_sent_ms = m->ack_sent_ms;
    rc->seen_ms = m->seen_ms;
    rc->left_unseen = m->left_unseen != 0;
    rc->call_status = m->call_status;
    rc->call_ms = m->call_ms;
    rc->call_wait_s = m->call_wait_s;
    rc->call_rings = m->call_rings;
    rc->satisfaction_ms = m->sat_ms;
    rc->satisfaction_score = m->sat_score;
    rc->satisfaction_max = m->sat_max;
    for (size_t i = 0; i < m->n_support && i < CH_REPORT_SUPPORT_COUNT; i++)
        rc->support[i] = m->support[i];
    for (size_t i = 0; i < m->n_counted && rc->ncounted < CH_REPORT_MAX_COUNTED; i++)
        rc->counted[rc->ncounted++] = m->counted[i];
    rc->flags = m->flags;
    rc->acked_ms = m->acked_ms;
    rc->call_resolved = m->call_resolved != 0;
    for (size_t i = 0; i < m->n_appts; i++) {
        ch_report_appointment *ap = &rc->appts[rc->nappts++];
        ap->id = m->appts[i]->id;
        ap->at_ms = m->appts[i]->at_ms;
        ap->status = m->appts[i]->status;
        ap->by_org = m->appts[i]->by_org;
        ap->rebooked = m->appts[i]->rebooked;
    }
    for (size_t i = 0; i < m->n_reviews; i++) {
        rc->reviews[rc->nreviews].at_ms = m->reviews[i]->at_ms;
        rc->reviews[rc->nreviews++].lifted = m->reviews[i]->lifted;
    }
    rc->review_fired = m->review_fired;
    rc->visit_resolved = m->visit_resolved != 0;
    rc->callback_fired_ms = m->callback_fired_ms;
    return 0;
}

int
ch_report_case_unpack(const char *data, size_t len, ch_report_case *rc)
{
    if (len > 0 && data[0] == '{')
        return ch_report_case_from_json(data, len, rc);
    memset(rc, 0, sizeof(*rc));
    ch__pb_arena a;
    ProtobufCAllocator alloc = ch__pb_arena_allocator(&a);
    Charter__V1__ReportCaseState *m =
        len ? charter__v1__report_case_state__unpack(&alloc, len, (const uint8_t *)data) : NULL;
    int rc_ = m ? case_from(m, rc) : a.oom ? CH_ENOMEM : CH_EINVAL;
    if (m)
        charter__v1__report_case_state__free_unpacked(m, &alloc);
    if (rc_ != 0)
        memset(rc, 0, sizeof(*rc));
    return rc_;
}
