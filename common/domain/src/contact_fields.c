/*
 * The front door's field rules (see charter/contact_fields.h). The table is
 * the one place a limit is chosen; docs/api.md ("Field rules") copies it.
 * Each check walks the string once, decoding UTF-8 strictly (utf8_int.h), so
 * "characters" are code points and an invalid sequence is refused wherever
 * it sits.
 */
#include "charter/contact_fields.h"

#include <string.h>

#include "charter/calendar.h"
#include "charter/civil.h"
#include "charter/mailbox.h"
#include "utf8_int.h"

static const ch_field_rule rules[] = {
    {"organisation", CH_FIELD_IDENT, 63, 0}, /* case_clock.h: organisation[64] */
    {"case_type", CH_FIELD_IDENT, 31, 0},    /* case_clock.h: case_type[32]; report keys */
    {"summary", CH_FIELD_TEXT, CH_FIELD_TEXT_MAX, 0},
    {"customer.name", CH_FIELD_LINE, CH_FIELD_NAME_MAX, 0},
    {"customer.email", CH_FIELD_MAILBOX, CH_MAILBOX_MAX, 0},
    {"customer.phone", CH_FIELD_PHONE, 40, 1},
    {"customer.postal_address", CH_FIELD_TEXT, 500, 0},
    {"customer.preferred_channel", CH_FIELD_IDENT, 32, 0},
    {"customer.preferred_language", CH_FIELD_LANGUAGE, CH_FIELD_LANGUAGE_MAX, 1},
    {"customer.preferred_format", CH_FIELD_LINE, 64, 0},
    {"by", CH_FIELD_LINE, CH_FIELD_NAME_MAX, 0},
    {"name", CH_FIELD_LINE, CH_FIELD_NAME_MAX, 0}, /* assigned */
    {"team", CH_FIELD_LINE, CH_FIELD_NAME_MAX, 0},
    {"named_contact", CH_FIELD_LINE, CH_FIELD_NAME_MAX, 0},
    /* assigned: a number staff give out, shown to the customer as written */
    {"phone", CH_FIELD_PHONE, 40, 0},
    {"email", CH_FIELD_MAILBOX, CH_MAILBOX_MAX, 0},
    {"outcome", CH_FIELD_LINE, 200, 0},
    {"appointment_id", CH_FIELD_IDENT, 128, 0},
    {"location", CH_FIELD_TEXT, 500, 0},
    {"language", CH_FIELD_LANGUAGE, CH_FIELD_LANGUAGE_MAX, 1}, /* communication_support */
    {"reason", CH_FIELD_TEXT, CH_FIELD_TEXT_MAX, 0},
    {"next_steps", CH_FIELD_TEXT, CH_FIELD_TEXT_MAX, 0},
    {"comment", CH_FIELD_TEXT, CH_FIELD_TEXT_MAX, 0},
    {"notes", CH_FIELD_TEXT, CH_FIELD_TEXT_MAX, 0},
    /* gateways (issue 15): a received message's and a customer_message's */
    {"subject", CH_FIELD_LINE, 998, 0},          /* RFC 5322's line limit */
    {"gateway_account", CH_FIELD_IDENT, 320, 0}, /* mailbox, number or page id */
    {"customer.social_id", CH_FIELD_IDENT, 128, 0},
    {"from", CH_FIELD_IDENT, 320, 0},        /* address, number or social id */
    {"in_reply_to", CH_FIELD_IDENT, 200, 0}, /* a notification id */
    {"attachments.name", CH_FIELD_LINE, 255, 0},
    {"attachments.content_type", CH_FIELD_IDENT, 127, 0},
    {NULL, CH_FIELD_TEXT, 0, 0},
};

const ch_field_rule *
ch_contact_field_rules(void)
{
    return rules;
}

