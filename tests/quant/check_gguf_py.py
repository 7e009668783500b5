#!/usr/bin/env python3
"""check_gguf_py.py - cross-check hone's block formats against gguf-py, an independent implementation.

Runs the C test `test_quant` with HONE_QUANT_DUMP=<tmpdir>; it writes, per type, random valid blocks
(<T>.blocks) with hone's dequantisation (<T>.deq), and a float row (<T>.src) with hone's quantisation
(<T>.quant). This script then requires:
  - gguf.quants.dequantize(<T>.blocks) == <T>.deq, bit for bit, for every type gguf-py can dequantise;
  - gguf.quants.quantize(<T>.src) == <T>.quant, byte for byte, for every type gguf-py can quantise
    (F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 - gguf-py says its versions are bit-exact with ggml's
    reference); K-quant quantisers are not in gguf-py.
Exit 0 on success, 1 on a mismatch, 77 (skipped) when numpy/gguf are not importable.

Usage: check_gguf_py.py [path/to/test_quant]   (default: $HONE_BIN/test_quant)
"""
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    from gguf import GGMLQuantizationType as QT
    from gguf import quants
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIP: gguf-py not importable ({e})")
    sys.exit(77)

TYPES = ["F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q8_1",
         "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K"]


def main() -> int:
    exe = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.environ.get("HONE_BIN", "."), "test_quant")
    failures = 0
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([exe], env=dict(os.environ, HONE_QUANT_DUMP=d), capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stdout, r.stderr)
            print(f"FAIL: {exe} exited {r.returncode}")
            return 1
        for name in TYPES:
            qt = QT[name]
            path = os.path.join(d, name)
            if not os.path.exists(path + ".blocks"):
                print(f"FAIL {name}: no dump")
                failures += 1
                continue
            blocks = np.fromfile(path + ".blocks", dtype=np.uint8)
            ours = np.fromfile(path + ".deq", dtype=np.float32)
            try:
                theirs = quants.dequantize(blocks, qt).astype(np.float32).ravel()
            except NotImplementedError:
                print(f"  {name:5s} dequantise: not in gguf-py, skipped")
                theirs = None
            if theirs is not None:
                same = np.array_equal(ours.view(np.uint32), theirs.view(np.uint32))
                if not same:
                    diff = np.flatnonzero(ours.view(np.uint32) != theirs.view(np.uint32))
                    i = diff[0]
                    rel = np.max(np.abs(ours[diff] - theirs[diff]) / np.maximum(np.abs(theirs[diff]), 1e-30))
                    print(f"FAIL {name} dequantise: {diff.size}/{ours.size} differ, first at {i}: "
                          f"hone {ours[i]!r} gguf-py {theirs[i]!r}, max rel diff {rel:.3g}")
                    failures += 1
                else:
                    print(f"  {name:5s} dequantise: {ours.size} values bit-identical")
            src = np.fromfile(path + ".src", dtype=np.float32)
            mine = np.fromfile(path + ".quant", dtype=np.uint8)
            try:
                ref = quants.quantize(src.reshape(1, -1), qt)
            except NotImplementedError:
                continue
            ref = np.ascontiguousarray(ref).view(np.uint8).ravel()
            if ref.size != mine.size or not np.array_equal(ref, mine):
                nd = int(np.count_nonzero(ref != mine)) if ref.size == mine.size else -1
                print(f"FAIL {name} quantise: {nd} of {mine.size} bytes differ")
                failures += 1
            else:
                print(f"  {name:5s} quantise:   {mine.size} bytes identical")
    print("gguf-py cross-check:", "FAILED" if failures else "passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
