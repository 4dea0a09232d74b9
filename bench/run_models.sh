#!/usr/bin/env bash
# End-to-end benchmark: sparse-infer (auto) against its own dense path on
# OPT-style FFN stacks at 50%, 90% and 97% ReLU zeros, plus a Sigmoid
# variant with no zeros at all (where auto must stay within ~5% of dense),
# and optionally ONNX Runtime on the same model and inputs.
#
#   bench/run_models.sh [BUILD_DIR]        (default: <repo>/build)
#   QUANT=1 bench/run_models.sh [BUILD_DIR]  the float32 / int8 / int4 table of
#                                          issue 13 instead (bench/quant_models.sh)
#
# Models are generated once by models/make_ffn_stack.py into
# BUILD_DIR/ffn_models/ (~0.5 GB each at full size; never the source tree).
# Results: a markdown table on stdout, BUILD_DIR/ffn_results.md and .json.
#
# Environment (defaults in brackets):
#   FFN_ZEROS ["0.5 0.9 0.97"]  target zero fractions; FFN_SIGMOID [1] adds
#   the no-ReLU model; FFN_D_MODEL [2048] FFN_HIDDEN [8192] FFN_BLOCKS [4]
#   FFN_INPUTS [32] model size and input sets; THREADS ["1 2"]; ITERS [100]
#   WARMUP [10]; COMPARE_ORT [auto]: 1 = require the ONNX Runtime column,
#   0 = skip it, auto = add it when node and bench/compare_ort/node_modules
#   are there (npm install --ignore-scripts in bench/compare_ort);
#   BASELINE [none]: another build directory (an earlier commit, say) whose
#   sparse-infer is timed in auto mode right after this one's, same inputs.
set -euo pipefail

if [[ "${QUANT:-0}" == 1 ]]; then
  exec bash "$(dirname "${BASH_SOURCE[0]}")/quant_models.sh" "$@"
fi

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$repo/build}" 2>/dev/null && pwd) || {
  echo "error: build directory '${1:-$repo/build}' does not exist" >&2
  exit 1
}
if [[ "$build" == "$repo" ]]; then
  echo "error: BUILD_DIR is the source tree; generated models must live in a build directory" >&2
  exit 1
fi
bin=$build/tools/sparse-infer
baseline_bin=${BASELINE:+$BASELINE/tools/sparse-infer}
for b in "$bin" $baseline_bin; do
  if [[ ! -x "$b" ]]; then
    echo "error: $b not found; build it: cmake --build $(dirname "$(dirname "$b")") --target sparse-infer" >&2
    exit 1
  fi
done

zeros_list=${FFN_ZEROS-0.5 0.9 0.97}
sigmoid=${FFN_SIGMOID:-1}
d_model=${FFN_D_MODEL:-2048}
hidden=${FFN_HIDDEN:-8192}
blocks=${FFN_BLOCKS:-4}
n_inputs=${FFN_INPUTS:-32}
threads_list=${THREADS:-1 2}
iters=${ITERS:-100}
warmup=${WARMUP:-10}
compare_ort=${COMPARE_ORT:-auto}
python=/usr/bin/python3

ort_dir=$repo/bench/compare_ort
use_ort=0
case "$compare_ort" in
  0) ;;
  1 | auto)
    if command -v node >/dev/null && [[ -d "$ort_dir/node_modules/onnxruntime-node" ]]; then
      use_ort=1
    elif [[ "$compare_ort" == 1 ]]; then
      echo "error: COMPARE_ORT=1 but node or $ort_dir/node_modules/onnxruntime-node is missing" >&2
      exit 1
    else
      echo "note: no ONNX Runtime column (node or bench/compare_ort/node_modules missing;" \
        "run 'npm install --ignore-scripts' in bench/compare_ort)" >&2
    fi
    ;;
  *)
    echo "error: COMPARE_ORT must be 0, 1 or auto" >&2
    exit 1
    ;;
esac

# One folder per size so a small test run never reuses a full-size model.
models_root=$build/ffn_models/d${d_model}_h${hidden}_b${blocks}_n${n_inputs}

