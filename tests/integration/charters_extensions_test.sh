#!/usr/bin/env bash
# Issue 17 defect 2: a holding reply moves the target only within the
# promise's rules, through the real services (ingest, sla-timer, reporting
# with the shipped policies). Fired timers are read from
# charter.sla.timers.v1 with kcat and decoded with protoc; figures from
# GET /v1/report; pending timers and the case state with charterctl timers.
#   A. NIHE FOI received Mon 2 Mar 2026, due Tue 31 Mar (20 working days,
#      uk-any). "Extended" under s.10(3) to 30 June: FOIA allows 20 further
#      working days, to Thu 30 Apr. Refused: an EXTENSION_REFUSED timer fires
#      once, saying so; answered 29 June, the case is late.
#   B. Derby stage 1 complaint (the Housing Ombudsman Code: 10 working days
#      from the acknowledgement, at most 10 more): acknowledged Mon 9 Mar,
#      due Mon 23 Mar; extended to 30 June: beyond the cap, refused, late.
#   C. The same, the holding reply sent Wed 25 Mar, after the breach:
#      refused, answered 2 Apr: late.
#   D. The same, extended on 16 Mar to Tue 7 Apr with a reason: the target
#      moves, answered 2 Apr: in time, extended.
#   F/G. Future cases (March 2027, timers still pending): a valid extension
#      moves the breach timer; one beyond the cap leaves it where it was and
#      charterctl timers says why.
# On main before issue 17 every holding reply moved the target: A-C were
# counted in time, no EXTENSION_REFUSED timer existed and G's breach moved.
source "$(dirname "$0")/lib.sh"

start_redis
start_broker
# receipts in the future on purpose (the timers stay pending): past ingest.max_future_skew_s
start_service ingest CHARTER_INGEST_MAX_FUTURE_SKEW_S=315360000
start_service sla-timer CHARTER_SLA_POLICY_DIR="$SRC/policies"
start_service reporting CHARTER_REPORT_POLICY_DIR="$SRC/policies"
for s in ingest sla-timer reporting; do wait_ready "$s"; done
REPORT=${SVC_PORT[reporting]}
CTL="$BUILD/tools/charterctl/charterctl"
TOPIC=charter.sla.timers.v1

ev() { # CASE TYPE ORG AT [MORE JSON FIELDS]
  case_event "$1" "{\"type\":\"$2\",\"organisation\":\"$3\",\"occurred_at\":\"$4\"${5:-}}"
}
hold() { # CASE ORG AT NEW_TARGET [MORE JSON FIELDS]
  ev "$1" holding_reply "$2" "$3" ",\"new_target_at\":\"$4\"${5:-}"
}

N=nihe
D=derby-homes
A=$(new_case $N email foi 2026-03-02T10:00:00Z)
hold "$A" $N 2026-03-20T10:00:00Z 2026-06-30T16:00:00Z \
  ',"reason":"We are weighing the public interest.","statutory_basis":"foi_public_interest"'
ev "$A" responded $N 2026-06-29T10:00:00Z
ev "$A" closed $N 2026-06-29T10:05:00Z

complaint() { # RECEIVED: a Derby stage 1 complaint by e-mail, acknowledged Mon 9 Mar
  local c
  c=$(new_case $D email complaint_stage_1 "$1")
  ev "$c" acknowledged $D 2026-03-09T10:00:00Z ',"by":"j.smith"'
  echo "$c"
}
B=$(complaint 2026-03-06T17:30:00Z)
hold "$B" $D 2026-03-16T10:00:00Z 2026-06-30T16:00:00Z ',"reason":"Awaiting a surveyor."'
ev "$B" responded $D 2026-06-29T10:00:00Z
C=$(complaint 2026-03-06T17:31:00Z)
hold "$C" $D 2026-03-25T10:00:00Z 2026-04-07T17:00:00Z ',"reason":"Awaiting a surveyor."'
ev "$C" responded $D 2026-04-02T10:00:00Z
DD=$(complaint 2026-03-06T17:32:00Z)
hold "$DD" $D 2026-03-16T10:00:00Z 2026-04-07T17:00:00Z ',"reason":"Awaiting a surveyor."'
ev "$DD" responded $D 2026-04-02T10:00:00Z
pass "four cases posted: NIHE FOI $A; Derby complaints $B, $C, $DD"

