#!/usr/bin/env bash
# stories260K: ROCKET against svd-llm, cospadi and compot at ratios 0.2, 0.3, 0.4 (issue 7 table).
# Variants: svd-llm; rocket --alloc uniform; rocket --alloc mckp (profile metric weight, the default); mckp on a
# --profile-metric whitened profile (calibration-weighted errors); mckp + --refine-steps 100; mckp then
# `lmshrink heal` (HEAL_TOKENS tokens, default 131072 = 512 windows, of the TinyStories calib file, windows of 256, lr 1e-3;
# HEAL_TOKENS=0 skips it); ORDER="…" runs only the named variants;
# cospadi and compot (defaults) for reference; with quantized factors (ORDER names them): compot-int8,
# rocket-mckp-int8, rocket-mckp-int4, rocket-mckp-auto (the knapsack picks 16-bit, int8 or int4 factors per
# matrix) and rocket-mckp-int8-compot (COMPOT's fits as candidates too); their profiles are of the quantized factors
# (`lmshrink profile --quantize`); with measured costs (issue 23 item 1): rocket-mckp-nll-compot and
# rocket-mckp-kl-compot (profiles `--profile-metric nll|kl --compot-candidates --nll-windows $NLL_WINDOWS`, default
# 8: each option's measured ΔNLL or KL(dense ‖ compressed) on the first calibration windows, both fits probed),
# and compot-dynamic (compot --alloc dynamic) for reference.
# Calibration: TinyStories calib file, blocks protocol, 256 x 512 tokens, seed 0, one-shot, all 7 projections, full
# accounting; statistics cached once, the ROCKET profiles (default grid: rates 0.05..0.70, ks 1.0..3.0) computed
# once per metric with `lmshrink profile` and reused by every rocket run.
# Evaluation: gptq protocol, seq_len 512, first $EVAL_BYTES bytes (default 200000) of the TinyStories eval file.
# Also writes the per-matrix allocation of rocket mckp at 0.3 ($WORK/allocation-0.3.md).
#   bench/rocket_sweep.sh [build/lmshrink] [work dir, default /tmp/lmshrink_rocket_sweep] [ratios, default "0.2 0.3 0.4"]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/lmshrink}
WORK=${2:-/tmp/lmshrink_rocket_sweep}
RATIOS=${3:-0.2 0.3 0.4}
SHARED=../shared
MODEL=${MODEL:-$SHARED/models/stories260K/stories260K.bin}  # MODEL=…/aidreams260K.bin SEQ=128 for the other real model
SEQ=${SEQ:-512}
TINY=$SHARED/data/tinystories/tinystories-valid-eval.txt
CALIB=$SHARED/data/tinystories/tinystories-valid-calib.txt
HEAL_TOKENS=${HEAL_TOKENS:-131072}
for f in "$MODEL" "$TINY" "$CALIB"; do
  [[ -f $f ]] || { echo "rocket_sweep: missing $f" >&2; exit 1; }
done
command -v jq > /dev/null || { echo "rocket_sweep: needs jq (apt-get install jq)" >&2; exit 1; }
mkdir -p "$WORK"
EVAL_BYTES=${EVAL_BYTES:-200000}
if [[ $EVAL_BYTES != 0 ]]; then
  head -c "$EVAL_BYTES" "$TINY" > "$WORK/tinystories-eval-head.txt" && TINY=$WORK/tinystories-eval-head.txt
fi
CALIB_FLAGS=(--calib "$CALIB" --calib-samples 256 --calib-seq-len "$SEQ" --seed 0 --stats-cache "$WORK/stats")

ppl() { "$BIN" --quiet eval "$1" --ppl "$2" --protocol gptq --seq-len "$SEQ" | sed -E 's/^ppl ([0-9.]+).*/\1/'; }

start=$(date +%s.%N)
"$BIN" --quiet profile "$MODEL" -o "$WORK/profile.json" "${CALIB_FLAGS[@]}" > /dev/null
profile_seconds=$(jq -r '.seconds * 100 | round / 100' "$WORK/profile.json")
ORDER=${ORDER:-svd-llm cospadi compot rocket-uniform rocket-mckp rocket-mckp-whitened rocket-mckp-refine}
"$BIN" --quiet profile "$MODEL" -o "$WORK/profile-whitened.json" --profile-metric whitened "${CALIB_FLAGS[@]}" > /dev/null
for bits in int8 int4 auto; do  # profiles of quantized factors, only for the variants that use them
  if [[ " $ORDER " == *" rocket-mckp-$bits "* ]]; then
    "$BIN" --quiet profile "$MODEL" -o "$WORK/profile-$bits.json" --quantize "$bits" "${CALIB_FLAGS[@]}" > /dev/null
  fi
