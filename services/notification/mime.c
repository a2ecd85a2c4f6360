/*
 * RFC 5322 / MIME text for notification's email (see mime.h). Dates are UTC
 * ("+0000") with English names, so the text depends on neither the host's
 * zone nor its locale; base64 is OpenSSL's (EVP_EncodeBlock), wrapped at 76
 * characters by encoding 57 bytes a line.
 */
#include "mime.h"

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

/* Header-safe copy: CR and LF become spaces (no header injection). */
static void
header_text(char *dst, size_t dstsz, const char *src)
{
    size_t i = 0;
    for (; src && *src && i + 1 < dstsz; src++)
        dst[i++] = (*src == '\r' || *src == '\n') ? ' ' : *src;
    dst[i] = '\0';
}

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
    size_t blen = strlen(body);
    /* Worst case: every LF becomes CRLF, base64 grows 4/3 plus line ends. */
    size_t cap = 2048 + strlen(sub) * 2 + blen * 3 + 16;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    char *p = out;
    p += put_date(p, date_s);
    p += sprintf(p, "From: %s\r\nTo: %s\r\nSubject: ", f, t);
    if (is_ascii(sub)) {
        p += sprintf(p, "%s", sub);
    } else {
        p += sprintf(p, "=?UTF-8?B?");
        p = put_base64(p, sub, strlen(sub), 0);
        p += sprintf(p, "?=");
    }
    p += sprintf(p,
                 "\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n"
                 "Content-Type: text/plain; charset=UTF-8\r\n",
                 mid);
    if (is_ascii(body)) {
        p += sprintf(p, "Content-Transfer-Encoding: 7bit\r\n\r\n");
        for (const char *s = body; *s; s++) {
            if (*s == '\n' && (s == body || s[-1] != '\r'))
                *p++ = '\r';
            *p++ = *s;
        }
    } else {
        p += sprintf(p, "Content-Transfer-Encoding: base64\r\n\r\n");
        p = put_base64(p, body, blen, 1);
    }
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
    uint64_t h1 = 1469598103934665603ULL, h2 = 1099511628211ULL * 31;
    for (const unsigned char *s = (const unsigned char *)notification_id; *s; s++) {
        h1 = (h1 ^ *s) * 1099511628211ULL;
        h2 = (h2 ^ *s) * 1099511628211ULL + 0x9e3779b97f4a7c15ULL;
    }
    snprintf(buf, bufsz, "<%016llx%016llx@%s>", (unsigned long long)h1, (unsigned long long)h2,
             domain && domain[0] ? domain : "charter.invalid");
}
