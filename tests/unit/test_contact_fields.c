/*
 * The front door's field rules (charter/contact_fields.h): tables of good
 * and bad telephone numbers, names, language tags, identifiers and times,
 * each bad one refused with a reason a client can act on; and the UTF-8
 * helpers that keep error messages valid JSON (review items M9, M6, L9).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "charter/civil.h"
#include "charter/contact_fields.h"

static void
test_phone_numbers(void **state)
{
    (void)state;
    static const struct {
        const char *in, *e164;
    } ok[] = {
        {"07700 900123", "+447700900123"},       {"07700900123", "+447700900123"},
        {"01332 123456", "+441332123456"},       {"(01332) 123-456", "+441332123456"},
        {"0115 496 0000", "+441154960000"},      {"+44 7700 900123", "+447700900123"},
        {"+44 (0)7700 900123", "+447700900123"}, {"0044 7700 900123", "+447700900123"},
        {"+447700900123", "+447700900123"},      {"0800 123 456", "+44800123456"},
        {"+353 1 234 5678", "+35312345678"},     {"+1 (212) 555-0100", "+12125550100"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char out[CH_PHONE_E164_BUFSZ];
        const char *why = NULL;
        if (!ch_contact_phone_normalise(ok[i].in, out, sizeof(out), &why))
            fail_msg("'%s' refused: %s", ok[i].in, why);
        assert_string_equal(out, ok[i].e164);
        assert_true(ch_contact_phone_e164_valid(out, &why));
    }
    static const struct {
        const char *in, *why;
    } bad[] = {
        {"07700 90012", "11 digits"},
        {"020 7946 001", "11 digits"},
        {"077009001234", "10 or 11 digits"},
        {"7700 900123", "must start with '+'"},
        {"+44 07700 900123", "must not start with 0"},
        {"+44 7700 9001", "9 or 10 digits"},
        {"+44 7700 90012", "11 digits"},
        {"+1234567890123456", "more than 15 digits"},
        {"+12345", "too few digits"},
        {"+0 123 4567", "cannot start with 0"},
        {"07700 900123\r\nRCPT TO:<x@evil.example>", "character other than digits"},
        {"07700.900.123", "character other than digits"},
        {"tel:07700900123", "character other than digits"},
        {"0770+0900123", "'+' may only start"},
        {"", "no digits"},
        {"() -", "no digits"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char out[CH_PHONE_E164_BUFSZ];
        const char *why = NULL;
        if (ch_contact_phone_normalise(bad[i].in, out, sizeof(out), &why))
            fail_msg("'%s' accepted as %s", bad[i].in, out);
        if (!why || !strstr(why, bad[i].why))
            fail_msg("'%s' refused because '%s', expected '%s'", bad[i].in, why, bad[i].why);
    }
    const char *why;
    assert_false(ch_contact_phone_e164_valid("07700900123", &why));
    assert_false(ch_contact_phone_e164_valid("+44 7700 900123", &why));
    assert_false(ch_contact_phone_e164_valid("+447700900123\r\n", &why));
}

static void
expect_field(const char *field, const char *s, const char *why_part)
{
    const ch_field_rule *r = ch_contact_field_rule(field);
    char norm[64];
    const char *why = NULL;
    int ok = ch_contact_field_check(r, s, norm, sizeof(norm), &why);
    if (!why_part && !ok)
        fail_msg("%s '%s' refused: %s", field, s, why);
    if (why_part && ok)
        fail_msg("%s '%s' accepted", field, s);
    if (why_part && (!why || !strstr(why, why_part)))
        fail_msg("%s '%s' refused because '%s', expected '%s'", field, s, why, why_part);
}

static void
test_names(void **state)
{
    (void)state;
    char long_name[256], max_name[3 * 200 + 1];
    memset(long_name, 'a', 201);
    long_name[201] = '\0';
    for (int i = 0; i < 200; i++)
        memcpy(max_name + 2 * i, "\xc3\xa9", 2); /* 200 e-acute: 400 bytes, 200 characters */
    max_name[400] = '\0';
    expect_field("customer.name", "Ada Lovelace", NULL);
    expect_field("customer.name", "Siân O'Neill-Jones", NULL);
    expect_field("customer.name", max_name, NULL);
    expect_field("customer.name", long_name, "longer than 200 characters");
    expect_field("customer.name", "Ada\r\nRCPT TO:<x@evil.example>", "line break");
    expect_field("customer.name", "Ada\n.\nMAIL FROM:<x@evil.example>", "line break");
    expect_field("customer.name", "Ada\rLovelace", "line break");
    expect_field("customer.name", "Ada\x7f", "control character");
    expect_field("customer.name", "Ada\tLovelace", "control character");
    expect_field("customer.name", "Ada\xc2\x85", "control character");     /* NEL (C1) */
    expect_field("customer.name", "Ada\xe2\x80\xa8", "control character"); /* U+2028 */
    expect_field("customer.name", "Ada\xc3", "not valid UTF-8");
    expect_field("customer.name", "Ada\xc0\xae", "not valid UTF-8"); /* overlong '.' */
    expect_field("by", "Jo\r\nBloggs", "line break");
    expect_field("name", "Jo Bloggs", NULL);
    expect_field("named_contact", long_name, "longer than 200");
    /* free text keeps its lines but has a length */
    char long_text[2100];
    memset(long_text, 'x', 2001);
    long_text[2001] = '\0';
    expect_field("reason", "awaiting the contractor's report\r\nand a quote", NULL);
    expect_field("reason", long_text, "longer than 2000 characters");
    expect_field("notes", "a\x1b[31m", "control character");
    expect_field("summary", long_text, "longer than 2000");
    long_text[501] = '\0';
    expect_field("location", long_text, "longer than 500");
    expect_field("customer.postal_address", "1 High St\nDerby\nDE1 1AA", NULL);
    expect_field("no_such_field", "text", NULL); /* anything else: free text */
}

