/*
 * What ingest does with the answer of its idempotency claim (pipeline.c):
 * the one decision of the pipeline that depends on what happened to the
 * same gateway_message_id before. Pure: tests/unit/test_ingest_claim.c.
 *
 * The claim script answers {state, record}, the record being
 * "S|event_id|case_id|reference" or, for a pending claim,
 * "P|event_id|case_id|reference|since_ms" (S: P pending, D done, F failed;
 * since_ms: Redis's clock when the claim was taken). Every record lives for
 * the whole idempotency window (ingest.idempotency_ttl_s), so the
 * identifiers outlive any crash of the process that took the claim:
 *
 *   state 0  the id is new; the record holds this attempt's identifiers
 *            (and the reference the script allocated): produce
 *   state 1  an earlier attempt failed (F, now P again): produce again
 *            with the earlier attempt's identifiers
 *   state 2  an attempt exists: D, it was written (answer 200 with its
 *            identifiers, produce nothing); otherwise one is being written
 *            now, its claim younger than the lease (answer 409: retry for
 *            its answer)
 *   state 3  an attempt was claimed longer ago than the lease (Kafka's
 *            message.timeout.ms plus ingest.claim_grace_ms) and has no
 *            outcome: the process writing it is gone (killed after Kafka
 *            took the write, or before), so the script took the claim over
 *            (P again, a new since_ms): produce the SAME event again, same
 *            event id, case id and reference. Should the first write have
 *            landed, the topic holds the event twice under one event_id,
 *            and every consumer drops the second as a redelivery.
 *
 * A record written by an earlier version ("P|e|c|r", no since_ms) counts as
 * older than the lease.
 */
#ifndef CHARTER_INGEST_CLAIM_H
#define CHARTER_INGEST_CLAIM_H

#include <stddef.h>

#include "charter/ids.h"
#include "event_json.h" /* CH_CASE_ID_MAX */

typedef enum {
    INGEST_CLAIM_NEW = 0, /* produce, with the record's identifiers */
    INGEST_CLAIM_RETRY,   /* produce again, with the failed attempt's identifiers */
    INGEST_CLAIM_WRITING, /* 409: the first attempt is being written */
    INGEST_CLAIM_DONE,    /* 200: written already; the record says what was answered */
    INGEST_CLAIM_RETAKE,  /* produce again: the first attempt's writer is gone */
    INGEST_CLAIM_BAD,     /* unreadable: 503, retry later */
} ingest_claim_action;

typedef struct {
    char event_id[CH_UUID_BUFSZ];
    char case_id[CH_CASE_ID_MAX + 1];
    char reference[64];
} ingest_claim_ids;

/* The action for the script's state and record (len bytes, not
 * NUL-terminated); *ids is filled for every action but BAD. */
ingest_claim_action ingest_claim_decide(long long state, const char *record, size_t len,
                                        ingest_claim_ids *ids);

/* How long a claim stays pending before a retry may take it over: the
 * longest librdkafka may keep a write (message.timeout.ms; 0 means for
 * ever, taken as a day) plus grace_ms for its delivery report and outcome
 * record to arrive. */
long long ingest_claim_lease_ms(long long message_timeout_ms, long long grace_ms);

#endif
