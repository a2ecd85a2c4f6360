/*
 * The policy file outside its promises: organisation, calendar and zone,
 * opening hours, closures, options, text-message quiet hours, visit
 * requirements, roles and reporting (docs/policies.md has each key).
 *
 * The root and the plain mappings under it are key tables (yaml_walk.h): a
 * key's name, the field it fills and the words of its errors are one row,
 * and the walker checks the keys and reads them. The table order is the
 * order "unknown key (expected one of: ...)" lists them in; root_order is the
 * order they are read in, which decides which error a file with several
 * mistakes reports first, and keeps roles ahead of the promises that name
 * them.
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

_Static_assert(sizeof(ch_policy_org_kind) == sizeof(int) &&
                   sizeof(ch_policy_publish) == sizeof(int),
               "CH__YAML_CHOICE stores an int");

int
ch__policy_is_word(const char *s, int allow_dash, int allow_underscore)
{
    if (!*s || !(islower((unsigned char)*s) || isdigit((unsigned char)*s)))
        return 0;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) ||
              (allow_dash && *s == '-') || (allow_underscore && *s == '_')))
            return 0;
    return 1;
}

/* ---- organisation ---- */

int
ch__policy_check_id(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_key *k,
                    void *field)
{
    const char *id = field;
    if (!ch__policy_is_word(id, 1, k->arg))
        return ch__yaml_fail(y, n, path, "'%s' is not an id (expected %s)", id,
                             (const char *)k->data);
    return 0;
}

static int
check_prefix(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_key *k, void *field)
{
    (void)k;
    const char *prefix = field;
    size_t len = strlen(prefix);
    int ok = len >= 2 && len <= 8;
    for (size_t i = 0; i < len; i++)
        ok &= isupper((unsigned char)prefix[i]) || (i > 0 && isdigit((unsigned char)prefix[i]));
    if (!ok)
        return ch__yaml_fail(y, n, path,
                             "'%s' is not a reference prefix (expected 2 to 8 capital letters, "
                             "e.g. NCH)",
                             prefix);
    return 0;
}

/* "25,000", "25_000" or "25000" homes. */
static int
parse_homes(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_key *k, void *field)
{
    (void)k;
    const char *s = ch__yaml_text(n), *c = s;
    int64_t h = 0;
    for (; *c; c++) {
        if (*c == ',' || *c == '_')
            continue;
        if (!isdigit((unsigned char)*c) || h > 100000000)
            break;
        h = h * 10 + (*c - '0');
    }
    if (*c || h < 1 || h > 10000000)
        return ch__yaml_fail(y, n, path, "'%s' is not a number of homes (expected e.g. 25000)", s);
    *(int64_t *)field = h;
    return 0;
}

/* A housing landlord must say how many homes it has. */
static int
check_homes(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_key *k, void *field)
{
    (void)k;
    const ch_policy *p = field;
    if (!ch__yaml_get(y, n, "homes") && p->kind == CH_POLICY_KIND_HOUSING_LANDLORD)
        return ch__yaml_missing(
            y, n, path, "homes",
            "the number of homes, for complaints per 1,000 homes (housing landlords)");
    return 0;
}

/* key, kind, field, expected, required (what to give), reader or check; then
 * what the kind needs (yaml_walk.h). */
static const ch__yaml_key organisation_keys[] = {
    {"id", CH__YAML_TEXT, offsetof(ch_policy, id), "an id such as nottingham-city-homes",
     "the organisation's id, e.g. nottingham-city-homes", ch__policy_check_id,
     .size = sizeof(((ch_policy *)0)->id),
     .data = "lower-case letters, digits and '-', e.g. nottingham-city-homes"},
    {"name", CH__YAML_TEXT, offsetof(ch_policy, name), "the organisation's name",
     "the organisation's name", NULL, .size = sizeof(((ch_policy *)0)->name)},
    {"reference_prefix", CH__YAML_TEXT, offsetof(ch_policy, reference_prefix),
     "2 to 8 capital letters, e.g. NCH", "2 to 8 capital letters, e.g. NCH", check_prefix,
     .size = sizeof(((ch_policy *)0)->reference_prefix)},
    {"kind", CH__YAML_CHOICE, offsetof(ch_policy, kind), "housing_landlord or council",
     "housing_landlord or council", NULL, .names = ch__policy_org_kinds, .noun = "a kind"},
    {"homes", CH__YAML_SCALAR, offsetof(ch_policy, homes), "a whole number of homes", NULL,
     parse_homes},
};

