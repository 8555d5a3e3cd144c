#!/usr/bin/env bash
# stories260K perplexity after svd / asvd / svd-llm at ratios 0.1..0.5 (issue 5 table).
# Calibration: TinyStories calib file, blocks protocol, 256 x 512 tokens, seed 0, one-shot, all 7
# projections; statistics cached once in $WORK/stats so the sweep calibrates once.
# Evaluation: gptq protocol, seq_len 512, on the first $EVAL_BYTES bytes (default 200000) of the
# TinyStories eval file (disjoint from the calib file) and of WikiText-2 test: the whole files take
# ~3.5 minutes per model on 2 cores; EVAL_BYTES=0 uses them whole. Prints a Markdown table (also
# written to $WORK/table.md).
#   bench/lowrank_sweep.sh [build/lmshrink] [work dir, default /tmp/lmshrink_sweep]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/lmshrink}
WORK=${2:-/tmp/lmshrink_sweep}
SHARED=../shared
MODEL=$SHARED/models/stories260K
TINY=$SHARED/data/tinystories/tinystories-valid-eval.txt
WIKI=$SHARED/data/wikitext2/wiki.test.raw
CALIB=$SHARED/data/tinystories/tinystories-valid-calib.txt
for f in "$MODEL/stories260K.bin" "$TINY" "$WIKI" "$CALIB"; do
  [[ -f $f ]] || { echo "lowrank_sweep: missing $f" >&2; exit 1; }
done
mkdir -p "$WORK"
EVAL_BYTES=${EVAL_BYTES:-200000}
if [[ $EVAL_BYTES != 0 ]]; then
  head -c "$EVAL_BYTES" "$TINY" > "$WORK/tinystories-eval-head.txt" && TINY=$WORK/tinystories-eval-head.txt
  head -c "$EVAL_BYTES" "$WIKI" > "$WORK/wiki-test-head.txt" && WIKI=$WORK/wiki-test-head.txt
fi

ppl() {  # model text -> perplexity
  "$BIN" --quiet eval "$1" --ppl "$2" --protocol gptq --seq-len 512 | sed -E 's/^ppl ([0-9.]+).*/\1/'
}

table="$WORK/table.md"
{
  echo "| method | ratio | achieved ratio (linears) | whole-model params | TinyStories eval ppl | WikiText-2 ppl |"
  echo "|---|---|---|---|---|---|"
  echo "| dense | 0 | 0 | 260,032 | $(ppl "$MODEL" "$TINY") | $(ppl "$MODEL" "$WIKI") |"
} > "$table"
for method in svd asvd svd-llm; do
  for ratio in 0.1 0.2 0.3 0.4 0.5; do
    out="$WORK/$method-$ratio"
    line=$("$BIN" --quiet compress "$MODEL" -o "$out" --force --method "$method" --ratio "$ratio" \
      --calib "$CALIB" --calib-samples 256 --calib-seq-len 512 --seed 0 --stats-cache "$WORK/stats" | head -1)
    # "... (ratio 0.3000 requested, 0.3046 achieved); whole model 260032 -> 196000 params ..."
    achieved=$(sed -E 's/.*requested, ([0-9.]+) achieved.*/\1/' <<< "$line")
    params=$(sed -E 's/.*whole model [0-9]+ -> ([0-9]+) params.*/\1/' <<< "$line")
    achieved="$achieved | $params"
    echo "| $method | $ratio | $achieved | $(ppl "$out" "$TINY") | $(ppl "$out" "$WIKI") |" >> "$table"
    echo "done $method $ratio" >&2
  done
done
cat "$table"
