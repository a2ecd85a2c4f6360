#!/usr/bin/env bash
# notification through outages, deploys and edits (issue 14: M1, M4, M5, M7),
# with the real binaries, Redis, the embedded broker, smtp_sink.py and the
# HTTP gateway stand-in:
# - a mail relay down for longer than the retry budget (notify.max_attempts
#   2 here): every acknowledgement is parked (charter:notify:parked, counted,
#   alarmed), none failed or dead-lettered; the relay comes back and
#   `charterctl notify replay` sends each exactly once; a second replay sends
#   nothing;
# - the HTTP gateway answering 401 (a wrong bearer token): the SMS is parked
#   with an operator alarm, not failed; with the key fixed, a replay for the
#   organisation sends it once;
# - SIGTERM while the relay is slowly answering a send (RCPT TO answered
#   after 8 s, longer than shutdown.timeout_ms): notification waits, the send
#   completes (record "sent") and nothing is sent again after the restart;
# - a broken template edit on disk without SIGHUP changes nothing; with
#   SIGHUP the reload is refused and the old text keeps going out; a good
#   edit with SIGHUP is taken;
# - notification down with timers fired more than ten minutes ago and the
#   contacts topic far behind (fetches kept small so it catches up slowly):
#   each acknowledgement goes once with no failed outcome, and each
#   appointment reminder (which only its timer sends) goes once.
#
# NOTIFY_OUTAGES_PARTS (default "m7 auth m4 m5 m1") runs only the parts named,
# e.g. to show one failing against an older build (CHARTER_BUILD_DIR).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notification_lib.sh"
part() { [[ " ${NOTIFY_OUTAGES_PARTS:-m7 auth m4 m5 m1} " == *" $1 "* ]]; }
is_case() { [[ $1 =~ ^[0-9a-f-]{36}$ ]] || fail "a contact was refused: $1"; }

PY=/usr/bin/python3
PB2="$WORK/pb2"
"$PY" "$SRC/tests/integration/cases.py" pb2 "$SRC/proto" "$PB2"
CTL="$BUILD/tools/charterctl/charterctl"
start_redis
start_broker
start_gateway
SMTP_PORT_WANTED=$(free_port) # the relay: down at first
POLICIES="$WORK/policies"
write_short_policy "$POLICIES"
TEMPLATES="$WORK/templates"
cp -r "$SRC/templates" "$TEMPLATES"
R() { redis-cli -p "$REDIS_PORT" "$@"; }
NENV=(CHARTER_NOTIFY_EMAIL_TRANSPORT=smtp CHARTER_NOTIFY_SMS_TRANSPORT=http
  "CHARTER_NOTIFY_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT_WANTED" CHARTER_NOTIFY_SMTP_FROM=noreply@council.example
  "CHARTER_NOTIFY_HTTP_URL=http://127.0.0.1:$GATEWAY_PORT" CHARTER_NOTIFY_HTTP_SMS_TEMPLATE_ID=sms-template
  CHARTER_NOTIFY_SMTP_TIMEOUT_MS=5000 CHARTER_NOTIFY_HTTP_TIMEOUT_MS=5000 CHARTER_NOTIFY_LEASE_MS=8000
  CHARTER_NOTIFY_RETRY_BASE_MS=200 CHARTER_NOTIFY_RETRY_MAX_MS=400 CHARTER_NOTIFY_MAX_ATTEMPTS=2
  CHARTER_NOTIFY_OUTBOX_DIR="$WORK/outbox" CHARTER_NOTIFY_TEMPLATE_DIR="$TEMPLATES"
  CHARTER_NOTIFY_POLICY_DIR="$POLICIES")
