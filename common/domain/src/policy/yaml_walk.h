/*
 * A walker over a libyaml document for formats people write by hand (the
 * policy files): every error names the file, line and column, the key as a
 * path ("promises[2].respond") and what was expected there, and a mapping is
 * checked against the keys it may hold before anything is read from it, so a
 * misspelt key is an error rather than a silently missing setting.
 *
 * libyaml's document API gives a tree whose every node carries its mark;
 * libcyaml maps a schema to structs but cannot give errors in this form, so
 * the walk is ours. It is table-driven where a mapping is plain: one
 * ch__yaml_key per key (name, kind, offsetof the field it fills, the text
 * for "expected ..."), the config_map idea applied to YAML; the walker checks
 * the keys, reports what is missing and reads texts, booleans, words, nested
 * mappings and lists. What is not plain (a value that may be a scalar or a
 * mapping, a check across keys) is a key with its own function, built from
 * the same primitives, so its errors read the same.
 *
 * Domain-private: the policy loader's, and test_yaml_walk's.
 */
#ifndef CHARTER_YAML_WALK_H
#define CHARTER_YAML_WALK_H

#include <stddef.h>
#include <yaml.h>

/* The longest key path kept ("promises[12].holding_reply.max_extension");
 * longer ones are cut. */
#define CH__YAML_PATH_MAX 160

/* One walk: the loaded document, the name errors give it, and the caller's
 * errstr. A loader that needs more state embeds this as its first member. */
typedef struct {
    yaml_document_t *doc;
    const char *name;
    char *err;
    size_t errsz;
} ch__yaml;

/* 1-based line and column where a node starts. */
int ch__yaml_line(const yaml_node_t *n);
int ch__yaml_col(const yaml_node_t *n);

/*
 * Writes "<name>:<line>:<col>: <path>: <message>" to the errstr (without
 * ":<line>:<col>" when n is NULL, without "<path>: " when path is empty) and
 * returns CH_EINVAL, so a parser can `return ch__yaml_fail(...)`.
 */
__attribute__((format(printf, 4, 5))) int ch__yaml_fail(ch__yaml *y, const yaml_node_t *n,
                                                        const char *path, const char *fmt, ...);

/* out (CH__YAML_PATH_MAX bytes) = path + "." + key, or key at the top. */
void ch__yaml_join(char *out, const char *path, const char *key);
/* out (CH__YAML_PATH_MAX bytes) = path + "[i]". */
void ch__yaml_join_index(char *out, const char *path, size_t i);

/* Appends item to a ", "-separated list in buf; text past bufsz is cut and
 * nothing more is added. Start with *used = 0 and buf[0] = '\0'. */
void ch__yaml_list_add(char *buf, size_t bufsz, size_t *used, const char *item);

/* Refuses n unless it is a mapping (a sequence), saying what was found:
 * "expected <expected>, found a list". */
int ch__yaml_want_mapping(ch__yaml *y, const yaml_node_t *n, const char *path,
                          const char *expected);
int ch__yaml_want_sequence(ch__yaml *y, const yaml_node_t *n, const char *path,
                           const char *expected);

/* A sequence's length; 1 for any other node (a value that may be one item or
 * a list of them). */
size_t ch__yaml_items(const yaml_node_t *n);
/* Item i of a sequence with its path ("path[i]") in ipath (CH__YAML_PATH_MAX
 * bytes); any other node is its own only item, at path. */
yaml_node_t *ch__yaml_item(const ch__yaml *y, yaml_node_t *n, const char *path, size_t i,
                           char *ipath);

/* Calls fn for each pair of a mapping, in the file's order, with the key's
 * node (a non-empty scalar, else the error says key_expected), the pair's
 * path ("path.key") and its value. Stops at fn's first error. */
typedef int (*ch__yaml_pair_fn)(ch__yaml *y, yaml_node_t *key, const char *kpath,
                                yaml_node_t *value, void *arg);
int ch__yaml_each_pair(ch__yaml *y, const yaml_node_t *map, const char *path,
                       const char *key_expected, ch__yaml_pair_fn fn, void *arg);

/* Calls fn for a word, or for each word of a list, with the word's node and
 * path ("path[i]" in a list) and its text. Each must be a non-empty scalar
 * (else "expected <expected>"); an empty list is refused as "is an empty list
 * (expected <empty>)". Stops at fn's first error. */
typedef int (*ch__yaml_word_fn)(ch__yaml *y, yaml_node_t *v, const char *path, const char *word,
                                void *arg);
int ch__yaml_each_word(ch__yaml *y, yaml_node_t *n, const char *path, const char *expected,
                       const char *empty, ch__yaml_word_fn fn, void *arg);

/* A scalar node's text, borrowed from the document. */
const char *ch__yaml_text(const yaml_node_t *n);
/* A non-empty scalar's text (not "", "~" or a plain null), borrowed from the
 * document. */
int ch__yaml_scalar(ch__yaml *y, const yaml_node_t *n, const char *path, const char *expected,
                    const char **out);
/* A scalar copied into dst, refused when it does not fit. */
int ch__yaml_copy_text(ch__yaml *y, const yaml_node_t *n, const char *path, const char *expected,
                       char *dst, size_t dstsz);