# fired CASE: one line per TimerFired of CASE, decoded by protoc.
fired() {
  local p o
  kcat -b "$BOOTSTRAP" -C -t "$TOPIC" -e -q -f '%k %p %o\n' 2>/dev/null |
    awk -v k="$1" '$1 == k { print $2, $3 }' | while read -r p o; do
      decode_record "$TOPIC" "$p" "$o" TimerFired | tr '\n' ' '
      echo
    done
}
refused_of() { fired "$1" | grep -F 'kind: TIMER_KIND_EXTENSION_REFUSED' || true; }
has_refusal() { [ -n "$(refused_of "$1")" ]; }

for c in "$A" "$B" "$C"; do
  wait_until 30 has_refusal "$c" || fail "no EXTENSION_REFUSED timer for $c: $(fired "$c")"
done
t=$(refused_of "$A")
expect_in "$t" "A's refusal" "timer_id: \"$A/extension_refused/1\"" "reference: \"NIHE-" \
  "detail: \"the new target 2026-06-30T17:00:00+01:00 is later than FOI Act 2000 s.10(3) allows" \
  "2026-04-30T23:59:59+01:00 at the latest\"" "seconds: $(date -u -d 2026-03-20T10:00:00Z +%s)"
pass "NIHE FOI extended to 30 June: refused, the staff alert says FOIA allows 30 April at the latest"
expect_in "$(refused_of "$B")" "B's refusal" "timer_id: \"$B/extension_refused/1\"" \
  "(max_extension 10 working days from the original target 2026-03-23T23:59:59+00:00)"
pass "Derby stage 1 complaint extended past the Code's cap: refused"
expect_in "$(refused_of "$C")" "C's refusal" "after the target in force 2026-03-23T23:59:59+00:00" \
  "the breach stands"
pass "holding reply after the breach: refused"
[ -z "$(refused_of "$DD")" ] || fail "the valid extension of $DD was refused: $(refused_of "$DD")"

# fires once: later events (responded, closed) recompute A's timers
closed_state() { "$CTL" timers --state "$A" --redis "$REDIS_URL" | qgrep '"closed":true'; }
wait_until 30 closed_state || fail "sla-timer did not apply A's closed event"
sleep 2
n=$(refused_of "$A" | wc -l)
[ "$n" = 1 ] || fail "A's EXTENSION_REFUSED timer fired $n times: $(refused_of "$A")"
pass "the refusal's timer fired once, and later events did not set it again"

# the figures: judged against the target in force, which the refusals did not move
report() { curl -fsS "http://127.0.0.1:$REPORT/v1/report?$1"; }
fig() { json_get "$1" "figures/$2"; }
settled() {
  local j k
  j=$(report "organisation=$D&channel=email&type=complaint_stage_1&from=2026-03&to=2026-03") || return 1
  k=$(report "organisation=$N&channel=email&type=foi&from=2026-03&to=2026-03") || return 1
  [ "$(fig "$j" answered)" = 3 ] && [ "$(fig "$k" answered)" = 1 ]
}
wait_until 30 settled || fail "figures did not settle"
k=$(report "organisation=$N&channel=email&type=foi&from=2026-03&to=2026-03")
for want in answered_late:1 answered_in_time:0 extended:0 extensions_refused:1; do
  [ "$(fig "$k" "${want%%:*}")" = "${want#*:}" ] || fail "NIHE FOI: ${want%%:*} is $(fig "$k" "${want%%:*}"), expected ${want#*:}: $k"
done
pass "GET /v1/report: the NIHE FOI answered 29 June is late (not extended; 1 extension refused)"
j=$(report "organisation=$D&channel=email&type=complaint_stage_1&from=2026-03&to=2026-03")
for want in answered_in_time:1 answered_late:2 extended:1 extensions_refused:2; do
  [ "$(fig "$j" "${want%%:*}")" = "${want#*:}" ] || fail "Derby complaints: ${want%%:*} is $(fig "$j" "${want%%:*}"), expected ${want#*:}: $j"