# later settings of the same key win (env(1) keeps the last)
notification() { start_service notification "${NENV[@]}" "$@"; wait_ready notification; }
start_service ingest
wait_ready ingest
notification "CHARTER_NOTIFY_HTTP_TOKEN=$GATEWAY_TOKEN"
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
metric() { curl -fsS "http://127.0.0.1:${SVC_PORT[notification]}/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
outcomes() { kcat -b "$BOOTSTRAP" -C -t charter.notify.outcomes.v1 -e -q -f '%s\n' 2>/dev/null | grep -a "$1" || true; }
mails_to() { grep -cF "\"rcpt_tos\": [\"$1\"]" "$SMTP_LOG" 2>/dev/null || true; }

# ---- M7: a relay down for longer than the retry budget, then a replay ----
if part m7; then
N=12
declare -a CASES
for i in $(seq 1 $N); do
  read -r c _ <<<"$(customer_contact nottingham-city-homes email "{\"name\":\"Out $i\",\"email\":\"out$i@example.org\"}")"
  is_case "$c"
  CASES+=("$c")
done
parked_count() { [ "$(R ZCARD charter:notify:parked)" = "$1" ]; }
wait_until 60 parked_count $N || fail "$(R ZCARD charter:notify:parked) of $N acknowledgements parked; records: $(for c in "${CASES[@]}"; do R GET "charter:notify:{$c}:acknowledgement"; done | sort | uniq -c | tr '\n' ' ')"
for c in "${CASES[@]}"; do
  [ "$(R GET "charter:notify:{$c}:acknowledgement")" = parked ] || fail "record of $c: $(R GET "charter:notify:{$c}:acknowledgement")"
done
[ "$(metric charter_notify_parked_total)" = $N ] || fail "charter_notify_parked_total $(metric charter_notify_parked_total), want $N"
grep -q 'ALARM retry budget spent: notification parked' "$WORK/notification.log" || fail "no operator alarm logged"
[ -z "$(outcomes '/acknowledgement/failed')" ] || fail "a parked acknowledgement was announced failed"
[ "$(kcat -b "$BOOTSTRAP" -C -t charter.dlq.v1 -e -q -f '%k\n' 2>/dev/null | wc -l)" = 0 ] || fail "something was dead-lettered"
"$CTL" notify parked --redis "$REDIS_URL" | grep -c '/acknowledgement' | qgrep -x $N || fail "charterctl notify parked does not list $N"
pass "relay down past the retry budget: $N acknowledgements parked (record, set, metric, alarm), none failed or dead-lettered"

start_smtp_sink 0
OUT=$("$CTL" notify replay --redis "$REDIS_URL") || fail "replay failed: $OUT"
[ "$OUT" = "replayed $N, already settled 0, expired 0" ] || fail "replay said: $OUT"
all_sent() { for c in "${CASES[@]}"; do [ "$(R GET "charter:notify:{$c}:acknowledgement")" = sent ] || return 1; done; }
wait_until 60 all_sent || fail "not every replayed acknowledgement was sent"
OUT=$("$CTL" notify replay --redis "$REDIS_URL")
[ "$OUT" = "replayed 0, already settled 0, expired 0" ] || fail "second replay said: $OUT"
queue_empty() { [ "$(R ZCARD charter:notify:queue)" = 0 ]; }
wait_until 30 queue_empty || fail "queue not drained"
for i in $(seq 1 $N); do
  [ "$(mails_to "out$i@example.org")" = 1 ] || fail "out$i@example.org got $(mails_to "out$i@example.org") emails"
done
pass "relay back, charterctl notify replay: each of the $N customers got exactly one acknowledgement; a second replay sends nothing"
fi
[ -n "${SMTP_LOG:-}" ] || start_smtp_sink 0

# ---- M7: 401 from the HTTP gateway is an alarm and parks ----
if part auth; then
stop_service notification
notification CHARTER_NOTIFY_HTTP_TOKEN=not-the-token
read -r CASE_W _ <<<"$(customer_contact nottingham-city-homes sms '{"name":"Wes Example","phone":"07700900555"}')"
is_case "$CASE_W"
parked_w() { [ "$(R GET "charter:notify:{$CASE_W}:acknowledgement")" = parked ]; }
wait_until 60 parked_w || fail "the SMS refused with 401 was not parked: $(R GET "charter:notify:{$CASE_W}:acknowledgement")"
grep -q '"status":401' "$GATEWAY_LOG" || fail "the gateway did not answer 401: $(tail -n 2 "$GATEWAY_LOG")"
[ "$(metric charter_notify_auth_refused_total)" = 1 ] || fail "charter_notify_auth_refused_total $(metric charter_notify_auth_refused_total)"
grep -q 'ALARM transport refused our credentials' "$WORK/notification.log" || fail "no credentials alarm logged"
[ -z "$(outcomes "$CASE_W/acknowledgement/failed")" ] || fail "the 401 was announced failed"
[ "$(kcat -b "$BOOTSTRAP" -C -t charter.dlq.v1 -e -q -f '%k\n' 2>/dev/null | wc -l)" = 0 ] || fail "the 401 was dead-lettered"
grep -qF not-the-token "$WORK/notification.log" && fail "the token reached the log"
pass "HTTP 401: parked, alarmed (log, charter_notify_auth_refused_total), not failed or dead-lettered"
stop_service notification
notification "CHARTER_NOTIFY_HTTP_TOKEN=$GATEWAY_TOKEN"
OUT=$("$CTL" notify replay --organisation nottingham-city-homes --redis "$REDIS_URL")
[ "$OUT" = "replayed 1, already settled 0, expired 0" ] || fail "replay said: $OUT"
sent_w() { [ "$(R GET "charter:notify:{$CASE_W}:acknowledgement")" = sent ]; }
wait_until 30 sent_w || fail "the replayed SMS was not sent"
accepted=$("$PY" -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if (x := json.loads(l))["reference"] == sys.argv[2] and x["status"] == 201))' "$GATEWAY_LOG" "$CASE_W/acknowledgement")
[ "$accepted" = 1 ] || fail "the SMS was accepted $accepted times: $(grep -F "$CASE_W" "$GATEWAY_LOG")"
pass "key fixed, replay --organisation: the SMS went once"
fi

