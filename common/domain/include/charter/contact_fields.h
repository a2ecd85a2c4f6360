/*
 * The rules for the text a gateway sends about a contact and its events,
 * checked at ingest's front door so that nothing downstream has to cope with
 * it: a name with a line break ends up in the council's own mail, a
 * case_type with '|' corrupts reporting's keys ("period|channel|type|..."), a
 * phone number the SMS provider cannot dial fails the acknowledgement after
 * ingest answered 202, a language that is not a tag fails the template
 * lookup, and a date outside the calendars' years (1995-2100) is dead-lettered
 * by every consumer.
 *
 * One table (ch_contact_field_rule) says, for every string field by the name
 * ingest's errors give it ("customer.name", "reason", ...), which class of
 * text it is and its limit; a field not in the table is free text of at most
 * CH_FIELD_TEXT_MAX characters. Lengths count characters (Unicode code
 * points), and every string must be valid UTF-8.
 *
 * The transports check again before sending (defence in depth): the SMS
 * paths call ch_contact_phone_e164_valid, as the SMTP transport calls
 * ch_mailbox_valid (mailbox.h).
 *
 * Pure: values in, values out; time is a parameter.
 */
#ifndef CHARTER_CONTACT_FIELDS_H
#define CHARTER_CONTACT_FIELDS_H

#include <stddef.h>
#include <stdint.h>

/* Default limits, in characters. */
#define CH_FIELD_NAME_MAX 200  /* a person's name, a team, a signature ("by") */
#define CH_FIELD_TEXT_MAX 2000 /* free text: summary, reason, notes, comment */
#define CH_FIELD_LANGUAGE_MAX 35
/* "+" and at most 15 digits (ITU-T E.164), and a NUL */
#define CH_PHONE_E164_BUFSZ 17

typedef enum {
    CH_FIELD_TEXT = 0, /* free text: any character but controls other than TAB, LF and CR */
    CH_FIELD_LINE,     /* one line (names): no control character at all */
    CH_FIELD_IDENT,    /* used in keys: printable ASCII, no space, no '|' */
    CH_FIELD_PHONE,    /* a telephone number (ch_contact_phone_normalise) */
    CH_FIELD_LANGUAGE, /* a BCP 47 language tag (ch_contact_language_normalise) */
    CH_FIELD_MAILBOX   /* an e-mail address (ch_mailbox_valid) */
} ch_field_class;

typedef struct {
    const char *field; /* as ingest names it: "customer.name", "reason", ... */
    ch_field_class cls;
    size_t max;    /* characters */
    int normalise; /* PHONE, LANGUAGE: the normalised form replaces the value */
} ch_field_rule;

/* The rule for a field; a field the table does not list gets
 * {field, CH_FIELD_TEXT, CH_FIELD_TEXT_MAX, 0}. Never NULL. */
const ch_field_rule *ch_contact_field_rule(const char *field);

/* The table itself, ending with a {NULL} row (for docs and tests). */
const ch_field_rule *ch_contact_field_rules(void);

/*
 * Checks s against rule. Returns 1 when it passes, with the normalised form
 * in norm[0..normsz) when rule->normalise (norm may be NULL otherwise);
 * 0 when it does not, with *why (if why is not NULL) a static phrase such as
 * "it contains a control character" or "it is longer than 200 characters".
 * The mailbox class is checked by ch_mailbox_valid.
 */
int ch_contact_field_check(const ch_field_rule *rule, const char *s, char *norm, size_t normsz,
                           const char **why);

/*
 * A telephone number in E.164: "+" and 7 to 15 digits, the first not 0
 * (for +44, 9 or 10 digits not starting with 0 after it). Accepted as
 * written: spaces, '-', '(' and ')' between digits are dropped; "+44 (0)"
 * loses its "(0)"; "00" before a country code becomes "+"; a UK national
 * number (0 then 9 or 10 digits, e.g. "07700 900123", "01332 123456")
 * becomes +44 without its 0. Anything else (letters, other country's
 * national forms, too few or too many digits) is refused.
 * Returns 1 with out (CH_PHONE_E164_BUFSZ bytes or more) set, or 0 with *why.
 */
int ch_contact_phone_normalise(const char *s, char *out, size_t outsz, const char **why);

/* 1 when s is already E.164 as above ("+447700900123"); 0 with *why. */
int ch_contact_phone_e164_valid(const char *s, const char **why);

/*
 * A well-formed BCP 47 (RFC 5646) language tag, at most 35 characters:
 * a 2-3 letter language (with up to three 3-letter extlangs), then an
 * optional 4-letter script, an optional 2-letter or 3-digit region,
 * variants, extensions and a private use part ("x-..."). Language subtags of
 * 4-8 letters (reserved, none registered) and grandfathered irregular tags
 * are refused. The case is normalised: language lower case, script title
 * case, region upper case ("EN-gb" -> "en-GB", "zh-hant-tw" ->
 * "zh-Hant-TW"). Returns 1 with out set (outsz >= 36), or 0 with *why.
 */
int ch_contact_language_normalise(const char *s, char *out, size_t outsz, const char **why);

/*
 * An event time (ms since the epoch) a consumer can use: within the years the
 * calendars cover (CH_CAL_FIRST_YEAR-CH_CAL_LAST_YEAR, UTC). Returns 1, or 0
 * with *why.
 */
int ch_contact_time_in_range(int64_t ms, const char **why);

/* 1 when ms is no later than now_ms + max_future_skew_ms; 0 with *why. */
int ch_contact_time_not_future(int64_t ms, int64_t now_ms, int64_t max_future_skew_ms,
                               const char **why);

/* The length of the longest prefix of s[0..n) that is at most max bytes and
 * ends on a UTF-8 character boundary: for quoting a client's text in an error. */
size_t ch_contact_utf8_prefix(const char *s, size_t n, size_t max);

/* Makes s valid UTF-8 in place: a sequence cut at the end is dropped, any
 * other invalid byte becomes '?'. */
void ch_contact_utf8_repair(char *s);

#endif
