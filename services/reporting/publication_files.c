/*
 * The written publications on disk: report.publication_dir/<organisation>/
 * <period>.json, the same JSON GET /v1/publication answers.
 *
 * WHY FILES
 *
 * A publication is what the organisation published for a year (or month,
 * quarter) and must outlive everything else: Kafka keeps records for weeks
 * and Redis can be lost or restored from an older backup, and figures
 * recomputed from what remains would not be the ones published. Redis stays
 * the authority while it holds a publication (it is written there once, by
 * HSETNX, so two instances agree); each publication round copies every
 * written one whose file is missing to disk, so a file is always a copy of
 * what Redis held. When Redis has lost a publication whose file exists, the
 * round puts the file's text back instead of computing the period again, so
 * the published figures never change. The files hold counts only (no
 * personal data); back the folder up with the policies.
 *
 * Files are written to a temporary name, fsynced and renamed, so a reader
 * (a web server publishing the folder, a backup) never sees half of one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "charter/errors.h"
#include "charter/fileio.h"
#include "reporting.h"
#include "store.h"

#define PUBFILE_MAX (4u << 20) /* a publication is a few kilobytes */

/* <dir>/<org>/<period>.json; 0, or -1 when it does not fit or there is no
 * folder configured. */
static int
pubfile_path(const reporting *r, const char *org, const char *period, char *buf, size_t bufsz)
{
    const char *dir = r->cfg->publication_dir;
    if (!dir || !dir[0] || strchr(org, '/') || org[0] == '.' || strchr(period, '/'))
        return -1;
    int n = snprintf(buf, bufsz, "%s/%s/%s.json", dir, org, period);
    return n < 0 || (size_t)n >= bufsz ? -1 : 0;
}

/* Writes text to path by a temporary file, fsync and rename (folders made
 * 0755: the figures are public). 0 or -1 with errno. */
static int
put_file(const char *dir, const char *org_dir, const char *path, const char *text)
{
    if ((mkdir(dir, 0755) != 0 && errno != EEXIST) ||
        (mkdir(org_dir, 0755) != 0 && errno != EEXIST))
        return -1;
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    size_t len = strlen(text), off = 0;
    int ok = 1;
    while (ok && off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        ok = w > 0;
        off += ok ? (size_t)w : 0;
    }
    ok = ok && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    int d = open(org_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d >= 0) {
        fsync(d);
        close(d);
    }
    return 0;
}

typedef struct {
    reporting *r;
    char org[REPORT_ORG_MAX];
    char period[16];
} pubfile_copy;

static void
copied(void *opaque, int rc, const char *state, size_t len)
{
    pubfile_copy *c = opaque;
    char path[1024], org_dir[1024];
    if (rc == 0 && state && len && pubfile_path(c->r, c->org, c->period, path, sizeof(path)) == 0) {
        snprintf(org_dir, sizeof(org_dir), "%s/%s", c->r->cfg->publication_dir, c->org);
        char *text = strndup(state, len);
        if (!text || put_file(c->r->cfg->publication_dir, org_dir, path, text) != 0)
            CH_LOG_ERROR(ch_runtime_log(c->r->rt),
                         "a written publication could not be copied to its file; trying again "
                         "at the next refresh",
                         CH_STR("path", path), CH_ERRNO(errno));
        else
            CH_LOG_INFO(ch_runtime_log(c->r->rt), "publication written to its file",
                        CH_STR("organisation", c->org), CH_STR("period", c->period),
                        CH_STR("path", path));
        free(text);
    }
    free(c);
}

static void
restored(void *opaque, int rc, const char *why)
{
    pubfile_copy *c = opaque;
    (void)why;
    if (rc == 0)
        CH_LOG_WARN(ch_runtime_log(c->r->rt),
                    "a written publication missing from Redis was restored from its file",
                    CH_STR("organisation", c->org), CH_STR("period", c->period));
    else if (rc != CH_EEXIST)
        CH_LOG_ERROR(ch_runtime_log(c->r->rt),
                     "a written publication could not be restored from its file; trying again at "
                     "the next refresh",
                     CH_STR("organisation", c->org), CH_STR("period", c->period));
    free(c);
}

static int
listed(const char (*stored)[16], size_t n, const char *period)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(stored[i], period) == 0)
            return 1;
    return 0;
}

static pubfile_copy *
copy_new(reporting *r, const char *org, const char *period)
{
    pubfile_copy *c = calloc(1, sizeof(*c));
    if (c) {
        c->r = r;
        snprintf(c->org, sizeof(c->org), "%s", org);
        snprintf(c->period, sizeof(c->period), "%s", period);
    }
    return c;
}

/* Puts back every <period>.json of org's folder whose period Redis lacks. */
static void
restore(reporting *r, const char *org, const char (*stored)[16], size_t n)
{
    char org_dir[1024];
    snprintf(org_dir, sizeof(org_dir), "%s/%s", r->cfg->publication_dir, org);
    DIR *d = opendir(org_dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        char period[16], path[2048], why[512];
        if (e->d_name[0] == '.' || len < 6 || len - 5 >= sizeof(period) ||
            strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        snprintf(period, sizeof(period), "%.*s", (int)(len - 5), e->d_name);
        if (listed(stored, n, period))
            continue;
        snprintf(path, sizeof(path), "%s/%s", org_dir, e->d_name);
        char *text = NULL;
        size_t tlen;
        if (ch_file_read_all(path, PUBFILE_MAX, &text, &tlen, why, sizeof(why)) != 0) {
            CH_LOG_ERROR(ch_runtime_log(r->rt), "a written publication's file cannot be read",
                         CH_STR("error", why));
            continue;
        }
        while (tlen && (text[tlen - 1] == '\n'))
            text[--tlen] = '\0';
        pubfile_copy *c = copy_new(r, org, period);
        if (c && report_store_pub_put(r->store, org, period, text, restored, c) != 0)
            free(c);
        free(text);
    }
    closedir(d);
}

void
report_pubfile_sync(reporting *r, const char *org, const char (*stored)[16], size_t n)
{
    char path[1024];
    if (!r->cfg->publication_dir || !r->cfg->publication_dir[0])
        return;
    for (size_t i = 0; i < n; i++) {
        if (pubfile_path(r, org, stored[i], path, sizeof(path)) != 0 || access(path, F_OK) == 0)
            continue;
        pubfile_copy *c = copy_new(r, org, stored[i]);
        if (c && report_store_pub_get(r->store, org, stored[i], copied, c) != 0)
            free(c);
    }
    restore(r, org, stored, n);
}
