#!/usr/bin/env bash
# Builds lmshrink with AddressSanitizer + UndefinedBehaviorSanitizer into build-sanitize/ (tcmalloc off, -O1) and runs
# the tests of everything that reads user files or flags: the parsers (safetensors, GGUF, config.json, tokenizers,
# llama2.c, task readers, run records, profiles) and the CLI, whose tests drive the sanitized binary end to end.
# Any sanitizer report fails the run (-fno-sanitize-recover=all). Usage: scripts/sanitize.sh [ctest regex]
set -euo pipefail
cd "$(dirname "$0")/.."
pattern="${1:-Safetensors|Gguf|FuzzSeeds|FiniteWeights|HfConfig|HfModel|Tokenizer|Llama2c|Bpe|Sentencepiece|Tasks|Task|Mmlu|Hellaswag|Jsonl|RunRecord|Profile|Report|Hostile|Crash|CliTest|Cli\.|StreamingCheckpoint|ShardWriter|Synthesize}"
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" \
  -DLMSHRINK_SANITIZE=address,undefined -DLMSHRINK_BUILD_BENCH=OFF > build-sanitize.configure.log 2>&1 ||
  { cat build-sanitize.configure.log; exit 1; }
start=$(date +%s)
cmake --build build-sanitize -j"$(nproc)"
echo "sanitize: build took $(( $(date +%s) - start )) s"
cd build-sanitize
# libtorch and OpenBLAS are not instrumented: their allocations are only checked at our boundary. Leak checking
# is off (libtorch keeps process-lifetime allocations).
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:detect_odr_violation=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
start=$(date +%s)
ctest --output-on-failure -j"$(nproc)" --timeout 1200 -R "$pattern"
echo "sanitize: tests took $(( $(date +%s) - start )) s"
