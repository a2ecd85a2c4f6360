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

#include "charter/calendar.h"
#include "charter/deadline.h"
#include "charter/errors.h"
#include "charter/fileio.h"
#include "charter/timeutil.h"
#include "policy_store_int.h"
#include "support/scratch.h"
#include "support/shipped.h"

typedef struct {
    fx_scratch dir;
    ch_org_set set;
    char err[1024];
} fixture;

/* Copies policies/<org>.yaml into the fixture's directory as `as`. */
static void
copy_policy(fixture *f, const char *org, const char *as)
{
    char file[128];
    snprintf(file, sizeof(file), "%s.yaml", org);
    fx_scratch_copy(&f->dir, fx_policies_dir(), file, as);
}

/* ch__org_set_replace() of the running set from dir, as for x.policy_dir. */
static int
replace(fixture *f, const char *dir, int (*check)(void *, char *, size_t), void *arg)
{
    return ch__org_set_replace(&f->set, dir, "x.policy_dir", NULL, check, arg, f->err,
                               sizeof(f->err));
}

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    fx_scratch_new(&f->dir);
    copy_policy(f, "nottingham-city-homes", "nch.yaml");
    copy_policy(f, "derby-homes", "dh.yaml");
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    fx_scratch_free(&f->dir);
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

/* Loads the fixture's directory as the running set; *nch and *dh are its
 * two policies as found there. */
static void
load_running(fixture *f, const ch_org_clocks **nch, const ch_org_clocks **dh)
{
    assert_int_equal(replace(f, f->dir.path, NULL, NULL), 0);
    *nch = ch_org_set_find(&f->set, "nottingham-city-homes");
    *dh = ch_org_set_find(&f->set, "derby-homes");
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
    const ch_org_clocks *nch, *dh;
    load_running(f, &nch, &dh);
    assert_non_null(nch);
    assert_non_null(dh);
    assert_unchanged(f, nch, dh);

    fx_scratch_put(&f->dir, "broken.yaml", "organisation:\n  id: broken\n  reference_prefix: [\n");
    assert_int_not_equal(replace(f, f->dir.path, NULL, NULL), 0);
    assert_non_null(strstr(f->err, "broken.yaml"));
    assert_unchanged(f, nch, dh);
    fx_scratch_remove(&f->dir, "broken.yaml");

    copy_policy(f, "nottingham-city-homes", "nch-again.yaml"); /* one organisation twice */
    assert_int_not_equal(replace(f, f->dir.path, NULL, NULL), 0);
    assert_unchanged(f, nch, dh);
    fx_scratch_remove(&f->dir, "nch-again.yaml");
}

static void
test_empty_directory_keeps_the_running_set(void **state)
{
    fixture *f = *state;
    const ch_org_clocks *nch, *dh;
    load_running(f, &nch, &dh);
    fx_scratch_remove(&f->dir, "nch.yaml");
    fx_scratch_remove(&f->dir, "dh.yaml");
    assert_int_not_equal(replace(f, f->dir.path, NULL, NULL), 0);
    assert_unchanged(f, nch, dh);
    char gone[sizeof(f->dir.path) + 8];
    snprintf(gone, sizeof(gone), "%s/none", f->dir.path);
    assert_int_not_equal(replace(f, gone, NULL, NULL), 0);
    assert_non_null(strstr(f->err, "x.policy_dir"));
    assert_unchanged(f, nch, dh);
}

static void
test_service_refusal_keeps_the_running_set(void **state)
{
    fixture *f = *state;
    const ch_org_clocks *nch, *dh;
    load_running(f, &nch, &dh);
    copy_policy(f, "nihe", "nihe.yaml");
    int asked = 0;
    assert_int_equal(replace(f, f->dir.path, refuse, &asked), CH_EINVAL);
    assert_int_equal(asked, 1);
    assert_string_equal(f->err, "template x.txt:3: unknown placeholder");
    assert_unchanged(f, nch, dh);
    assert_null(ch_org_set_find(&f->set, "nihe"));
}

static void
test_good_directory_replaces(void **state)
{
    fixture *f = *state;
    assert_int_equal(replace(f, f->dir.path, NULL, NULL), 0);
    copy_policy(f, "nihe", "nihe.yaml");
    fx_scratch_remove(&f->dir, "dh.yaml");
    int asked = 0;
    assert_int_equal(replace(f, f->dir.path, agree, &asked), 0);
    assert_int_equal(asked, 1);
    assert_int_equal(f->set.n, 2);
    assert_null(ch_org_set_find(&f->set, "derby-homes"));
    const ch_org_clocks *nihe = ch_org_set_find(&f->set, "nihe");
    assert_non_null(nihe);
    assert_string_equal(nihe->policy.reference_prefix, "NIHE");
    /* no directory (an optional key left empty): an empty set */
    assert_int_equal(replace(f, NULL, NULL, NULL), 0);
    assert_int_equal(f->set.n, 0);
}

