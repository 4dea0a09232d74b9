#!/usr/bin/python3
"""Exports the dense CNNs the ONNX Runtime comparison runs (issue 10).

    /usr/bin/python3 models/make_cnn_models.py OUT_DIR [--models NAME ...] [--seed 0]

NAME is resnet50, mobilenet_v2 or relu_cnn (all three by default). Each gets
OUT_DIR/NAME/model.onnx (opset 17, dynamic batch), OUT_DIR/NAME/
test_data_set_0/{input_0.pb,output_0.pb} (one 1x3x224x224 image and
PyTorch's output for it: the layout bench/compare_ort/compare.js and
`sparse-infer --inputs-dir` read) and OUT_DIR/NAME/identity.onnx (x ->
Identity -> y with the input's shape: what compare.js subtracts as ONNX
Runtime's per-call binding overhead).

- resnet50, mobilenet_v2: torchvision's architectures with random weights
  (nothing can be downloaded), BatchNorm statistics calibrated as in
  models/export_models.py so activations keep their scale through the depth.
  Exported in eval mode, so PyTorch folds BatchNorm into the convolutions:
  both runtimes get the same Conv+bias graph.
- relu_cnn: a plain VGG-style Conv+ReLU network: five 3x3 Conv+ReLU stages
  (32, 64, 128, 128, 256 channels), MaxPool 2x2 after the first four, global
  average pool, Linear 256 -> 1000.

Every model is seeded and exported on one torch thread: two runs write the
same files.
"""

import argparse
import os
import sys

import numpy as np
import onnx
import onnx.helper as oh
import onnx.numpy_helper
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_models  # noqa: E402  (BatchNorm calibration shared with the test models)

OPSET = 17
MODELS = ("resnet50", "mobilenet_v2", "relu_cnn")
SHAPE = (1, 3, 224, 224)


def relu_cnn():
    layers, c_in = [], 3
    for i, c in enumerate((32, 64, 128, 128, 256)):
        layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.ReLU()]
        if i < 4:
            layers.append(nn.MaxPool2d(2))
        c_in = c
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, 1000)]
    return nn.Sequential(*layers)


def make(name, seed):
    if name == "relu_cnn":
        torch.manual_seed(seed)
        model = relu_cnn().eval()
        gen = torch.Generator().manual_seed(seed + 1)
        return model, torch.rand(*SHAPE, generator=gen)
    model, inputs, _, _, _ = export_models.make_cnn(name, seed)
    return model.eval(), inputs[0][0]


def identity_model():
    dims = ["batch"] + list(SHAPE[1:])
    graph = oh.make_graph([oh.make_node("Identity", ["x"], ["y"], name="identity")], "identity",
                          [oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, dims)],
                          [oh.make_tensor_value_info("y", onnx.TensorProto.FLOAT, dims)])
    return oh.make_model(graph, opset_imports=[oh.make_opsetid("", OPSET)],
                         producer_name="make_cnn_models.py")


def write_pb(path, array, name):
    with open(path, "wb") as f:
        f.write(onnx.numpy_helper.from_array(array, name=name).SerializeToString())


def export(name, out_dir, seed):
    model, x = make(name, seed)
    d = os.path.join(out_dir, name)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    path = os.path.join(d, "model.onnx")
    torch.onnx.export(model, x, path, opset_version=OPSET, input_names=["input"],
                      output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    onnx.checker.check_model(onnx.load(path), full_check=True)
    with torch.no_grad():
        y = model(x).numpy().astype(np.float32)
    write_pb(os.path.join(d, "test_data_set_0", "input_0.pb"), x.numpy(), "input")
    write_pb(os.path.join(d, "test_data_set_0", "output_0.pb"), y, "logits")
    onnx.save(identity_model(), os.path.join(d, "identity.onnx"))
    print(f"{name}: {path}")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    for name in args.models:
        export(name, args.out_dir, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
