/* Whether a holding reply moves a case's target (see extension.h). */
#include "charter/extension.h"

#include <stdio.h>
#include <string.h>

#include "charter/errors.h"

static const struct {
    ch_policy_statutory basis;
    const char *name, *law, *limit;
} bases[] = {
    {CH_POLICY_STATUTORY_FOI_PUBLIC_INTEREST, "foi_public_interest", "FOI Act 2000 s.10(3)",
     "at most 20 further working days, per ICO guidance"},
    {CH_POLICY_STATUTORY_EIR_COMPLEX, "eir_complex", "EIR 2004 reg. 7(1)",
     "at most 40 working days from receipt"},
    {CH_POLICY_STATUTORY_SAR_COMPLEX, "sar_complex", "UK GDPR art. 12(3)",
     "at most two further months"},
};

#define NBASES (sizeof(bases) / sizeof(bases[0]))

const char *
ch_extension_basis_name(ch_policy_statutory b)
{
    for (size_t i = 0; i < NBASES; i++)
        if (bases[i].basis == b)
            return bases[i].name;
    return "";
}

const char *
ch_extension_basis_law(ch_policy_statutory b)
{
    for (size_t i = 0; i < NBASES; i++)
        if (bases[i].basis == b)
            return bases[i].law;
    return "";
}

const char *
ch_extension_basis_limit(ch_policy_statutory b)
{
    for (size_t i = 0; i < NBASES; i++)
        if (bases[i].basis == b)
            return bases[i].limit;
    return "";
}

int
ch_extension_basis_parse(const char *name, ch_policy_statutory *out)
{
    *out = CH_POLICY_STATUTORY_NONE;
    if (!name || !name[0])
        return 0;
    for (size_t i = 0; i < NBASES; i++)
        if (strcmp(bases[i].name, name) == 0) {
            *out = bases[i].basis;
            return 0;
        }
    return CH_EINVAL;
}

unsigned
ch_extension_includes(const char *reason, const char *next_steps, int apology,
                      const char *named_contact, int64_t new_target_ms)
{
    unsigned bits = 0;
    if (reason && reason[0])
        bits |= CH_POLICY_HOLD_REASON;
    if (next_steps && next_steps[0])
        bits |= CH_POLICY_HOLD_NEXT_STEPS;
    if (apology)
        bits |= CH_POLICY_HOLD_APOLOGY;
    if (named_contact && named_contact[0])
        bits |= CH_POLICY_HOLD_NAMED_CONTACT;
    if (new_target_ms)
        bits |= CH_POLICY_HOLD_TARGET_DATE;
    return bits;
}

int
ch_extension_limit(const ch_deadline_ctx *ctx, const ch_policy_promise *p,
                   const ch_extension_clock *c, int64_t *limit_ms)
{
    *limit_ms = 0;
    if (!p->holding_reply)
        return 0;
    if (p->statutory_basis != CH_POLICY_STATUTORY_NONE && p->statutory_limit.set)
        return ch_deadline_due(ctx, &p->statutory_limit.clock, c->start_ms, c->pauses, c->npauses,
                               limit_ms) == 0
                   ? 0
                   : CH_EINVAL;
    if (p->max_extension.set)
        return ch_deadline_due(ctx, &p->max_extension.clock, c->original_due_ms, NULL, 0,
                               limit_ms) == 0
                   ? 0
                   : CH_EINVAL;
    return 0;
}

static const struct {
    unsigned bit;
    const char *words;
} hold_words[] = {
    {CH_POLICY_HOLD_REASON, "the reason"},
    {CH_POLICY_HOLD_NEXT_STEPS, "the next steps"},
    {CH_POLICY_HOLD_APOLOGY, "an apology"},
    {CH_POLICY_HOLD_NAMED_CONTACT, "a named contact"},
    {CH_POLICY_HOLD_TARGET_DATE, "the new target date"},
};

/* "the reason and the next steps" for the bits in missing. */
static void
missing_words(unsigned missing, char *buf, size_t bufsz)
{
    size_t n = 0, total = 0, k = 0;
    for (size_t i = 0; i < sizeof(hold_words) / sizeof(hold_words[0]); i++)
        total += (missing & hold_words[i].bit) != 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(hold_words) / sizeof(hold_words[0]); i++) {
        if (!(missing & hold_words[i].bit))
            continue;
        const char *sep = k == 0 ? "" : k + 1 == total ? " and " : ", ";
        int w = snprintf(buf + n, n < bufsz ? bufsz - n : 0, "%s%s", sep, hold_words[i].words);
        if (w > 0)
            n += (size_t)w;
        k++;
    }
}

