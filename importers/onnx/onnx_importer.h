// ONNX -> engine Graph. The only code in the project that knows protobuf and
// the ONNX schema; this header is protobuf-free so tools and the C API can
// include it.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "engine/graph.h"
#include "engine/options.h"
#include "engine/session.h"
#include "engine/status.h"
#include "engine/tensor.h"

namespace si {

// Parses, checks (onnx::checker, shape inference) and converts a model file.
// External data is resolved inside the file's folder only.
Status import_onnx_file(const std::string &path, Graph *out);

// Same, with the model's constants held to options' memory limit as
// load_session_file holds them (for a caller that reads the graph before
// creating the session).
Status import_onnx_file(const std::string &path, const SessionOptions &options, Graph *out);

// Same from bytes in memory. `base_dir` is the folder external data is
// resolved in; empty means a model with external data is rejected.
Status import_onnx_bytes(const void *data, size_t size, const std::string &base_dir, Graph *out);

// import + Session::create in one call (what the CLI and the C API do).
Status load_session_file(const std::string &path, const SessionOptions &options,
                         std::unique_ptr<Session> *out);
Status load_session_bytes(const void *data, size_t size, const SessionOptions &options,
                          std::unique_ptr<Session> *out);

// A serialized onnx.TensorProto (.pb files of the ONNX test layout) <-> Tensor.
// `name` (may be nullptr) receives the tensor's name.
Status parse_tensor_proto(const void *data, size_t size, Tensor *out, std::string *name);
Status serialize_tensor_proto(const Tensor &tensor, const std::string &name, std::string *bytes);
// A serialized onnx.SequenceProto of tensors (a sequence value's .pb) -> a
// Tensor::sequence. The element dtype is the first element's, or `empty_dtype`
// for an empty sequence (the proto does not record it).
Status parse_sequence_proto(const void *data, size_t size, DType empty_dtype, Tensor *out,
                            std::string *name);

}  // namespace si
