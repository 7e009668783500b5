#!/usr/bin/env bash
# test_neon_qemu.sh - ctest entry for the aarch64 edge build: runs scripts/test_neon.sh, which
# cross-builds core, quant and kernels and runs their tests (every NEON kernel against the scalar
# reference, bit for bit) under qemu-aarch64. Skipped (77) without the cross compiler or qemu-user.
#
# Builds in "$HONE_BIN/../neon", inside this ctest build directory, so a clean clone stays clean.
# About a minute: the cross build, then two passes of five tests under emulation.
set -euo pipefail
: "${HONE_SOURCE:?HONE_SOURCE is set by ctest}"
build="${HONE_BIN:+$HONE_BIN/../neon}"
exec bash "$HONE_SOURCE/scripts/test_neon.sh" ${build:+"$build"}
