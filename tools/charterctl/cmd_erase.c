/*
 * charterctl erase: a person's data out of Charter, on a request to erase
 * (UK GDPR article 17), by the reference of one of their cases, their
 * e-mail address or their phone number.
 *
 *   charterctl erase (--reference R | --email E | --phone P) [--redis URL]
 *                    [--outbox DIR] [--print-dir DIR]
 *
 * The person's cases are found in Redis two ways, so either store alone is
 * enough: notification's contact hashes (charter:case:{<case>}:contact,
 * fields email, phone, reference) and ingest's case directory
 * (charter:ingest:dir:*, services/ingest/directory.h). Every address and
 * number seen on those cases joins the person, so an erase by reference also
 * clears the recipient counters and outbox lines of the address that case
 * used. Then, per case: the contact hash, the notices' jobs (rendered
 * messages), their entries in notification's queue and parked set, the
 * directory's case, reference and sender keys; per address or number: the
 * per-recipient counters (found by the SHA-256 in their key,
 * recipient_limit.h). Records without personal data stay on purpose: a
 * notification's record keeps a replayed event from sending the notice
 * again, the clock and reporting's state keep the figures right.
 *
 * Kafka is not changed: no compacted topic holds personal data (the reports
 * topic has counts only), so there is nothing to tombstone, and the contact
 * and dead-letter topics cannot lose one record; what remains, and until
 * when, is printed (docs/security.md). Key names are the services'; this
 * file and cmd_notify.c are the only other places they appear.
 */
#include <ctype.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/contact_fields.h"
#include "charterctl.h"
#include "erase.h"
#include "recipient_limit.h"

#define DIR_PREFIX "charter:ingest:dir:"

typedef enum { BY_REFERENCE, BY_EMAIL, BY_PHONE } erase_by;

typedef struct {
    redisContext *c;
    erase_by by;
    char query[320]; /* the reference, lower-cased address or E.164 number */
    erase_person p;
    long redis_keys; /* deleted or emptied */
    int failed;
} erase_run;

/* `pattern` with glob characters escaped, for SCAN MATCH. */
static void
glob_escape(const char *s, char *out, size_t outsz)
{
    size_t n = 0;
    for (; *s && n + 2 < outsz; s++) {
        if (strchr("*?[]\\", *s))
            out[n++] = '\\';
        out[n++] = *s;
    }
    out[n] = '\0';
}

