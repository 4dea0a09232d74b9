#!/bin/sh
# Checks the Python package the way a user gets it:
#
#   install_test.sh <python> <build dir> <source dir>
#
# installs the install component "python" into a temporary prefix, checks the
# files land in Debian's layout (<prefix>/lib/python3/dist-packages/sparse_infer/),
# that the module exports only its entry point and needs no file of the build
# tree, then imports it from outside both trees with PYTHONPATH alone and
# classifies the bundled digit (true label 2).
set -eu

fail() { echo "python install_test: FAIL: $*" >&2; exit 1; }

[ $# -eq 3 ] || fail "usage: $0 <python> <build dir> <source dir>"
python=$1 build=$2 src=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/si_python_install.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --component python --prefix "$prefix" >/dev/null || fail "cmake --install"
pkg=$prefix/lib/python3/dist-packages/sparse_infer
[ -f "$pkg/__init__.py" ] || fail "no $pkg/__init__.py"
module=$(ls "$pkg"/_sparse_infer*.so 2>/dev/null) || fail "no _sparse_infer*.so in $pkg"

exported=$(nm -D --defined-only "$module" | awk '{ print $NF }')
[ "$exported" = "PyInit__sparse_infer" ] ||
  fail "module exports more than PyInit__sparse_infer: $(echo "$exported" | head -5 | tr '\n' ' ')"
if ldd "$module" | grep -q "$build"; then fail "module needs files of the build tree"; fi

cd "$work"
PYTHONPATH=$prefix/lib/python3/dist-packages "$python" -W error - "$src/models" "$pkg" <<'PY' ||
import os, sys
import numpy as np
import sparse_infer
models, pkg = sys.argv[1:3]
assert os.path.dirname(os.path.abspath(sparse_infer.__file__)) == pkg, sparse_infer.__file__
sess = sparse_infer.InferenceSession(os.path.join(models, "digits_mlp.onnx"))
x = np.fromfile(os.path.join(models, "digits_mlp", "input_0.bin"), dtype=np.float32)
(logits,) = sess.run(None, {sess.get_inputs()[0].name: x.reshape(1, 64)})
assert int(logits.argmax()) == 2, logits
print("sparse_infer", sparse_infer.__version__, "from", pkg, "prediction: 2")
PY
  fail "importing the installed package"
echo "python install_test: ok"
