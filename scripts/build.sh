#!/usr/bin/env bash
# Configures and builds everything (library, CLI, tests, benchmarks) in ./build, the build the
# tests and CI use: RelWithDebInfo with warnings as errors (VERIBIND_WERROR defaults off).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVERIBIND_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
