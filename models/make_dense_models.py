#!/usr/bin/python3
"""Exports the transformer-sized dense models the ONNX Runtime comparison runs (issue 10).

    /usr/bin/python3 models/make_dense_models.py OUT_DIR [--models NAME ...]
                                                 [--inputs 8] [--seed 0]

NAME is matmul_8192x2048, opt_decoder_block or bert_layer (all three by
default). Each gets, in the ONNX backend-test layout that
bench/compare_ort/compare.js and `sparse-infer --inputs-dir` read:

    OUT_DIR/NAME/model.onnx                     opset 17, static shapes
    OUT_DIR/NAME/test_data_set_K/input_N.pb     K = 0..inputs-1, one per model input
    OUT_DIR/NAME/test_data_set_K/output_0.pb    PyTorch's output for set K
    OUT_DIR/NAME/identity.onnx                  the same inputs, each -> Identity:
                                                what a runtime's per-call overhead
                                                costs alone (compare.js subtracts it)
    OUT_DIR/NAME/summary.json                   shapes, parameters, ReLU zeros

- matmul_8192x2048: y = x @ W, x [1, 8192] random normal, W [8192, 2048] a
  constant (64 MiB, beyond the last-level cache), one MatMul node.
- opt_decoder_block: one OPT-style pre-LayerNorm decoder layer over hidden
  states [1, 32, 1024]: causal 16-head self-attention (q/k/v/out Linear, q
  scaled, heads by reshape/transpose, additive causal mask, softmax) and a
  ReLU FFN 1024 -> 4096 -> 1024, residuals around both. Weights are
  PyTorch's default init (random, ~50% zeros after the ReLU; trained OPT
  layers leave 90-97%, but at 32 tokens the rows' active sets cover almost
  every weight row anyway).
- bert_layer: one BERT-base post-LayerNorm encoder layer, d 768, 12 heads,
  FFN 3072 with exact GELU (the Erf pattern), sequence 128, batch 1. Two
  inputs: hidden states [1, 128, 768] and attention_mask [1, 128] (1 = token,
  0 = padding, turned into BERT's additive -10000 mask inside the graph);
  set K pads its last 4K tokens, so the sets differ in shape of work too.

Weights are random (nothing can be downloaded), from fixed seeds on one
torch thread: two runs write the same files. LayerNorm scales are drawn from
U(0.8, 1.2) and shifts from N(0, 0.05) so they are not the identity. If
OUT_DIR/NAME/stamp.json records the same script, model and options, the
model is left alone. Each model is written to NAME.tmp and renamed, so an
interrupted run never leaves one that looks complete.
"""

import argparse
import hashlib
import json
import os
import shutil
import sys

import numpy as np
import onnx
import onnx.helper as oh
import onnx.numpy_helper
import torch
from torch import nn

OPSET = 17
MODELS = ("matmul_8192x2048", "opt_decoder_block", "bert_layer")

OPT = {"d": 1024, "heads": 16, "hidden": 4096, "tokens": 32}
BERT = {"d": 768, "heads": 12, "hidden": 3072, "tokens": 128}
# OPT masks with the most negative float; -1e9 underflows exp() to exactly 0
# after the max is subtracted, without -inf arithmetic.
CAUSAL_MASK_VALUE = -1e9
BERT_MASK_VALUE = -10000.0


class MatMulModel(nn.Module):
    def __init__(self, k, n):
        super().__init__()
        self.w = nn.Parameter(torch.randn(k, n) * k ** -0.5)

    def forward(self, x):
        return torch.matmul(x, self.w)


class SelfAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.d, self.heads = d, heads
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d)
        self.v = nn.Linear(d, d)
        self.out = nn.Linear(d, d)
        self.scale = (d // heads) ** -0.5

    def split(self, x):
        b, t = x.shape[0], x.shape[1]
        return x.reshape(b, t, self.heads, self.d // self.heads).transpose(1, 2)

    def forward(self, x, mask):
        b, t = x.shape[0], x.shape[1]
        q = self.split(self.q(x) * self.scale)
        k, v = self.split(self.k(x)), self.split(self.v(x))
        probs = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) + mask, dim=-1)
        ctx = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, self.d)
        return self.out(ctx)


class OptDecoderBlock(nn.Module):
    def __init__(self, d, heads, hidden, tokens):
        super().__init__()
        self.ln_attn = nn.LayerNorm(d)
        self.attn = SelfAttention(d, heads)
        self.ln_ffn = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, hidden)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden, d)
        upper = torch.triu(torch.ones(tokens, tokens), diagonal=1)
        self.register_buffer("causal_mask", upper * CAUSAL_MASK_VALUE)

    def forward(self, x):
        x = x + self.attn(self.ln_attn(x), self.causal_mask)
        return x + self.fc2(self.relu(self.fc1(self.ln_ffn(x))))


class BertLayer(nn.Module):
    def __init__(self, d, heads, hidden, tokens):
        super().__init__()
        del tokens
        self.attn = SelfAttention(d, heads)
        self.ln_attn = nn.LayerNorm(d, eps=1e-12)
        self.fc1 = nn.Linear(d, hidden)
        self.gelu = nn.GELU()  # exact: exports x * 0.5 * (1 + Erf(x / sqrt 2))
        self.fc2 = nn.Linear(hidden, d)
        self.ln_ffn = nn.LayerNorm(d, eps=1e-12)

    def forward(self, x, attention_mask):
        # [b, t] of 1/0 -> additive [b, 1, 1, t], as HF's get_extended_attention_mask.
        mask = (1.0 - attention_mask[:, None, None, :]) * BERT_MASK_VALUE
        x = self.ln_attn(x + self.attn(x, mask))
        return self.ln_ffn(x + self.fc2(self.gelu(self.fc1(x))))


