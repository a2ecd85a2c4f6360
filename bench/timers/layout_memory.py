#!/usr/bin/env python3
# Issue 16 experiment: Redis memory per pending timer in candidate layouts,
# script-filled (no Charter code), as used_memory delta / N on a redis-server
# of its own (loopback, free port, no persistence; stopped by its PID).
# Usage: layout_memory.py [N] [layout ...]; layouts: today, zset_text,
# zset_bin17, bucket_bin17. docs/benchmarks.md ("Issue 16: before, and ten million pending").
import os, socket, tempfile, subprocess, sys, time, uuid, struct, random
N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
P = 6
with socket.socket() as s:
    s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
d = tempfile.mkdtemp(prefix="charter-layout.")
srv = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no", "--dir", d], stdout=open(d + "/log", "w"))
def cli(*a):
    return subprocess.run(["redis-cli", "-p", str(port)] + list(a), capture_output=True, text=True).stdout
for _ in range(100):
    if cli("PING").strip() == "PONG": break
    time.sleep(0.05)
def used():
    for l in cli("INFO", "memory").splitlines():
        if l.startswith("used_memory:"): return int(l.split(":")[1])
def resp(*args):
    out = b"*%d\r\n" % len(args)
    for x in args:
        if isinstance(x, str): x = x.encode()
        out += b"$%d\r\n%s\r\n" % (len(x), x)
    return out
kinds = ["acknowledgement_due", "breach"]
payload = os.urandom(66)
rnd = random.Random(1)
def fill(layout):
    cli("FLUSHALL", "SYNC"); time.sleep(0.3)
    before = used()
    p = subprocess.Popen(["redis-cli", "-p", str(port), "--pipe"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    buf = []
    base = 1796000000000
    for i in range(N):
        u = uuid.UUID(int=rnd.getrandbits(128), version=4)
        k = i & 1
        part = i % P
        due = str(base + i * 37)
        text = "%s/%s" % (u, kinds[k])
        binid = u.bytes + bytes([k])
        if layout == "today":
            buf.append(resp("ZADD", "charter:{t%d}:due" % part, due, text))
            buf.append(resp("HSET", "charter:{t%d}:timers" % part, text, payload))
        elif layout == "zset_text":
            buf.append(resp("ZADD", "charter:{t%d}:due" % part, due, text))
        elif layout == "zset_bin17":
            buf.append(resp("ZADD", "charter:{t%d}:due" % part, due, binid))
        elif layout == "bucket_bin17":
            # small sorted sets (listpack): due set per partition and 10-minute
            # bucket isn't bounded; use 8192 hash buckets per partition instead
            buf.append(resp("ZADD", "charter:{t%d}:due:%d" % (part, i % 8192), due, binid))
        if len(buf) >= 10000:
            p.stdin.write(b"".join(buf)); buf = []
    p.stdin.write(b"".join(buf)); p.stdin.close(); p.wait()
    time.sleep(0.5)
    after = used()
    print("%-13s %8.1f B/timer  keys %s" % (layout, (after - before) / N, cli("DBSIZE").strip()), flush=True)
try:
    for l in sys.argv[2:] or ["today", "zset_text", "zset_bin17", "bucket_bin17"]:
        fill(l)
finally:
    srv.terminate(); srv.wait()
