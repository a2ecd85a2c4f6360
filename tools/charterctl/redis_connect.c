/*
 * charterctl's connection to the Redis the services use, from the same URL
 * form they take (charter/redis_url.h): the commands that read or change
 * what the services keep there (timers, notify) connect through this one
 * function, so a password, an ACL user or a database number is handled the
 * same way by each, and a refused AUTH or SELECT is said, not ignored.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>

#include "charter/redis_url.h"
#include "charterctl.h"

/* Sends one command; 0, or -1 after printing Redis's refusal. */
static int
setup_command(redisContext *c, const char *cmd, const char *what, redisReply *r)
{
    int bad = !r || r->type == REDIS_REPLY_ERROR;
    if (bad)
        fprintf(stderr, "charterctl %s: Redis refused %s: %s\n", cmd, what, r ? r->str : c->errstr);
    if (r)
        freeReplyObject(r);
    return bad ? -1 : 0;
}

redisContext *
ch_ctl_redis_connect(const char *url, const char *cmd)
{
    ch_redis_url u;
    char err[512];
    if (ch_redis_url_parse(url, &u, err, sizeof(err)) != 0) {
        fprintf(stderr, "charterctl %s: %s\n", cmd, err);
        return NULL;
    }
    redisContext *c = u.unix_path[0] ? redisConnectUnix(u.unix_path) : redisConnect(u.host, u.port);
    if (!c || c->err) {
        fprintf(stderr, "charterctl %s: cannot connect to Redis at %s: %s\n", cmd,
                u.unix_path[0] ? u.unix_path : u.host, c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    int rc = 0;
    if (u.password[0])
        rc = setup_command(c, cmd, "the password in the URL",
                           u.user[0] ? redisCommand(c, "AUTH %s %s", u.user, u.password)
                                     : redisCommand(c, "AUTH %s", u.password));
    if (rc == 0 && u.db)
        rc = setup_command(c, cmd, "the database number in the URL",
                           redisCommand(c, "SELECT %d", u.db));
    if (rc != 0) {
        redisFree(c);
        return NULL;
    }
    return c;
}
