#!/usr/bin/env bash
# ingest against a real redis-server and the embedded broker, read back with
# kcat and decoded with protoc:
#   - every error class: 400, 401 (each way a signature fails, checked before
#     the body is parsed), 403, 413, 415, 422; a second key of a gateway works;
#   - signatures bound to method and path (reliability review M10): a v2
#     signature captured for case A's path replayed to case B's is refused, v1
#     only from a gateway with accept_v1=true, and a gateway writes only for
#     its organisations (403, per line in a batch, dead-lettered on Kafka),
#     with nothing of the refused on the topic;
#   - every case event type of DESIGN.md section 2 accepted and on the topic;
#   - an NDJSON batch: per-line results naming the line, order kept;
#   - idempotency: a repeated gateway_message_id returns the original answer
#     and produces nothing;
#   - a gateway topic (JSON on Kafka): good records become events, bad ones go
#     to charter.dlq.v1 with the reason and the original bytes;
#   - the fault test: the broker is taken down in the middle of a load and
#     brought back; every event that got 202 is on the topic, 503s carry Retry-After,
#     and nothing retried after a 503 appears twice (a write answered 503 but
#     confirmed later is answered 409, then 200 with the original case id).
source "$(dirname "$0")/lib.sh"

TOPIC=charter.contact.events.v1
ROTATED_KEY=$(openssl rand -hex 24)
LEGACY_KEY=$(openssl rand -hex 32)
NARROW_KEY=$(openssl rand -hex 32)
{
  printf 'rot %s %s orgs=*\n' "$(openssl rand -hex 32)" "$ROTATED_KEY"
  printf 'legacy %s orgs=* accept_v1=true\n' "$LEGACY_KEY"   # mid-migration: still takes v1
  printf 'narrow %s orgs=derby-homes,nihe\n' "$NARROW_KEY"     # two organisations only
  printf 'nolist %s\n' "$NARROW_KEY"                            # no orgs=: none
  printf 'sms orgs=digital-first-council\n'                     # the gateway topic's gateway
} >>"$GATEWAYS_FILE"

start_redis
start_broker
start_service ingest CHARTER_INGEST_MAX_BODY_BYTES=4096 CHARTER_INGEST_MAX_BATCH_LINES=20 \
  'CHARTER_INGEST_GATEWAY_TOPICS=sms=^charter\.gateway\.sms\..*'
wait_ready ingest
IN=${SVC_PORT[ingest]}
URL="http://127.0.0.1:$IN"
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
CONTACT="{\"organisation\":\"nottingham-city-homes\",\"channel\":\"email\",\"received_at\":\"$NOW\"}"
pass "ingest ready on $IN (redis $REDIS_URL, kafka $BOOTSTRAP)"

status() { printf '%s' "${1%% *}"; }
body() { printf '%s' "${1#* }"; }
expect() { # expect RESULT STATUS CODE WHAT
  [ "$(status "$1")" = "$2" ] && [ "$(json_get "$(body "$1")" error/code)" = "$3" ] ||
    fail "$4: expected $2 $3, got: $1"
  pass "$4 -> $2 $3"
}
raw_post() { # raw_post PATH BODY CURL_ARGS... -> "STATUS BODY" (no signing of its own)
  local path=$1 data=$2; shift 2
  curl -sS -o "$WORK/raw.json" -w '%{http_code}' -X POST "$@" --data-binary "$data" "$URL$path"
  printf ' '
  cat "$WORK/raw.json"
}

# ---- 401: authentication comes first, before the body is read ----
r=$(raw_post /v1/contacts "$CONTACT" -H 'Content-Type: application/json')
expect "$r" 401 missing_gateway "no X-Charter-Gateway"
r=$(raw_post /v1/contacts "$CONTACT" -H 'Content-Type: application/json' -H 'X-Charter-Gateway: nobody' \
  -H "X-Charter-Signature: $(sign /v1/contacts "$CONTACT")")
expect "$r" 401 unknown_gateway "unknown gateway"
r=$(raw_post /v1/contacts "$CONTACT" -H 'Content-Type: application/json' -H "X-Charter-Gateway: $GATEWAY_ID")
expect "$r" 401 missing_signature "no signature"
r=$(raw_post /v1/contacts "$CONTACT" -H 'Content-Type: application/json' -H "X-Charter-Gateway: $GATEWAY_ID" \
  -H 'X-Charter-Signature: v1=abc')
expect "$r" 401 malformed_signature "malformed signature header"
r=$(raw_post /v1/contacts "$CONTACT" -H 'Content-Type: application/json' -H "X-Charter-Gateway: $GATEWAY_ID" \
  -H "X-Charter-Signature: $(sign /v1/contacts "$CONTACT" "$(openssl rand -hex 32)")")
expect "$r" 401 bad_signature "signed with the wrong key"
r=$(raw_post /v1/contacts "${CONTACT/email/phone}" -H 'Content-Type: application/json' \
  -H "X-Charter-Gateway: $GATEWAY_ID" -H "X-Charter-Signature: $(sign /v1/contacts "$CONTACT")")
expect "$r" 401 bad_signature "body changed after signing"
r=$(raw_post /v1/contacts "$CONTACT" -H 'Content-Type: application/json' -H "X-Charter-Gateway: $GATEWAY_ID" \
  -H "X-Charter-Signature: $(sign /v1/contacts "$CONTACT" "$GATEWAY_KEY" $(( $(date +%s) - 400 )))")
