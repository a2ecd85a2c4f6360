/*
 * The ingest pipeline: from a parsed CaseEvent to a record Kafka has
 * acknowledged, the same for every way in.
 *
 * Idempotency. A gateway retries when it did not see our answer, so an event
 * carrying a gateway_message_id is recorded in Redis under
 * charter:idem:{ORG}:GATEWAY:MSGID before it is produced. One Lua script
 * claims the id and, for a contact, allocates the reference in the same step
 * (the reference counter charter:ref:{ORG}:YEAR shares the hash tag, so this
 * works on Redis Cluster). Every record lives for ingest.idempotency_ttl_s,
 * so the identifiers outlive any crash, and moves through three states:
 *
 *   P|event_id|case_id|reference|since   claimed at `since` (Redis TIME, ms),
 *                                  produce in flight. For the claim's lease
 *                                  (message.timeout.ms + ingest.claim_grace_ms,
 *                                  the longest a write can be on its way) a
 *                                  repeat gets 409; after it, the writer is
 *                                  taken to be gone (killed after Kafka took
 *                                  the write, or before; or its outcome never
 *                                  reached Redis) and the repeat takes the
 *                                  claim over and produces the same event
 *   D|...                          Kafka acknowledged it: a repeat gets the
 *                                  original answer (200) and produces nothing.
 *                                  Final: a late F does not replace it
 *   F|...                          Kafka refused it (503): a retry re-produces
 *                                  with the same event id, case id and reference
 *
 * Keeping the identifiers across a failed or abandoned attempt matters when
 * the first write may have landed ("possibly persisted", or a crash before
 * the outcome was recorded): the retry is then the same event (same
 * event_id), which every consumer already drops as a redelivery, never a
 * second case. A contact's reference comes with a floor (reference.h), so a
 * counter Redis lost is lifted above every reference already issued.
 *
 * A request answers when Kafka has confirmed the write, or with 503 after
 * ingest.answer_timeout_ms (5 s) if it has not: during a broker outage the
 * write goes on (librdkafka's idempotent producer retries it when the
 * broker is back, for up to message.timeout.ms), and the claim stays P, so
 * the gateway's retry gets 409 until the report comes and then the original
 * answer. Answering 503 and writing again on the retry instead would put
 * the event on the topic twice whenever the first write had reached the
 * broker and only its acknowledgement was lost.
 *
 * What a claim's answer means is decided in claim.c.
 *
 * Cost per event matters here: every request waits for this step, so it is
 * one round trip, sent by the runtime's script registry as EVALSHA (the
 * script's 40-byte digest rather than its text; the runtime loads its
 * scripts on each connection and falls back to EVAL once when Redis answers
 * NOSCRIPT). Event and case ids come from a pool of random bytes (one
 * getrandom per 128 ids). After the write, a contact's D outcome and its
 * case-directory entries go as plain commands (record_accepted,
 * directory.c): a Lua script per event cost Redis about as much again as
 * the writes themselves (INFO commandstats, issue 16).
 *
 * The organisation and its reference prefix come from the policies the
 * runtime keeps (charter/policy_store.h), copied into the item when it
 * starts: a SIGHUP reload may replace the policies while the item waits.
 * The gateway must be allowed to write for the organisation (its orgs= in
 * the gateways file, charter/signature.h), else 403
 * organisation_not_allowed; checked here so that a request, a batch line
 * and a gateway-topic record are judged alike.
 * A contact's case type must be one of the organisation's (its policy's
 * closed list, ch_policy_case_type_known): every way in goes through
 * item_start, so a request, a batch line and a gateway record are refused
 * alike, 422 naming the field and the allowed values, and a misspelt type
 * never reaches a clock.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "charter/errors.h"
#include "charter/policy.h"
#include "charter/policy_store.h"
#include "charter/timeutil.h"
#include "claim.h"
#include "directory.h"
#include "ingest.h"
#include "reference.h"

/* KEYS: the idempotency key [, the reference counter]. ARGV: "event_id|case_id",
 * the lease (ms), the idempotency window (s) [, "PREFIX-YYYY-", the counter's
 * floor]. Answers {state, record} (claim.h). Redis TIME stamps a pending
 * claim, so every instance measures the lease on one clock. */
