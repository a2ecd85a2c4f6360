/*
 * Templates (template.h). A template is kept as the text of its file, with
 * comment lines still in place, so an error found while rendering can name
 * the same line number the editor shows. Parsing checks everything a file
 * can get wrong on its own (placeholder names, braces, UTF-8, the subject
 * line); rendering can then only fail on a value the message lacks.
 */
#include "charter/template.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "charter/civil.h"
#include "charter/errors.h"
#include "charter/fileio.h"
#include "charter/strbuf.h"
#include "charter/tz.h"
#include "utf8_int.h"

#define TEMPLATE_MAX_BYTES (64 * 1024)
#define NAME_MAX_LEN 40

static const char *const placeholders[] = {
    "reference",        /* the case reference, "NCH-2026-000123" */
    "organisation",     /* the organisation's name */
    "customer_name",    /* as the customer gave it */
    "target_date",      /* "Friday 2 January 2026" */
    "respond_within",   /* "within 5 working days" */
    "contact_name",     /* the named contact, where the charter promises one */
    "contact_details",  /* how to reach the named contact or the team */
    "reason",           /* why a holding reply moved the date */
    "next_steps",       /* a holding reply: what happens next, as staff recorded it */
    "new_target_date",  /* the date a holding reply gives */
    "appointment_date", /* "Friday 2 January 2026" */
    "appointment_time", /* "10:30am" */
    "case_type",        /* "Complaint, stage 1" */
    "channel",          /* "Email" */
    "role",             /* the recipient's role title, for staff alerts */
    "tier",             /* warning tier, 1-based */
    "due_date",         /* when the timer fell due, in words */
    "due_time",
    "waited",               /* "25 minutes" */
    "appointment_location", /* where, as the appointment event gives it */
    "visit_requirements",   /* the policy's visit_requirements (ch_template_list) */
    "detail",               /* staff alerts: why (a refused extension, an undeliverable notice) */
    "review",               /* staff alerts: the review cycle, 1-based */
    NULL,
};

const char *const *
ch_template_placeholders(void)
{
    return placeholders;
}

static int
known_placeholder(const char *s, size_t n)
{
    for (size_t i = 0; placeholders[i]; i++)
        if (strlen(placeholders[i]) == n && memcmp(placeholders[i], s, n) == 0)
            return 1;
    return 0;
}

static void
set_err(char *errstr, size_t errstr_size, const char *fmt, ...)
{
    if (!errstr || errstr_size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_size, fmt, ap);
    va_end(ap);
}

static int
is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/*
 * Checks the placeholders of one line [s, s+n). Returns 0 or CH_EINVAL with
 * errstr naming `source`, `line` and what is wrong.
 */
static int
check_line(const char *source, int line, const char *s, size_t n, char *errstr, size_t errstr_size)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = ch__utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (l == 0) {
            set_err(errstr, errstr_size, "%s:%d: not valid UTF-8 (save the file as UTF-8)", source,
                    line);
            return CH_EINVAL;
        }
        if (s[i] == '{' && i + 1 < n && s[i + 1] == '{') {
            i += 2;
            continue;
        }
        if (s[i] == '}') {
            if (i + 1 < n && s[i + 1] == '}') {
                i += 2;
                continue;
            }
            set_err(errstr, errstr_size, "%s:%d: a '}' without its '{' (write '}}' for a brace)",
                    source, line);
            return CH_EINVAL;
        }
        if (s[i] != '{') {
            i += l;
            continue;
        }
        size_t start = i + 1;
        if (start < n && s[start] == '?')
            start++;
        size_t end = start;
        while (end < n && s[end] != '}' && s[end] != '{')
            end++;
        if (end >= n || s[end] != '}') {
            set_err(errstr, errstr_size,
                    "%s:%d: a '{' without its '}' (write '{{' for a brace, or {placeholder})",
                    source, line);
            return CH_EINVAL;
        }
        size_t len = end - start;
        int valid = len > 0 && len <= NAME_MAX_LEN;
        for (size_t k = start; valid && k < end; k++)
            valid = is_name_char(s[k]);
        if (!valid || !known_placeholder(s + start, len)) {
            char known[512] = "";
            size_t off = 0;
            for (size_t k = 0; placeholders[k] && off < sizeof(known); k++)
                off += (size_t)snprintf(known + off, sizeof(known) - off, "%s%s", k ? ", " : "",
                                        placeholders[k]);
            set_err(errstr, errstr_size, "%s:%d: unknown placeholder {%.*s} (known: %s)", source,
                    line, (int)(end - (i + 1)) > 60 ? 60 : (int)(end - (i + 1)), s + i + 1, known);
            return CH_EINVAL;
        }
        i = end + 1;
    }
    return 0;
}

