#!/usr/bin/env bash
# `make bench-ingest`: wrk against charter-ingest posting signed contacts vs the
# same wrk against an nginx `return 204`, side by side in one run (README.md).
# Usage: run.sh BUILD_DIR. Knobs (environment): ROUNDS (3), DURATION (10s),
# THREADS (2), CONNECTIONS (64), REQUESTS (pre-signed requests per ingest round;
# unset: as many as the rate seen so far needs, see sign_count), HEADROOM (2),
# WARMUP (3s), KAFKA (embedded, the default: charter-broker; apache:
# Apache Kafka, one KRaft node started by scripts/kafka.sh; bench/lib.sh's
# start_kafka), INGEST_BEFORE (another charter-ingest binary, e.g. main's:
# run beside this build's, in alternating order each round, for a before and
# after in one run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-10s} THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64} REQUESTS=${REQUESTS:-} WARMUP=${WARMUP:-3s}
HEADROOM=${HEADROOM:-2} # an integer
TOPIC=charter.contact.events.v1
BENCH_NAME=bench-ingest BUILD=$build
# shellcheck source=../lib.sh
source "$here/../lib.sh"

# Debian packages: wrk and nginx (the system nginx service is left alone: we
# run our own binary with our own config; Debian's policy may start the service
# on install, which this script neither needs nor touches).
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || missing+=(nginx)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
NGINX=$(command -v nginx)

WORK=$(mktemp -d /tmp/charter-bench-ingest.XXXXXX)
chmod 755 "$WORK" # nginx workers (not root) read nothing here, but may stat it
cleanup() {
  local rc=$?
  stop_started
  rm -f "$WORK/requests.txt"
  echo "bench-ingest: logs and results kept in $WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Gateway "bench" with a fresh random key, readable by us only, writing for
# every organisation (orgs=*).
( umask 077; openssl rand -hex 32 >"$WORK/gateway.key"
  printf 'bench %s orgs=*\n' "$(cat "$WORK/gateway.key")" >"$WORK/gateways" )

start_redis
start_kafka
start_charter ingest CHARTER_INGEST_GATEWAYS_FILE="$WORK/gateways"
wait_ready ingest
INGEST_PORT=${SVC_PORT[ingest]} INGEST_PID=${SVC_PID[ingest]}

# INGEST_BEFORE: a second charter-ingest (another build, e.g. main's), on the
# same redis-server, broker and gateways file, with the same configuration.
# Its rounds are named before-N and beforeparse-N; each round runs the two
# binaries back to back, alternating which goes first, so the load of the
# moment hits both.
BEFORE_PORT="" BEFORE_PID=""
if [ -n "${INGEST_BEFORE:-}" ]; then
  [ -x "$INGEST_BEFORE" ] || fail "INGEST_BEFORE=$INGEST_BEFORE is not an executable"
  BEFORE_PORT=$(free_port)
  env CHARTER_REDIS_URL="$REDIS_URL" CHARTER_KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" \
    CHARTER_HTTP_LISTEN="127.0.0.1:$BEFORE_PORT" CHARTER_INGEST_GATEWAYS_FILE="$WORK/gateways" \
    "$INGEST_BEFORE" >>"$WORK/before.log" 2>&1 &
  PIDS+=($!)
  BEFORE_PID=$!
  wait_until 30 ready "$BEFORE_PORT" || fail "the INGEST_BEFORE ingest did not become ready"
fi

# The peer (peer/server.js, issue 16): what an integrator would write instead,
# Node.js with ioredis and kafkajs (pinned in peer/package-lock.json), on the
# same redis-server and broker, with ingest's gateways file and policies.
( cd "$here/peer" && npm ci --no-audit --no-fund --loglevel=error >"$WORK/npm.log" 2>&1 ) \
  || fail "npm ci in bench/ingest/peer failed (see $WORK/npm.log)"
PEER_PORT=$(free_port)
PORT=$PEER_PORT REDIS_PORT=$REDIS_PORT BOOTSTRAP=$BOOTSTRAP GATEWAYS_FILE="$WORK/gateways" \
  POLICIES_DIR="$root/policies" TOPIC=$TOPIC node "$here/peer/server.js" >"$WORK/peer.log" 2>&1 &
PIDS+=($!)
PEER_PID=$!
wait_until 30 curl -fsS -o /dev/null "http://127.0.0.1:$PEER_PORT/stats" \
  || fail "the Node.js peer did not start (see $WORK/peer.log)"

NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx/logs"
cat >"$WORK/nginx/nginx.conf" <<CONF
daemon off;
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { return 204; }
  }
}
CONF
"$NGINX" -p "$WORK/nginx" -e "$WORK/nginx/logs/error.log" -c "$WORK/nginx/nginx.conf" \
  >"$WORK/nginx.log" 2>&1 &
