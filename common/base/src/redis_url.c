#include "charter/redis_url.h"

#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>

#include "charter/errors.h"

static int
copy_part(char *dst, size_t dstsz, const char *s, size_t n)
{
    if (n >= dstsz)
        return -1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

static int
all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* The URL as errors may show it: any password replaced by "***". */
static void
mask_password(const char *url, char *out, size_t outsz)
{
    const char *scheme = strstr(url, "://");
    const char *start = scheme ? scheme + 3 : url;
    const char *at = strrchr(start, '@');
    if (!at) {
        snprintf(out, outsz, "%s", url);
        return;
    }
    const char *colon = memchr(start, ':', (size_t)(at - start));
    const char *secret = colon ? colon + 1 : start;
    snprintf(out, outsz, "%.*s***%s", (int)(secret - url), url, at);
}

static int
parse_db(const char *s, int *db)
{
    if (!all_digits(s))
        return -1;
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < 0 || v > 1000000)
        return -1;
    *db = (int)v;
    return 0;
}

int
ch_redis_url_parse(const char *url, ch_redis_url *out, char *errstr, size_t errstr_size)
{
    memset(out, 0, sizeof(*out));
    out->port = 6379;
    char shown[600];
    mask_password(url, shown, sizeof(shown));
    if (strncmp(url, "unix://", 7) == 0) {
        const char *path = url + 7;
        const char *q = strchr(path, '?');
        size_t n = q ? (size_t)(q - path) : strlen(path);
        if (n == 0 || copy_part(out->unix_path, sizeof(out->unix_path), path, n)) {
            snprintf(errstr, errstr_size, "redis url '%s': bad socket path", shown);
            return CH_EINVAL;
        }
        if (q && (strncmp(q, "?db=", 4) != 0 || parse_db(q + 4, &out->db))) {
            snprintf(errstr, errstr_size, "redis url '%s': expected ?db=N after the path", shown);
            return CH_EINVAL;
        }
        return 0;
    }
    if (strncmp(url, "redis://", 8) != 0) {
        snprintf(errstr, errstr_size,
                 "redis url '%s' must start with redis:// or unix:// (rediss:// TLS is not "
                 "supported by hiredis 0.14)",
                 shown);
        return CH_EINVAL;
    }
    const char *p = url + 8;
    const char *at = strrchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon) {
            if (copy_part(out->user, sizeof(out->user), p, (size_t)(colon - p)) ||
                copy_part(out->password, sizeof(out->password), colon + 1,
                          (size_t)(at - colon - 1))) {
                snprintf(errstr, errstr_size, "redis url: credentials too long");
                return CH_EINVAL;
            }
        } else if (copy_part(out->password, sizeof(out->password), p, (size_t)(at - p))) {
            snprintf(errstr, errstr_size, "redis url: password too long");
            return CH_EINVAL;
        }
        p = at + 1;
    }
    const char *slash = strchr(p, '/');
    const char *hostend = slash ? slash : p + strlen(p);
    const char *colon = NULL, *hstart = p, *hend;
    if (*p == '[') { /* [IPv6]:port */
        const char *close = memchr(p, ']', (size_t)(hostend - p));
        if (!close) {
            snprintf(errstr, errstr_size, "redis url '%s': missing ']' after an IPv6 address",
                     shown);
            return CH_EINVAL;
        }
        hstart = p + 1;
        hend = close;
        if (close + 1 < hostend && close[1] == ':')
            colon = close + 1;
    } else {
        for (const char *c = p; c < hostend; c++)
            if (*c == ':')
                colon = c;
        hend = colon ? colon : hostend;
    }
    if (hend == hstart ||
        copy_part(out->host, sizeof(out->host), hstart, (size_t)(hend - hstart))) {
        snprintf(errstr, errstr_size, "redis url '%s': missing or too long host", shown);
        return CH_EINVAL;
    }
    if (colon) {
        char port[8];
        char *end;
        if (copy_part(port, sizeof(port), colon + 1, (size_t)(hostend - colon - 1))) {
            snprintf(errstr, errstr_size, "redis url '%s': bad port", shown);
            return CH_EINVAL;
        }
        long v = strtol(port, &end, 10);
        if (!all_digits(port) || *end != '\0' || v < 1 || v > 65535) {
            snprintf(errstr, errstr_size, "redis url '%s': bad port", shown);
            return CH_EINVAL;
        }
        out->port = (int)v;
    }
    if (slash && slash[1] && parse_db(slash + 1, &out->db)) {
        snprintf(errstr, errstr_size, "redis url '%s': database after '/' must be a number", shown);
        return CH_EINVAL;
    }
    return 0;
}
