/*
 * The per-promise view and its renderings: counters mapped to the promises
 * of a shipped policy (Derby Homes, NIHE), the measure each promise is
 * judged by, trends and overdue cases, % within and met; periods counted
 * back across month and year ends; HTML escaping of everything from outside;
 * the CSV and HTML publication.
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
#include "charter/report_html.h"
#include "support/shipped.h"

static ch_policy derby, nihe;

static int
setup(void **state)
{
    (void)state;
    return fx_policy_load("derby-homes", &derby) || fx_policy_load("nihe", &nihe) ? -1 : 0;
}

static int
teardown(void **state)
{
    (void)state;
    ch_policy_free(&derby);
    ch_policy_free(&nihe);
    return 0;
}

static void
put(ch_report_table *t, const char *key, int64_t v)
{
    ch_report_item it;
    snprintf(it.key, sizeof(it.key), "%s", key);
    it.value = v;
    assert_int_equal(ch_report_table_add(t, &it, 1), 0);
}

static const ch_report_promise_row *
row(const ch_report_view *v, const char *id)
{
    for (size_t i = 0; i < v->nrows; i++)
        if (strcmp(v->rows[i].id, id) == 0)
            return &v->rows[i];
    fail_msg("no row %s", id);
    return NULL;
}

static void
test_periods_ending(void **state)
{
    (void)state;
    char p[CH_REPORT_TREND_MAX][CH_REPORT_PERIOD_MAX];
    assert_int_equal(ch_report_periods_ending("2026-02", CH_REPORT_MONTH, 3, p), 0);
    assert_string_equal(p[0], "2025-12");
    assert_string_equal(p[1], "2026-01");
    assert_string_equal(p[2], "2026-02");
    assert_int_equal(ch_report_periods_ending("2026-03-01", CH_REPORT_DAY, 2, p), 0);
    assert_string_equal(p[0], "2026-02-28");
    assert_string_equal(p[1], "2026-03-01");
    assert_int_equal(ch_report_periods_ending("2026", CH_REPORT_YEAR, 2, p), 0);
    assert_string_equal(p[0], "2025");
    assert_int_equal(ch_report_periods_ending("2026-11", CH_REPORT_MONTH, 12, p), 0);
    assert_string_equal(p[0], "2025-12");
    assert_string_equal(p[11], "2026-11");
    /* shape, range and count */
    assert_int_equal(ch_report_periods_ending("2026-13", CH_REPORT_MONTH, 1, p), CH_EINVAL);
    assert_int_equal(ch_report_periods_ending("2026-02-30", CH_REPORT_DAY, 1, p), CH_EINVAL);
    assert_int_equal(ch_report_periods_ending("2026-11", CH_REPORT_DAY, 1, p), CH_EINVAL);
    assert_int_equal(ch_report_periods_ending("2026-11", CH_REPORT_MONTH, 0, p), CH_EINVAL);
    assert_int_equal(
        ch_report_periods_ending("2026-11", CH_REPORT_MONTH, CH_REPORT_TREND_MAX + 1, p),
        CH_EINVAL);
}

static void
test_measures(void **state)
{
    (void)state;
    static const struct {
        const ch_policy *p;
        const char *id;
        ch_report_measure m;
    } want[] = {
        {&derby, "letter-enquiry", CH_REPORT_MEASURE_ANSWERED},
        {&derby, "written-enquiry", CH_REPORT_MEASURE_ANSWERED},
        {&derby, "online-service-request", CH_REPORT_MEASURE_ACKNOWLEDGED},
        {&derby, "phone-calls", CH_REPORT_MEASURE_NONE},
        {&derby, "social-media", CH_REPORT_MEASURE_NONE},
        {&nihe, "phone-calls", CH_REPORT_MEASURE_CALLS},
        {&nihe, "office-visits", CH_REPORT_MEASURE_VISITORS},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const ch_policy_promise *pr = NULL;
        for (size_t k = 0; k < want[i].p->npromises; k++)
            if (strcmp(want[i].p->promises[k].id, want[i].id) == 0)
                pr = &want[i].p->promises[k];
        assert_non_null(pr);
        assert_int_equal(ch_report_promise_measure(pr), want[i].m);
        ch_report_measure back;
        assert_int_equal(ch_report_measure_parse(ch_report_measure_name(want[i].m), &back), 0);
        assert_int_equal(back, want[i].m);
    }
    ch_report_measure m;
    assert_int_equal(ch_report_measure_parse("sometimes", &m), CH_EINVAL);
}

