/*
 * What an organisation's policy needs beyond its own file, checked in one
 * place so that `charterctl policy check` refuses exactly what the services
 * refuse at start-up and on SIGHUP: the time zone (ch_org_clocks_load), the
 * message templates its promises and alerts will be sent with, and an
 * address for every staff role. A check that only the services ran would
 * let a policy pass the documented check and then stop them.
 *
 * Reads files (the policy, the zone, the templates); computes nothing else.
 */
#ifndef CHARTER_ORG_CHECK_H
#define CHARTER_ORG_CHECK_H

#include <stddef.h>

#include "charter/org_set.h"
#include "charter/policy.h"

/* What the services would use with a policy; NULL or "" leaves a part
 * unchecked (a service without templates, or without staff alerts). */
typedef struct {
    const char *template_dir; /* notify.template_dir */
    const char *staff_email;  /* notify.staff.email, "{role}@council.example" */
} ch_org_check_opts;

/*
 * Every template a notice of this policy can need is found under dir
 * (ch_template_find, the lookup notification uses: the organisation's own
 * folder, then default/), for email, text message and letter: the
 * acknowledgement when one is sent on receipt, the holding reply when
 * extensions are allowed, appointment messages for visits, and the staff
 * alerts its clocks, warnings and reviews raise. Returns 0, or CH_EINVAL
 * with errstr "<policy file>: organisation <id> needs a template for
 * <kind> (<channel>): <what was looked for>".
 */
int ch_org_check_templates(const ch_policy *p, const char *dir, char *errstr, size_t errstr_size);

/*
 * Every role of the policy gets an address from the staff address pattern
 * (each "{role}" replaced by the role's key): one "@" with text either
 * side, no spaces. Returns 0, or CH_EINVAL with errstr naming the role,
 * its line in the policy when known, and the address it would get.
 */
int ch_org_check_roles(const ch_policy *p, const char *staff_email, char *errstr,
                       size_t errstr_size);

/* Both, as o asks (o may be NULL: nothing). */
int ch_org_check_needs(const ch_policy *p, const ch_org_check_opts *o, char *errstr,
                       size_t errstr_size);

/*
 * A policy file loaded exactly as the services load it (ch_org_clocks_load:
 * the policy, its zone and calendars), then ch_org_check_needs. Returns 0
 * with *out filled (free with ch_org_clocks_free), or a CH_E* code with
 * errstr (file:line:column: key: what is wrong) and *out empty.
 */
int ch_org_check_file(const char *path, const ch_org_check_opts *o, ch_org_clocks *out,
                      char *errstr, size_t errstr_size);

#endif
