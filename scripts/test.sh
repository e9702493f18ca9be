#!/usr/bin/env bash
# Runs every test: installs what is missing, builds the sanitizer (ASan +
# UBSan) binaries, then the unit tests and the integration tests against the
# real binary with real kubectl and the Python client.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
make -j"$(nproc)" san
exec tests/run.sh "$@"
