/*
 * One read path for every small file: read up to max + 1 bytes so that a
 * file of exactly max bytes is accepted and a larger one is told apart
 * without a stat (which a FIFO or /proc file would answer wrongly).
 */
#include "charter/fileio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"

int
ch_file_read_all(const char *path, size_t max, char **buf, size_t *len, char *errstr,
                 size_t errstr_size)
{
    *buf = NULL;
    if (len)
        *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errstr, errstr_size, "%s: cannot open: %s", path, strerror(errno));
        return CH_EIO;
    }
    char *p = malloc(max + 2);
    if (!p) {
        fclose(f);
        snprintf(errstr, errstr_size, "%s: out of memory", path);
        return CH_ENOMEM;
    }
    size_t n = fread(p, 1, max + 1, f);
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (err) {
        free(p);
        snprintf(errstr, errstr_size, "%s: cannot read: %s", path, strerror(err));
        return CH_EIO;
    }
    if (n > max) {
        free(p);
        snprintf(errstr, errstr_size, "%s: larger than %zu bytes", path, max);
        return CH_EINVAL;
    }
    p[n] = '\0';
    *buf = p;
    if (len)
        *len = n;
    return 0;
}
