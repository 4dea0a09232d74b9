#!/usr/bin/env bash
# Dense models against ONNX Runtime in one command: for each case and thread
# count, ONNX Runtime (onnxruntime-node, compare.js, net of its per-call
# binding overhead), sparse-infer in auto mode and sparse-infer --dense, on
# the same model, the same rotating input sets and the same thread count,
# one right after the other. Both engines' outputs for set 0 are checked
# against the generator's PyTorch/numpy reference (max |diff| <= 1e-4 max |ref|).
#
#   bench/compare_ort/dense_models.sh BUILD_DIR [OUT_DIR]
#   bench/compare_ort/dense_models.sh -h | --help
#
# Cases (CASES selects a subset, in this order):
#   matmul_8192x2048   y = x W, W [8192, 2048] constant, x [1, 8192] dense
#   opt_decoder_block  one OPT layer: 32 tokens, d 1024, 16 heads, FFN 4096 ReLU
#   bert_layer         one BERT-base layer: 128 tokens, d 768, 12 heads, FFN 3072 GELU
#                      (models/make_dense_models.py, 8 input sets each)
#   resnet50 mobilenet_v2 relu_cnn
#                      models/make_cnn_models.py (one input set); skipped with a
#                      note when that script is not there
#   ffn_relu_z0.5 ffn_relu_z0.9 ffn_relu_z0.97 ffn_sigmoid
#                      models/make_ffn_stack.py as bench/run_models.sh makes them
#                      (d 2048, hidden 8192, 4 blocks, batch 1, 32 input sets),
#                      shared with it under BUILD_DIR/ffn_models/
#
# Models are generated once under BUILD_DIR/dense_models/ (the FFN stacks
# under BUILD_DIR/ffn_models/); a model already there and up to date is
# reused. Results go to OUT_DIR (default BUILD_DIR/dense_models_results):
# dense_models.md (the table, also printed), dense_models.json and
# dense_models.csv, and the raw per-run output in raw/.
#
# Environment (defaults in brackets):
#   THREADS ["1 2"]  ITERS [30]  WARMUP [3]  timed and untimed runs per
#                    engine, case and thread count (both engines the same)
#   CASES [all of the above]
#   COMPARE_ORT [auto]  1 = fail without onnxruntime-node, 0 = sparse-infer
#                    only, auto = ORT when node and bench/compare_ort/node_modules
#                    are there (npm install --ignore-scripts in bench/compare_ort)
#   MAKE_CNN_MODELS [<repo>/models/make_cnn_models.py]  the CNN generator
#                    (to try one from another branch)
#
# sparse-infer runs with OMP_NUM_THREADS set to the thread count: oneDNN
# sizes its OpenMP teams when primitives are made at load, before the
# session's own setting (models/README.md). At the defaults, once the models
# exist, 9 minutes on the shared 2-core development machine at load average
# 2-7, 15 minutes at 7-10 (bench/RESULTS.md); generating them all first adds
# about 4.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
}
if [[ $# -ge 1 && ( "$1" == -h || "$1" == --help ) ]]; then
  usage
  exit 0
fi
if [[ $# -lt 1 || $# -gt 2 || "$1" == -* ]]; then
  echo "usage: $0 BUILD_DIR [OUT_DIR]   ($0 --help for more)" >&2
  exit 1
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "$1" 2>/dev/null && pwd) || {
  echo "error: build directory '$1' does not exist" >&2
  exit 1
}
if [[ "$build" == "$repo" ]]; then
  echo "error: BUILD_DIR is the source tree; generated models must live in a build directory" >&2
  exit 1
fi
out=${2:-$build/dense_models_results}
mkdir -p "$out/raw"
out=$(cd "$out" && pwd)
bin=$build/tools/sparse-infer
if [[ ! -x "$bin" ]]; then
  echo "error: $bin not found; build it: cmake --build $build --target sparse-infer" >&2
  exit 1
fi

python=/usr/bin/python3
threads_list=${THREADS:-1 2}
iters=${ITERS:-30}
warmup=${WARMUP:-3}
all_cases="matmul_8192x2048 opt_decoder_block bert_layer resnet50 mobilenet_v2 relu_cnn"
all_cases+=" ffn_relu_z0.5 ffn_relu_z0.9 ffn_relu_z0.97 ffn_sigmoid"
cases=${CASES:-$all_cases}
cnn_script=${MAKE_CNN_MODELS:-$repo/models/make_cnn_models.py}
compare_ort=${COMPARE_ORT:-auto}
for c in $cases; do
  [[ " $all_cases " == *" $c "* ]] || { echo "error: unknown case '$c' (cases: $all_cases)" >&2; exit 1; }
done
for v in "$iters" "$warmup"; do
  [[ "$v" =~ ^[0-9]+$ ]] || { echo "error: ITERS and WARMUP must be integers" >&2; exit 1; }
done
[[ "$iters" -ge 1 ]] || { echo "error: ITERS must be at least 1" >&2; exit 1; }

use_ort=0
case "$compare_ort" in
  0) ;;
  1 | auto)
    if command -v node >/dev/null && [[ -d "$here/node_modules/onnxruntime-node" ]]; then
      use_ort=1
    elif [[ "$compare_ort" == 1 ]]; then
      echo "error: COMPARE_ORT=1 but node or $here/node_modules/onnxruntime-node is missing" >&2
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

start_s=$(date +%s)
load_start=$(cut -d" " -f1-3 /proc/loadavg)
# The code measured: taken now, so edits during the run do not relabel it.
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git -C "$repo" diff --quiet HEAD 2>/dev/null; then commit+="+dirty"; fi
models=$build/dense_models
ffn_root=$build/ffn_models/d2048_h8192_b4_n32  # bench/run_models.sh's folder for its defaults
mkdir -p "$models"

# --- Models -----------------------------------------------------------------

# model_dir CASE: where CASE's model.onnx and test sets are.
model_dir() {
  case "$1" in
    resnet50 | mobilenet_v2 | relu_cnn) echo "$models/cnn/$1" ;;
    ffn_*) echo "$ffn_root/${1#ffn_}" ;;
    *) echo "$models/$1" ;;
  esac
}

