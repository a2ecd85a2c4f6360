/*
 * Message-IDs of Charter's notices: the notification id goes in and comes
 * back out of the id (with or without brackets, as In-Reply-To or a
 * bounce's quoted headers give it); ids Charter did not make, mangled ids
 * and ids that cannot be carried never yield a notification.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "charter/notice_id.h"

static void
test_round_trip(void **state)
{
    (void)state;
    static const char *const ids[] = {
        "8c1f3a2e-5b6d-4c7e-9f80-1a2b3c4d5e6f/acknowledgement",
        "8c1f3a2e-5b6d-4c7e-9f80-1a2b3c4d5e6f/warning/1",
        "case.with.dots/holding_reply",
    };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        char mid[300], id[200], cid[100], bare[300];
        assert_int_equal(ch_notice_message_id(ids[i], "notices.example.gov.uk", mid, sizeof(mid)),
                         0);
        assert_int_equal(mid[0], '<');
        assert_non_null(strstr(mid, "@notices.example.gov.uk>"));
        assert_int_equal(ch_notice_message_id_parse(mid, id, sizeof(id), cid, sizeof(cid)), 1);
        assert_string_equal(id, ids[i]);
        assert_int_equal(strncmp(ids[i], cid, strlen(cid)), 0);
        assert_int_equal(ids[i][strlen(cid)], '/');
        /* without brackets, with leading space, as a header value gives it */
        snprintf(bare, sizeof(bare), "  %.*s", (int)strlen(mid) - 2, mid + 1);
        assert_int_equal(ch_notice_message_id_parse(bare, id, sizeof(id), NULL, 0), 1);
        assert_string_equal(id, ids[i]);
    }
}

static void
test_refusals(void **state)
{
    (void)state;
    char mid[300], id[200];
    assert_int_equal(
        ch_notice_message_id("abc/acknowledgement", "charter.localhost", mid, sizeof(mid)), 0);
    /* one character changed in the id: the hash no longer checks */
    char bad[300];
    strcpy(bad, mid);
    bad[3] = 'x';
    assert_int_equal(ch_notice_message_id_parse(bad, id, sizeof(id), NULL, 0), 0);
    static const char *const foreign[] = {
        "<CAF=abc123@mail.gmail.com>",
        "<n.abc/ack.0123456789abcdef@x>",
        "<n.@x>",
        "",
        "n.",
        "<n.abc/acknowledgement.zzzzzzzzzzzzzzzz@x>",
    };
    for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++)
        assert_int_equal(ch_notice_message_id_parse(foreign[i], id, sizeof(id), NULL, 0), 0);
    assert_int_equal(ch_notice_message_id_parse(NULL, id, sizeof(id), NULL, 0), 0);
    /* too small a buffer for the id: not found rather than cut */
    assert_int_equal(ch_notice_message_id_parse(mid, id, 5, NULL, 0), 0);
}

static void
test_uncarriable_ids_get_the_hash_form(void **state)
{
    (void)state;
    char mid[300], id[200];
    /* a space, a double dot, no case part: still a valid unique Message-ID */
    static const char *const ids[] = {"a b/ack", "a..b/ack", "no-slash", "/ack"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        assert_int_equal(ch_notice_message_id(ids[i], NULL, mid, sizeof(mid)), 0);
        assert_int_equal(strncmp(mid, "<h.", 3), 0);
        assert_non_null(strstr(mid, "@charter.invalid>"));
        assert_int_equal(ch_notice_message_id_parse(mid, id, sizeof(id), NULL, 0), 0);
    }
    char small[10];
    assert_int_equal(ch_notice_message_id("abc/acknowledgement", "x.example", small, sizeof(small)),
                     -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_uncarriable_ids_get_the_hash_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
