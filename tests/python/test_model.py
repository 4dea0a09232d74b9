"""The module against PyTorch: the bundled model and one exported at test time."""
import pathlib

import numpy as np
import pytest

import sparse_infer
from conftest import read_f32

# The engine is held to 1e-4 against PyTorch (models/make_digits_mlp.py).
TOL = 1e-4


def test_bundled_digit_is_a_two(digits_path, digit_input):
    sess = sparse_infer.InferenceSession(digits_path)
    (logits,) = sess.run(None, {"input": digit_input})
    assert logits.dtype == np.float32 and logits.shape == (1, 10)
    np.testing.assert_allclose(logits, read_f32("expected_0.bin", (1, 10)), atol=TOL, rtol=0)
    assert int(logits.argmax()) == 2


@pytest.mark.parametrize("mode", ["auto", "dense", "sparse"])
def test_bundled_batch_matches_pytorch_in_every_mode(digits_path, mode):
    so = sparse_infer.SessionOptions()
    so.mode = mode
    sess = sparse_infer.InferenceSession(digits_path, sess_options=so)
    (logits,) = sess.run(["logits"], {"input": read_f32("batch_16.bin", (16, 64))})
    np.testing.assert_allclose(logits, read_f32("expected_batch_16.bin", (16, 10)), atol=TOL,
                               rtol=0)


def test_node_args(digits_path):
    sess = sparse_infer.InferenceSession(digits_path)
    (i,), (o,) = sess.get_inputs(), sess.get_outputs()
    assert (i.name, i.shape, i.type) == ("input", ["batch", 64], "tensor(float)")
    assert (o.name, o.shape, o.type) == ("logits", ["batch", 10], "tensor(float)")
    assert repr(i) == "NodeArg(name='input', type='tensor(float)', shape=['batch', 64])"


def test_torch_export_matches_pytorch(torch_mlp):
    import torch

    net, path = torch_mlp
    sess = sparse_infer.InferenceSession(path)
    assert [o.type for o in sess.get_outputs()] == ["tensor(float)", "tensor(int64)"]
    assert sess.get_inputs()[0].shape == ["n", 32]
    x = np.random.default_rng(1).standard_normal((5, 32)).astype(np.float32)
    logits, label = sess.run(None, {"x": x})
    with torch.no_grad():
        want_logits, want_label = net(torch.from_numpy(x))
    np.testing.assert_allclose(logits, want_logits.numpy(), atol=TOL, rtol=0)
    assert label.dtype == np.int64 and label.shape == (5,)
    np.testing.assert_array_equal(label, want_label.numpy())
    # output_names picks and orders outputs; [] means all, as in ONNX Runtime.
    (only_label,) = sess.run(["label"], {"x": x})
    np.testing.assert_array_equal(only_label, label)
    assert len(sess.run([], {"x": x})) == 2


def test_loads_from_bytes_and_pathlike(digits_path, digit_input):
    want = sparse_infer.InferenceSession(digits_path).run(None, {"input": digit_input})[0]
    data = pathlib.Path(digits_path).read_bytes()
    for source in (data, pathlib.Path(digits_path)):
        got = sparse_infer.InferenceSession(source).run(None, {"input": digit_input})[0]
        np.testing.assert_array_equal(got, want)


def test_non_contiguous_input_is_copied(digits_path):
    # Documented choice: a view (slice, transpose) is copied, as ONNX Runtime does.
    sess = sparse_infer.InferenceSession(digits_path)
    batch = read_f32("batch_16.bin", (16, 64))
    every_other = batch[::2]
    transposed = np.ascontiguousarray(batch.T).T
    assert not every_other.flags.c_contiguous and not transposed.flags.c_contiguous
    for view in (every_other, transposed):
        got = sess.run(None, {"input": view})[0]
        np.testing.assert_array_equal(got, sess.run(None, {"input": view.copy()})[0])


def test_read_only_input_and_owned_outputs(digits_path, digit_input):
    sess = sparse_infer.InferenceSession(digits_path)
    x = digit_input.copy()
    x.flags.writeable = False
    (a,) = sess.run(None, {"input": x})
    (b,) = sess.run(None, {"input": x})
    assert a.flags.owndata and a.flags.writeable and a.flags.c_contiguous
    a[:] = 0  # each call's arrays are its own
    assert b.any()


def test_options_round_trip():
    so = sparse_infer.SessionOptions()
    assert (so.intra_op_num_threads, so.mode, so.single_weight_copy, so.max_memory_bytes) == (
        0, "auto", False, 0)
    so.intra_op_num_threads = 1
    so.mode = "sparse"
    so.single_weight_copy = True
    so.max_memory_bytes = 1 << 30
    assert (so.intra_op_num_threads, so.mode, so.single_weight_copy, so.max_memory_bytes) == (
        1, "sparse", True, 1 << 30)


def test_session_options_are_copied_at_load(digits_path):
    so = sparse_infer.SessionOptions()
    so.mode = "dense"
    sess = sparse_infer.InferenceSession(digits_path, so)
    so.mode = "sparse"
    assert sess.get_session_options().mode == "dense"


def test_profile(digits_path, digit_input):
    sess = sparse_infer.InferenceSession(digits_path)
    p = sess.profile({"input": digit_input}, iters=4)
    assert p["runs"] == 4 and p["warmup_runs"] == 3
    assert [layer["op"] for layer in p["layers"]] == ["FusedGemm", "FusedGemm", "Gemm"]
    first = p["layers"][0]
    assert first["node"] == "/0/Gemm" and first["output_shape"] == [1, 256]
    assert 0 <= first["density"] <= 1 and (first["path"] == "sparse" or first["path"].startswith("dense:"))
    assert p["total_us"] == pytest.approx(sum(layer["time_us"] for layer in p["layers"]))
    assert 0 <= p["sparse_work_share"] <= 1
    assert 0 < p["weight_bytes_read"] <= p["weight_bytes_dense"]
    so = sparse_infer.SessionOptions()
    so.mode = "dense"
    dense = sparse_infer.InferenceSession(digits_path, so).profile({"input": digit_input}, 2, 0)
    # "dense:" and the implementation the layer's table chose for one row.
    assert all(layer["path"].startswith("dense:") for layer in dense["layers"])
    assert dense["sparse_work_share"] == 0


def test_version_and_providers(digits_path):
    major, minor, patch = (int(p) for p in sparse_infer.__version__.split("."))
    assert (major, minor, patch) >= (0, 1, 0)
    assert sparse_infer.get_available_providers() == ["CPUExecutionProvider"]
    assert sparse_infer.get_device() == "CPU"
    sess = sparse_infer.InferenceSession(digits_path, providers=["CPUExecutionProvider"])
    assert sess.get_providers() == ["CPUExecutionProvider"]
