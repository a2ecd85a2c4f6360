/*
 * Reading a whole small file (a policy, a template, a config file, a key
 * file, a zone file) in one call, with the sentence a user can act on when it
 * cannot be read. Charter's inputs are all short; the caller names the most
 * it will take, so a wrong path to a large file is refused, not slurped.
 */
#ifndef CHARTER_FILEIO_H
#define CHARTER_FILEIO_H

#include <stddef.h>

/*
 * Reads the file at path into a fresh buffer with a NUL after the last byte.
 * On success returns 0, *buf is the caller's (free()) and *len its length.
 * On failure *buf is NULL and errstr says why, starting with the path:
 *   CH_EIO     "<path>: cannot open: <reason>" or "<path>: cannot read: <reason>"
 *   CH_EINVAL  "<path>: larger than <max> bytes"
 *   CH_ENOMEM  "<path>: out of memory"
 */
int ch_file_read_all(const char *path, size_t max, char **buf, size_t *len, char *errstr,
                     size_t errstr_size);

#endif
