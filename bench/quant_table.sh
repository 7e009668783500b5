#!/usr/bin/env bash
# quant_table.sh - the quantisation comparison table (docs/quantization.md): every type/preset
# quantised by hone without and with calibration, hone's textbook schemes, and (when LLAMA_BIN names
# a llama.cpp build's bin directory) llama-quantize's files without and, where llama-imatrix is
# there, with an importance matrix - all from the same F32 base, all evaluated by `hone eval` against
# the base's saved log-probabilities with llama-perplexity's protocol. Writes a Markdown document
# (issue 5's columns plus decode speed) and an SVG chart (bits per weight against mean KLD).
#
# The base is the F32 dequantisation of the default Q4_1 model (no unquantised model is reachable
# here): its weights lie on the Q4_1 grid, so the Q4_1 row (and types containing that grid) is
# nearly free and no evidence of quality. The document says so.
#
# Usage: bench/quant_table.sh                      (progress on stderr; OUT and SVG below)
# Settings (environment):
#   HONE       hone binary            (default: build/bin/hone)
#   MODEL      source model           (default: the cached default model)
#   TEXT       evaluation text        (default: ../shared/data/wikitext-2-raw/wiki.test.raw)
#   CALIB_TEXT calibration text       (default: ../shared/data/wikitext-2-raw/wiki.calib.raw)
#   CALIB      a hone calibrate file  (default: made here from CALIB_TEXT, 8 x 512 tokens)
#   CHUNKS     chunks of CTX tokens   (default 40)      CTX (default 512)
#   THREADS    threads per command    (default 1)
#   TYPES      rows without calibration
#              (default: Q8_0 Q6_K Q5_K_M Q5_1 Q5_0 Q4_K_M Q4_1 Q4_0 IQ4_NL Q3_K_M Q2_K F16 BF16)
#   CALIB_TYPES rows with calibration (default: TYPES less F16/BF16, which calibration cannot change)
#   SCHEMES    textbook scheme rows as SCHEME[:GROUP] (default: every --scheme per output channel
#              and per group of 32: int8 asym8 asym4 asym4:32 asym3:32 asym2:32 log4:32 log3:32),
#              each also "+ calib" (clipping searched on the importances) when CALIB_TYPES is set
#   MIX        mixed-precision rows: target bits per weight, e.g. "5.56 6.27" (default none: each
#              costs one measured forward pass per weight matrix), calibrated, measured on CALIB_TEXT
#              (--mp-ctx 128 --mp-chunks 2)
#   EXTRA      extra `hone quantize` rows as NAME=ARGS;NAME=ARGS (e.g. "Q4_0 rtn=--type Q4_0 --reference")
#   LLAMA_BIN  llama.cpp bin directory: llama-quantize rows for TYPES (and "+ imatrix" rows for
#              CALIB_TYPES when LLAMA_BIN has llama-imatrix)
#   DECODE     1 (default) measures decode tok/s with hone bench (-p 0 -n 32 -r 3) where WORK has no
#              figure yet; 0 skips it (run again later with DECODE=1 to time the rows on a quiet machine)
#   WORK       working directory      (default: /tmp/hone_quant_table); files are reused when present
#   OUT        Markdown output        (default: stdout)    SVG: chart (default: OUT with .svg, or WORK/chart.svg)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
HONE=${HONE:-$here/build/bin/hone}
MODEL=${MODEL:-${HONE_CACHE:-$HOME/.cache/hone}/SmolLM2-135M-Instruct.Q4_1.gguf}
TEXT=${TEXT:-$here/../shared/data/wikitext-2-raw/wiki.test.raw}
CALIB_TEXT=${CALIB_TEXT:-$here/../shared/data/wikitext-2-raw/wiki.calib.raw}
CHUNKS=${CHUNKS:-40}
CTX=${CTX:-512}
THREADS=${THREADS:-1}
TYPES=${TYPES:-Q8_0 Q6_K Q5_K_M Q5_1 Q5_0 Q4_K_M Q4_1 Q4_0 IQ4_NL Q3_K_M Q2_K F16 BF16}
if [ -z "${CALIB_TYPES+x}" ]; then
    CALIB_TYPES=""
    for t in $TYPES; do case $t in F32 | F16 | BF16) ;; *) CALIB_TYPES="$CALIB_TYPES $t" ;; esac; done
