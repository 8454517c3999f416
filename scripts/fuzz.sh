#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, AddressSanitizer + UndefinedBehaviorSanitizer) and runs
# them. See README "Fuzzing".
#
#   scripts/fuzz.sh TARGET [SECONDS] [libFuzzer flags...]   build, then fuzz TARGET (default 60 s)
#   scripts/fuzz.sh --build                                 build only
#   scripts/fuzz.sh --no-build TARGET [SECONDS] [flags...]  fuzz without building first
#
# TARGET is phone, email, challenge_id or cli. Each run starts from a temporary copy of the
# seeds in fuzz/corpus/TARGET, so the repository's corpus never grows; set KEEP_CORPUS=1 to keep
# the copy (its path is printed). A crash, leak, timeout or sanitizer report exits non-zero and
# leaves the input that caused it in $FUZZ_BUILD_DIR/artifacts/. The build goes to
# $FUZZ_BUILD_DIR (default ./build-fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build_dir=${FUZZ_BUILD_DIR:-$root/build-fuzz}
targets=(phone email challenge_id cli)
corpus=  # global: the EXIT trap removes it

usage() {
  sed -n '5,8p' "$0" >&2
  exit 2
}

build() {
  if ! command -v clang++ >/dev/null; then
    echo "fuzz.sh: clang++ is missing (bash scripts/deps.sh installs it)" >&2
    exit 1
  fi
  CC=clang CXX=clang++ cmake -S fuzz -B "$build_dir" >/dev/null
  cmake --build "$build_dir" -j"$(nproc)"
}

run() {
  local target=$1 seconds=$2
  shift 2
  local known=0
  for t in "${targets[@]}"; do [[ $t == "$target" ]] && known=1; done
  ((known)) || { echo "fuzz.sh: unknown target '$target' (${targets[*]})" >&2; exit 2; }
  [[ $seconds =~ ^[0-9]+$ ]] || usage

  corpus=$(mktemp -d "${TMPDIR:-/tmp}/veribind-fuzz-$target.XXXXXX")
  if [[ ${KEEP_CORPUS:-0} == 1 ]]; then
    echo "fuzz.sh: corpus kept in $corpus"
  else
    trap 'rm -rf "$corpus"' EXIT
  fi
  cp -r "fuzz/corpus/$target/." "$corpus/"
  local dict=()
  [[ -f fuzz/$target.dict ]] && dict=(-dict="fuzz/$target.dict")
  mkdir -p "$build_dir/artifacts"

  # -timeout: one input taking 10 s is a hang. -rss_limit_mb: a runaway allocation is a failure.
  # Leak detection is on (LeakSanitizer runs at the end of each input that allocated more than
  # it freed); any sanitizer report aborts.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build_dir/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$build_dir/artifacts/$target-" \
    "${dict[@]}" "$@" "$corpus"
}

case ${1:-} in
  --build) build ;;
  --no-build)
    [[ $# -ge 2 ]] || usage
    shift
    run "$1" "${2:-60}" "${@:3}"
    ;;
  '' | -*) usage ;;
  *)
    build
    run "$1" "${2:-60}" "${@:3}"
    ;;
esac
