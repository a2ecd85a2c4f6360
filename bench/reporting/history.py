#!/usr/bin/python3
"""The Redis side of `make bench-reporting-history` (README.md, "History").

  history.py template PORT                       what the real service wrote (db 0)
  history.py fill PORT MONTHS DB_NEW DB_OLD      a history of MONTHS months in both layouts
  history.py quiet PORT SECONDS                  waits until Redis has run no command
                                                 for SECONDS (the service idle)
  history.py measure PORT URL N                  Redis time of N requests to URL (JSON line)

A minimal RESP client (no redis-py on the machine), so nothing here is more
than sockets. `fill` copies the figures the real charter-reporting computed
for September to November 2026 (db 0, the per-period layout) into a history
of MONTHS months ending November 2026, month after month (each month of the
history takes one of the three months' figures, its days by day of month,
and each year the sum of its months): in db DB_NEW as this branch's layout
writes it (one hash per organisation and period, the periods index, the
layout mark), and in db DB_OLD as main's layout writes it (the same fields
in one hash per organisation). Both get the same counts, open cases and
publications (COPY from db 0), so the two services answer the same figures.
"""
import json
import socket
import statistics
import sys
import time
import urllib.request


class Redis:
    def __init__(self, port, db=0):
        self.s = socket.create_connection(("127.0.0.1", int(port)))
        self.f = self.s.makefile("rb")
        if db:
            self.call("SELECT", db)

    def send(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))

    def read(self):
        line = self.f.readline()
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data.decode()
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)

    def call(self, *args):
        self.send(*args)
        return self.read()

    def pipeline(self, cmds):
        for i in range(0, len(cmds), 1000):
            chunk = cmds[i:i + 1000]
            for c in chunk:
                self.send(*c)
            for _ in chunk:
                self.read()


def pairs(flat):
    return dict(zip(flat[::2], flat[1::2]))


def scan(r, pattern):
    cur, keys = "0", []
    while True:
        cur, page = r.call("SCAN", cur, "MATCH", pattern, "COUNT", 1000)
        keys += page
        if cur == "0":
            return keys


def org_of(key):
    return key[key.index("{") + 1:key.index("}")]


def days_in_month(y, m):
    return [31, 29 if y % 4 == 0 and (y % 100 or y % 400 == 0) else 28, 31, 30, 31, 30, 31, 31,
            30, 31, 30, 31][m - 1]


TEMPLATE = ["2026-09", "2026-10", "2026-11"]


def template(port):
    """The template: per organisation, per template month, its month hash and day hashes."""
    r = Redis(port)
    t = {}
    for idx in scan(r, "charter:report:{*}:periods"):
        org = org_of(idx)
        t[org] = {}
        for month in TEMPLATE:
            days = {}
            for d in range(1, days_in_month(2026, int(month[5:])) + 1):
                h = pairs(r.call("HGETALL", "charter:report:{%s}:figures:%s-%02d" % (org, month, d)))
                if h:
                    days[d] = h
            t[org][month] = (pairs(r.call("HGETALL", "charter:report:{%s}:figures:%s" % (org, month))), days)
    return t


def renamed(h, period):
    return {period + k[k.index("|"):]: int(v) for k, v in h.items()}


