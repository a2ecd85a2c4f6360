#!/usr/bin/env bash
# Charter's delivery promises under real faults on Apache Kafka (the
# apache-kafka tier), on one 3-node KRaft cluster (replication factor 3,
# min.insync.replicas 2), counted at the far end by clients that share no
# code with Charter (kcat, protoc-generated Python, an aiosmtpd mailbox):
#
#   1. ingest under load while the Kafka node leading most partitions of
#      charter.contact.events.v1 is killed with kill -9. The gateway (four
#      threads) retries a 503 or 409 with the same gateway_message_id, as
#      docs/api.md asks. Every message answered 202 (or 200 to a retry) is on
#      the topic, exactly once by event id and once per gateway_message_id:
#      docs/api.md's duplicate policy ("the event is on the topic once").
#   2. two instances each of sla-timer and of notification in their consumer
#      groups; one of each killed with kill -9 while the contacts' timers fire
#      and their acknowledgements go out (by SMTP to a mailbox that drops a
#      repeated Message-ID, as Gmail does; notify.smtp.resend_unknown on, as
#      notification_crash_test.sh explains). Every contact's breach timer
#      (a reply promised within 10 seconds, never given) is on
#      charter.sla.timers.v1 (a timer fired again carries the same id:
#      allowed, consumers drop it), and every customer has exactly one
#      acknowledgement in the mailbox (sent at receipt, issue 17).
#   3. the killed node started again with scripts/kafka.sh restart; every
#      partition gets its three in-sync replicas back.
# Each part prints its counts; lost and duplicated must be 0.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notification_lib.sh"
T0=$(date +%s)
ORG=nottingham-city-homes

start_redis
start_apache_kafka 3
pass "3-node Apache Kafka up in $(($(date +%s) - T0)) s at $BOOTSTRAP"
start_smtp_sink 0 --dedupe-message-id
PB2="$WORK/pb2"
/usr/bin/python3 "$SRC/tests/integration/cases.py" pb2 "$SRC/proto" "$PB2"

POLICIES="$WORK/policies"
mkdir -p "$POLICIES"
policy_yaml "$ORG" "Nottingham City Homes" NCH "5 seconds" "10 seconds" \
  says="Acknowledged within five seconds, replied to within ten, for the fault test." >"$POLICIES/$ORG.yaml"
SLA_ENV=(CHARTER_SLA_POLICY_DIR="$POLICIES" CHARTER_SLA_LEASE_MS=3000)
NOTIFY_ENV=(CHARTER_NOTIFY_POLICY_DIR="$POLICIES" CHARTER_NOTIFY_TEMPLATE_DIR="$SRC/templates"
  CHARTER_NOTIFY_OUTBOX_DIR="$WORK/outbox" CHARTER_NOTIFY_EMAIL_TRANSPORT=smtp
  "CHARTER_NOTIFY_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT" CHARTER_NOTIFY_SMTP_FROM=noreply@council.example
  CHARTER_NOTIFY_SMTP_TIMEOUT_MS=5000 CHARTER_NOTIFY_HTTP_TIMEOUT_MS=5000 CHARTER_NOTIFY_SMTP_RESEND_UNKNOWN=true
  CHARTER_NOTIFY_LEASE_MS=8000
  CHARTER_NOTIFY_RETRY_BASE_MS=500 CHARTER_NOTIFY_RETRY_MAX_MS=2000 CHARTER_NOTIFY_MAX_IN_FLIGHT=32)

start_service ingest
start_service sla-timer "${SLA_ENV[@]}"
SLA_A=${SVC_PID[sla-timer]} SLA_A_PORT=${SVC_PORT[sla-timer]}
start_service notification "${NOTIFY_ENV[@]}"
NOTIFY_A=${SVC_PID[notification]} NOTIFY_A_PORT=${SVC_PORT[notification]}
SVC_PORT[sla-timer]= SVC_PORT[notification]= # the second instances get ports of their own
start_service sla-timer "${SLA_ENV[@]}"
start_service notification "${NOTIFY_ENV[@]}"
for s in ingest sla-timer notification; do wait_ready "$s"; done
wait_until 30 ready "$SLA_A_PORT" && wait_until 30 ready "$NOTIFY_A_PORT" || fail "first instances not ready"

