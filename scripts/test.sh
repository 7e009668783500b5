#!/usr/bin/env bash
# test.sh - the whole test suite, as README.md's second command and CI run it.
#
#   1. scripts/setup.sh: packages, Release build in build/, default model.
#   2. ctest on build/ (unit, golden, end-to-end CLI tests).
#   3. The same suite built with AddressSanitizer + UndefinedBehaviorSanitizer
#      in build-asan/ (optimised, so the model tests stay quick).
#
# Options: --no-asan (skip 3). Environment: JOBS (build jobs).
set -euo pipefail
cd "$(dirname "$0")/.."

asan=1
for arg in "$@"; do
    case "$arg" in
    --no-asan) asan=0 ;;
    *) echo "test.sh: unknown option '$arg'" >&2; exit 1 ;;
    esac
done
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

./scripts/setup.sh

echo "==> ctest (Release)" >&2
ctest --test-dir build --output-on-failure -j "$JOBS"

if [ $asan -eq 1 ]; then
    echo "==> building build-asan (ASan + UBSan)" >&2
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHONE_SANITIZE=ON >/dev/null
    cmake --build build-asan -j "$JOBS"
    echo "==> ctest (ASan + UBSan)" >&2
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir build-asan --output-on-failure -j "$JOBS"
fi
