/*
 * ingest's SMTP/LMTP listener: sockets, limits and the glue between
 * smtp_session (the protocol, pure) and mail_deliver (what a message
 * becomes). See mail_listener.h for why it lives in ingest.
 *
 * Each connection is a bufferevent on ingest's loop with its session. Input
 * is given to the session until it needs a decision: MAIL FROM is checked
 * against the client address's rate (ingest.mail_rate_per_minute, a fixed
 * one-minute window per address in a small table, 450 4.7.0 past it), RCPT
 * TO against the mailbox map and the policies of the moment (550 5.1.1 for
 * an address that is not a mailbox; 451 4.3.5 for a mailbox whose case type
 * the organisation does not take, or which the gateways file does not let
 * "mail" write for: our configuration, so the MTA keeps the mail), and a
 * complete message is parsed once (mail_message.h) and delivered per
 * recipient. While a message waits for Kafka the connection reads nothing
 * more, so pipelined commands wait their turn and a client cannot queue
 * unbounded input; its replies are sent when the session's input stops.
 *
 * Limits: ingest.mail_max_connections (past it a client gets 421 4.7.0 and
 * is closed at once), ingest.mail_command_timeout_ms between commands and
 * ingest.mail_data_timeout_ms for a message's data (421 4.4.2 and close);
 * no timer runs while a message waits for its answer (the pipeline bounds
 * that: ingest.answer_timeout_ms, then 451). The message size and recipient
 * count are the session's.
 *
 * A client that goes away while its message is being written leaves the
 * connection behind until the last answer arrives (the answers then go
 * nowhere; the MTA retries and the claim answers the retry).
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "charter/errors.h"
#include "charter/policy.h"
#include "charter/policy_store.h"
#include "charter/timeutil.h"
#include "ingest.h"
#include "mail_deliver.h"
#include "mail_listener.h"
#include "mailboxes.h"
#include "smtp_session.h"

#define RATE_SLOTS 1024
#define READ_CHUNK 65536

typedef struct {
    char ip[48];
    int64_t window; /* minute number */
    int64_t count;
} rate_slot;

typedef struct conn conn;

struct ingest_mail_srv {
    ingest *in;
    ingest_mail_metrics mm;
    ingest_mailboxes *boxes;
    struct evconnlistener *lev;
    smtp_limits lim;
    char hostname[256];
    char source[16];
    char *own_buf; /* own domains, split in place */
    const char *own[16];
    size_t nown;
    conn *head;
    size_t nconns;
    rate_slot rates[RATE_SLOTS];
};

typedef struct {
    conn *c;
    int code;
    char text[200];
    int done;
} answer_slot;

struct conn {
    struct ingest_mail_srv *srv;
    struct bufferevent *bev; /* NULL once the client is gone */
    struct event *timer;
    smtp_session *s;
    char peer[48];
    conn *prev, *next;
    int in_pump, closing, was_in_data;

    ingest_mail_rcpt *rcpts; /* accepted, in the session's order */
    size_t nrcpt, rcpt_cap;
    ingest_mail msg;
    answer_slot *slots;
    size_t pending; /* answers still to come */
};

