/*
 * charter-sla-timer's private context, handed to every handler, and the
 * entry points main.c wires into the runtime's descriptor:
 *
 *   case event -> case_sync.c: one event of a case at a time, in order (the
 *                 runtime's per-case lanes, order_by_key), read the case's
 *                 state, decide the change (timer_plan.c), apply it to the
 *                 store (timer_store.c), save the state
 *   due timer  -> fire.c: the store claims it, fire.c writes it to Kafka and
 *                 tells the store when Kafka has it
 *
 * The policies are the runtime's (charter/policy_store.h): looked up again
 * after every round trip, never kept. Nothing here is shared with other
 * services.
 */
#ifndef CHARTER_SLA_H
#define CHARTER_SLA_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "charter/runtime.h"
#include "timer_event.h"
#include "timer_store.h"

typedef struct {
    char *topic_in;  /* sla.contacts_topic */
    char *topic_out; /* sla.timers_topic */
    char *policy_dir;
    int64_t lease_ms;
    char *timer_format; /* sla.timer_format: compact or text */
} sla_config;

/* Partitions of the case-event topic the census can count (census.c). */
#define SLA_MAX_PARTITIONS 1024

typedef struct {
    ch_runtime *rt;
    const sla_config *cfg;
    sla_timer_store *store;
    int state_json; /* sla.timer_format = text: case states saved as JSON, as before issue 16 */
    ch_metric *m_scheduled, *m_fired, *m_events, *m_late_ms, *m_lateness;
    ch_metric *m_pending, *m_overdue, *m_inflight;
    ch_metric *m_partial;                  /* compact timers fired without a full rebuild */
    struct sla_reread *rereads;            /* fire.c: compact timers reading their state again */
    sla_timer_plan_cache *plans;           /* fire.c: the last case's plan, per claimed batch */
    int stopping;                          /* fire.c: no new rereads once set */
    uint8_t owned[SLA_MAX_PARTITIONS / 8]; /* partitions assigned here */
    int census_running;
    int64_t census_ms; /* the last census' start */
} sla;

/* census.c: the descriptor's tick; counts the owned partitions' timers
 * into m_pending, m_overdue and m_inflight every 15 s. */
void sla_census_tick(void *svc, int64_t now_ms);
/* Notes that partition is (owned 1) or is no longer (0) this instance's. */
void sla_census_own(sla *s, int32_t partition, int owned);

/*
 * case_sync.c: the descriptor's on_message for case events (svc is the sla).
 * The runtime hands a case's events over one at a time (order_by_key).
 * Finishes m exactly once.
 */
void sla_case_event(void *svc, ch_msg *m, const ProtobufCMessage *msg);

/* fire.c: the store's fire callback (opaque is the sla). Builds the
 * TimerFired (stored, or rebuilt from the case's state), stamps fired_at,
 * writes it to sla.timers_topic and calls sla_timer_fire_done once Kafka
 * has answered. */
void sla_fire(void *opaque, sla_timer_fire *f, int32_t partition, const sla_timer_fired *t,
              int64_t now_ms);
/* fire.c: gives back the timers waiting to read their case's state again
 * (they stay leased and fire again when the lease expires). At stop. */
void sla_fire_stop(sla *s);

#endif
