/*
 * GOV.UK Notify's callbacks, pure (notify_callbacks.h): settings, bodies,
 * statuses, tokens. No I/O, no clock: the routes (notify_routes.c) read the
 * files and talk to Redis and Kafka.
 *
 * Errors about the settings name the file, line and key and never quote a
 * token: the settings file is a secret, and its errors reach logs.
 */
#include "notify_callbacks.h"

#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "charter/errors.h"
#include "charter/timeutil.h"
#include "reference.h"
#include "token.h"

/* ---- settings ---- */

static int errf(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
errf(char *errstr, size_t errstr_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_size, fmt, ap);
    va_end(ap);
    return CH_EINVAL;
}

/* A token: 10 to 256 printable ASCII characters, no space or comma. */
static int
token_valid(const char *s, size_t n)
{
    if (n < NOTIFY_TOKEN_MIN || n > NOTIFY_TOKEN_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == ',')
            return 0;
    return 1;
}

/* Splits "T1[,T2]" into o's tokens. */
static int
set_token_list(notify_org *o, const char *v, size_t n)
{
    const char *comma = memchr(v, ',', n);
    size_t n1 = comma ? (size_t)(comma - v) : n;
    if (!token_valid(v, n1) || (comma && !token_valid(comma + 1, n - n1 - 1)))
        return -1;
    memcpy(o->token[0], v, n1);
    o->token[0][n1] = '\0';
    if (comma) {
        memcpy(o->token[1], comma + 1, n - n1 - 1);
        o->token[1][n - n1 - 1] = '\0';
    }
    return 0;
}

/* One "key=value" word of a line. */
static int
parse_setting(notify_org *o, const char *w, size_t n, const char *path, int line, int word,
              char *errstr, size_t errstr_size)
{
    const char *eq = memchr(w, '=', n);
    if (!eq)
        return errf(errstr, errstr_size,
                    "%s line %d: word %d is not KEY=VALUE (tokens=, token_file=, case_type=, "
                    "number=); it is not quoted here as it may be a token",
                    path, line, word);
    size_t kn = (size_t)(eq - w), vn = n - kn - 1;
    const char *v = eq + 1;
    if (kn == 6 && memcmp(w, "tokens", 6) == 0) {
        if (set_token_list(o, v, vn) != 0)
            return errf(errstr, errstr_size,
                        "%s line %d: key 'tokens' must be one or two bearer tokens separated by "
                        "a comma, each %d to %d printable characters without spaces or commas",
                        path, line, NOTIFY_TOKEN_MIN, NOTIFY_TOKEN_MAX);
    } else if (kn == 10 && memcmp(w, "token_file", 10) == 0) {
        if (vn == 0 || vn >= sizeof(o->token_file))
            return errf(errstr, errstr_size, "%s line %d: key 'token_file' must be a path", path,
                        line);
        memcpy(o->token_file, v, vn);
        o->token_file[vn] = '\0';
    } else if (kn == 9 && memcmp(w, "case_type", 9) == 0) {
        const char *why = NULL;
        char buf[64];
        snprintf(buf, sizeof(buf), "%.*s", (int)(vn < 63 ? vn : 63), v);
        if (vn == 0 || vn >= sizeof(o->case_type) ||
            !ch_contact_field_check(ch_contact_field_rule("case_type"), buf, NULL, 0, &why))
            return errf(errstr, errstr_size,
                        "%s line %d: key 'case_type' must be a case type of the organisation "
                        "(letters, digits, '-', '_'; at most 31)",
                        path, line);
        memcpy(o->case_type, buf, vn + 1);
    } else if (kn == 6 && memcmp(w, "number", 6) == 0) {
        char buf[48];
        snprintf(buf, sizeof(buf), "%.*s", (int)(vn < 47 ? vn : 47), v);
        if (vn >= sizeof(buf) || !notify_number_e164(buf, o->number))
            return errf(errstr, errstr_size,
                        "%s line %d: key 'number' must be the service's inbound telephone "
                        "number (e.g. 07700900123 or +447700900123)",
                        path, line);
    } else {
        return errf(errstr, errstr_size,
                    "%s line %d: unknown key '%.*s' (tokens, token_file, case_type, number)", path,
                    line, (int)(kn > 40 ? 40 : kn), w);
    }
    return 0;
}

