#!/usr/bin/env bash
# Quick start, command 1: install what is missing, build, and run the main job on the default
# model (../shared/models/stories260K): generate a story and measure perplexity.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
model=../shared/models/stories260K
[ -f "$model/stories260K.bin" ] || { echo "setup: missing $model/stories260K.bin (../shared beside the checkout)"; exit 1; }
echo "== generate (greedy, 256 steps) =="
build/lmshrink generate "$model" --prompt "Once upon a time" --steps 256
echo "== perplexity =="
for protocol in gptq llamacpp; do
  build/lmshrink eval "$model" --ppl "$model/eval_tinystories_valid_6stories.txt" --protocol "$protocol" --seq-len 512
done
