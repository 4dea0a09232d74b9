// Protobuf-aware pieces of the ONNX importer, shared by its .cc files only.
// `label` arguments name the tensor or value in messages, e.g.
// `initializer "fc1.weight"` or `attribute "value" of Constant (node ...)`.
#pragma once

#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/status.h"
#include "engine/tensor.h"

namespace si::onnx_import {

// Highest default-domain opset whose operator semantics the engine follows.
constexpr int kMaxOnnxOpset = 17;

// Normalised domain ("ai.onnx" -> "") -> imported opset version.
using OpsetMap = std::map<std::string, int>;

// Closes a POSIX file descriptor on scope exit.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) close(fd_);
  }
  FileDescriptor(const FileDescriptor &) = delete;
  FileDescriptor &operator=(const FileDescriptor &) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// --- onnx_importer.cc ---
// The folder a model path lives in ("." for a bare file name).
std::string folder_of(const std::string &path);
// kInvalidModel naming `origin`: a model above protobuf's 2 GiB limit.
Status too_large(const std::string &origin, uint64_t size);
// The whole file (kIo naming it; a fifo or directory fails, never blocks).
Status read_model_file(const std::string &path, std::string *bytes);

// --- tensor_proto.cc ---
std::string onnx_dtype_name(int32_t onnx_type);  // "DOUBLE", "FLOAT16", ...
// kUnsupported naming `label` and the dtype unless the engine has it.
Status dtype_for(int32_t onnx_type, const std::string &label, DType *out);
// Any encoding: raw_data, the typed field for the dtype, or external data
// resolved inside `base_dir` (empty: external data rejected).
Status tensor_from_proto(const onnx::TensorProto &proto, const std::string &label,
                         const std::string &base_dir, Tensor *out);

// --- external_data.cc ---
// Validates the tensor's external location and returns the file's real path.
Status resolve_external_data(const onnx::TensorProto &proto, const std::string &label,
                             const std::string &base_dir, std::string *real_path);
// Checks that the tensor's external file holds the bytes its dims need, then
// allocates `out` and reads them.
Status read_external_data(const onnx::TensorProto &proto, const std::string &label,
                          const std::string &base_dir, DType dtype, const Shape &shape,
                          Tensor *out);

// --- value_info.cc ---
// A declared graph input or output: must be a tensor of a supported dtype.
Status declared_value_info(const onnx::ValueInfoProto &proto, const std::string &what,
                           ValueInfo *out);
// Inferred information is a hint: unsupported dtypes stay kUndefined and bad
// dims become unknown instead of failing the import.
void merge_inferred_value_info(const onnx::ValueInfoProto &proto, ValueInfo *out);

// --- attributes.cc ---
// `*kept` is false for attributes a Graph cannot hold (GRAPH, GRAPHS, ...);
// only ops the engine does not implement carry them.
Status attribute_from_proto(const onnx::AttributeProto &proto, const std::string &node_desc,
                            const std::string &base_dir, bool *kept, Attribute *out);
// The value of an ai.onnx Constant node.
Status constant_node_value(const onnx::NodeProto &node, const std::string &node_desc,
                           const std::string &base_dir, Tensor *out);

// --- model_check.cc ---
Status check_opsets(const onnx::ModelProto &model, OpsetMap *out);
// onnx::checker::check_model with external data validated by us first.
Status run_checker(onnx::ModelProto *model, const std::string &base_dir);
// Adds inferred value_info to the model's graph (in place).
Status infer_shapes(const OpsetMap &opsets, onnx::ModelProto *model);

// --- graph_convert.cc ---
// Node `index` of `g` as the engine names it (op type, name or
// "<op_type>_<index>" when the file gives none, domain, opset), without
// inputs, outputs or attributes.
Status node_header(const onnx::GraphProto &g, int index, const OpsetMap &opsets, Node *n);
// `declared_outputs`: the graph outputs as the file declares them, taken
// before shape inference merged inferred types into them.
Status convert_graph(const onnx::ModelProto &model,
                     const std::vector<onnx::ValueInfoProto> &declared_outputs,
                     const OpsetMap &opsets, const std::string &base_dir, Graph *out);

}  // namespace si::onnx_import
