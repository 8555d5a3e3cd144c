#!/usr/bin/env bash
# Builds the libFuzzer harnesses of the readers (fuzz/, clang, -fsanitize=fuzzer,address,undefined) into
# build-fuzz/ and runs each for SECONDS on its committed seed corpus (fuzz/corpus/<harness>/), the real files of
# ../shared where they exist, and its dictionary (fuzz/dict/). New corpus entries go to build-fuzz/corpus/ (the
# repository's seeds are never modified); a crash, sanitizer report, timeout or escaped exception writes
# build-fuzz/crashes/<harness>-... and fails the run.
#   scripts/fuzz.sh [SECONDS] [HARNESS ...]        default: 60 s each, every harness
#   FUZZ_RUNS=1000000 scripts/fuzz.sh 0 HARNESS    a fixed number of executions instead of a time
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
clang="${CXX_FUZZ:-clang++}"
command -v "$clang" > /dev/null || { echo "fuzz: FAILED: $clang not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER="$clang" -DLMSHRINK_FUZZ=ON -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="-O1" > build-fuzz.configure.log 2>&1 || { cat build-fuzz.configure.log; exit 1; }
start=$(date +%s)
cmake --build build-fuzz -j"$(nproc)"
echo "fuzz: build took $(( $(date +%s) - start )) s"
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
  harnesses=(fuzz_safetensors fuzz_safetensors_index fuzz_hf_config fuzz_tokenizer_json fuzz_llama2c
             fuzz_llama2c_tokenizer fuzz_gguf fuzz_task_jsonl fuzz_mmlu_csv fuzz_hellaswag fuzz_rocket_profile fuzz_run_record)
fi
# Real files as extra seeds (read-only corpus folders), when ../shared is beside the checkout.
extra_seeds() {
  local harness="$1" dir="build-fuzz/shared-seeds/$1"
  rm -rf "$dir" && mkdir -p "$dir"
  case "$harness" in
    fuzz_llama2c_tokenizer) cp ../shared/models/stories260K/tok512.bin "$dir/" 2> /dev/null || true ;;
    fuzz_gguf) cp ../shared/tokenizers/llamacpp-vocab-tests/*.gguf "$dir/" 2> /dev/null || true ;;
    fuzz_mmlu_csv) for f in $(ls ../shared/data/mmlu/*/*.csv 2> /dev/null | head -5); do head -c 4000 "$f" > "$dir/$(basename "$f")"; done ;;
    fuzz_task_jsonl) for f in ../shared/data/arc/*.jsonl ../shared/data/winogrande/*.jsonl ../shared/data/lambada_openai/*.jsonl; do
                       [ -f "$f" ] && head -c 4000 "$f" > "$dir/$(basename "$(dirname "$f")")-$(basename "$f")"; done ;;
  esac
  echo "$dir"
}
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p build-fuzz/crashes
failed=()
for harness in "${harnesses[@]}"; do
  mkdir -p "build-fuzz/corpus/$harness"
  limits=(-max_total_time="$seconds")
  [ -n "${FUZZ_RUNS:-}" ] && limits=(-runs="$FUZZ_RUNS")
  dict=()
  [ -f "fuzz/dict/$harness.dict" ] && dict=(-dict="fuzz/dict/$harness.dict")
  log="build-fuzz/$harness.log"
  if "build-fuzz/$harness" "build-fuzz/corpus/$harness" "fuzz/corpus/$harness" "$(extra_seeds "$harness")" "${limits[@]}" \
       "${dict[@]}" -timeout=20 -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="build-fuzz/crashes/$harness-" > "$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz: $harness: $runs executions, no crash"
  else
    echo "fuzz: $harness: FAILED (log $log):" >&2
    grep -E 'ERROR|SUMMARY|what\(\)|runtime error|Test unit written' "$log" | head -8 >&2
    failed+=("$harness")
  fi
done
[ ${#failed[@]} -eq 0 ] || { echo "fuzz: FAILED: ${failed[*]}" >&2; exit 1; }
