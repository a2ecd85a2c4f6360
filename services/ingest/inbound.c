/*
 * Gateway topics: email, social and SMS gateways that prefer Kafka to HTTP
 * publish JSON records (the same record shape as a line of POST /v1/events)
 * to their own topics. ingest.gateway_topics maps each gateway to a topic or
 * a '^' pattern; the runtime delivers the raw bytes and this file runs them
 * through the same parser and pipeline as HTTP.
 *
 * A record's offset is committed only after Kafka acknowledged the event it
 * became (ch_msg_done from the item's done), so nothing read is lost; a
 * record read again after a crash is matched to its first reading by its
 * gateway_message_id or, without one, by where it was read (implicit_id),
 * so it does not become a second case. A record
 * that can never become an event goes to the dead-letter topic with a reason
 * made of the error code and field only: the reason is also logged, and the
 * record's own values (which may be personal data) must not be.
 *
 * The entry's gateway is the record's gateway: it must have a line in the
 * gateways file (keys optional), whose orgs= says which organisations its
 * records may be for; a record for another is dead-lettered
 * (organisation_not_allowed), like the 403 an HTTP gateway gets.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "signature.h"
#include "ingest.h"

/* Calls fn for each "GATEWAY=TOPIC" entry of the whitespace-separated list;
 * stops at the first non-zero return. */
static int
each_entry(const char *text,
           int (*fn)(void *arg, const char *gw, size_t gwlen, const char *topic, size_t topiclen,
                     char *errstr, size_t errstr_size),
           void *arg, char *errstr, size_t errstr_size)
{
    const char *p = text;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n')
            p++;
        size_t n = (size_t)(p - s);
        const char *eq = memchr(s, '=', n);
        if (!eq || !ch_gateway_id_valid(s, (size_t)(eq - s)) || eq + 1 == p) {
            snprintf(errstr, errstr_size,
                     "'%.*s' is not GATEWAY=TOPIC (e.g. email=charter.gateway.email.v1 or "
                     "sms=^charter\\.gateway\\.sms\\..*)",
                     (int)(n > 80 ? 80 : n), s);
            return CH_EINVAL;
        }
        int rc = fn(arg, s, (size_t)(eq - s), eq + 1, (size_t)(p - eq - 1), errstr, errstr_size);
        if (rc)
            return rc;
    }
    return 0;
}

static int
count_entry(void *arg, const char *gw, size_t gwlen, const char *topic, size_t topiclen,
            char *errstr, size_t errstr_size)
{
    (void)gw;
    (void)gwlen;
    (void)errstr;
    (void)errstr_size;
    (void)topic;
    (void)topiclen;
    (*(size_t *)arg)++;
    return 0;
}

int
inbound_validate(const char *text, char *errstr, size_t errstr_size)
{
    size_t n = 0;
    return each_entry(text, count_entry, &n, errstr, errstr_size);
}

static int
add_entry(void *arg, const char *gw, size_t gwlen, const char *topic, size_t topiclen, char *errstr,
          size_t errstr_size)
{
    ingest *in = arg;
    inbound_gateway *g = &in->inbound[in->ninbound++];
    snprintf(g->id, sizeof(g->id), "%.*s", (int)gwlen, gw);
    if (!ch_gateways_has(in->gateways, g->id)) {
        snprintf(errstr, errstr_size,
                 "ingest.gateway_topics names gateway '%s', which the gateways file "
                 "(ingest.gateways_file) does not list: add a line \"%s orgs=ORG,...\" naming "
                 "the organisations it may write for (keys are for HTTP only)",
                 g->id, g->id);
        return CH_EINVAL;
    }
    snprintf(g->source, sizeof(g->source), "kafka:%s", g->id);
    char *t = strndup(topic, topiclen);
    if (!t) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    int rc = ch_runtime_subscribe(in->rt, t, NULL, g, errstr, errstr_size);
    if (rc == 0)
        CH_LOG_INFO(ch_runtime_log(in->rt), "reading a gateway topic", CH_STR("gateway", g->id),
                    CH_STR("topic", t));
    free(t);
    return rc;
}

