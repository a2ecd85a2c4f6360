/*
 * One e-mail read with GMime 3 (mail_message.h). GMime parses; this file
 * walks what it built and decides. Each parse makes its own
 * GMimeParserOptions (no shared state beyond g_mime_init), and every GMime
 * object is unref'd before returning; strings handed to the caller are
 * malloc'd copies, so ingest_mail_free needs no GLib.
 *
 * The order of the decisions matters. A delivery report comes first: the
 * MTA that bounces a notice writes From MAILER-DAEMON at its own host, which
 * may well be one of Charter's own domains. Then loops and automatic mail,
 * so that an out-of-office answering a notice (In-Reply-To: the notice)
 * opens nothing. Only then does a notice or a reference make a REPLY.
 *
 * The walk over the MIME tree is bounded in depth (INGEST_MAIL_MAX_DEPTH)
 * and in parts visited (MAX_PARTS); text is taken from at most
 * TEXT_INPUT_MAX decoded bytes of plain text and HTML_INPUT_MAX of HTML,
 * since only CH_FIELD_TEXT_MAX characters are kept. GMime itself has no
 * limit on nesting, and its boundary search costs the depth for every line
 * (a few MB of nested multiparts take seconds), so a message with more than
 * CONTENT_TYPES_MAX lines starting "Content-Type" (every multipart and
 * embedded message needs one) is refused before GMime sees it.
 */
#include "mail_message.h"

#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "charter/contact_fields.h"
#include "charter/mailbox.h"
#include "charter/notice_id.h"
#include "charter/strbuf.h"
#include "mail_text.h"

#define MAX_PARTS 500
#define TEXT_INPUT_MAX (64 * 1024)
#define HTML_INPUT_MAX (1024 * 1024)
#define DSN_BLOCKS_MAX 32
#define CONTENT_TYPES_MAX 1000

typedef struct {
    GMimeParserOptions *opts;
    ch_strbuf plain; /* inline text/plain parts, capped at TEXT_INPUT_MAX */
    char *html;      /* the first inline text/html part, when there is no plain text */
    ingest_mail *m;
    size_t cap; /* attachments allocated */
    int parts;  /* parts visited */
    int nomem;
} walk;

void
ingest_mail_global_init(void)
{
    g_mime_init();
}

void
ingest_mail_global_fini(void)
{
    g_mime_shutdown();
}

void
ingest_mail_free(ingest_mail *m)
{
    if (!m)
        return;
    free(m->message_id);
    free(m->from_address);
    free(m->from_name);
    free(m->subject);
    free(m->text);
    for (size_t i = 0; i < m->nattachments; i++) {
        free(m->attachments[i].name);
        free(m->attachments[i].content_type);
    }
    free(m->attachments);
    memset(m, 0, sizeof *m);
}

/* A tidied malloc'd copy of s[0..n), or NULL (out of memory). */
static char *
tidy_copy(const char *s, size_t n, int one_line, size_t max_chars)
{
    char *c = malloc(n + 1);
    if (!c)
        return NULL;
    memcpy(c, s, n);
    c[n] = '\0';
    ingest_mail_text_tidy(c, one_line, max_chars);
    return c;
}

/* Copies src (may be NULL or too long) into dst[sz] on a character boundary. */
static void
copy_line(char *dst, size_t sz, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    n = ch_contact_utf8_prefix(src ? src : "", n, sz - 1);
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
    ingest_mail_text_tidy(dst, 1, sz);
}

/* The decoded bytes of a part's content (at most max), in a new GByteArray. */
static GByteArray *
part_bytes(GMimePart *part, size_t max, size_t *total)
{
    GByteArray *out = g_byte_array_new();
    GMimeDataWrapper *content = g_mime_part_get_content(part);
    *total = 0;
    if (!content)
        return out;
    GMimeStream *mem = g_mime_stream_mem_new();
    g_mime_data_wrapper_write_to_stream(content, mem);
    GByteArray *all = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    *total = all->len;
    g_byte_array_append(out, all->data, all->len < max ? all->len : (guint)max);
    g_object_unref(mem);
    return out;
}