/* Derby Homes in November 2026: letters 2 in time, 1 late, 1 open and
 * overdue; an email in time; a social message (measured only); an online
 * service request acknowledged late; October's letters for the trend. */
static void
derby_table(ch_report_table *t)
{
    put(t, "2026-11|letter|enquiry|received", 4);
    put(t, "2026-11|letter|enquiry|answered_in_time", 2);
    put(t, "2026-11|letter|enquiry|answered_late", 1);
    put(t, "2026-11|letter|enquiry|open", 1);
    put(t, "2026-11|email|enquiry|received", 1);
    put(t, "2026-11|email|enquiry|answered_in_time", 1);
    put(t, "2026-11|social|enquiry|received", 2);
    put(t, "2026-11|online_form|service_request|received", 1);
    put(t, "2026-11|online_form|service_request|acknowledged_late", 1);
    put(t, "2026-10|letter|enquiry|received", 1);
    put(t, "2026-10|letter|enquiry|answered_late", 1);
    /* other granularities of the same cases are not counted twice */
    put(t, "2026-11-02|letter|enquiry|answered_in_time", 2);
    put(t, "2026|letter|enquiry|answered_in_time", 2);
}

static void
test_view(void **state)
{
    (void)state;
    ch_report_table t = {0};
    derby_table(&t);
    char trend[12][CH_REPORT_PERIOD_MAX];
    assert_int_equal(ch_report_periods_ending("2026-11", CH_REPORT_MONTH, 12, trend), 0);
    const char *overdue[] = {"2026-11-03|letter|enquiry|c4", "2026-10-01|letter|enquiry|c9",
                             "2026-11-04|visit|enquiry|c7"};
    ch_report_filter f = {CH_REPORT_MONTH, "2026-11", "2026-11", NULL, NULL};
    ch_report_view v;
    assert_int_equal(ch_report_view_build(&derby, &t, &f, trend, 12, overdue, 3, 100, &v), 0);
    assert_string_equal(v.id, "derby-homes");
    assert_string_equal(v.name, "Derby Homes");
    assert_string_equal(v.period, "2026-11");
    assert_int_equal(v.nrows, derby.npromises);
    assert_int_equal(v.received, 8);
    assert_int_equal(v.overdue_now, 3);

    const ch_report_promise_row *l = row(&v, "letter-enquiry");
    assert_int_equal(l->received, 4);
    assert_int_equal(l->in_time, 2);
    assert_int_equal(l->late, 1);
    assert_int_equal(l->overdue_now, 2);
    assert_true(l->target_pct == 100);
    assert_true(ch_report_row_pct(l) > 66.66 && ch_report_row_pct(l) < 66.67);
    assert_int_equal(ch_report_row_met(l), 0);
    assert_true(strncmp(l->promise, "Letter: reply within 10 working days", 36) == 0);
    assert_int_equal(l->ntrend, 12);
    assert_string_equal(l->trend[10].period, "2026-10");
    assert_int_equal(l->trend[10].late, 1);
    assert_int_equal(l->trend[10].in_time, 0);
    assert_int_equal(l->trend[11].in_time, 2);
    assert_int_equal(l->trend[0].in_time + l->trend[0].late, 0);

    const ch_report_promise_row *e = row(&v, "written-enquiry");
    assert_int_equal(e->in_time, 1);
    assert_int_equal(ch_report_row_met(e), 1);
    const ch_report_promise_row *s = row(&v, "social-media");
    assert_int_equal(s->measure, CH_REPORT_MEASURE_NONE);
    assert_int_equal(s->received, 2);
    assert_true(s->target_pct == 0);
    assert_int_equal(ch_report_row_met(s), -1);
    const ch_report_promise_row *a = row(&v, "online-service-request");
    assert_int_equal(a->late, 1);
    assert_int_equal(ch_report_row_met(a), 0);
    const ch_report_promise_row *foi = row(&v, "foi-request");
    assert_true(ch_report_row_pct(foi) < 0);
    assert_int_equal(ch_report_row_met(foi), -1);
    assert_int_equal(row(&v, "in-person")->overdue_now, 1);
    ch_report_view_free(&v);

    /* a lower target: 2 of 3 meets 66.7 */
    assert_int_equal(ch_report_view_build(&derby, &t, &f, NULL, 0, NULL, 0, 66.7, &v), 0);
    assert_int_equal(ch_report_row_met(row(&v, "letter-enquiry")), 1);
    ch_report_view_free(&v);

    /* a promise's own target (target: in the policy) wins over the default,
     * for its judged lines too; the others keep the default */
    for (size_t i = 0; i < derby.npromises; i++)
        if (strcmp(derby.promises[i].id, "letter-enquiry") == 0)
            derby.promises[i].target_pct = 60;
    assert_int_equal(ch_report_view_build(&derby, &t, &f, NULL, 0, NULL, 0, 100, &v), 0);
    assert_int_equal(ch_report_row_met(row(&v, "letter-enquiry")), 1);
    assert_true(row(&v, "letter-enquiry")->target_pct == 60);
    assert_true(row(&v, "letter-enquiry")->line_target_pct == 60);
    assert_int_equal(row(&v, "letter-enquiry")->target_default, 0);
    assert_string_equal(ch_report_row_result(row(&v, "letter-enquiry")), "met");
    assert_true(row(&v, "written-enquiry")->target_pct == 100);
    assert_int_equal(row(&v, "written-enquiry")->target_default, 1);
    ch_report_view_free(&v);
    for (size_t i = 0; i < derby.npromises; i++)
        derby.promises[i].target_pct = 0;

    /* a channel filter and a range */
    ch_report_filter g = {CH_REPORT_MONTH, "2026-10", "2026-11", "letter", NULL};
    assert_int_equal(ch_report_view_build(&derby, &t, &g, NULL, 0, NULL, 0, 100, &v), 0);
    assert_string_equal(v.period, "2026-10 to 2026-11");
    assert_int_equal(v.received, 5);
    assert_int_equal(row(&v, "letter-enquiry")->late, 2);
    assert_int_equal(row(&v, "written-enquiry")->in_time, 0);
    ch_report_view_free(&v);

    assert_int_equal(
        ch_report_view_build(&derby, &t, &f, trend, CH_REPORT_TREND_MAX + 1, NULL, 0, 100, &v),
        CH_EINVAL);
    assert_int_equal(ch_report_view_build(&derby, &t, &f, NULL, 0, NULL, 0, 0, &v), CH_EINVAL);
    assert_int_equal(ch_report_view_build(&derby, &t, &f, NULL, 0, NULL, 0, 101, &v), CH_EINVAL);
    ch_report_table_free(&t);
}

