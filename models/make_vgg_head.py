#!/usr/bin/env python3
"""A VGG/AlexNet-style classifier with the classic 4096-wide head, exported
from PyTorch: Conv-ReLU-MaxPool blocks -> Flatten -> Gemm 4096 -> ReLU ->
Gemm 4096 -> ReLU -> Gemm 1000. The ReLU zeros reach the first Gemm through
MaxPool and Flatten, the others directly: all three Gemms can skip zero rows.

    make_vgg_head.py --out DIR [--size 32] [--seed 0]

Writes DIR/model.onnx (dynamic batch) and DIR/test_data_set_{0,1}/ with
input_0.pb and PyTorch's output_0.pb (batch 1 and batch 3). A small input
keeps it quick; the head is full size (about 110 MB of weights).
"""
import argparse
import os

import numpy as np
import onnx
import torch
from onnx import numpy_helper


def build(size):
    feat = 32 * (size // 4) * (size // 4)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(feat, 4096), torch.nn.ReLU(),
        torch.nn.Linear(4096, 4096), torch.nn.ReLU(),
        torch.nn.Linear(4096, 1000))


def write_set(path, name_in, x, name_out, y):
    os.makedirs(path, exist_ok=True)
    onnx.save_tensor(numpy_helper.from_array(x, name_in), os.path.join(path, "input_0.pb"))
    onnx.save_tensor(numpy_helper.from_array(y, name_out), os.path.join(path, "output_0.pb"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    model = build(args.size).eval()
    os.makedirs(args.out, exist_ok=True)
    x1 = torch.rand(1, 3, args.size, args.size)
    torch.onnx.export(model, x1, os.path.join(args.out, "model.onnx"), opset_version=13,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    with torch.no_grad():
        for i, batch in enumerate((1, 3)):
            x = x1 if batch == 1 else torch.rand(batch, 3, args.size, args.size)
            y = model(x)
            write_set(os.path.join(args.out, f"test_data_set_{i}"), "image", x.numpy(), "logits",
                      y.numpy().astype(np.float32))


if __name__ == "__main__":
    main()