static int
is_comment(const char *s, size_t n)
{
    return n > 0 && s[0] == '#';
}

static int
is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

static char *
dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

int
ch_template_parse(const char *text, size_t len, const char *name, int want_subject,
                  ch_template *out, char *errstr, size_t errstr_size)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->source, sizeof(out->source), "%s", name ? name : "template");
    const char *src = out->source;
    if (memchr(text, '\0', len)) {
        set_err(errstr, errstr_size, "%s: holds a NUL byte (not a text file)", src);
        return CH_EINVAL;
    }
    /* Find the subject (if wanted) and where the body starts. */
    size_t pos = 0;
    int line = 1;
    int have_subject = 0;
    size_t body_start = 0;
    int body_line = 1;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        const char *s = text + pos;
        size_t next = pos + n + (nl ? 1 : 0);
        if (is_comment(s, n)) {
            pos = next, line++;
            continue;
        }
        int is_subject = n >= 8 && strncmp(s, "Subject:", 8) == 0;
        if (!have_subject && is_subject) {
            if (!want_subject) {
                set_err(errstr, errstr_size,
                        "%s:%d: only email templates have a subject (remove this line)", src, line);
                return CH_EINVAL;
            }
            size_t a = 8;
            while (a < n && (s[a] == ' ' || s[a] == '\t'))
                a++;
            size_t b = n;
            while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r'))
                b--;
            if (b == a) {
                set_err(errstr, errstr_size, "%s:%d: the subject is empty", src, line);
                return CH_EINVAL;
            }
            int rc = check_line(src, line, s + a, b - a, errstr, errstr_size);
            if (rc != 0)
                return rc;
            out->subject = dup_n(s + a, b - a);
            if (!out->subject)
                goto nomem;
            out->subject_line = line;
            have_subject = 1;
            pos = next, line++;
            /* Comments may sit between the subject and the blank line. */
            while (pos < len) {
                const char *nl2 = memchr(text + pos, '\n', len - pos);
                size_t n2 = nl2 ? (size_t)(nl2 - (text + pos)) : len - pos;
                size_t next2 = pos + n2 + (nl2 ? 1 : 0);
                if (is_comment(text + pos, n2)) {
                    pos = next2, line++;
                    continue;
                }
                if (!is_blank(text + pos, n2)) {
                    set_err(errstr, errstr_size,
                            "%s:%d: expected a blank line between the subject and the message", src,
                            line);
                    ch_template_free(out);
                    return CH_EINVAL;
                }
                pos = next2, line++;
                break;
            }
            body_start = pos, body_line = line;
            break;
        }
        if (want_subject) {
            set_err(errstr, errstr_size,
                    "%s:%d: an email template starts with a \"Subject: ...\" line", src, line);
            return CH_EINVAL;
        }
        body_start = pos, body_line = line;
        break;
    }
    if (want_subject && !have_subject) {
        set_err(errstr, errstr_size, "%s: an email template starts with a \"Subject: ...\" line",
                src);
        ch_template_free(out);
        return CH_EINVAL;
    }
    /* Check the body line by line. */
    int any_text = 0;
    line = body_line;
    for (pos = body_start; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        if (!is_comment(text + pos, n)) {
            int rc = check_line(src, line, text + pos, n, errstr, errstr_size);
            if (rc != 0) {
                ch_template_free(out);
                return rc;
            }
            any_text |= !is_blank(text + pos, n);
        }
        pos += n + (nl ? 1 : 0), line++;
    }
    if (!any_text) {
        set_err(errstr, errstr_size, "%s: the message is empty", src);
        ch_template_free(out);
        return CH_EINVAL;
    }
    out->body = dup_n(text + body_start, len - body_start);
    if (!out->body)
        goto nomem;
    out->body_line = body_line;
    return 0;
