#!/usr/bin/env bash
# Quick start, command 2 (and CI): install what is missing, build everything, run the whole suite.
# The tests read models and data from ../shared and fail loudly when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
for required in models/stories260K/stories260K.bin models/aidreams260K/aidreams260K.bin \
                models/stories260K/tok512.bin tokenizers/llama2-sentencepiece/tokenizer.bin; do
  if [ ! -f "../shared/$required" ]; then
    echo "test: FAILED: required data ../shared/$required is missing (shared/ must sit beside the checkout)" >&2
    exit 1
  fi
done
bash scripts/install-deps.sh --with-browser
bash scripts/build.sh
cd build
ctest --output-on-failure -j"$(nproc)" --timeout 600
