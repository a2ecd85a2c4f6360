/*
 * A deliberately small metrics registry: a list of named values rendered in
 * Prometheus text format. Services register their metrics once at init,
 * from a table (ch_metrics_register), and keep the pointers, so the hot path
 * is one addition. Labelled series (ch_metric_series) join the list on first
 * use; histograms keep a count per bucket and render them cumulative.
 */
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "runtime_int.h"

const double ch_metric_seconds_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                            0.5,   1,      2.5,   5,    10,    30,   60};
const size_t ch_metric_seconds_nbuckets =
    sizeof(ch_metric_seconds_buckets) / sizeof(ch_metric_seconds_buckets[0]);

static ch_metric *
metric_new(ch_runtime *rt, const char *name, const char *help, int gauge)
{
    ch_metric *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->name = strdup(name);
    m->help = strdup(help);
    if (!m->name || !m->help) {
        free(m->name);
        free(m->help);
        free(m);
        return NULL;
    }
    m->gauge = gauge;
    ch_metric **tail = &rt->metrics;
    while (*tail)
        tail = &(*tail)->next;
    *tail = m;
    return m;
}

ch_metric *
ch_metric_counter(ch_runtime *rt, const char *name, const char *help)
{
    return metric_new(rt, name, help, 0);
}

ch_metric *
ch_metric_gauge(ch_runtime *rt, const char *name, const char *help)
{
    return metric_new(rt, name, help, 1);
}

ch_metric *
ch_metric_histogram(ch_runtime *rt, const char *name, const char *help, const double *bounds,
                    size_t nbounds)
{
    for (size_t i = 1; i < nbounds; i++)
        if (!(bounds[i] > bounds[i - 1]))
            return NULL;
    ch_metric *m = metric_new(rt, name, help, CH_METRIC_HISTOGRAM);
    if (!m)
        return NULL;
    m->bounds = malloc(nbounds * sizeof(*m->bounds));
    m->buckets = calloc(nbounds ? nbounds : 1, sizeof(*m->buckets));
    if (!m->bounds || !m->buckets) {
        free(m->bounds);
        free(m->buckets);
        m->bounds = NULL;
        m->buckets = NULL;
        m->nbuckets = 0; /* stays registered as a histogram with +Inf only */
        return m;
    }
    memcpy(m->bounds, bounds, nbounds * sizeof(*bounds));
    m->nbuckets = nbounds;
    return m;
}

void
ch_metric_observe(ch_metric *m, double v)
{
    if (!m)
        return;
    m->count++;
    m->value += v;
    size_t lo = 0, hi = m->nbuckets; /* the first bound >= v */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->bounds[mid] >= v)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (lo < m->nbuckets)
        m->buckets[lo]++;
}

/* Appends key="value" to buf, escaping \, " and newlines. 0, or -1 when it
 * does not fit. */
static int
add_label(char *buf, size_t size, size_t *len, const char *key, const char *value)
{
    int n =
        snprintf(buf + *len, size - *len, "%s%s=\"", *len && buf[*len - 1] != '{' ? "," : "", key);
    if (n < 0 || (size_t)n >= size - *len)
        return -1;
    *len += (size_t)n;
    for (const char *v = value ? value : ""; *v; v++) {
        const char *esc = *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : *v == '\n' ? "\\n" : NULL;
        size_t need = esc ? 2 : 1;
        if (*len + need + 2 >= size)
            return -1;
        if (esc) {
            memcpy(buf + *len, esc, 2);
        } else {
            buf[*len] = *v;
        }
        *len += need;
    }
    buf[(*len)++] = '"';
    buf[*len] = '\0';
    return 0;
}

