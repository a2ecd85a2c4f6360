/*
 * The deadline engine (see deadline.h and docs/deadlines.md).
 *
 * Everything day-based is done on local civil dates (day numbers in the
 * policy's zone) and converted to an instant only at the end, through the
 * zone's rules, so "end of the fifth working day" is 23:59:59 local whether
 * that day is in GMT or BST. Elapsed clocks never touch the calendar: 24
 * hours across a clock change is 24 real hours.
 */
#include "charter/deadline.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/civil.h"
#include "charter/errors.h"

#define MAX_PAUSES 64
#define SECS_PER_DAY CH_CIVIL_SECS_PER_DAY

static const ch_opening_hours default_hours = {
    {540, 540, 540, 540, 540, -1, -1},
    {1020, 1020, 1020, 1020, 1020, -1, -1},
};

/* ---- parsing ---- */

static int
parse_count(const char *w, int64_t *n)
{
    static const char *words[] = {"zero",  "one",   "two",  "three", "four",   "five",  "six",
                                  "seven", "eight", "nine", "ten",   "eleven", "twelve"};
    if (strcmp(w, "a") == 0 || strcmp(w, "an") == 0) {
        *n = 1;
        return 0;
    }
    for (int i = 0; i < 13; i++) {
        if (strcmp(w, words[i]) == 0) {
            *n = i;
            return 0;
        }
    }
    if (!*w || strlen(w) > 9)
        return -1;
    for (const char *c = w; *c; c++)
        if (!isdigit((unsigned char)*c))
            return -1;
    *n = atoll(w);
    return 0;
}

static int
parse_hhmm(const char *w, int *minute)
{
    if (strlen(w) != 5 || !isdigit((unsigned char)w[0]) || !isdigit((unsigned char)w[1]) ||
        w[2] != ':' || !isdigit((unsigned char)w[3]) || !isdigit((unsigned char)w[4]))
        return -1;
    int h = (w[0] - '0') * 10 + (w[1] - '0'), m = (w[3] - '0') * 10 + (w[4] - '0');
    if (h > 23 || m > 59)
        return -1;
    *minute = h * 60 + m;
    return 0;
}

/* Splits lower-cased text into at most 8 words. */
static int
words_of(const char *text, char buf[128], char *w[8])
{
    size_t len = strlen(text);
    if (len >= 128)
        return -1;
    for (size_t i = 0; i <= len; i++)
        buf[i] = (char)tolower((unsigned char)text[i]);
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, " \t,.", &save); t; t = strtok_r(NULL, " \t,.", &save)) {
        if (n == 8)
            return -1;
        w[n++] = t;
    }
    return n;
}

static void
clock_init(ch_clock *c, ch_clock_kind kind, int64_t n)
{
    memset(c, 0, sizeof(*c));
    c->kind = kind;
    c->n = n;
    c->at_minute = CH_AT_END_OF_DAY;
}

static int
preset(const char *name, ch_clock *c)
{
    if (strcmp(name, "foi") == 0 || strcmp(name, "eir") == 0) {
        clock_init(c, CH_CLOCK_WORKING_DAYS, 20);
        c->calendar = CH_CLOCK_CAL_UK_ANY;
    } else if (strcmp(name, "foisa") == 0) {
        clock_init(c, CH_CLOCK_WORKING_DAYS, 20);
        c->calendar = CH_CLOCK_CAL_SCOTLAND;
    } else if (strcmp(name, "sar") == 0 || strcmp(name, "sar-extended") == 0) {
        clock_init(c, CH_CLOCK_MONTHS, name[3] ? 3 : 1);
        c->roll_forward = 1;
    } else {
        return -1;
    }
    snprintf(c->preset, sizeof(c->preset), "%s", name);
    return 0;
}

