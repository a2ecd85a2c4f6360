/*
 * The identifiers ingest takes from outside and writes into Redis keys, log
 * fields and JSON without escaping (case ids, gateway ids): one character
 * class for all of them, so a check cannot drift between copies.
 */
#ifndef CHARTER_INGEST_TOKEN_H
#define CHARTER_INGEST_TOKEN_H

#include <stddef.h>

/* 1 when s[0..n) is 1 to max letters, digits, '-' or '_' (and '.' with
 * dot 1), else 0. */
static inline int
ingest_token_valid(const char *s, size_t n, size_t max, int dot)
{
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || (dot && c == '.')))
            return 0;
    }
    return 1;
}

#endif
