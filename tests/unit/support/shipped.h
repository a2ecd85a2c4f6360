/*
 * The five policies shipped in policies/ (seeds 000 to 004), as tests load
 * them: by organisation id, as a bare ch_policy or with their clocks
 * (ch_org_clocks), or all five at once as a test group's state. A policy
 * that does not load is reported on stderr with the loader's sentence and
 * the call returns -1, which is what a cmocka setup function returns.
 */
#ifndef CHARTER_TEST_SHIPPED_H
#define CHARTER_TEST_SHIPPED_H

#include "charter/org_set.h"
#include "charter/policy.h"

#define FX_SHIPPED_N 5

/* The organisation ids of the shipped policies, in seed order. */
extern const char *const fx_shipped_ids[FX_SHIPPED_N];

/* The shipped policies/ directory. */
const char *fx_policies_dir(void);

/* policies/<id>.yaml into p; 0 or -1. */
int fx_policy_load(const char *id, ch_policy *p);

/* policies/<id>.yaml with its clocks into oc; 0 or -1. */
int fx_org_clocks_load(const char *id, ch_org_clocks *oc);

/* The five, each with its clocks. */
typedef struct {
    ch_org_clocks nch;   /* 000 nottingham-city-homes */
    ch_org_clocks derby; /* 001 derby-homes */
    ch_org_clocks nihe;  /* 002 nihe */
    ch_org_clocks dfc;   /* 003 digital-first-council */
    ch_org_clocks ccc;   /* 004 customer-care-council */
} fx_shipped_clocks;

/* Loads all five; 0, or -1 at the first that does not load (those loaded
 * before it stay loaded: fx_shipped_clocks_free frees them, and the empty
 * rest, when *s started zeroed). */
int fx_shipped_clocks_load(fx_shipped_clocks *s);

/* Frees what fx_shipped_clocks_load loaded. */
void fx_shipped_clocks_free(fx_shipped_clocks *s);

/* A cmocka group setup and teardown: the five, loaded once into an
 * fx_shipped_clocks that each test of the group finds in *state. */
int fx_shipped_setup(void **state);
int fx_shipped_teardown(void **state);

#endif
