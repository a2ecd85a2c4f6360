# shellcheck shell=bash
# Helpers for notification's transport tests (sourced after lib.sh): the
# loopback SMTP server (smtp_sink.py on Debian's python3-aiosmtpd) and the
# HTTP gateway stand-in (tests/tools/gateway_receiver.c), each started by
# this script and stopped by lib.sh's EXIT trap by PID.

# start_smtp_sink [FAIL_FIRST [ARGS...]]: SMTP_PORT, SMTP_LOG. With
# SMTP_PORT_WANTED set, on that port (a server that was "down" comes up);
# with SMTP_LOG set, logging there.
start_smtp_sink() {
  SMTP_PORT=${SMTP_PORT_WANTED:-$(free_port)}
  SMTP_LOG=${SMTP_LOG:-"$WORK/smtp.jsonl"}
  /usr/bin/python3 "$SRC/tests/integration/smtp_sink.py" --port "$SMTP_PORT" --log "$SMTP_LOG" \
    --fail-first "${1:-0}" "${@:2}" --ready "$WORK/smtp.$SMTP_PORT.ready" >>"$WORK/smtp.log" 2>&1 &
  PIDS+=($!)
  wait_until 20 test -s "$WORK/smtp.$SMTP_PORT.ready" || fail "smtp_sink.py did not start (python3-aiosmtpd installed?)"
  touch "$SMTP_LOG"
}

# start_gateway [ARGS...]: GATEWAY_PORT, GATEWAY_LOG, GATEWAY_TOKEN,
# GATEWAY_API_KEY. With GATEWAY_AUTH=notify-jwt set beforehand the gateway
# takes only GOV.UK Notify JWTs for GATEWAY_API_KEY (a fresh
# {name}-{service_id}-{secret} key), else the static bearer GATEWAY_TOKEN.
uuid4() { /usr/bin/python3 -c 'import uuid; print(uuid.uuid4())'; }
start_gateway() {
  GATEWAY_PORT=$(free_port)
  GATEWAY_LOG="$WORK/gateway.jsonl"
  GATEWAY_TOKEN=$(openssl rand -hex 16)
  GATEWAY_API_KEY="charter-test-$(uuid4)-$(uuid4)"
  local auth=(--token "$GATEWAY_TOKEN")
  [ "${GATEWAY_AUTH:-bearer}" = notify-jwt ] && auth=(--notify-key "$GATEWAY_API_KEY")
  "$BUILD/tests/gateway_receiver" --port "$GATEWAY_PORT" --log "$GATEWAY_LOG" \
    "${auth[@]}" --ready "$WORK/gateway.ready" "$@" >>"$WORK/gateway.log" 2>&1 &
  PIDS+=($!)
  wait_until 10 test -s "$WORK/gateway.ready" || fail "gateway_receiver did not start"
  touch "$GATEWAY_LOG"
}

# write_short_policy DIR: Nottingham City Homes in DIR/nch.yaml with an
# acknowledgement due after 1 second and the owner role named, for tests that
# send one acknowledgement per contact.
write_short_policy() {
  mkdir -p "$1"
  policy_yaml nottingham-city-homes "Nottingham City Homes" NCH "1 second" "10 working days" \
    says="Short clocks for the test." "role=owner:Customer Service Team adviser" >"$1/nch.yaml"
}

# customer_contact ORG CHANNEL CUSTOMER_JSON: posts a contact received at
# $NOW from the customer CUSTOMER_JSON and prints "CASE REF"; fails unless
# ingest accepts it (in a command substitution: prints nothing, so callers
# check that the case is not empty).
customer_contact() {
  local r
  r=$(post_json "${SVC_PORT[ingest]}" /v1/contacts "{\"organisation\":\"$1\",\"channel\":\"$2\",\"received_at\":\"$NOW\",\"customer\":$3}")
  [ "${r%% *}" = 202 ] || fail "POST $2 contact: $r"
  echo "$(json_get "${r#* }" case_id) $(json_get "${r#* }" reference)"
}

# notify_transport_env: the environment pointing notification at both.
notify_transport_env() {
  printf '%s\n' CHARTER_NOTIFY_EMAIL_TRANSPORT=smtp CHARTER_NOTIFY_SMS_TRANSPORT=http \
    CHARTER_NOTIFY_SOCIAL_TRANSPORT=http \
    "CHARTER_NOTIFY_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT" \
    CHARTER_NOTIFY_SMTP_FROM=noreply@council.example \
    "CHARTER_NOTIFY_HTTP_URL=http://127.0.0.1:$GATEWAY_PORT" \
    "CHARTER_NOTIFY_HTTP_TOKEN=$GATEWAY_TOKEN" "CHARTER_NOTIFY_HTTP_AUTH=${GATEWAY_AUTH:-bearer}" \
    "CHARTER_NOTIFY_HTTP_API_KEY=$GATEWAY_API_KEY" CHARTER_NOTIFY_HTTP_SMS_TEMPLATE_ID=sms-template \
    CHARTER_NOTIFY_SMTP_TIMEOUT_MS=5000 CHARTER_NOTIFY_HTTP_TIMEOUT_MS=5000 \
    CHARTER_NOTIFY_LEASE_MS=8000 CHARTER_NOTIFY_RETRY_BASE_MS=500 CHARTER_NOTIFY_RETRY_MAX_MS=2000
}
