/*
 * The policy loader (see policy.h and docs/policies.md).
 *
 * libyaml's document API gives a tree whose every node carries the line and
 * column it started at, so the loader walks the tree once, in the order of
 * the format rather than the order of the file, and every error can point
 * at the exact scalar that is wrong. Each mapping is checked against the
 * keys it may hold before anything is read from it, which is what makes a
 * misspelt key an error instead of a silently missing promise.
 *
 * The checks that need the whole file (roles referenced by warnings, the
 * same channel and case type promised twice) run after each piece has been
 * read; the completeness rule (every channel a promise lists has its clocks)
 * is checked per promise, where the error can name the missing key.
 */
#include "charter/policy.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "charter/errors.h"

#define MAX_FILE_BYTES (1024 * 1024)
#define PATH_MAX_LEN 160

/* ---- names ---- */

static const struct {
    const char *name, *title;
} channel_names[CH_POLICY_CHANNEL_COUNT] = {
    {"any", "Any channel"},
    {"phone", "Phone"},
    {"voicemail", "Voicemail"},
    {"email", "Email"},
    {"letter", "Letter"},
    {"online_form", "Online form"},
    {"social", "Social media message"},
    {"visit", "Visit"},
    {"sms", "Text message"},
};

static const struct {
    const char *name, *title;
} case_names[CH_POLICY_CASE_COUNT] = {
    {"any", "Any case"},
    {"enquiry", "Enquiry"},
    {"service_request", "Service request"},
    {"complaint_stage_1", "Complaint, stage 1"},
    {"complaint_stage_2", "Complaint, stage 2"},
    {"foi", "Freedom of Information request"},
    {"eir", "Environmental Information request"},
    {"sar", "Subject access request"},
    {"mp_enquiry", "MP or councillor enquiry"},
    {"legal_action", "Legal action"},
    {"restriction_review", "Home-visit restriction"},
    {"appointment", "Appointment"},
    {"home_visit", "Home visit"},
    {"contact_group", "Contact-group message"},
};

int
ch_policy_channel_parse(const char *name, ch_policy_channel *out)
{
    for (int i = 0; i < CH_POLICY_CHANNEL_COUNT; i++)
        if (name && strcmp(name, channel_names[i].name) == 0) {
            *out = (ch_policy_channel)i;
            return 0;
        }
    return CH_EINVAL;
}

const char *
ch_policy_channel_name(ch_policy_channel c)
{
    return (unsigned)c < CH_POLICY_CHANNEL_COUNT ? channel_names[c].name : "unknown";
}

const char *
ch_policy_channel_title(ch_policy_channel c)
{
    return (unsigned)c < CH_POLICY_CHANNEL_COUNT ? channel_names[c].title : "Unknown channel";
}

int
ch_policy_case_type_parse(const char *name, ch_policy_case_type *out)
{
    for (int i = 0; i < CH_POLICY_CASE_COUNT; i++)
        if (name && strcmp(name, case_names[i].name) == 0) {
            *out = (ch_policy_case_type)i;
            return 0;
        }
    return CH_EINVAL;
}

const char *
ch_policy_case_type_name(ch_policy_case_type t)
{
    return (unsigned)t < CH_POLICY_CASE_COUNT ? case_names[t].name : "unknown";
}

const char *
ch_policy_case_type_title(ch_policy_case_type t)
{
    return (unsigned)t < CH_POLICY_CASE_COUNT ? case_names[t].title : "Unknown case type";
}

typedef struct {
    const char *name;
    unsigned bit;
} flag_name;

static const flag_name hold_names[] = {
    {"reason", CH_POLICY_HOLD_REASON},
    {"next_steps", CH_POLICY_HOLD_NEXT_STEPS},
    {"target_date", CH_POLICY_HOLD_TARGET_DATE},
    {"apology", CH_POLICY_HOLD_APOLOGY},
    {"named_contact", CH_POLICY_HOLD_NAMED_CONTACT},
    {NULL, 0},
};

static const flag_name measure_names[] = {
    {"first_contact_resolution", CH_POLICY_MEASURE_FIRST_CONTACT_RESOLUTION},
    {"appointments_kept", CH_POLICY_MEASURE_APPOINTMENTS_KEPT},
    {"satisfaction", CH_POLICY_MEASURE_SATISFACTION},
    {"communication_support", CH_POLICY_MEASURE_COMMUNICATION_SUPPORT},
    {NULL, 0},
};

static const flag_name support_names[] = {
    {"phone_interpreting", CH_POLICY_SUPPORT_PHONE_INTERPRETING},
    {"face_to_face_interpreting", CH_POLICY_SUPPORT_FACE_TO_FACE_INTERPRETING},
    {"bsl", CH_POLICY_SUPPORT_BSL},
    {"audio", CH_POLICY_SUPPORT_AUDIO},
    {"large_print", CH_POLICY_SUPPORT_LARGE_PRINT},
    {"braille", CH_POLICY_SUPPORT_BRAILLE},
    {NULL, 0},
};

static const char *const day_names[7] = {"monday", "tuesday",  "wednesday", "thursday",
                                         "friday", "saturday", "sunday"};
static const char *const day_titles[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                          "Friday", "Saturday", "Sunday"};

/* ---- the walker ---- */

typedef struct {
    yaml_document_t *doc;
    const char *name;
    char *err;
    size_t errsz;
    ch_policy *p;
} ld;

#define NODE(l, i) yaml_document_get_node((l)->doc, (i))

static int
line_of(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

static int
col_of(const yaml_node_t *n)
{
    return (int)n->start_mark.column + 1;
}

__attribute__((format(printf, 4, 5))) static int
fail(ld *l, const yaml_node_t *n, const char *path, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char where[300];
    if (n)
        snprintf(where, sizeof(where), "%s:%d:%d", l->name, line_of(n), col_of(n));
    else
        snprintf(where, sizeof(where), "%s", l->name);
    if (path && *path)
        snprintf(l->err, l->errsz, "%s: %s: %s", where, path, msg);
    else
        snprintf(l->err, l->errsz, "%s: %s", where, msg);
    return CH_EINVAL;
}

/* out = path + "." + key, or key at the top; truncated to PATH_MAX_LEN. */
static void
join(char *out, const char *path, const char *key)
{
    size_t n = 0;
    for (const char *c = path; c && *c && n < PATH_MAX_LEN - 1; c++)
        out[n++] = *c;
    if (n && n < PATH_MAX_LEN - 1)
        out[n++] = '.';
    for (const char *c = key; *c && n < PATH_MAX_LEN - 1; c++)
        out[n++] = *c;
    out[n] = '\0';
}

static void
join_index(char *out, const char *path, size_t i)
{
    char idx[32];
    snprintf(idx, sizeof(idx), "[%zu]", i);
    size_t n = 0;
    for (const char *c = path; *c && n < PATH_MAX_LEN - 1; c++)
        out[n++] = *c;
    for (const char *c = idx; *c && n < PATH_MAX_LEN - 1; c++)
        out[n++] = *c;
    out[n] = '\0';
}

static const char *
kind_of(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a mapping (key: value lines)";
    default:
        return "a single value";
    }
}

static int
want_mapping(ld *l, yaml_node_t *n, const char *path, const char *expected)
{
    if (n->type != YAML_MAPPING_NODE)
        return fail(l, n, path, "expected %s, found %s", expected, kind_of(n));
    return 0;
}

static int
want_sequence(ld *l, yaml_node_t *n, const char *path, const char *expected)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(l, n, path, "expected %s, found %s", expected, kind_of(n));
    return 0;
}

/* A non-empty scalar's text. */
static int
scalar(ld *l, yaml_node_t *n, const char *path, const char *expected, const char **out)
{
    if (n->type != YAML_SCALAR_NODE)
        return fail(l, n, path, "expected %s, found %s", expected, kind_of(n));
    const char *s = (const char *)n->data.scalar.value;
    if (!*s || strcmp(s, "~") == 0 ||
        (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && strcmp(s, "null") == 0))
        return fail(l, n, path, "is empty (expected %s)", expected);
    *out = s;
    return 0;
}

/* Checks every key of a mapping against `keys` (NULL-terminated) and that
 * none is given twice. */
static int
check_keys(ld *l, yaml_node_t *map, const char *path, const char *const *keys)
{
    yaml_node_pair_t *start = map->data.mapping.pairs.start;
    yaml_node_pair_t *top = map->data.mapping.pairs.top;
    for (yaml_node_pair_t *pr = start; pr < top; pr++) {
        yaml_node_t *k = NODE(l, pr->key);
        if (k->type != YAML_SCALAR_NODE)
            return fail(l, k, path, "a key must be a plain word, not %s", kind_of(k));
        const char *ks = (const char *)k->data.scalar.value;
        char kp[PATH_MAX_LEN];
        join(kp, path, ks);
        int known = 0;
        for (const char *const *kk = keys; *kk; kk++)
            known |= strcmp(*kk, ks) == 0;
        if (!known) {
            char list[512] = "";
            size_t used = 0;
            for (const char *const *kk = keys; *kk; kk++) {
                int w =
                    snprintf(list + used, sizeof(list) - used, "%s%s", kk == keys ? "" : ", ", *kk);
                if (w < 0 || (size_t)w >= sizeof(list) - used)
                    break;
                used += (size_t)w;
            }
            return fail(l, k, kp, "unknown key (expected one of: %s)", list);
        }
        for (yaml_node_pair_t *q = start; q < pr; q++) {
            yaml_node_t *qk = NODE(l, q->key);
            if (strcmp((const char *)qk->data.scalar.value, ks) == 0)
                return fail(l, k, kp, "given twice (first on line %d)", line_of(qk));
        }
    }
    return 0;
}

