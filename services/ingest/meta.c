/*
 * Meta's webhooks, the pure part (see meta.h): configuration, signature,
 * body, event. Kept apart from the HTTP glue so that cmocka reads the
 * documented examples straight into messages and events, and a change in
 * Meta's shapes is one file's business.
 *
 * The body is read with jansson, which refuses invalid UTF-8, so every
 * string taken from it is UTF-8; lengths are cut on character boundaries.
 */
#include "meta.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "charter/contact_fields.h"
#include "charter/errors.h"
#include "charter/fileio.h"
#include "charter/hex.h"

/* ---- configuration ---- */

static void
wipe_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

void
ingest_meta_conf_free(ingest_meta_conf *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        wipe_free(c->orgs[i].app_secret);
        wipe_free(c->orgs[i].verify_token);
    }
    free(c->orgs);
    c->orgs = NULL;
    c->n = 0;
}

static int
secret_ok(const char *s, size_t n)
{
    if (n < INGEST_META_SECRET_MIN || n > INGEST_META_SECRET_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~')
            return 0;
    return 1;
}

static int
id_ok(const char *s, size_t n, size_t max)
{
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return 0;
    return 1;
}

/* One "key=value" word of a line into o. */
static int
conf_word(ingest_meta_org *o, const char *w, size_t n, size_t lineno, char *errstr, size_t esz)
{
    const char *eq = memchr(w, '=', n);
    if (!eq) {
        snprintf(errstr, esz,
                 "meta file line %zu (%s): expected key=value, e.g. app_secret_file=PATH", lineno,
                 o->organisation);
        return CH_EINVAL;
    }
    size_t kl = (size_t)(eq - w), vl = n - kl - 1;
    const char *v = eq + 1;
#define KEY(name) (kl == sizeof(name) - 1 && memcmp(w, name, kl) == 0)
    if (KEY("app_secret") || KEY("verify_token")) {
        char **dst = KEY("app_secret") ? &o->app_secret : &o->verify_token;
        if (*dst || (KEY("app_secret") ? o->app_secret_file : o->verify_token_file)[0]) {
            snprintf(errstr, esz, "meta file line %zu (%s): %.*s is given twice", lineno,
                     o->organisation, (int)kl, w);
            return CH_EINVAL;
        }
        if (!secret_ok(v, vl)) {
            snprintf(errstr, esz,
                     "meta file line %zu (%s): %.*s must be %d to %d printable characters "
                     "without spaces",
                     lineno, o->organisation, (int)kl, w, INGEST_META_SECRET_MIN,
                     INGEST_META_SECRET_MAX);
            return CH_EINVAL;
        }
        if (!(*dst = strndup(v, vl)))
            return CH_ENOMEM;
        return 0;
    }
    if (KEY("app_secret_file") || KEY("verify_token_file")) {
        int secret = KEY("app_secret_file");
        char *dst = secret ? o->app_secret_file : o->verify_token_file;
        if (dst[0] || (secret ? o->app_secret : o->verify_token)) {
            snprintf(errstr, esz, "meta file line %zu (%s): %.*s is given twice", lineno,
                     o->organisation, (int)kl, w);
            return CH_EINVAL;
        }
        if (vl == 0 || vl >= sizeof(o->app_secret_file)) {
            snprintf(errstr, esz, "meta file line %zu (%s): %.*s needs a path (at most %zu bytes)",
                     lineno, o->organisation, (int)kl, w, sizeof(o->app_secret_file) - 1);
            return CH_EINVAL;
        }
        memcpy(dst, v, vl);
        dst[vl] = '\0';
        return 0;
    }
    if (KEY("accounts")) {
        o->naccounts = 0;
        size_t i = 0;
        while (i <= vl) {
            size_t j = i;
            while (j < vl && v[j] != ',')
                j++;
            if (o->naccounts == INGEST_META_MAX_ACCOUNTS ||
                !id_ok(v + i, j - i, INGEST_META_ID_MAX)) {
                snprintf(errstr, esz,
                         "meta file line %zu (%s): accounts= takes up to %d page or Instagram "
                         "account ids separated by commas",
                         lineno, o->organisation, INGEST_META_MAX_ACCOUNTS);
                return CH_EINVAL;
            }
            memcpy(o->accounts[o->naccounts], v + i, j - i);
            o->accounts[o->naccounts++][j - i] = '\0';
            i = j + 1;
        }
        return 0;
    }
    if (KEY("case_type")) {
        if (!id_ok(v, vl, sizeof(o->case_type) - 1)) {
            snprintf(errstr, esz, "meta file line %zu (%s): case_type= needs a case type id",
                     lineno, o->organisation);
            return CH_EINVAL;
        }
        memcpy(o->case_type, v, vl);
        o->case_type[vl] = '\0';
        return 0;
    }
#undef KEY
    snprintf(errstr, esz,
             "meta file line %zu (%s): unknown key '%.*s' (expected app_secret, app_secret_file, "
             "verify_token, verify_token_file, accounts or case_type)",
             lineno, o->organisation, (int)(kl > 40 ? 40 : kl), w);
    return CH_EINVAL;
}

int
ingest_meta_conf_parse(const char *text, size_t len, ingest_meta_conf *out, char *errstr,
                       size_t errstr_size)
{
    memset(out, 0, sizeof(*out));
    size_t pos = 0, lineno = 0;
    int rc = 0;
    while (pos < len && rc == 0) {
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        lineno++;
        const char *line = text + pos;
        size_t ll = end - pos;
        pos = end + 1;
        if (ll && line[ll - 1] == '\r')
            ll--;
        size_t i = 0;
        while (i < ll && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == ll || line[i] == '#')
            continue;
        ingest_meta_org *grown = realloc(out->orgs, (out->n + 1) * sizeof(*grown));
        if (!grown) {
            rc = CH_ENOMEM;
            break;
        }
        out->orgs = grown;
        ingest_meta_org *o = &out->orgs[out->n++];
        memset(o, 0, sizeof(*o));
        snprintf(o->case_type, sizeof(o->case_type), "enquiry");
        size_t wstart = i;
        while (i < ll && line[i] != ' ' && line[i] != '\t')
            i++;
        if (!id_ok(line + wstart, i - wstart, sizeof(o->organisation) - 1)) {
            snprintf(errstr, errstr_size,
                     "meta file line %zu: expected an organisation id (letters, digits, '-', "
                     "'_', '.') first",
                     lineno);
            rc = CH_EINVAL;
            break;
        }
        memcpy(o->organisation, line + wstart, i - wstart);
        o->organisation[i - wstart] = '\0';
        for (size_t k = 0; k + 1 < out->n; k++)
            if (strcmp(out->orgs[k].organisation, o->organisation) == 0) {
                snprintf(errstr, errstr_size, "meta file line %zu: organisation %s is listed twice",
                         lineno, o->organisation);
                rc = CH_EINVAL;
            }
        while (rc == 0 && i < ll) {
            while (i < ll && (line[i] == ' ' || line[i] == '\t'))
                i++;
            if (i == ll)
                break;
            wstart = i;
            while (i < ll && line[i] != ' ' && line[i] != '\t')
                i++;
            rc = conf_word(o, line + wstart, i - wstart, lineno, errstr, errstr_size);
        }
        if (rc == 0 && !o->app_secret && !o->app_secret_file[0]) {
            snprintf(errstr, errstr_size,
                     "meta file line %zu (%s): no app_secret_file= (or app_secret=): the app "
                     "secret authenticates Meta's requests",
                     lineno, o->organisation);
            rc = CH_EINVAL;
        }
        if (rc == 0 && !o->verify_token && !o->verify_token_file[0]) {
            snprintf(errstr, errstr_size,
                     "meta file line %zu (%s): no verify_token_file= (or verify_token=): Meta's "
                     "subscription handshake needs it",
                     lineno, o->organisation);
            rc = CH_EINVAL;
        }
    }
    if (rc == CH_ENOMEM)
        snprintf(errstr, errstr_size, "out of memory reading the meta file");
    if (rc != 0)
        ingest_meta_conf_free(out);
    return rc;
}

static int
load_secret(const char *path, const char *org, const char *key, char **dst, int *insecure,
            char *errstr, size_t errstr_size)
{
    char *buf = NULL, why[300];
    size_t n = 0;
    int rc = ch_file_read_all(path, 4096, &buf, &n, why, sizeof(why));
    if (rc != 0) {
        snprintf(errstr, errstr_size, "meta file (%s): %s: %s", org, key, why);
        return rc;
    }
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    if (!secret_ok(buf, n)) {
        OPENSSL_cleanse(buf, n);
        free(buf);
        snprintf(errstr, errstr_size,
                 "meta file (%s): %s %s must hold %d to %d printable characters without spaces",
                 org, key, path, INGEST_META_SECRET_MIN, INGEST_META_SECRET_MAX);
        return CH_EINVAL;
    }
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 0077))
        *insecure = 1;
    *dst = buf;
    return 0;
}

