"""test_cli_golden.py - `hone run` reproduces every golden continuation.

For each ../shared/golden/smollm2/*.json: `hone run --special --temp 0 -n 64
--json` on its prompt gives exactly the golden prompt ids, completion ids,
completion text and stop reason (the engine reproduces llama.cpp's
arithmetic bit for bit; see tests/model/test_golden.c). Also checks peak
memory of such a run: RSS <= model file + KV cache + 64 MiB.
Skips (77) when the default model is not cached.
"""
import glob
import json
import os
import resource
import subprocess
import sys

from clitest import HONE, FAILS, check, SHARED, model_path



def main():
    model = model_path()
    if not model:
        print("SKIP: default model not cached")
        return 77
    files = sorted(glob.glob(os.path.join(SHARED, "golden/smollm2/*.json")))
    check(len(files) == 12, f"expected 12 golden files, found {len(files)}")
    for f in files:
        g = json.load(open(f))
        name = os.path.basename(f)
        r = subprocess.run([HONE, "run", "-m", model, "--special", "--temp", "0", "-n", str(g["n_predict"]),
                            "--json", "-t", "2", "-p", g["prompt"]], capture_output=True, timeout=600)
        check(r.returncode == 0, f"{name}: exit {r.returncode}: {r.stderr.decode(errors='replace')[-300:]}")
        if r.returncode:
            continue
        out = json.loads(r.stdout)
        check(out["prompt_ids"] == g["prompt_ids"], f"{name}: prompt ids differ")
        check(out["completion_ids"] == g["completion_ids"],
              f"{name}: completion ids differ: {out['completion_ids']} vs {g['completion_ids']}")
        check(out["completion"] == g["completion"], f"{name}: completion text differs: {out['completion']!r}")
        check(out["stop_reason"] == g["stop_reason"], f"{name}: stop {out['stop_reason']} vs {g['stop_reason']}")

    # Peak memory: weights stay mmapped, the KV cache is allocated for -c, no
    # other large buffers: RSS <= file + KV + 64 MiB.
    ctx = 2048
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    r = subprocess.run([HONE, "run", "-m", model, "-c", str(ctx), "-n", "64", "--temp", "0", "-t", "2",
                        "-p", "Write a long story about a dragon."], capture_output=True, timeout=600)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    check(r.returncode == 0, "memory run failed")
    n_layer, kv_dim = 30, 192
    kv = n_layer * ctx * kv_dim * 2 * 2  # K and V, F16
    limit = os.path.getsize(model) + kv + 64 * 2**20
    # ru_maxrss is the largest of all children so far, so this bounds every run
    print(f"peak RSS {peak / 2**20:.1f} MiB (golden runs peaked at {before / 2**10:.1f} MiB); "
          f"limit {limit / 2**20:.1f} MiB = file {os.path.getsize(model) / 2**20:.1f} + KV {kv / 2**20:.1f} + 64")
    check(peak <= limit, f"peak RSS {peak} > {limit}")
    print(f"{len(files)} golden prompts checked, {len(FAILS)} failures")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
