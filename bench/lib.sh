# shellcheck shell=bash
# What the benchmarks' run.sh scripts share. Starting redis-server, the
# embedded broker and a service is tests/integration/stack.sh's, the same
# code the integration tests start them with; this file adds the benchmark
# side: failing with the logs' tails, stopping everything newest first (the
# services before what they use), the CPU time of the processes measured, and
# installing missing Debian packages. The sourcing script sets BENCH_NAME (its
# name in messages), and WORK and BUILD before it starts anything.

# shellcheck source=../tests/integration/stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tests/integration/stack.sh"

# fail MESSAGE: says so with the tail of each log in $WORK, and exits 1.
fail() {
  echo "$BENCH_NAME: $*" >&2
  for f in "$WORK"/*.log; do echo "-- $f"; tail -n 5 "$f"; done
  exit 1
}

# stop_started: stops what this script started (PIDS), newest first, then
# Apache Kafka if start_kafka started it (after the services that use it).
stop_started() {
  local i rev=()
  for (( i=${#PIDS[@]}-1; i>=0; i-- )); do rev+=("${PIDS[i]}"); done
  stop_pids "${rev[@]}"
  PIDS=()
  stop_kafka
}

# cpu_ticks PID...: user+system CPU time of the processes, in clock ticks.
cpu_ticks() {
  local t=0 pid f
  for pid in "$@"; do
    read -r -a f <"/proc/$pid/stat"
    t=$(( t + f[13] + f[14] ))
  done
  echo "$t"
}

# apt_install PACKAGE...: installs the Debian packages (through sudo unless
# root), quietly.
apt_install() {
  echo "$BENCH_NAME: installing $*"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# start_kafka: the broker a benchmark writes to, chosen by KAFKA:
#   embedded (default)  charter-broker, librdkafka's mock cluster (start_broker);
#   apache              Apache Kafka (scripts/kafka.sh: the pinned broker,
#                       fetched into the build tree on first use), ONE KRaft
#                       node on a free loopback port with Charter's topics
#                       created by deploy/kafka/create-topics.sh (replication
#                       factor 1), data and logs in $WORK/kafka. One node
#                       because the embedded broker is one broker too: the
#                       comparison is then one broker process against
#                       another, with nothing replicated.
# The JVM runs under `nice -n ${KAFKA_NICE:-10}` (the machine is shared), in a
# session of its own so that a terminal's Ctrl-C reaches the benchmark, whose
# EXIT trap then stops it (stop_started); kafka.sh also stops its node if
# this script ends without that (--owner). Sets BOOTSTRAP, BROKER_PID (the
# process whose CPU time is the broker's: the JVM for Apache Kafka) and
# BROKER_LABEL (what the summary names the broker).
start_kafka() {
  case ${KAFKA:-embedded} in
    embedded)
      start_broker
      BROKER_LABEL="embedded charter-broker (librdkafka $(pkg-config --modversion rdkafka 2>/dev/null || echo '?') mock cluster, one broker)"
      ;;
    apache)
      local root deadline
      root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
      deadline=$(( $(date +%s) + ${KAFKA_START_WAIT:-300} ))
      rm -f "$WORK/kafka.ready"
      CHARTER_BUILD_DIR=$BUILD setsid nice -n "${KAFKA_NICE:-10}" bash "$root/scripts/kafka.sh" start \
        --nodes 1 --dir "$WORK/kafka" --ready-file "$WORK/kafka.ready" --owner $$ \
        >"$WORK/kafka.out" 2>"$WORK/kafka.log" &
      KAFKA_SUPERVISOR_PID=$!
      until [ -s "$WORK/kafka.ready" ]; do
        kill -0 "$KAFKA_SUPERVISOR_PID" 2>/dev/null || fail "scripts/kafka.sh exited before Kafka was ready (see $WORK/kafka.log)"
        [ "$(date +%s)" -lt "$deadline" ] || fail "Apache Kafka not ready in ${KAFKA_START_WAIT:-300} s"
        sleep 0.5
      done
      BOOTSTRAP=$(cat "$WORK/kafka.ready")
      BROKER_PID=$(cat "$WORK/kafka/node1/pid")
      local version
      version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$root/deploy/kafka/pom.xml")
      BROKER_LABEL="Apache Kafka $version (one KRaft node, JVM under nice -n ${KAFKA_NICE:-10}, $(java -version 2>&1 | head -n 1))"
      echo "$BENCH_NAME: $(grep 'Apache Kafka .* ready in' "$WORK/kafka.log")"
      ;;
    *) fail "KAFKA=$KAFKA: use KAFKA=embedded (the default) or KAFKA=apache" ;;
  esac
}

# stop_kafka: stops Apache Kafka if start_kafka started it: SIGTERM to
# kafka.sh, which stops its node (about 1 s); after 30 s the node and
# kafka.sh are killed, by their PIDs. Its data folder is removed, its logs
# ($WORK/kafka.log, $WORK/kafka/node1/server.log) kept.
stop_kafka() {
  [ -n "${KAFKA_SUPERVISOR_PID:-}" ] || return 0
  local pid=$KAFKA_SUPERVISOR_PID node=${BROKER_PID:-}
  KAFKA_SUPERVISOR_PID=
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null || { [ -n "$node" ] && kill -0 "$node" 2>/dev/null; }; then
    echo "$BENCH_NAME: Apache Kafka did not stop in 30 s; killing it" >&2
    if [ -n "$node" ]; then kill -KILL "$node" 2>/dev/null || true; fi
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  rm -rf "$WORK"/kafka/node*/data # the records (100 MB and more); the logs stay
}
