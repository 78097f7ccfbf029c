#!/usr/bin/env bash
# The sanitizer leg: builds the doctest suite and the `ras` program with AddressSanitizer +
# UndefinedBehaviorSanitizer (gcc, -O1 -g, every UB report fatal) in build-asan/ and runs them with
# ctest. RAS_CPU_CACHE_MB=0 turns the block cache off so that ASan sees every allocation and free.
# Not run here (no sanitizer value, or only time): consumer_find_package (an uninstrumented
# downstream build) and cli_resume_after_kill (the same trainer paths as cli_bad_inputs' SIGINT
# cases). RAS_SANITIZE_EXCLUDE overrides the ctest exclusion regex.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${RAS_JOBS:-$(nproc)}
flags="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Sanitize -DCMAKE_CXX_FLAGS="$flags" \
      -DRAS_BUILD_TESTS=ON -DRAS_BUILD_EXAMPLES=ON -DRAS_BUILD_BENCHMARKS=OFF > /dev/null
cmake --build build-asan --target ras_tests ras_cli -j "$jobs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export RAS_CPU_CACHE_MB=0
ctest --test-dir build-asan --output-on-failure -j "$jobs" -E "${RAS_SANITIZE_EXCLUDE:-^(consumer_find_package|cli_resume_after_kill)$}"
