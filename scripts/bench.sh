#!/usr/bin/env bash
# Builds the benchmarks in Release (build-release/) and runs them: 5 repetitions each, medians
# reported. Then prints the medians again in a small table with the ratios read against the same
# run: each BM_Check_Memory_* to the liboath peer (BM_Peer_Liboath_TotpValidate), the two-thread
# scaling, SQLite's wall-clock rate, and start() refused over start() sent behind the outbox.
# Extra arguments go to Google Benchmark (e.g. --benchmark_filter=Check).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DVERIBIND_BUILD_TESTS=OFF \
  -DVERIBIND_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-release -j"$(nproc)" --target veribind_bench
json=build-release/bench-last.json  # the whole run, kept for a closer look
date -u +%Y-%m-%dT%H:%M:%SZ
./build-release/bench/veribind_bench --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true --benchmark_out="$json" --benchmark_out_format=json "$@"

# Debian's python3 (json is in its standard library); the python3 on PATH may be another one.
/usr/bin/python3 - "$json" <<'EOF'
import json
import sys

with open(sys.argv[1]) as f:
    runs = json.load(f)["benchmarks"]
ns_per = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
medians = {}
for r in runs:
    if r.get("aggregate_name") == "median":
        medians[r["run_name"]] = r


def ns(r, key):
    return r[key] * ns_per[r["time_unit"]]


def duration(v):
    for unit, scale in (("ms", 1e6), ("us", 1e3)):
        if v >= 10 * scale:
            return f"{v / scale:.1f} {unit}"
    return f"{v:.0f} ns"


def rate(v):
    return f"{v / 1e6:.2f} M/s" if v >= 1e6 else f"{v / 1e3:.1f} k/s"


print()
print("Medians of the repetitions (CPU time is per iteration; items/s as Google Benchmark")
print("reports it: on CPU time, except on real time where the name says real_time)")
print(f"{'benchmark':<52} {'real':>12} {'cpu':>12} {'items/s':>12}  counters")
for name, r in medians.items():
    counters = "  ".join(f"{k}={r[k]:.1f}" for k in ("bytes_per_challenge",) if k in r)
    items = rate(r["items_per_second"]) if "items_per_second" in r else ""
    print(f"{name:<52} {duration(ns(r, 'real_time')):>12} {duration(ns(r, 'cpu_time')):>12} "
          f"{items:>12}  {counters}")

# Targets: stated in bench/README.md; printed here so that every run says where it stands.
print()
peer = medians.get("BM_Peer_Liboath_TotpValidate")
targets = {
    "BM_Check_Memory_WrongCode/100000": 0.8,
    "BM_Check_Memory_RightCode/100000": 1.0,
    "BM_Check_Memory_WrongCode/1000000": 1.6,
}
if peer is None:
    print("no BM_Peer_Liboath_TotpValidate in this run (filtered out, or built without liboath):")
    print("no ratios to the peer")
else:
    print(f"Ratio to BM_Peer_Liboath_TotpValidate ({ns(peer, 'cpu_time'):.0f} ns CPU, "
          f"{ns(peer, 'real_time'):.0f} ns real), same run")
    print(f"{'benchmark':<52} {'cpu ratio':>10} {'real ratio':>11}  target (cpu)")
    for name, r in medians.items():
        if not name.startswith("BM_Check_Memory_"):
            continue
        cpu = ns(r, "cpu_time") / ns(peer, "cpu_time")
        real = ns(r, "real_time") / ns(peer, "real_time")
        target = ""
        if name in targets:
            limit = targets[name]
            target = f"<= {limit}x: {'met' if cpu <= limit else 'missed'}"
        print(f"{name:<52} {cpu:>9.2f}x {real:>10.2f}x  {target}")

one = medians.get("BM_Check_Memory_Scaling/real_time/threads:1")
two = medians.get("BM_Check_Memory_Scaling/real_time/threads:2")
if one and two:
    speedup = two["items_per_second"] / one["items_per_second"]
    print(f"\nBM_Check_Memory_Scaling threads:2 / threads:1 items_per_second (real time): "
          f"{speedup:.2f}x ({rate(two['items_per_second'])} / {rate(one['items_per_second'])});"
          f" target >= 1.7x: {'met' if speedup >= 1.7 else 'missed'}")

memory = medians.get("BM_Memory_PerLiveChallenge/1000000")
if memory and "bytes_per_challenge" in memory:
    b = memory["bytes_per_challenge"]
    print(f"BM_Memory_PerLiveChallenge/1000000 bytes_per_challenge: {b:.1f}; "
          f"target <= 96: {'met' if b <= 96 else 'missed'}")

sqlite = medians.get("BM_Check_Sqlite_WrongCode")
if sqlite:
    wall = 1e9 / ns(sqlite, "real_time")
    cpu = 1e9 / ns(sqlite, "cpu_time")
    print(f"BM_Check_Sqlite_WrongCode: {wall:,.0f} checks/s wall clock ({cpu:,.0f}/s of CPU); "
          f"target >= 50,000/s (wall clock): {'met' if wall >= 50000 else 'missed'}")


def median_of(name):  # a name registered with Iterations() carries "/iterations:N/repeats:N"
    for run_name, r in medians.items():
        if run_name == name or run_name.startswith(name + "/iterations:"):
            return r
    return None


# Behind the outbox a refused start should cost what a sent one does: medians within 10%.
for store in ("outbox", "outbox_memory"):
    sent = median_of(f"BM_Start_Sent/{store}")
    refused = median_of(f"BM_Start_Refused/{store}")
    if sent and refused:
        real = ns(refused, "real_time") / ns(sent, "real_time")
        cpu = ns(refused, "cpu_time") / ns(sent, "cpu_time")
        verdict = "met" if abs(real - 1) <= 0.10 else "missed"
        print(f"BM_Start_Refused/{store} / BM_Start_Sent/{store}: {real:.2f}x real "
              f"({duration(ns(refused, 'real_time'))} / {duration(ns(sent, 'real_time'))}), "
              f"{cpu:.2f}x CPU; target within 10% (real): {verdict}")
direct = median_of("BM_Start_Sent/direct_sender")
queued = median_of("BM_Start_Sent/outbox")
if direct and queued:
    print(f"BM_Start_Sent/direct_sender / BM_Start_Sent/outbox: "
          f"{ns(direct, 'real_time') / ns(queued, 'real_time'):.1f}x real "
          f"({duration(ns(direct, 'real_time'))} / {duration(ns(queued, 'real_time'))})")
EOF
