#!/usr/bin/env bash
# One command from a fresh Debian 12 machine (as root): install, build, run the demo on SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
./build/examples/cli/veribind demo