# Both groups with two members, each holding partitions (Kafka's own view).
groups_formed() {
  bash "$SRC/scripts/kafka.sh" run org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
    --bootstrap-server "$BOOTSTRAP" --describe --members --group charter-sla-timer \
    --group charter-notification >"$WORK/groups.txt" 2>&1 || return 1
  [ "$(awk '$1 == "charter-sla-timer" && $NF > 0' "$WORK/groups.txt" | wc -l)" = 2 ] &&
    [ "$(awk '$1 == "charter-notification" && $NF > 0' "$WORK/groups.txt" | wc -l)" = 2 ]
}
wait_until 60 groups_formed || fail "the groups did not form with two members each: $(cat "$WORK/groups.txt")"
log "consumer groups as Kafka describes them:"
cat "$WORK/groups.txt"
pass "ingest, two sla-timers and two notifications ready; each group has two members with partitions ($(($(date +%s) - T0)) s in)"

# ---- the load: a gateway posting contacts for 20 s, retrying as api.md says ----
LOAD_SECONDS=${KAFKA_FAULTS_LOAD_SECONDS:-20}
/usr/bin/python3 - "http://127.0.0.1:${SVC_PORT[ingest]}" "$GATEWAY_ID" "$GATEWAY_KEY" "$ORG" \
  "$WORK/load.json" "$WORK/load.started" "$LOAD_SECONDS" <<'PY' &
import hashlib, hmac, json, sys, threading, time, urllib.request, urllib.error
url, gw, key, org, out, started, seconds = sys.argv[1:8]
results, lock = {}, threading.Lock()
stop_new = time.time() + int(seconds)  # new messages until then
deadline = time.time() + int(seconds) + 90  # retries until then
def post(body):
    t = str(int(time.time()))
    sig = hmac.new(key.encode(), (t + ".POST./v1/contacts." + body).encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request(url + "/v1/contacts", data=body.encode(), method="POST", headers={
        "Content-Type": "application/json", "X-Charter-Gateway": gw,
        "X-Charter-Signature": "t=%s,v2=%s" % (t, sig)})
    t0 = time.time()
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, json.loads(r.read()), time.time() - t0
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}"), time.time() - t0
    except (urllib.error.URLError, OSError) as e:  # no answer: retry the same message
        return 0, {"error": str(e)}, time.time() - t0
def worker(w):
    i = 0
    while time.time() < stop_new:
        mid = "fault-%d-%d" % (w, i)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        body = json.dumps({"organisation": org, "channel": "email", "received_at": now,
                           "gateway_message_id": mid,
                           "customer": {"name": "Customer %d-%d" % (w, i),
                                        "email": "c-%d-%d@example.org" % (w, i)}})
        i += 1
        tries = []
        while time.time() < deadline:
            st, ans, secs = post(body)
            tries.append([st, round(secs, 3), ans.get("case_id"), ans.get("event_id")])
            if st in (200, 202):
                break
            time.sleep(0.3)
        with lock:
            results[mid] = {"email": "c-%s@example.org" % mid[6:], "tries": tries}
        open(started, "w").write("1")
        time.sleep(0.02)
ts = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
json.dump(results, open(out, "w"))
PY
LOAD_PID=$!
PIDS+=("$LOAD_PID")
wait_until 20 test -s "$WORK/load.started" || fail "the load did not start"
LOAD_T0=$(date +%s)

# ---- kill -9 of the node leading most of the contact topic's partitions ----
sleep 3
leaders=$(for p in 0 1 2 3 4 5; do kafka_leader charter.contact.events.v1 "$p"; done)
VICTIM=$(sort <<<"$leaders" | uniq -c | sort -rn | awk 'NR == 1 { print $2 }')
[ -n "$VICTIM" ] || fail "no leader found for charter.contact.events.v1"
kill_kafka_node "$VICTIM"
log "killed Kafka node $VICTIM (pid ${KAFKA_NODE_PID[$VICTIM]}) with -9, $(($(date +%s) - LOAD_T0)) s into the load; it led partitions $(grep -c -x "$VICTIM" <<<"$leaders") of 6 of charter.contact.events.v1"

