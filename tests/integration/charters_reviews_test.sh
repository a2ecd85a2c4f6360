#!/usr/bin/env bash
# Issue 17 defect 3: the customer-care council's home-visit restriction
# reviews, through the real services (ingest, sla-timer with the shipped
# policies). The review is due 11 calendar months after the decision, then
# every 12 months from the review recorded; the Resident Services Manager is
# warned 20 working days before; the Head of Housing is alerted at the due
# date (the promise's `at: breach` tier). sla-timer must schedule exactly
# what `charterctl deadline` prints, cycle after cycle, with no cap.
#   R1 (decision 31 Jan 2027, timers pending): warning, due and overdue
#      timers at charterctl's instants; a reply does not end them; a review
#      kept on 20 Dec 2027 restarts the cycle from that day; seven reviews
#      later cycle 8 is under way with only its own three timers; lifted ends
#      them.
#   R2 (decision 15 Jan 2025, already due): the three cycle-1 timers fire on
#      charter.sla.timers.v1 (read with kcat, decoded with protoc) as
#      REVIEW_WARNING, REVIEW_DUE and REVIEW_OVERDUE with their instants; a
#      late review is counted late and starts cycle 2.
# On main before issue 17 sla-timer kept review_due/1..5 only, counted from
# the previous due date, with no warning, no overdue alert and no way to
# record a review.
source "$(dirname "$0")/lib.sh"

start_redis
start_broker
# receipts in the future on purpose (the timers stay pending): past ingest.max_future_skew_s
start_service ingest CHARTER_INGEST_MAX_FUTURE_SKEW_S=315360000
start_service sla-timer CHARTER_SLA_POLICY_DIR="$SRC/policies"
for s in ingest sla-timer; do wait_ready "$s"; done
CTL="$BUILD/tools/charterctl/charterctl"
ORG=customer-care-council
POLICY="$SRC/policies/$ORG.yaml"
TOPIC=charter.sla.timers.v1

reviewed() { # CASE AT OUTCOME
  case_event "$1" "{\"type\":\"reviewed\",\"organisation\":\"$ORG\",\"occurred_at\":\"$2\",\"outcome\":\"$3\",\"by\":\"r.manager\"}"
}
# deadline RECEIVED [REVIEWED]: charterctl deadline's lines for the case
deadline() {
  "$CTL" deadline --policy "$POLICY" --channel letter --type restriction_review --received "$1" \
    ${2:+--reviewed "$2"}
}
# printed LINES LABEL: the instant of the last line starting with LABEL
printed() { awk -v l="$2" 'index($0, l) == 1 { v = substr($0, length(l) + 1); sub(/^ +/, "", v); split(v, a, " "); at = a[1] } END { print at }' <<<"$1"; }
# timers CASE: "suffix due" per pending timer, sorted
timers() {
  "$CTL" timers --case "$1" --redis "$REDIS_URL" |
    awk -v c="$1/" 'index($NF, c) == 1 { print substr($NF, length(c) + 1), $1 }' | sort
}
# expect_timers CASE NAME WANT: waits until CASE's pending timers are WANT
expect_timers() {
  local got
  same() { got=$(timers "$1"); [ "$got" = "$3" ]; }
  wait_until 30 same "$@" || {
    printf 'expected:\n%s\ngot:\n%s\n' "$3" "$got"
    fail "$2: the pending review timers are not what charterctl deadline prints"
  }
  pass "$2: $(tr '\n' ';' <<<"$got")"
}

# ---- R1: cycle 1 as charterctl deadline prints it ----
R1=$(new_case $ORG letter restriction_review 2027-01-31T10:00:00Z)
out=$(deadline 2027-01-31T10:00:00Z)
W=$(printed "$out" "warning: resident_services_manager")
B=$(printed "$out" "breach alert: head_of_housing")
D=$(printed "$out" "first review due")
[ -n "$W" ] && [ -n "$B" ] && [ -n "$D" ] || fail "charterctl deadline printed no review tiers: $out"
expect_timers "$R1" "decision 31 Jan 2027, cycle 1" "review_due/1 $D
review_overdue/1 $B
review_warning_1/1 $W"
line=$("$CTL" timers --case "$R1" --redis "$REDIS_URL" | grep "/review_overdue/1$")
grep -qE " review_overdue +$ORG +CCC-" <<<"$line" || fail "overdue timer's kind: $line"

case_event "$R1" "{\"type\":\"responded\",\"organisation\":\"$ORG\",\"occurred_at\":\"2027-02-10T10:00:00Z\"}"
responded() { "$CTL" timers --state "$R1" --redis "$REDIS_URL" | qgrep '"responded":true'; }
wait_until 30 responded || fail "sla-timer did not apply the reply"
expect_timers "$R1" "after the reply (the restriction stays)" "review_due/1 $D
review_overdue/1 $B
review_warning_1/1 $W"

