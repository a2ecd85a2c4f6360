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

#include "charter/errors.h"
#include "charter/report_agg.h"
#include "charter/v1/report_state.pb-c.h"

/* ---- packing ---- */

typedef struct {
    Charter__V1__ReportCaseState m;
    Charter__V1__ReportClock clock;
    Charter__V1__ReportPause pause_v[CH_CASE_MAX_PAUSES];
    Charter__V1__ReportPause *pause_p[CH_CASE_MAX_PAUSES];
    Charter__V1__ReportAppointment appt_v[CH_REPORT_MAX_APPOINTMENTS];
    Charter__V1__ReportAppointment *appt_p[CH_REPORT_MAX_APPOINTMENTS];
    Charter__V1__ReportReview review_v[CH_REPORT_MAX_REVIEWS];
    Charter__V1__ReportReview *review_p[CH_REPORT_MAX_REVIEWS];
    uint32_t support[CH_REPORT_SUPPORT_COUNT];
} pack_msg;

/* The message's strings point into the case (the packer only reads them). */
static char *
text(const char *s)
{
    return (char *)s;
}

static void
clock_of(pack_msg *p, const ch_case_state *st)
{
    Charter__V1__ReportClock *c = &p->clock;
    charter__v1__report_clock__init(c);
    c->organisation = text(st->organisation);
    c->channel = text(st->channel);
    c->case_type = text(st->case_type);
    c->reference = text(st->reference);
    c->received_ms = st->received_ms;
    c->acknowledged_ms = st->acknowledged_ms;
    c->paused_since_ms = st->paused_since_ms;
    size_t np = st->npauses < CH_CASE_MAX_PAUSES ? st->npauses : CH_CASE_MAX_PAUSES;
    for (size_t i = 0; i < np; i++) {
        charter__v1__report_pause__init(&p->pause_v[i]);
        p->pause_v[i].from_ms = st->pauses[i].from_ms;
        p->pause_v[i].to_ms = st->pauses[i].to_ms;
        p->pause_p[i] = &p->pause_v[i];
    }
    c->n_pauses = np;
    c->pauses = p->pause_p;
    c->extended_to_ms = st->extended_to_ms;
    c->arrived_ms = st->arrived_ms;
    c->appointment_ms = st->appointment_ms;
    c->responded = st->responded != 0;
    c->closed = st->closed != 0;
    c->seen = st->seen != 0;
    c->escalated = st->escalated != 0;
    c->extensions_refused = st->extensions_refused;
    c->extended_at_ms = st->extended_at_ms;
    c->extension_refused_at_ms = st->extension_refused_at_ms;
    c->extension_refused_target_ms = st->extension_refused_target_ms;
    c->extension_refused_reason = text(st->extension_refused_reason);
    c->reviews = st->reviews;
    c->reviews_late = st->reviews_late;
    c->reviewed_ms = st->reviewed_ms;
    c->review_last_due_ms = st->review_last_due_ms;
    c->review_lifted = st->review_lifted != 0;
    c->callback_promised_ms = st->callback_promised_ms;
    c->callback_at_ms = st->callback_at_ms;
    c->callback_made_ms = st->callback_made_ms;
}

char *
ch_report_case_pack(const ch_report_case *rc, size_t *len)
{
    pack_msg p;
    Charter__V1__ReportCaseState *m = &p.m;
    charter__v1__report_case_state__init(m);
    clock_of(&p, &rc->clock);
    m->clock = &p.clock;
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

/* protobuf-c's pieces of one message from a stack arena; past it, from
 * malloc (freed by free_unpacked, which frees nothing of the arena). */
typedef struct {
    _Alignas(max_align_t) unsigned char buf[8192];
    size_t used;
    int oom; /* malloc failed past the arena */
} arena;

static void *
arena_alloc(void *data, size_t size)
{
    arena *a = data;
    size_t at = (a->used + _Alignof(max_align_t) - 1) & ~(size_t)(_Alignof(max_align_t) - 1);
    if (size <= sizeof(a->buf) && at <= sizeof(a->buf) - size) {
        a->used = at + size;
        return a->buf + at;
    }
    void *p = malloc(size);
    a->oom |= !p;
    return p;
}

static void
arena_free(void *data, void *p)
{
    arena *a = data;
    if ((unsigned char *)p < a->buf || (unsigned char *)p >= a->buf + sizeof(a->buf))
        free(p);
}

/* s into dst (size bytes), cut as the JSON form cuts it (snprintf). */
static void
copy_text(char *dst, size_t size, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n >= size)
        n = size - 1;
    memcpy(dst, s, n);
}

static void
clock_from(const Charter__V1__ReportClock *c, ch_case_state *st)
{
    copy_text(st->organisation, sizeof(st->organisation), c->organisation);
    copy_text(st->channel, sizeof(st->channel), c->channel);
    copy_text(st->case_type, sizeof(st->case_type), c->case_type);
    copy_text(st->reference, sizeof(st->reference), c->reference);
    st->received_ms = c->received_ms;
    st->acknowledged_ms = c->acknowledged_ms;
    st->paused_since_ms = c->paused_since_ms;
    for (size_t i = 0; i < c->n_pauses && st->npauses < CH_CASE_MAX_PAUSES; i++) {
        st->pauses[st->npauses].from_ms = c->pauses[i]->from_ms;
        st->pauses[st->npauses++].to_ms = c->pauses[i]->to_ms;
    }
    st->extended_to_ms = c->extended_to_ms;
    st->arrived_ms = c->arrived_ms;
    st->appointment_ms = c->appointment_ms;
    st->responded = c->responded != 0;
    st->closed = c->closed != 0;
    st->seen = c->seen != 0;
    st->escalated = c->escalated != 0;
    st->extensions_refused = c->extensions_refused;
    st->extended_at_ms = c->extended_at_ms;
    st->extension_refused_at_ms = c->extension_refused_at_ms;
    st->extension_refused_target_ms = c->extension_refused_target_ms;
    copy_text(st->extension_refused_reason, sizeof(st->extension_refused_reason),
              c->extension_refused_reason);
    st->reviews = c->reviews;
    st->reviews_late = c->reviews_late;
    st->reviewed_ms = c->reviewed_ms;
    st->review_last_due_ms = c->review_last_due_ms;
    st->review_lifted = c->review_lifted != 0;
    st->callback_promised_ms = c->callback_promised_ms;
    st->callback_at_ms = c->callback_at_ms;
    st->callback_made_ms = c->callback_made_ms;
}

/* As the JSON form reads: too many appointments or reviews is CH_EINVAL;
 * support and counted entries past their arrays are dropped. */
static int
case_from(const Charter__V1__ReportCaseState *m, ch_report_case *rc)
{
    if (!m->clock || m->n_appts > CH_REPORT_MAX_APPOINTMENTS ||
        m->n_reviews > CH_REPORT_MAX_REVIEWS)
        return CH_EINVAL;
    clock_from(m->clock, &rc->clock);
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
    arena a;
    a.used = 0;
    a.oom = 0;
    ProtobufCAllocator alloc = {arena_alloc, arena_free, &a};
    Charter__V1__ReportCaseState *m =
        len ? charter__v1__report_case_state__unpack(&alloc, len, (const uint8_t *)data) : NULL;
    int rc_ = m ? case_from(m, rc) : a.oom ? CH_ENOMEM : CH_EINVAL;
    if (m)
        charter__v1__report_case_state__free_unpacked(m, &alloc);
    if (rc_ != 0)
        memset(rc, 0, sizeof(*rc));
    return rc_;
}
