#!/usr/bin/env bash
# docs/production.md's backup and restore, once end to end, with the real
# services on a redis-server with AOF and the embedded broker (standing in
# for a Kafka cluster that survives: it is not restarted):
#   1. traffic: NIHE e-mails of November 2025 (NIHE publishes yearly, so the
#      2025 publication is written, also to report.publication_dir) and
#      Derby Homes e-mails received now (acknowledged, their timers pending);
#   2. backup: BGSAVE, copy dump.rdb; then one more contact (after the backup);
#   3. stop every service and Redis; start a fresh redis-server from the
#      copy (appendonly off to load the RDB, then on); restart the services
#      with new consumer groups, which replay the topics from the start
#      (docs/production.md's "Kafka and Redis together");
#   4. the figures (GET /v1/report), the publication (unchanged, the same
#      published_at) and the pending timers are as before the stop, the
#      contact after the backup included; notices the backup knew of are not
#      sent again;
#   5. reporting rebuilt from nothing (an empty Redis, a new group) by a
#      replay gives the same /v1/report, and the 2025 publication comes back
#      from its file.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notification_lib.sh"
CTL="$BUILD/tools/charterctl/charterctl"
PY=/usr/bin/python3

REDIS_AOF=yes start_redis
start_broker
OUTBOX="$WORK/outbox"
PUB="$WORK/publications"
GEN=1
start_all() {
  local g=()
  [ "$GEN" = 1 ] || g=(CHARTER_KAFKA_GROUP_ID="charter-$1-restore$GEN")
  case $1 in
    ingest) start_service ingest ;;
    sla-timer) start_service sla-timer CHARTER_SLA_POLICY_DIR="$SRC/policies" "${g[@]}" ;;
    notification) start_service notification CHARTER_NOTIFY_OUTBOX_DIR="$OUTBOX" \
      CHARTER_NOTIFY_TEMPLATE_DIR="$SRC/templates" CHARTER_NOTIFY_POLICY_DIR="$SRC/policies" "${g[@]}" ;;
    reporting) start_service reporting CHARTER_REPORT_POLICY_DIR="$SRC/policies" \
      CHARTER_REPORT_SNAPSHOT_INTERVAL_S=1 CHARTER_REPORT_PUBLICATION_DIR="$PUB" "${g[@]}" ;;
  esac
}
SERVICES=(ingest sla-timer notification reporting)
for s in "${SERVICES[@]}"; do start_all "$s"; done
for s in "${SERVICES[@]}"; do wait_ready "$s"; done
pass "services ready (redis with AOF on $REDIS_PORT)"

D=derby-homes
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
N=nihe # publishes yearly
L1=$(new_case $N email enquiry 2025-11-03T10:00:00Z)
case_event "$L1" "{\"type\":\"responded\",\"organisation\":\"$N\",\"occurred_at\":\"2025-11-06T10:00:00Z\"}"
L2=$(new_case $N email enquiry 2025-11-03T11:00:00Z)
case_event "$L2" "{\"type\":\"responded\",\"organisation\":\"$N\",\"occurred_at\":\"2025-12-20T10:00:00Z\"}"
read -r E1 _ <<<"$(customer_contact $D email '{"name":"Amy Before","email":"amy@example.org"}')"
read -r E2 _ <<<"$(customer_contact $D email '{"name":"Ben Before","email":"ben@example.org"}')"
[ -n "$E1" ] && [ -n "$E2" ] || fail "the e-mail contacts were refused"