int
ingest_meta_load_file(const char *path, ingest_meta_conf *out, int *insecure, char *errstr,
                      size_t errstr_size)
{
    char *buf = NULL;
    size_t n = 0;
    *insecure = 0;
    memset(out, 0, sizeof(*out));
    int rc = ch_file_read_all(path, 1 << 20, &buf, &n, errstr, errstr_size);
    if (rc != 0)
        return rc;
    rc = ingest_meta_conf_parse(buf, n, out, errstr, errstr_size);
    OPENSSL_cleanse(buf, n);
    free(buf);
    struct stat st;
    if (rc == 0 && stat(path, &st) == 0 && (st.st_mode & 0077))
        *insecure = 1;
    for (size_t i = 0; rc == 0 && i < out->n; i++) {
        ingest_meta_org *o = &out->orgs[i];
        if (o->app_secret_file[0])
            rc = load_secret(o->app_secret_file, o->organisation, "app_secret_file", &o->app_secret,
                             insecure, errstr, errstr_size);
        if (rc == 0 && o->verify_token_file[0])
            rc = load_secret(o->verify_token_file, o->organisation, "verify_token_file",
                             &o->verify_token, insecure, errstr, errstr_size);
    }
    if (rc != 0)
        ingest_meta_conf_free(out);
    return rc;
}

