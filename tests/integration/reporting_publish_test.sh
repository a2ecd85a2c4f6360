#!/usr/bin/env bash
# The charter's figures published three ways, each read back by something
# independent of Charter's C code:
#   1. charter.reports.v1: snapshots read with python3-kafka and decoded with
#      python3-protobuf modules protoc generates from proto/ here;
#   2. the HTML dashboard at /, rendered by headless Chromium: a phone-sized
#      screenshot is taken and the figures are read from the DOM it built;
#   3. the annual publication: charterctl report --format csv and html.
# Real redis-server, the embedded broker, ingest and reporting with the
# shipped policies; cases with past dates (November 2026) whose outcome is
# known: letters in time, late, within an extension, open and overdue; an
# email answered in time; two NIHE calls, one within 20 seconds.
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PB2="$WORK/pb2"
"$PY" "$SRC/tests/integration/cases.py" pb2 "$SRC/proto" "$PB2"

start_ingest_and_reporting CHARTER_REPORT_SNAPSHOT_INTERVAL_S=1

# Derby Homes, letters: 10 working days from Mon 2 Nov 2026 (due Mon 16 Nov).
D=derby-homes
C1=$(new_case $D letter enquiry 2026-11-02T10:00:00Z) # in time
case_event "$C1" "{\"type\":\"responded\",\"organisation\":\"$D\",\"occurred_at\":\"2026-11-05T10:00:00Z\"}"
C2=$(new_case $D letter enquiry 2026-11-02T11:00:00Z) # late
case_event "$C2" "{\"type\":\"responded\",\"organisation\":\"$D\",\"occurred_at\":\"2026-11-18T10:00:00Z\"}"
C3=$(new_case $D letter enquiry 2026-11-02T12:00:00Z) # within the agreed extension
case_event "$C3" "{\"type\":\"holding_reply\",\"organisation\":\"$D\",\"occurred_at\":\"2026-11-12T10:00:00Z\",\"new_target_at\":\"2026-11-27T17:00:00Z\",\"reason\":\"contractor\",\"next_steps\":\"a visit on Monday\"}"
case_event "$C3" "{\"type\":\"responded\",\"organisation\":\"$D\",\"occurred_at\":\"2026-11-20T10:00:00Z\"}"
new_case $D letter enquiry 2026-11-03T09:00:00Z >/dev/null # open, overdue since 17 Nov
C5=$(new_case $D email enquiry 2026-11-03T09:00:00Z)        # answered in time
case_event "$C5" "{\"type\":\"responded\",\"organisation\":\"$D\",\"occurred_at\":\"2026-11-04T09:00:00Z\"}"
# NIHE: a call answered in 15 s (within 20 s) and one in 40 s.
N=nihe
P1=$(new_case $N phone enquiry 2026-11-10T10:00:00Z)
case_event "$P1" "{\"type\":\"call\",\"organisation\":\"$N\",\"occurred_at\":\"2026-11-10T10:00:15Z\",\"status\":\"answered\",\"wait_seconds\":15}"
P2=$(new_case $N phone enquiry 2026-11-10T10:05:00Z)
case_event "$P2" "{\"type\":\"call\",\"organisation\":\"$N\",\"occurred_at\":\"2026-11-10T10:05:40Z\",\"status\":\"answered\",\"wait_seconds\":40}"
pass "7 cases and their events posted (Derby Homes, NIHE; November 2026)"