static int
utf8_ok(const GByteArray *b)
{
    return g_utf8_validate((const char *)b->data, (gssize)b->len, NULL);
}

/*
 * A text part's words in UTF-8 (g_malloc'd): converted from its declared
 * charset; when there is none, or the bytes do not match it, GMime guesses
 * among UTF-8 and windows-1252 (g_mime_utils_decode_8bit).
 */
static char *
part_text(walk *w, GMimePart *part, size_t max)
{
    size_t total;
    GByteArray *raw = part_bytes(part, max, &total);
    const char *charset = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
    char *text = NULL;
    if (charset && g_ascii_strcasecmp(charset, "utf-8") != 0 &&
        g_ascii_strcasecmp(charset, "us-ascii") != 0) {
        GMimeFilter *f = g_mime_filter_charset_new(charset, "UTF-8");
        if (f) {
            GMimeStream *mem = g_mime_stream_mem_new();
            GMimeStream *fs = g_mime_stream_filter_new(mem);
            g_mime_stream_filter_add(GMIME_STREAM_FILTER(fs), f);
            g_mime_stream_write(fs, (const char *)raw->data, raw->len);
            g_mime_stream_flush(fs);
            GByteArray *conv = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
            if (utf8_ok(conv))
                text = g_strndup((const char *)conv->data, conv->len);
            g_object_unref(fs);
            g_object_unref(f);
            g_object_unref(mem);
        }
    }
    if (!text && utf8_ok(raw))
        text = g_strndup((const char *)raw->data, raw->len);
    if (!text)
        text = g_mime_utils_decode_8bit(w->opts, (const char *)raw->data, raw->len);
    g_byte_array_unref(raw);
    return text;
}

static void
add_attachment(walk *w, const char *name, char *content_type, int64_t size)
{
    ingest_mail *m = w->m;
    if (m->nattachments >= INGEST_MAIL_MAX_ATTACHMENTS || w->nomem) {
        g_free(content_type);
        return;
    }
    if (m->nattachments == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 4;
        ingest_mail_attachment *a = realloc(m->attachments, cap * sizeof *a);
        if (!a) {
            w->nomem = 1;
            g_free(content_type);
            return;
        }
        m->attachments = a;
        w->cap = cap;
    }
    ingest_mail_attachment *a = &m->attachments[m->nattachments];
    a->name = tidy_copy(name ? name : "", name ? strlen(name) : 0, 1, CH_FIELD_NAME_MAX);
    const char *ct = content_type ? content_type : "application/octet-stream";
    a->content_type = tidy_copy(ct, strlen(ct), 1, 127);
    g_free(content_type);
    if (!a->name || !a->content_type) {
        free(a->name);
        free(a->content_type);
        w->nomem = 1;
        return;
    }
    for (char *p = a->content_type; *p; p++)
        *p = (char)g_ascii_tolower(*p);
    a->size_bytes = size;
    m->nattachments++;
}

static void walk_object(walk *w, GMimeObject *obj, int depth);

static void
walk_leaf(walk *w, GMimePart *part)
{
    GMimeObject *obj = GMIME_OBJECT(part);
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    int inline_text = !g_mime_part_is_attachment(part) && !g_mime_part_get_filename(part);
    if (inline_text && g_mime_content_type_is_type(ct, "text", "plain")) {
        if (w->plain.n < TEXT_INPUT_MAX) {
            char *t = part_text(w, part, TEXT_INPUT_MAX);
            if (w->plain.n)
                ch_strbuf_puts(&w->plain, "\n\n");
            ch_strbuf_puts(&w->plain, t ? t : "");
            g_free(t);
        }
        return;
    }
    if (inline_text && g_mime_content_type_is_type(ct, "text", "html")) {
        if (!w->html)
            w->html = part_text(w, part, HTML_INPUT_MAX);
        return;
    }
    GMimeStream *null = g_mime_stream_null_new();
    GMimeDataWrapper *content = g_mime_part_get_content(part);
    if (content)
        g_mime_data_wrapper_write_to_stream(content, null);
    int64_t size = (int64_t)GMIME_STREAM_NULL(null)->written;
    g_object_unref(null);
    add_attachment(w, g_mime_part_get_filename(part), g_mime_content_type_get_mime_type(ct), size);
}

