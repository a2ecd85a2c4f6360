#!/usr/bin/env bash
# Demo traffic for `make run`: contacts for each of the five charters on
# their channels, every few seconds; some are acknowledged or answered by
# "staff" before their timers are due, the rest get Charter's automatic
# acknowledgement. Bounded: stops after DEMO_MAX contacts (default 500).
# Requests are signed as gateway DEMO_GATEWAY (default dev) with the key in
# DEMO_KEY_FILE (default var/dev-gateway.key), as make run sets up.
set -uo pipefail
INGEST=${1:-http://127.0.0.1:8080}
MAX=${DEMO_MAX:-500}
GATEWAY=${DEMO_GATEWAY:-dev}
KEY=$(cat "${DEMO_KEY_FILE:-var/dev-gateway.key}") || { echo "demo-traffic: no gateway key" >&2; exit 1; }
orgs=(nottingham-city-homes derby-homes nihe digital-first-council customer-care-council)
channels=(email letter social phone voicemail online_form visit)
names=("Ann Example" "Bob Sample" "Carys Test" "Dev Patel" "Eilidh Demo")

post() { # post PATH BODY
  local t mac
  t=$(date +%s)
  mac=$(printf '%s.%s' "$t" "$2" | openssl dgst -sha256 -hmac "$KEY" -r | cut -d' ' -f1)
  curl -sS -X POST -H 'Content-Type: application/json' -H "X-Charter-Gateway: $GATEWAY" \
    -H "X-Charter-Signature: t=$t,v1=$mac" --data-binary "$2" "$INGEST$1"
  echo
}

for (( i=0; i<MAX; i++ )); do
  org=${orgs[$((i % 5))]}
  ch=${channels[$((RANDOM % 7))]}
  name=${names[$((RANDOM % 5))]}
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  resp=$(post /v1/contacts "{\"organisation\":\"$org\",\"channel\":\"$ch\",\"received_at\":\"$now\",
    \"customer\":{\"name\":\"$name\",\"email\":\"demo$i@example.org\",\"phone\":\"07700900$((100 + i % 900))\"},
    \"summary\":\"Demo contact $i\"}")
  echo "$resp"
  case_id=$(sed -n 's/.*"case_id":"\([^"]*\)".*/\1/p' <<<"$resp")
  if [ -n "$case_id" ] && (( RANDOM % 3 == 0 )); then
    post "/v1/cases/$case_id/events" "{\"type\":\"acknowledged\",\"organisation\":\"$org\",\"occurred_at\":\"$now\",\"by\":\"demo-staff\"}"
  fi
  if [ -n "$case_id" ] && (( RANDOM % 4 == 0 )); then
    post "/v1/cases/$case_id/events" "{\"type\":\"responded\",\"organisation\":\"$org\",\"occurred_at\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}"
  fi
  sleep "${DEMO_INTERVAL:-3}"
done
