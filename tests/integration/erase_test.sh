#!/usr/bin/env bash
# charterctl erase through the real services. Three Derby Homes customers
# write in by e-mail and get acknowledgements (the file outbox). Zelda is
# erased by e-mail address, Carl by his case's reference; Bob is kept.
# Afterwards every Redis key and value (SCAN of the whole database: names,
# strings, hashes, sets, sorted sets, lists) and every outbox line is free of
# Zelda's and Carl's names, addresses and numbers, while Bob's remain; the
# services go on (a new contact is acknowledged). On the topics, as
# docs/security.md says: the contact topic (not compacted) still holds their
# records until its retention passes; the reports, timers and outcomes
# topics never held their names, addresses or numbers. A second erase finds
# nothing (exit 1).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notification_lib.sh"
CTL="$BUILD/tools/charterctl/charterctl"

start_redis
start_broker
OUTBOX="$WORK/outbox"
PRINT="$WORK/print"
start_service ingest
start_service sla-timer CHARTER_SLA_POLICY_DIR="$SRC/policies"
start_service notification CHARTER_NOTIFY_OUTBOX_DIR="$OUTBOX" CHARTER_NOTIFY_PRINT_DIR="$PRINT" \
  CHARTER_NOTIFY_TEMPLATE_DIR="$SRC/templates" CHARTER_NOTIFY_POLICY_DIR="$SRC/policies"
start_service reporting CHARTER_REPORT_POLICY_DIR="$SRC/policies" CHARTER_REPORT_SNAPSHOT_INTERVAL_S=1
for s in ingest sla-timer notification reporting; do wait_ready "$s"; done
pass "services ready"

NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ORG=derby-homes
acked() { grep -qsF "\"notification_id\":\"$1/acknowledgement\"" "$OUTBOX"/*.jsonl; }
# person NAME EMAIL PHONE: posts their e-mail contact, waits for its
# acknowledgement; sets CASE and REF.
person() {
  read -r CASE REF <<<"$(customer_contact "$ORG" email "{\"name\":\"$1\",\"email\":\"$2\",\"phone\":\"$3\"}")"
  [ -n "$CASE" ] || fail "$1's contact was refused"
  wait_until 60 acked "$CASE" || fail "no acknowledgement for $1 ($CASE)"
}
person "Zelda Erasable" "Zelda.Erase@example.org" "07700 900456"
ZCASE=$CASE
person "Zelda Erasable" "zelda.erase@example.org" "07700 900456" # a second case of hers
Z2CASE=$CASE
person "Carl Forgotten" "carl.forget@example.net" "07700 900789"
CCASE=$CASE CREF=$REF
person "Bob Keeper" "bob.keep@example.com" "07700 900111"
pass "four contacts acknowledged (Zelda twice, Carl, Bob)"

# redis_dump: every key of the database and everything it holds, one per line.
redis_dump() {
  local keys types
  keys=$(redis-cli -p "$REDIS_PORT" --scan)
  [ -n "$keys" ] || return 0
  types=$(sed 's/.*/TYPE "&"/' <<<"$keys" | redis-cli -p "$REDIS_PORT")
  echo "$keys"
  paste <(echo "$types") <(echo "$keys") | while IFS=$'\t' read -r t k; do
    case $t in
      string) echo "GET \"$k\"" ;;
      hash) echo "HGETALL \"$k\"" ;;
      set) echo "SMEMBERS \"$k\"" ;;
      zset) echo "ZRANGE \"$k\" 0 -1" ;;
      list) echo "LRANGE \"$k\" 0 -1" ;;
    esac
  done | redis-cli -p "$REDIS_PORT"
}
ZELDA='zelda|erasable|7700900456'
CARL='carl|forgotten|7700900789'
BOB='bob|keeper|7700900111'
before=$(redis_dump)
grep -qiE "$ZELDA" <<<"$before" && grep -qiE "$CARL" <<<"$before" ||
  fail "Redis does not hold Zelda's and Carl's details before the erase"
