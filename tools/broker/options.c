/*
 * charter-broker's options: one declarative table that the parser, the
 * defaults and --help all read, so an option cannot be documented one way and
 * parsed another. Each setter checks its value and says in errstr what a
 * valid one looks like.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "charter/topics.h"

/* The topics every Charter service expects; --topic adds to (or resizes) these. */
static const broker_topic charter_topics[] = {
    {CH_TOPIC_CONTACT_EVENTS, 6},  {CH_TOPIC_SLA_TIMERS, 6}, {CH_TOPIC_NOTIFY_OUTCOMES, 3},
    {CH_TOPIC_NOTIFY_RECEIPTS, 3}, {CH_TOPIC_REPORTS, 1},    {CH_TOPIC_DLQ, 1},
};

#define NCHARTER_TOPICS (sizeof(charter_topics) / sizeof(charter_topics[0]))

int
broker_parse_long(const char *text, long min, long max, long *out)
{
    if (*text == '\0' || *text == ' ' || *text == '+' || *text == '-')
        return -1;
    errno = 0;
    char *end;
    long v = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int
add_topic(broker_config *conf, const char *name, size_t name_len, int partitions, char *errstr,
          size_t errstr_size)
{
    for (int i = 0; i < conf->ntopics; i++) {
        if (strlen(conf->topics[i].name) == name_len &&
            !memcmp(conf->topics[i].name, name, name_len)) {
            conf->topics[i].partitions = partitions;
            return 0;
        }
    }
    if (conf->ntopics == BROKER_TOPICS_MAX) {
        snprintf(errstr, errstr_size, "at most %d topics can be created", BROKER_TOPICS_MAX);
        return -1;
    }
    broker_topic *t = &conf->topics[conf->ntopics++];
    memcpy(t->name, name, name_len);
    t->name[name_len] = '\0';
    t->partitions = partitions;
    return 0;
}

static int
opt_listen(broker_config *conf, const char *value, char *errstr, size_t errstr_size)
{
    return broker_addr_parse(value, &conf->listen_addr, &conf->listen_addr_len, errstr,
                             errstr_size);
}

static int
opt_control(broker_config *conf, const char *value, char *errstr, size_t errstr_size)
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
opt_brokers(broker_config *conf, const char *value, char *errstr, size_t errstr_size)
{
    long n;
    if (broker_parse_long(value, 1, BROKER_BROKERS_MAX, &n) != 0) {
        snprintf(errstr, errstr_size, "expected a number of brokers from 1 to %d",
                 BROKER_BROKERS_MAX);
        return -1;
    }
    conf->brokers = (int)n;
    return 0;
}

static int
valid_topic_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

static int
opt_topic(broker_config *conf, const char *value, char *errstr, size_t errstr_size)
{
    const char *colon = strrchr(value, ':');
    if (!colon) {
        snprintf(errstr, errstr_size, "expected NAME:PARTITIONS, e.g. charter.audit.v1:3");
        return -1;
    }
    size_t name_len = (size_t)(colon - value);
    if (name_len == 0 || name_len > BROKER_TOPIC_NAME_MAX ||
        (name_len <= 2 && !strncmp(value, "..", name_len))) {
        snprintf(errstr, errstr_size, "a topic name has 1 to %d characters and is not . or ..",
                 BROKER_TOPIC_NAME_MAX);
        return -1;
    }
    for (size_t i = 0; i < name_len; i++) {
        if (!valid_topic_char(value[i])) {
            snprintf(errstr, errstr_size,
                     "a topic name may only contain ASCII letters, digits, '.', '_' and '-'");
            return -1;
        }
    }
    long partitions;
    if (broker_parse_long(colon + 1, 1, BROKER_PARTITIONS_MAX, &partitions) != 0) {
        snprintf(errstr, errstr_size, "the partition count must be a number from 1 to %d",
                 BROKER_PARTITIONS_MAX);
        return -1;
    }
    return add_topic(conf, value, name_len, (int)partitions, errstr, errstr_size);
}

static int
opt_ready_file(broker_config *conf, const char *value, char *errstr, size_t errstr_size)
{
    if (*value == '\0') {
        snprintf(errstr, errstr_size, "expected a file path");
        return -1;
    }
    conf->ready_file = value;
    return 0;
}

static int
opt_log_level(broker_config *conf, const char *value, char *errstr, size_t errstr_size)
{
    if (ch_log_level_parse(value, &conf->log_level) == 0)
        return 0;
    snprintf(errstr, errstr_size, "expected one of debug, info, warn, error");
    return -1;
}

static int
opt_help(broker_config *conf, const char *value, char *errstr, size_t errstr_size)
{
    (void)value;
    (void)errstr;
    (void)errstr_size;
    conf->help = 1;
    return 0;
}

static int
opt_version(broker_config *conf, const char *value, char *errstr, size_t errstr_size)
{
    (void)value;
    (void)errstr;
    (void)errstr_size;
    conf->version = 1;
    return 0;
}

typedef struct {
    const char *name;    /* without the leading "--" */
    const char *metavar; /* NULL: a flag that takes no value */
    const char *defval;  /* applied before argv and shown by --help; NULL: none */
    const char *help;
    /* Returns 0, or -1 with errstr saying what a valid value looks like. */
    int (*set)(broker_config *conf, const char *value, char *errstr, size_t errstr_size);
} broker_option;

static const broker_option options[] = {
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
    {"version", NULL, NULL, "Print the version and exit.", opt_version},
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

void
broker_usage(FILE *out)
{
    fprintf(out, "Usage: charter-broker [OPTIONS]\n\n"
                 "An in-memory Kafka broker for development (librdkafka's mock cluster),\n"
                 "reachable on one stable bootstrap address. Not for production.\n\n"
                 "Options:\n");
    for (size_t i = 0; i < NOPTIONS; i++) {
        const broker_option *opt = &options[i];
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", opt->name, opt->metavar ? " " : "",
                 opt->metavar ? opt->metavar : "");
        fprintf(out, "  %-26s %s", left, opt->help);
        if (opt->defval)
            fprintf(out, " (default: %s)", opt->defval);
        fputc('\n', out);
    }
    fprintf(out, "\nTopics always created (replication factor 1):\n");
    for (size_t i = 0; i < NCHARTER_TOPICS; i++)
        fprintf(out, "  %-28s %d partition%s\n", charter_topics[i].name,
                charter_topics[i].partitions, charter_topics[i].partitions == 1 ? "" : "s");
    fprintf(out, "\nControl endpoint:\n"
                 "  GET  /status                 bootstrap, mock addresses, brokers that are down\n"
                 "  POST /brokers/down[?id=N]    disconnect all brokers (or broker N)\n"
                 "  POST /brokers/up[?id=N]      accept connections again\n"
                 "  POST /brokers/rtt?ms=N       answer every request N ms late (0: at once)\n\n"
                 "Exit status: 0 after SIGTERM/SIGINT, 1 if it cannot start, 2 on bad options.\n");
}

void
broker_config_init(broker_config *conf)
{
    char errstr[256];
    memset(conf, 0, sizeof(*conf));
    for (size_t i = 0; i < NOPTIONS; i++) {
        if (options[i].defval &&
            options[i].set(conf, options[i].defval, errstr, sizeof(errstr)) != 0)
            abort(); /* a default in the table above is invalid */
    }
    for (size_t i = 0; i < NCHARTER_TOPICS; i++)
        add_topic(conf, charter_topics[i].name, strlen(charter_topics[i].name),
                  charter_topics[i].partitions, errstr, sizeof(errstr));
}

static const broker_option *
option_find(const char *name, size_t len)
{
    for (size_t i = 0; i < NOPTIONS; i++) {
        if (strlen(options[i].name) == len && !memcmp(options[i].name, name, len))
            return &options[i];
    }
    return NULL;
}

int
broker_config_parse(broker_config *conf, int argc, char **argv)
{
    static const char try_help[] = "Try 'charter-broker --help'.\n";
    for (int i = 1; i < argc; i++) {
        const char *arg = strcmp(argv[i], "-h") ? argv[i] : "--help";
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            fprintf(stderr, "charter-broker: unexpected argument '%s'\n%s", arg, try_help);
            return -1;
        }
        size_t name_len = strcspn(arg + 2, "=");
        const broker_option *opt = option_find(arg + 2, name_len);
        if (!opt) {
            fprintf(stderr, "charter-broker: unknown option '--%.*s'\n%s", (int)name_len, arg + 2,
                    try_help);
            return -1;
        }
        const char *value = arg[2 + name_len] == '=' ? arg + 3 + name_len : NULL;
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
        char errstr[256];
        if (opt->set(conf, value, errstr, sizeof(errstr)) != 0) {
            fprintf(stderr, "charter-broker: invalid value '%s' for --%s: %s\n%s", value, opt->name,
                    errstr, try_help);
            return -1;
        }
    }
    return 0;
}
