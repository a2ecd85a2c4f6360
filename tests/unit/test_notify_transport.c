/*
 * notification's transports as plug-ins (transport.h): the table's checks
 * (unique names, every hook), the names a notify.<channel>.transport setting
 * may take (an unknown name or one that cannot carry the channel is refused
 * naming those that can), the configuration laid out from the core keys and
 * each transport's own, a transport's check() of its own settings, and the
 * file transport driven through its descriptor alone: configured by its
 * key, its answer given exactly once, its line holding the message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "charter/errors.h"
#include "config.h"
#include "transport.h"

extern const notify_transport notify_transport_smtp, notify_transport_http, notify_transport_kafka,
    notify_transport_file, notify_transport_print, notify_transport_meta;

/* In the service's order (NOTIFY_TRANSPORTS in CMakeLists.txt). */
static const notify_transport *const table[] = {&notify_transport_file,
                                                &notify_transport_smtp,
                                                &notify_transport_http,
                                                &notify_transport_meta,
                                                &notify_transport_kafka,
                                                &notify_transport_print,
                                                NULL};

/* The table CMake generates is the service's list, whole and in order. */
static void
generated_table_lists_every_transport(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(notify_transport_table_check(notify_transports, err, sizeof(err)), 0);
    size_t n = 0;
    while (notify_transports[n])
        n++;
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++)
        assert_ptr_equal(notify_transports[i], table[i]);
}

static void
table_is_checked(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(notify_transport_table_check(table, err, sizeof(err)), 0);
    const notify_transport *twice[] = {&notify_transport_smtp, &notify_transport_file,
                                       &notify_transport_smtp, NULL};
    assert_int_equal(notify_transport_table_check(twice, err, sizeof(err)), CH_EINVAL);
    assert_string_equal(err, "two transports are named smtp");
    notify_transport broken = notify_transport_file;
    broken.name = "broken";
    broken.send = NULL;
    const notify_transport *lacking[] = {&broken, NULL};
    assert_int_equal(notify_transport_table_check(lacking, err, sizeof(err)), CH_EINVAL);
    assert_string_equal(err, "transport broken lacks one of check, init, send, fini");
    /* Every real one has each hook. */
    for (size_t i = 0; table[i]; i++)
        assert_true(table[i]->check && table[i]->init && table[i]->send && table[i]->fini);
}

static void
setting_names_a_transport_that_carries_the_channel(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(notify_transport_pick(table, "notify.email.transport", "smtp", NOTIFY_CH_EMAIL,
                                           err, sizeof(err)),
                     1);
    assert_int_equal(notify_transport_pick(table, "notify.sms.transport", "file", NOTIFY_CH_SMS,
                                           err, sizeof(err)),
                     0);
    assert_int_equal(notify_transport_pick(table, "notify.email.transport", "pigeon",
                                           NOTIFY_CH_EMAIL, err, sizeof(err)),
                     CH_EINVAL);
    assert_string_equal(err, "notify.email.transport: 'pigeon' is not a transport (expected "
                             "file, smtp, http or kafka)");
    /* As the setting is read (the runtime names the key): any transport. */
    assert_int_equal(notify_transport_pick(table, NULL, "pigeon", ~0u, err, sizeof(err)),
                     CH_EINVAL);
    assert_string_equal(err,
                        "'pigeon' is not a transport (expected file, smtp, http, meta, kafka or "
                        "print)");
    assert_int_equal(notify_transport_pick(table, "notify.sms.transport", "smtp", NOTIFY_CH_SMS,
                                           err, sizeof(err)),
                     CH_EINVAL);
    assert_string_equal(err, "notify.sms.transport cannot be smtp (file, http or kafka)");
    /* Letters: the print queue or the file sink; the rest: the first
     * transport that carries them. */
    assert_int_equal(notify_transport_carrying(table, NOTIFY_CH_OTHER), 0);
    assert_int_equal(notify_channel_bit("letter"), NOTIFY_CH_LETTER);
    assert_int_equal(notify_channel_bit("online_form"), NOTIFY_CH_OTHER);
    assert_int_equal(notify_transport_pick(table, "notify.letter.transport", "print",
                                           NOTIFY_CH_LETTER, err, sizeof(err)),
                     5);
    assert_int_equal(notify_transport_pick(table, "notify.letter.transport", "smtp",
                                           NOTIFY_CH_LETTER, err, sizeof(err)),
                     CH_EINVAL);
    assert_string_equal(err, "notify.letter.transport cannot be smtp (file or print)");
    assert_int_equal(notify_channel_bit("sms"), NOTIFY_CH_SMS);
}