PIDS+=($!)
NGINX_PID=$!
wait_until 10 curl -fsS -o /dev/null -X POST "http://127.0.0.1:$NGINX_PORT/v1/contacts" \
  || fail "nginx did not start"

# run_wrk NAME PORT DURATION [INGEST_PID]: one wrk run; its BENCH line goes to
# results, with the CPU share (% of one core) ingest (this build's, or the one
# whose PID is given), redis-server and the broker used meanwhile.
run_wrk() {
  local name=$1 port=$2 dur=$3 ipid=${4:-$INGEST_PID} hz t0 c0 r0 b0 n0 el
  hz=$(getconf CLK_TCK)
  t0=$(date +%s%N) c0=$(cpu_ticks "$ipid") r0=$(cpu_ticks "$REDIS_PID")
  b0=$(cpu_ticks "$BROKER_PID") n0=$(cpu_ticks $(pgrep -P "$NGINX_PID") "$NGINX_PID")
  local p0; p0=$(cpu_ticks "$PEER_PID")
  BENCH_REQUESTS="$WORK/requests.txt" BENCH_THREADS=$THREADS BENCH_GATEWAY=bench \
    timeout 300 wrk -t "$THREADS" -c "$CONNECTIONS" -d "$dur" --latency --timeout 10s \
    -s "$here/wrk.lua" "http://127.0.0.1:$port/v1/contacts" >"$WORK/wrk-$name.txt" 2>&1 \
    || fail "wrk failed ($name)"
  local line
  line=$(grep '^BENCH ' "$WORK/wrk-$name.txt" | cut -d' ' -f2-)
  [ -n "$line" ] || fail "no result from wrk ($name)"
  el=$(( ($(date +%s%N) - t0) / 10000000 )) # centiseconds
  local cpu
  cpu=$(printf '{"ingest":%d,"redis":%d,"broker":%d,"nginx":%d,"peer":%d}' \
    $(( ($(cpu_ticks "$ipid") - c0) * 10000 / hz / el )) \
    $(( ($(cpu_ticks "$REDIS_PID") - r0) * 10000 / hz / el )) \
    $(( ($(cpu_ticks "$BROKER_PID") - b0) * 10000 / hz / el )) \
    $(( ($(cpu_ticks $(pgrep -P "$NGINX_PID") "$NGINX_PID") - n0) * 10000 / hz / el )) \
    $(( ($(cpu_ticks "$PEER_PID") - p0) * 10000 / hz / el )))
  echo "{\"name\":\"$name\",\"result\":$line,\"cpu_pct\":$cpu}" >>"$WORK/results.jsonl"
  echo "  $name: $line"
}
# seconds DURATION: wrk's duration (10, 10s, 2m, 1h) in seconds.
seconds() {
  local d=$1
  case "$d" in
    *[0-9]s) echo "${d%s}" ;; *[0-9]m) echo $(( ${d%m} * 60 )) ;;
    *[0-9]h) echo $(( ${d%h} * 3600 )) ;; *[0-9]) echo "$d" ;;
    *) fail "duration '$d': use e.g. 10s, 2m or 1h" ;;
  esac
}
# The request count follows the rate: RATE[target] is the highest requests/s
# wrk has reached so far against that target (rps of the BENCH lines);
# before any run, INITIAL_RATE (40,000: above what ingest persists on the
# benchmark machine). The parse-only rounds sign ingest's count: their
# repeats would be harmless (answered 422 before Redis), and that count is
# what the same wrk sends in the same time. Never below MIN_RATE (10,000).
declare -A RATE=()
note_rate() { # note_rate TARGET NAME: takes the rps of run NAME
  local rps
  rps=$(grep "\"name\":\"$2\"" "$WORK/results.jsonl" | sed 's/.*"rps":\([0-9]*\).*/\1/')
  [ -n "$rps" ] || fail "no rate for $2"
  if [ "$rps" -gt "${RATE[$1]:-0}" ]; then RATE[$1]=$rps; fi
}
# sign_count TARGET DURATION: requests to sign for one run: REQUESTS if set,
# else HEADROOM x the best rate seen x the seconds, plus one in flight per
# connection, so that no wrk thread runs out of distinct requests (a repeat
# would be a duplicate, answered 200, not a new record).
sign_count() {
  if [ -n "$REQUESTS" ]; then echo "$REQUESTS"; return; fi
  local rate=${RATE[$1]:-${INITIAL_RATE:-40000}}
  # a cold warm-up (Apache Kafka's JVM) can be far slower than the rounds:
  # never plan for less than MIN_RATE (10,000/s: 200,000 for 10 s rounds)
  [ "$rate" -ge "${MIN_RATE:-10000}" ] || rate=${MIN_RATE:-10000}
  echo $(( (rate * $(seconds "$2") * HEADROOM + 999) / 1000 * 1000 + CONNECTIONS ))
}
# fresh_requests TARGET DURATION TAG [ORGANISATION]: new contacts signed now
# (valid 5 minutes), as many as sign_count says.
fresh_requests() {
  local n
  n=$(sign_count "$1" "$2")
  python3 "$here/gen_requests.py" "$WORK/requests.txt" "$n" "$WORK/gateway.key" "${@:3}"
}

