#!/usr/bin/env bash
# kill -9 of notification while 2,000 acknowledgements are being sent (1,000
# by SMTP to a real aiosmtpd server, 1,000 SMS through the HTTP gateway),
# then a restart: every customer gets exactly one acknowledgement. Counted
# from the SMTP server's log (messages per recipient, a repeated Message-ID
# counting as the repeat a deduplicating mailbox drops) and the gateway's log
# (accepted requests per number, a repeated reference counting as the repeat
# the gateway drops); lost and duplicate counts are printed and both must be
# 0. The receivers deduplicate, so notification runs with
# notify.smtp.resend_unknown on: an email the crash left "committed" (the end
# of the message may have reached the server) is sent again with the same
# Message-ID. Without that setting such an email is reported to staff and not
# resent; aiosmtpd drops a message whose client vanished before its answer,
# so some customers would then get nothing (measured: 6 of 2,000 per run).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notification_lib.sh"

N=${NOTIFY_CRASH_N:-2000}
start_redis
start_broker
start_smtp_sink 0 --dedupe-message-id
start_gateway
POLICIES="$WORK/policies"
write_short_policy "$POLICIES"
mapfile -t NENV < <(notify_transport_env)
NENV+=(CHARTER_NOTIFY_OUTBOX_DIR="$WORK/outbox" CHARTER_NOTIFY_TEMPLATE_DIR="$SRC/templates"
  CHARTER_NOTIFY_POLICY_DIR="$POLICIES" CHARTER_NOTIFY_MAX_IN_FLIGHT=32
  CHARTER_NOTIFY_SMTP_RESEND_UNKNOWN=true)
start_service ingest CHARTER_INGEST_MAX_BODY_BYTES=1048576
start_service sla-timer CHARTER_SLA_POLICY_DIR="$POLICIES"
start_service notification "${NENV[@]}"
for s in ingest sla-timer notification; do wait_ready "$s"; done
IN=${SVC_PORT[ingest]}

NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for part in 0 1 2 3; do
  BATCH=$(/usr/bin/python3 - "$NOW" "$N" "$part" <<'PY'
import json, sys
now, n, part = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(part * n // 4, (part + 1) * n // 4):
    c = {"name": f"Customer {i}"}
    if i % 2: c["phone"] = f"0770{i:07d}"
    else: c["email"] = f"c{i:05d}@example.org"
    print(json.dumps({"type": "received", "organisation": "nottingham-city-homes",
                      "channel": "sms" if i % 2 else "email", "received_at": now,
                      "gateway_message_id": f"crash-{i}", "customer": c}))
PY
)
  r=$(post_json "$IN" /v1/events "$BATCH" application/x-ndjson)
  [ "${r%% *}" = 200 ] && grep -qF "\"accepted\":$((N / 4))" <<<"$r" || fail "batch $part: ${r:0:300}"
done
pass "$N contacts accepted (half email, half SMS)"

delivered() { echo $(( $(grep -c '"duplicate": false' "$SMTP_LOG" || true) + $(grep -c '"status":201,"duplicate":false' "$GATEWAY_LOG" || true) )); }
at_least() { [ "$(delivered)" -ge "$1" ]; }
wait_until 120 at_least $((N / 5)) || fail "sending did not start: $(delivered) delivered"
kill -KILL "${SVC_PID[notification]}"
wait "${SVC_PID[notification]}" 2>/dev/null || true
AT_KILL=$(delivered)
pass "notification killed with SIGKILL after $AT_KILL of $N deliveries"

start_service notification "${NENV[@]}"
wait_ready notification
queue_empty() { [ "$(redis-cli -p "$REDIS_PORT" ZCARD charter:notify:queue)" = 0 ]; }
settled() { [ "$(delivered)" -ge "$N" ]; }
wait_until 180 settled || log "only $(delivered) of $N delivered"
wait_until 60 queue_empty || fail "queue not drained: $(redis-cli -p "$REDIS_PORT" ZCARD charter:notify:queue) left"
sleep 2

COUNTS=$(/usr/bin/python3 - "$SMTP_LOG" "$GATEWAY_LOG" "$N" <<'PY'
import collections, json, sys
smtp, gw, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
got = collections.Counter()
repeats = 0
for l in open(smtp):
    x = json.loads(l)
    if x["duplicate"]:
        repeats += 1
        continue
    for r in x["rcpt_tos"]:
        got[r] += 1
for l in open(gw):
    x = json.loads(l)
    if x["status"] != 201:
        continue
    if x["duplicate"]:
        repeats += 1
        continue
    got[x["body"]["phone_number"]] += 1
want = [f"+44770{i:07d}" if i % 2 else f"c{i:05d}@example.org" for i in range(n)]
lost = sum(1 for w in want if got[w] == 0)
dup = sum(got[w] - 1 for w in want if got[w] > 1)
extra = sum(v for k, v in got.items() if k not in set(want))
print(lost, dup, extra, repeats)
PY
)
read -r LOST DUP EXTRA REPEATS <<<"$COUNTS"
RESENT=$(grep -c 'resending after an unknown outcome' "$WORK/notification.log" || true)
log "customers: $N; lost: $LOST; duplicates: $DUP; unexpected recipients: $EXTRA; repeats the receivers dropped (reference / Message-ID): $REPEATS; resent after an unknown outcome: $RESENT"
[ "$LOST" = 0 ] && [ "$DUP" = 0 ] && [ "$EXTRA" = 0 ] || fail "lost $LOST, duplicates $DUP, unexpected $EXTRA"
pass "after kill -9 and restart each of the $N customers received exactly one acknowledgement"
for s in ingest sla-timer notification; do stop_service "$s"; done
echo "notification_crash: all checks passed"
