/*
 * Inside a ch_calendar, shared by calendar.c (the rules, the queries) and
 * calendar_govuk.c (the GOV.UK JSON override, the only part that needs
 * jansson): one bit per day over 1995-2100 for each division's bank
 * holidays, their union for the calendar's nation, and the closures.
 */
#ifndef CHARTER_CALENDAR_INT_H
#define CHARTER_CALENDAR_INT_H

#include <stdint.h>

#include "charter/calendar.h"

/* 1995-01-01 and 2101-01-01 as day numbers. */
#define CAL_FIRST_DAY 9131
#define CAL_END_DAY 47847
#define CAL_NDAYS (CAL_END_DAY - CAL_FIRST_DAY)
#define CAL_WORDS ((CAL_NDAYS + 63) / 64)
#define CAL_NYEARS (CH_CAL_LAST_YEAR - CH_CAL_FIRST_YEAR + 1)
#define NDIVISIONS 3

struct ch_calendar {
    ch_nation nation;
    uint64_t div[NDIVISIONS][CAL_WORDS]; /* per division; unused ones stay zero */
    uint64_t hol[CAL_WORDS];             /* the calendar's nation, or the union */
    uint64_t closed[CAL_WORDS];
};

/* The bit operations take a day inside CAL_FIRST_DAY..CAL_END_DAY - 1. */
static inline int
cal_bit_get(const uint64_t *bits, int32_t day)
{
    uint32_t i = (uint32_t)(day - CAL_FIRST_DAY);
    return (int)((bits[i / 64] >> (i % 64)) & 1);
}

static inline void
cal_bit_set(uint64_t *bits, int32_t day)
{
    uint32_t i = (uint32_t)(day - CAL_FIRST_DAY);
    bits[i / 64] |= (uint64_t)1 << (i % 64);
}

static inline void
cal_bit_clear(uint64_t *bits, int32_t day)
{
    uint32_t i = (uint32_t)(day - CAL_FIRST_DAY);
    bits[i / 64] &= ~((uint64_t)1 << (i % 64));
}

/* Whether division d (a ch_nation below uk-any) counts for the calendar. */
static inline int
cal_uses_division(const ch_calendar *cal, int d)
{
    return cal->nation == CH_NATION_UK_ANY || (int)cal->nation == d;
}

/* Recomputes cal->hol from the divisions the calendar uses. */
void ch__calendar_rebuild(ch_calendar *cal);

#endif
