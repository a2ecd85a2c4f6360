#!/usr/bin/env bash
# Checks that the benchmark's Node.js peer does ingest's work, not less: on a
# redis-server and the embedded broker of its own (tests/integration/stack.sh)
# it posts a contact (202, a reference, the record on the topic, the idempotency
# record D|...), the same again (200, same ids), a bad signature (401), an
# unknown field, organisation and case type and a bad time (422 naming the field).
# Usage: bash bench/ingest/peer/check.sh [BUILD_DIR]   (after `npm ci` here)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
BUILD=${1:-$root/build}
WORK=$(mktemp -d /tmp/charter-peer-check.XXXXXX)
PIDS=()
# shellcheck source=../../../tests/integration/stack.sh
source "$root/tests/integration/stack.sh"
fail() { echo "peer check: FAILED: $*" >&2; exit 1; }
trap 'stop_pids "${PIDS[@]}"; rm -rf "$WORK"' EXIT
start_redis
start_broker
KEY=$(openssl rand -hex 32)
echo "bench $KEY orgs=*" >"$WORK/gateways"
PORT=$(free_port)
PORT=$PORT REDIS_PORT=$REDIS_PORT BOOTSTRAP=$BOOTSTRAP GATEWAYS_FILE="$WORK/gateways" \
  POLICIES_DIR="$root/policies" node "$here/server.js" >"$WORK/peer.log" 2>&1 &
PIDS+=($!)
wait_until 30 curl -fsS -o /dev/null "http://127.0.0.1:$PORT/stats" || fail "the peer did not start"

# expect STATUS PATTERN BODY [KEY]: posts BODY signed v2 with KEY; the answer must
# have STATUS and match PATTERN.
expect() {
  local want=$1 pattern=$2 body=$3 key=${4:-$KEY} t sig out
  t=$(date +%s)
  sig=$(printf '%s' "$t.POST./v1/contacts.$body" | openssl dgst -sha256 -hmac "$key" -r | cut -d' ' -f1)
  out=$(curl -sS -w ' %{http_code}' -H 'Content-Type: application/json' -H 'X-Charter-Gateway: bench' \
    -H "X-Charter-Signature: t=$t,v2=$sig" --data-binary "$body" "http://127.0.0.1:$PORT/v1/contacts")
  [[ $out == *" $want" && $out =~ $pattern ]] || fail "expected $want matching '$pattern', got: $out"
  echo "$out"
}
at='"received_at":"2026-11-23T09:15:00Z"'
B='{"organisation":"derby-homes","channel":"email",'$at',"summary":"Gutter","gateway_message_id":"x1","customer":{"phone":"07700 900123"}}'
first=$(expect 202 '"reference":"DH-2026-000001"' "$B")
second=$(expect 200 '"reference":"DH-2026-000001"' "$B")
[ "${first% *}" = "${second% *}" ] || fail "the repeat got other ids: $second"
expect 401 bad_signature "$B" wrong-key-wrong-key
expect 422 '"field":"colour"' '{"organisation":"derby-homes","channel":"email",'$at',"colour":"red","gateway_message_id":"x2"}'
expect 422 unknown_organisation '{"organisation":"nope","channel":"email",'$at',"gateway_message_id":"x3"}'
expect 422 unknown_case_type '{"organisation":"derby-homes","channel":"email",'$at',"case_type":"x","gateway_message_id":"x4"}'
expect 422 '"field":"received_at"' '{"organisation":"derby-homes","channel":"email","received_at":"yesterday","gateway_message_id":"x5"}'
expect 422 '"field":"customer.email"' '{"organisation":"derby-homes","channel":"email",'$at',"customer":{"email":"no"},"gateway_message_id":"x6"}'
case_id=$(sed 's/.*"case_id":"\([^"]*\)".*/\1/' <<<"$first")
[[ $(redis-cli -p "$REDIS_PORT" get 'charter:idem:{derby-homes}:bench:x1') == D\|*\|$case_id\|DH-2026-000001 ]] \
  || fail "no D| idempotency record for x1"
keys=$(timeout 30 kcat -b "$BOOTSTRAP" -C -t charter.contact.events.v1 -e -q -f '%k\n')
[ "$keys" = "$case_id" ] || fail "the topic holds '$keys', expected the one case $case_id"
[ "$(curl -fsS "http://127.0.0.1:$PORT/stats")" = '{"accepted":1}' ] || fail "/stats is not 1 accepted"
echo "peer check: ok"
