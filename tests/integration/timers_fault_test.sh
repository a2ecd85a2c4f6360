#!/usr/bin/env bash
# sla-timer's promises under faults, counted with an independent client
# (cases.py: Debian's python3-kafka + protoc-generated protobuf):
#   1. Redis restarted (AOF on) while 600 timers are pending: none lost.
#   2. Two sla-timer instances in one consumer group, one killed with -9:
#      all 600 timers still fire.
#   3. sla-timer killed with -9 while 10,000 timers fire, then restarted:
#      every timer reaches charter.sla.timers.v1 at least once; after
#      dropping repeats by timer id, exactly once. Lost and duplicate counts
#      are printed; lost must be 0.
source "$(dirname "$0")/lib.sh"

REDIS_AOF=yes start_redis
start_broker
PB2="$WORK/pb2"
CASES="$SRC/tests/integration/cases.py"
/usr/bin/python3 "$CASES" pb2 "$SRC/proto" "$PB2"

POLICIES="$WORK/policies"
mkdir -p "$POLICIES"
policy() { # policy ID ACKNOWLEDGE RESPOND
  policy_yaml "$1" "Fault test $1" FT "$2" "$3" >"$POLICIES/$1.yaml"
}
policy later "20 seconds" "35 seconds"
policy pair "20 seconds" "30 seconds"
policy load automatic "1 hours"

SLA_ENV=(CHARTER_SLA_POLICY_DIR="$POLICIES" CHARTER_SLA_LEASE_MS=3000 CHARTER_LOG_LEVEL=warn)
start_service sla-timer "${SLA_ENV[@]}"
wait_ready sla-timer

# fired PREFIX: prints "records distinct duplicates" for timers of PREFIX cases.
fired() {
  /usr/bin/python3 "$CASES" timers "$BOOTSTRAP" "$PB2" --prefix "$1" |
    /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["records"], d["distinct"], d["duplicates"])'
}
all_fired() { # all_fired PREFIX N
  local r
  r=$(fired "$1") || return 1
  set -- "$1" "$2" $r
  [ "$4" -ge "$2" ]
}
pending_timers() {
  local total=0 n key
  for key in $(redis-cli -p "$REDIS_PORT" --scan --pattern 'charter:{t*}:due'); do
    n=$(redis-cli -p "$REDIS_PORT" zcard "$key")
    total=$((total + n))
  done
  echo "$total"
}
has_pending() { [ "$(pending_timers)" -ge "$1" ]; }

# ---- 1. Redis restarted with AOF while timers are pending ----
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
/usr/bin/python3 "$CASES" produce "$BOOTSTRAP" "$PB2" --org later --count 300 --received "$NOW" \
  --prefix aof >/dev/null || fail "could not produce the AOF cases"
wait_until 15 has_pending 600 || fail "600 timers not pending in Redis (found $(pending_timers))"
# what operators see: charterctl reads the same keys
CTL="$BUILD/tools/charterctl/charterctl"
out=$("$CTL" timers --due-within 1h --redis "$REDIS_URL") || fail "charterctl timers failed: $out"
grep -qx '600 timers' <<<"$out" || fail "charterctl timers --due-within 1h: $(tail -n 2 <<<"$out")"
out=$("$CTL" timers --case aof-000007 --redis "$REDIS_URL") || fail "charterctl timers --case failed"
grep -qx '2 timers' <<<"$out" &&
  grep -qE ' acknowledgement_due +later +T-000007 +aof-000007/acknowledgement_due$' <<<"$out" &&
  grep -qE ' breach +later +T-000007 +aof-000007/breach$' <<<"$out" || fail "charterctl timers --case: $out"
[ "$("$CTL" timers --due-within 1s --redis "$REDIS_URL" | tail -n 1)" = "0 timers" ] ||
  fail "charterctl timers --due-within 1s listed timers due in 20 s"
