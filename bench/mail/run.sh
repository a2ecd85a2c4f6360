#!/usr/bin/env bash
# `make bench-mail`: charter-ingest's mail listener taking a burst of e-mails
# that a real Postfix delivers to it (LMTP, then SMTP), side by side with the
# same Postfix delivering the same burst to Postfix's own smtp-sink (no Kafka),
# and, without Postfix, smtp-source and a timing client straight into the
# listener and into smtp-sink (README.md). Messages per second, and p50/p99
# from the end of DATA to the contact event on Kafka.
# Usage: run.sh BUILD_DIR. Knobs (environment): ROUNDS (3), MESSAGES (burst
# size, 2000), SESSIONS (injecting connections, 8), PF_CONCURRENCY (Postfix's
# lmtp/smtp_destination_concurrency_limit, 20), PF_PROCESS_LIMIT (Postfix's
# default_process_limit, 100), KAFKA (embedded, the default, or apache;
# bench/lib.sh's start_kafka), ARRIVAL_WAIT (s for a burst's last event, 600),
# MAIL_RATE (ingest.mail_rate_per_minute, 1000000).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
ROUNDS=${ROUNDS:-3} MESSAGES=${MESSAGES:-2000} SESSIONS=${SESSIONS:-8}
PF_CONCURRENCY=${PF_CONCURRENCY:-20} PF_PROCESS_LIMIT=${PF_PROCESS_LIMIT:-100}
ARRIVAL_WAIT=${ARRIVAL_WAIT:-600}
# ingest.mail_rate_per_minute: its default (600 a minute per client address)
# would defer a burst from one Postfix; the benchmark measures the listener,
# not its limiter.
MAIL_RATE=${MAIL_RATE:-1000000}
BENCH_NAME=bench-mail BUILD=$build
# shellcheck source=../lib.sh
source "$here/../lib.sh"
PY=/usr/bin/python3 # Debian's, with python3-kafka

