#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer into build-fuzz/, and runs them (docs/FUZZING.md).
#
#   scripts/fuzz.sh [TARGET|all] [SECONDS]   fuzz each target for SECONDS (default 60)
#   scripts/fuzz.sh --runs N [TARGET|all]    N inputs per target after the seeds (CI's check)
#
# Targets: torch_save npy config_json split_json list_file serve_request. Each starts from
# its committed seeds (fuzz/corpus/<target>/); inputs that reach new code are kept in
# build-fuzz/corpus/<target>/ (not with --runs), crashing ones written to
# build-fuzz/crashes/<target>/. Needs clang-14 and libclang-rt-14-dev (install_deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(torch_save npy config_json split_json list_file serve_request)
runs=""
if [ "${1:-}" = "--runs" ]; then
  runs="${2:?--runs needs a number}"
  shift 2
fi
target="${1:-all}"
seconds="${2:-60}"
if [ "$target" = "all" ]; then
  targets=("${all_targets[@]}")
elif [[ " ${all_targets[*]} " == *" $target "* ]]; then
  targets=("$target")
else
  echo "fuzz.sh: unknown target '$target'; expected all or one of: ${all_targets[*]}" >&2
  exit 2
fi

cxx="${GREEDYHASH_FUZZ_CXX:-clang++-14}"
command -v "$cxx" >/dev/null || { echo "fuzz.sh: no $cxx; run scripts/install_deps.sh" >&2; exit 1; }
generator=()
command -v ninja >/dev/null && [ ! -f build-fuzz/Makefile ] && generator=(-G Ninja)
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# Paths inside the checkout hashed as relative ones: a fresh clone elsewhere on this
# machine reuses the objects (cmake/GreedyhashCcache.cmake does the same for build/).
export CCACHE_BASEDIR="$PWD"
cmake -S fuzz -B build-fuzz "${generator[@]}" "${launcher[@]}" -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE= >/dev/null
cmake --build build-fuzz --parallel "$(nproc)" --target "${targets[@]/#/fuzz_}"

# Leaks count as findings. A single allocation above 64 MB does too: every input is at
# most 64 KB, and nothing is allocated beyond what an input can hold.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
limits=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=64 -max_len=65536)
for t in "${targets[@]}"; do
  crashes="build-fuzz/crashes/$t"
  mkdir -p "$crashes"
  log="build-fuzz/$t.log"
  status=0
  if [ -n "$runs" ]; then
    # A scratch corpus folder first, so the check leaves nothing behind.
    scratch="$(mktemp -d)"
    build-fuzz/fuzz_"$t" "${limits[@]}" -artifact_prefix="$crashes/" -runs="$runs" \
      "$scratch" "fuzz/corpus/$t" >"$log" 2>&1 || status=$?
    rm -rf "$scratch"
    echo "fuzz.sh: $t: $(grep -E '^Done [0-9]+ runs' "$log" | tail -n 1)"
  else
    corpus="build-fuzz/corpus/$t"
    mkdir -p "$corpus"
    echo "fuzz.sh: $t for $seconds s (log: $log)"
    build-fuzz/fuzz_"$t" "${limits[@]}" -artifact_prefix="$crashes/" -max_total_time="$seconds" \
      -print_final_stats=1 "$corpus" "fuzz/corpus/$t" >"$log" 2>&1 || status=$?
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)' "$log" | sed "s/^/fuzz.sh: $t: /"
  fi
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$log" >&2
    echo "fuzz.sh: $t failed (exit $status); the input is in $crashes/, the log in $log" >&2
    exit 1
  fi
done
