/*
 * A policy's promises: which channels and case types each covers, its clocks
 * (acknowledge, respond, answer, see, review), holding replies, warnings and
 * the reply channel (docs/policies.md, "promises").
 *
 * Each key of a promise is one line of promise_keys (yaml_walk.h); what is
 * left here by hand is what a table cannot say:
 * - the order keys are read in, because later ones depend on earlier ones
 *   (respond anchors on the acknowledgement, a holding reply needs a respond
 *   clock, warnings count towards whichever clock the promise has);
 * - the completeness rule: every channel a promise lists has its clocks,
 *   checked here so the error names the missing key;
 * - the Housing Ombudsman Complaint Handling Code 2024 presets, expanded into
 *   an acknowledgement, a response anchored on it and the longest extension;
 * - one promise per channel and case type across the list.
 *
 * Clocks are parsed once with ch_clock_parse() and kept beside their text and
 * where it was written, so a later error or description can quote them.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "policy_int.h"

/* Key tables give a row's first members in order and the rest by name; what a
 * row leaves out is zero, which is what it means (yaml_walk.h). */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

_Static_assert(sizeof(ch_policy_reply_channel) == sizeof(int), "CH__YAML_CHOICE stores an int");

/* ---- clocks ---- */

enum {
    K_ELAPSED = 1 << CH_CLOCK_ELAPSED,
    K_DAYS = 1 << CH_CLOCK_DAYS,
    K_WORKING = 1 << CH_CLOCK_WORKING_DAYS,
    K_NEXT = 1 << CH_CLOCK_NEXT_WORKING_DAY,
    K_MONTHS = 1 << CH_CLOCK_MONTHS,
    K_ANY = K_ELAPSED | K_DAYS | K_WORKING | K_NEXT | K_MONTHS,
};

#define CLOCK_EXAMPLES "e.g. '5 working days', '24 hours', 'end of next working day', '14 days'"

static int
parse_clock(ch__yaml *y, yaml_node_t *n, const char *path, unsigned kinds, int presets,
            const char *expected, ch_policy_clock *out)
{
    const char *s;
    int rc = ch__yaml_scalar(y, n, path, expected, &s);
    if (rc)
        return rc;
    char why[512];
    ch_clock c;
    if (ch_clock_parse(s, &c, why, sizeof(why)) != 0)
        return ch__yaml_fail(y, n, path, "'%s' is not a clock (expected %s)", s, expected);
    if (c.preset[0] && !presets)
        return ch__yaml_fail(
            y, n, path, "'%s' is a statutory preset, not allowed here (expected %s)", s, expected);
    if (!(kinds & (1u << c.kind)))
        return ch__yaml_fail(y, n, path, "'%s' is not allowed here (expected %s)", s, expected);
    if (c.n <= 0 && c.kind != CH_CLOCK_NEXT_WORKING_DAY)
        return ch__yaml_fail(y, n, path, "'%s' is no time at all (expected %s)", s, expected);
    if (strlen(s) >= sizeof(out->text))
        return ch__yaml_fail(y, n, path, "'%.40s...' is too long", s);
    memset(out, 0, sizeof(*out));
    out->set = 1;
    out->clock = c;
    snprintf(out->text, sizeof(out->text), "%s", s);
    out->line = ch__yaml_line(n);
    out->column = ch__yaml_col(n);
    if (ch__policy_ld_of(y)->p->roll_calendar_days && !c.preset[0] &&
        (c.kind == CH_CLOCK_DAYS || c.kind == CH_CLOCK_MONTHS))
        out->clock.roll_forward = 1;
    return 0;
}

/* A key whose value is a clock of the kinds in k->arg. */
static int
clock_key(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_key *k, void *field)
{
    return parse_clock(y, n, path, k->arg, 0, k->expected, field);
}

/* A clock filled in by a preset: no line of its own. */
static void
preset_clock(const char *text, const char *preset, ch_clock_anchor anchor, ch_policy_clock *out)
{
    char why[256];
    memset(out, 0, sizeof(*out));
    if (ch_clock_parse(text, &out->clock, why, sizeof(why)) != 0)
        abort(); /* our own constant */
    out->set = 1;
    out->clock.anchor = anchor;
    snprintf(out->clock.preset, sizeof(out->clock.preset), "%s", preset);
    snprintf(out->text, sizeof(out->text), "%s", text);
}

/* Is `a` at least as long as `b`? Only answerable for the same kind. */
static int
clock_not_shorter(const ch_clock *a, const ch_clock *b)
{
    if (a->kind == b->kind)
        return a->n >= b->n;
    if (b->kind == CH_CLOCK_NEXT_WORKING_DAY)
        return a->kind == CH_CLOCK_WORKING_DAYS && a->n >= 1;
    return 0;
}

/* ---- what a promise covers ---- */

