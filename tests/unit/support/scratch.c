/*
 * Scratch directories (scratch.h): mkdtemp, a list of the names written, and
 * unlink/rmdir by that list rather than `rm -rf`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "charter/fileio.h"
#include "support/scratch.h"

static void
path_of(const fx_scratch *d, const char *name, char *out, size_t size)
{
    if ((size_t)snprintf(out, size, "%s/%s", d->path, name) >= size)
        fail_msg("scratch path %s/%s is too long", d->path, name);
}

void
fx_scratch_new(fx_scratch *d)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->path, sizeof(d->path), "/tmp/charter-test-XXXXXX");
    if (!mkdtemp(d->path))
        fail_msg("mkdtemp failed");
}

void
fx_scratch_put(fx_scratch *d, const char *name, const char *text)
{
    char path[512];
    path_of(d, name, path, sizeof(path));
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    size_t len = strlen(text);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    for (size_t i = 0; i < d->nfiles; i++)
        if (strcmp(d->files[i], name) == 0)
            return;
    assert_true(d->nfiles < FX_SCRATCH_FILES);
    assert_true(strlen(name) < sizeof(d->files[0]));
    snprintf(d->files[d->nfiles++], sizeof(d->files[0]), "%s", name);
}

void
fx_scratch_copy(fx_scratch *d, const char *from_dir, const char *file, const char *name)
{
    char src[512], err[256], *text;
    snprintf(src, sizeof(src), "%s/%s", from_dir, file);
    if (ch_file_read_all(src, 1 << 20, &text, NULL, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    fx_scratch_put(d, name, text);
    free(text);
}

void
fx_scratch_remove(fx_scratch *d, const char *name)
{
    char path[512];
    path_of(d, name, path, sizeof(path));
    assert_int_equal(unlink(path), 0);
    for (size_t i = 0; i < d->nfiles; i++)
        if (strcmp(d->files[i], name) == 0) {
            memmove(d->files[i], d->files[i + 1], (d->nfiles - i - 1) * sizeof(d->files[0]));
            d->nfiles--;
            break;
        }
}

void
fx_scratch_free(fx_scratch *d)
{
    for (size_t i = 0; i < d->nfiles; i++) {
        char path[512];
        path_of(d, d->files[i], path, sizeof(path));
        unlink(path);
    }
    d->nfiles = 0;
    assert_int_equal(rmdir(d->path), 0);
}
