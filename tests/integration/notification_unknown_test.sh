#!/usr/bin/env bash
# An email whose outcome is unknown, with the default
# notify.smtp.resend_unknown=false: the end of the message reached the mail
# server (smtp_sink.py --hang-first: no answer after the end of DATA) and no
# answer came, so the customer may or may not have it. It must be reported,
# not resent:
# - the server never answers: the SMTP timeout ends the send; a `failed`
#   outcome with reason "unknown: ...", a `delivery_unknown` note for staff
#   in the outbox, the record `unknown`, nothing queued, nothing resent;
# - notification is killed with -9 while the server holds the message: the
#   record is `committed`; after a restart the send is taken over when its
#   lease ends and ends the same way, without a second send.
# "Not resent" is read from the SMTP server's logs: each recipient's message
# reached the server once (the hung delivery) and none was delivered.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notification_lib.sh"

start_redis
start_broker
start_smtp_sink 0 --hang-first 2
start_gateway
POLICIES="$WORK/policies"
write_short_policy "$POLICIES"
mapfile -t NENV < <(notify_transport_env)
NENV+=(CHARTER_NOTIFY_OUTBOX_DIR="$WORK/outbox" CHARTER_NOTIFY_TEMPLATE_DIR="$SRC/templates"
  CHARTER_NOTIFY_POLICY_DIR="$POLICIES")
start_service ingest
start_service sla-timer CHARTER_SLA_POLICY_DIR="$POLICIES"
start_service notification "${NENV[@]}"
for s in ingest sla-timer notification; do wait_ready "$s"; done
pass "services ready; the SMTP server holds the first two messages unanswered"

NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
hung() { grep -cF "\"$1\"" "$SMTP_LOG.hung" 2>/dev/null || true; }
is_hung() { [ "$(hung "$1")" -ge 1 ]; }
record() { redis-cli -p "$REDIS_PORT" GET "charter:notify:{$1}:acknowledgement"; }
unknown_outcome() {
  kcat -b "$BOOTSTRAP" -C -t charter.notify.outcomes.v1 -e -q -f '%s\n' 2>/dev/null |
    grep -aF "$1/acknowledgement/failed" | grep -aq "unknown: $2"
}
staff_note() {
  /usr/bin/python3 - "$WORK/outbox/nottingham-city-homes.jsonl" "$1" <<'PY'
import json, sys
L = [json.loads(l) for l in open(sys.argv[1])]
n = [x for x in L if x.get("kind") == "delivery_unknown" and x["notification_id"] == sys.argv[2] + "/acknowledgement"]
assert len(n) == 1 and n[0]["to"] == "owner" and n[0]["reason"].startswith("unknown: "), n
PY
}
not_resent() { # CASE EMAIL
  [ "$(record "$1")" = unknown ] || fail "record of $1 is '$(record "$1")', expected unknown"
  [ -z "$(redis-cli -p "$REDIS_PORT" ZSCORE charter:notify:queue "$1/acknowledgement")" ] ||
    fail "$1's acknowledgement is still queued"
  [ "$(hung "$2")" = 1 ] || fail "$2's message reached the server $(hung "$2") times"
  ! grep -qF "\"$2\"" "$SMTP_LOG" || fail "$2's message was delivered: it was resent"
}

# ---- the server never answers: the SMTP timeout ----
read -r CASE_B REF_B <<<"$(customer_contact nottingham-city-homes email '{"name":"Bob Example","email":"bob@example.org"}')"
wait_until 60 is_hung bob@example.org || fail "bob's message did not reach the server"
wait_until 30 unknown_outcome "$CASE_B" "" || fail "no failed 'unknown: ...' outcome for $REF_B"
wait_until 10 staff_note "$CASE_B" || fail "no delivery_unknown note for staff about $REF_B"
not_resent "$CASE_B" bob@example.org
pass "no answer after the end of data: failed outcome 'unknown: ...', staff note, record unknown, not resent"

# ---- killed while the server holds the message ----
read -r CASE_A REF_A <<<"$(customer_contact nottingham-city-homes email '{"name":"Ann Example","email":"ann@example.org"}')"
wait_until 60 is_hung ann@example.org || fail "ann's message did not reach the server"
kill -KILL "${SVC_PID[notification]}"
wait "${SVC_PID[notification]}" 2>/dev/null || true
[ "$(record "$CASE_A")" = committed ] || fail "record of $CASE_A is '$(record "$CASE_A")' after the kill, expected committed"
pass "notification killed with -9 while the server held the message: record 'committed'"
start_service notification "${NENV[@]}"
wait_ready notification
wait_until 60 unknown_outcome "$CASE_A" "the service stopped" ||
  fail "no failed 'unknown: the service stopped ...' outcome for $REF_A after the restart"
wait_until 10 staff_note "$CASE_A" || fail "no delivery_unknown note for staff about $REF_A"
not_resent "$CASE_A" ann@example.org
pass "after the restart: failed outcome 'unknown: the service stopped ...', staff note, not resent"

for s in ingest sla-timer notification; do stop_service "$s"; done
echo "notification_unknown: all checks passed"
