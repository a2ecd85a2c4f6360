/*
 * The development file sink (letters may come here too, with
 * notify.letter.transport=file; by default they go to the print queue,
 * print.c): one JSON line
 * per message in <notify.outbox_dir>/<organisation>.jsonl, fsynced before it
 * counts as sent. The line is the message's fields plus what render.c put
 * in its meta (dates, the staff role), so a developer can read what would
 * have gone out. A repeat after a crash writes the same notification_id
 * again, which is harmless for a file a developer reads. It carries every
 * channel and addresses staff by role.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "charter/errors.h"
#include "charter/runtime.h"
#include "charter/sms.h"
#include "charter/timeutil.h"
#include "transport.h"

typedef struct {
    char *outbox_dir;
} file_config;

static const ch_config_entry file_keys[] = {
    CH_CFG_STR(file_config, outbox_dir, "notify.outbox_dir", "var/outbox",
               "directory of the development file sink: one <organisation>.jsonl per "
               "organisation"),
};

/* The line for m: its fields, then its meta's on top. */
static json_t *
record_of(const notify_message *m)
{
    json_t *line = json_object();
    json_object_set_new(line, "notification_id", json_string(m->id));
    json_object_set_new(line, "kind", json_string(m->kind_name));
    json_object_set_new(line, "case_id", json_string(m->case_id));
    json_object_set_new(line, "organisation", json_string(m->organisation));
    json_object_set_new(line, "reference", json_string(m->reference));
    json_object_set_new(line, "channel", json_string(m->channel));
    json_object_set_new(line, "language", json_string(m->language));
    json_object_set_new(line, "to", json_string(m->to));
    json_object_set_new(line, "subject", json_string(m->subject));
    json_object_set_new(line, "text", json_string(m->body));
    ch_sms_measure sms;
    if (strcmp(m->channel, "sms") == 0 && ch_sms_measure_text(m->body, &sms) == 0) {
        json_object_set_new(line, "sms_encoding",
                            json_string(sms.encoding == CH_SMS_GSM7 ? "gsm7" : "ucs2"));
        json_object_set_new(line, "sms_parts", json_integer((json_int_t)sms.parts));
    }
    json_t *meta = m->meta[0] ? json_loads(m->meta, 0, NULL) : NULL;
    if (json_is_object(meta))
        json_object_update(line, meta);
    json_decref(meta);
    json_object_set_new(line, "transport", json_string("file"));
    char now[CH_TIME_BUFSZ];
    ch_time_format_utc(ch_time_now_ms(), now, sizeof(now));
    json_object_set_new(line, "written_at", json_string(now));
    return line;
}

/* Appends text and a newline to path, fsynced. 0 or CH_EIO (errno set). */
static int
append(const char *path, const char *text)
{
    FILE *f = fopen(path, "a");
    int rc = 0;
    if (!f || fprintf(f, "%s\n", text) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = CH_EIO;
    int e = errno;
    if (f)
        fclose(f);
    errno = e;
    return rc;
}

static int
file_send(void *tctx, const notify_message *m, notify_reply reply)
{
    notify_transport_ctx *fs = tctx;
    const file_config *cfg = fs->cfg;
    if (!notify_organisation_path_ok(m->organisation)) {
        notify_reply_sent(reply, NOTIFY_PERM, -1, "the organisation id cannot name an outbox file");
        return 0;
    }
    json_t *line = record_of(m);
    char *text = json_dumps(line, JSON_COMPACT);
    json_decref(line);
    if (!text)
        return CH_ENOMEM;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s.jsonl", cfg->outbox_dir, m->organisation);
    int rc = append(path, text);
    free(text);
    if (rc != 0)
        CH_LOG_ERROR(ch_runtime_log(fs->rt), "outbox write failed", CH_STR("path", path),
                     CH_ERRNO(errno));
    notify_reply_sent(reply, rc == 0 ? NOTIFY_SENT : NOTIFY_TEMP, -1,
                      rc == 0 ? "" : "outbox write failed");
    return 0;
}

static int
file_init(void **tctx, const void *config, ch_runtime *rt, char *errstr, size_t errstr_size)
{
    const file_config *cfg = config;
    if (mkdir(cfg->outbox_dir, 0750) != 0 && errno != EEXIST) {
        snprintf(errstr, errstr_size, "notify.outbox_dir %s cannot be created: %s", cfg->outbox_dir,
                 strerror(errno));
        return CH_EIO;
    }
    return notify_transport_ctx_new(tctx, sizeof(notify_transport_ctx), cfg, rt, errstr,
                                    errstr_size);
}

const notify_transport notify_transport_file = {
    .name = "file",
    .channels =
        NOTIFY_CH_EMAIL | NOTIFY_CH_SMS | NOTIFY_CH_SOCIAL | NOTIFY_CH_LETTER | NOTIFY_CH_OTHER,
    .staff_by_role = 1,
    NOTIFY_TRANSPORT_CONFIG(file_keys, file_config),
    .check = notify_transport_no_check,
    .init = file_init,
    .send = file_send,
    .fini = free,
};
