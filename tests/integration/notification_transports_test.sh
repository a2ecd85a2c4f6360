#!/usr/bin/env bash
# Notification's real transports, end to end from ingest through sla-timer:
# - email by SMTP to a real server (aiosmtpd on loopback): the acknowledgement
#   arrives with the case reference in the subject, the target date in words
#   and the named contact, as proper MIME (Date, Message-ID, UTF-8
#   text/plain); the server's first answer is 451, the send is retried with
#   backoff and delivered exactly once;
# - SMS and social replies through the HTTP gateway (tests/tools/
#   gateway_receiver.c): Notify-shaped bodies, authenticated as GOV.UK Notify
#   wants (notify.http.auth = notify-jwt: a fresh HS256 JWT per request whose
#   signature, iss and iat the receiver verifies); its first answer is 429
#   with Retry-After: 2 and the retry waits at least that long;
# - a gateway's permanent refusal (400) goes to charter.dlq.v1 with a failed
#   outcome on charter.notify.outcomes.v1;
# - quiet hours: an SMS acknowledgement for an organisation whose
#   sms_quiet_hours cover "now" is held in the Redis queue until the end of
#   the window (checked against the instant Python's zoneinfo computes), not
#   sent and not dropped;
# - an API key with the wrong secret: the gateway answers 403 AuthError and
#   the SMS is parked with an operator alarm (our key, not the message, is
#   wrong), neither failed nor dead-lettered.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notification_lib.sh"

