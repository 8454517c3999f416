#!/usr/bin/env bash
# The HTTP API's check, measured two ways in one run, each beside the library's own check():
# 1. veribind_serve_bench (Google Benchmark, 9 interleaved repetitions, medians):
#    BM_Check_Http/<store>, one keep-alive connection, one request at a time (latency),
#    BM_Check_Library/<store>, and BM_Loopback_RoundTrip (the same bytes echoed: the floor).
# 2. wrk against a real `veribind serve` (MemoryStore, then SQLite): requests/s and p50/p99 of
#    POST /v1/verifications/{id}/check with a wrong code, round robin over kLive challenges.
# Workload and limits: bench/serve_bench.cpp (the same [verifier] settings are written here).
# Options (environment): WRK_SECONDS (10); SERVE_RUNS="store:threads:connections ..." (default
# "memory:2:16 sqlite:2:16"); SERVE_SWEEP=1 adds -c4/-c64 and threads = 1 for each store;
# PERF_OUT=/path/prefix records the server with perf during the -c16 runs.
# Extra arguments go to Google Benchmark. Raw output: tee it (bench/serve-last-run.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DVERIBIND_BUILD_TESTS=OFF \
  -DVERIBIND_BUILD_EXAMPLES=ON -DVERIBIND_BUILD_BENCH=ON >/dev/null
cmake --build build-release -j"$(nproc)" --target veribind_serve_bench veribind_cli
bin=${VERIBIND_CLI:-$PWD/build-release/examples/cli/veribind}  # VERIBIND_CLI: another binary
json=$PWD/build-release/serve-bench-last.json
live=10000  # challenges per server, as kLive in bench/serve_bench.cpp
seconds=${WRK_SECONDS:-10}
work=$(mktemp -d /tmp/veribind-bench-serve-XXXXXX)
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

date -u +%Y-%m-%dT%H:%M:%SZ
uptime
echo "== Part 1: veribind_serve_bench"
./build-release/bench/veribind_serve_bench --benchmark_repetitions=9 \
  --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=true --benchmark_out="$json" --benchmark_out_format=json "$@"

# A fresh server: its own directory, key, API key and store; leaves port, key and server_pid.
start_server() {  # store (memory|sqlite), threads
  local store=$1 threads=$2
  dir=$work/$store-t$threads-$RANDOM
  mkdir -p "$dir"
  "$bin" keygen --key-file "$dir/veribind.key" >/dev/null
  key=$("$bin" apikey create --scope verify --json --api-keys "$dir/keys" \
    --key-file "$dir/veribind.key" |
    /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])')
  local db='memory:'
  [[ $store == sqlite ]] && db=$dir/v.db
  cat >"$dir/veribind.toml" <<EOF
[store]
db = "$db"
key_file = "$dir/veribind.key"

[verifier]
code_ttl_seconds = 86400
max_checks = 100
max_failed_checks = 1000
failure_window_seconds = 86400
resend_cooldown_seconds = 0
max_sends_per_hour = 1000
global_sends_per_hour = 0
client_starts_per_window = 1000000000
client_checks_per_window = 1000000000

[server]
api_keys = "$dir/keys"
threads = $threads
EOF
  # The request log (one line per request) goes to a file: nothing has to drain it.
  "$bin" serve --config "$dir/veribind.toml" --listen 127.0.0.1:0 --demo 2>"$dir/serve.log" &
  server_pid=$!
  port=
  for _ in $(seq 200); do
    port=$(grep -o '"listening":"127.0.0.1:[0-9]*"' "$dir/serve.log" | head -1 | grep -o '[0-9]*"$' |
      tr -d '"') || true
    [[ -n $port ]] && break
    sleep 0.05
  done
  [[ -n $port ]] || { cat "$dir/serve.log"; exit 1; }
  if [[ $store == memory ]] && ! grep -q '"warning":"store memory:' "$dir/serve.log"; then
    echo "the server did not open a MemoryStore:"; cat "$dir/serve.log"; exit 1
  fi
}

