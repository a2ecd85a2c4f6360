/*
 * ingest's e-mail parser against messages as real MTAs and mail programs
 * write them (tests/data/mail/, one file a message, given with CRLF line ends as an SMTP
 * DATA phase delivers them): what kind each one is, and the fields a case
 * needs. Then the limits (text, names, attachments, nesting), the HTML
 * converter and the reference finder on their own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "charter/notice_id.h"
#include "mail_message.h"
#include "mail_text.h"

static const char *const own[] = {"notices.northchester.gov.uk"};

static char *
load(const char *name, int crlf, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", CHARTER_MAIL_DATA_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *raw = malloc(1 << 20);
    assert_non_null(raw);
    size_t n = fread(raw, 1, (1 << 20) - 1, f);
    fclose(f);
    char *out = malloc(2 * n + 1);
    assert_non_null(out);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (crlf && raw[i] == '\n')
            out[o++] = '\r';
        out[o++] = raw[i];
    }
    out[o] = '\0';
    free(raw);
    *len = o;
    return out;
}

static void
parse_file(const char *name, ingest_mail *m)
{
    size_t len;
    char *data = load(name, 1, &len);
    char err[256];
    assert_int_equal(ingest_mail_parse(data, len, own, 1, m, err, sizeof err), 0);
    free(data);
}

static void
parse_text(const char *text, ingest_mail *m)
{
    char err[256];
    assert_int_equal(ingest_mail_parse(text, strlen(text), own, 1, m, err, sizeof err), 0);
}

static void
test_gmail_alternative(void **state)
{
    (void)state;
    ingest_mail m;
    parse_file("gmail_alternative.eml", &m);
    assert_int_equal(m.kind, INGEST_MAIL_NEW);
    assert_null(m.why);
    assert_string_equal(m.from_address, "sian.jones@gmail.com");
    assert_string_equal(m.from_name, "Si\xc3\xa2n Jones");
    assert_string_equal(m.subject, "Bins, not collected \xe2\x80\x94 Brook Street");
    assert_string_equal(m.message_id, "CAB3x+Vq9zP0c2rL4u1=Qn8Kf7dFJ0Yx_2mW@mail.gmail.com");
    assert_string_equal(m.text,
                        "Hello,\n\nThe bins on Brook Street haven\xe2\x80\x99t been collected "
                        "for three weeks \xe2\x80\x94 the smell is awful.\nCould someone "
                        "please look into it?\n\nThanks,\nSi\xc3\xa2n");
    assert_int_equal(m.nattachments, 0);
    assert_string_equal(m.reference, "");
    assert_string_equal(m.notification_id, "");
    assert_int_equal(m.date_ms, 1776154351000LL);
    ingest_mail_free(&m);
}

static void
test_outlook_reply_reference(void **state)
{
    (void)state;
    ingest_mail m;
    parse_file("outlook_reply_reference.eml", &m);
    assert_int_equal(m.kind, INGEST_MAIL_REPLY);
    assert_string_equal(m.reference, "NCH-2026-004217");
    assert_string_equal(m.notification_id, "");
    /* the domain lower-cased, the local part as given */
    assert_string_equal(m.from_address, "Peter.ONeill@outlook.com");
    assert_string_equal(m.from_name, "Peter O'Neill");
    /* windows-1252: 0x92 is a right single quote, 0xA3 the pound sign */
    assert_non_null(strstr(m.text, "I\xe2\x80\x99m still waiting on this. I paid \xc2\xa3"
                                   "40 for the garden waste permit"));
    ingest_mail_free(&m);
}

static void
test_reply_to_notice(void **state)
{
    (void)state;
    ingest_mail m;
    parse_file("reply_to_notice.eml", &m);
    /* both a notice and a reference: the notice is named */
    assert_int_equal(m.kind, INGEST_MAIL_REPLY);
    assert_string_equal(m.notification_id, "8c1f3a2e-5b6d-4c7e-9f80-1a2b3c4d5e6f/acknowledgement");
    assert_string_equal(m.reference, "NCH-2026-000311");
    assert_string_equal(m.from_address, "m.okafor@example.org.uk");
    assert_non_null(strstr(m.text, "Thank you. I have a photo of the fly-tipping"));
    ingest_mail_free(&m);
}

