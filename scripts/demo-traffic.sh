#!/usr/bin/env bash
# Demo traffic for `make run`: contacts for each of the five charters on
# their channels, every few seconds; some are acknowledged or answered by
# "staff" before their timers are due, the rest get Charter's automatic
# acknowledgement. Bounded: stops after DEMO_MAX contacts (default 500).
# First, so the dashboard's trend charts have something to show, a short
# history: a few contacts a month for each charter over the last
# DEMO_HISTORY_MONTHS months (default 11; 0 for none), most answered in
# time, some late, phone calls answered within or past the promise.
# Requests are signed (scheme v2: method, path and body) as gateway
# DEMO_GATEWAY (default dev) with the key in DEMO_KEY_FILE (default
# var/dev-gateway.key), as make run sets up.
# The history is posted once per Redis: with DEMO_REDIS_URL set (make run
# sets it), the first run claims the key charter:demo:history_seeded (SET NX)
# and a later run, finding it, posts no history, so a second `make run` does
# not double the figures. A marker rather than stable gateway_message_ids:
# ingest remembers those for ingest.idempotency_ttl_s (7 days), the history
# spans 11 months, and events on a case are not deduplicated over HTTP; the
# marker lives in the same Redis (var/redis) as the figures it guards, so
# deleting var/ starts both afresh.
# Every way in is used (docs/running.md): the live contacts on channel email
# go as e-mails over SMTP to ingest's mail listener at DEMO_MAIL (make run:
# 127.0.0.1:2525; empty: over the API instead), to
# <organisation-id>@charter.localhost, and some of their senders reply quoting
# the case reference, which joins the case; those on channel social go as
# Facebook Messenger webhooks to /v1/gateways/meta/<organisation>, signed
# with the app secret in DEMO_META_SECRET_FILE (make run: var/dev-meta.secret;
# empty: over the API instead), and some senders write again, which joins
# their open case. The first three live contacts are one of each way.
set -uo pipefail
INGEST=${1:-http://127.0.0.1:8080}
MAX=${DEMO_MAX:-500}
GATEWAY=${DEMO_GATEWAY:-dev}
KEY=$(cat "${DEMO_KEY_FILE:-var/dev-gateway.key}") || { echo "demo-traffic: no gateway key" >&2; exit 1; }
MAIL=${DEMO_MAIL-}
MAIL_PROTO=$(tr '[:lower:]' '[:upper:]' <<<"${DEMO_MAIL_PROTOCOL:-smtp}")
META_SECRET=
if [ -n "${DEMO_META_SECRET_FILE:-}" ]; then
  META_SECRET=$(cat "$DEMO_META_SECRET_FILE") || { echo "demo-traffic: cannot read $DEMO_META_SECRET_FILE" >&2; exit 1; }
fi
orgs=(nottingham-city-homes derby-homes nihe digital-first-council customer-care-council)
channels=(email letter social phone voicemail online_form visit)
names=("Ann Example" "Bob Sample" "Carys Test" "Dev Patel" "Eilidh Demo")

post() { # post PATH BODY
  local t mac
  t=$(date +%s)
  mac=$(printf '%s.POST.%s.%s' "$t" "$1" "$2" | openssl dgst -sha256 -hmac "$KEY" -r | cut -d' ' -f1)
  curl -sS -X POST -H 'Content-Type: application/json' -H "X-Charter-Gateway: $GATEWAY" \
    -H "X-Charter-Signature: t=$t,v2=$mac" --data-binary "$2" "$INGEST$1"
  echo
}

# mail TO NAME FROM SUBJECT BODY: one e-mail over SMTP (LMTP when
# DEMO_MAIL_PROTOCOL=lmtp) to the listener at $MAIL (Python's smtplib, CRLF
# line ends as SMTP wants); prints its answer to the data, e.g.
# "250 2.0.0 Ok: case NCH-2026-000123 id <case id>".
mail() {
  /usr/bin/python3 - "$MAIL" "${DEMO_MAIL_PROTOCOL:-smtp}" "$@" <<'PY'
import smtplib, sys
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
hostport, proto, to, name, frm, subject, body = sys.argv[1:8]
host, port = hostport.rsplit(":", 1)
m = EmailMessage()
m["From"] = formataddr((name, frm))
m["To"] = to
m["Subject"] = subject
m["Date"] = formatdate()
m["Message-ID"] = make_msgid(domain="demo.example.org")
m.set_content(body)
try:
    client = smtplib.LMTP if proto == "lmtp" else smtplib.SMTP
    with client(host, int(port), "demo.example.org", timeout=30) as s:
        s.ehlo()
        s.mail(frm)
        code, text = s.rcpt(to)
        if code == 250:
            code, text = s.data(m.as_bytes(policy=policy.SMTP))
        print(code, text.decode(errors="replace"))
except (OSError, smtplib.SMTPException) as e:
    print("SMTP to %s failed: %s" % (hostport, e))
PY
}

# messenger ORG PSID TEXT: one Facebook Messenger webhook for ORG's page, as
# Meta sends it, signed with the app secret (X-Hub-Signature-256); prints
# ingest's answer ({"accepted":1,...}, or "joined" when it joined a case).
messenger() {
  local org=$1 psid=$2 text=$3 page ms body sig
  page=$(( 104520300000000 + $(cksum <<<"$org" | cut -d' ' -f1) % 100000 ))
  ms=$(date +%s%3N)
  body="{\"object\":\"page\",\"entry\":[{\"id\":\"$page\",\"time\":$ms,\"messaging\":[{\"sender\":{\"id\":\"$psid\"},\"recipient\":{\"id\":\"$page\"},\"timestamp\":$ms,\"message\":{\"mid\":\"m_demo_${psid}_$ms\",\"text\":\"$text\"}}]}]}"
  sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$META_SECRET" -r | cut -d' ' -f1)
  curl -sS -X POST -H 'Content-Type: application/json' -H "X-Hub-Signature-256: sha256=$sig" \
    --data-binary "$body" "$INGEST/v1/gateways/meta/$org"
  echo
}

iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
now_s=$(date +%s)
history=${DEMO_HISTORY_MONTHS:-11}
if [ -n "${DEMO_REDIS_URL:-}" ] && (( history > 0 )) &&
   [ "$(redis-cli -u "$DEMO_REDIS_URL" SET charter:demo:history_seeded "$(date -u +%FT%TZ)" NX)" != OK ]; then
  echo "demo-traffic: history already posted to this Redis ($(redis-cli -u "$DEMO_REDIS_URL" GET charter:demo:history_seeded)); not posting it again"
  history=0
fi
for (( m=history; m>=1; m-- )); do
  month=$(date -u -d "$(date -u +%Y-%m-15) -$m month" +%Y-%m)
  for org in "${orgs[@]}"; do
    for k in 1 2 3 4 5; do
      day=$(( 1 + RANDOM % 26 ))
      recv_s=$(date -u -d "$month-$(printf %02d "$day") 10:00:00" +%s)
      case $k in
        1) ch=email type=enquiry ;; 2) ch=letter type=enquiry ;; 3) ch=email type=complaint_stage_1 ;;
        4) ch=phone type=enquiry ;; 5) ch=email type=foi ;;
      esac
      resp=$(post /v1/contacts "{\"organisation\":\"$org\",\"channel\":\"$ch\",\"case_type\":\"$type\",
        \"received_at\":\"$(iso "$recv_s")\",\"summary\":\"Demo history $month $k\"}")
      case_id=$(sed -n 's/.*"case_id":"\([^"]*\)".*/\1/p' <<<"$resp")
      [ -n "$case_id" ] || { echo "$resp"; continue; }
      if [ "$ch" = phone ]; then
        post "/v1/cases/$case_id/events" "{\"type\":\"call\",\"organisation\":\"$org\",\"occurred_at\":\"$(iso $((recv_s + 30)))\",\"status\":\"answered\",\"wait_seconds\":$(( 5 + RANDOM % 40 )),\"rings\":$(( 1 + RANDOM % 7 ))}" >/dev/null
        continue
      fi
      [ "$type" = complaint_stage_1 ] &&
        post "/v1/cases/$case_id/events" "{\"type\":\"acknowledged\",\"organisation\":\"$org\",\"occurred_at\":\"$(iso $((recv_s + 3600)))\",\"by\":\"demo-staff\"}" >/dev/null
      # most in time (a day later), about one in four late (26 days later)
      delay=$(( RANDOM % 4 == 0 ? 26 * 86400 : 86400 ))
      resp_s=$(( recv_s + delay < now_s - 3600 ? recv_s + delay : now_s - 3600 ))
      post "/v1/cases/$case_id/events" "{\"type\":\"responded\",\"organisation\":\"$org\",\"occurred_at\":\"$(iso "$resp_s")\"}" >/dev/null
    done
  done
  echo "demo-traffic: history for $month posted"