static int
parse_line(notify_orgs *out, const char *s, size_t len, const char *path, int line, char *errstr,
           size_t errstr_size)
{
    const char *p = s, *end = s + len;
    notify_org *o = NULL;
    int word = 1;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
            p++;
        if (p == end || *p == '#')
            break;
        const char *w = p;
        while (p < end && *p != ' ' && *p != '\t' && *p != '\r')
            p++;
        size_t n = (size_t)(p - w);
        if (!o) {
            if (!ingest_token_valid(w, n, 63, 0))
                return errf(errstr, errstr_size,
                            "%s line %d: the line must start with an organisation id (letters, "
                            "digits, '-', '_')",
                            path, line);
            for (size_t i = 0; i < out->n; i++)
                if (strlen(out->orgs[i].organisation) == n &&
                    memcmp(out->orgs[i].organisation, w, n) == 0)
                    return errf(errstr, errstr_size,
                                "%s line %d: organisation '%.*s' has a line already", path, line,
                                (int)n, w);
            notify_org *grown = realloc(out->orgs, (out->n + 1) * sizeof(*grown));
            if (!grown)
                return errf(errstr, errstr_size, "out of memory");
            out->orgs = grown;
            o = &out->orgs[out->n++];
            memset(o, 0, sizeof(*o));
            memcpy(o->organisation, w, n);
            snprintf(o->case_type, sizeof(o->case_type), "enquiry");
            continue;
        }
        int rc = parse_setting(o, w, n, path, line, ++word, errstr, errstr_size);
        if (rc)
            return rc;
    }
    if (o && !o->token[0][0] == !o->token_file[0])
        return errf(errstr, errstr_size,
                    "%s line %d: organisation '%s' needs its callback bearer token: tokens=T1[,T2] "
                    "or token_file=PATH (one of the two)",
                    path, line, o->organisation);
    return 0;
}

int
notify_orgs_parse(const char *text, const char *path, notify_orgs *out, char *errstr,
                  size_t errstr_size)
{
    memset(out, 0, sizeof(*out));
    const char *p = text;
    int line = 0;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        line++;
        int rc = parse_line(out, p, len, path, line, errstr, errstr_size);
        if (rc) {
            notify_orgs_free(out);
            return rc;
        }
        p += len + (nl ? 1 : 0);
    }
    return 0;
}

int
notify_org_set_tokens(notify_org *o, const char *text, char *errstr, size_t errstr_size)
{
    char list[2 * NOTIFY_TOKEN_MAX + 2];
    size_t n = 0, count = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        while (len && (p[len - 1] == '\r' || p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len) {
            if (++count > 2 || n + len + 1 > sizeof(list))
                return errf(errstr, errstr_size,
                            "%s: a token file holds one or two tokens, one a line", o->token_file);
            if (n)
                list[n++] = ',';
            memcpy(list + n, p, len);
            n += len;
        }
        p += (nl ? (size_t)(nl - p) + 1 : strlen(p));
    }
    memset(o->token, 0, sizeof(o->token));
    if (count == 0 || set_token_list(o, list, n) != 0)
        return errf(errstr, errstr_size,
                    "%s: a token file holds one or two bearer tokens, one a line, each %d to %d "
                    "printable characters without spaces or commas",
                    o->token_file, NOTIFY_TOKEN_MIN, NOTIFY_TOKEN_MAX);
    return 0;
}

void
notify_orgs_free(notify_orgs *orgs)
{
    if (!orgs)
        return;
    if (orgs->orgs)
        memset(orgs->orgs, 0, orgs->n * sizeof(*orgs->orgs)); /* tokens */
    free(orgs->orgs);
    orgs->orgs = NULL;
    orgs->n = 0;
}

const notify_org *
notify_orgs_find(const notify_orgs *orgs, const char *organisation, size_t len)
{
    for (size_t i = 0; orgs && i < orgs->n; i++)
        if (strlen(orgs->orgs[i].organisation) == len &&
            memcmp(orgs->orgs[i].organisation, organisation, len) == 0)
            return &orgs->orgs[i];
    return NULL;
}

/* ---- the bearer token ---- */

