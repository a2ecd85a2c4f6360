/*
 * Working-day deadlines are only as right as the bank holidays behind them,
 * so the rule-computed holidays are checked date by date against GOV.UK's
 * own list (tests/data/bank-holidays.json, 2018-2027, read with
 * jansson independently of the code under test) and, outside that window,
 * against historical dates and the roll rules spelled out one case at a
 * time. The calendar tests then check the queries deadlines use and that a
 * GOV.UK override changes exactly the years it covers, or nothing at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "charter/calendar.h"
#include "charter/errors.h"

#ifndef CHARTER_BANK_HOLIDAYS_JSON
#define CHARTER_BANK_HOLIDAYS_JSON ""
#endif

#define MAXH 32

static const ch_nation divisions[] = {CH_NATION_ENGLAND_AND_WALES, CH_NATION_SCOTLAND,
                                      CH_NATION_NORTHERN_IRELAND};

static int32_t
D(int y, int m, int d)
{
    return ch_day_from_civil(y, m, d);
}

static const char *
fmt_day(int32_t day, char *buf, size_t sz)
{
    int y, m, d;
    ch_civil_from_day(day, &y, &m, &d);
    snprintf(buf, sz, "%04d-%02d-%02d", y, m, d);
    return buf;
}

static int
holidays_of(ch_nation n, int year, ch_holiday *h)
{
    int k = ch_bank_holidays(n, year, h, MAXH);
    if (k < 0 || k > MAXH)
        fail_msg("ch_bank_holidays(%s, %d) returned %d", ch_nation_name(n), year, k);
    return k;
}

/* The holiday's name if the rules make y-m-d a bank holiday in n, else NULL. */
static const char *
holiday_name(ch_nation n, int y, int m, int d)
{
    ch_holiday h[MAXH];
    int k = holidays_of(n, y, h);
    for (int i = 0; i < k; i++)
        if (h[i].day == D(y, m, d))
            return h[i].name;
    return NULL;
}

/* Asserts y-m-d is a bank holiday in n whose name is exactly `name`. */
static void
assert_holiday(ch_nation n, int y, int m, int d, const char *name)
{
    const char *got = holiday_name(n, y, m, d);
    if (!got)
        fail_msg("%04d-%02d-%02d is not a bank holiday in %s, expected \"%s\"", y, m, d,
                 ch_nation_name(n), name);
    if (strcmp(got, name) != 0)
        fail_msg("%04d-%02d-%02d in %s is \"%s\", expected \"%s\"", y, m, d, ch_nation_name(n), got,
                 name);
}

static void
assert_not_holiday(ch_nation n, int y, int m, int d)
{
    const char *got = holiday_name(n, y, m, d);
    if (got)
        fail_msg("%04d-%02d-%02d is \"%s\" in %s, expected no bank holiday", y, m, d, got,
                 ch_nation_name(n));
}

static void
assert_holiday_all(int y, int m, int d, const char *name)
{
    for (size_t i = 0; i < 3; i++)
        assert_holiday(divisions[i], y, m, d, name);
}

static const char *
bank_holidays_path(char *buf, size_t sz)
{
    const char *dir = getenv("CHARTER_SHARED_DIR");
    if (dir && *dir) {
        snprintf(buf, sz, "%s/data/bank-holidays.json", dir);
        return buf;
    }
    return CHARTER_BANK_HOLIDAYS_JSON;
}

/* The reference file's bytes; fails the test (never skips) if it is missing. */
static char *
read_reference(size_t *len)
{
    char buf[4096];
    const char *path = bank_holidays_path(buf, sizeof(buf));
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open the GOV.UK reference file \"%s\"; set CHARTER_SHARED_DIR to the "
                 "directory holding data/bank-holidays.json",
                 path);
    char *data = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 > cap) {
            cap = cap ? cap * 2 : 65536;
            data = realloc(data, cap);
            assert_non_null(data);
        }
        size_t r = fread(data + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    *len = n;
    return data;
}

/* ---- civil dates ---- */

static void
test_civil_dates_round_trip_with_weekdays(void **state)
{
    (void)state;
    assert_int_equal(D(1970, 1, 1), 0);
    assert_int_equal(D(1969, 12, 31), -1);
    assert_int_equal(D(2000, 3, 1), 11017);
    assert_int_equal(D(1995, 1, 1), 9131);
    assert_int_equal(ch_weekday(0), 3);  /* Thursday */
    assert_int_equal(ch_weekday(-1), 2); /* Wednesday */
    assert_int_equal(ch_weekday(D(2024, 1, 1)), 0);
    assert_int_equal(ch_weekday(D(2101, 1, 1)), 5);

    int32_t day = D(1600, 1, 1);
    int wd = ch_weekday(day);
    for (int y = 1600; y <= 2400; y++) {
        for (int m = 1; m <= 12; m++) {
            for (int d = 1; d <= ch_days_in_month(y, m); d++, day++) {
                int yy, mm, dd;
                if (D(y, m, d) != day)
                    fail_msg("%04d-%02d-%02d gave day %d, expected %d", y, m, d, D(y, m, d), day);
                ch_civil_from_day(day, &yy, &mm, &dd);
                if (yy != y || mm != m || dd != d)
                    fail_msg("day %d gave %04d-%02d-%02d, expected %04d-%02d-%02d", day, yy, mm, dd,
                             y, m, d);
                if (ch_weekday(day) != wd)
                    fail_msg("%04d-%02d-%02d weekday %d, expected %d", y, m, d, ch_weekday(day),
                             wd);
                wd = (wd + 1) % 7;
            }
        }
    }
}