echo "bench-ingest: ingest on :$INGEST_PORT, the Node.js peer on :$PEER_PORT, nginx on :$NGINX_PORT; $ROUNDS rounds of" \
  "$DURATION each, wrk -t$THREADS -c$CONNECTIONS (work dir $WORK)"
echo "bench-ingest: Kafka: $BROKER_LABEL at $BOOTSTRAP"
: >"$WORK/results.jsonl"
fresh_requests ingest "$WARMUP" warmup
run_wrk warmup-ingest "$INGEST_PORT" "$WARMUP"
note_rate ingest warmup-ingest
if [ -n "$BEFORE_PID" ]; then
  fresh_requests ingest "$WARMUP" warmup-before
  run_wrk warmup-before "$BEFORE_PORT" "$WARMUP" "$BEFORE_PID"
  note_rate ingest warmup-before
fi
run_wrk warmup-nginx "$NGINX_PORT" "$WARMUP"
fresh_requests peer "$WARMUP" warmup-peer
run_wrk warmup-peer "$PEER_PORT" "$WARMUP"
note_rate peer warmup-peer
# Each round also measures ingest stopping short of persistence (parse-only):
# the same signed contacts naming an organisation ingest does not know, so it
# reads, authenticates, parses and validates each one and answers 422 before
# Redis or Kafka. Not part of the ratio; it shows what HTTP and parsing alone
# allow next to nginx on this machine.
# persist_round NAME PORT PID TAG / parse_round ...: one ingest round of a build.
persist_round() {
  fresh_requests ingest "$DURATION" "$4"
  run_wrk "$1" "$2" "$DURATION" "$3"
  note_rate ingest "$1"
}
parse_round() {
  fresh_requests ingest "$DURATION" "$4" bench-not-an-organisation
  run_wrk "$1" "$2" "$DURATION" "$3"
}
for r in $(seq 1 "$ROUNDS"); do
  if [ -n "$BEFORE_PID" ] && [ $((r % 2)) -eq 1 ]; then
    persist_round "before-$r" "$BEFORE_PORT" "$BEFORE_PID" "b$r"
  fi
  persist_round "ingest-$r" "$INGEST_PORT" "$INGEST_PID" "r$r"
  if [ -n "$BEFORE_PID" ] && [ $((r % 2)) -eq 0 ]; then
    persist_round "before-$r" "$BEFORE_PORT" "$BEFORE_PID" "b$r"
  fi
  run_wrk "nginx-$r" "$NGINX_PORT" "$DURATION"
  fresh_requests peer "$DURATION" "n$r"
  run_wrk "peer-$r" "$PEER_PORT" "$DURATION"
  note_rate peer "peer-$r"
  if [ -n "$BEFORE_PID" ] && [ $((r % 2)) -eq 0 ]; then
    parse_round "beforeparse-$r" "$BEFORE_PORT" "$BEFORE_PID" "q$r"
  fi
  parse_round "parseonly-$r" "$INGEST_PORT" "$INGEST_PID" "p$r"
  if [ -n "$BEFORE_PID" ] && [ $((r % 2)) -eq 1 ]; then
    parse_round "beforeparse-$r" "$BEFORE_PORT" "$BEFORE_PID" "q$r"
  fi
