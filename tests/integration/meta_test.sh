#!/usr/bin/env bash
# Meta's webhooks in (ingest, /v1/gateways/meta/<organisation>) and the Send
# API out (notification's meta transport), with the real services on a real
# redis-server and the embedded broker; requests built from Meta's
# documented examples (Graph API webhooks "Getting started", the Messenger
# Platform's messages event, Instagram messaging), signed with Python's hmac
# over the exact bytes sent; Kafka read with kcat and decoded by protoc's
# Python modules; a Python http.server standing in for graph.facebook.com.
#
# 1. the verification handshake: the right verify token gets hub.challenge
#    back as text/plain; a wrong token or mode gets 403;
# 2. a signed Messenger message becomes a social-media contact on
#    charter.contact.events.v1 (social_id, page, mid, text, attachment name);
#    an Instagram message too (its IG account);
# 3. the same webhook again (Meta's redelivery) writes nothing: one case;
# 4. a wrong signature (403), no signature (401) and a body altered after
#    signing (403) are refused and write nothing;
# 5. a follow-up from the same PSID is a CustomerMessage on the open case;
# 6. the acknowledgement reaches the Send API in Meta's shape
#    (POST /v25.0/PAGE/messages, Bearer page token, recipient PSID,
#    messaging_type RESPONSE, the reference in the text), and the sent
#    outcome carries Meta's message_id;
# 7. with Redis down a webhook gets 503 and Retry-After (Meta retries) and
#    nothing is written.
source "$(dirname "$0")/lib.sh"

ORG=nottingham-city-homes
PAGE=1234567890
IGID=17841400000000000
PSID=6789012345
IGSID=9876543210
TOPIC=charter.contact.events.v1
SECRET_FILE="$WORK/meta.secret"
TOKEN_FILE="$WORK/meta.verify-token"
( umask 077
  openssl rand -hex 32 >"$SECRET_FILE"
  openssl rand -hex 16 >"$TOKEN_FILE"
  printf '# ORGANISATION app_secret_file= verify_token_file= accounts= case_type=\n%s app_secret_file=%s verify_token_file=%s accounts=%s,%s case_type=enquiry\n' \
    "$ORG" "$SECRET_FILE" "$TOKEN_FILE" "$PAGE" "$IGID" >"$WORK/meta.conf"
  PAGE_TOKEN=$(openssl rand -hex 24)
  printf '%s %s\n%s %s\n' "$PAGE" "$PAGE_TOKEN" "$IGID" "$PAGE_TOKEN" >"$WORK/meta.tokens"
  echo "$PAGE_TOKEN" >"$WORK/page.token" )
PAGE_TOKEN=$(cat "$WORK/page.token")
VERIFY_TOKEN=$(cat "$TOKEN_FILE")

POLICIES="$WORK/policies"
mkdir -p "$POLICIES"
policy_yaml "$ORG" "Nottingham City Homes" NCH "1 second" "10 working days" \
  says="Short clocks for the test." >"$POLICIES/nch.yaml"

SEND_PORT=$(free_port)
SEND_LOG="$WORK/send_api.jsonl"
touch "$SEND_LOG"
/usr/bin/python3 "$SRC/tests/integration/meta_send_api.py" --port "$SEND_PORT" --log "$SEND_LOG" \
  --token "$PAGE_TOKEN" --ready "$WORK/send_api.ready" >>"$WORK/send_api.log" 2>&1 &
PIDS+=($!)
start_redis
start_broker
wait_until 10 test -s "$WORK/send_api.ready" || fail "meta_send_api.py did not start"
start_service ingest CHARTER_INGEST_META_FILE="$WORK/meta.conf"
start_service sla-timer CHARTER_SLA_POLICY_DIR="$POLICIES"
start_service notification CHARTER_NOTIFY_OUTBOX_DIR="$WORK/outbox" \
  CHARTER_NOTIFY_TEMPLATE_DIR="$SRC/templates" CHARTER_NOTIFY_POLICY_DIR="$POLICIES" \
  CHARTER_NOTIFY_SOCIAL_TRANSPORT=meta "CHARTER_NOTIFY_META_URL=http://127.0.0.1:$SEND_PORT" \
  CHARTER_NOTIFY_META_PAGE_TOKENS_FILE="$WORK/meta.tokens" CHARTER_NOTIFY_META_TIMEOUT_MS=5000 \
  CHARTER_NOTIFY_RETRY_BASE_MS=500 CHARTER_NOTIFY_RETRY_MAX_MS=2000