# Debian packages: postfix (postfix, smtp-source, smtp-sink; Debian's package
# asks debconf questions: "No configuration" leaves /etc/postfix/main.cf
# absent and no system instance running, and this script never uses or
# touches either), kcat and python3-kafka (the tests' too).
missing=()
command -v smtp-source >/dev/null || missing+=(postfix)
command -v kcat >/dev/null || missing+=(kcat)
$PY -c 'import kafka' 2>/dev/null || missing+=(python3-kafka)
if [ ${#missing[@]} -gt 0 ]; then
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
  apt_install "${missing[@]}"
fi
[ "$(id -u)" -eq 0 ] || { echo "bench-mail: run as root: a Postfix instance of its own needs root to start" >&2; exit 1; }
id postfix >/dev/null 2>&1 || { echo "bench-mail: no user 'postfix' (the postfix package makes it)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/charter-bench-mail.XXXXXX)
chmod 755 "$WORK" # Postfix's and smtp-sink's processes (user postfix) work under it
PFCONF=$WORK/postfix-conf
# postfix(1) reports errors to syslog unless stderr is a terminal; script(1)
# gives it one, so its complaints reach $WORK/postfix-ctl.log.
pfctl() { script -qec "postfix -c $PFCONF $*" /dev/null >>"$WORK/postfix-ctl.log" 2>&1; }
PF_STARTED=
stop_postfix() {
  [ -n "$PF_STARTED" ] || return 0
  PF_STARTED=
  pfctl stop || true
  local pid
  pid=$(tr -d ' ' <"$WORK/postfix-spool/pid/master.pid" 2>/dev/null) || true
  if [ -n "$pid" ]; then
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
}
cleanup() {
  local rc=$?
  stop_postfix
  stop_started
  [ -z "${SHM:-}" ] || rm -rf "$SHM"
  echo "bench-mail: logs and results kept in $WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- Charter: redis-server, the broker, two charter-ingest (LMTP and SMTP) ----
orgs=(nottingham-city-homes derby-homes nihe digital-first-council customer-care-council)
rcpts=()
for o in "${orgs[@]}"; do rcpts+=(--rcpt "$o@charter.localhost"); done
{
  echo "# bench-mail: every organisation's own mailbox"
  for o in "${orgs[@]}"; do echo "$o@charter.localhost $o"; done
} >"$WORK/mailboxes"
# the gateway "mail" writes for these organisations (no keys: the listener is not signed)
( IFS=,; echo "mail orgs=${orgs[*]}" ) >"$WORK/gateways"

start_redis
start_kafka
# start_listener NAME PROTOCOL: a charter-ingest whose mail listener speaks
# PROTOCOL on a free port (LISTEN[NAME]); its HTTP side on another.
declare -A LISTEN INGEST_PID
start_listener() {
  local name=$1 proto=$2 port
  port=$(free_port)
  LISTEN[$name]=$port
  unset 'SVC_PORT[ingest]' # a free port for each
  start_charter ingest CHARTER_INGEST_POLICY_DIR="$root/policies" \
    CHARTER_INGEST_MAIL_LISTEN="127.0.0.1:$port" CHARTER_INGEST_MAIL_PROTOCOL="$proto" \
    CHARTER_INGEST_MAILBOXES="$WORK/mailboxes" CHARTER_INGEST_GATEWAYS_FILE="$WORK/gateways" \
    CHARTER_INGEST_MAIL_RATE_PER_MINUTE="$MAIL_RATE"
  wait_ready ingest
  INGEST_PID[$name]=${SVC_PID[ingest]}
}
start_listener charter-lmtp lmtp
start_listener charter-smtp smtp
for n in charter-lmtp charter-smtp; do
  wait_until 30 bash -c "exec 3<>/dev/tcp/127.0.0.1/${LISTEN[$n]}" || fail "$n: nothing listens on ${LISTEN[$n]}"
done

# ---- the reference: Postfix's smtp-sink, one speaking LMTP, one SMTP ----
# Twice each. sink-PROTO (-d) writes every message to a file of its own, on
# tmpfs ($SHM: a disk would make the sink the slow part); the file's
# modification time is when the sink had the message's end of DATA, the
# sink's "event on Kafka", for the phases through Postfix. null-PROTO keeps
# nothing, as fast as smtp-sink goes: the reference for the clients sending
# straight in, which time the sink's 250 themselves.
SHM=$(mktemp -d /dev/shm/charter-bench-mail.XXXXXX)
chmod 755 "$SHM"
for proto in lmtp smtp; do
  flag=()
  [ "$proto" = lmtp ] && flag=(-L)
  for kind in sink null; do
    port=$(free_port)
    LISTEN[$kind-$proto]=$port
    dump=()
    if [ $kind = sink ]; then
      mkdir -p "$SHM/sink-$proto"
      chown postfix "$SHM/sink-$proto"
      dump=(-d "$SHM/sink-$proto/m.")
    fi
    smtp-sink -u postfix "${flag[@]}" "${dump[@]}" "127.0.0.1:$port" 256 >"$WORK/smtp-sink-$kind-$proto.log" 2>&1 &
    PIDS+=($!)
    wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" || fail "smtp-sink ($kind, $proto) did not start"
  done
done

# ---- Postfix: a private instance, configuration and queue in $WORK ----
# Never /etc/postfix, never a system instance: `postfix -c $PFCONF`, its own
# queue_directory and data_directory, loopback only, no chroot (so no chroot
# files to copy), one smtpd on a free port; charter.localhost is relayed by
# transport_maps to whichever listener a phase measures; anything else fails
# at once (default_transport error:), so nothing leaves the machine.
PF_PORT=$(free_port)
mkdir -p "$PFCONF" "$WORK/postfix-spool" "$WORK/postfix-data"
chown postfix "$WORK/postfix-data"
cat >"$PFCONF/main.cf" <<CONF
# bench-mail's own Postfix (bench/mail/run.sh); started and stopped by it.
compatibility_level = 3.6
queue_directory = $WORK/postfix-spool
data_directory = $WORK/postfix-data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $WORK/postfix.log
maillog_file_prefixes = $WORK
myhostname = bench.charter.localhost
mydomain = charter.localhost
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
relay_domains = charter.localhost
default_transport = error:bench-mail: no other destination
relay_transport = error:bench-mail: no other destination
transport_maps = inline:{ charter.localhost=error:bench-mail: no phase yet }
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
biff = no
# the tuning this benchmark states (docs/benchmarks.md)
default_process_limit = $PF_PROCESS_LIMIT
lmtp_destination_concurrency_limit = $PF_CONCURRENCY
smtp_destination_concurrency_limit = $PF_CONCURRENCY
CONF
cat >"$PFCONF/master.cf" <<CONF
# service type private unpriv chroot wakeup maxproc command
127.0.0.1:$PF_PORT inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
CONF
pfctl check || fail "postfix -c $PFCONF check failed (see $WORK/postfix-ctl.log)"
PF_STARTED=1
pfctl start || fail "postfix -c $PFCONF start failed (see $WORK/postfix-ctl.log)"
wait_until 15 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PF_PORT" || fail "Postfix's smtpd did not listen on $PF_PORT"
PF_MASTER=$(tr -d ' ' <"$WORK/postfix-spool/pid/master.pid")

# route TARGET [hold]: Postfix relays charter.localhost to TARGET's listener
# (charter-lmtp, charter-smtp, sink-lmtp, sink-smtp), after a reload that
# has every Postfix process but the master started afresh. With "hold", smtpd
# puts every message it accepts on hold (HOLD, an access table's action) for
# release() to let go at once.
route() {
  local target=$1 next hold=
  [ "${2:-}" = hold ] && hold="check_client_access static:HOLD"
  postconf -c "$PFCONF" -e "smtpd_data_restrictions = $hold"
  case $target in
    *-lmtp) next="lmtp:inet:127.0.0.1:${LISTEN[$target]}" ;;
    *-smtp) next="smtp:[127.0.0.1]:${LISTEN[$target]}" ;;
  esac
  postconf -c "$PFCONF" -e "transport_maps = inline:{ charter.localhost=$next }"
  local before
  before=$(grep -c 'reload -- version' "$WORK/postfix.log" 2>/dev/null || true)
  pfctl reload || fail "postfix reload failed"
  wait_until 15 bash -c "[ \$(grep -c 'reload -- version' '$WORK/postfix.log') -gt ${before:-0} ]" \
    || fail "Postfix did not reload"
  sleep 1 # the old qmgr and trivial-rewrite leave once idle; new ones read the new route
}
# release: every held message back to the queue (postsuper -H ALL moves
# them to the deferred queue), and the queue manager told to deliver the
# deferred queue now (postqueue -f). Sets RELEASE_NS, the instant before.
release() {
  RELEASE_NS=$(date +%s%N)
  postsuper -c "$PFCONF" -H ALL >>"$WORK/postfix-ctl.log" 2>&1 || fail "postsuper -H ALL failed"
  postqueue -c "$PFCONF" -f >>"$WORK/postfix-ctl.log" 2>&1 || fail "postqueue -f failed"
}
held() { find "$WORK/postfix-spool/hold" -type f | wc -l; }
queue_empty() { [ -z "$(find "$WORK/postfix-spool"/{incoming,active,deferred} -type f -print -quit)" ]; }

# ---- the watcher: every benchmark message's event on Kafka ----
rm -f "$WORK/watch.ready"
$PY "$here/watch_kafka.py" "$BOOTSTRAP" "$WORK/events.txt" "$WORK/watch.ready" >"$WORK/watch.log" 2>&1 &
PIDS+=($!)
WATCH_PID=$!
wait_until 60 test -s "$WORK/watch.ready" || fail "the Kafka watcher did not start"

# events TAG: how many distinct messages of TAG have their event on Kafka.
events() { awk -v t="$1" '$1 == t { s[$2] = 1 } END { print length(s) }' "$WORK/events.txt"; }
await_events() { # await_events TAG: all MESSAGES events of TAG, or fail
  wait_until "$ARRIVAL_WAIT" bash -c "[ \$(awk -v t='$1' '\$1 == t { s[\$2] = 1 } END { print length(s) }' '$WORK/events.txt') -ge $MESSAGES ]" \
    || fail "$1: $(events "$1") of $MESSAGES events on Kafka after ${ARRIVAL_WAIT} s"
}
await_sink() { # await_sink PROTO: all MESSAGES in the sink's directory, or fail
  wait_until "$ARRIVAL_WAIT" bash -c "[ \$(find '$SHM/sink-$1' -type f | wc -l) -ge $MESSAGES ]" \
    || fail "sink-$1: $(find "$SHM/sink-$1" -type f | wc -l) of $MESSAGES messages after ${ARRIVAL_WAIT} s"
}
# sink_collect PROTO TAG: the sink's messages of TAG (arrival = file mtime) to
# $WORK/arrivals-TAG.txt, then empties the sink's directory.
sink_collect() {
  $PY "$here/summarise.py" sink "$SHM/sink-$1" "$2" >"$WORK/arrivals-$2.txt"
  find "$SHM/sink-$1" -type f -delete
}

# CPU share of one core, per process group, over a phase (cpu_ticks).
cpu_mark() { CPU0=$(date +%s%N); CPUI=$(cpu_ticks "${INGEST_PID[@]}"); CPUB=$(cpu_ticks "$BROKER_PID"); CPUP=$(cpu_ticks "$PF_MASTER" $(pgrep -P "$PF_MASTER")); }
cpu_line() {
  local hz el
  hz=$(getconf CLK_TCK)
  el=$(( ($(date +%s%N) - CPU0) / 10000000 ))
  [ "$el" -gt 0 ] || el=1
  printf '{"ingest":%d,"broker":%d,"postfix":%d}' \
    $(( ($(cpu_ticks "${INGEST_PID[@]}") - CPUI) * 10000 / hz / el )) \
    $(( ($(cpu_ticks "$BROKER_PID") - CPUB) * 10000 / hz / el )) \
    $(( ($(cpu_ticks "$PF_MASTER" $(pgrep -P "$PF_MASTER")) - CPUP) * 10000 / hz / el ))
}
record() { # record JSON: one phase's result line
  echo "$1" >>"$WORK/results.jsonl"
}

# via_postfix ROUND TARGET: the burst into Postfix, which delivers it to TARGET.
via_postfix() {
  local r=$1 target=$2 tag="r$1-pf-$2"
  route "$target"
  cpu_mark
  $PY "$here/inject.py" --port "$PF_PORT" --count "$MESSAGES" --sessions "$SESSIONS" --tag "$tag" \
    "${rcpts[@]}" --out "$WORK/inject-$tag.tsv" || fail "$tag: injecting into Postfix failed"
  case $target in
    charter-*) await_events "$tag" ;;
    sink-*) await_sink "${target#sink-}"; sink_collect "${target#sink-}" "$tag" ;;
  esac
  wait_until 60 queue_empty || fail "$tag: Postfix's queue did not empty"
  record "{\"phase\":\"postfix\",\"round\":$r,\"target\":\"$target\",\"tag\":\"$tag\",\"cpu_pct\":$(cpu_line)}"
}
# queued ROUND TARGET: the burst into Postfix, held there; then released at
# once: how fast Postfix delivers a full queue to TARGET.
queued() {
  local r=$1 target=$2 tag="r$1-q-$2"
  route "$target" hold
  $PY "$here/inject.py" --port "$PF_PORT" --count "$MESSAGES" --sessions "$SESSIONS" --tag "$tag" \
    "${rcpts[@]}" --out "$WORK/inject-$tag.tsv" || fail "$tag: injecting into Postfix failed"
  wait_until 60 bash -c "[ \$(find '$WORK/postfix-spool/hold' -type f | wc -l) -ge $MESSAGES ]" \
    || fail "$tag: $(held) of $MESSAGES messages on hold"
  cpu_mark
  release
  case $target in
    charter-*) await_events "$tag" ;;
    sink-*) await_sink "${target#sink-}"; sink_collect "${target#sink-}" "$tag" ;;
  esac
  wait_until 60 queue_empty || fail "$tag: Postfix's queue did not empty"
  record "{\"phase\":\"queued\",\"round\":$r,\"target\":\"$target\",\"tag\":\"$tag\",\"release_ns\":$RELEASE_NS,\"cpu_pct\":$(cpu_line)}"
}
# port TARGET: where the clients sending straight in send to: Charter's
# listener, or the sink that keeps nothing.
port() { case $1 in sink-*) echo "${LISTEN[null-${1#sink-}]}" ;; *) echo "${LISTEN[$1]}" ;; esac; }
# direct ROUND TARGET: the timing client straight into TARGET (no Postfix),
# PF_CONCURRENCY connections as Postfix would open.
direct() {
  local r=$1 target=$2 tag="r$1-dc-$2" lm=()
  [[ $target == *-lmtp ]] && lm=(--lmtp)
  cpu_mark
  $PY "$here/inject.py" --port "$(port "$target")" "${lm[@]}" --count "$MESSAGES" --sessions "$PF_CONCURRENCY" \
    --tag "$tag" "${rcpts[@]}" --out "$WORK/inject-$tag.tsv" || fail "$tag: injecting into $target failed"
  [[ $target != charter-* ]] || await_events "$tag"
  record "{\"phase\":\"direct\",\"round\":$r,\"target\":\"$target\",\"tag\":\"$tag\",\"cpu_pct\":$(cpu_line)}"
}
# source ROUND TARGET: Postfix's smtp-source straight into TARGET: wall time
# for MESSAGES messages over PF_CONCURRENCY connections kept open (-d); into
# Charter every 250 means the event is on Kafka.
source_run() {
  local r=$1 target=$2 tag="r$1-src-$2" lm=() t0 t1
  [[ $target == *-lmtp ]] && lm=(-L)
  cpu_mark
  t0=$(date +%s%N)
  smtp-source "${lm[@]}" -d -s "$PF_CONCURRENCY" -m "$MESSAGES" -l 600 -S "Bench $tag" \
    -f bench@example.org -t nihe@charter.localhost -M "$tag.src.bench" "127.0.0.1:$(port "$target")" \
    >"$WORK/smtp-source-$tag.log" 2>&1 || fail "$tag: smtp-source failed (see $WORK/smtp-source-$tag.log)"
  t1=$(date +%s%N)
  [[ $target != charter-* ]] || await_events "$tag"
  record "{\"phase\":\"source\",\"round\":$r,\"target\":\"$target\",\"tag\":\"$tag\",\"start_ns\":$t0,\"end_ns\":$t1,\"cpu_pct\":$(cpu_line)}"
}

