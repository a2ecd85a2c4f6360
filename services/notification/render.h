/*
 * What a notification says and to whom, from values only: the fired timer
 * (or a case event's notice), the customer's recorded details, the
 * organisation's policy and zone, and a way to get a template. No Redis, no
 * clock, no file: the template lookup is the caller's (intake.c reads the
 * template cache), so tests/unit/test_notify_render.c renders with
 * templates parsed from text.
 *
 * The customer's channel is the policy's reply-channel rule applied to how
 * they contacted us and what they asked for (a phone call is answered by
 * text message, email_or_sms prefers email then a text); a notice goes only
 * where the customer can receive it: a channel with no address of its own
 * (an online form, a visit) or one they gave no address for falls back to
 * email, then text message, then letter, and with none of those it is
 * undeliverable (notify_rendered.undeliverable) rather than sent to nobody.
 * Where the promise has named_contact, the contact is the member of staff
 * assigned to the case, or before anyone is, the organisation's team
 * (policy contact:), with their phone number and address. A staff alert
 * goes to the role the policy names for the timer (tiered warnings, breach,
 * review tiers; the case owner for the rest), by email.
 */
#ifndef CHARTER_NOTIFY_RENDER_H
#define CHARTER_NOTIFY_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "charter/case_clock.h"
#include "charter/template.h"
#include "charter/v1/case_event.pb-c.h"
#include "charter/v1/timer.pb-c.h"
#include "contact_details.h"

/*
 * The template for a message. Returns 0 with *out borrowed until the next
 * call (*out NULL: no template directory is configured, so a built-in plain
 * line is used, for development), or CH_EINVAL (no such template: it will
 * not appear by retrying), CH_EIO or CH_ENOMEM, with why.
 */
typedef int (*notify_template_fn)(void *opaque, const char *organisation, const char *kind,
                                  const char *channel, const char *lang, const ch_template **out,
                                  char *why, size_t whysz);

/* How the service renders: its templates and its staff addresses. */
typedef struct {
    notify_template_fn template;
    void *opaque;
    const char *staff_email; /* notify.staff.email: "{role}" becomes the role key */
    int staff_by_role;       /* 1: staff messages are addressed to the role key itself */
} notify_render_env;

/* What a message is rendered from (all borrowed). */
typedef struct {
    /* The fired timer, or for a notice a stand-in holding the case id,
     * organisation, reference, case type and inbound channel. */
    const Charter__V1__TimerFired *t;
    const Charter__V1__CaseEvent *ev; /* the notice's case event, or NULL */
    const notify_contact *contact;    /* the customer's details (customer messages) */
    int64_t appt_s;                   /* the appointment it is about; 0: none */
    const char *kind_name;            /* the template kind: "acknowledgement", ... */
    const ch_org_clocks *org;         /* the organisation's policy, or NULL */
    const ch_tz *tz;                  /* its zone (notify.timezone without a policy) */
    /* Staff alerts only, may be NULL: a role key that overrides the policy's
     * choice, and a {detail} that overrides the timer's. */
    const char *role;
    const char *detail;
    /* Customer messages, may be NULL: channels not to use, comma-separated
     * ("sms,email"): those a notice already failed by (a fallback). */
    const char *skip;
} notify_render_in;

/* A rendered message. */
typedef struct {
    int customer;        /* 1: to the customer; 0: to staff */
    int undeliverable;   /* 1: the customer gave no way to reach them; why says so */
    const char *channel; /* "email", "sms", "social" or another channel's name (static) */
    char to[600];        /* an address, a number or a postal address */
    char lang[16];
    char *subject, *body; /* owned */
    char *meta;           /* owned: a JSON object of what a record of it adds (dates, role) */
    char why[512];        /* with CH_EINVAL: why the template cannot be used */
} notify_rendered;

/*
 * A customer's message (acknowledgement, holding reply, appointment
 * confirmation, reminder or cancellation). Returns 0 (with
 * out->undeliverable and out->why when there is no channel the customer can
 * receive it on: nothing is rendered then), CH_EINVAL with
 * out->why (the template cannot be used: retrying will not help), CH_EIO or
 * CH_ENOMEM. Free out with notify_rendered_free whatever the result.
 */
int notify_render_customer(const notify_render_env *env, const notify_render_in *in,
                           notify_rendered *out);

/* A staff alert for in->t (warning, breach, wait exceeded, review due);
 * returns as notify_render_customer. */
int notify_render_alert(const notify_render_env *env, const notify_render_in *in,
                        notify_rendered *out);

/*
 * The note to the case owner that a message's delivery is unknown (the mail
 * server took the end of it and never answered): check with the customer.
 * `about` is the notification's id, which the note's record carries as its
 * notification_id. Returns 0 or CH_ENOMEM.
 */
int notify_render_unknown(const notify_render_env *env, const char *about, const char *reference,
                          const char *reason, notify_rendered *out);

void notify_rendered_free(notify_rendered *r);

/*
 * The channel notify_render_customer would send a customer's notice by
 * ("email", "sms", "social", "letter"; static), or NULL when none is left:
 * the promise for c's inbound channel and case_type ("" or NULL: c's) under
 * oc (may be NULL) picks the first, skipping the channels `skip` lists.
 */
const char *notify_customer_channel(const ch_org_clocks *oc, const notify_contact *c,
                                    const char *case_type, const char *skip);

/*
 * The reply target an acknowledgement sent at receipt gives: the promise's
 * response clock for a case received as `ev` (a `received` event), started
 * at receipt, or at ack_ms for a clock that runs from the acknowledgement
 * (the Housing Ombudsman Code's). Returns 0 with *target_s (0: the promise
 * has no response clock), CH_ENOTFOUND when no promise covers the contact,
 * or CH_EINVAL when the clock cannot be computed.
 */
int notify_receipt_target(const ch_org_clocks *oc, const Charter__V1__CaseEvent *ev, int64_t ack_ms,
                          int64_t *target_s);

#endif