pass "charterctl timers: 600 due within the hour, 2 for one case, none within a second"
kill -TERM "$REDIS_PID" # a restart: Redis writes its AOF and stops
wait_until 10 sh -c "! kill -0 $REDIS_PID 2>/dev/null" || fail "redis-server did not stop"
REDIS_AOF=yes start_redis
[ "$(pending_timers)" -ge 600 ] || fail "Redis came back with $(pending_timers) of 600 pending timers"
wait_ready sla-timer
wait_until 90 all_fired aof- 600 || fail "after the Redis restart only $(fired aof-) (records distinct dups) fired"
read -r rec dist dup <<<"$(fired aof-)"
log "Redis restart: 600 timers expected, $dist fired (lost $((600 - dist)), duplicates $dup)"
pass "Redis restarted with AOF while 600 timers were pending: none lost"

# ---- 2. two instances in one group, one killed ----
FIRST=${SVC_PID[sla-timer]}
SVC_PORT[sla-timer]= # the second instance gets its own port
start_service sla-timer "${SLA_ENV[@]}"
SECOND=${SVC_PID[sla-timer]}
wait_ready sla-timer
two_members() { [ "$(grep -c '"partition revoked"' "$WORK/sla-timer.log" || true)" -ge 1 ]; }
sleep 8 # let the group settle with two members (6 s session timeout)
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
/usr/bin/python3 "$CASES" produce "$BOOTSTRAP" "$PB2" --org pair --count 300 --received "$NOW" \
  --prefix pair >/dev/null || fail "could not produce the pair cases"
wait_until 15 has_pending 600 || fail "pair timers not pending (found $(pending_timers))"
kill -KILL "$FIRST"
log "killed one of two sla-timer instances (pid $FIRST) with 600 timers pending"
wait_until 90 all_fired pair- 600 || fail "with one instance killed only $(fired pair-) (records distinct dups) fired"
read -r rec dist dup <<<"$(fired pair-)"
log "two instances, one killed: 600 timers expected, $dist fired (lost $((600 - dist)), duplicates $dup)"
pass "two sla-timer instances, one killed: all 600 timers fired"

# ---- 3. kill -9 while 10,000 timers fire ----
SVC_PID[sla-timer]=$SECOND
: >"$WORK/sla-timer.log"
CHARTER_LOG_LEVEL=info
SLA_ENV=(CHARTER_SLA_POLICY_DIR="$POLICIES" CHARTER_SLA_LEASE_MS=3000)
kill -KILL "$SECOND"
start_service sla-timer "${SLA_ENV[@]}"
wait_ready sla-timer
sleep 8 # the killed member's session expires; the new one takes every partition
RECEIVED=$(date -u -d '3 hours ago' +%Y-%m-%dT%H:%M:%SZ)
/usr/bin/python3 "$CASES" produce "$BOOTSTRAP" "$PB2" --org load --count 5000 --received "$RECEIVED" \
  --prefix kill >/dev/null || fail "could not produce the 5,000 cases"
firing() { [ "$(grep -c '"timer fired".*kill-' "$WORK/sla-timer.log" || true)" -ge 1500 ]; }
wait_until 60 firing || fail "timers did not start firing"
kill -KILL "${SVC_PID[sla-timer]}"
log "sla-timer killed with -9 after $(grep -c '"timer fired".*kill-' "$WORK/sla-timer.log") of 10,000 timers fired"
start_service sla-timer "${SLA_ENV[@]}"
wait_ready sla-timer
wait_until 150 all_fired kill- 10000 || true
read -r rec dist dup <<<"$(fired kill-)"
log "kill -9 mid-fire: 10000 timers expected, $rec records, $dist distinct: lost $((10000 - dist)), duplicates $dup"
[ "$dist" -eq 10000 ] || fail "lost $((10000 - dist)) timers"
pass "kill -9 while 10,000 timers fired: lost 0, duplicates $dup (dropped by timer id)"
