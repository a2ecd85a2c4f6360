/*
 * GOV.UK Notify's API as notification speaks it: the Notify-shaped JSON
 * body, the API key split (never quoting the key in errors) and the JWT
 * (against a vector computed with Python's hmac).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "notify_api.h"

static void
http_body_is_notify_shaped(void **state)
{
    (void)state;
    char *s = notify_http_body("sms", "07700900123", "tmpl-1", "case-1/acknowledgement",
                               "NCH-2026-000001", "case-1", "Subj", "Text");
    json_error_t err;
    json_t *o = json_loads(s, 0, &err);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "phone_number")), "07700900123");
    assert_string_equal(json_string_value(json_object_get(o, "template_id")), "tmpl-1");
    assert_string_equal(json_string_value(json_object_get(o, "reference")),
                        "case-1/acknowledgement");
    json_t *p = json_object_get(o, "personalisation");
    assert_string_equal(json_string_value(json_object_get(p, "body")), "Text");
    assert_string_equal(json_string_value(json_object_get(p, "reference")), "NCH-2026-000001");
    json_decref(o);
    free(s);
    s = notify_http_body("email", "ann@example.org", "t", "r", "R", "c", "S", "B");
    o = json_loads(s, 0, &err);
    assert_string_equal(json_string_value(json_object_get(o, "email_address")), "ann@example.org");
    assert_null(json_object_get(o, "phone_number"));
    json_decref(o);
    free(s);
}

#define SERVICE "26785a09-ab16-4eb0-8407-a37497a57506"
#define SECRET "3d844edf-8d35-48ac-975b-e847b4f122b0"

static void
api_key_split(void **state)
{
    (void)state;
    char sid[37], sec[37], err[300] = "";
    assert_int_equal(notify_api_key_split("my-test-key-" SERVICE "-" SECRET, "notify.http.api_key",
                                          sid, sec, err, sizeof(err)),
                     0);
    assert_string_equal(sid, SERVICE);
    assert_string_equal(sec, SECRET);
    const char *bad[] = {"",
                         SERVICE "-" SECRET,
                         "key-" SERVICE "-" SECRET "x",
                         "key-" SERVICE "_" SECRET,
                         "key-" SERVICE "-3d844edf-8d35-48ac-975b-e847b4f122bz",
                         "key_" SERVICE "-" SECRET};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(
            notify_api_key_split(bad[i], "notify.http.api_key", sid, sec, err, sizeof(err)),
            CH_EINVAL);
        assert_non_null(strstr(err, "notify.http.api_key"));
        assert_null(strstr(err, "3d844edf"));
        assert_null(strstr(err, "26785a09"));
    }
}

static void
jwt_matches_python_hmac(void **state)
{
    (void)state;
    /* base64url(header) . base64url(claims) . base64url(HMAC-SHA256(secret)),
     * computed with /usr/bin/python3's hmac, hashlib and base64. */
    char *jwt = notify_jwt(SERVICE, SECRET, 1700000000);
    assert_non_null(jwt);
    assert_string_equal(jwt, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                             "eyJpc3MiOiIyNjc4NWEwOS1hYjE2LTRlYjAtODQwNy1hMzc0OTdhNTc1MDYiLCJpYXQi"
                             "OjE3MDAwMDAwMDB9.Kn-G9XSJxdSMk5GxZAwIpUFB7KL-ZpWDLUGVQeIZ4Ec");
    assert_null(strstr(jwt, SECRET));
    char *other = notify_jwt(SERVICE, SECRET, 1700000001);
    assert_non_null(other);
    assert_string_not_equal(jwt, other);
    free(other);
    free(jwt);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(http_body_is_notify_shaped),
        cmocka_unit_test(api_key_split),
        cmocka_unit_test(jwt_matches_python_hmac),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