static void
test_days_in_month_follow_gregorian_leap_years(void **state)
{
    (void)state;
    assert_int_equal(ch_days_in_month(1900, 2), 28);
    assert_int_equal(ch_days_in_month(2000, 2), 29);
    assert_int_equal(ch_days_in_month(2024, 2), 29);
    assert_int_equal(ch_days_in_month(2100, 2), 28);
    assert_int_equal(ch_days_in_month(2023, 4), 30);
    assert_int_equal(ch_days_in_month(2023, 12), 31);
    assert_int_equal(ch_days_in_month(2023, 0), 0);
    assert_int_equal(ch_days_in_month(2023, 13), 0);
}

static void
test_nation_names_parse_and_print(void **state)
{
    (void)state;
    for (int i = 0; i <= CH_NATION_UK_ANY; i++) {
        ch_nation n = (ch_nation)-1;
        assert_int_equal(ch_nation_parse(ch_nation_name((ch_nation)i), &n), 0);
        assert_int_equal(n, i);
    }
    assert_string_equal(ch_nation_name(CH_NATION_NORTHERN_IRELAND), "northern-ireland");
    assert_string_equal(ch_nation_title(CH_NATION_SCOTLAND), "Scotland");
    assert_string_equal(ch_nation_title(CH_NATION_UK_ANY), "any part of the UK");
    ch_nation n;
    assert_int_equal(ch_nation_parse("England and Wales", &n), CH_EINVAL);
    assert_int_equal(ch_nation_parse("wales", &n), CH_EINVAL);
    assert_int_equal(ch_nation_parse(NULL, &n), CH_EINVAL);
}

/* ---- rules against GOV.UK ---- */

/* Every date GOV.UK lists for the division in 2018-2027 is a rule-computed
 * holiday, and every rule-computed holiday in those years is listed. */
static void
assert_reference_matches_rules(ch_nation n)
{
    char buf[4096];
    const char *path = bank_holidays_path(buf, sizeof(buf));
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        fail_msg("cannot read the GOV.UK reference file \"%s\" (%s); set CHARTER_SHARED_DIR to "
                 "the directory holding data/bank-holidays.json",
                 path, jerr.text);
    json_t *events = json_object_get(json_object_get(root, ch_nation_name(n)), "events");
    if (!json_is_array(events))
        fail_msg("%s has no %s.events array", path, ch_nation_name(n));

    int32_t file_days[256];
    size_t nfile = 0, i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        int y, m, d;
        const char *s = json_string_value(json_object_get(ev, "date"));
        if (!s || sscanf(s, "%d-%d-%d", &y, &m, &d) != 3)
            fail_msg("%s: %s.events[%zu] has no date", path, ch_nation_name(n), i);
        assert_true(nfile < 256);
        file_days[nfile++] = D(y, m, d);
    }
    json_decref(root);

    char ds[16];
    int compared = 0;
    for (int year = 2018; year <= 2027; year++) {
        ch_holiday h[MAXH];
        int k = holidays_of(n, year, h);
        for (int j = 0; j < k; j++) {
            size_t f = 0;
            while (f < nfile && file_days[f] != h[j].day)
                f++;
            if (f == nfile)
                fail_msg("%s: rules give %s \"%s\" but GOV.UK does not list it", ch_nation_name(n),
                         fmt_day(h[j].day, ds, sizeof(ds)), h[j].name);
        }
        for (size_t f = 0; f < nfile; f++) {
            int y;
            ch_civil_from_day(file_days[f], &y, NULL, NULL);
            if (y != year)
                continue;
            int j = 0;
            while (j < k && h[j].day != file_days[f])
                j++;
            if (j == k)
                fail_msg("%s: GOV.UK lists %s but the rules do not give it", ch_nation_name(n),
                         fmt_day(file_days[f], ds, sizeof(ds)));
            compared++;
        }
    }
    assert_int_equal(compared, (int)nfile);
}

static void
test_england_and_wales_rules_match_govuk_2018_2027(void **state)
{
    (void)state;
    assert_reference_matches_rules(CH_NATION_ENGLAND_AND_WALES);
}

static void
test_scotland_rules_match_govuk_2018_2027(void **state)
{
    (void)state;
    assert_reference_matches_rules(CH_NATION_SCOTLAND);
}

static void
test_northern_ireland_rules_match_govuk_2018_2027(void **state)
{
    (void)state;
    assert_reference_matches_rules(CH_NATION_NORTHERN_IRELAND);
}

/* ---- rules outside the reference window ---- */

static void
test_one_off_holidays_1995_to_2023(void **state)
{
    (void)state;
    /* 1995: early May moved to VE Day in E&W and NI; Scotland kept 1 May too. */
    assert_holiday(CH_NATION_ENGLAND_AND_WALES, 1995, 5, 8, "Early May bank holiday (VE Day)");
    assert_not_holiday(CH_NATION_ENGLAND_AND_WALES, 1995, 5, 1);
    assert_holiday(CH_NATION_NORTHERN_IRELAND, 1995, 5, 8, "Early May bank holiday (VE Day)");
    assert_not_holiday(CH_NATION_NORTHERN_IRELAND, 1995, 5, 1);
    assert_holiday(CH_NATION_SCOTLAND, 1995, 5, 1, "Early May bank holiday");
    assert_holiday(CH_NATION_SCOTLAND, 1995, 5, 8, "VE Day bank holiday");

    assert_holiday_all(1999, 12, 31, "Millennium bank holiday");
    assert_holiday_all(2002, 6, 3, "Golden Jubilee bank holiday");
    assert_holiday_all(2002, 6, 4, "Spring bank holiday");
    assert_not_holiday(CH_NATION_ENGLAND_AND_WALES, 2002, 5, 27);
    assert_holiday_all(2011, 4, 29, "Bank holiday for the royal wedding");
    assert_holiday_all(2012, 6, 4, "Spring bank holiday");
    assert_holiday_all(2012, 6, 5, "Diamond Jubilee bank holiday");
    assert_not_holiday(CH_NATION_SCOTLAND, 2012, 5, 28);
    assert_holiday_all(2020, 5, 8, "Early May bank holiday (VE Day)");
    assert_not_holiday(CH_NATION_NORTHERN_IRELAND, 2020, 5, 4);
    assert_holiday_all(2022, 6, 2, "Spring bank holiday");
    assert_holiday_all(2022, 6, 3, "Platinum Jubilee bank holiday");
    assert_not_holiday(CH_NATION_ENGLAND_AND_WALES, 2022, 5, 30);
    assert_holiday_all(2022, 9, 19, "Bank holiday for the State Funeral of Queen Elizabeth II");
    assert_holiday_all(2023, 5, 8, "Bank holiday for the coronation of King Charles III");
    assert_holiday_all(2023, 5, 1, "Early May bank holiday");

    /* One-offs are one-off. */
    assert_not_holiday(CH_NATION_ENGLAND_AND_WALES, 2000, 12, 31);
    assert_not_holiday(CH_NATION_ENGLAND_AND_WALES, 2021, 5, 8);
    assert_not_holiday(CH_NATION_ENGLAND_AND_WALES, 2024, 5, 8);
    assert_not_holiday(CH_NATION_ENGLAND_AND_WALES, 2033, 6, 3);
}

