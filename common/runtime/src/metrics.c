/*
 * A deliberately small metrics registry: a list of named values rendered in
 * Prometheus text format. Services register their metrics once at init,
 * from a table (ch_metrics_register), and keep the pointers, so the hot path
 * is one addition.
 */
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "runtime_int.h"

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

int
ch_metrics_register(ch_runtime *rt, const ch_metric_def *defs, size_t n, void *base)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        ch_metric *m = metric_new(rt, defs[i].name, defs[i].help, defs[i].kind == CH_METRIC_GAUGE);
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
    return m ? m->value : 0;
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
        if (!seen)
            evbuffer_add_printf(out, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)bl, m->name, m->help,
                                (int)bl, m->name, m->gauge ? "gauge" : "counter");
        evbuffer_add_printf(out, "%s %.17g\n", m->name, m->value);
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
        free(m);
        m = next;
    }
    rt->metrics = NULL;
}
