// Model-level validation: opset imports, onnx::checker, shape inference.
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <exception>
#include <set>
#include <sstream>
#include <unordered_map>
#include <utility>

#include "engine/ops/registry.h"
#include "importers/onnx/internal.h"

namespace si::onnx_import {

namespace {

using SavedLocations = std::vector<std::pair<std::string *, std::string>>;

Status point_at_real_file(onnx::TensorProto *t, const std::string &label,
                          const std::string &base_dir, SavedLocations *saved) {
  if (t->data_location() != onnx::TensorProto::EXTERNAL) return Status::ok();
  std::string real;
  SI_RETURN_IF_ERROR(resolve_external_data(*t, label, base_dir, &real));
  for (onnx::StringStringEntryProto &e : *t->mutable_external_data()) {
    if (e.key() != "location") continue;
    saved->emplace_back(e.mutable_value(), e.value());
    *e.mutable_value() = real;
  }
  return Status::ok();
}

Status point_graph_at_real_files(onnx::GraphProto *g, const std::string &base_dir,
                                 SavedLocations *saved) {
  for (onnx::TensorProto &t : *g->mutable_initializer()) {
    SI_RETURN_IF_ERROR(point_at_real_file(&t, "initializer \"" + t.name() + "\"", base_dir, saved));
  }
  for (onnx::NodeProto &node : *g->mutable_node()) {
    for (onnx::AttributeProto &a : *node.mutable_attribute()) {
      const std::string label = "attribute \"" + a.name() + "\" of node \"" + node.name() + "\"";
      if (a.has_t()) SI_RETURN_IF_ERROR(point_at_real_file(a.mutable_t(), label, base_dir, saved));
      for (onnx::TensorProto &t : *a.mutable_tensors()) {
        SI_RETURN_IF_ERROR(point_at_real_file(&t, label, base_dir, saved));
      }
      if (a.has_g()) SI_RETURN_IF_ERROR(point_graph_at_real_files(a.mutable_g(), base_dir, saved));
      for (onnx::GraphProto &sub : *a.mutable_graphs()) {
        SI_RETURN_IF_ERROR(point_graph_at_real_files(&sub, base_dir, saved));
      }
    }
  }
  return Status::ok();
}

}  // namespace

Status check_opsets(const onnx::ModelProto &model, OpsetMap *out) {
  const auto &known = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  out->clear();
  for (const onnx::OperatorSetIdProto &imp : model.opset_import()) {
    const std::string domain = imp.domain() == "ai.onnx" ? "" : imp.domain();
    const std::string shown = domain.empty() ? "ai.onnx" : domain;
    const int64_t v = imp.version();
    if (out->count(domain) != 0) {
      return invalid_model("opset_import lists domain " + shown + " more than once");
    }
    if (domain.empty() && (v < 1 || v > kMaxOnnxOpset)) {
      return unsupported("ai.onnx opset " + std::to_string(v) + " is not supported (1 to " +
                         std::to_string(kMaxOnnxOpset) + ")");
    }
    auto range = known.find(domain);
    if (range != known.end() && (v < range->second.first || v > range->second.second)) {
      return unsupported("domain " + shown + " opset " + std::to_string(v) +
                         " is unknown (known: " + std::to_string(range->second.first) + " to " +
                         std::to_string(range->second.second) + ")");
    }
    if (v < 1 || v > INT_MAX) {
      return invalid_model("domain " + shown + " has invalid opset version " + std::to_string(v));
    }
    (*out)[domain] = int(v);
  }
  // IR versions 1 and 2 predate opset_import and mean ai.onnx opset 1.
  if (model.opset_import_size() == 0 && model.ir_version() < 3) (*out)[""] = 1;
  return Status::ok();
}

Status run_checker(onnx::ModelProto *model, const std::string &base_dir) {
  // Given a ModelProto, libonnx 1.12's checker looks for external data
  // relative to the process's working directory. Validate each location
  // ourselves and point the checker at the resolved file while it runs.
  SavedLocations saved;
  Status s = point_graph_at_real_files(model->mutable_graph(), base_dir, &saved);
  if (s.is_ok()) {
    try {
      onnx::checker::check_model(*model);
    } catch (const std::exception &e) {
      s = invalid_model(std::string("ONNX checker: ") + e.what());
    }
  }
  for (auto &entry : saved) *entry.first = std::move(entry.second);
  return s;
}

namespace {

using RankMap = std::unordered_map<std::string, int>;

bool is_binary_elementwise(const std::string &op) {
  return op == "Add" || op == "Sub" || op == "Mul" || op == "Div";
}

// Ops whose output has the rank of their first input.
bool keeps_rank(const std::string &op) {
  static const std::set<std::string> kOps = {"Relu",          "LeakyRelu",
                                             "Sigmoid",       "Tanh",
                                             "Clip",          "Elu",
                                             "Selu",          "HardSigmoid",
                                             "PRelu",         "Softmax",
                                             "LogSoftmax",    "Dropout",
                                             "Identity",      "BatchNormalization",
                                             "Conv",          "ConvTranspose",
                                             "MaxPool",       "AveragePool",
                                             "LpPool",        "GlobalAveragePool",
                                             "GlobalMaxPool", "InstanceNormalization",
                                             "LRN",           "Pad",
                                             "Resize",        "Upsample",
                                             "Concat",        "LayerNormalization"};
  return kOps.count(op) != 0;
}

// Ranks the file states (initializers, graph inputs and outputs, value_info),
// carried through the ops that keep them, in file order (the checker has
// verified that order is topological). Values missing from the map have a
// rank nobody can vouch for before inference runs.
RankMap known_ranks(const onnx::GraphProto &g) {
  RankMap r;
  for (const auto *list : {&g.input(), &g.output(), &g.value_info()}) {
    for (const onnx::ValueInfoProto &v : *list) {
      if (v.type().has_tensor_type() && v.type().tensor_type().has_shape())
        r[v.name()] = v.type().tensor_type().shape().dim_size();
    }
  }
  for (const onnx::TensorProto &t : g.initializer()) r[t.name()] = t.dims_size();
  for (const onnx::NodeProto &node : g.node()) {
    if (node.input_size() == 0 || node.output_size() == 0) continue;
    int rank = -1;
    if (keeps_rank(node.op_type())) {
      auto it = r.find(node.input(0));
      if (it != r.end()) rank = it->second;
    } else if (is_binary_elementwise(node.op_type()) && node.input_size() == 2) {
      auto a = r.find(node.input(0)), b = r.find(node.input(1));
      if (a != r.end() && b != r.end()) rank = std::max(a->second, b->second);
    }
    if (rank >= 0) r.emplace(node.output(0), rank);  // a declared rank stays
  }
  return r;
}

// libonnx 1.12 shape inference trusts its input in places where a bad file
// crashes the process (found by the fuzz targets): Gemm-1/Gemm-6 reads dims 0
// and 1 of A and B without checking their rank, and the conv/pool rules read
// one kernel size, stride, dilation and pad per spatial axis of X (and W's
// channels) without checking there are that many, and divide by strides and
// dilations (SIGFPE on a 0). So inference runs only when the attributes and
// ranks are known to be sane (`*safe`); ranks or attributes known to
// contradict the op fail the load here, naming the node, as inference would
// have; unknown ones leave the model to load without inferred hints.
// Whether every node of `g` and of its bodies has a kernel, and no body
// (depth > 0) holds an op of `guarded`.
bool all_supported(const OpsetMap &opsets, const onnx::GraphProto &g,
                   const std::set<std::string> &guarded, int depth) {
  for (const onnx::NodeProto &node : g.node()) {
    const std::string domain = node.domain() == "ai.onnx" ? "" : node.domain();
    auto version = opsets.find(domain);
    if (node.op_type() != "Constant" &&
        (version == opsets.end() || find_op(domain, node.op_type(), version->second) == nullptr))
      return false;
    const bool gemm_v6 = node.op_type() == "Gemm" && domain.empty() && version->second < 7;
    if (depth > 0 && (guarded.count(node.op_type()) != 0 || gemm_v6)) return false;
    for (const onnx::AttributeProto &a : node.attribute()) {
      if (a.has_g() && !all_supported(opsets, a.g(), guarded, depth + 1)) return false;
      for (const onnx::GraphProto &b : a.graphs())
        if (!all_supported(opsets, b, guarded, depth + 1)) return false;
    }
  }
  return true;
}

Status check_inference_guards(const OpsetMap &opsets, const onnx::ModelProto &model, bool *safe) {
  static const std::set<std::string> kConvPool = {
      "Conv", "ConvTranspose", "ConvInteger", "QLinearConv", "MaxPool", "AveragePool", "LpPool"};
  const onnx::GraphProto &g = model.graph();
  *safe = false;
  // Ops the engine lacks fail the load anyway (listed by the session), and
  // their inference rules are the least exercised (GRU-1 with a rank-1 X
  // crashed it): their hints would serve nothing.
  // Bodies are not guarded below: one holding a guarded op, like one holding
  // an op the engine lacks, loads without hints.
  if (!all_supported(opsets, g, kConvPool, 0)) return Status::ok();
  auto it = opsets.find("");
  const int opset = it == opsets.end() ? 0 : it->second;
  RankMap ranks;
  bool ranks_done = false, sane = true;
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto &node = g.node(i);
    const std::string &op = node.op_type();
    if (!node.domain().empty() && node.domain() != "ai.onnx") continue;
    const bool gemm_v6 = op == "Gemm" && opset < 7;
    if (!gemm_v6 && kConvPool.count(op) == 0) continue;
    if (!ranks_done) {
      ranks = known_ranks(g);
      ranks_done = true;
    }
    auto rank_of = [&](int input) {
      if (input >= node.input_size()) return -1;
      auto r = ranks.find(node.input(input));
      return r == ranks.end() ? -1 : r->second;
    };
    auto contradiction = [&](const std::string &what) {
      Node n;
      SI_RETURN_IF_ERROR(node_header(g, i, opsets, &n));
      return invalid_model(n.describe() + ": " + what);
    };
    auto input_rank = [&](int input, int rank) {
      return "input " + std::to_string(input) + " \"" + node.input(input) + "\" has rank " +
             std::to_string(rank);
    };
    if (gemm_v6) {
      for (int k : {0, 1}) {
        const int r = rank_of(k);
        if (r >= 0 && r != 2) return contradiction(input_rank(k, r) + "; Gemm takes 2-D A and B");
      }
      sane = false;
      continue;
    }
    const int x = rank_of(0), spatial = x - 2;
    if (x < 0 || op == "QLinearConv") {
      sane = false;
      continue;
    }
    if (x < 3) {
      return contradiction(input_rank(0, x) + "; " + op +
                           " takes N, C and at least one spatial axis");
    }
    if (op == "Conv" || op == "ConvTranspose" || op == "ConvInteger") {
      const int w = rank_of(1);
      if (w < 0) {
        sane = false;
        continue;
      }
      if (w != x)
        return contradiction(input_rank(1, w) + ", input 0 has rank " + std::to_string(x));
    }
    for (const onnx::AttributeProto &a : node.attribute()) {
      const std::string &name = a.name();
      const bool per_axis = name == "kernel_shape" || name == "strides" || name == "dilations";
      if (!per_axis && name != "pads") continue;
      const int want = per_axis ? spatial : 2 * spatial;
      if (a.ints_size() != want) {
        return contradiction("attribute " + name + " has " + std::to_string(a.ints_size()) +
                             " values, input 0 of rank " + std::to_string(x) + " needs " +
                             std::to_string(want));
      }
      if (!per_axis) continue;
      for (int64_t v : a.ints()) {
        if (v < 1) return contradiction("attribute " + name + " holds " + std::to_string(v));
      }
    }
  }
  *safe = sane;
  return Status::ok();
}

// `"X" [1,4]`: what the file and inference so far say of a value's shape.
std::string shape_of(const onnx::GraphProto &g, const std::string &name) {
  const std::string label = "\"" + name + "\" ";
  for (const onnx::TensorProto &t : g.initializer()) {
    if (t.name() != name) continue;
    std::string s;
    for (int64_t d : t.dims()) s += (s.empty() ? "" : ",") + std::to_string(d);
    return label + "[" + s + "]";
  }
  for (const auto *list : {&g.input(), &g.value_info(), &g.output()}) {
    for (const onnx::ValueInfoProto &v : *list) {
      if (v.name() != name || !v.type().has_tensor_type()) continue;
      if (!v.type().tensor_type().has_shape()) return label + "(rank unknown)";
      std::string s;
      for (const auto &d : v.type().tensor_type().shape().dim()) {
        if (!s.empty()) s += ",";
        s += d.has_dim_value()   ? std::to_string(d.dim_value())
             : d.has_dim_param() ? d.dim_param()
                                 : "?";
      }
      return label + "[" + s + "]";
    }
  }
  return label + "(shape unknown)";
}

struct NodeError {
  std::string op_type, name, message;
};

// libonnx's node errors: `(op_type:MatMul, node name: mm): [ShapeInferenceError]
// Incompatible dimensions ...` (no node name for an unnamed node), one a line
// after a header in strict mode.
std::vector<NodeError> parse_node_errors(std::string what) {
  for (const char *prefix : {"[ShapeInferenceError] ", "Shape inference error(s): "}) {
    if (what.rfind(prefix, 0) == 0) what.erase(0, std::strlen(prefix));
  }
  std::vector<NodeError> out;
  std::istringstream lines(what);
  std::string line;
  static const std::string kOp = "(op_type:", kName = ", node name: ", kEnd = "): ";
  while (std::getline(lines, line)) {
    // Op types are identifiers: the first ',' or ')' ends one.
    const size_t op_end = line.find_first_of(",)", kOp.size());
    const bool named =
        op_end != std::string::npos && line.compare(op_end, kName.size(), kName) == 0;
    const size_t end = op_end == std::string::npos
                           ? op_end
                           : line.find(kEnd, named ? op_end + kName.size() : op_end);
    if (line.rfind(kOp, 0) != 0 || end == std::string::npos) {
      if (!out.empty() && !line.empty()) out.back().message += " " + line;
      continue;
    }
    NodeError e;
    e.op_type = line.substr(kOp.size(), op_end - kOp.size());
    if (named) e.name = line.substr(op_end + kName.size(), end - op_end - kName.size());
    e.message = line.substr(end + kEnd.size());
    for (const char *tag : {"[ShapeInferenceError] ", "[TypeInferenceError] "}) {
      if (e.message.rfind(tag, 0) == 0) e.message.erase(0, std::strlen(tag));
    }
    out.push_back(std::move(e));
  }
  return out;
}

// A load error naming each node whose inference failed, with its inputs'
// shapes. Failures that only say an input has no type follow from an earlier
// failure or from an op without an inference rule, not from the file: left
// out, and when nothing else remains the model loads.
Status node_errors_status(const onnx::GraphProto &g, const OpsetMap &opsets,
                          const std::vector<NodeError> &errors) {
  std::string msg;
  int next = 0;  // libonnx reports in node order
  for (const NodeError &e : errors) {
    if (e.message.find("expected to have type but instead is null") != std::string::npos ||
        e.message.find("Input type is null") != std::string::npos)
      continue;
    int i = next;
    while (i < g.node_size() && (g.node(i).op_type() != e.op_type || g.node(i).name() != e.name))
      ++i;
    std::string where = e.op_type + " (node \"" + e.name + "\")", inputs;
    if (i < g.node_size()) {
      Node n;
      if (node_header(g, i, opsets, &n).is_ok()) where = n.describe();
      for (const std::string &in : g.node(i).input()) {
        if (!in.empty()) inputs += (inputs.empty() ? " (inputs " : ", ") + shape_of(g, in);
      }
      if (!inputs.empty()) inputs += ")";
      next = i + 1;
    }
    msg += (msg.empty() ? "" : "; ") + where + ": " + e.message + inputs;
  }
  if (msg.empty()) return Status::ok();
  return invalid_model("ONNX shape inference: " + msg);
}

}  // namespace