static void
test_calls_and_visitors(void **state)
{
    (void)state;
    ch_report_table t = {0};
    put(&t, "2026-11|phone|enquiry|received", 2);
    put(&t, "2026-11|phone|enquiry|calls_answered_in_time", 1);
    put(&t, "2026-11|phone|enquiry|calls_answered_late", 1);
    put(&t, "2026-11|phone|enquiry|answered_in_time", 5); /* not what calls are judged by */
    put(&t, "2026-11|visit|enquiry|visitors_seen_in_time", 3);
    ch_report_filter f = {CH_REPORT_MONTH, "2026-11", "2026-11", NULL, NULL};
    ch_report_view v;
    assert_int_equal(ch_report_view_build(&nihe, &t, &f, NULL, 0, NULL, 0, 100, &v), 0);
    const ch_report_promise_row *c = row(&v, "phone-calls");
    assert_int_equal(c->in_time, 1);
    assert_int_equal(c->late, 1);
    assert_true(ch_report_row_pct(c) == 50.0);
    assert_int_equal(row(&v, "office-visits")->in_time, 3);
    assert_int_equal(ch_report_row_met(row(&v, "office-visits")), 1);
    ch_report_view_free(&v);
    ch_report_table_free(&t);
}

static void
test_escape(void **state)
{
    (void)state;
    char *s = ch_report_html_escape("<script>alert('x') & \"y\"</script>");
    assert_non_null(s);
    assert_string_equal(s, "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;");
    free(s);
    s = ch_report_html_escape("");
    assert_string_equal(s, "");
    free(s);
}

