/*
 * Loading the organisations (see org_set.h). All or nothing, so a service
 * never runs with half of a directory it was pointed at: the first bad file
 * stops the load and its error, which names the file and line, is the one
 * the operator sees. Directory order decides which bad file that is.
 */
#include "charter/org_set.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"

int
ch_org_clocks_load(const char *path, ch_org_clocks *out, char *errstr, size_t errstr_size)
{
    memset(out, 0, sizeof(*out));
    int rc = ch_policy_load_file(path, &out->policy, errstr, errstr_size);
    if (rc != 0)
        return rc;
    char why[256];
    out->tz = ch_tz_load(out->policy.timezone, NULL, why, sizeof(why));
    if (!out->tz) {
        if (out->policy.timezone_line)
            snprintf(errstr, errstr_size, "%s:%d:%d: timezone: %s", path, out->policy.timezone_line,
                     out->policy.timezone_column, why);
        else
            snprintf(errstr, errstr_size, "%s: timezone: %s", path, why);
        ch_org_clocks_free(out);
        return CH_EINVAL;
    }
    out->calendar = ch_policy_calendar_new(&out->policy);
    out->uk_any = ch_calendar_new(CH_NATION_UK_ANY);
    out->scotland = ch_calendar_new(CH_NATION_SCOTLAND);
    if (!out->calendar || !out->uk_any || !out->scotland) {
        snprintf(errstr, errstr_size, "%s: out of memory", path);
        ch_org_clocks_free(out);
        return CH_ENOMEM;
    }
    out->ctx.tz = out->tz;
    out->ctx.calendar = out->calendar;
    out->ctx.uk_any = out->uk_any;
    out->ctx.scotland = out->scotland;
    out->ctx.hours = &out->policy.hours;
    out->ctx.defer_out_of_hours = out->policy.defer_out_of_hours;
    return 0;
}

void
ch_org_clocks_free(ch_org_clocks *oc)
{
    ch_policy_free(&oc->policy);
    ch_tz_free(oc->tz);
    ch_calendar_free(oc->calendar);
    ch_calendar_free(oc->uk_any);
    ch_calendar_free(oc->scotland);
    memset(oc, 0, sizeof(*oc));
}

static int
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

void
ch_org_set_free(ch_org_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        ch_org_clocks_free(set->orgs[i]);
        free(set->orgs[i]);
    }
    set->n = 0;
}

const ch_org_clocks *
ch_org_set_find(const ch_org_set *set, const char *id)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->orgs[i]->policy.id, id) == 0)
            return set->orgs[i];
    return NULL;
}

int
ch_org_set_load(const char *dir, const char *key, ch_org_set *out, char *errstr, size_t errstr_size)
{
    memset(out, 0, sizeof(*out));
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(errstr, errstr_size, "%s %s cannot be read: %s", key, dir, strerror(errno));
        return CH_EIO;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.' || !ends_with(e->d_name, ".yaml"))
            continue;
        if (out->n == CH_ORG_SET_MAX) {
            snprintf(errstr, errstr_size, "%s: more than %d policies", dir, CH_ORG_SET_MAX);
            rc = CH_EINVAL;
            break;
        }
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        ch_org_clocks *oc = malloc(sizeof(*oc));
        if (!oc) {
            rc = CH_ENOMEM;
            break;
        }
        rc = ch_org_clocks_load(path, oc, errstr, errstr_size);
        if (rc != 0) {
            free(oc);
            break;
        }
        if (ch_org_set_find(out, oc->policy.id)) {
            snprintf(errstr, errstr_size, "%s: organisation id '%s' is used by two policies", path,
                     oc->policy.id);
            rc = CH_EINVAL;
        }
        out->orgs[out->n++] = oc;
    }
    closedir(d);
    if (rc == 0 && out->n == 0) {
        snprintf(errstr, errstr_size, "%s %s holds no *.yaml policy", key, dir);
        rc = CH_EINVAL;
    }
    if (rc != 0)
        ch_org_set_free(out);
    return rc;
}

int
ch_org_set_apply_holidays(ch_org_set *set, const char *json, size_t len, const char *name,
                          char *errstr, size_t errstr_size)
{
    /* uk-any needs all three divisions: checking against it first means every
     * later apply, of the same bytes, passes the same checks. */
    ch_calendar *probe = ch_calendar_new(CH_NATION_UK_ANY);
    if (!probe) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    int rc = ch_calendar_apply_govuk_json(probe, json, len, name, errstr, errstr_size);
    ch_calendar_free(probe);
    for (size_t i = 0; rc == 0 && i < set->n; i++) {
        ch_org_clocks *oc = set->orgs[i];
        ch_calendar *cals[] = {oc->calendar, oc->uk_any, oc->scotland};
        for (size_t k = 0; rc == 0 && k < sizeof(cals) / sizeof(cals[0]); k++)
            rc = ch_calendar_apply_govuk_json(cals[k], json, len, name, errstr, errstr_size);
    }
    return rc;
}
