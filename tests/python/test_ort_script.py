"""An ONNX Runtime script runs unchanged but for its import line."""
import os
import subprocess
import sys

import numpy as np

from conftest import MODELS, read_f32

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ort_style_script.py")


def test_ort_script_runs_with_one_import_changed(tmp_path):
    original = open(SCRIPT).read().splitlines(keepends=True)
    ported = [line.replace("import onnxruntime as ort", "import sparse_infer as ort")
              for line in original]
    assert sum(a != b for a, b in zip(original, ported)) == 1
    script = tmp_path / "ported.py"
    script.write_text("".join(ported))
    data = os.path.join(MODELS, "digits_mlp")
    # -W error: a warning (an unknown provider, a deprecation) fails the run.
    run = subprocess.run([sys.executable, "-W", "error", str(script),
                          os.path.join(MODELS, "digits_mlp.onnx"),
                          os.path.join(data, "input_0.bin"), os.path.join(data, "batch_16.bin")],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == ("input input tensor(float) ['batch', 64], "
                        "output logits tensor(float) ['batch', 10]")
    assert lines[1] == "prediction: 2"
    # PyTorch's classes (expected_batch_16.bin holds its logits).
    want = read_f32("expected_batch_16.bin", (16, 10)).argmax(axis=1)
    assert lines[2] == "batch predictions: " + " ".join(str(int(c)) for c in want)
