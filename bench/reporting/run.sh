#!/usr/bin/env bash
# `make bench-reporting`: how many case events the real charter-reporting
# aggregates per second, and how long an event takes to show on GET /v1/report
# while 10,000 events/s arrive (issue 7; README.md).
# Usage: run.sh BUILD_DIR. Knobs (environment): ROUNDS (3), EVENTS (events
# pre-loaded per round, 100000), RATE (10000), DURATION (seconds, 20), MARKER_MS (100),
# WAIT_S (how long markers are waited for once the producer stops, 120).
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

WORK=$(mktemp -d /tmp/charter-bench-reporting.XXXXXX)
PIDS=()
cleanup() {
  local rc=$?
  stop_all
  echo "bench-reporting: logs kept in $WORK"
  exit "$rc"
}
# stop_all: SIGTERM to what this script started (newest first), by PID.
stop_all() {
  local i pid
  for (( i=${#PIDS[@]}-1; i>=0; i-- )); do kill -TERM "${PIDS[i]}" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
trap cleanup EXIT
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
wait_until() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}
die() { echo "bench-reporting: $*" >&2; for f in "$WORK"/*.log; do echo "-- $f"; tail -n 5 "$f"; done; exit 1; }
# cpu_ticks PID...: user+system CPU time of the processes, in clock ticks.
cpu_ticks() {
  local t=0 pid f
  for pid in "$@"; do
    read -r -a f <"/proc/$pid/stat"
    t=$(( t + f[13] + f[14] ))
  done
  echo "$t"
}
HZ=$(getconf CLK_TCK)

# The five charters, and bench-probe: Derby Homes' charter under another id,
# whose only cases are the latency markers (so polling its report stays cheap).
mkdir -p "$WORK/policies"
cp "$root"/policies/*.yaml "$WORK/policies/"
sed -e 's/^  id: derby-homes$/  id: bench-probe/' -e 's/^  name: Derby Homes$/  name: Bench probe/' \
  -e 's/^  reference_prefix: DH$/  reference_prefix: BP/' \
  "$root/policies/derby-homes.yaml" >"$WORK/policies/bench-probe.yaml"
grep -q '^  id: bench-probe$' "$WORK/policies/bench-probe.yaml" || die "cannot make bench-probe.yaml"

# measure NAME CMD...: runs CMD (one JSON line out) and records it with the CPU
# share (% of one core) reporting, redis-server and the broker used meanwhile.
measure() {
  local name=$1 t0 c0 r0 b0 el line; shift
  t0=$(date +%s%N) c0=$(cpu_ticks "$REPORT_PID") r0=$(cpu_ticks "$REDIS_PID") b0=$(cpu_ticks "$BROKER_PID")
  line=$("$@" 2>>"$WORK/bench.log") || die "$name failed"
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
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK" --save "" --appendonly no \
    --daemonize no >"$WORK/redis.log" 2>&1 &
  PIDS+=($!)
  REDIS_PID=$!
  wait_until 10 redis-cli -p "$REDIS_PORT" ping || die "redis-server did not start"

  KPORT=$(free_port) CPORT=$(free_port)
  rm -f "$WORK/broker.ready"
  "$build/tools/broker/charter-broker" --listen "127.0.0.1:$KPORT" --control "127.0.0.1:$CPORT" \
    --ready-file "$WORK/broker.ready" >"$WORK/broker.out" 2>"$WORK/broker.log" &
  PIDS+=($!)
  BROKER_PID=$!
  wait_until 15 test -s "$WORK/broker.ready" || die "charter-broker did not become ready"
  BOOTSTRAP="127.0.0.1:$KPORT"

  line=$("$BENCH" load "$BOOTSTRAP" "$EVENTS" "$r" "$WORK/expect.txt" 2>>"$WORK/bench.log") \
    || die "loading the events failed"
  printf '{"round":%d,"name":"load","result":%s}\n' "$r" "$line" | tee -a "$OUT/results.jsonl"

  PORT=$(free_port)
  env CHARTER_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" CHARTER_KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" \
    CHARTER_HTTP_LISTEN="127.0.0.1:$PORT" CHARTER_REPORT_POLICY_DIR="$WORK/policies" \
    "$build/services/reporting/charter-reporting" >"$WORK/reporting.log" 2>&1 &
  PIDS+=($!)
  REPORT_PID=$!
  wait_until 30 curl -fsS "http://127.0.0.1:$PORT/readyz" || die "charter-reporting did not become ready"
  measure throughput "$BENCH" drain "http://127.0.0.1:$PORT" "$WORK/expect.txt" 600
  measure latency "$BENCH" latency "$BOOTSTRAP" "http://127.0.0.1:$PORT" "$RATE" "$DURATION" \
    "$MARKER_MS" "$WAIT_S" "$r"
  stop_all
done
/usr/bin/python3 "$here/summarise.py" "$OUT/results.jsonl" "$RATE" | tee "$OUT/summary.txt"
