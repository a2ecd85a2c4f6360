#!/usr/bin/env bash
# The file outbox holds names, addresses and messages: notification makes its
# folder 0700 and each file 0600, rotates a file by day and by size into
# <organisation>.<UTC stamp>.jsonl, and deletes an organisation's rotated
# files older than notify.outbox_keep_days at its next rotation (another
# organisation's are left alone). Every acknowledgement is in exactly one file.
# The retention keys set the Redis TTLs: a contact hash kept
# notify.contact_ttl_days (5 here), a notification's record
# notify.record_ttl_days (9).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notification_lib.sh"

start_redis
start_broker
OUTBOX="$WORK/outbox"
POLICIES="$WORK/policies"
ORG=nottingham-city-homes
write_short_policy "$POLICIES"
start_service ingest
start_service sla-timer CHARTER_SLA_POLICY_DIR="$POLICIES"
start_service notification CHARTER_NOTIFY_OUTBOX_DIR="$OUTBOX" \
  CHARTER_NOTIFY_TEMPLATE_DIR="$CHARTER_SOURCE_DIR/templates" CHARTER_NOTIFY_POLICY_DIR="$POLICIES" \
  CHARTER_NOTIFY_OUTBOX_ROTATE_BYTES=1600 CHARTER_NOTIFY_OUTBOX_KEEP_DAYS=3 \
  CHARTER_NOTIFY_CONTACT_TTL_DAYS=5 CHARTER_NOTIFY_RECORD_TTL_DAYS=9
for s in ingest sla-timer notification; do wait_ready "$s"; done
pass "services ready"

[ "$(stat -c %a "$OUTBOX")" = 700 ] || fail "outbox folder mode $(stat -c %a "$OUTBOX"), want 700"
pass "the outbox folder is created 0700"

# Rotated files from long ago: this organisation's goes at its next rotation.
OLD="$OUTBOX/$ORG.20200101T000000-000Z.jsonl"
OTHER_OLD="$OUTBOX/derby-homes.20200101T000000-000Z.jsonl"
echo '{"old":true}' >"$OLD"
echo '{"old":true}' >"$OTHER_OLD"
touch -d '2020-01-01 00:00:00Z' "$OLD" "$OTHER_OLD"

NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
holder() { grep -lF "\"notification_id\":\"$1/acknowledgement\"" "$OUTBOX"/*.jsonl 2>/dev/null || true; }
has_ack() { [ -n "$(holder "$1")" ]; }
# contact N: posts customer N's e-mail and waits for the acknowledgement; its case id in $C.
contact() {
  read -r C _ <<<"$(customer_contact "$ORG" email "{\"name\":\"Ann Example$1\",\"email\":\"ann$1@example.org\"}")"
  [ -n "$C" ] || fail "contact $1 was refused"
  wait_until 60 has_ack "$C" || fail "no acknowledgement for contact $1 ($C)"
}

contact 1
C1=$C
CUR="$OUTBOX/$ORG.jsonl"
[ "$(holder "$C1")" = "$CUR" ] || fail "contact 1's acknowledgement is in $(holder "$C1")"
[ "$(stat -c %a "$CUR")" = 600 ] || fail "outbox file mode $(stat -c %a "$CUR"), want 600"
pass "the acknowledgement is written to $ORG.jsonl, mode 0600"

# A file last written yesterday is rotated by the first line of today.
touch -d '-1 day' "$CUR"
contact 2
C2=$C
R1=$(holder "$C1")
[ "$(holder "$C2")" = "$CUR" ] && [ "$R1" != "$CUR" ] || fail "after a day: $C1 in $R1, $C2 in $(holder "$C2")"
[[ "$R1" =~ /$ORG\.[0-9]{8}T[0-9]{6}-[0-9]{3}Z\.jsonl$ ]] || fail "rotated name $R1"
[ "$(stat -c %a "$R1")" = 600 ] || fail "rotated file mode $(stat -c %a "$R1")"
pass "yesterday's file rotated to $(basename "$R1") by today's first line"

[ -e "$OLD" ] && fail "$ORG's rotated file from 2020 was kept past notify.outbox_keep_days"
[ -e "$OTHER_OLD" ] || fail "another organisation's rotated file was deleted"
pass "$ORG's rotated file from 2020 deleted at the rotation; derby-homes' left alone"

# By size: 1,600 bytes hold two acknowledgements (about 770 bytes each).
CASES=("$C1" "$C2")
for i in 3 4 5 6 7; do
  contact "$i"
  CASES+=("$C")
done
for c in "${CASES[@]}"; do
  [ "$(grep -lF "\"notification_id\":\"$c/acknowledgement\"" "$OUTBOX"/*.jsonl | wc -l)" = 1 ] ||
    fail "$c's acknowledgement is not in exactly one file"
done
FILES=$(ls "$OUTBOX"/$ORG.*.jsonl | wc -l)
[ "$FILES" -ge 3 ] || fail "$FILES rotated files after seven acknowledgements at 1,600 bytes, want at least 3"
for f in "$OUTBOX"/$ORG*.jsonl; do
  size=$(stat -c %s "$f")
  [ "$size" -le 1600 ] || [ "$(grep -c . "$f")" = 1 ] || fail "$f is $size bytes, over notify.outbox_rotate_bytes"
  [ "$(stat -c %a "$f")" = 600 ] || fail "$f mode $(stat -c %a "$f")"
done
pass "by size: seven acknowledgements in $((FILES + 1)) files of at most 1,600 bytes, each in exactly one, all 0600"

# ttl_between KEY LO HI: the key's TTL in seconds is within [LO, HI].
ttl_between() {
  local t
  t=$(redis-cli -p "$REDIS_PORT" TTL "$1")
  [ "$t" -ge "$2" ] && [ "$t" -le "$3" ] || fail "TTL of $1 is $t, want $2..$3"
}
ttl_between "charter:case:{$C1}:contact" $((5 * 86400 - 600)) $((5 * 86400))
ttl_between "charter:notify:{$C1}:acknowledgement" $((9 * 86400 - 600)) $((9 * 86400))
pass "the contact hash expires in notify.contact_ttl_days (5), the record in notify.record_ttl_days (9)"
