/*
 * charter-broker: an in-memory Kafka broker for development and integration tests.
 *
 * WHY IT IS BUILT THIS WAY
 *
 * librdkafka ships a mock cluster (rdkafka_mock.h): real Kafka wire protocol over TCP on
 * loopback, logs kept in memory, served by librdkafka's own internal thread. Its brokers
 * listen on ephemeral ports, but services, kcat and docker-compose habits all expect one
 * stable address such as 127.0.0.1:9092. So that address is a plain TCP forwarder to mock
 * broker 1. It only has to carry the bootstrap connection: Metadata responses advertise the
 * mock brokers' real addresses and clients connect to those directly afterwards.
 *
 * Everything of ours runs on one libevent loop in main(): the forwarder, the loopback
 * control endpoint (evhttp) used by fault tests, and SIGTERM/SIGINT. The only other threads
 * are librdkafka's, and the only code of ours they run is the log callback, which touches
 * nothing but stderr. libevent therefore needs no locking (no evthread_use_pthreads()).
 * The mock control calls (create topic, broker up/down) are synchronous requests to the
 * mock thread; they block the loop for well under a millisecond.
 *
 * One context struct is handed to every callback; there are no globals. Options are one
 * declarative table that both the parser and --help read.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "charter/topics.h"

enum {
    BROKER_BROKERS_MAX = 32,
    BROKER_TOPICS_MAX = 64,
    BROKER_PARTITIONS_MAX = 1000,
    BROKER_TOPIC_NAME_MAX = 249, /* Kafka's own limit */
    BROKER_ADDR_MAX = INET6_ADDRSTRLEN + 9,
};

/* A side stops reading while its partner has this much unsent; it resumes at half. */
#define FWD_HIGH_WATER (512 * 1024)
/* How long a half-closed forwarded connection may take to flush before it is dropped. */
#define FWD_FLUSH_TIMEOUT_SEC 5

/* ---- logging ----------------------------------------------------------------------- */

enum broker_log_level {
    BROKER_LOG_DEBUG,
    BROKER_LOG_INFO,
    BROKER_LOG_WARN,
    BROKER_LOG_ERROR,
};

static const char *const broker_log_level_names[] = {"debug", "info", "warn", "error"};

/*
 * Writes one JSON line to stderr. errnum, when not 0, adds an "error" field with its text.
 * Safe to call from any thread: the line is built on the stack and written with one fputs.
 */
