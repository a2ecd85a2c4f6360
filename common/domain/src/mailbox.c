/* E-mail addresses checked before use (see charter/mailbox.h). */
#include "charter/mailbox.h"

#include <string.h>

static int
atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

static int
label_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

static int
refuse(const char **why, const char *phrase)
{
    if (why)
        *why = phrase;
    return 0;
}

int
ch_mailbox_valid(const char *s, const char **why)
{
    size_t n = strlen(s);
    if (n == 0)
        return refuse(why, "it is empty");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return refuse(why, "it contains a control character");
        if (c >= 0x80)
            return refuse(why, "it contains a character outside ASCII");
        if (c == ' ')
            return refuse(why, "it contains a space");
        if (c == '<' || c == '>' || c == ',' || c == ';' || c == '"')
            return refuse(why, "it contains one of < > , ; \"");
    }
    if (n > CH_MAILBOX_MAX)
        return refuse(why, "it is longer than 254 characters");
    const char *at = strrchr(s, '@');
    if (!at)
        return refuse(why, "it has no '@'");
    size_t local = (size_t)(at - s);
    if (local == 0)
        return refuse(why, "nothing comes before the '@'");
    if (local > 64)
        return refuse(why, "the part before the '@' is longer than 64 characters");
    for (size_t i = 0; i < local; i++) {
        if (s[i] == '.') {
            if (i == 0 || i + 1 == local || s[i + 1] == '.')
                return refuse(why, "the part before the '@' has a dot at an end or two together");
        } else if (!atext((unsigned char)s[i])) {
            return refuse(why, "the part before the '@' has a character an address cannot");
        }
    }
    const char *d = at + 1;
    size_t labels = 0, len = 0;
    for (const char *p = d;; p++) {
        if (*p == '.' || *p == '\0') {
            if (len == 0)
                return refuse(why, "the domain has an empty part");
            if (p[-1] == '-')
                return refuse(why, "a part of the domain ends with '-'");
            labels++;
            len = 0;
            if (*p == '\0')
                break;
            continue;
        }
        if (!label_char((unsigned char)*p))
            return refuse(why, "the domain has a character a domain name cannot");
        if (len == 0 && *p == '-')
            return refuse(why, "a part of the domain starts with '-'");
        if (++len > 63)
            return refuse(why, "a part of the domain is longer than 63 characters");
    }
    if (labels < 2)
        return refuse(why, "the domain has no dot");
    return 1;
}
