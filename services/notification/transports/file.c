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
 *
 * The lines hold names, addresses and the messages, so the folder is made
 * 0700 and each file 0600 (an older file found wider is narrowed when next
 * written). The current file keeps its name, which tools and tests read;
 * before a write that would take it past notify.outbox_rotate_bytes, or the
 * first write on a later UTC day than its last, it is renamed to
 * <organisation>.<UTC stamp>.jsonl, and rotated files of that organisation
 * last written more than notify.outbox_keep_days ago are deleted then. Each
 * line is a whole open-append-close, so several instances may share the
 * folder: a rotation by one is seen by the next write of the other.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "charter/errors.h"
#include "charter/runtime.h"
#include "charter/sms.h"
#include "charter/timeutil.h"
#include "transport.h"

typedef struct {
    char *outbox_dir;
    int64_t rotate_bytes;
    int rotate_daily;
    int64_t keep_days;
} file_config;

static const ch_config_entry file_keys[] = {
    CH_CFG_STR(file_config, outbox_dir, "notify.outbox_dir", "var/outbox",
               "directory of the development file sink: one <organisation>.jsonl per "
               "organisation (folder 0700, files 0600)"),
    CH_CFG_INT(file_config, rotate_bytes, "notify.outbox_rotate_bytes", "16777216",
               "an outbox file about to grow past this many bytes is first renamed to "
               "<organisation>.<UTC stamp>.jsonl; 0: never by size",
               0, INT64_C(1) << 40),
    CH_CFG_BOOL(file_config, rotate_daily, "notify.outbox_rotate_daily", "true",
                "the first line of a UTC day starts a new outbox file (the previous day's is "
                "renamed as for notify.outbox_rotate_bytes)"),
    CH_CFG_INT(file_config, keep_days, "notify.outbox_keep_days", "30",
               "rotated outbox files last written more than this many days ago are deleted "
               "at the organisation's next rotation; 0: kept until you delete them",
               0, 36500),
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

/* Deletes org's rotated files (<org>.<stamp>.jsonl) last written before
 * cutoff (seconds since the epoch). Best effort: a file that cannot be
 * deleted stays for the next rotation. */
static void
expire_rotated(const char *dir, const char *org, time_t cutoff)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t olen = strlen(org);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        const char *stamp = e->d_name + olen + 1; /* 20261205T120000-123Z */
        if (n != olen + 27 || strncmp(e->d_name, org, olen) != 0 || e->d_name[olen] != '.' ||
            strcmp(e->d_name + n - 6, ".jsonl") != 0 || strspn(stamp, "0123456789") != 8 ||
            stamp[8] != 'T' || stamp[15] != '-' || stamp[19] != 'Z')
            continue;
        char path[1400];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && st.st_mtime < cutoff)
            unlink(path);
    }
    closedir(d);
}

/* Renames the current file of org aside when adding `adding` bytes would
 * pass the size limit or it was last written on an earlier UTC day. Errors
 * other than the file being gone are the caller's (-1, errno set). */
static int
rotate_if_due(const file_config *cfg, const char *path, const char *org, size_t adding,
              int64_t now_ms)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    time_t now = (time_t)(now_ms / 1000);
    int by_size = cfg->rotate_bytes > 0 && st.st_size > 0 &&
                  (int64_t)st.st_size + (int64_t)adding > cfg->rotate_bytes;
    int by_day = cfg->rotate_daily && st.st_size > 0 && st.st_mtime / 86400 < now / 86400;
    if (!by_size && !by_day)
        return 0;
    struct tm tm;
    gmtime_r(&now, &tm);
    char rotated[1400];
    snprintf(rotated, sizeof(rotated), "%s/%s.%04d%02d%02dT%02d%02d%02d-%03dZ.jsonl",
             cfg->outbox_dir, org, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)(now_ms % 1000));
    if (rename(path, rotated) != 0 && errno != ENOENT)
        return -1;
    if (cfg->keep_days > 0)
        expire_rotated(cfg->outbox_dir, org, now - (time_t)(cfg->keep_days * 86400));
    return 0;
}

/* Appends text and a newline to path (created 0600, narrowed to 0600 if
 * wider), fsynced. 0 or CH_EIO (errno set). */
static int
append(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return CH_EIO;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0 || ((st.st_mode & 077) && fchmod(fd, 0600) != 0))
        rc = CH_EIO;
    FILE *f = rc == 0 ? fdopen(fd, "a") : NULL;
    if (!f || fprintf(f, "%s\n", text) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = CH_EIO;
    int e = errno;
    if (f)
        fclose(f);
    else
        close(fd);
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
    int rc = rotate_if_due(cfg, path, m->organisation, strlen(text) + 1, ch_time_now_ms()) != 0
                 ? CH_EIO
                 : append(path, text);
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
    if (mkdir(cfg->outbox_dir, 0700) != 0 && errno != EEXIST) {
        snprintf(errstr, errstr_size, "notify.outbox_dir %s cannot be created: %s", cfg->outbox_dir,
                 strerror(errno));
        return CH_EIO;
    }
    int rc =
        notify_transport_ctx_new(tctx, sizeof(notify_transport_ctx), cfg, rt, errstr, errstr_size);
    struct stat st;
    if (rc == 0 && stat(cfg->outbox_dir, &st) == 0 && (st.st_mode & 077))
        CH_LOG_WARN(ch_runtime_log(rt),
                    "notify.outbox_dir can be read by other users; its files are 0600, but "
                    "make the folder 0700 (chmod 700)",
                    CH_STR("dir", cfg->outbox_dir));
    return rc;
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
