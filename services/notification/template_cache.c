/*
 * A linked list of parsed templates by path: notification renders with a few
 * dozen files, so a list is as quick as anything and each entry stays where
 * it is while others come (the borrowed pointer in template_cache.h). An
 * entry is never read again from disk: only a new cache (a SIGHUP's,
 * checked whole) replaces it.
 * The start-up check of a whole directory is here too, so a template is
 * read the same way whether it is checked or used.
 */
#include "template_cache.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "charter/errors.h"

typedef struct entry {
    struct entry *next;
    char *path;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
    ch_template t;
} entry;

struct notify_tcache {
    entry *head;
};

notify_tcache *
notify_tcache_new(void)
{
    return calloc(1, sizeof(notify_tcache));
}

static void
entry_free(entry *e)
{
    ch_template_free(&e->t);
    free(e->path);
    free(e);
}

void
notify_tcache_clear(notify_tcache *c)
{
    if (!c)
        return;
    for (entry *e = c->head, *next; e; e = next) {
        next = e->next;
        entry_free(e);
    }
    c->head = NULL;
}

void
notify_tcache_free(notify_tcache *c)
{
    notify_tcache_clear(c);
    free(c);
}

/* Parses path into a new entry at the head of c; 0 or the load's error. */
static int
add(notify_tcache *c, const char *path, const ch_template **out, char *errstr, size_t errstr_size)
{
    entry *e = calloc(1, sizeof(*e));
    if (!e || !(e->path = strdup(path))) {
        free(e);
        snprintf(errstr, errstr_size, "%s: out of memory", path);
        return CH_ENOMEM;
    }
    int rc = ch_template_load_file(path, &e->t, errstr, errstr_size);
    if (rc != 0) {
        free(e->path);
        free(e);
        return rc;
    }
    e->next = c->head;
    c->head = e;
    if (out)
        *out = &e->t;
    return 0;
}

int
notify_tcache_get(notify_tcache *c, const char *path, const ch_template **out, int *reads,
                  char *errstr, size_t errstr_size)
{
    *out = NULL;
    for (entry *e = c->head; e; e = e->next)
        if (strcmp(e->path, path) == 0) {
            *out = &e->t;
            return 0;
        }
    if (reads)
        (*reads)++;
    return add(c, path, out, errstr, errstr_size);
}

static int
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Every *.txt under dir/<folder>/ parsed; kept in c when c is not NULL. */
static int
walk_dir(notify_tcache *c, const char *dir, char *errstr, size_t errstr_size)
{
    DIR *top = opendir(dir);
    if (!top) {
        snprintf(errstr, errstr_size, "notify.template_dir %s cannot be read: %s", dir,
                 strerror(errno));
        return CH_EIO;
    }
    int rc = 0, files = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(top))) {
        if (e->d_name[0] == '.')
            continue;
        char sub[1024];
        snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
        DIR *d = opendir(sub);
        if (!d)
            continue;
        struct dirent *f;
        while (rc == 0 && (f = readdir(d))) {
            if (f->d_name[0] == '.' || !ends_with(f->d_name, ".txt"))
                continue;
            char path[2048];
            snprintf(path, sizeof(path), "%s/%s", sub, f->d_name);
            if (c) {
                rc = add(c, path, NULL, errstr, errstr_size);
            } else {
                ch_template t;
                rc = ch_template_load_file(path, &t, errstr, errstr_size);
                ch_template_free(&t);
            }
            files++;
        }
        closedir(d);
    }
    closedir(top);
    if (rc == 0 && files == 0) {
        snprintf(errstr, errstr_size, "notify.template_dir %s holds no templates", dir);
        rc = CH_EINVAL;
    }
    return rc;
}

int
notify_tcache_check_dir(const char *dir, char *errstr, size_t errstr_size)
{
    return walk_dir(NULL, dir, errstr, errstr_size);
}

int
notify_tcache_load_dir(notify_tcache *c, const char *dir, char *errstr, size_t errstr_size)
{
    int rc = walk_dir(c, dir, errstr, errstr_size);
    if (rc != 0)
        notify_tcache_clear(c);
    return rc;
}

/* Whether text holds the placeholder {reference} (not the literal
 * "{{reference}}"). */
static int
has_reference(const char *text)
{
    for (const char *p = text ? strstr(text, "{reference}") : NULL; p;
         p = strstr(p + 1, "{reference}"))
        if (p == text || p[-1] != '{')
            return 1;
    return 0;
}

/* Checks the customer templates in dir/folder (skipping, with `unless`,
 * those dir/unless also has: the organisation's own win). */
static int
check_reference_in(const char *dir, const char *folder, const char *unless, const char *org,
                   char *errstr, size_t errstr_size)
{
    char sub[1024];
    snprintf(sub, sizeof(sub), "%s/%s", dir, folder);
    DIR *d = opendir(sub);
    if (!d)
        return 0; /* an organisation without its own folder uses the defaults */
    int rc = 0;
    struct dirent *f;
    while (rc == 0 && (f = readdir(d))) {
        if (f->d_name[0] == '.' || !ends_with(f->d_name, ".txt") ||
            strncmp(f->d_name, "staff_", 6) == 0)
            continue;
        char path[2048];
        struct stat st;
        if (unless) {
            snprintf(path, sizeof(path), "%s/%s/%s", dir, unless, f->d_name);
            if (stat(path, &st) == 0)
                continue;
        }
        snprintf(path, sizeof(path), "%s/%s", sub, f->d_name);
        ch_template t;
        rc = ch_template_load_file(path, &t, errstr, errstr_size);
        if (rc == 0 && !has_reference(t.subject) && !has_reference(t.body)) {
            snprintf(errstr, errstr_size,
                     "%s: no {reference} in this customer template, but the policy of %s promises "
                     "a reference on every reply (reference_on_reply: true)",
                     path, org);
            rc = CH_EINVAL;
        }
        ch_template_free(&t);
    }
    closedir(d);
    return rc;
}

int
notify_tcache_check_reference(const char *dir, const char *org, char *errstr, size_t errstr_size)
{
    int rc = check_reference_in(dir, org, NULL, org, errstr, errstr_size);
    return rc ? rc : check_reference_in(dir, "default", org, org, errstr, errstr_size);
}