static void
test_christmas_and_boxing_day_paired_rolls(void **state)
{
    (void)state;
    static const int sat25[] = {2004, 2010, 2021, 2027}; /* 25 Dec a Saturday */
    static const int sun25[] = {2011, 2016, 2022, 2033}; /* 25 Dec a Sunday */
    for (size_t n = 0; n < 3; n++) {
        for (size_t i = 0; i < 4; i++) {
            assert_holiday(divisions[n], sat25[i], 12, 27, "Christmas Day (substitute day)");
            assert_holiday(divisions[n], sat25[i], 12, 28, "Boxing Day (substitute day)");
            assert_not_holiday(divisions[n], sat25[i], 12, 29);
            assert_holiday(divisions[n], sun25[i], 12, 26, "Boxing Day");
            assert_holiday(divisions[n], sun25[i], 12, 27, "Christmas Day (substitute day)");
            assert_not_holiday(divisions[n], sun25[i], 12, 28);
        }
        /* 25 Dec a Friday: Boxing Day (Saturday) moves to Monday 28. */
        assert_holiday(divisions[n], 2015, 12, 25, "Christmas Day");
        assert_holiday(divisions[n], 2015, 12, 28, "Boxing Day (substitute day)");
        assert_holiday(divisions[n], 2024, 12, 25, "Christmas Day");
        assert_holiday(divisions[n], 2024, 12, 26, "Boxing Day");
    }
}

static void
test_new_year_rolls_to_monday(void **state)
{
    (void)state;
    static const int sat1[] = {2000, 2011, 2022, 2028}; /* 1 Jan a Saturday */
    for (size_t i = 0; i < 4; i++) {
        assert_holiday(CH_NATION_ENGLAND_AND_WALES, sat1[i], 1, 3,
                       "New Year's Day (substitute day)");
        assert_holiday(CH_NATION_NORTHERN_IRELAND, sat1[i], 1, 3,
                       "New Year's Day (substitute day)");
        assert_not_holiday(CH_NATION_ENGLAND_AND_WALES, sat1[i], 1, 4);
    }
    assert_holiday(CH_NATION_ENGLAND_AND_WALES, 2017, 1, 2, "New Year's Day (substitute day)");
    assert_holiday(CH_NATION_ENGLAND_AND_WALES, 2021, 1, 1, "New Year's Day");
    assert_not_holiday(CH_NATION_ENGLAND_AND_WALES, 2021, 1, 4);
    assert_not_holiday(CH_NATION_ENGLAND_AND_WALES, 2024, 1, 2);
}

static void
test_scotland_2_january_paired_rolls(void **state)
{
    (void)state;
    ch_nation s = CH_NATION_SCOTLAND;
    /* 1 Jan Saturday: both move, to Monday 3 and Tuesday 4. */
    static const int sat1[] = {2000, 2005, 2022, 2028};
    for (size_t i = 0; i < 4; i++) {
        assert_holiday(s, sat1[i], 1, 3, "New Year's Day (substitute day)");
        assert_holiday(s, sat1[i], 1, 4, "2nd January (substitute day)");
    }
    /* 1 Jan Sunday: 2 January is its own Monday, New Year's Day moves to 3. */
    assert_holiday(s, 2017, 1, 2, "2nd January");
    assert_holiday(s, 2017, 1, 3, "New Year's Day (substitute day)");
    assert_holiday(s, 2023, 1, 2, "2nd January");
    assert_holiday(s, 2023, 1, 3, "New Year's Day (substitute day)");
    /* 1 Jan Friday: 2 January (Saturday) moves to Monday 4. */
    assert_holiday(s, 2016, 1, 1, "New Year's Day");
    assert_holiday(s, 2016, 1, 4, "2nd January (substitute day)");
    assert_holiday(s, 2021, 1, 4, "2nd January (substitute day)");
    /* Weekday New Year. */
    assert_holiday(s, 2024, 1, 1, "New Year's Day");
    assert_holiday(s, 2024, 1, 2, "2nd January");
    /* No proclamation was made for 4 January 2010 or 2011. */
    assert_holiday(s, 2010, 1, 1, "New Year's Day");
    assert_not_holiday(s, 2010, 1, 4);
    assert_holiday(s, 2011, 1, 3, "2nd January (substitute day)");
    assert_not_holiday(s, 2011, 1, 4);
}