/* GOV.UK's document for 2027 as the rules give it, plus `extra` (a date
 * announced after the rules were written) in every division. */
static void
put_holidays_2027(fixture *f, const char *name, const char *extra)
{
    static const char *divisions[] = {"england-and-wales", "scotland", "northern-ireland"};
    char doc[8192];
    size_t n = (size_t)snprintf(doc, sizeof(doc), "{");
    for (int k = 0; k < 3; k++) {
        n +=
            (size_t)snprintf(doc + n, sizeof(doc) - n, "%s\"%s\":{\"division\":\"%s\",\"events\":[",
                             k ? "," : "", divisions[k], divisions[k]);
        ch_holiday h[32];
        int count = ch_bank_holidays((ch_nation)k, 2027, h, 32);
        assert_true(count > 0);
        for (int i = 0; i < count; i++) {
            int y, m, d;
            ch_civil_from_day(h[i].day, &y, &m, &d);
            n += (size_t)snprintf(doc + n, sizeof(doc) - n,
                                  "{\"title\":\"x\",\"date\":\"%04d-%02d-%02d\"},", y, m, d);
        }
        n += (size_t)snprintf(doc + n, sizeof(doc) - n,
                              "{\"title\":\"Special bank holiday\",\"date\":\"%s\"}]}", extra);
    }
    snprintf(doc + n, sizeof(doc) - n, "}");
    fx_scratch_put(&f->dir, name, doc);
}

/* When a reply clock of 5 working days from Wednesday 2 June 2027, 10:00 UTC
 * falls due for Derby Homes in the running set. */
static int64_t
due_2_june(const fixture *f)
{
    const ch_org_clocks *dh = ch_org_set_find(&f->set, "derby-homes");
    assert_non_null(dh);
    ch_clock clock;
    char err[256];
    assert_int_equal(ch_clock_parse("5 working days", &clock, err, sizeof(err)), 0);
    int64_t start, due;
    assert_int_equal(ch_time_parse_rfc3339("2027-06-02T10:00:00Z", &start), 0);
    assert_int_equal(ch_deadline_due(&dh->ctx, &clock, start, NULL, 0, &due), 0);
    return due;
}

/* holidays.override_file: a one-off bank holiday announced after release
 * (Monday 7 June 2027) moves a deadline by a working day once the file is
 * in force; a bad file refuses the load and keeps the running set. */
static void
test_holiday_override_moves_a_deadline(void **state)
{
    fixture *f = *state;
    assert_int_equal(replace(f, f->dir.path, NULL, NULL), 0);
    int64_t before = due_2_june(f), want;
    assert_int_equal(ch_time_parse_rfc3339("2027-06-09T23:59:59+01:00", &want), 0);
    assert_true(before == want);

    put_holidays_2027(f, "holidays.json.in", "2027-06-07");
    char holidays[sizeof(f->dir.path) + 32];
    snprintf(holidays, sizeof(holidays), "%s/holidays.json.in", f->dir.path);
    assert_int_equal(ch__org_set_replace(&f->set, f->dir.path, "x.policy_dir", holidays, NULL, NULL,
                                         f->err, sizeof(f->err)),
                     0);
    assert_int_equal(ch_time_parse_rfc3339("2027-06-10T23:59:59+01:00", &want), 0);
    assert_true(due_2_june(f) == want);

    const ch_org_clocks *dh = ch_org_set_find(&f->set, "derby-homes");
    fx_scratch_put(&f->dir, "holidays.json.in", "{\"england-and-wales\": {\"events\": [}}");
    assert_int_equal(ch__org_set_replace(&f->set, f->dir.path, "x.policy_dir", holidays, NULL, NULL,
                                         f->err, sizeof(f->err)),
                     CH_EINVAL);
    assert_non_null(strstr(f->err, "holidays.json.in"));
    assert_ptr_equal(ch_org_set_find(&f->set, "derby-homes"), dh);
    assert_true(due_2_june(f) == want);
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
        cmocka_unit_test_setup_teardown(test_holiday_override_moves_a_deadline, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
