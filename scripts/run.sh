#!/usr/bin/env bash
# `make run`: the whole of Charter on one machine, on the embedded defaults.
#
#   - redis-server on its own port (6390) with its data under var/redis,
#     unless REDIS_URL is set;
#   - charter-broker (librdkafka's mock cluster: in memory, loopback only) on
#     127.0.0.1:9092, unless KAFKA_BOOTSTRAP is set; or, with KAFKA=apache,
#     Apache Kafka (scripts/kafka.sh: one KRaft node on 127.0.0.1:9092, data
#     in var/kafka, kept across runs; its first start fetches it with Maven);
#   - the four services, logging JSON lines to var/log/<service>.log;
#   - a development gateway "dev" for ingest, its signing key kept in
#     var/dev-gateway.key (created once, readable by you only);
#   - demo traffic for all five charters, signed as "dev".
#
# Ctrl-C stops everything this script started, and nothing else. Each child
# runs in its own session (setsid) so the terminal's Ctrl-C reaches only this
# script, which then stops them in order: demo traffic and services first
# (so they commit their offsets), the broker and Redis last.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD_DIR:-build}
VAR=$ROOT/var
KAFKA=${KAFKA:-embedded}
case $KAFKA in
  embedded | apache) ;;
  *) echo "charter: KAFKA=$KAFKA: use KAFKA=embedded (the default) or KAFKA=apache" >&2; exit 2 ;;
esac
mkdir -p "$VAR/log" "$VAR/redis"
(umask 077 && mkdir -p "$VAR/outbox") # names and addresses: the service's user only

