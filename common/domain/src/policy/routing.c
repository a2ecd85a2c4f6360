/*
 * Every contact falls under a rule (docs/policies.md, "Every contact falls
 * under a rule"): what the loader adds and refuses once a file's promises are
 * read, and the lookups that route a case to its promise.
 *
 * A charter owner expects two things a file cannot be trusted to say. First,
 * the law: a Freedom of Information request, an environmental information
 * request or a subject access request has its statutory clock whichever
 * channel it came by, so a promise naming foi, eir or sar must cover every
 * channel (together with the others naming it) and may not be slower than the
 * law; where a file names none of them, the loader supplies the statutory
 * promise (charter-foi, charter-eir, charter-sar). Second, nothing falls
 * through: a contact on a channel or of a type no promise covers is still
 * received, answered and counted, under a last rule the loader adds,
 * charter-measured, "measured, no time promised". Adding them here, rather
 * than asking every file to list eight channels, keeps the files as the
 * charters read, and `charterctl policy check` prints the supplied rules so
 * an editor sees them.
 *
 * The case types an organisation takes are then a closed list (the types its
 * promises name, the statutory three and enquiry, the default): ingest refuses
 * any other, so "complaint" for "complaint_stage_1" is an error at the door,
 * not a case silently on the email clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "policy_int.h"

#define ALL_CHANNELS (((1u << CH_POLICY_CHANNEL_COUNT) - 1) & ~1u)

/* The statutory case types: the preset the loader supplies, the presets and
 * plain clocks a file may use instead, and the law in a few words. */
typedef struct {
    ch_policy_case_type type;
    const char *id;           /* the supplied promise's id */
    const char *preset;       /* supplied (Scotland: scottish) */
    const char *scottish;     /* the preset under a Scottish calendar */
    const char *allowed[3];   /* presets a file may give */
    int64_t max_working_days; /* a plain clock in working days, at most */
    int64_t max_days;         /* in calendar days, at most (0: not allowed) */
    int64_t max_months;       /* in calendar months, at most (0: not allowed) */
    const char *law;
    const char *says;
} statutory;

static const statutory statutes[] = {
    {CH_POLICY_CASE_FOI,
     "charter-foi",
     "foi",
     "foisa",
     {"foi", "eir", "foisa"},
     20,
     0,
     0,
     "20 working days (Freedom of Information Act 2000 s.10; FOI (Scotland) Act 2002 s.10)",
     "Freedom of Information Act 2000 s.10: a request is answered within 20 working days, "
     "whichever way it was made. Supplied by Charter: the law applies whatever the charter "
     "says."},
    {CH_POLICY_CASE_EIR,
     "charter-eir",
     "eir",
     "foisa",
     {"eir", "foi", "foisa"},
     20,
     0,
     0,
     "20 working days (Environmental Information Regulations 2004 reg. 5)",
     "Environmental Information Regulations 2004 reg. 5: a request is answered within 20 "
     "working days, whichever way it was made. Supplied by Charter: the law applies whatever "
     "the charter says."},
    {CH_POLICY_CASE_SAR,
     "charter-sar",
     "sar",
     "sar",
     {"sar", NULL, NULL},
     20,
     28,
     1,
     "one calendar month (UK GDPR art. 12(3))",
     "UK GDPR art. 12(3): a subject access request is answered within one calendar month, "
     "whichever way it was made (in writing, by phone or in person). Supplied by Charter: the "
     "law applies whatever the charter says."},
};

#define MEASURED_SAYS                                                                              \
    "No promise in this charter covers this contact. Charter still records it: it is received, "   \
    "answered and counted, with no time promised."

/* The node of promise i's key (or the promise itself when absent). */
static yaml_node_t *
promise_node(ch__yaml *y, yaml_node_t *root, size_t i, const char *key, char *path)
{
    yaml_node_t *list = ch__yaml_get(y, root, "promises");
    char ip[CH__YAML_PATH_MAX];
    yaml_node_t *m = ch__yaml_item(y, list, "promises", i, ip);
    yaml_node_t *v = key ? ch__yaml_get(y, m, key) : NULL;
    if (v)
        ch__yaml_join(path, ip, key);
    else
        snprintf(path, CH__YAML_PATH_MAX, "%s", ip);
    return v ? v : m;
}

