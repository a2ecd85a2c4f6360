/*
 * Webhook authentication: which gateway sent a request, did it know the
 * gateway's key, and may it write for an organisation.
 *
 * A request names its gateway in X-Charter-Gateway and signs in
 * X-Charter-Signature: t=UNIX_SECONDS,v2=HEX, where HEX is
 * HMAC-SHA256(key, t + "." + METHOD + "." + TARGET + "." + body) in
 * lower-case hex and TARGET is the request target exactly as sent (path and
 * query string). Binding the method and path means a captured request for
 * one case cannot be replayed onto another case's path. The older v1
 * (HMAC of t + "." + body only, the scheme Stripe's webhooks use) is
 * accepted only from a gateway configured with accept_v1=true, for the
 * migration; when a header carries v2 entries, only they are checked.
 * Several entries of a scheme may be given (a sender mid-rotation may sign
 * with both keys); one matching entry is enough. A gateway has one or two
 * valid keys, so keys rotate without downtime: add the new key as the
 * second, move senders over, drop the old one. A timestamp more than the
 * tolerance away from now is refused, so a captured request cannot be
 * replayed later. Comparison is constant-time.
 *
 * Each gateway lists the organisations it may write for (orgs=a,b, or
 * orgs=* for all); a gateway without orgs= may write for none. A gateway
 * without keys exists only for Kafka gateway topics (HTTP treats it as
 * unknown).
 *
 * Keys are secrets: nothing here prints them, errors name the gateway and
 * the line, never the key, and the table wipes them when freed.
 *
 * Pure (time is a parameter) except ch_gateways_load_file() reading its
 * file.
 */
#ifndef CHARTER_SIGNATURE_H
#define CHARTER_SIGNATURE_H

#include <stddef.h>
#include <stdint.h>

#define CH_SIG_HEADER_GATEWAY "X-Charter-Gateway"
#define CH_SIG_HEADER_SIGNATURE "X-Charter-Signature"
#define CH_SIG_TOLERANCE_S 300
#define CH_SIG_MAC_LEN 32
#define CH_SIG_HEX_LEN (2 * CH_SIG_MAC_LEN)
#define CH_SIG_KEY_MIN 16  /* bytes; shorter keys are refused at load */
#define CH_SIG_KEY_MAX 256 /* bytes */
#define CH_GATEWAY_ID_MAX 63

typedef struct ch_gateways ch_gateways;

/* Why a request was not authenticated; each has a stable API code. */
typedef enum {
    CH_SIG_OK = 0,
    CH_SIG_MISSING_GATEWAY,   /* no X-Charter-Gateway */
    CH_SIG_UNKNOWN_GATEWAY,   /* a gateway this ingest does not know */
    CH_SIG_MISSING_SIGNATURE, /* no X-Charter-Signature */
    CH_SIG_MALFORMED,         /* not t=DIGITS,v2=64 HEX[,v2=...] (or v1=) */
    CH_SIG_STALE,             /* t more than the tolerance from now */
    CH_SIG_MISMATCH,          /* no entry matches any of the gateway's keys */
    CH_SIG_V1_REFUSED         /* only v1 entries, from a gateway without accept_v1 */
} ch_sig_result;

/* What a v2 signature covers besides t: the request as received. */
typedef struct {
    const char *method; /* "POST" */
    const char *target; /* the request target as sent: path and query string */
    const void *body;
    size_t len;
} ch_sig_request;

/* The API error code for a result ("missing_gateway", "bad_signature", ...). */
const char *ch_sig_code(ch_sig_result r);
/* A sentence for the client, without any secret. */
const char *ch_sig_message(ch_sig_result r);