expect "$r" 401 stale_signature "timestamp 400 s old (replay)"
r=$(raw_post /v1/contacts "$CONTACT" -H 'Content-Type: application/json' -H "X-Charter-Gateway: $GATEWAY_ID" \
  -H "X-Charter-Signature: $(sign /v1/contacts "$CONTACT" "$GATEWAY_KEY" $(( $(date +%s) + 400 )))")
expect "$r" 401 stale_signature "timestamp 400 s in the future"
r=$(raw_post /v1/contacts '{"broken' -H 'Content-Type: application/json' -H "X-Charter-Gateway: $GATEWAY_ID" \
  -H "X-Charter-Signature: $(sign /v1/contacts '{"other"}')")
expect "$r" 401 bad_signature "malformed JSON with a bad signature (auth before parsing)"
r=$(raw_post /v1/contacts "$CONTACT" -H 'Content-Type: application/json' -H 'X-Charter-Gateway: rot' \
  -H "X-Charter-Signature: $(sign /v1/contacts "$CONTACT" "$ROTATED_KEY")")
[ "$(status "$r")" = 202 ] || fail "gateway 'rot' signing with its second key: expected 202, got: $r"
pass "a gateway's second key (rotation) is accepted -> 202"
grep -qF "$GATEWAY_KEY" "$WORK/ingest.log" && fail "the ingest log contains a gateway key"
grep -qF "$ROTATED_KEY" "$WORK/ingest.log" && fail "the ingest log contains a gateway key"
pass "no gateway key in the ingest log"

# ---- signatures bound to method and path; organisations per gateway (review M10) ----
post_as() { # post_as GATEWAY SIGNATURE PATH BODY [CONTENT_TYPE] -> "STATUS BODY"
  raw_post "$3" "$4" -H "Content-Type: ${5:-application/json}" -H "X-Charter-Gateway: $1" -H "X-Charter-Signature: $2"
}
on_topic() { kcat -b "$BOOTSTRAP" -C -t "$TOPIC" -e -q -f '%s\n' 2>/dev/null | grep -c -F "$1" || true; }
r=$(post_json "$IN" /v1/contacts "${CONTACT/email/phone}")
[ "$(status "$r")" = 202 ] || fail "contact for case A: $r"
CASE_A=$(json_get "$(body "$r")" case_id)
r=$(post_json "$IN" /v1/contacts "${CONTACT/email/letter}")
[ "$(status "$r")" = 202 ] || fail "contact for case B: $r"
CASE_B=$(json_get "$(body "$r")" case_id)
# a body without gateway_message_id: the review's replay, which idempotency cannot catch
CLOSE="{\"type\":\"closed\",\"organisation\":\"nottingham-city-homes\",\"occurred_at\":\"$NOW\",\"outcome\":\"resolved\"}"
CAPTURED=$(sign "/v1/cases/$CASE_A/events" "$CLOSE")
r=$(post_as "$GATEWAY_ID" "$CAPTURED" "/v1/cases/$CASE_A/events" "$CLOSE")
[ "$(status "$r")" = 202 ] || fail "v2-signed event for case A: expected 202, got: $r"
expect "$(post_as "$GATEWAY_ID" "$CAPTURED" "/v1/cases/$CASE_B/events" "$CLOSE")" 401 bad_signature \
  "case A's captured v2 signature replayed to /v1/cases/B/events"
expect "$(post_as "$GATEWAY_ID" "$CAPTURED" "/v1/cases/$CASE_A/events?again=1" "$CLOSE")" 401 bad_signature \
  "the same signature with a query string added"
expect "$(post_as "$GATEWAY_ID" "$(sign /v1/contacts "$CONTACT")" /v1/events "$CONTACT")" 401 bad_signature \
  "a contact signed for /v1/contacts sent to /v1/events"
r=$(post_as "$GATEWAY_ID" "$(sign /v1/contacts?src=kiosk "$CONTACT")" /v1/contacts?src=kiosk "$CONTACT")
[ "$(status "$r")" = 202 ] || fail "a v2 signature over a path with its query string: expected 202, got: $r"
[ "$(count_records "$TOPIC" "$CASE_B")" = 1 ] || fail "the replay reached case B on the topic"
pass "v2 binds method, path and query: only case B's contact is on the topic for B"
# v1 (t and body only): refused unless the gateway has accept_v1=true
expect "$(post_as "$GATEWAY_ID" "$(sign_v1 "$CONTACT")" /v1/contacts "$CONTACT")" 401 v1_not_accepted \
  "a v1 signature from a gateway without accept_v1"
r=$(post_as legacy "$(sign_v1 "$CONTACT" "$LEGACY_KEY")" /v1/contacts "$CONTACT")
[ "$(status "$r")" = 202 ] || fail "a v1 signature from gateway 'legacy' (accept_v1=true): expected 202, got: $r"
BOTH="$(sign /v1/contacts "$CONTACT" "$LEGACY_KEY"),$(sign_v1 "$CONTACT" "$LEGACY_KEY" | cut -d, -f2)"
r=$(post_as legacy "$BOTH" /v1/contacts "$CONTACT")
[ "$(status "$r")" = 202 ] || fail "v2 and v1 together (the migration) from 'legacy': expected 202, got: $r"
expect "$(post_as legacy "$BOTH" /v1/events "$CONTACT")" 401 bad_signature \
  "v2 and v1 together to another path: v2 is checked even where v1 is accepted"
