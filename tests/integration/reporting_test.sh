#!/usr/bin/env bash
# The charter's figures end to end: real redis-server, the embedded broker,
# ingest and reporting with the shipped policies. Cases with past dates are
# posted (in time, late, extended, still open and overdue, a call, support,
# satisfaction); GET /v1/report shows the figures with its filters. Then a
# second reporting, with its own consumer group and an empty Redis database,
# replays the topics from the start: its report must be byte for byte the same.
# Last, a case's state stored as JSON (as before issue 16) is answered: it
# loads, its figures move, and it is written back packed.
source "$(dirname "$0")/lib.sh"

start_ingest_and_reporting
IN=${SVC_PORT[ingest]}

# Derby Homes, letters: 10 working days from Mon 2 Nov 2026 (due Mon 16 Nov).
D="derby-homes"
C1=$(new_case $D letter enquiry 2026-11-02T10:00:00Z) # answered in time
case_event "$C1" "{\"type\":\"responded\",\"organisation\":\"$D\",\"occurred_at\":\"2026-11-05T10:00:00Z\"}"
C2=$(new_case $D letter enquiry 2026-11-02T11:00:00Z) # answered late
case_event "$C2" "{\"type\":\"responded\",\"organisation\":\"$D\",\"occurred_at\":\"2026-11-18T10:00:00Z\"}"
C3=$(new_case $D letter enquiry 2026-11-02T12:00:00Z) # extended, answered within the extension
case_event "$C3" "{\"type\":\"holding_reply\",\"organisation\":\"$D\",\"occurred_at\":\"2026-11-12T10:00:00Z\",\"new_target_at\":\"2026-11-27T17:00:00Z\",\"reason\":\"contractor\",\"next_steps\":\"a visit on Monday\"}"
case_event "$C3" "{\"type\":\"responded\",\"organisation\":\"$D\",\"occurred_at\":\"2026-11-20T10:00:00Z\"}"
C4=$(new_case $D letter enquiry 2026-11-03T09:00:00Z) # still open, long overdue
C5=$(new_case $D email enquiry 2026-11-03T09:00:00Z)  # email: acknowledged, satisfaction, support
case_event "$C5" "{\"type\":\"acknowledged\",\"organisation\":\"$D\",\"occurred_at\":\"2026-11-03T09:00:20Z\",\"by\":\"automatic\"}"
case_event "$C5" "{\"type\":\"responded\",\"organisation\":\"$D\",\"occurred_at\":\"2026-11-04T09:00:00Z\"}"
case_event "$C5" "{\"type\":\"satisfaction\",\"organisation\":\"$D\",\"occurred_at\":\"2026-11-06T09:00:00Z\",\"score\":4,\"max_score\":5}"
case_event "$C5" "{\"type\":\"communication_support\",\"organisation\":\"$D\",\"occurred_at\":\"2026-11-03T09:05:00Z\",\"kind\":\"large_print\"}"
C6=$(new_case $D email complaint_stage_1 2026-11-04T09:00:00Z)
pass "six Derby Homes cases posted"

# NIHE: a call answered in 15 s (within 20 s) and one in 40 s.
N="nihe"
P1=$(new_case $N phone enquiry 2026-11-10T10:00:00Z)
case_event "$P1" "{\"type\":\"call\",\"organisation\":\"$N\",\"occurred_at\":\"2026-11-10T10:00:15Z\",\"status\":\"answered\",\"wait_seconds\":15}"
P2=$(new_case $N phone enquiry 2026-11-10T10:05:00Z)
case_event "$P2" "{\"type\":\"call\",\"organisation\":\"$N\",\"occurred_at\":\"2026-11-10T10:05:40Z\",\"status\":\"answered\",\"wait_seconds\":40}"