ch_metric *
ch_metric_series(ch_runtime *rt, ch_metric_kind kind, const char *name, const char *help,
                 size_t nlabels, const char *const *keys, const char *const *values)
{
    char full[512];
    size_t len = (size_t)snprintf(full, sizeof(full), nlabels ? "%s{" : "%s", name);
    if (len >= sizeof(full))
        return NULL;
    for (size_t i = 0; i < nlabels; i++)
        if (add_label(full, sizeof(full), &len, keys[i], values[i]) != 0)
            return NULL;
    if (nlabels) {
        if (len + 2 > sizeof(full))
            return NULL;
        full[len++] = '}';
        full[len] = '\0';
    }
    for (ch_metric *m = rt->metrics; m; m = m->next)
        if (!strcmp(m->name, full))
            return m;
    if (kind == CH_METRIC_HISTOGRAM)
        return ch_metric_histogram(rt, full, help, ch_metric_seconds_buckets,
                                   ch_metric_seconds_nbuckets);
    return metric_new(rt, full, help, kind);
}

int
ch_metrics_register(ch_runtime *rt, const ch_metric_def *defs, size_t n, void *base)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        ch_metric *m =
            defs[i].kind == CH_METRIC_HISTOGRAM
                ? ch_metric_histogram(rt, defs[i].name, defs[i].help, ch_metric_seconds_buckets,
                                      ch_metric_seconds_nbuckets)
                : metric_new(rt, defs[i].name, defs[i].help, (int)defs[i].kind);
        memcpy((char *)base + defs[i].offset, &m, sizeof(m));
        if (!m)
            rc = CH_ENOMEM;
    }
    return rc;
}

void
ch_metric_add(ch_metric *m, double v)
{
    if (m)
        m->value += v;
}

void
ch_metric_set(ch_metric *m, double v)
{
    if (m)
        m->value = v;
}

double
ch_metric_value(const ch_metric *m)
{
    if (!m)
        return 0;
    return m->gauge == CH_METRIC_HISTOGRAM ? (double)m->count : m->value;
}

static size_t
base_len(const char *name)
{
    const char *brace = strchr(name, '{');
    return brace ? (size_t)(brace - name) : strlen(name);
}

void
ch__metrics_render(ch_runtime *rt, struct evbuffer *out)
{
    for (ch_metric *m = rt->metrics; m; m = m->next) {
        size_t bl = base_len(m->name);
        int seen = 0;
        for (ch_metric *p = rt->metrics; p != m; p = p->next)
            if (base_len(p->name) == bl && strncmp(p->name, m->name, bl) == 0)
                seen = 1;
        static const char *const types[] = {"counter", "gauge", "histogram"};
        if (!seen)
            evbuffer_add_printf(out, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)bl, m->name, m->help,
                                (int)bl, m->name, types[m->gauge]);
        if (m->gauge != CH_METRIC_HISTOGRAM) {
            evbuffer_add_printf(out, "%s %.17g\n", m->name, m->value);
            continue;
        }
        /* name{labels} -> name_bucket{labels,le="b"}, name_sum{labels}, name_count{labels} */
        const char *labels = m->name + bl; /* "" or "{...}" */
        size_t ll = strlen(labels);
        const char *inner = ll ? labels + 1 : "";
        int innerlen = ll ? (int)ll - 2 : 0;
        uint64_t cum = 0;
        for (size_t i = 0; i <= m->nbuckets; i++) {
            char le[32];
            if (i < m->nbuckets) {
                cum += m->buckets[i];
                snprintf(le, sizeof(le), "%g", m->bounds[i]);
            } else {
                cum = m->count;
                snprintf(le, sizeof(le), "+Inf");
            }
            evbuffer_add_printf(out, "%.*s_bucket{%.*s%sle=\"%s\"} %llu\n", (int)bl, m->name,
                                innerlen, inner, innerlen ? "," : "", le, (unsigned long long)cum);
        }
        evbuffer_add_printf(out, "%.*s_sum%s %.17g\n%.*s_count%s %llu\n", (int)bl, m->name, labels,
                            m->value, (int)bl, m->name, labels, (unsigned long long)m->count);
    }
}

void
ch__metrics_destroy(ch_runtime *rt)
{
    ch_metric *m = rt->metrics;
    while (m) {
        ch_metric *next = m->next;
        free(m->name);
        free(m->help);
        free(m->bounds);
        free(m->buckets);
        free(m);
        m = next;
    }
    rt->metrics = NULL;
}