pass "v1 accepted from 'legacy' (accept_v1=true) alone and beside v2"
# organisations: 'narrow' may write for derby-homes and nihe only
NCH_MID="narrow-nch-$RANDOM$RANDOM"
NARROW="{\"organisation\":\"nottingham-city-homes\",\"channel\":\"email\",\"received_at\":\"$NOW\",\"gateway_message_id\":\"$NCH_MID\"}"
r=$(post_as narrow "$(sign /v1/contacts "$NARROW" "$NARROW_KEY")" /v1/contacts "$NARROW")
expect "$r" 403 organisation_not_allowed "gateway 'narrow' writing for nottingham-city-homes"
[ "$(json_get "$(body "$r")" error/field)" = organisation ] && grep -qF "nottingham-city-homes" <<<"$r" ||
  fail "the 403 does not name the field and the organisation: $r"
r=$(post_as nolist "$(sign /v1/contacts "$NARROW" "$NARROW_KEY")" /v1/contacts "$NARROW")
expect "$r" 403 organisation_not_allowed "gateway 'nolist' (no orgs=: none) writing for anyone"
OK_BODY="${NARROW/nottingham-city-homes/derby-homes}"
OK_BODY="${OK_BODY/$NCH_MID/narrow-ok-$RANDOM$RANDOM}"
r=$(post_as narrow "$(sign /v1/contacts "$OK_BODY" "$NARROW_KEY")" /v1/contacts "$OK_BODY")
[ "$(status "$r")" = 202 ] || fail "gateway 'narrow' writing for derby-homes: expected 202, got: $r"
LINES="{\"type\":\"received\",${OK_BODY#\{}
{\"type\":\"received\",${NARROW#\{}"
LINES="${LINES/narrow-ok-/narrow-ok-batch-}"
r=$(post_as narrow "$(sign /v1/events "$LINES" "$NARROW_KEY")" /v1/events "$LINES" application/x-ndjson)
[ "$(status "$r")" = 200 ] && [ "$(json_get "$(body "$r")" accepted)" = 1 ] && [ "$(json_get "$(body "$r")" refused)" = 1 ] ||
  fail "batch from 'narrow': expected 1 accepted and 1 refused, got: $r"
/usr/bin/python3 -c '
import json, sys
r = json.loads(sys.argv[1])["results"]
assert r[0]["status"] == 202, r
assert r[1]["status"] == 403 and r[1]["error"]["code"] == "organisation_not_allowed", r
assert "line 2" in r[1]["error"]["message"] and "nottingham-city-homes" in r[1]["error"]["message"], r
' "$(body "$r")" || fail "batch from 'narrow': line 2 is not 403 organisation_not_allowed naming it: $r"
pass "batch from 'narrow': line 1 (derby-homes) 202, line 2 (nottingham-city-homes) 403"
[ "$(on_topic "$NCH_MID")" = 0 ] || fail "an event refused 403 reached the topic"
pass "nothing refused 403 reached the topic"

# ---- 400, 413, 415, 422 ----
r=$(post_json "$IN" /v1/contacts $'{\n "organisation": "nch",\n "channel": ,\n}')
expect "$r" 400 invalid_json "malformed JSON"
grep -q 'line 3' <<<"$r" || fail "400 does not name line 3: $r"
BIG="{\"organisation\":\"nottingham-city-homes\",\"channel\":\"email\",\"received_at\":\"$NOW\",\"summary\":\"$(head -c 5000 /dev/zero | tr '\0' x)\"}"
expect "$(post_json "$IN" /v1/contacts "$BIG")" 413 body_too_large "body over ingest.max_body_bytes"
BATCH=$(for i in $(seq 1 21); do echo "$CONTACT"; done)
expect "$(post_json "$IN" /v1/events "$BATCH" application/x-ndjson)" 413 batch_too_large "21 lines over ingest.max_batch_lines"
expect "$(post_json "$IN" /v1/contacts "$CONTACT" text/plain)" 415 unsupported_media_type "text/plain"
expect "$(post_json "$IN" /v1/contacts '{"organisation":"nottingham-city-homes","channel":"email"}')" \
  422 missing_field "missing received_at"
expect "$(post_json "$IN" /v1/contacts "{\"organisation\":\"nottingham-city-homes\",\"channel\":5,\"received_at\":\"$NOW\"}")" \
  422 wrong_type "channel is a number"
expect "$(post_json "$IN" /v1/contacts "${CONTACT%\}},\"priority\":1}")" 422 unknown_field "unknown field"
expect "$(post_json "$IN" /v1/contacts "${CONTACT/email/fax}")" 422 unknown_channel "unknown channel"
expect "$(post_json "$IN" /v1/contacts "${CONTACT/nottingham-city-homes/atlantis}")" 422 unknown_organisation "unknown organisation"
# reliability review H1: an address that would add a second RCPT TO at the mail server
INJECT="{\"organisation\":\"nottingham-city-homes\",\"channel\":\"email\",\"received_at\":\"$NOW\",
  \"customer\":{\"name\":\"Mallory\",\"email\":\"m@example.org>\\r\\nRCPT TO:<x@evil.example\"}}"
