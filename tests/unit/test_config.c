/*
 * The config table is what an operator meets first: a typo must stop
 * start-up with a sentence naming the key (or file and line, or variable),
 * and every source must land in the same struct field. The tests build a
 * small two-section table shaped like a service's (shared keys plus the
 * service's own under CHARTER_INGEST_) and drive it through defaults, text,
 * files and an explicit envp, freeing with ch_config_free() so the sanitizer
 * build checks ownership.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "charter/config.h"
#include "charter/errors.h"

struct common_cfg {
    char *listen;
    char *redis_url;
    char *log_level;
};

struct ingest_cfg {
    int64_t workers;
    int64_t skew_ms;
    char *api_token;
    int debug;
    int strict;
};

static const ch_config_entry common_keys[] = {
    {"http.listen", CH_CFG_STRING, "127.0.0.1:8080", offsetof(struct common_cfg, listen),
     "HOST:PORT the HTTP server binds", 0, 0, ch_config_validate_hostport},
    {"redis.url", CH_CFG_STRING, "redis://127.0.0.1:6379", offsetof(struct common_cfg, redis_url),
     "Redis URL", 0, 0, NULL},
    {"log.level", CH_CFG_STRING, "info", offsetof(struct common_cfg, log_level),
     "debug, info, warn or error", 0, 0, ch_config_validate_log_level},
};

static const ch_config_entry ingest_keys[] = {
    {"ingest.workers", CH_CFG_INT, "4", offsetof(struct ingest_cfg, workers), "worker count", 1, 64,
     NULL},
    {"ingest.skew-ms", CH_CFG_INT, "-250", offsetof(struct ingest_cfg, skew_ms),
     "clock skew allowed, any whole number", 0, 0, NULL},
    {"ingest.api-token", CH_CFG_STRING, NULL, offsetof(struct ingest_cfg, api_token),
     "bearer token; empty disables auth", 0, 0, NULL},
    {"ingest.debug", CH_CFG_BOOL, "false", offsetof(struct ingest_cfg, debug), "debug mode", 0, 0,
     NULL},
    {"ingest.strict", CH_CFG_BOOL, "yes", offsetof(struct ingest_cfg, strict), "strict mode", 0, 0,
     NULL},
};

typedef struct {
    struct common_cfg common;
    struct ingest_cfg ingest;
    ch_config_section sections[2];
    ch_config cfg;
    char err[512];
} fixture;

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->sections[0] =
        (ch_config_section){common_keys, sizeof(common_keys) / sizeof(common_keys[0]), &f->common};
    f->sections[1] =
        (ch_config_section){ingest_keys, sizeof(ingest_keys) / sizeof(ingest_keys[0]), &f->ingest};
    f->cfg.sections = f->sections;
    f->cfg.nsections = 2;
    f->cfg.env_prefix = "CHARTER_INGEST_";
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    ch_config_free(&f->cfg);
    free(f);
    return 0;
}

static void
defaults_ok(fixture *f)
{
    int rc = ch_config_defaults(&f->cfg, f->err, sizeof(f->err));
    if (rc != 0)
        fail_msg("ch_config_defaults: %d %s", rc, f->err);
}

static void
text_ok(fixture *f, const char *text)
{
    f->err[0] = '\0';
    int rc = ch_config_load_text(&f->cfg, text, "test.conf", f->err, sizeof(f->err));
    if (rc != 0)
        fail_msg("ch_config_load_text: %d %s\n--- text:\n%s", rc, f->err, text);
}

/* Asserts text is refused and the error contains each of the NULL-ended needles. */
static void
text_refused(fixture *f, const char *text, ...)
{
    f->err[0] = '\0';
    int rc = ch_config_load_text(&f->cfg, text, "test.conf", f->err, sizeof(f->err));
    if (rc != CH_EINVAL)
        fail_msg("expected CH_EINVAL, got %d for text:\n%s", rc, text);
    va_list ap;
    va_start(ap, text);
    for (const char *n = va_arg(ap, const char *); n; n = va_arg(ap, const char *))
        if (!strstr(f->err, n)) {
            va_end(ap);
            fail_msg("error \"%s\" does not contain \"%s\"", f->err, n);
        }
    va_end(ap);
}

