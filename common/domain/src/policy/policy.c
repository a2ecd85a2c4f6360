/*
 * Policies (see policy.h and docs/policies.md): loading a file or text,
 * freeing, and the lookups the services make once a policy is loaded.
 *
 * The walk is split by what it reads: load.c the root and everything but the
 * promises, promise.c the promises, both over yaml_walk.c's key tables;
 * describe.c turns a loaded promise back into a sentence. This file holds
 * the document's edges: libyaml's own errors, an empty file, a second
 * document, out of memory, and the one read of a file.
 *
 * The checks that need the whole file (roles referenced by warnings, the same
 * channel and case type promised twice) run after each piece has been read;
 * the completeness rule (every channel a promise lists has its clocks) is
 * checked per promise, where the error can name the missing key.
 */
#include "charter/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "charter/errors.h"
#include "charter/fileio.h"
#include "policy_int.h"

#define MAX_FILE_BYTES (1024 * 1024)

int
ch_policy_load_text(const char *text, size_t len, const char *name, ch_policy *out, char *errstr,
                    size_t errstr_size)
{
    memset(out, 0, sizeof(*out));
    if (!name)
        name = "policy";
    char scratch[8];
    if (!errstr || errstr_size == 0) {
        errstr = scratch;
        errstr_size = sizeof(scratch);
    }
    errstr[0] = '\0';

    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(errstr, errstr_size, "%s: out of memory", name);
        return CH_ENOMEM;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        int rc = parser.error == YAML_MEMORY_ERROR ? CH_ENOMEM : CH_EINVAL;
        snprintf(errstr, errstr_size, "%s:%zu:%zu: not valid YAML: %s%s%s", name,
                 parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                 parser.problem ? parser.problem : "unreadable", parser.context ? " " : "",
                 parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return rc;
    }
    ch__policy_ld l = {
        .y = {.doc = &doc, .name = name, .err = errstr, .errsz = errstr_size},
        .p = out,
    };
    snprintf(out->source, sizeof(out->source), "%s", name);
    int rc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        rc = ch__yaml_fail(&l.y, NULL, "",
                           "the file is empty (expected a policy; see docs/policies.md)");
    } else {
        rc = ch__policy_load_root(&l, root);
        if (rc == 0) {
            yaml_document_t next;
            if (!yaml_parser_load(&parser, &next)) {
                rc = ch__yaml_fail(&l.y, NULL, "", "not valid YAML after the first document");
            } else {
                yaml_node_t *r2 = yaml_document_get_root_node(&next);
                if (r2)
                    rc = ch__yaml_fail(
                        &l.y, r2, "",
                        "a second document ('---') is not allowed: one policy per file");
                yaml_document_delete(&next);
            }
        }
    }
    if (rc == CH_ENOMEM)
        snprintf(errstr, errstr_size, "%s: out of memory", name);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (rc) {
        ch_policy_free(out);
        return rc;
    }
    return 0;
}

int
ch_policy_load_file(const char *path, ch_policy *out, char *errstr, size_t errstr_size)
{
    memset(out, 0, sizeof(*out));
    char *text;
    size_t len;
    int rc = ch_file_read_all(path, MAX_FILE_BYTES, &text, &len, errstr, errstr_size);
    if (rc == CH_EINVAL && errstr && errstr_size) /* "<path>: larger than <max> bytes" */
        snprintf(errstr + strlen(errstr), errstr_size - strlen(errstr),
                 "; a policy is a short file");
    if (rc != 0)
        return rc;
    rc = ch_policy_load_text(text, len, path, out, errstr, errstr_size);
    free(text);
    return rc;
}

void
ch_policy_free(ch_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->npromises; i++) {
        free(p->promises[i].says);
        free(p->promises[i].warnings);
    }
    free(p->promises);
    for (size_t i = 0; i < p->nvisit_requirements; i++)
        free(p->visit_requirements[i]);
    free(p->visit_requirements);
    free(p->roles);
    free(p->closures);
    memset(p, 0, sizeof(*p));
}

int
ch_policy_role_find(const ch_policy *p, const char *key)
{
    for (size_t i = 0; i < p->nroles; i++)
        if (strcmp(p->roles[i].key, key) == 0)
            return (int)i;
    return -1;
}

const ch_policy_promise *
ch_policy_find_promise(const ch_policy *p, const char *channel, const char *case_type)
{
    ch_policy_channel c = CH_POLICY_CHANNEL_ANY;
    ch_policy_case_type t = CH_POLICY_CASE_ANY;
    if (channel)
        (void)ch_policy_channel_parse(channel, &c);
    if (case_type)
        (void)ch_policy_case_type_parse(case_type, &t);
    const unsigned tries[4][2] = {
        {1u << c, 1u << t},
        {1u, 1u << t},
        {1u << c, 1u},
        {1u, 1u},
    };
    for (int k = 0; k < 4; k++)
        for (size_t i = 0; i < p->npromises; i++)
            if ((p->promises[i].channels & tries[k][0]) &&
                (p->promises[i].case_types & tries[k][1]))
                return &p->promises[i];
    return NULL;
}

ch_calendar *
ch_policy_calendar_new(const ch_policy *p)
{
    ch_calendar *cal = ch_calendar_new(p->nation);
    if (!cal)
        return NULL;
    for (size_t i = 0; i < p->nclosures; i++)
        for (int32_t d = p->closures[i].first; d <= p->closures[i].last; d++)
            if (ch_calendar_add_closure(cal, d) != 0) {
                ch_calendar_free(cal);
                return NULL;
            }
    return cal;
}