/* Calls fn for every key matching pattern (SCAN). 0, or -1 after a message. */
static int
scan(erase_run *r, const char *pattern, void (*fn)(erase_run *r, const char *key))
{
    char cursor[32] = "0";
    do {
        redisReply *rep = redisCommand(r->c, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
            fprintf(stderr, "charterctl erase: SCAN %s failed: %s\n", pattern,
                    rep && rep->str ? rep->str : r->c->errstr);
            if (rep)
                freeReplyObject(rep);
            r->failed = 1;
            return -1;
        }
        snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
        redisReply *keys = rep->element[1];
        for (size_t i = 0; i < keys->elements; i++)
            fn(r, keys->element[i]->str);
        freeReplyObject(rep);
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

/* HMGET key f1 f2 f3 into out[3] (empty for a missing field). 1 if the key
 * had any of them, 0 if not, -1 on an error. */
static int
hmget3(erase_run *r, const char *key, const char *f1, const char *f2, const char *f3,
       char out[3][320])
{
    redisReply *rep = redisCommand(r->c, "HMGET %s %s %s %s", key, f1, f2, f3);
    int any = 0;
    for (int i = 0; i < 3; i++)
        out[i][0] = '\0';
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 3) {
        r->failed = 1;
        if (rep)
            freeReplyObject(rep);
        return -1;
    }
    for (int i = 0; i < 3; i++)
        if (rep->element[i]->type == REDIS_REPLY_STRING) {
            snprintf(out[i], 320, "%s", rep->element[i]->str);
            any = 1;
        }
    freeReplyObject(rep);
    return any;
}

static int
same_address(const char *a, const char *b)
{
    return a[0] && strcasecmp(a, b) == 0;
}

/* 1 when (email, phone, reference) are the query's. */
static int
matches(const erase_run *r, const char *email, const char *phone, const char *reference)
{
    switch (r->by) {
    case BY_REFERENCE:
        return strcmp(reference, r->query) == 0;
    case BY_EMAIL:
        return same_address(email, r->query);
    case BY_PHONE:
        return phone[0] && strcmp(phone, r->query) == 0;
    }
    return 0;
}

static void
add_case(erase_run *r, const char *case_id)
{
    if (erase_list_add(&r->p.cases, case_id, 0) != 0) {
        fprintf(stderr, "charterctl erase: more than %d cases match; erase in parts\n", ERASE_MAX);
        r->failed = 1;
    }
}

/* charter:case:{<case>}:contact -> <case>, or "" */
static void
case_of_contact_key(const char *key, char *out, size_t outsz)
{
    const char *a = strchr(key, '{'), *b = a ? strchr(a, '}') : NULL;
    snprintf(out, outsz, "%.*s", a && b ? (int)(b - a - 1) : 0, a ? a + 1 : "");
}

static void
found_contact(erase_run *r, const char *key)
{
    char v[3][320], case_id[128];
    if (hmget3(r, key, "email", "phone", "reference", v) == 1 && matches(r, v[0], v[1], v[2])) {
        case_of_contact_key(key, case_id, sizeof(case_id));
        if (case_id[0])
            add_case(r, case_id);
    }
}

static void
found_dir_case(erase_run *r, const char *key)
{
    char v[3][320];
    if (hmget3(r, key, "email", "phone", "reference", v) == 1 && matches(r, v[0], v[1], v[2]))
        add_case(r, key + strlen(DIR_PREFIX "case:"));
}

/* Every address, number and reference the case's hashes hold joins the
 * person. */
static void
gather(erase_run *r, const char *case_id)
{
    char key[256], v[3][320];
    const char *keys[2] = {key, NULL};
    snprintf(key, sizeof(key), "charter:case:{%s}:contact", case_id);
    char dir[256];
    snprintf(dir, sizeof(dir), DIR_PREFIX "case:%s", case_id);
    keys[1] = dir;
    for (int k = 0; k < 2; k++) {
        if (hmget3(r, keys[k], "email", "phone", "reference", v) != 1)
            continue;
        if (erase_list_add(&r->p.emails, v[0], 1) != 0 || erase_list_add(&r->p.phones, v[1], 0) ||
            erase_list_add(&r->p.references, v[2], 0) != 0)
            r->failed = 1;
    }
}

/* DEL key; counts it when it existed. */
static void
del(erase_run *r, const char *key)
{
    redisReply *rep = redisCommand(r->c, "DEL %s", key);
    if (!rep || rep->type == REDIS_REPLY_ERROR)
        r->failed = 1;
    else
        r->redis_keys += rep->integer;
    if (rep)
        freeReplyObject(rep);
}

/* DEL key if it holds value (a directory pointer to this case, not a newer
 * one of someone else's). */
static void
del_if(erase_run *r, const char *key, const char *value)
{
    redisReply *rep = redisCommand(r->c, "GET %s", key);
    int mine = rep && rep->type == REDIS_REPLY_STRING && strcmp(rep->str, value) == 0;
    if (rep)
        freeReplyObject(rep);
    if (mine)
        del(r, key);
}

/* ZREM the case's members ("<case>/<what>") from a sorted set. */
static void
zrem_case(erase_run *r, const char *set, const char *case_id)
{
    char pattern[300];
    glob_escape(case_id, pattern, sizeof(pattern) - 2);
    strcat(pattern, "/*");
    char cursor[32] = "0";
    do {
        redisReply *rep =
            redisCommand(r->c, "ZSCAN %s %s MATCH %s COUNT 1000", set, cursor, pattern);
        if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
            r->failed = 1;
            if (rep)
                freeReplyObject(rep);
            return;
        }
        snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
        redisReply *m = rep->element[1];
        for (size_t i = 0; i + 1 < m->elements; i += 2) {
            redisReply *z = redisCommand(r->c, "ZREM %s %s", set, m->element[i]->str);
            if (z && z->type == REDIS_REPLY_INTEGER)
                r->redis_keys += z->integer;
            if (z)
                freeReplyObject(z);
        }
        freeReplyObject(rep);
    } while (strcmp(cursor, "0") != 0);
}