done
pass "GET /v1/report: Derby complaints 1 in time (the valid extension), 2 late, 2 extensions refused"
# the dashboard says so beside the original promise
d=$(curl -fsS "http://127.0.0.1:$REPORT/?month=2026-03")
grep -qF "1 extended; 2 extensions refused, not moving the target" <<<"$d" ||
  fail "the dashboard does not show the refused extensions: $(grep -o 'Within the original[^<]*' <<<"$d")"
pass "dashboard: Derby complaints, 1 extended; 2 extensions refused, beside the original promise"

# ---- the target moves only for a valid extension (future: timers pending) ----
future() { # RECEIVED ACKNOWLEDGED
  local c
  c=$(new_case $D email complaint_stage_1 "$1")
  ev "$c" acknowledged $D "$2" ',"by":"j.smith"'
  echo "$c"
}
# acknowledged Tue 2 Mar 2027: due Tue 16 Mar; the Code's cap is Thu 1 Apr 2027
F=$(future 2027-03-01T10:00:00Z 2027-03-02T10:00:00Z)
hold "$F" $D 2027-03-05T10:00:00Z 2027-03-25T17:00:00Z ',"reason":"Awaiting a surveyor."'
G=$(future 2027-03-01T10:05:00Z 2027-03-02T10:00:00Z)
hold "$G" $D 2027-03-05T10:00:00Z 2027-06-30T16:00:00Z ',"reason":"Awaiting a surveyor."'
breach_at() { # CASE -> the pending breach timer's due instant
  "$CTL" timers --case "$1" --redis "$REDIS_URL" | awk -v id="$1/breach" '$NF == id { print $1 }'
}
moved() { [ "$(breach_at "$F")" = 2027-03-25T17:00:00+00:00 ]; }
wait_until 30 moved || fail "the valid extension did not move F's breach: $("$CTL" timers --case "$F" --redis "$REDIS_URL")"
pass "a valid extension moved the breach timer to 25 March 2027 17:00"
g_refused() { "$CTL" timers --case "$G" --redis "$REDIS_URL" | qgrep '^extension refused (1 so far'; }
wait_until 30 g_refused || fail "charterctl timers shows no refusal for $G: $("$CTL" timers --case "$G" --redis "$REDIS_URL")"
out=$("$CTL" timers --case "$G" --redis "$REDIS_URL")
[ "$(breach_at "$G")" = 2027-03-16T23:59:59+00:00 ] || fail "G's breach moved: $out"
grep -qE " extension_refused +derby-homes +DH-[0-9-]+ +$G/extension_refused/1$" <<<"$out" ||
  fail "G's extension_refused timer is not pending: $out"
expect_in "$out" "charterctl timers --case $G" "max_extension 10 working days" \
  "2027-04-01T23:59:59+01:00 at the latest"
pass "an extension beyond the cap left the breach on 16 March; charterctl timers says why"

# charterctl deadline gives the same verdicts before anything is sent
out=$("$CTL" deadline --policy "$SRC/policies/nihe.yaml" --channel email --type foi \
  --received 2026-03-02T10:00:00Z --extend-to 2026-06-30T16:00:00Z --basis foi_public_interest)
grep -qF 'latest extended due           2026-04-30T23:59:59+01:00' <<<"$out" &&
  grep -qF 'extension to 2026-06-30T17:00:00+01:00: refused: the new target' <<<"$out" ||
  fail "charterctl deadline --extend-to: $out"
out=$("$CTL" deadline --policy "$SRC/policies/nihe.yaml" --channel email --type foi \
  --received 2026-03-02T10:00:00Z --extend-to 2026-04-30T16:00:00Z --basis foi_public_interest)
grep -qF 'extension to 2026-04-30T17:00:00+01:00: allowed (2026-04-30T23:59:59+01:00 at the latest)' <<<"$out" ||
  fail "charterctl deadline --extend-to within the law: $out"
pass "charterctl deadline --extend-to: refused past 30 April, allowed within"
