"""test_cli_info.py - `hone info` on the default model and on vocab-only files.

Checks the text and --json outputs against the file itself: the tensor count,
types and parameter count are recomputed from the JSON tensor table (and, when
the `gguf` Python package is installed, from an independent reader), so the
test asserts consistency with the file rather than numbers copied from a run.
Skips (77) when the default model is not cached.
"""
import json
import os
import subprocess
import sys

from clitest import HONE, FAILS, check, SHARED, model_path



def hone(*args):
    r = subprocess.run([HONE, *args], capture_output=True, timeout=120)
    check(r.returncode >= 0, f"hone {' '.join(args)}: killed by signal {-r.returncode}")
    return r


def main():
    if not os.access(HONE, os.X_OK):
        print(f"hone binary not found at {HONE}")
        return 1

    # Vocab-only files: valid GGUF without tensors.
    vocab = os.path.join(SHARED, "golden/tokenizer/ggml-vocab-gpt-2.gguf")
    if os.path.exists(vocab):
        r = hone("info", "--json", vocab)
        check(r.returncode == 0, f"info vocab-only: rc {r.returncode} {r.stderr!r}")
        if r.returncode == 0:
            d = json.loads(r.stdout)
            check(d["totals"]["tensors"] == 0 and d["tensors"] == [], "vocab-only file has no tensors")
            keys = {m["key"]: m for m in d["metadata"]}
            check(keys.get("tokenizer.ggml.model", {}).get("value") == "gpt2", "tokenizer.ggml.model = gpt2")

    model = model_path()
    if not model:
        print("default model not cached: skipping the model checks (run `hone pull`)")
        return 1 if FAILS else 77

    # --- JSON ----------------------------------------------------------
    r = hone("info", "--json", "-m", model)
    check(r.returncode == 0, f"info --json rc {r.returncode}: {r.stderr!r}")
    jt = subprocess.run([sys.executable, "-m", "json.tool"], input=r.stdout, capture_output=True)
    check(jt.returncode == 0, "info --json output parses with python3 -m json.tool")
    d = json.loads(r.stdout)
    check(d["size"] == os.path.getsize(model), "size equals the file size")
    check(d["version"] in (2, 3), "GGUF version 2 or 3")
    tensors = d["tensors"]
    check(len(tensors) == 272, f"272 tensors (got {len(tensors)})")
    check(d["totals"]["tensors"] == len(tensors), "totals.tensors matches the table")
    params = 0
    by_type = {}
    for t in tensors:
        n = 1
        for x in t["shape"]:
            n *= x
        params += n
        by_type[t["type"]] = by_type.get(t["type"], 0) + 1
    check(params == d["totals"]["parameters"], f"parameter count {d['totals']['parameters']} == sum of shapes {params}")
    check(130e6 < params < 140e6, f"parameter count ~134.5M (got {params})")
    check(by_type.get("Q4_1", 0) > 200, f"mostly Q4_1 tensors ({by_type})")
    check({k: v["tensors"] for k, v in d["totals"]["types"].items()} == by_type, "per-type counts match the table")
    total_bytes = sum(t["bytes"] for t in tensors)
    check(total_bytes == d["totals"]["bytes"], "totals.bytes is the sum of tensor bytes")
    bpw = 8 * total_bytes / params
    check(abs(d["totals"]["bits_per_weight"] - bpw) < 1e-9 and 4.5 < bpw < 8.5, f"bits per weight {bpw}")
    check(sum(t["bytes"] for t in tensors) < d["size"], "tensor bytes fit in the file")
    keys = {m["key"]: m for m in d["metadata"]}
    toks = keys["tokenizer.ggml.tokens"]["value"]
    check(toks["n"] == 49152 and toks["truncated"] and len(toks["items"]) < 49152, "token array summarised")
    check(toks["items"][:3] == ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], "first tokens")
    check(keys["general.architecture"]["value"] == "llama", "architecture llama")

    # --full gives whole arrays.
    r = hone("info", "--json", "--full", model)
    full = json.loads(r.stdout)
    ftoks = {m["key"]: m for m in full["metadata"]}["tokenizer.ggml.tokens"]["value"]
    check(len(ftoks["items"]) == 49152 and not ftoks["truncated"], "--full shows every token")

    # Independent reader, when available.
    try:
        import gguf  # noqa: F401
        from gguf import GGUFReader
    except Exception:
        GGUFReader = None
    if GGUFReader:
        rd = GGUFReader(model)
        check(len(rd.tensors) == len(tensors), "tensor count agrees with the gguf package")
        ref = {t.name: (t.tensor_type.name, int(t.n_elements), int(t.n_bytes)) for t in rd.tensors}
        mine = {t["name"]: (t["type"], 0, t["bytes"]) for t in tensors}
        for name, (ty, n, nb) in ref.items():
            if name not in mine:
                check(False, f"tensor {name} missing")
                continue
            check(mine[name][0] == ty and mine[name][2] == nb, f"tensor {name}: {mine[name]} vs gguf {ty} {nb}")
        check(sum(v[1] for v in ref.values()) == params, "parameter count agrees with the gguf package")

    # --- text ----------------------------------------------------------
    r = hone("info", model)
    check(r.returncode == 0, "info (text) rc 0")
    out = r.stdout.decode()
    check("tensors     272" in out, "text shows 272 tensors")
    check(f"parameters    {params} " in out, "text shows the parameter count")
    check("[49152 strings]" in out, "text summarises the token array")
    check("Q4_1" in out and "Q8_0" in out, "text names the tensor types")
    lines = [l for l in out.splitlines() if l.startswith("  blk.") or l.startswith("  token_embd") or l.startswith("  output")]
    check(len(lines) == 272, f"one table row per tensor ({len(lines)})")

    # -m and MODEL are the same; both at once is a usage error.
    r2 = hone("info", "-m", model)
    check(r2.stdout == r.stdout, "-m MODEL and MODEL give the same output")
    check(hone("info", "-m", model, model).returncode == 1, "-m and MODEL together: exit 1")

    print(f"{len(FAILS)} failures")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
