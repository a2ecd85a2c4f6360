/*
 * Time zones from the system's tz database (TZif files), so a deadline in
 * "Europe/London" is right across both clock changes and the repeated hour
 * in October, for any year: the file's transitions cover the years it lists
 * and its POSIX TZ footer ("GMT0BST,M3.5.0/1,M10.5.0") covers the rest.
 *
 * Loading reads the file; every conversion after that is pure.
 */
#ifndef CHARTER_TZ_H
#define CHARTER_TZ_H

#include <stddef.h>
#include <stdint.h>

typedef struct ch_tz ch_tz;

/*
 * Loads zone `name` (e.g. "Europe/London") from `dir` (NULL for
 * /usr/share/zoneinfo). Returns the zone, or NULL with errstr naming the zone
 * and what is wrong. Free with ch_tz_free.
 *
 * `name` may hold only letters, digits and / _ - + . and may neither start
 * with "/" nor contain "..", so it cannot leave `dir`. Files with leap-second
 * records (the "right/" zones) are refused: their times are not POSIX times.
 */
ch_tz *ch_tz_load(const char *name, const char *dir, char *errstr, size_t errstr_size);

/*
 * Parses a zone from TZif bytes (versions 1 to 4; for tests and fuzzing).
 * `data` is borrowed for the call only. Same contract as ch_tz_load.
 */
ch_tz *ch_tz_parse(const char *name, const uint8_t *data, size_t len, char *errstr,
                   size_t errstr_size);

void ch_tz_free(ch_tz *tz);
const char *ch_tz_name(const ch_tz *tz);

/*
 * Offset from UTC in seconds (e.g. 3600 in BST) at UTC instant `utc_s`, for
 * any int64 instant. Before the file's first transition, local time type 0
 * applies (RFC 8536 section 3.2); after its last, the footer's TZ rule (or,
 * without a footer, the last transition's type).
 */
int32_t ch_tz_offset_at(const ch_tz *tz, int64_t utc_s);

/*
 * Converts a local wall-clock time, given as seconds since 1970-01-01T00:00
 * local (i.e. the civil date and time counted as if it were UTC), to a UTC
 * instant. In the repeated hour (autumn), `later` chooses the second
 * occurrence (1) or the first (0). In the skipped hour (spring), the time is
 * moved forward by the gap (01:30 on the spring-forward day in London becomes
 * 02:30 BST, whichever `later` is). Returns the UTC seconds.
 */
int64_t ch_tz_local_to_utc(const ch_tz *tz, int64_t local_s, int later);

/*
 * The local wall-clock time of UTC instant `utc_s` as local seconds (the
 * civil date and time counted as if it were UTC; civil.h's
 * ch_civil_day_of() and ch_civil_second_of_day() take it apart). A NULL
 * zone is UTC.
 */
int64_t ch_tz_local_seconds(const ch_tz *tz, int64_t utc_s);

/*
 * The local civil day (civil.h's day number) of the instant `ms`
 * (milliseconds since the epoch) in `tz`: the day a deadline, a pause or a
 * report period is counted on. A NULL zone is UTC.
 */
int32_t ch_tz_local_day(const ch_tz *tz, int64_t ms);

#endif
