#!/usr/bin/env bash
# Apache Kafka on this machine, for `KAFKA=apache make run` and the
# apache-kafka test tier: the pinned broker of deploy/kafka/pom.xml, fetched
# from Maven Central into the build tree, run in KRaft mode (no ZooKeeper) as
# one node or as a cluster of nodes on loopback, with Charter's topics
# created by deploy/kafka/create-topics.sh itself. Kafka from Maven is jars
# only (no bin/*.sh), so every Kafka command here is `java -cp LIB/* CLASS`.
#
# Usage:
#   kafka.sh fetch
#       Resolve the broker into $KAFKA_LIB (build/kafka/VERSION/lib) unless
#       it is there. Needs java (17+) and mvn: `make deps` installs both.
#   kafka.sh start [--nodes N] [--dir DIR] [--port PORT] [--ready-file FILE] [--owner PID]
#                  [--set KEY=VALUE]...
#       Fetch if missing, write each node's configuration under DIR, format
#       its storage (once: a DIR already formatted keeps its data), start the
#       nodes, wait until every node is in the cluster, create the topics
#       (replication factor N, at most 3) and wait until every partition has
#       a leader. Then write the bootstrap list (one line) to FILE and stdout,
#       and stay in the foreground until SIGINT/SIGTERM, until the owner PID
#       (default: the caller) ends, or until every node has died; then stop
#       every node it started, by PID: SIGTERM, SIGKILL after
#       $KAFKA_STOP_TIMEOUT s.
#       --nodes   1 (default) or more; 3 is the test tier's cluster
#       --dir     where configuration, data and logs go (default var/kafka):
#                 DIR/nodeI/{server.properties,data/,server.log,pid}
#       --port    the first node's client port (default: a free port); the
#                 other ports are free ports
#       --set     a broker setting added to every node's server.properties
#                 (repeatable), e.g. --set log.cleaner.backoff.ms=1000
#       A node killed or stopped behind the supervisor's back can be started
#       again with `restart`: the supervisor follows its new PID.
#   kafka.sh restart DIR NODE [--kill]
#       Start node NODE (1..N) of the cluster running from DIR again, as it
#       was configured: a node that is running is stopped first (SIGTERM, or
#       SIGKILL with --kill: a crash), one that died (kill -9) is simply
#       started. Waits until the cluster lists every node again and every
#       partition of Charter's topics has all its replicas in sync, then
#       prints the node's new PID (also in DIR/nodeNODE/pid).
#   kafka.sh stop DIR
#       Stop the nodes whose pid files are under DIR (for a start whose
#       supervisor was itself killed with SIGKILL).
#   kafka.sh run CLASS ARGS...
#       Run a Kafka command line class with the broker's class path, e.g.
#       org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server B --list
#   kafka.sh lib
#       Print the class path folder (fetching first if missing).
# Times on the 2-core development machine: fetch 12-16 s with an empty Maven
# cache (3 s from ~/.m2); start 13 s for a fresh node (format 1 s, node up
# 3-5 s, topics 7 s: six JVM starts of the topic tool), 8 s for a node whose
# folder has the topics already, 23-31 s for three fresh nodes; stop 1 s for
# one node, 6 s for three (the last controller waits 5 s for a successor).
# Each node takes about 330 MB of memory.
# Environment:
#   CHARTER_BUILD_DIR / BUILD_DIR  build tree for the cache (default build)
#   KAFKA_HEAP_OPTS    per node, default "-Xms64m -Xmx256m"
#   KAFKA_JVM_OPTS     per node, default "-XX:+UseSerialGC" (2 cores)
#   KAFKA_STOP_TIMEOUT seconds to wait for a node after SIGTERM (default 20)
#   KAFKA_START_TIMEOUT seconds to wait for the cluster (default 90)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
POM=$ROOT/deploy/kafka/pom.xml
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")
BUILD=${CHARTER_BUILD_DIR:-${BUILD_DIR:-build}}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
KAFKA_LIB=$BUILD/kafka/$KAFKA_VERSION/lib
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-20}
START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}

