/*
 * Reference counters reconciled with the contact topic at start
 * (reference.h says why). Every `received` event ingest wrote carries its
 * reference, and Kafka keeps them longer than Redis may lose (the AOF
 * window, a restore, a failover): the highest reference per organisation
 * and year on ingest.topic becomes that counter's floor before the first
 * request, so whatever Redis now holds, no reference on the topic is issued
 * again. A reference older than the topic's retention is not seen; the
 * counter it came from has issued higher ones since, which are.
 *
 * Start-up waits for the read (ingest.reconcile_timeout_ms) and fails if
 * Kafka cannot be read: answering contacts without the floors is what
 * reissued references.
 */
#include <stdio.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/policy_store.h"
#include "ingest.h"
#include "reference.h"

typedef struct {
    ingest *in;
    long long records, contacts;
    int failed;
} scan_state;

static void
scanned(void *arg, const void *value, size_t len)
{
    scan_state *st = arg;
    st->records++;
    if (!value)
        return;
    Charter__V1__CaseEvent *ev = charter__v1__case_event__unpack(NULL, len, value);
    if (!ev)
        return;
    if (ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_RECEIVED && ev->received->reference &&
        ev->organisation) {
        int year;
        long long n;
        const char *ref = ev->received->reference;
        if (ingest_reference_parse(ref, strlen(ref), &year, &n) == 0) {
            const ch_org_clocks *org =
                ch_org_set_find(ch_runtime_orgs(st->in->rt), ev->organisation);
            st->contacts++;
            if (ingest_ref_floor_raise(st->in->floors, org ? org->policy.id : ev->organisation,
                                       year, n) != 0)
                st->failed = 1;
        }
    }
    charter__v1__case_event__free_unpacked(ev, NULL);
}

int
reconcile_references(ingest *in, char *errstr, size_t errstr_size)
{
    scan_state st = {in, 0, 0, 0};
    char why[400];
    int rc = ch_runtime_topic_scan(in->rt, in->cfg->topic, in->cfg->reconcile_timeout_ms, scanned,
                                   &st, why, sizeof(why));
    if (rc == 0 && st.failed)
        rc = CH_ENOMEM;
    if (rc != 0) {
        snprintf(errstr, errstr_size,
                 "cannot reconcile case references with %s (%s): ingest reads the highest "
                 "reference of each organisation there before it issues new ones; start it "
                 "again once Kafka answers",
                 in->cfg->topic, rc == CH_ENOMEM ? "out of memory" : why);
        return rc;
    }
    CH_LOG_INFO(ch_runtime_log(in->rt), "case references reconciled with the contact topic",
                CH_STR("topic", in->cfg->topic), CH_INT("records", st.records),
                CH_INT("contacts", st.contacts),
                CH_INT("counters", (long long)ingest_ref_floors_count(in->floors)));
    return 0;
}