# make_model NAME GENERATOR_ARGS...: generates into a temporary folder and
# renames it, so an interrupted run never leaves a model that looks complete.
make_model() {
  local dir=$models_root/$1
  shift
  if [[ -f "$dir/model.onnx" && -f "$dir/zeros.json" ]]; then
    return
  fi
  echo "generating $dir ..." >&2
  rm -rf "$dir" "$dir.partial"
  mkdir -p "$models_root"
  "$python" "$repo/models/make_ffn_stack.py" --out "$dir.partial" "$@" \
    --d-model "$d_model" --hidden "$hidden" --blocks "$blocks" --inputs "$n_inputs" >&2
  mv "$dir.partial" "$dir"
}

# field NAME LINE: the number after NAME= in LINE.
field() {
  sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<" $2"
}

# bench_p50 MODEL_DIR THREADS [OPTIONS...]: prints the p50 latency in
# microseconds and the session's weight memory over the model's constants.
bench_p50() {
  local dir=$1 threads=$2 out last p50 memory
  shift 2
  if ! out=$("${engine:-$bin}" "$dir/model.onnx" --inputs-dir "$dir" --bench --warmup "$warmup" \
    --iters "$iters" --threads "$threads" "$@" 2>&1); then
    echo "error: sparse-infer failed on $dir (threads $threads $*):" >&2
    echo "$out" >&2
    return 1
  fi
  last=$(tail -n 1 <<<"$out")
  memory=$(sed -n 's/^weight memory: .*: \([0-9.]*\)x$/\1/p' <<<"$out")
  p50=$(field p50 "$last")
  if [[ "$last" != latency_us* || -z "$p50" ]]; then
    echo "error: unexpected last line from sparse-infer: $last" >&2
    return 1
  fi
  echo "$p50 ${memory:-null}"
}

# check_output MODEL_DIR: sparse-infer's output for set 0 must match the
# generator's numpy reference; a fast wrong answer is no result.
check_output() {
  local dir=$1 out=$build/ffn_models/.check_output.npy
  "$bin" "$dir/model.onnx" "$dir/test_data_set_0/input_0.pb" -o "$out" >/dev/null
  "$python" - "$out" "$dir/test_data_set_0/output_0.pb" <<'PY'
import sys
import numpy as np
import onnx
import onnx.numpy_helper
got = np.load(sys.argv[1])
ref = onnx.numpy_helper.to_array(onnx.load_tensor(sys.argv[2]))
err = float(np.abs(got - ref).max() / max(float(np.abs(ref).max()), 1e-30)) \
    if got.shape == ref.shape else float("inf")
if not err <= 1e-4:
    sys.exit("error: sparse-infer output differs from the reference in %s: "
             "max |diff| / max |ref| = %g" % (sys.argv[2], err))
PY
  rm -f "$out"
}

models=()
for z in $zeros_list; do
  make_model "relu_z$z" --zeros "$z"
  models+=("relu_z$z")
done
if [[ "$sigmoid" == 1 ]]; then
  make_model sigmoid --no-relu
  models+=(sigmoid)
fi

header="| model | zeros | threads | p50 auto (us) | p50 dense (us) | dense/auto | memory auto | p50 single-copy (us) | dense/single | memory single |"
rule="|---|---|---|---|---|---|---|---|---|---|"
if [[ -n "$baseline_bin" ]]; then
  header+=" p50 baseline auto (us) | baseline/auto |"
  rule+="---|---|"
fi
if [[ $use_ort == 1 ]]; then
  header+=" p50 ORT (us) | ORT/auto | ORT output ok |"
  rule+="---|---|---|"
