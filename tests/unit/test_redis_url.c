/*
 * ch_redis_url_parse() turns an operator's redis.url into what hiredis needs.
 * The tests cover each documented form and check that a URL the runtime
 * cannot use stops start-up with a sentence that names the URL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "charter/errors.h"
#include "charter/redis_url.h"

static void
parse_ok(const char *url, ch_redis_url *u)
{
    char err[256] = "";
    int rc = ch_redis_url_parse(url, u, err, sizeof(err));
    if (rc != 0)
        fail_msg("ch_redis_url_parse(\"%s\") returned %d: %s", url, rc, err);
}

/* Asserts the URL is refused with an error sentence containing `needle`. */
static void
assert_refused(const char *url, const char *needle)
{
    ch_redis_url u;
    char err[512] = "";
    int rc = ch_redis_url_parse(url, &u, err, sizeof(err));
    if (rc != CH_EINVAL)
        fail_msg("ch_redis_url_parse(\"%s\") returned %d, expected CH_EINVAL", url, rc);
    if (err[0] == '\0')
        fail_msg("ch_redis_url_parse(\"%s\") left errstr empty", url);
    if (!strstr(err, needle))
        fail_msg("error for \"%s\" is \"%s\", which does not contain \"%s\"", url, err, needle);
}

static void
test_host_only(void **state)
{
    (void)state;
    ch_redis_url u;
    parse_ok("redis://cache.internal", &u);
    assert_string_equal(u.host, "cache.internal");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "");
    assert_string_equal(u.unix_path, "");
}

static void
test_host_port_db(void **state)
{
    (void)state;
    ch_redis_url u;
    parse_ok("redis://10.0.0.7:6390/5", &u);
    assert_string_equal(u.host, "10.0.0.7");
    assert_int_equal(u.port, 6390);
    assert_int_equal(u.db, 5);
    assert_string_equal(u.password, "");
    assert_string_equal(u.unix_path, "");
}

static void
test_host_port_no_db(void **state)
{
    (void)state;
    ch_redis_url u;
    parse_ok("redis://localhost:1", &u);
    assert_string_equal(u.host, "localhost");
    assert_int_equal(u.port, 1);
    assert_int_equal(u.db, 0);
    parse_ok("redis://localhost:65535/", &u);
    assert_int_equal(u.port, 65535);
    assert_int_equal(u.db, 0);
}

static void
test_password_only(void **state)
{
    (void)state;
    ch_redis_url u;
    parse_ok("redis://:s3cret@cache:6380/2", &u);
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "s3cret");
    assert_string_equal(u.host, "cache");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 2);
}

static void
test_user_and_password(void **state)
{
    (void)state;
    ch_redis_url u;
    parse_ok("redis://charter:pa:ss@cache", &u);
    assert_string_equal(u.user, "charter");
    assert_string_equal(u.password, "pa:ss");
    assert_string_equal(u.host, "cache");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);
}

static void
test_password_containing_at(void **state)
{
    (void)state;
    ch_redis_url u;
    /* the host starts after the last '@', so a password may contain one */
    parse_ok("redis://charter:p@ss@cache:6381/1", &u);
    assert_string_equal(u.user, "charter");
    assert_string_equal(u.password, "p@ss");
    assert_string_equal(u.host, "cache");
    assert_int_equal(u.port, 6381);
    assert_int_equal(u.db, 1);
}

static void
test_password_without_colon(void **state)
{
    (void)state;
    ch_redis_url u;
    parse_ok("redis://token@cache:7000", &u);
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "token");
    assert_string_equal(u.host, "cache");
    assert_int_equal(u.port, 7000);
}

static void
test_unix_socket(void **state)
{
    (void)state;
    ch_redis_url u;
    parse_ok("unix:///tmp/r.sock?db=3", &u);
    assert_string_equal(u.unix_path, "/tmp/r.sock");
    assert_string_equal(u.host, "");
    assert_int_equal(u.db, 3);

    parse_ok("unix:///var/run/redis/redis.sock", &u);
    assert_string_equal(u.unix_path, "/var/run/redis/redis.sock");
    assert_string_equal(u.host, "");
    assert_int_equal(u.db, 0);
}

