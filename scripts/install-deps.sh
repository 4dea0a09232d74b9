#!/usr/bin/env bash
# Installs the Debian packages sparse-infer needs; does nothing when they are
# all present. Packages come without their recommendations
# (--no-install-recommends), so every package a step needs is named here.
#
#   scripts/install-deps.sh build   what scripts/quickstart.sh needs: configure
#                                   with -DSI_BUILD_TESTS=OFF -DSI_BUILD_BENCH=OFF,
#                                   build and run the command line
#   scripts/install-deps.sh [test]  everything (the default): build, plus the
#                                   test suite, sanitizers, fuzzing, benchmarks
#                                   and the models exported from PyTorch
#
# scripts/fresh-root-check.sh proves both lists complete on a fresh Debian 12.
set -euo pipefail

# The build: compiler (GCC's OpenMP comes with it), CMake, oneDNN, ONNX,
# Protobuf. Debian's oneDNN CMake package calls find_package(OpenCL), and
# libdnnl-dev only recommends ocl-icd-opencl-dev.
build_packages=(
  build-essential cmake pkg-config
  libdnnl-dev ocl-icd-opencl-dev
  libonnx-dev libprotobuf-dev protobuf-compiler
)
# The rest, for scripts/test.sh and bench/: GoogleTest, Google Benchmark,
# clang with its OpenMP, sanitizer and libFuzzer runtimes, clang-format and git
# (the format test), the ONNX backend test data, Python with PyTorch for the
# models generated and exported at test time, and for the Python module and its
# tests pybind11's CMake package, Python's headers and pytest, and for the
# server (sparse-infer serve) cpp-httplib and nlohmann-json, and for
# `cpack -G DEB` file (its dpkg-shlibdeps step needs it). The module and
# the server are built only when their libraries are found, so the quick
# start goes without.
test_packages=(
  "${build_packages[@]}"
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libomp-dev libclang-rt-14-dev libfuzzer-14-dev clang-format git
  libonnx-testdata
  python3-numpy python3-onnx python3-torch python3-torchvision python3-sklearn python3-matplotlib
  pybind11-dev python3-dev python3-pytest
  libcpp-httplib-dev nlohmann-json3-dev
  file
)

case ${1:-test} in
  build) packages=("${build_packages[@]}") ;;
  test) packages=("${test_packages[@]}") ;;
  *) echo "usage: $0 [build|test]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing: ${missing[*]}"
# Wait for another apt or dpkg run to finish rather than fail at once.
apt=(apt-get -o DPkg::Lock::Timeout=600)
$sudo "${apt[@]}" update -qq
$sudo env DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${#missing[@]} packages and their dependencies in $SECONDS s"
