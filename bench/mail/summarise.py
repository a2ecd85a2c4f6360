#!/usr/bin/env python3
"""bench-mail's arithmetic (bench/mail/README.md).

  summarise.py sink DIR TAG      the smtp-sink dump files of TAG's messages in
                                 DIR as "TAG SEQ mtime_ns" lines (the sink's
                                 end of DATA: the file's last write)
  summarise.py report WORK N     every phase of the run in WORK (results.jsonl,
                                 inject-TAG.tsv, events.txt, arrivals-TAG.txt):
                                 per-round figures, medians, ratios; exits 1 if
                                 a message's event is missing or doubled

Latency of a message = its arrival - the instant its DATA ended at the client
that injected it (inject.py's end_ns). Arrival: for Charter, the Kafka
record's timestamp (CreateTime, ms: ingest stamps it as it produces; the 250
waits for the broker's confirmation); for smtp-sink, the dump file's mtime.
Messages per second = N / (last arrival - the injector's start).
"""
import json
import math
import os
import re
import statistics
import sys

# tags are rN-...: the byte before a string in a protobuf is its length, which may
# itself be a letter or digit; a tag starting "r<digit>" cannot take it in
TOKEN = re.compile(rb"(r[0-9]+-[A-Za-z0-9-]+)\.([0-9]+)@bench\.charter\.localhost")


def cmd_sink(d, tag):
    for name in os.listdir(d):
        path = os.path.join(d, name)
        with open(path, "rb") as f:
            m = TOKEN.search(f.read())
        if m and m.group(1).decode() == tag:
            print("%s %s %d" % (tag, m.group(2).decode(), os.stat(path).st_mtime_ns))
    return 0


def pct(xs, p):
    xs = sorted(xs)
    return xs[max(0, math.ceil(p * len(xs)) - 1)] if xs else float("nan")


def load_inject(path):
    with open(path) as f:
        head = f.readline()
        meta = dict(kv.split("=", 1) for kv in head[1:].split())
        rows = {}
        for line in f:
            seq, end, rep, code = line.split()
            rows[int(seq)] = (int(end), int(rep), int(code))
    return int(meta["start_ns"]), int(meta["end_ns"]), rows


def load_events(path):
    """tag -> seq -> [record ms, seen ns, count]"""
    ev = {}
    if not os.path.exists(path):
        return ev
    for line in open(path):
        tag, seq, ts, seen = line.split()
        d = ev.setdefault(tag, {})
        cur = d.get(seq)
        if cur is None:
            d[seq] = [int(ts), int(seen), 1]
        else:
            cur[0] = min(cur[0], int(ts))
            cur[1] = min(cur[1], int(seen))
            cur[2] += 1
    return ev