# ---- M4: SIGTERM while a send is under way ----
FAST_LOG=$SMTP_LOG FAST_PORT=$SMTP_PORT
if part m4; then
stop_service notification
SMTP_PORT_WANTED=$(free_port)
SMTP_LOG="$WORK/slow.jsonl"
start_smtp_sink 0 --delay-ms 8000
# An answer 8 s away: longer than the runtime's own shutdown.timeout_ms
# (4.5 s), shorter than notify.shutdown_grace_ms (20 s).
SLOW=("CHARTER_NOTIFY_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT" CHARTER_NOTIFY_SMTP_TIMEOUT_MS=10000
  CHARTER_NOTIFY_LEASE_MS=12000)
notification "CHARTER_NOTIFY_HTTP_TOKEN=$GATEWAY_TOKEN" "${SLOW[@]}"
read -r CASE_T _ <<<"$(customer_contact nottingham-city-homes email '{"name":"Tam Example","email":"tam@example.org"}')"
is_case "$CASE_T"
data_in() { grep -qF tam@example.org "$SMTP_LOG.rcpt" 2>/dev/null; }
wait_until 30 data_in || fail "the slow relay never got the message"
pid=${SVC_PID[notification]}
log "the slow relay has the RCPT TO, its answer 8 s away: SIGTERM"
kill -TERM "$pid"
for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "notification still running 30 s after SIGTERM"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 0 ] || fail "notification exited with $rc after SIGTERM"
[ "$(R GET "charter:notify:{$CASE_T}:acknowledgement")" = sent ] ||
  fail "after SIGTERM mid-send the record is '$(R GET "charter:notify:{$CASE_T}:acknowledgement")', not sent (the send was cut off)"
