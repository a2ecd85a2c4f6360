/*
 * Counter tables: a table read from field/value texts (an HGETALL reply) is
 * the table the same counters make added one by one (sorted, equal keys
 * summed, zeros dropped), keys too long are skipped; slices by prefix and by
 * period; the time-to-respond summary (responses, median, 90th percentile)
 * and its absence.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "charter/errors.h"
#include "charter/report_table.h"

static void
assert_tables_equal(const ch_report_table *a, const ch_report_table *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_string_equal(a->items[i].key, b->items[i].key);
        assert_int_equal(a->items[i].value, b->items[i].value);
    }
}

static void
test_from_pairs_as_added(void **state)
{
    (void)state;
    /* unsorted, a key twice, a key summing to zero, a zero, a negative */
    static const char *const kv[] = {
        "2026-11|letter|enquiry|received", "3",  "2026-11|email|enquiry|received", "1",
        "2026-11|letter|enquiry|received", "2",  "2026|letter|enquiry|open",       "1",
        "2026|letter|enquiry|open",        "-1", "2026-11|sms|enquiry|received",   "0",
        "2026-11-02|letter|enquiry|late",  "-4", "2026-11|email|enquiry|answered", "7",
    };
    size_t npairs = sizeof(kv) / sizeof(kv[0]) / 2;
    ch_report_table added = {0}, read = {0};
    for (size_t i = 0; i < npairs; i++) {
        ch_report_item it;
        snprintf(it.key, sizeof(it.key), "%s", kv[2 * i]);
        it.value = strtoll(kv[2 * i + 1], NULL, 10);
        assert_int_equal(ch_report_table_add(&added, &it, 1), 0);
    }
    assert_int_equal(ch_report_table_from_pairs(&read, kv, npairs), 0);
    assert_tables_equal(&read, &added);
    assert_int_equal(read.n, 4);
    assert_string_equal(read.items[0].key, "2026-11-02|letter|enquiry|late");
    assert_int_equal(read.items[0].value, -4);
    assert_int_equal(ch_report_table_get(&read, "2026-11|letter|enquiry|received"), 5);
    assert_int_equal(ch_report_table_get(&read, "2026|letter|enquiry|open"), 0);
    assert_int_equal(ch_report_table_get(&read, "2026-11|sms|enquiry|received"), 0);

    /* it replaces what the table held */
    assert_int_equal(ch_report_table_from_pairs(&read, kv, 1), 0);
    assert_int_equal(read.n, 1);
    assert_int_equal(read.items[0].value, 3);
    assert_int_equal(ch_report_table_from_pairs(&read, NULL, 0), 0);
    assert_int_equal(read.n, 0);
    ch_report_table_free(&added);
    ch_report_table_free(&read);
}

