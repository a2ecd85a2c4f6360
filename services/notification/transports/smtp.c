/*
 * Email over SMTP with libcurl (smtp:// or smtps://; STARTTLS required when
 * notify.smtp.starttls is on; AUTH when a user name is set, and start-up
 * refuses AUTH without TLS unless notify.smtp.allow_plaintext_auth says so).
 *
 * The one unsafe moment is the end of the message: once "<CRLF>.<CRLF>"
 * reaches the server it delivers, whether or not we hear its answer. So the
 * body is handed to curl up to that mark, then the read callback pauses the
 * transfer while the queue records "committed" (notify_commit_fn), and only
 * then lets curl finish. A crash before that leaves "queued" (nothing
 * delivered: send again); after it, "committed": the next attempt comes with
 * notify_message.committed and is reported as unknown, or resent when
 * notify.smtp.resend_unknown says the receiver drops a repeated Message-ID.
 * A definite 4xx or 5xx answer is believed either way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/mailbox.h"
#include "charter/runtime.h"
#include "charter/timeutil.h"
#include "curl_loop.h"
#include "mime.h"
#include "retry_rules.h"
#include "transport.h"

typedef struct {
    notify_curl_config curl;
    char *username, *password, *from, *ca_file;
    int starttls, resend_unknown, allow_plaintext_auth;
} smtp_config;

static const ch_config_entry smtp_keys[] = {
    NOTIFY_CURL_CFG_URL(
        smtp_config, "smtp",
        "mail server, smtp://host:587 or smtps://host:465 (required when a channel uses smtp)"),
    CH_CFG_BOOL(smtp_config, starttls, "notify.smtp.starttls", "false",
                "require STARTTLS on smtp:// (smtps:// is TLS from the start)"),
    CH_CFG_BOOL(smtp_config, resend_unknown, "notify.smtp.resend_unknown", "false",
                "resend an email whose outcome is unknown (the end of the message may have "
                "reached the server, no answer came); only when the receiving side drops "
                "repeats of a Message-ID. false: report it to staff and do not resend"),
    CH_CFG_STR(smtp_config, username, "notify.smtp.username", "", "SMTP AUTH user; empty: no AUTH"),
    CH_CFG_STR(smtp_config, password, "notify.smtp.password", "", "SMTP AUTH password"),
    CH_CFG_BOOL(smtp_config, allow_plaintext_auth, "notify.smtp.allow_plaintext_auth", "false",
                "let AUTH (notify.smtp.username) go over smtp:// without STARTTLS, password and "
                "mail in clear; only for a relay on the same host. false: start-up refuses it"),
    CH_CFG_STR(smtp_config, from, "notify.smtp.from", "",
               "envelope and From: address, e.g. noreply@council.example (required with smtp)"),
    CH_CFG_STR(smtp_config, ca_file, "notify.smtp.ca_file", "",
               "CA bundle for the mail server's certificate; empty: the system's"),
    NOTIFY_CURL_CFG_LIMITS(smtp_config, "smtp", "30000", "one SMTP conversation",
                           "emails a second through SMTP (a token bucket of one second's worth)"),
};

enum { COMMIT_NONE, COMMIT_RECORDING, COMMIT_RECORDED, COMMIT_FAILED };

/* One message on its way. */
typedef struct {
    notify_curl_send base;
    notify_curl_transport *s;
    size_t len, off;  /* of base.payload sent */
    int data_done;    /* the end of data may have reached the server */
    int commit_state; /* COMMIT_* */
    int in_commit;    /* inside commit(): resume must not unpause */
    int deferred;     /* the transfer ended while "committed" was being recorded */
    CURLcode deferred_rc;
    long deferred_code;
} smtp_send;

static void
finish(smtp_send *a, CURLcode rc, long code)
{
    notify_result r = notify_classify_smtp(rc == CURLE_OK, code, a->data_done);
    const smtp_config *cfg = a->s->base.cfg;
    if (r == NOTIFY_UNKNOWN && cfg->resend_unknown)
        r = NOTIFY_TEMP; /* the receiver drops a repeated Message-ID */
    char why[300];
    if (r == NOTIFY_SENT)
        why[0] = '\0';
    else if (code)
        snprintf(why, sizeof(why), "SMTP %ld (%s)", code, curl_easy_strerror(rc));
    else
        snprintf(why, sizeof(why), "SMTP: %s", curl_easy_strerror(rc));
    notify_curl_send_end(&a->base, r, -1, why);
}

/* notify_resume_fn: the queue has (or could not) put "committed" on record. */
static void
resume(void *attempt, int recorded)
{
    smtp_send *a = attempt;
    a->commit_state = recorded ? COMMIT_RECORDED : COMMIT_FAILED;
    if (a->in_commit) /* read_body goes on by itself */
        return;
    if (a->deferred) { /* the transfer ended (timeout) while this was on its way */
        finish(a, a->deferred_rc, a->deferred_code);
        return;
    }
    /* The end-of-data mark goes out now, not on the next loop turn: the
     * time between "committed" and the mark leaving is the only window in
     * which a crash loses a message (reported as unknown), so keep it to a
     * Redis reply. a may be freed by this call. */
    notify_curl_transport *s = a->s;
    curl_easy_pause(a->base.easy, CURLPAUSE_CONT);
    notify_curl_run_now(s);
}

