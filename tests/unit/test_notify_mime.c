/*
 * notification's email as it goes on the wire: the Message-ID is stable per
 * notification, headers cannot be injected, line ends are CRLF, a non-ASCII
 * subject is RFC 2047 and a non-ASCII body base64 (wrapped at 76).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"
#include "support/instant.h"

static void
mime_message(void **state)
{
    (void)state;
    char mid[128], mid2[128];
    notify_message_id("case-1/acknowledgement", "council.example", mid, sizeof(mid));
    notify_message_id("case-1/acknowledgement", "council.example", mid2, sizeof(mid2));
    assert_string_equal(mid, mid2);
    assert_true(mid[0] == '<' && strstr(mid, "@council.example>"));
    notify_message_id("case-2/acknowledgement", "council.example", mid2, sizeof(mid2));
    assert_string_not_equal(mid, mid2);

    char *m = notify_mime_message("noreply@council.example", "ann@example.org",
                                  "Your reference NCH-2026-000001\r\nBcc: x@y", "Line 1\nLine 2\n",
                                  mid, fx_utc(2026, 1, 2, 10, 0, 0));
    assert_non_null(m);
    assert_non_null(strstr(m, "Date: Fri, 02 Jan 2026 10:00:00 +0000\r\n"));
    assert_non_null(strstr(m, "From: noreply@council.example\r\nTo: ann@example.org\r\n"));
    assert_non_null(strstr(m, "Subject: Your reference NCH-2026-000001  Bcc: x@y\r\n"));
    assert_null(strstr(m, "\r\nBcc:"));
    assert_non_null(strstr(m, "Message-ID: <"));
    assert_non_null(strstr(m, "Content-Type: text/plain; charset=UTF-8\r\n"));
    assert_non_null(strstr(m, "Content-Transfer-Encoding: 7bit\r\n\r\nLine 1\r\nLine 2\r\n"));
    for (const char *p = m; *p; p++)
        if (*p == '\n')
            assert_int_equal(p[-1], '\r');
    free(m);

    m = notify_mime_message("a@b", "c@d", "Cyfeirnod \xe2\x80\x94 NCH", "Diolch \xe2\x80\x94 ok",
                            mid, 0);
    assert_non_null(strstr(m, "Date: Thu, 01 Jan 1970 00:00:00 +0000"));
    assert_non_null(strstr(m, "Subject: =?UTF-8?B?"));
    assert_non_null(strstr(m, "Content-Transfer-Encoding: base64\r\n\r\nRGlvbGNoIOKAlCBvaw==\r\n"));
    free(m);
}

/* A long non-ASCII body: base64 lines of 76 characters, CRLF between them,
 * decoding back to the body. */
static void
mime_base64_wraps_at_76(void **state)
{
    (void)state;
    char body[400];
    size_t n = 0;
    while (n + 3 < sizeof(body)) {
        memcpy(body + n, "\xc3\xa9", 2); /* é */
        n += 2;
    }
    body[n] = '\0';
    char *m = notify_mime_message("a@b", "c@d", "S", body, "<x@y>", 0);
    assert_non_null(m);
    const char *p = strstr(m, "base64\r\n\r\n");
    assert_non_null(p);
    p += 10;
    size_t lines = 0;
    while (*p) {
        const char *e = strstr(p, "\r\n");
        assert_non_null(e);
        assert_true(e - p <= 76);
        if (e[2])
            assert_int_equal(e - p, 76);
        lines++;
        p = e + 2;
    }
    assert_int_equal(lines, (4 * ((n + 2) / 3) + 75) / 76);
    free(m);
}

/* Every line of m ends CRLF (no bare CR, no bare LF) and none is over 998
 * octets. */
static void
assert_wire_lines(const char *m)
{
    size_t line = 0;
    for (const char *p = m; *p; p++) {
        if (*p == '\r') {
            if (p[1] != '\n')
                fail_msg("bare CR at offset %zu", (size_t)(p - m));
            continue;
        }
        if (*p == '\n') {
            if (p == m || p[-1] != '\r')
                fail_msg("bare LF at offset %zu", (size_t)(p - m));
            line = 0;
            continue;
        }
        if (++line > 998)
            fail_msg("a line over 998 octets at offset %zu", (size_t)(p - m));
    }
}

/* Bare CR and bare LF in a body (a customer's name or reason put into a
 * template) become CRLF, so "\r.\r" cannot reach a relay as anything but
 * a line holding a dot (review item L2). */
static void
mime_bare_cr_normalised(void **state)
{
    (void)state;
    char *m = notify_mime_message("a@b", "c@d", "S",
                                  "Dear Ann\r.\rRCPT TO:<x@evil.example>\rend\nLF only\r\nCRLF\n\r",
                                  "<x@y>", 0);
    assert_non_null(m);
    assert_wire_lines(m);
    assert_non_null(strstr(m, "7bit\r\n\r\nDear Ann\r\n.\r\nRCPT TO:<x@evil.example>\r\nend\r\n"
                              "LF only\r\nCRLF\r\n\r\n"));
    free(m);
}

/* A line over 998 octets is never sent as it is: the body goes base64. A
 * long subject outside ASCII is folded into encoded words of whole
 * characters. Control characters in a header become spaces. */
static void
mime_long_lines_encoded(void **state)
{
    (void)state;
    char body[1300];
    memset(body, 'x', 1200);
    memcpy(body + 1200, "\nshort\n", 8);
    body[1208] = '\0';
    char subject[400];
    size_t n = 0;
    while (n + 3 < sizeof(subject)) {
        memcpy(subject + n, "\xc5\xb5", 2); /* w-circumflex */
        n += 2;
    }
    subject[n] = '\0';
    char *m = notify_mime_message("a@b", "c@d\x0b", subject, body, "<x@y>", 0);
    assert_non_null(m);
    assert_wire_lines(m);
    assert_non_null(strstr(m, "Content-Transfer-Encoding: base64\r\n"));
    assert_null(strstr(m, "xxxxxxxxxx"));
    assert_non_null(strstr(m, "To: c@d \r\n"));
    assert_non_null(strstr(m, "?=\r\n =?UTF-8?B?"));
    /* each encoded word holds whole characters: 45 bytes would split one */
    assert_non_null(strstr(m, "Subject: "
                              "=?UTF-8?B?"
                              "xbXFtcW1xbXFtcW1xbXFtcW1xbXFtcW1xbXFtcW1xbXFtcW1xbXFtcW1xbU=?="));
    free(m);
    /* an ASCII body with lines of up to 998 stays 7bit */
    memset(body, 'y', 998);
    body[998] = '\0';
    m = notify_mime_message("a@b", "c@d", "S", body, "<x@y>", 0);
    assert_non_null(strstr(m, "Content-Transfer-Encoding: 7bit\r\n"));
    assert_wire_lines(m);
    free(m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mime_message),
        cmocka_unit_test(mime_base64_wraps_at_76),
        cmocka_unit_test(mime_bare_cr_normalised),
        cmocka_unit_test(mime_long_lines_encoded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