dense_wanted=()
for c in matmul_8192x2048 opt_decoder_block bert_layer; do
  [[ " $cases " == *" $c "* ]] && dense_wanted+=("$c")
done
if [[ ${#dense_wanted[@]} -gt 0 ]]; then
  "$python" "$repo/models/make_dense_models.py" "$models" --models "${dense_wanted[@]}" >&2
fi

skipped=()
if [[ " $cases " == *" resnet50 "* || " $cases " == *" mobilenet_v2 "* || " $cases " == *" relu_cnn "* ]]; then
  if [[ -f "$cnn_script" ]]; then
    # The CNN script regenerates whenever it runs; a stamp of its contents
    # lets a second run reuse the models.
    stamp=$(sha256sum "$cnn_script" | cut -d' ' -f1)
    if [[ "$(cat "$models/cnn/stamp" 2>/dev/null)" != "$stamp" ||
          ! -f "$models/cnn/resnet50/model.onnx" || ! -f "$models/cnn/mobilenet_v2/model.onnx" ||
          ! -f "$models/cnn/relu_cnn/model.onnx" ]]; then
      echo "generating $models/cnn with $cnn_script ..." >&2
      rm -rf "$models/cnn" "$models/cnn.partial"
      "$python" "$cnn_script" "$models/cnn.partial" >&2
      echo "$stamp" >"$models/cnn.partial/stamp"
      mv "$models/cnn.partial" "$models/cnn"
    fi
  else
    echo "skipped: models/make_cnn_models.py not present" >&2
    skipped+=(resnet50 mobilenet_v2 relu_cnn)
  fi
fi

for c in $cases; do
  [[ "$c" == ffn_* ]] || continue
  dir=$(model_dir "$c")
  [[ -f "$dir/model.onnx" && -f "$dir/zeros.json" ]] && continue
  echo "generating $dir ..." >&2
  rm -rf "$dir" "$dir.partial"
  mkdir -p "$ffn_root"
  if [[ "$c" == ffn_sigmoid ]]; then kind=(--no-relu); else kind=(--zeros "${c#ffn_relu_z}"); fi
  "$python" "$repo/models/make_ffn_stack.py" --out "$dir.partial" "${kind[@]}" \
    --d-model 2048 --hidden 8192 --blocks 4 --inputs 32 >&2
  mv "$dir.partial" "$dir"
done

# --- Runs -------------------------------------------------------------------

# si_agree DIR MODE_FLAGS...: runs sparse-infer on set 0 and prints
# "yes|no MAX_REL_ERR" against output_0.pb.
si_agree() {
  local dir=$1 npy=$out/raw/.check.npy
  shift
  local inputs=()
  for f in "$dir"/test_data_set_0/input_*.pb; do inputs+=("$f"); done
  if ! OMP_NUM_THREADS=1 "$bin" "$dir/model.onnx" "${inputs[@]}" -o "$npy" --threads 1 "$@" \
    >/dev/null 2>"$out/raw/.check.err"; then
    echo "error: sparse-infer failed on $dir $*: $(cat "$out/raw/.check.err")" >&2
    echo "no inf"
    return
  fi
  "$python" - "$npy" "$dir/test_data_set_0/output_0.pb" <<'PY'
import sys
import numpy as np
import onnx
import onnx.numpy_helper
got = np.load(sys.argv[1])
ref = onnx.numpy_helper.to_array(onnx.load_tensor(sys.argv[2]))
err = float(np.abs(got - ref).max() / max(float(np.abs(ref).max()), 1e-30)) \
    if got.shape == ref.shape else float("inf")
print("%s %.2e" % ("yes" if err <= 1e-4 else "no", err))
PY
  rm -f "$npy"
}

# si_p50 DIR THREADS TAG FLAGS...: sparse-infer's in-process p50 (us) over the
# rotating input sets, from its --bench --json.
si_p50() {
  local dir=$1 t=$2 tag=$3 json
  shift 3
  json=$out/raw/$tag.json
  if ! OMP_NUM_THREADS=$t "$bin" "$dir/model.onnx" --inputs-dir "$dir" --bench --warmup "$warmup" \
    --iters "$iters" --threads "$t" --json "$json" "$@" >"$out/raw/$tag.log" 2>&1; then
    echo "error: sparse-infer failed on $dir (threads $t $*), see $out/raw/$tag.log" >&2
    echo null
    return
  fi
  "$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["latency_us"]["p50"])' "$json"
}

# field NAME LINE: the value after NAME= in LINE.
field() {
  sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<" $2"
}

rows=$out/raw/rows.tsv
: >"$rows"
for c in $cases; do
  [[ " ${skipped[*]:-} " == *" $c "* ]] && continue
  dir=$(model_dir "$c")
  sets=$(find "$dir" -maxdepth 2 -path '*/test_data_set_*/input_0.pb' | wc -l)
  read -r si_ok si_err <<<"$(si_agree "$dir")"
  read -r sd_ok sd_err <<<"$(si_agree "$dir" --dense)"
  for t in $threads_list; do
    ort_p50=null ort_net=null ort_over=null ort_ok=- ort_err=null
    if [[ $use_ort == 1 ]]; then
      # Exit 2 (ORT disagrees with the reference) still times the run.
      node "$here/compare.js" "$dir/model.onnx" "$dir" --threads "$t" --iters "$iters" \
        --warmup "$warmup" --skip-engine >"$out/raw/$c.t$t.ort.log" 2>&1 || true
      last=$(tail -n 1 "$out/raw/$c.t$t.ort.log")
      if [[ "$last" == ort_us* ]]; then
        ort_p50=$(field p50 "$last") ort_net=$(field p50_net "$last")
        ort_over=$(field overhead "$last") ort_ok=$(field agree "$last")
        ort_err=$(field max_rel_err "$last")
      else
        echo "warning: compare.js failed on $c (threads $t), see $out/raw/$c.t$t.ort.log" >&2
        ort_ok=failed
      fi
    fi
    auto=$(si_p50 "$dir" "$t" "$c.t$t.auto")
    dense=$(si_p50 "$dir" "$t" "$c.t$t.dense" --dense)
    printf '%s\t' "$c" "$t" "$sets" "$ort_p50" "$ort_net" "$ort_over" "$ort_ok" "$ort_err" \
      "$auto" "$dense" "$si_ok" "$si_err" "$sd_ok" >"$out/raw/.row"
    printf '%s\n' "$sd_err" >>"$out/raw/.row"
    cat "$out/raw/.row" >>"$rows"
    echo "$c threads $t: ORT net $ort_net us (agree $ort_ok), auto $auto us, dense $dense us" \
      "(agree $si_ok/$sd_ok)" >&2
  done
done
rm -f "$out/raw/.row" "$out/raw/.check.err"

# --- Report -----------------------------------------------------------------

cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
isa=$(for f in avx2 fma avx512f avx512_bf16 amx_tile; do
  if [[ " $flags " == *" $f "* ]]; then printf '%s ' "$f"; fi
done)
ort_version=$(node -e "console.log(require('$here/node_modules/onnxruntime-node/package.json').version)" \
  2>/dev/null || echo none)
elapsed=$(($(date +%s) - start_s))
DM_CPU=$cpu DM_ISA=${isa% } DM_DATE=$(date -u +%Y-%m-%dT%H:%MZ) DM_COMMIT=$commit \
  DM_ORT=$ort_version DM_THREADS=$threads_list DM_ITERS=$iters DM_WARMUP=$warmup \
  DM_LOAD=$load_start DM_LOAD_END=$(cut -d" " -f1-3 /proc/loadavg) DM_ELAPSED=$elapsed DM_SKIPPED=${skipped[*]:-} \
  "$python" - "$rows" "$out" <<'PY'
import csv, json, os, sys
rows_file, out = sys.argv[1], sys.argv[2]
env = os.environ
meta = {
    "cpu": env["DM_CPU"], "cpu_flags": env["DM_ISA"], "cores": os.cpu_count(),
    "date": env["DM_DATE"], "commit": env["DM_COMMIT"], "onnxruntime_node": env["DM_ORT"],
    "SI_MAX_ISA": env.get("SI_MAX_ISA") or "unset",
    "ONEDNN_MAX_CPU_ISA": env.get("ONEDNN_MAX_CPU_ISA") or "unset",
    "threads": env["DM_THREADS"].split(), "iters": int(env["DM_ITERS"]),
    "warmup": int(env["DM_WARMUP"]), "load_average_at_start": env["DM_LOAD"],
    "load_average_at_end": env["DM_LOAD_END"],
    "elapsed_s": int(env["DM_ELAPSED"]), "skipped": env["DM_SKIPPED"].split(),
}
keys = ["case", "threads", "input_sets", "ort_p50_us", "ort_p50_net_us", "ort_overhead_us",
        "ort_agrees", "ort_max_rel_err", "si_auto_p50_us", "si_dense_p50_us",
        "si_auto_agrees", "si_auto_max_rel_err", "si_dense_agrees", "si_dense_max_rel_err"]
def num(v):
    try:
        return float(v)
    except ValueError:
        return None
rows = []
for line in open(rows_file):
    r = dict(zip(keys, line.rstrip("\n").split("\t")))
    for k in keys:
        if k.endswith(("_us", "_err")):
            r[k] = num(r[k])
    r["threads"], r["input_sets"] = int(r["threads"]), int(r["input_sets"])
    a, o, d = r["si_auto_p50_us"], r["ort_p50_net_us"], r["si_dense_p50_us"]
    r["ort_over_auto"] = round(o / a, 3) if a and o is not None else None
    r["ort_over_dense"] = round(o / d, 3) if d and o is not None else None
    rows.append(r)
def ms(v):
    return "-" if v is None else "%.2f" % (v / 1000)
def agree(ok, err):
    return ok if err is None else "%s (%.0e)" % (ok, err)
lines = [
    "# Dense models: ONNX Runtime vs sparse-infer",
    "",
    "CPU: %s (%d cores; %s); %s; commit %s; onnxruntime-node %s; SI_MAX_ISA %s, "
    "ONEDNN_MAX_CPU_ISA %s; warmup %d, %d timed runs per engine, case and thread count; "
    "load average at start %s, at end %s; %d s." % (
        meta["cpu"], meta["cores"], meta["cpu_flags"], meta["date"], meta["commit"],
        meta["onnxruntime_node"], meta["SI_MAX_ISA"], meta["ONEDNN_MAX_CPU_ISA"],
        meta["warmup"], meta["iters"], meta["load_average_at_start"],
        meta["load_average_at_end"], meta["elapsed_s"]),
    "",
    "ORT = onnxruntime-node p50 minus its binding's per-call overhead (an Identity model "
    "over the same inputs); sparse-infer = its in-process --bench p50, input sets rotating. "
    "Speed vs ORT = ORT / sparse-infer auto (> 1: sparse-infer is faster). Agrees: set 0 "
    "against the PyTorch/numpy reference, max |diff| / max |ref| <= 1e-4 (in brackets).",
    "",
    "| case | threads | ORT p50 ms (net of call overhead) | sparse-infer p50 ms (auto) | "
    "sparse-infer --dense p50 ms | speed vs ORT | ORT agrees | sparse-infer agrees (auto, dense) |",
    "|---|---|---|---|---|---|---|---|",
]
for r in rows:
    speed = "-" if r["ort_over_auto"] is None else "%.2fx" % r["ort_over_auto"]
    lines.append("| %s | %d | %s | %s | %s | %s | %s | %s, %s |" % (
        r["case"], r["threads"], ms(r["ort_p50_net_us"]), ms(r["si_auto_p50_us"]),
        ms(r["si_dense_p50_us"]), speed, agree(r["ort_agrees"], r["ort_max_rel_err"]),
        agree(r["si_auto_agrees"], r["si_auto_max_rel_err"]),
        agree(r["si_dense_agrees"], r["si_dense_max_rel_err"])))
if meta["skipped"]:
    lines += ["", "skipped: %s (models/make_cnn_models.py not present)" % ", ".join(meta["skipped"])]
with open(os.path.join(out, "dense_models.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
with open(os.path.join(out, "dense_models.json"), "w") as f:
    json.dump({"meta": meta, "rows": rows}, f, indent=1)
    f.write("\n")
with open(os.path.join(out, "dense_models.csv"), "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else keys)
    w.writeheader()
    w.writerows(rows)
PY
cat "$out/dense_models.md"
echo "wrote $out/dense_models.md, .json, .csv (${elapsed} s)" >&2
