/*
 * Addresses as charter-broker takes and prints them ("127.0.0.1:9092",
 * "[::1]:9092"), and the listeners of the bootstrap address and the control
 * endpoint. Only numeric addresses: a name would need a resolver,
 * and a development broker has no use for one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/listener.h>

#include "broker.h"

int
broker_addr_parse(const char *text, struct sockaddr_storage *ss, int *len, char *errstr,
                  size_t errstr_size)
{
    char host[INET6_ADDRSTRLEN];
    const char *start = text, *port_text, *end;
    int v6 = text[0] == '[';
    if (v6) {
        start = text + 1;
        end = strchr(start, ']');
        if (!end || end[1] != ':')
            goto bad;
        port_text = end + 2;
    } else {
        end = strchr(text, ':');
        if (!end || strchr(end + 1, ':'))
            goto bad;
        port_text = end + 1;
    }
    size_t host_len = (size_t)(end - start);
    if (host_len == 0 || host_len >= sizeof(host))
        goto bad;
    memcpy(host, start, host_len);
    host[host_len] = '\0';

    long port;
    if (broker_parse_long(port_text, 0, 65535, &port) != 0) {
        snprintf(errstr, errstr_size, "the port must be a number from 0 to 65535");
        return -1;
    }
    memset(ss, 0, sizeof(*ss));
    if (v6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
            goto bad;
        *len = (int)sizeof(*sin6);
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, strcmp(host, "localhost") ? host : "127.0.0.1", &sin->sin_addr) != 1)
            goto bad;
        *len = (int)sizeof(*sin);
    }
    return 0;

bad:
    snprintf(errstr, errstr_size,
             "expected HOST:PORT with a numeric IP address, e.g. 127.0.0.1:9092 or [::1]:9092");
    return -1;
}

void
broker_addr_format(const struct sockaddr *sa, char *buf, size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
        snprintf(buf, size, "[%s]:%u", host, (unsigned)ntohs(sin6->sin6_port));
    } else {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
        snprintf(buf, size, "%s:%u", host, (unsigned)ntohs(sin->sin_port));
    }
}

int
broker_addr_is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
}

static void
listen_error(char *errstr, size_t errstr_size, const char *what, const char *addr,
             const char *option, int errnum)
{
    if (errnum == EADDRINUSE)
        snprintf(errstr, errstr_size,
                 "cannot listen on %s for the %s: address already in use (another "
                 "charter-broker or Kafka may be running there; choose another address with %s)",
                 addr, what, option);
    else
        snprintf(errstr, errstr_size, "cannot listen on %s for the %s: %s (check %s)", addr, what,
                 strerror(errnum), option);
}

struct evconnlistener *
broker_listen(broker *b, const struct sockaddr_storage *ss, int len, const char *what,
              const char *option, evconnlistener_cb cb, char *bound, size_t bound_size,
              char *errstr, size_t errstr_size)
{
    char addr[BROKER_ADDR_MAX];
    broker_addr_format((const struct sockaddr *)ss, addr, sizeof(addr));
    evutil_socket_t fd = socket(ss->ss_family, SOCK_STREAM, 0);
    if (fd < 0) {
        listen_error(errstr, errstr_size, what, addr, option, errno);
        return NULL;
    }
    if (evutil_make_listen_socket_reuseable(fd) != 0 || evutil_make_socket_nonblocking(fd) != 0 ||
        evutil_make_socket_closeonexec(fd) != 0 ||
        bind(fd, (const struct sockaddr *)ss, (socklen_t)len) != 0 || listen(fd, 128) != 0) {
        int errnum = errno;
        evutil_closesocket(fd);
        listen_error(errstr, errstr_size, what, addr, option, errnum);
        return NULL;
    }
    struct sockaddr_storage got;
    socklen_t got_len = sizeof(got);
    if (getsockname(fd, (struct sockaddr *)&got, &got_len) == 0)
        broker_addr_format((struct sockaddr *)&got, bound, bound_size);
    struct evconnlistener *l = evconnlistener_new(b->base, cb, b, LEV_OPT_CLOSE_ON_FREE, 0, fd);
    if (!l) {
        evutil_closesocket(fd);
        snprintf(errstr, errstr_size, "cannot set up the %s on %s", what, bound);
    }
    return l;
}