static void
erase_case(erase_run *r, const char *case_id)
{
    long before = r->redis_keys;
    char key[1024], pattern[512], v[3][320], org[3][320];
    snprintf(key, sizeof(key), DIR_PREFIX "case:%s", case_id);
    hmget3(r, key, "email", "phone", "social", v);
    hmget3(r, key, "organisation", "reference", "open", org);
    static const char *kinds[3] = {"email", "phone", "social"};
    for (int k = 0; k < 3 && org[0][0]; k++) {
        if (!v[k][0])
            continue;
        snprintf(key, sizeof(key), DIR_PREFIX "sender:%.319s:%s:%.319s", org[0], kinds[k], v[k]);
        del_if(r, key, case_id);
        for (char *c = key; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        del_if(r, key, case_id);
    }
    if (org[1][0]) {
        snprintf(key, sizeof(key), DIR_PREFIX "ref:%s", org[1]);
        del_if(r, key, case_id);
    }
    snprintf(key, sizeof(key), DIR_PREFIX "case:%s", case_id);
    del(r, key);
    snprintf(key, sizeof(key), "charter:case:{%s}:contact", case_id);
    del(r, key);
    char esc[300];
    glob_escape(case_id, esc, sizeof(esc));
    snprintf(pattern, sizeof(pattern), "charter:notify:{%s}:*:job", esc);
    scan(r, pattern, del);
    zrem_case(r, "charter:notify:queue", case_id);
    zrem_case(r, "charter:notify:parked", case_id);
    printf("  case %s: %ld Redis key%s or entr%s erased\n", case_id, r->redis_keys - before,
           r->redis_keys - before == 1 ? "" : "s", r->redis_keys - before == 1 ? "y" : "ies");
}

/* The per-recipient counters of one address or number on any channel. */
static void
erase_counters(erase_run *r, const char *channel, const char *to)
{
    char key[NOTIFY_RECIPIENT_KEY_MAX], pattern[NOTIFY_RECIPIENT_KEY_MAX + 40];
    if (notify_recipient_key(channel, to, 0, key, sizeof(key)) != 0)
        return;
    snprintf(pattern, sizeof(pattern), "charter:notify:recipient:*:%s", strrchr(key, ':') + 1);
    scan(r, pattern, del);
}

static int
usage(void)
{
    fprintf(stderr,
            "charterctl erase: needs one of --reference R, --email E or --phone P, and takes\n"
            "[--redis URL] (else CHARTER_REDIS_URL), [--outbox DIR] (else\n"
            "CHARTER_NOTIFY_OUTBOX_DIR) and [--print-dir DIR] (else CHARTER_NOTIFY_PRINT_DIR)\n");
    return 2;
}

static void
kafka_notes(void)
{
    printf("Kafka (not changed; docs/security.md):\n"
           "  charter.contact.events.v1: the cases' events, with the customer's name, address,\n"
           "    number and summary, stay until the topic's retention passes (40 days as\n"
           "    create-topics.sh sets it): the topic is not compacted, so one record cannot be\n"
           "    deleted or overwritten. Replays within that time read them again; the details\n"
           "    they would rewrite to Redis expire as above.\n"
           "  charter.dlq.v1: a dead-lettered record of these cases keeps its original bytes\n"
           "    until the topic's retention (14 days).\n"
           "  charter.notify.handoff.*: notices handed to another system keep their recipient\n"
           "    and text until that topic's retention.\n"
           "  charter.reports.v1 (compacted): counts per organisation and period, no personal\n"
           "    data: nothing to tombstone.\n"
           "  charter.sla.timers.v1, charter.notify.outcomes.v1, charter.notify.receipts.v1:\n"
           "    ids, references, kinds and times only.\n");
}

int
ch_cmd_erase(int argc, char **argv)
{
    const char *url = getenv("CHARTER_REDIS_URL"), *outbox = getenv("CHARTER_NOTIFY_OUTBOX_DIR");
    const char *print_dir = getenv("CHARTER_NOTIFY_PRINT_DIR"), *given = NULL;
    erase_run r = {0};
    int nby = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage();
        if (!strcmp(argv[i], "--reference"))
            r.by = BY_REFERENCE, given = v, nby++;
        else if (!strcmp(argv[i], "--email"))
            r.by = BY_EMAIL, given = v, nby++;
        else if (!strcmp(argv[i], "--phone"))
            r.by = BY_PHONE, given = v, nby++;
        else if (!strcmp(argv[i], "--redis"))
            url = v;
        else if (!strcmp(argv[i], "--outbox"))
            outbox = v;
        else if (!strcmp(argv[i], "--print-dir"))
            print_dir = v;
        else
            return usage();
        i++;
    }
    if (nby != 1 || !given[0])
        return usage();
    const char *why = NULL;
    if (r.by == BY_PHONE && !ch_contact_phone_normalise(given, r.query, sizeof(r.query), &why)) {
        fprintf(stderr, "charterctl erase: --phone %s: %s\n", given, why);
        return 2;
    }
    if (r.by != BY_PHONE)
        snprintf(r.query, sizeof(r.query), "%s", given);
    for (char *c = r.query; *c && r.by != BY_PHONE; c++) /* as ingest keeps them */
        *c = (char)(r.by == BY_EMAIL ? tolower((unsigned char)*c) : toupper((unsigned char)*c));
    if (!(r.c = ch_ctl_redis_connect(url ? url : "redis://127.0.0.1:6379/0", "erase")))
        return 1;

    char key[512];
    if (r.by == BY_REFERENCE) {
        snprintf(key, sizeof(key), DIR_PREFIX "ref:%s", r.query);
        redisReply *rep = redisCommand(r.c, "GET %s", key);
        if (rep && rep->type == REDIS_REPLY_STRING)
            add_case(&r, rep->str);
        if (rep)
            freeReplyObject(rep);
    }
    scan(&r, "charter:case:{*}:contact", found_contact);
    scan(&r, DIR_PREFIX "case:*", found_dir_case);
    erase_list *asked = r.by == BY_EMAIL   ? &r.p.emails
                        : r.by == BY_PHONE ? &r.p.phones
                                           : &r.p.references;
    if (erase_list_add(asked, r.query, 0) != 0)
        r.failed = 1;
    for (size_t i = 0; i < r.p.cases.n; i++)
        gather(&r, r.p.cases.items[i]);

    printf("Erasing %s %s: %zu case%s found\nRedis:\n",
           r.by == BY_REFERENCE ? "reference"
           : r.by == BY_EMAIL   ? "e-mail"
                                : "phone",
           r.query, r.p.cases.n, r.p.cases.n == 1 ? "" : "s");
    for (size_t i = 0; i < r.p.cases.n; i++)
        erase_case(&r, r.p.cases.items[i]);
    long before = r.redis_keys;
    for (size_t i = 0; i < r.p.emails.n; i++)
        erase_counters(&r, "email", r.p.emails.items[i]);
    for (size_t i = 0; i < r.p.phones.n; i++)
        erase_counters(&r, "sms", r.p.phones.items[i]);
    printf("  per-recipient counters: %ld erased\n", r.redis_keys - before);
    redisFree(r.c);

    long lines = 0, letters = 0;
    printf("Files:\n");
    if (outbox && outbox[0]) {
        lines = erase_outbox(outbox, &r.p);
        printf("  outbox %s: %ld line%s removed\n", outbox, lines < 0 ? 0 : lines,
               lines == 1 ? "" : "s");
    } else {
        printf("  outbox: not checked (give --outbox DIR)\n");
    }
    if (print_dir && print_dir[0]) {
        letters = erase_print_queue(print_dir, &r.p);
        printf("  print queue %s: %ld letter%s deleted\n", print_dir, letters < 0 ? 0 : letters,
               letters == 1 ? "" : "s");
    } else {
        printf("  print queue: not checked (give --print-dir DIR)\n");
    }
    kafka_notes();
    int failed = r.failed || lines < 0 || letters < 0;
    int found = r.p.cases.n > 0 || lines > 0 || letters > 0 || r.redis_keys > 0;
    for (erase_list *l = &r.p.cases; l <= &r.p.phones; l++)
        erase_list_free(l);
    if (failed)
        fprintf(stderr, "charterctl erase: some of the data could not be erased (above); run it "
                        "again once the cause is fixed\n");
    else if (!found)
        fprintf(stderr, "charterctl erase: nothing of %s was found\n", r.query);
    return failed || !found ? 1 : 0;
}
