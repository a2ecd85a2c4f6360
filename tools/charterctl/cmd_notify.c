/*
 * charterctl notify: the operator's hand on notification's parked set.
 *
 *   charterctl notify parked [--organisation ID] [--redis URL]
 *   charterctl notify replay [--organisation ID] [--redis URL]
 *
 * notification parks a notice (services/notification/queue.h) when its
 * retry budget is spent or the receiver refused our credentials: the
 * member moves from "charter:notify:queue" to "charter:notify:parked", its
 * record becomes "parked" and its message stays. `replay` puts each one
 * back, in one script per notice: record "queued", attempts 0, due now (on
 * Redis's clock), out of the parked set; the running notification instances
 * send it as any other. A notice whose record is no longer "parked" (sent
 * meanwhile by another replay) is only taken out of the set, and one whose
 * message has expired (notify's 30 days) is dropped and counted, so a
 * replay never sends anything twice. The key names are notification's
 * (queue.h, queue_state.c); this file is the only other place they appear.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/timeutil.h"
#include "charterctl.h"

#define QUEUE_KEY "charter:notify:queue"
#define PARKED_KEY "charter:notify:parked"
#define RECORD_TTL_S (400 * 86400)

/* KEYS: record, message, queue, parked; ARGV: member, organisation ("" for
 * any), record ttl. */
static const char replay_lua[] =
    "if redis.call('EXISTS', KEYS[2]) == 0 then\n"
    "  redis.call('ZREM', KEYS[4], ARGV[1]) return 'expired' end\n"
    "if ARGV[2] ~= '' and redis.call('HGET', KEYS[2], 'organisation') ~= ARGV[2] then\n"
    "  return 'other' end\n"
    "if redis.call('GET', KEYS[1]) ~= 'parked' then\n"
    "  redis.call('ZREM', KEYS[4], ARGV[1]) return 'settled' end\n"
    "local t = redis.call('TIME')\n"
    "redis.call('SET', KEYS[1], 'queued', 'EX', ARGV[3])\n"
    "redis.call('HSET', KEYS[2], 'attempts', '0')\n"
    "redis.call('ZADD', KEYS[3], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), "
    "ARGV[1])\n"
    "redis.call('ZREM', KEYS[4], ARGV[1])\n"
    "return 'replayed'\n";

/* A parked member "<case>/<what>"'s record and message keys; 0 or -1. */
static int
keys_of(const char *member, char *record, size_t recordsz, char *job, size_t jobsz)
{
    const char *slash = strchr(member, '/');
    if (!slash || !slash[1])
        return -1;
    int a = snprintf(record, recordsz, "charter:notify:{%.*s}:%s", (int)(slash - member), member,
                     slash + 1);
    int b = snprintf(job, jobsz, "%s:job", record);
    return a < 0 || (size_t)a >= recordsz || b < 0 || (size_t)b >= jobsz ? -1 : 0;
}

static int
list(redisContext *c, redisReply *members, const char *org)
{
    printf("%-24s %-28s %-9s %s\n", "parked_at", "organisation", "attempts", "notification");
    for (size_t i = 0; i + 1 < members->elements; i += 2) {
        const char *m = members->element[i]->str;
        char record[400], job[420], at[CH_TIME_BUFSZ] = "";
        if (!m || keys_of(m, record, sizeof(record), job, sizeof(job)) != 0)
            continue;
        redisReply *h = redisCommand(c, "HMGET %s organisation attempts", job);
        if (!h || h->type != REDIS_REPLY_ARRAY || h->elements != 2) {
            freeReplyObject(h);
            fprintf(stderr, "charterctl notify: Redis: %s\n", c->errstr);
            return 1;
        }
        const char *o = h->element[0]->str ? h->element[0]->str : "(expired)";
        if (!org || !strcmp(o, org)) {
            ch_time_format_utc(strtoll(members->element[i + 1]->str, NULL, 10), at, sizeof(at));
            printf("%-24s %-28s %-9s %s\n", at, o, h->element[1]->str ? h->element[1]->str : "", m);
        }
        freeReplyObject(h);
    }
    return 0;
}

static int
replay(redisContext *c, redisReply *members, const char *org)
{
    int counts[4] = {0}; /* replayed, settled, expired, other */
    char ttl[16];
    snprintf(ttl, sizeof(ttl), "%d", RECORD_TTL_S);
    for (size_t i = 0; i + 1 < members->elements; i += 2) {
        const char *m = members->element[i]->str;
        char record[400], job[420];
        if (!m || keys_of(m, record, sizeof(record), job, sizeof(job)) != 0)
            continue;
        const char *argv[] = {"EVAL",    replay_lua, "4", record,         job,
                              QUEUE_KEY, PARKED_KEY, m,   org ? org : "", ttl};
        redisReply *r = redisCommandArgv(c, 10, argv, NULL);
        if (!r || r->type != REDIS_REPLY_STRING) {
            fprintf(stderr, "charterctl notify replay: Redis: %s\n",
                    r && r->str ? r->str : c->errstr);
            freeReplyObject(r);
            return 1;
        }
        counts[!strcmp(r->str, "replayed")  ? 0
               : !strcmp(r->str, "settled") ? 1
               : !strcmp(r->str, "expired") ? 2
                                            : 3]++;
        freeReplyObject(r);
    }
    printf("replayed %d, already settled %d, expired %d\n", counts[0], counts[1], counts[2]);
    return 0;
}

int
ch_cmd_notify(int argc, char **argv)
{
    const char *org = NULL, *url = getenv("CHARTER_REDIS_URL");
    if (!url)
        url = "redis://127.0.0.1:6379/0";
    const char *what = argc > 1 ? argv[1] : "";
    int usage = strcmp(what, "parked") != 0 && strcmp(what, "replay") != 0;
    for (int i = 2; !usage && i < argc; i += 2) {
        if (i + 1 >= argc)
            usage = 1;
        else if (!strcmp(argv[i], "--organisation"))
            org = argv[i + 1];
        else if (!strcmp(argv[i], "--redis"))
            url = argv[i + 1];
        else
            usage = 1;
    }
    if (usage) {
        fprintf(stderr, "usage: charterctl notify (parked | replay) [--organisation ID] "
                        "[--redis URL]\n(Redis from --redis, else CHARTER_REDIS_URL)\n");
        return 2;
    }
    redisContext *c = ch_ctl_redis_connect(url, "notify");
    if (!c)
        return 1;
    int code = 1;
    redisReply *members = redisCommand(c, "ZRANGE %s 0 -1 WITHSCORES", PARKED_KEY);
    if (!members || members->type != REDIS_REPLY_ARRAY)
        fprintf(stderr, "charterctl notify: Redis: %s\n",
                members && members->str ? members->str : c->errstr);
    else
        code = !strcmp(what, "parked") ? list(c, members, org) : replay(c, members, org);
    freeReplyObject(members);
    redisFree(c);
    return code;
}