done
NLL_WINDOWS=${NLL_WINDOWS:-8}
for metric in nll kl; do  # measured costs: minutes per profile on stories260K
  if [[ " $ORDER " == *" rocket-mckp-$metric-compot "* ]]; then
    "$BIN" --quiet profile "$MODEL" -o "$WORK/profile-$metric-compot.json" --profile-metric "$metric" --compot-candidates \
      --nll-windows "$NLL_WINDOWS" "${CALIB_FLAGS[@]}" > "$WORK/profile-$metric-compot.log"
  fi
done
if [[ " $ORDER " == *" rocket-mckp-int8-compot "* ]]; then
  "$BIN" --quiet profile "$MODEL" -o "$WORK/profile-int8-compot.json" --quantize int8 --compot-candidates \
    "${CALIB_FLAGS[@]}" > /dev/null
fi

declare -A VARIANTS=(
  [svd-llm]="--method svd-llm"
  [rocket-uniform]="--method rocket --alloc uniform --profile $WORK/profile.json"
  [rocket-mckp]="--method rocket --alloc mckp --profile $WORK/profile.json"
  [rocket-mckp-whitened]="--method rocket --alloc mckp --profile-metric whitened --profile $WORK/profile-whitened.json"
  [rocket-mckp-refine]="--method rocket --alloc mckp --profile $WORK/profile.json --refine-steps 100"
  [cospadi]="--method cospadi"
  [compot]="--method compot"
  [compot-int8]="--method compot --quantize int8"
  [compot-dynamic]="--method compot --alloc dynamic"
  [rocket-mckp-nll-compot]="--method rocket --alloc mckp --profile-metric nll --compot-candidates --profile $WORK/profile-nll-compot.json"
  [rocket-mckp-kl-compot]="--method rocket --alloc mckp --profile-metric kl --compot-candidates --profile $WORK/profile-kl-compot.json"
  [rocket-mckp-int8]="--method rocket --alloc mckp --quantize int8 --profile $WORK/profile-int8.json"
  [rocket-mckp-int4]="--method rocket --alloc mckp --quantize int4 --profile $WORK/profile-int4.json"
  [rocket-mckp-auto]="--method rocket --alloc mckp --quantize auto --profile $WORK/profile-auto.json"
  [rocket-mckp-int8-compot]="--method rocket --alloc mckp --quantize int8 --compot-candidates --profile $WORK/profile-int8-compot.json"
)

table="$WORK/table.md"
{
  echo "| method | ratio | achieved (full accounting) | TinyStories eval ppl | compression s |"
  echo "|---|---|---|---|---|"
  echo "| dense | 0 | 0 | $(ppl "$MODEL" "$TINY") | |"
} > "$table"
for ratio in $RATIOS; do
  for name in $ORDER; do
    out="$WORK/$name-$ratio"
    # shellcheck disable=SC2086
    "$BIN" --quiet compress "$MODEL" -o "$out" --force ${VARIANTS[$name]} --ratio "$ratio" "${CALIB_FLAGS[@]}" \
      --json "$out.json" > /dev/null
    achieved=$(jq -r '.accounting.ratio_full * 10000 | round / 10000' "$out.json")
    seconds=$(jq -r '.seconds.decomposition * 100 | round / 100' "$out.json")
    echo "| $name | $ratio | $achieved | $(ppl "$out" "$TINY") | $seconds |" >> "$table"
    echo "done $name $ratio" >&2
  done
  [[ $HEAL_TOKENS == 0 ]] && continue
  healed="$WORK/rocket-mckp-heal-$ratio"
  "$BIN" --quiet heal "$WORK/rocket-mckp-$ratio" -o "$healed" --force --corpus "$CALIB" --tokens "$HEAL_TOKENS" \
    --seq-len 256 --lr 1e-3 --json "$healed.json" > /dev/null
  heal_seconds=$(jq -r '.seconds * 100 | round / 100' "$healed.json")
  echo "| rocket-mckp + heal ($HEAL_TOKENS tokens) | $ratio | $(jq -r '.accounting.ratio_full * 10000 | round / 10000' \
    "$WORK/rocket-mckp-$ratio.json") | $(ppl "$healed" "$TINY") | heal $heal_seconds |" >> "$table"
done
echo "profile (shared by every rocket run but the whitened one): $profile_seconds s" >> "$table"

alloc="$WORK/allocation-0.3.md"
if [[ -f $WORK/rocket-mckp-0.3.json ]]; then
  {
    echo "| matrix | in x out | rate | ks | r | s | profiled error | whitened error |"
    echo "|---|---|---|---|---|---|---|---|"
    jq -r '.layers[] | "| \(.name) | \(.in_features) x \(.out_features) | \(.ratio) | \(.ks) | \(.rank // .atoms // "-") | \(if .atoms then .nonzeros else (.rank // "-") end) | \(.profile_error * 10000 | round / 10000) | \(.whitened_relative_error * 10000 | round / 10000) |"' \
      "$WORK/rocket-mckp-0.3.json"
  } > "$alloc"
fi
cat "$table"
