/*
 * The extension verdict (charter/extension.h) as a table: each row is a
 * holding reply for a case under a shipped policy, the verdict it must get,
 * the latest new target the promise allows and a phrase the reason must
 * carry. Then the loader's statutory presets: on by default, refusable,
 * never lengthened.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "charter/errors.h"
#include "charter/extension.h"
#include "charter/org_set.h"
#include "charter/timeutil.h"
#include "support/instant.h"
#include "support/shipped.h"

enum {
    R = CH_POLICY_HOLD_REASON,
    N = CH_POLICY_HOLD_NEXT_STEPS,
    A = CH_POLICY_HOLD_APOLOGY,
    C = CH_POLICY_HOLD_NAMED_CONTACT
};

typedef struct {
    const char *what;
    const char *org, *channel, *type;
    const char *start, *due, *target; /* the clock; target NULL: the due instant */
    const char *recorded, *asked;     /* asked NULL: no new target */
    unsigned includes;                /* besides the target date */
    const char *basis;
    ch_extension_verdict want;
    const char *limit; /* the latest allowed; NULL: none */
    const char *says;  /* in the reason; NULL when allowed */
} row;

static const row rows[] = {
    /* Derby stage 1 complaint: the Code's 10 working days from the due
     * instant Mon 23 Mar 2026 (Good Friday and Easter Monday skipped) */
    {"derby complaint within the Code's cap", "derby-homes", "email", "complaint_stage_1",
     "2026-03-09T10:00:00Z", "2026-03-23T23:59:59Z", NULL, "2026-03-16T10:00:00Z",
     "2026-04-07T17:00:00Z", R, NULL, CH_EXTENSION_ALLOWED, "2026-04-08T22:59:59Z", NULL},
    {"derby complaint exactly at the cap", "derby-homes", "email", "complaint_stage_1",
     "2026-03-09T10:00:00Z", "2026-03-23T23:59:59Z", NULL, "2026-03-16T10:00:00Z",
     "2026-04-08T22:59:59Z", R, NULL, CH_EXTENSION_ALLOWED, "2026-04-08T22:59:59Z", NULL},
    {"derby complaint to 30 June", "derby-homes", "email", "complaint_stage_1",
     "2026-03-09T10:00:00Z", "2026-03-23T23:59:59Z", NULL, "2026-03-16T10:00:00Z",
     "2026-06-30T16:00:00Z", R, NULL, CH_EXTENSION_TOO_FAR, "2026-04-08T22:59:59Z",
     "max_extension 10 working days"},
    {"derby complaint without a reason", "derby-homes", "email", "complaint_stage_1",
     "2026-03-09T10:00:00Z", "2026-03-23T23:59:59Z", NULL, "2026-03-16T10:00:00Z",
     "2026-04-07T17:00:00Z", N, NULL, CH_EXTENSION_MISSING, "2026-04-08T22:59:59Z",
     "does not give the reason"},
    {"derby complaint after the breach", "derby-homes", "email", "complaint_stage_1",
     "2026-03-09T10:00:00Z", "2026-03-23T23:59:59Z", NULL, "2026-03-24T09:00:00Z",
     "2026-04-07T17:00:00Z", R, NULL, CH_EXTENSION_TOO_LATE, NULL,
     "after the target in force 2026-03-23T23:59:59+00:00"},
    {"derby complaint: a second extension after the first target, before the second", "derby-homes",
     "email", "complaint_stage_1", "2026-03-09T10:00:00Z", "2026-03-23T23:59:59Z",
     "2026-04-01T16:00:00Z", "2026-03-30T09:00:00Z", "2026-04-08T16:00:00Z", R, NULL,
     CH_EXTENSION_ALLOWED, "2026-04-08T22:59:59Z", NULL},
    {"derby complaint: a new target before the one in force", "derby-homes", "email",
     "complaint_stage_1", "2026-03-09T10:00:00Z", "2026-03-23T23:59:59Z", "2026-04-01T16:00:00Z",
     "2026-03-30T09:00:00Z", "2026-03-31T16:00:00Z", R, NULL, CH_EXTENSION_NO_NEW_TARGET, NULL,
     "is not after the target in force"},
    {"derby complaint: no new target", "derby-homes", "email", "complaint_stage_1",
     "2026-03-09T10:00:00Z", "2026-03-23T23:59:59Z", NULL, "2026-03-16T10:00:00Z", NULL, R, NULL,
     CH_EXTENSION_NO_NEW_TARGET, NULL, "no new target date"},
    {"derby written enquiry with a statutory basis", "derby-homes", "email", "enquiry",
     "2026-03-06T17:30:00Z", "2026-03-20T23:59:59Z", NULL, "2026-03-16T10:00:00Z",
     "2026-04-07T17:00:00Z", R | N, "foi_public_interest", CH_EXTENSION_WRONG_BASIS, NULL,
     "is the charter's own"},
    {"derby written enquiry, no limit, reason and next steps", "derby-homes", "email", "enquiry",
     "2026-03-06T17:30:00Z", "2026-03-20T23:59:59Z", NULL, "2026-03-16T10:00:00Z",
     "2026-09-07T17:00:00Z", R | N, NULL, CH_EXTENSION_ALLOWED, NULL, NULL},
    {"derby written enquiry without next steps", "derby-homes", "email", "enquiry",
     "2026-03-06T17:30:00Z", "2026-03-20T23:59:59Z", NULL, "2026-03-16T10:00:00Z",
     "2026-04-07T17:00:00Z", R, NULL, CH_EXTENSION_MISSING, NULL, "the next steps"},
    {"digital-first email without the apology", "digital-first-council", "email", "enquiry",
     "2026-03-06T17:30:00Z", "2026-03-20T23:59:59Z", NULL, "2026-03-16T10:00:00Z",
     "2026-04-07T17:00:00Z", R, NULL, CH_EXTENSION_MISSING, NULL, "an apology"},
    {"nch letter without a named contact", "nottingham-city-homes", "letter", "enquiry",
     "2026-11-23T09:00:00Z", "2026-12-02T23:59:59Z", NULL, "2026-11-30T10:00:00Z",
     "2026-12-11T17:00:00Z", R | N | A, NULL, CH_EXTENSION_MISSING, NULL, "a named contact"},
    {"nihe complaint: no holding reply in the policy", "nihe", "email", "complaint_stage_1",
     "2026-03-02T10:00:00Z", "2026-03-23T23:59:59Z", NULL, "2026-03-16T10:00:00Z",
     "2026-04-07T17:00:00Z", R | N | A | C, NULL, CH_EXTENSION_NOT_ALLOWED, NULL,
     "allows no holding reply"},

    /* NIHE FOI received Mon 2 Mar 2026, due Tue 31 Mar: s.10(3) gives 20
     * further working days on uk-any, to Thu 30 Apr (3 and 6 Apr skipped) */
    {"foi within s.10(3)", "nihe", "email", "foi", "2026-03-02T10:00:00Z", "2026-03-31T22:59:59Z",
     NULL, "2026-03-20T10:00:00Z", "2026-04-30T16:00:00Z", R, "foi_public_interest",
     CH_EXTENSION_ALLOWED, "2026-04-30T22:59:59Z", NULL},
    {"foi to 30 June", "nihe", "email", "foi", "2026-03-02T10:00:00Z", "2026-03-31T22:59:59Z", NULL,
     "2026-03-20T10:00:00Z", "2026-06-30T16:00:00Z", R, "foi_public_interest", CH_EXTENSION_TOO_FAR,
     "2026-04-30T22:59:59Z",
     "later than FOI Act 2000 s.10(3) allows (at most 20 further working days, per ICO guidance): "
     "2026-04-30T23:59:59+01:00 at the latest"},
    {"foi without a basis", "nihe", "email", "foi", "2026-03-02T10:00:00Z", "2026-03-31T22:59:59Z",
     NULL, "2026-03-20T10:00:00Z", "2026-04-20T16:00:00Z", R, NULL, CH_EXTENSION_WRONG_BASIS, NULL,
     "gives none"},
    {"foi under the EIR's basis", "nihe", "email", "foi", "2026-03-02T10:00:00Z",
     "2026-03-31T22:59:59Z", NULL, "2026-03-20T10:00:00Z", "2026-04-20T16:00:00Z", R, "eir_complex",
     CH_EXTENSION_WRONG_BASIS, NULL, "another law's"},
    {"foi under a made-up basis", "nihe", "email", "foi", "2026-03-02T10:00:00Z",
     "2026-03-31T22:59:59Z", NULL, "2026-03-20T10:00:00Z", "2026-04-20T16:00:00Z", R,
     "because_we_said_so", CH_EXTENSION_WRONG_BASIS, NULL, "an unknown basis"},
    {"foi without the reason", "nihe", "email", "foi", "2026-03-02T10:00:00Z",
     "2026-03-31T22:59:59Z", NULL, "2026-03-20T10:00:00Z", "2026-04-20T16:00:00Z", 0,
     "foi_public_interest", CH_EXTENSION_MISSING, "2026-04-30T22:59:59Z", "the reason"},
    {"foi after the breach", "nihe", "email", "foi", "2026-03-02T10:00:00Z", "2026-03-31T22:59:59Z",
     NULL, "2026-04-01T09:00:00Z", "2026-04-20T16:00:00Z", R, "foi_public_interest",
     CH_EXTENSION_TOO_LATE, NULL, "the breach stands"},
    /* EIR reg. 7(1): 40 working days from receipt, the same Thu 30 Apr */
    {"eir within reg. 7(1)", "nihe", "email", "eir", "2026-03-02T10:00:00Z", "2026-03-31T22:59:59Z",
     NULL, "2026-03-20T10:00:00Z", "2026-04-30T22:59:59Z", R, "eir_complex", CH_EXTENSION_ALLOWED,
     "2026-04-30T22:59:59Z", NULL},
    {"eir a day past reg. 7(1)", "nihe", "email", "eir", "2026-03-02T10:00:00Z",
     "2026-03-31T22:59:59Z", NULL, "2026-03-20T10:00:00Z", "2026-05-01T16:00:00Z", R, "eir_complex",
     CH_EXTENSION_TOO_FAR, "2026-04-30T22:59:59Z", "EIR 2004 reg. 7(1)"},
    /* SAR art. 12(3): three months from receipt. 31 Jan 2026 -> 30 Apr. */
    {"sar within art. 12(3)", "nihe", "email", "sar", "2026-01-31T10:00:00Z",
     "2026-03-02T23:59:59Z", NULL, "2026-02-20T10:00:00Z", "2026-04-30T16:00:00Z", R, "sar_complex",
     CH_EXTENSION_ALLOWED, "2026-04-30T22:59:59Z", NULL},
    {"sar a day too far", "nihe", "email", "sar", "2026-01-31T10:00:00Z", "2026-03-02T23:59:59Z",
     NULL, "2026-02-20T10:00:00Z", "2026-05-01T16:00:00Z", R, "sar_complex", CH_EXTENSION_TOO_FAR,
     "2026-04-30T22:59:59Z", "at most two further months"},
    /* month ends and leap years: 30 Nov 2027 + 3 months is Tue 29 Feb 2028;
     * 30 Nov 2026 + 3 months is Sun 28 Feb 2027, moved to Mon 1 Mar */
    {"sar from 30 Nov 2027: leap day", "nihe", "email", "sar", "2027-11-30T10:00:00Z",
     "2027-12-30T23:59:59Z", NULL, "2027-12-20T10:00:00Z", "2028-02-29T23:59:59Z", R, "sar_complex",
     CH_EXTENSION_ALLOWED, "2028-02-29T23:59:59Z", NULL},
    {"sar from 30 Nov 2026: 28 Feb 2027 is a Sunday", "nihe", "email", "sar",
     "2026-11-30T10:00:00Z", "2026-12-30T23:59:59Z", NULL, "2026-12-20T10:00:00Z",
     "2027-03-01T23:59:59Z", R, "sar_complex", CH_EXTENSION_ALLOWED, "2027-03-01T23:59:59Z", NULL},
    {"sar under the FOI basis", "nihe", "email", "sar", "2026-01-31T10:00:00Z",
     "2026-03-02T23:59:59Z", NULL, "2026-02-20T10:00:00Z", "2026-04-30T16:00:00Z", R,
     "foi_public_interest", CH_EXTENSION_WRONG_BASIS, NULL, "statutory_basis sar_complex"},
};

