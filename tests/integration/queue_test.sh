#!/usr/bin/env bash
# The manager's work queue and case pages through the real services: real
# redis-server, the embedded broker, ingest, sla-timer, notification and
# reporting, with a short test charter (acknowledge within 6 seconds, reply
# within an hour). Cases are posted so that some are overdue now and one is
# due within the hour; two get `assigned` events (owner and team); a
# customer message is written to the topic with kcat (encoded by protoc);
# one case is closed. Checked: GET /v1/cases (statuses, owners, local times
# without milliseconds, soonest first, the closed case gone), the HTML
# queue (tables with headers, links to case pages, no script), a case page
# (events, clocks explained with their policy lines, notices, the message),
# 404 for an unknown reference, and charterctl timers and deadline by
# reference; the dashboard's summary; staff alerts by SMTP to
# {organisation}-{role} addresses.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notification_lib.sh"

start_redis
start_broker
start_smtp_sink 0
POLICIES="$WORK/policies"
mkdir -p "$POLICIES"
policy_yaml queue-test "Queue Test Council" QT "6 seconds" "1 hours" \
  says="We reply within an hour." role=owner:Case\ owner role=manager:Service\ manager \
  warning=50%:owner warning=breach:manager >"$POLICIES/queue-test.yaml"
start_service ingest CHARTER_INGEST_POLICY_DIR="$POLICIES"
start_service sla-timer CHARTER_SLA_POLICY_DIR="$POLICIES"
# Staff alerts by SMTP to the organisation's own mailboxes: {organisation}
# in the pattern.
start_service notification CHARTER_NOTIFY_OUTBOX_DIR="$WORK/outbox" \
  CHARTER_NOTIFY_TEMPLATE_DIR="$SRC/templates" CHARTER_NOTIFY_POLICY_DIR="$POLICIES" \
  CHARTER_NOTIFY_STAFF_TRANSPORT=smtp "CHARTER_NOTIFY_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT" \
  CHARTER_NOTIFY_SMTP_FROM=noreply@council.example \
  CHARTER_NOTIFY_STAFF_EMAIL='{organisation}-{role}@alerts.example'
start_service reporting CHARTER_REPORT_POLICY_DIR="$POLICIES"
for s in ingest sla-timer notification reporting; do wait_ready "$s"; done
pass "all four services ready"
IN=${SVC_PORT[ingest]}
REPORT=${SVC_PORT[reporting]}
O=queue-test
ago() { date -u -d "@$(($(date +%s) - $1))" +%Y-%m-%dT%H:%M:%SZ; }

