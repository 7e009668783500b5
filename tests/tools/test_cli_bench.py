"""test_cli_bench.py - `hone bench` end to end, on a tiny workload.

Checks what a user of the numbers relies on, not the speeds themselves (those
depend on the machine and are never asserted beyond being positive):
  - --json is an array with one pp and one tg object per thread count, each with
    llama-bench's fields (avg_ts, stddev_ts, samples_ts, n_threads, ...); the mean
    and sd are those of the samples; the tg row's bytes/token follows the stated
    formula (tied-output model: every tensor once, plus one embedding row, plus
    the KV cache read over (n+1)/2 positions) and GB/s and % roofline follow from
    it and the measured bandwidth; the peak RSS excludes the bandwidth buffer;
  - the default output is a Markdown table, whose header states the formula;
  - bad arguments exit 1, a missing or malformed model file exits 2.
Skips (77) the model-dependent parts when the default model is not cached.
"""
import json
import math
import os
import subprocess
import sys
import tempfile

from clitest import HONE, FAILS, check, model_path


def hone(args):
    r = subprocess.run([HONE, "bench", *args], capture_output=True, timeout=600)
    check(r.returncode >= 0, f"hone bench {args}: killed by signal {-r.returncode}")
    return r


def close(a, b, rel=1e-3):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-12)


def test_usage():
    for args in (["-r", "0"], ["-t", "0"], ["-t", "1,x"], ["-t", ""], ["-p", "0", "-n", "0"], ["-p", "-5"],
                 ["--frobnicate"], ["extra-arg"]):
        r = hone(args)
        check(r.returncode == 1, f"{args}: exit {r.returncode}, expected 1 ({r.stderr.decode()[:200]})")
        check(b"hone bench:" in r.stderr, f"{args}: no 'hone bench:' message on stderr")
    r = hone(["--help"])
    check(r.returncode == 0 and b"--no-bandwidth" in r.stdout, "--help: exit 0 with the options")


def test_bad_model():
    r = hone(["-m", "/nonexistent/model.gguf", "-p", "4", "-n", "2", "-r", "1", "-t", "1"])
    check(r.returncode == 2, f"nonexistent model: exit {r.returncode}, expected 2")
    check(b"/nonexistent/model.gguf" in r.stderr, "nonexistent model: message names the file")
    with tempfile.NamedTemporaryFile(suffix=".gguf") as f:
        f.write(b"not a gguf file at all" * 10)
        f.flush()
        r = hone(["-m", f.name, "-p", "4", "-n", "2", "-r", "1", "-t", "1", "--no-bandwidth"])
        check(r.returncode == 2, f"malformed model: exit {r.returncode}, expected 2")


