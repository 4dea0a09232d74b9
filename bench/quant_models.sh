#!/usr/bin/env bash
# The issue-13 table: ONNX Runtime and sparse-infer on float32, int8 QDQ and
# int4 MatMulNBits forms of one FFN stack (models/make_ffn_stack.py), at
# batch 1, 4 and 16, 1 and 2 threads, with the bytes-read ceiling. Run it as
#
#   QUANT=1 bench/run_models.sh [BUILD_DIR]     (or bench/quant_models.sh BUILD_DIR)
#
# The quantized models come from this build's own `sparse-infer quantize`
# (int8 asymmetric per channel; int4 block QUANT_BLOCK [32], asymmetric).
# A sparse-infer cell reads "unsupported" while the engine cannot load the
# quantized form. The ORT columns need node and onnxruntime-node (npm
# install --ignore-scripts in bench/compare_ort).
#
# Ceiling = the time to stream, at the measured read bandwidth
# (quant_matmul_bench's measure_read_bandwidths, same thread count), the
# weight bytes a call must read: all of fc1 (its input is dense) plus the
# share (1 - zeros^batch) of fc2's rows that some row of the batch activates
# (independent rows assumed), for the form's bytes per weight (4, 1, 0.5),
# plus for int4 the scale and zero-point rows (2 + 0.5 bytes per column and
# block: the engine keeps this tool's fp16-valued scales as fp16) of every
# block with an active row: all of fc1's, the share 1 - zeros^(batch *
# block) of fc2's. int8's per-column scale rows are negligible. A dense
# engine (ORT) reads all of fc2 instead: its ceiling is the "dense ceiling".
#
# Environment: FFN_ZEROS [0.9] FFN_D_MODEL [2048] FFN_HIDDEN [8192]
# FFN_BLOCKS [4] FFN_INPUTS [32] BATCHES ["1 4 16"] THREADS ["1 2"]
# ITERS [100] WARMUP [10] QUANT_BLOCK [32].
# Output: markdown on stdout and BUILD_DIR/quant_results.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$repo/build}" 2>/dev/null && pwd) || {
  echo "error: build directory '${1:-$repo/build}' does not exist" >&2
  exit 1
}
bin=$build/tools/sparse-infer
bw_bench=$build/bench/quant_matmul_bench
for b in "$bin" "$bw_bench"; do
  [[ -x "$b" ]] || {
    echo "error: $b not found; build targets sparse-infer and quant_matmul_bench" >&2
    exit 1
  }
done
zeros=${FFN_ZEROS:-0.9}
d_model=${FFN_D_MODEL:-2048}
hidden=${FFN_HIDDEN:-8192}
blocks=${FFN_BLOCKS:-4}
n_inputs=${FFN_INPUTS:-32}
batches=${BATCHES:-1 4 16}
threads_list=${THREADS:-1 2}
iters=${ITERS:-100}
warmup=${WARMUP:-10}
qblock=${QUANT_BLOCK:-32}
python=/usr/bin/python3
ort_dir=$repo/bench/compare_ort
use_ort=0
if command -v node >/dev/null && [[ -d "$ort_dir/node_modules/onnxruntime-node" ]]; then
  use_ort=1
else
  echo "note: no ONNX Runtime columns (node or $ort_dir/node_modules missing)" >&2
fi
root=$build/quant_models/d${d_model}_h${hidden}_b${blocks}_n${n_inputs}_z${zeros}

# model_dir BATCH: the float model and its inputs, generated once.
model_dir() {
  local dir=$root/batch$1
  if [[ ! -f "$dir/model.onnx" ]]; then
    echo "generating $dir ..." >&2
    rm -rf "$dir.partial"
    mkdir -p "$root"
    "$python" "$repo/models/make_ffn_stack.py" --out "$dir.partial" --zeros "$zeros" \
      --d-model "$d_model" --hidden "$hidden" --blocks "$blocks" --inputs "$n_inputs" \
      --batch "$1" >&2
    mv "$dir.partial" "$dir"
  fi
  echo "$dir"
}

# quantize DIR FORM: DIR/FORM.onnx from the tool (its report goes to stderr).
quantize() {
  local dir=$1 form=$2
  local args=(--weights "$form")
  [[ $form == int4 ]] && args+=(--block-size "$qblock")
  "$bin" quantize "$dir/model.onnx" "$dir/$form.onnx.tmp" "${args[@]}" >&2
  mv "$dir/$form.onnx.tmp" "$dir/$form.onnx"
}

# si_p50 MODEL DIR THREADS: p50 us of sparse-infer --bench, or "unsupported".
si_p50() {
  local out rc=0
  out=$("$bin" "$1" --inputs-dir "$2" --bench --warmup "$warmup" --iters "$iters" \
    --threads "$3" 2>&1) || rc=$?
  if [[ $rc == 2 ]]; then
    echo unsupported
  elif [[ $rc != 0 ]]; then
    echo "error: sparse-infer failed on $1: $out" >&2
    echo failed
  else
    sed -n 's/^latency_us p50=\([0-9.]*\).*/\1/p' <<<"$out" | tail -n 1
  fi
}

