/* charterctl's subcommands, one file each; main.c dispatches. Each returns
 * the process exit code (0 ok, 1 failure, 2 usage). */
#ifndef CHARTERCTL_H
#define CHARTERCTL_H

#include <stdint.h>

#include "charter/deadline.h"
#include "charter/policy.h"

int ch_cmd_policy(int argc, char **argv);
int ch_cmd_deadline_policy(int argc, char **argv);
int ch_cmd_deadline(int argc, char **argv);
int ch_cmd_holidays(int argc, char **argv);
/* `holidays --override FILE`: checks a GOV.UK bank-holidays file as the
 * services would (holidays.override_file) and lists what it adds and removes. */
int ch_cmd_holidays_override(const char *path);
int ch_cmd_timers(int argc, char **argv);
int ch_cmd_report(int argc, char **argv);
int ch_cmd_notify(int argc, char **argv);
int ch_cmd_erase(int argc, char **argv);

/* A connection to the Redis at url (charter/redis_url.h: password, ACL
 * user, database), or NULL after a message on stderr naming `charterctl
 * cmd`. Free it with redisFree. */
struct redisContext *ch_ctl_redis_connect(const char *url, const char *cmd);

/* A case as charterctl finds it (case_lookup.c). */
typedef struct {
    char case_id[128], organisation[128], reference[64];
    char channel[32], case_type[48];
    int64_t received_ms; /* 0: not known */
} ch_ctl_case;

/* 1 when s is a reference (DH-2026-000056) rather than a case id (UUID). */
int ch_ctl_is_reference(const char *s);
/* 1 when sla-timer holds a case with this id (its state key exists): a
 * gateway's own case id that is not a UUID is then taken as it is. */
int ch_ctl_is_case_id(struct redisContext *c, const char *s);
/* The case of reference ref from reporting's index and page record in the
 * Redis of c (url, for messages): 0, or 1 after a message on stderr naming
 * `charterctl cmd`. */
int ch_ctl_case_lookup(struct redisContext *c, const char *url, const char *cmd, const char *ref,
                       ch_ctl_case *out);

/* `deadline --policy ... --extend-to INSTANT [--basis B] [--sent INSTANT]
 * [--with LIST]`: a holding reply to judge. NULL members were not given. */
typedef struct {
    const char *extend_to, *basis, *sent, *with;
} ch_deadline_extend;

/* Prints the verdict (charter/extension.h) on a holding reply asking for
 * o->extend_to, sent at o->sent (default: start), carrying o->with (default:
 * everything the promise asks for), for promise pr's response clock from
 * start, due at due. Returns 0, or 2 after a usage message. */
int ch_deadline_extension(const ch_deadline_ctx *ctx, const ch_policy_promise *pr, int64_t start,
                          int64_t due, const ch_deadline_extend *o);

#endif
