#!/usr/bin/env bash
# Issue 17, defect 5: every contact falls under a rule, statutory clocks follow
# the case type on any channel, case types are each organisation's closed
# list, and a visitor with an appointment is judged on the appointment clock.
# Real redis-server, the embedded broker, ingest, sla-timer and reporting with
# the shipped policies; contacts posted to ingest; fired timers read from
# charter.sla.timers.v1 with kcat and decoded with protoc; figures read from
# GET /v1/report. Receipts are in the past (today is after them), so every
# clock is already due and sla-timer fires it at once carrying its due time.
#   A. NCH text message: a rule (text-messages, measured, no time promised),
#      counted in its promise row. Before: "no promise covers channel sms".
#   B. Derby subject access request by phone, received Sat 31 Jan 2026:
#      one calendar month -> Sat 28 Feb, moved to Mon 2 Mar 2026 23:59:59Z.
#      Before: the phone-calls promise, no clock at all.
#   C. NCH FOI by e-mail, received Fri 6 Mar 2026 10:00Z: 20 working days
#      with any UK bank holiday excluded (17 Mar, Good Friday 3 Apr, Easter
#      Monday 6 Apr) -> Wed 8 Apr 23:59:59 BST. Before: the e-mail clock,
#      5 working days -> Fri 13 Mar.
#   D. case_type "complaint" for Derby: 422 unknown_case_type naming the
#      field and the allowed values, by POST /v1/contacts and in a batch.
#      Before: accepted, and on the 10 working day e-mail clock.
#   E. DFC visitor arriving 13:55 for a 14:00 appointment, case type enquiry:
#      wait_exceeded at 14:10. Before: office-visits, measured, no timer.
source "$(dirname "$0")/lib.sh"

start_redis
start_broker
start_service ingest
start_service sla-timer CHARTER_SLA_POLICY_DIR="$SRC/policies"
start_service reporting CHARTER_REPORT_POLICY_DIR="$SRC/policies"
for s in ingest sla-timer reporting; do wait_ready "$s"; done
IN=${SVC_PORT[ingest]}
REPORT=${SVC_PORT[reporting]}
TIMERS=charter.sla.timers.v1

# fired CASE KIND: the due_at (seconds) of the first fired timer of CASE whose
# kind is TIMER_KIND_KIND, decoded from the topic by protoc; "" if none yet.
fired() {
  local p o rec
  while read -r _ p o; do
    rec=$(decode_record "$TIMERS" "$p" "$o" TimerFired)
    if grep -q "kind: TIMER_KIND_$2\$" <<<"$rec"; then
      awk '/^due_at/ {d=1} d && /seconds:/ {print $2; exit}' <<<"$rec"
      return
    fi
  done < <(kcat -b "$BOOTSTRAP" -C -t "$TIMERS" -e -q -f '%k %p %o\n' 2>/dev/null | awk -v k="$1" '$1 == k')
}

# expect_timer CASE KIND DUE_RFC3339 WHAT: the timer fires with that due time.
expect_timer() {
  local want got=""
  want=$(date -u -d "$3" +%s)
  has_kind() { got=$(fired "$1" "$2"); [ -n "$got" ]; }
  wait_until 30 has_kind "$1" "$2" || fail "$4: no $2 timer on $TIMERS for case $1"
  [ "$got" = "$want" ] || fail "$4: $2 due $(date -u -d "@$got" +%FT%TZ), expected $3"
  pass "$4: $2 fired on $TIMERS, due $3"
}