say() { printf 'kafka: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

check_java() {
  command -v "$JAVA" >/dev/null || die "java not found: Kafka $KAFKA_VERSION needs Java 17 or newer (make deps installs openjdk-17-jre-headless)"
  local v
  v=$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
  [ "${v%%.*}" -ge 17 ] 2>/dev/null || die "java is version $v: Kafka $KAFKA_VERSION's broker needs Java 17 or newer"
}

fetch() {
  check_java
  [ -s "$KAFKA_LIB/kafka_2.13-$KAFKA_VERSION.jar" ] && return 0
  command -v mvn >/dev/null || die "mvn not found: it fetches Kafka from Maven Central (make deps installs maven)"
  mkdir -p "$BUILD/kafka"
  exec 8>"$BUILD/kafka/.fetch.lock"
  flock 8
  [ -s "$KAFKA_LIB/kafka_2.13-$KAFKA_VERSION.jar" ] && return 0
  say "fetching Apache Kafka $KAFKA_VERSION with Maven into $KAFKA_LIB"
  local t0=$SECONDS tmp=$KAFKA_LIB.tmp
  rm -rf "$tmp"
  mvn -q -B -f "$POM" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$tmp" >"$BUILD/kafka/fetch.log" 2>&1 ||
    { cat "$BUILD/kafka/fetch.log" >&2; die "mvn could not resolve Kafka $KAFKA_VERSION (log: $BUILD/kafka/fetch.log)"; }
  mv "$tmp" "$KAFKA_LIB"
  say "fetched $(ls "$KAFKA_LIB" | wc -l) jars in $((SECONDS - t0)) s"
  exec 8>&-
}

# The log4j2 configuration every JVM here uses: one line per event to stdout
# (a node's stdout is its server.log); the level comes from -Dcharter.kafka.log.
write_log4j() {
  cat >"$1" <<'EOF'
rootLogger.level = ${sys:charter.kafka.log:-INFO}
rootLogger.appenderRef.stdout.ref = STDOUT
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
# The request log and state changes are as loud as Kafka's own defaults keep them.
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
}

# kafka_tool CLASS ARGS...: a Kafka command line class, quiet, quick to start.
kafka_tool() {
  local cls=$1; shift
  "$JAVA" -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dcharter.kafka.log=WARN \
    -Dlog4j2.configurationFile="$LOG4J" -cp "$KAFKA_LIB/*" "$cls" "$@"
}

# free_port: a loopback port nothing listens on, outside the kernel's
# ephemeral range (scripts/free_port.py says why).
free_port() {
  python3 "$(dirname "${BASH_SOURCE[0]}")"/free_port.py
}

NODE_PIDS=()
stopping=0
stop_nodes() {
  [ "$stopping" = 1 ] && return
  stopping=1
  local pid t0=$SECONDS
  for pid in "${NODE_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${NODE_PIDS[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ $((SECONDS - t0)) -lt "$STOP_TIMEOUT" ]; do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      say "node (pid $pid) still running ${STOP_TIMEOUT} s after SIGTERM; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  wait 2>/dev/null || true
  rm -f "$DIR"/node*/pid "$DIR/supervisor.pid"
  [ -n "${READY_FILE:-}" ] && rm -f "$READY_FILE"
  say "stopped ${#NODE_PIDS[@]} node(s) in $((SECONDS - t0)) s"
}

# Charter's own topics, as deploy/kafka/create-topics.sh creates them (other
# charter.* topics, such as a gateway's, may exist beside them).
CHARTER_TOPICS=$(grep -c '^create charter\.' "$ROOT/deploy/kafka/create-topics.sh")

cluster_brokers() { # how many brokers the cluster's metadata lists
  kcat -b "$BOOTSTRAP" -L -m 3 2>/dev/null | awk '/ brokers:$/ { print $1; exit }'
}

leaderless() { # partitions of charter.* topics without a leader (or -1 if unknown)
  local md
  md=$(kcat -b "$BOOTSTRAP" -L -m 3 2>/dev/null) || { echo -1; return; }
  [ "$(grep -c 'topic "charter\.' <<<"$md")" -ge "$CHARTER_TOPICS" ] || { echo -1; return; }
  grep -c 'leader -1' <<<"$md" || true
}

# launch_node I: starts node I of $DIR in the background (its stdout and
# stderr appended to nodeI/server.log) and records its PID in nodeI/pid and
# LAUNCHED.
launch_node() {
  local i=$1
  # shellcheck disable=SC2086
  "$JAVA" ${KAFKA_HEAP_OPTS:--Xms64m -Xmx256m} ${KAFKA_JVM_OPTS:--XX:+UseSerialGC} \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$LOG4J" \
    -cp "$KAFKA_LIB/*" kafka.Kafka "$DIR/node$i/server.properties" >>"$DIR/node$i/server.log" 2>&1 &
  LAUNCHED=$!
  echo "$LAUNCHED" >"$DIR/node$i/pid"
}

under_replicated() { # partitions of charter.* topics with fewer than $1 in-sync replicas (-1: unknown)
  local md
  md=$(kcat -b "$BOOTSTRAP" -L -m 3 2>/dev/null) || { echo -1; return; }
  [ "$(grep -c 'topic "charter\.' <<<"$md")" -ge "$CHARTER_TOPICS" ] || { echo -1; return; }
  awk -v want="$1" '/^  topic "/ { charter = ($2 ~ /^"charter\./) }
    charter && /^ *partition [0-9]+,/ { i = $0; sub(/.*isrs: /, "", i); if (i == "" || split(i, a, ",") < want) n++ }
    END { print n + 0 }' <<<"$md"
}

start() {
  local nodes=1 port="" owner=$PPID pidf
  local -a settings=()
  DIR=$ROOT/var/kafka
  READY_FILE=""
  while [ $# -gt 0 ]; do
    case $1 in
      --nodes) nodes=$2; shift 2 ;;
      --dir) DIR=$2; shift 2 ;;
      --port) port=$2; shift 2 ;;
      --ready-file) READY_FILE=$2; shift 2 ;;
      --owner) owner=$2; shift 2 ;;
      --set)
        [[ ${2:-} =~ ^[a-z][a-z0-9._-]*=.+$ ]] || die "--set takes KEY=VALUE, not '${2:-}'"
        settings+=("$2"); shift 2 ;;
      *) die "start: unknown option $1" ;;
    esac
  done
  [[ $nodes =~ ^[1-9]$ ]] || die "--nodes must be 1 to 9"
  fetch
  mkdir -p "$DIR"
  DIR=$(cd "$DIR" && pwd)
  if [ -s "$DIR/nodes" ] && [ "$(cat "$DIR/nodes")" != "$nodes" ]; then
    die "$DIR holds a $(cat "$DIR/nodes")-node cluster; remove it to start $nodes nodes there"
  fi
  for pidf in "$DIR"/node*/pid; do
    if [ -s "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
      die "a node of $DIR is already running (pid $(cat "$pidf")); stop it with: scripts/kafka.sh stop $DIR"
    fi
  done
  [ -n "$READY_FILE" ] && rm -f "$READY_FILE"
  echo "$nodes" >"$DIR/nodes"
  echo $$ >"$DIR/supervisor.pid"
  LOG4J=$DIR/log4j2.properties
  write_log4j "$LOG4J"

  local rf=$((nodes < 3 ? nodes : 3)) isr=$((nodes < 2 ? 1 : 2)) i
  local -a cport pport
  for ((i = 1; i <= nodes; i++)); do
    pport[i]=$([ "$i" = 1 ] && [ -n "$port" ] && echo "$port" || free_port)
    cport[i]=$(free_port)
  done
  local voters="" bootstrap=""
  for ((i = 1; i <= nodes; i++)); do
    voters+="${voters:+,}$i@127.0.0.1:${cport[i]}"
    bootstrap+="${bootstrap:+,}127.0.0.1:${pport[i]}"
  done
  BOOTSTRAP=$bootstrap
  echo "$BOOTSTRAP" >"$DIR/bootstrap"

  # One combined broker+controller per node; every node is a voter.
  for ((i = 1; i <= nodes; i++)); do
    mkdir -p "$DIR/node$i/data"
    cat >"$DIR/node$i/server.properties" <<EOF
# Written by scripts/kafka.sh for a $nodes-node cluster on loopback.
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:${pport[i]},CONTROLLER://127.0.0.1:${cport[i]}
advertised.listeners=PLAINTEXT://127.0.0.1:${pport[i]}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DIR/node$i/data
# Topics exist only when created (deploy/kafka/create-topics.sh), as in production.
auto.create.topics.enable=false
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
# A development cluster: the first consumer of a group gets partitions at once.
group.initial.rebalance.delay.ms=0
EOF
    if [ ${#settings[@]} -gt 0 ]; then
      printf '# --set\n' >>"$DIR/node$i/server.properties"
      printf '%s\n' "${settings[@]}" >>"$DIR/node$i/server.properties"
    fi
  done

  trap stop_nodes EXIT
  trap 'exit 0' INT TERM

  local t0=$SECONDS cid
  if [ ! -s "$DIR/node1/data/meta.properties" ]; then
    # A Kafka Uuid: 16 random bytes, base64url without padding (what
    # `kafka-storage random-uuid` prints, without starting a JVM for it).
    # Like Kafka's own, never one starting with '-': the format tool would
    # read it as an option (one run in 64 failed so).
    cid=-
    while [ "${cid:0:1}" = - ]; do
      cid=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    done
    [ ${#cid} = 22 ] || die "could not make a cluster id (got '$cid')"
    local -a fpids=()
    for ((i = 1; i <= nodes; i++)); do
      kafka_tool kafka.tools.StorageTool format --ignore-formatted -t "$cid" \
        -c "$DIR/node$i/server.properties" >"$DIR/node$i/format.log" 2>&1 &
      fpids+=($!)
    done
    for i in "${!fpids[@]}"; do
      wait "${fpids[i]}" || die "formatting node $((i + 1)) failed; see $DIR/node$((i + 1))/format.log"
    done
    say "formatted $nodes node(s), cluster id $cid, in $((SECONDS - t0)) s"
  fi

  local t1=$SECONDS
  for ((i = 1; i <= nodes; i++)); do
    launch_node "$i"
    NODE_PIDS+=("$LAUNCHED")
  done

  local deadline=$((SECONDS + START_TIMEOUT))
  until [ "$(cluster_brokers)" = "$nodes" ]; do
    for ((i = 1; i <= nodes; i++)); do
      kill -0 "${NODE_PIDS[i - 1]}" 2>/dev/null || die "node $i exited while starting; see $DIR/node$i/server.log"
    done
    [ $SECONDS -lt $deadline ] || die "the cluster did not form in $START_TIMEOUT s; see $DIR/node*/server.log"
    sleep 0.2
  done
  say "$nodes node(s) up in $((SECONDS - t1)) s"

  local t2=$SECONDS
  mkdir -p "$DIR/bin"
  # create-topics.sh calls $KAFKA_BIN/kafka-topics.sh, which a jar-only
  # Kafka lacks: this one runs the class that script would run.
  cat >"$DIR/bin/kafka-topics.sh" <<EOF
#!/usr/bin/env bash
exec "$JAVA" -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dcharter.kafka.log=WARN \\
  -Dlog4j2.configurationFile="$LOG4J" -cp "$KAFKA_LIB/*" org.apache.kafka.tools.TopicCommand "\$@"
EOF
  chmod +x "$DIR/bin/kafka-topics.sh"
  # A folder that already has the topics keeps them as they are (as
  # create-topics.sh would, only without its six JVM starts).
  if [ "$(leaderless)" = -1 ]; then
    KAFKA_BIN=$DIR/bin REPLICATION_FACTOR=$rf bash "$ROOT/deploy/kafka/create-topics.sh" "${BOOTSTRAP%%,*}" \
      >"$DIR/create-topics.log" 2>&1 || { cat "$DIR/create-topics.log" >&2; die "creating the topics failed"; }
  fi
  until [ "$(leaderless)" = 0 ]; do
    [ $SECONDS -lt $deadline ] || die "some partitions have no leader after $START_TIMEOUT s"
    sleep 0.2
  done
  say "topics ready in $((SECONDS - t2)) s (replication factor $rf, min.insync.replicas $isr; see $DIR/create-topics.log)"

  if [ -n "$READY_FILE" ]; then
    echo "$BOOTSTRAP" >"$READY_FILE.tmp"
    mv "$READY_FILE.tmp" "$READY_FILE"
  fi
  echo "$BOOTSTRAP"
  say "Apache Kafka $KAFKA_VERSION ready in $((SECONDS - t0)) s at $BOOTSTRAP; logs and data in $DIR"

  # Supervise: stop on a signal, when the owner ends, or when no node is left.
  while :; do
    sleep 1 &
    wait $! || true
    kill -0 "$owner" 2>/dev/null || { say "owner $owner ended; stopping"; exit 0; }
    local alive=0 pid
    for ((i = 1; i <= nodes; i++)); do # a node started again by `restart` has a new PID
      pid=$(cat "$DIR/node$i/pid" 2>/dev/null || true)
      [ -n "$pid" ] && [ "$pid" != "${NODE_PIDS[i - 1]}" ] && NODE_PIDS[i - 1]=$pid
      [ -e "$DIR/node$i/restarting" ] && alive=$((alive + 1))
    done
    for pid in "${NODE_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=$((alive + 1)); done
    [ "$alive" -gt 0 ] || { say "every node has exited; see $DIR/node*/server.log"; exit 1; }
  done
}

restart_node() {
  DIR=${1:?usage: kafka.sh restart DIR NODE [--kill]}
  local i=${2:?usage: kafka.sh restart DIR NODE [--kill]} sig=TERM nodes pid t0=$SECONDS
  [ "${3:-}" = --kill ] && sig=KILL
  DIR=$(cd "$DIR" && pwd)
  [ -s "$DIR/nodes" ] && [ -s "$DIR/bootstrap" ] || die "$DIR holds no cluster started by kafka.sh start"
  nodes=$(cat "$DIR/nodes")
  [[ $i =~ ^[1-9]$ ]] && [ "$i" -le "$nodes" ] || die "node must be 1 to $nodes"
  BOOTSTRAP=$(cat "$DIR/bootstrap")
  LOG4J=$DIR/log4j2.properties
  fetch
  touch "$DIR/node$i/restarting" # the supervisor counts it alive meanwhile
  pid=$(cat "$DIR/node$i/pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -"$sig" "$pid"
    while kill -0 "$pid" 2>/dev/null && [ $((SECONDS - t0)) -lt "$STOP_TIMEOUT" ]; do sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    say "node $i (pid $pid) stopped with SIG$sig"
  fi
  echo "[$(date '+%F %T')] kafka.sh: node $i started again" >>"$DIR/node$i/server.log"
  local from=$(($(wc -l <"$DIR/node$i/server.log") + 1))
  launch_node "$i"
  rm -f "$DIR/node$i/restarting"
  # Up once its log says so (the metadata may still list the dead node for
  # broker.session.timeout.ms); back in every ISR once it has caught up (a
  # node registering again leaves the ISRs until then).
  local rf=$((nodes < 3 ? nodes : 3)) deadline=$((SECONDS + START_TIMEOUT))
  until tail -n +"$from" "$DIR/node$i/server.log" | grep 'Kafka Server started' >/dev/null &&
    [ "$(cluster_brokers)" = "$nodes" ] && [ "$(under_replicated "$rf")" = 0 ]; do
    kill -0 "$LAUNCHED" 2>/dev/null || die "node $i exited while restarting; see $DIR/node$i/server.log"
    [ $SECONDS -lt $deadline ] || die "node $i not back in sync within $START_TIMEOUT s; see $DIR/node$i/server.log"
    sleep 0.2
  done
  say "node $i back (pid $LAUNCHED), every partition with $rf replicas in sync, in $((SECONDS - t0)) s"
  echo "$LAUNCHED"
}

stop_dir() {
  DIR=${1:?usage: kafka.sh stop DIR}
  local pidf
  for pidf in "$DIR"/supervisor.pid "$DIR"/node*/pid; do
    [ -s "$pidf" ] && kill -TERM "$(cat "$pidf")" 2>/dev/null || true
  done
  local t0=$SECONDS
  for pidf in "$DIR"/node*/pid; do
    [ -s "$pidf" ] || continue
    while kill -0 "$(cat "$pidf")" 2>/dev/null && [ $((SECONDS - t0)) -lt "$STOP_TIMEOUT" ]; do sleep 0.2; done
    kill -KILL "$(cat "$pidf")" 2>/dev/null || true
    rm -f "$pidf"
  done
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
  fetch) fetch ;;
  lib) fetch; echo "$KAFKA_LIB" ;;
  start) start "$@" ;;
  stop) stop_dir "$@" ;;
  restart) restart_node "$@" ;;
  run)
    fetch
    LOG4J=$BUILD/kafka/log4j2.properties
    [ -s "$LOG4J" ] || write_log4j "$LOG4J"
    kafka_tool "$@"
    ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
