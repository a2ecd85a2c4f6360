/*
 * charter-broker: an in-memory Kafka broker for development and integration tests.
 *
 * WHY IT IS BUILT THIS WAY
 *
 * librdkafka ships a mock cluster (rdkafka_mock.h): real Kafka wire protocol over TCP on
 * loopback, logs kept in memory, served by librdkafka's own internal thread (mock.c). Its
 * brokers listen on ephemeral ports, but services, kcat and docker-compose habits all expect
 * one stable address such as 127.0.0.1:9092. So that address is a plain TCP forwarder to
 * mock broker 1 (forward.c). It only has to carry the bootstrap connection: Metadata
 * responses advertise the mock brokers' real addresses and clients connect to those
 * directly afterwards.
 *
 * Everything of ours runs on one libevent loop, started here: the forwarder, the loopback
 * control endpoint (control.c, evhttp) used by fault tests, and SIGTERM/SIGINT. The only
 * other threads are librdkafka's, and the only code of ours they run is the log callback,
 * which touches nothing but the logger. libevent therefore needs no locking (no
 * evthread_use_pthreads()).
 *
 * It is deliberately independent of the code under test: it links charter_base (the
 * logger, the topic names) and nothing of the runtime. One context struct is handed to
 * every callback; there are no globals. Options are one declarative table that both the
 * parser and --help read (options.c). Logs are charter_base's JSON lines, service "broker".
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "broker.h"
#include "charter/version.h"

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    broker *b = arg;
    CH_LOG_INFO(b->log, "shutting down", CH_STR("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"));
    event_base_loopbreak(b->base);
}

/* Writes the bootstrap address to the ready file atomically (temp file + rename). */
static int
write_ready_file(broker *b, char *errstr, size_t errstr_size)
{
    const char *path = b->conf->ready_file;
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >= sizeof(tmp)) {
        snprintf(errstr, errstr_size, "--ready-file path is too long: %s", path);
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (!f)
        goto err;
    int ok = fprintf(f, "%s\n", b->bootstrap) >= 0, errnum = errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        errnum = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = 0;
        errnum = errno;
    }
    if (!ok) {
        unlink(tmp);
        errno = errnum;
        goto err;
    }
    b->ready_file_written = 1;
    return 0;

err:
    snprintf(errstr, errstr_size, "cannot write --ready-file %s: %s", path, strerror(errno));
    return -1;
}

/* Stops and frees what broker_start() started; b itself is the caller's. */
static void
broker_stop(broker *b)
{
    if (b->ready_file_written)
        unlink(b->conf->ready_file);
    broker_forward_stop(b);
    broker_control_stop(b);
    if (b->sig_term)
        event_free(b->sig_term);
    if (b->sig_int)
        event_free(b->sig_int);
    broker_mock_stop(b);
    if (b->base)
        event_base_free(b->base);
}

/*
 * Binds both addresses, starts the mock cluster and creates the topics. Returns 0 (stop
 * with broker_stop()), or -1 with errstr saying what to fix, everything stopped again.
 */
static int
broker_start(broker *b, const broker_config *conf, const ch_log *lg, char *errstr,
             size_t errstr_size)
{
    memset(b, 0, sizeof(*b));
    b->conf = conf;
    b->log = lg;
    TAILQ_INIT(&b->conns);
    b->base = event_base_new();
    if (!b->base) {
        snprintf(errstr, errstr_size, "cannot create the libevent loop");
        return -1;
    }
    if (broker_forward_start(b, errstr, errstr_size) != 0 ||
        broker_control_start(b, errstr, errstr_size) != 0 ||
        broker_mock_start(b, errstr, errstr_size) != 0)
        goto err;
    b->sig_term = evsignal_new(b->base, SIGTERM, signal_cb, b);
    b->sig_int = evsignal_new(b->base, SIGINT, signal_cb, b);
    if (!b->sig_term || !b->sig_int || evsignal_add(b->sig_term, NULL) != 0 ||
        evsignal_add(b->sig_int, NULL) != 0) {
        snprintf(errstr, errstr_size, "cannot install the SIGTERM/SIGINT handlers");
        goto err;
    }
    return 0;

err:
    broker_stop(b);
    return -1;
}

int
main(int argc, char **argv)
{
    broker_config conf;
    broker_config_init(&conf);
    if (broker_config_parse(&conf, argc, argv) != 0)
        return 2;
    if (conf.help) {
        broker_usage(stdout);
        return 0;
    }
    if (conf.version) {
        printf("charter-broker %s\n", CHARTER_VERSION_LINE);
        return 0;
    }
    ch_log lg = {.service = "broker", .level = conf.log_level};

    /* A forwarded peer may vanish mid-write; that is an EPIPE to handle, not a death. */
    struct sigaction ignore;
    memset(&ignore, 0, sizeof(ignore));
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, NULL);

    char errstr[512];
    broker b;
    if (broker_start(&b, &conf, &lg, errstr, sizeof(errstr)) != 0) {
        CH_LOG_ERROR(&lg, "cannot start", CH_STR("error", errstr));
        return 1;
    }
    if (conf.ready_file && write_ready_file(&b, errstr, sizeof(errstr)) != 0) {
        CH_LOG_ERROR(&lg, "cannot start", CH_STR("error", errstr));
        broker_stop(&b);
        return 1;
    }
    const char *mock = rd_kafka_mock_cluster_bootstraps(b.mcluster);
    char control_url[BROKER_ADDR_MAX + 8];
    snprintf(control_url, sizeof(control_url), "http://%s", b.control);
    CH_LOG_INFO(&lg, "ready: the bootstrap address forwards to mock broker 1",
                CH_STR("bootstrap", b.bootstrap), CH_STR("mock_bootstraps", mock),
                CH_STR("control", control_url));
    printf("charter-broker: listening on %s (mock cluster at %s)\n", b.bootstrap, mock);
    fflush(stdout);

    int rc = event_base_dispatch(b.base);
    broker_stop(&b);
    if (rc < 0) {
        CH_LOG_ERROR(&lg, "the event loop failed");
        return 1;
    }
    CH_LOG_INFO(&lg, "stopped");
    libevent_global_shutdown();
    return 0;
}
