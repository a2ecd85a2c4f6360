/*
 * The claim decision (claim.h), apart from Redis and Kafka so that each
 * answer the script can give is tested on its own.
 */
#include "claim.h"

#include <string.h>

/* "S|event_id|case_id|reference[|since_ms]" -> the identifiers; 0, or -1 when
 * a part is missing or too long. since_ms, when present, is digits only. */
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
    char *since = strchr(ref, '|');
    if (since) {
        *since++ = '\0';
        if (!*since || strspn(since, "0123456789") != strlen(since))
            return -1;
    }
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
    case 3:
        return record[0] == 'P' ? INGEST_CLAIM_RETAKE : INGEST_CLAIM_BAD;
    default:
        return INGEST_CLAIM_BAD;
    }
}

long long
ingest_claim_lease_ms(long long message_timeout_ms, long long grace_ms)
{
    if (message_timeout_ms <= 0) /* 0: librdkafka never gives up; a day is our bound */
        message_timeout_ms = 24LL * 3600 * 1000;
    return message_timeout_ms + (grace_ms > 0 ? grace_ms : 0);
}
