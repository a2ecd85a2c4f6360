/*
 * gateway_receiver: a stand-in SMS/social/email gateway for notification's
 * integration tests, speaking the subset of GOV.UK Notify's API that
 * charter-notification uses. Its contract is in docs/testing.md:
 *
 *   POST /v2/notifications/{sms,email,social}, JSON body with "reference".
 *   - Authorization must be "Bearer <--token>" when --token is given (401).
 *   - With --notify-key KEY (a GOV.UK Notify API key, {name}-{service_id}-
 *     {secret}) instead, Authorization must be "Bearer <JWT>" as Notify wants
 *     it: alg HS256, signed with the key's secret, iss the service id, iat
 *     (integer epoch seconds) within 30 s of the receiver's clock. Otherwise
 *     403 {"status_code":403,"errors":[{"error":"AuthError","message":...}]}
 *     and "auth_error" in the log line says which check failed.
 *   - The first --fail-first N requests are answered 429 with
 *     "Retry-After: <--retry-after>" seconds.
 *   - A reference seen before (an accepted request) is a repeat: answered 201
 *     with the first answer's id, logged with "duplicate": true, not
 *     delivered again (this is the idempotency a retrying client relies on).
 *   - A request whose phone_number, email_address or recipient equals
 *     --reject-to is answered 400 ValidationError (a permanent refusal).
 *   - Otherwise 201 {"id", "reference"} and the message counts as delivered.
 *   Every request is one JSON line in --log: n, at_ms, path, status,
 *   duplicate, reference, auth_ok, auth_error, id, body (the request as sent).
 *
 * Binds 127.0.0.1 only; exits 0 on SIGTERM/SIGINT.
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

typedef struct {
    FILE *log;
    const char *token;
    char service_id[37], secret[37]; /* from --notify-key; empty without */
    const char *reject_to;
    int fail_left;
    int retry_after;
    long n;
    json_t *seen; /* reference -> id */
    struct event_base *base;
} receiver;

static long long
now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void
reply(struct evhttp_request *req, int status, const char *reason, const char *json)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, json, strlen(json));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, status, reason, b);
    evbuffer_free(b);
}

static void
b64url_encode(const unsigned char *in, size_t len, char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = abc[v >> 18 & 63];
        out[o++] = abc[v >> 12 & 63];
        out[o++] = abc[v >> 6 & 63];
        out[o++] = abc[v & 63];
    }
    if (i < len) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0);
        out[o++] = abc[v >> 18 & 63];
        out[o++] = abc[v >> 12 & 63];
        if (i + 1 < len)
            out[o++] = abc[v >> 6 & 63];
    }
    out[o] = '\0';
}

/* base64url (no padding) of in[0..len) decoded as text into out; NULL if not base64url. */
static char *
b64url_decode(const char *in, size_t len, char *out, size_t outsz)
{
    unsigned v = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        const char *abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        const char *p = in[i] ? strchr(abc, in[i]) : NULL;
        if (!p)
            return NULL;
        v = (v << 6 | (unsigned)(p - abc)) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o + 1 >= outsz)
                return NULL;
            out[o++] = (char)(v >> bits & 0xff);
        }
    }
    out[o] = '\0';
    return out;
}

