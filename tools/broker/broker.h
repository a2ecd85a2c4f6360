/*
 * charter-broker's private interfaces: the options, the context handed to
 * every callback, and the parts main.c starts in turn.
 *
 *   options.c  the option table, its parser and --help
 *   addr.c     HOST:PORT text <-> socket addresses, and listening sockets
 *   forward.c  the stable bootstrap address: a TCP forwarder to mock broker 1
 *   control.c  the loopback HTTP control endpoint (status, brokers up/down)
 *   mock.c     librdkafka's mock cluster and the topics
 *   main.c     lifecycle: create, signals, ready file, loop, destroy
 *
 * Everything runs on one libevent loop except librdkafka's own threads, which
 * run only the log callback in mock.c (ch_log writes each line whole).
 */
#ifndef CHARTER_BROKER_H
#define CHARTER_BROKER_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/queue.h>

#include <event2/listener.h>
#include <event2/util.h>

#include "charter/log.h"

enum {
    BROKER_BROKERS_MAX = 32,
    BROKER_TOPICS_MAX = 64,
    BROKER_PARTITIONS_MAX = 1000,
    BROKER_TOPIC_NAME_MAX = 249, /* Kafka's own limit */
    BROKER_ADDR_MAX = INET6_ADDRSTRLEN + 9,
};

typedef struct {
    char name[BROKER_TOPIC_NAME_MAX + 1];
    int partitions;
} broker_topic;

typedef struct {
    struct sockaddr_storage listen_addr;
    int listen_addr_len;
    struct sockaddr_storage control_addr;
    int control_addr_len;
    int brokers;
    broker_topic topics[BROKER_TOPICS_MAX];
    int ntopics;
    const char *ready_file; /* borrowed from argv; NULL: none */
    ch_log_level log_level;
    int help;
    int version;
} broker_config;

typedef struct broker_conn broker_conn; /* forward.c */
TAILQ_HEAD(broker_conn_list, broker_conn);

typedef struct {
    const ch_log *log; /* main's; lives longer than the broker */
    const broker_config *conf;
    struct event_base *base;
    struct rd_kafka_s *rk;
    struct rd_kafka_mock_cluster_s *mcluster;
    struct evconnlistener *listener;
    struct evhttp *http;
    struct event *sig_term, *sig_int;
    struct sockaddr_storage upstream_addr; /* mock broker 1 */
    int upstream_addr_len;
    char bootstrap[BROKER_ADDR_MAX]; /* the addresses actually bound */
    char control[BROKER_ADDR_MAX];
    int ready_file_written;
    int down[BROKER_BROKERS_MAX + 1]; /* by broker id; the mock API cannot be asked */
    struct broker_conn_list conns;
} broker;

/* ---- options.c ---- */

/* Applies the table's defaults and Charter's topics. */
void broker_config_init(broker_config *conf);
/* Accepts "--name VALUE", "--name=VALUE" and -h. Returns 0, or -1 after
 * printing why to stderr. */
int broker_config_parse(broker_config *conf, int argc, char **argv);
void broker_usage(FILE *out);
/* A decimal in [min, max] with nothing around it. Returns 0 or -1. */
int broker_parse_long(const char *text, long min, long max, long *out);

/* ---- addr.c ---- */

/* Parses "IPv4:PORT", "[IPv6]:PORT" or "localhost:PORT" (127.0.0.1). Port 0
 * lets the kernel pick one. Returns 0, or -1 with errstr. */
int broker_addr_parse(const char *text, struct sockaddr_storage *ss, int *len, char *errstr,
                      size_t errstr_size);
void broker_addr_format(const struct sockaddr *sa, char *buf, size_t size);
int broker_addr_is_loopback(const struct sockaddr_storage *ss);
/*
 * Binds and listens on ss for `what` (named in errors with the `option` that
 * sets the address), writes the address actually bound to bound, and wraps
 * the socket in a listener on b's loop that calls cb with b (cb NULL: for
 * evhttp_bind_listener). Returns the listener (free with
 * evconnlistener_free), or NULL with errstr saying what to change.
 */
struct evconnlistener *broker_listen(broker *b, const struct sockaddr_storage *ss, int len,
                                     const char *what, const char *option, evconnlistener_cb cb,
                                     char *bound, size_t bound_size, char *errstr,
                                     size_t errstr_size);

/* ---- forward.c, control.c, mock.c: each returns 0 or -1 with errstr ---- */

int broker_forward_start(broker *b, char *errstr, size_t errstr_size);
/* Closes the listener and every forwarded connection. */
void broker_forward_stop(broker *b);
int broker_control_start(broker *b, char *errstr, size_t errstr_size);
void broker_control_stop(broker *b);
/* Starts the mock cluster, creates the topics, learns mock broker 1's address. */
int broker_mock_start(broker *b, char *errstr, size_t errstr_size);
void broker_mock_stop(broker *b);

/* An "error" log field with errnum's text; none when errnum is 0. */
static inline ch_log_field
broker_errno(int errnum)
{
    if (errnum)
        return CH_ERRNO(errnum);
    return (ch_log_field){.type = CH_LOG_T_NONE};
}

#endif
