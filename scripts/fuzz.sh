#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz/ (clang 14, -fsanitize=fuzzer,address,undefined) into
# build-fuzz/ and runs them one after the other (they compete for the CPU otherwise).
#   scripts/fuzz.sh [SECONDS]          fuzz each harness for SECONDS (default 60)
#   scripts/fuzz.sh --runs N           fuzz each harness for N executions
#   scripts/fuzz.sh --replay [SECONDS] CI mode: replay the committed corpora and regression inputs,
#                                      then fuzz each harness for SECONDS (default 30)
# RAS_FUZZ_ONLY="image npy" limits the harnesses. New corpus entries go to build-fuzz/corpus/NAME
# (not committed); crashes to build-fuzz/artifacts/. Copy a crash into tests/fuzz/regressions/NAME/
# once it is fixed. Exit status: non-zero when a harness fails (crash, leak, sanitizer report).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=time; seconds=60; runs=0
case "${1:-}" in
  --replay) mode=replay; seconds=${2:-30} ;;
  --runs) mode=runs; runs=${2:?--runs needs N} ;;
  "") ;;
  *) seconds=$1 ;;
esac
harnesses=(${RAS_FUZZ_ONLY:-safetensors npy json metadata masks image})
cxx=${RAS_FUZZ_CXX:-clang++-14}
command -v "$cxx" >/dev/null || { echo "fuzz.sh: $cxx not found (apt-get install clang-14 libclang-rt-14-dev)"; exit 1; }
out=build-fuzz
mkdir -p "$out/artifacts"
flags=(-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Iinclude
       -isystem /usr/include/eigen3 -Wall -Wextra -Wno-unused-variable)
for h in "${harnesses[@]}"; do
  src=tests/fuzz/fuzz_$h.cpp exe=$out/fuzz_$h
  libs=(); [ "$h" = image ] && libs=(-lpng -ljpeg -lstb)
  if [ ! -x "$exe" ] || [ -n "$(find include tests/fuzz -newer "$exe" -name '*.hpp' -o -newer "$exe" -name '*.cpp' | head -1)" ]; then
    echo "== building fuzz_$h"
    "$cxx" "${flags[@]}" "$src" -o "$exe" "${libs[@]}"
  fi
done
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for h in "${harnesses[@]}"; do
  exe=$out/fuzz_$h seeds=tests/fuzz/corpus/$h regress=tests/fuzz/regressions/$h work=$out/corpus/$h
  mkdir -p "$work"
  dirs=("$seeds"); [ -d "$regress" ] && dirs+=("$regress")
  common=(-rss_limit_mb=2560 -timeout=10 -max_len=65536 -print_final_stats=1 -artifact_prefix="$out/artifacts/$h-")
  [ -f "tests/fuzz/$h.dict" ] && common+=(-dict="tests/fuzz/$h.dict")
  log=$out/$h.log
  if [ "$mode" = replay ]; then
    echo "== fuzz_$h: replaying ${dirs[*]}"
    "$exe" "${common[@]}" -runs=0 "${dirs[@]}" > "$log" 2>&1 || { status=1; tail -30 "$log"; continue; }
    rm -rf "$work.ci"; mkdir -p "$work.ci"
    "$exe" "${common[@]}" -max_total_time="$seconds" "$work.ci" "${dirs[@]}" >> "$log" 2>&1 || { status=1; tail -30 "$log"; }
    rm -rf "$work.ci"
  elif [ "$mode" = runs ]; then
    echo "== fuzz_$h: $runs executions"
    "$exe" "${common[@]}" -runs="$runs" "$work" "${dirs[@]}" > "$log" 2>&1 || { status=1; tail -30 "$log"; }
  else
    echo "== fuzz_$h: $seconds s"
    "$exe" "${common[@]}" -max_total_time="$seconds" "$work" "${dirs[@]}" > "$log" 2>&1 || { status=1; tail -30 "$log"; }
  fi
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  secs=$(grep -o 'exec/s: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  echo "   fuzz_$h: ${execs:-?} executions (${secs:-?}/s in the last phase), corpus $(ls "$work" 2>/dev/null | wc -l) files; log $log"
done
exit $status