static void
env_ok(fixture *f, char *const *envp)
{
    f->err[0] = '\0';
    int rc = ch_config_load_env(&f->cfg, envp, f->err, sizeof(f->err));
    if (rc != 0)
        fail_msg("ch_config_load_env: %d %s", rc, f->err);
}

static void
test_defaults_applied(void **state)
{
    fixture *f = *state;
    defaults_ok(f);
    assert_string_equal(f->common.listen, "127.0.0.1:8080");
    assert_string_equal(f->common.redis_url, "redis://127.0.0.1:6379");
    assert_string_equal(f->common.log_level, "info");
    assert_int_equal(f->ingest.workers, 4);
    assert_int_equal(f->ingest.skew_ms, -250);
    assert_int_equal(f->ingest.debug, 0);
    assert_int_equal(f->ingest.strict, 1);
    /* a NULL default is an empty, owned string, never a NULL pointer */
    assert_non_null(f->ingest.api_token);
    assert_string_equal(f->ingest.api_token, "");
    assert_int_equal(f->cfg.kafka.n, 0);
}

static void
test_bad_default_names_key(void **state)
{
    (void)state;
    static const ch_config_entry bad[] = {
        {"x.count", CH_CFG_INT, "lots", 0, "count", 0, 0, NULL},
    };
    int64_t value = 0;
    ch_config_section sec = {bad, 1, &value};
    ch_config cfg = {&sec, 1, {NULL, 0, 0}, "CHARTER_X_"};
    char err[256] = "";
    assert_int_equal(ch_config_defaults(&cfg, err, sizeof(err)), CH_EINVAL);
    assert_non_null(strstr(err, "x.count"));
    ch_config_free(&cfg);
}

static void
test_load_text_comments_blanks_quotes(void **state)
{
    fixture *f = *state;
    defaults_ok(f);
    text_ok(f, "# Charter ingest\n"
               "\n"
               "   \n"
               "  # indented comment = not a key\n"
               "http.listen = 0.0.0.0:9090\n"
               "redis.url=redis://cache:6379/2\n"
               "ingest.workers   =   12   \n"
               "ingest.api-token = \"  spaced token = with # inside  \"\n"
               "log.level = \"warn\"\n"
               "ingest.debug = on\r\n"
               "ingest.skew-ms = 1500"); /* no final newline */
    assert_string_equal(f->common.listen, "0.0.0.0:9090");
    assert_string_equal(f->common.redis_url, "redis://cache:6379/2");
    assert_int_equal(f->ingest.workers, 12);
    assert_string_equal(f->ingest.api_token, "  spaced token = with # inside  ");
    assert_string_equal(f->common.log_level, "warn");
    assert_int_equal(f->ingest.debug, 1);
    assert_int_equal(f->ingest.skew_ms, 1500);
}

static void
test_load_text_empty_quoted_value(void **state)
{
    fixture *f = *state;
    defaults_ok(f);
    text_ok(f, "ingest.api-token = secret\n");
    assert_string_equal(f->ingest.api_token, "secret");
    text_ok(f, "ingest.api-token = \"\"\n");
    assert_string_equal(f->ingest.api_token, "");
    text_ok(f, "ingest.api-token =\n");
    assert_string_equal(f->ingest.api_token, "");
}

static void
test_load_text_line_without_equals(void **state)
{
    fixture *f = *state;
    defaults_ok(f);
    text_refused(f, "# comment\nhttp.listen = 0.0.0.0:80\ningest.workers 8\n", NULL);
    assert_string_equal(f->err, "test.conf:3: expected 'key = value'");
    text_refused(f, "= 5\n", "test.conf:1:", NULL);
}