/* NULL when auth is a valid Notify JWT for the --notify-key, else why not. */
static const char *
check_notify_jwt(const receiver *r, const char *auth)
{
    if (!auth || strncmp(auth, "Bearer ", 7) != 0)
        return "Unauthorized: authentication token must be provided";
    const char *tok = auth + 7, *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d2 || strchr(d2 + 1, '.'))
        return "Invalid token: not a JWT";
    char hdr[256], claims[512], want[128];
    if (!b64url_decode(tok, (size_t)(d1 - tok), hdr, sizeof(hdr)) ||
        !b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), claims, sizeof(claims)))
        return "Invalid token: not a JWT";
    json_t *h = json_loads(hdr, 0, NULL);
    int hs256 = h && json_is_string(json_object_get(h, "alg")) &&
                strcmp(json_string_value(json_object_get(h, "alg")), "HS256") == 0;
    json_decref(h);
    if (!hs256)
        return "Invalid token: algorithm used is not HS256";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), r->secret, (int)strlen(r->secret), (const unsigned char *)tok,
         (size_t)(d2 - tok), mac, &maclen);
    b64url_encode(mac, maclen, want);
    if (strlen(d2 + 1) != strlen(want) || CRYPTO_memcmp(d2 + 1, want, strlen(want)) != 0)
        return "Invalid token: signature, api token not found";
    json_t *c = json_loads(claims, 0, NULL);
    const char *iss = json_string_value(json_object_get(c, "iss"));
    json_t *iat = json_object_get(c, "iat");
    const char *why = NULL;
    if (!iss)
        why = "Invalid token: iss field not provided";
    else if (strcmp(iss, r->service_id) != 0)
        why = "Invalid token: service not found";
    else if (!json_is_integer(iat))
        why = "Invalid token: iat field not provided";
    else if (llabs((long long)json_integer_value(iat) - now_ms() / 1000) > 30)
        why = "Error: Your system clock must be accurate to within 30 seconds";
    json_decref(c);
    return why;
}

static void
on_request(struct evhttp_request *req, void *arg)
{
    receiver *r = arg;
    const char *uri = evhttp_request_get_uri(req);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    char *body = malloc(len + 1);
    evbuffer_remove(in, body, len);
    body[len] = '\0';
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    char want[512];
    snprintf(want, sizeof(want), "Bearer %s", r->token ? r->token : "");
    const char *auth_error = NULL;
    if (r->service_id[0])
        auth_error = check_notify_jwt(r, auth);
    else if (r->token && !(auth && strcmp(auth, want) == 0))
        auth_error = "bearer token does not match --token";
    int auth_ok = !auth_error;
    json_error_t err;
    json_t *doc = json_loads(body, 0, &err);
    const char *ref = json_string_value(json_object_get(doc, "reference"));
    int status, dup = 0, rejected = 0;
    const char *to_keys[] = {"phone_number", "email_address", "recipient"};
    for (int i = 0; r->reject_to && i < 3; i++) {
        const char *v = json_string_value(json_object_get(doc, to_keys[i]));
        rejected |= v && strcmp(v, r->reject_to) == 0;
    }
    char id[64] = "";
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST ||
        strncmp(uri, "/v2/notifications/", 18) != 0) {
        status = 404;
        reply(req, 404, "Not Found", "{\"errors\":[{\"error\":\"NotFound\"}]}");
    } else if (!auth_ok && r->service_id[0]) {
        status = 403;
        json_t *e = json_pack("{s:i, s:[{s:s, s:s}]}", "status_code", 403, "errors", "error",
                              "AuthError", "message", auth_error);
        char *s = json_dumps(e, JSON_COMPACT);
        reply(req, 403, "Forbidden", s);
        free(s);
        json_decref(e);
    } else if (!auth_ok) {
        status = 401;
        reply(req, 401, "Unauthorized", "{\"errors\":[{\"error\":\"AuthError\"}]}");
    } else if (!doc || !ref || !ref[0]) {
        status = 400;
        reply(req, 400, "Bad Request", "{\"errors\":[{\"error\":\"BadRequestError\"}]}");
    } else if (rejected) {
        status = 400;
        reply(req, 400, "Bad Request", "{\"errors\":[{\"error\":\"ValidationError\"}]}");
    } else if (r->fail_left > 0) {
        r->fail_left--;
        status = 429;
        char ra[16];
        snprintf(ra, sizeof(ra), "%d", r->retry_after);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", ra);
        reply(req, 429, "Too Many Requests", "{\"errors\":[{\"error\":\"RateLimitError\"}]}");
    } else {
        status = 201;
        json_t *prev = json_object_get(r->seen, ref);
        if (prev) {
            dup = 1;
            snprintf(id, sizeof(id), "%s", json_string_value(prev));
        } else {
            snprintf(id, sizeof(id), "gw-%08ld", r->n + 1);
            json_object_set_new(r->seen, ref, json_string(id));
        }
        json_t *ans = json_pack("{s:s, s:s}", "id", id, "reference", ref);
        char *s = json_dumps(ans, JSON_COMPACT);
        reply(req, 201, "Created", s);
        free(s);
        json_decref(ans);
    }
    r->n++;
    json_t *line =
        json_pack("{s:I, s:I, s:s, s:i, s:b, s:s, s:b, s:s}", "n", (json_int_t)r->n, "at_ms",
                  (json_int_t)now_ms(), "path", uri, "status", status, "duplicate", dup,
                  "reference", ref ? ref : "", "auth_ok", auth_ok, "id", id);
    json_object_set_new(line, "auth_error", auth_error ? json_string(auth_error) : json_null());
    json_object_set(line, "body", doc ? doc : json_null());
    char *s = json_dumps(line, JSON_COMPACT);
    fprintf(r->log, "%s\n", s);
    fflush(r->log);
    free(s);
    json_decref(line);
    json_decref(doc);
    free(body);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopexit(((receiver *)arg)->base, NULL);
}