static const char claim_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "if v then\n"
    "  local s = string.sub(v, 1, 2)\n"
    "  local ids = string.match(v, '^.|([^|]*|[^|]*|[^|]*)')\n"
    "  if s == 'D|' or not ids then return {2, v} end\n"
    "  local state = 1\n"
    "  if s == 'P|' then\n"
    "    local since = tonumber(string.match(v, '^P|[^|]*|[^|]*|[^|]*|(%d+)$'))\n"
    "    if since and now - since < tonumber(ARGV[2]) then return {2, v} end\n"
    "    state = 3\n"
    "  elseif s ~= 'F|' then\n"
    "    return {2, v}\n"
    "  end\n"
    "  v = 'P|' .. ids .. '|' .. now\n"
    "  redis.call('SET', KEYS[1], v, 'EX', ARGV[3])\n"
    "  return {state, v}\n"
    "end\n"
    "local ref = ''\n"
    "if #KEYS > 1 then\n"
    "  local n = redis.call('INCR', KEYS[2])\n"
    "  local floor = tonumber(ARGV[5])\n"
    "  if n <= floor then\n"
    "    n = floor + 1\n"
    "    redis.call('SET', KEYS[2], n)\n"
    "  end\n"
    "  ref = ARGV[4] .. string.format('%06d', n)\n"
    "end\n"
    "v = 'P|' .. ARGV[1] .. '|' .. ref .. '|' .. now\n"
    "redis.call('SET', KEYS[1], v, 'EX', ARGV[3])\n"
    "return {0, v}\n";

/* A reference for a contact without a gateway message id. KEYS: the
 * counter. ARGV: its floor. Answers the number. */
static const char reference_lua[] = "local n = redis.call('INCR', KEYS[1])\n"
                                    "local floor = tonumber(ARGV[1])\n"
                                    "if n <= floor then\n"
                                    "  n = floor + 1\n"
                                    "  redis.call('SET', KEYS[1], n)\n"
                                    "end\n"
                                    "return n\n";

/* The outcome of an attempt. KEYS: the idempotency key. ARGV: the record,
 * the idempotency window (s). D is final: a late F (a first attempt that
 * failed after a taken-over one was written) does not undo it. */
static const char outcome_lua[] = "if string.sub(ARGV[1], 1, 1) == 'F' then\n"
                                  "  local v = redis.call('GET', KEYS[1])\n"
                                  "  if v and string.sub(v, 1, 2) == 'D|' then return 0 end\n"
                                  "end\n"
                                  "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])\n"
                                  "return 1\n";

int
pipeline_init(ingest *in, char *errstr, size_t errstr_size)
{
    if (!(in->claim = ch_redis_script_new(in->rt, claim_lua)) ||
        !(in->reference = ch_redis_script_new(in->rt, reference_lua)) ||
        !(in->outcome = ch_redis_script_new(in->rt, outcome_lua)) ||
        !(in->floors = ingest_ref_floors_new()) || ingest_dir_init(in) != 0) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    in->rnd_pos = sizeof(in->rnd);
    const char *mt = ch_runtime_kafka_setting(in->rt, "message.timeout.ms");
    char *end = NULL;
    long long timeout_ms = mt ? strtoll(mt, &end, 10) : 300000; /* librdkafka's default */
    if (mt && (end == mt || *end || timeout_ms < 0 || timeout_ms > 24LL * 3600 * 1000)) {
        snprintf(errstr, errstr_size, "kafka.message.timeout.ms '%s' is not a number of ms", mt);
        return CH_EINVAL;
    }
    snprintf(in->lease_ms, sizeof(in->lease_ms), "%lld",
             ingest_claim_lease_ms(timeout_ms, in->cfg->claim_grace_ms));
    snprintf(in->ttl_s, sizeof(in->ttl_s), "%lld", (long long)in->cfg->idempotency_ttl_s);
    if (in->cfg->idempotency_ttl_s * 1000 <= atoll(in->lease_ms)) {
        snprintf(errstr, errstr_size,
                 "ingest.idempotency_ttl_s (%lld s) must be longer than a claim's lease, "
                 "kafka.message.timeout.ms plus ingest.claim_grace_ms (%s ms)",
                 (long long)in->cfg->idempotency_ttl_s, in->lease_ms);
        return CH_EINVAL;
    }
    return 0;
}

