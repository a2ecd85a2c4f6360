/*
 * Every contact falls under a rule (routing.c) and every key is acted on
 * (policy_keys.c): the loader supplies the statutory foi, eir and sar rules
 * and a last measured-only rule, refuses a statutory type narrowed to some
 * channels or given a looser clock than the law, lists each organisation's
 * case types, routes a visitor with an appointment to the appointment clock,
 * and refuses a key no code acts on.
 *
 * The key check is made here independently of the loader: each shipped
 * policy is walked with libyaml and every key path in it must be a row of
 * ch_policy_key_uses(), and every row must name the code that acts on it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <yaml.h>

#include "charter/errors.h"
#include "charter/policy.h"
#include "policy_int.h"
#include "support/shipped.h"

static const char base[] = "organisation:\n"                    /* 1 */
                           "  id: test-org\n"                   /* 2 */
                           "  name: Test Org\n"                 /* 3 */
                           "  reference_prefix: TST\n"          /* 4 */
                           "  kind: council\n"                  /* 5 */
                           "calendar: england-and-wales\n"      /* 6 */
                           "opening_hours:\n"                   /* 7 */
                           "  monday-friday: \"09:00-17:00\"\n" /* 8 */
                           "promises:\n"                        /* 9 */
                           "  - id: email\n"                    /* 10 */
                           "    channel: email\n"               /* 11 */
                           "    says: We reply in 5 days\n"     /* 12 */
                           "    acknowledge: automatic\n"       /* 13 */
                           "    respond: 5 working days\n";     /* 14 */

static int
load_extra(const char *extra, ch_policy *p, char *err, size_t errsz)
{
    char text[4096];
    snprintf(text, sizeof(text), "%s%s", base, extra);
    return ch_policy_load_text(text, strlen(text), "t.yaml", p, err, errsz);
}

/* base + extra must fail with an error containing each of the wants. */
static void
refused(const char *extra, const char *want1, const char *want2)
{
    ch_policy p;
    char err[1024];
    int rc = load_extra(extra, &p, err, sizeof(err));
    if (rc != CH_EINVAL)
        fail_msg("accepted (rc %d): %s", rc, extra);
    if (!strstr(err, want1) || (want2 && !strstr(err, want2)))
        fail_msg("error '%s' lacks '%s'%s%s", err, want1, want2 ? " or " : "", want2 ? want2 : "");
    assert_null(p.promises);
}

static const ch_policy_promise *
find(const ch_policy *p, const char *channel, const char *type, const char *want)
{
    const ch_policy_promise *pr = ch_policy_find_promise(p, channel, type);
    if (!pr || strcmp(pr->id, want) != 0)
        fail_msg("%s/%s: found %s, expected %s", channel, type ? type : "-", pr ? pr->id : "none",
                 want);
    return pr;
}

/* ---- supplied rules ---- */

static void
test_statutory_and_measured_rules_supplied(void **state)
{
    (void)state;
    ch_policy p;
    char err[512];
    assert_int_equal(load_extra("", &p, err, sizeof(err)), 0);
    assert_int_equal(p.npromises, 5); /* email + foi, eir, sar, measured */
    /* FOI by email follows the law, not the email clock */
    const ch_policy_promise *pr = find(&p, "email", "foi", "charter-foi");
    assert_int_equal(pr->origin, CH_POLICY_SUPPLIED_STATUTORY);
    assert_string_equal(pr->respond.clock.preset, "foi");
    assert_int_equal(pr->respond.clock.n, 20);
    assert_int_equal(pr->respond.clock.calendar, CH_CLOCK_CAL_UK_ANY);
    assert_int_equal(pr->line, 0);
    assert_string_equal(find(&p, "phone", "eir", "charter-eir")->respond.clock.preset, "eir");
    /* a SAR by phone or in person gets one calendar month */
    pr = find(&p, "phone", "sar", "charter-sar");
    assert_int_equal(pr->respond.clock.kind, CH_CLOCK_MONTHS);
    assert_int_equal(pr->respond.clock.n, 1);
    assert_ptr_equal(find(&p, "visit", "sar", "charter-sar"), pr);
    /* everything else: measured, no time promised */
    pr = find(&p, "sms", "enquiry", "charter-measured");
    assert_int_equal(pr->origin, CH_POLICY_SUPPLIED_MEASURED);
    assert_true(pr->respond_measured_only && pr->answer_measured_only && pr->see_measured_only);
    assert_int_equal(pr->ack, CH_POLICY_ACK_NONE);
    assert_ptr_equal(find(&p, "visit", NULL, "charter-measured"), pr);
    assert_ptr_equal(find(&p, "phone", "complaint_stage_1", "charter-measured"), pr);
    char line[512];
    ch_policy_describe_promise(&p, pr, line, sizeof(line));
    assert_string_equal(line, "Any other contact: measured, no time promised (supplied by "
                              "Charter: no promise in this file covers it)");
    ch_policy_describe_promise(&p, find(&p, "email", "sar", "charter-sar"), line, sizeof(line));
    assert_non_null(strstr(line, "Subject access request: reply within 1 calendar month"));
    assert_non_null(strstr(line, "supplied by Charter: the law applies on every channel"));
    ch_policy_free(&p);
}

