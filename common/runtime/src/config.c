/*
 * Table-driven configuration (see config.h). Every source goes through
 * ch_config_set(), so a value from the file and one from the environment are
 * checked by the same code and produce the same error sentence. A file is
 * read whole with ch_file_read_all(), as every other small file is.
 */
#include "charter/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "charter/array.h"
#include "charter/errors.h"
#include "charter/fileio.h"
#include "charter/log.h"

/* A config file is a page of keys; anything this large is the wrong file. */
#define CONFIG_FILE_MAX (1024 * 1024)

static const ch_config_entry *
find_entry(const ch_config *cfg, const char *key, void **base)
{
    for (size_t s = 0; s < cfg->nsections; s++) {
        const ch_config_section *sec = &cfg->sections[s];
        for (size_t i = 0; i < sec->n; i++) {
            if (strcmp(sec->entries[i].key, key) == 0) {
                *base = sec->base;
                return &sec->entries[i];
            }
        }
    }
    return NULL;
}

static int
parse_int(const char *text, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0')
        return CH_EINVAL;
    *out = (int64_t)v;
    return 0;
}

static int
parse_bool(const char *text, int *out)
{
    static const char *yes[] = {"true", "yes", "on", "1"};
    static const char *no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return CH_EINVAL;
}

int
ch_config_kafka_set(ch_config *cfg, const char *key, const char *value)
{
    ch_kv_list *l = &cfg->kafka;
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->items[i].key, key) == 0) {
            char *v = strdup(value);
            if (!v)
                return CH_ENOMEM;
            free(l->items[i].value);
            l->items[i].value = v;
            return 0;
        }
    }
    if (ch_array_grow(&l->items, &l->cap, l->n + 1, sizeof(*l->items)) != 0)
        return CH_ENOMEM;
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return CH_ENOMEM;
    }
    l->items[l->n].key = k;
    l->items[l->n].value = v;
    l->n++;
    return 0;
}

const char *
ch_config_kafka_get(const ch_config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->kafka.n; i++)
        if (strcmp(cfg->kafka.items[i].key, key) == 0)
            return cfg->kafka.items[i].value;
    return NULL;
}

int
ch_config_set(ch_config *cfg, const char *key, const char *value, char *errstr, size_t errstr_size)
{
    if (strncmp(key, "kafka.", 6) == 0) {
        if (key[6] == '\0') {
            snprintf(errstr, errstr_size, "key '%s' names no Kafka property", key);
            return CH_EINVAL;
        }
        int rc = ch_config_kafka_set(cfg, key + 6, value);
        if (rc)
            snprintf(errstr, errstr_size, "key '%s': out of memory", key);
        return rc;
    }
    void *base;
    const ch_config_entry *e = find_entry(cfg, key, &base);
    if (!e) {
        snprintf(errstr, errstr_size, "unknown key '%s' (see --help for the keys)", key);
        return CH_EINVAL;
    }
    /* Converted first, then validated, then stored: a value is stored whole
     * or not at all. */
    int64_t num = 0;
    int flag = 0;
    switch (e->type) {
    case CH_CFG_INT:
        if (parse_int(value, &num) != 0) {
            snprintf(errstr, errstr_size, "key '%s': '%s' is not a whole number", key, value);
            return CH_EINVAL;
        }
        if ((e->min || e->max) && (num < e->min || num > e->max)) {
            snprintf(errstr, errstr_size, "key '%s': %lld is outside %lld..%lld", key,
                     (long long)num, (long long)e->min, (long long)e->max);
            return CH_EINVAL;
        }
        break;
    case CH_CFG_BOOL:
        if (parse_bool(value, &flag) != 0) {
            snprintf(errstr, errstr_size, "key '%s': '%s' is not true or false", key, value);
            return CH_EINVAL;
        }
        break;
    case CH_CFG_STRING:
        break;
    default:
        snprintf(errstr, errstr_size, "key '%s' has an unknown type in its table", key);
        return CH_EINVAL;
    }
    char why[200] = "";
    if (e->validate && e->validate(value, why, sizeof(why)) != 0) {
        snprintf(errstr, errstr_size, "key '%s': %s", key, why);
        return CH_EINVAL;
    }
    char *field = (char *)base + e->offset;
    if (e->type == CH_CFG_INT) {
        memcpy(field, &num, sizeof(num));
    } else if (e->type == CH_CFG_BOOL) {
        memcpy(field, &flag, sizeof(flag));
    } else {
        char *copy = strdup(value), *old;
        if (!copy) {
            snprintf(errstr, errstr_size, "key '%s': out of memory", key);
            return CH_ENOMEM;
        }
        memcpy(&old, field, sizeof(old));
        free(old);
        memcpy(field, &copy, sizeof(copy));
    }
    return 0;
}