[ "$(grep -ciE 'zelda' <<<"$before")" -ge 2 ] || fail "Zelda's name is not in Redis"
grep -qiE "$ZELDA" "$OUTBOX"/*.jsonl || fail "Zelda's acknowledgement is not in the outbox"
pass "before: Redis ($(wc -l <<<"$before") lines) and the outbox hold Zelda's and Carl's details"

out=$("$CTL" erase --email ZELDA.ERASE@example.org --redis "$REDIS_URL" --outbox "$OUTBOX" \
  --print-dir "$PRINT") || fail "erase --email exited $?: $out"
log "$out"
expect_in "$out" "erase --email" "2 cases found" "case $ZCASE:" "case $Z2CASE:" \
  "charter.contact.events.v1" "charter.reports.v1 (compacted): counts"
grep -qE "per-recipient counters: [1-9]" <<<"$out" || fail "no recipient counter erased: $out"
out=$("$CTL" erase --reference "${CREF,,}" --redis "$REDIS_URL" --outbox "$OUTBOX") ||
  fail "erase --reference exited $?: $out"
expect_in "$out" "erase --reference" "1 case found" "case $CCASE:"
pass "charterctl erase by e-mail (Zelda's two cases) and by reference (Carl's case)"

after=$(redis_dump)
grep -iE "$ZELDA|$CARL" <<<"$after" && fail "Redis still holds Zelda's or Carl's details (above)"
grep -qiE 'bob|keeper' <<<"$after" && grep -q 7700900111 <<<"$after" || fail "Bob's details were erased too"
pass "after: no key or value in Redis names Zelda or Carl, or holds their addresses or numbers; Bob's kept"

grep -iE "$ZELDA|$CARL|$ZCASE|$Z2CASE|$CCASE" "$OUTBOX"/*.jsonl && fail "the outbox still holds them (above)"
grep -qiE "$BOB" "$OUTBOX"/*.jsonl || fail "Bob's acknowledgement was removed from the outbox"
for f in "$OUTBOX"/*.jsonl; do
  [ "$(stat -c %a "$f")" = 600 ] || fail "$f is $(stat -c %a "$f") after the rewrite"
done
pass "the outbox holds no line of theirs; Bob's acknowledgement kept; files still 0600"

# The topics, read raw (kcat): what docs/security.md says remains, remains.
topic() { kcat -b "$BOOTSTRAP" -C -t "$1" -e -q -f '%k %s\n' 2>/dev/null | tr -c '[:print:]\n' ' '; }
topic charter.contact.events.v1 | qgrep -iE "$ZELDA" ||
  fail "the contact topic should still hold Zelda's records (not compacted: kept until retention)"
wait_until 30 test -n "$(topic charter.reports.v1)" || fail "reporting published no snapshot"
for t in charter.reports.v1 charter.sla.timers.v1 charter.notify.outcomes.v1; do
  topic "$t" | grep -iE "$ZELDA|$CARL|$BOB" && fail "$t holds a customer's details (above)"
done
pass "Kafka: the contact topic keeps their records until its retention (as documented); the reports, timers and outcomes topics hold no names, addresses or numbers"

case_event "$ZCASE" "{\"type\":\"closed\",\"organisation\":\"$ORG\",\"occurred_at\":\"$NOW\"}"
person "Dana After" "dana.after@example.org" "07700 900222"
redis_dump | grep -iE "$ZELDA|$CARL" && fail "an event after the erase wrote their details back (above)"
pass "the services go on: Zelda's case closed and a new contact acknowledged after the erase; nothing of theirs written back"

rc=0
"$CTL" erase --email zelda.erase@example.org --redis "$REDIS_URL" --outbox "$OUTBOX" >"$WORK/again" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "nothing of zelda.erase@example.org was found" "$WORK/again" ||
  fail "a second erase: want exit 1 and 'nothing ... was found', got $rc: $(cat "$WORK/again")"
rc=0
"$CTL" erase --phone "not a number" --redis "$REDIS_URL" 2>"$WORK/err" || rc=$?
[ "$rc" = 2 ] && grep -q -- "--phone not a number" "$WORK/err" || fail "a bad --phone: got $rc: $(cat "$WORK/err")"
pass "a second erase finds nothing (exit 1); a bad --phone is refused naming it (exit 2)"
