#!/usr/bin/env bash
# GGUF export against an independent llama.cpp (node-llama-cpp 3.22.1, its prebuilt CPU build; issue 24):
#   1. stories260K (real) exported F32: llama.cpp's tokens for 4 KB of TinyStories equal lmshrink's, its greedy
#      continuation of "Once upon a time" (60 tokens) equals lmshrink's token for token, and its perplexity under
#      llama-perplexity's protocol (n_ctx 128, 30 KB of TinyStories) equals `lmshrink eval --protocol llamacpp`'s
#      within 1e-3 relative (measured 2e-5);
#      The same file read by lmshrink (GGUF input) gives llama.cpp's perplexity within 1e-3, and the F16, BF16 and Q8_0
#      files read by lmshrink give llama.cpp's next-token log-probabilities on the same file within the tolerances below;
#   2. the greedy continuation and perplexity of a ReplaceMe-pruned stories260K (4 blocks) the same way; an svd-llm 30 % stories260K
#      (multiplied back to dense on export): next-token log-probabilities within 1e-3; stories260K exported F16,
#      BF16 and Q8_0: llama.cpp's next-token log-probabilities within each type's rounding of lmshrink's float32 ones
#      (measured 1.5e-4, 8.4e-4 and 7.1e-3 relative; checked at 1e-3, 5e-3 and 3e-2; a wrong layout gives ~1);
#   3. SYNTHETIC small checkpoints of five families (Llama-3.2 shape with llama3 RoPE scaling and tied embeddings,
#      Qwen3 with q/k norms, Qwen2 with q/k/v biases, Mistral v0.3, a plain Llama shape), F32: llama.cpp's
#      next-token log-probabilities after a prompt match lmshrink's within 1e-3 relative;
#   4. byte-level BPE vocabularies: SYNTHETIC small Llama-3 and Qwen3 checkpoints with the real Llama-3 and Qwen3
#      tokenizer.json, exported F32: llama.cpp tokenizes its own tokenizer test inputs (ggml-vocab-llama-bpe and
#      ggml-vocab-qwen2 .inp) to exactly the expected ids (.out), and its next-token log-probabilities after a prompt
#      match lmshrink's within 1e-3.
#   5. a SentencePiece-style tokenizer.json (byte fallback, made from tok512.bin by spm_tokenizer_json.mjs as
#      transformers' converter makes one) exported as a "llama" vocabulary: llama.cpp's tokens of 4 KB of TinyStories
#      equal lmshrink's, as do lmshrink's reading the GGUF back, and next-token log-probabilities match within 1e-3.
# Usage: tests/gguf/gguf_check.sh path/to/lmshrink. Fails loudly when node or node-llama-cpp is missing.
set -euo pipefail
BIN=$(realpath "${1:?usage: gguf_check.sh path/to/lmshrink}")
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=$(cd "$HERE/../../../shared" && pwd)
REF="node $HERE/llama_cpp_reference.mjs"
for tool in node jq; do
  command -v "$tool" > /dev/null || { echo "gguf_check: FAILED: $tool is missing (scripts/install-deps.sh)" >&2; exit 1; }
