/*
 * The per-turn log buffer (log_defer.h). Lines are copied in whole, and the
 * buffer is written out before a line that would not fit, so what reaches
 * the file is always whole lines in the order they were logged.
 */
#include "log_defer.h"

#include <string.h>

static void
defer_flush(void *arg)
{
    ch_log_defer *d = arg;
    d->scheduled = 0;
    if (d->n == 0)
        return;
    FILE *out = d->lg->out ? d->lg->out : stderr;
    fwrite(d->buf, 1, d->n, out);
    fflush(out);
    d->n = 0;
}

static int
defer_hold(void *arg, ch_log_level lvl, const char *line, size_t len)
{
    ch_log_defer *d = arg;
    if (!pthread_equal(pthread_self(), d->owner))
        return 0;
    if (lvl >= CH_LOG_WARN || len > sizeof(d->buf)) {
        defer_flush(d);
        return 0;
    }
    if (d->n + len > sizeof(d->buf))
        defer_flush(d);
    memcpy(d->buf + d->n, line, len);
    d->n += len;
    if (!d->scheduled && d->schedule) {
        d->scheduled = 1;
        d->schedule(d->arg);
    }
    return 1;
}

void
ch__log_defer_attach(ch_log_defer *d, ch_log *lg, void (*schedule)(void *arg), void *arg)
{
    d->n = 0;
    d->scheduled = 0;
    d->owner = pthread_self();
    d->schedule = schedule;
    d->arg = arg;
    d->lg = lg;
    d->sink = (ch_log_sink){defer_hold, defer_flush, d};
    lg->defer = &d->sink;
}