static yaml_node_t *
get(ld *l, yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = NODE(l, pr->key);
        if (k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
            return NODE(l, pr->value);
    }
    return NULL;
}

static yaml_node_t *
key_node(ld *l, yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = NODE(l, pr->key);
        if (k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
            return k;
    }
    return NULL;
}

static int
missing(ld *l, yaml_node_t *map, const char *path, const char *key, const char *expected)
{
    char kp[PATH_MAX_LEN];
    join(kp, path, key);
    return fail(l, map, kp, "missing (expected %s)", expected);
}

static int
copy_text(ld *l, yaml_node_t *n, const char *path, const char *expected, char *dst, size_t dstsz)
{
    const char *s;
    int rc = scalar(l, n, path, expected, &s);
    if (rc)
        return rc;
    if (strlen(s) >= dstsz)
        return fail(l, n, path, "'%.40s...' is too long (at most %zu characters)", s, dstsz - 1);
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

static int
parse_bool(ld *l, yaml_node_t *n, const char *path, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", NULL};
    static const char *const no[] = {"false", "no", "off", NULL};
    const char *s;
    int rc = scalar(l, n, path, "true or false", &s);
    if (rc)
        return rc;
    for (int i = 0; yes[i]; i++)
        if (strcmp(s, yes[i]) == 0)
            return *out = 1, 0;
    for (int i = 0; no[i]; i++)
        if (strcmp(s, no[i]) == 0)
            return *out = 0, 0;
    return fail(l, n, path, "'%s' is not true or false", s);
}

static int
is_word(const char *s, int allow_dash, int allow_underscore)
{
    if (!*s || !(islower((unsigned char)*s) || isdigit((unsigned char)*s)))
        return 0;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) ||
              (allow_dash && *s == '-') || (allow_underscore && *s == '_')))
            return 0;
    return 1;
}

/* A scalar or a list of scalars, each one of `names`, OR-ed into *out. */
static int
parse_flags(ld *l, yaml_node_t *n, const char *path, const flag_name *names, unsigned *out)
{
    char expected[512] = "";
    size_t used = 0;
    for (const flag_name *f = names; f->name; f++) {
        int w = snprintf(expected + used, sizeof(expected) - used, "%s%s", f == names ? "" : ", ",
                         f->name);
        if (w < 0 || (size_t)w >= sizeof(expected) - used)
            break;
        used += (size_t)w;
    }
    yaml_node_item_t *it = NULL, *top = NULL;
    int one = n->type == YAML_SCALAR_NODE;
    if (!one) {
        int rc = want_sequence(l, n, path, "a name or a list of names");
        if (rc)
            return rc;
        it = n->data.sequence.items.start;
        top = n->data.sequence.items.top;
        if (it == top)
            return fail(l, n, path, "is an empty list (expected one or more of: %s)", expected);
    }
    *out = 0;
    for (size_t i = 0; one ? i < 1 : it + i < top; i++) {
        yaml_node_t *v = one ? n : NODE(l, it[i]);
        char ip[PATH_MAX_LEN];
        if (one)
            snprintf(ip, sizeof(ip), "%s", path);
        else
            join_index(ip, path, i);
        const char *s;
        int rc = scalar(l, v, ip, "a name", &s);
        if (rc)
            return rc;
        const flag_name *f = names;
        while (f->name && strcmp(f->name, s) != 0)
            f++;
        if (!f->name)
            return fail(l, v, ip, "'%s' is not known (expected one of: %s)", s, expected);
        *out |= f->bit;
    }
    return 0;
}

/* ---- clocks ---- */

enum {
    K_ELAPSED = 1 << CH_CLOCK_ELAPSED,
    K_DAYS = 1 << CH_CLOCK_DAYS,
    K_WORKING = 1 << CH_CLOCK_WORKING_DAYS,
    K_NEXT = 1 << CH_CLOCK_NEXT_WORKING_DAY,
    K_MONTHS = 1 << CH_CLOCK_MONTHS,
    K_ANY = K_ELAPSED | K_DAYS | K_WORKING | K_NEXT | K_MONTHS,
};

#define CLOCK_EXAMPLES "e.g. '5 working days', '24 hours', 'end of next working day', '14 days'"

static int
parse_clock(ld *l, yaml_node_t *n, const char *path, unsigned kinds, int presets,
            const char *expected, ch_policy_clock *out)
{
    const char *s;
    int rc = scalar(l, n, path, expected, &s);
    if (rc)
        return rc;
    char why[512];
    ch_clock c;
    if (ch_clock_parse(s, &c, why, sizeof(why)) != 0)
        return fail(l, n, path, "'%s' is not a clock (expected %s)", s, expected);
    if (c.preset[0] && !presets)
        return fail(l, n, path, "'%s' is a statutory preset, not allowed here (expected %s)", s,
                    expected);
    if (!(kinds & (1u << c.kind)))
        return fail(l, n, path, "'%s' is not allowed here (expected %s)", s, expected);
    if (c.n <= 0 && c.kind != CH_CLOCK_NEXT_WORKING_DAY)
        return fail(l, n, path, "'%s' is no time at all (expected %s)", s, expected);
    if (strlen(s) >= sizeof(out->text))
        return fail(l, n, path, "'%.40s...' is too long", s);
    memset(out, 0, sizeof(*out));
    out->set = 1;
    out->clock = c;
    snprintf(out->text, sizeof(out->text), "%s", s);
    out->line = line_of(n);
    out->column = col_of(n);
    if (l->p->roll_calendar_days && !c.preset[0] &&
        (c.kind == CH_CLOCK_DAYS || c.kind == CH_CLOCK_MONTHS))
        out->clock.roll_forward = 1;
    return 0;
}

/* A clock filled in by a preset: no line of its own. */
static void
preset_clock(const char *text, const char *preset, ch_clock_anchor anchor, ch_policy_clock *out)
{
    char why[256];
    memset(out, 0, sizeof(*out));
    if (ch_clock_parse(text, &out->clock, why, sizeof(why)) != 0)
        abort(); /* our own constant */
    out->set = 1;
    out->clock.anchor = anchor;
    snprintf(out->clock.preset, sizeof(out->clock.preset), "%s", preset);
    snprintf(out->text, sizeof(out->text), "%s", text);
}

/* Is `a` at least as long as `b`? Only answerable for the same kind. */
static int
clock_not_shorter(const ch_clock *a, const ch_clock *b)
{
    if (a->kind == b->kind)
        return a->n >= b->n;
    if (b->kind == CH_CLOCK_NEXT_WORKING_DAY)
        return a->kind == CH_CLOCK_WORKING_DAYS && a->n >= 1;
    return 0;
}

/* ---- organisation, calendar, hours, closures, options, roles ---- */

static int
parse_organisation(ld *l, yaml_node_t *root)
{
    static const char *const keys[] = {"id", "name", "reference_prefix", "kind", "homes", NULL};
    const char *path = "organisation";
    yaml_node_t *o = get(l, root, path);
    if (!o)
        return missing(l, root, "", path, "a mapping with id, name, reference_prefix and kind");
    int rc = want_mapping(l, o, path, "a mapping with id, name, reference_prefix and kind");
    if (rc || (rc = check_keys(l, o, path, keys)))
        return rc;
    ch_policy *p = l->p;
    char kp[PATH_MAX_LEN];
    yaml_node_t *v;

    join(kp, path, "id");
    if (!(v = get(l, o, "id")))
        return missing(l, o, path, "id", "the organisation's id, e.g. nottingham-city-homes");
    if ((rc = copy_text(l, v, kp, "an id such as nottingham-city-homes", p->id, sizeof(p->id))))
        return rc;
    if (!is_word(p->id, 1, 0))
        return fail(l, v, kp,
                    "'%s' is not an id (expected lower-case letters, digits and '-', e.g. "
                    "nottingham-city-homes)",
                    p->id);

    join(kp, path, "name");
    if (!(v = get(l, o, "name")))
        return missing(l, o, path, "name", "the organisation's name");
    if ((rc = copy_text(l, v, kp, "the organisation's name", p->name, sizeof(p->name))))
        return rc;

    join(kp, path, "reference_prefix");
    if (!(v = get(l, o, "reference_prefix")))
        return missing(l, o, path, "reference_prefix", "2 to 8 capital letters, e.g. NCH");
    if ((rc = copy_text(l, v, kp, "2 to 8 capital letters, e.g. NCH", p->reference_prefix,
                        sizeof(p->reference_prefix))))
        return rc;
    size_t plen = strlen(p->reference_prefix);
    int ok = plen >= 2 && plen <= 8;
    for (size_t i = 0; i < plen; i++)
        ok &= isupper((unsigned char)p->reference_prefix[i]) ||
              (i > 0 && isdigit((unsigned char)p->reference_prefix[i]));
    if (!ok)
        return fail(l, v, kp,
                    "'%s' is not a reference prefix (expected 2 to 8 capital letters, "
                    "e.g. NCH)",
                    p->reference_prefix);

    join(kp, path, "kind");
    if (!(v = get(l, o, "kind")))
        return missing(l, o, path, "kind", "housing_landlord or council");
    const char *s;
    if ((rc = scalar(l, v, kp, "housing_landlord or council", &s)))
        return rc;
    if (strcmp(s, "housing_landlord") == 0)
        p->kind = CH_POLICY_KIND_HOUSING_LANDLORD;
    else if (strcmp(s, "council") == 0)
        p->kind = CH_POLICY_KIND_COUNCIL;
    else
        return fail(l, v, kp, "'%s' is not a kind (expected housing_landlord or council)", s);

    join(kp, path, "homes");
    if ((v = get(l, o, "homes"))) {
        if ((rc = scalar(l, v, kp, "a whole number of homes", &s)))
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
            return fail(l, v, kp, "'%s' is not a number of homes (expected e.g. 25000)", s);
        p->homes = h;
    } else if (p->kind == CH_POLICY_KIND_HOUSING_LANDLORD) {
        return missing(l, o, path, "homes",
                       "the number of homes, for complaints per 1,000 homes (housing landlords)");
    }
    return 0;
}

