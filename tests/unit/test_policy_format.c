/*
 * Policies: the format's rules on small texts (part of test_policy; see
 * test_policy.h). Each refusal is checked for the file:line:column, the key
 * path and the words staff will read; the texts start from `base`, a minimal
 * policy whose line numbers are marked beside it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "charter/calendar.h"
#include "charter/errors.h"
#include "charter/policy.h"
#include "test_policy.h"

/* ---- the loader's other refusals, on small texts ---- */

static const char base[] = "organisation:\n"                    /* 1 */
                           "  id: test-org\n"                   /* 2 */
                           "  name: Test Org\n"                 /* 3 */
                           "  reference_prefix: TST\n"          /* 4 */
                           "  kind: council\n"                  /* 5 */
                           "calendar: england-and-wales\n"      /* 6 */
                           "opening_hours:\n"                   /* 7 */
                           "  monday-friday: \"09:00-17:00\"\n" /* 8 */
                           "roles:\n"                           /* 9 */
                           "  owner: Case owner\n"              /* 10 */
                           "  manager: Manager\n"               /* 11 */
                           "promises:\n"                        /* 12 */
                           "  - id: email\n"                    /* 13 */
                           "    channel: email\n"               /* 14 */
                           "    says: We reply in 5 days\n"     /* 15 */
                           "    acknowledge: automatic\n"       /* 16 */
                           "    respond: 5 working days\n";     /* 17 */

static int
load_text(const char *text, ch_policy *p, char *err, size_t errsz)
{
    return ch_policy_load_text(text, strlen(text), "t.yaml", p, err, errsz);
}

/* base with `extra` appended; must fail with an error starting `want`. */
static void
assert_refused(const char *extra, const char *want, const char *says)
{
    char text[4096], err[1024] = "";
    snprintf(text, sizeof(text), "%s%s", base, extra);
    ch_policy p;
    int rc = load_text(text, &p, err, sizeof(err));
    if (rc != CH_EINVAL)
        fail_msg("loaded (rc %d) but should fail with %s\n--- text\n%s", rc, want, text);
    if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, says))
        fail_msg("got  %s\nwant %s ... %s", err, want, says);
    ch_policy_free(&p);
}

void
test_minimal_policy_loads_with_defaults(void **state)
{
    (void)state;
    ch_policy p;
    char err[512];
    assert_int_equal(load_text(base, &p, err, sizeof(err)), 0);
    assert_string_equal(p.timezone, "Europe/London");
    assert_int_equal(p.hours.open[0], 9 * 60);
    assert_int_equal(p.hours.close[4], 17 * 60);
    assert_int_equal(p.hours.open[5], -1);
    assert_int_equal(p.hours.open[6], -1);
    assert_int_equal(p.kind, CH_POLICY_KIND_COUNCIL);
    assert_int_equal(p.homes, 0);
    assert_int_equal(p.promises[0].case_types, 1u); /* any */
    assert_int_equal(p.promises[0].line, 13);
    assert_int_equal(p.promises[0].respond.line, 17);
    assert_int_equal(p.promises[0].respond.column, 14);
    assert_string_equal(p.promises[0].respond.text, "5 working days");
    assert_int_equal(p.promises[0].reply_channel, CH_POLICY_REPLY_SAME_UNLESS_ASKED);
    assert_string_equal(p.source, "t.yaml");
    ch_policy_free(&p);
}

void
test_refuses_unknown_and_duplicate_keys(void **state)
{
    (void)state;
    assert_refused("colour: blue\n", "t.yaml:18:1: colour:", "unknown key");
    assert_refused("calendar: scotland\n",
                   "t.yaml:18:1: calendar:", "given twice (first on line 6)");
    assert_refused("    respond: 6 working days\n",
                   "t.yaml:18:5: promises[0].respond:", "given twice");
}

