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

#include "charter/contact_fields.h"
#include "charter/errors.h"
#include "charter/mailbox.h"
#include "charter/runtime.h"
#include "charter/timeutil.h"
#include "curl_loop.h"
#include "notify_api.h"
#include "retry_rules.h"
#include "transport.h"

/* The gateway's three channels, as its URLs name them. */
enum { GW_SMS, GW_EMAIL, GW_SOCIAL, GW_NCHANNELS };
static const char *const gw_channel[GW_NCHANNELS] = {"sms", "email", "social"};

typedef struct {
    notify_curl_config curl;
    char *token, *auth, *api_key;
    char *template_id[GW_NCHANNELS]; /* by GW_* */
} http_config;

/* The row of a channel's notify.http.<channel>_template_id. */
#define TEMPLATE_KEY(gw, channel, what)                                                            \
    CH_CFG_STR(http_config, template_id[gw], "notify.http." channel "_template_id", "",            \
               "template_id sent with " what)

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
    NOTIFY_CURL_CFG_URL(
        http_config, "http",
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
    TEMPLATE_KEY(GW_SMS, "sms", "text messages (a Notify template of ((body)))"),
    TEMPLATE_KEY(GW_EMAIL, "email", "email (a Notify template of ((subject)) and ((body)))"),
    TEMPLATE_KEY(GW_SOCIAL, "social", "social media replies"),
    NOTIFY_CURL_CFG_LIMITS(http_config, "http", "15000", "one gateway request",
                           "gateway requests a second (GOV.UK Notify allows 3,000 a minute: 50)"),
};

/* One request on its way. */
typedef struct {
    notify_curl_send base;
    int64_t retry_after_ms;
} http_send;

static size_t
on_header(char *buf, size_t size, size_t nitems, void *opaque)
{
    notify_retry_after_header(buf, size * nitems, ch_time_now_ms() / 1000,
                              &((http_send *)opaque)->retry_after_ms);
    return size * nitems;
}

static size_t
discard(char *buf, size_t size, size_t nitems, void *opaque)
{
    (void)buf;
    (void)opaque;
    return size * nitems;
}

static void
done(notify_curl_send *s, CURLcode rc, long status)
{
    http_send *a = (http_send *)s;
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
http_send_message(void *tctx, const notify_message *m, notify_reply reply)
{
    notify_curl_transport *t = tctx;
    const http_config *cfg = t->base.cfg;
    unsigned bit = notify_channel_bit(m->channel); /* anything else goes as social */
    int gw = bit == NOTIFY_CH_EMAIL ? GW_EMAIL : bit == NOTIFY_CH_SMS ? GW_SMS : GW_SOCIAL;
    const char *channel = gw_channel[gw], *tmpl = cfg->template_id[gw];
    char url[1024], auth[1024], key[300], why[300];
    if (!m->to[0] && gw != GW_SOCIAL) {
        notify_reply_sent(reply, NOTIFY_PERM, -1, "no address or number for the recipient");
        return 0;
    }
    /* checked at ingest too (charter/contact_fields.h, charter/mailbox.h);
     * here again before the provider is asked to send to it. A number
     * recorded before ingest normalised them ("07700 900123") is sent in
     * E.164; one that cannot be is refused. */
    const char *bad, *to = m->to;
    char number[CH_PHONE_E164_BUFSZ];
    if (gw == GW_SMS) {
        if (!ch_contact_phone_normalise(m->to, number, sizeof(number), &bad)) {
            snprintf(why, sizeof(why), "the recipient is not a telephone number: %s", bad);
            notify_reply_sent(reply, NOTIFY_PERM, -1, why);
            return 0;
        }
        to = number;
    }
    if (gw == GW_EMAIL && !ch_mailbox_valid(m->to, &bad)) {
        snprintf(why, sizeof(why), "the recipient is not an e-mail address: %s", bad);
        notify_reply_sent(reply, NOTIFY_PERM, -1, why);
        return 0;
    }
    int rc = authorization(cfg, auth, sizeof(auth), why, sizeof(why));
    if (rc == CH_EINVAL) {
        notify_reply_sent(reply, NOTIFY_PERM, -1, why);
        return 0;
    }
    if (rc != 0)
        return rc;
    snprintf(url, sizeof(url), "%s/v2/notifications/%s", cfg->curl.url, channel);
    http_send *a =
        (http_send *)notify_curl_send_new(sizeof(*a), url, cfg->curl.timeout_ms, done, reply);
    if (!a)
        return CH_ENOMEM;
    a->retry_after_ms = -1;
    a->base.payload =
        notify_http_body(channel, to, tmpl, m->id, m->reference, m->case_id, m->subject, m->body);
    snprintf(key, sizeof(key), "Idempotency-Key: %s", m->id);
    notify_curl_send_list_add(&a->base, "Content-Type: application/json");
    notify_curl_send_list_add(&a->base, key);
    if (auth[0])
        notify_curl_send_list_add(&a->base, auth);
    CURL *e = a->base.easy;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, a->base.list);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, a->base.payload);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    return notify_curl_send_start(t, &a->base);
}

static int
http_check(const void *config, const notify_transport_use *use, char *errstr, size_t errstr_size)
{
    const http_config *cfg = config;
    int rc = notify_curl_check(&cfg->curl, use, "http", "an http:// or https:// URL", errstr,
                               errstr_size);
    char service_id[37], secret[37];
    if (rc == 0 && use->channels && strcmp(cfg->auth, "notify-jwt") == 0)
        rc = notify_api_key_split(cfg->api_key, "notify.http.api_key", service_id, secret, errstr,
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