static void
test_scotland_gets_foisa(void **state)
{
    (void)state;
    char text[4096], err[512];
    snprintf(text, sizeof(text), "%s", base);
    char *cal = strstr(text, "england-and-wales");
    memcpy(cal, "scotland\n", 9);
    memmove(cal + 9, cal + strlen("england-and-wales\n"),
            strlen(cal + strlen("england-and-wales\n")) + 1);
    ch_policy p;
    assert_int_equal(ch_policy_load_text(text, strlen(text), "t.yaml", &p, err, sizeof(err)), 0);
    assert_string_equal(find(&p, "letter", "foi", "charter-foi")->respond.clock.preset, "foisa");
    ch_policy_free(&p);
}

static void
test_no_measured_rule_when_the_file_covers_everything(void **state)
{
    (void)state;
    ch_policy p;
    char err[512];
    assert_int_equal(load_extra("  - id: rest\n    channel: any\n    says: x\n"
                                "    acknowledge: none\n    respond: 10 working days\n",
                                &p, err, sizeof(err)),
                     0);
    for (size_t i = 0; i < p.npromises; i++)
        assert_int_not_equal(p.promises[i].origin, CH_POLICY_SUPPLIED_MEASURED);
    find(&p, "sms", NULL, "rest");
    /* the file's any/any does not swallow the statutory types */
    find(&p, "sms", "foi", "charter-foi");
    ch_policy_free(&p);
}

static void
test_statutory_named_in_the_file_is_kept(void **state)
{
    (void)state;
    ch_policy p;
    char err[512];
    /* a shorter clock than the law is allowed, split across channels when
     * one promise is on any channel */
    assert_int_equal(load_extra("  - id: foi-fast\n    channel: email\n    case_type: foi\n"
                                "    says: x\n    acknowledge: automatic\n"
                                "    respond: 15 working days\n"
                                "  - id: foi\n    channel: any\n    case_type: foi\n"
                                "    says: x\n    acknowledge: none\n    respond: foi\n"
                                "  - id: sar\n    channel: any\n    case_type: sar\n"
                                "    says: x\n    acknowledge: none\n    respond: 28 days\n",
                                &p, err, sizeof(err)),
                     0);
    find(&p, "email", "foi", "foi-fast");
    find(&p, "letter", "foi", "foi");
    find(&p, "phone", "sar", "sar");
    find(&p, "phone", "eir", "charter-eir");
    for (size_t i = 0; i < p.npromises; i++)
        assert_false(strcmp(p.promises[i].id, "charter-foi") == 0 ||
                     strcmp(p.promises[i].id, "charter-sar") == 0);
    ch_policy_free(&p);
    /* all eight channels listed is every channel too */
    assert_int_equal(load_extra("  - id: sar\n    channel: [phone, voicemail, email, letter, "
                                "online_form, social, visit, sms]\n    case_type: sar\n"
                                "    says: x\n    acknowledge: none\n    respond: sar\n"
                                "    answer: measured_only\n    see: measured_only\n",
                                &p, err, sizeof(err)),
                     0);
    find(&p, "visit", "sar", "sar");
    ch_policy_free(&p);
}

