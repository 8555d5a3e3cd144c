#!/usr/bin/env bash
# A small-scale MASA Table 1 (issue 10): each attention variant trained from scratch at the same non-attention size
# (embeddings 512 x 64 tied, 6 layers, hidden 64, SwiGLU MLP 172, 8 heads of 8, context 128) on the TinyStories calib
# file with the stories260K tokenizer (tok512), validated on the first $EVAL_WINDOWS windows of 128 tokens of
# tinystories-valid-eval.txt. Variants: dense, gqa (2 KV heads), lowrank (rank 11, about MASA-QKVO's attention size),
# masa-qkv and masa-qkvo (S = L/3 = 2 atoms per projection type). Every run: $STEPS steps of 16 windows (AdamW lr 3e-3,
# weight decay 0.1, 5 % warm-up then cosine to 10 %, clip 1, seed 0), one thread each.
#   bench/masa_table1.sh [build/lmshrink] [work dir, default /tmp/lmshrink_table1]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/lmshrink}
WORK=${2:-/tmp/lmshrink_table1}
SHARED=../shared
CALIB=$SHARED/data/tinystories/tinystories-valid-calib.txt
EVAL=$SHARED/data/tinystories/tinystories-valid-eval.txt
TOK=$SHARED/models/stories260K/tok512.bin
for f in "$CALIB" "$EVAL" "$TOK"; do [[ -f $f ]] || { echo "masa_table1: missing $f" >&2; exit 1; }; done
STEPS=${STEPS:-1000}
EVAL_WINDOWS=${EVAL_WINDOWS:-128}
PARALLEL=${PARALLEL:-1}
mkdir -p "$WORK"

config() {  # variant -> config file
  local file="$WORK/$1.json"
  cat > "$file" <<JSON
{"attention": "$1", "hidden_size": 64, "intermediate_size": 172, "num_layers": 6, "num_heads": 8, "gqa_kv_heads": 2,
 "lowrank_rank": 11, "seq_len": 128, "batch_size": 16, "steps": $STEPS, "lr": 3e-3, "weight_decay": 0.1,
 "warmup_fraction": 0.05, "clip_norm": 1.0, "seed": 0, "eval_every": 250, "eval_windows": $EVAL_WINDOWS}
JSON
  echo "$file"
}

variants=(dense gqa lowrank masa-qkv masa-qkvo)
train() {
  "$BIN" --quiet --threads 1 train --config "$(config "$1")" --corpus "$CALIB" --valid "$EVAL" --tokenizer "$TOK" \
    -o "$WORK/$1" --force > "$WORK/$1.log" 2>&1 && echo "done $1" >&2
}
running=0
for v in "${variants[@]}"; do
  train "$v" &
  running=$((running + 1))
  if (( running >= PARALLEL )); then wait -n; running=$((running - 1)); fi
done
wait

field() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$1" "$2"; }
table="$WORK/table.md"
{
  echo "| attention | attention params | removed vs dense | total params | valid ppl | train s | tokens/s |"
  echo "|---|---|---|---|---|---|---|"
  dense=$(field "$WORK/dense/lmshrink_run.json" "r['attention_params']")
  for v in "${variants[@]}"; do
    rec="$WORK/$v/lmshrink_run.json"
    a=$(field "$rec" "r['attention_params']")
    echo "| $v | $a | $(python3 -c "print(f'{1-$a/$dense:.1%}')") | $(field "$rec" "r['total_params']") | $(field "$rec" "round(r['final_valid_ppl'],3)") | $(field "$rec" "round(r['seconds'])") | $(field "$rec" "round(r['tokens_per_second'])") |"
  done
} > "$table"
cat "$table"
