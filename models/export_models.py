#!/usr/bin/python3
"""Exports real architectures from PyTorch with PyTorch's outputs as the reference.

    /usr/bin/python3 models/export_models.py --out DIR [--models NAME ...]

NAME is one of resnet18, mobilenet_v2, opt_decoder, bert_encoder (all four by
default). Each model gets DIR/NAME/model.onnx (opset 17) and, per input,
DIR/NAME/test_data_set_K/input_0.pb + output_0.pb: the ONNX backend-test
layout that tests/conformance's si_conformance and `sparse-infer --bench
--inputs-dir` read.

No weights can be downloaded, so every model is randomly initialised from a
fixed seed, in eval mode, on one torch thread: two runs write the same files.
They are tens of MB each and generated at test time, never committed.

- resnet18, mobilenet_v2: torchvision's architectures at 1x3x224x224. The
  BatchNorm running statistics come from a forward pass over random
  calibration images (so activations keep a realistic scale through the
  depth), then get perturbed (mean + N(0, 0.1) std, var x U(0.5, 1.5)) and
  the affine parameters randomised. The export keeps the BatchNormalization
  nodes (PyTorch would fold them in eval mode), so the engine's own folding
  into the convolutions runs, on non-trivial values.
- opt_decoder: an OPT-style pre-LayerNorm decoder written here: token and
  learned position embeddings (Gather), 4 layers of causal multi-head
  self-attention (d 768, 12 heads; q/k/v Linear, heads by reshape, q k^T
  scaled, additive causal mask sliced to the sequence, softmax, out
  projection) and a ReLU FFN (hidden 3072), a final LayerNorm. Batch and
  sequence are dynamic axes; set 0 is batch 1 x seq 64, set 1 batch 2 x seq
  17, set 2 batch 1 x seq 1 (one decoding step without a cache: the GEMV
  case the sparse path is for). Trained OPT models leave 90-97% of the FFN
  activations at zero, a random network ~50%, so each fc1 bias is shifted
  so that 90% of its unit's pre-activations on calibration tokens are
  negative.
- bert_encoder: one post-LayerNorm BERT encoder layer (d 768, 12 heads,
  hidden 3072) with exact GELU (exported as the Erf pattern) over hidden
  states [batch, seq, 768], dynamic batch and sequence; no exact zeros, so
  the sparse path has nothing to skip.

If DIR/NAME/stamp.json records the same script contents and model, the model
is left as it is (the export is deterministic), so repeated test runs export
once.
"""

import argparse
import hashlib
import json
import math
import os
import shutil
import sys
import warnings

import numpy as np
import onnx
import onnx.numpy_helper
import torch
from torch import nn

OPSET = 17
MODELS = ("resnet18", "mobilenet_v2", "opt_decoder", "bert_encoder")

# OPT-style decoder and BERT-style encoder sizes (OPT-125m / BERT-base widths).
D_MODEL = 768
HEADS = 12
HIDDEN = 3072
OPT_LAYERS = 4
VOCAB = 2048
MAX_POSITIONS = 128
FFN_ZEROS = 0.9
# Added to masked scores: exp() of it underflows to exactly 0 after the max is
# subtracted, without the -inf arithmetic an all-masked row would turn to NaN.
MASK_VALUE = -1e9


def set_seed(seed):
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


# --- CNNs -------------------------------------------------------------------


