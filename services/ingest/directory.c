/*
 * The directory of cases (directory.h): a Lua script records what an event
 * changes, another answers a lookup, each one round trip. Keys are built
 * inside the scripts from the directory's fixed prefix, so closing a case
 * can find its senders from the case's own hash.
 */
#include "directory.h"

#include <ctype.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/log.h"

#define DIR_PREFIX "charter:ingest:dir:"

/* ARGV: op (R received, P paused, U resumed, C closed), case id,
 * organisation, reference, email, phone, social, ttl (s). With a KEYS[1],
 * the write's outcome (pipeline.c's D record) is set there first, ARGV[9]
 * for ARGV[10] seconds: one round trip for both, per accepted event. */
static const char record_lua[] =
    "if #KEYS > 0 then redis.call('SET', KEYS[1], ARGV[9], 'EX', ARGV[10]) end\n"
    "local p, op, cid, ttl = '" DIR_PREFIX "', ARGV[1], ARGV[2], ARGV[8]\n"
    "local ck = p .. 'case:' .. cid\n"
    "local kinds = {'email', 'phone', 'social'}\n"
    "if op == 'R' then\n"
    "  redis.call('HSET', ck, 'organisation', ARGV[3], 'reference', ARGV[4], 'email', ARGV[5],\n"
    "             'phone', ARGV[6], 'social', ARGV[7], 'open', '1', 'awaiting', '0')\n"
    "  redis.call('EXPIRE', ck, ttl)\n"
    "  if ARGV[4] ~= '' then redis.call('SET', p .. 'ref:' .. ARGV[4], cid, 'EX', ttl) end\n"
    "  for i = 1, 3 do\n"
    "    local id = ARGV[4 + i]\n"
    "    if id ~= '' then\n"
    "      redis.call('SET', p .. 'sender:' .. ARGV[3] .. ':' .. kinds[i] .. ':' .. id, cid,\n"
    "                 'EX', ttl)\n"
    "    end\n"
    "  end\n"
    "  return 1\n"
    "end\n"
    "if redis.call('EXISTS', ck) == 0 then return 0 end\n"
    "if op == 'P' then redis.call('HSET', ck, 'awaiting', '1')\n"
    "elseif op == 'U' then redis.call('HSET', ck, 'awaiting', '0')\n"
    "elseif op == 'C' then\n"
    "  redis.call('HSET', ck, 'open', '0', 'awaiting', '0')\n"
    "  local h = redis.call('HMGET', ck, 'organisation', 'email', 'phone', 'social')\n"
    "  for i = 1, 3 do\n"
    "    local id = h[1 + i]\n"
    "    if h[1] and id and id ~= '' then\n"
    "      local sk = p .. 'sender:' .. h[1] .. ':' .. kinds[i] .. ':' .. id\n"
    "      if redis.call('GET', sk) == cid then redis.call('DEL', sk) end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return 1\n";

/* KEYS: the reference's or the sender's key (or the case's own hash).
 * ARGV: "open" to want an open case only, "case" with the case id second
 * to look the case up itself. -> {case id, organisation, reference, open,
 * awaiting} or nil. */
static const char lookup_lua[] =
    "local cid\n"
    "if ARGV[1] == 'case' then cid = ARGV[2] else cid = redis.call('GET', KEYS[1]) end\n"
    "if not cid then return false end\n"
    "local h = redis.call('HMGET', '" DIR_PREFIX "case:' .. cid, 'organisation', 'reference',\n"
    "                     'open', 'awaiting')\n"
    "if not h[1] then return false end\n"
    "if ARGV[1] == 'open' and h[3] ~= '1' then return false end\n"
    "return {cid, h[1], h[2] or '', h[3] or '0', h[4] or '0'}\n";

typedef struct {
    ingest_dir_cb cb;
    void *arg;
} lookup;

int
ingest_dir_init(ingest *in)
{
    in->dir_record = ch_redis_script_new(in->rt, record_lua);
    in->dir_lookup = ch_redis_script_new(in->rt, lookup_lua);
    return in->dir_record && in->dir_lookup ? 0 : CH_ENOMEM;
}

static void
copy_str(char *dst, size_t n, const redisReply *r)
{
    dst[0] = '\0';
    if (r && r->type == REDIS_REPLY_STRING && r->len < n) {
        memcpy(dst, r->str, r->len);
        dst[r->len] = '\0';
    }
}

static void
on_lookup(void *opaque, redisReply *reply)
{
    lookup *l = opaque;
    ingest_dir_case c;
    memset(&c, 0, sizeof(c));
    int rc = 0;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        rc = CH_EAGAIN;
    } else if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 5) {
        copy_str(c.case_id, sizeof(c.case_id), reply->element[0]);
        copy_str(c.organisation, sizeof(c.organisation), reply->element[1]);
        copy_str(c.reference, sizeof(c.reference), reply->element[2]);
        char flag[4];
        copy_str(flag, sizeof(flag), reply->element[3]);
        c.open = flag[0] == '1';
        copy_str(flag, sizeof(flag), reply->element[4]);
        c.awaiting = flag[0] == '1';
    }
    l->cb(l->arg, rc, &c);
    free(l);
}

