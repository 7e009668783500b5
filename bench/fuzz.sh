#!/usr/bin/env bash
# fuzz.sh - build one of hone's libFuzzer targets with clang and run it over its seed corpus.
#
# Usage: bench/fuzz.sh [TARGET] [RUNS]   TARGET: gguf (the GGUF reader, default) or http_request
#                                        (the server's request parser); RUNS default 1000000
# Env:   BUILD_DIR  separate build directory (default /tmp/hone-build-fuzz)
#        JOBS       parallel build jobs (default 2)
#
# Builds with HONE_FUZZ=ON (every object library gets coverage + ASan/UBSan),
# fuzzes a temporary copy of fuzz/corpus/TARGET so the committed seeds stay as
# they are, prints executions per second, and ends with a line saying whether
# the run crashed. Exit status: 0 no crash, 1 crash, 2 build failure.
set -u
TARGET=${1:-gguf}
RUNS=${2:-1000000}
case "$TARGET" in gguf | http_request) ;; *) echo "fuzz: unknown target $TARGET" >&2; exit 2 ;; esac
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-/tmp/hone-build-fuzz}
JOBS=${JOBS:-2}

if ! command -v clang >/dev/null; then
    echo "fuzz: clang not found" >&2
    echo "RESULT: not run (no clang)"
    exit 2
fi
CC=clang cmake -S "$SRC" -B "$BUILD_DIR" -DHONE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$BUILD_DIR.cmake.log" 2>&1 \
    && cmake --build "$BUILD_DIR" --target "fuzz_$TARGET" -j"$JOBS" >"$BUILD_DIR.build.log" 2>&1
if [ $? -ne 0 ]; then
    tail -30 "$BUILD_DIR.cmake.log" "$BUILD_DIR.build.log" >&2
    echo "RESULT: build failed"
    exit 2
fi

WORK=$(mktemp -d "/tmp/hone-fuzz-$TARGET.XXXXXX")
cp "$SRC/fuzz/corpus/$TARGET"/* "$WORK/" 2>/dev/null
mkdir -p "$WORK/artifacts"
LOG="$WORK/fuzz.log"
echo "fuzz_$TARGET: $RUNS executions over $(find "$WORK" -maxdepth 1 -type f | wc -l) seeds in $WORK"
start=$(date +%s.%N)
"$BUILD_DIR/bin/fuzz_$TARGET" -runs="$RUNS" -max_len=8192 -print_final_stats=1 \
    -artifact_prefix="$WORK/artifacts/" "$WORK" >"$LOG" 2>&1
rc=$?
end=$(date +%s.%N)

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOG" | tail -1)
secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
execs=${execs:-0}
rate=$(awk -v n="$execs" -v s="$secs" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print 0 }')
grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^Done ' "$LOG" | tail -3
echo "executions: $execs   time: ${secs} s   executions/second: $rate"
crashes=$(ls "$WORK/artifacts" | wc -l)
if [ $rc -eq 0 ] && [ "$crashes" -eq 0 ]; then
    echo "RESULT: no crash ($execs executions, exit status $rc)"
    rm -rf "$WORK"
    exit 0
fi
grep -E 'ERROR|SUMMARY|==[0-9]+==' "$LOG" | head -20
echo "RESULT: CRASHED (exit status $rc, $crashes artifact(s) in $WORK/artifacts, log $LOG)"
exit 1
