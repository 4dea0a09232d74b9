#!/usr/bin/python3
"""`sparse-infer quantize` against a numpy reference of its formulas.

    quantize_tool_test.py SPARSE_INFER WORK_DIR [REPO_DIR]

Builds a graph here that covers every form (MatMul [K,N], Gemm transB 0 with
a [1,N] bias, Gemm transB 1 with an [N] bias, a weight below 128 that must
stay float, an all-zero output channel, K not a multiple of the block), then
for int8/int4 x symmetric/asymmetric checks: onnx.checker; every written
byte (codes, scales, zero points) against the quantization formula written
below (float32, round half to even; int4 scales rounded to float16 values),
independently of the tool; the printed
max |error| against the reference; and, when node and onnxruntime-node are
installed (npm install --ignore-scripts in bench/compare_ort), that ONNX
Runtime runs the output and matches a float64 numpy forward pass of the
dequantized model. Then an FFN stack (models/make_ffn_stack.py, small) with
--inputs-dir, and the error exits.
"""

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import onnx
import onnx.helper as oh
import onnx.numpy_helper as nh

BIN, WORK = sys.argv[1], sys.argv[2]
REPO = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(__file__), "..")
ORT_DIR = os.path.join(REPO, "bench", "compare_ort")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(args, code=0):
    p = subprocess.run([BIN, "quantize"] + args, capture_output=True, text=True)
    check(p.returncode == code,
          "quantize %s: exit %d, want %d\n%s%s" % (args, p.returncode, code, p.stdout, p.stderr))
    return p


# --- the model ----------------------------------------------------------------
rng = np.random.default_rng(7)
K1, N1, N2, N3, NS, BATCH = 200, 136, 144, 130, 64, 3
w1 = rng.normal(0, 0.05, (K1, N1)).astype(np.float32)   # MatMul [K, N]
w1[:, 5] = 0                                            # an all-zero channel: scale 1
# Exact ties for symmetric rounding (half to even, not half up): int8 scale
# 1/128 (max 127/128), int4 scale 1/8 (max 7/8 in every block).
ties = np.array([2.5, -3.5, 0.5, 1.5, -0.5, 4.5], np.float32)
w1[:, 9] = np.resize(np.concatenate([[127], ties]), K1) / 128
w1[:, 10] = np.resize(np.concatenate([[7], ties]), K1) / 8
w2 = rng.normal(0, 0.05, (N1, N2)).astype(np.float32)   # Gemm transB 0 [K, N]
c2 = rng.normal(0, 0.1, (1, N2)).astype(np.float32)     # [1, N]: an Add under int4
w3 = rng.normal(0, 0.05, (N3, N2)).astype(np.float32)   # Gemm transB 1 [N, K]
w3[7, :] = np.abs(w3[7, :])                             # all positive: lo widened to 0
c3 = rng.normal(0, 0.1, (N3,)).astype(np.float32)       # [N]: MatMulNBits' bias
ws = rng.normal(0, 0.05, (N3, NS)).astype(np.float32)   # below 128: stays float
WEIGHTS = {"w1": (w1, False), "w2": (w2, False), "w3": (w3, True)}  # name: (value, [N,K])

graph = oh.make_graph(
    [oh.make_node("MatMul", ["x", "w1"], ["h1"], name="mm1"),
     oh.make_node("Relu", ["h1"], ["r1"], name="relu1"),
     oh.make_node("Gemm", ["r1", "w2", "c2"], ["h2"], name="gemm2"),
     oh.make_node("Relu", ["h2"], ["r2"], name="relu2"),
     oh.make_node("Gemm", ["r2", "w3", "c3"], ["h3"], name="gemm3", transB=1),
     oh.make_node("MatMul", ["h3", "ws"], ["y"], name="mm_small")],
    "qtest",
    [oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [BATCH, K1])],
    [oh.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [BATCH, NS])],
    [nh.from_array(w1, "w1"), nh.from_array(w2, "w2"), nh.from_array(c2, "c2"),
     nh.from_array(w3, "w3"), nh.from_array(c3, "c3"), nh.from_array(ws, "ws")])
model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)])
model.ir_version = 8
os.makedirs(WORK, exist_ok=True)
src = os.path.join(WORK, "model.onnx")
onnx.save(model, src)
x = rng.normal(0, 1, (BATCH, K1)).astype(np.float32)


# --- the reference formulas (quantize_weights.h) -------------------------------
def fit_scale(scale, half):
    """int4: the scale rounded to the nearest float16 value, kept where that is 0 or inf."""
    if not half:
        return scale
    h = scale.astype(np.float16).astype(np.float32)
    return np.where((h > 0) & np.isfinite(h), h, scale).astype(np.float32)


