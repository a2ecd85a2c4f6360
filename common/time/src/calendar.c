/*
 * Bank holidays are computed, not tabulated: GOV.UK publishes only a rolling
 * window of years, and deadlines (a subject access month, a complaint's 15
 * working days) are asked about years before and after it. Each nation's
 * year is built by ch_bank_holidays() from the standing rules plus a short
 * list of one-off changes; a calendar then holds, for each division, one bit
 * per day over 1995-2100 (about 4.8 KB) so that working-day queries are a
 * shift and a mask.
 *
 * Where the rules come from. England and Wales and Northern Ireland take
 * every weekend bank holiday on the next free weekday by Royal Proclamation.
 * Scotland's New Year days and Christmas follow the Banking and Financial
 * Dealings Act 1971 (a Sunday date moves to 3 January or 26 December) plus
 * proclamations for Saturdays, giving the paired rolls below; St Andrew's
 * Day was added by the St Andrew's Day Bank Holiday (Scotland) Act 2007 and
 * first fell on 30 November 2007. No proclamation was made for Scotland's
 * 4 January in 2010 or 2011, so those two years keep only the statutory
 * days. In 1995 the early May holiday moved to 8 May in England, Wales and
 * Northern Ireland, while Scotland kept 1 May (it is in the 1971 Act) and
 * had 8 May as well.
 *
 * The GOV.UK JSON override is in calendar_govuk.c.
 */
#include "charter/calendar.h"

#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "calendar_int.h"

#define MAX_PER_YEAR 24

static const char *const nation_names[] = {"england-and-wales", "scotland", "northern-ireland",
                                           "uk-any"};
static const char *const nation_titles[] = {"England and Wales", "Scotland", "Northern Ireland",
                                            "any part of the UK"};

int
ch_nation_parse(const char *name, ch_nation *out)
{
    if (!name)
        return CH_EINVAL;
    for (int i = 0; i <= CH_NATION_UK_ANY; i++) {
        if (strcmp(name, nation_names[i]) == 0) {
            if (out)
                *out = (ch_nation)i;
            return 0;
        }
    }
    return CH_EINVAL;
}

const char *
ch_nation_name(ch_nation n)
{
    if ((int)n < 0 || n > CH_NATION_UK_ANY)
        return "unknown";
    return nation_names[n];
}

const char *
ch_nation_title(ch_nation n)
{
    if ((int)n < 0 || n > CH_NATION_UK_ANY)
        return "unknown";
    return nation_titles[n];
}

/* Easter Sunday by the anonymous Gregorian algorithm (Meeus/Jones/Butcher). */
static int32_t
easter_sunday(int year)
{
    int a = year % 19, b = year / 100, c = year % 100;
    int d = b / 4, e = b % 4, f = (b + 8) / 25, g = (b - f + 1) / 3;
    int h = (19 * a + b - d - g + 15) % 30;
    int i = c / 4, k = c % 4;
    int l = (32 + 2 * e + 2 * i - h - k) % 7;
    int m = (a + 11 * h + 22 * l) / 451;
    int month = (h + l - 7 * m + 114) / 31;
    int day = (h + l - 7 * m + 114) % 31 + 1;
    return ch_day_from_civil(year, month, day);
}

static int32_t
first_monday(int year, int month)
{
    int32_t d = ch_day_from_civil(year, month, 1);
    return d + (7 - ch_weekday(d)) % 7;
}

static int32_t
last_monday(int year, int month)
{
    int32_t d = ch_day_from_civil(year, month, ch_days_in_month(year, month));
    return d - ch_weekday(d);
}

/* The Monday after a weekend day; the day itself otherwise. */
static int32_t
monday_if_weekend(int32_t d)
{
    int w = ch_weekday(d);
    return w == 5 ? d + 2 : w == 6 ? d + 1 : d;
}

typedef struct {
    ch_holiday h[MAX_PER_YEAR];
    int n;
} hlist;

static void
add(hlist *l, int32_t day, const char *name)
{
    if (l->n < MAX_PER_YEAR)
        l->h[l->n++] = (ch_holiday){day, name};
}

/* A fixed date that moves to the next Monday when it falls at a weekend. */
static void
add_fixed(hlist *l, int year, int month, int day, const char *name, const char *sub)
{
    int32_t d = ch_day_from_civil(year, month, day);
    int32_t m = monday_if_weekend(d);
    add(l, m, m == d ? name : sub);
}

