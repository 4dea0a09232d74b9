#!/usr/bin/env bash
# Installs the Debian packages sparse-infer builds, tests and generates models
# with; does nothing for packages already present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libdnnl-dev libonnx-dev libprotobuf-dev protobuf-compiler
  libgtest-dev libgmock-dev libbenchmark-dev libomp-dev
  libonnx-testdata
  clang libclang-rt-14-dev libfuzzer-14-dev clang-format
  python3-numpy python3-onnx python3-torch python3-torchvision python3-sklearn python3-matplotlib
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
