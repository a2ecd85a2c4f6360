/*
 * One SMTP (RFC 5321) or LMTP (RFC 2033) conversation as a state machine:
 * bytes in, replies out, and events for the decisions that are not the
 * protocol's. No sockets, no clock, no allocation beyond its own buffers, so
 * unit tests drive it byte by byte (tests/unit/test_smtp_session.c), and
 * mail_listener.c puts it on a bufferevent.
 *
 * The owner feeds what arrived (smtp_session_input) and gets back how much
 * was used and, when the session needs a decision, an event:
 *
 *   SMTP_EV_MAIL     MAIL FROM was well formed: accept or refuse the sender
 *                    (rate limits) with smtp_session_answer
 *   SMTP_EV_RCPT     RCPT TO was well formed: accept or refuse the address
 *                    (the mailbox map) with smtp_session_answer
 *   SMTP_EV_MESSAGE  the message is complete (CRLF.CRLF, dot-unstuffed):
 *                    answer it once (SMTP) or once per accepted recipient, in
 *                    their order (LMTP), when its fate is known; this may be
 *                    much later (the event confirmed on Kafka)
 *   SMTP_EV_CLOSE    QUIT (or a fatal error): send the output, then close
 *
 * While an event waits for its answer the session takes no input (input
 * returns 0), so pipelined commands (RFC 2920) are read in order after it
 * and their replies follow in order. Replies collect in the output buffer
 * (smtp_session_output); the owner sends it whenever input stops.
 *
 * What the session decides itself: the order of commands (503), syntax
 * (500/501/555), line length (500 5.5.2 for a command line over
 * SMTP_LINE_MAX), SIZE= over the limit (552 5.3.4 at MAIL), too many
 * recipients (452 4.5.3), a message over the limit (552 5.3.4 after its end,
 * read and dropped), VRFY and EXPN (502 5.5.1: addresses are not disclosed),
 * and that the end of data is exactly CRLF "." CRLF (a bare LF "." LF does
 * not end it: no SMTP smuggling). It offers PIPELINING, SIZE, 8BITMIME and
 * ENHANCEDSTATUSCODES; not AUTH, STARTTLS or CHUNKING (run it on loopback or
 * behind the council's MTA).
 */
#ifndef INGEST_SMTP_SESSION_H
#define INGEST_SMTP_SESSION_H

#include <stddef.h>

#define SMTP_LINE_MAX 1000 /* a command line, CRLF included (RFC 5321 4.5.3.1.4: 512) */
#define SMTP_ADDR_MAX 320  /* an address between the angle brackets */

typedef enum { SMTP_MODE_SMTP = 0, SMTP_MODE_LMTP } smtp_mode;

typedef struct {
    smtp_mode mode;
    const char *hostname;  /* in the greeting and the EHLO answer (copied) */
    size_t max_bytes;      /* a message's largest size, as received */
    size_t max_recipients; /* per transaction */
} smtp_limits;

typedef enum {
    SMTP_EV_NONE = 0, /* needs more input (or waits for an answer) */
    SMTP_EV_MAIL,
    SMTP_EV_RCPT,
    SMTP_EV_MESSAGE,
    SMTP_EV_CLOSE,
} smtp_event;

typedef struct smtp_session smtp_session;

/* A session with its greeting ("220 HOST ESMTP" or "220 HOST LMTP") in the
 * output; NULL on ENOMEM. */
smtp_session *smtp_session_new(const smtp_limits *limits);
void smtp_session_free(smtp_session *s);

/*
 * Reads from buf[0..len) until an event or the end of the input. Returns the
 * bytes used (the rest is the caller's to give again later) and sets *ev.
 * A partial line is kept inside the session, so all of buf is used unless
 * an event stops it.
 */
size_t smtp_session_input(smtp_session *s, const char *buf, size_t len, smtp_event *ev);

/*
 * Answers the pending event: code (250, 450, 550, ...) and text starting with
 * the enhanced status code ("2.1.5 Ok", "5.1.1 No such mailbox"); text NULL
 * for the session's own wording of a success. For MAIL and RCPT a code below
 * 400 accepts the address. For a message in LMTP, call once per recipient
 * (smtp_session_rcpt_count) in order; the transaction then ends.
 */
void smtp_session_answer(smtp_session *s, int code, const char *text);

/* Queues a last reply (e.g. "421 4.4.2 ... timeout") and closes: later input
 * is ignored and the owner closes after sending the output. */
void smtp_session_close(smtp_session *s, const char *reply);

/* 1 once the session is closed (QUIT, smtp_session_close). */
int smtp_session_closed(const smtp_session *s);

/* 1 while an event waits for its answer. */
int smtp_session_waiting(const smtp_session *s);

/* 1 while the message's data is being read (for the data timeout). */
int smtp_session_in_data(const smtp_session *s);

/* The replies not yet sent; smtp_session_output_clear after sending them. */
const char *smtp_session_output(const smtp_session *s, size_t *len);
void smtp_session_output_clear(smtp_session *s);

/* The envelope, valid from the event until the transaction ends: the sender
 * ("" for the null sender <>), the HELO name, the recipients accepted, the
 * address of a pending RCPT, the message (as received after unstuffing, CRLF
 * line ends kept). */
const char *smtp_session_sender(const smtp_session *s);
const char *smtp_session_helo(const smtp_session *s);
size_t smtp_session_rcpt_count(const smtp_session *s);
const char *smtp_session_rcpt(const smtp_session *s, size_t i);
const char *smtp_session_pending_rcpt(const smtp_session *s);
const char *smtp_session_message(const smtp_session *s, size_t *len);

#endif