[ -z "$(R ZSCORE charter:notify:queue "$CASE_T/acknowledgement")" ] || fail "the acknowledgement is left in the queue"
[ "$(mails_to tam@example.org)" = 1 ] || fail "tam@example.org got $(mails_to tam@example.org) emails"
grep -q 'shutdown deadline reached with work in flight' "$WORK/notification.log" && fail "shutdown cut a send off"
notification "CHARTER_NOTIFY_HTTP_TOKEN=$GATEWAY_TOKEN" "${SLOW[@]}"
# A claim left behind would be sent again once its 12 s lease ran out.
sleep 14
[ "$(wc -l <"$SMTP_LOG.rcpt")" = 1 ] || fail "the slow relay saw $(wc -l <"$SMTP_LOG.rcpt") attempts"
[ "$(mails_to tam@example.org)" = 1 ] || fail "after the restart tam@example.org got $(mails_to tam@example.org) emails"
[ -z "$(outcomes "$CASE_T/delivery_unknown")" ] || fail "a delivery_unknown note was raised"
pass "SIGTERM mid-send: shutdown waited for the relay's answer (record sent), nothing sent again after the restart"
stop_service notification
SMTP_LOG=$FAST_LOG
notification "CHARTER_NOTIFY_HTTP_TOKEN=$GATEWAY_TOKEN" "CHARTER_NOTIFY_SMTP_URL=smtp://127.0.0.1:$FAST_PORT"
fi

# ---- M5: templates change only through SIGHUP ----
if part m5; then
ACK="$TEMPLATES/default/acknowledgement.email.en.txt"
cp "$ACK" "$WORK/ack.good"
sed -i 's/Your reference is {reference}\./Your reference is {refrence}./' "$ACK"
body_of() { grep -F "\"rcpt_tos\": [\"$1\"]" "$SMTP_LOG" | "$PY" -c 'import json,sys; print(json.loads(sys.stdin.readline())["body"])'; }
read -r CASE_E1 REF_E1 <<<"$(customer_contact nottingham-city-homes email '{"name":"Edi One","email":"edi1@example.org"}')"
is_case "$CASE_E1"
has1() { [ "$(mails_to edi1@example.org)" = 1 ]; }
wait_until 60 has1 || fail "a broken edit on disk stopped the acknowledgement: $(outcomes "$CASE_E1/acknowledgement")"
grep -qF "Your reference is $REF_E1." <<<"$(body_of edi1@example.org)" || fail "wrong text: $(body_of edi1@example.org)"
pass "a broken template edit on disk without SIGHUP: no effect, the old text went out"
kill -HUP "${SVC_PID[notification]}"
refused() { grep -q 'policy reload refused.*refrence' "$WORK/notification.log"; }
wait_until 10 refused || fail "SIGHUP did not refuse the broken template"
read -r CASE_E2 REF_E2 <<<"$(customer_contact nottingham-city-homes email '{"name":"Edi Two","email":"edi2@example.org"}')"
is_case "$CASE_E2"
has2() { [ "$(mails_to edi2@example.org)" = 1 ]; }
wait_until 60 has2 || fail "after the refused reload no acknowledgement: $(outcomes "$CASE_E2/acknowledgement")"
grep -qF "Your reference is $REF_E2." <<<"$(body_of edi2@example.org)" || fail "wrong text: $(body_of edi2@example.org)"
sed 's/Your reference is {reference}\./Your case number is {reference}./' "$WORK/ack.good" >"$ACK"
kill -HUP "${SVC_PID[notification]}"
reloaded() { grep -q 'templates reloaded' "$WORK/notification.log"; }
wait_until 10 reloaded || fail "the good edit was not reloaded"
read -r CASE_E3 REF_E3 <<<"$(customer_contact nottingham-city-homes email '{"name":"Edi Three","email":"edi3@example.org"}')"
is_case "$CASE_E3"
has3() { [ "$(mails_to edi3@example.org)" = 1 ]; }
wait_until 60 has3 || fail "no acknowledgement after the good reload"
grep -qF "Your case number is $REF_E3." <<<"$(body_of edi3@example.org)" || fail "the reload was not taken: $(body_of edi3@example.org)"
pass "SIGHUP with the broken file: refused naming it, the old text kept going out; a good edit with SIGHUP is taken"
fi

