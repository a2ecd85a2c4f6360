#!/usr/bin/env bash
# charterctl as staff and operators use it: "when is this due?", the bank
# holidays, and checking policy files (the shipped ones pass; every broken
# copy fails with a message naming the file and line).
source "$(dirname "$0")/lib.sh"
CTL="$BUILD/tools/charterctl/charterctl"

first_line() { "$CTL" "$@" | head -n 1; }

got=$(first_line deadline --calendar england-and-wales --received 2026-12-23T11:00:00Z --within "7 working days")
[ "$got" = "2027-01-06T23:59:59+00:00" ] || fail "7 working days over Christmas: got '$got'"
pass "7 working days from 23 Dec 2026 (England and Wales): $got"

got=$(first_line deadline --calendar northern-ireland --received 2026-11-02T10:00:00Z --statutory foi \
  --pause 2026-11-10..2026-11-12)
[ "$got" = "2026-12-04T23:59:59+00:00" ] || fail "FOI with a fees pause: got '$got'"
pass "FOI, fees notice 10-12 Nov disregarded, St Andrew's Day counted (uk-any): $got"

got=$(first_line deadline --calendar england-and-wales --received 2026-03-28T12:00Z --within "24 hours")
[ "$got" = "2026-03-29T13:00:00+01:00" ] || fail "24 hours across the spring change: got '$got'"
pass "24 hours across the spring clock change: $got"

out=$("$CTL" holidays --calendar scotland --year 2027)
grep -q '^2027-01-04 Mon' <<<"$out" || fail "Scotland 2027 lacks Mon 4 Jan: $out"
grep -q '^2027-08-02 Mon' <<<"$out" || fail "Scotland 2027 lacks the first Monday of August: $out"
pass "Scotland 2027 holidays include Mon 4 Jan and Mon 2 Aug"

rc=0
"$CTL" deadline --calendar wales --received 2026-12-23T11:00:00Z --within "1 working day" 2>"$WORK/err" || rc=$?
[ "$rc" = 2 ] && grep -q "wales" "$WORK/err" || fail "unknown calendar: expected exit 2 naming it, got $rc: $(cat "$WORK/err")"
rc=0
"$CTL" deadline --calendar scotland --received 2026-12-23T11:00:00Z --within "5 workin days" 2>"$WORK/err" || rc=$?
[ "$rc" = 2 ] && grep -q "'5 workin days' is not a clock" "$WORK/err" || fail "bad rule: got $rc: $(cat "$WORK/err")"
pass "bad input: exit 2 with the calendar or rule named"

"$CTL" policy check "$SRC"/policies/*.yaml >"$WORK/check" || fail "shipped policies do not pass: $(cat "$WORK/check")"
[ "$(grep -c ': ok, ' "$WORK/check")" = 5 ] || fail "expected five policies ok: $(head "$WORK/check")"
pass "all five shipped policies pass charterctl policy check"
grep -q 'supplied by Charter' "$WORK/check" && grep -q '^  case types: enquiry, ' "$WORK/check" ||
  fail "policy check does not show the supplied rules and the case types: $(head "$WORK/check")"
pass "policy check lists each organisation's case types and the rules Charter supplies"

# Every contact falls under a rule; an unknown case type is refused with the list.
out=$("$CTL" deadline --policy "$SRC/policies/customer-care-council.yaml" --channel sms \
  --received 2026-03-06T17:30:00Z) || fail "CCC text message: no rule: $out"
grep -q '^promise:  charter-measured (supplied by Charter' <<<"$out" || fail "CCC text message: $out"
out=$("$CTL" deadline --policy "$SRC/policies/customer-care-council.yaml" --channel email --type foi \
  --received 2026-03-06T17:30:00Z)
grep -qE '^respond due +2026-04-08T23:59:59\+01:00 ' <<<"$out" || fail "CCC FOI by e-mail: $out"
pass "CCC: a text message is measured (charter-measured), an e-mailed FOI is due in 20 working days"
rc=0
"$CTL" deadline --policy "$SRC/policies/derby-homes.yaml" --channel email --type complaint \
  --received 2026-03-06T17:30:00Z 2>"$WORK/err" || rc=$?
[ "$rc" = 2 ] && grep -q "'complaint' is not a case type of Derby Homes (expected one of: enquiry, service_request, complaint_stage_1" "$WORK/err" ||
  fail "unknown case type: expected exit 2 with the list, got $rc: $(cat "$WORK/err")"
pass "charterctl deadline --type complaint: exit 2 naming Derby's case types"

n=0
for broken in "$SRC"/tests/policies/broken/*.yaml; do
  rc=0
  "$CTL" policy check "$broken" >/dev/null 2>"$WORK/err" || rc=$?
  [ "$rc" = 1 ] || fail "$(basename "$broken") was accepted (exit $rc)"
  grep -qE "$(basename "$broken"):[0-9]+:[0-9]+: " "$WORK/err" ||
    fail "error for $(basename "$broken") names no line: $(cat "$WORK/err")"
  n=$((n + 1))
done
[ "$n" -ge 10 ] || fail "only $n broken policies to check"
pass "$n broken policies refused, each error naming file:line:column"
