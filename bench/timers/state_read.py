#!/usr/bin/env python3
# Issue 16 experiment: Redis time to read 20,000 case states (about 280 B of
# JSON each) in claim-sized MGETs of 200 (INFO commandstats), the extra Redis
# work of a burst if the fired event is rebuilt from the case state. Own
# redis-server (loopback, free port), stopped by its PID.
import os, socket, subprocess, tempfile, time
with socket.socket() as s:
    s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
d = tempfile.mkdtemp(prefix="charter-stateread.")
srv = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no", "--dir", d], stdout=open(d + "/log", "w"))
def cli(*a):
    return subprocess.run(["redis-cli", "-p", str(port)] + list(a), capture_output=True, text=True).stdout
for _ in range(100):
    if cli("PING").strip() == "PONG": break
    time.sleep(0.05)
def resp(*args):
    out = b"*%d\r\n" % len(args)
    for x in args:
        x = x.encode() if isinstance(x, str) else x
        out += b"$%d\r\n%s\r\n" % (len(x), x)
    return out
state = ('{"organisation":"derby-homes","channel":"email","case_type":"enquiry","reference":"DH-0001234",'
         '"received_ms":1796000000000,"acknowledged_ms":0,"paused_since_ms":0,"pauses":[],"extended_to_ms":0,'
         '"arrived_ms":0,"appointment_ms":0,"responded":0,"closed":0,"seen":0,"escalated":0}')
keys = ["charter:case:{%08x-0000-4000-8000-%012x}:sla" % (i, i) for i in range(20000)]
try:
    p = subprocess.Popen(["redis-cli", "-p", str(port), "--pipe"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    p.stdin.write(b"".join(resp("SET", k, state) for k in keys)); p.stdin.close(); p.wait()
    for rnd in range(3):
        cli("CONFIG", "RESETSTAT")
        p = subprocess.Popen(["redis-cli", "-p", str(port), "--pipe"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        p.stdin.write(b"".join(resp("MGET", *keys[i:i + 200]) for i in range(0, 20000, 200))); p.stdin.close(); p.wait()
        st = [l for l in cli("INFO", "commandstats").splitlines() if l.startswith("cmdstat_mget")]
        print(len(state), "B state;", st[0])
finally:
    srv.terminate(); srv.wait()