def test_json(model):
    r = hone(["-m", model, "-p", "16", "-n", "8", "-r", "2", "-t", "1", "--json"])
    check(r.returncode == 0, f"--json: exit {r.returncode}: {r.stderr.decode()[-500:]}")
    try:
        rows = json.loads(r.stdout)
    except ValueError as e:
        check(False, f"--json: not JSON ({e}): {r.stdout[:300]!r}")
        return
    check(isinstance(rows, list) and len(rows) == 2, f"--json: expected 2 rows, got {rows!r:.300}")
    if not isinstance(rows, list) or len(rows) != 2:
        return
    pp, tg = rows
    check(pp.get("test") == "pp16" and pp.get("n_prompt") == 16 and pp.get("n_gen") == 0, f"pp row: {pp}")
    check(tg.get("test") == "tg8" and tg.get("n_prompt") == 0 and tg.get("n_gen") == 8, f"tg row: {tg}")
    size = os.path.getsize(model)
    for row in rows:
        name = row.get("test")
        for key in ("model_filename", "model_type", "model_size", "model_n_params", "n_threads", "avg_ts",
                    "stddev_ts", "samples_ts", "gbps", "membw_gbps", "roofline_pct", "peak_rss_bytes"):
            check(key in row, f"{name}: field {key} missing")
        if any(k not in row for k in ("avg_ts", "stddev_ts", "samples_ts", "model_size", "peak_rss_bytes")):
            continue
        check(row["n_threads"] == 1, f"{name}: n_threads {row['n_threads']}")
        check(row["model_filename"] == model, f"{name}: model_filename {row['model_filename']}")
        check(0.9 * size < row["model_size"] <= size, f"{name}: model_size {row['model_size']} vs file {size}")
        check(130e6 < row["model_n_params"] < 140e6, f"{name}: model_n_params {row['model_n_params']}")
        s = row["samples_ts"]
        check(len(s) == 2 and all(x > 0 for x in s), f"{name}: samples_ts {s}")
        if len(s) == 2:
            mean = sum(s) / 2
            sd = math.sqrt(sum((x - mean) ** 2 for x in s))  # n-1 = 1
            check(close(row["avg_ts"], mean), f"{name}: avg_ts {row['avg_ts']} is not the samples' mean {mean}")
            check(abs(row["stddev_ts"] - sd) <= 1e-3 * mean, f"{name}: stddev_ts {row['stddev_ts']} != {sd}")
        check(row["membw_gbps"] is not None and row["membw_gbps"] > 0, f"{name}: membw_gbps {row['membw_gbps']}")
        # The 512 MiB bandwidth buffer lives in a child process, never in ours.
        check(0 < row["peak_rss_bytes"] < 400 * 2**20, f"{name}: peak_rss_bytes {row['peak_rss_bytes']}")
    check(pp.get("gbps") is None and pp.get("roofline_pct") is None, "pp row: GB/s applies only to tg")

    # SmolLM2 ties its output matrix to the embedding table, so a generated
    # token reads every tensor once plus one embedding row (576 Q8_0 values:
    # 18 blocks of 34 bytes), and K and V of 30 layers x 3 heads x 64 dims in
    # F16 over (8+1)/2 positions on average.
    if "weight_bytes_per_token" in tg and "kv_bytes_per_token" in tg:
        check(tg["weight_bytes_per_token"] == tg["model_size"] + 18 * 34,
              f"tg: weight_bytes_per_token {tg['weight_bytes_per_token']} != model_size + one row")
        check(close(tg["kv_bytes_per_token"], 30 * 3 * 128 * 2 * 4.5),
              f"tg: kv_bytes_per_token {tg['kv_bytes_per_token']}")
        check(close(tg["bytes_per_token"], tg["weight_bytes_per_token"] + tg["kv_bytes_per_token"]),
              "tg: bytes_per_token != weights + KV")
    else:
        check(False, f"tg: weight/kv bytes fields missing: {tg}")
    if all(isinstance(tg.get(k), (int, float)) for k in ("bytes_per_token", "avg_ts", "gbps", "membw_gbps",
                                                          "roofline_pct")):
        check(close(tg["gbps"], tg["bytes_per_token"] * tg["avg_ts"] / 1e9), "tg: gbps != bytes/token x tok/s")
        check(close(tg["roofline_pct"], 100 * tg["gbps"] / tg["membw_gbps"]), "tg: roofline_pct inconsistent")
        check(tg["roofline_pct"] > 0, f"tg: roofline_pct {tg['roofline_pct']}")


def test_markdown(model):
    r = hone(["-m", model, "-p", "8", "-n", "4", "-r", "1", "-t", "1,1", "--no-bandwidth"])
    check(r.returncode == 0, f"markdown: exit {r.returncode}: {r.stderr.decode()[-500:]}")
    out = r.stdout.decode()
    lines = out.splitlines()
    check(any(l.startswith("bytes/token (tg)") for l in lines), "markdown: no bytes/token formula in the header")
    check(not any(l.startswith("read bandwidth (membw") for l in lines),
          "markdown: --no-bandwidth still measured the bandwidth")
    table = [l for l in lines if l.startswith("|")]
    check(len(table) == 4, f"markdown: expected header, separator and 2 rows (-t 1,1 is one count):\n{out}")
    if len(table) == 4:
        head = [c.strip() for c in table[0].strip("|").split("|")]
        check(head == ["model", "size", "params", "type", "threads", "test", "t/s", "GB/s", "% roofline"],
              f"markdown: header {head}")
        check(set(table[1].replace("|", "").replace(" ", "")) <= set("-:"), f"markdown: separator {table[1]}")
        pp = [c.strip() for c in table[2].strip("|").split("|")]
        tg = [c.strip() for c in table[3].strip("|").split("|")]
        check(pp[5] == "pp8" and tg[5] == "tg4", f"markdown: tests {pp[5]}, {tg[5]}")
        check(float(tg[6].split("±")[0]) > 0 and float(tg[7]) > 0, f"markdown: tg row {tg}")
        check(tg[8] == "-", f"markdown: % roofline without a bandwidth measurement: {tg[8]}")


def main():
    test_usage()
    test_bad_model()
    model = model_path()
    if model is None:
        print(f"{len(FAILS)} failures; model-dependent checks skipped: default model not cached")
        return 1 if FAILS else 77
    test_json(model)
    test_markdown(model)
    print(f"{len(FAILS)} failures")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