def fill(port, months, db_new, db_old):
    t = template(port)
    r0 = Redis(port)
    new, old = Redis(port, db_new), Redis(port, db_old)
    new.call("FLUSHDB")
    old.call("FLUSHDB")
    fields = 0
    for org, tm in t.items():
        okey = "charter:report:{%s}:figures" % org
        idx = "charter:report:{%s}:periods" % org
        years = {}
        cmds_new, cmds_old = [], []

        def put(period, h, letter):
            nonlocal fields
            if not h:
                return
            flat = [x for kv in h.items() for x in kv]
            cmds_new.append(["HSET", "charter:report:{%s}:figures:%s" % (org, period)] + flat)
            cmds_new.append(["ZADD", idx, 0, "%s:%s" % (letter, period)])
            cmds_old.append(["HSET", okey] + flat)
            fields += len(h)

        for k in range(months):
            y, m = 2026, 11 - k
            while m < 1:
                m += 12
                y -= 1
            period = "%04d-%02d" % (y, m)
            mh, days = tm[TEMPLATE[2 - k % 3]]
            put(period, renamed(mh, period), "m")
            for d, dh in days.items():
                if d <= days_in_month(y, m):
                    put("%s-%02d" % (period, d), renamed(dh, "%s-%02d" % (period, d)), "d")
            yh = years.setdefault("%04d" % y, {})
            for f, v in renamed(mh, "%04d" % y).items():
                yh[f] = yh.get(f, 0) + v
        for year, yh in years.items():
            put(year, {f: v for f, v in yh.items() if v}, "y")
        new.pipeline(cmds_new)
        old.pipeline(cmds_old)
        for what in ("counts", "open", "publications"):
            key = "charter:report:{%s}:%s" % (org, what)
            for db in (db_new, db_old):
                r0.call("COPY", key, key, "DB", db, "REPLACE")
    new.call("SET", "charter:report:layout", "per-period")

    def memory(r, pattern):
        return sum(r.call("MEMORY", "USAGE", k, "SAMPLES", 0) or 0 for k in scan(r, pattern))

    print(json.dumps({"months": months, "organisations": len(t), "fields": fields,
                      "memory_bytes": {"per_period": memory(new, "charter:report:{*}:figures:*") +
                                       memory(new, "charter:report:{*}:periods"),
                                       "main": memory(old, "charter:report:{*}:figures")},
                      "old_hash_fields": {org_of(k): old.call("HLEN", k)
                                          for k in scan(old, "charter:report:{*}:figures")},
                      "new_keys": len(scan(new, "charter:report:{*}:figures:*"))}))


def quiet(port, seconds):
    """Until the total of commands Redis has run stays put for `seconds`."""
    r = Redis(port)

    def calls():
        info = r.call("INFO", "stats")
        return int(info.split("total_commands_processed:")[1].split()[0])

    deadline = time.time() + 120
    while time.time() < deadline:
        a = calls()
        time.sleep(seconds)
        if calls() == a + 1:  # our own INFO only
            return
    sys.exit("Redis did not go quiet")


IGNORED = {"slowlog", "config", "info", "ping"}


def measure(port, url, n):
    r = Redis(port)
    r.call("CONFIG", "SET", "slowlog-log-slower-than", 0)
    r.call("CONFIG", "SET", "slowlog-max-len", 100000)
    totals, maxes, counts, sizes = [], [], [], []
    for i in range(n + 2):
        r.call("SLOWLOG", "RESET")
        body = urllib.request.urlopen(url, timeout=120).read()
        entries = [e for e in r.call("SLOWLOG", "GET", 100000) if e[3][0].lower() not in IGNORED]
        if i < 2:
            continue  # warm-up
        usec = [e[2] for e in entries]
        totals.append(sum(usec))
        maxes.append(max(usec) if usec else 0)
        counts.append(len(usec))
        sizes.append(len(body))
    print(json.dumps({"requests": n, "redis_usec_median": statistics.median(totals),
                      "redis_usec_min": min(totals), "redis_usec_max": max(totals),
                      "largest_command_usec_median": statistics.median(maxes),
                      "commands": statistics.median(counts), "body_bytes": sizes[-1]}))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "template":
        print(json.dumps({org: {m: [len(v[0]), len(v[1])] for m, v in tm.items()}
                          for org, tm in template(sys.argv[2]).items()}))
    elif cmd == "fill":
        fill(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif cmd == "quiet":
        quiet(sys.argv[2], float(sys.argv[3]))
    elif cmd == "measure":
        measure(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit(__doc__)
