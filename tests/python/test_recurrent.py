"""LSTM and GRU models exported from PyTorch at test time (fixed seeds), run
in every mode against PyTorch; and stateful streaming with the CLI's --carry:
a Silero-style model (state in as `state`, out as `stateN`) run chunk by
chunk matches PyTorch on the whole sequence."""
import os
import pathlib
import subprocess

import numpy as np
import pytest
from onnx import numpy_helper

import sparse_infer

CLI = os.environ["SPARSE_INFER_CLI"]
TOL = 1e-4


def _export(net, args, path, input_names, output_names, dynamic_axes=None):
    import torch

    torch.onnx.export(net, args, str(path), input_names=input_names, output_names=output_names,
                      dynamic_axes=dynamic_axes, opset_version=17)
    return str(path)


def _seq_models():
    import torch
    import torch.nn as nn

    class LstmNet(nn.Module):
        """Two stacked batch-first LSTM layers and a ReLU head (sparse path)."""

        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(13, 24, num_layers=2, batch_first=True)
            self.head = nn.Sequential(nn.Linear(24, 40), nn.ReLU(), nn.Linear(40, 5))

        def forward(self, x):
            y, _ = self.lstm(x)
            return self.head(y)

    class GruNet(nn.Module):
        """A bidirectional GRU (linear_before_reset, as PyTorch exports it)."""

        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(9, 17, bidirectional=True)
            self.head = nn.Sequential(nn.ReLU(), nn.Linear(34, 3))

        def forward(self, x):
            y, h = self.gru(x)
            return self.head(y), h

    torch.manual_seed(0)
    return {"lstm": LstmNet().eval(), "gru": GruNet().eval()}


@pytest.fixture(scope="module")
def seq_models(tmp_path_factory):
    import torch

    d = tmp_path_factory.mktemp("rnn")
    nets = _seq_models()
    paths = {
        "lstm": _export(nets["lstm"], torch.zeros(2, 6, 13), d / "lstm.onnx", ["x"], ["y"],
                        {"x": {0: "batch", 1: "seq"}}),
        "gru": _export(nets["gru"], torch.zeros(6, 2, 9), d / "gru.onnx", ["x"], ["y", "h"],
                       {"x": {0: "seq", 1: "batch"}}),
    }
    return nets, paths


@pytest.mark.parametrize("mode", ["auto", "dense", "sparse"])
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_sequence_model_matches_pytorch(seq_models, kind, mode):
    import torch

    nets, paths = seq_models
    so = sparse_infer.SessionOptions()
    so.mode = mode
    sess = sparse_infer.InferenceSession(paths[kind], sess_options=so)
    rng = np.random.default_rng(5)
    shapes = {"lstm": [(1, 1, 13), (3, 11, 13)], "gru": [(1, 1, 9), (10, 4, 9)]}
    for shape in shapes[kind]:
        x = rng.standard_normal(shape).astype(np.float32)
        got = sess.run(None, {"x": x})
        with torch.no_grad():
            want = nets[kind](torch.from_numpy(x))
        want = want if isinstance(want, tuple) else (want,)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w.numpy(), atol=TOL, rtol=0)


def _stream_net(kind):
    """Silero-style: x [1, chunk, 8] and state in, y [1, chunk, 1] and stateN out."""
    import torch
    import torch.nn as nn

    class Stream(nn.Module):
        def __init__(self):
            super().__init__()
            rnn = nn.LSTM if kind == "lstm" else nn.GRU
            self.rnn = rnn(8, 12, batch_first=True)
            self.out = nn.Linear(12, 1)

        def forward(self, x, state):
            if kind == "lstm":  # state [2, 1, 1, 12]: h and c
                y, (h, c) = self.rnn(x, (state[0], state[1]))
                new = torch.stack([h, c])
            else:  # state [1, 1, 12]
                y, new = self.rnn(x, state)
            return torch.sigmoid(self.out(y)), new

    torch.manual_seed(3)
    return Stream().eval()


def _state_shape(kind):
    return (2, 1, 1, 12) if kind == "lstm" else (1, 1, 12)


