/*
 * libcurl's multi interface on the runtime's libevent loop, the adapter the
 * SMTP and HTTP transports share (as hiredis has adapters/libevent.h): curl
 * tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to
 * wake (CURLMOPT_TIMERFUNCTION); libevent calls curl_multi_socket_action.
 * No thread and no blocking call: an SMTP conversation or an HTTP request is
 * a few callbacks among Kafka and Redis ones. Each transport has its own
 * multi handle (notify_curl_transport below); curl's global set-up is
 * counted, so it happens once.
 *
 * What the two transports do alike for one send is here too, once: an easy
 * handle for the transport's URL within its timeout, a payload and a list
 * (SMTP's recipients, HTTP's headers) that either is built whole or makes
 * the send fail for memory, the server's reply code at the end, and exactly
 * one answer. A transport sets only what is its own (SMTP's envelope and
 * read callback, HTTP's headers and body) and reads the reply code.
 */
#ifndef CHARTER_NOTIFY_CURL_LOOP_H
#define CHARTER_NOTIFY_CURL_LOOP_H

#include <curl/curl.h>

#include "list.h"
#include "transport.h"

typedef struct notify_curl notify_curl;
typedef struct notify_curl_send notify_curl_send;

/* The settings every curl transport has, as the member `curl` of its
 * config struct: notify.<name>.url, .timeout_ms and .rate_per_s. */
typedef struct {
    char *url;
    int64_t timeout_ms, rate_per_s;
} notify_curl_config;

/* Their rows in the transport's table (st: its config struct; name:
 * "smtp"): the URL (help_ says what it points at), and the limits, a
 * conversation (timeout_what) given up after timeout_def ms and at most so
 * many rate_what (see NOTIFY_CFG_RATE). */
#define NOTIFY_CURL_CFG_URL(st, name, help_)                                                       \
    CH_CFG_STR(st, curl.url, "notify." name ".url", "", help_)
#define NOTIFY_CURL_CFG_LIMITS(st, name, timeout_def, timeout_what, rate_what)                     \
    CH_CFG_INT(st, curl.timeout_ms, "notify." name ".timeout_ms", timeout_def,                     \
               "give up on " timeout_what " after this long", 100, 600000),                        \
        NOTIFY_CFG_RATE(st, curl.rate_per_s, name, rate_what)

/*
 * For check(), what every curl transport checks of them: where a channel
 * is routed to it, notify.<name>.url must start with <name>:// or
 * <name>s:// (`shape` says what is wanted: "an http:// or https:// URL");
 * and its timeout must end at least 1 s inside notify.lease_ms, or a slow
 * send could be taken over and sent twice. Returns 0, or CH_EINVAL with a
 * sentence naming the key.
 */
int notify_curl_check(const notify_curl_config *c, const notify_transport_use *use,
                      const char *name, const char *shape, char *errstr, size_t errstr_size);

/* A curl transport's context: its settings and runtime, and its multi
 * handle on the loop. */
typedef struct {
    notify_transport_ctx base;
    notify_curl *curl;
} notify_curl_transport;

/* The descriptor's life-cycle hooks of a transport built on this adapter:
 * init sets the multi handle up, cancel_all drops every send still running
 * without answering it, fini frees. */
#define NOTIFY_CURL_TRANSPORT_HOOKS                                                                \
    .init = notify_curl_transport_init, .cancel_all = notify_curl_transport_cancel_all,            \
    .fini = notify_curl_transport_fini

int notify_curl_transport_init(void **tctx, const void *cfg, ch_runtime *rt, char *errstr,
                               size_t errstr_size);
void notify_curl_transport_cancel_all(void *tctx);
void notify_curl_transport_fini(void *tctx);

/* Runs transfers that are due now (e.g. one just unpaused) at once rather
 * than on the next loop turn. Not from inside a curl callback; done
 * callbacks may run. */
void notify_curl_run_now(notify_curl_transport *t);

/*
 * A send's transfer has ended, with curl's result and the server's last
 * reply code (an SMTP or HTTP status; 0 when none came). Called once per
 * started send, never after cancel_all; the send is the callee's, to end
 * with notify_curl_send_end now or later.
 */
typedef void (*notify_curl_done_fn)(notify_curl_send *s, CURLcode rc, long code);

/* What every curl send keeps; a transport's per-send struct starts with it. */
struct notify_curl_send {
    notify_link link; /* first: in the transport's running sends */
    CURL *easy;
    struct curl_slist *list; /* SMTP's recipients, HTTP's headers */
    char *payload;           /* owned; NULL: it could not be built */
    int list_failed;         /* a line could not be added to list */
    notify_curl_done_fn done;
    notify_reply reply;
};

/*
 * `size` zeroed bytes starting with a notify_curl_send: a new easy handle
 * for url that gives up after timeout_ms (connecting included) and raises
 * no signal, with done and reply kept. NULL on ENOMEM (nothing is
 * answered).
 */
notify_curl_send *notify_curl_send_new(size_t size, const char *url, int64_t timeout_ms,
                                       notify_curl_done_fn done, notify_reply reply);

/* Appends a line to s->list; a failure is kept for notify_curl_send_start. */
void notify_curl_send_list_add(notify_curl_send *s, const char *line);

/*
 * Starts the send on t. Returns 0 and later calls s->done exactly once (or,
 * at shutdown, frees the send unanswered); or CH_ENOMEM, the send freed and
 * never answered, when its payload or a line of its list could not be built
 * or curl refused it.
 */
int notify_curl_send_start(notify_curl_transport *t, notify_curl_send *s);

/* Frees the send, then gives its answer (exactly once). */
void notify_curl_send_end(notify_curl_send *s, notify_result r, int64_t retry_after_ms,
                          const char *reason);

#endif
