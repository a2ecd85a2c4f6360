/*
 * The SMTP/LMTP state machine (smtp_session.h). Input is cut into lines at
 * LF inside the session's own line buffer, so a command split over reads,
 * or many commands in one read (pipelining), are handled alike. A command
 * line longer than the buffer is read to its end and dropped (500 5.5.2).
 * The message's data goes through the same buffer, a chunk at a time, so a
 * data line of any length is taken; only the message as a whole is
 * limited. A line's first chunk is where dot-unstuffing and the end of data
 * are decided, and the end is recognised only as "." CRLF after a line that
 * itself ended in CRLF.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "charter/strbuf.h"
#include "smtp_session.h"

struct smtp_session {
    smtp_limits lim;
    char hostname[256];
    ch_strbuf out;

    char line[SMTP_LINE_MAX + 1];
    size_t line_len;
    int overflow;     /* the command line is too long: dropping to its LF */
    int line_started; /* data: the current line's first chunk was taken */
    int prev_crlf;    /* data: the previous line ended in CRLF */
    int last_cr;      /* data: the last chunk of a long line ended in CR */

    int helo_done, have_mail, in_data, closed, too_big;
    smtp_event waiting;
    size_t answers_left; /* LMTP: replies still owed for the message */

    char helo[256];
    char sender[SMTP_ADDR_MAX + 1];
    char pending[SMTP_ADDR_MAX + 1];
    char **rcpt;
    size_t nrcpt, rcpt_cap;
    char *msg;
    size_t msg_len, msg_cap;
};

static void
reply(smtp_session *s, int code, const char *text)
{
    ch_strbuf_printf(&s->out, "%d %s\r\n", code, text);
}

static void
reset_transaction(smtp_session *s)
{
    for (size_t i = 0; i < s->nrcpt; i++)
        free(s->rcpt[i]);
    s->nrcpt = 0;
    s->have_mail = 0;
    s->in_data = 0;
    s->too_big = 0;
    s->sender[0] = s->pending[0] = '\0';
    s->msg_len = 0;
    s->answers_left = 0;
}

smtp_session *
smtp_session_new(const smtp_limits *limits)
{
    smtp_session *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->lim = *limits;
    snprintf(s->hostname, sizeof(s->hostname), "%s",
             limits->hostname && *limits->hostname ? limits->hostname : "localhost");
    s->lim.hostname = s->hostname;
    ch_strbuf_printf(&s->out, "220 %s %s Charter ready\r\n", s->hostname,
                     s->lim.mode == SMTP_MODE_LMTP ? "LMTP" : "ESMTP");
    if (ch_strbuf_failed(&s->out)) {
        smtp_session_free(s);
        return NULL;
    }
    return s;
}

void
smtp_session_free(smtp_session *s)
{
    if (!s)
        return;
    reset_transaction(s);
    free(s->rcpt);
    free(s->msg);
    ch_strbuf_free(&s->out);
    free(s);
}

const char *
smtp_session_output(const smtp_session *s, size_t *len)
{
    *len = s->out.n;
    return ch_strbuf_str(&s->out);
}

void
smtp_session_output_clear(smtp_session *s)
{
    ch_strbuf_free(&s->out);
}

int
smtp_session_closed(const smtp_session *s)
{
    return s->closed;
}

int
smtp_session_waiting(const smtp_session *s)
{
    return s->waiting != SMTP_EV_NONE;
}

int
smtp_session_in_data(const smtp_session *s)
{
    return s->in_data;
}

const char *
smtp_session_sender(const smtp_session *s)
{
    return s->sender;
}

const char *
smtp_session_helo(const smtp_session *s)
{
    return s->helo;
}

size_t
smtp_session_rcpt_count(const smtp_session *s)
{
    return s->nrcpt;
}

const char *
smtp_session_rcpt(const smtp_session *s, size_t i)
{
    return i < s->nrcpt ? s->rcpt[i] : NULL;
}

const char *
smtp_session_pending_rcpt(const smtp_session *s)
{
    return s->pending;
}

const char *
smtp_session_message(const smtp_session *s, size_t *len)
{
    *len = s->msg_len;
    return s->msg ? s->msg : "";
}

void
smtp_session_close(smtp_session *s, const char *text)
{
    if (s->closed)
        return;
    if (text)
        ch_strbuf_printf(&s->out, "%s\r\n", text);
    s->closed = 1;
}

static int
add_rcpt(smtp_session *s, const char *addr)
{
    if (s->nrcpt == s->rcpt_cap) {
        size_t cap = s->rcpt_cap ? s->rcpt_cap * 2 : 4;
        char **r = realloc(s->rcpt, cap * sizeof(*r));
        if (!r)
            return -1;
        s->rcpt = r;
        s->rcpt_cap = cap;
    }
    if (!(s->rcpt[s->nrcpt] = strdup(addr)))
        return -1;
    s->nrcpt++;
    return 0;
}

