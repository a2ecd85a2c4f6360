/*
 * Text tidying and HTML to text for e-mail (mail_text.h). Everything works
 * on bytes already made valid UTF-8 (ch_contact_utf8_repair), so the decoder
 * below only has to read well-formed sequences.
 */
#include "mail_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "charter/contact_fields.h"
#include "charter/strbuf.h"

/* Decodes the well-formed sequence at p (n bytes left): its length, *cp. */
static size_t
utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
    size_t len = p[0] < 0x80 ? 1 : (p[0] & 0xE0) == 0xC0 ? 2 : (p[0] & 0xF0) == 0xE0 ? 3 : 4;
    if (len > n)
        len = n;
    uint32_t c = len == 1 ? p[0] : len == 2 ? p[0] & 0x1F : len == 3 ? p[0] & 0x0F : p[0] & 0x07;
    for (size_t i = 1; i < len; i++)
        c = (c << 6) | (p[i] & 0x3F);
    *cp = c;
    return len;
}

static int
is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0xFEFF;
}

size_t
ingest_mail_text_tidy(char *s, int one_line, size_t max_chars)
{
    ch_contact_utf8_repair(s);
    unsigned char *p = (unsigned char *)s;
    size_t n = strlen(s), w = 0, chars = 0;
    size_t newlines = 0; /* LFs just written (free text) */
    int space = 0;       /* a space is owed before the next character */
    for (size_t i = 0; i < n && chars < max_chars;) {
        uint32_t cp;
        size_t len = utf8_next(p + i, n - i, &cp);
        size_t at = i;
        i += len;
        if (cp == '\r') {
            if (i < n && p[i] == '\n')
                continue;
            cp = '\n';
        }
        if (cp == 0x2028 || cp == 0x2029)
            cp = '\n';
        if (cp == '\n' && !one_line) {
            if (newlines < 2 && w > 0) {
                p[w++] = '\n';
                chars++;
                newlines++;
            }
            space = 0;
            continue;
        }
        if (cp == ' ' || cp == '\t' || cp == '\n') {
            if (one_line)
                space = w > 0;
            else if (w > 0) { /* free text keeps its spaces and TABs (indentation) */
                p[w++] = (unsigned char)cp;
                chars++;
            }
            continue;
        }
        if (is_control(cp))
            continue;
        if (space) {
            if (chars + 1 >= max_chars)
                break;
            p[w++] = ' ';
            chars++;
            space = 0;
        }
        memmove(p + w, p + at, len);
        w += len;
        chars++;
        newlines = 0;
    }
    /* trailing white space, the spaces and TABs before each LF, a third LF */
    while (w > 0 && (p[w - 1] == ' ' || p[w - 1] == '\t' || p[w - 1] == '\n'))
        w--;
    size_t out = 0;
    for (size_t i = 0; i < w; i++) {
        if (p[i] == '\n') {
            while (out > 0 && (p[out - 1] == ' ' || p[out - 1] == '\t'))
                out--;
            if (out >= 2 && p[out - 1] == '\n' && p[out - 2] == '\n')
                continue;
        }
        p[out++] = p[i];
    }
    p[out] = '\0';
    return out;
}

/* ---- HTML ---- */

typedef struct {
    ch_strbuf b;
    size_t limit; /* bytes of output wanted */
    int space;    /* white space seen since the last character */
    int newlines; /* line breaks owed (block boundaries), at most 2 */
    int started;  /* some text was written */
    int pre;      /* inside <pre> */
} html_out;

static void
emit_raw(html_out *o, const char *s, size_t n)
{
    if (o->newlines && o->started) {
        ch_strbuf_put(&o->b, "\n\n", (size_t)o->newlines);
        o->space = 0;
    } else if (o->space && o->started)
        ch_strbuf_putc(&o->b, ' ');
    o->newlines = 0;
    o->space = 0;
    ch_strbuf_put(&o->b, s, n);
    o->started = 1;
}

static void
emit_cp(html_out *o, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        cp = 0xFFFD;
    if (cp == 0xA0)
        cp = ' ';
    if (cp == ' ' && !o->pre) {
        o->space = 1;
        return;
    }
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    emit_raw(o, u, n);
}