static int
parse_calendar_tz(ld *l, yaml_node_t *root)
{
    ch_policy *p = l->p;
    const char *expected = "england-and-wales, scotland or northern-ireland";
    yaml_node_t *v = get(l, root, "calendar");
    if (!v)
        return missing(l, root, "", "calendar", expected);
    const char *s;
    int rc = scalar(l, v, "calendar", expected, &s);
    if (rc)
        return rc;
    if (ch_nation_parse(s, &p->nation) != 0 || p->nation == CH_NATION_UK_ANY)
        return fail(l, v, "calendar", "'%s' is not a calendar (expected %s)", s, expected);

    snprintf(p->timezone, sizeof(p->timezone), "Europe/London");
    if ((v = get(l, root, "timezone"))) {
        const char *tzexp = "a tz database zone such as Europe/London";
        if ((rc = copy_text(l, v, "timezone", tzexp, p->timezone, sizeof(p->timezone))))
            return rc;
        int ok = p->timezone[0] != '/' && strstr(p->timezone, "..") == NULL;
        for (const char *c = p->timezone; *c; c++)
            ok &= isalnum((unsigned char)*c) || strchr("/_+-", *c) != NULL;
        if (!ok)
            return fail(l, v, "timezone", "'%s' is not a zone name (expected %s)", p->timezone,
                        tzexp);
    }
    return 0;
}

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

static int
day_index(const char *s, size_t len)
{
    for (int d = 0; d < 7; d++)
        if (strlen(day_names[d]) == len && strncmp(day_names[d], s, len) == 0)
            return d;
    return -1;
}

static int
parse_hours(ld *l, yaml_node_t *root)
{
    const char *path = "opening_hours";
    const char *expected =
        "a mapping of days to hours, e.g. monday-friday: \"09:00-17:00\", saturday: closed";
    ch_opening_hours *h = &l->p->hours;
    for (int d = 0; d < 7; d++)
        h->open[d] = h->close[d] = -1;
    yaml_node_t *m = get(l, root, path);
    if (!m)
        return missing(l, root, "", path, expected);
    int rc = want_mapping(l, m, path, expected);
    if (rc)
        return rc;
    int given[7] = {0};
    int any_open = 0;
    for (yaml_node_pair_t *pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = NODE(l, pr->key), *v = NODE(l, pr->value);
        const char *ks;
        if ((rc = scalar(l, k, path, "a day or a range of days", &ks)))
            return rc;
        char kp[PATH_MAX_LEN];
        join(kp, path, ks);
        const char *dash = strchr(ks, '-');
        int a = day_index(ks, dash ? (size_t)(dash - ks) : strlen(ks));
        int b = dash ? day_index(dash + 1, strlen(dash + 1)) : a;
        if (a < 0 || b < 0 || b < a)
            return fail(l, k, kp,
                        "'%s' is not a day or range of days (expected e.g. monday, "
                        "monday-friday, saturday-sunday)",
                        ks);
        const char *vs;
        if ((rc = scalar(l, v, kp, "hours such as \"09:00-17:00\", or closed", &vs)))
            return rc;
        int open = -1, close = -1;
        if (strcmp(vs, "closed") != 0) {
            if (strlen(vs) != 11 || vs[5] != '-' || parse_hhmm(vs, &open) ||
                parse_hhmm(vs + 6, &close) || close <= open)
                return fail(l, v, kp,
                            "'%s' is not opening hours (expected e.g. \"09:00-17:00\", or "
                            "closed)",
                            vs);
            any_open = 1;
        }
        for (int d = a; d <= b; d++) {
            if (given[d])
                return fail(l, k, kp, "%s is given twice", day_titles[d]);
            given[d] = 1;
            h->open[d] = open;
            h->close[d] = close;
        }
    }
    if (!any_open)
        return fail(l, m, path,
                    "the organisation is never open (expected at least one day with "
                    "hours such as \"09:00-17:00\")");
    return 0;
}

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
parse_closures(ld *l, yaml_node_t *root)
{
    const char *path = "closures";
    const char *expected = "a list of dates (2026-12-29) or ranges (2026-12-24 to 2026-12-31)";
    yaml_node_t *s = get(l, root, path);
    if (!s)
        return 0;
    int rc = want_sequence(l, s, path, expected);
    if (rc)
        return rc;
    size_t n = (size_t)(s->data.sequence.items.top - s->data.sequence.items.start);
    if (n == 0)
        return 0;
    ch_policy *p = l->p;
    if (!(p->closures = calloc(n, sizeof(*p->closures))))
        return CH_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *v = NODE(l, s->data.sequence.items.start[i]);
        char ip[PATH_MAX_LEN];
        join_index(ip, path, i);
        const char *t;
        if ((rc =
                 scalar(l, v, ip, "a date (2026-12-29) or a range (2026-12-24 to 2026-12-31)", &t)))
            return rc;
        const char *to = strstr(t, " to ");
        ch_policy_closure c;
        int bad = to ? parse_date(t, (size_t)(to - t), &c.first) ||
                           parse_date(to + 4, strlen(to + 4), &c.last)
                     : parse_date(t, strlen(t), &c.first);
        if (!to)
            c.last = c.first;
        if (bad)
            return fail(l, v, ip,
                        "'%s' is not a date or range of dates (expected YYYY-MM-DD or "
                        "\"YYYY-MM-DD to YYYY-MM-DD\", years %d-%d)",
                        t, CH_CAL_FIRST_YEAR, CH_CAL_LAST_YEAR);
        if (c.last < c.first)
            return fail(l, v, ip, "'%s' ends before it starts", t);
        if (c.last - c.first > 366)
            return fail(l, v, ip,
                        "'%s' is longer than a year (expected a closure of days or "
                        "weeks)",
                        t);
        p->closures[p->nclosures++] = c;
    }
    return 0;
}

static int
parse_options(ld *l, yaml_node_t *root)
{
    static const char *const keys[] = {"defer_out_of_hours_receipt",
                                       "roll_calendar_days_to_working_day", NULL};
    yaml_node_t *o = get(l, root, "options");
    if (!o)
        return 0;
    int rc = want_mapping(l, o, "options", "a mapping of options to true or false");
    if (rc || (rc = check_keys(l, o, "options", keys)))
        return rc;
    yaml_node_t *v;
    if ((v = get(l, o, keys[0])) &&
        (rc = parse_bool(l, v, "options.defer_out_of_hours_receipt", &l->p->defer_out_of_hours)))
        return rc;
    if ((v = get(l, o, keys[1])) &&
        (rc = parse_bool(l, v, "options.roll_calendar_days_to_working_day",
                         &l->p->roll_calendar_days)))
        return rc;
    return 0;
}

static int
parse_quiet_hours(ld *l, yaml_node_t *root)
{
    const char *path = "sms_quiet_hours";
    yaml_node_t *v = get(l, root, path);
    if (!v)
        return 0;
    const char *s;
    int rc = scalar(l, v, path, "hours such as \"21:00-08:00\"", &s);
    if (rc)
        return rc;
    int from, until;
    if (strlen(s) != 11 || s[5] != '-' || parse_hhmm(s, &from) || parse_hhmm(s + 6, &until) ||
        from == until || from == 24 * 60 || until == 24 * 60)
        return fail(l, v, path,
                    "'%s' is not quiet hours (expected e.g. \"21:00-08:00\": no text messages "
                    "from 21:00 until 08:00)",
                    s);
    l->p->sms_quiet.set = 1;
    l->p->sms_quiet.from = from;
    l->p->sms_quiet.until = until;
    return 0;
}