int
main(int argc, char **argv)
{
    receiver r = {.retry_after = 1};
    int port = 0;
    const char *log = NULL, *ready = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--log") == 0)
            log = argv[i + 1];
        else if (strcmp(argv[i], "--token") == 0)
            r.token = argv[i + 1];
        else if (strcmp(argv[i], "--notify-key") == 0) {
            size_t n = strlen(argv[i + 1]);
            if (n < 75 || argv[i + 1][n - 74] != '-' || argv[i + 1][n - 37] != '-') {
                fprintf(stderr, "gateway_receiver: --notify-key must be "
                                "{name}-{service_id}-{secret_key}\n");
                return 2;
            }
            memcpy(r.service_id, argv[i + 1] + n - 73, 36);
            memcpy(r.secret, argv[i + 1] + n - 36, 36);
        } else if (strcmp(argv[i], "--reject-to") == 0)
            r.reject_to = argv[i + 1];
        else if (strcmp(argv[i], "--fail-first") == 0)
            r.fail_left = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--retry-after") == 0)
            r.retry_after = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--ready") == 0)
            ready = argv[i + 1];
    }
    if (!port || !log) {
        fprintf(stderr,
                "usage: gateway_receiver --port P --log FILE [--token T | --notify-key KEY] "
                "[--fail-first N] [--retry-after S] [--reject-to TO] [--ready FILE]\n");
        return 2;
    }
    r.log = fopen(log, "a");
    r.seen = json_object();
    r.base = event_base_new();
    struct evhttp *http = evhttp_new(r.base);
    if (!r.log || !r.base || !http || evhttp_bind_socket(http, "127.0.0.1", (unsigned short)port)) {
        fprintf(stderr, "gateway_receiver: cannot listen on 127.0.0.1:%d\n", port);
        return 1;
    }
    evhttp_set_gencb(http, on_request, &r);
    struct event *s1 = evsignal_new(r.base, SIGTERM, on_signal, &r);
    struct event *s2 = evsignal_new(r.base, SIGINT, on_signal, &r);
    event_add(s1, NULL);
    event_add(s2, NULL);
    if (ready) {
        FILE *f = fopen(ready, "w");
        if (f) {
            fputs("ready\n", f);
            fclose(f);
        }
    }
    event_base_dispatch(r.base);
    event_free(s1);
    event_free(s2);
    evhttp_free(http);
    event_base_free(r.base);
    json_decref(r.seen);
    fclose(r.log);
    return 0;
}
