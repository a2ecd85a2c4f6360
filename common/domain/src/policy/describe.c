/*
 * Promises, clocks and opening hours in plain English, for the dashboard,
 * charterctl and the messages that quote a charter back to its customers.
 *
 * A line is built in a ch_strbuf capped at the caller's buffer, so a short
 * buffer gets the first part of the sentence, never an overrun, and the
 * "(England and Wales holidays, closes 17:00)" note is folded into a
 * description that already ends in a bracket by looking at the text built so
 * far.
 */
#include "charter/policy.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "charter/extension.h"
#include "charter/strbuf.h"
#include "policy_int.h"

/* A buffer for a line bound for buf[bufsz]; 0 when there is no room at all
 * (buf is then "" if it has a byte). */
static int
line_start(ch_strbuf *s, char *buf, size_t bufsz)
{
    if (bufsz)
        buf[0] = '\0';
    if (bufsz < 2)
        return 0;
    ch_strbuf_init_capped(s, bufsz - 1);
    return 1;
}

/* Copies the line into buf and frees the buffer. */
static void
line_end(ch_strbuf *s, char *buf)
{
    const char *text = ch_strbuf_str(s);
    memcpy(buf, text, strlen(text) + 1);
    ch_strbuf_free(s);
}

static void
clause(ch_strbuf *s, int *first)
{
    ch_strbuf_puts(s, *first ? ": " : "; ");
    *first = 0;
}

static const char *
number_word(int n)
{
    static const char *const w[] = {"zero",  "one",   "two",  "three", "four",   "five",  "six",
                                    "seven", "eight", "nine", "ten",   "eleven", "twelve"};
    return n >= 0 && n <= 12 ? w[n] : NULL;
}

void
ch_policy_describe_hours(const ch_opening_hours *h, char *buf, size_t bufsz)
{
    ch_strbuf s;
    if (!line_start(&s, buf, bufsz))
        return;
    int first = 1;
    for (int d = 0; d < 7;) {
        int e = d;
        while (e + 1 < 7 && h->open[e + 1] == h->open[d] && h->close[e + 1] == h->close[d])
            e++;
        if (h->open[d] >= 0) {
            ch_strbuf_printf(&s, "%s%s%s%s %02d:%02d-%02d:%02d", first ? "" : ", ",
                             ch__policy_day_title(d), e > d ? "-" : "",
                             e > d ? ch__policy_day_title(e) : "", h->open[d] / 60, h->open[d] % 60,
                             h->close[d] / 60, h->close[d] % 60);
            first = 0;
        }
        d = e + 1;
    }
    if (first)
        ch_strbuf_puts(&s, "closed every day");
    line_end(&s, buf);
}

/* "(England and Wales holidays, closes 17:00)" after the first clock of a
 * line that counts the organisation's working days; later clocks on the same
 * line use the same calendar, so it is said once. A description that already
 * ends in a bracket has the note folded into it. */
static void
calendar_note(ch_strbuf *s, const ch_policy *p, const ch_clock *c, int *noted)
{
    int counts_days =
        c->kind == CH_CLOCK_WORKING_DAYS || c->kind == CH_CLOCK_NEXT_WORKING_DAY || c->roll_forward;
    if (!counts_days || c->calendar != CH_CLOCK_CAL_ORGANISATION || *noted)
        return;
    *noted = 1;
    int close = -1, uniform = 1;
    for (int d = 0; d < 7; d++) {
        if (p->hours.open[d] < 0)
            continue;
        if (close < 0)
            close = p->hours.close[d];
        else if (close != p->hours.close[d])
            uniform = 0;
    }
    if (s->n > 0 && s->p[s->n - 1] == ')') {
        s->p[--s->n] = '\0'; /* fold the note into the bracket */
        ch_strbuf_puts(s, "; ");
    } else {
        ch_strbuf_puts(s, " (");
    }
    ch_strbuf_printf(s, "%s holidays%s", ch_nation_title(p->nation),
                     p->nclosures ? " and the organisation's closures" : "");
    if (close >= 0 && uniform)
        ch_strbuf_printf(s, ", closes %02d:%02d", close / 60, close % 60);
    else if (close >= 0)
        ch_strbuf_puts(s, ", closing times vary by day");
    ch_strbuf_puts(s, ")");
}