for s in ingest sla-timer notification; do wait_ready "$s"; done
IN=${SVC_PORT[ingest]}
URL="http://127.0.0.1:$IN/v1/gateways/meta/$ORG"
pass "services ready; Send API stand-in on $SEND_PORT"

# ---- 1. the handshake ----
r=$(curl -sS -o "$WORK/hs.txt" -D "$WORK/hs.headers" -w '%{http_code}' \
  "$URL?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=$VERIFY_TOKEN")
[ "$r" = 200 ] || fail "handshake with the right token: HTTP $r"
[ "$(cat "$WORK/hs.txt")" = 1158201444 ] || fail "handshake body is not the challenge: $(cat "$WORK/hs.txt")"
grep -qi '^content-type: text/plain' "$WORK/hs.headers" || fail "handshake answer is not text/plain"
r=$(curl -sS -o /dev/null -w '%{http_code}' "$URL?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock")
[ "$r" = 403 ] || fail "handshake with a wrong token: HTTP $r (want 403)"
r=$(curl -sS -o /dev/null -w '%{http_code}' "$URL?hub.mode=unsubscribe&hub.challenge=1158201444&hub.verify_token=$VERIFY_TOKEN")
[ "$r" = 403 ] || fail "handshake with a wrong mode: HTTP $r (want 403)"
r=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$IN/v1/gateways/meta/derby-homes?hub.mode=subscribe&hub.challenge=1&hub.verify_token=$VERIFY_TOKEN")
[ "$r" = 404 ] || fail "handshake for an organisation without Meta settings: HTTP $r (want 404)"
pass "handshake: the right verify token gets the challenge (text/plain), a wrong one 403"

# ---- helpers ----
# webhook FILE OBJECT ACCOUNT SENDER MID TEXT: a webhook body as Meta sends it.
webhook() {
  /usr/bin/python3 - "$@" <<'PY'
import json, sys, time
path, obj, account, sender, mid, text = sys.argv[1:7]
ms = int(time.time() * 1000) - 2000
msg = {"mid": mid, "text": text}
if obj == "page":
    msg["attachments"] = [{"type": "image", "payload": {"url": "https://scontent.xx.fbcdn.net/v/t1.15752-9/damp_wall.jpg?_nc_cat=1"}}]
body = {"object": obj, "entry": [{"id": account, "time": ms, "messaging": [
    {"sender": {"id": sender}, "recipient": {"id": account}, "timestamp": ms, "message": msg}]}]}
if obj == "page":  # a delivery of the page's own message rides along: skipped
    body["entry"][0]["messaging"].append({"sender": {"id": sender}, "recipient": {"id": account},
        "delivery": {"mids": ["mid.1458668856218:ed81099e15d3f4f233"], "watermark": ms}})
open(path, "wb").write(json.dumps(body, ensure_ascii=False).encode())
PY
}
# hub_sig FILE [SECRET_FILE]: "sha256=" + HMAC-SHA256 of the file's bytes.
hub_sig() {
  /usr/bin/python3 -c '
import hashlib, hmac, sys
key = open(sys.argv[2], "rb").read().strip()
print("sha256=" + hmac.new(key, open(sys.argv[1], "rb").read(), hashlib.sha256).hexdigest())' "$1" "${2:-$SECRET_FILE}"
}
# meta_post FILE [SIGNATURE|-]: "STATUS BODY" (- sends no signature header).
meta_post() {
  local sig=${2:-$(hub_sig "$1")} h=()
  [ "$sig" = - ] || h=(-H "X-Hub-Signature-256: $sig")
  curl -sS -o "$WORK/resp.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    "${h[@]}" --data-binary "@$1" "$URL"
  printf ' '
  cat "$WORK/resp.json"
}
PB2="$WORK/pb2"
/usr/bin/python3 "$SRC/tests/integration/cases.py" pb2 "$SRC/proto" "$PB2" || fail "protoc python modules"
dump() { # dump TOPIC TYPE: the topic's records as JSON lines in $WORK/TYPE.jsonl
  kcat -b "$BOOTSTRAP" -C -t "$1" -e -q -f '%R%s' 2>/dev/null |
    /usr/bin/python3 "$SRC/tests/integration/topic_read.py" "$PB2" "$2" >"$WORK/$2.jsonl"
}
# q EXPR: a Python expression over `recs` (the CaseEvents on the topic).
q() {
  dump "$TOPIC" CaseEvent || return 1
  /usr/bin/python3 - "$WORK/CaseEvent.jsonl" "$1" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def received(mid):
    return [r for r in recs if r.get("received", {}).get("gateway_message_id") == mid]
def message(mid):
    return [r for r in recs if r.get("customer_message", {}).get("gateway_message_id") == mid]
v = eval(sys.argv[2])
print(v if not isinstance(v, bool) else ("yes" if v else ""))
sys.exit(0 if v else 1)
PY
}

