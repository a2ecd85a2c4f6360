/*
 * Webhook signatures are what keeps strangers from writing case events, so
 * the tests pin the scheme to an independent reference (a MAC computed by
 * `openssl dgst -sha256 -hmac`, the one-liner docs/api.md gives senders),
 * then check each way a request can fail: no or unknown gateway, a missing or
 * malformed header, a stale or future timestamp, a changed body, a wrong key;
 * and that both keys of a rotating gateway work. The table parser must name
 * the line of a bad entry and never echo a key.
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

#include "charter/errors.h"
#include "signature.h"

#define KEY_A "dev-key-0123456789abcdef"
#define KEY_B "rotated-key-fedcba9876543210"
#define BODY "{\"organisation\":\"nch\"}"
#define T 1795425300

/*
 * printf '%s' '1795425300.{"organisation":"nch"}' |
 *   openssl dgst -sha256 -hmac 'dev-key-0123456789abcdef'
 */
#define MAC_A_REFERENCE "403e785b72cb15a12414313e2ed2e6a255ebf2c76e4470dd7ff424390c7f95a2"

static ch_gateways *
table(void)
{
    const char *text = "# id key [key2]\n"
                       "\n"
                       "dev " KEY_A "\n"
                       "crm\t" KEY_A "   " KEY_B "  \r\n"
                       "kiosk " KEY_B;
    ch_gateways *g = NULL;
    char errstr[256];
    int rc = ch_gateways_parse(text, strlen(text), "gateways", &g, errstr, sizeof(errstr));
    if (rc != 0)
        fail_msg("table refused: %s", errstr);
    return g;
}

static void
header_for(const char *key, int64_t t, const char *body, char *out, size_t outsz)
{
    char hex[CH_SIG_HEX_LEN + 1];
    assert_int_equal(ch_sig_compute_hex(key, strlen(key), t, body, strlen(body), hex), 0);
    snprintf(out, outsz, "t=%lld,v1=%s", (long long)t, hex);
}

static void
test_matches_openssl(void **state)
{
    (void)state;
    char hex[CH_SIG_HEX_LEN + 1];
    assert_int_equal(ch_sig_compute_hex(KEY_A, strlen(KEY_A), T, BODY, strlen(BODY), hex), 0);
    assert_string_equal(hex, MAC_A_REFERENCE); /* recorded from the openssl line above */
    ch_gateways *g = table();
    assert_int_equal(
        ch_sig_verify(g, "dev", "t=1795425300,v1=" MAC_A_REFERENCE, BODY, strlen(BODY), T, 300),
        CH_SIG_OK);
    ch_gateways_free(g);
    FILE *p = popen("printf '%s' '1795425300.{\"organisation\":\"nch\"}' | "
                    "openssl dgst -sha256 -hmac 'dev-key-0123456789abcdef' -r 2>/dev/null",
                    "r");
    char line[256] = "";
    if (p) {
        if (!fgets(line, sizeof(line), p))
            line[0] = '\0';
        pclose(p);
    }
    if (strlen(line) < CH_SIG_HEX_LEN)
        skip(); /* no openssl binary here: nothing independent to compare with */
    line[CH_SIG_HEX_LEN] = '\0';
    assert_string_equal(hex, line);
}

static void
test_table_parse(void **state)
{
    (void)state;
    ch_gateways *g = table();
    assert_int_equal(ch_gateways_count(g), 3);
    assert_true(ch_gateways_has(g, "dev"));
    assert_true(ch_gateways_has(g, "crm"));
    assert_true(ch_gateways_has(g, "kiosk"));
    assert_false(ch_gateways_has(g, "de"));
    assert_false(ch_gateways_has(g, NULL));
    ch_gateways_free(g);
    ch_gateways_free(NULL);

    /* an empty table is valid: nothing can authenticate */
    assert_int_equal(ch_gateways_parse("", 0, "g", &g, NULL, 0), 0);
    assert_int_equal(ch_gateways_count(g), 0);
    assert_int_equal(ch_sig_verify(g, "dev", "t=1,v1=00", "", 0, 1, 300), CH_SIG_UNKNOWN_GATEWAY);
    ch_gateways_free(g);
}

