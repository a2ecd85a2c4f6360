#!/usr/bin/env bash
# The runtime's HTTP limits (issue 14, H2; docs/production.md "HTTP limits")
# against the real ingest and reporting, with raw-socket clients
# (http_probe.py) for what curl cannot send:
#   - a 1 MB header and 100 header lines: 431 headers_too_large, as JSON;
#   - a body on a route that takes none (reporting's GET /v1/report, ingest's
#     /healthz): 413; a Content-Length over ingest.max_body_bytes: 413 at
#     once, before any body byte is sent;
#   - a client trickling its headers, and one trickling its body, a byte a
#     second: cut off with 408 at http.header_timeout_ms (3 s here) and
#     http.body_timeout_ms (5 s), while other requests are answered;
#   - 401s are not logged one by one (L10), only counted;
#   - ingest.max_inflight_requests: with Redis paused and 2 requests held, a
#     third is answered 503 overloaded with Retry-After at once;
#   - 5,000 idle connections against ingest limited to 512 descriptors
#     (EMFILE) and against reporting capped at 300 connections: /healthz and
#     a signed POST are still answered, the service's CPU (utime+stime over
#     2 s) stays within 40 ticks of what it used before the flood and within
#     10 after it, the log grows by a few lines, and every connection is
#     closed afterwards.
source "$(dirname "$0")/lib.sh"

PROBE=(/usr/bin/python3 "$SRC/tests/integration/http_probe.py")
# The flood client needs a descriptor per connection: raise this shell's
# limit (the services inherit it) where the hard limit allows, else flood
# with what there is.
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FLOOD=5000
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge 5200 ] || FLOOD=$(( $(ulimit -n) - 200 ))
LIMITS=(CHARTER_HTTP_HEADER_TIMEOUT_MS=3000 CHARTER_HTTP_BODY_TIMEOUT_MS=5000)

start_redis
start_broker
start_service ingest "${LIMITS[@]}" CHARTER_INGEST_MAX_BODY_BYTES=4096 \
  CHARTER_INGEST_MAX_INFLIGHT_REQUESTS=2
start_service reporting "${LIMITS[@]}" CHARTER_REPORT_POLICY_DIR="$SRC/policies" \
  CHARTER_HTTP_MAX_CONNECTIONS=300
wait_ready ingest
wait_ready reporting
IN=${SVC_PORT[ingest]}
REP=${SVC_PORT[reporting]}
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
CONTACT="{\"organisation\":\"nottingham-city-homes\",\"channel\":\"email\",\"received_at\":\"$NOW\"}"
pass "ingest on $IN and reporting on $REP ready"