/* ---- calendar and zone ---- */

static int
parse_calendar(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_key *k, void *field)
{
    ch_nation *nation = field;
    const char *s = ch__yaml_text(n);
    if (ch_nation_parse(s, nation) != 0 || *nation == CH_NATION_UK_ANY)
        return ch__yaml_fail(y, n, path, "'%s' is not a calendar (expected %s)", s, k->expected);
    return 0;
}

static int
check_timezone(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_key *k, void *field)
{
    const char *tz = field;
    int ok = tz[0] != '/' && strstr(tz, "..") == NULL;
    for (const char *c = tz; *c; c++)
        ok &= isalnum((unsigned char)*c) || strchr("/_+-", *c) != NULL;
    if (!ok)
        return ch__yaml_fail(y, n, path, "'%s' is not a zone name (expected %s)", tz, k->expected);
    return 0;
}

/* ---- opening hours ---- */

static int
parse_hhmm(const char *s, int *minute)
{
    if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || s[2] != ':' ||
        !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
        return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 24 || m > 59 || (h == 24 && m != 0))
        return -1;
    *minute = h * 60 + m;
    return 0;
}

/* "HH:MM-HH:MM" into two minutes of the day. */
static int
parse_span(const char *s, int *from, int *until)
{
    if (strlen(s) != 11 || s[5] != '-' || parse_hhmm(s, from) || parse_hhmm(s + 6, until))
        return -1;
    return 0;
}

static int
day_index(const char *s, size_t len)
{
    for (int d = 0; d < 7; d++) {
        const char *name = ch__policy_day_name(d);
        if (strlen(name) == len && strncmp(name, s, len) == 0)
            return d;
    }
    return -1;
}

typedef struct {
    ch_opening_hours *h;
    int given[7];
    int any_open;
} hours_read;

/* "monday-friday": "09:00-17:00" (or closed). */
static int
read_days(ch__yaml *y, yaml_node_t *key, const char *kpath, yaml_node_t *value, void *arg)
{
    hours_read *r = arg;
    const char *ks = ch__yaml_text(key), *dash = strchr(ks, '-');
    int a = day_index(ks, dash ? (size_t)(dash - ks) : strlen(ks));
    int b = dash ? day_index(dash + 1, strlen(dash + 1)) : a;
    if (a < 0 || b < 0 || b < a)
        return ch__yaml_fail(y, key, kpath,
                             "'%s' is not a day or range of days (expected e.g. monday, "
                             "monday-friday, saturday-sunday)",
                             ks);
    const char *vs;
    int rc = ch__yaml_scalar(y, value, kpath, "hours such as \"09:00-17:00\", or closed", &vs);
    if (rc)
        return rc;
    int open = -1, close = -1;
    if (strcmp(vs, "closed") != 0) {
        if (parse_span(vs, &open, &close) || close <= open)
            return ch__yaml_fail(y, value, kpath,
                                 "'%s' is not opening hours (expected e.g. \"09:00-17:00\", or "
                                 "closed)",
                                 vs);
        r->any_open = 1;
    }
    for (int d = a; d <= b; d++) {
        if (r->given[d])
            return ch__yaml_fail(y, key, kpath, "%s is given twice", ch__policy_day_title(d));
        r->given[d] = 1;
        r->h->open[d] = open;
        r->h->close[d] = close;
    }
    return 0;
}

static int
parse_hours(ch__yaml *y, yaml_node_t *m, const char *path, const ch__yaml_key *k, void *field)
{
    hours_read r = {.h = field};
    for (int d = 0; d < 7; d++)
        r.h->open[d] = r.h->close[d] = -1;
    int rc = ch__yaml_want_mapping(y, m, path, k->expected);
    if (rc || (rc = ch__yaml_each_pair(y, m, path, "a day or a range of days", read_days, &r)))
        return rc;
    if (!r.any_open)
        return ch__yaml_fail(y, m, path,
                             "the organisation is never open (expected at least one day with "
                             "hours such as \"09:00-17:00\")");
    return 0;
}

