#!/usr/bin/env bash
# make run's demo traffic (scripts/demo-traffic.sh) uses every way in: its
# first three live contacts are one over the signed API, one e-mail over
# SMTP to ingest's mail listener (<organisation-id>@charter.localhost), and
# one Facebook Messenger webhook signed with the app secret; on the real
# ingest, a real redis-server and the embedded broker, settings as make run
# writes them; the records read with kcat and decoded by protoc.
#
# 1. the demo's log shows the listener's 250 with a case and Meta's answer
#    {"accepted":1...};
# 2. charter.contact.events.v1 holds a received contact on channel email for
#    derby-homes whose gateway_account is derby-homes@charter.localhost, and
#    one on channel social for nihe with the sender's social_id;
# 3. without DEMO_MAIL and DEMO_META_SECRET_FILE the same contacts go over
#    the API (make run with the listener turned off).
source "$(dirname "$0")/lib.sh"

TOPIC=charter.contact.events.v1
orgs=nottingham-city-homes,derby-homes,nihe,digital-first-council,customer-care-council
echo "mail orgs=$orgs" >>"$GATEWAYS_FILE"
( umask 077
  echo "$GATEWAY_KEY" >"$WORK/gateway.key"
  openssl rand -hex 32 >"$WORK/meta.secret"
  openssl rand -hex 32 >"$WORK/meta.verify-token"
  for org in ${orgs//,/ }; do
    printf '%s app_secret_file=%s verify_token_file=%s\n' "$org" "$WORK/meta.secret" "$WORK/meta.verify-token"
  done >"$WORK/meta" )
printf '*@charter.localhost\n' >"$WORK/mailboxes"

start_redis
start_broker
MAIL_PORT=$(free_port)
start_service ingest CHARTER_INGEST_MAIL_LISTEN="127.0.0.1:$MAIL_PORT" CHARTER_INGEST_MAILBOXES="$WORK/mailboxes" \
  CHARTER_INGEST_META_FILE="$WORK/meta"
wait_ready ingest
IN=${SVC_PORT[ingest]}
pass "ingest ready: HTTP on $IN, mail on $MAIL_PORT"

# demo LOG [VAR=VALUE...]: the demo's first three live contacts, no history.
demo() {
  local out=$1; shift
  env DEMO_HISTORY_MONTHS=0 DEMO_MAX=3 DEMO_INTERVAL=0 DEMO_GATEWAY="$GATEWAY_ID" \
    DEMO_KEY_FILE="$WORK/gateway.key" "$@" \
    timeout 120 bash "$SRC/scripts/demo-traffic.sh" "http://127.0.0.1:$IN" >"$out" 2>&1 \
    || fail "demo-traffic.sh failed: $(cat "$out")"
}

# ---- 1. the demo's own account of it ----
demo "$WORK/demo.log" DEMO_MAIL="127.0.0.1:$MAIL_PORT" DEMO_META_SECRET_FILE="$WORK/meta.secret"
grep -q 'to derby-homes@charter.localhost over SMTP: 250 2.0.0 Ok: case DH-' "$WORK/demo.log" \
  || fail "no e-mail answered 250 with a case in the demo's log: $(cat "$WORK/demo.log")"
grep -q 'Messenger webhook from [0-9]* for nihe: {"accepted":1' "$WORK/demo.log" \
  || fail "no Messenger webhook accepted in the demo's log: $(cat "$WORK/demo.log")"
pass "the demo sent an e-mail over SMTP and a Messenger webhook, both accepted"

# ---- 2. what reached Kafka ----
# all_decoded: every record on the topic, decoded by protoc, each followed by "----".
all_decoded() {
  local p o
  kcat -b "$BOOTSTRAP" -C -t "$TOPIC" -e -q -f '%p %o\n' 2>/dev/null | while read -r p o; do
    decode_record "$TOPIC" "$p" "$o" CaseEvent
    echo "----"
  done
}
wait_until 30 bash -c "[ \$(kcat -b '$BOOTSTRAP' -C -t '$TOPIC' -e -q -f '%k\n' 2>/dev/null | grep -c .) -ge 3 ]" \
  || fail "fewer than 3 records on $TOPIC"
txt=$(all_decoded)
email=$(awk -v RS='----' '/CHANNEL_EMAIL/ && /derby-homes@charter.localhost/' <<<"$txt")
[ -n "$email" ] || fail "no e-mail contact for derby-homes on $TOPIC; decoded: $txt"
expect_in "$email" "the e-mail contact" 'organisation: "derby-homes"' 'gateway_account: "derby-homes@charter.localhost"' \
  'email: "demo1@example.org"'
social=$(awk -v RS='----' '/CHANNEL_SOCIAL/ && /social_id/' <<<"$txt")
[ -n "$social" ] || fail "no Messenger contact on $TOPIC; decoded: $txt"
expect_in "$social" "the Messenger contact" 'organisation: "nihe"' 'social_id: "6789000000000002"'
pass "Kafka has the e-mail contact (channel email, the mailbox as gateway_account) and the Messenger contact (social_id)"

# ---- 3. no listener, no Meta secret: the API ----
demo "$WORK/demo-api.log"
if grep -q 'over SMTP\|Messenger webhook' "$WORK/demo-api.log"; then
  fail "the demo used SMTP or Meta without DEMO_MAIL / DEMO_META_SECRET_FILE: $(cat "$WORK/demo-api.log")"
fi
[ "$(grep -c '"case_id"' "$WORK/demo-api.log")" -ge 3 ] \
  || fail "without the listener the demo's contacts did not go over the API: $(cat "$WORK/demo-api.log")"
pass "without DEMO_MAIL and DEMO_META_SECRET_FILE the demo posts its contacts over the API"
