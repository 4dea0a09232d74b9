#!/usr/bin/env bash
# Regenerates bench/RESULTS.md and bench/speedup.png: the kernel sweep, the
# FFN-stack models end to end (bench/run_models.sh), then the plot.
#
#   bench/make_results.sh [BUILD_DIR]      (default: <repo>/build)
#
# Takes 20-40 minutes at full size on 2 cores; run it on a quiet machine.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
cmake --build "$build" --target sparse_matmul_bench sparse-infer -j"$(nproc)"
"$build/bench/sparse_matmul_bench" --benchmark_format=json --benchmark_out="$build/kernel_sweep.json" \
  --benchmark_out_format=json >/dev/null
"$repo/bench/run_models.sh" "$build"
/usr/bin/python3 "$repo/bench/plot_results.py" "$build/kernel_sweep.json" "$build/ffn_results.json" \
  "$repo/bench"