PIDS=()
NAMES=()
WAITS=()
stopping=0
stop_all() {
  [ "$stopping" = 1 ] && return
  stopping=1
  echo
  echo "charter: stopping what make run started..."
  local i
  for (( i=${#PIDS[@]}-1; i>=0; i-- )); do # newest first: Kafka and Redis go last
    kill -TERM "${PIDS[$i]}" 2>/dev/null || continue
    for _ in $(seq 1 $((WAITS[i] * 10))); do kill -0 "${PIDS[$i]}" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "${PIDS[$i]}" 2>/dev/null; then
      echo "charter: ${NAMES[$i]} did not stop in ${WAITS[i]} s; killing it"
      kill -KILL "${PIDS[$i]}" 2>/dev/null || true
    fi
  done
  wait 2>/dev/null || true
  echo "charter: stopped."
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# started PID NAME [SECONDS]: stop_all gives it SECONDS (default 7) after SIGTERM.
started() { PIDS+=("$1"); NAMES+=("$2"); WAITS+=("${3:-7}"); }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # wait_for SECONDS WHAT CMD...
  local deadline=$(( $(date +%s) + $1 )) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "charter: $what did not come up; see var/log/" >&2
      exit 1
    fi
    sleep 0.2
  done
}

# ---- Redis ----
if [ -n "${REDIS_URL:-}" ]; then
  echo "charter: using Redis at $REDIS_URL"
else
  rport=${CHARTER_DEV_REDIS_PORT:-6390}
  if port_busy "$rport"; then
    echo "charter: port $rport is in use; set CHARTER_DEV_REDIS_PORT or REDIS_URL" >&2
    exit 1
  fi
  setsid redis-server --port "$rport" --bind 127.0.0.1 --dir "$VAR/redis" --appendonly yes \
    --save "" --daemonize no >"$VAR/log/redis.log" 2>&1 &
  started $! redis-server
  REDIS_URL="redis://127.0.0.1:$rport/0"
  wait_for 10 "redis-server" redis-cli -p "$rport" ping
fi

# ---- Kafka ----
if [ -n "${KAFKA_BOOTSTRAP:-}" ]; then
  echo "charter: using Kafka at $KAFKA_BOOTSTRAP"
  KAFKA="yours: KAFKA_BOOTSTRAP"
elif [ "$KAFKA" = apache ]; then
  if port_busy 9092; then
    echo "charter: 127.0.0.1:9092 is in use; stop what is there or set KAFKA_BOOTSTRAP" >&2
    exit 1
  fi
  echo "charter: starting Apache Kafka (one KRaft node; about 15 s, longer the first time: Maven fetches it)"
  rm -f "$VAR/kafka.ready"
  setsid bash scripts/kafka.sh start --nodes 1 --port 9092 --dir "$VAR/kafka" --ready-file "$VAR/kafka.ready" \
    --owner $$ >"$VAR/log/kafka.out" 2>"$VAR/log/kafka.log" &
  started $! "Apache Kafka" 25
  KAFKA_BOOTSTRAP=127.0.0.1:9092
  deadline=$(($(date +%s) + 300))
  until [ -s "$VAR/kafka.ready" ]; do
    if ! kill -0 "${PIDS[-1]}" 2>/dev/null || [ "$(date +%s)" -ge "$deadline" ]; then
      echo "charter: Apache Kafka did not come up; see var/log/kafka.log and var/kafka/node1/server.log" >&2
      exit 1
    fi
    sleep 0.5
  done
  KAFKA="Apache Kafka $(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' deploy/kafka/pom.xml), one node"
else
  if port_busy 9092; then
    echo "charter: 127.0.0.1:9092 is in use; stop what is there or set KAFKA_BOOTSTRAP" >&2
    exit 1
  fi
  rm -f "$VAR/broker.ready"
  setsid "$BUILD/tools/broker/charter-broker" --listen 127.0.0.1:9092 --control 127.0.0.1:9093 \
    --ready-file "$VAR/broker.ready" >"$VAR/log/broker.out" 2>"$VAR/log/broker.log" &
  started $! charter-broker
  KAFKA_BOOTSTRAP=127.0.0.1:9092
  wait_for 15 "charter-broker" test -s "$VAR/broker.ready"
  KAFKA="the embedded broker"
fi

# ---- the development gateway ----
# ingest authenticates every request (docs/api.md). The key stays the same
# across runs so a shell that signs with it keeps working.
DEV_KEY_FILE=$VAR/dev-gateway.key
if [ ! -s "$DEV_KEY_FILE" ]; then
  ( umask 077; openssl rand -hex 32 >"$DEV_KEY_FILE" )
fi
if [ -z "${CHARTER_INGEST_GATEWAYS_FILE:-}" ]; then
  ( umask 077; printf '# written by make run: ID KEY [KEY2] orgs=ORG,... (dev writes for the five charters; mail is the SMTP listener)\ndev %s orgs=%s\nmail orgs=%s\n' \
    "$(cat "$DEV_KEY_FILE")" nottingham-city-homes,derby-homes,nihe,digital-first-council,customer-care-council \
    nottingham-city-homes,derby-homes,nihe,digital-first-council,customer-care-council >"$VAR/gateways" )
  export CHARTER_INGEST_GATEWAYS_FILE=$VAR/gateways
fi

# ---- Meta's webhooks (docs/gateways.md) ----
# A development app secret and verify token, random, readable by you only and
# kept across runs, for every organisation of the demo at
# /v1/gateways/meta/<organisation>.
for f in dev-meta.secret dev-meta.verify-token; do
  [ -s "$VAR/$f" ] || ( umask 077; openssl rand -hex 32 >"$VAR/$f" )
done
DEMO_META_SECRET_FILE= # the demo signs Messenger webhooks only with the secret make run configured
if [ -z "${CHARTER_INGEST_META_FILE:-}" ]; then
  DEMO_META_SECRET_FILE=$VAR/dev-meta.secret
  ( umask 077
    {
      echo '# written by make run: ORGANISATION app_secret_file= verify_token_file= [accounts=] [case_type=]'
      for org in nottingham-city-homes derby-homes nihe digital-first-council customer-care-council; do
        printf '%s app_secret_file=%s verify_token_file=%s\n' "$org" "$VAR/dev-meta.secret" "$VAR/dev-meta.verify-token"
      done
    } >"$VAR/meta" )
  export CHARTER_INGEST_META_FILE=$VAR/meta
fi

# ---- the four services ----
export CHARTER_REDIS_URL="$REDIS_URL"
export CHARTER_KAFKA_BOOTSTRAP_SERVERS="$KAFKA_BOOTSTRAP"
# Development settings: a consumer group that rejoins quickly; the five
# shipped charters in policies/.
export CHARTER_KAFKA_SESSION_TIMEOUT_MS=${CHARTER_KAFKA_SESSION_TIMEOUT_MS:-6000}
export CHARTER_KAFKA_HEARTBEAT_INTERVAL_MS=${CHARTER_KAFKA_HEARTBEAT_INTERVAL_MS:-1000}
export CHARTER_SLA_POLICY_DIR=${CHARTER_SLA_POLICY_DIR:-$ROOT/policies}
export CHARTER_INGEST_POLICY_DIR=${CHARTER_INGEST_POLICY_DIR:-$ROOT/policies}
export CHARTER_REPORT_POLICY_DIR=${CHARTER_REPORT_POLICY_DIR:-$ROOT/policies}
export CHARTER_NOTIFY_POLICY_DIR=${CHARTER_NOTIFY_POLICY_DIR:-$ROOT/policies}
export CHARTER_NOTIFY_TEMPLATE_DIR=${CHARTER_NOTIFY_TEMPLATE_DIR:-$ROOT/templates}
export CHARTER_NOTIFY_OUTBOX_DIR=${CHARTER_NOTIFY_OUTBOX_DIR:-$VAR/outbox}
# E-mail in: ingest's SMTP listener; <organisation-id>@charter.localhost is each organisation
export CHARTER_INGEST_MAIL_LISTEN=${CHARTER_INGEST_MAIL_LISTEN-127.0.0.1:2525}
DEMO_MAIL= # the demo mails <organisation-id>@charter.localhost only with make run's mailbox file
if [ -z "${CHARTER_INGEST_MAILBOXES:-}" ]; then
  DEMO_MAIL=$CHARTER_INGEST_MAIL_LISTEN
  printf '# written by make run: ADDRESS ORGANISATION [CASE_TYPE], or *@DOMAIN (docs/gateways.md)\n*@charter.localhost\n' >"$VAR/mailboxes"
  export CHARTER_INGEST_MAILBOXES=$VAR/mailboxes
fi
for s in ingest sla-timer notification reporting; do
  setsid "$BUILD/services/$s/charter-$s" >>"$VAR/log/$s.log" 2>&1 &
  started $! "charter-$s"
done
for port in 8080 8081 8082 8083; do
  wait_for 30 "the service on port $port" curl -fsS "http://127.0.0.1:$port/readyz"
done

# ---- demo traffic ----
# e-mail over SMTP to the listener, Messenger webhooks, the rest over the API
DEMO_GATEWAY=dev DEMO_KEY_FILE=$DEV_KEY_FILE DEMO_REDIS_URL=$REDIS_URL DEMO_MAIL=$DEMO_MAIL \
  DEMO_MAIL_PROTOCOL=${CHARTER_INGEST_MAIL_PROTOCOL:-smtp} \
  DEMO_META_SECRET_FILE=$DEMO_META_SECRET_FILE \
  setsid bash scripts/demo-traffic.sh http://127.0.0.1:8080 >"$VAR/log/demo.log" 2>&1 &
started $! demo-traffic

cat <<INFO

Charter is running on Kafka $KAFKA_BOOTSTRAP ($KAFKA) and Redis $REDIS_URL.

  Post a contact     every request is signed by a gateway; "dev" has its key in var/dev-gateway.key:
                     body='{"organisation":"nottingham-city-homes","channel":"email","received_at":"$(date -u +%Y-%m-%dT%H:%M:%SZ)","customer":{"name":"Ann","email":"ann@example.org"},"summary":"Gutter leaking"}'
                     t=\$(date +%s); sig=\$(printf '%s.POST./v1/contacts.%s' "\$t" "\$body" | openssl dgst -sha256 -hmac "\$(cat var/dev-gateway.key)" -r | cut -d' ' -f1)
                     curl -X POST -H 'Content-Type: application/json' -H 'X-Charter-Gateway: dev' \\
                       -H "X-Charter-Signature: t=\$t,v2=\$sig" --data-binary "\$body" http://127.0.0.1:8080/v1/contacts
                     (the API, batches and every event type: docs/api.md)
  Send an e-mail     swaks --server 127.0.0.1:2525 --to nottingham-city-homes@charter.localhost --from ann@example.org \\
                       --header 'Subject: Gutter leaking' --body 'The gutter at 4 Elm Road is leaking.'
                     (SMTP into ingest; <organisation-id>@charter.localhost for each organisation)
  Meta webhook       a Messenger message, signed with the development app secret in var/dev-meta.secret:
                     body='{"object":"page","entry":[{"id":"1","messaging":[{"sender":{"id":"6789"},"recipient":{"id":"1"},"timestamp":'\$(date +%s000)',"message":{"mid":"m_1","text":"Gutter leaking"}}]}]}'
                     sig=\$(printf '%s' "\$body" | openssl dgst -sha256 -hmac "\$(cat var/dev-meta.secret)" -r | cut -d' ' -f1)
                     curl -X POST -H 'Content-Type: application/json' -H "X-Hub-Signature-256: sha256=\$sig" \\
                       --data-binary "\$body" http://127.0.0.1:8080/v1/gateways/meta/nottingham-city-homes
                     (verify token for Meta's handshake: var/dev-meta.verify-token; docs/gateways.md)
  Dashboard          http://127.0.0.1:8081/   (every promise of the five charters: this month against
                     the target, 12-month trends, overdue cases; ?month=YYYY-MM for another month)
  Work queue         http://127.0.0.1:8081/queue   (open cases overdue, due today and this week, by
                     team and owner; each reference opens its case page, /cases/<reference>)
  Report (JSON)      curl 'http://127.0.0.1:8081/v1/report?organisation=nottingham-city-homes'
  Annual table       build/tools/charterctl/charterctl report --organisation nihe --year $(date +%Y) --format csv
  Outbox             var/outbox/<organisation>.jsonl   (acknowledgements the charters promise on receipt)
  Pending timers     build/tools/charterctl/charterctl timers --due-within 24h --redis $REDIS_URL
  Watch a topic      kcat -b $KAFKA_BOOTSTRAP -C -t charter.contact.events.v1 -e
                     (topics: charter.contact.events.v1, charter.sla.timers.v1, charter.notify.outcomes.v1, charter.notify.receipts.v1,
                      charter.reports.v1 (report snapshots, protobuf), charter.dlq.v1)
  Health, metrics    http://127.0.0.1:808{0,1,2,3}/readyz and /metrics  (ingest, reporting, sla-timer, notification)
  Logs               var/log/*.log   (JSON lines; demo traffic in var/log/demo.log; with KAFKA=apache,
                     the broker's in var/kafka/node1/server.log)

Press Ctrl-C to stop everything make run started.
INFO

wait -n "${PIDS[@]}" || true
if [ "$stopping" = 0 ]; then
  for i in "${!PIDS[@]}"; do
    kill -0 "${PIDS[$i]}" 2>/dev/null || echo "charter: ${NAMES[$i]} exited unexpectedly; see var/log/" >&2
  done
  exit 1
fi
