/*
 * Counter tables, sums and percentiles (report_table.h says why the table
 * rule lives here). A table is a sorted array searched by bisection: the
 * service reads a whole organisation's figures once per request or snapshot
 * round, then takes many slices and sums of it, so a sorted array (one sort
 * on load, contiguous runs per period) beats a hash here.
 */
#include "charter/report_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/array.h"
#include "charter/errors.h"

static size_t
lower_bound(const ch_report_table *t, const char *key)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(t->items[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int
ch_report_table_add(ch_report_table *t, const ch_report_item *items, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        size_t i = lower_bound(t, items[k].key);
        if (i < t->n && strcmp(t->items[i].key, items[k].key) == 0) {
            t->items[i].value += items[k].value;
            if (t->items[i].value == 0) {
                memmove(&t->items[i], &t->items[i + 1], (t->n - i - 1) * sizeof(*t->items));
                t->n--;
            }
            continue;
        }
        if (items[k].value == 0)
            continue;
        if (ch_array_grow(&t->items, &t->cap, t->n + 1, sizeof(*t->items)) != 0)
            return CH_ENOMEM;
        memmove(&t->items[i + 1], &t->items[i], (t->n - i) * sizeof(*t->items));
        t->items[i] = items[k];
        t->n++;
    }
    return 0;
}

static int
cmp_item(const void *a, const void *b)
{
    return strcmp(((const ch_report_item *)a)->key, ((const ch_report_item *)b)->key);
}

int
ch_report_table_from_pairs(ch_report_table *t, const char *const *kv, size_t npairs)
{
    ch_report_table_free(t);
    t->cap = npairs ? npairs : 1;
    t->items = malloc(t->cap * sizeof(*t->items));
    if (!t->items) {
        t->cap = 0;
        return CH_ENOMEM;
    }
    for (size_t i = 0; i < npairs; i++) {
        ch_report_item *it = &t->items[t->n];
        size_t len = strlen(kv[2 * i]);
        if (len >= sizeof(it->key))
            continue;
        memcpy(it->key, kv[2 * i], len + 1);
        it->value = strtoll(kv[2 * i + 1], NULL, 10);
        t->n++;
    }
    ch_report_table_normalise(t);
    return 0;
}

void
ch_report_table_normalise(ch_report_table *t)
{
    if (!t->n)
        return;
    qsort(t->items, t->n, sizeof(*t->items), cmp_item);
    /* one item per key: a run of equal keys summed, a sum of zero dropped */
    size_t n = 0;
    for (size_t i = 0; i < t->n;) {
        ch_report_item sum = t->items[i];
        for (i++; i < t->n && strcmp(t->items[i].key, sum.key) == 0; i++)
            sum.value += t->items[i].value;
        if (sum.value != 0)
            t->items[n++] = sum;
    }
    t->n = n;
}

int64_t
ch_report_table_get(const ch_report_table *t, const char *key)
{
    size_t i = lower_bound(t, key);
    return i < t->n && strcmp(t->items[i].key, key) == 0 ? t->items[i].value : 0;
}

ch_report_table
ch_report_table_prefix(const ch_report_table *t, const char *prefix)
{
    size_t plen = strlen(prefix), lo = lower_bound(t, prefix), hi = lo;
    while (hi < t->n && strncmp(t->items[hi].key, prefix, plen) == 0)
        hi++;
    ch_report_table s = {t->items + lo, hi - lo, 0};
    return s;
}

ch_report_table
ch_report_table_period(const ch_report_table *t, const char *period)
{
    char prefix[CH_REPORT_KEY_PERIOD_MAX + 1];
    int n = snprintf(prefix, sizeof(prefix), "%s|", period);
    if (n < 0 || (size_t)n >= sizeof(prefix))
        return (ch_report_table){0};
    return ch_report_table_prefix(t, prefix);
}

void
ch_report_table_free(ch_report_table *t)
{
    free(t->items);
    memset(t, 0, sizeof(*t));
}

static int
field_is(const char *s, size_t len, const char *want)
{
    return !want || (strlen(want) == len && memcmp(s, want, len) == 0);
}

/* Adds v to the total the figure name counts in, if any. */
static void
add_figure(ch_report_totals *out, const char *fig, int64_t v)
{
    if (strncmp(fig, "support.", 8) == 0) {
        for (int k = 0; k < CH_REPORT_SUPPORT_COUNT; k++)
            if (strcmp(fig + 8, ch_report_support_name((ch_report_support)k)) == 0)
                out->support[k] += v;
        return;
    }
    if (strncmp(fig, "ttr.", 4) == 0) {
        for (int u = 0; u < CH_REPORT_UNIT_COUNT; u++) {
            const char *unit = ch_report_unit_name((ch_report_unit)u);
            size_t ul = strlen(unit);
            if (strncmp(fig + 4, unit, ul) == 0 && fig[4 + ul] == '.') {
                long n = strtol(fig + 5 + ul, NULL, 10);
                if (n >= 0 && n <= CH_REPORT_TTR_MAX)
                    out->ttr[u][n] += v;
            }
        }
        return;
    }
    for (int k = 0; k < CH_REPORT_FIG_COUNT; k++)
        if (strcmp(fig, ch_report_fig_name((ch_report_fig)k)) == 0)
            out->fig[k] += v;
}

void
ch_report_sum(const ch_report_table *t, const ch_report_filter *f, ch_report_totals *out)
{
    size_t plen = ch_report_period_len(f->granularity);
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < t->n; i++) {
        ch_report_key_span k;
        if (ch_report_key_split(t->items[i].key, &k) != 0 || k.period_len != plen)
            continue;
        char period[CH_REPORT_KEY_PERIOD_MAX];
        if (plen >= sizeof(period))
            continue;
        memcpy(period, k.period, plen);
        period[plen] = '\0';
        if ((f->from && strcmp(period, f->from) < 0) || (f->to && strcmp(period, f->to) > 0))
            continue;
        if (!field_is(k.channel, k.channel_len, f->channel) ||
            !field_is(k.type, k.type_len, f->case_type))
            continue;
        add_figure(out, k.tail, t->items[i].value);
    }
}

int
ch_report_percentile(const int64_t *hist, size_t len, int pct, int64_t *value)
{
    if (pct < 1 || pct > 100)
        return CH_EINVAL;
    int64_t total = 0;
    for (size_t i = 0; i < len; i++)
        total += hist[i];
    if (total <= 0)
        return CH_ENOTFOUND;
    int64_t rank = (total * pct + 99) / 100, seen = 0;
    for (size_t i = 0; i < len; i++) {
        seen += hist[i];
        if (seen >= rank) {
            *value = (int64_t)i;
            return 0;
        }
    }
    return CH_ENOTFOUND;
}

int
ch_report_ttr_summary(const ch_report_totals *t, ch_report_unit u, ch_report_ttr *out)
{
    if ((unsigned)u >= CH_REPORT_UNIT_COUNT)
        return CH_ENOTFOUND;
    const int64_t *hist = t->ttr[u];
    int64_t n = 0;
    for (int v = 0; v <= CH_REPORT_TTR_MAX; v++)
        n += hist[v];
    if (!n || ch_report_percentile(hist, CH_REPORT_TTR_MAX + 1, 50, &out->median) != 0 ||
        ch_report_percentile(hist, CH_REPORT_TTR_MAX + 1, 90, &out->p90) != 0)
        return CH_ENOTFOUND;
    out->responses = n;
    return 0;
}
