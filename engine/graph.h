// The graph IR: values (named edges), nodes (ops) and constants. Importers
// build it, passes rewrite it, the planner orders it. No protobuf here.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/status.h"
#include "engine/tensor.h"

namespace si {

constexpr const char *kOnnxDomain = "";                    // ai.onnx, stored as the empty string
constexpr const char *kEngineDomain = "com.sparse_infer";  // ops the passes create

// Attributes the sparsity pass sets (engine-internal; never read from files).
constexpr const char *kEmitActiveSetAttr = "si.emit_active_set";  // producer: attach ActiveSet
constexpr const char *kSparseInputAttr = "si.sparse_input";       // consumer: expect one
// FusedConv, MaxPool, GlobalAveragePool: channel block of input 0 (and of the pool's output) and
// of a FusedConv's output (and its addend); 0 or absent means plain NC[D]HW.
constexpr const char *kSrcBlockAttr = "si.src_block";
constexpr const char *kDstBlockAttr = "si.dst_block";

// A dimension as the model declares it: a size, or unknown (-1) with an
// optional symbolic name (ONNX dim_param, e.g. "batch").
struct Dim {
  int64_t size = -1;
  std::string param;
};

struct ValueInfo {
  std::string name;
  DType dtype = DType::kUndefined;  // of a sequence: its elements' dtype
  bool sequence = false;            // an ONNX seq(tensor(dtype)), no shape recorded
  bool has_shape = false;           // false: rank unknown
  std::vector<Dim> dims;
};

// "float32", or "sequence of float32": how messages name a value's type.
std::string value_type_name(const ValueInfo &info);
// kUnsupported naming the first graph input or output that is a sequence,
// for a front door (`who`, e.g. "the C API") that exchanges tensors only.
Status require_tensor_interface(const std::vector<ValueInfo> &inputs,
                                const std::vector<ValueInfo> &outputs, const std::string &who);

// A value declared with t's dtype and exact shape (a constant's, or a probe input's).
ValueInfo exact_value_info(const std::string &name, const Tensor &t);

struct Attribute {
  enum class Kind { kFloat, kInt, kString, kTensor, kFloats, kInts, kStrings };
  Kind kind = Kind::kInt;
  float f = 0.f;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
};

// Attribute values, for code that builds nodes (passes, tools, tests).
Attribute attr_int(int64_t v);
Attribute attr_float(float v);
Attribute attr_string(const std::string &v);
Attribute attr_ints(const std::vector<int64_t> &v);
Attribute attr_floats(const std::vector<float> &v);

struct Node;

// One node of the graph as imported, named by a node a pass fused it into.
struct NodeOrigin {
  std::string op_type;
  std::string name;
};

struct Graph;

// The body of a graph attribute (If's then_branch, Loop's body, one graph of
// a GRAPHS attribute): a full graph of its own. Values the body reads from
// enclosing graphs are its `captures`; the node that owns the body reads the
// same values as extra inputs after its ONNX inputs (ONNX Runtime's
// "implicit inputs"), so ordering, lifetimes and passes of the enclosing
// graph see them as ordinary reads.
struct Subgraph {
  std::string attr;              // "then_branch"; "branches[1]" for a GRAPHS attribute
  std::shared_ptr<Graph> graph;  // never null
  // For each of graph->captures, the index into the owning node's inputs that feeds it.
  std::vector<size_t> capture_inputs;
};

struct Node {
  std::string op_type;
  std::string name;
  std::string domain;  // "" for ai.onnx
  int opset = 0;       // opset version of `domain` the model imports
  // Value ids; -1 for an omitted optional input. A node with bodies reads its
  // ONNX inputs first, then the values its bodies capture (Subgraph::capture_inputs).
  std::vector<int> inputs;
  std::vector<int> outputs;  // value ids; -1 for an omitted optional output
  std::map<std::string, Attribute> attrs;
  std::vector<Subgraph> subgraphs;  // graph attributes' bodies, in attribute order
  // Provenance: when a pass fused several imported nodes into this one
  // (FusedGemm, FusedConv, Gelu, LayerNormalization, a Conv or Gemm that
  // absorbed a BatchNormalization), those nodes in data-flow order, this
  // node's own name first for the matmul/conv ones. Empty for a node as
  // imported. What analyze and --profile report under the model's own names.
  std::vector<NodeOrigin> origins;

  bool has_attr(const std::string &key) const { return attrs.count(key) != 0; }
  int64_t attr_int(const std::string &key, int64_t fallback) const;
  float attr_float(const std::string &key, float fallback) const;
  std::string attr_string(const std::string &key, const std::string &fallback) const;
  std::vector<int64_t> attr_ints(const std::string &key) const;  // empty if absent
  std::vector<float> attr_floats(const std::string &key) const;
  // `Relu (node "fc1_relu", ai.onnx opset 13)`: how messages name a node.
  std::string describe() const;
  // `origins`, or this node itself when it is as imported.
  std::vector<NodeOrigin> imported_nodes() const;
};

struct Graph {
  std::vector<ValueInfo> values;
  std::vector<Node> nodes;
  std::vector<int> inputs;   // value ids fed by the caller, in model order
  std::vector<int> outputs;  // value ids returned to the caller, in model order
  // A body's values bound, by name, to values of an enclosing graph (empty
  // for a model's main graph). Available from the start like inputs.
  std::vector<int> captures;
  std::unordered_map<int, Tensor> constants;  // initializers and folded values

  int find_value(const std::string &name) const;  // -1 if absent
  int add_value(ValueInfo info);                  // returns the new id
  bool is_constant(int value) const { return value >= 0 && constants.count(value) != 0; }
  const Tensor *constant(int value) const;  // nullptr unless constant
  // op type -> node count, counting the nodes of every body (recursively).
  std::map<std::string, int> op_histogram() const;

 private:
  std::unordered_map<std::string, int> index_;
};

}  // namespace si