static void
test_statutory_narrowed_or_looser_refused(void **state)
{
    (void)state;
    /* narrowed to some channels */
    refused("  - id: sar\n    channel: [email, letter]\n    case_type: sar\n    says: x\n"
            "    acknowledge: none\n    respond: sar\n",
            "t.yaml:16:14: promises[1].channel: sar is statutory on every channel",
            "add a promise for sar with channel: any");
    /* looser than the law */
    refused("  - id: foi\n    channel: any\n    case_type: foi\n    says: x\n"
            "    acknowledge: none\n    respond: 30 working days\n",
            "t.yaml:20:14: promises[1].respond: 30 working days (foi) is longer than the law "
            "allows",
            "20 working days (Freedom of Information Act 2000 s.10");
    refused("  - id: sar\n    channel: any\n    case_type: sar\n    says: x\n"
            "    acknowledge: none\n    respond: sar-extended\n",
            "promises[1].respond: sar-extended (sar) is not the statutory clock", NULL);
    refused("  - id: sar\n    channel: any\n    case_type: sar\n    says: x\n"
            "    acknowledge: none\n    respond: measured_only\n",
            "promises[1].respond: measured_only (sar) has no response time: the law sets one "
            "calendar month (UK GDPR art. 12(3))",
            NULL);
    refused("  - id: info\n    channel: any\n    case_type: [foi, eir]\n    says: x\n"
            "    acknowledge: none\n    respond: 2 calendar months\n",
            "(foi) is longer than the law allows", NULL);
    /* a complaint preset counts from the acknowledgement: not for the law */
    refused("  - id: info\n    channel: any\n    case_type: [complaint_stage_1, eir]\n"
            "    says: x\n    respond: complaint-stage-1\n",
            "(eir) is not the statutory clock", NULL);
}

static void
test_statutory_working_days_with_closures_refused(void **state)
{
    (void)state;
    char text[4096], err[1024];
    snprintf(text, sizeof(text),
             "closures: [2026-12-24 to 2026-12-31]\n%s"
             "  - id: foi\n    channel: any\n    case_type: foi\n    says: x\n"
             "    acknowledge: none\n    respond: 20 working days\n",
             base);
    ch_policy p;
    assert_int_equal(ch_policy_load_text(text, strlen(text), "t.yaml", &p, err, sizeof(err)),
                     CH_EINVAL);
    assert_non_null(strstr(err, "its closures could carry it past the law's date"));
    /* the preset counts UK bank holidays only, closures or not */
    char *r = strstr(text, "20 working days");
    memcpy(r, "foi", 3);
    memmove(r + 3, r + 15, strlen(r + 15) + 1);
    assert_int_equal(ch_policy_load_text(text, strlen(text), "t.yaml", &p, err, sizeof(err)), 0);
    ch_policy_free(&p);
}

static void
test_reserved_ids_refused(void **state)
{
    (void)state;
    refused("  - id: charter-measured\n    channel: sms\n    says: x\n"
            "    acknowledge: none\n    respond: measured_only\n",
            "t.yaml:15:9: promises[1].id: 'charter-measured': ids starting with charter- are "
            "reserved",
            NULL);
}

/* ---- the closed list of case types ---- */

