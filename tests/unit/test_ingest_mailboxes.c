/*
 * The mailbox map: exact addresses before their domain's line, the local
 * part as the organisation on a bare "*@DOMAIN" line, case-insensitive
 * matching, and each malformed line refused naming its file and line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mailboxes.h"

static const char file[] = "# council mailboxes\n"
                           "complaints@NottinghamCity.gov.uk nottingham-city-homes "
                           "complaint_stage_1\n"
                           "\n"
                           "feedback@nottinghamcity.gov.uk  nottingham-city-homes # default type\n"
                           "*@charter.localhost\n"
                           "*@nihe.example nihe service_request\n";

static void
test_lookups(void **state)
{
    (void)state;
    ingest_mailboxes *m;
    char err[256], org[64], ct[40];
    assert_int_equal(ingest_mailboxes_parse(file, strlen(file), "mb", &m, err, sizeof(err)), 0);
    assert_int_equal(ingest_mailboxes_count(m), 4);
    assert_true(ingest_mailboxes_find(m, "Complaints@nottinghamcity.gov.uk", org, sizeof(org), ct,
                                      sizeof(ct)));
    assert_string_equal(org, "nottingham-city-homes");
    assert_string_equal(ct, "complaint_stage_1");
    assert_true(ingest_mailboxes_find(m, "feedback@nottinghamcity.gov.uk", org, sizeof(org), ct,
                                      sizeof(ct)));
    assert_string_equal(ct, "enquiry");
    assert_false(
        ingest_mailboxes_find(m, "other@nottinghamcity.gov.uk", org, sizeof(org), ct, sizeof(ct)));
    assert_true(ingest_mailboxes_find(m, "Derby-Homes@Charter.localhost", org, sizeof(org), ct,
                                      sizeof(ct)));
    assert_string_equal(org, "derby-homes");
    assert_string_equal(ct, "enquiry");
    assert_true(ingest_mailboxes_find(m, "anyone@nihe.example", org, sizeof(org), ct, sizeof(ct)));
    assert_string_equal(org, "nihe");
    assert_string_equal(ct, "service_request");
    assert_false(ingest_mailboxes_find(m, "x@sub.nihe.example", org, sizeof(org), ct, sizeof(ct)));
    assert_false(ingest_mailboxes_find(m, "postmaster", org, sizeof(org), ct, sizeof(ct)));
    ingest_mailboxes_free(m);
}

static void
test_bad_lines(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"a@b.test\n", "mb:1: 'a@b.test' names no organisation"},
        {"\nnot-an-address org\n", "mb:2: 'not-an-address' is not a mailbox address"},
        {"a@b.test Org\n", "mb:1: 'Org' is not an organisation id"},
        {"a@b.test org complaint\n", "mb:1: 'complaint' is not a case type"},
        {"a@b.test org enquiry extra\n", "mb:1: expected"},
        {"x*@b.test org\n", "mb:1: 'x*@b.test' is not a mailbox address"},
        {"a@b.test org\nA@B.test org\n", "mb:2: 'A@B.test' is listed twice"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ingest_mailboxes *m = (ingest_mailboxes *)1;
        char err[256] = "";
        assert_int_not_equal(
            ingest_mailboxes_parse(bad[i].text, strlen(bad[i].text), "mb", &m, err, sizeof(err)),
            0);
        assert_null(m);
        if (strncmp(err, bad[i].want, strlen(bad[i].want)) != 0)
            fail_msg("line %zu: got '%s', want '%s...'", i, err, bad[i].want);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_bad_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
