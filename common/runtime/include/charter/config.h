/*
 * Declarative configuration. A service describes its keys in a table (key,
 * type, default, offsetof into its config struct, help, bounds); the same
 * table is fed from defaults, then a `key = value` file, then the
 * environment, so every source is validated the same way and `--help` prints
 * the table. Unknown keys stop start-up with the key's name. Keys under
 * `kafka.` are not in any table: they are collected, prefix stripped, for
 * rd_kafka_conf_set(), which validates them.
 *
 * Environment: a key's variable is CHARTER_ followed by the key upper-cased
 * with '.' and '-' turned into '_' (redis.url -> CHARTER_REDIS_URL). Variables
 * under the service's own namespace (CHARTER_INGEST_ for ingest) must name a
 * key; other CHARTER_ variables belong to other services and are ignored
 * unless they name one of this service's keys. CHARTER_KAFKA_* become kafka.*
 * keys with '_' turned into '.'.
 *
 * Tables are written with the CH_CFG_* macros below, one line per key in the
 * order key, default, help (fluent-bit's FLB_CONFIG_MAP shape), rather than
 * as positional initialisers whose seventh field nobody remembers.
 *
 * Pure: no I/O except ch_config_load_file() reading its file.
 */
#ifndef CHARTER_CONFIG_H
#define CHARTER_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { CH_CFG_STRING = 1, CH_CFG_INT, CH_CFG_BOOL } ch_config_type;

/*
 * Optional validator for a value already converted. Returns 0, or CH_EINVAL
 * with a sentence in errstr (without the key: the caller adds it).
 */
typedef int (*ch_config_validate_fn)(const char *text, char *errstr, size_t errstr_size);

typedef struct {
    const char *key;
    ch_config_type type;
    const char *def; /* default as text; NULL for an empty string */
    size_t offset;   /* offsetof(struct, field): char * for STRING (owned),
                        int64_t for INT, int for BOOL */
    const char *help;
    int64_t min, max; /* INT bounds, inclusive; ignored when min == max == 0 */
    ch_config_validate_fn validate;
} ch_config_entry;

/*
 * Table entries. `st` is the config struct and `field` its member: char *
 * for STR (owned by the table, freed by ch_config_free), int64_t for INT,
 * int for BOOL. `def` is the default as text (NULL: an empty string, not
 * validated). INT takes inclusive bounds (min == max == 0: any number).
 * (Written without parentheses, CH_CFG_INT and CH_CFG_BOOL are still the
 * ch_config_type values.)
 *
 *   static const ch_config_entry keys[] = {
 *       CH_CFG_STR(my_config, topic, "my.topic", "charter.x.v1", "topic written to"),
 *       CH_CFG_INT(my_config, ttl_s, "my.ttl_s", "3600", "how long ids are kept", 60, 86400),
 *   };
 */
#define CH_CFG_STR(st, field, key_, def_, help_)                                                   \
    {                                                                                              \
        .key = (key_), .type = CH_CFG_STRING, .def = (def_), .offset = offsetof(st, field),        \
        .help = (help_)                                                                            \
    }
/* A string checked by validate_ (a ch_config_validate_fn) whenever it is set. */
#define CH_CFG_STR_CHECKED(st, field, key_, def_, help_, validate_)                                \
    {                                                                                              \
        .key = (key_), .type = CH_CFG_STRING, .def = (def_), .offset = offsetof(st, field),        \
        .help = (help_), .validate = (validate_)                                                   \
    }
#define CH_CFG_INT(st, field, key_, def_, help_, min_, max_)                                       \
    {                                                                                              \
        .key = (key_), .type = CH_CFG_INT, .def = (def_), .offset = offsetof(st, field),           \
        .help = (help_), .min = (min_), .max = (max_)                                              \
    }
#define CH_CFG_BOOL(st, field, key_, def_, help_)                                                  \
    {                                                                                              \
        .key = (key_), .type = CH_CFG_BOOL, .def = (def_), .offset = offsetof(st, field),          \
        .help = (help_)                                                                            \
    }

typedef struct {
    const ch_config_entry *entries;
    size_t n;
    void *base; /* the struct the offsets point into */
} ch_config_section;

typedef struct {
    char *key; /* without the "kafka." prefix */
    char *value;
} ch_kv;

typedef struct {
    ch_kv *items;
    size_t n, cap;
} ch_kv_list;

typedef struct {
    const ch_config_section *sections;
    size_t nsections;
    ch_kv_list kafka;       /* collected kafka.* keys, owned */
    const char *env_prefix; /* the service's namespace, e.g. "CHARTER_INGEST_" */
} ch_config;

/* Sets every key to its default. Returns 0 or CH_EINVAL (a bad default). */
int ch_config_defaults(ch_config *cfg, char *errstr, size_t errstr_size);

/*
 * Sets one key from text. Unknown keys, unconvertible values, out-of-range
 * numbers and validator failures return CH_EINVAL with errstr naming the key.
 */
int ch_config_set(ch_config *cfg, const char *key, const char *value, char *errstr,
                  size_t errstr_size);

/*
 * Applies `key = value` lines ('#' starts a comment line; blank lines are
 * skipped; a value may be wrapped in double quotes). `name` is used in
 * errors as "name:LINE: ...".
 */
int ch_config_load_text(ch_config *cfg, const char *text, const char *name, char *errstr,
                        size_t errstr_size);

/* Reads and applies a file; errors name the file and line. */
int ch_config_load_file(ch_config *cfg, const char *path, char *errstr, size_t errstr_size);

/* Applies CHARTER_* variables from envp (NULL-terminated "NAME=value"). */
int ch_config_load_env(ch_config *cfg, char *const *envp, char *errstr, size_t errstr_size);

/* Appends or replaces a kafka.* property (key without the prefix). */
int ch_config_kafka_set(ch_config *cfg, const char *key, const char *value);

/* Returns the value of a collected kafka.* property, or NULL. */
const char *ch_config_kafka_get(const ch_config *cfg, const char *key);

/* The current value of a string key of any section, or NULL when no section
 * has a string key of that name. Borrowed: the config owns it. */
const char *ch_config_string(const ch_config *cfg, const char *key);

/* The current value of an int key of any section in *out. Returns 0, or
 * CH_EINVAL when no section has an int key of that name. */
int ch_config_int(const ch_config *cfg, const char *key, int64_t *out);

/* Prints the table: key, environment variable, default, help. */
void ch_config_print_help(const ch_config *cfg, FILE *out);

/* Frees owned strings in every section and the kafka list. */
void ch_config_free(ch_config *cfg);

/* Validators usable in tables. */
int ch_config_validate_hostport(const char *text, char *errstr, size_t errstr_size);
int ch_config_validate_log_level(const char *text, char *errstr, size_t errstr_size);

#endif
