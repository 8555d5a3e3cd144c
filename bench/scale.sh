#!/usr/bin/env bash
# Peak memory independent of depth (issue 20; DESIGN.md "Scale"). Synthesizes two seeded random-weight bf16 Llama
# checkpoints of equal width (hidden 1024, MLP 4096, 16/4 heads, vocab 512; SYNTHETIC) with 4 and 16 blocks, runs the
# same `compress --method svd-llm --ratio 0.2` (4 x 128 calibration tokens) on both, and prints each run's peak RSS,
# input and output bytes and the ratios. With --check it fails unless
#   |peak RSS(16) - peak RSS(4)| <= 10 % of the 12 extra blocks' float32 size, and
#   output bytes <= input bytes x (1 - achieved whole-model ratio) + 1 % for both.
# Usage: bench/scale.sh [--check] [path/to/lmshrink]   (run from the repository root; needs ../shared)
set -euo pipefail
CHECK=0
if [[ "${1:-}" == "--check" ]]; then CHECK=1; shift; fi
BIN=$(realpath "${1:-build/lmshrink}")
TOKENIZER=../shared/models/stories260K/tok512.bin
[[ -x "$BIN" ]] || { echo "scale.sh: $BIN is not an executable lmshrink" >&2; exit 1; }
[[ -f "$TOKENIZER" ]] || { echo "scale.sh: $TOKENIZER missing (the shared data folder is needed)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

field() { grep -o "\"$1\": *[0-9.e+-]*" "$2" | head -1 | sed 's/.*: *//'; }

declare -A RSS IN OUT KEPT
for LAYERS in 4 16; do
  MODEL="$WORK/synthetic-$LAYERS"
  "$BIN" --quiet synthesize --shape custom --hidden 1024 --layers "$LAYERS" --heads 16 --kv-heads 4 --mlp 4096 \
    --vocab 512 --dtype bf16 -o "$MODEL" > /dev/null
  cp "$TOKENIZER" "$MODEL/"
  "$BIN" --quiet compress "$MODEL" -o "$MODEL-svdllm" --method svd-llm --ratio 0.2 --calib-samples 4 \
    --calib-seq-len 128 --json "$WORK/record-$LAYERS.json" > /dev/null
  RECORD="$WORK/record-$LAYERS.json"
  RSS[$LAYERS]=$(field peak_rss_bytes "$RECORD")
  IN[$LAYERS]=$(field input_bytes "$RECORD")
  OUT[$LAYERS]=$(field output_bytes "$RECORD")
  WHOLE="$WORK/whole-$LAYERS"
  grep -A6 '"whole_model"' "$RECORD" > "$WHOLE"
  BEFORE=$(field params_before "$WHOLE")
  AFTER=$(field params_after "$WHOLE")
  KEPT[$LAYERS]=$(awk -v a="$AFTER" -v b="$BEFORE" 'BEGIN { printf "%.6f", a / b }')
  printf "layers %2d: peak RSS %8.1f MB, input %8.1f MB (bf16), output %8.1f MB, output/input %.4f (kept params %.4f)\n" \
    "$LAYERS" "$(awk -v x="${RSS[$LAYERS]}" 'BEGIN{print x/1e6}')" "$(awk -v x="${IN[$LAYERS]}" 'BEGIN{print x/1e6}')" \
    "$(awk -v x="${OUT[$LAYERS]}" 'BEGIN{print x/1e6}')" "$(awk -v o="${OUT[$LAYERS]}" -v i="${IN[$LAYERS]}" 'BEGIN{print o/i}')" \
    "${KEPT[$LAYERS]}"
done
# One block of this shape in float32: q 1024x1024, k and v 256x1024, o 1024x1024, gate/up/down 3 x 4096x1024.
BLOCK_F32=$(( (1024*1024*2 + 256*1024*2 + 4096*1024*3) * 4 ))
ALLOWED=$(( BLOCK_F32 * 12 / 10 ))
DIFF=$(( RSS[16] - RSS[4] )); DIFF=${DIFF#-}
printf "peak RSS 16 / 4 layers: %.3f; difference %.1f MB; allowed (10 %% of the 12 extra blocks in float32) %.1f MB\n" \
  "$(awk -v a="${RSS[16]}" -v b="${RSS[4]}" 'BEGIN{print a/b}')" "$(awk -v x="$DIFF" 'BEGIN{print x/1e6}')" \
  "$(awk -v x="$ALLOWED" 'BEGIN{print x/1e6}')"
if [[ $CHECK == 1 ]]; then
  FAIL=0
  (( DIFF <= ALLOWED )) || { echo "FAIL: peak memory grows with depth" >&2; FAIL=1; }
  for LAYERS in 4 16; do
    awk -v o="${OUT[$LAYERS]}" -v i="${IN[$LAYERS]}" -v k="${KEPT[$LAYERS]}" 'BEGIN { exit !(o <= i * k + 0.01 * i) }' ||
      { echo "FAIL: $LAYERS layers: output ${OUT[$LAYERS]} bytes exceeds input x kept + 1 %" >&2; FAIL=1; }
  done
  exit $FAIL
fi