nomem:
    ch_template_free(out);
    set_err(errstr, errstr_size, "%s: out of memory", src);
    return CH_ENOMEM;
}

/* The reason in ch_file_read_all's "<path>: cannot open: <reason>" (or
 * "cannot read"), for the template's own "<path>: cannot be read: <reason>". */
static const char *
io_reason(const char *path, const char *why)
{
    size_t n = strlen(path);
    if (strncmp(why, path, n) == 0 && strncmp(why + n, ": cannot ", 9) == 0) {
        const char *r = strstr(why + n + 9, ": ");
        if (r)
            return r + 2;
    }
    return why;
}

int
ch_template_load_file(const char *path, ch_template *out, char *errstr, size_t errstr_size)
{
    memset(out, 0, sizeof(*out));
    char *buf;
    size_t n;
    char why[512];
    int rc = ch_file_read_all(path, TEMPLATE_MAX_BYTES, &buf, &n, why, sizeof(why));
    if (rc == CH_EINVAL) {
        set_err(errstr, errstr_size, "%s: longer than %d bytes", path, TEMPLATE_MAX_BYTES);
        return CH_EINVAL;
    }
    if (rc == CH_ENOMEM) {
        set_err(errstr, errstr_size, "%s: out of memory", path);
        return CH_ENOMEM;
    }
    if (rc != 0) {
        set_err(errstr, errstr_size, "%s: cannot be read: %s", path, io_reason(path, why));
        return CH_EIO;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    rc = ch_template_parse(buf, n, path, strstr(base, ".email.") != NULL, out, errstr, errstr_size);
    free(buf);
    return rc;
}

static int
valid_name(const char *s)
{
    if (!s || !*s || strlen(s) > 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return 0;
    return 1;
}

int
ch_template_find(const char *dir, const char *org, const char *kind, const char *channel,
                 const char *lang, char *path, size_t pathsz, char *errstr, size_t errstr_size)
{
    if (!valid_name(org) || !valid_name(kind) || !valid_name(channel)) {
        set_err(errstr, errstr_size,
                "template names hold only letters, digits, '_' and '-' (organisation '%s', "
                "kind '%s', channel '%s')",
                org ? org : "", kind ? kind : "", channel ? channel : "");
        return CH_EINVAL;
    }
    /* The customer's language, then its primary subtag ("cy-GB" -> "cy"),
     * then "en", the language every default template is written in. A
     * language that is no name at all ("en GB", recorded before ingest
     * checked tags) goes straight to "en": a message is never refused for
     * it. */
    char primary[16] = "";
    if (!lang || !valid_name(lang))
        lang = "en";
    size_t plen = strcspn(lang, "-_");
    if (lang[plen] && plen > 0 && plen < sizeof(primary))
        memcpy(primary, lang, plen), primary[plen] = '\0';
    /* Email and SMS have their own shape (a subject; a length), so they never
     * fall back to "any". */
    int own_shape = strcmp(channel, "email") == 0 || strcmp(channel, "sms") == 0;
    const char *langs[3] = {lang, NULL, NULL};
    int nlangs = 1;
    if (primary[0] && strcmp(primary, lang) != 0)
        langs[nlangs++] = primary;
    if (strcmp(langs[nlangs - 1], "en") != 0 && strcmp(lang, "en") != 0)
        langs[nlangs++] = "en";
    const char *orgs[2] = {org, "default"};
    const char *channels[2] = {channel, own_shape ? NULL : "any"};
    for (int l = 0; l < nlangs; l++)
        for (int o = 0; o < 2; o++)
            for (int c = 0; c < 2 && channels[c]; c++) {
                int w = snprintf(path, pathsz, "%s/%s/%s.%s.%s.txt", dir, orgs[o], kind,
                                 channels[c], langs[l]);
                if (w > 0 && (size_t)w < pathsz && access(path, R_OK) == 0)
                    return 0;
            }
    set_err(errstr, errstr_size,
            "no template for %s %s by %s in %s: looked for %s/{%s,default}/%s.{%s,any}.%s.txt", org,
            kind, channel, lang, dir, org, kind, channel, lang);
    if (pathsz)
        path[0] = '\0';
    return CH_ENOTFOUND;
}

void
ch_template_free(ch_template *t)
{
    if (!t)
        return;
    free(t->subject);
    free(t->body);
    memset(t, 0, sizeof(*t));
}

/* ---- rendering ---- */

/* Drops the spaces and tabs at the end of b that come after byte `from`. */
static void
trim_trailing_blanks(ch_strbuf *b, size_t from)
{
    while (b->n > from && (b->p[b->n - 1] == ' ' || b->p[b->n - 1] == '\t'))
        b->p[--b->n] = '\0';
}

static const char *
lookup(const ch_template_var *vars, size_t nvars, const char *name, size_t n)
{
    const char *v = NULL;
    for (size_t i = 0; i < nvars; i++)
        if (vars[i].name && strlen(vars[i].name) == n && memcmp(vars[i].name, name, n) == 0)
            v = vars[i].value;
    return v && *v ? v : NULL;
}

/* Whether every {?name} guard on the line has a value. */
static int
guards_hold(const char *s, size_t n, const ch_template_var *vars, size_t nvars)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] == '{' && s[i + 1] == '{') {
            i++;
            continue;
        }
        if (s[i] == '{' && s[i + 1] == '?') {
            const char *end = memchr(s + i, '}', n - i);
            if (end && !lookup(vars, nvars, s + i + 2, (size_t)(end - (s + i + 2))))
                return 0;
        }
    }
    return 1;
}

