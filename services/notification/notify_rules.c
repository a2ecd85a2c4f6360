/*
 * Pure rules for notification (see notify_rules.h). Dates in the MIME
 * header are UTC ("+0000") so the text never depends on the host's zone.
 */
#include "notify_rules.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "charter/civil.h"
#include "charter/errors.h"
#include "charter/timeutil.h"
#include "charter/tz.h"

static int64_t
floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t
notify_quiet_release(const ch_tz *tz, int64_t utc_s, int from_min, int until_min)
{
    if (from_min == until_min)
        return utc_s;
    int64_t local = utc_s + ch_tz_offset_at(tz, utc_s);
    int64_t day = floor_div(local, 86400);
    int64_t minute = (local - day * 86400) / 60;
    int64_t release_day;
    if (from_min < until_min) {
        if (minute < from_min || minute >= until_min)
            return utc_s;
        release_day = day;
    } else {
        if (minute >= from_min)
            release_day = day + 1;
        else if (minute < until_min)
            release_day = day;
        else
            return utc_s;
    }
    int64_t release = ch_tz_local_to_utc(tz, release_day * 86400 + (int64_t)until_min * 60, 0);
    return release > utc_s ? release : utc_s;
}

int64_t
notify_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms, double rand01)
{
    if (attempt < 1)
        attempt = 1;
    int64_t d = base_ms > 0 ? base_ms : 1;
    for (int i = 1; i < attempt && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    if (rand01 < 0)
        rand01 = 0;
    if (rand01 >= 1)
        rand01 = 0.999999;
    int64_t out = d / 2 + (int64_t)((double)(d - d / 2) * rand01);
    return out > 0 ? out : 1;
}

static int64_t
ceil_ms(double x)
{
    int64_t i = (int64_t)x;
    return (double)i < x ? i + 1 : i;
}

void
notify_bucket_init(notify_bucket *b, int64_t rate, int64_t burst, int64_t now_ms)
{
    b->rate = rate > 0 ? rate : 0;
    b->burst = burst > 0 ? burst : 1;
    b->tokens = (double)b->burst;
    b->last_ms = now_ms;
    b->held_until_ms = 0;
}

int64_t
notify_bucket_take(notify_bucket *b, int64_t now_ms)
{
    if (b->rate == 0)
        return 0;
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * (double)b->rate / 1000.0;
        if (b->tokens > (double)b->burst)
            b->tokens = (double)b->burst;
    }
    b->last_ms = now_ms;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    double interval = 1000.0 / (double)b->rate;
    int64_t step = ceil_ms(interval);
    int64_t due = now_ms + ceil_ms((1.0 - b->tokens) * interval);
    if (due <= now_ms)
        due = now_ms + 1;
    if (b->held_until_ms + step > due)
        due = b->held_until_ms + step;
    b->held_until_ms = due;
    return due;
}

notify_result
notify_classify_http(int transport_ok, long status)
{
    if (!transport_ok)
        return NOTIFY_TEMP;
    if (status >= 200 && status < 300)
        return NOTIFY_SENT;
    if (status == 408 || status == 425 || status == 429 || status >= 500)
        return NOTIFY_TEMP;
    return NOTIFY_PERM;
}

notify_result
notify_classify_smtp(int curl_ok, long smtp_code, int data_done)
{
    if (curl_ok && (smtp_code == 0 || (smtp_code >= 200 && smtp_code < 300)))
        return NOTIFY_SENT;
    if (smtp_code >= 400 && smtp_code < 500)
        return NOTIFY_TEMP;
    if (smtp_code >= 500 && smtp_code < 600)
        return NOTIFY_PERM;
    return data_done ? NOTIFY_UNKNOWN : NOTIFY_TEMP;
}