static void
test_easter_dates_across_years(void **state)
{
    (void)state;
    static const struct {
        int y, m, d; /* Easter Sunday */
    } easter[] = {{1995, 4, 16}, {2000, 4, 23}, {2008, 3, 23}, {2011, 4, 24},
                  {2019, 4, 21}, {2038, 4, 25}, {2049, 4, 18}, {2100, 3, 28}};
    for (size_t i = 0; i < sizeof(easter) / sizeof(easter[0]); i++) {
        int32_t sun = D(easter[i].y, easter[i].m, easter[i].d);
        int gy, gm, gd, my, mm, md;
        ch_civil_from_day(sun - 2, &gy, &gm, &gd);
        ch_civil_from_day(sun + 1, &my, &mm, &md);
        for (size_t n = 0; n < 3; n++)
            assert_holiday(divisions[n], gy, gm, gd, "Good Friday");
        assert_holiday(CH_NATION_ENGLAND_AND_WALES, my, mm, md, "Easter Monday");
        assert_holiday(CH_NATION_NORTHERN_IRELAND, my, mm, md, "Easter Monday");
        assert_not_holiday(CH_NATION_SCOTLAND, my, mm, md);
    }
}

static void
test_st_andrews_day_from_2007_with_monday_substitute(void **state)
{
    (void)state;
    ch_nation s = CH_NATION_SCOTLAND;
    assert_not_holiday(s, 2006, 11, 30);
    assert_holiday(s, 2007, 11, 30, "St Andrew's Day");
    assert_holiday(s, 2008, 12, 1, "St Andrew's Day (substitute day)"); /* Sunday */
    assert_not_holiday(s, 2008, 11, 30);
    assert_holiday(s, 2013, 12, 2, "St Andrew's Day (substitute day)"); /* Saturday */
    assert_holiday(s, 2100, 11, 30, "St Andrew's Day");
    assert_not_holiday(CH_NATION_ENGLAND_AND_WALES, 2023, 11, 30);
    assert_not_holiday(CH_NATION_NORTHERN_IRELAND, 2023, 11, 30);
}

static void
test_northern_ireland_st_patrick_and_12_july_substitutes(void **state)
{
    (void)state;
    ch_nation ni = CH_NATION_NORTHERN_IRELAND;
    assert_holiday(ni, 2023, 3, 17, "St Patrick's Day");
    assert_holiday(ni, 2018, 3, 19, "St Patrick's Day (substitute day)"); /* Saturday */
    assert_holiday(ni, 2019, 3, 18, "St Patrick's Day (substitute day)"); /* Sunday */
    assert_holiday(ni, 2023, 7, 12, "Battle of the Boyne (Orangemen's Day)");
    assert_holiday(ni, 2014, 7, 14, "Battle of the Boyne (Orangemen's Day) (substitute day)");
    assert_holiday(ni, 2015, 7, 13, "Battle of the Boyne (Orangemen's Day) (substitute day)");
    assert_not_holiday(ni, 2015, 7, 14);
    assert_not_holiday(CH_NATION_ENGLAND_AND_WALES, 2023, 7, 12);
    assert_not_holiday(CH_NATION_SCOTLAND, 2023, 3, 17);
}

static void
test_scotland_summer_holiday_is_first_monday_of_august(void **state)
{
    (void)state;
    assert_holiday(CH_NATION_SCOTLAND, 1995, 8, 7, "Summer bank holiday");
    assert_not_holiday(CH_NATION_SCOTLAND, 1995, 8, 28);
    assert_holiday(CH_NATION_ENGLAND_AND_WALES, 1995, 8, 28, "Summer bank holiday");
    assert_holiday(CH_NATION_SCOTLAND, 2035, 8, 6, "Summer bank holiday");
    assert_holiday(CH_NATION_NORTHERN_IRELAND, 2035, 8, 27, "Summer bank holiday");
    assert_not_holiday(CH_NATION_NORTHERN_IRELAND, 2035, 8, 6);
}

/* Every year's list: sorted, distinct, inside the year, on weekdays, and as
 * many as the standing rules plus that year's one-offs. */
static void
test_every_year_lists_weekdays_in_order_with_expected_counts(void **state)
{
    (void)state;
    char ds[16];
    for (size_t n = 0; n < 3; n++) {
        for (int y = CH_CAL_FIRST_YEAR; y <= CH_CAL_LAST_YEAR; y++) {
            ch_holiday h[MAXH];
            int k = holidays_of(divisions[n], y, h);
            int extra = (y == 1999) + (y == 2002) + (y == 2011) + (y == 2012) + 2 * (y == 2022) +
                        (y == 2023);
            int want = divisions[n] == CH_NATION_NORTHERN_IRELAND ? 10 : 8;
            if (divisions[n] == CH_NATION_SCOTLAND)
                want += (y >= 2007) + (y == 1995) - (y == 2010 || y == 2011);
            if (k != want + extra)
                fail_msg("%s %d has %d bank holidays, expected %d", ch_nation_name(divisions[n]), y,
                         k, want + extra);
            for (int i = 0; i < k; i++) {
                int yy;
                ch_civil_from_day(h[i].day, &yy, NULL, NULL);
                if (yy != y || ch_weekday(h[i].day) >= 5 || (i > 0 && h[i].day <= h[i - 1].day))
                    fail_msg("%s %d: %s \"%s\" is out of order, off-year or at a weekend",
                             ch_nation_name(divisions[n]), y, fmt_day(h[i].day, ds, sizeof(ds)),
                             h[i].name);
                assert_non_null(h[i].name);
            }
        }
    }
}

static void
test_holiday_list_respects_cap(void **state)
{
    (void)state;
    ch_holiday h[4];
    memset(h, 0, sizeof(h));
    h[3].name = "sentinel";
    int k = ch_bank_holidays(CH_NATION_NORTHERN_IRELAND, 2022, h, 3);
    assert_int_equal(k, 12);
    assert_int_equal(h[0].day, D(2022, 1, 3));
    assert_int_equal(h[2].day, D(2022, 4, 15));
    assert_string_equal(h[3].name, "sentinel");
    assert_int_equal(ch_bank_holidays(CH_NATION_ENGLAND_AND_WALES, 2024, NULL, 0), 8);
}