const ingest_meta_org *
ingest_meta_find(const ingest_meta_conf *c, const char *organisation)
{
    for (size_t i = 0; c && organisation && i < c->n; i++)
        if (strcmp(c->orgs[i].organisation, organisation) == 0)
            return &c->orgs[i];
    return NULL;
}

int
ingest_meta_account_allowed(const ingest_meta_org *o, const char *account)
{
    if (o->naccounts == 0)
        return 1;
    for (size_t i = 0; i < o->naccounts; i++)
        if (strcmp(o->accounts[i], account) == 0)
            return 1;
    return 0;
}

int
ingest_meta_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return 0;
    return CRYPTO_memcmp(a, b, la) == 0;
}

int
ingest_meta_handshake_ok(const ingest_meta_org *o, const char *mode, const char *token,
                         const char *challenge)
{
    if (!o || !o->verify_token || !mode || !token || !challenge || strcmp(mode, "subscribe") != 0)
        return 0;
    size_t n = strlen(challenge);
    if (n == 0 || n > INGEST_META_CHALLENGE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (challenge[i] <= ' ' || challenge[i] > '~')
            return 0;
    return ingest_meta_equal(token, o->verify_token);
}

/* ---- signature ---- */

int
ingest_meta_signature_ok(const char *secret, const char *header, const void *body, size_t len)
{
    if (!secret || !header || strncmp(header, "sha256=", 7) != 0 || strlen(header + 7) != 64)
        return 0;
    unsigned char given[32], mac[EVP_MAX_MD_SIZE];
    for (int i = 0; i < 32; i++) {
        int hi = ch_hex_digit(header[7 + 2 * i]), lo = ch_hex_digit(header[8 + 2 * i]);
        if (hi < 0 || lo < 0)
            return 0;
        given[i] = (unsigned char)(hi << 4 | lo);
    }
    unsigned int maclen = 0;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), body, len, mac, &maclen) || maclen != 32)
        return 0;
    int ok = CRYPTO_memcmp(given, mac, 32) == 0;
    OPENSSL_cleanse(mac, sizeof(mac));
    return ok;
}

/* ---- the body ---- */

