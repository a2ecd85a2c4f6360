/*
 * SMS, social (and optionally email) through an HTTP JSON gateway with
 * libcurl: POST <notify.http.url>/v2/notifications/<channel>, the body GOV.UK
 * Notify's API takes (notify_api.h). notify.http.auth chooses the
 * Authorization header: a static bearer token, or (notify-jwt) the JWT Notify
 * requires, built afresh for every request because Notify refuses one whose
 * iat is more than 30 s from its clock; a retry therefore never reuses a
 * stale token. The notification id travels as "reference" and as the
 * Idempotency-Key header: a gateway that honours it
 * (tests/tools/gateway_receiver.c does; docs/testing.md) drops a repeat, so
 * every failure without a definite refusal is retried.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "charter/errors.h"
#include "charter/runtime.h"
#include "charter/timeutil.h"
#include "curl_loop.h"
#include "notify_api.h"
#include "retry_rules.h"
#include "transport.h"

typedef struct {
    char *url, *token, *auth, *api_key, *sms_template, *email_template, *social_template;
    int64_t timeout_ms, rate_per_s;
} http_config;

static int
validate_auth(const char *text, char *errstr, size_t errstr_size)
{
    if (strcmp(text, "bearer") == 0 || strcmp(text, "notify-jwt") == 0)
        return 0;
    snprintf(errstr, errstr_size, "'%s' is not an HTTP auth mode (expected bearer or notify-jwt)",
             text);
    return CH_EINVAL;
}

static const ch_config_entry http_keys[] = {
    CH_CFG_STR(
        http_config, url, "notify.http.url", "",
        "gateway base URL; requests go to <url>/v2/notifications/{sms,email,social} (required "
        "when a channel uses http)"),
    CH_CFG_STR(http_config, token, "notify.http.token", "",
               "static bearer token for the gateway (notify.http.auth = bearer)"),
    CH_CFG_STR_CHECKED(http_config, auth, "notify.http.auth", "bearer",
                       "how requests to the gateway authenticate: bearer (notify.http.token as it "
                       "is) or notify-jwt (GOV.UK Notify: a fresh HS256 JWT per request from "
                       "notify.http.api_key)",
                       validate_auth),
    CH_CFG_STR(http_config, api_key, "notify.http.api_key", "",
               "GOV.UK Notify API key, {key_name}-{service_id}-{secret_key} (notify.http.auth = "
               "notify-jwt); a secret: set it from the environment, it is never logged"),
    CH_CFG_STR(http_config, sms_template, "notify.http.sms_template_id", "",
               "template_id sent with text messages (a Notify template of ((body)))"),
    CH_CFG_STR(http_config, email_template, "notify.http.email_template_id", "",
               "template_id sent with email (a Notify template of ((subject)) and ((body)))"),
    CH_CFG_STR(http_config, social_template, "notify.http.social_template_id", "",
               "template_id sent with social media replies"),
    CH_CFG_INT(http_config, timeout_ms, "notify.http.timeout_ms", "15000",
               "give up on one gateway request after this long", 100, 600000),
    CH_CFG_INT(http_config, rate_per_s, "notify.http.rate_per_s", "0",
               "at most this many gateway requests a second (GOV.UK Notify allows 3,000 a "
               "minute: 50); more wait in the queue. 0: no limit",
               0, 100000),
};

/* One request on its way. */
typedef struct {
    notify_curl_send base;
    int64_t retry_after_ms;
} http_send;

static size_t
on_header(char *buf, size_t size, size_t nitems, void *opaque)
{
    http_send *a = opaque;
    size_t n = size * nitems;
    static const char name[] = "retry-after:";
    if (n > sizeof(name) && strncasecmp(buf, name, sizeof(name) - 1) == 0) {
        char v[128];
        size_t vl = n - (sizeof(name) - 1);
        if (vl >= sizeof(v))
            vl = sizeof(v) - 1;
        memcpy(v, buf + sizeof(name) - 1, vl);
        v[vl] = '\0';
        a->retry_after_ms = notify_retry_after_ms(v, ch_time_now_ms() / 1000);
    }
    return n;
}

static size_t
discard(char *buf, size_t size, size_t nitems, void *opaque)
{
    (void)buf;
    (void)opaque;
    return size * nitems;
}

static void
done(void *opaque, CURL *easy, CURLcode rc)
{
    http_send *a = opaque;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    notify_result r = notify_classify_http(rc == CURLE_OK, status);
    char why[300] = "";
    if (rc != CURLE_OK)
        snprintf(why, sizeof(why), "HTTP: %s", curl_easy_strerror(rc));
    else if (r != NOTIFY_SENT)
        snprintf(why, sizeof(why), "HTTP %ld", status);
    int64_t retry_after = status == 429 || status == 503 ? a->retry_after_ms : -1;
    notify_curl_send_end(&a->base, r, retry_after, why);
}