/* ---- closures, quiet hours, visit requirements ---- */

static int
parse_date(const char *s, size_t len, int32_t *day)
{
    if (len != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return -1;
    int y = atoi(s), m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < CH_CAL_FIRST_YEAR || y > CH_CAL_LAST_YEAR || m < 1 || m > 12 || d < 1 ||
        d > ch_days_in_month(y, m))
        return -1;
    *day = ch_day_from_civil(y, m, d);
    return 0;
}

/* One closure: a date or "<date> to <date>". */
static int
read_closure(ch__yaml *y, yaml_node_t *v, const char *path, const ch__yaml_key *k, void *field)
{
    (void)k;
    ch_policy_closure *c = field;
    const char *t;
    int rc = ch__yaml_scalar(y, v, path,
                             "a date (2026-12-29) or a range (2026-12-24 to 2026-12-31)", &t);
    if (rc)
        return rc;
    const char *to = strstr(t, " to ");
    int bad = to ? parse_date(t, (size_t)(to - t), &c->first) ||
                       parse_date(to + 4, strlen(to + 4), &c->last)
                 : parse_date(t, strlen(t), &c->first);
    if (!to)
        c->last = c->first;
    if (bad)
        return ch__yaml_fail(y, v, path,
                             "'%s' is not a date or range of dates (expected YYYY-MM-DD or "
                             "\"YYYY-MM-DD to YYYY-MM-DD\", years %d-%d)",
                             t, CH_CAL_FIRST_YEAR, CH_CAL_LAST_YEAR);
    if (c->last < c->first)
        return ch__yaml_fail(y, v, path, "'%s' ends before it starts", t);
    if (c->last - c->first > 366)
        return ch__yaml_fail(y, v, path,
                             "'%s' is longer than a year (expected a closure of days or weeks)", t);
    return 0;
}

static int
parse_quiet_hours(ch__yaml *y, yaml_node_t *v, const char *path, const ch__yaml_key *k, void *field)
{
    (void)k;
    ch_policy *p = field;
    const char *s = ch__yaml_text(v);
    int from, until;
    if (parse_span(s, &from, &until) || from == until || from == 24 * 60 || until == 24 * 60)
        return ch__yaml_fail(y, v, path,
                             "'%s' is not quiet hours (expected e.g. \"21:00-08:00\": no text "
                             "messages from 21:00 until 08:00)",
                             s);
    p->sms_quiet.set = 1;
    p->sms_quiet.from = from;
    p->sms_quiet.until = until;
    return 0;
}

/* One visit requirement: a sentence on one line. */
static int
read_sentence(ch__yaml *y, yaml_node_t *v, const char *path, const ch__yaml_key *k, void *field)
{
    (void)k;
    const char *s;
    int rc = ch__yaml_scalar(y, v, path, "a sentence", &s);
    if (rc)
        return rc;
    if (strchr(s, '\n'))
        return ch__yaml_fail(y, v, path, "is more than one line (expected one sentence)");
    return (*(char **)field = strdup(s)) ? 0 : CH_ENOMEM;
}

/* ---- roles ---- */

/* team_lead: Customer Services Team Leader */
static int
read_role(ch__yaml *y, yaml_node_t *key, const char *kpath, yaml_node_t *value, void *arg)
{
    ch_policy *p = arg;
    const char *ks = ch__yaml_text(key);
    if (!ch__policy_is_word(ks, 0, 1) || !islower((unsigned char)ks[0]) ||
        strlen(ks) >= sizeof(p->roles[0].key))
        return ch__yaml_fail(y, key, kpath,
                             "'%s' is not a role name (expected lower-case letters, digits "
                             "and '_', e.g. team_lead)",
                             ks);
    if (ch_policy_role_find(p, ks) >= 0)
        return ch__yaml_fail(y, key, kpath, "given twice");
    ch_policy_role *r = &p->roles[p->nroles];
    snprintf(r->key, sizeof(r->key), "%s", ks);
    int rc =
        ch__yaml_copy_text(y, value, kpath, "the role's job title", r->title, sizeof(r->title));
    if (rc == 0)
        p->nroles++;
    return rc;
}

