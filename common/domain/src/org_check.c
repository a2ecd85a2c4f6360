/*
 * The checks of org_check.h. Which templates a policy needs is read off its
 * promises the way notification decides what to send (intake.c): a kind is
 * required only when something in the policy can cause it, so a policy
 * without visits needs no appointment messages. Each kind is looked up with
 * ch_template_find, the very lookup that picks the file at send time, so the
 * check and the send cannot disagree about which file that is.
 */
#include "charter/org_check.h"

#include <stdio.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/template.h"

/* What the promises of p can cause. */
typedef struct {
    int ack, holding, visits, ack_overdue, warnings, reviews, wait, callbacks;
} needs;

static needs
policy_needs(const ch_policy *p)
{
    needs n = {0};
    for (size_t i = 0; i < p->npromises; i++) {
        const ch_policy_promise *pr = &p->promises[i];
        n.ack |= pr->ack == CH_POLICY_ACK_AUTOMATIC;
        n.ack_overdue |= pr->ack != CH_POLICY_ACK_NONE;
        n.holding |= pr->holding_reply;
        n.visits |= pr->see_after_appointment.set;
        n.wait |= pr->see.set;
        n.warnings |= pr->nwarnings > 0;
        n.reviews |= pr->review_first.set;
        n.callbacks |= pr->callback != CH_POLICY_CALLBACK_NONE;
    }
    return n;
}

static int
need(const ch_policy *p, const char *dir, const char *kind, const char *channel, char *errstr,
     size_t errstr_size)
{
    char path[1024], why[512];
    int rc =
        ch_template_find(dir, p->id, kind, channel, "en", path, sizeof(path), why, sizeof(why));
    if (rc == 0)
        return 0;
    snprintf(errstr, errstr_size, "%s: organisation %s needs a template for %s (%s): %s", p->source,
             p->id, kind, channel, why);
    return CH_EINVAL;
}

int
ch_org_check_templates(const ch_policy *p, const char *dir, char *errstr, size_t errstr_size)
{
    if (!dir || !*dir)
        return 0;
    needs n = policy_needs(p);
    static const char *const customer_channels[] = {"email", "sms", "letter"};
    const struct {
        int when;
        const char *kind;
    } customer[] =
        {
            {n.ack, "acknowledgement"},
            {n.holding, "holding_reply"},
            {n.visits, "appointment_confirmation"},
            {n.visits, "appointment_reminder"},
            {n.visits, "appointment_cancelled"},
        },
      staff[] = {
          {1, "staff_breach"},
          {1, "staff_undeliverable"},
          {n.holding, "staff_extension_refused"},
          {n.ack_overdue, "staff_acknowledgement_overdue"},
          {n.warnings, "staff_warning"},
          {n.reviews, "staff_review_due"},
          {n.reviews, "staff_review_warning"},
          {n.reviews, "staff_review_overdue"},
          {n.wait, "staff_wait_exceeded"},
          {n.callbacks, "staff_callback_overdue"},
      };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof(customer) / sizeof(customer[0]); i++)
        for (size_t c = 0; rc == 0 && customer[i].when && c < 3; c++)
            rc = need(p, dir, customer[i].kind, customer_channels[c], errstr, errstr_size);
    for (size_t i = 0; rc == 0 && i < sizeof(staff) / sizeof(staff[0]); i++)
        if (staff[i].when)
            rc = need(p, dir, staff[i].kind, "email", errstr, errstr_size);
    return rc;
}

/* local@domain: one "@", text either side, nothing that ends an address. */
static int
is_address(const char *a)
{
    const char *at = strchr(a, '@');
    if (!at || at == a || !at[1] || strchr(at + 1, '@'))
        return 0;
    for (const char *c = a; *c; c++)
        if ((unsigned char)*c <= ' ' || strchr("<>,;\"()[]\\", *c))
            return 0;
    return 1;
}

int
ch_org_check_roles(const ch_policy *p, const char *staff_email, char *errstr, size_t errstr_size)
{
    if (!staff_email || !*staff_email)
        return 0;
    const char *hole = strstr(staff_email, "{role}");
    for (size_t i = 0; i < p->nroles; i++) {
        char to[512];
        if (hole)
            snprintf(to, sizeof(to), "%.*s%s%s", (int)(hole - staff_email), staff_email,
                     p->roles[i].key, hole + 6);
        else
            snprintf(to, sizeof(to), "%s", staff_email);
        if (!is_address(to)) {
            snprintf(errstr, errstr_size,
                     "%s: roles.%s: the staff address pattern '%s' gives this role no address "
                     "('%s'; expected e.g. {role}@council.example)",
                     p->source, p->roles[i].key, staff_email, to);
            return CH_EINVAL;
        }
    }
    return 0;
}

int
ch_org_check_needs(const ch_policy *p, const ch_org_check_opts *o, char *errstr, size_t errstr_size)
{
    if (!o)
        return 0;
    int rc = ch_org_check_templates(p, o->template_dir, errstr, errstr_size);
    return rc ? rc : ch_org_check_roles(p, o->staff_email, errstr, errstr_size);
}

int
ch_org_check_file(const char *path, const ch_org_check_opts *o, ch_org_clocks *out, char *errstr,
                  size_t errstr_size)
{
    int rc = ch_org_clocks_load(path, out, errstr, errstr_size);
    if (rc == 0 && (rc = ch_org_check_needs(&out->policy, o, errstr, errstr_size)) != 0)
        ch_org_clocks_free(out);
    return rc;
}