typedef struct {
    int channels; /* 1: channel names, 0: case types */
    unsigned *out;
} name_set;

static int
add_name(ch__yaml *y, yaml_node_t *v, const char *path, const char *word, void *arg)
{
    name_set *ns = arg;
    int value, rc;
    if (ns->channels) {
        ch_policy_channel c;
        rc = ch_policy_channel_parse(word, &c);
        value = (int)c;
    } else {
        ch_policy_case_type t;
        rc = ch_policy_case_type_parse(word, &t);
        value = (int)t;
    }
    if (rc)
        return ch__yaml_fail(y, v, path, "'%s' is not %s", word,
                             ns->channels ? "a channel (expected phone, voicemail, email, letter, "
                                            "online_form, social, visit, sms or any)"
                                          : "a case type (expected enquiry, service_request, "
                                            "complaint_stage_1, complaint_stage_2, foi, eir, sar, "
                                            "mp_enquiry, legal_action, restriction_review, "
                                            "appointment, home_visit, contact_group or any)");
    if (*ns->out & (1u << value))
        return ch__yaml_fail(y, v, path, "'%s' is listed twice", word);
    if ((value == 0 && *ns->out) || (value != 0 && (*ns->out & 1u)))
        return ch__yaml_fail(y, v, path, "'any' cannot be listed with other %s",
                             ns->channels ? "channels" : "case types");
    *ns->out |= 1u << value;
    return 0;
}

/* channel: or case_type: (k->arg 1 or 0): one name or a list, "any" alone. */
static int
parse_name_set(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_key *k, void *field)
{
    name_set ns = {(int)k->arg, field};
    *ns.out = 0;
    return ch__yaml_each_word(y, n, path, k->expected, k->expected, add_name, &ns);
}

/* The charter's own words, without the newline a block scalar ends in. */
static int
trim_says(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_key *k, void *field)
{
    (void)y, (void)n, (void)path, (void)k;
    char *says = *(char **)field;
    for (size_t len = strlen(says); len && isspace((unsigned char)says[len - 1]); len--)
        says[len - 1] = '\0';
    return 0;
}

/* ---- acknowledge and respond ---- */

static int
parse_acknowledge(ch__yaml *y, yaml_node_t *v, const char *path, const ch__yaml_key *k, void *field)
{
    static const ch__yaml_name words[] = {
        {"automatic", CH_POLICY_ACK_AUTOMATIC}, {"none", CH_POLICY_ACK_NONE}, {NULL, 0}};
    ch_policy_promise *pr = field;
    const ch__yaml_name *w = ch__yaml_find_name(words, ch__yaml_text(v));
    pr->ack = w ? (ch_policy_ack)w->value : CH_POLICY_ACK_WITHIN;
    if (w)
        return 0;
    return parse_clock(y, v, path, K_ELAPSED | K_DAYS | K_WORKING | K_NEXT, 0, k->expected,
                       &pr->acknowledge);
}

/* The Housing Ombudsman Complaint Handling Code 2024 (paragraphs 4.5, 6.2,
 * 6.3, 6.13, 6.14, 6.18, 6.19): acknowledge within 5 working days of receipt;
 * respond within 10 (stage 1) or 20 (stage 2) working days of the
 * acknowledgement; an extension of at most 10 or 20 working days. */
static int
expand_complaint(ch__yaml *y, yaml_node_t *v, const char *path, int stage, int ack_given,
                 ch_policy_promise *pr)
{
    const char *name = stage == 1 ? "complaint-stage-1" : "complaint-stage-2";
    if (!ack_given) {
        pr->ack = CH_POLICY_ACK_WITHIN;
        preset_clock("5 working days", name, CH_CLOCK_FROM_RECEIPT, &pr->acknowledge);
    } else if (pr->ack == CH_POLICY_ACK_NONE) {
        return ch__yaml_fail(y, v, path,
                             "%s responds from the acknowledgement, so acknowledge cannot be "
                             "none (leave it out for the Code's 5 working days, or give a clock)",
                             name);
    }
    preset_clock(stage == 1 ? "10 working days" : "20 working days", name,
                 CH_CLOCK_FROM_ACKNOWLEDGEMENT, &pr->respond);
    snprintf(pr->respond.text, sizeof(pr->respond.text), "%s", name);
    pr->respond.line = ch__yaml_line(v);
    pr->respond.column = ch__yaml_col(v);
    return 0;
}

static int
parse_respond(ch__yaml *y, yaml_node_t *v, const char *path, const ch__yaml_key *k, void *field)
{
    ch_policy_promise *pr = field;
    const char *s = ch__yaml_text(v);
    if (strcmp(s, "measured_only") == 0) {
        pr->respond_measured_only = 1;
        return 0;
    }
    if (strcmp(s, "complaint-stage-1") == 0 || strcmp(s, "complaint-stage-2") == 0) {
        const ch__policy_ld *l = ch__policy_ld_of(y);
        int ack_given = ch__yaml_get(y, l->promise, "acknowledge") != NULL;
        return expand_complaint(y, v, path, s[16] - '0', ack_given, pr);
    }
    return parse_clock(y, v, path, K_ANY, 1, k->expected, &pr->respond);
}