post() { # RECEIVED_AT -> "case_id reference"
  local r
  r=$(post_json "$IN" /v1/contacts "{\"organisation\":\"$O\",\"channel\":\"email\",\"received_at\":\"$1\",\"customer\":{\"email\":\"a@example.org\"}}")
  [ "${r%% *}" = 202 ] || fail "POST /v1/contacts: $r"
  echo "$(json_get "${r#* }" case_id) $(json_get "${r#* }" reference)"
}
read -r C1 R1 <<<"$(post "$(ago 10800)")" # due 2 hours ago
read -r C2 R2 <<<"$(post "$(ago 7200)")"  # due 1 hour ago
read -r C3 R3 <<<"$(post "$(ago 600)")"   # due in 50 minutes
read -r C4 R4 <<<"$(post "$(ago 5400)")"  # due 30 minutes ago; closed below
case_event "$C1" "{\"type\":\"assigned\",\"organisation\":\"$O\",\"occurred_at\":\"$(ago 9000)\",\"name\":\"Sam Jones\",\"team\":\"Repairs\"}"
case_event "$C1" "{\"type\":\"assigned\",\"organisation\":\"$O\",\"occurred_at\":\"$(ago 8000)\",\"name\":\"Jo Bloggs\",\"team\":\"Repairs\"}"
case_event "$C3" "{\"type\":\"assigned\",\"organisation\":\"$O\",\"occurred_at\":\"$(ago 300)\",\"name\":\"Ann Lee\",\"team\":\"Lettings\"}"
case_event "$C4" "{\"type\":\"closed\",\"organisation\":\"$O\",\"occurred_at\":\"$(ago 60)\",\"outcome\":\"resolved\"}"
pass "four cases posted: $R1 $R2 $R3 $R4"

# A customer message on case 2, as ingest's mail listener writes it: encoded
# by protoc from the .proto files and produced with kcat.
protoc --encode=charter.v1.CaseEvent -I "$SRC/proto" "$SRC"/proto/charter/v1/*.proto >"$WORK/msg.bin" <<EOF
event_id: "msg-1" case_id: "$C2" organisation: "$O" source: "mail"
occurred_at { seconds: $(($(date +%s) - 100)) }
customer_message { channel: CHANNEL_EMAIL subject: "Any news?" summary: "Still waiting for the gutter." from: "a@example.org" }
EOF
kcat -b "$BOOTSTRAP" -P -t charter.contact.events.v1 -k "$C2" "$WORK/msg.bin" || fail "kcat could not write the message"

cases() { curl -fsS "http://127.0.0.1:$REPORT/v1/cases?organisation=$O&status=$1"; }
field() { /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(" ".join(str(c.get(sys.argv[2])) for c in d["cases"]))' "$1" "$2"; }
settled() {
  local j p
  j=$(cases open) || return 1
  [ "$(field "$j" reference)" = "$R1 $R2 $R3" ] || return 1
  [ "$(field "$j" owner)" = "Jo Bloggs  Ann Lee" ] || return 1
  p=$(curl -fsS "http://127.0.0.1:$REPORT/v1/cases/$R2") || return 1
  grep -q 'Any news' <<<"$p" && grep -q '"kind":"acknowledgement"' <<<"$p" && grep -q 'timer: breach' <<<"$p"
}
wait_until 60 settled || fail "queue did not settle: $(cases open); case 2: $(curl -sS "http://127.0.0.1:$REPORT/v1/cases/$R2")"
pass "open queue: $R1 $R2 $R3 soonest first, owners from the latest assigned event, closed $R4 gone"

j=$(cases overdue)
[ "$(field "$j" reference)" = "$R1 $R2" ] || fail "overdue: $j"
[ "$(field "$j" status)" = "overdue overdue" ] || fail "overdue statuses: $j"
grep -Eq '"time_left":"(2 hours|1 hour 5[0-9] minutes) overdue"' <<<"$j" || fail "time overdue in words: $j"
grep -Eq '"due_local":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\+0[01]:00"' <<<"$j" || fail "local due time: $j"
! grep -q '"due_local":"[^"]*\.[0-9]' <<<"$j" || fail "milliseconds in a due time: $j"
grep -q '"team":"Repairs"' <<<"$j" && grep -q '"says":"We reply within an hour."' <<<"$j" || fail "team and promise: $j"
pass "status=overdue: two overdue, in local time to the second, with the promise's words"

# Case 3 falls due in about 50 minutes: today, unless London's midnight
# comes first.
want=$(/usr/bin/python3 -c '
import datetime, zoneinfo, sys
z = zoneinfo.ZoneInfo("Europe/London")
now = datetime.datetime.now(z)
due = now + datetime.timedelta(minutes=50)
print("due_today" if due.date() == now.date() else "due_this_week")')
j=$(cases "$want")
[ "$(field "$j" reference)" = "$R3" ] && [ "$(field "$j" status)" = "$want" ] || fail "$want: $j"
grep -Eq '"time_left":"(4[0-9]|50) minutes left"' <<<"$j" || fail "time left: $j"
pass "status=$want: $R3, time left in words"

r=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$REPORT/v1/cases?organisation=$O&status=soon")
[ "$r" = 400 ] || fail "bad status: $r"

# ---- the HTML queue ----
h=$(curl -fsS "http://127.0.0.1:$REPORT/queue?organisation=$O")
expect_in "$h" "queue page" '<th scope="col">Reference</th>' '<th scope="col">Due</th>' \
  "<a href=\"/cases/$R1\">$R1</a>" "<a href=\"/cases/$R3\">$R3</a>" 'Repairs: Jo Bloggs' 'Lettings: Ann Lee' \
  'Not assigned' 'data-status="overdue"' 'overdue now,' 'lang="en-GB"'
! grep -qi '<script' <<<"$h" || fail "the queue page has a script"
! grep -q "$R4" <<<"$h" || fail "closed case $R4 on the queue page"
echo "$h" >"$WORK/queue.html"
pass "HTML queue: tables with column headers, grouped by team and owner, links to case pages, no script"

# ---- a case page ----
p=$(curl -fsS "http://127.0.0.1:$REPORT/v1/cases/$R1")
expect_in "$p" "case page JSON" '"type":"received"' '"type":"assigned"' '"by":"Jo Bloggs (Repairs)"' \
  '"owner":"Jo Bloggs"' '"label":"response due"' 'respond: 1 hours, line' '"label":"warning 1: owner"' \
  '(at: 50%, line' 'then the Service manager is alerted (at: breach, line' '"status":"open"'
p=$(curl -fsS "http://127.0.0.1:$REPORT/v1/cases/$R2")
expect_in "$p" "case 2 JSON" '"subject":"Any news?"' '"text":"Still waiting for the gutter."' \
  '"kind":"acknowledgement"' 'timer: breach'
h=$(curl -fsS "http://127.0.0.1:$REPORT/cases/$R1")
expect_in "$h" "case page HTML" "<h1>Case $R1</h1>" '<th scope="col">Event</th>' '<th scope="col">Why (the policy line)</th>' \
  'Jo Bloggs (Repairs)' 'Notices'
! grep -qi '<script' <<<"$h" || fail "the case page has a script"
pass "case page: events with who, every clock with its policy line, notices, the customer's message"

r=$(curl -sS -w ' %{http_code}' "http://127.0.0.1:$REPORT/cases/QT-2026-999999")
[ "${r##* }" = 404 ] && grep -q '<h1>Not found</h1>' <<<"$r" || fail "unknown reference, HTML: $r"
r=$(curl -sS -w ' %{http_code}' "http://127.0.0.1:$REPORT/v1/cases/QT-2026-999999")
[ "${r##* }" = 404 ] && grep -q '"code":"unknown_reference"' <<<"$r" || fail "unknown reference, JSON: $r"
pass "unknown reference: 404 page and JSON error"

# ---- the dashboard's summary, linking to the queue ----
d=$(curl -fsS "http://127.0.0.1:$REPORT/")
expect_in "$d" "dashboard" "<a href=\"/queue?organisation=$O\" data-queue-summary=\"$O\">Queue Test Council: 2 overdue now, "
pass "dashboard: one line per organisation linking to its queue ('2 overdue now, ...')"

# ---- staff alerts to the organisation's own mailbox ----
wait_until 30 grep -qF '"rcpt_tos": ["queue-test-manager@alerts.example"]' "$SMTP_LOG" ||
  fail "no breach alert to queue-test-manager@alerts.example: $(head -c 600 "$SMTP_LOG")"
grep -qF '"rcpt_tos": ["queue-test-owner@alerts.example"]' "$SMTP_LOG" || fail "no warning to queue-test-owner@alerts.example"
pass "staff alerts by SMTP to {organisation}-{role}@alerts.example: queue-test-manager@, queue-test-owner@"

# ---- charterctl by reference ----
CTL="$BUILD/tools/charterctl/charterctl"
t=$("$CTL" timers --case "$R1" --redis "$REDIS_URL") || fail "charterctl timers --case $R1: $t"
expect_in "$t" "charterctl timers --case $R1" "case $C1" "$R1" "breach" "overdue"
pass "charterctl timers --case $R1 resolves the reference and shows the fired breach"
r=0; t=$("$CTL" timers --case QT-2026-999999 --redis "$REDIS_URL" 2>&1) || r=$?
[ "$r" = 1 ] && grep -q 'no case with reference QT-2026-999999' <<<"$t" || fail "unknown reference in charterctl ($r): $t"
pass "charterctl: an unknown reference is an error, not '0 timers'"
t=$("$CTL" deadline --policy "$POLICIES/queue-test.yaml" --case "$R1" --redis "$REDIS_URL") || fail "charterctl deadline --case $R1: $t"
expect_in "$t" "charterctl deadline --case $R1" "case:     $R1, case id $C1" "channel email, case type enquiry" \
  "respond: 1 hours, line" "breach alert: manager"
pass "charterctl deadline --case $R1: every clock of the real case with its policy line"

if [ -n "${CHARTER_SCREENSHOTS:-}" ]; then
  for shot in "queue:/queue?organisation=$O" "case:/cases/$R1"; do
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,900 \
      --screenshot="$CHARTER_SCREENSHOTS/${shot%%:*}.png" "http://127.0.0.1:$REPORT${shot#*:}" >/dev/null 2>&1 || true
  done
fi
for s in reporting notification sla-timer ingest; do stop_service "$s"; done