/* A message/rfc822 part (a forwarded message): listed, not read. */
static void
walk_message_part(walk *w, GMimeMessagePart *mp)
{
    GMimeObject *obj = GMIME_OBJECT(mp);
    GMimeMessage *inner = g_mime_message_part_get_message(mp);
    const char *name = g_mime_object_get_content_disposition_parameter(obj, "filename");
    if (!name)
        name = g_mime_object_get_content_type_parameter(obj, "name");
    if (!name && inner)
        name = g_mime_message_get_subject(inner);
    int64_t size = 0;
    if (inner) {
        GMimeStream *null = g_mime_stream_null_new();
        g_mime_object_write_to_stream(GMIME_OBJECT(inner), NULL, null);
        size = (int64_t)GMIME_STREAM_NULL(null)->written;
        g_object_unref(null);
    }
    add_attachment(w, name, g_mime_content_type_get_mime_type(g_mime_object_get_content_type(obj)),
                   size);
}

static void
walk_multipart(walk *w, GMimeMultipart *mp, int depth)
{
    GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(mp));
    int n = g_mime_multipart_get_count(mp);
    if (g_mime_content_type_is_type(ct, "multipart", "alternative")) {
        /* the plain text if there is one, else the richest (last) */
        for (int i = 0; i < n; i++) {
            GMimeObject *c = g_mime_multipart_get_part(mp, i);
            if (GMIME_IS_PART(c) &&
                g_mime_content_type_is_type(g_mime_object_get_content_type(c), "text", "plain")) {
                walk_object(w, c, depth + 1);
                return;
            }
        }
        if (n > 0)
            walk_object(w, g_mime_multipart_get_part(mp, n - 1), depth + 1);
        return;
    }
    if (g_mime_content_type_is_type(ct, "multipart", "signed")) {
        if (n > 0) /* the signature itself is no attachment */
            walk_object(w, g_mime_multipart_get_part(mp, 0), depth + 1);
        return;
    }
    for (int i = 0; i < n; i++)
        walk_object(w, g_mime_multipart_get_part(mp, i), depth + 1);
}

static void
walk_object(walk *w, GMimeObject *obj, int depth)
{
    if (!obj || depth > INGEST_MAIL_MAX_DEPTH || ++w->parts > MAX_PARTS)
        return;
    if (GMIME_IS_MULTIPART(obj))
        walk_multipart(w, GMIME_MULTIPART(obj), depth);
    else if (GMIME_IS_MESSAGE_PART(obj))
        walk_message_part(w, GMIME_MESSAGE_PART(obj));
    else if (GMIME_IS_PART(obj))
        walk_leaf(w, GMIME_PART(obj));
}

/* ---- delivery reports (RFC 3464) ---- */

typedef struct {
    int found;     /* a recipient block with Status or Action */
    int permanent; /* 5.x.x, or Action: failed without a Status */
    int success;   /* 2.x.x, or Action delivered/relayed/expanded */
    char reason[256];
} dsn_status;

/*
 * The per-recipient fields of a message/delivery-status body: blocks of
 * header fields separated by blank lines, read one by one with GMime's own
 * header parser (each block as the headers of a part whose content is the
 * rest). The first failed recipient wins, else the first delayed one.
 */
