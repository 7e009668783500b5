"""test_serve_golden.py - `hone serve` reproduces the golden continuations of
../shared/golden/smollm2 (made by llama.cpp's server) under the rule stated
there, with all 12 prompts in flight at once, so every step batches tokens
of several requests.

Each prompt goes to /v1/completions (control-token text parsed as special,
as llama-server does) with temperature 0 and logprobs=5. Per step: the
chosen token's piece equals the golden piece, and its log-probability and
the top-5 log-probabilities agree within logprob_abs; a first divergence is
accepted only at a near-tie (reference top-2 gap < logprob_abs), where the
comparison of that prompt ends. Without a divergence the completion text
and finish reason must equal the golden ones.
Skips (77) when the default model is not cached.
"""
import glob
import json
import os
import sys
import threading

from clitest import FAILS, SHARED, check, model_path
from servetest import Server


def compare(name, g, out):
    tol = g["tolerance"]["logprob_abs"]
    ch = out["choices"][0]
    lp = ch["logprobs"]
    steps = g["top5_logprobs"]
    for i, ref in enumerate(steps):
        if i >= len(lp["tokens"]):
            check(False, f"{name}: only {len(lp['tokens'])} tokens, golden has {len(steps)}")
            return
        top = ref["top"]
        if lp["tokens"][i] != ref["piece"]:
            gap = top[0]["logprob"] - top[1]["logprob"]
            check(gap < tol, f"{name}: step {i}: {lp['tokens'][i]!r} vs golden {ref['piece']!r} (gap {gap:.4f})")
            return  # an accepted near-tie divergence ends the comparison
        check(abs(lp["token_logprobs"][i] - top[0]["logprob"]) <= tol,
              f"{name}: step {i}: logprob {lp['token_logprobs'][i]} vs {top[0]['logprob']}")
        mine = sorted(lp["top_logprobs"][i].values(), reverse=True)
        ref5 = [t["logprob"] for t in top]
        # pieces can coincide (two ids, one text), so compare as many as were reported
        check(all(abs(a - b) <= tol for a, b in zip(mine, ref5)), f"{name}: step {i}: top-5 {mine} vs {ref5}")
    check(ch["text"] == g["completion"], f"{name}: text {ch['text']!r} vs {g['completion']!r}")
    want = "stop" if g["stop_reason"] == "eos" else "length"
    check(ch["finish_reason"] == want, f"{name}: finish {ch['finish_reason']} vs {want}")


def main():
    if not model_path():
        print("SKIP: default model not cached")
        return 77
    files = sorted(glob.glob(os.path.join(SHARED, "golden/smollm2/*.json")))
    check(len(files) == 12, f"expected 12 golden files, found {len(files)}")
    golden = [(os.path.basename(f), json.load(open(f))) for f in files]
    results = {}
    with Server() as srv:
        def one(name, g):
            st, out = srv.post_json("/v1/completions", {"prompt": g["prompt"], "max_tokens": g["n_predict"],
                                                        "temperature": 0, "logprobs": 5})
            results[name] = (st, out)

        threads = [threading.Thread(target=one, args=ng) for ng in golden]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for name, g in golden:
            st, out = results[name]
            check(st == 200, f"{name}: HTTP {st}: {out}")
            if st == 200:
                check(out["usage"]["prompt_tokens"] == len(g["prompt_ids"]), f"{name}: prompt tokens")
                compare(name, g, out)
        m = srv.wait_idle()
        check(m["hone_kv_cells_leaked"] == 0, "leaked cells")
    print(f"{len(golden)} golden prompts checked, {len(FAILS)} failures")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
