/*
 * Policies: one organisation's charter as a YAML file its own staff can read
 * and edit (docs/policies.md has the format, every key and an example).
 *
 * The loader turns a file into plain structs and refuses anything it cannot
 * use: unknown keys, keys no code acts on, clocks that do not parse, roles
 * that are not defined, a channel listed without its clocks, two promises for
 * the same channel and case type, a statutory case type (foi, eir, sar)
 * narrowed to some channels or slower than the law. It then adds the rules a
 * file leaves out, so every contact falls under one (ch_policy_origin). A
 * policy that loads is complete, so the services never meet a half-read
 * charter at run time. Every error names the file, line and column,
 * the key as a path ("promises[2].respond") and what was expected.
 *
 * Clocks are parsed once here with ch_clock_parse() (deadline.h) and kept
 * beside the text they came from and where it was written. The Housing
 * Ombudsman Complaint Handling Code 2024 presets (complaint-stage-1,
 * complaint-stage-2) are expanded here into an acknowledgement clock, a
 * response clock anchored on the acknowledgement and the Code's longest
 * extension. The statutory clocks (foi, eir, sar) get the one extension
 * their law allows (statutory_basis, statutory_limit).
 *
 * Pure: ch_policy_load_text() takes bytes and returns values; only
 * ch_policy_load_file() reads a file. Time zones and calendars are not
 * loaded here: the policy names them, the caller builds them
 * (ch_tz_load(policy.timezone, ...), ch_policy_calendar_new()).
 */
#ifndef CHARTER_POLICY_H
#define CHARTER_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "charter/calendar.h"
#include "charter/deadline.h"

/* Channels, numbered as charter.v1.Channel so a cast between them is exact.
 * CH_POLICY_CHANNEL_ANY is a policy's wildcard, never a contact's channel. */
typedef enum {
    CH_POLICY_CHANNEL_ANY = 0,
    CH_POLICY_CHANNEL_PHONE = 1,
    CH_POLICY_CHANNEL_VOICEMAIL,
    CH_POLICY_CHANNEL_EMAIL,
    CH_POLICY_CHANNEL_LETTER,
    CH_POLICY_CHANNEL_ONLINE_FORM,
    CH_POLICY_CHANNEL_SOCIAL,
    CH_POLICY_CHANNEL_VISIT,
    CH_POLICY_CHANNEL_SMS,
    CH_POLICY_CHANNEL_COUNT
} ch_policy_channel;

/* Case types a policy may name. CH_POLICY_CASE_ANY matches every type. */
typedef enum {
    CH_POLICY_CASE_ANY = 0,
    CH_POLICY_CASE_ENQUIRY,
    CH_POLICY_CASE_SERVICE_REQUEST,
    CH_POLICY_CASE_COMPLAINT_STAGE_1,
    CH_POLICY_CASE_COMPLAINT_STAGE_2,
    CH_POLICY_CASE_FOI,
    CH_POLICY_CASE_EIR,
    CH_POLICY_CASE_SAR,
    CH_POLICY_CASE_MP_ENQUIRY, /* from an MP or a councillor on a constituent's behalf */
    CH_POLICY_CASE_LEGAL_ACTION,
    CH_POLICY_CASE_RESTRICTION_REVIEW, /* a home-visit restriction kept under review */
    CH_POLICY_CASE_APPOINTMENT,        /* a visitor with an agreed appointment */
    CH_POLICY_CASE_HOME_VISIT,         /* staff visiting the customer at home */
    CH_POLICY_CASE_CONTACT_GROUP,      /* a message to a contact-group mailbox */
    CH_POLICY_CASE_COUNT
} ch_policy_case_type;

