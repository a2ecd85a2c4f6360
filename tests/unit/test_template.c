/*
 * Templates: the format staff edit, the errors they meet, dates in words in
 * the policy's zone, and every shipped template for the five policies
 * rendered with long real values (a rendered SMS measured with sms.h, whose
 * own counts are test_sms.c's).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "charter/errors.h"
#include "charter/policy.h"
#include "charter/sms.h"
#include "charter/template.h"
#include "charter/tz.h"
#include "support/instant.h"
#include "support/shipped.h"

#ifndef CHARTER_TEMPLATE_DIR
#error "CHARTER_TEMPLATE_DIR must name the templates/ directory"
#endif

#define V(n, v)                                                                                    \
    {                                                                                              \
        n, v                                                                                       \
    }

static void
parse_ok(const char *text, int want_subject, ch_template *t)
{
    char err[512] = "";
    int rc = ch_template_parse(text, strlen(text), "t.txt", want_subject, t, err, sizeof(err));
    if (rc != 0)
        fail_msg("parse failed: %s", err);
}

static void
parse_fails(const char *text, int want_subject, const char *want_in_error)
{
    ch_template t;
    char err[1024] = "";
    int rc = ch_template_parse(text, strlen(text), "t.txt", want_subject, &t, err, sizeof(err));
    assert_int_equal(rc, CH_EINVAL);
    if (!strstr(err, want_in_error))
        fail_msg("error '%s' lacks '%s'", err, want_in_error);
    assert_null(t.body);
    assert_null(t.subject);
}

static char *
render_ok(const ch_template *t, const ch_template_var *vars, size_t n, char **subject)
{
    char err[512] = "", *s = NULL, *b = NULL;
    int rc = ch_template_render(t, vars, n, &s, &b, err, sizeof(err));
    if (rc != 0)
        fail_msg("render failed: %s", err);
    if (subject)
        *subject = s;
    else
        free(s);
    return b;
}

/* ---- format ---- */

static void
test_email_subject_body_and_guards(void **state)
{
    (void)state;
    ch_template t;
    parse_ok("# a comment for the editor\n"
             "Subject: Your reference {reference}\n"
             "\n"
             "Dear {customer_name},\r\n"
             "# another comment\n"
             "Reply by {target_date}.\n"
             "{?contact_name}{contact_name} is dealing with it.\n"
             "\n"
             "\n"
             "Braces: {{not a placeholder}}\n"
             "\n",
             1, &t);
    assert_int_equal(t.subject_line, 2);
    assert_int_equal(t.body_line, 4);
    ch_template_var with[] = {V("reference", "NCH-2026-000001"), V("customer_name", "Ann"),
                              V("target_date", "Friday 2 January 2026"),
                              V("contact_name", "Sam Patel")};
    char *subject;
    char *body = render_ok(&t, with, 4, &subject);
    assert_string_equal(subject, "Your reference NCH-2026-000001");
    assert_string_equal(body, "Dear Ann,\nReply by Friday 2 January 2026.\n"
                              "Sam Patel is dealing with it.\n\n\nBraces: {not a placeholder}");
    free(subject);
    free(body);

    /* No named contact: the guarded line goes, the rest stays. An empty
     * value counts as none. */
    ch_template_var without[] = {V("reference", "R1"), V("customer_name", "Ann"),
                                 V("target_date", "Friday 2 January 2026"), V("contact_name", "")};
    body = render_ok(&t, without, 4, &subject);
    assert_string_equal(body, "Dear Ann,\nReply by Friday 2 January 2026.\n\n\n"
                              "Braces: {not a placeholder}");
    assert_null(strstr(body, "dealing"));
    free(subject);
    free(body);
    ch_template_free(&t);
    assert_null(t.body);
}