/*
 * Two holidays on consecutive dates (Christmas and Boxing Day; in Scotland
 * New Year's Day and 2 January) roll as a pair: a second date on a Saturday
 * moves to Monday; a first on a Saturday moves to Monday and the second to
 * Tuesday; a first on a Sunday moves to Tuesday behind the second's Monday.
 */
static void
add_pair(hlist *l, int32_t first, const char *name1, const char *sub1, const char *name2,
         const char *sub2)
{
    switch (ch_weekday(first)) {
    case 4: /* Friday: the second is a Saturday */
        add(l, first, name1);
        add(l, first + 3, sub2);
        break;
    case 5: /* Saturday */
        add(l, first + 2, sub1);
        add(l, first + 3, sub2);
        break;
    case 6: /* Sunday: the second is a Monday */
        add(l, first + 1, name2);
        add(l, first + 2, sub1);
        break;
    default:
        add(l, first, name1);
        add(l, first + 1, name2);
        break;
    }
}

static void
add_new_year(hlist *l, ch_nation n, int year)
{
    static const char ny[] = "New Year's Day", ny_sub[] = "New Year's Day (substitute day)";
    static const char j2[] = "2nd January", j2_sub[] = "2nd January (substitute day)";
    int32_t jan1 = ch_day_from_civil(year, 1, 1);
    if (n != CH_NATION_SCOTLAND)
        add_fixed(l, year, 1, 1, ny, ny_sub);
    else if (year == 2010) /* Friday; no proclamation moved 2 January to the 4th */
        add(l, jan1, ny);
    else if (year == 2011) /* Saturday; only the 1971 Act's 3 January, no proclamation */
        add(l, jan1 + 2, j2_sub);
    else
        add_pair(l, jan1, ny, ny_sub, j2, j2_sub);
}

static void
add_christmas(hlist *l, int year)
{
    add_pair(l, ch_day_from_civil(year, 12, 25), "Christmas Day", "Christmas Day (substitute day)",
             "Boxing Day", "Boxing Day (substitute day)");
}

static void
add_may(hlist *l, ch_nation n, int year)
{
    static const char early[] = "Early May bank holiday";
    static const char early_ve[] = "Early May bank holiday (VE Day)";
    static const char spring[] = "Spring bank holiday";
    if (year == 1995 && n == CH_NATION_SCOTLAND) {
        add(l, first_monday(year, 5), early);
        add(l, ch_day_from_civil(1995, 5, 8), "VE Day bank holiday");
    } else if (year == 1995 || year == 2020) {
        add(l, ch_day_from_civil(year, 5, 8), early_ve);
    } else {
        add(l, first_monday(year, 5), early);
    }
    switch (year) {
    case 2002:
        add(l, ch_day_from_civil(2002, 6, 3), "Golden Jubilee bank holiday");
        add(l, ch_day_from_civil(2002, 6, 4), spring);
        break;
    case 2012:
        add(l, ch_day_from_civil(2012, 6, 4), spring);
        add(l, ch_day_from_civil(2012, 6, 5), "Diamond Jubilee bank holiday");
        break;
    case 2022:
        add(l, ch_day_from_civil(2022, 6, 2), spring);
        add(l, ch_day_from_civil(2022, 6, 3), "Platinum Jubilee bank holiday");
        break;
    default:
        add(l, last_monday(year, 5), spring);
        break;
    }
}

static void
add_one_offs(hlist *l, int year)
{
    switch (year) {
    case 1999:
        add(l, ch_day_from_civil(1999, 12, 31), "Millennium bank holiday");
        break;
    case 2011:
        add(l, ch_day_from_civil(2011, 4, 29), "Bank holiday for the royal wedding");
        break;
    case 2022:
        add(l, ch_day_from_civil(2022, 9, 19),
            "Bank holiday for the State Funeral of Queen Elizabeth II");
        break;
    case 2023:
        add(l, ch_day_from_civil(2023, 5, 8),
            "Bank holiday for the coronation of King Charles III");
        break;
    default:
        break;
    }
}

static int
holiday_cmp(const void *a, const void *b)
{
    const ch_holiday *x = a, *y = b;
    return (x->day > y->day) - (x->day < y->day);
}

