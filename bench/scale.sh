#!/usr/bin/env bash
# Peak memory independent of depth (issue 20; DESIGN.md "Scale"). Synthesizes two seeded random-weight bf16 Llama
# checkpoints of equal width (hidden 1024, MLP 4096, 16/4 heads, vocab 512; SYNTHETIC) with 4 and 16 blocks, runs the
# same streaming commands on both and prints each command's peak RSS on the two models and their difference:
#   compress --method svd-llm --ratio 0.2 (4 x 128 calibration tokens; also input and output bytes and their ratio),
#   profile (ROCKET, rates 0.2, ks 1) with --stats-cache (a miss: the statistics are written to the cache block by
#   block, then read back from it), prune --method replaceme --blocks 1 (16 x 128 tokens), eval --ppl --kernels
#   reference (gptq windows of 128 over 8 kB of TinyStories), export --dense (of the compressed model).
# With --check it fails unless, for every command,
#   |peak RSS(16) - peak RSS(4)| <= 10 % of the 12 extra blocks' float32 size, and, for compress,
#   output bytes <= input bytes x (1 - achieved whole-model ratio) + 1 % on both models.
# Not here, by nature: generate, bench and eval --kernels fast hold every block packed for the kernels (in the file's
# dtype; one copy) and generate a KV cache per block; heal trains every block's factors at once (backpropagation
# through the whole model).
# Every command runs on one thread (--threads 1, which also sets OpenBLAS's pool): memory does not depend on it, and
# beside the other tests of a CI run two threads per command made it 3x slower.
# Peak RSS comes from GNU time (/usr/bin/time, Debian package `time`).
# Usage: bench/scale.sh [--check] [path/to/lmshrink]   (run from the repository root; needs ../shared)
set -euo pipefail
CHECK=0
if [[ "${1:-}" == "--check" ]]; then CHECK=1; shift; fi
BIN=$(realpath "${1:-build/lmshrink}")
TOKENIZER=../shared/models/stories260K/tok512.bin
TEXT=../shared/data/tinystories/tinystories-valid-eval.txt
[[ -x "$BIN" ]] || { echo "scale.sh: $BIN is not an executable lmshrink" >&2; exit 1; }
[[ -f "$TOKENIZER" && -f "$TEXT" ]] || { echo "scale.sh: $TOKENIZER or $TEXT missing (the shared data folder is needed)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "scale.sh: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
head -c 8000 "$TEXT" > "$WORK/eval.txt"

field() { grep -o "\"$1\": *[0-9.e+-]*" "$2" | head -1 | sed 's/.*: *//'; }
mb() { awk -v x="$1" 'BEGIN { printf "%.1f", x / 1e6 }'; }

# peak_rss NAME LAYERS COMMAND...: runs the command quietly and stores its peak RSS in bytes in RSS[NAME-LAYERS].
declare -A RSS SECONDS_OF IN OUT KEPT
peak_rss() {
  local name=$1 layers=$2; shift 2
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" > "$WORK/log" 2>&1 ||
    { cat "$WORK/log" >&2; echo "scale.sh: $name on $layers layers failed" >&2; exit 1; }
  read -r SECONDS_OF[$name-$layers] KB < <(tail -1 "$WORK/time")
  RSS[$name-$layers]=$(( KB * 1024 ))
}

COMMANDS=(compress profile prune eval export)
for LAYERS in 4 16; do
  MODEL="$WORK/synthetic-$LAYERS"
  "$BIN" --quiet synthesize --shape custom --hidden 1024 --layers "$LAYERS" --heads 16 --kv-heads 4 --mlp 4096 \
    --vocab 512 --dtype bf16 -o "$MODEL" > /dev/null
  cp "$TOKENIZER" "$MODEL/"
  RECORD="$WORK/record-$LAYERS.json"
  peak_rss compress "$LAYERS" "$BIN" --quiet --threads 1 compress "$MODEL" -o "$MODEL-svdllm" --method svd-llm --ratio 0.2 \
    --calib-samples 4 --calib-seq-len 128 --json "$RECORD"
  peak_rss profile "$LAYERS" "$BIN" --quiet --threads 1 profile "$MODEL" -o "$WORK/profile-$LAYERS.json" --rates 0.2 --ks 1 \
    --calib-samples 4 --calib-seq-len 128 --stats-cache "$WORK/cache-$LAYERS"
  peak_rss prune "$LAYERS" "$BIN" --quiet --threads 1 prune "$MODEL" -o "$MODEL-pruned" --method replaceme --blocks 1 \
    --calib-samples 16 --calib-seq-len 128
  peak_rss eval "$LAYERS" "$BIN" --quiet --threads 1 eval "$MODEL" --ppl "$WORK/eval.txt" --seq-len 128 --kernels reference
  peak_rss export "$LAYERS" "$BIN" --quiet --threads 1 export "$MODEL-svdllm" --dense "$MODEL-dense"
  IN[$LAYERS]=$(field input_bytes "$RECORD")
  OUT[$LAYERS]=$(field output_bytes "$RECORD")
  grep -A6 '"whole_model"' "$RECORD" > "$WORK/whole"
  KEPT[$LAYERS]=$(awk -v a="$(field params_after "$WORK/whole")" -v b="$(field params_before "$WORK/whole")" \
    'BEGIN { printf "%.6f", a / b }')
  printf "compress, %2d layers: input %8.1f MB (bf16), output %8.1f MB, output/input %.4f (kept params %.4f)\n" \
    "$LAYERS" "$(mb "${IN[$LAYERS]}")" "$(mb "${OUT[$LAYERS]}")" \
    "$(awk -v o="${OUT[$LAYERS]}" -v i="${IN[$LAYERS]}" 'BEGIN{print o/i}')" "${KEPT[$LAYERS]}"
done
# One block of this shape in float32: q 1024x1024, k and v 256x1024, o 1024x1024, gate/up/down 3 x 4096x1024.
BLOCK_F32=$(( (1024*1024*2 + 256*1024*2 + 4096*1024*3) * 4 ))
ALLOWED=$(( BLOCK_F32 * 12 / 10 ))
FAIL=0
printf "%-9s %14s %14s %8s %16s %12s   (allowed difference: 10 %% of the 12 extra blocks in float32, %s MB)\n" \
  command "4 layers, MB" "16 layers, MB" "16 / 4" "difference, MB" "seconds" "$(mb "$ALLOWED")"
for NAME in "${COMMANDS[@]}"; do
  A=${RSS[$NAME-4]} B=${RSS[$NAME-16]}
  DIFF=$(( B - A )); DIFF=${DIFF#-}
  printf "%-9s %14s %14s %8s %16s %12s\n" "$NAME" "$(mb "$A")" "$(mb "$B")" \
    "$(awk -v a="$B" -v b="$A" 'BEGIN{printf "%.3f", a/b}')" "$(mb "$DIFF")" "${SECONDS_OF[$NAME-4]} + ${SECONDS_OF[$NAME-16]}"
  (( DIFF <= ALLOWED )) || { [[ $CHECK == 1 ]] && echo "FAIL: $NAME: peak memory grows with depth" >&2; FAIL=1; }
done
for LAYERS in 4 16; do
  awk -v o="${OUT[$LAYERS]}" -v i="${IN[$LAYERS]}" -v k="${KEPT[$LAYERS]}" 'BEGIN { exit !(o <= i * k + 0.01 * i) }' ||
    { [[ $CHECK == 1 ]] && echo "FAIL: compress, $LAYERS layers: output ${OUT[$LAYERS]} bytes exceeds input x kept + 1 %" >&2; FAIL=1; }
done
[[ $CHECK == 1 ]] && exit $FAIL
exit 0
