#!/usr/bin/python3
"""Trains, exports and checks the bundled default model: a ReLU MLP on digits.

Regenerates models/digits_mlp.onnx and everything under models/digits_mlp/
deterministically (fixed seeds, one thread, deterministic torch algorithms).

    /usr/bin/python3 models/make_digits_mlp.py

The model is trained with an L1 penalty on the hidden activations so that most
of them are exactly zero: that activation sparsity is what the engine exploits.
A second copy of the same architecture is trained without the penalty only to
report how sparse a plain ReLU network is; it is not written out.
"""

import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SPLIT_SEED = 0
TORCH_SEED = 0
TEST_FRACTION = 0.25
HIDDEN = 256
EPOCHS = 300
BATCH_SIZE = 64
LEARNING_RATE = 1e-3
# Mean over samples of the summed |activation| of all 512 hidden units.
DEFAULT_L1 = 1e-3
OPSET = 17
NUM_SINGLE_SAMPLES = 8
BATCH_SAMPLES = 16
# The engine is held to 1e-4 against PyTorch; the exported file itself must
# agree with PyTorch much more tightly so that any gap is the engine's.
EXPORT_TOLERANCE = 1e-5
MIN_ACCURACY = 0.98
MIN_ZERO_FRACTION = 0.90

HERE = os.path.dirname(os.path.abspath(__file__))
ONNX_PATH = os.path.join(HERE, "digits_mlp.onnx")
DATA_DIR = os.path.join(HERE, "digits_mlp")


def load_split():
    digits = load_digits()
    # Pixels are integers 0..16; the model's input contract is pixels / 16.
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=TEST_FRACTION, stratify=y,
                            random_state=SPLIT_SEED)


def make_model():
    return nn.Sequential(
        nn.Linear(64, HIDDEN), nn.ReLU(),
        nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
        nn.Linear(HIDDEN, 10))


def forward_with_hidden(model, x):
    """Returns the logits and the output of every ReLU."""
    hidden = []
    for layer in model:
        x = layer(x)
        if isinstance(layer, nn.ReLU):
            hidden.append(x)
    return x, hidden


def train(x_train, y_train, l1_weight):
    # Same seed for both runs so the penalty is the only difference.
    torch.manual_seed(TORCH_SEED)
    model = make_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.from_numpy(x_train)
    y = torch.from_numpy(y_train)
    shuffle = torch.Generator().manual_seed(TORCH_SEED)
    model.train()
    for _ in range(EPOCHS):
        order = torch.randperm(len(x), generator=shuffle)
        for start in range(0, len(x), BATCH_SIZE):
            idx = order[start:start + BATCH_SIZE]
            logits, hidden = forward_with_hidden(model, x[idx])
            loss = loss_fn(logits, y[idx])
            if l1_weight > 0:
                activity = sum(h.abs().sum(dim=1) for h in hidden)
                loss = loss + l1_weight * activity.mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    return model


def evaluate(model, x_np, y_np):
    with torch.no_grad():
        logits, hidden = forward_with_hidden(model, torch.from_numpy(x_np))
    predictions = logits.argmax(dim=1).numpy()
    zeros = [float((h == 0).float().mean()) for h in hidden]
    # Units that never fire on the split could be pruned outright.
    dead = [int((h == 0).all(dim=0).sum()) for h in hidden]
    total = sum(int((h == 0).sum()) for h in hidden)
    count = sum(h.numel() for h in hidden)
    return {
        "accuracy": float((predictions == y_np).mean()),
        "zero_fraction_per_relu": zeros,
        "zero_fraction_all_hidden": total / count,
        "units_zero_on_every_sample_per_relu": dead,
    }


