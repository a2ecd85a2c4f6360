#!/usr/bin/python3
"""Raw-socket HTTP clients for http_limits_test.sh: what curl cannot send
(a head trickled a byte at a time, a body announced and never sent, 5,000
idle connections). Each prints one line: the answer's status (0 when the
server closed without one), the seconds it took, and the error code of a
JSON answer.

  http_probe.py big-headers PORT BYTES          one header of BYTES bytes
  http_probe.py many-headers PORT COUNT         COUNT small headers
  http_probe.py slow-headers PORT SECONDS       a header byte a second, for up to SECONDS
  http_probe.py slow-body PORT PATH SECONDS     a 200-byte body, a byte a second
  http_probe.py announce-body PORT PATH LENGTH  Content-Length LENGTH, no body sent
  http_probe.py flood PORT COUNT HOLD_S READY   COUNT idle connections held HOLD_S
                                                seconds; writes READY once opened
"""
import json
import select
import socket
import sys
import time


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def answer(s, started, wait=60):
    """Reads until the server closes or an answer with its body is in."""
    s.settimeout(wait)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v.strip())
                if len(body) >= length:
                    break
    except (ConnectionResetError, socket.timeout):
        pass
    status, code = 0, ""
    if data.startswith(b"HTTP/"):
        status = int(data.split(b" ", 2)[1])
        body = data.partition(b"\r\n\r\n")[2]
        try:
            code = json.loads(body)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = ""
    print("%d %.1f %s" % (status, time.monotonic() - started, code or "-"))


def send_all(s, data):
    """Sends what the server takes; a server that stopped reading and
    closed ends the sending, not the probe."""
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass


def trickle(s, data, seconds):
    """One byte a second until data or seconds run out, or the server closes."""
    for b in data[:seconds]:
        r, _, _ = select.select([s], [], [], 0)
        if r:
            return
        try:
            s.send(bytes([b]))
        except (BrokenPipeError, ConnectionResetError):
            return
        time.sleep(1)


def main():
    what, port = sys.argv[1], int(sys.argv[2])
    started = time.monotonic()
    if what == "big-headers":
        s = connect(port)
        send_all(s, b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * int(sys.argv[3]) + b"\r\n\r\n")
        answer(s, started)
    elif what == "many-headers":
        s = connect(port)
        hs = b"".join(b"X-H%d: v\r\n" % i for i in range(int(sys.argv[3])))
        send_all(s, b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + hs + b"\r\n")
        answer(s, started)
    elif what == "slow-headers":
        s = connect(port)
        s.sendall(b"GET /healthz HTTP/1.1\r\n")
        trickle(s, b"X-Slow: " + b"a" * 1000 + b"\r\n\r\n", int(sys.argv[3]))
        answer(s, started)
    elif what == "slow-body":
        s = connect(port)
        s.sendall(b"POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 200\r\n\r\n" % sys.argv[3].encode())
        trickle(s, b"{" + b" " * 198 + b"}", int(sys.argv[4]))
        answer(s, started)
    elif what == "announce-body":
        s = connect(port)
        s.sendall(b"POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % (sys.argv[3].encode(), int(sys.argv[4])))
        answer(s, started, wait=10)
    elif what == "flood":
        count, hold, ready = int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
        socks = []
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            socks.append(s)
        with open(ready, "w") as f:
            f.write("%d\n" % len(socks))
        time.sleep(hold)
        for s in socks:
            s.close()
        print("0 %.1f flood" % (time.monotonic() - started))
    else:
        sys.exit("unknown probe " + what)


if __name__ == "__main__":
    main()
