/*
 * UTF-8 decoding for the domain's text checks: templates refuse a file that
 * is not UTF-8, and SMS measurement counts characters by code point. Strict
 * (RFC 3629): overlong forms, surrogates and code points past U+10FFFF are
 * invalid, so a template that passes is text every gateway accepts.
 */
#ifndef CHARTER_UTF8_INT_H
#define CHARTER_UTF8_INT_H

#include <stddef.h>
#include <stdint.h>

/* Decodes one UTF-8 sequence at s[0..n). Returns its length and sets *cp, or
 * 0 for an invalid or cut-off sequence (and for n == 0). */
static inline size_t
ch__utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if ((c & 0xE0) == 0xC0) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

#endif
