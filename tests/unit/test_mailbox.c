/*
 * E-mail addresses at the front door and before RCPT TO: the everyday forms
 * pass; anything that could add an SMTP command or is not a mailbox is
 * refused with a reason (the reliability review's H1 injection first).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "charter/mailbox.h"

static void
test_everyday_addresses_pass(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "ann@example.org",        "ann.example+charter@mail.example.co.uk", "o'neill@example.ie",
        "a_b-c{d}~e@x-1.example", "feedback@nottinghamcity.gov.uk",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        const char *why = NULL;
        if (!ch_mailbox_valid(ok[i], &why))
            fail_msg("%s refused: %s", ok[i], why);
    }
}

static void
expect_refused(const char *s, const char *reason)
{
    const char *why = NULL;
    if (ch_mailbox_valid(s, &why))
        fail_msg("'%s' accepted", s);
    assert_non_null(why);
    if (!strstr(why, reason))
        fail_msg("'%s' refused because '%s', expected '%s'", s, why, reason);
}

static void
test_injection_and_malformed_refused(void **state)
{
    (void)state;
    expect_refused("a@example.org>\r\nRCPT TO:<x@evil.example", "< > , ;");
    expect_refused("a@example.org\r\nRCPT TO:x@evil.example", "control character");
    expect_refused("a@example.org\tb", "control character");
    expect_refused("a@example.org,b@example.org", "< > , ;");
    expect_refused("ann example@example.org", "space");
    expect_refused("\"ann\"@example.org", "< > , ;");
    expect_refused("ann@exämple.org", "outside ASCII");
    expect_refused("", "empty");
    expect_refused("ann.example.org", "no '@'");
    expect_refused("@example.org", "before the '@'");
    expect_refused(".ann@example.org", "dot");
    expect_refused("ann..b@example.org", "dot");
    expect_refused("ann.@example.org", "dot");
    expect_refused("a(b)@example.org", "character an address cannot");
    expect_refused("ann@localhost", "no dot");
    expect_refused("ann@example..org", "empty part");
    expect_refused("ann@-example.org", "starts with '-'");
    expect_refused("ann@example-.org", "ends with '-'");
    expect_refused("ann@exa_mple.org", "character a domain name cannot");
    expect_refused("ann@[192.0.2.1]", "character a domain name cannot");
}

static void
test_lengths(void **state)
{
    (void)state;
    char s[400];
    memset(s, 'a', 64);
    strcpy(s + 64, "@example.org");
    assert_true(ch_mailbox_valid(s, NULL));
    memset(s, 'a', 65);
    strcpy(s + 65, "@example.org");
    expect_refused(s, "longer than 64");
    /* a 63-character label passes, 64 does not */
    strcpy(s, "a@");
    memset(s + 2, 'b', 63);
    strcpy(s + 65, ".org");
    assert_true(ch_mailbox_valid(s, NULL));
    strcpy(s, "a@");
    memset(s + 2, 'b', 64);
    strcpy(s + 66, ".org");
    expect_refused(s, "longer than 63");
    /* 254 in all passes, 255 does not */
    strcpy(s, "a@");
    size_t n = 2;
    while (n + 64 <= 254 - 4) {
        memset(s + n, 'c', 63);
        s[n + 63] = '.';
        n += 64;
    }
    memset(s + n, 'd', 254 - n - 4);
    strcpy(s + 254 - 4, ".org");
    assert_int_equal(strlen(s), 254);
    assert_true(ch_mailbox_valid(s, NULL));
    s[254 - 4] = 'e';
    strcpy(s + 254 - 3, ".org");
    assert_int_equal(strlen(s), 255);
    expect_refused(s, "longer than 254");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_everyday_addresses_pass),
        cmocka_unit_test(test_injection_and_malformed_refused),
        cmocka_unit_test(test_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
