/*
 * The send queue: every notification waits in one Redis sorted set
 * ("charter:notify:queue", score = when it may go, member = notification
 * id) beside its idempotency record ("charter:notify:{<case>}:<what>") and
 * the rendered message ("...:job", a hash). Nothing waits in memory, so a
 * restart loses no retry and no held text message.
 *
 * The idempotency record is the state machine:
 *
 *   (none) --put--> queued --send--> sent
 *                     |  ^            failed   (refused)
 *                     |  |            unknown  (may or may not have arrived)
 *                     |  '--retry--   parked   (retry budget spent, or our
 *                     |  '--replay--  <-'       credentials refused)
 *                     '--commit--> committed --next claim--> the transport decides
 *
 * "queued": nothing reached the receiver, send. "committed" (a transport's
 * point of no return, SMTP's end of data): an attempt may have delivered;
 * the next claim tells the transport (notify_message.committed), which
 * reports unknown or, where the receiver drops repeats, sends again.
 * "sent", "failed", "unknown": settled; a claim only removes it (and
 * announces "sent" again). "parked": nothing reached the receiver and the
 * retry budget (notify.max_attempts) is spent, or the receiver refused our
 * credentials (401/403): the message leaves the queue for the parked set
 * ("charter:notify:parked", score = when parked) with its message kept,
 * counted in charter_notify_parked_total and logged as an error for the
 * operator; `charterctl notify replay` puts it back as "queued" with its
 * attempts reset. Nothing is failed for an outage, however long. HTTP, Kafka and file sends never
 * leave "queued": each carries the notification id as its idempotency reference, so a repeat after
 * a crash is dropped by the receiver.
 *
 * The decisions are pure functions (queue_state.c, unit-tested); queue.c
 * does the Redis and the transports around them.
 */
#ifndef CHARTER_NOTIFY_QUEUE_H
#define CHARTER_NOTIFY_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "notify.h"
#include "transport.h"

#define NOTIFY_QUEUE_KEY "charter:notify:queue"
#define NOTIFY_PARKED_KEY "charter:notify:parked" /* charterctl notify has the same names */

/* How long a notification's record (its outcome, for exactly-once) and its
 * job (the rendered message: personal data) are kept: notify.record_ttl_days
 * and notify.job_ttl_days, in seconds for EX and EXPIRE. */
static inline int
notify_record_ttl_s(const notify *n)
{
    return (int)(n->cfg->record_ttl_days * 86400);
}
static inline int
notify_job_ttl_s(const notify *n)
{
    return (int)(n->cfg->job_ttl_days * 86400);
}

/* A customer notice the transport took keeps a delivery record beside its
 * idempotency record ("<idem_key>:delivery", a hash without personal data:
 * kind, channel, transport, reference, what was tried) for this long, so a
 * provider's receipt (receipts.h) finds it after the message is gone. */
#define NOTIFY_DELIVERY_SUFFIX ":delivery"
#define NOTIFY_DELIVERY_TTL_S (30 * 86400)

/* queue_census.c: counts the queue into notify's queue gauges, at most
 * every 15 s (the service's tick). */
void notify_queue_census(notify *n, int64_t now_ms);

/* ---- names (queue_state.c, pure) ---- */

/* A notification's names, made only by notify_ids_make and _parse. */
typedef struct {
    char id[200];       /* "<case>/<what>": the queue member and every receiver's reference */
    char idem_key[260]; /* "charter:notify:{<case>}:<what>": its record */
    char job_key[270];  /* "<idem_key>:job": the message */
} notify_ids;

/* 1 when case_id can name notifications: no '}' or '/', at most 100 bytes. */
int notify_case_id_ok(const char *case_id);

/* Names notification `what` of a case. Returns 0, or CH_EINVAL when the
 * case id cannot name one or the name is too long. */
int notify_ids_make(notify_ids *ids, const char *case_id, const char *what);

/* The names of a queue member "<case>/<what>". Returns 0 or CH_EINVAL. */
int notify_ids_parse(notify_ids *ids, const char *member);

/* ---- the state machine (queue_state.c, pure) ---- */

/* What a claimed notification's record lets it do. */
typedef enum {
    NOTIFY_CLAIM_SEND,     /* none or "queued": send */
    NOTIFY_CLAIM_RESEND,   /* "committed": send with notify_message.committed */
    NOTIFY_CLAIM_ANNOUNCE, /* "sent": announce it again, remove it */
    NOTIFY_CLAIM_REMOVE,   /* "failed", "unknown": remove it */
    NOTIFY_CLAIM_PARKED,   /* "parked": out of the queue, the message kept for a replay */
} notify_claim_step;

notify_claim_step notify_claim_step_of(const char *record);

/* What an attempt's result does. */
typedef struct {
    notify_result r;    /* the transport's */
    const char *record; /* the record it leaves: "sent", "queued", "failed", "unknown", "parked" */
    int gave_up;        /* 1: a temporary failure on the last attempt of max_attempts */
    int park;           /* 1: parked (gave_up, or NOTIFY_AUTH) rather than retried or failed */
} notify_after;

/* After attempt number attempts_before + 1 of at most max_attempts. */
notify_after notify_after_attempt(notify_result r, int attempts_before, int64_t max_attempts);

/* ---- the queue (queue.c) ---- */

/* Sets up the claim loop. Returns 0 or CH_ENOMEM with errstr. */
int notify_queue_new(notify *n, notify_queue **out, char *errstr, size_t errstr_size);

/* Frees the queue and the sends it still holds: after every transport's
 * cancel_all (nothing may answer a send afterwards). NULL-safe. */
void notify_queue_free(notify_queue *q);

/* Looks for due notifications soon (on the next loop turn). */
void notify_queue_kick(notify_queue *q);

/* Stops claiming (shutdown): what is being sent finishes. */
void notify_queue_stop(notify_queue *q);

/* 1 while a claim or a claimed notification is not yet settled on its
 * record (being sent, or its outcome on its way to Redis): shutdown waits
 * for 0 (notify.shutdown_grace_ms), so no send is cut off and no lease is
 * left to expire into a second send. */
int notify_queue_busy(const notify_queue *q);

/*
 * The answer to notify_queue_put: `record` is "new" when it was queued now,
 * else the record that was already there ("queued", "sent", ...); NULL when
 * nothing was queued (Redis refused), with `error` saying why.
 */
typedef void (*notify_put_fn)(void *opaque, const char *record, const char *error);

/*
 * Queues message m (its strings copied into Redis) for `transport`, due at
 * due_ms, in one script together with its record, unless a record already
 * exists. `about` names the notification a staff note is about ("": none): a
 * note produces no outcome events. Returns 0 and calls cb exactly once (cb
 * may be NULL), or CH_EAGAIN and never calls it.
 */
int notify_queue_put(notify_queue *q, const notify_ids *ids, const notify_message *m,
                     const char *transport, int64_t due_ms, const char *about, notify_put_fn cb,
                     void *opaque);

#endif
