/*
 * charterctl policy check FILE...
 * charterctl deadline --policy FILE --channel CH [--type T] --received INSTANT
 *            [--reviewed INSTANT] [--extend-to INSTANT [--basis B] [--sent INSTANT]
 *            [--with LIST]]
 *
 * The first is what an organisation's staff run after editing their policy:
 * it either says in plain English what every promise now means, or prints
 * the loader's error (file:line:column: key: what was expected) so an editor
 * can jump to it. The second shows every clock a case would get under a
 * policy, each beside the rule that made it, so a surprising deadline can be
 * traced to one line of the file.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/calendar.h"
#include "charter/case_clock.h"
#include "charter/deadline.h"
#include "charter/extension.h"
#include "charter/org_check.h"
#include "charter/policy.h"
#include "charter/timeutil.h"
#include "charter/tz.h"
#include "charterctl.h"

static void
print_summary(const ch_policy *p)
{
    char buf[1024];
    printf("  %s (%s), %s", p->name, p->id,
           p->kind == CH_POLICY_KIND_HOUSING_LANDLORD ? "housing landlord" : "council");
    if (p->homes) {
        char n[32], grouped[48];
        int len = snprintf(n, sizeof(n), "%lld", (long long)p->homes), k = 0;
        for (int i = 0; i < len; i++) {
            if (i && (len - i) % 3 == 0)
                grouped[k++] = ',';
            grouped[k++] = n[i];
        }
        grouped[k] = '\0';
        printf(", %s homes", grouped);
    }
    printf(", references %s-YYYY-NNNNNN\n", p->reference_prefix);
    ch_policy_describe_hours(&p->hours, buf, sizeof(buf));
    printf("  %s holidays, time zone %s, open %s\n", ch_nation_title(p->nation), p->timezone, buf);
    if (p->nclosures) {
        printf("  closed:");
        for (size_t i = 0; i < p->nclosures; i++) {
            int y, m, d;
            ch_civil_from_day(p->closures[i].first, &y, &m, &d);
            printf("%s %04d-%02d-%02d", i ? "," : "", y, m, d);
            if (p->closures[i].last != p->closures[i].first) {
                ch_civil_from_day(p->closures[i].last, &y, &m, &d);
                printf(" to %04d-%02d-%02d", y, m, d);
            }
        }
        printf("\n");
    }
    if (p->defer_out_of_hours)
        printf("  receipt after closing or on a non-working day counts from the next working "
               "day\n");
    if (p->roll_calendar_days)
        printf("  calendar-day deadlines on a non-working day move to the next working day\n");
    for (size_t i = 0; i < p->npromises; i++) {
        ch_policy_describe_promise(p, &p->promises[i], buf, sizeof(buf));
        printf("  - %s\n", buf);
    }
}

int
ch_cmd_policy(int argc, char **argv)
{
    ch_org_check_opts o = {getenv("CHARTER_NOTIFY_TEMPLATE_DIR"),
                           getenv("CHARTER_NOTIFY_STAFF_EMAIL")};
    int first = 2;
    if (argc >= 2 && strcmp(argv[1], "check") == 0)
        while (first + 1 < argc && strncmp(argv[first], "--", 2) == 0) {
            if (strcmp(argv[first], "--templates") == 0)
                o.template_dir = argv[first + 1];
            else if (strcmp(argv[first], "--staff-email") == 0)
                o.staff_email = argv[first + 1];
            else
                break;
            first += 2;
        }
    if (argc < 2 || strcmp(argv[1], "check") != 0 || first >= argc ||
        strncmp(argv[first], "--", 2) == 0) {
        fprintf(stderr,
                "Usage: charterctl policy check [--templates DIR] [--staff-email PATTERN] FILE...\n"
                "Validates each policy with the checks the services run when they load it (the\n"
                "file, its time zone; with --templates, notify.template_dir: the templates its\n"
                "notices need; with --staff-email, notify.staff.email: an address for every\n"
                "role) and prints every promise in plain English. The two options default to\n"
                "CHARTER_NOTIFY_TEMPLATE_DIR and CHARTER_NOTIFY_STAFF_EMAIL.\n"
                "Exit status 0 if all load, 1 otherwise (errors on stderr).\n");
        return 2;
    }
    int failed = 0;
    for (int i = first; i < argc; i++) {
        ch_org_clocks oc;
        char err[1024];
        if (ch_org_check_file(argv[i], &o, &oc, err, sizeof(err)) != 0) {
            fprintf(stderr, "%s\n", err);
            failed = 1;
            continue;
        }
        const ch_policy *p = &oc.policy;
        size_t written = 0;
        for (size_t k = 0; k < p->npromises; k++)
            written += p->promises[k].origin == CH_POLICY_FROM_FILE;
        printf("%s: ok, %zu promise%s", argv[i], written, written == 1 ? "" : "s");
        if (p->npromises > written)
            printf(" (and %zu rule%s supplied by Charter)", p->npromises - written,
                   p->npromises - written == 1 ? "" : "s");
        char types[512];
        ch_policy_case_types_list(p, types, sizeof(types));
        printf("\n  case types: %s\n", types);
        print_summary(p);
        ch_org_clocks_free(&oc);
    }
    return failed;
}

/* ---- deadline --policy ---- */