static void
test_years_and_nations_outside_the_rules_are_rejected(void **state)
{
    (void)state;
    ch_holiday h[MAXH];
    assert_int_equal(ch_bank_holidays(CH_NATION_ENGLAND_AND_WALES, 1994, h, MAXH), CH_EINVAL);
    assert_int_equal(ch_bank_holidays(CH_NATION_SCOTLAND, 2101, h, MAXH), CH_EINVAL);
    assert_int_equal(ch_bank_holidays(CH_NATION_UK_ANY, 2024, h, MAXH), CH_EINVAL);
    assert_int_equal(ch_bank_holidays((ch_nation)7, 2024, h, MAXH), CH_EINVAL);
    assert_true(ch_bank_holidays(CH_NATION_SCOTLAND, 1995, h, MAXH) > 0);
    assert_true(ch_bank_holidays(CH_NATION_SCOTLAND, 2100, h, MAXH) > 0);
}

/* ---- calendars ---- */

static void
test_calendar_holidays_match_rules_and_uk_any_is_union(void **state)
{
    (void)state;
    ch_calendar *c[3], *any = ch_calendar_new(CH_NATION_UK_ANY);
    assert_non_null(any);
    assert_int_equal(ch_calendar_nation(any), CH_NATION_UK_ANY);
    for (size_t n = 0; n < 3; n++) {
        c[n] = ch_calendar_new(divisions[n]);
        assert_non_null(c[n]);
        assert_int_equal(ch_calendar_nation(c[n]), divisions[n]);
    }
    char ds[16];
    for (int y = CH_CAL_FIRST_YEAR; y <= CH_CAL_LAST_YEAR; y++) {
        unsigned char rule[3][366] = {{0}};
        int32_t jan1 = D(y, 1, 1), end = D(y + 1, 1, 1);
        for (size_t n = 0; n < 3; n++) {
            ch_holiday h[MAXH];
            int k = holidays_of(divisions[n], y, h);
            for (int i = 0; i < k; i++)
                rule[n][h[i].day - jan1] = 1;
        }
        for (int32_t d = jan1; d < end; d++) {
            int u = 0;
            for (size_t n = 0; n < 3; n++) {
                if (ch_calendar_is_bank_holiday(c[n], d) != rule[n][d - jan1])
                    fail_msg("%s calendar disagrees with the rules on %s",
                             ch_nation_name(divisions[n]), fmt_day(d, ds, sizeof(ds)));
                u |= rule[n][d - jan1];
            }
            if (ch_calendar_is_bank_holiday(any, d) != u)
                fail_msg("uk-any is %d on %s, the union is %d", ch_calendar_is_bank_holiday(any, d),
                         fmt_day(d, ds, sizeof(ds)), u);
        }
    }
    /* Days that only one nation keeps are in the union. */
    assert_true(ch_calendar_is_bank_holiday(any, D(2024, 1, 2)));  /* Scotland */
    assert_true(ch_calendar_is_bank_holiday(any, D(2024, 7, 12))); /* NI */
    assert_true(ch_calendar_is_bank_holiday(any, D(2024, 8, 5)));  /* Scotland */
    assert_true(ch_calendar_is_bank_holiday(any, D(2024, 8, 26))); /* E&W, NI */
    assert_false(ch_calendar_is_bank_holiday(c[0], D(2024, 8, 5)));
    for (size_t n = 0; n < 3; n++)
        ch_calendar_free(c[n]);
    ch_calendar_free(any);
}

static void
test_working_days_across_christmas_and_new_year(void **state)
{
    (void)state;
    ch_calendar *ew = ch_calendar_new(CH_NATION_ENGLAND_AND_WALES);
    ch_calendar *sc = ch_calendar_new(CH_NATION_SCOTLAND);
    assert_non_null(ew);
    assert_non_null(sc);
    assert_true(ch_calendar_is_working_day(ew, D(2022, 12, 23)));
    assert_false(ch_calendar_is_working_day(ew, D(2022, 12, 24))); /* Saturday */
    assert_false(ch_calendar_is_working_day(ew, D(2022, 12, 26)));
    assert_false(ch_calendar_is_working_day(ew, D(2022, 12, 27)));
    assert_true(ch_calendar_is_working_day(ew, D(2022, 12, 28)));
    assert_int_equal(ch_calendar_next_working_day(ew, D(2022, 12, 23)), D(2022, 12, 28));
    assert_int_equal(ch_calendar_working_day_on_or_after(ew, D(2022, 12, 24)), D(2022, 12, 28));
    assert_int_equal(ch_calendar_working_day_on_or_after(ew, D(2022, 12, 28)), D(2022, 12, 28));
    assert_int_equal(ch_calendar_next_working_day(ew, D(2022, 12, 28)), D(2022, 12, 29));
    /* New Year: E&W back on Tuesday 3 January 2023, Scotland on Wednesday 4. */
    assert_int_equal(ch_calendar_next_working_day(ew, D(2022, 12, 30)), D(2023, 1, 3));
    assert_int_equal(ch_calendar_next_working_day(sc, D(2022, 12, 30)), D(2023, 1, 4));
    assert_int_equal(ch_calendar_next_working_day(sc, D(2021, 12, 24)), D(2021, 12, 29));
    assert_int_equal(ch_calendar_next_working_day(sc, D(2021, 12, 31)), D(2022, 1, 5));
    ch_calendar_free(ew);
    ch_calendar_free(sc);
}