r=$(post_json "$IN" /v1/contacts "$INJECT")
[ "$(json_get "$(body "$r")" error/field)" = customer.email ] || fail "the refusal does not name customer.email: $r"
expect "$r" 422 invalid_value "an e-mail address carrying CR LF and RCPT TO"
expect "$(post_json "$IN" /v1/cases/c1/events "{\"type\":\"reopened\",\"organisation\":\"derby-homes\",\"occurred_at\":\"$NOW\"}")" \
  422 unknown_event_type "unknown event type"
expect "$(post_json "$IN" /v1/cases/c1/events "{\"type\":\"call\",\"status\":\"on_hold\",\"organisation\":\"derby-homes\",\"occurred_at\":\"$NOW\"}")" \
  422 invalid_value "call status not in the list"
n=$(count_records "$TOPIC" c1)
[ "$n" = 0 ] || fail "refused events reached the topic ($n records keyed c1)"
pass "nothing refused reached the topic"

# ---- every case event type ----
r=$(post_json "$IN" /v1/contacts "{\"organisation\":\"nihe\",\"channel\":\"phone\",\"received_at\":\"$NOW\",\"case_type\":\"complaint_stage_1\"}")
[ "$(status "$r")" = 202 ] || fail "contact for the event types: $r"
CASE=$(json_get "$(body "$r")" case_id)
r=$(post_json "$IN" /v1/contacts "{\"organisation\":\"nihe\",\"channel\":\"phone\",\"received_at\":\"$NOW\",\"case_type\":\"complaint_stage_2\",\"parent_case_id\":\"$CASE\"}")
[ "$(status "$r")" = 202 ] || fail "stage 2 contact: $r"
STAGE2=$(json_get "$(body "$r")" case_id)
declare -A FIELDS=(
  [acknowledged]='"by":"automatic","channel":"email"'
  [holding_reply]='"new_target_at":"2026-12-10T17:00:00Z","reason":"awaiting_contractor"'
  [paused]='"reason":"awaiting_clarification"'
  [resumed]='"restart_clock":true'
  [responded]='"channel":"letter","full_response":true'
  [escalated]="\"new_case_id\":\"$STAGE2\",\"to_stage\":2,\"reason\":\"dissatisfied\""
  [appointment]='"status":"booked","starts_at":"2026-11-30T10:00:00Z","appointment_id":"A1"'
  [call]='"status":"answered","wait_seconds":17,"rings":3'
  [visit]='"status":"seen","appointment_at":"2026-11-24T09:50:00Z"'
  [communication_support]='"kind":"bsl"'
  [satisfaction]='"score":4,"max_score":5'
  [closed]='"outcome":"upheld"'
)
TYPES=(acknowledged holding_reply paused resumed responded escalated appointment call visit communication_support satisfaction closed)
for t in "${TYPES[@]}"; do
  r=$(post_json "$IN" "/v1/cases/$CASE/events" "{\"type\":\"$t\",\"organisation\":\"nihe\",\"occurred_at\":\"$NOW\",${FIELDS[$t]}}")
  [ "$(status "$r")" = 202 ] || fail "event $t: expected 202, got: $r"
done
mapfile -t locs < <(kcat -b "$BOOTSTRAP" -C -t "$TOPIC" -e -q -f '%k %p %o\n' | awk -v k="$CASE" '$1 == k { print $2, $3 }')
[ "${#locs[@]}" = 13 ] || fail "expected 13 records for case $CASE (received + 12 events), found ${#locs[@]}"
i=0
for t in received "${TYPES[@]}"; do
  txt=$(decode_record "$TOPIC" ${locs[$i]} CaseEvent)
  grep -q "^$t {" <<<"$txt" || fail "record $i of case $CASE is not '$t' (order kept?): $txt"
  grep -qF "source: \"http:$GATEWAY_ID\"" <<<"$txt" || fail "record $i lacks source http:$GATEWAY_ID: $txt"
  i=$((i + 1))
done
txt=$(decode_record "$TOPIC" ${locs[6]} CaseEvent)
grep -qF "new_case_id: \"$STAGE2\"" <<<"$txt" && grep -qF 'to_stage: 2' <<<"$txt" ||
  fail "escalated does not link the stage 2 case: $txt"
loc=$(find_record "$TOPIC" "$STAGE2")
grep -qF "parent_case_id: \"$CASE\"" <<<"$(decode_record "$TOPIC" $loc CaseEvent)" ||
  fail "stage 2 contact does not link the stage 1 case"
pass "all 12 case event types accepted, on the topic in order, decoded by protoc; stage 2 linked both ways"

