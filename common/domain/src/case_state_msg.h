/*
 * The deadline engine's state of a case (ch_case_state) as the protobuf
 * message CaseClockState, for the two stores that pack it: sla-timer's case
 * state (case_state_pb.c, where these live) and the clock inside reporting's
 * case (report_case_pb.c). Internal to charter_domain.
 */
#ifndef CHARTER_DOMAIN_CASE_STATE_MSG_H
#define CHARTER_DOMAIN_CASE_STATE_MSG_H

#include <protobuf-c/protobuf-c.h>
#include <stdalign.h>
#include <stddef.h>

#include "charter/case_clock.h"
#include "charter/v1/case_state.pb-c.h"

/* The message over a state's own fields (its strings point into the state,
 * which must outlive it), with room for its pauses: build it on the stack. */
typedef struct {
    Charter__V1__CaseClockState m;
    Charter__V1__CasePause pause_v[CH_CASE_MAX_PAUSES];
    Charter__V1__CasePause *pause_p[CH_CASE_MAX_PAUSES];
} ch__case_clock_msg;

void ch__case_clock_msg_of(ch__case_clock_msg *c, const ch_case_state *st);

/* m into st, which the caller has zeroed; texts cut as the JSON form cuts
 * them, pauses past CH_CASE_MAX_PAUSES dropped. */
void ch__case_clock_from_msg(const Charter__V1__CaseClockState *m, ch_case_state *st);

/* s into dst (size bytes, zeroed), cut to size - 1 bytes as the JSON forms
 * cut it. */
void ch__pb_copy_text(char *dst, size_t size, const char *s);

/* protobuf-c's pieces of one unpacked message from a stack arena; past it,
 * from malloc (freed by free_unpacked, which frees nothing of the arena). */
typedef struct {
    alignas(max_align_t) unsigned char buf[8192];
    size_t used;
    int oom; /* malloc failed past the arena */
} ch__pb_arena;

/* An allocator over a, which it empties. */
ProtobufCAllocator ch__pb_arena_allocator(ch__pb_arena *a);

#endif
