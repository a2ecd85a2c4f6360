/*
 * Working-day calendars: weekends, UK bank holidays and organisation
 * closures.
 *
 * Bank holidays are computed from the rules of each nation for any year
 * 1995-2100 (Easter-based days, first/last Mondays, Scotland's 2 January and
 * St Andrew's Day, Northern Ireland's St Patrick's Day and 12 July, weekend
 * substitution with the paired rolls of Christmas/Boxing Day and New
 * Year/2 January) plus the one-off changes (1995, 1999, 2002, 2011, 2012,
 * 2020, 2022, 2023, and Scotland's unproclaimed 4 January in 2010 and
 * 2011). An operator's GOV.UK-format JSON file can override the rules for
 * the years it covers. `uk-any` is the union of the three nations,
 * for statutory clocks that treat a bank holiday anywhere in the UK as a
 * non-working day.
 *
 * Dates are local civil dates, counted as days since 1970-01-01 (negative
 * before it): civil.h's day numbers, included here because every caller of a
 * calendar makes them. Pure: no I/O, no clock; the JSON override is passed
 * as bytes.
 */
#ifndef CHARTER_CALENDAR_H
#define CHARTER_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

#include "charter/civil.h"

#define CH_CAL_FIRST_YEAR 1995
#define CH_CAL_LAST_YEAR 2100

typedef enum {
    CH_NATION_ENGLAND_AND_WALES = 0,
    CH_NATION_SCOTLAND,
    CH_NATION_NORTHERN_IRELAND,
    CH_NATION_UK_ANY,
} ch_nation;

/* "england-and-wales", "scotland", "northern-ireland", "uk-any" (the GOV.UK
 * division names, plus uk-any; exact, case-sensitive). Returns 0 or
 * CH_EINVAL (also for NULL). */
int ch_nation_parse(const char *name, ch_nation *out);
/* The name ch_nation_parse() reads; "unknown" for a value outside the enum. */
const char *ch_nation_name(ch_nation n);
/* "England and Wales", "Scotland", "Northern Ireland", "any part of the UK";
 * "unknown" for a value outside the enum. */
const char *ch_nation_title(ch_nation n);

typedef struct {
    int32_t day;
    const char *name; /* static text, e.g. "Christmas Day (substitute day)" */
} ch_holiday;

/*
 * The rule-computed bank holidays of one nation (not uk-any) in one year,
 * in date order, each on a weekday (a weekend date is listed only as its
 * substitute). Writes at most cap entries (out may be NULL when cap is 0)
 * and returns how many there are, or CH_EINVAL for a year outside 1995-2100
 * or a bad nation. A JSON override applied to a calendar does not change
 * what this returns.
 */
int ch_bank_holidays(ch_nation n, int year, ch_holiday *out, size_t cap);

typedef struct ch_calendar ch_calendar;

/* A calendar for a nation (or uk-any) over 1995-2100 with Saturday and
 * Sunday as non-working days. NULL on ENOMEM or a bad nation. Free with
 * ch_calendar_free (NULL is allowed). */
ch_calendar *ch_calendar_new(ch_nation n);
void ch_calendar_free(ch_calendar *cal);

/*
 * Applies a GOV.UK bank-holidays JSON document ({"england-and-wales":
 * {"division": ..., "events": [{"title", "date": "YYYY-MM-DD", ...}]}, ...}).
 * For each year that has at least one event in the calendar's division,
 * that year's bank holidays become exactly the file's; for uk-any each
 * division is replaced that way and the union rebuilt. Closures are kept.
 *
 * The whole document is checked first, including divisions the calendar
 * does not use: top-level keys must be GOV.UK division names, the
 * calendar's division (all three for uk-any) must be present, each has an
 * "events" array (and "division", if given, matches its key), each event
 * has a "date" in 1995-2100 (and "title", if given, is a string); other
 * fields are ignored. `name` (usually the file name) starts each error:
 * "name: line 3, column 16: invalid JSON: ..." or
 * "name: england-and-wales.events[3].date: expected YYYY-MM-DD ...".
 * Returns 0, or CH_EINVAL with errstr set and the calendar unchanged.
 */
int ch_calendar_apply_govuk_json(ch_calendar *cal, const char *json, size_t len, const char *name,
                                 char *errstr, size_t errstr_size);

/* Marks a day as closed (an organisation closure, e.g. a Christmas shutdown).
 * Returns 0 or CH_EINVAL for a day outside 1995-2100. */
int ch_calendar_add_closure(ch_calendar *cal, int32_t day);

/* 1 if the day is a bank holiday of the calendar's nation(s). */
int ch_calendar_is_bank_holiday(const ch_calendar *cal, int32_t day);

/* 1 for a working day: not a weekend, bank holiday or closure. Days outside
 * 1995-2100 count weekends only. */
int ch_calendar_is_working_day(const ch_calendar *cal, int32_t day);

/* The first working day strictly after `day` (or at/after, for _on_or_after).
 * Always found: past 2100 only weekends are skipped. */
int32_t ch_calendar_next_working_day(const ch_calendar *cal, int32_t day);
int32_t ch_calendar_working_day_on_or_after(const ch_calendar *cal, int32_t day);

ch_nation ch_calendar_nation(const ch_calendar *cal);

#endif