done

# Every request persisted: once ingest has nothing in flight, ask the broker
# (kcat, an independent client) for each partition's offsets: the end offset
# counts every record ever appended. The embedded broker (librdkafka's mock
# cluster) keeps only the newest records of a partition, so the start offset
# may have moved (Apache Kafka keeps them all); the records still there are
# read back and their keys (case ids) must all be distinct.
sleep 6 # longer than ingest.answer_timeout_ms: every request in flight has its answer
curl -fsS "http://127.0.0.1:$INGEST_PORT/metrics" >"$WORK/ingest-metrics.txt"
if [ -n "$BEFORE_PID" ]; then
  curl -fsS "http://127.0.0.1:$BEFORE_PORT/metrics" >"$WORK/before-metrics.txt"
fi
curl -fsS "http://127.0.0.1:$PEER_PORT/stats" >"$WORK/peer-stats.json"
parts=$(timeout 30 kcat -b "$BOOTSTRAP" -L -t "$TOPIC" | awk '$1 == "partition" { sub(",", "", $2); print $2 }')
[ -n "$parts" ] || fail "kcat found no partitions of $TOPIC"
appended=0 retained=0
for p in $parts; do
  hi=$(timeout 30 kcat -b "$BOOTSTRAP" -Q -t "$TOPIC:$p:-1" | awk '{ print $NF }')
  lo=$(timeout 30 kcat -b "$BOOTSTRAP" -Q -t "$TOPIC:$p:-2" | awk '{ print $NF }')
  appended=$(( appended + hi )) retained=$(( retained + hi - lo ))
done
timeout 300 kcat -b "$BOOTSTRAP" -C -t "$TOPIC" -e -q -f '%k\n' >"$WORK/keys.txt" \
  || fail "kcat could not read $TOPIC"
records=$(wc -l <"$WORK/keys.txt")
distinct=$(sort -u "$WORK/keys.txt" | wc -l)
rm -f "$WORK/keys.txt"
BROKER_LABEL=$BROKER_LABEL PEER_STATS="$WORK/peer-stats.json" \
  BEFORE_METRICS=${BEFORE_PID:+$WORK/before-metrics.txt} BEFORE_LABEL=${INGEST_BEFORE:-} \
  python3 "$here/summarise.py" "$WORK/results.jsonl" "$WORK/ingest-metrics.txt" "$appended" \
  "$retained" "$records" "$distinct" "$CONNECTIONS" | tee "$WORK/summary.txt"