# ort_p50 MODEL DIR THREADS RTOL: net p50 us of ONNX Runtime ("-" without
# it), then its max |y - y_float| / max |y_float| on set 0 against the float
# model's reference output.
ort_p50() {
  [[ $use_ort == 1 ]] || {
    echo "- -"
    return
  }
  local last
  last=$(node "$ort_dir/compare.js" "$1" "$2" --threads "$3" --iters "$iters" \
    --warmup "$warmup" --skip-engine --rtol "$4" 2>&1 | tail -n 1) || true
  if [[ "$last" == ort_us* ]]; then
    local p agree err
    p=$(sed -n 's/.* p50_net=\([0-9.]*\).*/\1/p' <<<"$last")
    agree=$(sed -n 's/.* agree=\([a-z/]*\).*/\1/p' <<<"$last")
    err=$(sed -n 's/.* max_rel_err=\([^ ]*\).*/\1/p' <<<"$last")
    [[ $agree == no ]] && p="$p(wrong)"
    echo "$p $err"
  else
    echo "error: compare.js on $1: $last" >&2
    echo "failed -"
  fi
}

bw_line=$("$bw_bench" --benchmark_filter=NONE 2>/dev/null | grep '^read bandwidth' || true)
bw1=$(sed -n 's/.*: \([0-9.]*\) GB\/s 1 thread.*/\1/p' <<<"$bw_line")
bw2=$(sed -n 's/.*, \([0-9.]*\) GB\/s 2 threads.*/\1/p' <<<"$bw_line")
[[ -n "$bw1" && -n "$bw2" ]] || {
  echo "error: no read bandwidth from $bw_bench" >&2
  exit 1
}

rows=()
for b in $batches; do
  dir=$(model_dir "$b")
  quantize "$dir" int8
  quantize "$dir" int4
  for t in $threads_list; do
    bw=$([[ $t == 1 ]] && echo "$bw1" || echo "$bw2")
    # ceil CODE_BYTES META_BYTES BLOCK: "sparse/dense" ceiling in us for
    # CODE_BYTES per weight and META_BYTES per column and block of BLOCK rows.
    ceil() {
      awk -v c="$1" -v m="$2" -v B="$3" -v z="$zeros" -v b="$b" -v bw="$bw" \
        -v d="$d_model" -v h="$hidden" -v L="$blocks" 'BEGIN {
        w = d * h; meta = (B > 0) ? (d / B) * h * m : 0  # per layer (fc1 and fc2 alike)
        rows = 1 - z ^ b; touched = (B > 0) ? 1 - z ^ (b * B) : 0
        sparse = L * (w * c + meta + w * c * rows + meta * touched)
        dense = L * 2 * (w * c + meta)
        printf "%.0f/%.0f", sparse / (bw * 1e3), dense / (bw * 1e3) }'
    }
    # The quantized forms differ from the float reference by their
    # quantization error (printed; tests/quantize_tool_test.py checks that
    # ORT matches the dequantized model): only a gross error counts as wrong.
    read -r ort_f32 _ <<<"$(ort_p50 "$dir/model.onnx" "$dir" "$t" 1e-4)"
    read -r ort_int8 err_int8 <<<"$(ort_p50 "$dir/int8.onnx" "$dir" "$t" 0.5)"
    read -r ort_int4 err_int4 <<<"$(ort_p50 "$dir/int4.onnx" "$dir" "$t" 0.5)"
    row="| $b | $t | $ort_f32 | $ort_int8 | $ort_int4"
    row+=" | $(si_p50 "$dir/model.onnx" "$dir" "$t") | $(si_p50 "$dir/int8.onnx" "$dir" "$t")"
    row+=" | $(si_p50 "$dir/int4.onnx" "$dir" "$t")"
    row+=" | $(ceil 4 0 0) | $(ceil 1 0 0) | $(ceil 0.5 2.5 "$qblock")"
    row+=" | $err_int8 | $err_int4 |"
    echo "$row" >&2
    rows+=("$row")
  done
done

commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
  echo "# Quantized FFN stack: ONNX Runtime vs sparse-infer (p50 us)"
  echo
  echo "d_model $d_model, hidden $hidden, $blocks blocks, zeros $zeros, $n_inputs input sets cycled;" \
    "warmup $warmup, $iters iterations; int4 block $qblock; commit $commit; $(date -u +%Y-%m-%dT%H:%MZ)."
  echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load: $(uptime | sed 's/.*load average: //')."
  echo "Read bandwidth: $bw1 GB/s 1 thread, $bw2 GB/s 2 threads. ORT = onnxruntime-node p50 minus its"
  echo "per-call overhead; \"(wrong)\" = its output is off the float reference by more than 1e-4"
  echo "(float) or 0.5 (quantized) relative; err = ORT's quantized output against the float reference"
  echo "(set 0, max |diff| / max |ref|): the quantization's cost. Ceiling us = sparse/dense bytes-read"
  echo "bound (see the script)."
  echo
  echo "| batch | threads | ORT f32 | ORT int8 | ORT int4 | SI f32 | SI int8 | SI int4 | ceiling f32 | ceiling int8 | ceiling int4 | err int8 | err int4 |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} >"$build/quant_results.md.tmp"
mv "$build/quant_results.md.tmp" "$build/quant_results.md"
cat "$build/quant_results.md"