def export(model):
    example = torch.zeros(1, 64, dtype=torch.float32)
    torch.onnx.export(
        model, example, ONNX_PATH, opset_version=OPSET,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        do_constant_folding=True)
    proto = onnx.load(ONNX_PATH)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def numpy_forward(proto, x):
    """Independent interpreter for the ops this export produces.

    onnx 1.12 has no onnx.reference, so the exported graph is executed node by
    node from its own initializers to prove the file, not just the PyTorch
    module, computes the logits.
    """
    values = {init.name: onnx.numpy_helper.to_array(init)
              for init in proto.graph.initializer}
    values[proto.graph.input[0].name] = x
    for node in proto.graph.node:
        args = [values[name] for name in node.input]
        attrs = {a.name: onnx.helper.get_attribute_value(a)
                 for a in node.attribute}
        if node.op_type == "Gemm":
            a, b = args[0], args[1]
            if attrs.get("transA", 0):
                a = a.T
            if attrs.get("transB", 0):
                b = b.T
            out = attrs.get("alpha", 1.0) * (a @ b)
            if len(args) > 2:
                out = out + attrs.get("beta", 1.0) * args[2]
        elif node.op_type == "MatMul":
            out = args[0] @ args[1]
        elif node.op_type == "Add":
            out = args[0] + args[1]
        elif node.op_type == "Relu":
            out = np.maximum(args[0], 0)
        else:
            raise RuntimeError("numpy_forward: unexpected op %s in node %s"
                               % (node.op_type, node.name))
        values[node.output[0]] = out.astype(np.float32)
    return values[proto.graph.output[0].name]


def check_interface(proto):
    def dims(value_info):
        return [d.dim_param or d.dim_value
                for d in value_info.type.tensor_type.shape.dim]
    graph = proto.graph
    f32 = onnx.TensorProto.FLOAT
    assert [i.name for i in graph.input] == ["input"], graph.input
    assert [o.name for o in graph.output] == ["logits"], graph.output
    assert graph.input[0].type.tensor_type.elem_type == f32
    assert graph.output[0].type.tensor_type.elem_type == f32
    assert dims(graph.input[0]) == ["batch", 64], dims(graph.input[0])
    assert dims(graph.output[0]) == ["batch", 10], dims(graph.output[0])
    assert proto.opset_import[0].version == OPSET


def write_tensor_pb(path, array, name):
    tensor = onnx.numpy_helper.from_array(array, name=name)
    with open(path, "wb") as f:
        f.write(tensor.SerializeToString())


