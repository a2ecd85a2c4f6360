/*
 * A case named on the command line by its case id or its reference
 * (DH-2026-000056), as staff know it. A reference is resolved through
 * reporting's reference index in Redis (charter:report:ref:<reference>,
 * services/reporting/store.h), so charterctl must be given the Redis
 * reporting uses (--redis or CHARTER_REDIS_URL); reporting's page record of
 * the case (charter:report:{<org>}:page:<case id>) then gives its channel,
 * case type and receipt.
 */
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "charterctl.h"

int
ch_ctl_is_reference(const char *s)
{
    size_t n = strlen(s);
    return !(n == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-');
}

int
ch_ctl_is_case_id(struct redisContext *c, const char *s)
{
    /* sla-timer keeps every case's state under its id: a gateway's own case
     * ids need not be UUIDs ("aof-000007"), and are taken as they are */
    redisReply *r = redisCommand(c, "EXISTS charter:case:{%s}:sla", s);
    int yes = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r)
        freeReplyObject(r);
    return yes;
}

static void
copy(char *dst, size_t sz, const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    snprintf(dst, sz, "%s", s ? s : "");
}

int
ch_ctl_case_lookup(struct redisContext *c, const char *url, const char *cmd, const char *ref,
                   ch_ctl_case *out)
{
    memset(out, 0, sizeof(*out));
    redisReply *r = redisCommand(c, "GET charter:report:ref:%s", ref);
    const char *sp = r && r->type == REDIS_REPLY_STRING ? strchr(r->str, ' ') : NULL;
    if (!sp) {
        fprintf(stderr,
                "charterctl %s: no case with reference %s in reporting's index "
                "(charter:report:ref:%s) at %s; give the Redis reporting uses, or the case id\n",
                cmd, ref, ref, url);
        if (r)
            freeReplyObject(r);
        return 1;
    }
    snprintf(out->organisation, sizeof(out->organisation), "%.*s", (int)(sp - r->str), r->str);
    snprintf(out->case_id, sizeof(out->case_id), "%s", sp + 1);
    snprintf(out->reference, sizeof(out->reference), "%s", ref);
    freeReplyObject(r);
    r = redisCommand(c, "GET charter:report:{%s}:page:%s", out->organisation, out->case_id);
    json_t *page = r && r->type == REDIS_REPLY_STRING ? json_loadb(r->str, r->len, 0, NULL) : NULL;
    if (r)
        freeReplyObject(r);
    if (page) {
        copy(out->channel, sizeof(out->channel), page, "channel");
        copy(out->case_type, sizeof(out->case_type), page, "type");
        out->received_ms = json_integer_value(json_object_get(page, "received"));
        json_decref(page);
    }
    return 0;
}
