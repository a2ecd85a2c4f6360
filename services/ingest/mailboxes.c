/*
 * The mailbox map (mailboxes.h): a small array searched linearly, exact
 * addresses before domains. A council has a handful of mailboxes, and a
 * lookup is once per RCPT TO, so nothing cleverer is needed.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "charter/errors.h"
#include "charter/fileio.h"
#include "charter/policy.h"
#include "mailboxes.h"

typedef struct {
    char addr[256]; /* lower case; "*@domain" for a domain line */
    char org[64];   /* "" on a domain line: the local part */
    char case_type[40];
} entry;

struct ingest_mailboxes {
    entry *e;
    size_t n;
};

static void
lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static int
org_valid(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-' || *s == '_'))
            return 0;
    return 1;
}

int
ingest_mailboxes_parse(const char *text, size_t len, const char *name, ingest_mailboxes **out,
                       char *errstr, size_t errstr_size)
{
    *out = NULL;
    ingest_mailboxes *m = calloc(1, sizeof(*m));
    if (!m)
        goto nomem;
    size_t cap = 0, lineno = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        lineno++;
        char line[512];
        size_t n = (size_t)(le - p);
        const char *hash = memchr(p, '#', n);
        if (hash)
            n = (size_t)(hash - p);
        if (n >= sizeof(line)) {
            snprintf(errstr, errstr_size, "%s:%zu: the line is too long", name, lineno);
            goto bad;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        p = nl ? nl + 1 : end;
        char *save = NULL, *w[4] = {0};
        int nw = 0;
        for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
            if (nw == 3) {
                snprintf(errstr, errstr_size,
                         "%s:%zu: expected \"ADDRESS ORGANISATION [CASE_TYPE]\" or "
                         "\"*@DOMAIN [ORGANISATION [CASE_TYPE]]\", found more words",
                         name, lineno);
                goto bad;
            }
            w[nw++] = t;
        }
        if (nw == 0)
            continue;
        const char *at = strchr(w[0], '@');
        int domain_line = w[0][0] == '*';
        if (!at || at == w[0] || !at[1] || strchr(at + 1, '@') || strlen(w[0]) >= 256 ||
            (domain_line && at != w[0] + 1) || strchr(at + 1, '*') ||
            (!domain_line && strchr(w[0], '*'))) {
            snprintf(errstr, errstr_size,
                     "%s:%zu: '%.80s' is not a mailbox address or a \"*@DOMAIN\" pattern", name,
                     lineno, w[0]);
            goto bad;
        }
        if (nw == 1 && !domain_line) {
            snprintf(errstr, errstr_size,
                     "%s:%zu: '%.80s' names no organisation (\"ADDRESS ORGANISATION "
                     "[CASE_TYPE]\")",
                     name, lineno, w[0]);
            goto bad;
        }
        if (nw > 1 && (strlen(w[1]) >= 64 || !org_valid(w[1]))) {
            snprintf(errstr, errstr_size,
                     "%s:%zu: '%.80s' is not an organisation id (lower-case letters, digits, "
                     "'-' and '_')",
                     name, lineno, w[1]);
            goto bad;
        }
        ch_policy_case_type ct;
        if (nw > 2 && (ch_policy_case_type_parse(w[2], &ct) != 0 || ct == CH_POLICY_CASE_ANY)) {
            snprintf(errstr, errstr_size,
                     "%s:%zu: '%.80s' is not a case type (e.g. enquiry, "
                     "complaint_stage_1, service_request)",
                     name, lineno, w[2]);
            goto bad;
        }
        if (m->n == cap) {
            cap = cap ? cap * 2 : 8;
            entry *e = realloc(m->e, cap * sizeof(*e));
            if (!e)
                goto nomem;
            m->e = e;
        }
        entry *e = &m->e[m->n];
        snprintf(e->addr, sizeof(e->addr), "%s", w[0]);
        lower(e->addr);
        for (size_t i = 0; i < m->n; i++)
            if (strcmp(m->e[i].addr, e->addr) == 0) {
                snprintf(errstr, errstr_size, "%s:%zu: '%.80s' is listed twice", name, lineno,
                         w[0]);
                goto bad;
            }
        snprintf(e->org, sizeof(e->org), "%s", nw > 1 ? w[1] : "");
        snprintf(e->case_type, sizeof(e->case_type), "%s",
                 nw > 2 ? w[2] : INGEST_MAILBOX_DEFAULT_TYPE);
        m->n++;
    }
    *out = m;
    return 0;
nomem:
    snprintf(errstr, errstr_size, "out of memory");
    ingest_mailboxes_free(m);
    return CH_ENOMEM;
bad:
    ingest_mailboxes_free(m);
    return CH_EINVAL;
}

int
ingest_mailboxes_load(const char *path, ingest_mailboxes **out, char *errstr, size_t errstr_size)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = ch_file_read_all(path, 1 << 20, &buf, &len, errstr, errstr_size);
    if (rc != 0)
        return rc;
    rc = ingest_mailboxes_parse(buf, len, path, out, errstr, errstr_size);
    free(buf);
    return rc;
}

void
ingest_mailboxes_free(ingest_mailboxes *m)
{
    if (!m)
        return;
    free(m->e);
    free(m);
}

size_t
ingest_mailboxes_count(const ingest_mailboxes *m)
{
    return m ? m->n : 0;
}

int
ingest_mailboxes_find(const ingest_mailboxes *m, const char *address, char *org, size_t orgsz,
                      char *case_type, size_t case_type_sz)
{
    char a[256];
    if (!m || snprintf(a, sizeof(a), "%s", address) >= (int)sizeof(a))
        return 0;
    lower(a);
    const char *at = strrchr(a, '@');
    if (!at || at == a)
        return 0;
    const entry *hit = NULL;
    for (size_t i = 0; i < m->n && !hit; i++)
        if (strcmp(m->e[i].addr, a) == 0)
            hit = &m->e[i];
    for (size_t i = 0; i < m->n && !hit; i++)
        if (m->e[i].addr[0] == '*' && strcmp(m->e[i].addr + 1, at) == 0)
            hit = &m->e[i];
    if (!hit)
        return 0;
    if (hit->org[0]) {
        snprintf(org, orgsz, "%s", hit->org);
    } else {
        size_t n = (size_t)(at - a);
        if (n >= orgsz || n >= 64)
            return 0;
        memcpy(org, a, n);
        org[n] = '\0';
    }
    snprintf(case_type, case_type_sz, "%s", hit->case_type);
    return 1;
}