/* Every clock of a case, collected so they print in time order (the order
 * they will fire in), then the clocks without an instant. */
typedef struct {
    int timed;
    int64_t ms;
    int seq;
    char label[96];
    char rule[768];
} entry;

#define MAX_ENTRIES 48

typedef struct {
    ch_deadline_ctx ctx;
    const ch_policy *p;
    entry e[MAX_ENTRIES];
    int n;
    int64_t respond_start, respond_due; /* the response clock, when there is one */
    int64_t reviewed;                   /* --reviewed, or 0 */
} run;

/* Adds an entry (timed 0: no instant); the rule is printf-formatted. */
static void add(run *r, int timed, int64_t ms, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
add(run *r, int timed, int64_t ms, const char *label, const char *fmt, ...)
{
    if (r->n == MAX_ENTRIES)
        return;
    entry *e = &r->e[r->n];
    e->timed = timed;
    e->ms = ms;
    e->seq = r->n++;
    snprintf(e->label, sizeof(e->label), "%s", label);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->rule, sizeof(e->rule), fmt, ap);
    va_end(ap);
}

static int
entry_cmp(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->timed != y->timed)
        return x->timed ? -1 : 1;
    if (x->timed && x->ms != y->ms)
        return x->ms < y->ms ? -1 : 1;
    return x->seq - y->seq;
}

static void
print_entries(run *r)
{
    qsort(r->e, (size_t)r->n, sizeof(r->e[0]), entry_cmp);
    int w = 0;
    for (int i = 0; i < r->n; i++)
        if ((int)strlen(r->e[i].label) > w)
            w = (int)strlen(r->e[i].label);
    for (int i = 0; i < r->n; i++) {
        char when[64] = "-";
        if (r->e[i].timed)
            ch_deadline_format(r->ctx.tz, r->e[i].ms, when, sizeof(when));
        printf("%-*s  %-25s  %s\n", w, r->e[i].label, when, r->e[i].rule);
    }
}

/* One clock of a promise, counted from some start: when it is due, the rule
 * in words, and where the policy sets it ("answer: 1 day, line 12"). */
typedef struct {
    int64_t due;
    char words[256];
    char src[256];
} clock_due;

/* Fills *out for clock c (the policy's key `key`) from start, its rule in
 * describe's words. Returns 0, or -1 after saying why. */