static int
parse_visit_requirements(ld *l, yaml_node_t *root)
{
    const char *path = "visit_requirements";
    const char *expected = "a list of sentences, e.g. - Please keep pets secure in another room.";
    yaml_node_t *n = get(l, root, path);
    if (!n)
        return 0;
    int rc = want_sequence(l, n, path, expected);
    if (rc)
        return rc;
    yaml_node_item_t *it = n->data.sequence.items.start, *top = n->data.sequence.items.top;
    if (it == top)
        return fail(l, n, path, "is an empty list (expected %s)", expected);
    size_t count = (size_t)(top - it);
    if (!(l->p->visit_requirements = calloc(count, sizeof(char *))))
        return CH_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *v = NODE(l, it[i]);
        char ip[PATH_MAX_LEN];
        join_index(ip, path, i);
        const char *s;
        if ((rc = scalar(l, v, ip, "a sentence", &s)))
            return rc;
        if (strchr(s, '\n'))
            return fail(l, v, ip, "is more than one line (expected one sentence)");
        if (!(l->p->visit_requirements[i] = strdup(s)))
            return CH_ENOMEM;
        l->p->nvisit_requirements = i + 1;
    }
    return 0;
}

static int
parse_roles(ld *l, yaml_node_t *root)
{
    const char *path = "roles";
    yaml_node_t *m = get(l, root, path);
    if (!m)
        return 0;
    int rc = want_mapping(l, m, path,
                          "a mapping of role names to job titles, e.g. team_lead: Team Leader");
    if (rc)
        return rc;
    size_t n = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
    ch_policy *p = l->p;
    if (n && !(p->roles = calloc(n, sizeof(*p->roles))))
        return CH_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        yaml_node_pair_t *pr = &m->data.mapping.pairs.start[i];
        yaml_node_t *k = NODE(l, pr->key), *v = NODE(l, pr->value);
        const char *ks;
        if ((rc = scalar(l, k, path, "a role name", &ks)))
            return rc;
        char kp[PATH_MAX_LEN];
        join(kp, path, ks);
        if (!is_word(ks, 0, 1) || !islower((unsigned char)ks[0]) ||
            strlen(ks) >= sizeof(p->roles[0].key))
            return fail(l, k, kp,
                        "'%s' is not a role name (expected lower-case letters, digits and '_', "
                        "e.g. team_lead)",
                        ks);
        if (ch_policy_role_find(p, ks) >= 0)
            return fail(l, k, kp, "given twice");
        ch_policy_role *r = &p->roles[p->nroles];
        snprintf(r->key, sizeof(r->key), "%s", ks);
        if ((rc = copy_text(l, v, kp, "the role's job title", r->title, sizeof(r->title))))
            return rc;
        p->nroles++;
    }
    return 0;
}

static int
parse_role_ref(ld *l, yaml_node_t *v, const char *path, size_t *out)
{
    const char *s;
    int rc = scalar(l, v, path, "one of the roles defined under roles:", &s);
    if (rc)
        return rc;
    int r = ch_policy_role_find(l->p, s);
    if (r >= 0) {
        *out = (size_t)r;
        return 0;
    }
    if (l->p->nroles == 0)
        return fail(l, v, path, "'%s' is not a role (no roles are defined: add a roles: section)",
                    s);
    char list[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < l->p->nroles; i++) {
        int w =
            snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", l->p->roles[i].key);
        if (w < 0 || (size_t)w >= sizeof(list) - used)
            break;
        used += (size_t)w;
    }
    return fail(l, v, path, "'%s' is not a role (roles defined: %s)", s, list);
}

static int
parse_reporting(ld *l, yaml_node_t *root)
{
    static const char *const keys[] = {"publish", "communication_support", NULL};
    yaml_node_t *m = get(l, root, "reporting");
    if (!m)
        return 0;
    int rc = want_mapping(l, m, "reporting", "a mapping with publish and communication_support");
    if (rc || (rc = check_keys(l, m, "reporting", keys)))
        return rc;
    yaml_node_t *v;
    if ((v = get(l, m, "publish"))) {
        const char *s;
        if ((rc = scalar(l, v, "reporting.publish", "monthly, quarterly or yearly", &s)))
            return rc;
        if (strcmp(s, "monthly") == 0)
            l->p->publish = CH_POLICY_PUBLISH_MONTHLY;
        else if (strcmp(s, "quarterly") == 0)
            l->p->publish = CH_POLICY_PUBLISH_QUARTERLY;
        else if (strcmp(s, "yearly") == 0)
            l->p->publish = CH_POLICY_PUBLISH_YEARLY;
        else
            return fail(l, v, "reporting.publish",
                        "'%s' is not a period (expected monthly, quarterly or yearly)", s);
    }
    if ((v = get(l, m, "communication_support")) &&
        (rc = parse_flags(l, v, "reporting.communication_support", support_names,
                          &l->p->communication_support)))
        return rc;
    return 0;
}

/* ---- promises ---- */

static int
parse_name_set(ld *l, yaml_node_t *n, const char *path, int channels, unsigned *out)
{
    const char *expected =
        channels ? "a channel (phone, voicemail, email, letter, online_form, social, visit, sms, "
                   "any) or a list of them"
                 : "a case type (enquiry, service_request, complaint_stage_1, complaint_stage_2, "
                   "foi, eir, sar, mp_enquiry, legal_action, restriction_review, appointment, "
                   "home_visit, contact_group, any) or a list of them";
    yaml_node_item_t *it = NULL;
    size_t count = 1;
    if (n->type == YAML_SEQUENCE_NODE) {
        it = n->data.sequence.items.start;
        count = (size_t)(n->data.sequence.items.top - it);
        if (count == 0)
            return fail(l, n, path, "is an empty list (expected %s)", expected);
    }
    *out = 0;
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *v = it ? NODE(l, it[i]) : n;
        char ip[PATH_MAX_LEN];
        if (it)
            join_index(ip, path, i);
        else
            snprintf(ip, sizeof(ip), "%s", path);
        const char *s;
        int rc = scalar(l, v, ip, expected, &s);
        if (rc)
            return rc;
        int value;
        if (channels) {
            ch_policy_channel c;
            rc = ch_policy_channel_parse(s, &c);
            value = (int)c;
        } else {
            ch_policy_case_type t;
            rc = ch_policy_case_type_parse(s, &t);
            value = (int)t;
        }
        if (rc)
            return fail(l, v, ip, "'%s' is not %s", s,
                        channels ? "a channel (expected phone, voicemail, email, letter, "
                                   "online_form, social, visit, sms or any)"
                                 : "a case type (expected enquiry, service_request, "
                                   "complaint_stage_1, complaint_stage_2, foi, eir, sar, "
                                   "mp_enquiry, legal_action, restriction_review, appointment, "
                                   "home_visit, contact_group or any)");
        if (*out & (1u << value))
            return fail(l, v, ip, "'%s' is listed twice", s);
        if ((value == 0 && *out) || (value != 0 && (*out & 1u)))
            return fail(l, v, ip, "'any' cannot be listed with other %s",
                        channels ? "channels" : "case types");
        *out |= 1u << value;
    }
    return 0;
}

static int
parse_acknowledge(ld *l, yaml_node_t *v, const char *path, ch_policy_promise *pr)
{
    const char *expected = "automatic, none, or a clock such as '24 hours' or '1 working day'";
    const char *s;
    int rc = scalar(l, v, path, expected, &s);
    if (rc)
        return rc;
    if (strcmp(s, "automatic") == 0) {
        pr->ack = CH_POLICY_ACK_AUTOMATIC;
        return 0;
    }
    if (strcmp(s, "none") == 0) {
        pr->ack = CH_POLICY_ACK_NONE;
        return 0;
    }
    pr->ack = CH_POLICY_ACK_WITHIN;
    return parse_clock(l, v, path, K_ELAPSED | K_DAYS | K_WORKING | K_NEXT, 0, expected,
                       &pr->acknowledge);
}

/* The Housing Ombudsman Complaint Handling Code 2024 (paragraphs 4.5, 6.2,
 * 6.3, 6.13, 6.14, 6.18, 6.19): acknowledge within 5 working days of receipt;
 * respond within 10 (stage 1) or 20 (stage 2) working days of the
 * acknowledgement; an extension of at most 10 or 20 working days. */
static int
expand_complaint(ld *l, yaml_node_t *v, const char *path, int stage, int ack_given,
                 ch_policy_promise *pr)
{
    const char *name = stage == 1 ? "complaint-stage-1" : "complaint-stage-2";
    if (!ack_given) {
        pr->ack = CH_POLICY_ACK_WITHIN;
        preset_clock("5 working days", name, CH_CLOCK_FROM_RECEIPT, &pr->acknowledge);
    } else if (pr->ack == CH_POLICY_ACK_NONE) {
        return fail(l, v, path,
                    "%s responds from the acknowledgement, so acknowledge cannot be none "
                    "(leave it out for the Code's 5 working days, or give a clock)",
                    name);
    }
    preset_clock(stage == 1 ? "10 working days" : "20 working days", name,
                 CH_CLOCK_FROM_ACKNOWLEDGEMENT, &pr->respond);
    snprintf(pr->respond.text, sizeof(pr->respond.text), "%s", name);
    pr->respond.line = line_of(v);
    pr->respond.column = col_of(v);
    return 0;
}