static void
dsn_read_status(GMimeParserOptions *opts, GByteArray *body, dsn_status *st)
{
    GByteArray *rest = g_byte_array_new();
    g_byte_array_append(rest, body->data, body->len);
    for (int block = 0; block < DSN_BLOCKS_MAX && rest->len > 0; block++) {
        GMimeStream *s = g_mime_stream_mem_new_with_byte_array(rest); /* takes rest */
        rest = NULL;
        GMimeParser *p = g_mime_parser_new_with_stream(s);
        GMimeObject *o = g_mime_parser_construct_part(p, opts);
        g_object_unref(p);
        g_object_unref(s);
        if (!o)
            break;
        const char *status = g_mime_object_get_header(o, "Status");
        const char *action = g_mime_object_get_header(o, "Action");
        const char *diag = g_mime_object_get_header(o, "Diagnostic-Code");
        if (status || action) {
            while (status && g_ascii_isspace(*status))
                status++;
            while (action && g_ascii_isspace(*action))
                action++;
            int perm =
                status ? status[0] == '5' : action && g_ascii_strncasecmp(action, "failed", 6) == 0;
            int ok = status ? status[0] == '2'
                            : action && (g_ascii_strncasecmp(action, "delivered", 9) == 0 ||
                                         g_ascii_strncasecmp(action, "relayed", 7) == 0 ||
                                         g_ascii_strncasecmp(action, "expanded", 8) == 0);
            /* a failure beats a delay, a delay beats a success */
            int better = !st->found || (perm && !st->permanent) || (st->success && !ok);
            if (better) {
                st->found = 1;
                st->permanent = perm;
                st->success = ok;
                char r[512];
                snprintf(r, sizeof r, "%s%s%s", status ? status : (action ? action : ""),
                         diag ? " " : "", diag ? diag : "");
                copy_line(st->reason, sizeof st->reason, r);
            }
        }
        if (GMIME_IS_PART(o) && g_mime_part_get_content(GMIME_PART(o))) {
            size_t total;
            rest = part_bytes(GMIME_PART(o), 64 * 1024, &total);
        }
        g_object_unref(o);
        if (!rest || (st->found && st->permanent))
            break;
    }
    if (rest)
        g_byte_array_unref(rest);
}

/* The Message-ID of the returned message (text/rfc822-headers or message/rfc822). */
static int
dsn_returned_notice(GMimeParserOptions *opts, GMimeObject *part, char *nid, size_t nidsz)
{
    GMimeContentType *ct = g_mime_object_get_content_type(part);
    const char *msgid = NULL;
    int found = 0;
    if (GMIME_IS_MESSAGE_PART(part)) {
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(part));
        msgid = inner ? g_mime_message_get_message_id(inner) : NULL;
        return msgid && ch_notice_message_id_parse(msgid, nid, nidsz, NULL, 0) == 1;
    }
    if (!GMIME_IS_PART(part) || !(g_mime_content_type_is_type(ct, "text", "rfc822-headers") ||
                                  g_mime_content_type_is_type(ct, "message", "rfc822-headers") ||
                                  g_mime_content_type_is_type(ct, "message", "global-headers")))
        return 0;
    size_t total;
    GByteArray *b = part_bytes(GMIME_PART(part), 256 * 1024, &total);
    GMimeStream *s = g_mime_stream_mem_new_with_byte_array(b);
    GMimeParser *p = g_mime_parser_new_with_stream(s);
    GMimeMessage *inner = g_mime_parser_construct_message(p, opts);
    if (inner) {
        msgid = g_mime_message_get_message_id(inner);
        found = msgid && ch_notice_message_id_parse(msgid, nid, nidsz, NULL, 0) == 1;
        g_object_unref(inner);
    }
    g_object_unref(p);
    g_object_unref(s);
    return found;
}