static void broker_log_write(enum broker_log_level level, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* src is anything with a log_level member (the config or the context). */
#define BROKER_LOG(src, lvl, errnum, ...)                                                          \
    do {                                                                                           \
        if ((lvl) >= (src)->log_level)                                                             \
            broker_log_write((lvl), (errnum), __VA_ARGS__);                                        \
    } while (0)

static const char *
broker_strerror(int errnum, char *buf, size_t size)
{
    if (strerror_r(errnum, buf, size) != 0)
        snprintf(buf, size, "error %d", errnum);
    return buf;
}

/* Copies src into dst as the inside of a JSON string, truncating to fit. */
static const char *
json_escape(char *dst, size_t size, const char *src)
{
    size_t o = 0;

    for (; *src && o + 7 < size; src++) {
        unsigned char c = (unsigned char)*src;

        if (c == '"' || c == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(dst + o, size - o, "\\u%04x", c);
        } else {
            dst[o++] = (char)c;
        }
    }
    if (size > 0)
        dst[o < size ? o : size - 1] = '\0';
    return dst;
}

static void
broker_log_write(enum broker_log_level level, int errnum, const char *fmt, ...)
{
    char msg[1024], msg_json[2048], err[128], err_json[256], ts[40], line[2560];
    struct timespec now;
    struct tm tm;
    size_t n;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", now.tv_nsec / 1000000L);

    json_escape(msg_json, sizeof(msg_json), msg);
    err_json[0] = '\0';
    if (errnum != 0)
        json_escape(err_json, sizeof(err_json), broker_strerror(errnum, err, sizeof(err)));

    snprintf(line, sizeof(line),
             "{\"ts\":\"%s\",\"level\":\"%s\",\"service\":\"broker\",\"msg\":\"%s\"%s%s%s}\n", ts,
             broker_log_level_names[level], msg_json, errnum ? ",\"error\":\"" : "", err_json,
             errnum ? "\"" : "");
    fputs(line, stderr);
}

/* ---- configuration ----------------------------------------------------------------- */

struct broker_topic {
    char name[BROKER_TOPIC_NAME_MAX + 1];
    int partitions;
};

struct broker_config {
    struct sockaddr_storage listen_addr;
    int listen_addr_len;
    struct sockaddr_storage control_addr;
    int control_addr_len;
    int brokers;
    struct broker_topic topics[BROKER_TOPICS_MAX];
    int topic_cnt;
    const char *ready_file; /* borrowed from argv; NULL: none */
    enum broker_log_level log_level;
    bool help;
};

/* The topics every Charter service expects; --topic adds to (or resizes) these. */
static const struct broker_topic charter_topics[] = {
    {CH_TOPIC_CONTACT_EVENTS, 6}, {CH_TOPIC_SLA_TIMERS, 6}, {CH_TOPIC_NOTIFY_OUTCOMES, 3},
    {CH_TOPIC_REPORTS, 1},        {CH_TOPIC_DLQ, 1},
};

static int
parse_long(const char *text, long min, long max, long *out)
{
    char *end;
    long v;

    if (*text == '\0' || *text == ' ' || *text == '+' || *text == '-')
        return -1;
    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/*
 * Parses "IPv4:PORT", "[IPv6]:PORT" or "localhost:PORT" (127.0.0.1). Port 0 lets the kernel
 * pick one; the address actually bound is what gets reported.
 */
static int
broker_addr_parse(const char *text, struct sockaddr_storage *ss, int *len, char *errstr,
                  size_t errstr_size)
{
    char host[INET6_ADDRSTRLEN];
    const char *start = text, *port_text, *end;
    bool v6 = text[0] == '[';
    size_t host_len;
    long port;

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
    host_len = (size_t)(end - start);
    if (host_len == 0 || host_len >= sizeof(host))
        goto bad;
    memcpy(host, start, host_len);
    host[host_len] = '\0';

    if (parse_long(port_text, 0, 65535, &port) != 0) {
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

static void
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

static bool
broker_addr_is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
}

static int
broker_config_add_topic(struct broker_config *conf, const char *name, size_t name_len,
                        int partitions, char *errstr, size_t errstr_size)
{
    int i;

    for (i = 0; i < conf->topic_cnt; i++) {
        if (strlen(conf->topics[i].name) == name_len &&
            !memcmp(conf->topics[i].name, name, name_len)) {
            conf->topics[i].partitions = partitions;
            return 0;
        }
    }
    if (conf->topic_cnt == BROKER_TOPICS_MAX) {
        snprintf(errstr, errstr_size, "at most %d topics can be created", BROKER_TOPICS_MAX);
        return -1;
    }
    memcpy(conf->topics[conf->topic_cnt].name, name, name_len);
    conf->topics[conf->topic_cnt].name[name_len] = '\0';
    conf->topics[conf->topic_cnt].partitions = partitions;
    conf->topic_cnt++;
    return 0;
}

static int
opt_listen(struct broker_config *conf, const char *value, char *errstr, size_t errstr_size)
{
    return broker_addr_parse(value, &conf->listen_addr, &conf->listen_addr_len, errstr,
                             errstr_size);
}

static int
opt_control(struct broker_config *conf, const char *value, char *errstr, size_t errstr_size)
{
    if (broker_addr_parse(value, &conf->control_addr, &conf->control_addr_len, errstr,
                          errstr_size) != 0)
        return -1;
    if (!broker_addr_is_loopback(&conf->control_addr)) {
        snprintf(errstr, errstr_size,
                 "the control endpoint can take brokers down, so it only binds a loopback "
                 "address (127.0.0.0/8 or [::1])");
        return -1;
    }
    return 0;
}

static int
opt_brokers(struct broker_config *conf, const char *value, char *errstr, size_t errstr_size)
{
    long n;

    if (parse_long(value, 1, BROKER_BROKERS_MAX, &n) != 0) {
        snprintf(errstr, errstr_size, "expected a number of brokers from 1 to %d",
                 BROKER_BROKERS_MAX);
        return -1;
    }
    conf->brokers = (int)n;
    return 0;
}

static int
opt_topic(struct broker_config *conf, const char *value, char *errstr, size_t errstr_size)
{
    const char *colon = strrchr(value, ':');
    size_t name_len, i;
    long partitions;

    if (!colon) {
        snprintf(errstr, errstr_size, "expected NAME:PARTITIONS, e.g. charter.audit.v1:3");
        return -1;
    }
    name_len = (size_t)(colon - value);
    if (name_len == 0 || name_len > BROKER_TOPIC_NAME_MAX ||
        (name_len <= 2 && !strncmp(value, "..", name_len))) {
        snprintf(errstr, errstr_size, "a topic name has 1 to %d characters and is not . or ..",
                 BROKER_TOPIC_NAME_MAX);
        return -1;
    }
    for (i = 0; i < name_len; i++) {
        char c = value[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            snprintf(errstr, errstr_size,
                     "a topic name may only contain ASCII letters, digits, '.', '_' and '-'");
            return -1;
        }
    }
    if (parse_long(colon + 1, 1, BROKER_PARTITIONS_MAX, &partitions) != 0) {
        snprintf(errstr, errstr_size, "the partition count must be a number from 1 to %d",
                 BROKER_PARTITIONS_MAX);
        return -1;
    }
    return broker_config_add_topic(conf, value, name_len, (int)partitions, errstr, errstr_size);
}

static int
opt_ready_file(struct broker_config *conf, const char *value, char *errstr, size_t errstr_size)
{
    if (*value == '\0') {
        snprintf(errstr, errstr_size, "expected a file path");
        return -1;
    }
    conf->ready_file = value;
    return 0;
}

static int
opt_log_level(struct broker_config *conf, const char *value, char *errstr, size_t errstr_size)
{
    size_t i;

    for (i = 0; i < sizeof(broker_log_level_names) / sizeof(broker_log_level_names[0]); i++) {
        if (!strcmp(value, broker_log_level_names[i])) {
            conf->log_level = (enum broker_log_level)i;
            return 0;
        }
    }
    snprintf(errstr, errstr_size, "expected one of debug, info, warn, error");
    return -1;
}

static int
opt_help(struct broker_config *conf, const char *value, char *errstr, size_t errstr_size)
{
    (void)value;
    (void)errstr;
    (void)errstr_size;
    conf->help = true;
    return 0;
}

struct broker_option {
    const char *name;    /* without the leading "--" */
    const char *metavar; /* NULL: a flag that takes no value */
    const char *defval;  /* applied before argv and shown by --help; NULL: none */
    const char *help;
    /* Returns 0, or -1 with errstr saying what a valid value looks like. */
    int (*set)(struct broker_config *conf, const char *value, char *errstr, size_t errstr_size);
};

static const struct broker_option broker_options[] = {
    {"listen", "HOST:PORT", "127.0.0.1:9092",
     "Stable bootstrap address; forwards to mock broker 1.", opt_listen},
    {"control", "HOST:PORT", "127.0.0.1:9093", "Loopback HTTP control endpoint for fault tests.",
     opt_control},
    {"brokers", "N", "1", "Number of mock brokers (ids 1..N).", opt_brokers},
    {"topic", "NAME:PARTITIONS", NULL, "Create another topic, or resize a Charter one; repeatable.",
     opt_topic},
    {"ready-file", "PATH", NULL,
     "Write the bootstrap address here once listening; removed on exit.", opt_ready_file},
    {"log-level", "LEVEL", "info", "debug, info, warn or error (stderr, JSON lines).",
     opt_log_level},
    {"help", NULL, NULL, "Print this help and exit.", opt_help},
};

#define BROKER_OPTION_CNT (sizeof(broker_options) / sizeof(broker_options[0]))

static void
broker_usage(FILE *out)
{
    size_t i;

    fprintf(out, "Usage: charter-broker [OPTIONS]\n\n"
                 "An in-memory Kafka broker for development (librdkafka's mock cluster),\n"
                 "reachable on one stable bootstrap address. Not for production.\n\n"
                 "Options:\n");
    for (i = 0; i < BROKER_OPTION_CNT; i++) {
        const struct broker_option *opt = &broker_options[i];
        char left[64];

        snprintf(left, sizeof(left), "--%s%s%s", opt->name, opt->metavar ? " " : "",
                 opt->metavar ? opt->metavar : "");
        fprintf(out, "  %-26s %s", left, opt->help);
        if (opt->defval)
            fprintf(out, " (default: %s)", opt->defval);
        fputc('\n', out);
    }
    fprintf(out, "\nTopics always created (replication factor 1):\n");
    for (i = 0; i < sizeof(charter_topics) / sizeof(charter_topics[0]); i++)
        fprintf(out, "  %-28s %d partition%s\n", charter_topics[i].name,
                charter_topics[i].partitions, charter_topics[i].partitions == 1 ? "" : "s");
    fprintf(out, "\nControl endpoint:\n"
                 "  GET  /status                 bootstrap, mock addresses, brokers that are down\n"
                 "  POST /brokers/down[?id=N]    disconnect all brokers (or broker N)\n"
                 "  POST /brokers/up[?id=N]      accept connections again\n\n"
                 "Exit status: 0 after SIGTERM/SIGINT, 1 if it cannot start, 2 on bad options.\n");
}

static void
broker_config_init(struct broker_config *conf)
{
    char errstr[256];
    size_t i;

    memset(conf, 0, sizeof(*conf));
    for (i = 0; i < BROKER_OPTION_CNT; i++) {
        if (broker_options[i].defval &&
            broker_options[i].set(conf, broker_options[i].defval, errstr, sizeof(errstr)) != 0)
            abort(); /* a default in the table above is invalid */
    }
    for (i = 0; i < sizeof(charter_topics) / sizeof(charter_topics[0]); i++)
        broker_config_add_topic(conf, charter_topics[i].name, strlen(charter_topics[i].name),
                                charter_topics[i].partitions, errstr, sizeof(errstr));
}

static const struct broker_option *
broker_option_find(const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < BROKER_OPTION_CNT; i++) {
        if (strlen(broker_options[i].name) == len && !memcmp(broker_options[i].name, name, len))
            return &broker_options[i];
    }
    return NULL;
}

/* Accepts "--name VALUE", "--name=VALUE" and -h. Returns 0, or -1 after printing why. */
static int
broker_config_parse(struct broker_config *conf, int argc, char **argv)
{
    static const char try_help[] = "Try 'charter-broker --help'.\n";
    int i;

    for (i = 1; i < argc; i++) {
        const char *arg = strcmp(argv[i], "-h") ? argv[i] : "--help";
        const struct broker_option *opt;
        const char *value = NULL;
        char errstr[256];
        size_t name_len;

        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            fprintf(stderr, "charter-broker: unexpected argument '%s'\n%s", arg, try_help);
            return -1;
        }
        name_len = strcspn(arg + 2, "=");
        opt = broker_option_find(arg + 2, name_len);
        if (!opt) {
            fprintf(stderr, "charter-broker: unknown option '--%.*s'\n%s", (int)name_len, arg + 2,
                    try_help);
            return -1;
        }
        if (arg[2 + name_len] == '=')
            value = arg + 3 + name_len;
        if (opt->metavar && !value) {
            if (i + 1 == argc) {
                fprintf(stderr, "charter-broker: option --%s needs a value (%s)\n%s", opt->name,
                        opt->metavar, try_help);
                return -1;
            }
            value = argv[++i];
        } else if (!opt->metavar && value) {
            fprintf(stderr, "charter-broker: option --%s takes no value\n%s", opt->name, try_help);
            return -1;
        }
        if (opt->set(conf, value, errstr, sizeof(errstr)) != 0) {
            fprintf(stderr, "charter-broker: invalid value '%s' for --%s: %s\n%s", value, opt->name,
                    errstr, try_help);
            return -1;
        }
    }
    return 0;
}

/* ---- runtime ----------------------------------------------------------------------- */

struct broker_ctx;

/* One client connection on the bootstrap address and its connection to mock broker 1. */
struct fwd_conn {
    struct broker_ctx *ctx;
    struct bufferevent *client;   /* NULL once closed while upstream flushes */
    struct bufferevent *upstream; /* NULL once closed while client flushes */
    bool flushing;                /* one side is gone; close the other when drained */
    TAILQ_ENTRY(fwd_conn) link;
};

TAILQ_HEAD(fwd_conn_list, fwd_conn);

struct broker_ctx {
    enum broker_log_level log_level;
    const struct broker_config *conf;
    struct event_base *base;
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mcluster;
    struct evconnlistener *listener;
    struct evhttp *http;
    struct event *sig_term;
    struct event *sig_int;
    struct sockaddr_storage upstream_addr;
    int upstream_addr_len;
    char bootstrap[BROKER_ADDR_MAX]; /* the address actually bound */
    char control[BROKER_ADDR_MAX];
    bool ready_file_written;
    bool down[BROKER_BROKERS_MAX + 1]; /* by broker id; the mock API cannot be asked */
    struct fwd_conn_list conns;
};

/* Binds and listens on a non-blocking socket; returns it, or -1 with *errnum set. */
static evutil_socket_t
broker_bind(const struct sockaddr_storage *ss, int len, int *errnum)
{
    evutil_socket_t fd = socket(ss->ss_family, SOCK_STREAM, 0);

    if (fd < 0) {
        *errnum = errno;
        return -1;
    }
    if (evutil_make_listen_socket_reuseable(fd) != 0 || evutil_make_socket_nonblocking(fd) != 0 ||
        evutil_make_socket_closeonexec(fd) != 0 ||
        bind(fd, (const struct sockaddr *)ss, (socklen_t)len) != 0 || listen(fd, 128) != 0) {
        *errnum = errno;
        evutil_closesocket(fd);
        return -1;
    }
    return fd;
}

static void
broker_bind_error(char *errstr, size_t errstr_size, const char *what, const char *addr,
                  const char *option, int errnum)
{
    char err[128];

    if (errnum == EADDRINUSE)
        snprintf(errstr, errstr_size,
                 "cannot listen on %s for the %s: address already in use (another "
                 "charter-broker or Kafka may be running there; choose another address with %s)",
                 addr, what, option);
    else
        snprintf(errstr, errstr_size, "cannot listen on %s for the %s: %s (check %s)", addr, what,
                 broker_strerror(errnum, err, sizeof(err)), option);
}

static void
broker_bound_addr(evutil_socket_t fd, char *buf, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
        broker_addr_format((struct sockaddr *)&ss, buf, size);
}

/* -- forwarder -- */

static struct bufferevent *
fwd_partner(const struct fwd_conn *conn, const struct bufferevent *bev)
{
    return bev == conn->client ? conn->upstream : conn->client;
}

static void
fwd_conn_free(struct fwd_conn *conn)
{
    TAILQ_REMOVE(&conn->ctx->conns, conn, link);
    if (conn->client)
        bufferevent_free(conn->client);
    if (conn->upstream)
        bufferevent_free(conn->upstream);
    free(conn);
}

static void
fwd_read_cb(struct bufferevent *bev, void *arg)
{
    struct fwd_conn *conn = arg;
    struct bufferevent *partner = fwd_partner(conn, bev);
    struct evbuffer *out;

    if (!partner) {
        evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
        return;
    }
    out = bufferevent_get_output(partner);
    evbuffer_add_buffer(out, bufferevent_get_input(bev));
    if (evbuffer_get_length(out) >= FWD_HIGH_WATER)
        bufferevent_disable(bev, EV_READ);
}

/* Runs when bev's unsent output falls to its low watermark. */
static void
fwd_write_cb(struct bufferevent *bev, void *arg)
{
    struct fwd_conn *conn = arg;
    struct bufferevent *partner = fwd_partner(conn, bev);

    if (conn->flushing) {
        if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
            fwd_conn_free(conn);
        return;
    }
    if (partner && !(bufferevent_get_enabled(partner) & EV_READ))
        bufferevent_enable(partner, EV_READ);
}

static void
fwd_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct fwd_conn *conn = arg;
    struct broker_ctx *ctx = conn->ctx;
    struct bufferevent *partner = fwd_partner(conn, bev);
    const char *side = bev == conn->client ? "client" : "mock broker 1";
    struct timeval flush_timeout = {FWD_FLUSH_TIMEOUT_SEC, 0};
    struct evbuffer *out;

    if (what & BEV_EVENT_CONNECTED)
        return;

    if (what & BEV_EVENT_ERROR) {
        BROKER_LOG(ctx, BROKER_LOG_DEBUG, EVUTIL_SOCKET_ERROR(),
                   "forwarded connection closed: %s side failed", side);
        fwd_conn_free(conn);
        return;
    }
    if ((what & BEV_EVENT_EOF) && partner && !conn->flushing) {
        out = bufferevent_get_output(partner);
        evbuffer_add_buffer(out, bufferevent_get_input(bev));
        if (evbuffer_get_length(out) > 0) {
            if (bev == conn->client)
                conn->client = NULL;
            else
                conn->upstream = NULL;
            bufferevent_free(bev);
            conn->flushing = true;
            bufferevent_disable(partner, EV_READ);
            bufferevent_setwatermark(partner, EV_WRITE, 0, 0);
            bufferevent_set_timeouts(partner, NULL, &flush_timeout);
            return;
        }
    }
    BROKER_LOG(ctx, BROKER_LOG_DEBUG, 0, "forwarded connection closed by the %s", side);
    fwd_conn_free(conn);
}

