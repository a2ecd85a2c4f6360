/*
 * The queue's names and its state machine as pure functions (see queue.h):
 * the one place the idempotency key "charter:notify:{<case>}:<what>" is
 * written, and what each record and each result lead to.
 */
#include <stdio.h>
#include <string.h>

#include "charter/errors.h"
#include "queue.h"

int
notify_case_id_ok(const char *case_id)
{
    return case_id && !strchr(case_id, '}') && !strchr(case_id, '/') && strlen(case_id) <= 100;
}

static int
make(notify_ids *ids, const char *case_id, size_t case_len, const char *what)
{
    int a = snprintf(ids->id, sizeof(ids->id), "%.*s/%s", (int)case_len, case_id, what);
    int b = snprintf(ids->idem_key, sizeof(ids->idem_key), "charter:notify:{%.*s}:%s",
                     (int)case_len, case_id, what);
    int c = snprintf(ids->job_key, sizeof(ids->job_key), "%s:job", ids->idem_key);
    if (a < 0 || (size_t)a >= sizeof(ids->id) || b < 0 || (size_t)b >= sizeof(ids->idem_key) ||
        c < 0 || (size_t)c >= sizeof(ids->job_key))
        return CH_EINVAL;
    return 0;
}

int
notify_ids_make(notify_ids *ids, const char *case_id, const char *what)
{
    if (!notify_case_id_ok(case_id) || !what || !what[0])
        return CH_EINVAL;
    return make(ids, case_id, strlen(case_id), what);
}

int
notify_ids_parse(notify_ids *ids, const char *member)
{
    const char *slash = strchr(member, '/');
    if (!slash || !slash[1] || strlen(member) >= sizeof(ids->id))
        return CH_EINVAL;
    return make(ids, member, (size_t)(slash - member), slash + 1);
}

notify_claim_step
notify_claim_step_of(const char *record)
{
    if (!record)
        return NOTIFY_CLAIM_SEND;
    if (strcmp(record, "sent") == 0)
        return NOTIFY_CLAIM_ANNOUNCE;
    if (strcmp(record, "failed") == 0 || strcmp(record, "unknown") == 0)
        return NOTIFY_CLAIM_REMOVE;
    if (strcmp(record, "committed") == 0)
        return NOTIFY_CLAIM_RESEND;
    if (strcmp(record, "parked") == 0)
        return NOTIFY_CLAIM_PARKED;
    return NOTIFY_CLAIM_SEND;
}

notify_after
notify_after_attempt(notify_result r, int attempts_before, int64_t max_attempts)
{
    notify_after a = {r, NULL, 0, 0};
    if (r == NOTIFY_TEMP && attempts_before + 1 >= max_attempts)
        a.gave_up = a.park = 1;
    if (r == NOTIFY_AUTH)
        a.park = 1;
    static const char *const record[] = {"sent", "queued", "failed", "unknown", "parked"};
    a.record = a.park ? "parked" : record[a.r];
    return a;
}