report() { curl -fsS "http://127.0.0.1:$1/v1/report?$2"; }
fig() { json_get "$1" "figures/$2"; }
metric() { # PORT NAME -> the value of an unlabelled metric
  curl -fsS "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'
}
drained() { # reporting took in every record ingest wrote and finished each one
  local produced consumed inflight
  produced=$(metric "$IN" charter_kafka_produced_total) || return 1
  consumed=$(metric "$REPORT" charter_kafka_consumed_total) || return 1
  inflight=$(metric "$REPORT" charter_inflight_messages) || return 1
  [ -n "$produced" ] && [ "${consumed%.*}" = "${produced%.*}" ] && [ "${inflight%.*}" = 0 ]
}
settled() { # every record counted, and the last event of each organisation is in the figures
  local j k
  drained || return 1
  j=$(report "$REPORT" "organisation=$D&granularity=year") || return 1
  k=$(report "$REPORT" "organisation=$N&granularity=year") || return 1
  [ "$(fig "$j" received)" = 6 ] && [ "$(fig "$j" satisfaction_responses)" = 1 ] &&
    [ "$(fig "$j" support/large_print)" = 1 ] && [ "$(fig "$k" calls_answered)" = 2 ]
}
wait_until 30 settled || fail "figures did not settle: $(report "$REPORT" "organisation=$D&granularity=year")"

j=$(report "$REPORT" "organisation=$D&channel=letter&type=enquiry&from=2026-11&to=2026-11")
for want in received:4 answered:3 answered_in_time:2 answered_late:1 answered_in_time_original:1 \
  answered_late_original:2 extended:1 open:1 open_overdue:1; do
  [ "$(fig "$j" "${want%%:*}")" = "${want#*:}" ] || fail "letters: ${want%%:*} is $(fig "$j" "${want%%:*}"), expected ${want#*:}: $j"
done
[ "$(json_get "$j" figures/time_to_respond/working_days/responses)" = 3 ] || fail "time to respond: $j"
[ "$(json_get "$j" figures/time_to_respond/working_days/median)" = 12 ] || fail "median working days: $j"
[ "$(json_get "$j" counts/received.letter)" = 4 ] || fail "skeleton counts lost: $j"
pass "letters: 2 of 3 in time against the extension, 1 of 3 against the original target; 1 open and overdue"

j=$(report "$REPORT" "organisation=$D&channel=email&granularity=day&from=2026-11-03&to=2026-11-03")
[ "$(fig "$j" acknowledged_in_time)" = 1 ] && [ "$(fig "$j" satisfied)" = 1 ] &&
  [ "$(fig "$j" received)" = 1 ] || fail "email day 2026-11-03: $j"
[ "$(json_get "$j" periods | python3 -c 'import sys,ast; print(len(ast.literal_eval(sys.stdin.read())))')" = 1 ] ||
  fail "one period expected: $j"
pass "day granularity and channel filter: the email acknowledged in time, satisfied"

j=$(report "$REPORT" "organisation=$D&granularity=year&from=2026&to=2026")
[ "$(json_get "$j" figures/by_case_type/complaint_stage_1/received)" = 1 ] || fail "complaints by stage: $j"
[ -n "$(json_get "$j" figures/by_case_type/complaint_stage_1/per_1000_homes)" ] || fail "per 1,000 homes: $j"
pass "complaints by stage with the per-1,000-homes measure"

j=$(report "$REPORT" "organisation=$N&channel=phone")
[ "$(fig "$j" calls_answered_in_time)" = 1 ] && [ "$(fig "$j" calls_answered_late)" = 1 ] ||
  fail "calls within 20 seconds: $j"
pass "NIHE calls: 1 of 2 answered within 20 seconds"

r=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$REPORT/v1/report?organisation=$D&granularity=week")
[ "$r" = 400 ] || fail "granularity=week: expected 400, got $r"
r=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$REPORT/v1/report?organisation=$D&from=2026-11-01")
[ "$r" = 400 ] || fail "a day as from at month granularity: expected 400, got $r"
pass "bad filters -> 400"

# ---- replay: a second reporting from the start, into an empty database ----
wait_until 30 drained || fail "reporting did not finish every record before the replay"
BEFORE_D=$(report "$REPORT" "organisation=$D&granularity=day")
BEFORE_N=$(report "$REPORT" "organisation=$N&granularity=month")
stop_service reporting
SVC_PORT[reporting]=""
start_service reporting CHARTER_REPORT_POLICY_DIR="$SRC/policies" CHARTER_REDIS_URL="${REDIS_URL%/0}/1" \
  CHARTER_KAFKA_GROUP_ID=charter-reporting-replay
