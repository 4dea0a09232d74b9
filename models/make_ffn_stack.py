#!/usr/bin/python3
"""Writes an OPT-style FFN-stack benchmark model with a chosen ReLU sparsity.

    /usr/bin/python3 models/make_ffn_stack.py --out DIR --zeros 0.9 \
        [--d-model 2048 --hidden 8192 --blocks 4 --inputs 32 --batch 1 --seed 0]
    /usr/bin/python3 models/make_ffn_stack.py --out DIR --no-relu [...]

Each block is `x = x + fc2(relu(fc1(LayerNorm(x))))`, the feed-forward half
of an OPT decoder layer, with fc1/fc2 as Gemm(transB=1) over [out, in]
weights as PyTorch's nn.Linear exports them. Weights are random, so a plain
random network would sit at ~50% zeros; the fc1 bias is instead calibrated
on the model's own inputs so that every input's zero fraction after every
ReLU lands on the target (0.5, 0.9, 0.97 mimic trained OPT layers). The
calibration is verified by a float32 numpy forward pass: the script exits
non-zero if any input of any block is more than --tolerance off.

--no-relu swaps Relu for Sigmoid: the same shapes with no exact zeros, the
model on which the sparse path must cost no more than dense.

Output, all of it generated (never commit it: at full size model.onnx is
~0.5 GB):
    DIR/model.onnx                       input x [batch, d_model] -> y
    DIR/test_data_set_K/input_0.pb       x for set K (K = 0..inputs-1)
    DIR/test_data_set_K/output_0.pb      y from the numpy forward pass
    DIR/identity.onnx                    x -> Identity -> y, same shapes; what a
                                         runtime's per-call overhead costs alone
    DIR/zeros.json                       measured zero fractions per input/block
"""

import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnx.helper as oh
import onnx.numpy_helper

OPSET = 17
LN_EPSILON = 1e-5
WEIGHT_STD = 0.02
# Protobuf cannot serialise a message of 2 GiB or more; stay clear of it
# rather than switching to external data, so the model is one file.
MAX_MODEL_BYTES = 2**31 - 64 * 2**20


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output folder (created)")
    p.add_argument("--zeros", type=float,
                   help="target fraction of exact zeros after each ReLU")
    p.add_argument("--no-relu", action="store_true",
                   help="Sigmoid instead of Relu: a model with no sparsity")
    p.add_argument("--d-model", type=int, default=2048)
    p.add_argument("--hidden", type=int, default=8192)
    p.add_argument("--blocks", type=int, default=4)
    p.add_argument("--inputs", type=int, default=32,
                   help="number of input sets (test_data_set_*)")
    p.add_argument("--batch", type=int, default=1,
                   help="rows per input set")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tolerance", type=float, default=0.02,
                   help="allowed |zero fraction - target| per input and block")
    args = p.parse_args(argv)
    if args.no_relu == (args.zeros is not None):
        p.error("give exactly one of --zeros FRACTION and --no-relu")
    if args.zeros is not None and not 0.0 <= args.zeros <= 1.0:
        p.error("--zeros must be within [0, 1]")
    for name in ("d_model", "hidden", "blocks", "inputs", "batch"):
        if getattr(args, name) < 1:
            p.error("--%s must be at least 1" % name.replace("_", "-"))
    weight_bytes = args.blocks * 2 * args.d_model * args.hidden * 4
    if weight_bytes > MAX_MODEL_BYTES:
        p.error("weights would take %d bytes; one .onnx file must stay under "
                "2 GiB" % weight_bytes)
    return args


def layer_norm(x, scale, bias):
    # Same float32 arithmetic as ONNX LayerNormalization with stash_type=1.
    mean = x.mean(axis=-1, keepdims=True, dtype=np.float32)
    centered = x - mean
    var = (centered * centered).mean(axis=-1, keepdims=True, dtype=np.float32)
    return centered / np.sqrt(var + np.float32(LN_EPSILON)) * scale + bias


def make_weights(rng, args):
    blocks = []
    d, h = args.d_model, args.hidden
    for _ in range(args.blocks):
        blocks.append({
            "ln_scale": (1.0 + 0.1 * rng.standard_normal(d)).astype(np.float32),
            "ln_bias": (0.02 * rng.standard_normal(d)).astype(np.float32),
            "w1": (WEIGHT_STD * rng.standard_normal((h, d), dtype=np.float32)),
            "b1": None,  # calibrated, or random for --no-relu
            "w2": (WEIGHT_STD * rng.standard_normal((d, h), dtype=np.float32)),
            "b2": (WEIGHT_STD * rng.standard_normal(d)).astype(np.float32),
        })
    return blocks


