/*
 * The YAML walker (common/domain/src/policy/yaml_walk.h), on a small format of
 * its own rather than a policy: what a key table fills in, and the errors a
 * person editing the file meets. Each error is checked whole, because the
 * sentence is the interface: "<file>:<line>:<col>: <key path>: <what is
 * wrong> (expected <what would do>)".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "charter/errors.h"
#include "yaml_walk.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef struct {
    int depth;
    char label[8];
} inner;

typedef struct {
    char name[8];
    char *note;
    int on;
    int size;
    unsigned colours;
    inner in;
    int *items; /* a LIST: calloc'd, nitems long */
    size_t nitems;
} thing;

enum { SMALL = 1, LARGE = 2 };

static const ch__yaml_name sizes[] = {{"small", SMALL}, {"large", LARGE}, {NULL, 0}};
static const ch__yaml_name colours[] = {{"red", 1}, {"green", 2}, {"blue", 4}, {NULL, 0}};

/* A SCALAR key's reader: the walker has checked it is a non-empty scalar. */
static int
positive(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_key *k, void *field)
{
    (void)k;
    const char *s = ch__yaml_text(n);
    int v = atoi(s);
    if (v <= 0)
        return ch__yaml_fail(y, n, path, "'%s' is not above zero", s);
    *(int *)field = v;
    return 0;
}

/* A LIST's item reader: one positive number. */
static int
read_item(ch__yaml *y, yaml_node_t *n, const char *path, const ch__yaml_key *k, void *field)
{
    const char *s;
    int rc = ch__yaml_scalar(y, n, path, "a number", &s);
    return rc ? rc : positive(y, n, path, k, field);
}

static const ch__yaml_key inner_keys[] = {
    {.key = "depth",
     .kind = CH__YAML_SCALAR,
     .offset = offsetof(inner, depth),
     .expected = "a whole number",
     .missing = "how deep, e.g. 3",
     .fn = positive},
    {.key = "label",
     .kind = CH__YAML_TEXT,
     .offset = offsetof(inner, label),
     .size = sizeof(((inner *)0)->label),
     .expected = "a short label"},
};

static const ch__yaml_key thing_keys[] = {
    {.key = "name",
     .kind = CH__YAML_TEXT,
     .offset = offsetof(thing, name),
     .size = sizeof(((thing *)0)->name),
     .expected = "a name",
     .missing = "the thing's name"},
    {.key = "note", .kind = CH__YAML_STRING, .offset = offsetof(thing, note), .expected = "a note"},
    {.key = "on", .kind = CH__YAML_BOOL, .offset = offsetof(thing, on)},
    {.key = "size",
     .kind = CH__YAML_CHOICE,
     .offset = offsetof(thing, size),
     .expected = "small or large",
     .names = sizes,
     .noun = "a size"},
    {.key = "colours",
     .kind = CH__YAML_FLAGS,
     .offset = offsetof(thing, colours),
     .names = colours},
    {.key = "inner",
     .kind = CH__YAML_MAP,
     .offset = offsetof(thing, in),
     .expected = "a mapping with depth and label",
     .keys = inner_keys,
     .nkeys = COUNT(inner_keys)},
    {.key = "items",
     .kind = CH__YAML_LIST,
     .offset = offsetof(thing, items),
     .expected = "a list of numbers",
     .fn = read_item,
     .size = sizeof(int),
     .count = offsetof(thing, nitems),
     .empty = "is empty (expected at least one number)"},
};