static const ch_org_clocks *
org(const fx_shipped_clocks *s, const char *id)
{
    return !strcmp(id, "nottingham-city-homes")   ? &s->nch
           : !strcmp(id, "derby-homes")           ? &s->derby
           : !strcmp(id, "nihe")                  ? &s->nihe
           : !strcmp(id, "digital-first-council") ? &s->dfc
                                                  : &s->ccc;
}

static void
test_table(void **state)
{
    const fx_shipped_clocks *shipped = *state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const row *w = &rows[i];
        const ch_org_clocks *oc = org(shipped, w->org);
        const ch_policy_promise *p = ch_policy_find_promise(&oc->policy, w->channel, w->type);
        if (!p)
            fail_msg("%s: no promise", w->what);
        ch_extension_clock c = {.start_ms = fx_at(w->start),
                                .original_due_ms = fx_at(w->due),
                                .target_ms = fx_at(w->target ? w->target : w->due)};
        int64_t asked = w->asked ? fx_at(w->asked) : 0;
        ch_extension_request r = {.recorded_ms = fx_at(w->recorded),
                                  .new_target_ms = asked,
                                  .includes =
                                      w->includes | (asked ? CH_POLICY_HOLD_TARGET_DATE : 0)};
        r.basis_unknown = ch_extension_basis_parse(w->basis, &r.basis) != 0;
        int64_t limit = -1;
        char why[400];
        ch_extension_verdict v = ch_extension_check(&oc->ctx, p, &c, &r, &limit, why, sizeof(why));
        if (v != w->want)
            fail_msg("%s: verdict %d, expected %d (%s)", w->what, v, w->want, why);
        if (w->limit && limit != fx_at(w->limit)) {
            char got[40];
            ch_time_format_utc(limit, got, sizeof(got));
            fail_msg("%s: limit %s, expected %s", w->what, got, w->limit);
        }
        if (w->says && !strstr(why, w->says))
            fail_msg("%s: reason \"%s\" lacks \"%s\"", w->what, why, w->says);
        if (!w->says && why[0])
            fail_msg("%s: allowed, but a reason was given: %s", w->what, why);
    }
}