/* The service's config: the core keys and each transport's, laid out in
 * one block, every key once, every field inside the block. */
static int
refuse_pigeons(const char *text, char *errstr, size_t errstr_size)
{
    if (strcmp(text, "pigeon") != 0)
        return 0;
    snprintf(errstr, errstr_size, "no pigeons");
    return CH_EINVAL;
}

typedef struct {
    notify_config_map map;
    void *block;
    ch_config_section section;
    ch_config cfg;
} config;

static void
config_load(config *c)
{
    char err[256];
    assert_int_equal(notify_config_map_build(&c->map, table, refuse_pigeons), 0);
    c->block = calloc(1, c->map.size);
    assert_non_null(c->block);
    c->section = (ch_config_section){c->map.entries, c->map.nentries, c->block};
    c->cfg = (ch_config){.sections = &c->section, .nsections = 1};
    assert_int_equal(ch_config_defaults(&c->cfg, err, sizeof(err)), 0);
}

static void
config_free(config *c)
{
    ch_config_free(&c->cfg);
    free(c->block);
    notify_config_map_free(&c->map);
}

static void
config_is_laid_out_per_transport(void **state)
{
    (void)state;
    config c;
    config_load(&c);
    for (size_t i = 0; i < c.map.nentries; i++) {
        const ch_config_entry *e = &c.map.entries[i];
        size_t width = e->type == CH_CFG_STRING ? sizeof(char *)
                       : e->type == CH_CFG_INT  ? sizeof(int64_t)
                                                : sizeof(int);
        assert_true(e->offset + width <= c.map.size);
        assert_int_equal(strncmp(e->key, "notify.", 7), 0);
        for (size_t j = 0; j < i; j++)
            if (strcmp(e->key, c.map.entries[j].key) == 0)
                fail_msg("%s is in the table twice", e->key);
    }
    /* Each transport's keys land in its own section. */
    size_t total = 0;
    for (size_t t = 0; table[t]; t++) {
        const char *s = notify_config_section(c.block, table, t);
        assert_true(s >= (const char *)c.block + sizeof(notify_config));
        assert_true(s + table[t]->config_size <= (const char *)c.block + c.map.size);
        total += table[t]->nconfig;
    }
    assert_true(c.map.nentries > total);
    char err[256];
    assert_int_equal(ch_config_set(&c.cfg, "notify.outbox_dir", "/tmp/x", err, sizeof(err)), 0);
    const char *file = notify_config_section(c.block, table, 0);
    assert_string_equal(*(char *const *)file, "/tmp/x"); /* file_config's one field */
    /* The routes: defaults go by file, letters to the print queue; a
     * refused name is named. */
    int route[NOTIFY_NROUTES];
    const notify_config *core = c.block;
    assert_int_equal(notify_config_routes(core, table, route, err, sizeof(err)), 0);
    for (int r = 0; r < NOTIFY_NROUTES; r++)
        assert_int_equal(route[r], r == NOTIFY_ROUTE_LETTER ? 5 : 0);
    assert_int_equal(ch_config_set(&c.cfg, "notify.email.transport", "smtp", err, sizeof(err)), 0);
    assert_int_equal(ch_config_set(&c.cfg, "notify.staff.transport", "http", err, sizeof(err)), 0);
    assert_int_equal(notify_config_routes(core, table, route, err, sizeof(err)), 0);
    assert_int_equal(route[NOTIFY_ROUTE_EMAIL], 1);
    assert_int_equal(route[NOTIFY_ROUTE_STAFF], 2);
    assert_int_equal(ch_config_set(&c.cfg, "notify.social.transport", "smtp", err, sizeof(err)), 0);
    assert_int_equal(notify_config_routes(core, table, route, err, sizeof(err)), CH_EINVAL);
    assert_string_equal(err, "notify.social.transport cannot be smtp (file, http, meta or kafka)");
    /* The validator given for the transport keys runs as they are set. */
    assert_int_equal(ch_config_set(&c.cfg, "notify.sms.transport", "pigeon", err, sizeof(err)),
                     CH_EINVAL);
    assert_non_null(strstr(err, "notify.sms.transport"));
    assert_non_null(strstr(err, "no pigeons"));
    config_free(&c);
}

