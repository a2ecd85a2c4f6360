/*
 * The policy file outside its promises: organisation, calendar and zone,
 * opening hours, closures, options, text-message quiet hours, visit
 * requirements, roles and reporting (docs/policies.md has each key).
 *
 * The root and the plain mappings under it are key tables (yaml_walk.h): a
 * key's name, the field it fills and the words of its error live on one
 * line, and the walker checks the keys and reads them. The table order is the
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

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

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

static int
check_org_id(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_key *k, void *field)
{
    (void)k;
    const char *id = field;
    if (!ch__policy_is_word(id, 1, 0))
        return ch__yaml_fail(y, n, path,
                             "'%s' is not an id (expected lower-case letters, digits and '-', "
                             "e.g. nottingham-city-homes)",
                             id);
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

static int
parse_homes(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_key *k, void *field)
{
    const char *s;
    int rc = ch__yaml_scalar(y, n, path, k->expected, &s);
    if (rc)
        return rc;
    int64_t h = 0;
    const char *c = s;
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

static const ch__yaml_name org_kinds[] = {
    {"housing_landlord", CH_POLICY_KIND_HOUSING_LANDLORD},
    {"council", CH_POLICY_KIND_COUNCIL},
    {NULL, 0},
};

static const ch__yaml_key organisation_keys[] = {
    {.key = "id",
     .kind = CH__YAML_TEXT,
     .offset = offsetof(ch_policy, id),
     .size = sizeof(((ch_policy *)0)->id),
     .expected = "an id such as nottingham-city-homes",
     .missing = "the organisation's id, e.g. nottingham-city-homes",
     .fn = check_org_id},
    {.key = "name",
     .kind = CH__YAML_TEXT,
     .offset = offsetof(ch_policy, name),
     .size = sizeof(((ch_policy *)0)->name),
     .expected = "the organisation's name",
     .missing = "the organisation's name"},
    {.key = "reference_prefix",
     .kind = CH__YAML_TEXT,
     .offset = offsetof(ch_policy, reference_prefix),
     .size = sizeof(((ch_policy *)0)->reference_prefix),
     .expected = "2 to 8 capital letters, e.g. NCH",
     .missing = "2 to 8 capital letters, e.g. NCH",
     .fn = check_prefix},
    {.key = "kind",
     .kind = CH__YAML_CHOICE,
     .offset = offsetof(ch_policy, kind),
     .expected = "housing_landlord or council",
     .missing = "housing_landlord or council",
     .names = org_kinds,
     .noun = "a kind"},
    {.key = "homes",
     .kind = CH__YAML_CUSTOM,
     .offset = offsetof(ch_policy, homes),
     .expected = "a whole number of homes",
     .fn = parse_homes},
};

/* ---- calendar and zone ---- */

