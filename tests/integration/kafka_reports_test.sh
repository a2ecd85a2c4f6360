#!/usr/bin/env bash
# Reporting on Apache Kafka (the apache-kafka tier), on a 3-node KRaft
# cluster (replication factor 3, min.insync.replicas 2):
#   1. Rebuilt by replay: a few hundred cases of four organisations (with
#      responses, acknowledgements and satisfaction scores, all dated in the
#      past so no figure moves with the clock) go through ingest onto
#      charter.contact.events.v1's six partitions; reporting counts them. A
#      fresh reporting, with a new consumer group and a new redis-server,
#      replays the topic from the beginning (partitions interleaved
#      differently from the live run): every GET /v1/report is byte for byte
#      the same.
#   2. charter.reports.v1 compacted by Kafka: the topic is given a short
#      segment.ms, min.cleanable.dirty.ratio 0.01 and delete.retention.ms
#      (the brokers' log.cleaner.backoff.ms is 500 ms), reporting publishes a
#      snapshot per organisation and period on every change; once reporting
#      has stopped and a record with another key closes the last segment,
#      the log cleaner leaves exactly one record per key, the newest
#      (the same offset as before). Counted with kcat.
source "$(dirname "$0")/lib.sh"
T0=$(date +%s)

start_redis
start_apache_kafka 3 --set log.cleaner.backoff.ms=500
pass "3-node Apache Kafka up in $(($(date +%s) - T0)) s at $BOOTSTRAP"

# The test's compaction settings for charter.reports.v1 (production keeps Kafka's defaults).
bash "$SRC/scripts/kafka.sh" run org.apache.kafka.tools.ConfigCommand --bootstrap-server "$BOOTSTRAP" \
  --alter --entity-type topics --entity-name charter.reports.v1 \
  --add-config segment.ms=2000,min.cleanable.dirty.ratio=0.01,delete.retention.ms=1000 >"$WORK/configs.log" 2>&1 ||
  fail "could not set charter.reports.v1's compaction settings: $(cat "$WORK/configs.log")"
desc=$(bash "$SRC/scripts/kafka.sh" run org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
  --describe --topic charter.reports.v1 2>&1)
for want in cleanup.policy=compact segment.ms=2000 min.cleanable.dirty.ratio=0.01 delete.retention.ms=1000; do
  grep -qF "$want" <<<"$desc" || fail "charter.reports.v1 lacks $want: $desc"
done
pass "charter.reports.v1: cleanup.policy=compact, segment.ms=2000, min.cleanable.dirty.ratio=0.01, delete.retention.ms=1000"

REPORT_ENV=(CHARTER_REPORT_POLICY_DIR="$SRC/policies" CHARTER_REPORT_SNAPSHOT_INTERVAL_S=1)
start_service ingest
start_service reporting "${REPORT_ENV[@]}"
for s in ingest reporting; do wait_ready "$s"; done
IN=${SVC_PORT[ingest]}
REPORT=${SVC_PORT[reporting]}

