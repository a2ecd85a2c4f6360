#!/usr/bin/env bash
# Records counted in batches, several in flight at once (issue 16): a
# backlog of 100 cases of one organisation (a contact and an answer each)
# is taken in at start-up, so the count script's batch of one organisation
# fills (64 records) and is sent in the middle of a loop turn while the
# rest are still being prepared. Two reportings with their own consumer
# groups count the same backlog into the same Redis at the same time, so
# two batches in flight touch the same case: each record must count once,
# each case's figures move once, and the report must be byte for byte the
# one a single reporting gives replaying the topic alone into an empty
# database (as if every record were written in turn). The report is read
# meanwhile, over the readers' own Redis connection.
source "$(dirname "$0")/lib.sh"

start_ingest_and_reporting
IN=${SVC_PORT[ingest]}
D="derby-homes"
stop_service reporting # the records wait in Kafka, to be taken in as one backlog

N=100
for i in $(seq 1 "$N"); do
  c=$(new_case $D letter enquiry 2026-11-02T10:00:00Z)
  day=05
  [ $((i % 2)) = 0 ] || day=18 # odd cases answered after the 16 November target
  case_event "$c" "{\"type\":\"responded\",\"organisation\":\"$D\",\"occurred_at\":\"2026-11-${day}T10:00:00Z\"}"
done
pass "$N Derby Homes letters and their answers posted while reporting was stopped"

report() { curl -fsS "http://127.0.0.1:$1/v1/report?$2"; }
fig() { json_get "$1" "figures/$2"; }
metric() { curl -fsS "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'; }
drained() { # PORT: reporting took in every record ingest wrote and finished each one
  local produced consumed inflight
  produced=$(metric "$IN" charter_kafka_produced_total) || return 1
  consumed=$(metric "$1" charter_kafka_consumed_total) || return 1
  inflight=$(metric "$1" charter_inflight_messages) || return 1
  [ -n "$produced" ] && [ "${consumed%.*}" = "${produced%.*}" ] && [ "${inflight%.*}" = 0 ]
}
Q="organisation=$D&channel=letter&type=enquiry&from=2026-11&to=2026-11"

# Two reportings at once on the same database: the first resumes its group's
# offsets (the backlog), the twin reads the topic from the start.
start_service reporting CHARTER_REPORT_POLICY_DIR="$SRC/policies"
A_PID=${SVC_PID[reporting]} A=${SVC_PORT[reporting]}
SVC_PORT[reporting]=""
start_service reporting CHARTER_REPORT_POLICY_DIR="$SRC/policies" \
  CHARTER_KAFKA_GROUP_ID=charter-reporting-twin
B_PID=${SVC_PID[reporting]} B=${SVC_PORT[reporting]}
wait_until 30 ready "$A" || fail "reporting did not become ready"
wait_until 30 ready "$B" || fail "the twin reporting did not become ready"
polls=0
both_drained() {
  report "$A" "$Q" >/dev/null && polls=$((polls + 1)) # read while the batches run
  drained "$A" && drained "$B"
}
wait_until 60 both_drained || fail "the two reportings did not finish the backlog"
j=$(report "$A" "$Q")
for want in received:$N answered:$N answered_in_time:$((N / 2)) answered_late:$((N / 2)) open:0; do
  [ "$(fig "$j" "${want%%:*}")" = "${want#*:}" ] ||
    fail "after two reportings: ${want%%:*} is $(fig "$j" "${want%%:*}"), expected ${want#*:}: $j"
done
[ "$(json_get "$j" counts/received.letter)" = "$N" ] || fail "an event counted twice or lost: $j"
counted=$(($(metric "$A" charter_report_events_counted_total | cut -d. -f1) +
  $(metric "$B" charter_report_events_counted_total | cut -d. -f1)))
[ "$counted" = $((2 * N)) ] || fail "$counted events counted by the two, expected $((2 * N))"
[ "$(report "$B" "$Q")" = "$j" ] || fail "the twin reports otherwise: $(report "$B" "$Q")"
pass "two reportings counting the same $((2 * N)) records at once: each counted once, every figure once ($polls reads meanwhile)"
TWO_DAY=$(report "$A" "organisation=$D&granularity=day")
SVC_PID[reporting]=$B_PID
stop_service reporting
SVC_PID[reporting]=$A_PID
stop_service reporting

# One reporting alone, into an empty database: the same report.
SVC_PORT[reporting]=""
start_service reporting CHARTER_REPORT_POLICY_DIR="$SRC/policies" CHARTER_REDIS_URL="${REDIS_URL%/0}/1" \
  CHARTER_KAFKA_GROUP_ID=charter-reporting-alone
wait_ready reporting
REPORT=${SVC_PORT[reporting]}
alone() { drained "$REPORT" && [ "$(report "$REPORT" "organisation=$D&granularity=day")" = "$TWO_DAY" ]; }
wait_until 40 alone || fail "one reporting alone differs:
two:   $TWO_DAY
alone: $(report "$REPORT" "organisation=$D&granularity=day")"
pass "one reporting alone into an empty database gives the same report, byte for byte"
stop_service reporting