static const ch_metric_def mail_metrics[] = {
    CH_COUNTER(ingest_mail_metrics, m_messages, "charter_ingest_mail_messages_total",
               "messages received by the mail listener, once per accepted recipient"),
    CH_COUNTER(ingest_mail_metrics, m_contacts, "charter_ingest_mail_contacts_total",
               "mail that became a new contact (confirmed on Kafka)"),
    CH_COUNTER(ingest_mail_metrics, m_replies, "charter_ingest_mail_replies_total",
               "mail that joined its case as a customer message (confirmed on Kafka)"),
    CH_COUNTER(ingest_mail_metrics, m_ignored, "charter_ingest_mail_ignored_total",
               "mail answered 250 without a case: automatic replies, list mail, loops, delivery "
               "reports not about a notice, other mail from the null sender"),
    CH_COUNTER(ingest_mail_metrics, m_bounces, "charter_ingest_mail_bounces_total",
               "bounces of Charter's notices written as delivery receipts"),
    CH_COUNTER(ingest_mail_metrics, m_invalid, "charter_ingest_mail_invalid_total",
               "mail refused (554) as unreadable or invalid"),
    CH_COUNTER(ingest_mail_metrics, m_refused, "charter_ingest_mail_refused_total",
               "refusals before the data: unknown recipients (550), rate limit (450), too many "
               "connections (421)"),
    CH_COUNTER(ingest_mail_metrics, m_deferred, "charter_ingest_mail_deferred_total",
               "mail answered 451 (Kafka, Redis or configuration): the sending MTA retries"),
    CH_GAUGE(ingest_mail_metrics, m_connections, "charter_ingest_mail_connections",
             "SMTP/LMTP connections open"),
};

/* ---- configuration ---- */

static int
split_listen(const char *text, char *host, size_t hostsz, int *port)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text || (size_t)(colon - text) >= hostsz)
        return -1;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 1 || p > 65535)
        return -1;
    const char *h = text;
    size_t n = (size_t)(colon - text);
    if (h[0] == '[' && n > 2 && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    memcpy(host, h, n);
    host[n] = '\0';
    *port = (int)p;
    return 0;
}

int
ingest_mail_listen_validate(const char *text, char *errstr, size_t errstr_size)
{
    char host[128];
    int port;
    if (!*text || split_listen(text, host, sizeof(host), &port) == 0)
        return 0;
    snprintf(errstr, errstr_size, "'%.80s' is not host:port (e.g. 127.0.0.1:2525)", text);
    return CH_EINVAL;
}

int
ingest_mail_protocol_validate(const char *text, char *errstr, size_t errstr_size)
{
    if (!strcmp(text, "smtp") || !strcmp(text, "lmtp"))
        return 0;
    snprintf(errstr, errstr_size, "'%.40s' is not smtp or lmtp", text);
    return CH_EINVAL;
}

/* ---- connections ---- */

static void pump(conn *c);

static void
conn_free(conn *c)
{
    struct ingest_mail_srv *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else if (srv->head == c)
        srv->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nconns--;
    ch_metric_set(srv->mm.m_connections, (double)srv->nconns);
    if (c->timer)
        event_free(c->timer);
    if (c->bev)
        bufferevent_free(c->bev);
    ingest_mail_free(&c->msg);
    free(c->slots);
    free(c->rcpts);
    smtp_session_free(c->s);
    free(c);
}

/* The client is gone or done: free now, or when the last answer comes. */
static void
conn_drop(conn *c)
{
    if (c->bev) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
    if (c->timer)
        event_del(c->timer);
    if (!c->pending)
        conn_free(c);
}

static void
flush(conn *c)
{
    size_t n;
    const char *out = smtp_session_output(c->s, &n);
    if (n && c->bev)
        bufferevent_write(c->bev, out, n);
    smtp_session_output_clear(c->s);
    if (smtp_session_closed(c->s) && !c->closing && c->bev) {
        c->closing = 1;
        bufferevent_disable(c->bev, EV_READ);
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
            conn_drop(c);
    }
}

static void
arm_timer(conn *c)
{
    if (!c->bev || c->closing)
        return;
    if (c->pending) {
        event_del(c->timer);
        return;
    }
    int in_data = smtp_session_in_data(c->s);
    if (in_data && c->was_in_data)
        return; /* the data's deadline runs from its start */
    c->was_in_data = in_data;
    const ingest_mail_config *cfg = &c->srv->in->cfg->mail;
    int64_t ms = in_data ? cfg->data_timeout_ms : cfg->command_timeout_ms;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    event_add(c->timer, &tv);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn *c = arg;
    char text[320];
    snprintf(text, sizeof(text), "421 4.4.2 %s Error: timeout exceeded", c->srv->hostname);
    smtp_session_close(c->s, text);
    flush(c);
}

