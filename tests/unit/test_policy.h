/*
 * One cmocka executable, test_policy, in two files: test_policy.c (the five
 * shipped charters, clause by clause, and the broken copies) and
 * test_policy_format.c (the format's rules on small texts). This header is
 * what they share: the helpers test_policy.c defines and the tests its main()
 * lists from the other file.
 */
#ifndef CHARTER_TEST_POLICY_H
#define CHARTER_TEST_POLICY_H

#include "charter/policy.h"

/* Loads policies/<id>.yaml, failing the test if it does not load. */
void load_ok(const char *id, ch_policy *p);
/* The promise for (channel, type), failing the test if there is none or, when
 * want_id is not NULL, if it is another one. */
const ch_policy_promise *find(const ch_policy *p, const char *channel, const char *type,
                              const char *want_id);
/* ch_policy_describe_promise's line is want. */
void assert_describe(const ch_policy *p, const ch_policy_promise *pr, const char *want);

/* test_policy_format.c */
void test_minimal_policy_loads_with_defaults(void **state);
void test_refuses_unknown_and_duplicate_keys(void **state);
void test_promise_target(void **state);
void test_refuses_bad_values_with_what_was_expected(void **state);
void test_refuses_incomplete_promises(void **state);
void test_refuses_broken_yaml_empty_files_and_second_documents(void **state);
void test_options_closures_and_hours(void **state);
void test_find_promise_prefers_exact_type_then_any(void **state);
void test_describe_lines(void **state);
void test_visit_requirements_must_be_a_list_of_sentences(void **state);

#endif