def write_test_data(model, x_test, y_test):
    os.makedirs(DATA_DIR, exist_ok=True)
    # The first test-split rows: input_k is row k and batch_16 is rows 0..15,
    # so batch_16's first rows repeat input_0..7 and batched runs can be
    # checked against single-sample runs.
    singles = x_test[:NUM_SINGLE_SAMPLES]
    batch = np.ascontiguousarray(x_test[:BATCH_SAMPLES])
    with torch.no_grad():
        single_logits = [model(torch.from_numpy(s[None, :])).numpy()
                         for s in singles]
        batch_logits = model(torch.from_numpy(batch)).numpy()
    for k, (sample, logits) in enumerate(zip(singles, single_logits)):
        sample = np.ascontiguousarray(sample[None, :], dtype="<f4")
        logits = np.ascontiguousarray(logits, dtype="<f4")
        sample.tofile(os.path.join(DATA_DIR, "input_%d.bin" % k))
        logits.tofile(os.path.join(DATA_DIR, "expected_%d.bin" % k))
        case = os.path.join(DATA_DIR, "test_data_set_%d" % k)
        os.makedirs(case, exist_ok=True)
        write_tensor_pb(os.path.join(case, "input_0.pb"), sample, "input")
        write_tensor_pb(os.path.join(case, "output_0.pb"), logits, "logits")
    batch.astype("<f4").tofile(os.path.join(DATA_DIR, "batch_16.bin"))
    batch_logits.astype("<f4").tofile(
        os.path.join(DATA_DIR, "expected_batch_16.bin"))
    with open(os.path.join(DATA_DIR, "labels.txt"), "w") as f:
        f.writelines("%d\n" % label for label in y_test[:NUM_SINGLE_SAMPLES])
    return singles, np.concatenate(single_logits), batch, batch_logits


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--l1", type=float, default=DEFAULT_L1,
                        help="weight of the hidden-activation L1 penalty")
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    x_train, x_test, y_train, y_test = load_split()

    sparse_model = train(x_train, y_train, args.l1)
    sparse = evaluate(sparse_model, x_test, y_test)
    sparse["train_accuracy"] = evaluate(sparse_model, x_train,
                                        y_train)["accuracy"]
    dense_model = train(x_train, y_train, 0.0)
    dense = evaluate(dense_model, x_test, y_test)
    dense["train_accuracy"] = evaluate(dense_model, x_train,
                                       y_train)["accuracy"]

    proto = export(sparse_model)
    check_interface(proto)
    singles, single_logits, batch, batch_logits = write_test_data(
        sparse_model, x_test, y_test)

    with torch.no_grad():
        test_logits = sparse_model(torch.from_numpy(x_test)).numpy()
    export_error = max(
        float(np.abs(numpy_forward(proto, x_test) - test_logits).max()),
        float(np.abs(numpy_forward(proto, singles) - single_logits).max()),
        float(np.abs(numpy_forward(proto, batch) - batch_logits).max()))

    metrics = {
        "architecture": "64-256-256-10 ReLU MLP (Gemm, Relu, Gemm, Relu, Gemm)",
        "input_contract": "float32 [N, 64], 8x8 digit pixels / 16 in [0, 1]",
        "dataset": "sklearn.datasets.load_digits",
        "train_samples": int(len(x_train)),
        "test_samples": int(len(x_test)),
        "split_seed": SPLIT_SEED,
        "torch_seed": TORCH_SEED,
        "epochs": EPOCHS,
        "batch_size": BATCH_SIZE,
        "learning_rate": LEARNING_RATE,
        "opset": OPSET,
        "l1_weight": args.l1,
        "l1_penalised": sparse,
        "unpenalised": dense,
        "onnx_vs_torch_max_abs_error": export_error,
        "onnx_file_bytes": os.path.getsize(ONNX_PATH),
        "torch_version": torch.__version__,
        "onnx_version": onnx.__version__,
    }
    with open(os.path.join(DATA_DIR, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")

    def line(name, m):
        return ("%-12s test acc %.4f  train acc %.4f  zeros relu1 %.4f  "
                "relu2 %.4f  all hidden %.4f  never-firing units %s"
                % (name, m["accuracy"], m["train_accuracy"],
                   m["zero_fraction_per_relu"][0],
                   m["zero_fraction_per_relu"][1],
                   m["zero_fraction_all_hidden"],
                   m["units_zero_on_every_sample_per_relu"]))
    print("digits MLP, %d train / %d test samples, L1 weight %g"
          % (len(x_train), len(x_test), args.l1))
    print(line("L1", sparse))
    print(line("no penalty", dense))
    print("ONNX (numpy forward) vs PyTorch max abs error: %.3g" % export_error)
    print("wrote %s (%d bytes) and %s"
          % (ONNX_PATH, metrics["onnx_file_bytes"], DATA_DIR))

    failures = []
    if sparse["accuracy"] < MIN_ACCURACY:
        failures.append("test accuracy %.4f < %.2f"
                        % (sparse["accuracy"], MIN_ACCURACY))
    if sparse["zero_fraction_all_hidden"] < MIN_ZERO_FRACTION:
        failures.append("hidden zero fraction %.4f < %.2f"
                        % (sparse["zero_fraction_all_hidden"],
                           MIN_ZERO_FRACTION))
    if export_error > EXPORT_TOLERANCE:
        failures.append("ONNX export differs from PyTorch by %.3g"
                        % export_error)
    if failures:
        print("FAILED: " + "; ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
