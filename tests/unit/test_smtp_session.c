/*
 * The SMTP/LMTP state machine: what a mail server sending to Charter sees,
 * command by command, including pipelined commands, bytes split anywhere,
 * dot-unstuffing, the strict end of data and every limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp_session.h"

typedef struct {
    smtp_session *s;
    char out[16384];
    size_t outn;
    int mail_code, rcpt_code, msg_code; /* answers the test gives */
    char last_msg[4096];
    size_t last_msg_len;
    char rcpts[8][64];
    size_t nrcpt_events, nmsg;
} drive;

static void
collect(drive *d)
{
    size_t n;
    const char *o = smtp_session_output(d->s, &n);
    assert_true(d->outn + n < sizeof(d->out));
    memcpy(d->out + d->outn, o, n);
    d->outn += n;
    d->out[d->outn] = '\0';
    smtp_session_output_clear(d->s);
}

/* Feeds text in chunks of `step` bytes (0: all at once), answering events. */
static void
feed(drive *d, const char *text, size_t step)
{
    size_t len = strlen(text), i = 0;
    while (i < len && !smtp_session_closed(d->s)) {
        size_t n = step && len - i > step ? step : len - i;
        smtp_event ev;
        size_t used = smtp_session_input(d->s, text + i, n, &ev);
        i += used;
        switch (ev) {
        case SMTP_EV_MAIL:
            smtp_session_answer(d->s, d->mail_code, d->mail_code < 400 ? NULL : "4.7.0 Slow down");
            break;
        case SMTP_EV_RCPT:
            snprintf(d->rcpts[d->nrcpt_events++ % 8], 64, "%s", smtp_session_pending_rcpt(d->s));
            if (strstr(smtp_session_pending_rcpt(d->s), "nobody"))
                smtp_session_answer(d->s, 550, "5.1.1 No such mailbox");
            else
                smtp_session_answer(d->s, d->rcpt_code, NULL);
            break;
        case SMTP_EV_MESSAGE: {
            size_t ml;
            const char *m = smtp_session_message(d->s, &ml);
            assert_true(ml < sizeof(d->last_msg));
            memcpy(d->last_msg, m, ml);
            d->last_msg[ml] = '\0';
            d->last_msg_len = ml;
            d->nmsg++;
            size_t k = smtp_session_rcpt_count(d->s);
            for (size_t r = 0; r < k; r++) {
                if (!smtp_session_waiting(d->s))
                    break;
                smtp_session_answer(d->s, d->msg_code,
                                    d->msg_code < 400 ? NULL : "4.3.0 Try later");
            }
            break;
        }
        default:
            break;
        }
        collect(d);
    }
}

static void
start(drive *d, smtp_mode mode, size_t max_bytes)
{
    memset(d, 0, sizeof(*d));
    smtp_limits lim = {mode, "mx.test", max_bytes, 3};
    d->s = smtp_session_new(&lim);
    assert_non_null(d->s);
    d->mail_code = d->rcpt_code = d->msg_code = 250;
    collect(d);
}

static void
test_greeting_and_ehlo(void **state)
{
    (void)state;
    drive d;
    start(&d, SMTP_MODE_SMTP, 1000);
    feed(&d, "EHLO client.test\r\n", 0);
    assert_string_equal(d.out, "220 mx.test ESMTP Charter ready\r\n"
                               "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n"
                               "250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n");
    assert_string_equal(smtp_session_helo(d.s), "client.test");
    smtp_session_free(d.s);
}

static const char transaction[] = "EHLO c\r\nMAIL FROM:<ann@example.org> SIZE=100 BODY=8BITMIME\r\n"
                                  "RCPT TO:<complaints@council.test>\r\nDATA\r\n"
                                  "Subject: hi\r\n\r\n..leading dot\r\nline\r\n.\r\nQUIT\r\n";

