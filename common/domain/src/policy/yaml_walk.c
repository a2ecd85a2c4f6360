/*
 * The YAML walker (see yaml_walk.h). Every function that can refuse a value
 * ends in ch__yaml_fail, so the sentence shape "<file>:<line>:<col>: <path>:
 * <what is wrong> (expected <what would do>)" is written in one place, and
 * the key tables are read by one loop instead of one hand-written run of
 * get / missing / parse per key.
 */
#include "yaml_walk.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"

#define NODE(y, i) yaml_document_get_node((y)->doc, (i))

int
ch__yaml_line(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

int
ch__yaml_col(const yaml_node_t *n)
{
    return (int)n->start_mark.column + 1;
}

int
ch__yaml_fail(ch__yaml *y, const yaml_node_t *n, const char *path, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char where[300];
    if (n)
        snprintf(where, sizeof(where), "%s:%d:%d", y->name, ch__yaml_line(n), ch__yaml_col(n));
    else
        snprintf(where, sizeof(where), "%s", y->name);
    if (path && *path)
        snprintf(y->err, y->errsz, "%s: %s: %s", where, path, msg);
    else
        snprintf(y->err, y->errsz, "%s: %s", where, msg);
    return CH_EINVAL;
}

/* Appends s to out[*n], cut at CH__YAML_PATH_MAX - 1. */
static void
put(char *out, size_t *n, const char *s)
{
    for (const char *c = s; c && *c && *n < CH__YAML_PATH_MAX - 1; c++)
        out[(*n)++] = *c;
}

void
ch__yaml_join(char *out, const char *path, const char *key)
{
    size_t n = 0;
    put(out, &n, path);
    if (n && n < CH__YAML_PATH_MAX - 1)
        out[n++] = '.';
    put(out, &n, key);
    out[n] = '\0';
}

void
ch__yaml_join_index(char *out, const char *path, size_t i)
{
    char idx[32];
    snprintf(idx, sizeof(idx), "[%zu]", i);
    size_t n = 0;
    put(out, &n, path);
    put(out, &n, idx);
    out[n] = '\0';
}

void
ch__yaml_list_add(char *buf, size_t bufsz, size_t *used, const char *item)
{
    if (*used >= bufsz)
        return;
    int w = snprintf(buf + *used, bufsz - *used, "%s%s", *used ? ", " : "", item);
    if (w < 0 || (size_t)w >= bufsz - *used)
        *used = bufsz; /* cut: add nothing more */
    else
        *used += (size_t)w;
}

static const char *
kind_of(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a mapping (key: value lines)";
    default:
        return "a single value";
    }
}

static int
want(ch__yaml *y, const yaml_node_t *n, yaml_node_type_t type, const char *path,
     const char *expected)
{
    if (n->type != type)
        return ch__yaml_fail(y, n, path, "expected %s, found %s", expected, kind_of(n));
    return 0;
}

int
ch__yaml_want_mapping(ch__yaml *y, const yaml_node_t *n, const char *path, const char *expected)
{
    return want(y, n, YAML_MAPPING_NODE, path, expected);
}

int
ch__yaml_want_sequence(ch__yaml *y, const yaml_node_t *n, const char *path, const char *expected)
{
    return want(y, n, YAML_SEQUENCE_NODE, path, expected);
}

size_t
ch__yaml_items(const yaml_node_t *n)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return 1;
    return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

yaml_node_t *
ch__yaml_item(const ch__yaml *y, yaml_node_t *n, const char *path, size_t i, char *ipath)
{
    if (n->type != YAML_SEQUENCE_NODE) {
        snprintf(ipath, CH__YAML_PATH_MAX, "%s", path);
        return n;
    }
    ch__yaml_join_index(ipath, path, i);
    return NODE(y, n->data.sequence.items.start[i]);
}

