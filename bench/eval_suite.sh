#!/usr/bin/env bash
# The zero-shot suite (issue 9): `lmshrink eval --tasks all` (lm-eval 0.4 conventions, 0-shot, BOS)
# plus lm-eval's wikitext word perplexity on the dense stories260K and, when given, compressed models;
# then one `lmshrink report` over everything. stories260K is a 260K-parameter TinyStories model: its
# accuracies sit near chance and mean little beyond "the harness runs end to end".
# LIMIT=N scores the first N items of each task only (all when unset). TASKS (default all) picks tasks.
#   bench/eval_suite.sh [build/lmshrink] [work dir, default /tmp/lmshrink_eval_suite] [compressed model dirs...]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/lmshrink}
WORK=${2:-/tmp/lmshrink_eval_suite}
shift $(( $# > 2 ? 2 : $# ))
THREADS=${THREADS:-1}  # one thread: OpenMP barriers stall when the other core is busy (docs/results.md)
MODEL=../shared/models/stories260K/stories260K.bin
[[ -f $MODEL ]] || { echo "eval_suite: missing $MODEL" >&2; exit 1; }
mkdir -p "$WORK"
LIMIT_FLAG=()
[[ -n ${LIMIT:-} ]] && LIMIT_FLAG=(--limit "$LIMIT")
evaluate() {  # model, name
  "$BIN" --threads "$THREADS" eval "$1" --tasks "${TASKS:-all}" "${LIMIT_FLAG[@]}" --batch-size 32 --json "$WORK/$2-tasks.json"
  "$BIN" --threads "$THREADS" eval "$1" --ppl ../shared/data/wikitext2/wiki.test.raw --protocol wikitext-doc \
    --batch-size 8 --json "$WORK/$2-wikitext.json"
}
evaluate "$MODEL" dense
records=("$WORK/dense-tasks.json" "$WORK/dense-wikitext.json")
for dir in "$@"; do
  name=$(basename "$dir")
  evaluate "$dir" "$name"
  records+=("$dir" "$WORK/$name-tasks.json" "$WORK/$name-wikitext.json")  # the run record and its evals
done
"$BIN" report "${records[@]}" -o "$WORK/report.html"