static int
clock_from(run *r, const ch_policy_clock *c, const char *key, int64_t start,
           void (*describe)(const ch_clock *c, char *buf, size_t bufsz), clock_due *out)
{
    if (ch_deadline_due(&r->ctx, &c->clock, start, NULL, 0, &out->due) != 0) {
        fprintf(stderr,
                "charterctl: cannot compute '%s' from that instant (dates must fall in "
                "%d-%d)\n",
                c->text, CH_CAL_FIRST_YEAR, CH_CAL_LAST_YEAR);
        return -1;
    }
    describe(&c->clock, out->words, sizeof(out->words));
    if (c->line)
        snprintf(out->src, sizeof(out->src), "%s: %s, line %d", key, c->text, c->line);
    else
        snprintf(out->src, sizeof(out->src), "%s: %s preset", key, c->clock.preset);
    return 0;
}

static int
print_warnings(run *r, const ch_policy_promise *pr, int64_t start, int64_t due, const char *what)
{
    int64_t times[CH_CASE_MAX_WARNINGS];
    if (pr->nwarnings > CH_CASE_MAX_WARNINGS ||
        ch_promise_warning_times(&r->ctx, pr, start, due, times) != 0) {
        fprintf(stderr, "charterctl: cannot compute the warnings of this promise\n");
        return -1;
    }
    for (size_t i = 0; i < pr->nwarnings; i++) {
        const ch_policy_warning *w = &pr->warnings[i];
        const ch_policy_role *role = &r->p->roles[w->role];
        char label[96], rule[512];
        int64_t at = due;
        if (w->at_breach) {
            snprintf(label, sizeof(label), "breach alert: %s", role->key);
            snprintf(rule, sizeof(rule), "%s is due, to the %s (at: breach, line %d)", what,
                     role->title, w->line);
        } else {
            at = times[i];
            snprintf(label, sizeof(label), "warning: %s", role->key);
            if (w->rule.percent)
                snprintf(rule, sizeof(rule), "%d%% of the time to %s, to the %s (at: %s, line %d)",
                         w->rule.percent, what, role->title, w->at, w->line);
            else
                snprintf(rule, sizeof(rule), "%s %s, to the %s (at: %s, line %d)", w->at, what,
                         role->title, w->at, w->line);
        }
        add(r, 1, at, label, "%s", rule);
    }
    return 0;
}

