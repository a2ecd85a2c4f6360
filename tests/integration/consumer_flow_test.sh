#!/usr/bin/env bash
# A consumer held at consumer.max_inflight by records that wait for records
# not yet read goes per topic (common/runtime kafka.c), shown with
# notification, whose records of one topic wait for another's:
# an acknowledgement-due timer read before its case's contact waits (retried)
# until the contact record has been read from the contacts topic. With one
# bound shared by all topics, timers waiting for contacts filled it, and the
# contacts topic they waited for was no longer read: notification stalled
# (seen in integration.notification_crash under ASan, 2026-12-05).
#
# Real binaries, Redis, the embedded broker and smtp_sink.py. Records are
# encoded by protoc from the .proto files and written with kcat:
#   1. N acknowledgement-due timers (TimerFired) of N new cases, with
#      consumer.max_inflight 4: notification takes 4 and waits for contacts;
#   2. then the N cases' `received` events on the contacts topic;
#   3. every customer gets exactly one acknowledgement and every record is
#      finished (no record left in flight, none failed).
# Notification logs that it went per topic (held at the bound for a second
# with no record finishing) and back. Against the runtime with one bound
# only, step 3 fails: nothing is sent.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notification_lib.sh"

N=${CONSUMER_FLOW_N:-12}
CAP=4
O=nottingham-city-homes
start_redis
start_broker
start_smtp_sink 0
start_gateway
POLICIES="$WORK/policies"
write_short_policy "$POLICIES"
mapfile -t NENV < <(notify_transport_env)
start_service notification "${NENV[@]}" CHARTER_NOTIFY_TEMPLATE_DIR="$SRC/templates" \
  CHARTER_NOTIFY_POLICY_DIR="$POLICIES" CHARTER_NOTIFY_OUTBOX_DIR="$WORK/outbox" \
  CHARTER_CONSUMER_MAX_INFLIGHT=$CAP
wait_ready notification
NP=${SVC_PORT[notification]}
metric() { curl -fsS "http://127.0.0.1:$NP/metrics" | awk -v m="$1" '$1 == m { print int($2) }'; }

NOWS=$(date +%s)
CASES=()
for i in $(seq 1 "$N"); do CASES+=("$(uuid4)"); done
encode() { protoc --encode="charter.v1.$1" -I "$SRC/proto" "$SRC"/proto/charter/v1/*.proto; }
for i in $(seq 1 "$N"); do
  c=${CASES[$((i - 1))]}
  encode TimerFired >"$WORK/t$i.bin" <<EOF || fail "protoc could not encode a TimerFired"
timer_id: "$c/acknowledgement_due" case_id: "$c" organisation: "$O"
kind: TIMER_KIND_ACKNOWLEDGEMENT_DUE due_at { seconds: $NOWS } fired_at { seconds: $NOWS }
reference: "NCH-2026-$(printf '%06d' "$i")" channel: CHANNEL_EMAIL case_type: "enquiry"
EOF
  kcat -b "$BOOTSTRAP" -P -t charter.sla.timers.v1 -k "$c" "$WORK/t$i.bin" || fail "kcat could not write a timer"
done
inflight_at_cap() { [ "$(metric charter_inflight_messages)" -ge "$CAP" ]; }
wait_until 30 inflight_at_cap || fail "notification did not take $CAP timers: $(metric charter_inflight_messages) in flight"
sleep 1
pass "$N acknowledgement-due timers written before their contacts; notification holds $(metric charter_inflight_messages) (consumer.max_inflight $CAP), waiting for contacts"

for i in $(seq 1 "$N"); do
  c=${CASES[$((i - 1))]}
  encode CaseEvent >"$WORK/c$i.bin" <<EOF || fail "protoc could not encode a CaseEvent"
event_id: "flow-$i" case_id: "$c" organisation: "$O" source: "http"
occurred_at { seconds: $NOWS } ingested_at { seconds: $NOWS }
received { channel: CHANNEL_EMAIL case_type: "enquiry" reference: "NCH-2026-$(printf '%06d' "$i")"
  customer { name: "Customer $i" email: "flow$i@example.org" } gateway_message_id: "flow-$i" }
EOF
  kcat -b "$BOOTSTRAP" -P -t charter.contact.events.v1 -k "$c" "$WORK/c$i.bin" || fail "kcat could not write a contact"
done
pass "their $N contacts written to charter.contact.events.v1"

acks() { grep -c '"duplicate": false' "$SMTP_LOG" || true; }
all_acked() { [ "$(acks)" -ge "$N" ]; }
wait_until 90 all_acked || fail "$(acks) of $N acknowledgements sent: the contacts topic was not read while the timers waited ($(metric charter_inflight_messages) records in flight)"
idle() { [ "$(metric charter_inflight_messages)" = 0 ]; }
wait_until 120 idle || fail "$(metric charter_inflight_messages) records still in flight"
sleep 2
COUNTS=$(/usr/bin/python3 - "$SMTP_LOG" "$N" <<'PY'
import collections, json, sys
got = collections.Counter()
for line in open(sys.argv[1]):
    x = json.loads(line)
    if not x["duplicate"]:
        for r in x["rcpt_tos"]:
            got[r] += 1
n = int(sys.argv[2])
want = [f"flow{i}@example.org" for i in range(1, n + 1)]
print(sum(1 for w in want if got[w] == 0), sum(got[w] - 1 for w in want if got[w] > 1),
      sum(v for k, v in got.items() if k not in want))
PY
)
read -r LOST DUP EXTRA <<<"$COUNTS"
[ "$LOST" = 0 ] && [ "$DUP" = 0 ] && [ "$EXTRA" = 0 ] || fail "lost $LOST, duplicates $DUP, unexpected recipients $EXTRA"
FAILED=$(grep -c '"notification not made"' "$WORK/notification.log" || true)
[ "$FAILED" = 0 ] || fail "$FAILED notifications not made: $(grep '"notification not made"' "$WORK/notification.log" | head -n 2)"
qgrep -F 'no record finishing' "$WORK/notification.log" || fail "notification did not log that it went per topic"
qgrep -F 'consumer back to one bound for all topics' "$WORK/notification.log" || fail "notification did not go back to one bound"
pass "each of the $N customers got exactly one acknowledgement; every record finished, none failed"
stop_service notification
echo "consumer_flow: all checks passed"
