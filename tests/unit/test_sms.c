/*
 * SMS measurement: counts checked against numbers worked out by hand from
 * GSM 03.38 (160/153 septets, extension characters two, 70/67 UCS-2 units),
 * including the cases where a naive ceil(units / 153) is wrong because a part
 * may not split an escape from its character.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "charter/errors.h"
#include "charter/sms.h"

static char *
repeat(const char *unit, size_t n, const char *tail)
{
    size_t ul = strlen(unit), tl = tail ? strlen(tail) : 0;
    char *s = malloc(ul * n + tl + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * ul, unit, ul);
    if (tail)
        memcpy(s + ul * n, tail, tl);
    s[ul * n + tl] = '\0';
    return s;
}

/* a followed by b, both freed. */
static char *
joined(char *a, char *b)
{
    size_t al = strlen(a), bl = strlen(b);
    char *s = malloc(al + bl + 1);
    assert_non_null(s);
    memcpy(s, a, al);
    memcpy(s + al, b, bl + 1);
    free(a);
    free(b);
    return s;
}

static void
measure(const char *text, ch_sms_encoding enc, size_t units, size_t parts)
{
    ch_sms_measure m;
    assert_int_equal(ch_sms_measure_text(text, &m), 0);
    assert_int_equal(m.encoding, enc);
    assert_int_equal(m.units, units);
    assert_int_equal(m.parts, parts);
}

static void
measure_free(char *text, ch_sms_encoding enc, size_t units, size_t parts)
{
    measure(text, enc, units, parts);
    free(text);
}

static void
test_sms_gsm7_parts(void **state)
{
    (void)state;
    measure("", CH_SMS_GSM7, 0, 0);
    measure_free(repeat("a", 160, NULL), CH_SMS_GSM7, 160, 1);
    measure_free(repeat("a", 161, NULL), CH_SMS_GSM7, 161, 2);
    measure_free(repeat("a", 306, NULL), CH_SMS_GSM7, 306, 2);
    measure_free(repeat("a", 307, NULL), CH_SMS_GSM7, 307, 3);
    /* GSM's own accented letters, £, @, newline and Greek capitals are one septet. */
    measure("\xC2\xA3@\xC3\xA9\xC3\xBC\n\xCE\x94_$", CH_SMS_GSM7, 8, 1);
    /* Extension characters (€ [ ] { } ~ ^ | \) are two septets each. */
    measure_free(repeat("\xE2\x82\xAC", 80, NULL), CH_SMS_GSM7, 160, 1);
    measure_free(repeat("[", 81, NULL), CH_SMS_GSM7, 162, 2);
    /* 152 + "[" + 152 = 306 septets: a naive count says 2 parts, but the
     * escape cannot be split from "[", so part 1 holds 152 and there are 3. */
    measure_free(joined(repeat("a", 152, "["), repeat("a", 152, NULL)), CH_SMS_GSM7, 306, 3);
}

static void
test_sms_non_gsm_characters_switch_to_ucs2(void **state)
{
    (void)state;
    ch_sms_measure m;
    /* A curly apostrophe, as word processors type it. */
    assert_int_equal(ch_sms_measure_text("We\xE2\x80\x99ll reply", &m), 0);
    assert_int_equal(m.encoding, CH_SMS_UCS2);
    assert_int_equal(m.first_non_gsm, 0x2019);
    assert_int_equal(m.first_non_gsm_offset, 2);
    assert_int_equal(m.units, 11);
    assert_int_equal(m.parts, 1);
    assert_int_equal(m.per_part, 70);
    /* A backtick is not in GSM 7-bit at all. */
    assert_int_equal(ch_sms_measure_text("a`b", &m), 0);
    assert_int_equal(m.encoding, CH_SMS_UCS2);
    assert_int_equal(m.first_non_gsm, '`');
    measure_free(repeat("\xE2\x80\x93", 70, NULL), CH_SMS_UCS2, 70, 1);
    measure_free(repeat("\xE2\x80\x93", 71, NULL), CH_SMS_UCS2, 71, 2);
    measure_free(repeat("\xE2\x80\x93", 134, NULL), CH_SMS_UCS2, 134, 2);
    measure_free(repeat("\xE2\x80\x93", 135, NULL), CH_SMS_UCS2, 135, 3);
    /* An emoji is a surrogate pair: two units, never split across parts. */
    measure_free(repeat("\xF0\x9F\x98\x80", 35, NULL), CH_SMS_UCS2, 70, 1);
    measure_free(repeat("a", 66,
                        "\xF0\x9F\x98\x80"
                        "a"),
                 CH_SMS_UCS2, 69, 1);
    measure_free(
        joined(repeat("\xE2\x80\x93", 66, "\xF0\x9F\x98\x80"), repeat("\xE2\x80\x93", 66, NULL)),
        CH_SMS_UCS2, 134, 3); /* 66 | 2 + 65 | 1 */
    /* Not UTF-8: refused. */
    assert_int_equal(ch_sms_measure_text("bad \xFF", &m), CH_EINVAL);
    assert_int_equal(m.units, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sms_gsm7_parts),
        cmocka_unit_test(test_sms_non_gsm_characters_switch_to_ucs2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