static void
test_later_value_wins_and_plain_templates_have_no_subject(void **state)
{
    (void)state;
    ch_template t;
    parse_ok("Ref {reference}.", 0, &t);
    assert_null(t.subject);
    ch_template_var vars[] = {V("reference", "A"), V("reference", "B")};
    char *subject = (char *)"sentinel";
    char *body = render_ok(&t, vars, 2, &subject);
    assert_null(subject);
    assert_string_equal(body, "Ref B.");
    free(body);
    ch_template_free(&t);
}

static void
test_unknown_placeholder_names_file_line_and_placeholder(void **state)
{
    (void)state;
    parse_fails("Hello,\n\n# comment\nYour reference is {refrence}.\n", 0,
                "t.txt:4: unknown placeholder {refrence}");
    parse_fails("Subject: About {referense}\n\nBody\n", 1,
                "t.txt:1: unknown placeholder {referense}");
    parse_fails("{?contact}Your contact\n", 0, "t.txt:1: unknown placeholder {?contact}");
    parse_fails("Dear {Customer Name}\n", 0, "unknown placeholder {Customer Name}");
    /* The error lists what is known, so the editor can fix the typo. */
    parse_fails("x {x}\n", 0, "known: reference, organisation");
}

static void
test_broken_braces_and_subjects_are_refused(void **state)
{
    (void)state;
    parse_fails("a\nb {reference\n", 0, "t.txt:2: a '{' without its '}'");
    parse_fails("a } b\n", 0, "t.txt:1: a '}' without its '{'");
    parse_fails("empty {} here\n", 0, "t.txt:1: unknown placeholder {}");
    parse_fails("Dear customer\n", 1, "t.txt:1: an email template starts with a \"Subject: ...\"");
    parse_fails("Subject: Hi\nBody straight after\n", 1,
                "t.txt:2: expected a blank line between the subject and the message");
    parse_fails("Subject:   \n\nBody\n", 1, "t.txt:1: the subject is empty");
    parse_fails("# only a comment\nSubject: Hi\n\nBody\n", 0,
                "t.txt:2: only email templates have a subject");
    parse_fails("Subject: Hi\n\n# nothing\n\n", 1, "t.txt: the message is empty");
    parse_fails("ok\nbad \xC3\x28 byte\n", 0, "t.txt:2: not valid UTF-8");
}

static void
test_missing_value_names_file_line_and_placeholder(void **state)
{
    (void)state;
    ch_template t;
    parse_ok(
        "Subject: Ref {reference}\n\nDear {customer_name},\n\nWe will reply by {target_date}.\n", 1,
        &t);
    ch_template_var vars[] = {V("reference", "R1"), V("customer_name", "Ann")};
    char err[512] = "", *s = (char *)"x", *b = (char *)"x";
    assert_int_equal(ch_template_render(&t, vars, 2, &s, &b, err, sizeof(err)), CH_EINVAL);
    assert_string_equal(err, "t.txt:5: no value for {target_date} in this message");
    assert_null(s);
    assert_null(b);
    /* The subject's line is named too. */
    assert_int_equal(ch_template_render(&t, vars + 1, 1, &s, &b, err, sizeof(err)), CH_EINVAL);
    assert_string_equal(err, "t.txt:1: no value for {reference} in this message");
    ch_template_free(&t);
}

/* ---- dates and times ---- */

