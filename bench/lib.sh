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

# stop_started: stops what this script started (PIDS), newest first.
stop_started() {
  local i rev=()
  for (( i=${#PIDS[@]}-1; i>=0; i-- )); do rev+=("${PIDS[i]}"); done
  stop_pids "${rev[@]}"
  PIDS=()
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
