#!/usr/bin/env bash
# ingest across crashes (issue 14: H3, H4, L5, L11), the real binaries on a
# real redis-server and the embedded broker, topics read with kcat and
# decoded by protoc's Python modules (topic_read.py):
#
# 1. ingest killed with -9 after Kafka took a contact and answered 202, its
#    outcome record held back by Redis (CLIENT PAUSE WRITE): the gateway's
#    retry after the claim's lease gets the same case, reference and event
#    id, the topic holds one case under one event_id, and notification
#    (running throughout, file outbox) sends the customer one acknowledgement.
# 2. Redis loses everything (FLUSHALL) under a running ingest, then again
#    with ingest restarted: no reference on the topic is issued twice.
# 3. a Kafka gateway record without gateway_message_id read again (its
#    offset rewound, as after a crash before the commit): one case.
# 4. SIGTERM while Kafka is slower than the shutdown: every request in
#    flight has its outcome in Redis, and its retry the same identifiers.
#
# The broker delays its answers (POST /brokers/rtt?ms=N): a produce is on
# the log when it arrives, its acknowledgement comes N ms later.
source "$(dirname "$0")/lib.sh"

TOPIC=charter.contact.events.v1
GW_TOPIC=charter.gateway.crash.v1
ORG=derby-homes # its e-mails are acknowledged at receipt
NOW=$(date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%SZ)
# The claim's lease is kafka.message.timeout.ms plus ingest.claim_grace_ms:
# 9 s here (older binaries, without the key: a minute more).
INGEST_ENV=(CHARTER_KAFKA_MESSAGE_TIMEOUT_MS=8000 CHARTER_INGEST_ANSWER_TIMEOUT_MS=15000
  "CHARTER_INGEST_GATEWAY_TOPICS=crash=$GW_TOPIC")
HELP=$("$BUILD/services/ingest/charter-ingest" --help) # not piped into grep -q: SIGPIPE
grep -q claim_grace_ms <<<"$HELP" && INGEST_ENV+=(CHARTER_INGEST_CLAIM_GRACE_MS=1000)

printf 'crash orgs=%s\n' "$ORG" >>"$GATEWAYS_FILE" # the Kafka gateway
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
rtt() { curl -fsS -X POST "http://$BROKER_CONTROL/brokers/rtt?ms=$1" >/dev/null || fail "broker rtt $1"; }
status() { printf '%s' "${1%% *}"; }
body() { printf '%s' "${1#* }"; }
contact() { # contact GMID: a contact body (no gateway_message_id when GMID is empty)
  printf '{"organisation":"%s","channel":"email","received_at":"%s","summary":"Leaking gutter %s","customer":{"email":"%s@example.org"}%s}' \
    "$ORG" "$NOW" "$1" "${1:-contact}" "${1:+,\"gateway_message_id\":\"$1\"}"
}
# post_to FILE BODY: POST /v1/contacts, "STATUS BODY" into FILE.
post_to() {
  curl -sS -o "$1.body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -H "X-Charter-Gateway: $GATEWAY_ID" -H "X-Charter-Signature: $(sign /v1/contacts "$2")" \
    --data-binary "$2" "http://127.0.0.1:${SVC_PORT[ingest]}/v1/contacts" >"$1.code" 2>/dev/null || true
  printf '%s %s' "$(cat "$1.code")" "$(cat "$1.body" 2>/dev/null)" >"$1"
}
start_ingest() { start_service ingest "${INGEST_ENV[@]}"; wait_ready ingest; }
kill9_ingest() {
  local pid=${SVC_PID[ingest]}
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
}
PB2="$WORK/pb2"
/usr/bin/python3 "$SRC/tests/integration/cases.py" pb2 "$SRC/proto" "$PB2" || fail "protoc python modules"
read_topic() {
  kcat -b "$BOOTSTRAP" -C -t "$TOPIC" -e -q -f '%R%s' 2>/dev/null |
    /usr/bin/python3 "$SRC/tests/integration/topic_read.py" "$PB2" CaseEvent >"$WORK/records.jsonl" ||
    fail "could not read $TOPIC"
}
# received_summary [WORD]: "RECORDS CASES EVENT_IDS REFERENCES REUSED" over
# the topic's received events (whose summary has WORD, if given; REUSED:
# references held by more than one case).
received_summary() {
  read_topic
  /usr/bin/python3 - "$WORK/records.jsonl" "${1:-}" <<'PY'
import collections, json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
rs = [r for r in rs if r.get("_type") == "received"
      and (not sys.argv[2] or sys.argv[2] in r["received"].get("summary", "").split())]
by_ref = collections.defaultdict(set)
for r in rs:
    by_ref[r["received"]["reference"]].add(r["case_id"])
reused = sorted(k for k, v in by_ref.items() if len(v) > 1)
print(len(rs), len({r["case_id"] for r in rs}), len({r["event_id"] for r in rs}), len(by_ref),
      ",".join(reused) or "-")
PY
}