static void
test_load_text_unknown_key(void **state)
{
    fixture *f = *state;
    defaults_ok(f);
    text_refused(f, "http.listen = 0.0.0.0:80\n\ningest.wrokers = 8\n",
                 "test.conf:3:", "ingest.wrokers", NULL);
}

static void
test_int_not_a_number(void **state)
{
    fixture *f = *state;
    defaults_ok(f);
    text_refused(f, "ingest.workers = many\n", "test.conf:1:", "ingest.workers", "many", NULL);
    text_refused(f, "ingest.workers = 8x\n", "ingest.workers", NULL);
    text_refused(f, "ingest.workers = 8.5\n", "ingest.workers", NULL);
    text_refused(f, "ingest.workers =\n", "ingest.workers", NULL);
    text_refused(f, "ingest.skew-ms = 99999999999999999999999\n", "ingest.skew-ms", NULL);
    assert_int_equal(f->ingest.workers, 4);
    assert_int_equal(f->ingest.skew_ms, -250);
}

static void
test_int_range(void **state)
{
    fixture *f = *state;
    defaults_ok(f);
    text_refused(f, "ingest.workers = 0\n", "ingest.workers", "0", NULL);
    text_refused(f, "ingest.workers = 65\n", "ingest.workers", "65", NULL);
    text_refused(f, "ingest.workers = -3\n", "ingest.workers", NULL);
    assert_int_equal(f->ingest.workers, 4);
    text_ok(f, "ingest.workers = 1\n");
    assert_int_equal(f->ingest.workers, 1);
    text_ok(f, "ingest.workers = 64\n");
    assert_int_equal(f->ingest.workers, 64);
    /* min == max == 0 means unbounded */
    text_ok(f, "ingest.skew-ms = -9000000000\n");
    assert_int_equal(f->ingest.skew_ms, -9000000000LL);
}

static void
test_bool_parse(void **state)
{
    fixture *f = *state;
    defaults_ok(f);
    static const char *const yes[] = {"true", "TRUE", "yes", "on", "1"};
    static const char *const no[] = {"false", "False", "no", "off", "0"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        f->ingest.debug = 0;
        assert_int_equal(ch_config_set(&f->cfg, "ingest.debug", yes[i], f->err, sizeof(f->err)), 0);
        assert_int_equal(f->ingest.debug, 1);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        f->ingest.debug = 1;
        assert_int_equal(ch_config_set(&f->cfg, "ingest.debug", no[i], f->err, sizeof(f->err)), 0);
        assert_int_equal(f->ingest.debug, 0);
    }
    text_refused(f, "ingest.debug = maybe\n", "test.conf:1:", "ingest.debug", "maybe", NULL);
    text_refused(f, "ingest.debug = 2\n", "ingest.debug", NULL);
}

static void
test_validator_failure_names_key(void **state)
{
    fixture *f = *state;
    defaults_ok(f);
    text_refused(f, "http.listen = localhost\n", "test.conf:1:", "http.listen", "localhost", NULL);
    text_refused(f, "http.listen = localhost:http\n", "http.listen", NULL);
    text_refused(f, "http.listen = localhost:70000\n", "http.listen", NULL);
    text_refused(f, "http.listen = :8080\n", "http.listen", NULL);
    text_refused(f, "log.level = chatty\n", "log.level", "chatty", NULL);
    text_ok(f, "http.listen = [::1]:8080\nlog.level = DEBUG\n");
    assert_string_equal(f->common.listen, "[::1]:8080");
    assert_string_equal(f->common.log_level, "DEBUG");
}