/* ---- answer and see: a time, measured_only, or a mapping of times ---- */

typedef struct {
    const char *expected; /* the whole value */
    const char *neither;  /* a mapping without any of keys */
    size_t clock;         /* offsetof the scalar form's clock in ch_policy_promise */
    size_t measured_only; /* offsetof its measured_only flag */
    const ch__yaml_key *keys;
    size_t nkeys;
} timed_value;

static int
parse_rings(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_key *k, void *field)
{
    (void)k;
    const char *s = ch__yaml_text(n);
    char *end;
    long rings = strtol(s, &end, 10);
    if (*end || rings < 1 || rings > 30 || !isdigit((unsigned char)*s))
        return ch__yaml_fail(y, n, path, "'%s' is not a number of rings (expected 1 to 30, e.g. 4)",
                             s);
    *(int *)field = (int)rings;
    return 0;
}

/* The seconds one ring takes: a call sent without a ring count is judged
 * from its wait, so ring_seconds only means something beside rings. */
static int
parse_ring_seconds(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_key *k,
                   void *field)
{
    (void)k;
    const char *s = ch__yaml_text(n);
    char *end;
    long secs = strtol(s, &end, 10);
    if (*end || secs < 1 || secs > 10 || !isdigit((unsigned char)*s))
        return ch__yaml_fail(y, n, path,
                             "'%s' is not a ring's length in seconds (expected 1 to 10, e.g. 3 "
                             "for the UK's ring cadence)",
                             s);
    const yaml_node_t *answer = ch__yaml_get(y, ch__policy_ld_of(y)->promise, "answer");
    if (!answer || !ch__yaml_get(y, answer, "rings"))
        return ch__yaml_fail(y, n, path,
                             "ring_seconds: needs rings: (it turns a call's wait into rings)");
    *(int *)field = (int)secs;
    return 0;
}

/* key, kind, field, expected, required (what to give), reader or check; then
 * what the kind needs (yaml_walk.h). */
static const ch__yaml_key answer_keys[] = {
    {"within", CH__YAML_CUSTOM, offsetof(ch_policy_promise, answer), "a time such as '20 seconds'",
     NULL, clock_key, .arg = K_ELAPSED},
    {"rings", CH__YAML_SCALAR, offsetof(ch_policy_promise, answer_rings),
     "a number of rings, e.g. 4", NULL, parse_rings},
    {"ring_seconds", CH__YAML_SCALAR, offsetof(ch_policy_promise, answer_ring_seconds),
     "a ring's length in seconds, e.g. 3", NULL, parse_ring_seconds},
};

static const ch__yaml_key see_keys[] = {
    {"within", CH__YAML_CUSTOM, offsetof(ch_policy_promise, see), "a time such as '15 minutes'",
     NULL, clock_key, .arg = K_ELAPSED},
    {"after_appointment", CH__YAML_CUSTOM, offsetof(ch_policy_promise, see_after_appointment),
     "a time such as '10 minutes'", NULL, clock_key, .arg = K_ELAPSED},
};

static const timed_value answer_value = {
    "a time such as '20 seconds', measured_only, or a mapping with within: and rings:",
    "expected within: (e.g. '20 seconds') or rings: (e.g. 4)",
    offsetof(ch_policy_promise, answer),
    offsetof(ch_policy_promise, answer_measured_only),
    answer_keys,
    CH__COUNTOF(answer_keys)};

static const timed_value see_value = {
    "a time such as '15 minutes', measured_only, or a mapping with within: and after_appointment:",
    "expected within: (e.g. '15 minutes') or after_appointment: (e.g. '10 minutes')",
    offsetof(ch_policy_promise, see),
    offsetof(ch_policy_promise, see_measured_only),
    see_keys,
    CH__COUNTOF(see_keys)};

static int
parse_timed(ch__yaml *y, yaml_node_t *v, const char *path, const ch__yaml_key *k, void *field)
{
    const timed_value *t = k->data;
    char *pr = field;
    int rc;
    if (v->type == YAML_SCALAR_NODE) {
        const char *s;
        if ((rc = ch__yaml_scalar(y, v, path, t->expected, &s)))
            return rc;
        if (strcmp(s, "measured_only") == 0) {
            *(int *)(pr + t->measured_only) = 1;
            return 0;
        }
        return parse_clock(y, v, path, K_ELAPSED, 0, t->expected,
                           (ch_policy_clock *)(pr + t->clock));
    }
    if ((rc = ch__yaml_want_mapping(y, v, path, t->expected)) ||
        (rc = ch__yaml_check_keys(y, v, path, t->keys, t->nkeys)))
        return rc;
    if (v->data.mapping.pairs.start == v->data.mapping.pairs.top)
        return ch__yaml_fail(y, v, path, "%s", t->neither);
    return ch__yaml_read_keys(y, v, path, t->keys, t->nkeys, NULL, pr);
}