/* Why promise pr's response is not good enough for the statute, or NULL. */
static const char *
looser_than_law(const ch_policy *p, const statutory *st, const ch_policy_promise *pr)
{
    if (!pr->respond.set)
        return "has no response time";
    const ch_clock *c = &pr->respond.clock;
    if (c->preset[0]) {
        for (size_t k = 0; k < CH__COUNTOF(st->allowed) && st->allowed[k]; k++)
            if (strcmp(c->preset, st->allowed[k]) == 0)
                return NULL;
        return "is not the statutory clock for this case type (an extension the law allows "
               "is a holding reply, not a longer clock)";
    }
    if (c->anchor != CH_CLOCK_FROM_RECEIPT)
        return "counts from the acknowledgement, but the law counts from receipt";
    int fits = (c->kind == CH_CLOCK_WORKING_DAYS && c->n <= st->max_working_days) ||
               c->kind == CH_CLOCK_NEXT_WORKING_DAY ||
               (c->kind == CH_CLOCK_DAYS && c->n <= st->max_days) ||
               (c->kind == CH_CLOCK_MONTHS && c->n <= st->max_months);
    if (!fits)
        return "is longer than the law allows, or cannot be compared with it";
    if (p->nclosures && c->calendar == CH_CLOCK_CAL_ORGANISATION &&
        (c->kind == CH_CLOCK_WORKING_DAYS || c->kind == CH_CLOCK_NEXT_WORKING_DAY))
        return "counts the organisation's working days, and its closures could carry it past "
               "the law's date";
    return NULL;
}

/* A statutory type named in the file: every promise naming it keeps to the
 * law, and together they cover every channel. *named is set when any does. */
static int
check_statute(ch__policy_ld *l, yaml_node_t *root, const statutory *st, int *named)
{
    const ch_policy *p = l->p;
    const char *name = ch_policy_case_type_name(st->type);
    unsigned channels = 0;
    size_t first = 0;
    char path[CH__YAML_PATH_MAX];
    *named = 0;
    for (size_t i = 0; i < p->npromises; i++) {
        const ch_policy_promise *pr = &p->promises[i];
        if (!(pr->case_types & (1u << st->type)))
            continue;
        if (!*named)
            first = i;
        *named = 1;
        channels |= pr->channels;
        const char *why = looser_than_law(p, st, pr);
        if (why) {
            yaml_node_t *n = promise_node(&l->y, root, i, "respond", path);
            return ch__yaml_fail(&l->y, n, path,
                                 "%s (%s) %s: the law sets %s (expected respond: %s, or a "
                                 "shorter plain clock)",
                                 pr->respond.set ? pr->respond.text : "measured_only", name, why,
                                 st->law, st->preset);
        }
    }
    if (*named && !(channels & 1u) && (channels & ALL_CHANNELS) != ALL_CHANNELS) {
        yaml_node_t *n = promise_node(&l->y, root, first, "channel", path);
        return ch__yaml_fail(&l->y, n, path,
                             "%s is statutory on every channel (%s), but the promises naming it "
                             "cover only some channels: add a promise for %s with channel: any "
                             "(or name %s nowhere: Charter then applies the statutory clock on "
                             "every channel)",
                             name, st->law, name, name);
    }
    return 0;
}

/* Appends a supplied promise to the policy's list. */
static ch_policy_promise *
append(ch_policy *p)
{
    ch_policy_promise *a = realloc(p->promises, (p->npromises + 1) * sizeof(*a));
    if (!a)
        return NULL;
    p->promises = a;
    ch_policy_promise *pr = &a[p->npromises++];
    memset(pr, 0, sizeof(*pr));
    return pr;
}

static int
supply_statute(ch_policy *p, const statutory *st)
{
    ch_policy_promise *pr = append(p);
    if (!pr || !(pr->says = strdup(st->says)))
        return CH_ENOMEM;
    snprintf(pr->id, sizeof(pr->id), "%s", st->id);
    pr->origin = CH_POLICY_SUPPLIED_STATUTORY;
    pr->channels = 1u; /* any */
    pr->case_types = 1u << st->type;
    pr->ack = CH_POLICY_ACK_NONE;
    const char *preset = p->nation == CH_NATION_SCOTLAND ? st->scottish : st->preset;
    char why[256];
    if (ch_clock_parse(preset, &pr->respond.clock, why, sizeof(why)) != 0)
        abort(); /* our own constant */
    pr->respond.set = 1;
    snprintf(pr->respond.text, sizeof(pr->respond.text), "%s", preset);
    ch__policy_statutory_extension(pr); /* the law's extension, as in a file */
    return 0;
}

