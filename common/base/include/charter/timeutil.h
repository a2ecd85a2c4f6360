/*
 * Instants as milliseconds since the Unix epoch (UTC), and their RFC 3339
 * text form. Pure apart from ch_time_now_ms(). Civil dates (a day number for
 * a year, month and day, and back) are charter_time's civil.h.
 */
#ifndef CHARTER_TIMEUTIL_H
#define CHARTER_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Wall-clock now, in ms since the epoch. */
int64_t ch_time_now_ms(void);

/*
 * Parses an RFC 3339 date-time with an explicit offset ("2026-11-23T09:15:00Z",
 * "2026-11-23T09:15:00.250+01:00"). Returns 0 and fills *ms, or CH_EINVAL.
 */
int ch_time_parse_rfc3339(const char *s, int64_t *ms);

/* Splits ms into whole seconds and 0..999,999,999 nanoseconds, rounding down
 * (so an instant before the epoch keeps non-negative nanos, as
 * charter.v1.Timestamp requires). */
void ch_time_split_ms(int64_t ms, int64_t *seconds, int32_t *nanos);

/* Formats ms as "2026-11-23T09:15:00.250Z" (UTC, millisecond precision).
 * buf must hold at least CH_TIME_BUFSZ bytes. Returns buf. */
#define CH_TIME_BUFSZ 32
char *ch_time_format_utc(int64_t ms, char *buf, size_t bufsz);

#endif