/* The Authorization header into buf ("" for none); 0, CH_EINVAL with why
 * (a bad API key) or CH_ENOMEM. */
static int
authorization(const http_config *cfg, char *buf, size_t bufsz, char *why, size_t whysz)
{
    buf[0] = '\0';
    if (strcmp(cfg->auth, "notify-jwt") != 0) {
        if (cfg->token[0])
            snprintf(buf, bufsz, "Authorization: Bearer %s", cfg->token);
        return 0;
    }
    char service_id[37], secret[37];
    if (notify_api_key_split(cfg->api_key, "notify.http.api_key", service_id, secret, why, whysz) !=
        0)
        return CH_EINVAL;
    char *jwt = notify_jwt(service_id, secret, ch_time_now_ms() / 1000);
    if (!jwt)
        return CH_ENOMEM;
    snprintf(buf, bufsz, "Authorization: Bearer %s", jwt);
    free(jwt);
    return 0;
}

static int
http_send_message(void *tctx, const notify_message *m, notify_commit_fn commit, notify_sent_fn sent,
                  void *opaque)
{
    (void)commit; /* every request carries its idempotency reference */
    notify_curl_transport *t = tctx;
    const http_config *cfg = t->base.cfg;
    const char *channel = strcmp(m->channel, "email") == 0 ? "email"
                          : strcmp(m->channel, "sms") == 0 ? "sms"
                                                           : "social";
    const char *tmpl = strcmp(channel, "email") == 0 ? cfg->email_template
                       : strcmp(channel, "sms") == 0 ? cfg->sms_template
                                                     : cfg->social_template;
    if (!m->to[0] && strcmp(channel, "social") != 0) {
        sent(opaque, NOTIFY_PERM, -1, "no address or number for the recipient");
        return 0;
    }
    char url[1024], auth[1024], key[300], why[300];
    int rc = authorization(cfg, auth, sizeof(auth), why, sizeof(why));
    if (rc == CH_EINVAL) {
        sent(opaque, NOTIFY_PERM, -1, why);
        return 0;
    }
    if (rc != 0)
        return rc;
    http_send *a = (http_send *)notify_curl_send_new(sizeof(*a), sent, opaque);
    if (!a)
        return CH_ENOMEM;
    a->retry_after_ms = -1;
    a->base.payload = notify_http_body(channel, m->to, tmpl, m->id, m->reference, m->case_id,
                                       m->subject, m->body);
    snprintf(url, sizeof(url), "%s/v2/notifications/%s", cfg->url, channel);
    snprintf(key, sizeof(key), "Idempotency-Key: %s", m->id);
    struct curl_slist **h = &a->base.list;
    if (!a->base.payload || !(*h = curl_slist_append(NULL, "Content-Type: application/json")) ||
        !curl_slist_append(*h, key) || (auth[0] && !curl_slist_append(*h, auth))) {
        notify_curl_send_free(a);
        return CH_ENOMEM;
    }
    CURL *e = a->base.easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, a->base.list);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, a->base.payload);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(a->base.payload));
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
    return notify_curl_send_start(t, &a->base, done);
}

static int
http_check(const void *config, const notify_transport_use *use, char *errstr, size_t errstr_size)
{
    const http_config *cfg = config;
    int rc =
        notify_transport_check_url(use, "http", "notify.http.url", cfg->url, "http://", "https://",
                                   "an http:// or https:// URL", errstr, errstr_size);
    char service_id[37], secret[37];
    if (rc == 0 && use->channels && strcmp(cfg->auth, "notify-jwt") == 0)
        rc = notify_api_key_split(cfg->api_key, "notify.http.api_key", service_id, secret, errstr,
                                  errstr_size);
    if (rc == 0)
        rc = notify_transport_check_timeout(use, "notify.http.timeout_ms", cfg->timeout_ms, errstr,
                                            errstr_size);
    return rc;
}

const notify_transport notify_transport_http = {
    .name = "http",
    .channels = NOTIFY_CH_EMAIL | NOTIFY_CH_SMS | NOTIFY_CH_SOCIAL,
    NOTIFY_TRANSPORT_CONFIG(http_keys, http_config),
    .check = http_check,
    .send = http_send_message,
    NOTIFY_CURL_TRANSPORT_HOOKS,
    .rate_key = "notify.http.rate_per_s",
};
