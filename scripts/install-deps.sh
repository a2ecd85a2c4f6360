#!/usr/bin/env bash
# Installs the Debian 12 packages Charter needs to build, run and test,
# skipping any already installed. Run as root (or with sudo available).
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libevent-dev librdkafka-dev libprotobuf-c-dev protobuf-c-compiler libhiredis-dev
  libjansson-dev libyaml-dev libcurl4-openssl-dev libssl-dev libcmocka-dev libgmime-3.0-dev
  redis-server kcat curl protobuf-compiler python3 openssl python3-kafka python3-protobuf
  python3-aiosmtpd swaks
  clang libclang-rt-14-dev clang-format
  chromium prometheus
)

# Apache Kafka (scripts/kafka.sh: KAFKA=apache make run, the apache-kafka test
# tier) runs on Java 17 or newer and is fetched from Maven Central with Maven.
# A java or mvn already on PATH (e.g. from JAVA_HOME) is used as it is.
java_version() {
  "${JAVA_HOME:+$JAVA_HOME/bin/}java" -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p'
}
v=$(java_version || true)
if [ -z "$v" ] || [ "$v" -lt 17 ]; then
  [ -n "$v" ] && echo "charter: java is version $v; Kafka needs 17 or newer"
  packages+=(openjdk-17-jre-headless)
fi
command -v mvn >/dev/null || packages+=(maven)
# The accessibility test (tests/integration/a11y_test.sh) runs axe-core in
# Chromium through playwright-core, both pinned in tests/a11y/package-lock.json
# and installed there with `npm ci` (below); playwright-core needs Node.js 20.
command -v npm >/dev/null || packages+=(nodejs npm)

# npm ci in tests/a11y: the exact versions of the lock file, from npm's cache
# when it has them (offline), never Playwright's own browser download.
a11y_packages() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/a11y"
  command -v npm >/dev/null || return 0
  [ -d "$dir/node_modules/axe-core" ] && [ -d "$dir/node_modules/playwright-core" ] && return 0
  echo "charter: npm ci in tests/a11y (axe-core, playwright-core)"
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefer-offline --no-audit --no-fund >/dev/null)
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  a11y_packages
  exit 0
fi

echo "charter: installing missing packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "charter: run as root or install sudo" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts a system redis-server on 6379 when it installs the package;
# Charter never uses or stops it: make run and the tests start their own.
a11y_packages