static void
test_from_pairs_long_key_skipped(void **state)
{
    (void)state;
    char longest[CH_REPORT_KEY_MAX], too_long[CH_REPORT_KEY_MAX + 1];
    memset(longest, 'a', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    memset(too_long, 'b', sizeof(too_long) - 1);
    too_long[sizeof(too_long) - 1] = '\0';
    const char *kv[] = {too_long, "1", longest, "2"};
    ch_report_table t = {0};
    assert_int_equal(ch_report_table_from_pairs(&t, kv, 2), 0);
    assert_int_equal(t.n, 1);
    assert_string_equal(t.items[0].key, longest);
    assert_int_equal(t.items[0].value, 2);
    ch_report_table_free(&t);
}

/* A prefix slice is the run of sorted keys starting with it, nothing else. */
static void
test_table_prefix(void **state)
{
    (void)state;
    ch_report_item items[] = {{"2026-12|email|enquiry|received", 4},
                              {"2026-11|email|enquiry|received", 2},
                              {"2026|email|enquiry|received", 9},
                              {"2026-11|letter|enquiry|received", 3},
                              {"2026-11a|x", 7}};
    ch_report_table t = {0};
    assert_int_equal(ch_report_table_add(&t, items, 5), 0);
    ch_report_table s = ch_report_table_prefix(&t, "2026-11|");
    assert_int_equal(s.n, 2);
    assert_int_equal(s.items[0].value + s.items[1].value, 5);
    assert_int_equal(ch_report_table_get(&s, "2026-11|letter|enquiry|received"), 3);
    assert_int_equal(ch_report_table_prefix(&t, "2027|").n, 0);
    assert_int_equal(ch_report_table_prefix(&t, "").n, 5);

    /* a period's counters sum as the whole table filtered on that period */
    s = ch_report_table_period(&t, "2026-11");
    assert_int_equal(s.n, 2);
    ch_report_filter f = {CH_REPORT_MONTH, "2026-11", "2026-11", NULL, NULL};
    ch_report_totals *whole = malloc(sizeof(*whole)), *slice = malloc(sizeof(*slice));
    assert_non_null(whole);
    assert_non_null(slice);
    ch_report_sum(&t, &f, whole);
    ch_report_sum(&s, &f, slice);
    assert_memory_equal(whole, slice, sizeof(*whole));
    assert_int_equal(slice->fig[CH_REPORT_RECEIVED], 5);
    free(whole);
    free(slice);
    assert_int_equal(ch_report_table_period(&t, "2026").n, 1);
    assert_int_equal(ch_report_table_period(&t, "a-period-far-too-long").n, 0);
    ch_report_table_free(&t);
}

static void
test_ttr_summary(void **state)
{
    (void)state;
    ch_report_totals *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    ch_report_ttr s = {-1, -1, -1};
    assert_int_equal(ch_report_ttr_summary(t, CH_REPORT_UNIT_WORKING_DAYS, &s), CH_ENOTFOUND);
    assert_int_equal(ch_report_ttr_summary(t, CH_REPORT_UNIT_COUNT, &s), CH_ENOTFOUND);
    /* 2, 3, 3, 12 working days and 10 at the cap: median 3, p90 the cap */
    t->ttr[CH_REPORT_UNIT_WORKING_DAYS][2] = 1;
    t->ttr[CH_REPORT_UNIT_WORKING_DAYS][3] = 2;
    t->ttr[CH_REPORT_UNIT_WORKING_DAYS][12] = 1;
    t->ttr[CH_REPORT_UNIT_WORKING_DAYS][CH_REPORT_TTR_MAX] = 1;
    assert_int_equal(ch_report_ttr_summary(t, CH_REPORT_UNIT_WORKING_DAYS, &s), 0);
    assert_int_equal(s.responses, 5);
    assert_int_equal(s.median, 3);
    assert_int_equal(s.p90, CH_REPORT_TTR_MAX);
    /* one response: every percentile is it */
    t->ttr[CH_REPORT_UNIT_HOURS][4] = 1;
    assert_int_equal(ch_report_ttr_summary(t, CH_REPORT_UNIT_HOURS, &s), 0);
    assert_int_equal(s.responses, 1);
    assert_int_equal(s.median, 4);
    assert_int_equal(s.p90, 4);
    assert_int_equal(ch_report_ttr_summary(t, CH_REPORT_UNIT_DAYS, &s), CH_ENOTFOUND);
    free(t);
}

/* Replies of several hashes appended in any order, then normalised: the
 * table of the same counters added one by one. */
static void
test_normalise_as_added(void **state)
{
    (void)state;
    static const ch_report_item in[] = {
        {"2026-11|letter|enquiry|received", 2},   {"2026-11-02|letter|enquiry|received", 1},
        {"2026|letter|enquiry|received", 2},      {"2026-11|letter|enquiry|open", 0},
        {"2026-10|letter|enquiry|received", 1},   {"2026-11|letter|enquiry|received", -2},
        {"2026-11-03|email|enquiry|received", 1},
    };
    size_t n = sizeof(in) / sizeof(in[0]);
    ch_report_table added = {0}, appended = {0};
    assert_int_equal(ch_report_table_add(&added, in, n), 0);
    appended.items = malloc(n * sizeof(*appended.items));
    assert_non_null(appended.items);
    appended.cap = n;
    memcpy(appended.items, in, sizeof(in));
    appended.n = n;
    ch_report_table_normalise(&appended);
    assert_int_equal(appended.n, added.n);
    assert_int_equal(appended.n, 4); /* the zero and the pair summing to zero dropped */
    for (size_t i = 0; i < added.n; i++) {
        assert_string_equal(appended.items[i].key, added.items[i].key);
        assert_int_equal(appended.items[i].value, added.items[i].value);
    }
    ch_report_table_free(&added);
    ch_report_table_free(&appended);
    ch_report_table empty = {0};
    ch_report_table_normalise(&empty);
    assert_int_equal(empty.n, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_pairs_as_added),
        cmocka_unit_test(test_from_pairs_long_key_skipped),
        cmocka_unit_test(test_table_prefix),
        cmocka_unit_test(test_ttr_summary),
        cmocka_unit_test(test_normalise_as_added),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
