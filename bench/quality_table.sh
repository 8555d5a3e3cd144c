#!/usr/bin/env bash
# The quality table of issue 23 item 7: every width method on stories260K and aidreams260K at ratios 0.2-0.5, same
# calibration, full accounting, unhealed, each row with its achieved fraction of words removed and the bytes of its
# model.safetensors; writes $WORK/quality-table.md, the HTML report page $WORK/report.html (lmshrink report over every
# run folder) and, with WRITE_DOCS=1, the table into docs/results.md between the quality-table markers.
#   bench/quality_table.sh [build/lmshrink] [work dir, default /tmp/lmshrink_quality] [ratios, default "0.2 0.3 0.4 0.5"]
# METHODS="…" runs only the named rows (default: all of svd-llm asvd cospadi compot compot-dynamic rocket
# rocket-kl-compot compot-int8 rocket-int8-compot).
# Calibration: TinyStories calib file, blocks, 256 windows of the model's context (512; aidreams260K 128), seed 0,
# statistics cached once per model; rocket rows from one profile per model and variant. Evaluation: gptq protocol at
# the model's context; stories260K on the first 200,000 bytes of the TinyStories eval file, aidreams260K (trained on
# dream texts not stored here) on 60 texts sampled from the dense model (`generate --prompt "I dreamed"
# --temperature 1 --seed 1..60`), as docs/results.md's other aidreams260K tables.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/lmshrink}
WORK=${2:-/tmp/lmshrink_quality}
RATIOS=${3:-0.2 0.3 0.4 0.5}
METHODS=${METHODS:-svd-llm asvd cospadi compot compot-dynamic rocket rocket-kl-compot compot-int8 rocket-int8-compot}
SHARED=../shared
TINY=$SHARED/data/tinystories/tinystories-valid-eval.txt
CALIB=$SHARED/data/tinystories/tinystories-valid-calib.txt
for f in "$TINY" "$CALIB" "$SHARED/models/stories260K/stories260K.bin" "$SHARED/models/aidreams260K/aidreams260K.bin"; do
  [[ -f $f ]] || { echo "quality_table: missing $f" >&2; exit 1; }
done
command -v jq > /dev/null || { echo "quality_table: needs jq (apt-get install jq)" >&2; exit 1; }
[[ -x $BIN ]] || { echo "quality_table: no binary $BIN (scripts/build.sh)" >&2; exit 1; }
mkdir -p "$WORK"

ppl() { "$BIN" --quiet eval "$1" --ppl "$2" --protocol gptq --seq-len "$3" | sed -E 's/^ppl ([0-9.]+).*/\1/'; }

# method name -> compress flags (rocket profiles are made once per model below)
flags_of() {
  case $1 in
    compot-dynamic) echo "--method compot --alloc dynamic" ;;
    compot-int8) echo "--method compot --quantize int8" ;;
    rocket) echo "--method rocket --profile $2/profile-rocket.json" ;;
    rocket-kl-compot) echo "--method rocket --profile-metric kl --compot-candidates --profile $2/profile-rocket-kl-compot.json" ;;
    rocket-int8-compot) echo "--method rocket --quantize int8 --compot-candidates --profile $2/profile-rocket-int8-compot.json" ;;
    *) echo "--method $1" ;;
  esac
}

# profile flags of a rocket row (empty: not a rocket row)
profile_flags_of() {
  case $1 in
    rocket) echo "" ;;
    rocket-kl-compot) echo "--profile-metric kl --compot-candidates --nll-windows 16" ;;  # as the recorded table
    rocket-int8-compot) echo "--quantize int8 --compot-candidates" ;;
    *) echo "-" ;;
  esac
}

table="$WORK/quality-table.md"
{
  echo "| model | method | $(for r in $RATIOS; do printf '%s | ' "$r"; done)"
  echo "|---|---|$(for _ in $RATIOS; do printf -- '---|'; done)"
} > "$table"
for spec in "stories260K:512:Once upon a time" "aidreams260K:128:I dreamed"; do
  IFS=: read -r name seq prompt <<< "$spec"
  model=$SHARED/models/$name/$name.bin
  dir="$WORK/$name"
  mkdir -p "$dir"
  eval_text="$dir/eval.txt"
  if [[ $name == stories260K ]]; then
    head -c 200000 "$TINY" > "$eval_text"
  else
    : > "$eval_text"
    for seed in $(seq 1 60); do
      "$BIN" --quiet generate "$model" --prompt "$prompt" --temperature 1 --seed "$seed" --steps "$seq" >> "$eval_text" 2> /dev/null
      printf '\n\n' >> "$eval_text"
    done
  fi
  calib=(--calib "$CALIB" --calib-samples 256 --calib-seq-len "$seq" --seed 0 --stats-cache "$dir/stats")
  dense=$(ppl "$model" "$eval_text" "$seq")
  echo "| $name | dense | $(for _ in $RATIOS; do printf '%s | ' "$dense"; done)" >> "$table"
  for method in $METHODS; do
    pflags=$(profile_flags_of "$method")
    if [[ $pflags != - ]]; then
      # shellcheck disable=SC2086
      "$BIN" --quiet profile "$model" -o "$dir/profile-$method.json" $pflags "${calib[@]}" > "$dir/profile-$method.log"
    fi
    row="| $name | $method |"
    for ratio in $RATIOS; do
      out="$dir/$method-$ratio"
      # shellcheck disable=SC2086
      "$BIN" --quiet compress "$model" -o "$out" --force $(flags_of "$method" "$dir") --ratio "$ratio" "${calib[@]}" \
        --json "$out.json" > /dev/null
      achieved=$(jq -r '.accounting.ratio_full * 10000 | round / 10000' "$out.json")
      bytes=$(stat -c %s "$out/model.safetensors")
      row="$row $(ppl "$out" "$eval_text" "$seq") ($achieved, $bytes B) |"
      echo "done $name $method $ratio" >&2
    done
    echo "$row" >> "$table"
  done
done
"$BIN" --quiet report "$WORK"/*/*-0.* -o "$WORK/report.html" > /dev/null
if [[ ${WRITE_DOCS:-0} == 1 ]]; then
  awk -v table="$table" '
    /<!-- quality-table:begin -->/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
    /<!-- quality-table:end -->/ { skip = 0 }
    !skip { print }' docs/results.md > docs/results.md.tmp && mv docs/results.md.tmp docs/results.md
fi
cat "$table"
echo "report: $WORK/report.html"