static void
test_names_and_includes(void **state)
{
    (void)state;
    ch_policy_statutory b;
    assert_int_equal(ch_extension_basis_parse("eir_complex", &b), 0);
    assert_int_equal(b, CH_POLICY_STATUTORY_EIR_COMPLEX);
    assert_int_equal(ch_extension_basis_parse("", &b), 0);
    assert_int_equal(b, CH_POLICY_STATUTORY_NONE);
    assert_int_equal(ch_extension_basis_parse("foi", &b), CH_EINVAL);
    assert_string_equal(ch_extension_basis_name(CH_POLICY_STATUTORY_SAR_COMPLEX), "sar_complex");
    assert_string_equal(ch_extension_basis_name(CH_POLICY_STATUTORY_NONE), "");
    assert_int_equal(ch_extension_includes("why", "", 1, NULL, 5),
                     CH_POLICY_HOLD_REASON | CH_POLICY_HOLD_APOLOGY | CH_POLICY_HOLD_TARGET_DATE);
    assert_int_equal(ch_extension_includes(NULL, "next", 0, "Jo", 0),
                     CH_POLICY_HOLD_NEXT_STEPS | CH_POLICY_HOLD_NAMED_CONTACT);
}

#define POLICY_HEAD                                                                                \
    "organisation:\n  id: t\n  name: T\n  reference_prefix: TT\n  kind: council\n"                 \
    "calendar: england-and-wales\ntimezone: Europe/London\n"                                       \
    "opening_hours:\n  monday-friday: \"09:00-17:00\"\nroles:\n  owner: Owner\npromises:\n"

