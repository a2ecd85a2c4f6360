#!/usr/bin/env bash
# Issue 17, the notices' channel and named contact, through the real services
# (ingest, notification; the shipped policies without their SMS quiet hours,
# the shipped templates; the file outbox and the print queue read back):
# - NCH "We'll let you know who's dealing with your enquiry": a letter's
#   holding reply goes to the print queue (on main: the file outbox, counted
#   as sent with "to":"") naming the Customer Service Team and its phone
#   number from the seed, never the owner's role title (on main: "Customer
#   Service Team adviser who owns the case is dealing with your enquiry");
#   once an `assigned` event names Jo Bloggs with a direct line, the next
#   notice names her and gives that line;
# - Derby "Maximise the use of email and SMS Text ... but use another method
#   if it is your preference": a letter's holding reply goes by email when
#   the customer gave an address (on main: by letter), by letter when they
#   prefer letters;
# - CCC "We will put a reference on your letters/e mails": a customer
#   template without {reference} stops notification's start-up naming the
#   file (on main: it started).
source "$(dirname "$0")/lib.sh"

start_redis
start_broker
POLICIES="$WORK/policies"
mkdir -p "$POLICIES"
for f in "$SRC"/policies/*.yaml; do grep -v '^sms_quiet_hours:' "$f" >"$POLICIES/$(basename "$f")"; done
OUTBOX="$WORK/outbox"
PRINT="$WORK/print"

# CCC promises a reference on every reply: a holding reply without one
# refuses start-up, naming the file.
NOREF="$WORK/noref-templates"
cp -r "$SRC/templates" "$NOREF"
sed -i 's/{reference}/our case/g' "$NOREF/default/holding_reply.any.en.txt"
if env CHARTER_REDIS_URL="$REDIS_URL" CHARTER_KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" \
  CHARTER_HTTP_LISTEN="127.0.0.1:$(free_port)" CHARTER_NOTIFY_OUTBOX_DIR="$OUTBOX" \
  CHARTER_NOTIFY_TEMPLATE_DIR="$NOREF" CHARTER_NOTIFY_POLICY_DIR="$POLICIES" timeout 20 \
  "$BUILD/services/notification/charter-notification" >"$WORK/noref.log" 2>&1; then
  fail "notification started with a customer template that lacks {reference}"
fi
grep -qF "default/holding_reply.any.en.txt: no {reference} in this customer template, but the policy of customer-care-council promises a reference on every reply" "$WORK/noref.log" ||
  fail "start-up error does not name the file and the promise: $(tail -n 3 "$WORK/noref.log")"
pass "reference_on_reply: a customer template without {reference} stops start-up, naming the file"

start_service ingest
start_service notification CHARTER_NOTIFY_OUTBOX_DIR="$OUTBOX" CHARTER_NOTIFY_PRINT_DIR="$PRINT" \
  CHARTER_NOTIFY_TEMPLATE_DIR="$SRC/templates" CHARTER_NOTIFY_POLICY_DIR="$POLICIES"
for s in ingest notification; do wait_ready "$s"; done
IN=${SVC_PORT[ingest]}
pass "ingest and notification ready with the shipped policies and templates"

NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
at() { date -u -d "@$(( $(date +%s) / 3600 * 3600 + $1 ))" +%Y-%m-%dT%H:%M:%SZ; }
contact() { # ORG CHANNEL CUSTOMER_JSON -> "CASE REF"
  local r
  r=$(post_json "$IN" /v1/contacts "{\"organisation\":\"$1\",\"channel\":\"$2\",\"received_at\":\"$NOW\",\"customer\":$3}")
  [ "${r%% *}" = 202 ] || fail "POST $1 $2 contact: $r"
  echo "$(json_get "${r#* }" case_id) $(json_get "${r#* }" reference)"
}
event() { # CASE ORG JSON-FIELDS
  case_event "$1" "{\"organisation\":\"$2\",\"occurred_at\":\"$NOW\",$3}"
}
hold() { # CASE ORG NEW_TARGET
  event "$1" "$2" "\"type\":\"holding_reply\",\"new_target_at\":\"$3\",\"reason\":\"We are waiting for a report from our repairs team.\",\"next_steps\":\"We will visit to check the work.\""
}
secs() { date -u -d "$1" +%s; }
letter() { echo "$PRINT/$1/${2}_holding_reply_$(secs "$3").txt"; }
line_of() { grep -hF "\"notification_id\":\"$1/$2\"" "$OUTBOX"/*.jsonl 2>/dev/null | head -n 1; }
has() { [ -n "$(line_of "$1" "$2")" ]; }

read -r NL NL_REF <<<"$(contact nottingham-city-homes letter '{"name":"Ann Example","postal_address":"1 Example Road, Nottingham NG1 1AA"}')"
read -r DE DE_REF <<<"$(contact derby-homes letter '{"name":"Bob Example","email":"bob@example.org","postal_address":"2 Example Road, Derby DE1 1AA"}')"
read -r DP DP_REF <<<"$(contact derby-homes letter '{"name":"Cat Example","email":"cat@example.org","postal_address":"3 Example Road, Derby DE1 1AA","preferred_channel":"letter"}')"
for c in "$NL" "$DE" "$DP"; do [ -n "$c" ] || fail "a contact was refused"; done
HOLD1=$(at $((10 * 86400 + 17 * 3600)))
HOLD2=$(at $((12 * 86400 + 17 * 3600)))
sleep 2

# ---- NCH letter: the print queue, the team and its number before anyone is assigned.
hold "$NL" nottingham-city-homes "$HOLD1"
f=$(letter nottingham-city-homes "$NL" "$HOLD1")
wait_until 15 test -s "$f" || fail "the NCH letter's holding reply is not in the print queue: $(ls -R "$PRINT" 2>&1; cat "$OUTBOX"/*.jsonl 2>/dev/null)"
expect_in "$(cat "$f")" "the NCH letter" "1 Example Road" "Nottingham NG1 1AA" "Reference: $NL_REF" \
  "Dealing with your enquiry: Customer Service Team." "0115 915 2222" "feedback@nottinghamcity.gov.uk"
grep -qiF "who owns the case" "$f" && fail "the NCH letter names a role title as a person: $(cat "$f")"
has "$NL" "holding_reply/$(secs "$HOLD1")" && fail "the letter also went to the file outbox"
pass "NCH letter's holding reply in the print queue, naming the Customer Service Team and 0115 915 2222"

# ---- assigned: the person and their direct line.
event "$NL" nottingham-city-homes '"type":"assigned","name":"Jo Bloggs","team":"Lettings","phone":"0115 876 5432","email":"jo.bloggs@example.org"'
hold "$NL" nottingham-city-homes "$HOLD2"
f=$(letter nottingham-city-homes "$NL" "$HOLD2")
wait_until 15 test -s "$f" || fail "the second holding reply is not in the print queue: $(ls -R "$PRINT")"
expect_in "$(cat "$f")" "the letter after assignment" "Dealing with your enquiry: Jo Bloggs (Lettings)." \
  "0115 876 5432 or jo.bloggs@example.org"
grep -qF "0115 915 2222" "$f" && fail "the letter after assignment gives the team's number, not Jo's: $(cat "$f")"
pass "after assigned: the holding reply names Jo Bloggs (Lettings) and her direct line"

# ---- Derby: email and SMS first, unless the customer prefers letters.
hold "$DE" derby-homes "$HOLD1"
id="holding_reply/$(secs "$HOLD1")"
wait_until 15 has "$DE" "$id" || fail "no holding reply for the Derby letter $DE_REF: $(ls -R "$PRINT")"
l=$(line_of "$DE" "$id")
[ "$(json_get "$l" channel)" = email ] && [ "$(json_get "$l" to)" = bob@example.org ] ||
  fail "the Derby letter was not answered by email: $l"
# Derby: "If we need to take longer ... we'll tell you why and what the next steps are"
expect_in "$(json_get "$l" text)" "the Derby holding reply" "Why: We are waiting for a report from our repairs team." \
  "What happens next: We will visit to check the work."
test -e "$(letter derby-homes "$DE" "$HOLD1")" && fail "the Derby letter was also printed"
pass "Derby letter with an email address: the holding reply goes by email to bob@example.org, with why and what happens next"
hold "$DP" derby-homes "$HOLD1"
f=$(letter derby-homes "$DP" "$HOLD1")
wait_until 15 test -s "$f" || fail "the Derby customer who prefers letters got none: $(cat "$OUTBOX"/*.jsonl)"
expect_in "$(cat "$f")" "the Derby letter" "3 Example Road" "Reference: $DP_REF"
pass "Derby customer who prefers letters: the holding reply is printed"

for s in ingest notification; do stop_service "$s"; done
echo "charters_notices: all checks passed"
