#!/usr/bin/env bash
# Create Charter's Kafka topics; safe to run again (--if-not-exists).
#
# Usage: create-topics.sh [BOOTSTRAP] [extra kafka-topics.sh args...]
#   BOOTSTRAP   broker address, default kafka:9092 (the compose network name)
#   extra args  passed to every kafka-topics.sh call, e.g.
#               --command-config /etc/kafka/client.properties for SASL/TLS
# Environment:
#   KAFKA_BIN            directory holding kafka-topics.sh (default /opt/kafka/bin)
#   REPLICATION_FACTOR   default 1 (single broker); use 3 on a three-broker cluster
#
# An existing topic is left as it is: partition counts and configs of topics
# that already exist are not changed by this script.
set -euo pipefail

bootstrap="${1:-kafka:9092}"
[[ $# -gt 0 ]] && shift
kafka_topics="${KAFKA_BIN:-/opt/kafka/bin}/kafka-topics.sh"
rf="${REPLICATION_FACTOR:-1}"

create() {
    local topic="$1" partitions="$2"
    shift 2
    echo "create-topics: ${topic} (partitions=${partitions}, replication=${rf}${*:+, $*})"
    "$kafka_topics" --bootstrap-server "$bootstrap" "$@" \
        --create --if-not-exists --topic "$topic" \
        --partitions "$partitions" --replication-factor "$rf"
}

# Retention is the schedule in docs/security.md: personal data on the contact
# topic for 40 days (a monthly rebuild of reporting by replay), the topics read
# with it as long, dead letters (original bytes) 14 days.
days() { echo $(($1 * 86400000)); }
# name                         partitions  per-topic config
create charter.contact.events.v1  6 "$@" --config retention.ms="$(days 40)"
create charter.sla.timers.v1      6 "$@" --config retention.ms="$(days 40)"
create charter.notify.outcomes.v1 3 "$@" --config retention.ms="$(days 40)"
create charter.notify.receipts.v1 3 "$@" --config retention.ms="$(days 40)"
create charter.reports.v1         1 "$@" --config cleanup.policy=compact
create charter.dlq.v1             1 "$@" --config retention.ms="$(days 14)"

"$kafka_topics" --bootstrap-server "$bootstrap" "$@" --describe --topic 'charter\..*'
