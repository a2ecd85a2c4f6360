/*
 * The POSIX TZ string in a TZif footer (tz_int.h): the rule a zone follows
 * after its last listed transition, "GMT0BST,M3.5.0/1,M10.5.0" for London.
 *
 * The Gregorian calendar, weekdays included, repeats every 400 years (146097
 * days, a whole number of weeks), so a rule is evaluated on the instant
 * reduced into one such cycle around 1970: any int64 instant works without
 * overflow, and the rule's days are civil.h day numbers of years near 1970.
 */
#include <stddef.h>
#include <string.h>

#include "charter/civil.h"
#include "tz_int.h"

#define TZ_CYCLE_S ((int64_t)146097 * 86400)

struct cursor {
    const char *s;
    size_t n, i;
};

static int
peek(const struct cursor *c)
{
    return c->i < c->n ? (unsigned char)c->s[c->i] : -1;
}

/* A designation: letters, or <...> holding letters, digits, '+' and '-'. */
static int
parse_designation(struct cursor *c)
{
    size_t start;
    if (peek(c) == '<') {
        start = ++c->i;
        while (tz_is_alpha(peek(c)) || tz_is_digit(peek(c)) || peek(c) == '+' || peek(c) == '-')
            c->i++;
        if (peek(c) != '>' || c->i == start)
            return -1;
        c->i++;
        return 0;
    }
    start = c->i;
    while (tz_is_alpha(peek(c)))
        c->i++;
    return c->i == start ? -1 : 0;
}

static int
parse_number(struct cursor *c, int max_digits, int *out)
{
    int v = 0, nd = 0;
    while (nd < max_digits && tz_is_digit(peek(c))) {
        v = v * 10 + (peek(c) - '0');
        c->i++;
        nd++;
    }
    if (nd == 0)
        return -1;
    *out = v;
    return 0;
}

/* [+-]hh[:mm[:ss]] with hh <= max_hours; seconds, signed as written. */
static int
parse_hms(struct cursor *c, int max_hours, int32_t *out)
{
    int sign = 1, h, m = 0, s = 0;
    if (peek(c) == '+' || peek(c) == '-') {
        sign = peek(c) == '-' ? -1 : 1;
        c->i++;
    }
    if (parse_number(c, 3, &h) != 0 || h > max_hours)
        return -1;
    if (peek(c) == ':') {
        c->i++;
        if (parse_number(c, 2, &m) != 0 || m > 59)
            return -1;
        if (peek(c) == ':') {
            c->i++;
            if (parse_number(c, 2, &s) != 0 || s > 59)
                return -1;
        }
    }
    *out = sign * (h * 3600 + m * 60 + s);
    return 0;
}

static int
parse_rule(struct cursor *c, struct tz_rule *r)
{
    int ch = peek(c);
    if (ch == 'J') {
        c->i++;
        r->kind = RULE_JULIAN1;
        if (parse_number(c, 3, &r->day) != 0 || r->day < 1 || r->day > 365)
            return -1;
    } else if (tz_is_digit(ch)) {
        r->kind = RULE_JULIAN0;
        if (parse_number(c, 3, &r->day) != 0 || r->day > 365)
            return -1;
    } else if (ch == 'M') {
        c->i++;
        r->kind = RULE_MONTH;
        if (parse_number(c, 2, &r->month) != 0 || r->month < 1 || r->month > 12)
            return -1;
        if (peek(c) != '.')
            return -1;
        c->i++;
        if (parse_number(c, 1, &r->week) != 0 || r->week < 1 || r->week > 5)
            return -1;
        if (peek(c) != '.')
            return -1;
        c->i++;
        if (parse_number(c, 1, &r->day) != 0 || r->day > 6)
            return -1;
    } else {
        return -1;
    }
    r->time = 7200;
    if (peek(c) == '/') {
        c->i++;
        return parse_hms(c, 167, &r->time);
    }
    return 0;
}