/* 1 when the message is a delivery report (its kind and fields then set in m). */
static int
classify_dsn(GMimeParserOptions *opts, GMimeMessage *msg, ingest_mail *m)
{
    GMimeObject *top = g_mime_message_get_mime_part(msg);
    if (!top || !GMIME_IS_MULTIPART(top))
        return 0;
    GMimeContentType *ct = g_mime_object_get_content_type(top);
    const char *rt = g_mime_content_type_get_parameter(ct, "report-type");
    if (!g_mime_content_type_is_type(ct, "multipart", "report") || !rt ||
        g_ascii_strcasecmp(rt, "delivery-status") != 0)
        return 0;
    GMimeMultipart *mp = GMIME_MULTIPART(top);
    dsn_status st = {0};
    char nid[sizeof m->notification_id] = "";
    int about_notice = 0;
    int n = g_mime_multipart_get_count(mp);
    for (int i = 0; i < n && i < 16; i++) {
        GMimeObject *c = g_mime_multipart_get_part(mp, i);
        GMimeContentType *cct = g_mime_object_get_content_type(c);
        if (GMIME_IS_PART(c) &&
            (g_mime_content_type_is_type(cct, "message", "delivery-status") ||
             g_mime_content_type_is_type(cct, "message", "global-delivery-status"))) {
            size_t total;
            GByteArray *b = part_bytes(GMIME_PART(c), 256 * 1024, &total);
            dsn_read_status(opts, b, &st);
            g_byte_array_unref(b);
        } else if (!about_notice)
            about_notice = dsn_returned_notice(opts, c, nid, sizeof nid);
    }
    if (!about_notice) {
        m->kind = INGEST_MAIL_IGNORED;
        m->why = "a delivery report not about a Charter notice";
    } else if (st.found && st.success) {
        m->kind = INGEST_MAIL_IGNORED;
        m->why = "a delivery report of a successful delivery";
    } else {
        m->kind = INGEST_MAIL_BOUNCE;
        snprintf(m->notification_id, sizeof m->notification_id, "%s", nid);
        m->bounce_permanent = st.found ? st.permanent : 1;
        snprintf(m->bounce_reason, sizeof m->bounce_reason, "%s", st.reason);
    }
    return 1;
}

/* ---- automatic mail ---- */

static const char *
header(GMimeMessage *msg, const char *name)
{
    const char *v = g_mime_object_get_header(GMIME_OBJECT(msg), name);
    while (v && g_ascii_isspace(*v))
        v++;
    return v;
}

static int
starts(const char *v, const char *word)
{
    size_t n = strlen(word);
    return v && g_ascii_strncasecmp(v, word, n) == 0 &&
           (v[n] == '\0' || v[n] == ';' || g_ascii_isspace(v[n]));
}

/* Why msg is automatic or list mail (RFC 3834, RFC 2369/2919, custom), or NULL. */
static const char *
automatic(GMimeMessage *msg)
{
    const char *v = header(msg, "Auto-Submitted");
    if (v && *v && !starts(v, "no")) {
        if (starts(v, "auto-replied"))
            return "an automatic reply (Auto-Submitted: auto-replied)";
        if (starts(v, "auto-generated"))
            return "an automatic message (Auto-Submitted: auto-generated)";
        if (starts(v, "auto-notified"))
            return "an automatic message (Auto-Submitted: auto-notified)";
        return "an automatic message (Auto-Submitted)";
    }
    v = header(msg, "Precedence");
    if (starts(v, "bulk"))
        return "bulk mail (Precedence: bulk)";
    if (starts(v, "junk"))
        return "junk mail (Precedence: junk)";
    if (starts(v, "list"))
        return "list mail (Precedence: list)";
    if (starts(v, "auto_reply"))
        return "an automatic reply (Precedence: auto_reply)";
    if (header(msg, "X-Autoreply"))
        return "an automatic reply (X-Autoreply)";
    if (header(msg, "X-Autorespond"))
        return "an automatic reply (X-Autorespond)";
    if (header(msg, "List-Id"))
        return "list mail (List-Id)";
    if (header(msg, "List-Unsubscribe"))
        return "list mail (List-Unsubscribe)";
    return NULL;
}

/* The notice named by In-Reply-To, else the newest in References. */
static int
replied_notice(GMimeParserOptions *opts, GMimeMessage *msg, char *nid, size_t nidsz)
{
    static const char *const names[] = {"In-Reply-To", "References"};
    for (size_t h = 0; h < 2; h++) {
        const char *v = g_mime_object_get_header(GMIME_OBJECT(msg), names[h]);
        if (!v)
            continue;
        GMimeReferences *refs = g_mime_references_parse(opts, v);
        if (!refs)
            continue;
        int found = 0;
        for (int i = g_mime_references_length(refs) - 1; i >= 0 && !found; i--) {
            const char *id = g_mime_references_get_message_id(refs, i);
            found = id && ch_notice_message_id_parse(id, nid, nidsz, NULL, 0) == 1;
        }
        g_mime_references_free(refs);
        if (found)
            return 1;
    }
    return 0;
}

