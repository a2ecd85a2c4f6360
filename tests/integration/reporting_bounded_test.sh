#!/usr/bin/env bash
# Reporting reads bounded slices of its figures (issue 14, M8): one hash per
# organisation and period, so a request reads the periods it shows and no
# other. Through ingest and reporting with the shipped policies:
#   - the figures land in per-period hashes with an expiry, and in the index;
#   - MONITOR shows GET /v1/report for one month, the dashboard for one month
#     and a snapshot round each read only their periods' hashes (on the
#     layout of before, each read the one hash of all periods: these fail);
#   - the upgrade: the figures put back into one hash of the old layout are
#     moved into per-period hashes on start, an expired period dropped, and
#     the reports are byte for byte what they were;
#   - retention: restarted with report.retention_months=12, the periods of
#     2024 leave the index and their hashes are deleted.
source "$(dirname "$0")/lib.sh"

# the refresh only at start: whatever reads a figures hash after that is a
# request or a round of dirty periods
start_ingest_and_reporting CHARTER_REPORT_SNAPSHOT_INTERVAL_S=3600
D="derby-homes"
RC() { redis-cli -p "$REDIS_PORT" "$@"; }
report() { curl -fsS "http://127.0.0.1:$REPORT/v1/report?$1"; }
fig() { json_get "$1" "figures/$2"; }
metric() { curl -fsS "http://127.0.0.1:$REPORT/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }

C1=$(new_case $D letter enquiry 2026-11-02T10:00:00Z)
case_event "$C1" "{\"type\":\"responded\",\"organisation\":\"$D\",\"occurred_at\":\"2026-11-05T10:00:00Z\"}"
C2=$(new_case $D email enquiry 2026-11-03T09:00:00Z)
C3=$(new_case $D letter enquiry 2026-10-05T10:00:00Z)
C4=$(new_case $D letter enquiry 2024-11-04T10:00:00Z)
settled() {
  local j k
  j=$(report "organisation=$D&granularity=year&from=2026&to=2026") || return 1
  k=$(report "organisation=$D&granularity=year&from=2024&to=2024") || return 1
  [ "$(fig "$j" received)" = 3 ] && [ "$(fig "$j" answered)" = 1 ] && [ "$(fig "$k" received)" = 1 ]
}
wait_until 30 settled || fail "figures did not settle: $(report "organisation=$D&granularity=year")"
pass "four Derby Homes cases counted (November and October 2026, November 2024)"

# ---- the layout ----
keys=$(RC --scan --pattern "charter:report:{$D}:figures*" | sort | tr '\n' ' ')
for k in 2026-11 2026-11-02 2026-11-03 2026-10 2026-10-05 2026 2024-11 2024-11-04 2024; do
  case " $keys " in *" charter:report:{$D}:figures:$k "*) ;; *) fail "no hash for period $k: $keys" ;; esac
done
[ "$(RC exists "charter:report:{$D}:figures")" = 0 ] || fail "the one hash of every period is still written"
# 2026-11 with 36 months (the default): kept until 2029-12-02T00:00:00Z
[ "$(RC expiretime "charter:report:{$D}:figures:2026-11")" = "$(date -u -d 2029-12-02 +%s)" ] ||
  fail "2026-11 expires at $(RC expiretime "charter:report:{$D}:figures:2026-11")"
[ "$(RC expiretime "charter:report:{$D}:figures:2026-11-02")" = "$(date -u -d 2029-11-04 +%s)" ] ||
  fail "2026-11-02 expires at $(RC expiretime "charter:report:{$D}:figures:2026-11-02")"
idx=$(RC zrange "charter:report:{$D}:periods" 0 -1 | tr '\n' ' ')
for m in m:2026-11 d:2026-11-02 y:2026 m:2024-11; do
  case " $idx " in *" $m "*) ;; *) fail "$m not in the periods index: $idx" ;; esac
done
pass "one hash per period, each expiring 36 months after its period, listed in the periods index"