fi
SCHEMES=${SCHEMES-int8 asym8 asym4 asym4:32 asym3:32 asym2:32 log4:32 log3:32}
DECODE=${DECODE:-1}
WORK=${WORK:-/tmp/hone_quant_table}
OUT=${OUT:-}
if [ -z "${SVG:-}" ]; then
    if [ -n "$OUT" ]; then SVG=${OUT%.md}.svg; else SVG=$WORK/chart.svg; fi
fi
mkdir -p "$WORK"
log() { echo "quant_table: $(date +%H:%M:%S) $*" >&2; }

base=$WORK/base-f32.gguf
[ -s "$base" ] || { log "F32 base from $MODEL"; "$HONE" quantize "$MODEL" "$base" --type F32 --allow-requantize -q -t "$THREADS"; }
logits=$WORK/base-c$CTX-n$CHUNKS.logits
if [ ! -s "$logits" ] || [ ! -s "$WORK/base.json" ]; then
    log "base log-probs ($CHUNKS x $CTX tokens)"
    "$HONE" eval "$base" --text "$TEXT" -c "$CTX" --chunks "$CHUNKS" -t "$THREADS" --save-logits "$logits" --json -q \
        > "$WORK/base.json"
fi
if [ -n "$CALIB_TYPES" ] && [ -z "${CALIB:-}" ]; then
    CALIB=$WORK/calib.gguf
    [ -s "$CALIB" ] || { log "hone calibrate over $CALIB_TEXT"; "$HONE" calibrate "$base" --text "$CALIB_TEXT" -o "$CALIB" -q -t "$THREADS"; }
fi

# row NAME FILE: evaluate FILE against the base, decode speed, JSON into $WORK/NAME.json
row() {
    local name=$1 file=$2 json=$WORK/$1.json
    if [ ! -s "$json" ]; then
        log "eval $name"
        "$HONE" eval "$file" --ref-logits "$logits" -c "$CTX" -t "$THREADS" --json -q > "$json.tmp"
        mv "$json.tmp" "$json"
    fi
    # separately, so that a later quiet run (DECODE=1 over a WORK of evaluated rows) times only this
    if [ "$DECODE" = 1 ] && [ ! -s "$WORK/$1.bench.json" ]; then
        log "decode $name"
        "$HONE" bench -m "$file" -p 0 -n 32 -r 3 -t "$THREADS" --json --no-bandwidth > "$WORK/$1.bench.json" || true
    fi
    echo "$name" >> "$WORK/rows.txt"
}

: > "$WORK/rows.txt"
quant() { # quant NAME ARGS...: hone quantize the base with ARGS into NAME.gguf (plan as JSON), then row
    local name=$1
    shift
    local out=$WORK/$name.gguf
    [ -s "$out" ] || { log "hone quantize $name"; "$HONE" quantize "$base" "$out" "$@" -q --json -t "$THREADS" > "$WORK/$name.quant.json"; }
    row "$name" "$out"
}

for t in $TYPES; do quant "hone $t" --type "$t"; done
for t in $CALIB_TYPES; do quant "hone $t + calib" --type "$t" --calib "$CALIB"; done
for s in $SCHEMES; do
    if [[ $s == *:* ]]; then quant "hone scheme ${s%%:*} g${s#*:}" --scheme "${s%%:*}" --group "${s#*:}"
    else quant "hone scheme $s per channel" --scheme "$s"; fi
done
if [ -n "$CALIB_TYPES" ]; then
    for s in $SCHEMES; do
        if [[ $s == *:* ]]; then quant "hone scheme ${s%%:*} g${s#*:} + calib" --scheme "${s%%:*}" --group "${s#*:}" --calib "$CALIB"
        else quant "hone scheme $s per channel + calib" --scheme "$s" --calib "$CALIB"; fi
    done
fi
for b in ${MIX:-}; do
    quant "hone mix $b bpw + calib" --type Q4_K_M --target-bpw "$b" --calib "$CALIB" --mp-text "$CALIB_TEXT" \
        --mp-ctx 128 --mp-chunks 2