/* "email", "online_form", ... or "any". Return 0 or CH_EINVAL. */
int ch_policy_channel_parse(const char *name, ch_policy_channel *out);
const char *ch_policy_channel_name(ch_policy_channel c);  /* "online_form" */
const char *ch_policy_channel_title(ch_policy_channel c); /* "Online form" */
/* "complaint_stage_1", ... or "any". Return 0 or CH_EINVAL. */
int ch_policy_case_type_parse(const char *name, ch_policy_case_type *out);
const char *ch_policy_case_type_name(ch_policy_case_type t);
const char *ch_policy_case_type_title(ch_policy_case_type t); /* "Complaint, stage 1" */

typedef enum {
    CH_POLICY_KIND_HOUSING_LANDLORD = 1,
    CH_POLICY_KIND_COUNCIL,
} ch_policy_org_kind;

typedef enum {
    CH_POLICY_ACK_NONE = 0,  /* no acknowledgement promised */
    CH_POLICY_ACK_AUTOMATIC, /* sent on receipt */
    CH_POLICY_ACK_WITHIN,    /* within `acknowledge.clock` */
} ch_policy_ack;

typedef enum {
    CH_POLICY_REPLY_SAME_UNLESS_ASKED = 0, /* the inbound channel, unless the customer asks */
    CH_POLICY_REPLY_SAME,                  /* always the inbound channel */
    CH_POLICY_REPLY_PREFERRED,             /* the customer's preferred channel */
    CH_POLICY_REPLY_EMAIL_OR_SMS,          /* e-mail, else a text message, unless the customer
                                              asks otherwise (Derby: "maximise the use of
                                              email and SMS Text") */
} ch_policy_reply_channel;

/* What a holding reply (or acknowledgement with a target date) must say:
 * bits of ch_policy_promise.holding_must_include. */
typedef enum {
    CH_POLICY_HOLD_REASON = 1 << 0,
    CH_POLICY_HOLD_NEXT_STEPS = 1 << 1,
    CH_POLICY_HOLD_TARGET_DATE = 1 << 2,
    CH_POLICY_HOLD_APOLOGY = 1 << 3,
    CH_POLICY_HOLD_NAMED_CONTACT = 1 << 4,
} ch_policy_hold;

/* The law a statutory clock is extended under, as a holding reply names it
 * (HoldingReply.statutory_basis; charter/extension.h reads and writes the
 * names). A charter's own clock has none. */
typedef enum {
    CH_POLICY_STATUTORY_NONE = 0,
    CH_POLICY_STATUTORY_FOI_PUBLIC_INTEREST, /* FOI Act 2000 s.10(3): "foi_public_interest" */
    CH_POLICY_STATUTORY_EIR_COMPLEX,         /* EIR 2004 reg. 7(1): "eir_complex" */
    CH_POLICY_STATUTORY_SAR_COMPLEX,         /* UK GDPR art. 12(3): "sar_complex" */
} ch_policy_statutory;

/* Things a promise says will be measured and reported, with no clock: bits
 * of ch_policy_promise.measures. */
typedef enum {
    CH_POLICY_MEASURE_FIRST_CONTACT_RESOLUTION = 1 << 0,
    CH_POLICY_MEASURE_APPOINTMENTS_KEPT = 1 << 1,
    CH_POLICY_MEASURE_SATISFACTION = 1 << 2,
    CH_POLICY_MEASURE_COMMUNICATION_SUPPORT = 1 << 3,
} ch_policy_measure;

/* Communication support the organisation counts (reporting.communication_support):
 * bits of ch_policy.communication_support. */
typedef enum {
    CH_POLICY_SUPPORT_PHONE_INTERPRETING = 1 << 0,
    CH_POLICY_SUPPORT_FACE_TO_FACE_INTERPRETING = 1 << 1,
    CH_POLICY_SUPPORT_BSL = 1 << 2,
    CH_POLICY_SUPPORT_AUDIO = 1 << 3,
    CH_POLICY_SUPPORT_LARGE_PRINT = 1 << 4,
    CH_POLICY_SUPPORT_BRAILLE = 1 << 5,
} ch_policy_support;