# ---- what each reader reads (MONITOR) ----
# the rounds of the records above over: no snapshot for 1.5 s (a round runs
# every second while a period is due, and the refresh is an hour away)
quiet() {
  local a b
  a=$(metric charter_report_snapshots_total); sleep 1.5; b=$(metric charter_report_snapshots_total)
  [ -n "$a" ] && [ "$a" = "$b" ]
}
wait_until 60 quiet || fail "the snapshot rounds did not settle"
# monitor_during NAME CMD...: the commands Redis ran while CMD ran, in $WORK/NAME.monitor
monitor_during() {
  local name=$1 out="$WORK/$1.monitor" mpid; shift
  RC monitor >"$out" &
  mpid=$!
  wait_until 10 grep -q '^OK' "$out" || fail "MONITOR did not start"
  "$@" >/dev/null || fail "$name: $* failed"
  RC echo "end-of-$name" >/dev/null
  wait_until 10 grep -q "end-of-$name" "$out" || fail "MONITOR missed the end of $name"
  kill "$mpid"
  wait "$mpid" 2>/dev/null || true
}
# figures_read NAME: the figures hashes HGETALL read, one a line, sorted
figures_read() {
  grep -o '"HGETALL" "charter:report:{[^}]*}:figures[^"]*"' "$WORK/$1.monitor" |
    sed 's/^"HGETALL" "//; s/"$//' | sort -u
}

monitor_during api report "organisation=$D&from=2026-11&to=2026-11"
got=$(figures_read api | tr '\n' ' ')
[ "$got" = "charter:report:{$D}:figures:2026-11 " ] ||
  fail "GET /v1/report for 2026-11 read: $got (want only charter:report:{$D}:figures:2026-11)"
pass "GET /v1/report for one month reads that month's hash and no other"

monitor_during dashboard curl -fsS "http://127.0.0.1:$REPORT/?month=2026-11"
want=$(for o in $(ls "$SRC/policies" | sed 's/\.yaml$//'); do
  for m in 2025-12 2026-01 2026-02 2026-03 2026-04 2026-05 2026-06 2026-07 2026-08 2026-09 2026-10 2026-11; do
    echo "charter:report:{$o}:figures:$m"
  done
done | sort -u)
got=$(figures_read dashboard)
[ -n "$got" ] || fail "the dashboard read no figures hash"
extra=$(comm -23 <(echo "$got") <(echo "$want"))
[ -z "$extra" ] || fail "the dashboard for 2026-11 read other periods: $extra"
pass "the dashboard for 2026-11 reads only the twelve months it shows ($(echo "$got" | wc -l) hashes)"

before=$(metric charter_report_snapshots_total)
one_more() {
  case_event "$C3" "{\"type\":\"responded\",\"organisation\":\"$D\",\"occurred_at\":\"2026-10-06T10:00:00Z\"}"
  wait_until 30 snapshots_after "$before"
}
snapshots_after() { local n; n=$(metric charter_report_snapshots_total); [ "${n%.*}" -ge $(( ${1%.*} + 3 )) ]; }
monitor_during round one_more
got=$(figures_read round | tr '\n' ' ')
[ "$got" = "charter:report:{$D}:figures:2026 charter:report:{$D}:figures:2026-10 charter:report:{$D}:figures:2026-10-05 " ] ||
  fail "the snapshot round after an October record read: $got"
pass "a snapshot round reads only the periods it publishes (2026-10-05, 2026-10, 2026)"

# ---- the upgrade: the figures of the old layout moved on start ----
B_MONTH=$(report "organisation=$D")
B_DAY=$(report "organisation=$D&granularity=day")
B_YEAR=$(report "organisation=$D&granularity=year")
stop_service reporting
# every organisation's per-period hashes back into its one hash, the index and
# the layout mark gone: Redis as the reporting of before left it; plus a field
# of an expired period (2019), which the move drops
RC eval "
local n = 0
for _, k in ipairs(redis.call('KEYS', 'charter:report:{*}:figures:*')) do
  local old = string.match(k, '^(charter:report:{[^}]*}:figures):')
  local kv = redis.call('HGETALL', k)
  for i = 1, #kv, 2 do redis.call('HINCRBY', old, kv[i], kv[i + 1]) ; n = n + 1 end
  redis.call('DEL', k)