static void
test_validators_direct(void **state)
{
    (void)state;
    char err[128];
    assert_int_equal(ch_config_validate_hostport("example.org:443", err, sizeof(err)), 0);
    assert_int_equal(ch_config_validate_hostport("example.org", err, sizeof(err)), CH_EINVAL);
    assert_non_null(strstr(err, "example.org"));
    assert_int_equal(ch_config_validate_hostport("example.org:", err, sizeof(err)), CH_EINVAL);
    assert_int_equal(ch_config_validate_hostport("example.org:-1", err, sizeof(err)), CH_EINVAL);
    assert_int_equal(ch_config_validate_hostport("example.org:65536", err, sizeof(err)), CH_EINVAL);
    assert_int_equal(ch_config_validate_log_level("error", err, sizeof(err)), 0);
    assert_int_equal(ch_config_validate_log_level("trace", err, sizeof(err)), CH_EINVAL);
    assert_non_null(strstr(err, "trace"));
}

static void
test_kafka_keys_collected(void **state)
{
    fixture *f = *state;
    defaults_ok(f);
    text_ok(f, "kafka.bootstrap.servers = broker-a:9092\n"
               "kafka.client.id = \"charter-ingest\"\n"
               "http.listen = 0.0.0.0:80\n"
               "kafka.bootstrap.servers = broker-b:9092\n");
    assert_int_equal(f->cfg.kafka.n, 2);
    assert_string_equal(ch_config_kafka_get(&f->cfg, "bootstrap.servers"), "broker-b:9092");
    assert_string_equal(ch_config_kafka_get(&f->cfg, "client.id"), "charter-ingest");
    /* stored without the prefix */
    assert_null(ch_config_kafka_get(&f->cfg, "kafka.bootstrap.servers"));
    assert_null(ch_config_kafka_get(&f->cfg, "acks"));
    for (size_t i = 0; i < f->cfg.kafka.n; i++)
        assert_int_not_equal(strncmp(f->cfg.kafka.items[i].key, "kafka.", 6), 0);

    assert_int_equal(ch_config_set(&f->cfg, "kafka.acks", "all", f->err, sizeof(f->err)), 0);
    assert_string_equal(ch_config_kafka_get(&f->cfg, "acks"), "all");
    assert_int_equal(ch_config_kafka_set(&f->cfg, "acks", "1"), 0);
    assert_string_equal(ch_config_kafka_get(&f->cfg, "acks"), "1");
    assert_int_equal(f->cfg.kafka.n, 3);

    text_refused(f, "kafka. = x\n", "kafka.", NULL);
}

static void
test_kafka_list_grows(void **state)
{
    fixture *f = *state;
    char key[32], value[32];
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof(key), "prop.%d", i);
        snprintf(value, sizeof(value), "v%d", i);
        assert_int_equal(ch_config_kafka_set(&f->cfg, key, value), 0);
    }
    assert_int_equal(f->cfg.kafka.n, 40);
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof(key), "prop.%d", i);
        snprintf(value, sizeof(value), "v%d", i);
        assert_string_equal(ch_config_kafka_get(&f->cfg, key), value);
    }
}

static void
test_env_maps_keys(void **state)
{
    fixture *f = *state;
    defaults_ok(f);
    char *envp[] = {
        "PATH=/usr/bin:/bin",
        "CHARTER_HTTP_LISTEN=0.0.0.0:9000",
        "CHARTER_REDIS_URL=redis://r:6379/1",
        "CHARTER_INGEST_WORKERS=8",
        "CHARTER_INGEST_API_TOKEN=tok=en",
        "CHARTER_INGEST_DEBUG=yes",
        "CHARTER_KAFKA_SESSION_TIMEOUT_MS=45000",
        "CHARTER_OTHER_X=1",
        "CHARTER_SLA_TICK_MS=5",
        "HOME=/root",
        NULL,
    };
    env_ok(f, envp);
    assert_string_equal(f->common.listen, "0.0.0.0:9000");
    assert_string_equal(f->common.redis_url, "redis://r:6379/1");
    assert_int_equal(f->ingest.workers, 8);
    assert_string_equal(f->ingest.api_token, "tok=en");
    assert_int_equal(f->ingest.debug, 1);
    assert_string_equal(ch_config_kafka_get(&f->cfg, "session.timeout.ms"), "45000");
    assert_int_equal(f->cfg.kafka.n, 1);
    /* untouched keys keep their defaults */
    assert_string_equal(f->common.log_level, "info");
    assert_int_equal(f->ingest.skew_ms, -250);
}

