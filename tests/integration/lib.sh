# shellcheck shell=bash
# Shared helpers for integration tests: a real redis-server on a free
# loopback port, the embedded broker or Apache Kafka (start_apache_kafka),
# the real service binaries, kcat as the independent Kafka client and protoc
# as the independent decoder. Every wait is bounded; the EXIT trap stops
# only the processes this script started. Starting redis-server, the broker
# and a service is stack.sh's (shared with the benchmarks); this file adds
# what the tests need around it: ctest's environment, the pass/fail log, the
# services' test settings, clean-stop checks and readers of what was written.
#
# ingest authenticates every request: the tests' gateway "it" gets a fresh
# random key in $WORK/gateways (and may write for every organisation:
# orgs=*), and post_json signs with openssl (scheme v2, over the method,
# path and body), the same one-liner docs/api.md gives gateway authors.
set -euo pipefail

BUILD=${CHARTER_BUILD_DIR:?set CHARTER_BUILD_DIR to the build directory}
SRC=${CHARTER_SOURCE_DIR:?set CHARTER_SOURCE_DIR to the source directory}
WORK=$(mktemp -d /tmp/charter-it.XXXXXX)
# shellcheck source=stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
FAILED=0
GATEWAY_ID=it
GATEWAY_KEY=$(openssl rand -hex 32)
GATEWAYS_FILE="$WORK/gateways"
( umask 077; printf '# test gateways: ID KEY [KEY2] orgs=ORG,... [accept_v1=true]\n%s %s orgs=*\n' "$GATEWAY_ID" "$GATEWAY_KEY" >"$GATEWAYS_FILE" )

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*"; }
# qgrep ARGS...: grep -q that reads all of its input. Under pipefail,
# `producer | grep -q x` fails when grep exits at the first match and the
# producer (kcat, curl, a long listing) is then killed by SIGPIPE: a check
# that found what it wanted would read as "not found".
qgrep() { grep "$@" >/dev/null; }
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
  stop_pids "${PIDS[@]}"
  wait 2>/dev/null || true
  if [ "$rc" -eq 0 ] && [ "$FAILED" -eq 0 ] && [ -z "${CHARTER_KEEP_WORK:-}" ]; then rm -rf "$WORK"; else echo "work dir kept: $WORK"; fi
}
trap cleanup EXIT