static const char *
preset_source(const char *preset)
{
    if (!strcmp(preset, "foi"))
        return "Freedom of Information Act 2000 s.10";
    if (!strcmp(preset, "eir"))
        return "Environmental Information Regulations 2004 reg. 5";
    if (!strcmp(preset, "foisa"))
        return "FOI (Scotland) Act 2002 s.10";
    if (!strcmp(preset, "sar") || !strcmp(preset, "sar-extended"))
        return "UK GDPR right of access";
    if (!strncmp(preset, "complaint-stage-", 16))
        return "Housing Ombudsman Complaint Handling Code 2024";
    return NULL;
}

void
ch_policy_describe_clock(const ch_clock *c, char *buf, size_t bufsz)
{
    if (c->kind == CH_CLOCK_NEXT_WORKING_DAY) {
        if (c->at_minute >= 0)
            snprintf(buf, bufsz, "by %02d:%02d on the next working day", c->at_minute / 60,
                     c->at_minute % 60);
        else if (c->at_minute == CH_AT_CLOSING)
            snprintf(buf, bufsz, "by the end of the next working day");
        else
            snprintf(buf, bufsz, "by midnight at the end of the next working day");
        return;
    }
    char d[256];
    ch_clock_describe(c, d, sizeof(d));
    snprintf(buf, bufsz, "within %s", d);
}

static void
timed(ch_strbuf *s, const ch_policy *p, const char *verb, const ch_policy_clock *pc, int *noted)
{
    char d[300];
    ch_policy_describe_clock(&pc->clock, d, sizeof(d));
    ch_strbuf_printf(s, "%s %s", verb, d);
    calendar_note(s, p, &pc->clock, noted);
}

static int
count_bits(unsigned bits, int count)
{
    int n = 0;
    for (int i = 1; i < count; i++)
        n += (bits >> i) & 1u;
    return n;
}

/* A title that keeps its capital inside a sentence: an acronym ("MP or
 * councillor enquiry") or a name ("Freedom of Information request"). */
static int
proper_title(const char *t)
{
    if (isupper((unsigned char)t[1]))
        return 1;
    for (const char *c = t + 1; *c; c++)
        if (c[-1] == ' ' && isupper((unsigned char)*c))
            return 1;
    return 0;
}

/* The titles of bits 1..count-1 of bits: "Email, letter and online form",
 * the first kept capitalised when capital, the others lower-cased unless
 * proper_title. */
static void
put_titles(ch_strbuf *s, unsigned bits, int count, const char *(*title)(int), int capital)
{
    int total = count_bits(bits, count), k = 0;
    for (int i = 1; i < count; i++) {
        if (!((bits >> i) & 1u))
            continue;
        const char *t = title(i);
        ch_strbuf_printf(
            s, "%s%c%s",
            k == 0           ? ""
            : k == total - 1 ? " and "
                             : ", ",
            (k == 0 && capital) || proper_title(t) ? t[0] : tolower((unsigned char)t[0]), t + 1);
        k++;
    }
}

static const char *
channel_title(int c)
{
    return ch_policy_channel_title((ch_policy_channel)c);
}

static const char *
case_title(int t)
{
    return ch_policy_case_type_title((ch_policy_case_type)t);
}

/* "Email and letter (complaint, stage 1)", "Subject access request". */
static void
subject(ch_strbuf *s, const ch_policy_promise *pr)
{
    int nch = count_bits(pr->channels, CH_POLICY_CHANNEL_COUNT);
    put_titles(s, pr->channels, CH_POLICY_CHANNEL_COUNT, channel_title, 1);
    if (count_bits(pr->case_types, CH_POLICY_CASE_COUNT) == 0) {
        if (nch == 0)
            ch_strbuf_puts(s, "Any contact");
        return;
    }
    ch_strbuf_puts(s, nch ? " (" : "");
    put_titles(s, pr->case_types, CH_POLICY_CASE_COUNT, case_title, !nch);
    ch_strbuf_puts(s, nch ? ")" : "");
}