static void
test_env_null_and_empty(void **state)
{
    fixture *f = *state;
    defaults_ok(f);
    assert_int_equal(ch_config_load_env(&f->cfg, NULL, f->err, sizeof(f->err)), 0);
    char *envp[] = {NULL};
    env_ok(f, envp);
    assert_int_equal(f->ingest.workers, 4);
}

static void
test_env_unknown_in_own_namespace(void **state)
{
    fixture *f = *state;
    defaults_ok(f);
    char *envp[] = {"CHARTER_OTHER_X=1", "CHARTER_INGEST_WROKERS=8", NULL};
    assert_int_equal(ch_config_load_env(&f->cfg, envp, f->err, sizeof(f->err)), CH_EINVAL);
    if (!strstr(f->err, "CHARTER_INGEST_WROKERS"))
        fail_msg("error does not name the variable: %s", f->err);
}

static void
test_env_bad_value_names_variable_and_key(void **state)
{
    fixture *f = *state;
    defaults_ok(f);
    char *envp[] = {"CHARTER_INGEST_WORKERS=0", NULL};
    assert_int_equal(ch_config_load_env(&f->cfg, envp, f->err, sizeof(f->err)), CH_EINVAL);
    assert_non_null(strstr(f->err, "CHARTER_INGEST_WORKERS"));
    assert_non_null(strstr(f->err, "ingest.workers"));
    assert_int_equal(f->ingest.workers, 4);

    char *envp2[] = {"CHARTER_HTTP_LISTEN=nowhere", NULL};
    assert_int_equal(ch_config_load_env(&f->cfg, envp2, f->err, sizeof(f->err)), CH_EINVAL);
    assert_non_null(strstr(f->err, "CHARTER_HTTP_LISTEN"));
    assert_non_null(strstr(f->err, "http.listen"));
}

static void
test_env_without_prefix_only_names_keys(void **state)
{
    fixture *f = *state;
    defaults_ok(f);
    /* with no namespace of its own, a service ignores every unknown variable */
    f->cfg.env_prefix = NULL;
    char *envp[] = {"CHARTER_INGEST_WROKERS=8", "CHARTER_INGEST_WORKERS=9", NULL};
    env_ok(f, envp);
    assert_int_equal(f->ingest.workers, 9);
}

static void
test_precedence_file_then_env(void **state)
{
    fixture *f = *state;
    defaults_ok(f);
    text_ok(f, "http.listen = 10.0.0.1:8000\n"
               "ingest.workers = 6\n"
               "ingest.api-token = from-file\n"
               "kafka.session.timeout.ms = 10000\n"
               "kafka.client.id = file-client\n");
    char *envp[] = {
        "CHARTER_INGEST_WORKERS=16",
        "CHARTER_INGEST_API_TOKEN=from-env",
        "CHARTER_KAFKA_SESSION_TIMEOUT_MS=30000",
        NULL,
    };
    env_ok(f, envp);
    assert_int_equal(f->ingest.workers, 16);
    assert_string_equal(f->ingest.api_token, "from-env");
    assert_string_equal(ch_config_kafka_get(&f->cfg, "session.timeout.ms"), "30000");
    assert_int_equal(f->cfg.kafka.n, 2);
    /* what the environment does not mention keeps the file's value */
    assert_string_equal(f->common.listen, "10.0.0.1:8000");
    assert_string_equal(ch_config_kafka_get(&f->cfg, "client.id"), "file-client");
    /* and what neither mentions keeps the default */
    assert_string_equal(f->common.redis_url, "redis://127.0.0.1:6379");
}