static void
run_lookup(ingest *in, const char *key, const char *mode, const char *case_id, ingest_dir_cb cb,
           void *arg)
{
    ingest_dir_case none;
    memset(&none, 0, sizeof(none));
    lookup *l = malloc(sizeof(*l));
    if (!l) {
        cb(arg, CH_ENOMEM, &none);
        return;
    }
    l->cb = cb;
    l->arg = arg;
    const char *argv[] = {key, mode, case_id ? case_id : ""};
    int rc = ch_redis_script_call(in->dir_lookup, on_lookup, l, 1, 3, argv, NULL);
    if (rc != 0) {
        free(l);
        cb(arg, rc, &none);
    }
}

void
ingest_dir_by_reference(ingest *in, const char *reference, ingest_dir_cb cb, void *arg)
{
    char key[128];
    size_t n = strlen(reference);
    if (n == 0 || n >= 64) {
        ingest_dir_case none;
        memset(&none, 0, sizeof(none));
        cb(arg, 0, &none);
        return;
    }
    int k = snprintf(key, sizeof(key), DIR_PREFIX "ref:");
    for (size_t i = 0; i < n; i++)
        key[k + i] = (char)toupper((unsigned char)reference[i]);
    key[k + n] = '\0';
    run_lookup(in, key, "any", NULL, cb, arg);
}

void
ingest_dir_by_case(ingest *in, const char *case_id, ingest_dir_cb cb, void *arg)
{
    char key[160];
    int n = snprintf(key, sizeof(key), DIR_PREFIX "case:%s", case_id);
    if (!case_id[0] || n < 0 || (size_t)n >= sizeof(key)) {
        ingest_dir_case none;
        memset(&none, 0, sizeof(none));
        cb(arg, 0, &none);
        return;
    }
    run_lookup(in, key, "case", case_id, cb, arg);
}

/* The sender part of a key: e-mail addresses lower-cased. */
static int
sender_key(char *key, size_t keysz, const char *org, const char *kind, const char *id)
{
    int n = snprintf(key, keysz, DIR_PREFIX "sender:%s:%s:%s", org, kind, id);
    if (n < 0 || (size_t)n >= keysz)
        return -1;
    if (!strcmp(kind, "email"))
        for (char *s = key + n - strlen(id); *s; s++)
            *s = (char)tolower((unsigned char)*s);
    return 0;
}

void
ingest_dir_by_sender(ingest *in, const char *organisation, const char *kind, const char *id,
                     ingest_dir_cb cb, void *arg)
{
    char key[512];
    if (!id || !*id || sender_key(key, sizeof(key), organisation, kind, id) != 0) {
        ingest_dir_case none;
        memset(&none, 0, sizeof(none));
        cb(arg, 0, &none);
        return;
    }
    run_lookup(in, key, "open", NULL, cb, arg);
}

/* A contact's record as plain commands (rather than the record script,
 * whose Lua costs Redis about as much again as the writes themselves): the
 * writes of op R are unconditional, so [SET outcome,] HSET, EXPIRE and one
 * SET per reference and sender, written together, do what the script does.
 * The replies are counted, and a failure logged once, as the script's. */
typedef struct {
    ingest *in;
    int pending;
    char error[160]; /* the first failure; "" none */
} plain_record;

static void
plain_release(plain_record *pr)
{
    if (--pr->pending > 0)
        return;
    if (pr->error[0])
        CH_LOG_WARN(ch_runtime_log(pr->in->rt),
                    "the case directory was not updated; a reply to this case may open a new one",
                    CH_STR("error", pr->error));
    free(pr);
}

static void
on_plain_reply(void *opaque, redisReply *reply)
{
    plain_record *pr = opaque;
    if (!pr->error[0] && (!reply || reply->type == REDIS_REPLY_ERROR))
        snprintf(pr->error, sizeof(pr->error), "%s",
                 reply && reply->str ? reply->str : "Redis connection lost");
    plain_release(pr);
}

static int
plain_send(plain_record *pr, int argc, const char **argv)
{
    if (ch_redis_command_argv(pr->in->rt, on_plain_reply, pr, argc, argv, NULL) != 0)
        return -1;
    pr->pending++;
    return 0;
}

