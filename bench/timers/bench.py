#!/usr/bin/env python3
"""Charter's timer store vs BullMQ delayed jobs vs Sidekiq's scheduled set.

Starts one redis-server of its own (loopback, a free port, default hz, no
persistence), then, for each repetition and each figure, runs the three peers
one after the other against it with FLUSHALL between them (the order rotates
each repetition so no peer always runs first), and prints the medians and
Charter's ratio to each peer. Every child process runs with a time limit and
is stopped by its own PID; redis-server is stopped by its PID at the end.
With --kafka, Charter writes each fired timer to charter.sla.timers.v1 on that
Kafka and acknowledges it when Kafka confirms, as sla-timer does (the peers'
handlers are no-ops either way); without it Kafka is not on the path.
bench/timers/README.md explains each figure and why it is measured as it is.
"""
import argparse
import datetime
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = ["charter", "bullmq", "sidekiq"]

# (id, title, timers, options common to every peer)
FIGURES = [
    ("schedule_case", "scheduling, one call per case", 100_000, {"batch": 0}),
    ("schedule_batch", "scheduling, batched (1,000 per call)", 100_000, {"batch": 1000}),
    ("lateness", "lateness, 20,000 spread over 10 s", 20_000, {"batch": 1000}),
    ("burst", "burst, 20,000 due in one ms", 20_000, {"batch": 1000}),
    ("memory", "memory at 1,000,000 pending", 1_000_000, {"batch": 1000}),
]


