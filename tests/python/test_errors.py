"""Every bad call raises an exception naming the tensor, file or option."""
import re
import warnings

import numpy as np
import pytest

import sparse_infer as si


@pytest.fixture(scope="module")
def sess(digits_path):
    return si.InferenceSession(digits_path)


def test_hierarchy():
    assert issubclass(si.Fail, RuntimeError)
    for cls, builtin in ((si.InvalidArgument, ValueError), (si.NoSuchFile, OSError),
                         (si.InvalidGraph, si.Fail), (si.NotImplemented, si.Fail),
                         (si.OutOfMemory, MemoryError)):
        assert issubclass(cls, si.Fail) and issubclass(cls, builtin)


def test_missing_input(sess):
    with pytest.raises(si.InvalidArgument, match='input_feed lacks model input.*"input"'):
        sess.run(None, {})


def test_unknown_input_name(sess, digit_input):
    with pytest.raises(si.InvalidArgument, match='"pixels", which is not an input.*"input"'):
        sess.run(None, {"input": digit_input, "pixels": digit_input})


def test_float64_is_refused_not_cast(sess, digit_input):
    with pytest.raises(si.InvalidArgument,
                       match=r'input "input" expects float32, got numpy float64.*astype'):
        sess.run(None, {"input": digit_input.astype(np.float64)})


def test_other_engine_dtype_is_refused_by_the_engine(sess):
    with pytest.raises(si.InvalidArgument, match='input "input" expects float32, got int64'):
        sess.run(None, {"input": np.zeros((1, 64), dtype=np.int64)})


def test_non_native_byte_order_is_refused(sess, digit_input):
    with pytest.raises(si.InvalidArgument, match='input "input" expects float32, got numpy >f4'):
        sess.run(None, {"input": digit_input.astype(">f4")})


@pytest.mark.parametrize("shape", [(1, 63), (64,), (1, 1, 64)])
def test_wrong_shape(sess, shape):
    got = "[" + ",".join(str(d) for d in shape) + "]"
    with pytest.raises(si.InvalidArgument,
                       match=r'input "input" expects shape \[batch,64\], got ' + re.escape(got)):
        sess.run(None, {"input": np.zeros(shape, dtype=np.float32)})


def test_not_an_array(sess):
    with pytest.raises(si.InvalidArgument, match='input "input" must be a numpy.ndarray, got list'):
        sess.run(None, {"input": [[0.0] * 64]})


def test_input_feed_not_a_dict(sess, digit_input):
    with pytest.raises(TypeError):
        sess.run(None, [digit_input])


def test_unknown_output_name(sess, digit_input):
    with pytest.raises(si.InvalidArgument,
                       match='output "probs" is not an output of the model.*"logits"'):
        sess.run(["probs"], {"input": digit_input})


def test_missing_model_file(tmp_path):
    path = str(tmp_path / "absent.onnx")
    with pytest.raises(si.NoSuchFile, match=re.escape(path)):
        si.InferenceSession(path)


def test_directory_as_model(tmp_path):
    with pytest.raises(si.NoSuchFile, match=re.escape(str(tmp_path))):
        si.InferenceSession(str(tmp_path))


def test_invalid_model_file(tmp_path):
    path = tmp_path / "garbage.onnx"
    path.write_bytes(b"\xff\x00 this is not protobuf" * 10)
    with pytest.raises(si.InvalidGraph, match=re.escape(str(path))):
        si.InferenceSession(str(path))


def test_bytes_that_are_not_a_model():
    with pytest.raises(si.InvalidGraph, match="not a valid ONNX model"):
        si.InferenceSession(b"\xff\x00 this is not protobuf" * 10)


def test_unsupported_operator():
    import onnx
    import onnx.helper as h

    graph = h.make_graph([h.make_node("Det", ["x"], ["y"], name="det0")], "g",
                         [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [3, 3])],
                         [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [])])
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])
    with pytest.raises(si.NotImplemented, match='unsupported operator Det \\(node "det0"'):
        si.InferenceSession(model.SerializeToString())


def test_path_of_wrong_type():
    with pytest.raises(TypeError, match="path_or_bytes must be a str, os.PathLike or bytes"):
        si.InferenceSession(42)


def test_bad_option_values():
    so = si.SessionOptions()
    with pytest.raises(si.InvalidArgument, match='SessionOptions.mode is "foo"'):
        so.mode = "foo"
    for n in (-1, -8):
        with pytest.raises(si.InvalidArgument,
                           match=f"SessionOptions.intra_op_num_threads is {n}, expected >= 0"):
            so.intra_op_num_threads = n
    with pytest.raises(si.InvalidArgument, match="SessionOptions.max_memory_bytes is -1"):
        so.max_memory_bytes = -1
    with pytest.raises(TypeError):
        so.intra_op_num_threads = "two"
    with pytest.raises(AttributeError):  # an option the engine lacks is not silently dropped
        so.graph_optimization_level = 99
    assert (so.mode, so.intra_op_num_threads, so.max_memory_bytes) == ("auto", 0, 0)


def test_memory_ceiling(digits_path):
    so = si.SessionOptions()
    so.max_memory_bytes = 1000
    with pytest.raises(si.OutOfMemory):
        si.InferenceSession(digits_path, so)


def test_bad_profile_counts(sess, digit_input):
    with pytest.raises(si.InvalidArgument, match="profile: iters is 0"):
        sess.profile({"input": digit_input}, iters=0)
    with pytest.raises(si.InvalidArgument, match="profile: warmup is -1"):
        sess.profile({"input": digit_input}, warmup=-1)


def test_unknown_provider_warns(digits_path):
    with pytest.warns(UserWarning, match='provider "CUDAExecutionProvider" is not available'):
        si.InferenceSession(digits_path, providers=[("CUDAExecutionProvider", {}),
                                                    "CPUExecutionProvider"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        si.InferenceSession(digits_path, providers=["CPUExecutionProvider"])


def test_sequence_interface_is_refused():
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    graph = helper.make_graph(
        [helper.make_node("SequenceConstruct", ["x"], ["s"], name="make")], "seq",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_sequence_value_info("s", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    with pytest.raises(si.NotImplemented, match='graph output "s" is a sequence of float32; '
                       'the Python module exchanges tensors only'):
        si.InferenceSession(model.SerializeToString())
