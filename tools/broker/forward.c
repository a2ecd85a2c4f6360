/*
 * The stable bootstrap address: a plain TCP forwarder to mock broker 1.
 *
 * librdkafka's mock brokers listen on ephemeral ports, but services, kcat and
 * docker-compose habits expect one stable address such as 127.0.0.1:9092.
 * The forwarder only has to carry the bootstrap connection: Metadata
 * responses advertise the mock brokers' real addresses and clients connect
 * to those directly afterwards.
 *
 * Each accepted connection is a pair of bufferevents. A side stops reading
 * while its partner has FWD_HIGH_WATER unsent and resumes at half. When one
 * side closes, what it sent is flushed to the other (for at most
 * FWD_FLUSH_TIMEOUT_SEC) before that closes too.
 */
#include <errno.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "broker.h"

#define FWD_HIGH_WATER (512 * 1024)
#define FWD_FLUSH_TIMEOUT_SEC 5

/* One client connection on the bootstrap address and its connection to mock broker 1. */
struct broker_conn {
    broker *b;
    struct bufferevent *client;   /* NULL once closed while upstream flushes */
    struct bufferevent *upstream; /* NULL once closed while client flushes */
    int flushing;                 /* one side is gone; close the other when drained */
    TAILQ_ENTRY(broker_conn) link;
};

static struct bufferevent *
partner_of(const broker_conn *conn, const struct bufferevent *bev)
{
    return bev == conn->client ? conn->upstream : conn->client;
}

static void
conn_free(broker_conn *conn)
{
    TAILQ_REMOVE(&conn->b->conns, conn, link);
    if (conn->client)
        bufferevent_free(conn->client);
    if (conn->upstream)
        bufferevent_free(conn->upstream);
    free(conn);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
    broker_conn *conn = arg;
    struct bufferevent *partner = partner_of(conn, bev);
    struct evbuffer *in = bufferevent_get_input(bev);
    if (!partner) {
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    struct evbuffer *out = bufferevent_get_output(partner);
    evbuffer_add_buffer(out, in);
    if (evbuffer_get_length(out) >= FWD_HIGH_WATER)
        bufferevent_disable(bev, EV_READ);
}

/* Runs when bev's unsent output falls to its low watermark. */
static void
write_cb(struct bufferevent *bev, void *arg)
{
    broker_conn *conn = arg;
    struct bufferevent *partner = partner_of(conn, bev);
    if (conn->flushing) {
        if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
            conn_free(conn);
        return;
    }
    if (partner && !(bufferevent_get_enabled(partner) & EV_READ))
        bufferevent_enable(partner, EV_READ);
}

/* bev has closed with data still owed to partner: keep partner until it has
 * sent it, or FWD_FLUSH_TIMEOUT_SEC passes. */
static void
flush_then_close(broker_conn *conn, struct bufferevent *bev, struct bufferevent *partner)
{
    struct timeval flush_timeout = {FWD_FLUSH_TIMEOUT_SEC, 0};
    if (bev == conn->client)
        conn->client = NULL;
    else
        conn->upstream = NULL;
    bufferevent_free(bev);
    conn->flushing = 1;
    bufferevent_disable(partner, EV_READ);
    bufferevent_setwatermark(partner, EV_WRITE, 0, 0);
    bufferevent_set_timeouts(partner, NULL, &flush_timeout);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
    broker_conn *conn = arg;
    const ch_log *lg = conn->b->log;
    struct bufferevent *partner = partner_of(conn, bev);
    const char *side = bev == conn->client ? "client" : "mock broker 1";
    if (what & BEV_EVENT_CONNECTED)
        return;
    if (what & BEV_EVENT_ERROR) {
        CH_LOG_DEBUG(lg, "forwarded connection failed", CH_STR("side", side),
                     broker_errno(EVUTIL_SOCKET_ERROR()));
        conn_free(conn);
        return;
    }
    if ((what & BEV_EVENT_EOF) && partner && !conn->flushing) {
        struct evbuffer *out = bufferevent_get_output(partner);
        evbuffer_add_buffer(out, bufferevent_get_input(bev));
        if (evbuffer_get_length(out) > 0) {
            flush_then_close(conn, bev, partner);
            return;
        }
    }
    CH_LOG_DEBUG(lg, "forwarded connection closed", CH_STR("by", side));
    conn_free(conn);
}

static void
accept_cb(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *peer, int peer_len,
          void *arg)
{
    (void)listener;
    (void)peer;
    (void)peer_len;
    broker *b = arg;
    broker_conn *conn = calloc(1, sizeof(*conn));
    if (!conn) {
        CH_LOG_ERROR(b->log, "dropping a client connection", CH_ERRNO(ENOMEM));
        evutil_closesocket(fd);
        return;
    }
    conn->b = b;
    TAILQ_INSERT_TAIL(&b->conns, conn, link);
    conn->client = bufferevent_socket_new(b->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!conn->client) {
        evutil_closesocket(fd);
        goto err;
    }
    conn->upstream = bufferevent_socket_new(b->base, -1, BEV_OPT_CLOSE_ON_FREE);
    /* Callbacks go on after connect(): a failed connect() must not free conn under us. */
    if (!conn->upstream ||
        bufferevent_socket_connect(conn->upstream, (struct sockaddr *)&b->upstream_addr,
                                   b->upstream_addr_len) != 0)
        goto err;
    struct bufferevent *sides[2] = {conn->client, conn->upstream};
    for (int i = 0; i < 2; i++) {
        bufferevent_setcb(sides[i], read_cb, write_cb, event_cb, conn);
        bufferevent_setwatermark(sides[i], EV_WRITE, FWD_HIGH_WATER / 2, 0);
        bufferevent_enable(sides[i], EV_READ | EV_WRITE);
    }
    CH_LOG_DEBUG(b->log, "forwarding a client connection to mock broker 1");
    return;

err:
    CH_LOG_WARN(b->log, "dropping a client connection: cannot connect to mock broker 1",
                broker_errno(EVUTIL_SOCKET_ERROR()));
    conn_free(conn);
}

static void
accept_error_cb(struct evconnlistener *listener, void *arg)
{
    (void)listener;
    broker *b = arg;
    CH_LOG_WARN(b->log, "accepting a connection failed", CH_STR("address", b->bootstrap),
                broker_errno(EVUTIL_SOCKET_ERROR()));
}

int
broker_forward_start(broker *b, char *errstr, size_t errstr_size)
{
    const broker_config *conf = b->conf;
    b->listener =
        broker_listen(b, &conf->listen_addr, conf->listen_addr_len, "bootstrap address", "--listen",
                      accept_cb, b->bootstrap, sizeof(b->bootstrap), errstr, errstr_size);
    if (!b->listener)
        return -1;
    evconnlistener_set_error_cb(b->listener, accept_error_cb);
    return 0;
}

void
broker_forward_stop(broker *b)
{
    if (b->listener)
        evconnlistener_free(b->listener);
    while (!TAILQ_EMPTY(&b->conns))
        conn_free(TAILQ_FIRST(&b->conns));
}