static int
parse_respond(ld *l, yaml_node_t *v, const char *path, int ack_given, ch_policy_promise *pr)
{
    const char *expected = CLOCK_EXAMPLES ", a preset (foi, eir, foisa, sar, sar-extended, "
                                          "complaint-stage-1, complaint-stage-2) or measured_only";
    const char *s;
    int rc = scalar(l, v, path, expected, &s);
    if (rc)
        return rc;
    if (strcmp(s, "measured_only") == 0) {
        pr->respond_measured_only = 1;
        return 0;
    }
    if (strcmp(s, "complaint-stage-1") == 0 || strcmp(s, "complaint-stage-2") == 0)
        return expand_complaint(l, v, path, s[16] - '0', ack_given, pr);
    return parse_clock(l, v, path, K_ANY, 1, expected, &pr->respond);
}

static int
parse_answer(ld *l, yaml_node_t *v, const char *path, ch_policy_promise *pr)
{
    static const char *const keys[] = {"within", "rings", NULL};
    const char *expected = "a time such as '20 seconds', measured_only, or a mapping with "
                           "within: and rings:";
    int rc;
    if (v->type == YAML_SCALAR_NODE) {
        const char *s;
        if ((rc = scalar(l, v, path, expected, &s)))
            return rc;
        if (strcmp(s, "measured_only") == 0) {
            pr->answer_measured_only = 1;
            return 0;
        }
        return parse_clock(l, v, path, K_ELAPSED, 0, expected, &pr->answer);
    }
    if ((rc = want_mapping(l, v, path, expected)) || (rc = check_keys(l, v, path, keys)))
        return rc;
    yaml_node_t *w = get(l, v, "within"), *r = get(l, v, "rings");
    char kp[PATH_MAX_LEN];
    if (!w && !r)
        return fail(l, v, path, "expected within: (e.g. '20 seconds') or rings: (e.g. 4)");
    join(kp, path, "within");
    if (w && (rc = parse_clock(l, w, kp, K_ELAPSED, 0, "a time such as '20 seconds'", &pr->answer)))
        return rc;
    if (r) {
        const char *s;
        join(kp, path, "rings");
        if ((rc = scalar(l, r, kp, "a number of rings, e.g. 4", &s)))
            return rc;
        char *end;
        long n = strtol(s, &end, 10);
        if (*end || n < 1 || n > 30 || !isdigit((unsigned char)*s))
            return fail(l, r, kp, "'%s' is not a number of rings (expected 1 to 30, e.g. 4)", s);
        pr->answer_rings = (int)n;
    }
    return 0;
}

static int
parse_see(ld *l, yaml_node_t *v, const char *path, ch_policy_promise *pr)
{
    static const char *const keys[] = {"within", "after_appointment", NULL};
    const char *expected = "a time such as '15 minutes', measured_only, or a mapping with "
                           "within: and after_appointment:";
    int rc;
    if (v->type == YAML_SCALAR_NODE) {
        const char *s;
        if ((rc = scalar(l, v, path, expected, &s)))
            return rc;
        if (strcmp(s, "measured_only") == 0) {
            pr->see_measured_only = 1;
            return 0;
        }
        return parse_clock(l, v, path, K_ELAPSED, 0, expected, &pr->see);
    }
    if ((rc = want_mapping(l, v, path, expected)) || (rc = check_keys(l, v, path, keys)))
        return rc;
    yaml_node_t *w = get(l, v, "within"), *a = get(l, v, "after_appointment");
    char kp[PATH_MAX_LEN];
    if (!w && !a)
        return fail(l, v, path,
                    "expected within: (e.g. '15 minutes') or after_appointment: (e.g. "
                    "'10 minutes')");
    join(kp, path, "within");
    if (w && (rc = parse_clock(l, w, kp, K_ELAPSED, 0, "a time such as '15 minutes'", &pr->see)))
        return rc;
    join(kp, path, "after_appointment");
    if (a && (rc = parse_clock(l, a, kp, K_ELAPSED, 0, "a time such as '10 minutes'",
                               &pr->see_after_appointment)))
        return rc;
    return 0;
}

static int
parse_review(ld *l, yaml_node_t *v, const char *path, ch_policy_promise *pr)
{
    static const char *const keys[] = {"first", "then_every", "to", NULL};
    const char *expected = "a mapping with first: (e.g. '11 calendar months'), then_every: and "
                           "to: (a role)";
    int rc = want_mapping(l, v, path, expected);
    if (rc || (rc = check_keys(l, v, path, keys)))
        return rc;
    char kp[PATH_MAX_LEN];
    yaml_node_t *f = get(l, v, "first"), *e = get(l, v, "then_every"), *t = get(l, v, "to");
    if (!f)
        return missing(l, v, path, "first", "a clock such as '11 calendar months'");
    join(kp, path, "first");
    if ((rc = parse_clock(l, f, kp, K_DAYS | K_WORKING | K_MONTHS, 0,
                          "a clock such as '11 calendar months'", &pr->review_first)))
        return rc;
    join(kp, path, "then_every");
    if (e && (rc = parse_clock(l, e, kp, K_DAYS | K_WORKING | K_MONTHS, 0,
                               "a clock such as '12 calendar months'", &pr->review_every)))
        return rc;
    if (!t)
        return missing(l, v, path, "to", "the role that carries out the review");
    join(kp, path, "to");
    return parse_role_ref(l, t, kp, &pr->review_role);
}

static int
parse_holding(ld *l, yaml_node_t *v, const char *path, ch_policy_promise *pr)
{
    static const char *const keys[] = {"must_include", "max_extension", NULL};
    const char *expected = "allowed, not_allowed, or a mapping with must_include: and "
                           "max_extension:";
    int rc;
    if (v->type == YAML_SCALAR_NODE) {
        const char *s;
        if ((rc = scalar(l, v, path, expected, &s)))
            return rc;
        if (strcmp(s, "allowed") == 0)
            pr->holding_reply = 1;
        else if (strcmp(s, "not_allowed") == 0)
            pr->holding_reply = 0;
        else
            return fail(l, v, path, "'%s' is not allowed here (expected %s)", s, expected);
        return 0;
    }
    if ((rc = want_mapping(l, v, path, expected)) || (rc = check_keys(l, v, path, keys)))
        return rc;
    pr->holding_reply = 1;
    char kp[PATH_MAX_LEN];
    yaml_node_t *m = get(l, v, "must_include"), *x = get(l, v, "max_extension");
    join(kp, path, "must_include");
    unsigned inc = 0;
    if (m && (rc = parse_flags(l, m, kp, hold_names, &inc)))
        return rc;
    pr->holding_must_include |= inc;
    if (x) {
        join(kp, path, "max_extension");
        ch_policy_clock c;
        if ((rc = parse_clock(l, x, kp, K_ELAPSED | K_DAYS | K_WORKING | K_MONTHS, 0,
                              "a clock such as '10 working days'", &c)))
            return rc;
        if (pr->max_extension.set && pr->max_extension.clock.preset[0]) {
            /* The Code's limit: a policy may shorten it, never lengthen it. */
            if (!clock_not_shorter(&pr->max_extension.clock, &c.clock))
                return fail(l, x, kp,
                            "'%s' is longer than %s allows (the Housing Ombudsman Code's "
                            "extension is at most %s)",
                            c.text, pr->max_extension.clock.preset, pr->max_extension.text);
        }
        pr->max_extension = c;
    }
    return 0;
}

/* The clock warnings count towards: the response, else the first review,
 * else the wait to be seen or answered. NULL if the promise has no time. */
static const ch_policy_clock *
warned_clock(const ch_policy_promise *pr)
{
    if (pr->respond.set)
        return &pr->respond;
    if (pr->review_first.set)
        return &pr->review_first;
    if (pr->see.set)
        return &pr->see;
    if (pr->see_after_appointment.set)
        return &pr->see_after_appointment;
    if (pr->answer.set)
        return &pr->answer;
    return NULL;
}