done
if [ -n "${EXTRA:-}" ]; then
    IFS=';' read -ra extras <<< "$EXTRA"
    for e in "${extras[@]}"; do
        # shellcheck disable=SC2086
        quant "hone ${e%%=*}" ${e#*=}
    done
fi
if [ -n "${LLAMA_BIN:-}" ]; then
    for t in $TYPES; do
        out="$WORK/llama $t.gguf"
        [ -s "$out" ] || { log "llama-quantize $t"; LD_LIBRARY_PATH=$LLAMA_BIN "$LLAMA_BIN/llama-quantize" "$base" "$out" "$t" "$THREADS" > "$WORK/llama-quantize.log" 2>&1; }
        row "llama $t" "$out"
    done
    if [ -x "$LLAMA_BIN/llama-imatrix" ] && [ -n "$CALIB_TYPES" ]; then
        imat=$WORK/llama.imatrix
        [ -s "$imat" ] || { log "llama-imatrix over $CALIB_TEXT"; LD_LIBRARY_PATH=$LLAMA_BIN "$LLAMA_BIN/llama-imatrix" -m "$base" -f "$CALIB_TEXT" -o "$imat" -c "$CTX" --chunks 8 -t "$THREADS" > "$WORK/llama-imatrix.log" 2>&1; }
        for t in $CALIB_TYPES; do
            out="$WORK/llama $t + imatrix.gguf"
            [ -s "$out" ] || { log "llama-quantize $t + imatrix"; LD_LIBRARY_PATH=$LLAMA_BIN "$LLAMA_BIN/llama-quantize" --imatrix "$imat" "$base" "$out" "$t" "$THREADS" > "$WORK/llama-quantize.log" 2>&1; }
            row "llama $t + imatrix" "$out"
        done
    fi
fi

python3 - "$WORK" "$CHUNKS" "$CTX" "$THREADS" "$SVG" "$(basename "$SVG")" "$([ -x "${LLAMA_BIN:-/nonexistent}/llama-imatrix" ] && echo 1 || echo 0)" "${LLAMA_BIN:-}" > "${OUT:-/dev/stdout}" <<'EOF'
import json, math, os, sys
work, chunks, ctx, threads, svg_path, svg_name, has_imatrix, llama_bin = sys.argv[1:9]
base = json.load(open(os.path.join(work, "base.json")))
rows = []
seen = set()
for name in open(os.path.join(work, "rows.txt")).read().split("\n"):
    if not name or name in seen:
        continue
    seen.add(name)
    j = json.load(open(os.path.join(work, name + ".json")))
    q = {}
    qp = os.path.join(work, name + ".quant.json")
    if os.path.exists(qp):
        try:
            q = json.load(open(qp))
        except ValueError:
            q = {}
    tg = ""
    bp = os.path.join(work, name + ".bench.json")
    if os.path.exists(bp):
        try:
            r = [r for r in json.load(open(bp)) if r.get("n_gen", 0) > 0]
            tg = f"{r[0]['avg_ts']:.1f}" if r else ""
        except (ValueError, KeyError, IndexError):
            tg = ""
    rows.append((name, j, q, tg))

print("# Quantisation: quality against size, hone and llama.cpp\n")
print("Generated by `bench/quant_table.sh` (rerun it to refresh; settings in its header). "
      "See docs/quantize.md for the commands and how each quantiser works.\n")
print("## Protocol\n")
print(f"- **Base (reference):** the F32 dequantisation of the default model (SmolLM2-135M-Instruct, shipped as "
      f"Q4_1), PPL {base['ppl']:.4f} +/- {base['ppl_unc']:.4f}. No unquantised small model is reachable from this "
      f"machine, so every figure is relative to this base. Its weights lie on the Q4_1 grid: **the Q4_1 rows, and "
      f"asym4 per group of 32 (the same grid), are nearly free and no evidence of quality.**")
print(f"- **Text:** the first {chunks} chunks of {ctx} tokens of `wiki.test.raw`, second half of each chunk scored "
      f"({base['n_scored']} tokens), llama-perplexity's protocol. Every file, hone's and llama.cpp's, is evaluated by "
      f"`hone eval --ref-logits` against the base's saved log-probabilities, so the rows compare like with like.")
print("- **Calibration** (\"+ calib\"): `hone calibrate` over 8 chunks of 512 tokens of `wiki.calib.raw` (does not "
      "overlap the test text); `hone quantize --calib`. llama.cpp's \"+ imatrix\" rows: `llama-imatrix` over the same "
      "text, when the llama.cpp build has it" + ("." if has_imatrix == "1" else
      " (this run's build has no llama-imatrix, so those rows are missing here; the issue's own llama.cpp figures "
      "with imatrix, 40 x 512, are quoted in docs/quantize.md)."))
print(f"- **bpw** = file bits / {base['n_params']/1e6:.1f} M parameters (metadata and the tied 49152 x 576 embedding "
      f"included). Textbook schemes (`--scheme`) are stored in hone's own tensor types (docs/formats.md): hone runs "
      f"them, llama.cpp cannot load them. Their \"+ calib\" rows keep the formula and narrow each group's (or "
      f"row's) range where the importance-weighted error says clipping an extreme weight pays.")
if any(n.startswith("hone mix") for n, _, _, _ in rows):
    print("- **hone mix B bpw + calib:** `--target-bpw B` with calibration: a type per weight matrix chosen by "
          "measuring each matrix's effect on the output over `wiki.calib.raw` (docs/quantize.md), within B bits "
          "per weight.")
print(f"- **Decode:** `hone bench` tg32, {threads} thread(s), on a shared 2-core machine (noisy; compare loosely).")
print(f"- llama.cpp rows: {'llama-quantize from ' + llama_bin if llama_bin else 'not run (no LLAMA_BIN)'}.")
print("- Few chunks make the figures noisy (compare rows with each other, not with other protocols). The issue's "
      "quality floors (calibrated Q4_K_M, Q3_K_M, Q2_K against llama.cpp with imatrix) are measured at 40 x 512 "
      "in docs/quantize.md, as is `--awq`.\n")
print("## Table\n")
print("| file | MiB | bpw | PPL | PPL ratio | mean KLD | p99 KLD | same top-1 % | RMS dp % | decode tok/s |")
print("|---|---|---|---|---|---|---|---|---|---|")
for name, j, q, tg in rows:
    print(f"| {name} | {j['file_mib']:.1f} | {j['bpw']:.2f} | {j['ppl']:.4f} | {j['ppl_ratio']:.4f} | "
          f"{j['kld_mean']:.6f} | {j['kld_p99']:.5f} | {100*j['top1']:.2f} | {100*j['rms_dp']:.3f} | {tg} |")
print()
print(f"![bits per weight against mean KLD]({svg_name})\n")

# SVG: bpw (x, linear) against mean KLD (y, log scale), one labelled point per row
W, H, L, R, T, B = 900, 560, 70, 20, 30, 50
pts = []
for name, j, q, tg in rows:
    k = j["kld_mean"]
    if k > 0:
        pts.append((j["bpw"], k, name))
xs = [p[0] for p in pts] or [1, 2]
ys = [math.log10(p[1]) for p in pts] or [-3, 0]
x0, x1 = math.floor(min(xs)) - 0.5, math.ceil(max(xs)) + 0.5
y0, y1 = math.floor(min(ys)), math.ceil(max(ys))
if y1 == y0:
    y1 = y0 + 1
sx = lambda v: L + (v - x0) / (x1 - x0) * (W - L - R)
sy = lambda v: T + (y1 - math.log10(v)) / (y1 - y0) * (H - T - B)
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
       f'<rect width="{W}" height="{H}" fill="white"/>']
