#!/usr/bin/env bash
# stories260K: sparse-dictionary methods against svd-llm at ratios 0.2..0.5 (issue 6 table).
# Variants: svd-llm, cospadi, cospadi --groups 2, compot, compot --alloc dynamic, compot --quantize int8.
# Calibration: TinyStories calib file, blocks protocol, 256 x 512 tokens, seed 0, one-shot, all 7
# projections, statistics cached once in $WORK/stats. Sizes: full accounting (index storage counted), so
# every variant fits the same 16-bit-word budget as svd-llm's rank r (r (in + out) words).
# Evaluation: gptq protocol, seq_len 512, first $EVAL_BYTES bytes (default 200000) of the TinyStories eval
# file (disjoint from the calib file). Also prints, per ratio and method, on how many of the 35 matrices the
# calibration-weighted error ‖X(W − Ŵ)‖²/‖XW‖² is above svd-llm's, and the decomposition seconds.
#   bench/dict_sweep.sh [build/lmshrink] [work dir, default /tmp/lmshrink_dict_sweep] [ratios, default "0.2 0.3 0.4 0.5"]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/lmshrink}
WORK=${2:-/tmp/lmshrink_dict_sweep}
RATIOS=${3:-0.2 0.3 0.4 0.5}
SHARED=../shared
MODEL=$SHARED/models/stories260K
TINY=$SHARED/data/tinystories/tinystories-valid-eval.txt
CALIB=$SHARED/data/tinystories/tinystories-valid-calib.txt
for f in "$MODEL/stories260K.bin" "$TINY" "$CALIB"; do
  [[ -f $f ]] || { echo "dict_sweep: missing $f" >&2; exit 1; }
done
command -v jq > /dev/null || { echo "dict_sweep: needs jq (apt-get install jq)" >&2; exit 1; }
mkdir -p "$WORK"
EVAL_BYTES=${EVAL_BYTES:-200000}
if [[ $EVAL_BYTES != 0 ]]; then
  head -c "$EVAL_BYTES" "$TINY" > "$WORK/tinystories-eval-head.txt" && TINY=$WORK/tinystories-eval-head.txt
fi

ppl() { "$BIN" --quiet eval "$1" --ppl "$2" --protocol gptq --seq-len 512 | sed -E 's/^ppl ([0-9.]+).*/\1/'; }

declare -A VARIANTS=(
  [svd-llm]="--method svd-llm"
  [cospadi]="--method cospadi"
  [cospadi-groups2]="--method cospadi --groups 2"
  [compot]="--method compot"
  [compot-dynamic]="--method compot --alloc dynamic"
  [compot-int8]="--method compot --quantize int8"
)
ORDER="svd-llm cospadi cospadi-groups2 compot compot-dynamic compot-int8"

table="$WORK/table.md"
{
  echo "| method | ratio | achieved (full / effective) | TinyStories eval ppl | decomposition s | matrices worse than svd-llm |"
  echo "|---|---|---|---|---|---|"
  echo "| dense | 0 | 0 | $(ppl "$MODEL" "$TINY") | | |"
} > "$table"
for ratio in $RATIOS; do
  for name in $ORDER; do
    out="$WORK/$name-$ratio"
    # shellcheck disable=SC2086
    "$BIN" --quiet compress "$MODEL" -o "$out" --force ${VARIANTS[$name]} --ratio "$ratio" --calib "$CALIB" \
      --calib-samples 256 --calib-seq-len 512 --seed 0 --stats-cache "$WORK/stats" --json "$out.json" > /dev/null
    achieved=$(jq -r '"\(.accounting.ratio_full * 10000 | round / 10000) / \(.accounting.ratio_effective * 10000 | round / 10000)"' "$out.json")
    seconds=$(jq -r '.seconds.decomposition * 100 | round / 100' "$out.json")
    worse=$(jq -n --slurpfile a "$out.json" --slurpfile b "$WORK/svd-llm-$ratio.json" \
      '($b[0].layers | map({(.name): .whitened_relative_error}) | add) as $ref |
       [$a[0].layers[] | select(.whitened_relative_error > $ref[.name] * (1 + 1e-9))] | length')
    echo "| $name | $ratio | $achieved | $(ppl "$out" "$TINY") | $seconds | $worse |" >> "$table"
    echo "done $name $ratio" >&2
  done
done
cat "$table"