/* Equal in time that depends on the lengths only. */
static int
same(const char *a, size_t an, const char *b)
{
    size_t bn = strlen(b);
    unsigned char d = (unsigned char)(an != bn);
    for (size_t i = 0; i < an; i++)
        d |= (unsigned char)(a[i] ^ b[i < bn ? i : 0]);
    return bn > 0 && d == 0;
}

int
notify_bearer_ok(const notify_org *o, const char *header)
{
    if (!o || !header || strncasecmp(header, "Bearer ", 7) != 0)
        return 0;
    const char *t = header + 7;
    while (*t == ' ')
        t++;
    size_t n = strlen(t);
    while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
        n--;
    int ok = same(t, n, o->token[0]);
    ok |= o->token[1][0] ? same(t, n, o->token[1]) : 0;
    return ok;
}

/* ---- bodies ---- */

static int fail(ch_json_error *err, int status, const char *code, const char *field,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
fail(ch_json_error *err, int status, const char *code, const char *field, const char *fmt, ...)
{
    memset(err, 0, sizeof(*err));
    err->status = status;
    snprintf(err->code, sizeof(err->code), "%s", code);
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    ch_contact_utf8_repair(err->message);
    return CH_EINVAL;
}

static json_t *
load(const char *body, size_t len, ch_json_error *err)
{
    json_error_t je;
    json_t *root = json_loadb(body, len, 0, &je);
    if (!root) {
        fail(err, 400, "invalid_json", NULL, "malformed JSON at line %d, column %d", je.line,
             je.column);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        fail(err, 422, "wrong_type", NULL, "the body must be a JSON object");
        return NULL;
    }
    return root;
}

/* A string member into out[outsz]: "" when absent or null; 422 when not a
 * string or too long, or (required) absent or empty. */
static int
get(json_t *root, const char *key, int required, char *out, size_t outsz, ch_json_error *err)
{
    json_t *v = json_object_get(root, key);
    out[0] = '\0';
    if (v && !json_is_null(v)) {
        if (!json_is_string(v))
            return fail(err, 422, "wrong_type", key, "field '%s' must be a string", key);
        if (json_string_length(v) >= outsz || strlen(json_string_value(v)) != json_string_length(v))
            return fail(err, 422, "invalid_value", key, "field '%s' is too long", key);
        memcpy(out, json_string_value(v), json_string_length(v) + 1);
    }
    if (required && !out[0])
        return fail(err, 422, "missing_field", key, "field '%s' is required", key);
    return 0;
}

/* Notify's times: "2017-05-14T12:15:30.000000Z"; one without an offset is
 * taken as UTC (Notify's times are UTC). 0 when absent. */
static int
get_time(json_t *root, const char *key, int required, int64_t *ms, ch_json_error *err)
{
    char s[64];
    *ms = 0;
    if (get(root, key, required, s, sizeof(s) - 1, err))
        return CH_EINVAL;
    if (!s[0])
        return 0;
    if (ch_time_parse_rfc3339(s, ms) != 0) {
        strcat(s, "Z");
        if (ch_time_parse_rfc3339(s, ms) != 0)
            return fail(err, 422, "wrong_type", key,
                        "field '%s' must be a date-time such as 2017-05-14T12:15:30.000000Z", key);
    }
    const char *why;
    if (!ch_contact_time_in_range(*ms, &why))
        return fail(err, 422, "invalid_value", key, "field '%s' cannot be used: %s", key, why);
    return 0;
}

int
notify_receipt_parse(const char *body, size_t len, notify_receipt *out, ch_json_error *err)
{
    memset(out, 0, sizeof(*out));
    json_t *root = load(body, len, err);
    if (!root)
        return CH_EINVAL;
    int64_t completed, sent, created;
    int rc = get(root, "id", 1, out->id, sizeof(out->id), err) ||
             get(root, "status", 1, out->status, sizeof(out->status), err) ||
             get(root, "notification_type", 0, out->notification_type,
                 sizeof(out->notification_type), err) ||
             get_time(root, "completed_at", 0, &completed, err) ||
             get_time(root, "sent_at", 0, &sent, err) ||
             get_time(root, "created_at", 0, &created, err);
    if (rc == 0) {
        /* a reference Charter did not send (too long, not a string) is
         * unmatched, not an error */
        if (get(root, "reference", 0, out->reference, sizeof(out->reference), err) != 0)
            out->reference[0] = '\0';
        out->occurred_ms = completed ? completed : sent ? sent : created;
    }
    json_decref(root);
    return rc ? CH_EINVAL : 0;
}

int
notify_text_parse(const char *body, size_t len, notify_text *out, ch_json_error *err)
{
    memset(out, 0, sizeof(*out));
    json_t *root = load(body, len, err);
    if (!root)
        return CH_EINVAL;
    int rc = get(root, "id", 1, out->id, sizeof(out->id), err) ||
             get(root, "source_number", 1, out->source_number, sizeof(out->source_number), err) ||
             get(root, "destination_number", 0, out->destination_number,
                 sizeof(out->destination_number), err) ||
             get_time(root, "date_received", 1, &out->received_ms, err);
    if (rc == 0) {
        json_t *m = json_object_get(root, "message");
        if (m && !json_is_null(m) && !json_is_string(m))
            rc = fail(err, 422, "wrong_type", "message", "field 'message' must be a string");
        else if (!(out->message = strdup(m && json_is_string(m) ? json_string_value(m) : "")))
            rc = fail(err, 503, "unavailable", NULL, "out of memory");
    }
    json_decref(root);
    if (rc) {
        notify_text_clear(out);
        return CH_EINVAL;
    }
    return 0;
}

void
notify_text_clear(notify_text *t)
{
    free(t->message);
    t->message = NULL;
}

Charter__V1__DeliveryReceipt__Status
notify_status_map(const char *status)
{
    static const struct {
        const char *name;
        Charter__V1__DeliveryReceipt__Status status;
    } map[] = {
        {"delivered", CHARTER__V1__DELIVERY_RECEIPT__STATUS__STATUS_DELIVERED},
        {"permanent-failure", CHARTER__V1__DELIVERY_RECEIPT__STATUS__STATUS_PERMANENT_FAILURE},
        {"temporary-failure", CHARTER__V1__DELIVERY_RECEIPT__STATUS__STATUS_TEMPORARY_FAILURE},
        {"technical-failure", CHARTER__V1__DELIVERY_RECEIPT__STATUS__STATUS_TECHNICAL_FAILURE},
    };
    for (size_t i = 0; status && i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].name, status) == 0)
            return map[i].status;
    return CHARTER__V1__DELIVERY_RECEIPT__STATUS__STATUS_UNSPECIFIED;
}

