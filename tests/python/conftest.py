"""Fixtures of the Python module's tests (run by ctest with PYTHONPATH set to
the build tree's python/ folder)."""
import os

import numpy as np
import pytest

MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models")
DIGITS = os.path.join(MODELS, "digits_mlp.onnx")


def read_f32(name, shape):
    return np.fromfile(os.path.join(MODELS, "digits_mlp", name), dtype="<f4").reshape(shape)


@pytest.fixture(scope="session")
def digits_path():
    return DIGITS


@pytest.fixture(scope="session")
def digit_input():
    """input_0.bin: one 8x8 digit, pixels / 16, whose true label is 2."""
    return read_f32("input_0.bin", (1, 64))


@pytest.fixture(scope="session")
def torch_mlp(tmp_path_factory):
    """A small ReLU MLP exported from PyTorch at test time, with a symbolic
    batch dim and two outputs (float logits, int64 argmax)."""
    import torch
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(32, 48), nn.ReLU(), nn.Linear(48, 7))

        def forward(self, x):
            y = self.body(x)
            return y, y.argmax(dim=1)

    torch.manual_seed(0)
    net = Net().eval()
    path = str(tmp_path_factory.mktemp("torch") / "mlp.onnx")
    torch.onnx.export(net, torch.zeros(2, 32), path, input_names=["x"],
                      output_names=["logits", "label"], dynamic_axes={"x": {0: "n"}},
                      opset_version=17)
    return net, path
