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
 * Pure: values in, values out.
 */
#ifndef CHARTER_REPORT_KEYS_H
#define CHARTER_REPORT_KEYS_H

#include <stddef.h>

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

#endif