/* SMTP checks its own keys, only where a channel uses it, that its
 * timeout ends well inside the queue's lease, and that AUTH is encrypted. */
static void
transport_checks_its_own_settings(void **state)
{
    (void)state;
    config c;
    config_load(&c);
    const void *smtp = notify_config_section(c.block, table, 1);
    char err[256];
    notify_transport_use unused = {0, 120000}, email = {NOTIFY_CH_EMAIL, 120000},
                         short_lease = {0, 20000};
    assert_int_equal(notify_transport_smtp.check(smtp, &unused, err, sizeof(err)), 0);
    assert_int_equal(notify_transport_smtp.check(smtp, &email, err, sizeof(err)), CH_EINVAL);
    assert_non_null(strstr(err, "notify.smtp.url"));
    assert_int_equal(
        ch_config_set(&c.cfg, "notify.smtp.url", "smtp://127.0.0.1:25", err, sizeof(err)), 0);
    assert_int_equal(notify_transport_smtp.check(smtp, &email, err, sizeof(err)), CH_EINVAL);
    assert_non_null(strstr(err, "notify.smtp.from"));
    assert_int_equal(notify_transport_smtp.check(smtp, &short_lease, err, sizeof(err)), CH_EINVAL);
    assert_non_null(strstr(err, "notify.smtp.timeout_ms (30000)"));
    /* Its rate limit and sender are its own keys, found through the descriptor. */
    const int64_t *rate =
        notify_transport_setting(&notify_transport_smtp, smtp, notify_transport_smtp.rate_key);
    assert_non_null(rate);
    assert_int_equal(*rate, 0);
    assert_int_equal(ch_config_set(&c.cfg, "notify.smtp.rate_per_s", "7", err, sizeof(err)), 0);
    assert_int_equal(*rate, 7);
    assert_int_equal(ch_config_set(&c.cfg, "notify.smtp.from", "a@b.example", err, sizeof(err)), 0);
    char *const *from =
        notify_transport_setting(&notify_transport_smtp, smtp, notify_transport_smtp.sender_key);
    assert_string_equal(*from, "a@b.example");
    assert_null(
        notify_transport_setting(&notify_transport_file, smtp, notify_transport_file.rate_key));
    /* AUTH without TLS is refused, naming the key that allows it. */
    assert_int_equal(notify_transport_smtp.check(smtp, &email, err, sizeof(err)), 0);
    assert_int_equal(ch_config_set(&c.cfg, "notify.smtp.username", "relay", err, sizeof(err)), 0);
    assert_int_equal(notify_transport_smtp.check(smtp, &email, err, sizeof(err)), CH_EINVAL);
    assert_int_equal(notify_transport_smtp.check(smtp, &email, err, sizeof(err)), CH_EINVAL);
    assert_int_equal(notify_transport_smtp.check(smtp, &unused, err, sizeof(err)), 0);
    assert_int_equal(ch_config_set(&c.cfg, "notify.smtp.starttls", "true", err, sizeof(err)), 0);
    assert_int_equal(notify_transport_smtp.check(smtp, &email, err, sizeof(err)), 0);
    assert_int_equal(ch_config_set(&c.cfg, "notify.smtp.starttls", "false", err, sizeof(err)), 0);
    assert_int_equal(
        ch_config_set(&c.cfg, "notify.smtp.allow_plaintext_auth", "true", err, sizeof(err)), 0);
    assert_int_equal(notify_transport_smtp.check(smtp, &email, err, sizeof(err)), 0);
    config_free(&c);
}