static void
block(html_out *o, int lines)
{
    if (o->newlines < lines)
        o->newlines = lines;
    o->space = 0;
}

static const struct {
    const char *name;
    uint32_t cp;
} entities[] = {
    {"amp", '&'},      {"lt", '<'},       {"gt", '>'},       {"quot", '"'},      {"apos", '\''},
    {"nbsp", 0xA0},    {"ndash", 0x2013}, {"mdash", 0x2014}, {"hellip", 0x2026}, {"lsquo", 0x2018},
    {"rsquo", 0x2019}, {"ldquo", 0x201C}, {"rdquo", 0x201D}, {"pound", 0xA3},    {"euro", 0x20AC},
    {"copy", 0xA9},    {"reg", 0xAE},     {"trade", 0x2122}, {"bull", 0x2022},   {"middot", 0xB7},
    {"eacute", 0xE9},  {"egrave", 0xE8},  {"agrave", 0xE0},  {"ccedil", 0xE7},   {"ouml", 0xF6},
    {"uuml", 0xFC},    {"auml", 0xE4},    {"szlig", 0xDF},   {"shy", 0xAD},      {"zwnj", 0x200C},
    {"laquo", 0xAB},   {"raquo", 0xBB},
};

/* A character reference at s[0] == '&': its length (0 when it is none). */
static size_t
entity(const char *s, size_t n, uint32_t *cp)
{
    size_t i = 1;
    if (i < n && s[i] == '#') {
        int hex = i + 1 < n && (s[i + 1] == 'x' || s[i + 1] == 'X');
        i += hex ? 2 : 1;
        uint32_t v = 0;
        size_t digits = 0;
        for (; i < n && digits < 8; i++, digits++) {
            char c = s[i];
            int d = c >= '0' && c <= '9'          ? c - '0'
                    : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                  : -1;
            if (d < 0)
                break;
            v = v * (hex ? 16 : 10) + (uint32_t)d;
        }
        if (digits == 0)
            return 0;
        if (i < n && s[i] == ';')
            i++;
        *cp = v;
        return i;
    }
    char name[8];
    size_t k = 0;
    while (i < n && k < sizeof name - 1 &&
           ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
        name[k++] = s[i++];
    name[k] = '\0';
    if (k == 0 || i >= n || s[i] != ';')
        return 0;
    for (size_t e = 0; e < sizeof entities / sizeof entities[0]; e++)
        if (strcmp(entities[e].name, name) == 0) {
            *cp = entities[e].cp;
            return i + 1;
        }
    return 0;
}

static int
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* Case-insensitive search for "</name" from s[0..n): its offset, or n. */
static size_t
find_close(const char *s, size_t n, const char *name)
{
    size_t k = strlen(name);
    for (size_t i = 0; i + 2 + k <= n; i++) {
        if (s[i] != '<' || s[i + 1] != '/')
            continue;
        size_t j = 0;
        while (j < k && (s[i + 2 + j] | 0x20) == name[j])
            j++;
        if (j == k)
            return i;
    }
    return n;
}

/* What a tag does to the text: 0 nothing, 1 a line break, 2 a paragraph. */
static int
tag_breaks(const char *name)
{
    static const char *const para[] = {"p",          "h1",    "h2", "h3", "h4", "h5",  "h6",
                                       "blockquote", "table", "ul", "ol", "dl", "pre", "hr"};
    static const char *const line[] = {"br",      "div",     "tr",     "li",     "dt",      "dd",
                                       "section", "article", "header", "footer", "address", "form",
                                       "center",  "caption", "body",   "html"};
    for (size_t i = 0; i < sizeof para / sizeof para[0]; i++)
        if (strcmp(name, para[i]) == 0)
            return 2;
    for (size_t i = 0; i < sizeof line / sizeof line[0]; i++)
        if (strcmp(name, line[i]) == 0)
            return 1;
    return 0;
}

char *
ingest_mail_html_text(const char *html, size_t len, size_t max_chars)
{
    html_out o = {CH_STRBUF_INIT, 4 * max_chars + 8, 0, 0, 0, 0};
    ch_strbuf_init_capped(&o.b, o.limit);
    size_t i = 0;
    while (i < len && o.b.n < o.limit && !ch_strbuf_failed(&o.b)) {
        char c = html[i];
        if (c == '<' && i + 1 < len &&
            (is_alpha(html[i + 1]) || html[i + 1] == '/' || html[i + 1] == '!' ||
             html[i + 1] == '?')) {
            if (i + 3 < len && html[i + 1] == '!' && html[i + 2] == '-' && html[i + 3] == '-') {
                const char *end = NULL;
                for (size_t k = i + 4; k + 2 < len && !end; k++)
                    if (html[k] == '-' && html[k + 1] == '-' && html[k + 2] == '>')
                        end = html + k + 3;
                i = end ? (size_t)(end - html) : len;
                continue;
            }
            int closing = html[i + 1] == '/';
            size_t k = i + 1 + (size_t)closing;
            char name[12];
            size_t nn = 0;
            while (k < len && (is_alpha(html[k]) || (html[k] >= '0' && html[k] <= '9'))) {
                if (nn < sizeof name - 1)
                    name[nn] = (char)(html[k] | 0x20);
                nn++;
                k++;
            }
            name[nn < sizeof name ? nn : sizeof name - 1] = '\0';
            if (nn >= sizeof name)
                name[0] = '\0';
            char quote = 0;
            while (k < len && (quote || html[k] != '>')) {
                if (quote && html[k] == quote)
                    quote = 0;
                else if (!quote && (html[k] == '"' || html[k] == '\'') && k > 0 &&
                         (html[k - 1] == '=' || is_space(html[k - 1])))
                    quote = html[k];
                k++;
            }
            i = k < len ? k + 1 : len;
            if (!closing && (strcmp(name, "script") == 0 || strcmp(name, "style") == 0 ||
                             strcmp(name, "head") == 0 || strcmp(name, "title") == 0)) {
                i += find_close(html + i, len - i, name);
                continue;
            }
            if (strcmp(name, "pre") == 0)
                o.pre = !closing;
            if (strcmp(name, "td") == 0 || strcmp(name, "th") == 0)
                o.space = 1;
            int br = tag_breaks(name);
            if (br)
                block(&o, br);
            if (!closing && strcmp(name, "li") == 0)
                emit_raw(&o, "- ", 2);
            continue;
        }
        if (c == '&') {
            uint32_t cp;
            size_t n = entity(html + i, len - i, &cp);
            if (n) {
                emit_cp(&o, cp);
                i += n;
                continue;
            }
        }
        if (is_space(c)) {
            if (o.pre && (c == '\n' || c == '\t'))
                emit_raw(&o, &c, 1);
            else if (o.pre && c == ' ')
                emit_raw(&o, " ", 1);
            else
                o.space = 1;
            i++;
            continue;
        }
        size_t run = 1;
        while (i + run < len && html[i + run] != '<' && html[i + run] != '&' &&
               !is_space(html[i + run]))
            run++;
        emit_raw(&o, html + i, run);
        i += run;
    }
    if (ch_strbuf_failed(&o.b)) {
        ch_strbuf_free(&o.b);
        return NULL;
    }
    return ch_strbuf_take(&o.b, NULL);
}

/* ---- references ---- */

static int
is_word(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

int
ingest_mail_find_reference(const char *s, char *ref, size_t refsz)
{
    if (!s || refsz < 2)
        return 0;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] < 'A' || s[i] > 'Z' || (i > 0 && is_word(s[i - 1])))
            continue;
        size_t k = i;
        while (s[k] >= 'A' && s[k] <= 'Z' && k - i <= 10)
            k++;
        size_t plen = k - i;
        if (plen < 2 || plen > 10 || s[k] != '-')
            continue;
        k++;
        size_t y = 0;
        while (y < 4 && s[k + y] >= '0' && s[k + y] <= '9')
            y++;
        if (y != 4 || s[k + 4] != '-')
            continue;
        k += 5;
        size_t d = 0;
        while (d <= 24 && s[k + d] >= '0' && s[k + d] <= '9')
            d++;
        if (d < 6 || d > 24 || is_word(s[k + d]))
            continue;
        size_t total = k + d - i;
        if (total + 1 > refsz)
            continue;
        memcpy(ref, s + i, total);
        ref[total] = '\0';
        return 1;
    }
    return 0;
}
