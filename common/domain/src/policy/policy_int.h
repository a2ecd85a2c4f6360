/*
 * What the policy module's files share and no one else sees: the loader's
 * state, the entry points from one part of the walk to the next
 * (ch_policy_load_text -> load.c's root -> promise.c's promises), and the
 * format's words (policy_names.c) that the loader reads and the
 * descriptions write.
 */
#ifndef CHARTER_POLICY_INT_H
#define CHARTER_POLICY_INT_H

#include <stddef.h>

#include "charter/policy.h"
#include "yaml_walk.h"

/* The number of elements of an array (not a pointer). */
#define CH__COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

/* One load: the walk (first, so a key table's function can get back from
 * its ch__yaml *) and the policy being filled. */
typedef struct {
    ch__yaml y;
    ch_policy *p;
    const yaml_node_t *promise;    /* the promise being read */
    const ch_policy_clock *warned; /* the clock its warnings count towards */
} ch__policy_ld;

static inline ch__policy_ld *
ch__policy_ld_of(ch__yaml *y)
{
    return (ch__policy_ld *)y;
}

/* load.c: the whole document, from its root node. */
int ch__policy_load_root(ch__policy_ld *l, yaml_node_t *root);

/* promise.c: one item of the root's promises: list (field is its
 * ch_policy_promise, in the policy's array). */
int ch__policy_read_promise(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_key *k,
                            void *field);

/* routing.c: after the promises are read, the statutory rules checked and
 * supplied, the last measured-only rule added, the case types listed. */
int ch__policy_route(ch__policy_ld *l, yaml_node_t *root);

/* promise.c: gives a promise whose respond clock is the foi, eir or sar preset
 * the one extension its law allows (statutory_basis, statutory_limit, a
 * holding reply with the reason and date); nothing for other clocks. For
 * the promises routing.c supplies as well as the file's. */
void ch__policy_statutory_extension(ch_policy_promise *pr);

/* policy_keys.c: every key of the document is one code acts on. */
int ch__policy_check_acted(ch__yaml *y, yaml_node_t *root);

/* load.c: a key naming one of the roles; field is a size_t, the index into
 * the policy's roles. */
int ch__policy_role_key(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_key *k,
                        void *field);

/* load.c: lower-case letters and digits, and '-' or '_' where allowed. */
int ch__policy_is_word(const char *s, int allow_dash, int allow_underscore);

/* load.c: a TEXT key's check that the text is an id: lower-case letters,
 * digits and '-', and '_' too when k->arg; k->data says so in the error
 * ("lower-case letters, digits and '-', e.g. ..."). */
int ch__policy_check_id(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_key *k,
                        void *field);

/* policy_names.c: the format's words for organisation.kind,
 * reporting.publish, reporting.communication_support, reply_channel,
 * holding_reply.must_include, measures and callback. */
extern const ch__yaml_name ch__policy_org_kinds[], ch__policy_periods[], ch__policy_support_names[],
    ch__policy_reply_channels[], ch__policy_hold_names[], ch__policy_measure_names[],
    ch__policy_callbacks[];

/* policy_names.c: "monday" and "Monday" for day 0..6. */
const char *ch__policy_day_name(int day);
const char *ch__policy_day_title(int day);

#endif