static int
parse_warnings(ld *l, yaml_node_t *v, const char *path, ch_policy_promise *pr)
{
    static const char *const keys[] = {"at", "to", NULL};
    int rc = want_sequence(l, v, path,
                           "a list of tiers, each with at: ('75%', '1 working day before' or "
                           "breach) and to: (a role)");
    if (rc)
        return rc;
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n == 0)
        return 0;
    const ch_policy_clock *target = warned_clock(pr);
    if (!target)
        return fail(l, v, path,
                    "this promise has no time to warn before (it is measured only): remove "
                    "warnings:");
    if (!(pr->warnings = calloc(n, sizeof(*pr->warnings))))
        return CH_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *w = NODE(l, v->data.sequence.items.start[i]);
        char ip[PATH_MAX_LEN], kp[PATH_MAX_LEN];
        join_index(ip, path, i);
        if ((rc = want_mapping(l, w, ip, "a tier with at: and to:")) ||
            (rc = check_keys(l, w, ip, keys)))
            return rc;
        ch_policy_warning *pw = &pr->warnings[pr->nwarnings];
        yaml_node_t *at = get(l, w, "at"), *to = get(l, w, "to");
        if (!at)
            return missing(l, w, ip, "at",
                           "'75%', '1 working day before', '2 hours before' or "
                           "breach");
        join(kp, ip, "at");
        const char *s;
        if ((rc = scalar(l, at, kp, "'75%', '1 working day before' or breach", &s)))
            return rc;
        if (strlen(s) >= sizeof(pw->at))
            return fail(l, at, kp, "'%.40s...' is too long", s);
        snprintf(pw->at, sizeof(pw->at), "%s", s);
        pw->line = line_of(at);
        pw->column = col_of(at);
        if (strcmp(s, "breach") == 0) {
            pw->at_breach = 1;
        } else {
            char why[512];
            if (ch_warning_parse(s, &pw->rule, why, sizeof(why)) != 0)
                return fail(l, at, kp,
                            "'%s' is not a warning time (expected a share of the time such as "
                            "'75%%', a lead such as '1 working day before' or '2 hours before', "
                            "or breach)",
                            s);
            if (!pw->rule.percent && clock_not_shorter(&pw->rule.lead, &target->clock))
                return fail(l, at, kp,
                            "'%s' is as long as the whole clock ('%s'), so it would fire on "
                            "receipt (expected a shorter lead, or a share such as '50%%')",
                            s, target->text);
            if (!pw->rule.percent && target->clock.kind == CH_CLOCK_ELAPSED &&
                pw->rule.lead.kind != CH_CLOCK_ELAPSED)
                return fail(l, at, kp,
                            "'%s' counts days but '%s' is a time in hours or minutes (expected "
                            "e.g. '75%%' or '2 hours before')",
                            s, target->text);
        }
        if (!to)
            return missing(l, w, ip, "to", "the role to alert, e.g. team_lead");
        join(kp, ip, "to");
        if ((rc = parse_role_ref(l, to, kp, &pw->role)))
            return rc;
        pr->nwarnings++;
    }
    return 0;
}

static int
parse_reply_channel(ld *l, yaml_node_t *v, const char *path, ch_policy_promise *pr)
{
    const char *expected = "same_unless_asked, same or preferred";
    const char *s;
    int rc = scalar(l, v, path, expected, &s);
    if (rc)
        return rc;
    if (strcmp(s, "same_unless_asked") == 0)
        pr->reply_channel = CH_POLICY_REPLY_SAME_UNLESS_ASKED;
    else if (strcmp(s, "same") == 0)
        pr->reply_channel = CH_POLICY_REPLY_SAME;
    else if (strcmp(s, "preferred") == 0)
        pr->reply_channel = CH_POLICY_REPLY_PREFERRED;
    else
        return fail(l, v, path, "'%s' is not a reply channel rule (expected %s)", s, expected);
    pr->reply_channel_explicit = 1;
    return 0;
}

static int
parse_promise(ld *l, yaml_node_t *m, const char *path, ch_policy_promise *pr)
{
    static const char *const keys[] = {"id",
                                       "channel",
                                       "case_type",
                                       "says",
                                       "acknowledge",
                                       "respond",
                                       "answer",
                                       "see",
                                       "review",
                                       "reply_channel",
                                       "named_contact",
                                       "reference_on_reply",
                                       "holding_reply",
                                       "warnings",
                                       "measures",
                                       NULL};
    int rc = want_mapping(l, m, path, "a promise (a mapping with id, channel, says, ...)");
    if (rc || (rc = check_keys(l, m, path, keys)))
        return rc;
    pr->line = line_of(m);
    pr->column = col_of(m);
    char kp[PATH_MAX_LEN];
    yaml_node_t *v;

    join(kp, path, "id");
    if (!(v = get(l, m, "id")))
        return missing(l, m, path, "id", "a short name for the promise, e.g. email-reply");
    if ((rc = copy_text(l, v, kp, "a short name such as email-reply", pr->id, sizeof(pr->id))))
        return rc;
    if (!is_word(pr->id, 1, 1))
        return fail(l, v, kp,
                    "'%s' is not an id (expected lower-case letters, digits, '-' and '_', e.g. "
                    "email-reply)",
                    pr->id);

    join(kp, path, "channel");
    if (!(v = get(l, m, "channel")))
        return missing(l, m, path, "channel",
                       "phone, voicemail, email, letter, online_form, social, visit, sms, any, "
                       "or a list of them");
    if ((rc = parse_name_set(l, v, kp, 1, &pr->channels)))
        return rc;

    join(kp, path, "case_type");
    pr->case_types = 1u; /* any */
    if ((v = get(l, m, "case_type")) && (rc = parse_name_set(l, v, kp, 0, &pr->case_types)))
        return rc;

    join(kp, path, "says");
    if (!(v = get(l, m, "says")))
        return missing(l, m, path, "says", "the charter's own words for this promise, quoted");
    const char *s;
    if ((rc = scalar(l, v, kp, "the charter's own words, quoted", &s)))
        return rc;
    if (!(pr->says = strdup(s)))
        return CH_ENOMEM;
    for (size_t n = strlen(pr->says); n && isspace((unsigned char)pr->says[n - 1]); n--)
        pr->says[n - 1] = '\0';

    unsigned phone = 1u << CH_POLICY_CHANNEL_PHONE, visit = 1u << CH_POLICY_CHANNEL_VISIT;
    /* Any channel other than phone and visit (or "any") is answered in writing
     * or by a call back, so it needs an acknowledgement rule and a response
     * clock. */
    int written = (pr->channels & ~(phone | visit)) != 0;

    yaml_node_t *ack = get(l, m, "acknowledge");
    join(kp, path, "acknowledge");
    if (ack && (rc = parse_acknowledge(l, ack, kp, pr)))
        return rc;
    yaml_node_t *resp = get(l, m, "respond");
    join(kp, path, "respond");
    if (resp && (rc = parse_respond(l, resp, kp, ack != NULL, pr)))
        return rc;
    yaml_node_t *review = get(l, m, "review");
    join(kp, path, "review");
    if (review && (rc = parse_review(l, review, kp, pr)))
        return rc;

    yaml_node_t *ans = get(l, m, "answer");
    join(kp, path, "answer");
    if (ans) {
        if (!(pr->channels & phone))
            return fail(l, key_node(l, m, "answer"), kp,
                        "answer: is for calls (expected channel: phone)");
        if ((rc = parse_answer(l, ans, kp, pr)))
            return rc;
    } else if (pr->channels & phone) {
        return fail(l, m, kp,
                    "missing: phone promises need an answer clock (e.g. answer: \"20 seconds\", "
                    "answer: {rings: 4}, or answer: measured_only)");
    }
    yaml_node_t *see = get(l, m, "see");
    join(kp, path, "see");
    if (see) {
        if (!(pr->channels & visit))
            return fail(l, key_node(l, m, "see"), kp,
                        "see: is for visits (expected channel: visit)");
        if ((rc = parse_see(l, see, kp, pr)))
            return rc;
    } else if (pr->channels & visit) {
        return fail(l, m, kp,
                    "missing: visit promises need a see clock (e.g. see: \"15 minutes\", see: "
                    "{after_appointment: \"10 minutes\"}, or see: measured_only)");
    }

    if (written && !review) {
        if (!resp) {
            join(kp, path, "respond");
            int c = 0;
            while (!((pr->channels & ~(phone | visit)) & (1u << c)))
                c++;
            return fail(l, m, kp,
                        "missing: %s%s promises need a respond clock (e.g. '5 working days', "
                        "'foi', 'complaint-stage-1', or measured_only)",
                        c ? "" : "channel ", channel_names[c].name);
        }
        if (!ack && pr->ack != CH_POLICY_ACK_WITHIN) {
            join(kp, path, "acknowledge");
            return fail(l, m, kp,
                        "missing: say how receipt is acknowledged (automatic, a clock such as "
                        "'24 hours', or none)");
        }
    }
    if (pr->respond.set && pr->respond.clock.anchor == CH_CLOCK_FROM_ACKNOWLEDGEMENT &&
        pr->ack == CH_POLICY_ACK_NONE)
        return fail(l, resp, kp, "responds from the acknowledgement but none is promised");

    if (pr->respond.set && !strncmp(pr->respond.clock.preset, "complaint-stage-", 16)) {
        int stage = pr->respond.clock.preset[16] - '0';
        pr->holding_reply = 1;
        pr->holding_must_include |= CH_POLICY_HOLD_REASON;
        preset_clock(stage == 1 ? "10 working days" : "20 working days", pr->respond.clock.preset,
                     CH_CLOCK_FROM_RECEIPT, &pr->max_extension);
    }
    if ((v = get(l, m, "holding_reply"))) {
        join(kp, path, "holding_reply");
        if ((rc = parse_holding(l, v, kp, pr)))
            return rc;
        if (pr->holding_reply && !pr->respond.set)
            return fail(l, v, kp, "a holding reply needs a respond clock to move");
    }
    if ((v = get(l, m, "reply_channel"))) {
        join(kp, path, "reply_channel");
        if ((rc = parse_reply_channel(l, v, kp, pr)))
            return rc;
    }
    if ((v = get(l, m, "named_contact"))) {
        join(kp, path, "named_contact");
        if ((rc = parse_bool(l, v, kp, &pr->named_contact)))
            return rc;
    }
    if ((v = get(l, m, "reference_on_reply"))) {
        join(kp, path, "reference_on_reply");
        if ((rc = parse_bool(l, v, kp, &pr->reference_on_reply)))
            return rc;
    }
    if ((v = get(l, m, "measures"))) {
        join(kp, path, "measures");
        if ((rc = parse_flags(l, v, kp, measure_names, &pr->measures)))
            return rc;
    }
    if ((v = get(l, m, "warnings"))) {
        join(kp, path, "warnings");
        if ((rc = parse_warnings(l, v, kp, pr)))
            return rc;
    }
    return 0;
}