/* ---- decisions ---- */

static void
on_mail(conn *c)
{
    struct ingest_mail_srv *srv = c->srv;
    c->nrcpt = 0;
    int64_t minute = ch_time_now_ms() / 60000;
    rate_slot *slot = NULL, *oldest = &srv->rates[0];
    for (size_t i = 0; i < RATE_SLOTS && !slot; i++) {
        rate_slot *r = &srv->rates[i];
        if (r->ip[0] && strcmp(r->ip, c->peer) == 0)
            slot = r;
        else if (r->window < oldest->window)
            oldest = r;
    }
    if (!slot) {
        slot = oldest;
        snprintf(slot->ip, sizeof(slot->ip), "%s", c->peer);
        slot->window = minute;
        slot->count = 0;
    }
    if (slot->window != minute) {
        slot->window = minute;
        slot->count = 0;
    }
    if (++slot->count > srv->in->cfg->mail.rate_per_minute) {
        ch_metric_add(srv->mm.m_refused, 1);
        if (slot->count == srv->in->cfg->mail.rate_per_minute + 1)
            CH_LOG_WARN(ch_runtime_log(srv->in->rt),
                        "a mail client passed ingest.mail_rate_per_minute; its mail is deferred "
                        "(450) for the rest of the minute",
                        CH_STR("client", c->peer));
        smtp_session_answer(c->s, 450, "4.7.0 Too many messages from your address; try later");
        return;
    }
    smtp_session_answer(c->s, 250, NULL);
}

