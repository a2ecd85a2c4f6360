/*
 * Social-media replies through Meta's Send API (Facebook Messenger and
 * Instagram messaging), with libcurl on the shared adapter (curl_loop.h):
 *
 *   POST {notify.meta.url}/{notify.meta.api_version}/{PAGE_ID}/messages
 *   Authorization: Bearer PAGE_ACCESS_TOKEN
 *   {"recipient":{"id":PSID},"messaging_type":"RESPONSE","message":{"text":...}}
 *
 * answered {"recipient_id":...,"message_id":...}. The PSID is the notice's
 * address (the customer's social_id from the case's `received` event), the
 * page the account the customer wrote to (its gateway_account, which
 * render.c puts in the notice's meta); a notice without one goes to
 * /me/messages with the default token. The page access token comes from
 * notify.meta.page_tokens_file ("PAGE_ID TOKEN" lines, "*" for the default),
 * sent in the Authorization header rather than the access_token parameter
 * Meta's examples use, so that it never sits in a URL. Meta's message_id is
 * the sent outcome's reason ("message_id=..."), so a receipt can be matched.
 *
 * A Messenger text is at most 2,000 characters: a longer notice is cut to
 * 1,999 and "…" (one message, one message_id), never split.
 *
 * What is retried. Meta has no idempotency key: a request that may have
 * reached Meta (a timeout after it was sent) is NOTIFY_UNKNOWN, not resent
 * (staff are told, as for SMTP); one that never connected is temporary. A
 * 5xx, 408 or 429, and Meta's throttling codes (4, 17, 32, 613) and
 * temporary ones (1, 2) even under a 400, are temporary; 401, 403 and error
 * 190 (the token expired or was revoked) park the notice with an alarm; any
 * other 4xx (a recipient outside the 24-hour window: code 10 / 2018278, a
 * PSID that is not the page's: 100 / 2018001) is permanent.
 */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/fileio.h"
#include "charter/runtime.h"
#include "charter/timeutil.h"
#include "curl_loop.h"
#include "retry_rules.h"
#include "transport.h"

#define META_TEXT_MAX 2000
#define META_RESPONSE_MAX 4096

typedef struct {
    notify_curl_config curl;
    char *api_version, *page_tokens_file;
} meta_config;

static const ch_config_entry meta_keys[] = {
    NOTIFY_CURL_CFG_URL(meta_config, "meta",
                        "Meta Graph API base URL; replies go to <url>/<api_version>/<page id>/"
                        "messages (https://graph.facebook.com in production)"),
    CH_CFG_STR(meta_config, api_version, "notify.meta.api_version", "v25.0",
               "the Graph API version in the Send API's path"),
    CH_CFG_STR(meta_config, page_tokens_file, "notify.meta.page_tokens_file", "",
               "file of page access tokens, one \"PAGE_OR_INSTAGRAM_ACCOUNT_ID TOKEN\" per line "
               "(\"*\" for the token used when a notice names no account); secrets: keep it "
               "readable by the service only (required when social uses meta)"),
    NOTIFY_CURL_CFG_LIMITS(meta_config, "meta", "15000", "one Send API request",
                           "Send API requests a second"),
};

typedef struct {
    char account[65];
    char *token; /* wiped when freed */
} page_token;

/* The transport's context: the curl adapter's, then the tokens. */
typedef struct {
    notify_curl_transport base;
    page_token *tokens;
    size_t ntokens;
} meta_transport;

typedef struct {
    notify_curl_send base;
    int64_t retry_after_ms;
    size_t rlen;
    char resp[META_RESPONSE_MAX];
} meta_send;

static void
tokens_free(meta_transport *t)
{
    for (size_t i = 0; i < t->ntokens; i++) {
        OPENSSL_cleanse(t->tokens[i].token, strlen(t->tokens[i].token));
        free(t->tokens[i].token);
    }
    free(t->tokens);
    t->tokens = NULL;
    t->ntokens = 0;
}

