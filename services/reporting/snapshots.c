/*
 * charter.reports.v1: snapshots of an organisation's period.
 *
 * Coalesced: records only mark (organisation, period) dirty; once a second
 * the tick writes one snapshot per dirty pair, and every
 * report.snapshot_interval_s it also writes every known organisation's
 * current day, month and year (so "open and overdue now" moves with the
 * clock and a new consumer of the compacted topic finds today's figures).
 * One round at a time: an organisation's counts, the figures of the periods
 * due (their hashes only, store.h) and its overdue cases are loaded once,
 * then all its due snapshots are produced. The figures and the overdue
 * cases come sorted, so each snapshot reads only its period's run of them
 * (a round covers up to about 60 periods per organisation when a replay
 * touches many days).
 *
 * The tick also runs the upkeep of the store: on start, before any round,
 * the move of a figures hash of before per-period hashes (store.h); with
 * every refresh, each known organisation's retention sweep.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/report_view.h"
#include "charter/timeutil.h"
#include "charter/topics.h"
#include "charter/tz.h"
#include "charter/v1/report.pb-c.h"
#include "reporting.h"
#include "store.h"

struct report_round {
    reporting *r;
    report_org_period *items; /* sorted by organisation */
    size_t n, next, end;      /* items[next..end) are the organisation being written */
    int64_t now_ms;
};

void
report_mark_dirty(reporting *r, const char *org, const char *period)
{
    for (size_t i = 0; i < r->dirty.n; i++)
        if (strcmp(r->dirty.v[i].period, period) == 0 && strcmp(r->dirty.v[i].org, org) == 0)
            return;
    if (r->dirty.n == r->dirty.cap) {
        size_t cap = r->dirty.cap ? r->dirty.cap * 2 : 32;
        if (cap > 65536)
            return;
        report_org_period *v = realloc(r->dirty.v, cap * sizeof(*v));
        if (!v)
            return;
        r->dirty.v = v;
        r->dirty.cap = cap;
    }
    report_org_period *e = &r->dirty.v[r->dirty.n++];
    snprintf(e->org, sizeof(e->org), "%s", org);
    snprintf(e->period, sizeof(e->period), "%s", period);
    for (size_t i = 0; i < r->nknown; i++)
        if (strcmp(r->known[i], org) == 0)
            return;
    if (r->nknown < CH_ORG_SET_MAX)
        snprintf(r->known[r->nknown++], sizeof(r->known[0]), "%s", org);
}

/* ---- one snapshot's figures ---- */

typedef struct {
    Charter__V1__ReportFigure f;
    char name[CH_REPORT_KEY_MAX + 32];
    char type[CH_REPORT_KEY_TYPE_MAX];
} figure_slot;

typedef struct {
    figure_slot *v;
    size_t n, cap;
    int failed;
} figure_list;

