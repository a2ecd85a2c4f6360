/*
 * The policy store: the organisations' policies a service's descriptor asks
 * for (policy_dir_key), loaded before init and replaced on SIGHUP. sla-timer,
 * notification and reporting each wrote this (load, all-or-nothing swap,
 * metric, log line); ingest reads the reference prefixes from it. The swap
 * happens in the SIGHUP callback, between the loop's other callbacks, so a
 * service that looks its organisation up in each callback never sees a
 * freed policy.
 */
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/fileio.h"
#include "charter/policy_store.h"
#include "policy_store_int.h"
#include "runtime_int.h"

/* The override is read at every load, so a SIGHUP picks up an edited file. */
static int
apply_holidays(ch_org_set *set, const char *path, char *errstr, size_t errstr_size)
{
    char *buf = NULL;
    size_t len = 0;
    char why[512];
    int rc = ch_file_read_all(path, 4u << 20, &buf, &len, why, sizeof(why));
    if (rc != 0) {
        snprintf(errstr, errstr_size, "holidays.override_file: %s", why);
        return rc == CH_ENOMEM ? rc : CH_EINVAL;
    }
    rc = ch_org_set_apply_holidays(set, buf, len, path, errstr, errstr_size);
    free(buf);
    return rc;
}

int
ch__org_set_replace(ch_org_set *cur, const char *dir, const char *key, const char *holidays_file,
                    int (*check)(void *arg, char *errstr, size_t errstr_size), void *arg,
                    char *errstr, size_t errstr_size)
{
    ch_org_set fresh = {0};
    int rc = dir ? ch_org_set_load(dir, key, &fresh, errstr, errstr_size) : 0;
    if (rc == CH_ENOMEM)
        snprintf(errstr, errstr_size, "out of memory loading the policies in %s", dir);
    if (rc != 0)
        return rc;
    if (holidays_file && holidays_file[0] &&
        (rc = apply_holidays(&fresh, holidays_file, errstr, errstr_size)) != 0) {
        ch_org_set_free(&fresh);
        return rc;
    }
    if (check && (rc = check(arg, errstr, errstr_size)) != 0) {
        ch_org_set_free(&fresh);
        return rc;
    }
    ch_org_set old = *cur;
    *cur = fresh;
    ch_org_set_free(&old);
    return 0;
}

const ch_org_set *
ch_runtime_orgs(const ch_runtime *rt)
{
    return &rt->orgs;
}

/* The directory, or NULL for an optional one left empty (no policies). */
static const char *
policy_dir(const ch_runtime *rt)
{
    return !rt->policy_dir[0] && rt->svc->policy_dir_optional ? NULL : rt->policy_dir;
}

int
ch__policies_open(ch_runtime *rt, char *errstr, size_t errstr_size)
{
    const char *key = rt->svc->policy_dir_key;
    if (!key)
        return 0;
    rt->policy_dir = ch_config_string(&rt->config, key);
    if (!rt->policy_dir) {
        snprintf(errstr, errstr_size, "policy_dir_key '%s' names no string key of %s's table", key,
                 rt->svc->name);
        return CH_EINVAL;
    }
    rt->m_policy_reloads =
        ch_metric_counter(rt,
                          rt->svc->policy_reloads_metric ? rt->svc->policy_reloads_metric
                                                         : "charter_policy_reloads_total",
                          "successful policy reloads (SIGHUP)");
    rt->m_policy_refused = ch_metric_counter(rt, "charter_policy_reloads_refused_total",
                                             "policy reloads refused (a bad policy: the running "
                                             "ones stay; the log says why)");
    rt->m_policy_ok = ch_metric_gauge(rt, "charter_policy_reload_ok",
                                      "1 when the last policy load or reload succeeded, 0 after "
                                      "a refused reload (alert on 0)");
    ch_metric_set(rt->m_policy_ok, 1);
    if (!rt->m_policy_reloads || !rt->m_policy_refused || !rt->m_policy_ok) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    if (!policy_dir(rt))
        return 0;
    int rc = ch__org_set_replace(&rt->orgs, rt->policy_dir, key, rt->cfg.holidays_override_file,
                                 NULL, NULL, errstr, errstr_size);
    if (rc != 0)
        return rc == CH_ENOMEM ? rc : CH_EINVAL; /* a bad directory is bad configuration */
    CH_LOG_INFO(&rt->log, "policies loaded", CH_STR("dir", rt->policy_dir),
                CH_INT("organisations", rt->orgs.n));
    return 0;
}

static int
service_check(void *arg, char *errstr, size_t errstr_size)
{
    ch_runtime *rt = arg;
    return rt->svc->reload_check(rt->svc_ctx, errstr, errstr_size);
}

void
ch__policies_reload(ch_runtime *rt)
{
    if (rt->svc->policy_dir_key) {
        char err[1024];
        if (ch__org_set_replace(
                &rt->orgs, policy_dir(rt), rt->svc->policy_dir_key, rt->cfg.holidays_override_file,
                rt->svc->reload_check ? service_check : NULL, rt, err, sizeof(err)) != 0) {
            CH_LOG_ERROR(&rt->log, "policy reload refused; keeping the running policies",
                         CH_STR("error", err));
            ch_metric_add(rt->m_policy_refused, 1);
            ch_metric_set(rt->m_policy_ok, 0);
            return;
        }
        ch_metric_add(rt->m_policy_reloads, 1);
        ch_metric_set(rt->m_policy_ok, 1);
        CH_LOG_INFO(&rt->log, "policies reloaded", CH_INT("organisations", rt->orgs.n));
    }
    if (rt->svc->reload)
        rt->svc->reload(rt->svc_ctx);
}

void
ch__policies_close(ch_runtime *rt)
{
    ch_org_set_free(&rt->orgs);
}