/* Reads "ID TOKEN" lines; errors name the file and line, never a token. */
static int
tokens_load(meta_transport *t, const char *path, char *errstr, size_t errstr_size)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = ch_file_read_all(path, 1 << 20, &buf, &len, errstr, errstr_size);
    if (rc != 0)
        return rc;
    size_t pos = 0, lineno = 0;
    while (pos < len && rc == 0) {
        size_t end = pos;
        while (end < len && buf[end] != '\n')
            end++;
        lineno++;
        char *line = buf + pos;
        size_t ll = end - pos;
        pos = end + 1;
        while (ll && (line[ll - 1] == '\r' || line[ll - 1] == ' ' || line[ll - 1] == '\t'))
            ll--;
        size_t i = 0;
        while (i < ll && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == ll || line[i] == '#')
            continue;
        size_t id = i;
        while (i < ll && line[i] != ' ' && line[i] != '\t')
            i++;
        size_t idlen = i - id;
        while (i < ll && (line[i] == ' ' || line[i] == '\t'))
            i++;
        size_t tok = i;
        int ok = idlen > 0 && idlen <= 64 && tok < ll;
        for (size_t k = tok; ok && k < ll; k++)
            ok = line[k] > ' ' && line[k] <= '~';
        for (size_t k = id; ok && k < id + idlen; k++)
            ok = (line[k] >= '0' && line[k] <= '9') || (line[k] >= 'a' && line[k] <= 'z') ||
                 (line[k] >= 'A' && line[k] <= 'Z') || line[k] == '*' || line[k] == '_' ||
                 line[k] == '-';
        if (!ok) {
            snprintf(errstr, errstr_size,
                     "%s line %zu: expected \"PAGE_ID TOKEN\" (or \"* TOKEN\"), the token one "
                     "word of printable characters",
                     path, lineno);
            rc = CH_EINVAL;
            break;
        }
        page_token *grown = realloc(t->tokens, (t->ntokens + 1) * sizeof(*grown));
        if (!grown) {
            rc = CH_ENOMEM;
            break;
        }
        t->tokens = grown;
        page_token *p = &t->tokens[t->ntokens];
        memcpy(p->account, line + id, idlen);
        p->account[idlen] = '\0';
        if (!(p->token = strndup(line + tok, ll - tok))) {
            rc = CH_ENOMEM;
            break;
        }
        t->ntokens++;
    }
    OPENSSL_cleanse(buf, len);
    free(buf);
    if (rc == 0 && t->ntokens == 0) {
        snprintf(errstr, errstr_size, "%s holds no page access token", path);
        rc = CH_EINVAL;
    }
    if (rc == CH_ENOMEM)
        snprintf(errstr, errstr_size, "%s: out of memory", path);
    if (rc != 0)
        tokens_free(t);
    return rc;
}

static const char *
token_for(const meta_transport *t, const char *account)
{
    const char *fallback = NULL;
    for (size_t i = 0; i < t->ntokens; i++) {
        if (account[0] && strcmp(t->tokens[i].account, account) == 0)
            return t->tokens[i].token;
        if (strcmp(t->tokens[i].account, "*") == 0)
            fallback = t->tokens[i].token;
    }
    return fallback;
}

