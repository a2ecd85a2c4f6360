/*
 * `charterctl report`: the publication ("we will publish the results each
 * year") of one organisation's charter performance, as CSV or HTML.
 *
 *   charterctl report --organisation ID --format html|csv
 *                     [--period YYYY | YYYY-Qn | YYYY-MM] [--year YYYY]
 *                     [--url http://127.0.0.1:8081] [--output FILE]
 *
 * The figures come from the reporting service's GET /v1/publication: the
 * publication it wrote when the period ended (frozen), or, for a period not
 * written (the current year, say), the same figures as they stand now. With
 * no period, the latest period the organisation publishes (its policy's
 * reporting.publish: the last completed year, quarter or month). The lines
 * are already judged against the policies reporting runs with, so this
 * command needs no policy files and publishes exactly what the dashboard
 * and the API show; report_json reads them and report_html renders them.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/report_html.h"
#include "charter/report_json.h"
#include "charter/report_view.h"
#include "charter/strbuf.h"
#include "charterctl.h"

#define MAX_BODY (16 * 1024 * 1024)

static void
usage(FILE *out)
{
    fprintf(out,
            "Usage: charterctl report --organisation ID --format html|csv\n"
            "                         [--period P | --year YYYY] [--url URL] [--output FILE]\n\n"
            "The charter's performance for a period, one line per promise and its further\n"
            "lines: the promise in words, the target, the number of cases, how many were\n"
            "within the promise, the %% within and whether the target was met; then the\n"
            "acknowledgement, the original promise, time to respond and the measures\n"
            "the charter promises.\n"
            "  --period  2025 (a year), 2026-Q1 (a quarter) or 2026-11 (a month); without\n"
            "            it, the latest period the organisation publishes (its policy's\n"
            "            reporting.publish, yearly if none): the publication reporting\n"
            "            wrote when that period ended\n"
            "  --year    the same as --period YYYY\n"
            "  --url     the reporting service (default http://127.0.0.1:8081)\n"
            "  --output  write to FILE instead of standard output\n");
}

/* The body goes into a ch_strbuf capped one byte over MAX_BODY: reaching
 * that byte, or running out of memory, stops the transfer. */
static size_t
on_data(char *data, size_t size, size_t nmemb, void *opaque)
{
    ch_strbuf *b = opaque;
    ch_strbuf_put(b, data, size * nmemb);
    return ch_strbuf_failed(b) || b->n > MAX_BODY ? 0 : size * nmemb;
}

/* The organisation's publication for the period ("" for the latest), as
 * JSON text; NULL after saying why. */
static char *
fetch(const char *url, const char *org, const char *period)
{
    CURL *c = curl_easy_init();
    if (!c) {
        fprintf(stderr, "charterctl report: cannot start libcurl\n");
        return NULL;
    }
    char *eorg = curl_easy_escape(c, org, 0);
    size_t need = strlen(url) + (eorg ? strlen(eorg) : 0) + 128;
    char *full = malloc(need);
    ch_strbuf b;
    ch_strbuf_init_capped(&b, MAX_BODY + 1);
    char *text = NULL;
    char err[CURL_ERROR_SIZE] = "";
    long status = 0;
    CURLcode rc = CURLE_OUT_OF_MEMORY;
    if (eorg && full) {
        size_t ulen = strlen(url);
        if (url[ulen - 1] == '/') /* a trailing slash on --url is not doubled */
            ulen--;
        snprintf(full, need, "%.*s/v1/publication?organisation=%s%s%s", (int)ulen, url, eorg,
                 period[0] ? "&period=" : "", period);
        curl_easy_setopt(c, CURLOPT_URL, full);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    }
    if (rc != CURLE_OK) {
        fprintf(stderr, "charterctl report: cannot read %s: %s\n", full ? full : url,
                b.n > MAX_BODY ? "the answer is larger than 16 MiB"
                : err[0]       ? err
                               : curl_easy_strerror(rc));
    } else if (status != 200) {
        fprintf(stderr, "charterctl report: %s answered %ld: %s\n", full, status,
                b.p ? b.p : "(no body)");
    } else if (!b.p) {
        fprintf(stderr, "charterctl report: %s answered with no body\n", full);
    } else {
        text = ch_strbuf_take(&b, NULL);
    }
    ch_strbuf_free(&b);
    free(full);
    curl_free(eorg);
    curl_easy_cleanup(c);
    return text;
}

/* The JSON answer as a view: 0, or 1 after saying why. The period it
 * covers into period (periodsz). */