# probe_is OUTPUT STATUS CODE WHAT: a probe's "STATUS SECONDS CODE" line.
probe_is() {
  local st code
  read -r st _ code <<<"$1"
  [ "$st" = "$2" ] && [ "$code" = "$3" ] || fail "$4: expected $2 $3, got: $1"
  pass "$4 -> $1"
}
metric() { curl -sS "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m { print $2 }'; }
metric_at_least() { local v; v=$(metric "$1" "$2"); [ -n "$v" ] && awk -v v="$v" -v n="$3" 'BEGIN { exit !(v >= n) }'; }
metric_at_most() { local v; v=$(metric "$1" "$2"); [ -n "$v" ] && awk -v v="$v" -v n="$3" 'BEGIN { exit !(v <= n) }'; }
# post_to FILE: a signed POST of $CONTACT to ingest; "STATUS BODY" into FILE.
post_to() {
  curl -sS -o "$1.body" -w '%{http_code}' -X POST -H "Content-Type: application/json" \
    -H "X-Charter-Gateway: $GATEWAY_ID" -H "X-Charter-Signature: $(sign /v1/contacts "$CONTACT")" \
    --data-binary "$CONTACT" "http://127.0.0.1:$IN/v1/contacts" >"$1" || true
  printf ' %s' "$(cat "$1.body")" >>"$1"
}
healthz() { curl -sS --max-time 60 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/healthz"; }

# ---- headers ----
probe_is "$("${PROBE[@]}" big-headers "$IN" 1000000)" 431 headers_too_large "ingest: a 1 MB header"
probe_is "$("${PROBE[@]}" many-headers "$IN" 100)" 431 headers_too_large "ingest: 100 header lines"
probe_is "$("${PROBE[@]}" many-headers "$IN" 60)" 200 - "ingest: 60 header lines are within the limit"
probe_is "$("${PROBE[@]}" many-headers "$REP" 100)" 431 headers_too_large "reporting: 100 header lines"

# ---- bodies ----
r=$(curl -sS -o "$WORK/get.json" -w '%{http_code}' -X GET --data-binary 'x=1' "http://127.0.0.1:$REP/v1/report?organisation=x")
[ "$r" = 413 ] && [ "$(json_get "$(cat "$WORK/get.json")" error/code)" = body_too_large ] ||
  fail "reporting: a GET with a body: expected 413 body_too_large, got $r $(cat "$WORK/get.json")"
pass "reporting: a GET /v1/report with a body -> 413 body_too_large"
probe_is "$("${PROBE[@]}" announce-body "$IN" /healthz 10)" 413 body_too_large "ingest: /healthz with a body"
probe_is "$("${PROBE[@]}" announce-body "$IN" /v1/contacts 1000000)" 413 body_too_large \
  "ingest: Content-Length 1000000 answered before any body byte"
r=$(post_json "$IN" /v1/contacts "$CONTACT")
[ "${r%% *}" = 202 ] || fail "a signed POST within the limits: $r"
pass "a signed POST within the limits -> 202"

# ---- deadlines: a head and a body trickled a byte a second ----
"${PROBE[@]}" slow-headers "$IN" 40 >"$WORK/slow-headers.out" &
SLOW_H=$!
"${PROBE[@]}" slow-body "$IN" /v1/contacts 40 >"$WORK/slow-body.out" &
SLOW_B=$!
[ "$(healthz "$IN")" = 200 ] || fail "/healthz while two clients trickle"
r=$(post_json "$IN" /v1/contacts "$CONTACT")
[ "${r%% *}" = 202 ] || fail "a signed POST while two clients trickle: $r"
pass "/healthz and a signed POST answered while two clients trickle"
wait "$SLOW_H" "$SLOW_B"
probe_is "$(cat "$WORK/slow-headers.out")" 408 request_timeout "headers trickled a byte a second (http.header_timeout_ms 3 s)"
probe_is "$(cat "$WORK/slow-body.out")" 408 request_timeout "a body trickled a byte a second (http.body_timeout_ms 5 s)"
awk '{ exit !($2 < 35) }' "$WORK/slow-headers.out" "$WORK/slow-body.out" ||
  fail "a trickling client was not cut off before it had sent 35 bytes"
metric_at_least "$IN" charter_http_timeouts_total 2 || fail "charter_http_timeouts_total below 2"

# ---- L10: 401s counted, not logged one by one ----
for _ in $(seq 1 20); do
  r=$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary "$CONTACT" "http://127.0.0.1:$IN/v1/contacts")
  [ "$r" = 401 ] || fail "an unsigned POST: expected 401, got $r"
done
metric_at_least "$IN" charter_ingest_unauthorized_total 20 || fail "charter_ingest_unauthorized_total below 20"
n=$(grep -c '"request not authenticated"' "$WORK/ingest.log" || true)
[ "$n" = 0 ] || fail "$n lines of 'request not authenticated' in the log for 20 unsigned requests"
pass "20 unsigned requests: 401, counted in charter_ingest_unauthorized_total, not logged one by one"

# ---- ingest.max_inflight_requests (2) ----
redis-cli -p "$REDIS_PORT" CLIENT PAUSE 6000 WRITE >/dev/null
post_to "$WORK/held1.out" &
H1=$!
post_to "$WORK/held2.out" &
H2=$!
wait_until 20 metric_at_least "$IN" charter_ingest_http_inflight 2 ||
  fail "two requests waiting for Redis not seen in charter_ingest_http_inflight"
r=$(curl -sS -D "$WORK/over.h" -o "$WORK/over.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -H "X-Charter-Gateway: $GATEWAY_ID" -H "X-Charter-Signature: $(sign /v1/contacts "$CONTACT")" --data-binary "$CONTACT" \
  "http://127.0.0.1:$IN/v1/contacts")
[ "$r" = 503 ] && [ "$(json_get "$(cat "$WORK/over.json")" error/code)" = overloaded ] ||
  fail "a third request with two in flight: expected 503 overloaded, got $r $(cat "$WORK/over.json")"
grep -qi '^Retry-After: 1' "$WORK/over.h" || fail "503 overloaded without Retry-After: 1"
pass "a third request with ingest.max_inflight_requests=2 in flight -> 503 overloaded, Retry-After: 1"
wait "$H1" "$H2"
for f in held1 held2; do
  [ "$(cut -d' ' -f1 "$WORK/$f.out")" = 202 ] || fail "a request held by the Redis pause: $(cat "$WORK/$f.out")"
done
metric_at_least "$IN" charter_ingest_overloaded_total 1 || fail "charter_ingest_overloaded_total not counted"
pass "the two held requests answered 202 once Redis was back"

# ---- 5,000 idle connections ----
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# flood NAME PORT WHAT: $FLOOD (5,000) idle connections held 15 s against NAME.
flood() {
  local name=$1 port=$2 what=$3 pid=${SVC_PID[$1]} lines0 a b r idle
  a=$(cpu_ticks "$pid"); sleep 2; b=$(cpu_ticks "$pid")
  idle=$((b - a)) # the service's own periodic work (more under ASan)
  lines0=$(wc -l <"$WORK/$name.log")
  rm -f "$WORK/flood.ready"
  "${PROBE[@]}" flood "$port" "$FLOOD" 15 "$WORK/flood.ready" >"$WORK/flood.out" &
  local fp=$!
  wait_until 30 test -s "$WORK/flood.ready" || fail "the flood client did not open its connections"
  [ "$(healthz "$port")" = 200 ] || fail "$name: /healthz not answered during the flood ($what)"
  if [ "$name" = ingest ]; then
    r=$(timeout 60 curl -sS -o "$WORK/resp.json" -w '%{http_code}' -X POST -H "Content-Type: application/json" \
      -H "X-Charter-Gateway: $GATEWAY_ID" -H "X-Charter-Signature: $(sign /v1/contacts "$CONTACT")" \
      --data-binary "$CONTACT" "http://127.0.0.1:$port/v1/contacts" || true)
    [ "$r" = 202 ] || fail "ingest: a signed POST during the flood: $r $(cat "$WORK/resp.json" 2>/dev/null)"
  fi
  a=$(cpu_ticks "$pid"); sleep 2; b=$(cpu_ticks "$pid")
  kill -0 "$fp" 2>/dev/null || fail "$name: answered only after the flood client let go (a 15 s hold)"
  [ $((b - a)) -le $((idle + 40)) ] ||
    fail "$name used $((b - a)) CPU ticks of 200 in 2 s during the flood ($what); $idle before it"
  pass "$name: answered during $FLOOD idle connections ($what), $((b - a)) CPU ticks in 2 s"
  wait "$fp"
  wait_until 30 metric_at_most "$port" charter_http_connections 1 ||
    fail "$name: connections still open after the flood: $(metric "$port" charter_http_connections)"
  # back to idle: a 2 s sample within 10 ticks of the one before the flood
  # (a few tries: reporting's periodic snapshot round may fall in one)
  local tries=0
  while :; do
    a=$(cpu_ticks "$pid"); sleep 2; b=$(cpu_ticks "$pid")
    [ $((b - a)) -le $((idle + 10)) ] && break
    tries=$((tries + 1))
    [ "$tries" -lt 5 ] || fail "$name used $((b - a)) CPU ticks in 2 s after the flood (5 tries); $idle before it"
  done
  local grown=$(( $(wc -l <"$WORK/$name.log") - lines0 ))
  [ "$grown" -le 20 ] || fail "$name's log grew by $grown lines during the flood"
  metric_at_least "$port" charter_http_accept_paused_total 1 || fail "$name: accepting was never paused"
  pass "$name: after the flood every connection closed, $((b - a)) CPU ticks in 2 s ($idle before), log +$grown lines"
}
prlimit --pid "${SVC_PID[ingest]}" --nofile=512:512 || fail "cannot lower ingest's descriptor limit with prlimit"
flood ingest "$IN" "512 file descriptors: EMFILE"
grep -q '"no file descriptor left for an HTTP connection' "$WORK/ingest.log" || fail "ingest did not log the EMFILE pause"
flood reporting "$REP" "http.max_connections=300"
metric_at_least "$REP" charter_http_connections_evicted_total 1 || fail "reporting evicted no idle connection at its cap"

stop_service ingest
stop_service reporting
