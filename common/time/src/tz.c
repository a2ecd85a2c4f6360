/*
 * TZif (RFC 8536, now RFC 9636) read by hand instead of localtime_r(): the C
 * library has one process-wide zone chosen through the TZ environment
 * variable, so a service answering for several zones would have to change
 * global state on every call. A loaded ch_tz is an immutable value; every
 * conversion is a pure function of it.
 *
 * The file is outside data. Each section's size is computed from its counts
 * in 64 bits and checked against the bytes that remain before it is read, and
 * each index inside a section is checked against what it indexes, so no input
 * can make the parser read past the buffer.
 *
 * Instants after the last transition (and all instants of a zone without
 * transitions) follow the POSIX TZ string in the footer (tz_posix.c).
 *
 * Local to UTC: every UTC instant whose local time is `local_s` lies within
 * the largest possible offset (26 h) of it, so the conversion walks the
 * offsets in effect in that window and keeps the instants that map back to
 * `local_s`; none means a gap, two or more a fold.
 */
#include "charter/tz.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "charter/civil.h"
#include "charter/errors.h"
#include "charter/fileio.h"
#include "tz_int.h"

#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"
#define TZ_MAX_OFFSET 93600 /* 26 h: covers RFC 9636's recommended -89999..93599 */
#define TZ_MAX_FILE (1 << 20)
#define TZ_MAX_TYPES 256
#define TZ_MAX_SEGMENTS 1024

struct tz_type {
    int32_t utoff;
    uint8_t isdst;
};

struct ch_tz {
    char *name;
    size_t ntrans;
    int64_t *trans;
    uint8_t *trans_type;
    size_t ntypes;
    struct tz_type types[TZ_MAX_TYPES];
    int has_footer;
    struct tz_posix footer;
};

/* ---- errors ---- */

