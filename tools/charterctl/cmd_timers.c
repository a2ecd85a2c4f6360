/*
 * `charterctl timers`: what sla-timer is about to fire. Reads the timer
 * store's keys in Redis directly (read-only), so it works while sla-timer
 * runs and when it does not. The key and timer id layout come from
 * sla-timer's timer_keys.h (the charter_sla_keys library), never rebuilt
 * here: a member in either form (compact or text) is decoded by
 * sla_timer_id_unpack, as sla-timer decodes it.
 *
 *   charterctl timers --case ID [--redis URL]
 *   charterctl timers --due-within 1h [--redis URL]
 *   charterctl timers --state ID [--redis URL]
 *
 * --state prints the case's state as sla-timer stores it, as one line of
 * JSON (the store keeps it packed, case_clock.h: ch_case_state_pack), for
 * an operator or a test to read; exit 1 when the case has none.
 *
 * With --case it also reads the case's state (the key sla-timer keeps it
 * under) and says what the timers alone do not: the holding replies that
 * were refused and why, and the reviews recorded.
 *
 * --case takes a case id or a reference (DH-2026-000056): a reference is
 * resolved through reporting's reference index in the same Redis
 * (charter:report:ref:<reference>, services/reporting/store.h), and the
 * case's page record there says what sla-timer no longer holds once a timer
 * fired: the response due time in force and the timers already fired, so a
 * case past its breach is not "0 timers".
 */
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/case_clock.h"
#include "charter/errors.h"
#include "charter/names.h"
#include "charter/tz.h"
#include "charter/deadline.h"
#include "charter/v1/timer.pb-c.h"
#include "charterctl.h"
#include "timer_keys.h"

#define MAX_ROWS 100000

typedef struct {
    char id[SLA_TIMER_ID_MAX];
    int64_t due_ms;
    int inflight;
    int compact; /* stored without an event (timer_keys.h, MEMBERS) */
    char kind[24], organisation[64], reference[32];
} row;

static int
parse_within(const char *s, int64_t *ms)
{
    char *end;
    long long n = strtoll(s, &end, 10);
    if (end == s || n < 0)
        return -1;
    int64_t unit = !strcmp(end, "s")   ? 1000
                   : !strcmp(end, "m") ? 60000
                   : !strcmp(end, "h") ? 3600000
                   : !strcmp(end, "d") ? 86400000
                                       : 0;
    if (!unit)
        return -1;
    *ms = n * unit;
    return 0;
}

/* A compact timer's kind, organisation and reference: the kind from its id
 * ("warning/2" and "review_warning_1/3" name kinds warning and
 * review_warning), the rest from its case's state, as sla-timer rebuilds
 * its event when it fires. */
static void
describe_compact(redisContext *c, row *rw)
{
    size_t clen = sla_timer_id_case_len(rw->id);
    const char *k = rw->id + clen + (rw->id[clen] == '/');
    size_t n = strcspn(k, "/");
    size_t d = n;
    while (d > 0 && k[d - 1] >= '0' && k[d - 1] <= '9')
        d--;
    if (d < n && d > 0 && k[d - 1] == '_')
        n = d - 1;
    snprintf(rw->kind, sizeof(rw->kind), "%.*s", (int)n, k);
    char case_id[SLA_TIMER_ID_MAX], key[SLA_CASE_KEY_MAX];
    snprintf(case_id, sizeof(case_id), "%.*s", (int)clen, rw->id);
    if (sla_case_state_key(case_id, key, sizeof(key)) != 0)
        return;
    redisReply *r = redisCommand(c, "GET %s", key);
    ch_case_state st;
    if (r && r->type == REDIS_REPLY_STRING && ch_case_state_unpack(r->str, r->len, &st) == 0) {
        snprintf(rw->organisation, sizeof(rw->organisation), "%s", st.organisation);
        snprintf(rw->reference, sizeof(rw->reference), "%s", st.reference);
    }
    if (r)
        freeReplyObject(r);
}

/* Fills kind, organisation and reference from the stored fired event (a
 * text timer) or the case's state (a compact one). */