static void
test_case_types_closed_list(void **state)
{
    (void)state;
    static const struct {
        const char *id, *list;
    } want[] = {
        {"nottingham-city-homes",
         "enquiry, complaint_stage_1, complaint_stage_2, foi, eir, sar, home_visit"},
        {"derby-homes", "enquiry, service_request, complaint_stage_1, complaint_stage_2, foi, eir, "
                        "sar, mp_enquiry, legal_action"},
        {"nihe", "enquiry, complaint_stage_1, complaint_stage_2, foi, eir, sar, home_visit"},
        {"digital-first-council", "enquiry, complaint_stage_1, complaint_stage_2, foi, eir, sar, "
                                  "appointment, home_visit"},
        {"customer-care-council", "enquiry, complaint_stage_1, complaint_stage_2, foi, eir, sar, "
                                  "restriction_review, contact_group"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        ch_policy p;
        assert_int_equal(fx_policy_load(want[i].id, &p), 0);
        char list[512];
        ch_policy_case_types_list(&p, list, sizeof(list));
        if (strcmp(list, want[i].list) != 0)
            fail_msg("%s: case types '%s', expected '%s'", want[i].id, list, want[i].list);
        assert_true(ch_policy_case_type_known(&p, "enquiry"));
        assert_true(ch_policy_case_type_known(&p, NULL)); /* the default */
        assert_true(ch_policy_case_type_known(&p, ""));
        assert_true(ch_policy_case_type_known(&p, "sar"));
        assert_false(ch_policy_case_type_known(&p, "complaint"));
        assert_false(ch_policy_case_type_known(&p, "any"));
        assert_false(ch_policy_case_type_known(&p, "Enquiry"));
        ch_policy_free(&p);
    }
    ch_policy p;
    assert_int_equal(fx_policy_load("derby-homes", &p), 0);
    assert_true(ch_policy_case_type_known(&p, "mp_enquiry"));
    assert_false(ch_policy_case_type_known(&p, "contact_group"));
    ch_policy_free(&p);
}

/* ---- every contact under a rule, in the shipped policies ---- */

static void
test_shipped_every_channel_and_type_has_a_rule(void **state)
{
    (void)state;
    static const char *const channels[] = {"phone",       "voicemail", "email", "letter",
                                           "online_form", "social",    "visit", "sms"};
    for (size_t i = 0; i < FX_SHIPPED_N; i++) {
        ch_policy p;
        assert_int_equal(fx_policy_load(fx_shipped_ids[i], &p), 0);
        for (size_t c = 0; c < sizeof(channels) / sizeof(channels[0]); c++)
            for (int t = 1; t < CH_POLICY_CASE_COUNT; t++) {
                const char *type = ch_policy_case_type_name((ch_policy_case_type)t);
                if (!ch_policy_case_type_known(&p, type))
                    continue;
                const ch_policy_promise *pr = ch_policy_find_promise(&p, channels[c], type);
                if (!pr)
                    fail_msg("%s: no rule for %s/%s", p.id, channels[c], type);
                /* statutory types follow the law on every channel */
                if (t == CH_POLICY_CASE_FOI || t == CH_POLICY_CASE_EIR)
                    assert_int_equal(pr->respond.clock.n, 20);
                if (t == CH_POLICY_CASE_SAR)
                    assert_string_equal(pr->respond.clock.preset, "sar");
            }
        ch_policy_free(&p);
    }
    /* the audit's cases: NCH texts, online forms and office visits; FOI at
     * NCH and CCC by email; a Derby SAR by phone */
    ch_policy p;
    assert_int_equal(fx_policy_load("nottingham-city-homes", &p), 0);
    assert_true(find(&p, "sms", "enquiry", "text-messages")->respond_measured_only);
    assert_true(find(&p, "online_form", "enquiry", "online-forms")->respond_measured_only);
    assert_true(find(&p, "visit", "enquiry", "face-to-face")->see_measured_only);
    find(&p, "visit", "home_visit", "home-visit-appointments");
    find(&p, "voicemail", "enquiry", "charter-measured");
    find(&p, "email", "foi", "charter-foi");
    ch_policy_free(&p);
    assert_int_equal(fx_policy_load("customer-care-council", &p), 0);
    find(&p, "email", "foi", "charter-foi");
    find(&p, "letter", "sar", "charter-sar");
    ch_policy_free(&p);
    assert_int_equal(fx_policy_load("derby-homes", &p), 0);
    find(&p, "phone", "sar", "sar-request");
    find(&p, "email", "sar", "sar-request-written");
    ch_policy_free(&p);
}

/* ---- a visitor with an appointment ---- */

static void
test_visitor_with_appointment_gets_the_appointment_clock(void **state)
{
    (void)state;
    ch_policy p;
    assert_int_equal(fx_policy_load("digital-first-council", &p), 0);
    const ch_policy_promise *pr = ch_policy_find_promise_for(&p, "visit", "enquiry", 1);
    assert_string_equal(pr->id, "office-appointments");
    assert_true(pr->see_after_appointment.set);
    assert_string_equal(ch_policy_find_promise_for(&p, "visit", "enquiry", 0)->id, "office-visits");
    assert_string_equal(ch_policy_find_promise_for(&p, "visit", NULL, 1)->id,
                        "office-appointments");
    /* a home visit keeps its own appointment clock */
    assert_string_equal(ch_policy_find_promise_for(&p, "visit", "home_visit", 1)->id,
                        "home-visit-appointments");
    /* a complaint made at the desk keeps the complaint's response clock */
    assert_string_equal(ch_policy_find_promise_for(&p, "visit", "complaint_stage_1", 1)->id,
                        "complaint-stage-1");
    /* other channels have no appointment promise */
    assert_string_equal(ch_policy_find_promise_for(&p, "phone", "enquiry", 1)->id, "phone-calls");
    ch_policy_free(&p);
    /* NCH has no appointment promise for visitors: the visit stays measured */
    assert_int_equal(fx_policy_load("nottingham-city-homes", &p), 0);
    assert_string_equal(ch_policy_find_promise_for(&p, "visit", "enquiry", 1)->id, "face-to-face");
    ch_policy_free(&p);
}

/* ---- every key acted on ---- */

static const ch_policy_key_use *
use_of(const char *key)
{
    size_t n;
    const ch_policy_key_use *u = ch_policy_key_uses(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(u[i].key, key) == 0)
            return &u[i];
    return NULL;
}

/* Every key path of mapping m (pattern "promises[]...") is a row. */
static void
walk(yaml_document_t *doc, yaml_node_t *m, const char *pattern, const char *file, int *nkeys)
{
    for (yaml_node_pair_t *pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(doc, pr->value);
        char path[256], star[256];
        snprintf(path, sizeof(path), "%s%s%s", pattern, pattern[0] ? "." : "",
                 (const char *)k->data.scalar.value);
        snprintf(star, sizeof(star), "%s%s*", pattern, pattern[0] ? "." : "");
        (*nkeys)++;
        if (!use_of(path)) {
            if (use_of(star))
                continue;
            fail_msg("%s:%zu: key '%s' is not in the acted-on table (ch_policy_key_uses)", file,
                     k->start_mark.line + 1, path);
        }
        if (v->type == YAML_MAPPING_NODE) {
            walk(doc, v, path, file, nkeys);
        } else if (v->type == YAML_SEQUENCE_NODE) {
            char item[260];
            snprintf(item, sizeof(item), "%s[]", path);
            for (yaml_node_item_t *it = v->data.sequence.items.start;
                 it < v->data.sequence.items.top; it++) {
                yaml_node_t *n = yaml_document_get_node(doc, *it);
                if (n->type == YAML_MAPPING_NODE)
                    walk(doc, n, item, file, nkeys);
            }
        }
    }
}

static void
test_every_key_of_every_shipped_policy_is_acted_on(void **state)
{
    (void)state;
    size_t n;
    const ch_policy_key_use *u = ch_policy_key_uses(&n);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(u[i].acted_on_by);
        assert_true(strlen(u[i].acted_on_by) > 10);
    }
    for (size_t i = 0; i < FX_SHIPPED_N; i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s.yaml", fx_policies_dir(), fx_shipped_ids[i]);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        yaml_parser_t parser;
        yaml_document_t doc;
        assert_true(yaml_parser_initialize(&parser));
        yaml_parser_set_input_file(&parser, f);
        assert_true(yaml_parser_load(&parser, &doc));
        int nkeys = 0;
        walk(&doc, yaml_document_get_root_node(&doc), "", path, &nkeys);
        assert_true(nkeys > 30);
        yaml_document_delete(&doc);
        yaml_parser_delete(&parser);
        fclose(f);
        /* and the loader agrees: it refuses any key not in the table */
        ch_policy p;
        assert_int_equal(fx_policy_load(fx_shipped_ids[i], &p), 0);
        ch_policy_free(&p);
    }
}

