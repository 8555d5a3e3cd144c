#!/usr/bin/env bash
# Issue 11's speed table: `lmshrink bench` on a SYNTHETIC (seeded random) model with Llama-3.2-1B shapes (hidden 2048,
# 16 layers, 32 heads / 8 KV heads, MLP 8192) and the vocabulary reduced to 8192 (real: 128256), dense and every
# method's compressed format at 20/30/50 % (random layers at the sizes each method gives; synthetic_formats.h), plus
# bf16 storage, unfused (--no-fuse: q|k|v and gate|up as separate products) and libtorch reference rows. Per row:
# decode and prefill tokens/s, speedup vs dense, bytes read per decoded token, the copy- and read-bandwidth ceilings
# and the achieved fractions of them, and the issue's two targets:
#   decode speedup >= 0.8 x (dense bytes / compressed bytes), and prefill no slower than dense.
#   bench/inference_sweep.sh [build/lmshrink] [work dir, default /tmp/lmshrink_inference]
# Environment: THREADS (2), PROMPT (128), GEN (16), REPEATS (2), RATIOS ("0.2 0.3 0.5"), METHODS, NOFUSE_ROWS (1).
# OMP_WAIT_POLICY defaults to PASSIVE: libtorch's OpenMP threads otherwise spin between parallel regions and take the
# cores from OpenBLAS's threads (on the 2-core project machine: dense prefill 46 instead of 86 tokens/s with 2 threads).
set -euo pipefail
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
cd "$(dirname "$0")/.."
BIN=${1:-build/lmshrink}
WORK=${2:-/tmp/lmshrink_inference}
THREADS=${THREADS:-2}
PROMPT=${PROMPT:-128}
GEN=${GEN:-16}
REPEATS=${REPEATS:-2}
RATIOS=${RATIOS:-"0.2 0.3 0.5"}
METHODS=${METHODS:-"svd-llm rocket cospadi compot masa"}
mkdir -p "$WORK"
run() {  # name, then bench flags
  local name=$1
  shift
  echo "inference_sweep: $name" >&2
  "$BIN" --quiet bench synthetic:llama-3.2-1b --threads "$THREADS" --prompt-tokens "$PROMPT" --gen-tokens "$GEN" \
    --repeats "$REPEATS" --json "$WORK/$name.json" "$@" > "$WORK/$name.txt"
}
run dense-fp32 --format dense
run dense-bf16 --format dense --weights bf16
run dense-reference --format dense --kernels reference --bandwidth-mib 0
for method in $METHODS; do
  for ratio in $RATIOS; do
    run "$method-$ratio-fp32" --format "$method" --ratio "$ratio"
  done
done
run cospadi-0.3-bf16 --format cospadi --ratio 0.3 --weights bf16
run svd-llm-0.3-bf16 --format svd-llm --ratio 0.3 --weights bf16
if [ "${NOFUSE_ROWS:-1}" = 1 ]; then
  run dense-fp32-nofuse --format dense --no-fuse
  run svd-llm-0.3-fp32-nofuse --format svd-llm --ratio 0.3 --no-fuse
  run cospadi-0.3-fp32-nofuse --format cospadi --ratio 0.3 --no-fuse
fi
run cospadi-0.3-reference --format cospadi --ratio 0.3 --kernels reference --bandwidth-mib 0
python3 - "$WORK" <<'PY'
import json, os, sys
work = sys.argv[1]
rows = [json.load(open(os.path.join(work, f))) for f in sorted(os.listdir(work)) if f.endswith(".json")]
fused = lambda r: r.get("fused_groups", 0) > 0
# every row is compared with the default dense one: fast kernels, q|k|v and gate|up fused
dense = {r["weights"]: r for r in rows if r["format"] == "dense" and r["kernels"] == "fast" and fused(r)}
order = ["dense", "svd-llm", "rocket", "cospadi", "compot", "masa"]
rows.sort(key=lambda r: (r["kernels"] != "fast", not fused(r), r["weights"],
                         order.index(r["format"]) if r["format"] in order else 9, r["ratio"]))
print("| format | ratio | weights | kernels | fused | decode tok/s | prefill tok/s | TTFT s | MB/token | decode speedup | byte-proportional speedup | speedup / byte-proportional | prefill vs dense | copy ceiling tok/s | fraction of copy ceiling | read ceiling tok/s | fraction of read ceiling | peak RSS GB |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    base = dense[r["weights"]]
    speed = r["decode_tokens_per_second"] / base["decode_tokens_per_second"]
    proportional = base["bytes_per_token"] / r["bytes_per_token"]
    prefill = r["prefill_tokens_per_second"] / base["prefill_tokens_per_second"]
    ceilings = ""
    for ceiling_key, fraction_key in (("decode_ceiling_tokens_per_second", "fraction_of_ceiling"),
                                      ("decode_read_ceiling_tokens_per_second", "fraction_of_read_ceiling")):
        ceiling = r.get(ceiling_key, 0)
        ceilings += f"{ceiling:.2f} | {r[fraction_key]:.2f} | " if ceiling > 0 else "- | - | "
    print(f"| {r['format']} | {r['ratio']:g} | {r['weights']} | {r['kernels']} | {'yes' if fused(r) else 'no'} | "
          f"{r['decode_tokens_per_second']:.2f} | "
          f"{r['prefill_tokens_per_second']:.1f} | {r['time_to_first_token_seconds']:.2f} | {r['bytes_per_token']/1e6:.0f} | "
          f"{speed:.2f} | {proportional:.2f} | {speed/proportional:.2f} | {prefill:.2f} | {ceilings}"
          f"{r['peak_rss_bytes']/1e9:.2f} |")
r = rows[0]
print(f"\n{r['threads']} threads, {r['isa']} kernels, P = {r['prompt_tokens']}, G = {r['gen_tokens']}, "
      f"{r['repeats']} repeats (medians); dense fp32 row: copy bandwidth "
      f"{dense['fp32']['copy_bandwidth_bytes_per_second']/1e9:.2f} GB/s, read bandwidth "
      f"{dense['fp32'].get('read_bandwidth_bytes_per_second', 0)/1e9:.2f} GB/s "
      f"({dense['fp32']['bandwidth_array_bytes'] >> 20} MiB arrays; every row measures its own).")
PY