int
inbound_setup(ingest *in, char *errstr, size_t errstr_size)
{
    size_t n = 0;
    if (each_entry(in->cfg->gateway_topics, count_entry, &n, errstr, errstr_size) != 0)
        return CH_EINVAL;
    if (n == 0)
        return 0;
    if (!(in->inbound = calloc(n, sizeof(*in->inbound)))) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    return each_entry(in->cfg->gateway_topics, add_entry, in, errstr, errstr_size);
}

/*
 * A record without a gateway_message_id is known by where it was read:
 * "@TOPIC/PARTITION/OFFSET/TIMESTAMP". A redelivery (ingest died before the
 * offset was committed) is then a repeat, not a second case. The '@' and
 * '/' cannot collide with a gateway's own ids in practice, and the record's
 * timestamp tells a recreated topic's record at an old offset from the one
 * remembered. A topic name too long for the id is replaced by its FNV-1a
 * hash.
 */
static void
implicit_id(const ch_msg *m, char *out, size_t outsz)
{
    const char *topic = ch_msg_topic(m);
    char hashed[24];
    if (strlen(topic) > 60) {
        uint64_t h = 1469598103934665603ULL;
        for (const char *p = topic; *p; p++)
            h = (h ^ (uint8_t)*p) * 1099511628211ULL;
        snprintf(hashed, sizeof(hashed), "#%016llx", (unsigned long long)h);
        topic = hashed;
    }
    snprintf(out, outsz, "@%s/%d/%lld/%lld", topic, (int)ch_msg_partition(m),
             (long long)ch_msg_offset(m), (long long)ch_msg_timestamp(m));
}

static void
record_done(item *it)
{
    ch_msg *m = it->owner;
    if (it->status == 200 || it->status == 202) {
        ch_msg_done(m, 0, NULL);
    } else if (it->status == 503 || it->status == 409) {
        ch_msg_done(m, CH_EAGAIN, it->err.message);
    } else {
        char why[160];
        snprintf(why, sizeof(why), "ingest refused the record: %s%s%s%s", it->err.code,
                 it->err.field[0] ? " (field '" : "", it->err.field, it->err.field[0] ? "')" : "");
        ch_msg_done(m, CH_EINVAL, why);
    }
    item_free(it);
}

static void
record_ready(item *it)
{
    item_produce(it);
}

void
inbound_on_message(void *svc, ch_msg *m, const struct ProtobufCMessage *msg)
{
    (void)msg;
    ingest *in = svc;
    const inbound_gateway *g = ch_msg_opaque(m);
    if (!g) {
        ch_msg_done(m, CH_EBADMSG, "ingest subscribes to gateway topics only");
        return;
    }
    size_t len;
    const char *value = ch_msg_value(m, &len);
    if (!value) {
        ch_msg_done(m, CH_EBADMSG, "empty record (no value)");
        return;
    }
    Charter__V1__CaseEvent *ev = NULL;
    ch_event_json_meta meta;
    ch_json_error err;
    if (ingest_parse(in, value, len, CH_EVENT_JSON_RECORD, &ev, &meta, &err) != 0) {
        ch_metric_add(in->m_rejected, 1);
        char why[320];
        if (strcmp(err.code, "invalid_json") == 0) {
            /* "malformed JSON at line L, column C: <jansson's text, which may
             * quote the record>": keep the position only */
            const char *colon = strchr(err.message, ':');
            snprintf(why, sizeof(why), "ingest refused the record: invalid_json (%.*s)",
                     colon ? (int)(colon - err.message) : 0, err.message);
        } else {
            snprintf(why, sizeof(why), "ingest refused the record: %s%s%s%s%s%s", err.code,
                     err.field[0] ? " (field '" : "", err.field, err.field[0] ? "')" : "",
                     err.reason[0] ? ": " : "", err.reason);
        }
        ch_msg_done(m, CH_EINVAL, why);
        return;
    }
    if (!meta.gateway_message_id[0])
        implicit_id(m, meta.gateway_message_id, sizeof(meta.gateway_message_id));
    item *it = item_new(in, ev, &meta, g->id, g->source);
    if (!it) {
        ch_event_json_free(ev);
        ch_msg_done(m, CH_EAGAIN, "out of memory");
        return;
    }
    item_own(it, m, record_ready, record_done, 0);
    item_start(it, meta.case_id[0] ? meta.case_id : NULL);
}
