/*
 * RFC 5322 / MIME text for notification's email (see mime.h). Line ends
 * are CRLF whatever the template or the customer's text used, lines are
 * never over 998 octets (a body with a longer line, or outside ASCII, goes
 * base64; a long subject is folded into encoded words). Dates are UTC
 * ("+0000") with English names, so the text depends on neither the host's
 * zone nor its locale; base64 is OpenSSL's (EVP_EncodeBlock), wrapped at 76
 * characters by encoding 57 bytes a line.
 */
#include "mime.h"

#include "charter/notice_id.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int
is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return 0;
    return 1;
}

/* Appends base64 of s to out (which has room for it and a NUL), CRLF every
 * 76 characters when wrap. Returns the new end. */
static char *
put_base64(char *out, const char *s, size_t n, int wrap)
{
    size_t line = wrap ? 57 : n;
    for (size_t i = 0; i < n; i += line) {
        if (i > 0) {
            *out++ = '\r';
            *out++ = '\n';
        }
        size_t k = n - i < line ? n - i : line;
        out += EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s + i, (int)k);
    }
    return out;
}

/* Header-safe copy: CR, LF and every other control character become
 * spaces (no header injection, no bare CR for a relay to misread). */
static void
header_text(char *dst, size_t dstsz, const char *src)
{
    size_t i = 0;
    for (; src && *src && i + 1 < dstsz; src++) {
        unsigned char c = (unsigned char)*src;
        dst[i++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    dst[i] = '\0';
}

/*
 * The body with every line end as CRLF: CR LF, a bare CR and a bare LF each
 * become one CRLF, so no "\r.\r\n" a relay might take for the end of the
 * data survives. Returns a string to free (NULL on ENOMEM) with its length
 * in *n and the longest line's, without its CRLF, in *longest.
 */
static char *
crlf_text(const char *s, size_t *n, size_t *longest)
{
    char *out = malloc(strlen(s) * 2 + 1), *p = out;
    if (!out)
        return NULL;
    size_t line = 0;
    *longest = 0;
    for (; *s; s++) {
        if (*s == '\r' || *s == '\n') {
            if (*s == '\r' && s[1] == '\n')
                s++;
            *p++ = '\r';
            *p++ = '\n';
            line = 0;
            continue;
        }
        *p++ = *s;
        if (++line > *longest)
            *longest = line;
    }
    *p = '\0';
    *n = (size_t)(p - out);
    return out;
}

/* The longest prefix of s[0..n), at most max bytes, that ends on a UTF-8
 * character boundary (at least one byte, so a stray byte still moves on). */
static size_t
utf8_chunk(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t k = max;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    return k ? k : max;
}

/* RFC 5322 lines are at most 998 octets; 78 is the recommended length. */
#define MIME_LINE_MAX 998
/* Bytes of subject per RFC 2047 encoded word: 45 -> 60 base64 characters,
 * 72 with "=?UTF-8?B?" and "?=". */
#define MIME_WORD_BYTES 45

/* "Fri, 02 Jan 2026 10:00:00 +0000" */
static int
put_date(char *out, int64_t date_s)
{
    static const char *const day[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const month[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)date_s;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        memset(&tm, 0, sizeof(tm));
    return sprintf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", day[tm.tm_wday % 7],
                   tm.tm_mday, month[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                   tm.tm_sec);
}

char *
notify_mime_message(const char *from, const char *to, const char *subject, const char *body,
                    const char *message_id, int64_t date_s)
{
    char f[512], t[512], sub[1024], mid[256];
    header_text(f, sizeof(f), from);
    header_text(t, sizeof(t), to);
    header_text(sub, sizeof(sub), subject ? subject : "");
    header_text(mid, sizeof(mid), message_id);
    size_t blen, longest;
    char *text = crlf_text(body, &blen, &longest);
    if (!text)
        return NULL;
    size_t slen = strlen(sub);
    /* Worst case: base64 grows 4/3 plus line ends; subject words 2x. */
    size_t cap = 2048 + slen * 3 + blen * 2 + 16;
    char *out = malloc(cap);
    if (!out) {
        free(text);
        return NULL;
    }
    char *p = out;
    p += put_date(p, date_s);
    p += sprintf(p, "From: %s\r\nTo: %s\r\nSubject: ", f, t);
    if (is_ascii(sub) && slen <= 900) {
        p += sprintf(p, "%s", sub);
    } else {
        /* encoded words of whole characters, folded onto lines of their own */
        for (size_t i = 0; i < slen;) {
            size_t k = utf8_chunk(sub + i, slen - i, MIME_WORD_BYTES);
            p += sprintf(p, "%s=?UTF-8?B?", i ? "\r\n " : "");
            p = put_base64(p, sub + i, k, 0);
            p += sprintf(p, "?=");
            i += k;
        }
    }
    p += sprintf(p,
                 "\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n"
                 "Content-Type: text/plain; charset=UTF-8\r\n",
                 mid);
    if (is_ascii(text) && longest <= MIME_LINE_MAX) {
        p += sprintf(p, "Content-Transfer-Encoding: 7bit\r\n\r\n");
        memcpy(p, text, blen);
        p += blen;
    } else {
        /* not ASCII, or a line too long to send as it is */
        p += sprintf(p, "Content-Transfer-Encoding: base64\r\n\r\n");
        p = put_base64(p, text, blen, 1);
    }
    free(text);
    if (p == out || p[-1] != '\n') {
        *p++ = '\r';
        *p++ = '\n';
    }
    *p = '\0';
    return out;
}

void
notify_message_id(const char *notification_id, const char *domain, char *buf, size_t bufsz)
{
    if (ch_notice_message_id(notification_id, domain, buf, bufsz) != 0 && bufsz)
        buf[0] = '\0';
}
