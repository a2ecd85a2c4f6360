/*
 * HMAC-SHA256 request signatures (see charter/signature.h for the scheme).
 *
 * The check is split in two so that ingest can refuse an unknown gateway, a
 * stale timestamp or a v1-only header from a gateway that must sign v2
 * before it looks at the body at all, and run the HMAC over the body only
 * for a request that could be genuine. The HMAC is fed its parts ("t", ".",
 * method, ".", target, ".", body) separately (EVP_MAC streaming), so
 * neither a large body nor a long target is copied. Every candidate MAC is
 * compared with CRYPTO_memcmp(), whose time does not depend on where the
 * bytes differ.
 */
#include "signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/hex.h"
#include "token.h"

#define MAX_MACS 4 /* entries of one scheme in a header */
#define ORG_MAX 63

typedef struct {
    char id[CH_GATEWAY_ID_MAX + 1];
    unsigned char key[2][CH_SIG_KEY_MAX];
    size_t keylen[2];
    int nkeys;
    int accept_v1;
    char *orgs;          /* "a,b,c" or "*" as configured; NULL: none */
    EVP_MAC_CTX *mac[2]; /* HMAC-SHA256 set up with key[k], copied per request; NULL: none */
} gateway;

struct ch_gateways {
    gateway *gw;
    size_t n;
};

const char *
ch_sig_code(ch_sig_result r)
{
    switch (r) {
    case CH_SIG_OK:
        return "ok";
    case CH_SIG_MISSING_GATEWAY:
        return "missing_gateway";
    case CH_SIG_UNKNOWN_GATEWAY:
        return "unknown_gateway";
    case CH_SIG_MISSING_SIGNATURE:
        return "missing_signature";
    case CH_SIG_MALFORMED:
        return "malformed_signature";
    case CH_SIG_STALE:
        return "stale_signature";
    case CH_SIG_MISMATCH:
        return "bad_signature";
    case CH_SIG_V1_REFUSED:
        return "v1_not_accepted";
    }
    return "bad_signature";
}

const char *
ch_sig_message(ch_sig_result r)
{
    switch (r) {
    case CH_SIG_OK:
        return "authenticated";
    case CH_SIG_MISSING_GATEWAY:
        return "name your gateway in the X-Charter-Gateway header";
    case CH_SIG_UNKNOWN_GATEWAY:
        return "the gateway named in X-Charter-Gateway is not configured here";
    case CH_SIG_MISSING_SIGNATURE:
        return "sign the request: X-Charter-Signature: t=UNIX_SECONDS,v2=HEX "
               "(HMAC-SHA256 of t.METHOD.PATH.body with the gateway's key; docs/api.md)";
    case CH_SIG_MALFORMED:
        return "X-Charter-Signature must be t=UNIX_SECONDS,v2=64 lower-case hex digits";
    case CH_SIG_STALE:
        return "the signature's timestamp is more than 5 minutes from the server's clock; "
               "sign with the current time";
    case CH_SIG_MISMATCH:
        return "the signature does not match the method, path and body with any key of this "
               "gateway";
    case CH_SIG_V1_REFUSED:
        return "this gateway must sign with v2 (HMAC-SHA256 of t.METHOD.PATH.body); v1 "
               "signatures are accepted only from gateways configured with accept_v1=true";
    }
    return "not authenticated";
}

static EVP_MAC_CTX *hmac_keyed(const void *key, size_t keylen);

/* ---- the gateways table ---- */

int
ch_gateway_id_valid(const char *s, size_t n)
{
    return ingest_token_valid(s, n, CH_GATEWAY_ID_MAX, 1);
}

static const gateway *
find(const ch_gateways *g, const char *id)
{
    if (!g || !id)
        return NULL;
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->gw[i].id, id) == 0)
            return &g->gw[i];
    return NULL;
}

void
ch_gateways_free(ch_gateways *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++) {
        free(g->gw[i].orgs);
        EVP_MAC_CTX_free(g->gw[i].mac[0]);
        EVP_MAC_CTX_free(g->gw[i].mac[1]);
    }
    if (g->gw)
        OPENSSL_cleanse(g->gw, g->n * sizeof(*g->gw));
    free(g->gw);
    free(g);
}