# The server's CPU time so far (user + system, all threads), in clock ticks.
server_cpu_ticks() {
  sed 's/.*) //' "/proc/$server_pid/stat" | awk '{print $12 + $13}'
}

stop_server() {
  kill "$server_pid"
  wait "$server_pid" || true
  server_pid=
}

# kLive challenges over one keep-alive connection; "<id> <wrong code>" lines into $dir/ids.
make_challenges() {
  /usr/bin/python3 - "$port" "$key" "$live" "$dir/ids" <<'EOF'
import http.client
import json
import sys
import time

port, key, live, out = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
conn = http.client.HTTPConnection("127.0.0.1", port)
auth = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}


def call(method, path, body=None):
    conn.request(method, path, body, auth)
    r = conn.getresponse()
    return r.status, r.read()


# The development sender's codes are read back so that the wrong code is surely wrong; it keeps
# 1024 codes and gets them from the outbox's workers: read in batches, after their starts.
readable = True
with open(out, "w") as f:
    for first in range(0, live, 500):
        ids = []
        for k in range(first, min(first + 500, live)):
            status, text = call("POST", "/v1/verifications",
                                json.dumps({"to": f"bench{k}@example.com", "channel": "email"}))
            if status != 201:
                sys.exit(f"start answered {status} {text!r}")
            ids.append(json.loads(text)["id"])
        for cid in ids:
            code = ""
            for _ in range(100 if readable else 0):
                status, text = call("GET", f"/demo/codes/{cid}")
                if status == 200:
                    code = json.loads(text).get("code", "")
                    break
                time.sleep(0.001)
            else:
                if readable:
                    print(f"no demo code ({status}): a fixed wrong code is used", file=sys.stderr)
                readable = False
            f.write(f"{cid} {'100000' if code.startswith('0') else '000000'}\n")
EOF
}

# One check of the first challenge after a run: still "pending" and not valid (steady state held).
probe() {
  local id code
  read -r id code <"$dir/ids"
  curl -s -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d "{\"code\":\"$code\"}" "http://127.0.0.1:$port/v1/verifications/$id/check"
  echo
}

