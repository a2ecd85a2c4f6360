/*
 * `charterctl report`: the annual publication ("we will publish the results
 * each year") of one organisation's charter performance, as CSV or HTML.
 *
 *   charterctl report --organisation ID --year YYYY --format html|csv
 *                     [--url http://127.0.0.1:8081] [--output FILE]
 *
 * The figures come from the reporting service's GET /v1/report at year
 * granularity, whose "promises" lines are already judged against the
 * policies reporting runs with; so this command needs no policy files and
 * publishes exactly what the dashboard and the API show. The table is
 * rendered by report_html, as the dashboard is.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/report_html.h"
#include "charter/report_view.h"
#include "charter/strbuf.h"
#include "charterctl.h"

#define MAX_BODY (16 * 1024 * 1024)

static void
usage(FILE *out)
{
    fprintf(out, "Usage: charterctl report --organisation ID --year YYYY --format html|csv\n"
                 "                         [--url URL] [--output FILE]\n\n"
                 "The charter's performance for a year, one line per promise: the promise in\n"
                 "words, the target, the number of cases, how many were within the promise,\n"
                 "the %% within and whether the target was met.\n"
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

/* The organisation's figures for the year, as JSON text; NULL after saying why. */
static char *
fetch(const char *url, const char *org, const char *year)
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
        snprintf(full, need, "%.*s/v1/report?organisation=%s&granularity=year&from=%s&to=%s",
                 (int)ulen, url, eorg, year, year);
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

static void
copy_str(char *dst, size_t dstsz, json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    snprintf(dst, dstsz, "%s", s ? s : "");
}

static int64_t
get_int(json_t *o, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(o, key));
}

/* The JSON answer as a view: 0, or 1 after saying why. */
static int
view_of(const char *text, const char *year, ch_report_view *v)
{
    json_error_t je;
    json_t *root = json_loads(text, 0, &je);
    memset(v, 0, sizeof(*v));
    json_t *promises = root ? json_object_get(root, "promises") : NULL;
    if (!root || !json_is_array(promises)) {
        fprintf(stderr, "charterctl report: the reporting service's answer is not a report%s%s\n",
                root ? "" : ": ", root ? "" : je.text);
        json_decref(root);
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
    copy_str(v->id, sizeof(v->id), root, "organisation");
    copy_str(v->name, sizeof(v->name), root, "name");
    snprintf(v->period, sizeof(v->period), "%s", year);
    v->received = get_int(json_object_get(root, "figures"), "received");
    v->overdue_now = get_int(json_object_get(root, "figures"), "open_overdue");
    v->nrows = json_array_size(promises);
    v->rows = calloc(v->nrows ? v->nrows : 1, sizeof(*v->rows));
    if (!v->rows) {
        fprintf(stderr, "charterctl report: out of memory\n");
        json_decref(root);
        return 1;
    }
    for (size_t i = 0; i < v->nrows; i++) {
        json_t *o = json_array_get(promises, i);
        ch_report_promise_row *r = &v->rows[i];
        copy_str(r->id, sizeof(r->id), o, "id");
        copy_str(r->promise, sizeof(r->promise), o, "promise");
        const char *m = json_string_value(json_object_get(o, "measure"));
        if (!m || ch_report_measure_parse(m, &r->measure) != 0) {
            fprintf(stderr, "charterctl report: promise '%s' has an unknown measure '%s'\n", r->id,
                    m ? m : "");
            json_decref(root);
            ch_report_view_free(v);
            return 1;
        }
        r->received = get_int(o, "received");
        r->in_time = get_int(o, "in_time");
        r->late = get_int(o, "late");
        r->overdue_now = get_int(o, "open_overdue");
        r->target_pct = json_number_value(json_object_get(o, "target_pct"));
    }
    json_decref(root);
    return 0;
}

static int
valid_year(const char *s)
{
    if (strlen(s) != 4)
        return 0;
    for (const char *c = s; *c; c++)
        if (*c < '0' || *c > '9')
            return 0;
    return atoi(s) >= 1995 && atoi(s) <= 2100;
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
    const char *org = NULL, *year = NULL, *format = NULL, *url = "http://127.0.0.1:8081",
               *output = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        const char **slot = !strcmp(a, "--organisation") ? &org
                            : !strcmp(a, "--year")       ? &year
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
    if (!year || !valid_year(year)) {
        fprintf(stderr,
                "charterctl report: --year is required: a year such as 2026 "
                "(1995-2100), got '%s'\n",
                year ? year : "");
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
    char *text = fetch(url, org, year);
    curl_global_cleanup();
    if (!text)
        return 1;
    ch_report_view v;
    int rc = view_of(text, year, &v);
    free(text);
    if (rc != 0)
        return 1;
    char *out = !strcmp(format, "csv") ? ch_report_csv_publication(&v)
                                       : ch_report_html_publication(&v, year);
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
