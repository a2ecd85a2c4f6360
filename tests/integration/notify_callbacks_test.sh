#!/usr/bin/env bash
# GOV.UK Notify's callbacks into ingest (docs/gateways.md, "GOV.UK Notify"):
# the bodies Notify's documentation gives, posted with curl and the bearer
# token the organisation entered in Notify's settings, to the real ingest on
# a real redis-server and the embedded broker; topics read with kcat and
# decoded with protoc.
#
# 1. a wrong or missing token is 401 and writes nothing;
# 2. a received text from an unknown number is a new sms contact
#    (customer.phone in E.164, gateway_account the inbound number);
#    the same callback again writes nothing more;
# 3. a text quoting a case's reference joins that case (CustomerMessage);
# 4. a text from the number of a paused case joins it;
# 5. a delivery receipt (permanent-failure) with a Charter notification id
#    as its reference is a DeliveryReceipt on charter.notify.receipts.v1;
#    repeated, nothing more; one whose reference is not Charter's is 200
#    and writes nothing;
# 6. while Kafka is down both answer 503 with Retry-After (Notify retries a
#    5xx, never a 4xx) and write nothing; Notify's retry after it is back
#    writes each once;
# 7. a bad line in ingest.notify_file stops start-up naming the file, line
#    and key, never the token.
source "$(dirname "$0")/lib.sh"

ORG=derby-homes
NOW=$(date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%S.000000Z)
TOKEN=$(openssl rand -hex 20)
OLD_TOKEN=$(openssl rand -hex 20)
EVENTS=charter.contact.events.v1
RECEIPTS=charter.notify.receipts.v1
( umask 077
  printf '# GOV.UK Notify callbacks\n%s tokens=%s,%s case_type=enquiry number=07700900999\n' \
    "$ORG" "$TOKEN" "$OLD_TOKEN" >"$WORK/notify" )

start_redis
start_broker
start_service ingest CHARTER_INGEST_NOTIFY_FILE="$WORK/notify"
wait_ready ingest
IN=${SVC_PORT[ingest]}
pass "ingest ready with the Notify callbacks of $ORG"

# notify PATH BODY [AUTH] -> "STATUS BODY"
notify() {
  local auth=${3-"Bearer $TOKEN"}
  curl -sS -o "$WORK/resp.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    ${auth:+-H "Authorization: $auth"} --data-binary "$2" "http://127.0.0.1:$IN/v1/gateways/notify/$ORG/$1"
  printf ' '
  cat "$WORK/resp.json"
}
text_body() { # ID SOURCE MESSAGE
  printf '{"id":"%s","source_number":"%s","destination_number":"07700900999","message":"%s","date_received":"%s"}' \
    "$1" "$2" "$3" "$NOW"
}
uuid() { cat /proc/sys/kernel/random/uuid; }
topic_count() { kcat -b "$BOOTSTRAP" -C -t "$1" -e -q -f '%k\n' 2>/dev/null | grep -c . || true; }
# decode_key TOPIC KEY TYPE N: the Nth record (1 = first) with KEY, decoded
decode_key() {
  local po
  po=$(kcat -b "$BOOTSTRAP" -C -t "$1" -e -q -f '%k %p %o\n' 2>/dev/null | awk -v k="$2" '$1 == k { print $2, $3 }' | sed -n "${4:-1}p")
  [ -n "$po" ] || return 1
  decode_record "$1" ${po% *} ${po#* } "$3"
}
has_n() { [ "$(count_records "$1" "$2")" -ge "$3" ]; }

# ---- 1. authentication
T1=$(uuid)
for auth in "" "Bearer wrong-token-0123456789" "Bearer ${TOKEN}x" "$TOKEN" "Basic $TOKEN"; do
  r=$(notify received-text "$(text_body "$T1" 447700900111 'hello')" "$auth")
  [ "${r%% *}" = 401 ] || fail "Authorization '${auth:0:12}...' answered $r, expected 401"
done
r=$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
  --data-binary "$(text_body "$T1" 447700900111 hello)" "http://127.0.0.1:$IN/v1/gateways/notify/other-org/received-text")
[ "$r" = 401 ] || fail "another organisation's URL with this token answered $r"
r=$(notify delivery-status '{"id":"x","reference":"a/b","status":"delivered"}' "Bearer nope-nope-nope")
[ "${r%% *}" = 401 ] || fail "receipt with a wrong token answered $r"
grep -qF "$TOKEN" "$WORK"/ingest.log && fail "the bearer token reached ingest's log"
pass "missing, wrong, other organisation's or non-Bearer tokens: 401"

# ---- 2. a text from an unknown number: a new contact
r=$(notify received-text "$(text_body "$T1" 447700900111 'My bin was not collected')")
[ "${r%% *}" = 202 ] || fail "received text answered $r"
C1=$(json_get "${r#* }" case_id)
[ "$(topic_count $EVENTS)" = 1 ] || fail "the refused callbacks wrote something: $(topic_count $EVENTS) records"
wait_until 20 has_record $EVENTS "$C1" || fail "no contact for $C1 on $EVENTS"
d=$(decode_key $EVENTS "$C1" CaseEvent)
expect_in "$d" "contact $C1" "received {" "channel: CHANNEL_SMS" 'phone: "+447700900111"' \
  "gateway_message_id: \"$T1\"" 'gateway_account: "+447700900999"' 'summary: "My bin was not collected"' \
  "organisation: \"$ORG\"" 'case_type: "enquiry"'