static void
test_dates_and_times_in_words_in_the_policy_zone(void **state)
{
    (void)state;
    char err[256], buf[CH_TEMPLATE_DATE_BUFSZ];
    ch_tz *london = ch_tz_load("Europe/London", NULL, err, sizeof(err));
    if (!london)
        fail_msg("%s", err);
    ch_template_date_words(london, fx_utc(2026, 1, 2, 17, 0, 0), buf, sizeof(buf));
    assert_string_equal(buf, "Friday 2 January 2026");
    /* 23:30 UTC on 30 June is 00:30 BST on 1 July in London. */
    ch_template_date_words(london, fx_utc(2026, 6, 30, 23, 30, 0), buf, sizeof(buf));
    assert_string_equal(buf, "Wednesday 1 July 2026");
    ch_template_time_words(london, fx_utc(2026, 6, 30, 23, 30, 0), buf, sizeof(buf));
    assert_string_equal(buf, "12:30am");
    ch_template_date_words(NULL, fx_utc(2026, 6, 30, 23, 30, 0), buf, sizeof(buf));
    assert_string_equal(buf, "Tuesday 30 June 2026");
    ch_template_time_words(london, fx_utc(2026, 7, 1, 9, 30, 0), buf, sizeof(buf));
    assert_string_equal(buf, "10:30am");
    ch_template_time_words(london, fx_utc(2026, 12, 1, 14, 0, 0), buf, sizeof(buf));
    assert_string_equal(buf, "2pm");
    ch_template_time_words(london, fx_utc(2026, 12, 1, 12, 0, 0), buf, sizeof(buf));
    assert_string_equal(buf, "midday");
    ch_template_time_words(london, fx_utc(2026, 12, 1, 0, 0, 0), buf, sizeof(buf));
    assert_string_equal(buf, "midnight");
    ch_template_time_words(london, fx_utc(2026, 12, 1, 23, 59, 0), buf, sizeof(buf));
    assert_string_equal(buf, "11:59pm");
    ch_template_date_words(london, fx_utc(2024, 2, 29, 12, 0, 0), buf, sizeof(buf));
    assert_string_equal(buf, "Thursday 29 February 2024");
    ch_template_date_words(london, fx_utc(1969, 12, 31, 12, 0, 0), buf, sizeof(buf));
    assert_string_equal(buf, "Wednesday 31 December 1969");
    ch_tz_free(london);
}

/* ---- finding files ---- */

static void
test_find_prefers_organisation_channel_then_defaults(void **state)
{
    (void)state;
    char path[1024], err[512];
    assert_int_equal(ch_template_find(CHARTER_TEMPLATE_DIR, "nottingham-city-homes",
                                      "appointment_confirmation", "email", "en", path, sizeof(path),
                                      err, sizeof(err)),
                     0);
    assert_non_null(strstr(path, "/nottingham-city-homes/appointment_confirmation.email.en.txt"));
    /* NCH has no SMS override: the default's SMS file. */
    assert_int_equal(ch_template_find(CHARTER_TEMPLATE_DIR, "nottingham-city-homes",
                                      "appointment_confirmation", "sms", "en", path, sizeof(path),
                                      err, sizeof(err)),
                     0);
    assert_non_null(strstr(path, "/default/appointment_confirmation.sms.en.txt"));
    /* NCH's letter: its own "any" file before the default's. */
    assert_int_equal(ch_template_find(CHARTER_TEMPLATE_DIR, "nottingham-city-homes",
                                      "appointment_confirmation", "letter", "en", path,
                                      sizeof(path), err, sizeof(err)),
                     0);
    assert_non_null(strstr(path, "/nottingham-city-homes/appointment_confirmation.any.en.txt"));
    assert_int_equal(ch_template_find(CHARTER_TEMPLATE_DIR, "nihe", "appointment_confirmation",
                                      "letter", "en", path, sizeof(path), err, sizeof(err)),
                     0);
    assert_non_null(strstr(path, "/default/appointment_confirmation.any.en.txt"));
    /* Welsh is not shipped yet: English. */
    assert_int_equal(ch_template_find(CHARTER_TEMPLATE_DIR, "derby-homes", "acknowledgement",
                                      "social", "cy", path, sizeof(path), err, sizeof(err)),
                     0);
    assert_non_null(strstr(path, "/default/acknowledgement.any.en.txt"));
    assert_int_equal(ch_template_find(CHARTER_TEMPLATE_DIR, "derby-homes", "no_such_kind", "email",
                                      "en", path, sizeof(path), err, sizeof(err)),
                     CH_ENOTFOUND);
    assert_non_null(strstr(err, "no_such_kind"));
    /* SMS never falls back to an "any" file written for letters. */
    assert_int_equal(ch_template_find(CHARTER_TEMPLATE_DIR, "derby-homes", "staff_breach", "sms",
                                      "en", path, sizeof(path), err, sizeof(err)),
                     CH_ENOTFOUND);
    assert_int_equal(ch_template_find(CHARTER_TEMPLATE_DIR, "derby-homes", "staff_breach", "letter",
                                      "en", path, sizeof(path), err, sizeof(err)),
                     0);
    assert_non_null(strstr(path, "/default/staff_breach.any.en.txt"));
    assert_int_equal(ch_template_find(CHARTER_TEMPLATE_DIR, "../etc", "acknowledgement", "email",
                                      "en", path, sizeof(path), err, sizeof(err)),
                     CH_EINVAL);
}

