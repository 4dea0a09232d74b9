"""sparse-infer: ONNX inference on the CPU that skips exactly-zero ReLU activations.

A drop-in for ONNX Runtime's Python API: a script written for
``import onnxruntime as ort`` runs with ``import sparse_infer as ort``.
Everything is implemented in the compiled module ``_sparse_infer``.
"""
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
