/*
 * SMS, social (and optionally email) through an HTTP JSON gateway with
 * libcurl: POST <notify.http.url>/v2/notifications/<channel>, the body GOV.UK
 * Notify's API takes (notify_http_body). notify.http.auth chooses the
 * Authorization header: a static bearer token, or (notify-jwt) the JWT Notify
 * requires, built afresh for every request because Notify refuses one whose
 * iat is more than 30 s from its clock; a retry therefore never reuses a stale
 * token. The notification id
 * travels as "reference" and as the Idempotency-Key header: a gateway that
 * honours it (tests/tools/gateway_receiver.c does; docs/testing.md) drops a
 * repeat, so every failure without a definite refusal is retried.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "charter/errors.h"
#include "charter/timeutil.h"
#include "curl_loop.h"
#include "notify.h"

static size_t
on_header(char *buf, size_t size, size_t nitems, void *opaque)
{
    notify_job *j = opaque;
    size_t n = size * nitems;
    static const char name[] = "retry-after:";
    if (n > sizeof(name) && strncasecmp(buf, name, sizeof(name) - 1) == 0) {
        char v[128];
        size_t vl = n - (sizeof(name) - 1);
        if (vl >= sizeof(v))
            vl = sizeof(v) - 1;
        memcpy(v, buf + sizeof(name) - 1, vl);
        v[vl] = '\0';
        j->retry_after_ms = notify_retry_after_ms(v, ch_time_now_ms() / 1000);
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
http_done(void *opaque, CURL *easy, CURLcode rc)
{
    notify_job *j = opaque;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    notify_result r = notify_classify_http(rc == CURLE_OK, status);
    char why[300] = "";
    if (rc != CURLE_OK)
        snprintf(why, sizeof(why), "HTTP: %s", curl_easy_strerror(rc));
    else if (r != NOTIFY_SENT)
        snprintf(why, sizeof(why), "HTTP %ld", status);
    notify_job_finished(j, r, status == 429 || status == 503 ? j->retry_after_ms : -1, why);
}

int
notify_send_http(notify_job *j)
{
    const notify_config *cfg = j->n->cfg;
    const char *channel = strcmp(j->channel, "email") == 0 ? "email"
                          : strcmp(j->channel, "sms") == 0 ? "sms"
                                                           : "social";
    const char *tmpl = strcmp(channel, "email") == 0 ? cfg->http_email_template
                       : strcmp(channel, "sms") == 0 ? cfg->http_sms_template
                                                     : cfg->http_social_template;
    if (!j->to[0] && strcmp(channel, "social") != 0) {
        notify_job_finished(j, NOTIFY_PERM, -1, "no address or number for the recipient");
        return 0;
    }
    j->payload = notify_http_body(channel, j->to, tmpl, j->id, j->reference, j->case_id, j->subject,
                                  j->body);
    if (!j->payload)
        return CH_ENOMEM;
    j->retry_after_ms = -1;
    char url[1024], auth[1024], key[300];
    snprintf(url, sizeof(url), "%s/v2/notifications/%s", cfg->http_url, channel);
    const char *bearer = cfg->http_token;
    char *jwt = NULL;
    if (strcmp(cfg->http_auth, "notify-jwt") == 0) {
        char service_id[37], secret[37], err[300];
        if (notify_api_key_split(cfg->http_api_key, "notify.http.api_key", service_id, secret, err,
                                 sizeof(err)) != 0) {
            notify_job_finished(j, NOTIFY_PERM, -1, err);
            return 0;
        }
        jwt = notify_jwt(service_id, secret, ch_time_now_ms() / 1000);
        if (!jwt)
            return CH_ENOMEM;
        bearer = jwt;
    }
    int send_auth = bearer[0] != '\0';
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
    free(jwt);
    snprintf(key, sizeof(key), "Idempotency-Key: %s", j->id);
    j->list = curl_slist_append(NULL, "Content-Type: application/json");
    if (!j->list || !curl_slist_append(j->list, key) ||
        (send_auth && !curl_slist_append(j->list, auth)))
        return CH_ENOMEM;
    j->easy = curl_easy_init();
    if (!j->easy)
        return CH_ENOMEM;
    CURL *e = j->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->list);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->payload);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(j->payload));
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg->http_timeout_ms);
    if (notify_curl_add(j->n->curl, e, http_done, j) != 0)
        return CH_ENOMEM;
    return 0;
}