static void
test_every_loader_key_is_in_the_table(void **state)
{
    (void)state;
    /* a file using every key the loader accepts loads: the check in the
     * loader found each in the table (root keys before promises:) */
    ch_policy p;
    char err[1024];
    char text[8192];
    const char *promises = strstr(base, "promises:\n");
    snprintf(text, sizeof(text),
             "%.*s"
             "closures: [2026-12-29]\noptions:\n  defer_out_of_hours_receipt: false\n"
             "  roll_calendar_days_to_working_day: false\nsms_quiet_hours: \"21:00-08:00\"\n"
             "visit_requirements:\n  - Please be in.\ncontact:\n  team: Customer Services\n"
             "  phone: \"0115 000 0000\"\n  email: team@example.org\nroles:\n  owner: Owner\n"
             "reporting:\n  publish: yearly\n  communication_support: [bsl]\n"
             "timezone: Europe/London\n"
             "%s"
             "  - id: calls\n    channel: phone\n    says: x\n"
             "    answer:\n      within: 20 seconds\n      rings: 4\n      ring_seconds: 3\n"
             "    callback: at_agreed_time\n"
             "  - id: visits\n    channel: visit\n    says: x\n"
             "    see:\n      within: 15 minutes\n      after_appointment: 10 minutes\n"
             "  - id: letters\n    channel: letter\n    says: x\n    acknowledge: none\n"
             "    respond: 10 working days\n    reply_channel: same\n    named_contact: true\n"
             "    reference_on_reply: true\n"
             "    holding_reply:\n      must_include: [reason]\n"
             "      max_extension: 5 working days\n"
             "    measures: [satisfaction]\n"
             "    warnings:\n      - at: breach\n        to: owner\n"
             "  - id: reviews\n    channel: any\n    case_type: restriction_review\n    says: x\n"
             "    review:\n      first: 11 calendar months\n"
             "      then_every: 12 calendar months\n      to: owner\n",
             (int)(promises - base), base, promises);
    if (ch_policy_load_text(text, strlen(text), "t.yaml", &p, err, sizeof(err)) != 0)
        fail_msg("every key: %s", err);
    ch_policy_free(&p);
}

