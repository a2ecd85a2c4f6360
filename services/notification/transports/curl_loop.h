/*
 * libcurl's multi interface on the runtime's libevent loop, the adapter the
 * SMTP and HTTP transports share (as hiredis has adapters/libevent.h): curl
 * tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to
 * wake (CURLMOPT_TIMERFUNCTION); libevent calls curl_multi_socket_action.
 * No thread and no blocking call: an SMTP conversation or an HTTP request is
 * a few callbacks among Kafka and Redis ones. Each transport has its own
 * multi handle (notify_curl_transport below); curl's global set-up is
 * counted, so it happens once.
 */
#ifndef CHARTER_NOTIFY_CURL_LOOP_H
#define CHARTER_NOTIFY_CURL_LOOP_H

#include <curl/curl.h>

#include "transport.h"

struct event_base;
typedef struct notify_curl notify_curl;

/* Called once when a transfer ends, with curl's result. The easy handle is
 * already removed from the multi handle; the callee cleans it up. */
typedef void (*notify_curl_done_fn)(void *opaque, CURL *easy, CURLcode rc);

/* Frees a transfer's opaque and its easy handle without finishing it
 * (shutdown). */
typedef void (*notify_curl_drop_fn)(void *opaque);

/* NULL on ENOMEM or when curl cannot be set up. Free with notify_curl_free. */
notify_curl *notify_curl_new(struct event_base *base);

/*
 * Starts a transfer. Returns 0 and later calls done exactly once, or drop
 * instead at notify_curl_cancel_all; or CH_ENOMEM (never calls either).
 * Uses CURLOPT_PRIVATE.
 */
int notify_curl_add(notify_curl *c, CURL *easy, notify_curl_done_fn done, notify_curl_drop_fn drop,
                    void *opaque);

/* Runs transfers that are due now (e.g. one just unpaused) at once rather
 * than on the next loop turn. Not from inside a curl callback; done
 * callbacks may run. */
void notify_curl_run_now(notify_curl *c);

/* Aborts what is running, calling each transfer's drop instead of done. */
void notify_curl_cancel_all(notify_curl *c);

/* Cancels what still runs and frees. NULL-safe. */
void notify_curl_free(notify_curl *c);

/* A curl transport's context, and its descriptor's init, cancel_all and fini. */
typedef struct {
    notify_transport_ctx base;
    notify_curl *curl;
} notify_curl_transport;

/* The descriptor's life-cycle hooks of a transport built on this adapter. */
#define NOTIFY_CURL_TRANSPORT_HOOKS                                                                \
    .init = notify_curl_transport_init, .cancel_all = notify_curl_transport_cancel_all,            \
    .fini = notify_curl_transport_fini

int notify_curl_transport_init(void **tctx, const void *cfg, ch_runtime *rt, char *errstr,
                               size_t errstr_size);
void notify_curl_transport_cancel_all(void *tctx);
void notify_curl_transport_fini(void *tctx);

/* What every curl send keeps; a transport's per-send struct starts with it. */
typedef struct {
    CURL *easy;
    struct curl_slist *list; /* SMTP's recipients, HTTP's headers */
    char *payload;
    notify_sent_fn sent;
    void *opaque;
} notify_curl_send;

/* `size` zeroed bytes starting with a notify_curl_send holding a new easy
 * handle, sent and opaque; NULL on ENOMEM. */
notify_curl_send *notify_curl_send_new(size_t size, notify_sent_fn sent, void *opaque);

/* Frees a send: its easy handle, list, payload and itself (NULL-safe). */
void notify_curl_send_free(void *send);

/* Starts the send's transfer on t: 0 and later done (or, at shutdown, the
 * send freed unanswered); or CH_ENOMEM, the send freed. */
int notify_curl_send_start(notify_curl_transport *t, notify_curl_send *s, notify_curl_done_fn done);

/* Frees the send, then gives its answer (exactly once). */
void notify_curl_send_end(notify_curl_send *s, notify_result r, int64_t retry_after_ms,
                          const char *reason);

#endif
