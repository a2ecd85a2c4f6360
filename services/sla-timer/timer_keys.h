/*
 * sla-timer's names in Redis and in the timer store, in one place: the
 * service, the benchmark and `charterctl timers` all read them from here.
 *
 * WHY A SEPARATE LIBRARY
 * charterctl reads the store's keys directly (read-only) and must not link
 * the runtime (librdkafka, libevent) to learn three key names, so this file
 * pair is its own library (charter_sla_keys) that links nothing but libc.
 *
 * The layout, for partition P of the case-event topic:
 *   <prefix>:{t<P>}:due       sorted set: member -> due time (ms)
 *   <prefix>:{t<P>}:inflight  sorted set: member -> lease expiry (ms)
 *   <prefix>:{t<P>}:timers    hash: text member -> stored TimerFired (protobuf)
 *   <prefix>:case:{<case>}:sla  the case's state (packed CaseClockState, case_clock.h)
 * The "{t<P>}" hash tag keeps a partition's keys in one Redis Cluster slot.
 *
 * A timer id is "<case>/<kind>[/<n>]" (ch_case_timers): a kind starts with a
 * letter (then letters, '_' and digits: "review_warning_1"), n is a number,
 * and the case id comes first. A refused extension's warnings are
 * "<case>/warning/<tier>/extended/<s>".
 *
 * MEMBERS: THE TIMER ID, PACKED WHEN IT CAN BE (issue 16)
 * A sorted-set member is the timer id itself, in one of two forms:
 * - compact: when the case id is a UUID written in one case (all lower or
 *   all upper) and the rest of the id is one of the kinds ch_case_timers
 *   makes, the member is a 0x00 byte, the 16 bytes of the UUID, one byte
 *   naming the kind (bit 7: the UUID was upper-case) and each of the kind's
 *   numbers as a varint: 18-21 bytes instead of 50-70. It has no payload in
 *   the :timers hash: sla-timer rebuilds its TimerFired from the case's
 *   state when it fires (fire.c).
 * - text: anything else is the id as it is, with its TimerFired in :timers
 *   (every timer stored before issue 16 is in this form).
 * A text id is a C string (a case id never holds a NUL), so it never starts
 * with 0x00, and packing is checked by unpacking: a member is compact only
 * when it gives back the very same text. No table maps one to the other.
 */
#ifndef CHARTER_SLA_TIMER_KEYS_H
#define CHARTER_SLA_TIMER_KEYS_H

#include <stddef.h>
#include <stdint.h>

/* The prefix sla-timer's keys start with. */
#define SLA_KEY_PREFIX "charter"
/* Longest prefix the store accepts, and room for one partition key. */
#define SLA_KEY_PREFIX_MAX 31
#define SLA_TIMER_KEY_MAX 64
/* Room for the case state key of a case id of up to 64 characters. */
#define SLA_CASE_KEY_MAX 160

/* The three keys of one partition. */
typedef struct {
    char due[SLA_TIMER_KEY_MAX];
    char inflight[SLA_TIMER_KEY_MAX];
    char timers[SLA_TIMER_KEY_MAX];
} sla_timer_keys;

/* Fills k with partition P's keys under prefix (at most SLA_KEY_PREFIX_MAX
 * characters; a longer one is cut). */
void sla_timer_keys_of(const char *prefix, int32_t partition, sla_timer_keys *k);

/* The SCAN pattern that matches every partition's due set under prefix
 * ("charter:{t*}:due"). Returns buf. */
char *sla_timer_keys_due_pattern(const char *prefix, char *buf, size_t bufsz);

/* Reads a due-set key ("<prefix>:{t<P>}:due", as SCAN returns it) and fills k
 * with that partition's keys. Returns the partition (>= 0), or -1 when
 * due_key is not a due-set key. */
int32_t sla_timer_keys_from_due(const char *due_key, sla_timer_keys *k);

/* The key of a case's state ("charter:case:{<case>}:sla"). Returns 0, or -1
 * when it does not fit in bufsz. */
int sla_case_state_key(const char *case_id, char *buf, size_t bufsz);

/* The length of the case id at the start of timer id "<case>/<kind>[/<n>]".
 * A case id may hold a '/' of its own: the kind and number are taken from
 * the end. An id with no '/' is all case id. */
size_t sla_timer_id_case_len(const char *timer_id);

/* 1 when timer_id is one of case_id's timers, else 0. */
int sla_timer_id_of_case(const char *timer_id, const char *case_id);

/* The longest member either form gives (a text id is at most
 * SLA_TIMER_ID_MAX - 1 characters: ch_case_timer's id). */
#define SLA_TIMER_ID_MAX 160
#define SLA_TIMER_MEMBER_MAX SLA_TIMER_ID_MAX

/* The kinds a compact member can name, in its kind byte (never renumber:
 * they are stored). */
enum {
    SLA_KIND_ACKNOWLEDGEMENT_DUE = 1, /* acknowledgement_due */
    SLA_KIND_BREACH,                  /* breach */
    SLA_KIND_WAIT_EXCEEDED,           /* wait_exceeded */
    SLA_KIND_REMINDER,                /* reminder */
    SLA_KIND_CALLBACK_DUE,            /* callback_due */
    SLA_KIND_WARNING,                 /* warning/<tier> */
    SLA_KIND_WARNING_EXTENDED,        /* warning/<tier>/extended/<s> */
    SLA_KIND_REVIEW_DUE,              /* review_due/<cycle> */
    SLA_KIND_REVIEW_OVERDUE,          /* review_overdue/<cycle> */
    SLA_KIND_REVIEW_WARNING,          /* review_warning_<tier>/<cycle> */
    SLA_KIND_EXTENSION_REFUSED,       /* extension_refused/<n> */
};

/*
 * Packs timer id `id` into its compact member (see MEMBERS above) in out
 * (cap bytes; SLA_TIMER_MEMBER_MAX is always enough). Returns the member's
 * length, or 0 when the id keeps its text form (then out is untouched): its
 * case id is not a UUID in one case, its kind is not in the table, a number
 * is not written as ch_case_timers writes it (e.g. a leading zero), or it
 * would not unpack to exactly the same text.
 */
size_t sla_timer_id_pack(const char *id, uint8_t *out, size_t cap);

/*
 * The timer id of a member (len bytes, either form) as text in out (cap
 * bytes, NUL-terminated). Returns 1 for a compact member, 0 for a text one,
 * -1 when the member is neither (a compact one that does not decode, a text
 * one holding a NUL) or its text does not fit in cap.
 */
int sla_timer_id_unpack(const uint8_t *member, size_t len, char *out, size_t cap);

/* 1 when the member (len bytes) is in the compact form (starts with 0x00). */
static inline int
sla_timer_member_compact(const void *member, size_t len)
{
    return len > 0 && ((const uint8_t *)member)[0] == 0;
}

#endif