static void
test_html_only(void **state)
{
    (void)state;
    ingest_mail m;
    parse_file("html_only.eml", &m);
    assert_int_equal(m.kind, INGEST_MAIL_NEW);
    assert_string_equal(m.from_name, "Tomasz Wi\xc5\x9bniewski");
    assert_string_equal(m.text,
                        "Dear Sir/Madam,\n\nThe street light outside no. 12 Elm Road has been out "
                        "since Friday & it's very dark \xe2\x80\x94 please fix it.\n\n"
                        "- Column number: 4471\n- Nearest junction: Elm Road <> Oak Lane\n\n"
                        "Sent from my iPhone");
    ingest_mail_free(&m);
}

static void
test_attachments(void **state)
{
    (void)state;
    ingest_mail m;
    parse_file("attachments.eml", &m);
    assert_int_equal(m.kind, INGEST_MAIL_NEW);
    assert_string_equal(m.from_name, "Okonkwo, Ada");
    assert_string_equal(m.text, "Please find attached my objection and a photo of the site.");
    assert_int_equal(m.nattachments, 3);
    assert_string_equal(m.attachments[0].name, "site ph\xc3\xb6to.jpg");
    assert_string_equal(m.attachments[0].content_type, "image/jpeg");
    assert_int_equal(m.attachments[0].size_bytes, 1030); /* decoded, not base64 */
    assert_string_equal(m.attachments[1].name, "objection.pdf");
    assert_string_equal(m.attachments[1].content_type, "application/pdf");
    assert_int_equal(m.attachments[1].size_bytes, 77);
    assert_string_equal(m.attachments[2].name, "Fwd: the plans");
    assert_string_equal(m.attachments[2].content_type, "message/rfc822");
    assert_true(m.attachments[2].size_bytes > 40);
    ingest_mail_free(&m);
}

static void
test_latin1(void **state)
{
    (void)state;
    ingest_mail m;
    parse_file("latin1_qp.eml", &m);
    assert_int_equal(m.kind, INGEST_MAIL_NEW);
    assert_string_equal(m.from_name, "Fran\xc3\xa7ois L\xc3\xa9vesque");
    assert_string_equal(m.subject, "Trottoir cass\xc3\xa9 devant l'\xc3\xa9"
                                   "cole");
    assert_string_equal(m.text, "Bonjour,\n\nLe trottoir devant l'\xc3\xa9"
                                "cole est cass\xc3\xa9 "
                                "depuis No\xc3\xabl. Merci de le r\xc3\xa9parer.\n\n"
                                "Fran\xc3\xa7ois");
    ingest_mail_free(&m);
}

static void
test_dsn_postfix(void **state)
{
    (void)state;
    ingest_mail m;
    /* From MAILER-DAEMON at Charter's own domain, Auto-Submitted: still a bounce */
    parse_file("dsn_postfix.eml", &m);
    assert_int_equal(m.kind, INGEST_MAIL_BOUNCE);
    assert_string_equal(m.notification_id, "8c1f3a2e-5b6d-4c7e-9f80-1a2b3c4d5e6f/acknowledgement");
    assert_int_equal(m.bounce_permanent, 1);
    assert_string_equal(m.bounce_reason, "5.1.1 smtp; 550-5.1.1 The email account that you tried "
                                         "to reach does not exist.");
    ingest_mail_free(&m);
}

static void
test_dsn_exchange(void **state)
{
    (void)state;
    ingest_mail m;
    parse_file("dsn_exchange.eml", &m);
    assert_int_equal(m.kind, INGEST_MAIL_BOUNCE);
    assert_string_equal(m.notification_id, "3d2e1f00-aaaa-4bbb-8ccc-0123456789ab/holding_reply");
    assert_int_equal(m.bounce_permanent, 1);
    assert_string_equal(m.bounce_reason,
                        "5.1.10 smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient "
                        "j.smith@contoso.com not found by SMTP address lookup");
    assert_non_null(strstr(m.text, "couldn't be delivered"));
    ingest_mail_free(&m);
}