static void
fig_add(figure_list *l, const char *name, const char *channel, const char *type, int64_t value,
        double target)
{
    if (l->failed)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        figure_slot *v = realloc(l->v, cap * sizeof(*v));
        if (!v) {
            l->failed = 1;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    figure_slot *s = &l->v[l->n++];
    charter__v1__report_figure__init(&s->f);
    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(s->type, sizeof(s->type), "%s", type ? type : "");
    ch_policy_channel ch = CH_POLICY_CHANNEL_ANY;
    if (channel && ch_policy_channel_parse(channel, &ch) != 0)
        ch = CH_POLICY_CHANNEL_ANY;
    s->f.channel = (Charter__V1__Channel)ch;
    s->f.value = value;
    s->f.target = target;
}

/* The figures of one filter (a period, maybe one channel and type); all:
 * every fixed figure, zeros too. */
static void
add_totals(figure_list *l, const ch_report_table *t, const ch_report_filter *f, int64_t overdue,
           int all)
{
    ch_report_totals *tot = malloc(sizeof(*tot));
    if (!tot) {
        l->failed = 1;
        return;
    }
    ch_report_sum(t, f, tot);
    for (int k = 0; k < CH_REPORT_FIG_COUNT; k++)
        if (all || tot->fig[k])
            fig_add(l, ch_report_fig_name((ch_report_fig)k), f->channel, f->case_type, tot->fig[k],
                    0);
    if (all || overdue)
        fig_add(l, "open_overdue", f->channel, f->case_type, overdue, 0);
    char name[64];
    for (int k = 0; k < CH_REPORT_SUPPORT_COUNT; k++)
        if (tot->support[k]) {
            snprintf(name, sizeof(name), "support.%s",
                     ch_report_support_name((ch_report_support)k));
            fig_add(l, name, f->channel, f->case_type, tot->support[k], 0);
        }
    for (int u = 0; u < CH_REPORT_UNIT_COUNT; u++) {
        ch_report_ttr s;
        if (ch_report_ttr_summary(tot, (ch_report_unit)u, &s) != 0)
            continue;
        const char *unit = ch_report_unit_name((ch_report_unit)u);
        const struct {
            const char *what;
            int64_t value;
        } parts[] = {{"responses", s.responses}, {"median", s.median}, {"p90", s.p90}};
        for (size_t i = 0; i < CH_COUNTOF(parts); i++) {
            snprintf(name, sizeof(name), "time_to_respond.%s.%s", unit, parts[i].what);
            fig_add(l, name, f->channel, f->case_type, parts[i].value, 0);
        }
    }
    free(tot);
}

/* Each channel and case type with figures in the period (pt, its counters):
 * a run of keys sharing "<period>|<channel>|<type>|". */
static void
add_pairs(figure_list *l, const ch_report_table *pt, const ch_report_filter *f,
          const report_open *o, size_t olo, size_t ohi)
{
    for (size_t i = 0, run; i < pt->n && !l->failed; i = run) {
        const char *key = pt->items[i].key;
        ch_report_key k;
        run = i + 1;
        if (ch_report_key_parse(key, &k) != 0)
            continue;
        size_t plen = (size_t)(k.tail - key);
        while (run < pt->n && strncmp(pt->items[run].key, key, plen) == 0)
            run++;
        int64_t overdue = 0;
        for (size_t m = olo; m < ohi; m++)
            if (strcmp(o->keys[m].channel, k.channel) == 0 && strcmp(o->keys[m].type, k.type) == 0)
                overdue++;
        ch_report_table rt = {pt->items + i, run - i, 0};
        ch_report_filter pf = *f;
        pf.channel = k.channel;
        pf.case_type = k.type;
        add_totals(l, &rt, &pf, overdue, 0);
    }
}

/* Each promise of the charter, its in-time figure carrying the target as a share. */
static void
add_promises(figure_list *l, const ch_policy *p, const ch_report_table *pt,
             const ch_report_filter *f, const char *const *overdue, size_t noverdue,
             double target_pct)
{
    ch_report_view v;
    if (ch_report_view_build(p, pt, f, NULL, 0, overdue, noverdue, target_pct, &v) != 0) {
        l->failed = 1;
        return;
    }
    for (size_t k = 0; k < v.nrows; k++) {
        const ch_report_promise_row *row = &v.rows[k];
        char name[128];
        snprintf(name, sizeof(name), "promise.%s.received", row->id);
        fig_add(l, name, NULL, NULL, row->received, 0);
        if (row->measure == CH_REPORT_MEASURE_NONE)
            continue;
        snprintf(name, sizeof(name), "promise.%s.in_time", row->id);
        fig_add(l, name, NULL, NULL, row->in_time, row->target_pct / 100.0);
        snprintf(name, sizeof(name), "promise.%s.late", row->id);
        fig_add(l, name, NULL, NULL, row->late, 0);
        snprintf(name, sizeof(name), "promise.%s.open_overdue", row->id);
        fig_add(l, name, NULL, NULL, row->overdue_now, 0);
    }
    ch_report_view_free(&v);
}

/* ---- producing ---- */

typedef struct {
    reporting *r;
    report_org_period op;
} snapshot_sent;

static void
snapshot_delivered(void *opaque, int rc, int32_t partition, int64_t offset, const char *errstr)
{
    (void)partition;
    (void)offset;
    (void)errstr;
    snapshot_sent *ss = opaque;
    if (rc == 0) {
        ch_metric_add(ss->r->m_snapshots, 1);
    } else {
        ch_metric_add(ss->r->m_snapshot_failures, 1);
        report_mark_dirty(ss->r, ss->op.org, ss->op.period); /* again on a later tick */
    }
    free(ss);
}

/* Builds and produces the snapshot of (org, period) from the round's data. */
static void
produce_snapshot(report_round *sr, const report_org_period *op, const report_data *d,
                 uint64_t events_counted)
{
    reporting *r = sr->r;
    ch_report_filter f = {ch_report_granularity_of(op->period), op->period, op->period, NULL, NULL};
    ch_report_table pt = ch_report_table_period(&d->figures, op->period);
    size_t olo, ohi;
    report_open_range(&d->open, op->period, &olo, &ohi);
    figure_list l = {0};
    add_totals(&l, &pt, &f, (int64_t)(ohi - olo), 1);
    add_pairs(&l, &pt, &f, &d->open, olo, ohi);
    const ch_org_clocks *oc = ch_org_set_find(ch_runtime_orgs(r->rt), op->org);
    if (oc && !l.failed)
        add_promises(&l, &oc->policy, &pt, &f, d->open.members + olo, ohi - olo,
                     (double)r->cfg->target_pct);

    Charter__V1__ReportFigure **figs = l.failed ? NULL : malloc((l.n ? l.n : 1) * sizeof(*figs));
    snapshot_sent *cb = malloc(sizeof(*cb));
    if (!figs || !cb) {
        free(figs);
        free(cb);
        free(l.v);
        report_mark_dirty(r, op->org, op->period);
        return;
    }
    for (size_t i = 0; i < l.n; i++) {
        l.v[i].f.name = l.v[i].name;
        l.v[i].f.case_type = l.v[i].type;
        figs[i] = &l.v[i].f;
    }
    Charter__V1__ReportSnapshot snap;
    charter__v1__report_snapshot__init(&snap);
    Charter__V1__Timestamp ts;
    charter__v1__timestamp__init(&ts);
    ch_time_split_ms(sr->now_ms, &ts.seconds, &ts.nanos);
    snap.organisation = (char *)op->org;
    snap.period = (char *)op->period;
    snap.generated_at = &ts;
    snap.n_figures = l.n;
    snap.figures = figs;
    snap.events_counted = events_counted;
    char key[160];
    snprintf(key, sizeof(key), "%s/%s", op->org, op->period);
    cb->r = r;
    cb->op = *op;
    if (ch_produce(r->rt, CH_TOPIC_REPORTS, key, &snap.base, snapshot_delivered, cb) != 0) {
        ch_metric_add(r->m_snapshot_failures, 1);
        report_mark_dirty(r, op->org, op->period);
        free(cb);
    }
    free(figs);
    free(l.v);
}

/* ---- rounds ---- */

static void round_next_org(report_round *sr);

/* The rest of the round is due again on a later tick. */
static void
round_abort(report_round *sr)
{
    for (size_t i = sr->next; i < sr->n; i++)
        report_mark_dirty(sr->r, sr->items[i].org, sr->items[i].period);
    sr->next = sr->n;
    round_next_org(sr);
}

static void
round_loaded(void *opaque, int rc, report_data *d)
{
    report_round *sr = opaque;
    if (rc != 0) {
        round_abort(sr);
        return;
    }
    uint64_t events = 0;
    for (size_t i = 0; i < d->counts.n; i++)
        if (ch_report_count_is_event(d->counts.items[i].key))
            events += (uint64_t)d->counts.items[i].value;
    for (size_t i = sr->next; i < sr->end; i++)
        produce_snapshot(sr, &sr->items[i], d, events);
    sr->next = sr->end;
    round_next_org(sr);
}

static void
round_next_org(report_round *sr)
{
    if (sr->next >= sr->n || ch_runtime_stopping(sr->r->rt)) {
        sr->r->round = NULL;
        free(sr->items);
        free(sr);
        return;
    }
    sr->end = sr->next + 1;
    while (sr->end < sr->n && strcmp(sr->items[sr->end].org, sr->items[sr->next].org) == 0)
        sr->end++;
    /* the periods of this organisation's snapshots, and no other */
    size_t np = sr->end - sr->next;
    char(*periods)[CH_REPORT_KEY_PERIOD_MAX] = malloc(np * sizeof(*periods));
    for (size_t i = 0; periods && i < np; i++)
        memcpy(periods[i], sr->items[sr->next + i].period, sizeof(periods[i]));
    int rc = periods ? report_store_load(sr->r->store, sr->items[sr->next].org, REPORT_LOAD_COUNTS,
                                         (const char(*)[CH_REPORT_KEY_PERIOD_MAX])periods, np,
                                         sr->now_ms, round_loaded, sr)
                     : CH_ENOMEM;
    free(periods);
    if (rc != 0)
        round_abort(sr);
}

static int
org_period_cmp(const void *a, const void *b)
{
    const report_org_period *x = a, *y = b;
    int c = strcmp(x->org, y->org);
    return c ? c : strcmp(x->period, y->period);
}

/* Every known organisation's current day, month and year are due. */
static void
refresh(reporting *r, int64_t now_ms)
{
    const ch_org_set *orgs = ch_runtime_orgs(r->rt);
    for (size_t i = 0; i < orgs->n; i++) {
        int seen = 0;
        for (size_t k = 0; k < r->nknown && !seen; k++)
            seen = strcmp(r->known[k], orgs->orgs[i]->policy.id) == 0;
        if (!seen && r->nknown < CH_ORG_SET_MAX)
            snprintf(r->known[r->nknown++], sizeof(r->known[0]), "%s", orgs->orgs[i]->policy.id);
    }
    for (size_t k = 0; k < r->nknown; k++) {
        report_store_prune(r->store, r->known[k], now_ms);
        const ch_org_clocks *oc = ch_org_set_find(orgs, r->known[k]);
        int32_t day = ch_tz_local_day(oc ? oc->tz : NULL, now_ms);
        for (int g = CH_REPORT_DAY; g <= CH_REPORT_YEAR; g++) {
            char period[CH_REPORT_KEY_PERIOD_MAX];
            ch_report_period(day, (ch_report_granularity)g, period, sizeof(period));
            report_mark_dirty(r, r->known[k], period);
        }
    }
}

static void
migrated(void *opaque, int rc)
{
    reporting *r = opaque;
    r->migrating = 0;
    r->migrated = rc == 0;
    if (rc != 0)
        CH_LOG_WARN(ch_runtime_log(r->rt),
                    "moving the figures to per-period hashes stopped; retrying on a later tick");
}

void
report_tick(void *svc, int64_t now_ms)
{
    reporting *r = svc;
    if (r->round || !ch_redis_ready(r->rt) || ch_runtime_stopping(r->rt))
        return;
    if (!r->migrated) {
        if (!r->migrating && report_store_migrate(r->store, migrated, r) == 0)
            r->migrating = 1;
        return;
    }
    if (now_ms - r->last_refresh_ms >= r->cfg->snapshot_interval_s * 1000) {
        r->last_refresh_ms = now_ms;
        refresh(r, now_ms);
        report_publish_tick(r, now_ms);
    }
    if (!r->dirty.n)
        return;
    report_round *sr = calloc(1, sizeof(*sr));
    if (!sr)
        return;
    sr->r = r;
    sr->items = r->dirty.v;
    sr->n = r->dirty.n;
    sr->now_ms = now_ms;
    memset(&r->dirty, 0, sizeof(r->dirty));
    qsort(sr->items, sr->n, sizeof(*sr->items), org_period_cmp);
    r->round = sr;
    round_next_org(sr);
}

void
report_snapshots_fini(reporting *r)
{
    if (r->round) {
        free(r->round->items);
        free(r->round);
        r->round = NULL;
    }
    free(r->dirty.v);
    memset(&r->dirty, 0, sizeof(r->dirty));
}