size_t
ch_gateways_count(const ch_gateways *g)
{
    return g ? g->n : 0;
}

const char *
ch_gateways_id_at(const ch_gateways *g, size_t i)
{
    return g && i < g->n ? g->gw[i].id : NULL;
}

int
ch_gateways_has(const ch_gateways *g, const char *id)
{
    return find(g, id) != NULL;
}

int
ch_gateways_has_orgs(const ch_gateways *g, const char *id)
{
    const gateway *gw = find(g, id);
    return gw && gw->orgs;
}

int
ch_gateways_org_allowed(const ch_gateways *g, const char *id, const char *org)
{
    const gateway *gw = find(g, id);
    if (!gw || !gw->orgs || !org)
        return 0;
    if (strcmp(gw->orgs, "*") == 0)
        return 1;
    size_t n = strlen(org);
    for (const char *p = gw->orgs; p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && memcmp(p, org, n) == 0)
            return 1;
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}

static int
has_prefix(const char *s, size_t n, const char *prefix)
{
    size_t pn = strlen(prefix);
    return n >= pn && memcmp(s, prefix, pn) == 0;
}

/* orgs=* or orgs=ORG[,ORG...], each ORG a token; 0 when valid. */
static int
orgs_valid(const char *s, size_t n)
{
    if (n == 1 && s[0] == '*')
        return 1;
    const char *p = s, *end = s + n;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end;
        if (!ingest_token_valid(p, (size_t)(e - p), ORG_MAX, 1))
            return 0;
        if (!comma)
            break;
        p = comma + 1;
    }
    return 1;
}

static int
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

#define MAX_TOKENS 5 /* id, two keys, orgs=, accept_v1= */