# ---- 1. charter.reports.v1 ----
snapshot() { "$PY" "$SRC/tests/integration/reporting_topic.py" "$BOOTSTRAP" "$PB2" "$1"; }
sfig() { "$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["figures"].get(sys.argv[2], ""))' "$1" "$2"; }
# The snapshot is republished as events are applied (some after a retry, in
# any order across cases), so wait until it shows every expected figure; on
# time-out the first figure that differs is named.
D_SNAP="" D_MISMATCH=""
D_WANT='received||:5 answered_in_time||:3 answered_late||:1 answered_in_time_original||:2
  answered_late_original||:2 extended||:1 open||:1 open_overdue||:1
  received|letter|enquiry:4 answered_late|letter|enquiry:1 received|email|enquiry:1
  time_to_respond.working_days.responses||:4
  promise.letter-enquiry.in_time||:2 promise.letter-enquiry.late||:1
  promise.letter-enquiry.open_overdue||:1 promise.written-enquiry.in_time||:1
  promise.written-enquiry.late||:0'
derby_settled() {
  D_SNAP=$(snapshot "$D/2026-11") || return 1
  D_MISMATCH=$("$PY" -c '
import json, sys
figs = json.loads(sys.argv[1])["figures"]
for want in sys.argv[2].split():
    key, _, value = want.rpartition(":")
    if str(figs.get(key, "")) != value:
        print("%s is %r, expected %s" % (key, figs.get(key, ""), value))
        break' "$D_SNAP" "$D_WANT")
  [ -z "$D_MISMATCH" ]
}
wait_until 40 derby_settled ||
  fail "charter.reports.v1 $D/2026-11: ${D_MISMATCH:-no snapshot}: $D_SNAP"
[ "$(json_get "$D_SNAP" organisation)" = $D ] && [ "$(json_get "$D_SNAP" period)" = 2026-11 ] ||
  fail "snapshot names another organisation or period: $D_SNAP"
target=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["targets"].get("promise.letter-enquiry.in_time||"))' "$D_SNAP")
[ "$target" = 1.0 ] || fail "the letter promise's target share is $target, expected 1.0"
[ "$(json_get "$D_SNAP" events_counted)" -ge 9 ] || fail "events_counted: $D_SNAP"
pass "charter.reports.v1 $D/2026-11 (read by python3-kafka): 2 of 3 letters in time, 1 open and overdue, target 1.0"

j=$(snapshot "$D/2026-11-02") || fail "no day snapshot $D/2026-11-02"
[ "$(sfig "$j" 'received||')" = 3 ] || fail "day snapshot $D/2026-11-02: $j"
j=$(snapshot "$D/2026") || fail "no year snapshot $D/2026"
[ "$(sfig "$j" 'received||')" = 5 ] || fail "year snapshot $D/2026: $j"
N_SNAP=""
nihe_settled() {
  N_SNAP=$(snapshot "$N/2026-11") || return 1
  [ "$(sfig "$N_SNAP" 'calls_answered||')" = 2 ]
}
wait_until 30 nihe_settled || fail "no settled snapshot for $N/2026-11: $N_SNAP"
[ "$(sfig "$N_SNAP" 'calls_answered_in_time|phone|enquiry')" = 1 ] &&
  [ "$(sfig "$N_SNAP" 'promise.phone-calls.in_time||')" = 1 ] &&
  [ "$(sfig "$N_SNAP" 'promise.phone-calls.late||')" = 1 ] || fail "NIHE calls snapshot: $N_SNAP"
pass "day and year snapshots; NIHE: 1 of 2 calls within 20 seconds per channel and per promise"

# At least every report.snapshot_interval_s (1 s here): the current month is
# written again although nothing changes.
MONTH=$(TZ=Europe/London date +%Y-%m)
first=$(snapshot "$D/$MONTH" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["records"])') || first=0
again() { [ "$(snapshot "$D/$MONTH" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["records"])')" -ge $((first + 2)) ]; }
wait_until 30 again || fail "$D/$MONTH was not republished (had $first records)"
pass "the current month's snapshot is republished on the interval with no new events"

# ---- 2. the dashboard in headless Chromium ----
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || fail "chromium is not installed (scripts/install-deps.sh installs it)"
URL="http://127.0.0.1:$REPORT/?month=2026-11"
chrome() {
  timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-dev-shm-usage --no-first-run --user-data-dir="$WORK/chromium" "$@" 2>>"$WORK/chromium.log"
}
chrome --screenshot="$WORK/dashboard.png" --window-size=390,844 --hide-scrollbars "$URL" >/dev/null ||
  fail "chromium could not take a screenshot of $URL"
[ -s "$WORK/dashboard.png" ] || fail "no screenshot written"
if [ -n "${CHARTER_ARTIFACTS_DIR:-}" ]; then mkdir -p "$CHARTER_ARTIFACTS_DIR"; cp "$WORK/dashboard.png" "$CHARTER_ARTIFACTS_DIR/"; fi
"$PY" - "$WORK/dashboard.png" <<'EOF' || fail "the screenshot is not a non-trivial 390x844 PNG"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", data[16:24])
assert (w, h) == (390, 844), (w, h)
# decompress the image data: a page with text and charts does not compress to a blank
idat = b"".join(data[i + 8:i + 8 + struct.unpack(">I", data[i:i + 4])[0]]
                for i in range(8, len(data)) if data[i + 4:i + 8] == b"IDAT")
raw = zlib.decompress(idat)
assert len(set(raw)) > 16, "the screenshot is nearly one colour"
print("screenshot %dx%d, %d bytes" % (w, h, len(data)))
EOF
chrome --dump-dom "$URL" >"$WORK/dashboard.html" || fail "chromium could not load $URL"
"$PY" - "$WORK/dashboard.html" <<'EOF' || fail "the dashboard's figures are wrong (DOM in $WORK/dashboard.html)"
import sys
from html.parser import HTMLParser

class Dom(HTMLParser):
    """Elements with data-* attributes, and the text inside each data-figure."""
    def __init__(self):
        super().__init__()
        self.stack, self.org, self.promise = [], None, None
        self.promises, self.orgs, self.svg_rects, self.external = {}, {}, {}, []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ("src", "href"):
            if tag == "a" and k == "href" and a[k].startswith("/"):
                continue  # a link to another of the dashboard's pages, not an asset
            if a.get(k) and not a[k].startswith(("#", "data:")):
                self.external.append(a[k])
        if tag == "section" and "data-org" in a:
            self.org = a["data-org"]
            self.orgs[self.org] = {}
        if "data-promise" in a:
            self.promise = (self.org, a["data-promise"])
            self.promises[self.promise] = dict(a, figures={})
        if tag == "rect" and self.promise:
            self.svg_rects[self.promise] = self.svg_rects.get(self.promise, 0) + 1
        self.stack.append((tag, a.get("data-figure")))
    def handle_endtag(self, tag):
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break
        if tag == "li":
            self.promise = None
    def handle_data(self, data):
        fig = next((f for _, f in reversed(self.stack) if f), None)
        if not fig or not data.strip():
            return
        if self.promise:
            self.promises[self.promise]["figures"][fig] = data.strip()
        elif self.org:
            self.orgs[self.org][fig] = data.strip()

d = Dom()
d.feed(open(sys.argv[1]).read())
assert not d.external, "external assets: %s" % d.external
assert set(d.orgs) >= {"derby-homes", "nihe", "nottingham-city-homes", "customer-care-council",
                       "digital-first-council"}, d.orgs
assert d.orgs["derby-homes"].get("received") == "5", d.orgs["derby-homes"]
assert d.orgs["derby-homes"].get("overdue-now") == "1", d.orgs["derby-homes"]
letters = d.promises[("derby-homes", "letter-enquiry")]
assert letters["data-in-time"] == "2" and letters["data-late"] == "1", letters
assert letters["data-overdue-now"] == "1" and letters["data-target"] == "100%", letters
assert letters["figures"].get("pct") == "66.7%", letters["figures"]
assert letters["figures"].get("in-time") == "2" and letters["figures"].get("number") == "3", letters
assert d.svg_rects.get(("derby-homes", "letter-enquiry")) == 12, d.svg_rects  # 12 months
email = d.promises[("derby-homes", "written-enquiry")]
assert email["figures"].get("pct") == "100.0%", email
calls = d.promises[("nihe", "phone-calls")]
assert calls["data-measure"] == "calls" and calls["figures"].get("pct") == "50.0%", calls
social = d.promises[("derby-homes", "social-media")]
assert social["data-measure"] == "measured" and social["figures"].get("pct") == "-", social
print("dashboard: %d organisations, %d promises" % (len(d.orgs), len(d.promises)))
EOF
pass "dashboard in headless Chromium: 390x844 screenshot; letters 66.7% (2 of 3) against 100%, 1 overdue; NIHE calls 50.0%"
grep -q 'name="viewport"' "$WORK/dashboard.html" || fail "no viewport meta"
r=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$REPORT/?month=2026-13")
[ "$r" = 400 ] || fail "month=2026-13: expected 400, got $r"
pass "dashboard: viewport meta, no external assets, bad month -> 400"

# ---- 3. the annual publication ----
CTL="$BUILD/tools/charterctl/charterctl"
"$CTL" report --organisation $D --year 2026 --format csv --url "http://127.0.0.1:$REPORT" >"$WORK/derby-2026.csv" ||
  fail "charterctl report --format csv failed"
"$PY" - "$WORK/derby-2026.csv" <<'EOF' || fail "the CSV publication is wrong: $(cat "$WORK/derby-2026.csv")"
import csv, sys
rows = {}
for r in csv.DictReader(open(sys.argv[1], newline="")):
    rows.setdefault(r["promise_id"], r)  # a promise's first line is the one it is judged by
l = rows["letter-enquiry"]
assert l["promise"].startswith("Letter: reply within 10 working days"), l
assert (l["target_pct"], l["number"], l["within_target"], l["pct_within"], l["result"]) == \
    ("100", "3", "2", "66.7", "not met"), l
e = rows["written-enquiry"]
assert (e["number"], e["within_target"], e["pct_within"], e["result"]) == ("1", "1", "100.0", "met"), e
assert rows["social-media"]["result"] == "measured only", rows["social-media"]
assert rows["foi-request"]["result"] == "no cases", rows["foi-request"]
print("csv: %d promises" % len(rows))
EOF
pass "charterctl report --format csv: letters 3, 2 within, 66.7%, not met; email 1 of 1, met"
"$CTL" report --organisation $D --year 2026 --format html --url "http://127.0.0.1:$REPORT" >"$WORK/derby-2026.html" ||
  fail "charterctl report --format html failed"
grep -q '<tr data-promise="letter-enquiry"><td>Letter: reply within 10 working days' "$WORK/derby-2026.html" &&
  grep -q '66.7%</td><td>not met</td>' "$WORK/derby-2026.html" || fail "the HTML publication: $(cat "$WORK/derby-2026.html")"
pass "charterctl report --format html: the same table as a page"
set +e
out=$("$CTL" report --organisation $D --year 26 --format csv --url "http://127.0.0.1:$REPORT" 2>&1); rc=$?
set -e
[ "$rc" = 2 ] && grep -q -- '--year' <<<"$out" || fail "a bad --year: exit $rc, '$out'"
pass "charterctl report: a bad --year is refused naming the option"

# ---- SIGHUP: the policies again, and the figures still judged ----
kill -HUP "${SVC_PID[reporting]}"
reloaded() { curl -fsS "http://127.0.0.1:$REPORT/metrics" | qgrep '^charter_report_policy_reloads_total 1'; }
wait_until 15 reloaded || fail "reporting did not reload its policies on SIGHUP"
# Twice in about ten runs the first read right after the reload did not match
# (seen only in whole-suite runs; not reproduced alone): it is printed, and
# the figures must match within 5 s.
same_after_reload() {
  after=$("$CTL" report --organisation $D --year 2026 --format csv --url "http://127.0.0.1:$REPORT" 2>&1) &&
    grep -q '^letter-enquiry,.*,100,3,2,66.7,not met' <<<"$after" && return 0
  echo "read after the reload differs: $(grep -e '^letter-enquiry' -e 'charterctl' -e 'rror' <<<"$after" | head -n 5)" \
    >>"$WORK/reload-reads.log"
  return 1
}
wait_until 5 same_after_reload || fail "the publication changed after a reload: $after"
[ ! -s "$WORK/reload-reads.log" ] || cat "$WORK/reload-reads.log"
pass "SIGHUP reloads the policies (charter_report_policy_reloads_total 1); the publication is unchanged"
stop_service reporting
