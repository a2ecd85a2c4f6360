/*
 * Rendering (see render.h): the placeholders each kind of message fills,
 * the reply channel and recipient, and a built-in plain line when no
 * template directory is configured.
 */
#include "render.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/names.h"
#include "charter/org_set.h"
#include "charter/policy.h"
#include "charter/timeutil.h"

/* Renders kind for channel and lang into out->subject and out->body.
 * Returns 0 with *builtin 1 when no template directory is configured. */
static int
render(const notify_render_env *env, const char *org, const char *kind, const char *channel,
       const char *lang, const ch_template_var *vars, size_t nvars, notify_rendered *out,
       int *builtin)
{
    const ch_template *t = NULL;
    int rc = env->template(env->opaque, org, kind, channel, lang, &t, out->why, sizeof(out->why));
    *builtin = rc == 0 && !t;
    if (rc != 0 || !t)
        return rc;
    return ch_template_render(t, vars, nvars, &out->subject, &out->body, out->why,
                              sizeof(out->why));
}

/* Keeps `o` (taken) as out->meta. */
static int
keep_meta(notify_rendered *out, json_t *o)
{
    out->meta = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return out->meta ? 0 : CH_ENOMEM;
}

/* The channel the policy's rule asks for: the inbound channel, the
 * customer's preferred one, or email (email_or_sms). */
static const char *
wanted_channel(const ch_policy_promise *pr, const char *inbound, const char *preferred)
{
    int rule = pr ? (int)pr->reply_channel : CH_POLICY_REPLY_SAME_UNLESS_ASKED;
    if (rule == CH_POLICY_REPLY_SAME)
        return inbound;
    if (preferred && preferred[0])
        return preferred;
    return rule == CH_POLICY_REPLY_EMAIL_OR_SMS ? "email" : inbound;
}

/* How a notice on channel `ch` reaches the customer: the static name of the
 * means ("email", "sms", "social", "letter") and its address in *to, or
 * NULL when c gave no address for it or the channel has none of its own (an
 * online form, a visit). A social reply goes in the case's thread: only for
 * a contact made on social media. */
static const char *
means_of(const char *ch, const notify_contact *c, const char *inbound, const char **to)
{
    *to = "";
    if (strcmp(ch, "phone") == 0 || strcmp(ch, "voicemail") == 0 || strcmp(ch, "sms") == 0) {
        *to = c->phone;
        return c->phone[0] ? "sms" : NULL;
    }
    if (strcmp(ch, "email") == 0) {
        *to = c->email;
        return c->email[0] ? "email" : NULL;
    }
    if (strcmp(ch, "social") == 0) {
        *to = c->social_id; /* "" for a contact made before social ids were kept */
        return strcmp(inbound, "social") == 0 ? "social" : NULL;
    }
    if (strcmp(ch, "letter") == 0) {
        *to = c->postal;
        return c->postal[0] ? "letter" : NULL;
    }
    return NULL;
}

/* 1 when `name` is one of the comma-separated names of `list` (NULL: none). */
static int
listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

/* The channel a customer's notice goes by (static) and its address: the
 * one the rule wants, else email, text message, the inbound channel or a
 * letter, the first the customer can receive and `skip` does not list;
 * NULL when none. */
static const char *
customer_channel(const ch_policy_promise *pr, const notify_contact *c, const char *inbound,
                 const char *skip, const char **to)
{
    const char *order[] = {wanted_channel(pr, inbound, c->preferred), "email", "sms", inbound,
                           "letter"};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        const char *m = means_of(order[i], c, inbound, to);
        if (m && !listed(skip, m))
            return m;
    }
    *to = "";
    return NULL;
}

const char *
notify_customer_channel(const ch_org_clocks *oc, const notify_contact *c, const char *case_type,
                        const char *skip)
{
    const char *inbound = c->inbound;
    const char *type = case_type && case_type[0] ? case_type : c->case_type;
    const ch_policy_promise *pr = oc ? ch_policy_find_promise(&oc->policy, inbound, type) : NULL;
    const char *to;
    return customer_channel(pr, c, inbound, skip, &to);
}