static void
test_dsn_delayed(void **state)
{
    (void)state;
    ingest_mail m;
    parse_file("dsn_delayed.eml", &m);
    assert_int_equal(m.kind, INGEST_MAIL_BOUNCE);
    assert_string_equal(m.notification_id, "77e0c9d1-1111-4222-8333-444455556666/warning/1");
    assert_int_equal(m.bounce_permanent, 0);
    assert_string_equal(m.bounce_reason,
                        "4.4.1 X-Postfix; connect to "
                        "mx.slow.example.net[192.0.2.25]:25: Connection timed out");
    ingest_mail_free(&m);
}

static void
test_dsn_not_ours(void **state)
{
    (void)state;
    ingest_mail m;
    parse_file("dsn_not_ours.eml", &m);
    assert_int_equal(m.kind, INGEST_MAIL_IGNORED);
    assert_string_equal(m.why, "a delivery report not about a Charter notice");
    assert_string_equal(m.notification_id, "");
    ingest_mail_free(&m);
}

/* A delivery report about notice ACK with the given per-recipient blocks. */
static void
parse_dsn(const char *blocks, ingest_mail *m)
{
    char text[4096];
    snprintf(text, sizeof text,
             "From: MAILER-DAEMON@mx.example.net\r\nSubject: report\r\nMIME-Version: 1.0\r\n"
             "Content-Type: multipart/report; report-type=\"Delivery-Status\"; boundary=r\r\n"
             "\r\n--r\r\nContent-Type: text/plain\r\n\r\nreport\r\n"
             "--r\r\nContent-Type: message/delivery-status\r\n\r\n"
             "Reporting-MTA: dns; mx.example.net\r\n\r\n%s\r\n"
             "--r\r\nContent-Type: message/rfc822\r\n\r\n"
             "From: complaints@northchester.gov.uk\r\nSubject: notice\r\n"
             "Message-ID: <n.8c1f3a2e-5b6d-4c7e-9f80-1a2b3c4d5e6f/acknowledgement."
             "5cd674211b41e99a@notices.northchester.gov.uk>\r\n\r\nbody\r\n--r--\r\n",
             blocks);
    parse_text(text, m);
}

static void
test_dsn_recipients(void **state)
{
    (void)state;
    ingest_mail m;
    /* a delay, then a failure: the failure is the news */
    parse_dsn("Final-Recipient: rfc822; a@example.net\r\nAction: delayed\r\nStatus: 4.2.2\r\n\r\n"
              "Final-Recipient: rfc822; b@example.net\r\nAction: failed\r\nStatus: 5.2.2\r\n"
              "Diagnostic-Code: smtp; 552 5.2.2 mailbox full\r\n",
              &m);
    assert_int_equal(m.kind, INGEST_MAIL_BOUNCE);
    assert_int_equal(m.bounce_permanent, 1);
    assert_string_equal(m.bounce_reason, "5.2.2 smtp; 552 5.2.2 mailbox full");
    ingest_mail_free(&m);
    /* a success report (NOTIFY=SUCCESS) is no bounce */
    parse_dsn("Final-Recipient: rfc822; a@example.net\r\nAction: delivered\r\nStatus: 2.0.0\r\n",
              &m);
    assert_int_equal(m.kind, INGEST_MAIL_IGNORED);
    assert_string_equal(m.why, "a delivery report of a successful delivery");
    ingest_mail_free(&m);
    /* no Status at all: Action failed is a permanent failure */
    parse_dsn("Final-Recipient: rfc822; a@example.net\r\nAction: failed\r\n", &m);
    assert_int_equal(m.kind, INGEST_MAIL_BOUNCE);
    assert_int_equal(m.bounce_permanent, 1);
    assert_string_equal(m.bounce_reason, "failed");
    ingest_mail_free(&m);
    /* a bounce that is no RFC 3464 report opens no case either */
    parse_text("From: MAILER-DAEMON@mx.example.net\r\nSubject: failure notice\r\n\r\n"
               "Sorry, we were unable to deliver your message.\r\n",
               &m);
    assert_int_equal(m.kind, INGEST_MAIL_IGNORED);
    assert_string_equal(m.why, "a mail system's message (From MAILER-DAEMON)");
    ingest_mail_free(&m);
}