static void
test_outside_1995_2100_only_weekends_are_non_working(void **state)
{
    (void)state;
    ch_calendar *ew = ch_calendar_new(CH_NATION_ENGLAND_AND_WALES);
    assert_non_null(ew);
    assert_true(ch_calendar_is_working_day(ew, D(1994, 12, 26))); /* Boxing Day, Monday */
    assert_false(ch_calendar_is_bank_holiday(ew, D(1994, 12, 26)));
    assert_false(ch_calendar_is_working_day(ew, D(1994, 12, 25))); /* Sunday */
    assert_false(ch_calendar_is_working_day(ew, D(1995, 1, 2)));   /* New Year substitute */
    assert_true(ch_calendar_is_working_day(ew, D(2101, 12, 26)));  /* Boxing Day, Monday */
    assert_false(ch_calendar_is_working_day(ew, D(2101, 1, 1)));   /* Saturday */
    assert_int_equal(ch_calendar_next_working_day(ew, D(2100, 12, 31)), D(2101, 1, 3));
    assert_int_equal(ch_calendar_next_working_day(ew, D(1994, 12, 30)), D(1995, 1, 3));
    ch_calendar_free(ew);
}

static void
test_closures_are_non_working_but_not_bank_holidays(void **state)
{
    (void)state;
    ch_calendar *ew = ch_calendar_new(CH_NATION_ENGLAND_AND_WALES);
    assert_non_null(ew);
    for (int d = 28; d <= 30; d++)
        assert_int_equal(ch_calendar_add_closure(ew, D(2022, 12, d)), 0);
    assert_false(ch_calendar_is_working_day(ew, D(2022, 12, 29)));
    assert_false(ch_calendar_is_bank_holiday(ew, D(2022, 12, 29)));
    assert_int_equal(ch_calendar_next_working_day(ew, D(2022, 12, 23)), D(2023, 1, 3));
    assert_int_equal(ch_calendar_add_closure(ew, D(1995, 1, 1)), 0);
    assert_int_equal(ch_calendar_add_closure(ew, D(2100, 12, 31)), 0);
    assert_false(ch_calendar_is_working_day(ew, D(2100, 12, 31)));
    assert_int_equal(ch_calendar_add_closure(ew, D(1994, 12, 31)), CH_EINVAL);
    assert_int_equal(ch_calendar_add_closure(ew, D(2101, 1, 1)), CH_EINVAL);
    /* A closure in one calendar is not in another. */
    ch_calendar *other = ch_calendar_new(CH_NATION_ENGLAND_AND_WALES);
    assert_non_null(other);
    assert_true(ch_calendar_is_working_day(other, D(2022, 12, 29)));
    ch_calendar_free(other);
    ch_calendar_free(ew);
}

static void
test_next_working_day_crosses_a_long_run_of_closed_days(void **state)
{
    (void)state;
    ch_calendar *ni = ch_calendar_new(CH_NATION_NORTHERN_IRELAND);
    assert_non_null(ni);
    for (int32_t d = D(2100, 6, 1); d <= D(2100, 12, 31); d++)
        assert_int_equal(ch_calendar_add_closure(ni, d), 0);
    assert_int_equal(ch_calendar_next_working_day(ni, D(2100, 5, 27)), D(2100, 5, 28));
    /* Then a weekend, the Spring bank holiday (31 May) and seven closed months. */
    assert_int_equal(ch_calendar_next_working_day(ni, D(2100, 5, 28)), D(2101, 1, 3));
    /* Every day of the range closed: the search runs out past its end. */
    for (int32_t d = D(1995, 1, 1); d < D(2100, 6, 1); d++)
        assert_int_equal(ch_calendar_add_closure(ni, d), 0);
    assert_int_equal(ch_calendar_working_day_on_or_after(ni, D(1995, 1, 1)), D(2101, 1, 3));
    ch_calendar_free(ni);
}

/* ---- GOV.UK JSON override ---- */

#define NDAYS_RANGE (47847 - 9131)

/* One byte per day of 1995-2100: bank holiday (1), non-working (2). */
static void
snapshot(const ch_calendar *cal, unsigned char *out)
{
    int32_t first = D(1995, 1, 1);
    for (int32_t i = 0; i < NDAYS_RANGE; i++) {
        int32_t d = first + i;
        out[i] = (unsigned char)(ch_calendar_is_bank_holiday(cal, d) |
                                 (ch_calendar_is_working_day(cal, d) ? 0 : 2));
    }
}

static int
apply(ch_calendar *cal, const char *doc, char *err, size_t errsz)
{
    err[0] = '\0';
    return ch_calendar_apply_govuk_json(cal, doc, strlen(doc), "bank-holidays.json", err, errsz);
}

/* Asserts the document is refused with an error containing `needle` and that
 * the calendar is exactly as it was, even after a later successful apply. */
static void
assert_refused(ch_nation n, const char *doc, const char *needle)
{
    static unsigned char before[NDAYS_RANGE], after[NDAYS_RANGE];
    ch_calendar *cal = ch_calendar_new(n);
    assert_non_null(cal);
    assert_int_equal(ch_calendar_add_closure(cal, D(2030, 1, 2)), 0);
    snapshot(cal, before);
    char err[512];
    int rc = apply(cal, doc, err, sizeof(err));
    if (rc != CH_EINVAL)
        fail_msg("apply returned %d for a bad document, expected CH_EINVAL:\n%s", rc, doc);
    if (!strstr(err, needle))
        fail_msg("error \"%s\" does not contain \"%s\"", err, needle);
    if (strncmp(err, "bank-holidays.json: ", 20) != 0)
        fail_msg("error \"%s\" does not start with the file name", err);
    snapshot(cal, after);
    assert_memory_equal(before, after, NDAYS_RANGE);
    /* A later document that covers no years must not reveal hidden changes. */
    rc = apply(cal,
               "{\"england-and-wales\": {\"events\": []}, \"scotland\": {\"events\": []},"
               " \"northern-ireland\": {\"events\": []}}",
               err, sizeof(err));
    if (rc != 0)
        fail_msg("apply of an empty document returned %d: %s", rc, err);
    snapshot(cal, after);
    assert_memory_equal(before, after, NDAYS_RANGE);
    ch_calendar_free(cal);
}

