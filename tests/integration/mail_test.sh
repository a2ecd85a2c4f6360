#!/usr/bin/env bash
# E-mail in (services/ingest/mail_listener.c): the real ingest with its
# SMTP listener on a free loopback port, a real redis-server and the
# embedded broker; mail delivered by Python's smtplib (mail_send.py) and by
# swaks; the topics read with kcat and decoded with protoc.
#
#  1. a new mail -> a Received contact with the sender, subject, text,
#     attachments, mailbox and the mailbox's case type; answered 250 only
#     after Kafka confirmed it;
#  2. the same Message-ID delivered again -> 250, no second case;
#  3. a reply quoting the case reference -> a CustomerMessage on that case;
#  4. a reply whose In-Reply-To is a Charter notice's Message-ID -> joins;
#  5. an auto-reply, list mail and other mail from <> -> 250, no case;
#  6. a bounce of a notice -> a DeliveryReceipt on charter.notify.receipts.v1;
#  7. an unknown recipient -> 550 5.1.1 at RCPT (swaks); over the size
#     limit -> 552 (SIZE= and data);
#  8. Kafka down -> 451 4.3.0; the retry after it is back lands exactly once;
#  9. LMTP: one answer per recipient.
source "$(dirname "$0")/lib.sh"

SEND=(/usr/bin/python3 "$SRC/tests/integration/mail_send.py")
EV=charter.contact.events.v1
RC=charter.notify.receipts.v1
MAILPORT=$(free_port)
printf 'mail orgs=*\n' >>"$GATEWAYS_FILE"
cat >"$WORK/mailboxes" <<'EOF'
# mail_test's mailboxes
complaints@nottingham.test  nottingham-city-homes  complaint_stage_1
*@charter.localhost
EOF

start_mail_ingest() { # start_mail_ingest PROTOCOL [VAR=VALUE...]
  local proto=$1; shift
  start_service ingest CHARTER_INGEST_MAIL_LISTEN="127.0.0.1:$MAILPORT" CHARTER_INGEST_MAIL_PROTOCOL="$proto" \
    CHARTER_INGEST_MAILBOXES="$WORK/mailboxes" CHARTER_INGEST_MAIL_MAX_BYTES=65536 \
    CHARTER_INGEST_MAIL_OWN_DOMAINS=notices.charter.test "$@"
  wait_ready ingest
}

start_redis
start_broker
start_mail_ingest smtp
pass "ingest ready with its SMTP listener on 127.0.0.1:$MAILPORT"

# decoded TOPIC KEY TYPE: every record with KEY, decoded, one after another.
decoded() {
  local p o
  kcat -b "$BOOTSTRAP" -C -t "$1" -e -q -f '%k %p %o\n' 2>/dev/null | awk -v k="$2" '$1 == k { print $2, $3 }' |
    while read -r p o; do decode_record "$1" "$p" "$o" "$3"; echo "----"; done
}
# send FROM TO[,TO] [SIZE] < message: mail_send.py's replies
send() { "${SEND[@]}" "$MAILPORT" "${PROTO:-smtp}" "$@"; }
data_line() { grep '^DATA ' <<<"$1" | head -n 1; }
case_of() { sed -n 's/.* id \([0-9a-f-]*\).*/\1/p' <<<"$1" | head -n 1; }
ref_of() { sed -n 's/.*Ok: case \([A-Z]*-[0-9]*-[0-9]*\) .*/\1/p' <<<"$1" | head -n 1; }
received_count() { # received_count GATEWAY_MESSAGE_ID: Received events carrying it
  kcat -b "$BOOTSTRAP" -C -t "$EV" -e -q -f '%p %o\n' 2>/dev/null | while read -r p o; do
    decode_record "$EV" "$p" "$o" CaseEvent
  done | grep -c "gateway_message_id: \"$1\"" || true
}

new_mail() { # new_mail MESSAGE-ID SUBJECT
  cat <<EOF
From: "Ann Example" <ann@example.org>
To: Complaints <complaints@nottingham.test>
Subject: $2
Date: $(date -R)
Message-ID: <$1>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

The gutter at 4 Elm Road is still leaking.
.A line starting with a dot.

--b1
Content-Type: image/png
Content-Disposition: attachment; filename="gutter.png"
Content-Transfer-Encoding: base64

iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==
--b1--
EOF
}

