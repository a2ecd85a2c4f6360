#!/usr/bin/env bash
# Issue 15: what Charter does with delivery reports. The real ingest,
# sla-timer, notification and reporting on a real redis-server and the
# embedded broker; text messages go by the http transport to the gateway
# stand-in (tests/tools/gateway_receiver.c, acting as GOV.UK Notify), e-mail
# to the SMTP sink (smtp_sink.py), letters to the print queue. Receipts come
# the way they come in production: GOV.UK Notify's delivery-status callback
# posted to ingest (its documented body, the organisation's bearer token),
# and the bounce of Charter's e-mail delivered to ingest's mail listener
# (Python's smtplib, a Postfix delivery report quoting the notice's
# Message-ID); a Kafka redelivery and the returned letter (no provider
# reports those) are written with an independent client (kcat -P):
#   - delivered -> the SMS acknowledgement's DELIVERED outcome;
#   - permanent-failure -> FAILED (reason naming the fallback), the same
#     acknowledgement by e-mail to the SMTP sink, its outcome saying it fell
#     back from sms;
#   - the same receipt again -> no second fallback, no second outcome;
#   - the fallback e-mail bounces (permanent) -> the letters queue;
#   - a receipt for a notice Charter never sent -> counted and dropped,
#     notification keeps running;
#   - a technical failure -> the same SMS once more (".../resend-sms");
#   - the letter returned too -> no channel left: UNDELIVERABLE and the case
#     owner's staff_undeliverable alert;
#   - reporting: delivery per channel in GET /v1/report, the dashboard,
#     the publication and `charterctl report --format csv`: sms 1 delivered
#     of 2 judged (50%), e-mail 0 of 1, letters "unknown" (no receipts come).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notification_lib.sh"

CTL="$BUILD/tools/charterctl/charterctl"
ORG=nottingham-city-homes
start_redis
start_broker
start_smtp_sink 0
start_gateway
POLICIES="$WORK/policies"
write_short_policy "$POLICIES"
mapfile -t NENV < <(notify_transport_env)
NOTIFY_TOKEN=$(openssl rand -hex 24)
( umask 077; printf 'nottingham-city-homes tokens=%s\n' "$NOTIFY_TOKEN" >"$WORK/notify-callbacks" )
printf 'mail orgs=*\n' >>"$GATEWAYS_FILE"
printf '*@charter.localhost\n' >"$WORK/mailboxes"
MAILPORT=$(free_port)
start_service ingest CHARTER_INGEST_NOTIFY_FILE="$WORK/notify-callbacks" \
  CHARTER_INGEST_MAIL_LISTEN="127.0.0.1:$MAILPORT" CHARTER_INGEST_MAILBOXES="$WORK/mailboxes" \
  CHARTER_INGEST_MAIL_OWN_DOMAINS=council.example
start_service sla-timer CHARTER_SLA_POLICY_DIR="$POLICIES"
start_service notification CHARTER_NOTIFY_OUTBOX_DIR="$WORK/outbox" CHARTER_NOTIFY_PRINT_DIR="$WORK/print" \
  CHARTER_NOTIFY_TEMPLATE_DIR="$SRC/templates" CHARTER_NOTIFY_POLICY_DIR="$POLICIES" "${NENV[@]}"
start_service reporting CHARTER_REPORT_POLICY_DIR="$SRC/policies"
for s in ingest sla-timer notification reporting; do wait_ready "$s"; done
REPORT=${SVC_PORT[reporting]}
NPORT=${SVC_PORT[notification]}
pass "services ready; Notify stand-in on $GATEWAY_PORT, SMTP sink on $SMTP_PORT"

NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
customer() { # NAME N [POSTAL]: SMS preferred, with an e-mail address
  printf '{"name":"%s","phone":"0770090%04d","email":"%s@example.org","preferred_channel":"sms"%s}' \
    "$1" "$2" "$(tr 'A-Z ' 'a-z.' <<<"$1")" "${3:+,\"postal_address\":\"$3\"}"
}
read -r CASE_D REF_D <<<"$(customer_contact $ORG email "$(customer "Dee Delivered" 101)")"
read -r CASE_F REF_F <<<"$(customer_contact $ORG email "$(customer "Fay Fallback" 102 "1 Test Street, Nottingham NG1 1AA")")"
[ -n "$CASE_D" ] && [ -n "$CASE_F" ] || fail "a contact was refused"

