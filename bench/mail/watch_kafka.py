#!/usr/bin/env python3
"""Watches charter.contact.events.v1 for the benchmark's messages: from the
topic's end when it starts, every record whose value holds a benchmark
Message-ID (inject.py's TAG.SEQ@bench.charter.localhost, or smtp-source's
PID.FD.COUNT@TAG.src.bench; the event's gateway_message_id) is written to
OUT as "TAG SEQ record_timestamp_ms seen_ns": the record's
Kafka timestamp (CreateTime: set by ingest as it produces the record, which
the broker then confirms) and the instant this consumer received it (an upper
bound: it adds the consumer's fetch). Records are matched by bytes, without
decoding the protobuf: the Message-ID appears in the event as it was sent.

Runs until SIGTERM; writes READY once it holds every partition's end offset,
so run.sh starts injecting only after that. Debian's python3-kafka.

Usage: watch_kafka.py BOOTSTRAP OUT READY [TOPIC]
"""
import re
import signal
import sys
import time

from kafka import KafkaConsumer, TopicPartition

# tags are rN-...: the byte before a string in a protobuf is its length, which may
# itself be a letter or digit; a tag starting "r<digit>" cannot take it in
TOKEN = re.compile(rb"(r[0-9]+-[A-Za-z0-9-]+)\.([0-9]+)@bench\.charter\.localhost")
# smtp-source's own: <PID.FD.COUNT@HOSTNAME> in hex (%04x), run.sh's HOSTNAME being
# TAG.src.bench; FD.COUNT is distinct in a run (PID is the same, and left out: see TOKEN)
SRC = re.compile(rb"\.([0-9a-f]{4}\.[0-9a-f]{4,})@(r[0-9]+-[A-Za-z0-9-]+)\.src\.bench")


def main():
    bootstrap, out, ready = sys.argv[1:4]
    topic = sys.argv[4] if len(sys.argv) > 4 else "charter.contact.events.v1"
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             fetch_max_wait_ms=10, max_poll_records=5000)
    deadline = time.time() + 60
    parts = None
    while not parts:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            if time.time() > deadline:
                print("watch_kafka: no topic %s" % topic, file=sys.stderr)
                return 1
            time.sleep(0.5)
    tps = [TopicPartition(topic, p) for p in sorted(parts)]
    consumer.assign(tps)
    consumer.seek_to_end(*tps)
    for tp in tps:
        consumer.position(tp)  # resolves the end offset now, before injection starts
    open(ready, "w").write("ready\n")
    with open(out, "a") as f:
        while not stop:
            batch = consumer.poll(timeout_ms=100)
            now = time.time_ns()
            for records in batch.values():
                for r in records:
                    v = r.value or b""
                    m = TOKEN.search(v)
                    if m:
                        tag, seq = m.group(1), m.group(2)
                    else:
                        m = SRC.search(v)
                        if not m:
                            continue
                        tag, seq = m.group(2), m.group(1)
                    f.write("%s %s %d %d\n" % (tag.decode(), seq.decode(), r.timestamp, now))
            f.flush()
    consumer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
