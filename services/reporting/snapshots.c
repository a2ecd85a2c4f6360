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
 * kept by the round, and its due snapshots produced ROUND_SLICE per loop
 * turn (a zero-delay timer between slices), so records and HTTP requests
 * are served between them (a round covers up to about 60 periods per
 * organisation when a replay touches many days). The figures and the
 * overdue cases come sorted, so each snapshot reads only its period's run
 * of them, and counts a period's overdue cases per channel and type in one
 * pass. Marking a period dirty is a hash lookup: every record marks up to
 * three, against the few hundred a busy second can hold.
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

/* Snapshots produced per loop turn: a round of a replay's 60 periods per
 * organisation goes out a slice at a time, so records and requests are
 * served between the slices. */
enum { ROUND_SLICE = 4 };

struct report_round {
    reporting *r;
    report_org_period *items; /* sorted by organisation */
    size_t n, next, end;      /* items[next..end) are the organisation being written */
    size_t at;                /* its next snapshot, in items[next..end) */
    int64_t now_ms;
    /* the organisation's data, owned by the round between slices: the figures
     * table taken from the load, the open cases copied into one block */
    report_data d;
    char *open_text;
    uint64_t events;
};

static size_t
org_period_hash(const char *org, const char *period)
{
    size_t h = 1469598103934665603ULL;
    for (const char *p = org; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ '/') * 1099511628211ULL;
    for (const char *p = period; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h;
}

/* The index of (org, period) in d's open addressing table: its slot, or the
 * empty slot where it would go. */
static size_t *
dirty_slot(report_org_periods *d, const char *org, const char *period)
{
    size_t mask = d->nslot - 1;
    for (size_t i = org_period_hash(org, period) & mask;; i = (i + 1) & mask) {
        size_t *s = &d->slot[i];
        if (!*s)
            return s;
        const report_org_period *e = &d->v[*s - 1];
        if (strcmp(e->period, period) == 0 && strcmp(e->org, org) == 0)
            return s;
    }
}

/* Room for cap entries in d's table (twice that many slots), every entry
 * placed again. 0, or CH_ENOMEM. */
static int
dirty_rehash(report_org_periods *d, size_t cap)
{
    size_t nslot = 64;
    while (nslot < 2 * cap)
        nslot *= 2;
    size_t *slot = calloc(nslot, sizeof(*slot));
    if (!slot)
        return CH_ENOMEM;
    free(d->slot);
    d->slot = slot;
    d->nslot = nslot;
    for (size_t i = 0; i < d->n; i++)
        *dirty_slot(d, d->v[i].org, d->v[i].period) = i + 1;
    return 0;
}

/* Empties d (the entries and their table). */
static void
dirty_clear(report_org_periods *d)
{
    free(d->v);
    free(d->slot);
    memset(d, 0, sizeof(*d));
}

/* A hash lookup, not a scan: a record marks its periods (up to three) and a
 * busy second marks thousands of records against a few hundred periods. */
void
report_mark_dirty(reporting *r, const char *org, const char *period)
{
    report_org_periods *d = &r->dirty;
    report_org_period key; /* as stored (cut to size), so lookups agree with it */
    snprintf(key.org, sizeof(key.org), "%s", org);
    snprintf(key.period, sizeof(key.period), "%s", period);
    if (d->nslot && *dirty_slot(d, key.org, key.period))
        return;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 32;
        if (cap > 65536)
            return;
        report_org_period *v = realloc(d->v, cap * sizeof(*v));
        if (!v)
            return;
        d->v = v;
        d->cap = cap;
    }
    if (d->nslot < 2 * d->cap && dirty_rehash(d, d->cap) != 0)
        return;
    d->v[d->n++] = key;
    *dirty_slot(d, key.org, key.period) = d->n;
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

static size_t
pair_hash(const char *channel, const char *type)
{
    return org_period_hash(channel, type);
}

/* One channel and case type of a period: its counters pt->items[i..end). */
typedef struct {
    ch_report_key k;
    size_t i, end;
    int64_t overdue;
} pair_run;

/* Each channel and case type with figures in the period (pt, its counters):
 * a run of keys sharing "<period>|<channel>|<type>|". The period's overdue
 * cases (o's olo..ohi) are counted per pair in one pass over them (a table
 * of the pairs), not once per pair. */
static void
add_pairs(figure_list *l, const ch_report_table *pt, const ch_report_filter *f,
          const report_open *o, size_t olo, size_t ohi)
{
    pair_run *runs = NULL;
    size_t nruns = 0, cap = 0, *slot = NULL, nslot = 16;
    for (size_t i = 0, run; i < pt->n; i = run) {
        const char *key = pt->items[i].key;
        ch_report_key k;
        run = i + 1;
        if (ch_report_key_parse(key, &k) != 0)
            continue;
        size_t plen = (size_t)(k.tail - key);
        while (run < pt->n && strncmp(pt->items[run].key, key, plen) == 0)
            run++;
        if (nruns == cap) {
            cap = cap ? cap * 2 : 16;
            pair_run *v = realloc(runs, cap * sizeof(*v));
            if (!v) {
                l->failed = 1;
                free(runs);
                return;
            }
            runs = v;
        }
        runs[nruns++] = (pair_run){k, i, run, 0};
    }
    while (nslot < 2 * nruns)
        nslot *= 2;
    if (nruns && ohi > olo && (slot = calloc(nslot, sizeof(*slot)))) {
        size_t mask = nslot - 1;
        for (size_t r = 0; r < nruns; r++) {
            size_t h = pair_hash(runs[r].k.channel, runs[r].k.type) & mask;
            while (slot[h])
                h = (h + 1) & mask;
            slot[h] = r + 1;
        }
        for (size_t m = olo; m < ohi; m++) {
            const ch_report_key *ok = &o->keys[m];
            for (size_t h = pair_hash(ok->channel, ok->type) & mask; slot[h]; h = (h + 1) & mask) {
                pair_run *pr = &runs[slot[h] - 1];
                if (strcmp(pr->k.channel, ok->channel) == 0 && strcmp(pr->k.type, ok->type) == 0) {
                    pr->overdue++;
                    break;
                }
            }
        }
        free(slot);
    } else if (nruns && ohi > olo) {
        l->failed = 1;
    }
    for (size_t r = 0; r < nruns && !l->failed; r++) {
        ch_report_table rt = {pt->items + runs[r].i, runs[r].end - runs[r].i, 0};
        ch_report_filter pf = *f;
        pf.channel = runs[r].k.channel;
        pf.case_type = runs[r].k.type;
        add_totals(l, &rt, &pf, runs[r].overdue, 0);
    }
    free(runs);
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

/* Frees the organisation's data the round holds. */
static void
round_drop_data(report_round *sr)
{
    ch_report_table_free(&sr->d.figures);
    free(sr->d.open.members);
    free(sr->d.open.keys);
    free(sr->open_text);
    memset(&sr->d, 0, sizeof(sr->d));
    sr->open_text = NULL;
}

static void
round_free(report_round *sr)
{
    round_drop_data(sr);
    free(sr->items);
    free(sr);
}

/* The rest of the round is due again on a later tick. */
static void
round_abort(report_round *sr)
{
    for (size_t i = sr->next; i < sr->n; i++)
        report_mark_dirty(sr->r, sr->items[i].org, sr->items[i].period);
    sr->next = sr->n;
    round_next_org(sr);
}

/* Keeps the open cases of d past the load's reply: the members copied into
 * one block, each parsed key's tail moved with its member. 0, or CH_ENOMEM. */
static int
round_keep_open(report_round *sr, const report_open *o)
{
    size_t total = 0;
    for (size_t i = 0; i < o->n; i++)
        total += strlen(o->members[i]) + 1;
    size_t n = o->n ? o->n : 1;
    sr->open_text = malloc(total ? total : 1);
    sr->d.open.members = malloc(n * sizeof(*sr->d.open.members));
    sr->d.open.keys = malloc(n * sizeof(*sr->d.open.keys));
    if (!sr->open_text || !sr->d.open.members || !sr->d.open.keys)
        return CH_ENOMEM;
    char *p = sr->open_text;
    for (size_t i = 0; i < o->n; i++) {
        size_t len = strlen(o->members[i]) + 1;
        memcpy(p, o->members[i], len);
        sr->d.open.members[i] = p;
        sr->d.open.keys[i] = o->keys[i];
        if (o->keys[i].tail)
            sr->d.open.keys[i].tail = p + (o->keys[i].tail - o->members[i]);
        p += len;
    }
    sr->d.open.n = o->n;
    return 0;
}

/* One slice of the organisation's snapshots; the next slice at the next
 * loop turn, or the next organisation. */
static void
round_slice(report_round *sr)
{
    if (ch_runtime_stopping(sr->r->rt)) {
        sr->r->round = NULL;
        round_free(sr);
        return;
    }
    size_t stop = sr->at + ROUND_SLICE < sr->end ? sr->at + ROUND_SLICE : sr->end;
    for (; sr->at < stop; sr->at++)
        produce_snapshot(sr, &sr->items[sr->at], &sr->d, sr->events);
    if (sr->at < sr->end && ch_timer_start(sr->r->round_timer, 0) == 0)
        return;
    for (; sr->at < sr->end; sr->at++) /* the timer failed: the rest on a later tick */
        report_mark_dirty(sr->r, sr->items[sr->at].org, sr->items[sr->at].period);
    round_drop_data(sr);
    sr->next = sr->end;
    round_next_org(sr);
}

static void
round_resume(void *arg)
{
    reporting *r = arg;
    if (r->round)
        round_slice(r->round);
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
    sr->events = events;
    sr->d.figures = d->figures; /* taken: the store frees what is left of d */
    memset(&d->figures, 0, sizeof(d->figures));
    if (round_keep_open(sr, &d->open) != 0) {
        round_drop_data(sr);
        round_abort(sr);
        return;
    }
    sr->at = sr->next;
    round_slice(sr);
}

static void
round_next_org(report_round *sr)
{
    if (sr->next >= sr->n || ch_runtime_stopping(sr->r->rt)) {
        sr->r->round = NULL;
        round_free(sr);
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
    if (!r->round_timer && !(r->round_timer = ch_timer_new(r->rt, round_resume, r)))
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
    free(r->dirty.slot); /* the entries go with the round */
    memset(&r->dirty, 0, sizeof(r->dirty));
    qsort(sr->items, sr->n, sizeof(*sr->items), org_period_cmp);
    r->round = sr;
    round_next_org(sr);
}

void
report_snapshots_fini(reporting *r)
{
    ch_timer_free(r->round_timer);
    r->round_timer = NULL;
    if (r->round) {
        round_free(r->round);
        r->round = NULL;
    }
    dirty_clear(&r->dirty);
}
