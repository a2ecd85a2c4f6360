/* sla-timer's key and timer id layout, and the two forms of a timer id in
 * the store (see timer_keys.h for why it is a library of its own and what a
 * compact member holds). Pure string work: no I/O, no allocation. */
#include "timer_keys.h"

#include <stdio.h>
#include <string.h>

void
sla_timer_keys_of(const char *prefix, int32_t partition, sla_timer_keys *k)
{
    int n = SLA_KEY_PREFIX_MAX;
    snprintf(k->due, sizeof(k->due), "%.*s:{t%d}:due", n, prefix, (int)partition);
    snprintf(k->inflight, sizeof(k->inflight), "%.*s:{t%d}:inflight", n, prefix, (int)partition);
    snprintf(k->timers, sizeof(k->timers), "%.*s:{t%d}:timers", n, prefix, (int)partition);
}

char *
sla_timer_keys_due_pattern(const char *prefix, char *buf, size_t bufsz)
{
    snprintf(buf, bufsz, "%.*s:{t*}:due", SLA_KEY_PREFIX_MAX, prefix);
    return buf;
}

int32_t
sla_timer_keys_from_due(const char *due_key, sla_timer_keys *k)
{
    static const char tail[] = "}:due";
    size_t len = strlen(due_key), tlen = sizeof(tail) - 1;
    if (len < tlen || strcmp(due_key + len - tlen, tail) != 0)
        return -1;
    const char *tag = NULL;
    for (const char *p = due_key; (p = strstr(p, ":{t")) != NULL; p++)
        tag = p; /* the last ":{t": the prefix might hold one */
    if (!tag || (size_t)(tag - due_key) > SLA_KEY_PREFIX_MAX)
        return -1;
    const char *digits = tag + 3, *end = due_key + len - tlen;
    if (digits == end || end - digits > 9)
        return -1;
    long partition = 0;
    for (const char *d = digits; d < end; d++) {
        if (*d < '0' || *d > '9')
            return -1;
        partition = partition * 10 + (*d - '0');
    }
    char prefix[SLA_KEY_PREFIX_MAX + 1];
    snprintf(prefix, sizeof(prefix), "%.*s", (int)(tag - due_key), due_key);
    sla_timer_keys_of(prefix, (int32_t)partition, k);
    return (int32_t)partition;
}

int
sla_case_state_key(const char *case_id, char *buf, size_t bufsz)
{
    int n = snprintf(buf, bufsz, SLA_KEY_PREFIX ":case:{%s}:sla", case_id);
    return n < 0 || (size_t)n >= bufsz ? -1 : 0;
}

/* 1 when s[0..n) ends with "/extended/<digits>": an extended warning's
 * tail, which sla_timer_id_case_len takes off first. */
static size_t
extended_tail(const char *s, size_t n)
{
    static const char mark[] = "/extended/";
    size_t d = n;
    while (d > 0 && s[d - 1] >= '0' && s[d - 1] <= '9')
        d--;
    size_t m = sizeof(mark) - 1;
    if (d == n || d < m || memcmp(s + d - m, mark, m) != 0)
        return 0;
    return n - (d - m);
}

size_t
sla_timer_id_case_len(const char *timer_id)
{
    size_t n = strlen(timer_id);
    n -= extended_tail(timer_id, n); /* "<case>/warning/<tier>/extended/<s>" */
    for (int part = 0; part < 2; part++) {
        size_t slash = n;
        while (slash > 0 && timer_id[slash - 1] != '/')
            slash--;
        if (slash == 0)
            break;
        n = slash - 1;
        if (timer_id[slash] < '0' || timer_id[slash] > '9')
            break; /* the kind: the case id ends before it */
    }
    return n;
}

int
sla_timer_id_of_case(const char *timer_id, const char *case_id)
{
    size_t n = sla_timer_id_case_len(timer_id);
    return n == strlen(case_id) && strncmp(timer_id, case_id, n) == 0;
}

/* ---- the compact form ---- */

/* The kinds by code: the text after "<case>/", '#' a number. */
static const char *const kind_text[] = {
    [SLA_KIND_ACKNOWLEDGEMENT_DUE] = "acknowledgement_due",
    [SLA_KIND_BREACH] = "breach",
    [SLA_KIND_WAIT_EXCEEDED] = "wait_exceeded",
    [SLA_KIND_REMINDER] = "reminder",
    [SLA_KIND_CALLBACK_DUE] = "callback_due",
    [SLA_KIND_WARNING] = "warning/#",
    [SLA_KIND_WARNING_EXTENDED] = "warning/#/extended/#",
    [SLA_KIND_REVIEW_DUE] = "review_due/#",
    [SLA_KIND_REVIEW_OVERDUE] = "review_overdue/#",
    [SLA_KIND_REVIEW_WARNING] = "review_warning_#/#",
    [SLA_KIND_EXTENSION_REFUSED] = "extension_refused/#",
};
#define NKINDS (sizeof(kind_text) / sizeof(kind_text[0]))
#define UUID_LEN 36
#define MAX_NUMS 2

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads a UUID's 36 characters into 16 bytes; *upper 1 when its letters are
 * upper-case. -1 when it is not a UUID, or mixes cases. */