int
ch__tz_posix_parse(const char *s, size_t n, struct tz_posix *p)
{
    struct cursor c = {s, n, 0};
    int32_t off;
    memset(p, 0, sizeof *p);
    if (parse_designation(&c) != 0 || parse_hms(&c, 24, &off) != 0)
        return -1;
    p->std_off = -off;
    p->dst_off = p->std_off;
    if (c.i == c.n)
        return 0;
    if (parse_designation(&c) != 0)
        return -1;
    p->has_dst = 1;
    p->dst_off = p->std_off + 3600;
    if (peek(&c) != ',') {
        if (parse_hms(&c, 24, &off) != 0)
            return -1;
        p->dst_off = -off;
    }
    if (peek(&c) != ',')
        return -1;
    c.i++;
    if (parse_rule(&c, &p->start) != 0 || peek(&c) != ',')
        return -1;
    c.i++;
    if (parse_rule(&c, &p->end) != 0 || c.i != c.n)
        return -1;
    return 0;
}

/* Day (since 1970-01-01) on which rule `r` falls in year `y`. */
static int64_t
rule_day(const struct tz_rule *r, int64_t y)
{
    int64_t jan1 = ch_day_from_civil(y, 1, 1);
    switch (r->kind) {
    case RULE_JULIAN1:
        return jan1 + r->day - 1 + (ch_civil_is_leap(y) && r->day >= 60);
    case RULE_JULIAN0:
        return jan1 + r->day;
    case RULE_MONTH:
        break;
    }
    int64_t first = ch_day_from_civil(y, r->month, 1);
    int64_t wday = first + 4 - ch_civil_floor_div(first + 4, 7) * 7; /* 0 = Sunday, as POSIX */
    int64_t d = first + (r->day - wday + 7) % 7 + (int64_t)(r->week - 1) * 7;
    while (d >= first + ch_days_in_month(y, r->month))
        d -= 7;
    return d;
}

struct footer_event {
    int64_t t;
    int starts_dst;
};

/*
 * The footer's changes in the five years around `r` (in UTC seconds), in
 * order; ends sort before starts at the same instant so that "DST all year"
 * strings (",0/0,J365/25") stay in DST. Needs p->has_dst.
 */
static void
footer_events(const struct tz_posix *p, int64_t r, struct footer_event ev[10])
{
    int y0;
    ch_civil_from_day(ch_civil_day_of(r), &y0, NULL, NULL);
    int n = 0;
    for (int64_t y = (int64_t)y0 - 2; y <= (int64_t)y0 + 2; y++) {
        ev[n].t = rule_day(&p->start, y) * 86400 + p->start.time - p->std_off;
        ev[n++].starts_dst = 1;
        ev[n].t = rule_day(&p->end, y) * 86400 + p->end.time - p->dst_off;
        ev[n++].starts_dst = 0;
    }
    for (int i = 1; i < n; i++) {
        struct footer_event e = ev[i];
        int j = i;
        while (j > 0 &&
               (ev[j - 1].t > e.t || (ev[j - 1].t == e.t && ev[j - 1].starts_dst > e.starts_dst))) {
            ev[j] = ev[j - 1];
            j--;
        }
        ev[j] = e;
    }
}

int32_t
ch__tz_posix_offset(const struct tz_posix *p, int64_t t)
{
    if (!p->has_dst)
        return p->std_off;
    struct footer_event ev[10];
    int64_t r = t % TZ_CYCLE_S;
    footer_events(p, r, ev);
    int32_t off = p->std_off;
    for (int i = 0; i < 10 && ev[i].t <= r; i++)
        off = ev[i].starts_dst ? p->dst_off : p->std_off;
    return off;
}

int
ch__tz_posix_next(const struct tz_posix *p, int64_t t, int64_t *next)
{
    if (!p->has_dst)
        return 0;
    struct footer_event ev[10];
    int64_t r = t % TZ_CYCLE_S;
    footer_events(p, r, ev);
    for (int i = 0; i < 10; i++) {
        if (ev[i].t > r)
            return !__builtin_add_overflow(t - r, ev[i].t, next);
    }
    return 0;
}