static void
test_identifiers(void **state)
{
    (void)state;
    expect_field("case_type", "complaint_stage_1", NULL);
    expect_field("case_type", "foi|2026-11|email", "'|'");
    expect_field("case_type", "complaint stage 1", "space");
    expect_field("case_type", "enquiry\n", "control character");
    expect_field("case_type", "r\xc3\xa9sum\xc3\xa9", "outside ASCII");
    expect_field("case_type", "a_case_type_of_thirty_two_chars", NULL);
    expect_field("case_type", "a_case_type_of_thirty_three_chars", "longer than 31");
    expect_field("organisation", "derby-homes", NULL);
    expect_field("organisation", "derby|homes", "'|'");
    expect_field("appointment_id", "appt-42", NULL);
    expect_field("appointment_id", "appt 42", "space");
    expect_field("customer.preferred_channel", "sms|email", "'|'");
}

static void
test_languages(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } ok[] = {
        {"en", "en"},
        {"en-GB", "en-GB"},
        {"EN-gb", "en-GB"},
        {"cy", "cy"},
        {"zh-Hant-TW", "zh-Hant-TW"},
        {"zh-hant-tw", "zh-Hant-TW"},
        {"es-419", "es-419"},
        {"sl-rozaj-biske", "sl-rozaj-biske"},
        {"de-CH-1901", "de-CH-1901"},
        {"zh-yue-HK", "zh-yue-HK"},
        {"en-US-u-islamcal", "en-US-u-islamcal"},
        {"en-GB-x-Welsh", "en-GB-x-welsh"},
        {"pt-BR", "pt-BR"},
        {"gsw", "gsw"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char out[64];
        const char *why = NULL;
        if (!ch_contact_language_normalise(ok[i].in, out, sizeof(out), &why))
            fail_msg("'%s' refused: %s", ok[i].in, why);
        assert_string_equal(out, ok[i].out);
    }
    static const struct {
        const char *in, *why;
    } bad[] = {
        {"en GB", "only letters, digits and '-'"},
        {"en_GB", "only letters, digits and '-'"},
        {"pt_BR.UTF-8", "only letters, digits and '-'"},
        {"en-GB;q=0.9", "only letters, digits and '-'"},
        {"english!!", "only letters, digits and '-'"},
        {"e", "2 or 3 letter language"},
        {"english", "2 or 3 letter language"},
        {"12", "2 or 3 letter language"},
        {"en-", "empty"},
        {"-en", "empty"},
        {"en--GB", "empty"},
        {"en-GB-x", "private use"},
        {"en-u", "extension"},
        {"en-a-b", "extension"},
        {"en-GB-GB", "not a BCP 47"},
        {"en-abcdefghi", "longer than 8"},
        {"", "empty"},
        {"en-GB-oxendict-and-a-very-long-tail-x-yz", "longer than 35"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char out[64];
        const char *why = NULL;
        if (ch_contact_language_normalise(bad[i].in, out, sizeof(out), &why))
            fail_msg("'%s' accepted as %s", bad[i].in, out);
        if (!why || !strstr(why, bad[i].why))
            fail_msg("'%s' refused because '%s', expected '%s'", bad[i].in, why, bad[i].why);
    }
    expect_field("customer.preferred_language", "en GB", "only letters");
    expect_field("language", "bsl", NULL);
}

static int64_t
at(int y, int m, int d)
{
    return ch_day_from_civil(y, m, d) * 86400000;
}

static void
test_times(void **state)
{
    (void)state;
    const char *why = NULL;
    assert_true(ch_contact_time_in_range(at(1995, 1, 1), &why));
    assert_true(ch_contact_time_in_range(at(2026, 11, 23), &why));
    assert_true(ch_contact_time_in_range(at(2101, 1, 1) - 1, &why));
    assert_false(ch_contact_time_in_range(at(1995, 1, 1) - 1, &why));
    assert_non_null(strstr(why, "before 1995"));
    assert_false(ch_contact_time_in_range(0, &why));
    assert_false(ch_contact_time_in_range(at(2101, 1, 1), &why));
    assert_non_null(strstr(why, "after 2100"));
    assert_false(ch_contact_time_in_range(at(9999, 12, 31), &why));
    int64_t now = at(2026, 11, 23);
    assert_true(ch_contact_time_not_future(now, now, 300000, &why));
    assert_true(ch_contact_time_not_future(now + 300000, now, 300000, &why));
    assert_true(ch_contact_time_not_future(at(1995, 1, 1), now, 300000, &why));
    assert_false(ch_contact_time_not_future(now + 300001, now, 300000, &why));
    assert_non_null(strstr(why, "future"));
    assert_false(ch_contact_time_not_future(now + 1, now, 0, &why));
}

static void
test_utf8_for_messages(void **state)
{
    (void)state;
    /* "é" is 2 bytes: a 40-byte cut after 39 ASCII bytes must not split it */
    char s[64];
    memset(s, 'a', 39);
    memcpy(s + 39, "\xc3\xa9zz", 5);
    assert_int_equal(ch_contact_utf8_prefix(s, strlen(s), 40), 39);
    assert_int_equal(ch_contact_utf8_prefix(s, strlen(s), 41), 41);
    assert_int_equal(ch_contact_utf8_prefix("\xe2\x82\xac", 3, 2), 0);
    assert_int_equal(ch_contact_utf8_prefix("abc", 3, 40), 3);
    char cut[] = "unknown '\xe2\x82";
    ch_contact_utf8_repair(cut);
    assert_string_equal(cut, "unknown '");
    char bad[] = "a\xffz\xc3\xa9";
    ch_contact_utf8_repair(bad);
    assert_string_equal(bad, "a?z\xc3\xa9");
    char lone[] = "a\x80z";
    ch_contact_utf8_repair(lone);
    assert_string_equal(lone, "a?z");
}

static void
test_table_is_whole(void **state)
{
    (void)state;
    for (const ch_field_rule *r = ch_contact_field_rules(); r->field; r++) {
        assert_ptr_equal(ch_contact_field_rule(r->field), r);
        assert_true(r->max > 0);
    }
    assert_int_equal(ch_contact_field_rule("customer.name")->max, CH_FIELD_NAME_MAX);
    assert_int_equal(ch_contact_field_rule("customer.name")->cls, CH_FIELD_LINE);
    assert_int_equal(ch_contact_field_rule("case_type")->cls, CH_FIELD_IDENT);
    assert_true(ch_contact_field_rule("customer.phone")->normalise);
    assert_false(ch_contact_field_rule("phone")->normalise); /* assigned: shown as written */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_phone_numbers),  cmocka_unit_test(test_names),
        cmocka_unit_test(test_identifiers),    cmocka_unit_test(test_languages),
        cmocka_unit_test(test_times),          cmocka_unit_test(test_utf8_for_messages),
        cmocka_unit_test(test_table_is_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