static void
test_output_cleared_between_calls(void **state)
{
    (void)state;
    ch_redis_url u;
    parse_ok("redis://user:pw@first:6400/9", &u);
    parse_ok("redis://second", &u);
    assert_string_equal(u.host, "second");
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);
}

static void
test_refuses_tls_and_other_schemes(void **state)
{
    (void)state;
    assert_refused("rediss://cache:6380", "rediss://cache:6380");
    assert_refused("http://cache:6379", "http://cache:6379");
    assert_refused("cache:6379", "cache:6379");
    assert_refused("", "redis://");
}

static void
test_refuses_bad_port(void **state)
{
    (void)state;
    assert_refused("redis://cache:0", "redis://cache:0");
    assert_refused("redis://cache:70000", "redis://cache:70000");
    assert_refused("redis://cache:abc", "redis://cache:abc");
    assert_refused("redis://cache:", "redis://cache:");
    assert_refused("redis://cache:-1/0", "redis://cache:-1/0");
    assert_refused("redis://cache:6379x/0", "port");
    assert_refused("redis://cache:123456789", "redis://cache:123456789");
}

static void
test_refuses_bad_db(void **state)
{
    (void)state;
    assert_refused("redis://cache:6379/abc", "redis://cache:6379/abc");
    assert_refused("redis://cache/1x", "redis://cache/1x");
    assert_refused("redis://cache/-1", "redis://cache/-1");
    assert_refused("unix:///tmp/r.sock?db=x", "unix:///tmp/r.sock?db=x");
    assert_refused("unix:///tmp/r.sock?database=1", "unix:///tmp/r.sock?database=1");
}

static void
test_refuses_missing_host(void **state)
{
    (void)state;
    assert_refused("redis://", "redis://");
    assert_refused("redis://:6379", "redis://:6379");
    assert_refused("redis:///0", "redis:///0");
    assert_refused("redis://:pw@:6379", "host");
    assert_refused("unix://", "unix://");
    assert_refused("unix://?db=1", "unix://?db=1");
}

/* A password never reaches an error sentence (they end up in start-up logs). */
static void
test_error_masks_password(void **state)
{
    (void)state;
    ch_redis_url u;
    char err[512] = "";
    assert_int_equal(ch_redis_url_parse("redis://:s3cret@cache:0", &u, err, sizeof(err)),
                     CH_EINVAL);
    assert_null(strstr(err, "s3cret"));
    assert_non_null(strstr(err, "redis://:***@cache:0"));
    assert_refused("redis://admin:hunter2@cache:99999", "redis://admin:***@cache:99999");
}

/* Ports and databases are plain digits: no spaces or signs slip through. */
static void
test_refuses_loose_numbers(void **state)
{
    (void)state;
    assert_refused("redis://cache: 80", "bad port");
    assert_refused("redis://cache:+80", "bad port");
    assert_refused("redis://cache/ 3", "must be a number");
    assert_refused("redis://cache/-1", "must be a number");
}

/* An IPv6 literal is written in brackets; the host hiredis gets has none. */
static void
test_ipv6_host(void **state)
{
    (void)state;
    ch_redis_url u;
    parse_ok("redis://[::1]:6380/4", &u);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 4);
    parse_ok("redis://[::1]", &u);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 6379);
    assert_refused("redis://[::1:6380", "missing ']'");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_only),
        cmocka_unit_test(test_host_port_db),
        cmocka_unit_test(test_host_port_no_db),
        cmocka_unit_test(test_password_only),
        cmocka_unit_test(test_user_and_password),
        cmocka_unit_test(test_password_containing_at),
        cmocka_unit_test(test_password_without_colon),
        cmocka_unit_test(test_unix_socket),
        cmocka_unit_test(test_output_cleared_between_calls),
        cmocka_unit_test(test_refuses_tls_and_other_schemes),
        cmocka_unit_test(test_refuses_bad_port),
        cmocka_unit_test(test_refuses_bad_db),
        cmocka_unit_test(test_refuses_missing_host),
        cmocka_unit_test(test_error_masks_password),
        cmocka_unit_test(test_refuses_loose_numbers),
        cmocka_unit_test(test_ipv6_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
