#!/usr/bin/env bash
# Thread scaling of the inference kernels (issue 22): decode and prefill tokens/s at 1 and 2 (or the given) threads
# for a SYNTHETIC Llama-3.2-1B shape (seeded random weights): dense fp32, dense bf16, and svd-llm and cospadi layers
# at ratio 0.3, each with libtorch held at one thread while the kernels run (the default) and, for comparison, with
# --keep-torch-threads. Prints one table row per run and, per configuration, the decode ratio of the most threads
# to one thread (issue 22's target: >= 1.7) beside the same ratio of the read bandwidth measured by those runs (decode
# is bound by memory, so it cannot scale past what the memory gives a second core), and the decode fraction of the
# run's own read-bandwidth ceiling.
# Usage: bench/threads.sh [path/to/lmshrink] [threads list, default "1 2"] [gen tokens, default 32]
# Run on an otherwise idle machine: every figure is one run, and a busy core halves them.
set -euo pipefail
BIN=${1:-build/lmshrink}
THREADS=${2:-1 2}
GEN=${3:-32}
MODEL=${MODEL:-synthetic:llama-3.2-1b}   # MODEL=synthetic:tiny for a quick check of the script
command -v jq > /dev/null || { echo "threads.sh: needs jq (apt-get install jq)" >&2; exit 1; }
[[ -x $BIN ]] || { echo "threads.sh: $BIN is not an executable lmshrink" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

CONFIGS=("dense fp32" "dense bf16" "svd-llm fp32" "cospadi fp32")
echo "| format | weights | libtorch threads | threads | prefill tok/s | decode tok/s | read GB/s | decode / read ceiling | peak RSS MB |"
echo "|---|---|---|---|---|---|---|---|---|"
for config in "${CONFIGS[@]}"; do
  read -r format weights <<< "$config"
  ratio_flags=()
  [[ $format != dense ]] && ratio_flags=(--ratio 0.3)
  for torch in one kept; do
    keep=()
    [[ $torch == kept ]] && keep=(--keep-torch-threads)
    for t in $THREADS; do
      json=$WORK/$format-$weights-$torch-$t.json
      "$BIN" --quiet bench "$MODEL" --format "$format" "${ratio_flags[@]}" --weights "$weights" \
        --gen-tokens "$GEN" --threads "$t" "${keep[@]}" --json "$json" > /dev/null 2>&1
      jq -r --arg f "$format" --arg w "$weights" --arg k "$torch" \
        '"| \($f) | \($w) | \($k) | \(.threads) | \(.prefill_tokens_per_second * 10 | round / 10) | \(.decode_tokens_per_second * 100 | round / 100) | \(.read_bandwidth_bytes_per_second / 1e8 | round / 10) | \(.fraction_of_read_ceiling * 100 | round / 100) | \(.peak_rss_bytes / 1e6 | round) |"' "$json"
    done
  done
done
first=${THREADS%% *}
last=${THREADS##* }
echo
for config in "${CONFIGS[@]}"; do
  read -r format weights <<< "$config"
  one=$(jq .decode_tokens_per_second "$WORK/$format-$weights-one-$first.json")
  most=$(jq .decode_tokens_per_second "$WORK/$format-$weights-one-$last.json")
  bw_one=$(jq .read_bandwidth_bytes_per_second "$WORK/$format-$weights-one-$first.json")
  bw_most=$(jq .read_bandwidth_bytes_per_second "$WORK/$format-$weights-one-$last.json")
  echo "$format $weights: decode at $last threads / $first thread = $(jq -n "$most / $one * 100 | round / 100")" \
    "(read bandwidth, same runs: $(jq -n "$bw_most / $bw_one * 100 | round / 100")x)"
done
