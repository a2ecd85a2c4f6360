/*
 * Email over SMTP with libcurl (smtp:// or smtps://; STARTTLS required when
 * notify.smtp.starttls is on; AUTH when a user name is set).
 *
 * The one unsafe moment is the end of the message: once "<CRLF>.<CRLF>"
 * reaches the server it delivers, whether or not we hear its answer. So the
 * body is handed to curl up to that mark, then the read callback pauses the
 * transfer while the idempotency record is set to "committed", and only then
 * lets curl finish. A crash before that leaves "queued" (nothing delivered:
 * send again); after it, "committed" (maybe delivered: reported as unknown,
 * not resent). A definite 4xx or 5xx answer is believed either way.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/timeutil.h"
#include "curl_loop.h"
#include "notify.h"

static void
finish(notify_job *j, CURLcode rc, long code)
{
    notify_result r = notify_classify_smtp(rc == CURLE_OK, code, j->data_done);
    char why[300];
    if (r == NOTIFY_SENT)
        why[0] = '\0';
    else if (code)
        snprintf(why, sizeof(why), "SMTP %ld (%s)", code, curl_easy_strerror(rc));
    else
        snprintf(why, sizeof(why), "SMTP: %s", curl_easy_strerror(rc));
    notify_job_finished(j, r, -1, why);
}

static void
commit_recorded(void *opaque, redisReply *reply)
{
    notify_job *j = opaque;
    j->commit_state = reply && reply->type != REDIS_REPLY_ERROR ? 2 : -1;
    if (j->deferred) { /* the transfer ended (timeout) while this was on its way */
        finish(j, (CURLcode)j->deferred_rc, j->status);
        return;
    }
    /* The end-of-data mark goes out now, not on the next loop turn: the
     * time between "committed" and the mark leaving is the only window in
     * which a crash loses a message (reported as unknown), so keep it to a
     * Redis reply. j may be freed by this call. */
    notify_curl *c = j->n->curl;
    curl_easy_pause(j->easy, CURLPAUSE_CONT);
    notify_curl_run_now(c);
}

static size_t
read_body(char *buf, size_t size, size_t nitems, void *opaque)
{
    notify_job *j = opaque;
    size_t room = size * nitems;
    if (j->off < j->len) {
        size_t n = j->len - j->off < room ? j->len - j->off : room;
        memcpy(buf, j->payload + j->off, n);
        j->off += n;
        return n;
    }
    switch (j->commit_state) {
    case 0:
        j->commit_state = 1;
        if (ch_redis_command(j->n->rt, commit_recorded, j, "SET %s committed EX %d", j->idem_key,
                             NOTIFY_CLAIM_TTL_S) != 0) {
            j->commit_state = -1;
            return CURL_READFUNC_ABORT;
        }
        return CURL_READFUNC_PAUSE;
    case 1:
        return CURL_READFUNC_PAUSE;
    case 2:
        j->data_done = 1;
        return 0;
    default:
        return CURL_READFUNC_ABORT; /* not recorded: do not end the message */
    }
}

static void
smtp_done(void *opaque, CURL *easy, CURLcode rc)
{
    notify_job *j = opaque;
    long code = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    if (j->commit_state == 1) {
        j->deferred = 1;
        j->deferred_rc = (int)rc;
        j->status = code;
        return;
    }
    finish(j, rc, code);
}

int
notify_send_smtp(notify_job *j)
{
    const notify_config *cfg = j->n->cfg;
    if (!j->to[0]) {
        notify_job_finished(j, NOTIFY_PERM, -1, "no email address for the recipient");
        return 0;
    }
    char mid[256];
    notify_message_id(j->id, j->n->mail_domain, mid, sizeof(mid));
    j->payload = notify_mime_message(cfg->smtp_from, j->to, j->subject, j->body, mid,
                                     ch_time_now_ms() / 1000);
    if (!j->payload)
        return CH_ENOMEM;
    j->len = strlen(j->payload);
    char addr[512];
    snprintf(addr, sizeof(addr), "<%s>", j->to);
    j->list = curl_slist_append(NULL, addr);
    j->easy = curl_easy_init();
    if (!j->list || !j->easy)
        return CH_ENOMEM;
    CURL *e = j->easy;
    char from[512];
    snprintf(from, sizeof(from), "<%s>", cfg->smtp_from);
    curl_easy_setopt(e, CURLOPT_URL, cfg->smtp_url);
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, j->list);
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(e, CURLOPT_READDATA, j);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg->smtp_timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->smtp_timeout_ms);
    if (cfg->smtp_starttls)
        curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (cfg->smtp_ca_file[0])
        curl_easy_setopt(e, CURLOPT_CAINFO, cfg->smtp_ca_file);
    if (cfg->smtp_username[0]) {
        curl_easy_setopt(e, CURLOPT_USERNAME, cfg->smtp_username);
        curl_easy_setopt(e, CURLOPT_PASSWORD, cfg->smtp_password);
    }
    if (notify_curl_add(j->n->curl, e, smtp_done, j) != 0)
        return CH_ENOMEM;
    return 0;
}
