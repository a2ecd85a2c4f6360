#!/usr/bin/env bash
# Issue 17 item 9: warning tiers land within opening hours and fire in the
# policy's order, through the real services. NCH e-mail contacts are posted to
# ingest with a receipt in March 2027 (future, so the timers stay pending in
# Redis); sla-timer schedules them; `charterctl timers --case` reads them back.
# NCH: 09:00-17:00 Monday to Friday, England and Wales; e-mail: reply within
# 5 working days; warnings "75%" to the owner, "1 working day before" to the
# team lead. Every instant below is worked out by hand:
#   A. received Mon 1 Mar 2027 10:00Z, due Mon 8 Mar 23:59:59Z. Team lead:
#      Fri 5 Mar 23:59:59 -> Fri 17:00; owner (75%): Sun 7 Mar 02:29:59.250
#      -> Fri 17:00. Both Fri 5 Mar 17:00, owner first.
#   B. Easter 2027 (Good Friday 26 Mar, Easter Monday 29 Mar; BST from
#      Sun 28 Mar): received Mon 22 Mar 10:00Z, due Wed 31 Mar 23:59:59 BST.
#      Owner (75%): Easter Monday 14:44:59.250 BST, a bank holiday -> Thu 25
#      Mar 17:00 GMT. Team lead: Tue 30 Mar 23:59:59 BST -> 17:00 BST.
source "$(dirname "$0")/lib.sh"

start_redis
start_broker
start_service sla-timer CHARTER_SLA_POLICY_DIR="$SRC/policies"
# receipts in the future on purpose (the timers stay pending): past ingest.max_future_skew_s
start_service ingest CHARTER_INGEST_MAX_FUTURE_SKEW_S=315360000
wait_ready sla-timer
wait_ready ingest
CTL="$BUILD/tools/charterctl/charterctl"

contact() { new_case nottingham-city-homes email "" "$1"; } # RECEIVED_AT -> case id

# check CASE NAME "EXPECTED LINES": the case's warnings and breach, by tier
# number, as "<kind>[/n] <due>" lines, sorted by timer id.
check() {
  local case=$1 name=$2 want=$3 got
  got_timers() {
    out=$("$CTL" timers --case "$case" --redis "$REDIS_URL" 2>&1) || return 1
    got=$(awk -v c="$case/" '$NF ~ "^"c && $NF !~ /acknowledgement/ {
            id = substr($NF, length(c) + 1); print id, $1 }' <<<"$out" | sort)
    [ "$(wc -l <<<"$got")" -ge 3 ]
  }
  wait_until 30 got_timers || fail "$name: sla-timer did not schedule the timers: $out"
  if [ "$got" != "$want" ]; then
    printf 'expected:\n%s\ngot:\n%s\n' "$want" "$got"
    fail "$name: warning tiers are not the in-hours instants in policy order"
  fi
  # tier order: warning/1 never after warning/2, neither after the breach
  local w1 w2 b
  w1=$(awk '$1=="warning/1"{print $2}' <<<"$got")
  w2=$(awk '$1=="warning/2"{print $2}' <<<"$got")
  b=$(awk '$1=="breach"{print $2}' <<<"$got")
  python3 - "$w1" "$w2" "$b" <<'PY' || fail "$name: tiers out of order ($w1, $w2, $b)"
import datetime, sys
t = [datetime.datetime.fromisoformat(x) for x in sys.argv[1:]]
sys.exit(0 if t[0] <= t[1] <= t[2] else 1)
PY
  pass "$name: $(tr '\n' ';' <<<"$got")"
}

A=$(contact 2027-03-01T10:00:00Z)
check "$A" "NCH e-mail received Monday 1 March 2027" \
  "breach 2027-03-08T23:59:59+00:00
warning/1 2027-03-05T17:00:00+00:00
warning/2 2027-03-05T17:00:00+00:00"

B=$(contact 2027-03-22T10:00:00Z)
check "$B" "NCH e-mail received Monday 22 March 2027 (Easter)" \
  "breach 2027-03-31T23:59:59+01:00
warning/1 2027-03-25T17:00:00+00:00
warning/2 2027-03-30T17:00:00+01:00"

# charterctl deadline prints the same instants (it shares ch_promise_warning_times)
out=$("$CTL" deadline --policy "$SRC/policies/nottingham-city-homes.yaml" --channel email \
  --received 2027-03-22T10:00:00Z)
grep -qE '^warning: owner +2027-03-25T17:00:00\+00:00 ' <<<"$out" &&
  grep -qE '^warning: team_lead +2027-03-30T17:00:00\+01:00 ' <<<"$out" ||
  fail "charterctl deadline differs from sla-timer: $out"
pass "charterctl deadline prints the instants sla-timer scheduled"
