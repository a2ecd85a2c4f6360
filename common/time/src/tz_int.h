/*
 * Inside a ch_tz: the POSIX TZ rule of a TZif file's footer
 * ("GMT0BST,M3.5.0/1,M10.5.0"), parsed and evaluated by tz_posix.c, which
 * tz.c consults for every instant after the file's last transition.
 */
#ifndef CHARTER_TZ_INT_H
#define CHARTER_TZ_INT_H

#include <stddef.h>
#include <stdint.h>

enum tz_rule_kind {
    RULE_JULIAN1, /* Jn: 1..365, February 29 never counted */
    RULE_JULIAN0, /* n: 0..365, February 29 counted in leap years */
    RULE_MONTH    /* Mm.w.d: day d of week w (5 = last) of month m */
};

struct tz_rule {
    enum tz_rule_kind kind;
    int day;
    int week;
    int month;
    int32_t time; /* seconds after local midnight, -167 h..167 h */
};

struct tz_posix {
    int32_t std_off; /* seconds east of UTC, unlike the string's sign */
    int32_t dst_off;
    int has_dst;
    struct tz_rule start, end;
};

/* ASCII only, whatever the process locale: zone names and TZ strings. */
static inline int
tz_is_digit(int ch)
{
    return ch >= '0' && ch <= '9';
}

static inline int
tz_is_alpha(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/*
 * Parses the n bytes at s as "std offset [dst [offset] ,start[/time],end[/time]]".
 * Returns 0 and fills *p, or -1 for anything else (a DST name without rules
 * included: POSIX leaves those rules implementation-defined and zic never
 * writes one).
 */
int ch__tz_posix_parse(const char *s, size_t n, struct tz_posix *p);

/* The offset east of UTC, in seconds, the rule gives at UTC instant t (any int64). */
int32_t ch__tz_posix_offset(const struct tz_posix *p, int64_t t);

/* The rule's first change strictly after t: 1 and *next, or 0 if none. */
int ch__tz_posix_next(const struct tz_posix *p, int64_t t, int64_t *next);

#endif
