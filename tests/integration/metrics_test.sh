#!/usr/bin/env bash
# Monitoring (issue 18): the four real services on a real redis-server and
# the embedded broker carry a contact through; then each one's /metrics is
# scraped and
# 1. every metric family found is in docs/monitoring.md's table (a new
#    metric without documentation fails here);
# 2. the series an operator alerts on are there with their labels:
#    request latency per route and status class, accepted events per
#    organisation and type, consumer lag per topic and partition, pending
#    and overdue timers, the notification queue, sends per transport and
#    result, build info, the reload gauge;
# 3. the Grafana dashboard and the alert rules name only documented metrics.
source "$(dirname "$0")/lib.sh"

ORG=derby-homes
NOW=$(date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%SZ)
DOC="$SRC/docs/monitoring.md"

start_redis
start_broker
start_service ingest
start_service sla-timer CHARTER_SLA_POLICY_DIR="$SRC/policies"
start_service notification CHARTER_NOTIFY_OUTBOX_DIR="$WORK/outbox" CHARTER_NOTIFY_PRINT_DIR="$WORK/print" \
  CHARTER_NOTIFY_TEMPLATE_DIR="$SRC/templates" CHARTER_NOTIFY_POLICY_DIR="$SRC/policies"
start_service reporting CHARTER_REPORT_POLICY_DIR="$SRC/policies"
for s in ingest sla-timer notification reporting; do wait_ready "$s"; done
pass "four services ready"

r=$(post_json "${SVC_PORT[ingest]}" /v1/contacts \
  "{\"organisation\":\"$ORG\",\"channel\":\"email\",\"received_at\":\"$NOW\",\"customer\":{\"name\":\"Ann\",\"email\":\"ann@example.org\"}}")
[ "${r%% *}" = 202 ] || fail "contact: $r"
# the e-mailed complaint is acknowledged at receipt: notification sent it once the outbox has it
acked() { cat "$WORK"/outbox/*.jsonl 2>/dev/null | qgrep '"kind":"acknowledgement"'; }
wait_until 90 acked || fail "no acknowledgement in the outbox"
pass "a contact went through and was acknowledged"

scrape() { curl -fsS "http://127.0.0.1:${SVC_PORT[$1]}/metrics"; }
metric_has() { # SERVICE REGEX: a sample line matching
  grep -Eq "$2" <<<"$(scrape "$1")"
}
# the censuses count every 15 s; lag comes with the consumer's statistics
wait_until 40 metric_has sla-timer '^charter_sla_timers_pending [0-9]' || fail "sla-timer has no charter_sla_timers_pending"
wait_until 40 metric_has notification '^charter_notify_queue_depth [0-9]' || fail "notification has no queue depth"
wait_until 40 metric_has reporting '^charter_kafka_consumer_lag\{topic="charter.contact.events.v1",partition="[0-9]+"\} [0-9]' ||
  fail "reporting has no consumer lag per partition"

missing=()
for s in ingest sla-timer notification reporting; do
  scrape "$s" >"$WORK/$s.metrics" || fail "scrape $s"
  while read -r name; do
    grep -qF "\`$name\`" "$DOC" || missing+=("$name ($s)")
  done < <(awk '$1 == "#" && $2 == "TYPE" { print $3 }' "$WORK/$s.metrics" | sort -u)
done
[ ${#missing[@]} -eq 0 ] || fail "metrics missing from docs/monitoring.md: ${missing[*]}"
pass "every metric the services expose is documented ($(cat "$WORK"/*.metrics | grep -c '^# TYPE') families)"

expect() { # SERVICE REGEX WHAT
  grep -Eq "$2" "$WORK/$1.metrics" || fail "$1: no $3 (/$2/)"
}
expect ingest '^charter_http_request_duration_seconds_bucket\{route="/v1/contacts",code="2xx",le="0.005"\} [0-9]+' "latency histogram per route and status class"
expect ingest '^charter_http_request_duration_seconds_count\{route="/v1/contacts",code="2xx"\} [1-9]' "requests counted in the histogram"
expect ingest "^charter_ingest_events_total\{organisation=\"$ORG\",event=\"received\"\} 1$" "accepted events per organisation and type"
expect ingest '^charter_build_info\{service="ingest",version="[0-9.]+"\} 1$' "build info"
expect ingest '^charter_policy_reload_ok 1$' "reload gauge"
expect sla-timer '^charter_sla_timers_overdue 0$' "overdue timers gauge"
expect sla-timer '^charter_sla_fire_lateness_seconds_count [0-9]+' "lateness histogram"
expect notification '^charter_notify_sends_total\{transport="file",result="sent"\} [1-9]' "sends per transport and result"
expect notification '^charter_notify_send_duration_seconds_bucket\{transport="file",le="\+Inf"\} [1-9]' "send latency histogram"
expect notification '^charter_notify_queue_oldest_due_seconds [0-9.]+$' "queue age"
expect reporting '^charter_kafka_consumer_lag\{topic="charter.sla.timers.v1",partition="[0-9]+"\} -?[0-9]+' "lag on every topic consumed"
pass "the series alerts and the dashboard use are there, labelled"

# the dashboard's and the rules' metric names are documented too
names=$( { grep -oE 'charter_[a-z_]+' "$SRC/deploy/grafana/charter-dashboard.json"; grep -oE 'charter_[a-z_]+' "$SRC/deploy/prometheus/charter-rules.yml"; } |
  sed -E 's/_(bucket|sum|count)$//' | sort -u)
for n in $names; do
  grep -qF "\`$n\`" "$DOC" || fail "$n (dashboard or rules) is not a documented metric"
done
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["panels"] and all(p["targets"] for p in d["panels"])' \
  "$SRC/deploy/grafana/charter-dashboard.json" || fail "the Grafana dashboard is not valid JSON with panels"
pass "the dashboard and the alert rules use documented metrics only"