int
ch_bank_holidays(ch_nation n, int year, ch_holiday *out, size_t cap)
{
    if ((int)n < 0 || n >= CH_NATION_UK_ANY || year < CH_CAL_FIRST_YEAR || year > CH_CAL_LAST_YEAR)
        return CH_EINVAL;
    hlist l = {.n = 0};
    int32_t easter = easter_sunday(year);

    add_new_year(&l, n, year);
    if (n == CH_NATION_NORTHERN_IRELAND)
        add_fixed(&l, year, 3, 17, "St Patrick's Day", "St Patrick's Day (substitute day)");
    add(&l, easter - 2, "Good Friday");
    if (n != CH_NATION_SCOTLAND)
        add(&l, easter + 1, "Easter Monday");
    add_may(&l, n, year);
    if (n == CH_NATION_NORTHERN_IRELAND)
        add_fixed(&l, year, 7, 12, "Battle of the Boyne (Orangemen's Day)",
                  "Battle of the Boyne (Orangemen's Day) (substitute day)");
    add(&l, n == CH_NATION_SCOTLAND ? first_monday(year, 8) : last_monday(year, 8),
        "Summer bank holiday");
    if (n == CH_NATION_SCOTLAND && year >= 2007)
        add_fixed(&l, year, 11, 30, "St Andrew's Day", "St Andrew's Day (substitute day)");
    add_christmas(&l, year);
    add_one_offs(&l, year);

    qsort(l.h, (size_t)l.n, sizeof(l.h[0]), holiday_cmp);
    for (int i = 0; i < l.n && (size_t)i < cap; i++)
        out[i] = l.h[i];
    return l.n;
}

static int
in_range(int32_t day)
{
    return day >= CAL_FIRST_DAY && day < CAL_END_DAY;
}

void
ch__calendar_rebuild(ch_calendar *cal)
{
    memset(cal->hol, 0, sizeof(cal->hol));
    for (int d = 0; d < NDIVISIONS; d++) {
        if (!cal_uses_division(cal, d))
            continue;
        for (size_t w = 0; w < CAL_WORDS; w++)
            cal->hol[w] |= cal->div[d][w];
    }
}

ch_calendar *
ch_calendar_new(ch_nation n)
{
    if ((int)n < 0 || n > CH_NATION_UK_ANY)
        return NULL;
    ch_calendar *cal = calloc(1, sizeof(*cal));
    if (!cal)
        return NULL;
    cal->nation = n;
    for (int d = 0; d < NDIVISIONS; d++) {
        if (!cal_uses_division(cal, d))
            continue;
        for (int y = CH_CAL_FIRST_YEAR; y <= CH_CAL_LAST_YEAR; y++) {
            ch_holiday h[MAX_PER_YEAR];
            int k = ch_bank_holidays((ch_nation)d, y, h, MAX_PER_YEAR);
            for (int i = 0; i < k; i++)
                cal_bit_set(cal->div[d], h[i].day);
        }
    }
    ch__calendar_rebuild(cal);
    return cal;
}

void
ch_calendar_free(ch_calendar *cal)
{
    free(cal);
}

ch_nation
ch_calendar_nation(const ch_calendar *cal)
{
    return cal->nation;
}

int
ch_calendar_add_closure(ch_calendar *cal, int32_t day)
{
    if (!cal || !in_range(day))
        return CH_EINVAL;
    cal_bit_set(cal->closed, day);
    return 0;
}

int
ch_calendar_is_bank_holiday(const ch_calendar *cal, int32_t day)
{
    return in_range(day) && cal_bit_get(cal->hol, day);
}

int
ch_calendar_is_working_day(const ch_calendar *cal, int32_t day)
{
    if (ch_weekday(day) >= 5)
        return 0;
    if (!in_range(day))
        return 1;
    return !cal_bit_get(cal->hol, day) && !cal_bit_get(cal->closed, day);
}

int32_t
ch_calendar_working_day_on_or_after(const ch_calendar *cal, int32_t day)
{
    /* Inside the range every day may be closed; past its end only weekends
     * count, so CAL_NDAYS + 7 steps always reach a working day. */
    for (int32_t i = 0; i < CAL_NDAYS + 7 && day < INT32_MAX; i++, day++) {
        if (ch_calendar_is_working_day(cal, day))
            break;
    }
    return day;
}

int32_t
ch_calendar_next_working_day(const ch_calendar *cal, int32_t day)
{
    return ch_calendar_working_day_on_or_after(cal, day < INT32_MAX ? day + 1 : day);
}
