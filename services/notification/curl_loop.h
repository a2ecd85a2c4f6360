/*
 * libcurl's multi interface on the runtime's libevent loop: curl tells us
 * which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to wake
 * (CURLMOPT_TIMERFUNCTION); libevent calls curl_multi_socket_action. No
 * thread and no blocking call: an SMTP conversation or an HTTP request is a
 * few callbacks among Kafka and Redis ones.
 */
#ifndef NOTIFY_CURL_LOOP_H
#define NOTIFY_CURL_LOOP_H

#include <curl/curl.h>

struct event_base;
typedef struct notify_curl notify_curl;

/* Called once when a transfer ends, with curl's result. The easy handle is
 * already removed from the multi handle; the callee cleans it up. */
typedef void (*notify_curl_done_fn)(void *opaque, CURL *easy, CURLcode rc);

/* NULL on ENOMEM or when curl cannot be set up. */
notify_curl *notify_curl_new(struct event_base *base);

/*
 * Starts a transfer. Returns 0 and later calls done exactly once; or -1
 * (never calls done). Uses CURLOPT_PRIVATE.
 */
int notify_curl_add(notify_curl *c, CURL *easy, notify_curl_done_fn done, void *opaque);

/* Runs transfers that are due now (e.g. one just unpaused) at once rather
 * than on the next loop turn. Not from inside a curl callback; done
 * callbacks may run. */
void notify_curl_run_now(notify_curl *c);

/* Number of transfers running. */
int notify_curl_running(const notify_curl *c);

/* Aborts what is running without calling done (each transfer's opaque is
 * passed to `drop` so it can be freed), then frees. NULL-safe. */
void notify_curl_free(notify_curl *c, void (*drop)(void *opaque, CURL *easy));

#endif