start_redis
start_broker
start_smtp_sink 1
GATEWAY_AUTH=notify-jwt
start_gateway --fail-first 1 --retry-after 2 --reject-to +447700900666
POLICIES="$WORK/policies"
mkdir -p "$POLICIES"
policy() { # ID PREFIX [QUIET]
  policy_yaml "$1" "Test Homes $2" "$2" "1 second" "10 working days" says="Short clocks for the test." \
    "role=owner:Customer Service Team adviser" "role=manager:Customer Service Manager" named_contact \
    ${3:+"quiet=$3"}
}
policy nottingham-city-homes NCH >"$POLICIES/nch.yaml"
# A window from an hour ago to two hours ahead (local time), so "now" is quiet.
QUIET=$(/usr/bin/python3 -c '
import datetime, zoneinfo
now = datetime.datetime.now(zoneinfo.ZoneInfo("Europe/London"))
a = (now - datetime.timedelta(hours=1)).strftime("%H:%M"); b = (now + datetime.timedelta(hours=2)).strftime("%H:%M")
print(f"{a}-{b}")')
policy derby-homes DH "$QUIET" >"$POLICIES/dh.yaml"

mapfile -t NENV < <(notify_transport_env)
start_service ingest
start_service sla-timer CHARTER_SLA_POLICY_DIR="$POLICIES"
start_service notification CHARTER_NOTIFY_OUTBOX_DIR="$WORK/outbox" \
  CHARTER_NOTIFY_TEMPLATE_DIR="$SRC/templates" CHARTER_NOTIFY_POLICY_DIR="$POLICIES" "${NENV[@]}"
for s in ingest sla-timer notification; do wait_ready "$s"; done
pass "services ready; SMTP sink on $SMTP_PORT (first answer 451), gateway on $GATEWAY_PORT (first answer 429)"

NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
read -r CASE_E REF_E <<<"$(customer_contact nottingham-city-homes email '{"name":"Ann Example","email":"ann@example.org"}')"
read -r CASE_S REF_S <<<"$(customer_contact nottingham-city-homes sms '{"name":"Bob Example","phone":"07700900123"}')"
read -r CASE_X REF_X <<<"$(customer_contact nottingham-city-homes social '{"name":"Cy Example"}')"
read -r CASE_B REF_B <<<"$(customer_contact nottingham-city-homes sms '{"name":"Eve Example","phone":"07700900666"}')"
read -r CASE_Q REF_Q <<<"$(customer_contact derby-homes sms '{"name":"Dee Example","phone":"07700900777"}')"
for c in "$CASE_E" "$CASE_S" "$CASE_X" "$CASE_B" "$CASE_Q"; do [ -n "$c" ] || fail "a contact was refused"; done

# ---- SMTP ----
smtp_count() { grep -cF "\"rcpt_tos\": [\"$1\"]" "$SMTP_LOG" || true; }
has_mail() { [ "$(smtp_count "$1")" -ge 1 ]; }
wait_until 60 has_mail ann@example.org || fail "no email reached the SMTP server"
sleep 3 # a repeat would come within the lease; none may
[ "$(smtp_count ann@example.org)" = 1 ] || fail "ann@example.org got $(smtp_count ann@example.org) emails"
[ "$(wc -l <"$SMTP_LOG.refused")" = 1 ] || fail "the SMTP server did not refuse the first delivery"
M=$(grep -F '"rcpt_tos": ["ann@example.org"]' "$SMTP_LOG")
/usr/bin/python3 - "$M" "$REF_E" <<'PY' || fail "email is not as expected: $M"
import json, re, sys
m, ref = json.loads(sys.argv[1]), sys.argv[2]
assert m["subject"] == f"We have received your message (reference {ref})", m["subject"]
assert m["mail_from"] == "noreply@council.example" and m["to"] == "ann@example.org", m
# the notice's id rides in its Message-ID (charter/notice_id.h), so a reply or bounce finds it
assert re.fullmatch(r"<n\.[0-9a-f-]{36}/acknowledgement\.[0-9a-f]{16}@council\.example>", m["message_id"]), m["message_id"]
assert re.match(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000", m["date"]), m["date"]
assert m["content_type"] == "text/plain" and m["charset"].lower() == "utf-8", m
b = m["body"]
assert "Dear Ann Example," in b and f"Your reference is {ref}." in b, b
assert re.search(r"reply by (Monday|Tuesday|Wednesday|Thursday|Friday) \d{1,2} [A-Z][a-z]+ 20\d\d\.", b), b
assert "Dealing with your enquiry: Customer Service Team." in b, b
assert "You can contact us on 0115 915 2222." in b, b
assert "adviser" not in b, b
PY
pass "email acknowledgement over SMTP: subject '$(json_get "$M" subject)', date in words, named contact, Message-ID, UTF-8 text/plain"
OUT=$(kcat -b "$BOOTSTRAP" -C -t charter.notify.outcomes.v1 -e -q -f '%k\t%s\n' 2>/dev/null | grep -aF "$CASE_E" || true)
grep -aq 'retry 1 at .*SMTP 451' <<<"$OUT" || fail "no retry outcome naming SMTP 451 for $REF_E"
pass "the 451 was retried (outcome 'queued' with 'retry 1 ... SMTP 451') and the message delivered once"

# ---- HTTP gateway ----
gw() { /usr/bin/python3 - "$GATEWAY_LOG" "$@"; }
wait_until 60 gw "$CASE_S/acknowledgement" "$CASE_X/acknowledgement" <<'PY' || fail "SMS and social not delivered: $(cat "$GATEWAY_LOG")"
import json, sys
ok = {json.loads(l)["reference"] for l in open(sys.argv[1]) if json.loads(l)["status"] == 201}
sys.exit(0 if all(r in ok for r in sys.argv[2:]) else 1)
PY
gw "$CASE_S" "$CASE_X" "$REF_S" "$REF_X" "$GATEWAY_TOKEN" <<'PY' || fail "gateway requests not as expected: $(cat "$GATEWAY_LOG")"
import json, sys
log, cs, cx, rs, rx, tok = sys.argv[1:]
L = [json.loads(l) for l in open(log)]
assert all(x["auth_ok"] for x in L), "a request without a valid Notify JWT"
refused = [x for x in L if x["status"] == 429]
assert len(refused) == 1, L
first = refused[0]
retry = [x for x in L if x["n"] > first["n"] and x["reference"] == first["reference"]]
assert retry and retry[0]["status"] == 201, L
waited = retry[0]["at_ms"] - first["at_ms"]
assert waited >= 2000, f"retried after {waited} ms, Retry-After said 2 s"
print(f"429 for {first['reference']}; retried after {waited} ms")
sms = [x for x in L if x["reference"] == cs + "/acknowledgement" and x["status"] == 201]
assert len(sms) == 1 and sms[0]["path"] == "/v2/notifications/sms", sms
b = sms[0]["body"]
assert b["phone_number"] == "+447700900123" and b["template_id"] == "sms-template", b
assert rs in b["personalisation"]["body"] and b["personalisation"]["reference"] == rs, b
soc = [x for x in L if x["reference"] == cx + "/acknowledgement" and x["status"] == 201]
assert len(soc) == 1 and soc[0]["path"] == "/v2/notifications/social", soc
assert soc[0]["body"]["case_id"] == cx and rx in soc[0]["body"]["personalisation"]["body"], soc
PY
pass "SMS and social reply through the gateway, Notify-shaped with a verified Notify JWT; 429 Retry-After honoured"

# ---- permanent refusal -> DLQ ----
dlq_has() { kcat -b "$BOOTSTRAP" -C -t charter.dlq.v1 -e -q -f '%k\n' 2>/dev/null | qgrep -xF "$CASE_B"; }
wait_until 60 dlq_has || fail "the refused SMS did not reach charter.dlq.v1"
loc=$(find_record charter.dlq.v1 "$CASE_B")
txt=$(decode_record charter.dlq.v1 $loc DeadLetter)
grep -qF 'service: "notification"' <<<"$txt" && grep -qF 'reason: "HTTP 400"' <<<"$txt" || fail "dead letter: $txt"
OUT=$(kcat -b "$BOOTSTRAP" -C -t charter.notify.outcomes.v1 -e -q -f '%s\n' 2>/dev/null | grep -aF "$CASE_B/acknowledgement/failed" || true)
[ -n "$OUT" ] || fail "no failed outcome for $REF_B"
pass "a gateway's 400 is permanent: dead-lettered (reason 'HTTP 400') with a failed outcome"

# ---- quiet hours ----
queued_q() { [ -n "$(redis-cli -p "$REDIS_PORT" ZSCORE charter:notify:queue "$CASE_Q/acknowledgement")" ]; }
wait_until 30 queued_q ||
  fail "the quiet-hours SMS was not queued"
score=$(redis-cli -p "$REDIS_PORT" ZSCORE charter:notify:queue "$CASE_Q/acknowledgement")
WANT=$(/usr/bin/python3 -c '
import datetime, sys, zoneinfo
tz = zoneinfo.ZoneInfo("Europe/London"); until = sys.argv[1].split("-")[1]
now = datetime.datetime.now(tz); h, m = map(int, until.split(":"))
r = now.replace(hour=h, minute=m, second=0, microsecond=0)
if r <= now: r += datetime.timedelta(days=1)
print(int(r.timestamp() * 1000))' "$QUIET")
[ "${score%.*}" = "$WANT" ] || fail "quiet-hours SMS due at $score, expected $WANT (end of $QUIET)"
grep -qF "+447700900777" "$GATEWAY_LOG" && fail "a text message went out during quiet hours"
OUT=$(kcat -b "$BOOTSTRAP" -C -t charter.notify.outcomes.v1 -e -q -f '%s\n' 2>/dev/null | grep -aF "$CASE_Q/acknowledgement/queued" || true)
grep -aqF "held for quiet hours until" <<<"$OUT" || fail "no queued outcome saying the SMS is held"
pass "SMS inside quiet hours $QUIET held in the queue until $(date -u -d @$((WANT / 1000)) +%H:%MZ), not sent"

# ---- wrong API key -> 403 -> parked, alarmed ----
stop_service notification
WRONG_KEY="${GATEWAY_API_KEY:0:${#GATEWAY_API_KEY}-36}$(uuid4)"
start_service notification CHARTER_NOTIFY_OUTBOX_DIR="$WORK/outbox" \
  CHARTER_NOTIFY_TEMPLATE_DIR="$SRC/templates" CHARTER_NOTIFY_POLICY_DIR="$POLICIES" "${NENV[@]}" \
  "CHARTER_NOTIFY_HTTP_API_KEY=$WRONG_KEY"
wait_ready notification
read -r CASE_W REF_W <<<"$(customer_contact nottingham-city-homes sms '{"name":"Wes Example","phone":"07700900555"}')"
parked_w() { [ "$(redis-cli -p "$REDIS_PORT" GET "charter:notify:{$CASE_W}:acknowledgement")" = parked ]; }
wait_until 60 parked_w || fail "the SMS sent with a wrong API key was not parked"
[ -n "$(redis-cli -p "$REDIS_PORT" ZSCORE charter:notify:parked "$CASE_W/acknowledgement")" ] || fail "not in charter:notify:parked"
grep -q '"alarm":"credentials_refused".*"reason":"HTTP 403"' "$WORK/notification.log" || fail "no credentials alarm logged"
kcat -b "$BOOTSTRAP" -C -t charter.dlq.v1 -e -q -f '%k\n' 2>/dev/null | qgrep -xF "$CASE_W" && fail "the 403 was dead-lettered"
OUT=$(kcat -b "$BOOTSTRAP" -C -t charter.notify.outcomes.v1 -e -q -f '%s\n' 2>/dev/null | grep -aF "$CASE_W/acknowledgement/failed" || true)
[ -z "$OUT" ] || fail "a failed outcome for $REF_W"
gw "$CASE_W/acknowledgement" <<'PY' || fail "gateway did not refuse the wrong key: $(cat "$GATEWAY_LOG")"
import json, sys
L = [json.loads(l) for l in open(sys.argv[1])]
w = [x for x in L if x["reference"] == sys.argv[2]]
assert w and all(x["status"] == 403 and not x["auth_ok"] for x in w), w
assert w[0]["auth_error"] == "Invalid token: signature, api token not found", w
PY
grep -qF "${WRONG_KEY: -36}" "$WORK/notification.log" && fail "the API key's secret reached notification's log"
pass "a JWT signed with the wrong secret: 403 AuthError, parked with an alarm, not failed or dead-lettered"

for s in ingest sla-timer notification; do stop_service "$s"; done
echo "notification_transports: all checks passed"