start_redis
start_broker
OUTBOX="$WORK/outbox"
start_service notification CHARTER_NOTIFY_OUTBOX_DIR="$OUTBOX" CHARTER_NOTIFY_PRINT_DIR="$WORK/print" \
  CHARTER_NOTIFY_TEMPLATE_DIR="$SRC/templates" CHARTER_NOTIFY_POLICY_DIR="$SRC/policies"
wait_ready notification
start_ingest
pass "ingest ready (redis $REDIS_URL, kafka $BOOTSTRAP)"

# ---- 1. kill -9 between Kafka's acknowledgement and the outcome record ----
KEY="charter:idem:{$ORG}:$GATEWAY_ID:crash-1"
r=$(post_json "${SVC_PORT[ingest]}" /v1/contacts "$(contact warm-up)") # the topic's metadata, known
[ "$(status "$r")" = 202 ] || fail "warm-up contact: $r"
rtt 3000
post_to "$WORK/first" "$(contact crash-1)" &
FIRST_PID=$!
wait_until 10 sh -c "[ \"\$(redis-cli -p $REDIS_PORT EXISTS '$KEY')\" = 1 ]" || fail "no claim for crash-1 in Redis"
rcli CLIENT PAUSE 60000 WRITE >/dev/null
wait "$FIRST_PID"
first=$(cat "$WORK/first")
[ "$(status "$first")" = 202 ] || { rcli CLIENT UNPAUSE >/dev/null; fail "first attempt: $first"; }
kill9_ingest
rcli CLIENT UNPAUSE >/dev/null
rtt 0
rec=$(rcli GET "$KEY")
[ "${rec:0:2}" = "P|" ] || fail "precondition: the outcome record reached Redis after all ($rec)"
CASE1=$(json_get "$(body "$first")" case_id)
REF1=$(json_get "$(body "$first")" reference)
EID1=$(json_get "$(body "$first")" event_id)
pass "202 for crash-1 (case $CASE1, $REF1), ingest killed with -9 before its outcome reached Redis (record still ${rec:0:1})"
start_ingest
retry=""
deadline=$(( $(date +%s) + 150 ))
while :; do
  post_to "$WORK/retry" "$(contact crash-1)"
  retry=$(cat "$WORK/retry")
  [ "$(status "$retry")" = 409 ] || break
  [ "$(date +%s)" -lt "$deadline" ] || fail "retry still 409 after 150 s"
  sleep 0.5
done
case $(status "$retry") in 200|202) ;; *) fail "retry after the lease: $retry" ;; esac
[ "$(json_get "$(body "$retry")" case_id)" = "$CASE1" ] &&
  [ "$(json_get "$(body "$retry")" reference)" = "$REF1" ] &&
  [ "$(json_get "$(body "$retry")" event_id)" = "$EID1" ] ||
  fail "the retry after the crash got other identifiers: first $(body "$first"), retry $(body "$retry")"