static void
refused_table(const char *text, const char *want_in_error)
{
    ch_gateways *g = (ch_gateways *)0x1;
    char errstr[256] = "";
    int rc = ch_gateways_parse(text, strlen(text), "gw.conf", &g, errstr, sizeof(errstr));
    if (rc != CH_EINVAL)
        fail_msg("expected CH_EINVAL for %s", text);
    if (!strstr(errstr, want_in_error))
        fail_msg("error '%s' lacks '%s'", errstr, want_in_error);
    if (strstr(errstr, "secret-key"))
        fail_msg("error '%s' shows a key", errstr);
}

static void
test_table_errors(void **state)
{
    (void)state;
    refused_table("dev\n", "gw.conf:1:");
    refused_table("# c\ndev secret-key-0123456789 k2-0123456789abcdef k3-0123456789abcdef\n",
                  "gw.conf:2:");
    refused_table("dev short\n", "key 1 of gateway 'dev'");
    refused_table("dev secret-key-0123456789\ndev secret-key-9876543210\n",
                  "gw.conf:2: gateway 'dev' is listed twice");
    refused_table("bad/id secret-key-0123456789\n", "gw.conf:1:");
    refused_table("dev secret-key-0123456789 x\n", "key 2 of gateway 'dev'");
}

static void
test_verify_ok_with_either_key(void **state)
{
    (void)state;
    ch_gateways *g = table();
    char h[160];
    header_for(KEY_A, T, BODY, h, sizeof(h));
    assert_int_equal(ch_sig_verify(g, "dev", h, BODY, strlen(BODY), T, 300), CH_SIG_OK);
    assert_int_equal(ch_sig_verify(g, "crm", h, BODY, strlen(BODY), T, 300), CH_SIG_OK);
    header_for(KEY_B, T, BODY, h, sizeof(h));
    assert_int_equal(ch_sig_verify(g, "crm", h, BODY, strlen(BODY), T, 300), CH_SIG_OK);
    /* dev has only key A */
    assert_int_equal(ch_sig_verify(g, "dev", h, BODY, strlen(BODY), T, 300), CH_SIG_MISMATCH);

    /* several v1 entries: one matching is enough; other schemes are ignored */
    char ha[160], hb[160], multi[400];
    header_for(KEY_B, T, BODY, hb, sizeof(hb));
    header_for(KEY_A, T, BODY, ha, sizeof(ha));
    snprintf(multi, sizeof(multi), "%s, v0=abc,%s", hb, strchr(ha, ',') + 1);
    assert_int_equal(ch_sig_verify(g, "dev", multi, BODY, strlen(BODY), T, 300), CH_SIG_OK);

    /* an empty body signs too */
    header_for(KEY_A, T, "", h, sizeof(h));
    assert_int_equal(ch_sig_verify(g, "dev", h, "", 0, T, 300), CH_SIG_OK);
    ch_gateways_free(g);
}