done

subjects=("Gutter leaking at the back" "Missed bin collection" "Repair not done yet" "Damp in the bedroom"
  "Question about my rent")
for (( i=0; i<MAX; i++ )); do
  org=${orgs[$((i % 5))]}
  ch=${channels[$((RANDOM % 7))]}
  case $i in 0) ch=phone ;; 1) ch=email ;; 2) ch=social ;; esac # one of each way in first
  name=${names[$((RANDOM % 5))]}
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  if [ "$ch" = email ] && [ -n "$MAIL" ]; then
    # an e-mail to the organisation's mailbox; the listener answers with the case
    subject="${subjects[$((RANDOM % 5))]} (demo $i)"
    resp=$(mail "$org@charter.localhost" "$name" "demo$i@example.org" "$subject" \
      "Hello, this is demo e-mail $i. $subject: could someone look at it please? $name")
    echo "demo-traffic: e-mail from demo$i@example.org to $org@charter.localhost over $MAIL_PROTO: $resp"
    case_id=$(sed -n 's/^250 .* id \([^ ]*\).*/\1/p' <<<"$resp")
    ref=$(sed -n 's/^250 .*Ok: case \([^ ]*\) id .*/\1/p' <<<"$resp")
    if [ -n "$ref" ] && (( RANDOM % 3 == 0 )); then
      # the customer writes again, quoting the reference: a message on the case, not a new one
      sleep 1
      echo "demo-traffic: reply quoting $ref over $MAIL_PROTO: $(mail "$org@charter.localhost" "$name" "demo$i@example.org" \
        "Re: $subject [$ref]" "Any news on this? It is getting worse. $name")"
    fi
  elif [ "$ch" = social ] && [ -n "$META_SECRET" ]; then
    # a Messenger message to the organisation's page (no case id in Meta's answer:
    # staff events below are for the other ways in)
    psid=$(( 6789000000000000 + i ))
    echo "demo-traffic: Messenger webhook from $psid for $org: $(messenger "$org" "$psid" "Hello, demo message $i: the street light outside number $((i % 90 + 1)) is out")"
    if (( RANDOM % 3 == 0 )); then
      sleep 1 # the same sender again: joins the open case
      echo "demo-traffic: Messenger follow-up from $psid: $(messenger "$org" "$psid" "Still out tonight, thanks")"
    fi
    case_id=
  else
    resp=$(post /v1/contacts "{\"organisation\":\"$org\",\"channel\":\"$ch\",\"received_at\":\"$now\",
      \"customer\":{\"name\":\"$name\",\"email\":\"demo$i@example.org\",\"phone\":\"07700900$((100 + i % 900))\"},
      \"summary\":\"Demo contact $i\"}")
    echo "$resp"
    case_id=$(sed -n 's/.*"case_id":"\([^"]*\)".*/\1/p' <<<"$resp")
  fi
  if [ -n "$case_id" ] && (( RANDOM % 3 == 0 )); then
    post "/v1/cases/$case_id/events" "{\"type\":\"acknowledged\",\"organisation\":\"$org\",\"occurred_at\":\"$now\",\"by\":\"demo-staff\"}"
  fi
  if [ -n "$case_id" ] && (( RANDOM % 4 == 0 )); then
    post "/v1/cases/$case_id/events" "{\"type\":\"responded\",\"organisation\":\"$org\",\"occurred_at\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}"
  fi
  sleep "${DEMO_INTERVAL:-3}"
done
