#!/bin/sh
# Checks the C API the way a service consumes it.
#
#   install_test.sh <build dir> <source dir>
#       installs the C API (install component sparse_infer, so the test does
#       not depend on unrelated targets being built) into a temporary prefix,
#       checks the library exports only si_* symbols, builds
#       examples/classify.c against the installed package twice (pkg-config +
#       cc, and find_package from a CMake project) and checks both binaries'
#       predictions on the digits model.
#   install_test.sh --check <classify binary> <models dir>
#       checks one classify binary's predictions (the build tree's example).
#
# Expected classes are the arg-max of PyTorch's logits (expected_*.bin), read
# with od, independently of the engine.
set -eu

fail() { echo "install_test: FAIL: $*" >&2; exit 1; }

# Prints the arg-max of each 10-float row of a raw float32 file.
expected_classes() {
  od -An -v -t f4 -w40 "$1" | awk '{ best = 1; for (i = 2; i <= NF; i++) if ($i + 0 > $best + 0) best = i; print best - 1 }'
}

# check_predictions <classify> <models dir>: runs input_0..7 and batch_16.
check_predictions() {
  classify=$1 models=$2
  for name in 0 1 2 3 4 5 6 7 batch_16; do
    case $name in
      batch_16) input=$models/digits_mlp/batch_16.bin ;;
      *) input=$models/digits_mlp/input_$name.bin ;;
    esac
    out=$("$classify" "$models/digits_mlp.onnx" "$input") || fail "$classify failed on $input"
    got=$(echo "$out" | sed -n 's/^prediction: \([0-9]*\) .*/\1/p')
    want=$(expected_classes "$models/digits_mlp/expected_$name.bin")
    [ -n "$want" ] || fail "no expected classes in expected_$name.bin"
    [ "$got" = "$want" ] || fail "$classify on $input predicted '$(echo $got)', expected '$(echo $want)'"
  done
  echo "predictions ok: $classify"
}

if [ "${1:-}" = "--check" ]; then
  [ $# -eq 3 ] || fail "usage: $0 --check <classify binary> <models dir>"
  check_predictions "$2" "$3"
  exit 0
fi
[ $# -eq 2 ] || fail "usage: $0 <build dir> <source dir>"
build=$1 src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/si_install_test.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --component sparse_infer --prefix "$prefix" >/dev/null || fail "cmake --install"
pc=$(find "$prefix" -name sparse_infer.pc)
[ -n "$pc" ] || fail "no sparse_infer.pc under $prefix"
pcdir=$(dirname "$pc")
libdir=$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=libdir sparse_infer)
[ -f "$prefix/include/sparse_infer.h" ] || fail "header not installed"
lib=$(readlink -f "$libdir/libsparse_infer.so") || fail "no libsparse_infer.so in $libdir"
[ -f "$lib" ] || fail "no libsparse_infer.so in $libdir"

# Only the C API is exported, under a versioned soname.
leaked=$(nm -D --defined-only "$lib" | awk '{ print $NF }' | grep -v '^si_' || true)
[ -z "$leaked" ] || fail "non-API symbols exported: $(echo "$leaked" | head -5 | tr '\n' ' ')"
nm -D --defined-only "$lib" | grep -q ' T si_run$' || fail "si_run is not exported"
readelf -d "$lib" | grep -q 'SONAME.*libsparse_infer\.so\.[0-9]' || fail "no versioned SONAME"

# 1. pkg-config and a plain C compiler.
flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs sparse_infer) || fail "pkg-config"
cc -std=c99 -Wall -Wextra -pedantic -Werror "$src/examples/classify.c" $flags \
  -o "$work/classify_pc" || fail "cc with pkg-config flags: $flags"
LD_LIBRARY_PATH=$libdir ldd "$work/classify_pc" | grep -q "$libdir/libsparse_infer" ||
  fail "classify_pc does not resolve the installed library"
LD_LIBRARY_PATH=$libdir check_predictions "$work/classify_pc" "$src/models"

# 2. A CMake project using find_package.
mkdir "$work/consumer"
cat > "$work/consumer/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.16)
project(si_consumer C)
find_package(sparse_infer 0.1 REQUIRED CONFIG)
add_executable(classify "$src/examples/classify.c")
set_target_properties(classify PROPERTIES C_STANDARD 99 C_EXTENSIONS OFF)
target_link_libraries(classify PRIVATE sparse_infer::sparse_infer)
CMAKE
cmake -S "$work/consumer" -B "$work/consumer/build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release >"$work/consumer.log" 2>&1 || { cat "$work/consumer.log" >&2; fail "consumer configure"; }
cmake --build "$work/consumer/build" >>"$work/consumer.log" 2>&1 || { cat "$work/consumer.log" >&2; fail "consumer build"; }
check_predictions "$work/consumer/build/classify" "$src/models"
echo "install_test: ok"
