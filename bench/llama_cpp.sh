#!/usr/bin/env bash
# lmshrink's kernels side by side with llama.cpp on the same weights and threads (issue 22): a SYNTHETIC Llama-3.2-1B
# shape (seeded random weights, vocab 32000 with the Llama-2 SentencePiece vocabulary) written once as a float32 HF
# checkpoint, exported by `lmshrink export --gguf` to F32, F16 and BF16, then for each thread count: `lmshrink bench`
# on the checkpoint (--weights fp32 and bf16) and llama.cpp (node-llama-cpp's prebuilt CPU build,
# tests/gguf/llama_cpp_reference.mjs) on the GGUF files, prefill of P tokens and decode of G tokens, best of 3 each.
# llama.cpp's prefill figure includes its first sampled token. Rows alternate between the two tools so that both see
# the same machine; run it on an otherwise idle machine.
# Usage: bench/llama_cpp.sh [path/to/lmshrink] [work dir, default a temp dir] [threads, default "1 2"]
# Needs node and node-llama-cpp 3.22.1 (NODE_PATH or tests/gguf/node_modules: `npm install --prefix tests/gguf --omit=optional --ignore-scripts`).
set -euo pipefail
BIN=${1:-build/lmshrink}
WORK=${2:-$(mktemp -d)}
THREADS=${3:-1 2}
P=${P:-128}
G=${G:-32}
HERE=$(cd "$(dirname "$0")/.." && pwd)
command -v jq > /dev/null || { echo "llama_cpp.sh: needs jq" >&2; exit 1; }
command -v node > /dev/null || { echo "llama_cpp.sh: needs node" >&2; exit 1; }
REF=$HERE/tests/gguf/llama_cpp_reference.mjs
TOKENIZER=$HERE/../shared/tokenizers/llama2-sentencepiece/tokenizer.bin
mkdir -p "$WORK"
if [[ ! -d $WORK/model ]]; then
  "$BIN" --quiet synthesize --shape llama-3.2-1b --vocab 32000 --dtype f32 -o "$WORK/model" > /dev/null
  cp "$TOKENIZER" "$WORK/model/tokenizer.bin"
fi
for type in f32 f16 bf16; do
  [[ -f $WORK/model-$type.gguf ]] || "$BIN" --quiet export "$WORK/model" --gguf "$WORK/model-$type.gguf" --type "$type" > /dev/null
done
echo "| tool | weights | threads | prefill $P tok/s | decode tok/s |"
echo "|---|---|---|---|---|"
for t in $THREADS; do
  for weights in fp32 bf16; do
    "$BIN" --quiet bench "$WORK/model" --weights "$weights" --prompt-tokens "$P" --gen-tokens "$G" --threads "$t" \
      --repeats 3 --bandwidth-mib 0 --json "$WORK/lmshrink-$weights-$t.json" > /dev/null 2>&1
    jq -r --arg w "$weights" '"| lmshrink | \($w) | \(.threads) | \(.prefill_tokens_per_second * 10 | round / 10) | \(.decode_tokens_per_second * 100 | round / 100) |"' "$WORK/lmshrink-$weights-$t.json"
    for type in $([[ $weights == fp32 ]] && echo f32 || echo "f16 bf16"); do
      node "$REF" bench "$WORK/model-$type.gguf" "$P" "$G" "$t" 3 > "$WORK/llama-cpp-$type-$t.json" 2> /dev/null
      jq -r --arg w "$type" '"| llama.cpp | \($w | ascii_upcase) | \(.threads) | \(.prefill_tokens_per_second * 10 | round / 10) | \(.decode_tokens_per_second * 100 | round / 100) |"' "$WORK/llama-cpp-$type-$t.json"
    done
  done
done