Status infer_shapes(const OpsetMap &opsets, onnx::ModelProto *model) {
  bool safe = false;
  SI_RETURN_IF_ERROR(check_inference_guards(opsets, *model, &safe));
  if (!safe) return Status::ok();
  // Inference looks schemas up through opset_import only, which IR versions
  // 1-2 leave out.
  if (model->opset_import_size() == 0 && opsets.count("") != 0) {
    onnx::OperatorSetIdProto *op = model->add_opset_import();
    op->set_domain("");
    op->set_version(opsets.at(""));
  }
  // error_mode 1: a node whose inference rule fails (shapes that contradict
  // each other, an axis beyond the rank) fails the load, as it fails ONNX
  // Runtime's graph resolution, instead of the first run. libonnx then
  // throws once, after every node, keeping what it inferred.
  const onnx::ShapeInferenceOptions options(/*check_type_val=*/false, /*strict_mode_val=*/1);
  try {
    onnx::shape_inference::InferShapes(*model, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception &e) {
    std::vector<NodeError> errors = parse_node_errors(e.what());
    if (errors.empty()) return invalid_model(std::string("ONNX shape inference: ") + e.what());
    return node_errors_status(model->graph(), opsets, errors);
  }
  return Status::ok();
}

}  // namespace si::onnx_import