static int
parse_calendar(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_key *k, void *field)
{
    ch_nation *nation = field;
    const char *s;
    int rc = ch__yaml_scalar(y, n, path, k->expected, &s);
    if (rc)
        return rc;
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

static int
parse_hours(ch__yaml *y, yaml_node_t *m, const char *path, const ch__yaml_key *k, void *field)
{
    ch_opening_hours *h = field;
    for (int d = 0; d < 7; d++)
        h->open[d] = h->close[d] = -1;
    int rc = ch__yaml_want_mapping(y, m, path, k->expected);
    if (rc)
        return rc;
    int given[7] = {0};
    int any_open = 0;
    for (yaml_node_pair_t *pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
        yaml_node_t *kn = yaml_document_get_node(y->doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(y->doc, pr->value);
        const char *ks;
        if ((rc = ch__yaml_scalar(y, kn, path, "a day or a range of days", &ks)))
            return rc;
        char kp[CH__YAML_PATH_MAX];
        ch__yaml_join(kp, path, ks);
        const char *dash = strchr(ks, '-');
        int a = day_index(ks, dash ? (size_t)(dash - ks) : strlen(ks));
        int b = dash ? day_index(dash + 1, strlen(dash + 1)) : a;
        if (a < 0 || b < 0 || b < a)
            return ch__yaml_fail(y, kn, kp,
                                 "'%s' is not a day or range of days (expected e.g. monday, "
                                 "monday-friday, saturday-sunday)",
                                 ks);
        const char *vs;
        if ((rc = ch__yaml_scalar(y, v, kp, "hours such as \"09:00-17:00\", or closed", &vs)))
            return rc;
        int open = -1, close = -1;
        if (strcmp(vs, "closed") != 0) {
            if (parse_span(vs, &open, &close) || close <= open)
                return ch__yaml_fail(y, v, kp,
                                     "'%s' is not opening hours (expected e.g. \"09:00-17:00\", "
                                     "or closed)",
                                     vs);
            any_open = 1;
        }
        for (int d = a; d <= b; d++) {
            if (given[d])
                return ch__yaml_fail(y, kn, kp, "%s is given twice", ch__policy_day_title(d));
            given[d] = 1;
            h->open[d] = open;
            h->close[d] = close;
        }
    }
    if (!any_open)
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

static int
parse_closure(ch__yaml *y, yaml_node_t *v, const char *path, ch_policy_closure *c)
{
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
parse_closures(ch__yaml *y, yaml_node_t *s, const char *path, const ch__yaml_key *k, void *field)
{
    ch_policy *p = field;
    int rc = ch__yaml_want_sequence(y, s, path, k->expected);
    if (rc)
        return rc;
    size_t n = ch__yaml_items(s);
    if (n == 0)
        return 0;
    if (!(p->closures = calloc(n, sizeof(*p->closures))))
        return CH_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char ip[CH__YAML_PATH_MAX];
        yaml_node_t *v = ch__yaml_item(y, s, path, i, ip);
        ch_policy_closure c;
        if ((rc = parse_closure(y, v, ip, &c)))
            return rc;
        p->closures[p->nclosures++] = c;
    }
    return 0;
}

static int
parse_quiet_hours(ch__yaml *y, yaml_node_t *v, const char *path, const ch__yaml_key *k, void *field)
{
    ch_policy *p = field;
    const char *s;
    int rc = ch__yaml_scalar(y, v, path, k->expected, &s);
    if (rc)
        return rc;
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

static int
parse_visit_requirements(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_key *k,
                         void *field)
{
    ch_policy *p = field;
    int rc = ch__yaml_want_sequence(y, n, path, k->expected);
    if (rc)
        return rc;
    size_t count = ch__yaml_items(n);
    if (count == 0)
        return ch__yaml_fail(y, n, path, "is an empty list (expected %s)", k->expected);
    if (!(p->visit_requirements = calloc(count, sizeof(char *))))
        return CH_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        char ip[CH__YAML_PATH_MAX];
        yaml_node_t *v = ch__yaml_item(y, n, path, i, ip);
        const char *s;
        if ((rc = ch__yaml_scalar(y, v, ip, "a sentence", &s)))
            return rc;
        if (strchr(s, '\n'))
            return ch__yaml_fail(y, v, ip, "is more than one line (expected one sentence)");
        if (!(p->visit_requirements[i] = strdup(s)))
            return CH_ENOMEM;
        p->nvisit_requirements = i + 1;
    }
    return 0;
}

/* ---- roles ---- */

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
    for (size_t i = 0; i < n; i++) {
        yaml_node_pair_t *pr = &m->data.mapping.pairs.start[i];
        yaml_node_t *kn = yaml_document_get_node(y->doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(y->doc, pr->value);
        const char *ks;
        if ((rc = ch__yaml_scalar(y, kn, path, "a role name", &ks)))
            return rc;
        char kp[CH__YAML_PATH_MAX];
        ch__yaml_join(kp, path, ks);
        if (!ch__policy_is_word(ks, 0, 1) || !islower((unsigned char)ks[0]) ||
            strlen(ks) >= sizeof(p->roles[0].key))
            return ch__yaml_fail(y, kn, kp,
                                 "'%s' is not a role name (expected lower-case letters, digits "
                                 "and '_', e.g. team_lead)",
                                 ks);
        if (ch_policy_role_find(p, ks) >= 0)
            return ch__yaml_fail(y, kn, kp, "given twice");
        ch_policy_role *r = &p->roles[p->nroles];
        snprintf(r->key, sizeof(r->key), "%s", ks);
        if ((rc = ch__yaml_copy_text(y, v, kp, "the role's job title", r->title, sizeof(r->title))))
            return rc;
        p->nroles++;
    }
    return 0;
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
    {.key = "defer_out_of_hours_receipt",
     .kind = CH__YAML_BOOL,
     .offset = offsetof(ch_policy, defer_out_of_hours)},
    {.key = "roll_calendar_days_to_working_day",
     .kind = CH__YAML_BOOL,
     .offset = offsetof(ch_policy, roll_calendar_days)},
};

static const ch__yaml_name periods[] = {
    {"monthly", CH_POLICY_PUBLISH_MONTHLY},
    {"quarterly", CH_POLICY_PUBLISH_QUARTERLY},
    {"yearly", CH_POLICY_PUBLISH_YEARLY},
    {NULL, 0},
};

static const ch__yaml_name support_names[] = {
    {"phone_interpreting", CH_POLICY_SUPPORT_PHONE_INTERPRETING},
    {"face_to_face_interpreting", CH_POLICY_SUPPORT_FACE_TO_FACE_INTERPRETING},
    {"bsl", CH_POLICY_SUPPORT_BSL},
    {"audio", CH_POLICY_SUPPORT_AUDIO},
    {"large_print", CH_POLICY_SUPPORT_LARGE_PRINT},
    {"braille", CH_POLICY_SUPPORT_BRAILLE},
    {NULL, 0},
};

static const ch__yaml_key reporting_keys[] = {
    {.key = "publish",
     .kind = CH__YAML_CHOICE,
     .offset = offsetof(ch_policy, publish),
     .expected = "monthly, quarterly or yearly",
     .names = periods,
     .noun = "a period"},
    {.key = "communication_support",
     .kind = CH__YAML_FLAGS,
     .offset = offsetof(ch_policy, communication_support),
     .names = support_names},
};

/* ---- the root ---- */

static const ch__yaml_key root_keys[] = {
    {.key = "organisation",
     .kind = CH__YAML_MAP,
     .expected = "a mapping with id, name, reference_prefix and kind",
     .missing = "a mapping with id, name, reference_prefix and kind",
     .keys = organisation_keys,
     .nkeys = COUNT(organisation_keys),
     .fn = check_homes},
    {.key = "calendar",
     .kind = CH__YAML_CUSTOM,
     .offset = offsetof(ch_policy, nation),
     .expected = "england-and-wales, scotland or northern-ireland",
     .missing = "england-and-wales, scotland or northern-ireland",
     .fn = parse_calendar},
    {.key = "timezone",
     .kind = CH__YAML_TEXT,
     .offset = offsetof(ch_policy, timezone),
     .size = sizeof(((ch_policy *)0)->timezone),
     .expected = "a tz database zone such as Europe/London",
     .fn = check_timezone},
    {.key = "opening_hours",
     .kind = CH__YAML_CUSTOM,
     .offset = offsetof(ch_policy, hours),
     .expected = "a mapping of days to hours, e.g. monday-friday: \"09:00-17:00\", saturday: "
                 "closed",
     .missing = "a mapping of days to hours, e.g. monday-friday: \"09:00-17:00\", saturday: "
                "closed",
     .fn = parse_hours},
    {.key = "closures",
     .kind = CH__YAML_CUSTOM,
     .expected = "a list of dates (2026-12-29) or ranges (2026-12-24 to 2026-12-31)",
     .fn = parse_closures},
    {.key = "options",
     .kind = CH__YAML_MAP,
     .expected = "a mapping of options to true or false",
     .keys = option_keys,
     .nkeys = COUNT(option_keys)},
    {.key = "roles",
     .kind = CH__YAML_CUSTOM,
     .expected = "a mapping of role names to job titles, e.g. team_lead: Team Leader",
     .fn = parse_roles},
    {.key = "promises",
     .kind = CH__YAML_CUSTOM,
     .expected = "a list of promises, each starting with - id:",
     .missing = "a list of promises, each starting with - id:",
     .fn = ch__policy_promises},
    {.key = "reporting",
     .kind = CH__YAML_MAP,
     .expected = "a mapping with publish and communication_support",
     .keys = reporting_keys,
     .nkeys = COUNT(reporting_keys)},
    {.key = "sms_quiet_hours",
     .kind = CH__YAML_CUSTOM,
     .expected = "hours such as \"21:00-08:00\"",
     .fn = parse_quiet_hours},
    {.key = "visit_requirements",
     .kind = CH__YAML_CUSTOM,
     .expected = "a list of sentences, e.g. - Please keep pets secure in another room.",
     .fn = parse_visit_requirements},
};

static const char *const root_order[] = {
    "organisation",    "calendar",           "timezone", "opening_hours", "closures", "options",
    "sms_quiet_hours", "visit_requirements", "roles",    "reporting",     "promises", NULL};

int
ch__policy_load_root(ch__policy_ld *l, yaml_node_t *root)
{
    snprintf(l->p->timezone, sizeof(l->p->timezone), "Europe/London");
    int rc = ch__yaml_want_mapping(&l->y, root, "",
                                   "a policy: a mapping with organisation, calendar, "
                                   "opening_hours and promises");
    if (rc || (rc = ch__yaml_check_keys(&l->y, root, "", root_keys, COUNT(root_keys))))
        return rc;
    return ch__yaml_read_keys(&l->y, root, "", root_keys, COUNT(root_keys), root_order, l->p);
}