# ---- the cases: four organisations, received over 25 days starting 60 days ago ----
/usr/bin/python3 - "http://127.0.0.1:$IN" "$GATEWAY_ID" "$GATEWAY_KEY" "$WORK/posted.json" <<'PY' || fail "posting the cases failed"
import datetime, hashlib, hmac, json, random, sys, threading, urllib.request, urllib.error
url, gw, key, out = sys.argv[1:5]
rnd = random.Random(13)
orgs = ["derby-homes", "nottingham-city-homes", "nihe", "customer-care-council"]
def post(path, doc):
    body = json.dumps(doc)
    t = str(int(datetime.datetime.now().timestamp()))
    sig = hmac.new(key.encode(), (t + ".POST." + path + "." + body).encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request(url + path, data=body.encode(), method="POST", headers={
        "Content-Type": "application/json", "X-Charter-Gateway": gw,
        "X-Charter-Signature": "t=%s,v2=%s" % (t, sig)})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 202, r.status
        return json.loads(r.read())
def iso(d): return d.strftime("%Y-%m-%dT%H:%M:%SZ")
plans = []
base = (datetime.datetime.utcnow() - datetime.timedelta(days=60)).replace(hour=8, minute=0, second=0, microsecond=0)
for i in range(240):
    org = orgs[i % 4]
    # everything in the past: ingest refuses times ahead of its clock
    received = base + datetime.timedelta(minutes=rnd.randrange(0, 25 * 24 * 60))
    channel = rnd.choice(["letter", "email", "online_form"])
    events = []
    if channel == "email" and rnd.random() < 0.7:
        events.append({"type": "acknowledged", "occurred_at": iso(received + datetime.timedelta(seconds=rnd.randrange(5, 90000))), "by": "automatic"})
    if rnd.random() < 0.75:
        answered = received + datetime.timedelta(hours=rnd.randrange(2, 24 * 20))
        events.append({"type": "responded", "occurred_at": iso(answered)})
        if rnd.random() < 0.3:
            events.append({"type": "satisfaction", "occurred_at": iso(answered + datetime.timedelta(days=1)),
                           "score": rnd.randrange(1, 6), "max_score": 5})
    plans.append((i, org, channel, iso(received), events))
done, lock = [], threading.Lock()
errors = []
def worker(part):
    try:
        work(part)
    except Exception as e:  # a refused post fails the test, never shrinks it
        with lock:
            errors.append("%s: %s" % (type(e).__name__, getattr(e, "read", lambda: b"")() or e))
def work(part):
    for i, org, channel, received, events in plans[part::4]:
        a = post("/v1/contacts", {"organisation": org, "channel": channel, "case_type": "enquiry",
                                  "received_at": received, "gateway_message_id": "rep-%d" % i})
        for e in events:
            post("/v1/cases/%s/events" % a["case_id"], dict(e, organisation=org))
        with lock:
            done.append([a["case_id"], org, len(events) + 1])
ts = [threading.Thread(target=worker, args=(p,)) for p in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
if errors:
    sys.exit("posting failed: %s" % errors[:3])
json.dump(done, open(out, "w"))
print("posted %d cases, %d events" % (len(done), sum(d[2] for d in done)))
PY
EVENTS=$(/usr/bin/python3 -c 'import json,sys; print(sum(d[2] for d in json.load(open(sys.argv[1]))))' "$WORK/posted.json")
pass "240 cases of four organisations posted through ingest: $EVENTS events ($(($(date +%s) - T0)) s in)"

metric() { # PORT NAME -> the value of an unlabelled metric
  curl -fsS "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'
}
drained() { # reporting took in every record ingest wrote and finished each one
  local consumed inflight
  consumed=$(metric "$REPORT" charter_kafka_consumed_total) || return 1
  inflight=$(metric "$REPORT" charter_inflight_messages) || return 1
  [ "${consumed%.*}" = "$EVENTS" ] && [ "${inflight%.*}" = 0 ]
}
wait_until 60 drained || fail "reporting consumed $(metric "$REPORT" charter_kafka_consumed_total) of $EVENTS records"
QUERIES=()
for org in derby-homes nottingham-city-homes nihe customer-care-council; do
  QUERIES+=("organisation=$org" "organisation=$org&granularity=day" "organisation=$org&granularity=year"
    "organisation=$org&channel=email&granularity=day")
done
snapshot_reports() { # DIR: every query's body, one file each
  local q i=0
  mkdir -p "$1"
  for q in "${QUERIES[@]}"; do
    curl -fsS "http://127.0.0.1:$REPORT/v1/report?$q" >"$1/$i.json" || return 1
    i=$((i + 1))
  done
}
sleep 2 # the last figures written (the counting is done once consumed, the figures follow)
snapshot_reports "$WORK/live" || fail "GET /v1/report failed"
received=$(/usr/bin/python3 -c '
import json, sys
print(sum(json.load(open("%s/%d.json" % (sys.argv[1], i)))["figures"]["received"] for i in (0, 4, 8, 12)))' "$WORK/live")
[ "$received" = 240 ] || fail "the live reports count $received cases received, not 240"
pass "reporting counted all $EVENTS events; the four organisations' reports add up to 240 cases received"

# ---- 1. a fresh reporting with a new Redis replays the topic ----
stop_service reporting
FIRST_REDIS_PORT=$REDIS_PORT
REDIS_PORT=
start_redis # a new, empty redis-server; REDIS_URL now points at it
[ "$REDIS_PORT" != "$FIRST_REDIS_PORT" ] || fail "the second redis-server got the first one's port"
SVC_PORT[reporting]=
T1=$(date +%s)
start_service reporting "${REPORT_ENV[@]}" CHARTER_KAFKA_GROUP_ID=charter-reporting-replay
wait_ready reporting
REPORT=${SVC_PORT[reporting]}
wait_until 90 drained || fail "the replay consumed $(metric "$REPORT" charter_kafka_consumed_total) of $EVENTS records"
same() { snapshot_reports "$WORK/replay" && diff -r -q "$WORK/live" "$WORK/replay" >/dev/null; }
wait_until 30 same || fail "the replayed reports differ: $(diff -r "$WORK/live" "$WORK/replay" | head -c 2000)"
bytes=$(cat "$WORK"/live/*.json | wc -c)
[ "$(redis-cli -p "$REDIS_PORT" --scan --pattern 'charter:report:*' | wc -l)" -gt 0 ] ||
  fail "the replay wrote nothing to the new redis-server"
pass "a fresh reporting (new group, new redis-server) replayed the topic in $(($(date +%s) - T1)) s: ${#QUERIES[@]} reports, $bytes bytes, byte for byte the same"

# ---- 2. compaction of charter.reports.v1 ----
stop_service reporting # nothing publishes snapshots from now on
kcat -b "$BOOTSTRAP" -C -t charter.reports.v1 -e -q -f '%k %o\n' >"$WORK/reports.before" 2>/dev/null ||
  fail "could not read charter.reports.v1"
published=$(($(awk '$2 > m { m = $2 } END { print m + 0 }' "$WORK/reports.before") + 1)) # the newest is never cleaned
before=$(wc -l <"$WORK/reports.before")
keys=$(awk '{ print $1 }' "$WORK/reports.before" | sort -u | wc -l)
[ "$published" -gt $((keys * 2)) ] || fail "only $published snapshots published for $keys keys: nothing to compact"
sleep 3 # older than segment.ms: the next record rolls the segment
printf 'roll' | kcat -b "$BOOTSTRAP" -P -t charter.reports.v1 -k compaction-test/roll
one_per_key() {
  kcat -b "$BOOTSTRAP" -C -t charter.reports.v1 -e -q -f '%k %o\n' >"$WORK/reports.after" 2>/dev/null || return 1
  /usr/bin/python3 - "$WORK/reports.before" "$WORK/reports.after" <<'PY'
import collections, sys
last = {}
for l in open(sys.argv[1]):
    k, o = l.split()
    last[k] = max(int(o), last.get(k, -1))
after = collections.defaultdict(list)
for l in open(sys.argv[2]):
    k, o = l.split()
    after[k].append(int(o))
ok = all(after.get(k) == [o] for k, o in last.items()) and set(after) == set(last) | {"compaction-test/roll"}
sys.exit(0 if ok else 1)
PY
}
wait_until 60 one_per_key || fail "after 60 s charter.reports.v1 still holds $(wc -l <"$WORK/reports.after") records for $keys keys (read before the roll: $before)"
cleaned=$(grep -h 'Cleaner.*charter.reports.v1\|charter.reports.v1.*[Cc]lean' "$WORK"/kafka/node*/server.log | wc -l)
log "charter.reports.v1: $published snapshots published for $keys keys ($before still there when reporting stopped); after the log cleaner: $(($(wc -l <"$WORK/reports.after") - 1)) (one per key, each the newest offset); cleaner log lines naming the topic: $cleaned"
pass "charter.reports.v1 compacted by Kafka's log cleaner to the newest snapshot of each of its $keys keys"

stop_service ingest
echo "kafka_reports: all checks passed in $(($(date +%s) - T0)) s"