def ref_group(v, symmetric, qmax, levels, half=False):
    """v: float32 [groups, n] -> (q int64 [groups, n], scale f32 [groups], zp int64 [groups])."""
    v = v.astype(np.float32)
    if symmetric:
        amax = np.abs(v).max(axis=1)
        scale = np.where(amax > 0, amax / np.float32(qmax), np.float32(1)).astype(np.float32)
        scale = fit_scale(scale, half)
        q = np.clip(np.rint(v / scale[:, None]), -qmax, qmax).astype(np.int64)
        return q, scale, np.zeros(len(v), np.int64)
    lo = np.minimum(v.min(axis=1), np.float32(0))
    hi = np.maximum(v.max(axis=1), np.float32(0))
    scale = np.where(hi > lo, (hi - lo) / np.float32(levels), np.float32(1)).astype(np.float32)
    scale = fit_scale(scale, half)
    zp = np.clip(np.rint(-lo / scale), 0, levels).astype(np.int64)
    q = np.clip(np.rint(v / scale[:, None]) + zp[:, None], 0, levels).astype(np.int64)
    return q, scale, zp


def channels(w, n_major):
    return w if n_major else w.T  # [N, K]


def ref_int8(w, n_major, symmetric):
    q, scale, zp = ref_group(channels(w, n_major), symmetric, 127, 255)
    deq = ((q - zp[:, None]).astype(np.float32) * scale[:, None]).astype(np.float32)
    return q, scale, zp, deq


def ref_int4(w, n_major, symmetric, block):
    c = channels(w, n_major)
    n, k = c.shape
    nb = -(-k // block)
    padded = np.zeros((n, nb * block), np.float32)
    padded[:, :k] = c
    qs, ss, zs, deq = [], [], [], np.zeros((n, k), np.float32)
    for b in range(nb):
        length = min(block, k - b * block)
        q, s, z = ref_group(padded[:, b * block:b * block + length], symmetric, 7, 15, half=True)
        deq[:, b * block:b * block + length] = (q - z[:, None]).astype(np.float32) * s[:, None]
        if symmetric:
            q, z = q + 8, np.full(n, 8)
        qs.append(np.concatenate([q, np.repeat(z[:, None], block - length, 1)], 1))
        ss.append(s)
        zs.append(z)
    codes = np.stack(qs, 1).reshape(n, nb, block)                  # [N, nb, block]
    blob = (codes[:, :, 0::2] | (codes[:, :, 1::2] << 4)).astype(np.uint8)
    zp = np.stack(zs, 1)                                           # [N, nb]
    if nb % 2:
        zp = np.concatenate([zp, np.zeros((n, 1), np.int64)], 1)
    zp_packed = (zp[:, 0::2] | (zp[:, 1::2] << 4)).astype(np.uint8).reshape(-1)
    return blob, np.stack(ss, 1).reshape(-1), zp_packed, deq


def forward(weights, xx):
    """float64 numpy forward pass of the model with the given weights."""
    f = {k: v.astype(np.float64) for k, v in weights.items()}
    h = np.maximum(xx.astype(np.float64) @ f["w1"], 0)
    h = np.maximum(h @ f["w2"] + c2, 0)
    h = h @ f["w3"].T + c3
    return h @ ws.astype(np.float64)


def ort_run(path, xx):
    """ONNX Runtime's output for `xx`, or None when it is not installed."""
    if shutil.which("node") is None or not os.path.isdir(
            os.path.join(ORT_DIR, "node_modules", "onnxruntime-node")):
        return None
    script = """
const ort = require('onnxruntime-node');
(async () => {
  const s = await ort.InferenceSession.create(process.argv[1]);
  const x = new ort.Tensor('float32', Float32Array.from(JSON.parse(process.argv[2])), [%d, %d]);
  const r = await s.run({x});
  console.log(JSON.stringify(Array.from(r.y.data)));
})().catch((e) => { console.error(e.message); process.exit(1); });
""" % (BATCH, K1)
    p = subprocess.run(["node", "-e", script, path, json.dumps(x.reshape(-1).tolist())],
                       capture_output=True, text=True, cwd=ORT_DIR,
                       env=dict(os.environ, NODE_PATH=os.path.join(ORT_DIR, "node_modules")))
    check(p.returncode == 0, "ORT failed on %s: %s" % (path, p.stderr))
    return np.array(json.loads(p.stdout), np.float64).reshape(BATCH, NS) if p.returncode == 0 \
        else None


def printed_errors(stdout):
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r"^(\S+)\s+\[[\d,]+\]\s+.*\s(\S+)$", stdout, re.M)
            if m.group(1) != "weight"}


