#!/usr/bin/env python3
"""golden_vs_llama.py - how closely does llama.cpp, built on THIS machine,
reproduce the golden files in ../shared/golden/smollm2?

The golden continuations were made by llama.cpp c392e50 on another CPU. The
default model, with activations quantised to 8 bits as llama.cpp's CPU path
does, is chaotic (tiny rounding differences move log-probabilities by
tenths), so the reference's exact bits depend on the machine. This script
measures that spread for llama.cpp itself, which is the yardstick
tests/model/test_golden*.c hold hone to.

Usage: LLAMA_SERVER=/path/to/llama-server python3 bench/golden_vs_llama.py [MODEL]
Prints, per prompt, free-running divergence (first differing greedy id and
the reference's top-2 gap there) and teacher-forced |dlogprob| statistics.
"""
import glob
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request

PORT = 18099
URL = f"http://127.0.0.1:{PORT}"
HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(os.environ.get("HONE_SHARED", os.path.join(HERE, "..", "..", "shared")), "golden", "smollm2")


def post(req):
    data = json.dumps(req).encode()
    r = urllib.request.Request(URL + "/completion", data, {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(r, timeout=300))


def main():
    server = os.environ.get("LLAMA_SERVER")
    if not server:
        sys.exit("set LLAMA_SERVER to a llama-server binary")
    model = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/hone/SmolLM2-135M-Instruct.Q4_1.gguf")
    proc = subprocess.Popen([server, "-m", model, "-t", "2", "--port", str(PORT)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(URL + "/health", timeout=2)
                break
            except Exception:
                time.sleep(1)
        errs, steps, agree = [], 0, 0
        for f in sorted(glob.glob(os.path.join(GOLDEN, "*.json"))):
            g = json.load(open(f))
            free = post({"prompt": g["prompt_ids"], "n_predict": g["n_predict"], "n_probs": 5,
                         "temperature": 0, "cache_prompt": False})["completion_probabilities"]
            div = None
            for i, (ref, mine) in enumerate(zip(g["top5_logprobs"], free)):
                if mine["id"] != ref["id"]:
                    div = (i, ref["top"][0]["logprob"] - ref["top"][1]["logprob"])
                    break
            pe = []
            for i, ref in enumerate(g["top5_logprobs"]):
                r = post({"prompt": g["prompt_ids"] + g["completion_ids"][:i], "n_predict": 1, "n_probs": 5,
                          "temperature": 0, "cache_prompt": True})["completion_probabilities"][0]
                m = {t["id"]: t["logprob"] for t in r["top_logprobs"]}
                steps += 1
                agree += r["top_logprobs"][0]["id"] == ref["id"]
                pe += [abs(m[t["id"]] - t["logprob"]) for t in ref["top"] if t["id"] in m]
            errs += pe
            name = os.path.basename(f)
            dv = "none" if div is None else f"step {div[0]} (reference gap {div[1]:.4f})"
            print(f"{name:18s} free-running divergence: {dv:32s} forced |d| median {statistics.median(pe):.4f} "
                  f"max {max(pe):.4f}")
        errs.sort()
        print(f"teacher-forced: {steps} steps, same top-1 {agree} ({100 * agree / steps:.1f}%), |dlogprob| median "
              f"{statistics.median(errs):.4f} p90 {errs[int(0.9 * len(errs))]:.4f} max {errs[-1]:.4f}")
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