/* A random (version 4) UUID, like ch_uuid4, from the context's pool. */
static int
new_uuid(ingest *in, char out[CH_UUID_BUFSZ])
{
    static const char hex[] = "0123456789abcdef";
    if (in->rnd_pos + 16 > sizeof(in->rnd)) {
        if (getrandom(in->rnd, sizeof(in->rnd), 0) != (ssize_t)sizeof(in->rnd))
            return CH_EIO;
        in->rnd_pos = 0;
    }
    uint8_t *b = in->rnd + in->rnd_pos;
    in->rnd_pos += 16;
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
    }
    *o = '\0';
    memset(b, 0, 16);
    return 0;
}

item *
item_new(ingest *in, Charter__V1__CaseEvent *ev, const ch_event_json_meta *meta,
         const char *gateway, const char *source)
{
    item *it = calloc(1, sizeof(*it));
    if (!it)
        return NULL;
    it->in = in;
    it->ev = ev;
    if (meta)
        it->meta = *meta;
    snprintf(it->gateway, sizeof(it->gateway), "%s", gateway ? gateway : "");
    snprintf(it->source, sizeof(it->source), "%s", source ? source : "");
    it->partition = it->offset = -1;
    return it;
}

item *
item_new_refused(ingest *in, const ch_json_error *err)
{
    item *it = calloc(1, sizeof(*it));
    if (!it)
        return NULL;
    it->in = in;
    it->state = ITEM_DONE;
    it->status = err->status;
    it->err = *err;
    ch_metric_add(in->m_rejected, 1);
    return it;
}

void
item_own(item *it, void *owner, void (*ready)(item *it), void (*done)(item *it),
         int answer_deadline)
{
    it->owner = owner;
    it->ready = ready;
    it->done = done;
    it->answer_deadline = answer_deadline;
}

void
item_free(item *it)
{
    if (!it)
        return;
    if (it->in_kafka) {
        it->released = 1;
        it->owner = NULL;
        return;
    }
    ch_event_json_free(it->ev);
    free(it);
}

static void
wait_unlink(item *it)
{
    ingest *in = it->in;
    if (it->wprev)
        it->wprev->wnext = it->wnext;
    else if (in->wait_head == it)
        in->wait_head = it->wnext;
    if (it->wnext)
        it->wnext->wprev = it->wprev;
    else if (in->wait_tail == it)
        in->wait_tail = it->wprev;
    it->wprev = it->wnext = NULL;
}

void
pipeline_sweep(ingest *in, int64_t now_ms)
{
    item *next;
    for (item *it = in->wait_head; it && now_ms - it->produced_ms >= in->cfg->answer_timeout_ms;
         it = next) {
        next = it->wnext;
        if (it->answered)
            continue;
        it->answered = 1;
        item_finish_error(it, 503, "unavailable", NULL,
                          "Kafka has not confirmed the write yet; retry with the same "
                          "gateway_message_id for its outcome");
    }
}

void
pipeline_fini(ingest *in)
{
    item *next;
    for (item *it = in->wait_head; it; it = next) {
        next = it->wnext;
        wait_unlink(it);
        it->in_kafka = 0;
        if (it->released)
            item_free(it);
    }
    ingest_ref_floors_free(in->floors);
    in->floors = NULL;
}

void
item_finish_error(item *it, int status, const char *code, const char *field, const char *message)
{
    it->state = ITEM_DONE;
    it->status = status;
    it->err.status = status;
    snprintf(it->err.code, sizeof(it->err.code), "%s", code);
    snprintf(it->err.field, sizeof(it->err.field), "%s", field ? field : "");
    snprintf(it->err.message, sizeof(it->err.message), "%s", message);
    if (status == 503) {
        it->retry_after_s = 5;
        ch_metric_add(it->in->m_unavailable, 1);
    } else if (status == 409) {
        it->retry_after_s = 1;
        ch_metric_add(it->in->m_in_progress, 1);
    } else {
        ch_metric_add(it->in->m_rejected, 1);
    }
    it->done(it);
}

