/*
 * The timer store: durable timers in Redis, fired on time without polling.
 *
 * WHY IT IS BUILT THIS WAY (DESIGN.md §3)
 * - One Redis sorted set per partition ("<prefix>:{t<P>}:due", score = due
 *   time in ms), an in-flight set with leases ("...:inflight") and a hash of
 *   payloads ("...:timers") for timers kept in text form; timer_keys.h has
 *   the layout and the two forms of a member. A compact member has no
 *   payload: the claim reads its case's state (one MGET per batch) and the
 *   fire callback rebuilds the event from it (fire.c). The "{t<P>}" hash
 *   tag keeps a partition's keys in one Redis Cluster slot, so every script
 *   touches one slot.
 * - Whoever owns partition P (Kafka's consumer group decides) owns its
 *   timers: the store knows P's next due time and sets one libevent timer for
 *   exactly then. Nothing polls, and blocking commands' hz-granular timeouts
 *   are not involved.
 * - Claiming is one Lua script that takes "now" from Redis TIME (one clock
 *   for every instance), moves due timers to the in-flight set with a lease,
 *   and answers with them and the next due time. It works on the batch as a
 *   set: a burst costs a few commands per batch, not per timer. A fired
 *   timer is deleted only when the caller says its event is safely written
 *   (sla_timer_fire_done(f, 1)), together with the others done in the same
 *   loop turn (one script call per partition); otherwise the lease expires
 *   and it fires again, with the same id.
 * - Schedules and cancels are coalesced: a partition's calls made in one
 *   loop turn go to Redis as one call at the turn's end (up to 1,000 timers
 *   each), and each caller is answered with its outcome. A schedule is one
 *   MULTI/EXEC of plain commands (ZADD, ZREM, ...; timer_store.c), not a
 *   Lua script, whose own cost was most of a schedule's. Together: 3.1x the
 *   scheduling rate per case (docs/benchmarks.md, issue 16's fourth round).
 * - The claim, cancel and acknowledgement scripts run by SHA (the runtime's ch_redis_script: EVALSHA, and EVAL
 *   with the text only after a NOSCRIPT).
 *
 * All callbacks run on the runtime's loop.
 */
#ifndef CHARTER_SLA_TIMER_STORE_H
#define CHARTER_SLA_TIMER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "charter/runtime.h"

typedef struct sla_timer_store sla_timer_store;
typedef struct sla_timer_fire sla_timer_fire;

/* One claimed timer, as the fire callback gets it (everything borrowed
 * until sla_timer_fire_done). */
typedef struct {
    const char *id; /* the timer id, as text, whichever form the member is in */
    int compact;    /* 1: stored without a payload (timer_keys.h, MEMBERS) */
    /* The due time the store had (the claimed score), or -1 when the timer
     * was claimed again after its lease ran out (the score was the lease). */
    int64_t due_ms;
    /* Text form: the stored TimerFired. */
    const uint8_t *payload;
    size_t len;
    /* Compact form: the case's state as read from Redis at the claim
     * (charter:case:{<case>}:sla: packed, or JSON stored before; case_clock.h:
     * ch_case_state_unpack), or NULL when the case has none. */
    const char *state;
    size_t state_len;
    /* Compact form: the claimed batch's number, never 0 and never reused:
     * a batch's timers come from one MGET answer, handed over in one loop
     * turn, so a case's state (and the policies) are the same for all of
     * them (timer_event.h, sla_timer_plan_cache). 0 for a text timer. */
    uint64_t batch;
} sla_timer_fired;

/*
 * Called for each claimed timer. `now_ms` is Redis's time at the claim. The
 * callee must call sla_timer_fire_done(f, ...) exactly once, now or later.
 * A batch's compact timers are handed over once one MGET has read their
 * cases' states; a batch's text ones at once.
 */
typedef void (*sla_timer_fire_fn)(void *opaque, sla_timer_fire *f, int32_t partition,
                                  const sla_timer_fired *t, int64_t now_ms);

/* delivered = 1: the timer is deleted (at the end of this loop turn, with
 * the others delivered in it). 0: it stays leased and fires again when the
 * lease expires. Frees f either way. */