static void
fwd_accept_cb(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *peer,
              int peer_len, void *arg)
{
    struct broker_ctx *ctx = arg;
    struct fwd_conn *conn;

    (void)listener;
    (void)peer;
    (void)peer_len;

    conn = calloc(1, sizeof(*conn));
    if (!conn) {
        BROKER_LOG(ctx, BROKER_LOG_ERROR, ENOMEM, "dropping a client connection");
        evutil_closesocket(fd);
        return;
    }
    conn->ctx = ctx;
    TAILQ_INSERT_TAIL(&ctx->conns, conn, link);
    conn->client = bufferevent_socket_new(ctx->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!conn->client) {
        evutil_closesocket(fd);
        goto err;
    }
    conn->upstream = bufferevent_socket_new(ctx->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!conn->upstream)
        goto err;
    /* Callbacks go on after connect(): a failed connect() must not free conn under us. */
    if (bufferevent_socket_connect(conn->upstream, (struct sockaddr *)&ctx->upstream_addr,
                                   ctx->upstream_addr_len) != 0)
        goto err;

    bufferevent_setcb(conn->client, fwd_read_cb, fwd_write_cb, fwd_event_cb, conn);
    bufferevent_setcb(conn->upstream, fwd_read_cb, fwd_write_cb, fwd_event_cb, conn);
    bufferevent_setwatermark(conn->client, EV_WRITE, FWD_HIGH_WATER / 2, 0);
    bufferevent_setwatermark(conn->upstream, EV_WRITE, FWD_HIGH_WATER / 2, 0);
    bufferevent_enable(conn->client, EV_READ | EV_WRITE);
    bufferevent_enable(conn->upstream, EV_READ | EV_WRITE);
    BROKER_LOG(ctx, BROKER_LOG_DEBUG, 0, "forwarding a client connection to mock broker 1");
    return;

err:
    BROKER_LOG(ctx, BROKER_LOG_WARN, EVUTIL_SOCKET_ERROR(),
               "dropping a client connection: cannot connect to mock broker 1");
    fwd_conn_free(conn);
}