static int
occurred_year(const item *it)
{
    time_t secs = (time_t)it->ev->occurred_at->seconds;
    struct tm tm;
    gmtime_r(&secs, &tm);
    return tm.tm_year + 1900;
}

static void
set_ready(item *it)
{
    it->state = ITEM_READY;
    it->ready(it);
}

/* The counter key and floor argument of a contact's reference. */
static void
counter_key(const item *it, char *key, size_t keysz, char *floor, size_t floorsz)
{
    int year = occurred_year(it);
    snprintf(key, keysz, "charter:ref:{%s}:%04d", it->org_id, year);
    snprintf(floor, floorsz, "%lld", ingest_ref_floor(it->in->floors, it->org_id, year));
}

/* Remembers the number of the reference just allocated as its counter's floor. */
static void
raise_floor(item *it)
{
    int year;
    long long n;
    if (it->reference[0] &&
        ingest_reference_parse(it->reference, strlen(it->reference), &year, &n) == 0)
        ingest_ref_floor_raise(it->in->floors, it->org_id, year, n);
}

static void
claimed(void *opaque, redisReply *reply)
{
    item *it = opaque;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER ||
        reply->element[1]->type != REDIS_REPLY_STRING) {
        item_finish_error(it, 503, "unavailable", NULL,
                          "could not record the gateway message id in Redis; retry");
        return;
    }
    ingest_claim_ids ids;
    ingest_claim_action action = ingest_claim_decide(
        reply->element[0]->integer, reply->element[1]->str, reply->element[1]->len, &ids);
    if (action != INGEST_CLAIM_BAD) {
        memcpy(it->event_id, ids.event_id, sizeof(it->event_id));
        memcpy(it->case_id, ids.case_id, sizeof(it->case_id));
        memcpy(it->reference, ids.reference, sizeof(it->reference));
    }
    switch (action) {
    case INGEST_CLAIM_NEW:
        raise_floor(it);
        set_ready(it);
        return;
    case INGEST_CLAIM_RETAKE:
        ch_metric_add(it->in->m_retaken, 1);
        CH_LOG_WARN(ch_runtime_log(it->in->rt),
                    "a claim older than its lease had no outcome (its writer is gone); "
                    "writing the same event again",
                    CH_STR("case_id", it->case_id), CH_STR("event_id", it->event_id),
                    CH_STR("source", it->source));
        set_ready(it);
        return;
    case INGEST_CLAIM_RETRY:
        set_ready(it);
        return;
    case INGEST_CLAIM_DONE:
        it->state = ITEM_DONE;
        it->status = 200;
        ch_metric_add(it->in->m_duplicates, 1);
        it->done(it);
        return;
    case INGEST_CLAIM_WRITING:
        item_finish_error(it, 409, "in_progress", "gateway_message_id",
                          "an event with this gateway_message_id is being written now; retry "
                          "in a second for its answer");
        return;
    case INGEST_CLAIM_BAD:
        break;
    }
    item_finish_error(it, 503, "unavailable", NULL,
                      "the idempotency record in Redis is unreadable; retry later");
}

static void
reference_allocated(void *opaque, redisReply *reply)
{
    item *it = opaque;
    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        item_finish_error(it, 503, "unavailable", NULL,
                          "could not allocate a case reference; retry");
        return;
    }
    snprintf(it->reference, sizeof(it->reference), "%s-%04d-%06lld", it->ref_prefix,
             occurred_year(it), (long long)reply->integer);
    raise_floor(it);
    set_ready(it);
}

/* The idempotency key into out (outsz 0: checks only that it fits 320 bytes). */
static int
idem_key(const item *it, char *out, size_t outsz)
{
    char buf[320];
    if (!out) {
        out = buf;
        outsz = sizeof(buf);
    }
    return snprintf(out, outsz, "charter:idem:{%s}:%s:%s", it->org_id, it->gateway,
                    it->meta.gateway_message_id) < (int)outsz
               ? 0
               : CH_EINVAL;
}