static void
test_apply_small_document_changes_exactly_its_years(void **state)
{
    (void)state;
    static unsigned char fresh[NDAYS_RANGE], got[NDAYS_RANGE];
    const char *doc = "{\"england-and-wales\": {\"division\": \"england-and-wales\", \"events\": ["
                      "{\"title\": \"New Year\", \"date\": \"2030-01-01\", \"notes\": \"\"},"
                      "{\"title\": \"Extra\", \"date\": \"2030-07-15\", \"bunting\": true}]},"
                      " \"scotland\": {\"division\": \"scotland\", \"events\": ["
                      "{\"title\": \"Other\", \"date\": \"2031-03-04\"}]}}";
    ch_calendar *ref = ch_calendar_new(CH_NATION_ENGLAND_AND_WALES);
    ch_calendar *cal = ch_calendar_new(CH_NATION_ENGLAND_AND_WALES);
    assert_non_null(ref);
    assert_non_null(cal);
    char err[512];
    int rc = apply(cal, doc, err, sizeof(err));
    if (rc != 0)
        fail_msg("apply returned %d: %s", rc, err);

    snapshot(ref, fresh);
    snapshot(cal, got);
    int32_t first = D(1995, 1, 1), y2030 = D(2030, 1, 1), y2031 = D(2031, 1, 1);
    char ds[16];
    for (int32_t i = 0; i < NDAYS_RANGE; i++) {
        int32_t d = first + i;
        int want;
        if (d >= y2030 && d < y2031) {
            int hol = d == D(2030, 1, 1) || d == D(2030, 7, 15);
            want = hol | (hol || ch_weekday(d) >= 5 ? 2 : 0);
        } else
            want = fresh[i];
        if (got[i] != want)
            fail_msg("after the override %s is %d, expected %d", fmt_day(d, ds, sizeof(ds)), got[i],
                     want);
    }
    /* 2030's rule-based days are gone; Scotland's events do not touch E&W. */
    assert_true(ch_calendar_is_working_day(cal, D(2030, 12, 25)));
    assert_false(ch_calendar_is_working_day(cal, D(2030, 7, 15)));
    assert_true(ch_calendar_is_working_day(cal, D(2031, 3, 4)));
    assert_false(ch_calendar_is_working_day(cal, D(2031, 12, 25)));
    ch_calendar_free(ref);
    ch_calendar_free(cal);
}

static void
test_apply_to_uk_any_rebuilds_the_union_per_division(void **state)
{
    (void)state;
    const char *doc = "{\"england-and-wales\": {\"events\": [{\"date\": \"2040-03-01\"}]},"
                      " \"scotland\": {\"events\": [{\"date\": \"2040-03-02\"}]},"
                      " \"northern-ireland\": {\"events\": [{\"date\": \"2041-03-05\"}]}}";
    ch_calendar *any = ch_calendar_new(CH_NATION_UK_ANY);
    assert_non_null(any);
    assert_true(ch_calendar_is_bank_holiday(any, D(2040, 8, 6)));   /* Scotland's summer */
    assert_true(ch_calendar_is_bank_holiday(any, D(2040, 11, 30))); /* St Andrew's */
    char err[512];
    int rc = apply(any, doc, err, sizeof(err));
    if (rc != 0)
        fail_msg("apply returned %d: %s", rc, err);
    assert_true(ch_calendar_is_bank_holiday(any, D(2040, 3, 1)));
    assert_true(ch_calendar_is_bank_holiday(any, D(2040, 3, 2)));
    /* 2040: E&W and Scotland replaced, NI's rules remain. */
    assert_false(ch_calendar_is_bank_holiday(any, D(2040, 8, 6)));
    assert_false(ch_calendar_is_bank_holiday(any, D(2040, 11, 30)));
    assert_true(ch_calendar_is_bank_holiday(any, D(2040, 3, 19)));  /* St Patrick's (sub) */
    assert_true(ch_calendar_is_bank_holiday(any, D(2040, 4, 2)));   /* NI Easter Monday */
    assert_true(ch_calendar_is_bank_holiday(any, D(2040, 12, 25))); /* NI */
    /* 2041: only NI replaced. */
    assert_true(ch_calendar_is_bank_holiday(any, D(2041, 3, 5)));
    assert_false(ch_calendar_is_bank_holiday(any, D(2041, 3, 18))); /* St Patrick's (sub) */
    assert_false(ch_calendar_is_bank_holiday(any, D(2041, 7, 12))); /* Boyne, a Friday */
    assert_true(ch_calendar_is_bank_holiday(any, D(2041, 12, 25)));
    assert_true(ch_calendar_is_bank_holiday(any, D(2041, 1, 2))); /* Scotland */
    ch_calendar_free(any);
}

static void
test_apply_govuk_reference_file_keeps_rule_holidays(void **state)
{
    (void)state;
    static unsigned char fresh[NDAYS_RANGE], got[NDAYS_RANGE];
    size_t len;
    char *data = read_reference(&len);
    for (int n = 0; n <= CH_NATION_UK_ANY; n++) {
        ch_calendar *ref = ch_calendar_new((ch_nation)n);
        ch_calendar *cal = ch_calendar_new((ch_nation)n);
        assert_non_null(ref);
        assert_non_null(cal);
        char err[512] = "";
        int rc =
            ch_calendar_apply_govuk_json(cal, data, len, "bank-holidays.json", err, sizeof(err));
        if (rc != 0)
            fail_msg("applying the GOV.UK file to %s returned %d: %s", ch_nation_name((ch_nation)n),
                     rc, err);
        snapshot(ref, fresh);
        snapshot(cal, got);
        assert_memory_equal(fresh, got, NDAYS_RANGE);
        ch_calendar_free(ref);
        ch_calendar_free(cal);
    }
    free(data);
}

