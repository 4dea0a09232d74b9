#!/usr/bin/env python3
"""A small FFN stack with quantized weights, in the ONNX test layout, for the
quantized-weight path (issue 13): L x [MatMul K->H, Add bias, Relu, MatMul
H->K, residual Add], the weights quantized as
  int4/  com.microsoft MatMulNBits, bits 4, block 32, packed zero points
         (ONNX Runtime's docs/ContribOperators.md layout, low nibble first);
  int8/  DequantizeLinear(int8, per column, axis 1) -> MatMul;
  uint8/ DequantizeLinear(uint8 with zero points, per tensor) -> Gemm transB=1.
Each folder gets model.onnx and test_data_set_0/{input_0,output_0}.pb, the
output computed here in float64 from the dequantized weights. The first
layer's bias leaves ~90% of the hidden units <= 0, so the second MatMul of
each block gathers rows.

    make_quant_ffn.py --out DIR [--d-model 96] [--hidden 384] [--blocks 2]
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh


def int4_blocks(w, bs=32):
    """w [K, N] -> (B [N, kb, bs/2], scales [N*kb], zp [N*ceil(kb/2)], dequantized [K, N])."""
    k, n = w.shape
    kb = (k + bs - 1) // bs
    wt = np.zeros((n, kb * bs), np.float32)
    wt[:, :k] = w.T
    blocks = wt.reshape(n, kb, bs)
    lo, hi = np.minimum(blocks.min(-1), 0), np.maximum(blocks.max(-1), 0)
    s = np.maximum((hi - lo) / 15.0, 1e-8).astype(np.float32)
    zp = np.clip(np.round(-lo / s), 0, 15).astype(np.uint8)
    q = np.clip(np.round(blocks / s[..., None]) + zp[..., None], 0, 15).astype(np.uint8)
    packed = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
    zpp = np.zeros((n, (kb + 1) // 2), np.uint8)
    for b in range(kb):
        zpp[:, b // 2] |= (zp[:, b] << (4 * (b % 2))).astype(np.uint8)
    deq = ((q.astype(np.float32) - zp[..., None].astype(np.float32)) * s[..., None])
    deq = deq.reshape(n, kb * bs)[:, :k].T
    return packed, s.reshape(-1), zpp.reshape(-1), deq


def build(kind, weights, b1, k, out_dir, x):
    nodes, inits = [], [nh.from_array(b1, "b1")]
    cur, ref = "x", x.astype(np.float64)
    for layer, pair in enumerate(weights):
        hidden = None
        for j, w in enumerate(pair):
            name = f"fc{layer}_{j}"
            inp = cur if j == 0 else f"r{layer}"
            out = f"{name}_out"
            if kind == "int4":
                packed, s, zp, deq = int4_blocks(w)
                inits += [nh.from_array(packed, name + "_B"), nh.from_array(s, name + "_s"),
                          nh.from_array(zp, name + "_zp")]
                nodes.append(h.make_node("MatMulNBits", [inp, name + "_B", name + "_s", name + "_zp"],
                                         [out], domain="com.microsoft", K=w.shape[0],
                                         N=w.shape[1], bits=4, block_size=32, name=name))
            elif kind == "int8":
                s = (np.abs(w).max(axis=0) / 127.0).astype(np.float32)
                q = np.clip(np.round(w / s), -127, 127).astype(np.int8)
                deq = q.astype(np.float32) * s
                inits += [nh.from_array(q, name + "_q"), nh.from_array(s, name + "_s")]
                nodes.append(h.make_node("DequantizeLinear", [name + "_q", name + "_s"],
                                         [name + "_w"], axis=1, name=name + "_dq"))
                nodes.append(h.make_node("MatMul", [inp, name + "_w"], [out], name=name))
            else:  # uint8, per tensor with a zero point, Gemm transB=1 on [N, K]
                lo, hi = min(w.min(), 0.0), max(w.max(), 0.0)
                s = np.float32((hi - lo) / 255.0)
                zp = np.uint8(np.clip(np.round(-lo / s), 0, 255))
                q = np.clip(np.round(w.T / s) + zp, 0, 255).astype(np.uint8)
                deq = ((q.astype(np.float32) - np.float32(zp)) * s).T
                inits += [nh.from_array(q, name + "_q"), nh.from_array(np.array(s), name + "_s"),
                          nh.from_array(np.array(zp), name + "_zp")]
                nodes.append(h.make_node("DequantizeLinear", [name + "_q", name + "_s", name + "_zp"],
                                         [name + "_w"], name=name + "_dq"))
                nodes.append(h.make_node("Gemm", [inp, name + "_w"], [out], transB=1, name=name))
            if j == 0:
                nodes.append(h.make_node("Add", [out, "b1"], [f"a{layer}"], name=f"add{layer}"))
                nodes.append(h.make_node("Relu", [f"a{layer}"], [f"r{layer}"], name=f"relu{layer}"))
                hidden = np.maximum(ref @ deq.astype(np.float64) + b1.astype(np.float64), 0)
            else:
                nodes.append(h.make_node("Add", [cur, out], [f"res{layer}"], name=f"res{layer}"))
                cur = f"res{layer}"
                ref = ref + hidden @ deq.astype(np.float64)
    graph = h.make_graph(nodes, "quant_ffn", [h.make_tensor_value_info("x", T.FLOAT, [1, k])],
                         [h.make_tensor_value_info(cur, T.FLOAT, [1, k])], inits)
    opsets = [h.make_opsetid("", 13)]
    if kind == "int4":
        opsets.append(h.make_opsetid("com.microsoft", 1))
    model = h.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    d = os.path.join(out_dir, kind)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    onnx.save(model, os.path.join(d, "model.onnx"))
    with open(os.path.join(d, "test_data_set_0", "input_0.pb"), "wb") as f:
        f.write(nh.from_array(x, "x").SerializeToString())
    with open(os.path.join(d, "test_data_set_0", "output_0.pb"), "wb") as f:
        f.write(nh.from_array(ref.astype(np.float32), cur).SerializeToString())


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--d-model", type=int, default=96)
    p.add_argument("--hidden", type=int, default=384)
    p.add_argument("--blocks", type=int, default=2)
    a = p.parse_args()
    rng = np.random.default_rng(13)
    k, hdim = a.d_model, a.hidden
    weights = [(rng.standard_normal((k, hdim)).astype(np.float32) / np.sqrt(k),
                rng.standard_normal((hdim, k)).astype(np.float32) / np.sqrt(hdim))
               for _ in range(a.blocks)]
    b1 = np.full(hdim, -1.3, np.float32)
    x = rng.standard_normal((1, k)).astype(np.float32)
    for kind in ("int4", "int8", "uint8"):
        build(kind, weights, b1, k, a.out, x)


if __name__ == "__main__":
    main()