void
smtp_session_answer(smtp_session *s, int code, const char *text)
{
    switch (s->waiting) {
    case SMTP_EV_MAIL:
        s->waiting = SMTP_EV_NONE;
        reply(s, code, text ? text : "2.1.0 Ok");
        if (code < 400)
            s->have_mail = 1;
        else
            s->sender[0] = '\0';
        return;
    case SMTP_EV_RCPT:
        s->waiting = SMTP_EV_NONE;
        if (code < 400 && add_rcpt(s, s->pending) != 0) {
            reply(s, 452, "4.3.1 Out of memory");
        } else {
            reply(s, code, text ? text : "2.1.5 Ok");
        }
        s->pending[0] = '\0';
        return;
    case SMTP_EV_MESSAGE:
        reply(s, code, text ? text : "2.0.0 Ok: queued");
        if (s->answers_left > 1) {
            s->answers_left--;
            return;
        }
        s->waiting = SMTP_EV_NONE;
        reset_transaction(s);
        return;
    default:
        return;
    }
}

/* ---- commands ---- */

/* Case-insensitive prefix match; returns the text after it or NULL. */
static const char *
after(const char *line, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncasecmp(line, prefix, n) == 0 ? line + n : NULL;
}

/*
 * Parses "<path> params" into addr (without brackets or source route) and
 * *params (the rest, after spaces). 0, or -1 for a syntax error.
 */
static int
parse_path(const char *p, char *addr, size_t addrsz, const char **params)
{
    while (*p == ' ')
        p++;
    const char *start, *end;
    if (*p == '<') {
        start = p + 1;
        end = strchr(start, '>');
        if (!end)
            return -1;
        p = end + 1;
    } else {
        start = p;
        end = p + strcspn(p, " ");
        if (end == start)
            return -1;
        p = end;
    }
    if (*start == '@') { /* a source route "@a,@b:user@host": ignored (RFC 5321 C) */
        const char *colon = memchr(start, ':', (size_t)(end - start));
        if (!colon)
            return -1;
        start = colon + 1;
    }
    size_t n = (size_t)(end - start);
    if (n >= addrsz || n > SMTP_ADDR_MAX)
        return -1;
    for (const char *c = start; c < end; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '<' || *c == '>')
            return -1;
    memcpy(addr, start, n);
    addr[n] = '\0';
    if (*p && *p != ' ')
        return -1;
    while (*p == ' ')
        p++;
    *params = p;
    return 0;
}

static void
cmd_hello(smtp_session *s, const char *verb, const char *arg)
{
    int lhlo = strcasecmp(verb, "LHLO") == 0;
    if (lhlo != (s->lim.mode == SMTP_MODE_LMTP)) {
        reply(s, 500,
              lhlo ? "5.5.1 This is SMTP: say EHLO or HELO" : "5.5.1 This is LMTP: say LHLO");
        return;
    }
    while (*arg == ' ')
        arg++;
    if (!*arg) {
        reply(s, 501, "5.5.4 Say who you are: HELO name");
        return;
    }
    reset_transaction(s);
    snprintf(s->helo, sizeof(s->helo), "%.*s", (int)strcspn(arg, " "), arg);
    s->helo_done = 1;
    if (strcasecmp(verb, "HELO") == 0) {
        ch_strbuf_printf(&s->out, "250 %s\r\n", s->hostname);
        return;
    }
    ch_strbuf_printf(&s->out,
                     "250-%s\r\n250-PIPELINING\r\n250-SIZE %zu\r\n250-8BITMIME\r\n"
                     "250 ENHANCEDSTATUSCODES\r\n",
                     s->hostname, s->lim.max_bytes);
}

/* 1 when the next word of params is KEY=VALUE for key; *value then set. */
static int
param_is(const char *word, size_t n, const char *key, const char **value, size_t *vlen)
{
    size_t k = strlen(key);
    if (n <= k || strncasecmp(word, key, k) != 0 || word[k] != '=')
        return 0;
    *value = word + k + 1;
    *vlen = n - k - 1;
    return 1;
}

