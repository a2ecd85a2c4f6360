/*
 * sla-timer's case state packed as the store keeps it (case_clock.h:
 * ch_case_state_pack / ch_case_state_unpack): the internal protobuf message
 * CaseClockState (proto/charter/v1/case_state.proto) rather than JSON,
 * because a compact timer's fired event is rebuilt from this state at fire
 * time (services/sla-timer/timer_event.c) and case_sync.c reads and writes
 * it on every case event: jansson's tree of values (an allocation per value,
 * a parse and a print each way) was most of the ~15 us per fired timer
 * (docs/benchmarks.md, issue 16). Packing builds the message on the stack
 * over the state's own fields; unpacking uses an allocator over a stack
 * arena, so neither allocates beyond the packed bytes. The message and the
 * arena are shared with reporting's packed case (report_case_pb.c), whose
 * clock is the same message (case_state_msg.h).
 *
 * A state stored before (compact JSON, case_state_json.c) starts with '{',
 * which no packed state does (its first byte is a field's tag; '{' would be
 * field 15 as a group, which proto3 never writes): it is read through
 * ch_case_state_from_json, and written back packed the next time the case
 * changes.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "case_state_msg.h"
#include "charter/case_clock.h"
#include "charter/errors.h"

/* ---- the message ---- */

/* The message's strings point into the state (the packer only reads them). */
static char *
text(const char *s)
{
    return (char *)s;
}

void
ch__case_clock_msg_of(ch__case_clock_msg *c, const ch_case_state *st)
{
    Charter__V1__CaseClockState *m = &c->m;
    charter__v1__case_clock_state__init(m);
    m->organisation = text(st->organisation);
    m->channel = text(st->channel);
    m->case_type = text(st->case_type);
    m->reference = text(st->reference);
    m->received_ms = st->received_ms;
    m->acknowledged_ms = st->acknowledged_ms;
    m->paused_since_ms = st->paused_since_ms;
    size_t np = st->npauses < CH_CASE_MAX_PAUSES ? st->npauses : CH_CASE_MAX_PAUSES;
    for (size_t i = 0; i < np; i++) {
        charter__v1__case_pause__init(&c->pause_v[i]);
        c->pause_v[i].from_ms = st->pauses[i].from_ms;
        c->pause_v[i].to_ms = st->pauses[i].to_ms;
        c->pause_p[i] = &c->pause_v[i];
    }
    m->n_pauses = np;
    m->pauses = c->pause_p;
    m->extended_to_ms = st->extended_to_ms;
    m->arrived_ms = st->arrived_ms;
    m->appointment_ms = st->appointment_ms;
    m->responded = st->responded != 0;
    m->closed = st->closed != 0;
    m->seen = st->seen != 0;
    m->escalated = st->escalated != 0;
    m->extensions_refused = st->extensions_refused;
    m->extended_at_ms = st->extended_at_ms;
    m->extension_refused_at_ms = st->extension_refused_at_ms;
    m->extension_refused_target_ms = st->extension_refused_target_ms;
    m->extension_refused_reason = text(st->extension_refused_reason);
    m->reviews = st->reviews;
    m->reviews_late = st->reviews_late;
    m->reviewed_ms = st->reviewed_ms;
    m->review_last_due_ms = st->review_last_due_ms;
    m->review_lifted = st->review_lifted != 0;
    m->callback_promised_ms = st->callback_promised_ms;
    m->callback_at_ms = st->callback_at_ms;
    m->callback_made_ms = st->callback_made_ms;
}

void
ch__pb_copy_text(char *dst, size_t size, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n >= size)
        n = size - 1;
    memcpy(dst, s, n);
}

void
ch__case_clock_from_msg(const Charter__V1__CaseClockState *m, ch_case_state *st)
{
    ch__pb_copy_text(st->organisation, sizeof(st->organisation), m->organisation);
    ch__pb_copy_text(st->channel, sizeof(st->channel), m->channel);
    ch__pb_copy_text(st->case_type, sizeof(st->case_type), m->case_type);
    ch__pb_copy_text(st->reference, sizeof(st->reference), m->reference);
    st->received_ms = m->received_ms;
    st->acknowledged_ms = m->acknowledged_ms;
    st->paused_since_ms = m->paused_since_ms;
    for (size_t i = 0; i < m->n_pauses && st->npauses < CH_CASE_MAX_PAUSES; i++) {
        st->pauses[st->npauses].from_ms = m->pauses[i]->from_ms;
        st->pauses[st->npauses++].to_ms = m->pauses[i]->to_ms;
    }
    st->extended_to_ms = m->extended_to_ms;
    st->arrived_ms = m->arrived_ms;
    st->appointment_ms = m->appointment_ms;
    st->responded = m->responded != 0;
    st->closed = m->closed != 0;
    st->seen = m->seen != 0;
    st->escalated = m->escalated != 0;
    st->extensions_refused = m->extensions_refused;
    st->extended_at_ms = m->extended_at_ms;
    st->extension_refused_at_ms = m->extension_refused_at_ms;
    st->extension_refused_target_ms = m->extension_refused_target_ms;
    ch__pb_copy_text(st->extension_refused_reason, sizeof(st->extension_refused_reason),
                     m->extension_refused_reason);
    st->reviews = m->reviews;
    st->reviews_late = m->reviews_late;
    st->reviewed_ms = m->reviewed_ms;
    st->review_last_due_ms = m->review_last_due_ms;
    st->review_lifted = m->review_lifted != 0;
    st->callback_promised_ms = m->callback_promised_ms;
    st->callback_at_ms = m->callback_at_ms;
    st->callback_made_ms = m->callback_made_ms;
}

/* ---- the arena ---- */

static void *
arena_alloc(void *data, size_t size)
{
    ch__pb_arena *a = data;
    size_t at = (a->used + alignof(max_align_t) - 1) & ~(size_t)(alignof(max_align_t) - 1);
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
    ch__pb_arena *a = data;
    if ((unsigned char *)p < a->buf || (unsigned char *)p >= a->buf + sizeof(a->buf))
        free(p);
}

ProtobufCAllocator
ch__pb_arena_allocator(ch__pb_arena *a)
{
    a->used = 0;
    a->oom = 0;
    return (ProtobufCAllocator){arena_alloc, arena_free, a};
}

/* ---- sla-timer's case state ---- */

char *
ch_case_state_pack(const ch_case_state *st, size_t *len)
{
    ch__case_clock_msg c;
    ch__case_clock_msg_of(&c, st);
    size_t n = charter__v1__case_clock_state__get_packed_size(&c.m);
    uint8_t *out = malloc(n + 1);
    if (!out)
        return NULL;
    charter__v1__case_clock_state__pack(&c.m, out);
    out[n] = '\0'; /* not part of the state: a reader of a C string stops at the end */
    *len = n;
    return (char *)out;
}

int
ch_case_state_unpack(const char *data, size_t len, ch_case_state *st)
{
    if (len > 0 && data[0] == '{')
        return ch_case_state_from_json(data, len, st);
    memset(st, 0, sizeof(*st));
    if (len == 0)
        return 0; /* every field zero packs to nothing */
    ch__pb_arena a;
    ProtobufCAllocator alloc = ch__pb_arena_allocator(&a);
    Charter__V1__CaseClockState *m =
        charter__v1__case_clock_state__unpack(&alloc, len, (const uint8_t *)data);
    if (!m)
        return a.oom ? CH_ENOMEM : CH_EINVAL;
    ch__case_clock_from_msg(m, st);
    charter__v1__case_clock_state__free_unpacked(m, &alloc);
    return 0;
}