static int
uuid_read(const char *s, uint8_t bytes[16], int *upper)
{
    int lower = 0, up = 0;
    size_t b = 0;
    for (size_t i = 0; i < UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return -1;
            continue;
        }
        int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        lower |= (s[i] >= 'a') | (s[i + 1] >= 'a');
        up |= (s[i] >= 'A' && s[i] <= 'F') | (s[i + 1] >= 'A' && s[i + 1] <= 'F');
        bytes[b++] = (uint8_t)(hi << 4 | lo);
        i++;
    }
    if (lower && up)
        return -1;
    *upper = up;
    return 0;
}

/* Matches text s (NUL-terminated) against kind template t: the numbers go
 * to nums. 0 on a match, written as "%llu" would write each number. */
static int
kind_match(const char *t, const char *s, uint64_t *nums, int *nn)
{
    *nn = 0;
    for (; *t; t++) {
        if (*t != '#') {
            if (*s++ != *t)
                return -1;
            continue;
        }
        const char *d = s;
        uint64_t v = 0;
        while (*s >= '0' && *s <= '9') {
            uint64_t digit = (uint64_t)(*s++ - '0');
            if (v > (UINT64_MAX - digit) / 10)
                return -1; /* beyond 2^64 - 1 */
            v = v * 10 + digit;
        }
        if (s == d || (*d == '0' && s - d > 1) || *nn == MAX_NUMS)
            return -1;
        nums[(*nn)++] = v;
    }
    return *s ? -1 : 0;
}

size_t
sla_timer_id_pack(const char *id, uint8_t *out, size_t cap)
{
    uint8_t m[SLA_TIMER_MEMBER_MAX];
    int upper;
    if (strnlen(id, UUID_LEN + 1) <= UUID_LEN || id[UUID_LEN] != '/' ||
        uuid_read(id, m + 1, &upper) != 0)
        return 0;
    for (size_t k = 1; k < NKINDS; k++) {
        uint64_t nums[MAX_NUMS];
        int nn;
        if (!kind_text[k] || kind_match(kind_text[k], id + UUID_LEN + 1, nums, &nn) != 0)
            continue;
        size_t len = 0;
        m[len] = 0;
        len += 17;
        m[len++] = (uint8_t)(k | (upper ? 0x80u : 0));
        for (int i = 0; i < nn; i++) {
            uint64_t v = nums[i];
            do {
                m[len++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
                v >>= 7;
            } while (v);
        }
        char back[SLA_TIMER_ID_MAX];
        if (len > cap || sla_timer_id_unpack(m, len, back, sizeof(back)) != 1 ||
            strcmp(back, id) != 0)
            return 0;
        memcpy(out, m, len);
        return len;
    }
    return 0;
}

int
sla_timer_id_unpack(const uint8_t *member, size_t len, char *out, size_t cap)
{
    if (!sla_timer_member_compact(member, len)) {
        if (len >= cap || memchr(member, 0, len))
            return -1;
        memcpy(out, member, len);
        out[len] = 0;
        return 0;
    }
    size_t kind = member[len > 17 ? 17 : 0] & 0x7fu;
    if (len < 18 || kind >= NKINDS || !kind_text[kind])
        return -1;
    static const char lower_hex[] = "0123456789abcdef", upper_hex[] = "0123456789ABCDEF";
    const char *hex = member[17] & 0x80 ? upper_hex : lower_hex;
    char buf[SLA_TIMER_ID_MAX + 24];
    size_t n = 0;
    for (int b = 0; b < 16; b++) {
        if (b == 4 || b == 6 || b == 8 || b == 10)
            buf[n++] = '-';
        buf[n++] = hex[member[1 + b] >> 4];
        buf[n++] = hex[member[1 + b] & 15];
    }
    buf[n++] = '/';
    size_t at = 18;
    for (const char *t = kind_text[kind]; *t; t++) {
        if (*t != '#') {
            buf[n++] = *t;
            continue;
        }
        uint64_t v = 0;
        int shift = 0;
        for (;;) {
            if (at == len || shift > 63)
                return -1;
            uint8_t byte = member[at++];
            v |= (uint64_t)(byte & 0x7f) << shift;
            shift += 7;
            if (!(byte & 0x80))
                break;
        }
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%llu", (unsigned long long)v);
        if (n >= SLA_TIMER_ID_MAX)
            return -1;
    }
    if (at != len || n >= cap)
        return -1;
    memcpy(out, buf, n);
    out[n] = 0;
    return 1;
}
