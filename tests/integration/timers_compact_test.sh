#!/usr/bin/env bash
# sla-timer's two timer forms (issue 16; services/sla-timer/timer_keys.h,
# MEMBERS). A timer of a UUID case is stored compact (its id packed, no
# stored event) and its TimerFired is rebuilt from the case's state when it
# fires; anything stored in text form, as every timer was before, still
# fires as it did. Checked here, reading charter.sla.timers.v1 with kcat and
# decoding with protoc:
#   1. the same cases (same org, channel, type, times and references; other
#      UUIDs) fire the same TimerFired fields under sla.timer_format = text
#      (the form before issue 16) and compact, a refused holding reply's
#      timer and its reason included, and compact ones leave nothing in the
#      :timers hash;
#   2. text timers left by the earlier form (one written with redis-cli as
#      the old store wrote it, and the text-form timers of a case set under
#      sla.timer_format = text) still fire / are cancelled once sla-timer
#      stores compact;
#   3. a compact timer whose case has no state, and one whose state no
#      longer gives it, still fire (with what the id and the state give),
#      each with a warning and charter_sla_timers_fired_partial_total; one
#      whose state is saved only after its claim reads it again and fires
#      in full;
#   4. charterctl timers --case reads a compact timer (kind, organisation,
#      reference from the case's state);
#   5. case states are saved packed, and as JSON under sla.timer_format =
#      text (what an older release reads); a state stored as JSON is read at
#      fire time (3, the late state) and by case_sync, which writes it back
#      packed (charterctl timers --state prints either form as JSON).
source "$(dirname "$0")/lib.sh"