/* ---- review and holding replies ---- */

#define REVIEW_EVERY (K_DAYS | K_WORKING | K_MONTHS)

static const ch__yaml_key review_keys[] = {
    {"first", CH__YAML_CUSTOM, offsetof(ch_policy_promise, review_first),
     "a clock such as '11 calendar months'", "a clock such as '11 calendar months'", clock_key,
     .arg = REVIEW_EVERY},
    {"then_every", CH__YAML_CUSTOM, offsetof(ch_policy_promise, review_every),
     "a clock such as '12 calendar months'", NULL, clock_key, .arg = REVIEW_EVERY},
    {"to", CH__YAML_CUSTOM, offsetof(ch_policy_promise, review_role), NULL,
     "the role that carries out the review", ch__policy_role_key},
};

/* Added to what a preset already asks for. */
static int
more_flags(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_key *k, void *field)
{
    unsigned more = 0;
    int rc = ch__yaml_parse_flags(y, n, path, k->names, &more);
    if (rc == 0)
        *(unsigned *)field |= more;
    return rc;
}

/* The one extension the law allows a statutory clock, on by default (a
 * policy may still say holding_reply: not_allowed); the basis a holding
 * reply must name, and the latest new target, counted from receipt:
 * - foi: FOI Act 2000 s.10(3), the public-interest extension; the ICO's
 *   guidance allows no more than 20 further working days: 40 working days
 *   from receipt, on the UK-wide calendar the Act's s.10(6) counts with;
 * - eir: EIR 2004 reg. 7(1), complex or voluminous: 40 working days from
 *   receipt;
 * - sar: UK GDPR art. 12(3), complex or numerous: two further months, three
 *   calendar months from receipt (the ICO's reading), a non-working last day
 *   moving to the next working day as the one-month clock does.
 * Each law asks the requester to be told why (FOIA s.17(2), EIR reg. 7(3),
 * art. 12(3)), so the reason is required, with the new date. foisa (no
 * extension in FOISA s.10) and sar-extended (already the longest) get none. */
void
ch__policy_statutory_extension(ch_policy_promise *pr)
{
    const char *preset = pr->respond.set ? pr->respond.clock.preset : "";
    if (!strcmp(preset, "foi") || !strcmp(preset, "eir")) {
        pr->statutory_basis = preset[0] == 'f' ? CH_POLICY_STATUTORY_FOI_PUBLIC_INTEREST
                                               : CH_POLICY_STATUTORY_EIR_COMPLEX;
        preset_clock("40 working days", preset, CH_CLOCK_FROM_RECEIPT, &pr->statutory_limit);
        pr->statutory_limit.clock.calendar = CH_CLOCK_CAL_UK_ANY;
    } else if (!strcmp(preset, "sar")) {
        pr->statutory_basis = CH_POLICY_STATUTORY_SAR_COMPLEX;
        preset_clock("3 calendar months", preset, CH_CLOCK_FROM_RECEIPT, &pr->statutory_limit);
        pr->statutory_limit.clock.roll_forward = 1;
    } else {
        return;
    }
    pr->holding_reply = 1;
    pr->holding_must_include |= CH_POLICY_HOLD_REASON | CH_POLICY_HOLD_TARGET_DATE;
}

/* A policy may shorten the Code's extension, never lengthen it; the law sets
 * a statutory clock's. */
static int
parse_max_extension(ch__yaml *y, yaml_node_t *x, const char *path, const ch__yaml_key *k,
                    void *field)
{
    ch_policy_clock *max = field, c;
    const ch_policy_promise *pr =
        (const ch_policy_promise *)((const char *)field -
                                    offsetof(ch_policy_promise, max_extension));
    if (pr->statutory_basis != CH_POLICY_STATUTORY_NONE)
        return ch__yaml_fail(y, x, path,
                             "the law sets how far a statutory clock (%s) may be extended: "
                             "remove max_extension (docs/policies.md, \"Extensions\")",
                             pr->respond.clock.preset);
    int rc = parse_clock(y, x, path, k->arg, 0, k->expected, &c);
    if (rc)
        return rc;
    if (max->set && max->clock.preset[0] && !clock_not_shorter(&max->clock, &c.clock))
        return ch__yaml_fail(y, x, path,
                             "'%s' is longer than %s allows (the Housing Ombudsman Code's "
                             "extension is at most %s)",
                             c.text, max->clock.preset, max->text);
    *max = c;
    return 0;
}

