# shellcheck shell=bash
# Shared helpers for integration tests: a real redis-server on a free
# loopback port, the embedded broker or Apache Kafka (start_apache_kafka),
# the real service binaries, kcat as the independent Kafka client and protoc
# as the independent decoder. Every wait is bounded; the EXIT trap stops
# only the processes this script started.
#
# ingest authenticates every request: the tests' gateway "it" gets a fresh
# random key in $WORK/gateways, and post_json signs with openssl, the same
# one-liner docs/api.md gives gateway authors.
set -euo pipefail

BUILD=${CHARTER_BUILD_DIR:?set CHARTER_BUILD_DIR to the build directory}
SRC=${CHARTER_SOURCE_DIR:?set CHARTER_SOURCE_DIR to the source directory}
WORK=$(mktemp -d /tmp/charter-it.XXXXXX)
PIDS=()
declare -A SVC_PID SVC_PORT
FAILED=0
GATEWAY_ID=it
GATEWAY_KEY=$(openssl rand -hex 32)
GATEWAYS_FILE="$WORK/gateways"
( umask 077; printf '# test gateways: ID KEY [KEY2]\n%s %s\n' "$GATEWAY_ID" "$GATEWAY_KEY" >"$GATEWAYS_FILE" )

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*"; }
pass() { log "PASS: $*"; }
fail() {
  FAILED=1
  log "FAIL: $*"
  for f in "$WORK"/*.log; do
    [ -f "$f" ] || continue
    echo "---- tail of $f"
    tail -n 15 "$f"
  done
  exit 1
}

cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [ "$rc" -eq 0 ] && [ "$FAILED" -eq 0 ]; then rm -rf "$WORK"; else echo "work dir kept: $WORK"; fi
}
trap cleanup EXIT

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_until SECONDS CMD...: runs CMD every 0.2 s until it succeeds.
wait_until() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

start_redis() {
  REDIS_PORT=${REDIS_PORT:-$(free_port)}
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK" --save "" \
    --appendonly "${REDIS_AOF:-no}" --daemonize no >>"$WORK/redis.log" 2>&1 &
  PIDS+=($!)
  REDIS_PID=$!
  wait_until 10 redis-cli -p "$REDIS_PORT" ping || fail "redis-server did not start on $REDIS_PORT"
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
}

start_broker() {
  local kport cport
  kport=$(free_port); cport=$(free_port)
  "$BUILD/tools/broker/charter-broker" --listen "127.0.0.1:$kport" --control "127.0.0.1:$cport" \
    --ready-file "$WORK/broker.ready" >"$WORK/broker.out" 2>"$WORK/broker.log" &
  PIDS+=($!)
  BROKER_PID=$!
  wait_until 15 test -s "$WORK/broker.ready" || fail "charter-broker did not become ready"
  BOOTSTRAP="127.0.0.1:$kport"
  BROKER_CONTROL="127.0.0.1:$cport"
}

# start_apache_kafka [NODES]: Apache Kafka (scripts/kafka.sh: the pinned
# broker, fetched into the build tree on first use) as NODES KRaft nodes on
# loopback (default 3: replication factor 3, min.insync.replicas 2) with
# Charter's topics, data and logs in $WORK/kafka/node*/. Sets BOOTSTRAP (every
# node's address) and KAFKA_NODE_PID[1..NODES]. The nodes' PIDs join PIDS, so
# the EXIT trap stops them even if kafka.sh itself is killed; kafka.sh also
# stops them when this script ends. The first run fetches the broker with
# Maven (build/kafka/VERSION/lib); KAFKA_START_WAIT bounds it all (300 s).
declare -A KAFKA_NODE_PID
start_apache_kafka() {
  local nodes=${1:-3} deadline=$(( $(date +%s) + ${KAFKA_START_WAIT:-300} )) i
  bash "$SRC/scripts/kafka.sh" start --nodes "$nodes" --dir "$WORK/kafka" --ready-file "$WORK/kafka.ready" \
    --owner $$ >"$WORK/kafka.out" 2>"$WORK/kafka.log" &
  KAFKA_PID=$!
  PIDS+=($!)
  until [ -s "$WORK/kafka.ready" ]; do
    kill -0 "$KAFKA_PID" 2>/dev/null || fail "scripts/kafka.sh exited before Kafka was ready"
    [ "$(date +%s)" -lt "$deadline" ] || fail "Apache Kafka not ready in ${KAFKA_START_WAIT:-300} s"
    sleep 0.5
  done
  BOOTSTRAP=$(cat "$WORK/kafka.ready")
  for ((i = 1; i <= nodes; i++)); do KAFKA_NODE_PID[$i]=$(cat "$WORK/kafka/node$i/pid"); done
  # kafka.sh goes after its nodes: the EXIT trap waits for the nodes first
  # (the last node of a cluster stopping together takes about 6 s).
  local p keep=()
  for p in "${PIDS[@]}"; do [ "$p" = "$KAFKA_PID" ] || keep+=("$p"); done
  PIDS=("${keep[@]}" "${KAFKA_NODE_PID[@]}" "$KAFKA_PID")
  log "$(grep 'Apache Kafka .* ready in' "$WORK/kafka.log")"
}

# start_service NAME [VAR=VALUE ...]: starts build/services/NAME with the
# test's Redis and broker, a free HTTP port, and extra environment.
start_service() {
  local name=$1; shift
  local port=${SVC_PORT[$name]:-}
  [ -n "$port" ] || port=$(free_port)
  SVC_PORT[$name]=$port
  local extra=()
  [ "$name" = ingest ] && extra+=(CHARTER_INGEST_GATEWAYS_FILE="$GATEWAYS_FILE" CHARTER_INGEST_POLICY_DIR="$SRC/policies")
  env CHARTER_REDIS_URL="$REDIS_URL" CHARTER_KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" "${extra[@]}" \
    CHARTER_HTTP_LISTEN="127.0.0.1:$port" CHARTER_KAFKA_SESSION_TIMEOUT_MS=6000 \
    CHARTER_KAFKA_HEARTBEAT_INTERVAL_MS=500 CHARTER_KAFKA_TOPIC_METADATA_REFRESH_INTERVAL_MS=1000 \
    "$@" "$BUILD/services/$name/charter-$name" >>"$WORK/$name.log" 2>&1 &
  SVC_PID[$name]=$!
  PIDS+=($!)
}

# short_policy DIR ID PREFIX: a test charter for organisation ID (references
# PREFIX-YYYY-NNNNNN) with the skeleton's short clocks: every contact
# acknowledged within 6 seconds and answered within an hour.
short_policy() {
  mkdir -p "$1"
  cat >"$1/$2.yaml" <<YAML
organisation:
  id: $2
  name: Test organisation $2
  reference_prefix: $3
  kind: council
calendar: england-and-wales
opening_hours:
  monday-friday: "09:00-17:00"
roles:
  owner: Case owner
promises:
  - id: every-contact
    channel: any
    says: We acknowledge within six seconds and reply within an hour.
    acknowledge: 6 seconds
    respond: 1 hours
YAML
}

ready() { curl -fsS "http://127.0.0.1:$1/readyz"; }

wait_ready() {
  local name=$1
  wait_until 30 ready "${SVC_PORT[$name]}" || fail "$name did not become ready"
}

# stop_service NAME: SIGTERM, and fail unless it exits 0 within 6.5 s: the
# services' shutdown.timeout_ms (4.5 s) bounds the drain, plus the last
# flush, exit and (under ASan) the leak check.
stop_service() {
  local name=$1 pid=${SVC_PID[$1]} start end
  start=$(date +%s%N)
  kill -TERM "$pid"
  for _ in $(seq 1 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && fail "$name still running 8 s after SIGTERM"
  local rc=0
  wait "$pid" || rc=$?
  end=$(date +%s%N)
  local ms=$(( (end - start) / 1000000 ))
  [ "$rc" -eq 0 ] || fail "$name exited with $rc after SIGTERM"
  [ "$ms" -le 6500 ] || fail "$name took $ms ms to stop (limit 6500)"
  pass "$name stopped cleanly on SIGTERM in $ms ms"
}

# find_record TOPIC KEY: prints "PARTITION OFFSET" of the first record with KEY.
find_record() {
  kcat -b "$BOOTSTRAP" -C -t "$1" -e -q -f '%k %p %o\n' 2>/dev/null | awk -v k="$2" '$1 == k { print $2, $3; exit }'
}

# count_records TOPIC KEY: how many records carry KEY.
count_records() {
  kcat -b "$BOOTSTRAP" -C -t "$1" -e -q -f '%k\n' 2>/dev/null | grep -c -x -F "$2" || true
}

# decode_record TOPIC PARTITION OFFSET TYPE: the record as protobuf text,
# decoded by protoc from the .proto files (independent of Charter's code).
decode_record() {
  kcat -b "$BOOTSTRAP" -C -t "$1" -p "$2" -o "$3" -c 1 -e -q -f '%s' >"$WORK/record.bin"
  protoc --decode="charter.v1.$4" -I "$SRC/proto" "$SRC"/proto/charter/v1/*.proto <"$WORK/record.bin"
}

# readyz_field PORT FIELD: "true"/"false" from a service's /readyz body.
readyz_field() {
  json_get "$(curl -sS "http://127.0.0.1:$1/readyz")" "$2"
}

# json_get JSON PATH: a value from a JSON document (path of keys joined by "/").
json_get() {
  /usr/bin/python3 -c '
import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2].split("/"):
    v = v.get(k) if isinstance(v, dict) else None
print("" if v is None else v)' "$1" "$2"
}

# sign BODY [KEY [T]]: the X-Charter-Signature value for BODY, signed now (or
# at T) with the test gateway's key (or KEY).
sign() {
  local t=${3:-$(date +%s)} mac
  mac=$(printf '%s.%s' "$t" "$1" | openssl dgst -sha256 -hmac "${2:-$GATEWAY_KEY}" -r | cut -d' ' -f1)
  printf 't=%s,v1=%s' "$t" "$mac"
}

# post_json PORT PATH BODY [CONTENT_TYPE] -> "STATUS BODY", signed as gateway "it".
post_json() {
  curl -sS -o "$WORK/resp.json" -w '%{http_code}' -X POST -H "Content-Type: ${4:-application/json}" \
    -H "X-Charter-Gateway: $GATEWAY_ID" -H "X-Charter-Signature: $(sign "$3")" \
    --data-binary "$3" "http://127.0.0.1:$1$2"
  printf ' '
  cat "$WORK/resp.json"
}
