#!/usr/bin/env python3
"""Summary of a bench-ingest run: per-round figures, medians, ratio, and the
persistence check (records on the topic vs 202 answers).

Usage: summarise.py RESULTS.jsonl METRICS.txt APPENDED RETAINED READ DISTINCT_KEYS CONNECTIONS
(BROKER_LABEL in the environment: the Kafka the run wrote to, for the header;
PEER_STATS: the Node.js peer's GET /stats answer, {"accepted": N}, whose 202s
are on the same topic; BEFORE_METRICS: the /metrics of the INGEST_BEFORE ingest,
whose rounds are before-N and beforeparse-N, and BEFORE_LABEL its binary.)
"""
import json
import os
import statistics
import sys


def metric(path, name):
    for line in open(path):
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return int(float(line.split()[-1]))
    return 0


def persisting(name):
    """A run whose 202s are records: ingest's and the peer's, warm-ups included."""
    return "ingest" in name or "peer" in name or name in ("warmup-before",) or \
        name.startswith("before-")


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    accepted = metric(sys.argv[2], "charter_ingest_accepted_total")
    # writes Kafka confirmed after their request was answered 503 (none unless a round
    # timed out): on the topic too, though wrk saw no 202 for them
    late = metric(sys.argv[2], "charter_ingest_late_writes_total")
    before_metrics = os.environ.get("BEFORE_METRICS")
    before_accepted = 0
    if before_metrics:
        before_accepted = metric(before_metrics, "charter_ingest_accepted_total")
        late += metric(before_metrics, "charter_ingest_late_writes_total")
    appended, retained, records, distinct, conns = (int(a) for a in sys.argv[3:8])

    if os.environ.get("BROKER_LABEL"):
        print("\nKafka: %s" % os.environ["BROKER_LABEL"])
    print("\n%-14s %10s %9s %9s %9s  %-28s %s" % ("run", "req/s", "p50 ms", "p90 ms", "p99 ms",
                                               "CPU % of a core", "statuses / errors"))
    for r in rows:
        res = r["result"]
        errs = {k: v for k, v in res["errors"].items() if v}
        c = r.get("cpu_pct", {})
        cpu = ("nginx %d" % c.get("nginx", 0) if "nginx" in r["name"] else
               "peer %d redis %d broker %d" % (c.get("peer", 0), c.get("redis", 0), c.get("broker", 0))
               if "peer" in r["name"] else
               "ingest %d redis %d broker %d" % (c.get("ingest", 0), c.get("redis", 0), c.get("broker", 0)))
        print("%-14s %10.0f %9.2f %9.2f %9.2f  %-28s %s%s%s" % (
            r["name"], res["rps"], res["p50_ms"], res["p90_ms"], res["p99_ms"], cpu,
            json.dumps(res["statuses"], sort_keys=True), " errors=" + json.dumps(errs) if errs else "",
            " WRAPPED=%d" % res["wrapped"] if res["wrapped"] and persisting(r["name"]) else ""))

    def med(kind, key):
        return statistics.median(r["result"][key] for r in rows if r["name"].startswith(kind + "-")
                                 and not r["name"].startswith("warmup"))

    ing = {k: med("ingest", k) for k in ("rps", "p50_ms", "p99_ms")}
    ngx = {k: med("nginx", k) for k in ("rps", "p50_ms", "p99_ms")}
    ratio = ing["rps"] / ngx["rps"]
    n = sum(1 for r in rows if r["name"].startswith("ingest-"))
    has_peer = any(r["name"].startswith("peer-") for r in rows)
    print("\nmedians of %d rounds     req/s     p50 ms    p99 ms" % n)
    print("ingest (POST contact) %9.0f %10.2f %9.2f" % (ing["rps"], ing["p50_ms"], ing["p99_ms"]))
    if has_peer:
        peer = {k: med("peer", k) for k in ("rps", "p50_ms", "p99_ms")}
        print("Node.js peer          %9.0f %10.2f %9.2f" % (peer["rps"], peer["p50_ms"], peer["p99_ms"]))
    print("nginx (return 204)    %9.0f %10.2f %9.2f" % (ngx["rps"], ngx["p50_ms"], ngx["p99_ms"]))
    if has_peer:
        pr = ing["rps"] / peer["rps"]
        print("ratio ingest/peer     %8.2fx   (target >= 6x: %s); p99 ingest %.2f ms vs peer %.2f ms"
              " (target lower: %s)" % (pr, "met" if pr >= 6 else "MISSED", ing["p99_ms"],
                                       peer["p99_ms"], "met" if ing["p99_ms"] < peer["p99_ms"] else "MISSED"))
        ratios = [ri["result"]["rps"] / rp["result"]["rps"] for ri, rp in zip(
            [r for r in rows if r["name"].startswith("ingest-")],
            [r for r in rows if r["name"].startswith("peer-")])]
        print("  per round ingest/peer: %s" % ", ".join("%.2fx" % x for x in ratios))
    has_before = any(r["name"].startswith("before-") for r in rows)
    if has_before:
        bef = {k: med("before", k) for k in ("rps", "p50_ms", "p99_ms")}
        print("BEFORE ingest         %9.0f %10.2f %9.2f  (%s)" % (
            bef["rps"], bef["p50_ms"], bef["p99_ms"], os.environ.get("BEFORE_LABEL", "")))
        print("ratio ingest/BEFORE   %8.2fx" % (ing["rps"] / bef["rps"]))
        pairs = list(zip([r for r in rows if r["name"].startswith("ingest-")],
                         [r for r in rows if r["name"].startswith("before-")]))
        print("  per round ingest/BEFORE: %s" % ", ".join(
            "%.2fx" % (a["result"]["rps"] / b["result"]["rps"]) for a, b in pairs))
        if has_peer:
            print("ratio BEFORE/peer     %8.2fx; p99 BEFORE %.2f ms" % (bef["rps"] / peer["rps"],
                                                                     bef["p99_ms"]))
    print("ratio ingest/nginx    %8.1f%%   (target >= 40%%: %s)" % (
        100 * ratio, "met" if ratio >= 0.40 else "MISSED by %.1f points" % (100 * (0.40 - ratio))))

    # Parse-only rounds: ingest answering 422 (unknown organisation) before Redis and Kafka.
    parse = [r["result"] for r in rows if r["name"].startswith("parseonly-")]
    parse_ok = True
    if parse:
        prps = statistics.median(res["rps"] for res in parse)
        p99 = statistics.median(res["p99_ms"] for res in parse)
        parse_ok = all(set(res["statuses"]) == {"422"} for res in parse)
        print("ingest parse-only     %9.0f %10s %9.2f  = %.1f%% of nginx: authenticated, parsed and "
              "validated, answered 422 before Redis and Kafka%s" % (
                  prps, "", p99, 100 * prps / ngx["rps"],
                  "" if parse_ok else " (UNEXPECTED statuses: %s)" % json.dumps(
                      [res["statuses"] for res in parse])))
        print("ingest / its parse-only rate %6.1f%%   (target >= 75%%: %s)" % (
            100 * ing["rps"] / prps, "met" if ing["rps"] >= 0.75 * prps else "MISSED"))
    bparse = [r["result"] for r in rows if r["name"].startswith("beforeparse-")]
    if bparse and has_before:
        bprps = statistics.median(res["rps"] for res in bparse)
        parse_ok = parse_ok and all(set(res["statuses"]) == {"422"} for res in bparse)
        print("BEFORE parse-only     %9.0f %10s %9.2f; BEFORE / its parse-only rate %.1f%%" % (
            bprps, "", statistics.median(res["p99_ms"] for res in bparse),
            100 * bef["rps"] / bprps))

    # Persistence: every request ingest answered 202 is a record on the topic.
    peer_accepted = 0
    if os.environ.get("PEER_STATS") and os.path.exists(os.environ["PEER_STATS"]):
        peer_accepted = json.load(open(os.environ["PEER_STATS"]))["accepted"]
    ingest_rows = [r["result"] for r in rows if persisting(r["name"])]
    wrapped = [r["name"] for r in rows if persisting(r["name"]) and r["result"]["wrapped"]]
    wrk202 = sum(res["statuses"].get("202", 0) for res in ingest_rows)
    other = {}
    for res in ingest_rows:
        for s, c in res["statuses"].items():
            if s != "202":
                other[s] = other.get(s, 0) + c
    errors = sum(sum(res["errors"].values()) - res["errors"]["status"] for res in ingest_rows)
    inflight = accepted + before_accepted + peer_accepted - wrk202
    print("\npersistence (all %d ingest and peer runs, warm-ups included):" % len(ingest_rows))
    print("  202 answers seen by wrk           %d" % wrk202)
    print("  non-202 answers seen by wrk       %s" % (json.dumps(other) if other else "none"))
    print("  socket errors/timeouts (wrk)      %d" % errors)
    print("  202s sent by ingest (/metrics)    %d" % accepted)
    if before_metrics:
        print("  202s sent by BEFORE (/metrics)    %d" % before_accepted)
    if peer_accepted:
        print("  202s sent by the peer (/stats)    %d" % peer_accepted)
    print("  records appended to charter.contact.events.v1 (end offsets, kcat) %d" % appended)
    print("  records still on the topic %d (offsets), read back %d, distinct case ids %d"
          % (retained, records, distinct))
    print("  answered after wrk stopped        %d (requests in flight at the end of a run;"
          " at most %d per run)" % (inflight, conns))
    if late:
        print("  confirmed after a 503 (late)      %d" % late)
    if wrapped:
        print("  runs that ran out of distinct requests (repeats answered 200): %s; raise HEADROOM"
              % ", ".join(wrapped))
    ok = (appended == accepted + before_accepted + peer_accepted + late and retained == records == distinct and not other
          and 0 <= inflight <= conns * len(ingest_rows))
    print("  every 202 persisted exactly once: %s" % ("yes" if ok else "NO"))
    sys.exit(0 if ok and parse_ok else 1)


if __name__ == "__main__":
    main()