def calibrate_batchnorm(model, images, gen):
    """Running stats from a cumulative pass over `images`, then perturbed."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the calibration pass
    model.train()
    with torch.no_grad():
        model(images)
        for bn in bns:
            c = bn.num_features
            std = bn.running_var.sqrt()
            bn.running_mean += 0.1 * std * torch.randn(c, generator=gen)
            bn.running_var *= torch.empty(c).uniform_(0.5, 1.5, generator=gen)
            bn.weight.copy_(torch.empty(c).uniform_(0.5, 1.5, generator=gen))
            bn.bias.copy_(0.1 * torch.randn(c, generator=gen))
            bn.momentum = 0.1
    model.eval()


def make_cnn(name, seed):
    import torchvision  # only the CNNs need it

    set_seed(seed)
    model = getattr(torchvision.models, name)(weights=None)
    gen = torch.Generator().manual_seed(seed + 1)
    calibrate_batchnorm(model, torch.randn(8, 3, 224, 224, generator=gen), gen)
    inputs = [(torch.randn(1, 3, 224, 224, generator=gen),)]
    return model, inputs, ["input"], ["logits"], None


# --- Transformers -----------------------------------------------------------


class SelfAttention(nn.Module):
    def __init__(self, causal):
        super().__init__()
        self.q = nn.Linear(D_MODEL, D_MODEL)
        self.k = nn.Linear(D_MODEL, D_MODEL)
        self.v = nn.Linear(D_MODEL, D_MODEL)
        self.out = nn.Linear(D_MODEL, D_MODEL)
        self.scale = (D_MODEL // HEADS) ** -0.5
        self.causal = causal
        if causal:
            upper = torch.triu(torch.ones(MAX_POSITIONS, MAX_POSITIONS), diagonal=1)
            self.register_buffer("mask", upper * MASK_VALUE)

    def heads(self, x):
        b, t = x.shape[0], x.shape[1]
        return x.reshape(b, t, HEADS, D_MODEL // HEADS).transpose(1, 2)

    def forward(self, x):
        b, t = x.shape[0], x.shape[1]
        q, k, v = self.heads(self.q(x)), self.heads(self.k(x)), self.heads(self.v(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) * self.scale
        if self.causal:
            scores = scores + self.mask[:t, :t]
        probs = torch.softmax(scores, dim=-1)
        ctx = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, D_MODEL)
        return self.out(ctx)


class OptLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_attn = nn.LayerNorm(D_MODEL)
        self.attn = SelfAttention(causal=True)
        self.ln_ffn = nn.LayerNorm(D_MODEL)
        self.fc1 = nn.Linear(D_MODEL, HIDDEN)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(HIDDEN, D_MODEL)

    def forward(self, x):
        x = x + self.attn(self.ln_attn(x))
        return x + self.fc2(self.relu(self.fc1(self.ln_ffn(x))))


class OptDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.tokens = nn.Embedding(VOCAB, D_MODEL)
        self.positions = nn.Embedding(MAX_POSITIONS, D_MODEL)
        self.layers = nn.ModuleList(OptLayer() for _ in range(OPT_LAYERS))
        self.ln_final = nn.LayerNorm(D_MODEL)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1], dtype=torch.int64)
        x = self.tokens(ids) + self.positions(pos)
        for layer in self.layers:
            x = layer(x)
        return self.ln_final(x)


class BertLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = SelfAttention(causal=False)
        self.ln_attn = nn.LayerNorm(D_MODEL, eps=1e-12)
        self.fc1 = nn.Linear(D_MODEL, HIDDEN)
        self.gelu = nn.GELU()  # exact: exports x * 0.5 * (1 + Erf(x / sqrt 2))
        self.fc2 = nn.Linear(HIDDEN, D_MODEL)
        self.ln_ffn = nn.LayerNorm(D_MODEL, eps=1e-12)

    def forward(self, x):
        x = self.ln_attn(x + self.attn(x))
        return self.ln_ffn(x + self.fc2(self.gelu(self.fc1(x))))


def randomise_layernorms(model, gen):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.copy_(torch.empty(D_MODEL).uniform_(0.8, 1.2, generator=gen))
                m.bias.copy_(0.05 * torch.randn(D_MODEL, generator=gen))


def calibrate_ffn_zeros(model, ids):
    """Shifts each fc1 bias so FFN_ZEROS of its unit's outputs are negative."""
    captured = {}
    hooks = [layer.fc1.register_forward_hook(
        lambda mod, inp, out, i=i: captured.__setitem__(i, out))
        for i, layer in enumerate(model.layers)]
    with torch.no_grad():
        # Layer by layer: each shift changes what the next layer sees.
        for i, layer in enumerate(model.layers):
            model(ids)
            pre = captured[i].reshape(-1, HIDDEN)
            layer.fc1.bias -= torch.quantile(pre, FFN_ZEROS, dim=0)
    for h in hooks:
        h.remove()


def make_opt(seed):
    set_seed(seed)
    model = OptDecoder()
    gen = torch.Generator().manual_seed(seed + 1)
    randomise_layernorms(model, gen)
    model.eval()
    calibrate_ffn_zeros(model, torch.randint(0, VOCAB, (4, 64), generator=gen))
    inputs = [(torch.randint(0, VOCAB, (1, 64), generator=gen),),
              (torch.randint(0, VOCAB, (2, 17), generator=gen),),
              (torch.randint(0, VOCAB, (1, 1), generator=gen),)]
    axes = {"input_ids": {0: "batch", 1: "sequence"}, "hidden": {0: "batch", 1: "sequence"}}
    return model, inputs, ["input_ids"], ["hidden"], axes