static int
supply_measured(ch_policy *p)
{
    ch_policy_promise *pr = append(p);
    if (!pr || !(pr->says = strdup(MEASURED_SAYS)))
        return CH_ENOMEM;
    snprintf(pr->id, sizeof(pr->id), "charter-measured");
    pr->origin = CH_POLICY_SUPPLIED_MEASURED;
    pr->channels = 1u;
    pr->case_types = 1u;
    pr->ack = CH_POLICY_ACK_NONE;
    pr->respond_measured_only = 1;
    pr->answer_measured_only = 1;
    pr->see_measured_only = 1;
    return 0;
}

int
ch__policy_route(ch__policy_ld *l, yaml_node_t *root)
{
    ch_policy *p = l->p;
    char path[CH__YAML_PATH_MAX];
    size_t nfile = p->npromises;
    for (size_t i = 0; i < nfile; i++)
        if (strncmp(p->promises[i].id, "charter-", 8) == 0) {
            yaml_node_t *n = promise_node(&l->y, root, i, "id", path);
            return ch__yaml_fail(&l->y, n, path,
                                 "'%s': ids starting with charter- are reserved for the rules "
                                 "Charter supplies (expected another id)",
                                 p->promises[i].id);
        }
    int named[CH__COUNTOF(statutes)];
    for (size_t s = 0; s < CH__COUNTOF(statutes); s++) {
        int rc = check_statute(l, root, &statutes[s], &named[s]);
        if (rc)
            return rc;
    }
    for (size_t s = 0; s < CH__COUNTOF(statutes); s++)
        if (!named[s] && supply_statute(p, &statutes[s]) != 0)
            return CH_ENOMEM;
    int catch_all = 0;
    for (size_t i = 0; i < p->npromises; i++)
        catch_all |= (p->promises[i].channels & 1u) && (p->promises[i].case_types & 1u);
    if (!catch_all && supply_measured(p) != 0)
        return CH_ENOMEM;

    p->case_types = (1u << CH_POLICY_CASE_ENQUIRY) | (1u << CH_POLICY_CASE_FOI) |
                    (1u << CH_POLICY_CASE_EIR) | (1u << CH_POLICY_CASE_SAR);
    for (size_t i = 0; i < p->npromises; i++)
        p->case_types |= p->promises[i].case_types & ~1u;
    return 0;
}

/* ---- lookups ---- */

const ch_policy_promise *
ch_policy_find_promise_for(const ch_policy *p, const char *channel, const char *case_type,
                           int had_appointment)
{
    const ch_policy_promise *pr = ch_policy_find_promise(p, channel, case_type);
    if (!had_appointment ||
        (pr && (pr->see_after_appointment.set || (pr->respond.set && !pr->respond_measured_only))))
        return pr;
    const ch_policy_promise *ap = ch_policy_find_promise(p, channel, "appointment");
    if (ap && (ap->case_types & (1u << CH_POLICY_CASE_APPOINTMENT)) &&
        ap->see_after_appointment.set)
        return ap;
    return pr;
}

int
ch_policy_case_type_known(const ch_policy *p, const char *case_type)
{
    ch_policy_case_type t = CH_POLICY_CASE_ENQUIRY;
    if (case_type && case_type[0] &&
        (ch_policy_case_type_parse(case_type, &t) != 0 || t == CH_POLICY_CASE_ANY))
        return 0;
    return (p->case_types & (1u << t)) != 0;
}

void
ch_policy_case_types_list(const ch_policy *p, char *buf, size_t bufsz)
{
    size_t used = 0;
    if (bufsz)
        buf[0] = '\0';
    for (int t = 1; t < CH_POLICY_CASE_COUNT; t++)
        if (p->case_types & (1u << t))
            ch__yaml_list_add(buf, bufsz, &used, ch_policy_case_type_name((ch_policy_case_type)t));
}
