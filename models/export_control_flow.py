#!/usr/bin/env python3
"""Exports two TorchScript models with control flow for the conformance runner.

    export_control_flow.py --out DIR

DIR/if_branch: a data-dependent `if` (ONNX If) whose then-branch is
Linear -> ReLU -> Linear (the openWakeWord verifier pattern: the second
Linear reads ReLU zeros, inside the branch), else-branch a single Linear.
DIR/loop_steps: a for-loop whose trip count is an input (ONNX Loop) carrying
a state through ReLU -> Linear each step.

Each gets model.onnx and test_data_set_K/{input,output}_N.pb with PyTorch's
outputs, in the ONNX backend-test layout. Weights come from fixed seeds.
"""
import argparse
import os
import shutil
import warnings

import onnx
import onnx.numpy_helper
import torch
from torch import nn

OPSET = 17


class IfBranch(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 64)
        self.fc2 = nn.Linear(64, 8)
        self.other = nn.Linear(16, 8)

    def forward(self, x):
        if bool(x.sum() > 0):
            y = self.fc2(torch.relu(self.fc1(x)))
        else:
            y = self.other(x) * 2.0
        return y


class LoopSteps(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 16)

    def forward(self, x, steps):
        h = x
        for _ in range(int(steps)):
            h = self.fc(torch.relu(h)) + x
        return h


def write_pb(path, array, name):
    with open(path, "wb") as f:
        f.write(onnx.numpy_helper.from_array(array, name=name).SerializeToString())


def export(model, sets, in_names, out_dir):
    tmp = out_dir + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    path = os.path.join(tmp, "model.onnx")
    scripted = torch.jit.script(model)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(scripted, sets[0], path, opset_version=OPSET, input_names=in_names,
                          output_names=["y"],
                          dynamic_axes={in_names[0]: {0: "batch"}, "y": {0: "batch"}})
    onnx.checker.check_model(onnx.load(path), full_check=True)
    for k, args in enumerate(sets):
        with torch.no_grad():
            y = model(*args)
        set_dir = os.path.join(tmp, "test_data_set_%d" % k)
        os.makedirs(set_dir)
        for i, (t, n) in enumerate(zip(args, in_names)):
            write_pb(os.path.join(set_dir, "input_%d.pb" % i), t.numpy(), n)
        write_pb(os.path.join(set_dir, "output_0.pb"), y.numpy(), "y")
    shutil.rmtree(out_dir, ignore_errors=True)
    os.rename(tmp, out_dir)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    model = IfBranch().eval()
    with torch.no_grad():
        model.fc1.bias -= 0.3  # about three quarters of the ReLU outputs are 0
    x = torch.randn(3, 16, generator=gen)
    # Both branches: a positive and a negative sum, and a batch of 1.
    sets = [(x.abs(),), (-x.abs(),), (x[:1].abs(),)]
    export(model, sets, ["x"], os.path.join(args.out, "if_branch"))

    torch.manual_seed(2)
    model = LoopSteps().eval()
    with torch.no_grad():
        model.fc.weight *= 0.5  # keeps the state bounded over the steps
    x = torch.randn(2, 16, generator=gen)
    sets = [(x, torch.tensor(3)), (x, torch.tensor(0)), (x[:1], torch.tensor(7))]
    export(model, sets, ["x", "steps"], os.path.join(args.out, "loop_steps"))


if __name__ == "__main__":
    main()
