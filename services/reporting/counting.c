/*
 * Counting a record: count and read (one script) -> counted (the plan, the
 * page record) -> write (one script: case, figures, open set, page; the
 * reference index beside it) -> written.
 *
 * Each record is counted at most once whatever Kafka redelivers: the store's
 * count script records its id and adds to the counts atomically (fired
 * timers by their stable timer id, so a timer fired twice counts once). The
 * figures step then runs for repeats too: it is idempotent by itself (a
 * redelivered record moves its case by nothing; report_agg.h says why) and
 * finishes a record whose first attempt stopped after counting. It reads the
 * case, plans the change (counting.h, pure) and writes it with a
 * compare-and-set; a case changed meanwhile is retried from the record.
 * The runtime hands over a case's records one at a time in the order they
 * were consumed (order_by_key), so that happens only when two reporting
 * instances share a case during a rebalance, and a case's later record is
 * never applied before an earlier one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/timeutil.h"
#include "charter/v1/case_event.pb-c.h"
#include "charter/v1/notification.pb-c.h"
#include "charter/v1/timer.pb-c.h"
#include "casepage.h"
#include "reporting.h"
#include "store.h"

/* ---- the decisions (counting.h) ---- */

const char *
report_count_refusal(const ch_report_counted *c)
{
    if (!c->organisation[0] || !c->event_id[0])
        return "event without organisation or id";
    if (strlen(c->organisation) >= REPORT_ORG_MAX || strpbrk(c->organisation, "{}") ||
        strlen(c->case_id) >= REPORT_CASE_MAX)
        return "organisation or case id too long or with braces";
    return NULL;
}

int
report_delta_periods(const ch_report_item *delta, size_t n,
                     char (*periods)[CH_REPORT_KEY_PERIOD_MAX])
{
    int np = 0;
    for (size_t i = 0; i < n && np < 3; i++) {
        ch_report_key_span k;
        if (ch_report_key_split(delta[i].key, &k) != 0 || k.period_len == 0 ||
            k.period_len >= CH_REPORT_KEY_PERIOD_MAX)
            continue;
        int known = 0;
        for (int j = 0; j < np && !known; j++)
            known = strncmp(periods[j], k.period, k.period_len) == 0 && !periods[j][k.period_len];
        if (known)
            continue;
        memcpy(periods[np], k.period, k.period_len);
        periods[np++][k.period_len] = '\0';
    }
    return np;
}

static int
apply(const ch_org_clocks *oc, ch_report_case *rc, const ProtobufCMessage *msg,
      ch_report_item *delta)
{
    if (msg->descriptor == &charter__v1__case_event__descriptor)
        return ch_report_on_case_event(oc, rc, (const Charter__V1__CaseEvent *)msg, delta,
                                       CH_REPORT_MAX_ITEMS);
    if (msg->descriptor == &charter__v1__timer_fired__descriptor)
        return ch_report_on_timer(oc, rc, (const Charter__V1__TimerFired *)msg, delta,
                                  CH_REPORT_MAX_ITEMS);
    return ch_report_on_outcome(oc, rc, (const Charter__V1__NotificationOutcome *)msg, delta,
                                CH_REPORT_MAX_ITEMS);
}

int
report_case_plan_make(const ch_org_clocks *oc, const char *case_id, const char *old_state,
                      size_t len, const ProtobufCMessage *msg, report_case_plan *out)
{
    memset(out, 0, sizeof(*out));
    out->open_op = "";
    ch_report_case rc;
    memset(&rc, 0, sizeof(rc));
    if (old_state) {
        if (!(out->old_state = malloc(len + 1)))
            return CH_ENOMEM;
        memcpy(out->old_state, old_state, len);
        out->old_state[len] = '\0';
        out->old_len = len;
        int read = ch_report_case_unpack(old_state, len, &rc);
        if (read == CH_ENOMEM)
            return CH_ENOMEM;
        out->state_unreadable = read != 0;
    }
    if (!(out->delta = malloc(CH_REPORT_MAX_ITEMS * sizeof(*out->delta))))
        return CH_ENOMEM;
    int n = apply(oc, &rc, msg, out->delta);
    if (n < 0)
        return n == CH_ENOMEM ? CH_ENOMEM : CH_EBADMSG;
    out->ndelta = n;
    if (!(out->state = ch_report_case_pack(&rc, &out->state_len)))
        return CH_ENOMEM;
    if (n == 0 && out->old_state && out->state_len == out->old_len &&
        memcmp(out->state, out->old_state, out->old_len) == 0) {
        out->unchanged = 1;
        return 0;
    }
    int in = ch_report_open_entry(oc, &rc, case_id, out->member, sizeof(out->member), &out->due_ms);
    out->open_op = in == 1 ? "add" : in == 0 ? "rem" : "";
    if (in < 0)
        out->member[0] = '\0';
    out->nperiods = report_delta_periods(out->delta, (size_t)n, out->periods);
    return 0;
}

void
report_case_plan_free(report_case_plan *p)
{
    free(p->old_state);
    free(p->state);
    free(p->delta);
    memset(p, 0, sizeof(*p));
}

/* ---- the chain ---- */

