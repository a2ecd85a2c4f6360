#!/usr/bin/env bash
# sla-timer under faults in the middle of a case's events (issue 14: review
# items M2, M3, L8), each judged against a clean run of the same events:
#   1. A transient Redis error mid-lane (maxmemory 1: every write refused with
#      OOM) while cases' paused and resumed events flow: each case's "paused"
#      fails and is retried; its "resumed", consumed meanwhile, must wait
#      behind it. The timers left in Redis must be the clean run's. (Before,
#      the resume overtook the failed pause: applied to a running clock it did
#      nothing, then the pause stopped the clock for good: no warning, no
#      breach.)
#   2. A rebalance with queued events: Redis stalled (SIGSTOP) while instance
#      A has a backlog of 40 cases x 16 events in its lanes, a second instance
#      B joins the group and takes partitions, Redis resumes. A must drop the
#      revoked partitions' queued events (not apply them alongside B), and the
#      timers fired to charter.sla.timers.v1 (read with cases.py, an
#      independent client) must be the clean run's, relative to receipt.
#   3. An accepted holding reply after a warning fired: the warning before the
#      extended target is a new timer (its own id), so notification, which
#      sends one alert per timer id, warns staff again.
# And (L4) a kafka.message.timeout.ms not below sla.lease_ms stops start-up.
source "$(dirname "$0")/lib.sh"

start_redis
start_broker
PB2="$WORK/pb2"
CASES="$SRC/tests/integration/cases.py"
/usr/bin/python3 "$CASES" pb2 "$SRC/proto" "$PB2"
POLICIES="$WORK/policies"
mkdir -p "$POLICIES"
policy_yaml lanes "Lanes test" LN "1 hours" "1 hours" "warning=50%:owner" >"$POLICIES/lanes.yaml"
policy_yaml quick "Rebalance test" QK "1 hours" "45 seconds" "warning=50%:owner" >"$POLICIES/quick.yaml"
policy_yaml hold "Extension test" HD "1 hours" "60 seconds" "warning=50%:owner" |
  sed 's/^    respond: 60 seconds$/&\n    holding_reply:\n      must_include: [target_date]/' >"$POLICIES/hold.yaml"
grep -q 'must_include' "$POLICIES/hold.yaml" || fail "the hold policy has no holding_reply"

SLA_ENV=(CHARTER_SLA_POLICY_DIR="$POLICIES" CHARTER_SLA_LEASE_MS=3000)

# L4: Kafka's delivery timeout must end before the lease, or a timer is
# claimed and written again while Kafka still holds its first copy.
if env CHARTER_REDIS_URL="$REDIS_URL" CHARTER_KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" \
  CHARTER_HTTP_LISTEN="127.0.0.1:$(free_port)" "${SLA_ENV[@]}" CHARTER_KAFKA_MESSAGE_TIMEOUT_MS=3000 \
  timeout 20 "$BUILD/services/sla-timer/charter-sla-timer" >"$WORK/lease.out" 2>&1; then
  fail "sla-timer started with kafka.message.timeout.ms equal to sla.lease_ms"
fi
grep -qF 'kafka.message.timeout.ms (3000) must be a number of ms below sla.lease_ms (3000)' "$WORK/lease.out" ||
  fail "the refusal does not name both keys: $(tail -n 2 "$WORK/lease.out")"
pass "kafka.message.timeout.ms at the lease refused at start-up, naming both keys"
start_service sla-timer "${SLA_ENV[@]}"
wait_ready sla-timer
A_PID=${SVC_PID[sla-timer]}
A_PORT=${SVC_PORT[sla-timer]}

rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
metric() { # PORT NAME: the metric's value (summed over labels), 0 when absent
  curl -fsS "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $2 } END { print s + 0 }'
}
idle() { # PORT EVENTS: at least EVENTS case events seen and nothing in flight
  [ "$(metric "$1" charter_sla_case_events_total)" -ge "$2" ] &&
    [ "$(metric "$1" charter_inflight_messages)" -eq 0 ]
}
produce() { /usr/bin/python3 "$CASES" produce "$BOOTSTRAP" "$PB2" "$@" >/dev/null || fail "could not produce: $*"; }
# store_timers PREFIX: the pending timers of PREFIX's cases as "ID-WITHOUT-PREFIX DUE-MS", sorted
store_timers() {
  local key
  for key in $(rcli --scan --pattern 'charter:{t*}:due'); do
    rcli ZRANGE "$key" 0 -1 WITHSCORES
  done | paste - - | awk -v p="$1-" 'index($1, p) == 1 { print substr($1, length(p) + 1), $2 }' | sort
}
iso_ms() { echo $(( $(date -u -d "$1" +%s) * 1000 )); }

# The extension case (part 3) is received now; its warning fires in 30 s.
HOLD_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
produce --org hold --count 1 --received "$HOLD_AT" --prefix ext

# ---- 1. a Redis error mid-lane ----
N=60
R0=$(date -u +%Y-%m-%dT%H:%M:%SZ)
produce --org lanes --count $N --received "$R0" --prefix clean --pause-cycles 1
produce --org lanes --count $N --received "$R0" --prefix fault
wait_until 60 idle "$A_PORT" $((1 + 4 * N)) || fail "sla-timer did not apply the clean run and the receipts"
clean=$(store_timers clean)
[ "$(grep -c '/breach ' <<<"$clean")" -eq $N ] || fail "the clean run has not $N breach timers: $clean"

rcli CONFIG SET maxmemory 1 >/dev/null
retries0=$(metric "$A_PORT" charter_handler_retries_total)
consumed0=$(metric "$A_PORT" charter_kafka_consumed_total)
produce --org lanes --count $N --received "$R0" --prefix fault --no-received --pause-cycles 1 --only paused
failing() { [ "$(metric "$A_PORT" charter_handler_retries_total)" -ge $((retries0 + 3 * N)) ]; }
wait_until 30 failing || fail "the paused events were not refused by Redis (maxmemory 1)"
produce --org lanes --count $N --received "$R0" --prefix fault --no-received --pause-cycles 1 --only resumed
consumed() { [ "$(metric "$A_PORT" charter_kafka_consumed_total)" -ge $((consumed0 + 2 * N)) ]; }
wait_until 30 consumed || fail "sla-timer did not consume the resumed events"
rcli CONFIG SET maxmemory 0 >/dev/null
log "Redis refused writes (OOM) while $N cases' paused events failed and their resumed events arrived; writes allowed again"
wait_until 60 idle "$A_PORT" $((1 + 6 * N)) || fail "sla-timer did not apply the paused and resumed events after the OOM"
fault=$(store_timers fault)
if [ "$fault" != "$clean" ]; then
  diff <(echo "$clean") <(echo "$fault") | head -n 10 || true
  paused=$(rcli --scan --pattern 'charter:case:{fault-*}:sla' | sed 's/^charter:case:{\(.*\)}:sla$/\1/' |
    while read -r id; do "$BUILD/tools/charterctl/charterctl" timers --state "$id" --redis "$REDIS_URL"; done |
    grep -c '"paused_since_ms": *[1-9]' || true)
  fail "after the Redis error the timers differ from the clean run ($paused of $N clocks left paused)"
fi
pass "a Redis error mid-lane: every case's paused then resumed applied in order; timers as the clean run's ($(wc -l <<<"$fault") pending)"

# ---- 3 (first half). the extension case: warned before the original target, then extended ----
warned() { /usr/bin/python3 "$CASES" timers "$BOOTSTRAP" "$PB2" --prefix ext- --dump "$WORK/ext.fired" >/dev/null && grep -q '^ext-000000/warning/1 ' "$WORK/ext.fired"; }
wait_until 60 warned || fail "the extension case's first warning did not fire"
# recorded 35 s after receipt (before the 60 s target), moving it to 120 s
produce --org hold --count 1 --received "$HOLD_AT" --prefix ext --no-received --hold-after 35 --hold-target 120
pass "the extension case warned at 50% of its 60 s target; a holding reply moves the target to 120 s"

