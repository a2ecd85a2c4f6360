/*
 * The shipped policies for tests (shipped.h). The directory comes from the
 * build (CHARTER_POLICIES_DIR, set on this library alone), so a test that
 * loads shipped policies through here needs no path of its own.
 */
#include <stdio.h>
#include <stdlib.h>

#include "support/shipped.h"

#ifndef CHARTER_POLICIES_DIR
#error "CHARTER_POLICIES_DIR must name the policies/ directory"
#endif

const char *const fx_shipped_ids[FX_SHIPPED_N] = {"nottingham-city-homes", "derby-homes", "nihe",
                                                  "digital-first-council", "customer-care-council"};

const char *
fx_policies_dir(void)
{
    return CHARTER_POLICIES_DIR;
}

static void
path_of(const char *id, char *out, size_t size)
{
    snprintf(out, size, "%s/%s.yaml", CHARTER_POLICIES_DIR, id);
}

/* -1 with the loader's sentence on stderr if rc says it failed, else 0. */
static int
loaded(int rc, const char *err)
{
    if (rc == 0)
        return 0;
    fprintf(stderr, "%s\n", err);
    return -1;
}

int
fx_policy_load(const char *id, ch_policy *p)
{
    char path[512], err[1024];
    path_of(id, path, sizeof(path));
    return loaded(ch_policy_load_file(path, p, err, sizeof(err)), err);
}

int
fx_org_clocks_load(const char *id, ch_org_clocks *oc)
{
    char path[512], err[1024];
    path_of(id, path, sizeof(path));
    return loaded(ch_org_clocks_load(path, oc, err, sizeof(err)), err);
}

int
fx_shipped_clocks_load(fx_shipped_clocks *s)
{
    ch_org_clocks *const each[FX_SHIPPED_N] = {&s->nch, &s->derby, &s->nihe, &s->dfc, &s->ccc};
    for (int i = 0; i < FX_SHIPPED_N; i++)
        if (fx_org_clocks_load(fx_shipped_ids[i], each[i]) != 0)
            return -1;
    return 0;
}

void
fx_shipped_clocks_free(fx_shipped_clocks *s)
{
    ch_org_clocks_free(&s->nch);
    ch_org_clocks_free(&s->derby);
    ch_org_clocks_free(&s->nihe);
    ch_org_clocks_free(&s->dfc);
    ch_org_clocks_free(&s->ccc);
}

int
fx_shipped_setup(void **state)
{
    fx_shipped_clocks *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    if (fx_shipped_clocks_load(s) != 0) {
        fx_shipped_clocks_free(s); /* those that loaded; the rest are empty */
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}

int
fx_shipped_teardown(void **state)
{
    fx_shipped_clocks_free(*state);
    free(*state);
    return 0;
}