static void
test_load_file(void **state)
{
    fixture *f = *state;
    defaults_ok(f);
    char path[] = "/tmp/charter-test-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "# file\nredis.url = redis://file:6379\n\nnot a setting\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);

    int rc = ch_config_load_file(&f->cfg, path, f->err, sizeof(f->err));
    char want[128];
    snprintf(want, sizeof(want), "%s:4: expected 'key = value'", path);
    assert_int_equal(rc, CH_EINVAL);
    assert_string_equal(f->err, want);
    /* lines before the bad one were applied */
    assert_string_equal(f->common.redis_url, "redis://file:6379");

    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("ingest.workers = 3\nkafka.acks = all\n", fp);
    fclose(fp);
    assert_int_equal(ch_config_load_file(&f->cfg, path, f->err, sizeof(f->err)), 0);
    assert_int_equal(f->ingest.workers, 3);
    assert_string_equal(ch_config_kafka_get(&f->cfg, "acks"), "all");

    fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(ch_config_load_file(&f->cfg, path, f->err, sizeof(f->err)), 0);
    unlink(path);

    assert_int_equal(ch_config_load_file(&f->cfg, path, f->err, sizeof(f->err)), CH_EIO);
    assert_non_null(strstr(f->err, path));
}

static void
test_free_releases_everything(void **state)
{
    fixture *f = *state;
    defaults_ok(f);
    text_ok(f, "http.listen = 0.0.0.0:1\nhttp.listen = 0.0.0.0:2\n"
               "ingest.api-token = a\nkafka.a = 1\nkafka.b = 2\nkafka.a = 3\n");
    ch_config_free(&f->cfg);
    assert_null(f->common.listen);
    assert_null(f->common.redis_url);
    assert_null(f->ingest.api_token);
    assert_null(f->cfg.kafka.items);
    assert_int_equal(f->cfg.kafka.n, 0);
    assert_null(ch_config_kafka_get(&f->cfg, "a"));
    /* the config can be filled again after a free (teardown frees it once more) */
    defaults_ok(f);
    assert_string_equal(f->common.listen, "127.0.0.1:8080");
    assert_int_equal(ch_config_kafka_set(&f->cfg, "a", "4"), 0);
    assert_string_equal(ch_config_kafka_get(&f->cfg, "a"), "4");
}

static void
test_defaults_twice_does_not_leak(void **state)
{
    fixture *f = *state;
    defaults_ok(f);
    text_ok(f, "ingest.api-token = x\nredis.url = redis://other\n");
    defaults_ok(f);
    assert_string_equal(f->ingest.api_token, "");
    assert_string_equal(f->common.redis_url, "redis://127.0.0.1:6379");
}

static void
test_print_help(void **state)
{
    fixture *f = *state;
    FILE *out = tmpfile();
    assert_non_null(out);
    ch_config_print_help(&f->cfg, out);
    long size = ftell(out);
    assert_true(size > 0);
    char *text = calloc(1, (size_t)size + 1);
    assert_non_null(text);
    rewind(out);
    assert_int_equal(fread(text, 1, (size_t)size, out), (size_t)size);
    fclose(out);

    static const char *const want[] = {
        "http.listen",
        "CHARTER_HTTP_LISTEN",
        "127.0.0.1:8080",
        "redis.url",
        "CHARTER_REDIS_URL",
        "log.level",
        "CHARTER_LOG_LEVEL",
        "ingest.workers",
        "CHARTER_INGEST_WORKERS",
        "ingest.skew-ms",
        "CHARTER_INGEST_SKEW_MS",
        "ingest.api-token",
        "CHARTER_INGEST_API_TOKEN",
        "bearer token; empty disables auth",
        "ingest.debug",
        "CHARTER_INGEST_DEBUG",
        "ingest.strict",
        "CHARTER_INGEST_STRICT",
        "CHARTER_KAFKA_",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(text, want[i])) {
            fail_msg("--help output lacks \"%s\":\n%s", want[i], text);
        }
    free(text);
}