static int send_claim(item *it);

void
item_start(item *it, const char *case_id)
{
    ingest *in = it->in;
    it->state = ITEM_PREPARING;
    if (!ch_runtime_kafka_up(in->rt)) {
        item_finish_error(it, 503, "unavailable", NULL,
                          "Kafka is unavailable; nothing was accepted, retry");
        return;
    }
    const ch_org_clocks *org = ch_org_set_find(ch_runtime_orgs(in->rt), it->ev->organisation);
    if (!org) {
        item_finish_error(it, 422, "unknown_organisation", "organisation",
                          "field 'organisation' names no organisation Charter knows");
        return;
    }
    if (!it->org_authenticated &&
        !ch_gateways_org_allowed(in->gateways, it->gateway, org->policy.id)) {
        char message[256];
        snprintf(message, sizeof(message),
                 "gateway '%.63s' may not write for organisation '%.63s' (its orgs= in the "
                 "gateways file does not list it)",
                 it->gateway, org->policy.id);
        item_finish_error(it, 403, "organisation_not_allowed", "organisation", message);
        return;
    }
    snprintf(it->org_id, sizeof(it->org_id), "%s", org->policy.id);
    snprintf(it->ref_prefix, sizeof(it->ref_prefix), "%s", org->policy.reference_prefix);
    int received = it->ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_RECEIVED;
    if (received && !ch_policy_case_type_known(&org->policy, it->ev->received->case_type)) {
        char allowed[160], message[400]; /* fits err.message in practice: ~200 */
        ch_policy_case_types_list(&org->policy, allowed, sizeof(allowed));
        snprintf(message, sizeof(message),
                 "field 'case_type': '%.40s' is not a case type of %.40s (expected one of: %s)",
                 it->ev->received->case_type, org->policy.name, allowed);
        item_finish_error(it, 422, "unknown_case_type", "case_type", message);
        return;
    }
    if (new_uuid(in, it->event_id) != 0) {
        item_finish_error(it, 503, "unavailable", NULL, "could not allocate identifiers");
        return;
    }
    if (received) {
        if (new_uuid(in, it->case_id) != 0) {
            item_finish_error(it, 503, "unavailable", NULL, "could not allocate identifiers");
            return;
        }
    } else {
        snprintf(it->case_id, sizeof(it->case_id), "%s", case_id);
    }
    if (it->ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_ESCALATED &&
        strcmp(it->ev->escalated->new_case_id, it->case_id) == 0) {
        item_finish_error(it, 422, "invalid_value", "new_case_id",
                          "field 'new_case_id' must name the next stage's case, not this one");
        return;
    }

    int rc;
    if (it->meta.gateway_message_id[0]) {
        if (idem_key(it, NULL, 0) != 0) {
            item_finish_error(it, 422, "invalid_value", "gateway_message_id",
                              "field 'gateway_message_id' is too long");
            return;
        }
        rc = send_claim(it);
    } else if (received) {
        char refkey[160], floor[24];
        counter_key(it, refkey, sizeof(refkey), floor, sizeof(floor));
        const char *argv[] = {refkey, floor};
        rc = ch_redis_script_call(in->reference, reference_allocated, it, 1, 2, argv, NULL);
    } else {
        set_ready(it);
        return;
    }
    if (rc != 0)
        item_finish_error(it, 503, "unavailable", NULL, "Redis is not connected; retry");
}

/* The claim script for an item with a gateway message id. */
static int
send_claim(item *it)
{
    ingest *in = it->in;
    int received = it->ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_RECEIVED;
    char key[320], ids[160], prefix[40], refkey[160], floor[24];
    snprintf(ids, sizeof(ids), "%s|%s", it->event_id, it->case_id);
    if (idem_key(it, key, sizeof(key)) != 0)
        return CH_EINVAL;
    const char *argv[7] = {key};
    int argc = 1;
    if (received) {
        counter_key(it, refkey, sizeof(refkey), floor, sizeof(floor));
        snprintf(prefix, sizeof(prefix), "%s-%04d-", it->ref_prefix, occurred_year(it));
        argv[argc++] = refkey;
    }
    int nkeys = argc;
    argv[argc++] = ids;
    argv[argc++] = in->lease_ms;
    argv[argc++] = in->ttl_s;
    if (received) {
        argv[argc++] = prefix;
        argv[argc++] = floor;
    }
    return ch_redis_script_call(in->claim, claimed, it, nkeys, argc, argv, NULL);
}

