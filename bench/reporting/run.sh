#!/usr/bin/env bash
# `make bench-reporting`: how many case events the real charter-reporting
# aggregates per second, and how long an event takes to show on GET /v1/report
# while 10,000 events/s arrive (issue 7; README.md).
# Usage: run.sh BUILD_DIR. Knobs (environment): ROUNDS (3), EVENTS (events
# pre-loaded per round, 100000), RATE (10000), DURATION (seconds, 20), MARKER_MS (100),
# WAIT_S (how long markers are waited for once the producer stops, 120),
# KAFKA (embedded, the default: charter-broker; apache: one Apache Kafka KRaft
# node, bench/lib.sh's start_kafka, started afresh each round).
# Results: BUILD_DIR/bench-reporting/results.jsonl and summary.txt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
ROUNDS=${ROUNDS:-3} EVENTS=${EVENTS:-100000} RATE=${RATE:-10000} DURATION=${DURATION:-20}
MARKER_MS=${MARKER_MS:-100} WAIT_S=${WAIT_S:-120}
BENCH="$build/bench/bench_reporting"
OUT="$build/bench-reporting"
mkdir -p "$OUT"
BENCH_NAME=bench-reporting BUILD=$build
# shellcheck source=../lib.sh
source "$here/../lib.sh"

WORK=$(mktemp -d /tmp/charter-bench-reporting.XXXXXX)
cleanup() {
  local rc=$?
  stop_started
  echo "bench-reporting: logs kept in $WORK"
  exit "$rc"
}
trap cleanup EXIT
HZ=$(getconf CLK_TCK)

# The five charters, and bench-probe: Derby Homes' charter under another id,
# whose only cases are the latency markers (so polling its report stays cheap).
mkdir -p "$WORK/policies"
cp "$root"/policies/*.yaml "$WORK/policies/"
sed -e 's/^  id: derby-homes$/  id: bench-probe/' -e 's/^  name: Derby Homes$/  name: Bench probe/' \
  -e 's/^  reference_prefix: DH$/  reference_prefix: BP/' \
  "$root/policies/derby-homes.yaml" >"$WORK/policies/bench-probe.yaml"
grep -q '^  id: bench-probe$' "$WORK/policies/bench-probe.yaml" || fail "cannot make bench-probe.yaml"

# measure NAME CMD...: runs CMD (one JSON line out) and records it with the CPU
# share (% of one core) reporting, redis-server and the broker used meanwhile.
measure() {
  local name=$1 t0 c0 r0 b0 el line; shift
  t0=$(date +%s%N) c0=$(cpu_ticks "$REPORT_PID") r0=$(cpu_ticks "$REDIS_PID") b0=$(cpu_ticks "$BROKER_PID")
  line=$("$@" 2>>"$WORK/bench.log") || fail "$name failed"
  el=$(( ($(date +%s%N) - t0) / 10000000 )) # centiseconds
  printf '{"round":%d,"name":"%s","result":%s,"cpu_pct":{"reporting":%d,"redis":%d,"broker":%d}}\n' \
    "$r" "$name" "$line" \
    $(( ($(cpu_ticks "$REPORT_PID") - c0) * 10000 / HZ / el )) \
    $(( ($(cpu_ticks "$REDIS_PID") - r0) * 10000 / HZ / el )) \
    $(( ($(cpu_ticks "$BROKER_PID") - b0) * 10000 / HZ / el )) | tee -a "$OUT/results.jsonl"
}

echo "bench-reporting: $ROUNDS rounds: $EVENTS events pre-loaded, then $RATE events/s for" \
  "${DURATION} s with a marker every $MARKER_MS ms (work dir $WORK)"
: >"$OUT/results.jsonl"
for r in $(seq 1 "$ROUNDS"); do
  # A fresh redis-server, broker and charter-reporting each round.
  REDIS_PORT=$(free_port)
  start_redis
  start_kafka
  [ "$r" -gt 1 ] || echo "bench-reporting: broker: $BROKER_LABEL"

  line=$("$BENCH" load "$BOOTSTRAP" "$EVENTS" "$r" "$WORK/expect.txt" 2>>"$WORK/bench.log") \
    || fail "loading the events failed"
  printf '{"round":%d,"name":"load","result":%s}\n' "$r" "$line" | tee -a "$OUT/results.jsonl"

  SVC_PORT[reporting]=$(free_port)
  start_charter reporting CHARTER_REPORT_POLICY_DIR="$WORK/policies"
  wait_ready reporting
  PORT=${SVC_PORT[reporting]} REPORT_PID=${SVC_PID[reporting]}
  measure throughput "$BENCH" drain "http://127.0.0.1:$PORT" "$WORK/expect.txt" 600
  measure latency "$BENCH" latency "$BOOTSTRAP" "http://127.0.0.1:$PORT" "$RATE" "$DURATION" \
    "$MARKER_MS" "$WAIT_S" "$r"
  stop_started
done
/usr/bin/python3 "$here/summarise.py" "$OUT/results.jsonl" "$RATE" | tee "$OUT/summary.txt"