void
test_refuses_bad_values_with_what_was_expected(void **state)
{
    (void)state;
    assert_refused("    warnings:\n      - at: \"175%\"\n        to: owner\n",
                   "t.yaml:19:13: promises[0].warnings[0].at:", "is not a warning time");
    assert_refused("    warnings:\n      - at: breach\n        to: boss\n",
                   "t.yaml:20:13: promises[0].warnings[0].to:",
                   "'boss' is not a role (roles defined: owner, manager)");
    assert_refused("    warnings:\n      - at: \"5 working days before\"\n        to: owner\n",
                   "t.yaml:19:13: promises[0].warnings[0].at:", "would fire on receipt");
    assert_refused("  - id: fax\n    channel: fax\n    says: x\n",
                   "t.yaml:19:14: promises[1].channel:", "'fax' is not a channel");
    assert_refused("  - id: x\n    channel: letter\n    case_type: complant_stage_1\n    says: x\n",
                   "t.yaml:20:16: promises[1].case_type:", "is not a case type");
    assert_refused("  - id: x\n    channel: [email, any]\n    says: x\n",
                   "t.yaml:19:22: promises[1].channel[1]:", "'any' cannot be listed");
    assert_refused("closures:\n  - 2026-02-30\n",
                   "t.yaml:19:5: closures[0]:", "is not a date or range of dates");
    assert_refused("closures:\n  - 2026-12-31 to 2026-12-24\n",
                   "t.yaml:19:5: closures[0]:", "ends before it starts");
    assert_refused("options:\n  defer_out_of_hours_receipt: maybe\n",
                   "t.yaml:19:31: options.defer_out_of_hours_receipt:", "is not true or false");
    assert_refused("timezone: ../etc/passwd\n", "t.yaml:18:11: timezone:", "is not a zone name");
    /* A ring's length: whole seconds, and only beside a ring count. */
    assert_refused("  - id: calls\n    channel: phone\n    says: x\n"
                   "    answer:\n      rings: 4\n      ring_seconds: 0\n",
                   "t.yaml:23:21: promises[1].answer.ring_seconds:",
                   "'0' is not a ring's length in seconds (expected 1 to 10");
    assert_refused(
        "  - id: calls\n    channel: phone\n    says: x\n"
        "    answer:\n      rings: 4\n      ring_seconds: 2.5\n",
        "t.yaml:23:21: promises[1].answer.ring_seconds:", "is not a ring's length in seconds");
    assert_refused("  - id: calls\n    channel: phone\n    says: x\n"
                   "    answer:\n      within: 20 seconds\n      ring_seconds: 3\n",
                   "t.yaml:23:21: promises[1].answer.ring_seconds:", "needs rings:");
    /* A call-back: one of the two rules, and only on the phone. */
    assert_refused("  - id: calls\n    channel: phone\n    says: x\n"
                   "    answer: 20 seconds\n    callback: tomorrow\n",
                   "t.yaml:22:15: promises[1].callback:",
                   "'tomorrow' is not a call-back rule (expected at_agreed_time or measured_only)");
    assert_refused("  - id: letters\n    channel: letter\n    says: x\n    acknowledge: none\n"
                   "    respond: 10 working days\n    callback: at_agreed_time\n",
                   "t.yaml:23:5: promises[1].callback:",
                   "callback: is for calls: a call-back is promised on the phone (expected "
                   "channel: phone)");
}

void
test_refuses_incomplete_promises(void **state)
{
    (void)state;
    /* Two promises for the same channel and case type. */
    assert_refused("  - id: email2\n    channel: [letter, email]\n    says: x\n"
                   "    acknowledge: none\n    respond: 3 working days\n",
                   "t.yaml:18:5: promises[1].channel:",
                   "channel email with case type any is already promised by promises[0]");
    assert_refused("  - id: email\n    channel: letter\n    says: x\n    acknowledge: none\n"
                   "    respond: 3 working days\n",
                   "t.yaml:18:9: promises[1].id:", "'email' is already the id of promises[0]");
    /* answer: on a channel that is not phone. */
    assert_refused("    answer: 20 seconds\n",
                   "t.yaml:18:5: promises[0].answer:", "answer: is for calls");
    /* An answer must be elapsed time. */
    assert_refused("  - id: calls\n    channel: phone\n    says: x\n    answer: 2 working days\n",
                   "t.yaml:21:13: promises[1].answer:", "is not allowed here");
    /* Warnings on a promise with no time. */
    assert_refused("  - id: calls\n    channel: phone\n    says: x\n    answer: measured_only\n"
                   "    warnings:\n      - at: breach\n        to: owner\n",
                   "t.yaml:23:7: promises[1].warnings:", "no time to warn before");
    /* The Code responds from the acknowledgement: it cannot be none. */
    assert_refused("  - id: c1\n    channel: any\n    case_type: complaint_stage_1\n"
                   "    says: x\n    acknowledge: none\n    respond: complaint-stage-1\n",
                   "t.yaml:23:14: promises[1].respond:", "acknowledge cannot be none");
    /* An extension longer than the Code allows. */
    assert_refused("  - id: c1\n    channel: any\n    case_type: complaint_stage_1\n"
                   "    says: x\n    respond: complaint-stage-1\n    holding_reply:\n"
                   "      max_extension: 15 working days\n",
                   "t.yaml:24:22: promises[1].holding_reply.max_extension:",
                   "longer than complaint-stage-1 allows");
    /* A housing landlord must give its homes. */
    char text[4096], err[512];
    snprintf(text, sizeof(text), "%s", base);
    char *k = strstr(text, "kind: council");
    memcpy(k, "kind: housing_landlord\n", 23);
    memmove(k + 23, strstr(base, "calendar:"), strlen(strstr(base, "calendar:")) + 1);
    ch_policy p;
    assert_int_equal(load_text(text, &p, err, sizeof(err)), CH_EINVAL);
    assert_non_null(strstr(err, "t.yaml:2:3: organisation.homes: missing"));
}

