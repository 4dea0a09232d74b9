"""`sparse-infer analyze` and sparse_infer.analyze (issue 11): the JSON keys,
zero fractions against PyTorch's forward hooks on models exported here,
activations fused into their Gemm/Conv reported under their ONNX names, and
the "not eligible" reasons. No timing is asserted."""
import json
import os
import subprocess

import numpy as np
import onnx
import pytest

import sparse_infer

CLI = os.environ["SPARSE_INFER_CLI"]
ACTIVATION_KEYS = {"node", "op", "zero_fraction", "min", "max"}
LAYER_KEYS = {"node", "op", "macs", "zero_input_fraction", "path", "time_us_auto", "time_us_dense"}
REPORT_KEYS = {"activations", "layers", "mac_share_reading_zeros", "mac_share_sparse_path",
               "latency_us", "speedup", "verdict"}
FAST = ["--iters", "2", "--warmup", "1", "--threads", "1"]


def cli_analyze(tmp_path, *args):
    out = str(tmp_path / "report.json")
    r = subprocess.run([CLI, "analyze", *args, *FAST, "--json", out], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    with open(out) as f:
        return json.load(f), r.stdout


def check_keys(report):
    assert set(report) == REPORT_KEYS
    assert set(report["latency_us"]) == {"auto_p50", "dense_p50"}
    for a in report["activations"]:
        assert set(a) == ACTIVATION_KEYS
    for layer in report["layers"]:
        assert set(layer) == LAYER_KEYS
        assert layer["path"] in ("sparse", "dense", "mixed") or \
            layer["path"].startswith("not eligible: ")


def test_json_keys_on_the_digits_mlp(tmp_path, digits_path):
    digits_dir = os.path.join(os.path.dirname(digits_path), "digits_mlp")
    report, text = cli_analyze(tmp_path, digits_path, "--inputs-dir", digits_dir)
    check_keys(report)
    assert [a["node"] for a in report["activations"]] == ["/1/Relu", "/3/Relu"]
    assert [layer["op"] for layer in report["layers"]] == ["Gemm"] * 3
    # Linear(64, 256), Linear(256, 256), Linear(256, 10) at batch 1.
    assert [layer["macs"] for layer in report["layers"]] == [64 * 256, 256 * 256, 256 * 10]
    # models/README.md: about 98% of the hidden activations are exact zeros.
    assert all(a["zero_fraction"] > 0.9 and a["min"] == 0 for a in report["activations"])
    assert report["verdict"] and "verdict: " + report["verdict"] in text
    assert report["speedup"] == pytest.approx(
        report["latency_us"]["dense_p50"] / report["latency_us"]["auto_p50"], rel=1e-3)


def test_python_analyze_returns_the_same_keys(digits_path, digit_input):
    report = sparse_infer.analyze(digits_path, {"input": digit_input}, iters=2, warmup=1)
    check_keys(report)
    with pytest.raises(sparse_infer.InvalidArgument, match="lacks model input"):
        sparse_infer.analyze(digits_path, [{}], iters=1)


def relu_hooks(net):
    """Forward hooks on every nn.ReLU, in call order: (zeros, count, min, max)."""
    import torch.nn as nn
    seen = []

    def hook(_module, _inputs, out):
        seen.append(((out == 0).sum().item(), out.numel(), out.min().item(), out.max().item()))

    for m in net.modules():
        if isinstance(m, nn.ReLU):
            m.register_forward_hook(hook)
    return seen


def onnx_nodes(path, op):
    return [n.name for n in onnx.load(path).graph.node if n.op_type == op]


def export(net, example, path, **kw):
    import torch
    torch.onnx.export(net, example, path, opset_version=17, **kw)
    return path


def info_ops(path):
    out = subprocess.run([CLI, path, "--info"], capture_output=True, text=True, check=True).stdout
    return out[out.index("ops after optimisation"):]


def expect_hooks_match(report, hooks, names, sets):
    """Each activation's mean zero fraction over `sets` calls equals the
    hooks' (up to two elements per tensor: a pre-activation within float
    rounding of 0 may land on either side in two engines), min/max too."""
    acts = report["activations"]
    assert [a["node"] for a in acts] == names
    assert all(a["op"] == "Relu" for a in acts)
    per_call = len(names)
    assert len(hooks) == per_call * sets
    for k, a in enumerate(acts):
        calls = hooks[k::per_call]
        want = np.mean([z / n for z, n, _, _ in calls])
        assert abs(a["zero_fraction"] - want) <= 2 / calls[0][1], a
        assert a["min"] == pytest.approx(min(c[2] for c in calls), abs=1e-5)
        assert a["max"] == pytest.approx(max(c[3] for c in calls), rel=1e-4)


def test_mlp_zero_fractions_equal_pytorch_hooks(tmp_path):
    import torch
    import torch.nn as nn
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(24, 64), nn.ReLU(), nn.Linear(64, 48), nn.ReLU(),
                        nn.Linear(48, 5)).eval()
    path = export(net, torch.zeros(3, 24), str(tmp_path / "mlp.onnx"), input_names=["x"],
                  dynamic_axes={"x": {0: "n"}})
    assert "FusedGemm: 2" in info_ops(path)  # both Relus fused into their Gemm
    xs = [torch.randn(3, 24) for _ in range(3)]
    hooks = relu_hooks(net)
    with torch.no_grad():
        for x in xs:
            net(x)
    report = sparse_infer.analyze(path, [{"x": x.numpy()} for x in xs], iters=2, warmup=1)
    check_keys(report)
    expect_hooks_match(report, hooks, onnx_nodes(path, "Relu"), len(xs))
    layers = report["layers"]
    assert [layer["node"] for layer in layers] == onnx_nodes(path, "Gemm")
    assert [layer["macs"] for layer in layers] == [3 * 24 * 64, 3 * 64 * 48, 3 * 48 * 5]
    # A matmul's zero-input share is the zero fraction of the Relu it reads.
    assert layers[0]["zero_input_fraction"] == 0
    for layer, act in zip(layers[1:], report["activations"]):
        assert layer["zero_input_fraction"] == pytest.approx(act["zero_fraction"], abs=1e-9)
        assert not layer["path"].startswith("not eligible")