static int
meta_init(void **tctx, const void *cfg, ch_runtime *rt, char *errstr, size_t errstr_size)
{
    const meta_config *c = cfg;
    void *base = NULL;
    int rc = notify_curl_transport_init(&base, cfg, rt, errstr, errstr_size);
    if (rc != 0)
        return rc;
    /* grown in place: the adapter keeps no pointer to its context */
    meta_transport *t = realloc(base, sizeof(*t));
    if (!t) {
        notify_curl_transport_fini(base);
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    t->tokens = NULL;
    t->ntokens = 0;
    if (c->page_tokens_file[0] &&
        (rc = tokens_load(t, c->page_tokens_file, errstr, errstr_size)) != 0) {
        notify_curl_transport_fini(t);
        return rc;
    }
    *tctx = t;
    return 0;
}

static void
meta_fini(void *tctx)
{
    meta_transport *t = tctx;
    if (!t)
        return;
    tokens_free(t);
    notify_curl_transport_fini(t);
}

static size_t
on_header(char *buf, size_t size, size_t nitems, void *opaque)
{
    notify_retry_after_header(buf, size * nitems, ch_time_now_ms() / 1000,
                              &((meta_send *)opaque)->retry_after_ms);
    return size * nitems;
}

static size_t
on_body(char *buf, size_t size, size_t nitems, void *opaque)
{
    meta_send *a = opaque;
    size_t n = size * nitems, room = sizeof(a->resp) - 1 - a->rlen;
    memcpy(a->resp + a->rlen, buf, n < room ? n : room);
    a->rlen += n < room ? n : room;
    a->resp[a->rlen] = '\0';
    return n;
}

/* Meta's error object's code and subcode (0 when absent) and message. */
static void
meta_error(const char *resp, long *code, long *subcode, char *msg, size_t msgsz)
{
    *code = *subcode = 0;
    msg[0] = '\0';
    json_t *o = json_loads(resp, 0, NULL);
    json_t *e = json_object_get(o, "error");
    *code = (long)json_integer_value(json_object_get(e, "code"));
    *subcode = (long)json_integer_value(json_object_get(e, "error_subcode"));
    const char *m = json_string_value(json_object_get(e, "message"));
    if (m)
        snprintf(msg, msgsz, "%.120s", m);
    json_decref(o);
}

static void
done(notify_curl_send *s, CURLcode rc, long status)
{
    meta_send *a = (meta_send *)s;
    char why[300] = "";
    notify_result r;
    if (rc != CURLE_OK) {
        /* never connected: nothing reached Meta; anything else may have */
        r = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
                    rc == CURLE_COULDNT_RESOLVE_PROXY
                ? NOTIFY_TEMP
                : NOTIFY_UNKNOWN;
        snprintf(why, sizeof(why), "Meta Send API: %s", curl_easy_strerror(rc));
    } else if (status >= 200 && status < 300) {
        json_t *o = json_loads(a->resp, 0, NULL);
        const char *mid = json_string_value(json_object_get(o, "message_id"));
        r = NOTIFY_SENT;
        snprintf(why, sizeof(why), "message_id=%.200s", mid ? mid : "");
        json_decref(o);
    } else {
        long code, sub;
        char msg[128];
        meta_error(a->resp, &code, &sub, msg, sizeof(msg));
        r = notify_classify_http(1, status);
        if (r == NOTIFY_PERM &&
            (code == 1 || code == 2 || code == 4 || code == 17 || code == 32 || code == 613))
            r = NOTIFY_TEMP;
        else if (code == 190)
            r = NOTIFY_AUTH;
        snprintf(why, sizeof(why), "Meta Send API: HTTP %ld, error %ld/%ld: %s", status, code, sub,
                 msg);
    }
    int64_t retry_after = status == 429 || status == 503 ? a->retry_after_ms : -1;
    notify_curl_send_end(&a->base, r, retry_after, why);
}

/* s cut to META_TEXT_MAX characters (UTF-8), ending with "…" when cut. */
static char *
cut_text(const char *s)
{
    size_t n = strlen(s), chars = 0, i = 0;
    while (i < n) {
        if (chars == META_TEXT_MAX - 1) {
            size_t rest = i, more = 0;
            while (rest < n && more < 2) {
                rest++;
                while (rest < n && ((unsigned char)s[rest] & 0xC0) == 0x80)
                    rest++;
                more++;
            }
            if (more < 2)
                break; /* exactly META_TEXT_MAX: fits */
            char *out = malloc(i + 4);
            if (out) {
                memcpy(out, s, i);
                memcpy(out + i, "\xe2\x80\xa6", 4);
            }
            return out;
        }
        i++;
        while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        chars++;
    }
    return strdup(s);
}

static int
meta_send_message(void *tctx, const notify_message *m, notify_reply reply)
{
    meta_transport *t = tctx;
    const meta_config *cfg = t->base.base.cfg;
    if (!m->to[0]) {
        notify_reply_sent(reply, NOTIFY_PERM, -1,
                          "no social-media id for the customer (the contact did not come "
                          "through Meta's webhooks)");
        return 0;
    }
    char account[65] = "";
    if (m->meta[0]) {
        json_t *o = json_loads(m->meta, 0, NULL);
        const char *acc = json_string_value(json_object_get(o, "gateway_account"));
        if (acc && strlen(acc) < sizeof(account) && strspn(acc, "0123456789") == strlen(acc))
            snprintf(account, sizeof(account), "%s", acc);
        json_decref(o);
    }
    const char *token = token_for(t, account);
    if (!token) {
        char why[200];
        snprintf(why, sizeof(why),
                 "no page access token for account '%s' (nor a \"*\" line) in "
                 "notify.meta.page_tokens_file",
                 account);
        notify_reply_sent(reply, NOTIFY_AUTH, -1, why);
        return 0;
    }
    char url[1024], auth[700];
    snprintf(url, sizeof(url), "%s/%s/%s/messages", cfg->curl.url, cfg->api_version,
             account[0] ? account : "me");
    char *text = cut_text(m->body);
    json_t *body = text ? json_pack("{s:{s:s},s:s,s:{s:s}}", "recipient", "id", m->to,
                                    "messaging_type", "RESPONSE", "message", "text", text)
                        : NULL;
    free(text);
    if (!body)
        return CH_ENOMEM;
    meta_send *a =
        (meta_send *)notify_curl_send_new(sizeof(*a), url, cfg->curl.timeout_ms, done, reply);
    if (!a) {
        json_decref(body);
        return CH_ENOMEM;
    }
    a->retry_after_ms = -1;
    a->base.payload = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    notify_curl_send_list_add(&a->base, "Content-Type: application/json");
    notify_curl_send_list_add(&a->base, auth);
    OPENSSL_cleanse(auth, sizeof(auth));
    CURL *e = a->base.easy;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, a->base.list);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, a->base.payload);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, a);
    return notify_curl_send_start(&t->base, &a->base);
}

