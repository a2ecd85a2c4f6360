#!/usr/bin/env bash
# ingest's case directory (services/ingest/directory.h), which the gateways
# use to join a customer's reply to its case: the real ingest on a real
# redis-server and the embedded broker, the directory read back with
# redis-cli.
#
# 1. a contact records its reference and its senders (e-mail lower-cased,
#    phone in E.164) for its organisation, open and not awaiting;
# 2. `paused` marks it awaiting the customer, `resumed` clears that;
# 3. a second contact from the same address takes the sender's entry (the
#    newest open case);
# 4. `closed` marks the case closed and takes out only the senders still
#    pointing at it.
source "$(dirname "$0")/lib.sh"

ORG=derby-homes
NOW=$(date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%SZ)
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
D=charter:ingest:dir

start_redis
start_broker
start_service ingest
wait_ready ingest
pass "ingest ready"

contact() { # contact EMAIL PHONE -> case id
  local r
  r=$(post_json "${SVC_PORT[ingest]}" /v1/contacts \
    "{\"organisation\":\"$ORG\",\"channel\":\"email\",\"received_at\":\"$NOW\",\"customer\":{\"name\":\"Ann\",\"email\":\"$1\",\"phone\":\"$2\"}}")
  [ "${r%% *}" = 202 ] || fail "POST /v1/contacts: $r"
  json_get "${r#* }" case_id
}
field() { rcli HGET "$D:case:$1" "$2"; }
is_field() { [ "$(field "$1" "$2")" = "$3" ]; }
is_key() { [ "$(rcli GET "$1")" = "$2" ]; }

C1=$(contact Ann.Smith@Example.ORG 07700900123)
wait_until 20 is_field "$C1" open 1 || fail "no directory entry for $C1"
REF1=$(field "$C1" reference)
[ "$(rcli GET "$D:ref:$REF1")" = "$C1" ] || fail "reference $REF1 does not lead to $C1"
[ "$(rcli GET "$D:sender:$ORG:email:ann.smith@example.org")" = "$C1" ] || fail "e-mail sender not recorded (lower-cased)"
[ "$(rcli GET "$D:sender:$ORG:phone:+447700900123")" = "$C1" ] || fail "phone sender not recorded in E.164"
[ "$(field "$C1" open)/$(field "$C1" awaiting)/$(field "$C1" organisation)" = "1/0/$ORG" ] ||
  fail "new case not open/not awaiting/$ORG: $(rcli HGETALL "$D:case:$C1" | tr '\n' ' ')"
ttl=$(rcli TTL "$D:ref:$REF1")
[ "$ttl" -gt 86400 ] || fail "reference entry has TTL $ttl"
pass "contact $REF1 recorded: reference, e-mail and phone senders, open"

case_event "$C1" "{\"type\":\"paused\",\"organisation\":\"$ORG\",\"occurred_at\":\"$NOW\",\"reason\":\"waiting for photos\"}"
wait_until 20 is_field "$C1" awaiting 1 || fail "paused case not awaiting"
case_event "$C1" "{\"type\":\"resumed\",\"organisation\":\"$ORG\",\"occurred_at\":\"$NOW\"}"
wait_until 20 is_field "$C1" awaiting 0 || fail "resumed case still awaiting"
pass "paused marks the case awaiting the customer; resumed clears it"

C2=$(contact ann.smith@example.org "")
wait_until 20 is_key "$D:sender:$ORG:email:ann.smith@example.org" "$C2" || fail "second case did not take the sender's entry"
[ "$(rcli GET "$D:sender:$ORG:phone:+447700900123")" = "$C1" ] || fail "phone entry moved to a case without a phone"
pass "the newest open case from a sender takes its entry"

case_event "$C2" "{\"type\":\"closed\",\"organisation\":\"$ORG\",\"occurred_at\":\"$NOW\"}"
wait_until 20 is_field "$C2" open 0 || fail "closed case not marked"
[ -z "$(rcli GET "$D:sender:$ORG:email:ann.smith@example.org")" ] || fail "closed case still the sender's open case"
[ "$(rcli GET "$D:ref:$(field "$C2" reference)")" = "$C2" ] || fail "a closed case's reference must still lead to it"
case_event "$C1" "{\"type\":\"closed\",\"organisation\":\"$ORG\",\"occurred_at\":\"$NOW\"}"
wait_until 20 is_field "$C1" open 0 || fail "first case not marked closed"
[ -z "$(rcli GET "$D:sender:$ORG:phone:+447700900123")" ] || fail "phone entry kept after its case closed"
pass "closed: the case's senders are taken out, its reference kept"
