#!/usr/bin/env python3
"""Writes N signed POST /v1/contacts requests for the ingest benchmark.

Each line is "SIGNATURE<TAB>BODY": a realistic contact (docs/api.md) with its own
gateway_message_id, so no request is a duplicate and every 202 is a new Kafka
record, signed X-Charter-Signature: t=T,v2=HMAC-SHA256(key, T + ".POST./v1/contacts." + body)
(scheme v2: the method and the path wrk posts to are signed with the body).
Signatures are valid for 5 minutes from T, so run this right before wrk.

With ORGANISATION every request names it instead of the five charters'
organisations: run.sh's parse-only rounds name one ingest does not know, so
ingest authenticates, parses and validates each request and answers 422
before Redis or Kafka.

Usage: gen_requests.py OUT N KEY_FILE RUN_TAG [ORGANISATION]
"""
import hashlib
import hmac
import json
import sys
import time

ORGS = ["nottingham-city-homes", "derby-homes", "nihe", "digital-first-council",
        "customer-care-council"]
CHANNELS = ["email", "online_form", "phone", "sms", "social", "letter"]
SUMMARIES = [
    "Gutter leaking above the back door, water coming into the kitchen since Friday",
    "Boiler has no hot water again after last week's repair, two small children at home",
    "Neighbour's dog barking through the night, third time I have reported this",
    "Request for a copy of all the information you hold about me (subject access)",
    "Complaint about the length of time taken to fix the damp in the bedroom",
]


def main():
    out, n, key_file, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    orgs = sys.argv[5:6] or ORGS
    key = open(key_file, "rb").read().strip()
    t = str(int(time.time())).encode()
    with open(out, "wb") as f:
        for i in range(n):
            body = json.dumps({
                "organisation": orgs[i % len(orgs)],
                "channel": CHANNELS[i % len(CHANNELS)],
                "received_at": "2026-11-23T09:%02d:%02dZ" % (i // 60 % 60, i % 60),
                "customer": {"name": "Ann Example", "email": "ann.example+%d@example.org" % i,
                             "phone": "07700%06d" % (i % 1000000)},
                "summary": SUMMARIES[i % len(SUMMARIES)],
                "case_type": "complaint_stage_1" if i % 4 == 0 else "enquiry",
                "gateway_message_id": "bench-%s-%d" % (tag, i),
            }, separators=(",", ":")).encode()
            mac = hmac.new(key, t + b".POST./v1/contacts." + body, hashlib.sha256).hexdigest().encode()
            f.write(b"t=" + t + b",v2=" + mac + b"\t" + body + b"\n")


if __name__ == "__main__":
    main()