/* "A or B" of the two non-empty ones, into buf. */
static void
either(const char *a, const char *b, char *buf, size_t bufsz)
{
    snprintf(buf, bufsz, "%s%s%s", a, a[0] && b[0] ? " or " : "", b);
}

/* The named contact where the promise has one: the person the holding reply
 * names, else the member of staff assigned to the case ("Jo Bloggs
 * (Repairs)"), else the organisation's team; and how to reach them (their
 * direct line and address, else the organisation's). Both "" otherwise. */
static void
named_contact(const ch_policy_promise *pr, const ch_policy *p, const notify_contact *c,
              const char *holding_named, char *who, size_t whosz, char *how, size_t howsz)
{
    who[0] = how[0] = '\0';
    if (!pr || !pr->named_contact)
        return;
    if (holding_named && holding_named[0])
        snprintf(who, whosz, "%s", holding_named);
    else if (c->assigned_name[0] && c->assigned_team[0])
        snprintf(who, whosz, "%s (%s)", c->assigned_name, c->assigned_team);
    else if (c->assigned_name[0])
        snprintf(who, whosz, "%s", c->assigned_name);
    else if (p && p->contact.set)
        snprintf(who, whosz, "%s", p->contact.team);
    if (c->assigned_name[0] && (c->assigned_phone[0] || c->assigned_email[0]))
        either(c->assigned_phone, c->assigned_email, how, howsz);
    else if (p && p->contact.set)
        either(p->contact.phone, p->contact.email, how, howsz);
}

/* A plain line for a notice when no template directory is configured. */
static char *
builtin_text(const char *kind, const char *ref, const char *name, const char *target,
             const char *appt)
{
    char text[1024];
    if (strcmp(kind, "acknowledgement") == 0)
        snprintf(text, sizeof(text),
                 "Dear %s, thank you for contacting us. Your reference is %s. We will reply by "
                 "%s. Please quote your reference if you contact us about this.",
                 name, ref, target);
    else if (strcmp(kind, "holding_reply") == 0)
        snprintf(text, sizeof(text),
                 "Dear %s, we need more time to reply about %s. We will reply by %s.", name, ref,
                 target);
    else if (strcmp(kind, "appointment_cancelled") == 0)
        snprintf(text, sizeof(text),
                 "Dear %s, we cannot keep your appointment on %s (reference %s). We will contact "
                 "you to arrange a new one.",
                 name, appt, ref);
    else
        snprintf(text, sizeof(text), "Dear %s, your appointment is on %s (reference %s).", name,
                 appt, ref);
    return strdup(text);
}

