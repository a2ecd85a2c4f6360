/*
 * Message-IDs of Charter's notices (notice_id.h): the notification id in the
 * id's left part, checked on the way back by a hash of it. FNV-1a, twice
 * with different seeds: not a secret, only a guard against ids typed by
 * hand or mangled by a mail client.
 */
#include "charter/notice_id.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void
id_hash(const char *s, size_t len, uint64_t *a, uint64_t *b)
{
    uint64_t h1 = 1469598103934665603ULL, h2 = 1099511628211ULL * 31;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        h1 = (h1 ^ c) * 1099511628211ULL;
        h2 = (h2 ^ c) * 1099511628211ULL + 0x9e3779b97f4a7c15ULL;
    }
    *a = h1;
    *b = h2;
}

static int
is_atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* A notification id that can stand in a dot-atom: atext and single dots, a
 * '/' separating a non-empty case id. */
static int
carriable(const char *id, size_t len)
{
    if (len == 0 || id[0] == '.' || id[len - 1] == '.' || id[0] == '/')
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c == '.') {
            if (id[i + 1] == '.')
                return 0;
        } else if (!is_atext(c)) {
            return 0;
        }
    }
    return memchr(id, '/', len) != NULL;
}

int
ch_notice_message_id(const char *notification_id, const char *domain, char *buf, size_t bufsz)
{
    const char *d = domain && domain[0] ? domain : "charter.invalid";
    size_t len = strlen(notification_id);
    uint64_t a, b;
    id_hash(notification_id, len, &a, &b);
    if (carriable(notification_id, len)) {
        int n =
            snprintf(buf, bufsz, "<n.%s.%016llx@%s>", notification_id, (unsigned long long)a, d);
        if (n >= 0 && (size_t)n < bufsz)
            return 0;
    }
    int n = snprintf(buf, bufsz, "<h.%016llx%016llx@%s>", (unsigned long long)a,
                     (unsigned long long)b, d);
    return n >= 0 && (size_t)n < bufsz && !carriable(notification_id, len) ? 0 : -1;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int
ch_notice_message_id_parse(const char *msgid, char *notification_id, size_t idsz, char *case_id,
                           size_t casesz)
{
    if (!msgid)
        return 0;
    while (*msgid == ' ' || *msgid == '\t')
        msgid++;
    if (*msgid == '<')
        msgid++;
    const char *at = strchr(msgid, '@');
    if (!at || strncmp(msgid, "n.", 2) != 0)
        return 0;
    const char *left = msgid + 2;
    size_t llen = (size_t)(at - left);
    /* left = ID "." 16 hex */
    if (llen < 18 || left[llen - 17] != '.')
        return 0;
    size_t idlen = llen - 17;
    uint64_t want = 0;
    for (size_t i = llen - 16; i < llen; i++) {
        int v = hexval(left[i]);
        if (v < 0)
            return 0;
        want = (want << 4) | (uint64_t)v;
    }
    uint64_t a, b;
    id_hash(left, idlen, &a, &b);
    if (a != want || !carriable(left, idlen) || idlen >= idsz)
        return 0;
    memcpy(notification_id, left, idlen);
    notification_id[idlen] = '\0';
    if (case_id) {
        size_t clen = (size_t)(strchr(notification_id, '/') - notification_id);
        if (clen >= casesz)
            return 0;
        memcpy(case_id, notification_id, clen);
        case_id[clen] = '\0';
    }
    return 1;
}