static size_t
read_body(char *buf, size_t size, size_t nitems, void *opaque)
{
    smtp_send *a = opaque;
    size_t room = size * nitems;
    if (a->off < a->len) {
        size_t n = a->len - a->off < room ? a->len - a->off : room;
        memcpy(buf, a->base.payload + a->off, n);
        a->off += n;
        return n;
    }
    if (a->commit_state == COMMIT_NONE) {
        a->commit_state = COMMIT_RECORDING;
        a->in_commit = 1;
        a->base.reply.commit(a->base.reply.opaque, resume, a);
        a->in_commit = 0;
    }
    switch (a->commit_state) {
    case COMMIT_RECORDING:
        return CURL_READFUNC_PAUSE;
    case COMMIT_RECORDED:
        a->data_done = 1;
        return 0;
    default:
        return CURL_READFUNC_ABORT; /* not recorded: do not end the message */
    }
}

static void
done(notify_curl_send *s, CURLcode rc, long code)
{
    smtp_send *a = (smtp_send *)s;
    if (a->commit_state == COMMIT_RECORDING) {
        a->deferred = 1;
        a->deferred_rc = rc;
        a->deferred_code = code;
        return;
    }
    finish(a, rc, code);
}

static int
smtp_send_message(void *tctx, const notify_message *m, notify_reply reply)
{
    notify_curl_transport *s = tctx;
    const smtp_config *cfg = s->base.cfg;
    if (m->committed && !cfg->resend_unknown) {
        notify_reply_sent(
            reply, NOTIFY_UNKNOWN, -1,
            "the service stopped after handing the message to the mail server and before its "
            "answer");
        return 0;
    }
    if (m->committed)
        CH_LOG_WARN(ch_runtime_log(s->base.rt),
                    "resending after an unknown outcome (notify.smtp.resend_unknown)",
                    CH_STR("case_id", m->case_id), CH_STR("kind", m->kind_name));
    if (!m->to[0]) {
        notify_reply_sent(reply, NOTIFY_PERM, -1, "no email address for the recipient");
        return 0;
    }
    /* checked at ingest too; here again because whatever is in m->to goes
     * into the SMTP dialogue as RCPT TO:<m->to> (charter/mailbox.h) */
    const char *why;
    if (!ch_mailbox_valid(m->to, &why)) {
        char reason[160];
        snprintf(reason, sizeof(reason), "the recipient is not an e-mail address: %s", why);
        notify_reply_sent(reply, NOTIFY_PERM, -1, reason);
        return 0;
    }
    smtp_send *a = (smtp_send *)notify_curl_send_new(sizeof(*a), cfg->curl.url,
                                                     cfg->curl.timeout_ms, done, reply);
    if (!a)
        return CH_ENOMEM;
    a->s = s;
    a->base.payload = notify_mime_message(cfg->from, m->to, m->subject, m->body, m->message_id,
                                          ch_time_now_ms() / 1000);
    a->len = a->base.payload ? strlen(a->base.payload) : 0;
    char addr[512], from[512];
    snprintf(addr, sizeof(addr), "<%s>", m->to);
    snprintf(from, sizeof(from), "<%s>", cfg->from);
    notify_curl_send_list_add(&a->base, addr);
    CURL *e = a->base.easy;
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, a->base.list);
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(e, CURLOPT_READDATA, a);
    if (cfg->starttls)
        curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (cfg->ca_file[0])
        curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_file);
    if (cfg->username[0]) {
        curl_easy_setopt(e, CURLOPT_USERNAME, cfg->username);
        curl_easy_setopt(e, CURLOPT_PASSWORD, cfg->password);
    }
    return notify_curl_send_start(s, &a->base);
}

static int
smtp_check(const void *config, const notify_transport_use *use, char *errstr, size_t errstr_size)
{
    const smtp_config *cfg = config;
    int rc = notify_curl_check(&cfg->curl, use, "smtp", "smtp://host:port or smtps://host:port",
                               errstr, errstr_size);
    if (rc == 0 && use->channels && !strchr(cfg->from, '@')) {
        snprintf(errstr, errstr_size,
                 "notify.smtp.from must be an address such as noreply@council.example");
        rc = CH_EINVAL;
    }
    if (rc == 0 && use->channels && cfg->username[0] && !cfg->starttls &&
        strncmp(cfg->curl.url, "smtps://", 8) != 0 && !cfg->allow_plaintext_auth) {
        snprintf(errstr, errstr_size,
                 "notify.smtp.username is set without TLS (password and mail in clear): set "
                 "notify.smtp.starttls: true or use smtps://, or, for a relay on this host only, "
                 "notify.smtp.allow_plaintext_auth: true");
        rc = CH_EINVAL;
    }
    return rc;
}

const notify_transport notify_transport_smtp = {
    .name = "smtp",
    .channels = NOTIFY_CH_EMAIL,
    NOTIFY_TRANSPORT_CONFIG(smtp_keys, smtp_config),
    .check = smtp_check,
    .send = smtp_send_message,
    NOTIFY_CURL_TRANSPORT_HOOKS,
    .rate_key = "notify.smtp.rate_per_s",
    .sender_key = "notify.smtp.from",
};
