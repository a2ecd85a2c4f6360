#!/usr/bin/env bash
# Accessibility of Charter's HTML pages, checked by axe-core in headless
# Chromium (tests/a11y/axe_check.js): the dashboard with figures in it, a
# month view, an organisation view and the error pages. The test fails on
# any serious or critical violation and prints every violation it finds.
#
# Figures first: real redis-server, the embedded broker, ingest and
# reporting with the shipped policies; cases over the last months (in time,
# late, one still open and overdue) so the trends, results and overdue
# counts are drawn.
#
# Another page is checked by adding one line to URLS below (the work queue
# and case pages are reporting's too: ${BASE}/...).
#
# Needs node, the packages of tests/a11y (npm ci: scripts/install-deps.sh
# installs them, or this test does from the npm cache) and Chromium
# (/usr/bin/chromium, or CHROMIUM=...).
source "$(dirname "$0")/lib.sh"

A11Y="$SRC/tests/a11y"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || fail "no Chromium at $CHROMIUM (apt-get install chromium, or set CHROMIUM)"
command -v node >/dev/null || fail "no node (apt-get install nodejs npm)"
if [ ! -d "$A11Y/node_modules/axe-core" ] || [ ! -d "$A11Y/node_modules/playwright-core" ]; then
  log "installing tests/a11y's packages (npm ci, from the cache when offline)"
  (cd "$A11Y" && npm ci --prefer-offline --no-audit --no-fund >"$WORK/npm.log" 2>&1) ||
    fail "npm ci in tests/a11y failed: $(tail -n 5 "$WORK/npm.log")"
fi

start_ingest_and_reporting
BASE="http://127.0.0.1:$REPORT"

# Derby Homes' letters (10 working days): answered in time, late, and one
# still open long past its due date; a month earlier too, for the trend.
D=derby-homes
C1=$(new_case $D letter enquiry 2026-10-05T10:00:00Z)
case_event "$C1" "{\"type\":\"responded\",\"organisation\":\"$D\",\"occurred_at\":\"2026-10-07T10:00:00Z\"}"
C2=$(new_case $D letter enquiry 2026-11-02T10:00:00Z)
case_event "$C2" "{\"type\":\"responded\",\"organisation\":\"$D\",\"occurred_at\":\"2026-11-05T10:00:00Z\"}"
C3=$(new_case $D letter enquiry 2026-11-02T11:00:00Z)
case_event "$C3" "{\"type\":\"responded\",\"organisation\":\"$D\",\"occurred_at\":\"2026-11-25T10:00:00Z\"}"
new_case $D letter enquiry 2026-11-03T09:00:00Z >/dev/null # open, overdue
N=nihe
P1=$(new_case $N phone enquiry 2026-11-10T10:00:00Z)
case_event "$P1" "{\"type\":\"call\",\"organisation\":\"$N\",\"occurred_at\":\"2026-11-10T10:00:15Z\",\"status\":\"answered\",\"wait_seconds\":15}"
settled() {
  local j
  j=$(curl -fsS "$BASE/v1/report?organisation=$D&channel=letter&from=2026-11&to=2026-11") || return 1
  [ "$(json_get "$j" figures/received)" = 3 ] && [ "$(json_get "$j" figures/answered)" = 2 ]
}
wait_until 60 settled || fail "the figures did not arrive"
pass "figures in"

# [STATUS=]URL: an error page is checked as the page it is, with its status
URLS=(
  "$BASE/"
  "$BASE/?month=2026-11"
  "$BASE/?organisation=$D&month=2026-11"
  "400=$BASE/?month=2026-13"
  "404=$BASE/?organisation=no-such-council"
)
log "axe-core on ${#URLS[@]} pages"
rc=0
node "$A11Y/axe_check.js" "${URLS[@]}" | tee "$WORK/axe.out" || rc=$?
[ "$rc" -eq 0 ] || fail "axe-core: serious or critical violations (or a page could not be checked): rc $rc"
pass "no serious or critical accessibility violations on ${#URLS[@]} pages"