# ---- NDJSON batch ----
BATCH="{\"type\":\"received\",\"organisation\":\"derby-homes\",\"channel\":\"sms\",\"received_at\":\"$NOW\",\"gateway_message_id\":\"batch-1\"}
{\"type\":\"acknowledged\",\"case_id\":\"$CASE\",\"organisation\":\"nihe\",\"occurred_at\":\"$NOW\"}

{\"type\":\"responded\",\"case_id\":\"$CASE\",\"organisation\":\"nihe\",\"occurred_at\":\"$NOW\",\"channel\":\"pigeon\"}
{\"type\":\"closed\",
{\"type\":\"closed\",\"case_id\":\"$CASE\",\"organisation\":\"nihe\",\"occurred_at\":\"$NOW\"}"
r=$(post_json "$IN" /v1/events "$BATCH" application/x-ndjson)
[ "$(status "$r")" = 200 ] || fail "batch: expected 200, got: $r"
b=$(body "$r")
python3 - "$b" <<'PY' || fail "batch answer is not as expected: $b"
import json, sys
a = json.loads(sys.argv[1])
res = {x["line"]: x for x in a["results"]}
assert sorted(res) == [1, 2, 4, 5, 6], res
assert res[1]["status"] == 202 and res[1]["reference"].startswith("DH-"), res[1]
assert res[2]["status"] == 202 and res[6]["status"] == 202
assert res[4]["status"] == 422 and res[4]["error"]["code"] == "unknown_channel"
assert res[4]["error"]["field"] == "channel" and res[4]["error"]["message"].startswith("line 4:")
assert res[5]["status"] == 400 and res[5]["error"]["code"] == "invalid_json"
assert res[5]["error"]["message"].startswith("line 5:")
assert (a["accepted"], a["refused"], a["duplicates"], a["unavailable"]) == (3, 2, 0, 0), a
PY
n=$(count_records "$TOPIC" "$CASE")
[ "$n" = 15 ] || fail "after the batch case $CASE should have 15 records, has $n"
last=$(kcat -b "$BOOTSTRAP" -C -t "$TOPIC" -e -q -f '%k %p %o\n' | awk -v k="$CASE" '$1 == k { l = $2 " " $3 } END { print l }')
grep -q '^closed {' <<<"$(decode_record "$TOPIC" $last CaseEvent)" || fail "batch lines not produced in order"
pass "NDJSON batch: per-line results (202, 422 and 400 naming lines 4 and 5), blank line skipped, order kept"

# ---- idempotency ----
DEDUPE="{\"organisation\":\"customer-care-council\",\"channel\":\"letter\",\"received_at\":\"$NOW\",\"gateway_message_id\":\"crm-msg-001\"}"
r1=$(post_json "$IN" /v1/contacts "$DEDUPE")
[ "$(status "$r1")" = 202 ] || fail "first post of crm-msg-001: $r1"
r2=$(post_json "$IN" /v1/contacts "$DEDUPE")
[ "$(status "$r2")" = 200 ] && [ "$(json_get "$(body "$r2")" duplicate)" = True ] || fail "repeat of crm-msg-001: expected 200 duplicate, got: $r2"
for f in case_id reference event_id; do
  [ "$(json_get "$(body "$r1")" $f)" = "$(json_get "$(body "$r2")" $f)" ] || fail "repeat answered a different $f: $r1 vs $r2"
done
D_CASE=$(json_get "$(body "$r1")" case_id)
n=$(count_records "$TOPIC" "$D_CASE")
[ "$n" = 1 ] || fail "crm-msg-001 produced $n records, expected 1"
r=$(post_json "$IN" /v1/events "$(printf '%s\n' "${DEDUPE%\}},\"type\":\"received\"}")" application/x-ndjson)
grep -qF "\"case_id\":\"$D_CASE\"" <<<"$r" && grep -qF '"duplicates":1' <<<"$r" || fail "repeat in a batch not recognised: $r"
EV="{\"type\":\"acknowledged\",\"organisation\":\"nihe\",\"occurred_at\":\"$NOW\",\"gateway_message_id\":\"crm-ack-9\"}"
r1=$(post_json "$IN" "/v1/cases/$CASE/events" "$EV")
r2=$(post_json "$IN" "/v1/cases/$CASE/events" "$EV")
[ "$(status "$r1")" = 202 ] && [ "$(status "$r2")" = 200 ] || fail "event dedupe: $r1 / $r2"
[ "$(count_records "$TOPIC" "$CASE")" = 16 ] || fail "a repeated case event reached the topic"
pass "repeated gateway_message_id: original case id, reference and event id returned (200), nothing produced"

# ---- the claims of one batch, one line a repeat of an earlier one ----
# A batch's lines start in one loop turn and their claims reach Redis together;
# each line is claimed after the lines before it, so a repeat of an earlier
# line finds its pending claim (409) and only the first is written; the
# references of one organisation come out in line order.
TURN="{\"type\":\"received\",\"organisation\":\"derby-homes\",\"channel\":\"sms\",\"received_at\":\"$NOW\",\"gateway_message_id\":\"turn-1\"}
{\"type\":\"received\",\"organisation\":\"derby-homes\",\"channel\":\"sms\",\"received_at\":\"$NOW\",\"gateway_message_id\":\"turn-2\"}
{\"type\":\"received\",\"organisation\":\"derby-homes\",\"channel\":\"sms\",\"received_at\":\"$NOW\",\"gateway_message_id\":\"turn-1\"}
{\"type\":\"received\",\"organisation\":\"nihe\",\"channel\":\"sms\",\"received_at\":\"$NOW\",\"gateway_message_id\":\"turn-3\"}
{\"type\":\"received\",\"organisation\":\"derby-homes\",\"channel\":\"sms\",\"received_at\":\"$NOW\",\"gateway_message_id\":\"turn-4\"}"
r=$(post_json "$IN" /v1/events "$TURN" application/x-ndjson)
[ "$(status "$r")" = 200 ] || fail "claims of one turn: expected 200, got: $r"
python3 - "$(body "$r")" <<'PY' || fail "claims of one turn: the answer is not as expected: $r"
import json, sys
a = json.loads(sys.argv[1])
res = {x["line"]: x for x in a["results"]}
assert [res[i]["status"] for i in range(1, 6)] == [202, 202, 409, 202, 202], res
assert res[3]["error"]["code"] == "in_progress" and res[3]["error"]["field"] == "gateway_message_id", res[3]
refs = [res[i]["reference"] for i in (1, 2, 5)]
assert all(r.startswith("DH-") for r in refs) and len(set(refs)) == 3, refs
assert [int(r[-6:]) for r in refs] == sorted(int(r[-6:]) for r in refs), refs
assert len({res[i]["case_id"] for i in (1, 2, 4, 5)}) == 4, res
PY
T1_CASE=$(python3 -c 'import json,sys; print({x["line"]: x for x in json.loads(sys.argv[1])["results"]}[1]["case_id"])' "$(body "$r")")
[ "$(count_records "$TOPIC" "$T1_CASE")" = 1 ] || fail "turn-1 (sent twice in one batch) is not on the topic exactly once"
turn1_done() { [ "$(redis-cli -p "$REDIS_PORT" get "charter:idem:{derby-homes}:$GATEWAY_ID:turn-1" | cut -c1-2)" = 'D|' ]; }
wait_until 10 turn1_done || fail "turn-1's claim did not end D: $(redis-cli -p "$REDIS_PORT" get "charter:idem:{derby-homes}:$GATEWAY_ID:turn-1")"
r=$(post_json "$IN" /v1/events "$(head -1 <<<"$TURN")" application/x-ndjson)
grep -qF "\"case_id\":\"$T1_CASE\"" <<<"$r" && grep -qF '"duplicates":1' <<<"$r" || fail "turn-1 repeated later: $r"
pass "claims of one batch: a repeat of an earlier line 409, references in line order, the first on the topic once, then 200"

# ---- a gateway topic on Kafka ----
GW_TOPIC=charter.gateway.sms.v1
printf '%s\n' "{\"type\":\"received\",\"organisation\":\"digital-first-council\",\"channel\":\"sms\",\"received_at\":\"$NOW\",\"gateway_message_id\":\"sms-77\",\"customer\":{\"phone\":\"07700900999\"},\"summary\":\"Bin not collected at 4 Elm Road\"}" |
  kcat -b "$BOOTSTRAP" -P -t "$GW_TOPIC" -k sms-77
printf '%s\n' 'not json at all' | kcat -b "$BOOTSTRAP" -P -t "$GW_TOPIC" -k sms-bad-1
printf '%s\n' "{\"type\":\"received\",\"organisation\":\"digital-first-council\",\"channel\":\"pager\",\"received_at\":\"$NOW\",\"customer\":{\"phone\":\"07700900888\"}}" |
  kcat -b "$BOOTSTRAP" -P -t "$GW_TOPIC" -k sms-bad-2
# a case type the organisation does not take ("complaint", not complaint_stage_1)
printf '%s\n' "{\"type\":\"received\",\"organisation\":\"digital-first-council\",\"channel\":\"sms\",\"received_at\":\"$NOW\",\"case_type\":\"complaint\"}" |
  kcat -b "$BOOTSTRAP" -P -t "$GW_TOPIC" -k sms-bad-3
from_gateway() { kcat -b "$BOOTSTRAP" -C -t "$TOPIC" -e -q -f '%p %o\n' 2>/dev/null | while read -r p o; do decode_record "$TOPIC" "$p" "$o" CaseEvent; done | grep -c 'source: "kafka:sms"' || true; }
has_gateway_event() { [ "$(kcat -b "$BOOTSTRAP" -C -t "$TOPIC" -e -q -f '%s\n' 2>/dev/null | grep -c 'sms-77')" -ge 1 ]; }
wait_until 90 has_gateway_event || fail "the gateway topic's record did not become a case event within 90 s"
[ "$(from_gateway)" = 1 ] || fail "expected exactly one event with source kafka:sms"
dlq_ingest() { kcat -b "$BOOTSTRAP" -C -t charter.dlq.v1 -e -q -f '%k %p %o\n' 2>/dev/null | awk 'index($1, "ingest/") == 1'; }
dlq_three() { [ "$(dlq_ingest | wc -l)" -ge 3 ]; }
wait_until 20 dlq_three || fail "the three bad gateway records are not on charter.dlq.v1"
reasons=""
while read -r _ p o; do
  txt=$(decode_record charter.dlq.v1 "$p" "$o" DeadLetter)
  grep -qF "source_topic: \"$GW_TOPIC\"" <<<"$txt" || fail "dead letter lacks its source topic: $txt"
  reasons+=$(grep -o 'reason: .*' <<<"$txt")$'\n'
done < <(dlq_ingest)
grep -q 'invalid_json' <<<"$reasons" && grep -qE "unknown_channel \(field [^a-z]{1,2}channel" <<<"$reasons" &&
  grep -qE "unknown_case_type \(field [^a-z]{1,2}case_type" <<<"$reasons" ||
  fail "dead-letter reasons are not the parse errors and the unknown case type: $reasons"
# The bad records sit on different partitions of the gateway topic, so their
# dead letters may come in either order: look for the original bytes in any.
originals=""
while read -r _ p o; do
  originals+=$(decode_record charter.dlq.v1 "$p" "$o" DeadLetter | grep -o 'original_value: .*')$'\n'
done < <(dlq_ingest)
grep -q 'original_value: "not json at all' <<<"$originals" || fail "dead letter lacks the original bytes: $originals"
for secret in 7700900999 07700900888 'Elm Road'; do # the first as ingest writes it, +447700900999
  grep -qF "$secret" "$WORK/ingest.log" && fail "personal data ($secret) in the ingest log"
done
pass "gateway topic: the good record became an event (source kafka:sms), bad ones (a case type the organisation does not take among them) dead-lettered with reasons; no personal data logged"
# the gateway 'sms' may write for digital-first-council only (orgs= in the gateways file)
printf '%s\n' "{\"type\":\"received\",\"organisation\":\"nottingham-city-homes\",\"channel\":\"sms\",\"received_at\":\"$NOW\",\"gateway_message_id\":\"sms-other-org\"}" |
  kcat -b "$BOOTSTRAP" -P -t "$GW_TOPIC" -k sms-other-org
dlq_org() {
  local p o
  while read -r _ p o; do
    decode_record charter.dlq.v1 "$p" "$o" DeadLetter | qgrep "organisation_not_allowed (field .\{1,2\}organisation" && return 0
  done < <(dlq_ingest)
  return 1
}
wait_until 20 dlq_org || fail "the gateway topic's record for an organisation 'sms' may not write for was not dead-lettered organisation_not_allowed"
[ "$(on_topic sms-other-org)" = 0 ] || fail "a gateway record for an organisation not allowed reached the topic"
pass "gateway topic: a record for an organisation not in the gateway's orgs= dead-lettered (organisation_not_allowed), nothing on the topic"

# ---- 503 while Kafka is down ----
curl -fsS -X POST "http://$BROKER_CONTROL/brokers/down" >/dev/null || fail "broker control endpoint"
kafka_down() { [ "$(readyz_field "$IN" kafka)" = False ]; }
wait_until 15 kafka_down || fail "ingest's /readyz did not notice the broker going down"
start_ms=$(date +%s%3N)
r=$(post_json "$IN" /v1/contacts "$CONTACT")
ms=$(( $(date +%s%3N) - start_ms ))
[ "$(status "$r")" = 503 ] || fail "with the broker down: expected 503, got: $r"
curl -sS -o /dev/null -D "$WORK/h.txt" -X POST -H 'Content-Type: application/json' -H "X-Charter-Gateway: $GATEWAY_ID" \
  -H "X-Charter-Signature: $(sign /v1/contacts "$CONTACT")" --data-binary "$CONTACT" "$URL/v1/contacts"
grep -qi '^Retry-After: ' "$WORK/h.txt" || fail "503 without Retry-After"
# (how fast is reported, not asserted: speed belongs to benchmarks)
curl -fsS -X POST "http://$BROKER_CONTROL/brokers/up" >/dev/null
wait_ready ingest
pass "broker down: 503 with Retry-After in $ms ms"

# ---- fault test: broker down and up in the middle of a load ----
python3 - "$URL" "$GATEWAY_ID" "$GATEWAY_KEY" "$WORK/load.json" "$WORK/load.started" <<'PY' &
import hashlib, hmac, json, sys, threading, time, urllib.request, urllib.error
url, gw, key, out, started = sys.argv[1:6]
now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
results, lock = {}, threading.Lock()
stop_new = time.time() + 10          # new messages for 10 s
deadline = time.time() + 45          # retries until then
def post(body):
    t = str(int(time.time()))
    sig = hmac.new(key.encode(), (t + ".POST./v1/contacts." + body).encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request(url + "/v1/contacts", data=body.encode(), method="POST", headers={
        "Content-Type": "application/json", "X-Charter-Gateway": gw,
        "X-Charter-Signature": "t=%s,v2=%s" % (t, sig)})
    t0 = time.time()
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, json.loads(r.read()), time.time() - t0
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}"), time.time() - t0
def worker(w):
    i = 0
    while time.time() < stop_new:
        mid = "load-%d-%d" % (w, i); i += 1
        body = json.dumps({"organisation": "derby-homes", "channel": "online_form",
                           "received_at": now, "gateway_message_id": mid})
        tries = []
        while time.time() < deadline:
            st, ans, secs = post(body)
            tries.append([st, round(secs, 3), ans.get("case_id")])
            if st in (200, 202):
                break
            time.sleep(0.3)
        with lock:
            results[mid] = tries
        open(started, "w").write("1")
ts = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
json.dump(results, open(out, "w"))
PY
LOAD_PID=$!
PIDS+=("$LOAD_PID")
wait_until 10 test -s "$WORK/load.started" || fail "load client did not start"
sleep 2
unavailable() { curl -fsS "$URL/metrics" | awk '$1 == "charter_ingest_unavailable_total" { print int($2) }'; }
U0=$(unavailable)
curl -fsS -X POST "http://$BROKER_CONTROL/brokers/down" >/dev/null || fail "broker down"
log "broker down (mid-load)"
# Down until ingest has noticed (its /readyz) and has answered a load request
# 503, then 1 s more: on a loaded machine librdkafka can take longer than a
# fixed 5 s to report every broker down, and the four clients can all be
# waiting on requests sent before the outage (answered 503 only after
# ingest.answer_timeout_ms, 5 s), so a fixed 2 s after /readyz once met no 503
# at all (under ASan). A load that never met the outage proves nothing.
wait_until 20 kafka_down || fail "ingest's /readyz did not notice the broker going down mid-load"
met_outage() { [ "$(unavailable)" -gt "${U0:-0}" ]; }
wait_until 30 met_outage || fail "no load request was answered 503 within 30 s of the outage"
sleep 1
curl -fsS -X POST "http://$BROKER_CONTROL/brokers/up" >/dev/null || fail "broker up"
log "broker up"
for _ in $(seq 1 600); do kill -0 "$LOAD_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$LOAD_PID" 2>/dev/null && fail "load client still running 60 s after the broker came back"
wait "$LOAD_PID" || fail "load client failed"
PB2="$WORK/pb2"
/usr/bin/python3 "$SRC/tests/integration/cases.py" pb2 "$SRC/proto" "$PB2" || fail "protoc python modules"
kcat -b "$BOOTSTRAP" -C -t "$TOPIC" -e -q -f '%R%s' |
  /usr/bin/python3 "$SRC/tests/integration/topic_read.py" "$PB2" CaseEvent >"$WORK/records.jsonl" ||
  fail "could not read $TOPIC"
curl -fsS "$URL/metrics" >"$WORK/metrics.txt" || fail "ingest /metrics"
python3 - "$WORK/load.json" "$WORK/records.jsonl" "$WORK/metrics.txt" <<'PY' || fail "fault test: see above"
import collections, json, sys
res = json.load(open(sys.argv[1]))
recs = [json.loads(l) for l in open(sys.argv[2])]
keys = collections.Counter(r.get("case_id") for r in recs)
events = collections.defaultdict(list)
for r in recs:
    events[r.get("case_id")].append(r.get("event_id"))
late = [int(float(l.split()[-1])) for l in open(sys.argv[3])
        if l.startswith("charter_ingest_late_writes_total ")]
n = len(res)
first_202 = [m for m, t in res.items() if t[0][0] == 202]
saw_503 = [m for m, t in res.items() if any(x[0] == 503 for x in t)]
unfinished = [m for m, t in res.items() if t[-1][0] not in (200, 202)]
slowest_503 = max([x[1] for t in res.values() for x in t if x[0] == 503] or [0])
print("fault test: %d messages, %d accepted first time, %d saw 503 and were retried, "
      "slowest 503 %.2f s" % (n, len(first_202), len(saw_503), slowest_503))
ok = True
def bad(msg):
    global ok
    ok = False
    print("FAIL: " + msg)
if n < 20: bad("only %d messages sent" % n)
if not saw_503: bad("no request got 503: the outage was not exercised")
if unfinished: bad("%d messages never accepted: %s" % (len(unfinished), unfinished[:5]))
# a request already in flight when the broker went down is answered 503
# after ingest.answer_timeout_ms (5 s) while its write goes on; every other
# one is refused at once.
# Speed is reported, not asserted (a shared 2-core machine makes timings
# noisy; benchmarks measure speed).
fast = sum(1 for t in res.values() for x in t if x[0] == 503 and x[1] < 0.5)
print("fault test: %d answers of 503 came in under 0.5 s" % fast)
cases = {}
for m, t in res.items():
    ids = {x[2] for x in t if x[0] in (200, 202)}
    if len(ids) != 1: bad("%s answered with case ids %s" % (m, ids)); continue
    cases[m] = ids.pop()
if len(set(cases.values())) != len(cases): bad("two messages share a case id")
# One message, one event. The embedded broker (librdkafka's mock cluster)
# checks producer sequence numbers only for a transactional producer
# (rd_kafka_mock_validate_records), so when it goes down after appending a
# batch but before answering, librdkafka's retry of that batch is appended
# again: the same record, the same event_id, which every consumer drops as
# a redelivery. That is counted and shown; a second write by ingest (a new
# event_id for one message) fails. The apache-kafka tier asserts that a real
# broker keeps none.
redelivered = 0
for m, c in cases.items():
    ids = set(events[c])
    if keys[c] == 0:
        bad("%s (case %s, answers %s) is not on the topic" % (m, c, [x[0] for x in res[m]]))
    elif len(ids) != 1:
        bad("%s (case %s, answers %s) is on the topic as %d events %s"
            % (m, c, [x[0] for x in res[m]], len(ids), sorted(ids)))
    else:
        redelivered += keys[c] - 1
print("fault test: %d records repeated by the embedded broker's retry (same event_id, "
      "dropped by consumers)" % redelivered)
# A write answered 503 that Kafka confirmed later: the retries got 409 while
# it was pending, then 200 with the original case id; ingest counts these.
confirmed_late = [m for m, t in res.items()
                  if t[-1][0] == 200 and any(x[0] == 503 for x in t)]
print("fault test: %d answered 503 and confirmed later (retries: 409 while pending, then 200 "
      "with the original case id); ingest's charter_ingest_late_writes_total %s"
      % (len(confirmed_late), late))
if late != [len(confirmed_late)]:
    bad("charter_ingest_late_writes_total %s, but %d messages got 200 after a 503"
        % (late, len(confirmed_late)))
total = sum(len(set(events[c])) for c in cases.values())
if total != n: bad("%d events on the topic for %d messages" % (total, n))
print("fault test: %d events on the topic for %d messages" % (total, n))
sys.exit(0 if ok else 1)
PY
pass "broker down and up mid-load: every 202 on the topic as exactly one event; 503s retried with the same message id never doubled"

# exits 0 on SIGTERM (under the sanitizer build, also without leaks)
stop_service ingest
echo "ingest: all checks passed"
