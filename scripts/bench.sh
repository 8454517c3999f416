#!/usr/bin/env bash
# Builds the benchmarks in Release and runs them: 5 repetitions each, medians reported.
# Extra arguments go to Google Benchmark (e.g. --benchmark_filter=Check).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
# -O3 makes GCC 12 report stringop-overflow/restrict false positives inside libstdc++'s vector
# and string code; the RelWithDebInfo build that the tests use keeps -Werror.
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DVERIBIND_BUILD_TESTS=OFF -DVERIBIND_WERROR=OFF \
  -DVERIBIND_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-release -j"$(nproc)" --target veribind_bench
./build-release/bench/veribind_bench --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true "$@"
