/*
 * GOV.UK Notify's request body and JWT (see notify_api.h). The JWT is about
 * forty lines with OpenSSL's HMAC and base64 (EVP_EncodeBlock, turned into
 * base64url), so no JWT library is linked for one algorithm.
 */
#include "notify_api.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"

char *
notify_http_body(const char *channel, const char *to, const char *template_id,
                 const char *reference, const char *case_ref, const char *case_id,
                 const char *subject, const char *body)
{
    json_t *o = json_object();
    const char *to_key = strcmp(channel, "sms") == 0     ? "phone_number"
                         : strcmp(channel, "email") == 0 ? "email_address"
                                                         : "recipient";
    if (to && to[0])
        json_object_set_new(o, to_key, json_string(to));
    json_object_set_new(o, "template_id", json_string(template_id ? template_id : ""));
    json_t *pers = json_object();
    json_object_set_new(pers, "subject", json_string(subject ? subject : ""));
    json_object_set_new(pers, "body", json_string(body ? body : ""));
    json_object_set_new(pers, "reference", json_string(case_ref ? case_ref : ""));
    json_object_set_new(o, "personalisation", pers);
    json_object_set_new(o, "reference", json_string(reference));
    json_object_set_new(o, "case_id", json_string(case_id ? case_id : ""));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static int
is_uuid(const char *s)
{
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

int
notify_api_key_split(const char *api_key, const char *setting, char *service_id, char *secret,
                     char *errstr, size_t errstr_size)
{
    size_t n = api_key ? strlen(api_key) : 0;
    const char *tail = n >= 75 ? api_key + n - 73 : NULL;
    if (!tail || tail[-1] != '-' || tail[36] != '-' || !is_uuid(tail) || !is_uuid(tail + 37)) {
        snprintf(errstr, errstr_size,
                 "%s must be a GOV.UK Notify API key, {key_name}-{service_id}-{secret_key} "
                 "ending in two 36-character UUIDs (%s)",
                 setting, n ? "the value given is not" : "it is empty");
        return CH_EINVAL;
    }
    memcpy(service_id, tail, 36);
    service_id[36] = '\0';
    memcpy(secret, tail + 37, 36);
    secret[36] = '\0';
    return 0;
}

/* base64url without padding of in, written at out (room for 4/3 len + 4). */
static size_t
b64url(const unsigned char *in, size_t len, char *out)
{
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    for (int i = 0; i < n; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    out[n] = '\0';
    return (size_t)n;
}

char *
notify_jwt(const char *service_id, const char *secret, int64_t iat)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char claims[256];
    int cl = snprintf(claims, sizeof(claims), "{\"iss\":\"%s\",\"iat\":%lld}", service_id,
                      (long long)iat);
    if (cl < 0 || (size_t)cl >= sizeof(claims))
        return NULL;
    size_t cap = (sizeof(header) + (size_t)cl + 32) * 4 / 3 + 64;
    char *jwt = malloc(cap);
    if (!jwt)
        return NULL;
    size_t o = b64url((const unsigned char *)header, sizeof(header) - 1, jwt);
    jwt[o++] = '.';
    o += b64url((const unsigned char *)claims, (size_t)cl, jwt + o);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)jwt, o, mac,
              &maclen)) {
        free(jwt);
        return NULL;
    }
    jwt[o++] = '.';
    b64url(mac, maclen, jwt + o);
    return jwt;
}
