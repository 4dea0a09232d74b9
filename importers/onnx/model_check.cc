// Model-level validation: opset imports, onnx::checker, shape inference.
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <climits>
#include <exception>
#include <set>
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
// dilations (SIGFPE on a 0). Inferred shapes are only hints, so such models
// load without them unless the attributes and ranks are known to be sane.
bool inference_unsafe(const OpsetMap &opsets, const onnx::ModelProto &model) {
  static const std::set<std::string> kConvPool = {
      "Conv", "ConvTranspose", "ConvInteger", "QLinearConv", "MaxPool", "AveragePool", "LpPool"};
  const onnx::GraphProto &g = model.graph();
  auto it = opsets.find("");
  const int opset = it == opsets.end() ? 0 : it->second;
  RankMap ranks;
  bool ranks_done = false;
  for (const onnx::NodeProto &node : g.node()) {
    // Ops the engine lacks fail the load anyway (listed by the session), and
    // their inference rules are the least exercised (GRU-1 with a rank-1 X
    // crashed it): their hints would serve nothing.
    const std::string domain = node.domain() == "ai.onnx" ? "" : node.domain();
    auto version = opsets.find(domain);
    if (node.op_type() != "Constant" &&
        (version == opsets.end() || find_op(domain, node.op_type(), version->second) == nullptr))
      return true;
    if (!domain.empty()) continue;
    if (node.op_type() == "Gemm" && opset < 7) return true;
    if (kConvPool.count(node.op_type()) == 0) continue;
    if (!ranks_done) {
      ranks = known_ranks(g);
      ranks_done = true;
    }
    auto rank_of = [&](int input) {
      if (input >= node.input_size()) return -1;
      auto r = ranks.find(node.input(input));
      return r == ranks.end() ? -1 : r->second;
    };
    const int x = rank_of(0), spatial = x - 2;
    if (x < 3) return true;
    const bool has_w = node.op_type() == "Conv" || node.op_type() == "ConvTranspose" ||
                       node.op_type() == "ConvInteger";
    if (node.op_type() == "QLinearConv" || (has_w && rank_of(1) != x)) return true;
    for (const onnx::AttributeProto &a : node.attribute()) {
      const std::string &name = a.name();
      if (name == "pads" && a.ints_size() != 2 * spatial) return true;
      if (name != "kernel_shape" && name != "strides" && name != "dilations") continue;
      if (a.ints_size() != spatial) return true;
      for (int64_t v : a.ints())
        if (v < 1) return true;
    }
  }
  return false;
}

}  // namespace

Status infer_shapes(const OpsetMap &opsets, onnx::ModelProto *model) {
  if (inference_unsafe(opsets, *model)) return Status::ok();
  // Inference looks schemas up through opset_import only, which IR versions
  // 1-2 leave out.
  if (model->opset_import_size() == 0 && opsets.count("") != 0) {
    onnx::OperatorSetIdProto *op = model->add_opset_import();
    op->set_domain("");
    op->set_version(opsets.at(""));
  }
  try {
    onnx::shape_inference::InferShapes(*model);
  } catch (const std::exception &e) {
    return invalid_model(std::string("ONNX shape inference: ") + e.what());
  }
  return Status::ok();
}

}  // namespace si::onnx_import
