#!/usr/bin/env bash
# Builds veribind_postgres_bench in Release, starts a throwaway PostgreSQL 15 server on loopback
# (scripts/pg-test-server.sh; default settings unless given), runs the benchmarks 5 times each
# (medians reported), and stops the server, also when the benchmark fails.
#   bash scripts/bench-postgres.sh                                    # synchronous_commit=on
#   PG_SETTINGS="-c synchronous_commit=off" bash scripts/bench-postgres.sh
# Extra arguments go to Google Benchmark (e.g. --benchmark_filter=Postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
# -O3 makes GCC 12 report stringop-overflow/restrict false positives inside libstdc++'s vector
# and string code; the RelWithDebInfo build that the tests use keeps -Werror.
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DVERIBIND_BUILD_TESTS=OFF -DVERIBIND_WERROR=OFF \
  -DVERIBIND_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-release -j"$(nproc)" --target veribind_postgres_bench
state=build-release/pg-bench
trap 'bash scripts/pg-test-server.sh stop "$state"' EXIT
# shellcheck disable=SC2086  # PG_SETTINGS is a list of -c name=value words
bash scripts/pg-test-server.sh start "$state" ${PG_SETTINGS:-}
VERIBIND_PG_URL=$(cat "$state/conninfo")
export VERIBIND_PG_URL
./build-release/bench/veribind_postgres_bench --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true "$@"
