/*
 * JSON-lines logger. Each line is built in a stack buffer and written with
 * one fwrite (or handed whole to lg->defer, which writes it with the loop
 * turn's other lines) so concurrent processes sharing a terminal do not
 * interleave within a line.
 */
#include "charter/log.h"

#include <string.h>
#include <strings.h>

#include "charter/errors.h"
#include "charter/timeutil.h"

static const char *level_names[] = {"debug", "info", "warn", "error"};

int
ch_log_level_parse(const char *s, ch_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (ch_log_level)i;
            return 0;
        }
    }
    return CH_EINVAL;
}

typedef struct {
    char buf[4096];
    size_t n;
} line_buf;

static void
put(line_buf *b, const char *s, size_t len)
{
    if (b->n + len >= sizeof(b->buf) - 2)
        len = sizeof(b->buf) - 2 - b->n;
    memcpy(b->buf + b->n, s, len);
    b->n += len;
}

/* The characters JSON writes as a backslash and one more character, and those. */
static const char short_escaped[] = "\"\\\n\r\t", short_escapes[] = "\"\\nrt";

/* Runs of bytes that need no escaping are copied whole: a line is mostly
 * such runs, and it is built for every accepted event. */
static void
put_json_string(line_buf *b, const char *s)
{
    put(b, "\"", 1);
    const unsigned char *p = (const unsigned char *)(s ? s : ""), *run = p;
    for (;; p++) {
        unsigned char c = *p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(b, (const char *)run, (size_t)(p - run));
        if (c == '\0')
            break;
        run = p + 1;
        const char *e = strchr(short_escaped, c);
        char esc[8];
        if (e) {
            esc[0] = '\\';
            esc[1] = short_escapes[e - short_escaped];
            put(b, esc, 2);
        } else {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            put(b, esc, 6);
        }
    }
    put(b, "\"", 1);
}

void
ch_log_emit(const ch_log *lg, ch_log_level lvl, const char *msg, const ch_log_field *f, size_t nf)
{
    line_buf b;
    b.n = 0;
    char ts[CH_TIME_BUFSZ];
    ch_time_format_utc(ch_time_now_ms(), ts, sizeof(ts));
    put(&b, "{\"ts\":", 6);
    put_json_string(&b, ts);
    put(&b, ",\"level\":", 9);
    put_json_string(&b, level_names[lvl]);
    put(&b, ",\"service\":", 11);
    put_json_string(&b, lg->service);
    put(&b, ",\"msg\":", 7);
    put_json_string(&b, msg);
    for (size_t i = 0; i < nf; i++) {
        if (f[i].type == CH_LOG_T_NONE)
            continue;
        put(&b, ",", 1);
        put_json_string(&b, f[i].key);
        put(&b, ":", 1);
        char num[32];
        switch (f[i].type) {
        case CH_LOG_T_STR:
            put_json_string(&b, f[i].s);
            break;
        case CH_LOG_T_INT:
            put(&b, num, (size_t)snprintf(num, sizeof(num), "%lld", f[i].i));
            break;
        case CH_LOG_T_ERRNO:
            put_json_string(&b, strerror((int)f[i].i));
            break;
        case CH_LOG_T_NONE:
            break;
        }
    }
    put(&b, "}\n", 2);
    if (lg->defer && lg->defer->hold(lg->defer->arg, lvl, b.buf, b.n))
        return;
    FILE *out = lg->out ? lg->out : stderr;
    fwrite(b.buf, 1, b.n, out);
    fflush(out);
}

void
ch_log_flush(const ch_log *lg)
{
    if (lg->defer)
        lg->defer->flush(lg->defer->arg);
}
