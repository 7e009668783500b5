#!/usr/bin/env bash
# test_neon.sh - build the kernel areas for aarch64 and run their tests under qemu-user.
#
# Cross-configures core, quant and kernels (-DHONE_KERNELS_ONLY=ON, cmake/aarch64-linux-gnu.cmake),
# builds test_kernels, test_quant, test_quant_known, test_dtype and test_threadpool, and runs each
# under qemu-aarch64 twice: with -cpu max (reports ASIMD and SDOT, so test_kernels compares the
# scalar, neon and dotprod levels) and with -cpu cortex-a72 (armv8.0: no SDOT, so the detection
# must fall back to the neon level). This checks correctness only: qemu translates every
# instruction, so its timings say nothing about real Arm hardware.
#
# Build directory: $BUILD_DIR-neon if BUILD_DIR is set, else /tmp/hone-build-neon (or the first
# argument). Exits 77 (skipped) when aarch64-linux-gnu-gcc or qemu-aarch64 is missing.
# Environment: JOBS (build jobs, default 2), HONE_SHARED (golden files, for test_quant_known).
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
if [ $# -ge 1 ]; then build="$1"
elif [ -n "${BUILD_DIR:-}" ]; then build="$BUILD_DIR-neon"
else build=/tmp/hone-build-neon
fi
JOBS=${JOBS:-2}

for tool in aarch64-linux-gnu-gcc qemu-aarch64 cmake; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "test_neon.sh: $tool not found (packages gcc-aarch64-linux-gnu, qemu-user); skipped" >&2
        exit 77
    fi
done
sysroot=/usr/aarch64-linux-gnu
if [ ! -e "$sysroot/lib/ld-linux-aarch64.so.1" ]; then
    echo "test_neon.sh: no arm64 C library in $sysroot (package libc6-dev-arm64-cross); skipped" >&2
    exit 77
fi

tests="test_kernels test_quant test_quant_known test_dtype test_threadpool"
echo "==> configuring $build (aarch64, HONE_KERNELS_ONLY)" >&2
cmake -S "$src" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$src/cmake/aarch64-linux-gnu.cmake" \
    -DHONE_KERNELS_ONLY=ON -DCMAKE_BUILD_TYPE=Release >"$build.configure.log" 2>&1 ||
    { cat "$build.configure.log" >&2; exit 1; }
echo "==> building $tests" >&2
# shellcheck disable=SC2086
cmake --build "$build" --target $tests -j "$JOBS" >"$build.build.log" 2>&1 ||
    { tail -50 "$build.build.log" >&2; exit 1; }

export HONE_SHARED="${HONE_SHARED:-$src/../shared}"
fail=0
for cpu in max cortex-a72; do
    for t in $tests; do
        start=$(date +%s%N)
        set +e
        out=$(qemu-aarch64 -L "$sysroot" -cpu "$cpu" "$build/bin/$t" 2>&1)
        rc=$?
        set -e
        ms=$(( ($(date +%s%N) - start) / 1000000 ))
        secs=$(printf '%d.%02d' $((ms / 1000)) $((ms % 1000 / 10)))
        case $rc in
        0) status=passed ;;
        77) status=skipped ;;
        *) status="FAILED (exit $rc)"; fail=1 ;;
        esac
        # the test's own summary lines: levels tested, comparisons, checks
        summary=$(printf '%s\n' "$out" | grep -E "levels tested|comparisons|checks" | tr '\n' ';' || true)
        printf '%-10s %-16s %-18s %6ss under qemu (functional only)  %s\n' "$cpu" "$t" "$status" "$secs" "$summary"
        if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then printf '%s\n' "$out" | grep -v "^ok" | tail -30; fi
    done
done
exit $fail