void sla_timer_fire_done(sla_timer_fire *f, int delivered);

typedef struct {
    const char *id; /* stable: the same id replaces an earlier timer */
    int64_t due_ms;
    /* The TimerFired to store with a timer kept in text form; unused (and
     * not built: payload NULL is fine) for one the store packs. */
    const uint8_t *payload;
    size_t len;
} sla_timer_spec;

/* How new timers are stored (sla.timer_format): compact packs every id that
 * can be packed and stores no payload; text stores them as before issue 16
 * (the id as text, its TimerFired in the :timers hash). Either reads both. */
typedef enum { SLA_TIMER_COMPACT, SLA_TIMER_TEXT } sla_timer_format;

/* rc 0 when Redis applied the change, CH_EAGAIN otherwise. */
typedef void (*sla_timer_store_cb)(void *opaque, int rc);

/*
 * Creates a store on the runtime's loop and Redis, from init (it registers
 * its scripts). `prefix` starts every key (SLA_KEY_PREFIX; at most
 * SLA_KEY_PREFIX_MAX characters). NULL on ENOMEM. Free with
 * sla_timer_store_free.
 */
sla_timer_store *sla_timer_store_new(ch_runtime *rt, const char *prefix, int64_t lease_ms,
                                     sla_timer_format format, sla_timer_fire_fn fire, void *opaque);

/* 1 when a spec with this id is stored compact (no payload needed). */
int sla_timer_store_packs(const sla_timer_store *st, const char *id);
void sla_timer_store_free(sla_timer_store *st);

/* Call when Redis (re)connects: re-claims owned partitions (a claim lost
 * with the connection would otherwise leave them unarmed). */
void sla_timer_store_redis_ready(sla_timer_store *st);

/* Starts firing partition P's timers (claims at once: catch-up). */
int sla_timer_store_own(sla_timer_store *st, int32_t partition);
/* Stops firing P's timers (revocation); timers in flight still complete. */
void sla_timer_store_disown(sla_timer_store *st, int32_t partition);
/* Disowns every partition (shutdown). */
void sla_timer_store_stop(sla_timer_store *st);

/*
 * Adds or replaces timers of partition P. Returns 0 and later calls cb
 * exactly once (cb may be NULL), or CH_EAGAIN/CH_ENOMEM without calling it.
 */
int sla_timer_store_schedule(sla_timer_store *st, int32_t partition, const sla_timer_spec *timers,
                             size_t n, sla_timer_store_cb cb, void *opaque);

/* Removes timers of partition P by id (due, in flight or both). Same
 * contract as schedule. */
int sla_timer_store_cancel(sla_timer_store *st, int32_t partition, const char *const *ids, size_t n,
                           sla_timer_store_cb cb, void *opaque);

/*
 * The store's arming rules, pure so the unit tests can hold them
 * (tests/unit/test_sla_timer_store.c). A partition learns its next due time
 * (or lease expiry, -1 none) from every claim and schedule answer, and
 * decides what to do next from that and its own state.
 */
typedef enum {
    SLA_TIMER_IDLE,   /* nothing to do: the partition's timer stays as it is */
    SLA_TIMER_ARM,    /* set the partition's timer for the next due time */
    SLA_TIMER_CLAIM,  /* claim again now */
    SLA_TIMER_WAIT,   /* claim again once the timers fired so far are done */
    SLA_TIMER_RESCAN, /* claim again after the claim in flight answers */
} sla_timer_step;

/* After a claim answered: `more` when it took a full batch or timers were
 * added while it ran; `outstanding` timers fired and not yet done. A
 * partition never has more than one batch out at once. */
sla_timer_step sla_timer_after_claim(int more, int outstanding, int64_t next_ms);

/* After a schedule answered: a claim in flight may not have seen the new
 * timers; otherwise only a due time earlier than the one armed for (or any,
 * when not armed) moves the partition's timer. */
sla_timer_step sla_timer_after_schedule(int claiming, int armed, int64_t armed_for,
                                        int64_t next_ms);

#endif