/* A language with no template, or one that is no name at all (a contact
 * recorded before ingest checked tags), never fails the message: English,
 * the default templates' language (review item M6). */
static void
test_find_language_falls_back(void **state)
{
    (void)state;
    static const char *const langs[] = {
        "fr", "en-GB", "cy-GB", "en GB", "pt_BR.UTF-8", "en-GB;q=0.9", "../../etc/passwd", ""};
    for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]); i++) {
        char path[1024], err[512] = "";
        if (ch_template_find(CHARTER_TEMPLATE_DIR, "derby-homes", "acknowledgement", "email",
                             langs[i], path, sizeof(path), err, sizeof(err)) != 0)
            fail_msg("language '%s' failed the lookup: %s", langs[i], err);
        assert_non_null(strstr(path, "/default/acknowledgement.email.en.txt"));
    }
}

/* ---- the shipped templates ---- */

static const char *const kinds[] = {
    "acknowledgement",        "holding_reply",         "appointment_confirmation",
    "appointment_reminder",   "appointment_cancelled", "staff_warning",
    "staff_breach",           "staff_wait_exceeded",   "staff_review_due",
    "staff_callback_overdue",
};
static const char *const channels[] = {"email", "sms", "letter", "social", "online_form"};

static int
is_staff(const char *kind)
{
    return strncmp(kind, "staff_", 6) == 0;
}