report() {
  curl -fsS "http://127.0.0.1:${SVC_PORT[reporting]}/v1/report?organisation=$D"
  curl -fsS "http://127.0.0.1:${SVC_PORT[reporting]}/v1/report?organisation=$N"
}
publication() { curl -fsS "http://127.0.0.1:${SVC_PORT[reporting]}/v1/publication?organisation=$N&period=2025"; }
# figures: the report without the instant it was made.
figures() { report | "$PY" -c 'import json,sys
def strip(o):
    if isinstance(o, dict): return {k: strip(v) for k, v in o.items() if k not in ("generated_at", "as_of", "now")}
    if isinstance(o, list): return [strip(v) for v in o]
    return o
dec = json.JSONDecoder(); text = sys.stdin.read().strip(); out = []
while text:
    o, i = dec.raw_decode(text); out.append(strip(o)); text = text[i:].strip()
print(json.dumps(out, sort_keys=True))'; }
received() { report | grep -o '"received":[0-9]*' | head -n 2 | paste -sd' '; }
timers() { "$CTL" timers --case "$1" --redis "$REDIS_URL" | grep -v '^[0-9]* timers*$' | sort; }
acks() { cat "$OUTBOX"/*.jsonl | grep -cF "\"notification_id\":\"$1/acknowledgement\"" || true; }
has_timers() { [ -n "$(timers "$1")" ]; }
final() { publication | qgrep '"final":true'; }

wait_until 60 final || fail "no final 2025 publication: $(publication)"
wait_until 30 test -s "$PUB/$N/2025.json" || fail "the 2025 publication is not in $PUB/$N/2025.json"
"$PY" -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.loads(sys.argv[2]); sys.exit(a!=b)' \
  "$PUB/$N/2025.json" "$(publication)" || fail "the file differs from GET /v1/publication"
acked() { [ "$(acks "$1")" -ge 1 ]; }
for c in "$E1" "$E2"; do
  wait_until 60 has_timers "$c" || fail "no timers for $c"
  wait_until 60 acked "$c" || fail "no acknowledgement for $c"
done
pass "2025 published (and in $PUB/$N/2025.json), e-mails acknowledged, their timers pending"

# ---- 2. backup ----
before_save=$(redis-cli -p "$REDIS_PORT" LASTSAVE)
redis-cli -p "$REDIS_PORT" BGSAVE >/dev/null
saved() {
  [ "$(redis-cli -p "$REDIS_PORT" LASTSAVE)" != "$before_save" ] &&
    redis-cli -p "$REDIS_PORT" INFO persistence | qgrep '^rdb_bgsave_in_progress:0'
}
wait_until 30 saved || fail "BGSAVE did not finish"
redis-cli -p "$REDIS_PORT" INFO persistence | qgrep '^rdb_last_bgsave_status:ok' || fail "BGSAVE failed"
mkdir -p "$WORK/backup" && cp "$WORK/dump.rdb" "$WORK/backup/dump.rdb"
pass "backup: BGSAVE and a copy of dump.rdb"

read -r E3 _ <<<"$(customer_contact $D email '{"name":"Cat After","email":"cat@example.org"}')"
[ -n "$E3" ] || fail "the contact after the backup was refused"
wait_until 60 has_timers "$E3" || fail "no timers for $E3"
wait_until 60 acked "$E3" || fail "no acknowledgement for $E3"
settled() { [ "$(figures)" = "$(sleep 2; figures)" ]; }
wait_until 60 settled || fail "the figures do not settle"
F_BEFORE=$(figures) P_BEFORE=$(publication)
T_BEFORE=$(for c in "$E1" "$E2" "$E3"; do timers "$c"; done)
grep -q "$E3" <<<"$T_BEFORE" || fail "E3's timers are not listed: $T_BEFORE"
pass "a contact after the backup; figures settled ($(received)), $(grep -c . <<<"$T_BEFORE") timers pending"

# ---- 3. stop everything, restore Redis from the copy, restart ----
for s in reporting notification sla-timer ingest; do stop_service "$s"; done
redis-cli -p "$REDIS_PORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
wait_until 10 bash -c "! kill -0 $REDIS_PID 2>/dev/null" || fail "redis-server did not stop"
mkdir -p "$WORK/restored" && cp "$WORK/backup/dump.rdb" "$WORK/restored/dump.rdb"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/restored" --save "" \
  --appendonly no --daemonize no >>"$WORK/redis.log" 2>&1 &
PIDS+=($!)
REDIS_PID=$!
wait_until 10 redis-cli -p "$REDIS_PORT" ping || fail "the restored redis-server did not start"
loaded() { redis-cli -p "$REDIS_PORT" INFO persistence | qgrep '^loading:0'; }
wait_until 30 loaded || fail "the restored redis-server did not load the RDB"
redis-cli -p "$REDIS_PORT" CONFIG SET appendonly yes >/dev/null || fail "CONFIG SET appendonly yes"
[ "$(redis-cli -p "$REDIS_PORT" EXISTS "charter:case:{$E1}:contact")" = 1 ] || fail "the backup lacks E1"
[ "$(redis-cli -p "$REDIS_PORT" EXISTS "charter:case:{$E3}:contact")" = 0 ] || fail "the backup has E3"
pass "Redis restored from the copy (AOF switched on after the load): E1 there, E3 (after the backup) not"

GEN=2
for s in "${SERVICES[@]}"; do start_all "$s"; done
for s in "${SERVICES[@]}"; do wait_ready "$s"; done
same_figures() { [ "$(figures)" = "$F_BEFORE" ]; }
wait_until 90 same_figures || fail "figures after the restore differ:
before: $F_BEFORE
after:  $(figures)"
[ "$(publication)" = "$P_BEFORE" ] || fail "the 2025 publication changed: $(publication)"
same_timers() { [ "$(for c in "$E1" "$E2" "$E3"; do timers "$c"; done)" = "$T_BEFORE" ]; }
wait_until 60 same_timers || fail "timers differ after the restore:
before: $T_BEFORE
after:  $(for c in "$E1" "$E2" "$E3"; do timers "$c"; done)"
[ "$(acks "$E1")" = 1 ] && [ "$(acks "$E2")" = 1 ] ||
  fail "an acknowledgement the backup knew of was sent again: E1 $(acks "$E1"), E2 $(acks "$E2")"
pass "after restore + replay: the same figures, publication and timers (E3's included); E1's and E2's acknowledgements not sent again (E3's: $(acks "$E3"))"

# ---- 5. reporting rebuilt from nothing by a replay ----
stop_service reporting
start_redis_2() {
  REDIS2_PORT=$(free_port)
  redis-server --port "$REDIS2_PORT" --bind 127.0.0.1 --dir "$WORK/restored" --dbfilename empty.rdb \
    --save "" --appendonly no --daemonize no >>"$WORK/redis2.log" 2>&1 &
  PIDS+=($!)
  wait_until 10 redis-cli -p "$REDIS2_PORT" ping || fail "the second redis-server did not start"
}
start_redis_2
GEN=3
SVC_PORT[reporting]=$(free_port)
start_service reporting CHARTER_REDIS_URL="redis://127.0.0.1:$REDIS2_PORT/0" \
  CHARTER_REPORT_POLICY_DIR="$SRC/policies" CHARTER_REPORT_SNAPSHOT_INTERVAL_S=1 \
  CHARTER_REPORT_PUBLICATION_DIR="$PUB" CHARTER_KAFKA_GROUP_ID=charter-reporting-rebuild
wait_ready reporting
wait_until 90 same_figures || fail "reporting rebuilt by replay differs:
before: $F_BEFORE
after:  $(figures)"
wait_until 30 final || fail "no 2025 publication in the rebuilt reporting"
[ "$(publication)" = "$P_BEFORE" ] || fail "the rebuilt 2025 publication differs (not from its file): $(publication)"
grep -q "restored from its file" "$WORK/reporting.log" || fail "reporting did not say it restored the publication"
pass "reporting rebuilt from an empty Redis by a replay: the same /v1/report; the 2025 publication restored from its file, published_at unchanged"