# ---- M1: timers fired long ago, the contacts topic far behind ----
if part m1; then
stop_service notification
FILL=${NOTIFY_BACKLOG_N:-8000}
"$PY" - "$BOOTSTRAP" "$PB2" "$FILL" <<'PY' || fail "backlog not produced"
import sys
sys.path.insert(0, sys.argv[2])
from charter.v1 import case_event_pb2
from kafka import KafkaProducer
# One record per batch: a fetch returns at least a whole batch, so small
# batches keep notification's small fetches small.
p = KafkaProducer(bootstrap_servers=sys.argv[1], acks=1, linger_ms=0, batch_size=1)
for i in range(int(sys.argv[3])):
    e = case_event_pb2.CaseEvent(case_id=f"backlog-{i}", organisation="nottingham-city-homes")
    p.send("charter.contact.events.v1", key=e.case_id.encode(), value=e.SerializeToString())
p.flush(60)
PY
K=4
declare -a LATE LATE_REF
for i in $(seq 1 $K); do
  read -r c ref <<<"$(customer_contact nottingham-city-homes email "{\"name\":\"Late $i\",\"email\":\"late$i@example.org\"}")"
  is_case "$c"
  LATE+=("$c")
  LATE_REF+=("$ref")
done
FIRED=$(date -u -d '-11 minutes' +%Y-%m-%dT%H:%M:%SZ)
DUE=$(date -u -d '-11 minutes' +%Y-%m-%dT%H:%M:%SZ)
for i in $(seq 0 $((K - 1))); do
  for kind in ACKNOWLEDGEMENT_DUE REMINDER; do
    "$PY" "$SRC/tests/integration/notification_timers.py" "$BOOTSTRAP" "$PB2" "${LATE[$i]}" \
      nottingham-city-homes $kind "reference=${LATE_REF[$i]}" "fired=$FIRED" "due=$DUE" ||
      fail "timer not produced"
  done
done
pass "notification down: $FILL records of backlog on the contacts topic, then $K contacts, then their timers fired 11 minutes ago"
# Small fetches: the contacts topic comes in a few records at a time, so the
# timers (a record each) are read long before their cases' details.
notification "CHARTER_NOTIFY_HTTP_TOKEN=$GATEWAY_TOKEN" "CHARTER_NOTIFY_SMTP_URL=smtp://127.0.0.1:$FAST_PORT" \
  CHARTER_KAFKA_MAX_PARTITION_FETCH_BYTES=100
reminded() {
  for i in $(seq 1 $K); do
    [ "$(grep -F "\"rcpt_tos\": [\"late$i@example.org\"]" "$SMTP_LOG" | grep -c 'Reminder: your appointment')" = 1 ] || return 1
  done
}
wait_until 180 reminded || fail "not every reminder went: $(outcomes "/appointment_reminder" | tr -cd '[:print:]\n' | tail -n 4)"
acked() { for c in "${LATE[@]}"; do [ "$(R GET "charter:notify:{$c}:acknowledgement")" = sent ] || return 1; done; }
wait_until 60 acked || fail "not every acknowledgement was sent"
grep -q 'the contacts topic is behind' "$WORK/notification.log" || fail "the timers never waited for the contacts topic (the test did not reproduce the lag)"
for i in $(seq 1 $K); do
  n=$(grep -F "\"rcpt_tos\": [\"late$i@example.org\"]" "$SMTP_LOG" | grep -c 'We have received your message' || true)
  [ "$n" = 1 ] || fail "late$i@example.org got $n acknowledgements"
done
FAILED_OUT=$(outcomes 'no contact details' | tr -cd '[:print:]\n')
[ -z "$FAILED_OUT" ] || fail "failed outcomes: $FAILED_OUT"
pass "timers read before their contacts, more than 10 minutes late: each acknowledgement and reminder sent once, none failed"
fi

for s in ingest notification; do stop_service "$s"; done
echo "notification_outages: all checks passed"