class SmallCnn:
    @staticmethod
    def build():
        import torch.nn as nn
        return nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(16 * 8 * 8, 32), nn.ReLU(), nn.Linear(32, 10)).eval()


def test_cnn_fused_activations_keep_their_onnx_names(tmp_path):
    import torch
    torch.manual_seed(1)
    net = SmallCnn.build()
    path = export(net, torch.zeros(1, 3, 16, 16), str(tmp_path / "cnn.onnx"),
                  input_names=["image"])
    ops = info_ops(path)
    assert "FusedConv: 2" in ops and "FusedGemm: 1" in ops and "Relu" not in ops
    x = torch.randn(1, 3, 16, 16)
    hooks = relu_hooks(net)
    with torch.no_grad():
        net(x)
    # A folder of <input name>.npy is one input set.
    data = tmp_path / "data"
    data.mkdir()
    np.save(data / "image.npy", x.numpy())
    report, text = cli_analyze(tmp_path, path, "--inputs-dir", str(data))
    check_keys(report)
    expect_hooks_match(report, hooks, onnx_nodes(path, "Relu"), 1)
    layers = report["layers"]
    assert [layer["node"] for layer in layers] == onnx_nodes(path, "Conv") + onnx_nodes(path, "Gemm")
    assert [layer["op"] for layer in layers] == ["Conv", "Conv", "Gemm", "Gemm"]
    # Conv: output elements x (Cin x 3 x 3).
    assert [layer["macs"] for layer in layers[:2]] == [8 * 16 * 16 * 3 * 9, 16 * 8 * 8 * 8 * 9]
    for conv in layers[:2]:
        assert conv["path"] == "not eligible: Conv is not a sparse consumer"
    # The second conv reads MaxPool(Relu): its zero share is its input's.
    assert 0 < layers[1]["zero_input_fraction"] < 1
    for a in report["activations"]:
        assert a["node"] in text


def test_not_eligible_when_the_weight_is_not_constant(tmp_path):
    import torch

    class Net(torch.nn.Module):
        def forward(self, x, w):
            return torch.relu(x) @ w

    path = export(Net(), (torch.zeros(2, 16), torch.zeros(16, 4)), str(tmp_path / "mm.onnx"),
                  input_names=["x", "w"])
    rng = np.random.default_rng(0)
    feed = {"x": rng.standard_normal((2, 16), dtype=np.float32),
            "w": rng.standard_normal((16, 4), dtype=np.float32)}
    report = sparse_infer.analyze(path, feed, iters=1, warmup=0)
    (layer,) = report["layers"]
    assert layer["op"] == "MatMul" and layer["path"] == "not eligible: weight is not constant"
    assert layer["zero_input_fraction"] == pytest.approx(np.mean(np.maximum(feed["x"], 0) == 0))
    assert layer["macs"] == 2 * 16 * 4
    assert report["mac_share_sparse_path"] == 0
    assert report["verdict"].startswith("no gain: 0% of MACs are on a sparse path (")


