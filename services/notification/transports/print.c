/*
 * The print queue: a letter to a customer becomes one text file, ready to
 * print and post, in <notify.print_dir>/<organisation>/, named after the
 * notification (its '/' as '_'), which the operator collects. The file
 * starts with the postal address and the reference, then the letter. It is
 * written to a temporary name, fsynced and renamed into place, so the
 * operator never picks up half a letter, and a repeat after a crash
 * replaces the same file rather than printing it twice. A letter counts as
 * sent once its file is in the queue; a letter without a postal address is
 * refused for good (render.c sends none: it has no address to go to). It
 * carries letters only. Letters hold names and addresses: the folders are
 * made 0700 and the files 0600, for the service's user (or root) to collect.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "charter/errors.h"
#include "charter/runtime.h"
#include "transport.h"

typedef struct {
    char *print_dir;
} print_config;

static const ch_config_entry print_keys[] = {
    CH_CFG_STR(print_config, print_dir, "notify.print_dir", "var/print",
               "the print queue: one <organisation>/<notification>.txt per letter, for the "
               "operator to print and post"),
};

/* mkdir -p: 0, or -1 with errno. */
static int
make_dirs(const char *path)
{
    char p[1024];
    snprintf(p, sizeof(p), "%s", path);
    for (char *c = p + 1; *c; c++) {
        if (*c != '/')
            continue;
        *c = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST)
            return -1;
        *c = '/';
    }
    return mkdir(p, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/* Writes the whole of text to fd. 0 or -1 (errno set). */
static int
write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, text, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        text += w;
        len -= (size_t)w;
    }
    return 0;
}

/* The letter as printed: the address a line a part (", " starts a new
 * line), the reference, a blank line and the text. NULL on ENOMEM. */
static char *
letter_of(const notify_message *m)
{
    size_t n = strlen(m->to) * 2 + strlen(m->reference) + strlen(m->body) + 64;
    char *s = malloc(n), *p = s;
    if (!s)
        return NULL;
    for (const char *a = m->to; *a; a++) {
        if (a[0] == ',' && a[1] == ' ') {
            *p++ = '\n';
            a++;
        } else {
            *p++ = *a;
        }
    }
    snprintf(p, n - (size_t)(p - s), "\n\nReference: %s\n\n%s\n", m->reference, m->body);
    return s;
}

/* Puts text at path by a temporary file, fsync and rename. 0 or CH_EIO. */
static int
put_file(const char *dir, const char *path, const char *text)
{
    char tmp[1500];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return CH_EIO;
    int ok = write_all(fd, text, strlen(text)) == 0 && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return CH_EIO;
    }
    int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d >= 0) {
        fsync(d);
        close(d);
    }
    return 0;
}

static int
print_send(void *tctx, const notify_message *m, notify_reply reply)
{
    notify_transport_ctx *ps = tctx;
    const print_config *cfg = ps->cfg;
    if (!m->to[0]) {
        notify_reply_sent(reply, NOTIFY_PERM, -1, "a letter without a postal address");
        return 0;
    }
    if (!notify_organisation_path_ok(m->organisation)) {
        notify_reply_sent(reply, NOTIFY_PERM, -1, "the organisation id cannot name a folder");
        return 0;
    }
    char dir[1024], path[1400], name[256];
    snprintf(dir, sizeof(dir), "%s/%s", cfg->print_dir, m->organisation);
    snprintf(name, sizeof(name), "%s", m->id);
    for (char *c = name; *c; c++)
        if (*c == '/' || *c == '.')
            *c = '_';
    snprintf(path, sizeof(path), "%s/%s.txt", dir, name);
    char *text = letter_of(m);
    if (!text)
        return CH_ENOMEM;
    int rc = make_dirs(dir) != 0 ? CH_EIO : put_file(dir, path, text);
    free(text);
    if (rc != 0)
        CH_LOG_ERROR(ch_runtime_log(ps->rt), "print queue write failed", CH_STR("path", path),
                     CH_ERRNO(errno));
    notify_reply_sent(reply, rc == 0 ? NOTIFY_SENT : NOTIFY_TEMP, -1,
                      rc == 0 ? "" : "print queue write failed");
    return 0;
}

/* The queue's folders are made by the first letter (mkdir -p), so a
 * service that sends none needs no print_dir. */
static int
print_init(void **tctx, const void *config, ch_runtime *rt, char *errstr, size_t errstr_size)
{
    return notify_transport_ctx_new(tctx, sizeof(notify_transport_ctx), config, rt, errstr,
                                    errstr_size);
}

const notify_transport notify_transport_print = {
    .name = "print",
    .channels = NOTIFY_CH_LETTER,
    NOTIFY_TRANSPORT_CONFIG(print_keys, print_config),
    .check = notify_transport_no_check,
    .init = print_init,
    .send = print_send,
    .fini = free,
};
