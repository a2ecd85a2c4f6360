#!/usr/bin/env bash
# The end-to-end path on Apache Kafka (the apache-kafka tier): a 3-node KRaft
# cluster on loopback from scripts/kafka.sh (replication factor 3,
# min.insync.replicas 2, topics from deploy/kafka/create-topics.sh), a real
# redis-server and all four services. The cluster's shape is read back from
# Kafka; a contact is posted and its `received` event read with kcat and
# decoded with protoc; notification acknowledges it at receipt and records an
# `acknowledged` event on Kafka, so its acknowledgement timer never fires; the
# acknowledgement reaches the outbox; the report counts it and publishes a
# snapshot on the compacted charter.reports.v1. A case acknowledged before
# its timer is due never fires one. An unreadable record is dead-lettered by
# each consumer. Every service stops cleanly with its offsets committed to
# Kafka, and a restarted reporting resumes after them.
source "$(dirname "$0")/lib.sh"
T0=$(date +%s)

start_redis
start_apache_kafka 3
pass "3-node Apache Kafka up in $(($(date +%s) - T0)) s at $BOOTSTRAP"

# ---- the cluster as Kafka describes it ----
md=$(kcat -b "$BOOTSTRAP" -L)
[ "$(awk '/ brokers:$/ { print $1; exit }' <<<"$md")" = 3 ] || fail "expected 3 brokers: $md"
for want in charter.contact.events.v1:6 charter.sla.timers.v1:6 charter.notify.outcomes.v1:3 charter.notify.receipts.v1:3 \
  charter.reports.v1:1 charter.dlq.v1:1; do
  grep -qF "topic \"${want%%:*}\" with ${want##*:} partitions:" <<<"$md" || fail "${want%%:*}: expected ${want##*:} partitions: $md"
done
# Every partition of every topic has three replicas, all in sync.
bad=$(awk '/^ *partition [0-9]+,/ { r = $0; sub(/.*replicas: /, "", r); sub(/,? isrs:.*/, "", r);
  i = $0; sub(/.*isrs: /, "", i); if (split(r, a, ",") != 3 || split(i, b, ",") != 3) print }' <<<"$md")
[ -z "$bad" ] || fail "partitions without 3 in-sync replicas: $bad"
desc=$(bash "$SRC/scripts/kafka.sh" run org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
  --describe --topic charter.reports.v1 2>&1)
grep -qE 'Configs:.*cleanup\.policy=compact' <<<"$desc" || fail "charter.reports.v1 is not compacted: $desc"
grep -qE 'Configs:.*min\.insync\.replicas=2' <<<"$desc" || fail "min.insync.replicas is not 2: $desc"
pass "3 brokers; 20 partitions with 3 in-sync replicas each; charter.reports.v1 compacted; min.insync.replicas 2"

# ---- the four services ----
OUTBOX="$WORK/outbox"
POLICIES="$WORK/policies" # the skeleton's: acknowledge within 6 s
for org in nottingham-city-homes:NCH derby-homes:DH; do short_policy "$POLICIES" "${org%%:*}" "${org##*:}"; done
start_service ingest
start_service sla-timer CHARTER_SLA_POLICY_DIR="$POLICIES"
start_service notification CHARTER_NOTIFY_OUTBOX_DIR="$OUTBOX" \
  CHARTER_NOTIFY_TEMPLATE_DIR="$SRC/templates" CHARTER_NOTIFY_POLICY_DIR="$POLICIES"
start_service reporting CHARTER_REPORT_POLICY_DIR="$POLICIES"
for s in ingest sla-timer notification reporting; do wait_ready "$s"; done
# Case B's acknowledgement (and A's, sent by notification at receipt) must
# reach sla-timer before the 6 s clock runs out, so cases are posted only once
# sla-timer and notification own their partitions.
wait_until 60 grep -q '"partition assigned"' "$WORK/sla-timer.log" || fail "sla-timer got no partitions"
wait_until 60 grep -q '"partition assigned"' "$WORK/notification.log" || fail "notification got no partitions"
pass "all four services ready and sla-timer assigned its partitions ($(($(date +%s) - T0)) s in)"

IN=${SVC_PORT[ingest]}
REPORT=${SVC_PORT[reporting]}
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
NOW_S=$(date -u -d "$NOW" +%s)

# ---- case A: acknowledged by Charter at receipt ----
BODY_A="{\"organisation\":\"nottingham-city-homes\",\"channel\":\"email\",\"received_at\":\"$NOW\",
  \"customer\":{\"name\":\"Ann Example\",\"email\":\"ann@example.org\"},\"summary\":\"Leaking gutter\"}"
r=$(post_json "$IN" /v1/contacts "$BODY_A")
[ "${r%% *}" = 202 ] || fail "POST /v1/contacts: expected 202, got: $r"
CASE_A=$(json_get "${r#* }" case_id)
REF_A=$(json_get "${r#* }" reference)
pass "contact accepted: case $CASE_A, reference $REF_A"

# 202 came after acks=all: the record is on the topic, replicated.
loc=$(find_record charter.contact.events.v1 "$CASE_A")
[ -n "$loc" ] || fail "no record keyed $CASE_A on charter.contact.events.v1 right after 202"
txt=$(decode_record charter.contact.events.v1 $loc CaseEvent)
expect_in "$txt" "received event" "case_id: \"$CASE_A\"" 'organisation: "nottingham-city-homes"' \
  "seconds: $NOW_S" 'channel: CHANNEL_EMAIL' "reference: \"$REF_A\"" 'email: "ann@example.org"'
pass "received event read back with kcat (partition/offset $loc) decodes to what was posted"

# ---- case B: acknowledged by staff before its timer is due ----
post_staff_acknowledged derby-homes