# ---- kill -9 of one sla-timer and one notification, while timers fire ----
# (the mailbox is read, not Kafka: kcat waits for partitions without a leader)
sent_count() { grep -c '"duplicate": false' "$SMTP_LOG" || true; }
some_sent() { [ "$(sent_count)" -ge 20 ] && [ $(($(date +%s) - LOAD_T0)) -ge 9 ]; }
wait_until 40 some_sent || fail "no acknowledgement reached the mailbox"
kill -KILL "$SLA_A" "$NOTIFY_A"
wait "$SLA_A" "$NOTIFY_A" 2>/dev/null || true
log "killed sla-timer (pid $SLA_A) and notification (pid $NOTIFY_A) with -9, $(($(date +%s) - LOAD_T0)) s into the load, after $(sent_count) acknowledgements were delivered"

for _ in $(seq 1 600); do kill -0 "$LOAD_PID" 2>/dev/null || break; sleep 0.2; done
kill -0 "$LOAD_PID" 2>/dev/null && fail "the load client still running 120 s after it started"
wait "$LOAD_PID" || fail "the load client failed"
log "load done in $(($(date +%s) - LOAD_T0)) s"

# ---- 1. ingest: every accepted message on the topic once ----
read_contacts() {
  kcat -b "$BOOTSTRAP" -C -t charter.contact.events.v1 -e -q -f '%R%s' 2>/dev/null |
    /usr/bin/python3 "$SRC/tests/integration/topic_read.py" "$PB2" CaseEvent >"$WORK/contacts.jsonl"
}
read_contacts || fail "could not read charter.contact.events.v1"
/usr/bin/python3 - "$WORK/load.json" "$WORK/contacts.jsonl" "$WORK/expected" <<'PY' || fail "ingest under a leader kill: see above"
import collections, json, sys
res = json.load(open(sys.argv[1]))
recs = [json.loads(l) for l in open(sys.argv[2])]
by_event = collections.Counter(r.get("event_id") for r in recs)
by_mid = collections.Counter(r["received"].get("gateway_message_id") for r in recs
                             if r.get("_type") == "received")
sent = len(res)
accepted = {m: t["tries"][-1] for m, t in res.items() if t["tries"][-1][0] in (200, 202)}
first = sum(1 for t in res.values() if t["tries"][0][0] == 202)
statuses = collections.Counter(x[0] for t in res.values() for x in t["tries"])
answers = {m: {(x[2], x[3]) for x in t["tries"] if x[0] in (200, 202)} for m, t in res.items()}
on_topic = sum(1 for m, a in accepted.items() if by_event[a[3]] >= 1)
lost = [m for m, a in accepted.items() if by_event[a[3]] == 0]
dup_events = sum(by_event[a[3]] - 1 for a in accepted.values() if by_event[a[3]] > 1)
dup_mids = sum(by_mid[m] - 1 for m in res if by_mid[m] > 1)
print("ingest: sent %d, accepted %d (202 at once %d), on the topic %d, lost %d, duplicated %d "
      "(by event_id) and %d (by gateway_message_id); answers seen: %s"
      % (sent, len(accepted), first, on_topic, len(lost), dup_events, dup_mids,
         ", ".join("%s x%d" % (k if k else "no answer", v) for k, v in sorted(statuses.items()))))
ok = True
def bad(msg):
    global ok
    ok = False
    print("FAIL: " + msg)
if sent < 100: bad("only %d messages sent" % sent)
if len(accepted) != sent: bad("%d messages never accepted: %s" % (sent - len(accepted), [m for m in res if m not in accepted][:5]))
if not any(k != 202 for k in statuses): bad("every request got 202 at once: the node kill was not felt")
if lost: bad("accepted but not on the topic: %s" % lost[:5])
if dup_events or dup_mids: bad("duplicates on the topic")
for m, a in answers.items():
    if len(a) > 1: bad("%s answered with different ids: %s" % (m, a))
