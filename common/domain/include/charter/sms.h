/*
 * How long a text message is, as the network counts it: GSM 7-bit (160 a
 * part, 153 a part when concatenated, extension characters such as "€" and
 * "[" counting two) or, as soon as one character is outside GSM 7-bit,
 * UCS-2 (70 a part, 67 concatenated). Notification checks a rendered SMS
 * before sending it, because a curly apostrophe pasted into a template can
 * double what every message costs, and says which character did it.
 *
 * Pure: text in, counts out.
 */
#ifndef CHARTER_SMS_H
#define CHARTER_SMS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    CH_SMS_GSM7 = 0, /* every character in the GSM 03.38 default alphabet or extension */
    CH_SMS_UCS2,     /* at least one character outside it */
} ch_sms_encoding;

typedef struct {
    ch_sms_encoding encoding;
    size_t units;    /* GSM: septets (extension characters count 2); UCS-2: UTF-16 units */
    size_t parts;    /* messages the network sends; 0 for empty text */
    size_t per_part; /* 160/153 (GSM) or 70/67 (UCS-2): the limit that applied */
    /* The first character outside GSM 7-bit (UCS-2 only): its code point and
     * byte offset in the text. */
    uint32_t first_non_gsm;
    size_t first_non_gsm_offset;
} ch_sms_measure;

/*
 * Measures UTF-8 `text` as an SMS. Concatenated parts never split an
 * extension character's escape from it, nor a surrogate pair. Returns 0, or
 * CH_EINVAL when the text is not valid UTF-8 (*out zeroed). Pure.
 */
int ch_sms_measure_text(const char *text, ch_sms_measure *out);

#endif
