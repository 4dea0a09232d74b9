"""sparse-infer: ONNX inference on the CPU that skips exactly-zero ReLU activations.

A drop-in for ONNX Runtime's Python API: a script written for
``import onnxruntime as ort`` runs with ``import sparse_infer as ort``.
Everything is implemented in the compiled module ``_sparse_infer``.
"""
import json as _json
import os as _os

from ._sparse_infer import (  # noqa: F401
    Fail,
    InferenceSession,
    InvalidArgument,
    InvalidGraph,
    NoSuchFile,
    NodeArg,
    NotImplemented,
    OutOfMemory,
    SessionOptions,
    __version__,
    get_available_providers,
    get_device,
)
from ._sparse_infer import _analyze_json


def analyze(model, inputs, sess_options=None, iters=20, warmup=3):
    """Is activation sparsity worth it for ``model`` on ``inputs``?

    ``model`` is a path; ``inputs`` one input set (a dict of input name ->
    numpy array) or a list of them. Runs the model through an auto and a
    dense session in this process (``warmup`` calls each, then ``iters``
    timed calls each, interleaved, then as many profiled ones) and returns
    the report ``sparse-infer analyze --json`` writes, as a dict:
    ``activations`` (node, op, zero_fraction, min, max), ``layers`` (node,
    op, macs, zero_input_fraction, path, time_us_auto, time_us_dense),
    ``mac_share_reading_zeros``, ``mac_share_sparse_path``, ``latency_us``
    (auto_p50, dense_p50), ``speedup`` and ``verdict``. ``sess_options``
    (threads, memory, single_weight_copy) applies to both sessions.
    """
    sets = [inputs] if isinstance(inputs, dict) else list(inputs)
    return _json.loads(_analyze_json(_os.fspath(model), sets, sess_options, iters, warmup))
