#!/usr/bin/env bash
# Installs the Debian packages Wharf needs to build, test and run.
# Idempotent: does nothing when everything is already installed. Run as root
# (or through sudo).
set -euo pipefail

PKGS=(
  build-essential pkg-config
  libjansson-dev libevent-dev libyaml-dev libsqlite3-dev libssl-dev libcurl4-openssl-dev
  libcmocka-dev
  python3 python3-pytest python3-kubernetes python3-yaml
  sqlite3 curl procps
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v kubectl >/dev/null 2>&1; then
  echo "setup: note: kubectl is not installed; Wharf runs without it, and the kubectl" >&2
  echo "setup:       integration tests are skipped (install kubectl to run them)." >&2
fi
