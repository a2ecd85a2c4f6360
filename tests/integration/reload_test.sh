#!/usr/bin/env bash
# Adding an organisation is a policy file and a reload, nothing else (issue
# 18): the four services run on one policy directory; a new organisation's
# policy (Ashdown District Council, references ADC-...) and its own
# acknowledgement template are added, and SIGHUP to each (what
# `systemctl reload charter-*` sends) makes
# - ingest accept its contacts (before: 422 unknown_organisation), also from
#   a gateway limited to named organisations once its gateways-file line
#   names ashdown too (the gateways file is read again on SIGHUP),
# - sla-timer schedule its case's timers,
# - notification send its acknowledgement with its own template,
# - reporting know it (GET /v1/report?organisation=ashdown and the dashboard).
# Then a broken policy (timezone: Europe/Londn) is added: `charterctl policy
# check` refuses it at file:line:column naming timezone (it used to pass),
# every service refuses the reload and logs why, and Ashdown is still served.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notification_lib.sh"

POL="$WORK/policies" TPL="$WORK/templates"
mkdir -p "$POL" "$TPL"
cp "$SRC"/policies/*.yaml "$POL/"
cp -r "$SRC"/templates/. "$TPL/"
CTL="$BUILD/tools/charterctl/charterctl"

# a council's CRM, allowed to write for Nottingham only (for now)
CRM_KEY=$(openssl rand -hex 32)
printf 'council-crm %s orgs=nottingham-city-homes\n' "$CRM_KEY" >>"$GATEWAYS_FILE"
start_redis
start_broker
start_smtp_sink 0
start_service ingest CHARTER_INGEST_POLICY_DIR="$POL"
start_service sla-timer CHARTER_SLA_POLICY_DIR="$POL"
start_service notification CHARTER_NOTIFY_POLICY_DIR="$POL" CHARTER_NOTIFY_TEMPLATE_DIR="$TPL" \
  CHARTER_NOTIFY_OUTBOX_DIR="$WORK/outbox" CHARTER_NOTIFY_PRINT_DIR="$WORK/print" \
  CHARTER_NOTIFY_EMAIL_TRANSPORT=smtp CHARTER_NOTIFY_STAFF_TRANSPORT=smtp \
  "CHARTER_NOTIFY_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT" CHARTER_NOTIFY_SMTP_FROM=noreply@council.example \
  "CHARTER_NOTIFY_STAFF_EMAIL={role}@council.example"
start_service reporting CHARTER_REPORT_POLICY_DIR="$POL"
SERVICES="ingest sla-timer notification reporting"
for s in $SERVICES; do wait_ready "$s"; done
pass "four services ready on $POL"

NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
CONTACT='{"organisation":"ashdown","channel":"email","received_at":"'$NOW'","customer":{"name":"Ann Example","email":"ann@example.org"}}'
r=$(post_json "${SVC_PORT[ingest]}" /v1/contacts "$CONTACT")
[ "${r%% *}" = 422 ] && grep -q unknown_organisation <<<"$r" || fail "before the reload, ashdown got $r"
REPORT_URL="http://127.0.0.1:${SVC_PORT[reporting]}/v1/report?organisation=ashdown"
# knows_ashdown: GET /v1/report judges ashdown by its policy ("policy": true).
knows_ashdown() { [ "$(json_get "$(curl -fsS "$REPORT_URL")" policy)" = True ]; }
knows_ashdown && fail "reporting knew ashdown before the reload"
pass "before: ingest refuses ashdown (422 unknown_organisation), reporting does not know it"

# The new organisation: a policy file and its own acknowledgement wording.
policy_yaml ashdown "Ashdown District Council" ADC "1 second" "10 working days" \
  says="We reply within 10 working days." "role=owner:Customer Services Officer" >"$POL/ashdown.yaml"
mkdir -p "$TPL/ashdown"
cat >"$TPL/ashdown/acknowledgement.email.en.txt" <<'TXT'
Subject: Ashdown has your message (reference {reference})

Dear {customer_name},

Ashdown District Council has your message {reference}; we reply by {target_date}.
TXT
"$CTL" policy check --templates "$TPL" --staff-email '{role}@council.example' "$POL/ashdown.yaml" >/dev/null ||
  fail "charterctl policy check refuses the new policy"

# ... and the CRM's line names ashdown too
sed -i 's/^\(council-crm .*orgs=nottingham-city-homes\)$/\1,ashdown/' "$GATEWAYS_FILE"
grep -q '^council-crm .*,ashdown$' "$GATEWAYS_FILE" || fail "could not edit the gateways file"

# reloaded NAME N: NAME's log says "policies reloaded" N times.
reloaded() { [ "$(grep -c '"policies reloaded"' "$WORK/$1.log")" -ge "$2" ]; }
for s in $SERVICES; do kill -HUP "${SVC_PID[$s]}"; done
for s in $SERVICES; do
  wait_until 30 reloaded "$s" 1 || fail "$s did not reload"
  grep '"policies reloaded"' "$WORK/$s.log" | tail -n 1 | qgrep '"organisations":6' ||
    fail "$s did not load six organisations: $(grep '"policies reloaded"' "$WORK/$s.log")"
done
pass "SIGHUP: every service reloaded six organisations"

r=$(post_json "${SVC_PORT[ingest]}" /v1/contacts "$CONTACT")
[ "${r%% *}" = 202 ] || fail "after the reload, ashdown got $r"
CASE=$(json_get "${r#* }" case_id) REF=$(json_get "${r#* }" reference)
case $REF in ADC-*) ;; *) fail "reference $REF is not Ashdown's" ;; esac
pass "ingest accepts ashdown: $REF"
r=$(GATEWAY_ID=council-crm GATEWAY_KEY=$CRM_KEY post_json "${SVC_PORT[ingest]}" /v1/contacts "$CONTACT")
[ "${r%% *}" = 202 ] || fail "after the reload, the CRM (orgs= now naming ashdown) got $r"
[ "$(grep -c '"gateways loaded"' "$WORK/ingest.log")" -ge 2 ] || fail "ingest did not log the gateways file read again"
pass "the gateways file was read again: the CRM now writes for ashdown"

timers() { "$CTL" timers --case "$CASE" --redis "$REDIS_URL" 2>&1; }
has_breach() { timers | qgrep breach; }
wait_until 60 has_breach || fail "sla-timer scheduled no breach timer for $REF: $(timers)"
pass "sla-timer scheduled ashdown's timers"

has_mail() { grep -qF '"rcpt_tos": ["ann@example.org"]' "$SMTP_LOG"; }
wait_until 60 has_mail || fail "no acknowledgement reached the SMTP server"
M=$(grep -F '"rcpt_tos": ["ann@example.org"]' "$SMTP_LOG")
expect_in "$M" "the acknowledgement" "Ashdown has your message (reference $REF)" \
  "Ashdown District Council has your message $REF"
pass "notification sent ashdown's acknowledgement with its own template"

knows_ashdown || fail "reporting does not know ashdown: $(curl -sS "$REPORT_URL" | head -c 300)"
DASH=$(curl -fsS "http://127.0.0.1:${SVC_PORT[reporting]}/") || fail "no dashboard"
grep -qF "Ashdown District Council" <<<"$DASH" || fail "the dashboard does not show Ashdown District Council"
pass "reporting shows ashdown"

# A broken policy: a misspelt time zone.
sed -e 's/^  id: ashdown/  id: broken/' -e 's/reference_prefix: ADC/reference_prefix: BRK/' \
  -e 's|^timezone: Europe/London|timezone: Europe/Londn|' "$POL/ashdown.yaml" >"$POL/broken.yaml"
if out=$("$CTL" policy check "$POL/broken.yaml" 2>&1); then fail "charterctl policy check passed Europe/Londn: $out"; fi
line=$(grep -n '^timezone:' "$POL/broken.yaml" | cut -d: -f1)
grep -qF "$POL/broken.yaml:$line:11: timezone: Europe/Londn: unknown time zone" <<<"$out" ||
  fail "charterctl policy check does not name file:line:column and timezone: $out"
pass "charterctl policy check refuses Europe/Londn: $out"

refused() { grep -q '"policy reload refused; keeping the running policies".*Europe/Londn' "$WORK/$1.log"; }
for s in $SERVICES; do kill -HUP "${SVC_PID[$s]}"; done
for s in $SERVICES; do
  wait_until 30 refused "$s" || fail "$s did not refuse the reload"
  kill -0 "${SVC_PID[$s]}" || fail "$s stopped"
  reloaded "$s" 2 && fail "$s took the broken directory"
done
pass "every service refused the reload and said why"

NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
r=$(post_json "${SVC_PORT[ingest]}" /v1/contacts '{"organisation":"ashdown","channel":"phone","received_at":"'$NOW'"}')
[ "${r%% *}" = 202 ] || fail "after the refused reload, ashdown got $r"
r=$(post_json "${SVC_PORT[ingest]}" /v1/contacts '{"organisation":"broken","channel":"phone","received_at":"'$NOW'"}')
[ "${r%% *}" = 422 ] || fail "the refused organisation got $r"
knows_ashdown || fail "reporting lost ashdown"
pass "the running policies are still served"

for s in notification reporting sla-timer ingest; do stop_service "$s"; done