static int
print_clocks(run *r, const ch_policy_promise *pr, int64_t received)
{
    clock_due c;
    add(r, 1, received, "received", "the instant given with --received");
    if (pr->origin == CH_POLICY_SUPPLIED_MEASURED) {
        add(r, 0, 0, "measured",
            "no time promised: no promise in the file covers this contact, so Charter counts it "
            "(received, answered) under its own last rule, charter-measured");
        return 0;
    }

    /* Acknowledgement */
    int64_t ack_due = received;
    if (pr->ack == CH_POLICY_ACK_AUTOMATIC) {
        add(r, 1, received, "acknowledgement",
            "sent automatically on receipt (acknowledge: "
            "automatic)");
        add(r, 1, received + CH_CASE_AUTO_ACK_GRACE_MS, "acknowledgement overdue",
            "staff alerted if no acknowledgement is recorded within %lld minutes of receipt (the "
            "grace an automatic acknowledgement has)",
            (long long)(CH_CASE_AUTO_ACK_GRACE_MS / 60000));
    } else if (pr->ack == CH_POLICY_ACK_WITHIN) {
        if (clock_from(r, &pr->acknowledge, "acknowledge", received, ch_policy_describe_clock, &c))
            return -1;
        ack_due = c.due;
        add(r, 1, ack_due, "acknowledgement due", "acknowledge %s (%s)", c.words, c.src);
    } else if (pr->respond.set || pr->respond_measured_only) {
        add(r, 0, 0, "acknowledgement", "none promised (acknowledge: none)");
    }

    /* Calls and visits */
    if (pr->answer.set) {
        if (clock_from(r, &pr->answer, "answer", received, ch_clock_describe, &c))
            return -1;
        add(r, 1, c.due, "answer due", "answer within %s%s (%s)", c.words,
            pr->answer_rings ? " (or the ring count below)" : "", c.src);
        if (!pr->respond.set && print_warnings(r, pr, received, c.due, "the answer") != 0)
            return -1;
    }
    if (pr->answer_rings)
        add(r, 0, 0, "answer",
            "answer within %d ring%s (answer: rings: %d), judged from the telephony's ring count, "
            "or from the wait without one: within %d s at a ring every %d s (ring_seconds: %d)",
            pr->answer_rings, pr->answer_rings == 1 ? "" : "s", pr->answer_rings,
            pr->answer_rings * pr->answer_ring_seconds, pr->answer_ring_seconds,
            pr->answer_ring_seconds);
    if (pr->answer_measured_only)
        add(r, 0, 0, "answer", "measured, no time promised (answer: measured_only)");
    if (pr->callback == CH_POLICY_CALLBACK_AT_AGREED_TIME)
        add(r, 0, 0, "call-back",
            "at the time agreed with the customer (callback: at_agreed_time): the owner is "
            "alerted (staff_callback_overdue) if no call-back is recorded by then; counted made "
            "in time, late or not made");
    else if (pr->callback == CH_POLICY_CALLBACK_MEASURED_ONLY)
        add(r, 0, 0, "call-back",
            "measured, no time promised (callback: measured_only): counted promised, made, not "
            "made");
    if (pr->see.set) {
        if (clock_from(r, &pr->see, "see.within", received, ch_clock_describe, &c))
            return -1;
        add(r, 1, c.due, "seen by", "seen within %s of arrival (%s)", c.words, c.src);
        if (!pr->respond.set && !pr->review_first.set &&
            print_warnings(r, pr, received, c.due, "seeing the visitor") != 0)
            return -1;
    }
    if (pr->see_after_appointment.set) {
        if (clock_from(r, &pr->see_after_appointment, "see.after_appointment", received,
                       ch_clock_describe, &c))
            return -1;
        add(r, 1, c.due, "seen by (appointment)",
            "seen no more than %s after the appointment, taking --received as the appointment "
            "time (%s)",
            c.words, c.src);
        if (!pr->respond.set && !pr->review_first.set && !pr->see.set &&
            print_warnings(r, pr, received, c.due, "the appointment wait") != 0)
            return -1;
    }
    if (pr->see_measured_only)
        add(r, 0, 0, "seen", "measured, no time promised (see: measured_only)");

    /* Response */
    if (pr->respond.set) {
        int64_t start = received;
        const char *from = "";
        if (pr->respond.clock.anchor == CH_CLOCK_FROM_ACKNOWLEDGEMENT) {
            start = ack_due;
            from = "; counted here from the acknowledgement's due time, recomputed from the "
                   "actual acknowledgement";
        }
        if (clock_from(r, &pr->respond, "respond", start, ch_policy_describe_clock, &c) ||
            print_warnings(r, pr, start, c.due, "the response") != 0)
            return -1;
        add(r, 1, c.due, "respond due", "reply %s (%s%s)", c.words, c.src, from);
        r->respond_start = start;
        r->respond_due = c.due;
        ch_extension_clock ec = {.start_ms = start, .original_due_ms = c.due, .target_ms = c.due};
        int64_t limit;
        if (pr->holding_reply && pr->statutory_basis != CH_POLICY_STATUTORY_NONE &&
            ch_extension_limit(&r->ctx, pr, &ec, &limit) == 0 && limit) {
            add(r, 1, limit, "latest extended due",
                "one extension under %s, %s, with statutory_basis %s (respond: %s preset)",
                ch_extension_basis_law(pr->statutory_basis),
                ch_extension_basis_limit(pr->statutory_basis),
                ch_extension_basis_name(pr->statutory_basis), pr->respond.clock.preset);
        } else if (pr->holding_reply && pr->max_extension.set) {
            if (clock_from(r, &pr->max_extension, "max_extension", c.due, ch_clock_describe, &c))
                return -1;
            add(r, 1, c.due, "latest extended due", "a holding reply may extend by at most %s (%s)",
                c.words, c.src);
        } else if (pr->holding_reply) {
            add(r, 0, 0, "extension", "a holding reply may set a new target (holding_reply)");
        }
    } else if (pr->respond_measured_only) {
        add(r, 0, 0, "respond", "measured, no time promised (respond: measured_only)");
    }

    /* Reviews */
    if (pr->review_first.set) {
        if (clock_from(r, &pr->review_first, "review.first", received, ch_clock_describe, &c))
            return -1;
        if (!pr->respond.set && print_warnings(r, pr, received, c.due, "the review") != 0)
            return -1;
        add(r, 1, c.due, "first review due", "review after %s, by the %s (%s)", c.words,
            r->p->roles[pr->review_role].title, c.src);
        if (pr->review_every.set && r->reviewed) {
            /* a review recorded (kept): the next counts from it */
            if (clock_from(r, &pr->review_every, "review.then_every", r->reviewed,
                           ch_clock_describe, &c))
                return -1;
            add(r, 1, r->reviewed, "reviewed", "the review recorded, given with --reviewed");
            if (!pr->respond.set &&
                print_warnings(r, pr, r->reviewed, c.due, "the next review") != 0)
                return -1;
            add(r, 1, c.due, "next review due",
                "every %s from the review recorded while the decision stands (%s)", c.words, c.src);
        } else if (pr->review_every.set) {
            if (clock_from(r, &pr->review_every, "review.then_every", c.due, ch_clock_describe, &c))
                return -1;
            add(r, 1, c.due, "next review due",
                "then every %s from the review recorded while the decision stands; shown here "
                "for a review on its due date (%s)",
                c.words, c.src);
        }
    }
    return 0;
}