int
notify_reference_split(const char *reference, char *case_id, size_t casesz)
{
    const char *slash = reference ? strchr(reference, '/') : NULL;
    if (!slash || !ch_event_json_valid_case_id(reference, (size_t)(slash - reference)) ||
        (size_t)(slash - reference) >= casesz || !slash[1])
        return 0;
    for (const char *p = slash + 1; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return 0;
    memcpy(case_id, reference, (size_t)(slash - reference));
    case_id[slash - reference] = '\0';
    return 1;
}

int
notify_number_e164(const char *number, char out[CH_PHONE_E164_BUFSZ])
{
    char buf[64];
    const char *why;
    if (!number || !number[0] || strlen(number) > 40)
        return 0;
    /* Notify writes international numbers without their '+' ("447700912345") */
    if (isdigit((unsigned char)number[0]) && number[0] != '0')
        snprintf(buf, sizeof(buf), "+%s", number);
    else
        snprintf(buf, sizeof(buf), "%s", number);
    return ch_contact_phone_normalise(buf, out, CH_PHONE_E164_BUFSZ, &why);
}

static int
word_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_';
}

int
notify_find_reference(const char *text, const char *prefix, char *ref, size_t refsz)
{
    size_t pn = prefix ? strlen(prefix) : 0;
    if (!text || pn == 0 || refsz < 64)
        return 0;
    for (const char *p = text; *p; p++) {
        if ((p > text && word_char(p[-1])) || strncasecmp(p, prefix, pn) != 0 || p[pn] != '-')
            continue;
        size_t n = pn + 1;
        while (word_char(p[n]) && n < 63)
            n++;
        if (word_char(p[n]))
            continue;
        int year;
        long long number;
        if (ingest_reference_parse(p, n, &year, &number) != 0)
            continue;
        memcpy(ref, prefix, pn);
        memcpy(ref + pn, p + pn, n - pn);
        ref[n] = '\0';
        return 1;
    }
    return 0;
}