static int
parse_promises(ld *l, yaml_node_t *root)
{
    const char *path = "promises";
    const char *expected = "a list of promises, each starting with - id:";
    yaml_node_t *s = get(l, root, path);
    if (!s)
        return missing(l, root, "", path, expected);
    int rc = want_sequence(l, s, path, expected);
    if (rc)
        return rc;
    size_t n = (size_t)(s->data.sequence.items.top - s->data.sequence.items.start);
    if (n == 0)
        return fail(l, s, path, "is empty (expected at least one promise)");
    ch_policy *p = l->p;
    if (!(p->promises = calloc(n, sizeof(*p->promises))))
        return CH_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *m = NODE(l, s->data.sequence.items.start[i]);
        char ip[PATH_MAX_LEN];
        join_index(ip, path, i);
        ch_policy_promise *pr = &p->promises[i];
        p->npromises = i + 1;
        if ((rc = parse_promise(l, m, ip, pr)))
            return rc;
        for (size_t j = 0; j < i; j++) {
            const ch_policy_promise *q = &p->promises[j];
            char kp[PATH_MAX_LEN];
            if (strcmp(q->id, pr->id) == 0) {
                join(kp, ip, "id");
                return fail(l, get(l, m, "id"), kp, "'%s' is already the id of promises[%zu]",
                            pr->id, j);
            }
            unsigned ch = q->channels & pr->channels, ct = q->case_types & pr->case_types;
            if (ch && ct) {
                int c = 0, t = 0;
                while (!(ch & (1u << c)))
                    c++;
                while (!(ct & (1u << t)))
                    t++;
                join(kp, ip, "channel");
                return fail(l, m, kp,
                            "channel %s with case type %s is already promised by promises[%zu] "
                            "(%s, line %d): one promise per channel and case type",
                            channel_names[c].name, case_names[t].name, j, q->id, q->line);
            }
        }
    }
    return 0;
}

static int
parse_root(ld *l, yaml_node_t *root)
{
    static const char *const keys[] = {
        "organisation", "calendar", "timezone",  "opening_hours",   "closures",           "options",
        "roles",        "promises", "reporting", "sms_quiet_hours", "visit_requirements", NULL};
    int rc = want_mapping(l, root, "",
                          "a policy: a mapping with organisation, calendar, opening_hours and "
                          "promises");
    if (rc || (rc = check_keys(l, root, "", keys)))
        return rc;
    if ((rc = parse_organisation(l, root)) || (rc = parse_calendar_tz(l, root)) ||
        (rc = parse_hours(l, root)) || (rc = parse_closures(l, root)) ||
        (rc = parse_options(l, root)) || (rc = parse_quiet_hours(l, root)) ||
        (rc = parse_visit_requirements(l, root)) || (rc = parse_roles(l, root)) ||
        (rc = parse_reporting(l, root)) || (rc = parse_promises(l, root)))
        return rc;
    return 0;
}

int
ch_policy_load_text(const char *text, size_t len, const char *name, ch_policy *out, char *errstr,
                    size_t errstr_size)
{
    memset(out, 0, sizeof(*out));
    if (!name)
        name = "policy";
    char scratch[8];
    if (!errstr || errstr_size == 0) {
        errstr = scratch;
        errstr_size = sizeof(scratch);
    }
    errstr[0] = '\0';

    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(errstr, errstr_size, "%s: out of memory", name);
        return CH_ENOMEM;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        int rc = parser.error == YAML_MEMORY_ERROR ? CH_ENOMEM : CH_EINVAL;
        snprintf(errstr, errstr_size, "%s:%zu:%zu: not valid YAML: %s%s%s", name,
                 parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                 parser.problem ? parser.problem : "unreadable", parser.context ? " " : "",
                 parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return rc;
    }
    ld l = {.doc = &doc, .name = name, .err = errstr, .errsz = errstr_size, .p = out};
    snprintf(out->source, sizeof(out->source), "%s", name);
    int rc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        rc = fail(&l, NULL, "", "the file is empty (expected a policy; see docs/policies.md)");
    } else {
        rc = parse_root(&l, root);
        if (rc == 0) {
            yaml_document_t next;
            if (!yaml_parser_load(&parser, &next)) {
                rc = fail(&l, NULL, "", "not valid YAML after the first document");
            } else {
                yaml_node_t *r2 = yaml_document_get_root_node(&next);
                if (r2)
                    rc = fail(&l, r2, "",
                              "a second document ('---') is not allowed: one policy per file");
                yaml_document_delete(&next);
            }
        }
    }
    if (rc == CH_ENOMEM)
        snprintf(errstr, errstr_size, "%s: out of memory", name);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (rc) {
        ch_policy_free(out);
        return rc;
    }
    return 0;
}

int
ch_policy_load_file(const char *path, ch_policy *out, char *errstr, size_t errstr_size)
{
    memset(out, 0, sizeof(*out));
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errstr, errstr_size, "%s: cannot open: %s", path, strerror(errno));
        return CH_EIO;
    }
    char *buf = malloc(MAX_FILE_BYTES + 1);
    if (!buf) {
        fclose(f);
        snprintf(errstr, errstr_size, "%s: out of memory", path);
        return CH_ENOMEM;
    }
    size_t n = fread(buf, 1, MAX_FILE_BYTES + 1, f);
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        snprintf(errstr, errstr_size, "%s: cannot read", path);
        return CH_EIO;
    }
    if (n > MAX_FILE_BYTES) {
        free(buf);
        snprintf(errstr, errstr_size, "%s: larger than %d bytes; a policy is a short file", path,
                 MAX_FILE_BYTES);
        return CH_EINVAL;
    }
    int rc = ch_policy_load_text(buf, n, path, out, errstr, errstr_size);
    free(buf);
    return rc;
}

void
ch_policy_free(ch_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->npromises; i++) {
        free(p->promises[i].says);
        free(p->promises[i].warnings);
    }
    free(p->promises);
    for (size_t i = 0; i < p->nvisit_requirements; i++)
        free(p->visit_requirements[i]);
    free(p->visit_requirements);
    free(p->roles);
    free(p->closures);
    memset(p, 0, sizeof(*p));
}

int
ch_policy_role_find(const ch_policy *p, const char *key)
{
    for (size_t i = 0; i < p->nroles; i++)
        if (strcmp(p->roles[i].key, key) == 0)
            return (int)i;
    return -1;
}

const ch_policy_promise *
ch_policy_find_promise(const ch_policy *p, const char *channel, const char *case_type)
{
    ch_policy_channel c = CH_POLICY_CHANNEL_ANY;
    ch_policy_case_type t = CH_POLICY_CASE_ANY;
    if (channel)
        (void)ch_policy_channel_parse(channel, &c);
    if (case_type)
        (void)ch_policy_case_type_parse(case_type, &t);
    const unsigned tries[4][2] = {
        {1u << c, 1u << t},
        {1u, 1u << t},
        {1u << c, 1u},
        {1u, 1u},
    };
    for (int k = 0; k < 4; k++)
        for (size_t i = 0; i < p->npromises; i++)
            if ((p->promises[i].channels & tries[k][0]) &&
                (p->promises[i].case_types & tries[k][1]))
                return &p->promises[i];
    return NULL;
}

ch_calendar *
ch_policy_calendar_new(const ch_policy *p)
{
    ch_calendar *cal = ch_calendar_new(p->nation);
    if (!cal)
        return NULL;
    for (size_t i = 0; i < p->nclosures; i++)
        for (int32_t d = p->closures[i].first; d <= p->closures[i].last; d++)
            if (ch_calendar_add_closure(cal, d) != 0) {
                ch_calendar_free(cal);
                return NULL;
            }
    return cal;
}

/* ---- describing ---- */

typedef struct {
    char *buf;
    size_t cap, len;
} sb;