static int
parse_roles(ch__yaml *y, yaml_node_t *m, const char *path, const ch__yaml_key *k, void *field)
{
    ch_policy *p = field;
    int rc = ch__yaml_want_mapping(y, m, path, k->expected);
    if (rc)
        return rc;
    size_t n = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
    if (n && !(p->roles = calloc(n, sizeof(*p->roles))))
        return CH_ENOMEM;
    return ch__yaml_each_pair(y, m, path, "a role name", read_role, p);
}

int
ch__policy_role_key(ch__yaml *y, yaml_node_t *v, const char *path, const ch__yaml_key *k,
                    void *field)
{
    (void)k;
    const ch_policy *p = ch__policy_ld_of(y)->p;
    const char *s;
    int rc = ch__yaml_scalar(y, v, path, "one of the roles defined under roles:", &s);
    if (rc)
        return rc;
    int r = ch_policy_role_find(p, s);
    if (r >= 0) {
        *(size_t *)field = (size_t)r;
        return 0;
    }
    if (p->nroles == 0)
        return ch__yaml_fail(y, v, path,
                             "'%s' is not a role (no roles are defined: add a roles: section)", s);
    char list[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < p->nroles; i++)
        ch__yaml_list_add(list, sizeof(list), &used, p->roles[i].key);
    return ch__yaml_fail(y, v, path, "'%s' is not a role (roles defined: %s)", s, list);
}

/* ---- options and reporting ---- */

static const ch__yaml_key option_keys[] = {
    {"defer_out_of_hours_receipt", CH__YAML_BOOL, offsetof(ch_policy, defer_out_of_hours)},
    {"roll_calendar_days_to_working_day", CH__YAML_BOOL, offsetof(ch_policy, roll_calendar_days)},
};

static const ch__yaml_key reporting_keys[] = {
    {"publish", CH__YAML_CHOICE, offsetof(ch_policy, publish), "monthly, quarterly or yearly", NULL,
     NULL, .names = ch__policy_periods, .noun = "a period"},
    {"communication_support", CH__YAML_FLAGS, offsetof(ch_policy, communication_support),
     .names = ch__policy_support_names},
};

/* ---- contact ---- */

static const ch__yaml_key contact_keys[] = {
    {"team", CH__YAML_TEXT, offsetof(ch_policy, contact.team),
     "the team customers deal with, e.g. Customer Services",
     "the team customers deal with, e.g. Customer Services", NULL,
     .size = sizeof(((ch_policy *)0)->contact.team)},
    {"phone", CH__YAML_TEXT, offsetof(ch_policy, contact.phone),
     "the phone number customers call, e.g. \"0115 915 2222\"", NULL, NULL,
     .size = sizeof(((ch_policy *)0)->contact.phone)},
    {"email", CH__YAML_TEXT, offsetof(ch_policy, contact.email),
     "the address customers write to, e.g. feedback@example.gov.uk", NULL, NULL,
     .size = sizeof(((ch_policy *)0)->contact.email)},
};

/* After contact: was read (team is required): the policy has one. */
static int
contact_given(ch__yaml *y, yaml_node_t *m, const char *path, const ch__yaml_key *k, void *field)
{
    (void)y;
    (void)m;
    (void)path;
    (void)k;
    ((ch_policy *)field)->contact.set = 1;
    return 0;
}

/* ---- the root ---- */

#define HOURS_EXPECTED                                                                             \
    "a mapping of days to hours, e.g. monday-friday: \"09:00-17:00\", saturday: closed"
#define ORGANISATION_EXPECTED "a mapping with id, name, reference_prefix and kind"
#define CALENDAR_EXPECTED "england-and-wales, scotland or northern-ireland"
#define PROMISES_EXPECTED "a list of promises, each starting with - id:"