fi
md_rows=()
json_rows=()
for name in "${models[@]}"; do
  dir=$models_root/$name
  check_output "$dir"
  zeros=$("$python" -c 'import json,sys
p = json.load(open(sys.argv[1]))["per_block"]
print("%.3f" % (sum(b["mean"] for b in p) / len(p)))' "$dir/zeros.json")
  for t in $threads_list; do
    read -r auto mem_auto <<<"$(bench_p50 "$dir" "$t")"
    read -r single mem_single <<<"$(bench_p50 "$dir" "$t" --single-copy)"
    read -r dense _ <<<"$(bench_p50 "$dir" "$t" --dense)"
    speedup=$(awk -v a="$auto" -v d="$dense" 'BEGIN { printf "%.2f", (a > 0 ? d / a : 0) }')
    speedup_single=$(awk -v a="$single" -v d="$dense" 'BEGIN { printf "%.2f", (a > 0 ? d / a : 0) }')
    row="| $name | $zeros | $t | $auto | $dense | ${speedup}x | ${mem_auto}x | $single | ${speedup_single}x | ${mem_single}x |"
    json="{\"model\":\"$name\",\"zeros\":$zeros,\"threads\":$t,\"p50_auto_us\":$auto,\"p50_dense_us\":$dense,\"dense_over_auto\":$speedup"
    json+=",\"memory_auto\":$mem_auto,\"p50_single_us\":$single,\"dense_over_single\":$speedup_single,\"memory_single\":$mem_single"
    if [[ -n "$baseline_bin" ]]; then
      read -r base _ <<<"$(engine=$baseline_bin bench_p50 "$dir" "$t")"
      ratio=$(awk -v a="$auto" -v b="$base" 'BEGIN { printf "%.2f", (a > 0 ? b / a : 0) }')
      row+=" $base | ${ratio}x |"
      json+=",\"p50_baseline_auto_us\":$base,\"baseline_over_auto\":$ratio"
    fi
    if [[ $use_ort == 1 ]]; then
      # Exit 2 (ORT disagrees with the reference) still times the run; the
      # table then says so in its last column.
      ort_out=$(node "$ort_dir/compare.js" "$dir/model.onnx" "$dir" --threads "$t" \
        --iters "$iters" --warmup "$warmup" --skip-engine 2>&1) || true
      last=$(tail -n 1 <<<"$ort_out")
      ort="" agree=""
      if [[ "$last" == ort_us* ]]; then
        ort=$(field p50_net "$last")
        agree=$(field agree "$last")
      else
        echo "warning: compare.js failed on $dir (threads $t):" >&2
        echo "$ort_out" >&2
      fi
      if [[ -n "$ort" ]]; then
        ratio=$(awk -v a="$auto" -v o="$ort" 'BEGIN { printf "%.2f", (a > 0 ? o / a : 0) }')
        row+=" $ort | ${ratio}x | $agree |"
        json+=",\"p50_ort_net_us\":$ort,\"ort_over_auto\":$ratio,\"ort_output_agrees\":\"$agree\""
      else
        row+=" failed | - | - |"
      fi
    fi
    md_rows+=("$row")
    json_rows+=("$json}")
    echo "$row" >&2
  done
done

commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
  echo "# FFN stack benchmark"
  echo
  echo "d_model $d_model, hidden $hidden, $blocks blocks, batch 1, $n_inputs input sets cycled;" \
    "warmup $warmup, $iters iterations; $(nproc) cores; commit $commit; $(date -u +%Y-%m-%dT%H:%MZ)."
  echo "zeros = mean measured zero fraction after the ReLUs. dense/auto > 1: the sparse path is faster."
  if [[ $use_ort == 1 ]]; then
    echo "ORT = onnxruntime-node p50 minus its per-call overhead (an Identity model of the same shape);" \
      "ORT/auto > 1: sparse-infer is faster; output ok = ORT matches the reference on set 0."
  fi
  echo
  echo "$header"
  echo "$rule"
  printf '%s\n' "${md_rows[@]}"
} >"$build/ffn_results.md.tmp"
{
  echo "{\"d_model\":$d_model,\"hidden\":$hidden,\"blocks\":$blocks,\"inputs\":$n_inputs," \
    "\"warmup\":$warmup,\"iters\":$iters,\"cores\":$(nproc),\"commit\":\"$commit\",\"rows\":["
  (
    IFS=,
    echo "${json_rows[*]}"
  )
  echo "]}"
} >"$build/ffn_results.json.tmp"
mv "$build/ffn_results.md.tmp" "$build/ffn_results.md"
mv "$build/ffn_results.json.tmp" "$build/ffn_results.json"
cat "$build/ffn_results.md"