static void
test_automatic(void **state)
{
    (void)state;
    static const struct {
        const char *file, *why;
    } cases[] = {
        {"autoreply_outlook.eml", "an automatic message (Auto-Submitted: auto-generated)"},
        {"autoreply_vacation.eml", "junk mail (Precedence: junk)"},
        {"list_mail.eml", "list mail (List-Id)"},
        {"loop_own_domain.eml", "a loop: it comes from one of Charter's own mail domains"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ingest_mail m;
        parse_file(cases[i].file, &m);
        assert_int_equal(m.kind, INGEST_MAIL_IGNORED);
        assert_string_equal(m.why, cases[i].why);
        ingest_mail_free(&m);
    }
}

static void
test_automatic_headers(void **state)
{
    (void)state;
    static const struct {
        const char *header, *why;
    } cases[] = {
        {"Auto-Submitted: auto-replied (vacation)",
         "an automatic reply (Auto-Submitted: auto-replied)"},
        {"Auto-Submitted: Auto-Notified", "an automatic message (Auto-Submitted: auto-notified)"},
        {"Precedence: bulk", "bulk mail (Precedence: bulk)"},
        {"Precedence: list", "list mail (Precedence: list)"},
        {"Precedence: auto_reply", "an automatic reply (Precedence: auto_reply)"},
        {"X-Autoreply: yes", "an automatic reply (X-Autoreply)"},
        {"X-Autorespond: Thank you for your message", "an automatic reply (X-Autorespond)"},
        {"List-Unsubscribe: <mailto:leave@lists.example.org>", "list mail (List-Unsubscribe)"},
        {"Message-ID: <n.8c1f3a2e-5b6d-4c7e-9f80-1a2b3c4d5e6f/acknowledgement.5cd674211b41e99a@"
         "notices.northchester.gov.uk>",
         "a loop: its Message-ID is one of Charter's own"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "From: Someone <someone@example.org>\r\nTo: complaints@northchester.gov.uk\r\n"
                 "Subject: Re: NCH-2026-000001\r\n%s\r\n\r\nhello\r\n",
                 cases[i].header);
        ingest_mail m;
        parse_text(text, &m);
        assert_int_equal(m.kind, INGEST_MAIL_IGNORED);
        assert_string_equal(m.why, cases[i].why);
        ingest_mail_free(&m);
    }
    /* "Auto-Submitted: no" is a person writing */
    ingest_mail m;
    parse_text("From: someone@example.org\r\nAuto-Submitted: no\r\nSubject: hi\r\n\r\nhello\r\n",
               &m);
    assert_int_equal(m.kind, INGEST_MAIL_NEW);
    assert_string_equal(m.text, "hello");
    ingest_mail_free(&m);
}

static void
test_invalid(void **state)
{
    (void)state;
    ingest_mail m;
    parse_file("no_from.eml", &m);
    assert_int_equal(m.kind, INGEST_MAIL_INVALID);
    assert_string_equal(m.why, "it has no From address");
    ingest_mail_free(&m);

    char err[256];
    parse_text("From: Undisclosed recipients:;\r\nSubject: x\r\n\r\nbody\r\n", &m);
    assert_int_equal(m.kind, INGEST_MAIL_INVALID);
    ingest_mail_free(&m);

    parse_text("From: \"A\" <a@[192.0.2.1]>\r\nSubject: x\r\n\r\nbody\r\n", &m);
    assert_int_equal(m.kind, INGEST_MAIL_INVALID);
    assert_string_equal(m.why, "its From address is not one Charter can answer");
    ingest_mail_free(&m);

    assert_int_equal(ingest_mail_parse("", 0, own, 1, &m, err, sizeof err), 0);
    assert_int_equal(m.kind, INGEST_MAIL_INVALID);
    assert_non_null(strstr(err, "no header could be read"));
    ingest_mail_free(&m);

    static const char binary[] = "\x00\x01\x02\xff\xfe garbage \x00";
    assert_int_equal(ingest_mail_parse(binary, sizeof binary, own, 1, &m, err, sizeof err), 0);
    assert_int_equal(m.kind, INGEST_MAIL_INVALID);
    ingest_mail_free(&m);
}

static void
test_bare_lf_and_own_domain_case(void **state)
{
    (void)state;
    size_t len;
    char *data = load("gmail_alternative.eml", 0, &len);
    ingest_mail m;
    char err[256];
    assert_int_equal(ingest_mail_parse(data, len, own, 1, &m, err, sizeof err), 0);
    assert_int_equal(m.kind, INGEST_MAIL_NEW);
    assert_non_null(strstr(m.text, "Could someone please look into it?"));
    ingest_mail_free(&m);
    static const char *const mine[] = {"example.net", "GMAIL.com"};
    assert_int_equal(ingest_mail_parse(data, len, mine, 2, &m, err, sizeof err), 0);
    assert_int_equal(m.kind, INGEST_MAIL_IGNORED);
    ingest_mail_free(&m);
    free(data);
}

static size_t
utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void
test_limits(void **state)
{
    (void)state;
    /* text: 3000 two-byte characters, cut to 2000 on a boundary */
    size_t cap = 16384;
    char *msg = malloc(cap);
    assert_non_null(msg);
    int o = snprintf(msg, cap,
                     "From: =?UTF-8?Q?%s?= <x@example.org>\r\nSubject: a\x01"
                     "b\tc\r\n  d\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Transfer-Encoding: 8bit\r\n\r\n",
                     "L=C3=A9on_Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    for (int i = 0; i < 3000; i++) {
        msg[o++] = '\xc3';
        msg[o++] = '\xa9';
    }
    memcpy(msg + o, "\r\n", 3);
    ingest_mail m;
    parse_text(msg, &m);
    assert_int_equal(m.kind, INGEST_MAIL_NEW);
    assert_int_equal(utf8_chars(m.text), 2000);
    assert_int_equal(strlen(m.text), 4000);
    assert_int_equal(utf8_chars(m.from_name), 200);
    assert_int_equal(strncmp(m.from_name, "L\xc3\xa9on Aaa", 9), 0);
    assert_string_equal(m.subject, "ab c d"); /* one line, controls removed */
    ingest_mail_free(&m);

    /* 150 attachments: 100 listed */
    o = snprintf(msg, cap,
                 "From: x@example.org\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
                 "--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n");
    for (int i = 0; i < 150; i++)
        o += snprintf(msg + o, cap - (size_t)o,
                      "--b\r\nContent-Type: application/octet-stream; name=f%d.bin\r\n\r\nxx\r\n",
                      i);
    snprintf(msg + o, cap - (size_t)o, "--b--\r\n");
    parse_text(msg, &m);
    assert_int_equal(m.nattachments, 100);
    assert_string_equal(m.attachments[99].name, "f99.bin");
    assert_string_equal(m.text, "see attached");
    ingest_mail_free(&m);

    /* nesting 40 deep: the text at the bottom is beyond the limit */
    o = snprintf(msg, cap, "From: x@example.org\r\n");
    for (int i = 0; i < 40; i++)
        o += snprintf(msg + o, cap - (size_t)o,
                      "Content-Type: multipart/mixed; boundary=n%d\r\n\r\n--n%d\r\n", i, i);
    o += snprintf(msg + o, cap - (size_t)o, "Content-Type: text/plain\r\n\r\ndeep\r\n");
    for (int i = 39; i >= 0; i--)
        o += snprintf(msg + o, cap - (size_t)o, "--n%d--\r\n", i);
    parse_text(msg, &m);
    assert_int_equal(m.kind, INGEST_MAIL_NEW);
    assert_string_equal(m.text, "");
    ingest_mail_free(&m);
    free(msg);

    /* more than 1000 parts: refused before GMime, whose boundary search costs the depth for
     * every line */
    cap = 64 * 1024;
    msg = malloc(cap);
    assert_non_null(msg);
    o = snprintf(msg, cap, "From: x@example.org\r\n");
    for (int i = 0; i < 1001; i++)
        o += snprintf(msg + o, cap - (size_t)o,
                      "content-type: multipart/mixed; boundary=%d\r\n\r\n--%d\r\n", i, i);
    parse_text(msg, &m);
    assert_int_equal(m.kind, INGEST_MAIL_INVALID);
    assert_string_equal(m.why, "it has more than 1000 MIME parts");
    ingest_mail_free(&m);
    free(msg);
}

static void
test_undeclared_8bit(void **state)
{
    (void)state;
    ingest_mail m;
    /* no charset, windows-1252 bytes: guessed, not mangled */
    parse_text("From: x@example.org\r\nSubject: caf\xe9\r\n\r\nNo\xebl \x80"
               "5\r\n",
               &m);
    assert_string_equal(m.subject, "caf\xc3\xa9");
    assert_string_equal(m.text, "No\xc3\xabl \xe2\x82\xac"
                                "5");
    ingest_mail_free(&m);
}

static void
test_html_text(void **state)
{
    (void)state;
    static const struct {
        const char *html, *text;
    } cases[] = {
        {"<p>a</p><p>b</p>", "a\n\nb"},
        {"a<br>b<BR/>c", "a\nb\nc"},
        {"  x \n\t y  ", "x y"},
        {"&lt;&gt;&amp;&quot;&#65;&#x42;&#0;&bogus; &amp", "<>&\"AB\xef\xbf\xbd&bogus; &amp"},
        {"<pre>a  b\n c</pre>d", "a  b\n c\n\nd"},
        {"<td>1</td><td>2</td>", "1 2"},
        {"<scRipt>x<p>y</p></SCRIPT>z", "z"},
        {"<a href=\"x>y\">link</a>", "link"},
        {"<!-- unterminated", ""},
        {"a < b", "a < b"},
        {"<style>", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *t = ingest_mail_html_text(cases[i].html, strlen(cases[i].html), 2000);
        assert_non_null(t);
        ingest_mail_text_tidy(t, 0, 2000);
        assert_string_equal(t, cases[i].text);
        free(t);
    }
}

static void
test_find_reference(void **state)
{
    (void)state;
    char ref[64];
    assert_int_equal(ingest_mail_find_reference("Re: [NCH-2026-004217] bins", ref, sizeof ref), 1);
    assert_string_equal(ref, "NCH-2026-004217");
    assert_int_equal(ingest_mail_find_reference("HOUSING-2025-1234567.", ref, sizeof ref), 1);
    assert_string_equal(ref, "HOUSING-2025-1234567");
    assert_int_equal(ingest_mail_find_reference("N-2026-004217", ref, sizeof ref), 0);
    assert_int_equal(ingest_mail_find_reference("ABCDEFGHIJK-2026-004217", ref, sizeof ref), 0);
    assert_int_equal(ingest_mail_find_reference("xNCH-2026-004217", ref, sizeof ref), 0);
    assert_int_equal(ingest_mail_find_reference("NCH-2026-00421", ref, sizeof ref), 0);
    assert_int_equal(ingest_mail_find_reference("NCH-2026-004217x", ref, sizeof ref), 0);
    assert_int_equal(ingest_mail_find_reference("nch-2026-004217", ref, sizeof ref), 0);
}

int
main(void)
{
    ingest_mail_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gmail_alternative),
        cmocka_unit_test(test_outlook_reply_reference),
        cmocka_unit_test(test_reply_to_notice),
        cmocka_unit_test(test_html_only),
        cmocka_unit_test(test_attachments),
        cmocka_unit_test(test_latin1),
        cmocka_unit_test(test_dsn_postfix),
        cmocka_unit_test(test_dsn_exchange),
        cmocka_unit_test(test_dsn_delayed),
        cmocka_unit_test(test_dsn_not_ours),
        cmocka_unit_test(test_dsn_recipients),
        cmocka_unit_test(test_automatic),
        cmocka_unit_test(test_automatic_headers),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_bare_lf_and_own_domain_case),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_undeclared_8bit),
        cmocka_unit_test(test_html_text),
        cmocka_unit_test(test_find_reference),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ingest_mail_global_fini();
    return rc;
}
