/*
 * Delivery of customer notices (report_delivery.h): which outcomes count
 * as sent, delivered, failed and fell back, per channel and month; a staff
 * alert and a refusal at sending are not counted; the sums between bounds;
 * the rate, unknown (not 0%) where no receipt came; and the measures as the
 * JSON codec, the publication's CSV and the dashboard carry them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "charter/report_counts.h"
#include "charter/report_delivery.h"
#include "charter/report_html.h"
#include "charter/report_json.h"
#include "charter/v1/notification.pb-c.h"

#define S(x) CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_##x
#define CH(x) CHARTER__V1__CHANNEL__CHANNEL_##x
#define K(x) CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_##x

static Charter__V1__Timestamp dec5 = CHARTER__V1__TIMESTAMP__INIT; /* 2026-12-05 */

static Charter__V1__NotificationOutcome
outcome(int kind, int status, int channel, const char *reason)
{
    Charter__V1__NotificationOutcome o = CHARTER__V1__NOTIFICATION_OUTCOME__INIT;
    dec5.seconds = 1796486400; /* 2026-12-05T16:00:00Z */
    o.organisation = "nottingham-city-homes";
    o.case_id = "c1";
    o.event_id = "c1/acknowledgement/x";
    o.kind = (Charter__V1__NotificationKind)kind;
    o.status = (Charter__V1__NotificationOutcome__Status)status;
    o.channel = (Charter__V1__Channel)channel;
    o.reason = (char *)reason;
    o.occurred_at = &dec5;
    return o;
}

static size_t
names_of(Charter__V1__NotificationOutcome o, char (*names)[CH_REPORT_DELIVERY_NAME_MAX])
{
    return ch_report_delivery_names(&o, names);
}

static void
test_names(void **state)
{
    (void)state;
    char n[2][CH_REPORT_DELIVERY_NAME_MAX];
    assert_int_equal(names_of(outcome(K(ACKNOWLEDGEMENT), S(SENT), CH(SMS), ""), n), 1);
    assert_string_equal(n[0], "delivery.2026-12.sms.sent");
    assert_int_equal(names_of(outcome(K(HOLDING_REPLY), S(DELIVERED), CH(EMAIL), ""), n), 1);
    assert_string_equal(n[0], "delivery.2026-12.email.delivered");
    assert_int_equal(
        names_of(outcome(K(ACKNOWLEDGEMENT), S(FAILED), CH(SMS),
                         "permanent-failure on sms; fell back to email; provider: notify: x"),
                 n),
        2);
    assert_string_equal(n[0], "delivery.2026-12.sms.failed");
    assert_string_equal(n[1], "delivery.2026-12.sms.fell_back");
    assert_int_equal(
        names_of(outcome(K(APPOINTMENT_REMINDER), S(FAILED), CH(LETTER),
                         "temporary-failure on letter; no channel left: staff told; provider: x"),
                 n),
        1);
    assert_string_equal(n[0], "delivery.2026-12.letter.failed");
    /* a technical failure sent again by the same channel: failed, not fallen back */
    assert_int_equal(
        names_of(outcome(K(ACKNOWLEDGEMENT), S(FAILED), CH(EMAIL),
                         "technical-failure on email; sent again by email; provider: x"),
                 n),
        1);
    /* refused at sending (the transport's failure), a queued retry, a staff alert, a
     * reason naming another channel: no delivery counts */
    assert_int_equal(names_of(outcome(K(ACKNOWLEDGEMENT), S(FAILED), CH(SMS), "HTTP 400"), n), 0);
    assert_int_equal(names_of(outcome(K(ACKNOWLEDGEMENT), S(QUEUED), CH(SMS), ""), n), 0);
    assert_int_equal(names_of(outcome(K(STAFF_BREACH), S(SENT), CH(EMAIL), ""), n), 0);
    assert_int_equal(
        names_of(outcome(K(ACKNOWLEDGEMENT), S(FAILED), CH(EMAIL), "permanent-failure on sms; x"),
                 n),
        0);
    Charter__V1__NotificationOutcome o = outcome(K(ACKNOWLEDGEMENT), S(SENT), CH(SMS), "");
    o.occurred_at = NULL;
    assert_int_equal(ch_report_delivery_names(&o, n), 0);
}

static void
test_counted_beside_status(void **state)
{
    (void)state;
    Charter__V1__NotificationOutcome o =
        outcome(K(ACKNOWLEDGEMENT), S(FAILED), CH(SMS),
                "permanent-failure on sms; fell back to email; provider: notify: gone");
    ch_report_counted c;
    assert_int_equal(ch_report_counts_of(&o.base, &c), 0);
    assert_int_equal(c.nnames, 3);
    assert_string_equal(c.names[0], "notifications.failed");
    assert_string_equal(c.names[1], "delivery.2026-12.sms.failed");
    assert_string_equal(c.names[2], "delivery.2026-12.sms.fell_back");
    assert_int_equal(ch_report_count_is_event(c.names[1]), 0); /* events are not doubled */
}

