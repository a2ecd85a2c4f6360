#!/usr/bin/python3
"""Summary of `make bench-reporting`: every round, the medians, and the ratio of
aggregation throughput to issue 7's 10,000 events/s.

  summarise.py RESULTS.jsonl RATE
"""
import json
import statistics
import sys


def main():
    path, rate = sys.argv[1], float(sys.argv[2])
    rounds = {}
    for line in open(path):
        rec = json.loads(line)
        rounds.setdefault(rec["round"], {})[rec["name"]] = rec
    rows = []
    for r in sorted(rounds):
        t = rounds[r]["throughput"]["result"]
        lat = rounds[r]["latency"]["result"]
        rows.append({
            "round": r,
            "events": t["events"],
            "eps": t["events_per_s"],
            "steady": t["steady_events_per_s"],
            "conflicts": t["conflicts"],
            "cpu": rounds[r]["throughput"]["cpu_pct"],
            "produced": lat["produced_rate"],
            "counted": lat["counted_rate"],
            "p50": lat["p50_ms"], "p99": lat["p99_ms"], "max": lat["max_ms"],
            "markers": lat["markers"], "unseen": lat["unseen"], "tail": lat["tail_s"],
            "lcpu": rounds[r]["latency"]["cpu_pct"],
        })
    med = lambda k: statistics.median(x[k] for x in rows)  # noqa: E731
    print()
    print("Throughput: events pre-loaded, aggregated from the first counted to the figures complete")
    print("| round | events | events/s | steady (10%-90%) events/s | conflicts retried | "
          "CPU reporting / redis % |")
    print("|---|---|---|---|---|---|")
    for x in rows:
        print("| %d | %s | %s | %s | %d | %d / %d |" % (
            x["round"], f"{x['events']:,}", f"{x['eps']:,.0f}", f"{x['steady']:,.0f}",
            x["conflicts"], x["cpu"]["reporting"], x["cpu"]["redis"]))
    print("| **median** | | **%s** | %s | | |" % (f"{med('eps'):,.0f}", f"{med('steady'):,.0f}"))
    print()
    print("Latency at %s events/s: marker produced -> figure on GET /v1/report" % f"{rate:,.0f}")
    print("| round | produced events/s | aggregated events/s meanwhile | markers (unseen) | "
          "p50 ms | p99 ms | max ms | waited after the producer stopped (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for x in rows:
        print("| %d | %s | %s | %d (%d) | %s | %s | %s | %.1f |" % (
            x["round"], f"{x['produced']:,.0f}", f"{x['counted']:,.0f}", x["markers"],
            x["unseen"], f"{x['p50']:,.1f}", f"{x['p99']:,.1f}", f"{x['max']:,.1f}", x["tail"]))
    print("| **median** | %s | %s | | **%s** | **%s** | %s | %.1f |" % (
        f"{med('produced'):,.0f}", f"{med('counted'):,.0f}", f"{med('p50'):,.1f}",
        f"{med('p99'):,.1f}", f"{med('max'):,.1f}", med("tail")))
    if any(x["unseen"] for x in rows):
        print("(an unseen marker counts with the time waited: any percentile at or above the unseen share is a lower bound)")
    print()
    ratio = med("eps") / 10000.0
    print("Aggregation throughput / 10,000 events/s (issue 7's rate): %.2fx (%s)" % (
        ratio, "headroom" if ratio >= 1 else "short of it"))


if __name__ == "__main__":
    main()
