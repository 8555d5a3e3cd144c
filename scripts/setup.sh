#!/usr/bin/env bash
# Quick start, command 1: install what is missing, build, and run the main job on the default
# model (../shared/models/stories260K): compress it with SVD-LLM at 30 % (TinyStories calibration),
# then print dense vs compressed perplexity and size, and a story from the compressed model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
model=../shared/models/stories260K
calib=../shared/data/tinystories/tinystories-valid-calib.txt
text=../shared/data/tinystories/tinystories-valid-eval.txt
out=build/stories260K-svd-llm-30
for f in "$model/stories260K.bin" "$calib" "$text"; do
  [ -f "$f" ] || { echo "setup: missing $f (../shared beside the checkout)"; exit 1; }
done
echo "== compress: svd-llm, ratio 0.3, calibration 256 x 512 TinyStories tokens =="
build/lmshrink compress "$model" -o "$out" --force --method svd-llm --ratio 0.3 --calib "$calib" --calib-seq-len 512
echo "== perplexity (gptq protocol, seq 512, TinyStories eval text) =="
for m in "$model" "$out"; do
  printf '%-40s ' "$m"
  build/lmshrink eval "$m" --ppl "$text" --protocol gptq --seq-len 512
done
echo "== size =="
for m in "$model" "$out"; do
  printf '%-40s ' "$m"
  build/lmshrink inspect "$m" | grep "total params"
done
echo "== generate from the compressed model (greedy, 128 steps) =="
build/lmshrink generate "$out" --prompt "Once upon a time" --steps 128
