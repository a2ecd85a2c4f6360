#!/usr/bin/env bash
# A customer's message on an open case (`customer_message`, issue 15) through
# the JSON front door, and every consumer taking it: the real four services
# on a real redis-server and the embedded broker.
#
# 1. POST /v1/cases/{id}/events with a customer_message (subject, attachments,
#    from, in_reply_to) is accepted and decodes with protoc as written;
# 2. sla-timer, notification and reporting read it without dead-lettering it:
#    an unreadable record with the same key (so the same partition, after it)
#    is dead-lettered once by each, which proves each got past the message,
#    and nothing else is on the dead-letter topic. (That it moves no clock
#    is sla_event_moves_timers', tests/unit/test_sla_timer_plan.c.)
source "$(dirname "$0")/lib.sh"

start_redis
start_broker
POLICIES="$WORK/policies"
short_policy "$POLICIES" derby-homes DH
start_service ingest
start_service sla-timer CHARTER_SLA_POLICY_DIR="$POLICIES"
start_service notification CHARTER_NOTIFY_OUTBOX_DIR="$WORK/outbox" \
  CHARTER_NOTIFY_TEMPLATE_DIR="$CHARTER_SOURCE_DIR/templates" CHARTER_NOTIFY_POLICY_DIR="$POLICIES"
start_service reporting CHARTER_REPORT_POLICY_DIR="$POLICIES"
for s in ingest sla-timer notification reporting; do wait_ready "$s"; done
pass "all four services ready"

NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
CASE=$(new_case derby-homes sms "" "$NOW")
case_event "$CASE" "{\"type\":\"paused\",\"organisation\":\"derby-homes\",\"occurred_at\":\"$NOW\",\"reason\":\"awaiting_clarification\"}"
MSG="{\"type\":\"customer_message\",\"organisation\":\"derby-homes\",\"occurred_at\":\"$NOW\",\"channel\":\"email\",\"summary\":\"Here are the photos\",\"subject\":\"Re: your case\",\"attachments\":[{\"name\":\"wall.jpg\",\"content_type\":\"image/jpeg\",\"size_bytes\":182044}],\"from\":\"ann@example.org\",\"in_reply_to\":\"$CASE/acknowledgement\",\"gateway_message_id\":\"mail-77\"}"
case_event "$CASE" "$MSG"
msg_on_topic() { [ "$(count_records charter.contact.events.v1 "$CASE")" -ge 3 ]; }
wait_until 20 msg_on_topic || fail "customer_message not on the topic"
loc=$(kcat -b "$BOOTSTRAP" -C -t charter.contact.events.v1 -e -q -f '%k %p %o\n' 2>/dev/null |
  awk -v k="$CASE" '$1 == k { n++; if (n == 3) print $2, $3 }')
d=$(decode_record charter.contact.events.v1 $loc CaseEvent)
expect_in "$d" "customer_message" "customer_message {" "channel: CHANNEL_EMAIL" 'summary: "Here are the photos"' \
  'subject: "Re: your case"' 'name: "wall.jpg"' 'size_bytes: 182044' 'from: "ann@example.org"' \
  "in_reply_to: \"$CASE/acknowledgement\"" 'gateway_message_id: "mail-77"'
pass "customer_message accepted and written as sent"

printf 'not-a-protobuf' | kcat -b "$BOOTSTRAP" -P -t charter.contact.events.v1 -k "$CASE"
dlq_count() { kcat -b "$BOOTSTRAP" -C -t charter.dlq.v1 -e -q -f '%k\n' 2>/dev/null | grep -c . || true; }
dlq_three() { [ "$(dlq_count)" -ge 3 ]; }
wait_until 90 dlq_three || fail "the unreadable record after the message was not dead-lettered by all three consumers ($(dlq_count))"
kcat -b "$BOOTSTRAP" -C -t charter.dlq.v1 -e -q -f '%p %o\n' 2>/dev/null >"$WORK/dlq.txt"
[ "$(wc -l <"$WORK/dlq.txt")" = 3 ] || fail "dead letters besides the unreadable record: $(wc -l <"$WORK/dlq.txt")"
while read -r p o; do
  txt=$(decode_record charter.dlq.v1 "$p" "$o" DeadLetter)
  expect_in "$txt" "dead letter" 'original_value: "not-a-protobuf"'
done <"$WORK/dlq.txt"
pass "sla-timer, notification and reporting took the customer_message without dead-lettering it"
for s in ingest sla-timer notification reporting; do stop_service "$s"; done
