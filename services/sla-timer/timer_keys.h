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
 *   <prefix>:{t<P>}:due       sorted set: timer id -> due time (ms)
 *   <prefix>:{t<P>}:inflight  sorted set: timer id -> lease expiry (ms)
 *   <prefix>:{t<P>}:timers    hash: timer id -> stored TimerFired (protobuf)
 *   <prefix>:case:{<case>}:sla  the case's state (JSON, case_clock.h)
 * The "{t<P>}" hash tag keeps a partition's keys in one Redis Cluster slot.
 *
 * A timer id is "<case>/<kind>[/<n>]" (ch_case_timers): a kind starts with a
 * letter (then letters, '_' and digits: "review_warning_1"), n is a number,
 * and the case id comes first.
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

#endif
