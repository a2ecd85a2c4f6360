"""Delivers one message to Charter's mail listener with Python's smtplib and
prints every reply, one per line, for mail_test.sh:

    MAIL <code> <text>
    RCPT <address> <code> <text>
    DATA <code> <text>          (LMTP: one DATA line per accepted recipient)

usage: mail_send.py PORT smtp|lmtp FROM TO[,TO...] [SIZE] < message
FROM "" is the null sender <>. SIZE, when given, is sent as MAIL's SIZE=.
"""
import smtplib
import sys


def line(*parts):
    print(" ".join(str(p) for p in parts), flush=True)


def text(b):
    return b.decode("utf-8", "replace").replace("\n", " ")


def main():
    port, proto, sender, rcpts = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4].split(",")
    size = sys.argv[5] if len(sys.argv) > 5 else None
    msg = sys.stdin.buffer.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    cls = smtplib.LMTP if proto == "lmtp" else smtplib.SMTP
    s = cls("127.0.0.1", port, local_hostname="mail-test.localhost")
    s.sock.settimeout(120)
    code, resp = s.ehlo()  # LMTP: LHLO
    if code != 250:
        line("HELLO", code, text(resp))
        return
    opts = ["SIZE=%s" % size] if size else []
    code, resp = s.mail(sender, opts)
    line("MAIL", code, text(resp))
    if code != 250:
        s.quit()
        return
    ok = []
    for r in rcpts:
        code, resp = s.rcpt(r)
        line("RCPT", r, code, text(resp))
        if code == 250:
            ok.append(r)
    if not ok:
        s.quit()
        return
    try:
        code, resp = s.data(msg)
    except smtplib.SMTPDataError as e:
        code, resp = e.smtp_code, e.smtp_error
    line("DATA", code, text(resp))
    if proto == "lmtp" and code != 354:
        for _ in ok[1:]:
            code, resp = s.getreply()
            line("DATA", code, text(resp))
    s.quit()


main()