/* The idempotency key and the outcome record (state D or F) of an item
 * with a gateway message id; 0, or -1 when it has none. */
static int
outcome_record(const item *it, char state, char key[320], char value[320])
{
    if (!it->meta.gateway_message_id[0] || idem_key(it, key, 320) != 0)
        return -1;
    snprintf(value, 320, "%c|%s|%s|%s", state, it->event_id, it->case_id, it->reference);
    return 0;
}

static void
outcome_not_sent(const item *it)
{
    CH_LOG_WARN(ch_runtime_log(it->in->rt),
                "could not record the outcome of a gateway message id; a retry after the "
                "claim's lease writes the same event again",
                CH_STR("case_id", it->case_id), CH_STR("event_id", it->event_id));
}

/* Records the outcome for repeats of this gateway message id; best effort:
 * the answer to the client does not wait for it. Should it be lost (Redis
 * refused it, the process died first), the claim stays pending and a retry
 * after its lease writes the same event again (claim.h, state 3). */
static void
record_outcome(item *it, char state)
{
    char key[320], value[320];
    if (outcome_record(it, state, key, value) != 0)
        return;
    int rc;
    if (state == 'D') { /* what the outcome script does with a D, without its Lua */
        const char *argv[] = {"SET", key, value, "EX", it->in->ttl_s};
        rc = ch_redis_command_argv(it->in->rt, NULL, NULL, 5, argv, NULL);
    } else {
        const char *argv[] = {key, value, it->in->ttl_s};
        rc = ch_redis_script_call(it->in->outcome, NULL, NULL, 1, 3, argv, NULL);
    }
    if (rc != 0)
        outcome_not_sent(it);
}

/* A write Kafka confirmed: its D outcome and what it changes in the case
 * directory, in one script call when the event changes the directory (a
 * D is written unconditionally, as the outcome script writes it). */
static void
record_accepted(item *it)
{
    char key[320], value[320];
    int has_outcome = outcome_record(it, 'D', key, value) == 0;
    int rc = ingest_dir_record(it->in, it->ev, it->case_id, has_outcome ? key : NULL,
                               has_outcome ? value : NULL, it->in->ttl_s);
    if (rc == 0)
        record_outcome(it, 'D');
    else if (rc < 0 && has_outcome)
        outcome_not_sent(it);
}

/* charter_ingest_events_total{organisation,event}: accepted events by
 * organisation (the policies name them) and type (the CaseEvent oneof). */
static void
count_accepted(ingest *in, const Charter__V1__CaseEvent *ev)
{
    const char *org = ev->organisation ? ev->organisation : "";
    int event = (int)ev->event_case;
    for (size_t i = 0; i < in->naccepted_by; i++)
        if (in->accepted_by[i].event == event && !strcmp(in->accepted_by[i].org, org)) {
            ch_metric_add(in->accepted_by[i].m, 1);
            return;
        }
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field(&charter__v1__case_event__descriptor, event);
    static const char *const keys[] = {"organisation", "event"};
    const char *values[] = {org, fd ? fd->name : "unknown"};
    ch_metric *m =
        ch_metric_series(in->rt, CH_METRIC_COUNTER, "charter_ingest_events_total",
                         "case events accepted, by organisation and event type", 2, keys, values);
    ch_metric_add(m, 1);
    if (m && in->naccepted_by < sizeof(in->accepted_by) / sizeof(in->accepted_by[0]) &&
        strlen(org) < sizeof(in->accepted_by[0].org)) {
        strcpy(in->accepted_by[in->naccepted_by].org, org);
        in->accepted_by[in->naccepted_by].event = event;
        in->accepted_by[in->naccepted_by].m = m;
        in->naccepted_by++;
    }
}