/* Expands one checked line into b. */
static int
expand_line(const ch_template *t, int line, const char *s, size_t n, const ch_template_var *vars,
            size_t nvars, ch_strbuf *b, char *errstr, size_t errstr_size)
{
    size_t lit = 0;
    for (size_t i = 0; i < n;) {
        if ((s[i] == '{' || s[i] == '}') && i + 1 < n && s[i + 1] == s[i]) {
            ch_strbuf_put(b, s + lit, i - lit + 1);
            i += 2, lit = i;
            continue;
        }
        if (s[i] != '{') {
            i++;
            continue;
        }
        ch_strbuf_put(b, s + lit, i - lit);
        const char *end = memchr(s + i, '}', n - i);
        if (!end)
            return CH_EINVAL; /* parse refused this */
        if (s[i + 1] != '?') {
            const char *name = s + i + 1;
            size_t len = (size_t)(end - name);
            const char *v = lookup(vars, nvars, name, len);
            if (!v) {
                set_err(errstr, errstr_size, "%s:%d: no value for {%.*s} in this message",
                        t->source, line, (int)len, name);
                return CH_EINVAL;
            }
            ch_strbuf_puts(b, v);
        }
        i = (size_t)(end - s) + 1, lit = i;
    }
    ch_strbuf_put(b, s + lit, n - lit);
    return 0;
}