/* Walks text as "f.yaml" into *t; returns the walker's code, err its sentence. */
static int
walk(const char *text, thing *t, char *err, size_t errsz)
{
    memset(t, 0, sizeof(*t));
    err[0] = '\0';
    yaml_parser_t parser;
    yaml_document_t doc;
    assert_true(yaml_parser_initialize(&parser));
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    assert_true(yaml_parser_load(&parser, &doc));
    ch__yaml y = {.doc = &doc, .name = "f.yaml", .err = err, .errsz = errsz};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    assert_non_null(root);
    int rc = ch__yaml_map(&y, root, "", "a thing", thing_keys, COUNT(thing_keys), t);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

/* text must be refused with exactly the sentence want. */
static void
assert_walk_fails(const char *text, const char *want)
{
    thing t;
    char err[512];
    int rc = walk(text, &t, err, sizeof(err));
    free(t.note);
    free(t.items);
    if (rc != CH_EINVAL)
        fail_msg("walked (rc %d) but should fail with\n  %s\n--- text\n%s", rc, want, text);
    if (strcmp(err, want) != 0)
        fail_msg("got  %s\nwant %s", err, want);
}

static void
test_table_fills_every_kind(void **state)
{
    (void)state;
    thing t;
    char err[512];
    assert_int_equal(walk("name: box\n"
                          "note: fragile\n"
                          "on: yes\n"
                          "size: large\n"
                          "colours: [red, blue]\n"
                          "inner:\n"
                          "  depth: 3\n"
                          "  label: top\n"
                          "items: [4, 5, 6]\n",
                          &t, err, sizeof(err)),
                     0);
    assert_string_equal(t.name, "box");
    assert_string_equal(t.note, "fragile");
    assert_int_equal(t.on, 1);
    assert_int_equal(t.size, LARGE);
    assert_int_equal(t.colours, 1u | 4u);
    assert_int_equal(t.in.depth, 3);
    assert_string_equal(t.in.label, "top");
    assert_int_equal(t.nitems, 3);
    assert_int_equal(t.items[0], 4);
    assert_int_equal(t.items[2], 6);
    free(t.note);
    free(t.items);

    /* Optional keys left out stay as they were; one name is a list of one. */
    assert_int_equal(walk("name: box\ncolours: green\non: off\n", &t, err, sizeof(err)), 0);
    assert_null(t.note);
    assert_int_equal(t.on, 0);
    assert_int_equal(t.size, 0);
    assert_int_equal(t.colours, 2u);
    assert_int_equal(t.in.depth, 0);
    assert_null(t.items);
    assert_int_equal(t.nitems, 0);
}

static void
test_wrong_type_says_what_was_found(void **state)
{
    (void)state;
    assert_walk_fails("name: {first: a}\n",
                      "f.yaml:1:7: name: expected a name, found a mapping (key: value lines)");
    assert_walk_fails("name: [a, b]\n", "f.yaml:1:7: name: expected a name, found a list");
    assert_walk_fails("name: box\ninner: deep\n",
                      "f.yaml:2:8: inner: expected a mapping with depth and label, found a "
                      "single value");
    assert_walk_fails("name: box\nitems: 3\n",
                      "f.yaml:2:8: items: expected a list of numbers, found a single value");
    assert_walk_fails("name: box\ninner:\n  depth: [3]\n",
                      "f.yaml:3:10: inner.depth: expected a whole number, found a list");
    assert_walk_fails("- a\n", "f.yaml:1:1: expected a thing, found a list");
    assert_walk_fails("name: box\ncolours: {red: 1}\n",
                      "f.yaml:2:10: colours: expected a name or a list of names, found a mapping "
                      "(key: value lines)");
}

static void
test_unknown_key_names_the_allowed_keys(void **state)
{
    (void)state;
    assert_walk_fails("name: box\ncolour: red\n",
                      "f.yaml:2:1: colour: unknown key (expected one of: name, note, on, size, "
                      "colours, inner, items)");
    assert_walk_fails("name: box\ninner:\n  depth: 3\n  lable: x\n",
                      "f.yaml:4:3: inner.lable: unknown key (expected one of: depth, label)");
    assert_walk_fails("name: box\non: yes\non: no\n",
                      "f.yaml:3:1: on: given twice (first on line 2)");
    assert_walk_fails("[a]: 1\n", "f.yaml:1:1: a key must be a plain word, not a list");
}

static void
test_values_refused_with_file_line_column_and_path(void **state)
{
    (void)state;
    assert_walk_fails("note: x\n", "f.yaml:1:1: name: missing (expected the thing's name)");
    assert_walk_fails("name: box\ninner:\n  label: x\n",
                      "f.yaml:3:3: inner.depth: missing (expected how deep, e.g. 3)");
    assert_walk_fails("name: box\ninner:\n  depth: -2\n",
                      "f.yaml:3:10: inner.depth: '-2' is not above zero");
    assert_walk_fails("name: ~\n", "f.yaml:1:7: name: is empty (expected a name)");
    assert_walk_fails("name: \"\"\n", "f.yaml:1:7: name: is empty (expected a name)");
    assert_walk_fails("name: cardboard-box\n",
                      "f.yaml:1:7: name: 'cardboard-box...' is too long (at most 7 characters)");
    assert_walk_fails("name: box\non: maybe\n", "f.yaml:2:5: on: 'maybe' is not true or false");
    assert_walk_fails("name: box\nsize: medium\n",
                      "f.yaml:2:7: size: 'medium' is not a size (expected small or large)");
    assert_walk_fails("name: box\ncolours: [red, pink]\n",
                      "f.yaml:2:16: colours[1]: 'pink' is not known (expected one of: red, green, "
                      "blue)");
    assert_walk_fails("name: box\ncolours: []\n",
                      "f.yaml:2:10: colours: is an empty list (expected one or more of: red, "
                      "green, blue)");
    assert_walk_fails("name: box\nitems:\n  - 1\n  - [2]\n",
                      "f.yaml:4:5: items[1]: expected a number, found a list");
    assert_walk_fails("name: box\nitems: [1, 0]\n", "f.yaml:2:12: items[1]: '0' is not above zero");
    assert_walk_fails("name: box\nitems: []\n",
                      "f.yaml:2:8: items: is empty (expected at least one number)");
}

static void
test_paths_and_lists_are_cut_not_overrun(void **state)
{
    (void)state;
    char out[CH__YAML_PATH_MAX], longkey[300];
    memset(longkey, 'k', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    ch__yaml_join(out, "", "top");
    assert_string_equal(out, "top");
    ch__yaml_join(out, "a.b", "c");
    assert_string_equal(out, "a.b.c");
    ch__yaml_join_index(out, "list", 12);
    assert_string_equal(out, "list[12]");
    ch__yaml_join(out, "a", longkey);
    assert_int_equal(strlen(out), CH__YAML_PATH_MAX - 1);
    assert_memory_equal(out, "a.kkk", 5);

    /* A list that does not fit keeps what fits and takes nothing more. */
    char list[12] = "";
    size_t used = 0;
    ch__yaml_list_add(list, sizeof(list), &used, "one");
    ch__yaml_list_add(list, sizeof(list), &used, "two");
    assert_string_equal(list, "one, two");
    ch__yaml_list_add(list, sizeof(list), &used, "three");
    assert_string_equal(list, "one, two, t");
    ch__yaml_list_add(list, sizeof(list), &used, "x");
    assert_string_equal(list, "one, two, t");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_fills_every_kind),
        cmocka_unit_test(test_wrong_type_says_what_was_found),
        cmocka_unit_test(test_unknown_key_names_the_allowed_keys),
        cmocka_unit_test(test_values_refused_with_file_line_column_and_path),
        cmocka_unit_test(test_paths_and_lists_are_cut_not_overrun),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