# ---- 1. a new mail -> a contact ----
M1="m1.$$@example.org"
out=$(new_mail "$M1" "Leaking gutter" | send ann@example.org complaints@nottingham.test)
d=$(data_line "$out")
[[ $d == "DATA 250 "* ]] || fail "a new mail was not accepted: $out"
C1=$(case_of "$d")
REF1=$(ref_of "$d")
[ -n "$C1" ] && [ -n "$REF1" ] || fail "no case id and reference in the answer: $d"
has_record "$EV" "$C1" || fail "answered 250 but no event for $C1 on $EV"
txt=$(decoded "$EV" "$C1" CaseEvent)
expect_in "$txt" "the contact from mail" 'organisation: "nottingham-city-homes"' 'source: "smtp:mail"' \
  'channel: CHANNEL_EMAIL' 'case_type: "complaint_stage_1"' "reference: \"$REF1\"" 'name: "Ann Example"' \
  'email: "ann@example.org"' 'subject: "Leaking gutter"' 'The gutter at 4 Elm Road is still leaking.' \
  'A line starting with a dot.' "gateway_message_id: \"$M1\"" 'gateway_account: "complaints@nottingham.test"' \
  'name: "gutter.png"' 'content_type: "image/png"' 'size_bytes: 70'
grep -qF '..A line' <<<"$txt" && fail "the data was not dot-unstuffed: $txt"
pass "a new mail became contact $REF1 ($C1) with sender, subject, text, attachment, mailbox and case type"

# ---- 2. redelivery ----
out=$(new_mail "$M1" "Leaking gutter" | send ann@example.org complaints@nottingham.test)
d=$(data_line "$out")
[[ $d == "DATA 250 "*"already received"* ]] || fail "a redelivery was not answered 250 (already received): $out"
[ "$(case_of "$d")" = "$C1" ] || fail "a redelivery named another case: $d"
[ "$(received_count "$M1")" = 1 ] || fail "the redelivered Message-ID made a second contact"
pass "the same Message-ID again: 250, the same case, no second contact"

# ---- 3. a reply quoting the reference ----
dir_has_ref() { [ "$(redis-cli -p "$REDIS_PORT" GET "charter:ingest:dir:ref:$REF1")" = "$C1" ]; }
wait_until 20 dir_has_ref || fail "the directory never recorded $REF1"
M3="m3.$$@example.org"
out=$(printf 'From: Ann Example <ann@example.org>\nTo: complaints@nottingham.test\nSubject: Re: your complaint [%s]\nMessage-ID: <%s>\n\nAny news? It rained again.\n' \
  "$REF1" "$M3" | send ann@example.org complaints@nottingham.test)
d=$(data_line "$out")
[[ $d == "DATA 250 2.0.0 Ok: added to case $C1"* ]] || fail "a reply quoting $REF1 did not join $C1: $out"
txt=$(decoded "$EV" "$C1" CaseEvent)
expect_in "$txt" "the reply on $C1" 'customer_message {' 'Any news? It rained again.' "gateway_message_id: \"$M3\"" \
  'from: "ann@example.org"'
pass "a reply quoting $REF1 became a customer message on $C1"

# ---- 4. a reply to a notice (In-Reply-To: the acknowledgement's Message-ID) ----
NOTICE=$(/usr/bin/python3 - "$C1/acknowledgement" <<'PY'
import sys
i = sys.argv[1].encode()
h = 1469598103934665603
for c in i:
    h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
print("<n.%s.%016x@notices.charter.test>" % (i.decode(), h))
PY
)
M4="m4.$$@example.org"
out=$(printf 'From: ann@example.org\nTo: complaints@nottingham.test\nSubject: Re: We have received your complaint\nMessage-ID: <%s>\nIn-Reply-To: %s\nReferences: %s\n\nThank you, photos to follow.\n' \
  "$M4" "$NOTICE" "$NOTICE" | send ann@example.org complaints@nottingham.test)
[[ $(data_line "$out") == "DATA 250 2.0.0 Ok: added to case $C1"* ]] || fail "a reply to notice $NOTICE did not join $C1: $out"
expect_in "$(decoded "$EV" "$C1" CaseEvent)" "the reply to the notice" 'Thank you, photos to follow.' \
  "in_reply_to: \"$C1/acknowledgement\""
pass "a reply to the acknowledgement (In-Reply-To $NOTICE) joined $C1"

# ---- 4b. a notice id is not a secret: one sent to another organisation's mailbox does not reach its case ----
M4B="m4b.$$@example.org"
out=$(printf 'From: eve@example.org\nTo: derby-homes@charter.localhost\nSubject: Re: We have received your complaint\nMessage-ID: <%s>\nIn-Reply-To: %s\n\nAdded to someone else\x27s case?\n' \
  "$M4B" "$NOTICE" | send eve@example.org derby-homes@charter.localhost)
d=$(data_line "$out")
[[ $d == "DATA 250 2.0.0 Ok: case DH-"* ]] || fail "a Nottingham notice id sent to Derby's mailbox was not a new Derby contact: $out"
grep -qF "Added to someone" <<<"$(decoded "$EV" "$C1" CaseEvent)" && fail "another organisation's mail was added to $C1"
pass "a notice id of another organisation's case opens a new contact there, not a message on $C1"