static void
test_dashboard(void **state)
{
    (void)state;
    ch_report_table t = {0};
    derby_table(&t);
    char trend[12][CH_REPORT_PERIOD_MAX];
    assert_int_equal(ch_report_periods_ending("2026-11", CH_REPORT_MONTH, 12, trend), 0);
    const char *overdue[] = {"2026-11-03|letter|enquiry|c4"};
    ch_report_filter f = {CH_REPORT_MONTH, "2026-11", "2026-11", NULL, NULL};
    ch_report_view v;
    assert_int_equal(ch_report_view_build(&derby, &t, &f, trend, 12, overdue, 1, 100, &v), 0);
    /* text from outside is escaped wherever it appears */
    snprintf(v.name, sizeof(v.name), "<b>Evil & Co</b>");
    snprintf(v.rows[0].id, sizeof(v.rows[0].id), "x\"onmouseover=\"alert(1)");
    const char *gen[] = {"2026-11-23 10:00 <UTC>"};
    const ch_report_org_link links[] = {{"derby-homes", "Derby <Homes>"}, {"nihe", "NIHE"}};
    ch_report_dash_page pg = {.generated = gen,
                              .month = "2026-11",
                              .shown_month = "2026-11",
                              .prev_month = "2026-10",
                              .next_month = "2026-12",
                              .organisation = "derby-homes",
                              .orgs = links,
                              .norgs = 2,
                              .summary_html = "<b>3</b> overdue now"};
    char *html = ch_report_html_dashboard(&v, 1, &pg);
    assert_non_null(html);
    assert_non_null(strstr(html, "<meta name=\"viewport\""));
    assert_non_null(strstr(html, "&lt;b&gt;Evil &amp; Co&lt;/b&gt;"));
    assert_null(strstr(html, "<b>Evil"));
    assert_non_null(strstr(html, "data-promise=\"x&quot;onmouseover=&quot;alert(1)\""));
    assert_non_null(strstr(html, "2026-11-23 10:00 &lt;UTC&gt;"));
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "http://"));
    assert_null(strstr(html, "https://"));
    assert_non_null(strstr(html, "<section class=\"org\" data-org=\"derby-homes\""));
    assert_non_null(strstr(html, "data-figure=\"overdue-now\">1</b>"));
    assert_non_null(strstr(
        html, "data-promise=\"letter-enquiry\" data-measure=\"answered\" data-received=\"4\" "
              "data-in-time=\"2\" data-late=\"1\" data-overdue-now=\"1\" "
              "data-target=\"100%\""));
    /* met / not met in words, the target's source said */
    assert_non_null(strstr(html, "<span data-figure=\"pct\">66.7%</span> <strong class=\"result\" "
                                 "data-figure=\"result\">not met</strong> <small>target 100% (the "
                                 "default: no target in the policy)</small>"));
    assert_non_null(strstr(html, "data-target-source=\"default\""));
    /* the overdue count keeps its colour: the rule after .totals b, as specific */
    assert_non_null(strstr(html, ".totals b.overdue,.overdue{color:#b10e1e"));
    assert_non_null(strstr(html, "<b class=\"overdue\" data-figure=\"overdue-now\">1</b>"));
    /* the chart is decoration; its figures are text: a caption per chart, a
     * table row per month, month labels under the bars; no hover titles */
    assert_non_null(strstr(html, "aria-hidden=\"true\""));
    assert_null(strstr(html, "role=\"img\""));
    assert_null(strstr(html, "<title>2026"));
    assert_non_null(strstr(html, "<figcaption data-figure=\"trend-caption\">Trend for &ldquo;"
                                 "letter-enquiry&rdquo;: % of replies in time each month, December "
                                 "2025 to November 2026, against a target of 100%."));
    assert_non_null(strstr(html, "<tr data-period=\"2026-10\"><th scope=\"row\">October 2026"
                                 "</th><td>0.0%</td><td>0</td><td>1</td><td>not met</td></tr>"));
    assert_non_null(strstr(html, ">Oct</text>"));
    /* navigation keeps the other choice; the filter lists every organisation */
    assert_non_null(strstr(html, "<a data-link=\"prev\" rel=\"prev\" href=\"/?month=2026-10&amp;"
                                 "organisation=derby-homes\">Previous month: October 2026</a>"));
    assert_non_null(strstr(html, "href=\"/?month=2026-12&amp;organisation=derby-homes\">Next "
                                 "month: December 2026</a>"));
    assert_non_null(strstr(html, "href=\"/?month=2026-11&amp;organisation=nihe\">NIHE</a>"));
    assert_non_null(strstr(html, "aria-current=\"page\">Derby &lt;Homes&gt;</a>"));
    assert_non_null(strstr(html, "href=\"/?month=2026-11\">All organisations</a>"));
    /* the period in words, the work queue's line at the top */
    assert_non_null(strstr(html, "data-period=\"2026-11\">November 2026</span>"));
    assert_non_null(strstr(html, "<p class=\"summary\" data-figure=\"summary\"><b>3</b> overdue "
                                 "now</p>"));
    free(html);

    /* the current month: no next link; no summary when the slot is empty */
    pg.next_month = "";
    pg.summary_html = "";
    html = ch_report_html_dashboard(&v, 1, &pg);
    assert_null(strstr(html, "data-link=\"next\""));
    assert_null(strstr(html, "data-figure=\"summary\""));
    free(html);

    /* a promise's own target: judged against it, said to come from the policy */
    for (size_t i = 0; i < v.nrows; i++)
        if (strcmp(v.rows[i].id, "letter-enquiry") == 0) {
            v.rows[i].target_pct = 60;
            v.rows[i].target_default = 0;
        }
    html = ch_report_html_dashboard(&v, 1, &pg);
    assert_non_null(strstr(html, "data-figure=\"result\">met</strong> <small>target 60%</small>"));
    assert_non_null(strstr(html, "data-target=\"60%\" data-target-source=\"policy\""));
    free(html);
    ch_report_view_free(&v);
    ch_report_table_free(&t);

    ch_report_dash_page empty = {
        .month = "", .shown_month = "", .prev_month = "", .next_month = "", .organisation = ""};
    html = ch_report_html_dashboard(NULL, 0, &empty);
    assert_non_null(strstr(html, "No organisations"));
    free(html);
}