static void
check_transaction(drive *d)
{
    assert_int_equal(d->nmsg, 1);
    assert_string_equal(d->last_msg, "Subject: hi\r\n\r\n.leading dot\r\nline\r\n");
    assert_non_null(strstr(d->out, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 "));
    assert_non_null(strstr(d->out, "250 2.0.0 Ok: queued\r\n221 2.0.0 Bye\r\n"));
    assert_true(smtp_session_closed(d->s));
}

static void
test_pipelined_transaction(void **state)
{
    (void)state;
    drive d;
    start(&d, SMTP_MODE_SMTP, 1000);
    feed(&d, transaction, 0);
    check_transaction(&d);
    smtp_session_free(d.s);
}

static void
test_any_split_of_the_bytes(void **state)
{
    (void)state;
    for (size_t step = 1; step <= 7; step++) {
        drive d;
        start(&d, SMTP_MODE_SMTP, 1000);
        feed(&d, transaction, step);
        check_transaction(&d);
        smtp_session_free(d.s);
    }
}

static void
test_bare_lf_dot_does_not_end_data(void **state)
{
    (void)state;
    drive d;
    start(&d, SMTP_MODE_SMTP, 1000);
    feed(&d,
         "HELO c\r\nMAIL FROM:<> \r\nRCPT TO:<a@b.test>\r\nDATA\r\n"
         "one\n.\nMAIL FROM:<x@y>\r\nstill data\r\n.\r\n",
         0);
    assert_int_equal(d.nmsg, 1);
    assert_string_equal(d.last_msg, "one\n\nMAIL FROM:<x@y>\r\nstill data\r\n");
    assert_string_equal(smtp_session_sender(d.s), "");
    smtp_session_free(d.s);
}

static void
test_null_sender_and_source_route(void **state)
{
    (void)state;
    drive d;
    start(&d, SMTP_MODE_SMTP, 1000);
    feed(&d, "HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<@relay.test:box@council.test>\r\n", 0);
    assert_string_equal(d.rcpts[0], "box@council.test");
    assert_int_equal(smtp_session_rcpt_count(d.s), 1);
    assert_string_equal(smtp_session_sender(d.s), "");
    smtp_session_free(d.s);
}

static void
test_order_of_commands(void **state)
{
    (void)state;
    drive d;
    start(&d, SMTP_MODE_SMTP, 1000);
    feed(&d,
         "MAIL FROM:<a@b>\r\nRCPT TO:<a@b>\r\nDATA\r\nHELO c\r\nDATA\r\n"
         "MAIL FROM:<a@b>\r\nMAIL FROM:<a@b>\r\nDATA\r\n",
         0);
    assert_non_null(strstr(d.out, "503 5.5.1 Say EHLO or HELO first\r\n503 5.5.1 MAIL first\r\n"
                                  "503 5.5.1 MAIL first\r\n250 mx.test\r\n503 5.5.1 MAIL first\r\n"
                                  "250 2.1.0 Ok\r\n503 5.5.1 A transaction is open already"));
    assert_non_null(strstr(d.out, "554 5.5.1 No valid recipients\r\n"));
    smtp_session_free(d.s);
}

static void
test_rset_noop_vrfy_unknown(void **state)
{
    (void)state;
    drive d;
    start(&d, SMTP_MODE_SMTP, 1000);
    feed(&d,
         "EHLO c\r\nMAIL FROM:<a@b>\r\nRSET\r\nRCPT TO:<x@y>\r\nNOOP\r\nVRFY root\r\n"
         "EXPN staff\r\nSTARTTLS\r\nAUTH PLAIN\r\nFOO\r\n",
         0);
    assert_non_null(strstr(d.out, "250 2.0.0 Ok\r\n503 5.5.1 MAIL first\r\n250 2.0.0 Ok\r\n"
                                  "502 5.5.1 VRFY and EXPN are disabled\r\n"
                                  "502 5.5.1 VRFY and EXPN are disabled\r\n"
                                  "502 5.5.1 Command not implemented\r\n"
                                  "502 5.5.1 Command not implemented\r\n"
                                  "500 5.5.2 Command unrecognised\r\n"));
    smtp_session_free(d.s);
}

static void
test_refused_sender_and_recipient(void **state)
{
    (void)state;
    drive d;
    start(&d, SMTP_MODE_SMTP, 1000);
    d.mail_code = 450;
    feed(&d, "HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\n", 0);
    assert_non_null(strstr(d.out, "450 4.7.0 Slow down\r\n503 5.5.1 MAIL first\r\n"));
    d.mail_code = 250;
    feed(&d, "MAIL FROM:<a@b>\r\nRCPT TO:<nobody@y>\r\nDATA\r\n", 0);
    assert_non_null(strstr(d.out, "550 5.1.1 No such mailbox\r\n554 5.5.1 No valid recipients"));
    smtp_session_free(d.s);
}

static void
test_size_limits(void **state)
{
    (void)state;
    drive d;
    start(&d, SMTP_MODE_SMTP, 20);
    feed(&d,
         "HELO c\r\nMAIL FROM:<a@b> SIZE=21\r\nMAIL FROM:<a@b> SIZE=x\r\n"
         "MAIL FROM:<a@b> FOO=1\r\n",
         0);
    assert_non_null(strstr(d.out, "552 5.3.4 Message too big (the limit is 20 bytes)\r\n"
                                  "501 5.5.4 SIZE= takes a number of bytes\r\n"
                                  "555 5.5.4 Unsupported MAIL parameter\r\n"));
    feed(&d,
         "MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\n0123456789\r\n0123456789\r\n.\r\nNOOP\r\n",
         0);
    assert_int_equal(d.nmsg, 0);
    assert_non_null(strstr(d.out, "354 End data with <CR><LF>.<CR><LF>\r\n"
                                  "552 5.3.4 Message too big (the limit is 20 bytes)\r\n"
                                  "250 2.0.0 Ok\r\n"));
    /* the transaction is over: a new one starts cleanly */
    feed(&d, "MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\nsmall\r\n.\r\n", 0);
    assert_int_equal(d.nmsg, 1);
    assert_string_equal(d.last_msg, "small\r\n");
    smtp_session_free(d.s);
}

static void
test_too_many_recipients(void **state)
{
    (void)state;
    drive d;
    start(&d, SMTP_MODE_SMTP, 100);
    feed(&d,
         "HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1@y>\r\nRCPT TO:<2@y>\r\nRCPT TO:<3@y>\r\n"
         "RCPT TO:<4@y>\r\n",
         0);
    assert_int_equal(smtp_session_rcpt_count(d.s), 3);
    assert_non_null(strstr(d.out, "452 4.5.3 Too many recipients\r\n"));
    smtp_session_free(d.s);
}

static void
test_long_lines(void **state)
{
    (void)state;
    drive d;
    start(&d, SMTP_MODE_SMTP, 10000);
    char *big = malloc(3000);
    memset(big, 'A', 2990);
    strcpy(big + 2990, "\r\n");
    feed(&d, "HELO c\r\nNOOP ", 0);
    feed(&d, big, 0);
    feed(&d, "NOOP\r\n", 0);
    assert_non_null(strstr(d.out, "250 mx.test\r\n500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n"));
    /* a long data line is taken whole, a leading dot unstuffed once */
    feed(&d, "MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\n.", 0);
    feed(&d, big, 0);
    feed(&d, ".\r\n", 0);
    assert_int_equal(d.nmsg, 1);
    assert_int_equal(d.last_msg_len, 2992);
    assert_memory_equal(d.last_msg, big, 2992);
    free(big);
    smtp_session_free(d.s);
}

static void
test_lmtp_answers_per_recipient(void **state)
{
    (void)state;
    drive d;
    start(&d, SMTP_MODE_LMTP, 1000);
    feed(&d, "EHLO c\r\n", 0);
    assert_non_null(strstr(d.out, "220 mx.test LMTP Charter ready\r\n500 5.5.1 This is LMTP"));
    feed(&d,
         "LHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nRCPT TO:<nobody@y>\r\n"
         "RCPT TO:<z@y>\r\nDATA\r\nhello\r\n.\r\n",
         0);
    assert_int_equal(d.nmsg, 1);
    const char *tail = strstr(d.out, "354 ");
    assert_non_null(tail);
    assert_string_equal(strchr(tail, '\n') + 1, "250 2.0.0 Ok: queued\r\n250 2.0.0 Ok: queued\r\n");
    smtp_session_free(d.s);
}

static void
test_message_waits_for_its_answer(void **state)
{
    (void)state;
    smtp_limits lim = {SMTP_MODE_SMTP, "mx.test", 1000, 5};
    smtp_session *s = smtp_session_new(&lim);
    const char *in = "HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\nhi\r\n.\r\nNOOP\r\n";
    size_t len = strlen(in), i = 0;
    smtp_event ev;
    i += smtp_session_input(s, in + i, len - i, &ev);
    assert_int_equal(ev, SMTP_EV_MAIL);
    smtp_session_answer(s, 250, NULL);
    i += smtp_session_input(s, in + i, len - i, &ev);
    assert_int_equal(ev, SMTP_EV_RCPT);
    smtp_session_answer(s, 250, NULL);
    i += smtp_session_input(s, in + i, len - i, &ev);
    assert_int_equal(ev, SMTP_EV_MESSAGE);
    assert_true(smtp_session_waiting(s));
    /* the NOOP is not read until the message is answered */
    assert_int_equal(smtp_session_input(s, in + i, len - i, &ev), 0);
    assert_int_equal(ev, SMTP_EV_NONE);
    smtp_session_answer(s, 451, "4.3.0 Try again later");
    assert_false(smtp_session_waiting(s));
    i += smtp_session_input(s, in + i, len - i, &ev);
    assert_int_equal(i, len);
    size_t n;
    const char *out = smtp_session_output(s, &n);
    assert_non_null(strstr(out, "451 4.3.0 Try again later\r\n250 2.0.0 Ok\r\n"));
    smtp_session_close(s, "421 4.4.2 mx.test Timeout");
    assert_true(smtp_session_closed(s));
    smtp_session_free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greeting_and_ehlo),
        cmocka_unit_test(test_pipelined_transaction),
        cmocka_unit_test(test_any_split_of_the_bytes),
        cmocka_unit_test(test_bare_lf_dot_does_not_end_data),
        cmocka_unit_test(test_null_sender_and_source_route),
        cmocka_unit_test(test_order_of_commands),
        cmocka_unit_test(test_rset_noop_vrfy_unknown),
        cmocka_unit_test(test_refused_sender_and_recipient),
        cmocka_unit_test(test_size_limits),
        cmocka_unit_test(test_too_many_recipients),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_lmtp_answers_per_recipient),
        cmocka_unit_test(test_message_waits_for_its_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
