#!/usr/bin/env bash
# compare_llama.sh - hone bench against llama-bench on the same GGUF file and
# thread counts, run interleaved, with the ratio of their speeds.
#
# On a shared or thermally limited machine speeds drift over minutes, so the
# two programs alternate (hone, llama, hone, llama, ... for R rounds) and each
# side's figure is the median over all its runs: drift then hits both alike,
# and one disturbed run cannot move a median. Each invocation does its own
# warm-up. llama-bench runs only when LLAMA_BENCH points at its binary.
#
# usage: [LLAMA_BENCH=/path/to/llama-bench] [HONE=/path/to/hone] bench/compare_llama.sh
#            [-m MODEL] [-p 512] [-n 128] [-t 1,2] [-r ROUNDS=3] [-k REPS_PER_RUN=1] [-o OUTDIR] [-s]
# -s: run nothing, only summarise the JSON already in OUTDIR (-o) from an earlier run.
# Prints a Markdown table: threads, test, median tok/s of hone and llama.cpp,
# hone/llama, and hone's % of the measured bandwidth roofline (tg rows).
# The raw JSON of every run is kept in OUTDIR (default: a temporary directory).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${HONE_CACHE:-${XDG_CACHE_HOME:+$XDG_CACHE_HOME/hone}}"
model="${HONE_MODEL:-${cache:-$HOME/.cache/hone}/SmolLM2-135M-Instruct.Q4_1.gguf}"
n_prompt=512 n_gen=128 threads=1,2 rounds=3 reps=1 outdir="" summarise_only=0

usage() { sed -n '11,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 1; }
while getopts "m:p:n:t:r:k:o:sh" opt; do
    case "$opt" in
        m) model="$OPTARG" ;;
        p) n_prompt="$OPTARG" ;;
        n) n_gen="$OPTARG" ;;
        t) threads="$OPTARG" ;;
        r) rounds="$OPTARG" ;;
        k) reps="$OPTARG" ;;
        o) outdir="$OPTARG" ;;
        s) summarise_only=1 ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
for v in "$n_prompt" "$n_gen" "$rounds" "$reps"; do
    [[ "$v" =~ ^[0-9]+$ ]] || { echo "compare_llama.sh: expected a number, got '$v'" >&2; exit 1; }
done
[[ "$threads" =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "compare_llama.sh: -t wants N,M,..., got '$threads'" >&2; exit 1; }
[ "$rounds" -ge 1 ] && [ "$reps" -ge 1 ] || { echo "compare_llama.sh: -r and -k must be >= 1" >&2; exit 1; }
if [ "$summarise_only" = 1 ] && { [ -z "$outdir" ] || [ ! -d "$outdir" ]; }; then
    echo "compare_llama.sh: -s needs -o OUTDIR, an existing directory" >&2
    exit 1
fi
[ "$summarise_only" = 1 ] || [ -r "$model" ] || { echo "compare_llama.sh: cannot read model '$model' (-m)" >&2; exit 2; }

hone="${HONE:-}"
if [ -z "$hone" ]; then
    for c in "${HONE_BIN:+$HONE_BIN/hone}" "$here/../build/bin/hone"; do
        [ -n "$c" ] && [ -x "$c" ] && { hone="$c"; break; }
    done
    [ -n "$hone" ] || hone="$(command -v hone || true)"
fi
[ -n "$hone" ] && [ -x "$hone" ] || { echo "compare_llama.sh: no hone binary (set HONE=/path/to/hone)" >&2; exit 2; }
llama="${LLAMA_BENCH:-}"
if [ -n "$llama" ] && [ ! -x "$llama" ]; then
    echo "compare_llama.sh: LLAMA_BENCH='$llama' is not executable" >&2
    exit 2
fi

if [ -z "$outdir" ]; then
    outdir="$(mktemp -d "${TMPDIR:-/tmp}/compare_llama.XXXXXX")"
fi
mkdir -p "$outdir"

hone_cmd=("$hone" bench -m "$model" -p "$n_prompt" -n "$n_gen" -t "$threads" -r "$reps" --json)
llama_cmd=("$llama" -m "$model" -p "$n_prompt" -n "$n_gen" -t "$threads" -r "$reps" -o json)
if [ "$summarise_only" = 1 ]; then
    # every round the earlier run left, whatever -r says now
    rounds=$(find "$outdir" -maxdepth 1 -name 'hone.*.json' | wc -l)
    echo "summary of $rounds round(s) in $outdir"
else
    echo "model:  $model"
    echo "hone:   ${hone_cmd[*]}"
    [ -n "$llama" ] && echo "llama:  ${llama_cmd[*]}"
    echo "rounds: $rounds, interleaved; raw JSON in $outdir"
fi
echo

for ((i = 1; i <= rounds && !summarise_only; i++)); do
    echo "round $i/$rounds: hone" >&2
    "${hone_cmd[@]}" >"$outdir/hone.$i.json" 2>"$outdir/hone.$i.log" \
        || { echo "compare_llama.sh: hone bench failed (see $outdir/hone.$i.log)" >&2; exit 3; }
    if [ -n "$llama" ]; then
        echo "round $i/$rounds: llama-bench" >&2
        "${llama_cmd[@]}" >"$outdir/llama.$i.json" 2>"$outdir/llama.$i.log" \
            || { echo "compare_llama.sh: llama-bench failed (see $outdir/llama.$i.log)" >&2; exit 3; }
    fi
done

python3 - "$outdir" "$rounds" <<'EOF'
import glob, json, os, statistics, sys

outdir, rounds = sys.argv[1], int(sys.argv[2])

def load(prefix):
    """{(threads, 'pp512'|'tg128'): [tok/s of every run]} and hone's roofline %."""
    speeds, roof = {}, {}
    for i in range(1, rounds + 1):
        path = os.path.join(outdir, f"{prefix}.{i}.json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            rows = json.load(f)
        for r in rows:
            test = f"pp{r['n_prompt']}" if r["n_prompt"] > 0 else f"tg{r['n_gen']}"
            key = (r["n_threads"], test)
            speeds.setdefault(key, []).extend(r.get("samples_ts") or [r["avg_ts"]])
            if r.get("roofline_pct") is not None:
                roof.setdefault(key, []).append(r["roofline_pct"])
    return speeds, roof

hone, roof = load("hone")
llama, _ = load("llama")
have_llama = bool(llama)
med = lambda xs: statistics.median(xs) if xs else None
fmt = lambda x: "-" if x is None else f"{x:.2f}"

print("| threads | test | hone tok/s | llama.cpp tok/s | hone/llama | hone % roofline |")
print("| ------: | ---- | ---------: | --------------: | ---------: | --------------: |")
for key in sorted(set(hone) | set(llama), key=lambda k: (k[0], k[1][:2] != "pp", k[1])):
    h, l = med(hone.get(key, [])), med(llama.get(key, []))
    ratio = f"{h / l:.2f}x" if h and l else "-"
    r = med(roof.get(key, []))
    print(f"| {key[0]} | {key[1]} | {fmt(h)} | {fmt(l) if have_llama else 'n/a'} | {ratio} | "
          f"{'-' if r is None else f'{r:.1f}'} |")
print()
print(f"medians over {rounds} interleaved round(s); each cell pools every repetition of every round")
print("ratio > 1: hone is faster")
EOF