ch_extension_verdict
ch_extension_check(const ch_deadline_ctx *ctx, const ch_policy_promise *p,
                   const ch_extension_clock *c, const ch_extension_request *r, int64_t *limit_ms,
                   char *why, size_t whysz)
{
    char target[48], asked[48], limit_s[48], words[160];
    int64_t limit = 0;
    if (limit_ms)
        *limit_ms = 0;
    if (whysz)
        why[0] = '\0';
    ch_deadline_format(ctx->tz, c->target_ms, target, sizeof(target));
    ch_deadline_format(ctx->tz, r->new_target_ms, asked, sizeof(asked));

    if (!p->holding_reply || !p->respond.set || p->respond_measured_only) {
        snprintf(why, whysz,
                 "promise %s allows no holding reply or extension, so the target stays %s", p->id,
                 p->respond.set && !p->respond_measured_only ? target : "as it was");
        return CH_EXTENSION_NOT_ALLOWED;
    }
    if (r->recorded_ms > c->target_ms) {
        char at[48];
        ch_deadline_format(ctx->tz, r->recorded_ms, at, sizeof(at));
        snprintf(why, whysz,
                 "recorded %s, after the target in force %s: an extension must be sent before "
                 "the deadline, and the breach stands",
                 at, target);
        return CH_EXTENSION_TOO_LATE;
    }
    if (p->statutory_basis != CH_POLICY_STATUTORY_NONE) {
        if (r->basis != p->statutory_basis) {
            const char *given = r->basis_unknown                       ? "an unknown basis"
                                : r->basis == CH_POLICY_STATUTORY_NONE ? "none"
                                                                       : "another law's";
            snprintf(why, whysz,
                     "this statutory deadline (respond: %s) moves only under %s, with "
                     "statutory_basis %s; this holding reply gives %s",
                     p->respond.clock.preset, ch_extension_basis_law(p->statutory_basis),
                     ch_extension_basis_name(p->statutory_basis), given);
            return CH_EXTENSION_WRONG_BASIS;
        }
    } else if (r->basis != CH_POLICY_STATUTORY_NONE || r->basis_unknown) {
        snprintf(why, whysz,
                 "statutory_basis is only for statutory clocks (foi, eir, sar); promise %s's "
                 "clock (%s) is the charter's own",
                 p->id, p->respond.text);
        return CH_EXTENSION_WRONG_BASIS;
    }
    if (!r->new_target_ms) {
        snprintf(why, whysz, "it gives no new target date, so the target stays %s", target);
        return CH_EXTENSION_NO_NEW_TARGET;
    }
    if (r->new_target_ms <= c->target_ms) {
        snprintf(why, whysz, "the new target %s is not after the target in force %s", asked,
                 target);
        return CH_EXTENSION_NO_NEW_TARGET;
    }
    if (ch_extension_limit(ctx, p, c, &limit) != 0) {
        snprintf(why, whysz, "the longest extension of promise %s cannot be computed", p->id);
        return CH_EXTENSION_NOT_ALLOWED;
    }
    if (limit_ms)
        *limit_ms = limit;
    if (limit && r->new_target_ms > limit) {
        char original[48];
        ch_deadline_format(ctx->tz, limit, limit_s, sizeof(limit_s));
        ch_deadline_format(ctx->tz, c->original_due_ms, original, sizeof(original));
        if (p->statutory_basis != CH_POLICY_STATUTORY_NONE)
            snprintf(why, whysz, "the new target %s is later than %s allows (%s): %s at the latest",
                     asked, ch_extension_basis_law(p->statutory_basis),
                     ch_extension_basis_limit(p->statutory_basis), limit_s);
        else
            snprintf(why, whysz,
                     "the new target %s is beyond the longest extension promise %s allows "
                     "(max_extension %s from the original target %s): %s at the latest",
                     asked, p->id, p->max_extension.text, original, limit_s);
        return CH_EXTENSION_TOO_FAR;
    }
    unsigned missing = p->holding_must_include & ~r->includes;
    if (missing) {
        missing_words(missing, words, sizeof(words));
        snprintf(why, whysz, "it does not give %s, which promise %s's holding reply must include",
                 words, p->id);
        return CH_EXTENSION_MISSING;
    }
    return CH_EXTENSION_ALLOWED;
}