static void
test_verify_refusals(void **state)
{
    (void)state;
    ch_gateways *g = table();
    char h[160];
    header_for(KEY_A, T, BODY, h, sizeof(h));
    size_t n = strlen(BODY);

    assert_int_equal(ch_sig_verify(g, NULL, h, BODY, n, T, 300), CH_SIG_MISSING_GATEWAY);
    assert_int_equal(ch_sig_verify(g, "", h, BODY, n, T, 300), CH_SIG_MISSING_GATEWAY);
    assert_int_equal(ch_sig_verify(g, "nobody", h, BODY, n, T, 300), CH_SIG_UNKNOWN_GATEWAY);
    assert_int_equal(ch_sig_verify(g, "dev", NULL, BODY, n, T, 300), CH_SIG_MISSING_SIGNATURE);
    assert_int_equal(ch_sig_verify(g, "dev", "", BODY, n, T, 300), CH_SIG_MISSING_SIGNATURE);

    /* the body changed by one byte */
    assert_int_equal(ch_sig_verify(g, "dev", h, "{\"organisation\":\"ncH\"}", n, T, 300),
                     CH_SIG_MISMATCH);
    /* the signed timestamp changed: the MAC covers it */
    char moved[160];
    snprintf(moved, sizeof(moved), "t=%d%s", T + 1, strchr(h, ','));
    assert_int_equal(ch_sig_verify(g, "dev", moved, BODY, n, T, 300), CH_SIG_MISMATCH);

    /* replay window: 300 s either side is fine, 301 s is not */
    assert_int_equal(ch_sig_verify(g, "dev", h, BODY, n, T + 300, 300), CH_SIG_OK);
    assert_int_equal(ch_sig_verify(g, "dev", h, BODY, n, T - 300, 300), CH_SIG_OK);
    assert_int_equal(ch_sig_verify(g, "dev", h, BODY, n, T + 301, 300), CH_SIG_STALE);
    assert_int_equal(ch_sig_verify(g, "dev", h, BODY, n, T - 301, 300), CH_SIG_STALE);
    assert_int_equal(ch_sig_check_header(g, "dev", h, T + 301, 300), CH_SIG_STALE);
    assert_int_equal(ch_sig_check_header(g, "dev", h, T, 300), CH_SIG_OK);

    static const char *const malformed[] = {
        "v1=" MAC_A_REFERENCE,                           /* no t */
        "t=1795425300",                                  /* no v1 */
        "t=1795425300,v1=abc",                           /* short hex */
        "t=1795425300,v1=" MAC_A_REFERENCE "00",         /* long hex */
        "t=17954x5300,v1=" MAC_A_REFERENCE,              /* t not digits */
        "t=1795425300,t=1795425300,v1=" MAC_A_REFERENCE, /* two t */
        "t=,v1=" MAC_A_REFERENCE,
        "t=1795425300,,v1=" MAC_A_REFERENCE,
        "garbage",
        "t=1795425300,v1=zz" MAC_A_REFERENCE,
    };
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        ch_sig_result r = ch_sig_verify(g, "dev", malformed[i], BODY, n, T, 300);
        if (r != CH_SIG_MALFORMED)
            fail_msg("header '%s': expected MALFORMED, got %s", malformed[i], ch_sig_code(r));
    }
    ch_gateways_free(g);
}

static void
test_codes_are_stable(void **state)
{
    (void)state;
    assert_string_equal(ch_sig_code(CH_SIG_MISSING_GATEWAY), "missing_gateway");
    assert_string_equal(ch_sig_code(CH_SIG_UNKNOWN_GATEWAY), "unknown_gateway");
    assert_string_equal(ch_sig_code(CH_SIG_MISSING_SIGNATURE), "missing_signature");
    assert_string_equal(ch_sig_code(CH_SIG_MALFORMED), "malformed_signature");
    assert_string_equal(ch_sig_code(CH_SIG_STALE), "stale_signature");
    assert_string_equal(ch_sig_code(CH_SIG_MISMATCH), "bad_signature");
    for (int r = CH_SIG_MISSING_GATEWAY; r <= CH_SIG_MISMATCH; r++)
        assert_true(strlen(ch_sig_message((ch_sig_result)r)) > 10);
}

static void
test_load_file(void **state)
{
    (void)state;
    char path[] = "/tmp/charter-gw-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("dev " KEY_A "\n", f);
    fclose(f);
    ch_gateways *g = NULL;
    char errstr[256];
    assert_int_equal(ch_gateways_load_file(path, &g, errstr, sizeof(errstr)), 0);
    assert_true(ch_gateways_has(g, "dev"));
    ch_gateways_free(g);
    unlink(path);
    assert_int_equal(ch_gateways_load_file(path, &g, errstr, sizeof(errstr)), CH_EINVAL);
    assert_non_null(strstr(errstr, path));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_openssl), cmocka_unit_test(test_table_parse),
        cmocka_unit_test(test_table_errors),    cmocka_unit_test(test_verify_ok_with_either_key),
        cmocka_unit_test(test_verify_refusals), cmocka_unit_test(test_codes_are_stable),
        cmocka_unit_test(test_load_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
