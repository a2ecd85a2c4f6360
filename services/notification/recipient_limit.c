/* The per-recipient daily limit's key and decision (see recipient_limit.h). */
#include "recipient_limit.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "charter/civil.h"
#include "charter/errors.h"

/* The recipient as counted: a text message's number keeps its digits and a
 * leading '+'; any other address is lower-cased without spaces. */
static size_t
normalise(const char *channel, const char *to, char *out, size_t out_size)
{
    int phone = strcmp(channel, "sms") == 0;
    size_t n = 0;
    for (const char *p = to; *p && n + 1 < out_size; p++) {
        unsigned char ch = (unsigned char)*p;
        if (phone ? !isdigit(ch) && !(ch == '+' && n == 0) : isspace(ch) != 0)
            continue;
        out[n++] = (char)(phone ? ch : tolower(ch));
    }
    return n;
}

int
notify_recipient_key(const char *channel, const char *to, int64_t now_ms, char *out,
                     size_t out_size)
{
    if (!channel || !to || strlen(channel) > 16 || strchr(channel, ':') ||
        out_size < NOTIFY_RECIPIENT_KEY_MAX)
        return CH_EINVAL;
    char norm[512];
    size_t len = normalise(channel, to, norm, sizeof(norm));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(norm, len, md, &mdlen, EVP_sha256(), NULL))
        return CH_ENOMEM;
    int y, m, d;
    ch_civil_from_day((int32_t)ch_civil_floor_div(now_ms, 86400000), &y, &m, &d);
    int n = snprintf(out, out_size, "charter:notify:recipient:%s:%04d%02d%02d:", channel, y, m, d);
    if (n < 0 || (size_t)n + 2 * mdlen + 1 > out_size)
        return CH_EINVAL;
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(out + n + 2 * i, 3, "%02x", md[i]);
    return 0;
}

int
notify_recipient_over(int64_t count, int64_t max_per_day)
{
    return max_per_day > 0 && count > max_per_day;
}
