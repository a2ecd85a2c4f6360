#!/usr/bin/env bash
# Project hygiene a council checks before adopting Charter: every binary says
# its version (`--version`, exit 0, "<name> <project version> (<commit>)"),
# and `charterctl holidays --override` checks a GOV.UK bank-holidays file for
# holidays.override_file and shows the holiday it adds. That such a file
# moves a deadline in the services is tests/unit/test_policy_store.c's
# test_holiday_override_moves_a_deadline (the loader every service uses).
source "$(dirname "$0")/lib.sh"
CTL="$BUILD/tools/charterctl/charterctl"

version=$(sed -n 's/^project(charter VERSION \([0-9.]*\) .*/\1/p' "$SRC/CMakeLists.txt")
[ -n "$version" ] || fail "no project(charter VERSION ...) in CMakeLists.txt"
for bin in services/ingest/charter-ingest services/sla-timer/charter-sla-timer \
  services/notification/charter-notification services/reporting/charter-reporting \
  tools/charterctl/charterctl tools/broker/charter-broker; do
  name=$(basename "$bin")
  out=$("$BUILD/$bin" --version) || fail "$name --version exited $?"
  [[ "$out" =~ ^$name\ $version\ \([^\)]+\)$ ]] || fail "$name --version printed '$out'"
done
pass "all six binaries print '<name> $version (<commit>)' for --version"

# GOV.UK's file for 2018-2027 with a newly announced one-off holiday.
/usr/bin/python3 - "$SRC/tests/data/bank-holidays.json" "$WORK/holidays.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for division in doc.values():
    division["events"].append({"title": "Special bank holiday", "date": "2027-06-07",
                               "notes": "", "bunting": True})
json.dump(doc, open(sys.argv[2], "w"))
PY
out=$("$CTL" holidays --override "$WORK/holidays.json") || fail "a valid override refused: $out"
[ "$(grep -c '^  + 2027-06-07 Mon  Special bank holiday$' <<<"$out")" = 3 ] ||
  fail "the added holiday is not listed once per division: $out"
grep -q '^  - ' <<<"$out" && fail "the file removes nothing, but: $out"
pass "holidays --override lists the new 7 June 2027 holiday in each division"

out=$("$CTL" holidays --override "$SRC/tests/data/bank-holidays.json")
[ "$(grep -c 'the same as the built-in rules' <<<"$out")" = 3 ] || fail "GOV.UK's own file: $out"
pass "GOV.UK's published file is the same as the built-in rules"

sed 's/"2027-06-07"/"2027-06-31"/' "$WORK/holidays.json" >"$WORK/bad.json"
rc=0
"$CTL" holidays --override "$WORK/bad.json" >"$WORK/out" 2>"$WORK/err" || rc=$?
[ "$rc" = 1 ] && grep -q "bad.json: .*events\[.*\].date" "$WORK/err" ||
  fail "an impossible date: expected exit 1 naming the file and field, got $rc: $(cat "$WORK/err")"
rc=0
"$CTL" holidays --override "$WORK/none.json" 2>"$WORK/err" || rc=$?
[ "$rc" = 1 ] && grep -q "none.json" "$WORK/err" || fail "a missing file: got $rc: $(cat "$WORK/err")"
pass "a bad or missing override file: exit 1 naming the file (and the field)"
