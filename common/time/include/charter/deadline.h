/*
 * The deadline engine: when is a promise due?
 *
 * A clock ("5 working days", "24 hours", "end of next working day", "1
 * calendar month", "foi", ...) is parsed once into a ch_clock; then
 * ch_deadline_due() computes the due instant from the instant the clock
 * starts (receipt, or the acknowledgement for clocks anchored on it), the
 * organisation's calendar, opening hours and time zone, and any pauses.
 * Every rule's exact meaning is in docs/deadlines.md.
 *
 * Pure: no I/O and no clock reads. Instants are milliseconds since the Unix
 * epoch (UTC); local dates are day numbers (see calendar.h).
 */
#ifndef CHARTER_DEADLINE_H
#define CHARTER_DEADLINE_H

#include <stddef.h>
#include <stdint.h>

#include "charter/calendar.h"
#include "charter/tz.h"

typedef enum {
    CH_CLOCK_ELAPSED = 1,      /* N seconds/minutes/hours of real time */
    CH_CLOCK_DAYS,             /* N calendar days; receipt day is day 0 */
    CH_CLOCK_WORKING_DAYS,     /* N working days; day 1 is the first working day after receipt */
    CH_CLOCK_NEXT_WORKING_DAY, /* the first working day after the day of receipt */
    CH_CLOCK_MONTHS,           /* N calendar months, UK rule for missing dates */
} ch_clock_kind;

/* Where a clock takes its working days from. */
typedef enum {
    CH_CLOCK_CAL_ORGANISATION = 0, /* the policy's calendar, with its closures */
    CH_CLOCK_CAL_UK_ANY,           /* statutory: a bank holiday anywhere in the UK */
    CH_CLOCK_CAL_SCOTLAND,         /* statutory (FOISA): Scotland's bank holidays */
} ch_clock_calendar;

/* What starts the clock. */
typedef enum {
    CH_CLOCK_FROM_RECEIPT = 0,
    CH_CLOCK_FROM_ACKNOWLEDGEMENT, /* Housing Ombudsman Code: respond within N of the ack */
} ch_clock_anchor;

#define CH_AT_END_OF_DAY (-1) /* 23:59:59 local */
#define CH_AT_CLOSING (-2)    /* the organisation's closing time that day */

typedef struct {
    ch_clock_kind kind;
    int64_t n;        /* count; seconds for ELAPSED */
    int at_minute;    /* minute of the local day it falls due, CH_AT_END_OF_DAY or CH_AT_CLOSING */
    int roll_forward; /* DAYS/MONTHS: a non-working due day moves to the next working day */
    ch_clock_calendar calendar;
    ch_clock_anchor anchor;
    char preset[24]; /* "foi", "sar", ... when made from a preset; else "" */
} ch_clock;

/*
 * Parses a clock: "20 seconds", "15 minutes", "24 hours", "14 days",
 * "14 calendar days", "5 working days", "2 working days at 17:00",
 * "10 working days at closing", "next working day 17:00",
 * "end of next working day", "1 calendar month", "3 calendar months", or a
 * statutory preset name ("foi", "eir", "foisa", "sar", "sar-extended").
 * Returns 0, or CH_EINVAL with errstr saying what was expected.
 */
int ch_clock_parse(const char *text, ch_clock *out, char *errstr, size_t errstr_size);

/* Writes the clock in plain English ("5 working days", "1 calendar month,
 * moved to the next working day if it ends on a non-working day"). */
void ch_clock_describe(const ch_clock *c, char *buf, size_t bufsz);

/* Opening hours: minutes after local midnight, per weekday (0 = Monday);
 * open < 0 means closed all day. */
typedef struct {
    int open[7];
    int close[7];
} ch_opening_hours;

/* A pause of the clock between two instants (from <= to). */
typedef struct {
    int64_t from_ms, to_ms;
} ch_pause;

typedef struct {
    const ch_tz *tz;
    const ch_calendar *calendar;   /* the organisation's: nation + closures */
    const ch_calendar *uk_any;     /* for statutory clocks; may be NULL if unused */
    const ch_calendar *scotland;   /* for FOISA; may be NULL if unused */
    const ch_opening_hours *hours; /* NULL: 09:00-17:00 Monday to Friday */
    /* Receipt after closing time, or on a non-working day, counts as receipt
     * on the next working day (day-based clocks only). Off by default. */
    int defer_out_of_hours;
} ch_deadline_ctx;

/*
 * Computes when `clock`, started at `start_ms`, falls due, skipping `pauses`
 * (day-based clocks skip every local day a pause touches, inclusive;
 * elapsed clocks add the paused time). Returns 0 and *due_ms, or CH_EINVAL
 * when the context lacks a calendar the clock needs or a date leaves
 * 1995-2100.
 */
int ch_deadline_due(const ch_deadline_ctx *ctx, const ch_clock *clock, int64_t start_ms,
                    const ch_pause *pauses, size_t npauses, int64_t *due_ms);

/* Warnings before breach: a share of the allowed time, or a lead. */
typedef struct {
    int percent;   /* 1..99: at this share of the time from start to due; 0 if lead */
    ch_clock lead; /* when percent == 0: ELAPSED or WORKING_DAYS/DAYS before due */
} ch_warning_rule;

/* Parses "75%" or "1 working day before" / "2 hours before". */
int ch_warning_parse(const char *text, ch_warning_rule *out, char *errstr, size_t errstr_size);

/*
 * The instant a warning falls due for a clock that started at start_ms and
 * is due at due_ms. A lead in working days moves the due instant back that
 * many working days at the same local time; never earlier than start_ms.
 */
int ch_warning_at(const ch_deadline_ctx *ctx, const ch_warning_rule *w, int64_t start_ms,
                  int64_t due_ms, int64_t *warn_ms);

/*
 * Moves a warning instant `at` into opening hours: a working day of the
 * context's calendar (nation, bank holidays, closures) between that weekday's
 * opening and closing times, closing time included. An instant outside them
 * moves back to the last closing time before it, unless that is before
 * start_ms; then forward to the first opening time after it, unless that is
 * after due_ms; with no opening time between start and due, `at` is kept.
 * The result is always within [start_ms, due_ms] when `at` is.
 */
int ch_warning_in_hours(const ch_deadline_ctx *ctx, int64_t at, int64_t start_ms, int64_t due_ms,
                        int64_t *out_ms);

/* Formats an instant in the zone with its offset: "2026-01-02T23:59:59+00:00".
 * Seconds precision (milliseconds appended when not zero). */
void ch_deadline_format(const ch_tz *tz, int64_t ms, char *buf, size_t bufsz);

#endif
