"""test_cli_quant_act.py - `hone quantize --act` (activation quantisation modes) end to end.

  - the default model -> Q4_0 (reference quantisers, fast) with --act int8-token and with
    --act int8-static --calib (statistics of 256 tokens of wiki.calib.raw), with and without
    --act-clip 99.99: the metadata holds hone.act.mode and, for static, one positive scale per
    weight matrix (equal for Q/K/V and gate/up, none for token mode); the clipped scales are not
    above the max-based ones; `hone run` generates with every file, and the greedy text of at least
    one mode differs from the dynamic file's;
  - a mixed plan (--output-type F16) leaves the float matrix alone and says so;
  - requantising a static file without --act drops the hone.act.* keys (the output is dynamic);
  - --smooth 0.7 (SmoothQuant migration) with static: every group considered is scaled, the
    ffn_down activation scales come down (its calibration maxima reach ~3000, the outliers the
    migration moves into the weights), and the KL divergence from the default model on 256 tokens is
    below 0.8x the unsmoothed static file's (measured: 0.52 against 1.06);
  - errors exit 1 with a message and leave no output file: static without --calib, --act for float
    weights (F16), an unknown mode, --act-clip without static, --smooth without --calib, --smooth
    with --awq, --smooth with --act-clip, --smooth outside (0, 1].
Skips (77) when the default model is not cached. About 15 s in a Release build with -t 2.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from clitest import HONE, FAILS, check, model_path

PROMPT = "The capital of France is"
CALIB_TEXT = os.path.join(os.environ.get("HONE_SHARED", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                      "../../../shared")),
                          "data/wikitext-2-raw/wiki.calib.raw")


def hone(args, timeout=300):
    r = subprocess.run([HONE, *args], capture_output=True, timeout=timeout)
    check(r.returncode >= 0, f"hone {args}: killed by signal {-r.returncode}")
    return r


def metadata(path):
    r = hone(["info", path, "--json"])
    check(r.returncode == 0, f"hone info {path}: exit {r.returncode}")
    try:
        return {kv["key"]: kv["value"] for kv in json.loads(r.stdout)["metadata"]}
    except (ValueError, KeyError):
        return {}


def quantize(model, out, *extra):
    r = hone(["quantize", model, out, "--type", "Q4_0", "--allow-requantize", "--reference", "-t", "2", "--json",
              *extra])
    check(r.returncode == 0, f"quantize {extra}: exit {r.returncode}: {r.stderr.decode()[-300:]}")
    try:
        return json.loads(r.stdout) if r.returncode == 0 else None
    except ValueError:
        return None


def greedy(path):
    r = hone(["run", "-m", path, "-p", PROMPT, "-n", "16", "--temp", "0", "-t", "2", "--json"])
    check(r.returncode == 0, f"hone run -m {path}: exit {r.returncode}: {r.stderr.decode()[-300:]}")
    try:
        ids = json.loads(r.stdout).get("completion_ids", [])
    except ValueError:
        ids = []
    check(len(ids) > 0, f"{path}: nothing generated")
    return ids


def eval_kld(path):
    """mean KL divergence of path from the default model over 2 x 128 tokens of the calibration text"""
    r = hone(["eval", path, "--text", CALIB_TEXT, "--chunks", "2", "-c", "128", "--ref", model_path(), "-t", "2",
              "--json"])
    check(r.returncode == 0, f"eval {path}: exit {r.returncode}: {r.stderr.decode()[-300:]}")
    try:
        return float(json.loads(r.stdout)["kld_mean"])
    except (ValueError, KeyError, TypeError):
        check(False, f"eval {path}: no kld_mean in {r.stdout[:300]!r}")
        return float("inf")


def scales(meta):
    return {k[len("hone.act.scale."):]: v for k, v in meta.items() if k.startswith("hone.act.scale.")}


def test_errors(tmp, model, stats):
    out = os.path.join(tmp, "err.gguf")
    cases = [(["--type", "Q4_0", "--act", "int8-static"], b"--calib"),
             (["--type", "F16", "--act", "int8-token"], b"float"),
             (["--type", "F16", "--act", "int8-static", "--calib", stats], b"float"),
             (["--type", "Q4_0", "--act", "int8-sometimes"], b"int8-sometimes"),
             (["--type", "Q4_0", "--act", "int8-token", "--act-clip", "99.9"], b"--act-clip"),
             (["--type", "Q4_0", "--smooth", "0.7"], b"--calib"),
             (["--type", "Q4_0", "--smooth", "0.7", "--awq", "--calib", stats], b"--smooth"),
             (["--type", "Q4_0", "--act", "int8-static", "--calib", stats, "--smooth", "0.7", "--act-clip", "99.9"],
              b"--act-clip"),
             (["--type", "Q4_0", "--smooth", "1.5", "--calib", stats], b"--smooth")]
    for args, needle in cases:
        r = hone(["quantize", model, out, "--allow-requantize", "-t", "2", *args])
        check(r.returncode == 1, f"quantize {args}: exit {r.returncode}, expected 1")
        check(b"hone quantize:" in r.stderr and needle in r.stderr, f"quantize {args}: message {r.stderr[-300:]!r}")
        check(not os.path.exists(out), f"quantize {args}: left an output file")


def main():
    model = model_path()
    if model is None:
        print("default model not cached: skipped")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="hone_cli_act_")
    try:
        stats = os.path.join(tmp, "stats.gguf")
        r = hone(["calibrate", model, "--text", CALIB_TEXT, "-o", stats, "-c", "128", "--chunks", "2", "-t", "2"])
        check(r.returncode == 0, f"calibrate: exit {r.returncode}: {r.stderr.decode()[-300:]}")
        test_errors(tmp, model, stats)

        paths = {m: os.path.join(tmp, m + ".gguf") for m in ("dyn", "tok", "st", "clip", "mixed", "again")}
        js = {"dyn": quantize(model, paths["dyn"]),
              "tok": quantize(model, paths["tok"], "--act", "int8-token"),
              "st": quantize(model, paths["st"], "--act", "int8-static", "--calib", stats),
              "clip": quantize(model, paths["clip"], "--act", "int8-static", "--calib", stats, "--act-clip", "99.99")}
        if js["tok"]:
            check(js["tok"]["act"] == "int8-token" and js["tok"]["act_matrices"] == 211,
                  f"token: {js['tok'].get('act')} for {js['tok'].get('act_matrices')} matrices (30 x 7 + output)")
        meta = {k: metadata(p) for k, p in paths.items() if k in js}
        check("hone.act.mode" not in meta["dyn"], "dynamic file has an activation mode key")
        check(meta["tok"].get("hone.act.mode") == "int8-token" and not scales(meta["tok"]), "token metadata")
        for k in ("st", "clip"):
            s = scales(meta[k])
            check(meta[k].get("hone.act.mode") == "int8-static", f"{k}: mode key")
            check(len(s) == 211 and all(v > 0 for v in s.values()), f"{k}: {len(s)} scales, expected 211 positive")
            for il in (0, 17, 29):
                q, kk, v = (s.get(f"blk.{il}.attn_{x}.weight") for x in "qkv")
                check(q is not None and q == kk == v, f"{k}: layer {il} Q/K/V scales {q} {kk} {v}")
                g, u = s.get(f"blk.{il}.ffn_gate.weight"), s.get(f"blk.{il}.ffn_up.weight")
                check(g is not None and g == u, f"{k}: layer {il} gate/up scales {g} {u}")
        s_max, s_clip = scales(meta["st"]), scales(meta["clip"])
        check(s_max and all(s_clip[n] <= s_max[n] for n in s_max), "clipped scales above the max-based ones")
        check(any(s_clip[n] < s_max[n] for n in s_max), "--act-clip 99.99 changed no scale")

        sm = os.path.join(tmp, "smooth.gguf")
        j = quantize(model, sm, "--act", "int8-static", "--calib", stats, "--smooth", "0.7")
        if j:
            # every group considered is scaled (no search); of the 90 groups (30 layers x QKV, gate/up,
            # down) the requantised file considers 87
            check((j.get("channel_scale_groups") or 0) >= 80 and j.get("channel_scaled_groups") == j.get(
                "channel_scale_groups"), f"--smooth: {j.get('channel_scaled_groups')} of "
                  f"{j.get('channel_scale_groups')} groups scaled, expected all of at least 80")
            s_sm = scales(metadata(sm))
            downs = [n for n in s_max if "ffn_down" in n]
            check(len(downs) == 30 and max(s_sm[n] for n in downs) < 0.5 * max(s_max[n] for n in downs),
                  "--smooth: the largest ffn_down activation scale did not come down by half")
            kld = {k: eval_kld(p) for k, p in (("st", paths["st"]), ("sm", sm))}
            check(kld["sm"] < 0.8 * kld["st"], f"--smooth: KLD {kld['sm']} not below 0.8 x unsmoothed {kld['st']}")

        ids = {k: greedy(paths[k]) for k in ("dyn", "tok", "st", "clip")}
        check(any(ids[k] != ids["dyn"] for k in ("tok", "st", "clip")), "no mode changed the greedy text")

        j = quantize(model, paths["mixed"], "--act", "int8-token", "--output-type", "F16")
        if j:
            check(j["act_float_matrices"] == 1 and j["act_matrices"] == 210, f"mixed plan: {j.get('act_matrices')}")
            notes = [t.get("note", "") for t in j["tensors"] if t["name"] == "token_embd.weight"]
            check(notes and "float" in notes[0], f"mixed plan: the F16 output matrix's note {notes}")
            greedy(paths["mixed"])
        r = hone(["quantize", paths["st"], paths["again"], "--type", "Q4_0", "--allow-requantize", "-t", "2", "-q"])
        check(r.returncode == 0 and not any(k.startswith("hone.act.") for k in metadata(paths["again"])),
              "requantised static file kept hone.act.* keys")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
