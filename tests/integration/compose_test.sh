#!/usr/bin/env bash
# docker-compose.yml checked without Docker (no daemon where the tests run):
# tests/integration/compose_check.py says what it checks. With a working
# `docker compose`, `docker compose config` must accept the file too.
source "$(dirname "$0")/lib.sh"
out=$(/usr/bin/python3 "$SRC/tests/integration/compose_check.py" "$SRC" "$BUILD" 2>&1) ||
  fail "docker-compose.yml: $out"
pass "docker-compose.yml: mounts, keys, transports and the gateways file's owner agree"
if docker compose version >/dev/null 2>&1; then
  CHARTER_NOTIFY_SMTP_URL=smtp://relay:25 CHARTER_NOTIFY_SMTP_FROM=a@b.example \
    CHARTER_NOTIFY_STAFF_EMAIL='{role}@b.example' docker compose -f "$SRC/docker-compose.yml" config -q ||
    fail "docker compose config refuses the file"
  pass "docker compose config accepts it"
else
  log "docker compose is not available: the file was not given to Docker"
fi