void
test_refuses_broken_yaml_empty_files_and_second_documents(void **state)
{
    (void)state;
    ch_policy p;
    char err[512];
    assert_int_equal(load_text("organisation: [\n", &p, err, sizeof(err)), CH_EINVAL);
    assert_non_null(strstr(err, "t.yaml:2:1: not valid YAML"));
    assert_int_equal(load_text("", &p, err, sizeof(err)), CH_EINVAL);
    assert_non_null(strstr(err, "t.yaml: the file is empty"));
    char text[4096];
    snprintf(text, sizeof(text), "%s---\nmore: 1\n", base);
    assert_int_equal(load_text(text, &p, err, sizeof(err)), CH_EINVAL);
    assert_non_null(strstr(err, "second document"));
    assert_int_equal(load_text("- a\n- b\n", &p, err, sizeof(err)), CH_EINVAL);
    assert_non_null(strstr(err, "t.yaml:1:1: expected a policy"));
    /* A file that is not there. */
    assert_int_equal(ch_policy_load_file("/nonexistent/x.yaml", &p, err, sizeof(err)), CH_EIO);
    assert_non_null(strstr(err, "/nonexistent/x.yaml: cannot open"));
}

/* ---- options, closures, hours ---- */

void
test_options_closures_and_hours(void **state)
{
    (void)state;
    char text[4096], err[512];
    snprintf(text, sizeof(text),
             "%s"
             "  - id: letters\n    channel: letter\n    says: x\n    acknowledge: none\n"
             "    respond: 14 days\n"
             "closures:\n  - 2026-12-29\n  - 2027-04-01 to 2027-04-02\n"
             "options:\n  roll_calendar_days_to_working_day: yes\n"
             "  defer_out_of_hours_receipt: true\n",
             base);
    /* Saturday mornings open, Friday closes early. */
    char *h = strstr(text, "  monday-friday: \"09:00-17:00\"\n");
    const char *hours = "  monday-thursday: \"09:00-17:00\"\n  friday: \"09:00-16:30\"\n"
                        "  saturday: \"09:00-12:00\"\n  sunday: closed\n";
    char rest[4096];
    snprintf(rest, sizeof(rest), "%s", h + strlen("  monday-friday: \"09:00-17:00\"\n"));
    snprintf(h, sizeof(text) - (size_t)(h - text), "%s%s", hours, rest);

    ch_policy p;
    assert_int_equal(load_text(text, &p, err, sizeof(err)), 0);
    assert_true(p.defer_out_of_hours);
    assert_true(p.roll_calendar_days);
    /* The option moves calendar-day clocks to a working day. */
    assert_true(find(&p, "letter", NULL, "letters")->respond.clock.roll_forward);
    assert_false(find(&p, "email", NULL, "email")->respond.clock.roll_forward);
    assert_int_equal(p.hours.close[4], 16 * 60 + 30);
    assert_int_equal(p.hours.open[5], 9 * 60);
    assert_int_equal(p.hours.close[5], 12 * 60);
    char buf[256];
    ch_policy_describe_hours(&p.hours, buf, sizeof(buf));
    assert_string_equal(buf, "Monday-Thursday 09:00-17:00, Friday 09:00-16:30, Saturday "
                             "09:00-12:00");
    assert_describe(&p, find(&p, "email", NULL, NULL),
                    "Email: acknowledged automatically on receipt; reply within 5 working days "
                    "(England and Wales holidays and the organisation's closures, closing "
                    "times vary by day)");
    /* Closures become non-working days in the policy's calendar. */
    assert_int_equal(p.nclosures, 2);
    ch_calendar *cal = ch_policy_calendar_new(&p);
    assert_non_null(cal);
    assert_false(ch_calendar_is_working_day(cal, ch_day_from_civil(2026, 12, 29)));
    assert_true(ch_calendar_is_working_day(cal, ch_day_from_civil(2026, 12, 30)));
    assert_false(ch_calendar_is_working_day(cal, ch_day_from_civil(2027, 4, 1)));
    assert_false(ch_calendar_is_working_day(cal, ch_day_from_civil(2027, 4, 2)));
    ch_calendar_free(cal);
    ch_policy_free(&p);

    assert_refused("opening_hours2: x\n", "t.yaml:18:1: opening_hours2:", "unknown key");
    snprintf(text, sizeof(text), "%s", base);
    h = strstr(text, "09:00-17:00");
    memcpy(h, "17:00-09:00", 11);
    assert_int_equal(load_text(text, &p, err, sizeof(err)), CH_EINVAL);
    assert_non_null(strstr(err, "t.yaml:8:18: opening_hours.monday-friday: '17:00-09:00' is not "
                                "opening hours"));
}