static void
fwd_accept_error_cb(struct evconnlistener *listener, void *arg)
{
    struct broker_ctx *ctx = arg;

    (void)listener;
    BROKER_LOG(ctx, BROKER_LOG_WARN, EVUTIL_SOCKET_ERROR(), "accepting a connection on %s failed",
               ctx->bootstrap);
}

static int
broker_forwarder_start(struct broker_ctx *ctx, char *errstr, size_t errstr_size)
{
    const struct broker_config *conf = ctx->conf;
    char addr[BROKER_ADDR_MAX];
    evutil_socket_t fd;
    int errnum = 0;

    broker_addr_format((const struct sockaddr *)&conf->listen_addr, addr, sizeof(addr));
    fd = broker_bind(&conf->listen_addr, conf->listen_addr_len, &errnum);
    if (fd < 0) {
        broker_bind_error(errstr, errstr_size, "bootstrap address", addr, "--listen", errnum);
        return -1;
    }
    ctx->listener = evconnlistener_new(ctx->base, fwd_accept_cb, ctx, LEV_OPT_CLOSE_ON_FREE, 0, fd);
    if (!ctx->listener) {
        evutil_closesocket(fd);
        snprintf(errstr, errstr_size, "cannot set up the listener on %s", addr);
        return -1;
    }
    evconnlistener_set_error_cb(ctx->listener, fwd_accept_error_cb);
    broker_bound_addr(fd, ctx->bootstrap, sizeof(ctx->bootstrap));
    return 0;
}