typedef struct {
    reporting *r;
    ch_msg *m;
    const ProtobufCMessage *msg;
    char org[REPORT_ORG_MAX];
    char case_id[REPORT_CASE_MAX];
    report_case_plan plan;
    int wrote_case; /* the write holds the plan's change (its periods are due snapshots) */
} count_ctx;

static void
ctx_done(count_ctx *c, int rc, const char *why)
{
    ch_msg_done(c->m, rc, why);
    report_case_plan_free(&c->plan);
    free(c);
}

static void
written(void *opaque, int rc, const char *why)
{
    count_ctx *c = opaque;
    if (rc == CH_EEXIST)
        ch_metric_add(c->r->m_conflicts, 1);
    if (rc != 0) {
        ctx_done(c, CH_EAGAIN, why);
        return;
    }
    /* a period no longer kept gets no snapshot: its hash is gone, and a snapshot of
     * nothing would replace the last one on the compacted topic */
    int64_t now_s = ch_time_now_ms() / 1000, at;
    int months = (int)c->r->cfg->retention_months;
    for (int i = 0; c->wrote_case && i < c->plan.nperiods; i++)
        if (months < 1 || ch_report_period_expiry(c->plan.periods[i], months, &at) != 0 ||
            at > now_s)
            report_mark_dirty(c->r, c->org, c->plan.periods[i]);
    ctx_done(c, 0, NULL);
}

/* The plan made: the case's change (unless unchanged) and its page record's
 * (casepage.h; unless the record changes nothing on it) in one write. */
static void
write_step(count_ctx *c, const char *page, size_t page_len)
{
    const report_case_plan *p = &c->plan;
    int64_t due = !strcmp(p->open_op, "add") ? p->due_ms : !strcmp(p->open_op, "rem") ? 0 : -1;
    char *text = NULL, ref[64];
    if (report_page_apply(page, page_len, c->msg, due, &text, ref, sizeof(ref)) != 0) {
        ctx_done(c, CH_EAGAIN, "out of memory");
        return;
    }
    if (p->unchanged && !text) {
        ctx_done(c, 0, NULL);
        return;
    }
    report_case_change change = {
        p->old_state, p->old_len, p->state, p->state_len,      c->r->cfg->case_ttl_s,  p->open_op,
        p->member,    p->due_ms,  p->delta, (size_t)p->ndelta, ch_time_now_ms() / 1000};
    report_page_change pc = {
        page, page_len, text, text ? strlen(text) : 0, ref, c->r->cfg->case_ttl_s};
    c->wrote_case = !p->unchanged;
    int rc =
        report_store_record_write(c->r->store, c->org, c->case_id, p->unchanged ? NULL : &change,
                                  text ? &pc : NULL, written, c);
    free(text);
    if (rc != 0)
        ctx_done(c, CH_EAGAIN, rc == CH_ENOMEM ? "out of memory" : "redis unavailable");
}

/* Counted, with the case's state and page record read (store.h). */
static void
counted(void *opaque, int rc, int first, const char *why, const char *state, size_t len,
        const char *page, size_t page_len)
{
    count_ctx *c = opaque;
    if (rc != 0) {
        ctx_done(c, CH_EAGAIN, why);
        return;
    }
    ch_metric_add(first ? c->r->m_counted : c->r->m_repeats, 1);
    if (!c->case_id[0]) {
        ctx_done(c, 0, NULL);
        return;
    }
    const ch_org_clocks *oc = ch_org_set_find(ch_runtime_orgs(c->r->rt), c->org);
    rc = report_case_plan_make(oc, c->case_id, state, len, c->msg, &c->plan);
    if (c->plan.state_unreadable)
        CH_LOG_WARN(ch_runtime_log(c->r->rt), "report case state unreadable; starting again",
                    CH_STR("case_id", c->case_id));
    if (rc != 0) {
        ctx_done(c, rc == CH_ENOMEM ? CH_EAGAIN : CH_EBADMSG,
                 rc == CH_ENOMEM ? "out of memory"
                                 : "a record the case cannot take (no time, or a deadline "
                                   "outside 1995-2100)");
        return;
    }
    write_step(c, page, page_len);
}

void
report_on_message(void *svc, ch_msg *m, const ProtobufCMessage *msg)
{
    reporting *r = svc;
    ch_report_counted what;
    const char *refused = ch_report_counts_of(msg, &what) != 0 ? "a record of another type"
                                                               : report_count_refusal(&what);
    if (refused) {
        ch_msg_done(m, CH_EBADMSG, refused);
        return;
    }
    count_ctx *c = malloc(sizeof(*c));
    if (!c) {
        ch_msg_done(m, CH_EAGAIN, "out of memory");
        return;
    }
    *c = (count_ctx){.r = r, .m = m, .msg = msg};
    /* report_count_refusal checked that both fit */
    memcpy(c->org, what.organisation, strlen(what.organisation) + 1);
    memcpy(c->case_id, what.case_id, strlen(what.case_id) + 1);
    int rc = report_store_count_read(r->store, c->org, what.event_id, r->cfg->dedupe_ttl_s,
                                     what.names, what.nnames, c->case_id, counted, c);
    if (rc != 0) {
        free(c);
        ch_msg_done(m, CH_EAGAIN, rc == CH_ENOMEM ? "out of memory" : "redis unavailable");
    }
}
