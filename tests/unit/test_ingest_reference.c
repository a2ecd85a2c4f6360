/*
 * ingest's case references after Redis data loss (services/ingest/reference.h):
 * reading a reference back from the contact topic, and the floors that
 * keep a counter that went back from reissuing a number. A wrong parse
 * here lets a counter restart below a reference a customer holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "reference.h"

static int
parse(const char *ref, int *year, long long *n)
{
    *year = -1;
    *n = -1;
    return ingest_reference_parse(ref, strlen(ref), year, n);
}

static void
test_references_parse(void **state)
{
    (void)state;
    int year;
    long long n;
    assert_int_equal(parse("NCH-2026-000123", &year, &n), 0);
    assert_int_equal(year, 2026);
    assert_int_equal(n, 123);
    assert_int_equal(parse("NIHE-2025-000001", &year, &n), 0);
    assert_int_equal(year, 2025);
    assert_int_equal(n, 1);
    /* past 999999 the number just grows */
    assert_int_equal(parse("DH-2026-1000000", &year, &n), 0);
    assert_int_equal(n, 1000000);
}

static void
test_non_references_refused(void **state)
{
    (void)state;
    int year;
    long long n;
    const char *bad[] = {"",
                         "NCH",
                         "NCH-2026",
                         "NCH-2026-",
                         "NCH-2026-00012",                /* under six digits */
                         "NCH-26-000123",                 /* two-digit year */
                         "NCH-2026-000123x",              /* trailing text */
                         "-2026-000123",                  /* no prefix */
                         "N H-2026-000123",               /* space in the prefix */
                         "NCH_2026_000123",               /* separators */
                         "ABCDEFGHIJKLMNOP-2026-000001",  /* prefix over 15 */
                         "NCH-2026-1234567890123456789"}; /* overflows */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], &year, &n) != -1)
            fail_msg("'%s' parsed as a reference", bad[i]);
        assert_int_equal(year, -1); /* untouched */
    }
    /* only len bytes belong to the reference */
    assert_int_equal(ingest_reference_parse("NCH-2026-000123|17649", 15, &year, &n), 0);
    assert_int_equal(n, 123);
}

static void
test_floors_rise_only(void **state)
{
    (void)state;
    ingest_ref_floors *f = ingest_ref_floors_new();
    assert_non_null(f);
    assert_int_equal(ingest_ref_floor(f, "nottingham-city-homes", 2026), 0);
    assert_int_equal(ingest_ref_floor_raise(f, "nottingham-city-homes", 2026, 123), 0);
    assert_int_equal(ingest_ref_floor_raise(f, "nottingham-city-homes", 2026, 7), 0);
    assert_int_equal(ingest_ref_floor(f, "nottingham-city-homes", 2026), 123);
    assert_int_equal(ingest_ref_floor_raise(f, "nottingham-city-homes", 2026, 124), 0);
    assert_int_equal(ingest_ref_floor(f, "nottingham-city-homes", 2026), 124);
    /* one floor per organisation and year */
    assert_int_equal(ingest_ref_floor(f, "nottingham-city-homes", 2025), 0);
    assert_int_equal(ingest_ref_floor(f, "derby-homes", 2026), 0);
    assert_int_equal(ingest_ref_floors_count(f), 1);
    for (int i = 0; i < 40; i++) /* grows past its first allocation */
        assert_int_equal(ingest_ref_floor_raise(f, "org", 2000 + i, i + 1), 0);
    assert_int_equal(ingest_ref_floors_count(f), 41);
    assert_int_equal(ingest_ref_floor(f, "org", 2039), 40);
    assert_int_equal(ingest_ref_floor(f, "nottingham-city-homes", 2026), 124);
    ingest_ref_floors_free(f);
    ingest_ref_floors_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_references_parse),
        cmocka_unit_test(test_non_references_refused),
        cmocka_unit_test(test_floors_rise_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