static void
test_every_shipped_template_renders_for_the_five_policies(void **state)
{
    (void)state;
    const char *const *orgs = fx_shipped_ids;
    int sms_checked = 0;
    for (size_t o = 0; o < FX_SHIPPED_N; o++) {
        char path[1024], err[1024];
        ch_policy p;
        if (fx_policy_load(orgs[o], &p) != 0)
            fail_msg("policies/%s.yaml did not load", orgs[o]);
        /* Long real values: the longest weekday and month. */
        ch_template_var vars[] = {
            V("reference", "NIHE-2026-000123"),
            V("organisation", p.name),
            V("customer_name", "Alexandra Montgomery-Smith"),
            V("target_date", "Wednesday 30 September 2026"),
            V("new_target_date", "Wednesday 30 September 2026"),
            V("respond_within", "within 10 working days"),
            V("contact_name", "Sam Patel"),
            V("contact_details", "0115 746 9000"),
            V("reason", "We are waiting for a report from our repairs team."),
            V("appointment_date", "Wednesday 30 September 2026"),
            V("appointment_time", "10:30am"),
            V("case_type", "Complaint, stage 1"),
            V("channel", "Email"),
            V("role", p.nroles ? p.roles[0].title : "Case owner"),
            V("tier", "2"),
            V("due_date", "Wednesday 30 September 2026"),
            V("due_time", "10:30am"),
            V("waited", "25 minutes"),
            V("appointment_location", "Flat 12, Montgomery House, 123 Wollaton Road, NG8 1AB"),
            V("visit_requirements", NULL), /* per channel, below */
        };
        size_t nvars = sizeof(vars) / sizeof(vars[0]);
        for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
            for (size_t c = 0; c < sizeof(channels) / sizeof(channels[0]); c++) {
                if (is_staff(kinds[k]) && strcmp(channels[c], "email") != 0)
                    continue;
                /* As notification gives it: run on in a text or social
                 * message, a line each elsewhere. */
                int inline_list =
                    strcmp(channels[c], "sms") == 0 || strcmp(channels[c], "social") == 0;
                char *visit = ch_template_list((const char *const *)p.visit_requirements,
                                               p.nvisit_requirements, inline_list);
                vars[nvars - 1].value = visit;
                if (ch_template_find(CHARTER_TEMPLATE_DIR, orgs[o], kinds[k], channels[c], "en",
                                     path, sizeof(path), err, sizeof(err)) != 0)
                    fail_msg("%s", err);
                ch_template t;
                if (ch_template_load_file(path, &t, err, sizeof(err)) != 0)
                    fail_msg("%s", err);
                assert_int_equal(t.subject != NULL, strcmp(channels[c], "email") == 0);
                char *subject = NULL;
                char *body = render_ok(&t, vars, nvars, &subject);
                /* Every message carries the case reference. */
                if (!strstr(body, "NIHE-2026-000123") &&
                    !(subject && strstr(subject, "NIHE-2026-000123")))
                    fail_msg("%s: no reference in the message", path);
                if (strcmp(kinds[k], "acknowledgement") == 0) {
                    assert_non_null(strstr(body, "Your reference is NIHE-2026-000123"));
                    assert_non_null(strstr(body, "by Wednesday 30 September 2026"));
                    assert_non_null(strstr(body, "Sam Patel"));
                }
                if (strcmp(kinds[k], "holding_reply") == 0) {
                    assert_non_null(strstr(body, "Wednesday 30 September 2026"));
                    assert_non_null(strstr(body, "waiting for a report"));
                }
                if (strcmp(kinds[k], "appointment_confirmation") == 0) {
                    /* What the charter asks of the visit, on every channel. */
                    for (size_t r = 0; r < p.nvisit_requirements; r++)
                        if (!strstr(body, p.visit_requirements[r]))
                            fail_msg("%s: '%s' missing for %s", path, p.visit_requirements[r],
                                     orgs[o]);
                    if (strcmp(orgs[o], "nottingham-city-homes") == 0) {
                        /* Seed 000's visit asks. */
                        assert_non_null(strstr(body, "photo ID"));
                        assert_non_null(strstr(body, "smoke"));
                        assert_non_null(strstr(body, "pets"));
                    }
                }
                if (strncmp(kinds[k], "appointment_", 12) == 0) {
                    assert_non_null(strstr(body, "Wednesday 30 September 2026"));
                    assert_non_null(strstr(body, "10:30am"));
                }
                if (is_staff(kinds[k]))
                    assert_non_null(strstr(body, vars[13].value));
                if (strcmp(channels[c], "sms") == 0) {
                    ch_sms_measure m;
                    assert_int_equal(ch_sms_measure_text(body, &m), 0);
                    if (m.encoding != CH_SMS_GSM7)
                        fail_msg("%s: U+%04X at byte %zu is not a GSM character", path,
                                 (unsigned)m.first_non_gsm, m.first_non_gsm_offset);
                    if (m.parts > 2)
                        fail_msg("%s: %zu parts (%zu characters)", path, m.parts, m.units);
                    sms_checked++;
                }
                free(subject);
                free(body);
                free(visit);
                ch_template_free(&t);
            }
        }
        ch_policy_free(&p);
    }
    assert_int_equal(sms_checked, 5 * 5);
}

static void
test_sms_acknowledgement_is_one_part_without_a_named_contact(void **state)
{
    (void)state;
    char path[1024], err[512];
    assert_int_equal(ch_template_find(CHARTER_TEMPLATE_DIR, "nihe", "acknowledgement", "sms", "en",
                                      path, sizeof(path), err, sizeof(err)),
                     0);
    ch_template t;
    assert_int_equal(ch_template_load_file(path, &t, err, sizeof(err)), 0);
    ch_template_var vars[] = {V("organisation", "Northern Ireland Housing Executive"),
                              V("reference", "NIHE-2026-000123"),
                              V("target_date", "Wednesday 30 September 2026")};
    char *body = render_ok(&t, vars, 3, NULL);
    ch_sms_measure m;
    assert_int_equal(ch_sms_measure_text(body, &m), 0);
    assert_int_equal(m.encoding, CH_SMS_GSM7);
    assert_int_equal(m.parts, 1);
    assert_true(m.units <= 160);
    free(body);
    ch_template_free(&t);
}

