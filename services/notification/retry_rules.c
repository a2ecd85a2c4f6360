/*
 * Pure rules for when notification sends (see retry_rules.h).
 */
#include "retry_rules.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "charter/civil.h"
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
notify_quiet_due(const ch_policy *policy, const ch_tz *tz, const char *channel, int64_t now_ms)
{
    if (strcmp(channel, "sms") != 0 || !policy || !policy->sms_quiet.set)
        return now_ms;
    int64_t s = (now_ms + 999) / 1000;
    int64_t r = notify_quiet_release(tz, s, policy->sms_quiet.from, policy->sms_quiet.until);
    return r > s ? r * 1000 : now_ms;
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
    if (status == 401 || status == 403)
        return NOTIFY_AUTH;
    return NOTIFY_PERM;
}

notify_result
notify_classify_smtp(int curl_ok, long smtp_code, int data_done)
{
    if (curl_ok && (smtp_code == 0 || (smtp_code >= 200 && smtp_code < 300)))
        return NOTIFY_SENT;
    if (smtp_code >= 400 && smtp_code < 500)
        return NOTIFY_TEMP;
    if (smtp_code == 530 || smtp_code == 535)
        return NOTIFY_AUTH;
    if (smtp_code >= 500 && smtp_code < 600)
        return NOTIFY_PERM;
    return data_done ? NOTIFY_UNKNOWN : NOTIFY_TEMP;
}

/* 1-12 for "Jan".."Dec" (any case), else -1. */
static int
month_of(const char *abbr)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++)
        if (strlen(abbr) == 3 && strncasecmp(abbr, months + 3 * i, 3) == 0)
            return i + 1;
    return -1;
}

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
    int m = month_of(mon);
    if (m < 0 || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60)
        return -1;
    int64_t t = ch_day_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
    return t > now_s ? (t - now_s) * 1000 : 0;
}

int
notify_retry_after_header(const char *line, size_t len, int64_t now_s, int64_t *ms)
{
    static const char name[] = "retry-after:";
    size_t nl = sizeof(name) - 1;
    if (len <= sizeof(name) || strncasecmp(line, name, nl) != 0)
        return 0;
    char v[128];
    size_t vl = len - nl < sizeof(v) ? len - nl : sizeof(v) - 1;
    memcpy(v, line + nl, vl);
    v[vl] = '\0';
    *ms = notify_retry_after_ms(v, now_s);
    return 1;
}