/*
 * Parses a gateways table: one gateway per line,
 * "ID [KEY [KEY2]] [orgs=ORG,ORG...|orgs=*] [accept_v1=true|false]",
 * separated by spaces or tabs; '#' starts a comment line; blank lines are
 * skipped. IDs are 1 to CH_GATEWAY_ID_MAX letters, digits, '-', '_' or '.',
 * each once; a key is CH_SIG_KEY_MIN to CH_SIG_KEY_MAX printable characters,
 * used as its bytes, and may not begin with "orgs=" or "accept_v1=". An
 * organisation is 1 to 63 letters, digits, '-', '_' or '.'. A line needs a
 * key or orgs= (a gateway with neither could do nothing). `name` is used in errors as "name:LINE:
 * ...". Returns 0 and *out (free with ch_gateways_free), or CH_EINVAL / CH_ENOMEM with errstr
 * (which never contains a key).
 */
int ch_gateways_parse(const char *text, size_t len, const char *name, ch_gateways **out,
                      char *errstr, size_t errstr_size);

/* Reads and parses a file; errors name the file. */
int ch_gateways_load_file(const char *path, ch_gateways **out, char *errstr, size_t errstr_size);

/* Number of gateways in the table. */
size_t ch_gateways_count(const ch_gateways *g);

/* The id of the i-th gateway (i < ch_gateways_count), in file order. */
const char *ch_gateways_id_at(const ch_gateways *g, size_t i);

/* 1 when the table has a gateway with this id. */
int ch_gateways_has(const ch_gateways *g, const char *id);

/* 1 when gateway id may write for organisation org (its orgs= lists it,
 * or is *); 0 for an unknown gateway, a gateway without orgs=, or NULLs. */
int ch_gateways_org_allowed(const ch_gateways *g, const char *id, const char *org);

/* 1 when the gateway has an orgs= entry (possibly *); 0 otherwise. */
int ch_gateways_has_orgs(const ch_gateways *g, const char *id);

/* Wipes the keys and frees the table (NULL is fine). */
void ch_gateways_free(ch_gateways *g);

/*
 * First half of the check, before the body is read: the gateway is known and
 * has a key, the header is well-formed with a fresh timestamp (|now_s - t|
 * <= tolerance_s), and it carries v2 entries or the gateway accepts v1.
 * gateway or header may be NULL (missing).
 */
ch_sig_result ch_sig_check_header(const ch_gateways *g, const char *gateway, const char *header,
                                  int64_t now_s, int tolerance_s);

/*
 * The whole check: ch_sig_check_header(), then, when the header has v2
 * entries, the HMAC of t.METHOD.TARGET.body against each of them (v1 entries
 * are then ignored); otherwise (a gateway with accept_v1 only) the HMAC of
 * t.body against each v1 entry; each of the gateway's keys, compared in
 * constant time.
 */
ch_sig_result ch_sig_verify(const ch_gateways *g, const char *gateway, const char *header,
                            const ch_sig_request *rq, int64_t now_s, int tolerance_s);

/*
 * Computes the v2 MAC, HMAC-SHA256(key, t + "." + method + "." + target +
 * "." + body), as lower-case hex into hex[CH_SIG_HEX_LEN + 1]. Returns 0 or
 * CH_EINVAL (key too long, negative t, NULL method or target).
 */
int ch_sig_compute_v2_hex(const void *key, size_t keylen, int64_t t, const ch_sig_request *rq,
                          char hex[CH_SIG_HEX_LEN + 1]);

/*
 * Computes the v1 MAC, HMAC-SHA256(key, t + "." + body), as lower-case hex
 * into hex[CH_SIG_HEX_LEN + 1]. Returns 0 or CH_EINVAL (key too long).
 */
int ch_sig_compute_hex(const void *key, size_t keylen, int64_t t, const void *body, size_t len,
                       char hex[CH_SIG_HEX_LEN + 1]);

/* 1 if s[0..n) is a usable gateway id: 1..CH_GATEWAY_ID_MAX of letters,
 * digits, '-', '_' or '.'. */
int ch_gateway_id_valid(const char *s, size_t n);

#endif
