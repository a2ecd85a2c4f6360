/* sla-timer's key and timer id layout (see timer_keys.h for why it is a
 * library of its own). Pure string work: no I/O, no allocation. */
#include "timer_keys.h"

#include <stdio.h>
#include <string.h>

void
sla_timer_keys_of(const char *prefix, int32_t partition, sla_timer_keys *k)
{
    int n = SLA_KEY_PREFIX_MAX;
    snprintf(k->due, sizeof(k->due), "%.*s:{t%d}:due", n, prefix, (int)partition);
    snprintf(k->inflight, sizeof(k->inflight), "%.*s:{t%d}:inflight", n, prefix, (int)partition);
    snprintf(k->timers, sizeof(k->timers), "%.*s:{t%d}:timers", n, prefix, (int)partition);
}

char *
sla_timer_keys_due_pattern(const char *prefix, char *buf, size_t bufsz)
{
    snprintf(buf, bufsz, "%.*s:{t*}:due", SLA_KEY_PREFIX_MAX, prefix);
    return buf;
}

int32_t
sla_timer_keys_from_due(const char *due_key, sla_timer_keys *k)
{
    static const char tail[] = "}:due";
    size_t len = strlen(due_key), tlen = sizeof(tail) - 1;
    if (len < tlen || strcmp(due_key + len - tlen, tail) != 0)
        return -1;
    const char *tag = NULL;
    for (const char *p = due_key; (p = strstr(p, ":{t")) != NULL; p++)
        tag = p; /* the last ":{t": the prefix might hold one */
    if (!tag || (size_t)(tag - due_key) > SLA_KEY_PREFIX_MAX)
        return -1;
    const char *digits = tag + 3, *end = due_key + len - tlen;
    if (digits == end || end - digits > 9)
        return -1;
    long partition = 0;
    for (const char *d = digits; d < end; d++) {
        if (*d < '0' || *d > '9')
            return -1;
        partition = partition * 10 + (*d - '0');
    }
    char prefix[SLA_KEY_PREFIX_MAX + 1];
    snprintf(prefix, sizeof(prefix), "%.*s", (int)(tag - due_key), due_key);
    sla_timer_keys_of(prefix, (int32_t)partition, k);
    return (int32_t)partition;
}

int
sla_case_state_key(const char *case_id, char *buf, size_t bufsz)
{
    int n = snprintf(buf, bufsz, SLA_KEY_PREFIX ":case:{%s}:sla", case_id);
    return n < 0 || (size_t)n >= bufsz ? -1 : 0;
}

size_t
sla_timer_id_case_len(const char *timer_id)
{
    size_t n = strlen(timer_id);
    for (int part = 0; part < 2; part++) {
        size_t slash = n;
        while (slash > 0 && timer_id[slash - 1] != '/')
            slash--;
        if (slash == 0)
            break;
        n = slash - 1;
        if (timer_id[slash] < '0' || timer_id[slash] > '9')
            break; /* the kind: the case id ends before it */
    }
    return n;
}

int
sla_timer_id_of_case(const char *timer_id, const char *case_id)
{
    size_t n = sla_timer_id_case_len(timer_id);
    return n == strlen(case_id) && strncmp(timer_id, case_id, n) == 0;
}