# ---- 5. auto-replies, list mail, other mail from <> ----
before=$(kcat -b "$BOOTSTRAP" -C -t "$EV" -e -q -f '%o\n' 2>/dev/null | wc -l)
for what in auto list null; do
  case $what in
    auto) hdr='Auto-Submitted: auto-replied'; from=ann@example.org ;;
    list) hdr='List-Id: <residents.lists.example.org>'; from=owner@lists.example.org ;;
    null) hdr='X-Note: none'; from="" ;;
  esac
  out=$(printf 'From: ann@example.org\nTo: complaints@nottingham.test\nSubject: Out of office\nMessage-ID: <%s.%s@example.org>\n%s\n\nI am away.\n' \
    "$what" "$$" "$hdr" | send "$from" complaints@nottingham.test)
  [[ $(data_line "$out") == "DATA 250 2.0.0 Ok: no case (ignored)"* ]] || fail "$what mail not answered 250 without a case: $out"
done
after=$(kcat -b "$BOOTSTRAP" -C -t "$EV" -e -q -f '%o\n' 2>/dev/null | wc -l)
[ "$before" = "$after" ] || fail "ignored mail wrote $((after - before)) events"
metric() { curl -sS "http://127.0.0.1:${SVC_PORT[ingest]}/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
[ "$(metric charter_ingest_mail_ignored_total)" = 3 ] || fail "charter_ingest_mail_ignored_total is $(metric charter_ingest_mail_ignored_total), not 3"
grep -q '"mail ignored: no case".*automatic' "$WORK/ingest.log" || fail "the auto-reply's why was not logged"
pass "an auto-reply, list mail and a non-DSN from <>: 250, no event, counted and logged with the why"

# ---- 6. a bounce of a notice ----
sed -e "s|^Message-ID: <n\..*|Message-ID: $NOTICE|" "$SRC/tests/data/mail/dsn_postfix.eml" >"$WORK/bounce.eml"
out=$(send "" complaints@nottingham.test <"$WORK/bounce.eml")
[[ $(data_line "$out") == "DATA 250 2.0.0 Ok: delivery report recorded"* ]] || fail "the bounce was not recorded: $out"
wait_until 20 has_record "$RC" "$C1" || fail "no delivery receipt for $C1 on $RC"
expect_in "$(decoded "$RC" "$C1" DeliveryReceipt)" "the receipt" "notification_id: \"$C1/acknowledgement\"" \
  "case_id: \"$C1\"" 'status: STATUS_PERMANENT_FAILURE' 'channel: CHANNEL_EMAIL' 'provider: "smtp"' 'reason: "'
[ "$before" = "$(kcat -b "$BOOTSTRAP" -C -t "$EV" -e -q -f '%o\n' 2>/dev/null | wc -l)" ] || fail "the bounce wrote a case event"
pass "a bounce of $C1/acknowledgement: a PERMANENT_FAILURE receipt on $RC, no case"

# ---- 7. unknown recipient (swaks), size limits ----
out=$(swaks --server 127.0.0.1 --port "$MAILPORT" --from ann@example.org --to nobody@nottingham.test \
  --helo swaks.localhost --timeout 30 2>&1 || true)
grep -q '^<\*\* *550 5.1.1' <<<"$out" || fail "swaks to an unknown mailbox: no 550 5.1.1 at RCPT: $out"
out=$(swaks --server 127.0.0.1 --port "$MAILPORT" --from ann@example.org --to nottingham-city-homes@charter.localhost \
  --helo swaks.localhost --header "Message-ID: <swaks.$$@example.org>" --body "Hello from swaks" --timeout 30 2>&1 || true)
grep -q '^<- *250 2.0.0 Ok: case ' <<<"$out" || fail "swaks to <organisation-id>@charter.localhost not accepted: $out"
out=$(head -c 70000 /dev/zero | tr '\0' 'x' | fold -w 70 | { printf 'From: ann@example.org\nSubject: big\n\n'; cat; } |
  send ann@example.org complaints@nottingham.test)
[[ $(data_line "$out") == "DATA 552 5.3.4"* ]] || fail "a message over ingest.mail_max_bytes not refused 552: $out"
out=$(printf 'From: ann@example.org\n\nx\n' | send ann@example.org complaints@nottingham.test 70000)
[[ $out == "MAIL 552 5.3.4"* ]] || fail "MAIL FROM with SIZE= over the limit not refused 552: $out"
pass "unknown recipient 550 5.1.1 (swaks); <org>@charter.localhost accepted (swaks); 552 over the size limit"

# ---- 8. Kafka down -> 451, the retry lands once ----
curl -fsS -X POST "http://$BROKER_CONTROL/brokers/down" >/dev/null || fail "broker control endpoint"
kafka_down() { [ "$(readyz_field "${SVC_PORT[ingest]}" kafka)" = False ]; }
wait_until 20 kafka_down || fail "ingest did not notice the broker going down"
M8="m8.$$@example.org"
out=$(new_mail "$M8" "Broken window" | send ann@example.org complaints@nottingham.test)
[[ $(data_line "$out") == "DATA 451 4.3.0"* ]] || fail "with Kafka down: expected 451 4.3.0, got: $out"
curl -fsS -X POST "http://$BROKER_CONTROL/brokers/up" >/dev/null || fail "broker up"
kafka_up() { [ "$(readyz_field "${SVC_PORT[ingest]}" kafka)" = True ]; }
wait_until 60 kafka_up || fail "ingest did not see the broker back"
retry_ok() {
  out=$(new_mail "$M8" "Broken window" | send ann@example.org complaints@nottingham.test)
  [[ $(data_line "$out") == "DATA 250 "* ]]
}
wait_until 90 retry_ok || fail "the retry after the broker came back was not accepted: $out"
[ "$(received_count "$M8")" = 1 ] || fail "the retried message is on the topic $(received_count "$M8") times"
pass "Kafka down: 451 4.3.0 (the MTA keeps it); the retry after recovery landed exactly once"

# ---- 9. LMTP ----
stop_service ingest
PROTO=lmtp
start_mail_ingest lmtp CHARTER_INGEST_MAIL_COMMAND_TIMEOUT_MS=2000 CHARTER_INGEST_MAIL_MAX_CONNECTIONS=3 \
  CHARTER_INGEST_MAIL_RATE_PER_MINUTE=5
M9="m9.$$@example.org"
out=$(new_mail "$M9" "Two mailboxes" | send ann@example.org complaints@nottingham.test,nobody@nottingham.test,derby-homes@charter.localhost)
grep -q '^RCPT nobody@nottingham.test 550 5.1.1' <<<"$out" || fail "LMTP: unknown recipient not 550: $out"
[ "$(grep -c '^DATA 250 2.0.0 Ok: case ' <<<"$out")" = 2 ] || fail "LMTP: not one 250 per accepted recipient: $out"
c_a=$(grep '^DATA' <<<"$out" | sed -n 1p | sed 's/.* id \([0-9a-f-]*\).*/\1/')
c_b=$(grep '^DATA' <<<"$out" | sed -n 2p | sed 's/.* id \([0-9a-f-]*\).*/\1/')
[ "$c_a" != "$c_b" ] || fail "LMTP: both recipients got the same case"
expect_in "$(decoded "$EV" "$c_b" CaseEvent)" "the derby-homes contact" 'organisation: "derby-homes"' \
  'case_type: "enquiry"' 'gateway_account: "derby-homes@charter.localhost"' 'source: "lmtp:mail"'
pass "LMTP: one answer per recipient (550 at RCPT, then 250 for each of the two organisations' cases)"

# ---- 10. connection cap, command timeout, rate limit ----
out=$(/usr/bin/python3 - "$MAILPORT" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    return s, s.recv(512).decode()
held = [conn() for _ in range(3)]
print("held", " | ".join(g.strip() for _, g in held))
s, g = conn()
print("fourth", g.strip())
s.close()
# an idle connection is closed after the command timeout (2 s) with 421 4.4.2
t0 = time.time()
print("idle", held[0][0].recv(512).decode().strip(), "after %.1f s" % (time.time() - t0))
for c, _ in held:
    c.close()
time.sleep(0.5)
s, g = conn()
f = s.makefile("rwb")
f.write(b"LHLO probe.localhost\r\n"); f.flush()
while not f.readline().startswith(b"250 "):
    pass
for i in range(12):
    f.write(b"MAIL FROM:<ann@example.org>\r\n"); f.flush()
    r = f.readline().decode().strip()
    f.write(b"RSET\r\n"); f.flush(); f.readline()
    if not r.startswith("250"):
        print("rate", i + 1, r)
        break
s.close()
PY
)
grep -q '^held 220 .*LMTP Charter ready | 220 .* | 220 ' <<<"$out" || fail "three connections not greeted: $out"
grep -q '^fourth 421 4.7.0' <<<"$out" || fail "a connection past ingest.mail_max_connections not refused 421: $out"
grep -q '^idle 421 4.4.2' <<<"$out" || fail "an idle connection not closed with 421 4.4.2: $out"
grep -q '^rate [0-9]* 450 4.7.0' <<<"$out" || fail "past ingest.mail_rate_per_minute: no 450 4.7.0: $out"
pass "limits: the 4th of 3 connections 421 4.7.0, an idle one 421 4.4.2 after the command timeout, 450 4.7.0 past the rate"
stop_service ingest