wait_ready reporting
REPORT=${SVC_PORT[reporting]}
replayed() {
  [ "$(report "$REPORT" "organisation=$D&granularity=day")" = "$BEFORE_D" ] &&
    [ "$(report "$REPORT" "organisation=$N&granularity=month")" = "$BEFORE_N" ]
}
wait_until 40 replayed || fail "replay differs:
live:   $BEFORE_D
replay: $(report "$REPORT" "organisation=$D&granularity=day")"
[ "$(redis-cli -p "$REDIS_PORT" -n 1 hlen "charter:report:{$D}:figures:2026-11")" -gt 0 ] ||
  fail "the replay did not write to database 1"
pass "a replay from the start into an empty database gives the same report, byte for byte"
stop_service reporting

# ---- a case's state stored as JSON (before issue 16's packed form) still loads ----
# C4 (a letter, still open) as reporting stored it before: compact JSON.
# Answered now, its figures move from open to answered late; an unreadable
# state would start the case again, and the answer alone counts nothing.
KEY4="charter:report:{$D}:case:$C4"
[ "$(redis-cli -p "$REDIS_PORT" -n 1 --raw GETRANGE "$KEY4" 0 0)" != "{" ] ||
  fail "the replay stored C4's state as JSON"
REF4=$(json_get "$(redis-cli -p "$REDIS_PORT" -n 1 --raw GET "charter:report:{$D}:page:$C4")" ref)
/usr/bin/python3 - "$D" "$REF4" >"$WORK/c4.json" <<'PY'
import json, sys, datetime
ms = int(datetime.datetime(2026, 11, 3, 9, 0, tzinfo=datetime.timezone.utc).timestamp() * 1000)
clock = {"organisation": sys.argv[1], "channel": "letter", "case_type": "enquiry",
         "reference": sys.argv[2], "received_ms": ms, "acknowledged_ms": 0,
         "paused_since_ms": 0, "pauses": [], "extended_to_ms": 0, "arrived_ms": 0,
         "appointment_ms": 0, "responded": False, "closed": False, "seen": False,
         "escalated": False}
state = {"clock": clock, "received_ms": ms, "responded_ms": 0, "ack_sent_ms": 0, "seen_ms": 0,
         "left_unseen": False, "call_status": 0, "call_ms": 0, "call_wait_s": 0,
         "call_rings": 0, "sat_ms": 0, "sat_score": 0, "sat_max": 0, "support": [0] * 9,
         "counted": [], "flags": 0}
sys.stdout.write(json.dumps(state, separators=(",", ":")))
PY
redis-cli -p "$REDIS_PORT" -n 1 -x SET "$KEY4" <"$WORK/c4.json" >/dev/null
start_service reporting CHARTER_REPORT_POLICY_DIR="$SRC/policies" CHARTER_REDIS_URL="${REDIS_URL%/0}/1" \
  CHARTER_KAFKA_GROUP_ID=charter-reporting-replay
wait_ready reporting
REPORT=${SVC_PORT[reporting]}
case_event "$C4" "{\"type\":\"responded\",\"organisation\":\"$D\",\"occurred_at\":\"2026-11-20T10:00:00Z\"}"
letters() { report "$REPORT" "organisation=$D&channel=letter&type=enquiry&from=2026-11&to=2026-11"; }
answered4() { [ "$(fig "$(letters)" answered)" = 4 ]; }
wait_until 30 answered4 || fail "C4's answer on its JSON state: $(letters)"
j=$(letters)
for want in received:4 answered:4 answered_late:2 open:0; do
  [ "$(fig "$j" "${want%%:*}")" = "${want#*:}" ] || fail "after C4's answer: ${want%%:*} is $(fig "$j" "${want%%:*}"), expected ${want#*:}: $j"
done
[ "$(redis-cli -p "$REDIS_PORT" -n 1 --raw GETRANGE "$KEY4" 0 0)" != "{" ] ||
  fail "C4's state was not written back packed"
! grep -q "state unreadable" "$WORK/reporting.log" || fail "reporting could not read C4's JSON state"
pass "a case state stored as JSON loads: its answer moves it from open to answered late, stored back packed"
stop_service reporting
