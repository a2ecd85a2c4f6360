#!/usr/bin/env bash
# Integration test for charter-broker, the in-memory Kafka broker used in development.
#
# Starts the real binary on free loopback ports and checks, with kcat as an independent
# client, what a developer relies on: the Charter topics exist with the right partition
# counts, keyed messages produced through the stable bootstrap address come back, the
# control endpoint's /brokers/down really breaks producing and /brokers/up really restores
# it, a busy port is reported clearly, and SIGTERM ends the broker with status 0.
#
# Run: CHARTER_BUILD_DIR=build bash tests/integration/broker_test.sh
# Needs: kcat, curl, python3 (to find free ports). Every wait below is bounded.

set -u -o pipefail

BUILD_DIR=${CHARTER_BUILD_DIR:?set CHARTER_BUILD_DIR to the CMake build directory}
BROKER=$BUILD_DIR/tools/broker/charter-broker
TOPIC=charter.contact.events.v1

failures=0
pids=()
work=$(mktemp -d "${TMPDIR:-/tmp}/broker_test.XXXXXX")

# free_port and wait_until (stack.sh: nothing else of it is used here).
# shellcheck source=stack.sh
source "$(dirname "$0")/stack.sh"

pass() { echo "PASS: $*"; }
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
        fi
    done
    if [ "$failures" -ne 0 ] && [ -f "$work/broker.err" ]; then
        echo "--- charter-broker stderr (last 40 lines) ---"
        tail -n 40 "$work/broker.err"
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# http METHOD PATH: prints "CODE BODY" from the control endpoint.
http() {
    local body code
    code=$(curl -s -o "$work/http.body" -w '%{http_code}' --max-time 5 -X "$1" \
        "http://127.0.0.1:$control_port$2")
    body=$(cat "$work/http.body" 2>/dev/null)
    echo "$code $body"
}

produce() { # produce TIMEOUT_MS: keyed "key:value" lines from stdin
    timeout 30 kcat -P -b "$bootstrap" -t "$TOPIC" -K: -X "message.timeout.ms=$1" 2>>"$work/kcat.err"
}

consume() { # consume FORMAT: every message in $TOPIC, then exit
    timeout 30 kcat -C -b "$bootstrap" -t "$TOPIC" -o beginning -e -q -f "$1" 2>>"$work/kcat.err"
}

for tool in kcat curl; do
    if ! command -v "$tool" >/dev/null; then
        fail "$tool is not installed"
        exit 1
    fi
done
if [ ! -x "$BROKER" ]; then
    fail "no executable at $BROKER (build the charter-broker target)"
    exit 1
fi

listen_port=$(free_port)
control_port=$(free_port)
while [ "$control_port" = "$listen_port" ]; do control_port=$(free_port); done
bootstrap=127.0.0.1:$listen_port
ready_file=$work/ready

"$BROKER" --listen "$bootstrap" --control "127.0.0.1:$control_port" --ready-file "$ready_file" \
    >"$work/broker.out" 2>"$work/broker.err" &
broker_pid=$!
pids+=("$broker_pid")

broker_ready() { [ -s "$ready_file" ] || ! kill -0 "$broker_pid" 2>/dev/null; }
if ! wait_until 20 broker_ready || [ ! -s "$ready_file" ]; then
    fail "broker did not become ready within 20 s"
    exit 1
fi
if [ "$(cat "$ready_file")" = "$bootstrap" ]; then
    pass "ready file holds the bootstrap address $bootstrap"
else
    fail "ready file holds '$(cat "$ready_file")', expected '$bootstrap'"
fi
banner_ok() { grep -Eq "^charter-broker: listening on $bootstrap \(mock cluster at 127\.0\.0\.1:[0-9]+\)$" "$work/broker.out"; }
if wait_until 5 banner_ok; then
    pass "stdout announces the listening address"
else
    fail "stdout line missing or malformed: $(cat "$work/broker.out")"
fi

# -- topics ---------------------------------------------------------------------------
if timeout 20 kcat -b "$bootstrap" -L >"$work/metadata" 2>>"$work/kcat.err"; then
    pass "kcat -L through the bootstrap address"
else
    fail "kcat -L through $bootstrap failed: $(tail -n 3 "$work/kcat.err")"