static int
meta_check(const void *config, const notify_transport_use *use, char *errstr, size_t errstr_size)
{
    const meta_config *cfg = config;
    if (!use->channels)
        return 0; /* not used: its defaults need not fit the other transports' settings */
    int rc = notify_curl_check(&cfg->curl, use, "http", "an http:// or https:// URL", errstr,
                               errstr_size);
    if (rc == CH_EINVAL && strstr(errstr, "notify.http.url"))
        snprintf(errstr, errstr_size,
                 "notify.meta.url must be an http:// or https:// URL when social uses meta "
                 "(is '%s')",
                 cfg->curl.url);
    else if (rc == CH_EINVAL)
        snprintf(errstr, errstr_size,
                 "notify.lease_ms must exceed notify.meta.timeout_ms (%lld) by at least 1000, "
                 "or a slow send could be taken over and sent twice",
                 (long long)cfg->curl.timeout_ms);
    if (rc == 0 && !cfg->page_tokens_file[0]) {
        snprintf(errstr, errstr_size,
                 "notify.meta.page_tokens_file is not set: the Send API needs the page's access "
                 "token (\"PAGE_ID TOKEN\" lines)");
        rc = CH_EINVAL;
    }
    if (rc == 0 && (!cfg->api_version[0] || strchr(cfg->api_version, '/'))) {
        snprintf(errstr, errstr_size, "notify.meta.api_version must be a version such as v25.0");
        rc = CH_EINVAL;
    }
    return rc;
}

const notify_transport notify_transport_meta = {
    .name = "meta",
    .channels = NOTIFY_CH_SOCIAL,
    NOTIFY_TRANSPORT_CONFIG(meta_keys, meta_config),
    .check = meta_check,
    .init = meta_init,
    .send = meta_send_message,
    .cancel_all = notify_curl_transport_cancel_all,
    .fini = meta_fini,
    .rate_key = "notify.meta.rate_per_s",
};
