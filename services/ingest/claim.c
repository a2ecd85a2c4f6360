/*
 * The claim decision (claim.h), apart from Redis and Kafka so that each
 * answer the script can give is tested on its own.
 */
#include "claim.h"

#include <string.h>

/* "S|event_id|case_id|reference" -> the identifiers; 0, or -1 when a part is
 * missing or too long. */
static int
parse_record(const char *v, size_t len, ingest_claim_ids *ids)
{
    char buf[320];
    if (len < 2 || len >= sizeof(buf) || v[1] != '|')
        return -1;
    memcpy(buf, v, len);
    buf[len] = '\0';
    char *eid = buf + 2, *cid = strchr(eid, '|');
    if (!cid)
        return -1;
    *cid++ = '\0';
    char *ref = strchr(cid, '|');
    if (!ref)
        return -1;
    *ref++ = '\0';
    if (strlen(eid) >= sizeof(ids->event_id) || strlen(cid) >= sizeof(ids->case_id) ||
        strlen(ref) >= sizeof(ids->reference))
        return -1;
    strcpy(ids->event_id, eid);
    strcpy(ids->case_id, cid);
    strcpy(ids->reference, ref);
    return 0;
}

ingest_claim_action
ingest_claim_decide(long long state, const char *record, size_t len, ingest_claim_ids *ids)
{
    if (!record || parse_record(record, len, ids) != 0)
        return INGEST_CLAIM_BAD;
    switch (state) {
    case 0:
        return INGEST_CLAIM_NEW;
    case 1:
        return INGEST_CLAIM_RETRY;
    case 2:
        return record[0] == 'D' ? INGEST_CLAIM_DONE : INGEST_CLAIM_WRITING;
    default:
        return INGEST_CLAIM_BAD;
    }
}
