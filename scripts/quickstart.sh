#!/usr/bin/env bash
# Install what building and running needs (scripts/install-deps.sh build),
# build Release without tests and benchmarks, and classify a handwritten digit
# with the bundled ReLU MLP.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSI_BUILD_TESTS=OFF -DSI_BUILD_BENCH=OFF >/dev/null
cmake --build build -j"$(nproc)" --target sparse-infer
echo "true label: $(head -n 1 models/digits_mlp/labels.txt)"
build/tools/sparse-infer models/digits_mlp.onnx models/digits_mlp/input_0.bin