/* Copies outside text for an error sentence: printable ASCII only, bounded. */
static void
printable(char *out, size_t out_size, const char *s, size_t n)
{
    size_t o = 0, i = 0;
    for (; i < n && s[i] != '\0' && o + 4 < out_size; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (i < n && s[i] != '\0') {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

static void
tz_error(char *errstr, size_t errstr_size, const char *name, const char *fmt, ...)
{
    if (errstr == NULL || errstr_size == 0)
        return;
    char zone[72];
    if (name != NULL)
        printable(zone, sizeof zone, name, strlen(name));
    else
        snprintf(zone, sizeof zone, "(unnamed zone)");
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(errstr, errstr_size, "%s: %s", zone, msg);
}

static int64_t
sat_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* ---- TZif ---- */

struct reader {
    const uint8_t *p;
    size_t left;
};

static const uint8_t *
take(struct reader *r, uint64_t n)
{
    if (n > r->left)
        return NULL;
    const uint8_t *p = r->p;
    r->p += n;
    r->left -= (size_t)n;
    return p;
}

static uint32_t
be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be_signed(const uint8_t *p, int size)
{
    uint64_t u = 0;
    for (int i = 0; i < size; i++)
        u = u << 8 | p[i];
    if (size == 4)
        return (int32_t)(uint32_t)u;
    return u <= INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
}

struct header {
    int version; /* 1, 2, 3 or 4 */
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static int
read_header(struct reader *r, struct header *h, char *msg, size_t msg_size)
{
    const uint8_t *p = take(r, 44);
    if (p == NULL) {
        snprintf(msg, msg_size, "truncated TZif data (header)");
        return -1;
    }
    if (memcmp(p, "TZif", 4) != 0) {
        snprintf(msg, msg_size, "not TZif data (no \"TZif\" magic)");
        return -1;
    }
    if (p[4] == 0)
        h->version = 1;
    else if (p[4] >= '2' && p[4] <= '4')
        h->version = p[4] - '0';
    else {
        snprintf(msg, msg_size, "unsupported TZif version byte 0x%02x", p[4]);
        return -1;
    }
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    return 0;
}

/* Bytes in a data block with times of `tsize` bytes. */
static uint64_t
block_size(const struct header *h, int tsize)
{
    return (uint64_t)h->timecnt * (uint64_t)(tsize + 1) + (uint64_t)h->typecnt * 6 + h->charcnt +
           (uint64_t)h->leapcnt * (uint64_t)(tsize + 4) + h->isstdcnt + h->isutcnt;
}

static int
check_counts(const struct header *h, char *msg, size_t msg_size)
{
    if (h->typecnt == 0)
        snprintf(msg, msg_size, "no local time types");
    else if (h->typecnt > TZ_MAX_TYPES)
        snprintf(msg, msg_size, "%u local time types (at most %d)", h->typecnt, TZ_MAX_TYPES);
    else if (h->charcnt == 0)
        snprintf(msg, msg_size, "no time zone designations");
    else if (h->isstdcnt != 0 && h->isstdcnt != h->typecnt)
        snprintf(msg, msg_size, "%u standard/wall indicators for %u local time types", h->isstdcnt,
                 h->typecnt);
    else if (h->isutcnt != 0 && h->isutcnt != h->typecnt)
        snprintf(msg, msg_size, "%u UT/local indicators for %u local time types", h->isutcnt,
                 h->typecnt);
    else if (h->leapcnt != 0)
        snprintf(msg, msg_size,
                 "leap-second records (a \"right/\" zone) are not supported; use the plain zone");
    else
        return 0;
    return -1;
}

static ch_tz *
tz_new(const char *name)
{
    ch_tz *tz = calloc(1, sizeof *tz);
    if (tz == NULL)
        return NULL;
    tz->name = strdup(name != NULL ? name : "");
    if (tz->name == NULL) {
        free(tz);
        return NULL;
    }
    return tz;
}

/* Reads the data block and footer after header `h` into `tz`. */
static int
read_body(ch_tz *tz, struct reader *r, const struct header *h, int tsize, char *msg,
          size_t msg_size)
{
#define SECTION(ptr, bytes, what)                                                                  \
    do {                                                                                           \
        if (((ptr) = take(r, (bytes))) == NULL) {                                                  \
            snprintf(msg, msg_size, "truncated TZif data (%s)", what);                             \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)
    const uint8_t *times, *idx, *info, *skip;
    SECTION(times, (uint64_t)h->timecnt * (uint64_t)tsize, "transition times");
    SECTION(idx, h->timecnt, "transition types");
    SECTION(info, (uint64_t)h->typecnt * 6, "local time types");
    SECTION(skip, h->charcnt, "time zone designations");
    SECTION(skip, (uint64_t)h->isstdcnt, "standard/wall indicators");
    SECTION(skip, (uint64_t)h->isutcnt, "UT/local indicators");
#undef SECTION
    (void)skip;

    tz->ntypes = h->typecnt;
    for (size_t i = 0; i < tz->ntypes; i++) {
        const uint8_t *t = info + 6 * i;
        int64_t utoff = be_signed(t, 4);
        if (utoff < -TZ_MAX_OFFSET || utoff > TZ_MAX_OFFSET) {
            snprintf(msg, msg_size, "local time type %zu has UT offset %lld s, beyond 26 h", i,
                     (long long)utoff);
            return -1;
        }
        if (t[4] > 1) {
            snprintf(msg, msg_size, "local time type %zu has DST flag %u (not 0 or 1)", i, t[4]);
            return -1;
        }
        if (t[5] >= h->charcnt) {
            snprintf(msg, msg_size,
                     "local time type %zu has designation index %u past the %u designation bytes",
                     i, t[5], h->charcnt);
            return -1;
        }
        tz->types[i].utoff = (int32_t)utoff;
        tz->types[i].isdst = t[4];
    }

    tz->ntrans = h->timecnt;
    if (tz->ntrans > 0) {
        tz->trans = malloc(tz->ntrans * sizeof *tz->trans);
        tz->trans_type = malloc(tz->ntrans);
        if (tz->trans == NULL || tz->trans_type == NULL) {
            snprintf(msg, msg_size, "out of memory for %zu transitions", tz->ntrans);
            return -1;
        }
    }
    for (size_t i = 0; i < tz->ntrans; i++) {
        tz->trans[i] = be_signed(times + (size_t)tsize * i, tsize);
        if (i > 0 && tz->trans[i] <= tz->trans[i - 1]) {
            snprintf(msg, msg_size, "transition times are not in ascending order (transition %zu)",
                     i);
            return -1;
        }
        if (idx[i] >= tz->ntypes) {
            snprintf(msg, msg_size, "transition %zu uses local time type %u of %zu", i, idx[i],
                     tz->ntypes);
            return -1;
        }
        tz->trans_type[i] = idx[i];
    }

    if (h->version == 1)
        return 0;
    const uint8_t *nl = take(r, 1);
    if (nl == NULL) {
        snprintf(msg, msg_size, "truncated TZif data (footer)");
        return -1;
    }
    if (*nl != '\n') {
        snprintf(msg, msg_size, "malformed footer (no newline after the data block)");
        return -1;
    }
    const char *s = (const char *)r->p;
    const char *end = memchr(s, '\n', r->left);
    if (end == NULL) {
        snprintf(msg, msg_size, "truncated TZif data (footer)");
        return -1;
    }
    size_t n = (size_t)(end - s);
    if (n == 0)
        return 0;
    if (ch__tz_posix_parse(s, n, &tz->footer) != 0) {
        char shown[64];
        printable(shown, sizeof shown, s, n);
        snprintf(msg, msg_size, "footer \"%s\" is not a POSIX TZ string this parser accepts",
                 shown);
        return -1;
    }
    tz->has_footer = 1;
    return 0;
}

ch_tz *
ch_tz_parse(const char *name, const uint8_t *data, size_t len, char *errstr, size_t errstr_size)
{
    char msg[200];
    struct reader r = {data, data != NULL ? len : 0};
    struct header h;
    ch_tz *tz = NULL;
    int tsize = 4;

    if (read_header(&r, &h, msg, sizeof msg) != 0)
        goto err;
    if (h.version >= 2) {
        if (take(&r, block_size(&h, 4)) == NULL) {
            snprintf(msg, sizeof msg, "truncated TZif data (version 1 data block)");
            goto err;
        }
        if (read_header(&r, &h, msg, sizeof msg) != 0)
            goto err;
        if (h.version == 1) {
            snprintf(msg, sizeof msg, "second TZif header has version 1");
            goto err;
        }
        tsize = 8;
    }
    if (check_counts(&h, msg, sizeof msg) != 0)
        goto err;
    tz = tz_new(name);
    if (tz == NULL) {
        snprintf(msg, sizeof msg, "out of memory");
        goto err;
    }
    if (read_body(tz, &r, &h, tsize, msg, sizeof msg) != 0)
        goto err;
    return tz;

err:
    tz_error(errstr, errstr_size, name, "%s", msg);
    ch_tz_free(tz);
    return NULL;
}

static int
valid_name_char(char c)
{
    return tz_is_alpha((unsigned char)c) || tz_is_digit((unsigned char)c) || c == '/' || c == '_' ||
           c == '-' || c == '+' || c == '.';
}

/*
 * Reads the zone file at `path`. The sentences name the zone first; a name
 * with no file is "unknown time zone", the likeliest mistake in a policy.
 */
static int
read_zone_file(const char *name, const char *path, char **out, size_t *out_len, char *errstr,
               size_t errstr_size)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            tz_error(errstr, errstr_size, name, "unknown time zone (no file %s)", path);
            return -1;
        }
        /* Anything else (a permission, say): the read below names it. */
    } else if (!S_ISREG(st.st_mode)) {
        tz_error(errstr, errstr_size, name, "%s is not a zone file", path);
        return -1;
    }
    char why[256];
    int rc = ch_file_read_all(path, TZ_MAX_FILE, out, out_len, why, sizeof why);
    if (rc == CH_EINVAL)
        tz_error(errstr, errstr_size, name, "%s is larger than %d bytes: not a zone file", path,
                 TZ_MAX_FILE);
    else if (rc != 0)
        tz_error(errstr, errstr_size, name, "%s", why);
    return rc != 0 ? -1 : 0;
}

ch_tz *
ch_tz_load(const char *name, const char *dir, char *errstr, size_t errstr_size)
{
    if (name == NULL || name[0] == '\0') {
        tz_error(errstr, errstr_size, NULL, "time zone name is empty");
        return NULL;
    }
    if (name[0] == '/' || strstr(name, "..") != NULL) {
        tz_error(errstr, errstr_size, name,
                 "refusing a time zone name that is absolute or contains \"..\"");
        return NULL;
    }
    for (const char *c = name; *c != '\0'; c++) {
        if (!valid_name_char(*c)) {
            tz_error(errstr, errstr_size, name,
                     "time zone names hold only letters, digits and / _ - + .");
            return NULL;
        }
    }
    if (dir == NULL)
        dir = TZ_DEFAULT_DIR;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
        tz_error(errstr, errstr_size, name, "zone file path is too long");
        return NULL;
    }
    char *buf;
    size_t len;
    if (read_zone_file(name, path, &buf, &len, errstr, errstr_size) != 0)
        return NULL;
    ch_tz *tz = ch_tz_parse(name, (const uint8_t *)buf, len, errstr, errstr_size);
    free(buf);
    return tz;
}

void
ch_tz_free(ch_tz *tz)
{
    if (tz == NULL)
        return;
    free(tz->name);
    free(tz->trans);
    free(tz->trans_type);
    free(tz);
}

const char *
ch_tz_name(const ch_tz *tz)
{
    return tz->name;
}

int32_t
ch_tz_offset_at(const ch_tz *tz, int64_t utc_s)
{
    size_t n = tz->ntrans;
    if (n == 0 || utc_s >= tz->trans[n - 1]) {
        if (tz->has_footer)
            return ch__tz_posix_offset(&tz->footer, utc_s);
        return tz->types[n == 0 ? 0 : tz->trans_type[n - 1]].utoff;
    }
    if (utc_s < tz->trans[0])
        return tz->types[0].utoff;
    size_t lo = 0, hi = n - 1; /* trans[lo] <= utc_s < trans[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->trans[mid] <= utc_s)
            lo = mid;
        else
            hi = mid;
    }
    return tz->types[tz->trans_type[lo]].utoff;
}

/* The first change of local time type strictly after `t`; 0 if none. */
static int
next_change(const ch_tz *tz, int64_t t, int64_t *next)
{
    size_t n = tz->ntrans;
    if (n > 0 && t < tz->trans[n - 1]) {
        size_t lo = 0, hi = n - 1; /* answer in [lo, hi] */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (tz->trans[mid] > t)
                hi = mid;
            else
                lo = mid + 1;
        }
        *next = tz->trans[lo];
        return 1;
    }
    return tz->has_footer && ch__tz_posix_next(&tz->footer, t, next);
}

int64_t
ch_tz_local_to_utc(const ch_tz *tz, int64_t local_s, int later)
{
    int64_t lo = sat_add(local_s, -TZ_MAX_OFFSET), hi = sat_add(local_s, TZ_MAX_OFFSET);
    int64_t seg = lo, first = 0, last = 0, gap = 0;
    int32_t off = ch_tz_offset_at(tz, lo);
    int found = 0, in_gap = 0;

    /* Segment [seg, next) has offset `off`. */
    for (int i = 0; i < TZ_MAX_SEGMENTS; i++) {
        int64_t next = INT64_MAX;
        int more = next_change(tz, seg, &next) && next <= hi;
        int64_t u = sat_add(local_s, -off);
        if (u >= seg && (!more || u < next)) {
            if (!found)
                first = u;
            last = u;
            found = 1;
        }
        if (!more)
            break;
        int32_t next_off = ch_tz_offset_at(tz, next);
        if (!in_gap && local_s >= sat_add(next, off) && local_s < sat_add(next, next_off)) {
            gap = u;
            in_gap = 1;
        }
        seg = next;
        off = next_off;
    }
    if (found)
        return later ? last : first;
    if (in_gap)
        return gap;
    return sat_add(local_s, -ch_tz_offset_at(tz, local_s));
}

int64_t
ch_tz_local_seconds(const ch_tz *tz, int64_t utc_s)
{
    return tz ? sat_add(utc_s, ch_tz_offset_at(tz, utc_s)) : utc_s;
}

int32_t
ch_tz_local_day(const ch_tz *tz, int64_t ms)
{
    return ch_civil_day_of(ch_tz_local_seconds(tz, ch_civil_floor_div(ms, 1000)));
}
