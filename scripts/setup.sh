#!/usr/bin/env bash
# Quick start, command 1: install what is missing, build, and run the main job on the default model
# (../shared/models/stories260K): compress it with COMPOT at ratio 0.3 with int8 factors (TinyStories
# calibration), then print dense vs compressed perplexity, the bytes on disk of both, and a story from the
# compressed model. The choice of method is measured in docs/results.md ("Quick start choice").
#
# Sizes on disk compare model.safetensors files: the dense model converted to Hugging Face (float32, what
# `lmshrink convert` writes) against the compressed output (float32 except the int8 factors).
#
# Environment (for checking the script against another binary):
#   LMSHRINK=PATH   the lmshrink binary to run (default build/lmshrink)
#   SKIP_BUILD=1    skip scripts/install-deps.sh and scripts/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
LMSHRINK=${LMSHRINK:-build/lmshrink}
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  bash scripts/install-deps.sh
  bash scripts/build.sh
fi
model=../shared/models/stories260K
calib=../shared/data/tinystories/tinystories-valid-calib.txt
text=../shared/data/tinystories/tinystories-valid-eval.txt
dense=build/stories260K-hf
out=build/stories260K-compot-int8-30
for f in "$model/stories260K.bin" "$calib" "$text"; do
  [ -f "$f" ] || { echo "setup: missing $f (../shared beside the checkout)"; exit 1; }
done
mkdir -p build

echo "== compress: compot, ratio 0.3, int8 factors, calibration 256 x 512 TinyStories tokens =="
"$LMSHRINK" compress "$model" -o "$out" --force --method compot --quantize int8 --ratio 0.3 \
  --calib "$calib" --calib-seq-len 512
echo "== dense model as Hugging Face safetensors (float32), to compare bytes on disk =="
"$LMSHRINK" convert "$model" -o "$dense" --force

echo "== perplexity (gptq protocol, seq 512, TinyStories eval text) =="
ppl_of() {  # prints the eval line, keeps the perplexity in $ppl
  local line
  line=$("$LMSHRINK" --quiet eval "$1" --ppl "$text" --protocol gptq --seq-len 512)
  printf '%-40s %s\n' "$1" "$line"
  ppl=$(awk '$1 == "ppl" { print $2 }' <<< "$line")
}
ppl_of "$dense"; dense_ppl=$ppl
ppl_of "$out"; out_ppl=$ppl

dense_bytes=$(stat -c %s "$dense/model.safetensors")
out_bytes=$(stat -c %s "$out/model.safetensors")
echo "== summary =="
printf '%-12s %14s %12s\n' model "bytes on disk" perplexity
printf '%-12s %14s %12s\n' dense "$dense_bytes" "$dense_ppl"
printf '%-12s %14s %12s\n' compressed "$out_bytes" "$out_ppl"
awk -v d="$dense_bytes" -v c="$out_bytes" -v pd="$dense_ppl" -v pc="$out_ppl" 'BEGIN {
  printf "compressed: %.1f %% smaller on disk, perplexity %+.1f %% against dense\n", 100 * (1 - c / d), 100 * (pc / pd - 1) }'

echo "== generate from the compressed model (greedy, 128 steps) =="
"$LMSHRINK" --quiet generate "$out" --prompt "Once upon a time" --steps 128
echo