/* A flag and how a description says it. */
typedef struct {
    unsigned bit;
    const char *words;
} flag_words;

static const flag_words measure_words[] = {
    {CH_POLICY_MEASURE_FIRST_CONTACT_RESOLUTION, "first-contact resolution"},
    {CH_POLICY_MEASURE_APPOINTMENTS_KEPT, "appointments kept"},
    {CH_POLICY_MEASURE_SATISFACTION, "satisfaction"},
    {CH_POLICY_MEASURE_COMMUNICATION_SUPPORT, "communication support"},
};

static const flag_words hold_words[] = {
    {CH_POLICY_HOLD_APOLOGY, "an apology"},
    {CH_POLICY_HOLD_REASON, "the reason"},
    {CH_POLICY_HOLD_NEXT_STEPS, "the next steps"},
    {CH_POLICY_HOLD_NAMED_CONTACT, "a named contact"},
    {CH_POLICY_HOLD_TARGET_DATE, "a target date"},
};

/* The words for the flags in set, in the table's order, separated by ", "
 * and, before the last, by last. */
static void
put_flags(ch_strbuf *s, unsigned set, const flag_words *w, size_t n, const char *last)
{
    int total = 0, k = 0;
    for (size_t i = 0; i < n; i++)
        total += (set & w[i].bit) != 0;
    for (size_t i = 0; i < n; i++)
        if (set & w[i].bit) {
            ch_strbuf_printf(s, "%s%s", k == 0 ? "" : k == total - 1 ? last : ", ", w[i].words);
            k++;
        }
}

/* fmt with the clock's description for its %s, the description cut to
 * room - 1 characters. */
static void
put_clock(ch_strbuf *s, const char *fmt, const ch_policy_clock *c, size_t room)
{
    char d[96];
    ch_clock_describe(&c->clock, d, room < sizeof(d) ? room : sizeof(d));
    ch_strbuf_printf(s, fmt, d);
}

