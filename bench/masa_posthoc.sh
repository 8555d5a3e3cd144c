#!/usr/bin/env bash
# stories260K post-hoc MASA (issue 10 table): shared attention atoms at --ratio 0.2 / 0.3 / 0.5 of the ATTENTION
# projections (q, k, v, o of all 5 layers), without and with the whitened residual (--masa-residual-rank auto), against
# svd-llm on the attention projections only at the same attention parameter count (--budget-bytes = 2 x the MASA run's
# attention params, so svd-llm's floored ranks keep at most as many). The MLPs, embeddings and norms stay dense.
# Calibration (residual and svd-llm): TinyStories calib file, blocks, 256 x 512 tokens, seed 0, one-shot, one cached set
# of statistics. Evaluation: gptq protocol, seq_len 512, first $EVAL_BYTES (200000) bytes of tinystories-valid-eval.txt.
#   bench/masa_posthoc.sh [build/lmshrink] [work dir, default /tmp/lmshrink_masa]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/lmshrink}
WORK=${2:-/tmp/lmshrink_masa}
SHARED=../shared
MODEL=$SHARED/models/stories260K
TINY=$SHARED/data/tinystories/tinystories-valid-eval.txt
CALIB=$SHARED/data/tinystories/tinystories-valid-calib.txt
for f in "$MODEL/stories260K.bin" "$TINY" "$CALIB"; do
  [[ -f $f ]] || { echo "masa_posthoc: missing $f" >&2; exit 1; }
done
mkdir -p "$WORK"
EVAL_BYTES=${EVAL_BYTES:-200000}
head -c "$EVAL_BYTES" "$TINY" > "$WORK/tinystories-eval-head.txt"
TINY=$WORK/tinystories-eval-head.txt
CAL=(--calib "$CALIB" --calib-samples 256 --calib-seq-len 512 --seed 0 --stats-cache "$WORK/stats")

ppl() { "$BIN" --quiet eval "$1" --ppl "$2" --protocol gptq --seq-len 512 | sed -E 's/^ppl ([0-9.]+).*/\1/'; }
field() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$1" "$2"; }
row() {  # label ratio dir
  local rec="$3/lmshrink_run.json"
  echo "| $1 | $2 | $(field "$rec" "r['compressed_linears']['params_after']") | $(field "$rec" "round(r['compressed_linears']['ratio'],4)") | $(field "$rec" "r['whole_model']['params_after']") | $(ppl "$3" "$TINY") |"
}

table="$WORK/table.md"
{
  echo "| method | requested ratio (attention) | attention params | achieved ratio (attention) | whole-model params | TinyStories eval ppl |"
  echo "|---|---|---|---|---|---|"
  echo "| dense | 0 | 61440 | 0 | 260032 | $(ppl "$MODEL" "$TINY") |"
} > "$table"
for ratio in 0.2 0.3 0.5; do
  for variant in plain residual; do
    out="$WORK/masa-$variant-$ratio"
    extra=(); [[ $variant == residual ]] && extra=(--masa-residual-rank auto)
    "$BIN" --quiet compress "$MODEL" -o "$out" --force --method masa --ratio "$ratio" "${extra[@]}" "${CAL[@]}" > /dev/null
    row "masa${extra[*]:+ + residual auto}" "$ratio" "$out" >> "$table"
    budget=$(( 2 * $(field "$out/lmshrink_run.json" "r['compressed_linears']['params_after']") ))
    svd="$WORK/svdllm-$variant-$ratio"
    "$BIN" --quiet compress "$MODEL" -o "$svd" --force --method svd-llm --targets attn --budget-bytes "$budget" "${CAL[@]}" > /dev/null
    row "svd-llm (attn only, same params as the row above)" "$ratio" "$svd" >> "$table"
    echo "done $variant $ratio" >&2
  done
done
cat "$table"