/* The loader: FOI, EIR and SAR get the law's extension by default; a policy
 * may refuse it; the law's limit cannot be given another; FOISA and a
 * charter's own clock get none. */
static void
test_loader_presets(void **state)
{
    (void)state;
    ch_policy p;
    char err[512];
    const char *ok = POLICY_HEAD "  - id: foi\n    channel: any\n    case_type: foi\n    says: x\n"
                                 "    acknowledge: none\n    respond: foi\n"
                                 "  - id: sar\n    channel: any\n    case_type: sar\n    says: x\n"
                                 "    acknowledge: none\n    respond: sar\n"
                                 "    holding_reply: not_allowed\n"
                                 "  - id: scot\n    channel: any\n    case_type: eir\n    says: x\n"
                                 "    acknowledge: none\n    respond: foisa\n"
                                 "  - id: own\n    channel: any\n    says: x\n"
                                 "    acknowledge: none\n    respond: 5 working days\n";
    if (ch_policy_load_text(ok, strlen(ok), "t.yaml", &p, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    const ch_policy_promise *foi = &p.promises[0], *sar = &p.promises[1], *scot = &p.promises[2],
                            *own = &p.promises[3];
    assert_true(foi->holding_reply);
    assert_int_equal(foi->statutory_basis, CH_POLICY_STATUTORY_FOI_PUBLIC_INTEREST);
    assert_true(foi->statutory_limit.set);
    assert_int_equal(foi->statutory_limit.clock.n, 40);
    assert_int_equal(foi->statutory_limit.clock.calendar, CH_CLOCK_CAL_UK_ANY);
    assert_int_equal(foi->holding_must_include, CH_POLICY_HOLD_REASON | CH_POLICY_HOLD_TARGET_DATE);
    assert_false(sar->holding_reply); /* the policy refused it */
    assert_int_equal(sar->statutory_basis, CH_POLICY_STATUTORY_SAR_COMPLEX);
    assert_false(scot->holding_reply);
    assert_int_equal(scot->statutory_basis, CH_POLICY_STATUTORY_NONE);
    assert_false(own->holding_reply);
    assert_int_equal(own->statutory_basis, CH_POLICY_STATUTORY_NONE);
    ch_policy_free(&p);

    const char *bad = POLICY_HEAD "  - id: foi\n    channel: any\n    case_type: foi\n    says: x\n"
                                  "    acknowledge: none\n    respond: foi\n"
                                  "    holding_reply:\n      max_extension: 60 working days\n";
    assert_int_equal(ch_policy_load_text(bad, strlen(bad), "t.yaml", &p, err, sizeof(err)),
                     CH_EINVAL);
    if (!strstr(err, "t.yaml:20:22: promises[0].holding_reply.max_extension: the law "
                     "sets how far a statutory clock (foi) may be extended"))
        fail_msg("%s", err);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_names_and_includes),
        cmocka_unit_test(test_loader_presets),
    };
    return cmocka_run_group_tests(tests, fx_shipped_setup, fx_shipped_teardown);
}