# ---- the acknowledgements go by SMS to "Notify"; their references are the notification ids ----
gw_ok() { /usr/bin/python3 - "$GATEWAY_LOG" "$@" <<'PY'
import json, sys
ok = {json.loads(l)["reference"] for l in open(sys.argv[1]) if json.loads(l)["status"] == 201}
sys.exit(0 if all(r in ok for r in sys.argv[2:]) else 1)
PY
}
wait_until 60 gw_ok "$CASE_D/acknowledgement" "$CASE_F/acknowledgement" ||
  fail "the SMS acknowledgements did not reach the Notify stand-in: $(cat "$GATEWAY_LOG")"
outcomes() { kcat -b "$BOOTSTRAP" -C -t charter.notify.outcomes.v1 -e -q -f '%s\n' 2>/dev/null | tr -c '[:print:]\n' ' '; }
has_outcome() { outcomes | qgrep -F "$1"; }
wait_until 30 has_outcome "$CASE_F/acknowledgement/sent" || fail "no sent outcome for $CASE_F"
pass "acknowledgements sent by SMS; Notify's references: $CASE_D/acknowledgement, $CASE_F/acknowledgement"

# receipt CASE NOTIFICATION_ID STATUS PROVIDER REASON [CHANNEL]: a DeliveryReceipt
# onto charter.notify.receipts.v1, keyed by the case, as ingest would write it.
N_RECEIPT=0
receipt() {
  N_RECEIPT=$((N_RECEIPT + 1))
  cat >"$WORK/receipt.txt" <<EOF
event_id: "$4-$N_RECEIPT-$(uuid4)"
notification_id: "$2"
case_id: "$1"
organisation: "$ORG"
status: STATUS_$3
channel: CHANNEL_${6:-SMS}
provider: "$4"
provider_id: "$(uuid4)"
reason: "$5"
EOF
  protoc --encode=charter.v1.DeliveryReceipt -I "$SRC/proto" "$SRC"/proto/charter/v1/*.proto \
    <"$WORK/receipt.txt" >"$WORK/receipt.$N_RECEIPT.bin"
  kcat -b "$BOOTSTRAP" -P -t charter.notify.receipts.v1 -k "$1" "$WORK/receipt.$N_RECEIPT.bin"
}
# notify_callback NOTIFY_ID REFERENCE STATUS: GOV.UK Notify's delivery-status
# callback for a text (its documented body) to ingest, with the token.
notify_callback() {
  local body code
  body=$(printf '{"id":"%s","reference":"%s","to":"07700900102","status":"%s","created_at":"%s","completed_at":"%s","sent_at":"%s","notification_type":"sms","template_id":"f33517ff-2a88-4f6e-b855-c550268ce08a","template_version":1}' \
    "$1" "$2" "$3" "$NOW" "$NOW" "$NOW")
  code=$(curl -sS -o "$WORK/cb.out" -w '%{http_code}' -X POST -H "Authorization: Bearer $NOTIFY_TOKEN" \
    -H 'Content-Type: application/json' --data-binary "$body" \
    "http://127.0.0.1:${SVC_PORT[ingest]}/v1/gateways/notify/$ORG/delivery-status")
  [ "$code" = 200 ] || fail "Notify's callback ($3 for $2) answered $code: $(cat "$WORK/cb.out")"
}
metric() { local m; m=$(curl -fsS "http://127.0.0.1:$NPORT/metrics") && awk -v m="$1" '$1 == m {print $2}' <<<"$m"; }
metric_at_least() { [ "$(metric "$1")" -ge "$2" ] 2>/dev/null; }
# outcome_of ID STATUS: the outcome of notice ID with STATUS, decoded by protoc
outcome_of() {
  local p o t
  kcat -b "$BOOTSTRAP" -C -t charter.notify.outcomes.v1 -e -q -f '%k %p %o\n' 2>/dev/null |
    awk -v k="${1%%/*}" '$1 == k {print $2, $3}' >"$WORK/outcomes.loc"
  while read -r p o; do
    t=$(decode_record charter.notify.outcomes.v1 "$p" "$o" NotificationOutcome)
    if grep -qF "event_id: \"$1/$2\"" <<<"$t"; then echo "$t"; return 0; fi
  done <"$WORK/outcomes.loc"
}

# ---- delivered ----
notify_callback "$(uuid4)" "$CASE_D/acknowledgement" delivered
wait_until 60 has_outcome "$CASE_D/acknowledgement/delivered" || fail "no delivered outcome for $CASE_D"
txt=$(outcome_of "$CASE_D/acknowledgement" delivered)
expect_in "$txt" "the delivered outcome" "status: STATUS_DELIVERED" "channel: CHANNEL_SMS" \
  'transport: "http"' "reference: \"$REF_D\"" 'kind: NOTIFICATION_KIND_ACKNOWLEDGEMENT'
pass "a 'delivered' receipt: the SMS acknowledgement's outcome is DELIVERED"

# ---- permanent failure -> e-mail ----
NOTIFY_F=$(uuid4)
notify_callback "$NOTIFY_F" "$CASE_F/acknowledgement" permanent-failure
mails() { grep -cF "\"rcpt_tos\": [\"$1\"]" "$SMTP_LOG" || true; }
mailed() { [ "$(mails "$1")" -ge 1 ]; }
wait_until 60 mailed fay.fallback@example.org || fail "the acknowledgement did not fall back to e-mail"
M=$(grep -F '"rcpt_tos": ["fay.fallback@example.org"]' "$SMTP_LOG")
/usr/bin/python3 - "$M" "$REF_F" <<'PY' || fail "the fallback e-mail is not the acknowledgement: $M"
import json, sys
m, ref = json.loads(sys.argv[1]), sys.argv[2]
assert ref in m["subject"] and f"Your reference is {ref}." in m["body"], m
PY
wait_until 30 has_outcome "$CASE_F/acknowledgement/failed" || fail "no failed outcome for $CASE_F"
txt=$(outcome_of "$CASE_F/acknowledgement" failed)
expect_in "$txt" "the failed outcome" "status: STATUS_FAILED" "channel: CHANNEL_SMS" \
  'reason: "permanent-failure on sms; fell back to email; provider: notify: permanent-failure"'
wait_until 30 has_outcome "$CASE_F/acknowledgement/fallback-email/sent" || fail "no sent outcome for the fallback e-mail"
txt=$(outcome_of "$CASE_F/acknowledgement/fallback-email" sent)
expect_in "$txt" "the fallback's outcome" "status: STATUS_SENT" "channel: CHANNEL_EMAIL" \
  'reason: "fallback after permanent-failure on sms"' "reference: \"$REF_F\""
pass "a permanent failure: FAILED naming the fallback, the acknowledgement e-mailed, its outcome 'fallback after permanent-failure on sms'"

# ---- the same receipt again: nothing more ----
# Notify calls back again: ingest has it already and writes nothing ...
notify_callback "$NOTIFY_F" "$CASE_F/acknowledgement" permanent-failure
# ... and Kafka redelivers the receipt ingest wrote (the same bytes)
loc=$(kcat -b "$BOOTSTRAP" -C -t charter.notify.receipts.v1 -e -q -f '%k %p %o\n' 2>/dev/null | awk -v k="$CASE_F" '$1 == k {print $2, $3; exit}')
[ -n "$loc" ] || fail "no receipt from ingest for $CASE_F on charter.notify.receipts.v1"
n=$(kcat -b "$BOOTSTRAP" -C -t charter.notify.receipts.v1 -e -q -f '%k\n' 2>/dev/null | grep -cxF "$CASE_F" || true)
[ "$n" = 1 ] || fail "ingest wrote $n receipts for one Notify callback sent twice"
kcat -b "$BOOTSTRAP" -C -t charter.notify.receipts.v1 -p "${loc% *}" -o "${loc#* }" -c 1 -e -q -f '%s' >"$WORK/receipt.again.bin" 2>/dev/null
kcat -b "$BOOTSTRAP" -P -t charter.notify.receipts.v1 -k "$CASE_F" "$WORK/receipt.again.bin"
wait_until 60 metric_at_least charter_notify_receipts_repeated_total 1 ||
  fail "the repeated receipt was not seen (charter_notify_receipts_repeated_total $(metric charter_notify_receipts_repeated_total))"
[ "$(mails fay.fallback@example.org)" = 1 ] || fail "fay got $(mails fay.fallback@example.org) e-mails after a repeated receipt"
n=$(outcomes | grep -cF "$CASE_F/acknowledgement/failed" || true)
[ "$n" = 1 ] || fail "$n failed outcomes for $CASE_F/acknowledgement after a repeated receipt"
pass "the same receipt twice: one failed outcome, one fallback e-mail"

# ---- the e-mail bounces -> the letters queue ----
# Postfix's delivery report for the fallback e-mail (its Message-ID as the
# SMTP sink saw it), delivered to the organisation's mailbox
MID=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["message_id"])' "$M")
sed -e "s|^Message-ID: <n\..*|Message-ID: $MID|" "$SRC/tests/data/mail/dsn_postfix.eml" >"$WORK/bounce.eml"
out=$(/usr/bin/python3 "$SRC/tests/integration/mail_send.py" "$MAILPORT" smtp "" "$ORG@charter.localhost" <"$WORK/bounce.eml")
grep -q '^DATA 250 2.0.0 Ok: delivery report recorded' <<<"$out" || fail "the bounce of $MID was not recorded: $out"
letter() { ls "$WORK/print/$ORG/" 2>/dev/null | qgrep acknowledgement; }
wait_until 60 letter || fail "the bounced e-mail did not fall back to a letter: $(ls -R "$WORK/print" 2>&1)"
L=$(cat "$WORK/print/$ORG/"*)
grep -qF "1 Test Street" <<<"$L" && grep -qF "$REF_F" <<<"$L" || fail "the letter is not the acknowledgement: $L"
wait_until 30 has_outcome "$CASE_F/acknowledgement/fallback-letter/sent" || fail "no sent outcome for the letter"
txt=$(outcome_of "$CASE_F/acknowledgement/fallback-letter" sent)
expect_in "$txt" "the letter's outcome" "channel: CHANNEL_LETTER" 'reason: "fallback after permanent-failure on email"'
txt=$(outcome_of "$CASE_F/acknowledgement/fallback-email" failed)
expect_in "$txt" "the bounced e-mail's outcome" 'reason: "permanent-failure on email; fell back to letter; provider: smtp: 5.1.1'
pass "an e-mail bounce falls back to the letters queue (the print transport, the postal address)"

# ---- a receipt for no notice: counted, dropped, service fine ----
NOBODY=case-nobody-$(openssl rand -hex 4)
receipt "$NOBODY" "$NOBODY/acknowledgement" DELIVERED notify delivered
wait_until 60 metric_at_least charter_notify_receipts_unmatched_total 1 || fail "an unmatched receipt was not counted"
grep -qF "receipt for no notice" "$WORK/notification.log" || fail "an unmatched receipt was not logged"
curl -fsS "http://127.0.0.1:$NPORT/readyz" >/dev/null || fail "notification is not ready after an unmatched receipt"
pass "a receipt for a notice Charter never sent: counted (charter_notify_receipts_unmatched_total), logged, dropped"

# ---- reporting: delivery per channel ----
MONTH=$(date -u +%Y-%m)
delivery() { # JSON: "channel sent delivered failed fell_back rate" lines of measures.delivery
  /usr/bin/python3 -c '
import json, sys
d = json.loads(sys.argv[1])["measures"]["delivery"]
for ch in sorted(d):
    r = d[ch]
    print(ch, r["sent"], r["delivered"], r["failed"], r["fell_back"], r["delivery_rate"])' "$1"
}
WANT=$'email 1 0 1 1 0.0%\nletter 1 0 0 0 unknown\nsms 2 1 1 1 50.0%'
report_delivery() { delivery "$(curl -fsS "http://127.0.0.1:$REPORT/v1/report?organisation=$ORG&granularity=month&from=$MONTH&to=$MONTH")"; }
counted() { [ "$(report_delivery)" = "$WANT" ]; }
wait_until 60 counted || fail "GET /v1/report delivery: $(report_delivery), expected $WANT"
pass "GET /v1/report: sms 1 of 2 delivered (50%, 1 fell back), email 0 of 1, letters unknown"
curl -fsS "http://127.0.0.1:$REPORT/?month=$MONTH" >"$WORK/dashboard.html"
/usr/bin/python3 - "$WORK/dashboard.html" <<'PY' || fail "the dashboard's delivery lines are not as expected"
import re, sys
h = open(sys.argv[1]).read()
sec = h[h.index('data-org="nottingham-city-homes"'):]
sec = sec[:sec.find("</section>")]
def line(ch):
    m = re.search(r'<li data-channel="%s"[^>]*>(.*?)</li>' % ch, sec, re.S)
    assert m, ch
    return m.group(1)
assert '<b data-figure="delivery-rate">50.0%</b> delivered (1 of 2' in line("sms"), line("sms")
assert '<b data-figure="delivery-rate">unknown</b>' in line("letter") and "no delivery reports" in line("letter"), line("letter")
assert "0.0%" not in line("letter")
PY
pass "dashboard: the letters' delivery rate says unknown (no delivery reports), not 0%"
PUB=$(curl -fsS "http://127.0.0.1:$REPORT/v1/publication?organisation=$ORG&period=$MONTH")
[ "$(delivery "$PUB")" = "$WANT" ] || fail "the publication's delivery: $(delivery "$PUB")"
CSV=$("$CTL" report --organisation $ORG --period "$MONTH" --format csv --url "http://127.0.0.1:$REPORT" 2>/dev/null)
grep -qF 'delivery.sms,,2,1,50.0,measured' <<<"$CSV" && grep -qF 'delivery.letter,,0,0,,unknown: no delivery reports' <<<"$CSV" ||
  fail "charterctl report CSV lacks the delivery lines: $CSV"
pass "publication $MONTH and charterctl report --format csv: delivery.sms 50.0, delivery.letter unknown"

# ---- a technical failure is sent again by the same channel, once ----
read -r CASE_T REF_T <<<"$(customer_contact $ORG email "$(customer "Tom Technical" 103)")"
[ -n "$CASE_T" ] || fail "a contact was refused"
wait_until 60 gw_ok "$CASE_T/acknowledgement" || fail "no SMS acknowledgement for $CASE_T"
wait_until 30 has_outcome "$CASE_T/acknowledgement/sent" || fail "no sent outcome for $CASE_T"
notify_callback "$(uuid4)" "$CASE_T/acknowledgement" technical-failure
wait_until 60 gw_ok "$CASE_T/acknowledgement/resend-sms" || fail "the technical failure was not resent by SMS"
txt=$(outcome_of "$CASE_T/acknowledgement" failed)
expect_in "$txt" "the technical failure's outcome" 'reason: "technical-failure on sms; sent again by sms; provider: notify: technical-failure"'
mailed tom.technical@example.org && fail "a technical failure fell back to e-mail at once"
pass "a technical failure: FAILED, the same SMS sent once more ($CASE_T/acknowledgement/resend-sms), no fallback yet"

# ---- the letter fails too: no channel left, the case owner is told ----
receipt "$CASE_F" "$CASE_F/acknowledgement/fallback-letter" PERMANENT_FAILURE print "returned to sender: addressee gone away" LETTER
wait_until 60 has_outcome "$CASE_F/acknowledgement/fallback/undeliverable" || fail "no undeliverable outcome after every channel failed"
txt=$(outcome_of "$CASE_F/acknowledgement/fallback" undeliverable)
expect_in "$txt" "the undeliverable outcome" "status: STATUS_UNDELIVERABLE" 'no way left to reach the customer: it failed by sms,email,letter'
staff_told() { grep -F "\"$CASE_F/undeliverable/acknowledgement/fallback\"" "$WORK/outbox/$ORG.jsonl" 2>/dev/null | qgrep -F '"kind":"staff_undeliverable"'; }
wait_until 60 staff_told || fail "the case owner got no undeliverable alert: $(tail -n 3 "$WORK/outbox/$ORG.jsonl" 2>&1)"
txt=$(outcome_of "$CASE_F/acknowledgement/fallback-letter" failed)
expect_in "$txt" "the returned letter's outcome" 'reason: "permanent-failure on letter; no channel left: staff told'
pass "sms, email and letter all failed: the notice is undeliverable and the case owner's alert (staff_undeliverable) is queued"

for s in ingest sla-timer notification reporting; do stop_service "$s"; done
echo "receipts: all checks passed"