const ch_field_rule *
ch_contact_field_rule(const char *field)
{
    static const ch_field_rule other = {"", CH_FIELD_TEXT, CH_FIELD_TEXT_MAX, 0};
    for (const ch_field_rule *r = rules; r->field; r++)
        if (strcmp(r->field, field) == 0)
            return r;
    return &other;
}

static int
refuse(const char **why, const char *phrase)
{
    if (why)
        *why = phrase;
    return 0;
}

static int
is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int
is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* C0, DEL, C1 and the Unicode line and paragraph separators */
static int
is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029;
}

static const char *
too_long(size_t max)
{
    switch (max) {
    case 31:
        return "it is longer than 31 characters";
    case 32:
        return "it is longer than 32 characters";
    case 63:
        return "it is longer than 63 characters";
    case 64:
        return "it is longer than 64 characters";
    case 128:
        return "it is longer than 128 characters";
    case 200:
        return "it is longer than 200 characters";
    case 500:
        return "it is longer than 500 characters";
    case 2000:
        return "it is longer than 2000 characters";
    default:
        return "it is too long";
    }
}

/* Text, one line or free: valid UTF-8, no controls (free text keeps TAB, LF
 * and CR), at most max characters. */
static int
check_text(const char *s, size_t max, int one_line, const char **why)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), chars = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = ch__utf8_decode(p + i, n - i, &cp);
        if (!len)
            return refuse(why, "it is not valid UTF-8");
        if (is_control(cp) && (one_line || (cp != '\t' && cp != '\n' && cp != '\r')))
            return refuse(why, one_line && (cp == '\r' || cp == '\n')
                                   ? "it contains a line break"
                                   : "it contains a control character");
        i += len;
        chars++;
    }
    if (chars > max)
        return refuse(why, too_long(max));
    return 1;
}

static int
check_ident(const char *s, size_t max, const char **why)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++) {
        if (*p < 0x20 || *p == 0x7f)
            return refuse(why, "it contains a control character");
        if (*p == ' ')
            return refuse(why, "it contains a space");
        if (*p >= 0x80)
            return refuse(why, "it contains a character outside ASCII");
        if (*p == '|')
            return refuse(why, "it contains '|'");
    }
    if (n == 0)
        return refuse(why, "it is empty");
    if (n > max)
        return refuse(why, too_long(max));
    return 1;
}

int
ch_contact_field_check(const ch_field_rule *rule, const char *s, char *norm, size_t normsz,
                       const char **why)
{
    char local[64];
    if (!norm || !rule->normalise) {
        norm = local;
        normsz = sizeof(local);
    }
    switch (rule->cls) {
    case CH_FIELD_TEXT:
        return check_text(s, rule->max, 0, why);
    case CH_FIELD_LINE:
        return check_text(s, rule->max, 1, why);
    case CH_FIELD_IDENT:
        return check_ident(s, rule->max, why);
    case CH_FIELD_PHONE:
        if (strlen(s) > rule->max)
            return refuse(why, "it is too long for a telephone number");
        return ch_contact_phone_normalise(s, norm, normsz, why);
    case CH_FIELD_LANGUAGE:
        return ch_contact_language_normalise(s, norm, normsz, why);
    case CH_FIELD_MAILBOX:
        return ch_mailbox_valid(s, why);
    }
    return refuse(why, "it has no rule");
}

/* ---- telephone numbers ---- */

/* digits: an international number without "+" (country code first). */
static int
check_international(const char *digits, const char **why)
{
    size_t n = strlen(digits);
    if (n < 7)
        return refuse(why, "it has too few digits for a telephone number");
    if (n > 15)
        return refuse(why, "it has more than 15 digits (E.164)");
    if (digits[0] == '0')
        return refuse(why, "a country code cannot start with 0");
    if (digits[0] == '4' && digits[1] == '4') {
        if (digits[2] == '0')
            return refuse(why, "after +44 the number must not start with 0");
        if (n != 11 && n != 12)
            return refuse(why, "a UK number has 9 or 10 digits after +44");
        if ((digits[2] == '2' || digits[2] == '3' || digits[2] == '7') && n != 12)
            return refuse(why, "a UK mobile, 02 or 03 number has 11 digits (10 after +44)");
    }
    return 1;
}

