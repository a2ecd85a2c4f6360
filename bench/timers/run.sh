#!/usr/bin/env bash
# `make bench-timers`: installs what the timer benchmark needs, then runs
# bench.py (bench/timers/README.md). Usage: run.sh BUILD_DIR [bench.py args]
# Extra bench.py arguments may also come from BENCH_TIMERS_ARGS, e.g.
#   make bench-timers BENCH_TIMERS_ARGS="--reps 1 --scale 0.1"
# KAFKA: unset (the default), no Kafka on the path: Charter acknowledges a
# fired timer at once, as the recorded figures were measured. KAFKA=embedded
# (charter-broker) or KAFKA=apache (Apache Kafka, one KRaft node from
# scripts/kafka.sh; bench/lib.sh's start_kafka): that broker is started, and
# Charter writes each fired timer to charter.sla.timers.v1 there and
# acknowledges it when Kafka confirms, as sla-timer does. BullMQ and Sidekiq
# run the same either way. The broker is stopped when the run ends, fails or
# is interrupted.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build}
shift || true
case "$build" in /*) ;; *) build="$root/$build" ;; esac
out="$build/bench-timers"
BENCH_NAME=bench-timers
# shellcheck source=../lib.sh
source "$here/../lib.sh"

# Debian packages: Sidekiq (ruby-sidekiq, 6.4 on Debian 12) and its Ruby, Node
# and npm for BullMQ, redis-server and redis-cli.
packages=(ruby-sidekiq nodejs npm redis-server redis-tools python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A node and npm not from Debian (e.g. NodeSource's) will do as well.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs/}")
  missing=("${missing[@]/npm/}")
fi
read -r -a missing <<<"${missing[*]:-}"
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

# BullMQ and ioredis at the versions package-lock.json pins, kept out of the
# source tree.
mkdir -p "$out/npm"
cp "$here/package.json" "$here/package-lock.json" "$out/npm/"
(cd "$out/npm" && npm install --no-audit --no-fund --loglevel=error >/dev/null)

echo "bench-timers: Charter vs BullMQ vs Sidekiq; about 15 minutes for 3 runs"
if [ -z "${KAFKA:-}" ]; then
  # shellcheck disable=SC2086
  exec python3 "$here/bench.py" --charter "$build/bench/bench_timers_charter" \
    --node-modules "$out/npm/node_modules" --out-dir "$out" ${BENCH_TIMERS_ARGS:-} "$@"
fi

BUILD=$build
WORK=$(mktemp -d /tmp/charter-bench-timers.XXXXXX)
cleanup() {
  local rc=$?
  stop_started
  echo "bench-timers: the broker's logs are kept in $WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start_kafka
echo "bench-timers: Kafka: $BROKER_LABEL at $BOOTSTRAP"
# shellcheck disable=SC2086
python3 "$here/bench.py" --charter "$build/bench/bench_timers_charter" \
  --node-modules "$out/npm/node_modules" --out-dir "$out" \
  --kafka "$BOOTSTRAP" --kafka-label "$BROKER_LABEL" ${BENCH_TIMERS_ARGS:-} "$@"