__attribute__((format(printf, 2, 3))) static void
sb_printf(sb *s, const char *fmt, ...)
{
    if (s->cap == 0 || s->len >= s->cap - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(s->buf + s->len, s->cap - s->len, fmt, ap);
    va_end(ap);
    if (w > 0)
        s->len = s->len + (size_t)w >= s->cap ? s->cap - 1 : s->len + (size_t)w;
}

static void
sb_clause(sb *s, int *first)
{
    sb_printf(s, "%s", *first ? ": " : "; ");
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
    sb s = {buf, bufsz, 0};
    if (bufsz)
        buf[0] = '\0';
    int first = 1;
    for (int d = 0; d < 7;) {
        int e = d;
        while (e + 1 < 7 && h->open[e + 1] == h->open[d] && h->close[e + 1] == h->close[d])
            e++;
        if (h->open[d] >= 0) {
            sb_printf(&s, "%s%s%s%s %02d:%02d-%02d:%02d", first ? "" : ", ", day_titles[d],
                      e > d ? "-" : "", e > d ? day_titles[e] : "", h->open[d] / 60,
                      h->open[d] % 60, h->close[d] / 60, h->close[d] % 60);
            first = 0;
        }
        d = e + 1;
    }
    if (first)
        sb_printf(&s, "closed every day");
}

/* "(England and Wales holidays, closes 17:00)" after the first clock of a
 * line that counts the organisation's working days; later clocks on the same
 * line use the same calendar, so it is said once. A description that already
 * ends in a bracket has the note folded into it. */
static void
calendar_note(sb *s, const ch_policy *p, const ch_clock *c, int *noted)
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
    if (s->len > 0 && s->buf[s->len - 1] == ')') {
        s->buf[--s->len] = '\0';
        sb_printf(s, "; ");
    } else {
        sb_printf(s, " (");
    }
    sb_printf(s, "%s holidays%s", ch_nation_title(p->nation),
              p->nclosures ? " and the organisation's closures" : "");
    if (close >= 0 && uniform)
        sb_printf(s, ", closes %02d:%02d", close / 60, close % 60);
    else if (close >= 0)
        sb_printf(s, ", closing times vary by day");
    sb_printf(s, ")");
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
timed(sb *s, const ch_policy *p, const char *verb, const ch_policy_clock *pc, int *noted)
{
    char d[300];
    ch_policy_describe_clock(&pc->clock, d, sizeof(d));
    sb_printf(s, "%s %s", verb, d);
    calendar_note(s, p, &pc->clock, noted);
}

static void
subject(sb *s, const ch_policy_promise *pr)
{
    int nch = 0, nct = 0;
    for (int c = 1; c < CH_POLICY_CHANNEL_COUNT; c++)
        nch += (pr->channels >> c) & 1u;
    for (int t = 1; t < CH_POLICY_CASE_COUNT; t++)
        nct += (pr->case_types >> t) & 1u;
    int k = 0;
    for (int c = 1; c < CH_POLICY_CHANNEL_COUNT; c++) {
        if (!((pr->channels >> c) & 1u))
            continue;
        const char *title = channel_names[c].title;
        if (k == 0)
            sb_printf(s, "%s", title);
        else
            sb_printf(s, "%s%c%s", k == nch - 1 ? " and " : ", ", tolower((unsigned char)title[0]),
                      title + 1);
        k++;
    }
    if (nct == 0) {
        if (nch == 0)
            sb_printf(s, "Any contact");
        return;
    }
    sb_printf(s, "%s", nch ? " (" : "");
    k = 0;
    for (int t = 1; t < CH_POLICY_CASE_COUNT; t++) {
        if (!((pr->case_types >> t) & 1u))
            continue;
        const char *title = case_names[t].title;
        if (k == 0 && !nch)
            sb_printf(s, "%s", title);
        else
            sb_printf(s, "%s%c%s",
                      k == 0         ? ""
                      : k == nct - 1 ? " and "
                                     : ", ",
                      (k == 0 && !nch) ? title[0] : tolower((unsigned char)title[0]), title + 1);
        k++;
    }
    sb_printf(s, "%s", nch ? ")" : "");
}

void
ch_policy_describe_promise(const ch_policy *p, const ch_policy_promise *pr, char *buf, size_t bufsz)
{
    sb s = {buf, bufsz, 0};
    if (bufsz)
        buf[0] = '\0';
    subject(&s, pr);
    int first = 1, noted = 0;

    if (pr->answer.set || pr->answer_rings) {
        sb_clause(&s, &first);
        sb_printf(&s, "answer within ");
        if (pr->answer.set) {
            char d[64];
            ch_clock_describe(&pr->answer.clock, d, sizeof(d));
            sb_printf(&s, "%s%s", d, pr->answer_rings ? " or " : "");
        }
        if (pr->answer_rings) {
            const char *w = number_word(pr->answer_rings);
            if (w)
                sb_printf(&s, "%s %s", w, pr->answer_rings == 1 ? "ring" : "rings");
            else
                sb_printf(&s, "%d rings", pr->answer_rings);
        }
    } else if (pr->answer_measured_only) {
        sb_clause(&s, &first);
        sb_printf(&s, "measured, no time promised");
    }

    if (pr->see.set) {
        char d[64];
        ch_clock_describe(&pr->see.clock, d, sizeof(d));
        sb_clause(&s, &first);
        sb_printf(&s, "seen within %s of arrival", d);
    }
    if (pr->see_after_appointment.set) {
        char d[64];
        ch_clock_describe(&pr->see_after_appointment.clock, d, sizeof(d));
        sb_clause(&s, &first);
        sb_printf(&s, "not kept waiting more than %s after an appointment time", d);
    }
    if (pr->see_measured_only) {
        sb_clause(&s, &first);
        sb_printf(&s, "measured, no time promised");
    }

    if (pr->ack == CH_POLICY_ACK_AUTOMATIC) {
        sb_clause(&s, &first);
        sb_printf(&s, "acknowledged automatically on receipt");
    } else if (pr->ack == CH_POLICY_ACK_WITHIN) {
        sb_clause(&s, &first);
        timed(&s, p, "acknowledge", &pr->acknowledge, &noted);
    }

    if (pr->respond.set) {
        sb_clause(&s, &first);
        timed(&s, p, "reply", &pr->respond, &noted);
        const char *src = preset_source(pr->respond.clock.preset);
        if (src)
            sb_printf(&s, " [%s: %s]", pr->respond.clock.preset, src);
        if (pr->holding_reply) {
            sb_printf(&s, ", or a holding reply");
            unsigned inc = pr->holding_must_include;
            if (inc) {
                static const struct {
                    unsigned bit;
                    const char *words;
                } parts[] = {
                    {CH_POLICY_HOLD_APOLOGY, "an apology"},
                    {CH_POLICY_HOLD_REASON, "the reason"},
                    {CH_POLICY_HOLD_NEXT_STEPS, "the next steps"},
                    {CH_POLICY_HOLD_NAMED_CONTACT, "a named contact"},
                    {CH_POLICY_HOLD_TARGET_DATE, "a target date"},
                };
                int n = 0, total = 0;
                for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
                    total += (inc & parts[i].bit) != 0;
                sb_printf(&s, " giving ");
                for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
                    if (!(inc & parts[i].bit))
                        continue;
                    sb_printf(&s, "%s%s",
                              n == 0           ? ""
                              : n == total - 1 ? " and "
                                               : ", ",
                              parts[i].words);
                    n++;
                }
            }
            if (pr->max_extension.set) {
                char d[64];
                ch_clock_describe(&pr->max_extension.clock, d, sizeof(d));
                sb_printf(&s, " (extension at most %s)", d);
            }
        }
    } else if (pr->respond_measured_only) {
        sb_clause(&s, &first);
        /* Alone it is the whole promise; beside other clocks it is the reply's. */
        int alone = pr->ack == CH_POLICY_ACK_NONE && !pr->review_first.set;
        sb_printf(&s, "%s",
                  alone ? "measured, no time promised" : "reply measured, no time promised");
    }

    if (pr->review_first.set) {
        char d[96];
        ch_clock_describe(&pr->review_first.clock, d, sizeof(d));
        sb_clause(&s, &first);
        sb_printf(&s, "review after %s", d);
        if (pr->review_every.set) {
            ch_clock_describe(&pr->review_every.clock, d, sizeof(d));
            sb_printf(&s, ", then every %s", d);
        }
        sb_printf(&s, " (%s)", p->roles[pr->review_role].title);
    }

    if (pr->named_contact) {
        sb_clause(&s, &first);
        sb_printf(&s, "named contact");
    }
    if (pr->reference_on_reply) {
        sb_clause(&s, &first);
        sb_printf(&s, "reference on every reply");
    }
    if (pr->reply_channel_explicit) {
        sb_clause(&s, &first);
        sb_printf(&s, "%s",
                  pr->reply_channel == CH_POLICY_REPLY_SAME ? "reply on the same channel"
                  : pr->reply_channel == CH_POLICY_REPLY_PREFERRED
                      ? "reply on the customer's preferred channel"
                      : "reply on the same channel unless the customer asks otherwise");
    }
    if (pr->measures) {
        static const struct {
            unsigned bit;
            const char *words;
        } m[] = {
            {CH_POLICY_MEASURE_FIRST_CONTACT_RESOLUTION, "first-contact resolution"},
            {CH_POLICY_MEASURE_APPOINTMENTS_KEPT, "appointments kept"},
            {CH_POLICY_MEASURE_SATISFACTION, "satisfaction"},
            {CH_POLICY_MEASURE_COMMUNICATION_SUPPORT, "communication support"},
        };
        sb_clause(&s, &first);
        int n = 0;
        for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
            if (pr->measures & m[i].bit)
                sb_printf(&s, "%s%s", n++ ? ", " : "", m[i].words);
        sb_printf(&s, " measured");
    }
    if (first)
        sb_printf(&s, ": measured, no time promised");
}