# ---- 2. a Messenger message and an Instagram message ----
MID1="m_$(openssl rand -hex 20)"
webhook "$WORK/w1.json" page "$PAGE" "$PSID" "$MID1" "Hello, there is damp in my bedroom — can someone look?"
r=$(meta_post "$WORK/w1.json")
[ "${r%% *}" = 200 ] || fail "signed webhook: $r"
[ "$(json_get "${r#* }" accepted)/$(json_get "${r#* }" skipped)" = 1/1 ] || fail "signed webhook answer: $r"
wait_until 30 q "len(received('$MID1')) == 1" || fail "no contact for $MID1 on $TOPIC"
q "received('$MID1')[0]" >"$WORK/c1.json"
C1=$(/usr/bin/python3 -c 'import ast,sys; print(ast.literal_eval(open(sys.argv[1]).read())["case_id"])' "$WORK/c1.json")
/usr/bin/python3 - "$WORK/c1.json" "$PSID" "$PAGE" "$MID1" <<'PY' || fail "contact not as expected: $(cat "$WORK/c1.json")"
import ast, sys
r = ast.literal_eval(open(sys.argv[1]).read())
psid, page, mid = sys.argv[2:5]
rc = r["received"]
assert r["organisation"] == "nottingham-city-homes", r
assert r["source"] == "meta:page", r["source"]
assert rc["channel"] == "CHANNEL_SOCIAL", rc
assert rc["customer"]["social_id"] == psid, rc
assert rc["gateway_account"] == page, rc
assert rc["gateway_message_id"] == mid, rc
assert rc["summary"] == "Hello, there is damp in my bedroom — can someone look?", rc["summary"]
assert rc["case_type"] == "enquiry", rc
assert rc["reference"].startswith("NCH-"), rc
assert rc["attachments"] == [{"name": "damp_wall.jpg", "content_type": "image"}], rc.get("attachments")
PY
REF1=$(/usr/bin/python3 -c 'import ast,sys; print(ast.literal_eval(open(sys.argv[1]).read())["received"]["reference"])' "$WORK/c1.json")
pass "Messenger message -> contact $REF1 (channel social, social_id $PSID, page $PAGE, mid, text, attachment name)"

MIDI="aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOj$(openssl rand -hex 60)"
webhook "$WORK/wi.json" instagram "$IGID" "$IGSID" "$MIDI" "Is my repair booked?"
r=$(meta_post "$WORK/wi.json")
[ "${r%% *}" = 200 ] && [ "$(json_get "${r#* }" accepted)" = 1 ] || fail "Instagram webhook: $r"
wait_until 30 q "received('$MIDI')[0]['received']['gateway_account'] == '$IGID' and received('$MIDI')[0]['received']['customer']['social_id'] == '$IGSID'" ||
  fail "no Instagram contact for $IGSID on $IGID"
pass "Instagram message -> contact (IGSID $IGSID, account $IGID, a ${#MIDI}-character mid)"

# ---- 3. redelivery ----
r=$(meta_post "$WORK/w1.json")
[ "${r%% *}" = 200 ] && [ "$(json_get "${r#* }" duplicates)" = 1 ] || fail "redelivered webhook: $r"
[ "$(q "len(received('$MID1'))")" = 1 ] || fail "the redelivered webhook wrote a second contact"
pass "the same webhook again: 200, duplicate, still one case"

# ---- 4. refused ----
MIDX="m_$(openssl rand -hex 20)"
webhook "$WORK/wx.json" page "$PAGE" "$PSID" "$MIDX" "forged"
( umask 077; openssl rand -hex 32 >"$WORK/other.secret" )
r=$(meta_post "$WORK/wx.json" "$(hub_sig "$WORK/wx.json" "$WORK/other.secret")")
[ "${r%% *}" = 403 ] || fail "wrong signature: $r (want 403)"
r=$(meta_post "$WORK/wx.json" -)
[ "${r%% *}" = 401 ] || fail "no signature: $r (want 401)"
SIG=$(hub_sig "$WORK/wx.json")
sed -i 's/forged/forged!/' "$WORK/wx.json"
r=$(meta_post "$WORK/wx.json" "$SIG")
[ "${r%% *}" = 403 ] || fail "body altered after signing: $r (want 403)"
pass "wrong signature 403, no signature 401, altered body 403"

# ---- 5. a follow-up from the same PSID ----
has_sender() { [ "$(redis-cli -p "$REDIS_PORT" GET "charter:ingest:dir:sender:$ORG:social:$PSID")" = "$C1" ]; }
wait_until 20 has_sender || fail "the directory does not know $PSID's open case"
MID2="m_$(openssl rand -hex 20)"
webhook "$WORK/w2.json" page "$PAGE" "$PSID" "$MID2" "Any news? The damp is spreading."
r=$(meta_post "$WORK/w2.json")
[ "${r%% *}" = 200 ] && [ "$(json_get "${r#* }" joined)" = 1 ] || fail "follow-up webhook: $r"
wait_until 30 q "len(message('$MID2')) == 1" || fail "no CustomerMessage for $MID2"
q "message('$MID2')[0]['case_id'] == '$C1' and message('$MID2')[0]['customer_message']['from'] == '$PSID' and message('$MID2')[0]['customer_message']['channel'] == 'CHANNEL_SOCIAL' and not received('$MID2')" >/dev/null ||
  fail "follow-up is not a message on $C1: $(q "message('$MID2')")"
q "not received('$MIDX') and not message('$MIDX')" >/dev/null || fail "a refused webhook reached $TOPIC"
pass "follow-up from $PSID -> CustomerMessage on case $C1; nothing from the refused webhooks"

# ---- 6. the acknowledgement through the Send API ----
has_send() { grep -q "\"id\": \"$PSID\"" "$SEND_LOG"; }
wait_until 60 has_send || fail "no Send API request for $PSID"
/usr/bin/python3 - "$SEND_LOG" "$PSID" "$PAGE" "$PAGE_TOKEN" "$REF1" <<'PY' || fail "Send API request not as Meta documents: $(cat "$SEND_LOG")"
import json, sys
log, psid, page, token, ref = sys.argv[1:6]
reqs = [json.loads(l) for l in open(log) if l.strip()]
mine = [r for r in reqs if r["body"]["recipient"]["id"] == psid]
assert len(mine) == 1, mine
r = mine[0]
assert r["path"] == f"/v25.0/{page}/messages", r["path"]
assert r["authorization"] == "Bearer " + token, "wrong token"
assert r["content_type"] == "application/json", r
b = r["body"]
assert set(b) == {"recipient", "messaging_type", "message"}, b
assert b["recipient"] == {"id": psid}, b
assert b["messaging_type"] == "RESPONSE", b
assert set(b["message"]) == {"text"} and ref in b["message"]["text"], b
assert len(b["message"]["text"]) <= 2000, len(b["message"]["text"])
PY
has_outcome() {
  dump charter.notify.outcomes.v1 NotificationOutcome || return 1
  /usr/bin/python3 - "$WORK/NotificationOutcome.jsonl" "$C1" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ok = [r for r in recs if r.get("case_id") == sys.argv[2] and r.get("status") == "STATUS_SENT"
      and r.get("transport") == "meta" and r.get("reason", "").startswith("message_id=m_test_")]
sys.exit(0 if ok else 1)
PY
}
wait_until 30 has_outcome || fail "no sent outcome with Meta's message_id for $C1"
pass "acknowledgement sent to the Send API in Meta's shape for $PSID (page $PAGE, RESPONSE, $REF1); outcome carries message_id"

# ---- 7. Redis down: 503, so that Meta sends the webhook again ----
kill -TERM "$REDIS_PID"
wait_until 10 sh -c "! redis-cli -p $REDIS_PORT ping" || fail "redis-server did not stop"
MID3="m_$(openssl rand -hex 20)"
webhook "$WORK/w3.json" page "$PAGE" "$IGSID" "$MID3" "Redis is down"
r=$(curl -sS -o "$WORK/resp.json" -D "$WORK/w3.headers" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -H "X-Hub-Signature-256: $(hub_sig "$WORK/w3.json")" --data-binary "@$WORK/w3.json" "$URL")
[ "$r" = 503 ] || fail "webhook with Redis down: HTTP $r (want 503): $(cat "$WORK/resp.json")"
grep -qi '^retry-after:' "$WORK/w3.headers" || fail "503 without Retry-After"
q "not received('$MID3') and not message('$MID3')" >/dev/null || fail "a message was written while Redis was down"
pass "Redis down: 503 with Retry-After and nothing written (Meta retries)"
stop_service ingest
stop_service notification