/* -- control endpoint -- */

static void control_reply(struct evhttp_request *req, int code, const char *reason, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));

static void
control_reply(struct evhttp_request *req, int code, const char *reason, const char *fmt, ...)
{
    struct evbuffer *body = evbuffer_new();
    va_list ap;

    if (!body) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    va_start(ap, fmt);
    evbuffer_add_vprintf(body, fmt, ap);
    va_end(ap);
    evbuffer_add(body, "\n", 1);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    /* libevent 2.1 would send the body even for HEAD. */
    evhttp_send_reply(req, code, reason,
                      evhttp_request_get_command(req) == EVHTTP_REQ_HEAD ? NULL : body);
    evbuffer_free(body);
}

/* Formats the ids of the brokers that are down as a JSON array. */
static const char *
control_down_list(const struct broker_ctx *ctx, char *buf, size_t size)
{
    size_t o = 0;
    int id;

    o += (size_t)snprintf(buf, size, "[");
    for (id = 1; id <= ctx->conf->brokers && o < size; id++) {
        if (ctx->down[id])
            o += (size_t)snprintf(buf + o, size - o, "%s%d", o > 1 ? "," : "", id);
    }
    if (o < size)
        snprintf(buf + o, size - o, "]");
    return buf;
}

static void
control_status(struct broker_ctx *ctx, struct evhttp_request *req, const char *query)
{
    char down[BROKER_BROKERS_MAX * 4 + 3];

    (void)query;
    control_reply(req, HTTP_OK, "OK",
                  "{\"bootstrap\":\"%s\",\"mock_bootstraps\":\"%s\",\"brokers\":%d,\"down\":%s}",
                  ctx->bootstrap, rd_kafka_mock_cluster_bootstraps(ctx->mcluster),
                  ctx->conf->brokers, control_down_list(ctx, down, sizeof(down)));
}