static void
delivered(void *opaque, int rc, int32_t partition, int64_t offset, const char *errstr)
{
    item *it = opaque;
    ingest *in = it->in;
    it->in_kafka = 0;
    if (it->answer_deadline)
        wait_unlink(it);
    if (it->answered) {
        /* Answered 503 already: record the outcome the retry will get. */
        if (rc == 0) {
            record_accepted(it);
            count_accepted(in, it->ev);
            ch_metric_add(in->m_late, 1);
            CH_LOG_INFO(ch_runtime_log(in->rt),
                        "case event accepted after its request was answered",
                        CH_STR("case_id", it->case_id), CH_STR("event_id", it->event_id),
                        CH_STR("source", it->source), CH_INT("partition", partition),
                        CH_INT("offset", offset));
        } else {
            record_outcome(it, 'F');
            CH_LOG_WARN(ch_runtime_log(in->rt), "case event not written to Kafka",
                        CH_STR("case_id", it->case_id), CH_STR("event_id", it->event_id),
                        CH_STR("error", errstr));
        }
        if (it->released)
            item_free(it);
        return;
    }
    if (rc != 0) {
        CH_LOG_WARN(ch_runtime_log(in->rt), "case event not written to Kafka",
                    CH_STR("case_id", it->case_id), CH_STR("event_id", it->event_id),
                    CH_STR("error", errstr));
        record_outcome(it, 'F');
        item_finish_error(it, 503, "unavailable", NULL,
                          "the event could not be written to Kafka; nothing was "
                          "accepted, retry with the same gateway_message_id");
        return;
    }
    record_accepted(it);
    count_accepted(in, it->ev);
    it->state = ITEM_DONE;
    it->status = 202;
    it->partition = partition;
    it->offset = offset;
    ch_metric_add(in->m_accepted, 1);
    CH_LOG_INFO(ch_runtime_log(in->rt), "case event accepted", CH_STR("case_id", it->case_id),
                CH_STR("event_id", it->event_id), CH_STR("organisation", it->ev->organisation),
                CH_INT("event", it->ev->event_case), CH_STR("source", it->source),
                CH_INT("partition", partition), CH_INT("offset", offset));
    it->done(it);
}

static int
dup_into(char **field, const char *value)
{
    char *copy = strdup(value);
    if (!copy)
        return CH_ENOMEM;
    if (*field && *field != protobuf_c_empty_string)
        free(*field);
    *field = copy;
    return 0;
}

void
item_produce(item *it)
{
    ingest *in = it->in;
    Charter__V1__CaseEvent *ev = it->ev;
    it->state = ITEM_PRODUCING;
    Charter__V1__Timestamp *ts = malloc(sizeof(*ts));
    if (!ts || dup_into(&ev->event_id, it->event_id) || dup_into(&ev->case_id, it->case_id) ||
        dup_into(&ev->source, it->source) ||
        (ev->event_case == CHARTER__V1__CASE_EVENT__EVENT_RECEIVED &&
         dup_into(&ev->received->reference, it->reference))) {
        free(ts);
        item_finish_error(it, 503, "unavailable", NULL, "out of memory");
        return;
    }
    charter__v1__timestamp__init(ts);
    ch_time_split_ms(ch_time_now_ms(), &ts->seconds, &ts->nanos);
    if (ev->ingested_at)
        protobuf_c_message_free_unpacked(&ev->ingested_at->base, NULL);
    ev->ingested_at = ts;
    if (ch_produce(in->rt, in->cfg->topic, it->case_id, &ev->base, delivered, it) != 0) {
        record_outcome(it, 'F');
        item_finish_error(it, 503, "unavailable", NULL, "Kafka is not accepting writes; retry");
        return;
    }
    it->in_kafka = 1;
    if (it->answer_deadline) {
        it->produced_ms = ch_time_now_ms();
        it->wprev = in->wait_tail;
        if (in->wait_tail)
            in->wait_tail->wnext = it;
        else
            in->wait_head = it;
        in->wait_tail = it;
    }
}
