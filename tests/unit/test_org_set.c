/*
 * Loading a directory of policies (charter/org_set.h), as the services do at
 * start-up and on reload: the shipped directory loads whole, and a directory
 * the services must not run with is refused whole, with the sentence an
 * operator will read (the file and line, or the config key that named the
 * directory). Each case builds its own directory under /tmp from the
 * shipped and broken policies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "charter/errors.h"
#include "charter/fileio.h"
#include "charter/org_set.h"
#include "support/scratch.h"

#ifndef CHARTER_POLICIES_DIR
#error "CHARTER_POLICIES_DIR must name the policies/ directory"
#endif
#ifndef CHARTER_TEST_POLICY_DIR
#error "CHARTER_TEST_POLICY_DIR must name tests/policies/"
#endif

/* The directory is refused with rc; the error starts with want, the set is
 * left empty. */
static void
assert_refused(const char *dir, int rc, const char *want)
{
    ch_org_set set;
    char err[1024] = "";
    memset(&set, 0x5a, sizeof(set));
    int got = ch_org_set_load(dir, "sla.policy_dir", &set, err, sizeof(err));
    if (got != rc)
        fail_msg("%s: returned %d, expected %d (err: %s)", dir, got, rc, err);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("got  %s\nwant %s...", err, want);
    assert_int_equal(set.n, 0);
    ch_org_set_free(&set);
}

static void
test_shipped_directory_loads_whole(void **state)
{
    (void)state;
    ch_org_set set;
    char err[1024];
    if (ch_org_set_load(CHARTER_POLICIES_DIR, "sla.policy_dir", &set, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(set.n, 5);
    const ch_org_clocks *derby = ch_org_set_find(&set, "derby-homes");
    assert_non_null(derby);
    assert_string_equal(derby->policy.id, "derby-homes");
    /* Each organisation comes with what its clocks need. */
    assert_non_null(derby->tz);
    assert_non_null(derby->calendar);
    assert_ptr_equal(derby->ctx.calendar, derby->calendar);
    assert_ptr_equal(derby->ctx.hours, &derby->policy.hours);
    assert_non_null(ch_org_set_find(&set, "nihe"));
    assert_null(ch_org_set_find(&set, "no-such-org"));
    ch_org_set_free(&set);
    assert_int_equal(set.n, 0);
}

static void
test_two_policies_for_one_organisation_refused(void **state)
{
    (void)state;
    fx_scratch d;
    fx_scratch_new(&d);
    fx_scratch_copy(&d, CHARTER_POLICIES_DIR, "nihe.yaml", "a.yaml");
    fx_scratch_copy(&d, CHARTER_POLICIES_DIR, "nihe.yaml", "b.yaml");
    ch_org_set set;
    char err[1024];
    assert_int_equal(ch_org_set_load(d.path, "sla.policy_dir", &set, err, sizeof(err)), CH_EINVAL);
    /* Directory order decides which copy is named second. */
    char want_a[600], want_b[600];
    snprintf(want_a, sizeof(want_a), "%s/a.yaml: organisation id 'nihe' is used by two policies",
             d.path);
    snprintf(want_b, sizeof(want_b), "%s/b.yaml: organisation id 'nihe' is used by two policies",
             d.path);
    if (strcmp(err, want_a) != 0 && strcmp(err, want_b) != 0)
        fail_msg("got %s", err);
    assert_int_equal(set.n, 0);
    fx_scratch_free(&d);
}

static void
test_empty_directory_refused(void **state)
{
    (void)state;
    fx_scratch d;
    fx_scratch_new(&d);
    char want[600];
    snprintf(want, sizeof(want), "sla.policy_dir %s holds no *.yaml policy", d.path);
    assert_refused(d.path, CH_EINVAL, want);
    /* Other files, and hidden ones (an editor's swap or backup), are not policies. */
    fx_scratch_copy(&d, CHARTER_POLICIES_DIR, "nihe.yaml", "nihe.yml");
    fx_scratch_copy(&d, CHARTER_POLICIES_DIR, "nihe.yaml", ".nihe.yaml");
    fx_scratch_put(&d, "README", "policies\n");
    assert_refused(d.path, CH_EINVAL, want);
    fx_scratch_free(&d);

    snprintf(want, sizeof(want),
             "sla.policy_dir /nonexistent/policies cannot be read: No such file or directory");
    assert_refused("/nonexistent/policies", CH_EIO, want);
}

static void
test_one_broken_file_refuses_the_directory_and_is_named(void **state)
{
    (void)state;
    fx_scratch d;
    fx_scratch_new(&d);
    fx_scratch_copy(&d, CHARTER_POLICIES_DIR, "derby-homes.yaml", "derby-homes.yaml");
    fx_scratch_copy(&d, CHARTER_TEST_POLICY_DIR "/broken", "nihe.bad-duration.yaml", "nihe.yaml");
    char want[600];
    snprintf(want, sizeof(want),
             "%s/nihe.yaml:49:13: promises[0].answer: '20 seconfs' is not a clock", d.path);
    assert_refused(d.path, CH_EINVAL, want);
    fx_scratch_free(&d);
}

static void
test_policy_with_unknown_zone_refused(void **state)
{
    (void)state;
    fx_scratch d;
    fx_scratch_new(&d);
    char *text, err[1024];
    size_t len;
    char src[512];
    snprintf(src, sizeof(src), "%s/nihe.yaml", CHARTER_POLICIES_DIR);
    assert_int_equal(ch_file_read_all(src, 1 << 20, &text, &len, err, sizeof(err)), 0);
    const char *zone = "timezone: Europe/London\n";
    char *at = strstr(text, zone);
    assert_non_null(at);
    char *with_zone = malloc(len + 64);
    assert_non_null(with_zone);
    snprintf(with_zone, len + 64, "%.*stimezone: Mars/Olympus_Mons\n%s", (int)(at - text), text,
             at + strlen(zone));
    fx_scratch_put(&d, "nihe.yaml", with_zone);
    free(with_zone);
    free(text);

    ch_org_clocks oc;
    char path[512], want[600];
    snprintf(path, sizeof(path), "%s/nihe.yaml", d.path);
    assert_int_equal(ch_org_clocks_load(path, &oc, err, sizeof(err)), CH_EINVAL);
    /* file:line:column of the value, then the key, as every loader error */
    int line = 0, col = 0;
    char rest[600];
    snprintf(want, sizeof(want), "%s:", path);
    if (strncmp(err, want, strlen(want)) != 0 ||
        sscanf(err + strlen(want), "%d:%d: %599[^\n]", &line, &col, rest) != 3)
        fail_msg("got  %s\nwant %s<line>:<column>: timezone: ...", err, want);
    assert_true(line > 1);
    assert_int_equal(col, 11);
    assert_int_equal(strncmp(rest, "timezone: Mars/Olympus_Mons: unknown time zone", 46), 0);
    assert_null(oc.tz);
    assert_null(oc.policy.promises);
    ch_org_clocks_free(&oc);
    assert_refused(d.path, CH_EINVAL, want);
    fx_scratch_free(&d);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_directory_loads_whole),
        cmocka_unit_test(test_two_policies_for_one_organisation_refused),
        cmocka_unit_test(test_empty_directory_refused),
        cmocka_unit_test(test_one_broken_file_refuses_the_directory_and_is_named),
        cmocka_unit_test(test_policy_with_unknown_zone_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
