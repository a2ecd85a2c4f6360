/*
 * What ingest does with the answer of its idempotency claim (pipeline.c):
 * the one decision of the pipeline that depends on what happened to the
 * same gateway_message_id before. Pure: tests/unit/test_ingest_claim.c.
 *
 * The claim script answers {state, record}, the record being
 * "S|event_id|case_id|reference" (S: P pending, D done, F failed):
 *
 *   state 0  the id is new; the record holds this attempt's identifiers
 *            (and the reference the script allocated): produce
 *   state 1  an earlier attempt failed (F, now P again): produce again
 *            with the earlier attempt's identifiers
 *   state 2  an attempt exists: D, it was written (answer 200 with its
 *            identifiers, produce nothing); otherwise one is being written
 *            now (answer 409: retry for its answer)
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

#endif
