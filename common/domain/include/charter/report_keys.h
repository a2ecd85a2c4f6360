/*
 * The text keys of reporting's counters and open cases, written and read in
 * one place.
 *
 * WHY ONE CODEC
 *
 * Two kinds of text share one shape, "<period>|<channel>|<type>|<tail>":
 *   - a figure field of the figures hash (report_agg.h):
 *       "2026-11|letter|enquiry|answered_in_time"  (tail: the figure);
 *   - a member of the open-and-overdue set:
 *       "2026-11-03|letter|enquiry|DH-2026-000017"  (tail: the case id;
 *       the period is always the day the case was received).
 * The aggregation writes them, and the service, the view and the snapshots
 * read them back to filter by period, channel and case type. When each
 * reader parsed them its own way (sscanf with one set of widths here, strchr
 * with another there) the readers could disagree about a key; here there is
 * one writer and one reader, and every reader refuses the same keys.
 *
 * The parts are split at the first three '|'; the tail is the rest (it may
 * hold '|'). A part is written as given: channels are names, but a case type
 * comes from outside and is not checked for '|' (the reader then splits at
 * that one, exactly as every reader always has). A part longer than its
 * field in ch_report_key (CH_REPORT_KEY_PERIOD_MAX, ..._CHANNEL_MAX,
 * ..._TYPE_MAX, NULs included) cannot be read back and is refused whole; the
 * case state keeps channels under 24 and case types under 32 characters, so
 * every key reporting writes is read.
 *
 * Periods: "2026-11-23" (day), "2026-11" (month), "2026" (year); a period's
 * granularity is its length.
 *
 * WHY THE FIGURES ARE KEPT PER PERIOD
 *
 * A figure field belongs to exactly one period, its first part, so the
 * figures are stored one hash per (organisation, period) and a reader reads
 * only the periods it shows: a month's dashboard its twelve months, a
 * snapshot its one period. Reading one hash of the whole history instead
 * grew with the history and blocked the Redis every service shares. An
 * index of the periods that have figures (ch_report_period_member: "d:",
 * "m:" or "y:" and the period, so one granularity's periods are one
 * lexical range) lets a reader with no bounds find them; and each period is
 * kept for a number of months after it ends (ch_report_period_expiry).
 *
 * Pure: values in, values out.
 */
#ifndef CHARTER_REPORT_KEYS_H
#define CHARTER_REPORT_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define CH_REPORT_KEY_PERIOD_MAX 16
#define CH_REPORT_KEY_CHANNEL_MAX 32
#define CH_REPORT_KEY_TYPE_MAX 40

typedef enum {
    CH_REPORT_DAY = 0,
    CH_REPORT_MONTH,
    CH_REPORT_YEAR,
} ch_report_granularity;

/* A key read back: the three parts copied, the tail borrowed from the text
 * parsed (valid while that text is). */
typedef struct {
    char period[CH_REPORT_KEY_PERIOD_MAX];
    char channel[CH_REPORT_KEY_CHANNEL_MAX];
    char type[CH_REPORT_KEY_TYPE_MAX];
    const char *tail; /* the figure, or the case id */
} ch_report_key;

/* The same, without copying: each part is text[..len] inside the key (for
 * loops over every counter; no length limits apply). */
typedef struct {
    const char *period, *channel, *type, *tail;
    size_t period_len, channel_len, type_len;
} ch_report_key_span;

/*
 * "<period>|<channel>|<type>|<figure>" (a figure field) or
 * "<day>|<channel>|<type>|<case id>" (an open member) into buf. 0, or
 * CH_EINVAL when it does not fit (buf then holds it cut short, as snprintf
 * leaves it).
 */
int ch_report_key_format(char *buf, size_t bufsz, const char *period, const char *channel,
                         const char *type, const char *tail);
/* "<period>|<channel>|<type>|": the start every figure of one case shares. */
int ch_report_key_prefix(char *buf, size_t bufsz, const char *period, const char *channel,
                         const char *type);

/* 0 and *out, or CH_EINVAL when text has fewer than three '|' or a part is
 * too long for its field (see above). */
int ch_report_key_parse(const char *text, ch_report_key *out);
/* 0 and *out, or CH_EINVAL when text has fewer than three '|'. */
int ch_report_key_split(const char *text, ch_report_key_span *out);

/* The length of a period of granularity g: 10, 7 or 4 (0 for another g). */
size_t ch_report_period_len(ch_report_granularity g);
/* The granularity of a period, by its length (4 year, 7 month, else day). */
ch_report_granularity ch_report_granularity_of(const char *period);
/* 1 when s has the shape of a period of g ("dddd-dd-dd", "dddd-dd",
 * "dddd"), digits only checked as digits; 0 otherwise. */
int ch_report_period_shaped(const char *s, ch_report_granularity g);

/* The member of the periods index for a period: "d:2026-11-23",
 * "m:2026-11" or "y:2026" (the granularity's letter, then the period).
 * 0, or CH_EINVAL when the period has none of the three shapes or does not
 * fit bufsz. */
int ch_report_period_member(char *buf, size_t bufsz, const char *period);
/* The letter of granularity g in the index: 'd', 'm' or 'y' (0 for
 * another g). */
char ch_report_granularity_letter(ch_report_granularity g);

/*
 * When a period's figures stop being kept, as seconds since the epoch
 * (UTC): midnight at the start of the day after the period's last day,
 * plus retention_months calendar months (a day past the end of a shorter
 * month is that month's last), plus one day, so that a period of local
 * dates in any time zone is kept at least retention_months after it ended.
 * "2026-11" with 36 months: 2029-12-02T00:00:00Z. 0 and *at_s, or
 * CH_EINVAL when period is not a valid day, month or year (months 1-12,
 * days within their month, years 1-9999) or retention_months < 1.
 */
int ch_report_period_expiry(const char *period, int retention_months, int64_t *at_s);

#endif