int
ch__yaml_each_pair(ch__yaml *y, const yaml_node_t *map, const char *path, const char *key_expected,
                   ch__yaml_pair_fn fn, void *arg)
{
    int rc = 0;
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start;
         rc == 0 && pr < map->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = NODE(y, pr->key);
        const char *ks;
        char kp[CH__YAML_PATH_MAX];
        if ((rc = ch__yaml_scalar(y, k, path, key_expected, &ks)) == 0) {
            ch__yaml_join(kp, path, ks);
            rc = fn(y, k, kp, NODE(y, pr->value), arg);
        }
    }
    return rc;
}

int
ch__yaml_each_word(ch__yaml *y, yaml_node_t *n, const char *path, const char *expected,
                   const char *empty, ch__yaml_word_fn fn, void *arg)
{
    size_t count = ch__yaml_items(n);
    if (count == 0)
        return ch__yaml_fail(y, n, path, "is an empty list (expected %s)", empty);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        char ip[CH__YAML_PATH_MAX];
        yaml_node_t *v = ch__yaml_item(y, n, path, i, ip);
        const char *s;
        if ((rc = ch__yaml_scalar(y, v, ip, expected, &s)) == 0)
            rc = fn(y, v, ip, s, arg);
    }
    return rc;
}

const char *
ch__yaml_text(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

int
ch__yaml_scalar(ch__yaml *y, const yaml_node_t *n, const char *path, const char *expected,
                const char **out)
{
    if (n->type != YAML_SCALAR_NODE)
        return ch__yaml_fail(y, n, path, "expected %s, found %s", expected, kind_of(n));
    const char *s = ch__yaml_text(n);
    if (!*s || strcmp(s, "~") == 0 ||
        (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && strcmp(s, "null") == 0))
        return ch__yaml_fail(y, n, path, "is empty (expected %s)", expected);
    *out = s;
    return 0;
}

int
ch__yaml_copy_text(ch__yaml *y, const yaml_node_t *n, const char *path, const char *expected,
                   char *dst, size_t dstsz)
{
    const char *s;
    int rc = ch__yaml_scalar(y, n, path, expected, &s);
    if (rc)
        return rc;
    if (strlen(s) >= dstsz)
        return ch__yaml_fail(y, n, path, "'%.40s...' is too long (at most %zu characters)", s,
                             dstsz - 1);
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

const ch__yaml_name *
ch__yaml_find_name(const ch__yaml_name *names, const char *s)
{
    while (names->name && strcmp(names->name, s) != 0)
        names++;
    return names->name ? names : NULL;
}

int
ch__yaml_parse_bool(ch__yaml *y, const yaml_node_t *n, const char *path, int *out)
{
    static const ch__yaml_name words[] = {
        {"true", 1}, {"yes", 1}, {"on", 1}, {"false", 0}, {"no", 0}, {"off", 0}, {NULL, 0},
    };
    const char *s;
    int rc = ch__yaml_scalar(y, n, path, "true or false", &s);
    if (rc)
        return rc;
    const ch__yaml_name *w = ch__yaml_find_name(words, s);
    if (!w)
        return ch__yaml_fail(y, n, path, "'%s' is not true or false", s);
    *out = (int)w->value;
    return 0;
}

int
ch__yaml_parse_choice(ch__yaml *y, const yaml_node_t *n, const char *path,
                      const ch__yaml_name *names, const char *noun, const char *expected,
                      unsigned *out)
{
    const char *s;
    int rc = ch__yaml_scalar(y, n, path, expected, &s);
    if (rc)
        return rc;
    const ch__yaml_name *c = ch__yaml_find_name(names, s);
    if (!c)
        return ch__yaml_fail(y, n, path, "'%s' is not %s (expected %s)", s, noun, expected);
    *out = c->value;
    return 0;
}

typedef struct {
    const ch__yaml_name *names;
    const char *known; /* "red, green, blue" */
    unsigned *out;
} flags_arg;

static int
add_flag(ch__yaml *y, yaml_node_t *v, const char *path, const char *word, void *arg)
{
    const flags_arg *fa = arg;
    const ch__yaml_name *f = ch__yaml_find_name(fa->names, word);
    if (!f)
        return ch__yaml_fail(y, v, path, "'%s' is not known (expected one of: %s)", word,
                             fa->known);
    *fa->out |= f->value;
    return 0;
}

int
ch__yaml_parse_flags(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_name *names,
                     unsigned *out)
{
    char known[512] = "", empty[540];
    size_t used = 0;
    for (const ch__yaml_name *f = names; f->name; f++)
        ch__yaml_list_add(known, sizeof(known), &used, f->name);
    int rc;
    if (n->type != YAML_SCALAR_NODE &&
        (rc = ch__yaml_want_sequence(y, n, path, "a name or a list of names")))
        return rc;
    snprintf(empty, sizeof(empty), "one or more of: %s", known);
    flags_arg fa = {names, known, out};
    *out = 0;
    return ch__yaml_each_word(y, n, path, "a name", empty, add_flag, &fa);
}

static yaml_node_pair_t *
pair_of(const ch__yaml *y, const yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = NODE(y, pr->key);
        if (k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
            return pr;
    }
    return NULL;
}

yaml_node_t *
ch__yaml_get(const ch__yaml *y, const yaml_node_t *map, const char *key)
{
    yaml_node_pair_t *pr = pair_of(y, map, key);
    return pr ? NODE(y, pr->value) : NULL;
}

yaml_node_t *
ch__yaml_key_node(const ch__yaml *y, const yaml_node_t *map, const char *key)
{
    yaml_node_pair_t *pr = pair_of(y, map, key);
    return pr ? NODE(y, pr->key) : NULL;
}

int
ch__yaml_missing(ch__yaml *y, const yaml_node_t *map, const char *path, const char *key,
                 const char *expected)
{
    char kp[CH__YAML_PATH_MAX];
    ch__yaml_join(kp, path, key);
    return ch__yaml_fail(y, map, kp, "missing (expected %s)", expected);
}

/* ---- key tables ---- */

/* The index of key in keys[0..n), or n when it is not there. */
static size_t
key_index(const ch__yaml_key *keys, size_t n, const char *key)
{
    size_t i = 0;
    while (i < n && strcmp(keys[i].key, key) != 0)
        i++;
    return i;
}

int
ch__yaml_check_keys(ch__yaml *y, const yaml_node_t *map, const char *path, const ch__yaml_key *keys,
                    size_t n)
{
    yaml_node_pair_t *start = map->data.mapping.pairs.start;
    yaml_node_pair_t *top = map->data.mapping.pairs.top;
    for (yaml_node_pair_t *pr = start; pr < top; pr++) {
        yaml_node_t *k = NODE(y, pr->key);
        if (k->type != YAML_SCALAR_NODE)
            return ch__yaml_fail(y, k, path, "a key must be a plain word, not %s", kind_of(k));
        const char *ks = (const char *)k->data.scalar.value;
        char kp[CH__YAML_PATH_MAX];
        ch__yaml_join(kp, path, ks);
        if (key_index(keys, n, ks) == n) {
            char list[512] = "";
            size_t used = 0;
            for (size_t i = 0; i < n; i++)
                ch__yaml_list_add(list, sizeof(list), &used, keys[i].key);
            return ch__yaml_fail(y, k, kp, "unknown key (expected one of: %s)", list);
        }
        for (yaml_node_pair_t *q = start; q < pr; q++) {
            yaml_node_t *qk = NODE(y, q->key);
            if (strcmp((const char *)qk->data.scalar.value, ks) == 0)
                return ch__yaml_fail(y, k, kp, "given twice (first on line %d)", ch__yaml_line(qk));
        }
    }
    return 0;
}

/* Reads value v of entry k into obj. */
static int
read_value(ch__yaml *y, yaml_node_t *v, const char *path, const ch__yaml_key *k, void *obj)
{
    void *field = (char *)obj + k->offset;
    int rc = 0;
    const char *s;
    unsigned u;
    switch (k->kind) {
    case CH__YAML_TEXT:
        rc = ch__yaml_copy_text(y, v, path, k->expected, field, k->size);
        break;
    case CH__YAML_STRING:
        if ((rc = ch__yaml_scalar(y, v, path, k->expected, &s)))
            return rc;
        if (!(*(char **)field = strdup(s)))
            return CH_ENOMEM;
        break;
    case CH__YAML_BOOL:
        return ch__yaml_parse_bool(y, v, path, field);
    case CH__YAML_CHOICE:
        if ((rc = ch__yaml_parse_choice(y, v, path, k->names, k->noun, k->expected, &u)))
            return rc;
        *(int *)field = (int)u;
        break;
    case CH__YAML_FLAGS:
        return ch__yaml_parse_flags(y, v, path, k->names, field);
    case CH__YAML_SCALAR:
        if ((rc = ch__yaml_scalar(y, v, path, k->expected, &s)))
            return rc;
        return k->fn(y, v, path, k, field);
    case CH__YAML_MAP:
        rc = ch__yaml_map(y, v, path, k->expected, k->keys, k->nkeys, field);
        break;
    case CH__YAML_LIST:
        return ch__yaml_list(y, v, path, k, obj);
    case CH__YAML_CUSTOM:
        return k->fn(y, v, path, k, field);
    }
    if (rc == 0 && k->fn)
        rc = k->fn(y, v, path, k, field);
    return rc;
}

int
ch__yaml_read(ch__yaml *y, const yaml_node_t *map, const char *path, const ch__yaml_key *keys,
              size_t n, const char *key, void *obj)
{
    size_t i = key_index(keys, n, key);
    if (i == n)
        abort(); /* a key the caller's own table lacks */
    const ch__yaml_key *k = &keys[i];
    yaml_node_t *v = ch__yaml_get(y, map, key);
    if (!v)
        return k->missing ? ch__yaml_missing(y, map, path, key, k->missing) : 0;
    char kp[CH__YAML_PATH_MAX];
    ch__yaml_join(kp, path, key);
    return read_value(y, v, kp, k, obj);
}

int
ch__yaml_read_keys(ch__yaml *y, const yaml_node_t *map, const char *path, const ch__yaml_key *keys,
                   size_t n, const char *const *order, void *obj)
{
    int rc = 0;
    if (order)
        for (; rc == 0 && *order; order++)
            rc = ch__yaml_read(y, map, path, keys, n, *order, obj);
    else
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = ch__yaml_read(y, map, path, keys, n, keys[i].key, obj);
    return rc;
}

int
ch__yaml_map(ch__yaml *y, const yaml_node_t *n, const char *path, const char *expected,
             const ch__yaml_key *keys, size_t nkeys, void *obj)
{
    int rc = ch__yaml_want_mapping(y, n, path, expected);
    if (rc || (rc = ch__yaml_check_keys(y, n, path, keys, nkeys)))
        return rc;
    return ch__yaml_read_keys(y, n, path, keys, nkeys, NULL, obj);
}

int
ch__yaml_list(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_key *k, void *obj)
{
    int rc = ch__yaml_want_sequence(y, n, path, k->expected);
    if (rc)
        return rc;
    size_t count = ch__yaml_items(n);
    if (count == 0)
        return k->empty ? ch__yaml_fail(y, n, path, "%s", k->empty) : 0;
    char *items = calloc(count, k->size);
    if (!items)
        return CH_ENOMEM;
    /* The field is a T *, not a char *: copy the pointer's bytes into it. */
    memcpy((char *)obj + k->offset, &items, sizeof(items));
    size_t *n_items = (size_t *)((char *)obj + k->count);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        char ip[CH__YAML_PATH_MAX];
        yaml_node_t *v = ch__yaml_item(y, n, path, i, ip);
        *n_items = i + 1;
        rc = k->fn(y, v, ip, k, items + i * k->size);
    }
    return rc;
}