for e in range(int(y0), int(y1) + 1):
    y = sy(10 ** e)
    out.append(f'<line x1="{L}" y1="{y:.1f}" x2="{W-R}" y2="{y:.1f}" stroke="#ddd"/>'
               f'<text x="{L-6}" y="{y+4:.1f}" text-anchor="end">1e{e}</text>')
for v in range(int(math.ceil(x0)), int(x1) + 1):
    x = sx(v)
    out.append(f'<line x1="{x:.1f}" y1="{T}" x2="{x:.1f}" y2="{H-B}" stroke="#eee"/>'
               f'<text x="{x:.1f}" y="{H-B+16}" text-anchor="middle">{v}</text>')
out.append(f'<text x="{(L+W-R)/2}" y="{H-10}" text-anchor="middle">bits per weight</text>')
out.append(f'<text x="16" y="{(T+H-B)/2}" transform="rotate(-90 16 {(T+H-B)/2})" text-anchor="middle">'
           f'mean KLD vs F32 base (log)</text>')
for bpw, k, name in pts:
    col = "#d62728" if name.startswith("llama") else ("#2ca02c" if "scheme" in name else "#1f77b4")
    x, y = sx(bpw), sy(k)
    label = name.replace("hone ", "").replace("&", "&amp;")
    out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{col}"/>'
               f'<text x="{x+6:.1f}" y="{y-4:.1f}" fill="{col}">{label}</text>')
out.append(f'<text x="{L}" y="18" font-size="13">blue: hone, green: hone textbook schemes, red: llama.cpp</text>')
out.append("</svg>")
with open(svg_path, "w") as f:
    f.write("\n".join(out) + "\n")
EOF
log "done"
