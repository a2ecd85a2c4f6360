#!/usr/bin/env bash
# `make bench-reporting-history`: reporting's Redis time per dashboard request
# as the history grows from one month to three years, this branch's layout
# (one hash per organisation and period) beside main's (one hash per
# organisation), side by side in one run (README.md, "History").
# Usage: history.sh BUILD_DIR. Knobs (environment): MONTHS ("1 6 12 36"),
# N (requests measured per case, 21), EVENTS (events of the template, 100000),
# MAIN_BUILD (a build directory of main with charter-reporting built; unset:
# MAIN_REF, default main, is checked out into a git worktree in the work dir
# and charter-reporting built there).
# Results: BUILD_DIR/bench-reporting-history/results.jsonl and summary.txt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
MONTHS=${MONTHS:-"1 6 12 36"} N=${N:-21} EVENTS=${EVENTS:-100000}
BENCH="$build/bench/bench_reporting"
OUT="$build/bench-reporting-history"
PY=/usr/bin/python3
mkdir -p "$OUT"
BENCH_NAME=bench-reporting-history BUILD=$build
# shellcheck source=../lib.sh
source "$here/../lib.sh"

WORK=$(mktemp -d /tmp/charter-bench-history.XXXXXX)
MAIN_WT=""
cleanup() {
  local rc=$?
  stop_started
  if [ -n "$MAIN_WT" ]; then git -C "$root" worktree remove --force "$MAIN_WT" || true; fi
  echo "bench-reporting-history: logs kept in $WORK"
  exit "$rc"
}
trap cleanup EXIT

if [ -z "${MAIN_BUILD:-}" ]; then
  MAIN_WT="$WORK/main-src"
  git -C "$root" worktree add --detach "$MAIN_WT" "${MAIN_REF:-main}" >/dev/null
  cmake -S "$MAIN_WT" -B "$MAIN_WT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  nice cmake --build "$MAIN_WT/build" -j 2 --target charter-reporting >"$WORK/main-build.log"
  MAIN_BUILD="$MAIN_WT/build"
fi
[ -x "$MAIN_BUILD/services/reporting/charter-reporting" ] || fail "no charter-reporting in $MAIN_BUILD"
MAIN_DESC=$(git -C "$MAIN_BUILD/.." log -1 --format='%h %s' 2>/dev/null | cut -c1-60 || echo '?')
THIS_DESC=$(git -C "$root" log -1 --format='%h %s' | cut -c1-60)
mkdir -p "$WORK/policies"
cp "$root"/policies/*.yaml "$WORK/policies/"

# ---- the template: three months of real figures, from the real service ----
REDIS_PORT=$(free_port)
start_redis
start_broker
line=$("$BENCH" load "$BOOTSTRAP" "$EVENTS" 1 "$WORK/expect.txt" 2>>"$WORK/bench.log") || fail "load failed"
echo "bench-reporting-history: template events $line"
SVC_PORT[reporting]=$(free_port)
start_charter reporting CHARTER_REPORT_POLICY_DIR="$WORK/policies"
wait_ready reporting
"$BENCH" drain "http://127.0.0.1:${SVC_PORT[reporting]}" "$WORK/expect.txt" 600 >>"$WORK/bench.log" 2>&1 ||
  fail "the template did not drain"
stop_pids "${SVC_PID[reporting]}" "$BROKER_PID"
echo "bench-reporting-history: template $($PY "$here/history.py" template "$REDIS_PORT" | cut -c1-200)..."
start_broker # an empty one: the services measured have nothing to consume

# measure_layout LAYOUT BUILD DB MONTHS: starts that build's reporting on db DB,
# measures the dashboard and the one-month report, keeps both bodies.
measure_layout() {
  local layout=$1 bdir=$2 db=$3 months=$4 port url pid
  port=$(free_port)
  SVC_PORT[reporting]=$port
  BUILD=$bdir start_charter reporting CHARTER_REPORT_POLICY_DIR="$WORK/policies" \
    CHARTER_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/$db" CHARTER_REPORT_SNAPSHOT_INTERVAL_S=3600
  pid=${SVC_PID[reporting]}
  wait_ready reporting
  url="http://127.0.0.1:$port"
  wait_until 60 curl -fsS -o /dev/null "$url/v1/report?organisation=nottingham-city-homes" ||
    fail "$layout: GET /v1/report did not answer"
  $PY "$here/history.py" quiet "$REDIS_PORT" 1.5 || fail "$layout: reporting did not go idle"
  for what in dashboard report; do
    local path="/?month=2026-11"
    [ $what = report ] && path="/v1/report?organisation=nottingham-city-homes&from=2026-11&to=2026-11"
    r=$($PY "$here/history.py" measure "$REDIS_PORT" "$url$path" "$N") || fail "$layout $what: measure failed"
    printf '{"months":%d,"layout":"%s","request":"%s","result":%s}\n' "$months" "$layout" "$what" "$r" |
      tee -a "$OUT/results.jsonl"
  done
  curl -fsS "$url/v1/report?organisation=nottingham-city-homes&from=2026-11&to=2026-11" >"$WORK/$layout.month.json"
  curl -fsS "$url/v1/report?organisation=nottingham-city-homes&granularity=year" >"$WORK/$layout.year.json"
  curl -fsS "$url/?month=2026-11" | sed 's/Figures at [0-9TZ:.-]*\. //' >"$WORK/$layout.dashboard.html"
  stop_pids "$pid"
}

echo "bench-reporting-history: this branch $THIS_DESC; main $MAIN_DESC; $N requests each (work dir $WORK)"
: >"$OUT/results.jsonl"
for months in $MONTHS; do
  f=$($PY "$here/history.py" fill "$REDIS_PORT" "$months" 1 2) || fail "fill $months failed"
  printf '{"months":%d,"fill":%s}\n' "$months" "$f" | tee -a "$OUT/results.jsonl"
  measure_layout per-period "$build" 1 "$months"
  measure_layout main "$MAIN_BUILD" 2 "$months"
  same=true
  for b in month.json year.json dashboard.html; do
    cmp -s "$WORK/per-period.$b" "$WORK/main.$b" || same=false
  done
  printf '{"months":%d,"same_answers":%s}\n' "$months" "$same" | tee -a "$OUT/results.jsonl"
  [ $same = true ] || fail "$months months: the two layouts answered differently (see $WORK/*.json)"
done
$PY - "$OUT/results.jsonl" <<'PYEOF' | tee "$OUT/summary.txt"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
fill = {r["months"]: r["fill"] for r in rows if "fill" in r}
res = {(r["months"], r["layout"], r["request"]): r["result"] for r in rows if "result" in r}
print("Redis time per request (median of SLOWLOG usec, all commands of the request), per layout")
print("| history | figure fields | request | per-period: usec (commands, largest) | main: usec (commands, largest) | main / per-period |")
print("|---|---|---|---|---|---|")
for m in sorted(fill):
    for req in ("dashboard", "report"):
        a, b = res[(m, "per-period", req)], res[(m, "main", req)]
        print("| %d months | %s | %s | %.0f (%d, %.0f) | %.0f (%d, %.0f) | %.1fx |" % (
            m, f"{fill[m]['fields']:,}", "GET /?month=2026-11" if req == "dashboard" else "GET /v1/report one month",
            a["redis_usec_median"], a["commands"], a["largest_command_usec_median"],
            b["redis_usec_median"], b["commands"], b["largest_command_usec_median"],
            b["redis_usec_median"] / max(a["redis_usec_median"], 1)))
PYEOF
