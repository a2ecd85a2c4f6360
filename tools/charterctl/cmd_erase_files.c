/*
 * The files half of `charterctl erase` (erase.h): the outbox's JSON lines
 * name their case, reference and recipient, so a line goes when any of
 * them is the person's; the print queue's letters are named after their
 * notification id ("<case id>_<what>.txt"), so a case's letters go by name.
 * A rewritten file replaces the old one by rename, so a reader never sees
 * half of it; a line notification appends to the same file between the
 * read and the rename would be lost, which is why docs/security.md says to
 * run erase with notification's file transport quiet (or stopped).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "erase.h"

int
erase_list_add(erase_list *l, const char *s, int lower)
{
    if (!s || !s[0])
        return 0;
    char *copy = strdup(s);
    if (!copy)
        return -1;
    if (lower)
        for (char *c = copy; *c; c++)
            *c = (char)tolower((unsigned char)*c);
    if (erase_list_has(l, copy)) {
        free(copy);
        return 0;
    }
    if (l->n == ERASE_MAX) {
        free(copy);
        return -1;
    }
    l->items[l->n++] = copy;
    return 0;
}

int
erase_list_has(const erase_list *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i], s) == 0)
            return 1;
    return 0;
}

void
erase_list_free(erase_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    l->n = 0;
}

static int
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* 1 when the outbox line is the person's. */
static int
line_is_theirs(const char *line, const erase_person *p)
{
    json_t *j = json_loads(line, 0, NULL);
    if (!j)
        return 0;
    const char *c = json_string_value(json_object_get(j, "case_id"));
    const char *r = json_string_value(json_object_get(j, "reference"));
    const char *to = json_string_value(json_object_get(j, "to"));
    char lower[512] = "";
    for (size_t i = 0; to && to[i] && i + 1 < sizeof(lower); i++) {
        lower[i] = (char)tolower((unsigned char)to[i]);
        lower[i + 1] = '\0';
    }
    int theirs = (c && erase_list_has(&p->cases, c)) || (r && erase_list_has(&p->references, r)) ||
                 erase_list_has(&p->emails, lower) || erase_list_has(&p->phones, lower);
    json_decref(j);
    return theirs;
}

/* One file: its lines without the person's. Returns lines removed or -1. */
static long
rewrite(const char *dir, const char *name, const erase_person *p)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.%s.erase", dir, name);
    FILE *in = fopen(path, "r");
    if (!in) {
        fprintf(stderr, "charterctl erase: %s: cannot open: %s\n", path, strerror(errno));
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!out) {
        fprintf(stderr, "charterctl erase: %s: cannot create: %s\n", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        fclose(in);
        return -1;
    }
    long removed = 0;
    int bad = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, in)) > 0) {
        if (line_is_theirs(line, p))
            removed++;
        else if (fwrite(line, 1, (size_t)len, out) != (size_t)len)
            bad = 1;
    }
    free(line);
    bad = bad || ferror(in) || fflush(out) != 0 || fsync(fileno(out)) != 0;
    fclose(in);
    bad = fclose(out) != 0 || bad;
    if (!bad && removed == 0) {
        unlink(tmp); /* nothing of theirs: the file stays as it was */
        return 0;
    }
    if (bad || rename(tmp, path) != 0) {
        fprintf(stderr, "charterctl erase: %s: cannot rewrite: %s\n", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    printf("  %s: %ld line%s removed\n", path, removed, removed == 1 ? "" : "s");
    return removed;
}

long
erase_outbox(const char *dir, const erase_person *p)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "charterctl erase: outbox %s cannot be read: %s\n", dir, strerror(errno));
        return -1;
    }
    long total = 0;
    int failed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !ends_with(e->d_name, ".jsonl"))
            continue;
        long n = rewrite(dir, e->d_name, p);
        if (n < 0)
            failed = 1;
        else
            total += n;
    }
    closedir(d);
    return failed ? -1 : total;
}

/* 1 when a letter's file name is one of the person's cases' notices. */
static int
letter_is_theirs(const char *name, const erase_person *p)
{
    for (size_t i = 0; i < p->cases.n; i++) {
        size_t n = strlen(p->cases.items[i]);
        if (strncmp(name, p->cases.items[i], n) == 0 && name[n] == '_')
            return 1;
    }
    return 0;
}

long
erase_print_queue(const char *dir, const erase_person *p)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return 0; /* no letter was ever printed */
        fprintf(stderr, "charterctl erase: print queue %s cannot be read: %s\n", dir,
                strerror(errno));
        return -1;
    }
    long total = 0;
    int failed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char org[4096];
        snprintf(org, sizeof(org), "%s/%s", dir, e->d_name);
        DIR *od = opendir(org);
        if (!od)
            continue;
        struct dirent *f;
        while ((f = readdir(od))) {
            if (!letter_is_theirs(f->d_name, p))
                continue;
            char path[8200];
            snprintf(path, sizeof(path), "%s/%s", org, f->d_name);
            if (unlink(path) == 0) {
                printf("  %s: deleted\n", path);
                total++;
            } else {
                fprintf(stderr, "charterctl erase: %s: cannot delete: %s\n", path, strerror(errno));
                failed = 1;
            }
        }
        closedir(od);
    }
    closedir(d);
    return failed ? -1 : total;
}
