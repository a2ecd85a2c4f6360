#!/usr/bin/env bash
# notify.recipient_max_per_day against SMS pumping (CHARTER_NOTIFY_RECIPIENT_MAX_PER_DAY=3):
# five contacts from one phone number through ingest get three text
# acknowledgements; the other two fail for good with the reason "recipient
# limit: 3 customer messages to this address/number today", are
# dead-lettered and counted in charter_notify_recipient_limited_total (2).
# Another number is still served. Redis's counters hold a SHA-256 of the
# number, never the number, and the warning names the case, not the number.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notification_lib.sh"

start_redis
start_broker
OUTBOX="$WORK/outbox"
POLICIES="$WORK/policies"
write_short_policy "$POLICIES"
start_service ingest
start_service sla-timer CHARTER_SLA_POLICY_DIR="$POLICIES"
start_service notification CHARTER_NOTIFY_OUTBOX_DIR="$OUTBOX" \
  CHARTER_NOTIFY_TEMPLATE_DIR="$CHARTER_SOURCE_DIR/templates" CHARTER_NOTIFY_POLICY_DIR="$POLICIES" \
  CHARTER_NOTIFY_RECIPIENT_MAX_PER_DAY=3
for s in ingest sla-timer notification; do wait_ready "$s"; done
pass "services ready"

NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
CASES=()
for i in 1 2 3 4 5; do
  read -r c _ <<<"$(customer_contact nottingham-city-homes sms '{"name":"Bob Example","phone":"07700900123"}')"
  [ -n "$c" ] || fail "contact $i was refused"
  CASES+=("$c")
done
read -r OTHER _ <<<"$(customer_contact nottingham-city-homes sms '{"name":"Cy Example","phone":"07700900999"}')"
[ -n "$OTHER" ] || fail "the other contact was refused"

sent_to() { grep -hF "\"notification_id\":\"$1/acknowledgement\"" "$OUTBOX"/*.jsonl 2>/dev/null | head -n 1; }
outcomes() { kcat -b "$BOOTSTRAP" -C -t charter.notify.outcomes.v1 -e -q -f '%k %p %o\n' 2>/dev/null; }
# failed_for CASE: the decoded failed outcome of CASE's acknowledgement, if any.
failed_for() {
  local k p o
  outcomes | awk -v k="$1" '$1 == k { print $2, $3 }' | while read -r p o; do
    decode_record charter.notify.outcomes.v1 "$p" "$o" NotificationOutcome | tr '\n' ' '
    echo
  done | grep -F 'status: STATUS_FAILED' || true
}
settled() {
  local c
  for c in "${CASES[@]}"; do
    [ -n "$(sent_to "$c")" ] || [ -n "$(failed_for "$c")" ] || return 1
  done
}
wait_until 90 settled || fail "not every acknowledgement was sent or failed"
SENT=0 LIMITED=0
REASON="recipient limit: 3 customer messages to this address/number today"
for c in "${CASES[@]}"; do
  if [ -n "$(sent_to "$c")" ]; then
    SENT=$((SENT + 1))
    [ "$(json_get "$(sent_to "$c")" to)" = +447700900123 ] || fail "acknowledgement to: $(sent_to "$c")"
  else
    LIMITED=$((LIMITED + 1))
    expect_in "$(failed_for "$c")" "the failed outcome of $c" "reason: \"$REASON\"" \
      "notification_id: \"$c/acknowledgement\""
  fi
done
[ "$SENT" = 3 ] && [ "$LIMITED" = 2 ] || fail "$SENT acknowledgements sent and $LIMITED failed; want 3 and 2"
pass "five contacts from one number: three acknowledgements sent, two failed with '$REASON'"

metric() { curl -fsS "http://127.0.0.1:${SVC_PORT[notification]}/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
[ "$(metric charter_notify_recipient_limited_total)" = 2 ] ||
  fail "charter_notify_recipient_limited_total is '$(metric charter_notify_recipient_limited_total)', want 2"
dlq() { kcat -b "$BOOTSTRAP" -C -t charter.dlq.v1 -e -q -f '%k\n' 2>/dev/null | grep -c . || true; }
wait_until 20 test "$(dlq)" = 2 || fail "$(dlq) records dead-lettered, want 2"
pass "charter_notify_recipient_limited_total 2, two records dead-lettered"

wait_until 60 test -n "$(sent_to "$OTHER")" || fail "the other number got no acknowledgement"
[ "$(json_get "$(sent_to "$OTHER")" to)" = +447700900999 ] || fail "other acknowledgement: $(sent_to "$OTHER")"
pass "another number is still served"

KEYS=$(redis-cli -p "$REDIS_PORT" --scan --pattern 'charter:notify:recipient:*')
[ "$(grep -c . <<<"$KEYS")" = 2 ] || fail "want two recipient counters, got: $KEYS"
grep -qE '7700900|447700' <<<"$KEYS" && fail "a recipient counter names the number: $KEYS"
for k in $KEYS; do
  [ "$(redis-cli -p "$REDIS_PORT" ttl "$k")" -gt 86400 ] || fail "counter $k has no TTL past today"
done
[ "$(redis-cli -p "$REDIS_PORT" get "$(grep -F "$(printf '+447700900123' | sha256sum | cut -c1-64)" <<<"$KEYS")")" = 5 ] ||
  fail "the number's counter is not 5: $KEYS"
WARN=$(grep -F 'recipient limit reached' "$WORK/notification.log" || true)
[ "$(grep -c . <<<"$WARN")" = 2 ] || fail "want two warnings, got: $WARN"
grep -qE '7700900' <<<"$WARN" && fail "the warning names the number: $WARN"
pass "Redis holds SHA-256 keys with a TTL (count 5), the warning names the case and not the number"
for s in ingest sla-timer notification; do stop_service "$s"; done
echo "notification_limit: all checks passed"
