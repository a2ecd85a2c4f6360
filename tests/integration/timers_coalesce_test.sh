#!/usr/bin/env bash
# sla-timer's schedules and cancels coalesced (issue 16; timer_store.h): a
# partition's changes made in one loop turn go to Redis together, the
# schedules as one MULTI/EXEC transaction of plain commands. A backlog of
# case events is produced before sla-timer starts, so the consumer hands
# them over in large batches:
#   - 150 cases with text-form timers (ids that do not pack: their payloads
#     go to the :timers hash), 150 with compact ones (UUID cases) and 100
#     UUID cases closed right after receipt (their timers scheduled, then
#     cancelled);
#   - every open case ends with the same timers, the closed ones with none,
#     and only the text-form ones have payloads;
#   - the 400 receipts' timers took at most 40 ZADD commands in Redis
#     (INFO commandstats counts the ones inside scripts and transactions
#     too): one per case before the change;
#   - cases past due fire at once, and a compact case's fired timers leave
#     the in-flight set once written (the acknowledgement).
source "$(dirname "$0")/lib.sh"

start_redis
start_broker
PB2="$WORK/pb2"
CASES="$SRC/tests/integration/cases.py"
/usr/bin/python3 "$CASES" pb2 "$SRC/proto" "$PB2"
POLICIES="$WORK/policies"
mkdir -p "$POLICIES"
policy_yaml coal "Coalesce test" CO "1 hours" "2 hours" "warning=50%:owner" >"$POLICIES/coal.yaml"
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
metric() {
  curl -fsS "http://127.0.0.1:${SVC_PORT[sla-timer]}/metrics" | awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $2 } END { print s + 0 }'
}
produce() { /usr/bin/python3 "$CASES" produce "$BOOTSTRAP" "$PB2" "$@" >/dev/null || fail "could not produce: $*"; }
uuids() { /usr/bin/python3 -c 'import sys, uuid; [print(uuid.uuid4()) for _ in range(int(sys.argv[1]))]' "$1"; }
due_total() { # pending timers in every partition's due set
  local key n=0
  for key in $(rcli --scan --pattern 'charter:{t*}:due'); do n=$((n + $(rcli ZCARD "$key"))); done
  echo "$n"
}
hash_total() {
  local key n=0
  for key in $(rcli --scan --pattern 'charter:{t*}:timers'); do n=$((n + $(rcli HLEN "$key"))); done
  echo "$n"
}

NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
produce --org coal --count 150 --received "$NOW" --prefix txt
uuids 150 | awk -v t="$NOW" '{ print $1, "coal email enquiry", t }' >"$WORK/open"
uuids 100 | awk -v t="$NOW" '{ print $1, "coal email enquiry", t }' >"$WORK/closed"
produce --list "$WORK/open"
produce --list "$WORK/closed" --then-close
rcli CONFIG RESETSTAT >/dev/null

start_service sla-timer CHARTER_SLA_POLICY_DIR="$POLICIES"
wait_ready sla-timer
idle() {
  [ "$(metric charter_sla_case_events_total)" -ge 500 ] && [ "$(metric charter_inflight_messages)" -eq 0 ]
}
wait_until 60 idle || fail "sla-timer did not apply the 500 case events"

# One text case's timers give the count per case.
PER=0
for key in $(rcli --scan --pattern 'charter:{t*}:due'); do
  PER=$((PER + $(rcli ZRANGE "$key" 0 -1 | grep -c '^txt-000000/' || true)))
done
[ "$PER" -ge 2 ] || fail "case txt-000000 has $PER pending timers; expected its acknowledgement, warning and breach"
TOTAL=$(due_total)
[ "$TOTAL" -eq $((300 * PER)) ] ||
  fail "$TOTAL timers pending; expected $((300 * PER)) (300 open cases x $PER, none of the 100 closed)"
HASH=$(hash_total)
[ "$HASH" -eq $((150 * PER)) ] || fail "$HASH payloads stored; expected $((150 * PER)) (the text-form cases' only)"
INFLIGHT=0
for key in $(rcli --scan --pattern 'charter:{t*}:inflight'); do INFLIGHT=$((INFLIGHT + $(rcli ZCARD "$key"))); done
[ "$INFLIGHT" -eq 0 ] || fail "$INFLIGHT timers in flight; none is due yet"
pass "300 open cases with $PER timers each ($TOTAL), text-form payloads $HASH, the 100 closed cases' timers cancelled"

ZADDS=$(rcli INFO commandstats | awk -F'[:,=]' '$1 == "cmdstat_zadd" { print $3 }')
EXECS=$(rcli INFO commandstats | awk -F'[:,=]' '$1 == "cmdstat_exec" { print $3 }')
log "ZADD calls: ${ZADDS:-0}; EXEC calls: ${EXECS:-0}; for 400 cases' receipts"
[ "${ZADDS:-0}" -ge 1 ] && [ "${ZADDS:-0}" -le 40 ] ||
  fail "the 400 receipts took ${ZADDS:-0} ZADD calls; coalesced, at most 40"
pass "400 cases' timers scheduled with ${ZADDS} ZADD calls (${EXECS:-0} transactions)"

# A timer scheduled past due fires through the same path: a case received
# ten days ago is past its acknowledgement and breach (working hours), so
# its timers are claimed at once and leave the due set.
OLD=$(date -u -d '10 days ago' +%Y-%m-%dT10:00:00Z)
produce --org coal --count 1 --received "$OLD" --prefix late
late_gone() {
  [ "$(due_total)" -eq "$TOTAL" ] && [ "$(metric charter_sla_timers_fired_total)" -ge "$PER" ]
}
wait_until 30 late_gone ||
  fail "the late case's timers did not fire: $(due_total) pending (expected $TOTAL), $(metric charter_sla_timers_fired_total) fired (expected $PER)"
pass "a late case's $PER timers, scheduled past due, fired at once"

# Fired and written, the timers are deleted from the in-flight set (for
# compact ones a plain ZREM, batched per loop turn); a UUID case here, so its
# timers are compact.
LATE=$(uuids 1)
echo "$LATE coal email enquiry $OLD" >"$WORK/late"
produce --list "$WORK/late"
inflight_total() {
  local key n=0
  for key in $(rcli --scan --pattern 'charter:{t*}:inflight'); do n=$((n + $(rcli ZCARD "$key"))); done
  echo "$n"
}
late_deleted() {
  [ "$(metric charter_sla_timers_fired_total)" -ge $((2 * PER)) ] && [ "$(inflight_total)" -eq 0 ] &&
    [ "$(due_total)" -eq "$TOTAL" ]
}
wait_until 30 late_deleted ||
  fail "the compact late case's timers: $(metric charter_sla_timers_fired_total) fired (expected $((2 * PER))), $(inflight_total) still in flight (expected 0)"
pass "a compact case's $PER fired timers deleted from the in-flight set once written"

stop_service sla-timer