static void
on_rcpt(conn *c)
{
    struct ingest_mail_srv *srv = c->srv;
    ingest *in = srv->in;
    const char *addr = smtp_session_pending_rcpt(c->s);
    ingest_mail_rcpt r;
    memset(&r, 0, sizeof(r));
    snprintf(r.address, sizeof(r.address), "%s", addr);
    for (char *p = r.address; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    const ch_org_clocks *org = NULL;
    if (ingest_mailboxes_find(srv->boxes, r.address, r.org, sizeof(r.org), r.case_type,
                              sizeof(r.case_type)))
        org = ch_org_set_find(ch_runtime_orgs(in->rt), r.org);
    if (!org) {
        ch_metric_add(srv->mm.m_refused, 1);
        smtp_session_answer(c->s, 550, "5.1.1 No such mailbox here");
        return;
    }
    const char *why = NULL;
    if (!ch_policy_case_type_known(&org->policy, r.case_type))
        why = "the mailbox's case type is not one the organisation's policy takes";
    else if (!ch_gateways_org_allowed(in->gateways, INGEST_MAIL_GATEWAY, org->policy.id))
        why = "the gateways file does not let gateway \"mail\" write for the organisation";
    if (why) {
        ch_metric_add(srv->mm.m_deferred, 1);
        CH_LOG_WARN(ch_runtime_log(in->rt), "a mailbox cannot take mail; deferring it (451)",
                    CH_STR("why", why), CH_STR("mailbox", r.address), CH_STR("organisation", r.org),
                    CH_STR("case_type", r.case_type));
        smtp_session_answer(c->s, 451, "4.3.5 This mailbox is not set up correctly; try later");
        return;
    }
    if (c->nrcpt == c->rcpt_cap) {
        size_t cap = c->rcpt_cap ? c->rcpt_cap * 2 : 4;
        ingest_mail_rcpt *n = realloc(c->rcpts, cap * sizeof(*n));
        if (!n) {
            smtp_session_answer(c->s, 452, "4.3.1 Out of memory");
            return;
        }
        c->rcpts = n;
        c->rcpt_cap = cap;
    }
    size_t before = smtp_session_rcpt_count(c->s);
    smtp_session_answer(c->s, 250, NULL);
    if (smtp_session_rcpt_count(c->s) > before)
        c->rcpts[c->nrcpt++] = r;
}

/* Every recipient has its answer: send them (LMTP) or the one (SMTP). */
static void
message_answered(conn *c)
{
    size_t n = c->nrcpt;
    if (c->srv->lim.mode == SMTP_MODE_LMTP) {
        for (size_t i = 0; i < n; i++)
            smtp_session_answer(c->s, c->slots[i].code, c->slots[i].text);
    } else {
        /* one answer: 451 if any recipient must be retried (the claim makes
         * the retry harmless for the others), else 250 if any took it */
        const answer_slot *pick = NULL;
        for (size_t i = 0; i < n && !pick; i++)
            if (c->slots[i].code >= 400 && c->slots[i].code < 500)
                pick = &c->slots[i];
        for (size_t i = 0; i < n && !pick; i++)
            if (c->slots[i].code < 400)
                pick = &c->slots[i];
        if (!pick)
            pick = &c->slots[0];
        smtp_session_answer(c->s, pick->code, pick->text);
    }
    ingest_mail_free(&c->msg);
    free(c->slots);
    c->slots = NULL;
    c->nrcpt = 0;
}

/* One answer fewer to wait for; the last sends them and reads on. */
static void
answer_one(conn *c)
{
    if (--c->pending)
        return;
    if (!c->bev) {
        conn_free(c);
        return;
    }
    message_answered(c);
    if (!c->in_pump) {
        bufferevent_enable(c->bev, EV_READ);
        pump(c);
    }
}

static void
on_answer(void *arg, int code, const char *text)
{
    answer_slot *slot = arg;
    slot->code = code;
    snprintf(slot->text, sizeof(slot->text), "%s", text);
    slot->done = 1;
    answer_one(slot->c);
}

static void
on_message(conn *c)
{
    struct ingest_mail_srv *srv = c->srv;
    size_t len;
    const char *raw = smtp_session_message(c->s, &len);
    size_t n = c->nrcpt;
    char err[256];
    if (n == 0 || n != smtp_session_rcpt_count(c->s) ||
        !(c->slots = calloc(n, sizeof(*c->slots)))) {
        for (size_t i = 0; i < smtp_session_rcpt_count(c->s); i++)
            smtp_session_answer(c->s, 451, "4.3.0 Internal error; try again later");
        return;
    }
    if (ingest_mail_parse(raw, len, srv->own, srv->nown, &c->msg, err, sizeof(err)) != 0) {
        CH_LOG_WARN(ch_runtime_log(srv->in->rt), "a message could not be parsed",
                    CH_STR("error", err));
        free(c->slots);
        c->slots = NULL;
        for (size_t i = 0; i < n; i++)
            smtp_session_answer(c->s, 451, "4.3.0 The message could not be read now; try later");
        return;
    }
    c->pending = n + 1; /* the extra one is released below, after every start */
    if (c->bev)
        bufferevent_disable(c->bev, EV_READ);
    for (size_t i = 0; i < n; i++) {
        c->slots[i].c = c;
        ingest_mail_deliver(srv->in, &srv->mm, &c->msg, raw, len, smtp_session_sender(c->s),
                            &c->rcpts[i], srv->source, on_answer, &c->slots[i]);
    }
    answer_one(c);
}

static void
pump(conn *c)
{
    if (!c->bev)
        return;
    c->in_pump = 1;
    struct evbuffer *input = bufferevent_get_input(c->bev);
    while (!c->pending && !smtp_session_closed(c->s)) {
        size_t len = evbuffer_get_length(input);
        if (len == 0)
            break;
        size_t n = len > READ_CHUNK ? READ_CHUNK : len;
        const char *p = (const char *)evbuffer_pullup(input, (ev_ssize_t)n);
        smtp_event ev;
        size_t used = smtp_session_input(c->s, p, n, &ev);
        evbuffer_drain(input, used);
        switch (ev) {
        case SMTP_EV_MAIL:
            on_mail(c);
            break;
        case SMTP_EV_RCPT:
            on_rcpt(c);
            break;
        case SMTP_EV_MESSAGE:
            on_message(c);
            break;
        default:
            break;
        }
        if (ev == SMTP_EV_NONE && used == 0)
            break;
    }
    c->in_pump = 0;
    if (!c->pending && c->bev && !smtp_session_closed(c->s))
        bufferevent_enable(c->bev, EV_READ);
    arm_timer(c);
    flush(c);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    pump(arg);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        conn_drop(c);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    conn *c = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        conn_drop(c);
}

static void
on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int socklen,
          void *arg)
{
    (void)lev;
    (void)socklen;
    struct ingest_mail_srv *srv = arg;
    if (srv->nconns >= (size_t)srv->in->cfg->mail.max_connections) {
        static const char busy[] = "421 4.7.0 Too many connections; try again later\r\n";
        ch_metric_add(srv->mm.m_refused, 1);
        (void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        evutil_closesocket(fd);
        return;
    }
    conn *c = calloc(1, sizeof(*c));
    struct event_base *base = ch_runtime_base(srv->in->rt);
    if (!c || !(c->s = smtp_session_new(&srv->lim)) ||
        !(c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE)) ||
        !(c->timer = evtimer_new(base, on_timeout, c))) {
        if (c && c->bev)
            bufferevent_free(c->bev);
        else
            evutil_closesocket(fd);
        if (c)
            smtp_session_free(c->s);
        free(c);
        return;
    }
    c->srv = srv;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, c->peer, sizeof(c->peer));
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, c->peer, sizeof(c->peer));
    c->next = srv->head;
    if (srv->head)
        srv->head->prev = c;
    srv->head = c;
    srv->nconns++;
    ch_metric_set(srv->mm.m_connections, (double)srv->nconns);
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    arm_timer(c);
    flush(c); /* the greeting */
}