done
[[ -d $HERE/node_modules/node-llama-cpp ]] || {
  echo "gguf_check: FAILED: node-llama-cpp is missing: npm install --prefix tests/gguf --omit=optional --ignore-scripts" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
STORIES=$SHARED/models/stories260K
head -c 4000 "$SHARED/data/tinystories/tinystories-valid-eval.txt" > "$WORK/text.txt"
failures=0
check() {  # check NAME COMMAND...: runs it, prints PASS/FAIL
  if "${@:2}"; then echo "PASS $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi
}

same_greedy() {  # same_greedy MODEL GGUF
  rm -f "$WORK/ours.json" "$WORK/theirs.json"  # a failed run must not leave the last check's records to compare
  "$BIN" --quiet generate "$1" --prompt "Once upon a time" --max-tokens 60 --temperature 0 --json "$WORK/ours.json" > /dev/null
  $REF greedy "$2" "Once upon a time" 60 > "$WORK/theirs.json"
  local ours theirs
  ours=$(jq -c '.tokens' "$WORK/ours.json")
  theirs=$(jq -c --argjson n "$(jq '.tokens | length' "$WORK/ours.json")" '(.prompt_tokens + .generated)[0:$n]' "$WORK/theirs.json")
  [[ $ours == "$theirs" ]] || { echo "  lmshrink:  $ours"; echo "  llama.cpp: $theirs"; return 1; }
}

same_tokens() {  # same_tokens GGUF
  rm -f "$WORK/ours-tokens.json" "$WORK/theirs-tokens.json"
  "$BIN" --quiet tokenize "$STORIES/tok512.bin" --file "$WORK/text.txt" --bos --json > "$WORK/ours-tokens.json"
  $REF tokenize "$1" "$WORK/text.txt" | jq -c '.tokens' > "$WORK/theirs-tokens.json"
  [[ "$(jq -c . "$WORK/ours-tokens.json")" == "$(cat "$WORK/theirs-tokens.json")" ]] ||
    { echo "  token lists differ: $(jq length "$WORK/ours-tokens.json") vs $(jq length "$WORK/theirs-tokens.json")"; return 1; }
}

same_logits() {  # same_logits MODEL GGUF [TOLERANCE, default 1e-3]
  rm -f "$WORK/logits.json"
  "$BIN" --quiet generate "$1" --prompt "Once upon a time there was" --max-tokens 1 \
    --temperature 0 --json "$WORK/logits.json" --prompt-logits > /dev/null
  $REF compare "$2" "Once upon a time there was" "$WORK/logits.json" "${3:-1e-3}" | tee "$WORK/compare.json" |
    jq -c '{prompt_tokens_equal, relative_error, tolerance}'
}

same_ppl() {  # same_ppl MODEL GGUF: llama-perplexity's protocol at n_ctx 128 on 30 KB of TinyStories, within 1e-3
  rm -f "$WORK/eval.json" "$WORK/ppl.json"
  "$BIN" --quiet eval "$1" --ppl "$WORK/ppl-text.txt" --protocol llamacpp --seq-len 128 --json "$WORK/eval.json" > /dev/null
  $REF perplexity "$2" "$WORK/ppl-text.txt" 128 > "$WORK/ppl.json"
  local ours theirs
  ours=$(jq '.ppl' "$WORK/eval.json")
  theirs=$(jq '.ppl' "$WORK/ppl.json")
  echo "  perplexity: lmshrink $ours, llama.cpp $theirs"
  jq -e -n --argjson a "$ours" --argjson b "$theirs" '(($a - $b) | fabs) <= 1e-3 * $a' > /dev/null
}

head -c 30000 "$SHARED/data/tinystories/tinystories-valid-eval.txt" > "$WORK/ppl-text.txt"
"$BIN" --quiet export "$STORIES" --gguf "$WORK/stories.gguf" --type f32 > /dev/null
check "stories260K F32: tokens of 4 KB of TinyStories" same_tokens "$WORK/stories.gguf"
check "stories260K F32: greedy continuation" same_greedy "$STORIES" "$WORK/stories.gguf"
check "stories260K F32: llama.cpp perplexity (llamacpp protocol) equals lmshrink's within 1e-3" \
  same_ppl "$STORIES" "$WORK/stories.gguf"

check "stories260K F32 read back by lmshrink: perplexity equals llama.cpp's on the same file within 1e-3" \
  same_ppl "$WORK/stories.gguf" "$WORK/stories.gguf"

for typed in "f16 1e-3" "bf16 5e-3" "q8_0 3e-2"; do
  read -r type tolerance <<< "$typed"
  "$BIN" --quiet export "$STORIES" --gguf "$WORK/stories-$type.gguf" --type "$type" > /dev/null
  check "stories260K ${type^^}: next-token log-probabilities within $tolerance" \
    same_logits "$STORIES" "$WORK/stories-$type.gguf" "$tolerance"
  check "stories260K ${type^^} read back by lmshrink: next-token log-probabilities within $tolerance of llama.cpp's" \
    same_logits "$WORK/stories-$type.gguf" "$WORK/stories-$type.gguf" "$tolerance"
done

"$BIN" --quiet prune "$STORIES" -o "$WORK/pruned" --method replaceme --blocks 1 --calib tinystories \
  --calib-samples 32 --threads 1 > /dev/null
"$BIN" --quiet export "$WORK/pruned" --gguf "$WORK/pruned.gguf" --type f32 > /dev/null
check "ReplaceMe-pruned stories260K F32: greedy continuation" same_greedy "$WORK/pruned" "$WORK/pruned.gguf"
check "ReplaceMe-pruned stories260K F32: llama.cpp perplexity equals lmshrink's within 1e-3" \
  same_ppl "$WORK/pruned" "$WORK/pruned.gguf"
"$BIN" --quiet compress "$STORIES" -o "$WORK/svdllm" --method svd-llm --ratio 0.3 --calib tinystories \
  --calib-samples 16 --threads 1 > /dev/null
"$BIN" --quiet export "$WORK/svdllm" --gguf "$WORK/svdllm.gguf" --type f32 > /dev/null
check "svd-llm 30 % stories260K (densified) F32: next-token log-probabilities within 1e-3" \
  same_logits "$WORK/svdllm" "$WORK/svdllm.gguf"

for family in "llama-3.2-1b" "qwen3-8b" "qwen2-7b" "mistral-7b" "custom"; do
  "$BIN" --quiet synthesize --shape "$family" --hidden 128 --layers 2 --heads 4 --kv-heads 2 --mlp 256 --vocab 512 \
    --dtype f32 -o "$WORK/$family" > /dev/null
  cp "$STORIES/tok512.bin" "$WORK/$family/tokenizer.bin"
  "$BIN" --quiet export "$WORK/$family" --gguf "$WORK/$family.gguf" --type f32 > /dev/null
  check "SYNTHETIC $family F32: next-token log-probabilities within 1e-3" same_logits "$WORK/$family" "$WORK/$family.gguf"
done

VOCAB_TESTS=$SHARED/tokenizers/llamacpp-vocab-tests
for pair in "llama-3.2-1b llama3 llama-bpe" "qwen3-8b qwen3 qwen2"; do
  read -r shape tokenizer tests <<< "$pair"
  "$BIN" --quiet synthesize --shape "$shape" --hidden 64 --layers 1 --heads 2 --kv-heads 1 --mlp 128 --dtype f32 \
    -o "$WORK/bpe-$tokenizer" > /dev/null
  cp "$SHARED/tokenizers/$tokenizer/"tokenizer*.json "$WORK/bpe-$tokenizer/"
  "$BIN" --quiet export "$WORK/bpe-$tokenizer" --gguf "$WORK/bpe-$tokenizer.gguf" > /dev/null
  check "$tokenizer tokenizer.json in GGUF: llama.cpp's $tests test pairs" \
    $REF vocab-tests "$WORK/bpe-$tokenizer.gguf" "$VOCAB_TESTS/ggml-vocab-$tests.gguf.inp" "$VOCAB_TESTS/ggml-vocab-$tests.gguf.out"
  check "SYNTHETIC $shape with the $tokenizer vocabulary: next-token log-probabilities within 1e-3" \
    same_logits "$WORK/bpe-$tokenizer" "$WORK/bpe-$tokenizer.gguf"
done

# A SentencePiece-style tokenizer.json (BPE with byte fallback, as Llama-2's and Mistral's), made from tok512.bin as
# transformers' converter makes one from a tokenizer.model, on a SYNTHETIC Mistral: exported as a "llama" vocabulary.
"$BIN" --quiet synthesize --shape mistral-7b --hidden 128 --layers 2 --heads 4 --kv-heads 2 --mlp 256 --vocab 512 \
  --dtype f32 -o "$WORK/spm-json" > /dev/null
node "$HERE/spm_tokenizer_json.mjs" "$STORIES/tok512.bin" "$WORK/spm-json" > /dev/null
"$BIN" --quiet export "$WORK/spm-json" --gguf "$WORK/spm-json.gguf" --type f32 > /dev/null
same_json_tokens() {  # llama.cpp's tokens of the 4 KB text equal lmshrink's tokenizer.json ones, and the GGUF read back
  rm -f "$WORK/json-ours.json" "$WORK/json-theirs.json" "$WORK/json-back.json"
  "$BIN" --quiet tokenize "$WORK/spm-json/tokenizer.json" --file "$WORK/text.txt" --bos --json | jq -c . > "$WORK/json-ours.json"
  $REF tokenize "$WORK/spm-json.gguf" "$WORK/text.txt" | jq -c '.tokens' > "$WORK/json-theirs.json"
  "$BIN" --quiet tokenize "$WORK/spm-json.gguf" --file "$WORK/text.txt" --bos --json | jq -c . > "$WORK/json-back.json"
  cmp -s "$WORK/json-ours.json" "$WORK/json-theirs.json" && cmp -s "$WORK/json-ours.json" "$WORK/json-back.json"
}
check "SentencePiece-style tokenizer.json in GGUF: llama.cpp's and the read-back tokens of 4 KB equal lmshrink's" same_json_tokens
check "SYNTHETIC mistral-7b with that vocabulary: next-token log-probabilities within 1e-3" \
  same_logits "$WORK/spm-json" "$WORK/spm-json.gguf"

if ((failures > 0)); then echo "gguf_check: $failures check(s) FAILED" >&2; exit 1; fi
echo "gguf_check: all checks passed"