static void
cmd_mail(smtp_session *s, const char *arg, smtp_event *ev)
{
    if (!s->helo_done) {
        reply(s, 503,
              s->lim.mode == SMTP_MODE_LMTP ? "5.5.1 Say LHLO first"
                                            : "5.5.1 Say EHLO or HELO first");
        return;
    }
    if (s->have_mail) {
        reply(s, 503, "5.5.1 A transaction is open already (RSET first)");
        return;
    }
    const char *p = after(arg, "FROM:"), *params;
    char addr[SMTP_ADDR_MAX + 1];
    if (!p || parse_path(p, addr, sizeof(addr), &params) != 0) {
        reply(s, 501, "5.5.4 Syntax: MAIL FROM:<address>");
        return;
    }
    while (*params) {
        size_t n = strcspn(params, " ");
        const char *v;
        size_t vlen;
        if (param_is(params, n, "SIZE", &v, &vlen)) {
            unsigned long long size = 0;
            for (size_t i = 0; i < vlen; i++) {
                if (!isdigit((unsigned char)v[i]) || size > 1000000000000ULL) {
                    reply(s, 501, "5.5.4 SIZE= takes a number of bytes");
                    return;
                }
                size = size * 10 + (unsigned)(v[i] - '0');
            }
            if (size > s->lim.max_bytes) {
                char text[96];
                snprintf(text, sizeof(text), "5.3.4 Message too big (the limit is %zu bytes)",
                         s->lim.max_bytes);
                reply(s, 552, text);
                return;
            }
        } else if (param_is(params, n, "BODY", &v, &vlen)) {
            if (!((vlen == 4 && strncasecmp(v, "7BIT", 4) == 0) ||
                  (vlen == 8 && strncasecmp(v, "8BITMIME", 8) == 0))) {
                reply(s, 501, "5.5.4 BODY= is 7BIT or 8BITMIME");
                return;
            }
        } else {
            reply(s, 555, "5.5.4 Unsupported MAIL parameter");
            return;
        }
        params += n;
        while (*params == ' ')
            params++;
    }
    snprintf(s->sender, sizeof(s->sender), "%s", addr);
    s->waiting = *ev = SMTP_EV_MAIL;
}

static void
cmd_rcpt(smtp_session *s, const char *arg, smtp_event *ev)
{
    if (!s->have_mail) {
        reply(s, 503, "5.5.1 MAIL first");
        return;
    }
    const char *p = after(arg, "TO:"), *params;
    char addr[SMTP_ADDR_MAX + 1];
    if (!p || parse_path(p, addr, sizeof(addr), &params) != 0 || !addr[0]) {
        reply(s, 501, "5.5.4 Syntax: RCPT TO:<address>");
        return;
    }
    if (*params) {
        reply(s, 555, "5.5.4 Unsupported RCPT parameter");
        return;
    }
    if (s->nrcpt >= s->lim.max_recipients) {
        reply(s, 452, "4.5.3 Too many recipients");
        return;
    }
    snprintf(s->pending, sizeof(s->pending), "%s", addr);
    s->waiting = *ev = SMTP_EV_RCPT;
}

static void
cmd_data(smtp_session *s, const char *arg)
{
    if (*arg) {
        reply(s, 501, "5.5.4 DATA takes no argument");
        return;
    }
    if (!s->have_mail) {
        reply(s, 503, "5.5.1 MAIL first");
        return;
    }
    if (s->nrcpt == 0) {
        reply(s, 554, "5.5.1 No valid recipients");
        return;
    }
    reply(s, 354, "End data with <CR><LF>.<CR><LF>");
    s->in_data = 1;
    s->prev_crlf = 1;
    s->line_started = 0;
    s->msg_len = 0;
    s->too_big = 0;
}

static void
command(smtp_session *s, char *line, smtp_event *ev)
{
    size_t vn = strcspn(line, " ");
    char verb[16];
    if (vn >= sizeof(verb)) {
        reply(s, 500, "5.5.2 Command unrecognised");
        return;
    }
    memcpy(verb, line, vn);
    verb[vn] = '\0';
    const char *arg = line + vn;
    if (*arg == ' ')
        arg++;
    if (!strcasecmp(verb, "EHLO") || !strcasecmp(verb, "HELO") || !strcasecmp(verb, "LHLO"))
        cmd_hello(s, verb, arg);
    else if (!strcasecmp(verb, "MAIL"))
        cmd_mail(s, arg, ev);
    else if (!strcasecmp(verb, "RCPT"))
        cmd_rcpt(s, arg, ev);
    else if (!strcasecmp(verb, "DATA"))
        cmd_data(s, arg);
    else if (!strcasecmp(verb, "RSET")) {
        reset_transaction(s);
        reply(s, 250, "2.0.0 Ok");
    } else if (!strcasecmp(verb, "NOOP"))
        reply(s, 250, "2.0.0 Ok");
    else if (!strcasecmp(verb, "QUIT")) {
        reply(s, 221, "2.0.0 Bye");
        s->closed = 1;
        *ev = SMTP_EV_CLOSE;
    } else if (!strcasecmp(verb, "VRFY") || !strcasecmp(verb, "EXPN"))
        reply(s, 502, "5.5.1 VRFY and EXPN are disabled");
    else if (!strcasecmp(verb, "HELP"))
        reply(s, 214, "2.0.0 Charter's mail listener: RFC 5321 and RFC 2033");
    else if (!strcasecmp(verb, "STARTTLS") || !strcasecmp(verb, "AUTH") ||
             !strcasecmp(verb, "BDAT") || !strcasecmp(verb, "ETRN") || !strcasecmp(verb, "TURN"))
        reply(s, 502, "5.5.1 Command not implemented");
    else
        reply(s, 500, "5.5.2 Command unrecognised");
}