def fc1_preactivation(block, x):
    return layer_norm(x, block["ln_scale"], block["ln_bias"]) @ block["w1"].T


def activation(pre, relu):
    if relu:
        return np.maximum(pre, np.float32(0.0))
    return (np.float32(1.0) / (np.float32(1.0) + np.exp(-pre))).astype(np.float32)


def block_forward(block, x, relu):
    """One block in float32; returns (new x, activation after the ReLU)."""
    act = activation(fc1_preactivation(block, x) + block["b1"], relu)
    return x + (act @ block["w2"].T + block["b2"]), act


def calibrate_bias(h, target, rng):
    """fc1 bias putting `target` of each row's hidden units at or below zero.

    h is the bias-free pre-activation [rows, hidden]. A unit j whose bias is
    set between its k_j-th and (k_j+1)-th smallest value over the rows is
    zero on exactly those k_j rows. Starting every unit at k_j ~ target*rows
    makes each unit fire on a different subset of inputs (the active rows
    change from input to input, as in a trained model, which keeps a
    benchmark cycling over the inputs out of the cache); the per-row counts
    then scatter around the goal, and moving single units' k_j by one (each
    such move changes exactly one row's count) brings every row to it.
    """
    rows, hidden = h.shape
    order = np.argsort(h, axis=0, kind="stable")  # order[r, j]: r-th smallest row
    rank = np.empty_like(order)
    rank[order, np.arange(hidden)] = np.arange(rows)[:, None]
    base = target * rows
    k = np.floor(base).astype(np.int64) + (rng.random(hidden) < base - np.floor(base))
    k = np.minimum(k, rows)
    counts = (rank < k[None, :]).sum(axis=1).astype(np.int64)
    goal = target * hidden
    for _ in range(64):
        moved = False
        for j in rng.permutation(hidden):
            kj = k[j]
            if kj > 0 and counts[order[kj - 1, j]] - goal > 0.5:
                counts[order[kj - 1, j]] -= 1
                k[j] = kj - 1
                moved = True
            elif kj < rows and goal - counts[order[kj, j]] > 0.5:
                counts[order[kj, j]] += 1
                k[j] = kj + 1
                moved = True
        if not moved:
            break
    sorted_h = np.take_along_axis(h, order, axis=0).astype(np.float64)
    cols = np.arange(hidden)
    # Midway between the last zeroed row and the first active one; past the
    # ends by a margin when a unit is zero on all rows or on none.
    threshold = 0.5 * (sorted_h[np.maximum(k - 1, 0), cols] +
                       sorted_h[np.minimum(k, rows - 1), cols])
    margin = 0.25 * (sorted_h[-1] - sorted_h[0]) + 1e-3
    threshold = np.where(k == 0, sorted_h[0] - margin, threshold)
    threshold = np.where(k == rows, sorted_h[-1] + margin, threshold)
    return (-threshold).astype(np.float32)