def cmd_report(work, n):
    rows = [json.loads(line) for line in open(os.path.join(work, "results.jsonl")) if line.strip()]
    events = load_events(os.path.join(work, "events.txt"))
    problems = []
    out = []
    for r in rows:
        tag, target = r["tag"], r["target"]
        res = {"phase": r["phase"], "round": r["round"], "target": target, "cpu": r.get("cpu_pct", {})}
        if r["phase"] == "source":
            secs = (r["end_ns"] - r["start_ns"]) / 1e9
            res["mps"] = n / secs
            if target.startswith("charter"):
                got = len(events.get(tag, {}))
                if got != n:
                    problems.append("%s: %d of %d events on Kafka" % (tag, got, n))
            out.append(res)
            continue
        start, inj_end, inj = load_inject(os.path.join(work, "inject-%s.tsv" % tag))
        bad = sum(1 for v in inj.values() if v[2] != 250)
        if len(inj) != n or bad:
            problems.append("%s: %d messages injected, %d not answered 250" % (tag, len(inj), bad))
        if target.startswith("charter"):
            ev = events.get(tag, {})
            arrivals = {int(s): v[0] * 1_000_000 for s, v in ev.items()}
            seen = {int(s): v[1] for s, v in ev.items()}
            dups = sum(v[2] - 1 for v in ev.values())
            if dups:
                problems.append("%s: %d events on Kafka more than once" % (tag, dups))
            res["seen_p99_ms"] = pct([(seen[s] - inj[s][0]) / 1e6 for s in seen if s in inj], 0.99)
        elif r["phase"] == "direct":
            arrivals = {s: v[1] for s, v in inj.items()}  # the sink's 250 (its file time is coarse)
        else:
            arrivals = {}
            for line in open(os.path.join(work, "arrivals-%s.txt" % tag)):
                _, seq, ns = line.split()
                arrivals[int(seq)] = int(ns)
        missing = [s for s in inj if s not in arrivals]
        if missing or len(arrivals) != n:
            problems.append("%s: %d of %d messages arrived" % (tag, len(arrivals), n))
        lat = [(arrivals[s] - inj[s][0]) / 1e6 for s in arrivals if s in inj]
        if r["phase"] == "queued":
            # from the release of the held burst: how long until each message arrived
            t0 = r["release_ns"]
            lat = [(a - t0) / 1e6 for a in arrivals.values()]
        else:
            t0 = start
        res["mps"] = n / ((max(arrivals.values()) - t0) / 1e9) if arrivals else 0
        if r["phase"] == "direct":  # both sides alike: until the last 250 (Charter's: on Kafka)
            res["mps"] = n / ((max(v[1] for v in inj.values()) - start) / 1e9)
        res["inject_mps"] = n / ((inj_end - start) / 1e9)
        res["p50_ms"], res["p99_ms"], res["max_ms"] = pct(lat, 0.5), pct(lat, 0.99), max(lat or [0])
        res["reply_p99_ms"] = pct([(v[1] - v[0]) / 1e6 for v in inj.values()], 0.99)
        out.append(res)

    if os.environ.get("BROKER_LABEL"):
        print("\nKafka: %s" % os.environ["BROKER_LABEL"])
    print("\n%-8s %-5s %-13s %8s %9s %9s %9s %9s %10s  %s" % (
        "phase", "round", "target", "msg/s", "p50 ms", "p99 ms", "max ms", "inject/s", "250 p99", "CPU % of a core"))
    for x in out:
        c = x["cpu"]
        print("%-8s %-5d %-13s %8.0f %9s %9s %9s %9s %10s  ingest %d broker %d postfix %d" % (
            x["phase"], x["round"], x["target"], x["mps"],
            "%.1f" % x["p50_ms"] if "p50_ms" in x else "-", "%.1f" % x["p99_ms"] if "p99_ms" in x else "-",
            "%.1f" % x["max_ms"] if "max_ms" in x else "-",
            "%.0f" % x["inject_mps"] if "inject_mps" in x else "-",
            "%.1f" % x["reply_p99_ms"] if "reply_p99_ms" in x else "-",
            c.get("ingest", 0), c.get("broker", 0), c.get("postfix", 0)))

    def med(phase, target, key):
        xs = [x[key] for x in out if x["phase"] == phase and x["target"] == target and key in x]
        return statistics.median(xs) if xs else float("nan")

    rounds = len({x["round"] for x in out})
    print("\nmedians of %d rounds, %d messages a burst. Latency from the end of DATA (queued: from"
          "\nthe release) to the event: p50/p99 by the Kafka record's timestamp (ingest's produce)"
          "\nor the sink's file; seen p99: when a consumer had the record (fetch wait <= 10 ms);"
          "\n(an upper bound: a Python consumer on the same 2 cores); 250 p99: the injecting"
          "\nclient's answer (through Postfix: Postfix's smtpd queued it; straight into Charter:"
          "\nKafka confirmed it)"
          % (rounds, n))
    print("%-44s %8s %9s %9s %9s %9s" % ("", "msg/s", "p50 ms", "p99 ms", "seen p99", "250 p99"))
    labels = {
        ("postfix", "charter-lmtp"): "Postfix -> Charter (LMTP), event on Kafka",
        ("postfix", "sink-lmtp"): "Postfix -> smtp-sink (LMTP)",
        ("postfix", "charter-smtp"): "Postfix -> Charter (SMTP), event on Kafka",
        ("postfix", "sink-smtp"): "Postfix -> smtp-sink (SMTP)",
        ("queued", "charter-lmtp"): "Postfix queue released -> Charter (LMTP)",
        ("queued", "sink-lmtp"): "Postfix queue released -> smtp-sink (LMTP)",
        ("queued", "charter-smtp"): "Postfix queue released -> Charter (SMTP)",
        ("queued", "sink-smtp"): "Postfix queue released -> smtp-sink (SMTP)",
        ("direct", "charter-lmtp"): "client -> Charter (LMTP), event on Kafka",
        ("direct", "sink-lmtp"): "client -> smtp-sink (LMTP)",
        ("direct", "charter-smtp"): "client -> Charter (SMTP), event on Kafka",
        ("direct", "sink-smtp"): "client -> smtp-sink (SMTP)",
        ("source", "charter-lmtp"): "smtp-source -> Charter (LMTP)",
        ("source", "sink-lmtp"): "smtp-source -> smtp-sink (LMTP)",
        ("source", "charter-smtp"): "smtp-source -> Charter (SMTP)",
        ("source", "sink-smtp"): "smtp-source -> smtp-sink (SMTP)",
    }
    for (phase, target), label in labels.items():
        if not any(x["phase"] == phase and x["target"] == target for x in out):
            continue
        p50, p99 = med(phase, target, "p50_ms"), med(phase, target, "p99_ms")
        rep = med(phase, target, "reply_p99_ms")
        if phase == "direct" and target.startswith("sink"):
            p50 = p99 = float("nan")  # the sink's file time is the kernel's coarse clock: the 250 tells
        if phase in ("queued", "source"):
            rep = float("nan")  # the injection's answers: Postfix's, not the target's / not timed
        seen = med(phase, target, "seen_p99_ms") if phase != "queued" else float("nan")
        print("%-44s %8.0f %9s %9s %9s %9s" % (label, med(phase, target, "mps"),
                                                "-" if math.isnan(p50) else "%.1f" % p50,
                                                "-" if math.isnan(p99) else "%.1f" % p99,
                                                "-" if math.isnan(seen) else "%.1f" % seen,
                                                "-" if math.isnan(rep) else "%.1f" % rep))
    print("\nratios, Charter / smtp-sink (messages per second, medians):")
    for phase, what in (("postfix", "Postfix, live burst"), ("queued", "Postfix, queued burst"),
                        ("direct", "timing client"),
                        ("source", "smtp-source")):
        for proto in ("lmtp", "smtp"):
            c, s = med(phase, "charter-" + proto, "mps"), med(phase, "sink-" + proto, "mps")
            if not (math.isnan(c) or math.isnan(s)):
                print("  %-20s %s  %5.1f%%" % (what, proto.upper(), 100 * c / s))
    if problems:
        print("\nPROBLEMS:")
        for p in problems:
            print("  " + p)
        return 1
    print("\nevery message answered 250 and its event (or sink file) found exactly once")
    return 0


def main():
    if sys.argv[1] == "sink":
        return cmd_sink(sys.argv[2], sys.argv[3])
    if sys.argv[1] == "report":
        return cmd_report(sys.argv[2], int(sys.argv[3]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