pass "a text from an unknown number is a new sms contact ($C1)"

r=$(notify received-text "$(text_body "$T1" 447700900111 'My bin was not collected')" "Bearer $OLD_TOKEN")
[ "${r%% *}" = 200 ] || fail "repeated callback (with the second token) answered $r"
[ "$(json_get "${r#* }" case_id)" = "$C1" ] || fail "repeat answered another case: $r"
[ "$(count_records $EVENTS "$C1")" = 1 ] || fail "the repeat wrote a second record"
pass "the same callback again (second token of a rotation): 200, the same case, nothing written"

# ---- 3. a text quoting the reference joins that case
REF1=$(grep -o 'reference: "[^"]*"' <<<"$d" | cut -d'"' -f2)
[ -n "$REF1" ] || fail "contact has no reference: $d"
T2=$(uuid)
r=$(notify received-text "$(text_body "$T2" 447700900222 "About ${REF1,,}: still nothing")")
[ "${r%% *}" = 202 ] || fail "text quoting $REF1 answered $r"
[ "$(json_get "${r#* }" case_id)" = "$C1" ] || fail "text quoting $REF1 did not join $C1: $r"
wait_until 20 has_n $EVENTS "$C1" 2 || fail "no second record on $C1"
d=$(decode_key $EVENTS "$C1" CaseEvent 2)
expect_in "$d" "message on $C1" "customer_message {" "channel: CHANNEL_SMS" 'from: "+447700900222"' \
  "gateway_message_id: \"$T2\"" "summary: \"About ${REF1,,}: still nothing\""
pass "a text quoting reference $REF1 is a CustomerMessage on its case"

# ---- 4. a text from the number of a paused case joins it
P_NUM=447700900333
r=$(notify received-text "$(text_body "$(uuid)" $P_NUM 'Pothole on Main St')")
[ "${r%% *}" = 202 ] || fail "second contact answered $r"
C2=$(json_get "${r#* }" case_id)
case_event "$C2" "{\"type\":\"paused\",\"organisation\":\"$ORG\",\"occurred_at\":\"$NOW\",\"reason\":\"asked for a photo\"}"
awaiting() { [ "$(redis-cli -p "$REDIS_PORT" HGET "charter:ingest:dir:case:$C2" awaiting)" = 1 ]; }
wait_until 20 awaiting || fail "paused case $C2 not marked awaiting in the directory"
T3=$(uuid)
r=$(notify received-text "$(text_body "$T3" $P_NUM 'Photo sent by email')")
[ "${r%% *}" = 202 ] || fail "reply to the paused case answered $r"
[ "$(json_get "${r#* }" case_id)" = "$C2" ] || fail "text from the paused case's number did not join $C2: $r"
wait_until 20 has_n $EVENTS "$C2" 3 || fail "no message record on $C2"
d=$(decode_key $EVENTS "$C2" CaseEvent 3)
expect_in "$d" "message on $C2" "customer_message {" "gateway_message_id: \"$T3\"" "from: \"+$P_NUM\""
r=$(notify received-text "$(text_body "$(uuid)" 447700900444 'Another thing')")
[ "${r%% *}" = 202 ] || fail "text from an unknown number answered $r"
C3=$(json_get "${r#* }" case_id)
[ "$C3" != "$C2" ] && [ "$C3" != "$C1" ] || fail "a text from an unknown number joined a case"
r=$(notify received-text "$(text_body "$(uuid)" 447700900111 'A new problem')")
[ "${r%% *}" = 202 ] || fail "new text from case $C1's number answered $r"
[ "$(json_get "${r#* }" case_id)" != "$C1" ] || fail "a text from the number of open, not paused, case $C1 joined it"
pass "a text from the number of paused case $C2 joins it; an unknown number, or the number of a case not waiting for the customer, opens a new case"

# ---- 5. delivery receipts
NID="$C1/acknowledgement"
N1=$(uuid)
receipt_body() { # ID REFERENCE STATUS
  printf '{"id":"%s","reference":"%s","to":"07700900111","status":"%s","created_at":"%s","completed_at":"%s","sent_at":"%s","notification_type":"sms","template_id":"f33517ff-2a88-4f6e-b855-c550268ce08a","template_version":1}' \
    "$1" "$2" "$3" "$NOW" "$NOW" "$NOW"
}
r=$(notify delivery-status "$(receipt_body "$N1" "$NID" permanent-failure)")
[ "${r%% *}" = 200 ] || fail "delivery receipt answered $r"
wait_until 20 has_record $RECEIPTS "$C1" || fail "no DeliveryReceipt for $C1 on $RECEIPTS"
d=$(decode_key $RECEIPTS "$C1" DeliveryReceipt)
expect_in "$d" "receipt" "notification_id: \"$NID\"" "case_id: \"$C1\"" "organisation: \"$ORG\"" \
  "status: STATUS_PERMANENT_FAILURE" "channel: CHANNEL_SMS" 'provider: "notify"' "provider_id: \"$N1\"" \
  'reason: "permanent-failure"' "occurred_at {"
pass "a permanent-failure receipt is a DeliveryReceipt for $NID"

r=$(notify delivery-status "$(receipt_body "$N1" "$NID" permanent-failure)")
[ "${r%% *}" = 200 ] || fail "repeated receipt answered $r"
r=$(notify delivery-status "$(receipt_body "$(uuid)" "12345678" delivered)")
[ "${r%% *}" = 200 ] || fail "receipt for a message Charter did not send answered $r"
[ "$(json_get "${r#* }" unmatched)" = True ] || fail "unmatched receipt not said so: $r"
r=$(notify delivery-status "$(receipt_body "$(uuid)" "$C2/acknowledgement" delivered)")
[ "${r%% *}" = 200 ] || fail "second receipt answered $r"
wait_until 20 has_record $RECEIPTS "$C2" || fail "no receipt for $C2"
[ "$(topic_count $RECEIPTS)" = 2 ] || fail "expected 2 receipts, found $(topic_count $RECEIPTS)"
metrics=$(curl -sS "http://127.0.0.1:$IN/metrics") # whole, then grep: no SIGPIPE under pipefail
grep -q '^charter_ingest_notify_unmatched_total 1' <<<"$metrics" || fail "unmatched receipt not counted"
pass "a repeated receipt writes nothing; one not Charter's is 200, counted, and writes nothing"

# ---- 6. Kafka down: 503, and Notify's retry writes once
curl -fsS -X POST "http://$BROKER_CONTROL/brokers/down" >/dev/null || fail "broker control endpoint"
kafka_down() { [ "$(readyz_field "$IN" kafka)" = False ]; }
wait_until 15 kafka_down || fail "ingest's /readyz did not notice the broker going down"
T4=$(uuid) N4=$(uuid)
TB=$(text_body "$T4" 447700900555 'Broker down text')
RB=$(receipt_body "$N4" "$C3/acknowledgement" delivered)
for what in received-text delivery-status; do
  [ $what = received-text ] && b=$TB || b=$RB
  code=$(curl -sS -o /dev/null -D "$WORK/h.txt" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' --data-binary "$b" "http://127.0.0.1:$IN/v1/gateways/notify/$ORG/$what")
  [ "$code" = 503 ] || fail "$what with the broker down answered $code, expected 503"
  grep -qi '^Retry-After: ' "$WORK/h.txt" || fail "$what: 503 without Retry-After"
done
curl -fsS -X POST "http://$BROKER_CONTROL/brokers/up" >/dev/null || fail "broker up"
wait_ready ingest
r=$(notify received-text "$TB")
[ "${r%% *}" = 202 ] || fail "text retried after the outage answered $r"
C4=$(json_get "${r#* }" case_id)
r=$(notify delivery-status "$RB")
[ "${r%% *}" = 200 ] || fail "receipt retried after the outage answered $r"
wait_until 20 has_record $RECEIPTS "$C3" || fail "no receipt for $C3 after the outage"
wait_until 20 has_record $EVENTS "$C4" || fail "no contact for the text after the outage"
[ "$(count_records $EVENTS "$C4")" = 1 ] && [ "$(count_records $RECEIPTS "$C3")" = 1 ] ||
  fail "the outage's callbacks were written more than once"
pass "Kafka down: 503 with Retry-After, nothing written; the retry after it is back writes once"

stop_service ingest

# ---- 7. a bad settings file stops start-up, naming file, line and key, not the token
BAD_TOKEN=$(openssl rand -hex 20)
printf '%s tokens=%s\nnch tokens=%s colour=blue\n' "$ORG" "$TOKEN" "$BAD_TOKEN" >"$WORK/notify.bad"
rc=0
timeout 60 env CHARTER_REDIS_URL="$REDIS_URL" CHARTER_KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" \
  CHARTER_HTTP_LISTEN="127.0.0.1:$(free_port)" CHARTER_INGEST_GATEWAYS_FILE="$GATEWAYS_FILE" \
  CHARTER_INGEST_POLICY_DIR="$SRC/policies" CHARTER_INGEST_NOTIFY_FILE="$WORK/notify.bad" \
  "$BUILD/services/ingest/charter-ingest" >"$WORK/bad.out" 2>"$WORK/bad.err" || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "ingest with a bad notify file exited $rc"
grep -q "notify.bad line 2: unknown key 'colour'" "$WORK/bad.err" || fail "start-up error does not name file, line and key: $(tail -n 3 "$WORK/bad.err")"
grep -qF -e "$BAD_TOKEN" -e "$TOKEN" "$WORK/bad.err" "$WORK/bad.out" && fail "a token reached the start-up error"
pass "a bad ingest.notify_file stops start-up (exit $rc) naming file, line 2 and key, never a token"