/* The first mailbox of From (a group's first member), or NULL. */
static InternetAddressMailbox *
from_mailbox(GMimeMessage *msg)
{
    InternetAddressList *list = g_mime_message_get_from(msg);
    for (int depth = 0; list && depth < 2; depth++) {
        int n = internet_address_list_length(list);
        InternetAddressList *next = NULL;
        for (int i = 0; i < n; i++) {
            InternetAddress *a = internet_address_list_get_address(list, i);
            if (INTERNET_ADDRESS_IS_MAILBOX(a))
                return INTERNET_ADDRESS_MAILBOX(a);
            if (!next && INTERNET_ADDRESS_IS_GROUP(a))
                next = internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a));
        }
        list = next;
    }
    return NULL;
}

static int
own_domain(const char *domain, const char *const *own, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (own && own[i] && g_ascii_strcasecmp(domain, own[i]) == 0)
            return 1;
    return 0;
}

/* How many lines of data[0..len) start with "Content-Type" (any case), up to max + 1. */
static size_t
content_type_lines(const char *data, size_t len, size_t max)
{
    static const char ct[] = "content-type";
    size_t count = 0, k = sizeof ct - 1;
    for (size_t i = 0; i + k <= len && count <= max; i++) {
        if ((i == 0 || data[i - 1] == '\n') && g_ascii_strncasecmp(data + i, ct, k) == 0)
            count++;
    }
    return count;
}

static void
invalid(ingest_mail *m, const char *why, char *err, size_t errsz)
{
    m->kind = INGEST_MAIL_INVALID;
    m->why = why;
    if (err && errsz)
        snprintf(err, errsz, "the e-mail cannot be read: %s", why);
}

/* Fills the sender, subject, ids and date; 0, or -1 out of memory. */
static int
read_headers(GMimeMessage *msg, ingest_mail *m)
{
    const char *id = g_mime_message_get_message_id(msg);
    if (id && *id && !(m->message_id = tidy_copy(id, strlen(id), 1, 995)))
        return -1;
    const char *subject = g_mime_message_get_subject(msg);
    if (subject && !(m->subject = tidy_copy(subject, strlen(subject), 1, CH_FIELD_TEXT_MAX)))
        return -1;
    if (m->subject)
        ingest_mail_find_reference(m->subject, m->reference, sizeof m->reference);
    GDateTime *date = g_mime_message_get_date(msg);
    if (date)
        m->date_ms =
            (int64_t)g_date_time_to_unix(date) * 1000 + g_date_time_get_microsecond(date) / 1000;
    InternetAddressMailbox *mb = from_mailbox(msg);
    if (!mb)
        return 0;
    const char *name = internet_address_get_name(INTERNET_ADDRESS(mb));
    if (name && *name && !(m->from_name = tidy_copy(name, strlen(name), 1, CH_FIELD_NAME_MAX)))
        return -1;
    if (m->from_name && !m->from_name[0]) {
        free(m->from_name);
        m->from_name = NULL;
    }
    const char *addr = internet_address_mailbox_get_idn_addr(mb);
    if (!addr || !*addr)
        return 0;
    char *a = strdup(addr);
    if (!a)
        return -1;
    char *at = strrchr(a, '@');
    for (char *p = at; p && *p; p++)
        *p = (char)g_ascii_tolower(*p);
    if (!ch_mailbox_valid(a, NULL)) {
        free(a);
        return 0;
    }
    m->from_address = a;
    return 0;
}