typedef struct {
    int calls;
    notify_result r;
} answer;

static void
on_sent(void *opaque, notify_result r, int64_t retry_after_ms, const char *reason)
{
    (void)retry_after_ms;
    (void)reason;
    answer *a = opaque;
    a->calls++;
    a->r = r;
}

static void
no_commit(void *opaque, notify_resume_fn resume, void *attempt)
{
    (void)opaque;
    (void)resume;
    (void)attempt;
    fail_msg("the file transport asked for a commit");
}

static void
file_transport_through_its_descriptor(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_notify_transport.XXXXXX";
    assert_non_null(mkdtemp(dir));
    config c;
    config_load(&c);
    char err[256];
    assert_int_equal(ch_config_set(&c.cfg, "notify.outbox_dir", dir, err, sizeof(err)), 0);
    const notify_transport *t = table[notify_transport_find(table, "file")];
    void *ctx = NULL;
    assert_int_equal(
        t->init(&ctx, notify_config_section(c.block, table, 0), NULL, err, sizeof(err)), 0);
    notify_message m = {
        .id = "case-1/acknowledgement",
        .case_id = "case-1",
        .organisation = "org-a",
        .reference = "REF-1",
        .kind = 1,
        .kind_name = "acknowledgement",
        .channel = "sms",
        .language = "en",
        .to = "07700900123",
        .subject = "Your reference REF-1",
        .body = "Your reference is REF-1.",
        .message_id = "",
        .meta = "{\"target_date\":\"Friday 9 January 2026\"}",
        .customer = 1,
    };
    answer a = {0};
    assert_int_equal(t->send(ctx, &m, (notify_reply){on_sent, no_commit, &a}), 0);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.r, NOTIFY_SENT);
    assert_null(t->cancel_all); /* nothing outlives send() */
    t->fini(ctx);
    assert_int_equal(a.calls, 1);

    char path[512];
    snprintf(path, sizeof(path), "%s/org-a.jsonl", dir);
    json_error_t jerr;
    json_t *line = json_load_file(path, 0, &jerr);
    assert_non_null(line);
    assert_string_equal(json_string_value(json_object_get(line, "notification_id")),
                        "case-1/acknowledgement");
    assert_string_equal(json_string_value(json_object_get(line, "to")), "07700900123");
    assert_string_equal(json_string_value(json_object_get(line, "text")),
                        "Your reference is REF-1.");
    assert_string_equal(json_string_value(json_object_get(line, "sms_encoding")), "gsm7");
    assert_int_equal(json_integer_value(json_object_get(line, "sms_parts")), 1);
    assert_string_equal(json_string_value(json_object_get(line, "target_date")),
                        "Friday 9 January 2026");
    assert_string_equal(json_string_value(json_object_get(line, "transport")), "file");
    json_decref(line);
    unlink(path);
    rmdir(dir);
    config_free(&c);
}

/* The outbox and print queue build paths from the organisation id of a
 * Kafka record: only a plain name may. */
static void
organisation_ids_that_may_name_a_file(void **state)
{
    (void)state;
    assert_true(notify_organisation_path_ok("nottingham-city-homes"));
    assert_true(notify_organisation_path_ok("org.v2"));
    const char *bad[] = {"", "..", "../etc", "a/b", "a\\b", ".hidden", "a..b", "a\nb", "a\x7f"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(notify_organisation_path_ok(bad[i]));
    char longid[120];
    memset(longid, 'a', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    assert_false(notify_organisation_path_ok(longid));
    assert_false(notify_organisation_path_ok(NULL));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_is_checked),
        cmocka_unit_test(organisation_ids_that_may_name_a_file),
        cmocka_unit_test(generated_table_lists_every_transport),
        cmocka_unit_test(setting_names_a_transport_that_carries_the_channel),
        cmocka_unit_test(config_is_laid_out_per_transport),
        cmocka_unit_test(transport_checks_its_own_settings),
        cmocka_unit_test(file_transport_through_its_descriptor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