/* ---- finding the promise for a contact ---- */

void
test_find_promise_prefers_exact_type_then_any(void **state)
{
    (void)state;
    char text[4096], err[512];
    snprintf(text, sizeof(text),
             "%s"
             "  - id: email-foi\n    channel: email\n    case_type: foi\n    says: x\n"
             "    acknowledge: none\n    respond: foi\n"
             "  - id: any-foi\n    channel: any\n    case_type: [foi, eir]\n    says: x\n"
             "    acknowledge: none\n    respond: eir\n"
             "  - id: any-any\n    channel: any\n    says: x\n    acknowledge: none\n"
             "    respond: measured_only\n",
             base);
    ch_policy p;
    assert_int_equal(load_text(text, &p, err, sizeof(err)), 0);
    /* (channel, type) first */
    assert_string_equal(ch_policy_find_promise(&p, "email", "foi")->id, "email-foi");
    /* then (any, type): the case type is more specific than the channel */
    assert_string_equal(ch_policy_find_promise(&p, "letter", "foi")->id, "any-foi");
    assert_string_equal(ch_policy_find_promise(&p, "email", "eir")->id, "any-foi");
    /* then (channel, any) */
    assert_string_equal(ch_policy_find_promise(&p, "email", "enquiry")->id, "email");
    /* an unknown case type, or none, only matches "any" */
    assert_string_equal(ch_policy_find_promise(&p, "email", "tree_felling")->id, "email");
    assert_string_equal(ch_policy_find_promise(&p, "email", NULL)->id, "email");
    /* then (any, any) */
    assert_string_equal(ch_policy_find_promise(&p, "letter", "enquiry")->id, "any-any");
    assert_string_equal(ch_policy_find_promise(&p, "fax", "enquiry")->id, "any-any");
    ch_policy_free(&p);

    /* Nothing in the file applies: the loader's last rule, measured only. */
    assert_int_equal(load_text(base, &p, err, sizeof(err)), 0);
    assert_string_equal(ch_policy_find_promise(&p, "letter", "enquiry")->id, "charter-measured");
    ch_policy_free(&p);
}

/* ---- describing ---- */

void
test_describe_lines(void **state)
{
    (void)state;
    char text[4096], err[512];
    snprintf(text, sizeof(text),
             "%s"
             "  - id: calls\n    channel: phone\n    says: x\n"
             "    answer:\n      within: 20 seconds\n      rings: 4\n      ring_seconds: 5\n"
             "  - id: sar\n    channel: any\n    case_type: sar\n    says: x\n"
             "    acknowledge: 24 hours\n    respond: sar\n"
             "  - id: texts\n    channel: [sms, social]\n    says: x\n    acknowledge: none\n"
             "    respond: measured_only\n"
             "  - id: visits\n    channel: visit\n    says: x\n"
             "    see:\n      within: 15 minutes\n      after_appointment: 10 minutes\n",
             base);
    ch_policy p;
    assert_int_equal(load_text(text, &p, err, sizeof(err)), 0);
    assert_int_equal(p.promises[1].answer_ring_seconds, 5);
    assert_describe(&p, &p.promises[1],
                    "Phone: answer within 20 seconds or four rings (20 s at a ring every 5 s)");
    assert_describe(&p, &p.promises[2],
                    "Subject access request: acknowledge within 24 hours; reply within 1 "
                    "calendar month, moved to the next working day if it ends on a non-working "
                    "day (England and Wales holidays, closes 17:00) [sar: UK GDPR right of "
                    "access], or one extension under UK GDPR art. 12(3), at most two further "
                    "months (statutory_basis sar_complex)");
    assert_describe(&p, &p.promises[3],
                    "Social media message and text message: measured, no time promised");
    assert_describe(&p, &p.promises[4],
                    "Visit: seen within 15 minutes of arrival; not kept waiting more than 10 "
                    "minutes after an appointment time");
    /* A short buffer is truncated, never overrun. */
    char small[8];
    ch_policy_describe_promise(&p, &p.promises[1], small, sizeof(small));
    assert_string_equal(small, "Phone: ");
    ch_policy_free(&p);

    /* The Code's presets describe themselves with their source. */
    ch_policy nch;
    load_ok("nottingham-city-homes", &nch);
    assert_describe(&nch, find(&nch, "email", "complaint_stage_1", NULL),
                    "Complaint, stage 1: acknowledge within 5 working days (England and Wales "
                    "holidays, closes 17:00); reply within 10 working days of the "
                    "acknowledgement [complaint-stage-1: Housing Ombudsman Complaint Handling "
                    "Code 2024], or a holding reply giving the reason (extension at most 10 "
                    "working days)");
    assert_describe(&nch, find(&nch, "letter", NULL, NULL),
                    "Letter: reply within 7 working days (England and Wales holidays, closes "
                    "17:00), or a holding reply giving a named contact and a target date; named "
                    "contact");
    ch_policy_free(&nch);
}