static int
view_of(const char *text, char *period, size_t periodsz, ch_report_view *v)
{
    json_error_t je;
    json_t *root = json_loads(text, 0, &je);
    memset(v, 0, sizeof(*v));
    if (!root) {
        fprintf(stderr, "charterctl report: the reporting service's answer is not JSON: %s\n",
                je.text);
        return 1;
    }
    if (!json_is_true(json_object_get(root, "policy"))) {
        fprintf(stderr,
                "charterctl report: the reporting service has no policy for organisation '%s' "
                "(is report.policy_dir set, and the id right?)\n",
                json_string_value(json_object_get(root, "organisation")));
        json_decref(root);
        return 1;
    }
    const char *p = json_string_value(json_object_get(root, "period"));
    if (p)
        snprintf(period, periodsz, "%s", p);
    if (!json_is_true(json_object_get(root, "final")))
        fprintf(stderr,
                "charterctl report: %s is not published yet (not ended, or ended less than "
                "report.publish_delay_s ago): these are the figures as they stand now\n",
                period);
    char err[200];
    int rc = ch_report_view_from_json(root, period, v, err, sizeof(err));
    json_decref(root);
    if (rc != 0) {
        fprintf(stderr, "charterctl report: the reporting service's answer: %s\n", err);
        return 1;
    }
    return 0;
}

static int
valid_year(const char *s)
{
    if (strlen(s) < 4)
        return 0;
    for (int i = 0; i < 4; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return atoi(s) >= 1995 && atoi(s) <= 2100;
}

/* "2025", "2026-Q1" or "2026-11". */
static int
valid_period(const char *s)
{
    size_t n = strlen(s);
    if (!valid_year(s))
        return 0;
    if (n == 4)
        return 1;
    if (n != 7 || s[4] != '-')
        return 0;
    if (s[5] == 'Q')
        return s[6] >= '1' && s[6] <= '4';
    return s[5] >= '0' && s[5] <= '1' && s[6] >= '0' && s[6] <= '9' && atoi(s + 5) >= 1 &&
           atoi(s + 5) <= 12;
}

/* An organisation id as the API takes it: no braces or colons, not empty. */
static int
valid_org(const char *s)
{
    return s[0] && strlen(s) < 64 && !strpbrk(s, "{}:");
}

int
ch_cmd_report(int argc, char **argv)
{
    const char *org = NULL, *year = NULL, *period = NULL, *format = NULL,
               *url = "http://127.0.0.1:8081", *output = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        const char **slot = !strcmp(a, "--organisation") ? &org
                            : !strcmp(a, "--year")       ? &year
                            : !strcmp(a, "--period")     ? &period
                            : !strcmp(a, "--format")     ? &format
                            : !strcmp(a, "--url")        ? &url
                            : !strcmp(a, "--output")     ? &output
                                                         : NULL;
        if (!slot) {
            fprintf(stderr, "charterctl report: unknown option '%s'\n\n", a);
            usage(stderr);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "charterctl report: %s needs a value\n", a);
            return 2;
        }
        *slot = argv[++i];
    }
    if (!org || !valid_org(org)) {
        fprintf(stderr, "charterctl report: --organisation is required: the organisation's id, "
                        "e.g. derby-homes\n");
        return 2;
    }
    if (year && (strlen(year) != 4 || !valid_year(year))) {
        fprintf(stderr, "charterctl report: --year is a year such as 2026 (1995-2100), got '%s'\n",
                year);
        return 2;
    }
    if (period && !valid_period(period)) {
        fprintf(stderr,
                "charterctl report: --period is a year (2025), a quarter (2026-Q1) or a month "
                "(2026-11), got '%s'\n",
                period);
        return 2;
    }
    if (year && period) {
        fprintf(stderr, "charterctl report: give --year or --period, not both\n");
        return 2;
    }
    if (!format || (strcmp(format, "csv") != 0 && strcmp(format, "html") != 0)) {
        fprintf(stderr, "charterctl report: --format is required: csv or html, got '%s'\n",
                format ? format : "");
        return 2;
    }
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        fprintf(stderr,
                "charterctl report: --url is the reporting service's address, e.g. "
                "http://127.0.0.1:8081, got '%s'\n",
                url);
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        fprintf(stderr, "charterctl report: cannot start libcurl\n");
        return 1;
    }
    char label[16];
    snprintf(label, sizeof(label), "%s", year ? year : period ? period : "");
    char *text = fetch(url, org, label);
    curl_global_cleanup();
    if (!text)
        return 1;
    ch_report_view v;
    int rc = view_of(text, label, sizeof(label), &v);
    free(text);
    if (rc != 0)
        return 1;
    char *out = !strcmp(format, "csv") ? ch_report_csv_publication(&v)
                                       : ch_report_html_publication(&v, label);
    ch_report_view_free(&v);
    if (!out) {
        fprintf(stderr, "charterctl report: out of memory\n");
        return 1;
    }
    FILE *f = output ? fopen(output, "w") : stdout;
    if (!f) {
        fprintf(stderr, "charterctl report: cannot write --output %s\n", output);
        free(out);
        return 1;
    }
    size_t len = strlen(out);
    int bad = fwrite(out, 1, len, f) != len;
    bad |= output ? fclose(f) != 0 : fflush(f) != 0;
    free(out);
    if (bad) {
        fprintf(stderr, "charterctl report: cannot write %s\n", output ? output : "the output");
        return 1;
    }
    return 0;
}