static int
deadline_usage(void)
{
    fprintf(stderr,
            "Usage: charterctl deadline --policy FILE --channel CH [--type T] --received "
            "INSTANT\n"
            "         [--reviewed INSTANT] [--extend-to INSTANT [--basis B] [--sent INSTANT] "
            "[--with LIST]]\n"
            "CH: phone, voicemail, email, letter, online_form, social, visit, sms.\n"
            "T: the case type (default enquiry), e.g. complaint_stage_1, foi, sar.\n"
            "INSTANT: ISO 8601 with an offset or Z, e.g. 2026-12-23T16:30:00Z.\n"
            "--reviewed: a review recorded then (kept); the next review counts from it.\n"
            "--extend-to: would a holding reply moving the target there be accepted? Sent at\n"
            "  --sent (default: when the response clock starts), under statutory --basis\n"
            "  (foi_public_interest, eir_complex, sar_complex), carrying --with (a list of\n"
            "  reason, next_steps, apology, named_contact; default: what the promise asks).\n");
    return 2;
}

int
ch_cmd_deadline_policy(int argc, char **argv)
{
    const char *file = NULL, *channel = NULL, *type = NULL, *received_s = NULL;
    const char *reviewed_s = NULL;
    ch_deadline_extend ext = {0};
    for (int i = 1; i < argc; i++) {
        const char **slot = !strcmp(argv[i], "--policy")      ? &file
                            : !strcmp(argv[i], "--channel")   ? &channel
                            : !strcmp(argv[i], "--type")      ? &type
                            : !strcmp(argv[i], "--received")  ? &received_s
                            : !strcmp(argv[i], "--reviewed")  ? &reviewed_s
                            : !strcmp(argv[i], "--extend-to") ? &ext.extend_to
                            : !strcmp(argv[i], "--basis")     ? &ext.basis
                            : !strcmp(argv[i], "--sent")      ? &ext.sent
                            : !strcmp(argv[i], "--with")      ? &ext.with
                                                              : NULL;
        if (!slot) {
            fprintf(stderr, "charterctl deadline: unknown option '%s'\n", argv[i]);
            return deadline_usage();
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "charterctl deadline: %s needs a value\n", argv[i]);
            return deadline_usage();
        }
        *slot = argv[++i];
    }
    if (!file || !channel || !received_s)
        return deadline_usage();
    ch_policy_channel ch;
    if (ch_policy_channel_parse(channel, &ch) != 0 || ch == CH_POLICY_CHANNEL_ANY) {
        fprintf(stderr,
                "charterctl deadline: '%s' is not a channel (expected phone, voicemail, email, "
                "letter, online_form, social, visit or sms)\n",
                channel);
        return 2;
    }
    int default_type = type == NULL;
    if (!type)
        type = "enquiry";
    int64_t received;
    if (ch_time_parse_rfc3339(received_s, &received) != 0) {
        fprintf(stderr,
                "charterctl deadline: '%s' is not an instant (expected ISO 8601 with an offset "
                "or Z, e.g. 2026-12-23T16:30:00Z)\n",
                received_s);
        return 2;
    }

    int64_t reviewed = 0;
    if (reviewed_s && (ch_time_parse_rfc3339(reviewed_s, &reviewed) != 0 || reviewed <= received)) {
        fprintf(stderr,
                "charterctl deadline: --reviewed '%s' is not an instant after --received "
                "(expected ISO 8601 with an offset or Z)\n",
                reviewed_s);
        return 2;
    }
    if ((ext.basis || ext.sent || ext.with) && !ext.extend_to) {
        fprintf(stderr, "charterctl deadline: --basis, --sent and --with go with --extend-to\n");
        return deadline_usage();
    }

    ch_policy p;
    char err[1024];
    if (ch_policy_load_file(file, &p, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int rc = 1;
    ch_tz *tz = NULL;
    ch_calendar *cal = NULL, *uk_any = NULL, *scotland = NULL;
    if (!ch_policy_case_type_known(&p, type)) {
        char allowed[512];
        ch_policy_case_types_list(&p, allowed, sizeof(allowed));
        fprintf(stderr,
                "charterctl deadline: '%s' is not a case type of %s (expected one of: %s); "
                "ingest refuses it too\n",
                type, p.name, allowed);
        rc = 2;
        goto out;
    }
    const ch_policy_promise *pr = ch_policy_find_promise(&p, channel, type);
    if (!pr) {
        fprintf(stderr, "%s: no promise covers channel %s with case type %s\n", file, channel,
                type);
        goto out;
    }
    if (!(tz = ch_tz_load(p.timezone, NULL, err, sizeof(err)))) {
        fprintf(stderr, "%s: %s\n", file, err);
        goto out;
    }
    cal = ch_policy_calendar_new(&p);
    uk_any = ch_calendar_new(CH_NATION_UK_ANY);
    scotland = ch_calendar_new(CH_NATION_SCOTLAND);
    if (!cal || !uk_any || !scotland) {
        fprintf(stderr, "charterctl: out of memory\n");
        goto out;
    }
    run r = {.p = &p, .reviewed = reviewed};
    r.ctx.tz = tz;
    r.ctx.calendar = cal;
    r.ctx.uk_any = uk_any;
    r.ctx.scotland = scotland;
    r.ctx.hours = &p.hours;
    r.ctx.defer_out_of_hours = p.defer_out_of_hours;

    char desc[1024];
    ch_policy_describe_promise(&p, pr, desc, sizeof(desc));
    printf("policy:   %s (%s)\n", file, p.name);
    printf("case:     channel %s, case type %s%s\n", channel, type,
           default_type ? " (the default)" : "");
    if (pr->origin == CH_POLICY_FROM_FILE)
        printf("promise:  %s, line %d: %s\n", pr->id, pr->line, desc);
    else
        printf("promise:  %s (supplied by Charter, not in the file): %s\n", pr->id, desc);
    printf("says:     \"%s\"\n\n", pr->says);
    if (print_clocks(&r, pr, received) != 0)
        goto out;
    print_entries(&r);
    rc = 0;
    if (ext.extend_to) {
        if (!r.respond_due) {
            printf("\nextension: refused: promise %s has no response clock to move\n", pr->id);
            goto out;
        }
        rc = ch_deadline_extension(&r.ctx, pr, r.respond_start, r.respond_due, &ext);
    }
out:
    ch_calendar_free(scotland);
    ch_calendar_free(uk_any);
    ch_calendar_free(cal);
    ch_tz_free(tz);
    ch_policy_free(&p);
    return rc;
}