ort_checked = False
for fmt in ("int8", "int4"):
    for symmetric in (False, True):
        block = 32 if symmetric else 64
        out = os.path.join(WORK, "q_%s_%s.onnx" % (fmt, "sym" if symmetric else "asym"))
        args = [src, out, "--weights", fmt] + (["--symmetric"] if symmetric else [])
        if fmt == "int4":
            args += ["--block-size", str(block)]
        p = run(args)
        if p.returncode != 0:
            continue
        label = os.path.basename(out)
        qm = onnx.load(out)
        onnx.checker.check_model(qm, full_check=True)
        inits = {t.name: nh.to_array(t) for t in qm.graph.initializer}
        nodes = {n.name: n for n in qm.graph.node}
        check("ws" in inits and "w1" not in inits and "w3" not in inits,
              "%s: float weights kept/removed wrongly: %s" % (label, sorted(inits)))
        errors = printed_errors(p.stdout)
        check(sorted(errors) == ["w1", "w2", "w3"], "%s: report rows %s" % (label, errors))
        deq_weights = {"w1": w1, "w2": w2, "w3": w3, "ws": ws}
        for name, (w, n_major) in WEIGHTS.items():
            if fmt == "int8":
                q, scale, zp, deq = ref_int8(w, n_major, symmetric)
                dq = [n for n in qm.graph.node if n.op_type == "DequantizeLinear"
                      and n.input[0] == name + "_quantized"]
                check(len(dq) == 1, "%s: one DequantizeLinear for %s" % (label, name))
                axis = [a.i for a in dq[0].attribute if a.name == "axis"] if dq else []
                check(axis == [0 if n_major else 1], "%s: %s axis %s" % (label, name, axis))
                got_q = inits[name + "_quantized"]
                want_dtype = np.int8 if symmetric else np.uint8
                check(got_q.dtype == want_dtype, "%s: %s dtype %s" % (label, name, got_q.dtype))
                want_q = (q if n_major else q.T).astype(want_dtype)
                check(np.array_equal(got_q, want_q), "%s: %s codes differ" % (label, name))
                check(np.array_equal(inits[name + "_scale"], scale),
                      "%s: %s scales differ" % (label, name))
                check(np.array_equal(inits[name + "_zero_point"].astype(np.int64), zp),
                      "%s: %s zero points differ" % (label, name))
                # DequantizeLinear on what was written, per the ONNX spec.
                shape = (1, -1) if not n_major else (-1, 1)
                spec = ((got_q.astype(np.int32) - inits[name + "_zero_point"].astype(
                    np.int32).reshape(shape)).astype(np.float32) *
                    inits[name + "_scale"].reshape(shape))
                deq_w = deq if n_major else deq.T
                check(np.array_equal(spec, deq_w), "%s: %s dequantized differs" % (label, name))
            else:
                blob, scale, zp, deq = ref_int4(w, n_major, symmetric, block)
                node = [n for n in qm.graph.node if n.op_type == "MatMulNBits"
                        and n.input[1] == name + "_q4"]
                check(len(node) == 1 and node[0].domain == "com.microsoft",
                      "%s: one MatMulNBits for %s" % (label, name))
                attrs = {a.name: a.i for a in node[0].attribute} if node else {}
                kk, nn = (w.shape[1], w.shape[0]) if n_major else w.shape
                check(attrs == {"K": kk, "N": nn, "bits": 4, "block_size": block},
                      "%s: %s attributes %s" % (label, name, attrs))
                check(np.array_equal(inits[name + "_q4"], blob), "%s: %s blob" % (label, name))
                check(np.array_equal(inits[name + "_scales"], scale),
                      "%s: %s scales differ" % (label, name))
                if symmetric:
                    check(len(node[0].input) < 4 or node[0].input[3] == "",
                          "%s: %s symmetric must omit zero_points" % (label, name))
                else:
                    check(np.array_equal(inits[name + "_zero_points"], zp),
                          "%s: %s zero points differ" % (label, name))
                deq_w = deq if n_major else deq.T
            err = float(np.abs(w - deq_w).max())
            check(abs(errors.get(name, -1) - err) <= 1e-3 * err + 1e-12,
                  "%s: %s printed max error %s, reference %g" % (label, name, errors.get(name),
                                                                 err))
            deq_weights[name] = deq_w
        if fmt == "int4":
            check(nodes["gemm3"].input[5:] == ["c3"], "%s: c3 is MatMulNBits' bias" % label)
            check(any(n.op_type == "Add" and "c2" in n.input for n in qm.graph.node),
                  "%s: c2 [1,N] becomes an Add" % label)
        got = ort_run(out, x)
        if got is not None:
            ort_checked = True
            want = forward(deq_weights, x)
            err = np.abs(got - want).max() / np.abs(want).max()
            check(err <= 1e-4, "%s: ORT vs dequantized float64 reference: rel %g" % (label, err))