int
ch_gateways_parse(const char *text, size_t len, const char *name, ch_gateways **out, char *errstr,
                  size_t errstr_size)
{
    ch_gateways *g = calloc(1, sizeof(*g));
    if (!g)
        goto oom;
    size_t cap = 0;
    int lineno = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        lineno++;
        const char *tok[MAX_TOKENS];
        size_t tlen[MAX_TOKENS];
        int ntok = 0;
        const char *q = p;
        while (q < le) {
            while (q < le && is_blank(*q))
                q++;
            if (q == le)
                break;
            if (ntok == 0 && *q == '#')
                break;
            const char *s = q;
            while (q < le && !is_blank(*q))
                q++;
            if (ntok == MAX_TOKENS) {
                ntok++;
                break;
            }
            tok[ntok] = s;
            tlen[ntok] = (size_t)(q - s);
            ntok++;
        }
        p = nl ? nl + 1 : end;
        if (ntok == 0)
            continue;
        if (ntok > MAX_TOKENS) {
            snprintf(errstr, errstr_size,
                     "%s:%d: expected \"ID [KEY [KEY2]] [orgs=ORG,...] [accept_v1=true]\"", name,
                     lineno);
            goto inval;
        }
        if (!ch_gateway_id_valid(tok[0], tlen[0])) {
            snprintf(errstr, errstr_size,
                     "%s:%d: a gateway id is 1 to %d letters, digits, '-', '_' or '.'", name,
                     lineno, CH_GATEWAY_ID_MAX);
            goto inval;
        }
        char id[CH_GATEWAY_ID_MAX + 1];
        memcpy(id, tok[0], tlen[0]);
        id[tlen[0]] = '\0';
        if (find(g, id)) {
            snprintf(errstr, errstr_size, "%s:%d: gateway '%s' is listed twice", name, lineno, id);
            goto inval;
        }
        int keys[2], nkeys = 0, orgs = -1, accept_v1 = -1;
        for (int k = 1; k < ntok; k++) {
            if (has_prefix(tok[k], tlen[k], "orgs=")) {
                if (orgs >= 0 || !orgs_valid(tok[k] + 5, tlen[k] - 5)) {
                    snprintf(errstr, errstr_size,
                             "%s:%d: gateway '%s': orgs= takes * or a comma-separated list of "
                             "organisation ids (letters, digits, '-', '_', '.'), once",
                             name, lineno, id);
                    goto inval;
                }
                orgs = k;
            } else if (has_prefix(tok[k], tlen[k], "accept_v1=")) {
                const char *v = tok[k] + 10;
                size_t vn = tlen[k] - 10;
                int val = vn == 4 && memcmp(v, "true", 4) == 0    ? 1
                          : vn == 5 && memcmp(v, "false", 5) == 0 ? 0
                                                                  : -1;
                if (accept_v1 >= 0 || val < 0) {
                    snprintf(errstr, errstr_size,
                             "%s:%d: gateway '%s': accept_v1= takes true or false, once", name,
                             lineno, id);
                    goto inval;
                }
                accept_v1 = val;
            } else {
                if (nkeys == 2 || orgs >= 0 || accept_v1 >= 0) {
                    snprintf(errstr, errstr_size,
                             "%s:%d: gateway '%s': at most two keys, before orgs= and "
                             "accept_v1=",
                             name, lineno, id);
                    goto inval;
                }
                int printable = 1;
                for (size_t i = 0; i < tlen[k]; i++)
                    printable &= tok[k][i] > 0x20 && tok[k][i] < 0x7f;
                if (tlen[k] < CH_SIG_KEY_MIN || tlen[k] > CH_SIG_KEY_MAX || !printable) {
                    snprintf(errstr, errstr_size,
                             "%s:%d: key %d of gateway '%s' must be %d to %d printable "
                             "characters (e.g. openssl rand -hex 32)",
                             name, lineno, nkeys + 1, id, CH_SIG_KEY_MIN, CH_SIG_KEY_MAX);
                    goto inval;
                }
                keys[nkeys++] = k;
            }
        }
        if (nkeys == 0 && orgs < 0) {
            snprintf(errstr, errstr_size,
                     "%s:%d: gateway '%s' has neither a key (HTTP) nor orgs= (a gateway topic "
                     "on Kafka): expected \"ID KEY [KEY2] orgs=ORG,...\"",
                     name, lineno, id);
            goto inval;
        }
        if (g->n == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            gateway *ngw = calloc(ncap, sizeof(*ngw));
            if (!ngw)
                goto oom;
            if (g->gw) {
                memcpy(ngw, g->gw, g->n * sizeof(*ngw));
                OPENSSL_cleanse(g->gw, g->n * sizeof(*ngw));
                free(g->gw);
            }
            g->gw = ngw;
            cap = ncap;
        }
        gateway *gw = &g->gw[g->n];
        memset(gw, 0, sizeof(*gw));
        if (orgs >= 0 && !(gw->orgs = strndup(tok[orgs] + 5, tlen[orgs] - 5)))
            goto oom;
        g->n++;
        memcpy(gw->id, id, sizeof(id));
        gw->accept_v1 = accept_v1 == 1;
        gw->nkeys = nkeys;
        for (int k = 0; k < nkeys; k++) {
            memcpy(gw->key[k], tok[keys[k]], tlen[keys[k]]);
            gw->keylen[k] = tlen[keys[k]];
            gw->mac[k] = hmac_keyed(gw->key[k], gw->keylen[k]); /* NULL: set up per request */
        }
    }
    *out = g;
    return 0;
oom:
    ch_gateways_free(g);
    snprintf(errstr, errstr_size, "out of memory reading %s", name);
    return CH_ENOMEM;
inval:
    ch_gateways_free(g);
    return CH_EINVAL;
}

int
ch_gateways_load_file(const char *path, ch_gateways **out, char *errstr, size_t errstr_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errstr, errstr_size, "cannot read gateways file %s", path);
        return CH_EINVAL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
        if (len == cap) {
            char *nb = cap < (1u << 24) ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                OPENSSL_cleanse(buf, len);
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int rerr = ferror(f);
    fclose(f);
    if (!buf || rerr) {
        if (buf)
            OPENSSL_cleanse(buf, len);
        free(buf);
        snprintf(errstr, errstr_size, "cannot read gateways file %s", path);
        return CH_EINVAL;
    }
    int rc = ch_gateways_parse(buf, len, path, out, errstr, errstr_size);
    OPENSSL_cleanse(buf, cap);
    free(buf);
    return rc;
}

/* ---- signatures ---- */

/* The HMAC implementation, fetched once: EVP_MAC_fetch looks it up in
 * OpenSSL's provider tables, a cost per request otherwise. It lives as long
 * as the process. */
