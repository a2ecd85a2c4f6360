/*
 * A transport is a plug-in: one file under transports/ exporting one
 * `const notify_transport notify_transport_<name>`, listed once in main.c's
 * table (as nginx lists its modules in ngx_modules[] and fluent-bit its
 * output plugins). The queue knows a transport only through this header: it
 * hands it a message and gets exactly one answer back. Everything a
 * transport needs while a send is on its way (a CURL handle, a header list,
 * the payload, SMTP's commit state) is its own, so nothing here mentions
 * curl, and a transport never calls the queue.
 *
 * Each transport brings its own configuration: a table of its keys
 * (notify.smtp.*) with offsets into its own struct, which config.c lays out
 * after the service's core keys; the struct it gets back in check() and
 * init() is filled from defaults, the file and the environment like every
 * other key.
 *
 * A transport is chosen per channel by notify.<channel>.transport; which
 * names are allowed where comes from `channels` below. Adding a transport is
 * its file, transports/<name>.c, exporting notify_transport_<name>, and its
 * name in NOTIFY_TRANSPORTS in this folder's CMakeLists.txt: CMake adds the
 * file to the build and generates notify_transports[] (as fluent-bit
 * generates its plug-in registry), so no other file names a transport.
 */
#ifndef CHARTER_NOTIFY_TRANSPORT_H
#define CHARTER_NOTIFY_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "charter/config.h"
#include "charter/runtime.h"

struct Charter__V1__NotificationRequest;

/* What became of one send attempt. */
typedef enum {
    NOTIFY_SENT = 0, /* the transport took it: the customer will get it */
    NOTIFY_TEMP,     /* not taken; safe to try again later */
    NOTIFY_PERM,     /* refused for good (bad address, bad request) */
    NOTIFY_UNKNOWN,  /* may or may not have been taken; retrying could send twice */
    NOTIFY_AUTH      /* our credentials were refused (HTTP 401/403, SMTP 530/535): nothing is
                        wrong with the message, an operator must act; parked, with an alarm */
} notify_result;

/* The channels a transport may carry (notify_transport.channels). Letters go
 * by notify.letter.transport (the print queue by default). Every channel
 * without a notify.<channel>.transport key is "other": it goes by the first
 * transport in the table that carries other. Staff alerts are email. */
enum {
    NOTIFY_CH_EMAIL = 1u << 0,
    NOTIFY_CH_SMS = 1u << 1,
    NOTIFY_CH_SOCIAL = 1u << 2,
    NOTIFY_CH_OTHER = 1u << 3,
    NOTIFY_CH_LETTER = 1u << 4,
};

/* The NOTIFY_CH_* bit of a channel name ("email", "sms", "social", "letter",
 * else other). */
unsigned notify_channel_bit(const char *channel);

/*
 * One notification as the queue hands it to a transport: every string is
 * borrowed for the send() call only (copy what is needed later) and never
 * NULL ("" when absent).
 */
typedef struct {
    const char *id; /* "<case>/<what>": the idempotency reference every receiver dedupes by */
    const char *case_id, *organisation, *reference;
    int kind;              /* Charter__V1__NotificationKind */
    const char *kind_name; /* the template kind: "acknowledgement", "staff_breach", ... */
    const char *channel;   /* "email", "sms", "social", "letter", ... */
    const char *language;
    const char *to; /* address, number or postal address; a staff role key ("owner") for
                       staff_by_role transports */
    const char *subject, *body;
    const char *message_id; /* RFC 5322 Message-ID for email, the same on every attempt; else "" */
    const char *meta;       /* a JSON object of extra fields for a record of the message, or "" */
    int customer;           /* 1: to the customer; 0: to staff */
    int committed;          /* 1: an earlier attempt committed (see notify_commit_fn) and its
                               outcome is not known: the transport decides whether to send again */
    /* The queue's, not the transports' (may be NULL): why the notice was made again
     * ("fallback after permanent-failure on sms": its outcomes' reason) and the channels it
     * and the notices before it went by ("sms,email"); see fallback.h. */
    const char *note, *tried;
} notify_message;

/*
 * The answer to one accepted send(): called exactly once, now (inside
 * send()) or later; after it the attempt is gone. retry_after_ms >= 0 is the
 * receiver's wish (HTTP 429 Retry-After), else -1. `reason` is borrowed.
 */
typedef void (*notify_sent_fn)(void *opaque, notify_result r, int64_t retry_after_ms,
                               const char *reason);

/* Called by the queue exactly once per commit request: recorded 1 when the
 * "committed" record is stored, 0 when it could not be (do not go on). */
typedef void (*notify_resume_fn)(void *attempt, int recorded);

/*
 * For a transport with a point of no return (SMTP's end of data): before
 * passing it, the transport asks the queue to record "committed", and goes
 * on only when `resume` says it is recorded. A crash after that point
 * leaves the record committed, and the next attempt gets
 * notify_message.committed. resume may run inside this call.
 */
typedef void (*notify_commit_fn)(void *opaque, notify_resume_fn resume, void *attempt);

/* Where one send answers, kept by the transport for as long as the send
 * runs: sent exactly once, commit at most once before it (only a transport
 * with a point of no return calls it); both get opaque. */
typedef struct {
    notify_sent_fn sent;
    notify_commit_fn commit;
    void *opaque;
} notify_reply;

/* Gives the send's answer (see notify_sent_fn). */
static inline void
notify_reply_sent(notify_reply reply, notify_result r, int64_t retry_after_ms, const char *reason)
{
    reply.sent(reply.opaque, r, retry_after_ms, reason);
}