static void
fill(ch_report_table *t)
{
    ch_report_item items[] = {
        {"delivery.2026-11.sms.sent", 4},      {"delivery.2026-11.sms.delivered", 3},
        {"delivery.2026-11.sms.failed", 1},    {"delivery.2026-12.sms.sent", 2},
        {"delivery.2026-12.sms.delivered", 1}, {"delivery.2026-12.sms.failed", 1},
        {"delivery.2026-12.sms.fell_back", 1}, {"delivery.2026-12.email.sent", 1},
        {"delivery.2026-12.email.failed", 1},  {"delivery.2026-12.email.fell_back", 1},
        {"delivery.2026-12.letter.sent", 1},   {"notifications.sent", 8},
        {"delivery.2025-12.sms.sent", 9},
    };
    memset(t, 0, sizeof(*t));
    assert_int_equal(ch_report_table_add(t, items, sizeof(items) / sizeof(items[0])), 0);
}

static void
test_sum_and_rate(void **state)
{
    (void)state;
    ch_report_table t;
    fill(&t);
    ch_report_delivery d;
    ch_report_delivery_sum(&t, "2026-12", "2026-12", &d);
    assert_int_equal(d.n, 3); /* in the shown order: sms, email, letter */
    assert_string_equal(d.rows[0].channel, "sms");
    assert_int_equal(d.rows[0].sent, 2);
    assert_int_equal(d.rows[0].delivered, 1);
    assert_int_equal(d.rows[0].failed, 1);
    assert_int_equal(d.rows[0].fell_back, 1);
    assert_true(ch_report_delivery_rate(&d.rows[0]) == 50.0);
    assert_string_equal(d.rows[1].channel, "email");
    assert_true(ch_report_delivery_rate(&d.rows[1]) == 0.0); /* a receipt said failed: 0% */
    assert_string_equal(d.rows[2].channel, "letter");
    assert_true(ch_report_delivery_rate(&d.rows[2]) < 0); /* no receipt ever: unknown */

    ch_report_delivery_sum(&t, "2026", "2026", &d); /* a year: its months */
    assert_int_equal(d.rows[0].sent, 6);
    assert_true(ch_report_delivery_rate(&d.rows[0]) == 4.0 * 100 / 6);
    ch_report_delivery_sum(&t, "2026-11-01", "2026-11-30", &d); /* days: their month */
    assert_int_equal(d.n, 1);
    assert_int_equal(d.rows[0].sent, 4);
    ch_report_delivery_sum(&t, NULL, "", &d); /* no bounds: everything */
    assert_int_equal(d.rows[0].sent, 15);
    ch_report_table_free(&t);
}

static void
test_published(void **state)
{
    (void)state;
    ch_report_table t;
    fill(&t);
    ch_report_view v;
    memset(&v, 0, sizeof(v));
    snprintf(v.id, sizeof(v.id), "nottingham-city-homes");
    ch_report_delivery_sum(&t, "2026-12", "2026-12", &v.delivery);
    ch_report_table_free(&t);

    /* JSON: rates, "unknown" for letters; read back as written */
    json_t *m = ch_report_measures_to_json(&v);
    json_t *sms = json_object_get(json_object_get(m, "delivery"), "sms");
    json_t *letter = json_object_get(json_object_get(m, "delivery"), "letter");
    assert_true(json_real_value(json_object_get(sms, "delivery_rate_pct")) == 50.0);
    assert_string_equal(json_string_value(json_object_get(sms, "delivery_rate")), "50.0%");
    assert_true(json_is_null(json_object_get(letter, "delivery_rate_pct")));
    assert_string_equal(json_string_value(json_object_get(letter, "delivery_rate")), "unknown");
    json_t *root = json_pack("{s:s,s:[],s:o}", "organisation", "nottingham-city-homes", "promises",
                             "measures", m);
    ch_report_view back;
    char err[200];
    assert_int_equal(ch_report_view_from_json(root, "2026-12", &back, err, sizeof(err)), 0);
    assert_int_equal(back.delivery.n, 3);
    for (size_t i = 0; i < 3; i++) {
        const ch_report_delivery_row *r = NULL;
        for (size_t k = 0; k < 3; k++)
            if (strcmp(back.delivery.rows[k].channel, v.delivery.rows[i].channel) == 0)
                r = &back.delivery.rows[k];
        assert_non_null(r);
        assert_memory_equal(r, &v.delivery.rows[i], sizeof(*r));
    }
    ch_report_view_free(&back);
    json_decref(root);

    /* CSV: one line per channel; letters unknown, not 0% */
    char *csv = ch_report_csv_publication(&v);
    assert_non_null(strstr(csv, ",delivery.sms,,2,1,50.0,measured\r\n"));
    assert_non_null(strstr(csv, ",delivery.email,,1,0,0.0,measured\r\n"));
    assert_non_null(strstr(csv, ",delivery.letter,,0,0,,unknown: no delivery reports\r\n"));
    free(csv);

    /* the dashboard says unknown, with why */
    char *html = ch_report_html_dashboard(&v, 1,
                                          &(ch_report_dash_page){.month = "",
                                                                 .shown_month = "",
                                                                 .prev_month = "",
                                                                 .next_month = "",
                                                                 .organisation = ""});
    assert_non_null(strstr(html, "data-channel=\"letter\""));
    assert_non_null(strstr(html, "<b data-figure=\"delivery-rate\">unknown</b>"));
    assert_non_null(strstr(html, "<b data-figure=\"delivery-rate\">50.0%</b>"));
    assert_null(strstr(html, "0.0%</b> delivered (0 of 0"));
    free(html);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_counted_beside_status),
        cmocka_unit_test(test_sum_and_rate),
        cmocka_unit_test(test_published),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