/* A phone promise's call-backs (callback:): "we will take details and call
 * you back". AT_AGREED_TIME: sla-timer watches a call-back promised with an
 * agreed time (callback_due) and reporting judges it made at or before that
 * time; MEASURED_ONLY: call-backs counted (promised, made, not made), no
 * time promised. */
typedef enum {
    CH_POLICY_CALLBACK_NONE = 0,
    CH_POLICY_CALLBACK_AT_AGREED_TIME,
    CH_POLICY_CALLBACK_MEASURED_ONLY,
} ch_policy_callback;

typedef enum {
    CH_POLICY_PUBLISH_NONE = 0,
    CH_POLICY_PUBLISH_MONTHLY,
    CH_POLICY_PUBLISH_QUARTERLY,
    CH_POLICY_PUBLISH_YEARLY,
} ch_policy_publish;

#define CH_POLICY_TEXT_MAX 96

/* UK ring cadence: 0.4 s on, 0.2 s off, 0.4 s on, 2 s off, a ring every 3 s.
 * A promise of N rings is N * this many seconds of wait when the telephony
 * sends no ring count (answer: ring_seconds: changes it). */
#define CH_POLICY_RING_SECONDS 3

/* A clock as parsed, the text it came from and where that text is (1-based;
 * 0 when the clock was filled in by a preset). `set` is 0 when absent. */
typedef struct {
    int set;
    ch_clock clock;
    char text[CH_POLICY_TEXT_MAX];
    int line, column;
} ch_policy_clock;

/* A warning tier: at a share of the time, a lead before the due instant, or
 * at the due instant itself (at: breach), sent to one of the policy's roles. */
typedef struct {
    int at_breach;
    ch_warning_rule rule; /* when !at_breach */
    char at[CH_POLICY_TEXT_MAX];
    size_t role; /* index into ch_policy.roles */
    int line, column;
} ch_policy_warning;

typedef struct {
    char key[48];    /* "team_lead" */
    char title[128]; /* "Customer Services Team Leader" */
} ch_policy_role;

/* Where a promise comes from. The loader supplies what a file leaves out so
 * that every contact falls under a rule (docs/policies.md, "Every contact
 * falls under a rule"): the statutory clocks for foi, eir and sar on every
 * channel, and a last "measured, no time promised" rule for any channel and
 * case type no promise covers. Supplied promises have line 0 and ids that
 * start with "charter-" (reserved: a file may not use them). */
typedef enum {
    CH_POLICY_FROM_FILE = 0,
    CH_POLICY_SUPPLIED_STATUTORY, /* charter-foi, charter-eir, charter-sar */
    CH_POLICY_SUPPLIED_MEASURED,  /* charter-measured: everything else */
} ch_policy_origin;

