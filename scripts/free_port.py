#!/usr/bin/env python3
"""Prints a loopback port nothing listens on, chosen outside the kernel's
ephemeral range (ip_local_port_range): a port the kernel hands out by bind(0)
can be taken by any outgoing connection between the choice and the service's
own bind; ports below that range are only ever taken by a listener. Used by
scripts/kafka.sh and the integration tests (tests/integration/stack.sh)."""
import random
import socket

try:
    lo, hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
except OSError:
    lo, hi = 32768, 60999
pool = range(10000, lo) if lo > 11000 else range(hi + 1, 65536)
for _ in range(500):
    port = random.choice(pool) if len(pool) else 0
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        print(s.getsockname()[1])
        break
    except OSError:
        pass
    finally:
        s.close()
