#!/usr/bin/env bash
# Every configuration key a service takes (its --help, generated from its
# config table) is in docs/configuration.md's reference, written out in
# full: a key added without documentation fails here.
# Usage: config_documented.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
missing=()
n=0
for b in ingest/charter-ingest sla-timer/charter-sla-timer notification/charter-notification \
  reporting/charter-reporting; do
  help=$("$build/services/$b" --help)
  while read -r key; do
    n=$((n + 1))
    grep -qF "\`$key\`" "$src/docs/configuration.md" || missing+=("$key (${b%%/*})")
  done < <(grep -oE '^  [a-z_]+\.[a-z_.0-9]+' <<<"$help" | tr -d ' ' | sort -u)
done
[ "$n" -gt 50 ] || { echo "only $n keys found in the services' --help: the format changed?"; exit 1; }
if [ ${#missing[@]} -gt 0 ]; then
  echo "keys missing from docs/configuration.md: ${missing[*]}"
  exit 1
fi
echo "all $n keys of the four services are in docs/configuration.md"