static int
bad(const char *text, char *errstr, size_t errstr_size)
{
    snprintf(errstr, errstr_size,
             "'%s' is not a clock (expected e.g. '20 seconds', '24 hours', '14 days', "
             "'5 working days', '2 working days at 17:00', 'end of next working day', "
             "'next working day 17:00', '1 calendar month', or a preset: foi, eir, foisa, sar, "
             "sar-extended)",
             text);
    return CH_EINVAL;
}

int
ch_clock_parse(const char *text, ch_clock *out, char *errstr, size_t errstr_size)
{
    char buf[128];
    char *w[8];
    int n = words_of(text, buf, w);
    if (n <= 0)
        return bad(text, errstr, errstr_size);
    int i = 0;
    if (strcmp(w[0], "within") == 0 || strcmp(w[0], "by") == 0)
        i++;
    if (n - i == 1 && preset(w[i], out) == 0)
        return 0;

    /* [end of] [the] next working day [at] [HH:MM] */
    int end_of = 0;
    if (i + 1 < n && strcmp(w[i], "end") == 0 && strcmp(w[i + 1], "of") == 0) {
        end_of = 1;
        i += 2;
    }
    if (i < n && strcmp(w[i], "the") == 0)
        i++;
    if (n - i >= 3 && (!strcmp(w[i], "next") || !strcmp(w[i], "following")) &&
        !strcmp(w[i + 1], "working") && !strcmp(w[i + 2], "day")) {
        clock_init(out, CH_CLOCK_NEXT_WORKING_DAY, 1);
        out->at_minute = CH_AT_CLOSING;
        i += 3;
        if (i < n && strcmp(w[i], "at") == 0)
            i++;
        if (i < n && !end_of && parse_hhmm(w[i], &out->at_minute) == 0)
            i++;
        return i == n ? 0 : bad(text, errstr, errstr_size);
    }
    if (end_of)
        return bad(text, errstr, errstr_size);

    int64_t count;
    if (i >= n || parse_count(w[i], &count) != 0)
        return bad(text, errstr, errstr_size);
    i++;
    if (i >= n)
        return bad(text, errstr, errstr_size);
    const char *unit = w[i++];
    const char *unit2 = i < n ? w[i] : "";
    int day_based = 1;
    if (!strcmp(unit, "second") || !strcmp(unit, "seconds") || !strcmp(unit, "secs")) {
        clock_init(out, CH_CLOCK_ELAPSED, count);
        day_based = 0;
    } else if (!strcmp(unit, "minute") || !strcmp(unit, "minutes") || !strcmp(unit, "mins")) {
        clock_init(out, CH_CLOCK_ELAPSED, count * 60);
        day_based = 0;
    } else if (!strcmp(unit, "hour") || !strcmp(unit, "hours")) {
        clock_init(out, CH_CLOCK_ELAPSED, count * 3600);
        day_based = 0;
    } else if (!strcmp(unit, "day") || !strcmp(unit, "days")) {
        clock_init(out, CH_CLOCK_DAYS, count);
    } else if (!strcmp(unit, "week") || !strcmp(unit, "weeks")) {
        clock_init(out, CH_CLOCK_DAYS, count * 7);
    } else if (!strcmp(unit, "month") || !strcmp(unit, "months")) {
        clock_init(out, CH_CLOCK_MONTHS, count);
    } else if (!strcmp(unit, "calendar") && (!strcmp(unit2, "day") || !strcmp(unit2, "days"))) {
        clock_init(out, CH_CLOCK_DAYS, count);
        i++;
    } else if (!strcmp(unit, "calendar") && (!strcmp(unit2, "month") || !strcmp(unit2, "months"))) {
        clock_init(out, CH_CLOCK_MONTHS, count);
        i++;
    } else if ((!strcmp(unit, "working") || !strcmp(unit, "business")) &&
               (!strcmp(unit2, "day") || !strcmp(unit2, "days"))) {
        clock_init(out, CH_CLOCK_WORKING_DAYS, count);
        i++;
    } else {
        return bad(text, errstr, errstr_size);
    }
    if (i < n && day_based && (!strcmp(w[i], "at") || !strcmp(w[i], "by"))) {
        i++;
        if (i < n && (!strcmp(w[i], "closing") || !strcmp(w[i], "close"))) {
            out->at_minute = CH_AT_CLOSING;
            i++;
        } else if (i < n && parse_hhmm(w[i], &out->at_minute) == 0) {
            i++;
        } else {
            return bad(text, errstr, errstr_size);
        }
    }
    return i == n ? 0 : bad(text, errstr, errstr_size);
}

