/*
 * Whether a holding reply moves a case's target: the one verdict sla-timer
 * (through ch_case_apply) and reporting both use, and `charterctl deadline
 * --extend-to` prints.
 *
 * A holding reply asks for a new target. It moves the target only when
 * - the promise allows one (holding_reply; the loader turns it on for the
 *   statutory clocks foi, eir and sar, with the law's limit);
 * - it is recorded no later than the target in force (an extension sent
 *   after the breach cannot undo it);
 * - its statutory_basis is the one the clock's law allows, and a charter's
 *   own clock is given none;
 * - the new target is after the target in force, and no later than the
 *   promise's longest extension: max_extension counted from the original due
 *   instant, or for a statutory clock statutory_limit counted from the
 *   clock's start;
 * - it carries what holding_reply.must_include asks for (the target date is
 *   the new target itself).
 * The checks run in that order and the first that fails is the verdict, with
 * one plain-English sentence saying why, for staff (an EXTENSION_REFUSED
 * timer's detail, charterctl).
 *
 * Pure: values in, values out; instants are ms since the epoch.
 */
#ifndef CHARTER_EXTENSION_H
#define CHARTER_EXTENSION_H

#include <stddef.h>
#include <stdint.h>

#include "charter/deadline.h"
#include "charter/policy.h"

typedef enum {
    CH_EXTENSION_ALLOWED = 0,
    CH_EXTENSION_NOT_ALLOWED,   /* the promise allows none, or has no response clock */
    CH_EXTENSION_TOO_LATE,      /* recorded after the target in force */
    CH_EXTENSION_WRONG_BASIS,   /* statutory basis missing, not this law's, or on a charter clock */
    CH_EXTENSION_NO_NEW_TARGET, /* no new target, or one not after the target in force */
    CH_EXTENSION_TOO_FAR,       /* after the longest extension allowed */
    CH_EXTENSION_MISSING,       /* lacks something must_include asks for */
} ch_extension_verdict;

/* What the holding reply says. */
typedef struct {
    int64_t recorded_ms;   /* when it was sent (the event's occurred_at) */
    int64_t new_target_ms; /* 0: none given */
    unsigned includes;     /* ch_policy_hold bits it carries (see ch_extension_includes) */
    ch_policy_statutory basis;
    int basis_unknown; /* a statutory_basis was given that names no law we know */
} ch_extension_request;

/* The case's response clock as it stands. */
typedef struct {
    int64_t start_ms;        /* when the response clock started (receipt or acknowledgement) */
    int64_t original_due_ms; /* the promise's own due instant */
    int64_t target_ms;       /* the target in force: original, or a valid extension's */
    const ch_pause *pauses;  /* the case's pauses so far (statutory limits skip them too) */
    size_t npauses;
} ch_extension_clock;

/*
 * The verdict on request r for promise p's clock c under ctx (the
 * organisation's calendars and zone, as ch_case_timers uses them). The
 * latest new target allowed goes to *limit_ms when limit_ms is given (0: no
 * limit, or no extension at all). When refused, why gets one sentence (always
 * NUL-terminated; "" when allowed). CH_EXTENSION_NOT_ALLOWED too when a limit
 * cannot be computed (a date outside 1995-2100).
 */
ch_extension_verdict ch_extension_check(const ch_deadline_ctx *ctx, const ch_policy_promise *p,
                                        const ch_extension_clock *c, const ch_extension_request *r,
                                        int64_t *limit_ms, char *why, size_t whysz);

/* The latest new target promise p allows for clock c: 0 and *limit_ms = 0
 * when there is no limit or no extension; CH_EINVAL when it cannot be
 * computed. */
int ch_extension_limit(const ch_deadline_ctx *ctx, const ch_policy_promise *p,
                       const ch_extension_clock *c, int64_t *limit_ms);

/* The ch_policy_hold bits a holding reply carries: a non-empty reason,
 * next_steps and named_contact, apology true, and the target date when
 * new_target_ms is set. */
unsigned ch_extension_includes(const char *reason, const char *next_steps, int apology,
                               const char *named_contact, int64_t new_target_ms);

/* "foi_public_interest", "eir_complex", "sar_complex"; "" for NONE. */
const char *ch_extension_basis_name(ch_policy_statutory b);
/* The law, e.g. "FOI Act 2000 s.10(3)"; "" for NONE. */
const char *ch_extension_basis_law(ch_policy_statutory b);
/* How far it allows, e.g. "at most two further months"; "" for NONE. */
const char *ch_extension_basis_limit(ch_policy_statutory b);
/* Reads a basis name; "" or NULL is NONE. 0, or CH_EINVAL for another word. */
int ch_extension_basis_parse(const char *name, ch_policy_statutory *out);

#endif
