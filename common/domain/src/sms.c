/*
 * SMS measurement (sms.h). Two passes over the text: the first decides the
 * encoding (one character outside GSM 7-bit makes the whole message UCS-2),
 * the second counts units and, when the text needs more than one part, fills
 * parts as the network does, so a character's units (an escape and its
 * character, a surrogate pair) never straddle two parts. That is why the
 * part count is not simply units / 153 rounded up.
 */
#include "charter/sms.h"

#include <string.h>

#include "charter/errors.h"
#include "utf8_int.h"

/* GSM 03.38 default alphabet outside printable ASCII, and ASCII it lacks. */
static const uint32_t gsm_basic_extra[] = {
    0x0A, 0x0D, 0xA1, 0xA3,  0xA4,  0xA5,  0xA7,  0xBF,  0xC4,  0xC5,  0xC6,  0xC7,  0xC9,  0xD1,
    0xD6, 0xD8, 0xDC, 0xDF,  0xE0,  0xE4,  0xE5,  0xE6,  0xE8,  0xE9,  0xEC,  0xF1,  0xF2,  0xF6,
    0xF8, 0xF9, 0xFC, 0x393, 0x394, 0x398, 0x39B, 0x39E, 0x3A0, 0x3A3, 0x3A6, 0x3A8, 0x3A9,
};
/* The extension table: each costs an escape septet as well. */
static const uint32_t gsm_extension[] = {0x0C, '^', '{', '}', '\\', '[', '~', ']', '|', 0x20AC};

/* Septets for code point cp in GSM 7-bit, or 0 if it has none. */
static int
gsm_septets(uint32_t cp)
{
    for (size_t i = 0; i < sizeof(gsm_extension) / sizeof(gsm_extension[0]); i++)
        if (gsm_extension[i] == cp)
            return 2;
    if (cp >= 0x20 && cp <= 0x7E && cp != '`')
        return 1;
    for (size_t i = 0; i < sizeof(gsm_basic_extra) / sizeof(gsm_basic_extra[0]); i++)
        if (gsm_basic_extra[i] == cp)
            return 1;
    return 0;
}

int
ch_sms_measure_text(const char *text, ch_sms_measure *out)
{
    memset(out, 0, sizeof(*out));
    const unsigned char *s = (const unsigned char *)text;
    size_t len = strlen(text);
    int gsm = 1;
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t l = ch__utf8_decode(s + i, len - i, &cp);
        if (l == 0) {
            memset(out, 0, sizeof(*out));
            return CH_EINVAL;
        }
        if (gsm && gsm_septets(cp) == 0) {
            gsm = 0;
            out->first_non_gsm = cp;
            out->first_non_gsm_offset = i;
        }
        i += l;
    }
    out->encoding = gsm ? CH_SMS_GSM7 : CH_SMS_UCS2;
    size_t single = gsm ? 160 : 70, multi = gsm ? 153 : 67;
    size_t units = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t l = ch__utf8_decode(s + i, len - i, &cp);
        units += gsm ? (size_t)gsm_septets(cp) : (cp > 0xFFFF ? 2 : 1);
        i += l;
    }
    out->units = units;
    if (units == 0)
        return 0;
    if (units <= single) {
        out->parts = 1;
        out->per_part = single;
        return 0;
    }
    /* Concatenated: fill each part, never splitting a character's units. */
    size_t parts = 1, used = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t l = ch__utf8_decode(s + i, len - i, &cp);
        size_t w = gsm ? (size_t)gsm_septets(cp) : (cp > 0xFFFF ? 2 : 1);
        if (used + w > multi) {
            parts++;
            used = 0;
        }
        used += w;
        i += l;
    }
    out->parts = parts;
    out->per_part = multi;
    return 0;
}