static void
describe(redisContext *c, const char *timers_key, row *rw)
{
    if (rw->compact) {
        describe_compact(c, rw);
        return;
    }
    redisReply *r = redisCommand(c, "HGET %s %s", timers_key, rw->id);
    if (r && r->type == REDIS_REPLY_STRING) {
        Charter__V1__TimerFired *t =
            charter__v1__timer_fired__unpack(NULL, r->len, (const uint8_t *)r->str);
        if (t) {
            snprintf(rw->kind, sizeof(rw->kind), "%s", ch_timer_kind_name(t->kind));
            snprintf(rw->organisation, sizeof(rw->organisation), "%s", t->organisation);
            snprintf(rw->reference, sizeof(rw->reference), "%s", t->reference);
            charter__v1__timer_fired__free_unpacked(t, NULL);
        }
    }
    if (r)
        freeReplyObject(r);
}

/* What the case's stored state says beyond its timers. */
static void
print_case_state(redisContext *c, const ch_tz *tz, const char *case_id)
{
    char key[SLA_CASE_KEY_MAX], when[48], asked[48];
    if (sla_case_state_key(case_id, key, sizeof(key)) != 0)
        return;
    redisReply *r = redisCommand(c, "GET %s", key);
    ch_case_state st;
    if (r && r->type == REDIS_REPLY_STRING && ch_case_state_unpack(r->str, r->len, &st) == 0) {
        if (st.extended_to_ms) {
            ch_deadline_format(tz, st.extended_to_ms, when, sizeof(when));
            printf("extended to %s by a holding reply\n", when);
        }
        if (st.extensions_refused) {
            ch_deadline_format(tz, st.extension_refused_at_ms, when, sizeof(when));
            if (st.extension_refused_target_ms)
                ch_deadline_format(tz, st.extension_refused_target_ms, asked, sizeof(asked));
            else
                snprintf(asked, sizeof(asked), "no new date");
            printf("extension refused (%u so far; the latest sent %s, asking for %s): %s\n",
                   st.extensions_refused, when, asked, st.extension_refused_reason);
        }
        if (st.reviews) {
            ch_deadline_format(tz, st.reviewed_ms, when, sizeof(when));
            printf("reviews recorded: %u (%u after their due date), the latest %s%s\n", st.reviews,
                   st.reviews_late, when, st.review_lifted ? ": restriction lifted" : "");
        }
    }
    if (r)
        freeReplyObject(r);
}

/* What reporting's page record of the case says: its reference, owner,
 * the response due time in force and the timers already fired. */
static void
print_page(redisContext *c, const ch_tz *tz, const char *org, const char *case_id, int64_t now)
{
    redisReply *r = redisCommand(c, "GET charter:report:{%s}:page:%s", org, case_id);
    json_t *page = r && r->type == REDIS_REPLY_STRING ? json_loadb(r->str, r->len, 0, NULL) : NULL;
    if (r)
        freeReplyObject(r);
    if (!page)
        return;
    const char *owner = json_string_value(json_object_get(page, "owner"));
    printf("case %s, reference %s, organisation %s, owner %s\n", case_id,
           json_string_value(json_object_get(page, "ref")) ?: "-", org,
           owner && owner[0] ? owner : "none");
    int64_t due = json_integer_value(json_object_get(page, "due"));
    char when[48];
    if (due) {
        ch_deadline_format(tz, due, when, sizeof(when));
        printf("response due %s (%s)\n", when, due < now ? "overdue" : "to come");
    } else {
        printf("no response clock running (answered, closed, paused or none promised)\n");
    }
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(page, "events"), i, e)
    {
        const char *type = json_string_value(json_object_get(e, "type"));
        if (!type || strncmp(type, "timer: ", 7) != 0)
            continue;
        ch_deadline_format(tz, json_integer_value(json_object_get(e, "at")), when, sizeof(when));
        printf("fired: %-19s due %s\n", type + 7, when);
    }
    json_decref(page);
}

static int
by_due(const void *a, const void *b)
{
    const row *x = a, *y = b;
    return x->due_ms < y->due_ms ? -1 : x->due_ms > y->due_ms;
}