void
ingest_meta_batch_free(ingest_meta_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++) {
        free(b->msgs[i].mid);
        free(b->msgs[i].text);
        free(b->msgs[i].att);
    }
    free(b->msgs);
    b->msgs = NULL;
    b->n = 0;
}

static void
refuse(ingest_meta_msg *m, size_t e, size_t k, const char *field, const char *why)
{
    m->bad = 1;
    snprintf(m->field, sizeof(m->field), "entry[%zu].messaging[%zu].%s", e, k, field);
    snprintf(m->why, sizeof(m->why), "%s", why);
}

/* An id as Meta sends it (a string of digits; a number is taken too). */
static int
get_id(json_t *o, const char *key, char *out, size_t outsz)
{
    json_t *v = json_object_get(o, key);
    if (json_is_integer(v)) {
        snprintf(out, outsz, "%lld", (long long)json_integer_value(v));
        return 1;
    }
    if (!json_is_string(v))
        return 0;
    const char *s = json_string_value(v);
    size_t n = strlen(s);
    if (!id_ok(s, n, outsz - 1))
        return 0;
    memcpy(out, s, n + 1);
    return 1;
}

/* The last segment of url's path, without query or fragment; "" when none. */
static void
url_name(const char *url, char *out, size_t outsz)
{
    out[0] = '\0';
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    p = strchr(p, '/');
    if (!p)
        return;
    size_t end = strcspn(p, "?#");
    const char *last = p;
    for (size_t i = 0; i < end; i++)
        if (p[i] == '/')
            last = p + i + 1;
    size_t n = (size_t)(p + end - last), o = 0;
    for (size_t i = 0; i < n && o + 1 < outsz; i++) {
        unsigned char c = (unsigned char)last[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            out[o++] = (char)c;
    }
    out[o] = '\0';
}

static int
read_attachments(json_t *arr, ingest_meta_msg *m)
{
    size_t n = json_array_size(arr);
    if (!n)
        return 0;
    if (!(m->att = calloc(n, sizeof(*m->att))))
        return CH_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(arr, i);
        const char *type = json_string_value(json_object_get(a, "type"));
        const char *url = json_string_value(json_object_get(json_object_get(a, "payload"), "url"));
        ingest_meta_attachment *t = &m->att[m->natt];
        snprintf(t->type, sizeof(t->type), "%s",
                 type && id_ok(type, strlen(type), 15) ? type : "file");
        if (url)
            url_name(url, t->name, sizeof(t->name));
        m->natt++;
    }
    return 0;
}

/* One event of an entry's messaging array: 1 a message (ok or bad), 0 skipped. */
static int
read_event(json_t *ev, const char *object, const char *account, size_t e, size_t k, int64_t now_ms,
           ingest_meta_msg *m, int *nomem)
{
    json_t *msg = json_object_get(ev, "message");
    if (!json_is_object(msg) || json_is_true(json_object_get(msg, "is_echo")))
        return 0; /* deliveries, reads, reactions, postbacks, echoes */
    memset(m, 0, sizeof(*m));
    snprintf(m->object, sizeof(m->object), "%s", object);
    snprintf(m->account, sizeof(m->account), "%s", account);
    char recipient[INGEST_META_ID_MAX + 1];
    if (get_id(json_object_get(ev, "recipient"), "id", recipient, sizeof(recipient)))
        snprintf(m->account, sizeof(m->account), "%s", recipient);
    if (!get_id(json_object_get(ev, "sender"), "id", m->sender, sizeof(m->sender))) {
        refuse(m, e, k, "sender.id", "it is missing or not an id of digits and letters");
        return 1;
    }
    if (!m->account[0]) {
        refuse(m, e, k, "recipient.id", "it is missing (and so is the entry's id)");
        return 1;
    }
    if (strcmp(m->sender, m->account) == 0)
        return 0; /* the page's own message */
    const char *mid = json_string_value(json_object_get(msg, "mid"));
    size_t ml = mid ? strlen(mid) : 0;
    int printable = ml > 0 && ml <= 1024;
    for (size_t i = 0; printable && i < ml; i++)
        printable = mid[i] > ' ' && mid[i] <= '~';
    if (!printable) {
        refuse(m, e, k, "message.mid",
               "it is missing, longer than 1024 characters or not printable ASCII");
        return 1;
    }
    json_t *ts = json_object_get(ev, "timestamp");
    m->timestamp_ms = json_is_integer(ts) ? (int64_t)json_integer_value(ts) : now_ms;
    /* the calendars' years, 1995 to 2100 */
    if (m->timestamp_ms < 788918400000LL || m->timestamp_ms >= 4133980800000LL) {
        refuse(m, e, k, "timestamp", "it is not a time in milliseconds between 1995 and 2100");
        return 1;
    }
    const char *text = json_string_value(json_object_get(msg, "text"));
    if (!(m->mid = strdup(mid)) || !(m->text = strdup(text ? text : "")) ||
        read_attachments(json_object_get(msg, "attachments"), m) != 0)
        *nomem = 1;
    return 1;
}