start_redis
start_broker
PB2="$WORK/pb2"
CASES="$SRC/tests/integration/cases.py"
CTL="$BUILD/tools/charterctl/charterctl"
/usr/bin/python3 "$CASES" pb2 "$SRC/proto" "$PB2"
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
uuid() { /usr/bin/python3 -c 'import uuid; print(uuid.uuid4())'; }
metric() {
  curl -fsS "http://127.0.0.1:${SVC_PORT[sla-timer]}/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}

N=4
RECEIVED=$(date -u -d '60 days ago' +%Y-%m-%dT09:15:00Z)
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
: >"$WORK/a" >"$WORK/b"
for i in $(seq 1 $N); do
  echo "$(uuid) derby-homes email enquiry $RECEIVED" >>"$WORK/a"
  echo "$(uuid) derby-homes email enquiry $RECEIVED" >>"$WORK/b"
done
# Received now: its timers are pending for a while (text form, then closed).
PENDING_TEXT=$(uuid)
echo "$PENDING_TEXT derby-homes email enquiry $NOW" >"$WORK/pending-text"
# A refused holding reply: one second after receipt, asking for 400 days.
HOLD=(--hold-after 1 --hold-target $((400 * 86400)))

# fired_lines LISTFILE OUT: every TimerFired of the cases in LISTFILE, one
# line each, "REFERENCE KIND-OF-ID | the decoded fields", with the ids and
# fired_at left out (they differ between the runs by design).
fired_lines() {
  local list=$1 out=$2
  : >"$out"
  kcat -b "$BOOTSTRAP" -C -t charter.sla.timers.v1 -e -q -f '%k %p %o\n' 2>/dev/null |
    while read -r key p o; do
      qgrep -x -F "$key" <(awk '{ print $1 }' "$list") || continue
      text=$(decode_record charter.sla.timers.v1 "$p" "$o" TimerFired | tr '\n' ' ' | tr -s ' ')
      tid=$(sed -n 's/.*timer_id: "\([^"]*\)".*/\1/p' <<<"$text")
      ref=$(sed -n 's/.*reference: "\([^"]*\)".*/\1/p' <<<"$text")
      fields=$(sed -e 's/timer_id: "[^"]*" //' -e 's/case_id: "[^"]*" //' \
        -e 's/fired_at { [^}]*} //' <<<"$text")
      echo "$ref ${tid#*/} | $fields"
    done | sort -u >"$out"
}
count_fired() { fired_lines "$1" "$2"; [ "$(wc -l <"$2")" -ge "$3" ]; }

# ---- the text form (as before issue 16) ----
start_service sla-timer CHARTER_SLA_POLICY_DIR="$SRC/policies" CHARTER_SLA_TIMER_FORMAT=text
wait_ready sla-timer
/usr/bin/python3 "$CASES" produce "$BOOTSTRAP" "$PB2" --list "$WORK/a" "${HOLD[@]}" >/dev/null ||
  fail "could not produce the cases"
/usr/bin/python3 "$CASES" produce "$BOOTSTRAP" "$PB2" --list "$WORK/pending-text" >/dev/null ||
  fail "could not produce the pending case"
# 4 timers of the received event and the refusal's, per case
WANT=$((5 * N))
wait_until 60 count_fired "$WORK/a" "$WORK/fired-a" "$WANT" ||
  fail "text form: $(wc -l <"$WORK/fired-a") of $WANT timers fired"
qgrep 'extension_refused' "$WORK/fired-a" && qgrep 'detail: ' "$WORK/fired-a" ||
  fail "text form: no refused extension's timer with its reason: $(cat "$WORK/fired-a")"
pending_text() { [ "$("$CTL" timers --case "$PENDING_TEXT" --redis "$REDIS_URL" | grep -c "$PENDING_TEXT/")" -ge 2 ]; }
wait_until 30 pending_text || fail "the pending case's timers are not in the store"
payloads_of() { rcli --scan --pattern 'charter:{t*}:timers' | while read -r k; do rcli HKEYS "$k"; done | grep -c -F "$1" || true; }
[ "$(payloads_of "$PENDING_TEXT")" -ge 2 ] || fail "text form stored no payloads for the pending case"
pass "text form: $WANT timers fired; the pending case's timers are stored as text with payloads"
A1=$(awk 'NR == 1 { print $1 }' "$WORK/a")
[ "$(rcli --no-raw GET "charter:case:{$A1}:sla" | cut -c2)" = '{' ] ||
  fail "text form: the case state is not the JSON an older release reads: $(rcli --no-raw GET "charter:case:{$A1}:sla")"
pass "text form: case states are saved as JSON, the form an older release reads"
stop_service sla-timer

# An old text-form timer as the store wrote it before issue 16: the id as
# the member and a TimerFired (without timer_id and case_id) in :timers.
OLD=$(uuid)
OLD_DUE_S=$(($(date +%s) - 30))
printf 'organisation: "derby-homes" kind: TIMER_KIND_BREACH due_at { seconds: %d } reference: "OLD-000001" channel: CHANNEL_LETTER case_type: "complaint_stage_1"\n' "$OLD_DUE_S" |
  protoc --encode=charter.v1.TimerFired -I "$SRC/proto" "$SRC"/proto/charter/v1/*.proto >"$WORK/old.bin"
rcli -x HSET 'charter:{t2}:timers' "$OLD/breach" <"$WORK/old.bin" >/dev/null
rcli ZADD 'charter:{t2}:due' $((OLD_DUE_S * 1000)) "$OLD/breach" >/dev/null

# A compact timer whose case has no state, and one whose state does not give
# it (a refusal the state has not recorded): members as the store packs them.
member() { # UUID KIND-BYTE-HEX [VARINT-HEX...]: the compact member's bytes
  local hex="00$(tr -d '-' <<<"$1")$2${3:-}"
  printf '%b' "$(sed 's/../\\x&/g' <<<"$hex")"
}
LOST=$(uuid)
member "$LOST" 02 >"$WORK/lost.bin" # breach
rcli -x ZADD 'charter:{t3}:due' $((($(date +%s) - 5) * 1000)) <"$WORK/lost.bin" >/dev/null
STALE=$(uuid)
# the state of one of set A's cases, under STALE's key: no fifth refusal in it
rcli COPY "charter:case:{$A1}:sla" "charter:case:{$STALE}:sla" >/dev/null
member "$STALE" 0b 05 >"$WORK/stale.bin" # extension_refused/5
rcli -x ZADD 'charter:{t4}:due' $((($(date +%s) - 5) * 1000)) <"$WORK/stale.bin" >/dev/null

# A compact timer whose case's state is saved only after the timer was
# claimed (as when case_sync's save failed and its retry comes later): it
# reads the state again and fires the full event.
LATE=$(uuid)
member "$LATE" 02 >"$WORK/late.bin" # breach
rcli -x ZADD 'charter:{t5}:due' $((($(date +%s) - 5) * 1000)) <"$WORK/late.bin" >/dev/null
# Its state as JSON, the form stored before the packed one: read as it was.
A1_JSON=$("$CTL" timers --state "$A1" --redis "$REDIS_URL") || fail "charterctl timers --state $A1 failed"
qgrep '"reference":"T-000000"' <<<"$A1_JSON" || fail "charterctl timers --state printed: $A1_JSON"

# ---- the compact form ----
start_service sla-timer CHARTER_SLA_POLICY_DIR="$SRC/policies"
late_claimed() { rcli ZCARD 'charter:{t5}:inflight' | qgrep -x 1; }
wait_until 30 late_claimed || fail "the late-state timer was not claimed"
rcli SET "charter:case:{$LATE}:sla" "$A1_JSON" >/dev/null
wait_ready sla-timer
/usr/bin/python3 "$CASES" produce "$BOOTSTRAP" "$PB2" --list "$WORK/b" "${HOLD[@]}" >/dev/null ||
  fail "could not produce the cases"
wait_until 60 count_fired "$WORK/b" "$WORK/fired-b" "$WANT" ||
  fail "compact form: $(wc -l <"$WORK/fired-b") of $WANT timers fired"
if ! diff -u "$WORK/fired-a" "$WORK/fired-b" >"$WORK/diff"; then
  head -30 "$WORK/diff"
  fail "compact timers fired other fields than text ones (above: - text, + compact)"
fi
pass "compact form: the same $WANT TimerFired records as the text form (every field but the ids and fired_at)"


echo "$OLD derby-homes letter complaint_stage_1 $RECEIVED" >"$WORK/old"
old_fired() { fired_lines "$WORK/old" "$WORK/fired-old"; qgrep 'reference: "OLD-000001"' "$WORK/fired-old"; }
wait_until 30 old_fired || fail "the old text-form timer did not fire"
qgrep 'breach' "$WORK/fired-old" && qgrep 'case_type: "complaint_stage_1"' "$WORK/fired-old" ||
  fail "the old text-form timer fired other fields: $(cat "$WORK/fired-old")"
old_gone() { [ "$(rcli HEXISTS 'charter:{t2}:timers' "$OLD/breach")" = 0 ]; }
wait_until 10 old_gone || fail "the old text-form timer's payload was not deleted once fired"
pass "an old text-form timer (written as the old store wrote it) fired with its stored fields and was deleted"

# The pending text-form case is closed: its text timers are cancelled.
/usr/bin/python3 "$CASES" produce "$BOOTSTRAP" "$PB2" --list "$WORK/pending-text" --then-close >/dev/null ||
  fail "could not close the pending case"
text_cancelled() {
  [ "$("$CTL" timers --case "$PENDING_TEXT" --redis "$REDIS_URL" | grep -c "$PENDING_TEXT/")" -eq 0 ] &&
    [ "$(payloads_of "$PENDING_TEXT")" -eq 0 ]
}
wait_until 30 text_cancelled || fail "closing the case left its text-form timers"
pass "text-form timers are cancelled (members and payloads) by sla-timer storing compact"

# Missing and stale states: fired after the rereads, never dropped.
echo "$LOST derby-homes email enquiry $RECEIVED" >"$WORK/lost"
echo "$STALE derby-homes email enquiry $RECEIVED" >"$WORK/stale"
lost_fired() { fired_lines "$WORK/lost" "$WORK/fired-lost"; [ -s "$WORK/fired-lost" ]; }
stale_fired() { fired_lines "$WORK/stale" "$WORK/fired-stale"; [ -s "$WORK/fired-stale" ]; }
wait_until 30 lost_fired || fail "a compact timer without its case's state was dropped"
wait_until 30 stale_fired || fail "a compact timer its case's state no longer gives was dropped"
qgrep 'kind: TIMER_KIND_BREACH' "$WORK/fired-lost" || fail "no state: $(cat "$WORK/fired-lost")"
qgrep 'kind: TIMER_KIND_EXTENSION_REFUSED' "$WORK/fired-stale" &&
  qgrep 'organisation: "derby-homes"' "$WORK/fired-stale" || fail "stale state: $(cat "$WORK/fired-stale")"
[ "$(metric charter_sla_timers_fired_partial_total)" = 2 ] ||
  fail "charter_sla_timers_fired_partial_total is $(metric charter_sla_timers_fired_partial_total), not 2"
qgrep "timer fired without its case's state" "$WORK/sla-timer.log" &&
  qgrep "no longer give it" "$WORK/sla-timer.log" || fail "no warning for the partial timers"
pass "compact timers without a (matching) state fired with what the id and state give, a warning and the metric"
echo "$LATE derby-homes email enquiry $RECEIVED" >"$WORK/late"
late_fired() { fired_lines "$WORK/late" "$WORK/fired-late"; [ -s "$WORK/fired-late" ]; }
wait_until 30 late_fired || fail "the timer whose state came late did not fire"
qgrep 'kind: TIMER_KIND_BREACH' "$WORK/fired-late" && qgrep 'target_at' "$WORK/fired-late" &&
  qgrep 'reference: "T-000000"' "$WORK/fired-late" ||
  fail "the timer whose state came late fired without the state's fields: $(cat "$WORK/fired-late")"
[ "$(metric charter_sla_timers_fired_partial_total)" = 2 ] ||
  fail "a timer whose state was saved after its claim, or a case of set B, counted as partial"
pass "a timer claimed before its case's state was saved (as JSON, the form stored before) read it again and fired in full"

# charterctl reads a compact pending timer.
LIVE=$(uuid)
echo "$LIVE derby-homes email enquiry $NOW" >"$WORK/live"
/usr/bin/python3 "$CASES" produce "$BOOTSTRAP" "$PB2" --list "$WORK/live" >/dev/null ||
  fail "could not produce the live case"
live() { "$CTL" timers --case "$LIVE" --redis "$REDIS_URL" | grep "$LIVE/breach" | qgrep 'breach *derby-homes *T-000000'; }
wait_until 30 live || fail "charterctl timers does not read the compact timer: $("$CTL" timers --case "$LIVE" --redis "$REDIS_URL")"
pass "charterctl timers --case lists a compact timer with its kind, organisation and reference"
text_members_of() {
  for p in 0 1 2 3 4 5; do rcli ZRANGE "charter:{t$p}:due" 0 -1; done | grep -c -F "$1/" || true
}
[ "$(payloads_of "$LIVE")" -eq 0 ] && [ "$(text_members_of "$LIVE")" -eq 0 ] ||
  fail "the compact case's timers are stored as text or with payloads"
pass "a UUID case's pending timers are compact: no text member, no payload"

# A state stored as JSON (before the packed form) is read by case_sync too,
# and written back packed: LIVE's state replaced by its JSON, then closed.
LIVE_KEY="charter:case:{$LIVE}:sla"
[ "$(rcli --no-raw GET "$LIVE_KEY" | cut -c2)" != '{' ] || fail "sla-timer stored LIVE's state as JSON"
rcli SET "$LIVE_KEY" "$("$CTL" timers --state "$LIVE" --redis "$REDIS_URL")" >/dev/null
[ "$(rcli --no-raw GET "$LIVE_KEY" | cut -c2)" = '{' ] || fail "could not store LIVE's state as JSON"
/usr/bin/python3 "$CASES" produce "$BOOTSTRAP" "$PB2" --list "$WORK/live" --then-close >/dev/null ||
  fail "could not close the live case"
live_closed() {
  [ "$("$CTL" timers --case "$LIVE" --redis "$REDIS_URL" | grep -c "$LIVE/")" -eq 0 ] &&
    "$CTL" timers --state "$LIVE" --redis "$REDIS_URL" | qgrep '"closed":true'
}
wait_until 30 live_closed || fail "closing a case whose state was JSON left its timers: $("$CTL" timers --case "$LIVE" --redis "$REDIS_URL")"
[ "$(rcli --no-raw GET "$LIVE_KEY" | cut -c2)" != '{' ] || fail "the JSON state was not written back packed"
"$CTL" timers --state "$LIVE" --redis "$REDIS_URL" | qgrep '"reference":"T-000000"' ||
  fail "the state written back lost the reference: $("$CTL" timers --state "$LIVE" --redis "$REDIS_URL")"
pass "a case whose state was JSON (stored before) was closed: timers cancelled, state written back packed"
stop_service sla-timer
