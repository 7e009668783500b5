"""test_cli_eval.py - `hone eval` end to end, on 2 chunks of 128 tokens of wiki.test.raw.

  - usage errors exit 1 (no text, --ref with --ref-logits, a text too short for two chunks), a
    missing model or reference exits 2, a file that is not a logits file exits 2;
  - a model against itself: KLD exactly 0 (mean, p99, max), same top-1 100 %, PPL == reference PPL;
  - the F32 dequantisation of the default model against the Q4_1 original: PPLs within 2 % (the
    weights are identical; only the activations' rounding differs), small finite KLD, top-1 > 90 %;
  - --save-logits writes the compact file at its documented size (llama-perplexity's layout), and
    --ref-logits with it gives the side-by-side figures to within the 16-bit rounding;
  - --json has every figure, all finite;
  - --report writes a Markdown table with a row per model and an SVG chart with a point per model;
  - with LLAMA_BIN set, llama-perplexity --kl-divergence reads hone's saved file and agrees on the
    mean KLD (skipped otherwise).
Model-dependent parts skip (77) when the default model is not cached.
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

from clitest import HONE, SHARED, FAILS, check, model_path

TEXT = os.path.join(SHARED, "data/wikitext-2-raw/wiki.test.raw")
ARGS = ["-c", "128", "--chunks", "2", "-t", "2"]


def hone(args, timeout=900):
    r = subprocess.run([HONE, *args], capture_output=True, timeout=timeout)
    check(r.returncode >= 0, f"hone {args}: killed by signal {-r.returncode}")
    return r


def eval_json(args):
    r = hone(["eval", *args, "--json"])
    check(r.returncode == 0, f"eval {args}: exit {r.returncode}: {r.stderr.decode()[-400:]}")
    if r.returncode != 0:
        return None
    j = json.loads(r.stdout)
    for k, v in j.items():
        if isinstance(v, float):
            check(math.isfinite(v), f"eval {args}: {k} = {v}")
    return j


def test_errors(tmp, model):
    short = os.path.join(tmp, "short.txt")
    with open(short, "w") as f:
        f.write("Only a few words here.\n")
    r = hone(["eval", "/nonexistent/m.gguf", "--text", TEXT])
    check(r.returncode == 2, f"missing model: exit {r.returncode}")
    if not model:
        return
    for args in ([model], [model, "--text", TEXT, "--ref", model, "--ref-logits", short],
                 [model, "--text", short, "-c", "128"], [model, "--text", TEXT, "-c", "2"]):
        r = hone(["eval", *args])
        check(r.returncode == 1, f"eval {args}: exit {r.returncode}, expected 1")
        check(b"hone eval:" in r.stderr, f"eval {args}: no message")
    r = hone(["eval", model, "--text", TEXT, *ARGS, "--ref", "/nonexistent/ref.gguf"])
    check(r.returncode == 2, f"missing reference: exit {r.returncode}")
    r = hone(["eval", model, *ARGS, "--ref-logits", short])
    check(r.returncode == 2 and b"logits" in r.stderr, f"not a logits file: exit {r.returncode}")


def test_model(tmp, model):
    j = eval_json([model, "--text", TEXT, *ARGS, "--ref", model])
    if j:
        check(j["kld_mean"] == 0 and j["kld_p99"] == 0 and j["kld_max"] == 0, f"self KLD {j['kld_mean']}")
        check(j["top1"] == 1.0, f"self top-1 {j['top1']}")
        check(j["ppl"] == j["ref_ppl"] and j["ppl_ratio"] == 1.0, "self PPL")
        check(j["n_chunks"] == 2 and j["n_ctx"] == 128 and j["n_scored"] == 2 * 63, f"protocol {j}")
        check(abs(j["bpw"] - 5.85) < 0.01, f"bpw {j['bpw']}")
        check(5 < j["ppl"] < 100, f"PPL {j['ppl']}")

    f32 = os.path.join(tmp, "f32.gguf")
    r = hone(["quantize", model, f32, "--type", "F32", "--allow-requantize", "-q"])
    check(r.returncode == 0, "-> F32")
    logits = os.path.join(tmp, "f32.logits")
    jr = eval_json([f32, "--text", TEXT, *ARGS, "--save-logits", logits])
    n_vocab = 49152
    nv = 2 * ((n_vocab + 1) // 2) + 4
    want = 8 + 12 + 4 * 2 * 128 + 2 * 63 * nv * 2
    check(os.path.exists(logits) and os.path.getsize(logits) == want,
          f"logits file size {os.path.getsize(logits) if os.path.exists(logits) else None}, want {want}")
    js = eval_json([model, "--text", TEXT, *ARGS, "--ref", f32])
    jf = eval_json([model, *ARGS, "--ref-logits", logits])
    if jr and js and jf:
        check(abs(js["ppl"] / jr["ppl"] - 1) < 0.02, f"Q4_1 PPL {js['ppl']} vs F32 {jr['ppl']}")
        check(js["ref_ppl"] == jr["ppl"], "side-by-side reference PPL is the reference's own")
        check(0 < js["kld_mean"] < 0.02 and js["kld_p99"] >= js["kld_median"], f"Q4_1 KLD {js['kld_mean']}")
        check(js["top1"] > 0.9, f"top-1 {js['top1']}")
        check(abs(jf["ppl"] - js["ppl"]) < 1e-9, "same PPL with saved logits")
        check(abs(jf["ref_ppl"] / js["ref_ppl"] - 1) < 1e-3, f"saved ref PPL {jf['ref_ppl']} vs {js['ref_ppl']}")
        check(abs(jf["kld_mean"] - js["kld_mean"]) < 0.1 * js["kld_mean"] + 2e-4,
              f"saved-logits KLD {jf['kld_mean']} vs side-by-side {js['kld_mean']}")
        check(abs(jf["top1"] - js["top1"]) <= 2 / 126 + 1e-9, "top-1 with saved logits")
    r = hone(["eval", model, "--text", TEXT, *ARGS])
    check(r.returncode == 0 and b"PPL" in r.stdout, "text output")
    report = os.path.join(tmp, "report.md")
    r = hone(["eval", "--report", report, model, f32, "--ref", f32, "--text", TEXT, "-c", "64", "--chunks", "2",
              "-t", "2"])
    check(r.returncode == 0, f"--report: exit {r.returncode}: {r.stderr.decode()[-300:]}")
    if r.returncode == 0:
        md = open(report).read()
        check(md.count("\n| ") == 3 and "f32.gguf" in md and os.path.basename(model) in md, f"report table:\n{md}")
        svg = open(os.path.join(tmp, "report.svg")).read()
        check(svg.startswith("<svg") and svg.count("<circle") == 2 and "f32.gguf" in svg, "report chart")
        check(not os.path.exists(report + ".ref.logits"), "report left its reference logits behind")
    r = hone(["eval", model, f32, "--text", TEXT])
    check(r.returncode == 1, "two models without --report: exit 1")
    return logits, jf


def test_llama(model, logits, jf):
    bin_dir = os.environ.get("LLAMA_BIN")
    if not bin_dir:
        print("LLAMA_BIN not set: llama-perplexity cross-check skipped")
        return
    env = dict(os.environ, LD_LIBRARY_PATH=bin_dir)
    r = subprocess.run([os.path.join(bin_dir, "llama-perplexity"), "-m", model, "--kl-divergence-base", logits,
                        "--kl-divergence", "-c", "128", "-b", "128", "-t", "2"], capture_output=True, timeout=900,
                       env=env)
    out = (r.stdout + r.stderr).decode(errors="replace")
    check(r.returncode == 0, f"llama-perplexity on hone's logits: exit {r.returncode}: {out[-500:]}")
    m = re.search(r"Mean\s+KLD:\s+([0-9.]+)", out)
    check(m is not None, "llama-perplexity printed no mean KLD")
    if m and jf:
        k = float(m.group(1))
        check(abs(k - jf["kld_mean"]) < 0.25 * jf["kld_mean"] + 5e-4, f"llama KLD {k} vs hone {jf['kld_mean']}")


def main():
    model = model_path()
    tmp = tempfile.mkdtemp(prefix="hone_cli_eval_")
    try:
        test_errors(tmp, model)
        if model is None or not os.path.exists(TEXT):
            print("default model or wiki.test.raw missing: model tests skipped")
            sys.exit(77 if not FAILS else 1)
        logits, jf = test_model(tmp, model)
        test_llama(model, logits, jf)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
