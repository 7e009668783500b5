#!/usr/bin/env bash
# quant_table.sh - the quantisation comparison table: every type/preset quantised by hone (and, when
# LLAMA_BIN names a llama.cpp build's bin directory, by llama-quantize) from the same F32 base,
# evaluated by `hone eval` against the base's saved log-probabilities with llama-perplexity's
# protocol; prints a Markdown table (issue 5's columns plus decode speed).
#
# The base is the F32 dequantisation of the default Q4_1 model (no unquantised model is reachable
# here): its weights lie on the Q4_1 grid, so the Q4_1 row (and types containing that grid) is
# nearly free and no evidence of quality. The table says so.
#
# Usage: bench/quant_table.sh > table.md          (progress on stderr)
# Settings (environment):
#   HONE     hone binary            (default: build/bin/hone)
#   MODEL    source model           (default: the cached default model)
#   TEXT     evaluation text        (default: ../shared/data/wikitext-2-raw/wiki.test.raw)
#   CHUNKS   chunks of CTX tokens   (default 40)      CTX (default 512)
#   THREADS  threads per command    (default 1)
#   TYPES    rows                   (default: Q8_0 Q6_K Q5_K_M Q4_K_M Q4_1 Q4_0 Q3_K_M Q2_K F16 BF16)
#   CALIB    a hone calibrate file: adds "+ calib" rows for CALIB_TYPES (default Q4_K_M Q3_K_M Q2_K Q4_0)
#   EXTRA    extra `hone quantize` rows as NAME=ARGS;NAME=ARGS (e.g. "Q4_0 rtn=--type Q4_0 --reference")
#   LLAMA_BIN llama.cpp bin directory: adds llama-quantize rows (evaluated by hone eval the same way)
#   DECODE   1 (default) measures decode tok/s with hone bench (-p 0 -n 32 -r 2); 0 skips it
#   WORK     working directory      (default: /tmp/hone_quant_table); files are reused when present
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
HONE=${HONE:-$here/build/bin/hone}
MODEL=${MODEL:-${HONE_CACHE:-$HOME/.cache/hone}/SmolLM2-135M-Instruct.Q4_1.gguf}
TEXT=${TEXT:-$here/../shared/data/wikitext-2-raw/wiki.test.raw}
CHUNKS=${CHUNKS:-40}
CTX=${CTX:-512}
THREADS=${THREADS:-1}
TYPES=${TYPES:-Q8_0 Q6_K Q5_K_M Q4_K_M Q4_1 Q4_0 Q3_K_M Q2_K F16 BF16}
CALIB_TYPES=${CALIB_TYPES:-Q4_K_M Q3_K_M Q2_K Q4_0}
DECODE=${DECODE:-1}
WORK=${WORK:-/tmp/hone_quant_table}
mkdir -p "$WORK"
log() { echo "quant_table: $*" >&2; }

base=$WORK/base-f32.gguf
[ -s "$base" ] || { log "F32 base from $MODEL"; "$HONE" quantize "$MODEL" "$base" --type F32 --allow-requantize -q -t "$THREADS"; }
logits=$WORK/base-c$CTX-n$CHUNKS.logits
if [ ! -s "$logits" ] || [ ! -s "$WORK/base.json" ]; then
    log "base log-probs ($CHUNKS x $CTX tokens)"
    "$HONE" eval "$base" --text "$TEXT" -c "$CTX" --chunks "$CHUNKS" -t "$THREADS" --save-logits "$logits" --json -q \
        > "$WORK/base.json"
fi

# row NAME FILE: evaluate FILE against the base, decode speed, JSON into $WORK/NAME.json
row() {
    local name=$1 file=$2 json=$WORK/$1.json
    if [ ! -s "$json" ]; then
        log "eval $name"
        "$HONE" eval "$file" --ref-logits "$logits" -c "$CTX" -t "$THREADS" --json -q > "$json.tmp"
        if [ "$DECODE" = 1 ]; then
            "$HONE" bench -m "$file" -p 0 -n 32 -r 2 -t "$THREADS" --json --no-bandwidth > "$WORK/$1.bench.json" || true
        fi
        mv "$json.tmp" "$json"
    fi
    echo "$name" >> "$WORK/rows.txt"
}

: > "$WORK/rows.txt"
quant() { # quant NAME ARGS...: hone quantize the base with ARGS into NAME.gguf, then row
    local name=$1
    shift
    local out=$WORK/$name.gguf
    [ -s "$out" ] || { log "hone quantize $name"; "$HONE" quantize "$base" "$out" "$@" -q -t "$THREADS"; }
    row "$name" "$out"
}

for t in $TYPES; do quant "hone $t" --type "$t"; done
if [ -n "${CALIB:-}" ]; then
    for t in $CALIB_TYPES; do quant "hone $t + calib" --type "$t" --calib "$CALIB"; done
fi
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
fi

python3 - "$WORK" "$CHUNKS" "$CTX" "$THREADS" <<'EOF'
import json, os, sys
work, chunks, ctx, threads = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
base = json.load(open(os.path.join(work, "base.json")))
print(f"Base: F32 dequantisation of the default model (SmolLM2-135M-Instruct Q4_1), PPL {base['ppl']:.4f} "
      f"+/- {base['ppl_unc']:.4f}. Its weights lie on the Q4_1 grid, so the Q4_1 row is nearly free and no evidence "
      f"of quality. Text: the first {chunks} chunks of {ctx} tokens of wiki.test.raw, second half of each scored "
      f"({base['n_scored']} tokens); every file evaluated by `hone eval --ref-logits` against the base's saved "
      f"log-probabilities. bpw = file bits / {base['n_params']/1e6:.1f} M parameters. Decode: hone bench tg32, "
      f"{threads} thread(s), on a shared machine.\n")
print("| file | MiB | bpw (file) | PPL | PPL ratio | mean KLD | p99 KLD | same top-1 % | RMS dp % | decode tok/s |")
print("|---|---|---|---|---|---|---|---|---|---|")
seen = set()
for name in open(os.path.join(work, "rows.txt")).read().split("\n"):
    if not name or name in seen:
        continue
    seen.add(name)
    j = json.load(open(os.path.join(work, name + ".json")))
    tg = ""
    bp = os.path.join(work, name + ".bench.json")
    if os.path.exists(bp):
        try:
            rows = [r for r in json.load(open(bp)) if r.get("n_gen", 0) > 0]
            tg = f"{rows[0]['avg_ts']:.1f}" if rows else ""
        except (ValueError, KeyError, IndexError):
            tg = ""
    print(f"| {name} | {j['file_mib']:.1f} | {j['bpw']:.2f} | {j['ppl']:.6f} | {j['ppl_ratio']:.6f} | "
          f"{j['kld_mean']:.6f} | {j['kld_p99']:.6f} | {100*j['top1']:.3f} | {100*j['rms_dp']:.3f} | {tg} |")
EOF
