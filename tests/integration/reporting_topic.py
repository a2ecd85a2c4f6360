#!/usr/bin/python3
"""Test helper, independent of Charter's C code: reads report snapshots from
charter.reports.v1 with Debian's pure-Python Kafka client (python3-kafka) and
decodes them with modules protoc generated from proto/ (python3-protobuf).

  reporting_topic.py BOOTSTRAP PB2_DIR KEY
      prints JSON for the newest snapshot with KEY ("<organisation>/<period>"),
      as a compacted topic keeps it, and how many records carried KEY:
      {"records": n, "organisation": ..., "period": ..., "events_counted": n,
       "generated_at_ms": n, "figures": {"NAME|CHANNEL|CASE_TYPE": value},
       "targets": {"NAME|CHANNEL|CASE_TYPE": target}}
      (CHANNEL is the enum name without "CHANNEL_", "" for all channels.)
      Exits 1 when no record has KEY.
"""
import json
import sys


def main():
    bootstrap, pb2_dir, key = sys.argv[1:4]
    sys.path.insert(0, pb2_dir)
    from charter.v1 import report_pb2, common_pb2  # noqa: E402
    from kafka import KafkaConsumer, TopicPartition

    topic = "charter.reports.v1"
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             consumer_timeout_ms=2500, auto_offset_reset="earliest")
    parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
    if not parts:
        print(json.dumps({"error": "no partitions for " + topic}))
        return 1
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    ends = consumer.end_offsets(parts)
    newest, records = None, 0
    if any(ends[p] > 0 for p in parts):
        for msg in consumer:
            if msg.key is not None and msg.key.decode() == key:
                records += 1
                newest = msg.value
            if all(consumer.position(p) >= ends[p] for p in parts):
                break
    consumer.close()
    if newest is None:
        print(json.dumps({"records": 0}))
        return 1
    snap = report_pb2.ReportSnapshot()
    snap.ParseFromString(newest)
    figures, targets = {}, {}
    for f in snap.figures:
        channel = common_pb2.Channel.Name(f.channel)
        channel = "" if channel == "CHANNEL_UNSPECIFIED" else channel[len("CHANNEL_"):].lower()
        name = "%s|%s|%s" % (f.name, channel, f.case_type)
        figures[name] = f.value
        if f.target:
            targets[name] = f.target
    print(json.dumps({
        "records": records, "organisation": snap.organisation, "period": snap.period,
        "events_counted": snap.events_counted,
        "generated_at_ms": snap.generated_at.seconds * 1000 + snap.generated_at.nanos // 1000000,
        "figures": figures, "targets": targets}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