/* `--state ID`: the case's stored state as one line of JSON. */
static int
print_state(const char *url, const char *case_id)
{
    char key[SLA_CASE_KEY_MAX];
    if (sla_case_state_key(case_id, key, sizeof(key)) != 0) {
        fprintf(stderr, "charterctl timers: case id '%.80s' is too long\n", case_id);
        return 2;
    }
    redisContext *c = ch_ctl_redis_connect(url, "timers");
    if (!c)
        return 1;
    redisReply *r = redisCommand(c, "GET %s", key);
    ch_case_state st;
    int code = 1;
    char *json = NULL;
    if (!r || r->type == REDIS_REPLY_ERROR)
        fprintf(stderr, "charterctl timers: GET %s failed: %s\n", key, r ? r->str : "no answer");
    else if (r->type != REDIS_REPLY_STRING)
        fprintf(stderr, "charterctl timers: case '%s' has no state (%s)\n", case_id, key);
    else if (ch_case_state_unpack(r->str, r->len, &st) != 0)
        fprintf(stderr, "charterctl timers: the state at %s is unreadable\n", key);
    else if (!(json = ch_case_state_to_json(&st)))
        fprintf(stderr, "charterctl timers: out of memory\n");
    else {
        printf("%s\n", json);
        code = 0;
    }
    free(json);
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return code;
}

