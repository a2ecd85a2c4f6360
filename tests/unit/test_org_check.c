/*
 * The one check of what a policy needs (charter/org_check.h), shared by the
 * services and `charterctl policy check`: a misspelt zone is refused with
 * file:line:column naming the key (it used to pass the check and stop the
 * services), the templates a policy's notices need must be found, and every
 * role must get an address from the staff pattern.
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
#include "charter/org_check.h"
#include "support/scratch.h"

#ifndef CHARTER_POLICIES_DIR
#error "CHARTER_POLICIES_DIR must name the policies/ directory"
#endif
#ifndef CHARTER_TEMPLATES_DIR
#error "CHARTER_TEMPLATES_DIR must name the templates/ directory"
#endif

/* nihe.yaml with `from` replaced by `to`, written to d as nihe.yaml. */
static void
nihe_with(fx_scratch *d, const char *from, const char *to)
{
    char *text, err[256], src[512];
    size_t len;
    snprintf(src, sizeof(src), "%s/nihe.yaml", CHARTER_POLICIES_DIR);
    assert_int_equal(ch_file_read_all(src, 1 << 20, &text, &len, err, sizeof(err)), 0);
    char *at = strstr(text, from);
    assert_non_null(at);
    size_t n = len + strlen(to) + 1;
    char *out = malloc(n);
    assert_non_null(out);
    snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    fx_scratch_put(d, "nihe.yaml", out);
    free(out);
    free(text);
}

static void
test_shipped_policies_pass_with_shipped_templates(void **state)
{
    (void)state;
    const char *orgs[] = {"nihe", "derby-homes", "nottingham-city-homes", "digital-first-council",
                          "customer-care-council"};
    ch_org_check_opts o = {CHARTER_TEMPLATES_DIR, "{role}@council.example"};
    for (size_t i = 0; i < 5; i++) {
        char path[512], err[1024];
        snprintf(path, sizeof(path), "%s/%s.yaml", CHARTER_POLICIES_DIR, orgs[i]);
        ch_org_clocks oc;
        if (ch_org_check_file(path, &o, &oc, err, sizeof(err)) != 0)
            fail_msg("%s", err);
        assert_non_null(oc.tz);
        ch_org_clocks_free(&oc);
    }
}

static void
test_misspelt_zone_refused_at_its_line(void **state)
{
    (void)state;
    fx_scratch d;
    fx_scratch_new(&d);
    nihe_with(&d, "timezone: Europe/London", "timezone: Europe/Londn");
    char path[600], err[1024], want[800];
    snprintf(path, sizeof(path), "%s/nihe.yaml", d.path);
    ch_org_clocks oc;
    assert_int_equal(ch_org_check_file(path, NULL, &oc, err, sizeof(err)), CH_EINVAL);
    snprintf(want, sizeof(want), "%s:19:11: timezone: Europe/Londn: unknown time zone", path);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("got  %s\nwant %s...", err, want);
    assert_null(oc.tz);
    fx_scratch_free(&d);
}

static void
test_missing_template_refused(void **state)
{
    (void)state;
    /* A template directory with the acknowledgements but no holding reply,
     * which nihe's promises allow. */
    fx_scratch t;
    fx_scratch_new(&t);
    char sub[600];
    snprintf(sub, sizeof(sub), "%s/default", t.path);
    assert_int_equal(mkdir(sub, 0700), 0);
    fx_scratch_put(&t, "default/acknowledgement.any.en.txt", "Subject: x\n\nx\n");
    char path[512], err[1024];
    snprintf(path, sizeof(path), "%s/nihe.yaml", CHARTER_POLICIES_DIR);
    ch_org_clocks oc;
    ch_org_check_opts o = {t.path, NULL};
    assert_int_equal(ch_org_check_file(path, &o, &oc, err, sizeof(err)), CH_EINVAL);
    char want[800];
    snprintf(want, sizeof(want), "%s: organisation nihe needs a template for holding_reply (email)",
             path);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("got  %s\nwant %s...", err, want);
    assert_null(oc.policy.promises);
    fx_scratch_remove(&t, "default/acknowledgement.any.en.txt");
    assert_int_equal(rmdir(sub), 0);
    fx_scratch_free(&t);
}

static void
test_roles_need_addresses(void **state)
{
    (void)state;
    char path[512], err[1024];
    snprintf(path, sizeof(path), "%s/nihe.yaml", CHARTER_POLICIES_DIR);
    ch_org_clocks oc;
    assert_int_equal(ch_org_clocks_load(path, &oc, err, sizeof(err)), 0);
    assert_int_equal(ch_org_check_roles(&oc.policy, "{role}@council.example", err, sizeof(err)), 0);
    assert_int_equal(ch_org_check_roles(&oc.policy, "alerts@council.example", err, sizeof(err)), 0);
    assert_int_equal(ch_org_check_roles(&oc.policy, NULL, err, sizeof(err)), 0);
    assert_int_equal(ch_org_check_roles(&oc.policy, "{role}", err, sizeof(err)), CH_EINVAL);
    char want[800];
    snprintf(want, sizeof(want), "%s: roles.%s: the staff address pattern '{role}' gives", path,
             oc.policy.roles[0].key);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("got  %s\nwant %s...", err, want);
    assert_int_equal(ch_org_check_roles(&oc.policy, "{role} @x", err, sizeof(err)), CH_EINVAL);
    assert_int_equal(ch_org_check_roles(&oc.policy, "{role}@", err, sizeof(err)), CH_EINVAL);
    ch_org_clocks_free(&oc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_policies_pass_with_shipped_templates),
        cmocka_unit_test(test_misspelt_zone_refused_at_its_line),
        cmocka_unit_test(test_missing_template_refused),
        cmocka_unit_test(test_roles_need_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
