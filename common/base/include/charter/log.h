/*
 * Structured logs: one JSON object per line on stderr.
 *
 *   CH_LOG_INFO(lg, "timer fired", CH_STR("case_id", id), CH_INT("lateness_ms", l));
 *
 * The macros test the level before any argument is evaluated, so a disabled
 * debug line costs one comparison. Fields are typed; business events put
 * their facts in fields, not in the message. Personal data (names, addresses,
 * phone numbers, message text) must never be passed to a log call.
 */
#ifndef CHARTER_LOG_H
#define CHARTER_LOG_H

#include <stddef.h>
#include <stdio.h>

typedef enum { CH_LOG_DEBUG = 0, CH_LOG_INFO, CH_LOG_WARN, CH_LOG_ERROR } ch_log_level;

typedef enum { CH_LOG_T_NONE = 0, CH_LOG_T_STR, CH_LOG_T_INT, CH_LOG_T_ERRNO } ch_log_type;

typedef struct {
    const char *key;
    ch_log_type type;
    const char *s;
    long long i;
} ch_log_field;

/*
 * Somewhere a finished line may wait instead of being written at once: the
 * runtime's per-loop-turn buffer (common/runtime/src/log_defer.h). hold()
 * returns 1 when it kept the line, which it writes later, in order; 0 when
 * the line is to be written now (it first writes whatever waits from the
 * same thread, so lines keep their order). flush() writes what waits.
 */
typedef struct ch_log_sink {
    int (*hold)(void *arg, ch_log_level lvl, const char *line, size_t len);
    void (*flush)(void *arg);
    void *arg;
} ch_log_sink;

typedef struct ch_log {
    const char *service; /* borrowed; lives as long as the logger */
    ch_log_level level;
    FILE *out;                /* stderr unless a test redirects it */
    const ch_log_sink *defer; /* NULL: every line is written at once */
} ch_log;

#define CH_STR(k, v) ((ch_log_field){.key = (k), .type = CH_LOG_T_STR, .s = (v)})
#define CH_INT(k, v) ((ch_log_field){.key = (k), .type = CH_LOG_T_INT, .i = (long long)(v)})
/* errno is passed explicitly: CH_ERRNO(errno) right after the failing call. */
#define CH_ERRNO(e) ((ch_log_field){.key = "error", .type = CH_LOG_T_ERRNO, .i = (e)})

#define CH_LOG(lg, lvl, msg, ...)                                                                  \
    do {                                                                                           \
        if ((lvl) >= (lg)->level) {                                                                \
            ch_log_field ch__f[] = {{0}, __VA_ARGS__};                                             \
            ch_log_emit((lg), (lvl), (msg), ch__f + 1, sizeof(ch__f) / sizeof(ch__f[0]) - 1);      \
        }                                                                                          \
    } while (0)

#define CH_LOG_DEBUG(lg, ...) CH_LOG(lg, CH_LOG_DEBUG, __VA_ARGS__)
#define CH_LOG_INFO(lg, ...) CH_LOG(lg, CH_LOG_INFO, __VA_ARGS__)
#define CH_LOG_WARN(lg, ...) CH_LOG(lg, CH_LOG_WARN, __VA_ARGS__)
#define CH_LOG_ERROR(lg, ...) CH_LOG(lg, CH_LOG_ERROR, __VA_ARGS__)

/* Writes one line; use the macros instead. */
void ch_log_emit(const ch_log *lg, ch_log_level lvl, const char *msg, const ch_log_field *f,
                 size_t nf);

/* Writes the lines waiting in lg->defer, if any (the runtime does, at the
 * end of each loop turn). */
void ch_log_flush(const ch_log *lg);

/* Parses "debug", "info", "warn" or "error". Returns 0 or CH_EINVAL. */
int ch_log_level_parse(const char *s, ch_log_level *out);

#endif