/* true/yes/on or false/no/off. */
int ch__yaml_parse_bool(ch__yaml *y, const yaml_node_t *n, const char *path, int *out);

/* A word of the format and what it stands for. Tables end with {NULL, 0}. */
typedef struct {
    const char *name;
    unsigned value;
} ch__yaml_name;

/* The entry for word, or NULL. */
const ch__yaml_name *ch__yaml_find_name(const ch__yaml_name *names, const char *word);
/* One of names, e.g. noun "a period", expected "monthly, quarterly or
 * yearly": "'weekly' is not a period (expected monthly, quarterly or yearly)". */
int ch__yaml_parse_choice(ch__yaml *y, const yaml_node_t *n, const char *path,
                          const ch__yaml_name *names, const char *noun, const char *expected,
                          unsigned *out);
/* A name or a list of names, each one of names, OR-ed into *out. */
int ch__yaml_parse_flags(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_name *names,
                         unsigned *out);

/* The value under key in a mapping, or NULL; and the key's own node. */
yaml_node_t *ch__yaml_get(const ch__yaml *y, const yaml_node_t *map, const char *key);
yaml_node_t *ch__yaml_key_node(const ch__yaml *y, const yaml_node_t *map, const char *key);
/* "<path>.<key>: missing (expected <expected>)", at the mapping. */
int ch__yaml_missing(ch__yaml *y, const yaml_node_t *map, const char *path, const char *key,
                     const char *expected);

/* ---- key tables ---- */

typedef enum {
    CH__YAML_TEXT,   /* char[size] at offset (ch__yaml_copy_text) */
    CH__YAML_STRING, /* char * at offset, strdup'd: the caller frees it */
    CH__YAML_BOOL,   /* int at offset */
    CH__YAML_CHOICE, /* an enum (int-sized) at offset: one of names */
    CH__YAML_FLAGS,  /* unsigned at offset: names OR-ed */
    CH__YAML_SCALAR, /* a non-empty scalar that fn reads (ch__yaml_text) */
    CH__YAML_MAP,    /* a mapping read with its own table into the struct at offset */
    CH__YAML_LIST,   /* an array at offset, its length at count: fn reads each item */
    CH__YAML_CUSTOM, /* fn reads the value, whatever it is */
} ch__yaml_kind;

typedef struct ch__yaml_key ch__yaml_key;

/* Reads or checks one key's value n at path; field is the struct's address
 * plus the key's offset (for LIST, the item's address). Returns 0 or a CH_E*
 * code with the errstr set. */
typedef int (*ch__yaml_fn)(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_key *k,
                           void *field);

/*
 * One key of a mapping. Tables give the first six members in order, as a
 * row reads: key, kind, field, what the value should be, whether it is
 * required, who reads it; the rest by name, as the kind needs them.
 */
struct ch__yaml_key {
    const char *key;
    ch__yaml_kind kind;
    size_t offset;        /* offsetof the field in the struct being filled */
    const char *expected; /* the value, as the "expected ..." of an error */
    const char *missing;  /* NULL: optional; else required, and what to give */
    ch__yaml_fn fn; /* SCALAR, LIST, CUSTOM: the reader; TEXT, STRING, CHOICE, MAP: a check after */

    size_t size;                /* TEXT: sizeof the field; LIST: sizeof an item */
    size_t count;               /* LIST: offsetof the size_t count of items */
    const char *empty;          /* LIST: the error for an empty list; NULL: allowed */
    const ch__yaml_name *names; /* CHOICE, FLAGS */
    const char *noun;           /* CHOICE: "'x' is not <noun> (expected ...)" */
    const ch__yaml_key *keys;   /* MAP: the mapping's own table */
    size_t nkeys;
    unsigned arg;     /* for fn: a number (kinds of clock allowed, ...) */
    const void *data; /* for fn: anything more it needs */
};

/* Every key of map is one of keys[0..n) (the error lists them in table
 * order) and none is given twice. */
int ch__yaml_check_keys(ch__yaml *y, const yaml_node_t *map, const char *path,
                        const ch__yaml_key *keys, size_t n);
/* Reads the table entry named key: missing when required and absent, nothing
 * when optional and absent. */
int ch__yaml_read(ch__yaml *y, const yaml_node_t *map, const char *path, const ch__yaml_key *keys,
                  size_t n, const char *key, void *obj);
/* Reads the entries named in order (NULL-terminated), or every entry in table
 * order when order is NULL. */
int ch__yaml_read_keys(ch__yaml *y, const yaml_node_t *map, const char *path,
                       const ch__yaml_key *keys, size_t n, const char *const *order, void *obj);
/* A mapping (expected says what it should be), its keys checked, every entry
 * read in table order into obj. */
int ch__yaml_map(ch__yaml *y, const yaml_node_t *n, const char *path, const char *expected,
                 const ch__yaml_key *keys, size_t nkeys, void *obj);
/* A LIST key's value: a sequence (k->expected) whose items are calloc'd into
 * the array at obj + k->offset and read by k->fn, the count at obj + k->count
 * raised before each item is read (so a free after an error sees it). */
int ch__yaml_list(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_key *k, void *obj);

#endif