end
for _, k in ipairs(redis.call('KEYS', 'charter:report:{*}:periods')) do redis.call('DEL', k) end
redis.call('DEL', 'charter:report:layout')
redis.call('HSET', 'charter:report:{$D}:figures', '2019-01|letter|enquiry|received', 5)
return n" 0 >/dev/null
[ "$(RC hlen "charter:report:{$D}:figures")" -gt 20 ] || fail "the old layout was not rebuilt"
start_service reporting CHARTER_REPORT_POLICY_DIR="$SRC/policies" CHARTER_REPORT_SNAPSHOT_INTERVAL_S=3600
wait_ready reporting
REPORT=${SVC_PORT[reporting]}
moved() { grep -q "figures moved to per-period hashes.*\"organisation\":\"$D\"" "$WORK/reporting.log"; }
wait_until 30 moved || fail "the old figures hash was not moved"
wait_until 10 report "organisation=$D" || fail "GET /v1/report after the move"
[ "$(report "organisation=$D")" = "$B_MONTH" ] || fail "by month after the move: $(report "organisation=$D") (was $B_MONTH)"
[ "$(report "organisation=$D&granularity=day")" = "$B_DAY" ] || fail "by day after the move differs"
[ "$(report "organisation=$D&granularity=year")" = "$B_YEAR" ] || fail "by year after the move differs"
[ "$(RC exists "charter:report:{$D}:figures")" = 0 ] || fail "the old hash is still there"
[ "$(RC exists "charter:report:{$D}:figures:2019-01")" = 0 ] || fail "an expired period was moved"
[ "$(RC get charter:report:layout)" = per-period ] || fail "the layout is not marked moved"
[ "$(RC expiretime "charter:report:{$D}:figures:2026-11")" = "$(date -u -d 2029-12-02 +%s)" ] ||
  fail "a moved period has no expiry"
pass "upgrade: the old single hash moved into per-period hashes on start; every report byte for byte the same"

# ---- retention ----
stop_service reporting
start_service reporting CHARTER_REPORT_POLICY_DIR="$SRC/policies" CHARTER_REPORT_RETENTION_MONTHS=12
wait_ready reporting
REPORT=${SVC_PORT[reporting]}
gone() { [ "$(RC exists "charter:report:{$D}:figures:2024-11" "charter:report:{$D}:figures:2024-11-04" "charter:report:{$D}:figures:2024")" = 0 ]; }
wait_until 30 gone || fail "2024's hashes outlived a 12-month retention"
[ -z "$(RC zrangebylex "charter:report:{$D}:periods" "[m:2024" "(m:2025")" ] || fail "2024 still indexed"
[ "$(RC exists "charter:report:{$D}:figures:2026-11")" = 1 ] || fail "2026-11 was swept too"
j=$(report "organisation=$D")
case "$j" in *'"period":"2024-11"'*) fail "2024-11 still reported: $j" ;; esac
[ "$(fig "$j" received)" = 3 ] || fail "after the sweep: $j"
pass "report.retention_months=12: 2024's periods swept from the index and Redis; 2026 kept"
stop_service reporting
out=$(CHARTER_REDIS_URL="$REDIS_URL" CHARTER_KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" \
  CHARTER_HTTP_LISTEN="127.0.0.1:$(free_port)" CHARTER_REPORT_RETENTION_MONTHS=3 \
  timeout 20 "$BUILD/services/reporting/charter-reporting" 2>&1) && fail "retention 3 months accepted"
case "$out" in *"report.retention_months is 3"*) ;; *) fail "retention 3 months refused without naming it: $out" ;; esac
pass "report.retention_months=3 stops start-up, naming the key"