static const char *
plural(int64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

void
ch_clock_describe(const ch_clock *c, char *buf, size_t bufsz)
{
    char at[48] = "";
    if (c->kind != CH_CLOCK_ELAPSED) {
        if (c->at_minute == CH_AT_CLOSING)
            snprintf(at, sizeof(at), " (by closing time)");
        else if (c->at_minute >= 0)
            snprintf(at, sizeof(at), " (by %02d:%02d)", c->at_minute / 60, c->at_minute % 60);
    }
    const char *cal = c->calendar == CH_CLOCK_CAL_UK_ANY     ? ", bank holidays anywhere in the UK"
                      : c->calendar == CH_CLOCK_CAL_SCOTLAND ? ", Scottish bank holidays"
                                                             : "";
    const char *roll =
        c->roll_forward ? ", moved to the next working day if it ends on a non-working day" : "";
    const char *anchor =
        c->anchor == CH_CLOCK_FROM_ACKNOWLEDGEMENT ? " of the acknowledgement" : "";
    switch (c->kind) {
    case CH_CLOCK_ELAPSED:
        if (c->n % 3600 == 0 && c->n)
            snprintf(buf, bufsz, "%lld %s%s", (long long)(c->n / 3600),
                     plural(c->n / 3600, "hour", "hours"), anchor);
        else if (c->n % 60 == 0 && c->n)
            snprintf(buf, bufsz, "%lld %s%s", (long long)(c->n / 60),
                     plural(c->n / 60, "minute", "minutes"), anchor);
        else
            snprintf(buf, bufsz, "%lld %s%s", (long long)c->n, plural(c->n, "second", "seconds"),
                     anchor);
        return;
    case CH_CLOCK_DAYS:
        snprintf(buf, bufsz, "%lld calendar %s%s%s%s", (long long)c->n, plural(c->n, "day", "days"),
                 anchor, at, roll);
        return;
    case CH_CLOCK_WORKING_DAYS:
        snprintf(buf, bufsz, "%lld working %s%s%s%s", (long long)c->n, plural(c->n, "day", "days"),
                 anchor, at, cal);
        return;
    case CH_CLOCK_NEXT_WORKING_DAY:
        if (c->at_minute >= 0)
            snprintf(buf, bufsz, "the next working day by %02d:%02d", c->at_minute / 60,
                     c->at_minute % 60);
        else
            snprintf(buf, bufsz, "the end of the next working day (closing time)");
        return;
    case CH_CLOCK_MONTHS:
        snprintf(buf, bufsz, "%lld calendar %s%s%s%s", (long long)c->n,
                 plural(c->n, "month", "months"), anchor, at, roll);
        return;
    }
    snprintf(buf, bufsz, "unknown clock");
}

/* ---- computing ---- */

/* Local seconds (civil.h) of the instant `ms` in the zone. */
static int64_t
local_seconds(const ch_tz *tz, int64_t ms)
{
    return ch_tz_local_seconds(tz, ch_civil_floor_div(ms, 1000));
}

static int64_t
utc_ms_of(const ch_tz *tz, int32_t day, int64_t sec_of_day)
{
    return ch_tz_local_to_utc(tz, (int64_t)day * SECS_PER_DAY + sec_of_day, 0) * 1000;
}

typedef struct {
    int32_t from, to;
} day_range;

static int
is_paused(const day_range *p, size_t np, int32_t day)
{
    for (size_t i = 0; i < np; i++)
        if (day >= p[i].from && day <= p[i].to)
            return 1;
    return 0;
}

static const ch_calendar *
calendar_for(const ch_deadline_ctx *ctx, const ch_clock *c)
{
    switch (c->calendar) {
    case CH_CLOCK_CAL_UK_ANY:
        return ctx->uk_any;
    case CH_CLOCK_CAL_SCOTLAND:
        return ctx->scotland;
    default:
        return ctx->calendar;
    }
}

static int
in_range(int32_t day)
{
    int y, m, d;
    ch_civil_from_day(day, &y, &m, &d);
    return y >= CH_CAL_FIRST_YEAR && y <= CH_CAL_LAST_YEAR;
}

/* Seconds after local midnight the clock falls due on `day`. */
static int64_t
due_second(const ch_deadline_ctx *ctx, const ch_clock *c, int32_t day)
{
    if (c->at_minute >= 0)
        return (int64_t)c->at_minute * 60;
    if (c->at_minute == CH_AT_CLOSING) {
        const ch_opening_hours *h = ctx->hours ? ctx->hours : &default_hours;
        int wd = ch_weekday(day);
        if (h->open[wd] >= 0 && h->close[wd] > 0)
            return (int64_t)h->close[wd] * 60;
    }
    return SECS_PER_DAY - 1;
}

static int
elapsed_due(const ch_clock *c, int64_t start, const ch_pause *pauses, size_t np, int64_t *due)
{
    int64_t d = start + c->n * 1000;
    /* Extend by every pause overlapping the running clock, earliest first. */
    int used[MAX_PAUSES] = {0};
    for (;;) {
        size_t best = np;
        for (size_t i = 0; i < np; i++)
            if (!used[i] && pauses[i].to_ms > start && pauses[i].from_ms < d &&
                (best == np || pauses[i].from_ms < pauses[best].from_ms))
                best = i;
        if (best == np)
            break;
        used[best] = 1;
        int64_t from = pauses[best].from_ms > start ? pauses[best].from_ms : start;
        d += pauses[best].to_ms - from;
    }
    *due = d;
    return 0;
}

int
ch_deadline_due(const ch_deadline_ctx *ctx, const ch_clock *c, int64_t start_ms,
                const ch_pause *pauses, size_t npauses, int64_t *due_ms)
{
    if (npauses > MAX_PAUSES)
        return CH_EINVAL;
    for (size_t i = 0; i < npauses; i++)
        if (pauses[i].to_ms < pauses[i].from_ms)
            return CH_EINVAL;
    if (c->kind == CH_CLOCK_ELAPSED)
        return elapsed_due(c, start_ms, pauses, npauses, due_ms);

    const ch_calendar *cal = calendar_for(ctx, c);
    if (!cal || !ctx->tz)
        return CH_EINVAL;
    day_range pd[MAX_PAUSES];
    for (size_t i = 0; i < npauses; i++) {
        pd[i].from = ch_tz_local_day(ctx->tz, pauses[i].from_ms);
        pd[i].to = ch_tz_local_day(ctx->tz, pauses[i].to_ms);
    }
    int64_t local_s = local_seconds(ctx->tz, start_ms);
    int32_t day = ch_civil_day_of(local_s);
    if (!in_range(day))
        return CH_EINVAL;
    if (ctx->defer_out_of_hours) {
        int64_t sec = ch_civil_second_of_day(local_s);
        const ch_opening_hours *h = ctx->hours ? ctx->hours : &default_hours;
        int wd = ch_weekday(day);
        int closed = h->open[wd] < 0 || sec >= (int64_t)h->close[wd] * 60;
        if (!ch_calendar_is_working_day(cal, day) || closed)
            day = ch_calendar_next_working_day(cal, day);
    }

    int32_t due = day;
    switch (c->kind) {
    case CH_CLOCK_DAYS:
        for (int64_t k = 0; k < c->n;) {
            due++;
            if (!is_paused(pd, npauses, due))
                k++;
        }
        break;
    case CH_CLOCK_WORKING_DAYS:
        for (int64_t k = 0; k < c->n;) {
            due++;
            if (!in_range(due))
                return CH_EINVAL;
            if (ch_calendar_is_working_day(cal, due) && !is_paused(pd, npauses, due))
                k++;
        }
        break;
    case CH_CLOCK_NEXT_WORKING_DAY:
        do {
            due++;
            if (!in_range(due))
                return CH_EINVAL;
        } while (!ch_calendar_is_working_day(cal, due) || is_paused(pd, npauses, due));
        break;
    case CH_CLOCK_MONTHS: {
        int y, m, d;
        ch_civil_from_day(day, &y, &m, &d);
        int64_t months = (int64_t)y * 12 + (m - 1) + c->n;
        int ny = (int)(months / 12), nm = (int)(months % 12) + 1;
        int dim = ch_days_in_month(ny, nm);
        due = ch_day_from_civil(ny, nm, d > dim ? dim : d);
        /* Paused days between receipt and the due day push it on. */
        int32_t extra = 0;
        for (int32_t x = day + 1; x <= due; x++)
            extra += is_paused(pd, npauses, x);
        for (; extra > 0; extra--)
            do
                due++;
            while (is_paused(pd, npauses, due));
        break;
    }
    default:
        return CH_EINVAL;
    }
    if (c->roll_forward && (c->kind == CH_CLOCK_DAYS || c->kind == CH_CLOCK_MONTHS))
        while (!ch_calendar_is_working_day(cal, due) || is_paused(pd, npauses, due))
            due++;
    if (!in_range(due))
        return CH_EINVAL;
    *due_ms = utc_ms_of(ctx->tz, due, due_second(ctx, c, due));
    return 0;
}

int
ch_warning_parse(const char *text, ch_warning_rule *out, char *errstr, size_t errstr_size)
{
    memset(out, 0, sizeof(*out));
    size_t len = strlen(text);
    if (len >= 2 && len < 5 && text[len - 1] == '%') {
        int p = 0;
        for (size_t i = 0; i + 1 < len; i++) {
            if (!isdigit((unsigned char)text[i]))
                goto bad;
            p = p * 10 + (text[i] - '0');
        }
        if (p < 1 || p > 99)
            goto bad;
        out->percent = p;
        return 0;
    }
    const char *before = strstr(text, " before");
    if (before && strcmp(before, " before") == 0 && (size_t)(before - text) < 100) {
        char lead[100];
        memcpy(lead, text, (size_t)(before - text));
        lead[before - text] = '\0';
        char why[512];
        if (ch_clock_parse(lead, &out->lead, why, sizeof(why)) == 0 &&
            (out->lead.kind == CH_CLOCK_ELAPSED || out->lead.kind == CH_CLOCK_DAYS ||
             out->lead.kind == CH_CLOCK_WORKING_DAYS) &&
            !out->lead.preset[0])
            return 0;
    }
bad:
    snprintf(errstr, errstr_size,
             "'%s' is not a warning (expected a share of the time such as '75%%', or a lead "
             "such as '1 working day before' or '2 hours before')",
             text);
    return CH_EINVAL;
}

int
ch_warning_at(const ch_deadline_ctx *ctx, const ch_warning_rule *w, int64_t start_ms,
              int64_t due_ms, int64_t *warn_ms)
{
    int64_t at;
    if (w->percent) {
        at = start_ms + (due_ms - start_ms) * w->percent / 100;
    } else if (w->lead.kind == CH_CLOCK_ELAPSED) {
        at = due_ms - w->lead.n * 1000;
    } else {
        const ch_calendar *cal = calendar_for(ctx, &w->lead);
        if (!cal || !ctx->tz)
            return CH_EINVAL;
        int64_t local_s = local_seconds(ctx->tz, due_ms);
        int32_t day = ch_civil_day_of(local_s);
        int64_t sec = ch_civil_second_of_day(local_s);
        for (int64_t k = 0; k < w->lead.n;) {
            day--;
            if (!in_range(day))
                return CH_EINVAL;
            if (w->lead.kind == CH_CLOCK_DAYS || ch_calendar_is_working_day(cal, day))
                k++;
        }
        at = utc_ms_of(ctx->tz, day, sec);
    }
    *warn_ms = at < start_ms ? start_ms : at;
    return 0;
}

/* Whether `day` opens at all: a working day of the calendar with hours. */
static int
opens_on(const ch_deadline_ctx *ctx, const ch_opening_hours *h, int32_t day)
{
    int wd = ch_weekday(day);
    return h->open[wd] >= 0 && h->close[wd] > h->open[wd] &&
           ch_calendar_is_working_day(ctx->calendar, day);
}

/* The day's opening hours are searched at most this far either way (a
 * closure longer than this is not an opening pattern but a shutdown). */
#define HOURS_SEARCH_DAYS 62

int
ch_warning_in_hours(const ch_deadline_ctx *ctx, int64_t at, int64_t start_ms, int64_t due_ms,
                    int64_t *out_ms)
{
    if (!ctx->tz || !ctx->calendar)
        return CH_EINVAL;
    const ch_opening_hours *h = ctx->hours ? ctx->hours : &default_hours;
    int64_t local_s = local_seconds(ctx->tz, at);
    int32_t day = ch_civil_day_of(local_s);
    int64_t sec = ch_civil_second_of_day(local_s);
    if (!in_range(day))
        return CH_EINVAL;
    int wd = ch_weekday(day);
    if (opens_on(ctx, h, day) && sec >= (int64_t)h->open[wd] * 60 &&
        sec <= (int64_t)h->close[wd] * 60) {
        *out_ms = at;
        return 0;
    }
    /* back: today's closing time if already past it, else an earlier day's */
    int32_t d = day;
    if (!(opens_on(ctx, h, d) && sec > (int64_t)h->close[wd] * 60))
        do
            d--;
        while (in_range(d) && day - d <= HOURS_SEARCH_DAYS && !opens_on(ctx, h, d));
    if (in_range(d) && opens_on(ctx, h, d)) {
        int64_t back = utc_ms_of(ctx->tz, d, (int64_t)h->close[ch_weekday(d)] * 60);
        if (back >= start_ms && back <= at) {
            *out_ms = back;
            return 0;
        }
    }
    /* forward: today's opening time if not yet open, else a later day's */
    d = day;
    if (!(opens_on(ctx, h, d) && sec < (int64_t)h->open[wd] * 60))
        do
            d++;
        while (in_range(d) && d - day <= HOURS_SEARCH_DAYS && !opens_on(ctx, h, d));
    if (in_range(d) && opens_on(ctx, h, d)) {
        int64_t fwd = utc_ms_of(ctx->tz, d, (int64_t)h->open[ch_weekday(d)] * 60);
        if (fwd >= at && fwd <= due_ms) {
            *out_ms = fwd;
            return 0;
        }
    }
    *out_ms = at;
    return 0;
}

void
ch_deadline_format(const ch_tz *tz, int64_t ms, char *buf, size_t bufsz)
{
    int64_t s = ch_civil_floor_div(ms, 1000);
    int ms_part = (int)(ms - s * 1000);
    int32_t off = ch_tz_offset_at(tz, s);
    int64_t local = s + off;
    int32_t day = ch_civil_day_of(local);
    int64_t sec = ch_civil_second_of_day(local);
    int y, m, d;
    ch_civil_from_day(day, &y, &m, &d);
    char frac[8] = "";
    if (ms_part)
        snprintf(frac, sizeof(frac), ".%03d", ms_part);
    int aoff = off < 0 ? -off : off;
    snprintf(buf, bufsz, "%04d-%02d-%02dT%02d:%02d:%02d%s%c%02d:%02d", y, m, d, (int)(sec / 3600),
             (int)(sec / 60 % 60), (int)(sec % 60), frac, off < 0 ? '-' : '+', aoff / 3600,
             aoff / 60 % 60);
}