def _write_sets(root, chunks, state0):
    for i, chunk in enumerate(chunks):
        d = root / f"test_data_set_{i}"
        d.mkdir(parents=True)
        (d / "input_0.pb").write_bytes(numpy_helper.from_array(chunk).SerializeToString())
        if state0 is not None and i == 0:
            (d / "input_1.pb").write_bytes(numpy_helper.from_array(state0).SerializeToString())


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_carry_streams_state_like_the_whole_sequence(tmp_path, kind):
    import torch

    net = _stream_net(kind)
    model = _export(net, (torch.zeros(1, 4, 8), torch.zeros(_state_shape(kind))),
                    tmp_path / "stream.onnx", ["x", "state"], ["y", "stateN"],
                    {"x": {1: "chunk"}, "y": {1: "chunk"}})
    x = np.random.default_rng(2).standard_normal((1, 25, 8)).astype(np.float32)
    state0 = np.zeros(_state_shape(kind), np.float32)
    with torch.no_grad():
        want_y, want_state = net(torch.from_numpy(x), torch.from_numpy(state0))
    # Chunks of 4 (the last one shorter): 12 sets, (10 of them) in natural order.
    chunks = [x[:, i:i + 4] for i in range(0, 25, 4)]
    _write_sets(tmp_path / "sets", chunks, state0)
    out = tmp_path / "out"
    subprocess.run([CLI, model, "--inputs-dir", str(tmp_path / "sets"), "--carry",
                    "stateN=state", "-o", str(out) + "/"], check=True, capture_output=True)
    got_y = np.concatenate([
        np.fromfile(out / f"test_data_set_{i}" / "y.bin", "<f4").reshape(1, -1, 1)
        for i in range(len(chunks))], axis=1)
    np.testing.assert_allclose(got_y, want_y.numpy(), atol=TOL, rtol=0)
    last = out / f"test_data_set_{len(chunks) - 1}" / "stateN.bin"
    got_state = np.fromfile(last, "<f4").reshape(_state_shape(kind))
    np.testing.assert_allclose(got_state, want_state.numpy(), atol=TOL, rtol=0)


def test_carry_errors_name_what_is_wrong(tmp_path):
    import torch

    net = _stream_net("gru")
    model = _export(net, (torch.zeros(1, 4, 8), torch.zeros(1, 1, 12)), tmp_path / "s.onnx",
                    ["x", "state"], ["y", "stateN"], {"x": {1: "chunk"}, "y": {1: "chunk"}})
    chunks = [np.zeros((1, 4, 8), np.float32)] * 2
    _write_sets(tmp_path / "sets", chunks, np.zeros((1, 1, 12), np.float32))
    sets = str(tmp_path / "sets")

    def run(*args):
        return subprocess.run([CLI, model, "--inputs-dir", sets, *args], capture_output=True,
                              text=True)

    r = run("--carry", "stateX=state")
    assert r.returncode == 1 and "no output 'stateX'" in r.stderr and "stateN" in r.stderr
    r = run("--carry", "stateN=stat")
    assert r.returncode == 1 and "no input 'stat'" in r.stderr
    r = run("--carry", "stateN")
    assert r.returncode == 1 and "expected OUT=IN" in r.stderr
    r = run("--carry", "y=state")  # y [1,4,1] into state [1,1,12]
    assert r.returncode == 3, r.stderr
    assert "output 'y' is float32 [1,4,1] but input 'state' was" in r.stderr
    assert "test_data_set_1" in r.stderr and "[1,1,12]" in r.stderr
    # A later set that gives the carried input itself must agree with it.
    bad = tmp_path / "sets" / "test_data_set_1" / "input_1.pb"
    bad.write_bytes(numpy_helper.from_array(np.zeros((1, 1, 5), np.float32)).SerializeToString())
    r = run("--carry", "stateN=state")
    assert r.returncode == 3, r.stderr
    assert "test_data_set_1" in r.stderr and "[1,1,5]" in r.stderr and "[1,1,12]" in r.stderr
    r = subprocess.run([CLI, model, "--carry", "stateN=state"], capture_output=True, text=True)
    assert r.returncode == 1 and "--carry needs --inputs-dir" in r.stderr


@pytest.mark.parametrize("mode", ["auto", "dense"])
def test_only_final_states_requested(tmp_path, mode):
    """An LSTM node written by hand with Y omitted (outputs '', Y_h, Y_c) and
    constant weights: PyTorch's nn.LSTM with the same weights gives h and c."""
    import torch
    from onnx import TensorProto, helper

    torch.manual_seed(8)
    lstm = torch.nn.LSTM(6, 5).eval()

    def onnx_order(t):  # PyTorch gates i f g o -> ONNX i o f c
        i, f, g, o = t.detach().numpy().reshape(4, 5, -1)
        return np.concatenate([i, o, f, g]).reshape(1, 20, -1).astype(np.float32)

    w, r = onnx_order(lstm.weight_ih_l0), onnx_order(lstm.weight_hh_l0)
    b = np.concatenate([onnx_order(lstm.bias_ih_l0), onnx_order(lstm.bias_hh_l0)]).reshape(1, 40)
    node = helper.make_node("LSTM", ["X", "W", "R", "B"], ["", "Y_h", "Y_c"], hidden_size=5)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [7, 2, 6])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 2, 5]) for n in ("Y_h", "Y_c")],
        [numpy_helper.from_array(a, n) for a, n in ((w, "W"), (r, "R"), (b, "B"))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    so = sparse_infer.SessionOptions()
    so.mode = mode
    sess = sparse_infer.InferenceSession(model.SerializeToString(), sess_options=so)
    x = np.random.default_rng(9).standard_normal((7, 2, 6)).astype(np.float32)
    h, c = sess.run(None, {"X": x})
    with torch.no_grad():
        _, (want_h, want_c) = lstm(torch.from_numpy(x))
    np.testing.assert_allclose(h, want_h.numpy(), atol=TOL, rtol=0)
    np.testing.assert_allclose(c, want_c.numpy(), atol=TOL, rtol=0)