print("ONNX Runtime check:", "done" if ort_checked else
      "skipped (node or bench/compare_ort/node_modules/onnxruntime-node missing)")

# --- an FFN stack with input sets ---------------------------------------------
ffn = os.path.join(WORK, "ffn")
if not os.path.exists(os.path.join(ffn, "model.onnx")):
    subprocess.run([sys.executable, os.path.join(REPO, "models", "make_ffn_stack.py"), "--out",
                    ffn, "--zeros", "0.9", "--d-model", "128", "--hidden", "256", "--blocks",
                    "2", "--inputs", "2"], check=True, capture_output=True)
for fmt in ("int8", "int4"):
    p = run([os.path.join(ffn, "model.onnx"), os.path.join(WORK, "ffn_%s.onnx" % fmt),
             "--weights", fmt, "--inputs-dir", ffn])
    m = re.search(r"output change over 2 input sets: max \|quantized - original\| = (\S+) "
                  r"\(max \|original\| = (\S+), relative (\S+)\)", p.stdout)
    check(m is not None, "ffn %s: no output-change line in:\n%s" % (fmt, p.stdout))
    if m:
        rel = float(m.group(3))
        check(0 < rel < (0.01 if fmt == "int8" else 0.05), "ffn %s: relative change %g" %
              (fmt, rel))

# --- errors -------------------------------------------------------------------
small = oh.make_model(oh.make_graph(
    [oh.make_node("MatMul", ["x", "w"], ["y"])], "small",
    [oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 64])],
    [oh.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 64])],
    [nh.from_array(np.ones((64, 64), np.float32), "w")]),
    opset_imports=[oh.make_opsetid("", 17)])
small.ir_version = 8
onnx.save(small, os.path.join(WORK, "small.onnx"))
tmp = os.path.join(WORK, "err.onnx")
p = run([os.path.join(WORK, "small.onnx"), tmp, "--weights", "int8"], code=2)
check("no MatMul/Gemm float32 constant weight" in p.stderr, "no-weight message: " + p.stderr)
p = run([os.path.join(WORK, "missing.onnx"), tmp, "--weights", "int8"], code=2)
check("missing.onnx" in p.stderr, "missing-file message: " + p.stderr)
p = run([src, tmp, "--weights", "int4", "--block-size", "48"], code=1)
check("power of two from 16 to 256" in p.stderr, "block-size message: " + p.stderr)
run([src, tmp], code=1)
run([src, tmp, "--weights", "int2"], code=1)
run([src, os.path.join(WORK, "no_such_dir", "q.onnx"), "--weights", "int8"], code=1)
p = run([src, tmp, "--weights", "int8", "--inputs-dir", os.path.join(WORK, "nope")], code=3)

# A weight two nodes read, or one a caller may override (also a graph
# input), stays float and is listed as skipped; opset 12 has no per-axis
# DequantizeLinear.
big = np.ones((128, 128), np.float32)
shared = oh.make_model(oh.make_graph(
    [oh.make_node("MatMul", ["x", "w"], ["a"]), oh.make_node("MatMul", ["a", "w"], ["b"]),
     oh.make_node("MatMul", ["b", "v"], ["y"])], "shared",
    [oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 128]),
     oh.make_tensor_value_info("v", onnx.TensorProto.FLOAT, [128, 128])],
    [oh.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 128])],
    [nh.from_array(big, "w"), nh.from_array(big, "v")]),
    opset_imports=[oh.make_opsetid("", 17)])
shared.ir_version = 8
onnx.save(shared, os.path.join(WORK, "shared.onnx"))
p = run([os.path.join(WORK, "shared.onnx"), tmp, "--weights", "int4"], code=2)
check("skipped w [128,128] (MatMul #0): read by 2 nodes" in p.stderr and
      "skipped v [128,128] (MatMul #2): also a graph input" in p.stderr,
      "shared/graph-input message: " + p.stderr)
old = onnx.load(src)
old.opset_import[0].version = 12
onnx.save(old, os.path.join(WORK, "opset12.onnx"))
p = run([os.path.join(WORK, "opset12.onnx"), tmp, "--weights", "int8"], code=2)
check("opset 13" in p.stderr, "opset-12 message: " + p.stderr)
run([os.path.join(WORK, "opset12.onnx"), tmp, "--weights", "int4"])

if failures:
    sys.exit("%d check(s) failed" % len(failures))
print("all quantize checks passed")