static const ch__yaml_key root_keys[] = {
    {"organisation", CH__YAML_MAP, 0, ORGANISATION_EXPECTED, ORGANISATION_EXPECTED, check_homes,
     .keys = organisation_keys, .nkeys = CH__COUNTOF(organisation_keys)},
    {"calendar", CH__YAML_SCALAR, offsetof(ch_policy, nation), CALENDAR_EXPECTED, CALENDAR_EXPECTED,
     parse_calendar},
    {"timezone", CH__YAML_TEXT, offsetof(ch_policy, timezone),
     "a tz database zone such as Europe/London", NULL, check_timezone,
     .size = sizeof(((ch_policy *)0)->timezone)},
    {"opening_hours", CH__YAML_CUSTOM, offsetof(ch_policy, hours), HOURS_EXPECTED, HOURS_EXPECTED,
     parse_hours},
    {"closures", CH__YAML_LIST, offsetof(ch_policy, closures),
     "a list of dates (2026-12-29) or ranges (2026-12-24 to 2026-12-31)", NULL, read_closure,
     .size = sizeof(ch_policy_closure), .count = offsetof(ch_policy, nclosures)},
    {"options", CH__YAML_MAP, 0, "a mapping of options to true or false", NULL, NULL,
     .keys = option_keys, .nkeys = CH__COUNTOF(option_keys)},
    {"roles", CH__YAML_CUSTOM, 0,
     "a mapping of role names to job titles, e.g. team_lead: Team Leader", NULL, parse_roles},
    {"promises", CH__YAML_LIST, offsetof(ch_policy, promises), PROMISES_EXPECTED, PROMISES_EXPECTED,
     ch__policy_read_promise, .size = sizeof(ch_policy_promise),
     .count = offsetof(ch_policy, npromises), .empty = "is empty (expected at least one promise)"},
    {"reporting", CH__YAML_MAP, 0, "a mapping with publish and communication_support", NULL, NULL,
     .keys = reporting_keys, .nkeys = CH__COUNTOF(reporting_keys)},
    {"sms_quiet_hours", CH__YAML_SCALAR, 0, "hours such as \"21:00-08:00\"", NULL,
     parse_quiet_hours},
    {"contact", CH__YAML_MAP, 0, "a mapping with team, phone and email", NULL, contact_given,
     .keys = contact_keys, .nkeys = CH__COUNTOF(contact_keys)},
    {"visit_requirements", CH__YAML_LIST, offsetof(ch_policy, visit_requirements),
     "a list of sentences, e.g. - Please keep pets secure in another room.", NULL, read_sentence,
     .size = sizeof(char *), .count = offsetof(ch_policy, nvisit_requirements),
     .empty = "is an empty list (expected a list of sentences, e.g. - Please keep pets secure "
              "in another room.)"},
};

static const char *const root_order[] = {"organisation",
                                         "calendar",
                                         "timezone",
                                         "opening_hours",
                                         "closures",
                                         "options",
                                         "sms_quiet_hours",
                                         "visit_requirements",
                                         "contact",
                                         "roles",
                                         "reporting",
                                         "promises",
                                         NULL};

int
ch__policy_load_root(ch__policy_ld *l, yaml_node_t *root)
{
    snprintf(l->p->timezone, sizeof(l->p->timezone), "Europe/London");
    int rc = ch__yaml_want_mapping(&l->y, root, "",
                                   "a policy: a mapping with organisation, calendar, "
                                   "opening_hours and promises");
    if (rc || (rc = ch__yaml_check_keys(&l->y, root, "", root_keys, CH__COUNTOF(root_keys))))
        return rc;
    if ((rc = ch__yaml_read_keys(&l->y, root, "", root_keys, CH__COUNTOF(root_keys), root_order,
                                 l->p)) ||
        (rc = ch__policy_check_acted(&l->y, root)))
        return rc;
    const yaml_node_t *tz = ch__yaml_get(&l->y, root, "timezone");
    if (tz) {
        l->p->timezone_line = ch__yaml_line(tz);
        l->p->timezone_column = ch__yaml_col(tz);
    }
    return ch__policy_route(l, root);
}
