/*
 * The runtime's deferred log writing: a debug or info line logged on the
 * loop's thread waits in a buffer until the end of the loop turn, when the
 * runtime writes the turn's lines with one write; ingest logs every accepted
 * event, so this is one system call per turn rather than one per line. A
 * warn or error line is written at once, after whatever waits; a line from
 * another thread (librdkafka's) is written at once and never touches the
 * buffer, which only the loop's thread uses.
 *
 * The logger (charter/log.h, in base) knows only the ch_log_sink interface;
 * this buffer and its thread check are the runtime's business.
 */
#ifndef CHARTER_RUNTIME_LOG_DEFER_H
#define CHARTER_RUNTIME_LOG_DEFER_H

#include <pthread.h>
#include <stddef.h>

#include "charter/log.h"

typedef struct ch_log_defer {
    char buf[65536];
    size_t n;
    pthread_t owner;             /* the loop's thread: the one that attached */
    void (*schedule)(void *arg); /* asked once per turn to flush at its end */
    void *arg;
    int scheduled;
    const ch_log *lg; /* where the lines go: lg->out */
    ch_log_sink sink;
} ch_log_defer;

/*
 * Makes lg's debug and info lines logged on the calling thread wait in d
 * until ch_log_flush(lg); schedule(arg) runs when the first line of a turn
 * waits. d must outlive the attachment; detach with lg->defer = NULL after a
 * last ch_log_flush().
 */
void ch__log_defer_attach(ch_log_defer *d, ch_log *lg, void (*schedule)(void *arg), void *arg);

#endif