read -r n cases eids refs reused < <(received_summary crash-1)
[ "$cases" = 1 ] && [ "$eids" = 1 ] && [ "$refs" = 1 ] ||
  fail "topic after the crash and retry: $n received records, $cases cases, $eids event ids, $refs references (want 1 each)"
pass "retry after the crash and the lease: $(status "$retry") with the same case, reference and event id; the topic has $n record(s), one case, one event_id"
# notification has read every record on the contacts topic (the event written
# again among them), finished them, and sent everything it queued
metric() { curl -fsS "http://127.0.0.1:${SVC_PORT[notification]}/metrics" | awk -v k="$1" '$1 == k { print int($2) }'; }
notify_caught_up() {
  local n
  n=$(kcat -b "$BOOTSTRAP" -C -t "$TOPIC" -e -q -f '%o\n' 2>/dev/null | wc -l)
  [ "$(metric charter_kafka_consumed_total)" -ge "$n" ] && [ "$(metric charter_inflight_messages)" = 0 ] &&
    [ "$(rcli ZCARD charter:notify:queue)" = 0 ]
}
wait_until 60 notify_caught_up || fail "notification did not catch up with the contacts topic within 60 s"
acks=$(grep -F '"to":"crash-1@example.org"' "$OUTBOX"/*.jsonl 2>/dev/null | grep -cF acknowledgement || true)
[ "$acks" = 1 ] || fail "the customer of crash-1 got $acks acknowledgements (want 1)"
pass "notification, running throughout, sent the customer of $REF1 one acknowledgement"

# ---- 2. Redis data lost: no reference issued twice ----
for i in 1 2 3; do r=$(post_json "${SVC_PORT[ingest]}" /v1/contacts "$(contact "")"); [ "$(status "$r")" = 202 ] || fail "contact: $r"; done
rcli FLUSHALL >/dev/null
for i in 1 2 3; do r=$(post_json "${SVC_PORT[ingest]}" /v1/contacts "$(contact "")"); [ "$(status "$r")" = 202 ] || fail "contact after FLUSHALL: $r"; done
read -r n cases eids refs reused < <(received_summary)
[ "$reused" = - ] && [ "$refs" = "$cases" ] || fail "after FLUSHALL under a running ingest: references reused: $reused ($cases cases, $refs references)"
pass "FLUSHALL under a running ingest: $cases cases, $refs distinct references"
stop_service ingest
rcli FLUSHALL >/dev/null
start_ingest
grep -q 'case references reconciled' "$WORK/ingest.log" || fail "ingest did not log its reconciliation"
for i in 1 2 3; do r=$(post_json "${SVC_PORT[ingest]}" /v1/contacts "$(contact "")"); [ "$(status "$r")" = 202 ] || fail "contact after restart: $r"; done
read -r n cases eids refs reused < <(received_summary)
[ "$reused" = - ] && [ "$refs" = "$cases" ] || fail "after FLUSHALL and a restart: references reused: $reused ($cases cases, $refs references)"
pass "FLUSHALL, ingest restarted: the counter reconciled from the topic; $cases cases, $refs distinct references"

# ---- 3. a gateway record without gateway_message_id read twice ----
printf '{"type":"received","organisation":"%s","channel":"sms","received_at":"%s","summary":"No hot water"}\n' "$ORG" "$NOW" |
  kcat -b "$BOOTSTRAP" -P -t "$GW_TOPIC" -p 0 -k implicit-1
from_gateway() { read_topic; grep -c '"source": "kafka:crash"' "$WORK/records.jsonl" || true; }
one_from_gateway() { [ "$(from_gateway)" -ge 1 ]; }
wait_until 90 one_from_gateway || fail "the gateway record did not become an event within 90 s (the topic, made by kcat, is found at a metadata refresh and the group rejoined)"
stop_service ingest
/usr/bin/python3 - "$BOOTSTRAP" "$GW_TOPIC" <<'PY' || fail "could not rewind charter-ingest's offset on $GW_TOPIC"
import sys, time
from kafka import KafkaConsumer, TopicPartition, OffsetAndMetadata
# a member of charter-ingest's group (ingest is stopped), committing offset 0
c = KafkaConsumer(sys.argv[2], bootstrap_servers=sys.argv[1], group_id="charter-ingest",
                  enable_auto_commit=False, session_timeout_ms=6000, heartbeat_interval_ms=500)
tp = TopicPartition(sys.argv[2], 0)
deadline = time.time() + 40
while tp not in c.assignment():
    c.poll(timeout_ms=200, max_records=1)
    if time.time() > deadline:
        sys.exit("no assignment of %s" % (tp,))
c.commit({tp: OffsetAndMetadata(0, None)})
c.close()
PY
start_ingest
redelivered() { grep -q 'charter_kafka_consumed_total [1-9]' <(curl -fsS "http://127.0.0.1:${SVC_PORT[ingest]}/metrics"); }
wait_until 40 redelivered || fail "the rewound gateway record was not read again"
settled() { [ "$(curl -fsS "http://127.0.0.1:${SVC_PORT[ingest]}/metrics" | awk '$1 == "charter_inflight_messages" { print $2 }')" = 0 ]; }
wait_until 40 settled || fail "the gateway record read again was not finished"
k=$(from_gateway)
[ "$k" = 1 ] || fail "a gateway record without gateway_message_id, read twice, became $k events"
pass "a gateway record without gateway_message_id read again after its offset was rewound: one case"

# ---- 4. SIGTERM while Kafka is slower than the shutdown ----
rtt 8000
SLOW_PIDS=()
for i in 1 2 3 4; do post_to "$WORK/slow$i" "$(contact "slow-$i")" & SLOW_PIDS+=($!); done
all_claimed() { [ "$(redis-cli -p "$REDIS_PORT" --scan --pattern "charter:idem:{$ORG}:$GATEWAY_ID:slow-*" | wc -l)" = 4 ]; }
wait_until 10 all_claimed || fail "the four slow contacts were not all claimed"
# SIGTERM; the slow broker also delays the consumer's leaving, so no 6.5 s limit
pid=${SVC_PID[ingest]}
kill -TERM "$pid"
for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "ingest still running 20 s after SIGTERM"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 0 ] || fail "ingest exited with $rc after SIGTERM"
wait "${SLOW_PIDS[@]}"
rtt 0
for i in 1 2 3 4; do
  rec=$(rcli GET "charter:idem:{$ORG}:$GATEWAY_ID:slow-$i")
  case ${rec:0:2} in D\||F\|) ;; *) fail "slow-$i: no outcome recorded at shutdown (record: $rec; answer: $(cat "$WORK/slow$i"))" ;; esac
  case $(status "$(cat "$WORK/slow$i")") in 202) [ "${rec:0:2}" = "D|" ] || fail "slow-$i answered 202 but recorded $rec" ;; esac
done
pass "SIGTERM with four writes Kafka had not confirmed: each has its outcome record in Redis"
start_ingest
for i in 1 2 3 4; do
  rec=$(rcli GET "charter:idem:{$ORG}:$GATEWAY_ID:slow-$i")
  r=$(post_json "${SVC_PORT[ingest]}" /v1/contacts "$(contact "slow-$i")")
  case $(status "$r") in 200|202) ;; *) fail "slow-$i retry: $r" ;; esac
  IFS='|' read -r _ eid cid _ <<<"$rec"
  [ "$(json_get "$(body "$r")" case_id)" = "$cid" ] && [ "$(json_get "$(body "$r")" event_id)" = "$eid" ] ||
    fail "slow-$i retry got other identifiers than its first attempt ($rec): $r"
done
read -r n cases eids refs reused < <(received_summary)
[ "$eids" = "$cases" ] && [ "$reused" = - ] || fail "after the slow shutdown: $cases cases, $eids event ids, reused: $reused"
pass "their retries after the restart: the first attempts' identifiers; $cases cases, $eids event ids, no reference reused"
stop_service ingest