static void
control_brokers_set(struct broker_ctx *ctx, struct evhttp_request *req, const char *query, bool up)
{
    struct evkeyvalq params;
    struct evkeyval *param;
    char down[BROKER_BROKERS_MAX * 4 + 3], key[64];
    rd_kafka_resp_err_t err;
    int32_t id = -1;
    long n;
    int i;

    TAILQ_INIT(&params);
    if (query && evhttp_parse_query_str(query, &params) != 0) {
        control_reply(req, HTTP_BADREQUEST, "Bad Request",
                      "{\"error\":\"cannot parse the query string\"}");
        goto out;
    }
    TAILQ_FOREACH(param, &params, next)
    {
        if (strcmp(param->key, "id") != 0) {
            control_reply(req, HTTP_BADREQUEST, "Bad Request",
                          "{\"error\":\"unknown query parameter '%s'; only id is accepted\"}",
                          json_escape(key, sizeof(key), param->key));
            goto out;
        }
        if (parse_long(param->value, 1, ctx->conf->brokers, &n) != 0) {
            control_reply(req, HTTP_BADREQUEST, "Bad Request",
                          "{\"error\":\"id must be a broker id from 1 to %d\"}",
                          ctx->conf->brokers);
            goto out;
        }
        id = (int32_t)n;
    }

    err = up ? rd_kafka_mock_broker_set_up(ctx->mcluster, id)
             : rd_kafka_mock_broker_set_down(ctx->mcluster, id);
    if (err) {
        control_reply(req, HTTP_INTERNAL, "Internal Server Error", "{\"error\":\"%s\"}",
                      rd_kafka_err2str(err));
        goto out;
    }
    for (i = 1; i <= ctx->conf->brokers; i++) {
        if (id == -1 || id == i)
            ctx->down[i] = !up;
    }
    if (id == -1)
        BROKER_LOG(ctx, BROKER_LOG_INFO, 0, "control: all brokers %s", up ? "up" : "down");
    else
        BROKER_LOG(ctx, BROKER_LOG_INFO, 0, "control: broker %d %s", (int)id, up ? "up" : "down");
    control_reply(req, HTTP_OK, "OK", "{\"ok\":true,\"down\":%s}",
                  control_down_list(ctx, down, sizeof(down)));
out:
    evhttp_clear_headers(&params);
}

static void
control_brokers_down(struct broker_ctx *ctx, struct evhttp_request *req, const char *query)
{
    control_brokers_set(ctx, req, query, false);
}

static void
control_brokers_up(struct broker_ctx *ctx, struct evhttp_request *req, const char *query)
{
    control_brokers_set(ctx, req, query, true);
}

struct control_route {
    const char *path;
    enum evhttp_cmd_type method;
    const char *method_name;
    void (*handle)(struct broker_ctx *ctx, struct evhttp_request *req, const char *query);
};

static const struct control_route control_routes[] = {
    {"/status", EVHTTP_REQ_GET, "GET", control_status},
    {"/brokers/down", EVHTTP_REQ_POST, "POST", control_brokers_down},
    {"/brokers/up", EVHTTP_REQ_POST, "POST", control_brokers_up},
};

static void
control_request_cb(struct evhttp_request *req, void *arg)
{
    struct broker_ctx *ctx = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    size_t i;

    for (i = 0; path && i < sizeof(control_routes) / sizeof(control_routes[0]); i++) {
        const struct control_route *route = &control_routes[i];

        if (strcmp(path, route->path) != 0)
            continue;
        if (method != route->method &&
            !(route->method == EVHTTP_REQ_GET && method == EVHTTP_REQ_HEAD)) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", route->method_name);
            control_reply(req, 405, "Method Not Allowed",
                          "{\"error\":\"method not allowed; use %s %s\"}", route->method_name,
                          route->path);
            return;
        }
        route->handle(ctx, req, evhttp_uri_get_query(uri));
        return;
    }
    control_reply(req, HTTP_NOTFOUND, "Not Found",
                  "{\"error\":\"not found; try GET /status, POST /brokers/down or POST "
                  "/brokers/up\"}");
}

