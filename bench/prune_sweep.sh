#!/usr/bin/env bash
# Depth pruning on stories260K (5 blocks) and aidreams260K (4 blocks), removing 1 and 2 blocks with
# replaceme (lstsq and cosine objectives), uidl and shortgpt (issue 8 table).
# Calibration: TinyStories calib file, blocks protocol, 256 samples x the model context (512 tokens for
# stories260K, 128 for aidreams260K), seed 0; selection on the last token (replaceme, uidl) or all
# tokens (shortgpt, Block Influence); cosine: Adam lr 1e-4, 10 epochs, 1024-token batches.
# Evaluation: gptq protocol, seq_len = the model context, on the first $EVAL_BYTES bytes (default
# 200000) of the TinyStories eval file (disjoint from the calib file), and on $SAMPLES texts sampled
# from the dense model itself (temperature 1, seeds 1..$SAMPLES, one context each, prompt "Once upon a
# time" / "I dreamed"): aidreams260K was trained on dream texts that are not stored here, so its own
# samples are the only in-domain text; their perplexity measures how far pruning moves the model from
# the dense one. Prints a Markdown table (also written to $WORK/table.md).
#   bench/prune_sweep.sh [build/lmshrink] [work dir, default /tmp/lmshrink_prune_sweep]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/lmshrink}
THREADS=${THREADS:-1}  # one thread: OpenMP barriers stall when the other core is busy (docs/results.md)
WORK=${2:-/tmp/lmshrink_prune_sweep}
SHARED=../shared
TINY=$SHARED/data/tinystories/tinystories-valid-eval.txt
CALIB=$SHARED/data/tinystories/tinystories-valid-calib.txt
for f in "$SHARED/models/stories260K/stories260K.bin" "$SHARED/models/aidreams260K/aidreams260K.bin" "$TINY" "$CALIB"; do
  [[ -f $f ]] || { echo "prune_sweep: missing $f" >&2; exit 1; }
done
mkdir -p "$WORK"
EVAL_BYTES=${EVAL_BYTES:-200000}
if [[ $EVAL_BYTES != 0 ]]; then
  head -c "$EVAL_BYTES" "$TINY" > "$WORK/tinystories-eval-head.txt" && TINY=$WORK/tinystories-eval-head.txt
fi

SAMPLES=${SAMPLES:-60}

ppl() {  # model text seq_len -> perplexity
  "$BIN" --quiet --threads "$THREADS" eval "$1" --ppl "$2" --protocol gptq --seq-len "$3" | sed -E 's/^ppl ([0-9.]+).*/\1/'
}

table="$WORK/table.md"
{
  echo "| model | blocks removed | method | removed blocks | layers | params | TinyStories eval ppl | dense-sample ppl |"
  echo "|---|---|---|---|---|---|---|---|"
} > "$table"
for spec in "stories260K:512:5:Once upon a time" "aidreams260K:128:4:I dreamed"; do
  IFS=: read -r name ctx layers prompt <<< "$spec"
  model=$SHARED/models/$name/$name.bin
  own="$WORK/$name-dense-samples.txt"
  : > "$own"
  for seed in $(seq 1 "$SAMPLES"); do
    "$BIN" --quiet --threads "$THREADS" generate "$model" --prompt "$prompt" --temperature 1 --seed "$seed" \
      --steps "$ctx" >> "$own" 2> /dev/null
    printf '\n\n' >> "$own"
  done
  echo "| $name | 0 | dense | — | $layers | $("$BIN" --quiet --threads "$THREADS" inspect "$model" --json "$WORK/$name-inspect.json" > /dev/null && \
    sed -nE 's/.*"total_params": ([0-9]+).*/\1/p' "$WORK/$name-inspect.json" | head -1) | $(ppl "$model" "$TINY" "$ctx") | $(ppl "$model" "$own" "$ctx") |" >> "$table"
  for blocks in 1 2; do
    for variant in replaceme-lstsq replaceme-cosine uidl shortgpt; do
      case $variant in
        replaceme-lstsq) flags="--method replaceme --objective lstsq" ;;
        replaceme-cosine) flags="--method replaceme --objective cosine" ;;
        *) flags="--method $variant" ;;
      esac
      out="$WORK/$name-$variant-$blocks"
      # shellcheck disable=SC2086
      "$BIN" --quiet --threads "$THREADS" prune "$model" -o "$out" --force $flags --blocks "$blocks" \
        --calib "$CALIB" --calib-samples 256 --calib-seq-len "$ctx" --seed 0 > "$out.log"
      removed=$(sed -nE 's/.*"removed": "([^"]*)".*/\1/p' "$out/lmshrink_run.json" | head -1)
      params=$(sed -nE 's/.*"params_after": ([0-9]+).*/\1/p' "$out/lmshrink_run.json" | head -1)
      echo "| $name | $blocks | $variant | $removed | $((layers - blocks)) | $params | $(ppl "$out" "$TINY" "$ctx") | $(ppl "$out" "$own" "$ctx") |" >> "$table"
      echo "done $name $variant $blocks" >&2
    done
  done
done
cat "$table"