static int
read_body(GMimeParserOptions *opts, GMimeMessage *msg, ingest_mail *m)
{
    walk w = {opts, CH_STRBUF_INIT, NULL, m, 0, 0, 0};
    ch_strbuf_init_capped(&w.plain, TEXT_INPUT_MAX);
    walk_object(&w, g_mime_message_get_mime_part(msg), 0);
    if (w.plain.n > 0)
        m->text = tidy_copy(w.plain.p, w.plain.n, 0, CH_FIELD_TEXT_MAX);
    else if (w.html) {
        char *t = ingest_mail_html_text(w.html, strlen(w.html), CH_FIELD_TEXT_MAX);
        if (t) {
            ingest_mail_text_tidy(t, 0, CH_FIELD_TEXT_MAX);
            m->text = t;
        }
    } else
        m->text = strdup("");
    int failed = w.nomem || ch_strbuf_failed(&w.plain) || !m->text;
    ch_strbuf_free(&w.plain);
    g_free(w.html);
    return failed ? -1 : 0;
}

int
ingest_mail_parse(const char *data, size_t len, const char *const *own_domains, size_t ndomains,
                  ingest_mail *out, char *err, size_t errsz)
{
    if (err && errsz)
        err[0] = '\0';
    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    if (!data && len) {
        if (err && errsz)
            snprintf(err, errsz, "no message data");
        return -1;
    }
    if (content_type_lines(data, len, CONTENT_TYPES_MAX) > CONTENT_TYPES_MAX) {
        invalid(out, "it has more than 1000 MIME parts", err, errsz);
        return 0;
    }
    GMimeParserOptions *opts = g_mime_parser_options_new();
    const char *fallback[] = {"UTF-8", "windows-1252", NULL};
    g_mime_parser_options_set_fallback_charsets(opts, fallback);
    g_mime_parser_options_set_address_compliance_mode(opts, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_rfc2047_compliance_mode(opts, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_parameter_compliance_mode(opts, GMIME_RFC_COMPLIANCE_LOOSE);
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(data ? data : "", len);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, opts);
    g_object_unref(parser);
    g_object_unref(stream);
    int rc = 0;
    if (!msg ||
        g_mime_header_list_get_count(g_mime_object_get_header_list(GMIME_OBJECT(msg))) == 0) {
        invalid(out, "it is not an e-mail message (no header could be read)", err, errsz);
        goto done;
    }
    if (read_headers(msg, out) != 0 || read_body(opts, msg, out) != 0)
        goto nomem;
    if (classify_dsn(opts, msg, out))
        goto done;
    if (!out->from_address) {
        invalid(out,
                from_mailbox(msg) ? "its From address is not one Charter can answer"
                                  : "it has no From address",
                err, errsz);
        goto done;
    }
    const char *domain = strrchr(out->from_address, '@') + 1;
    char nid[sizeof out->notification_id];
    if (own_domain(domain, own_domains, ndomains)) {
        out->kind = INGEST_MAIL_IGNORED;
        out->why = "a loop: it comes from one of Charter's own mail domains";
    } else if (out->message_id &&
               ch_notice_message_id_parse(out->message_id, nid, sizeof nid, NULL, 0) == 1) {
        out->kind = INGEST_MAIL_IGNORED;
        out->why = "a loop: its Message-ID is one of Charter's own";
    } else if ((out->why = automatic(msg)) != NULL) {
        out->kind = INGEST_MAIL_IGNORED;
    } else if (g_ascii_strncasecmp(out->from_address, "mailer-daemon@", 14) == 0) {
        out->kind = INGEST_MAIL_IGNORED;
        out->why = "a mail system's message (From MAILER-DAEMON)";
    } else if (replied_notice(opts, msg, out->notification_id, sizeof out->notification_id) ||
               out->reference[0]) {
        out->kind = INGEST_MAIL_REPLY;
    } else
        out->kind = INGEST_MAIL_NEW;
    goto done;
nomem:
    ingest_mail_free(out);
    if (err && errsz)
        snprintf(err, errsz, "out of memory reading an e-mail");
    rc = -1;
done:
    if (msg)
        g_object_unref(msg);
    g_mime_parser_options_free(opts);
    return rc;
}
