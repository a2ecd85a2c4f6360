/*
 * Redis connection URLs: redis://[[user]:password@]host[:port][/db] and
 * unix:///path/to/socket[?db=N]. Pure.
 */
#ifndef CHARTER_REDIS_URL_H
#define CHARTER_REDIS_URL_H

#include <stddef.h>

typedef struct {
    char host[256]; /* empty for unix sockets */
    int port;
    char unix_path[256];
    char user[128];
    char password[256];
    int db;
} ch_redis_url;

/* Returns 0, or CH_EINVAL with errstr naming what is wrong. */
int ch_redis_url_parse(const char *url, ch_redis_url *out, char *errstr, size_t errstr_size);

#endif