static int
record_received_plain(ingest *in, const char **a, const char *outcome_key, const char *outcome,
                      const char *outcome_ttl)
{
    /* a: op, case id, organisation, reference, email, phone, social, ttl */
    static const char *const kinds[] = {"email", "phone", "social"};
    if (!ch_redis_ready(in->rt))
        return CH_EAGAIN;
    plain_record *pr = calloc(1, sizeof(*pr));
    if (!pr)
        return CH_ENOMEM;
    pr->in = in;
    pr->pending = 1; /* this function's, until every command is sent */
    int failed = 0;
    if (outcome_key) {
        const char *set[] = {"SET", outcome_key, outcome, "EX", outcome_ttl};
        failed |= plain_send(pr, (int)(sizeof(set) / sizeof(set[0])), set);
    }
    char ck[256];
    snprintf(ck, sizeof(ck), DIR_PREFIX "case:%s", a[1]);
    const char *hset[] = {"HSET",  ck,   "organisation", a[2], "reference", a[3], "email",    a[4],
                          "phone", a[5], "social",       a[6], "open",      "1",  "awaiting", "0"};
    failed |= plain_send(pr, (int)(sizeof(hset) / sizeof(hset[0])), hset);
    const char *expire[] = {"EXPIRE", ck, a[7]};
    failed |= plain_send(pr, (int)(sizeof(expire) / sizeof(expire[0])), expire);
    char key[512];
    if (a[3][0]) {
        snprintf(key, sizeof(key), DIR_PREFIX "ref:%s", a[3]);
        const char *set[] = {"SET", key, a[1], "EX", a[7]};
        failed |= plain_send(pr, (int)(sizeof(set) / sizeof(set[0])), set);
    }
    for (int i = 0; i < 3; i++) {
        if (!a[4 + i][0])
            continue;
        snprintf(key, sizeof(key), DIR_PREFIX "sender:%s:%s:%s", a[2], kinds[i], a[4 + i]);
        const char *set[] = {"SET", key, a[1], "EX", a[7]};
        failed |= plain_send(pr, (int)(sizeof(set) / sizeof(set[0])), set);
    }
    if (failed && !pr->error[0])
        snprintf(pr->error, sizeof(pr->error), "Redis not connected");
    plain_release(pr);
    return 0;
}

static const char *
str_or_empty(const char *s)
{
    return s ? s : "";
}

static void
on_recorded(void *opaque, redisReply *reply)
{
    ingest *in = opaque;
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        CH_LOG_WARN(ch_runtime_log(in->rt),
                    "the case directory was not updated; a reply to this case may open a new one",
                    CH_STR("error", reply && reply->str ? reply->str : "Redis connection lost"));
}

int
ingest_dir_record(ingest *in, const Charter__V1__CaseEvent *ev, const char *case_id,
                  const char *outcome_key, const char *outcome, const char *outcome_ttl)
{
    const char *op;
    char email[256] = "";
    const char *phone = "", *social = "", *reference = "";
    switch (ev->event_case) {
    case CHARTER__V1__CASE_EVENT__EVENT_RECEIVED: {
        const Charter__V1__Received *r = ev->received;
        op = "R";
        reference = str_or_empty(r->reference);
        if (r->customer) {
            snprintf(email, sizeof(email), "%s", str_or_empty(r->customer->email));
            for (char *s = email; *s; s++)
                *s = (char)tolower((unsigned char)*s);
            phone = str_or_empty(r->customer->phone);
            social = str_or_empty(r->customer->social_id);
        }
        break;
    }
    case CHARTER__V1__CASE_EVENT__EVENT_PAUSED:
        op = "P";
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_RESUMED:
        op = "U";
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_CLOSED:
        op = "C";
        break;
    default:
        return 0;
    }
    char ttl[24];
    snprintf(ttl, sizeof(ttl), "%lld", (long long)in->cfg->directory_ttl_s);
    const char *argv[] = {outcome_key ? outcome_key : "",
                          op,
                          case_id,
                          str_or_empty(ev->organisation),
                          reference,
                          email,
                          phone,
                          social,
                          ttl,
                          outcome,
                          outcome_ttl};
    if (op[0] == 'R') {
        int rc = record_received_plain(in, argv + 1, outcome_key, outcome, outcome_ttl);
        if (rc == 0)
            return 1;
        CH_LOG_WARN(ch_runtime_log(in->rt),
                    "the case directory was not updated (Redis not connected); a reply to this "
                    "case may open a new one",
                    CH_STR("case_id", case_id));
        return CH_EAGAIN;
    }
    int nkeys = outcome_key ? 1 : 0;
    if (ch_redis_script_call(in->dir_record, on_recorded, in, nkeys, 8 + 3 * nkeys,
                             argv + 1 - nkeys, NULL) != 0) {
        CH_LOG_WARN(ch_runtime_log(in->rt),
                    "the case directory was not updated (Redis not connected); a reply to this "
                    "case may open a new one",
                    CH_STR("case_id", case_id));
        return CH_EAGAIN;
    }
    return 1;
}
