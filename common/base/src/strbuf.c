/*
 * ch_strbuf: doubling growth from 256 bytes, a NUL kept after the text at all
 * times so ch_strbuf_str() never copies. printf-style appends format straight
 * into the spare room and grow once when it is not enough.
 */
#include "charter/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
ch_strbuf_init_capped(ch_strbuf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
}

/* Room for more bytes of text plus the NUL; 0 on success. */
static int
grow(ch_strbuf *b, size_t more)
{
    if (b->failed)
        return -1;
    if (b->n + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + more + 1) {
        if (cap > ((size_t)-1) / 2) {
            b->failed = 1;
            return -1;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void
ch_strbuf_put(ch_strbuf *b, const char *text, size_t len)
{
    if (b->max && b->n + len > b->max)
        len = b->n < b->max ? b->max - b->n : 0;
    if (grow(b, len) != 0)
        return;
    memcpy(b->p + b->n, text, len);
    b->n += len;
    b->p[b->n] = '\0';
}

void
ch_strbuf_puts(ch_strbuf *b, const char *text)
{
    ch_strbuf_put(b, text, strlen(text));
}

void
ch_strbuf_putc(ch_strbuf *b, char c)
{
    ch_strbuf_put(b, &c, 1);
}

void
ch_strbuf_vprintf(ch_strbuf *b, const char *fmt, va_list ap)
{
    if (b->failed)
        return;
    va_list again;
    va_copy(again, ap);
    size_t room = b->cap > b->n ? b->cap - b->n : 0;
    int len = vsnprintf(room ? b->p + b->n : NULL, room, fmt, ap);
    if (len < 0) {
        va_end(again);
        return;
    }
    if ((size_t)len < room && !(b->max && b->n + (size_t)len > b->max)) {
        b->n += (size_t)len;
        va_end(again);
        return;
    }
    if (room)
        b->p[b->n] = '\0';
    char *tmp = malloc((size_t)len + 1);
    if (!tmp) {
        b->failed = 1;
        va_end(again);
        return;
    }
    vsnprintf(tmp, (size_t)len + 1, fmt, again);
    va_end(again);
    ch_strbuf_put(b, tmp, (size_t)len);
    free(tmp);
}

void
ch_strbuf_printf(ch_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ch_strbuf_vprintf(b, fmt, ap);
    va_end(ap);
}

char *
ch_strbuf_take(ch_strbuf *b, size_t *len)
{
    size_t max = b->max;
    if (b->failed) {
        ch_strbuf_free(b);
        b->max = max;
        return NULL;
    }
    char *p = b->p ? b->p : strdup("");
    if (len)
        *len = b->p ? b->n : 0;
    memset(b, 0, sizeof(*b));
    b->max = max;
    return p;
}

void
ch_strbuf_free(ch_strbuf *b)
{
    free(b->p);
    size_t max = b->max;
    memset(b, 0, sizeof(*b));
    b->max = max;
}
