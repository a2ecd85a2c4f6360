#!/usr/bin/env bash
# Demo traffic for `make run`: contacts for each of the five charters on
# their channels, every few seconds; some are acknowledged or answered by
# "staff" before their timers are due, the rest get Charter's automatic
# acknowledgement. Bounded: stops after DEMO_MAX contacts (default 500).
# First, so the dashboard's trend charts have something to show, a short
# history: a few contacts a month for each charter over the last
# DEMO_HISTORY_MONTHS months (default 11; 0 for none), most answered in
# time, some late, phone calls answered within or past the promise.
# Requests are signed (scheme v2: method, path and body) as gateway
# DEMO_GATEWAY (default dev) with the key in DEMO_KEY_FILE (default
# var/dev-gateway.key), as make run sets up.
# The history is posted once per Redis: with DEMO_REDIS_URL set (make run
# sets it), the first run claims the key charter:demo:history_seeded (SET NX)
# and a later run, finding it, posts no history, so a second `make run` does
# not double the figures. A marker rather than stable gateway_message_ids:
# ingest remembers those for ingest.idempotency_ttl_s (7 days), the history
# spans 11 months, and events on a case are not deduplicated over HTTP; the
# marker lives in the same Redis (var/redis) as the figures it guards, so
# deleting var/ starts both afresh.
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
  mac=$(printf '%s.POST.%s.%s' "$t" "$1" "$2" | openssl dgst -sha256 -hmac "$KEY" -r | cut -d' ' -f1)
  curl -sS -X POST -H 'Content-Type: application/json' -H "X-Charter-Gateway: $GATEWAY" \
    -H "X-Charter-Signature: t=$t,v2=$mac" --data-binary "$2" "$INGEST$1"
  echo
}

iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
now_s=$(date +%s)
history=${DEMO_HISTORY_MONTHS:-11}
if [ -n "${DEMO_REDIS_URL:-}" ] && (( history > 0 )) &&
   [ "$(redis-cli -u "$DEMO_REDIS_URL" SET charter:demo:history_seeded "$(date -u +%FT%TZ)" NX)" != OK ]; then
  echo "demo-traffic: history already posted to this Redis ($(redis-cli -u "$DEMO_REDIS_URL" GET charter:demo:history_seeded)); not posting it again"
  history=0
fi
for (( m=history; m>=1; m-- )); do
  month=$(date -u -d "$(date -u +%Y-%m-15) -$m month" +%Y-%m)
  for org in "${orgs[@]}"; do
    for k in 1 2 3 4 5; do
      day=$(( 1 + RANDOM % 26 ))
      recv_s=$(date -u -d "$month-$(printf %02d "$day") 10:00:00" +%s)
      case $k in
        1) ch=email type=enquiry ;; 2) ch=letter type=enquiry ;; 3) ch=email type=complaint_stage_1 ;;
        4) ch=phone type=enquiry ;; 5) ch=email type=foi ;;
      esac
      resp=$(post /v1/contacts "{\"organisation\":\"$org\",\"channel\":\"$ch\",\"case_type\":\"$type\",
        \"received_at\":\"$(iso "$recv_s")\",\"summary\":\"Demo history $month $k\"}")
      case_id=$(sed -n 's/.*"case_id":"\([^"]*\)".*/\1/p' <<<"$resp")
      [ -n "$case_id" ] || { echo "$resp"; continue; }
      if [ "$ch" = phone ]; then
        post "/v1/cases/$case_id/events" "{\"type\":\"call\",\"organisation\":\"$org\",\"occurred_at\":\"$(iso $((recv_s + 30)))\",\"status\":\"answered\",\"wait_seconds\":$(( 5 + RANDOM % 40 )),\"rings\":$(( 1 + RANDOM % 7 ))}" >/dev/null
        continue
      fi
      [ "$type" = complaint_stage_1 ] &&
        post "/v1/cases/$case_id/events" "{\"type\":\"acknowledged\",\"organisation\":\"$org\",\"occurred_at\":\"$(iso $((recv_s + 3600)))\",\"by\":\"demo-staff\"}" >/dev/null
      # most in time (a day later), about one in four late (26 days later)
      delay=$(( RANDOM % 4 == 0 ? 26 * 86400 : 86400 ))
      resp_s=$(( recv_s + delay < now_s - 3600 ? recv_s + delay : now_s - 3600 ))
      post "/v1/cases/$case_id/events" "{\"type\":\"responded\",\"organisation\":\"$org\",\"occurred_at\":\"$(iso "$resp_s")\"}" >/dev/null
    done
  done
  echo "demo-traffic: history for $month posted"
done

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