static const char *const month_abbr[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const day_abbr[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};

int64_t
notify_retry_after_ms(const char *value, int64_t now_s)
{
    if (!value)
        return -1;
    while (*value == ' ' || *value == '\t')
        value++;
    if (isdigit((unsigned char)*value)) {
        char *end;
        long long s = strtoll(value, &end, 10);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        if (*end || s < 0 || s > 86400 * 7)
            return -1;
        return (int64_t)s * 1000;
    }
    /* IMF-fixdate: "Wed, 21 Oct 2015 07:28:00 GMT" */
    char wd[4], mon[4];
    int d, y, hh, mm, ss;
    if (sscanf(value, "%3s, %d %3s %d %d:%d:%d GMT", wd, &d, mon, &y, &hh, &mm, &ss) != 7)
        return -1;
    int m = -1;
    for (int i = 0; i < 12; i++)
        if (strcasecmp(mon, month_abbr[i]) == 0)
            m = i + 1;
    if (m < 0 || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60)
        return -1;
    int64_t t = ch_day_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
    return t > now_s ? (t - now_s) * 1000 : 0;
}

static int
is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return 0;
    return 1;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Appends base64 of s to out (which has room), with CRLF every 76 output
 * characters when wrap. Returns the new end. */
static char *
put_base64(char *out, const unsigned char *s, size_t n, int wrap)
{
    size_t col = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        *out++ = b64[(v >> 18) & 63];
        *out++ = b64[(v >> 12) & 63];
        *out++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        *out++ = i + 2 < n ? b64[v & 63] : '=';
        col += 4;
        if (wrap && col >= 76 && i + 3 < n) {
            *out++ = '\r';
            *out++ = '\n';
            col = 0;
        }
    }
    return out;
}

/* Header-safe copy: CR and LF become spaces (no header injection). */
static void
header_text(char *dst, size_t dstsz, const char *src)
{
    size_t i = 0;
    for (; src && *src && i + 1 < dstsz; src++)
        dst[i++] = (*src == '\r' || *src == '\n') ? ' ' : *src;
    dst[i] = '\0';
}

char *
notify_mime_message(const char *from, const char *to, const char *subject, const char *body,
                    const char *message_id, int64_t date_s)
{
    char f[512], t[512], sub[1024], mid[256];
    header_text(f, sizeof(f), from);
    header_text(t, sizeof(t), to);
    header_text(sub, sizeof(sub), subject ? subject : "");
    header_text(mid, sizeof(mid), message_id);
    size_t blen = strlen(body);
    /* Worst case: every LF becomes CRLF, base64 grows 4/3 plus line ends. */
    size_t cap = 2048 + strlen(sub) * 2 + blen * 3 + 16;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    int64_t days = floor_div(date_s, 86400), sod = date_s - days * 86400;
    int64_t z = days + 719468, era = floor_div(z, 146097), doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1), m = (int)(mp < 10 ? mp + 3 : mp - 9);
    int64_t y = yoe + era * 400 + (m <= 2);
    char *p = out;
    p += sprintf(p, "Date: %s, %02d %s %04lld %02d:%02d:%02d +0000\r\n",
                 day_abbr[((days % 7) + 7) % 7], d, month_abbr[m - 1], (long long)y,
                 (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
    p += sprintf(p, "From: %s\r\nTo: %s\r\nSubject: ", f, t);
    if (is_ascii(sub)) {
        p += sprintf(p, "%s", sub);
    } else {
        p += sprintf(p, "=?UTF-8?B?");
        p = put_base64(p, (const unsigned char *)sub, strlen(sub), 0);
        p += sprintf(p, "?=");
    }
    p += sprintf(p,
                 "\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n"
                 "Content-Type: text/plain; charset=UTF-8\r\n",
                 mid);
    if (is_ascii(body)) {
        p += sprintf(p, "Content-Transfer-Encoding: 7bit\r\n\r\n");
        for (const char *s = body; *s; s++) {
            if (*s == '\n' && (s == body || s[-1] != '\r'))
                *p++ = '\r';
            *p++ = *s;
        }
    } else {
        p += sprintf(p, "Content-Transfer-Encoding: base64\r\n\r\n");
        p = put_base64(p, (const unsigned char *)body, blen, 1);
    }
    if (p == out || p[-1] != '\n') {
        *p++ = '\r';
        *p++ = '\n';
    }
    *p = '\0';
    return out;
}

void
notify_message_id(const char *notification_id, const char *domain, char *buf, size_t bufsz)
{
    uint64_t h1 = 1469598103934665603ULL, h2 = 1099511628211ULL * 31;
    for (const unsigned char *s = (const unsigned char *)notification_id; *s; s++) {
        h1 = (h1 ^ *s) * 1099511628211ULL;
        h2 = (h2 ^ *s) * 1099511628211ULL + 0x9e3779b97f4a7c15ULL;
    }
    snprintf(buf, bufsz, "<%016llx%016llx@%s>", (unsigned long long)h1, (unsigned long long)h2,
             domain && domain[0] ? domain : "charter.invalid");
}

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

static size_t
b64url(const unsigned char *in, size_t len, char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = abc[(v >> 18) & 63];
        out[o++] = abc[(v >> 12) & 63];
        if (i + 1 < len)
            out[o++] = abc[(v >> 6) & 63];
        if (i + 2 < len)
            out[o++] = abc[v & 63];
    }
    out[o] = '\0';
    return o;
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