int
ch_config_defaults(ch_config *cfg, char *errstr, size_t errstr_size)
{
    for (size_t s = 0; s < cfg->nsections; s++) {
        const ch_config_section *sec = &cfg->sections[s];
        for (size_t i = 0; i < sec->n; i++) {
            const ch_config_entry *e = &sec->entries[i];
            if (!e->def) {
                if (e->type == CH_CFG_STRING) { /* empty, and not validated */
                    char *empty = strdup(""), *old;
                    if (!empty)
                        return CH_ENOMEM;
                    memcpy(&old, (char *)sec->base + e->offset, sizeof(old));
                    free(old);
                    memcpy((char *)sec->base + e->offset, &empty, sizeof(empty));
                }
                continue; /* numbers are left zero */
            }
            int rc = ch_config_set(cfg, e->key, e->def ? e->def : "", errstr, errstr_size);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static char *
trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

int
ch_config_load_text(ch_config *cfg, const char *text, const char *name, char *errstr,
                    size_t errstr_size)
{
    char *copy = strdup(text);
    if (!copy) {
        snprintf(errstr, errstr_size, "%s: out of memory", name);
        return CH_ENOMEM;
    }
    int rc = 0, lineno = 0;
    char *p = copy;
    while (p) {
        char *line = p;
        char *nl = strchr(p, '\n');
        if (nl) {
            *nl = '\0';
            p = nl + 1;
        } else {
            p = NULL;
        }
        lineno++;
        char *t = trim(line);
        if (*t == '\0' || *t == '#')
            continue;
        char *eq = strchr(t, '=');
        if (!eq) {
            snprintf(errstr, errstr_size, "%s:%d: expected 'key = value'", name, lineno);
            rc = CH_EINVAL;
            break;
        }
        *eq = '\0';
        char *key = trim(t);
        char *value = trim(eq + 1);
        size_t vlen = strlen(value);
        if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
            value[vlen - 1] = '\0';
            value++;
        }
        if (*key == '\0') {
            snprintf(errstr, errstr_size, "%s:%d: missing key before '='", name, lineno);
            rc = CH_EINVAL;
            break;
        }
        char why[400];
        rc = ch_config_set(cfg, key, value, why, sizeof(why));
        if (rc) {
            snprintf(errstr, errstr_size, "%s:%d: %s", name, lineno, why);
            break;
        }
    }
    free(copy);
    return rc;
}

int
ch_config_load_file(ch_config *cfg, const char *path, char *errstr, size_t errstr_size)
{
    char *buf, why[512];
    int rc = ch_file_read_all(path, CONFIG_FILE_MAX, &buf, NULL, why, sizeof(why));
    if (rc == CH_EIO) {
        /* ch_file_read_all says "<path>: cannot open: <reason>" */
        const char *open_failed = strstr(why, ": cannot open: ");
        if (open_failed)
            snprintf(errstr, errstr_size, "cannot open config file %s: %s", path,
                     open_failed + strlen(": cannot open: "));
        else
            snprintf(errstr, errstr_size, "cannot read config file %s", path);
        return rc;
    }
    if (rc != 0) {
        snprintf(errstr, errstr_size, "%s", why);
        return rc;
    }
    rc = ch_config_load_text(cfg, buf, path, errstr, errstr_size);
    free(buf);
    return rc;
}

/* "redis.url" -> "CHARTER_REDIS_URL" */
static void
env_name_of(const char *key, char *out, size_t outsz)
{
    size_t n = (size_t)snprintf(out, outsz, "CHARTER_");
    for (const char *k = key; *k && n + 1 < outsz; k++)
        out[n++] = (*k == '.' || *k == '-') ? '_' : (char)toupper((unsigned char)*k);
    out[n] = '\0';
}

int
ch_config_load_env(ch_config *cfg, char *const *envp, char *errstr, size_t errstr_size)
{
    for (char *const *e = envp; e && *e; e++) {
        const char *var = *e;
        if (strncmp(var, "CHARTER_", 8) != 0)
            continue;
        const char *eq = strchr(var, '=');
        if (!eq)
            continue;
        size_t nlen = (size_t)(eq - var);
        char name[256];
        if (nlen >= sizeof(name))
            continue;
        memcpy(name, var, nlen);
        name[nlen] = '\0';
        const char *value = eq + 1;
        char why[400];

        if (strncmp(name, "CHARTER_KAFKA_", 14) == 0 && name[14]) {
            char key[256];
            size_t k = 0;
            for (const char *c = name + 14; *c && k + 1 < sizeof(key); c++)
                key[k++] = *c == '_' ? '.' : (char)tolower((unsigned char)*c);
            key[k] = '\0';
            if (ch_config_kafka_set(cfg, key, value)) {
                snprintf(errstr, errstr_size, "environment %s: out of memory", name);
                return CH_ENOMEM;
            }
            continue;
        }
        const ch_config_entry *match = NULL;
        for (size_t s = 0; s < cfg->nsections && !match; s++) {
            for (size_t i = 0; i < cfg->sections[s].n; i++) {
                char want[256];
                env_name_of(cfg->sections[s].entries[i].key, want, sizeof(want));
                if (strcmp(want, name) == 0) {
                    match = &cfg->sections[s].entries[i];
                    break;
                }
            }
        }
        if (match) {
            if (ch_config_set(cfg, match->key, value, why, sizeof(why))) {
                snprintf(errstr, errstr_size, "environment %s: %s", name, why);
                return CH_EINVAL;
            }
            continue;
        }
        if (cfg->env_prefix && strncmp(name, cfg->env_prefix, strlen(cfg->env_prefix)) == 0) {
            snprintf(errstr, errstr_size,
                     "environment %s names no key of this service (see --help for the keys)", name);
            return CH_EINVAL;
        }
    }
    return 0;
}

const char *
ch_config_string(const ch_config *cfg, const char *key)
{
    void *base;
    const ch_config_entry *e = find_entry(cfg, key, &base);
    if (!e || e->type != CH_CFG_STRING)
        return NULL;
    const char *value;
    memcpy(&value, (const char *)base + e->offset, sizeof(value));
    return value;
}

int
ch_config_int(const ch_config *cfg, const char *key, int64_t *out)
{
    void *base;
    const ch_config_entry *e = find_entry(cfg, key, &base);
    if (!e || e->type != CH_CFG_INT)
        return CH_EINVAL;
    memcpy(out, (const char *)base + e->offset, sizeof(*out));
    return 0;
}

void
ch_config_print_help(const ch_config *cfg, FILE *out)
{
    fprintf(out, "Configuration keys (file `key = value`, or the environment variable shown):\n");
    for (size_t s = 0; s < cfg->nsections; s++) {
        for (size_t i = 0; i < cfg->sections[s].n; i++) {
            const ch_config_entry *e = &cfg->sections[s].entries[i];
            char env[256];
            env_name_of(e->key, env, sizeof(env));
            const char *type = e->type == CH_CFG_INT    ? "int"
                               : e->type == CH_CFG_BOOL ? "bool"
                                                        : "string";
            fprintf(out, "  %-28s %-6s default: %s\n      env %s\n      %s\n", e->key, type,
                    e->def && *e->def ? e->def : "(empty)", env, e->help);
        }
    }
    fprintf(out, "  kafka.<property>             any librdkafka property, e.g. "
                 "kafka.bootstrap.servers\n      env CHARTER_KAFKA_<PROPERTY> ('.' as '_')\n");
}

void
ch_config_free(ch_config *cfg)
{
    for (size_t s = 0; s < cfg->nsections; s++) {
        const ch_config_section *sec = &cfg->sections[s];
        for (size_t i = 0; i < sec->n; i++) {
            if (sec->entries[i].type != CH_CFG_STRING)
                continue;
            char *field = (char *)sec->base + sec->entries[i].offset;
            char *p;
            memcpy(&p, field, sizeof(p));
            free(p);
            p = NULL;
            memcpy(field, &p, sizeof(p));
        }
    }
    for (size_t i = 0; i < cfg->kafka.n; i++) {
        free(cfg->kafka.items[i].key);
        free(cfg->kafka.items[i].value);
    }
    free(cfg->kafka.items);
    cfg->kafka.items = NULL;
    cfg->kafka.n = cfg->kafka.cap = 0;
}

int
ch_config_validate_hostport(const char *text, char *errstr, size_t errstr_size)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text) {
        snprintf(errstr, errstr_size, "'%s' is not HOST:PORT", text);
        return CH_EINVAL;
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 0 || port > 65535 || end == colon + 1) {
        snprintf(errstr, errstr_size, "'%s' has no valid port (0..65535)", text);
        return CH_EINVAL;
    }
    return 0;
}

int
ch_config_validate_log_level(const char *text, char *errstr, size_t errstr_size)
{
    ch_log_level lvl;
    if (ch_log_level_parse(text, &lvl) != 0) {
        snprintf(errstr, errstr_size, "'%s' is not one of debug, info, warn, error", text);
        return CH_EINVAL;
    }
    return 0;
}