int
ch_cmd_timers(int argc, char **argv)
{
    const char *case_id = NULL, *within_s = NULL, *state_of = NULL,
               *url = getenv("CHARTER_REDIS_URL");
    if (!url)
        url = "redis://127.0.0.1:6379/0";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--case"))
            case_id = argv[i + 1];
        else if (!strcmp(argv[i], "--due-within"))
            within_s = argv[i + 1];
        else if (!strcmp(argv[i], "--state"))
            state_of = argv[i + 1];
        else if (!strcmp(argv[i], "--redis"))
            url = argv[i + 1];
        else {
            fprintf(stderr, "charterctl timers: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    if (state_of && !case_id && !within_s && (argc % 2) == 1)
        return print_state(url, state_of);
    int64_t within = 0;
    if ((argc % 2) == 0 || state_of || (!case_id == !within_s) ||
        (within_s && parse_within(within_s, &within) != 0)) {
        fprintf(stderr,
                "usage: charterctl timers (--case ID|REFERENCE | --due-within N{s,m,h,d} | "
                "--state ID) [--redis URL]\n(Redis from --redis, else CHARTER_REDIS_URL)\n");
        return 2;
    }
    redisContext *c = ch_ctl_redis_connect(url, "timers");
    if (!c)
        return 1;
    ch_ctl_case found;
    char org[128] = "";
    if (case_id && ch_ctl_is_reference(case_id) && !ch_ctl_is_case_id(c, case_id)) {
        if (ch_ctl_case_lookup(c, url, "timers", case_id, &found)) {
            redisFree(c);
            return 1;
        }
        case_id = found.case_id;
        snprintf(org, sizeof(org), "%s", found.organisation);
    }
    char err[256];
    ch_tz *tz = ch_tz_load("Europe/London", NULL, err, sizeof(err));
    row *rows = calloc(MAX_ROWS, sizeof(*rows));
    size_t n = 0;
    int code = 1;
    redisReply *t = redisCommand(c, "TIME");
    if (!tz || !rows || !t || t->type != REDIS_REPLY_ARRAY || t->elements != 2) {
        fprintf(stderr, "charterctl timers: %s\n", !tz ? err : "Redis did not answer TIME");
        goto out;
    }
    int64_t now =
        strtoll(t->element[0]->str, NULL, 10) * 1000 + strtoll(t->element[1]->str, NULL, 10) / 1000;
    /* Every partition's set: SCAN for the due sets. */
    char cursor[32] = "0", pattern[SLA_TIMER_KEY_MAX];
    sla_timer_keys_due_pattern(SLA_KEY_PREFIX, pattern, sizeof(pattern));
    do {
        redisReply *s = redisCommand(c, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        if (!s || s->type != REDIS_REPLY_ARRAY || s->elements != 2) {
            if (s)
                freeReplyObject(s);
            fprintf(stderr, "charterctl timers: SCAN failed\n");
            goto out;
        }
        snprintf(cursor, sizeof(cursor), "%s", s->element[0]->str);
        for (size_t k = 0; k < s->element[1]->elements; k++) {
            sla_timer_keys keys;
            if (sla_timer_keys_from_due(s->element[1]->element[k]->str, &keys) < 0)
                continue; /* matched the pattern, but not a due set's name */
            for (int set = 0; set < 2; set++) {
                const char *key = set ? keys.inflight : keys.due;
                redisReply *z;
                if (case_id) {
                    /* ids start with "<case>/": a lexical range of the members
                     * would need equal scores, so scan the set's members. */
                    z = redisCommand(c, "ZRANGE %s 0 -1 WITHSCORES", key);
                } else {
                    z = redisCommand(c, "ZRANGEBYSCORE %s -inf %lld WITHSCORES", key,
                                     (long long)(now + within));
                }
                for (size_t e = 0; z && z->type == REDIS_REPLY_ARRAY && e + 1 < z->elements;
                     e += 2) {
                    const redisReply *m = z->element[e];
                    char id[SLA_TIMER_ID_MAX];
                    int form = sla_timer_id_unpack((const uint8_t *)m->str, m->len, id, sizeof(id));
                    if (form < 0 || (case_id && !sla_timer_id_of_case(id, case_id)))
                        continue;
                    if (n == MAX_ROWS)
                        break;
                    row *rw = &rows[n++];
                    snprintf(rw->id, sizeof(rw->id), "%s", id);
                    rw->compact = form == 1;
                    rw->due_ms = strtoll(z->element[e + 1]->str, NULL, 10);
                    rw->inflight = set;
                    describe(c, keys.timers, rw);
                }
                if (z)
                    freeReplyObject(z);
            }
        }
        freeReplyObject(s);
    } while (strcmp(cursor, "0") != 0);
    qsort(rows, n, sizeof(*rows), by_due);
    printf("%-25s %-9s %-19s %-22s %-16s %s\n", "due", "in", "kind", "organisation", "reference",
           "timer id");
    for (size_t i = 0; i < n; i++) {
        char when[40], in[24];
        ch_deadline_format(tz, rows[i].due_ms, when, sizeof(when));
        int64_t d = (rows[i].due_ms - now) / 1000;
        if (rows[i].inflight)
            snprintf(in, sizeof(in), "firing");
        else if (d < 0)
            snprintf(in, sizeof(in), "overdue");
        else if (d < 3600)
            snprintf(in, sizeof(in), "%lldm%02llds", (long long)(d / 60), (long long)(d % 60));
        else if (d < 86400 * 2)
            snprintf(in, sizeof(in), "%lldh%02lldm", (long long)(d / 3600),
                     (long long)(d / 60 % 60));
        else
            snprintf(in, sizeof(in), "%lldd", (long long)(d / 86400));
        printf("%-25s %-9s %-19s %-22s %-16s %s\n", when, in, rows[i].kind, rows[i].organisation,
               rows[i].reference, rows[i].id);
    }
    printf("%zu timer%s\n", n, n == 1 ? "" : "s");
    if (case_id) {
        print_case_state(c, tz, case_id);
        if (!org[0]) { /* a case id: its organisation from sla-timer's state */
            char key[SLA_CASE_KEY_MAX];
            redisReply *s = sla_case_state_key(case_id, key, sizeof(key)) == 0
                                ? redisCommand(c, "GET %s", key)
                                : NULL;
            ch_case_state st;
            if (s && s->type == REDIS_REPLY_STRING &&
                ch_case_state_unpack(s->str, s->len, &st) == 0)
                snprintf(org, sizeof(org), "%s", st.organisation);
            if (s)
                freeReplyObject(s);
        }
        if (org[0])
            print_page(c, tz, org, case_id, now);
    }
    code = 0;
out:
    if (t)
        freeReplyObject(t);
    free(rows);
    ch_tz_free(tz);
    redisFree(c);
    return code;
}