int
notify_render_customer(const notify_render_env *env, const notify_render_in *in,
                       notify_rendered *out)
{
    const Charter__V1__TimerFired *t = in->t;
    const Charter__V1__CaseEvent *ev = in->ev;
    const notify_contact *c = in->contact;
    const ch_org_clocks *oc = in->org;
    const char *inbound = c->inbound[0] ? c->inbound : ch_channel_name(t->channel);
    const char *case_type = t->case_type && t->case_type[0] ? t->case_type : c->case_type;
    const ch_policy_promise *pr =
        oc ? ch_policy_find_promise(&oc->policy, inbound, case_type) : NULL;
    int holding = ev && ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_HOLDING_REPLY;
    int64_t target_s = holding        ? ev->holding_reply->new_target_at->seconds
                       : t->target_at ? t->target_at->seconds
                                      : 0;
    char target[CH_TEMPLATE_DATE_BUFSZ] = "", target_iso[CH_TIME_BUFSZ] = "";
    if (target_s) {
        ch_template_date_words(in->tz, target_s, target, sizeof(target));
        ch_time_format_utc(target_s * 1000, target_iso, sizeof(target_iso));
    }
    char appt_date[CH_TEMPLATE_DATE_BUFSZ] = "", appt_time[32] = "", appt_iso[CH_TIME_BUFSZ] = "";
    if (in->appt_s) {
        ch_template_date_words(in->tz, in->appt_s, appt_date, sizeof(appt_date));
        ch_template_time_words(in->tz, in->appt_s, appt_time, sizeof(appt_time));
        ch_time_format_utc(in->appt_s * 1000, appt_iso, sizeof(appt_iso));
    }
    const char *location = c->location;
    if (ev && ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_APPOINTMENT &&
        ev->appointment->location[0])
        location = ev->appointment->location;
    out->customer = 1;
    const char *to = "";
    out->channel = customer_channel(pr, c, inbound, in->skip, &to);
    snprintf(out->lang, sizeof(out->lang), "%s", c->lang);
    if (!out->channel) {
        out->undeliverable = 1;
        out->to[0] = '\0';
        out->channel = ch_channel_name(ch_channel_from_name(inbound));
        if (in->skip && in->skip[0])
            snprintf(out->why, sizeof(out->why),
                     "no way left to reach the customer: it failed by %s and they gave no other "
                     "email address, phone number or postal address",
                     in->skip);
        else
            snprintf(out->why, sizeof(out->why),
                     "no way to reach the customer: no email address, phone number or postal "
                     "address was given (contact by %s)",
                     inbound);
        return 0;
    }
    snprintf(out->to, sizeof(out->to), "%s", to);
    char within[128] = "";
    if (pr && pr->respond.set)
        ch_policy_describe_clock(&pr->respond.clock, within, sizeof(within));
    char who[300], how[400];
    named_contact(pr, oc ? &oc->policy : NULL, c, holding ? ev->holding_reply->named_contact : NULL,
                  who, sizeof(who), how, sizeof(how));
    /* Text messages and social replies run the visit requirements on. */
    int inline_list = strcmp(out->channel, "sms") == 0 || strcmp(out->channel, "social") == 0;
    char *visit = oc ? ch_template_list((const char *const *)oc->policy.visit_requirements,
                                        oc->policy.nvisit_requirements, inline_list)
                     : NULL;
    const char *name = c->name[0] ? c->name : "customer";
    ch_template_var vars[] = {
        {"reference", t->reference},
        {"organisation", oc ? oc->policy.name : t->organisation},
        {"customer_name", name},
        {"target_date", target[0] ? target : "our target date"},
        {"respond_within", within},
        {"contact_name", who},
        {"contact_details", how},
        {"reason", holding ? ev->holding_reply->reason : ""},
        {"next_steps", holding ? ev->holding_reply->next_steps : ""},
        {"new_target_date", target},
        {"appointment_date", appt_date},
        {"appointment_time", appt_time},
        {"appointment_location", location},
        {"visit_requirements", visit},
    };
    int builtin = 0;
    int rc = render(env, t->organisation, in->kind_name, out->channel, c->lang, vars,
                    sizeof(vars) / sizeof(vars[0]), out, &builtin);
    free(visit);
    if (builtin) {
        char when[96];
        snprintf(when, sizeof(when), "%s at %s", appt_date, appt_time);
        out->body = builtin_text(in->kind_name, t->reference, name,
                                 target[0] ? target : "our target date", when);
        rc = out->body ? 0 : CH_ENOMEM;
    }
    if (rc != 0)
        return rc;
    if (!out->subject) {
        char s[200];
        snprintf(s, sizeof(s), "Your reference %s", t->reference);
        if (!(out->subject = strdup(s)))
            return CH_ENOMEM;
    }
    json_t *meta = json_object();
    json_object_set_new(meta, "target_date", json_string(target));
    json_object_set_new(meta, "target_at", json_string(target_iso));
    if (in->appt_s)
        json_object_set_new(meta, "appointment_at", json_string(appt_iso));
    if (strcmp(out->channel, "social") == 0 && c->gateway_account[0])
        json_object_set_new(meta, "gateway_account", json_string(c->gateway_account));
    return keep_meta(out, meta);
}