/* The loader's last check on its own: a key its tables would take but no
 * code acts on is refused with file, line, key and why. */
static void
test_key_no_code_acts_on_refused(void **state)
{
    (void)state;
    static const char text[] = "promises:\n"
                               "  - id: x\n"
                               "    respond: 5 working days\n"
                               "    publish_on_website: true\n";
    yaml_parser_t parser;
    yaml_document_t doc;
    assert_true(yaml_parser_initialize(&parser));
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    assert_true(yaml_parser_load(&parser, &doc));
    char err[512];
    ch__yaml y = {.doc = &doc, .name = "t.yaml", .err = err, .errsz = sizeof(err)};
    assert_int_equal(ch__policy_check_acted(&y, yaml_document_get_root_node(&doc)), CH_EINVAL);
    assert_string_equal(err, "t.yaml:4:5: promises[0].publish_on_website: Charter reads this key "
                             "but no code acts on it, so a policy may not promise it "
                             "(docs/policies.md, \"What acts on each key\")");
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statutory_and_measured_rules_supplied),
        cmocka_unit_test(test_scotland_gets_foisa),
        cmocka_unit_test(test_no_measured_rule_when_the_file_covers_everything),
        cmocka_unit_test(test_statutory_named_in_the_file_is_kept),
        cmocka_unit_test(test_statutory_narrowed_or_looser_refused),
        cmocka_unit_test(test_statutory_working_days_with_closures_refused),
        cmocka_unit_test(test_reserved_ids_refused),
        cmocka_unit_test(test_case_types_closed_list),
        cmocka_unit_test(test_shipped_every_channel_and_type_has_a_rule),
        cmocka_unit_test(test_visitor_with_appointment_gets_the_appointment_clock),
        cmocka_unit_test(test_every_key_of_every_shipped_policy_is_acted_on),
        cmocka_unit_test(test_every_loader_key_is_in_the_table),
        cmocka_unit_test(test_key_no_code_acts_on_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