/* ---- data ---- */

static void
append(smtp_session *s, const char *p, size_t n)
{
    if (s->too_big)
        return;
    if (s->msg_len + n > s->lim.max_bytes) {
        s->too_big = 1;
        return;
    }
    if (s->msg_len + n > s->msg_cap) {
        size_t cap = s->msg_cap ? s->msg_cap : 4096;
        while (cap < s->msg_len + n)
            cap *= 2;
        if (cap > s->lim.max_bytes)
            cap = s->lim.max_bytes;
        char *m = realloc(s->msg, cap);
        if (!m) {
            s->too_big = 1; /* answered like a message over the limit */
            return;
        }
        s->msg = m;
        s->msg_cap = cap;
    }
    memcpy(s->msg + s->msg_len, p, n);
    s->msg_len += n;
}

/* The message has ended: answer it ourselves (too big) or hand it over. */
static void
data_end(smtp_session *s, smtp_event *ev)
{
    s->in_data = 0;
    if (s->too_big) {
        char text[96];
        snprintf(text, sizeof(text), "5.3.4 Message too big (the limit is %zu bytes)",
                 s->lim.max_bytes);
        size_t n = s->lim.mode == SMTP_MODE_LMTP ? s->nrcpt : 1;
        for (size_t i = 0; i < n; i++)
            reply(s, 552, text);
        reset_transaction(s);
        return;
    }
    s->answers_left = s->lim.mode == SMTP_MODE_LMTP ? s->nrcpt : 1;
    s->waiting = *ev = SMTP_EV_MESSAGE;
}

/* A data chunk: a whole line (ending in LF) or, complete 0, a full buffer of
 * a longer one. */
static void
data_chunk(smtp_session *s, const char *p, size_t n, int complete, smtp_event *ev)
{
    if (!s->line_started) {
        if (complete && s->prev_crlf && n == 3 && memcmp(p, ".\r\n", 3) == 0) {
            data_end(s, ev);
            return;
        }
        if (n > 0 && p[0] == '.') {
            p++;
            n--;
        }
    }
    append(s, p, n);
    if (complete) {
        s->prev_crlf = n >= 2 ? p[n - 2] == '\r' : n == 1 && s->line_started && s->last_cr;
        s->line_started = 0;
    } else {
        s->line_started = 1;
        s->last_cr = n > 0 && p[n - 1] == '\r';
    }
}

size_t
smtp_session_input(smtp_session *s, const char *buf, size_t len, smtp_event *ev)
{
    *ev = SMTP_EV_NONE;
    size_t i = 0;
    while (i < len && !s->closed && s->waiting == SMTP_EV_NONE && *ev == SMTP_EV_NONE) {
        const char *lf = memchr(buf + i, '\n', len - i);
        size_t take = lf ? (size_t)(lf - (buf + i)) + 1 : len - i;
        size_t room = SMTP_LINE_MAX - s->line_len;
        int complete = lf != NULL;
        if (take > room) {
            take = room;
            complete = 0;
        }
        if (!s->overflow) {
            memcpy(s->line + s->line_len, buf + i, take);
            s->line_len += take;
        }
        i += take;
        if (s->in_data) {
            if (complete || s->line_len == SMTP_LINE_MAX) {
                data_chunk(s, s->line, s->line_len, complete, ev);
                s->line_len = 0;
            }
            continue;
        }
        if (!complete) {
            if (s->line_len == SMTP_LINE_MAX) {
                s->overflow = 1;
                s->line_len = 0;
            }
            continue;
        }
        if (s->overflow) {
            s->overflow = 0;
            s->line_len = 0;
            reply(s, 500, "5.5.2 Line too long");
            continue;
        }
        size_t n = s->line_len;
        while (n > 0 && (s->line[n - 1] == '\n' || s->line[n - 1] == '\r'))
            n--;
        s->line[n] = '\0';
        s->line_len = 0;
        if (memchr(s->line, '\0', n)) {
            reply(s, 500, "5.5.2 NUL in a command");
            continue;
        }
        command(s, s->line, ev);
    }
    return i;
}