void
test_visit_requirements_must_be_a_list_of_sentences(void **state)
{
    (void)state;
    ch_policy p;
    char text[4096], err[512];
    snprintf(text, sizeof(text), "%s%s", base,
             "visit_requirements:\n  - Please keep pets secure.\n  - \"Please don't smoke.\"\n");
    assert_int_equal(load_text(text, &p, err, sizeof(err)), 0);
    assert_int_equal(p.nvisit_requirements, 2);
    assert_string_equal(p.visit_requirements[1], "Please don't smoke.");
    ch_policy_free(&p);
    assert_refused("visit_requirements: Please keep pets secure.\n",
                   "t.yaml:18:21: visit_requirements", "expected a list of sentences");
    assert_refused("visit_requirements: []\n", "t.yaml:18:21: visit_requirements", "empty list");
    assert_refused("visit_requirements:\n  - ok.\n  - [a, b]\n",
                   "t.yaml:20:5: visit_requirements[1]", "expected a sentence");
    assert_refused("visit_requirements:\n  - \"two\\nlines\"\n",
                   "t.yaml:19:5: visit_requirements[0]", "more than one line");
}

/* target: a share from 1% to 100% beside a promise's clock; unset: 0 (the
 * reporting default applies) */
void
test_promise_target(void **state)
{
    (void)state;
    char text[4096], err[512];
    ch_policy p;
    assert_int_equal(load_text(base, &p, err, sizeof(err)), 0);
    assert_true(p.promises[0].target_pct == 0);
    ch_policy_free(&p);
    snprintf(text, sizeof(text), "%s    target: 80%%\n", base);
    assert_int_equal(load_text(text, &p, err, sizeof(err)), 0);
    assert_true(p.promises[0].target_pct == 80);
    assert_int_equal(p.promises[0].target_line, 18);
    assert_int_equal(p.promises[0].target_column, 13);
    ch_policy_free(&p);
    snprintf(text, sizeof(text), "%s    target: \"95.5%%\"\n", base);
    assert_int_equal(load_text(text, &p, err, sizeof(err)), 0);
    assert_true(p.promises[0].target_pct == 95.5);
    ch_policy_free(&p);
    snprintf(text, sizeof(text), "%s    target: 100\n", base);
    assert_int_equal(load_text(text, &p, err, sizeof(err)), 0);
    assert_true(p.promises[0].target_pct == 100);
    ch_policy_free(&p);

    assert_refused("    target: 120%\n", "t.yaml:18:13: promises[0].target:",
                   "'120%' is not a target (expected a share of cases from 1% to 100%");
    assert_refused("    target: 0%\n", "t.yaml:18:13: promises[0].target:", "is not a target");
    assert_refused("    target: eighty\n", "t.yaml:18:13: promises[0].target:", "is not a target");
    assert_refused("    target: 80.25%\n",
                   "t.yaml:18:13: promises[0].target:", "at most one decimal place");
    assert_refused("    target: 1e2\n", "t.yaml:18:13: promises[0].target:", "is not a target");
    assert_refused("  - id: measured\n    channel: letter\n    says: x\n    acknowledge: none\n"
                   "    respond: measured_only\n    target: 80%\n",
                   "t.yaml:23:13: promises[1].target:", "measured only): remove target:");
}