/* ---- start, reload, stop ---- */

static int
load_boxes(struct ingest_mail_srv *srv, ingest_mailboxes **out, char *errstr, size_t errstr_size)
{
    const char *path = srv->in->cfg->mail.mailboxes;
    if (!path || !*path) {
        snprintf(errstr, errstr_size,
                 "ingest.mail_listen is set but ingest.mailboxes is not: name the file that maps "
                 "mailbox addresses to organisations (docs/gateways.md, E-mail)");
        return CH_EINVAL;
    }
    return ingest_mailboxes_load(path, out, errstr, errstr_size);
}

int
ingest_mail_start(ingest *in, char *errstr, size_t errstr_size)
{
    const ingest_mail_config *cfg = &in->cfg->mail;
    if (!cfg->listen || !*cfg->listen)
        return 0;
    if (!ch_gateways_has(in->gateways, INGEST_MAIL_GATEWAY)) {
        snprintf(errstr, errstr_size,
                 "ingest.mail_listen is set but the gateways file (ingest.gateways_file) has no "
                 "line for gateway \"mail\": add \"mail orgs=ORG,...\" naming the organisations "
                 "mail may write for (no keys needed)");
        return CH_EINVAL;
    }
    struct ingest_mail_srv *srv = calloc(1, sizeof(*srv));
    if (!srv) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    srv->in = in;
    in->mail = srv;
    int rc = ch_metrics_register(in->rt, mail_metrics, CH_COUNTOF(mail_metrics), &srv->mm);
    if (rc == 0)
        rc = load_boxes(srv, &srv->boxes, errstr, errstr_size);
    if (rc != 0)
        goto err;
    if (gethostname(srv->hostname, sizeof(srv->hostname) - 1) != 0 || !srv->hostname[0])
        snprintf(srv->hostname, sizeof(srv->hostname), "charter");
    srv->lim.mode = strcmp(cfg->protocol, "lmtp") == 0 ? SMTP_MODE_LMTP : SMTP_MODE_SMTP;
    srv->lim.hostname = srv->hostname;
    srv->lim.max_bytes = (size_t)cfg->max_bytes;
    srv->lim.max_recipients = (size_t)cfg->max_recipients;
    snprintf(srv->source, sizeof(srv->source), "%s:" INGEST_MAIL_GATEWAY, cfg->protocol);
    if (!(srv->own_buf = strdup(cfg->own_domains ? cfg->own_domains : ""))) {
        rc = CH_ENOMEM;
        snprintf(errstr, errstr_size, "out of memory");
        goto err;
    }
    char *save = NULL;
    for (char *t = strtok_r(srv->own_buf, " \t,", &save); t && srv->nown < 16;
         t = strtok_r(NULL, " \t,", &save))
        srv->own[srv->nown++] = t;

    char host[128];
    int port;
    struct sockaddr_storage ss;
    int sslen = sizeof(ss);
    char hp[160];
    split_listen(cfg->listen, host, sizeof(host), &port);
    snprintf(hp, sizeof(hp), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    if (evutil_parse_sockaddr_port(hp, (struct sockaddr *)&ss, &sslen) != 0) {
        snprintf(errstr, errstr_size,
                 "ingest.mail_listen '%s': the host must be an IP address (e.g. 127.0.0.1:2525)",
                 cfg->listen);
        rc = CH_EINVAL;
        goto err;
    }
    srv->lev =
        evconnlistener_new_bind(ch_runtime_base(in->rt), on_accept, srv,
                                LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                                128, (struct sockaddr *)&ss, sslen);
    if (!srv->lev) {
        snprintf(errstr, errstr_size, "ingest.mail_listen %s: cannot listen: %s", cfg->listen,
                 strerror(errno));
        rc = CH_EIO;
        goto err;
    }
    ingest_mail_global_init();
    CH_LOG_INFO(ch_runtime_log(in->rt), "mail listener ready", CH_STR("listen", cfg->listen),
                CH_STR("protocol", cfg->protocol), CH_STR("mailboxes", cfg->mailboxes),
                CH_INT("mailbox_lines", ingest_mailboxes_count(srv->boxes)));
    return 0;
err:
    ingest_mailboxes_free(srv->boxes);
    free(srv->own_buf);
    free(srv);
    in->mail = NULL;
    return rc;
}

void
ingest_mail_reload(void *svc)
{
    ingest *in = svc;
    struct ingest_mail_srv *srv = in->mail;
    if (!srv)
        return;
    char errstr[512];
    ingest_mailboxes *boxes = NULL;
    if (load_boxes(srv, &boxes, errstr, sizeof(errstr)) != 0) {
        CH_LOG_WARN(ch_runtime_log(in->rt), "mailboxes reload refused; keeping the running map",
                    CH_STR("error", errstr));
        return;
    }
    ingest_mailboxes_free(srv->boxes);
    srv->boxes = boxes;
    CH_LOG_INFO(ch_runtime_log(in->rt), "mailboxes reloaded",
                CH_INT("mailbox_lines", ingest_mailboxes_count(boxes)));
}

void
ingest_mail_fini(ingest *in)
{
    struct ingest_mail_srv *srv = in->mail;
    if (!srv)
        return;
    evconnlistener_free(srv->lev);
    int busy = 0;
    conn *next;
    for (conn *c = srv->head; c; c = next) {
        next = c->next;
        if (c->pending) {
            busy = 1; /* its answers may still come: left to them */
            if (c->bev) {
                bufferevent_free(c->bev);
                c->bev = NULL;
            }
            if (c->timer)
                event_del(c->timer);
        } else {
            conn_free(c);
        }
    }
    ingest_mail_global_fini();
    in->mail = NULL;
    if (busy)
        return; /* srv outlives the process's last callbacks */
    ingest_mailboxes_free(srv->boxes);
    free(srv->own_buf);
    free(srv);
}
