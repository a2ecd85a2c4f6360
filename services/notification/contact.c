/*
 * The contact store on Redis (see contact.h). Only this file knows the key
 * and the hash's field names.
 */
#include "contact.h"

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/names.h"

static void
contact_key(const char *case_id, char *buf, size_t bufsz)
{
    snprintf(buf, bufsz, "charter:case:{%s}:contact", case_id);
}

/* The caller's callback for a write, which gets EXEC's answer checked. */
typedef struct {
    ch_redis_cb cb;
    void *opaque;
} write_ctx;

/* EXEC's answer: an error (EXECABORT after a refused HSET, e.g. OOM under
 * maxmemory) or an error among the answers goes to the caller as that
 * error, so the record is retried rather than marked done with its contact
 * lost (the review's L3). */
static void
written(void *opaque, redisReply *reply)
{
    write_ctx c = *(write_ctx *)opaque;
    free(opaque);
    if (reply && reply->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < reply->elements; i++)
            if (reply->element[i]->type == REDIS_REPLY_ERROR) {
                reply = reply->element[i];
                break;
            }
    if (reply && reply->type == REDIS_REPLY_NIL)
        reply = NULL; /* EXEC aborted */
    if (c.cb)
        c.cb(c.opaque, reply);
}

/* HSET key with n name/value strings and EXPIRE, in one MULTI/EXEC whose
 * answer cb gets (NULL or an error reply when any part was refused). */
static int
hset(ch_runtime *rt, const char *key, const char **pairs, int n, int ttl_s, ch_redis_cb cb,
     void *opaque)
{
    const char *argv[32] = {"HSET", key};
    for (int i = 0; i < n && i < 30; i++)
        argv[i + 2] = pairs[i];
    write_ctx *c = malloc(sizeof(*c));
    if (!c)
        return CH_ENOMEM;
    *c = (write_ctx){cb, opaque};
    int rc = ch_redis_command(rt, NULL, NULL, "MULTI");
    if (rc == 0)
        rc = ch_redis_command_argv(rt, NULL, NULL, n + 2, argv, NULL);
    if (rc == 0)
        rc = ch_redis_command(rt, NULL, NULL, "EXPIRE %s %d", key, ttl_s);
    if (rc == 0)
        rc = ch_redis_command(rt, written, c, "EXEC");
    if (rc != 0) {
        free(c);
        ch_redis_command(rt, NULL, NULL, "DISCARD");
    }
    return rc;
}

int
notify_contact_record(ch_runtime *rt, const Charter__V1__CaseEvent *ev, int ttl_s, ch_redis_cb cb,
                      void *opaque)
{
    const Charter__V1__Received *r = ev->received;
    const Charter__V1__Customer *c = r->customer;
    char key[160];
    contact_key(ev->case_id, key, sizeof(key));
    const char *pairs[] = {
        "channel",
        ch_channel_name(r->channel),
        "name",
        c ? c->name : "",
        "email",
        c ? c->email : "",
        "phone",
        c ? c->phone : "",
        "preferred_channel",
        c ? c->preferred_channel : "",
        "language",
        c && c->preferred_language[0] ? c->preferred_language : "en",
        "reference",
        r->reference,
        "case_type",
        r->case_type,
        "postal_address",
        c ? c->postal_address : "",
        "social_id",
        c ? c->social_id : "",
        "gateway_account",
        r->gateway_account,
    };
    return hset(rt, key, pairs, (int)(CH_COUNTOF(pairs)), ttl_s, cb, opaque);
}

int
notify_contact_assign(ch_runtime *rt, const Charter__V1__CaseEvent *ev, int ttl_s, ch_redis_cb cb,
                      void *opaque)
{
    const Charter__V1__Assigned *a = ev->assigned;
    char key[160];
    contact_key(ev->case_id, key, sizeof(key));
    const char *pairs[] = {
        "assigned_name",  a->name,  "assigned_team",  a->team,
        "assigned_phone", a->phone, "assigned_email", a->email,
    };
    return hset(rt, key, pairs, (int)(CH_COUNTOF(pairs)), ttl_s, cb, opaque);
}

/* `command` ("DEL", "HGETALL") on the case's key. */
static int
on_key(ch_runtime *rt, const char *command, const char *case_id, ch_redis_cb cb, void *opaque)
{
    char key[160];
    contact_key(case_id, key, sizeof(key));
    return ch_redis_command(rt, cb, opaque, "%s %s", command, key);
}

int
notify_contact_forget(ch_runtime *rt, const char *case_id, ch_redis_cb cb, void *opaque)
{
    return on_key(rt, "DEL", case_id, cb, opaque);
}

int
notify_contact_book(ch_runtime *rt, const char *case_id, int64_t starts_at_s, const char *location,
                    int ttl_s)
{
    char key[160], at[24];
    contact_key(case_id, key, sizeof(key));
    snprintf(at, sizeof(at), "%lld", (long long)starts_at_s);
    const char *pairs[] = {"appointment_at", at, "appointment_location", location};
    return hset(rt, key, pairs, 4, ttl_s, NULL, NULL);
}

int
notify_contact_load(ch_runtime *rt, const char *case_id, ch_redis_cb cb, void *opaque)
{
    return on_key(rt, "HGETALL", case_id, cb, opaque);
}

void
notify_contact_from_reply(notify_contact *c, const redisReply *reply)
{
    static const struct {
        const char *field;
        size_t off, size;
    } text[] = {
#define F(name, member)                                                                            \
    {name, offsetof(notify_contact, member), sizeof(((notify_contact *)0)->member)}
        F("name", name),
        F("email", email),
        F("phone", phone),
        F("preferred_channel", preferred),
        F("channel", inbound),
        F("reference", reference),
        F("case_type", case_type),
        F("appointment_location", location),
        F("postal_address", postal),
        F("social_id", social_id),
        F("gateway_account", gateway_account),
        F("assigned_name", assigned_name),
        F("assigned_team", assigned_team),
        F("assigned_phone", assigned_phone),
        F("assigned_email", assigned_email),
#undef F
    };
    snprintf(c->lang, sizeof(c->lang), "en");
    for (size_t i = 0; reply && i + 1 < reply->elements; i += 2) {
        const char *k = reply->element[i]->str, *v = reply->element[i + 1]->str;
        if (!k || !v)
            continue;
        if (strcmp(k, "language") == 0 && v[0])
            snprintf(c->lang, sizeof(c->lang), "%s", v);
        else if (strcmp(k, "appointment_at") == 0)
            c->appointment_s = strtoll(v, NULL, 10);
        for (size_t f = 0; f < CH_COUNTOF(text); f++)
            if (strcmp(k, text[f].field) == 0)
                snprintf((char *)c + text[f].off, text[f].size, "%s", v);
    }
    c->loaded = 1;
}