int
ingest_meta_parse_webhook(const char *body, size_t len, int64_t now_ms, ingest_meta_batch *out,
                          char *errstr, size_t errstr_size)
{
    memset(out, 0, sizeof(*out));
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(errstr, errstr_size, "the body is not JSON (line %d, column %d)", jerr.line,
                 jerr.column);
        return CH_EINVAL;
    }
    const char *object = json_string_value(json_object_get(root, "object"));
    json_t *entries = json_object_get(root, "entry");
    if (!object || (strcmp(object, "page") != 0 && strcmp(object, "instagram") != 0)) {
        json_decref(root);
        snprintf(errstr, errstr_size, "field 'object' must be \"page\" or \"instagram\"");
        return CH_EINVAL;
    }
    if (!json_is_array(entries)) {
        json_decref(root);
        snprintf(errstr, errstr_size, "field 'entry' must be an array");
        return CH_EINVAL;
    }
    size_t cap = 0;
    for (size_t e = 0; e < json_array_size(entries); e++)
        cap += json_array_size(json_object_get(json_array_get(entries, e), "messaging"));
    if (cap && !(out->msgs = calloc(cap, sizeof(*out->msgs)))) {
        json_decref(root);
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    int nomem = 0;
    for (size_t e = 0; e < json_array_size(entries) && !nomem; e++) {
        json_t *entry = json_array_get(entries, e);
        char account[INGEST_META_ID_MAX + 1] = "";
        get_id(entry, "id", account, sizeof(account));
        json_t *msgs = json_object_get(entry, "messaging");
        for (size_t k = 0; k < json_array_size(msgs) && !nomem; k++) {
            if (read_event(json_array_get(msgs, k), object, account, e, k, now_ms,
                           &out->msgs[out->n], &nomem))
                out->n++;
            else
                out->skipped++;
        }
        /* standby, changes and the rest: not messages for this app */
        json_t *standby = json_object_get(entry, "standby");
        out->skipped += json_array_size(standby);
    }
    json_decref(root);
    if (nomem) {
        ingest_meta_batch_free(out);
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    return 0;
}

/* ---- the event ---- */

/* s cut to CH_FIELD_TEXT_MAX characters (s is UTF-8), controls other than
 * TAB, LF and CR made spaces. */
static char *
clean_text(const char *s)
{
    size_t n = strlen(s), chars = 0, i = 0;
    while (i < n && chars < CH_FIELD_TEXT_MAX) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        chars++;
    }
    char *out = strndup(s, i);
    for (size_t k = 0; out && k < i; k++) {
        unsigned char c = (unsigned char)out[k];
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
            out[k] = ' ';
    }
    return out;
}

static Charter__V1__Attachment **
attachments(const ingest_meta_msg *m, size_t *n)
{
    *n = 0;
    if (!m->natt)
        return NULL;
    Charter__V1__Attachment **a = calloc(m->natt, sizeof(*a));
    if (!a)
        return NULL;
    for (size_t i = 0; i < m->natt; i++) {
        if (!(a[i] = malloc(sizeof(*a[i])))) {
            *n = i;
            return a;
        }
        charter__v1__attachment__init(a[i]);
        a[i]->name = strdup(m->att[i].name[0] ? m->att[i].name : m->att[i].type);
        a[i]->content_type = strdup(m->att[i].type);
        *n = i + 1;
        if (!a[i]->name || !a[i]->content_type)
            return a;
    }
    return a;
}