# ---- 2. a rebalance with queued events ----
N2=40
at_ms() { sed -n "s/^$1-//p" | awk -v r="$2" '{ print $1, $2 - r }' | sort; }
fired_rel() { # PREFIX R0: the fired timers (not the 1-hour acknowledgements) relative to receipt
  /usr/bin/python3 "$CASES" timers "$BOOTSTRAP" "$PB2" --prefix "$1-" --dump "$WORK/$1.fired" >/dev/null || return 1
  grep -v '/acknowledgement_due ' "$WORK/$1.fired" | at_ms "$1" "$(iso_ms "$2")"
}
pending_quick() { store_timers "$1" | grep -vc '/acknowledgement_due ' || true; }
settled() { [ "$(pending_quick "$1")" -eq 0 ]; }

R1=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ev0=$(metric "$A_PORT" charter_sla_case_events_total)
produce --org quick --count $N2 --received "$R1" --prefix clean2 --pause-cycles 7 --then-close --close-every 2
E2=$((N2 * 15 + N2 / 2))
wait_until 60 idle "$A_PORT" $((ev0 + E2)) || fail "sla-timer did not apply the clean rebalance run"

kill -STOP "$REDIS_PID"
log "Redis stopped (SIGSTOP): sla-timer's case events wait in their lanes"
c0=$(metric "$A_PORT" charter_kafka_consumed_total)
R2=$(date -u +%Y-%m-%dT%H:%M:%SZ)
produce --org quick --count $N2 --received "$R2" --prefix fault2 --pause-cycles 7 --then-close --close-every 2
queued() { [ "$(metric "$A_PORT" charter_kafka_consumed_total)" -ge $((c0 + E2)) ]; }
wait_until 30 queued || { kill -CONT "$REDIS_PID"; fail "instance A did not consume the backlog"; }
SVC_PORT[sla-timer]= # the second instance gets its own port
start_service sla-timer "${SLA_ENV[@]}"
B_PORT=${SVC_PORT[sla-timer]}
# the group rebalanced and B holds partitions: A's revoked records were
# consumed again, by B or (partitions A got back) by A
both() {
  local a b
  a=$(metric "$A_PORT" charter_kafka_consumed_total)
  b=$(metric "$B_PORT" charter_kafka_consumed_total)
  [ "$b" -gt 0 ] && [ $((a + b)) -ge $((c0 + 2 * E2)) ]
}
wait_until 150 both || { kill -CONT "$REDIS_PID"; fail "the group did not rebalance onto instance B with the backlog"; }
kill -CONT "$REDIS_PID"
log "second instance joined, partitions moved with $E2 events queued; Redis resumed"
grep -q '"queued records of a revoked partition dropped"' "$WORK/sla-timer.log" ||
  fail "instance A did not drop the revoked partitions' queued events"
wait_until 90 settled clean2 || fail "the clean run's timers did not all fire"
wait_until 90 settled fault2 || fail "the rebalance run's timers did not all fire ($(pending_quick fault2) pending)"
want=$(fired_rel clean2 "$R1")
got=$(fired_rel fault2 "$R2")
[ -n "$want" ] || fail "the clean run fired nothing"
if [ "$want" != "$got" ]; then
  diff <(echo "$want") <(echo "$got") | head -n 10 || true
  fail "after the rebalance the fired timers differ from the clean run"
fi
pass "a rebalance with queued events: A dropped the revoked partitions' queue; $(wc -l <<<"$got") timers fired as in the clean run"

# ---- 3 (second half). a fresh warning before the extended target ----
EXT_S=$(( $(date -u -d "$HOLD_AT" +%s) + 120 ))
rewarned() { warned && grep -q "^ext-000000/warning/1/extended/$EXT_S " "$WORK/ext.fired"; }
wait_until 90 rewarned || fail "no new warning before the extended target: $(cat "$WORK/ext.fired")"
due=$(awk -v id="ext-000000/warning/1/extended/$EXT_S" '$1 == id { print int($2 / 1000) }' "$WORK/ext.fired")
[ "$due" -lt "$EXT_S" ] || fail "the new warning is due at $due, not before the extended target $EXT_S"
pass "the extended target got its own warning (ext-000000/warning/1/extended/$EXT_S) before it: staff are warned again"
stop_service sla-timer