/* The role a staff alert goes to: index into the policy's roles, or -1. */
static int
alert_role(const ch_policy *p, const ch_policy_promise *pr, const Charter__V1__TimerFired *t)
{
    switch (t->kind) {
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_WARNING:
        if (pr && t->tier >= 1 && t->tier <= pr->nwarnings)
            return (int)pr->warnings[t->tier - 1].role;
        break;
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH:
        for (size_t i = 0; pr && i < pr->nwarnings; i++)
            if (pr->warnings[i].at_breach)
                return (int)pr->warnings[i].role;
        return ch_policy_role_find(p, "manager");
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_WAIT_EXCEEDED: {
        int r = ch_policy_role_find(p, "duty_officer");
        return r >= 0 ? r : ch_policy_role_find(p, "manager");
    }
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_DUE:
        if (pr && pr->review_first.set)
            return (int)pr->review_role;
        break;
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_WARNING:
        /* A promise with no reply clock: its warning tiers count towards the review. */
        if (pr && t->tier >= 1 && t->tier <= pr->nwarnings && !pr->warnings[t->tier - 1].at_breach)
            return (int)pr->warnings[t->tier - 1].role;
        if (pr && pr->review_first.set)
            return (int)pr->review_role;
        break;
    case CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_OVERDUE:
        for (size_t i = 0; pr && i < pr->nwarnings; i++)
            if (pr->warnings[i].at_breach)
                return (int)pr->warnings[i].role;
        if (pr && pr->review_first.set)
            return (int)pr->review_role;
        return ch_policy_role_find(p, "manager");
    default: /* acknowledgement overdue, extension refused, call-back overdue: the case owner */
        break;
    }
    return ch_policy_role_find(p, "owner");
}

/* A staff message to role_key: by email, or to the role itself. */
static void
staff_to(const notify_render_env *env, const char *role_key, notify_rendered *out)
{
    out->customer = 0;
    out->channel = "email";
    snprintf(out->lang, sizeof(out->lang), "en");
    const char *pat = env->staff_email, *p = strstr(pat, "{role}");
    if (env->staff_by_role)
        snprintf(out->to, sizeof(out->to), "%s", role_key);
    else if (p)
        snprintf(out->to, sizeof(out->to), "%.*s%s%s", (int)(p - pat), pat, role_key, p + 6);
    else
        snprintf(out->to, sizeof(out->to), "%s", pat);
}