static const ch__yaml_key holding_keys[] = {
    {"must_include", CH__YAML_CUSTOM, offsetof(ch_policy_promise, holding_must_include), NULL, NULL,
     more_flags, .names = ch__policy_hold_names},
    {"max_extension", CH__YAML_CUSTOM, offsetof(ch_policy_promise, max_extension),
     "a clock such as '10 working days'", NULL, parse_max_extension,
     .arg = K_ELAPSED | K_DAYS | K_WORKING | K_MONTHS},
};

static const ch__yaml_name holding_words[] = {{"allowed", 1}, {"not_allowed", 0}, {NULL, 0}};

static int
parse_holding(ch__yaml *y, yaml_node_t *v, const char *path, const ch__yaml_key *k, void *field)
{
    (void)k;
    ch_policy_promise *pr = field;
    const char *expected = "allowed, not_allowed, or a mapping with must_include: and "
                           "max_extension:";
    int rc;
    if (v->type == YAML_SCALAR_NODE) {
        unsigned allowed;
        if ((rc = ch__yaml_parse_choice(y, v, path, holding_words, "allowed here", expected,
                                        &allowed)))
            return rc;
        pr->holding_reply = (int)allowed;
    } else {
        if ((rc = ch__yaml_want_mapping(y, v, path, expected)) ||
            (rc = ch__yaml_check_keys(y, v, path, holding_keys, CH__COUNTOF(holding_keys))))
            return rc;
        pr->holding_reply = 1;
        if ((rc =
                 ch__yaml_read_keys(y, v, path, holding_keys, CH__COUNTOF(holding_keys), NULL, pr)))
            return rc;
    }
    if (pr->holding_reply && !pr->respond.set)
        return ch__yaml_fail(y, v, path, "a holding reply needs a respond clock to move");
    return 0;
}

/* ---- warnings ---- */

/* The clock warnings count towards: the response, else the first review,
 * else the wait to be seen or answered. NULL if the promise has no time. */
static const ch_policy_clock *
warned_clock(const ch_policy_promise *pr)
{
    if (pr->respond.set)
        return &pr->respond;
    if (pr->review_first.set)
        return &pr->review_first;
    if (pr->see.set)
        return &pr->see;
    if (pr->see_after_appointment.set)
        return &pr->see_after_appointment;
    if (pr->answer.set)
        return &pr->answer;
    return NULL;
}

static int
parse_warning_at(ch__yaml *y, yaml_node_t *at, const char *path, const ch__yaml_key *k, void *field)
{
    (void)k;
    ch_policy_warning *pw = field;
    const ch_policy_clock *target = ch__policy_ld_of(y)->warned;
    const char *s = ch__yaml_text(at);
    if (strlen(s) >= sizeof(pw->at))
        return ch__yaml_fail(y, at, path, "'%.40s...' is too long", s);
    snprintf(pw->at, sizeof(pw->at), "%s", s);
    pw->line = ch__yaml_line(at);
    pw->column = ch__yaml_col(at);
    if (strcmp(s, "breach") == 0) {
        pw->at_breach = 1;
        return 0;
    }
    char why[512];
    if (ch_warning_parse(s, &pw->rule, why, sizeof(why)) != 0)
        return ch__yaml_fail(y, at, path,
                             "'%s' is not a warning time (expected a share of the time such as "
                             "'75%%', a lead such as '1 working day before' or '2 hours before', "
                             "or breach)",
                             s);
    if (!pw->rule.percent && clock_not_shorter(&pw->rule.lead, &target->clock))
        return ch__yaml_fail(y, at, path,
                             "'%s' is as long as the whole clock ('%s'), so it would fire on "
                             "receipt (expected a shorter lead, or a share such as '50%%')",
                             s, target->text);
    if (!pw->rule.percent && target->clock.kind == CH_CLOCK_ELAPSED &&
        pw->rule.lead.kind != CH_CLOCK_ELAPSED)
        return ch__yaml_fail(y, at, path,
                             "'%s' counts days but '%s' is a time in hours or minutes (expected "
                             "e.g. '75%%' or '2 hours before')",
                             s, target->text);
    return 0;
}

static const ch__yaml_key tier_keys[] = {
    {"at", CH__YAML_SCALAR, 0, "'75%', '1 working day before' or breach",
     "'75%', '1 working day before', '2 hours before' or breach", parse_warning_at},
    {"to", CH__YAML_CUSTOM, offsetof(ch_policy_warning, role), NULL,
     "the role to alert, e.g. team_lead", ch__policy_role_key},
};

/* One tier of warnings: at: and to:. */
static int
read_tier(ch__yaml *y, yaml_node_t *w, const char *path, const ch__yaml_key *k, void *field)
{
    (void)k;
    return ch__yaml_map(y, w, path, "a tier with at: and to:", tier_keys, CH__COUNTOF(tier_keys),
                        field);
}