# ---- a review kept restarts the cycle from the review ----
reviewed "$R1" 2027-12-20T10:00:00Z kept
out=$(deadline 2027-01-31T10:00:00Z 2027-12-20T10:00:00Z)
W=$(printed "$out" "warning: resident_services_manager")
B=$(printed "$out" "breach alert: head_of_housing")
D=$(printed "$out" "next review due")
[ "$D" = 2028-12-20T23:59:59+00:00 ] || fail "charterctl deadline --reviewed: next review $D: $out"
expect_timers "$R1" "kept on 20 Dec 2027: cycle 2 from the review" "review_due/2 $D
review_overdue/2 $B
review_warning_1/2 $W"

# ---- no cap: six more years ----
for y in 2028 2029 2030 2031 2032 2033; do reviewed "$R1" "$y-12-20T10:00:00Z" kept; done
out=$(deadline 2027-01-31T10:00:00Z 2033-12-20T10:00:00Z)
W=$(printed "$out" "warning: resident_services_manager")
B=$(printed "$out" "breach alert: head_of_housing")
D=$(printed "$out" "next review due")
expect_timers "$R1" "seven reviews recorded: cycle 8, its timers only" "review_due/8 $D
review_overdue/8 $B
review_warning_1/8 $W"
out=$("$CTL" timers --case "$R1" --redis "$REDIS_URL")
grep -qF 'reviews recorded: 7 (0 after their due date), the latest 2033-12-20T10:00:00+00:00' <<<"$out" ||
  fail "charterctl timers does not show the reviews: $out"

reviewed "$R1" 2034-01-05T10:00:00Z lifted
lifted() { "$CTL" timers --case "$R1" --redis "$REDIS_URL" | qgrep 'restriction lifted$'; }
wait_until 30 lifted || fail "the lifted review was not applied"
[ -z "$(timers "$R1")" ] || fail "timers left after the restriction was lifted: $(timers "$R1")"
pass "lifted: no review timers left"

# ---- R2: cycle 1 already due: the three timers fire ----
R2=$(new_case $ORG letter restriction_review 2025-01-15T10:00:00Z)
out=$(deadline 2025-01-15T10:00:00Z)
W=$(printed "$out" "warning: resident_services_manager")
D=$(printed "$out" "first review due")
fired() { # CASE: its TimerFired records, one per line, decoded by protoc
  local p o
  kcat -b "$BOOTSTRAP" -C -t "$TOPIC" -e -q -f '%k %p %o\n' 2>/dev/null |
    awk -v k="$1" '$1 == k { print $2, $3 }' | while read -r p o; do
      decode_record "$TOPIC" "$p" "$o" TimerFired | tr '\n' ' '
      echo
    done
}
three() { [ "$(fired "$R2" | grep -c 'kind: TIMER_KIND_REVIEW_')" -ge 3 ]; }
wait_until 30 three || fail "R2's review timers did not fire: $(fired "$R2")"
all=$(fired "$R2")
sec() { date -u -d "$1" +%s; }
expect_in "$(grep 'kind: TIMER_KIND_REVIEW_WARNING' <<<"$all")" "the review warning" \
  "timer_id: \"$R2/review_warning_1/1\"" "tier: 1" "review: 1" "seconds: $(sec "$W")"
expect_in "$(grep 'kind: TIMER_KIND_REVIEW_DUE' <<<"$all")" "the review due" \
  "timer_id: \"$R2/review_due/1\"" "review: 1" "seconds: $(sec "$D")"
expect_in "$(grep 'kind: TIMER_KIND_REVIEW_OVERDUE' <<<"$all")" "the review overdue alert" \
  "timer_id: \"$R2/review_overdue/1\"" "tier: 2" "review: 1" "seconds: $(sec "$D")"
pass "decision 15 Jan 2025: REVIEW_WARNING ($W), REVIEW_DUE and REVIEW_OVERDUE ($D) fired"

reviewed "$R2" 2026-11-20T10:00:00Z kept
out=$(deadline 2025-01-15T10:00:00Z 2026-11-20T10:00:00Z)
expect_timers "$R2" "a late review on 20 Nov 2026 starts cycle 2" \
  "review_due/2 $(printed "$out" "next review due")
review_overdue/2 $(printed "$out" "breach alert: head_of_housing")
review_warning_1/2 $(printed "$out" "warning: resident_services_manager")"
"$CTL" timers --case "$R2" --redis "$REDIS_URL" | qgrep -F 'reviews recorded: 1 (1 after their due date)' ||
  fail "the late review was not counted late"
pass "the review recorded after its due date is counted late"