with open(sys.argv[3], "w") as f:
    for m, a in sorted(accepted.items()):
        f.write("%s %s %s\n" % (m, a[2], res[m]["email"]))
sys.exit(0 if ok else 1)
PY
N=$(wc -l <"$WORK/expected")
pass "ingest with its partitions' leader killed: all $N accepted messages on the topic, none lost, none doubled"

# ---- 3. the killed node back ----
restart_kafka_node "$VICTIM"
pass "Kafka node $VICTIM restarted; every partition has three in-sync replicas again"

# ---- 2. timers: every contact's breach fired (nobody replies) ----
timer_counts() { # prints "expected fired lost repeats"
  kcat -b "$BOOTSTRAP" -C -t charter.sla.timers.v1 -e -q -f '%R%s' 2>/dev/null |
    /usr/bin/python3 "$SRC/tests/integration/topic_read.py" "$PB2" TimerFired >"$WORK/timers.jsonl" || return 1
  /usr/bin/python3 - "$WORK/expected" "$WORK/timers.jsonl" <<'PY'
import collections, json, sys
want = {l.split()[1] + "/breach" for l in open(sys.argv[1])}
fired = collections.Counter(json.loads(l).get("timer_id") for l in open(sys.argv[2]))
print(len(want), sum(1 for t in want if fired[t]), sum(1 for t in want if not fired[t]),
      sum(fired[t] - 1 for t in want if fired[t] > 1))
PY
}
all_timers() { read -r e f _ _ <<<"$(timer_counts)" && [ "$f" -ge "$e" ]; }
wait_until 90 all_timers || true
read -r E F L R <<<"$(timer_counts)"
log "timers: expected $E, fired $F, lost $L, fired again with the same id $R (dropped by consumers)"
[ "$L" = 0 ] && [ "$F" = "$E" ] || fail "$L of $E breach timers never fired"
pass "sla-timer with one of two instances killed: all $E timers fired, none lost"

# ---- 2. notification: each customer acknowledged once, as the customer sees it ----
mail_counts() { # prints "customers received lost duplicated repeats_dropped unexpected"
  /usr/bin/python3 - "$WORK/expected" "$SMTP_LOG" <<'PY'
import collections, json, sys
want = {l.split()[2] for l in open(sys.argv[1])}
got, repeats = collections.Counter(), 0
for l in open(sys.argv[2]):
    x = json.loads(l)
    if x["duplicate"]:  # a repeated Message-ID: the mailbox shows it once
        repeats += 1
        continue
    for r in x["rcpt_tos"]:
        got[r] += 1
print(len(want), sum(1 for w in want if got[w]), sum(1 for w in want if not got[w]),
      sum(got[w] - 1 for w in want if got[w] > 1), repeats, sum(v for k, v in got.items() if k not in want))
PY
}
all_mail() { read -r c r _ _ _ _ <<<"$(mail_counts)" && [ "$r" -ge "$c" ]; }
wait_until 90 all_mail || true
queue_empty() { [ "$(redis-cli -p "$REDIS_PORT" ZCARD charter:notify:queue)" = 0 ]; }
wait_until 60 queue_empty || log "notification queue not empty: $(redis-cli -p "$REDIS_PORT" ZCARD charter:notify:queue)"
sleep 2
read -r C RCV LOST DUP REP EXTRA <<<"$(mail_counts)"
RESENT=$(grep -c 'resending after an unknown outcome' "$WORK/notification.log" || true)
log "customers: $C, acknowledged $RCV, lost $LOST, sent twice as the customer sees it $DUP, repeats of a Message-ID the mailbox dropped $REP, resent after an unknown outcome $RESENT, unexpected recipients $EXTRA"
[ "$LOST" = 0 ] && [ "$DUP" = 0 ] && [ "$EXTRA" = 0 ] || fail "lost $LOST, duplicated $DUP, unexpected $EXTRA"
pass "notification with one of two instances killed: each of the $C customers acknowledged exactly once"

for s in ingest sla-timer notification; do stop_service "$s"; done
echo "kafka_faults: all checks passed in $(($(date +%s) - T0)) s"
