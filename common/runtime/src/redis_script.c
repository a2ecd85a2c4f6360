/*
 * Lua scripts by digest. A service registers each script once; every call
 * goes as EVALSHA with the script's SHA-1, and only when Redis does not
 * know the script (NOSCRIPT: it restarted, or SCRIPT FLUSH) is the same call
 * sent once more as EVAL with the text, which also loads it for the calls
 * after. The caller never sees the NOSCRIPT answer, and its callback still
 * runs exactly once.
 *
 * The words of a call are copied into one allocation with the call's state,
 * because the EVAL retry needs them after the caller's buffers are gone.
 */
#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "runtime_int.h"

typedef struct {
    ch_redis_script *s;
    ch_redis_cb cb;
    void *opaque;
    int argc; /* words including EVALSHA, the digest and the key count */
    int sent_text;
    const char **argv;
    size_t *argvlen;
    char nkeys[16];
} script_call;

ch_redis_script *
ch_redis_script_new(ch_runtime *rt, const char *lua)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    ch_redis_script *s = calloc(1, sizeof(*s));
    if (!s || !(s->lua = strdup(lua)) ||
        !EVP_Digest(lua, strlen(lua), md, &mdlen, EVP_sha1(), NULL) ||
        mdlen * 2 >= sizeof(s->sha)) {
        if (s)
            free(s->lua);
        free(s);
        return NULL;
    }
    for (unsigned int i = 0; i < mdlen; i++) {
        s->sha[2 * i] = hex[md[i] >> 4];
        s->sha[2 * i + 1] = hex[md[i] & 15];
    }
    s->sha[2 * mdlen] = '\0';
    s->rt = rt;
    s->next = rt->scripts;
    rt->scripts = s;
    return s;
}

void
ch__redis_scripts_free(ch_runtime *rt)
{
    while (rt->scripts) {
        ch_redis_script *s = rt->scripts;
        rt->scripts = s->next;
        free(s->lua);
        free(s);
    }
}

/* On each connection (redis.c), every script is loaded before any call is
 * sent, so a call's EVALSHA finds it: the NOSCRIPT fallback below then runs
 * only after a SCRIPT FLUSH. It matters at shutdown, when the connection is
 * closing and a fallback EVAL could no longer be sent (e.g. a script whose
 * first call is a delivery report served during the producer's flush). The
 * answers are not needed: a refusal leaves the fallback in place. */
void
ch__redis_scripts_load(ch_runtime *rt, redisAsyncContext *ac)
{
    for (ch_redis_script *s = rt->scripts; s; s = s->next) {
        const char *argv[] = {"SCRIPT", "LOAD", s->lua};
        redisAsyncCommandArgv(ac, NULL, NULL, 3, argv, NULL);
    }
}

static void
call_replied(redisAsyncContext *ac, void *r, void *priv)
{
    (void)ac;
    script_call *c = priv;
    redisReply *reply = r;
    if (reply && reply->type == REDIS_REPLY_ERROR && !c->sent_text &&
        strncmp(reply->str, "NOSCRIPT", 8) == 0) {
        c->sent_text = 1;
        c->argv[0] = "EVAL";
        c->argv[1] = c->s->lua;
        c->argvlen[0] = 4;
        c->argvlen[1] = strlen(c->s->lua);
        if (ch__redis_send_argv(c->s->rt, call_replied, c, c->argc, c->argv, c->argvlen) == 0)
            return;
        reply = NULL; /* the connection is gone: as if it dropped */
    }
    if (c->cb)
        c->cb(c->opaque, reply);
    free(c);
}

int
ch_redis_script_call(ch_redis_script *s, ch_redis_cb cb, void *opaque, int nkeys, int argc,
                     const char **argv, const size_t *argvlen)
{
    if (!ch_redis_ready(s->rt))
        return CH_EAGAIN;
    if (nkeys < 0 || argc < nkeys)
        return CH_EINVAL;
    size_t words = (size_t)argc + 3, bytes = 0;
    for (int i = 0; i < argc; i++)
        bytes += argvlen ? argvlen[i] : strlen(argv[i]);
    script_call *c =
        malloc(sizeof(*c) + words * (sizeof(*c->argv) + sizeof(*c->argvlen)) + bytes + 1);
    if (!c)
        return CH_ENOMEM;
    c->s = s;
    c->cb = cb;
    c->opaque = opaque;
    c->argc = (int)words;
    c->sent_text = 0;
    c->argvlen = (size_t *)(c + 1);
    c->argv = (const char **)(c->argvlen + words);
    char *data = (char *)(c->argv + words);
    snprintf(c->nkeys, sizeof(c->nkeys), "%d", nkeys);
    const char *head[3] = {"EVALSHA", s->sha, c->nkeys};
    for (size_t i = 0; i < 3; i++) {
        c->argv[i] = head[i];
        c->argvlen[i] = strlen(head[i]);
    }
    for (int i = 0; i < argc; i++) {
        size_t len = argvlen ? argvlen[i] : strlen(argv[i]);
        memcpy(data, argv[i], len);
        c->argv[3 + i] = data;
        c->argvlen[3 + i] = len;
        data += len;
    }
    int rc = ch__redis_send_argv(s->rt, call_replied, c, c->argc, c->argv, c->argvlen);
    if (rc != 0)
        free(c);
    return rc;
}