static void
test_apply_malformed_json_names_line_and_column(void **state)
{
    (void)state;
    assert_refused(CH_NATION_ENGLAND_AND_WALES,
                   "{\n  \"england-and-wales\": {\n    \"events\": [,]\n  }\n}",
                   "bank-holidays.json: line 3, column 16:");
    assert_refused(CH_NATION_ENGLAND_AND_WALES, "", "line 1, column 0:");
}

static void
test_apply_bad_date_names_its_path_and_changes_nothing(void **state)
{
    (void)state;
    /* The first division is valid and would change 2030; the second is not. */
    const char *doc =
        "{\"england-and-wales\": {\"events\": [{\"date\": \"2030-03-01\"}]},"
        " \"scotland\": {\"events\": [{\"date\": \"2030-03-01\"}, {\"date\": \"2023-02-30\"}]}}";
    assert_refused(CH_NATION_UK_ANY, doc,
                   "bank-holidays.json: scotland.events[1].date: expected YYYY-MM-DD");
    assert_refused(CH_NATION_ENGLAND_AND_WALES, doc, "scotland.events[1].date");
    assert_refused(CH_NATION_ENGLAND_AND_WALES,
                   "{\"england-and-wales\": {\"events\": [{\"date\": \"2023-5-08\"}]}}",
                   "england-and-wales.events[0].date: expected YYYY-MM-DD");
    assert_refused(CH_NATION_ENGLAND_AND_WALES,
                   "{\"england-and-wales\": {\"events\": [{\"date\": 20230508}]}}",
                   "england-and-wales.events[0].date: expected YYYY-MM-DD");
    assert_refused(CH_NATION_ENGLAND_AND_WALES,
                   "{\"england-and-wales\": {\"events\": [{\"title\": \"x\"}]}}",
                   "england-and-wales.events[0].date: expected YYYY-MM-DD");
    assert_refused(CH_NATION_ENGLAND_AND_WALES,
                   "{\"england-and-wales\": {\"events\": [{\"date\": \"1990-01-01\"}]}}",
                   "england-and-wales.events[0].date: 1990-01-01 is outside");
}

static void
test_apply_refuses_wrong_structure(void **state)
{
    (void)state;
    ch_nation ew = CH_NATION_ENGLAND_AND_WALES;
    assert_refused(ew, "[]", "expected an object of divisions");
    assert_refused(ew, "{\"england\": {\"events\": []}}", "england: unknown division");
    assert_refused(ew, "{\"england-and-wales\": []}", "england-and-wales: expected an object");
    assert_refused(ew, "{\"england-and-wales\": {\"events\": {}}}",
                   "england-and-wales.events: expected an array");
    assert_refused(ew, "{\"england-and-wales\": {}}", "england-and-wales.events: expected");
    assert_refused(ew, "{\"england-and-wales\": {\"events\": [1]}}",
                   "england-and-wales.events[0]: expected an object");
    assert_refused(
        ew, "{\"england-and-wales\": {\"events\": [{\"title\": 3, \"date\": \"2030-01-01\"}]}}",
        "england-and-wales.events[0].title: expected a string");
    assert_refused(ew, "{\"england-and-wales\": {\"division\": \"scotland\", \"events\": []}}",
                   "england-and-wales.division: expected \"england-and-wales\"");
    assert_refused(ew, "{\"scotland\": {\"events\": []}}", "no \"england-and-wales\" division");
    assert_refused(CH_NATION_UK_ANY,
                   "{\"england-and-wales\": {\"events\": []}, \"scotland\": {\"events\": []}}",
                   "no \"northern-ireland\" division");
    assert_refused(ew,
                   "{\"england-and-wales\": {\"events\": []}, \"england-and-wales\": "
                   "{\"events\": []}}",
                   "line 1");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_civil_dates_round_trip_with_weekdays),
        cmocka_unit_test(test_days_in_month_follow_gregorian_leap_years),
        cmocka_unit_test(test_nation_names_parse_and_print),
        cmocka_unit_test(test_england_and_wales_rules_match_govuk_2018_2027),
        cmocka_unit_test(test_scotland_rules_match_govuk_2018_2027),
        cmocka_unit_test(test_northern_ireland_rules_match_govuk_2018_2027),
        cmocka_unit_test(test_one_off_holidays_1995_to_2023),
        cmocka_unit_test(test_christmas_and_boxing_day_paired_rolls),
        cmocka_unit_test(test_new_year_rolls_to_monday),
        cmocka_unit_test(test_scotland_2_january_paired_rolls),
        cmocka_unit_test(test_easter_dates_across_years),
        cmocka_unit_test(test_st_andrews_day_from_2007_with_monday_substitute),
        cmocka_unit_test(test_northern_ireland_st_patrick_and_12_july_substitutes),
        cmocka_unit_test(test_scotland_summer_holiday_is_first_monday_of_august),
        cmocka_unit_test(test_every_year_lists_weekdays_in_order_with_expected_counts),
        cmocka_unit_test(test_holiday_list_respects_cap),
        cmocka_unit_test(test_years_and_nations_outside_the_rules_are_rejected),
        cmocka_unit_test(test_calendar_holidays_match_rules_and_uk_any_is_union),
        cmocka_unit_test(test_working_days_across_christmas_and_new_year),
        cmocka_unit_test(test_outside_1995_2100_only_weekends_are_non_working),
        cmocka_unit_test(test_closures_are_non_working_but_not_bank_holidays),
        cmocka_unit_test(test_next_working_day_crosses_a_long_run_of_closed_days),
        cmocka_unit_test(test_apply_small_document_changes_exactly_its_years),
        cmocka_unit_test(test_apply_to_uk_any_rebuilds_the_union_per_division),
        cmocka_unit_test(test_apply_govuk_reference_file_keeps_rule_holidays),
        cmocka_unit_test(test_apply_malformed_json_names_line_and_column),
        cmocka_unit_test(test_apply_bad_date_names_its_path_and_changes_nothing),
        cmocka_unit_test(test_apply_refuses_wrong_structure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
