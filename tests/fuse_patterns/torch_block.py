"""Exports a small transformer block from PyTorch at opset 13 (LayerNorm and
GELU decomposed, as real pre-opset-17/20 models are), runs it through the
sparse-infer command line and checks that every LayerNorm and GELU was fused
and that the output matches PyTorch.

usage: torch_block.py SPARSE_INFER WORK_DIR
"""
import math
import os
import subprocess
import sys

import numpy as np
import torch


class NewGelu(torch.nn.Module):  # GPT-2
    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class BertGelu(torch.nn.Module):  # HF BERT
    def forward(self, x):
        return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ln = torch.nn.LayerNorm(32)
        self.fc1 = torch.nn.Linear(32, 64)
        self.fc2 = torch.nn.Linear(64, 32)
        self.ln2 = torch.nn.LayerNorm(32, elementwise_affine=False)
        self.new_gelu = NewGelu()
        self.bert_gelu = BertGelu()

    def forward(self, x):
        h = torch.nn.functional.gelu(self.fc1(self.ln(x)))
        h = torch.nn.functional.gelu(self.fc2(h), approximate="tanh")
        return self.ln2(self.bert_gelu(self.new_gelu(h)) + x)


def main():
    cli, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    torch.manual_seed(0)
    model = Block().eval()
    x = torch.randn(2, 7, 32) * 3
    path = os.path.join(work, "block.onnx")
    torch.onnx.export(model, (x,), path, opset_version=13, input_names=["x"],
                      output_names=["y"], dynamic_axes={"x": {0: "batch"}})
    np.save(os.path.join(work, "x.npy"), x.numpy())
    info = subprocess.run([cli, path, "--info"], capture_output=True, text=True, check=True).stdout
    ops = {}
    for line in info.splitlines():
        parts = line.strip().split(": ")
        if len(parts) == 2 and parts[1].isdigit():
            ops[parts[0]] = int(parts[1])
    want = {"LayerNormalization": 2, "Gelu": 4, "FusedGemm": 2}
    for op, n in want.items():
        if ops.get(op) != n:
            sys.exit(f"expected {n} {op} after optimisation, got {ops.get(op)}:\n{info}")
    for op in ("ReduceMean", "Erf", "Tanh", "Pow", "Sqrt", "Div"):
        if op in ops:
            sys.exit(f"{op} left unfused:\n{info}")
    out = os.path.join(work, "y.npy")
    subprocess.run([cli, path, os.path.join(work, "x.npy"), "-o", out], check=True,
                   stdout=subprocess.DEVNULL)
    got, want_y = np.load(out), model(x).detach().numpy()
    err = np.abs(got - want_y).max()
    if not err <= 1e-5:
        sys.exit(f"output differs from PyTorch by {err}")
    print(f"fused {ops}; max |diff| vs PyTorch {err:.2e}")


if __name__ == "__main__":
    main()