# ---- A. NCH text message: a rule, measured, counted ----
A=$(new_case nottingham-city-homes sms "" 2026-11-10T10:00:00Z)
case_event "$A" '{"type":"responded","organisation":"nottingham-city-homes","occurred_at":"2026-11-10T12:00:00Z"}'
report() { curl -fsS "http://127.0.0.1:$REPORT/v1/report?organisation=nottingham-city-homes&channel=sms&from=2026-11&to=2026-11"; }
answered() { j=$(report) && [ "$(json_get "$j" figures/answered)" = 1 ]; }
wait_until 30 answered || fail "NCH text message not counted: $(report)"
/usr/bin/python3 - "$j" <<'PY' || fail "NCH text message falls under no promise row: $j"
import json, sys
rows = [r for r in json.loads(sys.argv[1])["promises"] if r["received"]]
assert len(rows) == 1, rows
r = rows[0]
assert r["id"] == "text-messages" and r["measure"] == "measured", r
assert r["number"] == 0 and r["target_pct"] is None, r   # no time promised: never late
PY
pass "NCH text message: received and answered under text-messages (measured, no time promised)"
"$BUILD/tools/charterctl/charterctl" deadline --policy "$SRC/policies/nottingham-city-homes.yaml" \
  --channel sms --received 2026-11-10T10:00:00Z >"$WORK/sms" || fail "charterctl: $(cat "$WORK/sms")"
grep -q '^promise:  text-messages' "$WORK/sms" || fail "charterctl deadline, NCH sms: $(cat "$WORK/sms")"
pass "charterctl deadline: NCH sms -> text-messages"

# ---- B. Derby SAR by phone: one calendar month ----
B=$(new_case derby-homes phone sar 2026-01-31T10:00:00Z)
expect_timer "$B" BREACH 2026-03-02T23:59:59Z "Derby SAR by phone (received Sat 31 Jan 2026)"

# ---- C. NCH FOI by e-mail: 20 working days, not the e-mail clock ----
C=$(new_case nottingham-city-homes email foi 2026-03-06T10:00:00Z)
expect_timer "$C" BREACH 2026-04-08T22:59:59Z "NCH FOI by e-mail (received Fri 6 Mar 2026)"

# ---- D. an unknown case type: 422 with the allowed values ----
r=$(post_json "$IN" /v1/contacts '{"organisation":"derby-homes","channel":"email","case_type":"complaint","received_at":"2026-11-10T10:00:00Z"}')
[ "${r%% *}" = 422 ] || fail "case_type complaint: expected 422, got $r"
body=${r#* }
[ "$(json_get "$body" error/code)" = unknown_case_type ] && [ "$(json_get "$body" error/field)" = case_type ] ||
  fail "case_type complaint: wrong code or field: $body"
msg=$(json_get "$body" error/message)
expect_in "$msg" "the 422 message" "'complaint'" "Derby Homes" "complaint_stage_1" "complaint_stage_2" \
  "foi" "sar" "mp_enquiry" "legal_action" "service_request" "enquiry"
pass "case_type complaint refused: 422 $msg"
batch=$'{"type":"received","organisation":"derby-homes","channel":"letter","received_at":"2026-11-10T10:00:00Z","case_type":"complaint_stage_1"}\n{"type":"received","organisation":"customer-care-council","channel":"email","received_at":"2026-11-10T10:00:00Z","case_type":"appointment"}'
r=$(post_json "$IN" /v1/events "$batch" application/x-ndjson)
[ "${r%% *}" = 200 ] || fail "batch: $r"
/usr/bin/python3 - "${r#* }" <<'PY' || fail "batch: the unknown case type was not refused by line: $r"
import json, sys
b = json.loads(sys.argv[1])
assert b["accepted"] == 1 and b["refused"] == 1, b
e = b["results"][1]
assert e["status"] == 422 and e["error"]["code"] == "unknown_case_type", e
assert e["error"]["field"] == "case_type" and "contact_group" in e["error"]["message"], e
PY
pass "batch: line 2 (CCC has no appointment type) refused 422, line 1 accepted"

# ---- E. DFC visitor with an appointment, case type enquiry ----
E=$(new_case digital-first-council visit enquiry 2026-11-10T13:55:00Z)
case_event "$E" '{"type":"visit","organisation":"digital-first-council","occurred_at":"2026-11-10T13:55:00Z","status":"arrived","appointment_at":"2026-11-10T14:00:00Z"}'
expect_timer "$E" WAIT_EXCEEDED 2026-11-10T14:10:00Z "DFC visitor at 13:55 for 14:00 (enquiry)"
