#!/usr/bin/env bash
# One command from a fresh Debian 12 machine (as root): install, build, run every test.
# Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
