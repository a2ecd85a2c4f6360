#!/usr/bin/env bash
# Notification with the shipped templates and a policy's roles: a contact by
# email gets its acknowledgement from templates/default (subject with the
# reference, the target date in words); its warning tiers reach the roles
# the policy names (owner, then team lead) and the breach the manager, each
# once; an SMS contact's acknowledgement is measured as one GSM-7 part. A
# template with an unknown placeholder stops start-up naming file, line and
# placeholder.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notification_lib.sh"

start_redis
start_broker
OUTBOX="$WORK/outbox"
POLICIES="$WORK/policies"
mkdir -p "$POLICIES"
policy_yaml nottingham-city-homes "Nottingham City Homes" NCH "2 seconds" "16 seconds" \
  says="Short clocks for the test." "role=owner:Customer Service Team adviser" \
  "role=team_lead:Customer Service Team Leader" "role=manager:Customer Service Manager" \
  "warning=25%:owner" "warning=6 seconds before:team_lead" "warning=breach:manager" \
  >"$POLICIES/nottingham-city-homes.yaml"

# A broken template stops start-up with file, line and placeholder.
BROKEN="$WORK/broken-templates"
mkdir -p "$BROKEN/default"
printf 'Subject: Ref {reference}\n\nDear {customer_name},\nYour reference is {refrence}.\n' \
  >"$BROKEN/default/acknowledgement.email.en.txt"
if env CHARTER_REDIS_URL="$REDIS_URL" CHARTER_KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" \
  CHARTER_HTTP_LISTEN="127.0.0.1:$(free_port)" CHARTER_NOTIFY_OUTBOX_DIR="$OUTBOX" \
  CHARTER_NOTIFY_TEMPLATE_DIR="$BROKEN" timeout 20 \
  "$BUILD/services/notification/charter-notification" >"$WORK/broken.log" 2>&1; then
  fail "notification started with a broken template"
fi
grep -qF "acknowledgement.email.en.txt:4: unknown placeholder {refrence}" "$WORK/broken.log" ||
  fail "start-up error does not name file, line and placeholder: $(tail -n 3 "$WORK/broken.log")"
pass "a template with an unknown placeholder stops start-up with file:line and the placeholder"

start_service ingest
start_service sla-timer CHARTER_SLA_POLICY_DIR="$POLICIES"
start_service notification CHARTER_NOTIFY_OUTBOX_DIR="$OUTBOX" \
  CHARTER_NOTIFY_TEMPLATE_DIR="$CHARTER_SOURCE_DIR/templates" CHARTER_NOTIFY_POLICY_DIR="$POLICIES"
for s in ingest sla-timer notification; do wait_ready "$s"; done
pass "services ready"

NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
read -r CASE_E REF_E <<<"$(customer_contact nottingham-city-homes email '{"name":"Ann Example","email":"ann@example.org"}')"
read -r CASE_S REF_S <<<"$(customer_contact nottingham-city-homes sms '{"name":"Bob Example","phone":"07700900123"}')"
for c in "$CASE_E" "$CASE_S"; do [ -n "$c" ] || fail "a contact was refused"; done

lines() { grep -hF "\"case_id\":\"$1\"" "$OUTBOX"/*.jsonl 2>/dev/null; }
line_of() { lines "$1" | grep -F "\"notification_id\":\"$1/$2\""; }
has() { [ -n "$(line_of "$1" "$2")" ]; }

wait_until 40 has "$CASE_E" acknowledgement || fail "no acknowledgement for $REF_E"
l=$(line_of "$CASE_E" acknowledgement)
[ "$(json_get "$l" subject)" = "We have received your message (reference $REF_E)" ] ||
  fail "acknowledgement subject: $l"
grep -qF "Your reference is $REF_E" <<<"$(json_get "$l" text)" || fail "acknowledgement text: $l"
grep -qE "reply by (Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday) [0-9]{1,2} [A-Z][a-z]+ 20[0-9]{2}\." \
  <<<"$(json_get "$l" text)" || fail "acknowledgement lacks the target date in words: $l"
[ "$(json_get "$l" to)" = ann@example.org ] || fail "acknowledgement to: $l"
pass "email acknowledgement from the template: $(json_get "$l" subject)"

wait_until 40 has "$CASE_S" acknowledgement || fail "no acknowledgement for $REF_S"
l=$(line_of "$CASE_S" acknowledgement)
[ "$(json_get "$l" to)" = +447700900123 ] && [ "$(json_get "$l" sms_encoding)" = gsm7 ] &&
  [ "$(json_get "$l" sms_parts)" = 1 ] || fail "SMS acknowledgement: $l"
grep -qF "Your reference is $REF_S" <<<"$(json_get "$l" text)" || fail "SMS text: $l"
pass "SMS acknowledgement: one GSM-7 part"

wait_until 40 has "$CASE_E" breach || fail "no breach alert for $REF_E"
sleep 2
for want in "warning/1:owner:Customer Service Team adviser" "warning/2:team_lead:Customer Service Team Leader" \
  "breach:manager:Customer Service Manager"; do
  id=${want%%:*} rest=${want#*:}
  l=$(line_of "$CASE_E" "$id")
  [ -n "$l" ] || fail "no $id alert for $REF_E: $(lines "$CASE_E")"
  [ "$(json_get "$l" to)" = "${rest%%:*}" ] && [ "$(json_get "$l" role)" = "${rest#*:}" ] ||
    fail "$id went to the wrong role: $l"
  grep -qF "$REF_E" <<<"$(json_get "$l" subject)" || fail "$id subject lacks the reference: $l"
  [ "$(line_of "$CASE_E" "$id" | wc -l)" = 1 ] || fail "$id written more than once"
done
pass "warnings to owner then team lead, breach to the manager, each once"
for s in ingest sla-timer notification; do stop_service "$s"; done
echo "notification: all checks passed"