/* Which channels the configuration routes to a transport (check()). */
typedef struct {
    unsigned channels; /* NOTIFY_CH_* bits routed to it; 0: configured but unused */
    int64_t lease_ms;  /* notify.lease_ms: every send must end well before its claim does */
} notify_transport_use;

typedef struct notify_transport {
    const char *name;  /* the value of notify.<channel>.transport: "smtp" */
    unsigned channels; /* NOTIFY_CH_* bits it may carry */
    int staff_by_role; /* 1: staff alerts are addressed to the policy role key for the
                          receiver to route; 0: to notify.staff.email with {role} filled */

    /* Its keys (notify.smtp.*) with offsets into its own struct of config_size bytes. */
    const ch_config_entry *config;
    size_t nconfig;
    size_t config_size;

    /* Start-up checks of its settings given what is routed to it. Returns 0, or CH_EINVAL
     * with a sentence naming the key in errstr. */
    int (*check)(const void *cfg, const notify_transport_use *use, char *errstr,
                 size_t errstr_size);
    /* Creates its context (*tctx), borrowing cfg and rt for its lifetime. Returns 0, or a
     * CH_E* code with errstr set. */
    int (*init)(void **tctx, const void *cfg, ch_runtime *rt, char *errstr, size_t errstr_size);
    /* Starts sending m. Returns 0: reply.sent runs exactly once, now or later; reply.commit
     * may be called first (at most once). Returns CH_E*: neither ever runs. */
    int (*send)(void *tctx, const notify_message *m, notify_reply reply);
    /* Shutdown, after Kafka and Redis have closed: drops every send still running without
     * calling its sent(). NULL when no send outlives send() (the file transport). */
    void (*cancel_all)(void *tctx);
    void (*fini)(void *tctx); /* frees the context; NULL-safe */

    /* Optional (may be NULL): which of its keys is its rate limit (an int, messages a
     * second, 0: none; the queue keeps a token bucket per transport and holds what is over
     * it), and which is the address it sends mail from (a string, whose domain names every
     * Message-ID, notify_message.message_id). */
    const char *rate_key;
    const char *sender_key;
} notify_transport;

/* Every transport, in the order of NOTIFY_TRANSPORTS, NULL-terminated
 * (generated: transport_table.c in the build tree). The first that carries
 * "other" takes letters. */
extern const notify_transport *const notify_transports[];

/* The config part of a descriptor: its key table and its struct. */
#define NOTIFY_TRANSPORT_CONFIG(keys, type)                                                        \
    .config = (keys), .nconfig = CH_COUNTOF(keys), .config_size = sizeof(type)

/* The row of a transport's rate limit, notify.<name>.rate_per_s (an int64_t
 * `field` of `st`; the descriptor's rate_key names it): at most this many
 * `what` ("emails a second"), the rest wait in the queue; 0 (the default)
 * for no limit. */
#define NOTIFY_CFG_RATE(st, field, name, what)                                                     \
    CH_CFG_INT(st, field, "notify." name ".rate_per_s", "0",                                       \
               "at most this many " what "; more wait in the queue. 0: no limit", 0, 100000)

/* The field of t's setting `key` inside cfg (its own struct), or NULL when
 * key is NULL or not one of t's keys. */
const void *notify_transport_setting(const notify_transport *t, const void *cfg, const char *key);

/* What a transport's context starts with: its settings and the runtime. */
typedef struct {
    const void *cfg;
    ch_runtime *rt;
} notify_transport_ctx;

/* For init(): *tctx becomes `size` zeroed bytes starting with a
 * notify_transport_ctx of cfg and rt. Returns 0 or CH_ENOMEM with errstr. */
int notify_transport_ctx_new(void **tctx, size_t size, const void *cfg, ch_runtime *rt,
                             char *errstr, size_t errstr_size);

/* main.c's table, NULL-terminated, and what the rest of the service asks of it. */
#define NOTIFY_MAX_TRANSPORTS 8

/*
 * Checks a transport table: at most NOTIFY_MAX_TRANSPORTS, every name set and
 * unique, check, init, send and fini set, a config table when there is a
 * config struct. Returns 0 or CH_EINVAL with the offending transport named.
 */
int notify_transport_table_check(const notify_transport *const *table, char *errstr,
                                 size_t errstr_size);

/* The slot of `name` in the table, or -1. */
int notify_transport_find(const notify_transport *const *table, const char *name);

/*
 * The slot of `name` for the setting `key`, which routes `channel` (NOTIFY_CH_*
 * bits) to it. Returns the slot, or CH_EINVAL with a sentence that names the
 * key (unless NULL) and the transports that may carry the channel
 * ("notify.sms.transport: 'pigeon' is not a transport (expected http, kafka
 * or file)").
 */
int notify_transport_pick(const notify_transport *const *table, const char *key, const char *name,
                          unsigned channel, char *errstr, size_t errstr_size);

/* A check() for a transport whose settings need none. */
/* 1 when an organisation id may name a file or folder under a sink's
 * directory (file.c's outbox, print.c's queue): 1 to 100 bytes, no slash or
 * backslash, no control character, no leading '.' and no "..". The id comes from a
 * Kafka record, so a path is never built from it unchecked. */
int notify_organisation_path_ok(const char *organisation);

int notify_transport_no_check(const void *cfg, const notify_transport_use *use, char *errstr,
                              size_t errstr_size);

/* The first slot whose transport carries `channel`, or -1. */
int notify_transport_carrying(const notify_transport *const *table, unsigned channel);

/* The message as the NotificationRequest the dead-letter topic and the Kafka
 * hand-off carry (borrowing m's strings). */
void notify_message_request(const notify_message *m, struct Charter__V1__NotificationRequest *rq);

#endif