static const ch__yaml_key tier_list = {
    "warnings",
    CH__YAML_LIST,
    offsetof(ch_policy_promise, warnings),
    "a list of tiers, each with at: ('75%', '1 working day before' or breach) and to: (a role)",
    NULL,
    read_tier,
    .size = sizeof(ch_policy_warning),
    .count = offsetof(ch_policy_promise, nwarnings)};

/* Warnings need a clock to count towards, known once the rest is read. */
static int
parse_warnings(ch__yaml *y, yaml_node_t *v, const char *path, const ch__yaml_key *k, void *field)
{
    (void)k;
    if (v->type == YAML_SEQUENCE_NODE && ch__yaml_items(v) &&
        !(ch__policy_ld_of(y)->warned = warned_clock(field)))
        return ch__yaml_fail(y, v, path,
                             "this promise has no time to warn before (it is measured only): "
                             "remove warnings:");
    return ch__yaml_list(y, v, path, &tier_list, field);
}

/* ---- target: a share of cases ---- */

/* "80%", "80", "95.5%": a share from 1 to 100 with at most one decimal place,
 * on a promise that has a clock to be judged against. */
static int
parse_target(ch__yaml *y, yaml_node_t *v, const char *path, const ch__yaml_key *k, void *field)
{
    ch_policy_promise *pr = field;
    const char *s = ch__yaml_text(v);
    char *end = NULL;
    double pct = strtod(s, &end);
    const char *dot = strchr(s, '.');
    int ok = end != s && (s[0] >= '0' && s[0] <= '9') && strspn(s, "0123456789.%") == strlen(s) &&
             (*end == '\0' || strcmp(end, "%") == 0) && pct >= 1 && pct <= 100 &&
             (!dot || (size_t)(end - dot) <= 2);
    if (!ok)
        return ch__yaml_fail(y, v, path, "'%s' is not a target (expected %s)", s, k->expected);
    int judged = pr->respond.set || pr->answer.set || pr->answer_rings || pr->see.set ||
                 pr->see_after_appointment.set || pr->ack == CH_POLICY_ACK_AUTOMATIC ||
                 pr->ack == CH_POLICY_ACK_WITHIN;
    if (!judged)
        return ch__yaml_fail(y, v, path,
                             "this promise has no time to be judged against (it is measured "
                             "only): remove target:");
    pr->target_pct = pct;
    pr->target_line = ch__yaml_line(v);
    pr->target_column = ch__yaml_col(v);
    return 0;
}

/* ---- one promise ---- */

#define ACK_EXPECTED "automatic, none, or a clock such as '24 hours' or '1 working day'"
#define RESPOND_EXPECTED                                                                           \
    CLOCK_EXAMPLES ", a preset (foi, eir, foisa, sar, sar-extended, complaint-stage-1, "           \
                   "complaint-stage-2) or measured_only"

static const ch__yaml_key promise_keys[] = {
    {"id", CH__YAML_TEXT, offsetof(ch_policy_promise, id), "a short name such as email-reply",
     "a short name for the promise, e.g. email-reply", ch__policy_check_id,
     .size = sizeof(((ch_policy_promise *)0)->id), .arg = 1,
     .data = "lower-case letters, digits, '-' and '_', e.g. email-reply"},
    {"channel", CH__YAML_CUSTOM, offsetof(ch_policy_promise, channels),
     "a channel (phone, voicemail, email, letter, online_form, social, visit, sms, any) or a "
     "list of them",
     "phone, voicemail, email, letter, online_form, social, visit, sms, any, or a list of them",
     parse_name_set, .arg = 1},
    {"case_type", CH__YAML_CUSTOM, offsetof(ch_policy_promise, case_types),
     "a case type (enquiry, service_request, complaint_stage_1, complaint_stage_2, foi, eir, "
     "sar, mp_enquiry, legal_action, restriction_review, appointment, home_visit, "
     "contact_group, any) or a list of them",
     NULL, parse_name_set, .arg = 0},
    {"says", CH__YAML_STRING, offsetof(ch_policy_promise, says), "the charter's own words, quoted",
     "the charter's own words for this promise, quoted", trim_says},
    {"acknowledge", CH__YAML_SCALAR, 0, ACK_EXPECTED, NULL, parse_acknowledge},
    {"respond", CH__YAML_SCALAR, 0, RESPOND_EXPECTED, NULL, parse_respond},
    {"answer", CH__YAML_CUSTOM, 0, NULL, NULL, parse_timed, .data = &answer_value},
    {"see", CH__YAML_CUSTOM, 0, NULL, NULL, parse_timed, .data = &see_value},
    {"review", CH__YAML_MAP, 0,
     "a mapping with first: (e.g. '11 calendar months'), then_every: and to: (a role)", NULL, NULL,
     .keys = review_keys, .nkeys = CH__COUNTOF(review_keys)},
    {"reply_channel", CH__YAML_CHOICE, offsetof(ch_policy_promise, reply_channel),
     "same_unless_asked, same, preferred or email_or_sms", NULL, NULL,
     .names = ch__policy_reply_channels, .noun = "a reply channel rule"},
    {"named_contact", CH__YAML_BOOL, offsetof(ch_policy_promise, named_contact)},
    {"callback", CH__YAML_CHOICE, offsetof(ch_policy_promise, callback),
     "at_agreed_time or measured_only", NULL, NULL, .names = ch__policy_callbacks,
     .noun = "a call-back rule"},
    {"reference_on_reply", CH__YAML_BOOL, offsetof(ch_policy_promise, reference_on_reply)},
    {"holding_reply", CH__YAML_CUSTOM, 0, NULL, NULL, parse_holding},
    {"warnings", CH__YAML_CUSTOM, 0, NULL, NULL, parse_warnings},
    {"measures", CH__YAML_FLAGS, offsetof(ch_policy_promise, measures),
     .names = ch__policy_measure_names},
    {"target", CH__YAML_SCALAR, 0,
     "a share of cases from 1% to 100%, such as '80%' (at most one decimal place)", NULL,
     parse_target},
};

