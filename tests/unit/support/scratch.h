/*
 * A scratch directory under /tmp for tests that load a directory (policies
 * and the like): files written or copied in by name, removed one by one, and
 * the whole directory removed at the end. It remembers the files it holds so
 * that freeing it removes exactly those and then the directory, never more.
 * Each call fails the running test if the file system refuses.
 */
#ifndef CHARTER_TEST_SCRATCH_H
#define CHARTER_TEST_SCRATCH_H

#include <stddef.h>

#define FX_SCRATCH_FILES 8

typedef struct {
    char path[256];
    char files[FX_SCRATCH_FILES][64];
    size_t nfiles;
} fx_scratch;

/* Creates a fresh empty directory; d->path names it. */
void fx_scratch_new(fx_scratch *d);

/* Writes text as d->path/name. */
void fx_scratch_put(fx_scratch *d, const char *name, const char *text);

/* Copies from_dir/file into the directory as name. */
void fx_scratch_copy(fx_scratch *d, const char *from_dir, const char *file, const char *name);

/* Removes d->path/name. */
void fx_scratch_remove(fx_scratch *d, const char *name);

/* Removes the files the directory holds and the directory. */
void fx_scratch_free(fx_scratch *d);

#endif