/* The table macros fill the same fields as the positional entries above. */
static const ch_config_entry macro_keys[] = {
    CH_CFG_STR_CHECKED(struct common_cfg, listen, "http.listen", "127.0.0.1:8080",
                       "HOST:PORT the HTTP server binds", ch_config_validate_hostport),
    CH_CFG_STR(struct common_cfg, redis_url, "redis.url", "redis://127.0.0.1:6379", "Redis URL"),
    CH_CFG_INT(struct ingest_cfg, workers, "ingest.workers", "4", "worker count", 1, 64),
    CH_CFG_BOOL(struct ingest_cfg, debug, "ingest.debug", "false", "debug mode"),
};

static void
assert_entry_equal(const ch_config_entry *a, const ch_config_entry *b)
{
    assert_string_equal(a->key, b->key);
    assert_int_equal(a->type, b->type);
    assert_string_equal(a->def, b->def);
    assert_int_equal(a->offset, b->offset);
    assert_string_equal(a->help, b->help);
    assert_int_equal(a->min, b->min);
    assert_int_equal(a->max, b->max);
    assert_ptr_equal(a->validate, b->validate);
}

static void
test_table_macros(void **state)
{
    (void)state;
    assert_entry_equal(&macro_keys[0], &common_keys[0]);
    assert_entry_equal(&macro_keys[1], &common_keys[1]);
    assert_entry_equal(&macro_keys[2], &ingest_keys[0]);
    assert_entry_equal(&macro_keys[3], &ingest_keys[3]);
}

static void
test_string_lookup(void **state)
{
    fixture *f = *state;
    defaults_ok(f);
    assert_int_equal(ch_config_set(&f->cfg, "redis.url", "redis://other:1", f->err, sizeof(f->err)),
                     0);
    assert_string_equal(ch_config_string(&f->cfg, "redis.url"), "redis://other:1");
    assert_string_equal(ch_config_string(&f->cfg, "ingest.api-token"), ""); /* NULL default */
    assert_null(ch_config_string(&f->cfg, "ingest.workers"));               /* not a string */
    assert_null(ch_config_string(&f->cfg, "no.such.key"));
}

static void
test_load_file_missing_says_why(void **state)
{
    fixture *f = *state;
    defaults_ok(f);
    const char *path = "/nonexistent/charter.conf";
    assert_int_equal(ch_config_load_file(&f->cfg, path, f->err, sizeof(f->err)), CH_EIO);
    assert_string_equal(f->err,
                        "cannot open config file /nonexistent/charter.conf: No such file or "
                        "directory");
    char dir[] = "/tmp/charter-test-config-dir-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(ch_config_load_file(&f->cfg, dir, f->err, sizeof(f->err)), CH_EIO);
    char want[128];
    snprintf(want, sizeof(want), "cannot read config file %s", dir);
    assert_string_equal(f->err, want);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults_applied, setup, teardown),
        cmocka_unit_test(test_bad_default_names_key),
        cmocka_unit_test_setup_teardown(test_load_text_comments_blanks_quotes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_text_empty_quoted_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_text_line_without_equals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_text_unknown_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_int_not_a_number, setup, teardown),
        cmocka_unit_test_setup_teardown(test_int_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bool_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validator_failure_names_key, setup, teardown),
        cmocka_unit_test(test_validators_direct),
        cmocka_unit_test_setup_teardown(test_kafka_keys_collected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kafka_list_grows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_maps_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_null_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_unknown_in_own_namespace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_bad_value_names_variable_and_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_without_prefix_only_names_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precedence_file_then_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_releases_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults_twice_does_not_leak, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_help, setup, teardown),
        cmocka_unit_test(test_table_macros),
        cmocka_unit_test_setup_teardown(test_string_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_file_missing_says_why, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
