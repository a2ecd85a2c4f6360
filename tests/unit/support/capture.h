/*
 * Reading back what code under test wrote to a stream (a logger's sink is a
 * FILE *, usually an open_memstream or tmpfile), without disturbing the
 * stream: it stays at its end, so writing can go on after a look.
 */
#ifndef CHARTER_TEST_CAPTURE_H
#define CHARTER_TEST_CAPTURE_H

#include <stddef.h>
#include <stdio.h>

/* Everything written to f so far, NUL-terminated; f is left at its end. The
 * caller frees. */
char *fx_stream_text(FILE *f);

/* How many '\n' s holds. */
size_t fx_count_lines(const char *s);

#endif