def make_bert(seed):
    set_seed(seed)
    model = BertLayer()
    gen = torch.Generator().manual_seed(seed + 1)
    randomise_layernorms(model, gen)
    model.eval()
    inputs = [(torch.randn(1, 64, D_MODEL, generator=gen),),
              (torch.randn(2, 17, D_MODEL, generator=gen),)]
    axes = {"hidden_in": {0: "batch", 1: "sequence"}, "hidden": {0: "batch", 1: "sequence"}}
    return model, inputs, ["hidden_in"], ["hidden"], axes


def make(name, seed):
    if name in ("resnet18", "mobilenet_v2"):
        return make_cnn(name, seed)
    return make_opt(seed) if name == "opt_decoder" else make_bert(seed)


# --- Export -----------------------------------------------------------------


def write_pb(path, array, name):
    with open(path, "wb") as f:
        f.write(onnx.numpy_helper.from_array(array, name=name).SerializeToString())


def relu_zero_fractions(model, args):
    """Fraction of exact zeros at each ReLU/ReLU6 output, in module order."""
    fractions = []
    hooks = [m.register_forward_hook(
        lambda mod, inp, out: fractions.append(float((out == 0).float().mean())))
        for m in model.modules() if isinstance(m, (nn.ReLU, nn.ReLU6))]
    with torch.no_grad():
        model(*args)
    for h in hooks:
        h.remove()
    return fractions


def export(name, out_dir, seed, stamp):
    model, inputs, in_names, out_names, axes = make(name, seed)
    tmp = out_dir + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    path = os.path.join(tmp, "model.onnx")
    with torch.no_grad():
        # PRESERVE (the model is in eval mode) keeps BatchNormalization nodes
        # that EVAL would fold into the convolutions, so the engine's own
        # folding runs on them, as on models exported by other tools.
        # Its warning about constant folding concerns models in training mode.
        warnings.filterwarnings("ignore", message="It is recommended that constant folding")
        torch.onnx.export(model, inputs[0], path, opset_version=OPSET,
                          input_names=in_names, output_names=out_names,
                          dynamic_axes=axes, do_constant_folding=True,
                          training=torch.onnx.TrainingMode.PRESERVE)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    summary = {"model": name, "seed": seed, "opset": OPSET,
               "parameters": sum(p.numel() for p in model.parameters()),
               "model_bytes": os.path.getsize(path), "sets": []}
    for k, args in enumerate(inputs):
        with torch.no_grad():
            outputs = model(*args)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        set_dir = os.path.join(tmp, "test_data_set_%d" % k)
        os.makedirs(set_dir)
        for i, (t, n) in enumerate(zip(args, in_names)):
            write_pb(os.path.join(set_dir, "input_%d.pb" % i), t.numpy(), n)
        for i, (t, n) in enumerate(zip(outputs, out_names)):
            write_pb(os.path.join(set_dir, "output_%d.pb" % i), t.numpy(), n)
        zeros = relu_zero_fractions(model, args)
        summary["sets"].append({
            "input_shapes": [list(t.shape) for t in args],
            "output_shapes": [list(t.shape) for t in outputs],
            "output_abs_max": max(float(t.abs().max()) for t in outputs),
            "relu_zero_fractions": [round(z, 4) for z in zeros]})
    with open(os.path.join(tmp, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    with open(os.path.join(tmp, "stamp.json"), "w") as f:
        json.dump(stamp, f)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.rename(tmp, out_dir)
    return summary


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output folder (created)")
    p.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    with open(os.path.abspath(__file__), "rb") as f:
        script_hash = hashlib.sha256(f.read()).hexdigest()
    os.makedirs(args.out, exist_ok=True)
    for name in args.models:
        out_dir = os.path.join(args.out, name)
        stamp = {"script_sha256": script_hash, "model": name, "seed": args.seed,
                 "torch": torch.__version__}
        try:
            with open(os.path.join(out_dir, "stamp.json")) as f:
                if json.load(f) == stamp:
                    print("%s: up to date in %s" % (name, out_dir))
                    continue
        except (OSError, ValueError):
            pass
        s = export(name, out_dir, args.seed, stamp)
        zeros = s["sets"][0]["relu_zero_fractions"]
        print("%s: %d parameters, %.1f MB, set 0 output |max| %.3g, ReLU zeros %s -> %s" % (
            name, s["parameters"], s["model_bytes"] / 1e6, s["sets"][0]["output_abs_max"],
            "mean %.3f" % (sum(zeros) / len(zeros)) if zeros else "none", out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