int
notify_render_alert(const notify_render_env *env, const notify_render_in *in, notify_rendered *out)
{
    const Charter__V1__TimerFired *t = in->t;
    const ch_org_clocks *oc = in->org;
    const ch_policy_promise *pr =
        oc ? ch_policy_find_promise(&oc->policy, ch_channel_name(t->channel), t->case_type) : NULL;
    int role = !oc                       ? -1
               : in->role && in->role[0] ? ch_policy_role_find(&oc->policy, in->role)
                                         : alert_role(&oc->policy, pr, t);
    const char *role_key = role >= 0                 ? oc->policy.roles[role].key
                           : in->role && in->role[0] ? in->role
                                                     : "owner";
    const char *role_title = role >= 0 ? oc->policy.roles[role].title : "Case owner";
    char target[CH_TEMPLATE_DATE_BUFSZ] = "", due[CH_TEMPLATE_DATE_BUFSZ] = "", due_time[32] = "";
    if (t->target_at)
        ch_template_date_words(in->tz, t->target_at->seconds, target, sizeof(target));
    if (t->due_at) {
        ch_template_date_words(in->tz, t->due_at->seconds, due, sizeof(due));
        ch_template_time_words(in->tz, t->due_at->seconds, due_time, sizeof(due_time));
    }
    char tier[16], review[16];
    snprintf(tier, sizeof(tier), "%u", t->tier);
    snprintf(review, sizeof(review), "%u", t->review);
    ch_policy_case_type ct = CH_POLICY_CASE_ANY;
    const char *case_type =
        t->case_type && t->case_type[0] && ch_policy_case_type_parse(t->case_type, &ct) == 0
            ? ch_policy_case_type_title(ct)
            : "case";
    ch_policy_channel pc = CH_POLICY_CHANNEL_ANY;
    const char *channel_title = ch_policy_channel_parse(ch_channel_name(t->channel), &pc) == 0 && pc
                                    ? ch_policy_channel_title(pc)
                                    : ch_channel_name(t->channel);
    ch_template_var vars[] = {
        {"reference", t->reference},
        {"organisation", oc ? oc->policy.name : t->organisation},
        {"target_date", target[0] ? target : "the target date"},
        {"due_date", due},
        {"due_time", due_time},
        {"tier", tier},
        {"role", role_title},
        {"case_type", case_type},
        {"channel", channel_title},
        {"review", t->review ? review : ""},
        {"detail", in->detail && in->detail[0] ? in->detail : t->detail},
    };
    int builtin = 0;
    int rc = render(env, t->organisation, in->kind_name, "email", "en", vars,
                    sizeof(vars) / sizeof(vars[0]), out, &builtin);
    if (builtin) {
        char text[512];
        snprintf(text, sizeof(text), "%s for case %s (%s)", in->kind_name, t->reference,
                 role_title);
        out->body = strdup(text);
        rc = out->body ? 0 : CH_ENOMEM;
    }
    if (rc != 0)
        return rc;
    if (!out->subject && !(out->subject = strdup(out->body)))
        return CH_ENOMEM;
    staff_to(env, role_key, out);
    json_t *meta = json_object();
    json_object_set_new(meta, "role", json_string(role_title));
    json_object_set_new(meta, "tier", json_integer(t->tier));
    return keep_meta(out, meta);
}

int
notify_render_unknown(const notify_render_env *env, const char *about, const char *reference,
                      const char *reason, notify_rendered *out)
{
    staff_to(env, "owner", out);
    char subject[200];
    snprintf(subject, sizeof(subject), "Did our message about %s arrive?", reference);
    out->subject = strdup(subject);
    out->body = strdup("Check with the customer whether our message arrived: the mail server was "
                       "not heard from after it was sent.");
    json_t *meta = json_object();
    json_object_set_new(meta, "notification_id", json_string(about));
    json_object_set_new(meta, "reason", json_string(reason));
    if (!out->subject || !out->body) {
        json_decref(meta);
        return CH_ENOMEM;
    }
    return keep_meta(out, meta);
}

void
notify_rendered_free(notify_rendered *r)
{
    free(r->subject);
    free(r->body);
    free(r->meta);
    r->subject = r->body = r->meta = NULL;
}

int
notify_receipt_target(const ch_org_clocks *oc, const Charter__V1__CaseEvent *ev, int64_t ack_ms,
                      int64_t *target_s)
{
    *target_s = 0;
    if (!ev->occurred_at || ev->event_case != CHARTER__V1__CASE_EVENT__EVENT_RECEIVED)
        return CH_EINVAL;
    ch_case_state st = {0};
    if (ch_case_apply(oc, &st, ev) < 0) /* the case as sla-timer starts it */
        return CH_EINVAL;
    st.acknowledged_ms = ack_ms > st.received_ms ? ack_ms : st.received_ms;
    if (!ch_policy_find_promise(&oc->policy, st.channel, st.case_type))
        return CH_ENOTFOUND;
    ch_case_timer timers[32];
    int64_t target_ms = 0;
    if (ch_case_timers(oc, ev->case_id, &st, timers, sizeof(timers) / sizeof(timers[0]),
                       &target_ms) < 0)
        return CH_EINVAL;
    *target_s = target_ms / 1000;
    return 0;
}
