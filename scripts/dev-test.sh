#!/usr/bin/env bash
# Developer loop: compiles ONE test file (plus the cached doctest main) and runs it, without CMake.
#   scripts/dev-test.sh tests/test_io.cpp [doctest args...]
# Uses -O1 for quick builds; the CMake build (scripts/run-tests.sh) is the real one.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$1; shift
cache=/tmp/ras-dev; mkdir -p "$cache"
flags=(-std=c++20 -O1 -march=native -fopenmp -Wall -Wextra -Wno-maybe-uninitialized -Wno-uninitialized -Iinclude -isystem /usr/include/eigen3
       -DRAS_SOURCE_DIR="\"$PWD\"" -DRAS_SHARED_DIR="\"$PWD/../shared\"")
[ -f "$cache/main.o" ] || g++ "${flags[@]}" -c tests/main.cpp -o "$cache/main.o"
exe="$cache/$(basename "$src" .cpp)"
g++ "${flags[@]}" "$src" "$cache/main.o" -o "$exe" ${RAS_DEV_LIBS:-}
"$exe" "$@"
