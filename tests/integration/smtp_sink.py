#!/usr/bin/python3
# A loopback SMTP server for notification tests (Debian's python3-aiosmtpd;
# run with /usr/bin/python3). Each accepted message is appended to LOG as one
# JSON line: {"n", "at_ms" (when the end of DATA arrived), "mail_from", "rcpt_tos", "message_id", "subject", "to",
# "date", "content_type", "body"} (body decoded). With --fail-first N the
# first N deliveries are answered "451 4.3.0 try again later" at the end of
# DATA (nothing logged for them; each counted in LOG + ".refused").
# With --hang-first N the first N deliveries (after any --fail-first) get no
# answer at all once the end of DATA has arrived, as a server that crashed or
# a network that dropped the answer: each is counted in LOG + ".hung" (its
# recipients, one JSON line) and never logged as delivered.
# With --dedupe-message-id a message whose Message-ID was seen before is
# accepted (250) and logged with "duplicate": true, as mailboxes that collapse
# repeats of a Message-ID do (Gmail does); otherwise "duplicate" is false.
# With --delay-ms N every RCPT TO waits N ms for its answer, as a slow relay
# does; it is first noted in LOG + ".rcpt" (the recipient, one JSON line), so
# a test can act while the answer is pending. (Not at the end of DATA: libcurl
# waits for that answer blocking, so nothing else happens meanwhile.)
# Usage: smtp_sink.py --port P --log FILE [--fail-first N] [--hang-first N]
#                     [--delay-ms N] [--dedupe-message-id] [--ready FILE]
import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, log, fail_first, dedupe, hang_first=0, delay_ms=0):
        self.log = log
        self.delay_ms = delay_ms
        self.hang_left = hang_first
        self.dedupe = dedupe
        self.seen = set()
        self.fail_left = fail_first
        self.n = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.delay_ms:
            with open(self.log + ".rcpt", "a") as f:
                f.write(json.dumps({"rcpt_to": address}) + "\n")
            await asyncio.sleep(self.delay_ms / 1000)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.fail_left > 0:
            self.fail_left -= 1
            with open(self.log + ".refused", "a") as f:
                f.write("451\n")
            return "451 4.3.0 try again later"
        if self.hang_left > 0:
            self.hang_left -= 1
            with open(self.log + ".hung", "a") as f:
                f.write(json.dumps({"rcpt_tos": envelope.rcpt_tos}) + "\n")
            await asyncio.sleep(3600)
            return "421 4.3.0 gave up"
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.n += 1
        mid = msg["Message-ID"]
        dup = self.dedupe and mid in self.seen
        self.seen.add(mid)
        rec = {
            "duplicate": bool(dup),
            "at_ms": int(time.time() * 1000),
            "n": self.n,
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "message_id": msg["Message-ID"],
            "subject": str(msg["Subject"]),
            "to": str(msg["To"]),
            "from": str(msg["From"]),
            "date": str(msg["Date"]),
            "content_type": msg.get_content_type(),
            "charset": msg.get_content_charset(),
            "body": msg.get_content(),
        }
        with open(self.log, "a") as f:
            f.write(json.dumps(rec) + "\n")
            f.flush()
            os.fsync(f.fileno())
        return "250 2.0.0 OK"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--hang-first", type=int, default=0)
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--dedupe-message-id", action="store_true")
    ap.add_argument("--ready")
    a = ap.parse_args()
    c = Controller(Sink(a.log, a.fail_first, a.dedupe_message_id, a.hang_first, a.delay_ms),
                   hostname="127.0.0.1", port=a.port)
    c.start()
    if a.ready:
        open(a.ready, "w").write("ready\n")
    loop = asyncio.new_event_loop()
    stop = loop.create_future()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, lambda: stop.done() or stop.set_result(None))
    loop.run_until_complete(stop)
    c.stop()


if __name__ == "__main__":
    main()