/* the error page: HTML with the message escaped and a way back */
static void
test_error_page(void **state)
{
    (void)state;
    char *html = ch_report_html_error(400, "That is not a month", "'<13>' is not a month", "/",
                                      "Back to the dashboard");
    assert_non_null(html);
    assert_non_null(strstr(html, "<html lang=\"en-GB\">"));
    assert_non_null(strstr(html, "<h1 data-status=\"400\">That is not a month</h1>"));
    assert_non_null(strstr(html, "&#39;&lt;13&gt;&#39; is not a month"));
    assert_non_null(strstr(html, "<a href=\"/\" data-link=\"back\">Back to the dashboard</a>"));
    free(html);
}

/* months in words and steps; times in local time, to the minute */
static void
test_dates(void **state)
{
    (void)state;
    char buf[80];
    ch_report_period_words("2026-11", buf, sizeof(buf));
    assert_string_equal(buf, "November 2026");
    ch_report_period_words("2026-Q1", buf, sizeof(buf));
    assert_string_equal(buf, "2026-Q1");
    assert_int_equal(ch_report_month_step("2026-01", -1, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "2025-12");
    assert_int_equal(ch_report_month_step("2026-12", 1, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "2027-01");
    assert_int_equal(ch_report_month_step("2026-13x", 1, buf, sizeof(buf)), -1);
    char err[256];
    ch_tz *tz = ch_tz_load("Europe/London", NULL, err, sizeof(err));
    assert_non_null(tz);
    /* 2026-07-01T09:05:59.999Z is 10:05 in summer time; no seconds, no ms */
    ch_report_local_time(tz, 1782896759999LL, buf, sizeof(buf));
    assert_string_equal(buf, "1 July 2026, 10:05 (Europe/London)");
    /* 2026-12-05T06:49:09.698Z: GMT */
    ch_report_local_time(tz, 1796453349698LL, buf, sizeof(buf));
    assert_string_equal(buf, "5 December 2026, 06:49 (Europe/London)");
    ch_tz_free(tz);
    ch_report_local_time(NULL, 0, buf, sizeof(buf));
    assert_string_equal(buf, "1 January 1970, 00:00 (UTC)");
}

static void
test_publication(void **state)
{
    (void)state;
    ch_report_table t = {0};
    derby_table(&t);
    ch_report_filter f = {CH_REPORT_MONTH, "2026-11", "2026-11", NULL, NULL};
    ch_report_view v;
    assert_int_equal(ch_report_view_build(&derby, &t, &f, NULL, 0, NULL, 0, 100, &v), 0);
    snprintf(v.rows[0].promise, sizeof(v.rows[0].promise), "Say \"hello\", then wait");
    char *csv = ch_report_csv_publication(&v);
    assert_non_null(csv);
    const char *header =
        "promise_id,promise,line,target_pct,number,within_target,pct_within,result\r\n";
    assert_true(strncmp(csv, header, strlen(header)) == 0);
    assert_non_null(strstr(
        csv, "phone-calls,\"Say \"\"hello\"\", then wait\",measured,,0,,,measured only\r\n"));
    assert_non_null(strstr(csv, "letter-enquiry,\"Letter: reply within 10 working days"));
    assert_non_null(strstr(csv, ",answered,100,3,2,66.7,not met\r\n"));
    assert_non_null(strstr(csv, "social-media,\"Social media message: measured, no time "
                                "promised\",measured,,2,,,measured only\r\n"));
    assert_non_null(strstr(csv, ",,2,,,measured only\r\n"));
    assert_non_null(strstr(csv, "foi-request,"));
    assert_non_null(strstr(csv, ",answered,100,0,0,,no cases\r\n"));
    free(csv);
    char *html = ch_report_html_publication(&v, "2026");
    assert_non_null(html);
    assert_non_null(strstr(html, "<h1>Derby Homes: how we kept our customer charter in 2026</h1>"));
    assert_non_null(strstr(html, "<tr data-promise=\"letter-enquiry\"><td>Letter: reply within"));
    assert_non_null(strstr(html, "<td class=\"n\">100%</td><td class=\"n\">3 replies</td>"
                                 "<td class=\"n\">2</td><td class=\"n\">66.7%</td><td>not "
                                 "met</td>"));
    assert_non_null(strstr(html, "Say &quot;hello&quot;, then wait"));
    free(html);
    ch_report_view_free(&v);
    ch_report_table_free(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_periods_ending), cmocka_unit_test(test_measures),
        cmocka_unit_test(test_view),           cmocka_unit_test(test_calls_and_visitors),
        cmocka_unit_test(test_escape),         cmocka_unit_test(test_dashboard),
        cmocka_unit_test(test_publication),    cmocka_unit_test(test_error_page),
        cmocka_unit_test(test_dates),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