static int
broker_control_start(struct broker_ctx *ctx, char *errstr, size_t errstr_size)
{
    const struct broker_config *conf = ctx->conf;
    struct evconnlistener *listener;
    char addr[BROKER_ADDR_MAX];
    evutil_socket_t fd;
    int errnum = 0;

    broker_addr_format((const struct sockaddr *)&conf->control_addr, addr, sizeof(addr));
    fd = broker_bind(&conf->control_addr, conf->control_addr_len, &errnum);
    if (fd < 0) {
        broker_bind_error(errstr, errstr_size, "control endpoint", addr, "--control", errnum);
        return -1;
    }
    broker_bound_addr(fd, ctx->control, sizeof(ctx->control));
    listener = evconnlistener_new(ctx->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE, 0, fd);
    if (!listener) {
        evutil_closesocket(fd);
        goto err;
    }
    ctx->http = evhttp_new(ctx->base);
    if (!ctx->http || !evhttp_bind_listener(ctx->http, listener)) {
        evconnlistener_free(listener);
        goto err;
    }
    evhttp_set_allowed_methods(ctx->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                              EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                              EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_max_body_size(ctx->http, 4096);
    evhttp_set_timeout(ctx->http, 10);
    evhttp_set_gencb(ctx->http, control_request_cb, ctx);
    return 0;

err:
    snprintf(errstr, errstr_size, "cannot set up the control endpoint on %s", addr);
    return -1;
}

/* -- mock cluster -- */

/* Runs on librdkafka's threads. */
static void
broker_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    const struct broker_ctx *ctx = rd_kafka_opaque(rk);
    enum broker_log_level lvl = level <= 3   ? BROKER_LOG_ERROR
                                : level == 4 ? BROKER_LOG_WARN
                                : level <= 6 ? BROKER_LOG_INFO
                                             : BROKER_LOG_DEBUG;

    /* This handle only hosts the mock cluster; it is never meant to connect anywhere. */
    if (!strcmp(fac, "CONFWARN") && strstr(buf, "bootstrap.servers"))
        lvl = BROKER_LOG_DEBUG;
    BROKER_LOG(ctx, lvl, 0, "librdkafka %s: %s", fac, buf);
}

static int
broker_kafka_start(struct broker_ctx *ctx, char *errstr, size_t errstr_size)
{
    const struct broker_config *conf = ctx->conf;
    rd_kafka_conf_t *kconf = rd_kafka_conf_new();
    char kerr[256], first[BROKER_ADDR_MAX];
    const char *bootstraps;
    size_t first_len;
    int i;

    rd_kafka_conf_set_opaque(kconf, ctx);
    rd_kafka_conf_set_log_cb(kconf, broker_kafka_log_cb);
    if (rd_kafka_conf_set(kconf, "client.id", "charter-broker", kerr, sizeof(kerr)) ||
        (ctx->log_level == BROKER_LOG_DEBUG &&
         rd_kafka_conf_set(kconf, "debug", "mock", kerr, sizeof(kerr)))) {
        rd_kafka_conf_destroy(kconf);
        snprintf(errstr, errstr_size, "cannot configure librdkafka: %s", kerr);
        return -1;
    }
    ctx->rk = rd_kafka_new(RD_KAFKA_PRODUCER, kconf, kerr, sizeof(kerr));
    if (!ctx->rk) {
        rd_kafka_conf_destroy(kconf);
        snprintf(errstr, errstr_size, "cannot create the librdkafka handle: %s", kerr);
        return -1;
    }

    ctx->mcluster = rd_kafka_mock_cluster_new(ctx->rk, conf->brokers);
    if (!ctx->mcluster) {
        snprintf(errstr, errstr_size,
                 "cannot start librdkafka's mock cluster (see the librdkafka log lines above)");
        return -1;
    }
    for (i = 0; i < conf->topic_cnt; i++) {
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(ctx->mcluster, conf->topics[i].name,
                                                             conf->topics[i].partitions, 1);

        if (err) {
            snprintf(errstr, errstr_size, "cannot create topic %s: %s", conf->topics[i].name,
                     rd_kafka_err2str(err));
            return -1;
        }
        BROKER_LOG(ctx, BROKER_LOG_INFO, 0, "created topic %s with %d partition%s",
                   conf->topics[i].name, conf->topics[i].partitions,
                   conf->topics[i].partitions == 1 ? "" : "s");
    }

    bootstraps = rd_kafka_mock_cluster_bootstraps(ctx->mcluster);
    first_len = strcspn(bootstraps, ",");
    if (first_len >= sizeof(first))
        first_len = sizeof(first) - 1;
    memcpy(first, bootstraps, first_len);
    first[first_len] = '\0';
    if (broker_addr_parse(first, &ctx->upstream_addr, &ctx->upstream_addr_len, kerr,
                          sizeof(kerr)) != 0) {
        snprintf(errstr, errstr_size, "cannot use mock broker address '%s': %s", first, kerr);
        return -1;
    }
    return 0;
}

/* -- lifecycle -- */

static void
broker_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct broker_ctx *ctx = arg;

    (void)what;
    BROKER_LOG(ctx, BROKER_LOG_INFO, 0, "received %s; shutting down",
               sig == SIGTERM ? "SIGTERM" : "SIGINT");
    event_base_loopbreak(ctx->base);
}