int
ch_contact_phone_normalise(const char *s, char *out, size_t outsz, const char **why)
{
    char digits[24];
    size_t nd = 0;
    int plus = 0, seen_digit = 0;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (is_digit(c)) {
            if (nd + 1 >= sizeof(digits))
                return refuse(why, "it has more than 15 digits (E.164)");
            digits[nd++] = (char)c;
            seen_digit = 1;
        } else if (c == '+') {
            if (plus || seen_digit)
                return refuse(why, "'+' may only start the number");
            plus = 1;
        } else if (c == '(' && plus && seen_digit && p[1] == '0' && p[2] == ')') {
            p += 2; /* "+44 (0)20 ...": the national 0 written in brackets */
        } else if (c != ' ' && c != '-' && c != '(' && c != ')') {
            return refuse(why, "it contains a character other than digits, spaces, '-', '(', ')' "
                               "and a leading '+'");
        }
    }
    digits[nd] = '\0';
    if (nd == 0)
        return refuse(why, "it has no digits");
    const char *intl;
    char uk[24];
    if (plus) {
        intl = digits;
    } else if (digits[0] == '0' && digits[1] == '0') {
        intl = digits + 2;
    } else if (digits[0] == '0') {
        if (nd != 10 && nd != 11)
            return refuse(why, "a UK number starting with 0 has 10 or 11 digits");
        memcpy(uk, "44", 2);
        memcpy(uk + 2, digits + 1, nd);
        intl = uk;
    } else {
        return refuse(why, "it must start with '+' and a country code, or be a UK number "
                           "starting with 0");
    }
    if (!check_international(intl, why))
        return 0;
    size_t n = strlen(intl);
    if (outsz < n + 2)
        return refuse(why, "it is too long");
    out[0] = '+';
    memcpy(out + 1, intl, n + 1);
    return 1;
}

int
ch_contact_phone_e164_valid(const char *s, const char **why)
{
    if (s[0] != '+')
        return refuse(why, "it does not start with '+' and a country code (E.164)");
    for (const char *p = s + 1; *p; p++)
        if (!is_digit((unsigned char)*p))
            return refuse(why, "it has a character other than digits after the '+' (E.164)");
    return check_international(s + 1, why);
}

/* ---- language tags ---- */

static int
all(const char *s, size_t n, int (*pred)(int))
{
    for (size_t i = 0; i < n; i++)
        if (!pred((unsigned char)s[i]))
            return 0;
    return 1;
}

static int
is_alnum(int c)
{
    return is_alpha(c) || is_digit(c);
}

static char
lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static char
upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

