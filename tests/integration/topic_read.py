#!/usr/bin/python3
"""Test helper, independent of Charter's C code: decodes the records kcat
prints with `-f '%R%s'` (each value prefixed by its length as a big-endian
32-bit integer, -1 for none) with the protobuf modules protoc generated
from proto/ (cases.py pb2), and prints one JSON object per record: the
message in protobuf's JSON mapping with the proto field names, plus "_n"
(its place in the stream) and, for a CaseEvent, "_type" (its oneof member).

  kcat -b B -C -t charter.contact.events.v1 -e -q -f '%R%s' |
      topic_read.py PB2_DIR CaseEvent
"""
import json
import struct
import sys


def main():
    pb2_dir, type_name = sys.argv[1], sys.argv[2]
    sys.path.insert(0, pb2_dir)
    from google.protobuf import json_format
    from charter.v1 import case_event_pb2, timer_pb2, notification_pb2, report_pb2  # noqa: F401
    mods = [case_event_pb2, timer_pb2, notification_pb2, report_pb2]
    cls = next(getattr(m, type_name) for m in mods if hasattr(m, type_name))
    data = sys.stdin.buffer.read()
    pos = n = 0
    out = sys.stdout
    while pos + 4 <= len(data):
        (length,) = struct.unpack(">i", data[pos:pos + 4])
        pos += 4
        rec = {"_n": n}
        if length >= 0:
            msg = cls()
            msg.ParseFromString(data[pos:pos + length])
            pos += length
            rec.update(json_format.MessageToDict(msg, preserving_proto_field_name=True))
            if type_name == "CaseEvent":
                rec["_type"] = msg.WhichOneof("event")
        out.write(json.dumps(rec) + "\n")
        n += 1
    if pos != len(data):
        sys.exit("topic_read.py: %d trailing bytes: not a '%%R%%s' stream" % (len(data) - pos))


if __name__ == "__main__":
    main()
