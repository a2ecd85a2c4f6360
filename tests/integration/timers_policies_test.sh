#!/usr/bin/env bash
# sla-timer under the five shipped charters: for every organisation, one case
# per channel (and the complaint, FOI and subject-access case types) received
# 60 days ago, so every clock is already past due and fires at once carrying
# its original due time. Each fired acknowledgement, warning and breach must
# carry exactly the due instant `charterctl deadline --policy` computes.
source "$(dirname "$0")/lib.sh"

start_redis
start_broker
PB2="$WORK/pb2"
/usr/bin/python3 "$SRC/tests/integration/cases.py" pb2 "$SRC/proto" "$PB2"
start_service sla-timer CHARTER_SLA_POLICY_DIR="$SRC/policies"
wait_ready sla-timer

RECEIVED=$(date -u -d '60 days ago' +%Y-%m-%dT09:15:00Z)
CTL="$BUILD/tools/charterctl/charterctl"
: >"$WORK/cases" >"$WORK/expected"
# A combination whose case type the organisation does not take is skipped
# (charterctl deadline refuses it, as ingest would); foi, eir and sar have the
# statutory clock on every channel at every organisation.
combos="phone:enquiry voicemail:enquiry email:enquiry letter:enquiry online_form:enquiry
  online_form:service_request social:enquiry visit:enquiry sms:enquiry email:complaint_stage_1
  letter:complaint_stage_1 email:complaint_stage_2 email:foi sms:eir letter:sar phone:sar
  email:contact_group"
for policy in "$SRC"/policies/*.yaml; do
  org=$(basename "$policy" .yaml)
  for combo in $combos; do
    ch=${combo%%:*} type=${combo##*:}
    case_id="pol-$org-$ch-$type"
    out=$("$CTL" deadline --policy "$policy" --channel "$ch" --type "$type" --received "$RECEIVED" 2>&1) ||
      continue # a case type this organisation does not take
    # acknowledgement (when it is a timer), each warning in order, the response due
    /usr/bin/python3 - "$case_id" "$out" >>"$WORK/expected" <<'PY'
import datetime, re, sys
case, out = sys.argv[1], sys.argv[2]
for line in out.splitlines():
    # issue 17: an automatic acknowledgement is sent on receipt; its timer is
    # the "acknowledgement overdue" line, an hour later
    m = re.match(r"^(acknowledgement due|acknowledgement overdue|warning: \S+|respond due|seen by)\s+(\S+)", line)
    if not m or m.group(2) == "-":
        continue
    ms = int(round(datetime.datetime.fromisoformat(m.group(2)).timestamp() * 1000))
    if m.group(1).startswith("acknowledgement"):
        print("%s/acknowledgement_due %d" % (case, ms))
    elif m.group(1).startswith("warning"):
        print("%s/warning %d" % (case, ms))
    elif m.group(1) == "seen by":
        print("%s/wait_exceeded %d" % (case, ms))
    else:
        print("%s/breach %d" % (case, ms))
PY
    grep -q "^$case_id/" "$WORK/expected" && echo "$case_id $org $ch $type $RECEIVED" >>"$WORK/cases"
  done
done
ncases=$(wc -l <"$WORK/cases")
nexpected=$(wc -l <"$WORK/expected")
[ "$ncases" -ge 40 ] || fail "only $ncases cases have clocks under the five policies"
log "$ncases cases with clocks, $nexpected timers expected (charterctl deadline --policy)"

/usr/bin/python3 "$SRC/tests/integration/cases.py" produce "$BOOTSTRAP" "$PB2" --list "$WORK/cases" >/dev/null ||
  fail "could not produce the cases"

all_fired() {
  /usr/bin/python3 "$SRC/tests/integration/cases.py" timers "$BOOTSTRAP" "$PB2" --prefix pol- \
    --dump "$WORK/fired" >/dev/null && [ "$(wc -l <"$WORK/fired")" -ge "$nexpected" ]
}
wait_until 90 all_fired || fail "only $(wc -l <"$WORK/fired") of $nexpected timers fired"

# Warning tiers are numbered in the policy's order and charterctl lists them
# by time: compare each case's warning instants as a set.
sort "$WORK/expected" >"$WORK/expected.sorted"
sed 's|/warning/[0-9]* |/warning |' "$WORK/fired" | sort >"$WORK/fired.sorted"
if ! diff -u "$WORK/expected.sorted" "$WORK/fired.sorted" >"$WORK/diff"; then
  head -40 "$WORK/diff"
  fail "fired timers differ from the deadline engine's instants (above: - expected, + fired)"
fi
for org in nottingham-city-homes derby-homes nihe digital-first-council customer-care-council; do
  n=$(grep -c "^pol-$org-" "$WORK/fired.sorted" || true)
  kinds=$(sed -n "s|^pol-$org-[^/]*/\([a-z_]*\).*|\1|p" "$WORK/fired.sorted" | sort -u | tr '\n' ' ')
  [ "$n" -gt 0 ] || fail "no timer fired for $org"
  pass "$org: $n timers fired at the engine's instants ($kinds)"
done
grep -q '/acknowledgement_due ' "$WORK/fired.sorted" && grep -q '/warning ' "$WORK/fired.sorted" &&
  grep -q '/breach ' "$WORK/fired.sorted" || fail "not every kind (acknowledgement, warning, breach) fired"
pass "all $nexpected timers of $ncases cases fired exactly at the computed due instants"