fi
for spec in charter.contact.events.v1:6 charter.sla.timers.v1:6 charter.notify.outcomes.v1:3 charter.notify.receipts.v1:3 \
    charter.reports.v1:1 charter.dlq.v1:1; do
    name=${spec%:*}
    parts=${spec##*:}
    if grep -Fq "topic \"$name\" with $parts partitions:" "$work/metadata"; then
        pass "topic $name has $parts partition(s)"
    else
        fail "topic $name with $parts partition(s) not in metadata"
    fi
done

# -- produce and consume ----------------------------------------------------------------
for i in $(seq 1 100); do echo "contact-$i:event-$i"; done >"$work/sent"
if produce 10000 <"$work/sent"; then
    pass "produced 100 keyed messages"
else
    fail "producing 100 keyed messages failed: $(tail -n 3 "$work/kcat.err")"
fi
consume '%k:%s\n' >"$work/received"
if [ "$(wc -l <"$work/received")" -eq 100 ] && diff <(sort "$work/sent") <(sort "$work/received") >/dev/null; then
    pass "consumed exactly the 100 messages back"
else
    fail "consumed $(wc -l <"$work/received") messages, expected the 100 produced"
fi
partitions_used=$(consume '%p\n' | sort -u | wc -l)
if [ "$partitions_used" -gt 1 ]; then
    pass "keys spread over $partitions_used partitions"
else
    fail "all 100 keys landed in $partitions_used partition(s)"
fi

# -- control endpoint -----------------------------------------------------------------
status=$(http GET /status)
if [[ $status == "200 "* && $status == *"\"bootstrap\":\"$bootstrap\""* &&
    $status == *'"brokers":1'* && $status == *'"down":[]'* ]]; then
    pass "GET /status: $status"
else
    fail "GET /status returned: $status"
fi
reply=$(http POST /brokers/down)
if [[ $reply == "200 "* && $reply == *'"down":[1]'* ]]; then
    pass "POST /brokers/down"
else
    fail "POST /brokers/down returned: $reply"
fi
if [[ $(http GET /status) == *'"down":[1]'* ]]; then
    pass "status lists broker 1 as down"
else
    fail "status does not list broker 1 as down"
fi
if echo "contact-x:while-down" | produce 2000; then
    fail "producing succeeded while all brokers were down"
else
    pass "producing fails while brokers are down"
fi
reply=$(http POST /brokers/up)
if [[ $reply == "200 "* && $reply == *'"down":[]'* ]]; then
    pass "POST /brokers/up"
else
    fail "POST /brokers/up returned: $reply"
fi
if echo "contact-101:event-101" | produce 10000; then
    pass "producing works again after /brokers/up"
else
    fail "producing after /brokers/up failed: $(tail -n 3 "$work/kcat.err")"
fi
count=$(consume '%k\n' | wc -l)
if [ "$count" -eq 101 ]; then
    pass "the topic holds 101 messages after the outage"
else
    fail "the topic holds $count messages after the outage, expected 101"
fi
expect_error() { # expect_error CODE METHOD PATH: a JSON error with that status
    local reply
    reply=$(http "$2" "$3")
    if [[ $reply == "$1 "*'"error"'* ]]; then
        pass "$2 $3 answers $1"
    else
        fail "$2 $3 returned: $reply"
    fi
}
expect_error 404 GET /nope
expect_error 405 GET /brokers/down
expect_error 400 POST '/brokers/down?id=7'

# -- start-up errors --------------------------------------------------------------------
timeout 10 "$BROKER" --listen "$bootstrap" --control "127.0.0.1:$(free_port)" \
    >/dev/null 2>"$work/second.err"
rc=$?
if [ "$rc" -eq 1 ] && grep -q "cannot listen on $bootstrap.*address already in use" "$work/second.err"; then
    pass "a busy listen port is named and exits 1"
else
    fail "second broker on $bootstrap exited $rc with: $(cat "$work/second.err")"
fi
timeout 10 "$BROKER" --brokers many >/dev/null 2>"$work/badopt.err"
rc=$?
if [ "$rc" -eq 2 ] && grep -q -- "--brokers" "$work/badopt.err"; then
    pass "a bad option is named and exits 2"
else
    fail "--brokers many exited $rc with: $(cat "$work/badopt.err")"
fi

# -- shutdown ---------------------------------------------------------------------------
kill -TERM "$broker_pid"
broker_gone() { ! kill -0 "$broker_pid" 2>/dev/null; }
if wait_until 5 broker_gone; then
    wait "$broker_pid"
    rc=$?
    if [ "$rc" -eq 0 ]; then
        pass "SIGTERM: exited 0 within 5 s"
    else
        fail "SIGTERM: exited with status $rc"
    fi
else
    fail "SIGTERM: still running after 5 s"
fi
if [ ! -e "$ready_file" ]; then
    pass "ready file removed on exit"
else
    fail "ready file still present after exit"
fi
if grep -Eq "AddressSanitizer|LeakSanitizer|runtime error:" "$work/broker.err"; then
    fail "sanitizer reports in broker stderr"
fi

if [ "$failures" -ne 0 ]; then
    echo "broker_test: $failures check(s) failed"
    exit 1
fi
echo "broker_test: all checks passed"