echo "bench-mail: Postfix $(postconf -d -h mail_version) on :$PF_PORT (default_process_limit" \
  "$PF_PROCESS_LIMIT, lmtp/smtp_destination_concurrency_limit $PF_CONCURRENCY); Charter's listener" \
  "LMTP :${LISTEN[charter-lmtp]}, SMTP :${LISTEN[charter-smtp]}; smtp-sink LMTP :${LISTEN[sink-lmtp]}," \
  "SMTP :${LISTEN[sink-smtp]}; $ROUNDS rounds of $MESSAGES messages, $SESSIONS injecting sessions (work dir $WORK)"
echo "bench-mail: Kafka: $BROKER_LABEL at $BOOTSTRAP"
echo "bench-mail: $(nproc) cores, $(free -g | awk '/^Mem:/ { print $2 }') GB, kernel $(uname -r); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$WORK/results.jsonl"
# warm-up: a tenth of a burst through each path, not counted
for target in charter-lmtp charter-smtp sink-lmtp sink-smtp; do
  MESSAGES_SAVED=$MESSAGES MESSAGES=$(( MESSAGES / 10 > 10 ? MESSAGES / 10 : 10 ))
  via_postfix 0 "$target" >/dev/null
  MESSAGES=$MESSAGES_SAVED
done
: >"$WORK/results.jsonl"
for r in $(seq 1 "$ROUNDS"); do
  for target in charter-lmtp sink-lmtp charter-smtp sink-smtp; do via_postfix "$r" "$target"; done
  for target in charter-lmtp sink-lmtp charter-smtp sink-smtp; do queued "$r" "$target"; done
  for target in charter-lmtp sink-lmtp charter-smtp sink-smtp; do direct "$r" "$target"; done
  for target in charter-lmtp sink-lmtp charter-smtp sink-smtp; do source_run "$r" "$target"; done
  echo "bench-mail: round $r of $ROUNDS done"
done
echo "bench-mail: load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
kill -TERM "$WATCH_PID" 2>/dev/null || true
wait "$WATCH_PID" 2>/dev/null || true
BROKER_LABEL=$BROKER_LABEL $PY "$here/summarise.py" report "$WORK" "$MESSAGES" | tee "$WORK/summary.txt"
