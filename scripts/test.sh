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
# The CPU code paths this run covers (floating-point sums differ between them; issue 27).
./lmshrink --version
ctest --output-on-failure -j"$(nproc)" --timeout 1200
# Second pass on the other kernel families, so a submission made on one kind of CPU passes on the other: the
# runtime kernels' portable path, libtorch's AVX2 dispatch and OpenBLAS's Haswell kernels (on an AVX-512 machine
# the first pass ran OpenBLAS's AVX-512 ones).
export LMSHRINK_KERNELS=portable ATEN_CPU_CAPABILITY=avx2 OPENBLAS_CORETYPE=Haswell
echo "test: second pass with LMSHRINK_KERNELS=$LMSHRINK_KERNELS ATEN_CPU_CAPABILITY=$ATEN_CPU_CAPABILITY OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE"
./lmshrink --version
ctest --output-on-failure -j"$(nproc)" --timeout 600 -LE scale  # the scale bench measures memory, not kernels: once
# Third step: AddressSanitizer + UndefinedBehaviorSanitizer build of the parsers, the CLI and their tests (issue 21),
# in build-sanitize/; any sanitizer report fails the run.
cd ..
bash scripts/sanitize.sh
# Fourth step: the libFuzzer harnesses of the readers (fuzz/, clang), each run for a short smoke time on its seeds.
bash scripts/fuzz.sh "${LMSHRINK_FUZZ_SECONDS:-20}"