int
ch_contact_language_normalise(const char *s, char *out, size_t outsz, const char **why)
{
    size_t n = strlen(s);
    if (n == 0)
        return refuse(why, "it is empty");
    if (n > CH_FIELD_LANGUAGE_MAX)
        return refuse(why, "it is longer than 35 characters");
    if (outsz < n + 1)
        return refuse(why, "it is too long");
    for (size_t i = 0; i < n; i++)
        if (!is_alnum((unsigned char)s[i]) && s[i] != '-')
            return refuse(why, "a language tag holds only letters, digits and '-' (e.g. en-GB)");
    /* where: 0 language, 1 extlang, 2 script, 3 region, 4 variant, 5 extension, 6 private */
    int where = 0, extlangs = 0, ext_open = 0;
    size_t i = 0;
    while (i <= n) {
        size_t len = 0;
        while (i + len < n && s[i + len] != '-')
            len++;
        const char *t = s + i;
        if (len == 0 || len > 8)
            return refuse(why, "a part of the tag is empty or longer than 8 characters");
        char *o = out + i;
        for (size_t k = 0; k < len; k++)
            o[k] = lower(t[k]);
        if (where == 0) {
            if (!all(t, len, is_alpha) || len < 2 || len > 3)
                return refuse(why, "it must start with a 2 or 3 letter language (e.g. en, cy)");
            where = 1;
        } else if (where == 6) {
            /* private use: anything 1-8 alphanumerics */
        } else if (ext_open == 1) {
            if (len < 2)
                return refuse(why, "an extension needs a part of 2 to 8 characters");
            ext_open = 2;
        } else if (len == 1) {
            where = (o[0] == 'x') ? 6 : 5;
            ext_open = where == 5;
            if (where == 6 && i + 1 >= n)
                return refuse(why, "a private use part needs a subtag after 'x'");
        } else if (where == 5) {
            /* more subtags of the open extension (2-8 alphanumerics) */
        } else if (where == 1 && len == 3 && all(t, len, is_alpha) && extlangs < 3) {
            extlangs++;
        } else if (where <= 1 && len == 4 && all(t, len, is_alpha)) {
            o[0] = upper(o[0]);
            where = 2;
        } else if (where <= 2 &&
                   ((len == 2 && all(t, len, is_alpha)) || (len == 3 && all(t, len, is_digit)))) {
            for (size_t k = 0; k < len; k++)
                o[k] = upper(o[k]);
            where = 3;
        } else if (where <= 4 &&
                   ((len >= 5 && len <= 8) || (len == 4 && is_digit((unsigned char)t[0])))) {
            where = 4;
        } else {
            return refuse(why, "it is not a BCP 47 language tag (e.g. en, en-GB, cy, zh-Hant-TW)");
        }
        i += len;
        if (i < n)
            out[i] = '-';
        i++;
    }
    if (ext_open == 1)
        return refuse(why, "an extension needs a part of 2 to 8 characters");
    out[n] = '\0';
    return 1;
}

/* ---- times ---- */

int
ch_contact_time_in_range(int64_t ms, const char **why)
{
    int64_t first = ch_day_from_civil(CH_CAL_FIRST_YEAR, 1, 1) * 86400000;
    int64_t end = ch_day_from_civil(CH_CAL_LAST_YEAR + 1, 1, 1) * 86400000;
    if (ms < first)
        return refuse(why, "it is before 1995, the first year the calendars cover");
    if (ms >= end)
        return refuse(why, "it is after 2100, the last year the calendars cover");
    return 1;
}

int
ch_contact_time_not_future(int64_t ms, int64_t now_ms, int64_t max_future_skew_ms, const char **why)
{
    if (ms > now_ms + max_future_skew_ms)
        return refuse(why, "it is in the future (beyond ingest.max_future_skew_s)");
    return 1;
}

/* ---- UTF-8 for error messages ---- */

size_t
ch_contact_utf8_prefix(const char *s, size_t n, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = ch__utf8_decode(p + i, n - i, &cp);
        if (!len)
            len = 1; /* an invalid byte counts alone; the repair makes it '?' */
        if (i + len > max)
            break;
        i += len;
    }
    return i;
}

void
ch_contact_utf8_repair(char *s)
{
    unsigned char *p = (unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = ch__utf8_decode(p + i, n - i, &cp);
        if (len) {
            i += len;
            continue;
        }
        /* a lead byte whose sequence runs into the end: cut there */
        size_t want = (p[i] & 0xE0) == 0xC0   ? 2
                      : (p[i] & 0xF0) == 0xE0 ? 3
                      : (p[i] & 0xF8) == 0xF0 ? 4
                                              : 0;
        int cut = want && i + want > n;
        for (size_t k = i + 1; cut && k < n; k++)
            cut = (p[k] & 0xC0) == 0x80;
        if (cut) {
            p[i] = '\0';
            return;
        }
        p[i++] = '?';
    }
}