static void
test_list_of_sentences_as_lines_or_run_on(void **state)
{
    (void)state;
    const char *const items[] = {"Please keep pets secure.", "Please do not smoke."};
    char *lines = ch_template_list(items, 2, 0), *run = ch_template_list(items, 2, 1);
    assert_string_equal(lines, "- Please keep pets secure.\n- Please do not smoke.");
    assert_string_equal(run, "Please keep pets secure. Please do not smoke.");
    free(lines);
    free(run);
    assert_null(ch_template_list(items, 0, 0));
    /* In a template: a guarded block goes when the policy has none. */
    ch_template t;
    parse_ok("Hello.\n{?visit_requirements}Before we visit:\n{?visit_requirements}"
             "{visit_requirements}\nBye.",
             0, &t);
    ch_template_var none[] = {V("visit_requirements", NULL)};
    char *b = render_ok(&t, none, 1, NULL);
    assert_string_equal(b, "Hello.\nBye.");
    free(b);
    lines = ch_template_list(items, 2, 0);
    ch_template_var some[] = {V("visit_requirements", lines)};
    b = render_ok(&t, some, 1, NULL);
    assert_string_equal(b, "Hello.\nBefore we visit:\n- Please keep pets secure.\n- Please do "
                           "not smoke.\nBye.");
    free(b);
    free(lines);
    ch_template_free(&t);
}

/* Every file under templates/ loads, so a typo anywhere fails here. */
static void
test_every_file_under_templates_loads(void **state)
{
    (void)state;
    DIR *top = opendir(CHARTER_TEMPLATE_DIR);
    assert_non_null(top);
    int files = 0;
    struct dirent *d;
    while ((d = readdir(top))) {
        if (d->d_name[0] == '.')
            continue;
        char sub[1024];
        snprintf(sub, sizeof(sub), "%s/%s", CHARTER_TEMPLATE_DIR, d->d_name);
        DIR *dir = opendir(sub);
        if (!dir)
            continue; /* README.md */
        struct dirent *f;
        while ((f = readdir(dir))) {
            size_t n = strlen(f->d_name);
            if (n < 4 || strcmp(f->d_name + n - 4, ".txt") != 0)
                continue;
            char path[2048], err[1024];
            snprintf(path, sizeof(path), "%s/%s", sub, f->d_name);
            ch_template t;
            if (ch_template_load_file(path, &t, err, sizeof(err)) != 0)
                fail_msg("%s", err);
            ch_template_free(&t);
            files++;
        }
        closedir(dir);
    }
    closedir(top);
    assert_true(files >= 23 + 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_email_subject_body_and_guards),
        cmocka_unit_test(test_later_value_wins_and_plain_templates_have_no_subject),
        cmocka_unit_test(test_unknown_placeholder_names_file_line_and_placeholder),
        cmocka_unit_test(test_broken_braces_and_subjects_are_refused),
        cmocka_unit_test(test_missing_value_names_file_line_and_placeholder),
        cmocka_unit_test(test_dates_and_times_in_words_in_the_policy_zone),
        cmocka_unit_test(test_find_prefers_organisation_channel_then_defaults),
        cmocka_unit_test(test_find_language_falls_back),
        cmocka_unit_test(test_every_shipped_template_renders_for_the_five_policies),
        cmocka_unit_test(test_sms_acknowledgement_is_one_part_without_a_named_contact),
        cmocka_unit_test(test_list_of_sentences_as_lines_or_run_on),
        cmocka_unit_test(test_every_file_under_templates_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
