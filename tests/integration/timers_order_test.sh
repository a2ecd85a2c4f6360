#!/usr/bin/env bash
# sla-timer applies one case's events one at a time, in order, even when they
# arrive together. 300 cases, each received now and closed a second later,
# are on the topic before sla-timer starts (a backlog, as after an outage or
# a replay), so every case's two events reach it in the same batch. After
# they are applied, every case's saved state must be closed and still hold
# what the received event brought (its time and reference), and no case may
# have a timer left in the store. (Applied side by side, both events read the
# empty state: the close is saved without the received event's part, and the
# case's later events are then judged against a case that never started,
# leaving its breach timer to fire.)
source "$(dirname "$0")/lib.sh"

start_redis
start_broker
PB2="$WORK/pb2"
CASES="$SRC/tests/integration/cases.py"
/usr/bin/python3 "$CASES" pb2 "$SRC/proto" "$PB2"

N=300
RECEIVED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
/usr/bin/python3 "$CASES" produce "$BOOTSTRAP" "$PB2" --org nottingham-city-homes --count $N \
  --received "$RECEIVED" --prefix ord --channel email --type enquiry --then-close >/dev/null ||
  fail "could not produce the cases"
pass "$N cases received and closed are waiting on the topic"

start_service sla-timer CHARTER_SLA_POLICY_DIR="$SRC/policies"
wait_ready sla-timer

rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
# A state that is closed and still knows when the case was received and its
# reference: both events applied, the received one first.
closed_states() {
  rcli --scan --pattern 'charter:case:{ord-*}:sla' | sed 's/^charter:case:{\(.*\)}:sla$/\1/' |
    while read -r id; do "$BUILD/tools/charterctl/charterctl" timers --state "$id" --redis "$REDIS_URL"; done |
    grep '"closed": *\(1\|true\)' | grep '"received_ms": *[1-9]' | grep -c '"reference": *"T-' || true
}
states() { rcli --scan --pattern 'charter:case:{ord-*}:sla' | wc -l; }
# Both events of every case applied: all N states saved, and the metric
# counts 2N events (a saved state is written only after its store changes).
applied() {
  local n
  n=$(curl -fsS "http://127.0.0.1:${SVC_PORT[sla-timer]}/metrics" |
    awk '$1 == "charter_sla_case_events_total" { print $2 }')
  [ "${n:-0}" -ge $((2 * N)) ] && [ "$(states)" -eq "$N" ] &&
    [ "$(curl -fsS "http://127.0.0.1:${SVC_PORT[sla-timer]}/metrics" |
      awk '$1 == "charter_inflight_messages" { s += $2 } END { print s + 0 }')" -eq 0 ]
}
wait_until 90 applied || fail "sla-timer did not apply the $((2 * N)) events within 90 s ($(states) states)"

closed=$(closed_states)
pending=0
for p in 0 1 2 3 4 5; do
  k=$(rcli ZRANGE "charter:{t$p}:due" 0 -1 | grep -c '^ord-' || true)
  pending=$((pending + k))
done
log "states closed: $closed of $N; timers left for these cases: $pending"
[ "$closed" -eq "$N" ] || fail "$((N - closed)) of $N cases' states are not closed or lost their received event"
[ "$pending" -eq 0 ] || fail "$pending timers left for closed cases"
pass "every case's events applied in order: $N closed states, no timers left"
stop_service sla-timer