# start_apache_kafka [NODES [--set KEY=VALUE]...]: Apache Kafka
# (scripts/kafka.sh: the pinned broker, fetched into the build tree on first
# use) as NODES KRaft nodes on loopback (default 3: replication factor 3,
# min.insync.replicas 2) with Charter's topics, data and logs in
# $WORK/kafka/node*/; --set adds a broker setting. Sets BOOTSTRAP (every
# node's address) and KAFKA_NODE_PID[1..NODES]. The nodes' PIDs join PIDS, so
# the EXIT trap stops them even if kafka.sh itself is killed; kafka.sh also
# stops them when this script ends. The JVMs run under `nice -n
# ${KAFKA_NICE:-10}` (the machine is shared). The first run fetches the
# broker with Maven (build/kafka/VERSION/lib); KAFKA_START_WAIT bounds it all
# (300 s).
declare -A KAFKA_NODE_PID
start_apache_kafka() {
  local nodes=${1:-3} deadline=$(( $(date +%s) + ${KAFKA_START_WAIT:-300} )) i
  [ $# -gt 0 ] && shift
  nice -n "${KAFKA_NICE:-10}" bash "$SRC/scripts/kafka.sh" start --nodes "$nodes" --dir "$WORK/kafka" \
    --ready-file "$WORK/kafka.ready" --owner $$ "$@" >"$WORK/kafka.out" 2>"$WORK/kafka.log" &
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

# kafka_leader TOPIC PARTITION: the node id (1..N) leading the partition.
kafka_leader() {
  kcat -b "$BOOTSTRAP" -L -t "$1" 2>/dev/null |
    awk -v p="$2" '$1 == "partition" && $2 == p "," { sub(/,$/, "", $4); print $4; exit }'
}

# kill_kafka_node I: kill -9 of node I's JVM, by its PID; waits until it is gone.
kill_kafka_node() {
  local pid=${KAFKA_NODE_PID[$1]}
  kill -KILL "$pid"
  wait_until 10 sh -c "! kill -0 $pid 2>/dev/null" || fail "Kafka node $1 (pid $pid) still running after kill -9"
}

# restart_kafka_node I: node I started again with scripts/kafka.sh restart
# (after kill_kafka_node, or stopped with SIGTERM if running); returns once
# every partition has all its replicas in sync again. Updates
# KAFKA_NODE_PID[I] and PIDS.
restart_kafka_node() {
  local pid
  pid=$(nice -n "${KAFKA_NICE:-10}" bash "$SRC/scripts/kafka.sh" restart "$WORK/kafka" "$1" 2>>"$WORK/kafka.log") ||
    fail "scripts/kafka.sh restart of node $1 failed: $(tail -n 3 "$WORK/kafka.log")"
  KAFKA_NODE_PID[$1]=$pid
  PIDS=("$pid" "${PIDS[@]}")
  log "$(grep "node $1 back" "$WORK/kafka.log" | tail -n 1)"
}

# start_service NAME [VAR=VALUE ...]: starts build/services/NAME with the
# test's Redis and broker, a free HTTP port, and extra environment.
start_service() {
  local name=$1; shift
  local extra=()
  [ "$name" = ingest ] && extra+=(CHARTER_INGEST_GATEWAYS_FILE="$GATEWAYS_FILE" CHARTER_INGEST_POLICY_DIR="$SRC/policies")
  start_charter "$name" "${extra[@]}" CHARTER_KAFKA_SESSION_TIMEOUT_MS=6000 \
    CHARTER_KAFKA_HEARTBEAT_INTERVAL_MS=500 CHARTER_KAFKA_TOPIC_METADATA_REFRESH_INTERVAL_MS=1000 "$@"
}

# short_policy DIR ID PREFIX: a test charter for organisation ID (references
# PREFIX-YYYY-NNNNNN) with the skeleton's short clocks: every contact
# acknowledged within 6 seconds and answered within an hour.
short_policy() {
  mkdir -p "$1"
  policy_yaml "$2" "Test organisation $2" "$3" "6 seconds" "1 hours" \
    says="We acknowledge within six seconds and reply within an hour." >"$1/$2.yaml"
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

# has_record TOPIC KEY: succeeds once a record with KEY is on TOPIC.
has_record() { [ -n "$(find_record "$1" "$2")" ]; }

# expect_in TEXT WHAT WANT...: fails naming the first WANT that TEXT (a
# decoded record) lacks.
expect_in() {
  local txt=$1 what=$2 want
  shift 2
  for want in "$@"; do
    grep -qF "$want" <<<"$txt" || fail "$what lacks '$want'; decoded: $txt"
  done
}

# post_staff_acknowledged ORG: a letter contact of ORG received now and
# acknowledged by staff at once, before any timer of it is due; sets CASE_B
# and B_S (its receipt, epoch seconds). "Now" is taken here, not at the
# test's start: the test's clocks are seconds long, and on a loaded machine
# the steps before this can take longer than that.
post_staff_acknowledged() {
  local r at
  at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  B_S=$(date -u -d "$at" +%s)
  set -- "$1" "$at"
  r=$(post_json "$IN" /v1/contacts "{\"organisation\":\"$1\",\"channel\":\"letter\",\"received_at\":\"$2\"}")
  [ "${r%% *}" = 202 ] || fail "POST case B: $r"
  CASE_B=$(json_get "${r#* }" case_id)
  r=$(post_json "$IN" "/v1/cases/$CASE_B/events" "{\"type\":\"acknowledged\",\"organisation\":\"$1\",\"occurred_at\":\"$2\",\"by\":\"j.smith\"}")
  [ "${r%% *}" = 202 ] || fail "POST acknowledged for case B: $r"
  pass "case $CASE_B acknowledged before its timer was due"
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

# sign PATH BODY [KEY [T]]: the X-Charter-Signature value (scheme v2) for a
# POST of BODY to PATH (with its query string, as sent), signed now (or at T)
# with the test gateway's key (or KEY).
sign() {
  local t=${4:-$(date +%s)} mac
  mac=$(printf '%s.POST.%s.%s' "$t" "$1" "$2" | openssl dgst -sha256 -hmac "${3:-$GATEWAY_KEY}" -r | cut -d' ' -f1)
  printf 't=%s,v2=%s' "$t" "$mac"
}

# sign_v1 BODY [KEY [T]]: the old scheme v1 (t and body only), which ingest
# takes only from gateways with accept_v1=true.
sign_v1() {
  local t=${3:-$(date +%s)} mac
  mac=$(printf '%s.%s' "$t" "$1" | openssl dgst -sha256 -hmac "${2:-$GATEWAY_KEY}" -r | cut -d' ' -f1)
  printf 't=%s,v1=%s' "$t" "$mac"
}

# post_json PORT PATH BODY [CONTENT_TYPE] -> "STATUS BODY", signed as gateway "it".
post_json() {
  curl -sS -o "$WORK/resp.json" -w '%{http_code}' -X POST -H "Content-Type: ${4:-application/json}" \
    -H "X-Charter-Gateway: $GATEWAY_ID" -H "X-Charter-Signature: $(sign "$2" "$3")" \
    --data-binary "$3" "http://127.0.0.1:$1$2"
  printf ' '
  cat "$WORK/resp.json"
}

# start_ingest_and_reporting [VAR=VALUE ...]: redis-server, the broker,
# ingest, and reporting with the shipped policies and the extra environment
# given, all ready. Sets REPORT, reporting's port.
start_ingest_and_reporting() {
  local s
  start_redis
  start_broker
  start_service ingest
  start_service reporting CHARTER_REPORT_POLICY_DIR="$SRC/policies" "$@"
  for s in ingest reporting; do wait_ready "$s"; done
  pass "ingest and reporting ready (redis $REDIS_URL, kafka $BOOTSTRAP)"
  REPORT=${SVC_PORT[reporting]}
}

# new_case ORG CHANNEL TYPE RECEIVED_AT: posts a contact to ingest (without a
# case_type when TYPE is empty; fails the test unless it is accepted) and
# prints its case id.
new_case() {
  local r
  r=$(post_json "${SVC_PORT[ingest]}" /v1/contacts "{\"organisation\":\"$1\",\"channel\":\"$2\",${3:+\"case_type\":\"$3\",}\"received_at\":\"$4\"}")
  [ "${r%% *}" = 202 ] || fail "POST /v1/contacts $*: $r"
  json_get "${r#* }" case_id
}

# case_event CASE JSON: posts an event of CASE to ingest; fails the test
# unless it is accepted.
case_event() {
  local r
  r=$(post_json "${SVC_PORT[ingest]}" "/v1/cases/$1/events" "$2")
  [ "${r%% *}" = 202 ] || fail "POST event on $1: $2: $r"
}

# policy_yaml ID NAME PREFIX ACKNOWLEDGE RESPOND [OPTION...]: prints a test
# policy: a council in England and Wales (Europe/London, open 09:00-17:00 on
# weekdays) with one promise, every-contact, on any channel, acknowledged
# within ACKNOWLEDGE and answered within RESPOND. OPTIONs:
#   says=TEXT          the promise's words (default "Test promise.")
#   role=KEY:NAME      a role; repeated for more (default owner:Case owner)
#   warning=AT:ROLE    a warning at AT to ROLE; repeated for more
#   quiet=HH:MM-HH:MM  the SMS quiet hours
#   named_contact      the promise names a contact (the policy's contact: is the
#                      Customer Service Team on 0115 915 2222)
policy_yaml() {
  local id=$1 name=$2 prefix=$3 ack=$4 respond=$5 says="Test promise." quiet="" named="" o
  local roles=() warnings=()
  shift 5
  for o in "$@"; do
    case $o in
      says=*) says=${o#says=} ;;
      role=*) roles+=("${o#role=}") ;;
      warning=*) warnings+=("${o#warning=}") ;;
      quiet=*) quiet=${o#quiet=} ;;
      named_contact) named=1 ;;
      *) fail "policy_yaml: unknown option $o" ;;
    esac
  done
  [ ${#roles[@]} -gt 0 ] || roles=("owner:Case owner")
  cat <<YAML
organisation:
  id: $id
  name: $name
  reference_prefix: $prefix
  kind: council
calendar: england-and-wales
timezone: Europe/London
opening_hours:
  monday-friday: "09:00-17:00"
YAML
  [ -z "$quiet" ] || printf 'sms_quiet_hours: "%s"\n' "$quiet"
  [ -z "$named" ] || printf 'contact:\n  team: Customer Service Team\n  phone: 0115 915 2222\n'
  printf 'roles:\n'
  for o in "${roles[@]}"; do printf '  %s: %s\n' "${o%%:*}" "${o#*:}"; done
  printf 'promises:\n  - id: every-contact\n    channel: any\n    says: %s\n' "$says"
  printf '    acknowledge: %s\n    respond: %s\n' "$ack" "$respond"
  [ -z "$named" ] || printf '    named_contact: true\n'
  [ ${#warnings[@]} -eq 0 ] || printf '    warnings:\n'
  for o in "${warnings[@]}"; do printf '      - at: "%s"\n        to: %s\n' "${o%:*}" "${o##*:}"; done
}
