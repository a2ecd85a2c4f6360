/*
 * A growing, NUL-terminated string for text built piece by piece (HTML, CSV,
 * JSON bodies, plain-English descriptions). Failure poisons it: after an
 * allocation fails every later append is a no-op and ch_strbuf_failed() says
 * so, so a builder appends freely and checks once at the end.
 *
 *   ch_strbuf b = CH_STRBUF_INIT;
 *   ch_strbuf_puts(&b, "<p>");
 *   ch_strbuf_printf(&b, "%d cases", n);
 *   if (ch_strbuf_failed(&b)) { ch_strbuf_free(&b); return CH_ENOMEM; }
 *   char *text = ch_strbuf_take(&b, NULL);   // caller frees with free()
 *
 * A buffer can also be capped (ch_strbuf_init_capped): text beyond the cap is
 * cut, not an error, for sentences bound for a fixed-size errstr.
 */
#ifndef CHARTER_STRBUF_H
#define CHARTER_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct {
    char *p;    /* NUL-terminated text (NULL until the first append) */
    size_t n;   /* bytes of text, not counting the NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* 0, or the most text kept: the rest is cut */
    int failed; /* an allocation failed: the text is incomplete */
} ch_strbuf;

#define CH_STRBUF_INIT                                                                             \
    {                                                                                              \
        NULL, 0, 0, 0, 0                                                                           \
    }

/* A buffer that keeps at most max bytes of text and drops the rest. */
void ch_strbuf_init_capped(ch_strbuf *b, size_t max);

void ch_strbuf_put(ch_strbuf *b, const char *text, size_t len);
void ch_strbuf_puts(ch_strbuf *b, const char *text);
void ch_strbuf_putc(ch_strbuf *b, char c);
__attribute__((format(printf, 2, 3))) void ch_strbuf_printf(ch_strbuf *b, const char *fmt, ...);
void ch_strbuf_vprintf(ch_strbuf *b, const char *fmt, va_list ap);

/* 1 if an allocation failed since the buffer was set up. */
static inline int
ch_strbuf_failed(const ch_strbuf *b)
{
    return b->failed;
}

/* The text so far; "" before the first append. Borrowed: valid until the
 * next append or free. */
static inline const char *
ch_strbuf_str(const ch_strbuf *b)
{
    return b->p ? b->p : "";
}

/* Hands the text to the caller (free() it) and leaves the buffer empty; NULL
 * if an allocation failed (the partial text is freed). *len gets its length
 * when len is not NULL. An empty buffer gives a fresh "". */
char *ch_strbuf_take(ch_strbuf *b, size_t *len);

/* Frees the text and leaves the buffer empty and usable. */
void ch_strbuf_free(ch_strbuf *b);

#endif