static int
render_body(const ch_template *t, const ch_template_var *vars, size_t nvars, ch_strbuf *b,
            char *errstr, size_t errstr_size)
{
    const char *text = t->body;
    size_t len = strlen(text), pos = 0;
    int line = t->body_line;
    size_t pending_blank = 0; /* blank lines held back until text follows */
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        const char *s = text + pos;
        pos += n + (nl ? 1 : 0);
        if (n > 0 && s[n - 1] == '\r')
            n--;
        int this_line = line++;
        if (is_comment(s, n) || !guards_hold(s, n, vars, nvars))
            continue;
        if (is_blank(s, n)) {
            if (b->n > 0)
                pending_blank++;
            continue;
        }
        if (b->n > 0)
            ch_strbuf_puts(b, "\n");
        for (; pending_blank > 0; pending_blank--)
            ch_strbuf_puts(b, "\n");
        size_t before = b->n;
        int rc = expand_line(t, this_line, s, n, vars, nvars, b, errstr, errstr_size);
        if (rc != 0)
            return rc;
        /* Trailing spaces left by an empty guard or the editor go. */
        trim_trailing_blanks(b, before);
    }
    return 0;
}

int
ch_template_render(const ch_template *t, const ch_template_var *vars, size_t nvars, char **subject,
                   char **body, char *errstr, size_t errstr_size)
{
    *subject = NULL;
    *body = NULL;
    ch_strbuf sb = CH_STRBUF_INIT, bb = CH_STRBUF_INIT;
    int rc = 0;
    if (t->subject)
        rc = expand_line(t, t->subject_line, t->subject, strlen(t->subject), vars, nvars, &sb,
                         errstr, errstr_size);
    if (rc == 0)
        rc = render_body(t, vars, nvars, &bb, errstr, errstr_size);
    if (rc == 0) {
        *subject = t->subject ? ch_strbuf_take(&sb, NULL) : NULL;
        *body = ch_strbuf_take(&bb, NULL);
        if ((t->subject && !*subject) || !*body) {
            free(*subject);
            free(*body);
            *subject = *body = NULL;
            set_err(errstr, errstr_size, "%s: out of memory", t->source);
            rc = CH_ENOMEM;
        }
    }
    ch_strbuf_free(&sb);
    ch_strbuf_free(&bb);
    return rc;
}

char *
ch_template_list(const char *const *items, size_t n, int inline_)
{
    if (n == 0)
        return NULL;
    ch_strbuf b = CH_STRBUF_INIT;
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            ch_strbuf_puts(&b, inline_ ? " " : "\n");
        if (!inline_)
            ch_strbuf_puts(&b, "- ");
        ch_strbuf_puts(&b, items[i]);
    }
    return ch_strbuf_take(&b, NULL);
}

/* ---- dates and times ---- */

static const char *const weekdays[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                       "Friday", "Saturday", "Sunday"};
static const char *const months[] = {"January",   "February", "March",    "April",
                                     "May",       "June",     "July",     "August",
                                     "September", "October",  "November", "December"};

void
ch_template_date_words(const ch_tz *tz, int64_t utc_s, char *buf, size_t bufsz)
{
    int32_t day = ch_civil_day_of(ch_tz_local_seconds(tz, utc_s));
    int y, m, d;
    ch_civil_from_day(day, &y, &m, &d);
    snprintf(buf, bufsz, "%s %d %s %d", weekdays[ch_weekday(day)], d, months[m - 1], y);
}

void
ch_template_time_words(const ch_tz *tz, int64_t utc_s, char *buf, size_t bufsz)
{
    int32_t sec = ch_civil_second_of_day(ch_tz_local_seconds(tz, utc_s));
    int h = (int)(sec / 3600), mi = (int)(sec % 3600 / 60);
    if (h == 0 && mi == 0) {
        snprintf(buf, bufsz, "midnight");
        return;
    }
    if (h == 12 && mi == 0) {
        snprintf(buf, bufsz, "midday");
        return;
    }
    int h12 = h % 12 == 0 ? 12 : h % 12;
    const char *ampm = h < 12 ? "am" : "pm";
    if (mi == 0)
        snprintf(buf, bufsz, "%d%s", h12, ampm);
    else
        snprintf(buf, bufsz, "%d:%02d%s", h12, mi, ampm);
}