/* Writes the bootstrap address to conf->ready_file atomically (temp file + rename). */
static int
broker_write_ready_file(struct broker_ctx *ctx, char *errstr, size_t errstr_size)
{
    const char *path = ctx->conf->ready_file;
    char tmp[PATH_MAX], err[128];
    FILE *f;
    int errnum;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >= sizeof(tmp)) {
        snprintf(errstr, errstr_size, "--ready-file path is too long: %s", path);
        return -1;
    }
    f = fopen(tmp, "w");
    if (!f)
        goto err;
    if (fprintf(f, "%s\n", ctx->bootstrap) < 0) {
        errnum = errno;
        fclose(f);
        unlink(tmp);
        errno = errnum;
        goto err;
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        errnum = errno;
        unlink(tmp);
        errno = errnum;
        goto err;
    }
    ctx->ready_file_written = true;
    return 0;

err:
    snprintf(errstr, errstr_size, "cannot write --ready-file %s: %s", path,
             broker_strerror(errno, err, sizeof(err)));
    return -1;
}

static void
broker_destroy(struct broker_ctx *ctx)
{
    if (ctx->ready_file_written)
        unlink(ctx->conf->ready_file);
    if (ctx->listener)
        evconnlistener_free(ctx->listener);
    while (!TAILQ_EMPTY(&ctx->conns))
        fwd_conn_free(TAILQ_FIRST(&ctx->conns));
    if (ctx->http)
        evhttp_free(ctx->http);
    if (ctx->sig_term)
        event_free(ctx->sig_term);
    if (ctx->sig_int)
        event_free(ctx->sig_int);
    if (ctx->mcluster)
        rd_kafka_mock_cluster_destroy(ctx->mcluster);
    if (ctx->rk) {
        rd_kafka_destroy(ctx->rk);
        rd_kafka_wait_destroyed(2000);
    }
    if (ctx->base)
        event_base_free(ctx->base);
    free(ctx);
}

/*
 * Binds both addresses, starts the mock cluster and creates the topics. Returns the context
 * (free with broker_destroy()), or NULL with errstr saying what to fix.
 */
static struct broker_ctx *
broker_create(const struct broker_config *conf, char *errstr, size_t errstr_size)
{
    struct broker_ctx *ctx = calloc(1, sizeof(*ctx));

    if (!ctx) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    ctx->conf = conf;
    ctx->log_level = conf->log_level;
    TAILQ_INIT(&ctx->conns);

    ctx->base = event_base_new();
    if (!ctx->base) {
        snprintf(errstr, errstr_size, "cannot create the libevent loop");
        goto err;
    }
    if (broker_forwarder_start(ctx, errstr, errstr_size) != 0 ||
        broker_control_start(ctx, errstr, errstr_size) != 0 ||
        broker_kafka_start(ctx, errstr, errstr_size) != 0)
        goto err;

    ctx->sig_term = evsignal_new(ctx->base, SIGTERM, broker_signal_cb, ctx);
    ctx->sig_int = evsignal_new(ctx->base, SIGINT, broker_signal_cb, ctx);
    if (!ctx->sig_term || !ctx->sig_int || evsignal_add(ctx->sig_term, NULL) != 0 ||
        evsignal_add(ctx->sig_int, NULL) != 0) {
        snprintf(errstr, errstr_size, "cannot install the SIGTERM/SIGINT handlers");
        goto err;
    }
    return ctx;

err:
    broker_destroy(ctx);
    return NULL;
}

int
main(int argc, char **argv)
{
    struct broker_config conf;
    struct broker_ctx *ctx;
    struct sigaction ignore;
    char errstr[512];
    int rc;

    broker_config_init(&conf);
    if (broker_config_parse(&conf, argc, argv) != 0)
        return 2;
    if (conf.help) {
        broker_usage(stdout);
        return 0;
    }

    /* A forwarded peer may vanish mid-write; that is an EPIPE to handle, not a death. */
    memset(&ignore, 0, sizeof(ignore));
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, NULL);

    ctx = broker_create(&conf, errstr, sizeof(errstr));
    if (!ctx) {
        BROKER_LOG(&conf, BROKER_LOG_ERROR, 0, "%s", errstr);
        return 1;
    }
    if (conf.ready_file && broker_write_ready_file(ctx, errstr, sizeof(errstr)) != 0) {
        BROKER_LOG(ctx, BROKER_LOG_ERROR, 0, "%s", errstr);
        broker_destroy(ctx);
        return 1;
    }
    BROKER_LOG(ctx, BROKER_LOG_INFO, 0,
               "ready: bootstrap %s forwards to mock broker 1 at %s; control on http://%s",
               ctx->bootstrap, rd_kafka_mock_cluster_bootstraps(ctx->mcluster), ctx->control);
    printf("charter-broker: listening on %s (mock cluster at %s)\n", ctx->bootstrap,
           rd_kafka_mock_cluster_bootstraps(ctx->mcluster));
    fflush(stdout);

    rc = event_base_dispatch(ctx->base);
    broker_destroy(ctx);
    if (rc < 0) {
        BROKER_LOG(&conf, BROKER_LOG_ERROR, 0, "the event loop failed");
        return 1;
    }
    BROKER_LOG(&conf, BROKER_LOG_INFO, 0, "stopped");
    libevent_global_shutdown();
    return 0;
}