/* One promise: the clocks for a set of channels and case types. */
typedef struct {
    char id[64];
    unsigned channels;   /* bit (1u << ch_policy_channel); bit 0 is "any" */
    unsigned case_types; /* bit (1u << ch_policy_case_type); bit 0 is "any" */
    char *says;          /* the charter's own words (owned) */

    ch_policy_ack ack;
    ch_policy_clock acknowledge; /* when ack == CH_POLICY_ACK_WITHIN */

    int respond_measured_only; /* respond: measured_only */
    ch_policy_clock respond;   /* anchor may be the acknowledgement (complaint presets) */

    int answer_measured_only;    /* phone */
    ch_policy_clock answer;      /* ELAPSED, e.g. 20 seconds; may be unset if rings */
    int answer_rings;            /* 0: no ring count promised */
    int answer_ring_seconds;     /* a ring's seconds, to judge a call sent without a
                                    ring count from its wait; CH_POLICY_RING_SECONDS
                                    unless answer: ring_seconds: says (0 without rings) */
    ch_policy_callback callback; /* phone: call-backs promised (callback:) */

    int see_measured_only;                 /* visit */
    ch_policy_clock see;                   /* from arrival, ELAPSED */
    ch_policy_clock see_after_appointment; /* from the appointment time, ELAPSED */

    ch_policy_clock review_first; /* from receipt (the decision) */
    ch_policy_clock review_every; /* from the previous review */
    size_t review_role;           /* index into roles; valid when review_first.set */

    /* target: the share of cases (percent, 0 < x <= 100, one decimal place)
     * the promise is held to on the dashboard and in the publication; 0 when
     * not given (reporting then holds it to report.target_pct, 100 unless
     * configured). Only on a promise with a clock to judge against. */
    double target_pct;
    int target_line, target_column;

    ch_policy_reply_channel reply_channel;
    int reply_channel_explicit;
    int named_contact;
    int reference_on_reply;

    int holding_reply;             /* a holding reply / extension is allowed */
    unsigned holding_must_include; /* ch_policy_hold bits */
    ch_policy_clock max_extension; /* from the original due instant; unset: no limit */
    /* respond: foi, eir or sar: the law's one extension, set by the loader.
     * An extension must name statutory_basis, and its new target may be no
     * later than statutory_limit counted from the response clock's start
     * (receipt), with the same pauses. NONE for a charter's own clock. */
    ch_policy_statutory statutory_basis;
    ch_policy_clock statutory_limit;

    ch_policy_warning *warnings;
    size_t nwarnings;
    unsigned measures; /* ch_policy_measure bits */

    int line, column;        /* where the promise starts */
    ch_policy_origin origin; /* written in the file, or supplied by the loader */
} ch_policy_promise;

/* Closed from first to last inclusive (local day numbers, calendar.h). */
typedef struct {
    int32_t first, last;
} ch_policy_closure;

typedef struct {
    char source[256]; /* the name used in errors (usually the path) */

    char id[64];
    char name[128];
    char reference_prefix[16];
    ch_policy_org_kind kind;
    int64_t homes; /* housing landlords: homes owned or managed; 0 if not given */

    ch_nation nation;
    char timezone[64];
    int timezone_line, timezone_column; /* of the value; 0 when left to the default */
    ch_opening_hours hours;
    ch_policy_closure *closures;
    size_t nclosures;

    int defer_out_of_hours; /* options.defer_out_of_hours_receipt */
    int roll_calendar_days; /* options.roll_calendar_days_to_working_day */

    /* sms_quiet_hours: "21:00-08:00" (local; may cross midnight). Text
     * messages due inside are held until the end. set 0: none. */
    struct {
        int set;
        int from, until; /* minutes of the local day */
    } sms_quiet;

    /* visit_requirements: what the charter asks of the customer (or promises)
     * for a visit, one plain-English sentence each ("Please keep pets secure
     * in another room."), quoted in appointment confirmations. Owned. */
    char **visit_requirements;
    size_t nvisit_requirements;

    ch_policy_role *roles;
    size_t nroles;
    ch_policy_promise *promises;
    size_t npromises;

    ch_policy_publish publish;
    unsigned communication_support; /* ch_policy_support bits */

    /* The case types this organisation takes: those its promises name, the
     * statutory foi, eir and sar, and enquiry (the default). Bits (1u <<
     * ch_policy_case_type); ingest refuses any other (closed list). */
    unsigned case_types;

    /* contact: how a customer reaches the organisation, named in notices that
     * promise a named contact before a person is assigned (team is required
     * when the key is given; phone and email may each be empty). */
    struct {
        int set;
        char team[128];
        char phone[64];
        char email[128];
    } contact;
} ch_policy;

/*
 * Loads a policy from YAML text. `name` is used in errors, as in
 * "policies/x.yaml:12:14: promises[2].respond: '5 workin days' is not a
 * clock (expected e.g. ...)". On success returns 0 and fills *out (free its
 * contents with ch_policy_free). On failure returns CH_EINVAL (or
 * CH_ENOMEM) with errstr set and *out zeroed, so ch_policy_free is still
 * safe. Pure.
 */