def test_plot_writes_a_png(tmp_path, digits_path):
    png = tmp_path / "digits.png"
    digits_dir = os.path.join(os.path.dirname(digits_path), "digits_mlp")
    r = subprocess.run([CLI, "analyze", digits_path, "--inputs-dir", digits_dir, *FAST,
                        "--plot", str(png)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"plot: {png}" in r.stdout
    assert not os.path.exists(str(png) + ".json")  # the temporary report is removed


def if_branch_model(path):
    """The openWakeWord verifier's shape (issue 14): y = If(c) then
    Gemm(Relu(x), W) else Gemm(x, W2), x [2, 8], both weights constants of
    their branch, x read from the outer graph."""
    from onnx import TensorProto, helper
    rng = np.random.default_rng(3)

    def branch(name, nodes, w_name):
        w = helper.make_tensor(w_name, TensorProto.FLOAT, [4, 8],
                               rng.standard_normal(32).astype(np.float32).tolist())
        out = helper.make_tensor_value_info("out_" + name, TensorProto.FLOAT, [2, 4])
        return helper.make_graph(nodes, name, [], [out], initializer=[w])

    then_g = branch("then", [helper.make_node("Relu", ["x"], ["r"], name="relu"),
                             helper.make_node("Gemm", ["r", "w1"], ["out_then"], name="fc",
                                              transB=1)], "w1")
    else_g = branch("else", [helper.make_node("Gemm", ["x", "w2"], ["out_else"], name="fc_else",
                                              transB=1)], "w2")
    graph = helper.make_graph(
        [helper.make_node("If", ["c"], ["y"], name="/if_0", then_branch=then_g,
                          else_branch=else_g)], "verifier",
        [helper.make_tensor_value_info("c", TensorProto.BOOL, []),
         helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


THEN = 'If "/if_0" then_branch / '
ELSE = 'If "/if_0" else_branch / '


def quarter_positive():
    """x [2, 8] with exactly 4 of its 16 entries > 0: Relu(x) is 75% zeros."""
    x = -np.arange(1, 17, dtype=np.float32).reshape(2, 8)
    x[0, 1], x[0, 6], x[1, 2], x[1, 7] = 0.5, 2.0, 1.5, 3.0
    return x


def test_layers_inside_an_if_branch_are_reported_with_their_scope(tmp_path):
    path = if_branch_model(str(tmp_path / "if.onnx"))
    x = quarter_positive()
    dense_x = np.full((2, 8), 0.25, dtype=np.float32)
    # The first set takes the then branch, the second the else branch.
    sets = [{"c": np.array(True), "x": x}, {"c": np.array(False), "x": dense_x}]
    report = sparse_infer.analyze(path, sets, iters=2, warmup=1)
    check_keys(report)
    acts = {a["node"]: a for a in report["activations"]}
    assert set(acts) == {THEN + "relu"}
    relu = acts[THEN + "relu"]
    assert relu["op"] == "Relu" and relu["zero_fraction"] == 0.75
    assert relu["min"] == 0 and relu["max"] == 3.0
    layers = {layer["node"]: layer for layer in report["layers"]}
    assert list(layers) == [THEN + "fc", ELSE + "fc_else"]  # in the order they first ran
    fc, fc_else = layers[THEN + "fc"], layers[ELSE + "fc_else"]
    assert fc["op"] == "Gemm" and fc_else["op"] == "Gemm"
    # Density 0.25 over the call that ran the branch.
    assert fc["zero_input_fraction"] == 0.75
    assert fc_else["zero_input_fraction"] == 0
    # 2 x 8 x 4 in the one call of two that ran each branch.
    assert fc["macs"] == 2 * 8 * 4 / 2 and fc_else["macs"] == 2 * 8 * 4 / 2
    assert not fc["path"].startswith("not eligible")
    # Both branches ran in the timed calls (the sets are cycled).
    assert fc["time_us_auto"] is not None and fc["time_us_dense"] is not None
    assert fc_else["time_us_auto"] is not None and fc_else["time_us_dense"] is not None
    # The model-wide shares count the body layers: half the MACs read 75% zeros.
    assert report["mac_share_reading_zeros"] == pytest.approx(0.375)
    assert not report["verdict"].startswith("no gain: the model has no")


def test_cli_analyze_and_profile_show_the_branch_gemm(tmp_path):
    path = if_branch_model(str(tmp_path / "if.onnx"))
    data = tmp_path / "data"
    data.mkdir()
    np.save(data / "c.npy", np.array(True))
    np.save(data / "x.npy", quarter_positive())
    report, text = cli_analyze(tmp_path, path, "--inputs-dir", str(data))
    (fc,) = report["layers"]
    assert fc["node"] == THEN + "fc" and fc["zero_input_fraction"] == 0.75
    assert THEN + "fc" in text and THEN + "relu" in text
    # --profile --json: the body's steps are rows named with their scope, the
    # Gemm with its measured input density.
    out = str(tmp_path / "profile.json")
    r = subprocess.run([CLI, path, "c=" + str(data / "c.npy"), "x=" + str(data / "x.npy"),
                        "--profile", "--json", out, "--threads", "1"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with open(out) as f:
        rows = {row["node"]: row for row in json.load(f)["layers"]}
    assert rows["/if_0"]["op"] == "If"
    assert rows[THEN + "relu"]["op"] == "Relu"
    assert rows[THEN + "relu"]["activation"] == THEN + "relu"
    assert rows[THEN + "relu"]["zero_fraction"] == 0.75
    assert rows[THEN + "fc"]["op"] == "Gemm" and rows[THEN + "fc"]["density"] == 0.25
    assert THEN + "fc" in r.stdout