static void
idempotency_id(const char *mid, char out[CH_GATEWAY_MESSAGE_ID_MAX + 1])
{
    size_t n = strlen(mid);
    if (n <= CH_GATEWAY_MESSAGE_ID_MAX) {
        memcpy(out, mid, n + 1);
        return;
    }
    unsigned char d[32];
    unsigned int dl = 0;
    EVP_Digest(mid, n, d, &dl, EVP_sha256(), NULL);
    int o = snprintf(out, CH_GATEWAY_MESSAGE_ID_MAX + 1, "sha256:");
    for (unsigned i = 0; i < dl && i < 32; i++)
        o += snprintf(out + o, (size_t)(CH_GATEWAY_MESSAGE_ID_MAX + 1 - o), "%02x", d[i]);
}

int
ingest_meta_event(const ingest_meta_msg *m, const char *organisation, const char *case_type,
                  const char *case_id, Charter__V1__CaseEvent **out, ch_event_json_meta *meta)
{
    *out = NULL;
    Charter__V1__CaseEvent *ev = calloc(1, sizeof(*ev));
    if (!ev)
        return CH_ENOMEM;
    charter__v1__case_event__init(ev);
    int ok = 1;
#define DUP(dst, s) ok = ok && ((dst) = strdup(s)) != NULL
    DUP(ev->organisation, organisation);
    ev->occurred_at = malloc(sizeof(*ev->occurred_at));
    if (ev->occurred_at) {
        charter__v1__timestamp__init(ev->occurred_at);
        ev->occurred_at->seconds = m->timestamp_ms / 1000;
        ev->occurred_at->nanos = (int32_t)(m->timestamp_ms % 1000) * 1000000;
    }
    ok = ok && ev->occurred_at;
    char *text = clean_text(m->text);
    ok = ok && text;
    if (!case_id) {
        Charter__V1__Received *r = ok ? calloc(1, sizeof(*r)) : NULL;
        Charter__V1__Customer *c = r ? calloc(1, sizeof(*c)) : NULL;
        if (r) {
            charter__v1__received__init(r);
            ev->received = r;
            ev->event_case = CHARTER__V1__CASE_EVENT__EVENT_RECEIVED;
        }
        ok = ok && c;
        if (ok) {
            charter__v1__customer__init(c);
            r->customer = c;
            r->channel = CHARTER__V1__CHANNEL__CHANNEL_SOCIAL;
            DUP(c->social_id, m->sender);
            DUP(c->preferred_channel, "social");
            DUP(r->case_type, case_type);
            DUP(r->gateway_message_id, m->mid);
            DUP(r->gateway_account, m->account);
            r->summary = text;
            text = NULL;
            r->attachments = attachments(m, &r->n_attachments);
            ok = ok && (!m->natt ||
                        (r->n_attachments == m->natt && r->attachments[m->natt - 1]->content_type));
        }
    } else {
        Charter__V1__CustomerMessage *cm = ok ? calloc(1, sizeof(*cm)) : NULL;
        if (cm) {
            charter__v1__customer_message__init(cm);
            ev->customer_message = cm;
            ev->event_case = CHARTER__V1__CASE_EVENT__EVENT_CUSTOMER_MESSAGE;
            cm->channel = CHARTER__V1__CHANNEL__CHANNEL_SOCIAL;
            DUP(cm->gateway_message_id, m->mid);
            DUP(cm->from, m->sender);
            DUP(ev->case_id, case_id);
            cm->summary = text;
            text = NULL;
            cm->attachments = attachments(m, &cm->n_attachments);
            ok = ok && (!m->natt || (cm->n_attachments == m->natt &&
                                     cm->attachments[m->natt - 1]->content_type));
        }
        ok = ok && cm;
    }
#undef DUP
    free(text);
    if (!ok) {
        ch_event_json_free(ev);
        return CH_ENOMEM;
    }
    if (meta) {
        memset(meta, 0, sizeof(*meta));
        if (case_id)
            snprintf(meta->case_id, sizeof(meta->case_id), "%s", case_id);
        idempotency_id(m->mid, meta->gateway_message_id);
    }
    *out = ev;
    return 0;
}