static EVP_MAC *hmac_impl;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void
fetch_hmac(void)
{
    hmac_impl = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

typedef struct {
    const void *p;
    size_t n;
} part;

/* An HMAC-SHA256 context set up with key, or NULL. */
static EVP_MAC_CTX *
hmac_keyed(const void *key, size_t keylen)
{
    pthread_once(&hmac_once, fetch_hmac);
    EVP_MAC_CTX *ctx = hmac_impl ? EVP_MAC_CTX_new(hmac_impl) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
                           OSSL_PARAM_construct_end()};
    if (ctx && !EVP_MAC_init(ctx, key, keylen, params)) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

/* HMAC-SHA256 of the parts' bytes, one after the other, from a copy of
 * keyed (the key's context, set up when the gateways were read: the digest's
 * lookup and the key's schedule are not redone per request) or, without
 * one, from the key. */
static int
hmac_sha256(const EVP_MAC_CTX *keyed, const void *key, size_t keylen, const part *parts, int nparts,
            unsigned char out[CH_SIG_MAC_LEN])
{
    int rc = CH_EIO;
    EVP_MAC_CTX *ctx = keyed ? EVP_MAC_CTX_dup(keyed) : hmac_keyed(key, keylen);
    size_t outlen = 0;
    int ok = ctx != NULL;
    for (int i = 0; ok && i < nparts; i++)
        ok = parts[i].n == 0 || EVP_MAC_update(ctx, parts[i].p, parts[i].n);
    if (ok && EVP_MAC_final(ctx, out, &outlen, CH_SIG_MAC_LEN) && outlen == CH_SIG_MAC_LEN)
        rc = 0;
    EVP_MAC_CTX_free(ctx);
    return rc;
}

/* The parts a scheme signs: v1 t.body, v2 t.METHOD.TARGET.body. Returns
 * their number. */
static int
signed_parts(int v2, const char *tstr, const ch_sig_request *rq, part parts[7])
{
    int n = 0;
    parts[n++] = (part){tstr, strlen(tstr)};
    parts[n++] = (part){".", 1};
    if (v2) {
        parts[n++] = (part){rq->method, strlen(rq->method)};
        parts[n++] = (part){".", 1};
        parts[n++] = (part){rq->target, strlen(rq->target)};
        parts[n++] = (part){".", 1};
    }
    parts[n++] = (part){rq->body, rq->len};
    return n;
}

typedef struct {
    int64_t t;
    char tstr[16]; /* the digits as sent: they are what was signed */
    unsigned char mac[2][MAX_MACS][CH_SIG_MAC_LEN]; /* [0] v1, [1] v2 */
    int nmac[2];
} parsed_sig;

/* t=DIGITS,v2=HEX[,v2=...][,v1=HEX...]; other schemes (v0=) are ignored. */
static int
parse_header(const char *h, parsed_sig *ps)
{
    memset(ps, 0, sizeof(*ps));
    int have_t = 0;
    const char *p = h;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if (n >= 2 && p[0] == 't' && p[1] == '=') {
            size_t nd = n - 2;
            if (have_t || nd == 0 || nd > 12)
                return -1;
            int64_t t = 0;
            for (size_t i = 0; i < nd; i++) {
                if (p[2 + i] < '0' || p[2 + i] > '9')
                    return -1;
                t = t * 10 + (p[2 + i] - '0');
            }
            memcpy(ps->tstr, p + 2, nd);
            ps->tstr[nd] = '\0';
            ps->t = t;
            have_t = 1;
        } else if (n >= 3 && p[0] == 'v' && (p[1] == '1' || p[1] == '2') && p[2] == '=') {
            int v = p[1] - '1';
            if (n - 3 != CH_SIG_HEX_LEN || ps->nmac[v] == MAX_MACS)
                return -1;
            for (int i = 0; i < CH_SIG_MAC_LEN; i++) {
                int hi = ch_hex_digit(p[3 + 2 * i]), lo = ch_hex_digit(p[4 + 2 * i]);
                if (hi < 0 || lo < 0)
                    return -1;
                ps->mac[v][ps->nmac[v]][i] = (unsigned char)(hi << 4 | lo);
            }
            ps->nmac[v]++;
        } else if (n == 0 || !memchr(p, '=', n)) {
            return -1;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return have_t && ps->nmac[0] + ps->nmac[1] > 0 ? 0 : -1;
}

static ch_sig_result
check_header(const ch_gateways *g, const char *gwid, const char *header, int64_t now_s,
             int tolerance_s, const gateway **gw, parsed_sig *ps)
{
    if (!gwid || !*gwid)
        return CH_SIG_MISSING_GATEWAY;
    if (!(*gw = find(g, gwid)) || (*gw)->nkeys == 0)
        return CH_SIG_UNKNOWN_GATEWAY;
    if (!header || !*header)
        return CH_SIG_MISSING_SIGNATURE;
    if (parse_header(header, ps) != 0)
        return CH_SIG_MALFORMED;
    int64_t skew = now_s - ps->t;
    if (skew > tolerance_s || skew < -(int64_t)tolerance_s)
        return CH_SIG_STALE;
    if (ps->nmac[1] == 0 && !(*gw)->accept_v1)
        return CH_SIG_V1_REFUSED;
    return CH_SIG_OK;
}

ch_sig_result
ch_sig_check_header(const ch_gateways *g, const char *gateway_id, const char *header, int64_t now_s,
                    int tolerance_s)
{
    const gateway *gw;
    parsed_sig ps;
    return check_header(g, gateway_id, header, now_s, tolerance_s, &gw, &ps);
}

ch_sig_result
ch_sig_verify(const ch_gateways *g, const char *gateway_id, const char *header,
              const ch_sig_request *rq, int64_t now_s, int tolerance_s)
{
    const gateway *gw;
    parsed_sig ps;
    ch_sig_result r = check_header(g, gateway_id, header, now_s, tolerance_s, &gw, &ps);
    if (r != CH_SIG_OK)
        return r;
    int v2 = ps.nmac[1] > 0;
    if (v2 && (!rq->method || !rq->target))
        return CH_SIG_MISMATCH;
    part parts[7];
    int nparts = signed_parts(v2, ps.tstr, rq, parts);
    int match = 0;
    for (int k = 0; k < gw->nkeys; k++) {
        unsigned char mac[CH_SIG_MAC_LEN];
        if (hmac_sha256(gw->mac[k], gw->key[k], gw->keylen[k], parts, nparts, mac) != 0)
            continue;
        for (int i = 0; i < ps.nmac[v2]; i++)
            match |= CRYPTO_memcmp(mac, ps.mac[v2][i], CH_SIG_MAC_LEN) == 0;
        OPENSSL_cleanse(mac, sizeof(mac));
    }
    return match ? CH_SIG_OK : CH_SIG_MISMATCH;
}

static int
compute_hex(int v2, const void *key, size_t keylen, int64_t t, const ch_sig_request *rq,
            char hex[CH_SIG_HEX_LEN + 1])
{
    if (keylen > CH_SIG_KEY_MAX || t < 0 || (v2 && (!rq->method || !rq->target)))
        return CH_EINVAL;
    char tstr[24];
    snprintf(tstr, sizeof(tstr), "%lld", (long long)t);
    part parts[7];
    int nparts = signed_parts(v2, tstr, rq, parts);
    unsigned char mac[CH_SIG_MAC_LEN];
    if (hmac_sha256(NULL, key, keylen, parts, nparts, mac) != 0)
        return CH_EIO;
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < CH_SIG_MAC_LEN; i++) {
        hex[2 * i] = digits[mac[i] >> 4];
        hex[2 * i + 1] = digits[mac[i] & 15];
    }
    hex[CH_SIG_HEX_LEN] = '\0';
    return 0;
}

int
ch_sig_compute_v2_hex(const void *key, size_t keylen, int64_t t, const ch_sig_request *rq,
                      char hex[CH_SIG_HEX_LEN + 1])
{
    return compute_hex(1, key, keylen, t, rq, hex);
}

int
ch_sig_compute_hex(const void *key, size_t keylen, int64_t t, const void *body, size_t len,
                   char hex[CH_SIG_HEX_LEN + 1])
{
    ch_sig_request rq = {NULL, NULL, body, len};
    return compute_hex(0, key, keylen, t, &rq, hex);
}