run_wrk() {  # store, threads, connections
  local store=$1 threads=$2 connections=$3
  start_server "$store" "$threads"
  make_challenges
  echo "== wrk: store=$store server_threads=$threads connections=$connections"
  local perf_pid=
  if [[ -n ${PERF_OUT:-} && $connections == 16 && $threads == 2 ]]; then
    # The server's CPU during the run (not its start-up), call graphs: perf report -i FILE.
    perf record -g -o "$PERF_OUT-$store.data" -p "$server_pid" -- sleep $((seconds - 2)) \
      2>/dev/null >/dev/null &
    perf_pid=$!
  fi
  local cpu_before out=$work/wrk-$store-t$threads-c$connections.txt
  cpu_before=$(server_cpu_ticks)
  VERIBIND_API_KEY=$key VERIBIND_IDS=$dir/ids wrk -t1 -c"$connections" -d"${seconds}s" --latency \
    -s bench/serve_check.lua "http://127.0.0.1:$port" | tee "$out"
  if [[ -n $perf_pid ]]; then wait "$perf_pid" || true; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    local status=0
    wait "$server_pid" || status=$?
    server_pid=
    echo "the server exited during the run (status $status); the end of its log:"
    tail -5 "$dir/serve.log"
    return
  fi
  local checks ticks
  checks=$(grep -o '^ *[0-9]* requests in' "$out" | grep -o '[0-9]*')
  ticks=$(($(server_cpu_ticks) - cpu_before))
  awk -v ticks="$ticks" -v hz="$(getconf CLK_TCK)" -v n="$checks" \
    'BEGIN { printf "server CPU per check: %.1f us\n", ticks / hz * 1e6 / n }' | tee -a "$out"
  echo "after the run, a check of the first challenge: $(probe)"
  # Every check of the run should be a charged wrong code: the log's reasons say what each was.
  echo "request log: $(wc -l <"$dir/serve.log") lines; check outcomes:" \
    "$(grep '/check' "$dir/serve.log" | grep -o '"reason":"[^"]*"' | sort | uniq -c | tr '\n' ' ')"
  stop_server
}

echo "== Part 2: wrk -t1 -c<connections> -d${seconds}s, $live challenges per server"
runs=${SERVE_RUNS:-memory:2:16 sqlite:2:16}
if [[ ${SERVE_SWEEP:-0} == 1 ]]; then
  runs+=" memory:2:4 memory:2:64 memory:1:16 sqlite:2:4 sqlite:2:64 sqlite:1:16"
fi
for run in $runs; do
  IFS=: read -r store threads connections <<<"$run"
  run_wrk "$store" "$threads" "$connections"
done

# Debian's python3 (json is in its standard library).
/usr/bin/python3 - "$json" "$work" <<'EOF'
import glob
import json
import os
import re
import sys

with open(sys.argv[1]) as f:
    runs = json.load(f)["benchmarks"]
ns_per = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
med = {r["run_name"].replace("/real_time", ""): r["real_time"] * ns_per[r["time_unit"]]
       for r in runs if r.get("aggregate_name") == "median"}

print("\nPart 1: medians of 9 interleaved repetitions, real time per check (one connection, sequential)")
loop = med.get("BM_Loopback_RoundTrip")
cpu = {r["run_name"].replace("/real_time", ""): r.get("server_cpu_us")
       for r in runs if r.get("aggregate_name") == "median"}
if loop:
    print(f"BM_Loopback_RoundTrip (the same bytes echoed by a bare thread): {loop / 1e3:.1f} us")
print(f"{'store':<8} {'HTTP':>10} {'library':>10} {'HTTP/lib':>9} {'HTTP-lib':>10} {'HTTP-echo':>10} "
      f"{'srv CPU':>8}  target HTTP-lib <= 30 us")
for store in ("memory", "sqlite"):
    h, l = med.get(f"BM_Check_Http/{store}"), med.get(f"BM_Check_Library/{store}")
    if h is None or l is None:
        continue
    d = (h - l) / 1e3
    echo = f"{(h - loop) / 1e3:>8.1f}us" if loop else f"{'-':>10}"
    c = cpu.get(f"BM_Check_Http/{store}")
    print(f"{store:<8} {h / 1e3:>8.1f}us {l / 1e3:>8.2f}us {h / l:>8.1f}x {d:>8.1f}us {echo} "
          f"{f'{c:.1f}us' if c else '-':>8}  {'met' if d <= 30 else 'missed'}")


def micros(text):
    v, unit = float(re.match(r"([\d.]+)", text).group(1)), re.sub(r"[\d.]", "", text)
    return v * {"us": 1, "ms": 1e3, "s": 1e6}[unit]


print("\nPart 2: wrk -t1 (one client core), requests/s and latency percentiles")
print(f"{'store':<7} {'threads':>7} {'conns':>5} {'req/s':>9} {'p50':>9} {'p99':>9} "
      f"{'non-2xx':>7} {'srv CPU':>8} {'lib check/s':>12} {'ratio':>6}  target >= 20,000/s")
for path in sorted(glob.glob(os.path.join(sys.argv[2], "wrk-*.txt"))):
    store, threads, conns = re.match(r"wrk-(\w+)-t(\d+)-c(\d+)\.txt", os.path.basename(path)).groups()
    text = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    # The distribution's lines, not the "+/- Stdev" column (which may end in 50% too).
    p50 = micros(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
    p99 = micros(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    cpu = re.search(r"server CPU per check: ([\d.]+) us", text)
    lib = med.get(f"BM_Check_Library/{store}")
    lib_rate = 1e9 / lib if lib else float("nan")
    print(f"{store:<7} {threads:>7} {conns:>5} {rps:>9,.0f} {p50:>7.0f}us {p99:>7.0f}us "
          f"{bad.group(1) if bad else 0:>7} {cpu.group(1) + 'us' if cpu else '-':>8} "
          f"{lib_rate:>12,.0f} {rps / lib_rate:>6.3f}  "
          f"{'met' if rps >= 20000 else 'missed'}")
EOF
