# shellcheck shell=bash
# Starting and stopping Charter's stack for a script that is not ctest's:
# free loopback ports, bounded waits, redis-server, the embedded broker and
# a service binary, each started in the background and recorded in PIDS so
# that the script's EXIT trap can stop exactly what it started (stop_pids).
# Sourced by lib.sh (the integration tests) and by bench/lib.sh (the
# benchmarks); it needs none of ctest's environment and sets no shell
# options. The sourcing script provides:
#   WORK   a directory for logs and ready files;
#   BUILD  the build directory (for start_broker and start_charter);
#   fail MESSAGE  what to do when something does not start (it must not return).

PIDS=()
declare -A SVC_PID SVC_PORT

# free_port: a loopback port nothing listens on, outside the kernel's
# ephemeral range (scripts/free_port.py says why).
free_port() {
  /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/../../scripts"/free_port.py
}

# wait_until SECONDS CMD...: runs CMD every 0.2 s until it succeeds.
wait_until() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# stop_pids PID...: SIGTERM to each, in the order given; then up to 5 s for
# each to exit before SIGKILL, and reaps it.
stop_pids() {
  local pid
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

# start_redis: redis-server on REDIS_PORT (a free port unless set), append
# only if REDIS_AOF=yes, logging to $WORK/redis.log. Sets REDIS_PID, REDIS_URL.
start_redis() {
  REDIS_PORT=${REDIS_PORT:-$(free_port)}
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK" --save "" \
    --appendonly "${REDIS_AOF:-no}" --daemonize no >>"$WORK/redis.log" 2>&1 &
  PIDS+=($!)
  REDIS_PID=$!
  wait_until 10 redis-cli -p "$REDIS_PORT" ping || fail "redis-server did not start on $REDIS_PORT"
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
}

# start_broker: charter-broker on free ports. Sets BROKER_PID, BOOTSTRAP,
# BROKER_CONTROL.
start_broker() {
  local kport cport
  kport=$(free_port); cport=$(free_port)
  rm -f "$WORK/broker.ready"
  "$BUILD/tools/broker/charter-broker" --listen "127.0.0.1:$kport" --control "127.0.0.1:$cport" \
    --ready-file "$WORK/broker.ready" >"$WORK/broker.out" 2>"$WORK/broker.log" &
  PIDS+=($!)
  BROKER_PID=$!
  wait_until 15 test -s "$WORK/broker.ready" || fail "charter-broker did not become ready"
  BOOTSTRAP="127.0.0.1:$kport"
  BROKER_CONTROL="127.0.0.1:$cport"
}

# start_charter NAME [VAR=VALUE ...]: starts $BUILD/services/NAME/charter-NAME
# on this Redis and broker, listening on SVC_PORT[NAME] (a free port unless
# set), with the extra environment given; logs to $WORK/NAME.log. Sets
# SVC_PID[NAME]. Does not wait: see wait_ready.
start_charter() {
  local name=$1; shift
  local port=${SVC_PORT[$name]:-}
  [ -n "$port" ] || port=$(free_port)
  SVC_PORT[$name]=$port
  env CHARTER_REDIS_URL="$REDIS_URL" CHARTER_KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" \
    CHARTER_HTTP_LISTEN="127.0.0.1:$port" "$@" \
    "$BUILD/services/$name/charter-$name" >>"$WORK/$name.log" 2>&1 &
  SVC_PID[$name]=$!
  PIDS+=($!)
}

ready() { curl -fsS "http://127.0.0.1:$1/readyz"; }

# wait_ready NAME: up to 30 s for NAME's /readyz to answer 200.
wait_ready() {
  local name=$1
  wait_until 30 ready "${SVC_PORT[$name]}" || fail "$name did not become ready"
}