def build_model(blocks, args):
    d = args.d_model
    nodes, inits = [], []
    x = "x"
    for i, b in enumerate(blocks):
        p = "block%d." % i
        names = {}
        for key, arr in (("ln_scale", b["ln_scale"]), ("ln_bias", b["ln_bias"]),
                         ("fc1.weight", b["w1"]), ("fc1.bias", b["b1"]),
                         ("fc2.weight", b["w2"]), ("fc2.bias", b["b2"])):
            names[key] = p + key
            inits.append(onnx.numpy_helper.from_array(arr, name=p + key))
        out = "y" if i == len(blocks) - 1 else p + "out"
        nodes += [
            oh.make_node("LayerNormalization", [x, names["ln_scale"], names["ln_bias"]],
                         [p + "ln"], name=p + "ln", axis=-1, epsilon=LN_EPSILON),
            oh.make_node("Gemm", [p + "ln", names["fc1.weight"], names["fc1.bias"]],
                         [p + "fc1"], name=p + "fc1", transB=1),
            oh.make_node("Sigmoid" if args.no_relu else "Relu", [p + "fc1"],
                         [p + "act"], name=p + "act"),
            oh.make_node("Gemm", [p + "act", names["fc2.weight"], names["fc2.bias"]],
                         [p + "fc2"], name=p + "fc2", transB=1),
            oh.make_node("Add", [x, p + "fc2"], [out], name=p + "residual"),
        ]
        x = out
    graph = oh.make_graph(
        nodes, "ffn_stack",
        [oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", d])],
        [oh.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", d])],
        initializer=inits)
    return oh.make_model(graph, opset_imports=[oh.make_opsetid("", OPSET)],
                         producer_name="make_ffn_stack.py")


def build_identity(args):
    graph = oh.make_graph(
        [oh.make_node("Identity", ["x"], ["y"], name="identity")], "identity",
        [oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", args.d_model])],
        [oh.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", args.d_model])])
    return oh.make_model(graph, opset_imports=[oh.make_opsetid("", OPSET)],
                         producer_name="make_ffn_stack.py")


def write_tensor_pb(path, array, name):
    with open(path, "wb") as f:
        f.write(onnx.numpy_helper.from_array(array, name=name).SerializeToString())


def main(argv):
    args = parse_args(argv)
    relu = not args.no_relu
    rng_weights = np.random.default_rng([args.seed, 0])
    rng_inputs = np.random.default_rng([args.seed, 1])
    rng_calib = np.random.default_rng([args.seed, 2])

    blocks = make_weights(rng_weights, args)
    inputs = [rng_inputs.standard_normal((args.batch, args.d_model), dtype=np.float32)
              for _ in range(args.inputs)]

    # Calibrate block by block on all input rows: block i's inputs depend on
    # the biases chosen for blocks before it.
    x = np.concatenate(inputs, axis=0)
    for b in blocks:
        if relu:
            b["b1"] = calibrate_bias(fc1_preactivation(b, x), args.zeros, rng_calib)
        else:
            b["b1"] = (WEIGHT_STD * rng_calib.standard_normal(args.hidden)).astype(np.float32)
        x, _ = block_forward(b, x, relu)

    # Verify and make the reference outputs one input set at a time, the way
    # a runtime sees them.
    fractions = np.empty((args.inputs, args.blocks))  # per input set and block
    outputs = []
    for s, xs in enumerate(inputs):
        y = xs
        for i, b in enumerate(blocks):
            y, act = block_forward(b, y, relu)
            fractions[s, i] = float((act == 0).mean())
        outputs.append(y)

    target = args.zeros if relu else 0.0
    ok = True
    print("zero fraction after each %s (target %.3f, tolerance %.3f, %d inputs):"
          % ("ReLU" if relu else "Sigmoid", target, args.tolerance, args.inputs))
    for i in range(args.blocks):
        col = fractions[:, i]
        worst = float(np.abs(col - target).max())
        bad = relu and worst > args.tolerance
        ok = ok and not bad
        print("  block %d: min %.4f mean %.4f max %.4f%s"
              % (i, col.min(), col.mean(), col.max(), "  OUT OF TOLERANCE" if bad else ""))
    if not all(np.isfinite(y).all() for y in outputs):
        print("error: the forward pass produced non-finite outputs", file=sys.stderr)
        ok = False

    if not ok:
        print("error: calibration failed; nothing written", file=sys.stderr)
        return 1

    model = build_model(blocks, args)
    onnx.checker.check_model(model)
    identity = build_identity(args)
    onnx.checker.check_model(identity, full_check=True)

    os.makedirs(args.out, exist_ok=True)
    onnx.save(model, os.path.join(args.out, "model.onnx"))
    onnx.save(identity, os.path.join(args.out, "identity.onnx"))
    for s, (xs, y) in enumerate(zip(inputs, outputs)):
        folder = os.path.join(args.out, "test_data_set_%d" % s)
        os.makedirs(folder, exist_ok=True)
        write_tensor_pb(os.path.join(folder, "input_0.pb"), xs, "x")
        write_tensor_pb(os.path.join(folder, "output_0.pb"), y, "y")
    summary = {
        "activation": "relu" if relu else "sigmoid",
        "target": target,
        "tolerance": args.tolerance,
        "d_model": args.d_model, "hidden": args.hidden, "blocks": args.blocks,
        "inputs": args.inputs, "batch": args.batch, "seed": args.seed,
        "per_block": [{"min": float(fractions[:, i].min()),
                       "mean": float(fractions[:, i].mean()),
                       "max": float(fractions[:, i].max())} for i in range(args.blocks)],
        "per_input": fractions.round(6).tolist(),
    }
    with open(os.path.join(args.out, "zeros.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    print("wrote %s (%d input sets)" % (args.out, args.inputs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