/* Read before the completeness rule, which needs them... */
static const char *const head_order[] = {"id",          "channel", "case_type", "says",
                                         "acknowledge", "respond", "review",    NULL};
/* ...and after it, holding_reply once the Code's preset has set its limits,
 * warnings last, once every clock they may count towards is known. */
static const char *const tail_order[] = {"holding_reply",      "reply_channel", "named_contact",
                                         "reference_on_reply", "callback",      "measures",
                                         "warnings",           "target",        NULL};

/* Keys a channel needs, and that only that channel may have. */
static const struct {
    const char *key;
    ch_policy_channel channel;
    const char *wrong, *missing;
} channel_keys[] = {
    {"answer", CH_POLICY_CHANNEL_PHONE, "answer: is for calls (expected channel: phone)",
     "missing: phone promises need an answer clock (e.g. answer: \"20 seconds\", answer: "
     "{rings: 4}, or answer: measured_only)"},
    {"see", CH_POLICY_CHANNEL_VISIT, "see: is for visits (expected channel: visit)",
     "missing: visit promises need a see clock (e.g. see: \"15 minutes\", see: "
     "{after_appointment: \"10 minutes\"}, or see: measured_only)"},
};

/* Any channel other than phone and visit (or "any") is answered in writing or
 * by a call back, so it needs an acknowledgement rule and a response clock. */
static int
check_written(ch__yaml *y, yaml_node_t *m, const char *path, const ch_policy_promise *pr)
{
    unsigned written =
        pr->channels & ~((1u << CH_POLICY_CHANNEL_PHONE) | (1u << CH_POLICY_CHANNEL_VISIT));
    if (!written || ch__yaml_get(y, m, "review"))
        return 0;
    char kp[CH__YAML_PATH_MAX];
    if (!ch__yaml_get(y, m, "respond")) {
        ch__yaml_join(kp, path, "respond");
        int c = 0;
        while (!(written & (1u << c)))
            c++;
        return ch__yaml_fail(y, m, kp,
                             "missing: %s%s promises need a respond clock (e.g. '5 working "
                             "days', 'foi', 'complaint-stage-1', or measured_only)",
                             c ? "" : "channel ", ch_policy_channel_name((ch_policy_channel)c));
    }
    if (!ch__yaml_get(y, m, "acknowledge") && pr->ack != CH_POLICY_ACK_WITHIN) {
        ch__yaml_join(kp, path, "acknowledge");
        return ch__yaml_fail(y, m, kp,
                             "missing: say how receipt is acknowledged (automatic, a clock such "
                             "as '24 hours', or none)");
    }
    return 0;
}