# ---- A's acknowledgement is recorded on charter.contact.events.v1 ----
acknowledged_a() { [ "$(count_records charter.contact.events.v1 "$CASE_A")" -ge 2 ]; }
wait_until 30 acknowledged_a || fail "no acknowledged event for case A on charter.contact.events.v1 within 30 s"
loc=$(kcat -b "$BOOTSTRAP" -C -t charter.contact.events.v1 -e -q -f '%k %p %o\n' |
  awk -v k="$CASE_A" '$1 == k { n++; if (n == 2) { print $2, $3; exit } }')
txt=$(decode_record charter.contact.events.v1 $loc CaseEvent)
expect_in "$txt" "acknowledged event" "event_id: \"$CASE_A/acknowledgement/acknowledged\"" 'by: "automatic"' \
  "notification_id: \"$CASE_A/acknowledgement\""
pass "case A acknowledged by Charter at receipt: acknowledged {by: automatic} on Kafka"

# ---- the acknowledgement is in the outbox ----
wait_until 30 grep -qF "\"reference\":\"$REF_A\"" "$OUTBOX/nottingham-city-homes.jsonl" ||
  fail "no acknowledgement for $REF_A in the outbox"
line=$(grep -F "\"reference\":\"$REF_A\"" "$OUTBOX/nottingham-city-homes.jsonl")
[ "$(json_get "$line" to)" = "ann@example.org" ] || fail "acknowledgement not addressed to the customer: $line"
grep -qF "Your reference is $REF_A" <<<"$line" || fail "acknowledgement text lacks the reference: $line"
pass "acknowledgement in the outbox: $(json_get "$line" text)"

# ---- the report counts it, and publishes it on charter.reports.v1 ----
report_has() {
  local j
  j=$(curl -fsS "http://127.0.0.1:$REPORT/v1/report?organisation=nottingham-city-homes") || return 1
  [ "$(json_get "$j" counts/received)" = 1 ] && [ "$(json_get "$j" counts/acknowledged)" = 1 ] &&
    [ "$(json_get "$j" counts/notifications.sent)" = 1 ]
}
wait_until 30 report_has || fail "report does not count case A: $(curl -sS "http://127.0.0.1:$REPORT/v1/report?organisation=nottingham-city-homes")"
MONTH_KEY="nottingham-city-homes/$(TZ=Europe/London date -d "$NOW" +%Y-%m)"
last_snapshot() { # the newest snapshot keyed MONTH_KEY, as protobuf text
  local loc
  loc=$(kcat -b "$BOOTSTRAP" -C -t charter.reports.v1 -e -q -f '%k %p %o\n' 2>/dev/null |
    awk -v k="$MONTH_KEY" '$1 == k { l = $2 " " $3 } END { print l }')
  [ -n "$loc" ] && decode_record charter.reports.v1 $loc ReportSnapshot
}
snapshot_counts_three() { last_snapshot | qgrep '^events_counted: [3-9]'; }
wait_until 30 snapshot_counts_three || fail "no snapshot $MONTH_KEY counting 3 events on charter.reports.v1: $(last_snapshot)"
pass "report counts the contact, its acknowledgement and the sent notice; snapshot $MONTH_KEY on charter.reports.v1"

# ---- a record no service can read goes to the dead-letter topic ----
printf 'not-a-protobuf' | kcat -b "$BOOTSTRAP" -P -t charter.contact.events.v1 -k bad-record
dlq_count() { kcat -b "$BOOTSTRAP" -C -t charter.dlq.v1 -e -q -f '%k\n' 2>/dev/null | grep -c '/' || true; }
dlq_has_three() { [ "$(dlq_count)" -ge 3 ]; }
wait_until 30 dlq_has_three || fail "expected 3 dead letters (one per consuming service), found $(dlq_count)"
pass "unreadable record dead-lettered by sla-timer, notification and reporting"

# ---- no acknowledgement timer ever fires for A or B ----
LAST_S=$((B_S > NOW_S ? B_S : NOW_S))
sleep $((LAST_S + 6 + 4 - $(date +%s) > 0 ? LAST_S + 6 + 4 - $(date +%s) : 0))
for c in "$CASE_A" "$CASE_B"; do
  n=$(count_records charter.sla.timers.v1 "$c")
  [ "$n" = 0 ] || fail "case $c was acknowledged in time but $n timer(s) fired for it"
done
# B gave no address: the acknowledgement tried at receipt was undeliverable,
# never written as sent.
grep -qF "\"notification_id\":\"$CASE_B/acknowledgement\"" "$OUTBOX"/*.jsonl && fail "case B got an automatic acknowledgement"
pass "no timer fired for case A or B, 4 s past their due time"

# ---- clean shutdown with offsets committed to Kafka ----
consumed_before=$(curl -fsS "http://127.0.0.1:$REPORT/metrics" | awk '$1 == "charter_kafka_consumed_total" { print $2 }')
for s in ingest sla-timer notification reporting; do stop_service "$s"; done
start_service reporting CHARTER_REPORT_POLICY_DIR="$POLICIES"
wait_ready reporting
wait_until 60 grep -q '"partition assigned"' <(tail -n 40 "$WORK/reporting.log") || fail "restarted reporting got no partitions"
sleep 3
consumed_after=$(curl -fsS "http://127.0.0.1:$REPORT/metrics" | awk '$1 == "charter_kafka_consumed_total" { print $2 }')
[ "$consumed_after" = 0 ] || fail "restarted reporting re-consumed $consumed_after records (had consumed $consumed_before): offsets were not committed"
pass "restarted reporting resumed after its committed offsets (re-consumed 0 of $consumed_before)"
echo "kafka_e2e: all checks passed in $(($(date +%s) - T0)) s"