int ch_policy_load_text(const char *text, size_t len, const char *name, ch_policy *out,
                        char *errstr, size_t errstr_size);

/* Reads `path` (at most 1 MiB) and loads it as above, naming it `path`.
 * CH_EIO when the file cannot be read. */
int ch_policy_load_file(const char *path, ch_policy *out, char *errstr, size_t errstr_size);

/* Frees what the loader allocated and zeroes *p. NULL-safe. */
void ch_policy_free(ch_policy *p);

/*
 * The promise for a contact: the exact case type first, then "any", each
 * looking at the exact channel before "any" channel:
 * (channel, type), (any, type), (channel, any), (any, any).
 * Names as in the policy ("email", "complaint_stage_1"); an unknown case
 * type (or NULL) matches only "any". A loaded policy always has a rule for
 * every contact (the loader's charter-measured covers (any, any) when the
 * file does not), so NULL only for a policy built by hand. The pointer lives
 * as long as the policy.
 */
const ch_policy_promise *ch_policy_find_promise(const ch_policy *p, const char *channel,
                                                const char *case_type);

/*
 * The promise a case is judged on: ch_policy_find_promise(), except that a
 * visitor who had an appointment (had_appointment: the case carries an
 * appointment time) is judged on the channel's `appointment` promise when
 * the policy has one with see.after_appointment and the promise found
 * otherwise has no clock of its own for the appointment nor a response clock
 * (a complaint made at the desk keeps the complaint's clock). Pure; used by
 * the case clock (ch_case_timers), so sla-timer and reporting agree.
 */
const ch_policy_promise *ch_policy_find_promise_for(const ch_policy *p, const char *channel,
                                                    const char *case_type, int had_appointment);

/* 1 when case_type (a name, as events carry it) is one of the policy's case
 * types (ch_policy.case_types), else 0. NULL or "" is the default enquiry. */
int ch_policy_case_type_known(const ch_policy *p, const char *case_type);

/* The policy's case types as "enquiry, complaint_stage_1, ..." (in the
 * format's order), for errors that list what is allowed. Truncates. */
void ch_policy_case_types_list(const ch_policy *p, char *buf, size_t bufsz);

/*
 * Every key a policy file may hold and the code that acts on it
 * (docs/policies.md, "What acts on each key"). key is a path with "[]" for
 * list items and "*" for keys the file names freely: "promises[].respond",
 * "roles.*". The loader refuses a key that is not in this table, so no key is
 * read and then ignored. Returns the table and its length in *n.
 */
typedef struct {
    const char *key;
    const char *acted_on_by;
} ch_policy_key_use;

const ch_policy_key_use *ch_policy_key_uses(size_t *n);

/* Index of a role by key, or -1. */
int ch_policy_role_find(const ch_policy *p, const char *key);

/*
 * Writes one plain-English line for a promise, e.g.
 * "Email: reply within 5 working days (England and Wales holidays, closes 17:00)",
 * "Phone: answer within 20 seconds or four rings",
 * "Phone: answer measured, no time promised". Pure; truncates to bufsz.
 */
void ch_policy_describe_promise(const ch_policy *p, const ch_policy_promise *pr, char *buf,
                                size_t bufsz);

/* Writes a clock as the phrase after a verb: "within 5 working days",
 * "within 10 working days of the acknowledgement", "by 17:00 on the next
 * working day", "by the end of the next working day". */
void ch_policy_describe_clock(const ch_clock *c, char *buf, size_t bufsz);

/* Writes the opening hours in plain English: "Monday-Friday 09:00-17:00". */
void ch_policy_describe_hours(const ch_opening_hours *h, char *buf, size_t bufsz);

/*
 * A calendar for the policy's nation with its closures applied. NULL on
 * ENOMEM. Free with ch_calendar_free.
 */
ch_calendar *ch_policy_calendar_new(const ch_policy *p);

#endif