static int
parse_promise(ch__policy_ld *l, yaml_node_t *m, const char *path, ch_policy_promise *pr)
{
    ch__yaml *y = &l->y;
    const size_t nkeys = CH__COUNTOF(promise_keys);
    int rc = ch__yaml_want_mapping(y, m, path, "a promise (a mapping with id, channel, says, ...)");
    if (rc || (rc = ch__yaml_check_keys(y, m, path, promise_keys, nkeys)))
        return rc;
    l->promise = m;
    pr->line = ch__yaml_line(m);
    pr->column = ch__yaml_col(m);
    pr->case_types = 1u; /* any */
    if ((rc = ch__yaml_read_keys(y, m, path, promise_keys, nkeys, head_order, pr)))
        return rc;

    for (size_t i = 0; i < CH__COUNTOF(channel_keys); i++) {
        char kp[CH__YAML_PATH_MAX];
        ch__yaml_join(kp, path, channel_keys[i].key);
        int needed = (pr->channels & (1u << channel_keys[i].channel)) != 0;
        if (!ch__yaml_get(y, m, channel_keys[i].key)) {
            if (needed)
                return ch__yaml_fail(y, m, kp, "%s", channel_keys[i].missing);
            continue;
        }
        if (!needed)
            return ch__yaml_fail(y, ch__yaml_key_node(y, m, channel_keys[i].key), kp, "%s",
                                 channel_keys[i].wrong);
        if ((rc = ch__yaml_read(y, m, path, promise_keys, nkeys, channel_keys[i].key, pr)))
            return rc;
    }
    if (pr->answer_rings && !pr->answer_ring_seconds)
        pr->answer_ring_seconds = CH_POLICY_RING_SECONDS;
    if ((rc = check_written(y, m, path, pr)))
        return rc;
    if (pr->respond.set && pr->respond.clock.anchor == CH_CLOCK_FROM_ACKNOWLEDGEMENT &&
        pr->ack == CH_POLICY_ACK_NONE) {
        char kp[CH__YAML_PATH_MAX];
        ch__yaml_join(kp, path, "respond");
        return ch__yaml_fail(y, ch__yaml_get(y, m, "respond"), kp,
                             "responds from the acknowledgement but none is promised");
    }
    if (pr->respond.set && !strncmp(pr->respond.clock.preset, "complaint-stage-", 16)) {
        int stage = pr->respond.clock.preset[16] - '0';
        pr->holding_reply = 1;
        pr->holding_must_include |= CH_POLICY_HOLD_REASON;
        preset_clock(stage == 1 ? "10 working days" : "20 working days", pr->respond.clock.preset,
                     CH_CLOCK_FROM_RECEIPT, &pr->max_extension);
    }
    ch__policy_statutory_extension(pr);
    if ((rc = ch__yaml_read_keys(y, m, path, promise_keys, nkeys, tail_order, pr)))
        return rc;
    pr->reply_channel_explicit = ch__yaml_get(y, m, "reply_channel") != NULL;
    if (pr->callback != CH_POLICY_CALLBACK_NONE &&
        !(pr->channels & (1u << CH_POLICY_CHANNEL_PHONE))) {
        char kp[CH__YAML_PATH_MAX];
        ch__yaml_join(kp, path, "callback");
        return ch__yaml_fail(y, ch__yaml_key_node(y, m, "callback"), kp,
                             "callback: is for calls: a call-back is promised on the phone "
                             "(expected channel: phone)");
    }
    if (pr->named_contact && !l->p->contact.set) {
        char kp[CH__YAML_PATH_MAX];
        ch__yaml_join(kp, path, "named_contact");
        return ch__yaml_fail(y, ch__yaml_get(y, m, "named_contact"), kp,
                             "promises a named contact but the policy has no contact: (expected "
                             "contact: with team, phone and email, named in notices before a "
                             "person is assigned)");
    }
    return 0;
}

/* One promise per channel and case type, and one per id. */
static int
check_unique(ch__policy_ld *l, yaml_node_t *m, const char *ip, size_t i)
{
    const ch_policy_promise *pr = &l->p->promises[i];
    char kp[CH__YAML_PATH_MAX];
    for (size_t j = 0; j < i; j++) {
        const ch_policy_promise *q = &l->p->promises[j];
        if (strcmp(q->id, pr->id) == 0) {
            ch__yaml_join(kp, ip, "id");
            return ch__yaml_fail(&l->y, ch__yaml_get(&l->y, m, "id"), kp,
                                 "'%s' is already the id of promises[%zu]", pr->id, j);
        }
        unsigned ch = q->channels & pr->channels, ct = q->case_types & pr->case_types;
        if (ch && ct) {
            int c = 0, t = 0;
            while (!(ch & (1u << c)))
                c++;
            while (!(ct & (1u << t)))
                t++;
            ch__yaml_join(kp, ip, "channel");
            return ch__yaml_fail(&l->y, m, kp,
                                 "channel %s with case type %s is already promised by "
                                 "promises[%zu] (%s, line %d): one promise per channel and case "
                                 "type",
                                 ch_policy_channel_name((ch_policy_channel)c),
                                 ch_policy_case_type_name((ch_policy_case_type)t), j, q->id,
                                 q->line);
        }
    }
    return 0;
}

int
ch__policy_read_promise(ch__yaml *y, yaml_node_t *m, const char *path, const ch__yaml_key *k,
                        void *field)
{
    (void)k;
    ch__policy_ld *l = ch__policy_ld_of(y);
    ch_policy_promise *pr = field;
    int rc = parse_promise(l, m, path, pr);
    return rc ? rc : check_unique(l, m, path, (size_t)(pr - l->p->promises));
}