void
ch_policy_describe_promise(const ch_policy *p, const ch_policy_promise *pr, char *buf, size_t bufsz)
{
    ch_strbuf s;
    if (!line_start(&s, buf, bufsz))
        return;
    if (pr->origin == CH_POLICY_SUPPLIED_MEASURED) {
        ch_strbuf_puts(&s, "Any other contact: measured, no time promised (supplied by Charter: "
                           "no promise in this file covers it)");
        line_end(&s, buf);
        return;
    }
    subject(&s, pr);
    int first = 1, noted = 0;

    if (pr->answer.set || pr->answer_rings) {
        clause(&s, &first);
        ch_strbuf_puts(&s, "answer within ");
        if (pr->answer.set)
            put_clock(&s, pr->answer_rings ? "%s or " : "%s", &pr->answer, 64);
        if (pr->answer_rings) {
            const char *w = number_word(pr->answer_rings);
            if (w)
                ch_strbuf_printf(&s, "%s %s", w, pr->answer_rings == 1 ? "ring" : "rings");
            else
                ch_strbuf_printf(&s, "%d rings", pr->answer_rings);
            ch_strbuf_printf(&s, " (%d s at a ring every %d s)",
                             pr->answer_rings * pr->answer_ring_seconds, pr->answer_ring_seconds);
        }
    } else if (pr->answer_measured_only) {
        clause(&s, &first);
        ch_strbuf_puts(&s, "measured, no time promised");
    }
    if (pr->callback == CH_POLICY_CALLBACK_AT_AGREED_TIME) {
        clause(&s, &first);
        ch_strbuf_puts(&s, "call back at the time agreed with the customer");
    } else if (pr->callback == CH_POLICY_CALLBACK_MEASURED_ONLY) {
        clause(&s, &first);
        ch_strbuf_puts(&s, "call-backs measured, no time promised");
    }

    if (pr->see.set) {
        clause(&s, &first);
        put_clock(&s, "seen within %s of arrival", &pr->see, 64);
    }
    if (pr->see_after_appointment.set) {
        clause(&s, &first);
        put_clock(&s, "not kept waiting more than %s after an appointment time",
                  &pr->see_after_appointment, 64);
    }
    if (pr->see_measured_only) {
        clause(&s, &first);
        ch_strbuf_puts(&s, "measured, no time promised");
    }

    if (pr->ack == CH_POLICY_ACK_AUTOMATIC) {
        clause(&s, &first);
        ch_strbuf_puts(&s, "acknowledged automatically on receipt");
    } else if (pr->ack == CH_POLICY_ACK_WITHIN) {
        clause(&s, &first);
        timed(&s, p, "acknowledge", &pr->acknowledge, &noted);
    }

    if (pr->respond.set) {
        clause(&s, &first);
        timed(&s, p, "reply", &pr->respond, &noted);
        const char *src = preset_source(pr->respond.clock.preset);
        if (src)
            ch_strbuf_printf(&s, " [%s: %s]", pr->respond.clock.preset, src);
        if (pr->holding_reply && pr->statutory_basis != CH_POLICY_STATUTORY_NONE) {
            ch_strbuf_printf(&s, ", or one extension under %s, %s (statutory_basis %s)",
                             ch_extension_basis_law(pr->statutory_basis),
                             ch_extension_basis_limit(pr->statutory_basis),
                             ch_extension_basis_name(pr->statutory_basis));
        } else if (pr->holding_reply) {
            ch_strbuf_puts(&s, ", or a holding reply");
            if (pr->holding_must_include) {
                ch_strbuf_puts(&s, " giving ");
                put_flags(&s, pr->holding_must_include, hold_words, CH__COUNTOF(hold_words),
                          " and ");
            }
            if (pr->max_extension.set)
                put_clock(&s, " (extension at most %s)", &pr->max_extension, 64);
        }
    } else if (pr->respond_measured_only) {
        clause(&s, &first);
        /* Alone it is the whole promise; beside other clocks it is the reply's. */
        int alone = pr->ack == CH_POLICY_ACK_NONE && !pr->review_first.set;
        ch_strbuf_puts(&s,
                       alone ? "measured, no time promised" : "reply measured, no time promised");
    }

    if (pr->review_first.set) {
        clause(&s, &first);
        put_clock(&s, "review after %s", &pr->review_first, 96);
        if (pr->review_every.set)
            put_clock(&s, ", then every %s", &pr->review_every, 96);
        ch_strbuf_printf(&s, " (%s)", p->roles[pr->review_role].title);
    }

    if (pr->named_contact) {
        clause(&s, &first);
        ch_strbuf_puts(&s, "named contact");
    }
    if (pr->reference_on_reply) {
        clause(&s, &first);
        ch_strbuf_puts(&s, "reference on every reply");
    }
    if (pr->reply_channel_explicit) {
        clause(&s, &first);
        ch_strbuf_puts(&s, pr->reply_channel == CH_POLICY_REPLY_SAME ? "reply on the same channel"
                           : pr->reply_channel == CH_POLICY_REPLY_PREFERRED
                               ? "reply on the customer's preferred channel"
                           : pr->reply_channel == CH_POLICY_REPLY_EMAIL_OR_SMS
                               ? "reply by email, else text message, unless the customer asks "
                                 "otherwise"
                               : "reply on the same channel unless the customer asks otherwise");
    }
    if (pr->measures) {
        clause(&s, &first);
        put_flags(&s, pr->measures, measure_words, CH__COUNTOF(measure_words), ", ");
        ch_strbuf_puts(&s, " measured");
    }
    if (first)
        ch_strbuf_puts(&s, ": measured, no time promised");
    if (pr->origin == CH_POLICY_SUPPLIED_STATUTORY)
        ch_strbuf_puts(&s, "; supplied by Charter: the law applies on every channel");
    line_end(&s, buf);
}
