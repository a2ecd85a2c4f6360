/*
 * Civil dates in the proleptic Gregorian calendar, as day numbers: days
 * since 1970-01-01 (negative before it). Every date Charter reasons about (a
 * bank holiday, a due day, a report period, a zone's rule day) is one of
 * these, and this is the one place that turns a year, month and day into a
 * day number and back.
 *
 * Local time is counted the same way: "local seconds" are a wall-clock
 * date and time counted as if they were UTC seconds since 1970-01-01T00:00,
 * so ch_civil_day_of() gives the local date and ch_civil_second_of_day() the
 * time of day (tz.h turns an instant into local seconds).
 *
 * Pure arithmetic: no I/O, no clock, no zone.
 */
#ifndef CHARTER_CIVIL_H
#define CHARTER_CIVIL_H

#include <stdint.h>

#define CH_CIVIL_SECS_PER_DAY 86400

/* a / b rounded towards minus infinity (b != 0), so that an instant before
 * 1970 falls on the day, second or week it is in rather than the next one. */
static inline int64_t
ch_civil_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The day number of local (or UTC) seconds `s`. */
static inline int32_t
ch_civil_day_of(int64_t s)
{
    return (int32_t)ch_civil_floor_div(s, CH_CIVIL_SECS_PER_DAY);
}

/* The second of its day (0..86399) of local (or UTC) seconds `s`. */
static inline int32_t
ch_civil_second_of_day(int64_t s)
{
    return (int32_t)(s - ch_civil_floor_div(s, CH_CIVIL_SECS_PER_DAY) * CH_CIVIL_SECS_PER_DAY);
}

/*
 * The day number of year-month-day. month is 1-12; a day past the month's
 * end counts on into the next month (and day 0 is the previous month's
 * last). Any year of magnitude below 10^16, hence the int64 result;
 * callers that keep day numbers in int32_t (calendars, policies) pass years
 * they have checked.
 */
int64_t ch_day_from_civil(int64_t year, int month, int day);

/* The date of day number `dayno`; any of the outputs may be NULL. */
void ch_civil_from_day(int32_t dayno, int *year, int *month, int *day);

/* 1 for a leap year (divisible by 4, except centuries not divisible by 400). */
static inline int
ch_civil_is_leap(int64_t year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/* 28-31; 0 for a month outside 1-12. */
static inline int
ch_days_in_month(int64_t year, int month)
{
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2)
        return ch_civil_is_leap(year) ? 29 : 28;
    return month >= 1 && month <= 12 ? len[month - 1] : 0;
}

/* 0 = Monday ... 6 = Sunday. */
static inline int
ch_weekday(int32_t dayno)
{
    int64_t w = ((int64_t)dayno + 3) % 7; /* 1970-01-01 was a Thursday (3) */
    return (int)(w < 0 ? w + 7 : w);
}

#endif