def randomise_layernorms(model, gen):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                n = m.weight.numel()
                m.weight.copy_(torch.empty(n).uniform_(0.8, 1.2, generator=gen))
                m.bias.copy_(0.05 * torch.randn(n, generator=gen))


def make(name, seed, n_inputs):
    """(module, [input tuples], input names, output name)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    if name == "matmul_8192x2048":
        model = MatMulModel(8192, 2048)
        inputs = [(torch.randn(1, 8192, generator=gen),) for _ in range(n_inputs)]
        return model, inputs, ["x"], "y"
    if name == "opt_decoder_block":
        model = OptDecoderBlock(**OPT)
        shape = (1, OPT["tokens"], OPT["d"])
        inputs = [(torch.randn(*shape, generator=gen),) for _ in range(n_inputs)]
        randomise_layernorms(model, gen)
        return model, inputs, ["hidden_in"], "hidden"
    model = BertLayer(**BERT)
    t = BERT["tokens"]
    inputs = []
    for k in range(n_inputs):
        mask = torch.ones(1, t)
        pad = min(4 * k, t - 1)
        if pad:
            mask[:, t - pad:] = 0.0
        inputs.append((torch.randn(1, t, BERT["d"], generator=gen), mask))
    randomise_layernorms(model, gen)
    return model, inputs, ["hidden_in", "attention_mask"], "hidden"


def write_pb(path, array, name):
    with open(path, "wb") as f:
        f.write(onnx.numpy_helper.from_array(array, name=name).SerializeToString())


def identity_model(names, arrays):
    """Each input -> Identity -> an output of the same shape."""
    nodes, ins, outs = [], [], []
    for name, a in zip(names, arrays):
        nodes.append(oh.make_node("Identity", [name], [name + "_out"], name="identity_" + name))
        ins.append(oh.make_tensor_value_info(name, onnx.TensorProto.FLOAT, list(a.shape)))
        outs.append(oh.make_tensor_value_info(name + "_out", onnx.TensorProto.FLOAT, list(a.shape)))
    graph = oh.make_graph(nodes, "identity", ins, outs)
    return oh.make_model(graph, opset_imports=[oh.make_opsetid("", OPSET)],
                         producer_name="make_dense_models.py")


def relu_zero_fraction(model, args):
    fractions = []
    hooks = [m.register_forward_hook(
        lambda mod, inp, out: fractions.append(float((out == 0).float().mean())))
        for m in model.modules() if isinstance(m, nn.ReLU)]
    with torch.no_grad():
        model(*args)
    for h in hooks:
        h.remove()
    return fractions


def export(name, out_dir, seed, n_inputs, stamp):
    model, inputs, in_names, out_name = make(name, seed, n_inputs)
    model.eval()
    tmp = out_dir + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    path = os.path.join(tmp, "model.onnx")
    with torch.no_grad():
        torch.onnx.export(model, inputs[0], path, opset_version=OPSET,
                          input_names=in_names, output_names=[out_name],
                          do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    identity = identity_model(in_names, [t.numpy() for t in inputs[0]])
    onnx.checker.check_model(identity, full_check=True)
    onnx.save(identity, os.path.join(tmp, "identity.onnx"))
    summary = {"model": name, "seed": seed, "opset": OPSET, "torch": torch.__version__,
               "parameters": sum(p.numel() for p in model.parameters()),
               "model_bytes": os.path.getsize(path),
               "inputs": {n: list(t.shape) for n, t in zip(in_names, inputs[0])},
               "sets": []}
    for k, args in enumerate(inputs):
        with torch.no_grad():
            y = model(*args)
        set_dir = os.path.join(tmp, "test_data_set_%d" % k)
        os.makedirs(set_dir)
        for i, (t, n) in enumerate(zip(args, in_names)):
            write_pb(os.path.join(set_dir, "input_%d.pb" % i), t.numpy(), n)
        write_pb(os.path.join(set_dir, "output_0.pb"), y.numpy(), out_name)
        summary["sets"].append({"output_shape": list(y.shape),
                                "output_abs_max": float(y.abs().max()),
                                "relu_zero_fractions": [round(z, 4) for z in
                                                        relu_zero_fraction(model, args)]})
    with open(os.path.join(tmp, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    with open(os.path.join(tmp, "stamp.json"), "w") as f:
        json.dump(stamp, f)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.rename(tmp, out_dir)
    return summary


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out_dir", help="output folder (created)")
    p.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    p.add_argument("--inputs", type=int, default=8, help="input sets per model")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.inputs < 1:
        p.error("--inputs must be at least 1")

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    with open(os.path.abspath(__file__), "rb") as f:
        script_hash = hashlib.sha256(f.read()).hexdigest()
    os.makedirs(args.out_dir, exist_ok=True)
    for name in args.models:
        out_dir = os.path.join(args.out_dir, name)
        stamp = {"script_sha256": script_hash, "model": name, "seed": args.seed,
                 "inputs": args.inputs, "torch": torch.__version__}
        try:
            with open(os.path.join(out_dir, "stamp.json")) as f:
                if json.load(f) == stamp:
                    print("%s: up to date in %s" % (name, out_dir))
                    continue
        except (OSError, ValueError):
            pass
        s = export(name, out_dir, args.seed, args.inputs, stamp)
        zeros = [z for st in s["sets"] for z in st["relu_zero_fractions"]]
        print("%s: %d parameters, %.1f MB, %d sets, set 0 output |max| %.3g, ReLU zeros %s -> %s"
              % (name, s["parameters"], s["model_bytes"] / 1e6, len(s["sets"]),
                 s["sets"][0]["output_abs_max"],
                 "mean %.3f" % (sum(zeros) / len(zeros)) if zeros else "none", out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