class Redis:
    """A redis-server of our own, stopped by PID."""

    def __init__(self, workdir):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log = open(os.path.join(workdir, "redis.log"), "w")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", workdir,
             "--protected-mode", "yes", "--daemonize", "no"],
            stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(100):
            if self.cli("PING").strip() == "PONG":
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def cli(self, *args):
        r = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), *args],
                           capture_output=True, text=True, timeout=60)
        return r.stdout

    def used_memory(self):
        for line in self.cli("INFO", "memory").splitlines():
            if line.startswith("used_memory:"):
                return int(line.split(":")[1])
        raise RuntimeError("INFO memory has no used_memory")

    def drop_case_states(self):
        """Deletes every sla-timer case state ("charter:case:{...}:sla", which
        Charter's compact form saves per case, as sla-timer's case_sync does
        whatever the form) and returns how many: the memory figure per timer
        is given without them (they exist today, unchanged) and with them."""
        scan = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), "--scan",
                               "--pattern", "charter:case:*"],
                              capture_output=True, text=True, timeout=600).stdout.split()
        for i in range(0, len(scan), 1000):
            subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), "UNLINK",
                            *scan[i:i + 1000]], capture_output=True, timeout=60)
        return len(scan)

    def info(self, key):
        for line in self.cli("INFO").splitlines():
            if line.startswith(key + ":"):
                return line.split(":", 1)[1].strip()
        return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def run_bounded(cmd, env, limit_s, log_path):
    """Runs cmd in its own process group; on time-out kills that group (our
    own child's) and returns None. Returns the last JSON line of stdout."""
    with open(log_path, "a") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=log, text=True,
                             start_new_session=True)
        try:
            out, _ = p.communicate(timeout=limit_s)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            return {"ok": False, "error": "killed after %d s" % limit_s}
        except BaseException:  # Ctrl-C: the peer's group is ours to stop
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            raise
    for line in reversed(out.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {"ok": False, "error": "no result line (exit %d)" % p.returncode}


def peer_cmd(peer, a, fig, timers, opts, port, out, first_case=0):
    mode = {"schedule_case": "schedule", "schedule_batch": "schedule",
            "memory": "fill", "pending": "fill"}.get(fig, fig)
    batch = opts["batch"]
    window = 1000 if batch == 0 else 8
    limit = a.time_limit
    if peer == "charter":
        conf = out + ".conf"
        with open(conf, "w") as f:
            f.write("redis.url = redis://127.0.0.1:%d/0\n" % port)
            f.write("http.listen = 127.0.0.1:0\nlog.level = warn\nshutdown.timeout_ms = 1000\n")
            if a.kafka:
                # Fired timers go to Kafka as sla-timer writes them.
                f.write("kafka.bootstrap.servers = %s\n" % a.kafka)
                f.write("bench.topic = %s\n" % a.kafka_topic)
            else:
                # The runtime always creates a Kafka producer; nothing listens
                # here and nothing is produced.
                f.write("kafka.bootstrap.servers = 127.0.0.1:%d\n" % a.unused_port)
            f.write("bench.mode = %s\nbench.timers = %d\nbench.batch = %d\n" % (mode, timers, batch))
            f.write("bench.window = %d\nbench.partitions = %d\n" % (window, a.partitions))
            f.write("bench.lead_ms = %d\nbench.spread_ms = 10000\n" % a.lead_ms)
            f.write("bench.time_limit_s = %d\nbench.out = %s\n" % (limit, out))
            f.write("bench.first_case = %d\n" % first_case)
        return [a.charter, "--config", conf]
    if peer == "bullmq":
        return ["node", os.path.join(HERE, "bullmq_bench.js"), "--mode", mode,
                "--timers", str(timers), "--batch", str(batch), "--window", str(window),
                "--port", str(port), "--lead_ms", str(a.lead_ms),
                "--concurrency", str(a.bullmq_concurrency), "--out", out,
                "--time_limit_s", str(limit)]
    return ["ruby", os.path.join(HERE, "sidekiq_bench.rb"), "--mode", mode,
            "--timers", str(timers), "--batch", str(batch),
            "--redis-url", "redis://127.0.0.1:%d/0" % port, "--lead-ms", str(a.lead_ms),
            "--poll-interval", a.sidekiq_poll, "--out", out, "--time-limit-s", str(limit),
            # with the default interval the poller's first pass waits 10-15 s
            "--settle-ms", "6000" if a.sidekiq_poll else "16000"]


def pct(sorted_vals, q):
    """Nearest-rank percentile."""
    if not sorted_vals:
        return float("nan")
    k = max(0, min(len(sorted_vals) - 1, int(round(q / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def lateness_stats(path):
    vals, confirmed = [], []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2:
                vals.append(float(parts[1]) - float(parts[0]))
            if len(parts) >= 4 and float(parts[3]) > 0:  # Charter with --kafka
                confirmed.append(float(parts[3]) - float(parts[0]))
    vals.sort()
    r = {"n": len(vals), "p50_ms": pct(vals, 50), "p99_ms": pct(vals, 99),
         "max_ms": vals[-1] if vals else float("nan"),
         "min_ms": vals[0] if vals else float("nan")}
    if confirmed:  # due instant to Kafka's confirmation of the fired timer
        confirmed.sort()
        r.update({"confirmed_n": len(confirmed), "confirmed_p50_ms": pct(confirmed, 50),
                  "confirmed_p99_ms": pct(confirmed, 99), "confirmed_max_ms": confirmed[-1]})
    return r


def measure(a, redis, peer, fig, timers, opts, workdir, rep):
    redis.cli("FLUSHALL", "SYNC")
    redis.cli("SCRIPT", "FLUSH")
    out = os.path.join(workdir, "%s-%s-%d.txt" % (fig, peer, rep))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    env["NODE_PATH"] = a.node_modules
    if peer == "charter":
        for kv in a.charter_env:
            k, _, v = kv.partition("=")
            env[k] = v
    pending = None
    if a.pending and peer == "charter" and fig in ("lateness", "burst"):
        # --pending: that many timers of other cases, due a day or more
        # ahead, scheduled batched before the figure's own timers.
        before = redis.used_memory()
        pending = run_bounded(
            peer_cmd(peer, a, "pending", a.pending, {"batch": 1000}, redis.port,
                     out + ".pending", first_case=10**9), env, a.time_limit + 30,
            os.path.join(workdir, "peers.log"))
        if not pending.get("ok"):
            return {"ok": False, "error": "--pending fill: " + pending.get("error", "failed"),
                    "pending": pending}
        time.sleep(0.5)
        with_states = redis.used_memory()
        pending["bytes_per_timer_with_states"] = (with_states - before) / a.pending
        pending["used_memory_with_states"] = with_states
        pending["case_states"] = redis.drop_case_states()
        time.sleep(0.5)
        pending["bytes_per_timer"] = (redis.used_memory() - before) / a.pending
        pending["used_memory_after"] = redis.used_memory()
        if pending["case_states"]:
            print("      with the %d case states: %.1f B per timer, used_memory %.2f GB "
                  "(the states deleted before the run)" % (
                      pending["case_states"], pending["bytes_per_timer_with_states"],
                      with_states / 1e9), flush=True)
        print("      %s pending: %.0f timers/s, %.1f B per timer, used_memory %.2f GB" % (
            "{:,}".format(a.pending), pending["timers_per_second"], pending["bytes_per_timer"],
            pending["used_memory_after"] / 1e9), flush=True)
    before = redis.used_memory() if fig == "memory" else 0
    redis.cli("CONFIG", "RESETSTAT")
    r = run_bounded(peer_cmd(peer, a, fig, timers, opts, redis.port, out), env,
                    a.time_limit + 30, os.path.join(workdir, "peers.log"))
    if fig == "memory" and r.get("ok"):
        time.sleep(0.5)  # the client's connection is gone; its buffers are freed
        after = redis.used_memory()
        r["keys"] = int(redis.cli("DBSIZE").strip() or 0)
        r["used_memory_with_states"] = after
        r["bytes_per_timer_with_states"] = (after - before) / timers
        r["case_states"] = redis.drop_case_states() if peer == "charter" else 0
        if r["case_states"]:
            time.sleep(0.5)
            after = redis.used_memory()
        r["used_memory_before"] = before
        r["used_memory_after"] = after
        # Without the case states (sla-timer keeps them whatever the form).
        r["bytes_per_timer"] = (after - before) / timers
    if fig.startswith("schedule") and r.get("ok"):
        # Where Redis's time went per command (usec, calls): the scheduling
        # figures are Redis-bound with many calls in flight.
        r["redis_commandstats"] = [l for l in redis.cli("INFO", "commandstats").splitlines()
                                   if l.startswith("cmdstat_")]
    if fig in ("lateness", "burst") and r.get("ok"):
        r.update(lateness_stats(out))
        # Redis's own time in the scripts (EVALSHA, and EVAL after a
        # NOSCRIPT) during the figure's run: apart from the machine's load.
        r["redis_commandstats"] = [l for l in redis.cli("INFO", "commandstats").splitlines()
                                   if l.startswith(("cmdstat_evalsha:", "cmdstat_eval:"))]
        if pending:
            r["pending"] = pending
        if fig == "burst":
            r["drain_ms"] = r["max_ms"]  # due instant to the last firing
            r["drain_timers_per_second"] = timers / (r["max_ms"] / 1000.0)
    return r


def value(fig, r):
    if not r.get("ok"):
        return None
    return {
        "schedule_case": lambda: r["timers_per_second"],
        "schedule_batch": lambda: r["timers_per_second"],
        "lateness": lambda: (r["p50_ms"], r["p99_ms"], r["max_ms"]),
        "burst": lambda: (r["p50_ms"], r["p99_ms"], r["max_ms"]),
        "memory": lambda: r["bytes_per_timer"],
    }[fig]()


def median_of(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    if isinstance(vals[0], tuple):
        return tuple(statistics.median(v[i] for v in vals) for i in range(len(vals[0])))
    return statistics.median(vals)


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "/s":
        return "{:,.0f}/s".format(v)
    if unit == "B":
        return "{:,.0f} B".format(v)
    return "{:,.1f} ms".format(v)


def ratio(c, p):
    """c / p: "5.48", or for a ratio below 1 also its inverse, "0.06 (1/18)"."""
    if c is None or p is None or p == 0 or c == 0:
        return "n/a"
    r = c / p
    if r >= 10:
        return "{:.1f}".format(r)
    if r >= 1:
        return "{:.2f}".format(r)
    return "{:.2f} (1/{:,.{}f})".format(r, 1 / r, 1 if 1 / r < 10 else 0)


def versions(a):
    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
        except OSError:
            return "?"
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open(os.path.join(a.node_modules, "bullmq", "package.json")) as f:
        bullmq = json.load(f)["version"]
    with open(os.path.join(a.node_modules, "ioredis", "package.json")) as f:
        ioredis = json.load(f)["version"]
    def git(*args):
        return out(["git", "-C", os.path.dirname(os.path.dirname(HERE)), *args])
    store = "services/sla-timer/timer_store.c"
    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "timer_store": "%s%s" % (git("log", "-1", "--format=%h", "--", store),
                                 " (modified)" if git("status", "--porcelain", "--", store)
                                 else ""),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "kernel": platform.release(),
        "redis_server": out(["redis-server", "--version"]),
        "node": out(["node", "--version"]),
        "bullmq": bullmq,
        "ioredis": ioredis,
        "ruby": out(["ruby", "--version"]),
        "sidekiq": out(["ruby", "-e", "require 'sidekiq'; print Sidekiq::VERSION"]),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--charter", required=True, help="the bench_timers_charter binary")
    ap.add_argument("--node-modules", required=True, help="where bullmq is installed")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--figures", default=",".join(f[0] for f in FIGURES))
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiply every timer count (0.1 for a quick check)")
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--lead-ms", type=int, default=8000,
                    help="the first timer is due this long after the start (lateness, burst); "
                         "scheduling must finish before it")
    ap.add_argument("--bullmq-concurrency", type=int, default=100)
    ap.add_argument("--sidekiq-poll", default="1",
                    help="Sidekiq poll_interval_average in seconds ('' = Sidekiq's default)")
    ap.add_argument("--peers", default=",".join(PEERS),
                    help="which peers to run (the others show as '-')")
    ap.add_argument("--charter-env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra environment for Charter's runs (an experiment, e.g. "
                         "EVENT_PRECISE_TIMER=1); the summary says so")
    ap.add_argument("--pending", type=int, default=0, metavar="N",
                    help="Charter only: before each lateness and burst run, schedule N timers "
                    "of other cases due a day or more ahead (e.g. 10000000), and report their "
                    "scheduling rate and memory")
    ap.add_argument("--time-limit", type=int, default=400, help="seconds per peer run")
    ap.add_argument("--kafka", default="", metavar="BOOTSTRAP",
                    help="Charter writes each fired timer to --kafka-topic there and "
                         "acknowledges it when Kafka confirms, as sla-timer does")
    ap.add_argument("--kafka-topic", default="charter.sla.timers.v1")
    ap.add_argument("--kafka-label", default="", help="what the summary calls that Kafka")
    ap.add_argument("--out-dir", required=True)
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="run-", dir=a.out_dir)
    with socket.socket() as s:  # a port nothing listens on, for the unused Kafka producer
        s.bind(("127.0.0.1", 0))
        a.unused_port = s.getsockname()[1]

    wanted = [f for f in FIGURES if f[0] in a.figures.split(",")]
    results = {f[0]: {p: [] for p in PEERS} for f in wanted}
    redis = Redis(workdir)
    info = versions(a)
    info["redis_hz"] = redis.cli("CONFIG", "GET", "hz").split()[-1]
    info["kafka"] = ("%s at %s: Charter writes fired timers to %s" % (
        a.kafka_label or "Kafka", a.kafka, a.kafka_topic) if a.kafka else
        "none on the path: Charter acknowledges fired timers at once")
    started = time.time()
    try:
        for rep in range(a.reps):
            order = PEERS[rep % 3:] + PEERS[:rep % 3]
            for fig, title, timers, opts in wanted:
                n = max(100, int(timers * a.scale))
                for peer in [p for p in order if p in a.peers.split(",")]:
                    t = time.time()
                    r = measure(a, redis, peer, fig, n, opts, workdir, rep)
                    results[fig][peer].append(r)
                    v = value(fig, r)
                    late = r.get("schedule_end_minus_t0_ms", -1) > 0
                    kafka = ""
                    if r.get("confirmed_n"):
                        kafka = "  Kafka confirmed p50/p99/max %.1f/%.1f/%.1f ms" % (
                            r["confirmed_p50_ms"], r["confirmed_p99_ms"], r["confirmed_max_ms"])
                    if r.get("case_states"):
                        kafka += "  with the %d case states: %.1f B per timer" % (
                            r["case_states"], r["bytes_per_timer_with_states"])
                    if r.get("kafka_refused"):
                        kafka += "  KAFKA REFUSED %d" % r["kafka_refused"]
                    print("rep %d  %-15s %-8s %s  (%.0f s)%s%s%s" % (
                        rep + 1, fig, peer,
                        v if not isinstance(v, float) else round(v, 1), time.time() - t, kafka,
                        "" if r.get("ok") else "  FAILED: " + r.get("error", ""),
                        "  SCHEDULED LATE: scheduling ended %.0f ms after the first due instant"
                        % r["schedule_end_minus_t0_ms"] if late else ""),
                        flush=True)
    finally:
        redis.cli("FLUSHALL", "SYNC")
        redis.stop()

    print_summary(a, info, wanted, results, started)
    path = os.path.join(a.out_dir, "results.json")
    with open(path, "w") as f:
        json.dump({"machine": info, "args": {k: v for k, v in vars(a).items()},
                   "results": results}, f, indent=1)
    print("\nraw results: %s\nlateness files and logs: %s" % (path, workdir))


def print_summary(a, info, wanted, results, started):
    med = {fig: {p: median_of([value(fig, r) for r in results[fig][p]]) for p in PEERS}
           for fig, *_ in wanted}
    print("\n== bench-timers: medians of %d runs (%.0f s in all) ==" % (a.reps, time.time() - started))
    if a.scale != 1.0:
        print("  SCALED RUN: every timer count x %g (the labels give the full counts)" % a.scale)
    if a.charter_env:
        print("  EXPERIMENT: Charter ran with %s" % " ".join(a.charter_env))
    if a.pending:
        print("  PENDING: Charter's lateness and burst ran with {:,} other timers pending "
              "(the peers without)".format(a.pending))
        for fig in ("lateness", "burst"):
            for r in results.get(fig, {}).get("charter", []):
                p = r.get("pending")
                if p:
                    print("    %s: scheduled %.0f timers/s, %.1f B per timer, used_memory "
                          "%.2f GB" % (fig, p["timers_per_second"], p["bytes_per_timer"],
                                       p["used_memory_after"] / 1e9))
    for k in ("commit", "timer_store", "date", "nproc", "cpu", "kernel", "redis_server", "redis_hz", "kafka",
              "node", "bullmq", "ioredis", "ruby", "sidekiq"):
        print("  %-13s %s" % (k, info[k]))
    print("  sidekiq poll_interval_average: %s s (Sidekiq's default: 5 s average)"
          % (a.sidekiq_poll or "default"))
    print("  bullmq worker concurrency: %d; sidekiq concurrency: 10; charter partitions: %d"
          % (a.bullmq_concurrency, a.partitions))
    rows = []

    def row(label, unit, c, b, s, better):
        rows.append((label, fmt(c, unit), fmt(b, unit), fmt(s, unit), ratio(c, b), ratio(c, s),
                     better))

    for fig, title, timers, _ in wanted:
        m = med[fig]
        if fig in ("schedule_case", "schedule_batch"):
            row(title, "/s", m["charter"], m["bullmq"], m["sidekiq"], "higher")
        elif fig in ("lateness", "burst"):
            names = ["p50", "p99", "max"] if fig == "lateness" else ["p50", "p99", "last (drain)"]
            for i, name in enumerate(names):
                g = lambda p: None if m[p] is None else m[p][i]
                row("%s: %s" % (title, name), "ms", g("charter"), g("bullmq"), g("sidekiq"), "lower")
        else:
            row(title + " (per timer)", "B", m["charter"], m["bullmq"], m["sidekiq"], "lower")
            ws = [r["bytes_per_timer_with_states"] for r in results[fig]["charter"]
                  if r.get("ok") and r.get("case_states")]
            if ws:
                row(title + " (per timer, with Charter's case states)", "B",
                    statistics.median(ws), m["bullmq"], m["sidekiq"], "lower")
    w = [max(len(r[i]) for r in rows + [HEAD]) for i in range(len(HEAD))]
    for r in [HEAD] + rows:
        print("  " + "  ".join(r[i].ljust(w[i]) if i == 0 else r[i].rjust(w[i])
                               for i in range(len(r))))

    for fig, title, _, _ in wanted:
        runs = [r for r in results[fig]["charter"] if r.get("confirmed_n")]
        if fig in ("lateness", "burst") and runs:
            m = tuple(statistics.median(r[k] for r in runs)
                      for k in ("confirmed_p50_ms", "confirmed_p99_ms", "confirmed_max_ms"))
            print("  Charter, %s, due to Kafka's confirmation: p50 %s, p99 %s, %s %s "
                  "(median of %d runs)" % (title, fmt(m[0], "ms"), fmt(m[1], "ms"),
                                           "max" if fig == "lateness" else "last", fmt(m[2], "ms"),
                                           len(runs)))

    late = ["%s %s run %d (+%.0f ms)" % (fig, p, i + 1, r["schedule_end_minus_t0_ms"])
            for fig, *_ in wanted for p in PEERS for i, r in enumerate(results[fig][p])
            if r.get("schedule_end_minus_t0_ms", -1) > 0]
    if late:
        print("  note: scheduling overlapped the first due instants in: %s; those runs' "
              "lateness includes it (raise --lead-ms)" % ", ".join(late))

    print("\n== Charter against the issue's targets ==")
    for line in targets(med):
        print("  " + line)


HEAD = ("figure", "Charter", "BullMQ", "Sidekiq", "Charter/BullMQ", "Charter/Sidekiq", "better")


def targets(med):
    out = []

    def check(name, ok, detail):
        out.append("%-4s %s: %s" % ("MET" if ok else ("MISS" if ok is not None else "n/a"),
                                    name, detail))

    def get(fig, peer, i=None):
        v = med.get(fig, {}).get(peer)
        return v if v is None or i is None else v[i]

    c = get("lateness", "charter", 1)
    check("lateness p99 <= 5 ms (spread)", None if c is None else c <= 5.0,
          "p99 %s" % fmt(c, "ms"))
    c = get("burst", "charter", 1)
    last = get("burst", "charter", 2)
    check("lateness p99 <= 100 ms (burst)", None if c is None else c <= 100.0,
          "p99 %s, last %s" % (fmt(c, "ms"), fmt(last, "ms")))
    for fig in ("schedule_case", "schedule_batch"):
        c, b = get(fig, "charter"), get(fig, "bullmq")
        check("scheduling >= 5x BullMQ (%s)" % ("per case" if fig == "schedule_case" else "batched"),
              None if c is None or b is None else c >= 5 * b,
              "%s vs %s = %sx" % (fmt(c, "/s"), fmt(b, "/s"), ratio(c, b)))
    c, b = get("burst", "charter", 2), get("burst", "bullmq", 2)
    check("burst drain >= 5x BullMQ", None if c is None or b is None else b >= 5 * c,
          "last firing %s vs %s = %sx faster" % (fmt(c, "ms"), fmt(b, "ms"), ratio(b, c)))
    c, b = get("memory", "charter"), get("memory", "bullmq")
    check("memory per timer <= 1/3 of BullMQ", None if c is None or b is None else 3 * c <= b,
          "%s vs %s = %s" % (fmt(c, "B"), fmt(b, "B"), ratio(c, b)))
    return out


if __name__ == "__main__":
    sys.exit(main())
