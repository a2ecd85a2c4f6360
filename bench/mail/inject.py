#!/usr/bin/env python3
"""A burst of e-mails over SMTP or LMTP, recording for each message the instant
its DATA ended: the client wrote the final "<CRLF>.<CRLF>" (end_ns) and the
instant the server answered it (reply_ns), both wall-clock nanoseconds
(time.time_ns(), the clock Kafka's record timestamps and file times use).

Used by run.sh (bench/mail/README.md) to inject into the benchmark's Postfix,
and straight into Charter's listener. SESSIONS connections run at once, each
sending message after message on its own connection (as an MTA's cached
connection does), until COUNT messages have been sent in all. Every message
is a new one: its own sender (bench+SEQ@example.org), its own Message-ID
(<TAG.SEQ@bench.charter.localhost>, which the listener makes the event's
gateway_message_id, so run.sh finds each message's event by it), and one
recipient, cycling over the mailboxes given.

Output: a TSV file, a header line "# start_ns=... end_ns=... protocol=..."
then "seq end_ns reply_ns code" per message. Exits 1 if any message was not
answered 250.

Usage: inject.py --port PORT --count N --sessions S --tag TAG --out FILE
                 [--lmtp] [--rcpt ADDR]... [--host 127.0.0.1] [--size BYTES]
"""
import argparse
import asyncio
import email.utils
import sys
import time

SUBJECTS = ["Gutter leaking at the back", "Missed bin collection", "Repair not done",
            "Noise from the flat upstairs", "Damp in the bedroom", "Question about my rent"]


class Failure(Exception):
    pass


async def reply(reader):
    """One SMTP reply (multi-line joined); returns (code, text)."""
    lines = []
    while True:
        line = await reader.readline()
        if not line:
            raise Failure("connection closed by the server")
        lines.append(line.decode("utf-8", "replace").rstrip("\r\n"))
        if len(line) < 4 or line[3:4] != b"-":
            break
    return int(lines[-1][:3]), "\n".join(lines)


def message(args, seq, rcpt):
    body_line = ("Dear Council, this is message %d of the mail benchmark. The gutter at the "
                 "back of the house has been leaking since Tuesday and water is coming in.\r\n" % seq)
    body = body_line * max(1, args.size // len(body_line))
    headers = [
        "From: Bench Sender %d <bench+%d@example.org>" % (seq, seq),
        "To: <%s>" % rcpt,
        "Subject: %s (%d)" % (SUBJECTS[seq % len(SUBJECTS)], seq),
        "Date: %s" % email.utils.formatdate(localtime=False),
        "Message-ID: <%s.%d@bench.charter.localhost>" % (args.tag, seq),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode()


async def session(args, state, rows):
    reader, writer = await asyncio.open_connection(args.host, args.port)
    try:
        code, text = await reply(reader)
        if code != 220:
            raise Failure("greeting: " + text)
        writer.write(b"%s bench.example.org\r\n" % (b"LHLO" if args.lmtp else b"EHLO"))
        code, text = await reply(reader)
        if code != 250:
            raise Failure("hello: " + text)
        while state["next"] < args.count:
            seq = state["next"]
            state["next"] += 1
            rcpt = args.rcpt[seq % len(args.rcpt)]
            data = message(args, seq, rcpt)
            writer.write(b"MAIL FROM:<bench+%d@example.org>\r\n" % seq)
            code, text = await reply(reader)
            if code != 250:
                raise Failure("MAIL FROM: " + text)
            writer.write(b"RCPT TO:<%s>\r\n" % rcpt.encode())
            code, text = await reply(reader)
            if code != 250:
                raise Failure("RCPT TO %s: %s" % (rcpt, text))
            writer.write(b"DATA\r\n")
            code, text = await reply(reader)
            if code != 354:
                raise Failure("DATA: " + text)
            writer.write(data + b"\r\n.\r\n")
            await writer.drain()
            end_ns = time.time_ns()
            code, text = await reply(reader)  # LMTP: one reply per recipient, and there is one
            rows.append((seq, end_ns, time.time_ns(), code))
            if code != 250:
                state["failed"] += 1
                print("inject: message %d answered %s" % (seq, text), file=sys.stderr)
        writer.write(b"QUIT\r\n")
        await writer.drain()
        try:
            await asyncio.wait_for(reply(reader), 5)
        except (Failure, asyncio.TimeoutError):
            pass
    finally:
        writer.close()


async def run(args):
    state = {"next": 0, "failed": 0}
    rows = []
    start = time.time_ns()
    results = await asyncio.gather(*(session(args, state, rows) for _ in range(args.sessions)),
                                   return_exceptions=True)
    end = time.time_ns()
    errors = [r for r in results if isinstance(r, BaseException)]
    with open(args.out, "w") as f:
        f.write("# start_ns=%d end_ns=%d protocol=%s sessions=%d count=%d tag=%s\n" % (
            start, end, "lmtp" if args.lmtp else "smtp", args.sessions, args.count, args.tag))
        for r in sorted(rows):
            f.write("%d\t%d\t%d\t%d\n" % r)
    for e in errors:
        print("inject: a session failed: %s" % e, file=sys.stderr)
    secs = (end - start) / 1e9
    print("inject %s: %d messages in %.2f s (%.0f/s), %d not 250, %d sessions failed" % (
        args.tag, len(rows), secs, len(rows) / secs if secs else 0, state["failed"], len(errors)))
    return 0 if not errors and not state["failed"] and len(rows) == args.count else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--lmtp", action="store_true", help="speak LMTP (LHLO) instead of SMTP (EHLO)")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--tag", required=True, help="Message-IDs are <TAG.SEQ@bench.charter.localhost>")
    ap.add_argument("--rcpt", action="append", required=True)
    ap.add_argument("--size", type=int, default=600, help="body bytes, about")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
