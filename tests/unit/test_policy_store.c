/*
 * The policy store's promise on SIGHUP: all or nothing. A directory with a
 * bad policy, two policies for one organisation, no policy at all, or a
 * service that refuses the reload, leaves the running set exactly as it was;
 * a good directory replaces it. Drives ch__org_set_replace(), the function
 * the runtime's SIGHUP handler calls, on copies of the shipped policies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "charter/errors.h"
#include "charter/fileio.h"
#include "policy_store_int.h"

typedef struct {
    char dir[64];
    ch_org_set set;
    char err[1024];
} fixture;

static void
put_file(const fixture *f, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void
copy_policy(const fixture *f, const char *org, const char *as)
{
    char path[256], *text, err[256];
    snprintf(path, sizeof(path), "%s/%s.yaml", CHARTER_POLICIES_DIR, org);
    assert_int_equal(ch_file_read_all(path, 1 << 20, &text, NULL, err, sizeof(err)), 0);
    put_file(f, as, text);
    free(text);
}

static void
remove_file(const fixture *f, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    assert_int_equal(unlink(path), 0);
}

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/charter-test-policies-XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    copy_policy(f, "nottingham-city-homes", "nch.yaml");
    copy_policy(f, "derby-homes", "dh.yaml");
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    ch_org_set_free(&f->set);
    free(f);
    return 0;
}

static int
refuse(void *arg, char *errstr, size_t errstr_size)
{
    (*(int *)arg)++;
    snprintf(errstr, errstr_size, "template x.txt:3: unknown placeholder");
    return CH_EINVAL;
}

static int
agree(void *arg, char *errstr, size_t errstr_size)
{
    (void)errstr;
    (void)errstr_size;
    (*(int *)arg)++;
    return 0;
}

/* The running set is the one loaded first: same policies, same addresses. */
static void
assert_unchanged(const fixture *f, const ch_org_clocks *nch, const ch_org_clocks *dh)
{
    assert_int_equal(f->set.n, 2);
    assert_ptr_equal(ch_org_set_find(&f->set, "nottingham-city-homes"), nch);
    assert_ptr_equal(ch_org_set_find(&f->set, "derby-homes"), dh);
    assert_string_equal(nch->policy.reference_prefix, "NCH");
}

static void
test_bad_policy_keeps_the_running_set(void **state)
{
    fixture *f = *state;
    assert_int_equal(
        ch__org_set_replace(&f->set, f->dir, "x.policy_dir", NULL, NULL, f->err, sizeof(f->err)),
        0);
    const ch_org_clocks *nch = ch_org_set_find(&f->set, "nottingham-city-homes");
    const ch_org_clocks *dh = ch_org_set_find(&f->set, "derby-homes");
    assert_non_null(nch);
    assert_non_null(dh);
    assert_unchanged(f, nch, dh);

    put_file(f, "broken.yaml", "organisation:\n  id: broken\n  reference_prefix: [\n");
    assert_int_not_equal(
        ch__org_set_replace(&f->set, f->dir, "x.policy_dir", NULL, NULL, f->err, sizeof(f->err)),
        0);
    assert_non_null(strstr(f->err, "broken.yaml"));
    assert_unchanged(f, nch, dh);
    remove_file(f, "broken.yaml");

    copy_policy(f, "nottingham-city-homes", "nch-again.yaml"); /* one organisation twice */
    assert_int_not_equal(
        ch__org_set_replace(&f->set, f->dir, "x.policy_dir", NULL, NULL, f->err, sizeof(f->err)),
        0);
    assert_unchanged(f, nch, dh);
    remove_file(f, "nch-again.yaml");
}

static void
test_empty_directory_keeps_the_running_set(void **state)
{
    fixture *f = *state;
    assert_int_equal(
        ch__org_set_replace(&f->set, f->dir, "x.policy_dir", NULL, NULL, f->err, sizeof(f->err)),
        0);
    const ch_org_clocks *nch = ch_org_set_find(&f->set, "nottingham-city-homes");
    const ch_org_clocks *dh = ch_org_set_find(&f->set, "derby-homes");
    remove_file(f, "nch.yaml");
    remove_file(f, "dh.yaml");
    assert_int_not_equal(
        ch__org_set_replace(&f->set, f->dir, "x.policy_dir", NULL, NULL, f->err, sizeof(f->err)),
        0);
    assert_unchanged(f, nch, dh);
    char gone[96];
    snprintf(gone, sizeof(gone), "%s/none", f->dir);
    assert_int_not_equal(
        ch__org_set_replace(&f->set, gone, "x.policy_dir", NULL, NULL, f->err, sizeof(f->err)), 0);
    assert_non_null(strstr(f->err, "x.policy_dir"));
    assert_unchanged(f, nch, dh);
}

static void
test_service_refusal_keeps_the_running_set(void **state)
{
    fixture *f = *state;
    assert_int_equal(
        ch__org_set_replace(&f->set, f->dir, "x.policy_dir", NULL, NULL, f->err, sizeof(f->err)),
        0);
    const ch_org_clocks *nch = ch_org_set_find(&f->set, "nottingham-city-homes");
    const ch_org_clocks *dh = ch_org_set_find(&f->set, "derby-homes");
    copy_policy(f, "nihe", "nihe.yaml");
    int asked = 0;
    assert_int_equal(ch__org_set_replace(&f->set, f->dir, "x.policy_dir", refuse, &asked, f->err,
                                         sizeof(f->err)),
                     CH_EINVAL);
    assert_int_equal(asked, 1);
    assert_string_equal(f->err, "template x.txt:3: unknown placeholder");
    assert_unchanged(f, nch, dh);
    assert_null(ch_org_set_find(&f->set, "nihe"));
}

static void
test_good_directory_replaces(void **state)
{
    fixture *f = *state;
    assert_int_equal(
        ch__org_set_replace(&f->set, f->dir, "x.policy_dir", NULL, NULL, f->err, sizeof(f->err)),
        0);
    copy_policy(f, "nihe", "nihe.yaml");
    remove_file(f, "dh.yaml");
    int asked = 0;
    assert_int_equal(
        ch__org_set_replace(&f->set, f->dir, "x.policy_dir", agree, &asked, f->err, sizeof(f->err)),
        0);
    assert_int_equal(asked, 1);
    assert_int_equal(f->set.n, 2);
    assert_null(ch_org_set_find(&f->set, "derby-homes"));
    const ch_org_clocks *nihe = ch_org_set_find(&f->set, "nihe");
    assert_non_null(nihe);
    assert_string_equal(nihe->policy.reference_prefix, "NIHE");
    /* no directory (an optional key left empty): an empty set */
    assert_int_equal(
        ch__org_set_replace(&f->set, NULL, "x.policy_dir", NULL, NULL, f->err, sizeof(f->err)), 0);
    assert_int_equal(f->set.n, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_policy_keeps_the_running_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_directory_keeps_the_running_set, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_service_refusal_keeps_the_running_set, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_good_directory_replaces, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
